//! Random holders: names with national accents, sex, birth date and nationality, and the ICAO 9303
//! transliteration of names into the MRZ alphabet.
//!
//! Owns the name pools and the transliteration table (ICAO 9303 part 3, section 6, "Transliteration
//! of multinational Latin-based characters"). Document numbers and dates of issue belong to
//! [`crate::mrz_text`].

use rand::seq::IndexedRandom;
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use crate::date::Date;

/// How a country writes umlauts and ring letters in the MRZ. ICAO 9303 allows both `Ä -> AE` and
/// `Ä -> A` (likewise `Ö`, `Ü`, `Å`); German-speaking and Nordic states expand them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UmlautRule {
    /// `Ä -> AE`, `Ö -> OE`, `Ü -> UE`, `Å -> AA`.
    Expand,
    /// `Ä -> A`, `Ö -> O`, `Ü -> U`, `Å -> A`.
    Drop,
}

/// The holder's sex as the MRZ writes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Sex {
    /// `M`.
    #[serde(rename = "M")]
    Male,
    /// `F`.
    #[serde(rename = "F")]
    Female,
    /// `<` in the MRZ (ICAO 9303 allows `X` or `<` for unspecified).
    #[serde(rename = "X")]
    Unspecified,
}

impl Sex {
    /// The MRZ character.
    pub fn mrz_char(self) -> char {
        match self {
            Sex::Male => 'M',
            Sex::Female => 'F',
            Sex::Unspecified => '<',
        }
    }

    /// The character printed in the visual zone.
    pub fn printed(self) -> &'static str {
        match self {
            Sex::Male => "M",
            Sex::Female => "F",
            Sex::Unspecified => "X",
        }
    }
}

/// A state that issues documents in this generator: its ICAO code, printed name and naming habits.
#[derive(Debug)]
pub struct Country {
    /// ICAO 9303 three-letter code (`FRA`, `D<<` is written `DEU` here as on passports).
    pub code: &'static str,
    /// Name printed in document headers.
    pub name: &'static str,
    /// Umlaut transliteration habit.
    pub umlaut: UmlautRule,
    surnames: &'static [&'static str],
    male: &'static [&'static str],
    female: &'static [&'static str],
    places: &'static [&'static str],
}

/// The countries this generator draws from. France comes first: it has most formats.
pub static COUNTRIES: &[Country] = &[
    Country {
        code: "FRA",
        name: "RÉPUBLIQUE FRANÇAISE",
        umlaut: UmlautRule::Drop,
        surnames: &[
            "MARTIN",
            "LEFÈVRE",
            "DUPRÉ",
            "BÉZIER",
            "GIRARD",
            "FRANÇOIS",
            "CÔTÉ",
            "BENOÎT",
            "D'ARCY",
            "SAINT-EXUPÉRY",
            "LE GOFF",
            "MÉNARD",
            "NOËL",
            "FAURÉ-DUMONT",
            "GARÇON",
            "DE LA FONTAINE-BÉRANGER",
            "ROUSSEAU",
            "LAÏK",
        ],
        male: &["JÉRÔME", "FRANÇOIS", "LOÏC", "NOËL", "THÉO", "RAPHAËL", "JEAN-BAPTISTE", "ANDRÉ", "MAËL"],
        female: &["HÉLÈNE", "ÉLOÏSE", "GAËLLE", "ZOÉ", "CÉLINE", "MAËLYS", "ANAÏS", "MARIE-ÈVE", "BÉATRICE"],
        places: &["PARIS", "LYON", "SAINT-ÉTIENNE", "ORLÉANS", "BÉZIERS", "NÎMES"],
    },
    Country {
        code: "DEU",
        name: "BUNDESREPUBLIK DEUTSCHLAND",
        umlaut: UmlautRule::Expand,
        surnames: &["MÜLLER", "SCHÄFER", "GROß", "WEIß", "HÖßL", "KÖNIG", "JÄGER", "BÖHM", "VON DER LÜHE"],
        male: &["JÜRGEN", "JÖRG", "BJÖRN", "LUKAS", "MATTHÄUS", "FRIEDRICH"],
        female: &["KÄTHE", "JÜLIDE", "SÖRA", "LENA", "BÄRBEL", "ANNELIESE"],
        places: &["MÜNCHEN", "KÖLN", "DÜSSELDORF", "BERLIN", "GÖTTINGEN"],
    },
    Country {
        code: "ESP",
        name: "REINO DE ESPAÑA",
        umlaut: UmlautRule::Drop,
        surnames: &["NÚÑEZ", "PEÑA", "MUÑOZ", "GARCÍA LÓPEZ", "IBÁÑEZ", "CASTAÑO"],
        male: &["JOSÉ", "IÑAKI", "ÁLVARO", "JESÚS", "RAMÓN"],
        female: &["MARÍA", "ÁNGELA", "INÉS", "BEGOÑA", "MARÍA JOSÉ"],
        places: &["MADRID", "MÁLAGA", "CÓRDOBA", "A CORUÑA"],
    },
    Country {
        code: "ITA",
        name: "REPUBBLICA ITALIANA",
        umlaut: UmlautRule::Drop,
        surnames: &["D'ANGELO", "ROSSI", "LUCÀ", "DELL'ACQUA", "FERRARI", "DE SANTIS"],
        male: &["NICCOLÒ", "GIOSUÈ", "LUCA", "ANDREA", "MATTIA"],
        female: &["GIULIA", "CHIARA", "NOEMÌ", "FRANCESCA", "ANNA MARIA"],
        places: &["ROMA", "TORINO", "CANTÙ", "FORLÌ"],
    },
    Country {
        code: "NOR",
        name: "NORGE / NOREG",
        umlaut: UmlautRule::Expand,
        surnames: &["JØRGENSEN", "BRÅTEN", "SÆTHER", "ØVREBØ", "LØKKEN"],
        male: &["SØREN", "BJØRN", "ØYSTEIN", "HÅKON"],
        female: &["ÅSE", "SOLVEIG", "TUVA", "MARTHE"],
        places: &["OSLO", "TROMSØ", "BERGEN", "BÆRUM"],
    },
    Country {
        code: "POL",
        name: "RZECZPOSPOLITA POLSKA",
        umlaut: UmlautRule::Drop,
        surnames: &["WAŁĘSA", "ŻUKOWSKI", "ŚWIĄTEK", "KOWALCZYK", "GRZEŚKIEWICZ"],
        male: &["ŁUKASZ", "PAWEŁ", "JĘDRZEJ", "MACIEJ"],
        female: &["AGNIESZKA", "MAŁGORZATA", "ŻANETA", "ŁUCJA"],
        places: &["ŁÓDŹ", "KRAKÓW", "GDAŃSK", "WARSZAWA"],
    },
    Country {
        code: "PRT",
        name: "REPÚBLICA PORTUGUESA",
        umlaut: UmlautRule::Drop,
        surnames: &["GONÇALVES", "CONCEIÇÃO", "SIMÕES", "ALVES DA SILVA"],
        male: &["JOÃO", "SEBASTIÃO", "ANTÓNIO"],
        female: &["INÊS", "CONCEIÇÃO", "LEONOR"],
        places: &["LISBOA", "ÉVORA", "PORTO"],
    },
    Country {
        code: "SWE",
        name: "SVERIGE",
        umlaut: UmlautRule::Expand,
        surnames: &["ÖBERG", "ÅKESSON", "ÄNGSTRÖM", "LINDQVIST"],
        male: &["ÖRJAN", "ÅKE", "GÖRAN"],
        female: &["ÅSA", "LINNÉA", "MÄRTA"],
        places: &["GÖTEBORG", "MALMÖ", "UMEÅ"],
    },
    Country {
        code: "ISL",
        name: "ÍSLAND",
        umlaut: UmlautRule::Expand,
        surnames: &["ÞÓRÐARSON", "GUÐMUNDSDÓTTIR", "SIGURÐSSON"],
        male: &["ÞÓRÐUR", "EIÐUR"],
        female: &["GUÐRÚN", "ÞÓRUNN"],
        places: &["REYKJAVÍK", "AKUREYRI"],
    },
    Country {
        code: "CZE",
        name: "ČESKÁ REPUBLIKA",
        umlaut: UmlautRule::Drop,
        surnames: &["DVOŘÁK", "NOVÁKOVÁ", "ŘEHOŘ", "ČERNÝ"],
        male: &["JIŘÍ", "TOMÁŠ", "ŘEHOŘ"],
        female: &["KATEŘINA", "ZUZANA", "LENKA"],
        places: &["PRAHA", "BRNO", "PLZEŇ"],
    },
    Country {
        code: "CHE",
        name: "SCHWEIZ SUISSE SVIZZERA",
        umlaut: UmlautRule::Expand,
        surnames: &["MÜLLER", "BRÄNDLI", "FAVRE", "ZÜRCHER", "BÜHLER"],
        male: &["URS", "RÉMY", "JÜRG"],
        female: &["BÉATRICE", "REGULA", "MÄDI"],
        places: &["ZÜRICH", "GENÈVE", "LUZERN"],
    },
    Country {
        code: "TUR",
        name: "TÜRKİYE CUMHURİYETİ",
        umlaut: UmlautRule::Drop,
        surnames: &["ÇELIK", "ŞAHIN", "YILDIZ", "ÖZTÜRK"],
        male: &["ŞÜKRÜ", "MUSTAFA", "EMRE"],
        female: &["GÜL", "AYŞE", "ZEYNEP"],
        places: &["İSTANBUL", "İZMIR", "ANKARA"],
    },
];

/// The country with this ICAO code, if the generator knows it.
pub fn country(code: &str) -> Option<&'static Country> {
    COUNTRIES.iter().find(|c| c.code == code)
}

/// A random holder. Names are in capitals as printed on the document (with accents); the MRZ
/// forms come from [`transliterate`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Identity {
    /// Primary identifier (surname), as printed.
    pub surname: String,
    /// Secondary identifiers (given names), as printed, in order.
    pub given_names: Vec<String>,
    /// Sex.
    pub sex: Sex,
    /// Date of birth.
    pub birth_date: Date,
    /// Place of birth, as printed.
    pub birth_place: String,
    /// ICAO nationality code.
    pub nationality: String,
}

impl Identity {
    /// A random holder of `country`'s nationality, aged 18 to 80 at `at`. With `long_name` the names
    /// are built long enough to overflow any MRZ name field (to exercise truncation).
    pub fn random<R: Rng>(rng: &mut R, country: &Country, at: Date, long_name: bool) -> Identity {
        let sex = match rng.random_range(0..100) {
            0..48 => Sex::Male,
            48..98 => Sex::Female,
            _ => Sex::Unspecified,
        };
        let pool = match sex {
            Sex::Male => country.male,
            Sex::Female => country.female,
            Sex::Unspecified => {
                if rng.random_bool(0.5) {
                    country.male
                } else {
                    country.female
                }
            }
        };
        let pick = |rng: &mut R, list: &'static [&'static str]| -> String {
            list.choose(rng).copied().unwrap_or("DUPONT").to_owned()
        };
        let mut surname = pick(rng, country.surnames);
        let given_count = if long_name { 4 } else { rng.random_range(1..=3) };
        let mut given_names = Vec::with_capacity(given_count);
        for _ in 0..given_count {
            let name = pick(rng, pool);
            if !given_names.contains(&name) || long_name {
                given_names.push(name);
            }
        }
        if long_name {
            surname = format!("{surname}-{}", pick(rng, country.surnames));
            surname = format!("{surname} {}", pick(rng, country.surnames));
        }
        let age_days = rng.random_range(18 * 365 + 5..80 * 365);
        Identity {
            surname,
            given_names,
            sex,
            birth_date: at.add_days(-age_days),
            birth_place: pick(rng, country.places),
            nationality: country.code.to_owned(),
        }
    }
}

/// Transliterates a printed name component into the MRZ alphabet (ICAO 9303 part 3, section 6):
/// upper case `A`..`Z`, spaces and hyphens become the filler `<`, apostrophes and other
/// punctuation are dropped, accented letters follow ICAO's table with `rule` for umlauts.
pub fn transliterate(name: &str, rule: UmlautRule) -> String {
    let expand = rule == UmlautRule::Expand;
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars().flat_map(char::to_uppercase) {
        let s: &str = match c {
            'A'..='Z' => {
                out.push(c);
                continue;
            }
            ' ' | '-' => "<",
            'À' | 'Á' | 'Â' | 'Ã' | 'Ą' | 'Ă' | 'Ā' => "A",
            'Ä' if expand => "AE",
            'Ä' => "A",
            'Å' if expand => "AA",
            'Å' => "A",
            'Æ' => "AE",
            'Ç' | 'Ć' | 'Č' | 'Ĉ' => "C",
            'Ð' | 'Ď' | 'Đ' => "D",
            'È' | 'É' | 'Ê' | 'Ë' | 'Ę' | 'Ě' | 'Ē' => "E",
            'Ğ' | 'Ģ' => "G",
            'Ì' | 'Í' | 'Î' | 'Ï' | 'İ' | 'Ī' => "I",
            'Ł' | 'Ľ' | 'Ĺ' | 'Ŀ' | 'Ļ' => "L",
            'Ñ' | 'Ń' | 'Ň' | 'Ņ' => "N",
            'Ò' | 'Ó' | 'Ô' | 'Õ' | 'Ō' => "O",
            'Ö' if expand => "OE",
            'Ö' => "O",
            'Ø' | 'Œ' | 'Ő' => "OE",
            'Ŕ' | 'Ř' => "R",
            'Ś' | 'Ş' | 'Š' | 'Ș' => "S",
            'ẞ' => "SS",
            'Ť' | 'Ţ' | 'Ț' => "T",
            'Þ' => "TH",
            'Ù' | 'Ú' | 'Û' | 'Ů' | 'Ū' => "U",
            'Ü' if expand => "UE",
            'Ü' => "U",
            'Ű' => "UE",
            'Ý' | 'Ÿ' => "Y",
            'Ź' | 'Ż' | 'Ž' => "Z",
            // `ß` upper-cases to "SS" through `to_uppercase`, so it never reaches this match.
            _ => "",
        };
        out.push_str(s);
    }
    out
}

/// The MRZ name field: primary and secondary identifiers separated by `<<`, given names by `<`,
/// padded with `<` or truncated to `width` (ICAO 9303 part 3, 4.6: when the name does not fit,
/// secondary identifiers are cut first, then the primary identifier). Returns the field and whether
/// it was truncated.
pub fn mrz_name_field(surname: &str, given: &[String], rule: UmlautRule, width: usize) -> (String, bool) {
    let primary = transliterate(surname, rule);
    let secondary: Vec<String> = given.iter().map(|g| transliterate(g, rule)).collect();
    let secondary = secondary.join("<");
    let full = if secondary.is_empty() { primary.clone() } else { format!("{primary}<<{secondary}") };
    if full.len() <= width {
        return (pad(&full, width), false);
    }
    // Keep the primary identifier and as much of the secondary as fits (at least one letter).
    let room = width.saturating_sub(primary.len() + 2);
    let field = if room >= 1 && !secondary.is_empty() {
        let cut: String = secondary.chars().take(room).collect();
        format!("{primary}<<{cut}")
    } else {
        primary.chars().take(width).collect()
    };
    // A truncated field should end in a letter; drop trailing fillers the cut left behind.
    let trimmed = field.trim_end_matches('<');
    (pad(trimmed, width), true)
}

/// `text` right-padded with the filler `<` to `width` (or cut to `width`).
pub fn pad(text: &str, width: usize) -> String {
    let mut out: String = text.chars().take(width).collect();
    while out.len() < width {
        out.push('<');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(name: &str, rule: UmlautRule, expect: &str) {
        assert_eq!(transliterate(name, rule), expect, "{name}");
    }

    #[test]
    fn icao_table() {
        check("ÉLOÏSE", UmlautRule::Drop, "ELOISE");
        check("MÜLLER", UmlautRule::Expand, "MUELLER");
        check("MÜLLER", UmlautRule::Drop, "MULLER");
        check("GROß", UmlautRule::Expand, "GROSS");
        check("ØVREBØ", UmlautRule::Expand, "OEVREBOE");
        check("D'ARCY", UmlautRule::Drop, "DARCY");
        check("SAINT-EXUPÉRY", UmlautRule::Drop, "SAINT<EXUPERY");
        check("ÞÓRÐARSON", UmlautRule::Expand, "THORDARSON");
        check("WAŁĘSA", UmlautRule::Drop, "WALESA");
        check("BRÅTEN", UmlautRule::Expand, "BRAATEN");
        check("ŞAHIN", UmlautRule::Drop, "SAHIN");
    }

    #[test]
    fn name_field_pads_and_truncates() {
        let given = vec!["ANNE".to_owned(), "MARIE".to_owned()];
        assert_eq!(
            mrz_name_field("MARTIN", &given, UmlautRule::Drop, 30),
            ("MARTIN<<ANNE<MARIE<<<<<<<<<<<<".to_owned(), false)
        );
        let (field, truncated) = mrz_name_field("MARTIN", &given, UmlautRule::Drop, 14);
        assert_eq!(field, "MARTIN<<ANNE<M");
        assert!(truncated);
        let (field, truncated) = mrz_name_field("MARTIN", &given, UmlautRule::Drop, 13);
        assert_eq!(field, "MARTIN<<ANNE<", "trailing filler trimmed then re-padded");
        assert!(truncated);
    }

    #[test]
    fn every_pool_transliterates_to_the_mrz_alphabet() {
        for c in COUNTRIES {
            for name in c.surnames.iter().chain(c.male).chain(c.female) {
                let t = transliterate(name, c.umlaut);
                assert!(!t.is_empty() && t.bytes().all(|b| b.is_ascii_uppercase() || b == b'<'), "{name} -> {t}");
            }
        }
    }
}
