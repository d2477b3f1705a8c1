//! Document content: layouts, document numbers, dates of issue and expiry, and the MRZ lines of
//! every format this generator writes, with deliberate faults (wrong check digits, expiry,
//! truncated names, long document numbers).
//!
//! Owns the field positions of ICAO 9303 parts 4 to 7 (TD1, TD2, TD3, MRV-A, MRV-B), the pre-2021
//! French identity card's 2x36 zone, the EU driving licence's one-line zone (ISO/IEC 18013-1 as
//! France writes it) and the Swiss driving licence's three lines. Check digits come from the `mrz`
//! crate. Pixels belong to [`crate::render`].

use rand::seq::IndexedRandom;
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use crate::date::Date;
use crate::identity::{Country, Identity, mrz_name_field, pad, transliterate};

/// The MRZ format (line count and length, field positions).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MrzFormat {
    /// 3x30, ID-1 cards (ICAO 9303 part 5).
    Td1,
    /// 2x36 (part 6).
    Td2,
    /// 2x44, passports (part 4).
    Td3,
    /// 2x44 visa (part 7).
    MrvA,
    /// 2x36 visa (part 7).
    MrvB,
    /// 2x36, French identity card issued before 2021.
    FrenchIdLegacy,
    /// 1x30, EU driving licence (`D1FRA...`).
    EuDrivingLicence,
    /// 9 + 30 + 30, Swiss driving licence (no check digits).
    SwissDrivingLicence,
}

impl MrzFormat {
    /// Characters per line, line by line.
    pub fn line_lengths(self) -> &'static [usize] {
        match self {
            MrzFormat::Td1 => &[30, 30, 30],
            MrzFormat::Td2 | MrzFormat::MrvB | MrzFormat::FrenchIdLegacy => &[36, 36],
            MrzFormat::Td3 | MrzFormat::MrvA => &[44, 44],
            MrzFormat::EuDrivingLicence => &[30],
            MrzFormat::SwissDrivingLicence => &[9, 30, 30],
        }
    }
}

/// What the document is, which decides whether the service accepts it (DESIGN.md, section 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// National identity card (accepted).
    IdentityCard,
    /// Passport (accepted).
    Passport,
    /// Visa (refused).
    Visa,
    /// Residence permit (refused).
    ResidencePermit,
    /// Driving licence (refused).
    DrivingLicence,
}

/// A document design: physical size, where things sit, its MRZ format and kind.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// French identity card since 2021 (ID-1, TD1 on the back; the MRZ side is rendered).
    FrenchId2021,
    /// French identity card before 2021 (2x36 MRZ on the front, with the portrait).
    FrenchIdLegacy,
    /// Passport data page (TD3), any country.
    Passport,
    /// Another country's ID-1 identity card (TD1, MRZ side).
    IdCardTd1,
    /// Identity card in TD2 size.
    IdCardTd2,
    /// Visa sticker, MRV-A.
    VisaA,
    /// Visa sticker, MRV-B.
    VisaB,
    /// Residence permit card (TD1, document code `IR` or `AR`).
    ResidencePermit,
    /// EU driving licence (ID-1, one-line MRZ).
    EuDrivingLicence,
    /// Swiss driving licence (ID-1, three-line MRZ).
    SwissDrivingLicence,
}

impl Layout {
    /// Every layout, in a fixed order.
    pub const ALL: [Layout; 10] = [
        Layout::FrenchId2021,
        Layout::FrenchIdLegacy,
        Layout::Passport,
        Layout::IdCardTd1,
        Layout::IdCardTd2,
        Layout::VisaA,
        Layout::VisaB,
        Layout::ResidencePermit,
        Layout::EuDrivingLicence,
        Layout::SwissDrivingLicence,
    ];

    /// The MRZ format this layout carries.
    pub fn format(self) -> MrzFormat {
        match self {
            Layout::FrenchId2021 | Layout::IdCardTd1 | Layout::ResidencePermit => MrzFormat::Td1,
            Layout::FrenchIdLegacy => MrzFormat::FrenchIdLegacy,
            Layout::Passport => MrzFormat::Td3,
            Layout::IdCardTd2 => MrzFormat::Td2,
            Layout::VisaA => MrzFormat::MrvA,
            Layout::VisaB => MrzFormat::MrvB,
            Layout::EuDrivingLicence => MrzFormat::EuDrivingLicence,
            Layout::SwissDrivingLicence => MrzFormat::SwissDrivingLicence,
        }
    }

    /// What kind of document this layout is.
    pub fn kind(self) -> DocumentKind {
        match self {
            Layout::FrenchId2021 | Layout::FrenchIdLegacy | Layout::IdCardTd1 | Layout::IdCardTd2 => {
                DocumentKind::IdentityCard
            }
            Layout::Passport => DocumentKind::Passport,
            Layout::VisaA | Layout::VisaB => DocumentKind::Visa,
            Layout::ResidencePermit => DocumentKind::ResidencePermit,
            Layout::EuDrivingLicence | Layout::SwissDrivingLicence => DocumentKind::DrivingLicence,
        }
    }

    /// Physical size in millimetres, width x height, as the MRZ side lies (landscape).
    pub fn size_mm(self) -> (f32, f32) {
        match self {
            // ID-1 (ISO/IEC 7810).
            Layout::FrenchId2021
            | Layout::FrenchIdLegacy
            | Layout::IdCardTd1
            | Layout::ResidencePermit
            | Layout::EuDrivingLicence
            | Layout::SwissDrivingLicence => (85.6, 54.0),
            // ID-3 data page (ICAO 9303 part 4).
            Layout::Passport => (125.0, 88.0),
            // ID-2.
            Layout::IdCardTd2 => (105.0, 74.0),
            // MRV-A fills a passport page's width; MRV-B leaves a margin (ICAO 9303 part 7).
            Layout::VisaA => (120.0, 80.0),
            Layout::VisaB => (105.0, 74.0),
        }
    }
}

/// A deliberate property of a sample that the verifier must notice or cope with.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Variant {
    /// One check digit is wrong (which one is in [`DocumentContent::wrong_check`]).
    WrongCheckDigit,
    /// The expiry date is before the reference date.
    Expired,
    /// The names are longer than the MRZ name field, so the MRZ truncates them.
    TruncatedName,
    /// A TD1 document number longer than 9 characters, continued in the optional data.
    LongDocumentNumber,
}

/// Which checked field a check digit protects.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CheckedField {
    /// Document number.
    DocumentNumber,
    /// Date of birth.
    BirthDate,
    /// Date of expiry.
    ExpiryDate,
    /// Personal number (TD3).
    PersonalNumber,
    /// Composite check over several fields.
    Composite,
}

/// Everything a document states, consistent across its visual zone and its MRZ.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocumentContent {
    /// The design.
    pub layout: Layout,
    /// The MRZ format.
    pub format: MrzFormat,
    /// The kind of document.
    pub kind: DocumentKind,
    /// Issuing state (ICAO code).
    pub issuing_state: String,
    /// The holder.
    pub holder: Identity,
    /// Document number as printed (the full number, even when the MRZ overflows it).
    pub document_number: String,
    /// Date of issue.
    pub issue_date: Date,
    /// Date of expiry. For the pre-2021 French card it is not in the MRZ: it follows from the
    /// issue date (15 years for adults).
    pub expiry_date: Date,
    /// The MRZ lines, top to bottom.
    pub mrz: Vec<String>,
    /// Deliberate properties of this sample.
    pub variants: Vec<Variant>,
    /// The check digit made wrong on purpose, if any.
    pub wrong_check: Option<CheckedField>,
}

/// A check digit position and the spans it covers: `(line, start, end)` half-open.
struct CheckSpec {
    field: CheckedField,
    digit: (usize, usize),
    spans: Vec<(usize, usize, usize)>,
}

/// The check digits of `format` for these lines. TD1 long document numbers are resolved from the
/// lines themselves (ICAO 9303 part 5, 4.2.4, note j).
fn check_specs(format: MrzFormat, lines: &[String]) -> Vec<CheckSpec> {
    use CheckedField::*;
    let spec = |field, digit, spans: &[(usize, usize, usize)]| CheckSpec { field, digit, spans: spans.to_vec() };
    match format {
        MrzFormat::Td1 => {
            let l1 = lines.first().map(|l| l.as_bytes()).unwrap_or_default();
            let number = if l1.get(14) == Some(&b'<') {
                // Overflow: the number continues in the optional data; its check digit is the
                // last character before the first filler.
                let end = (15..30).find(|&i| l1.get(i) == Some(&b'<')).unwrap_or(30);
                let digit = end.saturating_sub(1).max(15);
                spec(DocumentNumber, (0, digit), &[(0, 5, 14), (0, 15, digit)])
            } else {
                spec(DocumentNumber, (0, 14), &[(0, 5, 14)])
            };
            vec![
                number,
                spec(BirthDate, (1, 6), &[(1, 0, 6)]),
                spec(ExpiryDate, (1, 14), &[(1, 8, 14)]),
                spec(Composite, (1, 29), &[(0, 5, 30), (1, 0, 7), (1, 8, 15), (1, 18, 29)]),
            ]
        }
        MrzFormat::Td2 => vec![
            spec(DocumentNumber, (1, 9), &[(1, 0, 9)]),
            spec(BirthDate, (1, 19), &[(1, 13, 19)]),
            spec(ExpiryDate, (1, 27), &[(1, 21, 27)]),
            spec(Composite, (1, 35), &[(1, 0, 10), (1, 13, 20), (1, 21, 35)]),
        ],
        MrzFormat::Td3 => vec![
            spec(DocumentNumber, (1, 9), &[(1, 0, 9)]),
            spec(BirthDate, (1, 19), &[(1, 13, 19)]),
            spec(ExpiryDate, (1, 27), &[(1, 21, 27)]),
            spec(PersonalNumber, (1, 42), &[(1, 28, 42)]),
            spec(Composite, (1, 43), &[(1, 0, 10), (1, 13, 20), (1, 21, 43)]),
        ],
        MrzFormat::MrvA | MrzFormat::MrvB => vec![
            spec(DocumentNumber, (1, 9), &[(1, 0, 9)]),
            spec(BirthDate, (1, 19), &[(1, 13, 19)]),
            spec(ExpiryDate, (1, 27), &[(1, 21, 27)]),
        ],
        MrzFormat::FrenchIdLegacy => vec![
            spec(DocumentNumber, (1, 12), &[(1, 0, 12)]),
            spec(BirthDate, (1, 33), &[(1, 27, 33)]),
            // Over both lines: line 1 whole, then line 2 up to the composite digit. The card's
            // published specimen (BERTHIER CORINNE, `...6512068F6`) validates only this way.
            spec(Composite, (1, 35), &[(0, 0, 36), (1, 0, 35)]),
        ],
        MrzFormat::EuDrivingLicence => {
            vec![spec(DocumentNumber, (0, 14), &[(0, 0, 14)]), spec(Composite, (0, 29), &[(0, 0, 29)])]
        }
        MrzFormat::SwissDrivingLicence => Vec::new(),
    }
}

fn compute_check(lines: &[String], spans: &[(usize, usize, usize)]) -> u8 {
    let mut field = Vec::with_capacity(64);
    for &(line, start, end) in spans {
        if let Some(bytes) = lines.get(line).and_then(|l| l.as_bytes().get(start..end)) {
            field.extend_from_slice(bytes);
        }
    }
    // Generated lines hold only MRZ characters; `0` keeps a garbled line from panicking.
    mrz::check_digit(&field).unwrap_or(b'0')
}

fn set_byte(lines: &mut [String], (line, col): (usize, usize), value: u8) {
    if let Some(l) = lines.get_mut(line) {
        let mut bytes = std::mem::take(l).into_bytes();
        if let Some(b) = bytes.get_mut(col) {
            *b = value;
        }
        *l = String::from_utf8(bytes).unwrap_or_default();
    }
}

/// Fills every check digit of `lines` (in order, so the composite sees the others).
fn fill_checks(format: MrzFormat, lines: &mut [String]) {
    for spec in check_specs(format, lines) {
        let all_filler = spec.field == CheckedField::PersonalNumber
            && spec.spans.iter().all(|&(l, s, e)| lines[l].as_bytes()[s..e].iter().all(|&b| b == b'<'));
        // ICAO 9303 part 4: an unused personal number may carry `<` as its check digit.
        let digit = if all_filler { b'<' } else { compute_check(lines, &spec.spans) };
        set_byte(lines, spec.digit, digit);
    }
}

/// The check digits of `lines` that do not match their fields (empty when all are right, and for
/// formats without check digits).
pub fn failed_checks(format: MrzFormat, lines: &[String]) -> Vec<CheckedField> {
    let mut failed = Vec::new();
    for spec in check_specs(format, lines) {
        let Some(&found) = lines.get(spec.digit.0).and_then(|l| l.as_bytes().get(spec.digit.1)) else {
            failed.push(spec.field);
            continue;
        };
        let filler_field = spec.spans.iter().all(|&(l, s, e)| {
            lines.get(l).and_then(|l| l.as_bytes().get(s..e)).is_some_and(|f| f.iter().all(|&b| b == b'<'))
        });
        if found == b'<' && filler_field {
            continue;
        }
        if found != compute_check(lines, &spec.spans) {
            failed.push(spec.field);
        }
    }
    failed
}

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
const DIGITS: &[u8] = b"0123456789";
const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ";
// German document numbers avoid vowels and look-alikes.
const DEU_ALPHABET: &[u8] = b"CFGHJKLMNPRTVWXYZ0123456789";

fn random_from<R: Rng>(rng: &mut R, alphabet: &[u8], n: usize) -> String {
    (0..n).map(|_| char::from(*alphabet.choose(rng).unwrap_or(&b'0'))).collect()
}

/// A document number in the issuing state's usual shape.
fn document_number<R: Rng>(rng: &mut R, layout: Layout, state: &str, long: bool) -> String {
    if long {
        // Long numbers exist on some TD1 cards (e.g. 12 or more characters); ICAO 9303 part 5
        // moves the tail into the optional data.
        let n = rng.random_range(10..=14);
        return format!("{}{}", random_from(rng, LETTERS, 2), random_from(rng, DIGITS, n - 2));
    }
    match (layout, state) {
        (Layout::FrenchId2021, _) => random_from(rng, ALNUM, 9),
        (Layout::EuDrivingLicence, _) => {
            format!("{}{}{}", random_from(rng, DIGITS, 2), random_from(rng, LETTERS, 2), random_from(rng, DIGITS, 5))
        }
        (Layout::Passport, "FRA") => {
            format!("{}{}{}", random_from(rng, DIGITS, 2), random_from(rng, LETTERS, 2), random_from(rng, DIGITS, 5))
        }
        (_, "DEU") => random_from(rng, DEU_ALPHABET, 9),
        _ => {
            let n = rng.random_range(7..=9);
            format!("{}{}", random_from(rng, LETTERS, 2), random_from(rng, DIGITS, n - 2))
        }
    }
}

/// Years of validity by layout (adult holders).
fn validity_years(layout: Layout) -> i32 {
    match layout {
        Layout::EuDrivingLicence => 15,
        Layout::FrenchIdLegacy => 15,
        Layout::ResidencePermit => 5,
        Layout::VisaA | Layout::VisaB => 1,
        _ => 10,
    }
}

/// The last day the pre-2021 French card was issued (the 2021 card replaced it in August 2021).
fn legacy_french_last_issue() -> Date {
    Date { year: 2021, month: 8, day: 1 }
}

/// Issue and expiry dates: valid at `at` unless `expired` (then expired by one day to six years).
fn issue_and_expiry<R: Rng>(rng: &mut R, layout: Layout, at: Date, expired: bool, birth: Date) -> (Date, Date) {
    if matches!(layout, Layout::VisaA | Layout::VisaB) {
        let expiry =
            if expired { at.add_days(-rng.random_range(1..3 * 365)) } else { at.add_days(rng.random_range(10..330)) };
        let issue = expiry.add_days(-rng.random_range(30..365)).min(at.add_days(-1));
        return (issue, expiry);
    }
    let years = validity_years(layout);
    let issue = if expired {
        let expiry = at.add_days(-rng.random_range(1..6 * 365));
        expiry.add_years(-years).add_days(1)
    } else {
        let mut latest = at.add_days(-1);
        if layout == Layout::FrenchIdLegacy {
            latest = latest.min(legacy_french_last_issue());
        }
        // Issued to an adult, recently enough to be valid at `at`. When no such day exists (a
        // legacy French card long after 2021) the latest possible day is used and the document is
        // expired; the label's expected decision says so.
        let lo = at.add_years(-years).add_days(2).max(birth.add_years(18)).days_since_epoch();
        let hi = latest.days_since_epoch();
        Date::from_days_since_epoch(if lo < hi { rng.random_range(lo..=hi) } else { hi })
    };
    (issue, issue.add_years(years).add_days(-1))
}

fn sex_char(identity: &Identity) -> char {
    identity.sex.mrz_char()
}

/// Builds a document's content: numbers, dates and the MRZ lines, applying `variants`.
pub fn content<R: Rng>(
    rng: &mut R,
    layout: Layout,
    country: &Country,
    holder: Identity,
    variants: &[Variant],
    at: Date,
) -> DocumentContent {
    let format = layout.format();
    let state = country.code;
    let long_number = variants.contains(&Variant::LongDocumentNumber) && format == MrzFormat::Td1;
    let expired = variants.contains(&Variant::Expired);
    let number =
        if layout == Layout::FrenchIdLegacy { String::new() } else { document_number(rng, layout, state, long_number) };
    let (issue, expiry) = issue_and_expiry(rng, layout, at, expired, holder.birth_date);
    let rule = country.umlaut;
    let birth = holder.birth_date.yymmdd();
    let exp = expiry.yymmdd();
    let sex = sex_char(&holder);
    let nat = holder.nationality.clone();
    let mut truncated = false;
    let mut name = |width: usize| {
        let (field, t) = mrz_name_field(&holder.surname, &holder.given_names, rule, width);
        truncated |= t;
        field
    };
    let (mut lines, document_number) = match format {
        MrzFormat::Td1 => {
            let code = match layout {
                Layout::ResidencePermit if state == "DEU" => "AR",
                Layout::ResidencePermit => "IR",
                _ if state == "FRA" || rng.random_bool(0.6) => "ID",
                _ => "I<",
            };
            let (num_field, optional) = if number.len() > 9 {
                // `<` in the check position, then the rest of the number, its check digit and a
                // filler; the check digit is filled in by `fill_checks`.
                (number[..9].to_owned(), format!("{}0", &number[9..]))
            } else {
                (pad(&number, 9), String::new())
            };
            let l1 = format!("{code}{state}{num_field}0{}", pad(&optional, 15));
            let l1 = if number.len() > 9 { set_char(&l1, 14, '<') } else { l1 };
            let l2 = format!("{birth}0{sex}{exp}0{nat}{}0", pad("", 11));
            let l3 = name(30);
            (vec![l1, l2, l3], number)
        }
        MrzFormat::Td2 => {
            let code = if state == "FRA" { "ID" } else { "I<" };
            let l1 = format!("{code}{state}{}", name(31));
            let l2 = format!("{}0{nat}{birth}0{sex}{exp}0{}0", pad(&number, 9), pad("", 7));
            (vec![l1, l2], number)
        }
        MrzFormat::Td3 => {
            let personal = if rng.random_bool(0.3) { random_from(rng, DIGITS, 10) } else { String::new() };
            let l1 = format!("P<{state}{}", name(39));
            let l2 = format!("{}0{nat}{birth}0{sex}{exp}0{}00", pad(&number, 9), pad(&personal, 14));
            (vec![l1, l2], number)
        }
        MrzFormat::MrvA | MrzFormat::MrvB => {
            let (width, optional) = if format == MrzFormat::MrvA { (44, 16) } else { (36, 8) };
            let code = *["V<", "VC", "VD"].choose(rng).unwrap_or(&"V<");
            let l1 = format!("{code}{state}{}", name(width - 5));
            let l2 = format!("{}0{nat}{birth}0{sex}{exp}0{}", pad(&number, 9), pad("", optional));
            (vec![l1, l2], number)
        }
        MrzFormat::FrenchIdLegacy => {
            let surname = transliterate(&holder.surname, rule);
            truncated |= surname.len() > 25;
            // Department (2 characters, Corsica is 2A/2B) then office.
            let dept = *["75", "13", "69", "2A", "33", "59", "92", "06"].choose(rng).unwrap_or(&"75");
            let admin = format!("{dept}{}", random_from(rng, DIGITS, 4));
            let l1 = format!("IDFRA{}{admin}", pad(&surname, 25));
            let seq = random_from(rng, DIGITS, 5);
            let number = format!("{:02}{:02}{}{seq}", issue.year.rem_euclid(100), issue.month, &admin[..3]);
            let given: Vec<String> = holder.given_names.iter().map(|g| transliterate(g, rule)).collect();
            // Given names are separated by two fillers on this card.
            let given = given.join("<<");
            truncated |= given.len() > 14;
            let l2 = format!("{number}0{}{birth}0{sex}0", pad(&given, 14));
            (vec![l1, l2], number)
        }
        MrzFormat::EuDrivingLicence => {
            let version = if rng.random_bool(0.8) { '1' } else { '<' };
            let surname = transliterate(&holder.surname, rule).replace('<', "");
            truncated |= surname.len() > 8;
            let l = format!("D{version}{state}{}0{exp}{}0", pad(&number, 9), pad(&surname, 8));
            (vec![l], number)
        }
        MrzFormat::SwissDrivingLicence => {
            let number = format!("{}{}", random_from(rng, LETTERS, 3), random_from(rng, DIGITS, 3));
            let lang = *['D', 'F', 'I'].choose(rng).unwrap_or(&'D');
            let l1 = format!("{number}{lang}<<");
            let pin = random_from(rng, DIGITS, 9);
            let version = random_from(rng, DIGITS, 3);
            let l2 = format!("FACHE{pin}{version}<<{birth}<<<<<");
            let l3 = name(30);
            (vec![l1, l2, l3], number)
        }
    };
    fill_checks(format, &mut lines);
    let mut wrong_check = None;
    let mut applied: Vec<Variant> = variants.to_vec();
    if variants.contains(&Variant::WrongCheckDigit) {
        let specs = check_specs(format, &lines);
        if let Some(spec) = specs.choose(rng) {
            let line = &lines[spec.digit.0];
            let old = line.as_bytes()[spec.digit.1];
            let old_value = if old.is_ascii_digit() { old - b'0' } else { 0 };
            let new = b'0' + (old_value + rng.random_range(1..10u8)) % 10;
            set_byte(&mut lines, spec.digit, new);
            wrong_check = Some(spec.field);
        } else {
            applied.retain(|v| *v != Variant::WrongCheckDigit);
        }
    }
    if !long_number {
        applied.retain(|v| *v != Variant::LongDocumentNumber);
    }
    applied.retain(|v| *v != Variant::TruncatedName);
    if truncated {
        applied.push(Variant::TruncatedName);
    }
    DocumentContent {
        layout,
        format,
        kind: layout.kind(),
        issuing_state: state.to_owned(),
        holder,
        document_number,
        issue_date: issue,
        expiry_date: expiry,
        mrz: lines,
        variants: applied,
        wrong_check,
    }
}

fn set_char(line: &str, col: usize, c: char) -> String {
    line.chars().enumerate().map(|(i, x)| if i == col { c } else { x }).collect()
}

/// The verifier's expected decision on a document at a reference date.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Expected {
    /// Whether the document should be accepted.
    pub accepted: bool,
    /// Machine-readable reasons (DESIGN.md section 4), empty when accepted.
    pub reasons: Vec<String>,
    /// The date the decision is relative to.
    pub reference_date: Date,
}

/// The decision the verifier should reach for `content` at `at`.
pub fn expected(content: &DocumentContent, at: Date) -> Expected {
    let mut reasons = Vec::new();
    match content.kind {
        DocumentKind::DrivingLicence => reasons.push("document.driving_licence_refused"),
        DocumentKind::Visa => reasons.push("document.visa_refused"),
        DocumentKind::ResidencePermit => reasons.push("document.residence_permit_refused"),
        DocumentKind::IdentityCard | DocumentKind::Passport => {}
    }
    if content.expiry_date < at {
        reasons.push("document.expired");
    }
    if !failed_checks(content.format, &content.mrz).is_empty() {
        reasons.push("mrz.check_digit_failed");
    }
    Expected {
        accepted: reasons.is_empty(),
        reasons: reasons.into_iter().map(str::to_owned).collect(),
        reference_date: at,
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::ChaCha8Rng;

    use super::*;
    use crate::identity::{COUNTRIES, Identity, Sex, country};

    fn at() -> Date {
        Date { year: 2026, month: 12, day: 1 }
    }

    fn check(layout: Layout, variants: &[Variant], seed: u64) -> DocumentContent {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let c = match layout {
            Layout::FrenchId2021 | Layout::FrenchIdLegacy => &COUNTRIES[0],
            Layout::SwissDrivingLicence => country("CHE").expect("CHE in table"),
            _ => &COUNTRIES[(seed as usize) % COUNTRIES.len()],
        };
        let holder = Identity::random(&mut rng, c, at(), variants.contains(&Variant::TruncatedName));
        let doc = content(&mut rng, layout, c, holder, variants, at());
        let lengths: Vec<usize> = doc.mrz.iter().map(String::len).collect();
        assert_eq!(lengths, layout.format().line_lengths(), "{layout:?} {:?}", doc.mrz);
        for line in &doc.mrz {
            assert!(line.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'<'), "{line}");
        }
        doc
    }

    #[test]
    fn every_layout_has_valid_check_digits() {
        for layout in Layout::ALL {
            for seed in 0..40 {
                let doc = check(layout, &[], seed);
                assert_eq!(failed_checks(doc.format, &doc.mrz), vec![], "{layout:?} {:?}", doc.mrz);
                assert!(doc.expiry_date >= at(), "{layout:?} expired without the variant");
            }
        }
    }

    #[test]
    fn wrong_check_digit_fails_exactly_that_check() {
        for layout in Layout::ALL {
            for seed in 0..20 {
                let doc = check(layout, &[Variant::WrongCheckDigit], seed);
                let failed = failed_checks(doc.format, &doc.mrz);
                if layout == Layout::SwissDrivingLicence {
                    assert!(failed.is_empty() && doc.wrong_check.is_none());
                    continue;
                }
                let wrong = doc.wrong_check.expect("formats with check digits get one wrong");
                assert!(failed.contains(&wrong), "{layout:?} {wrong:?} {failed:?} {:?}", doc.mrz);
                assert!(!expected(&doc, at()).accepted);
            }
        }
    }

    #[test]
    fn expired_and_refused_kinds() {
        let doc = check(Layout::Passport, &[Variant::Expired], 3);
        assert!(doc.expiry_date < at());
        assert_eq!(expected(&doc, at()).reasons, vec!["document.expired"]);
        let doc = check(Layout::EuDrivingLicence, &[], 3);
        assert!(doc.mrz[0].starts_with("D1") || doc.mrz[0].starts_with("D<"));
        assert_eq!(expected(&doc, at()).reasons, vec!["document.driving_licence_refused"]);
        let doc = check(Layout::VisaA, &[], 3);
        assert_eq!(expected(&doc, at()).reasons, vec!["document.visa_refused"]);
        let doc = check(Layout::ResidencePermit, &[], 3);
        assert_eq!(expected(&doc, at()).reasons, vec!["document.residence_permit_refused"]);
        let doc = check(Layout::FrenchId2021, &[], 3);
        assert!(expected(&doc, at()).accepted);
    }

    #[test]
    fn long_document_number_overflows_into_optional_data() {
        for seed in 0..20 {
            let doc = check(Layout::IdCardTd1, &[Variant::LongDocumentNumber], seed);
            assert!(doc.document_number.len() > 9);
            let l1 = &doc.mrz[0];
            assert_eq!(&l1[14..15], "<", "{l1}");
            assert_eq!(&l1[5..14], &doc.document_number[..9]);
            assert!(l1[15..].starts_with(&doc.document_number[9..]), "{l1}");
            assert!(failed_checks(doc.format, &doc.mrz).is_empty(), "{l1}");
            assert!(doc.variants.contains(&Variant::LongDocumentNumber));
        }
    }

    #[test]
    fn truncated_names_are_flagged() {
        let doc = check(Layout::Passport, &[Variant::TruncatedName], 1);
        assert!(doc.variants.contains(&Variant::TruncatedName), "{:?}", doc.mrz);
        assert!(doc.mrz[0].as_bytes()[40..].iter().any(|&b| b != b'<'), "the name fills the field: {}", doc.mrz[0]);
    }

    #[test]
    fn french_legacy_matches_the_card() {
        // The official specimen's check digits: document number 8, birth date 8, composite 6.
        let mut lines = vec![
            "IDFRABERTHIER<<<<<<<<<<<<<<<<<<<<<<<".to_owned(),
            "880692310285xCORINNE<<<<<<<651206xFx".replace('x', "0"),
        ];
        fill_checks(MrzFormat::FrenchIdLegacy, &mut lines);
        assert_eq!(lines[1], "8806923102858CORINNE<<<<<<<6512068F6");
        // A second published sample: document 1, birth 1, composite 2.
        let mut lines = vec![
            "IDFRATEST<NAME<<<<<<<<<<<<<<<<0CHE02".to_owned(),
            "1710GVA12345xROBERTA<<<<<<<911231xFx".replace('x', "0"),
        ];
        fill_checks(MrzFormat::FrenchIdLegacy, &mut lines);
        assert_eq!(lines[1], "1710GVA123451ROBERTA<<<<<<<9112311F2");
        let doc = check(Layout::FrenchIdLegacy, &[], 9);
        assert!(doc.mrz[0].starts_with("IDFRA"));
        assert_eq!(&doc.mrz[1][..12], doc.document_number);
        assert!(doc.issue_date <= legacy_french_last_issue());
        let _ = Sex::Male;
    }

    #[test]
    fn td3_matches_icao_specimen() {
        let mut lines = vec![
            "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<".to_owned(),
            "L898902C30UTO7408120F1204150ZE184226B<<<<<00".to_owned(),
        ];
        fill_checks(MrzFormat::Td3, &mut lines);
        assert_eq!(lines[1], "L898902C36UTO7408122F1204159ZE184226B<<<<<10");
    }
}
