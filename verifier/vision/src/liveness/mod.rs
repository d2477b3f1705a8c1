//! Passive presentation-attack detection: is the face in front of the camera a live one, or a
//! print, a screen or a still image?
//!
//! Per frame (on the analysis pool), for a face box the pipeline already found:
//! - [`AntiSpoof::score`]: SilentFace's two MiniFASNets on their crops ([`crop`]), fused as
//!   upstream does (the mean "real" probability); the only part that runs a model.
//! - [`measure_frame`]: the pure signals the models miss, on the same frame: screen moire and
//!   refresh banding ([`spectrum`]), straight paper or bezel edges framing the face
//!   ([`framing`]), and a small grey patch around the face for motion ([`motion`]).
//!
//! Per session, [`PassiveAggregate`] collects the [`PassiveFrame`]s in order, measures the face's
//! motion against its background between consecutive frames (a live head moves on its own; a
//! photo moves with its background, or not at all) and gives a [`PassiveVerdict`]: `Live`,
//! `Attack` or `Borderline`, with each signal's value and what it said. Thresholds come in a
//! [`PassiveConfig`] (the server's `[liveness.passive]`).
//!
//! What it leaves out: injection (a virtual camera, a replayed stream) and replay of a genuine
//! recording on a good screen held out of the bezel's view are the flash nonce's and the
//! stream-integrity layer's; masks are not modelled. See `docs/liveness.md`.
//!
//! ```
//! use vision::face::FaceBox;
//! use vision::frame::{Frame, FrameId};
//! use vision::liveness::{PassiveAggregate, PassiveConfig, PassiveOutcome, measure_frame};
//!
//! let config = PassiveConfig::shipped();
//! let mut session = PassiveAggregate::new(config);
//! // The same picture every frame: a still image, however good.
//! let still = Frame::from_rgb(image::RgbImage::from_fn(320, 240, |x, y| image::Rgb([(x % 97) as u8 + 80, (y % 89) as u8 + 60, 90])));
//! let face = FaceBox { x: 110.0, y: 60.0, width: 100.0, height: 120.0 };
//! for i in 0..8 {
//!     session.add(measure_frame(FrameId(i), &still, &face, None, &config));
//! }
//! assert_eq!(session.verdict().outcome, PassiveOutcome::Attack);
//! ```

pub mod aggregate;
pub mod antispoof;
pub mod crop;
pub mod framing;
pub mod motion;
pub mod spectrum;

pub use aggregate::{
    PassiveAggregate, PassiveConfig, PassiveEvidence, PassiveFrame, PassiveOutcome, PassiveVerdict, Signal,
    SignalVerdict, measure_frame,
};
pub use antispoof::{AntiSpoof, AntiSpoofModel, ModelScore};

use crate::frame::Frame;

/// A grey image (`0.299 R + 0.587 G + 0.114 B`, 0..=255 as `f32`), rows top to bottom. Its
/// `Debug` prints only its size.
#[derive(Clone, PartialEq)]
pub struct Grey {
    width: usize,
    height: usize,
    data: Vec<f32>,
}

impl std::fmt::Debug for Grey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Grey({}x{})", self.width, self.height)
    }
}

impl Grey {
    /// The frame's luma.
    pub fn from_frame(frame: &Frame) -> Grey {
        let data = frame
            .as_raw()
            .chunks_exact(3)
            .map(|p| 0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2]))
            .collect();
        Grey { width: frame.width() as usize, height: frame.height() as usize, data }
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// The value at `(x, y)`, which must be inside.
    fn at(&self, x: usize, y: usize) -> f32 {
        self.data[y * self.width + x]
    }

    /// Bilinear sample at continuous pixel coordinates (pixel centres at integers); `None`
    /// outside.
    fn sample(&self, x: f32, y: f32) -> Option<f32> {
        if !((0.0..=(self.width - 1) as f32).contains(&x) && (0.0..=(self.height - 1) as f32).contains(&y)) {
            return None;
        }
        let (x0, y0) = (x as usize, y as usize);
        let (x1, y1) = ((x0 + 1).min(self.width - 1), (y0 + 1).min(self.height - 1));
        let (fx, fy) = (x - x0 as f32, y - y0 as f32);
        let top = self.at(x0, y0) * (1.0 - fx) + self.at(x1, y0) * fx;
        let bottom = self.at(x0, y1) * (1.0 - fx) + self.at(x1, y1) * fx;
        Some(top * (1.0 - fy) + bottom * fy)
    }
}
