//! Provisioning: copy or download each manifest model into the cache, verifying its SHA-256.
//! This is the I/O half of the model manifest (files, the environment's mirror, `curl`), kept
//! out of `verifier-models` so that the pure crates that read the manifest (`vision`) link none
//! of it; only the service's `models fetch` uses it.
//!
//! Mirrors are tried in order: the operator's mirror (`VERIFIER_MODEL_MIRROR`, a directory or an
//! http(s) base URL), the shared mirror directory when it exists, then each model's upstream URL.
//! A file is written to the cache only after its hash matched, through a temporary file and a
//! rename, so an interrupted run never leaves a half-written model under the real name.
//! Downloads go through the system's `curl`, so this crate carries no TLS stack of its own.

#![deny(missing_docs)]

use std::fmt;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};
use std::process::Command;

use verifier_models::{Manifest, ModelSpec, sha256_hex};

/// The environment variable naming the operator's mirror: a directory or an http(s) base URL.
pub const MIRROR_ENV: &str = "VERIFIER_MODEL_MIRROR";

/// A place model files can be copied from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mirror {
    /// A local directory holding the files under their manifest names.
    Dir(PathBuf),
    /// An http(s) base URL; the file is fetched from `{base}/{file}`.
    BaseUrl(String),
    /// Each model's own upstream `url`, where the manifest gives one.
    Upstream,
    /// The models this project trained itself, compiled into the binary (see [`bundled`]).
    Bundled,
}

impl fmt::Display for Mirror {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Mirror::Dir(p) => write!(f, "directory {}", p.display()),
            Mirror::BaseUrl(u) => write!(f, "mirror {u}"),
            Mirror::Upstream => f.write_str("upstream"),
            Mirror::Bundled => f.write_str("bundled with the verifier"),
        }
    }
}

/// The project's own model files, by manifest file name: they have no upstream, so they travel
/// inside the binary. The scripts that made them sit beside them in `models/`: the MRZ
/// recogniser was trained here (1.1 MB); dlib's face ResNet was converted here from dlib's own
/// format to ONNX (22 MB; `models/dlib-face-resnet/convert.py` regenerates it byte for byte).
const BUNDLED: &[(&str, &[u8])] = &[
    ("mrz_ocrb_cells.onnx", include_bytes!("../../mrz-ocrb/mrz_ocrb_cells.onnx")),
    ("dlib_face_resnet_v1.onnx", include_bytes!("../../dlib-face-resnet/dlib_face_resnet_v1.onnx")),
];

/// The bytes of a model this project trained and bundles, by file name.
pub fn bundled(file: &str) -> Option<&'static [u8]> {
    BUNDLED.iter().find(|(name, _)| *name == file).map(|(_, bytes)| *bytes)
}

/// The mirrors in their order of preference: the models bundled with the verifier, then
/// `env_mirror` (the value of `VERIFIER_MODEL_MIRROR`), then `shared_dir` if it exists, then
/// upstream.
pub fn default_mirrors(env_mirror: Option<&str>, shared_dir: &Path) -> Vec<Mirror> {
    let mut mirrors = vec![Mirror::Bundled];
    if let Some(m) = env_mirror.map(str::trim).filter(|m| !m.is_empty()) {
        if m.starts_with("http://") || m.starts_with("https://") {
            mirrors.push(Mirror::BaseUrl(m.trim_end_matches('/').to_owned()));
        } else {
            mirrors.push(Mirror::Dir(PathBuf::from(m)));
        }
    }
    if shared_dir.is_dir() {
        mirrors.push(Mirror::Dir(shared_dir.to_owned()));
    }
    mirrors.push(Mirror::Upstream);
    mirrors
}

/// Where a provisioned file came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// It was already in the cache with the right hash.
    Cache,
    /// It was copied or downloaded from this mirror.
    Mirror(Mirror),
}

/// One model that is now in the cache with its pinned hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Provisioned {
    /// Model name.
    pub name: String,
    /// Path of the verified file in the cache.
    pub path: PathBuf,
    /// Where it came from.
    pub source: Source,
}

/// Why provisioning failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProvisionError {
    /// The cache directory cannot be created or written.
    #[error("cannot write the model cache {dir}: {source}")]
    Cache {
        /// The cache directory.
        dir: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// Some models were found nowhere with the right hash.
    #[error("{}", missing_message(.missing))]
    Missing {
        /// One entry per model that could not be provisioned.
        missing: Vec<MissingModel>,
    },
}

/// A model that no mirror could provide, with what each mirror said.
#[derive(Debug, Clone)]
pub struct MissingModel {
    /// Model name.
    pub name: String,
    /// File name.
    pub file: String,
    /// Pinned hash.
    pub sha256: String,
    /// Upstream origin, in words.
    pub origin: String,
    /// One line per mirror tried.
    pub attempts: Vec<String>,
}

fn missing_message(missing: &[MissingModel]) -> String {
    let mut out = format!("{} model file(s) could not be provisioned:", missing.len());
    for m in missing {
        out.push_str(&format!("\n  - {} ({}, sha256 {}; origin: {})", m.name, m.file, m.sha256, m.origin));
        for a in &m.attempts {
            out.push_str(&format!("\n      tried {a}"));
        }
    }
    out.push_str(&format!(
        "\nTo fix: put the files in a directory (or behind an http(s) base URL) and set \
         {MIRROR_ENV} to it, or check out the project beside its `shared/` folder so that \
         ../shared/models exists."
    ));
    out
}

/// Makes sure every model of `manifest` is in `cache_dir` with its pinned hash.
///
/// Files already cached with the right hash are kept as they are; a cached file with a wrong
/// hash is replaced. All models are attempted before an error is returned, so the error lists
/// everything that is missing at once.
pub fn provision(
    manifest: &Manifest,
    cache_dir: &Path,
    mirrors: &[Mirror],
) -> Result<Vec<Provisioned>, ProvisionError> {
    let cache_err = |source| ProvisionError::Cache { dir: cache_dir.to_owned(), source };
    fs::create_dir_all(cache_dir).map_err(cache_err)?;
    let mut done = Vec::new();
    let mut missing = Vec::new();
    for spec in &manifest.models {
        let path = cache_dir.join(&spec.file);
        if fs::read(&path).is_ok_and(|bytes| sha256_hex(&bytes) == spec.sha256) {
            done.push(Provisioned { name: spec.name.clone(), path, source: Source::Cache });
            continue;
        }
        let mut attempts = Vec::new();
        let mut found = None;
        for mirror in mirrors {
            match fetch(spec, mirror, cache_dir) {
                Ok(bytes) if sha256_hex(&bytes) == spec.sha256 => {
                    found = Some((mirror.clone(), bytes));
                    break;
                }
                Ok(bytes) => {
                    attempts.push(format!("{mirror}: wrong hash {} ({} bytes)", sha256_hex(&bytes), bytes.len()))
                }
                Err(why) => attempts.push(format!("{mirror}: {why}")),
            }
        }
        match found {
            Some((mirror, bytes)) => {
                write_atomic(&path, &bytes).map_err(cache_err)?;
                done.push(Provisioned { name: spec.name.clone(), path, source: Source::Mirror(mirror) });
            }
            None => missing.push(MissingModel {
                name: spec.name.clone(),
                file: spec.file.clone(),
                sha256: spec.sha256.clone(),
                origin: spec.origin.clone(),
                attempts,
            }),
        }
    }
    if missing.is_empty() { Ok(done) } else { Err(ProvisionError::Missing { missing }) }
}

/// Reads the model's bytes from one mirror; the caller checks the hash.
fn fetch(spec: &ModelSpec, mirror: &Mirror, cache_dir: &Path) -> Result<Vec<u8>, String> {
    match mirror {
        Mirror::Dir(dir) => {
            let path = dir.join(&spec.file);
            fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))
        }
        Mirror::BaseUrl(base) => download(&format!("{base}/{}", spec.file), cache_dir),
        Mirror::Upstream => match &spec.url {
            Some(url) => download(url, cache_dir),
            None => Err("no direct upstream URL (see the origin)".to_owned()),
        },
        Mirror::Bundled => bundled(&spec.file).map(<[u8]>::to_vec).ok_or_else(|| "not bundled".to_owned()),
    }
}

fn download(url: &str, cache_dir: &Path) -> Result<Vec<u8>, String> {
    let tmp = cache_dir.join(format!(".download-{}", std::process::id()));
    let status = Command::new("curl")
        .args(["--fail", "--silent", "--show-error", "--location", "--max-time", "300"])
        .arg("--output")
        .arg(&tmp)
        .arg(url)
        .status()
        .map_err(|e| format!("{url}: cannot run curl: {e}"))?;
    let result = if status.success() {
        fs::read(&tmp).map_err(|e| format!("{url}: {e}"))
    } else {
        Err(format!("{url}: curl failed ({status})"))
    };
    // The temporary file may not exist when curl failed early; nothing to clean up then.
    let _ = fs::remove_file(&tmp);
    result
}

fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let tmp = path.with_extension(format!("partial-{}", std::process::id()));
    fs::write(&tmp, bytes)?;
    fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest_for(bytes: &[u8]) -> Manifest {
        Manifest::parse(&format!(
            r#"
            [[model]]
            name = "m"
            file = "m.onnx"
            sha256 = "{}"
            task = "t"
            licence = "MIT"
            origin = "a test"
            inputs = []
            outputs = []
            "#,
            sha256_hex(bytes)
        ))
        .expect("test manifest is valid")
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("verifier-models-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("temp dir is writable");
        dir
    }

    #[test]
    fn copies_from_the_first_mirror_with_the_right_hash() {
        let root = scratch("copy");
        let (bad, good, cache) = (root.join("bad"), root.join("good"), root.join("cache"));
        fs::create_dir_all(&bad).unwrap();
        fs::create_dir_all(&good).unwrap();
        fs::write(bad.join("m.onnx"), b"tampered").unwrap();
        fs::write(good.join("m.onnx"), b"weights").unwrap();
        let manifest = manifest_for(b"weights");
        let mirrors = [Mirror::Dir(bad.clone()), Mirror::Dir(good.clone())];

        let done = provision(&manifest, &cache, &mirrors).unwrap();
        assert_eq!(done[0].source, Source::Mirror(Mirror::Dir(good)));
        assert_eq!(fs::read(cache.join("m.onnx")).unwrap(), b"weights");

        // A second run finds it in the cache and copies nothing.
        let again = provision(&manifest, &cache, &[]).unwrap();
        assert_eq!(again[0].source, Source::Cache);

        // A corrupted cache file is replaced.
        fs::write(cache.join("m.onnx"), b"weightz").unwrap();
        let repaired = provision(&manifest, &cache, &mirrors).unwrap();
        assert!(matches!(repaired[0].source, Source::Mirror(_)));
        assert_eq!(fs::read(cache.join("m.onnx")).unwrap(), b"weights");
    }

    #[test]
    fn says_what_is_missing_and_how_to_get_it() {
        let root = scratch("missing");
        let manifest = manifest_for(b"weights");
        let err = provision(&manifest, &root.join("cache"), &[Mirror::Dir(root.join("nowhere")), Mirror::Upstream])
            .unwrap_err()
            .to_string();
        assert!(err.contains("m (m.onnx, sha256 "), "{err}");
        assert!(err.contains("no direct upstream URL"), "{err}");
        assert!(err.contains(MIRROR_ENV), "{err}");
    }

    #[test]
    fn bundled_models_are_pinned_and_provisioned() {
        let manifest = Manifest::embedded();
        for (file, bytes) in BUNDLED {
            let spec = manifest.models.iter().find(|m| m.file == *file).expect("a bundled file is in the manifest");
            assert_eq!(sha256_hex(bytes), spec.sha256, "{file} differs from its pinned hash");
            let only = Manifest { roles: Default::default(), models: vec![spec.clone()] };
            let cache = scratch("bundled").join("cache");
            let done = provision(&only, &cache, &[Mirror::Upstream, Mirror::Bundled]).expect("bundled bytes provision");
            assert_eq!(done[0].source, Source::Mirror(Mirror::Bundled));
            assert_eq!(fs::read(cache.join(file)).expect("written"), *bytes);
        }
        assert!(bundled("no-such.onnx").is_none());
    }

    #[test]
    fn mirror_order() {
        let here = std::env::temp_dir();
        let m = default_mirrors(Some("https://models.example/v1/"), &here);
        assert_eq!(
            m,
            vec![
                Mirror::Bundled,
                Mirror::BaseUrl("https://models.example/v1".into()),
                Mirror::Dir(here.clone()),
                Mirror::Upstream
            ]
        );
        let m = default_mirrors(None, &here.join("does-not-exist"));
        assert_eq!(m, vec![Mirror::Bundled, Mirror::Upstream]);
    }
}
