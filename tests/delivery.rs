//! Signed result delivery against the real server, a real database (a SQLite file, and a
//! PostgreSQL server when one is given) and a real receiver on a socket: a decision arrives
//! signed and verifies with the documented receiver check (and a tampered body, a stale
//! timestamp or a wrong secret do not); a receiver that is down for a while still gets every
//! decision, each under one delivery id; a dead letter is listed and retried; a rotating secret
//! signs with both; the audit log keeps every step and refuses to be rewritten.

use std::collections::HashMap;
use std::time::Duration;

use futures_util::SinkExt;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use verifier::cli::loadtest::camera;
use verifier::delivery::signature::{VerifyError, verify};
use verifier_e2e::live::{Server, frame_of, start_on, until};
use verifier_e2e::receiver::{Received, Receiver};
use verifier_e2e::{models_ready, postgres_database};

/// Creates a session delivering to `url`, shows it a driving licence and returns the session id
/// once the result is in (rejected at once: a decision in a few frames).
async fn refused_session(server: &Server, key: &str, url: &str, seed: u64) -> String {
    let body = json!({"purpose": "recipient", "reference": format!("letter-{seed}"), "callback_url": url});
    let (id, token) = server.session_with(key, body).await;
    let licence = frame_of(datasets_synthetic::Layout::EuDrivingLicence, seed);
    let mut socket = server.connect(&token).await;
    until(&mut socket, "ready").await.expect("ready");
    let sender = async {
        for seq in 0..60u64 {
            let meta = json!({"type": "frame", "seq": seq, "captured_at_ms": seq * 150}).to_string();
            if socket.send(Message::text(meta)).await.is_err()
                || socket.send(Message::binary(camera(&licence, seq))).await.is_err()
            {
                break;
            }
            tokio::time::sleep(Duration::from_millis(150)).await;
            if let Ok(Ok(v)) = tokio::time::timeout(Duration::from_millis(5), until(&mut socket, "result")).await {
                return v;
            }
        }
        until(&mut socket, "result").await.expect("a result")
    };
    let result = sender.await;
    assert_eq!(result["outcome"], "rejected", "{result}");
    id
}

/// Waits until `done` holds for the receiver's requests, at most `secs`.
async fn wait_for(receiver: &Receiver, secs: u64, done: impl Fn(&[Received]) -> bool) -> Vec<Received> {
    for _ in 0..secs * 10 {
        let got = receiver.received();
        if done(&got) {
            return got;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the receiver did not get what was expected within {secs} s: {:?}", receiver.received());
}

async fn delivered(server: &Server, key: &str, id: &str) -> bool {
    server.call("GET", &format!("/v1/sessions/{id}"), Some(key), "").await.1["delivery"]["status"] == "delivered"
}

fn now() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

const FAST: &str =
    "[delivery]\npoll_ms = 50\nbackoff_base_ms = 200\nbackoff_max_secs = 1\ntimeout_ms = 2000\nlease_secs = 5\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_is_delivered_signed_and_only_the_genuine_delivery_verifies_on_sqlite() {
    if models_ready() {
        signed(None).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_decision_is_delivered_signed_and_only_the_genuine_delivery_verifies_on_postgres() {
    if models_ready()
        && let Some(url) = postgres_database("signed").await
    {
        signed(Some(&url)).await;
    }
}

async fn signed(db: Option<&str>) {
    let receiver = Receiver::start(200, Duration::ZERO).await;
    let server = start_on("delivery-signed", FAST, db).await;
    let (key, secret) = server.client_and_secret("letters").await;
    let id = refused_session(&server, &key, &receiver.url(), 5).await;
    let got = wait_for(&receiver, 10, |g| !g.is_empty()).await;
    let r = &got[0];
    assert!(r.delivery_id.starts_with("dl_"), "{r:?}");
    assert_eq!(verify(&secret, &r.timestamp, &r.signature, &r.body, now(), 300), Ok(()));
    let body: Value = serde_json::from_slice(&r.body).expect("the body is JSON");
    assert_eq!((body["id"].as_str(), body["status"].as_str()), (Some(id.as_str()), Some("decided")));
    assert_eq!(body["decision"]["outcome"], "rejected");
    assert!(body["decision"]["reasons"].as_array().unwrap().contains(&json!("document.driving_licence_refused")));
    assert!(body["decision"]["evidence"].is_array() && body["decision"]["model_versions"].is_object(), "{body}");
    // What the documented receiver refuses.
    let mut tampered = r.body.to_vec();
    let at = tampered.iter().position(|&b| b == b'r').unwrap();
    tampered[at] = b'R';
    assert_eq!(verify(&secret, &r.timestamp, &r.signature, &tampered, now(), 300), Err(VerifyError::Mismatch));
    assert_eq!(verify(&secret, &r.timestamp, &r.signature, &r.body, now() + 3600, 300), Err(VerifyError::Stale));
    assert_eq!(
        verify("whsec_not_this_one", &r.timestamp, &r.signature, &r.body, now(), 300),
        Err(VerifyError::Mismatch)
    );
    // The API says it was delivered, under the same id.
    let (status, v) = server.call("GET", &format!("/v1/sessions/{id}"), Some(&key), "").await;
    assert_eq!(status, 200);
    assert_eq!(
        (v["delivery"]["id"].as_str(), v["delivery"]["status"].as_str()),
        (Some(r.delivery_id.as_str()), Some("delivered")),
        "{v}"
    );
    // A session without a callback URL has no delivery.
    let (plain, _) = server.session(&key, "Dupont").await;
    let (_, v) = server.call("GET", &format!("/v1/sessions/{plain}"), Some(&key), "").await;
    assert!(v["delivery"].is_null(), "{v}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_down_for_a_while_still_gets_every_decision_under_one_id_each_on_sqlite() {
    if models_ready() {
        receiver_down(None).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_down_for_a_while_still_gets_every_decision_under_one_id_each_on_postgres() {
    if models_ready()
        && let Some(url) = postgres_database("receiver_down").await
    {
        receiver_down(Some(&url)).await;
    }
}

async fn receiver_down(db: Option<&str>) {
    let receiver = Receiver::start(503, Duration::ZERO).await;
    let server = start_on("delivery-down", FAST, db).await;
    let (key, secret) = server.client_and_secret("letters").await;
    let mut sessions = Vec::new();
    for seed in [11, 12, 13] {
        sessions.push(refused_session(&server, &key, &receiver.url(), seed).await);
    }
    // Refused while the receiver is down: each tried, then again later (backoff).
    let attempts_of = |g: &[Received], id: &str| {
        g.iter().filter(|r| serde_json::from_slice::<Value>(&r.body).is_ok_and(|b| b["id"] == id)).count()
    };
    wait_for(&receiver, 15, |g| sessions.iter().all(|id| attempts_of(g, id) >= 2)).await;
    for id in &sessions {
        let (_, v) = server.call("GET", &format!("/v1/sessions/{id}"), Some(&key), "").await;
        assert_eq!(
            (v["delivery"]["status"].as_str(), v["delivery"]["last_status"].as_i64()),
            (Some("pending"), Some(503)),
            "{v}"
        );
    }
    receiver.answer(200);
    for _ in 0..100 {
        let mut all = true;
        for id in &sessions {
            all &= delivered(&server, &key, id).await;
        }
        if all {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Every session arrived, every attempt of one session under one delivery id, validly signed.
    let mut ids: HashMap<String, Vec<String>> = HashMap::new();
    for r in receiver.received() {
        assert_eq!(verify(&secret, &r.timestamp, &r.signature, &r.body, now(), 300), Ok(()));
        let body: Value = serde_json::from_slice(&r.body).unwrap();
        ids.entry(body["id"].as_str().unwrap().to_owned()).or_default().push(r.delivery_id.clone());
    }
    for id in &sessions {
        let seen = ids.get(id).unwrap_or_else(|| panic!("{id} never arrived"));
        assert!(seen.len() >= 3 && seen.iter().all(|d| d == &seen[0]), "{id}: {seen:?}");
        assert!(delivered(&server, &key, id).await, "{id} is delivered");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_is_listed_retried_and_signed_with_both_secrets_while_one_rotates_on_sqlite() {
    if models_ready() {
        dead_letter(None).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_letter_is_listed_retried_and_signed_with_both_secrets_while_one_rotates_on_postgres() {
    if models_ready()
        && let Some(url) = postgres_database("dead_letter").await
    {
        dead_letter(Some(&url)).await;
    }
}

async fn dead_letter(db: Option<&str>) {
    let receiver = Receiver::start(500, Duration::ZERO).await;
    let server = start_on("delivery-dead", &format!("{FAST}max_age_secs = 1\n"), db).await;
    let (key, old_secret) = server.client_and_secret("letters").await;
    let other = server.client("other-letters").await;
    let id = refused_session(&server, &key, &receiver.url(), 21).await;
    // Failing past its maximum age, the delivery is dead-lettered and listed as such.
    let mut delivery = Value::Null;
    for _ in 0..100 {
        delivery = server.call("GET", &format!("/v1/sessions/{id}"), Some(&key), "").await.1["delivery"].clone();
        if delivery["status"] == "dead" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        (delivery["status"].as_str(), delivery["last_status"].as_i64()),
        (Some("dead"), Some(500)),
        "{delivery}"
    );
    let delivery_id = delivery["id"].as_str().unwrap().to_owned();
    let (status, listed) = server.call("GET", "/v1/deliveries?status=dead", Some(&key), "").await;
    assert_eq!(status, 200);
    assert_eq!(listed["deliveries"][0]["session_id"], id.as_str(), "{listed}");
    let (_, theirs) = server.call("GET", "/v1/deliveries?status=dead", Some(&other), "").await;
    assert_eq!(theirs["deliveries"].as_array().map(Vec::len), Some(0), "another client sees none");
    let (status, v) = server.call("GET", "/v1/deliveries?status=lost", Some(&key), "").await;
    assert_eq!((status, v["field"].as_str()), (422, Some("status")));

    // The secret rotates: the new one and, during its grace period, the old one both sign.
    let store = verifier::store::Store::open(&server.config.database).await.unwrap();
    let (_, new_secret, _) =
        verifier::cli::clients::rotate_secret(&store, "letters", Duration::from_secs(3600)).await.unwrap();
    assert_ne!(new_secret, old_secret);
    receiver.answer(200);
    let retry = format!("/v1/deliveries/{delivery_id}/retry");
    assert_eq!(server.call("POST", &retry, Some(&other), "").await.0, 404, "not another client's to retry");
    assert_eq!(server.call("POST", &retry, Some(&key), "").await.0, 202);
    for _ in 0..100 {
        if delivered(&server, &key, &id).await {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(delivered(&server, &key, &id).await);
    let last = receiver.received().pop().unwrap();
    assert_eq!(last.delivery_id, delivery_id, "the retry keeps the delivery's id");
    assert_eq!(last.signature.matches("v1=").count(), 2, "{}", last.signature);
    assert_eq!(verify(&new_secret, &last.timestamp, &last.signature, &last.body, now(), 300), Ok(()));
    assert_eq!(verify(&old_secret, &last.timestamp, &last.signature, &last.body, now(), 300), Ok(()));
    assert_eq!(server.call("POST", &retry, Some(&key), "").await.0, 409, "a delivered one is not retried");
    // The audit log kept every step, in order, and refuses to be rewritten.
    let events: Vec<String> = store.audit_of_session(&id).await.unwrap().into_iter().map(|e| e.0).collect();
    assert_eq!(events, ["session.decided", "delivery.dead", "delivery.retried", "delivery.delivered"]);
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&server.config.database.url).await.unwrap();
    assert!(sqlx::query("DELETE FROM audit_log").execute(&pool).await.is_err(), "append-only");
    assert!(sqlx::query("UPDATE audit_log SET event = 'x'").execute(&pool).await.is_err(), "append-only");
}
