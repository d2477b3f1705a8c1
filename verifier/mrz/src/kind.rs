//! Document classification: what kind of document an MRZ belongs to, from its format and its
//! document code (ICAO 9303 part 3's first letter, the issuing state's second).
//!
//! Owns [`DocumentKind`] only. Which kinds are accepted is `policy.rs`'s table; reading the
//! code off the zone is `read.rs`'s job.

use crate::layout::Format;

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
