//! The API's contract against the real server and a real database (a SQLite file, and a
//! PostgreSQL server when one is given): the OpenAPI document describes exactly the routes the
//! server answers, and the bodies it sends; an idempotency key makes `POST /v1/sessions` safe to
//! retry, racing retries included; refused requests (wrong keys, another client's resources,
//! oversized, malformed and SQL-looking bodies) change nothing stored.

use std::net::SocketAddr;

use serde_json::{Value, json};
use verifier_e2e::live::{start, start_on};
use verifier_e2e::{Response, check_schema, models_ready, postgres_database, request, stored};

/// The routes the API promises (issues 11 and 13), with their methods.
const DESCRIBED: [(&str, &str); 11] = [
    ("delete", "/v1/sessions/{id}/evidence"),
    ("get", "/healthz"),
    ("get", "/metrics"),
    ("get", "/openapi.json"),
    ("get", "/readyz"),
    ("get", "/v1/capture/{token}"),
    ("get", "/v1/deliveries"),
    ("get", "/v1/sessions/{id}"),
    ("get", "/v1/sessions/{id}/evidence/{kind}"),
    ("post", "/v1/deliveries/{id}/retry"),
    ("post", "/v1/sessions"),
];

const METHODS: [&str; 5] = ["get", "post", "put", "delete", "patch"];

fn json_of(r: &Response) -> Value {
    serde_json::from_str(&r.body).unwrap_or(Value::Null)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_openapi_document_describes_the_routes_the_server_answers_and_the_bodies_it_sends() {
    if !models_ready() {
        return;
    }
    let server = start("openapi", "").await;
    let key = server.client("letters").await;
    let auth = format!("Authorization: Bearer {key}");
    let doc = server.openapi().await;
    assert!(doc["openapi"].as_str().is_some_and(|v| v.starts_with("3.1.")), "{}", doc["openapi"]);
    assert!(doc["components"]["securitySchemes"]["api_key"]["scheme"] == "bearer", "the API key scheme");

    let paths = doc["paths"].as_object().expect("paths");
    let mut described: Vec<(&str, &str)> = paths
        .iter()
        .flat_map(|(path, item)| METHODS.iter().filter(|m| item.get(**m).is_some()).map(move |m| (*m, path.as_str())))
        .collect();
    described.sort_unstable();
    assert_eq!(described, DESCRIBED, "the document's routes are the API's");

    // Every described route answers (not "no route", not 405); every other method on its path is
    // 405: what the document says is what the router serves.
    let (session, _) = server.session(&key, "Dupont").await;
    for (path, item) in paths {
        let concrete = path.replace("{id}", &session).replace("{kind}", "document").replace("{token}", &"0".repeat(64));
        for method in METHODS {
            let body = if method == "post" { r#"{"purpose":"recipient"}"# } else { "" };
            let r = request(
                server.addr,
                &method.to_uppercase(),
                &concrete,
                &[&auth, "Content-Type: application/json"],
                body.as_bytes(),
            )
            .await;
            if item.get(method).is_some() {
                assert!(
                    r.status != 405 && json_of(&r)["code"] != "no_route",
                    "{method} {path} is described but answers {} {}",
                    r.status,
                    r.body
                );
                let answered = r.status.to_string();
                assert!(
                    item[method]["responses"].get(&answered).is_some(),
                    "{method} {path} answered {answered}, which its description does not list"
                );
            } else {
                assert_eq!(r.status, 405, "{method} {path} is not described but answers {}", r.body);
            }
        }
    }
    let r = request(server.addr, "GET", "/v1/nothing-here", &[&auth], b"").await;
    assert_eq!((r.status, json_of(&r)["code"].as_str()), (404, Some("no_route")));

    // The bodies the server sends match their schemas, field by field.
    let (status, created) = server.call("POST", "/v1/sessions", Some(&key), r#"{"purpose":"recipient"}"#).await;
    assert_eq!(status, 201);
    check_schema(&doc, "CreatedSession", &created).unwrap();
    let (_, got) = server.call("GET", &format!("/v1/sessions/{session}"), Some(&key), "").await;
    check_schema(&doc, "Session", &got).unwrap();
    let (_, listing) = server.call("GET", "/v1/deliveries?status=pending", Some(&key), "").await;
    check_schema(&doc, "DeliveryList", &listing).unwrap();
    let (_, ready) = server.call("GET", "/readyz", None, "").await;
    check_schema(&doc, "Readiness", &ready).unwrap();
    for (method, path, key, body) in [
        ("GET", format!("/v1/sessions/{session}"), None, ""),
        ("GET", "/v1/sessions/se_none".to_owned(), Some(key.as_str()), ""),
        ("POST", "/v1/sessions".to_owned(), Some(key.as_str()), r#"{"purpose":"x"}"#),
        ("DELETE", format!("/v1/sessions/{session}/evidence"), Some(key.as_str()), ""),
    ] {
        let (status, problem) = server.call(method, &path, key, body).await;
        assert!(status >= 400, "{method} {path}: {status}");
        check_schema(&doc, "Problem", &problem).unwrap();
    }
    // A body with a field the schema lacks fails the check (the check can fail).
    assert!(
        check_schema(&doc, "CreatedSession", &json!({"id": "x", "capture_url": "u", "expires_at": "t", "more": 1}))
            .is_err()
    );
    assert!(check_schema(&doc, "CreatedSession", &json!({"id": "x"})).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_key_returns_the_same_session_on_sqlite() {
    if models_ready() {
        idempotency(None).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_key_returns_the_same_session_on_postgres() {
    if models_ready()
        && let Some(url) = postgres_database("idempotency").await
    {
        idempotency(Some(&url)).await;
    }
}

async fn create(addr: SocketAddr, key: &str, idempotency: Option<&str>, body: &str) -> Response {
    let auth = format!("Authorization: Bearer {key}");
    let idem = idempotency.map(|k| format!("Idempotency-Key: {k}"));
    let mut headers = vec![auth.as_str(), "Content-Type: application/json"];
    headers.extend(idem.as_deref());
    request(addr, "POST", "/v1/sessions", &headers, body.as_bytes()).await
}

fn replayed(r: &Response) -> bool {
    r.head.to_ascii_lowercase().contains("idempotent-replayed: true")
}

async fn idempotency(db: Option<&str>) {
    let server = start_on("idempotency", "", db).await;
    let (a, b) = (server.client("letters-a").await, server.client("letters-b").await);
    let body =
        r#"{"purpose":"recipient","reference":"L-42","expected_identity":{"surname":"Dupont","given_names":"Jean"}}"#;
    let first = create(server.addr, &a, Some("letter-42/attempt-1"), body).await;
    assert_eq!(first.status, 201, "{}", first.body);
    assert!(!replayed(&first), "{}", first.head);
    // A retry, and the same request written another way: the first answer, link included.
    let spaced = r#"{ "expected_identity": {"given_names": "Jean", "surname": "Dupont"}, "reference": "L-42", "purpose": "recipient" }"#;
    for retry in [body, spaced] {
        let again = create(server.addr, &a, Some("letter-42/attempt-1"), retry).await;
        assert_eq!(again.status, 201, "{}", again.body);
        assert!(replayed(&again), "{}", again.head);
        assert_eq!(json_of(&again), json_of(&first));
    }
    // The key with another request is refused; another client's key space is its own; no key,
    // no idempotency.
    let other = body.replace("L-42", "L-43");
    let conflict = create(server.addr, &a, Some("letter-42/attempt-1"), &other).await;
    assert_eq!((conflict.status, json_of(&conflict)["code"].as_str()), (422, Some("idempotency_conflict")));
    let theirs = create(server.addr, &b, Some("letter-42/attempt-1"), body).await;
    assert_eq!(theirs.status, 201);
    assert!(!replayed(&theirs));
    assert_ne!(json_of(&theirs)["id"], json_of(&first)["id"]);
    let (x, y) = (create(server.addr, &a, None, body).await, create(server.addr, &a, None, body).await);
    assert_ne!(json_of(&x)["id"], json_of(&y)["id"]);
    for bad in ["a b", &"k".repeat(256), "é"] {
        let r = create(server.addr, &a, Some(bad), body).await;
        assert_eq!((r.status, json_of(&r)["field"].as_str()), (422, Some("Idempotency-Key")), "{bad}");
    }
    // Eight retries racing with one new key create one session, and all get it.
    let before = stored(&server.config.database.url).await;
    let racing: Vec<_> = (0..8)
        .map(|_| {
            let (addr, key) = (server.addr, a.clone());
            tokio::spawn(async move { create(addr, &key, Some("race-1"), body).await })
        })
        .collect();
    let mut ids = Vec::new();
    for call in racing {
        let r = call.await.unwrap();
        assert_eq!(r.status, 201, "{}", r.body);
        ids.push(json_of(&r)["id"].as_str().unwrap().to_owned());
    }
    ids.dedup();
    assert_eq!(ids.len(), 1, "one session for one key: {ids:?}");
    let after = stored(&server.config.database.url).await;
    let new: Vec<&String> = after.iter().filter(|r| !before.contains(r)).collect();
    assert_eq!(new.iter().filter(|r| r.starts_with("sessions|")).count(), 1, "{new:?}");
    assert_eq!(new.iter().filter(|r| r.starts_with("idempotency_keys|")).count(), 1, "{new:?}");
    // The stored answer is sealed: the capture link is not in the database in clear.
    let token = json_of(&first)["capture_url"].as_str().unwrap().rsplit('/').next().unwrap().to_owned();
    assert!(!after.iter().any(|r| r.contains(&token)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_requests_change_nothing_stored_on_sqlite() {
    if models_ready() {
        refused(None).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_requests_change_nothing_stored_on_postgres() {
    if models_ready()
        && let Some(url) = postgres_database("refused").await
    {
        refused(Some(&url)).await;
    }
}

async fn refused(db: Option<&str>) {
    let server = start_on("refused", "", db).await;
    let (a, b) = (server.client("letters-a").await, server.client("letters-b").await);
    let (session, _) = server.session(&a, "Dupont").await;
    let ok = create(server.addr, &a, Some("k-1"), r#"{"purpose":"recipient"}"#).await;
    assert_eq!(ok.status, 201);
    let before = stored(&server.config.database.url).await;
    assert!(before.iter().any(|r| r.starts_with("sessions|")), "{before:?}");

    let big = format!(r#"{{"purpose":"recipient","reference":"{}"}}"#, "x".repeat(70_000));
    let sql = r#"{"purpose":"recipient'; DELETE FROM sessions;--","reference":"x"}"#;
    let sql_name =
        r#"{"purpose":"recipient","expected_identity":{"surname":"x","birth_date":"1980-01-01' OR '1'='1"}}"#;
    let cases: Vec<(&str, String, Option<&str>, String, u16)> = vec![
        ("POST", "/v1/sessions".into(), None, r#"{"purpose":"recipient"}"#.into(), 401),
        ("POST", "/v1/sessions".into(), Some("vk_wrong"), r#"{"purpose":"recipient"}"#.into(), 401),
        ("POST", "/v1/sessions".into(), Some("' OR 1=1 --"), r#"{"purpose":"recipient"}"#.into(), 401),
        ("POST", "/v1/sessions".into(), Some(&a), big, 413),
        ("POST", "/v1/sessions".into(), Some(&a), "{\"purpose\":".into(), 400),
        ("POST", "/v1/sessions".into(), Some(&a), "[1,2]".into(), 400),
        ("POST", "/v1/sessions".into(), Some(&a), sql.into(), 422),
        ("POST", "/v1/sessions".into(), Some(&a), sql_name.into(), 422),
        (
            "POST",
            "/v1/sessions".into(),
            Some(&a),
            r#"{"purpose":"recipient","callback_url":"http://evil.example/"}"#.into(),
            422,
        ),
        ("GET", format!("/v1/sessions/{session}"), Some(&b), String::new(), 404),
        ("GET", "/v1/sessions/x'%20OR%20'1'='1".into(), Some(&a), String::new(), 404),
        ("DELETE", format!("/v1/sessions/{session}/evidence"), Some(&b), String::new(), 404),
        ("DELETE", format!("/v1/sessions/{session}/evidence"), Some(&a), String::new(), 409),
        ("DELETE", format!("/v1/sessions/{session}/evidence"), None, String::new(), 401),
        ("POST", "/v1/deliveries/dl_none/retry".into(), Some(&a), String::new(), 404),
        ("GET", "/v1/deliveries?status=dead'--".into(), Some(&a), String::new(), 422),
        ("PUT", format!("/v1/sessions/{session}"), Some(&a), "{}".into(), 405),
    ];
    for (method, path, key, body, expect) in &cases {
        let (status, problem) = server.call(method, path, *key, body).await;
        assert_eq!(status, *expect, "{method} {path} {}: {problem}", &body[..body.len().min(80)]);
        assert!(problem["type"].as_str().is_some_and(|t| t.starts_with("urn:verifier:problem:")), "{problem}");
    }
    // The same key with another body is refused too, and stores nothing.
    let conflict = create(server.addr, &a, Some("k-1"), r#"{"purpose":"sender_onboarding"}"#).await;
    assert_eq!(conflict.status, 422);
    assert_eq!(stored(&server.config.database.url).await, before, "a refused request changed what is stored");
}
