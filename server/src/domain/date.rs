//! Conversion between `procura.v1.Date` and calendar dates.

use chrono::{Datelike, NaiveDate};
use procura_proto::v1::Date;

/// The earliest date accepted anywhere.
pub const MIN_YEAR: i32 = 1900;
/// The latest year accepted anywhere.
pub const MAX_YEAR: i32 = 9999;

/// A valid calendar date from its message, or why not.
pub fn from_proto(date: &Date) -> Result<NaiveDate, String> {
    if !(MIN_YEAR..=MAX_YEAR).contains(&date.year) {
        return Err(format!(
            "year {} is out of range {MIN_YEAR}..{MAX_YEAR}",
            date.year
        ));
    }
    u32::try_from(date.month)
        .ok()
        .zip(u32::try_from(date.day).ok())
        .and_then(|(month, day)| NaiveDate::from_ymd_opt(date.year, month, day))
        .ok_or_else(|| {
            format!(
                "{:04}-{:02}-{:02} is not a valid date",
                date.year, date.month, date.day
            )
        })
}

/// A required date field: missing is an error.
pub fn required(date: Option<&Date>) -> Result<NaiveDate, String> {
    match date {
        Some(date) => from_proto(date),
        None => Err("is required".to_owned()),
    }
}

/// An optional date field.
pub fn optional(date: Option<&Date>) -> Result<Option<NaiveDate>, String> {
    date.map(from_proto).transpose()
}

/// The message for a date.
pub fn to_proto(date: NaiveDate) -> Date {
    Date {
        year: date.year(),
        month: date.month() as i32,
        day: date.day() as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(year: i32, month: i32, day: i32) -> Date {
        Date { year, month, day }
    }

    #[test]
    fn accepts_real_dates_only() {
        assert!(from_proto(&date(2020, 2, 29)).is_ok());
        assert!(from_proto(&date(2021, 2, 29)).is_err());
        assert!(from_proto(&date(2021, 13, 1)).is_err());
        assert!(from_proto(&date(2021, -1, 1)).is_err());
        assert!(from_proto(&date(0, 1, 1)).is_err());
        assert!(required(None).is_err());
    }
}
