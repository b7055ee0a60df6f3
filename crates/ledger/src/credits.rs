//! Credits in and out by the operator: top-ups paid outside creditkit, plans, support
//! grants and revocations. Browser credentials never reach these (see the table).

use creditkit_api::admin::{EventType, GrantRequest, RevokeRequest};
use creditkit_api::{Balance, Op, TopUpRequest};
use creditkit_pricing::MILLI_PER_CREDIT;

use crate::error::fmt_mc;
use crate::time::add_months;
use crate::workspaces::or_none;
use crate::{to_i64, to_u64, Begun, Entry, Ledger, LedgerError, Principal, Result, Tx};

/// Longest reason kept with a grant or revocation.
pub const MAX_REASON_CHARS: usize = 500;

fn check_reason(reason: &str) -> Result<()> {
    if reason.trim().is_empty() || reason.chars().count() > MAX_REASON_CHARS {
        return Err(LedgerError::invalid_at(
            "reason",
            format!("say why, in 1 to {MAX_REASON_CHARS} characters (it is kept in the ledger)"),
        ));
    }
    Ok(())
}

impl Ledger {
    // ---------------------------------------------------------------- money in

    /// Adds a pack's credits, paid through the operator's own checkout.
    pub async fn top_up(
        &self,
        p: &Principal,
        wallet_id: Option<&str>,
        req: &TopUpRequest,
        key: &str,
    ) -> Result<Balance> {
        let call = self.authorise_keyed(p, Op::Grant, key)?;
        let quantity = req.quantity.unwrap_or(1);
        if quantity == 0 || quantity > creditkit_pricing::limits::MAX_PACK_UNITS {
            return Err(LedgerError::invalid_at(
                "quantity",
                format!(
                    "quantity must be 1 to {}",
                    creditkit_pricing::limits::MAX_PACK_UNITS
                ),
            ));
        }
        let wallet_id = self.resolve_wallet(p, wallet_id).await?;
        let card = self.card(&p.workspace_id).await?;
        let pack = card.pack(&req.pack_id).ok_or_else(|| {
            let known: Vec<_> = card.packs.iter().map(|p| p.id.as_str()).collect();
            LedgerError::invalid_at(
                "pack_id",
                format!(
                    "unknown pack `{}` (card `{}` has: {})",
                    req.pack_id,
                    card.id,
                    or_none(&known)
                ),
            )
        })?;
        crate::purchases::check_units(pack, quantity)?;
        let call = call.body("top_up", &(&wallet_id, req));
        let now = self.now_ms();
        let (mut tx, mut w) = match self.begin_on::<Balance>(&call, &wallet_id, now).await? {
            Begun::Replayed(done) => return done,
            Begun::Fresh(tx, w) => (tx, w),
        };
        let amount = to_i64(
            pack.credits
                .saturating_mul(MILLI_PER_CREDIT)
                .saturating_mul(quantity),
        )?;
        let expires = pack.validity_months.map(|m| add_months(now, i64::from(m)));
        self.insert_grant(
            &mut tx,
            &mut w,
            "pack",
            Some(&pack.id),
            amount,
            expires,
            now,
        )
        .await?;
        self.save_wallet(&mut tx, &mut w).await?;
        let balance = self.balance_in(&mut tx, &w).await?;
        let result = Ok(balance);
        self.finish(call, tx, &mut w, result, &[]).await
    }

    /// Moves a wallet to a plan of the card: the allowance starts now and renews each
    /// month without rollover; a one-time plan grants once. Customers change plan by paying
    /// for it (checkout); the operator's backend records it here.
    pub async fn change_plan(
        &self,
        p: &Principal,
        wallet_id: Option<&str>,
        plan_id: &str,
        key: &str,
    ) -> Result<Balance> {
        let call = self.authorise_keyed(p, Op::ChangePlan, key)?;
        let wallet_id = self.resolve_wallet(p, wallet_id).await?;
        let card = self.card(&p.workspace_id).await?;
        let call = call.body("change_plan", &(&wallet_id, plan_id));
        let now = self.now_ms();
        let (mut tx, mut w) = match self.begin_on::<Balance>(&call, &wallet_id, now).await? {
            Begun::Replayed(done) => return done,
            Begun::Fresh(tx, w) => (tx, w),
        };
        self.apply_plan(&mut tx, &card, &mut w, plan_id, now)
            .await?;
        self.save_wallet(&mut tx, &mut w).await?;
        let result = Ok(self.balance_in(&mut tx, &w).await?);
        self.finish(call, tx, &mut w, result, &[]).await
    }

    /// Credits given by the operator (support goodwill, a promotion), with the reason
    /// kept on the grant and its entry.
    pub async fn grant(&self, p: &Principal, req: &GrantRequest, key: &str) -> Result<Balance> {
        let call = self.authorise_keyed(p, Op::Grant, key)?;
        check_reason(&req.reason)?;
        if req.amount_millicredits == 0 {
            return Err(LedgerError::invalid_at(
                "amount_millicredits",
                "amount must be above zero",
            ));
        }
        let amount = to_i64(req.amount_millicredits)?;
        let wallet_id = self.resolve_wallet(p, req.wallet_id.as_deref()).await?;
        let call = call.body("grant", &(&wallet_id, req));
        let now = self.now_ms();
        let (mut tx, mut w) = match self.begin_on::<Balance>(&call, &wallet_id, now).await? {
            Begun::Replayed(done) => return done,
            Begun::Fresh(tx, w) => (tx, w),
        };
        self.insert_grant(
            &mut tx,
            &mut w,
            "grant",
            Some(&req.reason),
            amount,
            req.expires_at_ms,
            now,
        )
        .await?;
        self.settle(&mut tx, &mut w, now).await?; // an already-past expiry expires at once
        self.save_wallet(&mut tx, &mut w).await?;
        let result = Ok(self.balance_in(&mut tx, &w).await?);
        self.finish(call, tx, &mut w, result, &[]).await
    }

    /// Takes credits back: an amount from the soonest-expiring grants, or what is left
    /// of one grant. Only unreserved credits are taken (a confirmed action keeps what
    /// it holds), so the balance never goes below zero; asking for more is refused.
    pub async fn revoke(&self, p: &Principal, req: &RevokeRequest, key: &str) -> Result<Balance> {
        let call = self.authorise_keyed(p, Op::Grant, key)?;
        check_reason(&req.reason)?;
        let asked = match (req.amount_millicredits, &req.grant_id) {
            (Some(0), _) => {
                return Err(LedgerError::invalid_at(
                    "amount_millicredits",
                    "amount must be above zero",
                ))
            }
            (None, None) => {
                return Err(LedgerError::invalid(
                    "give `amount_millicredits`, `grant_id`, or both",
                ))
            }
            (a, _) => a.map(to_i64).transpose()?,
        };
        let wallet_id = self.resolve_wallet(p, req.wallet_id.as_deref()).await?;
        let call = call.body("revoke", &(&wallet_id, req));
        let now = self.now_ms();
        let (mut tx, mut w) = match self.begin_on::<Balance>(&call, &wallet_id, now).await? {
            Begun::Replayed(done) => return done,
            Begun::Fresh(tx, w) => (tx, w),
        };
        let grants = revocable(&mut tx, &wallet_id, req.grant_id.as_deref(), now).await?;
        let free: i64 = grants.iter().map(|g| g.1).sum();
        let want = asked.unwrap_or(free);
        if want == 0 {
            return Err(LedgerError::invalid_at(
                "grant_id",
                "nothing of this grant is left unspent and unreserved",
            ));
        }
        if want > free {
            return Err(LedgerError::invalid_at(
                "amount_millicredits",
                format!(
                    "only {} credits can be taken back ({} are reserved by confirmed actions)",
                    fmt_mc(to_u64(free)),
                    fmt_mc(to_u64(w.held_mc))
                ),
            ));
        }
        let mut left = want;
        for (grant_id, free) in &grants {
            if left == 0 {
                break;
            }
            let take = left.min(*free);
            if take == 0 {
                continue;
            }
            sqlx::query("UPDATE grants SET remaining_mc = remaining_mc - $1 WHERE id = $2")
                .bind(take)
                .bind(grant_id)
                .execute(&mut *tx)
                .await?;
            self.entry(
                &mut tx,
                &wallet_id,
                now,
                Entry {
                    kind: "revoke",
                    balance_delta_mc: -take,
                    grant_id: Some(grant_id),
                    note: Some(&req.reason),
                    ..Entry::default()
                },
            )
            .await?;
            left -= take;
        }
        w.balance_mc -= want;
        let data = serde_json::json!({
            "wallet_id": wallet_id, "revoked_millicredits": want, "grant_id": req.grant_id, "reason": req.reason,
        });
        self.emit(
            &mut tx,
            &p.workspace_id,
            EventType::CreditsRevoked,
            data,
            now,
        )
        .await?;
        self.save_wallet(&mut tx, &mut w).await?;
        let result = Ok(self.balance_in(&mut tx, &w).await?);
        self.finish(call, tx, &mut w, result, &[]).await
    }
}

/// What `revoke` may take, grant by grant (id, unspent and unreserved): one grant, or
/// every unexpired one, soonest-expiring first.
async fn revocable(
    tx: &mut Tx,
    wallet_id: &str,
    grant_id: Option<&str>,
    now: i64,
) -> Result<Vec<(String, i64)>> {
    Ok(match grant_id {
        Some(g) => {
            let row: Option<(String, i64)> = sqlx::query_as(
                "SELECT id, remaining_mc - held_mc FROM grants WHERE id = $1 AND wallet_id = $2",
            )
            .bind(g)
            .bind(wallet_id)
            .fetch_optional(&mut **tx)
            .await?;
            vec![row.ok_or_else(|| LedgerError::NotFound(format!("grant `{g}`")))?]
        }
        None => {
            sqlx::query_as(
                "SELECT id, remaining_mc - held_mc FROM grants WHERE wallet_id = $1 AND remaining_mc > held_mc \
                 AND (expires_at_ms IS NULL OR expires_at_ms > $2) \
                 ORDER BY CASE WHEN expires_at_ms IS NULL THEN 1 ELSE 0 END, expires_at_ms, seq",
            )
            .bind(wallet_id)
            .bind(now)
            .fetch_all(&mut **tx)
            .await?
        }
    })
}
