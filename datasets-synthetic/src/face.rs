//! Holders' faces: real photos (decoded from bytes, grouped into people from the pivot CSV), a
//! heuristic head crop for document portraits, and generated placeholder faces for when the photos
//! are absent.
//!
//! Owns the face inventory. Drawing a portrait onto a document is [`crate::render`]'s job; turning a
//! head for a video is [`crate::video`]'s.

use std::collections::BTreeMap;
use std::path::Path;

use image::imageops::FilterType;
use image::{Rgb, RgbImage};
use serde::{Deserialize, Serialize};

use crate::Error;

/// Longest side photos are kept at after loading (enough for 1080p video faces).
const MAX_SIDE: u32 = 720;
/// Size of the head crop used for document portraits (ICAO portrait proportions, 35 x 45).
const HEAD_W: u32 = 245;
const HEAD_H: u32 = 315;

/// One face photo and who it shows.
#[derive(Clone, Debug)]
pub struct FacePhoto {
    /// The photo's file name (e.g. `img38.jpg`), or `placeholder-N` for generated faces.
    pub file: String,
    /// Person id: photos of the same person (connected by "Yes" pairs) share it.
    pub person: u32,
    /// Whether this face was generated rather than loaded.
    pub placeholder: bool,
    /// The photo, longest side at most 720 px, RGB.
    pub photo: RgbImage,
    /// The head crop, 245 x 315, RGB.
    pub head: RgbImage,
    /// The detected face box `[x, y, w, h]` in `photo`'s pixels, when one was given.
    pub face_box: Option<[f32; 4]>,
    /// The face mesh's points `[x, y, z]` in `photo`'s pixels (`z` the depth, smaller nearer the
    /// camera), when one was given: live heads then turn in 3-D ([`crate::turn3d`]).
    pub mesh: Option<Vec<[f32; 3]>>,
}

/// The holder's face as a label records it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaceRef {
    /// Photo file name.
    pub file: String,
    /// Person id.
    pub person: u32,
    /// Whether the face is a generated placeholder.
    pub placeholder: bool,
}

impl FacePhoto {
    /// Decodes a photo (JPEG, PNG or WebP, by content) and crops its head region.
    pub fn from_bytes(file: &str, person: u32, bytes: &[u8]) -> Result<FacePhoto, Error> {
        FacePhoto::from_bytes_with_box(file, person, bytes, None)
    }

    /// Like [`FacePhoto::from_bytes`], cropping the head around `face_box` (`[x, y, w, h]` in the
    /// photo's pixels, e.g. from a face detector) instead of by the fixed heuristic.
    pub fn from_bytes_with_box(
        file: &str,
        person: u32,
        bytes: &[u8],
        face_box: Option<[f32; 4]>,
    ) -> Result<FacePhoto, Error> {
        FacePhoto::from_bytes_with(file, person, bytes, face_box, None)
    }

    /// Like [`FacePhoto::from_bytes_with_box`], with the face's mesh points as well (`[x, y, z]`
    /// in the photo's pixels, e.g. from `verifier face mesh`).
    pub fn from_bytes_with(
        file: &str,
        person: u32,
        bytes: &[u8],
        face_box: Option<[f32; 4]>,
        mesh: Option<Vec<[f32; 3]>>,
    ) -> Result<FacePhoto, Error> {
        let img = image::load_from_memory(bytes)
            .map_err(|e| Error::BadImage { file: file.to_owned(), reason: e.to_string() })?
            .to_rgb8();
        let width = img.width().max(1);
        let mut face = FacePhoto::from_image(file, person, false, img, face_box);
        // The points are in the original photo's pixels; the photo may have been downscaled
        // (the depth is in the same units as x and y).
        let k = face.photo.width() as f32 / width as f32;
        face.mesh = mesh.map(|m| m.into_iter().map(|p| p.map(|v| v * k)).collect());
        Ok(face)
    }

    fn from_image(file: &str, person: u32, placeholder: bool, img: RgbImage, face_box: Option<[f32; 4]>) -> FacePhoto {
        let (w, h) = img.dimensions();
        let photo = if w.max(h) > MAX_SIDE {
            let k = MAX_SIDE as f32 / w.max(h) as f32;
            image::imageops::resize(
                &img,
                ((w as f32 * k) as u32).max(1),
                ((h as f32 * k) as u32).max(1),
                FilterType::Triangle,
            )
        } else {
            img
        };
        // The box is in the original photo's pixels; the photo may have been downscaled.
        let k = photo.width() as f32 / w.max(1) as f32;
        let face_box = face_box.map(|[x, y, bw, bh]| [x * k, y * k, bw * k, bh * k]);
        let region = match face_box {
            Some(b) => head_box_around(b, photo.width(), photo.height()),
            None => head_box(photo.width(), photo.height()),
        };
        let head = head_crop(&photo, region);
        FacePhoto { file: file.to_owned(), person, placeholder, photo, head, face_box, mesh: None }
    }

    /// How a label refers to this face.
    pub fn reference(&self) -> FaceRef {
        FaceRef { file: self.file.clone(), person: self.person, placeholder: self.placeholder }
    }
}

/// The head region (x, y, w, h) of a photo by a fixed heuristic: the photos are portraits of one
/// person roughly centred, so take an upper-centre box with portrait proportions (35:45). No face
/// detector is used; some crops will be off-centre, which document portraits tolerate.
pub fn head_box(w: u32, h: u32) -> (u32, u32, u32, u32) {
    let (wf, hf) = (w as f32, h as f32);
    let (cw, ch) = if hf >= wf {
        // Portrait photo: the head spans most of the width near the top.
        let cw = wf * 0.8;
        (cw, (cw * 45.0 / 35.0).min(hf * 0.9))
    } else {
        // Landscape photo: the head spans most of the height, centred.
        let ch = hf * 0.9;
        (ch * 35.0 / 45.0, ch)
    };
    let x = ((wf - cw) / 2.0).max(0.0);
    let y = if hf >= wf { hf * 0.04 } else { hf * 0.02 };
    let cw = cw.min(wf - x);
    let ch = ch.min(hf - y);
    (x as u32, y as u32, (cw as u32).max(1), (ch as u32).max(1))
}

/// The head region (x, y, w, h) around a detected face box `[x, y, w, h]`, in portrait
/// proportions (35:45), the face taking about two thirds of the height as on ICAO portraits;
/// shrunk to fit and shifted inside the photo where it would overflow.
pub fn head_box_around(face: [f32; 4], w: u32, h: u32) -> (u32, u32, u32, u32) {
    let [fx, fy, fw, fh] = face;
    let (wf, hf) = (w as f32, h as f32);
    let mut ch = (fh * 1.5).max(1.0);
    let mut cw = ch * 35.0 / 45.0;
    let fit = (wf / cw).min(hf / ch).min(1.0);
    ch *= fit;
    cw *= fit;
    let x = (fx + fw / 2.0 - cw / 2.0).clamp(0.0, (wf - cw).max(0.0));
    let y = (fy - fh * 0.3).clamp(0.0, (hf - ch).max(0.0));
    (x as u32, y as u32, (cw as u32).clamp(1, w.max(1)), (ch as u32).clamp(1, h.max(1)))
}

fn head_crop(photo: &RgbImage, (x, y, w, h): (u32, u32, u32, u32)) -> RgbImage {
    let crop = image::imageops::crop_imm(photo, x, y, w, h).to_image();
    image::imageops::resize(&crop, HEAD_W, HEAD_H, FilterType::Triangle)
}

/// People from the faces pivot CSV (`file_x,file_y,decision,...`): photos joined by a `Yes` row
/// are the same person. Returns file name (last path component) -> person id, ids numbered by the
/// smallest file name of each group in sorted order, so they are stable.
pub fn people_from_pivot(csv: &str) -> BTreeMap<String, u32> {
    let mut parent: BTreeMap<String, String> = BTreeMap::new();
    fn find(parent: &mut BTreeMap<String, String>, x: &str) -> String {
        let mut root = x.to_owned();
        while let Some(p) = parent.get(&root) {
            if *p == root {
                break;
            }
            root = p.clone();
        }
        parent.insert(x.to_owned(), root.clone());
        root
    }
    for line in csv.lines().skip(1) {
        let mut cols = line.split(',');
        let (Some(a), Some(b), Some(decision)) = (cols.next(), cols.next(), cols.next()) else { continue };
        let name = |p: &str| p.rsplit('/').next().unwrap_or(p).trim().to_owned();
        let (a, b) = (name(a), name(b));
        parent.entry(a.clone()).or_insert_with(|| a.clone());
        parent.entry(b.clone()).or_insert_with(|| b.clone());
        if decision.trim() == "Yes" {
            let (ra, rb) = (find(&mut parent, &a), find(&mut parent, &b));
            if ra != rb {
                // Union towards the smaller name, so roots are deterministic.
                let (lo, hi) = if ra < rb { (ra, rb) } else { (rb, ra) };
                parent.insert(hi, lo);
            }
        }
    }
    let files: Vec<String> = parent.keys().cloned().collect();
    let mut roots: BTreeMap<String, u32> = BTreeMap::new();
    let mut out = BTreeMap::new();
    for f in files {
        let r = find(&mut parent, &f);
        let next = roots.len() as u32;
        let id = *roots.entry(r).or_insert(next);
        out.insert(f, id);
    }
    out
}

/// Loads the face photos of a directory: files named `img<digits>.jpg`, people from
/// `face-recognition-pivot.csv` when present (photos missing from it are people of their own).
/// Sorted by file name so that sample seeds pick the same photos on every machine.
pub fn load_faces(dir: &Path) -> Result<Vec<FacePhoto>, Error> {
    load_faces_with_boxes(dir, &BTreeMap::new())
}

/// [`load_faces`], cropping each photo's head around its entry in `face_boxes` (file name to
/// `[x, y, w, h]` in the photo's pixels) where it has one.
pub fn load_faces_with_boxes(dir: &Path, face_boxes: &BTreeMap<String, [f32; 4]>) -> Result<Vec<FacePhoto>, Error> {
    load_faces_with(dir, face_boxes, &BTreeMap::new())
}

/// [`load_faces_with_boxes`], with each photo's face mesh from `meshes` (file name to its points
/// `[x, y, z]` in the photo's pixels, as `scripts/face_boxes.sh` writes them) where it has one.
pub fn load_faces_with(
    dir: &Path,
    face_boxes: &BTreeMap<String, [f32; 4]>,
    meshes: &BTreeMap<String, Vec<[f32; 3]>>,
) -> Result<Vec<FacePhoto>, Error> {
    let io = |e: std::io::Error| Error::Io { path: dir.display().to_string(), reason: e.to_string() };
    let pivot = std::fs::read_to_string(dir.join("face-recognition-pivot.csv")).unwrap_or_default();
    let people = people_from_pivot(&pivot);
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .map_err(io)?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| {
            n.strip_prefix("img")
                .and_then(|r| r.strip_suffix(".jpg"))
                .is_some_and(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        })
        .collect();
    // Natural order (img2 before img10) keeps listings readable; any fixed order would do.
    names.sort_by_key(|n| (n.len(), n.clone()));
    let mut next_person = people.values().max().map_or(0, |m| m + 1);
    let mut faces = Vec::with_capacity(names.len());
    for name in names {
        let path = dir.join(&name);
        let bytes =
            std::fs::read(&path).map_err(|e| Error::Io { path: path.display().to_string(), reason: e.to_string() })?;
        let person = match people.get(&name) {
            Some(&p) => p,
            None => {
                next_person += 1;
                next_person - 1
            }
        };
        let (face_box, mesh) = (face_boxes.get(&name).copied(), meshes.get(&name).cloned());
        faces.push(FacePhoto::from_bytes_with(&name, person, &bytes, face_box, mesh)?);
    }
    Ok(faces)
}

/// Generated stand-in faces (a drawn head on a plain background), used when the real photos are
/// absent so that tests and demos still run. Each is its own person, ids from 10 000.
pub fn placeholder_faces() -> Vec<FacePhoto> {
    const SKIN: [[u8; 3]; 4] = [[238, 206, 179], [198, 150, 110], [141, 85, 54], [224, 172, 130]];
    const HAIR: [[u8; 3]; 4] = [[40, 30, 20], [110, 70, 30], [20, 20, 20], [200, 170, 90]];
    (0..4)
        .map(|k| {
            let (w, h) = (360u32, 480u32);
            let bg = [200 - 20 * k as u8, 210, 220];
            let img = RgbImage::from_fn(w, h, |x, y| {
                let (fx, fy) = (x as f32 / w as f32 - 0.5, y as f32 / h as f32);
                let ellipse =
                    |cx: f32, cy: f32, rx: f32, ry: f32| ((fx - cx) / rx).powi(2) + ((fy - cy) / ry).powi(2) <= 1.0;
                let c = if ellipse(-0.12, 0.40, 0.05, 0.022) || ellipse(0.12, 0.40, 0.05, 0.022) {
                    [30, 30, 40]
                } else if ellipse(0.0, 0.64, 0.11, 0.025) {
                    [150, 60, 60]
                } else if ellipse(0.0, 0.50, 0.03, 0.07) && fy > 0.45 {
                    let s = SKIN[k];
                    [s[0] - 25, s[1] - 25, s[2] - 25]
                } else if ellipse(0.0, 0.45, 0.28, 0.30) && fy > 0.25 {
                    SKIN[k]
                } else if ellipse(0.0, 0.36, 0.33, 0.27) {
                    HAIR[k]
                } else if fy > 0.78 && fx.abs() < 0.45 {
                    [60, 70 + 30 * k as u8, 120]
                } else {
                    bg
                };
                Rgb(c)
            });
            FacePhoto::from_image(&format!("placeholder-{k}"), 10_000 + k as u32, true, img, None)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn people_are_connected_components_of_yes_pairs() {
        let csv = "file_x,file_y,decision\n\
                   a/img1.jpg,a/img2.jpg,Yes\n\
                   a/img2.jpg,a/img3.jpg,Yes\n\
                   a/img4.jpg,a/img5.jpg,No\n\
                   a/img5.jpg,a/img6.jpg,Yes\n";
        let people = people_from_pivot(csv);
        assert_eq!(people["img1.jpg"], people["img3.jpg"]);
        assert_eq!(people["img5.jpg"], people["img6.jpg"]);
        assert_ne!(people["img1.jpg"], people["img4.jpg"]);
        assert_ne!(people["img4.jpg"], people["img5.jpg"]);
        assert_eq!(people["img1.jpg"], 0);
    }

    #[test]
    fn head_box_follows_a_detected_face() {
        // A small face high in a tall full-body photo: the crop centres on it, not on the photo.
        let (x, y, w, h) = head_box_around([300.0, 100.0, 60.0, 80.0], 720, 1000);
        assert_eq!((w, h), (93, 120));
        assert!(x <= 300 && x + w >= 360 && y <= 100 && y + h >= 180, "{:?}", (x, y, w, h));
        // A face bigger than the photo allows: shrunk to fit, still inside.
        let (x, y, w, h) = head_box_around([0.0, 0.0, 500.0, 700.0], 400, 600);
        assert!(x + w <= 400 && y + h <= 600, "{:?}", (x, y, w, h));
        assert_eq!(head_box_around([f32::NAN, 0.0, 0.0, 0.0], 10, 10).2.min(1), 1);
    }

    #[test]
    fn head_box_stays_inside() {
        for (w, h) in [(1275, 675), (408, 594), (400, 400), (760, 380), (1, 1)] {
            let (x, y, cw, ch) = head_box(w, h);
            assert!(x + cw <= w && y + ch <= h && cw > 0 && ch > 0, "{w}x{h}");
        }
    }

    #[test]
    fn placeholders_are_distinct_people() {
        let faces = placeholder_faces();
        assert_eq!(faces.len(), 4);
        assert!(faces.iter().all(|f| f.placeholder && f.head.dimensions() == (HEAD_W, HEAD_H)));
    }
}
