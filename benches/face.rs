//! The face pipeline on a 720p frame with one ONNX thread: detection alone, detection +
//! alignment + embedding (the figure the target is stated for) for each embedding model the
//! manifest offers (`face_embedding`, `face_embedding_alt`, `face_embedding_fast`; the first
//! also with its mirror averaging switched), alignment alone, and 8 concurrent streams whose
//! frames are detected in parallel and embedded in one batch.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rayon::prelude::*;
use verifier_models::Manifest;
use vision::face::{DetectorConfig, FaceAnalyzer, FaceDetector, FaceEmbedder, largest};
use vision::frame::Frame;

fn analyzer_for(role: &str) -> Result<FaceAnalyzer, String> {
    let rt = verifier_benches::runtime()?;
    let manifest = Manifest::embedded();
    let spec = manifest.role(role).ok_or(format!("no {role} role"))?;
    let config = DetectorConfig { max_input_side: 640, score_threshold: 0.7, nms_iou: 0.3, max_faces: 16 };
    let detector = FaceDetector::new(verifier_benches::model(&rt, "face_detector")?, config);
    let embedder = FaceEmbedder::from_spec(verifier_benches::model(&rt, role)?, spec).map_err(|e| e.to_string())?;
    Ok(FaceAnalyzer { detector, embedder })
}

fn face(c: &mut Criterion) {
    let (analyzer, frame) =
        match analyzer_for("face_embedding").and_then(|a| Ok((a, verifier_benches::webcam_frame()?))) {
            Ok(s) => s,
            Err(why) => {
                eprintln!("skipping face benchmarks: {why}");
                return;
            }
        };
    assert!(analyzer.read(&frame).is_ok_and(|r| r.faces.len() == 1 && r.embedding.is_some()), "one face");
    c.bench_function("face_detect_720p", |b| b.iter(|| analyzer.detector.detect(&frame)));
    c.bench_function("face_detect_align_embed_720p", |b| b.iter(|| analyzer.read(&frame)));
    // The same without the manifest's mirror averaging (one network run per face instead of
    // two), for the price of that choice.
    let single = FaceAnalyzer {
        detector: analyzer.detector.clone(),
        embedder: analyzer.embedder.clone().with_mirror_average(!analyzer.embedder.mirror_average()),
    };
    let name = format!("face_detect_align_embed_720p_mirror_average_{}", single.embedder.mirror_average());
    c.bench_function(&name, |b| b.iter(|| single.read(&frame)));
    let face = analyzer.detector.detect(&frame).ok().and_then(|f| largest(&f)).expect("one face");
    c.bench_function("face_align_720p", |b| b.iter(|| analyzer.embedder.align(&frame, &face)));
    for role in ["face_embedding_alt", "face_embedding_fast"] {
        match analyzer_for(role) {
            Ok(other) => {
                let name = format!("face_detect_align_embed_720p_{}", other.embedder.model_name());
                c.bench_function(&name, |b| b.iter(|| other.read(&frame)));
            }
            Err(why) => eprintln!("skipping {role}: {why}"),
        }
    }

    // Eight sessions each sending a frame: detection and alignment per frame on the rayon
    // pool, then one batched embedding run for all eight.
    let frames: Vec<Frame> = (0..8).map(|_| frame.clone()).collect();
    let mut group = c.benchmark_group("face_8_streams_batched");
    group.throughput(Throughput::Elements(frames.len() as u64));
    group.bench_function("detect_align_then_embed_batch", |b| {
        b.iter(|| {
            let crops: Vec<_> = frames
                .par_iter()
                .filter_map(|f| {
                    let faces = analyzer.detector.detect(f).ok()?;
                    analyzer.embedder.align(f, &largest(&faces)?)
                })
                .collect();
            analyzer.embedder.embed(&crops)
        })
    });
    group.finish();
}

criterion_group!(benches, face);
criterion_main!(benches);
