//! The passive presentation-attack models: SilentFace's MiniFASNets behind the [`Model`] trait.
//!
//! Each model sees its own crop of the face (the box scaled by the manifest's `crop_scale`, see
//! [`super::crop`]), as BGR 0..=255 floats without normalisation (the manifest's `preprocess`),
//! and gives three logits; the softmax's class 1 is "real" (upstream's labels: 0 print, 1 real,
//! 2 screen). Upstream sums the models' softmax outputs and halves the winner's value; the
//! probability of "real" is therefore the mean of the models' class-1 probabilities, which is
//! what [`AntiSpoof::score`] returns. Owns the model I/O; thresholds are the aggregate's.

use std::sync::Arc;

use verifier_models::{ModelSpec, Preprocess};

use super::crop::silentface_crop;
use crate::face::FaceBox;
use crate::frame::Frame;
use crate::model::{Model, ModelError};
use crate::preprocess::rgb_to_tensor;

/// Upstream's index of the "real" class.
const REAL_CLASS: usize = 1;

/// One MiniFASNet with the crop scale and input it was trained on.
#[derive(Clone)]
pub struct AntiSpoofModel {
    model: Arc<dyn Model>,
    scale: f32,
    size: u32,
    preprocess: Preprocess,
    output: String,
}

impl std::fmt::Debug for AntiSpoofModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AntiSpoofModel")
            .field("model", &self.model.name())
            .field("scale", &self.scale)
            .field("size", &self.size)
            .finish_non_exhaustive()
    }
}

impl AntiSpoofModel {
    /// The model `spec` describes: a `crop_scale`, a square `preprocess.size` and one output of
    /// three values.
    pub fn from_spec(model: Arc<dyn Model>, spec: &ModelSpec) -> Result<Self, ModelError> {
        let bad = |detail: &str| ModelError::Signature { file: spec.file.clone(), detail: detail.to_owned() };
        let scale = spec.crop_scale.ok_or_else(|| bad("a presentation-attack model needs a crop_scale"))?;
        let preprocess =
            spec.preprocess.clone().ok_or_else(|| bad("a presentation-attack model needs a preprocess entry"))?;
        let size = match preprocess.size {
            Some([w, h]) if w == h && w > 0 => w,
            _ => return Err(bad("a presentation-attack model needs a square preprocess.size")),
        };
        let output = match spec.outputs.as_slice() {
            [o] if o.shape.iter().map(|&d| d.max(1)).product::<i64>() == 3 => o.name.clone(),
            _ => return Err(bad("a presentation-attack model has one output of three logits")),
        };
        Ok(Self { model, scale, size, preprocess, output })
    }

    /// The model's name.
    pub fn name(&self) -> &str {
        self.model.name()
    }

    /// The crop scale.
    pub fn scale(&self) -> f32 {
        self.scale
    }

    /// Softmax probabilities `[print, real, screen]` for `face` in `frame`; `Ok(None)` when no
    /// crop can be cut (a degenerate box).
    pub fn probabilities(&self, frame: &Frame, face: &FaceBox) -> Result<Option<[f32; 3]>, ModelError> {
        let Some(pixels) = silentface_crop(frame, face, self.scale, self.size) else { return Ok(None) };
        let input = rgb_to_tensor(&pixels, [self.size; 2], [self.size; 2], &self.preprocess);
        let outputs = self.model.run(&[input])?;
        let t = outputs.get(&self.output)?;
        let logits: [f32; 3] = t.data.as_slice().try_into().map_err(|_| ModelError::OutputShape {
            name: self.output.clone(),
            shape: t.shape.clone(),
            expected: "three logits".into(),
        })?;
        Ok(Some(softmax(logits)))
    }
}

/// The numerically stable softmax of three logits; NaN in, NaN out.
pub fn softmax(logits: [f32; 3]) -> [f32; 3] {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let e = logits.map(|l| (l - max).exp());
    let sum: f32 = e.iter().sum();
    e.map(|v| v / sum)
}

/// What the models said about one face.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelScore {
    /// Mean over the models of the softmax's "real" class, 0..=1 (upstream's fusion).
    pub real: f32,
    /// The lowest single model's "real" probability, for the record.
    pub min_real: f32,
}

/// The models run together, fused as upstream does.
#[derive(Debug, Clone)]
pub struct AntiSpoof {
    models: Vec<AntiSpoofModel>,
}

impl AntiSpoof {
    /// The ensemble; at least one model.
    pub fn new(models: Vec<AntiSpoofModel>) -> Option<Self> {
        (!models.is_empty()).then_some(Self { models })
    }

    /// The models, in the order given.
    pub fn models(&self) -> &[AntiSpoofModel] {
        &self.models
    }

    /// The fused score of `face` (the detector's box, frame pixels) in `frame`; `Ok(None)` when
    /// the box gives no crop. CPU work: call it from the analysis pool.
    pub fn score(&self, frame: &Frame, face: &FaceBox) -> Result<Option<ModelScore>, ModelError> {
        let mut reals = Vec::with_capacity(self.models.len());
        for m in &self.models {
            match m.probabilities(frame, face)? {
                Some(p) => reals.push(p[REAL_CLASS]),
                None => return Ok(None),
            }
        }
        Ok(Some(fuse(&reals)))
    }
}

/// Upstream's fusion of the models' "real" probabilities: their mean (and the lowest).
pub fn fuse(reals: &[f32]) -> ModelScore {
    let real = reals.iter().sum::<f32>() / reals.len().max(1) as f32;
    let min_real = reals.iter().copied().fold(f32::INFINITY, f32::min);
    ModelScore { real, min_real: if reals.is_empty() { 0.0 } else { min_real } }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Outputs, Tensor};
    use verifier_models::TensorSpec;

    struct Fake([f32; 3]);
    impl Model for Fake {
        fn name(&self) -> &str {
            "fake"
        }
        fn run(&self, inputs: &[Tensor]) -> Result<Outputs, ModelError> {
            assert_eq!(inputs[0].shape, vec![1, 3, 80, 80]);
            Ok(Outputs(vec![("logits".into(), Tensor { shape: vec![1, 3], data: self.0.to_vec() })]))
        }
    }

    fn spec(scale: Option<f32>) -> ModelSpec {
        let mut m = verifier_models::Manifest::embedded().role("antispoof_a").expect("the role").clone();
        m.crop_scale = scale;
        m.outputs = vec![TensorSpec { name: "logits".into(), shape: vec![1, 3] }];
        m
    }

    fn check(logits: [[f32; 3]; 2], expect_real: f32) {
        let models = logits
            .iter()
            .map(|l| AntiSpoofModel::from_spec(Arc::new(Fake(*l)), &spec(Some(2.7))).expect("a model"))
            .collect();
        let ensemble = AntiSpoof::new(models).expect("two models");
        let frame = Frame::from_rgb(image::RgbImage::new(64, 64));
        let face = FaceBox { x: 16.0, y: 16.0, width: 32.0, height: 32.0 };
        let score = ensemble.score(&frame, &face).expect("runs").expect("a crop");
        assert!((score.real - expect_real).abs() < 1e-4, "{logits:?}: {score:?}");
    }

    #[test]
    fn the_models_are_averaged_on_the_real_class() {
        check([[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]], 1.0 / 3.0);
        check([[0.0, 10.0, 0.0], [10.0, 0.0, 0.0]], (0.99991 + 0.0000454) / 2.0);
        check([[-5.0, 5.0, -5.0], [-5.0, 5.0, -5.0]], 0.99991);
    }

    #[test]
    fn softmax_is_stable() {
        let p = softmax([1000.0, 1000.0, -1000.0]);
        assert!((p[0] - 0.5).abs() < 1e-6 && p[2] == 0.0);
        assert!(softmax([f32::NAN, 0.0, 0.0])[1].is_nan());
    }

    #[test]
    fn specs_without_a_scale_are_refused() {
        let err = AntiSpoofModel::from_spec(Arc::new(Fake([0.0; 3])), &spec(None)).unwrap_err();
        assert!(err.to_string().contains("crop_scale"), "{err}");
        assert!(AntiSpoof::new(Vec::new()).is_none());
    }
}
