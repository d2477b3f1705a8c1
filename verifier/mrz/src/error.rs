//! The crate's one error type: text that is not an MRZ at all.
//!
//! Expected outcomes on a real MRZ (a failed check digit, a character outside the alphabet, an
//! expired or refused document) are not errors; they are reported in `MrzRead`.

/// Why some text could not be read as an MRZ: its lines fit no format.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// No known MRZ layout has this number of lines of these lengths (and, where lengths are
    /// shared, this first line).
    #[error("no MRZ layout has lines of lengths {lengths:?}")]
    UnknownLayout {
        /// The length of each line, in characters.
        lengths: Vec<usize>,
    },
}
