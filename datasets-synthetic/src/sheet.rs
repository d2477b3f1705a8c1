//! Contact sheets: a PNG grid of generated samples for eyeballing a dataset, with each label's
//! document corners (green), MRZ block (red) and portrait (blue) drawn over its thumbnail.
//!
//! Owns thumbnailing and overlay drawing; it reads a generated folder but never writes samples.

use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use image::{Rgb, RgbImage};
use serde_json::Value;

use crate::Error;

/// Thumbnail cell size.
const CELL: (u32, u32) = (320, 240);
const GAP: u32 = 6;

/// Quadrilaterals to draw on a thumbnail, in the source image's pixel coordinates, with colours.
pub type Overlay = Vec<([[f32; 2]; 4], [u8; 3])>;

/// Builds a grid of thumbnails, `columns` wide.
pub fn contact_sheet(samples: &[(RgbImage, Overlay)], columns: u32) -> RgbImage {
    let columns = columns.max(1);
    let rows = (samples.len() as u32).div_ceil(columns).max(1);
    let mut sheet =
        RgbImage::from_pixel(columns * (CELL.0 + GAP) + GAP, rows * (CELL.1 + GAP) + GAP, Rgb([32, 32, 36]));
    for (i, (img, overlay)) in samples.iter().enumerate() {
        let (col, row) = (i as u32 % columns, i as u32 / columns);
        let k = (CELL.0 as f32 / img.width().max(1) as f32).min(CELL.1 as f32 / img.height().max(1) as f32);
        let (tw, th) = (((img.width() as f32 * k) as u32).max(1), ((img.height() as f32 * k) as u32).max(1));
        let thumb = image::imageops::resize(img, tw, th, FilterType::Triangle);
        let (ox, oy) = (GAP + col * (CELL.0 + GAP) + (CELL.0 - tw) / 2, GAP + row * (CELL.1 + GAP) + (CELL.1 - th) / 2);
        image::imageops::replace(&mut sheet, &thumb, i64::from(ox), i64::from(oy));
        for (quad, color) in overlay {
            let q = quad.map(|p| [ox as f32 + p[0] * k, oy as f32 + p[1] * k]);
            for e in 0..4 {
                line(&mut sheet, q[e], q[(e + 1) % 4], Rgb(*color));
            }
        }
    }
    sheet
}

fn line(img: &mut RgbImage, a: [f32; 2], b: [f32; 2], color: Rgb<u8>) {
    let steps = ((b[0] - a[0]).abs().max((b[1] - a[1]).abs()).ceil() as usize).max(1);
    for i in 0..=steps {
        let t = i as f32 / steps as f32;
        let (x, y) = (a[0] + (b[0] - a[0]) * t, a[1] + (b[1] - a[1]) * t);
        if x >= 0.0 && y >= 0.0 && (x as u32) < img.width() && (y as u32) < img.height() {
            img.put_pixel(x as u32, y as u32, color);
        }
    }
}

fn quad(v: &Value) -> Option<[[f32; 2]; 4]> {
    let a = v.as_array()?;
    let mut out = [[0.0; 2]; 4];
    for (i, p) in a.iter().take(4).enumerate() {
        out[i] = [p.get(0)?.as_f64()? as f32, p.get(1)?.as_f64()? as f32];
    }
    (a.len() == 4).then_some(out)
}

fn rect_quad(v: &Value) -> Option<[[f32; 2]; 4]> {
    let f = |k: &str| v.get(k).and_then(Value::as_f64).map(|x| x as f32);
    let (x, y, w, h) = (f("x")?, f("y")?, f("w")?, f("h")?);
    Some([[x, y], [x + w, y], [x + w, y + h], [x, y + h]])
}

/// The overlay for a label: frame labels give corner quads, document labels give rectangles.
pub fn overlay_of(label: &Value) -> Overlay {
    let mut out = Vec::new();
    let green = [40, 230, 60];
    let red = [240, 40, 40];
    let blue = [40, 120, 255];
    if let Some(q) = label.get("corners").and_then(quad) {
        out.push((q, green));
    }
    if let Some(q) = label.get("mrz_corners").and_then(quad) {
        out.push((q, red));
    }
    if let Some(q) = label.get("portrait_corners").and_then(quad) {
        out.push((q, blue));
    }
    if let Some(g) = label.get("geometry") {
        if let Some(q) = g.get("mrz").and_then(rect_quad) {
            out.push((q, red));
        }
        if let Some(q) = g.get("portrait").and_then(rect_quad) {
            out.push((q, blue));
        }
    }
    // Video frame labels.
    if let Some(q) = label.get("document_corners").and_then(quad) {
        out.push((q, green));
    }
    if let Some(b) = label.get("face_box").and_then(Value::as_array) {
        let v: Vec<f32> = b.iter().filter_map(Value::as_f64).map(|x| x as f32).collect();
        if let [x, y, w, h] = v[..] {
            out.push(([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], blue));
        }
    }
    out
}

fn images_in(dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let rd =
        std::fs::read_dir(dir).map_err(|e| Error::Io { path: dir.display().to_string(), reason: e.to_string() })?;
    let mut files = Vec::new();
    let mut subdirs = Vec::new();
    for entry in rd.flatten() {
        let p = entry.path();
        if p.is_dir() {
            subdirs.push(p);
        } else if matches!(p.extension().and_then(|e| e.to_str()), Some("jpg" | "png")) {
            files.push(p);
        }
    }
    files.sort();
    subdirs.sort();
    if files.is_empty() {
        // Video datasets keep frames one or two levels down: take a few from each sequence.
        for d in subdirs {
            let inner = images_in(&d)?;
            let step = (inner.len() / 6).max(1);
            files.extend(inner.into_iter().step_by(step).take(6));
        }
    }
    Ok(files)
}

/// A contact sheet of up to `max` samples from a generated folder (frames or documents beside
/// their `.json` labels; video folders are searched one level down).
pub fn contact_sheet_from_dir(dir: &Path, max: usize) -> Result<RgbImage, Error> {
    let files = images_in(dir)?;
    let step = (files.len() / max.max(1)).max(1);
    let mut samples = Vec::new();
    for path in files.into_iter().step_by(step).take(max) {
        let bytes =
            std::fs::read(&path).map_err(|e| Error::Io { path: path.display().to_string(), reason: e.to_string() })?;
        let img = image::load_from_memory(&bytes)
            .map_err(|e| Error::BadImage { file: path.display().to_string(), reason: e.to_string() })?
            .to_rgb8();
        let label = std::fs::read_to_string(path.with_extension("json"))
            .ok()
            .and_then(|t| serde_json::from_str::<Value>(&t).ok());
        let overlay = label.as_ref().map(overlay_of).unwrap_or_default();
        samples.push((img, overlay));
    }
    if samples.is_empty() {
        return Err(Error::Io { path: dir.display().to_string(), reason: "no .jpg or .png samples".to_owned() });
    }
    Ok(contact_sheet(&samples, 6))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grid_size_and_overlay() {
        let img = RgbImage::from_pixel(640, 480, Rgb([200, 200, 200]));
        let label: Value = serde_json::json!({"corners": [[0, 0], [639, 0], [639, 479], [0, 479]]});
        let overlay = overlay_of(&label);
        assert_eq!(overlay.len(), 1);
        let sheet = contact_sheet(&[(img.clone(), overlay), (img, Vec::new())], 6);
        assert_eq!(sheet.width(), 6 * (CELL.0 + GAP) + GAP);
        assert_eq!(sheet.get_pixel(GAP, GAP).0, [40, 230, 60], "corner drawn");
    }
}
