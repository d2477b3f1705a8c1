//! Face detection (YuNet, downscale to 640, decode, NMS) on a 720p frame, one ONNX thread.

use criterion::{Criterion, criterion_group, criterion_main};
use vision::face::{DetectorConfig, FaceDetector};
use vision::frame::Frame;

fn face_detect(c: &mut Criterion) {
    let setup = verifier_benches::runtime().and_then(|rt| {
        let model = verifier_benches::model(&rt, "face_detector")?;
        let photo = verifier_benches::workspace().join("../shared/datasets/faces/img1.jpg");
        let image = image::open(&photo).map_err(|e| format!("{}: {e}", photo.display()))?;
        Ok((rt, model, image))
    });
    let (_rt, model, image) = match setup {
        Ok(s) => s,
        Err(why) => {
            eprintln!("skipping face_detect benchmark: {why}");
            return;
        }
    };
    // The photo letterboxed into a 1280x720 frame, as a webcam would deliver it.
    let face = image.resize(1280, 720, image::imageops::FilterType::Triangle).into_rgb8();
    let mut frame = image::RgbImage::from_pixel(1280, 720, image::Rgb([90, 90, 90]));
    image::imageops::overlay(&mut frame, &face, i64::from((1280 - face.width()) / 2), 0);
    let frame = Frame::from_rgb(frame);
    let config = DetectorConfig { max_input_side: 640, score_threshold: 0.7, nms_iou: 0.3, max_faces: 16 };
    let detector = FaceDetector::new(model, config);
    assert_eq!(detector.detect(&frame).map(|f| f.len()), Ok(1), "the benchmark frame holds one face");
    c.bench_function("face_detect_720p", |b| b.iter(|| detector.detect(&frame)));
}

criterion_group!(benches, face_detect);
criterion_main!(benches);
