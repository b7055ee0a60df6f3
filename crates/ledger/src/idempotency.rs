//! Idempotent writes: a call's key and the hash of its body are stored with its answer
//! in the same transaction as its changes, so a retry answers as the first call did
//! (and a key reused for another body is a conflict).

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::db::later;
use crate::{Ledger, LedgerError, Result, Tx};

impl Ledger {
    pub(crate) async fn remember<T: Serialize>(
        &self,
        tx: &mut Tx,
        ws: &str,
        key: &str,
        payload_hash: &str,
        result: &Result<T>,
    ) -> Result<()> {
        let body = match result {
            Ok(v) => serde_json::json!({ "ok": v }),
            Err(e) => serde_json::json!({ "err": e.to_api() }),
        };
        later(tx, sqlx::query("INSERT INTO idempotency (workspace_id, key, payload_hash, response, created_at_ms) VALUES ($1, $2, $3, $4, $5)")
            .bind(ws)
            .bind(key)
            .bind(payload_hash)
            .bind(body.to_string())
            .bind(self.now_ms())
            )
            .await?;
        Ok(())
    }
}

/// The first answer to a key, from its record; the same key with another body is a
/// conflict.
pub(crate) fn replayed<T: DeserializeOwned>(
    key: &str,
    payload_hash: &str,
    hash: String,
    response: String,
) -> Result<Result<T>> {
    if hash != payload_hash {
        return Err(LedgerError::IdempotencyConflict(
            crate::unscoped_key(key).to_string(),
        ));
    }
    let stored: serde_json::Value = serde_json::from_str(&response)
        .map_err(|e| LedgerError::Corrupt(format!("idempotency record: {e}")))?;
    if let Some(ok) = stored.get("ok") {
        let v = serde_json::from_value(ok.clone())
            .map_err(|e| LedgerError::Corrupt(format!("idempotency record: {e}")))?;
        return Ok(Ok(v));
    }
    let err = serde_json::from_value(stored["err"].clone())
        .map_err(|e| LedgerError::Corrupt(format!("idempotency record: {e}")))?;
    Ok(Err(LedgerError::Replayed(Box::new(err))))
}
