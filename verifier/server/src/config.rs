//! Configuration: embedded defaults, an optional file and the environment, validated once.
//!
//! Two stages, like ripgrep's `LowArgs -> HiArgs`: serde reads everything into [`RawConfig`],
//! then [`RawConfig::validate`] turns it into the typed [`Config`] or says exactly which key is
//! wrong. Components get their own small structs from `Config`; nothing reads globals.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Toml};
use serde::Deserialize;
use vision::face::{CardConfig, DetectorConfig, MatchPolicy, MeshConfig, PortraitConfig, PortraitGate, QualityConfig};
use vision::frame::DecodeLimits;
use vision::liveness::PassiveConfig;
use vision::mrz::{ConsensusConfig, LocateConfig, MrzReaderConfig, RecognitionConfig, SearchConfig};
use vision::onnx::OnnxThreads;

/// The defaults compiled into the binary.
pub const DEFAULTS: &str = include_str!("../config/default.toml");

/// Configuration as read, before validation.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    server: RawServer,
    database: RawDatabase,
    models: RawModels,
    onnx: RawOnnx,
    images: RawImages,
    face: RawFace,
    mrz: RawMrz,
    liveness: RawLiveness,
    session: crate::capture::config::RawSession,
    capture: crate::capture::config::RawCapture,
    demo: crate::capture::config::RawDemo,
    delivery: RawDelivery,
    evidence: RawEvidence,
}

/// `[evidence]`: the crops at rest (see [`EvidenceConfig`]).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEvidence {
    keys: Vec<String>,
    key_file: PathBuf,
    retention_days: u64,
    purge_every_secs: u64,
}

/// Evidence crops at rest.
#[derive(Debug, Clone)]
pub struct EvidenceConfig {
    /// `id:<64 hex>` AES-256 keys; the first seals, all open. Empty: the key in `key_file`.
    pub keys: Vec<String>,
    /// Where the generated key is kept when `keys` is empty.
    pub key_file: PathBuf,
    /// Crops are deleted this long after their decision (the decision and hashes stay).
    pub retention: Duration,
    /// How often the retention job runs.
    pub purge_every: Duration,
}

/// `[delivery]`: the webhook outbox's worker (see `crate::delivery::DeliveryConfig`).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDelivery {
    enabled: bool,
    poll_ms: u64,
    batch: usize,
    timeout_ms: u64,
    lease_secs: u64,
    backoff_base_ms: u64,
    backoff_max_secs: u64,
    max_age_secs: u64,
    secret_grace_secs: u64,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLiveness {
    passive: RawPassive,
}

/// `[liveness.passive]`: the passive presentation-attack layer's thresholds (see
/// `vision::liveness::PassiveConfig` for each one's meaning).
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPassive {
    min_frames: usize,
    model_attack_below: f32,
    model_review_below: f32,
    moire_attack_above: f32,
    moire_review_above: f32,
    banding_attack_above: f32,
    framing_min_support: f32,
    framing_min_step: f32,
    framing_attack_sides: f32,
    framing_review_sides: f32,
    still_below: f32,
    rigidity_min_face_motion: f32,
    motion_min_texture: f32,
    rigidity_min_steps: usize,
    rigidity_attack_above: f32,
    rigidity_review_above: f32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMrz {
    reader: RawMrzReader,
    consensus: RawConsensus,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConsensus {
    confirmations: usize,
    failing_agreements: usize,
    max_frames: usize,
    unlisted: f32,
    plausible_margin: f32,
    doubt_margin: f32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMrzReader {
    font: PathBuf,
    recogniser: String,
    top_k: usize,
    min_pitch_px: f32,
    min_sharpness: f32,
    max_saturated: f32,
    min_frame_steepness: f32,
    locate: RawMrzLocate,
    recognition: RawMrzRecognition,
    search: RawMrzSearch,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMrzLocate {
    ink_delta: u32,
    mean_radius: usize,
    min_glyph: usize,
    max_glyph: usize,
    min_chain: usize,
    min_cell_ink: f32,
    max_line_spacing: f32,
    count_tolerance: f32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMrzRecognition {
    ink_margin: f32,
    spacing_cost: f32,
    template_score_scale: f32,
    template_margin: f32,
    template_blur_spread: usize,
    network_margin: f32,
    line_floor: f32,
    doubt_margin: f32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMrzSearch {
    corrections_per_check: f32,
    blocks_per_level: usize,
    max_attempts: usize,
    enlarge_below: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawServer {
    listen: String,
    shutdown_grace_secs: u64,
    max_body_bytes: usize,
    client_rate_per_minute: u32,
    client_burst: u32,
    idempotency_hours: u64,
    log_format: String,
    public_url: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    url: String,
    max_connections: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawModels {
    cache_dir: PathBuf,
    shared_mirror: PathBuf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOnnx {
    library: PathBuf,
    intra_op_threads: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawImages {
    max_bytes: usize,
    max_pixels: u64,
    max_side: u32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFace {
    detector: RawDetector,
    embedder: RawEmbedder,
    #[serde(rename = "match")]
    matching: RawMatch,
    quality: RawQuality,
    mesh: RawMesh,
    portrait: RawPortrait,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPortrait {
    min_face_mm: f32,
    max_face_mm: f32,
    card_min_contrast: f32,
    min_eye_distance_px: f32,
    min_sharpness: f32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMesh {
    min_presence: f32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawQuality {
    second_face_score: f32,
    min_eye_distance_px: f32,
    max_yaw: f32,
    pitch_min: f32,
    pitch_max: f32,
    max_roll_deg: f32,
    min_sharpness: f32,
    brightness_min: f32,
    brightness_max: f32,
    min_eye_contrast: f32,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEmbedder {
    role: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMatch {
    threshold: f32,
    review_threshold: f32,
    threshold_model: String,
    frames: usize,
    min_frames: usize,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDetector {
    max_input_side: u32,
    score_threshold: f32,
    nms_iou: f32,
    max_faces: usize,
}

/// How logs are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Validated configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// HTTP server settings.
    pub server: ServerConfig,
    /// Database settings.
    pub database: DatabaseConfig,
    /// Model files.
    pub models: ModelsConfig,
    /// ONNX Runtime library and threads.
    pub onnx: OnnxConfig,
    /// Limits on images accepted from clients and the command line.
    pub images: DecodeLimits,
    /// Face detection.
    pub detector: DetectorConfig,
    /// Face embedding and matching.
    pub face_match: FaceMatchConfig,
    /// The face mesh (head pose).
    pub face_mesh: MeshConfig,
    /// Finding the document portrait.
    pub portrait: PortraitConfig,
    /// The bars a document portrait must meet to be matched (`[face.portrait]`).
    pub portrait_gate: PortraitGate,
    /// The MRZ reader.
    pub mrz: MrzConfig,
    /// The passive presentation-attack layer (`[liveness.passive]`).
    pub passive: PassiveConfig,
    /// Verification sessions.
    pub session: crate::capture::config::SessionSettings,
    /// The capture endpoint's limits.
    pub capture: crate::capture::config::CaptureConfig,
    /// Whether `/demo` is served.
    pub demo: bool,
    /// Result delivery (the webhook outbox's worker).
    pub delivery: crate::delivery::DeliveryConfig,
    /// Evidence crops at rest.
    pub evidence: EvidenceConfig,
}

/// MRZ reader settings.
#[derive(Debug, Clone)]
pub struct MrzConfig {
    /// Path of the OCR-B font file.
    pub font: PathBuf,
    /// What recognises the characters.
    pub recogniser: MrzRecogniser,
    /// The reader's settings.
    pub reader: MrzReaderConfig,
    /// When the multi-frame consensus settles or gives up.
    pub consensus: ConsensusConfig,
}

/// What recognises MRZ characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MrzRecogniser {
    /// The trained network the manifest's `mrz_recogniser` role names.
    Network,
    /// OCR-B template correlation (no model; for comparison).
    Templates,
    /// The CTC line model the manifest's `mrz_line_recogniser` role names (PP-OCRv6; for
    /// comparison: it reads fewer frames right, four times slower).
    Ppocr,
    /// Both models, their log-probabilities added (for comparison, as `Ppocr`).
    Fused,
}

/// Face embedding and matching settings.
#[derive(Debug, Clone)]
pub struct FaceMatchConfig {
    /// The manifest role of the embedding model.
    pub embedder_role: String,
    /// Cosine similarity at or above which two faces match.
    pub threshold: f32,
    /// The multi-frame decision.
    pub policy: MatchPolicy,
    /// The live-face quality gate.
    pub quality: QualityConfig,
}

/// HTTP server settings.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Time given to in-flight requests at shutdown.
    pub shutdown_grace: Duration,
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Requests a minute per API client (average).
    pub client_rate_per_minute: u32,
    /// Requests per API client at once.
    pub client_burst: u32,
    /// How long an `Idempotency-Key` of `POST /v1/sessions` answers with its first session.
    pub idempotency_window: Duration,
    /// Log output format.
    pub log_format: LogFormat,
    /// The base URL capture links are built on (`https://verify.example.com`); `None`: from
    /// each request's `Host` header, over plain HTTP (local use).
    pub public_url: Option<String>,
}

/// Database settings.
#[derive(Debug, Clone)]
pub struct DatabaseConfig {
    /// sqlx connection URL (`sqlite://...`).
    pub url: String,
    /// Pool size.
    pub max_connections: u32,
}

/// Where model files are cached and mirrored.
#[derive(Debug, Clone)]
pub struct ModelsConfig {
    /// The cache directory models are loaded from.
    pub cache_dir: PathBuf,
    /// The shared mirror directory, used by `models fetch` when it exists.
    pub shared_mirror: PathBuf,
}

/// ONNX Runtime settings.
#[derive(Debug, Clone)]
pub struct OnnxConfig {
    /// Path of `libonnxruntime.so`.
    pub library: PathBuf,
    /// Per-session thread settings.
    pub threads: OnnxThreads,
}

/// A configuration problem, naming the key.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The sources could not be read or do not fit the schema.
    #[error("configuration: {0}")]
    Read(String),
    /// A value is out of range or malformed.
    #[error("configuration key {key}: {problem} (got {value})")]
    Invalid {
        /// Dotted key, e.g. `server.listen`.
        key: &'static str,
        /// What is wrong.
        problem: &'static str,
        /// The value found.
        value: String,
    },
}

impl RawConfig {
    /// Reads the embedded defaults, then `file` if given, then `VERIFIER_*` variables from `env`.
    pub fn load(file: Option<&Path>, env: Env) -> Result<Self, ConfigError> {
        let mut figment = Figment::from(Toml::string(DEFAULTS));
        if let Some(file) = file {
            if !file.is_file() {
                return Err(ConfigError::Read(format!("file {} does not exist", file.display())));
            }
            figment = figment.merge(Toml::file(file));
        }
        figment.merge(env).extract().map_err(|e| ConfigError::Read(e.to_string()))
    }

    /// Checks every value and builds the typed configuration.
    pub fn validate(self) -> Result<Config, ConfigError> {
        let invalid = |key, problem, value: String| ConfigError::Invalid { key, problem, value };
        let s = self.server;
        let listen = s.listen.parse().map_err(|_| invalid("server.listen", "expected IP:PORT", s.listen.clone()))?;
        let log_format = match s.log_format.as_str() {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => {
                return Err(invalid("server.log_format", "expected \"text\" or \"json\"", other.into()));
            }
        };
        if s.max_body_bytes < 1024 {
            return Err(invalid("server.max_body_bytes", "must be at least 1024", s.max_body_bytes.to_string()));
        }
        if s.client_rate_per_minute == 0 || s.client_burst == 0 {
            return Err(invalid(
                "server.client_rate_per_minute",
                "the rate and client_burst must be positive",
                s.client_rate_per_minute.to_string(),
            ));
        }
        if s.idempotency_hours == 0 {
            return Err(invalid("server.idempotency_hours", "must be at least 1", "0".into()));
        }
        let d = self.database;
        if !["sqlite:", "postgres:", "postgresql:"].iter().any(|p| d.url.starts_with(p)) {
            return Err(invalid("database.url", "expected a sqlite: or postgres: URL", d.url));
        }
        if d.max_connections == 0 {
            return Err(invalid("database.max_connections", "must be at least 1", "0".into()));
        }
        if self.onnx.intra_op_threads == 0 {
            return Err(invalid("onnx.intra_op_threads", "must be at least 1", "0".into()));
        }
        let i = self.images;
        if i.max_side == 0 || i.max_pixels == 0 || i.max_bytes == 0 {
            return Err(invalid("images", "limits must be positive", format!("{i:?}")));
        }
        let det = self.face.detector;
        if !(0.0..=1.0).contains(&det.score_threshold) {
            return Err(invalid(
                "face.detector.score_threshold",
                "must be within 0..=1",
                det.score_threshold.to_string(),
            ));
        }
        if !(0.0..=1.0).contains(&det.nms_iou) {
            return Err(invalid("face.detector.nms_iou", "must be within 0..=1", det.nms_iou.to_string()));
        }
        if det.max_input_side < 32 {
            return Err(invalid("face.detector.max_input_side", "must be at least 32", det.max_input_side.to_string()));
        }
        let m = self.face.matching;
        if !(-1.0..=1.0).contains(&m.threshold) {
            return Err(invalid("face.match.threshold", "must be within -1..=1", m.threshold.to_string()));
        }
        if !(-1.0..=m.threshold).contains(&m.review_threshold) {
            return Err(invalid(
                "face.match.review_threshold",
                "must be within -1..=threshold",
                m.review_threshold.to_string(),
            ));
        }
        if m.min_frames == 0 || m.frames < m.min_frames {
            return Err(invalid(
                "face.match.frames",
                "need 1 <= min_frames <= frames",
                format!("{} and {}", m.min_frames, m.frames),
            ));
        }
        let mesh = self.face.mesh;
        if !(0.0..=1.0).contains(&mesh.min_presence) {
            return Err(invalid("face.mesh.min_presence", "must be within 0..=1", mesh.min_presence.to_string()));
        }
        let p = self.face.portrait;
        if !(p.min_face_mm > 0.0 && p.min_face_mm < p.max_face_mm) {
            return Err(invalid(
                "face.portrait.min_face_mm",
                "need 0 < min_face_mm < max_face_mm",
                format!("{} and {}", p.min_face_mm, p.max_face_mm),
            ));
        }
        for (key, value) in [
            ("face.portrait.min_eye_distance_px", p.min_eye_distance_px),
            ("face.portrait.min_sharpness", p.min_sharpness),
        ] {
            if !(value.is_finite() && value >= 0.0) {
                return Err(invalid(key, "must be a number at least 0", value.to_string()));
            }
        }
        let portrait_gate = PortraitGate { min_eye_distance_px: p.min_eye_distance_px, min_sharpness: p.min_sharpness };
        let q = self.face.quality;
        if q.pitch_min >= q.pitch_max || q.brightness_min >= q.brightness_max {
            return Err(invalid("face.quality", "each _min must be below its _max", format!("{q:?}")));
        }
        let c = self.mrz.consensus;
        if c.confirmations == 0 || c.failing_agreements == 0 || c.max_frames < c.confirmations {
            return Err(invalid(
                "mrz.consensus",
                "need confirmations and failing_agreements >= 1 and max_frames >= confirmations",
                format!("{c:?}"),
            ));
        }
        if !(c.unlisted < 0.0 && c.unlisted.is_finite()) {
            return Err(invalid(
                "mrz.consensus.unlisted",
                "must be a negative log-probability",
                c.unlisted.to_string(),
            ));
        }
        for (key, value) in
            [("mrz.consensus.plausible_margin", c.plausible_margin), ("mrz.consensus.doubt_margin", c.doubt_margin)]
        {
            if !(value > 0.0 && value.is_finite()) {
                return Err(invalid(key, "must be positive", value.to_string()));
            }
        }
        let r = self.mrz.reader;
        if r.top_k == 0 {
            return Err(invalid("mrz.reader.top_k", "must be at least 1", "0".into()));
        }
        let (locate, recognition, search) = validate_mrz_reader(&r)?;
        let recogniser = match r.recogniser.as_str() {
            "network" => MrzRecogniser::Network,
            "templates" => MrzRecogniser::Templates,
            "ppocr" => MrzRecogniser::Ppocr,
            "fused" => MrzRecogniser::Fused,
            _ => {
                return Err(invalid(
                    "mrz.reader.recogniser",
                    "expected network, templates, ppocr or fused",
                    r.recogniser,
                ));
            }
        };
        let role = self.face.embedder.role;
        let manifest = verifier_models::Manifest::embedded();
        let Some(embedder) = manifest.role(&role).filter(|m| m.task == "face_embedding") else {
            let roles: Vec<&str> = manifest
                .roles
                .iter()
                .filter(|(_, model)| manifest.model(model).is_some_and(|m| m.task == "face_embedding"))
                .map(|(r, _)| r.as_str())
                .collect();
            return Err(invalid(
                "face.embedder.role",
                "expected a face embedding role of the manifest",
                format!("{role} (roles: {})", roles.join(", ")),
            ));
        };
        // A threshold belongs to one model's similarity scale: swapping the role without
        // measuring and setting its threshold would silently change the false-match rate.
        if embedder.name != m.threshold_model {
            return Err(invalid(
                "face.match.threshold_model",
                "the threshold was measured for another model than the role's; set both",
                format!("{} (the role {role} plays {})", m.threshold_model, embedder.name),
            ));
        }
        if det.max_faces == 0 {
            return Err(invalid("face.detector.max_faces", "must be at least 1", "0".into()));
        }
        let public_url = match s.public_url.trim_end_matches('/') {
            "" => None,
            url if url.starts_with("https://") || url.starts_with("http://") => Some(url.to_owned()),
            other => return Err(invalid("server.public_url", "expected an http(s):// URL or empty", other.into())),
        };
        let policy = MatchPolicy {
            threshold: m.threshold,
            review_threshold: m.review_threshold,
            frames: m.frames,
            min_frames: m.min_frames,
        };
        let consensus = ConsensusConfig {
            confirmations: c.confirmations,
            failing_agreements: c.failing_agreements,
            max_frames: c.max_frames,
            unlisted: c.unlisted,
            plausible_margin: c.plausible_margin,
            doubt_margin: c.doubt_margin,
        };
        let passive = validate_passive(self.liveness.passive)?;
        let delivery = validate_delivery(self.delivery)?;
        let e = self.evidence;
        if e.retention_days == 0 || e.purge_every_secs == 0 {
            return Err(invalid(
                "evidence.retention_days",
                "retention and purge_every_secs must be positive",
                e.retention_days.to_string(),
            ));
        }
        let evidence = EvidenceConfig {
            keys: e.keys,
            key_file: e.key_file,
            retention: Duration::from_secs(e.retention_days * 86_400),
            purge_every: Duration::from_secs(e.purge_every_secs),
        };
        let (session, capture, demo) = crate::capture::config::validate(
            self.session,
            self.capture,
            self.demo,
            policy,
            portrait_gate,
            consensus,
            passive,
        )?;
        Ok(Config {
            session,
            capture,
            demo,
            passive,
            delivery,
            evidence,
            server: ServerConfig {
                listen,
                shutdown_grace: Duration::from_secs(s.shutdown_grace_secs),
                max_body_bytes: s.max_body_bytes,
                client_rate_per_minute: s.client_rate_per_minute,
                client_burst: s.client_burst,
                idempotency_window: Duration::from_secs(s.idempotency_hours * 3600),
                log_format,
                public_url,
            },
            database: DatabaseConfig { url: d.url, max_connections: d.max_connections },
            models: ModelsConfig { cache_dir: self.models.cache_dir, shared_mirror: self.models.shared_mirror },
            onnx: OnnxConfig {
                library: self.onnx.library,
                threads: OnnxThreads { intra_op: self.onnx.intra_op_threads },
            },
            images: DecodeLimits { max_bytes: i.max_bytes, max_pixels: i.max_pixels, max_side: i.max_side },
            detector: DetectorConfig {
                max_input_side: det.max_input_side,
                score_threshold: det.score_threshold,
                nms_iou: det.nms_iou,
                max_faces: det.max_faces,
            },
            face_match: FaceMatchConfig {
                embedder_role: role,
                threshold: m.threshold,
                policy,
                quality: QualityConfig {
                    second_face_score: q.second_face_score,
                    min_eye_distance_px: q.min_eye_distance_px,
                    max_yaw: q.max_yaw,
                    pitch_range: (q.pitch_min, q.pitch_max),
                    max_roll_deg: q.max_roll_deg,
                    min_sharpness: q.min_sharpness,
                    brightness_range: (q.brightness_min, q.brightness_max),
                    min_eye_contrast: q.min_eye_contrast,
                },
            },
            face_mesh: MeshConfig { min_presence: mesh.min_presence },
            portrait: PortraitConfig {
                min_face_mm: p.min_face_mm,
                max_face_mm: p.max_face_mm,
                card: CardConfig { min_contrast: p.card_min_contrast },
            },
            portrait_gate,
            mrz: MrzConfig {
                font: r.font,
                recogniser,
                reader: MrzReaderConfig {
                    top_k: r.top_k,
                    min_pitch_px: r.min_pitch_px,
                    min_sharpness: r.min_sharpness,
                    max_saturated: r.max_saturated,
                    min_frame_steepness: r.min_frame_steepness,
                    locate,
                    recognition,
                    search,
                },
                consensus,
            },
        })
    }
}

/// Checks `[mrz.reader.locate]`, `[mrz.reader.recognition]` and `[mrz.reader.search]`: each
/// setting in the range where the reader means something by it.
fn validate_mrz_reader(r: &RawMrzReader) -> Result<(LocateConfig, RecognitionConfig, SearchConfig), ConfigError> {
    let invalid = |key, problem, value: String| Err(ConfigError::Invalid { key, problem, value });
    let (l, c, s) = (&r.locate, &r.recognition, &r.search);
    if !(1..=128).contains(&l.ink_delta) {
        return invalid(
            "mrz.reader.locate.ink_delta",
            "must be between 1 and 128 grey levels",
            l.ink_delta.to_string(),
        );
    }
    if l.mean_radius == 0 {
        return invalid("mrz.reader.locate.mean_radius", "must be at least 1", "0".into());
    }
    if l.min_glyph < 2 || l.max_glyph < 2 * l.min_glyph {
        return invalid(
            "mrz.reader.locate.max_glyph",
            "min_glyph must be at least 2 and max_glyph at least twice it (pyramid levels are a factor 2 apart)",
            format!("{}..{}", l.min_glyph, l.max_glyph),
        );
    }
    if l.min_chain < 2 {
        return invalid("mrz.reader.locate.min_chain", "must be at least 2", l.min_chain.to_string());
    }
    if !(0.0..=1.0).contains(&l.min_cell_ink) {
        return invalid(
            "mrz.reader.locate.min_cell_ink",
            "must be a share between 0 and 1",
            l.min_cell_ink.to_string(),
        );
    }
    if !(1.0..=64.0).contains(&l.max_line_spacing) {
        return invalid(
            "mrz.reader.locate.max_line_spacing",
            "must be between 1 and 64 pitches",
            l.max_line_spacing.to_string(),
        );
    }
    if !(l.count_tolerance > 0.0 && l.count_tolerance < 0.5) {
        return invalid(
            "mrz.reader.locate.count_tolerance",
            "must be above 0 and below 0.5",
            l.count_tolerance.to_string(),
        );
    }
    if !(0.0..0.5).contains(&c.ink_margin) {
        return invalid(
            "mrz.reader.recognition.ink_margin",
            "must be at least 0 and below 0.5",
            c.ink_margin.to_string(),
        );
    }
    if !(0.0..=10.0).contains(&c.spacing_cost) {
        return invalid("mrz.reader.recognition.spacing_cost", "must be between 0 and 10", c.spacing_cost.to_string());
    }
    for (key, value) in [
        ("mrz.reader.recognition.template_score_scale", c.template_score_scale),
        ("mrz.reader.recognition.template_margin", c.template_margin),
        ("mrz.reader.recognition.network_margin", c.network_margin),
        ("mrz.reader.recognition.doubt_margin", c.doubt_margin),
    ] {
        if !(value > 0.0 && value.is_finite()) {
            return invalid(key, "must be positive", value.to_string());
        }
    }
    if !(c.line_floor < 0.0 && c.line_floor.is_finite()) {
        return invalid(
            "mrz.reader.recognition.line_floor",
            "must be a negative log-probability",
            c.line_floor.to_string(),
        );
    }
    if c.template_blur_spread > 3 {
        return invalid(
            "mrz.reader.recognition.template_blur_spread",
            "must be at most 3",
            c.template_blur_spread.to_string(),
        );
    }
    if !(s.corrections_per_check > 0.0 && s.corrections_per_check.is_finite()) {
        return invalid(
            "mrz.reader.search.corrections_per_check",
            "must be positive",
            s.corrections_per_check.to_string(),
        );
    }
    if s.blocks_per_level == 0 || s.max_attempts == 0 {
        return invalid(
            "mrz.reader.search.max_attempts",
            "blocks_per_level and max_attempts must be at least 1",
            format!("{} and {}", s.blocks_per_level, s.max_attempts),
        );
    }
    if s.enlarge_below > 4096 {
        return invalid("mrz.reader.search.enlarge_below", "must be at most 4096 pixels", s.enlarge_below.to_string());
    }
    Ok((
        LocateConfig {
            ink_delta: l.ink_delta,
            mean_radius: l.mean_radius,
            min_glyph: l.min_glyph,
            max_glyph: l.max_glyph,
            min_chain: l.min_chain,
            min_cell_ink: l.min_cell_ink,
            max_line_spacing: l.max_line_spacing,
            count_tolerance: l.count_tolerance,
        },
        RecognitionConfig {
            ink_margin: c.ink_margin,
            spacing_cost: c.spacing_cost,
            template_score_scale: c.template_score_scale,
            template_margin: c.template_margin,
            template_blur_spread: c.template_blur_spread,
            network_margin: c.network_margin,
            line_floor: c.line_floor,
            doubt_margin: c.doubt_margin,
        },
        SearchConfig {
            corrections_per_check: s.corrections_per_check,
            blocks_per_level: s.blocks_per_level,
            max_attempts: s.max_attempts,
            enlarge_below: s.enlarge_below,
        },
    ))
}

/// Checks `[liveness.passive]`: each review threshold on the live side of its attack threshold.
fn validate_delivery(d: RawDelivery) -> Result<crate::delivery::DeliveryConfig, ConfigError> {
    let invalid = |key, problem, value: String| Err(ConfigError::Invalid { key, problem, value });
    if d.poll_ms < 10 {
        return invalid("delivery.poll_ms", "must be at least 10", d.poll_ms.to_string());
    }
    if !(1..=256).contains(&d.batch) {
        return invalid("delivery.batch", "must be between 1 and 256", d.batch.to_string());
    }
    if d.timeout_ms < 100 {
        return invalid("delivery.timeout_ms", "must be at least 100", d.timeout_ms.to_string());
    }
    if d.lease_secs * 1000 <= d.timeout_ms {
        return invalid("delivery.lease_secs", "must be longer than delivery.timeout_ms", d.lease_secs.to_string());
    }
    if d.backoff_base_ms == 0 || d.backoff_max_secs * 1000 < d.backoff_base_ms {
        return invalid(
            "delivery.backoff_max_secs",
            "must be at least delivery.backoff_base_ms, which must be positive",
            d.backoff_max_secs.to_string(),
        );
    }
    if d.max_age_secs == 0 {
        return invalid("delivery.max_age_secs", "must be positive", "0".into());
    }
    Ok(crate::delivery::DeliveryConfig {
        enabled: d.enabled,
        poll: Duration::from_millis(d.poll_ms),
        batch: d.batch,
        timeout: Duration::from_millis(d.timeout_ms),
        lease: Duration::from_secs(d.lease_secs),
        backoff: crate::delivery::backoff::Backoff {
            base: Duration::from_millis(d.backoff_base_ms),
            max: Duration::from_secs(d.backoff_max_secs),
            max_age: Duration::from_secs(d.max_age_secs),
        },
        secret_grace: Duration::from_secs(d.secret_grace_secs),
    })
}

fn validate_passive(p: RawPassive) -> Result<PassiveConfig, ConfigError> {
    let invalid = |key, problem, value: String| ConfigError::Invalid { key, problem, value };
    if p.min_frames == 0 {
        return Err(invalid("liveness.passive.min_frames", "must be at least 1", "0".into()));
    }
    if !(0.0 <= p.model_attack_below && p.model_attack_below <= p.model_review_below && p.model_review_below <= 1.0) {
        return Err(invalid(
            "liveness.passive.model_attack_below",
            "need 0 <= model_attack_below <= model_review_below <= 1",
            format!("{} and {}", p.model_attack_below, p.model_review_below),
        ));
    }
    let ordered = [
        ("liveness.passive.moire_review_above", p.moire_review_above, p.moire_attack_above),
        ("liveness.passive.framing_review_sides", p.framing_review_sides, p.framing_attack_sides),
        ("liveness.passive.rigidity_review_above", p.rigidity_review_above, p.rigidity_attack_above),
    ];
    for (key, review, attack) in ordered {
        if !(review.is_finite() && attack.is_finite() && review <= attack) {
            return Err(invalid(
                key,
                "must be finite and at most its attack threshold",
                format!("{review} > {attack}"),
            ));
        }
    }
    let positive = p.rigidity_min_face_motion > 0.0
        && p.framing_min_support > 0.0
        && p.framing_min_step > 0.0
        && p.motion_min_texture >= 0.0;
    if !(p.still_below >= 0.0 && positive) {
        return Err(invalid(
            "liveness.passive",
            "still_below >= 0, motion_min_texture >= 0, rigidity_min_face_motion, framing_min_support and \
             framing_min_step > 0",
            format!("{p:?}"),
        ));
    }
    Ok(PassiveConfig {
        min_frames: p.min_frames,
        model_attack_below: p.model_attack_below,
        model_review_below: p.model_review_below,
        moire_attack_above: p.moire_attack_above,
        moire_review_above: p.moire_review_above,
        banding_attack_above: p.banding_attack_above,
        framing_min_support: p.framing_min_support,
        framing_min_step: p.framing_min_step,
        framing_attack_sides: p.framing_attack_sides,
        framing_review_sides: p.framing_review_sides,
        still_below: p.still_below,
        rigidity_min_face_motion: p.rigidity_min_face_motion,
        motion_min_texture: p.motion_min_texture,
        rigidity_min_steps: p.rigidity_min_steps,
        rigidity_attack_above: p.rigidity_attack_above,
        rigidity_review_above: p.rigidity_review_above,
    })
}

/// The environment provider the binary uses: `VERIFIER_SECTION__KEY`.
pub fn env_provider() -> Env {
    // VERIFIER_CONFIG names the file and VERIFIER_MODEL_MIRROR the model mirror; they are not keys.
    Env::prefixed("VERIFIER_").ignore(&["CONFIG", "MODEL_MIRROR"]).split("__")
}

#[cfg(test)]
mod tests {
    use super::*;

    // figment's test jail returns its own (large) error type; that is its API, not ours.
    #[allow(clippy::result_large_err)]
    fn check(overrides: &[(&str, &str)], expect: &str) {
        figment::Jail::expect_with(|jail| {
            for (k, v) in overrides {
                jail.set_env(k, v);
            }
            let got = match RawConfig::load(None, env_provider()).and_then(RawConfig::validate) {
                Ok(c) => format!("ok {}", c.server.listen),
                Err(e) => e.to_string(),
            };
            assert!(got.contains(expect), "{got:?} does not contain {expect:?}");
            Ok(())
        });
    }

    #[test]
    fn the_shipped_passive_thresholds_are_the_defaults() {
        let config = RawConfig::load(None, Env::prefixed("VERIFIER_TEST_NONE_")).and_then(RawConfig::validate);
        assert_eq!(config.expect("defaults are valid").passive, PassiveConfig::shipped());
        check(&[("VERIFIER_LIVENESS__PASSIVE__MOIRE_REVIEW_ABOVE", "9")], "liveness.passive.moire_review_above");
    }

    #[test]
    fn defaults_are_valid() {
        check(&[], "ok 127.0.0.1:8080");
    }

    #[test]
    fn the_portrait_gate_is_validated() {
        let config = RawConfig::load(None, Env::prefixed("VERIFIER_TEST_NONE_")).and_then(RawConfig::validate);
        let config = config.expect("defaults are valid");
        assert_eq!(
            config.portrait_gate, config.session.machine.portrait_gate,
            "the session gets [face.portrait]'s bars"
        );
        assert!(config.portrait_gate.min_sharpness > 0.0 && config.portrait_gate.min_eye_distance_px > 0.0);
        check(&[("VERIFIER_FACE__PORTRAIT__MIN_SHARPNESS", "-0.1")], "face.portrait.min_sharpness");
        check(&[("VERIFIER_FACE__PORTRAIT__MIN_EYE_DISTANCE_PX", "-3")], "face.portrait.min_eye_distance_px");
        check(
            &[("VERIFIER_SESSION__PORTRAIT_FRAMES", "4"), ("VERIFIER_SESSION__PORTRAIT_MAX_FRAMES", "3")],
            "session.portrait_max_frames",
        );
        check(&[("VERIFIER_SESSION__PORTRAIT_MAX_FRAMES", "3")], "ok 127.0.0.1:8080");
    }

    #[test]
    fn the_mrz_reader_and_consensus_settings_are_validated() {
        for (key, value, named) in [
            ("VERIFIER_MRZ__READER__LOCATE__INK_DELTA", "0", "mrz.reader.locate.ink_delta"),
            ("VERIFIER_MRZ__READER__LOCATE__MEAN_RADIUS", "0", "mrz.reader.locate.mean_radius"),
            ("VERIFIER_MRZ__READER__LOCATE__MIN_CHAIN", "1", "mrz.reader.locate.min_chain"),
            ("VERIFIER_MRZ__READER__LOCATE__MIN_CELL_INK", "1.5", "mrz.reader.locate.min_cell_ink"),
            ("VERIFIER_MRZ__READER__LOCATE__MAX_LINE_SPACING", "100", "mrz.reader.locate.max_line_spacing"),
            ("VERIFIER_MRZ__READER__LOCATE__COUNT_TOLERANCE", "0.5", "mrz.reader.locate.count_tolerance"),
            ("VERIFIER_MRZ__READER__RECOGNITION__SPACING_COST", "11", "mrz.reader.recognition.spacing_cost"),
            ("VERIFIER_MRZ__READER__RECOGNITION__DOUBT_MARGIN", "0", "mrz.reader.recognition.doubt_margin"),
            ("VERIFIER_MRZ__READER__RECOGNITION__NETWORK_MARGIN", "-1", "mrz.reader.recognition.network_margin"),
            ("VERIFIER_MRZ__READER__SEARCH__ENLARGE_BELOW", "5000", "mrz.reader.search.enlarge_below"),
            ("VERIFIER_MRZ__CONSENSUS__UNLISTED", "0.5", "mrz.consensus.unlisted"),
            ("VERIFIER_MRZ__CONSENSUS__PLAUSIBLE_MARGIN", "0", "mrz.consensus.plausible_margin"),
            ("VERIFIER_MRZ__CONSENSUS__DOUBT_MARGIN", "-2", "mrz.consensus.doubt_margin"),
        ] {
            check(&[(key, value)], named);
        }
        check(
            &[("VERIFIER_MRZ__READER__LOCATE__MIN_GLYPH", "8"), ("VERIFIER_MRZ__READER__LOCATE__MAX_GLYPH", "12")],
            "mrz.reader.locate.max_glyph",
        );
        check(&[("VERIFIER_MRZ__READER__RECOGNITION__DOUBT_MARGIN", "0.7")], "ok 127.0.0.1:8080");
    }

    #[test]
    fn environment_overrides_and_validation() {
        check(&[("VERIFIER_SERVER__LISTEN", "0.0.0.0:9000")], "ok 0.0.0.0:9000");
        check(&[("VERIFIER_SERVER__LISTEN", "nowhere")], "server.listen: expected IP:PORT (got nowhere)");
        check(&[("VERIFIER_SERVER__LOG_FORMAT", "xml")], "server.log_format");
        check(&[("VERIFIER_FACE__DETECTOR__SCORE_THRESHOLD", "1.5")], "face.detector.score_threshold");
        check(&[("VERIFIER_DATABASE__URL", "mysql://x")], "database.url");
        check(&[("VERIFIER_SERVER__NO_SUCH_KEY", "1")], "unknown field");
        check(&[("VERIFIER_MODEL_MIRROR", "/somewhere")], "ok 127.0.0.1:8080");
        check(&[("VERIFIER_FACE__EMBEDDER__ROLE", "face_detector")], "expected a face embedding role");
        check(&[("VERIFIER_FACE__MATCH__THRESHOLD_MODEL", "other")], "face.match.threshold_model");
        let alt = verifier_models::Manifest::embedded();
        let alt = alt.role("face_embedding_alt").expect("the manifest has an alternative embedder");
        check(
            &[
                ("VERIFIER_FACE__EMBEDDER__ROLE", "face_embedding_alt"),
                ("VERIFIER_FACE__MATCH__THRESHOLD_MODEL", &alt.name),
            ],
            "ok 127.0.0.1:8080",
        );
    }
}
