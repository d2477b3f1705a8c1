//! Shared helpers for the end-to-end tests: locating the workspace and its provisioned models,
//! building a configuration for a scratch directory, and a minimal HTTP/1.1 client.

use std::path::Path;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use verifier::config::{Config, RawConfig};

#[path = "common/mod.rs"]
mod common;

pub use common::{models_ready, scratch, shared_faces, workspace};

/// The embedded defaults with the database in `dir`, models from the workspace cache, and
/// `extra` TOML merged on top.
pub fn config(dir: &Path, extra: &str) -> Config {
    let root = workspace();
    let file = dir.join("verifier.toml");
    let text = format!(
        "[database]\nurl = \"sqlite://{}?mode=rwc\"\nmax_connections = 4\n\
         [models]\ncache_dir = \"{}\"\nshared_mirror = \"{}\"\n\
         [onnx]\nlibrary = \"{}\"\nintra_op_threads = 1\n{extra}",
        dir.join("verifier.sqlite").display(),
        root.join(".cache/models").display(),
        root.join("../shared/models").display(),
        root.join(".cache/onnxruntime/libonnxruntime.so").display(),
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
    Response { status, body }
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
