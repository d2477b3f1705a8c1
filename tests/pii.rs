//! No holder data in clear: while the server starts and answers requests, and the MRZ and face
//! pipelines run on a synthetic passport, a tracing layer records every event at every level;
//! neither the records nor the `Debug` form of the pipeline's results may hold an MRZ line, the
//! holder's names, document number or birth date.

use std::sync::{Arc, Mutex};

use datasets_synthetic::{Assets, Fonts, Layout, Spec, default_reference_date, document};
use tracing_subscriber::layer::SubscriberExt;
use verifier_e2e::{config, get, models_ready, scratch};

/// Records each event's fields as text.
#[derive(Clone, Default)]
struct Recorder(Arc<Mutex<Vec<String>>>);

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for Recorder {
    fn on_event(&self, event: &tracing::Event<'_>, _: tracing_subscriber::layer::Context<'_, S>) {
        struct Fields(String);
        impl tracing::field::Visit for Fields {
            fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
                self.0.push_str(&format!(" {}={value:?}", field.name()));
            }
        }
        let mut fields = Fields(event.metadata().target().to_owned());
        event.record(&mut fields);
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(fields.0);
    }
}

/// True when `text` holds a run of 30 or more MRZ characters with a filler in it.
fn has_mrz_line(text: &str) -> bool {
    text.split(|c: char| !(c.is_ascii_uppercase() || c.is_ascii_digit() || c == '<'))
        .any(|run| run.len() >= 30 && run.contains('<'))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_holder_data_in_logs_or_debug_output() {
    if !models_ready() {
        return;
    }
    let recorder = Recorder::default();
    tracing::subscriber::set_global_default(tracing_subscriber::registry().with(recorder.clone()))
        .expect("this test binary installs the only subscriber");

    let dir = scratch("pii");
    let config = config(&dir, "");
    let app = verifier::App::start(&config).await.expect("the app starts");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(verifier::http::serve(
        listener,
        app.router(),
        std::future::pending(),
        config.server.shutdown_grace,
    ));
    for path in ["/healthz", "/readyz", "/metrics", "/nothing"] {
        get(addr, path).await;
    }

    let fonts = Fonts::from_debian_paths().expect("fonts-ocr-b and fonts-dejavu-core");
    let mut spec = Spec::new(default_reference_date());
    spec.layout = Some(Layout::Passport);
    spec.clean = true;
    let passport = document(9, &Assets::new(fonts, Vec::new()), &spec).expect("a passport renders");
    let label = passport.label.clone();
    let frame = vision::frame::Frame::from_rgb(image::DynamicImage::ImageRgba8(passport.image).into_rgb8());
    let font = std::fs::read(&config.mrz.font).expect("fonts-ocr-b is installed");
    let reader = vision::mrz::MrzReader::new(&font, config.mrz.reader).expect("OCR-B makes templates");
    let today = mrz::Date::from_iso("2026-12-01").expect("a date");
    let (read, debug, names) = tokio::task::spawn_blocking(move || {
        let read = vision::mrz::read_mrz(&frame, &reader, today).expect("templates need no model");
        let parsed = mrz::parse(&label.content.mrz, today).expect("the generated MRZ parses");
        tracing::info!(?read, ?parsed, "pipeline results");
        let debug = format!("{read:?} {parsed:?}");
        (read, debug, [parsed.surname.expose().clone(), parsed.given_names.expose().clone()])
    })
    .await
    .unwrap();
    assert!(read.location().is_some(), "the reader found the MRZ of a clean passport");
    server.abort();

    let logs = recorder.0.lock().unwrap().join("\n");
    assert!(logs.contains("verifier"), "the recorder saw the server's events: {logs}");
    let content = &passport.label.content;
    let mut secrets: Vec<String> = content.mrz.clone();
    secrets.push(content.document_number.clone());
    secrets.push(content.holder.birth_date.to_string());
    secrets.extend(content.mrz[0].split("<<").map(str::to_owned).filter(|s| s.len() > 4));
    secrets.extend(names.into_iter().filter(|n| n.len() > 2));
    for text in [&logs, &debug] {
        assert!(!has_mrz_line(text), "an MRZ-shaped line leaked: {text}");
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{secret:?} leaked: {text}");
        }
    }
}
