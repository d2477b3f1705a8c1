//! The `datasets-synthetic` command line: generate documents, frames or videos into a folder,
//! write the browser harness's set for one identity, make a contact sheet of a folder, or measure
//! frame throughput.
//!
//! Owns argument parsing, file output and progress reporting; every pixel comes from the library.
//! Output is deterministic from `--seed` (files only; the printed rate is not).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::{Parser, Subcommand, ValueEnum};
use datasets_synthetic::liveness;
use datasets_synthetic::video::{self, VideoSpec};
use datasets_synthetic::{
    Assets, Date, Fonts, Spec, Stream, default_reference_date, document, frame_of, load_faces_with, sample_seed, sheet,
};
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;

/// Frames share a rendered document in groups of this size by default (documents cost more than
/// frames, and a capture session sends many frames of one document).
const FRAMES_PER_DOCUMENT: u64 = 16;
/// Salt separating a frame group's document seed from its frames' seeds.
const GROUP_DOCUMENT_SALT: u64 = 0x0D0C_0000_0000_0001;

#[derive(Parser)]
#[command(
    name = "datasets-synthetic",
    version,
    about = "Labelled synthetic ID documents, camera frames and capture videos"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Generate samples with JSON labels into a folder.
    Generate {
        /// What to generate.
        kind: Kind,
        #[command(flatten)]
        common: Common,
        /// Output folder (created).
        #[arg(long)]
        out: PathBuf,
    },
    /// Make a PNG grid of the samples in a folder, with label overlays.
    ContactSheet {
        /// Folder of generated samples.
        #[arg(long = "in")]
        input: PathBuf,
        /// Output PNG.
        #[arg(long)]
        out: PathBuf,
        /// Most samples on the sheet.
        #[arg(long, default_value_t = 36)]
        max: usize,
    },
    /// Measure frame throughput in memory (render, place, degrade, JPEG-encode; no disk).
    Bench {
        #[command(flatten)]
        common: Common,
    },
    /// Write the browser tests' inputs for one identity: passport, TD1 back and front, driving
    /// licence, the holder's and another person's face at the challenge poses, a recorded
    /// capture of the licence, and harness.json.
    Harness {
        #[command(flatten)]
        common: Common,
        /// Output folder (created).
        #[arg(long)]
        out: PathBuf,
        /// Leave out the recorded capture (driving_licence.y4m, about 55 MB).
        #[arg(long)]
        no_video: bool,
    },
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Kind {
    Documents,
    Frames,
    Videos,
    /// Liveness sequences: `seq_NNNN/` with JPEG frames and a `label.json` (kind: genuine,
    /// print, screen, static, replay, injection; capture conditions; frame capture and arrival
    /// times; the screen flash shown; the movement asked).
    Liveness,
}

#[derive(clap::Args)]
struct Common {
    /// Number of samples (videos: sequences).
    #[arg(long, default_value_t = 100)]
    count: u64,
    /// Run seed; the same seed gives byte-identical outputs.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Folder of face photos (img*.jpg and face-recognition-pivot.csv). When absent, generated
    /// placeholder faces are used.
    #[arg(long, default_value = "../shared/datasets/faces")]
    faces: PathBuf,
    /// JSON object from photo file name to its face box `[x, y, w, h]` (as written by
    /// scripts/face_boxes.sh); heads are cropped around these boxes instead of by a heuristic.
    #[arg(long)]
    face_boxes: Option<PathBuf>,
    /// JSON object from photo file name to its face mesh `[[x, y, z], ...]` (as written by
    /// scripts/face_boxes.sh); live heads (liveness sequences) then turn in 3-D over the mesh
    /// instead of by a 2-D cylinder warp, which the verifier's face mesh under-reads.
    #[arg(long)]
    face_meshes: Option<PathBuf>,
    /// Reference date (YYYY-MM-DD) for expiry and expected decisions.
    #[arg(long)]
    at: Option<String>,
    /// Force the frame size, e.g. 1280x720.
    #[arg(long)]
    resolution: Option<String>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    threads: Option<usize>,
    /// Frames: how many frames show each document, as a capture session's frames would (each
    /// with its own pose, light and blur). 1 gives a distinct document per frame.
    #[arg(long, default_value_t = FRAMES_PER_DOCUMENT, value_parser = clap::value_parser!(u64).range(1..))]
    frames_per_document: u64,
    /// Resolution documents are rendered at, pixels per millimetre (default 12; about 300 dpi).
    /// Lower values give the small, scan-like renders a specimen collection holds; frames are
    /// then photographed from that render.
    #[arg(long)]
    px_per_mm: Option<f32>,
    /// Liveness: no screen flash between the face step and the challenge movement (each
    /// sequence then holds only the face frames and the movement).
    #[arg(long)]
    no_flash: bool,
    /// Print the MRZ in this OCR-B file instead of the regular cut (e.g. the Sharp cut,
    /// /usr/share/fonts/opentype/ocr-b/OCRBS.otf): a rendering the reader's templates and
    /// training cells were not made from.
    #[arg(long)]
    mrz_font: Option<PathBuf>,
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Generate { kind, common, out } => generate(kind, &common, &out),
        Command::ContactSheet { input, out, max } => {
            let sheet = sheet::contact_sheet_from_dir(&input, max)?;
            sheet.save(&out).with_context(|| format!("writing {}", out.display()))?;
            eprintln!("wrote {}", out.display());
            Ok(())
        }
        Command::Bench { common } => bench(&common),
        Command::Harness { common, out, no_video } => {
            let (assets, spec) = setup(&common)?;
            let start = Instant::now();
            let index = datasets_synthetic::harness::write_harness(common.seed, &assets, &spec, &out, !no_video)?;
            eprintln!(
                "harness set for seed {} ({} documents, {} faces, {} videos) in {:.1} s -> {}",
                common.seed,
                index.documents.len(),
                index.faces.values().map(|f| f.poses.len()).sum::<usize>(),
                index.videos.len(),
                start.elapsed().as_secs_f64(),
                out.display()
            );
            Ok(())
        }
    }
}

fn setup(common: &Common) -> Result<(Assets, Spec)> {
    if let Some(n) = common.threads {
        rayon::ThreadPoolBuilder::new().num_threads(n).build_global().context("configuring threads")?;
    }
    let mut fonts = Fonts::from_debian_paths()?;
    if let Some(path) = &common.mrz_font {
        let bytes = std::fs::read(path).with_context(|| format!("reading --mrz-font {}", path.display()))?;
        fonts = fonts.with_mrz_font(bytes)?;
    }
    let faces = if common.faces.is_dir() {
        let boxes: std::collections::BTreeMap<String, [f32; 4]> = match &common.face_boxes {
            Some(path) => {
                serde_json::from_slice(&std::fs::read(path).with_context(|| format!("reading {}", path.display()))?)
                    .with_context(|| format!("{} is not a JSON object of [x, y, w, h] boxes", path.display()))?
            }
            None => Default::default(),
        };
        let meshes: std::collections::BTreeMap<String, Vec<[f32; 3]>> = match &common.face_meshes {
            Some(path) => {
                serde_json::from_slice(&std::fs::read(path).with_context(|| format!("reading {}", path.display()))?)
                    .with_context(|| format!("{} is not a JSON object of [[x, y, z], ...] meshes", path.display()))?
            }
            None => Default::default(),
        };
        let faces = load_faces_with(&common.faces, &boxes, &meshes)?;
        eprintln!("{} face photos from {}", faces.len(), common.faces.display());
        faces
    } else {
        eprintln!("faces folder {} not found: using generated placeholder faces", common.faces.display());
        Vec::new()
    };
    let assets = Assets::new(fonts, faces);
    let at = match &common.at {
        Some(text) => Date::parse(text)?,
        None => default_reference_date(),
    };
    let mut spec = Spec::new(at);
    if let Some(px_per_mm) = common.px_per_mm {
        spec.px_per_mm = px_per_mm;
    }
    if let Some(r) = &common.resolution {
        let (w, h) = r.split_once('x').context("--resolution is WIDTHxHEIGHT")?;
        spec.resolution = Some((w.parse().context("resolution width")?, h.parse().context("resolution height")?));
    }
    Ok((assets, spec))
}

fn progress(count: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(count);
    if let Ok(style) = ProgressStyle::with_template(&format!(
        "{{elapsed_precise}} [{{bar:40}}] {{pos}}/{{len}} {what} ({{per_sec}}, eta {{eta}})"
    )) {
        bar.set_style(style);
    }
    bar
}

fn write(path: &Path, bytes: &[u8]) -> Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

fn generate(kind: Kind, common: &Common, out: &Path) -> Result<()> {
    let (assets, spec) = setup(common)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let (what, stream) = match kind {
        Kind::Documents => ("documents", Stream::Document),
        Kind::Frames => ("frames", Stream::Frame),
        Kind::Videos => ("videos", Stream::Video),
        Kind::Liveness => ("liveness", Stream::Liveness),
    };
    let manifest = serde_json::json!({
        "generator": concat!("datasets-synthetic ", env!("CARGO_PKG_VERSION")),
        "kind": what,
        "count": common.count,
        "frames_per_document": (kind == Kind::Frames).then_some(common.frames_per_document),
        "seed": common.seed,
        "reference_date": spec.at,
        "resolution": spec.resolution,
        "px_per_mm": spec.px_per_mm,
        "placeholder_faces": assets.placeholder_faces(),
    });
    write(&out.join("manifest.json"), serde_json::to_string_pretty(&manifest)?.as_bytes())?;
    let bar = progress(common.count, what);
    let start = Instant::now();
    let seed = common.seed;
    match kind {
        Kind::Documents => (0..common.count).into_par_iter().try_for_each(|i| -> Result<()> {
            let doc = document(sample_seed(seed, stream, i), &assets, &spec)?;
            let mut png = Vec::new();
            doc.image.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)?;
            write(&out.join(format!("{i:06}.png")), &png)?;
            write(&out.join(format!("{i:06}.json")), serde_json::to_string_pretty(&doc.label)?.as_bytes())?;
            bar.inc(1);
            Ok(())
        })?,
        Kind::Frames => {
            let per = common.frames_per_document;
            let groups = common.count.div_ceil(per);
            (0..groups).into_par_iter().try_for_each(|g| -> Result<()> {
                let doc = document(sample_seed(seed, stream, g) ^ GROUP_DOCUMENT_SALT, &assets, &spec)?;
                let end = ((g + 1) * per).min(common.count);
                for i in g * per..end {
                    let f = frame_of(&doc, sample_seed(seed, stream, i), &spec)?;
                    write(&out.join(format!("{i:06}.jpg")), &f.jpeg()?)?;
                    write(&out.join(format!("{i:06}.json")), serde_json::to_string_pretty(&f.label)?.as_bytes())?;
                    bar.inc(1);
                }
                Ok(())
            })?
        }
        Kind::Videos => (0..common.count).into_par_iter().try_for_each(|i| -> Result<()> {
            let dir = out.join(format!("seq_{i:04}"));
            let vspec = VideoSpec::new(spec.clone());
            video::write_sequence(sample_seed(seed, stream, i), &assets, &vspec, &dir)?;
            bar.inc(1);
            Ok(())
        })?,
        Kind::Liveness => (0..common.count).into_par_iter().try_for_each(|i| -> Result<()> {
            let dir = out.join(format!("seq_{i:04}"));
            let mut lspec = liveness::LivenessSpec::new();
            if let Some(r) = spec.resolution {
                lspec.resolution = r;
            }
            if common.no_flash {
                lspec.flash = None;
            }
            liveness::write_liveness(sample_seed(seed, stream, i), &assets, &lspec, &dir)?;
            bar.inc(1);
            Ok(())
        })?,
    }
    bar.finish();
    let secs = start.elapsed().as_secs_f64();
    eprintln!(
        "{} {what} in {secs:.2} s: {:.1} {what}/s on {} threads -> {}",
        common.count,
        common.count as f64 / secs.max(1e-9),
        rayon::current_num_threads(),
        out.display()
    );
    Ok(())
}

fn bench(common: &Common) -> Result<()> {
    let (assets, mut spec) = setup(common)?;
    if spec.resolution.is_none() {
        spec.resolution = Some((1280, 720));
    }
    if common.count == 0 {
        bail!("--count must be positive");
    }
    let bytes = AtomicU64::new(0);
    let start = Instant::now();
    let per = common.frames_per_document;
    let groups = common.count.div_ceil(per);
    (0..groups).into_par_iter().try_for_each(|g| -> Result<()> {
        let doc = document(sample_seed(common.seed, Stream::Frame, g) ^ GROUP_DOCUMENT_SALT, &assets, &spec)?;
        let end = ((g + 1) * per).min(common.count);
        for i in g * per..end {
            let f = frame_of(&doc, sample_seed(common.seed, Stream::Frame, i), &spec)?;
            let jpeg = f.jpeg()?;
            let json = serde_json::to_vec(&f.label)?;
            bytes.fetch_add((jpeg.len() + json.len()) as u64, Ordering::Relaxed);
        }
        Ok(())
    })?;
    let secs = start.elapsed().as_secs_f64();
    let (w, h) = spec.resolution.unwrap_or((1280, 720));
    println!(
        "{} frames {w}x{h} (documents rendered once per {per} frames, JPEG and JSON encoded in memory) in {secs:.2} s: {:.1} frames/s on {} threads, {:.1} MB",
        common.count,
        common.count as f64 / secs.max(1e-9),
        rayon::current_num_threads(),
        bytes.load(Ordering::Relaxed) as f64 / 1e6
    );
    Ok(())
}
