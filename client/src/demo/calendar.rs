//! Days as integers (days since 1970-01-01), so that the generator can draw, add and compare
//! dates cheaply, and their conversion to and from `procura.v1.Date`.

use procura_proto::v1::Date;

/// A day, counted from 1970-01-01 (day 0).
pub type Day = i32;

/// The day of a civil date (Howard Hinnant's `days_from_civil`).
pub const fn day(year: i32, month: i32, day_of_month: i32) -> Day {
    let y = if month <= 2 { year - 1 } else { year };
    let era = if y >= 0 { y } else { y - 399 } / 400;
    let year_of_era = y - era * 400;
    let m = if month > 2 { month - 3 } else { month + 9 };
    let day_of_year = (153 * m + 2) / 5 + day_of_month - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

/// The civil date of a day (Howard Hinnant's `civil_from_days`).
pub fn date(day: Day) -> Date {
    let z = day + 719_468;
    let era = if z >= 0 { z } else { z - 146_096 } / 146_097;
    let day_of_era = z - era * 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let mp = (5 * day_of_year + 2) / 153;
    let day_of_month = day_of_year - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = year_of_era + era * 400 + i32::from(month <= 2);
    Date {
        year,
        month,
        day: day_of_month,
    }
}

/// The day of a `procura.v1.Date`.
pub fn day_of(date: &Date) -> Day {
    day(date.year, date.month, date.day)
}

/// Day of the week, 0 for Monday to 6 for Sunday.
pub fn weekday(day: Day) -> i32 {
    // 1970-01-01 was a Thursday.
    (day + 3).rem_euclid(7)
}

/// True on Saturdays and Sundays.
pub fn is_weekend(day: Day) -> bool {
    weekday(day) >= 5
}

/// Index of the month of `day` counted from January 2019 (0 for 2019-01).
pub fn month_index(day: Day) -> usize {
    let d = date(day);
    ((d.year - 2019) * 12 + d.month - 1).max(0) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn days_round_trip_and_match_known_dates() {
        assert_eq!(day(1970, 1, 1), 0);
        assert_eq!(day(2019, 1, 1), 17_897);
        assert_eq!(day(2020, 12, 31) - day(2019, 1, 1), 730);
        assert_eq!(day(2020, 3, 1) - day(2020, 2, 28), 2);
        for d in day(2018, 12, 1)..day(2021, 2, 1) {
            assert_eq!(day_of(&date(d)), d);
        }
        let d = date(day(2020, 2, 29));
        assert_eq!((d.year, d.month, d.day), (2020, 2, 29));
        // 2021-02-23, the press conference, was a Tuesday.
        assert_eq!(weekday(day(2021, 2, 23)), 1);
        assert!(is_weekend(day(2020, 12, 27)));
        assert_eq!(month_index(day(2020, 12, 31)), 23);
    }
}
