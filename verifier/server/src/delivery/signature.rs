//! Webhook signatures, both ends: the header the verifier sends and the check a receiver runs.
//!
//! A delivery carries `Verifier-Timestamp: <Unix seconds>` and `Verifier-Signature: v1=<hex>`,
//! where `<hex>` is the HMAC-SHA256 of `"<timestamp>.<body>"` keyed with the client's webhook
//! secret (the ASCII text `verifier clients add` printed). While a secret rotates, the header holds
//! one `v1=` value per valid secret, comma-separated; a receiver accepts the delivery when any
//! of them matches its secret. [`verify`] is the documented receiver (`docs/webhooks.md`): it
//! checks the timestamp's window first (a replayed delivery is refused however well signed),
//! then compares in constant time.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// The signature scheme's tag in `Verifier-Signature`.
pub const SCHEME: &str = "v1";

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> HmacSha256 {
    // HMAC takes a key of any length: this cannot fail.
    let mut mac =
        HmacSha256::new_from_slice(secret.as_bytes()).unwrap_or_else(|_| unreachable!("HMAC keys any length"));
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The hex HMAC-SHA256 of `"<timestamp>.<body>"` under `secret`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    hex::encode(mac(secret, timestamp, body).finalize().into_bytes())
}

/// The `Verifier-Signature` value: one `v1=` per secret, in the order given (newest first).
pub fn signature_header(secrets: &[&str], timestamp: i64, body: &[u8]) -> String {
    secrets.iter().map(|s| format!("{SCHEME}={}", sign(s, timestamp, body))).collect::<Vec<_>>().join(",")
}

/// Why a receiver refuses a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// `Verifier-Timestamp` is missing or not a number of seconds.
    #[error("the timestamp is missing or malformed")]
    BadTimestamp,
    /// The timestamp is further from the receiver's clock than the window allows: a replay,
    /// or a clock far off.
    #[error("the timestamp is outside the accepted window")]
    Stale,
    /// No `v1=` signature in the header.
    #[error("no v1 signature")]
    NoSignature,
    /// No signature matches the body under this secret (a tampered body, a wrong secret).
    #[error("no signature matches")]
    Mismatch,
}

/// Checks a delivery as a receiver should: `timestamp` and `signature` are the two headers'
/// values, `body` the raw bytes received (before any JSON parsing), `now` the receiver's Unix
/// time in seconds, `window_secs` how far the timestamp may be from it (5 minutes is usual).
pub fn verify(
    secret: &str,
    timestamp: &str,
    signature: &str,
    body: &[u8],
    now: i64,
    window_secs: i64,
) -> Result<(), VerifyError> {
    let ts: i64 = match timestamp.trim() {
        t if !t.is_empty() && t.len() <= 12 && t.bytes().all(|b| b.is_ascii_digit()) => {
            t.parse().map_err(|_| VerifyError::BadTimestamp)?
        }
        _ => return Err(VerifyError::BadTimestamp),
    };
    if (now - ts).abs() > window_secs {
        return Err(VerifyError::Stale);
    }
    let mut any = false;
    for part in signature.split(',') {
        let Some(value) = part.trim().strip_prefix("v1=") else { continue };
        any = true;
        let Ok(bytes) = hex::decode(value) else { continue };
        // `verify_slice` compares in constant time.
        if mac(secret, ts, body).verify_slice(&bytes).is_ok() {
            return Ok(());
        }
    }
    Err(if any { VerifyError::Mismatch } else { VerifyError::NoSignature })
}

#[cfg(test)]
mod tests {
    use super::*;

    const BODY: &[u8] = br#"{"id":"se_1","status":"decided"}"#;

    #[test]
    fn a_signed_delivery_verifies_and_any_change_fails() {
        let header = signature_header(&["whsec_new", "whsec_old"], 1_700_000_000, BODY);
        assert_eq!(header.matches("v1=").count(), 2);
        let now = 1_700_000_030;
        assert_eq!(verify("whsec_new", "1700000000", &header, BODY, now, 300), Ok(()));
        // The previous secret still verifies while both sign (rotation's grace period).
        assert_eq!(verify("whsec_old", "1700000000", &header, BODY, now, 300), Ok(()));
        let tampered = br#"{"id":"se_1","status":"decidee"}"#;
        assert_eq!(verify("whsec_new", "1700000000", &header, tampered, now, 300), Err(VerifyError::Mismatch));
        assert_eq!(verify("whsec_other", "1700000000", &header, BODY, now, 300), Err(VerifyError::Mismatch));
        // The timestamp is signed: moving it breaks the signature, keeping it makes it stale.
        assert_eq!(verify("whsec_new", "1700000020", &header, BODY, now, 300), Err(VerifyError::Mismatch));
        assert_eq!(verify("whsec_new", "1700000000", &header, BODY, now + 600, 300), Err(VerifyError::Stale));
        assert_eq!(verify("whsec_new", "soon", &header, BODY, now, 300), Err(VerifyError::BadTimestamp));
        assert_eq!(verify("whsec_new", "1700000000", "v0=ab", BODY, now, 300), Err(VerifyError::NoSignature));
        assert_eq!(verify("whsec_new", "1700000000", "v1=zz,v1=", BODY, now, 300), Err(VerifyError::Mismatch));
    }

    #[test]
    fn the_signature_is_hmac_sha256_of_timestamp_dot_body() {
        // RFC 4231-style check against an independent computation: HMAC-SHA256("key",
        // "The quick brown fox jumps over the lazy dog") is a published test vector.
        let mut m = HmacSha256::new_from_slice(b"key").expect("any key");
        m.update(b"The quick brown fox jumps over the lazy dog");
        assert_eq!(
            hex::encode(m.finalize().into_bytes()),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8"
        );
        assert_eq!(sign("key", 12, b"x"), {
            let mut m = HmacSha256::new_from_slice(b"key").expect("any key");
            m.update(b"12.x");
            hex::encode(m.finalize().into_bytes())
        });
    }
}
