//! Calendar dates, and the rules that turn an MRZ's two-digit years into full dates.
//!
//! Owns a small validated [`Date`] (proleptic Gregorian, years 1 to 9999) and century resolution
//! relative to a `today` the caller passes in. It leaves out times of day and time zones: the
//! caller decides which calendar day "today" is.

use std::fmt;

/// A valid calendar date (proleptic Gregorian, years 1 to 9999). Orders chronologically and
/// displays as ISO 8601 (`YYYY-MM-DD`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    // Field order matters: the derived `Ord` compares year, then month, then day.
    year: u16,
    month: u8,
    day: u8,
}

impl Date {
    /// The date `year-month-day`, or `None` if no such day exists (month 13, 30 February, year 0).
    pub fn new(year: u16, month: u8, day: u8) -> Option<Date> {
        let valid =
            (1..=9999).contains(&year) && (1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month);
        valid.then_some(Date { year, month, day })
    }

    /// Reads an ISO 8601 calendar date, exactly `YYYY-MM-DD`; `None` for anything else.
    pub fn from_iso(text: &str) -> Option<Date> {
        let b = text.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let year = u16::try_from(digits(&b[0..4])?).ok()?;
        let month = u8::try_from(digits(&b[5..7])?).ok()?;
        let day = u8::try_from(digits(&b[8..10])?).ok()?;
        Date::new(year, month, day)
    }

    /// The year, 1 to 9999.
    pub fn year(self) -> u16 {
        self.year
    }

    /// The month, 1 to 12.
    pub fn month(self) -> u8 {
        self.month
    }

    /// The day of the month, 1 to 31.
    pub fn day(self) -> u8 {
        self.day
    }

    /// The same day `years` later; 29 February becomes 28 February in a common year. `None` past
    /// year 9999.
    pub(crate) fn plus_years(self, years: u16) -> Option<Date> {
        let year = self.year.checked_add(years)?;
        let day = self.day.min(days_in_month(year, self.month));
        Date::new(year, self.month, day)
    }

    /// Whole years from `earlier` to `self` (an age); negative if `earlier` is later.
    pub(crate) fn years_since(self, earlier: Date) -> i32 {
        let mut years = i32::from(self.year) - i32::from(earlier.year);
        if (self.month, self.day) < (earlier.month, earlier.day) {
            years -= 1;
        }
        years
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

fn is_leap(year: u16) -> bool {
    year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400))
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// The value of a run of ASCII digits, or `None` if any byte is not a digit (or the run is empty
/// or longer than 9 digits, which could overflow).
pub(crate) fn digits(bytes: &[u8]) -> Option<u32> {
    if bytes.is_empty() || bytes.len() > 9 {
        return None;
    }
    bytes.iter().try_fold(0u32, |acc, &b| b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0')))
}

/// Splits `YYMMDD` (or `YYMM` with `day` given) into its numbers.
fn two_digit_parts(bytes: &[u8]) -> Option<(u16, u8, u8)> {
    let year = u16::try_from(digits(bytes.get(0..2)?)?).ok()?;
    let month = u8::try_from(digits(bytes.get(2..4)?)?).ok()?;
    let day = match bytes.get(4..6) {
        Some(d) => u8::try_from(digits(d)?).ok()?,
        None => 1,
    };
    Some((year, month, day))
}

/// A date in the past (or today) from `YYMMDD`, or `YYMM` read as the 1st of that month: the
/// latest century that does not put it after `today`. Used for birth and issue dates, which
/// cannot be in the future.
pub(crate) fn resolve_past(bytes: &[u8], today: Date) -> Option<Date> {
    let (yy, month, day) = two_digit_parts(bytes)?;
    let mut year = today.year / 100 * 100 + yy;
    if (year, month, day) > (today.year, today.month, today.day) {
        year = year.checked_sub(100)?;
    }
    Date::new(year, month, day)
}

/// An expiry date from `YYMMDD`: the century that puts its year closest to today's (so within
/// 50 years either way; on a tie, the earlier one). Documents are valid for at most 10 to 15
/// years, so the nearest century is right for any genuine document, and a year 50 or more away
/// cannot be.
pub(crate) fn resolve_near(bytes: &[u8], today: Date) -> Option<Date> {
    let (yy, month, day) = two_digit_parts(bytes)?;
    let this = i32::from(today.year);
    let base = this / 100 * 100 + i32::from(yy);
    let year = [base - 100, base, base + 100].into_iter().min_by_key(|y| ((y - this).abs(), *y))?;
    Date::new(u16::try_from(year).ok()?, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs `op` on `input` (`YYMMDD` or an ISO date) with today = `today`, and compares the
    /// result's ISO form (or `-` for none) to `expect`.
    fn check(op: &str, input: &str, today: &str, expect: &str) {
        let today = Date::from_iso(today).expect("test today is a valid ISO date");
        let got = match op {
            "past" => resolve_past(input.as_bytes(), today),
            "near" => resolve_near(input.as_bytes(), today),
            "iso" => Date::from_iso(input),
            "plus10" => Date::from_iso(input).and_then(|d| d.plus_years(10)),
            _ => unreachable!("unknown test op {op}"),
        };
        let got = got.map_or_else(|| "-".to_string(), |d| d.to_string());
        assert_eq!(got, expect, "{op}({input}) with today {today}");
    }

    #[test]
    fn validation_and_iso() {
        check("iso", "2024-02-29", "2000-01-01", "2024-02-29");
        check("iso", "2023-02-29", "2000-01-01", "-");
        check("iso", "1900-02-29", "2000-01-01", "-");
        check("iso", "2000-02-29", "2000-01-01", "2000-02-29");
        check("iso", "2024-13-01", "2000-01-01", "-");
        check("iso", "2024-04-31", "2000-01-01", "-");
        check("iso", "0000-01-01", "2000-01-01", "-");
        check("iso", "2024-1-01", "2000-01-01", "-");
        check("iso", "2024-01-0a", "2000-01-01", "-");
        check("iso", "２０２４-01-01", "2000-01-01", "-");
        check("plus10", "2004-02-29", "2000-01-01", "2014-02-28");
        check("plus10", "9995-01-01", "2000-01-01", "-");
        assert_eq!(Date::new(2024, 2, 29).map(|d| d.years_since(Date::new(2006, 3, 1).unwrap())), Some(17));
    }

    #[test]
    fn birth_dates_are_never_in_the_future() {
        check("past", "740812", "2026-11-25", "1974-08-12");
        check("past", "261125", "2026-11-25", "2026-11-25");
        check("past", "261126", "2026-11-25", "1926-11-26");
        check("past", "000229", "2026-11-25", "2000-02-29");
        check("past", "990101", "2026-11-25", "1999-01-01");
        check("past", "251301", "2026-11-25", "-");
        check("past", "74<812", "2026-11-25", "-");
        check("past", "7408", "2026-11-25", "1974-08-01");
        check("past", "7", "2026-11-25", "-");
    }

    #[test]
    fn expiry_takes_the_nearest_century() {
        check("near", "120415", "2026-11-25", "2012-04-15");
        check("near", "360101", "2026-11-25", "2036-01-01");
        check("near", "751231", "2026-11-25", "2075-12-31");
        check("near", "761231", "2026-11-25", "1976-12-31");
        check("near", "991231", "2026-11-25", "1999-12-31");
        check("near", "050101", "2098-06-01", "2105-01-01");
        check("near", "961210", "1990-01-01", "1996-12-10");
        check("near", "990231", "2026-11-25", "-");
    }
}
