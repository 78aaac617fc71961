//! Resource names of cases and the records under them (AIP-122).

/// Parses `cases/{id}` into the id.
pub fn parse_case(name: &str) -> Result<i64, String> {
    let id = name
        .strip_prefix("cases/")
        .ok_or_else(|| describe(name, "cases/42"))?;
    parse_id(id).ok_or_else(|| describe(name, "cases/42"))
}

/// Parses `cases/{case}/measures/{id}` into (case id, measure id).
pub fn parse_measure(name: &str) -> Result<(i64, i64), String> {
    let bad = || describe(name, "cases/42/measures/7");
    let rest = name.strip_prefix("cases/").ok_or_else(bad)?;
    let (case, measure) = rest.split_once("/measures/").ok_or_else(bad)?;
    Ok((
        parse_id(case).ok_or_else(bad)?,
        parse_id(measure).ok_or_else(bad)?,
    ))
}

/// `cases/{id}`.
pub fn case(id: i64) -> String {
    format!("cases/{id}")
}

/// `cases/{case}/measures/{id}`.
pub fn measure(case_id: i64, id: i64) -> String {
    format!("cases/{case_id}/measures/{id}")
}

/// `cases/{case}/resolution`.
pub fn resolution(case_id: i64) -> String {
    format!("cases/{case_id}/resolution")
}

/// `cases/{case}/aidGrants/{id}`.
pub fn aid_grant(case_id: i64, id: i64) -> String {
    format!("cases/{case_id}/aidGrants/{id}")
}

fn parse_id(text: &str) -> Option<i64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<i64>().ok().filter(|id| *id > 0)
}

fn describe(name: &str, example: &str) -> String {
    if name.is_empty() {
        format!("is required, e.g. {example}")
    } else {
        format!(
            "{} is not a name of the form {example}",
            super::text::quote(name)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        assert_eq!(parse_case(&case(42)), Ok(42));
        assert_eq!(parse_measure(&measure(42, 7)), Ok((42, 7)));
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "",
            "cases/",
            "cases/0",
            "cases/-1",
            "cases/1x",
            "case/1",
            "cases/99999999999999999999",
        ] {
            assert!(parse_case(bad).is_err(), "{bad}");
        }
        for bad in [
            "cases/1/measures/",
            "cases/1/measure/2",
            "cases/x/measures/2",
        ] {
            assert!(parse_measure(bad).is_err(), "{bad}");
        }
    }
}
