//! Field-aware correction of OCR readings, and check-digit resolution.
//!
//! Owns the confusion table, the per-position candidate lists (restricted to each position's
//! [`CharClass`]), the bounded search that lets check digits choose among remaining candidates,
//! and the rule for filler `K`s in names. It leaves field meaning to `read.rs` and position
//! classes to `layout.rs`.
//!
//! Two confusions cannot be settled by check digits at all: `6`/`G` and `<`/`K` differ by 10 and
//! 20 in value (ICAO 9303 part 3, 4.9), and every weight times a multiple of 10 vanishes modulo
//! 10. They are resolved by class only (and `K` in name padding by [`pad_fillers`]).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::check_digit::check_digit;
use crate::countries;
use crate::layout::{CharClass, CheckSpec, Field, Layout, Pos, Range, is_mrz_byte};

/// The cost of one confusion in a text reading, and the scale applied to OCR score differences.
pub(crate) const UNIT: u64 = 1_000_000;
/// Candidates kept per position (top-k).
const MAX_ALTERNATIVES: usize = 4;
/// Candidate readings examined per check digit before giving up. With at most 4 candidates for
/// each of the ~15 characters a check covers, this bounds the work to a few hundred microseconds.
const MAX_STATES: usize = 4096;

/// Characters OCR engines confuse on OCR-B, in both directions.
const CONFUSIONS: [(u8, u8); 7] =
    [(b'0', b'O'), (b'1', b'I'), (b'2', b'Z'), (b'5', b'S'), (b'8', b'B'), (b'6', b'G'), (b'<', b'K')];

/// The character `c` is most often confused with, if any.
pub(crate) fn confusable(c: u8) -> Option<u8> {
    CONFUSIONS.iter().find_map(|&(a, b)| {
        if a == c {
            Some(b)
        } else if b == c {
            Some(a)
        } else {
            None
        }
    })
}

/// One character the reader corrected. Lines and columns are zero-based.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Correction {
    /// The line.
    pub line: usize,
    /// The column.
    pub column: usize,
    /// What the input said (for per-position alternatives, the best-scored character).
    pub from: char,
    /// What the reader took instead.
    pub to: char,
}

/// What the input offered at one position: its best character, and every alternative in the MRZ
/// alphabet with a cost (0 for the best; more is less likely), cheapest first.
#[derive(Clone, Debug)]
pub(crate) struct RawCell {
    pub top: u8,
    alts: Vec<(u8, u64)>,
    /// Whether the alternatives came from a recogniser's scores (then they are all there is to
    /// choose from) rather than from text.
    scored: bool,
}

impl RawCell {
    /// A position read as exactly `c` (text input).
    pub(crate) fn exact(c: u8) -> RawCell {
        RawCell { top: c, alts: vec![(c, 0)], scored: false }
    }

    /// A position from scored OCR alternatives (higher score = more likely). Bytes outside the
    /// MRZ alphabet are dropped; `None` if none is left. NaN counts as the lowest score.
    pub(crate) fn from_scores(scored: &[(u8, f32)]) -> Option<RawCell> {
        let mut kept: Vec<(u8, f64)> = Vec::new();
        for &(c, score) in scored {
            if !is_mrz_byte(c) {
                continue;
            }
            let score = if score.is_nan() { f64::NEG_INFINITY } else { f64::from(score) };
            match kept.iter_mut().find(|(k, _)| *k == c) {
                Some(entry) => entry.1 = entry.1.max(score),
                None => kept.push((c, score)),
            }
        }
        let (top, best) = kept.iter().copied().reduce(|best, next| if next.1 > best.1 { next } else { best })?;
        let mut alts: Vec<(u8, u64)> = kept
            .iter()
            .map(|&(c, score)| {
                let diff = (best - score) * UNIT as f64;
                // `best` is the maximum, so `diff` is non-negative or NaN (-inf minus -inf); the
                // float-to-int cast saturates at `u64::MAX`.
                let cost = if diff.is_nan() || diff <= 0.0 { 0 } else { diff as u64 };
                (c, cost)
            })
            .collect();
        alts.sort_by_key(|&(_, cost)| cost);
        Some(RawCell { top, alts, scored: true })
    }
}

/// A position's candidates within its class, cheapest first; the first is the initial reading.
struct Cell {
    raw: u8,
    alts: Vec<(u8, u64)>,
}

/// Every position's candidates, line by line.
pub(crate) struct Grid {
    cells: Vec<Vec<Cell>>,
}

impl Grid {
    /// Restricts each position's candidates to its class. A character's confusable partner is
    /// added as a last resort (for scored input, only where the class rules the first choice
    /// out), so an `O` where a digit belongs becomes `0`. A position with no
    /// candidate in its class keeps its raw character; the field it belongs to will not parse or
    /// will fail its check.
    pub(crate) fn build(raw: Vec<Vec<RawCell>>, layout: Layout) -> Grid {
        let cells = raw
            .into_iter()
            .enumerate()
            .map(|(line, cells)| {
                cells
                    .into_iter()
                    .enumerate()
                    .map(|(col, cell)| {
                        let class = layout.class_at((line, col));
                        let mut alts = cell.alts;
                        let worst = alts.iter().map(|&(_, cost)| cost).max().unwrap_or(0);
                        // Text offers no alternatives, so its confusable partner stands in; a
                        // recogniser's alternatives are what it found plausible, and the partner
                        // is added only where the class rules its first choice out.
                        if let Some(partner) = confusable(cell.top)
                            && !alts.iter().any(|&(c, _)| c == partner)
                            && (!cell.scored || !class.admits(cell.top))
                        {
                            alts.push((partner, worst.saturating_add(UNIT)));
                        }
                        alts.retain(|&(c, _)| class.admits(c));
                        if let CharClass::Exact(c) = class {
                            // The layout was recognised by this character (confusables read as
                            // letters), so it stands whatever the recogniser's rivals were.
                            alts = vec![(c, 0)];
                        }
                        alts.sort_by_key(|&(_, cost)| cost);
                        alts.truncate(MAX_ALTERNATIVES);
                        if alts.is_empty() {
                            alts.push((cell.top, 0));
                        }
                        let base = alts[0].1;
                        for alt in &mut alts {
                            alt.1 -= base;
                        }
                        Cell { raw: cell.top, alts }
                    })
                    .collect()
            })
            .collect();
        Grid { cells }
    }

    /// The cheapest in-class character of every position.
    pub(crate) fn first_reading(&self) -> Vec<Vec<u8>> {
        self.cells.iter().map(|line| line.iter().map(|cell| cell.alts[0].0).collect()).collect()
    }

    /// Every position where `reading` differs from the input's best character.
    pub(crate) fn corrections(&self, reading: &[Vec<u8>]) -> Vec<Correction> {
        let mut out = Vec::new();
        for (line, (cells, chars)) in self.cells.iter().zip(reading).enumerate() {
            for (column, (cell, &to)) in cells.iter().zip(chars).enumerate() {
                if cell.raw != to {
                    out.push(Correction { line, column, from: char::from(cell.raw), to: char::from(to) });
                }
            }
        }
        out
    }

    /// How many positions no check covers have a rival candidate within `margin` of the
    /// character `reading` holds there (fillers, which end fields, included).
    pub(crate) fn doubtful(&self, reading: &[Vec<u8>], checks: &[Resolved], margin: u64) -> usize {
        let covered: std::collections::HashSet<Pos> =
            checks.iter().flat_map(|c| c.over.iter().copied().chain([c.digit])).collect();
        let mut count = 0;
        for (line, (cells, chars)) in self.cells.iter().zip(reading).enumerate() {
            for (col, (cell, &chosen)) in cells.iter().zip(chars).enumerate() {
                if covered.contains(&(line, col)) {
                    continue;
                }
                let Some(&(_, own)) = cell.alts.iter().find(|&&(c, _)| c == chosen) else { continue };
                if cell.alts.iter().any(|&(c, cost)| c != chosen && cost < own.saturating_add(margin)) {
                    count += 1;
                }
            }
        }
        count
    }

    /// How many positions `reading` took a candidate costing `margin` or more over the
    /// position's cheapest: corrections the recogniser was fairly sure against. A check digit
    /// that only passes that way may be wrong on the document itself (a misprint), so the read
    /// waits for more frames; frames that agree on the printed character then push the
    /// alternative out of reach and the check fails, as it should.
    pub(crate) fn costly_corrections(&self, reading: &[Vec<u8>], margin: u64) -> usize {
        let mut count = 0;
        for (cells, chars) in self.cells.iter().zip(reading) {
            for (cell, &chosen) in cells.iter().zip(chars) {
                let cost = cell.alts.iter().find(|&&(c, _)| c == chosen).map_or(0, |&(_, cost)| cost);
                count += usize::from(cost >= margin);
            }
        }
        count
    }

    fn alternatives(&self, (line, col): Pos) -> &[(u8, u64)] {
        self.cells.get(line).and_then(|l| l.get(col)).map_or(&[], |cell| cell.alts.as_slice())
    }
}

/// In a field padded with fillers, a `K` after at least three fillers, with only fillers and
/// `K`s after it, is a misread filler: names never hold `<<<` (ICAO 9303 part 3, 4.6), so that
/// run can only be padding. A `K` right after a name (`ANNAK<<<`) is left alone.
pub(crate) fn pad_fillers(reading: &mut [Vec<u8>], ranges: &[Range]) {
    for range in ranges {
        let Some(field) = reading.get_mut(range.line).and_then(|l| l.get_mut(range.start..range.end)) else {
            continue;
        };
        let tail = field.iter().rev().take_while(|&&c| c == b'<' || c == b'K').count();
        let start = field.len() - tail;
        let mut run = 0;
        let mut padding = false;
        for c in &mut field[start..] {
            if *c == b'<' {
                run += 1;
                padding |= run >= 3;
            } else {
                run = 0;
                if padding {
                    *c = b'<';
                }
            }
        }
    }
}

/// An issuing state or nationality that is no known code (`countries.rs`) is a misread: the
/// cheapest reading of its positions among their candidates that is a known code replaces it,
/// when exactly one is cheapest. No check digit covers these fields, so this is the only thing
/// that can catch `FRA` read as `TMA` or `CHE` as `CNE`.
pub(crate) fn known_codes(grid: &Grid, reading: &mut [Vec<u8>], ranges: &[Range]) {
    for range in ranges {
        let pos = positions(std::slice::from_ref(range));
        let current: Vec<u8> = pos.iter().map(|&p| at(reading, p)).collect();
        if countries::is_known(&current) {
            continue;
        }
        let alternatives: Vec<&[(u8, u64)]> = pos.iter().map(|&p| grid.alternatives(p)).collect();
        if alternatives.iter().any(|a| a.is_empty()) {
            continue;
        }
        // Odometer over the candidates (at most a handful per position, three positions).
        let mut index = vec![0usize; pos.len()];
        let mut best: Option<(u64, Vec<u8>)> = None;
        let mut tied = false;
        loop {
            let code: Vec<u8> = index.iter().zip(&alternatives).map(|(&i, a)| a[i].0).collect();
            let cost = index.iter().zip(&alternatives).fold(0u64, |acc, (&i, a)| acc.saturating_add(a[i].1));
            if countries::is_known(&code) {
                match &best {
                    Some((c, _)) if cost > *c => {}
                    Some((c, _)) if cost == *c => tied = true,
                    _ => {
                        best = Some((cost, code));
                        tied = false;
                    }
                }
            }
            let mut k = 0;
            while k < index.len() {
                index[k] += 1;
                if index[k] < alternatives[k].len() {
                    break;
                }
                index[k] = 0;
                k += 1;
            }
            if k == index.len() {
                break;
            }
        }
        if let (Some((_, code)), false) = (best, tied) {
            for (&(line, col), c) in pos.iter().zip(code) {
                reading[line][col] = c;
            }
        }
    }
}

/// A check digit placed on a reading: the positions it covers, in order, and where it is.
#[derive(Clone, Debug)]
pub(crate) struct Resolved {
    pub field: Field,
    pub digit: Pos,
    pub over: Vec<Pos>,
    pub filler_ok: bool,
    /// For a document number that overflowed into the optional data: that range, and how many
    /// of its characters continue the number (its check digit and a filler follow them).
    pub overflow: Option<(Range, usize)>,
    /// For an overflow, the usual check position (holding `<`), which some states count after
    /// the first nine characters (see [`crate::OverflowRule`]).
    pub filler: Option<Pos>,
    /// Positions that decide where the check sits (the `<` in the usual check position, the
    /// filler ending an overflow): no search may change them.
    pub structure: Vec<Pos>,
}

fn at(reading: &[Vec<u8>], (line, col): Pos) -> u8 {
    // Readings always have the layout's line lengths; a missing position would be a bug, and
    // reading it as a non-MRZ byte makes the check fail instead of panicking.
    reading.get(line).and_then(|l| l.get(col)).copied().unwrap_or(0)
}

fn positions(ranges: &[Range]) -> Vec<Pos> {
    ranges.iter().flat_map(|r| (r.start..r.end).map(move |c| (r.line, c))).collect()
}

/// Places `spec` on `reading`, following a document number's overflow when the check position
/// holds `<` (ICAO 9303 part 5, 4.2.2 note j).
pub(crate) fn resolve(spec: &CheckSpec, reading: &[Vec<u8>]) -> Resolved {
    let mut resolved = Resolved {
        field: spec.field,
        digit: spec.digit,
        over: positions(spec.over),
        filler_ok: spec.filler_ok,
        overflow: None,
        filler: None,
        structure: Vec::new(),
    };
    if let Some(range) = spec.overflow
        && at(reading, spec.digit) == b'<'
    {
        let len = range.end - range.start;
        let k = (range.start..range.end).position(|c| at(reading, (range.line, c)) == b'<').unwrap_or(len);
        if k >= 1 {
            resolved.structure.push(spec.digit);
            if k < len {
                resolved.structure.push((range.line, range.start + k));
            }
            resolved.over.extend((range.start..range.start + k - 1).map(|c| (range.line, c)));
            resolved.digit = (range.line, range.start + k - 1);
            resolved.overflow = Some((range, k - 1));
            resolved.filler = Some(spec.digit);
        }
    }
    resolved
}

/// Whether the check digit on `reading` matches what it covers (for an overflowed number,
/// under either [`crate::OverflowRule`]).
pub(crate) fn passes(reading: &[Vec<u8>], check: &Resolved) -> bool {
    let covered: Vec<u8> = check.over.iter().map(|&p| at(reading, p)).collect();
    let digit = at(reading, check.digit);
    if check.filler_ok && digit == b'<' && covered.iter().all(|&c| c == b'<') {
        return true;
    }
    check_digit(&covered) == Some(digit) || passing_rule(reading, check).is_some()
}

/// For an overflowed document number, the rule its check digit passes under: ICAO's (the number
/// alone) first, then with the `<` of the usual check position counted after the ninth
/// character. `None` when it passes under neither or the number did not overflow.
pub(crate) fn passing_rule(reading: &[Vec<u8>], check: &Resolved) -> Option<crate::OverflowRule> {
    let filler = check.filler?;
    let mut covered: Vec<u8> = check.over.iter().map(|&p| at(reading, p)).collect();
    let digit = Some(at(reading, check.digit));
    if check_digit(&covered) == digit {
        return Some(crate::OverflowRule::WithoutFiller);
    }
    // The number's first nine characters are the field's; the filler sits right after them.
    let first = check.over.iter().position(|&p| p.0 != filler.0 || p.1 > filler.1).unwrap_or(covered.len());
    covered.insert(first, at(reading, filler));
    (check_digit(&covered) == digit).then_some(crate::OverflowRule::WithFiller)
}

/// Corrects `reading` so its check digits pass where the candidates allow one best answer.
/// Each field's own check goes first, over its own positions; the composite check goes last,
/// over the positions no other check covers. Names (letter-or-filler positions) are never
/// changed by a search: nothing but the French card's composite covers them, and a name is not
/// a guess to make. Returns the checks as placed on the final reading, and how many checks had
/// a second passing reading within `margin` (see `search`).
pub(crate) fn repair(grid: &Grid, reading: &mut [Vec<u8>], layout: Layout, margin: u64) -> (Vec<Resolved>, usize) {
    let specs = layout.checks();
    let own: Vec<Resolved> =
        specs.iter().filter(|s| s.field != Field::Composite).map(|s| resolve(s, reading)).collect();
    let mut claimed: Vec<Pos> = Vec::new();
    let mut close = 0;
    for check in &own {
        claimed.extend(check.over.iter().copied());
        claimed.push(check.digit);
        claimed.extend(check.structure.iter().copied());
    }
    for check in &own {
        let free: Vec<Pos> = check
            .over
            .iter()
            .copied()
            .chain([check.digit])
            .filter(|&p| layout.class_at(p) != CharClass::LetterFiller)
            .collect();
        close += usize::from(search(grid, reading, check, &free, margin));
    }
    for spec in specs.iter().filter(|s| s.field == Field::Composite) {
        let check = resolve(spec, reading);
        let free: Vec<Pos> = check
            .over
            .iter()
            .copied()
            .chain([check.digit])
            .filter(|p| !claimed.contains(p))
            .filter(|&p| layout.class_at(p) != CharClass::LetterFiller)
            .collect();
        close += usize::from(search(grid, reading, &check, &free, margin));
    }
    (specs.iter().map(|s| resolve(s, reading)).collect(), close)
}

/// Best-first search over the candidates of `free` positions, cheapest total cost first, for a
/// reading that passes `check`. A unique cheapest passing reading is applied; a tie (two
/// different readings at the same cost) leaves the reading as it was, since the check digit
/// cannot tell them apart. Fillers are never introduced or removed: they decide where fields
/// end, and `<`/`K` cannot change a check digit anyway. Returns whether a second passing reading
/// came within `margin` of the first (a tie included): the check digit did not settle the field
/// with margin.
fn search(grid: &Grid, reading: &mut [Vec<u8>], check: &Resolved, free: &[Pos], margin: u64) -> bool {
    // Per free position: candidate characters, the current one first at cost 0.
    let mut slots: Vec<(Pos, Vec<(u8, u64)>)> = Vec::new();
    for &pos in free {
        let current = at(reading, pos);
        let alts = grid.alternatives(pos);
        let base = alts.iter().find(|&&(c, _)| c == current).map_or(0, |&(_, cost)| cost);
        let mut list = vec![(current, 0u64)];
        for &(c, cost) in alts {
            let keeps_fillers = (c == b'<') == (current == b'<');
            let digit_ok = pos != check.digit || c.is_ascii_digit();
            if c != current && keeps_fillers && digit_ok {
                list.push((c, cost.saturating_sub(base)));
            }
        }
        list[1..].sort_by_key(|&(_, cost)| cost);
        list.truncate(MAX_ALTERNATIVES);
        if list.len() > 1 {
            slots.push((pos, list));
        }
    }
    if slots.is_empty() {
        return false;
    }

    let apply = |reading: &mut [Vec<u8>], choice: &[usize]| {
        for ((pos, list), &i) in slots.iter().zip(choice) {
            if let Some(cell) = reading.get_mut(pos.0).and_then(|l| l.get_mut(pos.1)) {
                *cell = list[i].0;
            }
        }
    };
    let original: Vec<usize> = vec![0; slots.len()];

    // Each state is reached along one path only: successors raise one index at or after the
    // last raised one, so no state is queued twice.
    let mut heap = BinaryHeap::new();
    let mut seq = 0usize;
    heap.push(Reverse((0u64, seq, original.clone(), 0usize)));
    let mut found: Option<(u64, Vec<usize>)> = None;
    let mut runner_up: Option<u64> = None;
    let mut popped = 0;
    while let Some(Reverse((cost, _, choice, last))) = heap.pop() {
        popped += 1;
        if popped > MAX_STATES {
            break;
        }
        if let Some((best, _)) = &found
            && cost > *best
            && cost - *best >= margin
        {
            break;
        }
        apply(reading, &choice);
        let ok = passes(reading, check);
        apply(reading, &original);
        if ok {
            if found.is_some() {
                runner_up = Some(cost);
                break;
            }
            found = Some((cost, choice.clone()));
        }
        for i in last..slots.len() {
            let list = &slots[i].1;
            if choice[i] + 1 < list.len() {
                let mut next = choice.clone();
                next[i] += 1;
                let step = list[next[i]].1 - list[choice[i]].1.min(list[next[i]].1);
                seq += 1;
                heap.push(Reverse((cost.saturating_add(step), seq, next, i)));
            }
        }
    }
    match found {
        Some((best, choice)) => {
            if runner_up != Some(best) {
                apply(reading, &choice);
            }
            runner_up.is_some()
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Builds a text grid for `lines` under `layout`, runs class restriction, padding and check
    /// repair, and compares the corrected lines and the corrections (`line:col:from>to`).
    fn check(layout: Layout, lines: &[&str], expect_lines: &[&str], expect_corrections: &[&str]) {
        let raw = lines.iter().map(|l| l.bytes().map(RawCell::exact).collect()).collect();
        let grid = Grid::build(raw, layout);
        let mut reading = grid.first_reading();
        pad_fillers(&mut reading, &[Range { line: 0, start: 5, end: 44 }]);
        repair(&grid, &mut reading, layout, UNIT);
        let got: Vec<String> = reading.iter().map(|l| String::from_utf8_lossy(l).into_owned()).collect();
        assert_eq!(got, expect_lines);
        let corrections: Vec<String> =
            grid.corrections(&reading).iter().map(|c| format!("{}:{}:{}>{}", c.line, c.column, c.from, c.to)).collect();
        assert_eq!(corrections, expect_corrections);
    }

    const L1: &str = "P<UTOERIKSSON<<ANNA<MARIA<<<<<<<<<<<<<<<<<<<";
    const L2: &str = "L898902C36UTO7408122F1204159ZE184226B<<<<<10";

    #[test]
    fn clean_input_is_untouched() {
        check(Layout::Td3, &[L1, L2], &[L1, L2], &[]);
    }

    #[test]
    fn class_fixes_digits_letters_and_fillers() {
        check(
            Layout::Td3,
            &["P<UT0ERIK5SON<<ANNA<MARIA<<<<<<<<<<<<<<<K<<<", "L898902C36UT07408I22F12O4159ZE184226B<<<<<1O"],
            &[L1, L2],
            &["0:4:0>O", "0:9:5>S", "0:40:K><", "1:12:0>O", "1:17:I>1", "1:23:O>0", "1:43:O>0"],
        );
    }

    #[test]
    fn check_digit_chooses_among_alphanumerics() {
        // `0` read as `O` in the number: restoring it is the only single change that passes.
        check(Layout::Td3, &[L1, "L8989O2C36UTO7408122F1204159ZE184226B<<<<<10"], &[L1, L2], &["1:5:O>0"]);
        // Personal number `ZE1B4226B`: restoring `8` passes, but so does `2E1B...`: a tie at
        // one change each, so nothing is guessed and the check fails.
        let ambiguous = L2.replace("ZE18", "ZE1B");
        check(Layout::Td3, &[L1, &ambiguous], &[L1, &ambiguous], &[]);
    }

    #[test]
    fn confusions() {
        assert_eq!(confusable(b'0'), Some(b'O'));
        assert_eq!(confusable(b'K'), Some(b'<'));
        assert_eq!(confusable(b'X'), None);
    }

    #[test]
    fn scored_alternatives() {
        let cell = RawCell::from_scores(&[(b'a', 0.9), (b'O', 0.6), (b'0', f32::NAN), (b'O', 0.7)])
            .expect("O is in the alphabet");
        assert_eq!(cell.top, b'O');
        assert_eq!(cell.alts, vec![(b'O', 0), (b'0', u64::MAX)]);
        assert!(RawCell::from_scores(&[(b'a', 1.0)]).is_none());
        assert!(RawCell::from_scores(&[]).is_none());
    }
}
