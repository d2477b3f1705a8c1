//! MRZ text in, typed fields out (ICAO 9303 parts 3 to 7).
//!
//! This crate owns the rules of machine-readable zones: character values, check digits and
//! (as it grows) formats, field-aware correction and the acceptance policy. It never sees pixels,
//! files, the network or the clock: dates such as "today" are arguments.
//!
//! ```
//! assert_eq!(mrz::check_digit(b"L898902C3"), Some(b'6'));
//! ```
#![deny(missing_docs)]

mod check_digit;

pub use check_digit::{char_value, check_digit};
