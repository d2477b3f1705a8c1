//! The real server on a real socket and a real SQLite file: health, readiness, metrics, errors,
//! migrations on restart, graceful shutdown.

use std::time::Duration;

use verifier_e2e::{config, get, models_ready, scratch};

async fn count_model_loads(db: &std::path::Path) -> i64 {
    let url = format!("sqlite://{}", db.display());
    let pool = sqlx::SqlitePool::connect(&url).await.expect("the database file opens");
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM model_loads").fetch_one(&pool).await.expect("the table exists");
    pool.close().await;
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serves_health_readiness_metrics_and_stops_gracefully() {
    if !models_ready() {
        return;
    }
    let dir = scratch("serve");
    let config = config(&dir, "");
    let app = verifier::App::start(&config).await.expect("the app starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(verifier::http::serve(
        listener,
        app.router(),
        async move {
            let _ = stopped.await;
        },
        Duration::from_secs(5),
    ));

    let health = get(addr, "/healthz").await;
    assert_eq!((health.status, health.body.as_str()), (200, "ok"));

    let ready = get(addr, "/readyz").await;
    assert_eq!(ready.status, 200, "{}", ready.body);
    let body: serde_json::Value = serde_json::from_str(&ready.body).unwrap();
    assert_eq!(body["ready"], true);
    let names: Vec<&str> = body["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["models", "database"]);

    let missing = get(addr, "/no/such/thing").await;
    assert_eq!(missing.status, 404);
    let body: serde_json::Value = serde_json::from_str(&missing.body).unwrap();
    assert_eq!(body["code"], "no_route");

    let page = get(addr, "/").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("/readyz"));

    let metrics = get(addr, "/metrics").await;
    assert_eq!(metrics.status, 200);
    assert!(
        metrics.body.contains("http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"}"),
        "{}",
        metrics.body
    );
    assert!(metrics.body.contains("route=\"unmatched\",status=\"404\""), "{}", metrics.body);

    stop.send(()).unwrap();
    let result = tokio::time::timeout(Duration::from_secs(10), server).await.expect("the server stops in time");
    result.expect("the server task did not panic").expect("serving ended cleanly");
    assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "the port is closed after shutdown");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restarts_on_the_same_database_keeping_its_data() {
    if !models_ready() {
        return;
    }
    let dir = scratch("restart");
    let config = config(&dir, "");
    drop(verifier::App::start(&config).await.expect("the first start succeeds"));
    let first = count_model_loads(&dir.join("verifier.sqlite")).await;
    assert!(first >= 1);
    drop(verifier::App::start(&config).await.expect("the second start succeeds"));
    assert_eq!(count_model_loads(&dir.join("verifier.sqlite")).await, 2 * first);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_to_start_with_a_corrupted_model() {
    if !models_ready() {
        return;
    }
    let dir = scratch("corrupt");
    let cache = dir.join("models");
    std::fs::create_dir_all(&cache).unwrap();
    let good = verifier_e2e::workspace().join(".cache/models/yunet_n_dynamic.onnx");
    let mut bytes = std::fs::read(good).unwrap();
    bytes[1000] ^= 0x80;
    std::fs::write(cache.join("yunet_n_dynamic.onnx"), bytes).unwrap();
    let mut config = config(&dir, "");
    config.models.cache_dir = cache;
    let err = match verifier::App::start(&config).await {
        Ok(_) => panic!("a corrupted model must be refused"),
        Err(e) => format!("{e:#}"),
    };
    assert!(err.contains("yunet_n_dynamic.onnx") && err.contains("104ee26c71d5c270"), "{err}");
}

/// A model that loaded but fails every run (a broken runtime, say).
struct Broken;

impl vision::model::Model for Broken {
    fn name(&self) -> &str {
        "broken"
    }
    fn run(&self, _: &[vision::model::Tensor]) -> Result<vision::model::Outputs, vision::model::ModelError> {
        Err(vision::model::ModelError::Inference { model: "broken".into(), reason: "no run succeeds".into() })
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn readiness_fails_when_a_model_cannot_run() {
    if !models_ready() {
        return;
    }
    let dir = scratch("broken-model");
    let config = config(&dir, "");
    let manifest = verifier_models::Manifest::embedded();
    let loaded = tokio::task::spawn_blocking({
        let config = config.clone();
        move || verifier::engines::load(&config, &manifest)
    });
    let mut engines = loaded.await.unwrap().expect("the real models load");
    engines.faces.detector = vision::face::FaceDetector::new(std::sync::Arc::new(Broken), config.detector);
    let store = verifier::store::Store::open(&config.database).await.unwrap();
    let app = verifier::App::from_engines(&config, store, engines).await.expect("the app starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(verifier::http::serve(listener, app.router(), std::future::pending(), Duration::from_secs(1)));
    let ready = get(addr, "/readyz").await;
    assert_eq!(ready.status, 503, "{}", ready.body);
    let body: serde_json::Value = serde_json::from_str(&ready.body).unwrap();
    let models = body["checks"].as_array().unwrap().iter().find(|c| c["name"] == "models").unwrap();
    assert_eq!(
        (models["ok"].as_bool(), models["error"].as_str()),
        (Some(false), Some("face_detector failed its warm-up run"))
    );
}
