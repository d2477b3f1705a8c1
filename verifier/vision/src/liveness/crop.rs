//! SilentFace's crop: the context window around a face that each MiniFASNet was trained on.
//!
//! Upstream (minivision-ai/Silent-Face-Anti-Spoofing, `src/generate_patches.py`,
//! `CropImage._get_new_box`): the detector's box `(x, y, w, h)` is scaled by the model's scale
//! (2.7 or 4.0) about its centre, the scale first lowered so the window fits the image
//! (`min((H-1)/h, (W-1)/w, scale)`), then shifted back inside the image where it overflows; the
//! window `[x0..=x1] x [y0..=y1]` (integer corners, truncated) is resized to the model's input.
//! Owns that geometry and the pixels it cuts; not the model run ([`super::antispoof`]).

use crate::face::FaceBox;
use crate::frame::Frame;

/// An inclusive pixel window `[x0..=x1] x [y0..=y1]` inside an image, as upstream slices it
/// (`img[y0:y1+1, x0:x1+1]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CropWindow {
    /// Left column.
    pub x0: u32,
    /// Top row.
    pub y0: u32,
    /// Right column, included.
    pub x1: u32,
    /// Bottom row, included.
    pub y1: u32,
}

impl CropWindow {
    /// Width in pixels.
    pub fn width(&self) -> u32 {
        self.x1 - self.x0 + 1
    }

    /// Height in pixels.
    pub fn height(&self) -> u32 {
        self.y1 - self.y0 + 1
    }
}

/// Upstream's `_get_new_box` for an image of `width` x `height` pixels; `None` for an empty
/// image, a degenerate or non-finite box, or a scale below 1.
pub fn silentface_window(width: u32, height: u32, face: &FaceBox, scale: f32) -> Option<CropWindow> {
    let finite = [face.x, face.y, face.width, face.height, scale].iter().all(|v| v.is_finite());
    if width < 2 || height < 2 || !finite || face.width < 1.0 || face.height < 1.0 || scale < 1.0 {
        return None;
    }
    let (src_w, src_h) = (width as f32, height as f32);
    let scale = ((src_h - 1.0) / face.height).min((src_w - 1.0) / face.width).min(scale);
    let (new_w, new_h) = (face.width * scale, face.height * scale);
    let (cx, cy) = (face.x + face.width / 2.0, face.y + face.height / 2.0);
    let (mut x0, mut y0) = (cx - new_w / 2.0, cy - new_h / 2.0);
    let (mut x1, mut y1) = (cx + new_w / 2.0, cy + new_h / 2.0);
    if x0 < 0.0 {
        x1 -= x0;
        x0 = 0.0;
    }
    if y0 < 0.0 {
        y1 -= y0;
        y0 = 0.0;
    }
    if x1 > src_w - 1.0 {
        x0 -= x1 - src_w + 1.0;
        x1 = src_w - 1.0;
    }
    if y1 > src_h - 1.0 {
        y0 -= y1 - src_h + 1.0;
        y1 = src_h - 1.0;
    }
    // Python's int() truncates towards zero; the corners are non-negative here but for float
    // error, which the clamp absorbs.
    let t = |v: f32, max: u32| (v.max(0.0) as u32).min(max);
    let w = CropWindow { x0: t(x0, width - 1), y0: t(y0, height - 1), x1: t(x1, width - 1), y1: t(y1, height - 1) };
    (w.x1 >= w.x0 && w.y1 >= w.y0).then_some(w)
}

/// The window's pixels resized to `size` x `size`, RGB interleaved, 0..=255 (bilinear, as
/// upstream's `cv2.resize`); `None` when [`silentface_window`] gives no window.
pub fn silentface_crop(frame: &Frame, face: &FaceBox, scale: f32, size: u32) -> Option<Vec<u8>> {
    let w = silentface_window(frame.width(), frame.height(), face, scale)?;
    let cut = image::imageops::crop_imm(frame.image(), w.x0, w.y0, w.width(), w.height()).to_image();
    Some(Frame::from_rgb(cut).resized(size, size).as_raw().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(image: (u32, u32), face: [f32; 4], scale: f32, expect: Option<[u32; 4]>) {
        let b = FaceBox { x: face[0], y: face[1], width: face[2], height: face[3] };
        let got = silentface_window(image.0, image.1, &b, scale).map(|w| [w.x0, w.y0, w.x1, w.y1]);
        assert_eq!(got, expect, "{image:?} {face:?} x{scale}");
    }

    #[test]
    fn windows_follow_upstream() {
        // Centred, fits: 100x100 box at (270, 190) scaled 2.7 about (320, 240) = 270 a side.
        check((640, 480), [270.0, 190.0, 100.0, 100.0], 2.7, Some([185, 105, 455, 375]));
        // Scale 4.0 would need 400 rows of 480: it fits, centred.
        check((640, 480), [270.0, 190.0, 100.0, 100.0], 4.0, Some([120, 40, 520, 440]));
        // Near the left edge: shifted right by the overflow, size kept.
        check((640, 480), [10.0, 190.0, 100.0, 100.0], 2.7, Some([0, 105, 270, 375]));
        // Near the bottom-right corner: shifted up and left.
        check((640, 480), [530.0, 370.0, 100.0, 100.0], 2.7, Some([369, 209, 639, 479]));
        // Too large for the image: the scale drops to (H-1)/h = 479/200 = 2.395, so the window
        // spans every row.
        check((640, 480), [220.0, 140.0, 200.0, 200.0], 4.0, Some([80, 0, 559, 479]));
        // Degenerate inputs.
        check((640, 480), [f32::NAN, 0.0, 10.0, 10.0], 2.7, None);
        check((640, 480), [0.0, 0.0, 0.0, 10.0], 2.7, None);
        check((640, 480), [0.0, 0.0, 10.0, 10.0], 0.5, None);
        check((1, 480), [0.0, 0.0, 10.0, 10.0], 2.7, None);
    }

    #[test]
    fn crops_are_square_model_inputs() {
        let frame = Frame::from_rgb(image::RgbImage::from_fn(64, 48, |x, _| image::Rgb([x as u8 * 4, 0, 0])));
        let b = FaceBox { x: 20.0, y: 14.0, width: 20.0, height: 20.0 };
        let crop = silentface_crop(&frame, &b, 2.7, 80).expect("a crop");
        assert_eq!(crop.len(), 80 * 80 * 3);
        // Left to right, red rises as in the frame.
        assert!(crop[0] < crop[79 * 3]);
    }
}
