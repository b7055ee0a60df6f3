//! A decided top-up paid: claimed by the server's worker, charged off session, and its
//! outcome applied once (the worker's answer and the provider's webhook may both
//! report a success; the first grants, the second finds it paid).

use creditkit_api::admin::EventType;
use creditkit_api::Balance;
use sqlx::Row;

use super::{expiry, DueTopUp, TopUpOutcome, LEASE_MS, TOPUP_BACKOFF_MS, TOPUP_FAILURES_TO_PAUSE};
use crate::db::Dialect;
use crate::{to_u64, Call, Ledger, LedgerError, Result};

/// A wallet's auto top-up as stored (for the simulation's checks).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TopUpState {
    /// Balance minus held, as the row has it.
    pub available_mc: i64,
    /// The threshold while armed.
    pub armed_below_mc: Option<i64>,
    /// The rule's threshold and status.
    pub rule: Option<(i64, String)>,
    /// The top-ups paid, by id.
    pub paid: Vec<String>,
    pub due: u64,
    /// What pack grants gave the wallet in all (top-ups and checkouts).
    pub pack_granted_mc: i64,
    /// This month's top-ups paid or due, and their amount.
    pub this_month: (u64, u64),
}

/// A top-up row as the outcome needs it.
struct Open {
    workspace_id: String,
    wallet_id: String,
    status: String,
    attempt: i64,
    credits_mc: i64,
    amount_minor: u64,
    currency: String,
    validity_months: Option<i64>,
    pack_id: String,
}

impl Ledger {
    /// Due top-ups (at most `limit`), leased to the caller for a minute.
    pub async fn claim_topups(&self, limit: u32) -> Result<Vec<DueTopUp>> {
        let now = self.now_ms();
        let call = Call::upkeep();
        let mut tx = self.begin(&call).await?;
        let lock = match self.dialect {
            Dialect::Sqlite => "",
            Dialect::Postgres => " FOR UPDATE OF t SKIP LOCKED",
        };
        let rows = sqlx::query(&format!(
            "SELECT t.id, t.workspace_id, t.wallet_id, t.attempt, t.amount_minor, t.currency, t.description, \
             COALESCE(t.asked_customer_ref, m.customer_ref), COALESCE(t.asked_method_ref, m.method_ref) \
             FROM topups t LEFT JOIN payment_methods m ON m.wallet_id = t.wallet_id \
             WHERE t.status = 'due' AND t.next_attempt_at_ms <= $1 AND t.lease_until_ms <= $1 \
             ORDER BY t.next_attempt_at_ms LIMIT $2{lock}"
        ))
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&mut *tx)
        .await?;
        let mut due = Vec::with_capacity(rows.len());
        for r in &rows {
            let t = DueTopUp {
                id: r.try_get(0)?,
                workspace_id: r.try_get(1)?,
                wallet_id: r.try_get(2)?,
                attempt: u32::try_from(r.try_get::<i64, _>(3)?).unwrap_or(u32::MAX),
                amount_minor: to_u64(r.try_get(4)?),
                currency: r.try_get(5)?,
                description: r.try_get(6)?,
                customer_ref: r.try_get(7)?,
                method_ref: r.try_get(8)?,
            };
            // The card this attempt is asked with, kept until the provider answers it.
            sqlx::query("UPDATE topups SET lease_until_ms = $1, asked_customer_ref = $3, asked_method_ref = $4 WHERE id = $2")
                .bind(now + LEASE_MS)
                .bind(&t.id)
                .bind(&t.customer_ref)
                .bind(&t.method_ref)
                .execute(&mut *tx)
                .await?;
            due.push(t);
        }
        self.commit(call, tx, &[]).await?;
        Ok(due)
    }

    /// Applies what the provider answered for `due`'s attempt.
    pub async fn topup_charged(
        &self,
        provider: &str,
        due: &DueTopUp,
        outcome: &TopUpOutcome,
    ) -> Result<()> {
        match outcome {
            TopUpOutcome::Paid {
                payment_ref,
                amount_minor,
                currency,
            } => self
                .topup_paid(provider, &due.id, payment_ref, *amount_minor, currency)
                .await
                .map(|_| ()),
            TopUpOutcome::Declined { message } => {
                self.topup_failed(&due.id, due.attempt, message, true).await
            }
            TopUpOutcome::Unavailable { message } => {
                self.topup_failed(&due.id, due.attempt, message, false)
                    .await
            }
        }
    }

    async fn open_topup(&self, conn: &mut crate::db::Conn, id: &str) -> Result<Open> {
        let r = sqlx::query(
            "SELECT workspace_id, wallet_id, status, attempt, credits_mc, amount_minor, currency, validity_months, pack_id FROM topups WHERE id = $1",
        )
        .bind(id)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or_else(|| LedgerError::NotFound(format!("top-up `{id}`")))?;
        Ok(Open {
            workspace_id: r.try_get(0)?,
            wallet_id: r.try_get(1)?,
            status: r.try_get(2)?,
            attempt: r.try_get(3)?,
            credits_mc: r.try_get(4)?,
            amount_minor: to_u64(r.try_get(5)?),
            currency: r.try_get(6)?,
            validity_months: r.try_get(7)?,
            pack_id: r.try_get(8)?,
        })
    }

    /// The provider took the money for top-up `id`: its credits are granted, once
    /// (a second report finds it paid), even for a top-up called off or failed before
    /// (the provider's word on money is the last). The rule is re-armed.
    pub async fn topup_paid(
        &self,
        provider: &str,
        id: &str,
        payment_ref: &str,
        amount_minor: u64,
        currency: &str,
    ) -> Result<Balance> {
        let mut conn = self.pool.begin().await?;
        let found = self.open_topup(&mut conn, id).await?;
        drop(conn);
        if found.amount_minor != amount_minor || !found.currency.eq_ignore_ascii_case(currency) {
            return Err(LedgerError::invalid(format!(
                "top-up `{id}` was for {} {}; the payment says {amount_minor} {currency}",
                found.amount_minor, found.currency
            )));
        }
        let call = Call::ledger(&found.workspace_id, None);
        let now = self.now_ms();
        let (mut tx, mut w, _) = self.begin_wallet(&call, &found.wallet_id, now).await?;
        let t = self.open_topup(&mut tx, id).await?;
        if t.status != "paid" {
            let grant = self
                .insert_grant(
                    &mut tx,
                    &mut w,
                    "pack",
                    Some(&t.pack_id),
                    t.credits_mc,
                    expiry(now, t.validity_months),
                    now,
                )
                .await?;
            self.record_payment(
                &mut tx,
                provider,
                Some(payment_ref),
                &t.wallet_id,
                &grant,
                amount_minor,
                currency,
                now,
            )
            .await?;
            self.repay_debts(&mut tx, &mut w, &grant, now).await?;
            sqlx::query("UPDATE topups SET status = 'paid', payment_ref = $2, grant_id = $3, settled_at_ms = $4, last_error = NULL WHERE id = $1")
                .bind(id)
                .bind(payment_ref)
                .bind(&grant)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            sqlx::query(
                "UPDATE topup_rules SET failures = 0, last_error = NULL WHERE wallet_id = $1",
            )
            .bind(&t.wallet_id)
            .execute(&mut *tx)
            .await?;
            let data = serde_json::json!({
                "wallet_id": t.wallet_id, "topup_id": id, "grant_id": grant,
                "amount_minor": amount_minor, "currency": currency, "payment_ref": payment_ref,
            });
            self.emit(
                &mut tx,
                &t.workspace_id,
                EventType::TopUpSucceeded,
                data,
                now,
            )
            .await?;
            let below: Option<(i64,)> = sqlx::query_as(
                "SELECT below_mc FROM topup_rules WHERE wallet_id = $1 AND status = 'active'",
            )
            .bind(&t.wallet_id)
            .fetch_optional(&mut *tx)
            .await?;
            // Re-armed after this write's save: still below, the next top-up waits for
            // the next crossing (going up past the threshold, then down again).
            self.save_wallet(&mut tx, &mut w).await?;
            self.arm_after(&mut tx, &mut w, below.map(|(b,)| b)).await?;
        }
        let result = Ok(self.balance_in(&mut tx, &w).await?);
        self.finish(call, tx, &mut w, result, &[]).await
    }

    /// Re-arms at `below_mc` without deciding (the crossing is judged from here on).
    pub(super) async fn arm_after(
        &self,
        tx: &mut crate::Tx,
        w: &mut crate::WalletRow,
        below_mc: Option<i64>,
    ) -> Result<()> {
        let open: Option<(String,)> =
            sqlx::query_as("SELECT id FROM topups WHERE wallet_id = $1 AND status = 'due'")
                .bind(&w.id)
                .fetch_optional(&mut **tx)
                .await?;
        w.topup_below_mc = below_mc.filter(|_| open.is_none());
        Ok(())
    }

    /// An attempt failed: tried again after 1 h, then 6 h; the third failure in a row
    /// ends the top-up and pauses the rule. A decline makes the next attempt a new
    /// request; no answer asks the same again. A report for another attempt than the
    /// current one, or a top-up no longer due, changes nothing.
    pub async fn topup_failed(
        &self,
        id: &str,
        attempt: u32,
        message: &str,
        declined: bool,
    ) -> Result<()> {
        let mut conn = self.pool.begin().await?;
        let found = self.open_topup(&mut conn, id).await?;
        drop(conn);
        let call = Call::ledger(&found.workspace_id, None);
        let now = self.now_ms();
        let (mut tx, mut w, _) = self.begin_wallet(&call, &found.wallet_id, now).await?;
        let t = self.open_topup(&mut tx, id).await?;
        if t.status != "due" || t.attempt != i64::from(attempt) {
            return self.finish(call, tx, &mut w, Ok(()), &[]).await;
        }
        let message: String = message.chars().take(500).collect();
        let failures: i64 =
            sqlx::query_as::<_, (i64,)>("SELECT failures FROM topup_rules WHERE wallet_id = $1")
                .bind(&t.wallet_id)
                .fetch_optional(&mut *tx)
                .await?
                .map_or(TOPUP_FAILURES_TO_PAUSE - 1, |(f,)| f)
                + 1;
        let paused = failures >= TOPUP_FAILURES_TO_PAUSE;
        let retry_at = (!paused).then(|| {
            let wait = TOPUP_BACKOFF_MS[usize::try_from(failures - 1).unwrap_or(0).min(1)];
            now + wait
        });
        if paused {
            sqlx::query("UPDATE topups SET status = 'failed', last_error = $2, settled_at_ms = $3, lease_until_ms = 0 WHERE id = $1")
                .bind(id)
                .bind(&message)
                .bind(now)
                .execute(&mut *tx)
                .await?;
        } else {
            // A decline answers the attempt: the next is a new question, with the card
            // saved then. No answer: the same question again.
            sqlx::query("UPDATE topups SET attempt = attempt + $2, next_attempt_at_ms = $3, lease_until_ms = 0, last_error = $4, \
                 asked_customer_ref = CASE WHEN $2 = 1 THEN NULL ELSE asked_customer_ref END, \
                 asked_method_ref = CASE WHEN $2 = 1 THEN NULL ELSE asked_method_ref END WHERE id = $1")
                .bind(id)
                .bind(i64::from(declined))
                .bind(retry_at)
                .bind(&message)
                .execute(&mut *tx)
                .await?;
        }
        sqlx::query("UPDATE topup_rules SET failures = $2, last_error = $3, status = CASE WHEN $4 = 1 THEN 'paused' ELSE status END WHERE wallet_id = $1")
            .bind(&t.wallet_id)
            .bind(failures)
            .bind(&message)
            .bind(i64::from(paused))
            .execute(&mut *tx)
            .await?;
        let data = serde_json::json!({
            "wallet_id": t.wallet_id, "topup_id": id, "attempt": attempt, "error": message,
            "declined": declined, "failures": failures, "paused": paused, "retry_at_ms": retry_at,
        });
        self.emit(&mut tx, &t.workspace_id, EventType::TopUpFailed, data, now)
            .await?;
        // The member's widget shows the failure: their wallet's stream is told.
        self.finish(call, tx, &mut w, Ok(()), &[&found.wallet_id])
            .await
    }

    /// A card saved at checkout `checkout_id` (the provider's customer and payment
    /// method) for the wallet it bought for: a rule waiting for a card, or paused,
    /// resumes; a top-up still due is tried again at once (with it, unless its last
    /// attempt was never answered: that one is asked again as it was).
    pub async fn save_payment_method(
        &self,
        provider: &str,
        checkout_id: &str,
        customer_ref: &str,
        method_ref: &str,
    ) -> Result<()> {
        let found: Option<(String, String)> =
            sqlx::query_as("SELECT workspace_id, wallet_id FROM checkouts WHERE id = $1")
                .bind(checkout_id)
                .fetch_optional(&self.pool)
                .await?;
        let (ws, wallet_id) =
            found.ok_or_else(|| LedgerError::NotFound(format!("checkout `{checkout_id}`")))?;
        let call = Call::ledger(&ws, None);
        let now = self.now_ms();
        let (mut tx, mut w, _) = self.begin_wallet(&call, &wallet_id, now).await?;
        sqlx::query(
            "INSERT INTO payment_methods (wallet_id, provider, customer_ref, method_ref, saved_at_ms) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (wallet_id) DO UPDATE SET provider = excluded.provider, customer_ref = excluded.customer_ref, method_ref = excluded.method_ref, saved_at_ms = excluded.saved_at_ms",
        )
        .bind(&wallet_id)
        .bind(provider)
        .bind(customer_ref)
        .bind(method_ref)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let resumed: Option<(i64,)> =
            sqlx::query_as("SELECT below_mc FROM topup_rules WHERE wallet_id = $1")
                .bind(&wallet_id)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some((below,)) = resumed {
            sqlx::query("UPDATE topup_rules SET status = 'active', failures = 0, last_error = NULL, updated_at_ms = $2 WHERE wallet_id = $1")
                .bind(&wallet_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            // A top-up still due is tried now: with the new card if its last attempt was
            // answered (declined); an attempt the provider never answered is asked again
            // as it was (its key and card), so it cannot be paid twice.
            sqlx::query("UPDATE topups SET next_attempt_at_ms = $2, lease_until_ms = 0 WHERE wallet_id = $1 AND status = 'due'")
                .bind(&wallet_id)
                .bind(now)
                .execute(&mut *tx)
                .await?;
            self.arm(&mut tx, &mut w, Some(below), now).await?;
        }
        self.finish(call, tx, &mut w, Ok(()), &[]).await
    }

    /// What the simulation checks of a wallet's auto top-up, as stored.
    pub async fn topup_state(&self, wallet_id: &str) -> Result<TopUpState> {
        let mut read = self.pool.begin().await?;
        let (balance, held, armed): (i64, i64, Option<i64>) =
            sqlx::query_as("SELECT balance_mc, held_mc, topup_below_mc FROM wallets WHERE id = $1")
                .bind(wallet_id)
                .fetch_one(&mut read)
                .await?;
        let rule: Option<(i64, String)> =
            sqlx::query_as("SELECT below_mc, status FROM topup_rules WHERE wallet_id = $1")
                .bind(wallet_id)
                .fetch_optional(&mut read)
                .await?;
        let paid: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM topups WHERE wallet_id = $1 AND status = 'paid' ORDER BY id",
        )
        .bind(wallet_id)
        .fetch_all(&mut read)
        .await?;
        let (due, pack_mc): (i64, i64) = sqlx::query_as(
            "SELECT (SELECT COUNT(*) FROM topups WHERE wallet_id = $1 AND status = 'due'), \
             (SELECT CAST(COALESCE(SUM(amount_mc), 0) AS BIGINT) FROM grants WHERE wallet_id = $1 AND source = 'pack')",
        )
        .bind(wallet_id)
        .fetch_one(&mut read)
        .await?;
        let month = super::month_use(&mut read, wallet_id, self.now_ms()).await?;
        Ok(TopUpState {
            available_mc: balance - held,
            armed_below_mc: armed,
            rule,
            paid: paid.into_iter().map(|(id,)| id).collect(),
            due: to_u64(due),
            pack_granted_mc: pack_mc,
            this_month: (to_u64(month.0), to_u64(month.1)),
        })
    }

    /// Counts for the simulation and the tests: (top-ups decided, paid, still due).
    pub async fn topup_counts(&self, wallet_id: &str) -> Result<(u64, u64, u64)> {
        let (all, paid, due): (i64, i64, i64) = sqlx::query_as(
            "SELECT COUNT(*), CAST(COALESCE(SUM(CASE WHEN status = 'paid' THEN 1 ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN status = 'due' THEN 1 ELSE 0 END), 0) AS BIGINT) FROM topups WHERE wallet_id = $1",
        )
        .bind(wallet_id)
        .fetch_one(&self.pool)
        .await?;
        Ok((to_u64(all), to_u64(paid), to_u64(due)))
    }
}
