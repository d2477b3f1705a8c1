//! The document portrait: which face in a document frame is the holder's printed photo, and why
//! none was taken when none fits.
//!
//! On the MRZ side ([`find_portrait`]), the document's outline is placed from the MRZ's
//! geometry and the format's layout (ICAO 9303 parts 4 to 6: the MRZ's width at the 2.54 mm
//! pitch gives the scale, its direction the document's axes, its position near the bottom edge
//! the rest), and a face is taken only where the layout prints the portrait (the left part of
//! the data page, between the header and the MRZ) at a size a printed portrait can have. A face
//! bigger than that, or outside the outline, is refused: it is a live face, typically the
//! holder's own held beside or above someone else's document. The frame is turned so the MRZ
//! reads horizontally first (YuNet finds upright faces); landmarks are mapped back to the frame,
//! so alignment samples the original pixels once.
//!
//! On the front of a TD1 card with its MRZ on the back (the French card since 2021),
//! [`find_front_portrait`] finds the card itself (see `card.rs`) and takes the face in its
//! portrait zone.
//!
//! Each portrait found carries its size and sharpness (`portrait_quality.rs`); the gate that
//! refuses a small or blurred one is the caller's. What it leaves out: glare, and refining the
//! outline with the document's own edges on the MRZ side.

use super::card::{CardConfig, find_card};
use super::portrait_quality::{PortraitQuality, measure_portrait};
use super::{DetectedFace, FaceAnalyzer, FaceBox};
use crate::face::Embedding;
use crate::face::align::{Similarity, warp};
use crate::frame::Frame;
use crate::model::ModelError;
use crate::mrz::{MrzFrameRead, MrzLocation};

/// MRZ character pitch of every ICAO 9303 format, millimetres (10 characters per inch).
pub const MRZ_PITCH_MM: f32 = 2.54;
/// MRZ line spacing, millimetres (6 lines per inch; ICAO 9303 part 3).
const MRZ_LINE_SPACING_MM: f32 = 4.23;

/// Portrait-finding settings; from configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PortraitConfig {
    /// A face box narrower than this, in document millimetres, is no main portrait (a ghost
    /// image, a face in the background print).
    pub min_face_mm: f32,
    /// A face box wider than this, in document millimetres, cannot be printed in the portrait
    /// zone: it is a live face.
    pub max_face_mm: f32,
    /// The card search on a TD1 front.
    pub card: CardConfig,
}

/// Document layouts with a known portrait position relative to the MRZ (ICAO 9303 parts 4-6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DocumentLayout {
    /// TD1 card, 85.6 x 54 mm, 3 lines of 30: the MRZ is on the back; no portrait there.
    Td1,
    /// TD2 card or MRV-B visa, 105 x 74 mm, 2 lines of 36: portrait on the left of the MRZ side.
    Td2,
    /// TD3 passport data page (or MRV-A visa), 125 x 88 mm, 2 lines of 44: portrait on the left.
    Td3,
    /// French identity card before 2021: ID-1 card, 2 lines of 36 at a narrower pitch, portrait
    /// on the left of the MRZ side.
    FrenchIdLegacy,
}

impl DocumentLayout {
    /// The layout of an MRZ format; `None` for formats whose layout is not an ICAO one (driving
    /// licences).
    pub fn of_format(format: mrz::Format) -> Option<DocumentLayout> {
        match format {
            mrz::Format::Td1 => Some(DocumentLayout::Td1),
            mrz::Format::Td2 | mrz::Format::MrvB => Some(DocumentLayout::Td2),
            mrz::Format::Td3 | mrz::Format::MrvA => Some(DocumentLayout::Td3),
            mrz::Format::FrId => Some(DocumentLayout::FrenchIdLegacy),
            _ => None,
        }
    }

    /// The layout of a frame's MRZ: its parsed format, else its line lengths (3 x 30, 2 x 36,
    /// 2 x 44).
    pub fn of_read(read: &MrzFrameRead) -> Option<DocumentLayout> {
        if let Some(r) = read.read() {
            return DocumentLayout::of_format(r.format);
        }
        let lengths: Vec<usize> = read.lines().iter().map(|l| l.alternatives.len()).collect();
        match lengths.as_slice() {
            [30, 30, 30] => Some(DocumentLayout::Td1),
            [36, 36] => Some(DocumentLayout::Td2),
            [44, 44] => Some(DocumentLayout::Td3),
            _ => None,
        }
    }

    /// Width and height, millimetres (ISO/IEC 7810 ID-1, ID-2, ID-3).
    pub fn size_mm(self) -> (f32, f32) {
        match self {
            DocumentLayout::Td1 | DocumentLayout::FrenchIdLegacy => (85.6, 54.0),
            DocumentLayout::Td2 => (105.0, 74.0),
            DocumentLayout::Td3 => (125.0, 88.0),
        }
    }

    /// Lines, characters per line, pitch (mm) and the distance from the document's bottom edge
    /// to the last line's baseline (mm).
    fn mrz(self) -> (usize, usize, f32, f32) {
        match self {
            // ICAO 9303 part 5: the TD1 zone's last baseline sits about 3.5 mm above the edge.
            DocumentLayout::Td1 => (3, 30, MRZ_PITCH_MM, 3.6),
            DocumentLayout::Td2 => (2, 36, MRZ_PITCH_MM, 3.6),
            // Part 4: the TD3 zone's last baseline about 5 mm above the edge.
            DocumentLayout::Td3 => (2, 44, MRZ_PITCH_MM, 5.0),
            // 36 characters across 79.6 mm of an 85.6 mm card.
            DocumentLayout::FrenchIdLegacy => (2, 36, 79.6 / 36.0, 3.6),
        }
    }

    /// Whether the layout prints the holder's portrait on the MRZ side.
    pub fn portrait_on_mrz_side(self) -> bool {
        self != DocumentLayout::Td1
    }
}

/// Where the document lies in the frame, as placed from its MRZ (or found from its edges).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DocumentOutline {
    /// The layout assumed.
    pub layout: DocumentLayout,
    /// Corners in frame pixels: top-left, top-right, bottom-right, bottom-left of the document
    /// upright.
    pub corners: [[f32; 2]; 4],
    /// Frame pixels per document millimetre.
    pub px_per_mm: f32,
}

/// Document millimetres (x right, y down from the top-left corner, document upright) to frame
/// pixels: a similarity (perspective is left to the tolerances).
#[derive(Debug, Clone, Copy)]
struct DocumentFrame {
    origin: [f32; 2],
    across: [f32; 2],
    down: [f32; 2],
    px_per_mm: f32,
}

impl DocumentFrame {
    fn to_frame(self, [x, y]: [f32; 2]) -> [f32; 2] {
        let s = self.px_per_mm;
        [
            self.origin[0] + s * (x * self.across[0] + y * self.down[0]),
            self.origin[1] + s * (x * self.across[1] + y * self.down[1]),
        ]
    }

    fn to_document(self, p: [f32; 2]) -> [f32; 2] {
        let d = [p[0] - self.origin[0], p[1] - self.origin[1]];
        let s = self.px_per_mm;
        [(d[0] * self.across[0] + d[1] * self.across[1]) / s, (d[0] * self.down[0] + d[1] * self.down[1]) / s]
    }

    fn outline(&self, layout: DocumentLayout) -> DocumentOutline {
        let (w, h) = layout.size_mm();
        DocumentOutline {
            layout,
            corners: [[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]].map(|p| self.to_frame(p)),
            px_per_mm: self.px_per_mm,
        }
    }
}

/// The document's axes and scale from its MRZ: the zone's width over its characters gives the
/// scale, its direction the axes; the zone is centred across the document and its last line
/// sits the layout's margin above the bottom edge.
fn document_frame(mrz: &MrzLocation, layout: DocumentLayout) -> Option<DocumentFrame> {
    let [tl, tr, br, bl] = mrz.corners;
    let left = [(tl[0] + bl[0]) / 2.0, (tl[1] + bl[1]) / 2.0];
    let right = [(tr[0] + br[0]) / 2.0, (tr[1] + br[1]) / 2.0];
    let (dx, dy) = (right[0] - left[0], right[1] - left[1]);
    let len = dx.hypot(dy);
    let (lines, chars, pitch, bottom) = layout.mrz();
    if !(len > 1.0 && len.is_finite()) {
        return None;
    }
    let px_per_mm = len / (chars as f32 * pitch);
    let across = [dx / len, dy / len];
    // Perpendicular, pointing down the document (y grows downwards in the frame).
    let down = [-across[1], across[0]];
    let (w, h) = layout.size_mm();
    // The block's centre in document millimetres: centred across, its middle line half the
    // block's line spacing above the last baseline, less half a cap height (2.4 mm).
    let centre_mm = [w / 2.0, h - bottom - (lines as f32 - 1.0) * MRZ_LINE_SPACING_MM / 2.0 - 1.2];
    let centre_px = [(tl[0] + tr[0] + br[0] + bl[0]) / 4.0, (tl[1] + tr[1] + br[1] + bl[1]) / 4.0];
    let s = px_per_mm;
    let origin = [
        centre_px[0] - s * (centre_mm[0] * across[0] + centre_mm[1] * down[0]),
        centre_px[1] - s * (centre_mm[0] * across[1] + centre_mm[1] * down[1]),
    ];
    Some(DocumentFrame { origin, across, down, px_per_mm })
}

/// The portrait zone in document millimetres `(x0, y0, x1, y1)`: the left part of the side,
/// from just below the top edge to the MRZ's top (ICAO 9303 parts 4-6, zone V: at most 35 x 45
/// mm on a passport, left of the personal data; the left 45 % of the width holds it on every
/// layout with a margin).
fn portrait_zone(layout: DocumentLayout) -> (f32, f32, f32, f32) {
    let (w, h) = layout.size_mm();
    let (lines, _, _, bottom) = layout.mrz();
    let mrz_top = h - bottom - (lines as f32 - 1.0) * MRZ_LINE_SPACING_MM - 2.4;
    (0.0, 0.0, 0.45 * w, mrz_top)
}

/// The holder's portrait found in a document frame.
#[derive(Debug, Clone)]
pub struct Portrait {
    /// The face, in frame pixels (the box is the upright box's extent, turned back).
    pub face: DetectedFace,
    /// Its embedding, when it could be aligned.
    pub embedding: Option<Embedding>,
    /// Its size and sharpness in this frame, for the caller's gate (`PortraitGate`).
    pub quality: PortraitQuality,
    /// How far the frame was turned to read the document upright, in degrees.
    pub turned_deg: f32,
    /// The face box's width in document millimetres.
    pub width_mm: f32,
    /// Where the document was taken to be.
    pub outline: DocumentOutline,
}

/// Why no portrait was taken: each a code the session can turn into an instruction.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum PortraitMiss {
    /// The MRZ's format has no known ICAO layout (a driving licence): nothing says where its
    /// portrait is.
    UnknownLayout,
    /// The layout prints no portrait on this side (a TD1 card's MRZ side): show the front.
    NotOnThisSide,
    /// The document's outline could not be placed (a degenerate MRZ location) or, on a card's
    /// front, the card could not be found: show the whole document, flat and close.
    DocumentNotFound,
    /// No face at all in the frame.
    NoFace,
    /// Faces were found, none inside the portrait zone at a portrait's size (the portrait is
    /// covered, glared or too small to detect; or every face is elsewhere).
    NoFaceInZone {
        /// Faces detected in the frame.
        faces: usize,
    },
    /// A face lies on the portrait zone but is far larger than the document could print: a live
    /// face in front of or over the document, not its portrait.
    FaceTooLarge {
        /// Its width in document millimetres.
        width_mm: f32,
    },
}

impl PortraitMiss {
    /// A stable machine-readable code, e.g. `portrait.face_too_large`.
    pub fn code(&self) -> &'static str {
        match self {
            PortraitMiss::UnknownLayout => "portrait.unknown_layout",
            PortraitMiss::NotOnThisSide => "portrait.not_on_this_side",
            PortraitMiss::DocumentNotFound => "portrait.document_not_found",
            PortraitMiss::NoFace => "portrait.no_face",
            PortraitMiss::NoFaceInZone { .. } => "portrait.no_face_in_zone",
            PortraitMiss::FaceTooLarge { .. } => "portrait.face_too_large",
        }
    }
}

/// A face seen upright, with where it lies on the document.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    face: DetectedFace,
    centre_mm: [f32; 2],
    width_mm: f32,
}

/// How a candidate relates to the portrait zone.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Fit {
    /// In the zone at a portrait's size.
    Portrait,
    /// Over the zone or the document, far too large.
    TooLarge,
    /// Too small, or elsewhere.
    Elsewhere,
}

fn fit(c: &Candidate, zone: (f32, f32, f32, f32), size_mm: (f32, f32), config: &PortraitConfig) -> Fit {
    let [x, y] = c.centre_mm;
    let (x0, y0, x1, y1) = zone;
    let (w, h) = size_mm;
    let over_document = x >= 0.0 && x <= w && y >= 0.0 && y <= h;
    if c.width_mm > config.max_face_mm {
        // A live face over the document, or just beside or above it (the page held under the
        // chin: the face's centre is about a face's height, 1.3 widths, above the page's top),
        // is what this rule exists for.
        let reach = 1.5 * c.width_mm;
        let near = x >= -reach && x <= w + reach && y >= -reach && y <= h + reach;
        return if over_document || near { Fit::TooLarge } else { Fit::Elsewhere };
    }
    let in_zone = x >= x0 && x <= x1 && y >= y0 && y <= y1;
    if in_zone && c.width_mm >= config.min_face_mm { Fit::Portrait } else { Fit::Elsewhere }
}

/// Finds the holder's portrait on the MRZ side of a document: the face inside the layout's
/// portrait zone, at a printed portrait's size (see the module docs). `Ok(Err(miss))` says why
/// none was taken.
pub fn find_portrait(
    frame: &Frame,
    mrz: &MrzLocation,
    layout: DocumentLayout,
    analyzer: &FaceAnalyzer,
    config: &PortraitConfig,
) -> Result<Result<Portrait, PortraitMiss>, ModelError> {
    if !layout.portrait_on_mrz_side() {
        return Ok(Err(PortraitMiss::NotOnThisSide));
    }
    let Some(doc) = document_frame(mrz, layout) else { return Ok(Err(PortraitMiss::DocumentNotFound)) };
    let angle = doc.across[1].atan2(doc.across[0]).to_degrees();
    let (faces, to_frame) = detect_upright(frame, angle, analyzer)?;
    if faces.is_empty() {
        return Ok(Err(PortraitMiss::NoFace));
    }
    let candidates: Vec<Candidate> = faces
        .iter()
        .map(|f| {
            let b = f.bbox;
            let centre = to_frame.apply([b.x + b.width / 2.0, b.y + b.height / 2.0]);
            // The upright turn keeps the scale, so the upright box's width is the face's width.
            Candidate { face: *f, centre_mm: doc.to_document(centre), width_mm: b.width / doc.px_per_mm }
        })
        .collect();
    let zone = portrait_zone(layout);
    let size = layout.size_mm();
    let fits: Vec<Fit> = candidates.iter().map(|c| fit(c, zone, size, config)).collect();
    let best = candidates
        .iter()
        .zip(&fits)
        .filter(|(_, f)| **f == Fit::Portrait)
        .map(|(c, _)| c)
        .max_by(|a, b| a.width_mm.total_cmp(&b.width_mm));
    let Some(best) = best else {
        let too_large = candidates
            .iter()
            .zip(&fits)
            .filter(|(_, f)| **f == Fit::TooLarge)
            .map(|(c, _)| c.width_mm)
            .max_by(f32::total_cmp);
        return Ok(Err(match too_large {
            Some(width_mm) => PortraitMiss::FaceTooLarge { width_mm },
            None => PortraitMiss::NoFaceInZone { faces: faces.len() },
        }));
    };
    let face = turned_back(&best.face, &to_frame);
    let embedding = embed(frame, &face, analyzer)?;
    let quality = measure_portrait(frame, &face);
    Ok(Ok(Portrait {
        face,
        embedding,
        quality,
        turned_deg: angle,
        width_mm: best.width_mm,
        outline: doc.outline(layout),
    }))
}

/// Finds the holder's portrait on the front of a TD1 card whose MRZ is on the back (the French
/// card since 2021): the card's outline from its edges (see [`super::find_card`]), then the face in
/// its left part at a portrait's size. A face is never taken without the card around it, so a
/// live face shown alone is refused.
pub fn find_front_portrait(
    frame: &Frame,
    analyzer: &FaceAnalyzer,
    config: &PortraitConfig,
) -> Result<Result<Portrait, PortraitMiss>, ModelError> {
    let faces = analyzer.detector.detect(frame)?;
    if faces.is_empty() {
        return Ok(Err(PortraitMiss::NoFace));
    }
    let layout = DocumentLayout::Td1;
    let (w, h) = layout.size_mm();
    let mut best: Option<(Candidate, DocumentFrame, f32)> = None;
    let mut too_large: Option<f32> = None;
    for face in &faces {
        let Some(card) = find_card(frame, face, &config.card) else { continue };
        let [tl, tr, _, bl] = card.corners;
        let width_px = (tr[0] - tl[0]).hypot(tr[1] - tl[1]);
        let px_per_mm = width_px / w;
        let across = [(tr[0] - tl[0]) / width_px, (tr[1] - tl[1]) / width_px];
        let down_len = (bl[0] - tl[0]).hypot(bl[1] - tl[1]).max(1e-3);
        let down = [(bl[0] - tl[0]) / down_len, (bl[1] - tl[1]) / down_len];
        let doc = DocumentFrame { origin: tl, across, down, px_per_mm };
        let b = face.bbox;
        let c = Candidate {
            face: *face,
            centre_mm: doc.to_document([b.x + b.width / 2.0, b.y + b.height / 2.0]),
            width_mm: b.width / px_per_mm,
        };
        // ICAO 9303 part 5, zone V: the portrait fills the card's left part, below the header.
        match fit(&c, (0.0, 0.0, 0.45 * w, h), (w, h), config) {
            Fit::Portrait => {
                if best.as_ref().is_none_or(|(_, _, score)| card.contrast > *score) {
                    best = Some((c, doc, card.contrast));
                }
            }
            Fit::TooLarge => too_large = Some(too_large.map_or(c.width_mm, |t: f32| t.max(c.width_mm))),
            Fit::Elsewhere => {}
        }
    }
    let Some((c, doc, _)) = best else {
        return Ok(Err(match too_large {
            Some(width_mm) => PortraitMiss::FaceTooLarge { width_mm },
            None => PortraitMiss::DocumentNotFound,
        }));
    };
    let embedding = embed(frame, &c.face, analyzer)?;
    let quality = measure_portrait(frame, &c.face);
    Ok(Ok(Portrait {
        face: c.face,
        embedding,
        quality,
        turned_deg: 0.0,
        width_mm: c.width_mm,
        outline: doc.outline(layout),
    }))
}

fn embed(frame: &Frame, face: &DetectedFace, analyzer: &FaceAnalyzer) -> Result<Option<Embedding>, ModelError> {
    Ok(match analyzer.embedder.align(frame, face) {
        Some(crop) => analyzer.embedder.embed(std::slice::from_ref(&crop))?.pop(),
        None => None,
    })
}

/// The faces of `frame` turned by `-angle` degrees (so a document at `angle` reads upright),
/// and the map from the upright image back to the frame.
fn detect_upright(
    frame: &Frame,
    angle: f32,
    analyzer: &FaceAnalyzer,
) -> Result<(Vec<DetectedFace>, Similarity), ModelError> {
    if angle.abs() < 1.0 {
        return Ok((analyzer.detector.detect(frame)?, Similarity::rotation(0.0, [0.0, 0.0])));
    }
    // The upright image: the frame turned by -angle about its centre, on a canvas big enough
    // to hold all of it.
    let (w, h) = (frame.width() as f32, frame.height() as f32);
    let (sin, cos) = angle.to_radians().sin_cos();
    let (uw, uh) = ((w * cos.abs() + h * sin.abs()).ceil(), (w * sin.abs() + h * cos.abs()).ceil());
    let to_upright = {
        let r = Similarity::rotation(-angle, [0.0, 0.0]);
        let c = r.apply([w / 2.0, h / 2.0]);
        Similarity::rotation(-angle, [uw / 2.0 - c[0], uh / 2.0 - c[1]])
    };
    let to_frame = to_upright.inverse();
    let pixels = warp(frame, &to_frame, uw as u32, uh as u32);
    let upright = image::RgbImage::from_raw(uw as u32, uh as u32, pixels)
        .map(Frame::from_rgb)
        .expect("warp returns width * height RGB pixels");
    Ok((analyzer.detector.detect(&upright)?, to_frame))
}

/// A face detected in the upright image, in frame coordinates.
fn turned_back(face: &DetectedFace, to_frame: &Similarity) -> DetectedFace {
    let b = face.bbox;
    let corners = [[b.x, b.y], [b.x + b.width, b.y], [b.x + b.width, b.y + b.height], [b.x, b.y + b.height]]
        .map(|p| to_frame.apply(p));
    let (xs, ys) = (corners.map(|p| p[0]), corners.map(|p| p[1]));
    let min = |v: [f32; 4]| v.into_iter().fold(f32::INFINITY, f32::min);
    let max = |v: [f32; 4]| v.into_iter().fold(f32::NEG_INFINITY, f32::max);
    DetectedFace {
        bbox: FaceBox { x: min(xs), y: min(ys), width: max(xs) - min(xs), height: max(ys) - min(ys) },
        score: face.score,
        landmarks: face.landmarks.map(|p| to_frame.apply(p)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotations_turn_back() {
        let up = Similarity::rotation(-30.0, [5.0, 7.0]);
        let p = [12.0, -3.0];
        let back = up.inverse().apply(up.apply(p));
        assert!((back[0] - p[0]).abs() < 1e-4 && (back[1] - p[1]).abs() < 1e-4);
        // Turning by -angle brings a line at +angle to horizontal.
        let r = Similarity::rotation(-30.0, [0.0, 0.0]);
        let (s, c) = 30f32.to_radians().sin_cos();
        let q = r.apply([c, s]);
        assert!(q[1].abs() < 1e-5 && (q[0] - 1.0).abs() < 1e-5, "{q:?}");
    }

    #[test]
    fn faces_map_back_to_the_frame() {
        let face = DetectedFace {
            bbox: FaceBox { x: 10.0, y: 20.0, width: 30.0, height: 40.0 },
            score: 0.9,
            landmarks: [[20.0, 30.0]; 5],
        };
        let shift = Similarity::rotation(0.0, [-100.0, -50.0]);
        let back = turned_back(&face, &shift);
        assert_eq!(back.bbox, FaceBox { x: -90.0, y: -30.0, width: 30.0, height: 40.0 });
        assert_eq!(back.landmarks[0], [-80.0, -20.0]);
    }

    /// The MRZ block of `layout` drawn at `s` px/mm with the document's top-left at `origin`,
    /// turned by `deg` degrees about it.
    fn mrz_of(layout: DocumentLayout, s: f32, origin: [f32; 2], deg: f32) -> MrzLocation {
        let (w, h) = layout.size_mm();
        let (lines, chars, pitch, bottom) = layout.mrz();
        let width = chars as f32 * pitch;
        let x0 = (w - width) / 2.0;
        // Line centres (mid-cap, 1.2 mm above the baseline); the block reaches a cap height
        // beyond the first and last, as `MrzLocation` does.
        let last = h - bottom - 1.2;
        let (top_y, bottom_y) = (last - (lines as f32 - 1.0) * MRZ_LINE_SPACING_MM - 2.4, last + 2.4);
        let (sin, cos) = deg.to_radians().sin_cos();
        let at = |x: f32, y: f32| [origin[0] + s * (x * cos - y * sin), origin[1] + s * (x * sin + y * cos)];
        MrzLocation {
            corners: [at(x0, top_y), at(x0 + width, top_y), at(x0 + width, bottom_y), at(x0, bottom_y)],
            pitch_px: pitch * s,
        }
    }

    fn check_outline(layout: DocumentLayout, deg: f32) {
        let (s, origin) = (4.0, [100.0, 80.0]);
        let doc = document_frame(&mrz_of(layout, s, origin, deg), layout).expect("a proper MRZ");
        let outline = doc.outline(layout);
        let (w, h) = layout.size_mm();
        let (sin, cos) = deg.to_radians().sin_cos();
        let want = [[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]]
            .map(|[x, y]| [origin[0] + s * (x * cos - y * sin), origin[1] + s * (x * sin + y * cos)]);
        for (got, want) in outline.corners.iter().zip(want) {
            assert!((got[0] - want[0]).abs() < 0.5 && (got[1] - want[1]).abs() < 0.5, "{layout:?} {deg}: {outline:?}");
        }
        assert!((outline.px_per_mm - s).abs() < 1e-3);
        let p = doc.to_document(doc.to_frame([10.0, 20.0]));
        assert!((p[0] - 10.0).abs() < 1e-3 && (p[1] - 20.0).abs() < 1e-3);
    }

    #[test]
    fn the_outline_follows_the_mrz() {
        for layout in [DocumentLayout::Td1, DocumentLayout::Td2, DocumentLayout::Td3, DocumentLayout::FrenchIdLegacy] {
            for deg in [0.0, 25.0, -40.0, 180.0] {
                check_outline(layout, deg);
            }
        }
    }

    const CONFIG: PortraitConfig =
        PortraitConfig { min_face_mm: 8.0, max_face_mm: 45.0, card: CardConfig { min_contrast: 20.0 } };

    fn check_fit(centre_mm: [f32; 2], width_mm: f32, expect: Fit) {
        let face = DetectedFace {
            bbox: FaceBox { x: 0.0, y: 0.0, width: 1.0, height: 1.0 },
            score: 1.0,
            landmarks: [[0.0; 2]; 5],
        };
        let c = Candidate { face, centre_mm, width_mm };
        let layout = DocumentLayout::Td3;
        assert_eq!(fit(&c, portrait_zone(layout), layout.size_mm(), &CONFIG), expect, "{centre_mm:?} {width_mm}");
    }

    #[test]
    fn only_a_portrait_sized_face_in_the_zone_is_the_portrait() {
        // A passport portrait: 35 x 45 mm at (4, 11); its face about 25 mm wide.
        check_fit([21.0, 33.0], 25.0, Fit::Portrait);
        // The ghost image at the right edge, the same size: not in the zone.
        check_fit([110.0, 50.0], 15.0, Fit::Elsewhere);
        // Too small to be the main portrait.
        check_fit([21.0, 33.0], 5.0, Fit::Elsewhere);
        // A live face over the page, or just above it (the page held under the chin).
        check_fit([40.0, 30.0], 150.0, Fit::TooLarge);
        check_fit([60.0, -70.0], 140.0, Fit::TooLarge);
        check_fit([60.0, -110.0], 85.0, Fit::TooLarge);
        // A large face far from the document is no portrait either, but not "too large".
        check_fit([600.0, 40.0], 150.0, Fit::Elsewhere);
        // Over the MRZ.
        check_fit([21.0, 80.0], 25.0, Fit::Elsewhere);
    }

    #[test]
    fn layouts_come_from_formats() {
        assert_eq!(DocumentLayout::of_format(mrz::Format::Td3), Some(DocumentLayout::Td3));
        assert_eq!(DocumentLayout::of_format(mrz::Format::FrId), Some(DocumentLayout::FrenchIdLegacy));
        assert_eq!(DocumentLayout::of_format(mrz::Format::Dl), None);
        assert!(!DocumentLayout::Td1.portrait_on_mrz_side());
        assert_eq!(PortraitMiss::FaceTooLarge { width_mm: 100.0 }.code(), "portrait.face_too_large");
    }
}
