//! `verifier clients`: API clients (the letter services that create sessions).
//!
//! `add NAME` prints the client's id, API key and webhook secret once, as JSON; only the key's
//! SHA-256 is stored, so a lost key is replaced by a new client, never recovered.
//! `rotate-secret NAME` draws a new webhook secret and prints it once; the previous one keeps
//! signing (a second `v1=` in `Verifier-Signature`) for `[delivery].secret_grace_secs`, so the
//! receiver can switch without losing a delivery. `set-callback NAME URL` sets the client's
//! default callback URL (a session's own `callback_url` wins).

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
        /// Where this client's decisions are delivered when a session names no callback URL.
        #[arg(long)]
        callback_url: Option<String>,
    },
    /// Draw a new webhook secret; prints {"client_id", "webhook_secret", "previous_valid_until"}.
    RotateSecret {
        /// The client's name.
        name: String,
        /// How long the previous secret keeps signing (default: `[delivery].secret_grace_secs`).
        #[arg(long)]
        grace_secs: Option<u64>,
    },
    /// Set (or, with `none`, clear) the client's default callback URL.
    SetCallback {
        /// The client's name.
        name: String,
        /// An https URL (http only to this machine), or `none`.
        url: String,
    },
}

/// Runs a `clients` subcommand.
pub fn run(command: ClientsCommand, config: &Config) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let store = Store::open(&config.database).await?;
        match command {
            ClientsCommand::Add { name, callback_url } => {
                if let Some(url) = &callback_url {
                    check_callback(url)?;
                }
                let created = add(&store, &name).await?;
                if let Some(url) = &callback_url {
                    store.set_client_callback(&name, Some(url)).await?;
                }
                super::print_json(&serde_json::json!({
                    "client_id": created.0,
                    "api_key": created.1,
                    "webhook_secret": created.2,
                    "callback_url": callback_url,
                }))
            }
            ClientsCommand::RotateSecret { name, grace_secs } => {
                let grace = grace_secs.map_or(config.delivery.secret_grace, std::time::Duration::from_secs);
                let (id, secret, until_ms) = rotate_secret(&store, &name, grace).await?;
                super::print_json(&serde_json::json!({
                    "client_id": id,
                    "webhook_secret": secret,
                    "previous_valid_until": crate::capture::record::rfc3339_of_ms(until_ms),
                }))
            }
            ClientsCommand::SetCallback { name, url } => {
                let url = (url != "none").then_some(url);
                if let Some(url) = &url {
                    check_callback(url)?;
                }
                if !store.set_client_callback(&name, url.as_deref()).await? {
                    anyhow::bail!("no client named {name:?}");
                }
                super::print_json(&serde_json::json!({ "name": name, "callback_url": url }))
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

fn check_callback(url: &str) -> anyhow::Result<()> {
    if !crate::http::sessions::callback_url_ok(url) {
        anyhow::bail!("a callback URL is an absolute https URL (http only to this machine) of at most 2048 characters");
    }
    Ok(())
}

/// Gives client `name` a new webhook secret; the previous one signs too for `grace`. Returns
/// the client's id, the new secret and when the previous one stops (Unix ms).
pub async fn rotate_secret(
    store: &Store,
    name: &str,
    grace: std::time::Duration,
) -> anyhow::Result<(String, String, i64)> {
    let secret = format!("whsec_{}", hex::encode(rand::random::<[u8; 32]>()));
    let now = crate::capture::record::unix_ms();
    let until = now + grace.as_millis() as i64;
    if name == crate::http::sessions::DEMO_CLIENT || !store.rotate_secret(name, &secret, until, now).await? {
        anyhow::bail!("no client named {name:?}");
    }
    let client = store.client_by_name(name).await?.ok_or_else(|| anyhow::anyhow!("no client named {name:?}"))?;
    Ok((client.id, secret, until))
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
