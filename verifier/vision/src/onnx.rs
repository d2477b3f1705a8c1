//! ONNX Runtime as a [`Model`] backend: the one place that creates the runtime and its sessions.
//!
//! The runtime library is loaded dynamically (the `ort` crate's `load-dynamic`), from the path
//! configuration gives. Each model is loaded from bytes after its SHA-256 matched the manifest,
//! and its input and output names and shapes are compared with the manifest before it is used.
//! Threads: each session gets `intra_op` threads and never spins, because the same cores run
//! the rayon pool that calls it; on a 2-core machine one thread per session is the right size.

use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use ort::environment::Environment;
use ort::session::Session;
use ort::session::builder::GraphOptimizationLevel;
use ort::value::{TensorRef, ValueType};
use verifier_models::{ModelSpec, TensorSpec, sha256_hex};

use crate::model::{Model, ModelError, Outputs, Tensor};

/// Thread settings for every session; from configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OnnxThreads {
    /// Threads ONNX Runtime may use inside one operator.
    pub intra_op: usize,
}

/// ONNX Runtime allows one environment per process: it is created on first load and shared.
static ENVIRONMENT: OnceLock<(PathBuf, Environment)> = OnceLock::new();

/// The loaded ONNX Runtime library and its environment.
pub struct OnnxRuntime {
    env: &'static Environment,
    threads: OnnxThreads,
}

impl std::fmt::Debug for OnnxRuntime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxRuntime").field("threads", &self.threads).finish_non_exhaustive()
    }
}

impl OnnxRuntime {
    /// Loads the ONNX Runtime shared library at `library` and creates the environment.
    ///
    /// The library and environment are created once per process; later calls reuse them, and
    /// fail if they name a different library file.
    pub fn load(library: &Path, threads: OnnxThreads) -> Result<Self, ModelError> {
        let runtime_err = |reason: String| ModelError::Runtime { path: library.display().to_string(), reason };
        if !library.is_file() {
            return Err(runtime_err("no such file (run the set-up command to install it)".into()));
        }
        let wanted = library.canonicalize().map_err(|e| runtime_err(e.to_string()))?;
        // Serialise first loads: ONNX Runtime refuses a second environment, so two threads
        // must not both build one.
        static FIRST_LOAD: Mutex<()> = Mutex::new(());
        let guard = FIRST_LOAD.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if ENVIRONMENT.get().is_none() {
            let env = ort::init_from(&wanted)
                .map_err(|e| runtime_err(e.to_string()))?
                .with_name("verifier")
                .build()
                .map_err(|e| runtime_err(e.to_string()))?;
            let _ = ENVIRONMENT.set((wanted.clone(), env));
        }
        drop(guard);
        let (loaded, env) = ENVIRONMENT.get().expect("set just above when it was empty");
        if *loaded != wanted {
            return Err(runtime_err(format!(
                "this process already runs ONNX Runtime from {}; one library per process",
                loaded.display()
            )));
        }
        Ok(Self { env, threads })
    }

    /// Creates a session for `spec` from the model file's `bytes`, after checking the bytes'
    /// SHA-256 and the session's signature against the manifest.
    pub fn session(&self, spec: &ModelSpec, bytes: &[u8]) -> Result<OnnxModel, ModelError> {
        let actual = sha256_hex(bytes);
        if actual != spec.sha256 {
            return Err(ModelError::HashMismatch { file: spec.file.clone(), expected: spec.sha256.clone(), actual });
        }
        let ort_err = |e: ort::Error| ModelError::Inference { model: spec.name.clone(), reason: e.to_string() };
        let builder_err = |e: ort::Error<ort::session::builder::SessionBuilder>| ModelError::Inference {
            model: spec.name.clone(),
            reason: e.to_string(),
        };
        let session = Session::builder(self.env)
            .map_err(ort_err)?
            .with_optimization_level(GraphOptimizationLevel::Level3)
            .map_err(builder_err)?
            .with_intra_threads(self.threads.intra_op)
            .map_err(builder_err)?
            .with_inter_threads(1)
            .map_err(builder_err)?
            .with_config_entry("session.intra_op.allow_spinning", "0")
            .map_err(builder_err)?
            .commit_from_memory(bytes)
            .map_err(ort_err)?;
        let inputs: Vec<(String, Vec<i64>)> =
            session.inputs().iter().map(|o| (o.name().to_owned(), shape_of(o.dtype()))).collect();
        let outputs: Vec<(String, Vec<i64>)> =
            session.outputs().iter().map(|o| (o.name().to_owned(), shape_of(o.dtype()))).collect();
        check_signature("input", &spec.inputs, &inputs)
            .and_then(|()| check_signature("output", &spec.outputs, &outputs))
            .map_err(|detail| ModelError::Signature { file: spec.file.clone(), detail })?;
        let metadata = session
            .metadata()
            .ok()
            .map(|m| {
                let keys = m.custom_keys().unwrap_or_default();
                keys.into_iter().filter_map(|k| m.custom(&k).map(|v| (k, v))).collect()
            })
            .unwrap_or_default();
        Ok(OnnxModel {
            name: spec.name.clone(),
            metadata,
            input_names: spec.inputs.iter().map(|t| t.name.clone()).collect(),
            output_names: spec.outputs.iter().map(|t| t.name.clone()).collect(),
            session: Mutex::new(session),
        })
    }
}

fn shape_of(dtype: &ValueType) -> Vec<i64> {
    dtype.tensor_shape().map(|s| s.to_vec()).unwrap_or_default()
}

/// Compares a session's tensors with the manifest's; pure, so it is tested without a model.
fn check_signature(kind: &str, expected: &[TensorSpec], actual: &[(String, Vec<i64>)]) -> Result<(), String> {
    if expected.len() != actual.len() {
        let names: Vec<&str> = actual.iter().map(|(n, _)| n.as_str()).collect();
        return Err(format!(
            "the manifest lists {} {kind}s, the file has {} ({names:?})",
            expected.len(),
            actual.len()
        ));
    }
    for spec in expected {
        let Some((_, shape)) = actual.iter().find(|(n, _)| *n == spec.name) else {
            return Err(format!("{kind} {:?} is missing from the file", spec.name));
        };
        if *shape != spec.shape {
            return Err(format!("{kind} {:?} has shape {shape:?}, the manifest says {:?}", spec.name, spec.shape));
        }
    }
    Ok(())
}

/// One ONNX Runtime session, shared between threads.
///
/// `ort` runs take `&mut Session` (some runtime internals are not thread-safe), so runs on the
/// same model are serialised by a mutex; callers batch to make each run count.
pub struct OnnxModel {
    name: String,
    input_names: Vec<String>,
    output_names: Vec<String>,
    /// The file's custom metadata entries, read once at load.
    metadata: Vec<(String, String)>,
    session: Mutex<Session>,
}

impl std::fmt::Debug for OnnxModel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OnnxModel").field("name", &self.name).finish_non_exhaustive()
    }
}

impl Model for OnnxModel {
    fn name(&self) -> &str {
        &self.name
    }

    fn metadata(&self, key: &str) -> Option<String> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone())
    }

    fn run(&self, inputs: &[Tensor]) -> Result<Outputs, ModelError> {
        let err = |e: ort::Error| ModelError::Inference { model: self.name.clone(), reason: e.to_string() };
        if inputs.len() != self.input_names.len() {
            return Err(ModelError::Inference {
                model: self.name.clone(),
                reason: format!("{} inputs given, the model takes {}", inputs.len(), self.input_names.len()),
            });
        }
        let mut values = Vec::with_capacity(inputs.len());
        for (name, tensor) in self.input_names.iter().zip(inputs) {
            let view = TensorRef::from_array_view((tensor.shape.clone(), tensor.data.as_slice())).map_err(err)?;
            values.push((name.as_str(), view));
        }
        // A poisoned lock means another run panicked inside ONNX Runtime's wrapper; the session
        // itself holds no Rust state that a panic could leave half-updated, so it stays usable.
        let mut session = self.session.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let outputs = session.run(values).map_err(err)?;
        let mut result = Vec::with_capacity(self.output_names.len());
        for name in &self.output_names {
            let value = outputs.get(name).ok_or_else(|| ModelError::MissingOutput { name: name.clone() })?;
            let (shape, data) = value.try_extract_tensor::<f32>().map_err(err)?;
            let shape: Vec<usize> = shape.iter().map(|&d| usize::try_from(d).unwrap_or(0)).collect();
            let tensor = Tensor::new(shape.clone(), data.to_vec()).ok_or_else(|| ModelError::OutputShape {
                name: name.clone(),
                shape,
                expected: "as many values as its dimensions multiply to".into(),
            })?;
            result.push((name.clone(), tensor));
        }
        Ok(Outputs(result))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(actual: &[(&str, &[i64])], expect: &str) {
        let expected =
            vec![TensorSpec { name: "x".into(), shape: vec![-1, 3] }, TensorSpec { name: "y".into(), shape: vec![1] }];
        let actual: Vec<(String, Vec<i64>)> = actual.iter().map(|(n, s)| (n.to_string(), s.to_vec())).collect();
        let got = match check_signature("input", &expected, &actual) {
            Ok(()) => "ok".to_owned(),
            Err(e) => e,
        };
        assert!(got.contains(expect), "{got:?} does not contain {expect:?}");
    }

    #[test]
    fn signatures() {
        check(&[("x", &[-1, 3]), ("y", &[1])], "ok");
        check(&[("y", &[1]), ("x", &[-1, 3])], "ok");
        check(&[("x", &[-1, 3])], "lists 2 inputs, the file has 1");
        check(&[("x", &[-1, 4]), ("y", &[1])], "\"x\" has shape [-1, 4]");
        check(&[("x", &[-1, 3]), ("z", &[1])], "\"y\" is missing");
    }
}
