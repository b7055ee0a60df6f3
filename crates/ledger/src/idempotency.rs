//! Idempotent writes: a call's key and the hash of its body are stored with its answer
//! in the same transaction as its changes, so a retry answers as the first call did
//! (and a key reused for another body is a conflict).

use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use crate::db::later;
use crate::wallet::{cycle_due, due_count};
use crate::{Ledger, LedgerError, Result, Tx, Write};

impl Ledger {
    /// The stored result for `key`, if this exact call ran before; a conflict if the
    /// key was used for a different call.
    pub(crate) async fn replay<T: DeserializeOwned>(
        &self,
        tx: &mut Tx,
        ws: &str,
        key: &str,
        payload_hash: &str,
    ) -> Result<Option<Result<T>>> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT payload_hash, response FROM idempotency WHERE workspace_id = $1 AND key = $2",
        )
        .bind(ws)
        .bind(key)
        .fetch_optional(&mut **tx)
        .await?;
        let Some((hash, response)) = row else {
            return Ok(None);
        };
        replayed(key, payload_hash, hash, response).map(Some)
    }

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

    /// Begins an idempotent write on a wallet: locks its row (writes to one wallet
    /// serialise), answers a key seen before from its record, and settles the wallet
    /// (expired grants, timed-out holds) as of `now`.
    pub(crate) async fn begin_write<T: DeserializeOwned>(
        &self,
        ws: &str,
        wallet_id: &str,
        key: &str,
        payload_hash: &str,
        now: i64,
    ) -> Result<Write<T>> {
        Ok(self
            .begin_write_also(ws, wallet_id, key, payload_hash, now, None)
            .await?
            .0)
    }

    /// [`Ledger::begin_write`], also reading `also`'s SQL — more columns over `$3` (the
    /// wallet) and `$5` (its argument), scalar subqueries or from a `FROM` clause that
    /// yields one row (a hold's: `begin_hold_write`) — in the statement that reads the key's
    /// record, after the lock: one round trip less under it. Returns that row (its
    /// columns from 3 on), and whether the wallet was settled after it was read (then
    /// what it counted may have changed).
    pub(crate) async fn begin_write_also<T: DeserializeOwned>(
        &self,
        ws: &str,
        wallet_id: &str,
        key: &str,
        payload_hash: &str,
        now: i64,
        also: Option<(&str, &str)>,
    ) -> Result<(Write<T>, Option<(AnyRow, bool)>)> {
        let mut tx = self.writer.begin_on(wallet_id).await?;
        let mut w = self.lock_wallet(&mut tx, wallet_id).await?;
        // The key's record and whether anything is due to settle, in one statement
        // (after the lock, so on PostgreSQL it sees every write that held it before).
        let sql = format!(
            concat!(
                "SELECT (SELECT payload_hash FROM idempotency WHERE workspace_id = $1 AND key = $2), \
                 (SELECT response FROM idempotency WHERE workspace_id = $1 AND key = $2), ",
                due_count!("$3", "$4"),
                "{}"
            ),
            also.map_or("", |(sql, _)| sql)
        );
        let mut query = sqlx::query(&sql)
            .bind(ws)
            .bind(key)
            .bind(wallet_id)
            .bind(now);
        if let Some((_, arg)) = also {
            query = query.bind(arg);
        }
        let row = query.fetch_one(&mut *tx).await?;
        if let (Some(hash), Some(response)) = (row.try_get(0)?, row.try_get(1)?) {
            let done = replayed(key, payload_hash, hash, response)?;
            return Ok((Write::Replayed(done), None));
        }
        let due = cycle_due(&w, now) || row.try_get::<i64, _>(2)? > 0;
        if due {
            self.settle_what_is_due(&mut tx, &mut w, now).await?;
        }
        let row = also.map(|_| (row, due));
        Ok((Write::Fresh(tx, w), row))
    }

    /// Ends an idempotent write: stores `result` (success or refusal) under the key in
    /// the same transaction as the change it answers, commits, then tells the balance
    /// listeners of every wallet it changed.
    pub(crate) async fn finish<T: Serialize>(
        &self,
        mut tx: Tx,
        ws: &str,
        key: &str,
        payload_hash: &str,
        result: Result<T>,
        changed: &[&str],
    ) -> Result<T> {
        self.remember(&mut tx, ws, key, payload_hash, &result)
            .await?;
        tx.commit().await?;
        self.committed(changed);
        result
    }
}

/// The first answer to a key, from its record; the same key with another body is a
/// conflict.
fn replayed<T: DeserializeOwned>(
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
