//! Shared helpers for the end-to-end tests: locating the workspace and its provisioned models,
//! building a configuration for a scratch directory, and a minimal HTTP/1.1 client.

use std::path::Path;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use verifier::config::{Config, RawConfig};

#[path = "common/mod.rs"]
mod common;
#[path = "common/receiver.rs"]
pub mod receiver;

pub use common::{models_ready, postgres_database, scratch, shared_faces, workspace};

/// The embedded defaults with the database in `dir`, models from the workspace cache, and
/// `extra` TOML merged on top.
pub fn config(dir: &Path, extra: &str) -> Config {
    config_on(dir, extra, None)
}

/// [`config`] on the database `url` (a PostgreSQL one, say) instead of a SQLite file in `dir`.
pub fn config_on(dir: &Path, extra: &str, url: Option<&str>) -> Config {
    let root = workspace();
    let file = dir.join("verifier.toml");
    let sqlite = format!("sqlite://{}?mode=rwc", dir.join("verifier.sqlite").display());
    let text = format!(
        "[database]\nurl = \"{}\"\nmax_connections = 4\n\
         [models]\ncache_dir = \"{}\"\nshared_mirror = \"{}\"\n\
         [onnx]\nlibrary = \"{}\"\nintra_op_threads = 1\n\
         [evidence]\nkey_file = \"{}\"\n{extra}",
        url.unwrap_or(&sqlite),
        root.join(".cache/models").display(),
        root.join("../shared/models").display(),
        root.join(".cache/onnxruntime/libonnxruntime.so").display(),
        dir.join("evidence.key").display(),
    );
    std::fs::write(&file, text).expect("temp dir is writable");
    RawConfig::load(Some(&file), figment::providers::Env::prefixed("VERIFIER_TEST_UNUSED_"))
        .and_then(RawConfig::validate)
        .expect("the test configuration is valid")
}

/// A response: status code and body.
#[derive(Debug)]
pub struct Response {
    /// HTTP status code.
    pub status: u16,
    /// Body as text.
    pub body: String,
    /// The status line and headers, as received.
    pub head: String,
}

/// Sends one `GET path` over a new connection and reads the whole response.
pub async fn get(addr: std::net::SocketAddr, path: &str) -> Response {
    request(addr, "GET", path, &[], b"").await
}

/// Sends one request with `headers` (`Name: value` lines) and `body` over a new connection.
pub async fn request(addr: std::net::SocketAddr, method: &str, path: &str, headers: &[&str], body: &[u8]) -> Response {
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("the server accepts connections");
    let mut head =
        format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.expect("the request is sent");
    stream.write_all(body).await.expect("the body is sent");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("the response is read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text.split(' ').nth(1).and_then(|s| s.parse().ok()).expect("a status line");
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let body =
        if head.to_ascii_lowercase().contains("transfer-encoding: chunked") { dechunk(body) } else { body.to_owned() };
    Response { status, body, head: head.to_owned() }
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// The real service in-process, and a capture client: what the capture and delivery tests share.
pub mod live {
    use std::net::SocketAddr;
    use std::time::Duration;

    use futures_util::StreamExt;
    use serde_json::{Value, json};
    use tokio_tungstenite::tungstenite::Message;

    use super::{request, scratch};

    /// A capture WebSocket.
    pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

    /// A server started in-process on a scratch database.
    pub struct Server {
        /// Where it listens.
        pub addr: SocketAddr,
        /// Its configuration.
        pub config: verifier::config::Config,
        _stop: tokio::sync::oneshot::Sender<()>,
    }

    /// Starts the real service on a scratch folder `name` with `extra` TOML, on a free port.
    pub async fn start(name: &str, extra: &str) -> Server {
        start_on(name, extra, None).await
    }

    /// [`start`] on the database `url` instead of a SQLite file.
    pub async fn start_on(name: &str, extra: &str, url: Option<&str>) -> Server {
        let dir = scratch(&format!("{name}{}", if url.is_some() { "-pg" } else { "" }));
        let config = super::config_on(&dir, extra, url);
        let app = verifier::App::start(&config).await.expect("the app starts");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(verifier::http::serve(
            listener,
            app.router(),
            async move {
                let _ = stopped.await;
            },
            Duration::from_secs(2),
        ));
        Server { addr, config, _stop: stop }
    }

    impl Server {
        /// A new API client's key.
        pub async fn client(&self, name: &str) -> String {
            self.client_and_secret(name).await.0
        }

        /// A new API client's key and webhook secret.
        pub async fn client_and_secret(&self, name: &str) -> (String, String) {
            let store = verifier::store::Store::open(&self.config.database).await.expect("the database opens");
            let (_, key, secret) = verifier::cli::clients::add(&store, name).await.expect("the client is created");
            (key, secret)
        }

        /// One request: the status and the body as JSON (`Null` when it is not JSON).
        pub async fn call(&self, method: &str, path: &str, key: Option<&str>, body: &str) -> (u16, Value) {
            let auth = key.map(|k| format!("Authorization: Bearer {k}"));
            let mut headers = vec!["Content-Type: application/json"];
            if let Some(a) = &auth {
                headers.push(a);
            }
            let r = request(self.addr, method, path, &headers, body.as_bytes()).await;
            (r.status, serde_json::from_str(&r.body).unwrap_or(Value::Null))
        }

        /// `GET /openapi.json`, checked to be served as JSON.
        pub async fn openapi(&self) -> Value {
            let r = request(self.addr, "GET", "/openapi.json", &[], b"").await;
            assert_eq!(r.status, 200, "{}", r.body);
            assert!(r.head.to_ascii_lowercase().contains("content-type: application/json"), "{}", r.head);
            serde_json::from_str(&r.body).expect("the document is JSON")
        }

        /// Creates a session; returns its id and capture token.
        pub async fn session(&self, key: &str, surname: &str) -> (String, String) {
            self.session_with(key, json!({"purpose": "recipient", "reference": "letter-1", "expected_identity": {"surname": surname, "given_names": "Jean"}})).await
        }

        /// Creates a session from `body`; returns its id and capture token.
        pub async fn session_with(&self, key: &str, body: Value) -> (String, String) {
            let (status, v) = self.call("POST", "/v1/sessions", Some(key), &body.to_string()).await;
            assert_eq!(status, 201, "{v}");
            let url = v["capture_url"].as_str().expect("a capture URL");
            assert!(url.starts_with(&format!("http://{}/capture/", self.addr)), "{url}");
            let token = url.rsplit('/').next().unwrap().to_owned();
            assert!(token.len() >= 32 && token.chars().all(|c| c.is_ascii_hexdigit()), "at least 128 random bits");
            (v["id"].as_str().unwrap().to_owned(), token)
        }

        /// Opens the capture socket of `token`.
        pub async fn connect(&self, token: &str) -> Socket {
            let (socket, _) = tokio_tungstenite::connect_async(format!("ws://{}/v1/capture/{token}", self.addr))
                .await
                .expect("the socket opens");
            socket
        }
    }

    /// The next text message as JSON, or the close code; `None` after 20 s of silence.
    pub async fn next(socket: &mut Socket) -> Option<Result<Value, u16>> {
        loop {
            let message = tokio::time::timeout(Duration::from_secs(20), socket.next()).await.ok()??;
            match message {
                Ok(Message::Text(t)) => {
                    return Some(Ok(serde_json::from_str(t.as_str()).expect("server messages are JSON")));
                }
                Ok(Message::Close(frame)) => return Some(Err(frame.map_or(1005, |f| u16::from(f.code)))),
                Ok(_) => continue,
                Err(_) => return Some(Err(1006)),
            }
        }
    }

    /// Reads until a message of `kind` (returned) or the close code.
    pub async fn until(socket: &mut Socket, kind: &str) -> Result<Value, u16> {
        loop {
            match next(socket).await {
                Some(Ok(v)) if v["type"] == kind => return Ok(v),
                Some(Ok(_)) => continue,
                Some(Err(code)) => return Err(code),
                None => panic!("no {kind} message within 20 s"),
            }
        }
    }

    /// A clean 720p camera frame of a synthetic document of `layout`, as JPEG.
    pub use crate::receiver::document_frame as frame_of;
}

/// Checks `value` against schema `name` of the OpenAPI document `doc` (`/openapi.json`): its
/// JSON types, every field it sends is described, every required field is sent, recursively.
/// The error names the first path at fault.
pub fn check_schema(doc: &serde_json::Value, name: &str, value: &serde_json::Value) -> Result<(), String> {
    let schema = serde_json::json!({ "$ref": format!("#/components/schemas/{name}") });
    check_against(doc, &schema, value, name)
}

fn check_against(
    doc: &serde_json::Value,
    schema: &serde_json::Value,
    value: &serde_json::Value,
    at: &str,
) -> Result<(), String> {
    use serde_json::Value;
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.strip_prefix("#/components/schemas/").ok_or(format!("{at}: ref {reference}"))?;
        let target = &doc["components"]["schemas"][name];
        if target.is_null() {
            return Err(format!("{at}: no schema {name} in the document"));
        }
        return check_against(doc, target, value, at);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(options) = schema[key].as_array() {
            let errors: Vec<String> = options.iter().filter_map(|o| check_against(doc, o, value, at).err()).collect();
            return if errors.len() < options.len() { Ok(()) } else { Err(errors.join(" | ")) };
        }
    }
    if let Some(all) = schema["allOf"].as_array() {
        return all.iter().try_for_each(|s| check_against(doc, s, value, at));
    }
    let types: Vec<&str> = match &schema["type"] {
        Value::String(t) => vec![t.as_str()],
        Value::Array(ts) => ts.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let kind = match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    };
    let allowed = types.is_empty() || types.contains(&kind) || (kind == "integer" && types.contains(&"number"));
    if !allowed {
        return Err(format!("{at}: a {kind}, the schema says {types:?}"));
    }
    if let Some(allowed) = schema["enum"].as_array()
        && !allowed.contains(value)
    {
        return Err(format!("{at}: {value} is not one of {allowed:?}"));
    }
    match value {
        Value::Object(fields) => {
            let properties = schema["properties"].as_object();
            for (key, field) in fields {
                match properties.and_then(|p| p.get(key)) {
                    Some(s) => check_against(doc, s, field, &format!("{at}.{key}"))?,
                    None => match &schema["additionalProperties"] {
                        Value::Object(_) => {
                            check_against(doc, &schema["additionalProperties"], field, &format!("{at}.{key}"))?;
                        }
                        Value::Bool(true) => {}
                        _ => return Err(format!("{at}.{key}: sent, but not in the schema")),
                    },
                }
            }
            for required in schema["required"].as_array().into_iter().flatten().filter_map(Value::as_str) {
                if !fields.contains_key(required) {
                    return Err(format!("{at}.{required}: required by the schema, not sent"));
                }
            }
            Ok(())
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, item)| check_against(doc, &schema["items"], item, &format!("{at}[{i}]"))),
        _ => Ok(()),
    }
}

/// Everything the service has stored, one line a row (secrets and hashes included, the
/// evidence bytes by their hash), in a fixed order: equal snapshots mean nothing changed.
pub async fn stored(database_url: &str) -> Vec<String> {
    use sqlx::Connection;
    sqlx::any::install_default_drivers();
    let mut db = sqlx::AnyConnection::connect(database_url).await.expect("the database opens");
    let t = |c: &str| format!("COALESCE(CAST({c} AS TEXT), '-')");
    let tables = [
        ("api_clients", vec!["id", "name", "key_sha256", "webhook_secret", "callback_url", "previous_webhook_secret"]),
        (
            "sessions",
            vec![
                "id",
                "client_id",
                "status",
                "reference",
                "expected_identity",
                "token_sha256",
                "decision",
                "callback_url",
                "evidence_purged_at",
            ],
        ),
        ("evidence", vec!["session_id", "kind", "sha256", "key_id"]),
        ("deliveries", vec!["id", "session_id", "status", "attempts"]),
        ("audit_log", vec!["id", "event", "session_id"]),
        ("idempotency_keys", vec!["client_id", "idempotency_key", "session_id", "request_sha256"]),
    ];
    let mut rows = Vec::new();
    for (table, columns) in tables {
        let line = columns.iter().map(|c| t(c)).collect::<Vec<_>>().join(" || '|' || ");
        let sql = format!("SELECT '{table}|' || {line} AS row FROM {table} ORDER BY 1");
        let found: Vec<(String,)> =
            sqlx::query_as(sqlx::AssertSqlSafe(sql)).fetch_all(&mut db).await.expect("the snapshot query runs");
        rows.extend(found.into_iter().map(|(r,)| r));
    }
    rows
}
