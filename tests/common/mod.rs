//! Helpers shared by every integration test of the workspace (included with `#[path]` by the
//! server's CLI tests and by this crate): the workspace root, the provisioned-models check,
//! and scratch directories.

use std::path::{Path, PathBuf};

/// The workspace root: the nearest folder above the test's package holding `Cargo.lock`.
pub fn workspace() -> PathBuf {
    let start = Path::new(env!("CARGO_MANIFEST_DIR"));
    start
        .ancestors()
        .find(|dir| dir.join("Cargo.lock").is_file())
        .expect("tests run inside the workspace")
        .to_path_buf()
}

/// True when the ONNX Runtime library and the file of every model a role of the manifest names
/// are provisioned; otherwise skips with a message, or panics when REQUIRE_VERIFIER_MODELS is set
/// (as `make test` and CI set it).
pub fn models_ready() -> bool {
    let root = workspace();
    let manifest = verifier_models::Manifest::embedded();
    let mut needed = vec![".cache/onnxruntime/libonnxruntime.so".to_owned()];
    for model in manifest.roles.values() {
        let spec = manifest.model(model).expect("the embedded manifest's roles name its models");
        needed.push(format!(".cache/models/{}", spec.file));
    }
    let missing: Vec<&str> = needed.iter().map(String::as_str).filter(|p| !root.join(p).exists()).collect();
    if missing.is_empty() {
        return true;
    }
    let message = format!("models not provisioned ({missing:?} missing): run scripts/setup.sh");
    assert!(std::env::var_os("REQUIRE_VERIFIER_MODELS").is_none(), "{message}");
    eprintln!("skipping: {message}");
    false
}

/// The shared real face photos, when present; without them a test skips with a message, or
/// panics when REQUIRE_VERIFIER_MODELS is set (CI has `../shared`, so a face test never passes
/// there by skipping).
#[allow(dead_code)] // not every test crate that includes this module uses the photos
pub fn shared_faces() -> Option<PathBuf> {
    let dir = workspace().join("../shared/datasets/faces");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(std::env::var_os("REQUIRE_VERIFIER_MODELS").is_none(), "../shared/datasets/faces is absent");
    eprintln!("skipping: ../shared/datasets/faces is absent");
    None
}

/// A fresh directory under the system temp dir, unique to this process and `name`.
pub fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("verifier-test-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("temp dir is writable");
    dir
}

/// A fresh, empty PostgreSQL database for test `name` (dropped and created again), from the
/// server that TEST_POSTGRES_URL names (`scripts/postgres.sh` starts one and prints its
/// URL; `make test` sets it). Without it the caller skips with a message, or panics when
/// REQUIRE_VERIFIER_POSTGRES is set (as CI sets it).
#[allow(dead_code)] // included by test crates that do not all run on PostgreSQL
pub async fn postgres_database(name: &str) -> Option<String> {
    use sqlx::Connection;
    let Ok(base) = std::env::var("TEST_POSTGRES_URL") else {
        assert!(
            std::env::var_os("REQUIRE_VERIFIER_POSTGRES").is_none(),
            "TEST_POSTGRES_URL is not set: run scripts/postgres.sh"
        );
        eprintln!("skipping: no PostgreSQL (set TEST_POSTGRES_URL, see scripts/postgres.sh)");
        return None;
    };
    let db = format!("verifier_{}_{}", name.replace(|c: char| !c.is_ascii_alphanumeric(), "_"), std::process::id());
    let mut admin = sqlx::PgConnection::connect(&base).await.expect("the test PostgreSQL answers");
    let sql = |s: String| sqlx::raw_sql(sqlx::AssertSqlSafe(s));
    sql(format!("DROP DATABASE IF EXISTS {db} WITH (FORCE)")).execute(&mut admin).await.expect("drop");
    sql(format!("CREATE DATABASE {db}")).execute(&mut admin).await.expect("create");
    let (server, _) = base.rsplit_once('/').expect("a database URL ends in /name");
    Some(format!("{server}/{db}"))
}
