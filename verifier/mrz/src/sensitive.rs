//! `Sensitive<T>`: holder data (names, document numbers, birth dates) that must never be printed
//! by accident.
//!
//! Owns the redacting wrapper only; what counts as sensitive is decided where fields are built.

use std::fmt;

/// A value about the holder. `Debug` and `Display` print `[redacted]`; reading the value takes
/// an explicit [`Sensitive::expose`], so logging a whole `MrzRead` leaks nothing.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Sensitive<T>(T);

impl<T> Sensitive<T> {
    /// Wraps `value`.
    pub fn new(value: T) -> Self {
        Sensitive(value)
    }

    /// The value itself. Call sites are the places to review for leaks.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Unwraps the value.
    pub fn into_exposed(self) -> T {
        self.0
    }
}

impl<T> fmt::Debug for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Sensitive([redacted])")
    }
}

impl<T> fmt::Display for Sensitive<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(value: Sensitive<&str>, expect_debug: &str, expect_display: &str) {
        assert_eq!(format!("{value:?}"), expect_debug);
        assert_eq!(format!("{value}"), expect_display);
        assert_eq!(format!("{value:#?}"), expect_debug);
    }

    #[test]
    fn redacts_but_exposes_on_request() {
        check(Sensitive::new("ERIKSSON"), "Sensitive([redacted])", "[redacted]");
        let s = Sensitive::new(String::from("L898902C3"));
        assert_eq!(s.expose(), "L898902C3");
        assert_eq!(s.into_exposed(), "L898902C3");
    }
}
