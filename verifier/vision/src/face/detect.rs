//! Face detection with YuNet: preprocessing, anchor-free decoding, non-maximum suppression.
//!
//! YuNet predicts, at strides 8, 16 and 32, one candidate per grid cell: class and objectness
//! scores, a box as offsets from the cell plus log-size, and five landmarks as offsets. Decoding
//! follows OpenCV's `FaceDetectorYN` (score = sqrt(cls * obj)). Frames are scaled so their
//! longer side is at most `max_input_side` and padded to a multiple of 32 before the run; results
//! are mapped back to the frame's pixels.

use std::sync::Arc;

use verifier_models::{Channels, Layout, Preprocess};

use super::{DetectedFace, FaceBox};
use crate::frame::Frame;
use crate::model::{Model, ModelError, Outputs};
use crate::preprocess::rgb_to_tensor;

const STRIDES: [usize; 3] = [8, 16, 32];

/// Detector settings; thresholds come from configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectorConfig {
    /// The frame is downscaled so its longer side is at most this (pixels).
    pub max_input_side: u32,
    /// Candidates scoring below this are dropped.
    pub score_threshold: f32,
    /// Candidates overlapping a better one by more than this IoU are dropped.
    pub nms_iou: f32,
    /// At most this many faces are returned, best first.
    pub max_faces: usize,
}

/// YuNet behind the [`Model`] trait.
#[derive(Clone)]
pub struct FaceDetector {
    model: Arc<dyn Model>,
    config: DetectorConfig,
}

impl std::fmt::Debug for FaceDetector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaceDetector").field("model", &self.model.name()).field("config", &self.config).finish()
    }
}

/// YuNet takes BGR pixels 0..=255, planar.
const YUNET_INPUT: Preprocess = Preprocess {
    layout: Layout::Nchw,
    channels: Channels::Bgr,
    scale: 1.0,
    mean: [0.0; 3],
    size: None,
    multiple_of: Some(32),
};

impl FaceDetector {
    /// A detector running `model` (a YuNet graph) with `config`.
    pub fn new(model: Arc<dyn Model>, config: DetectorConfig) -> Self {
        Self { model, config }
    }

    /// The faces in `frame`, best score first.
    pub fn detect(&self, frame: &Frame) -> Result<Vec<DetectedFace>, ModelError> {
        let (w, h) = (frame.width(), frame.height());
        let longer = w.max(h).max(1);
        let scale = (self.config.max_input_side as f32 / longer as f32).min(1.0);
        let (sw, sh) = (((w as f32 * scale).round() as u32).max(1), ((h as f32 * scale).round() as u32).max(1));
        let scaled = frame.resized(sw, sh);
        let (pw, ph) = (sw.div_ceil(32) * 32, sh.div_ceil(32) * 32);
        let input = rgb_to_tensor(scaled.as_raw(), [sw, sh], [pw, ph], &YUNET_INPUT);
        let outputs = self.model.run(&[input])?;
        let candidates = decode(&outputs, pw as usize, ph as usize, self.config.score_threshold)?;
        let mut faces = nms(candidates, self.config.nms_iou, self.config.max_faces);
        // Back to the frame's pixels: undo the scale (x and y scaled alike up to rounding).
        let (fx, fy) = (w as f32 / sw as f32, h as f32 / sh as f32);
        for face in &mut faces {
            let b = &mut face.bbox;
            let (x2, y2) = (((b.x + b.width) * fx).min(w as f32), ((b.y + b.height) * fy).min(h as f32));
            b.x = (b.x * fx).max(0.0);
            b.y = (b.y * fy).max(0.0);
            b.width = (x2 - b.x).max(0.0);
            b.height = (y2 - b.y).max(0.0);
            for p in &mut face.landmarks {
                p[0] *= fx;
                p[1] *= fy;
            }
        }
        Ok(faces)
    }
}

/// Turns YuNet's per-stride outputs for a `width` x `height` input into scored candidates.
fn decode(outputs: &Outputs, width: usize, height: usize, threshold: f32) -> Result<Vec<DetectedFace>, ModelError> {
    let mut faces = Vec::new();
    for stride in STRIDES {
        let (cols, rows) = (width / stride, height / stride);
        let cells = cols * rows;
        let get = |kind: &str, per_cell: usize| -> Result<&[f32], ModelError> {
            let name = format!("{kind}_{stride}");
            let t = outputs.get(&name)?;
            if t.data.len() != cells * per_cell {
                return Err(ModelError::OutputShape {
                    name,
                    shape: t.shape.clone(),
                    expected: format!("[1, {cells}, {per_cell}] for a {width}x{height} input"),
                });
            }
            Ok(&t.data)
        };
        let (cls, obj, bbox, kps) = (get("cls", 1)?, get("obj", 1)?, get("bbox", 4)?, get("kps", 10)?);
        let s = stride as f32;
        for i in 0..cells {
            let score = (cls[i].clamp(0.0, 1.0) * obj[i].clamp(0.0, 1.0)).sqrt();
            // NaN scores (a broken model) compare false and are dropped with the low ones.
            if score.is_nan() || score < threshold {
                continue;
            }
            let (c, r) = ((i % cols) as f32, (i / cols) as f32);
            let b = &bbox[i * 4..i * 4 + 4];
            let (cx, cy) = ((c + b[0]) * s, (r + b[1]) * s);
            // exp of a large logit would overflow to infinity; no face is 2^20 pixels wide.
            let (bw, bh) = (b[2].min(20.0).exp() * s, b[3].min(20.0).exp() * s);
            let k = &kps[i * 10..i * 10 + 10];
            let mut landmarks = [[0f32; 2]; 5];
            for (n, p) in landmarks.iter_mut().enumerate() {
                *p = [(k[2 * n] + c) * s, (k[2 * n + 1] + r) * s];
            }
            if !(cx.is_finite() && cy.is_finite() && bw.is_finite() && bh.is_finite()) {
                continue;
            }
            faces.push(DetectedFace {
                bbox: FaceBox { x: cx - bw / 2.0, y: cy - bh / 2.0, width: bw, height: bh },
                score,
                landmarks,
            });
        }
    }
    Ok(faces)
}

/// Greedy non-maximum suppression: best first, dropping boxes that overlap a kept one.
fn nms(mut faces: Vec<DetectedFace>, iou: f32, max_faces: usize) -> Vec<DetectedFace> {
    faces.sort_by(|a, b| b.score.total_cmp(&a.score));
    let mut kept: Vec<DetectedFace> = Vec::new();
    for face in faces {
        if kept.len() >= max_faces {
            break;
        }
        if kept.iter().all(|k| k.bbox.iou(&face.bbox) <= iou) {
            kept.push(face);
        }
    }
    kept
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Tensor;

    /// A fake YuNet that puts one confident face in one cell of the stride-16 grid.
    struct OneFace {
        cell: (usize, usize),
    }

    impl Model for OneFace {
        fn name(&self) -> &str {
            "fake-yunet"
        }

        fn run(&self, inputs: &[Tensor]) -> Result<Outputs, ModelError> {
            let (h, w) = (inputs[0].shape[2], inputs[0].shape[3]);
            let mut out = Vec::new();
            for kind in ["cls", "obj", "bbox", "kps"] {
                for stride in STRIDES {
                    let (cols, rows) = (w / stride, h / stride);
                    let per = match kind {
                        "bbox" => 4,
                        "kps" => 10,
                        _ => 1,
                    };
                    let mut data = vec![0f32; cols * rows * per];
                    if stride == 16 {
                        let i = self.cell.1 * cols + self.cell.0;
                        match kind {
                            "cls" | "obj" => data[i] = 0.9,
                            // Centre half a cell right and down, size exp(1) * 16 square.
                            "bbox" => data[i * 4..i * 4 + 4].copy_from_slice(&[0.5, 0.5, 1.0, 1.0]),
                            _ => data[i * 10..i * 10 + 10]
                                .copy_from_slice(&[0.0, 0.0, 1.0, 0.0, 0.5, 0.5, 0.0, 1.0, 1.0, 1.0]),
                        }
                    }
                    out.push((format!("{kind}_{stride}"), Tensor { shape: vec![1, cols * rows, per], data }));
                }
            }
            Ok(Outputs(out))
        }
    }

    fn config() -> DetectorConfig {
        DetectorConfig { max_input_side: 320, score_threshold: 0.5, nms_iou: 0.3, max_faces: 10 }
    }

    fn check(frame_size: (u32, u32), cell: (usize, usize), expect_box: [f32; 4]) {
        let detector = FaceDetector::new(Arc::new(OneFace { cell }), config());
        let frame = Frame::from_rgb(image::RgbImage::new(frame_size.0, frame_size.1));
        let faces = detector.detect(&frame).unwrap();
        assert_eq!(faces.len(), 1);
        let b = faces[0].bbox;
        let got = [b.x, b.y, b.width, b.height];
        for (g, e) in got.iter().zip(expect_box) {
            assert!((g - e).abs() < 0.5, "box {got:?}, expected {expect_box:?}");
        }
        assert!((faces[0].score - 0.9).abs() < 1e-6);
    }

    #[test]
    fn decodes_boxes_and_maps_back_to_the_frame() {
        let side = 1f32.exp() * 16.0;
        // Cell (2, 1) at stride 16: centre (40, 24).
        check((320, 240), (2, 1), [40.0 - side / 2.0, 24.0 - side / 2.0, side, side]);
        // A 640x480 frame is halved to 320x240: everything doubles.
        check((640, 480), (2, 1), [2.0 * (40.0 - side / 2.0), 2.0 * (24.0 - side / 2.0), 2.0 * side, 2.0 * side]);
    }

    #[test]
    fn landmarks_follow_the_cell() {
        let detector = FaceDetector::new(Arc::new(OneFace { cell: (3, 2) }), config());
        let faces = detector.detect(&Frame::from_rgb(image::RgbImage::new(320, 240))).unwrap();
        assert_eq!(faces[0].landmarks[0], [48.0, 32.0]);
        assert_eq!(faces[0].landmarks[4], [64.0, 48.0]);
    }

    #[test]
    fn tiny_frames_are_padded_not_refused() {
        let detector = FaceDetector::new(Arc::new(OneFace { cell: (0, 0) }), config());
        let faces = detector.detect(&Frame::from_rgb(image::RgbImage::new(1, 1))).unwrap();
        // The face lies in the padding; its box is clipped to the 1x1 frame.
        assert!(faces.iter().all(|f| f.bbox.width <= 1.0 && f.bbox.height <= 1.0));
    }

    fn face(x: f32, score: f32) -> DetectedFace {
        DetectedFace { bbox: FaceBox { x, y: 0.0, width: 10.0, height: 10.0 }, score, landmarks: [[0.0; 2]; 5] }
    }

    #[test]
    fn suppression_keeps_the_best_of_each_cluster() {
        let kept = nms(vec![face(0.0, 0.6), face(1.0, 0.9), face(50.0, 0.7), face(51.0, 0.8)], 0.3, 10);
        let xs: Vec<f32> = kept.iter().map(|f| f.bbox.x).collect();
        assert_eq!(xs, vec![1.0, 51.0]);
        assert_eq!(nms(vec![face(0.0, 0.6), face(50.0, 0.7)], 0.3, 1).len(), 1);
    }
}
