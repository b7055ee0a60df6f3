//! The end user's view of where their credits come from: the plan, what is left of
//! its allowance and when it renews, and the balance by expiry.

use creditkit_api::{Allowance, CreditPart, Op, PlanStatus};
use creditkit_pricing::Renewal;

use crate::{time, to_u64, Ledger, Principal, Result};

impl Ledger {
    /// The wallet's plan and its balance by when each part expires. Settles what is
    /// due first (a cycle that has renewed shows its new allowance).
    pub async fn allowance(&self, p: &Principal, wallet_id: Option<&str>) -> Result<Allowance> {
        p.require(Op::Read)?;
        let balance = self.balance(p, wallet_id).await?;
        let wallet_id = balance.wallet_id;
        let now = self.now_ms();
        let mut read = self.pool.begin().await?;
        let (plan_id, anchor, card_hash, card_from): (
            Option<String>,
            Option<i64>,
            String,
            Option<i64>,
        ) = sqlx::query_as(
            "SELECT w.plan_id, w.cycle_anchor_ms, s.card_hash, s.card_from_ms FROM wallets w \
             JOIN workspaces s ON s.id = w.workspace_id WHERE w.id = $1",
        )
        .bind(&wallet_id)
        .fetch_one(&mut read)
        .await?;
        let grants: Vec<(String, Option<String>, i64, Option<i64>)> = sqlx::query_as(
            "SELECT source, ref, remaining_mc, expires_at_ms FROM grants \
             WHERE wallet_id = $1 AND remaining_mc > 0 AND (expires_at_ms IS NULL OR expires_at_ms > $2) \
             ORDER BY CASE WHEN expires_at_ms IS NULL THEN 1 ELSE 0 END, expires_at_ms, seq",
        )
        .bind(&wallet_id)
        .bind(now)
        .fetch_all(&mut read)
        .await?;
        // A one-time plan (Kumari's Free) is a grant, not the wallet's plan: the plan
        // shown is the wallet's, else the one-time plan it was given last.
        let plan_id = match plan_id {
            Some(id) => Some(id),
            None => sqlx::query_as::<_, (Option<String>,)>(
                "SELECT ref FROM grants WHERE wallet_id = $1 AND source = 'free' ORDER BY seq DESC LIMIT 1",
            )
            .bind(&wallet_id)
            .fetch_optional(&mut read)
            .await?
            .and_then(|r| r.0),
        };
        read.commit().await?;
        // The plan's credits, whichever way it granted them.
        let of_plan = |source: &str| source == "plan" || source == "free";
        // The card pricing this wallet: on a plan, from the start of its period.
        let basis = crate::cards::period_basis(plan_id.is_some(), anchor, now);
        let card = self
            .card_at(&p.workspace_id, &card_hash, card_from, basis)
            .await?;
        let named = |source: &str, reference: Option<&str>| match (source, reference) {
            ("plan" | "free", Some(id)) => card.plan(id).map(|p| p.name.clone()),
            ("pack", Some(id)) => card.pack(id).map(|p| p.name.clone()),
            _ => None,
        };
        let plan = plan_id.map(|id| {
            let on_card = card.plan(&id);
            let renewal = on_card.map_or(Renewal::Monthly, |p| p.renewal);
            let left = grants
                .iter()
                .filter(|g| of_plan(&g.0))
                .map(|g| to_u64(g.2))
                .sum();
            PlanStatus {
                name: on_card.map_or_else(|| id.clone(), |p| p.name.clone()),
                allowance_millicredits: on_card.map_or(0, |p| p.credits.saturating_mul(1000)),
                left_millicredits: left,
                // A plan the clock renews: its cycle's end. A paid one renews by invoice:
                // when its allowance ends (the period's end).
                renews_at_ms: match (renewal, anchor) {
                    (Renewal::Monthly, Some(a)) => Some(time::cycle_bounds(a, now).1),
                    (Renewal::Monthly, None) => grants
                        .iter()
                        .filter(|g| of_plan(&g.0))
                        .filter_map(|g| g.3)
                        .max(),
                    _ => None,
                },
                renewal,
                id,
            }
        });
        let parts = grants
            .iter()
            .map(|(source, reference, remaining, expires)| CreditPart {
                name: named(source, reference.as_deref()),
                source: if of_plan(source) {
                    "plan".into()
                } else {
                    source.clone()
                },
                remaining_millicredits: to_u64(*remaining),
                expires_at_ms: *expires,
            })
            .collect();
        Ok(Allowance {
            wallet_id,
            plan,
            parts,
        })
    }
}
