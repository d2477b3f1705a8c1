//! Calendar dates for identities and documents: a proleptic Gregorian `Date`, day arithmetic,
//! `YYYY-MM-DD` parsing and the MRZ's `YYMMDD` form.
//!
//! Owns only what the generator needs; time zones and clocks are out of scope (the reference date
//! is an argument, never "today", so outputs stay reproducible).

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::Error;

/// A calendar day. Ordering is chronological.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    /// Year, e.g. 2026.
    pub year: i32,
    /// Month, 1..=12.
    pub month: u32,
    /// Day of month, 1..=31 (checked against the month).
    pub day: u32,
}

impl Date {
    /// A checked date, or `None` if the day does not exist.
    pub fn new(year: i32, month: u32, day: u32) -> Option<Date> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date { year, month, day })
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(text: &str) -> Result<Date, Error> {
        let bad = || Error::BadDate { text: text.to_owned() };
        let mut parts = text.split('-');
        let (Some(y), Some(m), Some(d), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
            return Err(bad());
        };
        if y.len() != 4 || m.len() != 2 || d.len() != 2 {
            return Err(bad());
        }
        let y: i32 = y.parse().map_err(|_| bad())?;
        let m: u32 = m.parse().map_err(|_| bad())?;
        let d: u32 = d.parse().map_err(|_| bad())?;
        Date::new(y, m, d).ok_or_else(bad)
    }

    /// Days since 1970-01-01 (negative before).
    pub fn days_since_epoch(self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let mp = (m + 9) % 12;
        let doy = (153 * mp + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` after 1970-01-01.
    pub fn from_days_since_epoch(days: i64) -> Date {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        // Years stay within i32 for any day count this crate produces (a few centuries).
        Date { year: i32::try_from(year).unwrap_or(i32::MAX), month: month as u32, day: day as u32 }
    }

    /// This date moved by `days` (negative goes back).
    pub fn add_days(self, days: i64) -> Date {
        Date::from_days_since_epoch(self.days_since_epoch() + days)
    }

    /// The same day `years` later (29 February becomes 28 February in common years).
    pub fn add_years(self, years: i32) -> Date {
        let year = self.year + years;
        Date { year, month: self.month, day: self.day.min(days_in_month(year, self.month)) }
    }

    /// The MRZ form `YYMMDD` (ICAO 9303 part 3, 4.8: two-digit year).
    pub fn yymmdd(self) -> String {
        format!("{:02}{:02}{:02}", self.year.rem_euclid(100), self.month, self.day)
    }

    /// The display form used on document faces, `DD MM YYYY`.
    pub fn dd_mm_yyyy(self) -> String {
        format!("{:02} {:02} {:04}", self.day, self.month, self.year)
    }

    /// Whole years from `self` to `later` (an age).
    pub fn years_until(self, later: Date) -> i32 {
        let mut years = later.year - self.year;
        if (later.month, later.day) < (self.month, self.day) {
            years -= 1;
        }
        years
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        _ => 0,
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for Date {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Date, D::Error> {
        let text = String::deserialize(d)?;
        Date::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, days: i64) {
        let date = Date::parse(text).expect("valid test date");
        assert_eq!(date.days_since_epoch(), days, "{text}");
        assert_eq!(Date::from_days_since_epoch(days), date);
        assert_eq!(date.to_string(), text);
    }

    #[test]
    fn epoch_round_trips() {
        check("1970-01-01", 0);
        check("2000-02-29", 11_016);
        check("1969-12-31", -1);
        check("2026-11-25", 20_782);
    }

    #[test]
    fn rejects_bad_text() {
        for bad in ["2026-02-30", "2026-13-01", "26-01-01", "2026/01/01", "", "2026-01-01-01"] {
            assert!(Date::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn mrz_forms() {
        let d = Date::new(2004, 2, 29).expect("leap day");
        assert_eq!(d.yymmdd(), "040229");
        assert_eq!(d.add_years(1), Date::new(2005, 2, 28).expect("valid"));
        assert_eq!(d.years_until(Date::new(2024, 2, 28).expect("valid")), 19);
    }
}
