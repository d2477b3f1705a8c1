//! MRZ layouts as data: which formats exist, how each is recognised, the character class of
//! every position, where each field sits, and which check digit covers what.
//!
//! Sources: ICAO 9303 part 4 (TD3), part 5 (TD1), part 6 (TD2), part 7 (MRV-A, MRV-B); the
//! French identity card issued 1988-2021 (2x36, `IDFRA`); the EU driving licence's one-line MRZ
//! (ISO/IEC 18013), with the French licence's known layout; the Swiss credit-card driving licence
//! (3 lines of 9/30/30). Reading the fields is `read.rs`'s job; correcting characters is
//! `correct.rs`'s.

/// The MRZ format a reading was recognised as.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Format {
    /// ICAO 9303 TD1: 3 lines of 30 (identity cards, including the French card issued since 2021).
    Td1,
    /// ICAO 9303 TD2: 2 lines of 36.
    Td2,
    /// ICAO 9303 TD3: 2 lines of 44 (passports).
    Td3,
    /// ICAO 9303 MRV-A visa: 2 lines of 44.
    MrvA,
    /// ICAO 9303 MRV-B visa: 2 lines of 36.
    MrvB,
    /// French national identity card issued before 2021: 2 lines of 36 starting `IDFRA`.
    FrId,
    /// A driving licence: the EU one-line form (30 characters, `D1`/`D<`) or the Swiss 9/30/30 form.
    Dl,
}

impl Format {
    /// The format's stable name: `td1`, `td2`, `td3`, `mrva`, `mrvb`, `fr_id` or `dl`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Format::Td1 => "td1",
            Format::Td2 => "td2",
            Format::Td3 => "td3",
            Format::MrvA => "mrva",
            Format::MrvB => "mrvb",
            Format::FrId => "fr_id",
            Format::Dl => "dl",
        }
    }
}

/// An MRZ field that a check or a refusal reason can name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Field {
    /// The document number (with any overflow into the optional data).
    DocumentNumber,
    /// The holder's date of birth.
    BirthDate,
    /// The document's expiry date.
    ExpiryDate,
    /// The issue month (French identity card issued before 2021).
    IssueDate,
    /// The optional data or personal number (TD3 has a check digit for it).
    OptionalData,
    /// The composite check digit over several fields.
    Composite,
    /// The issuing state or organisation.
    IssuingState,
    /// The holder's nationality.
    Nationality,
    /// The holder's names.
    Names,
    /// The holder's sex (`M`, `F`, `X` or `<`).
    Sex,
}

impl Field {
    /// The field's stable name, e.g. `document_number`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Field::DocumentNumber => "document_number",
            Field::BirthDate => "birth_date",
            Field::ExpiryDate => "expiry_date",
            Field::IssueDate => "issue_date",
            Field::OptionalData => "optional_data",
            Field::Composite => "composite",
            Field::IssuingState => "issuing_state",
            Field::Nationality => "nationality",
            Field::Names => "names",
            Field::Sex => "sex",
        }
    }
}

/// The layouts this crate reads. Several share a public [`Format`] (all driving licences are
/// `Format::Dl`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Layout {
    Td1,
    Td2,
    Td3,
    MrvA,
    MrvB,
    FrId,
    /// EU one-line driving licence from a state whose layout we do not know.
    DlEu,
    /// EU one-line driving licence issued by France (`D1FRA`).
    DlFr,
    /// Swiss credit-card driving licence.
    DlCh,
}

/// What a position may hold. OCR confusions are resolved towards the class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CharClass {
    Digit,
    Letter,
    /// Letters or the filler: names, state codes, document codes.
    LetterFiller,
    /// Anything in the MRZ alphabet: document numbers, optional data.
    AlnumFiller,
    /// A check digit that may be `<` (document number overflow, empty personal number).
    DigitFiller,
    /// `M`, `F`, `X` or `<`.
    Sex,
    Filler,
    /// One fixed character, the layout's own (the French card's `IDFRA`): the layout was
    /// recognised by it, so no check digit may turn it into anything else.
    Exact(u8),
}

impl CharClass {
    pub(crate) fn admits(self, c: u8) -> bool {
        match self {
            CharClass::Digit => c.is_ascii_digit(),
            CharClass::Letter => c.is_ascii_uppercase(),
            CharClass::LetterFiller => c.is_ascii_uppercase() || c == b'<',
            CharClass::AlnumFiller => is_mrz_byte(c),
            CharClass::DigitFiller => c.is_ascii_digit() || c == b'<',
            CharClass::Sex => matches!(c, b'M' | b'F' | b'X' | b'<'),
            CharClass::Filler => c == b'<',
            CharClass::Exact(e) => c == e,
        }
    }
}

/// Whether `c` is in the MRZ alphabet (ICAO 9303 part 3: `A`-`Z`, `0`-`9`, `<`).
pub(crate) fn is_mrz_byte(c: u8) -> bool {
    c.is_ascii_uppercase() || c.is_ascii_digit() || c == b'<'
}

/// A position: (line, column), zero-based.
pub(crate) type Pos = (usize, usize);

/// Columns `start..end` of one line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Range {
    pub line: usize,
    pub start: usize,
    pub end: usize,
}

const fn r(line: usize, start: usize, end: usize) -> Range {
    Range { line, start, end }
}

/// Columns `start..end` of `line` hold characters of `class`.
pub(crate) struct Span {
    range: Range,
    class: CharClass,
}

const fn s(line: usize, start: usize, end: usize, class: CharClass) -> Span {
    Span { range: r(line, start, end), class }
}

/// A check digit at `digit` over the characters of `over`, in order.
pub(crate) struct CheckSpec {
    pub field: Field,
    pub digit: Pos,
    pub over: &'static [Range],
    /// Where a document number longer than its field continues (TD1, TD2: ICAO 9303 part 5
    /// 4.2.2 note j, part 6 4.2.2.1 note j): the check digit position then holds `<`, the
    /// number goes on at the start of this range and ends with its check digit, then a filler.
    pub overflow: Option<Range>,
    /// The digit may be `<` when everything it covers is `<` (TD3 personal number).
    pub filler_ok: bool,
}

const fn ck(field: Field, digit: Pos, over: &'static [Range]) -> CheckSpec {
    CheckSpec { field, digit, over, overflow: None, filler_ok: false }
}

/// How a layout writes the holder's names.
pub(crate) enum NameFields {
    /// ICAO 9303: `SURNAME<<GIVEN<NAMES` in one field.
    Icao(Range),
    /// Separate surname and given-name fields (French formats).
    Split { surname: Range, given: Option<Range> },
    /// The layout carries no names we know how to read.
    None,
}

impl NameFields {
    /// The ranges that hold names.
    pub(crate) fn ranges(&self) -> Vec<Range> {
        match *self {
            NameFields::Icao(range) => vec![range],
            NameFields::Split { surname, given } => [Some(surname), given].into_iter().flatten().collect(),
            NameFields::None => Vec::new(),
        }
    }
}

/// Where each field sits.
pub(crate) struct FieldMap {
    pub code: Range,
    pub state: Range,
    pub number: Option<Range>,
    pub nationality: Option<Range>,
    pub birth: Option<Range>,
    pub sex: Option<Pos>,
    pub expiry: Option<Range>,
    /// Issue month `YYMM` (French identity card), from which the expiry is derived.
    pub issue: Option<Range>,
    pub names: NameFields,
    pub optional: &'static [Range],
}

use CharClass::{AlnumFiller, Digit, DigitFiller, Exact, Filler, Letter, LetterFiller, Sex};

// The document code's second character is the issuer's choice (ICAO 9303 part 5, 4.2.2 note
// a). Issuers use letters and the filler, but the United States' older resident cards print
// `C1`: a digit read there stays a digit, and only the recogniser tells `1` from `I`.
const TD1_SPANS: &[Span] = &[
    s(0, 0, 1, Letter),
    s(0, 1, 2, AlnumFiller),
    s(0, 2, 5, LetterFiller),
    s(0, 5, 14, AlnumFiller),
    s(0, 14, 15, DigitFiller),
    s(0, 15, 30, AlnumFiller),
    s(1, 0, 7, Digit),
    s(1, 7, 8, Sex),
    s(1, 8, 15, Digit),
    s(1, 15, 18, LetterFiller),
    s(1, 18, 29, AlnumFiller),
    s(1, 29, 30, Digit),
    s(2, 0, 30, LetterFiller),
];

const TD1_CHECKS: &[CheckSpec] = &[
    CheckSpec { overflow: Some(r(0, 15, 30)), ..ck(Field::DocumentNumber, (0, 14), &[r(0, 5, 14)]) },
    ck(Field::BirthDate, (1, 6), &[r(1, 0, 6)]),
    ck(Field::ExpiryDate, (1, 14), &[r(1, 8, 14)]),
    ck(Field::Composite, (1, 29), &[r(0, 5, 30), r(1, 0, 7), r(1, 8, 15), r(1, 18, 29)]),
];

const TD1_FIELDS: FieldMap = FieldMap {
    code: r(0, 0, 2),
    state: r(0, 2, 5),
    number: Some(r(0, 5, 14)),
    nationality: Some(r(1, 15, 18)),
    birth: Some(r(1, 0, 6)),
    sex: Some((1, 7)),
    expiry: Some(r(1, 8, 14)),
    issue: None,
    names: NameFields::Icao(r(2, 0, 30)),
    optional: &[r(0, 15, 30), r(1, 18, 29)],
};

/// Line 2 of TD2, MRV-B, TD3 and MRV-A share their first 28 columns.
macro_rules! second_line_spans {
    ($number_check:expr, $($tail:expr),* $(,)?) => {
        &[
            s(0, 0, 1, Letter),
            s(0, 1, 2, AlnumFiller),
            s(0, 2, 5, LetterFiller),
            s(0, 5, 44, LetterFiller),
            s(1, 0, 9, AlnumFiller),
            s(1, 9, 10, $number_check),
            s(1, 10, 13, LetterFiller),
            s(1, 13, 20, Digit),
            s(1, 20, 21, Sex),
            s(1, 21, 28, Digit),
            $($tail),*
        ]
    };
}

const TD2_SPANS: &[Span] = second_line_spans!(DigitFiller, s(1, 28, 35, AlnumFiller), s(1, 35, 36, Digit));
const TD3_SPANS: &[Span] =
    second_line_spans!(Digit, s(1, 28, 42, AlnumFiller), s(1, 42, 43, DigitFiller), s(1, 43, 44, Digit),);
const MRV_SPANS: &[Span] = second_line_spans!(Digit, s(1, 28, 44, AlnumFiller));

const NUMBER_CHECK: CheckSpec = ck(Field::DocumentNumber, (1, 9), &[r(1, 0, 9)]);
const BIRTH_CHECK: CheckSpec = ck(Field::BirthDate, (1, 19), &[r(1, 13, 19)]);
const EXPIRY_CHECK: CheckSpec = ck(Field::ExpiryDate, (1, 27), &[r(1, 21, 27)]);

const TD2_CHECKS: &[CheckSpec] = &[
    CheckSpec { overflow: Some(r(1, 28, 35)), ..NUMBER_CHECK },
    BIRTH_CHECK,
    EXPIRY_CHECK,
    ck(Field::Composite, (1, 35), &[r(1, 0, 10), r(1, 13, 20), r(1, 21, 35)]),
];

const TD3_CHECKS: &[CheckSpec] = &[
    NUMBER_CHECK,
    BIRTH_CHECK,
    EXPIRY_CHECK,
    CheckSpec { filler_ok: true, ..ck(Field::OptionalData, (1, 42), &[r(1, 28, 42)]) },
    ck(Field::Composite, (1, 43), &[r(1, 0, 10), r(1, 13, 20), r(1, 21, 43)]),
];

const MRV_CHECKS: &[CheckSpec] = &[NUMBER_CHECK, BIRTH_CHECK, EXPIRY_CHECK];

const fn two_line_fields(line_len: usize, optional: &'static [Range]) -> FieldMap {
    FieldMap {
        code: r(0, 0, 2),
        state: r(0, 2, 5),
        number: Some(r(1, 0, 9)),
        nationality: Some(r(1, 10, 13)),
        birth: Some(r(1, 13, 19)),
        sex: Some((1, 20)),
        expiry: Some(r(1, 21, 27)),
        issue: None,
        names: NameFields::Icao(r(0, 5, line_len)),
        optional,
    }
}

const TD2_FIELDS: FieldMap = two_line_fields(36, &[r(1, 28, 35)]);
const TD3_FIELDS: FieldMap = two_line_fields(44, &[r(1, 28, 42)]);
const MRVA_FIELDS: FieldMap = two_line_fields(44, &[r(1, 28, 44)]);
const MRVB_FIELDS: FieldMap = two_line_fields(36, &[r(1, 28, 36)]);

// French identity card, 1988-2021. Line 1: `IDFRA`, surname (25), administrative code (6).
// Line 2: issue YYMM (4), issuing office (3), sequence (5), check digit over those 12 (the card
// number), given names (14), birth YYMMDD and check, sex, and a final check digit over line 1
// and the first 35 characters of line 2.
const FR_ID_SPANS: &[Span] = &[
    s(0, 0, 1, Exact(b'I')),
    s(0, 1, 2, Exact(b'D')),
    s(0, 2, 3, Exact(b'F')),
    s(0, 3, 4, Exact(b'R')),
    s(0, 4, 5, Exact(b'A')),
    s(0, 5, 30, LetterFiller),
    s(0, 30, 36, AlnumFiller),
    s(1, 0, 4, Digit),
    s(1, 4, 7, AlnumFiller),
    s(1, 7, 13, Digit),
    s(1, 13, 27, LetterFiller),
    s(1, 27, 34, Digit),
    s(1, 34, 35, Sex),
    s(1, 35, 36, Digit),
];

const FR_ID_CHECKS: &[CheckSpec] = &[
    ck(Field::DocumentNumber, (1, 12), &[r(1, 0, 12)]),
    ck(Field::BirthDate, (1, 33), &[r(1, 27, 33)]),
    ck(Field::Composite, (1, 35), &[r(0, 0, 36), r(1, 0, 35)]),
];

const FR_ID_FIELDS: FieldMap = FieldMap {
    code: r(0, 0, 2),
    state: r(0, 2, 5),
    number: Some(r(1, 0, 12)),
    nationality: None,
    birth: Some(r(1, 27, 33)),
    sex: Some((1, 34)),
    expiry: None,
    issue: Some(r(1, 0, 4)),
    names: NameFields::Split { surname: r(0, 5, 30), given: Some(r(1, 13, 27)) },
    optional: &[r(0, 30, 36)],
};

// EU driving licence, one line of 30 (ISO/IEC 18013): `D`, a BAP configuration digit or `<`,
// the issuing state, then data whose layout each state chooses. Only France's is known here.
const DL_EU_SPANS: &[Span] =
    &[s(0, 0, 1, Letter), s(0, 1, 2, DigitFiller), s(0, 2, 5, LetterFiller), s(0, 5, 30, AlnumFiller)];

const DL_EU_FIELDS: FieldMap = FieldMap {
    code: r(0, 0, 2),
    state: r(0, 2, 5),
    number: None,
    nationality: None,
    birth: None,
    sex: None,
    expiry: None,
    issue: None,
    names: NameFields::None,
    optional: &[],
};

// French licence: `D1FRA`, number (9), check digit over columns 0-13, expiry YYMMDD, surname
// (8), check digit over columns 0-28.
const DL_FR_SPANS: &[Span] = &[
    s(0, 0, 1, Letter),
    s(0, 1, 2, DigitFiller),
    s(0, 2, 5, Letter),
    s(0, 5, 14, AlnumFiller),
    s(0, 14, 21, Digit),
    s(0, 21, 29, LetterFiller),
    s(0, 29, 30, Digit),
];

const DL_FR_CHECKS: &[CheckSpec] =
    &[ck(Field::DocumentNumber, (0, 14), &[r(0, 0, 14)]), ck(Field::Composite, (0, 29), &[r(0, 0, 29)])];

const DL_FR_FIELDS: FieldMap = FieldMap {
    number: Some(r(0, 5, 14)),
    expiry: Some(r(0, 15, 21)),
    names: NameFields::Split { surname: r(0, 21, 29), given: None },
    ..DL_EU_FIELDS
};

// Swiss driving licence: line 1 the licence number (e.g. `AAA001D<<`), line 2 `FA`, `CHE`, a
// 9-digit number, a 3-digit version, `<<`, birth YYMMDD, `<<<<<`; line 3 the names as in ICAO.
// It has no check digits.
const DL_CH_SPANS: &[Span] = &[
    s(0, 0, 9, AlnumFiller),
    s(1, 0, 5, Letter),
    s(1, 5, 17, Digit),
    s(1, 17, 19, Filler),
    s(1, 19, 25, Digit),
    s(1, 25, 30, Filler),
    s(2, 0, 30, LetterFiller),
];

const DL_CH_FIELDS: FieldMap = FieldMap {
    code: r(1, 0, 2),
    state: r(1, 2, 5),
    number: Some(r(0, 0, 9)),
    nationality: None,
    birth: Some(r(1, 19, 25)),
    sex: None,
    expiry: None,
    issue: None,
    names: NameFields::Icao(r(2, 0, 30)),
    optional: &[],
};

impl Layout {
    pub(crate) fn format(self) -> Format {
        match self {
            Layout::Td1 => Format::Td1,
            Layout::Td2 => Format::Td2,
            Layout::Td3 => Format::Td3,
            Layout::MrvA => Format::MrvA,
            Layout::MrvB => Format::MrvB,
            Layout::FrId => Format::FrId,
            Layout::DlEu | Layout::DlFr | Layout::DlCh => Format::Dl,
        }
    }

    fn spans(self) -> &'static [Span] {
        match self {
            Layout::Td1 => TD1_SPANS,
            Layout::Td2 => TD2_SPANS,
            Layout::Td3 => TD3_SPANS,
            Layout::MrvA | Layout::MrvB => MRV_SPANS,
            Layout::FrId => FR_ID_SPANS,
            Layout::DlEu => DL_EU_SPANS,
            Layout::DlFr => DL_FR_SPANS,
            Layout::DlCh => DL_CH_SPANS,
        }
    }

    pub(crate) fn checks(self) -> &'static [CheckSpec] {
        match self {
            Layout::Td1 => TD1_CHECKS,
            Layout::Td2 => TD2_CHECKS,
            Layout::Td3 => TD3_CHECKS,
            Layout::MrvA | Layout::MrvB => MRV_CHECKS,
            Layout::FrId => FR_ID_CHECKS,
            Layout::DlFr => DL_FR_CHECKS,
            Layout::DlEu | Layout::DlCh => &[],
        }
    }

    pub(crate) fn fields(self) -> &'static FieldMap {
        match self {
            Layout::Td1 => &TD1_FIELDS,
            Layout::Td2 => &TD2_FIELDS,
            Layout::Td3 => &TD3_FIELDS,
            Layout::MrvA => &MRVA_FIELDS,
            Layout::MrvB => &MRVB_FIELDS,
            Layout::FrId => &FR_ID_FIELDS,
            Layout::DlEu => &DL_EU_FIELDS,
            Layout::DlFr => &DL_FR_FIELDS,
            Layout::DlCh => &DL_CH_FIELDS,
        }
    }

    /// The class of the character at `pos`. Positions outside every span (none, in the tables
    /// above) admit the whole alphabet.
    pub(crate) fn class_at(self, (line, col): Pos) -> CharClass {
        self.spans()
            .iter()
            .find(|sp| sp.range.line == line && (sp.range.start..sp.range.end).contains(&col))
            .map_or(AlnumFiller, |sp| sp.class)
    }

    /// The field whose absence from a reading means the expiry is unknown, if the layout gives
    /// an expiry at all (the Swiss and unknown EU driving licences do not).
    pub(crate) fn expiry_source(self) -> Option<Field> {
        let fields = self.fields();
        if fields.expiry.is_some() {
            Some(Field::ExpiryDate)
        } else if fields.issue.is_some() {
            Some(Field::IssueDate)
        } else {
            None
        }
    }

    /// The layouts the lines may be in, most likely first: the French card's `IDFRA` prefix is
    /// also a TD2 identity card issued by France, so both are tried and the caller keeps the
    /// reading that fits (`read.rs`).
    /// The field a position belongs to: a check digit's own field, then the field map's
    /// ranges (optional data for the optional ranges); `None` for a position in none (the
    /// document code's).
    pub(crate) fn field_at(self, pos: Pos) -> Option<Field> {
        if let Some(spec) = self.checks().iter().find(|c| c.digit == pos) {
            return Some(spec.field);
        }
        let f = self.fields();
        let inside = |r: Range| r.line == pos.0 && (r.start..r.end).contains(&pos.1);
        let dated = [(f.birth, Field::BirthDate), (f.expiry, Field::ExpiryDate), (f.issue, Field::IssueDate)];
        if f.number.is_some_and(inside) {
            Some(Field::DocumentNumber)
        } else if inside(f.state) {
            Some(Field::IssuingState)
        } else if f.nationality.is_some_and(inside) {
            Some(Field::Nationality)
        } else if let Some(&(_, field)) = dated.iter().find(|(r, _)| r.is_some_and(inside)) {
            Some(field)
        } else if f.sex == Some(pos) {
            Some(Field::Sex)
        } else if f.names.ranges().into_iter().any(inside) {
            Some(Field::Names)
        } else if f.optional.iter().any(|&r| inside(r)) {
            Some(Field::OptionalData)
        } else {
            None
        }
    }

    pub(crate) fn candidates(lines: &[Vec<u8>]) -> Vec<Layout> {
        match Layout::detect(lines) {
            Some(Layout::FrId) => vec![Layout::FrId, Layout::Td2],
            Some(layout) => vec![layout],
            None => Vec::new(),
        }
    }

    /// Recognises a layout from the best reading of each line. Letters confusable with digits
    /// are compared as letters, so `1DFRA` still reads as the French card.
    pub(crate) fn detect(lines: &[Vec<u8>]) -> Option<Layout> {
        let lengths: Vec<usize> = lines.iter().map(Vec::len).collect();
        let first = lines.first()?;
        let letter = |i: usize| first.get(i).map(|&c| as_letter(c));
        let starts_with = |prefix: &[u8]| (0..prefix.len()).all(|i| letter(i) == Some(prefix[i]));
        let card = matches!(letter(0), Some(b'A' | b'C' | b'I'));
        match lengths.as_slice() {
            [30] if letter(0) == Some(b'D') && matches!(first[1], b'1' | b'<' | b'I' | b'K') => {
                if (2..5).all(|i| letter(i) == Some(b"FRA"[i - 2])) { Some(Layout::DlFr) } else { Some(Layout::DlEu) }
            }
            // ICAO 9303 document codes: identity documents (TD1, TD2) start A, C or I, passports
            // (TD3) P and visas V (parts 4 to 7). A zone whose code contradicts its size is not
            // one of these formats (most often a misread line length).
            [30, 30, 30] if card => Some(Layout::Td1),
            [9, 30, 30] => Some(Layout::DlCh),
            [36, 36] if starts_with(b"IDFRA") => Some(Layout::FrId),
            [36, 36] if letter(0) == Some(b'V') => Some(Layout::MrvB),
            [36, 36] if card => Some(Layout::Td2),
            [44, 44] if letter(0) == Some(b'V') => Some(Layout::MrvA),
            [44, 44] if letter(0) == Some(b'P') => Some(Layout::Td3),
            _ => None,
        }
    }
}

/// The letter an OCR most likely meant by `c` (`0` -> `O`, ...), or `c` itself.
pub(crate) fn as_letter(c: u8) -> u8 {
    match c {
        b'0' => b'O',
        b'1' => b'I',
        b'2' => b'Z',
        b'5' => b'S',
        b'8' => b'B',
        b'6' => b'G',
        _ => c,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(lines: &[&str], expect: Option<Layout>) {
        let lines: Vec<Vec<u8>> = lines.iter().map(|l| l.as_bytes().to_vec()).collect();
        assert_eq!(Layout::detect(&lines), expect, "{lines:?}");
    }

    #[test]
    fn detects_each_layout() {
        let l30 = "I".repeat(30);
        let l36 = "I".repeat(36);
        let l44 = "P".repeat(44);
        let v36 = format!("V{}", "<".repeat(35));
        let v44 = format!("V{}", "<".repeat(43));
        let fr = format!("1DFRA{}", "<".repeat(31));
        check(&[&l30, &l30, &l30], Some(Layout::Td1));
        check(&["AAA001D<<", &l30, &l30], Some(Layout::DlCh));
        check(&[&l36, &l36], Some(Layout::Td2));
        check(&[&v36, &l36], Some(Layout::MrvB));
        check(&[&fr, &l36], Some(Layout::FrId));
        check(&[&l44, &l44], Some(Layout::Td3));
        check(&[&v44, &l44], Some(Layout::MrvA));
        check(&["D1FRA13AA000026181231MARTIN<<9"], Some(Layout::DlFr));
        check(&["D<NLD1234567890123456789012345"], Some(Layout::DlEu));
        check(&["X1NLD1234567890123456789012345"], None);
        check(&[&l30], None);
        check(&[&l30, &l30], None);
        check(&[&l44, &l36], None);
        check(&[&l44.replace('P', "I"), &l44], None);
        check(&[&l36.replace('I', "P"), &l36], None);
        check(&[&l30.replace('I', "P"), &l30, &l30], None);
        check(&[&format!("C{}", &l30[1..]), &l30, &l30], Some(Layout::Td1));
        check(&[&format!("A{}", &l36[1..]), &l36], Some(Layout::Td2));
        check(&[], None);
    }

    #[test]
    fn every_position_has_a_span_and_spans_fit_the_lines() {
        let layouts = [
            (Layout::Td1, vec![30, 30, 30]),
            (Layout::Td2, vec![36, 36]),
            (Layout::Td3, vec![44, 44]),
            (Layout::MrvA, vec![44, 44]),
            (Layout::MrvB, vec![36, 36]),
            (Layout::FrId, vec![36, 36]),
            (Layout::DlEu, vec![30]),
            (Layout::DlFr, vec![30]),
            (Layout::DlCh, vec![9, 30, 30]),
        ];
        for (layout, lengths) in layouts {
            for (line, &len) in lengths.iter().enumerate() {
                for col in 0..len {
                    let covering = layout
                        .spans()
                        .iter()
                        .filter(|sp| sp.range.line == line && (sp.range.start..sp.range.end).contains(&col))
                        .count();
                    // Exactly one span per position (the 44-wide name span serves 36-wide lines too).
                    assert_eq!(covering, 1, "{layout:?} line {line} column {col}");
                }
            }
            for check in layout.checks() {
                assert!(check.digit.1 < lengths[check.digit.0], "{layout:?} {:?}", check.field);
                for range in check.over {
                    assert!(range.end <= lengths[range.line], "{layout:?} {:?}", check.field);
                }
            }
        }
    }
}
