//! Quality: why a frame's MRZ could not be read, as an issue the capture page can turn into an
//! instruction ("hold still", "tilt away from the light", "come closer", ...).
//!
//! Owns the order in which causes are blamed, from the most certain (the zone runs off the
//! frame) to the least (blur). Measuring sharpness and glare is done where the pixels are, in
//! `segment.rs`; the thresholds come from [`MrzReaderConfig`].

use super::MrzReaderConfig;

/// Why an MRZ could not be read from a frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum QualityIssue {
    /// The print is too blurred (defocus or motion): hold still, let the camera focus.
    TooBlurry,
    /// Specular reflection washes out the MRZ: tilt the document away from the light.
    Glare,
    /// The MRZ is too small in the frame: bring the document closer.
    TooSmall,
    /// Part of the MRZ is outside the frame: centre the document.
    CutOff,
    /// No MRZ-like text was found: show the side with the MRZ.
    NotFound,
    /// An MRZ was found and is sharp, large and unglared, but did not read consistently (worn
    /// print, occlusion, an unusual document): try again.
    Unreadable,
}

impl QualityIssue {
    /// A stable machine-readable code, e.g. `too_blurry`.
    pub fn as_str(&self) -> &'static str {
        match self {
            QualityIssue::TooBlurry => "too_blurry",
            QualityIssue::Glare => "glare",
            QualityIssue::TooSmall => "too_small",
            QualityIssue::CutOff => "cut_off",
            QualityIssue::NotFound => "not_found",
            QualityIssue::Unreadable => "unreadable",
        }
    }
}

/// What the reader measured on the best block it found.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Evidence {
    pub frame_size: (f32, f32),
    pub corners: [[f32; 2]; 4],
    pub pitch_px: f32,
    pub sharpness: f32,
    pub saturated: f32,
}

/// The issue for a frame where nothing MRZ-like was found; `steepness` is the frame's (see
/// [`super::frame_steepness`]).
pub(crate) fn assess_missing(w: f32, h: f32, steepness: Option<f32>, config: &MrzReaderConfig) -> QualityIssue {
    // Under about 30 characters of 5 px across, no MRZ fits.
    if w.min(h) < 64.0 || w < 150.0 {
        QualityIssue::TooSmall
    } else if steepness.is_some_and(|s| s < config.min_frame_steepness) {
        // Glyphs blurred together are not found as glyphs at all.
        QualityIssue::TooBlurry
    } else {
        QualityIssue::NotFound
    }
}

/// The issue for a found but unread MRZ.
pub(crate) fn assess(e: &Evidence, config: &MrzReaderConfig) -> QualityIssue {
    let margin = 0.5 * e.pitch_px;
    let outside = e
        .corners
        .iter()
        .any(|&[x, y]| x < -margin || y < -margin || x > e.frame_size.0 + margin || y > e.frame_size.1 + margin);
    if outside {
        QualityIssue::CutOff
    } else if e.pitch_px < config.min_pitch_px {
        QualityIssue::TooSmall
    } else if e.saturated > config.max_saturated {
        QualityIssue::Glare
    } else if e.sharpness < config.min_sharpness {
        QualityIssue::TooBlurry
    } else {
        QualityIssue::Unreadable
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Quality settings of this test's own, around which the evidence below is set: the
    /// verdict's logic is under test here, not the shipped values (those are the service's
    /// defaults file's, which give the settings this test does not use).
    fn config() -> MrzReaderConfig {
        MrzReaderConfig {
            min_pitch_px: 5.0,
            min_sharpness: 0.12,
            max_saturated: 0.2,
            min_frame_steepness: 0.2,
            ..crate::mrz::service_defaults::reader_config()
        }
    }

    fn check(change: impl Fn(&mut Evidence), expect: QualityIssue) {
        let mut e = Evidence {
            frame_size: (640.0, 480.0),
            corners: [[100.0, 300.0], [500.0, 300.0], [500.0, 340.0], [100.0, 340.0]],
            pitch_px: 9.0,
            sharpness: 0.5,
            saturated: 0.0,
        };
        change(&mut e);
        assert_eq!(assess(&e, &config()), expect, "{e:?}");
    }

    #[test]
    fn blames_the_most_certain_cause_first() {
        check(|_| {}, QualityIssue::Unreadable);
        check(|e| e.corners[1][0] = 700.0, QualityIssue::CutOff);
        check(|e| e.pitch_px = 4.0, QualityIssue::TooSmall);
        check(|e| e.saturated = 0.5, QualityIssue::Glare);
        check(|e| e.sharpness = 0.05, QualityIssue::TooBlurry);
        check(|e| (e.sharpness, e.pitch_px) = (0.05, 3.0), QualityIssue::TooSmall);
        assert_eq!(assess_missing(40.0, 30.0, Some(0.5), &config()), QualityIssue::TooSmall);
        assert_eq!(assess_missing(1280.0, 720.0, Some(0.5), &config()), QualityIssue::NotFound);
        assert_eq!(assess_missing(1280.0, 720.0, Some(0.1), &config()), QualityIssue::TooBlurry);
        assert_eq!(assess_missing(1280.0, 720.0, None, &config()), QualityIssue::NotFound);
        assert_eq!(QualityIssue::CutOff.as_str(), "cut_off");
    }
}
