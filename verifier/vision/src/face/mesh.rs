//! The face mesh and head pose: 468 landmarks in 3-D from MediaPipe's face-landmark model, and
//! the head's yaw, pitch and roll fitted from them.
//!
//! [`FaceMesh::landmarks`] cuts a square crop 1.5 times the detected face's box around its
//! centre, turned so the eyes (YuNet's landmarks) are level, as MediaPipe's own pipeline does,
//! runs the model, and maps the 468 points back to frame pixels. [`head_pose`] is pure: it fits
//! the rotation that carries rigid points of MediaPipe's canonical face model (forehead, nose,
//! eye corners, cheeks; not the mouth or jaw, which move with expression) onto the mesh (Horn's
//! closed-form absolute orientation), which is what a PnP solve under weak perspective gives.
//!
//! What it leaves out: deciding whether a challenge was performed (the session compares poses
//! over time) and eye state (the mesh barely moves its eyelid points when the eyes close, so it
//! is no blink detector).
//!
//! # Sign convention
//!
//! Angles are the subject's head relative to the camera, for a camera that is NOT mirrored
//! (the frames as the webcam sends them, not the selfie preview):
//!
//! - `yaw_deg > 0`: the nose moves towards +x in the image (to the viewer's right), which is the
//!   subject turning to THEIR LEFT (`turn_left`). `turn_right` is a negative yaw.
//! - `pitch_deg > 0`: the nose moves up in the image (towards -y): the subject looks up
//!   (`look_up`). `look_down` is a negative pitch.
//! - `roll_deg > 0`: the line from the subject's right eye to their left eye turns clockwise on
//!   screen (their left eye lower): the head tilts towards the subject's left shoulder.
//!
//! This is `datasets-synthetic`'s convention (`video.rs`: "yaw_deg > 0 moves the nose towards +x
//! in the image", "turn right is a negative image yaw").

use std::sync::Arc;

use verifier_models::{ModelSpec, Preprocess};

use super::DetectedFace;
use super::align::{Similarity, warp};
use crate::frame::Frame;
use crate::model::{Model, ModelError};
use crate::preprocess::rgb_to_tensor;

/// Number of points in the mesh.
pub const MESH_POINTS: usize = 468;

/// The crop around the face is this many times the detected box's longer side (MediaPipe's ROI).
const CROP_SCALE: f32 = 1.5;

/// Mesh settings; from configuration.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeshConfig {
    /// The model's face-presence probability (sigmoid of its flag output) below which the crop
    /// is taken to show no face and no mesh is returned.
    pub min_presence: f32,
}

/// 468 face landmarks in frame pixels: x to the right, y down, z away from the camera (smaller
/// is closer), z on the same scale as x and y. Its `Debug` prints only the count: the mesh is
/// the shape of a face, biometric data.
#[derive(Clone, PartialEq)]
pub struct Mesh {
    points: Vec<[f32; 3]>,
    presence: f32,
}

impl std::fmt::Debug for Mesh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mesh({} points, presence {:.2})", self.points.len(), self.presence)
    }
}

impl Mesh {
    /// A mesh from its points in MediaPipe's order and the face-presence probability; `None`
    /// unless there are [`MESH_POINTS`] finite points that do not all coincide.
    pub fn new(points: Vec<[f32; 3]>, presence: f32) -> Option<Mesh> {
        if points.len() != MESH_POINTS || points.iter().flatten().any(|v| !v.is_finite()) {
            return None;
        }
        let (lo, hi) =
            points.iter().fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), p| (lo.min(p[0]), hi.max(p[0])));
        (hi - lo > 1e-3).then_some(Mesh { points, presence })
    }

    /// The points, in MediaPipe's order (33 is the subject's right eye's outer corner, 263 the
    /// left's, 1 the nose tip, 152 the chin).
    pub fn points(&self) -> &[[f32; 3]] {
        &self.points
    }

    /// The model's face-presence probability for the crop, 0..=1.
    pub fn presence(&self) -> f32 {
        self.presence
    }
}

/// The head's orientation relative to the camera, in degrees; see the module's sign convention.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HeadPose {
    /// Left-right turn: positive is the subject turning to their left (nose to image +x).
    pub yaw_deg: f32,
    /// Up-down: positive is the subject looking up.
    pub pitch_deg: f32,
    /// In-plane tilt: positive is the head tilting towards the subject's left shoulder.
    pub roll_deg: f32,
}

/// MediaPipe's face-landmark model behind the [`Model`] trait, set up from its manifest entry.
#[derive(Clone)]
pub struct FaceMesh {
    model: Arc<dyn Model>,
    input_size: u32,
    preprocess: Preprocess,
    landmarks_output: String,
    presence_output: Option<String>,
    config: MeshConfig,
}

impl std::fmt::Debug for FaceMesh {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaceMesh")
            .field("model", &self.model.name())
            .field("input_size", &self.input_size)
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl FaceMesh {
    /// A mesh model running `model` as `spec` describes it: a square `preprocess.size`, an
    /// output of `3 * 468` values (the landmarks) and optionally one of a single value (the
    /// face-presence logit), told apart by their shapes.
    pub fn from_spec(model: Arc<dyn Model>, spec: &ModelSpec, config: MeshConfig) -> Result<Self, ModelError> {
        let bad = |detail: &str| ModelError::Signature { file: spec.file.clone(), detail: detail.to_owned() };
        let preprocess = spec.preprocess.clone().ok_or_else(|| bad("a face-mesh model needs a preprocess entry"))?;
        let input_size = match preprocess.size {
            Some([w, h]) if w == h && w > 0 => w,
            _ => return Err(bad("a face-mesh model needs a square preprocess.size")),
        };
        let count = |shape: &[i64]| shape.iter().map(|&d| d.max(1)).product::<i64>();
        let landmarks_output = spec
            .outputs
            .iter()
            .find(|o| count(&o.shape) == 3 * MESH_POINTS as i64)
            .map(|o| o.name.clone())
            .ok_or_else(|| bad("no output of 3 x 468 values (the landmarks)"))?;
        let presence_output = spec.outputs.iter().find(|o| count(&o.shape) == 1).map(|o| o.name.clone());
        Ok(Self { model, input_size, preprocess, landmarks_output, presence_output, config })
    }

    /// The model's name.
    pub fn model_name(&self) -> &str {
        self.model.name()
    }

    /// The mesh of `face` in `frame`, in frame pixels; `Ok(None)` when the model says the crop
    /// shows no face (presence below [`MeshConfig::min_presence`]) or its points are degenerate.
    pub fn landmarks(&self, frame: &Frame, face: &DetectedFace) -> Result<Option<Mesh>, ModelError> {
        let side = self.input_size;
        let Some(to_frame) = crop_to_frame(face, side) else { return Ok(None) };
        let pixels = warp(frame, &to_frame, side, side);
        let input = rgb_to_tensor(&pixels, [side, side], [side, side], &self.preprocess);
        let outputs = self.model.run(&[input])?;
        let presence = match &self.presence_output {
            Some(name) => {
                let t = outputs.get(name)?;
                let logit = *t.data.first().ok_or_else(|| ModelError::OutputShape {
                    name: name.clone(),
                    shape: t.shape.clone(),
                    expected: "one value".into(),
                })?;
                1.0 / (1.0 + (-logit).exp())
            }
            None => 1.0,
        };
        // NaN presence (a broken model) compares false and gives no mesh.
        if presence.is_nan() || presence < self.config.min_presence {
            return Ok(None);
        }
        let raw = outputs.get(&self.landmarks_output)?;
        if raw.data.len() != 3 * MESH_POINTS {
            return Err(ModelError::OutputShape {
                name: self.landmarks_output.clone(),
                shape: raw.shape.clone(),
                expected: format!("{} values", 3 * MESH_POINTS),
            });
        }
        Ok(Mesh::new(mesh_in_frame(&raw.data, &to_frame), presence))
    }
}

/// The map from crop pixels (`side` square) to frame pixels: the crop is `CROP_SCALE` times the
/// box's longer side, centred on the box, turned by the eye line's angle so the eyes are level.
fn crop_to_frame(face: &DetectedFace, side: u32) -> Option<Similarity> {
    let b = face.bbox;
    let extent = CROP_SCALE * b.width.max(b.height);
    if !(extent > 1.0 && extent.is_finite()) {
        return None;
    }
    let [right_eye, left_eye] = [face.landmarks[0], face.landmarks[1]];
    let mut angle = (left_eye[1] - right_eye[1]).atan2(left_eye[0] - right_eye[0]);
    if !angle.is_finite() {
        angle = 0.0;
    }
    let (sin, cos) = angle.sin_cos();
    let centre = [b.x + b.width / 2.0, b.y + b.height / 2.0];
    let half = extent / 2.0;
    // Crop corners (0, 0) and (side, 0) go to the turned square's top corners.
    let top_left = [centre[0] - half * cos + half * sin, centre[1] - half * sin - half * cos];
    let top_right = [top_left[0] + extent * cos, top_left[1] + extent * sin];
    let s = side as f32;
    Similarity::estimate(&[[0.0, 0.0], [s, 0.0]], &[top_left, top_right])
}

/// The model's `[x, y, z]` triples in crop pixels mapped to frame pixels (z scaled like x, y).
fn mesh_in_frame(raw: &[f32], to_frame: &Similarity) -> Vec<[f32; 3]> {
    let scale = to_frame.scale();
    raw.chunks_exact(3)
        .map(|p| {
            let [x, y] = to_frame.apply([p[0], p[1]]);
            [x, y, p[2] * scale]
        })
        .collect()
}

/// Rigid points of MediaPipe's canonical face model (`mediapipe/modules/face_geometry/data/
/// canonical_face_model.obj`, Apache-2.0, the same licence as the model): mesh index and
/// position in the model's axes (x to the subject's left, y up, z towards the viewer,
/// centimetres). The points right of the midline are the mirror images of the left ones,
/// listed as `(left index, right index, position of the right one)`.
const CANONICAL_MIDLINE: [(usize, [f64; 3]); 10] = [
    (1, [0.0, -1.126865, 7.475604]),
    (4, [0.0, -0.463170, 7.586580]),
    (5, [0.0, 0.365669, 7.242870]),
    (6, [0.0, 2.473255, 5.788627]),
    (9, [0.0, 4.885979, 5.385258]),
    (10, [0.0, 8.261778, 4.481535]),
    (151, [0.0, 6.545390, 5.027311]),
    (168, [0.0, 3.271027, 5.236015]),
    (195, [0.0, 1.059413, 6.774605]),
    (197, [0.0, 1.728369, 6.316750]),
];
const CANONICAL_PAIRS: [(usize, usize, [f64; 3]); 5] = [
    // Eye corners (outer, inner), then the face's edge at the temples, cheekbones and cheeks.
    (263, 33, [-4.445859, 2.663991, 3.173422]),
    (362, 133, [-1.856432, 2.585245, 3.757904]),
    (356, 127, [-7.743095, 2.364999, -2.005167]),
    (454, 234, [-7.664182, 0.673132, -2.435867]),
    (323, 93, [-7.542244, -1.049282, -2.431321]),
];

/// The canonical points in image axes (x right as seen by the camera, y down, z away from the
/// camera), with their mesh indices.
fn canonical() -> Vec<(usize, [f64; 3])> {
    let image_axes = |p: [f64; 3]| [p[0], -p[1], -p[2]];
    let mut points: Vec<(usize, [f64; 3])> = CANONICAL_MIDLINE.iter().map(|&(i, p)| (i, image_axes(p))).collect();
    for &(left, right, p) in &CANONICAL_PAIRS {
        points.push((right, image_axes(p)));
        points.push((left, image_axes([-p[0], p[1], p[2]])));
    }
    points
}

/// The head's pose from its mesh: the rotation that best carries the canonical face's rigid
/// points onto the mesh's (least squares, any scale and shift), read as yaw, pitch and roll.
pub fn head_pose(mesh: &Mesh) -> HeadPose {
    let reference = canonical();
    let target: Vec<[f64; 3]> = reference.iter().map(|&(i, _)| mesh.points[i].map(f64::from)).collect();
    let source: Vec<[f64; 3]> = reference.iter().map(|&(_, p)| p).collect();
    pose_of(&rotation_between(&source, &target))
}

/// The head's pose from its mesh's image positions alone (x, y; the model's depth ignored): an
/// orthographic PnP solve against the canonical face's rigid points. Kept beside
/// [`head_pose`] for comparison (`examples/head_pose_eval.rs`).
pub fn head_pose_projected(mesh: &Mesh) -> HeadPose {
    let reference = canonical();
    let n = reference.len() as f64;
    let mean_src = reference.iter().fold([0.0; 3], |a, (_, p)| [a[0] + p[0] / n, a[1] + p[1] / n, a[2] + p[2] / n]);
    let mean_dst = reference.iter().fold([0.0; 2], |a, &(i, _)| {
        [a[0] + f64::from(mesh.points[i][0]) / n, a[1] + f64::from(mesh.points[i][1]) / n]
    });
    // The affine map A (2x3) from centred model points X to centred image points x, least
    // squares: A = (x^T X) (X^T X)^-1.
    let mut xtx = [[0f64; 3]; 3];
    let mut ytx = [[0f64; 3]; 2];
    for &(i, p) in &reference {
        let q = [p[0] - mean_src[0], p[1] - mean_src[1], p[2] - mean_src[2]];
        let d = [f64::from(mesh.points[i][0]) - mean_dst[0], f64::from(mesh.points[i][1]) - mean_dst[1]];
        for r in 0..3 {
            for c in 0..3 {
                xtx[r][c] += q[r] * q[c];
            }
        }
        for r in 0..2 {
            for c in 0..3 {
                ytx[r][c] += d[r] * q[c];
            }
        }
    }
    let Some(inv) = inverse3(&xtx) else { return head_pose(mesh) };
    let a: [[f64; 3]; 2] =
        std::array::from_fn(|r| std::array::from_fn(|c| (0..3).map(|k| ytx[r][k] * inv[k][c]).sum()));
    let norm = |v: [f64; 3]| (v[0] * v[0] + v[1] * v[1] + v[2] * v[2]).sqrt();
    let (n1, n2) = (norm(a[0]), norm(a[1]));
    if n1 <= 1e-9 || n2 <= 1e-9 {
        return head_pose(mesh);
    }
    let r1 = a[0].map(|v| v / n1);
    let dot = (0..3).map(|k| r1[k] * a[1][k]).sum::<f64>();
    let r2 = [a[1][0] - dot * r1[0], a[1][1] - dot * r1[1], a[1][2] - dot * r1[2]];
    let n2 = norm(r2).max(1e-12);
    let r2 = r2.map(|v| v / n2);
    let r3 = [r1[1] * r2[2] - r1[2] * r2[1], r1[2] * r2[0] - r1[0] * r2[2], r1[0] * r2[1] - r1[1] * r2[0]];
    pose_of(&[r1, r2, r3])
}

fn inverse3(m: &[[f64; 3]; 3]) -> Option<[[f64; 3]; 3]> {
    let det = m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) - m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0])
        + m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0]);
    if det.abs() < 1e-12 {
        return None;
    }
    let c = |r: usize, k: usize| {
        let (r1, r2) = ((r + 1) % 3, (r + 2) % 3);
        let (k1, k2) = ((k + 1) % 3, (k + 2) % 3);
        m[r1][k1] * m[r2][k2] - m[r1][k2] * m[r2][k1]
    };
    Some(std::array::from_fn(|i| std::array::from_fn(|j| c(j, i) / det)))
}

/// Yaw, pitch and roll of a rotation that carries the canonical (frontal) face into the scene.
fn pose_of(r: &[[f64; 3]; 3]) -> HeadPose {
    // The face's forward direction (towards the camera when frontal, -z) and its left-right
    // axis (subject's right eye to left eye, +x when frontal), after the rotation.
    let forward = [-r[0][2], -r[1][2], -r[2][2]];
    let across = [r[0][0], r[1][0], r[2][0]];
    let yaw = forward[0].atan2(-forward[2]);
    let pitch = (-forward[1]).atan2(forward[0].hypot(forward[2]));
    let roll = across[1].atan2(across[0]);
    HeadPose {
        yaw_deg: yaw.to_degrees() as f32,
        pitch_deg: pitch.to_degrees() as f32,
        roll_deg: roll.to_degrees() as f32,
    }
}

/// The rotation `R` minimising `sum |R (a_i - mean a) * s - (b_i - mean b)|^2` (Horn 1987: the
/// unit quaternion is the eigenvector of the largest eigenvalue of a symmetric 4x4 matrix).
fn rotation_between(a: &[[f64; 3]], b: &[[f64; 3]]) -> [[f64; 3]; 3] {
    let mean = |v: &[[f64; 3]]| {
        let n = v.len().max(1) as f64;
        let s = v.iter().fold([0.0; 3], |acc, p| [acc[0] + p[0], acc[1] + p[1], acc[2] + p[2]]);
        s.map(|x| x / n)
    };
    let (ma, mb) = (mean(a), mean(b));
    let mut s = [[0f64; 3]; 3];
    for (p, q) in a.iter().zip(b) {
        for (i, si) in s.iter_mut().enumerate() {
            for (j, sij) in si.iter_mut().enumerate() {
                *sij += (p[i] - ma[i]) * (q[j] - mb[j]);
            }
        }
    }
    let [[sxx, sxy, sxz], [syx, syy, syz], [szx, szy, szz]] = s;
    let n = [
        [sxx + syy + szz, syz - szy, szx - sxz, sxy - syx],
        [syz - szy, sxx - syy - szz, sxy + syx, szx + sxz],
        [szx - sxz, sxy + syx, -sxx + syy - szz, syz + szy],
        [sxy - syx, szx + sxz, syz + szy, -sxx - syy + szz],
    ];
    let [w, x, y, z] = largest_eigenvector(n);
    [
        [w * w + x * x - y * y - z * z, 2.0 * (x * y - w * z), 2.0 * (x * z + w * y)],
        [2.0 * (x * y + w * z), w * w - x * x + y * y - z * z, 2.0 * (y * z - w * x)],
        [2.0 * (x * z - w * y), 2.0 * (y * z + w * x), w * w - x * x - y * y + z * z],
    ]
}

/// The unit eigenvector of a symmetric 4x4 matrix's largest eigenvalue (cyclic Jacobi).
// Jacobi rotations update rows and columns p and q together: indices read more plainly here.
#[allow(clippy::needless_range_loop)]
fn largest_eigenvector(mut a: [[f64; 4]; 4]) -> [f64; 4] {
    let mut v = [[1.0, 0.0, 0.0, 0.0], [0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 1.0, 0.0], [0.0, 0.0, 0.0, 1.0]];
    for _sweep in 0..50 {
        let off: f64 = (0..4)
            .flat_map(|i| (0..4).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i][j].powi(2))
            .sum();
        if off < 1e-24 {
            break;
        }
        for p in 0..4 {
            for q in p + 1..4 {
                if a[p][q].abs() < 1e-300 {
                    continue;
                }
                let theta = (a[q][q] - a[p][p]) / (2.0 * a[p][q]);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..4 {
                    let (akp, akq) = (a[k][p], a[k][q]);
                    a[k][p] = c * akp - s * akq;
                    a[k][q] = s * akp + c * akq;
                }
                for k in 0..4 {
                    let (apk, aqk) = (a[p][k], a[q][k]);
                    a[p][k] = c * apk - s * aqk;
                    a[q][k] = s * apk + c * aqk;
                }
                for row in &mut v {
                    let (vkp, vkq) = (row[p], row[q]);
                    row[p] = c * vkp - s * vkq;
                    row[q] = s * vkp + c * vkq;
                }
            }
        }
    }
    let best = (0..4).max_by(|&i, &j| a[i][i].total_cmp(&a[j][j])).expect("four eigenvalues");
    let e = [v[0][best], v[1][best], v[2][best], v[3][best]];
    let norm = e.iter().map(|x| x * x).sum::<f64>().sqrt();
    e.map(|x| x / norm)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::FaceBox;
    use crate::model::{Outputs, Tensor};
    use verifier_models::{Channels, Layout, TensorSpec};

    /// A rotation by yaw, then pitch, then roll, in the module's convention, as a matrix acting
    /// on image-axis points (x right, y down, z away from the camera).
    fn rotation(yaw_deg: f64, pitch_deg: f64, roll_deg: f64) -> [[f64; 3]; 3] {
        let (sy, cy) = yaw_deg.to_radians().sin_cos();
        let (sp, cp) = pitch_deg.to_radians().sin_cos();
        let (sr, cr) = roll_deg.to_radians().sin_cos();
        // Yaw about the image's y axis: the forward direction (0, 0, -1) goes to (sin, 0, -cos),
        // nose towards +x for a positive yaw.
        let ry = [[cy, 0.0, -sy], [0.0, 1.0, 0.0], [sy, 0.0, cy]];
        // Pitch about x: forward (0, 0, -1) goes to (0, -sin, -cos), nose up for a positive pitch.
        let rx = [[1.0, 0.0, 0.0], [0.0, cp, sp], [0.0, -sp, cp]];
        // Roll about z: clockwise on screen (y down) for a positive roll.
        let rz = [[cr, -sr, 0.0], [sr, cr, 0.0], [0.0, 0.0, 1.0]];
        mul(&ry, &mul(&rx, &rz))
    }

    fn mul(a: &[[f64; 3]; 3], b: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
        std::array::from_fn(|i| std::array::from_fn(|j| (0..3).map(|k| a[i][k] * b[k][j]).sum()))
    }

    /// A mesh whose canonical points are the canonical face rotated by `pose`, scaled to
    /// pixels and placed in a frame; every other point sits at the centre.
    fn mesh_at(yaw: f64, pitch: f64, roll: f64, noise: f64) -> Mesh {
        let r = rotation(yaw, pitch, roll);
        let mut points = vec![[320.0f32, 240.0, 0.0]; MESH_POINTS];
        for (k, (i, p)) in canonical().into_iter().enumerate() {
            let q: [f64; 3] = std::array::from_fn(|row| (0..3).map(|c| r[row][c] * p[c]).sum());
            // A fixed pseudo-random jitter, in pixels.
            let jitter = |n: usize| noise * (((k * 7 + n * 13) % 11) as f64 / 5.0 - 1.0);
            points[i] = [
                (320.0 + 12.0 * q[0] + jitter(0)) as f32,
                (240.0 + 12.0 * q[1] + jitter(1)) as f32,
                (12.0 * q[2]) as f32,
            ];
        }
        Mesh::new(points, 1.0).expect("a spread-out mesh")
    }

    fn check(pose: (f64, f64, f64), noise: f64, tolerance: f32) {
        let got = head_pose(&mesh_at(pose.0, pose.1, pose.2, noise));
        let want = [pose.0 as f32, pose.1 as f32, pose.2 as f32];
        let have = [got.yaw_deg, got.pitch_deg, got.roll_deg];
        for (h, w) in have.iter().zip(want) {
            assert!((h - w).abs() <= tolerance, "pose {pose:?} read as {got:?}");
        }
    }

    #[test]
    fn recovers_exact_poses() {
        check((0.0, 0.0, 0.0), 0.0, 0.01);
        check((30.0, 0.0, 0.0), 0.0, 0.01);
        check((-35.0, 0.0, 0.0), 0.0, 0.01);
        check((0.0, 25.0, 0.0), 0.0, 0.01);
        check((0.0, -25.0, 0.0), 0.0, 0.01);
        check((0.0, 0.0, 15.0), 0.0, 0.01);
        // Combined, the angles read back within a degree (yaw, pitch and roll do not commute,
        // and roll is read from the eye line's image angle).
        check((20.0, 10.0, 5.0), 0.0, 1.5);
    }

    #[test]
    fn noisy_points_give_nearby_poses() {
        // A pixel of jitter on a face 180 pixels wide.
        check((25.0, -10.0, 0.0), 1.0, 2.0);
    }

    #[test]
    fn the_sign_convention_follows_the_nose() {
        // Nose tip (1) moves to image +x for a positive yaw, and up (-y) for a positive pitch.
        let centre = mesh_at(0.0, 0.0, 0.0, 0.0).points()[1];
        let left = mesh_at(30.0, 0.0, 0.0, 0.0).points()[1];
        let up = mesh_at(0.0, 20.0, 0.0, 0.0).points()[1];
        assert!(left[0] > centre[0] + 10.0, "{left:?} vs {centre:?}");
        assert!(up[1] < centre[1] - 10.0, "{up:?} vs {centre:?}");
        // The subject's right eye (33) is on the image's left in a frontal face.
        let m = mesh_at(0.0, 0.0, 0.0, 0.0);
        assert!(m.points()[33][0] < m.points()[263][0]);
    }

    #[test]
    fn meshes_are_checked() {
        assert!(Mesh::new(vec![[0.0; 3]; 10], 1.0).is_none(), "too few points");
        assert!(Mesh::new(vec![[5.0, 5.0, 5.0]; MESH_POINTS], 1.0).is_none(), "all in one place");
        let mut p = mesh_at(0.0, 0.0, 0.0, 0.0).points().to_vec();
        p[3][1] = f32::NAN;
        assert!(Mesh::new(p, 1.0).is_none(), "not finite");
        assert_eq!(format!("{:?}", mesh_at(0.0, 0.0, 0.0, 0.0)), "Mesh(468 points, presence 1.00)");
    }

    /// A fake mesh model: every landmark at the crop's centre except the first, at (0, 0), and a
    /// fixed presence logit.
    struct Fake {
        logit: f32,
    }

    impl Model for Fake {
        fn name(&self) -> &str {
            "fake-mesh"
        }
        fn run(&self, inputs: &[Tensor]) -> Result<Outputs, ModelError> {
            assert_eq!(inputs[0].shape, vec![1, 192, 192, 3]);
            let mut data = vec![0f32; 3 * MESH_POINTS];
            for p in data.chunks_exact_mut(3).skip(1) {
                p.copy_from_slice(&[96.0, 96.0, 10.0]);
            }
            Ok(Outputs(vec![
                ("landmarks".into(), Tensor { shape: vec![1, 1, 1, 1404], data }),
                ("flag".into(), Tensor { shape: vec![1, 1, 1, 1], data: vec![self.logit] }),
            ]))
        }
    }

    fn spec() -> ModelSpec {
        ModelSpec {
            name: "fake-mesh".into(),
            file: "fake.onnx".into(),
            sha256: String::new(),
            task: "face_mesh".into(),
            licence: String::new(),
            origin: String::new(),
            url: None,
            inputs: vec![TensorSpec { name: "input_1".into(), shape: vec![1, 192, 192, 3] }],
            outputs: vec![
                TensorSpec { name: "landmarks".into(), shape: vec![1, 1, 1, 1404] },
                TensorSpec { name: "flag".into(), shape: vec![1, 1, 1, 1] },
            ],
            preprocess: Some(Preprocess {
                layout: Layout::Nhwc,
                channels: Channels::Rgb,
                scale: 1.0 / 255.0,
                mean: [0.0; 3],
                size: Some([192, 192]),
                multiple_of: None,
            }),
            embedding_output: None,
            align: None,
            crop_scale: None,
            mirror_average: false,
        }
    }

    fn face(x: f32, y: f32, side: f32) -> DetectedFace {
        DetectedFace {
            bbox: FaceBox { x, y, width: side, height: side },
            score: 0.9,
            landmarks: [
                [x + 0.3 * side, y + 0.4 * side],
                [x + 0.7 * side, y + 0.4 * side],
                [0.0; 2],
                [0.0; 2],
                [0.0; 2],
            ],
        }
    }

    #[test]
    fn landmarks_map_back_to_the_frame() {
        let mesh =
            FaceMesh::from_spec(Arc::new(Fake { logit: 5.0 }), &spec(), MeshConfig { min_presence: 0.5 }).unwrap();
        let frame = Frame::from_rgb(image::RgbImage::new(640, 480));
        // A 100-pixel face at (200, 100): the crop is 150 pixels square around (250, 150).
        let m = mesh.landmarks(&frame, &face(200.0, 100.0, 100.0)).unwrap().expect("a face");
        let [x0, y0, _] = m.points()[0];
        assert!((x0 - 175.0).abs() < 1e-3 && (y0 - 75.0).abs() < 1e-3, "{:?}", m.points()[0]);
        let [xc, yc, zc] = m.points()[1];
        assert!((xc - 250.0).abs() < 1e-3 && (yc - 150.0).abs() < 1e-3);
        // z is scaled like x and y: 150 / 192 pixels per crop pixel.
        assert!((zc - 10.0 * 150.0 / 192.0).abs() < 1e-3);
        assert!((m.presence() - 0.9933).abs() < 1e-3);
    }

    #[test]
    fn no_face_in_the_crop_gives_no_mesh() {
        let mesh =
            FaceMesh::from_spec(Arc::new(Fake { logit: -11.0 }), &spec(), MeshConfig { min_presence: 0.5 }).unwrap();
        let frame = Frame::from_rgb(image::RgbImage::new(640, 480));
        assert_eq!(mesh.landmarks(&frame, &face(200.0, 100.0, 100.0)).unwrap(), None);
        let mut one_output = spec();
        one_output.outputs.truncate(1);
        one_output.outputs[0].shape = vec![1, 10];
        assert!(
            FaceMesh::from_spec(Arc::new(Fake { logit: 0.0 }), &one_output, MeshConfig { min_presence: 0.5 }).is_err()
        );
    }
}
