//! Dates and times as people in the Kyrgyz Republic see them.
//!
//! The model never reads a clock: times come in as [`Timestamp`]s (Unix milliseconds, UTC)
//! from the caller. Civil dates are computed in Asia/Bishkek time, UTC+6 with no daylight
//! saving since 2005 ([`BISHKEK_UTC_OFFSET_MS`]); reporting periods are fiscal years running
//! October to September.

use core::fmt;

use serde::{Deserialize, Serialize};

/// Asia/Bishkek's offset from UTC: +06:00 all year (no DST since August 2005).
pub const BISHKEK_UTC_OFFSET_MS: i64 = 6 * 3_600_000;

const MS_PER_DAY: i64 = 86_400_000;

/// A point in time: milliseconds since the Unix epoch, UTC.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// The civil date in Asia/Bishkek at this instant.
    #[must_use]
    pub fn bishkek_date(self) -> Date {
        let local = i64::try_from(self.0)
            .unwrap_or(i64::MAX)
            .saturating_add(BISHKEK_UTC_OFFSET_MS);
        Date::from_days(local.div_euclid(MS_PER_DAY))
    }

    /// The instant at which `date` begins in Asia/Bishkek (00:00 local).
    #[must_use]
    pub fn bishkek_midnight(date: Date) -> Timestamp {
        let ms = date.days() * MS_PER_DAY - BISHKEK_UTC_OFFSET_MS;
        Timestamp(u64::try_from(ms).unwrap_or(0))
    }
}

/// A civil (calendar) date, proleptic Gregorian.
///
/// Stored as its parts; ordered chronologically.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawDate")]
pub struct Date {
    year: i16,
    month: u8,
    day: u8,
}

/// A date as decoded, before it is checked.
#[derive(Deserialize)]
struct RawDate {
    year: i16,
    month: u8,
    day: u8,
}

impl TryFrom<RawDate> for Date {
    type Error = DateError;
    fn try_from(r: RawDate) -> Result<Date, DateError> {
        Date::new(r.year, r.month, r.day)
    }
}

#[cfg(test)]
impl proptest::arbitrary::Arbitrary for Date {
    type Parameters = ();
    type Strategy = proptest::strategy::Map<core::ops::Range<i64>, fn(i64) -> Date>;
    fn arbitrary_with((): ()) -> Self::Strategy {
        use proptest::strategy::Strategy;
        // 1950-01-01 ..= 2099-12-31
        (-7_305i64..47_482).prop_map(Date::from_days)
    }
}

/// A date that does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DateError {
    /// Month outside 1..=12.
    #[error("month {0} is outside 1..=12")]
    Month(u8),
    /// Day outside the month.
    #[error("day {day} does not exist in {year}-{month:02}")]
    Day {
        /// The year given.
        year: i16,
        /// The month given.
        month: u8,
        /// The day given.
        day: u8,
    },
    /// Year outside 1900..=2999, the span kenesh records can carry.
    #[error("year {0} is outside 1900..=2999")]
    Year(i16),
}

const fn is_leap(y: i16) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

const fn month_len(y: i16, m: u8) -> u8 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if is_leap(y) => 29,
        _ => 28,
    }
}

impl Date {
    /// A date, checked.
    ///
    /// ```
    /// use kenesh_model::Date;
    /// assert!(Date::new(2024, 2, 29).is_ok());
    /// assert!(Date::new(2023, 2, 29).is_err());
    /// ```
    pub fn new(year: i16, month: u8, day: u8) -> Result<Date, DateError> {
        if !(1900..=2999).contains(&year) {
            return Err(DateError::Year(year));
        }
        if !(1..=12).contains(&month) {
            return Err(DateError::Month(month));
        }
        if day == 0 || day > month_len(year, month) {
            return Err(DateError::Day { year, month, day });
        }
        Ok(Date { year, month, day })
    }

    /// The year.
    #[must_use]
    pub fn year(self) -> i16 {
        self.year
    }
    /// The month, 1..=12.
    #[must_use]
    pub fn month(self) -> u8 {
        self.month
    }
    /// The day of the month, 1..=31.
    #[must_use]
    pub fn day(self) -> u8 {
        self.day
    }

    /// Days since 1970-01-01 (negative before).
    #[must_use]
    pub fn days(self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` after 1970-01-01, clamped to the years 1900..=2999.
    #[must_use]
    pub fn from_days(days: i64) -> Date {
        let z = days.clamp(-25_567, 376_199) + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let d = (doy - (153 * mp + 2) / 5 + 1) as u8;
        let m = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
        let y = (yoe + era * 400 + i64::from(m <= 2)) as i16;
        Date {
            year: y,
            month: m,
            day: d,
        }
    }

    /// The fiscal year (October–September) this date falls in.
    #[must_use]
    pub fn fiscal_year(self) -> FiscalYear {
        FiscalYear(if self.month >= 10 {
            self.year + 1
        } else {
            self.year
        })
    }

    /// Whole years from `birth_year` to this date's year (an age as surveys count it).
    #[must_use]
    pub fn age_from_birth_year(self, birth_year: u16) -> Option<u16> {
        u16::try_from(self.year).ok()?.checked_sub(birth_year)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl fmt::Debug for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Date({self})")
    }
}

/// A fiscal year of the programme, named by the year it ends in: FY2024 runs from
/// 1 October 2023 to 30 September 2024.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct FiscalYear(pub i16);

impl FiscalYear {
    /// The period this fiscal year covers (years outside FY1901–FY2999, which no record can
    /// fall in, are clamped to them).
    #[must_use]
    pub fn period(self) -> Period {
        let y = self.0.clamp(1901, 2999);
        Period {
            start: Date {
                year: y - 1,
                month: 10,
                day: 1,
            },
            end: Date {
                year: y,
                month: 10,
                day: 1,
            },
        }
    }
}

impl fmt::Display for FiscalYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "FY{}", self.0)
    }
}

/// A reporting period of civil dates in Asia/Bishkek: from `start` (included) to `end`
/// (excluded).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(test, derive(proptest_derive::Arbitrary))]
pub struct Period {
    /// First day in the period.
    pub start: Date,
    /// First day after the period.
    pub end: Date,
}

impl Period {
    /// Whether `date` falls inside.
    #[must_use]
    pub fn contains(&self, date: Date) -> bool {
        self.start <= date && date < self.end
    }

    /// Whether the instant `t`, seen in Asia/Bishkek, falls inside.
    #[must_use]
    pub fn contains_instant(&self, t: Timestamp) -> bool {
        self.contains(t.bishkek_date())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn extreme_times_and_years_do_not_panic() {
        assert_eq!(Timestamp(u64::MAX).bishkek_date().year(), 2999);
        assert_eq!(
            FiscalYear(i16::MIN).period().start,
            Date::new(1900, 10, 1).unwrap()
        );
        assert_eq!(
            FiscalYear(5000).period().end,
            Date::new(2999, 10, 1).unwrap()
        );
    }

    #[test]
    fn bishkek_midnight_is_previous_utc_evening() {
        let d = Date::new(2024, 10, 1).unwrap();
        let t = Timestamp::bishkek_midnight(d);
        // 2024-09-30T18:00:00Z
        assert_eq!(t.0, 1_727_719_200_000);
        assert_eq!(t.bishkek_date(), d);
        assert_eq!(
            Timestamp(t.0 - 1).bishkek_date(),
            Date::new(2024, 9, 30).unwrap()
        );
        assert_eq!(d.fiscal_year(), FiscalYear(2025));
        assert_eq!(
            Date::new(2024, 9, 30).unwrap().fiscal_year(),
            FiscalYear(2024)
        );
    }

    proptest! {
        #![proptest_config(crate::test_support::config())]
        #[test]
        fn days_round_trip(days in -25_567i64..376_199) {
            let d = Date::from_days(days);
            prop_assert_eq!(d.days(), days);
            prop_assert!(Date::new(d.year(), d.month(), d.day()).is_ok());
        }

        #[test]
        fn fiscal_year_period_contains_its_dates(days in 0i64..40_000) {
            let d = Date::from_days(days);
            prop_assert!(d.fiscal_year().period().contains(d));
        }
    }
}
