//! Typed model manifest: what each model is, where it came from, its SHA-256, its tensors.
//!
//! Pure code: text in, typed specs out. The files themselves are handled by `provision`.

use std::collections::BTreeMap;

use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The manifest that ships with the verifier (`models/manifest.toml`).
const EMBEDDED: &str = include_str!("../manifest.toml");

/// Every model the verifier knows, and which one plays each role.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// Role name (e.g. `face_detector`) to model name.
    #[serde(default)]
    pub roles: BTreeMap<String, String>,
    /// The models, in file order.
    #[serde(rename = "model")]
    pub models: Vec<ModelSpec>,
}

/// One pinned model file and its interface.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Short unique name, used by roles and in logs.
    pub name: String,
    /// File name in the cache and in mirrors.
    pub file: String,
    /// Lower-case hex SHA-256 of the file.
    pub sha256: String,
    /// What the model does (`face_detection`, `face_embedding`, ...).
    pub task: String,
    /// Licence of the weights.
    pub licence: String,
    /// Where the file comes from upstream, in words.
    pub origin: String,
    /// A direct upstream download address, where one exists.
    #[serde(default)]
    pub url: Option<String>,
    /// Input tensors, in the model's order.
    pub inputs: Vec<TensorSpec>,
    /// Output tensors, in the model's order.
    pub outputs: Vec<TensorSpec>,
    /// How pixels become the input tensor, for image models.
    #[serde(default)]
    pub preprocess: Option<Preprocess>,
    /// For embedding models with several outputs: the one that is the embedding.
    #[serde(default)]
    pub embedding_output: Option<String>,
    /// For face embedding models: where alignment puts the five landmarks in the crop. Models
    /// trained on different crops (ArcFace's tight 112x112, dlib's padded 150x150 chip) each
    /// declare theirs; without one, the ArcFace template scaled to the input size is used.
    #[serde(default)]
    pub align: Option<Alignment>,
    /// For presentation-attack models trained on context around the face (SilentFace's
    /// MiniFASNets): the crop is the face box scaled by this about its centre.
    #[serde(default)]
    pub crop_scale: Option<f32>,
    /// For face embedding models: the embedding is the mean of the crop's unit embedding and
    /// its mirror image's (the crop flipped left to right), renormalised. A face's two halves
    /// are two views of one person, so averaging them cancels some of what one view gets
    /// wrong (lighting from one side, a slightly off alignment); it costs a second inference.
    /// The match threshold is measured with the setting the manifest gives.
    #[serde(default)]
    pub mirror_average: bool,
}

/// A face alignment: the crop positions of the five detector landmarks, in YuNet's order (the
/// subject's right eye, left eye, nose tip, right and left mouth corners), in pixels of the
/// model's `preprocess.size` crop. Alignment is the least-squares similarity transform that
/// puts the detected landmarks nearest these points.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Alignment {
    /// What the template reproduces, for reports (`arcface-112`, `dlib-5pt-chip-150`).
    pub name: String,
    /// The five `[x, y]` points in crop pixels.
    pub template: [[f32; 2]; 5],
}

/// A tensor's name and shape; `-1` is a dynamic dimension.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TensorSpec {
    /// Tensor name in the ONNX graph.
    pub name: String,
    /// Dimensions; `-1` where the model accepts any size.
    pub shape: Vec<i64>,
}

/// Memory layout of an image tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Layout {
    /// Batch, channels, height, width.
    Nchw,
    /// Batch, height, width, channels.
    Nhwc,
}

/// Channel order of an image tensor.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channels {
    /// Red, green, blue.
    Rgb,
    /// Blue, green, red (OpenCV's order).
    Bgr,
}

/// Pixel to tensor conversion: `value = (pixel - mean[c]) * scale`, pixels in 0..=255.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preprocess {
    /// Tensor layout.
    pub layout: Layout,
    /// Channel order.
    pub channels: Channels,
    /// Multiplier applied after the mean is subtracted.
    pub scale: f32,
    /// Per-channel mean, in the tensor's channel order.
    pub mean: [f32; 3],
    /// Fixed input size `[width, height]`, for models that need one.
    #[serde(default)]
    pub size: Option<[u32; 2]>,
    /// For dynamic-size models: height and width are padded up to a multiple of this.
    #[serde(default)]
    pub multiple_of: Option<u32>,
}

/// Why a manifest is unusable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ManifestError {
    /// The text is not a valid manifest.
    #[error("model manifest is not valid TOML for the expected schema: {0}")]
    Syntax(String),
    /// Two models share a name or a file.
    #[error("model manifest lists {what} {value:?} twice")]
    Duplicate {
        /// `name` or `file`.
        what: &'static str,
        /// The repeated value.
        value: String,
    },
    /// A hash is not 64 lower-case hex digits.
    #[error("model {model:?} has a malformed sha256 {sha256:?} (want 64 lower-case hex digits)")]
    BadHash {
        /// Model name.
        model: String,
        /// The value found.
        sha256: String,
    },
    /// A file name could escape the cache directory.
    #[error("model {model:?} has an unsafe file name {file:?} (a plain file name is required)")]
    BadFileName {
        /// Model name.
        model: String,
        /// The value found.
        file: String,
    },
    /// `embedding_output` names an output the model does not list.
    #[error("model {model:?} names embedding output {output:?}, which is not among its outputs")]
    UnknownOutput {
        /// Model name.
        model: String,
        /// The output named.
        output: String,
    },
    /// An alignment template is degenerate or lies outside its crop.
    #[error("model {model:?} has an unusable align.template: {reason}")]
    BadAlignment {
        /// Model name.
        model: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// `crop_scale` is not a finite number of at least 1.
    #[error("model {model:?} has crop_scale {value}; it must be a finite number >= 1")]
    BadCropScale {
        /// Model name.
        model: String,
        /// The value found.
        value: f32,
    },
    /// `mirror_average` is set on a model that is not a face embedding.
    #[error("model {model:?} sets mirror_average, which only a face_embedding model can use")]
    MirrorNotEmbedding {
        /// Model name.
        model: String,
    },
    /// A role names a model the manifest does not list.
    #[error("role {role:?} names model {model:?}, which the manifest does not list")]
    UnknownRoleModel {
        /// Role name.
        role: String,
        /// The missing model.
        model: String,
    },
}

impl Manifest {
    /// Parses and validates manifest text.
    pub fn parse(text: &str) -> Result<Self, ManifestError> {
        let manifest: Manifest = toml::from_str(text).map_err(|e| ManifestError::Syntax(e.to_string()))?;
        manifest.validate()?;
        Ok(manifest)
    }

    /// The manifest compiled into the binary.
    pub fn embedded() -> Self {
        Self::parse(EMBEDDED).expect("the embedded manifest is validated by this crate's tests")
    }

    /// The model with this name.
    pub fn model(&self, name: &str) -> Option<&ModelSpec> {
        self.models.iter().find(|m| m.name == name)
    }

    /// The model that plays `role`, if the manifest assigns one.
    pub fn role(&self, role: &str) -> Option<&ModelSpec> {
        self.roles.get(role).and_then(|name| self.model(name))
    }

    fn validate(&self) -> Result<(), ManifestError> {
        let mut names = std::collections::BTreeSet::new();
        let mut files = std::collections::BTreeSet::new();
        for m in &self.models {
            if !names.insert(m.name.as_str()) {
                return Err(ManifestError::Duplicate { what: "name", value: m.name.clone() });
            }
            if !files.insert(m.file.as_str()) {
                return Err(ManifestError::Duplicate { what: "file", value: m.file.clone() });
            }
            let hex_ok =
                m.sha256.len() == 64 && m.sha256.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !hex_ok {
                return Err(ManifestError::BadHash { model: m.name.clone(), sha256: m.sha256.clone() });
            }
            let plain = !m.file.is_empty() && !m.file.starts_with('.') && !m.file.contains(['/', '\\']);
            if !plain {
                return Err(ManifestError::BadFileName { model: m.name.clone(), file: m.file.clone() });
            }
        }
        for m in &self.models {
            if let Some(value) = m.crop_scale
                && !(value.is_finite() && value >= 1.0)
            {
                return Err(ManifestError::BadCropScale { model: m.name.clone(), value });
            }
            if m.mirror_average && m.task != "face_embedding" {
                return Err(ManifestError::MirrorNotEmbedding { model: m.name.clone() });
            }
            if let Some(out) = &m.embedding_output
                && !m.outputs.iter().any(|o| o.name == *out)
            {
                return Err(ManifestError::UnknownOutput { model: m.name.clone(), output: out.clone() });
            }
            if let Some(align) = &m.align {
                let bad = |reason| ManifestError::BadAlignment { model: m.name.clone(), reason };
                let [w, h] = m
                    .preprocess
                    .as_ref()
                    .and_then(|p| p.size)
                    .ok_or_else(|| bad("the model has no preprocess.size"))?;
                let inside =
                    align.template.iter().all(|&[x, y]| (0.0..w as f32).contains(&x) && (0.0..h as f32).contains(&y));
                if !inside {
                    return Err(bad("a point lies outside the crop"));
                }
                let [re, le] = [align.template[0], align.template[1]];
                if (le[0] - re[0]).hypot(le[1] - re[1]) < 1.0 {
                    return Err(bad("the eyes coincide"));
                }
            }
        }
        for (role, model) in &self.roles {
            if !names.contains(model.as_str()) {
                return Err(ManifestError::UnknownRoleModel { role: role.clone(), model: model.clone() });
            }
        }
        Ok(())
    }
}

/// Lower-case hex SHA-256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(text: &str, expect: &str) {
        match Manifest::parse(text) {
            Ok(m) => assert_eq!(expect, format!("ok {} models", m.models.len())),
            Err(e) => assert!(e.to_string().contains(expect), "{e} does not contain {expect:?}"),
        }
    }

    const ONE: &str = r#"
        [roles]
        face_detector = "a"
        [[model]]
        name = "a"
        file = "a.onnx"
        sha256 = "104ee26c71d5c270ce79a6b3dced91c91013260d29a6bf18f9296c5b8c4c2b12"
        task = "t"
        licence = "MIT"
        origin = "here"
        inputs = [{ name = "x", shape = [-1, 3] }]
        outputs = [{ name = "y", shape = [-1] }]
    "#;

    #[test]
    fn embedded_manifest_is_valid() {
        let m = Manifest::embedded();
        assert!(m.role("face_detector").is_some());
        assert!(m.role("face_embedding").is_some());
        assert!(m.role("face_embedding_fast").is_some());
        for role in ["antispoof_a", "antispoof_b"] {
            let spec = m.role(role).expect("the passive liveness roles are assigned");
            assert!(spec.crop_scale.is_some(), "{role} declares its crop scale");
        }
    }

    #[test]
    fn validation() {
        check(ONE, "ok 1 models");
        check(&ONE.replace("104ee", "104EE"), "malformed sha256");
        check(&ONE.replace("a.onnx", "../a.onnx"), "unsafe file name");
        check(&ONE.replace("face_detector = \"a\"", "face_detector = \"b\""), "names model \"b\"");
        check(&ONE.replace("task", "tusk"), "not valid TOML");
        check(&ONE.replace("inputs =", "embedding_output = \"z\"\ninputs ="), "embedding output \"z\"");
        check(&ONE.replace("inputs =", "embedding_output = \"y\"\ninputs ="), "ok 1 models");
        let sized = ONE.replace("outputs =", "preprocess = { layout = \"nchw\", channels = \"rgb\", scale = 1.0, mean = [0.0, 0.0, 0.0], size = [10, 10] }\noutputs =");
        let align = |points: &str| format!("{sized}align = {{ name = \"t\", template = {points} }}\n");
        check(&align("[[3.0, 4.0], [7.0, 4.0], [5.0, 6.0], [4.0, 8.0], [6.0, 8.0]]"), "ok 1 models");
        check(&align("[[3.0, 4.0], [7.0, 4.0], [5.0, 6.0], [4.0, 8.0], [6.0, 10.5]]"), "outside the crop");
        check(&align("[[3.0, 4.0], [3.0, 4.0], [5.0, 6.0], [4.0, 8.0], [6.0, 8.0]]"), "eyes coincide");
        check(
            &format!(
                "{ONE}align = {{ name = \"t\", template = [[3.0, 4.0], [7.0, 4.0], [5.0, 6.0], [4.0, 8.0], [6.0, 8.0]] }}\n"
            ),
            "no preprocess.size",
        );
        check(&align("[[3.0, 4.0], [7.0, 4.0]]"), "not valid TOML");
        check(&ONE.replace("inputs =", "crop_scale = 2.7\ninputs ="), "ok 1 models");
        check(&ONE.replace("inputs =", "crop_scale = 0.5\ninputs ="), "crop_scale 0.5");
        check(&ONE.replace("inputs =", "mirror_average = true\ninputs ="), "only a face_embedding model");
        let embedding = ONE.replace("task = \"t\"", "task = \"face_embedding\"");
        check(&embedding.replace("inputs =", "mirror_average = true\ninputs ="), "ok 1 models");
        let twice = format!("{ONE}{}", &ONE[ONE.find("[[model]]").unwrap_or(0)..]);
        check(&twice, "lists name \"a\" twice");
    }

    #[test]
    fn hashes() {
        assert_eq!(sha256_hex(b"abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
