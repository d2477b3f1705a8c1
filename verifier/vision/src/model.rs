//! The model boundary: a small trait every inference backend implements, and its tensors.
//!
//! Stages (face detection, embedding, ...) depend on `Model`, not on ONNX Runtime, so their
//! logic is tested with fakes and a better backend can replace this one. Tensors are plain
//! `f32` buffers with a shape; layouts are the stage's business.

/// A dense `f32` tensor, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// `shape.iter().product()` values.
    pub data: Vec<f32>,
}

impl Tensor {
    /// A tensor from its shape and values, or `None` when the lengths disagree.
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Option<Self> {
        (shape.iter().product::<usize>() == data.len()).then_some(Self { shape, data })
    }
}

/// Named outputs of one run, in the model's output order.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Outputs(pub Vec<(String, Tensor)>);

impl Outputs {
    /// The output called `name`.
    pub fn get(&self, name: &str) -> Result<&Tensor, ModelError> {
        self.0
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| t)
            .ok_or_else(|| ModelError::MissingOutput { name: name.to_owned() })
    }
}

/// Something that maps input tensors to named output tensors.
///
/// Implementations are shared between threads; a run may block while another thread uses the
/// same model.
pub trait Model: Send + Sync {
    /// The model's name, from the manifest.
    fn name(&self) -> &str;
    /// Runs the model on `inputs`, given in the model's input order.
    fn run(&self, inputs: &[Tensor]) -> Result<Outputs, ModelError>;
    /// A custom metadata entry the model file carries (a recogniser's character list, say);
    /// `None` when it has none.
    fn metadata(&self, _key: &str) -> Option<String> {
        None
    }
}

/// Why a model could not be loaded or run.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The ONNX Runtime library could not be loaded.
    #[error("cannot load the ONNX Runtime library {path}: {reason}")]
    Runtime {
        /// Path of the shared library.
        path: String,
        /// What the loader said.
        reason: String,
    },
    /// The file's SHA-256 is not the pinned one.
    #[error(
        "model file {file} has sha256 {actual}, but the manifest pins {expected}; refusing it (re-run `verifier models fetch`)"
    )]
    HashMismatch {
        /// Model file name.
        file: String,
        /// Pinned hash.
        expected: String,
        /// Hash of the bytes given.
        actual: String,
    },
    /// The model's inputs or outputs differ from the manifest.
    #[error("model file {file} does not match its manifest signature: {detail}")]
    Signature {
        /// Model file name.
        file: String,
        /// Which tensor differs, and how.
        detail: String,
    },
    /// ONNX Runtime refused the file or a run.
    #[error("ONNX Runtime error in {model}: {reason}")]
    Inference {
        /// Model name.
        model: String,
        /// What ONNX Runtime said.
        reason: String,
    },
    /// A run did not produce an output the stage needs.
    #[error("the model produced no output named {name:?}")]
    MissingOutput {
        /// The missing output's name.
        name: String,
    },
    /// An output had a shape the stage cannot use.
    #[error("output {name:?} has shape {shape:?}, expected {expected}")]
    OutputShape {
        /// Output name.
        name: String,
        /// The shape produced.
        shape: Vec<usize>,
        /// What was expected, in words.
        expected: String,
    },
}
