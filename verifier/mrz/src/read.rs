//! The entry points: text (or scored OCR alternatives) in, a typed [`MrzRead`] out.
//!
//! Owns input validation, the order of the stages (detect layout, restrict to classes, pad
//! names, repair check digits, read fields, judge each field's validity) and the field readers
//! (names, dates, sex, document number with overflow). Tables live in `layout.rs`, correction
//! in `correct.rs`, kinds in `kind.rs`. The acceptance policy (`policy.rs`) consumes an
//! [`MrzRead`]; parsing never applies it.

use crate::correct::{self, Correction, Grid, RawCell, Resolved};
use crate::countries;
use crate::date::{self, Date};
use crate::error::ParseError;
use crate::expiry::{self, Expiry, ExpiryBasis};
use crate::kind::DocumentKind;
use crate::layout::{Field, Format, Layout, NameFields, Range, is_mrz_byte};
use crate::sensitive::Sensitive;

/// The holder's sex as the MRZ gives it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Sex {
    /// `M`.
    Male,
    /// `F`.
    Female,
    /// `X`, or `<` (unspecified).
    Unspecified,
}

impl Sex {
    /// `M`, `F` or `X`.
    pub fn as_str(&self) -> &'static str {
        match self {
            Sex::Male => "M",
            Sex::Female => "F",
            Sex::Unspecified => "X",
        }
    }
}

/// One check digit and whether it matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Check {
    /// The field it protects.
    pub field: Field,
    /// Whether the digit matched.
    pub passed: bool,
    /// For a TD1 or TD2 document number longer than 9 characters (its check position holds
    /// `<`): the rule the check digit passed under, or `None` when it failed under both or the
    /// number did not overflow.
    pub overflow: Option<OverflowRule>,
}

/// How an issuing state computes the check digit of a document number that overflowed into
/// the optional data (ICAO 9303 part 5, 4.2.2 note j): over the number's characters only, as
/// ICAO's example does, or over them with the `<` left in the check position, as some states
/// do. Either is accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OverflowRule {
    /// Over the number's characters, the `<` in the usual check position skipped.
    WithoutFiller,
    /// Over the first nine characters, the `<`, then the continuation.
    WithFiller,
}

impl OverflowRule {
    /// `without_filler` or `with_filler`.
    pub fn as_str(&self) -> &'static str {
        match self {
            OverflowRule::WithoutFiller => "without_filler",
            OverflowRule::WithFiller => "with_filler",
        }
    }
}

/// A character outside the MRZ alphabet (a `?` from an OCR engine, a lower-case letter), at a
/// zero-based line and column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct InvalidCharacter {
    /// The line (counting non-blank lines).
    pub line: usize,
    /// The column, in characters.
    pub column: usize,
    /// The field the position belongs to, where it belongs to one.
    pub field: Option<Field>,
}

/// Everything read from one MRZ. Holder data is wrapped in [`Sensitive`]; text fields have
/// their fillers removed (single fillers inside names become spaces).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct MrzRead {
    /// The format recognised.
    pub format: Format,
    /// The kind of document, from the format and the document code.
    pub kind: DocumentKind,
    /// The document code, e.g. `P`, `ID`, `I`, `V`, `D1`, `FA`.
    pub document_code: String,
    /// The issuing state or organisation (ICAO 9303 part 3 codes, e.g. `FRA`, `D`, `UTO`).
    pub issuing_state: String,
    /// The document number, including any part that overflowed into the optional data (TD1,
    /// TD2). For the French card issued before 2021, the 12-character card number. Empty for an
    /// EU driving licence whose state's layout is unknown.
    pub document_number: Sensitive<String>,
    /// The surname (primary identifier).
    pub surname: Sensitive<String>,
    /// The given names (secondary identifier), separated by spaces.
    pub given_names: Sensitive<String>,
    /// The holder's nationality, where the MRZ gives it; `FRA` for the French card issued
    /// before 2021, which is issued to French nationals only.
    pub nationality: Option<String>,
    /// The birth date, resolved to the latest century not after today; `None` if the format
    /// has none or it is not a calendar date (including ICAO's `<<` for unknown parts).
    pub birth_date: Option<Sensitive<Date>>,
    /// The expiry and how it was obtained; `None` if the format has none or it is not a date.
    pub expiry: Option<Expiry>,
    /// The issue month, read as its 1st day (French card issued before 2021 only).
    pub issue_date: Option<Date>,
    /// The holder's sex; `None` if the format has none or the character is not `M`/`F`/`X`/`<`.
    pub sex: Option<Sex>,
    /// One entry per optional-data field of the format (after any document-number overflow),
    /// trailing fillers removed, possibly empty.
    pub optional_data: Sensitive<Vec<String>>,
    /// Every check digit of the format, in the format's order.
    pub checks: Vec<Check>,
    /// A name field is completely filled with no trailing filler, so the name may have been cut.
    pub names_truncated: bool,
    /// Characters the reader changed, in reading order.
    pub corrections: Vec<Correction>,
    /// Every check digit passed and every character is in the MRZ alphabet.
    pub valid: bool,
    /// Characters outside the MRZ alphabet, in reading order. The format is still recognised
    /// from the lines' lengths; the read is not valid.
    pub invalid_characters: Vec<InvalidCharacter>,
    /// Fields whose characters cannot form a real value, in a stable order: a document number
    /// or name with a gap, a sex that is none, a state or nationality that is no known code, a
    /// date that is not a calendar date. A read with one is never trustworthy, whatever policy
    /// is then applied.
    pub invalid_fields: Vec<Field>,
    /// Doubtful positions: unchecked ones (names, codes, sex) where the reader's second choice
    /// came close to its first, checks that a second reading passed nearly as cheaply, and
    /// corrections against a fairly sure first choice (see [`parse_alternatives`]). A read with
    /// doubtful positions needs another frame before anyone relies on it.
    pub doubtful: usize,
    pub(crate) layout: Layout,
}

impl MrzRead {
    /// Whether two reads give the same document: format, code, state, number, names,
    /// nationality, dates, sex and optional data (not checks, corrections or policy).
    pub fn same_document(&self, other: &MrzRead) -> bool {
        self.format == other.format
            && self.document_code == other.document_code
            && self.issuing_state == other.issuing_state
            && self.document_number.expose() == other.document_number.expose()
            && self.surname.expose() == other.surname.expose()
            && self.given_names.expose() == other.given_names.expose()
            && self.nationality == other.nationality
            && self.birth_date.as_ref().map(|d| *d.expose()) == other.birth_date.as_ref().map(|d| *d.expose())
            && self.expiry.map(|e| e.date) == other.expiry.map(|e| e.date)
            && self.sex == other.sex
            && self.optional_data.expose() == other.optional_data.expose()
    }

    /// Whether the read can be relied on without another frame: every check digit passed, every
    /// character is in the alphabet, no field is invalid, and no unchecked position is doubtful.
    /// Whether the document is then accepted is [`crate::AcceptancePolicy::evaluate`]'s question.
    pub fn is_trustworthy(&self) -> bool {
        self.valid && self.doubtful == 0 && self.invalid_fields.is_empty()
    }
}

/// Reads an MRZ from its text lines, recognising the format from the number and lengths of the
/// lines, correcting characters by field (an `O` where a digit belongs is `0`) and letting check
/// digits choose where several readings fit. `today` resolves two-digit years.
///
/// Each line is trimmed of surrounding whitespace, and blank lines are skipped; positions count
/// the remaining lines. A character outside `A`-`Z`, `0`-`9`, `<` (lower case included) is an
/// invalid character at its position ([`MrzRead::invalid_characters`]): the format is still
/// recognised and the read is not valid. Only line counts and lengths that match no format are
/// errors. Everything else, including failed check digits, is reported in the [`MrzRead`];
/// whether the document is accepted is [`crate::AcceptancePolicy::evaluate`]'s question.
pub fn parse<S: AsRef<str>>(lines: &[S], today: Date) -> Result<MrzRead, ParseError> {
    let lines: Vec<&str> = lines.iter().map(|l| l.as_ref().trim()).filter(|l| !l.is_empty()).collect();
    let mut invalid = Vec::new();
    let mut raw: Vec<Vec<RawCell>> = Vec::with_capacity(lines.len());
    for (line, text) in lines.iter().enumerate() {
        let mut cells = Vec::new();
        for (column, c) in text.chars().enumerate() {
            if c.is_ascii() && is_mrz_byte(c as u8) {
                cells.push(RawCell::exact(c as u8));
            } else {
                invalid.push((line, column));
                cells.push(RawCell::exact(stand_in(c)));
            }
        }
        raw.push(cells);
    }
    // Text has no scores: a confusion partner costs exactly one unit, and a margin of one unit
    // keeps it out of doubt, so a read of clean text is trustworthy when its checks pass.
    read_raw(raw, &invalid, today, correct::UNIT)
}

/// Reads an MRZ from an OCR's scored alternatives: for each line, for each position, the
/// candidate characters with scores (higher is more likely, e.g. the top-k probabilities).
///
/// The best reading is the cheapest that fits every position's class and passes the check
/// digits, where cost is the score given up against each position's best candidate; when two
/// readings tie, the first-choice characters are kept and the check reported as failed.
/// Candidates outside the MRZ alphabet are ignored; a position with none left is an invalid
/// character (see [`parse`]). Lines with no positions are skipped. Corrections compare with
/// each position's best-scored character.
///
/// `doubt_margin` (in score units, for log-probabilities nats) is how close a rival must score
/// to the chosen character to make a position no check digit covers doubtful, and with it the
/// read not trustworthy; it is also the least a correction must beat the next reading by. The
/// service sets it from configuration (`mrz.reader.recognition.doubt_margin` for one frame's
/// scores, `mrz.consensus.doubt_margin` for scores summed over frames).
pub fn parse_alternatives<L: AsRef<[Vec<(u8, f32)>]>>(
    lines: &[L],
    today: Date,
    doubt_margin: f32,
) -> Result<MrzRead, ParseError> {
    let lines: Vec<&[Vec<(u8, f32)>]> = lines.iter().map(AsRef::as_ref).filter(|l| !l.is_empty()).collect();
    let mut invalid = Vec::new();
    let mut raw: Vec<Vec<RawCell>> = Vec::with_capacity(lines.len());
    for (line, positions) in lines.iter().enumerate() {
        let mut cells = Vec::with_capacity(positions.len());
        for (column, scored) in positions.iter().enumerate() {
            match RawCell::from_scores(scored) {
                Some(cell) => cells.push(cell),
                None => {
                    let best = scored.iter().copied().reduce(|best, next| if next.1 > best.1 { next } else { best });
                    invalid.push((line, column));
                    cells.push(RawCell::exact(best.map_or(b'?', |(c, _)| stand_in(char::from(c)))));
                }
            }
        }
        raw.push(cells);
    }
    let margin = (f64::from(doubt_margin.max(0.0)) * correct::UNIT as f64).min(u64::MAX as f64 / 4.0) as u64;
    read_raw(raw, &invalid, today, margin)
}

/// What an invalid character becomes in the reading: a lower-case ASCII letter stays itself
/// (so the layout is still recognised by its upper-case form), anything else is `?`. Neither
/// is in the MRZ alphabet, so no check over it passes and no class admits it.
fn stand_in(c: char) -> u8 {
    if c.is_ascii_lowercase() { c as u8 } else { b'?' }
}

/// Detects the layout (lower-case letters compared as upper case) and reads `raw` in it.
fn read_raw(
    raw: Vec<Vec<RawCell>>,
    invalid: &[(usize, usize)],
    today: Date,
    margin: u64,
) -> Result<MrzRead, ParseError> {
    let tops: Vec<Vec<u8>> = raw.iter().map(|l| l.iter().map(|c| c.top.to_ascii_uppercase()).collect()).collect();
    let layouts = detect(&tops)?;
    let mut read = read_best(&layouts, raw, today, margin);
    read.invalid_characters = invalid
        .iter()
        .map(|&(line, column)| InvalidCharacter { line, column, field: read.layout.field_at((line, column)) })
        .collect();
    read.valid &= read.invalid_characters.is_empty();
    for c in &read.invalid_characters {
        if let Some(field) = c.field
            && !read.invalid_fields.contains(&field)
        {
            read.invalid_fields.push(field);
        }
    }
    Ok(read)
}

/// The layouts the lines may be in, most likely first (never empty).
fn detect(tops: &[Vec<u8>]) -> Result<Vec<Layout>, ParseError> {
    let layouts = Layout::candidates(tops);
    if layouts.is_empty() {
        return Err(ParseError::UnknownLayout { lengths: tops.iter().map(Vec::len).collect() });
    }
    Ok(layouts)
}

/// Reads the lines in each candidate layout and keeps the reading that fits best: all checks
/// passing, then the fewest checks failing, then the fewest corrections; the likelier layout on
/// a tie.
fn read_best(layouts: &[Layout], raw: Vec<Vec<RawCell>>, today: Date, margin: u64) -> MrzRead {
    // Failed checks, not passed ones: layouts have different numbers of checks.
    let fit = |r: &MrzRead| {
        (
            r.valid,
            std::cmp::Reverse(r.checks.iter().filter(|c| !c.passed).count()),
            std::cmp::Reverse(r.corrections.len()),
        )
    };
    // Only the other candidates need a copy of the input; the last reading takes it.
    let (last, others) = layouts.split_last().expect("detect gives at least one layout");
    let mut reads: Vec<MrzRead> = others.iter().map(|&layout| read(layout, raw.clone(), today, margin)).collect();
    reads.push(read(*last, raw, today, margin));
    reads.into_iter().reduce(|best, next| if fit(&next) > fit(&best) { next } else { best }).expect("one read at least")
}

/// The stages after the layout is known. `raw` has the layout's line lengths; `margin` is the
/// doubt margin in cost units (`correct::UNIT` per score unit).
fn read(layout: Layout, raw: Vec<Vec<RawCell>>, today: Date, margin: u64) -> MrzRead {
    let grid = Grid::build(raw, layout);
    let mut reading = grid.first_reading();
    let fields = layout.fields();
    let mut padded = fields.names.ranges();
    padded.extend_from_slice(fields.optional);
    correct::pad_fillers(&mut reading, &padded);
    let codes: Vec<Range> = [Some(fields.state), fields.nationality].into_iter().flatten().collect();
    correct::known_codes(&grid, &mut reading, &codes);
    let (resolved, close_checks) = correct::repair(&grid, &mut reading, layout, margin);
    let corrections = grid.corrections(&reading);
    let doubtful =
        grid.doubtful(&reading, &resolved, margin) + close_checks + grid.costly_corrections(&reading, margin);
    let mut out = read_fields(layout, &reading, &resolved, today);
    out.corrections = corrections;
    out.doubtful = doubtful;
    out
}

/// Whether a name field holds letters after a run of three or more fillers: ICAO 9303 part 3
/// (4.6) separates surname from given names by two fillers and words by one, so such a run can
/// only be padding, and letters after it are a misread (glare washing out part of a name).
fn gapped_name(field: &str) -> bool {
    field
        .trim_start_matches('<')
        .split("<<<")
        .skip(1)
        .any(|rest| rest.trim_start_matches('<').bytes().any(|b| b != b'<'))
}

/// Whether a document number field has a filler with characters after it: numbers shorter than
/// their field are padded at the end, never in the middle.
fn gapped_number(field: &str) -> bool {
    field.trim_end_matches('<').contains('<')
}

/// The characters of `range` as text (the reading only holds MRZ bytes, all ASCII).
fn text(reading: &[Vec<u8>], range: Range) -> String {
    let bytes = reading.get(range.line).and_then(|l| l.get(range.start..range.end)).unwrap_or(&[]);
    String::from_utf8_lossy(bytes).into_owned()
}

fn trimmed(reading: &[Vec<u8>], range: Range) -> String {
    text(reading, range).trim_end_matches('<').to_string()
}

/// Filler-separated words joined by single spaces.
fn words(field: &str) -> String {
    field.split('<').filter(|w| !w.is_empty()).collect::<Vec<_>>().join(" ")
}

/// Whether a name field is full to its last position, so the name may have been cut.
fn full(field: &str) -> bool {
    !field.is_empty() && !field.ends_with('<')
}

fn read_fields(layout: Layout, reading: &[Vec<u8>], resolved: &[Resolved], today: Date) -> MrzRead {
    let fields = layout.fields();
    let overflow = resolved.iter().find(|r| r.field == Field::DocumentNumber).and_then(|r| r.overflow);

    let mut document_number = fields.number.map(|range| trimmed(reading, range)).unwrap_or_default();
    if let Some((range, continued)) = overflow {
        document_number.push_str(&text(reading, Range { end: range.start + continued, ..range }));
    }

    let optional_data = fields
        .optional
        .iter()
        .map(|&range| match overflow {
            // The continuation, its check digit and the filler after it are not optional data.
            Some((over, continued)) if over == range => {
                trimmed(reading, Range { start: (range.start + continued + 2).min(range.end), ..range })
            }
            _ => trimmed(reading, range),
        })
        .collect();

    let mut malformed = Vec::new();
    if fields.number.is_some_and(|range| gapped_number(&text(reading, range))) {
        malformed.push(Field::DocumentNumber);
    }
    if fields.names.ranges().iter().any(|&range| gapped_name(&text(reading, range))) {
        malformed.push(Field::Names);
    }

    let (surname, given_names, names_truncated) = match fields.names {
        NameFields::Icao(range) => {
            let field = text(reading, range);
            let (surname, given) = field.split_once("<<").unwrap_or((&field, ""));
            (words(surname), words(given), full(&field))
        }
        NameFields::Split { surname, given } => {
            let surname = text(reading, surname);
            let given = given.map(|g| text(reading, g)).unwrap_or_default();
            (words(&surname), words(&given), full(&surname) || full(&given))
        }
        NameFields::None => (String::new(), String::new(), false),
    };

    let bytes = |range: Range| text(reading, range).into_bytes();
    let birth_date = fields.birth.and_then(|range| date::resolve_past(&bytes(range), today));
    let issue_date = fields.issue.and_then(|range| date::resolve_past(&bytes(range), today));
    let expiry = match (fields.expiry, issue_date) {
        (Some(range), _) => {
            date::resolve_near(&bytes(range), today).map(|date| Expiry { date, basis: ExpiryBasis::Printed })
        }
        (None, Some(issue)) => expiry::french_id_expiry(issue, birth_date),
        (None, None) => None,
    };

    let sex = fields.sex.and_then(|(line, col)| match reading.get(line).and_then(|l| l.get(col)) {
        Some(b'M') => Some(Sex::Male),
        Some(b'F') => Some(Sex::Female),
        Some(b'X' | b'<') => Some(Sex::Unspecified),
        _ => None,
    });

    // A sex position holding anything else (no candidate fitted its class) is a misread.
    if fields.sex.is_some() && sex.is_none() {
        malformed.push(Field::Sex);
    }

    let nationality = match (fields.nationality, layout) {
        (Some(range), _) => Some(trimmed(reading, range)),
        (None, Layout::FrId) => Some("FRA".to_string()),
        (None, _) => None,
    };

    if !countries::is_known_trimmed(&trimmed(reading, fields.state)) {
        malformed.push(Field::IssuingState);
    }
    if nationality.as_deref().is_some_and(|n| !countries::is_known_trimmed(n)) {
        malformed.push(Field::Nationality);
    }
    if fields.birth.is_some() && birth_date.is_none() {
        malformed.push(Field::BirthDate);
    }
    if let (None, Some(field)) = (&expiry, layout.expiry_source()) {
        malformed.push(field);
    }

    let checks: Vec<Check> = resolved
        .iter()
        .map(|r| {
            let overflow = correct::passing_rule(reading, r);
            Check { field: r.field, passed: correct::passes(reading, r), overflow }
        })
        .collect();
    let document_code = trimmed(reading, fields.code);
    let format = layout.format();

    MrzRead {
        format,
        kind: DocumentKind::classify(format, &document_code),
        document_code,
        issuing_state: trimmed(reading, fields.state),
        document_number: Sensitive::new(document_number),
        surname: Sensitive::new(surname),
        given_names: Sensitive::new(given_names),
        nationality,
        birth_date: birth_date.map(Sensitive::new),
        expiry,
        issue_date,
        sex,
        optional_data: Sensitive::new(optional_data),
        valid: checks.iter().all(|c| c.passed),
        checks,
        names_truncated,
        corrections: Vec::new(),
        doubtful: 0,
        invalid_characters: Vec::new(),
        invalid_fields: malformed,
        layout,
    }
}

#[cfg(test)]
mod tests;
