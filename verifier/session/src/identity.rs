//! The expected identity (what the letter service says the addressee is called) against the
//! names the MRZ prints.
//!
//! The expected text is written the way ICAO 9303 part 3 (section 6, transliteration of Latin
//! characters) writes names in an MRZ: upper case, accents dropped, `Ä`/`Ö`/`Ü` either as
//! `AE`/`OE`/`UE` or as the bare letter (states use both), `ß` as `SS`, ligatures spelt out
//! (`Æ` `AE`, `Œ` `OE`), hyphens and spaces as separators, apostrophes dropped. A name the MRZ
//! had to truncate matches when the printed part is a prefix of the expected one. Several given
//! names: the expected ones must be the first given names on the document, in order (a letter
//! may name only the first).

use mrz::{Date, MrzRead};

/// What the letter service expects; any field may be absent.
#[derive(Clone, PartialEq, Eq)]
pub struct ExpectedIdentity {
    /// Surname(s), as typed (any case, accents, hyphens).
    pub surname: String,
    /// Given name(s), as typed.
    pub given_names: String,
    /// Birth date, when known.
    pub birth_date: Option<Date>,
}

impl std::fmt::Debug for ExpectedIdentity {
    // Holder data: never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExpectedIdentity([redacted])")
    }
}

/// How the document compares with the expected identity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentityMatch {
    /// Names (and birth date, when given) agree.
    Same,
    /// The names differ: perhaps someone acting on behalf of the addressee.
    NameMismatch,
    /// The birth date differs.
    BirthDateMismatch,
}

/// Compares the document's names and birth date with `expected`.
pub fn compare(read: &MrzRead, expected: &ExpectedIdentity) -> IdentityMatch {
    if let Some(want) = expected.birth_date
        && read.birth_date.as_ref().is_none_or(|d| *d.expose() != want)
    {
        return IdentityMatch::BirthDateMismatch;
    }
    let surname_ok = names_match(read.surname.expose(), &expected.surname, read.names_truncated, false);
    let given_ok = names_match(read.given_names.expose(), &expected.given_names, read.names_truncated, true);
    if surname_ok && given_ok { IdentityMatch::Same } else { IdentityMatch::NameMismatch }
}

/// Whether the MRZ's `printed` name (words separated by spaces) matches `typed`.
/// `leading` allows `typed` to be the first words only (given names).
fn names_match(printed: &str, typed: &str, truncated: bool, leading: bool) -> bool {
    let printed: Vec<&str> = printed.split_whitespace().collect();
    let variants = transliterations(typed);
    variants.iter().any(|words| {
        if words.is_empty() {
            return printed.is_empty();
        }
        let joined_printed = printed.join(" ");
        let joined = words.join(" ");
        if joined_printed == joined {
            return true;
        }
        if truncated && !joined_printed.is_empty() && joined.starts_with(&joined_printed) {
            return true;
        }
        leading && words.len() < printed.len() && printed[..words.len()] == words[..]
    })
}

/// The MRZ spellings of `text`: one per choice of umlaut rendering (`AE` or `A`), each a list of
/// words in `A-Z`.
pub fn transliterations(text: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    for expand_umlauts in [true, false] {
        let mut words = Vec::new();
        let mut word = String::new();
        for c in text.chars() {
            match transliterate(c, expand_umlauts) {
                Some(s) => word.push_str(s),
                None if c == '\'' || c == '\u{2019}' || c == '.' => {}
                None => {
                    if !word.is_empty() {
                        words.push(std::mem::take(&mut word));
                    }
                }
            }
        }
        if !word.is_empty() {
            words.push(word);
        }
        if !out.contains(&words) {
            out.push(words);
        }
    }
    out
}

/// One character's MRZ spelling; `None` for a separator (space, hyphen, anything else).
fn transliterate(c: char, expand_umlauts: bool) -> Option<&'static str> {
    const LETTERS: [&str; 26] = [
        "A", "B", "C", "D", "E", "F", "G", "H", "I", "J", "K", "L", "M", "N", "O", "P", "Q", "R", "S", "T", "U", "V",
        "W", "X", "Y", "Z",
    ];
    if c == 'ß' {
        return Some("SS");
    }
    let upper = c.to_uppercase().next().unwrap_or(c);
    if upper.is_ascii_uppercase() {
        return Some(LETTERS[(upper as u8 - b'A') as usize]);
    }
    Some(match upper {
        'Ä' => {
            if expand_umlauts {
                "AE"
            } else {
                "A"
            }
        }
        'Ö' => {
            if expand_umlauts {
                "OE"
            } else {
                "O"
            }
        }
        'Ü' => {
            if expand_umlauts {
                "UE"
            } else {
                "U"
            }
        }
        'ß' | 'ẞ' => "SS",
        'Æ' => "AE",
        'Œ' => "OE",
        'Ø' => "OE",
        'Å' => "AA",
        'Þ' => "TH",
        'Ð' => "D",
        'Ĳ' => "IJ",
        'Ł' => "L",
        'Đ' => "D",
        'À' | 'Á' | 'Â' | 'Ã' | 'Ā' | 'Ă' | 'Ą' => "A",
        'Ç' | 'Ć' | 'Ĉ' | 'Ċ' | 'Č' => "C",
        'Ď' => "D",
        'È' | 'É' | 'Ê' | 'Ë' | 'Ē' | 'Ĕ' | 'Ė' | 'Ę' | 'Ě' => "E",
        'Ĝ' | 'Ğ' | 'Ġ' | 'Ģ' => "G",
        'Ĥ' | 'Ħ' => "H",
        'Ì' | 'Í' | 'Î' | 'Ï' | 'Ĩ' | 'Ī' | 'Ĭ' | 'Į' | 'İ' => "I",
        'Ĵ' => "J",
        'Ķ' => "K",
        'Ĺ' | 'Ļ' | 'Ľ' | 'Ŀ' => "L",
        'Ñ' | 'Ń' | 'Ņ' | 'Ň' => "N",
        'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ō' | 'Ŏ' | 'Ő' => "O",
        'Ŕ' | 'Ŗ' | 'Ř' => "R",
        'Ś' | 'Ŝ' | 'Ş' | 'Š' | 'Ș' => "S",
        'Ţ' | 'Ť' | 'Ŧ' | 'Ț' => "T",
        'Ù' | 'Ú' | 'Û' | 'Ũ' | 'Ū' | 'Ŭ' | 'Ů' | 'Ű' | 'Ų' => "U",
        'Ŵ' => "W",
        'Ý' | 'Ÿ' | 'Ŷ' => "Y",
        'Ź' | 'Ż' | 'Ž' => "Z",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(lines: [&str; 2]) -> MrzRead {
        mrz::parse(&lines, Date::new(2020, 1, 1).expect("a valid date")).expect("the specimen parses")
    }

    /// ICAO's specimen (with a real state's code; UTO is refused as a specimen): ERIKSSON, ANNA MARIA, born 1974-08-12.
    fn anna() -> MrzRead {
        read(["P<NLDERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<", "L898902C36NLD7408122F1204159ZE184226B<<<<<10"])
    }

    fn check(surname: &str, given: &str, birth: Option<&str>, expect: IdentityMatch) {
        let expected = ExpectedIdentity {
            surname: surname.into(),
            given_names: given.into(),
            birth_date: birth.map(|b| Date::from_iso(b).expect("a valid date")),
        };
        assert_eq!(compare(&anna(), &expected), expect, "{surname} / {given} / {birth:?}");
    }

    #[test]
    fn names_compare_after_icao_transliteration() {
        check("Eriksson", "Anna Maria", None, IdentityMatch::Same);
        check("eriksson", "anna-maria", Some("1974-08-12"), IdentityMatch::Same);
        check("Ériksson", "Änna María", None, IdentityMatch::Same);
        // The letter names only the first given name.
        check("Eriksson", "Anna", None, IdentityMatch::Same);
        // Not the first given name, another surname, another birth date.
        check("Eriksson", "Maria", None, IdentityMatch::NameMismatch);
        check("Eriksen", "Anna Maria", None, IdentityMatch::NameMismatch);
        check("Eriksson", "Anna Maria", Some("1974-08-13"), IdentityMatch::BirthDateMismatch);
    }

    #[test]
    fn transliteration_follows_icao_9303_part_3() {
        let one = |s: &str| transliterations(s).into_iter().map(|w| w.join(" ")).collect::<Vec<_>>();
        assert_eq!(one("Müller-Lüdenscheidt"), vec!["MUELLER LUEDENSCHEIDT", "MULLER LUDENSCHEIDT"]);
        assert_eq!(one("O'Brien"), vec!["OBRIEN"]);
        assert_eq!(one("Strauß"), vec!["STRAUSS"]);
        assert_eq!(one("Œuvray  Lætitia"), vec!["OEUVRAY LAETITIA"]);
        assert_eq!(one("Łukasz Żółć"), vec!["LUKASZ ZOLC"]);
    }

    #[test]
    fn a_truncated_name_matches_its_full_spelling() {
        // The 39-character name field filled to its end: the given names were cut.
        let given = "ANNA<MARIAELISABETHKRISTINASOFIA";
        let line1 = format!("P<NLDERIKSSON<<{}", &given[..29]);
        let truncated = read([&line1, "L898902C36NLD7408122F1204159ZE184226B<<<<<10"]);
        assert!(truncated.names_truncated);
        let expected =
            |given: &str| ExpectedIdentity { surname: "Eriksson".into(), given_names: given.into(), birth_date: None };
        assert_eq!(compare(&truncated, &expected("Anna Mariaelisabethkristinasofia")), IdentityMatch::Same);
        assert_eq!(compare(&truncated, &expected("Anna Mariaelisabethkristinaxx")), IdentityMatch::NameMismatch);
    }
}
