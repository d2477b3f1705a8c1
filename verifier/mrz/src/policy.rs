//! Document classification and the acceptance policy, as data.
//!
//! Owns [`DocumentKind`] (from format and document code), the table that says which kinds are
//! accepted, and [`AcceptancePolicy::evaluate`], which adds check-digit, date and expiry reasons.
//! What the session does with a refusal (retake, review, reject) is not decided here.

use std::fmt;

use crate::countries;
use crate::date::Date;
use crate::layout::{Field, Format};
use crate::read::MrzRead;

/// What kind of document an MRZ belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DocumentKind {
    /// A passport (`P`).
    Passport,
    /// A national identity card (`I`, `A`, `C`, `ID`, the French `IDFRA` card).
    IdentityCard,
    /// A visa (`V`, MRV-A, MRV-B).
    Visa,
    /// A residence permit (TD1/TD2 codes with `R` second, such as `IR`, `AR`, `CR`, or any
    /// code starting with `R`).
    ResidencePermit,
    /// A driving licence (the EU one-line MRZ, the Swiss licence, or a code starting with `D`).
    DrivingLicence,
    /// None of the above.
    Unknown,
}

impl DocumentKind {
    /// The kind's stable name, e.g. `identity_card`.
    pub fn as_str(&self) -> &'static str {
        match self {
            DocumentKind::Passport => "passport",
            DocumentKind::IdentityCard => "identity_card",
            DocumentKind::Visa => "visa",
            DocumentKind::ResidencePermit => "residence_permit",
            DocumentKind::DrivingLicence => "driving_licence",
            DocumentKind::Unknown => "unknown",
        }
    }

    /// Classifies a document from its format and its document code (fillers removed).
    ///
    /// ICAO 9303 part 3 fixes the first letter (`P` passport, `I`/`A`/`C` identity documents,
    /// `V` visa) and leaves the second to the issuing state. Residence permits use the same
    /// formats; states mark them with `R` second (`IR` in France and the UK, `AR` in Germany,
    /// `CR`) or, outside ICAO's letters, with `R` first (`RT`, `RP`). `A` or `I` alone, `ID`,
    /// `IO` and so on are identity cards. `D` is not an ICAO letter; we take it as a driving
    /// licence so that it is refused, not accepted as unknown.
    pub fn classify(format: Format, code: &str) -> DocumentKind {
        match format {
            Format::Dl => return DocumentKind::DrivingLicence,
            Format::FrId => return DocumentKind::IdentityCard,
            Format::MrvA | Format::MrvB => return DocumentKind::Visa,
            Format::Td1 | Format::Td2 | Format::Td3 => {}
        }
        let code = code.as_bytes();
        match (code.first(), code.get(1)) {
            (Some(b'P'), _) => DocumentKind::Passport,
            (Some(b'V'), _) => DocumentKind::Visa,
            (Some(b'D'), _) => DocumentKind::DrivingLicence,
            (Some(b'R'), _) => DocumentKind::ResidencePermit,
            (Some(b'I' | b'A' | b'C'), Some(b'R')) => DocumentKind::ResidencePermit,
            (Some(b'I' | b'A' | b'C'), _) => DocumentKind::IdentityCard,
            _ => DocumentKind::Unknown,
        }
    }
}

/// A machine-readable reason code (DESIGN.md section 4).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ReasonCode {
    /// `document.driving_licence_refused`.
    DrivingLicenceRefused,
    /// `document.visa_refused`.
    VisaRefused,
    /// `document.residence_permit_refused`.
    ResidencePermitRefused,
    /// `document.unknown_kind`: the document code says neither passport nor identity card.
    UnknownKind,
    /// `document.expired`: the expiry date is before today.
    Expired,
    /// `mrz.check_digit_failed`, with the field.
    CheckDigitFailed,
    /// `mrz.field_invalid`, with the field: a date that is not a calendar date, a state or
    /// nationality that is no known code, or a name or number with a gap, so the document cannot
    /// be checked.
    FieldInvalid,
}

impl ReasonCode {
    /// The code as sent to clients, e.g. `document.expired`.
    pub fn as_str(&self) -> &'static str {
        match self {
            ReasonCode::DrivingLicenceRefused => "document.driving_licence_refused",
            ReasonCode::VisaRefused => "document.visa_refused",
            ReasonCode::ResidencePermitRefused => "document.residence_permit_refused",
            ReasonCode::UnknownKind => "document.unknown_kind",
            ReasonCode::Expired => "document.expired",
            ReasonCode::CheckDigitFailed => "mrz.check_digit_failed",
            ReasonCode::FieldInvalid => "mrz.field_invalid",
        }
    }
}

/// Why a document is not accepted: a code, and the field it is about where there is one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Reason {
    /// The reason code.
    pub code: ReasonCode,
    /// The field concerned (for check digits and invalid dates).
    pub field: Option<Field>,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code.as_str())?;
        if let Some(field) = self.field {
            write!(f, "({})", field.as_str())?;
        }
        Ok(())
    }
}

/// The outcome of the policy for one reading.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Acceptance {
    /// True exactly when `reasons` is empty.
    pub accepted: bool,
    /// Every reason to refuse, in a stable order: document kind, check digits, dates, expiry.
    pub reasons: Vec<Reason>,
}

/// Accept the kind, or refuse it with a reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The kind is accepted (if the MRZ is also valid and unexpired).
    Accept,
    /// The kind is refused with this reason.
    Refuse(ReasonCode),
}

/// One row of the policy table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KindRule {
    /// The document kind.
    pub kind: DocumentKind,
    /// What to do with it.
    pub verdict: Verdict,
}

/// The product's rule (DESIGN.md section 1): national identity cards and passports only.
const STANDARD_RULES: &[KindRule] = &[
    KindRule { kind: DocumentKind::Passport, verdict: Verdict::Accept },
    KindRule { kind: DocumentKind::IdentityCard, verdict: Verdict::Accept },
    KindRule { kind: DocumentKind::DrivingLicence, verdict: Verdict::Refuse(ReasonCode::DrivingLicenceRefused) },
    KindRule { kind: DocumentKind::Visa, verdict: Verdict::Refuse(ReasonCode::VisaRefused) },
    KindRule { kind: DocumentKind::ResidencePermit, verdict: Verdict::Refuse(ReasonCode::ResidencePermitRefused) },
    KindRule { kind: DocumentKind::Unknown, verdict: Verdict::Refuse(ReasonCode::UnknownKind) },
];

/// Which document kinds are accepted, as a table. A kind missing from the table is refused as
/// `document.unknown_kind`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AcceptancePolicy {
    rules: Vec<KindRule>,
}

impl AcceptancePolicy {
    /// A policy from its table. For a kind listed twice, the first row wins.
    pub fn new(rules: Vec<KindRule>) -> Self {
        AcceptancePolicy { rules }
    }

    /// The product's policy: passports and identity cards accepted; driving licences, visas,
    /// residence permits and unknown documents refused.
    pub fn standard() -> Self {
        AcceptancePolicy::new(STANDARD_RULES.to_vec())
    }

    /// The table.
    pub fn rules(&self) -> &[KindRule] {
        &self.rules
    }

    /// The verdict for `kind`.
    pub fn verdict(&self, kind: DocumentKind) -> Verdict {
        self.rules
            .iter()
            .find(|rule| rule.kind == kind)
            .map_or(Verdict::Refuse(ReasonCode::UnknownKind), |rule| rule.verdict)
    }

    /// Applies the policy to `read` on day `today`: the kind's verdict, then one reason per
    /// failed check digit, per state or nationality that is no known code, per date that is not
    /// a calendar date, and for expiry before `today`
    /// (a document is valid through its expiry day).
    pub fn evaluate(&self, read: &MrzRead, today: Date) -> Acceptance {
        let mut reasons = Vec::new();
        if let Verdict::Refuse(code) = self.verdict(read.kind) {
            reasons.push(Reason { code, field: None });
        }
        for check in read.checks.iter().filter(|c| !c.passed) {
            reasons.push(Reason { code: ReasonCode::CheckDigitFailed, field: Some(check.field) });
        }
        let fields = read.layout.fields();
        for &field in &read.malformed {
            reasons.push(Reason { code: ReasonCode::FieldInvalid, field: Some(field) });
        }
        if !countries::is_known_trimmed(&read.issuing_state) {
            reasons.push(Reason { code: ReasonCode::FieldInvalid, field: Some(Field::IssuingState) });
        }
        if read.nationality.as_deref().is_some_and(|n| !countries::is_known_trimmed(n)) {
            reasons.push(Reason { code: ReasonCode::FieldInvalid, field: Some(Field::Nationality) });
        }
        if fields.birth.is_some() && read.birth_date.is_none() {
            reasons.push(Reason { code: ReasonCode::FieldInvalid, field: Some(Field::BirthDate) });
        }
        match (&read.expiry, read.layout.expiry_source()) {
            (Some(expiry), _) if expiry.date < today => reasons.push(Reason { code: ReasonCode::Expired, field: None }),
            (None, Some(field)) => reasons.push(Reason { code: ReasonCode::FieldInvalid, field: Some(field) }),
            _ => {}
        }
        Acceptance { accepted: reasons.is_empty(), reasons }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(format: Format, code: &str, expect: &str) {
        let kind = DocumentKind::classify(format, code);
        let verdict = match AcceptancePolicy::standard().verdict(kind) {
            Verdict::Accept => "accept".to_string(),
            Verdict::Refuse(code) => code.as_str().to_string(),
        };
        assert_eq!(format!("{} {verdict}", kind.as_str()), expect, "{format:?} {code:?}");
    }

    #[test]
    fn standard_policy_by_kind() {
        check(Format::Td3, "P", "passport accept");
        check(Format::Td3, "PD", "passport accept");
        check(Format::Td1, "I", "identity_card accept");
        check(Format::Td1, "ID", "identity_card accept");
        check(Format::Td2, "A", "identity_card accept");
        check(Format::Td1, "C", "identity_card accept");
        check(Format::FrId, "ID", "identity_card accept");
        check(Format::Td1, "IR", "residence_permit document.residence_permit_refused");
        check(Format::Td1, "AR", "residence_permit document.residence_permit_refused");
        check(Format::Td2, "CR", "residence_permit document.residence_permit_refused");
        check(Format::Td1, "RT", "residence_permit document.residence_permit_refused");
        check(Format::MrvA, "V", "visa document.visa_refused");
        check(Format::Td1, "V", "visa document.visa_refused");
        check(Format::Dl, "D1", "driving_licence document.driving_licence_refused");
        check(Format::Td1, "DL", "driving_licence document.driving_licence_refused");
        check(Format::Td1, "X", "unknown document.unknown_kind");
        check(Format::Td1, "", "unknown document.unknown_kind");
    }

    #[test]
    fn policy_is_data() {
        let lenient =
            AcceptancePolicy::new(vec![KindRule { kind: DocumentKind::ResidencePermit, verdict: Verdict::Accept }]);
        assert_eq!(lenient.verdict(DocumentKind::ResidencePermit), Verdict::Accept);
        assert_eq!(lenient.verdict(DocumentKind::Passport), Verdict::Refuse(ReasonCode::UnknownKind));
        assert_eq!(AcceptancePolicy::standard().rules().len(), 6);
        let reason = Reason { code: ReasonCode::CheckDigitFailed, field: Some(Field::Composite) };
        assert_eq!(reason.to_string(), "mrz.check_digit_failed(composite)");
    }
}
