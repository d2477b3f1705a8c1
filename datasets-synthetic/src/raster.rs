//! Drawing primitives on RGBA document images: fonts, text runs, fixed-pitch MRZ lines, filled
//! rectangles and rounded corners, and scaled image placement.
//!
//! Owns glyph rasterisation (through `ab_glyph`) and alpha blending. Layout decisions (what goes
//! where on a document) belong to [`crate::render`]; frame-level warping to [`crate::warp`].
//!
//! Images are `image::RgbaImage`: 8-bit sRGB, straight (not premultiplied) alpha, row-major.

use std::path::Path;

use ab_glyph::{Font, FontArc, GlyphId, PxScale, ScaleFont, point};
use image::{Rgb, RgbImage, Rgba, RgbaImage};

use crate::Error;

/// Where Debian's `fonts-ocr-b` installs OCR-B.
pub const OCR_B_PATH: &str = "/usr/share/fonts/opentype/ocr-b/OCRB.otf";
/// Where Debian's `fonts-ocr-b` installs its "Sharp" cut of OCR-B (square stroke ends and
/// corners where the regular cut is rounded): a second rendering of the MRZ for evaluation,
/// since the reader's templates and training cells come from [`OCR_B_PATH`] (see
/// [`Fonts::with_mrz_font`]).
pub const OCR_B_SHARP_PATH: &str = "/usr/share/fonts/opentype/ocr-b/OCRBS.otf";
/// Where Debian's `fonts-dejavu-core` installs DejaVu Sans.
pub const SANS_PATH: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf";
/// Where Debian's `fonts-dejavu-core` installs DejaVu Sans Bold.
pub const SANS_BOLD_PATH: &str = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf";

/// The fonts documents are printed with: OCR-B for the MRZ, a sans-serif for everything else.
#[derive(Clone, Debug)]
pub struct Fonts {
    /// OCR-B (ICAO 9303 part 3, 4.2: the MRZ typeface).
    pub ocr_b: FontArc,
    /// Regular text face.
    pub sans: FontArc,
    /// Bold text face.
    pub sans_bold: FontArc,
}

impl Fonts {
    /// Parses the three fonts from file bytes (TrueType or OpenType).
    pub fn from_bytes(ocr_b: Vec<u8>, sans: Vec<u8>, sans_bold: Vec<u8>) -> Result<Fonts, Error> {
        let parse = |bytes: Vec<u8>, name: &'static str| {
            FontArc::try_from_vec(bytes).map_err(|_| Error::BadFont { name: name.to_owned() })
        };
        Ok(Fonts {
            ocr_b: parse(ocr_b, "OCR-B")?,
            sans: parse(sans, "sans")?,
            sans_bold: parse(sans_bold, "sans bold")?,
        })
    }

    /// Reads the Debian fonts from their standard paths ([`OCR_B_PATH`], [`SANS_PATH`],
    /// [`SANS_BOLD_PATH`]). The error names the Debian package to install.
    pub fn from_debian_paths() -> Result<Fonts, Error> {
        let read = |path: &str, package: &'static str| {
            std::fs::read(Path::new(path)).map_err(|e| Error::MissingFont {
                path: path.to_owned(),
                package,
                reason: e.to_string(),
            })
        };
        Fonts::from_bytes(
            read(OCR_B_PATH, "fonts-ocr-b")?,
            read(SANS_PATH, "fonts-dejavu-core")?,
            read(SANS_BOLD_PATH, "fonts-dejavu-core")?,
        )
    }

    /// The same fonts with the MRZ printed in another OCR-B file (another cut, such as
    /// [`OCR_B_SHARP_PATH`]): the reader is built from the regular cut, so frames printed in
    /// another one measure it outside the loop its templates and training cells close.
    pub fn with_mrz_font(self, ocr_b: Vec<u8>) -> Result<Fonts, Error> {
        let ocr_b = FontArc::try_from_vec(ocr_b).map_err(|_| Error::BadFont { name: "MRZ OCR-B".to_owned() })?;
        Ok(Fonts { ocr_b, ..self })
    }
}

/// The pixel scale that gives `font` a capital height of `cap_px` pixels.
pub fn scale_for_cap_height(font: &FontArc, cap_px: f32) -> PxScale {
    let id = font.glyph_id('H');
    // Outline bounds are in font units with y up, so min.y is the top: take the magnitude.
    let cap_units =
        font.outline(id).map(|o| (o.bounds.max.y - o.bounds.min.y).abs()).unwrap_or(font.ascent_unscaled() * 0.7);
    let height = font.height_unscaled();
    PxScale::from(cap_px * height / cap_units.max(1.0))
}

/// Blends `color` (with its alpha scaled by `coverage` in 0..=1) over the pixel at (x, y).
#[inline]
pub fn blend(img: &mut RgbaImage, x: i64, y: i64, color: Rgba<u8>, coverage: f32) {
    if x < 0 || y < 0 || x >= i64::from(img.width()) || y >= i64::from(img.height()) {
        return;
    }
    let a = (coverage.clamp(0.0, 1.0) * f32::from(color.0[3]) / 255.0).clamp(0.0, 1.0);
    if a <= 0.0 {
        return;
    }
    // Bounds checked above, so the casts are exact.
    let p = img.get_pixel_mut(x as u32, y as u32);
    for c in 0..3 {
        let dst = f32::from(p.0[c]);
        p.0[c] = (dst + (f32::from(color.0[c]) - dst) * a + 0.5) as u8;
    }
    let da = f32::from(p.0[3]) / 255.0;
    p.0[3] = ((da + a * (1.0 - da)) * 255.0 + 0.5) as u8;
}

/// Draws one glyph with its origin (pen position on the baseline) at (x, baseline).
fn draw_glyph(
    img: &mut RgbaImage,
    font: &FontArc,
    scale: PxScale,
    id: GlyphId,
    x: f32,
    baseline: f32,
    color: Rgba<u8>,
) {
    let glyph = id.with_scale_and_position(scale, point(x, baseline));
    if let Some(outlined) = font.outline_glyph(glyph) {
        let b = outlined.px_bounds();
        let (bx, by) = (b.min.x as i64, b.min.y as i64);
        outlined.draw(|gx, gy, cov| blend(img, bx + i64::from(gx), by + i64::from(gy), color, cov));
    }
}

/// Width in pixels of `text` set in `font` at `scale` (with kerning).
pub fn text_width(font: &FontArc, scale: PxScale, text: &str) -> f32 {
    let sf = font.as_scaled(scale);
    let mut width = 0.0;
    let mut prev: Option<GlyphId> = None;
    for c in text.chars() {
        let id = sf.glyph_id(c);
        if let Some(p) = prev {
            width += sf.kern(p, id);
        }
        width += sf.h_advance(id);
        prev = Some(id);
    }
    width
}

/// Draws `text` starting at pen position (x, baseline); returns the advance width.
pub fn draw_text(
    img: &mut RgbaImage,
    font: &FontArc,
    scale: PxScale,
    x: f32,
    baseline: f32,
    color: Rgba<u8>,
    text: &str,
) -> f32 {
    let sf = font.as_scaled(scale);
    let mut pen = x;
    let mut prev: Option<GlyphId> = None;
    for c in text.chars() {
        let id = sf.glyph_id(c);
        if let Some(p) = prev {
            pen += sf.kern(p, id);
        }
        draw_glyph(img, font, scale, id, pen, baseline, color);
        pen += sf.h_advance(id);
        prev = Some(id);
    }
    pen - x
}

/// Draws `text` so that it fits in `max_width` pixels, shrinking the scale if needed.
pub fn draw_text_fit(
    img: &mut RgbaImage,
    font: &FontArc,
    scale: PxScale,
    x: f32,
    baseline: f32,
    max_width: f32,
    color: Rgba<u8>,
    text: &str,
) {
    let w = text_width(font, scale, text);
    let scale = if w > max_width && w > 0.0 {
        let k = max_width / w;
        PxScale { x: scale.x * k, y: scale.y * k.max(0.75) }
    } else {
        scale
    };
    draw_text(img, font, scale, x, baseline, color, text);
}

/// Draws an MRZ line at a fixed character pitch: character `i` is centred in the cell starting at
/// `x0 + i * pitch_px` (ICAO 9303 part 3, 4.2.2: constant pitch; OCR-B glyphs are centred).
pub fn draw_mrz_line(
    img: &mut RgbaImage,
    font: &FontArc,
    scale: PxScale,
    x0: f32,
    baseline: f32,
    pitch_px: f32,
    print: MrzPrint,
    line: &str,
) {
    let scale = PxScale { x: scale.x * print.width, y: scale.y };
    let sf = font.as_scaled(scale);
    for (i, c) in line.chars().enumerate() {
        let id = sf.glyph_id(c);
        let advance = sf.h_advance(id);
        let x = x0 + i as f32 * pitch_px + (pitch_px - advance) / 2.0;
        if print.bold_px <= 0.0 {
            draw_glyph(img, font, scale, id, x, baseline, print.ink);
            continue;
        }
        // Dilate the glyph's coverage by `bold_px`: the most any copy shifted around a circle
        // of that radius covers, blended once.
        let r = print.bold_px;
        let glyph = id.with_scale_and_position(scale, point(x, baseline));
        let Some(outlined) = font.outline_glyph(glyph) else { continue };
        let b = outlined.px_bounds();
        let pad = r.ceil() as i64 + 1;
        let (bx, by) = (b.min.x as i64 - pad, b.min.y as i64 - pad);
        let (bw, bh) = ((b.width() as i64 + 2 * pad + 1) as usize, (b.height() as i64 + 2 * pad + 1) as usize);
        let mut cover = vec![0f32; bw * bh];
        let offsets = std::iter::once((0.0, 0.0))
            .chain((0..12).map(|k| (k as f32 * std::f32::consts::TAU / 12.0).sin_cos()).map(|(s, c)| (c * r, s * r)));
        for (dx, dy) in offsets {
            let shifted = id.with_scale_and_position(scale, point(x + dx, baseline + dy));
            if let Some(o) = font.outline_glyph(shifted) {
                let ob = o.px_bounds();
                let (ox, oy) = (ob.min.x as i64 - bx, ob.min.y as i64 - by);
                o.draw(|gx, gy, cov| {
                    let (px, py) = (ox + i64::from(gx), oy + i64::from(gy));
                    if px >= 0 && py >= 0 && (px as usize) < bw && (py as usize) < bh {
                        let slot = &mut cover[py as usize * bw + px as usize];
                        *slot = slot.max(cov);
                    }
                });
            }
        }
        for (k, &cov) in cover.iter().enumerate() {
            if cov > 0.0 {
                blend(img, bx + (k % bw) as i64, by + (k / bw) as i64, print.ink, cov);
            }
        }
    }
}

/// How one document's MRZ is printed. Printers and laser engravers differ from the font file
/// in stroke weight, tone and glyph width, so a reader must not learn one rendering.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MrzPrint {
    /// Ink colour.
    pub ink: Rgba<u8>,
    /// Strokes thickened by this many pixels on each side (0: the font's own weight).
    pub bold_px: f32,
    /// Glyph width relative to the font's (the pitch stays the format's).
    pub width: f32,
}

/// Fills the rectangle [x0, x1) x [y0, y1) (pixel coordinates, clipped) by blending `color`.
pub fn fill_rect(img: &mut RgbaImage, x0: f32, y0: f32, x1: f32, y1: f32, color: Rgba<u8>) {
    let (w, h) = (img.width() as f32, img.height() as f32);
    let (xa, xb) = (x0.max(0.0).round() as i64, x1.min(w).round() as i64);
    let (ya, yb) = (y0.max(0.0).round() as i64, y1.min(h).round() as i64);
    for y in ya..yb {
        for x in xa..xb {
            blend(img, x, y, color, 1.0);
        }
    }
}

/// Outlines the rectangle with a line `thickness` pixels wide, inside the rectangle.
pub fn stroke_rect(img: &mut RgbaImage, x0: f32, y0: f32, x1: f32, y1: f32, thickness: f32, color: Rgba<u8>) {
    fill_rect(img, x0, y0, x1, y0 + thickness, color);
    fill_rect(img, x0, y1 - thickness, x1, y1, color);
    fill_rect(img, x0, y0, x0 + thickness, y1, color);
    fill_rect(img, x1 - thickness, y0, x1, y1, color);
}

/// Makes the image's corners transparent outside a quarter circle of `radius` pixels (ID-1 cards
/// have 3.18 mm corner radii, ISO/IEC 7810), anti-aliased over one pixel.
pub fn round_corners(img: &mut RgbaImage, radius: f32) {
    let (w, h) = (img.width(), img.height());
    let r = radius.max(0.0);
    let ri = r.ceil() as u32;
    for y in 0..ri.min(h) {
        for x in 0..ri.min(w) {
            // Distance from the corner circle's centre, for the top-left corner's pixel (x, y).
            let dx = r - (x as f32 + 0.5);
            let dy = r - (y as f32 + 0.5);
            let d = (dx * dx + dy * dy).sqrt();
            let keep = (r - d + 0.5).clamp(0.0, 1.0);
            for (px, py) in [(x, y), (w - 1 - x, y), (x, h - 1 - y), (w - 1 - x, h - 1 - y)] {
                let p = img.get_pixel_mut(px, py);
                p.0[3] = (f32::from(p.0[3]) * keep) as u8;
            }
        }
    }
}

/// Draws `src` scaled (bilinear) into the rectangle at (x, y) of size (w, h), blended with opacity
/// `alpha`. With `grey` the source is converted to luminance first (ghost images and grey
/// portraits are printed that way).
#[allow(clippy::too_many_arguments)]
pub fn draw_image(
    img: &mut RgbaImage,
    src: &RgbImage,
    x: f32,
    y: f32,
    w: f32,
    h: f32,
    alpha: f32,
    grey: bool,
    tint: [f32; 3],
) {
    if src.width() == 0 || src.height() == 0 || w < 1.0 || h < 1.0 {
        return;
    }
    let (sw, sh) = (src.width() as f32, src.height() as f32);
    let (x0, y0) = (x.round() as i64, y.round() as i64);
    let (wi, hi) = (w.round() as i64, h.round() as i64);
    for j in 0..hi {
        let v = ((j as f32 + 0.5) / h * sh - 0.5).clamp(0.0, sh - 1.0);
        for i in 0..wi {
            let u = ((i as f32 + 0.5) / w * sw - 0.5).clamp(0.0, sw - 1.0);
            let [r, g, b] = sample_rgb(src, u, v);
            let c = if grey {
                let l = 0.299 * r + 0.587 * g + 0.114 * b;
                [l * tint[0], l * tint[1], l * tint[2]]
            } else {
                [r * tint[0], g * tint[1], b * tint[2]]
            };
            let color =
                Rgba([c[0].clamp(0.0, 255.0) as u8, c[1].clamp(0.0, 255.0) as u8, c[2].clamp(0.0, 255.0) as u8, 255]);
            blend(img, x0 + i, y0 + j, color, alpha);
        }
    }
}

/// Bilinear sample of an RGB image at continuous texel coordinates (clamped to the image).
pub fn sample_rgb(src: &RgbImage, u: f32, v: f32) -> [f32; 3] {
    let (w, h) = (src.width(), src.height());
    if w == 0 || h == 0 {
        return [0.0; 3];
    }
    let u = u.clamp(0.0, (w - 1) as f32);
    let v = v.clamp(0.0, (h - 1) as f32);
    let (x0, y0) = (u.floor() as u32, v.floor() as u32);
    let (x1, y1) = ((x0 + 1).min(w - 1), (y0 + 1).min(h - 1));
    let (fx, fy) = (u - x0 as f32, v - y0 as f32);
    let p = |x, y| -> [f32; 3] {
        let Rgb(c) = *src.get_pixel(x, y);
        [f32::from(c[0]), f32::from(c[1]), f32::from(c[2])]
    };
    let (a, b, c, d) = (p(x0, y0), p(x1, y0), p(x0, y1), p(x1, y1));
    let mut out = [0.0; 3];
    for k in 0..3 {
        let top = a[k] + (b[k] - a[k]) * fx;
        let bottom = c[k] + (d[k] - c[k]) * fx;
        out[k] = top + (bottom - top) * fy;
    }
    out
}
