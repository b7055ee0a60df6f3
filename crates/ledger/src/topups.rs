//! Auto top-up: a wallet buys a pack by itself when its available credits fall below
//! the rule's threshold, **exactly once per crossing**.
//!
//! - The rule's threshold sits on the wallet's row while the rule is armed
//!   (`wallets.topup_below_mc`), so it is read under the wallet's lock with the rest of
//!   the row. The save that takes the available credits from at or above it to below
//!   ([`Ledger::topup_on_crossing`], called by `save_wallet`) decides the top-up in the
//!   same transaction as the write that crossed: a `due` row in `topups`, and the rule
//!   disarmed. Writes to a wallet are serialised, so two writes cannot both cross; and
//!   a unique index allows one `due` top-up per wallet whatever happens.
//! - The server's worker claims due top-ups (a lease), charges the saved card off
//!   session (keyed `{id}-{attempt}`, so a retry after a crash or a timeout asks the
//!   provider the same question and cannot pay twice), and reports the outcome.
//! - Credits land only when the provider says the payment succeeded (its answer, or its
//!   signed webhook; whichever comes first, once: [`Ledger::topup_paid`]), then the rule
//!   re-arms: the next crossing is the next top-up.
//! - A decline, a card that needs its owner, or the provider down: no credits, tried
//!   again after 1 h, then 6 h; the third failure in a row pauses the rule (a new card
//!   saved at a checkout resumes it). Each failure emits `topup.failed`.
//! - Limits: at most the rule's count and amount a calendar month (UTC), each within
//!   the operator's bounds; a crossing past them buys nothing and leaves the rule armed.

use creditkit_api::admin::EventType;
use creditkit_api::{AutoTopUp, AutoTopUpBounds, AutoTopUpRequest, AutoTopUpRule, Op};
use creditkit_pricing::{Card, MILLI_PER_CREDIT};
use sqlx::Row;

use crate::purchases::check_units;
use crate::time::{add_months, month_key};
use crate::{new_id, to_i64, to_u64, Ledger, LedgerError, Principal, Result, Tx, WalletRow};

mod pay;

pub use pay::TopUpState;

const HOUR_MS: i64 = 3_600_000;
/// After the first and second failure in a row; the third pauses the rule.
pub const TOPUP_BACKOFF_MS: [i64; 2] = [HOUR_MS, 6 * HOUR_MS];
pub const TOPUP_FAILURES_TO_PAUSE: i64 = 3;
/// The most money a workspace's rules may spend a month, in minor units (a billion of
/// the currency's major unit).
const MAX_MINOR_PER_MONTH: u64 = 100_000_000_000;
/// How long a claimed top-up is the worker's before another may take it.
const LEASE_MS: i64 = 60_000;

/// A top-up to charge now.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DueTopUp {
    pub id: String,
    pub workspace_id: String,
    pub wallet_id: String,
    /// Changes only when the provider declined the previous attempt: a retry of the
    /// same attempt (a crash, a timeout) is the same request to the provider.
    pub attempt: u32,
    pub amount_minor: u64,
    pub currency: String,
    /// What the customer's statement shows: `Auto top-up: Starter pack (100 credits)`.
    pub description: String,
    /// The saved card (`None`: it was removed; the attempt fails).
    pub customer_ref: Option<String>,
    pub method_ref: Option<String>,
}

impl DueTopUp {
    /// The provider's idempotency key for this attempt.
    pub fn idempotency_key(&self) -> String {
        format!("{}-{}", self.id, self.attempt)
    }
}

/// What the provider answered for an attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TopUpOutcome {
    Paid {
        payment_ref: String,
        amount_minor: u64,
        currency: String,
    },
    /// Refused for good (a decline, a card that needs its owner): the next attempt is
    /// a new request.
    Declined { message: String },
    /// No answer (the provider down, a timeout): the next attempt asks the same again.
    Unavailable { message: String },
}

/// A wallet's rule as stored.
struct RuleRow {
    below_mc: i64,
    pack_id: String,
    quantity: u64,
    max_per_month: u32,
    max_amount_minor: u64,
    status: String,
    failures: i64,
    last_error: Option<String>,
}

const RULE_COLUMNS: &str = "below_mc, pack_id, quantity, max_per_month, max_amount_minor_per_month, status, failures, last_error";

fn rule_from(r: &sqlx::any::AnyRow) -> Result<RuleRow> {
    Ok(RuleRow {
        below_mc: r.try_get(0)?,
        pack_id: r.try_get(1)?,
        quantity: to_u64(r.try_get(2)?),
        max_per_month: u32::try_from(r.try_get::<i64, _>(3)?).unwrap_or(u32::MAX),
        max_amount_minor: to_u64(r.try_get(4)?),
        status: r.try_get(5)?,
        failures: r.try_get(6)?,
        last_error: r.try_get(7)?,
    })
}

/// What one top-up of `rule` buys at `card`: (credits in mc, amount, validity months,
/// the pack's name), or why it cannot be bought.
fn priced(card: &Card, pack_id: &str, quantity: u64) -> Result<(i64, u64, Option<u32>, String)> {
    let pack = card.pack(pack_id).ok_or_else(|| {
        LedgerError::invalid_at("pack_id", format!("the card sells no pack `{pack_id}`"))
    })?;
    let unit = pack.price_minor.filter(|p| *p > 0).ok_or_else(|| {
        LedgerError::invalid_at(
            "pack_id",
            format!("{} is not sold for money: it cannot top up", pack.name),
        )
    })?;
    check_units(pack, quantity)?;
    let credits = to_i64(
        pack.credits
            .saturating_mul(MILLI_PER_CREDIT)
            .saturating_mul(quantity),
    )?;
    Ok((
        credits,
        unit.saturating_mul(quantity),
        pack.validity_months,
        pack.name.clone(),
    ))
}

impl Ledger {
    // ---------------------------------------------------------------- bounds

    /// What the operator allows `ws` (the defaults until it says otherwise).
    pub(crate) async fn topup_bounds_of(
        &self,
        conn: &mut crate::db::Conn,
        ws: &str,
    ) -> Result<AutoTopUpBounds> {
        let row: Option<(i64, i64, i64)> = sqlx::query_as(
            "SELECT enabled, max_per_month, max_amount_minor_per_month FROM topup_bounds WHERE workspace_id = $1",
        )
        .bind(ws)
        .fetch_optional(&mut *conn)
        .await?;
        Ok(match row {
            None => AutoTopUpBounds::default(),
            Some((enabled, count, amount)) => AutoTopUpBounds {
                enabled: enabled != 0,
                max_per_month: u32::try_from(count).unwrap_or(0),
                max_amount_minor_per_month: to_u64(amount),
            },
        })
    }

    /// The operator's bounds for a workspace's rules.
    pub async fn topup_bounds(&self, p: &Principal) -> Result<AutoTopUpBounds> {
        p.require(Op::ManageWorkspaces)?;
        let mut conn = self.pool.begin().await?;
        self.topup_bounds_of(&mut conn, &p.workspace_id).await
    }

    /// Sets them: off stops every rule of the workspace from firing (and new ones
    /// from being set); lower limits apply to the rules set before.
    pub async fn set_topup_bounds(
        &self,
        p: &Principal,
        bounds: &AutoTopUpBounds,
    ) -> Result<AutoTopUpBounds> {
        let call = self.authorise(p, Op::ManageWorkspaces)?;
        if bounds.max_per_month > 1000 {
            return Err(LedgerError::invalid_at(
                "max_per_month",
                "at most 1000 top-ups a month",
            ));
        }
        if bounds.max_amount_minor_per_month > MAX_MINOR_PER_MONTH {
            return Err(LedgerError::invalid_at(
                "max_amount_minor_per_month",
                format!("at most {MAX_MINOR_PER_MONTH} minor units a month"),
            ));
        }
        self.workspace(&p.workspace_id).await?;
        self.write_one(call, sqlx::query(
            "INSERT INTO topup_bounds (workspace_id, enabled, max_per_month, max_amount_minor_per_month, updated_at_ms) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (workspace_id) DO UPDATE SET enabled = excluded.enabled, max_per_month = excluded.max_per_month, \
             max_amount_minor_per_month = excluded.max_amount_minor_per_month, updated_at_ms = excluded.updated_at_ms",
        )
        .bind(&p.workspace_id)
        .bind(i64::from(bounds.enabled))
        .bind(i64::from(bounds.max_per_month))
        .bind(to_i64(bounds.max_amount_minor_per_month)?)
        .bind(self.now_ms()))
        .await?;
        Ok(*bounds)
    }

    // ---------------------------------------------------------------- the rule

    /// A wallet's rule, its saved card and this month's top-ups.
    pub async fn auto_topup(&self, p: &Principal, wallet_id: Option<&str>) -> Result<AutoTopUp> {
        p.require(Op::Read)?;
        let wallet_id = self.resolve_wallet(p, wallet_id).await?;
        let mut conn = self.pool.begin().await?;
        let bounds = self.topup_bounds_of(&mut conn, &p.workspace_id).await?;
        let rule = sqlx::query(&format!(
            "SELECT {RULE_COLUMNS} FROM topup_rules WHERE wallet_id = $1"
        ))
        .bind(&wallet_id)
        .fetch_optional(&mut conn)
        .await?
        .map(|r| rule_from(&r))
        .transpose()?;
        let card_saved_at_ms: Option<(i64,)> =
            sqlx::query_as("SELECT saved_at_ms FROM payment_methods WHERE wallet_id = $1")
                .bind(&wallet_id)
                .fetch_optional(&mut conn)
                .await?;
        let (count, amount) = month_use(&mut conn, &wallet_id, self.now_ms()).await?;
        let retry: Option<(i64,)> = sqlx::query_as(
            "SELECT next_attempt_at_ms FROM topups WHERE wallet_id = $1 AND status = 'due' AND last_error IS NOT NULL",
        )
        .bind(&wallet_id)
        .fetch_optional(&mut conn)
        .await?;
        drop(conn);
        let card = self.card(&p.workspace_id).await?;
        let rule = rule.map(|r| {
            let (credits, amount, _, name) =
                priced(&card, &r.pack_id, r.quantity).unwrap_or((0, 0, None, r.pack_id.clone()));
            AutoTopUpRule {
                below_credits: to_u64(r.below_mc) / MILLI_PER_CREDIT,
                pack_name: name,
                pack_id: r.pack_id,
                quantity: r.quantity,
                credits: to_u64(credits) / MILLI_PER_CREDIT,
                amount_minor: amount,
                currency: card
                    .currency
                    .as_ref()
                    .map(|c| c.code.to_ascii_lowercase())
                    .unwrap_or_default(),
                max_per_month: r.max_per_month,
                max_amount_minor_per_month: r.max_amount_minor,
                status: r.status,
                failures: u32::try_from(r.failures).unwrap_or(u32::MAX),
                last_error: r.last_error,
                retry_at_ms: retry.map(|(at,)| at),
            }
        });
        Ok(AutoTopUp {
            wallet_id,
            bounds,
            rule,
            card_saved_at_ms: card_saved_at_ms.map(|(at,)| at),
            this_month_count: u32::try_from(count).unwrap_or(u32::MAX),
            this_month_amount_minor: to_u64(amount),
        })
    }

    /// Sets a wallet's rule (members: their own wallet). Armed at once when a card is
    /// saved; a wallet already below the threshold tops up at once (setting the rule
    /// is its crossing).
    pub async fn set_auto_topup(&self, p: &Principal, req: &AutoTopUpRequest) -> Result<AutoTopUp> {
        let call = self.authorise(p, Op::Buy)?;
        let wallet_id = self.buying_wallet(p, req.wallet_id.as_deref()).await?;
        let mut conn = self.pool.begin().await?;
        let bounds = self.topup_bounds_of(&mut conn, &p.workspace_id).await?;
        drop(conn);
        if !bounds.enabled {
            return Err(LedgerError::Forbidden(
                "auto top-up is turned off for this workspace".into(),
            ));
        }
        let card = self.card(&p.workspace_id).await?;
        let quantity = req.quantity.unwrap_or(1);
        let (_, amount, _, name) = priced(&card, &req.pack_id, quantity)?;
        if req.below_credits == 0 || req.below_credits > 1_000_000_000 {
            return Err(LedgerError::invalid_at(
                "below_credits",
                "the threshold is 1 to 1,000,000,000 credits",
            ));
        }
        if req.max_per_month == 0 || req.max_per_month > bounds.max_per_month {
            return Err(LedgerError::invalid_at(
                "max_per_month",
                format!(
                    "1 to {} top-ups a month (the most this workspace allows)",
                    bounds.max_per_month
                ),
            ));
        }
        let max_amount = req
            .max_amount_minor_per_month
            .unwrap_or(bounds.max_amount_minor_per_month);
        if max_amount > bounds.max_amount_minor_per_month || max_amount < amount {
            return Err(LedgerError::invalid_at(
                "max_amount_minor_per_month",
                format!(
                    "between one top-up of {name} ({amount}) and this workspace's most a month ({})",
                    bounds.max_amount_minor_per_month
                ),
            ));
        }
        let below_mc = to_i64(req.below_credits.saturating_mul(MILLI_PER_CREDIT))?;
        let now = self.now_ms();
        let (mut tx, mut w, _) = self.begin_wallet(&call, &wallet_id, now).await?;
        let has_card = self.has_card(&mut tx, &wallet_id).await?;
        let status = if has_card { "active" } else { "needs_card" };
        sqlx::query(
            "INSERT INTO topup_rules (wallet_id, workspace_id, below_mc, pack_id, quantity, max_per_month, max_amount_minor_per_month, status, failures, last_error, set_by_member_id, updated_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 0, NULL, $9, $10) \
             ON CONFLICT (wallet_id) DO UPDATE SET below_mc = excluded.below_mc, pack_id = excluded.pack_id, quantity = excluded.quantity, \
             max_per_month = excluded.max_per_month, max_amount_minor_per_month = excluded.max_amount_minor_per_month, status = excluded.status, \
             failures = 0, last_error = NULL, set_by_member_id = excluded.set_by_member_id, updated_at_ms = excluded.updated_at_ms",
        )
        .bind(&wallet_id)
        .bind(&p.workspace_id)
        .bind(below_mc)
        .bind(&req.pack_id)
        .bind(to_i64(quantity)?)
        .bind(i64::from(req.max_per_month))
        .bind(to_i64(max_amount)?)
        .bind(status)
        .bind(&p.member_id)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        self.arm(&mut tx, &mut w, has_card.then_some(below_mc), now)
            .await?;
        self.finish(call, tx, &mut w, Ok(()), &[]).await?;
        self.auto_topup(p, Some(&wallet_id)).await
    }

    /// Removes a wallet's rule; a top-up not yet paid is called off (one already paid
    /// at the provider still lands when it says so).
    pub async fn delete_auto_topup(
        &self,
        p: &Principal,
        wallet_id: Option<&str>,
    ) -> Result<AutoTopUp> {
        let call = self.authorise(p, Op::Buy)?;
        let wallet_id = self.buying_wallet(p, wallet_id).await?;
        let now = self.now_ms();
        let (mut tx, mut w, _) = self.begin_wallet(&call, &wallet_id, now).await?;
        sqlx::query("DELETE FROM topup_rules WHERE wallet_id = $1")
            .bind(&wallet_id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("UPDATE topups SET status = 'canceled', settled_at_ms = $2 WHERE wallet_id = $1 AND status = 'due'")
            .bind(&wallet_id)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        w.topup_below_mc = None;
        self.finish(call, tx, &mut w, Ok(()), &[]).await?;
        self.auto_topup(p, Some(&wallet_id)).await
    }

    async fn has_card(&self, tx: &mut Tx, wallet_id: &str) -> Result<bool> {
        let found: Option<(String,)> =
            sqlx::query_as("SELECT method_ref FROM payment_methods WHERE wallet_id = $1")
                .bind(wallet_id)
                .fetch_optional(&mut **tx)
                .await?;
        Ok(found.is_some())
    }

    /// Arms the wallet at `below_mc` (`None`: disarms it), unless a top-up is under
    /// way (it re-arms when it ends); already below it, the top-up is decided now.
    async fn arm(
        &self,
        tx: &mut Tx,
        w: &mut WalletRow,
        below_mc: Option<i64>,
        now: i64,
    ) -> Result<()> {
        self.arm_after(tx, w, below_mc).await?;
        match w.topup_below_mc {
            Some(t) if w.balance_mc - w.held_mc < t => self.decide_topup(tx, w, now).await,
            _ => Ok(()),
        }
    }

    // ---------------------------------------------------------------- the crossing

    /// Called by every save of a wallet, before its new available amount is reported:
    /// if the save crosses the armed threshold downwards, the top-up is decided here,
    /// in the transaction of the write that crossed.
    pub(crate) async fn topup_on_crossing(&self, tx: &mut Tx, w: &mut WalletRow) -> Result<()> {
        let Some(t) = w.topup_below_mc else {
            return Ok(());
        };
        if w.reported_available_mc >= t && w.balance_mc - w.held_mc < t {
            self.decide_topup(tx, w, self.now_ms()).await?;
        }
        Ok(())
    }

    /// A crossing: a `due` top-up and the rule disarmed; or, past a limit or with the
    /// feature off, nothing (the rule stays armed for the next crossing).
    async fn decide_topup(&self, tx: &mut Tx, w: &mut WalletRow, now: i64) -> Result<()> {
        let Some(rule) = sqlx::query(&format!(
            "SELECT {RULE_COLUMNS} FROM topup_rules WHERE wallet_id = $1"
        ))
        .bind(&w.id)
        .fetch_optional(&mut **tx)
        .await?
        .map(|r| rule_from(&r))
        .transpose()?
        else {
            w.topup_below_mc = None;
            return Ok(());
        };
        let bounds = self.topup_bounds_of(tx, &w.workspace_id).await?;
        if rule.status != "active" || !bounds.enabled {
            return Ok(());
        }
        let card = self.card(&w.workspace_id).await?;
        let Some(currency) = card.currency.as_ref().map(|c| c.code.to_ascii_lowercase()) else {
            return self
                .pause_rule(
                    tx,
                    w,
                    "the card has no currency: nothing on it is for sale",
                    now,
                )
                .await;
        };
        let (credits_mc, amount, validity, name) = match priced(&card, &rule.pack_id, rule.quantity)
        {
            Ok(p) => p,
            Err(e) => return self.pause_rule(tx, w, &e.to_string(), now).await,
        };
        let month = month_key(now);
        let (count, spent) = month_use(tx, &w.id, now).await?;
        let max_count = i64::from(rule.max_per_month.min(bounds.max_per_month));
        let max_amount = rule.max_amount_minor.min(bounds.max_amount_minor_per_month);
        if count >= max_count || to_u64(spent).saturating_add(amount) > max_amount {
            return Ok(()); // this month's limit: nothing bought, armed for the next crossing
        }
        sqlx::query(
            "INSERT INTO topups (id, workspace_id, wallet_id, month, pack_id, description, credits_mc, amount_minor, currency, validity_months, status, attempt, next_attempt_at_ms, lease_until_ms, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $11, $6, $7, $8, $9, 'due', 1, $10, 0, $10) ON CONFLICT (wallet_id) WHERE status = 'due' DO NOTHING",
        )
        .bind(new_id("top"))
        .bind(&w.workspace_id)
        .bind(&w.id)
        .bind(&month)
        .bind(&rule.pack_id)
        .bind(credits_mc)
        .bind(to_i64(amount)?)
        .bind(&currency)
        .bind(validity.map(i64::from))
        .bind(now)
        .bind(format!(
            "Auto top-up: {name} ({} credits)",
            to_u64(credits_mc) / MILLI_PER_CREDIT
        ))
        .execute(&mut **tx)
        .await?;
        w.topup_below_mc = None;
        Ok(())
    }

    /// The rule cannot buy (its pack left the card): paused, said once.
    async fn pause_rule(&self, tx: &mut Tx, w: &mut WalletRow, why: &str, now: i64) -> Result<()> {
        w.topup_below_mc = None;
        sqlx::query("UPDATE topup_rules SET status = 'paused', last_error = $2, updated_at_ms = $3 WHERE wallet_id = $1")
            .bind(&w.id)
            .bind(why)
            .bind(now)
            .execute(&mut **tx)
            .await?;
        let data = serde_json::json!({ "wallet_id": w.id, "error": why, "paused": true });
        self.emit(tx, &w.workspace_id, EventType::TopUpFailed, data, now)
            .await
    }
}

/// A wallet's top-ups paid or under way in `now`'s calendar month: how many, and
/// their amount (what the monthly limits count).
pub(crate) async fn month_use(
    conn: &mut crate::db::Conn,
    wallet_id: &str,
    now: i64,
) -> Result<(i64, i64)> {
    Ok(sqlx::query_as(
        "SELECT COUNT(*), CAST(COALESCE(SUM(amount_minor), 0) AS BIGINT) FROM topups WHERE wallet_id = $1 AND month = $2 AND status IN ('due', 'paid')",
    )
    .bind(wallet_id)
    .bind(month_key(now))
    .fetch_one(conn)
    .await?)
}

/// When a pack bought at `now` for `validity` months expires.
pub(crate) fn expiry(now: i64, validity: Option<i64>) -> Option<i64> {
    validity.map(|m| add_months(now, m))
}
