//! The sessions API and the capture WebSocket against the real server, a real SQLite file and
//! the real models: API keys, ownership, validation, a document refused end to end, and every
//! kind of bad input a client can send, none of which breaks a session or a stored decision.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use verifier::cli::loadtest::camera;
use verifier_e2e::live::{frame_of, next, start, until};
use verifier_e2e::{models_ready, request, shared_faces};

/// The offset of a JPEG's SOF0 marker, walking its segments.
fn start_of_frame(jpeg: &[u8]) -> usize {
    let mut at = 2;
    while at + 4 <= jpeg.len() {
        assert_eq!(jpeg[at], 0xFF, "a marker at {at}");
        if jpeg[at + 1] == 0xC0 {
            return at;
        }
        at += 2 + usize::from(u16::from_be_bytes([jpeg[at + 2], jpeg[at + 3]]));
    }
    panic!("no SOF0 segment");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_keys_ownership_and_validation() {
    if !models_ready() {
        return;
    }
    let server = start("api", "").await;
    let (a, b) = (server.client("letters-a").await, server.client("letters-b").await);
    let body = r#"{"purpose":"recipient","reference":"r","expected_identity":{"surname":"Dupont"}}"#;
    assert_eq!(server.call("POST", "/v1/sessions", None, body).await.0, 401);
    assert_eq!(server.call("POST", "/v1/sessions", Some("vk_wrong"), body).await.0, 401);
    let (status, v) = server.call("POST", "/v1/sessions", Some(&a), r#"{"purpose":"x"}"#).await;
    assert_eq!((status, v["field"].as_str()), (422, Some("purpose")));
    let (status, v) = server.call("POST", "/v1/sessions", Some(&a), "{not json").await;
    assert_eq!((status, v["code"].as_str()), (400, Some("malformed")));
    let sneaky = r#"{"purpose":"recipient","reference":"x'); DROP TABLE sessions;--","expected_identity":{"surname":"O'Brien"}}"#;
    let (status, created) = server.call("POST", "/v1/sessions", Some(&a), sneaky).await;
    assert_eq!(status, 201);
    let id = created["id"].as_str().unwrap();
    let (status, v) = server.call("GET", &format!("/v1/sessions/{id}"), Some(&a), "").await;
    assert_eq!(
        (status, v["status"].as_str(), v["reference"].as_str()),
        (200, Some("created"), Some("x'); DROP TABLE sessions;--"))
    );
    assert!(v["decision"].is_null());
    // Another client's session does not exist for it.
    assert_eq!(server.call("GET", &format!("/v1/sessions/{id}"), Some(&b), "").await.0, 404);
    assert_eq!(server.call("GET", "/v1/sessions/se_nothing", Some(&a), "").await.0, 404);
    // The demo creates sessions without a key; the page is served.
    let (status, _) = server.call("POST", "/demo/sessions", None, body).await;
    assert_eq!(status, 201);
    assert_eq!(request(server.addr, "GET", "/demo", &[], b"").await.status, 200);
    let off = start("api-demo-off", "[demo]\nenabled = false\n").await;
    assert_eq!(off.call("POST", "/demo/sessions", None, body).await.0, 404);
    assert_eq!(request(off.addr, "GET", "/demo", &[], b"").await.status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_driving_licence_is_refused_and_the_decision_stays() {
    if !models_ready() {
        return;
    }
    let server = start("licence", "").await;
    let key = server.client("letters").await;
    let (id, token) = server.session(&key, "Dupont").await;
    let licence = frame_of(datasets_synthetic::Layout::EuDrivingLicence, 5);
    let mut socket = server.connect(&token).await;
    socket.send(Message::text(r#"{"type":"hello","lang":"fr"}"#)).await.unwrap();
    let ready = until(&mut socket, "ready").await.expect("ready");
    assert_eq!(ready["session_id"], id.as_str());
    let first = until(&mut socket, "instruction").await.expect("an instruction");
    assert_eq!((first["step"].as_str(), first["camera"].as_str()), (Some("document"), Some("environment")));
    let mut result = None;
    for seq in 0..40u64 {
        socket
            .send(Message::text(json!({"type": "frame", "seq": seq, "captured_at_ms": seq * 150}).to_string()))
            .await
            .unwrap();
        socket.send(Message::binary(camera(&licence, seq))).await.unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
        // Only text messages are read here: the close frame that follows the result is left for
        // the check below.
        while let Ok(Some(Ok(Message::Text(t)))) = tokio::time::timeout(Duration::from_millis(1), socket.next()).await {
            let v: Value = serde_json::from_str(t.as_str()).unwrap();
            if v["type"] == "result" {
                result = Some(v);
                break;
            }
        }
        if result.is_some() {
            break;
        }
    }
    let result = match result {
        Some(r) => r,
        None => until(&mut socket, "result").await.expect("a result"),
    };
    assert_eq!(result["outcome"], "rejected");
    assert_eq!(result["reasons"], json!(["document.driving_licence_refused"]));
    assert_eq!(until(&mut socket, "never").await, Err(1000), "closed after the result");
    let (status, v) = server.call("GET", &format!("/v1/sessions/{id}"), Some(&key), "").await;
    assert_eq!(status, 200);
    assert_eq!(v["status"], "decided");
    let decision = &v["decision"];
    assert_eq!(decision["outcome"], "rejected");
    assert_eq!(decision["identity"]["document_kind"], "driving_licence");
    assert!(decision["model_versions"].as_object().is_some_and(|m| !m.is_empty()));
    assert!(decision["frames_sha256"].as_array().is_some_and(|f| !f.is_empty()));
    // A decided session's body, identity and scores included, is what /openapi.json describes.
    verifier_e2e::check_schema(&server.openapi().await, "Session", &v).unwrap();
    // The link is dead now, and nothing sent to it changes the decision.
    let mut again = server.connect(&token).await;
    assert_eq!(until(&mut again, "ready").await, Err(4410));
    let (_, after) = server.call("GET", &format!("/v1/sessions/{id}"), Some(&key), "").await;
    assert_eq!(after["decision"], *decision);

    // The document crop is kept sealed: not a JPEG in the database, the JPEG through the API,
    // with the hash the decision cites.
    let evidence = decision["evidence"].as_array().expect("evidence hashes").clone();
    let document = evidence.iter().find(|e| e["kind"] == "document").expect("a document crop");
    let pool = sqlx::SqlitePool::connect(&server.config.database.url).await.unwrap();
    let (raw, key_id): (Vec<u8>, Option<String>) =
        sqlx::query_as("SELECT bytes, key_id FROM evidence WHERE session_id = ? AND kind = 'document'")
            .bind(&id)
            .fetch_one(&pool)
            .await
            .unwrap();
    assert!(key_id.is_some() && !raw.starts_with(&[0xFF, 0xD8]), "sealed at rest");
    let auth = format!("Authorization: Bearer {key}");
    let crop = request(server.addr, "GET", &format!("/v1/sessions/{id}/evidence/document"), &[&auth], b"").await;
    assert_eq!(crop.status, 200);
    assert!(crop.head.to_ascii_lowercase().contains("content-type: image/jpeg"), "{}", crop.head);
    let other = server.client("other-letters").await;
    assert_eq!(server.call("DELETE", &format!("/v1/sessions/{id}/evidence"), Some(&other), "").await.0, 404);
    // The subject's crops are purged at once; the decision and its hashes stay, and the purge
    // is in the audit log.
    let (status, purged) = server.call("DELETE", &format!("/v1/sessions/{id}/evidence"), Some(&key), "").await;
    assert_eq!((status, purged["purged"].as_u64()), (200, Some(evidence.len() as u64)), "{purged}");
    assert_eq!(server.call("GET", &format!("/v1/sessions/{id}/evidence/document"), Some(&key), "").await.0, 404);
    let (_, after) = server.call("GET", &format!("/v1/sessions/{id}"), Some(&key), "").await;
    assert_eq!(after["decision"]["evidence"][0]["sha256"], evidence[0]["sha256"]);
    assert!(after["evidence_purged_at"].is_string(), "{after}");
    assert!(document["sha256"].is_string());
    let store = verifier::store::Store::open(&server.config.database).await.unwrap();
    let events: Vec<String> = store.audit_of_session(&id).await.unwrap().into_iter().map(|e| e.0).collect();
    assert_eq!(events, ["session.decided", "evidence.purged"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn evidence_past_its_retention_is_purged_and_the_decision_stays() {
    if !models_ready() {
        return;
    }
    let server = start("retention", "").await;
    let key = server.client("letters").await;
    let (id, token) = server.session(&key, "Dupont").await;
    let licence = frame_of(datasets_synthetic::Layout::EuDrivingLicence, 6);
    let mut socket = server.connect(&token).await;
    for seq in 0..40u64 {
        let meta = json!({"type": "frame", "seq": seq, "captured_at_ms": seq * 150}).to_string();
        if socket.send(Message::text(meta)).await.is_err()
            || socket.send(Message::binary(camera(&licence, seq))).await.is_err()
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let (_, v) = server.call("GET", &format!("/v1/sessions/{id}"), Some(&key), "").await;
    assert_eq!(v["status"], "decided", "{v}");
    let store = verifier::store::Store::open(&server.config.database).await.unwrap();
    let now = verifier::capture::record::unix_ms();
    // What the retention job runs: nothing is older than an hour ago; everything is older than now.
    assert_eq!(store.purge_evidence_before(now - 3_600_000, now).await.unwrap(), 0);
    assert_eq!(server.call("GET", &format!("/v1/sessions/{id}/evidence/document"), Some(&key), "").await.0, 200);
    assert_eq!(store.purge_evidence_before(now + 1000, now).await.unwrap(), 1);
    assert_eq!(server.call("GET", &format!("/v1/sessions/{id}/evidence/document"), Some(&key), "").await.0, 404);
    let (_, after) = server.call("GET", &format!("/v1/sessions/{id}"), Some(&key), "").await;
    assert_eq!(after["decision"], v["decision"], "the decision and its hashes stay");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_a_clear_answer_and_the_session_goes_on() {
    if !models_ready() {
        return;
    }
    let server = start("bad-input", "[capture]\nidle_timeout_secs = 2\n").await;
    let key = server.client("letters").await;
    let mut unknown = server.connect(&"0".repeat(64)).await;
    assert_eq!(until(&mut unknown, "ready").await, Err(4404));

    // Rendered before connecting: the connection closes after 2 s of silence.
    let mut huge = frame_of(datasets_synthetic::Layout::Passport, 3);
    let small = frame_of(datasets_synthetic::Layout::Passport, 4);
    let (_, token) = server.session(&key, "Dupont").await;
    let mut socket = server.connect(&token).await;
    until(&mut socket, "instruction").await.expect("an instruction");
    // A second live connection for the same session is refused; the first goes on.
    let mut second = server.connect(&token).await;
    assert_eq!(until(&mut second, "ready").await, Err(4409));

    for (text, code) in [("not json", "message.malformed"), (r#"{"type":"launch"}"#, "message.malformed")] {
        socket.send(Message::text(text)).await.unwrap();
        assert_eq!(until(&mut socket, "error").await.expect("an error")["code"], code);
    }
    socket.send(Message::binary(vec![0xFFu8; 2 * 1024 * 1024 + 1])).await.unwrap();
    assert_eq!(until(&mut socket, "error").await.expect("an error")["code"], "frame.too_large");
    tokio::time::sleep(Duration::from_millis(60)).await;
    socket.send(Message::binary(b"\xFF\xD8 not really a jpeg".to_vec())).await.unwrap();
    assert_eq!(until(&mut socket, "error").await.expect("an error")["code"], "frame.corrupt");
    // A JPEG whose header declares 10000 x 10000 pixels.
    let sof = start_of_frame(&huge);
    huge[sof + 5..sof + 9].copy_from_slice(&[0x27, 0x10, 0x27, 0x10]);
    tokio::time::sleep(Duration::from_millis(60)).await;
    socket.send(Message::binary(huge)).await.unwrap();
    let refused = until(&mut socket, "error").await;
    assert_eq!(refused.as_ref().map(|e| e["code"].clone()), Ok(json!("frame.corrupt")), "{refused:?}");
    // A flood: frames closer than the cap are dropped with one message a second.
    for n in 0..30 {
        socket.send(Message::binary(camera(&small, n))).await.unwrap();
    }
    assert_eq!(until(&mut socket, "error").await.expect("an error")["code"], "frame.too_fast");
    socket.send(Message::text(r#"{"type":"ping","t":42}"#)).await.unwrap();
    assert_eq!(until(&mut socket, "pong").await.expect("a pong")["t"], 42.0);
    // Silence closes the connection (4408); the session resumes on a new one.
    assert_eq!(until(&mut socket, "never").await, Err(4408));
    let mut resumed = server.connect(&token).await;
    until(&mut resumed, "ready").await.expect("ready again");
    let again = until(&mut resumed, "instruction").await.expect("the current instruction again");
    assert_eq!(again["step"], "document");
}

/// A passport frame whose portrait is one of the shared photos.
fn passport_with_photo(faces: &std::path::Path, seed: u64) -> Vec<u8> {
    use datasets_synthetic::{Assets, Fonts, Spec, default_reference_date, document, frame_of, load_faces};
    let photos = load_faces(faces).expect("the shared photos load");
    let assets = Assets::new(Fonts::from_debian_paths().expect("fonts-ocr-b and fonts-dejavu-core"), photos);
    let mut spec = Spec::new(default_reference_date());
    spec.layout = Some(datasets_synthetic::Layout::Passport);
    spec.variants = Some(Vec::new());
    spec.clean = true;
    spec.resolution = Some((1280, 720));
    let doc = document(seed, &assets, &spec).expect("the document renders");
    frame_of(&doc, seed, &spec).expect("the frame renders").jpeg().expect("the frame encodes")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn credits_pace_the_frames_and_a_portrait_held_up_is_no_live_face() {
    if !models_ready() {
        return;
    }
    let Some(faces) = shared_faces() else { return };
    let server = start("credit", "").await;
    let key = server.client("letters").await;
    let (_, token) = server.session(&key, "Dupont").await;
    let passport = passport_with_photo(&faces, 3);
    let mut socket = server.connect(&token).await;
    let ready = until(&mut socket, "ready").await.expect("ready");
    assert_eq!(ready["flow"], "credit");
    // The person keeps holding the passport up when asked for their face: every frame is
    // answered with a credit for the next, the face step is reached, and its frames are told to
    // put the document down instead of being matched (the portrait would match itself).
    let mut steps = Vec::new();
    let mut codes = Vec::new();
    let (mut sent, mut analysed) = (0u64, 0u64);
    while analysed < 24 {
        let v = next(&mut socket).await.expect("an answer").expect("the socket stays open");
        match v["type"].as_str() {
            Some("credit") => {
                assert_eq!(sent, analysed, "a credit only once the last frame is analysed");
                socket
                    .send(Message::text(
                        json!({"type": "frame", "seq": sent, "captured_at_ms": sent * 150}).to_string(),
                    ))
                    .await
                    .unwrap();
                socket.send(Message::binary(camera(&passport, sent))).await.unwrap();
                sent += 1;
            }
            Some("instruction") => steps.push(v["step"].as_str().unwrap_or_default().to_owned()),
            Some("feedback") => {
                assert_eq!(v["seq"], sent - 1, "the feedback is for the frame just sent");
                codes.push(v["code"].as_str().unwrap_or_default().to_owned());
                analysed += 1;
            }
            Some("result") => panic!("decided on a portrait held up: {v}"),
            _ => {}
        }
    }
    assert!(steps.iter().any(|s| s == "face"), "the document step ended: {steps:?}");
    assert!(steps.iter().all(|s| s != "challenge"), "no match on the printed portrait: {steps:?}");
    assert!(codes.iter().any(|c| c == "face.document_in_view"), "{codes:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_looped_recording_is_a_replay() {
    if !models_ready() {
        return;
    }
    let server = start("replay", "").await;
    let key = server.client("letters").await;
    let (id, token) = server.session(&key, "Dupont").await;
    // Three frames played in a loop, byte for byte, with honest capture times.
    let frames: Vec<Vec<u8>> =
        (0..3).map(|i| camera(&frame_of(datasets_synthetic::Layout::Passport, 40 + i), 0)).collect();
    let mut socket = server.connect(&token).await;
    until(&mut socket, "ready").await.expect("ready");
    for n in 0..12u64 {
        match until(&mut socket, "credit").await {
            Ok(_) => {}
            Err(code) => {
                assert_eq!(code, 1000, "closed after a result");
                break;
            }
        }
        socket
            .send(Message::text(json!({"type": "frame", "seq": n, "captured_at_ms": n * 150}).to_string()))
            .await
            .unwrap();
        socket.send(Message::binary(frames[(n % 3) as usize].clone())).await.unwrap();
        tokio::time::sleep(Duration::from_millis(150)).await;
    }
    let (_, v) = server.call("GET", &format!("/v1/sessions/{id}"), Some(&key), "").await;
    assert_eq!(v["status"], "decided", "the loop was decided: {v}");
    let decision = &v["decision"];
    assert_eq!(decision["outcome"], "rejected");
    assert_eq!(decision["reasons"], json!(["liveness.replay_detected"]));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_error_is_a_problem_and_limits_hold_per_client() {
    if !models_ready() {
        return;
    }
    let server = start("problems", "[server]\nclient_rate_per_minute = 60\nclient_burst = 4\n").await;
    let (a, b) = (server.client("letters-a").await, server.client("letters-b").await);
    let problem = |r: &verifier_e2e::Response| -> Value {
        assert!(r.head.to_ascii_lowercase().contains("content-type: application/problem+json"), "{}", r.head);
        serde_json::from_str(&r.body).expect("a problem document")
    };
    let auth = format!("Authorization: Bearer {a}");
    // A body over the limit (64 KiB), refused before it is read, stores nothing.
    let big = format!(r#"{{"purpose":"recipient","reference":"{}"}}"#, "x".repeat(70_000));
    let r =
        request(server.addr, "POST", "/v1/sessions", &[&auth, "Content-Type: application/json"], big.as_bytes()).await;
    assert_eq!((r.status, problem(&r)["type"].as_str()), (413, Some("urn:verifier:problem:too_large")));
    let r = request(server.addr, "PUT", "/v1/sessions", &[&auth], b"{}").await;
    assert_eq!((r.status, problem(&r)["code"].as_str()), (405, Some("method_not_allowed")));
    let r = request(server.addr, "GET", "/v1/nothing-here", &[], b"").await;
    assert_eq!((r.status, problem(&r)["code"].as_str()), (404, Some("no_route")));
    // The burst (refused requests above took no token), then 429 with Retry-After, for this client only.
    let mut statuses = Vec::new();
    for _ in 0..4 {
        statuses.push(request(server.addr, "GET", "/v1/sessions/se_x", &[&auth], b"").await.status);
    }
    assert_eq!(statuses, [404, 404, 404, 404]);
    let r = request(server.addr, "GET", "/v1/sessions/se_x", &[&auth], b"").await;
    assert_eq!((r.status, problem(&r)["code"].as_str()), (429, Some("rate_limited")));
    assert!(r.head.to_ascii_lowercase().contains("retry-after: 1"), "{}", r.head);
    let other = format!("Authorization: Bearer {b}");
    assert_eq!(request(server.addr, "GET", "/v1/sessions/se_x", &[&other], b"").await.status, 404);
}
