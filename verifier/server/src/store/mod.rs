//! Storage: the SQLite database through sqlx, with migrations run at start-up.
//!
//! Owns the pool and every query; callers get typed methods, never SQL. The schema lives in
//! `migrations/`, embedded in the binary, applied in order and recorded by sqlx. API clients are
//! in [`clients`], verification sessions, their decisions and evidence in [`sessions`].

pub mod clients;
pub mod deliveries;
pub mod sessions;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions};

use crate::config::DatabaseConfig;
use crate::engines::LoadedModel;

/// Why the database is unusable.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The URL is malformed.
    #[error("database URL is invalid: {0}")]
    Url(String),
    /// The database file's folder cannot be created.
    #[error("cannot create the database folder {path}: {source}")]
    Folder {
        /// The folder.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A migration failed.
    #[error("database migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A query failed.
    #[error("database error: {0}")]
    Query(#[from] sqlx::Error),
    /// A row with the same unique value exists.
    #[error("{0} already exists")]
    Conflict(&'static str),
}

/// The database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
}

impl Store {
    /// Opens (creating if needed) the database and applies pending migrations.
    pub async fn open(config: &DatabaseConfig) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(&config.url)
            .map_err(|e| StoreError::Url(e.to_string()))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .busy_timeout(Duration::from_secs(5))
            .foreign_keys(true);
        let file = options.get_filename();
        if let Some(folder) = file.parent().filter(|p| !p.as_os_str().is_empty() && !is_memory(file)) {
            std::fs::create_dir_all(folder)
                .map_err(|source| StoreError::Folder { path: folder.display().to_string(), source })?;
        }
        let pool = SqlitePoolOptions::new()
            .max_connections(config.max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .connect_with(options)
            .await?;
        sqlx::migrate!("./migrations").run(&pool).await?;
        Ok(Self { pool })
    }

    /// Succeeds when the database answers a query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Records the models this process loaded, stamped with its start time (RFC 3339).
    pub async fn record_model_loads(&self, started_at: &str, models: &[LoadedModel]) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        for m in models {
            sqlx::query("INSERT INTO model_loads (process_started_at, name, file, sha256) VALUES (?, ?, ?, ?)")
                .bind(started_at)
                .bind(&m.name)
                .bind(&m.file)
                .bind(&m.sha256)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The models recorded for the process that started at `started_at`, as (name, sha256).
    pub async fn model_loads(&self, started_at: &str) -> Result<Vec<(String, String)>, StoreError> {
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT name, sha256 FROM model_loads WHERE process_started_at = ? ORDER BY id")
                .bind(started_at)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows)
    }
}

fn is_memory(file: &Path) -> bool {
    file.as_os_str() == ":memory:"
}
