//! The analysis of one frame for the step the session names: decode, then the MRZ and the
//! portrait, or the live face. Runs on the rayon pool (never on a tokio worker); the live face's
//! embedding is left to the cross-session batcher.
//!
//! Pure CPU over bytes and loaded models: no socket, no database. The result is converted into
//! the session's [`Findings`] by [`Prepared::into_findings`] once the embedding (if any) is back.

use session::{Analysis, FaceFindings, Findings, HeadPose, PortraitFinding};
use sha2::{Digest, Sha256};
use vision::face::{
    AlignedFace, DocumentLayout, Embedding, FaceBox, FaceQuality, PortraitConfig, PortraitMiss, QualityConfig, assess,
    find_card, find_front_portrait, find_portrait, head_pose, largest,
};
use vision::frame::{DecodeLimits, Frame, FrameId, decode};
use vision::liveness::{AntiSpoof, ModelScore, PassiveFrame, measure_frame};
use vision::model::ModelError;
use vision::mrz::{read_mrz, read_mrz_upright};

use crate::engines::Engines;

/// What the CPU part of a frame's analysis found.
pub struct Prepared {
    /// SHA-256 (hex) of the frame's bytes, for the evidence.
    pub sha256: String,
    /// Where the evidence crop would be cut, in frame pixels (a face or portrait box).
    pub crop: Option<FaceBox>,
    /// The findings, or the live face's parts still to embed.
    pub partial: Partial,
}

/// Findings complete, or waiting for the live face's embedding.
pub enum Partial {
    /// Nothing left to compute.
    Done(Findings),
    /// A live face: embed `aligned` (if any) and finish with [`Prepared::into_findings`].
    Face {
        /// The gate's first issue code.
        issue: Option<&'static str>,
        /// The gate's rank.
        rank: f32,
        /// The aligned crop of the largest face.
        aligned: Option<AlignedFace>,
        /// The head pose.
        pose: Option<HeadPose>,
        /// The skin's mean colour.
        skin: Option<[f32; 3]>,
        /// The passive presentation-attack layer's measurements.
        passive: Option<PassiveFrame>,
    },
}

/// Why a frame could not be analysed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FrameError {
    /// Not a decodable image, or over the size limits.
    #[error("{0}")]
    Corrupt(String),
    /// A model failed (logged by the caller; the frame is skipped).
    #[error("model error: {0}")]
    Model(String),
}

/// Everything the analysis reads besides the frame.
pub struct AnalysisContext<'a> {
    /// The models.
    pub engines: &'a Engines,
    /// Decoding limits.
    pub limits: &'a DecodeLimits,
    /// The live-face gate.
    pub quality: &'a QualityConfig,
    /// Finding the document portrait.
    pub portrait: &'a PortraitConfig,
    /// The passive layer's per-frame measurement settings.
    pub passive: &'a vision::liveness::PassiveConfig,
    /// The date documents are read against.
    pub today: mrz::Date,
}

/// Decodes and analyses `bytes` (the session's frame `id`) for `analysis`.
pub fn analyse(
    cx: &AnalysisContext<'_>,
    id: FrameId,
    analysis: Analysis,
    bytes: &[u8],
) -> Result<Prepared, FrameError> {
    let sha256 = hex::encode(Sha256::digest(bytes));
    let frame = decode(bytes, cx.limits).map_err(|e| FrameError::Corrupt(e.to_string()))?;
    let faces = &cx.engines.faces;
    let model = |e: ModelError| FrameError::Model(e.to_string());
    let (partial, crop) = match analysis {
        Analysis::Document => {
            let read = read_mrz(&frame, &cx.engines.mrz, cx.today).map_err(model)?;
            // The portrait is looked for only inside the document the MRZ places, where its
            // layout prints it: a face elsewhere in the frame could be the person's own.
            let (portrait, crop) = match (read.location(), DocumentLayout::of_read(&read)) {
                (Some(location), Some(layout)) => {
                    portrait_finding(find_portrait(&frame, location, layout, faces, cx.portrait).map_err(model)?)
                }
                _ => (PortraitFinding::Missing("document.portrait_not_found"), None),
            };
            (Partial::Done(Findings::Document { mrz: Box::new(read), portrait }), crop)
        }
        Analysis::DocumentFront => {
            let (portrait, crop) = portrait_finding(find_front_portrait(&frame, faces, cx.portrait).map_err(model)?);
            (Partial::Done(Findings::DocumentFront(portrait)), crop)
        }
        Analysis::Face | Analysis::Challenge => {
            let detected = faces.detector.detect(&frame).map_err(model)?;
            let quality = assess(&frame, &detected, cx.quality);
            let face = largest(&detected);
            // At the face step, a face on a document still held up is its printed portrait,
            // not the person: with an MRZ in view, or the face framed by a card's edges, the
            // person is asked to put the document down. (A face beside the document passes;
            // the challenge then asks a printed face to move.) The MRZ is looked for upright only,
            // a quarter of a whole read: an ICAO page prints it the way up of its portrait, and a
            // portrait turned a quarter or a half turn fails the gate's roll limit
            // (`face.quality.max_roll_deg`) whatever is found; a card is found by its edges at any
            // angle.
            let on_document = match face {
                Some(f) if analysis == Analysis::Face => {
                    find_card(&frame, &f, &cx.portrait.card).is_some()
                        || read_mrz_upright(&frame, &cx.engines.mrz, cx.today).map_err(model)?.location().is_some()
                }
                _ => false,
            };
            let aligned = face.and_then(|f| faces.embedder.align(&frame, &f));
            let pose = match face {
                Some(f) => cx.engines.mesh.landmarks(&frame, &f).map_err(model)?.map(|m| {
                    let p = head_pose(&m);
                    HeadPose { yaw_deg: p.yaw_deg, pitch_deg: p.pitch_deg }
                }),
                None => None,
            };
            let issue =
                if on_document { Some("face.document_in_view") } else { quality.issues.first().map(|i| i.code()) };
            let skin = face.and_then(|f| skin_colour(&frame, &f.bbox));
            // The passive layer looks at the live face only (a portrait on a document in view is
            // a print by design); its models only at faces the quality gate passed, where they
            // were trained to judge.
            let passive = match face {
                Some(f) if !on_document => {
                    let scored = gated_model_score(&cx.engines.antispoof, &frame, &f.bbox, &quality).map_err(model)?;
                    Some(measure_frame(id, &frame, &f.bbox, scored, cx.passive))
                }
                _ => None,
            };
            (Partial::Face { issue, rank: quality.rank(), aligned, pose, skin, passive }, face.map(|f| f.bbox))
        }
        Analysis::None => return Err(FrameError::Corrupt("the session is decided".into())),
    };
    Ok(Prepared { sha256, crop, partial })
}

/// SilentFace's score of `face`, only where the live-face quality gate passed (`quality`): the
/// models judge faces like those they were trained on, not a head turned away or a blurred one.
/// `verifier liveness eval` and `check` score frames by the same rule.
pub(crate) fn gated_model_score(
    antispoof: &AntiSpoof,
    frame: &Frame,
    face: &FaceBox,
    quality: &FaceQuality,
) -> Result<Option<ModelScore>, ModelError> {
    if quality.issues.is_empty() { antispoof.score(frame, face) } else { Ok(None) }
}

/// The mean colour of the face's skin: the middle of the face box (cheeks, nose, under the
/// eyes; not the hair, the eyes' whites or the background), what a screen's light falls on.
pub(crate) fn skin_colour(frame: &Frame, b: &FaceBox) -> Option<[f32; 3]> {
    let image = frame.image();
    let (w, h) = (image.width() as f32, image.height() as f32);
    let x0 = (b.x + 0.3 * b.width).clamp(0.0, w) as u32;
    let x1 = (b.x + 0.7 * b.width).clamp(0.0, w) as u32;
    let y0 = (b.y + 0.4 * b.height).clamp(0.0, h) as u32;
    let y1 = (b.y + 0.8 * b.height).clamp(0.0, h) as u32;
    if x1 <= x0 || y1 <= y0 {
        return None;
    }
    let mut sum = [0f64; 3];
    // Every other pixel each way: a quarter of the work, the same mean to well under a level.
    let (mut n, mut y) = (0u64, y0);
    while y < y1 {
        let mut x = x0;
        while x < x1 {
            let p = image.get_pixel(x, y).0;
            for k in 0..3 {
                sum[k] += f64::from(p[k]);
            }
            n += 1;
            x += 2;
        }
        y += 2;
    }
    (n > 0).then(|| sum.map(|s| (s / n as f64) as f32))
}

fn portrait_finding(p: Result<vision::face::Portrait, PortraitMiss>) -> (PortraitFinding, Option<FaceBox>) {
    match p {
        Ok(p) => match p.embedding {
            Some(embedding) => (PortraitFinding::Found { embedding, quality: p.quality }, Some(p.face.bbox)),
            None => (PortraitFinding::Missing("document.portrait_not_found"), None),
        },
        // The page's hints (docs/capture-protocol.md): turn the card over, or show the whole
        // document with its photo, away from the face.
        Err(PortraitMiss::NotOnThisSide) => (PortraitFinding::Missing("document.turn_over"), None),
        Err(_) => (PortraitFinding::Missing("document.portrait_not_found"), None),
    }
}

impl Prepared {
    /// The crop still to embed, if any.
    pub fn to_embed(&self) -> Option<AlignedFace> {
        match &self.partial {
            Partial::Face { aligned, .. } => aligned.clone(),
            Partial::Done(_) => None,
        }
    }

    /// The session's findings, with the live face's embedding when there was one to make.
    pub fn into_findings(self, embedding: Option<Embedding>) -> Findings {
        match self.partial {
            Partial::Done(f) => f,
            Partial::Face { issue, rank, pose, skin, passive, .. } => {
                Findings::Face(FaceFindings { issue, rank, embedding, pose, skin, passive })
            }
        }
    }
}

/// An evidence crop: the box grown to show the head (or the whole frame without a box), at most
/// 640 pixels a side, JPEG. Runs on the rayon pool.
pub fn evidence_crop(bytes: &[u8], crop: Option<FaceBox>, limits: &DecodeLimits) -> Option<Vec<u8>> {
    let frame: Frame = decode(bytes, limits).ok()?;
    let image = frame.image();
    let (w, h) = (image.width() as f32, image.height() as f32);
    let (x0, y0, x1, y1) = match crop {
        Some(b) => {
            let grow = 0.4;
            (
                (b.x - b.width * grow).max(0.0),
                (b.y - b.height * grow).max(0.0),
                (b.x + b.width * (1.0 + grow)).min(w),
                (b.y + b.height * (1.0 + grow)).min(h),
            )
        }
        None => (0.0, 0.0, w, h),
    };
    if x1 - x0 < 2.0 || y1 - y0 < 2.0 {
        return None;
    }
    let cut = image::imageops::crop_imm(image, x0 as u32, y0 as u32, (x1 - x0) as u32, (y1 - y0) as u32).to_image();
    let cut = if cut.width().max(cut.height()) > 640 {
        image::DynamicImage::ImageRgb8(cut).resize(640, 640, image::imageops::FilterType::Triangle).to_rgb8()
    } else {
        cut
    };
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85).encode_image(&cut).ok()?;
    Some(out)
}
