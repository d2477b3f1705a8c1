//! The screen-flash nonce as the liveness sequences render it: the colours a session's page
//! shows around the face oval, when, and the light they add to what is in front of the screen.
//!
//! This crate may not depend on the verifier's `session` crate, so it keeps its own copy of the
//! colour list ([`FLASH_COLOURS`]: the same names and 8-bit RGB values as
//! `session::flash::FlashColour`; a test on the verifier's side compares the two) and of the
//! drawing rule (`FlashPlan::draw` then `FlashPlan::paced`: 4 to 6 distinct colours of 200 to
//! 300 ms after a 300 to 900 ms lead-in, each lasting at least 2.5 frame intervals, at most
//! 1.2 s, then fitted into 3 s with the 700 ms settle by shortening the lead-in down to 300 ms
//! and then dropping colours from the end down to 4; the values of `[session.flash]` in the
//! verifier's `config/default.toml`).
//!
//! The light is physical: the screen adds irradiance in proportion to its colour, so a diffuse
//! surface's pixel grows by `gain * colour` times its own value (its albedo times the room's
//! light); `gain` is the screen's irradiance over the room's, large in a dim room, small in a
//! bright one or against a window. Glass (a phone's screen) reflects it specularly instead: an
//! added veil, independent of what the panel shows. What the camera makes of it
//! ([`Camera`]) lags: auto-exposure and white balance pull a colour cast back towards neutral,
//! a few hundred milliseconds late. Pixels and drawing only; the check is the verifier's.

use image::RgbImage;
use rand::RngExt;
use rand::rngs::ChaCha8Rng;
use serde::{Deserialize, Serialize};

/// The colours a page can show, with their 8-bit sRGB values: `session::flash::FlashColour`'s.
pub const FLASH_COLOURS: [(&str, [u8; 3]); 6] = [
    ("red", [255, 0, 0]),
    ("green", [0, 255, 0]),
    ("blue", [0, 0, 255]),
    ("yellow", [255, 255, 0]),
    ("magenta", [255, 0, 255]),
    ("cyan", [0, 255, 255]),
];

/// The RGB value of a colour name of [`FLASH_COLOURS`].
pub fn colour_rgb(name: &str) -> Option<[u8; 3]> {
    FLASH_COLOURS.iter().find(|(n, _)| *n == name).map(|(_, rgb)| *rgb)
}

/// How a session draws its sequence (the verifier's `[session.flash]` defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FlashSpec {
    /// Colours per sequence, at least and at most.
    pub colours: (usize, usize),
    /// Each colour's drawn length, ms, at least and at most.
    pub colour_ms: (u32, u32),
    /// The wait before the first colour, ms, at least and at most.
    pub lead_in_ms: (u32, u32),
    /// Each colour lasts at least this many frame intervals ...
    pub frames_per_colour: f32,
    /// ... but at most this long, ms.
    pub max_paced_colour_ms: u32,
    /// The flash step's budget, ms, from its start to the check (lead-in, colours, settle).
    pub max_step_ms: u32,
    /// Frames still collected after the last colour, ms, before the check.
    pub settle_ms: u32,
}

impl FlashSpec {
    /// The verifier's shipped `[session.flash]` values.
    pub fn shipped() -> FlashSpec {
        FlashSpec {
            colours: (4, 6),
            colour_ms: (200, 300),
            lead_in_ms: (300, 900),
            frames_per_colour: 2.5,
            max_paced_colour_ms: 1200,
            max_step_ms: 3000,
            settle_ms: 700,
        }
    }
}

/// One colour the page showed: from when the server sent it to when it sent the next change,
/// in ms on the server's clock from the sequence's start.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlashStep {
    /// A name of [`FLASH_COLOURS`].
    pub colour: String,
    /// When the server sent it.
    pub start_ms: u32,
    /// When the server sent the next change.
    pub end_ms: u32,
}

/// Draws a sequence whose flash starts (the session's `start_flash`) at `started_ms`, paced to
/// frames `interval_ms` apart: distinct colours while some are unused, never one twice in a row;
/// then fitted into `max_step_ms` as the session fits it.
pub fn draw_flash(spec: &FlashSpec, started_ms: u32, interval_ms: u32, rng: &mut ChaCha8Rng) -> Vec<FlashStep> {
    let mut lead_in = rng.random_range(spec.lead_in_ms.0..=spec.lead_in_ms.1);
    let count = rng.random_range(spec.colours.0..=spec.colours.1.max(spec.colours.0));
    let wanted = (interval_ms as f32 * spec.frames_per_colour) as u32;
    let capped = wanted > spec.max_paced_colour_ms;
    let least = wanted.min(spec.max_paced_colour_ms);
    let mut drawn: Vec<(&str, u32)> = Vec::with_capacity(count);
    for _ in 0..count {
        let unused: Vec<&str> = FLASH_COLOURS.iter().map(|c| c.0).filter(|n| drawn.iter().all(|s| s.0 != *n)).collect();
        let choices: Vec<&str> = if unused.is_empty() {
            FLASH_COLOURS.iter().map(|c| c.0).filter(|n| drawn.last().is_none_or(|l| l.0 != *n)).collect()
        } else {
            unused
        };
        let colour = choices[rng.random_range(0..choices.len())];
        drawn.push((colour, rng.random_range(spec.colour_ms.0..=spec.colour_ms.1).max(least)));
    }
    // A device too slow for its frames per colour keeps every colour; else the step keeps to its
    // budget: lead-in shortened, then colours dropped from the end.
    if !capped {
        let length = |lead_in: u32, d: &[(&str, u32)]| lead_in + d.iter().map(|s| s.1).sum::<u32>() + spec.settle_ms;
        let over = length(lead_in, &drawn).saturating_sub(spec.max_step_ms);
        lead_in = lead_in.saturating_sub(over).max(spec.lead_in_ms.0.min(lead_in));
        while length(lead_in, &drawn) > spec.max_step_ms && drawn.len() > spec.colours.0.max(1) {
            drawn.pop();
        }
    }
    let mut t = started_ms + lead_in;
    let mut out: Vec<FlashStep> = Vec::with_capacity(drawn.len());
    for (colour, length) in drawn {
        out.push(FlashStep { colour: colour.to_owned(), start_ms: t, end_ms: t + length });
        t += length;
    }
    out
}

/// The screen's light (0-1 per channel) averaged over an exposure from `from_ms` to `to_ms` of
/// the screen's own clock, for `steps` that the screen shows `display_lag_ms` after the server
/// sent them: a frame exposed across a change sees a mix of both colours.
pub fn light(steps: &[FlashStep], display_lag_ms: f32, from_ms: f32, to_ms: f32) -> [f32; 3] {
    let span = (to_ms - from_ms).max(1.0);
    let mut out = [0.0f32; 3];
    for s in steps {
        let (a, b) = (s.start_ms as f32 + display_lag_ms, s.end_ms as f32 + display_lag_ms);
        let overlap = (b.min(to_ms) - a.max(from_ms)).max(0.0) / span;
        if overlap > 0.0
            && let Some(rgb) = colour_rgb(&s.colour)
        {
            for k in 0..3 {
                out[k] += overlap * f32::from(rgb[k]) / 255.0;
            }
        }
    }
    out
}

/// Where the screen's light falls: in full within the ellipse `[cx, cy, rx, ry]` (the face, or a
/// sheet held where the face would be), falling off to `far` (the room behind, farther from the
/// screen) at twice its radius.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Falloff {
    /// The lit ellipse's centre and radii, in frame pixels.
    pub ellipse: [f32; 4],
    /// The share of the light that reaches the room behind.
    pub far: f32,
}

impl Falloff {
    fn at(&self, x: f32, y: f32) -> f32 {
        let [cx, cy, rx, ry] = self.ellipse;
        let (nx, ny) = ((x - cx) / rx.max(1.0), (y - cy) / ry.max(1.0));
        let r = (nx * nx + ny * ny).sqrt();
        let near = (2.0 - r).clamp(0.0, 1.0);
        self.far + (1.0 - self.far) * near
    }

    /// The mean share of the light over an image `w` by `h` (what auto-exposure sees), on a
    /// coarse grid.
    pub fn mean(&self, w: u32, h: u32) -> f32 {
        let (mut sum, mut n) = (0.0f32, 0u32);
        for gy in 0..16 {
            for gx in 0..16 {
                sum += self.at((gx as f32 + 0.5) * w as f32 / 16.0, (gy as f32 + 0.5) * h as f32 / 16.0);
                n += 1;
            }
        }
        sum / n as f32
    }
}

/// Diffuse reflection: each pixel grows by `gain * light * share` of its own value.
pub fn reflect(img: &mut RgbImage, light: [f32; 3], gain: f32, falloff: &Falloff) {
    if gain <= 0.0 || light.iter().all(|l| *l <= 0.0) {
        return;
    }
    for (x, y, p) in img.enumerate_pixels_mut() {
        let k = gain * falloff.at(x as f32, y as f32);
        for c in 0..3 {
            p.0[c] = (f32::from(p.0[c]) * (1.0 + k * light[c])).round().clamp(0.0, 255.0) as u8;
        }
    }
}

/// Diffuse reflection on a sheet held where the face would be: all of it lit alike.
pub fn reflect_sheet(img: &mut image::RgbaImage, light: [f32; 3], gain: f32) {
    if gain <= 0.0 || light.iter().all(|l| *l <= 0.0) {
        return;
    }
    for p in img.pixels_mut() {
        for c in 0..3 {
            p.0[c] = (f32::from(p.0[c]) * (1.0 + gain * light[c])).round().clamp(0.0, 255.0) as u8;
        }
    }
}

/// Specular reflection on glass: `veil` (0-1, the share of the screen's luminance the glass
/// returns towards the camera) of the light, added whatever the panel shows.
pub fn glare(img: &mut image::RgbaImage, light: [f32; 3], veil: f32) {
    if veil <= 0.0 || light.iter().all(|l| *l <= 0.0) {
        return;
    }
    let add = light.map(|l| 255.0 * veil * l);
    for p in img.pixels_mut() {
        for c in 0..3 {
            p.0[c] = (f32::from(p.0[c]) + add[c]).round().clamp(0.0, 255.0) as u8;
        }
    }
}

/// A webcam's automatic exposure and white balance: they see the light the screen adds to the
/// whole picture and take it back out, late (first-order lag) and in part.
#[derive(Clone, Debug, PartialEq)]
pub struct Camera {
    /// Time constant of the adaptation, ms.
    pub tau_ms: f32,
    /// Share of an overall brightening auto-exposure removes once settled.
    pub exposure_follow: f32,
    /// Share of a colour cast white balance removes once settled.
    pub balance_follow: f32,
    state: [f32; 3],
    last_ms: Option<f32>,
}

impl Camera {
    /// A camera at rest.
    pub fn new(tau_ms: f32, exposure_follow: f32, balance_follow: f32) -> Camera {
        Camera { tau_ms, exposure_follow, balance_follow, state: [0.0; 3], last_ms: None }
    }

    /// The per-channel gains the camera applies to a frame captured at `at_ms` whose picture is
    /// brightened on average by `added` (per channel, a share of its own value).
    pub fn gains(&mut self, at_ms: f32, added: [f32; 3]) -> [f32; 3] {
        let dt = self.last_ms.map_or(0.0, |l| (at_ms - l).max(0.0));
        self.last_ms = Some(at_ms);
        let k = 1.0 - (-dt / self.tau_ms.max(1.0)).exp();
        for c in 0..3 {
            self.state[c] += (added[c] - self.state[c]) * k;
        }
        let mean = self.state.iter().sum::<f32>() / 3.0;
        std::array::from_fn(|c| {
            1.0 / (1.0 + self.exposure_follow * mean + self.balance_follow * (self.state[c] - mean)).max(0.2)
        })
    }
}

/// Draws a camera: adaptation of 150 to 600 ms, following a third to four fifths of a
/// brightening and a tenth to a half of a cast.
pub fn draw_camera(rng: &mut ChaCha8Rng) -> Camera {
    Camera::new(rng.random_range(150.0..600.0), rng.random_range(0.3..0.8), rng.random_range(0.1..0.5))
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;

    #[test]
    fn sequences_are_paced_distinct_and_in_bounds() {
        let spec = FlashSpec::shipped();
        for seed in 0..40 {
            let mut rng = ChaCha8Rng::seed_from_u64(seed);
            let interval = if seed % 2 == 0 { 100 } else { 160 };
            let steps = draw_flash(&spec, 1000, interval, &mut rng);
            assert!((4..=6).contains(&steps.len()), "{steps:?}");
            assert!((1300..=1900).contains(&steps[0].start_ms), "{steps:?}");
            let least = (interval as f32 * 2.5) as u32;
            for s in &steps {
                let len = s.end_ms - s.start_ms;
                assert!(len >= least.max(200) && len <= least.max(300), "{s:?} at {interval} ms");
                assert!(colour_rgb(&s.colour).is_some());
            }
            assert!(steps.windows(2).all(|w| w[0].end_ms == w[1].start_ms && w[0].colour != w[1].colour));
            let last = steps.last().map_or(0, |s| s.end_ms);
            assert!(last + spec.settle_ms - 1000 <= spec.max_step_ms, "the step's budget: {steps:?}");
            let mut names: Vec<&str> = steps.iter().map(|s| s.colour.as_str()).collect();
            names.sort_unstable();
            names.dedup();
            assert_eq!(names.len(), steps.len(), "distinct while some are unused: {steps:?}");
        }
    }

    #[test]
    fn light_mixes_across_a_change_and_lags_with_the_display() {
        let steps = vec![
            FlashStep { colour: "red".into(), start_ms: 1000, end_ms: 1300 },
            FlashStep { colour: "blue".into(), start_ms: 1300, end_ms: 1600 },
        ];
        assert_eq!(light(&steps, 0.0, 1100.0, 1130.0), [1.0, 0.0, 0.0]);
        assert_eq!(light(&steps, 100.0, 1050.0, 1080.0), [0.0, 0.0, 0.0], "not on screen yet");
        let mixed = light(&steps, 0.0, 1290.0, 1310.0);
        assert!((mixed[0] - 0.5).abs() < 1e-3 && (mixed[2] - 0.5).abs() < 1e-3, "{mixed:?}");
        assert_eq!(light(&steps, 0.0, 1700.0, 1730.0), [0.0; 3]);
    }

    #[test]
    fn a_diffuse_surface_takes_the_colour_in_proportion_to_itself_and_the_camera_takes_some_back() {
        let mut img = RgbImage::from_pixel(40, 40, image::Rgb([100, 100, 100]));
        let falloff = Falloff { ellipse: [20.0, 20.0, 5.0, 5.0], far: 0.2 };
        reflect(&mut img, [1.0, 0.0, 0.0], 0.2, &falloff);
        assert_eq!(img.get_pixel(20, 20).0, [120, 100, 100], "in full on the face");
        assert_eq!(img.get_pixel(0, 0).0, [104, 100, 100], "a fifth on the room");
        let mut cam = Camera::new(300.0, 0.5, 0.5);
        assert_eq!(cam.gains(0.0, [0.0; 3]), [1.0; 3]);
        let first = cam.gains(100.0, [0.2, 0.0, 0.0]);
        let later = cam.gains(2000.0, [0.2, 0.0, 0.0]);
        assert!(first[0] < 1.0 && later[0] < first[0], "{first:?} then {later:?}");
        assert!(later[0] > 1.0 / 1.2, "only part of the cast is taken back: {later:?}");
    }
}
