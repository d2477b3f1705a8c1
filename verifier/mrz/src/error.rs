//! The crate's one error type: text that is not an MRZ at all.
//!
//! Expected outcomes on a real MRZ (a failed check digit, an expired or refused document) are
//! not errors; they are reported in `MrzRead`.

/// Why some text could not be read as an MRZ. Line and column numbers are zero-based and count
/// only the lines that are not blank.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// A character outside the MRZ alphabet (`A`-`Z`, `0`-`9`, `<`).
    #[error("line {line}, column {column}: {found:?} is not an MRZ character (A-Z, 0-9, <)")]
    BadCharacter {
        /// The line holding it.
        line: usize,
        /// Its position in the line, in characters.
        column: usize,
        /// The character (for per-position alternatives, the best-scored one).
        found: char,
    },
    /// No known MRZ layout has this number of lines of these lengths (and, where lengths are
    /// shared, this first line).
    #[error("no MRZ layout has lines of lengths {lengths:?}")]
    UnknownLayout {
        /// The length of each line, in characters.
        lengths: Vec<usize>,
    },
}
