//! Calendar dates as every record carries them: the years accepted anywhere, and the parse of a
//! year, month and day into a real date.

use chrono::NaiveDate;

/// The earliest date accepted anywhere.
pub const MIN_YEAR: i32 = 1900;
/// The latest year accepted anywhere.
pub const MAX_YEAR: i32 = 9999;

/// A real calendar date within `MIN_YEAR..=MAX_YEAR`, or why not.
pub fn from_ymd(year: i32, month: i32, day: i32) -> Result<NaiveDate, String> {
    if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
        return Err(format!(
            "year {year} is out of range {MIN_YEAR}..{MAX_YEAR}"
        ));
    }
    u32::try_from(month)
        .ok()
        .zip(u32::try_from(day).ok())
        .and_then(|(m, d)| NaiveDate::from_ymd_opt(year, m, d))
        .ok_or_else(|| format!("{year:04}-{month:02}-{day:02} is not a valid date"))
}

/// `day`, which must not be before the case's `what` (e.g. `acceptance date`), `earliest`.
pub fn not_before(day: NaiveDate, earliest: NaiveDate, what: &str) -> Result<(), String> {
    if day < earliest {
        Err(format!("{day} is before the case's {what} {earliest}"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_dates_only() {
        assert!(from_ymd(2020, 2, 29).is_ok());
        assert!(from_ymd(2021, 2, 29).is_err());
        assert!(from_ymd(2021, 13, 1).is_err());
        assert!(from_ymd(2021, -1, 1).is_err());
        assert!(from_ymd(0, 1, 1).is_err());
    }
}
