//! API clients: the letter services that create sessions. Keys are kept as SHA-256 hashes.

use super::{Store, StoreError};

/// A client as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientRow {
    /// Its id (`cl_...`).
    pub id: String,
    /// Its unique name.
    pub name: String,
}

/// A client to create.
pub struct NewClient<'a> {
    /// Its id.
    pub id: &'a str,
    /// Its unique name.
    pub name: &'a str,
    /// SHA-256 (hex) of its API key.
    pub key_sha256: &'a str,
    /// The secret its webhooks are signed with.
    pub webhook_secret: &'a str,
    /// RFC 3339.
    pub created_at: &'a str,
}

impl Store {
    /// Creates a client; a taken name is [`StoreError::Conflict`].
    pub async fn create_client(&self, client: &NewClient<'_>) -> Result<(), StoreError> {
        let result = sqlx::query(
            "INSERT INTO api_clients (id, name, key_sha256, webhook_secret, created_at) VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(client.id)
        .bind(client.name)
        .bind(client.key_sha256)
        .bind(client.webhook_secret)
        .bind(client.created_at)
        .execute(&self.pool)
        .await;
        match result {
            Ok(_) => Ok(()),
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {
                Err(StoreError::Conflict("a client with this name"))
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The client whose API key hashes to `key_sha256`.
    pub async fn client_by_key(&self, key_sha256: &str) -> Result<Option<ClientRow>, StoreError> {
        let row: Option<(String, String)> = sqlx::query_as("SELECT id, name FROM api_clients WHERE key_sha256 = $1")
            .bind(key_sha256)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(id, name)| ClientRow { id, name }))
    }

    /// The client named `name`.
    pub async fn client_by_name(&self, name: &str) -> Result<Option<ClientRow>, StoreError> {
        let row: Option<(String, String)> = sqlx::query_as("SELECT id, name FROM api_clients WHERE name = $1")
            .bind(name)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|(id, name)| ClientRow { id, name }))
    }
}
