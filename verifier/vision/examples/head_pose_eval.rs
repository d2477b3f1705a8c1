//! Measures the head pose read from the face mesh (`vision::face::head_pose`) against known
//! poses: synthetic capture videos (`datasets-synthetic`, genuine scenario: the generator labels
//! each frame's yaw and pitch; the head turn is a cylinder warp of a real photo), the same warp
//! applied directly to every shared photo at fixed angles, and the shared photos as they are
//! (portraits, roughly frontal: they should read near 0).
//!
//! ```text
//! cargo run --release -p vision --example head_pose_eval -- [videos=N] [seed=S]
//! ```
//!
//! Models come from `.cache/models` (YuNet and the face mesh), run by `.cache/onnxruntime` on one
//! thread (`scripts/setup.sh` puts both there); photos from `../shared/datasets/faces`. Prints
//! figures only, never images or landmarks.
#![allow(clippy::disallowed_methods)] // A measurement tool: it reads models and photos.

mod pose;

use std::path::Path;

use datasets_synthetic::video::{Phase, Scenario, VideoSpec, sequence, turn_head};
use datasets_synthetic::{Assets, Fonts, Spec, default_reference_date};
use vision::face::{HeadPose, head_pose, head_pose_projected, largest};
use vision::frame::Frame;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg = |key: &str, default: u64| -> u64 {
        args.iter().find_map(|a| a.strip_prefix(key)?.strip_prefix('=')?.parse().ok()).unwrap_or(default)
    };
    let (videos, seed) = (arg("videos", 12), arg("seed", 1));
    // `projected`: the pose from the mesh's image positions alone (orthographic PnP).
    let fit = if args.iter().any(|a| a == "projected") { head_pose_projected } else { head_pose };
    println!("fit: {}", if args.iter().any(|a| a == "projected") { "projected (2-D PnP)" } else { "3-D mesh" });
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (detector, mesh) = pose::models()?;
    let pose_of = |img: &image::RgbImage| -> Result<Option<HeadPose>, Box<dyn std::error::Error>> {
        let frame = Frame::from_rgb(img.clone());
        let Some(face) = largest(&detector.detect(&frame)?) else { return Ok(None) };
        Ok(mesh.landmarks(&frame, &face)?.map(|m| fit(&m)))
    };

    let faces_dir = root.join("../shared/datasets/faces");
    let faces = datasets_synthetic::face::load_faces(&faces_dir)?;
    println!("shared photos: {}", faces.len());

    // 1. The photos as they are.
    let mut frontal: Vec<HeadPose> = Vec::new();
    for f in &faces {
        if let Some(p) = pose_of(&f.photo)? {
            frontal.push(p);
        }
    }
    summary(
        "photos as they are (yaw, pitch, roll)",
        &frontal.iter().map(|p| [p.yaw_deg, p.pitch_deg, p.roll_deg]).collect::<Vec<_>>(),
    );

    // 2. The generator's head turn applied to each photo: the change from its unturned pose.
    for (yaw, pitch) in [(35.0f32, 0.0f32), (-35.0, 0.0), (20.0, 0.0), (-20.0, 0.0), (0.0, 25.0), (0.0, -25.0)] {
        let mut errors = Vec::new();
        let mut wrong_sign = 0;
        for f in &faces {
            let (Some(base), Some(turned)) = (pose_of(&f.photo)?, pose_of(&turn_head(&f.photo, yaw, pitch))?) else {
                continue;
            };
            let d = [turned.yaw_deg - base.yaw_deg, turned.pitch_deg - base.pitch_deg];
            let main = if yaw != 0.0 { (d[0], yaw) } else { (d[1], pitch) };
            if main.0.signum() != main.1.signum() {
                wrong_sign += 1;
            }
            errors.push([d[0] - yaw, d[1] - pitch, d[0], d[1]]);
        }
        summary(
            &format!(
                "turn_head({yaw}, {pitch}) minus unturned: error yaw, error pitch, change yaw, change pitch (wrong sign: {wrong_sign})"
            ),
            &errors,
        );
    }

    // 3. Synthetic genuine capture videos: every face or challenge frame against its label.
    let assets = Assets::new(Fonts::from_debian_paths()?, faces);
    let mut vspec = VideoSpec::new(Spec::new(default_reference_date()));
    vspec.scenario = Some(Scenario::Genuine);
    let mut errors = Vec::new();
    let (mut frames, mut missed) = (0, 0);
    let mut peaks: Vec<(String, f32, f32)> = Vec::new();
    for i in 0..videos {
        let seq = sequence(seed * 1000 + i, &assets, &vspec)?;
        let mut peak: Option<(f32, f32, f32, f32)> = None;
        for (img, label) in seq.frames.iter().zip(&seq.frame_labels) {
            if label.phase == Phase::Document {
                continue;
            }
            frames += 1;
            let Some(p) = pose_of(img)? else {
                missed += 1;
                continue;
            };
            errors.push([p.yaw_deg - label.yaw_deg, p.pitch_deg - label.pitch_deg]);
            let size = label.yaw_deg.abs() + label.pitch_deg.abs();
            if peak.is_none_or(|k| size > k.0.abs() + k.1.abs()) {
                peak = Some((label.yaw_deg, label.pitch_deg, p.yaw_deg, p.pitch_deg));
            }
        }
        if let (Some(c), Some((ly, lp, py, pp))) = (seq.label.performed_challenge, peak) {
            peaks.push((format!("{c:?}"), if ly != 0.0 { py } else { pp }, if ly != 0.0 { ly } else { lp }));
        }
    }
    println!("videos: {videos} genuine (seed {seed}), face frames {frames}, no face or mesh in {missed}");
    summary("video frames: error yaw, error pitch (read - label)", &errors);
    for (challenge, read, label) in &peaks {
        println!("  peak of {challenge}: label {label:.0}, read {read:.1}");
    }
    Ok(())
}

/// Mean, mean absolute, 90th percentile of the absolute value, per column.
fn summary<const N: usize>(title: &str, rows: &[[f32; N]]) {
    println!("{title}: n = {}", rows.len());
    if rows.is_empty() {
        return;
    }
    for c in 0..N {
        let mut v: Vec<f32> = rows.iter().map(|r| r[c]).collect();
        let mean = v.iter().sum::<f32>() / v.len() as f32;
        let mae = v.iter().map(|x| x.abs()).sum::<f32>() / v.len() as f32;
        v.iter_mut().for_each(|x| *x = x.abs());
        v.sort_by(f32::total_cmp);
        let p90 = v[((v.len() as f32 * 0.9) as usize).min(v.len() - 1)];
        println!("  column {c}: mean {mean:.1}, mean |.| {mae:.1}, p90 |.| {p90:.1}, max |.| {:.1}", v[v.len() - 1]);
    }
}
