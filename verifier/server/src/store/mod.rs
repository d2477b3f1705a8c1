//! Storage: SQLite (the embedded default) or PostgreSQL (several nodes on one database), through
//! sqlx's `Any` driver, chosen by the database URL (`sqlite:` or `postgres:`), with migrations
//! run at start-up.
//!
//! Owns the pool and every query; callers get typed methods, never SQL. Every query is written
//! once, in the SQL both databases read (`$1` parameters, `RETURNING`, BIGINT-sized integers);
//! where they differ (claiming outbox rows: `FOR UPDATE SKIP LOCKED` on PostgreSQL) the query
//! names its dialect. The schema lives in `migrations/sqlite` and `migrations/postgres`, the same
//! versions and columns in each dialect, embedded in the binary. API clients are in
//! [`clients`], verification sessions, their decisions and evidence in [`sessions`], the
//! outbox, secrets and audit log in [`deliveries`].

pub mod clients;
pub mod deliveries;
pub mod sessions;

use std::path::Path;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;
use sqlx::migrate::Migrator;
use sqlx::sqlite::SqliteConnectOptions;

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

/// Which database a [`Store`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// One file, one node.
    Sqlite,
    /// A server several nodes share.
    Postgres,
}

static SQLITE_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/sqlite");
static POSTGRES_MIGRATIONS: Migrator = sqlx::migrate!("./migrations/postgres");

/// The database.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite's one writer, taken in this process before a write transaction begins: writers
    /// queue here in order instead of retrying in SQLite's busy handler, whose sleeps (up to
    /// 100 ms each) cut the outbox's rate by a factor of ten when a batch of deliveries records
    /// its outcomes at once (`verifier outbox bench`). PostgreSQL's rows lock themselves.
    writer: Arc<tokio::sync::Mutex<()>>,
}

impl Store {
    /// Opens (creating a SQLite file if needed) the database and applies pending migrations.
    pub async fn open(config: &DatabaseConfig) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = if config.url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if config.url.starts_with("postgres:") || config.url.starts_with("postgresql:") {
            Backend::Postgres
        } else {
            return Err(StoreError::Url("expected a sqlite: or postgres: URL".into()));
        };
        if backend == Backend::Sqlite {
            let options = SqliteConnectOptions::from_str(&config.url).map_err(|e| StoreError::Url(e.to_string()))?;
            let file = options.get_filename();
            if let Some(folder) = file.parent().filter(|p| !p.as_os_str().is_empty() && !is_memory(file)) {
                std::fs::create_dir_all(folder)
                    .map_err(|source| StoreError::Folder { path: folder.display().to_string(), source })?;
            }
        }
        let pool = AnyPoolOptions::new()
            .max_connections(config.max_connections)
            .acquire_timeout(Duration::from_secs(5))
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // Readers beside one writer, a writer waiting for another (two processes
                        // on one file), and the schema's foreign keys enforced.
                        sqlx::query("PRAGMA journal_mode = WAL").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA busy_timeout = 5000").execute(&mut *conn).await?;
                        sqlx::query("PRAGMA foreign_keys = ON").execute(&mut *conn).await?;
                    }
                    Ok(())
                })
            })
            .connect(&config.url)
            .await?;
        match backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&pool).await?,
        }
        Ok(Self { pool, backend, writer: Arc::default() })
    }

    /// Begins a transaction that writes: on SQLite, after this process's other writers.
    async fn begin_write(
        &self,
    ) -> Result<(Option<tokio::sync::OwnedMutexGuard<()>>, sqlx::Transaction<'static, sqlx::Any>), StoreError> {
        let turn = match self.backend {
            Backend::Sqlite => Some(self.writer.clone().lock_owned().await),
            Backend::Postgres => None,
        };
        Ok((turn, self.pool.begin().await?))
    }

    /// Which database this is.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Succeeds when the database answers a query.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Records the models this process loaded, stamped with its start time (RFC 3339).
    pub async fn record_model_loads(&self, started_at: &str, models: &[LoadedModel]) -> Result<(), StoreError> {
        let (_turn, mut tx) = self.begin_write().await?;
        for m in models {
            sqlx::query("INSERT INTO model_loads (process_started_at, name, file, sha256) VALUES ($1, $2, $3, $4)")
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
            sqlx::query_as("SELECT name, sha256 FROM model_loads WHERE process_started_at = $1 ORDER BY id")
                .bind(started_at)
                .fetch_all(&self.pool)
                .await?;
        Ok(rows)
    }
}

fn is_memory(file: &Path) -> bool {
    file.as_os_str() == ":memory:"
}
