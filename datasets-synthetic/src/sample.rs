//! One labelled document: the generator's inputs (`Assets`, `Spec`), per-sample seeds, and
//! `document()`, which draws a holder, builds consistent content and renders the MRZ side.
//!
//! Owns the random choices of what a document is (layout, issuer, holder, faults). Placing it in a
//! camera frame is [`mod@crate::frame`]'s job.

use std::sync::OnceLock;

use image::RgbaImage;
use rand::rngs::ChaCha8Rng;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use serde::{Deserialize, Serialize};

use crate::Error;
use crate::date::Date;
use crate::face::{FacePhoto, FaceRef, placeholder_faces};
use crate::identity::{COUNTRIES, Country, Identity, country};
use crate::mrz_text::{DocumentContent, Expected, Layout, Variant, content, expected};
use crate::raster::Fonts;
use crate::render::{DocumentGeometry, FrontGeometry, has_front, render, render_front};
use crate::warp::half;

/// Version of the label schema written by this crate.
pub const LABEL_SCHEMA: u32 = 1;

/// What the generator draws from: fonts and face photos.
#[derive(Clone, Debug)]
pub struct Assets {
    /// Fonts for printing.
    pub fonts: Fonts,
    /// Holders' faces (never empty).
    pub faces: Vec<FacePhoto>,
}

impl Assets {
    /// Assets from fonts and faces; with no faces, generated placeholders are used (labels mark
    /// them `placeholder: true`).
    pub fn new(fonts: Fonts, faces: Vec<FacePhoto>) -> Assets {
        let faces = if faces.is_empty() { placeholder_faces() } else { faces };
        Assets { fonts, faces }
    }

    /// Whether the faces are generated placeholders.
    pub fn placeholder_faces(&self) -> bool {
        self.faces.iter().all(|f| f.placeholder)
    }
}

/// What to generate. Fields left `None` are drawn at random per sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Spec {
    /// Reference date: expiry and expected decisions are relative to it.
    pub at: Date,
    /// Force a layout.
    pub layout: Option<Layout>,
    /// Force the variants (`Some(vec![])` for a clean document).
    pub variants: Option<Vec<Variant>>,
    /// Document rendering resolution, pixels per millimetre.
    pub px_per_mm: f32,
    /// Force the frame size (width, height).
    pub resolution: Option<(u32, u32)>,
    /// Frames without degradations: mild pose, no occluder, glare, blur, noise or colour change,
    /// JPEG quality 95. Tests use it to compare pixels with labels.
    pub clean: bool,
}

impl Spec {
    /// The default spec at reference date `at`: everything random, 12 px/mm.
    pub fn new(at: Date) -> Spec {
        Spec { at, layout: None, variants: None, px_per_mm: 12.0, resolution: None, clean: false }
    }
}

/// The default reference date (fixed, so outputs do not depend on the clock).
pub fn default_reference_date() -> Date {
    Date { year: 2026, month: 12, day: 1 }
}

/// Independent sample streams, so that documents, frames and videos with the same index differ.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Documents.
    Document = 1,
    /// Frames.
    Frame = 2,
    /// Videos.
    Video = 3,
    /// Liveness sequences.
    Liveness = 4,
}

/// The seed of sample `index` of `stream` under run seed `seed` (SplitMix64 finaliser), so that
/// samples are independent of generation order and thread count.
pub fn sample_seed(seed: u64, stream: Stream, index: u64) -> u64 {
    let mut z = seed ^ (stream as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A document's label, written as JSON beside its image.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DocumentLabel {
    /// Label schema version.
    pub schema: u32,
    /// The sample's seed.
    pub seed: u64,
    /// What the document says, its MRZ and its faults.
    #[serde(flatten)]
    pub content: DocumentContent,
    /// The decision the verifier should reach at the reference date.
    pub expected: Expected,
    /// The holder's face photo and person id.
    pub face: FaceRef,
    /// Where things are on the image.
    pub geometry: DocumentGeometry,
}

/// A rendered document and its label.
#[derive(Debug)]
pub struct DocumentSample {
    /// The MRZ side, RGBA (transparent outside rounded card corners), `px_per_mm` resolution.
    pub image: RgbaImage,
    /// The label.
    pub label: DocumentLabel,
    pyramid: OnceLock<Vec<RgbaImage>>,
}

impl DocumentSample {
    /// A sample from an image rendered elsewhere (the browser harness renders documents of one
    /// chosen identity) and its label.
    pub fn new(image: RgbaImage, label: DocumentLabel) -> DocumentSample {
        DocumentSample { image, label, pyramid: OnceLock::new() }
    }

    /// The image at pyramid level `level` (0 = full size, each level halves), capped at 2.
    pub fn level(&self, level: usize) -> &RgbaImage {
        if level == 0 {
            return &self.image;
        }
        let pyramid = self.pyramid.get_or_init(|| {
            let l1 = half(&self.image);
            let l2 = half(&l1);
            vec![l1, l2]
        });
        &pyramid[(level - 1).min(1)]
    }
}

fn pick_layout(rng: &mut ChaCha8Rng) -> Layout {
    // Weighted towards what recipients show: French cards and passports.
    const WEIGHTS: [(Layout, u32); 10] = [
        (Layout::FrenchId2021, 20),
        (Layout::FrenchIdLegacy, 12),
        (Layout::Passport, 22),
        (Layout::IdCardTd1, 10),
        (Layout::IdCardTd2, 5),
        (Layout::VisaA, 5),
        (Layout::VisaB, 4),
        (Layout::ResidencePermit, 7),
        (Layout::EuDrivingLicence, 10),
        (Layout::SwissDrivingLicence, 5),
    ];
    let total: u32 = WEIGHTS.iter().map(|w| w.1).sum();
    let mut r = rng.random_range(0..total);
    for (layout, w) in WEIGHTS {
        if r < w {
            return layout;
        }
        r -= w;
    }
    Layout::Passport
}

fn pick_variants(rng: &mut ChaCha8Rng, layout: Layout) -> Vec<Variant> {
    let mut v = Vec::new();
    if rng.random_bool(0.12) {
        v.push(Variant::WrongCheckDigit);
    }
    if rng.random_bool(0.12) {
        v.push(Variant::Expired);
    }
    if rng.random_bool(0.08) {
        v.push(Variant::TruncatedName);
    }
    if matches!(layout, Layout::IdCardTd1 | Layout::ResidencePermit) && rng.random_bool(0.3) {
        v.push(Variant::LongDocumentNumber);
    }
    v
}

fn any_country(rng: &mut ChaCha8Rng, exclude: &[&str]) -> &'static Country {
    let pool: Vec<&'static Country> = COUNTRIES.iter().filter(|c| !exclude.contains(&c.code)).collect();
    pool.choose(rng).copied().unwrap_or(&COUNTRIES[0])
}

/// Generates one document from its sample seed.
pub fn document(seed: u64, assets: &Assets, spec: &Spec) -> Result<DocumentSample, Error> {
    if !(2.0..=40.0).contains(&spec.px_per_mm) {
        return Err(Error::BadSpec { reason: format!("px_per_mm {} outside 2..=40", spec.px_per_mm) });
    }
    if assets.faces.is_empty() {
        return Err(Error::BadSpec { reason: "no faces".to_owned() });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let layout = spec.layout.unwrap_or_else(|| pick_layout(&mut rng));
    let variants = spec.variants.clone().unwrap_or_else(|| pick_variants(&mut rng, layout));
    let fra = country("FRA").unwrap_or(&COUNTRIES[0]);
    let schengen = ["FRA", "DEU", "ESP", "ITA", "PRT", "POL", "CZE"];
    let (issuer, holder_country) = match layout {
        Layout::FrenchId2021 | Layout::FrenchIdLegacy => (fra, fra),
        Layout::SwissDrivingLicence => {
            let che = country("CHE").unwrap_or(&COUNTRIES[0]);
            (che, che)
        }
        Layout::EuDrivingLicence => {
            let c = if rng.random_bool(0.5) { fra } else { any_country(&mut rng, &["CHE", "TUR"]) };
            (c, c)
        }
        Layout::VisaA | Layout::VisaB | Layout::ResidencePermit => {
            let issuer = country(schengen.choose(&mut rng).copied().unwrap_or("FRA")).unwrap_or(fra);
            let holder = any_country(&mut rng, &schengen);
            (issuer, holder)
        }
        Layout::IdCardTd1 => {
            let c = any_country(&mut rng, &["FRA"]);
            (c, c)
        }
        Layout::Passport | Layout::IdCardTd2 => {
            let c = if rng.random_bool(0.35) { fra } else { any_country(&mut rng, &[]) };
            (c, c)
        }
    };
    let long_name = variants.contains(&Variant::TruncatedName);
    let holder = Identity::random(&mut rng, holder_country, spec.at, long_name);
    let content = content(&mut rng, layout, issuer, holder, &variants, spec.at);
    let face = &assets.faces[rng.random_range(0..assets.faces.len())];
    let (image, geometry) = render(&content, &assets.fonts, face, spec.px_per_mm, &mut rng);
    let expected = expected(&content, spec.at);
    let label = DocumentLabel { schema: LABEL_SCHEMA, seed, content, expected, face: face.reference(), geometry };
    Ok(DocumentSample { image, label, pyramid: OnceLock::new() })
}

/// Salt separating a card front's random choices (security print, signature) from its back's.
const FRONT_SALT: u64 = 0xF407_0000_0000_0001;

/// The label of a card's portrait side, written beside its image.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrontLabel {
    /// Label schema version.
    pub schema: u32,
    /// The seed of the document (the back) this is the front of.
    pub seed: u64,
    /// What the card states: the same content as its back's label.
    #[serde(flatten)]
    pub content: DocumentContent,
    /// The holder's face photo and person id.
    pub face: FaceRef,
    /// Where things are on the image.
    pub geometry: FrontGeometry,
}

/// The portrait side of a TD1 card and its label.
#[derive(Debug)]
pub struct FrontSample {
    /// The portrait side, RGBA (transparent outside rounded card corners), at the back's
    /// resolution.
    pub image: RgbaImage,
    /// The label.
    pub label: FrontLabel,
}

/// The portrait side of `doc`, a TD1 card (see [`has_front`]): same holder, numbers, dates and
/// face as its back, deterministic from the back's seed.
pub fn front_of(doc: &DocumentSample, assets: &Assets) -> Result<FrontSample, Error> {
    let content = &doc.label.content;
    if !has_front(content.layout) {
        return Err(Error::BadSpec { reason: format!("{:?} has no separate portrait side", content.layout) });
    }
    let face = assets
        .faces
        .iter()
        .find(|f| f.file == doc.label.face.file)
        .ok_or_else(|| Error::BadSpec { reason: "the document's face is not among the assets".to_owned() })?;
    let mut rng = ChaCha8Rng::seed_from_u64(doc.label.seed ^ FRONT_SALT);
    let (image, geometry) = render_front(content, &assets.fonts, face, doc.label.geometry.px_per_mm, &mut rng);
    let label = FrontLabel {
        schema: LABEL_SCHEMA,
        seed: doc.label.seed,
        content: content.clone(),
        face: face.reference(),
        geometry,
    };
    Ok(FrontSample { image, label })
}
