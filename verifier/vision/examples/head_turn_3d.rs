//! How the generator's 3-D head turn (`datasets_synthetic::turn3d`, what `generate liveness
//! --face-meshes` renders) reads through the verifier's face mesh, where the cylinder warp
//! (`datasets_synthetic::video::turn_face`) reads less than half its angle. For each shared
//! photo: its mesh is read, the photo is re-rendered with the head turned over that mesh, and the
//! pose read from the rendering is compared with the unturned one.
//!
//! ```text
//! cargo run --release -p vision --example head_turn_3d -- [save=DIR]
//! ```
//!
//! `save` writes the first three renderings of each angle to DIR, to look at (never under the
//! repository: they are people's faces).
//! Models come from `.cache/models` and `.cache/onnxruntime`; photos from
//! `../shared/datasets/faces`. Prints figures only.
#![allow(clippy::disallowed_methods)] // A measurement tool: it reads models and photos.

mod pose;

use std::path::Path;

use datasets_synthetic::turn3d;
use image::RgbImage;
use vision::face::{HeadPose, head_pose, largest};
use vision::frame::Frame;

type Error = Box<dyn std::error::Error>;
/// What a photo reads as: its pose and its mesh's points.
type Reading = (HeadPose, Vec<[f32; 3]>);

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let (detector, mesh) = pose::models()?;
    let read = |img: &RgbImage| -> Result<Option<Reading>, Error> {
        let frame = Frame::from_rgb(img.clone());
        let Some(face) = largest(&detector.detect(&frame)?) else { return Ok(None) };
        Ok(mesh.landmarks(&frame, &face)?.map(|m| (head_pose(&m), m.points().to_vec())))
    };

    let faces = datasets_synthetic::face::load_faces(&root.join("../shared/datasets/faces"))?;
    println!("shared photos: {}", faces.len());
    for (yaw, pitch) in [(45.0f32, 0.0f32), (-45.0, 0.0), (30.0, 0.0), (0.0, 30.0), (0.0, -30.0)] {
        let mut changes = Vec::new();
        let mut missed = 0;
        for f in &faces {
            let Some((base, points)) = read(&f.photo)? else {
                missed += 1;
                continue;
            };
            let turned = turn3d::turn_head(&f.photo, &points, yaw, pitch, [0.0, 0.0]);
            if let Some(dir) = args.iter().find_map(|a| a.strip_prefix("save="))
                && changes.len() < 3
            {
                turned.save(Path::new(dir).join(format!("turn_{yaw}_{pitch}_{}.png", changes.len())))?;
            }
            match read(&turned)? {
                Some((p, ..)) => changes.push([p.yaw_deg - base.yaw_deg, p.pitch_deg - base.pitch_deg]),
                None => missed += 1,
            }
        }
        let main: Vec<f32> = changes.iter().map(|c| if yaw != 0.0 { c[0] } else { c[1] }).collect();
        let want = if yaw != 0.0 { yaw } else { pitch };
        let mut sorted = main.clone();
        sorted.sort_by(f32::total_cmp);
        let q = |p: f32| sorted.get(((sorted.len() as f32 - 1.0) * p).round() as usize).copied().unwrap_or(f32::NAN);
        let wrong = main.iter().filter(|v| v.signum() != want.signum()).count();
        println!(
            "yaw {yaw:+}, pitch {pitch:+}: read change n = {} (no face or mesh, unturned or turned: {missed}), mean {:.1}, p10 {:.1}, median {:.1}, p90 {:.1}, wrong sign {wrong}",
            main.len(),
            main.iter().sum::<f32>() / main.len().max(1) as f32,
            q(0.1),
            q(0.5),
            q(0.9)
        );
    }
    Ok(())
}
