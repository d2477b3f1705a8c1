//! Property tests of the public API: check digits detect single changes, parsing never panics
//! on any input, and generated valid MRZs round-trip (also through one OCR confusion).

use mrz::{AcceptancePolicy, Date, Format, MrzRead, ReasonCode, char_value, check_digit, parse, parse_alternatives};
use proptest::prelude::*;

/// Fields of a generated document, as they should read back.
#[derive(Clone, Debug)]
struct Doc {
    format: Format,
    number: String,
    surname: String,
    given: String,
    birth: Date,
    expiry: Date,
    sex: char,
}

fn today() -> Date {
    Date::new(2026, 11, 25).expect("a valid date")
}

fn digit(field: &str) -> char {
    char::from(check_digit(field.as_bytes()).expect("generated fields use the MRZ alphabet"))
}

fn yymmdd(d: Date) -> String {
    format!("{:02}{:02}{:02}", d.year() % 100, d.month(), d.day())
}

fn pad(s: &str, len: usize) -> String {
    format!("{s:<<len$}")
}

/// The MRZ lines of `doc`, with every check digit computed.
fn lines(doc: &Doc) -> Vec<String> {
    let name = |len| pad(&format!("{}<<{}", doc.surname, doc.given), len);
    let (birth, expiry) = (yymmdd(doc.birth), yymmdd(doc.expiry));
    let (bd, ed, nd) = (digit(&birth), digit(&expiry), digit(&doc.number));
    match doc.format {
        Format::Td1 => {
            let l1 = format!("I<UTO{}{nd}{}", doc.number, pad("", 15));
            let l2 = format!("{birth}{bd}{}{expiry}{ed}UTO{}", doc.sex, pad("", 11));
            let composite = digit(&format!("{}{}{}{}", &l1[5..30], &l2[0..7], &l2[8..15], &l2[18..29]));
            vec![l1, format!("{l2}{composite}"), name(30)]
        }
        _ => {
            let l2 = format!("{}{nd}UTO{birth}{bd}{}{expiry}{ed}{}<", doc.number, doc.sex, pad("", 14));
            let composite = digit(&format!("{}{}{}", &l2[0..10], &l2[13..20], &l2[21..43]));
            vec![format!("P<UTO{}", name(39)), format!("{l2}{composite}")]
        }
    }
}

fn date_between(from: u16, to: u16) -> impl Strategy<Value = Date> {
    (from..=to, 1u8..=12, 1u8..=28).prop_map(|(y, m, d)| Date::new(y, m, d).expect("day 1-28 exists"))
}

fn doc() -> impl Strategy<Value = Doc> {
    (
        prop_oneof![Just(Format::Td1), Just(Format::Td3)],
        "[A-Z0-9]{9}",
        "[A-Z]{1,12}",
        "[A-Z]{1,10}",
        // Births within the 100 years before today, expiries within 50 years of it: the
        // windows in which two-digit years are unambiguous.
        date_between(1927, 2025),
        date_between(1977, 2075),
        prop_oneof![Just('M'), Just('F'), Just('X')],
    )
        .prop_map(|(format, number, surname, given, birth, expiry, sex)| Doc {
            format,
            number,
            surname,
            given,
            birth,
            expiry,
            sex,
        })
}

/// Parses `lines` and checks that it reads back as `doc`, valid, with `corrections` changes.
fn check(lines: &[String], doc: &Doc, corrections: usize) {
    let read: MrzRead = parse(lines, today()).expect("a generated MRZ parses");
    assert_eq!(read.format, doc.format);
    assert!(read.valid, "{:?}", read.checks);
    assert_eq!(read.corrections.len(), corrections, "{:?}", read.corrections);
    assert_eq!(read.document_number.expose(), &doc.number);
    assert_eq!(read.surname.expose(), &doc.surname);
    assert_eq!(read.given_names.expose(), &doc.given);
    assert_eq!(read.birth_date.map(|d| d.into_exposed()), Some(doc.birth));
    assert_eq!(read.expiry.map(|e| e.date), Some(doc.expiry));
    assert_eq!(read.sex.map(|s| s.as_str()), Some(&*doc.sex.to_string()));
    // ICAO's specimen state is never accepted; the only other reason is expiry.
    let reasons: Vec<ReasonCode> =
        AcceptancePolicy::standard().evaluate(&read, today()).reasons().iter().map(|r| r.code).collect();
    let expired = doc.expiry < today();
    assert_eq!(
        reasons,
        [Some(ReasonCode::Specimen), expired.then_some(ReasonCode::Expired)].into_iter().flatten().collect::<Vec<_>>()
    );
}

/// MRZ-alphabet text, biased towards fillers and confusable characters.
fn mrz_text(len: usize) -> impl Strategy<Value = String> {
    proptest::collection::vec(
        prop_oneof![
            3 => Just('<'),
            2 => proptest::char::ranges(vec!['A'..='Z', '0'..='9'].into()),
            1 => proptest::sample::select(vec!['0', 'O', '1', 'I', '2', 'Z', '5', 'S', '8', 'B', '6', 'G', 'K']),
        ],
        len,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

fn mrz_lines() -> impl Strategy<Value = Vec<String>> {
    prop_oneof![Just(vec![30, 30, 30]), Just(vec![36, 36]), Just(vec![44, 44]), Just(vec![30]), Just(vec![9, 30, 30]),]
        .prop_flat_map(|lengths| {
            let lines: Vec<_> = lengths.into_iter().map(mrz_text).collect();
            (lines, prop_oneof![Just(""), Just("P<"), Just("V<"), Just("IDFRA"), Just("D1FRA"), Just("D<")])
        })
        .prop_map(|(mut lines, prefix)| {
            if lines[0].len() >= prefix.len() {
                lines[0].replace_range(..prefix.len(), prefix);
            }
            lines
        })
}

proptest! {
    #[test]
    fn a_changed_digit_always_changes_the_check_digit(field in "[0-9]{1,20}", pos in any::<prop::sample::Index>(), new in 0u8..10) {
        let mut changed = field.clone().into_bytes();
        let i = pos.index(changed.len());
        prop_assume!(changed[i] != b'0' + new);
        changed[i] = b'0' + new;
        prop_assert_ne!(check_digit(field.as_bytes()), check_digit(&changed));
    }

    #[test]
    fn a_changed_character_changes_the_check_digit_unless_values_differ_by_ten(
        field in "[A-Z0-9<]{1,30}", pos in any::<prop::sample::Index>(), new in "[A-Z0-9<]",
    ) {
        let mut changed = field.clone().into_bytes();
        let i = pos.index(changed.len());
        let (old, new) = (changed[i], new.as_bytes()[0]);
        changed[i] = new;
        let diff = char_value(old).expect("MRZ char").abs_diff(char_value(new).expect("MRZ char"));
        prop_assert_eq!(check_digit(field.as_bytes()) == check_digit(&changed), diff.is_multiple_of(10));
    }

    #[test]
    fn parse_never_panics_on_arbitrary_strings(lines in proptest::collection::vec(any::<String>(), 0..5)) {
        let _ = parse(&lines, today());
    }

    #[test]
    fn parse_never_panics_on_mrz_shaped_text(lines in mrz_lines(), year in 1u16..=9999) {
        let today = Date::new(year, 6, 15).expect("a valid date");
        if let Ok(read) = parse(&lines, today) {
            prop_assert_eq!(read.valid, read.checks.iter().all(|c| c.passed) && read.invalid_characters.is_empty());
        }
    }

    #[test]
    fn parse_alternatives_never_panics(
        lines in mrz_lines(),
        noise in proptest::collection::vec((any::<u8>(), any::<f32>()), 0..200),
    ) {
        // Each position: its character, then a few arbitrary (byte, score) pairs, NaN included.
        let mut noise = noise.into_iter().cycle();
        let lines: Vec<Vec<Vec<(u8, f32)>>> = lines
            .iter()
            .map(|l| l.bytes().map(|c| {
                let mut alts = vec![(c, 0.5)];
                alts.extend(noise.by_ref().take(usize::from(c % 3)));
                alts
            }).collect())
            .collect();
        let _ = parse_alternatives(&lines, today(), 1.0);
    }

    #[test]
    fn generated_documents_round_trip(doc in doc()) {
        check(&lines(&doc), &doc, 0);
    }

    #[test]
    fn a_confused_digit_in_a_date_is_corrected(doc in doc(), pos in any::<prop::sample::Index>()) {
        let mut lines = lines(&doc);
        // Birth and expiry dates: TD1 line 2 columns 0-5 and 8-13; TD3 line 2, 13-18 and 21-26.
        let columns: Vec<usize> = match doc.format {
            Format::Td1 => (0..6).chain(8..14).collect(),
            _ => (13..19).chain(21..27).collect(),
        };
        let col = columns[pos.index(columns.len())];
        let confused = match lines[1].as_bytes()[col] {
            b'0' => 'O', b'1' => 'I', b'2' => 'Z', b'5' => 'S', b'8' => 'B', b'6' => 'G',
            _ => return Ok(()),
        };
        lines[1].replace_range(col..=col, &confused.to_string());
        check(&lines, &doc, 1);
    }
}
