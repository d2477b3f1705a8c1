//! Face alignment: the similarity transform that maps five landmarks onto the embedding
//! template, and the warp that produces the aligned crop.
//!
//! One alignment per embedding model, used for document portraits and live frames alike, so both
//! sides of a comparison are prepared the same way. The template comes from the model's manifest
//! entry (`align.template`, see [`FaceEmbedder::align`](super::FaceEmbedder::align)); models
//! that declare none, and the quality gate, use the ArcFace/InsightFace five-point template for
//! 112x112 crops scaled to the requested size ([`align_face`]).

use super::DetectedFace;
use crate::frame::Frame;

/// The ArcFace five-point template for a 112x112 crop (eye centres, nose tip, mouth corners), in the
/// same order as YuNet's landmarks.
pub(crate) const TEMPLATE_112: [[f32; 2]; 5] =
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]];

/// A square face crop aligned to the template: RGB, row-major, interleaved, 0..=255.
///
/// Only [`align_face`] and [`align_to_template`] make one, so an `AlignedFace` is always
/// template-aligned.
#[derive(Clone, PartialEq, Eq)]
pub struct AlignedFace {
    size: u32,
    rgb: Vec<u8>,
}

impl std::fmt::Debug for AlignedFace {
    // A face crop is biometric data: never print its pixels.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AlignedFace({0}x{0})", self.size)
    }
}

impl AlignedFace {
    /// Side length in pixels.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// The pixels, `size * size * 3` bytes.
    pub fn rgb(&self) -> &[u8] {
        &self.rgb
    }

    /// A uniform crop, for tests of the stages that consume aligned faces.
    #[cfg(test)]
    pub(crate) fn filled(size: u32, rgb: [u8; 3]) -> Self {
        Self { size, rgb: rgb.repeat((size * size) as usize) }
    }

    /// A crop from raw pixels, for tests of the stages that consume aligned faces.
    #[cfg(test)]
    pub(crate) fn from_rgb(size: u32, rgb: Vec<u8>) -> Self {
        assert_eq!(rgb.len(), (size * size * 3) as usize, "test crops hold size * size RGB pixels");
        Self { size, rgb }
    }
}

/// A 2-D similarity transform `p' = [a -b; b a] p + [tx, ty]` (rotation, uniform scale, shift).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Similarity {
    a: f32,
    b: f32,
    tx: f32,
    ty: f32,
}

impl Similarity {
    /// The least-squares similarity mapping `src` points onto `dst` points (Umeyama's closed
    /// form without reflection). `None` when the source points all coincide.
    pub fn estimate(src: &[[f32; 2]], dst: &[[f32; 2]]) -> Option<Self> {
        let n = src.len().min(dst.len());
        if n == 0 {
            return None;
        }
        let mean = |pts: &[[f32; 2]]| {
            let (sx, sy) = pts[..n].iter().fold((0.0, 0.0), |(x, y), p| (x + p[0], y + p[1]));
            (sx / n as f32, sy / n as f32)
        };
        let (msx, msy) = mean(src);
        let (mdx, mdy) = mean(dst);
        let (mut dot, mut cross, mut norm) = (0f32, 0f32, 0f32);
        for (s, d) in src[..n].iter().zip(&dst[..n]) {
            let (xs, ys) = (s[0] - msx, s[1] - msy);
            let (xd, yd) = (d[0] - mdx, d[1] - mdy);
            dot += xs * xd + ys * yd;
            cross += xs * yd - ys * xd;
            norm += xs * xs + ys * ys;
        }
        if norm <= f32::EPSILON || !norm.is_finite() {
            return None;
        }
        let (a, b) = (dot / norm, cross / norm);
        if a == 0.0 && b == 0.0 {
            return None;
        }
        Some(Self { a, b, tx: mdx - (a * msx - b * msy), ty: mdy - (b * msx + a * msy) })
    }

    /// Maps a point.
    pub fn apply(&self, p: [f32; 2]) -> [f32; 2] {
        [self.a * p[0] - self.b * p[1] + self.tx, self.b * p[0] + self.a * p[1] + self.ty]
    }

    /// The inverse transform (`estimate` never returns a degenerate one).
    pub fn inverse(&self) -> Self {
        let d = self.a * self.a + self.b * self.b;
        let (a, b) = (self.a / d, -self.b / d);
        Self { a, b, tx: -(a * self.tx - b * self.ty), ty: -(b * self.tx + a * self.ty) }
    }

    /// A rotation by `degrees` (counter-clockwise on screen, y pointing down: clockwise) about
    /// the origin, followed by a shift.
    pub fn rotation(degrees: f32, shift: [f32; 2]) -> Self {
        let (sin, cos) = degrees.to_radians().sin_cos();
        Self { a: cos, b: sin, tx: shift[0], ty: shift[1] }
    }

    /// The uniform scale factor.
    pub fn scale(&self) -> f32 {
        (self.a * self.a + self.b * self.b).sqrt()
    }
}

/// Aligns `face` from `frame` into a `size` x `size` crop on the ArcFace template, one bilinear
/// sample per crop pixel (what the quality gate's measures were calibrated on). `None` when
/// the landmarks are degenerate (all in one point) or `size` is zero.
pub fn align_face(frame: &Frame, face: &DetectedFace, size: u32) -> Option<AlignedFace> {
    let k = size as f32 / 112.0;
    align_with(frame, face, &TEMPLATE_112.map(|[x, y]| [x * k, y * k]), size, false)
}

/// Aligns `face` from `frame` into a `size` x `size` crop whose five landmarks land nearest
/// `template` (crop pixels, YuNet's landmark order). `None` when the landmarks are degenerate
/// or `size` is zero.
///
/// Where the crop is much smaller than the face in the frame, each crop pixel averages a grid
/// of samples over its footprint instead of taking one bilinear sample, so a large face is
/// shrunk without aliasing (dlib's `extract_image_chip` filters the same way before sampling).
pub fn align_to_template(
    frame: &Frame,
    face: &DetectedFace,
    template: &[[f32; 2]; 5],
    size: u32,
) -> Option<AlignedFace> {
    align_with(frame, face, template, size, true)
}

fn align_with(
    frame: &Frame,
    face: &DetectedFace,
    template: &[[f32; 2]; 5],
    size: u32,
    average: bool,
) -> Option<AlignedFace> {
    if size == 0 {
        return None;
    }
    let to_crop = Similarity::estimate(&face.landmarks, template)?;
    let to_frame = to_crop.inverse();
    // Frame pixels per crop pixel; one sample per frame pixel, at most 8x8 per crop pixel.
    let samples = if average { (to_frame.scale().ceil() as usize).clamp(1, 8) } else { 1 };
    let rgb = if samples > 1 {
        warp_averaged(frame, &to_frame, size, size, samples)
    } else {
        warp(frame, &to_frame, size, size)
    };
    Some(AlignedFace { size, rgb })
}

/// As [`warp`], with each output pixel the mean of `n` x `n` bilinear samples spread evenly
/// over its square (a box filter the size of the pixel's footprint in the frame).
fn warp_averaged(frame: &Frame, to_frame: &Similarity, width: u32, height: u32, n: usize) -> Vec<u8> {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let src = frame.as_raw();
    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    let offsets: Vec<f32> = (0..n).map(|i| (i as f32 + 0.5) / n as f32 - 0.5).collect();
    let count = (n * n) as u32;
    for y in 0..height as usize {
        for x in 0..width as usize {
            let mut sum = [0u32; 3];
            for &dy in &offsets {
                for &dx in &offsets {
                    let [sx, sy] = to_frame.apply([x as f32 + dx, y as f32 + dy]);
                    let mut sample = [0u8; 3];
                    bilinear(src, w, h, sx, sy, &mut sample);
                    sum.iter_mut().zip(sample).for_each(|(s, v)| *s += u32::from(v));
                }
            }
            let out = &mut rgb[(y * width as usize + x) * 3..][..3];
            out.iter_mut().zip(sum).for_each(|(o, s)| *o = ((s + count / 2) / count) as u8);
        }
    }
    rgb
}

/// The `width` x `height` RGB image whose pixel `p` is `frame` sampled at `to_frame(p)`
/// (bilinear; black outside the frame).
pub(crate) fn warp(frame: &Frame, to_frame: &Similarity, width: u32, height: u32) -> Vec<u8> {
    let (w, h) = (frame.width() as usize, frame.height() as usize);
    let src = frame.as_raw();
    let mut rgb = vec![0u8; width as usize * height as usize * 3];
    for y in 0..height as usize {
        for x in 0..width as usize {
            // Pixel centres, as in OpenCV's warpAffine.
            let [sx, sy] = to_frame.apply([x as f32, y as f32]);
            let out = &mut rgb[(y * width as usize + x) * 3..][..3];
            bilinear(src, w, h, sx, sy, out);
        }
    }
    rgb
}

/// Samples `src` (RGB, `w` x `h`) at `(x, y)` with bilinear weights; outside is black.
fn bilinear(src: &[u8], w: usize, h: usize, x: f32, y: f32, out: &mut [u8]) {
    if !(x > -1.0 && y > -1.0 && x < w as f32 && y < h as f32) {
        return;
    }
    let (x0, y0) = (x.floor(), y.floor());
    let (fx, fy) = (x - x0, y - y0);
    let (x0, y0) = (x0 as isize, y0 as isize);
    let pixel = |px: isize, py: isize, c: usize| -> f32 {
        if px < 0 || py < 0 || px >= w as isize || py >= h as isize {
            0.0
        } else {
            f32::from(src[(py as usize * w + px as usize) * 3 + c])
        }
    };
    for (c, o) in out.iter_mut().enumerate() {
        let top = pixel(x0, y0, c) * (1.0 - fx) + pixel(x0 + 1, y0, c) * fx;
        let bottom = pixel(x0, y0 + 1, c) * (1.0 - fx) + pixel(x0 + 1, y0 + 1, c) * fx;
        *o = (top * (1.0 - fy) + bottom * fy).round().clamp(0.0, 255.0) as u8;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::face::FaceBox;

    fn check(src: [[f32; 2]; 3], dst: [[f32; 2]; 3], expect_scale: f32) {
        let t = Similarity::estimate(&src, &dst).expect("not degenerate");
        for (s, d) in src.iter().zip(&dst) {
            let p = t.apply(*s);
            assert!((p[0] - d[0]).abs() < 1e-3 && (p[1] - d[1]).abs() < 1e-3, "{p:?} != {d:?}");
            let back = t.inverse().apply(p);
            assert!((back[0] - s[0]).abs() < 1e-3 && (back[1] - s[1]).abs() < 1e-3);
        }
        assert!((t.scale() - expect_scale).abs() < 1e-4);
    }

    #[test]
    fn exact_similarities_are_recovered() {
        check([[0., 0.], [1., 0.], [0., 1.]], [[5., 5.], [6., 5.], [5., 6.]], 1.0);
        check([[0., 0.], [1., 0.], [0., 1.]], [[0., 0.], [0., 2.], [-2., 0.]], 2.0);
        assert_eq!(Similarity::estimate(&[[3., 3.]; 5], &TEMPLATE_112), None);
    }

    #[test]
    fn a_face_already_on_the_template_is_copied() {
        // A frame whose pixel (x, y) has red = x and green = y, landmarks exactly on the template.
        let img = image::RgbImage::from_fn(112, 112, |x, y| image::Rgb([x as u8, y as u8, 7]));
        let face = DetectedFace {
            bbox: FaceBox { x: 0.0, y: 0.0, width: 112.0, height: 112.0 },
            score: 1.0,
            landmarks: TEMPLATE_112,
        };
        let aligned = align_face(&Frame::from_rgb(img), &face, 112).unwrap();
        assert_eq!(aligned.size(), 112);
        let at = |x: usize, y: usize| &aligned.rgb()[(y * 112 + x) * 3..][..3];
        assert_eq!(at(10, 20), &[10, 20, 7]);
        assert_eq!(at(100, 90), &[100, 90, 7]);
        // At twice the size, every pixel comes from half its coordinates.
        let img = image::RgbImage::from_fn(112, 112, |x, y| image::Rgb([x as u8, y as u8, 7]));
        let big = align_face(&Frame::from_rgb(img), &face, 224).unwrap();
        assert_eq!(&big.rgb()[(40 * 224 + 60) * 3..][..3], &[30, 20, 7]);
    }

    #[test]
    fn a_large_face_is_averaged_not_aliased() {
        // Alternating black and white columns, one pixel wide, shrunk four times: one sample
        // per crop pixel would land on a single column (all black or all white); the averaged
        // crop is grey throughout.
        let img =
            image::RgbImage::from_fn(
                448,
                448,
                |x, _| if x % 2 == 0 { image::Rgb([0; 3]) } else { image::Rgb([255; 3]) },
            );
        let face = DetectedFace {
            bbox: FaceBox { x: 0.0, y: 0.0, width: 448.0, height: 448.0 },
            score: 1.0,
            landmarks: TEMPLATE_112.map(|[x, y]| [x * 4.0, y * 4.0]),
        };
        let aligned = align_to_template(&Frame::from_rgb(img), &face, &TEMPLATE_112, 112).unwrap();
        // Row and column 0 reach half a frame pixel past the frame's edge (black), so they are
        // left out.
        for y in 1..112 {
            for x in 1..112 {
                let v = aligned.rgb()[(y * 112 + x) * 3];
                assert!((120..=135).contains(&v), "crop ({x}, {y}) = {v} is not a mean of both colours");
            }
        }
        assert_eq!(align_to_template(&Frame::from_rgb(image::RgbImage::new(4, 4)), &face, &TEMPLATE_112, 0), None);
    }

    #[test]
    fn outside_the_frame_is_black() {
        let img = image::RgbImage::from_pixel(20, 20, image::Rgb([200, 200, 200]));
        let face = DetectedFace {
            bbox: FaceBox { x: 0.0, y: 0.0, width: 20.0, height: 20.0 },
            score: 1.0,
            // A tenth of the template, shifted up-left: crop pixel c comes from c / 10 - 10.
            landmarks: TEMPLATE_112.map(|[x, y]| [x / 10.0 - 10.0, y / 10.0 - 10.0]),
        };
        let aligned = align_face(&Frame::from_rgb(img), &face, 112).unwrap();
        assert_eq!(&aligned.rgb()[..3], &[0, 0, 0], "crop (0, 0) is frame (-10, -10)");
        let last = (111 * 112 + 111) * 3;
        assert_eq!(&aligned.rgb()[last..last + 3], &[200, 200, 200], "crop (111, 111) is frame (1.1, 1.1)");
        assert_eq!(align_face(&Frame::from_rgb(image::RgbImage::new(4, 4)), &face, 0), None);
    }
}
