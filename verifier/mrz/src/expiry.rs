//! Expiry dates: printed ones, and the French identity card's, which its MRZ does not print.
//!
//! Owns [`Expiry`], [`ExpiryBasis`] and the French validity rule. Century resolution of printed
//! dates is `date.rs`'s; deciding what an expired document means is the policy's.

use crate::date::Date;

/// When a document stops being valid, and how that was worked out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Expiry {
    /// The last day of validity.
    pub date: Date,
    /// How `date` was obtained.
    pub basis: ExpiryBasis,
}

/// How an [`Expiry`] was obtained.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ExpiryBasis {
    /// Printed in the MRZ.
    Printed,
    /// French identity card issued before 2021: 10 years from the issue month (issued before
    /// January 2004, or to a minor).
    FrenchIdIssue10y,
    /// French identity card issued from January 2014 to an adult: printed with 15 years.
    FrenchIdIssue15y,
    /// French identity card issued 2004-2013 to an adult: printed with 10 years, extended to 15
    /// by decree 2013-1188.
    FrenchIdExtended15y,
}

impl ExpiryBasis {
    /// The basis's stable name, e.g. `printed`, `fr_id_extended_15y`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ExpiryBasis::Printed => "printed",
            ExpiryBasis::FrenchIdIssue10y => "fr_id_issue_10y",
            ExpiryBasis::FrenchIdIssue15y => "fr_id_issue_15y",
            ExpiryBasis::FrenchIdExtended15y => "fr_id_extended_15y",
        }
    }
}

/// The expiry of a French identity card issued before 2021, from its issue month and the
/// holder's birth date.
///
/// The MRZ gives the issue month only, so `issue` is the 1st of that month. That makes the
/// derived expiry up to a month early and the holder up to a month younger than they were,
/// both on the safe side (a card may be refused in its last month; never accepted after it).
/// The 15-year rule starts with cards issued on 2 January 2004; no card is issued on 1 January
/// (a public holiday), so every card of January 2004 is in. An unknown birth date gives the
/// 10-year rule, again the safe side.
pub(crate) fn french_id_expiry(issue: Date, birth: Option<Date>) -> Option<Expiry> {
    let adult = birth.is_some_and(|b| issue.years_since(b) >= 18);
    let month = (issue.year(), issue.month());
    let basis = if !adult || month < (2004, 1) {
        ExpiryBasis::FrenchIdIssue10y
    } else if month < (2014, 1) {
        ExpiryBasis::FrenchIdExtended15y
    } else {
        ExpiryBasis::FrenchIdIssue15y
    };
    let years = if basis == ExpiryBasis::FrenchIdIssue10y { 10 } else { 15 };
    Some(Expiry { date: issue.plus_years(years)?, basis })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(issue: &str, birth: Option<&str>, expect: &str) {
        let issue = Date::from_iso(issue).expect("test issue date is valid");
        let birth = birth.map(|b| Date::from_iso(b).expect("test birth date is valid"));
        let got = french_id_expiry(issue, birth)
            .map_or_else(|| "-".to_string(), |e| format!("{} {}", e.date, e.basis.as_str()));
        assert_eq!(got, expect);
    }

    #[test]
    fn french_id_card_validity() {
        // Adult, issued 2005: printed 10 years, extended to 15.
        check("2005-03-01", Some("1970-06-15"), "2020-03-01 fr_id_extended_15y");
        // Minor at issue: 10 years, whatever the year.
        check("2005-03-01", Some("1990-06-15"), "2015-03-01 fr_id_issue_10y");
        check("2016-03-01", Some("2000-06-15"), "2026-03-01 fr_id_issue_10y");
        // Issued 2003: 10 years.
        check("2003-12-01", Some("1970-06-15"), "2013-12-01 fr_id_issue_10y");
        // January 2004 is in; 18 that very month counts as a minor (issue read as the 1st).
        check("2004-01-01", Some("1970-06-15"), "2019-01-01 fr_id_extended_15y");
        check("2004-01-01", Some("1986-01-20"), "2014-01-01 fr_id_issue_10y");
        check("2004-01-01", Some("1986-01-01"), "2019-01-01 fr_id_extended_15y");
        // From 2014, printed with 15 years.
        check("2013-12-01", Some("1970-06-15"), "2028-12-01 fr_id_extended_15y");
        check("2014-01-01", Some("1970-06-15"), "2029-01-01 fr_id_issue_15y");
        // Unknown birth date: the shorter rule.
        check("2010-01-01", None, "2020-01-01 fr_id_issue_10y");
    }
}
