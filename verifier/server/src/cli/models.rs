//! `verifier models ...`: provisioning the model cache and checking it against the manifest.

use clap::Subcommand;
use serde::Serialize;
use verifier_models::Manifest;
use verifier_models_fetch::{Source, default_mirrors, provision};

use crate::config::Config;
use crate::engines;

/// Model subcommands.
#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Copy or download every manifest model into the cache, verifying SHA-256 hashes.
    Fetch,
    /// Load every cached model in ONNX Runtime, checking its hash and signature.
    Check,
}

#[derive(Debug, Serialize)]
struct FetchedOut {
    name: String,
    path: String,
    source: String,
}

#[derive(Debug, Serialize)]
struct CheckedOut {
    name: String,
    file: String,
    sha256: String,
    ok: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

/// Runs a models subcommand.
pub fn run(command: ModelsCommand, config: &Config) -> anyhow::Result<()> {
    let manifest = Manifest::embedded();
    match command {
        ModelsCommand::Fetch => {
            let env_mirror = std::env::var(verifier_models_fetch::MIRROR_ENV).ok();
            let mirrors = default_mirrors(env_mirror.as_deref(), &config.models.shared_mirror);
            let done = provision(&manifest, &config.models.cache_dir, &mirrors)?;
            let out: Vec<FetchedOut> = done
                .into_iter()
                .map(|p| FetchedOut {
                    name: p.name,
                    path: p.path.display().to_string(),
                    source: match p.source {
                        Source::Cache => "cache".to_owned(),
                        Source::Mirror(m) => m.to_string(),
                    },
                })
                .collect();
            crate::cli::print_json(&serde_json::json!({ "models": out }))
        }
        ModelsCommand::Check => {
            let runtime = engines::runtime(config)?;
            let out: Vec<CheckedOut> = manifest
                .models
                .iter()
                .map(|spec| {
                    let result = engines::load_model(&runtime, &config.models.cache_dir, spec);
                    CheckedOut {
                        name: spec.name.clone(),
                        file: spec.file.clone(),
                        sha256: spec.sha256.clone(),
                        ok: result.is_ok(),
                        error: result.err().map(|e| format!("{e:#}")),
                    }
                })
                .collect();
            let failed = out.iter().filter(|c| !c.ok).count();
            crate::cli::print_json(&serde_json::json!({ "models": out }))?;
            anyhow::ensure!(failed == 0, "{failed} model(s) failed the check");
            Ok(())
        }
    }
}
