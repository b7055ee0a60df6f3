//! Signed quotes: a quote costs no write.
//!
//! A quote's id carries what it priced — `{id}.{claims}.{mac}`: a short id
//! (`quo_…`), the claims as base64url JSON, and 128 bits of HMAC-SHA256 over both under
//! the database's quote key. The hold that confirms it checks the MAC and writes the
//! quote's row in its own transaction (`holds.rs`), so a charge is two writes, not three,
//! and a quote nobody confirms leaves nothing to prune. The key is made once per database
//! (table `secrets`) and read at open, so every server on one PostgreSQL database, and a
//! backup restored elsewhere, checks the quotes the others signed.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use creditkit_pricing::Request;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::db::Tx;
use crate::error::LedgerError;

/// Longer ids are refused before any decoding: a request body's limit (1 MiB), which
/// bounds every request a quote can price (100 items, text counted away).
const MAX_QUOTE_ID_BYTES: usize = 1 << 20;
/// Bytes of the MAC kept in the id.
const MAC_BYTES: usize = 16;

/// What a quote said, as signed into its id. Short names: the id travels in URLs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct QuoteClaims {
    #[serde(rename = "w")]
    pub workspace_id: String,
    #[serde(rename = "l")]
    pub wallet_id: String,
    /// The card it was priced with (cards are stored by hash and never change).
    #[serde(rename = "c")]
    pub card_hash: String,
    /// The request as priced: text already counted, agent usage filled in.
    #[serde(rename = "r")]
    pub request: Request,
    #[serde(rename = "m", default, skip_serializing_if = "Option::is_none")]
    pub member_id: Option<String>,
    #[serde(rename = "p", default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    #[serde(rename = "x")]
    pub max_mc: i64,
    /// A streamed turn: its first chunk's output tokens and what the hold reserves.
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub stream_first_tokens: Option<i64>,
    #[serde(rename = "h", default, skip_serializing_if = "Option::is_none")]
    pub hold_mc: Option<i64>,
    /// The chat the turn belongs to, counted per conversation.
    #[serde(rename = "v", default, skip_serializing_if = "Option::is_none")]
    pub conversation: Option<String>,
    #[serde(rename = "t")]
    pub created_at_ms: i64,
    #[serde(rename = "e")]
    pub expires_at_ms: i64,
}

/// The database's quote key, ready to sign and check.
#[derive(Clone)]
pub(crate) struct QuoteKey(Hmac<Sha256>);

impl QuoteKey {
    pub(crate) fn new(secret: &[u8]) -> QuoteKey {
        QuoteKey(Hmac::new_from_slice(secret).expect("HMAC takes a key of any length"))
    }

    /// Reads the database's key, making it on the first open (concurrent first opens on
    /// PostgreSQL agree: the first insert wins, every opener reads it back).
    pub(crate) async fn load(tx: &mut Tx) -> Result<QuoteKey, LedgerError> {
        let mut fresh = [0u8; 32];
        getrandom::getrandom(&mut fresh)
            .map_err(|e| LedgerError::Config(format!("no OS randomness for the quote key: {e}")))?;
        sqlx::query(
            "INSERT INTO secrets (name, value) VALUES ('quote_key', $1) ON CONFLICT (name) DO NOTHING",
        )
        .bind(crate::hex(&fresh))
        .execute(&mut **tx)
        .await?;
        let (value,): (String,) =
            sqlx::query_as("SELECT value FROM secrets WHERE name = 'quote_key'")
                .fetch_one(&mut **tx)
                .await?;
        let secret = unhex(&value)
            .filter(|s| s.len() == fresh.len())
            .ok_or_else(|| {
                LedgerError::Corrupt("the stored quote key is not 32 hex bytes".into())
            })?;
        Ok(QuoteKey::new(&secret))
    }

    /// The id of a quote: `id` (`quo_…`) with its claims and their MAC.
    pub(crate) fn sign(&self, id: &str, claims: &QuoteClaims) -> String {
        let json = serde_json::to_vec(claims).expect("claims serialize");
        let mut out = String::with_capacity(id.len() + json.len() * 4 / 3 + 30);
        out.push_str(id);
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(&json, &mut out);
        let mut mac = self.0.clone();
        mac.update(out.as_bytes());
        let tag = mac.finalize().into_bytes();
        out.push('.');
        URL_SAFE_NO_PAD.encode_string(&tag[..MAC_BYTES], &mut out);
        out
    }

    /// The short id and claims of a quote id this key signed; `None` for anything else
    /// (altered, truncated, signed by another database, or not a signed id at all).
    pub(crate) fn open<'t>(&self, quote_id: &'t str) -> Option<(&'t str, QuoteClaims)> {
        if quote_id.len() > MAX_QUOTE_ID_BYTES {
            return None;
        }
        let (signed, tag) = quote_id.rsplit_once('.')?;
        let (id, payload) = signed.split_once('.')?;
        if !id.starts_with("quo_") {
            return None;
        }
        let tag = URL_SAFE_NO_PAD.decode(tag).ok()?;
        if tag.len() != MAC_BYTES {
            return None;
        }
        let mut mac = self.0.clone();
        mac.update(signed.as_bytes());
        mac.verify_truncated_left(&tag).ok()?;
        let json = URL_SAFE_NO_PAD.decode(payload).ok()?;
        Some((id, serde_json::from_slice(&json).ok()?))
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    let digit = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    b.chunks(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> QuoteClaims {
        QuoteClaims {
            workspace_id: "ws_1".into(),
            wallet_id: "wal_1".into(),
            card_hash: "abc".into(),
            request: serde_json::from_str(
                r#"{"items":[{"action":"image","params":{"size":"2k"}}]}"#,
            )
            .unwrap(),
            member_id: Some("mem_1".into()),
            project: None,
            max_mc: 60_000,
            stream_first_tokens: None,
            hold_mc: None,
            conversation: None,
            created_at_ms: 1,
            expires_at_ms: 2,
        }
    }

    #[test]
    fn a_signed_id_opens_to_its_claims_and_nothing_else_does() {
        let key = QuoteKey::new(&[7; 32]);
        let id = key.sign("quo_1", &claims());
        let (short, back) = key.open(&id).expect("opens");
        assert_eq!((short, back), ("quo_1", claims()));
        // Another database's key, any changed byte, a cut tag, or no tag: refused.
        assert!(QuoteKey::new(&[8; 32]).open(&id).is_none());
        for i in 0..id.len() {
            let mut bytes = id.clone().into_bytes();
            bytes[i] = if bytes[i] == b'A' { b'B' } else { b'A' };
            let changed = String::from_utf8(bytes).unwrap();
            assert!(key.open(&changed).is_none(), "byte {i} changed: {changed}");
        }
        let (cut, _) = id.rsplit_once('.').unwrap();
        assert!(key.open(cut).is_none());
        assert!(
            key.open(&format!("{cut}.AAAA")).is_none(),
            "a short tag is not a tag"
        );
        assert!(key.open("quo_1").is_none());
        assert!(key.open(&"x".repeat(MAX_QUOTE_ID_BYTES + 1)).is_none());
    }

    #[test]
    fn unhex_reads_what_hex_writes() {
        assert_eq!(
            unhex(&crate::hex(&[0, 1, 254, 255])),
            Some(vec![0, 1, 254, 255])
        );
        assert_eq!(unhex("0g"), None);
        assert_eq!(unhex("abc"), None);
    }
}
