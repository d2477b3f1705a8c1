//! Face embeddings: aligned crops in, unit-length vectors out, compared by cosine similarity.
//!
//! The embedding model, its input size, alignment template, pixel preprocessing and which output
//! is the embedding all come from its manifest entry, so a better model replaces this one without
//! code changes. Several faces are embedded in one batched run.

use std::sync::Arc;

use verifier_models::{ModelSpec, Preprocess};

use super::DetectedFace;
use super::align::{AlignedFace, TEMPLATE_112, align_to_template};
use crate::frame::Frame;
use crate::model::{Model, ModelError, Tensor};
use crate::preprocess::rgb_to_tensor;

/// A unit-length face embedding, and the model that made it (embeddings of different models
/// live in different spaces and cannot be compared).
#[derive(Clone, PartialEq)]
pub struct Embedding {
    model: Arc<str>,
    values: Vec<f32>,
}

impl std::fmt::Debug for Embedding {
    // Embeddings are biometric data: never print the values.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Embedding({}, dim {})", self.model, self.values.len())
    }
}

/// Two embeddings from different models (or of different sizes) were compared.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot compare an embedding of {left} (dim {left_dim}) with one of {right} (dim {right_dim})")]
pub struct EmbeddingMismatch {
    /// The first embedding's model.
    pub left: String,
    /// Its dimension.
    pub left_dim: usize,
    /// The second embedding's model.
    pub right: String,
    /// Its dimension.
    pub right_dim: usize,
}

impl Embedding {
    /// Normalises `values` (made by `model`) to unit length; `None` for an empty, zero or
    /// non-finite vector.
    pub fn new(model: impl Into<Arc<str>>, values: Vec<f32>) -> Option<Self> {
        let norm = values.iter().map(|v| v * v).sum::<f32>().sqrt();
        if values.is_empty() || !norm.is_finite() || norm <= f32::EPSILON {
            return None;
        }
        Some(Self { model: model.into(), values: values.into_iter().map(|v| v / norm).collect() })
    }

    /// Cosine similarity in -1..=1; an error when the two come from different models.
    pub fn cosine(&self, other: &Embedding) -> Result<f32, EmbeddingMismatch> {
        if self.model != other.model || self.values.len() != other.values.len() {
            return Err(EmbeddingMismatch {
                left: self.model.to_string(),
                left_dim: self.values.len(),
                right: other.model.to_string(),
                right_dim: other.values.len(),
            });
        }
        Ok(self.values.iter().zip(&other.values).map(|(a, b)| a * b).sum::<f32>().clamp(-1.0, 1.0))
    }

    /// The number of dimensions.
    pub fn dim(&self) -> usize {
        self.values.len()
    }

    /// The name of the model that made it.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The unit-length values, for fusing embeddings of one model inside this crate.
    pub(crate) fn values(&self) -> &[f32] {
        &self.values
    }
}

/// An embedding model behind the [`Model`] trait, set up from its manifest entry.
#[derive(Clone)]
pub struct FaceEmbedder {
    model: Arc<dyn Model>,
    input_size: u32,
    template: [[f32; 2]; 5],
    preprocess: Preprocess,
    output: String,
    mirror_average: bool,
}

impl std::fmt::Debug for FaceEmbedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaceEmbedder")
            .field("model", &self.model.name())
            .field("input_size", &self.input_size)
            .field("mirror_average", &self.mirror_average)
            .finish_non_exhaustive()
    }
}

impl FaceEmbedder {
    /// An embedder running `model` as `spec` describes it: a square `preprocess.size`, an
    /// `embedding_output` (or a single output) and an `align` template (without one, the
    /// ArcFace template scaled to the input size).
    pub fn from_spec(model: Arc<dyn Model>, spec: &ModelSpec) -> Result<Self, ModelError> {
        let bad = |detail: &str| ModelError::Signature { file: spec.file.clone(), detail: detail.to_owned() };
        let preprocess = spec.preprocess.clone().ok_or_else(|| bad("an embedding model needs a preprocess entry"))?;
        let input_size = match preprocess.size {
            Some([w, h]) if w == h && w > 0 => w,
            _ => return Err(bad("an embedding model needs a square preprocess.size")),
        };
        let output = match (&spec.embedding_output, spec.outputs.as_slice()) {
            (Some(name), _) => name.clone(),
            (None, [only]) => only.name.clone(),
            (None, _) => {
                return Err(bad("several outputs: name the embedding with embedding_output"));
            }
        };
        let template = match &spec.align {
            Some(align) => align.template,
            None => {
                let k = input_size as f32 / 112.0;
                TEMPLATE_112.map(|[x, y]| [x * k, y * k])
            }
        };
        Ok(Self { model, input_size, template, preprocess, output, mirror_average: spec.mirror_average })
    }

    /// This embedder with the manifest's `mirror_average` replaced: for evaluations comparing
    /// the two (a threshold is measured with one of them).
    #[must_use]
    pub fn with_mirror_average(mut self, on: bool) -> Self {
        self.mirror_average = on;
        self
    }

    /// Whether each embedding averages the crop's and its mirror image's (the manifest's
    /// `mirror_average`).
    pub fn mirror_average(&self) -> bool {
        self.mirror_average
    }

    /// Aligns `face` from `frame` the way this model was trained: its template, its crop size.
    /// `None` when the landmarks are degenerate.
    pub fn align(&self, frame: &Frame, face: &DetectedFace) -> Option<AlignedFace> {
        align_to_template(frame, face, &self.template, self.input_size)
    }

    /// The side of the aligned crops this model takes.
    pub fn input_size(&self) -> u32 {
        self.input_size
    }

    /// The model's name.
    pub fn model_name(&self) -> &str {
        self.model.name()
    }

    /// Embeds `faces` in one batched run, in order. Crops must be `input_size()` square. With
    /// `mirror_average` each crop runs twice, as it is and flipped left to right, in the same
    /// batch, and its embedding is the renormalised sum of the two unit embeddings.
    pub fn embed(&self, faces: &[AlignedFace]) -> Result<Vec<Embedding>, ModelError> {
        if faces.is_empty() {
            return Ok(Vec::new());
        }
        let side = self.input_size;
        let views = if self.mirror_average { 2 } else { 1 };
        let mut data = Vec::with_capacity(faces.len() * views * (side * side * 3) as usize);
        let mut shape = Vec::new();
        for face in faces {
            if face.size() != side {
                return Err(ModelError::Inference {
                    model: self.model.name().to_owned(),
                    reason: format!("a {0}x{0} crop was given, the model takes {side}x{side}", face.size()),
                });
            }
            let t = rgb_to_tensor(face.rgb(), [side, side], [side, side], &self.preprocess);
            shape = t.shape;
            data.extend_from_slice(&t.data);
            if self.mirror_average {
                let mirrored = mirror_rows(face.rgb(), side as usize);
                data.extend_from_slice(&rgb_to_tensor(&mirrored, [side, side], [side, side], &self.preprocess).data);
            }
        }
        let n = faces.len() * views;
        shape[0] = n;
        let outputs = self.model.run(&[Tensor { shape, data }])?;
        let out = outputs.get(&self.output)?;
        if out.shape.first() != Some(&n) || out.data.len() % n != 0 || out.data.is_empty() {
            return Err(ModelError::OutputShape {
                name: self.output.clone(),
                shape: out.shape.clone(),
                expected: format!("[{n}, D]"),
            });
        }
        let dim = out.data.len() / n;
        let invalid = || ModelError::Inference {
            model: self.model.name().to_owned(),
            reason: "the model produced a zero or non-finite embedding".into(),
        };
        out.data
            .chunks(dim * views)
            .map(|face| {
                let mut sum = vec![0f32; dim];
                for view in face.chunks(dim) {
                    let unit = Embedding::new(self.model.name(), view.to_vec()).ok_or_else(invalid)?;
                    sum.iter_mut().zip(unit.values()).for_each(|(s, v)| *s += v);
                }
                Embedding::new(self.model.name(), sum).ok_or_else(invalid)
            })
            .collect()
    }
}

/// The `side` x `side` RGB crop flipped left to right.
fn mirror_rows(rgb: &[u8], side: usize) -> Vec<u8> {
    rgb.chunks(side * 3).flat_map(|row| row.chunks(3).rev().flatten().copied()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Outputs;
    use verifier_models::{Channels, Layout, TensorSpec};

    /// A fake embedder: the embedding is the mean of each channel of each face.
    struct ChannelMeans;

    impl Model for ChannelMeans {
        fn name(&self) -> &str {
            "channel-means"
        }
        fn run(&self, inputs: &[Tensor]) -> Result<Outputs, ModelError> {
            let t = &inputs[0];
            let (n, per) = (t.shape[0], t.data.len() / t.shape[0]);
            let mut data = Vec::new();
            for face in t.data.chunks(per) {
                for c in 0..3 {
                    let vals: Vec<f32> = face.iter().skip(c).step_by(3).copied().collect();
                    data.push(vals.iter().sum::<f32>() / vals.len() as f32);
                }
            }
            Ok(Outputs(vec![("emb".into(), Tensor { shape: vec![n, 3], data })]))
        }
    }

    fn spec() -> ModelSpec {
        ModelSpec {
            name: "channel-means".into(),
            file: "fake.onnx".into(),
            sha256: String::new(),
            task: "face_embedding".into(),
            licence: String::new(),
            origin: String::new(),
            url: None,
            inputs: vec![TensorSpec { name: "x".into(), shape: vec![-1, 4, 4, 3] }],
            outputs: vec![TensorSpec { name: "emb".into(), shape: vec![-1, 3] }],
            preprocess: Some(Preprocess {
                layout: Layout::Nhwc,
                channels: Channels::Rgb,
                scale: 1.0,
                mean: [0.0; 3],
                size: Some([4, 4]),
                multiple_of: None,
            }),
            embedding_output: None,
            align: None,
            crop_scale: None,
            mirror_average: false,
        }
    }

    fn face(rgb: [u8; 3]) -> AlignedFace {
        AlignedFace::filled(4, rgb)
    }

    #[test]
    fn batches_and_normalises() {
        let embedder = FaceEmbedder::from_spec(Arc::new(ChannelMeans), &spec()).unwrap();
        let e = embedder.embed(&[face([3, 4, 0]), face([0, 0, 9]), face([6, 8, 0])]).unwrap();
        assert_eq!(e.len(), 3);
        assert!((e[0].cosine(&e[2]).unwrap() - 1.0).abs() < 1e-6, "same direction");
        assert!(e[0].cosine(&e[1]).unwrap().abs() < 1e-6, "orthogonal");
        assert_eq!(e[0].model(), "channel-means");
        assert!(embedder.embed(&[]).unwrap().is_empty());
    }

    #[test]
    fn refuses_what_it_cannot_embed() {
        let embedder = FaceEmbedder::from_spec(Arc::new(ChannelMeans), &spec()).unwrap();
        let err = embedder.embed(&[AlignedFace::filled(5, [1, 1, 1])]).unwrap_err();
        assert!(err.to_string().contains("5x5 crop"), "{err}");
        assert!(embedder.embed(&[face([0, 0, 0])]).is_err(), "a zero embedding is an error");
        let mut no_size = spec();
        no_size.preprocess.as_mut().unwrap().size = None;
        assert!(FaceEmbedder::from_spec(Arc::new(ChannelMeans), &no_size).is_err());
    }

    #[test]
    fn aligns_with_the_declared_template() {
        use crate::face::FaceBox;
        // A frame whose pixel (x, y) has red = x and green = y; the face's landmarks sit at
        // twice the declared template, so the crop is the frame shrunk by two.
        let template = [[1.0, 1.0], [3.0, 1.0], [2.0, 2.0], [1.0, 3.0], [3.0, 3.0]];
        let mut with_template = spec();
        with_template.align = Some(verifier_models::Alignment { name: "t".into(), template });
        let img = image::RgbImage::from_fn(16, 16, |x, y| image::Rgb([x as u8, y as u8, 0]));
        let face = DetectedFace {
            bbox: FaceBox { x: 0.0, y: 0.0, width: 8.0, height: 8.0 },
            score: 1.0,
            landmarks: template.map(|[x, y]| [x * 2.0, y * 2.0]),
        };
        let frame = Frame::from_rgb(img);
        let embedder = FaceEmbedder::from_spec(Arc::new(ChannelMeans), &with_template).unwrap();
        let crop = embedder.align(&frame, &face).unwrap();
        assert_eq!(crop.size(), 4);
        // Crop pixel (3, 1) is frame point (6, 2): its 2x2 samples, half a frame pixel either
        // side, read red 6 and 7 and green 2 and 3 (each rounded); the means round to (7, 3).
        assert_eq!(&crop.rgb()[(4 + 3) * 3..][..2], &[7, 3]);
        // Without a template, the ArcFace template: a different crop of the same face.
        let arcface = FaceEmbedder::from_spec(Arc::new(ChannelMeans), &spec()).unwrap();
        assert_ne!(arcface.align(&frame, &face).unwrap(), crop);
    }

    /// A fake embedder that tells left from right: the mean of the crop's left half, of its
    /// right half, and a constant, per face; it counts the crops it was given.
    struct Halves(std::sync::atomic::AtomicUsize);

    impl Model for Halves {
        fn name(&self) -> &str {
            "halves"
        }
        fn run(&self, inputs: &[Tensor]) -> Result<Outputs, ModelError> {
            let t = &inputs[0];
            let (n, side) = (t.shape[0], t.shape[1]);
            self.0.fetch_add(n, std::sync::atomic::Ordering::Relaxed);
            let mut data = Vec::new();
            for face in t.data.chunks(t.data.len() / n) {
                let (mut left, mut right) = (0f32, 0f32);
                for row in face.chunks(side * 3) {
                    let (l, r) = row.split_at(side * 3 / 2);
                    left += l.iter().sum::<f32>();
                    right += r.iter().sum::<f32>();
                }
                data.extend([left, right, 100.0]);
            }
            Ok(Outputs(vec![("emb".into(), Tensor { shape: vec![n, 3], data })]))
        }
    }

    #[test]
    fn mirror_averaging_embeds_both_views_and_forgets_which_side_was_which() {
        // Left half bright, right half dark, and the same crop flipped.
        let crop = |bright_left: bool| {
            let rgb = (0..16)
                .flat_map(|i| {
                    let v = if (i % 4 < 2) == bright_left { 200 } else { 10 };
                    [v, v, v]
                })
                .collect();
            AlignedFace::from_rgb(4, rgb)
        };
        let mut mirrored = spec();
        mirrored.mirror_average = true;
        let model = Arc::new(Halves(0.into()));
        let embedder = FaceEmbedder::from_spec(model.clone(), &mirrored).unwrap();
        assert!(embedder.mirror_average());
        let e = embedder.embed(&[crop(true), crop(false)]).unwrap();
        assert_eq!(model.0.load(std::sync::atomic::Ordering::Relaxed), 4, "each crop and its mirror image");
        assert!((e[0].cosine(&e[1]).unwrap() - 1.0).abs() < 1e-6, "a crop and its mirror image embed alike");
        assert!((e[0].values()[0] - e[0].values()[1]).abs() < 1e-6, "both halves weigh alike");
        // Without it, one run per crop, and the two crops differ.
        let plain = embedder.with_mirror_average(false);
        let p = plain.embed(&[crop(true), crop(false)]).unwrap();
        assert!(p[0].cosine(&p[1]).unwrap() < 0.9, "{:?}", p[0].cosine(&p[1]));
        assert!(e[0].cosine(&p[0]).unwrap() < 0.999, "mirror averaging changes the embedding");
    }

    #[test]
    fn embeddings_of_different_models_do_not_compare() {
        let a = Embedding::new("m", vec![1.0, 0.0]).unwrap();
        let b = Embedding::new("m", vec![1.0, 0.0, 0.0]).unwrap();
        let c = Embedding::new("other", vec![1.0, 0.0]).unwrap();
        assert!(a.cosine(&b).is_err());
        let err = a.cosine(&c).unwrap_err();
        assert_eq!(err.to_string(), "cannot compare an embedding of m (dim 2) with one of other (dim 2)");
        assert_eq!(a.cosine(&a), Ok(1.0));
        assert_eq!(format!("{a:?}"), "Embedding(m, dim 2)");
        assert_eq!(Embedding::new("m", vec![0.0; 4]), None);
        assert_eq!(Embedding::new("m", vec![f32::NAN]), None);
    }
}
