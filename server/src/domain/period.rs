//! Periods to count over (统计期间) and their year-earlier comparison periods.

use chrono::{Datelike, Months, NaiveDate};

/// A range of days, both ends included.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateSpan {
    /// First day.
    pub start: NaiveDate,
    /// Last day, not before `start`.
    pub end: NaiveDate,
}

/// The size of a time bucket of the kept totals, numbered as stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Grain {
    /// A calendar year, keyed by 1 January.
    Year = 1,
    /// A calendar month, keyed by its first day.
    Month = 2,
    /// A day.
    Day = 3,
}

impl Grain {
    /// The first day of the bucket of this grain that holds `date`.
    pub fn bucket(self, date: NaiveDate) -> NaiveDate {
        let first = match self {
            Grain::Year => NaiveDate::from_ymd_opt(date.year(), 1, 1),
            Grain::Month => NaiveDate::from_ymd_opt(date.year(), date.month(), 1),
            Grain::Day => Some(date),
        };
        first.unwrap_or(date)
    }
}

impl DateSpan {
    /// The fewest buckets that tile the span exactly: whole years where they fit, then whole
    /// months, then days. A calendar year is one bucket; 2019-11-01..2020-12-31 is three.
    pub fn tiles(&self) -> Vec<(Grain, NaiveDate)> {
        let mut tiles = Vec::new();
        let mut day = self.start;
        while day <= self.end {
            let year_end = NaiveDate::from_ymd_opt(day.year(), 12, 31).unwrap_or(day);
            let month_end = (Grain::Month.bucket(day) + Months::new(1))
                .pred_opt()
                .unwrap_or(day);
            let (grain, last) = if day.ordinal() == 1 && year_end <= self.end {
                (Grain::Year, year_end)
            } else if day.day() == 1 && month_end <= self.end {
                (Grain::Month, month_end)
            } else {
                (Grain::Day, day)
            };
            tiles.push((grain, day));
            match last.succ_opt() {
                Some(next) => day = next,
                None => break,
            }
        }
        tiles
    }
}

/// A period as asked for. Calendar periods compare with the same calendar period a year
/// earlier; a range of days compares with the same days a year earlier. Made only by the
/// constructors that check it ([`Period::year`], [`Period::quarter`], [`Period::month`],
/// [`Period::range`]), so it holds no quarter 5 and no range that ends before it starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period(Kind);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A calendar year.
    Year(i32),
    /// A calendar quarter, 1..=4.
    Quarter(i32, u32),
    /// A calendar month, 1..=12.
    Month(i32, u32),
    /// Any range of days.
    Range(DateSpan),
}

fn ymd(year: i32, month: u32, day: u32) -> Result<NaiveDate, String> {
    NaiveDate::from_ymd_opt(year, month, day).ok_or_else(|| format!("year {year} is out of range"))
}

fn check_year(year: i32) -> Result<i32, String> {
    if (super::date::MIN_YEAR + 1..=super::date::MAX_YEAR).contains(&year) {
        Ok(year)
    } else {
        Err(format!(
            "year {year} is out of range {}..{}",
            super::date::MIN_YEAR + 1,
            super::date::MAX_YEAR
        ))
    }
}

impl Period {
    /// A calendar year, validated.
    pub fn year(year: i32) -> Result<Self, String> {
        Ok(Period(Kind::Year(check_year(year)?)))
    }

    /// A calendar quarter, validated.
    pub fn quarter(year: i32, quarter: i32) -> Result<Self, String> {
        let year = check_year(year)?;
        match u32::try_from(quarter) {
            Ok(q @ 1..=4) => Ok(Period(Kind::Quarter(year, q))),
            _ => Err(format!("quarter {quarter} is not 1 to 4")),
        }
    }

    /// A calendar month, validated.
    pub fn month(year: i32, month: i32) -> Result<Self, String> {
        let year = check_year(year)?;
        match u32::try_from(month) {
            Ok(m @ 1..=12) => Ok(Period(Kind::Month(year, m))),
            _ => Err(format!("month {month} is not 1 to 12")),
        }
    }

    /// A range of days, validated: the end is not before the start, and a year earlier is
    /// still a date.
    pub fn range(start: NaiveDate, end: NaiveDate) -> Result<Self, String> {
        if end < start {
            return Err(format!("the end {end} is before the start {start}"));
        }
        check_year(start.year())?;
        Ok(Period(Kind::Range(DateSpan { start, end })))
    }

    /// The days the period covers.
    pub fn span(&self) -> DateSpan {
        let first_of = |year: i32, month: u32| ymd(year, month, 1).unwrap_or(NaiveDate::MIN);
        let last_before = |date: NaiveDate| date.pred_opt().unwrap_or(date);
        match self.0 {
            Kind::Year(year) => DateSpan {
                start: first_of(year, 1),
                end: last_before(first_of(year + 1, 1)),
            },
            Kind::Quarter(year, quarter) => {
                let start = first_of(year, 3 * quarter - 2);
                DateSpan {
                    start,
                    end: last_before(start + Months::new(3)),
                }
            }
            Kind::Month(year, month) => {
                let start = first_of(year, month);
                DateSpan {
                    start,
                    end: last_before(start + Months::new(1)),
                }
            }
            Kind::Range(span) => span,
        }
    }

    /// The same period one year earlier (同比). For a range, each day moves back one year and
    /// 29 February becomes 28 February.
    pub fn year_earlier(&self) -> Period {
        Period(match self.0 {
            Kind::Year(year) => Kind::Year(year - 1),
            Kind::Quarter(year, quarter) => Kind::Quarter(year - 1, quarter),
            Kind::Month(year, month) => Kind::Month(year - 1, month),
            Kind::Range(span) => {
                let back = |date: NaiveDate| date - Months::new(12);
                Kind::Range(DateSpan {
                    start: back(span.start),
                    end: back(span.end),
                })
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("test date")
    }

    fn span(period: Period) -> (String, String) {
        let s = period.span();
        (s.start.to_string(), s.end.to_string())
    }

    #[test]
    fn calendar_periods_cover_their_days() {
        assert_eq!(
            span(Period(Kind::Year(2020))),
            ("2020-01-01".into(), "2020-12-31".into())
        );
        assert_eq!(
            span(Period(Kind::Quarter(2020, 2))),
            ("2020-04-01".into(), "2020-06-30".into())
        );
        assert_eq!(
            span(Period(Kind::Quarter(2020, 4))),
            ("2020-10-01".into(), "2020-12-31".into())
        );
        assert_eq!(
            span(Period(Kind::Month(2020, 2))),
            ("2020-02-01".into(), "2020-02-29".into())
        );
        assert_eq!(
            span(Period(Kind::Month(2020, 2)).year_earlier()),
            ("2019-02-01".into(), "2019-02-28".into())
        );
        assert_eq!(
            span(Period(Kind::Month(2021, 2)).year_earlier()),
            ("2020-02-01".into(), "2020-02-29".into())
        );
    }

    #[test]
    fn ranges_move_back_a_year() {
        let special = Period::range(d("2019-11-01"), d("2020-12-31")).expect("valid");
        assert_eq!(
            span(special.year_earlier()),
            ("2018-11-01".into(), "2019-12-31".into())
        );
        let leap = Period::range(d("2020-02-29"), d("2020-02-29")).expect("valid");
        assert_eq!(
            span(leap.year_earlier()),
            ("2019-02-28".into(), "2019-02-28".into())
        );
    }

    #[test]
    fn tiles_cover_exactly() {
        let special = Period::range(d("2019-11-01"), d("2020-12-31")).expect("valid");
        assert_eq!(
            special.span().tiles(),
            vec![
                (Grain::Month, d("2019-11-01")),
                (Grain::Month, d("2019-12-01")),
                (Grain::Year, d("2020-01-01")),
            ]
        );
        let odd = Period::range(d("2020-01-30"), d("2020-03-02")).expect("valid");
        assert_eq!(
            odd.span().tiles(),
            vec![
                (Grain::Day, d("2020-01-30")),
                (Grain::Day, d("2020-01-31")),
                (Grain::Month, d("2020-02-01")),
                (Grain::Day, d("2020-03-01")),
                (Grain::Day, d("2020-03-02")),
            ]
        );
        assert_eq!(
            Period(Kind::Year(2020)).span().tiles(),
            vec![(Grain::Year, d("2020-01-01"))]
        );
        assert_eq!(Grain::Month.bucket(d("2020-02-29")), d("2020-02-01"));
    }

    #[test]
    fn rejects_bad_periods() {
        assert!(Period::quarter(2020, 5).is_err());
        assert!(Period::quarter(2020, 0).is_err());
        assert!(Period::month(2020, 13).is_err());
        assert!(Period::year(1900).is_err());
        assert!(Period::range(d("2020-02-02"), d("2020-02-01")).is_err());
    }
}
