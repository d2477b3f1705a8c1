//! Two verifier processes on one PostgreSQL: a session decided on one node is answered by the
//! other, and `kill -9` of a node in the middle of its deliveries loses none: the survivor takes
//! the dead node's leased deliveries once their leases run out, and every decision reaches the
//! receiver at least once, each under one delivery id, validly signed.
//!
//! Needs the models (decisions come from real capture sessions showing a driving licence) and a
//! PostgreSQL server (TEST_POSTGRES_URL, see scripts/postgres.sh).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use verifier::delivery::signature::verify;

#[path = "../../../tests/common/mod.rs"]
mod common;
#[path = "../../../tests/common/receiver.rs"]
mod receiver;

use common::{models_ready, postgres_database, scratch, workspace};
use receiver::{Receiver, document_frame};

/// A free port on the loopback interface.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// The configuration file of one node.
fn node_config(dir: &std::path::Path, name: &str, url: &str, port: u16) -> std::path::PathBuf {
    let root = workspace();
    let file = dir.join(format!("{name}.toml"));
    let text = format!(
        "[server]\nlisten = \"127.0.0.1:{port}\"\nclient_rate_per_minute = 60000\nclient_burst = 1000\n[database]\nurl = \"{url}\"\nmax_connections = 4\n\
         [models]\ncache_dir = \"{}\"\nshared_mirror = \"{}\"\n[onnx]\nlibrary = \"{}\"\nintra_op_threads = 1\n\
         [evidence]\nkey_file = \"{}\"\n[demo]\nenabled = false\n\
         [delivery]\npoll_ms = 50\ntimeout_ms = 3000\nlease_secs = 4\nbackoff_base_ms = 200\nbackoff_max_secs = 1\n",
        root.join(".cache/models").display(),
        root.join("../shared/models").display(),
        root.join(".cache/onnxruntime/libonnxruntime.so").display(),
        dir.join("evidence.key").display(),
    );
    std::fs::write(&file, text).unwrap();
    file
}

/// A node: the real binary serving on `port`.
struct Node {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[allow(clippy::zombie_processes)] // the Node it returns waits for the child when dropped; a node that never comes up panics the test
async fn start_node(config: &std::path::Path, port: u16) -> Node {
    let child = Command::new(env!("CARGO_BIN_EXE_verifier"))
        .current_dir(workspace())
        .args(["--config", config.to_str().unwrap(), "serve"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the verifier starts");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    for _ in 0..600 {
        if let Ok(mut s) = tokio::net::TcpStream::connect(addr).await {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").await;
            let mut out = String::new();
            let _ = s.read_to_string(&mut out).await;
            if out.starts_with("HTTP/1.1 200") {
                return Node { child, addr };
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("node on {port} did not come up");
}

/// One JSON request; the status and body.
async fn call(addr: SocketAddr, method: &str, path: &str, key: &str, body: &str) -> (u16, Value) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nAuthorization: Bearer {key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).await.unwrap();
    s.write_all(body.as_bytes()).await.unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let status = out.split(' ').nth(1).and_then(|c| c.parse().ok()).unwrap_or(0);
    let body = out.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

/// A session on `node` delivering to `hook`, decided by showing a driving licence.
async fn refused_on(node: &Node, key: &str, hook: &str, licence: &[u8]) -> String {
    let body = json!({"purpose": "recipient", "reference": "letter", "callback_url": hook}).to_string();
    let (status, created) = call(node.addr, "POST", "/v1/sessions", key, &body).await;
    assert_eq!(status, 201, "{created}");
    let token = created["capture_url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    let (mut socket, _) =
        tokio_tungstenite::connect_async(format!("ws://{}/v1/capture/{token}", node.addr)).await.unwrap();
    for seq in 0..60u64 {
        let meta = json!({"type": "frame", "seq": seq, "captured_at_ms": seq * 150}).to_string();
        if socket.send(Message::text(meta)).await.is_err()
            || socket.send(Message::binary(verifier::cli::loadtest::camera(licence, seq))).await.is_err()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
        let mut done = false;
        while let Ok(Some(Ok(m))) = tokio::time::timeout(Duration::from_millis(1), socket.next()).await {
            done |= matches!(m, Message::Text(t) if t.as_str().contains("\"result\""));
        }
        if done {
            break;
        }
    }
    created["id"].as_str().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_killed_mid_delivery_loses_no_decision() {
    if !models_ready() {
        return;
    }
    let Some(url) = postgres_database("nodes").await else { return };
    let dir = scratch("nodes");
    let (port_a, port_b) = (free_port(), free_port());
    let (config_a, config_b) = (node_config(&dir, "a", &url, port_a), node_config(&dir, "b", &url, port_b));
    let out = Command::new(env!("CARGO_BIN_EXE_verifier"))
        .current_dir(workspace())
        .args(["--config", config_a.to_str().unwrap(), "clients", "add", "letters"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let client: Value = serde_json::from_slice(&out.stdout).unwrap();
    let (key, secret) =
        (client["api_key"].as_str().unwrap().to_owned(), client["webhook_secret"].as_str().unwrap().to_owned());

    // A slow receiver: each delivery takes 1.5 s to acknowledge, so the node is killed while
    // its deliveries are in flight.
    let receiver = Receiver::start(200, Duration::from_millis(1500)).await;
    let hook = receiver.url();
    let licence = document_frame(datasets_synthetic::Layout::EuDrivingLicence, 5);
    let a = start_node(&config_a, port_a).await;
    let b = start_node(&config_b, port_b).await;
    let mut sessions = Vec::new();
    for _ in 0..2 {
        sessions.push(refused_on(&b, &key, &hook, &licence).await);
    }
    for _ in 0..4 {
        sessions.push(refused_on(&a, &key, &hook, &licence).await);
    }
    // A session decided on node A is answered by node B.
    let (status, v) = call(b.addr, "GET", &format!("/v1/sessions/{}", sessions[5]), &key, "").await;
    assert_eq!((status, v["status"].as_str()), (200, Some("decided")), "{v}");
    // kill -9 node A while its last deliveries are in flight at the receiver.
    let mut a = a;
    a.child.kill().unwrap();
    a.child.wait().unwrap();
    let decided_on_b = |id: &str| {
        let id = id.to_owned();
        let key = key.clone();
        let addr = b.addr;
        async move {
            call(addr, "GET", &format!("/v1/sessions/{id}"), &key, "").await.1["delivery"]["status"] == "delivered"
        }
    };
    let mut all = false;
    for _ in 0..300 {
        let mut ok = true;
        for id in &sessions {
            ok &= decided_on_b(id).await;
        }
        if ok {
            all = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    if !all {
        let mut states = Vec::new();
        for id in &sessions {
            states.push(call(b.addr, "GET", &format!("/v1/sessions/{id}"), &key, "").await.1);
        }
        panic!("not every delivery is recorded delivered by the surviving node: {states:?}");
    }
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64;
    let mut ids: HashMap<String, Vec<String>> = HashMap::new();
    for r in receiver.received() {
        assert_eq!(verify(&secret, &r.timestamp, &r.signature, &r.body, now, 300), Ok(()));
        let v: Value = serde_json::from_slice(&r.body).unwrap();
        ids.entry(v["id"].as_str().unwrap().to_owned()).or_default().push(r.delivery_id.clone());
    }
    for id in &sessions {
        let seen = ids.get(id).unwrap_or_else(|| panic!("{id} never reached the receiver"));
        assert!(seen.iter().all(|d| d == &seen[0]), "one delivery id per decision: {seen:?}");
    }
    eprintln!(
        "deliveries received: {}, for {} decisions (the extra ones are the killed node's, sent again)",
        ids.values().map(Vec::len).sum::<usize>(),
        sessions.len()
    );
}
