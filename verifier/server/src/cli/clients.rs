//! `verifier clients`: API clients (the letter services that create sessions).
//!
//! `add NAME` prints the client's id, API key and webhook secret once, as JSON; only the key's
//! SHA-256 is stored, so a lost key is replaced by a new client, never recovered.

use clap::Subcommand;
use sha2::{Digest, Sha256};

use crate::config::Config;
use crate::store::clients::NewClient;
use crate::store::{Store, StoreError};

/// The `clients` subcommands.
#[derive(Debug, Subcommand)]
pub enum ClientsCommand {
    /// Create an API client; prints {"client_id", "api_key", "webhook_secret"} once.
    Add {
        /// A unique name (letters, digits, `-`, `_`, `.`; at most 64).
        name: String,
    },
}

/// Runs a `clients` subcommand.
pub fn run(command: ClientsCommand, config: &Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let store = Store::open(&config.database).await?;
        match command {
            ClientsCommand::Add { name } => {
                let created = add(&store, &name).await?;
                super::print_json(&serde_json::json!({
                    "client_id": created.0,
                    "api_key": created.1,
                    "webhook_secret": created.2,
                }))
            }
        }
    })
}

/// Creates client `name`; returns its id, API key and webhook secret.
pub async fn add(store: &Store, name: &str) -> anyhow::Result<(String, String, String)> {
    let valid = !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !valid || name == crate::http::sessions::DEMO_CLIENT {
        anyhow::bail!("a client name is 1 to 64 letters, digits, '-', '_' or '.', and not \"demo\"");
    }
    match create(store, name).await {
        Ok(created) => Ok(created),
        Err(StoreError::Conflict(_)) => anyhow::bail!("a client named {name:?} exists already"),
        Err(e) => Err(e.into()),
    }
}

/// Creates the demo page's client if it does not exist. Its key is drawn and dropped: nobody
/// can call the API as the demo.
pub async fn ensure_demo_client(store: &Store) -> anyhow::Result<()> {
    let name = crate::http::sessions::DEMO_CLIENT;
    if store.client_by_name(name).await?.is_some() {
        return Ok(());
    }
    match create(store, name).await {
        // Another process created it meanwhile.
        Ok(_) | Err(StoreError::Conflict(_)) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

/// Draws a client's id, key (256 bits) and webhook secret and stores it, the key hashed.
async fn create(store: &Store, name: &str) -> Result<(String, String, String), StoreError> {
    let id = format!("cl_{}", hex::encode(rand::random::<[u8; 8]>()));
    let key = format!("vk_{}", hex::encode(rand::random::<[u8; 32]>()));
    let secret = format!("whsec_{}", hex::encode(rand::random::<[u8; 32]>()));
    let created_at = crate::capture::record::now_rfc3339();
    let key_sha256 = hex::encode(Sha256::digest(key.as_bytes()));
    store
        .create_client(&NewClient {
            id: &id,
            name,
            key_sha256: &key_sha256,
            webhook_secret: &secret,
            created_at: &created_at,
        })
        .await?;
    Ok((id, key, secret))
}
