//! Exports labelled character cells for training the MRZ recognition network
//! (`models/mrz-ocrb/train.py`):
//!
//! ```text
//! cargo run --release -p vision --example mrz_cells -- COUNT SEED OUT.bin [templates] [documents]
//! ```
//!
//! Each frame from `datasets-synthetic` goes through the reader as the service runs it
//! (JPEG-encoded and decoded, located, rectified, segmented); the cells it cut are labelled with
//! the label's MRZ characters. With `documents`, the images are flat document renders instead,
//! like scans and specimen images: each at its own resolution (5.5 to 16 pixels per millimetre,
//! so the MRZ pitch runs from 14 to 41 pixels), half of them JPEG-encoded at quality 60 to 95.
//!
//! A line is kept only when the reader cut the right number of cells and its reading agrees
//! with the truth best with no shift, so a line whose cells slipped by one is not taught with
//! the wrong labels. Records are `1 + NET_CELL_WIDTH * NET_CELL_HEIGHT` bytes:
//! the character's index in `0-9A-Z<`, then the darkness values scaled to 0..=255, row-major.
//!
//! Use other seeds than the evaluations (`mrz_eval`, `verifier mrz eval`) so the network is never
//! judged on frames it was trained on.
#![allow(clippy::disallowed_methods)] // A data export tool: it reads fonts and writes a file.

use std::io::{Cursor, Write};
use std::sync::atomic::{AtomicU64, Ordering};

use datasets_synthetic::{Assets, Fonts, Spec, Stream, default_reference_date, document, frame, sample_seed};
use vision::frame::decode;
use vision::mrz::read_mrz_with_cells;

mod common;

const ALPHABET: &[u8; 37] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ<";
/// Share of a line's characters its reading must get right at no shift (a reading that slipped
/// by a cell agrees far less, but blurred lines are worth teaching even when read badly).
const MIN_AGREEMENT: f32 = 0.35;

fn agreement(truth: &[u8], read: &[u8], shift: i64) -> usize {
    truth
        .iter()
        .enumerate()
        .filter(|&(i, &t)| {
            let j = i as i64 + shift;
            j >= 0 && (j as usize) < read.len() && read[j as usize] == t
        })
        .count()
}

/// A flat render of document `i`, encoded as a scan would be, and its MRZ lines.
fn scan(seed: u64, i: u64, assets: &Assets, spec: &Spec) -> Result<(Vec<u8>, Vec<String>), String> {
    let s = sample_seed(seed, Stream::Document, i);
    // Independent draws from the sample's seed (splitmix64 steps).
    let draw = |k: u64| {
        let mut z = s.wrapping_add(k.wrapping_mul(0x9E37_79B9_7F4A_7C15));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f32 / (1u64 << 53) as f32
    };
    let spec = Spec { px_per_mm: 5.5 + 10.5 * draw(1), ..spec.clone() };
    let doc = document(s, assets, &spec).map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    if draw(2) < 0.5 {
        let rgb = image::DynamicImage::ImageRgba8(doc.image).to_rgb8();
        let quality = 60 + (35.0 * draw(3)) as u8;
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality)
            .encode_image(&rgb)
            .map_err(|e| e.to_string())?;
    } else {
        doc.image.write_to(&mut Cursor::new(&mut bytes), image::ImageFormat::Png).map_err(|e| e.to_string())?;
    }
    Ok((bytes, doc.label.content.mrz))
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let count: u64 = args.first().and_then(|a| a.parse().ok()).ok_or("usage: COUNT SEED OUT.bin")?;
    let seed: u64 = args.get(1).and_then(|a| a.parse().ok()).ok_or("usage: COUNT SEED OUT.bin")?;
    let out = args.get(2).ok_or("usage: COUNT SEED OUT.bin")?;

    // The network, when there is one, reads the lines that decide which are kept: it reads
    // blurred lines the templates cannot, so they are taught too.
    let reader = common::reader(common::Recogniser::from_args(&args), common::settings(&args).0)?;
    let scans = args.iter().any(|a| a == "documents");
    let assets = Assets::new(Fonts::from_debian_paths()?, Vec::new());
    let at = default_reference_date();
    let today = common::mrz_date(at)?;
    let spec = Spec::new(at);
    let limits = common::LIMITS;

    let workers = std::thread::available_parallelism().map_or(1, |n| n.get()) as u64;
    let (kept_lines, skipped_lines) = (AtomicU64::new(0), AtomicU64::new(0));
    let chunks: Vec<Vec<u8>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..workers)
            .map(|wkr| {
                let (assets, spec, reader, limits) = (&assets, &spec, &reader, &limits);
                let (kept_lines, skipped_lines) = (&kept_lines, &skipped_lines);
                scope.spawn(move || -> Result<Vec<u8>, String> {
                    let mut buf = Vec::new();
                    for i in (wkr..count).step_by(workers as usize) {
                        let (bytes, truth) = if scans {
                            scan(seed, i, assets, spec)?
                        } else {
                            let sample =
                                frame(sample_seed(seed, Stream::Frame, i), assets, spec).map_err(|e| e.to_string())?;
                            (sample.jpeg().map_err(|e| e.to_string())?, sample.label.document.content.mrz)
                        };
                        let image = decode(&bytes, limits).map_err(|e| e.to_string())?;
                        let (read, cells) = read_mrz_with_cells(&image, reader, today).map_err(|e| e.to_string())?;
                        if read.lines().len() != truth.len() {
                            skipped_lines.fetch_add(truth.len() as u64, Ordering::Relaxed);
                            continue;
                        }
                        for ((t, line), line_cells) in truth.iter().zip(read.lines()).zip(&cells) {
                            let text = line.text().expose().clone();
                            let (t, r) = (t.as_bytes(), text.as_bytes());
                            let here = agreement(t, r, 0);
                            let slipped = [-2, -1, 1, 2].into_iter().map(|s| agreement(t, r, s)).max().unwrap_or(0);
                            if t.len() != line_cells.len()
                                || here <= slipped
                                || (here as f32) < MIN_AGREEMENT * t.len() as f32
                            {
                                skipped_lines.fetch_add(1, Ordering::Relaxed);
                                continue;
                            }
                            kept_lines.fetch_add(1, Ordering::Relaxed);
                            for (&c, cell) in t.iter().zip(line_cells) {
                                let Some(label) = ALPHABET.iter().position(|&a| a == c) else { continue };
                                buf.push(label as u8);
                                buf.extend(cell.iter().map(|v| (v.clamp(0.0, 1.0) * 255.0).round() as u8));
                            }
                        }
                    }
                    Ok(buf)
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("worker panicked")).collect::<Result<_, _>>()
    })?;
    let mut file = std::io::BufWriter::new(std::fs::File::create(out)?);
    let mut records = 0;
    for chunk in &chunks {
        file.write_all(chunk)?;
        records += chunk.len() / (1 + vision::mrz::NET_CELL_WIDTH * vision::mrz::NET_CELL_HEIGHT);
    }
    file.flush()?;
    println!(
        "{records} cells from {} lines ({} lines skipped), {}x{} each, to {out}",
        kept_lines.load(Ordering::Relaxed),
        skipped_lines.load(Ordering::Relaxed),
        vision::mrz::NET_CELL_WIDTH,
        vision::mrz::NET_CELL_HEIGHT,
    );
    Ok(())
}
