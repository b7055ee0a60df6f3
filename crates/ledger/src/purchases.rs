//! Credits bought through a payment provider. A checkout is recorded here first (what
//! is bought, for which wallet, at what price, from which card version); the provider's
//! signed webhook then says it was paid, and is matched against that record — never
//! trusted for a price. Every webhook is applied once (its event id is the idempotency
//! key, stored with the change). Packs become grants; a paid monthly plan renews when
//! its invoice is paid (not by the clock) and resets without rollover; a refund takes
//! back what is left of the grant it bought, and records the rest as a debt that the
//! next purchase repays — a balance never goes below zero.

use creditkit_api::admin::EventType;
use creditkit_api::{Actor, Balance, CheckoutRequest, Op};
use creditkit_pricing::{Card, Renewal, MILLI_PER_CREDIT};
use sqlx::Row;

use crate::error::fmt_mc;
use crate::time::add_months;
use crate::workspaces::or_none;
use crate::{
    new_id, to_i64, to_u64, Begun, Call, Entry, Ledger, LedgerError, Principal, Result, Tx,
    WalletRow,
};

/// What a checkout buys, recorded before the provider is asked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CheckoutDraft {
    pub id: String,
    pub workspace_id: String,
    pub wallet_id: String,
    /// What the buyer sees on the provider's page: `Starter pack (100 credits)`.
    pub description: String,
    /// A monthly plan: a subscription; otherwise a one-time payment.
    pub recurring: bool,
    pub quantity: u64,
    pub credits: u64,
    /// Per unit, in minor units of `currency` (cents).
    pub unit_amount_minor: u64,
    pub amount_minor: u64,
    /// ISO 4217, lower case as providers take it (`usd`).
    pub currency: String,
    /// The buyer asked to save the card for auto top-up (a one-time payment only).
    pub save_card: bool,
}

/// A payment the provider confirmed for a checkout.
#[derive(Clone, Debug)]
pub struct Paid {
    pub provider: String,
    pub event_id: String,
    pub checkout_id: String,
    /// The provider's own id of the checkout (Stripe's session id): must be the one this
    /// server opened for `checkout_id` (a customer can name any checkout id elsewhere).
    pub session_ref: String,
    /// The provider's payment (what a refund names), if this payment has one yet.
    pub payment_ref: Option<String>,
    pub subscription_ref: Option<String>,
    pub amount_minor: u64,
    pub currency: String,
    /// When the paid period ends (subscriptions).
    pub period_end_ms: Option<i64>,
}

/// A subscription's invoice paid for a new period.
#[derive(Clone, Debug)]
pub struct PaidPeriod {
    pub provider: String,
    pub event_id: String,
    pub subscription_ref: String,
    pub payment_ref: Option<String>,
    pub amount_minor: u64,
    pub currency: String,
    pub period_end_ms: Option<i64>,
}

pub(crate) fn idem(provider: &str, event_id: &str) -> String {
    format!("{provider}:{event_id}")
}

impl Ledger {
    /// Records a checkout for a pack (× quantity) or a plan of the card, at the card's
    /// price. Members buy for their own wallet only; admins and the backend for any.
    pub async fn begin_checkout(
        &self,
        p: &Principal,
        req: &CheckoutRequest,
        provider: &str,
    ) -> Result<CheckoutDraft> {
        let call = self.authorise(p, Op::Buy)?;
        let wallet_id = self.buying_wallet(p, req.wallet_id.as_deref()).await?;
        let card = self.card(&p.workspace_id).await?;
        let currency = card.currency.as_ref().ok_or_else(|| {
            LedgerError::invalid("this rate card has no currency: nothing on it is for sale")
        })?;
        let quantity = req.quantity.unwrap_or(1);
        let (description, recurring, credits, unit, pack, plan) = match (&req.pack_id, &req.plan_id)
        {
            (Some(id), None) => {
                let pack = card.pack(id).ok_or_else(|| unknown(&card, "pack_id", id))?;
                let unit = pack.price_minor.ok_or_else(|| not_for_sale("pack", id))?;
                check_units(pack, quantity)?;
                (
                    format!("{} pack ({} credits)", pack.name, pack.credits),
                    false,
                    pack.credits.saturating_mul(quantity),
                    unit,
                    Some(id.clone()),
                    None,
                )
            }
            (None, Some(id)) => {
                let plan = card.plan(id).ok_or_else(|| unknown(&card, "plan_id", id))?;
                // One subscription per wallet: a second checkout would charge twice.
                if plan.renewal == Renewal::Monthly {
                    self.no_second_subscription(&wallet_id).await?;
                }
                if quantity != 1 {
                    return Err(LedgerError::invalid_at("quantity", "a plan is bought once"));
                }
                let unit = plan.price_minor.ok_or_else(|| not_for_sale("plan", id))?;
                let per = if plan.renewal == Renewal::Monthly {
                    " a month"
                } else {
                    ""
                };
                (
                    format!("{} plan ({} credits{per})", plan.name, plan.credits),
                    plan.renewal == Renewal::Monthly,
                    plan.credits,
                    unit,
                    None,
                    Some(id.clone()),
                )
            }
            _ => {
                return Err(LedgerError::invalid(
                    "name exactly one of `pack_id` or `plan_id`",
                ))
            }
        };
        if unit == 0 {
            return Err(LedgerError::invalid(
                "this is free: it needs no checkout (the operator grants it)",
            ));
        }
        let draft = CheckoutDraft {
            id: new_id("chk"),
            workspace_id: p.workspace_id.clone(),
            wallet_id,
            description,
            recurring,
            quantity,
            credits,
            unit_amount_minor: unit,
            amount_minor: unit.saturating_mul(quantity),
            currency: currency.code.to_ascii_lowercase(),
            save_card: req.save_card == Some(true) && !recurring,
        };
        self.write_one(call, sqlx::query(
            "INSERT INTO checkouts (id, workspace_id, wallet_id, member_id, provider, card_hash, pack_id, plan_id, quantity, credits_mc, amount_minor, currency, status, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'open', $13)",
        )
        .bind(&draft.id)
        .bind(&draft.workspace_id)
        .bind(&draft.wallet_id)
        .bind(&p.member_id)
        .bind(provider)
        .bind(card.hash())
        .bind(&pack)
        .bind(&plan)
        .bind(to_i64(quantity)?)
        .bind(to_i64(credits.saturating_mul(MILLI_PER_CREDIT))?)
        .bind(to_i64(draft.amount_minor)?)
        .bind(&draft.currency)
        .bind(self.now_ms())
        )
        .await?;
        Ok(draft)
    }

    /// A wallet subscribes once: refused while it has a subscription or a plan
    /// checkout is open (a second one would charge twice).
    async fn no_second_subscription(&self, wallet_id: &str) -> Result<()> {
        if let Some(current) = self.active_subscription_plan(wallet_id).await? {
            return Err(LedgerError::invalid_at(
                "plan_id",
                format!("this wallet subscribes to `{current}` already: change its plan (POST /v1/subscription) rather than paying twice"),
            ));
        }
        if self.plan_checkout_open(wallet_id).await? {
            return Err(LedgerError::invalid_at(
                "plan_id",
                "a plan checkout for this wallet is open in another window: finish it there, or try again in 30 minutes",
            ));
        }
        Ok(())
    }

    /// The wallet a buyer pays for: members their own (a personal wallet, or the one
    /// their session is bound to); admins and the backend any of the workspace's.
    pub(crate) async fn buying_wallet(&self, p: &Principal, asked: Option<&str>) -> Result<String> {
        p.require(Op::Buy)?;
        let wallet_id = self.resolve_wallet(p, asked).await?;
        if p.actor == Actor::Member {
            let (kind, owner): (String, Option<String>) =
                sqlx::query_as("SELECT kind, owner_member_id FROM wallets WHERE id = $1")
                    .bind(&wallet_id)
                    .fetch_one(&self.pool)
                    .await?;
            let own = kind == "personal" && owner == p.member_id;
            if !own && p.wallet_id.as_deref() != Some(wallet_id.as_str()) {
                return Err(LedgerError::Forbidden(
                    "members buy credits for their own wallet; a workspace admin buys for the workspace".into(),
                ));
            }
        }
        Ok(wallet_id)
    }

    /// Notes the provider's id for a checkout (its session).
    pub async fn checkout_opened(&self, checkout_id: &str, provider_ref: &str) -> Result<()> {
        self.write_one(
            Call::provider(),
            sqlx::query("UPDATE checkouts SET provider_ref = $1 WHERE id = $2")
                .bind(provider_ref)
                .bind(checkout_id),
        )
        .await?;
        Ok(())
    }

    /// Applies a paid checkout, once: a pack becomes a grant (valid for the pack's
    /// months, or forever); a monthly plan starts its first paid period (the old
    /// allowance ends now, no rollover); a one-time plan grants once per wallet.
    pub async fn complete_checkout(&self, paid: &Paid) -> Result<Balance> {
        let row = sqlx::query(
            "SELECT workspace_id, wallet_id, provider, card_hash, pack_id, plan_id, quantity, amount_minor, currency, status, provider_ref FROM checkouts WHERE id = $1",
        )
        .bind(&paid.checkout_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| LedgerError::NotFound(format!("checkout `{}`", paid.checkout_id)))?;
        let ws: String = row.try_get(0)?;
        let wallet_id: String = row.try_get(1)?;
        let provider: String = row.try_get(2)?;
        let card = self.card_by_hash(&row.try_get::<String, _>(3)?).await?;
        let pack_id: Option<String> = row.try_get(4)?;
        let plan_id: Option<String> = row.try_get(5)?;
        let quantity = to_u64(row.try_get(6)?);
        let amount = to_u64(row.try_get(7)?);
        let currency: String = row.try_get(8)?;
        let opened: Option<String> = row.try_get(10)?;
        if opened.as_deref() != Some(paid.session_ref.as_str()) {
            return Err(LedgerError::invalid(format!(
                "checkout `{}` was not opened as the provider's `{}`",
                paid.checkout_id, paid.session_ref
            )));
        }
        if provider != paid.provider
            || amount != paid.amount_minor
            || !currency.eq_ignore_ascii_case(&paid.currency)
        {
            return Err(LedgerError::invalid(format!(
                "checkout `{}` was for {amount} {currency} through {provider}; the payment says {} {} through {}",
                paid.checkout_id, paid.amount_minor, paid.currency, paid.provider
            )));
        }
        let call = Call::ledger(&ws, Some(idem(&paid.provider, &paid.event_id)))
            .body("checkout", &(&paid.checkout_id, &paid.payment_ref));
        let now = self.now_ms();
        let (mut tx, mut w) = match self.begin_on::<Balance>(&call, &wallet_id, now).await? {
            Begun::Replayed(done) => return done,
            Begun::Fresh(tx, w) => (tx, w),
        };
        let (status,): (String,) = sqlx::query_as("SELECT status FROM checkouts WHERE id = $1")
            .bind(&paid.checkout_id)
            .fetch_one(&mut *tx)
            .await?;
        // A paid event applies once; a checkout the provider said had failed is paid
        // after all if it says so now (its word on money is the last).
        if status != "completed" {
            let grant_id = match (&pack_id, &plan_id) {
                (Some(id), _) => {
                    let pack = card
                        .pack(id)
                        .ok_or_else(|| LedgerError::Corrupt(format!("pack {id} left its card")))?;
                    let credits = to_i64(
                        pack.credits
                            .saturating_mul(MILLI_PER_CREDIT)
                            .saturating_mul(quantity),
                    )?;
                    let expires = pack.validity_months.map(|m| add_months(now, i64::from(m)));
                    Some(
                        self.insert_grant(&mut tx, &mut w, "pack", Some(id), credits, expires, now)
                            .await?,
                    )
                }
                (None, Some(id)) => {
                    self.start_paid_plan(&mut tx, &card, &mut w, id, paid, now)
                        .await?
                }
                (None, None) => {
                    return Err(LedgerError::Corrupt(format!(
                        "checkout {} buys nothing",
                        paid.checkout_id
                    )))
                }
            };
            if let Some(g) = &grant_id {
                self.record_payment(
                    &mut tx,
                    &paid.provider,
                    paid.payment_ref.as_deref(),
                    &wallet_id,
                    g,
                    paid.amount_minor,
                    &paid.currency,
                    now,
                )
                .await?;
                self.repay_debts(&mut tx, &mut w, g, now).await?;
            }
            sqlx::query(
                "UPDATE checkouts SET status = 'completed', completed_at_ms = $1 WHERE id = $2",
            )
            .bind(now)
            .bind(&paid.checkout_id)
            .execute(&mut *tx)
            .await?;
        }
        self.save_wallet(&mut tx, &mut w).await?;
        let result = Ok(self.balance_in(&mut tx, &w).await?);
        self.finish(call, tx, &mut w, result, &[]).await
    }

    /// A plan bought by checkout: a monthly one becomes a subscription whose periods
    /// the provider's invoices renew; a one-time one grants once per wallet.
    async fn start_paid_plan(
        &self,
        tx: &mut Tx,
        card: &Card,
        w: &mut WalletRow,
        plan_id: &str,
        paid: &Paid,
        now: i64,
    ) -> Result<Option<String>> {
        let plan = card
            .plan(plan_id)
            .ok_or_else(|| LedgerError::Corrupt(format!("plan {plan_id} left its card")))?;
        let credits = to_i64(plan.credits.saturating_mul(MILLI_PER_CREDIT))?;
        if plan.renewal == Renewal::Once {
            let given: Option<(String,)> = sqlx::query_as(
                "SELECT id FROM grants WHERE wallet_id = $1 AND source = 'free' AND ref = $2",
            )
            .bind(&w.id)
            .bind(plan_id)
            .fetch_optional(&mut **tx)
            .await?;
            if given.is_some() {
                return Ok(None); // given once already: paying again buys nothing more
            }
            return Ok(Some(
                self.insert_grant(tx, w, "free", Some(plan_id), credits, None, now)
                    .await?,
            ));
        }
        let sub = paid.subscription_ref.as_deref().ok_or_else(|| {
            LedgerError::invalid("a monthly plan's payment must name its subscription")
        })?;
        self.end_plan_allowance(tx, w, now).await?;
        // One active subscription per wallet: a second one paid (two checkouts paid
        // before either's webhook arrived) replaces the first, which the server then
        // ends at the provider (`replaced_subscriptions`).
        sqlx::query("UPDATE subscriptions SET status = 'replaced' WHERE wallet_id = $1 AND status = 'active' AND subscription_ref <> $2")
            .bind(&w.id)
            .bind(sub)
            .execute(&mut **tx)
            .await?;
        w.plan_id = Some(plan_id.to_string());
        w.plan_credits_mc = Some(credits);
        // No clock-driven renewal: the next invoice starts the next period.
        w.cycle_anchor_ms = None;
        w.cycle_index = None;
        let ends = paid
            .period_end_ms
            .filter(|e| *e > now)
            .unwrap_or_else(|| add_months(now, 1));
        let grant = self
            .insert_grant(tx, w, "plan", Some(plan_id), credits, Some(ends), now)
            .await?;
        sqlx::query(
            "INSERT INTO subscriptions (provider, subscription_ref, wallet_id, plan_id, card_hash, grant_id, status, created_at_ms, amount_minor, currency) VALUES ($1, $2, $3, $4, $5, $6, 'active', $7, $8, $9) \
             ON CONFLICT (provider, subscription_ref) DO UPDATE SET grant_id = excluded.grant_id, status = 'active', amount_minor = excluded.amount_minor, currency = excluded.currency",
        )
        .bind(&paid.provider)
        .bind(sub)
        .bind(&w.id)
        .bind(plan_id)
        .bind(card.hash())
        .bind(&grant)
        .bind(now)
        .bind(to_i64(paid.amount_minor)?)
        .bind(paid.currency.to_ascii_lowercase())
        .execute(&mut **tx)
        .await?;
        Ok(Some(grant))
    }

    /// The current plan allowance ends now (no rollover into what comes next).
    pub(crate) async fn end_plan_allowance(
        &self,
        tx: &mut Tx,
        w: &mut WalletRow,
        now: i64,
    ) -> Result<()> {
        sqlx::query("UPDATE grants SET expires_at_ms = $1 WHERE wallet_id = $2 AND source = 'plan' AND (expires_at_ms IS NULL OR expires_at_ms > $1)")
            .bind(now)
            .bind(&w.id)
            .execute(&mut **tx)
            .await?;
        self.expire_grants(tx, w, now).await?;
        Ok(())
    }

    /// A payment refunded (in part or in full; `refunded_minor` is the total so far):
    /// the same share of the credits it bought is taken back from its grant, as far as
    /// they are unspent and unreserved; the rest becomes a debt.
    pub async fn refund_payment(
        &self,
        provider: &str,
        event_id: &str,
        payment_ref: &str,
        refunded_minor: u64,
    ) -> Result<Option<Balance>> {
        let row: Option<(String, String, Option<String>, i64, i64, i64)> = sqlx::query_as(
            "SELECT p.wallet_id, w.workspace_id, p.grant_id, p.amount_minor, p.credits_mc, p.taken_back_mc FROM payments p JOIN wallets w ON w.id = p.wallet_id WHERE p.provider = $1 AND p.payment_ref = $2",
        )
        .bind(provider)
        .bind(payment_ref)
        .fetch_optional(&self.pool)
        .await?;
        let Some((wallet_id, ws, grant_id, amount, credits, taken)) = row else {
            return Ok(None);
        };
        let call = Call::ledger(&ws, Some(idem(provider, event_id)))
            .body("refund_payment", &(payment_ref, refunded_minor));
        let now = self.now_ms();
        let (mut tx, mut w) = match self.begin_on::<Balance>(&call, &wallet_id, now).await? {
            Begun::Replayed(done) => return done.map(Some),
            Begun::Fresh(tx, w) => (tx, w),
        };
        // Integer share, rounded down: never more than was bought.
        let refunded = i128::from(to_i64(refunded_minor.min(to_u64(amount)))?);
        let due = if amount == 0 {
            0
        } else {
            i64::try_from(i128::from(credits) * refunded / i128::from(amount)).unwrap_or(credits)
        };
        let owed = (due - taken).max(0);
        if owed > 0 {
            let free: i64 = match &grant_id {
                Some(g) => sqlx::query_as::<_, (i64,)>(
                    "SELECT remaining_mc - held_mc FROM grants WHERE id = $1",
                )
                .bind(g)
                .fetch_optional(&mut *tx)
                .await?
                .map_or(0, |r| r.0),
                None => 0,
            };
            let take = owed.min(free.max(0));
            let reason = format!("refund of payment {payment_ref}");
            if let (Some(g), true) = (&grant_id, take > 0) {
                sqlx::query("UPDATE grants SET remaining_mc = remaining_mc - $1 WHERE id = $2")
                    .bind(take)
                    .bind(g)
                    .execute(&mut *tx)
                    .await?;
                self.entry(
                    &mut tx,
                    &wallet_id,
                    now,
                    Entry {
                        kind: "revoke",
                        balance_delta_mc: -take,
                        grant_id: Some(g),
                        note: Some(&reason),
                        ..Entry::default()
                    },
                )
                .await?;
                w.balance_mc -= take;
            }
            if owed > take {
                sqlx::query("INSERT INTO debts (id, wallet_id, amount_mc, reason, created_at_ms) VALUES ($1, $2, $3, $4, $5)")
                    .bind(new_id("dbt"))
                    .bind(&wallet_id)
                    .bind(owed - take)
                    .bind(format!("{reason}: {} credits were already spent", fmt_mc(to_u64(owed - take))))
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
            }
            sqlx::query("UPDATE payments SET taken_back_mc = taken_back_mc + $1 WHERE provider = $2 AND payment_ref = $3")
                .bind(owed)
                .bind(provider)
                .bind(payment_ref)
                .execute(&mut *tx)
                .await?;
            let data = serde_json::json!({
                "wallet_id": wallet_id, "revoked_millicredits": take, "debt_millicredits": owed - take, "reason": reason,
            });
            self.emit(&mut tx, &ws, EventType::CreditsRevoked, data, now)
                .await?;
        }
        self.save_wallet(&mut tx, &mut w).await?;
        let result = Ok(Some(self.balance_in(&mut tx, &w).await?));
        self.finish(call, tx, &mut w, result, &[]).await
    }

    #[allow(clippy::too_many_arguments)] // one payment row's columns
    pub(crate) async fn record_payment(
        &self,
        tx: &mut Tx,
        provider: &str,
        payment_ref: Option<&str>,
        wallet_id: &str,
        grant_id: &str,
        amount_minor: u64,
        currency: &str,
        now: i64,
    ) -> Result<()> {
        let Some(payment_ref) = payment_ref else {
            return Ok(());
        };
        let (credits,): (i64,) = sqlx::query_as("SELECT amount_mc FROM grants WHERE id = $1")
            .bind(grant_id)
            .fetch_one(&mut **tx)
            .await?;
        sqlx::query(
            "INSERT INTO payments (provider, payment_ref, wallet_id, grant_id, amount_minor, currency, credits_mc, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (provider, payment_ref) DO NOTHING",
        )
        .bind(provider)
        .bind(payment_ref)
        .bind(wallet_id)
        .bind(grant_id)
        .bind(to_i64(amount_minor)?)
        .bind(currency)
        .bind(credits)
        .bind(now)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Repays the wallet's debts from a new grant, oldest debt first.
    pub(crate) async fn repay_debts(
        &self,
        tx: &mut Tx,
        w: &mut WalletRow,
        grant_id: &str,
        now: i64,
    ) -> Result<()> {
        let debts: Vec<(String, i64)> = sqlx::query_as(
            "SELECT id, amount_mc - repaid_mc FROM debts WHERE wallet_id = $1 AND repaid_mc < amount_mc ORDER BY created_at_ms, id",
        )
        .bind(&w.id)
        .fetch_all(&mut **tx)
        .await?;
        for (debt_id, owed) in debts {
            let (free,): (i64,) =
                sqlx::query_as("SELECT remaining_mc - held_mc FROM grants WHERE id = $1")
                    .bind(grant_id)
                    .fetch_one(&mut **tx)
                    .await?;
            let take = owed.min(free);
            if take <= 0 {
                break;
            }
            sqlx::query("UPDATE grants SET remaining_mc = remaining_mc - $1 WHERE id = $2")
                .bind(take)
                .bind(grant_id)
                .execute(&mut **tx)
                .await?;
            sqlx::query("UPDATE debts SET repaid_mc = repaid_mc + $1 WHERE id = $2")
                .bind(take)
                .bind(&debt_id)
                .execute(&mut **tx)
                .await?;
            let note = format!("repays debt {debt_id}");
            self.entry(
                tx,
                &w.id.clone(),
                now,
                Entry {
                    kind: "revoke",
                    balance_delta_mc: -take,
                    grant_id: Some(grant_id),
                    note: Some(&note),
                    ..Entry::default()
                },
            )
            .await?;
            w.balance_mc -= take;
        }
        Ok(())
    }
}

/// `quantity` units of `pack` may be bought at once: its own range when it is bought by
/// amount (Kumari: 10 to 500), else 1 to 100.
pub(crate) fn check_units(pack: &creditkit_pricing::Pack, quantity: u64) -> Result<()> {
    let units = pack.units();
    if (units.min..=units.max).contains(&quantity) {
        return Ok(());
    }
    Err(LedgerError::invalid_at(
        "quantity",
        format!(
            "{} is bought {} to {} at a time",
            pack.name, units.min, units.max
        ),
    ))
}

fn unknown(card: &Card, path: &str, id: &str) -> LedgerError {
    let known: Vec<&str> = if path == "pack_id" {
        card.packs.iter().map(|p| p.id.as_str()).collect()
    } else {
        card.plans.iter().map(|p| p.id.as_str()).collect()
    };
    LedgerError::invalid_at(
        path,
        format!(
            "unknown {} `{id}` (card `{}` has: {})",
            &path[..path.len() - 3],
            card.id,
            or_none(&known)
        ),
    )
}

fn not_for_sale(what: &str, id: &str) -> LedgerError {
    LedgerError::invalid(format!(
        "{what} `{id}` has no price on the card: it is not sold through checkout"
    ))
}
