//! MRZ reading from camera frames: find the machine-readable zone of an identity document in a
//! frame, rectify it, cut it into characters, recognise each with scored alternatives, and hand
//! them to [`mrz::parse_alternatives`], which settles confusions by field class and check digits.
//!
//! The stages, each a pure function in its own file: `locate` (a pyramid level in, candidate
//! line blocks out), `rectify` (a block in, upright line strips out), `segment` (a strip in,
//! normalised character cells out), `recognise` (a cell in, scored characters out), and
//! [`quality`] (why a frame could not be read, as an instruction the capture page can show).
//! [`consensus`] fuses the reads of several frames of one document. What this module leaves out:
//! the MRZ rules themselves (the `mrz` crate) and finding the whole document.
//!
//! The recogniser correlates cells with OCR-B templates rendered from font bytes the caller
//! supplies (Debian `fonts-ocr-b`, `/usr/share/fonts/opentype/ocr-b/OCRB.otf`); nothing is read
//! from disk here.
//!
//! ```no_run
//! use vision::mrz::{MrzFrameRead, MrzReader, MrzReaderConfig, ZoneReading, read_mrz};
//! # fn frame() -> vision::frame::Frame { unimplemented!() }
//! # fn settings() -> MrzReaderConfig { unimplemented!() }
//! // The service reads both from its configuration (`[mrz.reader]`: `font` and the settings).
//! let config: MrzReaderConfig = settings();
//! let font = std::fs::read("/usr/share/fonts/opentype/ocr-b/OCRB.otf")?;
//! let reader = MrzReader::new(&font, config)?;
//! let today = mrz::Date::new(2026, 12, 1).expect("a valid date");
//! let read = read_mrz(&frame(), &reader, today)?;
//! match &read {
//!     MrzFrameRead::Found { reading: ZoneReading::Trustworthy { read }, .. } => println!("{:?}", read.format),
//!     _ => println!("retake: {:?}", read.issue()),
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod cell;
pub mod consensus;
mod gray;
mod line_net;
mod locate;
pub mod quality;
mod recognise;
mod rectify;
mod segment;

pub use consensus::{ConsensusConfig, ConsensusState, FailedMrz, FailureCause, FrameVerdict, MrzConsensus, SettledMrz};
pub use line_net::LineNet;
pub use quality::QualityIssue;
pub use recognise::{CellNet, TemplateError};

/// Width of the character cells [`read_mrz_with_cells`] gives (one and a half pitches).
pub const NET_CELL_WIDTH: usize = cell::NET_W;
/// Height of those cells (the cap is rows 3 to 18).
pub const NET_CELL_HEIGHT: usize = cell::TH;

use crate::frame::Frame;
use crate::model::ModelError;
use gray::Gray;
use locate::Block;

/// Settings of the reader. Set them from configuration; each field says how it was chosen.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MrzReaderConfig {
    /// Alternatives kept per character position (5 is plenty: the right character is almost
    /// always among the first three).
    pub top_k: usize,
    /// Below this character pitch in frame pixels an unreadable MRZ is reported as too small.
    pub min_pitch_px: f32,
    /// Below this edge steepness (see [`MrzFrameRead::sharpness`]) an unreadable MRZ is reported
    /// as too blurry.
    pub min_sharpness: f32,
    /// Above this share of saturated character cells an unreadable MRZ is reported as glared.
    pub max_saturated: f32,
    /// Where no MRZ was found, below this [`frame_steepness`] the frame is reported as too
    /// blurry rather than as showing no MRZ.
    pub min_frame_steepness: f32,
    /// Finding the zone in a frame.
    pub locate: LocateConfig,
    /// Placing and recognising the characters.
    pub recognition: RecognitionConfig,
    /// How much of a frame is tried before giving up.
    pub search: SearchConfig,
}

/// How the zone is found: ink separated from paper, glyph-sized blobs chained into lines,
/// lines stacked into blocks that fit a format (`locate.rs`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LocateConfig {
    /// Darkness a pixel needs under its neighbourhood mean to count as ink (8-bit levels). Lower
    /// finds fainter print but joins guilloche and noise to the glyphs.
    pub ink_delta: u32,
    /// Radius of that neighbourhood mean, in pixels of the pyramid level.
    pub mean_radius: usize,
    /// Glyph sizes (largest bounding-box side, level pixels) the chaining accepts; levels are a
    /// factor 2 apart, so `max_glyph` should stay above twice `min_glyph` for every print size
    /// to fall inside the range on some level.
    pub min_glyph: usize,
    /// See `min_glyph`.
    pub max_glyph: usize,
    /// Chains of fewer glyphs are not text lines.
    pub min_chain: usize,
    /// A cell past a line's glyph chain continues the line only with at least this share of
    /// the line's typical cell ink (a filler holds about half a letter's).
    pub min_cell_ink: f32,
    /// The most a block's lines may be apart, centre to centre, in character pitches.
    pub max_line_spacing: f32,
    /// How far a line's character count may be from a format's (relative).
    pub count_tolerance: f32,
}

/// How characters are placed along a line and recognised.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RecognitionConfig {
    /// Where the ink starts and ends inside a line's first and last cells, in pitches (OCR-B
    /// glyphs are narrower than their pitch): the first guess of the strip's ends, which
    /// `segment.rs` corrects.
    pub ink_margin: f32,
    /// Cost of a cell placement per squared pitch of departure from the nominal spacing.
    pub spacing_cost: f32,
    /// Template reading: log-odds per unit of correlation.
    pub template_score_scale: f32,
    /// Template reading: alternatives scoring more than this (log-odds) below a position's best
    /// are not offered to the parser.
    pub template_margin: f32,
    /// Template blur levels either side of a line's measured blur a cell is read against.
    pub template_blur_spread: usize,
    /// Network reading: alternatives more than this many nats below the best are not offered
    /// to the parser, so a confidently read character is never "corrected" to satisfy a check
    /// digit that is wrong on the document itself.
    pub network_margin: f32,
    /// The line model's log-probabilities are floored here before they join the cell
    /// network's (`recogniser = "fused"`).
    pub line_floor: f32,
    /// How close a rival must score to a chosen character no check digit covers to leave the
    /// frame's read doubtful, not trustworthy (see [`mrz::parse_alternatives`]).
    pub doubt_margin: f32,
}

/// How much of a frame the reader tries.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SearchConfig {
    /// Corrected characters that weigh as much as one passing check when ranking reads that are
    /// not valid.
    pub corrections_per_check: f32,
    /// Candidate blocks read per pyramid level.
    pub blocks_per_level: usize,
    /// Candidate blocks read in all, over every level and view.
    pub max_attempts: usize,
    /// Frames whose longer side is under this many pixels are enlarged twice before reading.
    pub enlarge_below: usize,
}

/// Why a reader could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MrzReaderError {
    /// The font could not make templates.
    #[error(transparent)]
    Templates(#[from] TemplateError),
}

/// Everything `read_mrz` needs besides the frame: OCR-B templates and settings. Build it once
/// and share it; it is immutable.
#[derive(Clone, Debug)]
pub struct MrzReader {
    templates: recognise::Templates,
    net: Option<CellNet>,
    line_net: Option<LineNet>,
    config: MrzReaderConfig,
}

impl MrzReader {
    /// Renders the templates from OCR-B font bytes (TrueType or OpenType). They place the cells
    /// along each line, and recognise them unless a network is added with [`MrzReader::with_net`].
    pub fn new(ocr_b_font: &[u8], config: MrzReaderConfig) -> Result<MrzReader, MrzReaderError> {
        Ok(MrzReader { templates: recognise::Templates::from_font(ocr_b_font)?, net: None, line_net: None, config })
    }

    /// Recognises cells with a trained network instead of the templates (see [`CellNet`]).
    pub fn with_net(self, net: CellNet) -> MrzReader {
        MrzReader { net: Some(net), ..self }
    }

    /// Recognises whole lines with a CTC text-line model instead (see [`LineNet`]); a line it
    /// cannot read is read cell by cell as without it.
    pub fn with_line_net(self, line_net: LineNet) -> MrzReader {
        MrzReader { line_net: Some(line_net), ..self }
    }

    /// Which recogniser reads the characters: the line model's or the cell network's name, or
    /// `templates`.
    pub fn recogniser(&self) -> &str {
        match (&self.line_net, &self.net) {
            (Some(l), _) => l.name(),
            (None, Some(n)) => n.name(),
            (None, None) => "templates",
        }
    }

    /// The settings.
    pub fn config(&self) -> &MrzReaderConfig {
        &self.config
    }
}

/// Where the MRZ is in the frame.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MrzLocation {
    /// The block's corners in frame pixels: top-left, top-right, bottom-right, bottom-left of the
    /// text as read (so rotation is visible in the order).
    pub corners: [[f32; 2]; 4],
    /// Character pitch in frame pixels, at the block's centre.
    pub pitch_px: f32,
}

/// One MRZ line as recognised: per position, the candidate characters with scores (higher is
/// more likely), best first. Its `Debug` prints only its length: the text is document data.
#[derive(Clone, PartialEq)]
pub struct MrzLine {
    /// Per position, `(character, score)` pairs, best first.
    pub alternatives: Vec<Vec<(u8, f32)>>,
}

impl std::fmt::Debug for MrzLine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MrzLine({} characters)", self.alternatives.len())
    }
}

impl MrzLine {
    /// The best character at each position, before any correction.
    pub fn text(&self) -> mrz::Sensitive<String> {
        mrz::Sensitive::new(self.alternatives.iter().map(|a| a.first().map_or('?', |c| char::from(c.0))).collect())
    }
}

/// What one frame gave: no MRZ, or a zone found and read. Each case carries what it has and
/// no more, so a found zone always has its location and lines, a read that is not trustworthy
/// always says why ([`QualityIssue`]), and a trustworthy one never carries an issue.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)] // one per frame, returned by value: a box would buy nothing
pub enum MrzFrameRead {
    /// Nothing MRZ-like was found.
    NotFound {
        /// Why (`not_found`, or the frame is too blurry or too small to tell).
        issue: QualityIssue,
    },
    /// A zone was found and its lines recognised.
    Found {
        /// Where it is, its lines and how sharp their print is.
        zone: FoundZone,
        /// What the `mrz` crate made of the lines.
        reading: ZoneReading,
    },
}

/// A zone found in a frame.
#[derive(Clone, Debug)]
pub struct FoundZone {
    /// Where the MRZ is in the frame.
    pub location: MrzLocation,
    /// The recognised lines, top first.
    pub lines: Vec<MrzLine>,
    /// Edge steepness of the print (0 to 1, higher is sharper).
    pub sharpness: f32,
}

/// The `mrz` crate's reading of a found zone's lines.
#[derive(Clone, Debug)]
pub enum ZoneReading {
    /// The lines parse as no MRZ format.
    Unparsed {
        /// Why they do not.
        error: mrz::ParseError,
        /// What the capture should change.
        issue: QualityIssue,
    },
    /// The lines parse, but the read cannot be relied on alone (see
    /// [`mrz::MrzRead::is_trustworthy`]).
    Doubtful {
        /// The read.
        read: mrz::MrzRead,
        /// What the capture should change.
        issue: QualityIssue,
    },
    /// The read can be relied on alone.
    Trustworthy {
        /// The read ([`mrz::MrzRead::is_trustworthy`] holds).
        read: mrz::MrzRead,
    },
}

impl ZoneReading {
    /// The case `parsed` falls in: trustworthy when it parsed and
    /// [`mrz::MrzRead::is_trustworthy`] holds, otherwise with the issue `issue` gives.
    pub fn new(parsed: Result<mrz::MrzRead, mrz::ParseError>, issue: impl FnOnce() -> QualityIssue) -> ZoneReading {
        match parsed {
            Ok(read) if read.is_trustworthy() => ZoneReading::Trustworthy { read },
            Ok(read) => ZoneReading::Doubtful { read, issue: issue() },
            Err(error) => ZoneReading::Unparsed { error, issue: issue() },
        }
    }

    /// The read, when the lines parsed.
    pub fn read(&self) -> Option<&mrz::MrzRead> {
        match self {
            ZoneReading::Unparsed { .. } => None,
            ZoneReading::Doubtful { read, .. } | ZoneReading::Trustworthy { read } => Some(read),
        }
    }
}

impl MrzFrameRead {
    /// The found zone, if any.
    pub fn zone(&self) -> Option<&FoundZone> {
        match self {
            MrzFrameRead::NotFound { .. } => None,
            MrzFrameRead::Found { zone, .. } => Some(zone),
        }
    }

    /// Where the MRZ was found, if anywhere.
    pub fn location(&self) -> Option<&MrzLocation> {
        self.zone().map(|z| &z.location)
    }

    /// The recognised lines, top first (empty when nothing was found).
    pub fn lines(&self) -> &[MrzLine] {
        self.zone().map_or(&[], |z| z.lines.as_slice())
    }

    /// Edge steepness of the print (0 to 1, higher is sharper), when something was found.
    pub fn sharpness(&self) -> Option<f32> {
        self.zone().map(|z| z.sharpness)
    }

    /// The `mrz` crate's reading of the lines, when there were lines.
    pub fn parsed(&self) -> Option<Result<&mrz::MrzRead, &mrz::ParseError>> {
        match self {
            MrzFrameRead::NotFound { .. } => None,
            MrzFrameRead::Found { reading: ZoneReading::Unparsed { error, .. }, .. } => Some(Err(error)),
            MrzFrameRead::Found {
                reading: ZoneReading::Doubtful { read, .. } | ZoneReading::Trustworthy { read },
                ..
            } => Some(Ok(read)),
        }
    }

    /// The read, when the lines parsed.
    pub fn read(&self) -> Option<&mrz::MrzRead> {
        match self {
            MrzFrameRead::NotFound { .. } => None,
            MrzFrameRead::Found { reading, .. } => reading.read(),
        }
    }

    /// Why the frame could not be read, when its reading is not trustworthy.
    pub fn issue(&self) -> Option<QualityIssue> {
        match self {
            MrzFrameRead::NotFound { issue }
            | MrzFrameRead::Found {
                reading: ZoneReading::Unparsed { issue, .. } | ZoneReading::Doubtful { issue, .. },
                ..
            } => Some(*issue),
            MrzFrameRead::Found { reading: ZoneReading::Trustworthy { .. }, .. } => None,
        }
    }

    /// Whether the frame gave an MRZ whose every check digit passed.
    pub fn is_valid(&self) -> bool {
        self.read().is_some_and(|read| read.valid)
    }

    /// Whether the frame's MRZ can be relied on alone (see [`mrz::MrzRead::is_trustworthy`]):
    /// otherwise [`MrzFrameRead::issue`] says what to change.
    pub fn is_trustworthy(&self) -> bool {
        matches!(self, MrzFrameRead::Found { reading: ZoneReading::Trustworthy { .. }, .. })
    }

    /// The lines as finally read: each position's best character with the parser's corrections
    /// applied; `None` unless the lines parsed.
    pub fn corrected_text(&self) -> Option<mrz::Sensitive<Vec<String>>> {
        let read = self.read()?;
        let mut lines: Vec<Vec<char>> = self.lines().iter().map(|l| l.text().expose().chars().collect()).collect();
        for c in &read.corrections {
            if let Some(slot) = lines.get_mut(c.line).and_then(|l| l.get_mut(c.column)) {
                *slot = c.to;
            }
        }
        Some(mrz::Sensitive::new(lines.into_iter().map(|l| l.into_iter().collect()).collect()))
    }
}

struct Attempt {
    location: MrzLocation,
    lines: Vec<MrzLine>,
    wide: Vec<Vec<Vec<f32>>>,
    parsed: Result<mrz::MrzRead, mrz::ParseError>,
    sharpness: f32,
    saturated: f32,
    rank: Rank,
}

/// How well one block's read fits, for choosing among the blocks and views of a frame. Variants
/// are in rising order (a trustworthy read beats any other, a parsed one any unparsed), and
/// within a variant the fields compare in order, so the derived ordering is the ranking.
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd)]
enum Rank {
    /// The lines did not parse as any MRZ format.
    Unparsed {
        /// Mean score of the best character per position.
        confidence: f32,
    },
    /// Parsed, but not to be relied on alone.
    Parsed {
        /// Checks passed, less one per `search.corrections_per_check` corrected characters.
        fit: f32,
        /// Mean score of the best character per position.
        confidence: f32,
    },
    /// Trustworthy: reading stops here.
    Trustworthy {
        /// Check digits the format has (a format with more checks is better confirmed).
        checks: usize,
        /// Mean score of the best character per position.
        confidence: f32,
    },
}

impl Rank {
    fn is_trustworthy(self) -> bool {
        matches!(self, Rank::Trustworthy { .. })
    }

    /// Whether `self` ranks strictly above `other` (never for a NaN confidence).
    fn beats(self, other: Rank) -> bool {
        self.partial_cmp(&other) == Some(std::cmp::Ordering::Greater)
    }
}

/// The lines of one block as read through one rectification.
struct LinesRead {
    lines: Vec<MrzLine>,
    /// Per line, the cells with context (`cell::NET_W` by `cell::TH` darkness values).
    wide: Vec<Vec<Vec<f32>>>,
    /// Per line, the cell centres and cap band centre `segment` found (strip pixels).
    found: Vec<(Vec<f32>, f32)>,
    sharpness: f32,
    saturated: f32,
}

/// Segments every line of `block` and, when `recognise` is set, reads its cells. A model that
/// fails to run is an error: the reader never falls back to the templates in silence, which
/// would make it quieter and worse (85 % of frames fully right with the network, 71 % with
/// templates, `docs/thresholds.md`), not unready.
fn read_lines(
    gray: &Gray,
    geom: &rectify::BlockGeometry,
    block: &Block,
    reader: &MrzReader,
    recognise: bool,
) -> Result<LinesRead, ModelError> {
    let rc = &reader.config.recognition;
    let mut out = LinesRead { lines: Vec::new(), wide: Vec::new(), found: Vec::new(), sharpness: 0.0, saturated: 0.0 };
    let mut segmented = Vec::with_capacity(block.counts.len());
    let mut strips = Vec::with_capacity(block.counts.len());
    for (j, &count) in block.counts.iter().enumerate() {
        let strip = rectify::strip(gray, geom, j, count);
        let seg = segment::segment(&strip, &reader.templates, recognise, rc.spacing_cost);
        out.sharpness += seg.sharpness / block.counts.len() as f32;
        out.saturated = out.saturated.max(seg.saturated);
        segmented.push(seg);
        strips.push(strip);
    }
    if recognise {
        // A line model reads whole lines (`None` where its output is too short to hold the
        // line); the cell network reads every cell of the block in one run. Where both read,
        // their log-probabilities add (a product of experts: they were trained on different
        // data and err differently). The templates read only where no model is configured, or
        // a line the line model's output cannot hold; a model that fails to run is an error.
        let by_line: Vec<Option<Vec<[f32; 37]>>> = segmented
            .iter()
            .zip(&strips)
            .map(|(seg, strip)| match reader.line_net.as_ref() {
                Some(net) => net.read(strip, &seg.centres, seg.band_centre),
                None => Ok(None),
            })
            .collect::<Result<_, _>>()?;
        let net_scores = match reader.net.as_ref() {
            Some(net) => {
                let cells: Vec<&[f32]> = segmented.iter().flat_map(|s| s.wide.iter().map(Vec::as_slice)).collect();
                Some(net.classify(&cells)?)
            }
            None => None,
        };
        let mut next = 0;
        for (seg, line_scores) in segmented.iter().zip(by_line) {
            let cell_scores = net_scores.as_ref().map(|scores| scores[next..next + seg.wide.len()].to_vec());
            next += seg.wide.len();
            let scores = match (cell_scores, line_scores) {
                (Some(cells), Some(line)) => Some(
                    cells
                        .iter()
                        .zip(&line)
                        .map(|(a, b)| std::array::from_fn(|i| a[i] + b[i].max(rc.line_floor)))
                        .collect::<Vec<[f32; 37]>>(),
                ),
                (cells, line) => cells.or(line),
            };
            let alternatives = match scores {
                Some(scores) => scores
                    .iter()
                    .map(|s| recognise::alternatives(s, reader.config.top_k, 1.0, rc.network_margin))
                    .collect(),
                None => {
                    let blur = reader.templates.line_blur(&seg.cells);
                    let (lo, hi) = (blur.saturating_sub(rc.template_blur_spread), blur + rc.template_blur_spread);
                    seg.cells
                        .iter()
                        .map(|cell| {
                            let scores = reader.templates.correlate_at(cell, lo, hi);
                            recognise::alternatives(
                                &scores,
                                reader.config.top_k,
                                rc.template_score_scale,
                                rc.template_margin,
                            )
                        })
                        .collect()
                }
            };
            out.lines.push(MrzLine { alternatives });
        }
    } else {
        out.lines = segmented.iter().map(|_| MrzLine { alternatives: Vec::new() }).collect();
    }
    for seg in segmented {
        out.found.push((seg.centres, seg.band_centre));
        out.wide.push(seg.wide);
    }
    Ok(out)
}

/// Reads one candidate block: `Ok(None)` when it cannot be rectified.
fn read_block(gray: &Gray, block: &Block, reader: &MrzReader, today: mrz::Date) -> Result<Option<Attempt>, ModelError> {
    let Some(mut geom) = rectify::geometry(block, reader.config.recognition.ink_margin) else { return Ok(None) };
    let mut read = read_lines(gray, &geom, block, reader, false)?;
    // Read again where the glyphs were found: the first rectification's line ends come from the
    // ink walk in `locate`, which may overshoot or stop short and shear the strips. Ends that
    // moved by more than half a pitch were far off (background print beside the zone, a card
    // edge), and cells placed in strips that far off are themselves a little off, so the glyphs
    // are found once more before reading.
    let mut current = block.clone();
    for pass in 0..2 {
        let Some(refined) = rectify::refine(&current, &geom, &read.found, reader.config.recognition.ink_margin) else {
            break;
        };
        let Some(g) = rectify::geometry(&refined, reader.config.recognition.ink_margin) else { break };
        let moved = ends_moved(&current, &refined);
        geom = g;
        current = refined;
        if pass == 1 || moved <= 0.5 {
            break;
        }
        read = read_lines(gray, &geom, &current, reader, false)?;
    }
    read = read_lines(gray, &geom, &current, reader, true)?;
    let cells = read.lines.iter().map(|l| l.alternatives.len()).sum::<usize>().max(1) as f32;
    let confidence: f32 =
        read.lines.iter().flat_map(|l| l.alternatives.iter()).map(|a| a.first().map_or(0.0, |c| c.1)).sum::<f32>()
            / cells;
    let LinesRead { lines, wide, sharpness, saturated, .. } = read;
    let parsed = mrz::parse_alternatives(
        &lines.iter().map(|l| l.alternatives.clone()).collect::<Vec<_>>(),
        today,
        reader.config.recognition.doubt_margin,
    );
    // Among reads that are not valid, the fit is the checks passed less a quarter per corrected
    // character: a block cut at the wrong line length reads as junk that many corrections can
    // make pass a check or two, while the right block of a document whose check digit is wrong
    // passes the others with nothing corrected.
    let rank = match &parsed {
        Ok(r) if r.is_trustworthy() => Rank::Trustworthy { checks: r.checks.len(), confidence },
        Ok(r) => {
            let passed = r.checks.iter().filter(|c| c.passed).count() as f32;
            Rank::Parsed {
                fit: passed - r.corrections.len() as f32 / reader.config.search.corrections_per_check,
                confidence,
            }
        }
        Err(_) => Rank::Unparsed { confidence },
    };
    let centre = geom.to_frame.apply(geom.width as f64 / 2.0, (geom.lines - 1) as f64 / 2.0);
    let right = geom.to_frame.apply(geom.width as f64 / 2.0 + 1.0, (geom.lines - 1) as f64 / 2.0);
    let pitch_px = ((right[0] - centre[0]).powi(2) + (right[1] - centre[1]).powi(2)).sqrt();
    Ok(Some(Attempt {
        location: MrzLocation { corners: geom.corners(), pitch_px },
        lines,
        wide,
        parsed,
        sharpness,
        saturated,
        rank,
    }))
}

/// The most any line end moved from `a` to `b`, in pitches.
fn ends_moved(a: &Block, b: &Block) -> f32 {
    let dist = |p: [f32; 2], q: [f32; 2]| ((p[0] - q[0]).powi(2) + (p[1] - q[1]).powi(2)).sqrt();
    a.lines
        .iter()
        .zip(&b.lines)
        .map(|(x, y)| dist(x.start, y.start).max(dist(x.end, y.end)) / x.pitch.max(1e-3))
        .fold(0.0, f32::max)
}

/// How steep the sharpest edges of a frame are, at the scale the reader starts on (about 640 to
/// 960 pixels wide): see [`MrzReaderConfig::min_frame_steepness`]. `None` for a frame with
/// almost no contrast.
pub fn frame_steepness(frame: &Frame) -> Option<f32> {
    let (levels, start) = pyramid(Gray::from_frame(frame));
    levels[start].steepness()
}

/// A grey image in up to five scales, each half the one before, and the level to start reading
/// on: where the image is about 640-960 pixels wide (most prints fall in the glyph range there).
fn pyramid(base: Gray) -> (Vec<Gray>, usize) {
    let mut levels = vec![base];
    while levels.len() < 5 && levels[levels.len() - 1].w >= 256 && levels[levels.len() - 1].h >= 64 {
        let next = levels[levels.len() - 1].half();
        levels.push(next);
    }
    let start = levels.iter().position(|l| l.w <= 960).unwrap_or(levels.len() - 1);
    (levels, start)
}

/// Reads the MRZ in a frame. `today` resolves two-digit years and expiry (see
/// [`mrz::parse_alternatives`]). What could not be read is described by
/// [`MrzFrameRead::issue`]; the error is only a recognition model that failed to run (the
/// reader does not fall back to its templates in silence: the caller reports it).
pub fn read_mrz(frame: &Frame, reader: &MrzReader, today: mrz::Date) -> Result<MrzFrameRead, ModelError> {
    Ok(read_mrz_with_cells(frame, reader, today)?.0)
}

/// [`read_mrz`] on the frame as it is, without the upside-down and quarter-turned views: a
/// quarter of the cost where no MRZ is in view (each view costs about the same). For a caller
/// that only needs a zone printed upright, within the skew the upright view reads (the face
/// step asking whether a document is still held up: a document turned further shows its
/// portrait turned too, which the face gate's roll limit refuses anyway).
pub fn read_mrz_upright(frame: &Frame, reader: &MrzReader, today: mrz::Date) -> Result<MrzFrameRead, ModelError> {
    Ok(read_in_views(frame, reader, today, &[0])?.0)
}

/// Reads the frame turned by each of `views` (quarter turns) in order, while nothing
/// trustworthy was read ([`read_mrz`]: upright, upside down, then a quarter turn each way, for
/// a document held the wrong way round or a page photographed sideways). Small frames are enlarged first (`search.enlarge_below`): a card
/// filling such a frame prints its MRZ at 7 to 10 pixels per character, where glyphs touch and
/// the chaining loses them.
fn read_views(
    frame: &Frame,
    reader: &MrzReader,
    today: mrz::Date,
    views: &[u8],
) -> Result<(Option<Attempt>, Option<f32>), ModelError> {
    let mut gray = Gray::from_frame(frame);
    let enlarge = gray.w.max(gray.h) < reader.config.search.enlarge_below;
    if enlarge {
        gray = gray.double();
    }
    let k = if enlarge { 0.5 } else { 1.0 };
    let mut best: Option<Attempt> = None;
    let mut steepness = None;
    for &quarters in views {
        let (levels, start) = pyramid(gray.turned(quarters));
        if quarters == 0 {
            // Measured where a frame's print is judged (see `frame_steepness`): on the frame
            // itself (the enlargement's half) when it was enlarged, not on the smoother copy.
            steepness = if enlarge { levels.get(1).unwrap_or(&levels[0]) } else { &levels[start] }.steepness();
        }
        let Some(mut a) = read_levels(&levels, start, reader, today)? else { continue };
        a.location.corners = a.location.corners.map(|p| {
            let [x, y] = gray.unturn(quarters, p);
            [x * k, y * k]
        });
        a.location.pitch_px *= k;
        let done = a.rank.is_trustworthy();
        if best.as_ref().is_none_or(|b| a.rank.beats(b.rank)) {
            best = Some(a);
        }
        if done {
            break;
        }
    }
    Ok((best, steepness))
}

/// The best block read on a pyramid, stopping at the first trustworthy one.
fn read_levels(
    levels: &[Gray],
    start: usize,
    reader: &MrzReader,
    today: mrz::Date,
) -> Result<Option<Attempt>, ModelError> {
    // The start level, then finer, then coarser.
    let order = (0..=start).rev().chain(start + 1..levels.len());
    let mut best: Option<Attempt> = None;
    let mut attempts = 0;
    // Blocks of several lines first, level by level; single lines (the EU licence's, or one
    // line of a zone whose other lines were missed there) only once no level had a block of
    // several that read well, best first.
    let mut single: Vec<Block> = Vec::new();
    let attempt = |block: &Block, best: &mut Option<Attempt>| -> Result<bool, ModelError> {
        let Some(attempt) = read_block(&levels[0], block, reader, today)? else { return Ok(false) };
        let done = attempt.rank.is_trustworthy();
        if best.as_ref().is_none_or(|b| attempt.rank.beats(b.rank)) {
            *best = Some(attempt);
        }
        Ok(done)
    };
    'levels: for l in order {
        let (several, one): (Vec<Block>, Vec<Block>) =
            locate::locate(&levels[l], (1u32 << l) as f32, &reader.config.locate)
                .into_iter()
                .partition(|b| b.lines.len() > 1);
        single.extend(one.into_iter().take(reader.config.search.blocks_per_level));
        for block in several.iter().take(reader.config.search.blocks_per_level) {
            if attempts >= reader.config.search.max_attempts {
                break 'levels;
            }
            attempts += 1;
            if attempt(block, &mut best)? {
                break 'levels;
            }
        }
    }
    if best.as_ref().is_none_or(|b| !b.rank.is_trustworthy()) {
        single.sort_by(|a, b| b.score.total_cmp(&a.score));
        for block in &single {
            if attempts >= reader.config.search.max_attempts {
                break;
            }
            attempts += 1;
            if attempt(block, &mut best)? {
                break;
            }
        }
    }
    Ok(best)
}

/// The character cells of a read: per line, per position, [`NET_CELL_WIDTH`] by
/// [`NET_CELL_HEIGHT`] ink darkness values (0 = paper, 1 = ink), row-major.
pub type MrzCells = Vec<Vec<Vec<f32>>>;

/// [`read_mrz`], also giving the character cells the recogniser saw: per line, per position,
/// [`NET_CELL_WIDTH`] by [`NET_CELL_HEIGHT`] ink darkness values (0 = paper, 1 = ink),
/// row-major. This is what the recognition network is trained on (`models/mrz-ocrb/`); the
/// cells are document data, as sensitive as the frame. Fails as [`read_mrz`] does.
pub fn read_mrz_with_cells(
    frame: &Frame,
    reader: &MrzReader,
    today: mrz::Date,
) -> Result<(MrzFrameRead, MrzCells), ModelError> {
    // In quarter turns: upright, upside down, then each side.
    read_in_views(frame, reader, today, &[0, 2, 1, 3])
}

/// The frame's read and cells from the best attempt over `views` (see [`read_views`]).
fn read_in_views(
    frame: &Frame,
    reader: &MrzReader,
    today: mrz::Date,
    views: &[u8],
) -> Result<(MrzFrameRead, MrzCells), ModelError> {
    let (best, steepness) = read_views(frame, reader, today, views)?;
    let (w, h) = (frame.width() as f32, frame.height() as f32);
    Ok(match best {
        None => {
            (MrzFrameRead::NotFound { issue: quality::assess_missing(w, h, steepness, &reader.config) }, Vec::new())
        }
        Some(a) => {
            let evidence = quality::Evidence {
                frame_size: (w, h),
                corners: a.location.corners,
                pitch_px: a.location.pitch_px,
                sharpness: a.sharpness,
                saturated: a.saturated,
            };
            // Trustworthy exactly when the rank is (`Rank::Trustworthy` is a trustworthy parse).
            let reading = ZoneReading::new(a.parsed, || quality::assess(&evidence, &reader.config));
            let zone = FoundZone { location: a.location, lines: a.lines, sharpness: a.sharpness };
            (MrzFrameRead::Found { zone, reading }, a.wide)
        }
    })
}

/// The service's defaults file's reader settings and font, for the tests.
#[cfg(test)]
#[path = "../../tests/support/service_defaults.rs"]
pub(crate) mod service_defaults;

#[cfg(test)]
mod tests;
