//! MRZ text in, typed fields out (ICAO 9303 parts 3 to 7).
//!
//! This crate owns the rules of machine-readable zones: character values and check digits,
//! the formats (TD1, TD2, TD3, MRV-A, MRV-B, the French identity card issued before 2021, the EU
//! and Swiss driving licences), field-aware correction of OCR confusions, expiry (including the
//! French card's, which its MRZ does not print), document classification and the acceptance
//! policy. It never sees pixels, files, the network or the clock: "today" is an argument.
//!
//! The main types:
//!
//! - [`parse`] reads text lines; [`parse_alternatives`] reads an OCR's scored top-k candidates
//!   per position. Both return an [`MrzRead`], or a [`ParseError`] when the text is not an MRZ.
//! - [`MrzRead`] holds the fields, every [`Check`], the [`Correction`]s made, and what parsing
//!   found invalid (characters outside the alphabet, fields that cannot be real values). Holder
//!   data is [`Sensitive`]: it prints as `[redacted]` until [`Sensitive::expose`] is called.
//! - [`AcceptancePolicy`] is a table from [`DocumentKind`] to [`Verdict`], applied to a read by
//!   [`AcceptancePolicy::evaluate`] (parsing never applies it); the [`Acceptance`] is accepted,
//!   or refused with machine-readable [`Reason`]s such as `document.driving_licence_refused`.
//!
//! ```
//! use mrz::{Acceptance, AcceptancePolicy, Date, DocumentKind, Format, ReasonCode, parse};
//!
//! let today = Date::new(2011, 6, 1).expect("a valid date");
//! let policy = AcceptancePolicy::standard();
//! let read = parse(
//!     &[
//!         "P<FRAERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
//!         "L898902C36FRA7408122F1204159ZE184226B<<<<<10",
//!     ],
//!     today,
//! )?;
//! assert_eq!(read.format, Format::Td3);
//! assert_eq!(read.kind, DocumentKind::Passport);
//! assert_eq!(read.surname.expose(), "ERIKSSON");
//! assert_eq!(read.given_names.expose(), "ANNA MARIA");
//! assert_eq!(format!("{:?}", read.document_number), "Sensitive([redacted])");
//! assert!(read.is_trustworthy());
//! assert_eq!(policy.evaluate(&read, today), Acceptance::Accepted);
//!
//! // A year later the same passport has expired, and a misread `O` in a date is fixed.
//! let later = Date::from_iso("2012-06-01").expect("a valid date");
//! let read = parse(
//!     &[
//!         "P<FRAERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
//!         "L898902C36FRA74O8122F1204159ZE184226B<<<<<10",
//!     ],
//!     later,
//! )?;
//! assert_eq!(read.corrections.len(), 1);
//! assert_eq!(policy.evaluate(&read, later).reasons()[0].code, ReasonCode::Expired);
//!
//! // ICAO's own specimen (state `UTO`) reads, and is never accepted as a real document.
//! let read = parse(
//!     &[
//!         "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<",
//!         "L898902C36UTO7408122F1204159ZE184226B<<<<<10",
//!     ],
//!     today,
//! )?;
//! assert!(read.valid);
//! assert_eq!(policy.evaluate(&read, today).reasons()[0].code, ReasonCode::Specimen);
//!
//! // A French driving licence is recognised, and refused.
//! let read = parse(&["D1FRA13AA000026181231MARTIN<<9"], today)?;
//! assert_eq!(read.kind, DocumentKind::DrivingLicence);
//! assert_eq!(policy.evaluate(&read, today).reasons()[0].code.as_str(), "document.driving_licence_refused");
//! # Ok::<(), mrz::ParseError>(())
//! ```
#![deny(missing_docs)]

mod check_digit;
mod correct;
mod countries;
mod date;
mod error;
mod expiry;
mod kind;
mod layout;
mod policy;
mod read;
mod sensitive;

pub use check_digit::{char_value, check_digit};
pub use correct::Correction;
pub use date::Date;
pub use error::ParseError;
pub use expiry::{Expiry, ExpiryBasis};
pub use kind::DocumentKind;
pub use layout::{Field, Format};
pub use policy::{Acceptance, AcceptancePolicy, KindRule, Reason, ReasonCode, Verdict};
pub use read::{Check, InvalidCharacter, MrzRead, OverflowRule, Sex, parse, parse_alternatives};
pub use sensitive::Sensitive;
