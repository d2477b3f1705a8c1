//! Document images: the MRZ side of each layout at a fixed resolution, with a security-print-like
//! background, header band, printed fields, portrait(s) and the MRZ in OCR-B at ICAO pitch.
//!
//! Owns where things sit on each layout (in millimetres) and the geometry the labels report. The
//! designs follow the structure of real documents (a data page's photo-left / fields-right, a TD1
//! card's back, a licence's category table) without copying any official artwork.

use image::{Rgba, RgbaImage};
use rand::seq::IndexedRandom;
use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

use crate::face::FacePhoto;
use crate::mrz_text::{DocumentContent, Layout, MrzFormat};
use crate::pattern::{Palette, guilloche};
use crate::raster::{
    Fonts, MrzPrint, draw_image, draw_mrz_line, draw_text, draw_text_fit, fill_rect, round_corners,
    scale_for_cap_height, stroke_rect,
};

/// ICAO 9303 part 3, 4.2.2: 10 characters per inch.
pub const MRZ_PITCH_MM: f32 = 2.54;
/// ICAO 9303 part 3: six lines per inch.
pub const MRZ_LINE_SPACING_MM: f32 = 4.23;
/// Capital height of OCR-B size I as printed in MRZs.
pub const MRZ_CAP_HEIGHT_MM: f32 = 2.4;
/// Near-black MRZ ink; `mrz_print` keeps its slight blue cast at other tones.
const MRZ_INK: Rgba<u8> = Rgba([22, 22, 28, 255]);
const MARKER_COLOR: [u8; 3] = [236, 186, 40];
const TEXT_INK: Rgba<u8> = Rgba([25, 30, 45, 255]);

/// An axis-aligned rectangle in document pixels (continuous coordinates: pixel (i, j) covers
/// [i, i+1) x [j, j+1)).
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct Rect {
    /// Left.
    pub x: f32,
    /// Top.
    pub y: f32,
    /// Width.
    pub w: f32,
    /// Height.
    pub h: f32,
}

impl Rect {
    /// The corners in order top-left, top-right, bottom-right, bottom-left.
    pub fn corners(&self) -> [[f32; 2]; 4] {
        [[self.x, self.y], [self.x + self.w, self.y], [self.x + self.w, self.y + self.h], [self.x, self.y + self.h]]
    }

    fn scaled(x: f32, y: f32, w: f32, h: f32, s: f32) -> Rect {
        Rect { x: x * s, y: y * s, w: w * s, h: h * s }
    }
}

/// Where things are on a rendered document, in document pixels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DocumentGeometry {
    /// Pixels per millimetre the document was rendered at.
    pub px_per_mm: f32,
    /// Image size in pixels (width, height).
    pub size_px: (u32, u32),
    /// Physical size in millimetres (width, height).
    pub size_mm: (f32, f32),
    /// The MRZ text block (glyph cells, 1 mm margin).
    pub mrz: Rect,
    /// MRZ character pitch used, in millimetres.
    pub mrz_pitch_mm: f32,
    /// The main portrait, if this side has one.
    pub portrait: Option<Rect>,
    /// The secondary (ghost) portrait, if any.
    pub ghost_portrait: Option<Rect>,
    /// The header band.
    pub header: Rect,
    /// A flat gold square in the header band (a chip-like mark) that tests use to check that
    /// labels and pixels agree.
    pub marker: Rect,
    /// The marker's colour.
    pub marker_color: [u8; 3],
}

struct Style {
    palette: Palette,
    header: [u8; 3],
    header_text: Rgba<u8>,
    label_ink: Rgba<u8>,
}

fn style(layout: Layout, state: &str) -> Style {
    // A per-country hue shift so that passports of different states differ.
    let h = state.bytes().fold(7u32, |a, b| a.wrapping_mul(31).wrapping_add(u32::from(b)));
    let tint = |base: [u8; 3], k: u32| -> [u8; 3] {
        let d = ((h >> k) % 24) as u8;
        [base[0].saturating_sub(d), base[1].saturating_sub(d / 2), base[2].saturating_sub(12u8.saturating_sub(d / 2))]
    };
    let (top, bottom, ink_a, ink_b, header) = match layout {
        Layout::FrenchId2021 => ([226, 236, 250], [248, 228, 238], [110, 140, 210], [220, 130, 170], [40, 70, 150]),
        Layout::FrenchIdLegacy => ([240, 232, 236], [228, 236, 246], [170, 120, 160], [120, 150, 200], [70, 90, 150]),
        Layout::Passport => (
            tint([236, 232, 246], 3),
            tint([244, 238, 226], 9),
            [140, 120, 200],
            [200, 150, 110],
            tint([90, 60, 130], 5),
        ),
        Layout::IdCardTd1 | Layout::IdCardTd2 => (
            tint([232, 244, 236], 4),
            tint([236, 236, 250], 8),
            [90, 160, 130],
            [120, 120, 200],
            tint([30, 110, 90], 2),
        ),
        Layout::VisaA | Layout::VisaB => {
            ([232, 246, 236], [244, 240, 220], [90, 170, 120], [200, 170, 80], [40, 120, 80])
        }
        Layout::ResidencePermit => ([240, 240, 226], [232, 238, 250], [170, 160, 90], [110, 130, 200], [100, 90, 40]),
        Layout::EuDrivingLicence => {
            ([250, 228, 234], [246, 238, 222], [220, 120, 150], [200, 160, 110], [170, 60, 100])
        }
        Layout::SwissDrivingLicence => {
            ([244, 232, 232], [236, 236, 242], [200, 110, 110], [150, 150, 190], [180, 30, 40])
        }
    };
    Style {
        palette: Palette { top, bottom, ink_a, ink_b },
        header,
        header_text: Rgba([250, 250, 252, 255]),
        label_ink: Rgba([70, 80, 110, 255]),
    }
}

/// Text printing helper bound to one image and scale.
struct Printer<'a> {
    img: &'a mut RgbaImage,
    fonts: &'a Fonts,
    s: f32,
    label_ink: Rgba<u8>,
}

impl Printer<'_> {
    /// A field: small label above a bold value, at (x, y) mm (y = top of the label).
    fn field(&mut self, x: f32, y: f32, width: f32, label: &str, value: &str) {
        let s = self.s;
        let ls = scale_for_cap_height(&self.fonts.sans, 1.3 * s);
        let vs = scale_for_cap_height(&self.fonts.sans_bold, 2.0 * s);
        draw_text_fit(self.img, &self.fonts.sans, ls, x * s, (y + 1.3) * s, width * s, self.label_ink, label);
        draw_text_fit(self.img, &self.fonts.sans_bold, vs, x * s, (y + 4.0) * s, width * s, TEXT_INK, value);
    }

    fn text(&mut self, x: f32, baseline: f32, cap_mm: f32, bold: bool, color: Rgba<u8>, text: &str) -> f32 {
        let font = if bold { &self.fonts.sans_bold } else { &self.fonts.sans };
        let scale = scale_for_cap_height(font, cap_mm * self.s);
        draw_text(self.img, font, scale, x * self.s, baseline * self.s, color, text) / self.s
    }
}

/// MRZ placement: left edge, baseline of the last line (mm from the top), pitch, cap height, line
/// spacing.
struct MrzPlacement {
    x0: f32,
    last_baseline: f32,
    pitch: f32,
    cap: f32,
    spacing: f32,
}

fn mrz_placement(layout: Layout, format: MrzFormat, w: f32, h: f32) -> MrzPlacement {
    let longest = format.line_lengths().iter().copied().max().unwrap_or(30) as f32;
    let (pitch, cap, spacing) = if layout == Layout::FrenchIdLegacy {
        // 36 characters on an 85.6 mm card: the pre-2021 French card prints a narrower pitch.
        ((w - 6.0) / longest, 2.2, 4.0)
    } else {
        (MRZ_PITCH_MM, MRZ_CAP_HEIGHT_MM, MRZ_LINE_SPACING_MM)
    };
    let x0 = (w - longest * pitch) / 2.0;
    let bottom_margin = match format {
        MrzFormat::Td3 | MrzFormat::MrvA => 5.0,
        MrzFormat::EuDrivingLicence => 4.5,
        _ => 3.6,
    };
    MrzPlacement { x0, last_baseline: h - bottom_margin, pitch, cap, spacing }
}

/// A document's MRZ printing: half print at the font's weight, half up to 0.07 mm bolder per
/// side (strokes up to 40 % thicker); most in near-black ink, some in the grey of laser
/// engraving; glyphs 8 % narrower to 6 % wider than the font's.
fn mrz_print<R: Rng>(s: f32, rng: &mut R) -> MrzPrint {
    let bold_mm = if rng.random_bool(0.5) { 0.0 } else { rng.random_range(0.015..0.07f32) };
    let tone = if rng.random_bool(0.7) { rng.random_range(10..36u8) } else { rng.random_range(36..90u8) };
    let ink = Rgba([tone, tone, tone.saturating_add(MRZ_INK[2] - MRZ_INK[0]), 255]);
    MrzPrint { ink, bold_px: bold_mm * s, width: rng.random_range(0.92..1.06f32) }
}

fn draw_mrz(img: &mut RgbaImage, fonts: &Fonts, lines: &[String], p: &MrzPlacement, s: f32, print: MrzPrint) -> Rect {
    let scale = scale_for_cap_height(&fonts.ocr_b, p.cap * s);
    let n = lines.len();
    for (i, line) in lines.iter().enumerate() {
        let baseline = p.last_baseline - (n - 1 - i) as f32 * p.spacing;
        draw_mrz_line(img, &fonts.ocr_b, scale, p.x0 * s, baseline * s, p.pitch * s, print, line);
    }
    let longest = lines.iter().map(String::len).max().unwrap_or(0) as f32;
    let top = p.last_baseline - (n - 1) as f32 * p.spacing - p.cap;
    Rect::scaled(p.x0 - 1.0, top - 1.0, longest * p.pitch + 2.0, p.last_baseline - top + 2.0, s)
}

fn signature<R: Rng>(img: &mut RgbaImage, x: f32, y: f32, w: f32, h: f32, s: f32, rng: &mut R) {
    let ink = Rgba([30, 40, 110, 230]);
    let (f1, f2) = (rng.random_range(2.0..5.0f32), rng.random_range(5.0..11.0f32));
    let (p1, p2) = (rng.random_range(0.0..6.3f32), rng.random_range(0.0..6.3f32));
    let steps = (w * s * 3.0) as usize;
    for i in 0..steps {
        let t = i as f32 / steps as f32;
        let px = x + w * t + 0.08 * w * (t * f2 + p2).sin();
        let py = y + h * 0.5 + h * 0.35 * (t * f1 * std::f32::consts::TAU + p1).sin() * (1.0 - t * 0.5);
        let r = 0.18 * s;
        fill_rect(img, px * s - r, py * s - r, px * s + r, py * s + r, ink);
    }
}

/// Renders the MRZ side of `content` at `px_per_mm`, with `face` as the holder's portrait.
pub fn render<R: Rng>(
    content: &DocumentContent,
    fonts: &Fonts,
    face: &FacePhoto,
    px_per_mm: f32,
    rng: &mut R,
) -> (RgbaImage, DocumentGeometry) {
    let layout = content.layout;
    let (w_mm, h_mm) = layout.size_mm();
    let s = px_per_mm;
    let (w, h) = ((w_mm * s).round() as u32, (h_mm * s).round() as u32);
    let mut img = RgbaImage::new(w, h);
    let st = style(layout, &content.issuing_state);
    guilloche(&mut img, (0, 0, w, h), st.palette, s, rng);

    // Header band (the label's marker).
    let header_h = match layout {
        Layout::Passport | Layout::VisaA => 9.0,
        _ => 7.0,
    };
    let header = Rect::scaled(0.0, 0.0, w_mm, header_h, s);
    let hc = st.header;
    fill_rect(&mut img, header.x, header.y, header.x + header.w, header.y + header.h, Rgba([hc[0], hc[1], hc[2], 255]));

    let country_name = crate::identity::country(&content.issuing_state).map_or("", |c| c.name);
    let holder = &content.holder;
    let given = holder.given_names.join(", ");
    let mut portrait = None;
    let mut ghost = None;
    {
        let mut p = Printer { img: &mut img, fonts, s, label_ink: st.label_ink };
        let title: &str = match layout {
            Layout::FrenchId2021 => "CARTE NATIONALE D'IDENTITÉ / IDENTITY CARD",
            Layout::FrenchIdLegacy => "CARTE NATIONALE D'IDENTITÉ",
            Layout::Passport => "PASSPORT / PASSEPORT",
            Layout::IdCardTd1 | Layout::IdCardTd2 => "IDENTITY CARD / CARTE D'IDENTITÉ",
            Layout::VisaA | Layout::VisaB => "VISA",
            Layout::ResidencePermit => "RESIDENCE PERMIT / TITRE DE SÉJOUR",
            Layout::EuDrivingLicence => "DRIVING LICENCE / PERMIS DE CONDUIRE",
            Layout::SwissDrivingLicence => "FÜHRERAUSWEIS / PERMIS DE CONDUIRE",
        };
        let cap = header_h * 0.28;
        p.text(3.0, header_h * 0.45, cap * 0.9, true, st.header_text, country_name);
        p.text(3.0, header_h * 0.86, cap * 0.8, false, st.header_text, title);
        p.text(w_mm - 13.0 - header_h * 1.2, header_h * 0.7, cap * 1.4, true, st.header_text, &content.issuing_state);
    }
    let marker = Rect::scaled(w_mm - 9.0, header_h * 0.2, header_h * 0.6, header_h * 0.6, s);
    let mc = MARKER_COLOR;
    fill_rect(&mut img, marker.x, marker.y, marker.x + marker.w, marker.y + marker.h, Rgba([mc[0], mc[1], mc[2], 255]));

    let mrz_p = mrz_placement(layout, content.format, w_mm, h_mm);
    let mrz_top_mm = mrz_p.last_baseline - (content.mrz.len() as f32 - 1.0) * mrz_p.spacing - mrz_p.cap - 1.5;
    let top = header_h + 2.0;
    match layout {
        Layout::Passport | Layout::FrenchIdLegacy | Layout::IdCardTd2 | Layout::VisaA | Layout::VisaB => {
            // Data page: portrait left, fields right.
            let ph = (mrz_top_mm - top - 1.5).min(if layout == Layout::Passport { 45.0 } else { 40.0 });
            let pw = ph * 35.0 / 45.0;
            let (px, py) = (4.0, top + 0.5);
            let rect = Rect::scaled(px, py, pw, ph, s);
            let grey = layout == Layout::FrenchIdLegacy && rng.random_bool(0.6);
            draw_image(&mut img, &face.head, rect.x, rect.y, rect.w, rect.h, 1.0, grey, [1.0, 1.0, 1.0]);
            stroke_rect(&mut img, rect.x, rect.y, rect.x + rect.w, rect.y + rect.h, 0.15 * s, Rgba([60, 60, 70, 200]));
            portrait = Some(rect);
            let fx = px + pw + 4.0;
            let fw = w_mm - fx - 3.0;
            let mut p = Printer { img: &mut img, fonts, s, label_ink: st.label_ink };
            let row = if layout == Layout::Passport { 6.2 } else { 5.4 };
            let mut y = top;
            let fields: Vec<(&str, String)> = match layout {
                Layout::Passport => vec![
                    ("Type / Type                Code / Code", format!("P          {}", content.issuing_state)),
                    ("Passport No. / N° du passeport", content.document_number.clone()),
                    ("Surname / Nom", holder.surname.clone()),
                    ("Given names / Prénoms", given.clone()),
                    ("Nationality / Nationalité", holder.nationality.clone()),
                    (
                        "Date of birth / Date de naissance        Sex / Sexe",
                        format!("{}        {}", holder.birth_date.dd_mm_yyyy(), holder.sex.printed()),
                    ),
                    ("Place of birth / Lieu de naissance", holder.birth_place.clone()),
                    ("Date of issue / Date de délivrance", content.issue_date.dd_mm_yyyy()),
                    ("Date of expiry / Date d'expiration", content.expiry_date.dd_mm_yyyy()),
                ],
                Layout::FrenchIdLegacy => vec![
                    ("N° :", content.document_number.clone()),
                    ("Nom :", holder.surname.clone()),
                    ("Prénom(s) :", given.clone()),
                    (
                        "Sexe :            Né(e) le :",
                        format!("{}            {}", holder.sex.printed(), holder.birth_date.dd_mm_yyyy()),
                    ),
                    ("à :", holder.birth_place.clone()),
                    ("Taille :", format!("{},{:02} m", 1, rng.random_range(50..95))),
                ],
                Layout::IdCardTd2 => vec![
                    ("Surname / Nom", holder.surname.clone()),
                    ("Given names / Prénoms", given.clone()),
                    ("Date of birth / Date de naissance", holder.birth_date.dd_mm_yyyy()),
                    (
                        "Sex / Sexe       Nationality / Nationalité",
                        format!("{}       {}", holder.sex.printed(), holder.nationality),
                    ),
                    ("Document No.", content.document_number.clone()),
                    ("Date of expiry / Date d'expiration", content.expiry_date.dd_mm_yyyy()),
                ],
                _ => vec![
                    ("Valid for / Valable pour", "ETATS SCHENGEN".to_owned()),
                    (
                        "From / Du             Until / Au",
                        format!("{}    {}", content.issue_date.dd_mm_yyyy(), content.expiry_date.dd_mm_yyyy()),
                    ),
                    ("Type of visa / Type de visa       Entries", "C          MULT".to_owned()),
                    ("Issued in / Délivré à", holder.birth_place.clone()),
                    ("Number / Numéro", content.document_number.clone()),
                    ("Surname, name / Nom, prénoms", format!("{}, {}", holder.surname, given)),
                ],
            };
            for (label, value) in &fields {
                if y + row > mrz_top_mm {
                    break;
                }
                p.field(fx, y, fw, label, value);
                y += row;
            }
            if layout != Layout::VisaB && rng.random_bool(0.6) {
                // Small grey ghost portrait at the right edge.
                let gh = ph * 0.45;
                let gw = gh * 35.0 / 45.0;
                let g = Rect::scaled(w_mm - gw - 4.0, mrz_top_mm - gh - 1.0, gw, gh, s);
                draw_image(&mut img, &face.head, g.x, g.y, g.w, g.h, 0.35, true, [0.9, 0.9, 1.05]);
                ghost = Some(g);
            } else {
                signature(&mut img, w_mm - 32.0, mrz_top_mm - 8.0, 26.0, 6.0, s, rng);
            }
        }
        Layout::FrenchId2021 | Layout::IdCardTd1 | Layout::ResidencePermit => {
            // TD1 back: fields left, ghost portrait right, MRZ below.
            let mut p = Printer { img: &mut img, fonts, s, label_ink: st.label_ink };
            let street = ["RUE DES LILAS", "AVENUE DU PARC", "HAUPTSTRASSE", "VIA ROMA", "CHEMIN DES VIGNES"];
            let address = format!("{} {}", rng.random_range(1..120), street.choose(rng).copied().unwrap_or("RUE"));
            let fields: Vec<(&str, String)> = match layout {
                Layout::ResidencePermit => vec![
                    (
                        "Type of permit / Type de titre",
                        ["CARTE DE SÉJOUR", "AUFENTHALTSTITEL", "PERMESSO"]
                            .choose(rng)
                            .copied()
                            .unwrap_or("")
                            .to_owned(),
                    ),
                    ("Remarks / Mentions", "AUTORISE SON TITULAIRE À TRAVAILLER".to_owned()),
                    ("Valid until / Valable jusqu'au", content.expiry_date.dd_mm_yyyy()),
                ],
                _ => vec![
                    ("Address / Adresse", format!("{address}, {}", holder.birth_place)),
                    ("Date of issue / Date de délivrance", content.issue_date.dd_mm_yyyy()),
                    ("Issuing authority / Autorité", format!("PRÉFECTURE {}", holder.birth_place)),
                ],
            };
            let mut y = top;
            for (label, value) in &fields {
                p.field(3.0, y, 58.0, label, value);
                y += 5.4;
            }
            if rng.random_bool(0.7) {
                let gh = (mrz_top_mm - top - 1.0).min(19.0);
                let gw = gh * 35.0 / 45.0;
                let g = Rect::scaled(w_mm - gw - 4.0, top, gw, gh, s);
                draw_image(&mut img, &face.head, g.x, g.y, g.w, g.h, 0.4, true, [0.85, 0.9, 1.1]);
                ghost = Some(g);
            }
        }
        Layout::EuDrivingLicence | Layout::SwissDrivingLicence => {
            // Licence back: a category table.
            let cats = ["AM", "A1", "A2", "A", "B1", "B", "C1", "C", "D1", "D", "BE", "CE"];
            let row = ((mrz_top_mm - top - 1.0) / cats.len() as f32).min(2.6);
            let line = Rgba([90, 60, 80, 160]);
            let held: Vec<bool> = cats.iter().map(|c| *c == "B" || rng.random_bool(0.2)).collect();
            let table_w = 60.0;
            for (i, cat) in cats.iter().enumerate() {
                let y = top + i as f32 * row;
                fill_rect(&mut img, 3.0 * s, y * s, (3.0 + table_w) * s, (y + 0.08) * s, line);
                let mut p = Printer { img: &mut img, fonts, s, label_ink: st.label_ink };
                p.text(4.0, y + row * 0.8, row * 0.5, true, TEXT_INK, cat);
                if held[i] {
                    p.text(14.0, y + row * 0.8, row * 0.45, false, TEXT_INK, &content.issue_date.dd_mm_yyyy());
                    p.text(36.0, y + row * 0.8, row * 0.45, false, TEXT_INK, &content.expiry_date.dd_mm_yyyy());
                }
            }
            signature(&mut img, w_mm - 20.0, top + 4.0, 15.0, 5.0, s, rng);
        }
    }

    let print = mrz_print(s, rng);
    let mrz = draw_mrz(&mut img, fonts, &content.mrz, &mrz_p, s, print);
    let card = (w_mm - 85.6).abs() < 0.01;
    if card {
        round_corners(&mut img, 3.18 * s);
    }
    let geometry = DocumentGeometry {
        px_per_mm: s,
        size_px: (w, h),
        size_mm: (w_mm, h_mm),
        mrz,
        mrz_pitch_mm: mrz_p.pitch,
        portrait,
        ghost_portrait: ghost,
        header,
        marker,
        marker_color: MARKER_COLOR,
    };
    (img, geometry)
}

/// Where things are on a rendered card front (the portrait side), in document pixels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FrontGeometry {
    /// Pixels per millimetre the card was rendered at.
    pub px_per_mm: f32,
    /// Image size in pixels (width, height).
    pub size_px: (u32, u32),
    /// Physical size in millimetres (width, height).
    pub size_mm: (f32, f32),
    /// The holder's portrait.
    pub portrait: Rect,
    /// The header band.
    pub header: Rect,
    /// The gold marker square in the header band (same colour as the MRZ side's).
    pub marker: Rect,
    /// The marker's colour.
    pub marker_color: [u8; 3],
    /// The printed surname's field (label and value).
    pub surname: Rect,
}

/// Whether a layout is a card with a separate portrait side that [`render_front`] draws: the TD1
/// cards, whose MRZ is on the back.
pub fn has_front(layout: Layout) -> bool {
    matches!(layout, Layout::FrenchId2021 | Layout::IdCardTd1 | Layout::ResidencePermit)
}

/// Renders the portrait side of a TD1 card in the style of the French 2021 card: header band,
/// portrait on the left, names and fields on the right, a card access number and signature at the
/// bottom, no MRZ. `content` is the same as the back's, so both sides state one identity.
pub fn render_front<R: Rng>(
    content: &DocumentContent,
    fonts: &Fonts,
    face: &FacePhoto,
    px_per_mm: f32,
    rng: &mut R,
) -> (RgbaImage, FrontGeometry) {
    let layout = content.layout;
    let (w_mm, h_mm) = layout.size_mm();
    let s = px_per_mm;
    let (w, h) = ((w_mm * s).round() as u32, (h_mm * s).round() as u32);
    let mut img = RgbaImage::new(w, h);
    let st = style(layout, &content.issuing_state);
    guilloche(&mut img, (0, 0, w, h), st.palette, s, rng);

    let header_h = 8.0;
    let header = Rect::scaled(0.0, 0.0, w_mm, header_h, s);
    let hc = st.header;
    fill_rect(&mut img, header.x, header.y, header.x + header.w, header.y + header.h, Rgba([hc[0], hc[1], hc[2], 255]));
    let country_name = crate::identity::country(&content.issuing_state).map_or("", |c| c.name);
    let title = match layout {
        Layout::ResidencePermit => "RESIDENCE PERMIT / TITRE DE SÉJOUR",
        Layout::FrenchId2021 => "CARTE NATIONALE D'IDENTITÉ / IDENTITY CARD",
        _ => "IDENTITY CARD / CARTE D'IDENTITÉ",
    };
    let holder = &content.holder;
    {
        let mut p = Printer { img: &mut img, fonts, s, label_ink: st.label_ink };
        let cap = header_h * 0.28;
        let nation = if layout == Layout::FrenchId2021 { "RÉPUBLIQUE FRANÇAISE" } else { country_name };
        p.text(3.0, header_h * 0.45, cap * 0.9, true, st.header_text, nation);
        p.text(3.0, header_h * 0.86, cap * 0.8, false, st.header_text, title);
        p.text(w_mm - 13.0 - header_h * 1.2, header_h * 0.7, cap * 1.4, true, st.header_text, &content.issuing_state);
    }
    let marker = Rect::scaled(w_mm - 9.0, header_h * 0.2, header_h * 0.6, header_h * 0.6, s);
    let mc = MARKER_COLOR;
    fill_rect(&mut img, marker.x, marker.y, marker.x + marker.w, marker.y + marker.h, Rgba([mc[0], mc[1], mc[2], 255]));

    // Portrait: about 25 x 32 mm on the left, as on ID-1 cards.
    let top = header_h + 2.0;
    let ph = (h_mm - top - 9.0).min(32.0);
    let pw = ph * 35.0 / 45.0;
    let portrait = Rect::scaled(3.5, top, pw, ph, s);
    draw_image(&mut img, &face.head, portrait.x, portrait.y, portrait.w, portrait.h, 1.0, false, [1.0, 1.0, 1.0]);
    stroke_rect(
        &mut img,
        portrait.x,
        portrait.y,
        portrait.x + portrait.w,
        portrait.y + portrait.h,
        0.15 * s,
        Rgba([60, 60, 70, 200]),
    );

    let fx = 3.5 + pw + 3.5;
    let fw = w_mm - fx - 3.0;
    let given = holder.given_names.join(", ");
    let row = 5.3;
    let mut p = Printer { img: &mut img, fonts, s, label_ink: st.label_ink };
    let surname = Rect::scaled(fx, top, fw, row, s);
    p.field(fx, top, fw, "NOM / Surname", &holder.surname);
    p.field(fx, top + row, fw, "Prénoms / Given names", &given);
    let half = fw / 2.0;
    p.field(fx, top + 2.0 * row, half - 1.0, "SEXE / Sex", holder.sex.printed());
    p.field(fx + half, top + 2.0 * row, half, "NATIONALITÉ / Nationality", &holder.nationality);
    p.field(fx, top + 3.0 * row, half - 1.0, "DATE DE NAISS. / Date of birth", &holder.birth_date.dd_mm_yyyy());
    p.field(fx + half, top + 3.0 * row, half, "LIEU DE NAISSANCE / Place of birth", &holder.birth_place);
    p.field(fx, top + 4.0 * row, half - 1.0, "N° DU DOCUMENT / Document No", &content.document_number);
    p.field(fx + half, top + 4.0 * row, half, "DATE D'EXPIR. / Expiry date", &content.expiry_date.dd_mm_yyyy());
    // Card access number (printed on the front of contactless cards), bottom right.
    let can: String = (0..6).map(|_| char::from(b'0' + rng.random_range(0..10u8))).collect();
    p.text(w_mm - 16.0, h_mm - 3.0, 2.0, true, TEXT_INK, &can);
    signature(&mut img, fx, h_mm - 9.0, 24.0, 5.0, s, rng);
    round_corners(&mut img, 3.18 * s);
    let geometry = FrontGeometry {
        px_per_mm: s,
        size_px: (w, h),
        size_mm: (w_mm, h_mm),
        portrait,
        header,
        marker,
        marker_color: MARKER_COLOR,
        surname,
    };
    (img, geometry)
}
