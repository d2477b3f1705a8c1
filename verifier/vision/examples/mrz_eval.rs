//! Measures the MRZ reader on generated webcam frames: found rate, fully-right rate, character
//! error rate and time per frame on one core.
//!
//! ```text
//! cargo run --release -p vision --example mrz_eval -- [COUNT] [SEED] [WIDTHxHEIGHT] [clean] [verbose] [misses=DIR] [mrz-font=PATH|sharp] [templates|ppocr|fused] [set:KEY=VALUE ...]
//! ```
//!
//! Characters are recognised by the manifest's `mrz_recogniser` network (from `.cache/models`,
//! run by `.cache/onnxruntime`, one thread; `scripts/setup.sh` puts both there), or by the OCR-B
//! templates alone with `templates`, or by the manifest's `mrz_line_recogniser` (PP-OCRv6) with
//! `ppocr`, or by both with `fused`.
//!
//! Frames come from `datasets-synthetic` (all layouts, random pose up to 30 degrees of tilt and
//! 25 of roll, blur, glare, noise, colour casts), JPEG-encoded at the label's quality and decoded
//! again, as the service would receive them. Fonts are read from the Debian paths
//! (`fonts-ocr-b`, `fonts-dejavu-core`). Timing covers `read_mrz` only, on this thread.
//! `misses=DIR` writes each frame not read fully right to `DIR/NNNNNN.jpg` (synthetic, so no
//! personal data).
//!
//! The reader's templates and its network's training cells are rendered from the regular OCR-B
//! cut (`OCRB.otf`), and so is the generator's MRZ by default: a closed loop. `sharp` prints the
//! frames' MRZ in Debian's Sharp cut (`OCRBS.otf`, square stroke ends and corners) instead, and
//! `mrz-font=PATH` in any other OCR-B file, to measure the reader on a rendering it was not
//! made from.
//!
//! `set:KEY=VALUE` replaces one of the service's MRZ settings for the run, KEY dotted under the
//! defaults file's `[mrz]` (`set:reader.locate.ink_delta=12`, `set:consensus.unlisted=-6.0`):
//! how the settings' notes in `config/default.toml` were measured.
#![allow(clippy::disallowed_methods)] // A measurement tool: it reads fonts and the clock.

use std::collections::BTreeMap;
use std::time::Instant;

use datasets_synthetic::{Assets, Fonts, Spec, Stream, default_reference_date, document, frame, frame_of, sample_seed};
use vision::frame::decode;
use vision::mrz::{MrzConsensus, MrzReader, frame_steepness, read_mrz};

mod common;

/// Bins of the score gap between a misread cell's best character and the true one.
const GAP_BINS: [f32; 6] = [0.5, 1.0, 2.0, 3.0, 4.0, 6.0];

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let count: u64 = args.first().and_then(|a| a.parse().ok()).unwrap_or(300);
    let seed: u64 = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(7);
    let resolution = args.get(2).and_then(|a| {
        let (w, h) = a.split_once('x')?;
        Some((w.parse().ok()?, h.parse().ok()?))
    });
    let clean = args.iter().any(|a| a == "clean");
    let verbose = args.iter().any(|a| a == "verbose");
    let misses_dir = args.iter().find_map(|a| a.strip_prefix("misses="));
    let per_document: Option<u64> = args.iter().find_map(|a| a.strip_prefix("docs=")?.parse().ok());

    let (reader_settings, consensus_settings) = common::settings(&args);
    let reader = common::reader(common::Recogniser::from_args(&args), reader_settings)?;
    println!("recogniser: {}", reader.recogniser());
    let mrz_font = if args.iter().any(|a| a == "sharp") {
        Some(datasets_synthetic::raster::OCR_B_SHARP_PATH)
    } else {
        args.iter().find_map(|a| a.strip_prefix("mrz-font="))
    };
    let mut fonts = Fonts::from_debian_paths()?;
    if let Some(path) = mrz_font {
        fonts = fonts.with_mrz_font(std::fs::read(path)?)?;
    }
    println!("MRZ printed in: {}", mrz_font.unwrap_or(datasets_synthetic::raster::OCR_B_PATH));
    let assets = Assets::new(fonts, Vec::new());
    let at = default_reference_date();
    let today = common::mrz_date(at)?;
    let mut spec = Spec::new(at);
    spec.resolution = resolution;
    spec.clean = clean;
    let limits = common::LIMITS;
    if let Some(frames) = per_document {
        return documents(count, seed, frames, &reader, consensus_settings, &assets, &spec, today);
    }

    let (mut found, mut right, mut valid, mut chars, mut char_errors) = (0u64, 0u64, 0u64, 0u64, 0u64);
    let mut times = Vec::new();
    let mut times_720 = Vec::new();
    // Per frame: its steepness, whether its capture was blurred, whether an MRZ was found.
    let mut steepness: Vec<(f32, bool, bool)> = Vec::new();
    let mut issues: BTreeMap<&str, u64> = BTreeMap::new();
    let mut misses_by_layout: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let mut confusions: BTreeMap<(char, char), u64> = BTreeMap::new();
    let mut gaps = [0u64; GAP_BINS.len() + 2];
    let (mut valid_wrong, mut trusted_wrong, mut trusted) = (0u64, 0u64, 0u64);
    for i in 0..count {
        let sample = frame(sample_seed(seed, Stream::Frame, i), &assets, &spec)?;
        let image = decode(&sample.jpeg()?, &limits)?;
        let truth = &sample.label.document.content.mrz;
        let start = Instant::now();
        let read = read_mrz(&image, &reader, today)?;
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        times.push(ms);
        let c = &sample.label.capture;
        let blurred = c.defocus_radius >= 2 || c.motion_blur.is_some_and(|m| m.0 >= 8.0);
        steepness.push((frame_steepness(&image).unwrap_or(0.0), blurred, read.location().is_some()));
        if (image.width(), image.height()) == (1280, 720) {
            times_720.push(ms);
        }
        let lines: Vec<String> = read.lines().iter().map(|l| l.text().expose().clone()).collect();
        let corrected = read.corrected_text().map(|t| t.expose().clone());
        let ok = corrected.as_ref() == Some(truth);
        valid_wrong += u64::from(read.is_valid() && !ok);
        trusted_wrong += u64::from(read.is_trustworthy() && !ok);
        trusted += u64::from(read.is_trustworthy());
        found += u64::from(!read.lines().is_empty());
        right += u64::from(ok);
        valid += u64::from(read.is_valid());
        for (t, line) in truth.iter().enumerate() {
            let got = corrected.as_ref().and_then(|c| c.get(t)).or(lines.get(t));
            chars += line.len() as u64;
            char_errors += match got {
                Some(g) if g.len() == line.len() => g.bytes().zip(line.bytes()).filter(|(a, b)| a != b).count() as u64,
                _ => line.len() as u64,
            };
        }
        // Raw top-1 confusions (truth -> read) where the line lengths agree.
        for (t, l) in truth.iter().zip(read.lines().iter()) {
            if t.len() == l.alternatives.len() {
                for (tc, alts) in t.bytes().zip(&l.alternatives) {
                    let got = alts.first().map_or(b'?', |a| a.0);
                    if got != tc {
                        *confusions.entry((char::from(tc), char::from(got))).or_default() += 1;
                        let best = alts.first().map_or(0.0, |a| a.1);
                        let bin = match alts.iter().find(|a| a.0 == tc) {
                            Some(a) => GAP_BINS.iter().position(|&b| best - a.1 < b).unwrap_or(GAP_BINS.len()),
                            None => GAP_BINS.len() + 1,
                        };
                        gaps[bin] += 1;
                    }
                }
            }
        }
        let layout = format!("{:?}", sample.label.document.content.format);
        let entry = misses_by_layout.entry(layout).or_default();
        entry.0 += 1;
        entry.1 += u64::from(!ok);
        if !ok {
            *issues.entry(read.issue().map_or("read_wrong", |i| i.as_str())).or_default() += 1;
            if let Some(dir) = misses_dir {
                std::fs::create_dir_all(dir)?;
                std::fs::write(format!("{dir}/{i:06}.jpg"), sample.jpeg()?)?;
            }
            if verbose {
                let c = &sample.label.capture;
                println!(
                    "miss #{i}: {}x{} {:?} truth_valid={} issue={:?} tilt={:.0} roll={:.0} cov={:.2} blur={} motion={:?} glare={} jpeg={} found={} sharp={:?}",
                    image.width(),
                    image.height(),
                    sample.label.document.content.format,
                    matches!(mrz::parse(truth, today), Ok(r) if r.valid),
                    read.issue(),
                    c.tilt_deg,
                    c.roll_deg,
                    c.coverage,
                    c.defocus_radius,
                    c.motion_blur.map(|m| m.0.round()),
                    sample.label.glare_boxes.len(),
                    sample.label.jpeg_quality,
                    lines.len(),
                    read.sharpness(),
                );
                if let Ok(r) = mrz::parse(truth, today) {
                    let failed: Vec<String> =
                        r.checks.iter().filter(|c| !c.passed).map(|c| format!("{:?}", c.field)).collect();
                    println!("   truth: failed checks {failed:?}, corrections {}", r.corrections.len());
                }
                for (k, t) in truth.iter().enumerate() {
                    let raw = lines.get(k).map_or("-", |s| s.as_str());
                    let fixed = corrected.as_ref().and_then(|c| c.get(k)).map_or("-", |s| s.as_str());
                    println!("   {t}\n   {raw}\n   {fixed}");
                }
            }
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        if v.is_empty() { f64::NAN } else { v[v.len() / 2] }
    };
    let p95 = |v: &Vec<f64>| if v.is_empty() { f64::NAN } else { v[(v.len() * 95 / 100).min(v.len() - 1)] };
    let n = count as f64;
    println!("frames: {count} (seed {seed}, resolution {resolution:?}, clean {clean})");
    println!("found: {:.1} %", 100.0 * found as f64 / n);
    println!("fully right: {:.2} % ({right}/{count})", 100.0 * right as f64 / n);
    println!("valid (all check digits pass): {:.1} %", 100.0 * valid as f64 / n);
    println!("valid but wrong (every check passed on a misread): {valid_wrong}");
    println!("trustworthy: {:.1} %, trustworthy but wrong: {trusted_wrong}", 100.0 * trusted as f64 / n);
    println!("character error rate: {:.2} %", 100.0 * char_errors as f64 / chars.max(1) as f64);
    let m = median(&mut times);
    println!("time per frame: median {m:.1} ms, p95 {:.1} ms (all sizes)", p95(&times));
    let m7 = median(&mut times_720);
    println!("time per 1280x720 frame: median {m7:.1} ms, p95 {:.1} ms ({} frames)", p95(&times_720), times_720.len());
    println!("misses by cause: {issues:?}");
    let mut top: Vec<((char, char), u64)> = confusions.into_iter().collect();
    top.sort_by_key(|e| std::cmp::Reverse(e.1));
    let top: Vec<String> = top.iter().take(16).map(|((t, g), n)| format!("{t}>{g}:{n}")).collect();
    println!("raw confusions (truth>read, same-length lines): {}", top.join(" "));
    println!("misread cells by score gap to the truth (<{GAP_BINS:?}, more, unlisted): {gaps:?}");
    println!("misses by format (frames, misses): {misses_by_layout:?}");
    // How the frame steepness separates blurred captures (defocus radius >= 2 or motion >= 8 px),
    // overall and among the frames where no MRZ was found.
    let quantiles = |pick: &dyn Fn(&(f32, bool, bool)) -> bool| -> String {
        let mut v: Vec<f32> = steepness.iter().filter(|s| pick(s)).map(|s| s.0).collect();
        v.sort_by(f32::total_cmp);
        if v.is_empty() {
            return "none".into();
        }
        let q = |p: f32| v[((v.len() - 1) as f32 * p) as usize];
        let min = reader.config().min_frame_steepness;
        let below = v.iter().filter(|&&x| x < min).count();
        format!("{} frames, p10 {:.3} p50 {:.3} p90 {:.3}, {below} below {min}", v.len(), q(0.1), q(0.5), q(0.9))
    };
    println!("frame steepness, sharp captures: {}", quantiles(&|s| !s.1));
    println!("frame steepness, blurred captures: {}", quantiles(&|s| s.1));
    println!("frame steepness, nothing found, sharp: {}", quantiles(&|s| !s.2 && !s.1));
    println!("frame steepness, nothing found, blurred: {}", quantiles(&|s| !s.2 && s.1));
    Ok(())
}

/// The session's view: `count` documents, each shown in up to `frames` frames (one resolution
/// per document, as one camera gives; pose, light and blur change from frame to frame), fused
/// by `MrzConsensus` until it settles (two agreeing valid frames). A document is right when the
/// consensus settled on the fields of the printed MRZ (check digits that are wrong on the document
/// must stay wrong).
#[allow(clippy::too_many_arguments)]
fn documents(
    count: u64,
    seed: u64,
    frames: u64,
    reader: &MrzReader,
    settings: vision::mrz::ConsensusConfig,
    assets: &Assets,
    spec: &Spec,
    today: mrz::Date,
) -> Result<(), Box<dyn std::error::Error>> {
    let limits = common::LIMITS;
    const RESOLUTIONS: [(u32, u32); 5] = [(640, 480), (960, 540), (1280, 720), (1280, 960), (1920, 1080)];
    let (mut settled_right, mut settled_wrong, mut unsettled, mut used) = (0u64, 0u64, 0u64, 0u64);
    let mut by_format: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    for i in 0..count {
        let doc_seed = sample_seed(seed, Stream::Document, i);
        let doc = document(doc_seed, assets, spec)?;
        // The printed fields exactly: one sure alternative per position, so nothing is corrected
        // (text input may swap confusable characters to satisfy a check digit the generator
        // printed wrong on purpose), with the one-unit doubt margin of text input.
        let printed: Vec<Vec<Vec<(u8, f32)>>> =
            doc.label.content.mrz.iter().map(|l| l.bytes().map(|c| vec![(c, 0.0)]).collect()).collect();
        let truth = mrz::parse_alternatives(&printed, today, 1.0)?;
        let mut spec = spec.clone();
        spec.resolution = Some(RESOLUTIONS[(doc_seed % RESOLUTIONS.len() as u64) as usize]);
        let mut consensus = MrzConsensus::new(today, settings);
        let mut n = 0;
        while n < frames && !consensus.is_settled() {
            let sample = frame_of(&doc, sample_seed(doc_seed, Stream::Frame, n), &spec)?;
            let image = decode(&sample.jpeg()?, &limits)?;
            consensus.add(vision::frame::FrameId(n), &read_mrz(&image, reader, today)?);
            n += 1;
        }
        used += n;
        // Only a settled reading counts as read: a best guess that never settled is not one a
        // session acts on.
        let ok = match consensus.state() {
            vision::mrz::ConsensusState::Settled(s) if s.reading.same_document(&truth) => {
                settled_right += 1;
                true
            }
            vision::mrz::ConsensusState::Settled(_) => {
                settled_wrong += 1;
                false
            }
            _ => {
                unsettled += 1;
                false
            }
        };
        let entry = by_format.entry(format!("{:?}", doc.label.content.format)).or_default();
        entry.0 += 1;
        entry.1 += u64::from(!ok);
    }
    let n = count as f64;
    println!("documents: {count} (seed {seed}, at most {frames} frames each)");
    println!("settled and right: {:.2} % ({settled_right}/{count})", 100.0 * settled_right as f64 / n);
    println!("settled and wrong: {settled_wrong}, unsettled: {unsettled}");
    println!("frames used per document: mean {:.1}", used as f64 / n);
    println!("misses by format (documents, misses): {by_format:?}");
    Ok(())
}
