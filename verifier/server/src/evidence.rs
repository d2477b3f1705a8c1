//! Evidence at rest: the few crops a decision keeps (document, portrait, one live face) are
//! sealed with AES-256-GCM before they reach the database, under a key named by its id, so keys
//! rotate: the first configured key seals, every configured key opens (`[evidence].keys`).
//!
//! Each crop has its own random 96-bit nonce; the session id and the crop's kind are the
//! associated data, so a sealed crop moved to another session or kind does not open. Without a
//! configured key the service keeps one generated key in `[evidence].key_file` (mode 0600),
//! created at first start: the embedded defaults work, and an operator who sets `keys` takes
//! over without a migration (add the generated key after the new one to keep opening old crops).

use std::collections::HashMap;
use std::path::Path;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};

/// A crop as stored: the key's id, the nonce and the ciphertext (with its tag).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sealed {
    /// Which key sealed it.
    pub key_id: String,
    /// The nonce, 12 bytes.
    pub nonce: Vec<u8>,
    /// Ciphertext and tag.
    pub bytes: Vec<u8>,
}

/// Why evidence could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvidenceError {
    /// A configured key is not `id:<64 hex digits>`.
    #[error("evidence key {0:?} is not id:<64 hex digits> with a short id of letters, digits, '-' or '_'")]
    BadKey(String),
    /// The key file cannot be read or written.
    #[error("evidence key file {path}: {source}")]
    KeyFile {
        /// The file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// A crop was sealed with a key that is no longer configured.
    #[error("evidence sealed with unknown key {0:?}")]
    UnknownKey(String),
    /// The ciphertext, nonce or associated data do not match (tampered, or moved).
    #[error("evidence does not open: tampered or not this session's")]
    Tampered,
}

/// The keys: one seals, all open.
pub struct EvidenceCipher {
    current: String,
    keys: HashMap<String, Aes256Gcm>,
}

impl std::fmt::Debug for EvidenceCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "EvidenceCipher(current {:?}, {} keys)", self.current, self.keys.len())
    }
}

fn parse_key(text: &str) -> Result<(String, Aes256Gcm), EvidenceError> {
    let bad = || EvidenceError::BadKey(text.split(':').next().unwrap_or("").to_owned());
    let (id, hex_key) = text.trim().split_once(':').ok_or_else(bad)?;
    let valid_id =
        !id.is_empty() && id.len() <= 32 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    let bytes = hex::decode(hex_key).map_err(|_| bad())?;
    if !valid_id || bytes.len() != 32 {
        return Err(bad());
    }
    let cipher = Aes256Gcm::new_from_slice(&bytes).map_err(|_| bad())?;
    Ok((id.to_owned(), cipher))
}

impl EvidenceCipher {
    /// From `id:hex` entries, the first sealing.
    pub fn from_keys(entries: &[String]) -> Result<Self, EvidenceError> {
        let mut keys = HashMap::new();
        let mut current = None;
        for e in entries {
            let (id, cipher) = parse_key(e)?;
            current.get_or_insert_with(|| id.clone());
            keys.insert(id, cipher);
        }
        match current {
            Some(current) => Ok(Self { current, keys }),
            None => Err(EvidenceError::BadKey(String::new())),
        }
    }

    /// The configured keys, or else the key kept in `key_file` (generated there, readable by
    /// this user only, when the file does not exist).
    pub fn load(entries: &[String], key_file: &Path) -> Result<Self, EvidenceError> {
        if !entries.is_empty() {
            return Self::from_keys(entries);
        }
        let io = |source| EvidenceError::KeyFile { path: key_file.display().to_string(), source };
        let text = match std::fs::read_to_string(key_file) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let text = format!("local-1:{}\n", hex::encode(rand::random::<[u8; 32]>()));
                if let Some(folder) = key_file.parent().filter(|p| !p.as_os_str().is_empty()) {
                    std::fs::create_dir_all(folder).map_err(io)?;
                }
                write_private(key_file, &text).map_err(io)?;
                tracing::info!(file = %key_file.display(), "generated an evidence key");
                text
            }
            Err(e) => return Err(io(e)),
        };
        Self::from_keys(&text.lines().filter(|l| !l.trim().is_empty()).map(str::to_owned).collect::<Vec<_>>())
    }

    /// The id of the key that seals.
    pub fn current(&self) -> &str {
        &self.current
    }

    /// Seals `plain`, bound to `session_id` and `kind`.
    pub fn seal(&self, session_id: &str, kind: &str, plain: &[u8]) -> Sealed {
        let nonce: [u8; 12] = rand::random();
        let aad = format!("{session_id}/{kind}");
        let cipher = &self.keys[&self.current];
        // AES-GCM encryption fails only for messages over 64 GiB.
        let bytes = cipher
            .encrypt(Nonce::from_slice(&nonce), Payload { msg: plain, aad: aad.as_bytes() })
            .unwrap_or_else(|_| unreachable!("an evidence crop is far under AES-GCM's limit"));
        Sealed { key_id: self.current.clone(), nonce: nonce.to_vec(), bytes }
    }

    /// Opens a crop sealed for `session_id` and `kind`.
    pub fn open(&self, session_id: &str, kind: &str, sealed: &Sealed) -> Result<Vec<u8>, EvidenceError> {
        let cipher = self.keys.get(&sealed.key_id).ok_or_else(|| EvidenceError::UnknownKey(sealed.key_id.clone()))?;
        if sealed.nonce.len() != 12 {
            return Err(EvidenceError::Tampered);
        }
        let aad = format!("{session_id}/{kind}");
        cipher
            .decrypt(Nonce::from_slice(&sealed.nonce), Payload { msg: &sealed.bytes, aad: aad.as_bytes() })
            .map_err(|_| EvidenceError::Tampered)
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path)?;
    f.write_all(text.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    std::fs::write(path, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(id: &str, byte: u8) -> String {
        format!("{id}:{}", hex::encode([byte; 32]))
    }

    #[test]
    fn sealed_evidence_opens_only_where_it_belongs_and_keys_rotate() {
        let old = EvidenceCipher::from_keys(&[key("k1", 1)]).unwrap();
        let sealed = old.seal("se_1", "face", b"jpeg bytes");
        assert_eq!(sealed.key_id, "k1");
        assert_ne!(sealed.bytes, b"jpeg bytes", "not stored in clear");
        assert_eq!(old.open("se_1", "face", &sealed).unwrap(), b"jpeg bytes");
        assert!(matches!(old.open("se_2", "face", &sealed), Err(EvidenceError::Tampered)), "moved to another session");
        assert!(matches!(old.open("se_1", "document", &sealed), Err(EvidenceError::Tampered)), "moved to another kind");
        let mut flipped = sealed.clone();
        flipped.bytes[0] ^= 1;
        assert!(matches!(old.open("se_1", "face", &flipped), Err(EvidenceError::Tampered)));
        // A new key seals; the old one still opens what it sealed.
        let rotated = EvidenceCipher::from_keys(&[key("k2", 2), key("k1", 1)]).unwrap();
        assert_eq!(rotated.current(), "k2");
        assert_eq!(rotated.open("se_1", "face", &sealed).unwrap(), b"jpeg bytes");
        assert_eq!(rotated.seal("se_1", "face", b"x").key_id, "k2");
        let dropped = EvidenceCipher::from_keys(&[key("k2", 2)]).unwrap();
        assert!(matches!(dropped.open("se_1", "face", &sealed), Err(EvidenceError::UnknownKey(_))));
        for bad in ["k1", "k1:abcd", ":00", &format!("bad id:{}", hex::encode([0u8; 32]))] {
            assert!(EvidenceCipher::from_keys(&[bad.to_owned()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn without_configured_keys_one_is_generated_once_and_kept_private() {
        let dir = std::env::temp_dir().join(format!("verifier-evidence-key-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let file = dir.join("keys/evidence.key");
        let first = EvidenceCipher::load(&[], &file).unwrap();
        let sealed = first.seal("se_1", "portrait", b"p");
        let again = EvidenceCipher::load(&[], &file).unwrap();
        assert_eq!(again.open("se_1", "portrait", &sealed).unwrap(), b"p", "the same key after a restart");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
