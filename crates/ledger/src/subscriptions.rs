//! A wallet's subscription, once paid: renewed by the provider's invoices (not the
//! clock), changed through the provider (an upgrade now, its prorated invoice granting
//! the difference in credits; a downgrade from the next period; cancel at the period's
//! end, and resume), and ended by the provider. One active subscription per wallet:
//! a second plan checkout is refused (`purchases.rs`). Every event is checked against
//! the stored subscription (amount, currency, plan) and applied once.

use creditkit_api::{Balance, Op, Subscription, SubscriptionChange};
use creditkit_pricing::{Renewal, MILLI_PER_CREDIT};

use crate::purchases::idem;
use crate::time::add_months;
use crate::{
    new_id, to_i64, to_u64, Begun, Call, Ledger, LedgerError, PaidPeriod, Principal, Result, Tx,
    WalletRow,
};

/// How long a plan checkout's page may be paid (Stripe's shortest `expires_at`): while
/// one is open, another plan checkout for the wallet is refused.
pub(crate) const PLAN_CHECKOUT_MS: i64 = 30 * 60 * 1000;

/// Why a subscription's invoice was paid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PeriodReason {
    /// Its first period (the checkout started it).
    Create,
    /// A renewal.
    Cycle,
    /// A plan change's prorated invoice (an upgrade).
    Update,
}

/// What the provider is asked to change on a subscription.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PlanChange {
    /// To a dearer plan now, the difference invoiced at once.
    Upgrade,
    /// To a cheaper plan from the next period (nothing invoiced now).
    Downgrade,
    /// Ends at the period's end.
    Cancel,
    /// No longer ends at the period's end.
    Resume,
    /// Ends now: a subscription another one paid for the same wallet replaced.
    EndNow,
}

/// A change to ask the provider for, checked and priced from the card.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SubscriptionUpdate {
    /// Our id for the request (the provider's idempotency key).
    pub id: String,
    pub provider: String,
    pub subscription_ref: String,
    pub wallet_id: String,
    pub change: PlanChange,
    /// The plan changed to (upgrade, downgrade).
    pub plan_id: Option<String>,
    /// What the provider's invoice line says: `Pro plan (3000 credits a month)`.
    pub description: String,
    /// The new plan's price a period, in minor units.
    pub unit_amount_minor: u64,
    pub currency: String,
    /// What was set before (restored if the provider refuses): the downgrade, the
    /// upgrade, the end at the period's end.
    pub before: (Option<String>, Option<String>, bool),
}

/// An active subscription's row.
struct Active {
    provider: String,
    subscription_ref: String,
    plan_id: String,
    cancel_at_period_end: bool,
    next_plan_id: Option<String>,
    upgrade_plan_id: Option<String>,
    amount_minor: Option<i64>,
    currency: Option<String>,
}

impl Ledger {
    /// The plan of the wallet's active subscription, if it has one.
    pub(crate) async fn active_subscription_plan(&self, wallet_id: &str) -> Result<Option<String>> {
        Ok(self
            .active_subscription(wallet_id)
            .await?
            .map(|a| a.plan_id))
    }

    /// Whether a plan checkout of the wallet was opened in the last
    /// [`PLAN_CHECKOUT_MS`] and not settled (its page may still be paid).
    pub(crate) async fn plan_checkout_open(&self, wallet_id: &str) -> Result<bool> {
        let (open,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM checkouts WHERE wallet_id = $1 AND plan_id IS NOT NULL AND status = 'open' AND created_at_ms > $2",
        )
        .bind(wallet_id)
        .bind(self.now_ms() - PLAN_CHECKOUT_MS)
        .fetch_one(&self.pool)
        .await?;
        Ok(open > 0)
    }

    /// Subscriptions another paid one replaced, still to end at the provider (so the
    /// customer is not charged twice); each is listed until [`Ledger::replaced_ended`].
    pub async fn replaced_subscriptions(&self, wallet_id: &str) -> Result<Vec<(String, String)>> {
        Ok(sqlx::query_as(
            "SELECT provider, subscription_ref FROM subscriptions WHERE wallet_id = $1 AND status = 'replaced'",
        )
        .bind(wallet_id)
        .fetch_all(&self.pool)
        .await?)
    }

    /// What to ask the provider to end a replaced subscription now.
    pub fn end_replaced(
        provider: &str,
        subscription_ref: &str,
        wallet_id: &str,
    ) -> SubscriptionUpdate {
        SubscriptionUpdate {
            id: new_id("sup"),
            provider: provider.to_string(),
            subscription_ref: subscription_ref.to_string(),
            wallet_id: wallet_id.to_string(),
            change: PlanChange::EndNow,
            plan_id: None,
            description: String::new(),
            unit_amount_minor: 0,
            currency: String::new(),
            before: (None, None, false),
        }
    }

    /// The provider ended a replaced subscription.
    pub async fn replaced_ended(&self, provider: &str, subscription_ref: &str) -> Result<()> {
        self.write_one(
            Call::provider(),
            sqlx::query("UPDATE subscriptions SET status = 'ended' WHERE provider = $1 AND subscription_ref = $2 AND status = 'replaced'")
                .bind(provider)
                .bind(subscription_ref),
        )
        .await?;
        Ok(())
    }

    async fn active_subscription(&self, wallet_id: &str) -> Result<Option<Active>> {
        #[allow(clippy::type_complexity)]
        let row: Option<(String, String, String, i64, Option<String>, Option<String>, Option<i64>, Option<String>)> =
            sqlx::query_as(
                "SELECT provider, subscription_ref, plan_id, cancel_at_period_end, next_plan_id, upgrade_plan_id, amount_minor, currency \
                 FROM subscriptions WHERE wallet_id = $1 AND status = 'active' ORDER BY created_at_ms DESC LIMIT 1",
            )
            .bind(wallet_id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| Active {
            provider: r.0,
            subscription_ref: r.1,
            plan_id: r.2,
            cancel_at_period_end: r.3 != 0,
            next_plan_id: r.4,
            upgrade_plan_id: r.5,
            amount_minor: r.6,
            currency: r.7,
        }))
    }

    /// `GET /v1/subscription`: the wallet's paid subscription, what it costs, when it
    /// renews, and what is set to change (a downgrade, an upgrade awaiting its invoice,
    /// the end at the period's end). `None` on no paid plan.
    pub async fn subscription(
        &self,
        p: &Principal,
        wallet_id: Option<&str>,
    ) -> Result<Option<Subscription>> {
        p.require(Op::Read)?;
        let wallet_id = self.resolve_wallet(p, wallet_id).await?;
        let Some(a) = self.active_subscription(&wallet_id).await? else {
            return Ok(None);
        };
        let (renews_at_ms,): (Option<i64>,) = sqlx::query_as(
            "SELECT MAX(expires_at_ms) FROM grants WHERE wallet_id = $1 AND source = 'plan'",
        )
        .bind(&wallet_id)
        .fetch_one(&self.pool)
        .await?;
        Ok(Some(Subscription {
            wallet_id,
            plan_id: a.plan_id,
            amount_minor: a.amount_minor.map_or(0, to_u64),
            currency: a.currency.unwrap_or_default(),
            renews_at_ms,
            cancel_at_period_end: a.cancel_at_period_end,
            next_plan_id: a.next_plan_id,
            upgrade_plan_id: a.upgrade_plan_id,
        }))
    }

    /// Checks a plan change or a cancellation and prices it from the card: what to ask
    /// the provider. Nothing is recorded until the provider has taken it
    /// ([`Ledger::subscription_changed`]).
    pub async fn prepare_subscription_change(
        &self,
        p: &Principal,
        req: &SubscriptionChange,
    ) -> Result<SubscriptionUpdate> {
        let wallet_id = self.buying_wallet(p, req.wallet_id.as_deref()).await?;
        let a = self.active_subscription(&wallet_id).await?.ok_or_else(|| {
            LedgerError::invalid(
                "this wallet has no paid subscription: buy a plan through checkout",
            )
        })?;
        let card = self.card(&p.workspace_id).await?;
        let currency = card
            .currency
            .as_ref()
            .map(|c| c.code.to_ascii_lowercase())
            .unwrap_or_default();
        let current = card.plan(&a.plan_id);
        let (change, plan) = match (&req.plan_id, req.cancel_at_period_end) {
            (Some(id), None) => {
                let plan = card.plan(id).ok_or_else(|| {
                    LedgerError::invalid_at("plan_id", format!("unknown plan `{id}`"))
                })?;
                if plan.renewal != Renewal::Monthly || plan.price_minor.unwrap_or(0) == 0 {
                    return Err(LedgerError::invalid_at(
                        "plan_id",
                        format!(
                            "`{id}` is not a paid monthly plan: cancel to leave the subscription"
                        ),
                    ));
                }
                if *id == a.plan_id {
                    return Err(LedgerError::invalid_at(
                        "plan_id",
                        format!("this wallet is on `{id}` already"),
                    ));
                }
                if a.cancel_at_period_end {
                    return Err(LedgerError::invalid_at(
                        "plan_id",
                        "this subscription ends at the period's end: resume it before changing plan",
                    ));
                }
                let rank = |p: &creditkit_pricing::Plan| (p.credits, p.price_minor);
                let up = current.is_none_or(|c| rank(plan) > rank(c));
                (
                    if up {
                        PlanChange::Upgrade
                    } else {
                        PlanChange::Downgrade
                    },
                    Some(plan),
                )
            }
            (None, Some(true)) => (PlanChange::Cancel, None),
            (None, Some(false)) => (PlanChange::Resume, None),
            _ => {
                return Err(LedgerError::invalid(
                    "name exactly one of `plan_id` or `cancel_at_period_end`",
                ))
            }
        };
        let shown = plan.or(current);
        Ok(SubscriptionUpdate {
            id: new_id("sup"),
            provider: a.provider,
            subscription_ref: a.subscription_ref,
            wallet_id,
            change,
            plan_id: plan.map(|p| p.id.clone()),
            description: shown.map_or_else(String::new, |p| {
                format!("{} plan ({} credits a month)", p.name, p.credits)
            }),
            unit_amount_minor: shown.and_then(|p| p.price_minor).unwrap_or(0),
            currency,
            before: (a.next_plan_id, a.upgrade_plan_id, a.cancel_at_period_end),
        })
    }

    /// The provider refused `update`: what was set before it is set again.
    pub async fn subscription_change_undone(&self, update: &SubscriptionUpdate) -> Result<()> {
        let (next, upgrade, cancel) = &update.before;
        self.write_one(
            Call::provider(),
            sqlx::query("UPDATE subscriptions SET next_plan_id = $1, upgrade_plan_id = $2, cancel_at_period_end = $3 WHERE provider = $4 AND subscription_ref = $5")
                .bind(next.as_deref())
                .bind(upgrade.as_deref())
                .bind(i64::from(*cancel))
                .bind(&update.provider)
                .bind(&update.subscription_ref),
        )
        .await?;
        Ok(())
    }

    /// Records `update` before the provider is asked (its invoice's webhook may arrive
    /// before its answer): an upgrade waits for its prorated invoice (which grants the
    /// difference), a downgrade applies at the next renewal, a cancellation at the
    /// period's end (the provider's `deleted` event ends it).
    pub async fn subscription_changed(&self, update: &SubscriptionUpdate) -> Result<()> {
        let (sql, plan) = match update.change {
            PlanChange::Upgrade => ("UPDATE subscriptions SET upgrade_plan_id = $1, next_plan_id = NULL WHERE provider = $2 AND subscription_ref = $3", update.plan_id.as_deref()),
            PlanChange::Downgrade => ("UPDATE subscriptions SET next_plan_id = $1, upgrade_plan_id = NULL WHERE provider = $2 AND subscription_ref = $3", update.plan_id.as_deref()),
            PlanChange::Cancel => ("UPDATE subscriptions SET cancel_at_period_end = 1, next_plan_id = NULL WHERE subscription_ref = $1 AND provider = $2 AND subscription_ref = $3", Some(update.subscription_ref.as_str())),
            PlanChange::Resume => ("UPDATE subscriptions SET cancel_at_period_end = 0 WHERE subscription_ref = $1 AND provider = $2 AND subscription_ref = $3", Some(update.subscription_ref.as_str())),
            PlanChange::EndNow => return Ok(()),
        };
        self.write_one(
            Call::provider(),
            sqlx::query(sql)
                .bind(plan)
                .bind(&update.provider)
                .bind(&update.subscription_ref),
        )
        .await?;
        Ok(())
    }

    /// A subscription's invoice paid: its first one only names the payment (the
    /// checkout started the period); a renewal resets the allowance, no rollover (to a
    /// downgrade's plan, from this period); an upgrade's prorated invoice moves the
    /// wallet to the new plan now and grants the difference in credits until the
    /// period's end.
    pub async fn renew_subscription(
        &self,
        period: &PaidPeriod,
        reason: PeriodReason,
    ) -> Result<Option<Balance>> {
        #[allow(clippy::type_complexity)]
        let sub: Option<(String, String, String, Option<String>, Option<i64>, Option<String>, String, Option<String>, Option<String>)> = sqlx::query_as(
            "SELECT s.wallet_id, s.plan_id, w.workspace_id, s.grant_id, s.amount_minor, s.currency, s.status, s.next_plan_id, s.upgrade_plan_id \
             FROM subscriptions s JOIN wallets w ON w.id = s.wallet_id WHERE s.provider = $1 AND s.subscription_ref = $2",
        )
        .bind(&period.provider)
        .bind(&period.subscription_ref)
        .fetch_optional(&self.pool)
        .await?;
        let Some((wallet_id, plan_id, ws, first_grant, amount, currency, status, next, upgrade)) =
            sub
        else {
            // Not known yet (its checkout's webhook may come later): the provider retries.
            return Ok(None);
        };
        // An event applied before replays its answer (below), whatever has changed since.
        let key = idem(&period.provider, &period.event_id);
        let (seen,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM idempotency WHERE workspace_id = $1 AND key = $2")
                .bind(&ws)
                .bind(&key)
                .fetch_one(&self.pool)
                .await?;
        let upgrade = if seen > 0 {
            upgrade.or(Some(plan_id.clone()))
        } else {
            upgrade
        };
        let card = self.card(&ws).await?;
        let stored = Stored {
            status: &status,
            currency: currency.as_deref(),
            plan_id: &plan_id,
            next: next.as_deref(),
            upgrade: upgrade.as_deref(),
            amount,
            seen: seen > 0,
        };
        let paid_plan = paid_plan(&card, reason, period, &stored)?;
        let plan = card.plan(&paid_plan).ok_or_else(|| {
            LedgerError::invalid(format!("plan `{paid_plan}` is no longer on the card"))
        })?;
        let credits = to_i64(plan.credits.saturating_mul(MILLI_PER_CREDIT))?;
        let call = Call::ledger(&ws, Some(key))
            .body("renew", &(&period.subscription_ref, &period.payment_ref));
        let now = self.now_ms();
        let (mut tx, mut w) = match self.begin_on::<Balance>(&call, &wallet_id, now).await? {
            Begun::Replayed(done) => return done.map(Some),
            Begun::Fresh(tx, w) => (tx, w),
        };
        let grant = self
            .period_grant(
                &mut tx,
                &mut w,
                reason,
                first_grant,
                &paid_plan,
                credits,
                period,
                now,
            )
            .await?;
        let new_amount = match reason {
            PeriodReason::Create => amount,
            _ => plan.price_minor.map(to_i64).transpose()?,
        };
        record_period(&mut tx, period, &paid_plan, grant.as_deref(), new_amount).await?;
        if let Some(g) = &grant {
            if reason != PeriodReason::Create {
                self.repay_debts(&mut tx, &mut w, g, now).await?;
            }
            self.record_payment(
                &mut tx,
                &period.provider,
                period.payment_ref.as_deref(),
                &wallet_id,
                g,
                period.amount_minor,
                &period.currency,
                now,
            )
            .await?;
        }
        self.save_wallet(&mut tx, &mut w).await?;
        let result = Ok(Some(self.balance_in(&mut tx, &w).await?));
        self.finish(call, tx, &mut w, result, &[]).await
    }

    /// The grant a paid period brings: the first period's (made by its checkout), a
    /// renewal's new allowance (the old one ends now), or an upgrade's difference until
    /// the current allowance ends.
    #[allow(clippy::too_many_arguments)] // one invoice's facts
    async fn period_grant(
        &self,
        tx: &mut Tx,
        w: &mut WalletRow,
        reason: PeriodReason,
        first_grant: Option<String>,
        paid_plan: &str,
        credits: i64,
        period: &PaidPeriod,
        now: i64,
    ) -> Result<Option<String>> {
        Ok(match reason {
            PeriodReason::Create => first_grant,
            PeriodReason::Cycle => {
                // The current card's plan: a new period is a new commitment.
                self.end_plan_allowance(tx, w, now).await?;
                w.plan_id = Some(paid_plan.to_string());
                w.plan_credits_mc = Some(credits);
                let ends = period
                    .period_end_ms
                    .filter(|e| *e > now)
                    .unwrap_or_else(|| add_months(now, 1));
                let g = self
                    .insert_grant(tx, w, "plan", Some(paid_plan), credits, Some(ends), now)
                    .await?;
                Some(g)
            }
            PeriodReason::Update => {
                // The difference, until the current allowance ends.
                let before = w.plan_credits_mc.unwrap_or(0);
                let (ends,): (Option<i64>,) = sqlx::query_as(
                    "SELECT MAX(expires_at_ms) FROM grants WHERE wallet_id = $1 AND source = 'plan' AND expires_at_ms > $2",
                )
                .bind(&w.id)
                .bind(now)
                .fetch_one(&mut **tx)
                .await?;
                let ends = ends.unwrap_or_else(|| add_months(now, 1));
                w.plan_id = Some(paid_plan.to_string());
                w.plan_credits_mc = Some(credits);
                let more = credits - before;
                if more > 0 {
                    Some(
                        self.insert_grant(tx, w, "plan", Some(paid_plan), more, Some(ends), now)
                            .await?,
                    )
                } else {
                    None
                }
            }
        })
    }

    /// A subscription ended: its allowance ends now and the wallet returns to the
    /// card's free plan, if it has one (a one-time free grant is never given twice).
    pub async fn end_subscription(
        &self,
        provider: &str,
        event_id: &str,
        subscription_ref: &str,
    ) -> Result<Option<Balance>> {
        let sub: Option<(String, String, String)> = sqlx::query_as(
            "SELECT s.wallet_id, w.workspace_id, s.status FROM subscriptions s JOIN wallets w ON w.id = s.wallet_id WHERE s.provider = $1 AND s.subscription_ref = $2",
        )
        .bind(provider)
        .bind(subscription_ref)
        .fetch_optional(&self.pool)
        .await?;
        let Some((wallet_id, ws, status)) = sub else {
            return Ok(None);
        };
        // A subscription already replaced or ended leaves the wallet as it is.
        if status != "active" {
            self.replaced_ended(provider, subscription_ref).await?;
            return self
                .balance(&Principal::operator(&ws), Some(&wallet_id))
                .await
                .map(Some);
        }
        let card = self.card(&ws).await?;
        let call = Call::ledger(&ws, Some(idem(provider, event_id))).body("end", &subscription_ref);
        let now = self.now_ms();
        let (mut tx, mut w) = match self.begin_on::<Balance>(&call, &wallet_id, now).await? {
            Begun::Replayed(done) => return done.map(Some),
            Begun::Fresh(tx, w) => (tx, w),
        };
        self.end_plan_allowance(&mut tx, &mut w, now).await?;
        (
            w.plan_id,
            w.plan_credits_mc,
            w.cycle_anchor_ms,
            w.cycle_index,
        ) = (None, None, None, None);
        if let Some(free) = card.plans.iter().find(|p| p.price_minor.unwrap_or(0) == 0) {
            match self.apply_plan(&mut tx, &card, &mut w, &free.id, now).await {
                Ok(()) => {}
                // The one-time free grant was given before: not again.
                Err(LedgerError::Invalid { .. }) if free.renewal == Renewal::Once => {
                    w.plan_id = Some(free.id.clone());
                }
                Err(e) => return Err(e),
            }
        }
        sqlx::query("UPDATE subscriptions SET status = 'ended' WHERE provider = $1 AND subscription_ref = $2")
            .bind(provider)
            .bind(subscription_ref)
            .execute(&mut *tx)
            .await?;
        self.save_wallet(&mut tx, &mut w).await?;
        let result = Ok(Some(self.balance_in(&mut tx, &w).await?));
        self.finish(call, tx, &mut w, result, &[]).await
    }
}

/// What a subscription's row says, for checking an invoice against it.
struct Stored<'a> {
    status: &'a str,
    currency: Option<&'a str>,
    plan_id: &'a str,
    next: Option<&'a str>,
    upgrade: Option<&'a str>,
    amount: Option<i64>,
    /// The invoice's event was applied before (it replays, whatever changed since).
    seen: bool,
}

/// The plan an invoice pays for, checked against what was stored: an active
/// subscription in its currency, a renewal at the price subscribed to (or at a
/// downgrade's), an update only while an upgrade waits.
fn paid_plan(
    card: &creditkit_pricing::Card,
    reason: PeriodReason,
    period: &PaidPeriod,
    s: &Stored<'_>,
) -> Result<String> {
    if !s.seen && s.status != "active" {
        return Err(LedgerError::invalid(format!(
            "subscription `{}` is {}: its invoices renew nothing",
            period.subscription_ref, s.status
        )));
    }
    if s.currency
        .is_some_and(|c| !c.eq_ignore_ascii_case(&period.currency))
    {
        return Err(LedgerError::invalid(format!(
            "subscription `{}` is paid in {}; the invoice is in {}",
            period.subscription_ref,
            s.currency.unwrap_or_default(),
            period.currency
        )));
    }
    // The plan this invoice pays for, checked against what was stored: a renewal
    // at the price subscribed to (or at a downgrade's), an update only while an
    // upgrade waits for it.
    Ok(match reason {
        PeriodReason::Create => s.plan_id.to_string(),
        PeriodReason::Cycle => {
            let expected = |id: &str| card.plan(id).and_then(|p| p.price_minor);
            match s.next {
                Some(n) if expected(n) == Some(period.amount_minor) => n.to_string(),
                _ => {
                    if !s.seen && s.amount.is_some_and(|a| to_u64(a) != period.amount_minor) {
                        return Err(LedgerError::invalid(format!(
                            "subscription `{}` is {} {} a period; the invoice paid {} {}",
                            period.subscription_ref,
                            s.amount.unwrap_or(0),
                            period.currency,
                            period.amount_minor,
                            period.currency
                        )));
                    }
                    s.plan_id.to_string()
                }
            }
        }
        PeriodReason::Update => s.upgrade.map(str::to_string).ok_or_else(|| {
            LedgerError::invalid(format!(
                "subscription `{}` has no plan change waiting for this invoice",
                period.subscription_ref
            ))
        })?,
    })
}

/// A paid period on the subscription's row: the plan it pays, its grant and amount,
/// and the plan change it applied no longer waiting.
async fn record_period(
    tx: &mut Tx,
    period: &PaidPeriod,
    paid_plan: &str,
    grant: Option<&str>,
    amount_minor: Option<i64>,
) -> Result<()> {
    sqlx::query(
        "UPDATE subscriptions SET plan_id = $1, grant_id = COALESCE($2, grant_id), amount_minor = $3, \
         next_plan_id = CASE WHEN next_plan_id = $1 THEN NULL ELSE next_plan_id END, \
         upgrade_plan_id = CASE WHEN upgrade_plan_id = $1 THEN NULL ELSE upgrade_plan_id END \
         WHERE provider = $4 AND subscription_ref = $5",
    )
    .bind(paid_plan)
    .bind(grant)
    .bind(amount_minor)
    .bind(&period.provider)
    .bind(&period.subscription_ref)
    .execute(&mut **tx)
    .await?;
    Ok(())
}
