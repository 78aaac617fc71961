//! Parsing of what a user types (kebab-case enum values, dates, yuan amounts, region codes,
//! resource names) into the `procura.v1` types, and the reverse for display.
//!
//! Everything here is pure: no I/O, no panics on input.

use clap::builder::{PossibleValuesParser, TypedValueParser};
use procura_proto::v1::{
    AddresseeType, Adoption, ApplicantType, CaseStatus, CaseType, Date, Marker, MeasureKind,
    Outcome, PrincipalKind, Qualifier, RegionLevel, ResolutionMethod, Role, Sector, Unit,
};

/// A `procura.v1` enum that the CLI reads and writes as kebab-case words, e.g.
/// `trial-conduct` for `CASE_TYPE_TRIAL_CONDUCT_SUPERVISION`.
pub trait CliEnum: Copy + PartialEq + Send + Sync + 'static + Into<i32> + TryFrom<i32> {
    /// What the enum is, in words, for error messages (e.g. `case type`).
    const WHAT: &'static str;
    /// The kebab-case name of every value the CLI accepts, in display order.
    const NAMES: &'static [(&'static str, Self)];
    /// The proto enum value name, e.g. `CASE_TYPE_JUDGMENT_SUPERVISION`.
    fn proto_name(self) -> &'static str;
    /// Looks a value up by its proto enum value name.
    fn from_proto_name(name: &str) -> Option<Self>;
}

macro_rules! cli_enum {
    ($ty:ty, $what:literal, [$(($name:literal, $variant:expr)),* $(,)?]) => {
        impl CliEnum for $ty {
            const WHAT: &'static str = $what;
            const NAMES: &'static [(&'static str, Self)] = &[$(($name, $variant)),*];
            fn proto_name(self) -> &'static str {
                self.as_str_name()
            }
            fn from_proto_name(name: &str) -> Option<Self> {
                Self::from_str_name(name)
            }
        }
    };
}

cli_enum!(
    CaseType,
    "case type",
    [
        ("judgment", CaseType::JudgmentSupervision),
        ("trial-conduct", CaseType::TrialConductSupervision),
        ("enforcement", CaseType::EnforcementSupervision),
        (
            "non-litigation-enforcement",
            CaseType::NonLitigationEnforcementSupervision
        ),
    ]
);

cli_enum!(
    CaseStatus,
    "case status",
    [
        ("accepted", CaseStatus::Accepted),
        ("concluded", CaseStatus::Concluded),
        ("withdrawn", CaseStatus::Withdrawn),
    ]
);

cli_enum!(
    ApplicantType,
    "applicant type",
    [
        ("natural-person", ApplicantType::NaturalPerson),
        ("private-enterprise", ApplicantType::PrivateEnterprise),
        ("other-organization", ApplicantType::OtherOrganization),
    ]
);

cli_enum!(
    Sector,
    "sector",
    [
        ("natural-resources", Sector::NaturalResources),
        ("housing", Sector::HousingUrbanRural),
        ("hr-social-security", Sector::HumanResourcesSocialSecurity),
        ("public-security", Sector::PublicSecurity),
        ("market-regulation", Sector::MarketRegulation),
        ("ecology-environment", Sector::EcologyEnvironment),
        ("other", Sector::Other),
    ]
);

cli_enum!(
    Marker,
    "marker",
    [
        ("leader-handled", Marker::LeaderHandled),
        ("public-hearing", Marker::PublicHearing),
        ("private-enterprise", Marker::PrivateEnterprise),
        ("spp-listed", Marker::SppListed),
        ("typical", Marker::Typical),
    ]
);

cli_enum!(
    MeasureKind,
    "measure kind",
    [
        ("protest", MeasureKind::Protest),
        ("retrial-suggestion", MeasureKind::RetrialSuggestion),
        (
            "trial-violation-suggestion",
            MeasureKind::TrialViolationSuggestion
        ),
        (
            "enforcement-violation-suggestion",
            MeasureKind::EnforcementViolationSuggestion
        ),
        (
            "social-governance-suggestion",
            MeasureKind::SocialGovernanceSuggestion
        ),
        (
            "administrative-organ-suggestion",
            MeasureKind::AdministrativeOrganSuggestion
        ),
    ]
);

cli_enum!(
    AddresseeType,
    "addressee type",
    [
        ("court", AddresseeType::Court),
        ("administrative-organ", AddresseeType::AdministrativeOrgan),
        ("other-organ", AddresseeType::OtherOrgan),
    ]
);

cli_enum!(
    Adoption,
    "adoption",
    [
        ("pending", Adoption::Pending),
        ("adopted", Adoption::Adopted),
        ("not-adopted", Adoption::NotAdopted),
    ]
);

cli_enum!(
    ResolutionMethod,
    "resolution method",
    [
        (
            "supervision-correction",
            ResolutionMethod::SupervisionCorrection
        ),
        ("reconciliation", ResolutionMethod::Reconciliation),
        ("judicial-assistance", ResolutionMethod::JudicialAssistance),
        (
            "public-hearing-settlement",
            ResolutionMethod::PublicHearingSettlement
        ),
        ("other", ResolutionMethod::Other),
    ]
);

cli_enum!(
    RegionLevel,
    "region level",
    [
        ("national", RegionLevel::National),
        ("province", RegionLevel::Province),
        ("prefecture", RegionLevel::Prefecture),
        ("county", RegionLevel::County),
    ]
);

cli_enum!(
    Qualifier,
    "qualifier",
    [
        ("exact", Qualifier::Exact),
        ("more-than", Qualifier::MoreThan),
    ]
);

cli_enum!(Unit, "unit", [("count", Unit::Count), ("fen", Unit::Fen),]);

cli_enum!(
    Role,
    "role",
    [
        ("submitter", Role::Submitter),
        ("viewer", Role::Viewer),
        ("publisher", Role::Publisher),
        ("auditor", Role::Auditor),
        ("admin", Role::Admin),
    ]
);

cli_enum!(
    PrincipalKind,
    "principal kind",
    [
        ("person", PrincipalKind::Person),
        ("service", PrincipalKind::Service),
    ]
);

cli_enum!(
    Outcome,
    "outcome",
    [
        ("ok", Outcome::Ok),
        ("unauthenticated", Outcome::Unauthenticated),
        ("denied", Outcome::Denied),
        ("failed", Outcome::Failed),
    ]
);

/// Parses an enum value given as its kebab-case name (`trial-conduct`), the same with
/// underscores (`trial_conduct`), or its proto name (`CASE_TYPE_TRIAL_CONDUCT_SUPERVISION`),
/// ignoring case.
pub fn parse_enum<T: CliEnum>(text: &str) -> Result<T, String> {
    let text = text.trim();
    let kebab = text.to_ascii_lowercase().replace('_', "-");
    if let Some((_, value)) = T::NAMES.iter().find(|(name, _)| *name == kebab) {
        return Ok(*value);
    }
    match T::from_proto_name(&text.to_ascii_uppercase()) {
        Some(value) if value.into() != 0 => Ok(value),
        _ => Err(format!(
            "unknown {} \"{text}\": expected one of {}",
            T::WHAT,
            T::NAMES
                .iter()
                .map(|(name, _)| *name)
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

/// The kebab-case name of an enum value as received on the wire: `unspecified` for 0 and
/// `unknown(N)` for a value this client does not know.
pub fn enum_name<T: CliEnum>(value: i32) -> String {
    if value == 0 {
        return "unspecified".to_owned();
    }
    match T::try_from(value) {
        Ok(known) => T::NAMES
            .iter()
            .find(|(_, v)| *v == known)
            .map(|(name, _)| (*name).to_owned())
            .unwrap_or_else(|| known.proto_name().to_ascii_lowercase()),
        Err(_) => format!("unknown({value})"),
    }
}

/// The CLI's word for a value the server writes with a proto enum value name, as revisions
/// record changed fields (`CASE_STATUS_CONCLUDED` -> `concluded`); any other text (dates,
/// numbers, free text) as it is.
pub fn cli_word(text: &str) -> String {
    fn word<T: CliEnum>(text: &str) -> Option<String> {
        T::from_proto_name(text).map(|value| enum_name::<T>(value.into()))
    }
    word::<CaseType>(text)
        .or_else(|| word::<CaseStatus>(text))
        .or_else(|| word::<ApplicantType>(text))
        .or_else(|| word::<Sector>(text))
        .or_else(|| word::<Marker>(text))
        .or_else(|| word::<MeasureKind>(text))
        .or_else(|| word::<AddresseeType>(text))
        .or_else(|| word::<Adoption>(text))
        .or_else(|| word::<ResolutionMethod>(text))
        .unwrap_or_else(|| text.to_owned())
}

/// A clap value parser that accepts every kebab-case name of `T` and lists them in `--help`.
pub fn enum_parser<T: CliEnum>() -> impl TypedValueParser<Value = T> {
    enum_parser_of::<T>(T::NAMES.iter().map(|(name, _)| *name).collect())
}

/// A clap value parser that accepts only the given kebab-case names of `T`.
pub fn enum_parser_of<T: CliEnum>(names: Vec<&'static str>) -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(names).try_map(|text: String| parse_enum::<T>(&text))
}

/// A clap value parser for `--level` / `--by`: a region level below the national one.
pub fn sub_national_level_parser() -> impl TypedValueParser<Value = RegionLevel> {
    enum_parser_of::<RegionLevel>(vec!["province", "prefecture", "county"])
}

/// True for years with 29 February.
fn is_leap_year(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

/// Number of days in a month of a year.
pub fn days_in_month(year: i32, month: i32) -> i32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap_year(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Parses a calendar date written exactly as `YYYY-MM-DD` (e.g. `2020-03-01`) into a
/// `procura.v1.Date`, checking that the day exists.
pub fn parse_date(text: &str) -> Result<Date, String> {
    let text = text.trim();
    let bytes = text.as_bytes();
    let shape_ok = bytes.len() == 10
        && bytes[4] == b'-'
        && bytes[7] == b'-'
        && bytes
            .iter()
            .enumerate()
            .all(|(i, b)| i == 4 || i == 7 || b.is_ascii_digit());
    if !shape_ok {
        return Err(format!(
            "\"{text}\" is not a date: expected YYYY-MM-DD, e.g. 2020-03-01"
        ));
    }
    let number = |range: std::ops::Range<usize>| -> i32 {
        bytes[range]
            .iter()
            .fold(0, |acc, b| acc * 10 + i32::from(b - b'0'))
    };
    let (year, month, day) = (number(0..4), number(5..7), number(8..10));
    if !(1900..=9999).contains(&year) {
        return Err(format!(
            "\"{text}\" is not a date: the year must be 1900 to 9999"
        ));
    }
    if !(1..=12).contains(&month) {
        return Err(format!(
            "\"{text}\" is not a date: the month must be 01 to 12"
        ));
    }
    if day < 1 || day > days_in_month(year, month) {
        return Err(format!(
            "\"{text}\" is not a date: {year}-{month:02} has {} days",
            days_in_month(year, month)
        ));
    }
    Ok(Date { year, month, day })
}

/// Formats a `procura.v1.Date` as `YYYY-MM-DD`.
pub fn format_date(date: &Date) -> String {
    format!("{:04}-{:02}-{:02}", date.year, date.month, date.day)
}

/// Formats an optional date as `YYYY-MM-DD`, or `-` when absent.
pub fn format_optional_date(date: Option<&Date>) -> String {
    date.map_or_else(|| "-".to_owned(), format_date)
}

/// Parses an amount of yuan written as a plain decimal (`1234`, `1234.5`, `1234.56`) into
/// integer fen (分), exactly: no floating point is involved. Negative amounts, more than two
/// decimals, signs, separators and exponents are rejected.
pub fn parse_yuan(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if text.starts_with('-') {
        return Err(format!("amount \"{text}\" must not be negative"));
    }
    let (whole, fraction) = match text.split_once('.') {
        Some((whole, fraction)) => (whole, Some(fraction)),
        None => (text, None),
    };
    let shape = "expected yuan as digits with at most two decimals, e.g. 1234.56";
    if whole.is_empty() || !whole.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("amount \"{text}\" is not a number: {shape}"));
    }
    let fraction_fen = match fraction {
        None => 0,
        Some(f) if f.is_empty() || !f.bytes().all(|b| b.is_ascii_digit()) => {
            return Err(format!("amount \"{text}\" is not a number: {shape}"));
        }
        Some(f) if f.len() > 2 => {
            return Err(format!(
                "amount \"{text}\" has more than two decimals: the smallest unit is 1 fen (0.01 yuan)"
            ));
        }
        Some(f) => {
            let digits = f
                .bytes()
                .fold(0_i64, |acc, b| acc * 10 + i64::from(b - b'0'));
            if f.len() == 1 { digits * 10 } else { digits }
        }
    };
    let too_large = || format!("amount \"{text}\" is too large");
    let whole_yuan: i64 = whole.parse().map_err(|_| too_large())?;
    whole_yuan
        .checked_mul(100)
        .and_then(|fen| fen.checked_add(fraction_fen))
        .ok_or_else(too_large)
}

/// Parses a fen amount written as a non-negative integer.
pub fn parse_fen(text: &str) -> Result<i64, String> {
    let text = text.trim();
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!(
            "amount \"{text}\" is not a whole, non-negative number of fen"
        ));
    }
    text.parse()
        .map_err(|_| format!("amount \"{text}\" is too large"))
}

/// Parses a region given as its six-digit code (`530100`) or resource name
/// (`regions/530100`) and returns the six-digit code.
pub fn parse_region_code(text: &str) -> Result<String, String> {
    let text = text.trim();
    let code = text.strip_prefix("regions/").unwrap_or(text);
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        Ok(code.to_owned())
    } else {
        Err(format!(
            "\"{text}\" is not a region: expected a six-digit division code, e.g. 530100"
        ))
    }
}

/// The resource name `regions/{code}` of a region code.
pub fn region_name(code: &str) -> String {
    format!("regions/{code}")
}

/// The code of a region resource name (`regions/530100` -> `530100`); other text unchanged.
pub fn region_code(name: &str) -> &str {
    name.strip_prefix("regions/").unwrap_or(name)
}

/// Parses a case given as its id (`42`) or resource name (`cases/42`) into the resource name.
pub fn parse_case_name(text: &str) -> Result<String, String> {
    let text = text.trim();
    let id = text.strip_prefix("cases/").unwrap_or(text);
    if id.is_empty() || id.contains('/') || id.chars().any(char::is_whitespace) {
        return Err(format!(
            "\"{text}\" is not a case: expected its id or name, e.g. 42 or cases/42"
        ));
    }
    Ok(format!("cases/{id}"))
}

/// Parses a principal given as its id (`zhang-san`) or resource name (`principals/zhang-san`)
/// and returns the id: lower-case letters, digits, `-`, `_` and `.`, 1 to 64 characters.
pub fn parse_principal_id(text: &str) -> Result<String, String> {
    let text = text.trim();
    let id = text.strip_prefix("principals/").unwrap_or(text);
    let ok = (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
    if ok {
        Ok(id.to_owned())
    } else {
        Err(format!(
            "\"{text}\" is not a principal: expected an id of 1 to 64 lower-case letters, \
             digits, -, _ and ., e.g. zhang-san or principals/zhang-san"
        ))
    }
}

/// The resource name `principals/{id}` of a principal id.
pub fn principal_name(id: &str) -> String {
    format!("principals/{id}")
}

/// The id of a principal resource name (`principals/zhang-san` -> `zhang-san`); other text
/// unchanged.
pub fn principal_id(name: &str) -> &str {
    name.strip_prefix("principals/").unwrap_or(name)
}

/// Parses `N` or `{collection}/N` (N a number) into `{collection}/N`.
fn parse_numbered_name(text: &str, collection: &str, what: &str) -> Result<String, String> {
    let text = text.trim();
    let prefix = format!("{collection}/");
    let number = text.strip_prefix(&prefix).unwrap_or(text);
    if !number.is_empty() && number.bytes().all(|b| b.is_ascii_digit()) {
        Ok(format!("{prefix}{number}"))
    } else {
        Err(format!(
            "\"{text}\" is not a {what}: expected its number or name, e.g. 7 or {prefix}7"
        ))
    }
}

/// Parses a token given as its number (`7`) or resource name (`tokens/7`).
pub fn parse_token_name(text: &str) -> Result<String, String> {
    parse_numbered_name(text, "tokens", "token")
}

/// Parses a grant given as its number (`7`) or resource name (`grants/7`).
pub fn parse_grant_name(text: &str) -> Result<String, String> {
    parse_numbered_name(text, "grants", "grant")
}

/// Checks a measure resource name, `cases/{case}/measures/{measure}`.
pub fn parse_measure_name(text: &str) -> Result<String, String> {
    let text = text.trim();
    let parts: Vec<&str> = text.split('/').collect();
    let ok = parts.len() == 4
        && parts[0] == "cases"
        && parts[2] == "measures"
        && [parts[1], parts[3]]
            .iter()
            .all(|id| !id.is_empty() && !id.chars().any(char::is_whitespace));
    if ok {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "\"{text}\" is not a measure: expected a name like cases/1/measures/2"
        ))
    }
}

/// Parses a yes/no value: `true`/`false`, `yes`/`no`, `y`/`n`, `1`/`0`, ignoring case.
pub fn parse_bool(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "y" | "1" => Ok(true),
        "false" | "no" | "n" | "0" | "" => Ok(false),
        _ => Err(format!("\"{text}\" is not true or false")),
    }
}

/// The addressee type a measure kind takes when none is given: a court for protests and the
/// four court suggestions, an administrative organ for suggestions to administrative organs,
/// and none for social governance suggestions (they go to any organ, so it must be given).
pub fn default_addressee_type(kind: MeasureKind) -> Option<AddresseeType> {
    match kind {
        MeasureKind::Protest
        | MeasureKind::RetrialSuggestion
        | MeasureKind::TrialViolationSuggestion
        | MeasureKind::EnforcementViolationSuggestion => Some(AddresseeType::Court),
        MeasureKind::AdministrativeOrganSuggestion => Some(AddresseeType::AdministrativeOrgan),
        MeasureKind::SocialGovernanceSuggestion | MeasureKind::Unspecified => None,
    }
}

/// Days since 1970-01-01 to a (year, month, day) civil date (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// Days since 1970-01-01 of a civil date (H. Hinnant's algorithm).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Parses an RFC 3339 moment, e.g. `2021-02-23T10:00:00Z` or `2021-02-23T18:00:00+08:00`
/// (fractions of a second allowed), into a protobuf timestamp.
pub fn parse_timestamp(text: &str) -> Result<prost_types::Timestamp, String> {
    let text = text.trim();
    let shape = || {
        format!(
            "\"{text}\" is not a moment: expected YYYY-MM-DDTHH:MM:SS with Z or an offset, \
             e.g. 2021-02-23T10:00:00Z or 2021-02-23T18:00:00+08:00"
        )
    };
    if text.len() < 20 || !text.is_char_boundary(10) || !text.is_char_boundary(19) {
        return Err(shape());
    }
    let date = parse_date(&text[..10]).map_err(|_| shape())?;
    let rest = &text[10..];
    let bytes = rest.as_bytes();
    let digits = |range: std::ops::Range<usize>| -> Option<i64> {
        let slice = bytes.get(range)?;
        slice.iter().all(u8::is_ascii_digit).then(|| {
            slice
                .iter()
                .fold(0, |acc, b| acc * 10 + i64::from(b - b'0'))
        })
    };
    if !matches!(bytes[0], b'T' | b't' | b' ') || bytes[3] != b':' || bytes[6] != b':' {
        return Err(shape());
    }
    let (hour, minute, second) = match (digits(1..3), digits(4..6), digits(7..9)) {
        (Some(h), Some(m), Some(s)) if h < 24 && m < 60 && s < 60 => (h, m, s),
        _ => return Err(shape()),
    };
    let mut rest = &rest[9..];
    let mut nanos: i32 = 0;
    if let Some(fraction) = rest.strip_prefix('.') {
        let end = fraction
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(fraction.len());
        if end == 0 || end > 9 {
            return Err(shape());
        }
        let padded = format!("{:0<9}", &fraction[..end]);
        nanos = padded.parse().map_err(|_| shape())?;
        rest = &fraction[end..];
    }
    let offset_seconds = match rest {
        "Z" | "z" => 0,
        _ => {
            let b = rest.as_bytes();
            let sign = match b.first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return Err(shape()),
            };
            let hours = rest.get(1..3).and_then(|h| h.parse::<i64>().ok());
            let minutes = rest.get(4..6).and_then(|m| m.parse::<i64>().ok());
            match (b.len(), b.get(3), hours, minutes) {
                (6, Some(b':'), Some(h), Some(m)) if h < 24 && m < 60 => sign * (h * 3600 + m * 60),
                _ => return Err(shape()),
            }
        }
    };
    let days = days_from_civil(
        i64::from(date.year),
        i64::from(date.month),
        i64::from(date.day),
    );
    Ok(prost_types::Timestamp {
        seconds: days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds,
        nanos,
    })
}

/// The timestamp of 00:00 UTC at the start of a day.
fn start_of_day(date: &Date) -> prost_types::Timestamp {
    let days = days_from_civil(
        i64::from(date.year),
        i64::from(date.month),
        i64::from(date.day),
    );
    prost_types::Timestamp {
        seconds: days * 86_400,
        nanos: 0,
    }
}

/// Parses a moment for the start of a range (`--from`): RFC 3339, or a day `YYYY-MM-DD`
/// meaning 00:00 UTC at its start.
pub fn parse_start_moment(text: &str) -> Result<prost_types::Timestamp, String> {
    parse_moment(text, false)
}

/// Parses a moment for the (exclusive) end of a range (`--to`, `--expires`): RFC 3339, or a
/// day `YYYY-MM-DD` meaning the end of that day in UTC (00:00 UTC the day after), so that the
/// day is included.
pub fn parse_end_moment(text: &str) -> Result<prost_types::Timestamp, String> {
    parse_moment(text, true)
}

fn parse_moment(text: &str, end_of_day: bool) -> Result<prost_types::Timestamp, String> {
    let trimmed = text.trim();
    if trimmed.len() == 10 {
        let date = parse_date(trimmed)?;
        let mut moment = start_of_day(&date);
        if end_of_day {
            moment.seconds += 86_400;
        }
        return Ok(moment);
    }
    parse_timestamp(trimmed).map_err(|_| {
        format!(
            "\"{trimmed}\" is not a day or a moment: expected YYYY-MM-DD or RFC 3339, e.g. \
             2025-06-30 or 2025-06-30T18:00:00+08:00"
        )
    })
}

/// Formats a protobuf timestamp as RFC 3339 in UTC to the second, e.g. `2020-03-01T08:00:00Z`.
pub fn format_timestamp(ts: &prost_types::Timestamp) -> String {
    let days = ts.seconds.div_euclid(86_400);
    let secs = ts.seconds.rem_euclid(86_400);
    let (year, month, day) = civil_from_days(days);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn yuan_is_parsed_exactly_into_fen() {
        assert_eq!(parse_yuan("1234.56"), Ok(123_456));
        assert_eq!(parse_yuan("0.5"), Ok(50));
        assert_eq!(parse_yuan("0.05"), Ok(5));
        assert_eq!(parse_yuan("1234"), Ok(123_400));
        assert_eq!(parse_yuan(" 7.10 "), Ok(710));
        assert_eq!(parse_yuan("0"), Ok(0));
    }

    #[test]
    fn bad_yuan_amounts_are_rejected() {
        assert!(
            parse_yuan("1.234")
                .unwrap_err()
                .contains("more than two decimals")
        );
        assert!(parse_yuan("-1").unwrap_err().contains("negative"));
        for bad in [
            "", ".5", "1.", "1,234.56", "1e3", "+1", "abc", "1.2.3", "１２",
        ] {
            assert!(parse_yuan(bad).is_err(), "{bad} should be rejected");
        }
        assert!(
            parse_yuan("99999999999999999999")
                .unwrap_err()
                .contains("too large")
        );
        assert!(
            parse_yuan("92233720368547758.08")
                .unwrap_err()
                .contains("too large")
        );
        assert_eq!(parse_yuan("92233720368547758.07"), Ok(i64::MAX));
    }

    #[test]
    fn fen_is_parsed_as_a_whole_number() {
        assert_eq!(parse_fen("123456"), Ok(123_456));
        assert!(parse_fen("12.5").is_err());
        assert!(parse_fen("-3").is_err());
    }

    #[test]
    fn dates_are_parsed_strictly() {
        assert_eq!(
            parse_date("2020-03-01"),
            Ok(Date {
                year: 2020,
                month: 3,
                day: 1
            })
        );
        assert!(parse_date("2020-02-29").is_ok());
        assert!(parse_date("2019-02-29").unwrap_err().contains("28 days"));
        assert!(parse_date("2000-02-29").is_ok());
        assert!(parse_date("1900-02-29").is_err());
        assert!(parse_date("2020-13-01").unwrap_err().contains("month"));
        assert!(parse_date("2020-04-31").is_err());
        assert!(parse_date("2020-00-10").is_err());
        assert!(parse_date("1899-12-31").unwrap_err().contains("year"));
        for bad in [
            "2020-3-1",
            "20200301",
            "2020/03/01",
            "",
            "2020-03-01T00",
            "２０２０-03-01",
        ] {
            assert!(
                parse_date(bad).unwrap_err().contains("YYYY-MM-DD"),
                "{bad} should be rejected for its shape"
            );
        }
    }

    #[test]
    fn dates_are_formatted_with_padding() {
        let date = Date {
            year: 2020,
            month: 3,
            day: 1,
        };
        assert_eq!(format_date(&date), "2020-03-01");
        assert_eq!(format_optional_date(None), "-");
    }

    #[test]
    fn enums_accept_kebab_snake_and_proto_names() {
        assert_eq!(
            parse_enum::<CaseType>("trial-conduct"),
            Ok(CaseType::TrialConductSupervision)
        );
        assert_eq!(
            parse_enum::<CaseType>("CASE_TYPE_JUDGMENT_SUPERVISION"),
            Ok(CaseType::JudgmentSupervision)
        );
        assert_eq!(
            parse_enum::<Sector>("hr_social_security"),
            Ok(Sector::HumanResourcesSocialSecurity)
        );
        assert_eq!(
            parse_enum::<Adoption>("Not-Adopted"),
            Ok(Adoption::NotAdopted)
        );
        let error = parse_enum::<CaseType>("judgement").unwrap_err();
        assert!(error.contains("unknown case type"), "{error}");
        assert!(error.contains("non-litigation-enforcement"), "{error}");
        assert!(parse_enum::<CaseType>("CASE_TYPE_UNSPECIFIED").is_err());
    }

    #[test]
    fn enum_names_cover_unknown_values() {
        assert_eq!(enum_name::<MeasureKind>(1), "protest");
        assert_eq!(enum_name::<MeasureKind>(0), "unspecified");
        assert_eq!(enum_name::<MeasureKind>(99), "unknown(99)");
        assert_eq!(enum_name::<RegionLevel>(3), "prefecture");
    }

    #[test]
    fn every_enum_name_round_trips() {
        fn check<T: CliEnum + std::fmt::Debug>() {
            for (name, value) in T::NAMES {
                assert_eq!(parse_enum::<T>(name), Ok(*value));
                assert_eq!(enum_name::<T>((*value).into()), *name);
                assert_eq!(parse_enum::<T>(value.proto_name()), Ok(*value));
            }
        }
        check::<CaseType>();
        check::<CaseStatus>();
        check::<ApplicantType>();
        check::<Sector>();
        check::<Marker>();
        check::<MeasureKind>();
        check::<AddresseeType>();
        check::<Adoption>();
        check::<ResolutionMethod>();
        check::<RegionLevel>();
        check::<Unit>();
        check::<Qualifier>();
        check::<Role>();
        check::<PrincipalKind>();
        check::<Outcome>();
    }

    #[test]
    fn names_and_codes_are_normalised() {
        assert_eq!(parse_case_name("42"), Ok("cases/42".to_owned()));
        assert_eq!(parse_case_name("cases/42"), Ok("cases/42".to_owned()));
        assert!(parse_case_name("cases/").is_err());
        assert!(parse_case_name("cases/4/2").is_err());
        assert_eq!(parse_region_code("regions/530100"), Ok("530100".to_owned()));
        assert_eq!(parse_region_code("530100"), Ok("530100".to_owned()));
        assert!(parse_region_code("5301").is_err());
        assert_eq!(region_code("regions/530000"), "530000");
        assert!(parse_measure_name("cases/1/measures/2").is_ok());
        assert!(parse_measure_name("cases/1/measure/2").is_err());
        assert!(parse_measure_name("cases/1/measures/").is_err());
    }

    #[test]
    fn addressee_type_defaults_follow_the_kind() {
        assert_eq!(
            default_addressee_type(MeasureKind::Protest),
            Some(AddresseeType::Court)
        );
        assert_eq!(
            default_addressee_type(MeasureKind::AdministrativeOrganSuggestion),
            Some(AddresseeType::AdministrativeOrgan)
        );
        assert_eq!(
            default_addressee_type(MeasureKind::SocialGovernanceSuggestion),
            None
        );
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        let ts = prost_types::Timestamp {
            seconds: 1_583_049_600,
            nanos: 0,
        };
        assert_eq!(format_timestamp(&ts), "2020-03-01T08:00:00Z");
        let epoch = prost_types::Timestamp {
            seconds: 0,
            nanos: 0,
        };
        assert_eq!(format_timestamp(&epoch), "1970-01-01T00:00:00Z");
        let leap = prost_types::Timestamp {
            seconds: 951_782_400,
            nanos: 0,
        };
        assert_eq!(format_timestamp(&leap), "2000-02-29T00:00:00Z");
    }

    #[test]
    fn moments_are_parsed_from_rfc3339() {
        let ts = |seconds, nanos| prost_types::Timestamp { seconds, nanos };
        assert_eq!(
            parse_timestamp("2020-03-01T08:00:00Z"),
            Ok(ts(1_583_049_600, 0))
        );
        assert_eq!(
            parse_timestamp("2020-03-01T16:00:00+08:00"),
            Ok(ts(1_583_049_600, 0))
        );
        assert_eq!(
            parse_timestamp("2020-03-01T07:30:00.25-00:30"),
            Ok(ts(1_583_049_600, 250_000_000))
        );
        assert_eq!(parse_timestamp("1970-01-01T00:00:00Z"), Ok(ts(0, 0)));
        for bad in [
            "2020-03-01",
            "2020-03-01T08:00:00",
            "2020-03-01T24:00:00Z",
            "2020-02-30T08:00:00Z",
            "2020-03-01T08:00:00+8",
            "2020-03-01T08:00:00.Z",
            "2020-03-01X08:00:00Z",
            "２０２０-03-01T08:00:00Z",
        ] {
            assert!(parse_timestamp(bad).is_err(), "{bad} should be rejected");
        }
        let round_trip = parse_timestamp("2021-02-23T10:11:12Z").unwrap();
        assert_eq!(format_timestamp(&round_trip), "2021-02-23T10:11:12Z");
    }

    #[test]
    fn principals_tokens_and_grants_are_normalised() {
        assert_eq!(parse_principal_id("zhang-san"), Ok("zhang-san".to_owned()));
        assert_eq!(
            parse_principal_id("principals/stats.exporter_2"),
            Ok("stats.exporter_2".to_owned())
        );
        for bad in [
            "",
            "principals/",
            "Zhang",
            "zhang san",
            "张三",
            &"a".repeat(65),
        ] {
            assert!(parse_principal_id(bad).is_err(), "{bad} should be rejected");
        }
        assert_eq!(principal_id("principals/zhang-san"), "zhang-san");
        assert_eq!(principal_name("zhang-san"), "principals/zhang-san");
        assert_eq!(parse_token_name("7"), Ok("tokens/7".to_owned()));
        assert_eq!(parse_token_name("tokens/7"), Ok("tokens/7".to_owned()));
        assert!(parse_token_name("grants/7").is_err());
        assert!(parse_token_name("tokens/").is_err());
        assert_eq!(parse_grant_name(" 12 "), Ok("grants/12".to_owned()));
        assert_eq!(parse_grant_name("grants/12"), Ok("grants/12".to_owned()));
        assert!(parse_grant_name("x").is_err());
    }

    #[test]
    fn days_and_moments_bound_ranges() {
        let ts = |seconds| prost_types::Timestamp { seconds, nanos: 0 };
        assert_eq!(parse_start_moment("2020-03-01"), Ok(ts(1_583_020_800)));
        assert_eq!(
            parse_end_moment("2020-03-01"),
            Ok(ts(1_583_020_800 + 86_400)),
            "a day as an end includes the whole day"
        );
        assert_eq!(
            parse_end_moment("2020-03-01T08:00:00Z"),
            Ok(ts(1_583_049_600))
        );
        assert!(
            parse_start_moment("2020-02-30")
                .unwrap_err()
                .contains("29 days")
        );
        assert!(
            parse_start_moment("yesterday")
                .unwrap_err()
                .contains("YYYY-MM-DD or RFC 3339")
        );
    }

    #[test]
    fn booleans_accept_common_spellings() {
        assert_eq!(parse_bool("Yes"), Ok(true));
        assert_eq!(parse_bool("0"), Ok(false));
        assert!(parse_bool("maybe").is_err());
    }
}
