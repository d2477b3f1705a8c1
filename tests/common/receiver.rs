//! A webhook receiver for the delivery tests (included with `#[path]` by the end-to-end crate
//! and by the server's two-node test): it records every request and answers a status, after an
//! optional delay, on a free port of this machine; and the driving-licence frame that makes a
//! session decide in a few frames (refused at once).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Received {
    /// `Verifier-Delivery-Id`.
    pub delivery_id: String,
    /// `Verifier-Timestamp`.
    pub timestamp: String,
    /// `Verifier-Signature`.
    pub signature: String,
    /// The body, as sent.
    pub body: Bytes,
}

/// A webhook receiver on a free port.
pub struct Receiver {
    /// Where it listens.
    pub addr: SocketAddr,
    status: Arc<AtomicU16>,
    got: Arc<Mutex<Vec<Received>>>,
}

impl Receiver {
    /// Starts one that answers `status` after `delay`.
    pub async fn start(status: u16, delay: Duration) -> Receiver {
        let status = Arc::new(AtomicU16::new(status));
        let got = Arc::new(Mutex::new(Vec::new()));
        let (s, g) = (status.clone(), got.clone());
        let app = axum::Router::new().route(
            "/hooks",
            axum::routing::post(move |headers: HeaderMap, body: Bytes| {
                let (s, g) = (s.clone(), g.clone());
                async move {
                    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
                    g.lock().unwrap().push(Received {
                        delivery_id: header("verifier-delivery-id"),
                        timestamp: header("verifier-timestamp"),
                        signature: header("verifier-signature"),
                        body,
                    });
                    tokio::time::sleep(delay).await;
                    StatusCode::from_u16(s.load(Ordering::SeqCst)).unwrap()
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver { addr, status, got }
    }

    /// Its callback URL.
    pub fn url(&self) -> String {
        format!("http://{}/hooks", self.addr)
    }

    /// Every request so far.
    pub fn received(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    /// Answers `status` from now on (a receiver going down, or coming back).
    #[allow(dead_code)] // the two-node test's receiver never changes its answer
    pub fn answer(&self, status: u16) {
        self.status.store(status, Ordering::SeqCst);
    }
}

/// A clean 720p camera frame of a synthetic document of `layout`, as JPEG.
pub fn document_frame(layout: datasets_synthetic::Layout, seed: u64) -> Vec<u8> {
    use datasets_synthetic::{Assets, Fonts, Spec, default_reference_date, document, frame_of};
    let assets = Assets::new(Fonts::from_debian_paths().expect("fonts-ocr-b and fonts-dejavu-core"), Vec::new());
    let mut spec = Spec::new(default_reference_date());
    spec.layout = Some(layout);
    spec.variants = Some(Vec::new());
    spec.clean = true;
    spec.resolution = Some((1280, 720));
    let doc = document(seed, &assets, &spec).expect("the document renders");
    frame_of(&doc, seed, &spec).expect("the frame renders").jpeg().expect("the frame encodes")
}
