//! Check digits (ICAO 9303 part 3, section 4.9): weights 7-3-1 repeated, modulus 10.
//!
//! Owns the character values and the digit computation; which fields are checked, and against
//! what, belongs to the format parsers.

/// The numeric value ICAO 9303 gives an MRZ character: digits are themselves, `A`..`Z` are 10..35,
/// the filler `<` is 0. Any other byte has no value (`None`).
pub fn char_value(c: u8) -> Option<u32> {
    match c {
        b'0'..=b'9' => Some(u32::from(c - b'0')),
        b'A'..=b'Z' => Some(u32::from(c - b'A') + 10),
        b'<' => Some(0),
        _ => None,
    }
}

/// The check digit (as an ASCII digit `b'0'..=b'9'`) of `field`, or `None` if the field holds a
/// byte outside the MRZ alphabet.
pub fn check_digit(field: &[u8]) -> Option<u8> {
    const WEIGHTS: [u32; 3] = [7, 3, 1];
    let mut sum = 0u32;
    for (i, &c) in field.iter().enumerate() {
        sum += char_value(c)? * WEIGHTS[i % 3];
    }
    // `sum % 10` is below 10, so the cast cannot truncate.
    Some(b'0' + (sum % 10) as u8)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(field: &str, expect: Option<char>) {
        assert_eq!(check_digit(field.as_bytes()), expect.map(|c| c as u8), "field {field:?}");
    }

    #[test]
    fn icao_specimens() {
        // ICAO 9303 part 4 appendix A (Utopia passport specimen).
        check("L898902C3", Some('6'));
        check("740812", Some('2'));
        check("120415", Some('9'));
        check("ZE184226B<<<<<", Some('1'));
        check("", Some('0'));
        check("<<<<", Some('0'));
        check("abc", None);
    }
}
