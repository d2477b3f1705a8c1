//! `read_mrz` on 720p synthetic webcam frames (all layouts, random pose and degradations), one
//! thread: the figure the MRZ reader's speed target is stated for. `mrz_read_720p` is the
//! service's reader (the trained `mrz_recogniser` network); `mrz_read_720p_templates` reads with
//! the OCR-B templates alone, for comparison; `mrz_read_upright_720p_face_only` is a frame with a
//! face and no document, read upright as the face step reads it to tell whether a document is
//! still held up (`mrz_read_720p_face_only`: the same frame read in all four views).

use criterion::{Criterion, criterion_group, criterion_main};
use datasets_synthetic::{Assets, Fonts, Spec, Stream, default_reference_date, frame, sample_seed};
use vision::frame::{DecodeLimits, Frame, decode};
use vision::mrz::{
    CellNet, ConsensusConfig, LocateConfig, MrzReader, MrzReaderConfig, RecognitionConfig, SearchConfig, read_mrz,
    read_mrz_upright,
};

#[path = "../verifier/vision/tests/support/service_defaults.rs"]
mod service_defaults;

/// Twenty labelled frames, JPEG-encoded and decoded as the service receives them.
fn frames() -> Result<Vec<Frame>, String> {
    let fonts = Fonts::from_debian_paths().map_err(|e| e.to_string())?;
    let assets = Assets::new(fonts, Vec::new());
    let mut spec = Spec::new(default_reference_date());
    spec.resolution = Some((1280, 720));
    let limits = DecodeLimits { max_bytes: 1 << 24, max_pixels: 1 << 22, max_side: 4096 };
    (0..20)
        .map(|i| {
            let sample = frame(sample_seed(17, Stream::Frame, i), &assets, &spec).map_err(|e| e.to_string())?;
            decode(&sample.jpeg().map_err(|e| e.to_string())?, &limits).map_err(|e| e.to_string())
        })
        .collect()
}

fn mrz(c: &mut Criterion) {
    let setup = frames().and_then(|frames| {
        // The service's settings and font, from its defaults file.
        let (font, config) = (service_defaults::ocr_b_font(), service_defaults::reader_config());
        let templates = MrzReader::new(&font, config).map_err(|e| e.to_string())?;
        let rt = verifier_benches::runtime()?;
        let net = CellNet::new(verifier_benches::model(&rt, "mrz_recogniser")?);
        Ok((frames, templates.clone().with_net(net), templates))
    });
    let (frames, reader, templates) = match setup {
        Ok(s) => s,
        Err(why) => {
            eprintln!("skipping mrz benchmark: {why}");
            return;
        }
    };
    let today = mrz::Date::from_iso("2026-12-01").expect("a valid date");
    let mut next = frames.iter().cycle();
    c.bench_function("mrz_read_720p", |b| {
        b.iter(|| read_mrz(next.next().expect("a cycle never ends"), &reader, today).expect("the MRZ models run"))
    });
    // The face step asks the reader whether a document is in view on every face frame without
    // a card around the face, upright only: what that costs when none is, and what the four
    // views of a whole read would.
    match verifier_benches::webcam_frame() {
        Ok(face) => {
            assert!(read_mrz(&face, &reader, today).is_ok_and(|r| r.location().is_none()), "no MRZ in a face frame");
            c.bench_function("mrz_read_upright_720p_face_only", |b| b.iter(|| read_mrz_upright(&face, &reader, today)));
            c.bench_function("mrz_read_720p_face_only", |b| b.iter(|| read_mrz(&face, &reader, today)));
        }
        Err(why) => eprintln!("skipping mrz_read_720p_face_only: {why}"),
    }
    c.bench_function("mrz_read_720p_templates", |b| {
        b.iter(|| {
            read_mrz(next.next().expect("a cycle never ends"), &templates, today).expect("templates need no model")
        })
    });
}

criterion_group!(benches, mrz);
criterion_main!(benches);
