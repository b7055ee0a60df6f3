//! Signed webhooks, one scheme both ways: Stripe's (`Stripe-Signature`) for payments in,
//! and the same for creditkit's own events out (`Creditkit-Signature`). The header is
//! `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed by the secret>`;
//! several `v1` may be present (a secret being rolled); a signature older or newer than
//! the tolerance is refused, so a captured request cannot be replayed later. Outbound
//! events also carry the Standard Webhooks headers ([`standard_signature`]).

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Stripe's default, and ours: five minutes either way.
pub const TOLERANCE_SECONDS: i64 = 300;

/// Why a signed request was refused.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("no signature header")]
    Missing,
    #[error("the signature header has no timestamp or no v1 signature")]
    Malformed,
    #[error("the signature is {0} s away from now (tolerance {TOLERANCE_SECONDS} s)")]
    Stale(i64),
    #[error("no v1 signature matches")]
    Mismatch,
}

fn mac(secret: &str, timestamp: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut m = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    m
}

/// The header value for `body` signed at `timestamp`.
pub fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let sig = mac(secret, timestamp, body).finalize().into_bytes();
    format!("t={timestamp},v1={}", creditkit_ledger::hex(&sig))
}

/// Checks a header against `body` at `now` (unix seconds), in constant time per
/// candidate signature.
pub fn verify(
    secret: &str,
    header: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), SignatureError> {
    let header = header.ok_or(SignatureError::Missing)?;
    let mut timestamp = None;
    let mut candidates = Vec::new();
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", v)) => timestamp = v.parse::<i64>().ok(),
            Some(("v1", v)) => candidates.push(v),
            _ => {}
        }
    }
    let timestamp = timestamp.ok_or(SignatureError::Malformed)?;
    if candidates.is_empty() {
        return Err(SignatureError::Malformed);
    }
    let skew = now - timestamp;
    if skew.abs() > TOLERANCE_SECONDS {
        return Err(SignatureError::Stale(skew));
    }
    for candidate in candidates {
        let Some(bytes) = decode_hex(candidate) else {
            continue;
        };
        if mac(secret, timestamp, body).verify_slice(&bytes).is_ok() {
            return Ok(());
        }
    }
    Err(SignatureError::Mismatch)
}

/// The Standard Webhooks signature (standardwebhooks.com) of an outbound event:
/// `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`, keyed by the bytes of a
/// `whsec_<base64>` secret (a secret in another form, made before, keys with its text).
/// Sent as `webhook-signature` beside `webhook-id` and `webhook-timestamp`, so a
/// receiver verifies with the official libraries (PyPI and npm `standardwebhooks`).
pub fn standard_signature(secret: &str, id: &str, timestamp: i64, body: &[u8]) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD;
    let key = secret
        .strip_prefix("whsec_")
        .and_then(|k| b64.decode(k).ok())
        .unwrap_or_else(|| secret.as_bytes().to_vec());
    let mut m = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key");
    m.update(id.as_bytes());
    m.update(b".");
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    format!("v1,{}", b64.encode(m.finalize().into_bytes()))
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Standard Webhooks specification's own example (its README): this secret, id,
    /// timestamp and body sign to this value.
    #[test]
    fn standard_signature_matches_the_specification_example() {
        let sig = standard_signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn signs_and_verifies_and_refuses_what_it_should() {
        let body = br#"{"id":"evt_1"}"#;
        let h = sign("whsec_test", 1_700_000_000, body);
        assert!(h.starts_with("t=1700000000,v1="));
        assert_eq!(verify("whsec_test", Some(&h), body, 1_700_000_100), Ok(()));
        // Another secret, another body, too late, too early, garbage.
        assert_eq!(
            verify("whsec_other", Some(&h), body, 1_700_000_000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("whsec_test", Some(&h), b"{}", 1_700_000_000),
            Err(SignatureError::Mismatch)
        );
        assert_eq!(
            verify("whsec_test", Some(&h), body, 1_700_000_301),
            Err(SignatureError::Stale(301))
        );
        assert_eq!(
            verify("whsec_test", Some(&h), body, 1_699_999_600),
            Err(SignatureError::Stale(-400))
        );
        assert_eq!(
            verify("whsec_test", Some("v1=00"), body, 0),
            Err(SignatureError::Malformed)
        );
        assert_eq!(
            verify("whsec_test", None, body, 0),
            Err(SignatureError::Missing)
        );
        // Several signatures (a rolled secret): any one matching is enough.
        let old = sign("whsec_old", 1_700_000_000, body);
        let both = format!("{},v1={}", h, old.split("v1=").nth(1).unwrap());
        assert_eq!(
            verify("whsec_old", Some(&both), body, 1_700_000_000),
            Ok(())
        );
    }

    #[test]
    fn matches_a_known_vector() {
        // HMAC-SHA256(key "whsec_test", "1700000000.{}"), computed independently
        // (python3 -c 'import hmac,hashlib; print(hmac.new(b"whsec_test", b"1700000000.{}", hashlib.sha256).hexdigest())').
        assert_eq!(
            sign("whsec_test", 1_700_000_000, b"{}"),
            format!("t=1700000000,v1={}", KNOWN)
        );
    }

    const KNOWN: &str = "35495024f4ef3f94e5a93e22221544c4b75e9a42300cd965ab81cb85cd994e91";
}
