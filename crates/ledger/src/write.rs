//! The one way to change the database.
//!
//! Every mutating operation of the ledger takes the same steps, and each step lives
//! here, once:
//!
//! 1. **Authorise** ([`Ledger::authorise`], [`Ledger::authorise_keyed`]): the caller's
//!    right for the operation is checked, and its idempotency key and the hash of its
//!    body are made, before anything is read. The answer is a [`Call`]; nothing else
//!    makes one, and nothing begins a write without one. The operator's calls (its key
//!    was checked by the server) and the ledger's own (expiry, deliveries, a payment
//!    provider's events) are [`Call::ledger`].
//! 2. **Begin** ([`Ledger::begin_on`], [`Ledger::begin_on_also`], [`Ledger::begin`]):
//!    a transaction on the writer (`db/writer.rs`: SQLite's group commit, or a pooled
//!    PostgreSQL transaction queued in process behind the wallet's other writes). On a
//!    wallet: its row locked, a key seen before answered from its record
//!    ([`Begun::Replayed`]), what is due settled (expired grants, timed-out holds).
//! 3. The operation's own statements, on the [`Tx`] (through [`later`](crate::db::later)
//!    when their answer is not needed, so PostgreSQL gets them in one round trip).
//! 4. **Finish** ([`Ledger::finish`], [`Ledger::keep`], [`Ledger::commit`]): the wallet
//!    saved (checked: never negative, never holding more than it has), the answer
//!    remembered under the key in the same transaction, the commit (durable when it
//!    returns), then every instance told which wallets changed. Dropping a [`Tx`]
//!    instead rolls everything back: an error before `finish` changes nothing.
//!
//! `Ledger`'s writer is only reachable from this module ([`Writes`]); a test
//! (`tests/write_path.rs`) fails if any other file commits or begins by itself.

use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::any::AnyRow;
use sqlx::Row;

use creditkit_api::Op;

use crate::db::{Tx, Writer, WriterStats};
use crate::idempotency::replayed;
use crate::signed::QuoteKey;
use crate::wallet::{cycle_due, due_count};
use crate::{check_key, payload_hash, Ledger, Principal, Result, WalletRow};

/// The writer, private to this module: a write starts only through [`Ledger::begin`]
/// and its siblings.
pub(crate) struct Writes(Writer);

impl Writes {
    pub(crate) fn new(writer: Writer) -> Writes {
        Writes(writer)
    }

    /// The database's quote key, made on the first open (`signed.rs`).
    pub(crate) async fn quote_key(&self) -> Result<QuoteKey> {
        let mut tx = self.0.begin().await?;
        let key = QuoteKey::load(&mut tx).await?;
        tx.commit().await?;
        Ok(key)
    }

    pub(crate) async fn close(&self) {
        self.0.close().await;
    }

    pub(crate) async fn crash(&self) {
        self.0.crash().await;
    }

    pub(crate) async fn stats(&self) -> WriterStats {
        self.0.stats().await
    }
}

/// An authorised call: whose workspace it writes, and its idempotency key (scoped to
/// the caller's credential class) with the hash of its body.
pub(crate) struct Call {
    ws: String,
    /// The scoped key and the body's hash (set by [`Call::body`]).
    key: Option<(String, String)>,
}

impl Call {
    fn on_no_workspace() -> Call {
        Call {
            ws: String::new(),
            key: None,
        }
    }

    /// The operator's own call on no workspace (its keys: the server checked its key,
    /// or whoever opened the database is the operator), or the ledger's bookkeeping of
    /// credentials (when each was last used).
    pub(crate) fn operator() -> Call {
        Call::on_no_workspace()
    }

    /// A payment provider's event or answer, on no workspace yet (the server checked
    /// its signature, or asked it for a call already authorised; the checkout, payout
    /// or subscription it names says whose it is).
    pub(crate) fn provider() -> Call {
        Call::on_no_workspace()
    }

    /// The ledger's own upkeep: the delivery worker, the sweeper, pruning.
    pub(crate) fn upkeep() -> Call {
        Call::on_no_workspace()
    }

    /// The operator's call (the server checked its key) or the ledger's own, in `ws`;
    /// `key`: an idempotency key the ledger made (a provider's event id), then
    /// [`Call::body`].
    pub(crate) fn ledger(ws: &str, key: Option<String>) -> Call {
        Call {
            ws: ws.to_string(),
            key: key.map(|key| (key, String::new())),
        }
    }

    pub(crate) fn workspace_id(&self) -> &str {
        &self.ws
    }

    /// What a retry with the same key must repeat: the operation's `name` and its
    /// `payload` (often known only after the key was checked: the wallet it resolved to).
    pub(crate) fn body<P: Serialize>(mut self, name: &str, payload: &P) -> Call {
        if let Some((_, hash)) = &mut self.key {
            *hash = payload_hash(name, payload);
        }
        self
    }
}

/// How a write on a wallet starts.
#[allow(clippy::large_enum_variant)] // returned once and taken apart at once: boxing buys nothing
pub(crate) enum Begun<T> {
    /// The key ran before: its recorded answer, success or refusal.
    Replayed(Result<T>),
    /// A new call: its transaction, the wallet locked and settled.
    Fresh(Tx, WalletRow),
}

impl Ledger {
    /// Step 1 for a call without an idempotency key: `p` must have `op`.
    pub(crate) fn authorise(&self, p: &Principal, op: Op) -> Result<Call> {
        p.require(op)?;
        Ok(Call {
            ws: p.workspace_id.clone(),
            key: None,
        })
    }

    /// Step 1 for an idempotent call: `p` must have `op`, and `key` is checked and
    /// scoped to the caller's credential class. Then [`Call::body`] says what a retry
    /// must repeat.
    pub(crate) fn authorise_keyed(&self, p: &Principal, op: Op, key: &str) -> Result<Call> {
        p.require(op)?;
        let key = check_key(p, key)?;
        Ok(Call {
            ws: p.workspace_id.clone(),
            key: Some((key, String::new())),
        })
    }

    /// Step 2 for a write on no wallet (keys, members, endpoints, card versions).
    pub(crate) async fn begin(&self, _call: &Call) -> Result<Tx> {
        self.writes.0.begin().await
    }

    /// Step 2 on a wallet: see [`Ledger::begin_on_also`].
    pub(crate) async fn begin_on<T: DeserializeOwned>(
        &self,
        call: &Call,
        wallet_id: &str,
        now: i64,
    ) -> Result<Begun<T>> {
        Ok(self.begin_on_also(call, wallet_id, now, None).await?.0)
    }

    /// Step 2 on a wallet for a call without a key: its row locked and what is due
    /// settled (`true` if anything was).
    pub(crate) async fn begin_wallet(
        &self,
        call: &Call,
        wallet_id: &str,
        now: i64,
    ) -> Result<(Tx, WalletRow, bool)> {
        match self
            .begin_locked_row::<()>(call, wallet_id, now, None)
            .await?
        {
            (Begun::Fresh(tx, w), _, _, changed) => Ok((tx, w, changed)),
            (Begun::Replayed(_), ..) => Err(crate::LedgerError::Corrupt(
                "a write without a key was answered from a record".into(),
            )),
        }
    }

    /// Step 2 on a wallet: locks its row (writes to one wallet serialise), answers a
    /// key seen before from its record, and settles the wallet (expired grants,
    /// timed-out holds) as of `now`. Also reads `also`'s SQL — more columns over `$3`
    /// (the wallet) and `$5` (its argument), scalar subqueries or from a `FROM` clause
    /// that yields one row (a hold's: `begin_hold_write`) — in the statement that reads
    /// the key's record, after the lock: one round trip less under it. Returns that row
    /// (its columns from 3 on), and whether the wallet was settled after it was read
    /// (then what it counted may have changed).
    pub(crate) async fn begin_on_also<T: DeserializeOwned>(
        &self,
        call: &Call,
        wallet_id: &str,
        now: i64,
        also: Option<(&str, &str)>,
    ) -> Result<(Begun<T>, Option<(AnyRow, bool)>)> {
        let has_also = also.is_some();
        let (begun, row, due, _) = self.begin_locked_row(call, wallet_id, now, also).await?;
        Ok((begun, row.filter(|_| has_also).map(|row| (row, due))))
    }

    /// [`Ledger::begin_on_also`], with the row read (none when replayed), whether
    /// anything was due, and whether settling it changed the wallet.
    async fn begin_locked_row<T: DeserializeOwned>(
        &self,
        call: &Call,
        wallet_id: &str,
        now: i64,
        also: Option<(&str, &str)>,
    ) -> Result<(Begun<T>, Option<AnyRow>, bool, bool)> {
        if matches!(&call.key, Some((_, hash)) if hash.is_empty()) {
            return Err(crate::LedgerError::Corrupt(
                "an idempotent write began without its body".into(),
            ));
        }
        let mut tx = self.writes.0.begin_on(wallet_id).await?;
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
        let key = call.key.as_ref().map(|(key, _)| key.as_str());
        let mut query = sqlx::query(&sql)
            .bind(&call.ws)
            .bind(key)
            .bind(wallet_id)
            .bind(now);
        if let Some((_, arg)) = also {
            query = query.bind(arg);
        }
        let row = query.fetch_one(&mut *tx).await?;
        if let (Some((key, payload_hash)), Some(hash), Some(response)) =
            (&call.key, row.try_get(0)?, row.try_get(1)?)
        {
            let done = replayed(key, payload_hash, hash, response)?;
            return Ok((Begun::Replayed(done), None, false, false));
        }
        let due = cycle_due(&w, now) || row.try_get::<i64, _>(2)? > 0;
        let changed = due && self.settle_what_is_due(&mut tx, &mut w, now).await?;
        Ok((Begun::Fresh(tx, w), Some(row), due, changed))
    }

    /// Step 4 of a write on a wallet: saves `w`, stores `result` (success or refusal)
    /// under the call's key in the same transaction as the change it answers, commits,
    /// then tells the balance listeners of every wallet it changed (`w`'s when `result`
    /// is a success).
    pub(crate) async fn finish<T: Serialize>(
        &self,
        call: Call,
        mut tx: Tx,
        w: &mut WalletRow,
        result: Result<T>,
        also_changed: &[&str],
    ) -> Result<T> {
        self.save_wallet(&mut tx, w).await?;
        if let Some((key, payload_hash)) = &call.key {
            self.remember(&mut tx, &call.ws, key, payload_hash, &result)
                .await?;
        }
        tx.commit().await?;
        let mut changed = Vec::with_capacity(1 + also_changed.len());
        if result.is_ok() {
            changed.push(w.id.as_str());
        }
        changed.extend_from_slice(also_changed);
        self.committed(&changed);
        result
    }

    /// Step 4 of a write on a wallet refused after it was settled: keeps what settling
    /// changed (saves `w`, commits) without remembering `refusal` under the key (a hold
    /// found no longer active: a retry finds it so again), and answers it.
    pub(crate) async fn keep<T>(
        &self,
        _call: Call,
        mut tx: Tx,
        w: &mut WalletRow,
        refusal: crate::LedgerError,
    ) -> Result<T> {
        self.save_wallet(&mut tx, w).await?;
        tx.commit().await?;
        Err(refusal)
    }

    /// Step 4 of a write on no wallet: commits, then announces `changed`.
    pub(crate) async fn commit(&self, _call: Call, tx: Tx, changed: &[&str]) -> Result<()> {
        tx.commit().await?;
        self.committed(changed);
        Ok(())
    }

    /// Steps 2 to 4 for one statement on no wallet.
    pub(crate) async fn write_one<'q>(
        &self,
        call: Call,
        q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    ) -> Result<sqlx::any::AnyQueryResult> {
        let mut tx = self.begin(&call).await?;
        let done = q.execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(done)
    }
}
