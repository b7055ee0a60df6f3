//! What a wallet's plan includes beyond credits (seed 004's plan tiers: web search, a
//! knowledge base of 1 file of 2 MB on Free and unlimited on Pro), read by the widget's
//! plan view and checked by the operator's backend before it runs a feature.

use creditkit_api::{EntitlementCheck, Entitlements, Op};
use creditkit_pricing::Plan;

use crate::{Ledger, LedgerError, Principal, Result};

impl Ledger {
    /// The features of the wallet's plan (none on no plan).
    pub async fn entitlements(
        &self,
        p: &Principal,
        wallet_id: Option<&str>,
    ) -> Result<Entitlements> {
        p.require(Op::Read)?;
        let (wallet_id, plan) = self.wallet_plan(p, wallet_id).await?;
        Ok(Entitlements {
            wallet_id,
            features: plan
                .as_ref()
                .map(|p| p.features.clone())
                .unwrap_or_default(),
            plan_id: plan.map(|p| p.id),
        })
    }

    /// Whether the wallet's plan includes `feature`, up to `amount` of it when given;
    /// when not, the smallest plan above the wallet's that does.
    pub async fn check_entitlement(
        &self,
        p: &Principal,
        wallet_id: Option<&str>,
        feature: &str,
        amount: Option<u64>,
    ) -> Result<EntitlementCheck> {
        p.require(Op::Read)?;
        let (_, plan) = self.wallet_plan(p, wallet_id).await?;
        let card = self.card(&p.workspace_id).await?;
        if !card
            .plans
            .iter()
            .any(|p| p.features.iter().any(|f| f.id == feature))
        {
            return Err(LedgerError::NotFound(format!(
                "feature `{feature}` (no plan of card `{}` names it)",
                card.id
            )));
        }
        let allows = |plan: &Plan| {
            plan.features
                .iter()
                .find(|f| f.id == feature)
                .is_some_and(|f| match (f.limit, amount) {
                    (Some(limit), Some(asked)) => asked <= limit,
                    (Some(limit), None) => limit > 0,
                    (None, _) => true,
                })
        };
        let limit = plan
            .as_ref()
            .and_then(|p| p.features.iter().find(|f| f.id == feature))
            .and_then(|f| f.limit);
        let allowed = plan.as_ref().is_some_and(allows);
        let rank = |p: &Plan| (p.price_minor.unwrap_or(0), p.credits);
        let upgrade_plan_id = (!allowed)
            .then(|| {
                card.plans
                    .iter()
                    .filter(|c| plan.as_ref().is_none_or(|cur| rank(c) > rank(cur)))
                    .filter(|c| allows(c))
                    .min_by_key(|c| rank(c))
                    .map(|c| c.id.clone())
            })
            .flatten();
        Ok(EntitlementCheck {
            feature: feature.to_string(),
            allowed,
            limit,
            plan_id: plan.map(|p| p.id),
            upgrade_plan_id,
        })
    }

    /// The wallet a caller reads and its plan on the card in force (none on no plan).
    async fn wallet_plan(
        &self,
        p: &Principal,
        wallet_id: Option<&str>,
    ) -> Result<(String, Option<Plan>)> {
        let wallet_id = self.resolve_wallet(p, wallet_id).await?;
        let (plan_id,): (Option<String>,) =
            sqlx::query_as("SELECT plan_id FROM wallets WHERE id = $1")
                .bind(&wallet_id)
                .fetch_one(&self.pool)
                .await?;
        let card = self.card(&p.workspace_id).await?;
        let plan = plan_id.and_then(|id| card.plan(&id).cloned());
        Ok((wallet_id, plan))
    }
}
