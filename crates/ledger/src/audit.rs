//! The ledger's invariants, checked against what is stored: a wallet's balance equals the
//! sum of its entries and of its grants' remaining amounts; what is held equals the active
//! holds and their allocations; nothing is negative; no capture exceeds its hold, no hold
//! its quote's maximum.
//!
//! `audit` reads everything. `audit_from` is the same check made incremental for callers
//! that audit after every step (the simulation): entries are append-only (rows are only
//! ever inserted, `seq` grows), so the sums over them carry over from the last mark and
//! only newer entries are read; the capture ≤ hold ≤ quote check covers the holds those
//! entries touched (every change to a hold writes an entry naming it).

use crate::db::Conn;
use crate::{Dialect, Ledger, LedgerError, Result};

/// Where an incremental audit stopped: the last entry summed and the sums up to it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct AuditMark {
    seq: i64,
    balance_mc: i64,
    held_mc: i64,
    used_mc: i64,
    earnings_mc: i64,
}

impl Ledger {
    /// Checks a wallet's invariants against all its entries, grants and holds.
    pub async fn audit(&self, wallet_id: &str) -> Result<()> {
        self.check(wallet_id, &mut AuditMark::default(), true).await
    }

    /// The same checks, reading only the entries written since `mark` (then moved on).
    /// Start from `AuditMark::default()`; a full `audit` now and then checks that no older
    /// entry changed. Call it with no write in flight: PostgreSQL numbers an entry when it
    /// is inserted, not when it commits, so a write committing later could land behind
    /// the mark.
    pub async fn audit_from(&self, wallet_id: &str, mark: &mut AuditMark) -> Result<()> {
        self.check(wallet_id, mark, false).await
    }

    async fn check(&self, wallet_id: &str, mark: &mut AuditMark, full: bool) -> Result<()> {
        // One snapshot for every read below.
        let mut read = self.pool.begin().await?;
        if self.dialect == Dialect::Postgres {
            sqlx::query("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
                .execute(&mut read)
                .await?;
        }
        let (balance, held, used): (i64, i64, i64) =
            sqlx::query_as("SELECT balance_mc, held_mc, used_mc FROM wallets WHERE id = $1")
                .bind(wallet_id)
                .fetch_one(&mut read)
                .await?;
        // One pass over the (new) entries for every sum the checks need.
        let (last, d_balance, d_held, d_used, d_earnings): (i64, i64, i64, i64, i64) =
            sqlx::query_as(
                "SELECT CAST(COALESCE(MAX(seq), $2) AS BIGINT), \
                 CAST(COALESCE(SUM(balance_delta_mc), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(held_delta_mc), 0) AS BIGINT), \
                 CAST(COALESCE(-SUM(CASE WHEN kind IN ('charge', 'refund') THEN balance_delta_mc ELSE 0 END), 0) AS BIGINT), \
                 CAST(COALESCE(SUM(earnings_delta_mc), 0) AS BIGINT) \
                 FROM entries WHERE wallet_id = $1 AND seq > $2",
            )
            .bind(wallet_id)
            .bind(mark.seq)
            .fetch_one(&mut read)
            .await?;
        let next = AuditMark {
            seq: last,
            balance_mc: mark.balance_mc + d_balance,
            held_mc: mark.held_mc + d_held,
            used_mc: mark.used_mc + d_used,
            earnings_mc: mark.earnings_mc + d_earnings,
        };
        let (g_remaining, g_held, g_bad): (i64, i64, i64) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(remaining_mc), 0) AS BIGINT), CAST(COALESCE(SUM(held_mc), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN held_mc > remaining_mc OR remaining_mc < 0 OR held_mc < 0 OR remaining_mc > amount_mc THEN 1 ELSE 0 END), 0) AS BIGINT) \
             FROM grants WHERE wallet_id = $1",
        )
        .bind(wallet_id)
        .fetch_one(&mut read)
        .await?;
        let (h_active, a_active, over) = hold_sums(&mut read, wallet_id, mark.seq, full).await?;
        // Settled earnings depend on the clock: read in full audits only.
        let earn_available = match full {
            true => settled_earnings(&mut read, wallet_id, self.now_ms()).await?,
            false => 0,
        };
        // One active subscription per wallet, and the wallet on its plan (its allowance
        // is the paid plan's: `subscriptions.rs`).
        let (active, on_its_plan): (i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN s.plan_id = w.plan_id THEN 1 ELSE 0 END), 0) AS BIGINT) \
             FROM subscriptions s JOIN wallets w ON w.id = s.wallet_id WHERE s.wallet_id = $1 AND s.status = 'active'",
        )
        .bind(wallet_id)
        .fetch_one(&mut read)
        .await?;
        read.commit().await?;
        let checks = [
            (active <= 1, "at most one active subscription"),
            (
                active == on_its_plan,
                "the wallet is on its subscription's plan",
            ),
            (balance >= 0, "balance >= 0"),
            (held >= 0 && held <= balance, "0 <= held <= balance"),
            (balance == next.balance_mc, "balance == sum of entries"),
            (
                used == next.used_mc,
                "used == sum of charge and refund entries",
            ),
            (held == next.held_mc, "held == sum of held entries"),
            (balance == g_remaining, "balance == sum of grants remaining"),
            (held == g_held, "held == sum of grants held"),
            (held == h_active, "held == sum of active holds"),
            (held == a_active, "held == sum of active allocations"),
            (g_bad == 0, "0 <= grant held <= remaining <= amount"),
            (over == 0, "captured <= hold <= quote max"),
            (
                next.earnings_mc >= 0 && earn_available >= 0,
                "earnings and settled earnings >= 0",
            ),
        ];
        for (ok, what) in checks {
            if !ok {
                return Err(LedgerError::Corrupt(format!(
                    "wallet {wallet_id}: {what} fails (balance {balance}, held {held}, entries {}/{}, grants {g_remaining}/{g_held}, holds {h_active}, allocations {a_active})",
                    next.balance_mc, next.held_mc
                )));
            }
        }
        *mark = next;
        Ok(())
    }
}

/// What the active holds reserve, what their allocations reserve, and how many holds
/// are above their quote or captured above themselves (in full, or those the entries
/// after `since_seq` touched).
async fn hold_sums(
    read: &mut Conn,
    wallet_id: &str,
    since_seq: i64,
    full: bool,
) -> Result<(i64, i64, i64)> {
    let (h_active,): (i64,) = sqlx::query_as("SELECT CAST(COALESCE(SUM(amount_mc), 0) AS BIGINT) FROM holds WHERE wallet_id = $1 AND status = 'active'")
        .bind(wallet_id)
        .fetch_one(&mut *read)
        .await?;
    let (a_active,): (i64,) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(a.amount_mc), 0) AS BIGINT) FROM hold_allocations a JOIN holds h ON h.id = a.hold_id WHERE h.wallet_id = $1 AND h.status = 'active'",
    )
    .bind(wallet_id)
    .fetch_one(&mut *read)
    .await?;
    // Every change to a hold writes an entry naming it: an incremental audit checks
    // the holds its new entries touched (reached from the entries, not the holds).
    let over_query = if full {
        sqlx::query_as(
            "SELECT COUNT(*) FROM holds h JOIN quotes q ON q.id = h.quote_id WHERE h.wallet_id = $1 \
             AND (h.amount_mc > q.max_mc OR h.captured_mc > h.amount_mc)",
        )
        .bind(wallet_id)
    } else {
        sqlx::query_as(
            "SELECT COUNT(*) FROM entries e JOIN holds h ON h.id = e.hold_id JOIN quotes q ON q.id = h.quote_id \
             WHERE e.wallet_id = $1 AND e.seq > $2 AND (h.amount_mc > q.max_mc OR h.captured_mc > h.amount_mc)",
        )
        .bind(wallet_id)
        .bind(since_seq)
    };
    let (over,): (i64,) = over_query.fetch_one(&mut *read).await?;
    Ok((h_active, a_active, over))
}

/// A wallet's earnings that can be paid out at `now` (payouts taken off).
async fn settled_earnings(read: &mut Conn, wallet_id: &str, now: i64) -> Result<i64> {
    let (v,): (i64,) = sqlx::query_as(
        "SELECT CAST(COALESCE(SUM(CASE WHEN kind = 'payout' OR available_at_ms <= $2 THEN earnings_delta_mc ELSE 0 END), 0) AS BIGINT) \
         FROM entries WHERE wallet_id = $1",
    )
    .bind(wallet_id)
    .bind(now)
    .fetch_one(&mut *read)
    .await?;
    Ok(v)
}
