//! `verifier mrz ...`: MRZ text parsing and validation, reading MRZs from images, and the
//! reader's evaluation on a labelled synthetic set.
//!
//! The output is for the operator's scripts: it carries the holder's fields in clear on stdout,
//! which is why nothing here logs.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context;
use clap::Subcommand;
use mrz::{AcceptancePolicy, Date, MrzRead};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use vision::mrz::{ConsensusState, MrzConsensus, MrzFrameRead, MrzReader, read_mrz};

use crate::config::Config;

/// MRZ subcommands.
#[derive(Debug, Subcommand)]
pub enum MrzCommand {
    /// Parse and validate MRZ text lines: format, fields, check digits and acceptance.
    Parse {
        /// The reference date for expiry and birth-date centuries (default: today, UTC).
        #[arg(long, value_name = "YYYY-MM-DD")]
        at: Option<String>,
        /// The MRZ lines, top to bottom.
        #[arg(required = true)]
        lines: Vec<String>,
    },
    /// Find and read the MRZ in images; several images are read in parallel.
    Read {
        /// The reference date for expiry and birth-date centuries (default: today, UTC).
        #[arg(long, value_name = "YYYY-MM-DD")]
        at: Option<String>,
        /// Image files (JPEG, PNG, WebP or BMP).
        #[arg(required = true)]
        images: Vec<PathBuf>,
    },
    /// Measure the reader on a folder made by `datasets-synthetic generate frames` (webcam
    /// frames) or `generate documents` (flat, scan-like renders), or on a folder of real images
    /// labelled by a `labels.json` (see `../shared/datasets/mrz-specimens/README.md`).
    Eval {
        /// The reference date for a `labels.json` folder's expiry and birth-date centuries
        /// (default: today, UTC); synthetic labels carry their own.
        #[arg(long, value_name = "YYYY-MM-DD")]
        at: Option<String>,
        /// The folder: frames or documents (`NNNNNN.jpg` or `.png` with a `NNNNNN.json` label
        /// each), or images with one `labels.json` listing `file`, `format` and `lines`.
        dir: PathBuf,
    },
}

/// The wire form of a parsed MRZ.
#[derive(Debug, Serialize)]
pub struct MrzOut {
    format: &'static str,
    valid: bool,
    /// Valid, with no malformed field and no doubtful unchecked character: safe to rely on.
    trustworthy: bool,
    /// Unchecked characters (names, codes) whose second reading came close to the first.
    doubtful: usize,
    kind: &'static str,
    document_code: String,
    issuing_state: String,
    document_number: String,
    surname: String,
    given_names: String,
    names_truncated: bool,
    nationality: Option<String>,
    birth_date: Option<String>,
    expiry_date: Option<String>,
    expiry_basis: Option<&'static str>,
    issue_date: Option<String>,
    sex: Option<&'static str>,
    optional_data: Vec<String>,
    checks: Vec<CheckOut>,
    /// Characters outside the MRZ alphabet (zero-based positions).
    invalid_characters: Vec<InvalidCharacterOut>,
    /// Fields that cannot hold a real value.
    invalid_fields: Vec<&'static str>,
    corrections: Vec<CorrectionOut>,
    acceptance: AcceptanceOut,
}

#[derive(Debug, Serialize)]
struct CheckOut {
    field: &'static str,
    passed: bool,
    /// For an overflowed TD1/TD2 document number: the rule it passed under.
    #[serde(skip_serializing_if = "Option::is_none")]
    overflow: Option<&'static str>,
}

#[derive(Debug, Serialize)]
struct InvalidCharacterOut {
    line: usize,
    column: usize,
    field: Option<&'static str>,
}

#[derive(Debug, Serialize)]
struct CorrectionOut {
    line: usize,
    column: usize,
    from: char,
    to: char,
}

#[derive(Debug, Serialize)]
struct AcceptanceOut {
    accepted: bool,
    reasons: Vec<String>,
}

impl MrzOut {
    /// The wire form of `r`, with the standard policy's verdict on day `today`.
    fn new(r: &MrzRead, today: Date) -> Self {
        let acceptance = AcceptancePolicy::standard().evaluate(r, today);
        MrzOut {
            format: r.format.as_str(),
            valid: r.valid,
            trustworthy: r.is_trustworthy(),
            doubtful: r.doubtful,
            kind: r.kind.as_str(),
            document_code: r.document_code.clone(),
            issuing_state: r.issuing_state.clone(),
            document_number: r.document_number.expose().clone(),
            surname: r.surname.expose().clone(),
            given_names: r.given_names.expose().clone(),
            names_truncated: r.names_truncated,
            nationality: r.nationality.clone(),
            birth_date: r.birth_date.as_ref().map(|d| d.expose().to_string()),
            expiry_date: r.expiry.as_ref().map(|e| e.date.to_string()),
            expiry_basis: r.expiry.as_ref().map(|e| e.basis.as_str()),
            issue_date: r.issue_date.map(|d| d.to_string()),
            sex: r.sex.map(|s| s.as_str()),
            optional_data: r.optional_data.expose().clone(),
            checks: r
                .checks
                .iter()
                .map(|c| CheckOut {
                    field: c.field.as_str(),
                    passed: c.passed,
                    overflow: c.overflow.map(|o| o.as_str()),
                })
                .collect(),
            invalid_characters: r
                .invalid_characters
                .iter()
                .map(|c| InvalidCharacterOut { line: c.line, column: c.column, field: c.field.map(|f| f.as_str()) })
                .collect(),
            invalid_fields: r.invalid_fields.iter().map(|f| f.as_str()).collect(),
            corrections: r
                .corrections
                .iter()
                .map(|c| CorrectionOut { line: c.line, column: c.column, from: c.from, to: c.to })
                .collect(),
            acceptance: AcceptanceOut {
                accepted: acceptance.is_accepted(),
                reasons: acceptance.reasons().iter().map(ToString::to_string).collect(),
            },
        }
    }
}

/// The wire form of one image's read: where the MRZ is, what was read, why not.
#[derive(Debug, Serialize)]
struct ReadOut {
    file: String,
    found: bool,
    lines: Vec<String>,
    elapsed_ms: f64,
    #[serde(skip_serializing_if = "Option::is_none")]
    issue: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    corners: Option<[[f32; 2]; 4]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    parse_error: Option<String>,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    parsed: Option<MrzOut>,
}

fn read_out(file: &Path, read: &MrzFrameRead, elapsed_ms: f64, today: Date) -> ReadOut {
    let lines = match read.corrected_text() {
        Some(text) => text.expose().clone(),
        None => read.lines().iter().map(|l| l.text().expose().clone()).collect(),
    };
    let (parsed, parse_error) = match read.parsed() {
        Some(Ok(r)) => (Some(MrzOut::new(r, today)), None),
        Some(Err(e)) => (None, Some(e.to_string())),
        None => (None, None),
    };
    ReadOut {
        file: file.display().to_string(),
        found: read.location().is_some(),
        lines,
        elapsed_ms: (elapsed_ms * 100.0).round() / 100.0,
        issue: read.issue().map(|i| i.as_str()),
        corners: read.location().map(|l| l.corners.map(|[x, y]| [x.round(), y.round()])),
        parse_error,
        parsed,
    }
}

/// `--at` as a date, or today's UTC date.
pub fn reference_date(at: Option<&str>) -> anyhow::Result<Date> {
    match at {
        Some(text) => Date::from_iso(text).with_context(|| format!("--at {text:?} is not a YYYY-MM-DD date")),
        None => {
            let now = humantime::format_rfc3339(std::time::SystemTime::now()).to_string();
            Date::from_iso(&now[..10]).with_context(|| format!("the system clock gives {now}"))
        }
    }
}

/// The MRZ reader as the configuration sets it up (see [`crate::engines::mrz_reader`]).
pub fn reader(config: &Config) -> anyhow::Result<MrzReader> {
    Ok(crate::engines::mrz_reader(None, config, &verifier_models::Manifest::embedded())?.0)
}

/// Reads one image file, timing the read (not the file I/O or decoding).
fn read_file(path: &Path, reader: &MrzReader, today: Date, config: &Config) -> anyhow::Result<(MrzFrameRead, f64)> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    let frame = vision::frame::decode(&bytes, &config.images).with_context(|| path.display().to_string())?;
    let started = Instant::now();
    let read =
        read_mrz(&frame, reader, today).with_context(|| format!("{}: the MRZ recogniser failed", path.display()))?;
    Ok((read, started.elapsed().as_secs_f64() * 1000.0))
}

/// Runs an MRZ subcommand.
pub fn run(command: MrzCommand, config: &Config) -> anyhow::Result<()> {
    match command {
        MrzCommand::Parse { at, lines } => {
            let today = reference_date(at.as_deref())?;
            let read = mrz::parse(&lines, today).context("not a machine-readable zone")?;
            crate::cli::print_json(&MrzOut::new(&read, today))
        }
        MrzCommand::Read { at, images } => {
            let today = reference_date(at.as_deref())?;
            let reader = reader(config)?;
            let started = Instant::now();
            let reads: Vec<ReadOut> = images
                .par_iter()
                .map(|path| read_file(path, &reader, today, config).map(|(r, ms)| read_out(path, &r, ms, today)))
                .collect::<anyhow::Result<_>>()?;
            let total_ms = started.elapsed().as_secs_f64() * 1000.0;
            match <[ReadOut; 1]>::try_from(reads) {
                Ok([one]) => crate::cli::print_json(&one),
                Err(reads) => crate::cli::print_json(&serde_json::json!({
                    "images": reads.len(),
                    "total_ms": (total_ms * 10.0).round() / 10.0,
                    "reads": reads,
                })),
            }
        }
        MrzCommand::Eval { at, dir } if dir.join("labels.json").is_file() => {
            let today = reference_date(at.as_deref())?;
            crate::cli::print_json(&evaluate_labelled(&dir, config, today)?)
        }
        MrzCommand::Eval { dir, .. } => crate::cli::print_json(&evaluate(&dir, config)?),
    }
}

/// The part of a `datasets-synthetic` label the evaluation needs: a frame's (the document
/// under `document`) or a flat document's (a scan-like render, the document itself).
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Label {
    Frame { document: DocumentTruth },
    Document(DocumentTruth),
}

impl Label {
    fn document(&self) -> &DocumentTruth {
        match self {
            Label::Frame { document } | Label::Document(document) => document,
        }
    }
}

#[derive(Debug, Deserialize)]
struct DocumentTruth {
    /// The document's seed: frames of one document share it (the generator renders several
    /// frames per document, as a capture session sends).
    seed: u64,
    format: String,
    kind: String,
    mrz: Vec<String>,
    expected: ExpectedTruth,
}

#[derive(Debug, Deserialize)]
struct ExpectedTruth {
    accepted: bool,
    reference_date: String,
}

#[derive(Debug, Default, Serialize)]
struct FormatScore {
    frames: usize,
    fully_right: f64,
}

#[derive(Debug, Serialize)]
struct EvalOut {
    /// What read the characters (`mrz.reader.recogniser`'s model, or `templates`).
    recogniser: String,
    /// Frames read, each on its own.
    frames: usize,
    found: f64,
    /// Share of frames whose lines were read exactly as printed.
    fully_right: f64,
    /// Distinct documents among the frames.
    documents: usize,
    /// Documents whose consensus over their frames (in file order, until it settles, as a
    /// capture session would feed it) settled on exactly the printed fields. The three counts
    /// below add up to `documents`: only a settled reading is a reading a session acts on, so a
    /// consensus whose best guess was right but never settled counts as unsettled, not right.
    documents_settled_right: usize,
    /// Documents whose consensus settled on a wrong reading: the failures that matter most.
    documents_settled_wrong: usize,
    /// Documents whose consensus never settled (collecting still, or failed) on their frames.
    documents_unsettled: usize,
    /// `documents_settled_right` over `documents`.
    documents_settled_right_rate: f64,
    /// Frames the consensus used per document, on average.
    frames_per_document: f64,
    /// Share of frames whose read was trustworthy on its own (no further frame needed).
    trustworthy: f64,
    /// Frames read trustworthily but wrongly: the failures that matter most.
    trustworthy_wrong: usize,
    decision_right: f64,
    by_format: BTreeMap<String, FormatScore>,
    driving_licences: usize,
    driving_licences_accepted: usize,
    issues: BTreeMap<&'static str, usize>,
    cer: f64,
    p50_ms: f64,
    p95_ms: f64,
}

/// One frame's outcome against its label.
struct Scored {
    document: u64,
    truth: Option<MrzRead>,
    read: MrzFrameRead,
    today: Date,
    format: String,
    driving_licence: bool,
    found: bool,
    right: bool,
    trustworthy: bool,
    accepted: bool,
    decision_right: bool,
    char_errors: usize,
    chars: usize,
    issue: Option<&'static str>,
    ms: f64,
}

/// Reads every labelled frame of `dir` and scores it: fully right means every line equals the
/// printed text; a frame accepts a document only when its read is trustworthy; the character error rate is the edit distance over the printed characters (an
/// MRZ not found counts all its characters as errors); a driving licence counts as refused
/// unless the reader accepted it.
fn evaluate(dir: &Path, config: &Config) -> anyhow::Result<EvalOut> {
    let mut labels: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot list {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension().is_some_and(|x| x == "json")
                && p.file_stem().and_then(|s| s.to_str()).is_some_and(|s| s.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    labels.sort();
    anyhow::ensure!(!labels.is_empty(), "{} holds no labelled frames (NNNNNN.json)", dir.display());
    let reader = reader(config)?;
    let scored: Vec<Scored> = labels
        .par_iter()
        .map(|label_path| {
            let text = std::fs::read_to_string(label_path).with_context(|| label_path.display().to_string())?;
            let label: Label = serde_json::from_str(&text)
                .with_context(|| format!("{} is not a frame or document label", label_path.display()))?;
            let label = label.document();
            let today = Date::from_iso(&label.expected.reference_date)
                .with_context(|| format!("{}: bad reference_date", label_path.display()))?;
            let image = ["jpg", "png"]
                .iter()
                .map(|ext| label_path.with_extension(ext))
                .find(|p| p.is_file())
                .with_context(|| format!("no image beside {}", label_path.display()))?;
            let (read, ms) = read_file(&image, &reader, today, config)?;
            let got: Vec<String> = read
                .corrected_text()
                .map(|t| t.expose().clone())
                .unwrap_or_else(|| read.lines().iter().map(|l| l.text().expose().clone()).collect());
            let truth = &label.mrz;
            let chars: usize = truth.iter().map(String::len).sum();
            let char_errors =
                if read.location().is_some() { edit_distance(&truth.join("\n"), &got.join("\n")) } else { chars };
            // A frame accepts a document only when its read can be relied on alone.
            let accepted = matches!(read.read(), Some(r)
                if r.is_trustworthy() && AcceptancePolicy::standard().evaluate(r, today).is_accepted());
            let issue = read.issue().map(|i| i.as_str());
            let found = read.location().is_some();
            Ok(Scored {
                document: label.seed,
                // The printed fields exactly: one sure alternative per position, so nothing is
                // corrected (text input may swap confusable characters to satisfy a check digit
                // printed wrong on purpose), with the one-unit doubt margin of text input.
                truth: mrz::parse_alternatives(
                    &truth.iter().map(|l| l.bytes().map(|c| vec![(c, 0.0)]).collect::<Vec<_>>()).collect::<Vec<_>>(),
                    today,
                    1.0,
                )
                .ok(),
                today,
                format: label.format.clone(),
                driving_licence: label.kind == "driving_licence",
                found,
                right: got == *truth,
                trustworthy: read.is_trustworthy(),
                accepted,
                decision_right: accepted == label.expected.accepted,
                char_errors: char_errors.min(chars),
                chars,
                issue,
                ms,
                read,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    let n = scored.len();
    let share = |count: usize, of: usize| if of == 0 { 0.0 } else { round4(count as f64 / of as f64) };
    let mut by_format: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut issues = BTreeMap::new();
    for s in &scored {
        let entry = by_format.entry(s.format.clone()).or_default();
        entry.0 += 1;
        entry.1 += usize::from(s.right);
        if let Some(issue) = s.issue {
            *issues.entry(issue).or_default() += 1;
        }
    }
    let consensus = by_document(&scored, &config.mrz.consensus);
    let mut times: Vec<f64> = scored.iter().map(|s| s.ms).collect();
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| times[((times.len() - 1) as f64 * p).round() as usize];
    let docs = consensus.len();
    let outcomes = |o: DocumentOutcome| consensus.iter().filter(|d| d.outcome == o).count();
    Ok(EvalOut {
        recogniser: reader.recogniser().to_owned(),
        frames: n,
        found: share(scored.iter().filter(|s| s.found).count(), n),
        fully_right: share(scored.iter().filter(|s| s.right).count(), n),
        documents: docs,
        documents_settled_right: outcomes(DocumentOutcome::SettledRight),
        documents_settled_wrong: outcomes(DocumentOutcome::SettledWrong),
        documents_unsettled: outcomes(DocumentOutcome::Unsettled),
        documents_settled_right_rate: share(outcomes(DocumentOutcome::SettledRight), docs),
        frames_per_document: if docs == 0 {
            0.0
        } else {
            round2(consensus.iter().map(|d| d.frames).sum::<usize>() as f64 / docs as f64)
        },
        trustworthy: share(scored.iter().filter(|s| s.trustworthy).count(), n),
        trustworthy_wrong: scored.iter().filter(|s| s.trustworthy && !s.right).count(),
        decision_right: share(scored.iter().filter(|s| s.decision_right).count(), n),
        by_format: by_format
            .into_iter()
            .map(|(f, (docs, right))| (f, FormatScore { frames: docs, fully_right: share(right, docs) }))
            .collect(),
        driving_licences: scored.iter().filter(|s| s.driving_licence).count(),
        driving_licences_accepted: scored.iter().filter(|s| s.driving_licence && s.accepted).count(),
        issues,
        cer: share(scored.iter().map(|s| s.char_errors).sum(), scored.iter().map(|s| s.chars).sum()),
        p50_ms: round2(pct(0.5)),
        p95_ms: round2(pct(0.95)),
    })
}

/// One entry of a real set's `labels.json` (the fields the evaluation needs).
#[derive(Debug, Deserialize)]
struct RealLabel {
    file: String,
    format: String,
    lines: Vec<String>,
    /// False for an image whose MRZ could not be transcribed; such images are left out.
    #[serde(default = "yes")]
    usable: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Default, Serialize)]
struct RealFormatScore {
    documents: usize,
    exact: usize,
}

/// One image the reader did not read exactly (or read trustworthily and wrongly).
#[derive(Debug, Serialize)]
struct RealMiss {
    file: String,
    format: String,
    found: bool,
    /// The format the reader settled on, when the lines parsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    read_format: Option<&'static str>,
    /// Lines read per line printed.
    line_lengths: Vec<usize>,
    /// Per printed line, the 1-based positions read wrongly (all of them when a line is missing
    /// or its length differs).
    wrong: Vec<Vec<usize>>,
    trustworthy: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    issue: Option<&'static str>,
}

#[derive(Debug, Serialize)]
struct RealEvalOut {
    recogniser: String,
    /// Images read (each on its own, one after the other on one thread).
    documents: usize,
    /// Documents whose every line was read exactly as printed (check digits that fail on the
    /// document itself included: what is printed is what counts).
    exact: usize,
    exact_rate: f64,
    lines: usize,
    lines_exact: usize,
    line_rate: f64,
    /// Edit distance over the printed characters (an MRZ not found counts every character).
    cer: f64,
    /// Reads that were trustworthy on their own.
    trustworthy: usize,
    /// Trustworthy reads that differ from the label: the failures that matter most.
    trustworthy_wrong: usize,
    /// Documents whose printed check digits all pass, and of those, read valid.
    printed_valid: usize,
    read_valid_of_printed_valid: usize,
    by_format: BTreeMap<String, RealFormatScore>,
    p50_ms: f64,
    p95_ms: f64,
    max_ms: f64,
    misread: Vec<RealMiss>,
}

/// Reads every image a `labels.json` lists, one after another on this thread (so the times are
/// one core's), and compares each read line with the printed one.
fn evaluate_labelled(dir: &Path, config: &Config, today: Date) -> anyhow::Result<RealEvalOut> {
    let path = dir.join("labels.json");
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let labels: Vec<RealLabel> =
        serde_json::from_str(&text).with_context(|| format!("{} is not a list of labels", path.display()))?;
    let labels: Vec<RealLabel> = labels.into_iter().filter(|l| l.usable).collect();
    anyhow::ensure!(!labels.is_empty(), "{} lists no usable image", path.display());
    let reader = reader(config)?;
    let mut out = RealEvalOut {
        recogniser: reader.recogniser().to_owned(),
        documents: labels.len(),
        exact: 0,
        exact_rate: 0.0,
        lines: 0,
        lines_exact: 0,
        line_rate: 0.0,
        cer: 0.0,
        trustworthy: 0,
        trustworthy_wrong: 0,
        printed_valid: 0,
        read_valid_of_printed_valid: 0,
        by_format: BTreeMap::new(),
        p50_ms: 0.0,
        p95_ms: 0.0,
        max_ms: 0.0,
        misread: Vec::new(),
    };
    let (mut errors, mut chars) = (0, 0);
    let mut times = Vec::with_capacity(labels.len());
    for label in &labels {
        let (read, ms) = read_file(&dir.join(&label.file), &reader, today, config)?;
        times.push(ms);
        let got: Vec<String> = read
            .corrected_text()
            .map(|t| t.expose().clone())
            .unwrap_or_else(|| read.lines().iter().map(|l| l.text().expose().clone()).collect());
        let printed: usize = label.lines.iter().map(String::len).sum();
        chars += printed;
        errors += if read.location().is_some() {
            edit_distance(&label.lines.join("\n"), &got.join("\n")).min(printed)
        } else {
            printed
        };
        let wrong: Vec<Vec<usize>> = label
            .lines
            .iter()
            .enumerate()
            .map(|(i, truth)| match got.get(i) {
                Some(line) if line.len() == truth.len() => truth
                    .bytes()
                    .zip(line.bytes())
                    .enumerate()
                    .filter(|(_, (a, b))| a != b)
                    .map(|(k, _)| k + 1)
                    .collect(),
                _ => (1..=truth.len()).collect(),
            })
            .collect();
        let lines_right = wrong.iter().filter(|w| w.is_empty()).count();
        let exact = got.len() == label.lines.len() && lines_right == label.lines.len();
        out.lines += label.lines.len();
        out.lines_exact += lines_right;
        out.exact += usize::from(exact);
        let format = out.by_format.entry(label.format.clone()).or_default();
        format.documents += 1;
        format.exact += usize::from(exact);
        let trustworthy = read.is_trustworthy();
        out.trustworthy += usize::from(trustworthy);
        out.trustworthy_wrong += usize::from(trustworthy && !exact);
        let printed_valid = mrz::parse(&label.lines, today).is_ok_and(|r| r.valid);
        out.printed_valid += usize::from(printed_valid);
        out.read_valid_of_printed_valid += usize::from(printed_valid && read.is_valid());
        if !exact {
            out.misread.push(RealMiss {
                file: label.file.clone(),
                format: label.format.clone(),
                found: read.location().is_some(),
                read_format: read.read().map(|r| r.format.as_str()),
                line_lengths: got.iter().map(String::len).collect(),
                wrong,
                trustworthy,
                issue: read.issue().map(|i| i.as_str()),
            });
        }
    }
    let n = labels.len();
    out.exact_rate = round4(out.exact as f64 / n as f64);
    out.line_rate = round4(out.lines_exact as f64 / out.lines.max(1) as f64);
    out.cer = round4(errors as f64 / chars.max(1) as f64);
    times.sort_by(f64::total_cmp);
    let pct = |p: f64| round2(times[((times.len() - 1) as f64 * p).round() as usize]);
    (out.p50_ms, out.p95_ms, out.max_ms) = (pct(0.5), pct(0.95), pct(1.0));
    Ok(out)
}

/// What the consensus over one document's frames gave.
struct DocumentScore {
    outcome: DocumentOutcome,
    /// Frames fed to the consensus before it settled (or all of the document's).
    frames: usize,
}

/// Where one document's consensus ended.
#[derive(Clone, Copy, PartialEq, Eq)]
enum DocumentOutcome {
    /// Settled on exactly the printed fields.
    SettledRight,
    /// Settled on a reading whose fields differ from the print.
    SettledWrong,
    /// Never settled: still collecting when the frames ran out, or failed.
    Unsettled,
}

/// Feeds each document's frames, in file order, to an [`MrzConsensus`] (settling as the
/// configuration's `mrz.consensus` says) and compares its reading with the printed MRZ's fields.
fn by_document(scored: &[Scored], settings: &vision::mrz::ConsensusConfig) -> Vec<DocumentScore> {
    let mut order: Vec<u64> = Vec::new();
    let mut groups: BTreeMap<u64, Vec<&Scored>> = BTreeMap::new();
    for s in scored {
        if !groups.contains_key(&s.document) {
            order.push(s.document);
        }
        groups.entry(s.document).or_default().push(s);
    }
    order
        .iter()
        .map(|seed| {
            let frames = &groups[seed];
            let mut consensus = MrzConsensus::new(frames[0].today, *settings);
            let mut used = 0;
            for (i, s) in frames.iter().enumerate() {
                if consensus.is_settled() {
                    break;
                }
                consensus.add(vision::frame::FrameId(i as u64), &s.read);
                used += 1;
            }
            // Only a settled reading counts: the best guess of a consensus still collecting (or
            // one that gave up) is not a reading a session acts on.
            let outcome = match (consensus.state(), &frames[0].truth) {
                (ConsensusState::Settled(settled), Some(truth)) if settled.reading.same_document(truth) => {
                    DocumentOutcome::SettledRight
                }
                (ConsensusState::Settled(_), _) => DocumentOutcome::SettledWrong,
                _ => DocumentOutcome::Unsettled,
            };
            DocumentScore { outcome, frames: used }
        })
        .collect()
}

fn round4(v: f64) -> f64 {
    (v * 10_000.0).round() / 10_000.0
}

fn round2(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

/// Levenshtein distance between two strings, by characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = (above + 1).min(row[j] + 1).min(diagonal + usize::from(ca != cb));
            diagonal = above;
        }
    }
    row[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edit_distances() {
        for (a, b, d) in [("", "", 0), ("abc", "abc", 0), ("abc", "abd", 1), ("abc", "", 3), ("P<UTO", "P<UT0X", 2)] {
            assert_eq!(edit_distance(a, b), d, "{a:?} {b:?}");
        }
    }
}
