//! Labels agree with pixels: the document corners map the document image into the frame, the MRZ
//! box holds dark glyphs, check digits are valid except where a fault is deliberate, every layout
//! renders, and the same seed gives the same bytes.

mod common;

use common::assets;
use datasets_synthetic::warp::Homography;
use datasets_synthetic::{
    DocumentSample, FrameSample, Layout, Spec, Stream, Variant, default_reference_date, document, failed_checks, frame,
    frame_of, sample_seed,
};

/// Luminance of an RGB pixel, 0..=255.
pub fn luma(p: [u8; 3]) -> f32 {
    0.299 * f32::from(p[0]) + 0.587 * f32::from(p[1]) + 0.114 * f32::from(p[2])
}

/// Whether point `p` lies inside the convex quad `q` (either winding).
pub fn inside(q: &[[f32; 2]; 4], p: [f32; 2]) -> bool {
    let mut sign = 0.0f32;
    for i in 0..4 {
        let (a, b) = (q[i], q[(i + 1) % 4]);
        let cross = (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0]);
        if cross != 0.0 {
            if sign != 0.0 && cross.signum() != sign {
                return false;
            }
            sign = cross.signum();
        }
    }
    true
}

fn spec() -> Spec {
    Spec::new(default_reference_date())
}

fn doc_to_frame(f: &FrameSample) -> Homography {
    let (w, h) = f.label.document.geometry.size_px;
    let src = [[0.0, 0.0], [f64::from(w), 0.0], [f64::from(w), f64::from(h)], [0.0, f64::from(h)]];
    Homography::from_points(src, f.label.corners.map(|p| p.map(f64::from))).expect("label corners form a quad")
}

fn frame_pixel(f: &FrameSample, p: [f32; 2]) -> [u8; 3] {
    let (x, y) = (p[0].floor() as u32, p[1].floor() as u32);
    f.image.get_pixel(x.min(f.image.width() - 1), y.min(f.image.height() - 1)).0
}

fn doc_pixel(d: &DocumentSample, p: [f32; 2]) -> [u8; 3] {
    let px = d.image.get_pixel(p[0] as u32, p[1] as u32).0;
    [px[0], px[1], px[2]]
}

/// Share of pixels in the quad darker than half the quad's bright level.
fn dark_share(f: &FrameSample, q: &[[f32; 2]; 4]) -> f32 {
    let x0 = q.iter().map(|p| p[0]).fold(f32::INFINITY, f32::min).max(0.0) as u32;
    let x1 = (q.iter().map(|p| p[0]).fold(0.0, f32::max) as u32).min(f.image.width());
    let y0 = q.iter().map(|p| p[1]).fold(f32::INFINITY, f32::min).max(0.0) as u32;
    let y1 = (q.iter().map(|p| p[1]).fold(0.0, f32::max) as u32).min(f.image.height());
    let mut lum = Vec::new();
    for y in y0..y1 {
        for x in x0..x1 {
            if inside(q, [x as f32 + 0.5, y as f32 + 0.5]) {
                lum.push(luma(f.image.get_pixel(x, y).0));
            }
        }
    }
    lum.sort_by(f32::total_cmp);
    let bright = lum[lum.len() * 9 / 10];
    lum.iter().filter(|&&l| l < bright * 0.55).count() as f32 / lum.len() as f32
}

#[test]
fn corners_map_the_document_into_clean_frames() {
    let assets = assets();
    for (i, layout) in Layout::ALL.into_iter().enumerate() {
        let mut s = spec();
        s.layout = Some(layout);
        s.clean = true;
        s.resolution = Some((1280, 720));
        let doc = document(sample_seed(7, Stream::Document, i as u64), assets, &s).expect("document");
        let f = frame_of(&doc, sample_seed(7, Stream::Frame, i as u64), &s).expect("frame");
        let h = doc_to_frame(&f);
        // The gold marker lands where the label says.
        let g = &doc.label.geometry;
        let centre = [g.marker.x + g.marker.w / 2.0, g.marker.y + g.marker.h / 2.0];
        let seen = frame_pixel(&f, h.apply_f32(centre));
        for c in 0..3 {
            let d = (i32::from(seen[c]) - i32::from(g.marker_color[c])).abs();
            assert!(d < 40, "{layout:?}: marker {seen:?} vs {:?}", g.marker_color);
        }
        // And so does the rest of the document: compare a grid of points, allowing for
        // resampling at sharp edges (median difference small).
        let mut diffs = Vec::new();
        let (w, hh) = g.size_px;
        for gy in 1..10 {
            for gx in 1..16 {
                let p = [w as f32 * gx as f32 / 16.0, hh as f32 * gy as f32 / 10.0];
                let (a, b) = (doc_pixel(&doc, p), frame_pixel(&f, h.apply_f32(p)));
                diffs.push((luma(a) - luma(b)).abs());
            }
        }
        diffs.sort_by(f32::total_cmp);
        let median = diffs[diffs.len() / 2];
        assert!(median < 12.0, "{layout:?}: median luminance difference {median}");
        // Label corner order: top-left, top-right, bottom-right, bottom-left of the document.
        let c = f.label.corners;
        assert!(c[0][0] < c[1][0] && c[3][0] < c[2][0] && c[0][1] < c[3][1] && c[1][1] < c[2][1], "{layout:?}: {c:?}");
        for p in c {
            assert!(p[0] >= 0.0 && p[1] >= 0.0 && p[0] <= 1280.0 && p[1] <= 720.0, "inside the frame: {c:?}");
        }
    }
}

#[test]
fn mrz_box_holds_dark_glyphs() {
    let assets = assets();
    for i in 0..24u64 {
        let mut s = spec();
        s.resolution = Some((960, 540));
        s.clean = i % 2 == 0;
        let f = frame(sample_seed(11, Stream::Frame, i), assets, &s).expect("frame");
        let q = f.label.mrz_corners;
        for p in q {
            assert!(inside(&f.label.corners, p), "MRZ box inside the document: {q:?}");
        }
        // Glare over the MRZ can wash glyphs out; the label says where it is.
        let glared = f
            .label
            .glare_boxes
            .iter()
            .any(|b| q.iter().any(|p| p[0] >= b[0] && p[0] <= b[0] + b[2] && p[1] >= b[1] && p[1] <= b[1] + b[3]));
        let share = dark_share(&f, &q);
        // Heavy defocus or motion blur smears glyphs into grey; the label records both.
        let sharp = f.label.capture.defocus_radius <= 1 && f.label.capture.motion_blur.is_none();
        // Clean frames show crisp glyphs; degraded ones (noise, defocus radius 1, JPEG) fewer
        // clearly dark pixels, but still far more than a blank area.
        let floor = if s.clean { 0.06 } else { 0.025 };
        if !glared && sharp && f.label.capture.coverage > 0.5 {
            assert!(share > floor, "seed {i}: dark share {share} in MRZ box");
        }
        assert!(share < 0.7, "seed {i}: MRZ box is not a dark blob ({share})");
    }
}

#[test]
fn document_mrz_rect_contains_the_glyphs() {
    let assets = assets();
    for layout in Layout::ALL {
        let mut s = spec();
        s.layout = Some(layout);
        let doc = document(3, assets, &s).expect("document");
        let g = &doc.label.geometry;
        let r = g.mrz;
        let dark = |x0: f32, y0: f32, x1: f32, y1: f32| {
            let mut n = 0;
            for y in y0.max(0.0) as u32..(y1 as u32).min(doc.image.height()) {
                for x in x0.max(0.0) as u32..(x1 as u32).min(doc.image.width()) {
                    let p = doc.image.get_pixel(x, y).0;
                    if p[3] > 200 && luma([p[0], p[1], p[2]]) < 80.0 {
                        n += 1;
                    }
                }
            }
            n
        };
        let inside_box = dark(r.x, r.y, r.x + r.w, r.y + r.h);
        let below = dark(r.x, r.y + r.h, r.x + r.w, doc.image.height() as f32);
        let left = dark(0.0, r.y, r.x, r.y + r.h);
        assert!(inside_box > 500, "{layout:?}: {inside_box} glyph pixels");
        assert!(below + left < inside_box / 50, "{layout:?}: glyphs outside the box ({below}, {left})");
        let chars = doc.label.content.mrz.iter().map(String::len).max().unwrap_or(0) as f32;
        let pitch_px = (r.w - 2.0 * g.px_per_mm) / chars;
        assert!((pitch_px - g.mrz_pitch_mm * g.px_per_mm).abs() < 0.01, "{layout:?}: pitch");
    }
}

#[test]
fn check_digits_are_valid_unless_made_wrong() {
    let assets = assets();
    let mut wrong = 0;
    // Pixels don't matter here: render small to keep the test fast.
    let mut s = spec();
    s.px_per_mm = 3.0;
    for i in 0..150u64 {
        let doc = document(sample_seed(5, Stream::Document, i), assets, &s).expect("document");
        let c = &doc.label.content;
        let failed = failed_checks(c.format, &c.mrz);
        if c.variants.contains(&Variant::WrongCheckDigit) {
            wrong += 1;
            assert!(failed.contains(&c.wrong_check.expect("field recorded")), "{:?}", c.mrz);
            assert!(doc.label.expected.reasons.contains(&"mrz.check_digit_failed".to_owned()));
        } else {
            assert!(failed.is_empty(), "{:?}: {failed:?}", c.mrz);
            assert!(!doc.label.expected.reasons.contains(&"mrz.check_digit_failed".to_owned()));
        }
        assert_eq!(doc.label.expected.accepted, doc.label.expected.reasons.is_empty());
        assert_eq!(doc.label.expected.reference_date, default_reference_date());
    }
    assert!(wrong > 5, "the random mix includes wrong check digits ({wrong})");
}

#[test]
fn every_layout_and_variant_is_generated() {
    let assets = assets();
    for layout in Layout::ALL {
        for variants in
            [vec![], vec![Variant::Expired], vec![Variant::TruncatedName], vec![Variant::LongDocumentNumber]]
        {
            let mut s = spec();
            s.layout = Some(layout);
            s.variants = Some(variants.clone());
            s.px_per_mm = 3.0;
            let doc = document(sample_seed(9, Stream::Document, 0), assets, &s).expect("document");
            let c = &doc.label.content;
            assert_eq!(c.layout, layout);
            assert_eq!(c.format, layout.format());
            assert_eq!(c.mrz.iter().map(String::len).collect::<Vec<_>>(), layout.format().line_lengths());
            let expired = c.expiry_date < default_reference_date();
            assert_eq!(expired, variants.contains(&Variant::Expired), "{layout:?}");
            assert_eq!(doc.label.expected.reasons.contains(&"document.expired".to_owned()), expired);
            if variants.contains(&Variant::LongDocumentNumber) && layout.format() == datasets_synthetic::MrzFormat::Td1
            {
                assert!(c.document_number.len() > 9 && c.variants.contains(&Variant::LongDocumentNumber));
            }
        }
    }
}

#[test]
fn same_seed_same_bytes() {
    let assets = assets();
    let s = spec();
    let a = frame(123, assets, &s).expect("frame");
    let b = frame(123, assets, &s).expect("frame");
    assert_eq!(a.image.as_raw(), b.image.as_raw());
    assert_eq!(a.label, b.label);
    assert_eq!(a.jpeg().expect("jpeg"), b.jpeg().expect("jpeg"));
    let c = frame(124, assets, &s).expect("frame");
    assert_ne!(a.label.document.content.mrz, c.label.document.content.mrz);
    let json = serde_json::to_string(&a.label).expect("serialise");
    let back: datasets_synthetic::FrameLabel = serde_json::from_str(&json).expect("round trip");
    assert_eq!(back, a.label);
}

#[test]
fn portrait_box_covers_the_face_photo() {
    let assets = assets();
    let mut s = spec();
    s.layout = Some(Layout::Passport);
    s.clean = true;
    s.resolution = Some((1280, 720));
    let f = frame(77, assets, &s).expect("frame");
    let q = f.label.portrait_corners.expect("passports show a portrait");
    let b = f.label.portrait_box.expect("box");
    for p in q {
        assert!(p[0] >= b[0] - 0.01 && p[0] <= b[0] + b[2] + 0.01 && p[1] >= b[1] - 0.01 && p[1] <= b[1] + b[3] + 0.01);
        assert!(inside(&f.label.corners, p));
    }
    // The face photo's head crop was drawn there: compare its centre pixel.
    let face = assets.faces.iter().find(|x| x.file == f.label.document.face.file).expect("face in assets");
    let head = face.head.get_pixel(face.head.width() / 2, face.head.height() / 2).0;
    let centre = [(q[0][0] + q[2][0]) / 2.0, (q[0][1] + q[2][1]) / 2.0];
    let seen = frame_pixel(&f, centre);
    assert!((luma(head) - luma(seen)).abs() < 40.0, "{head:?} vs {seen:?}");
}
