//! The acceptance policy, as data: a pure consumer of an [`MrzRead`].
//!
//! Owns the table that says which document kinds are accepted, and [`AcceptancePolicy::evaluate`],
//! which adds check-digit, invalid-field, specimen and expiry reasons to the kind's verdict. It
//! reads what parsing found (checks, invalid fields and characters) and judges nothing about
//! the characters itself, so a custom policy cannot leave a read's trustworthiness stale.
//! Classification is `kind.rs`'s; what the session does with a refusal (retake, review,
//! reject) is not decided here.

use std::fmt;

use crate::date::Date;
use crate::kind::DocumentKind;
use crate::layout::Field;
use crate::read::MrzRead;

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
    /// `mrz.invalid_character`, with the field holding it where there is one: a character
    /// outside the MRZ alphabet (see [`MrzRead::invalid_characters`]).
    InvalidCharacter,
    /// `document.specimen`: the issuing state or nationality is `UTO`, ICAO's fictional state
    /// for specimen documents, which no real document carries.
    Specimen,
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
            ReasonCode::InvalidCharacter => "mrz.invalid_character",
            ReasonCode::Specimen => "document.specimen",
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

/// The outcome of the policy for one reading: accepted, or refused with at least one reason
/// (only [`AcceptancePolicy::evaluate`] makes one, so "accepted with reasons" and "refused
/// without" cannot be represented).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Acceptance {
    /// Every rule passed.
    Accepted,
    /// Refused; never empty, in a stable order: document kind, specimen, check digits, invalid
    /// characters and fields, expiry.
    Refused(Vec<Reason>),
}

impl Acceptance {
    /// Whether the document is accepted.
    pub fn is_accepted(&self) -> bool {
        matches!(self, Acceptance::Accepted)
    }

    /// The reasons to refuse (empty when accepted).
    pub fn reasons(&self) -> &[Reason] {
        match self {
            Acceptance::Accepted => &[],
            Acceptance::Refused(reasons) => reasons,
        }
    }
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

    /// Applies the policy to `read` on day `today`: the kind's verdict, then a specimen reason
    /// for ICAO's fictional state `UTO`, one reason per failed check digit, per character
    /// outside the MRZ alphabet, per field parsing found invalid (see
    /// [`MrzRead::invalid_fields`]), and for expiry before `today` (a document is valid through
    /// its expiry day).
    pub fn evaluate(&self, read: &MrzRead, today: Date) -> Acceptance {
        let mut reasons = Vec::new();
        if let Verdict::Refuse(code) = self.verdict(read.kind) {
            reasons.push(Reason { code, field: None });
        }
        if read.issuing_state == SPECIMEN_STATE || read.nationality.as_deref() == Some(SPECIMEN_STATE) {
            reasons.push(Reason { code: ReasonCode::Specimen, field: None });
        }
        for check in read.checks.iter().filter(|c| !c.passed) {
            reasons.push(Reason { code: ReasonCode::CheckDigitFailed, field: Some(check.field) });
        }
        for c in &read.invalid_characters {
            reasons.push(Reason { code: ReasonCode::InvalidCharacter, field: c.field });
        }
        for &field in &read.invalid_fields {
            reasons.push(Reason { code: ReasonCode::FieldInvalid, field: Some(field) });
        }
        if read.expiry.is_some_and(|e| e.date < today) {
            reasons.push(Reason { code: ReasonCode::Expired, field: None });
        }
        if reasons.is_empty() { Acceptance::Accepted } else { Acceptance::Refused(reasons) }
    }
}

/// ICAO 9303 part 3's fictional issuing state, printed on specimens (`XXA`-`XXX` are real codes
/// for the stateless and refugees, not test codes, and stay accepted).
const SPECIMEN_STATE: &str = "UTO";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layout::Format;

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
