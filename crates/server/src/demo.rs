//! The demo: one workspace per seed product, small balances so a newcomer reaches the
//! low-balance and insufficient-credit paths within a few clicks.

use std::path::Path;

use creditkit_api::admin::GrantRequest;
use creditkit_api::{NewMember, Role};
use creditkit_ledger::{CardTerms, Ledger, LedgerError, Principal};
use serde_json::{json, Value};

/// One seed product: its card, its plan (if the card sells plans) and a starting grant.
struct Product {
    id: &'static str,
    name: &'static str,
    card: &'static str,
    plan: Option<&'static str>,
    grant_credits: u64,
}

const PRODUCTS: &[Product] = &[
    Product {
        id: "kappax",
        name: "KappaX editor",
        card: include_str!("../../../examples/ratecards/kappax.json"),
        plan: None,
        grant_credits: 130,
    },
    Product {
        id: "campaigns",
        name: "Campaign builder",
        card: include_str!("../../../examples/ratecards/campaigns.json"),
        plan: None,
        grant_credits: 120,
    },
    Product {
        id: "landing",
        name: "Landing page builder",
        card: include_str!("../../../examples/ratecards/landing.json"),
        plan: Some("free"),
        grant_credits: 0,
    },
    Product {
        id: "kumari",
        name: "Kumari chat",
        card: include_str!("../../../examples/ratecards/kumari.json"),
        plan: None,
        grant_credits: 110,
    },
    Product {
        id: "kopai",
        name: "Kopai agents",
        card: include_str!("../../../examples/ratecards/kopai.json"),
        plan: None,
        grant_credits: 20,
    },
];

/// Seeds the demo workspaces unless `path` already names workspaces this database
/// knows, and writes what the example operator backend needs to `path`: per product,
/// the workspace, its wallet, its secret API key and its members. This file is the
/// operator's secret (keep it out of any directory a browser can read).
pub async fn seed(ledger: &Ledger, path: &Path) -> Result<Value, SeedError> {
    if let Some(existing) = reusable(ledger, path).await {
        return Ok(existing);
    }
    let mut products = Vec::new();
    for p in PRODUCTS {
        let operator = Principal::operator("");
        let card = demo_card(p);
        let ws = ledger
            .create_workspace(&operator, &format!("{} (demo)", p.name), &card, p.plan)
            .await?;
        let op = Principal::operator(&ws.id);
        let key = ledger.create_api_key(&op, Some("demo backend")).await?;
        if p.id == "landing" {
            // A price change told in advance (seed 000), so the notice shows: 2K images
            // cost 75 credits in three weeks; a plan keeps 60 until it renews.
            let next = card
                .replace(r#""2k": 60"#, r#""2k": 75"#)
                .replace(r#""version": "2026-11-01""#, r#""version": "2027-01""#);
            let terms = CardTerms {
                note: Some("2K images move to a sharper model.".into()),
                effective_at_ms: Some(ledger.now_ms() + 21 * 86_400_000),
                without_notice: false,
            };
            ledger.upload_card(&op, &next, &terms).await?;
        }
        if p.grant_credits > 0 {
            let grant = GrantRequest {
                amount_millicredits: p.grant_credits * 1000,
                reason: "demo starting balance".into(),
                wallet_id: None,
                expires_at_ms: None,
            };
            ledger.grant(&op, &grant, "demo-seed").await?;
        }
        let mut members = Vec::new();
        for (name, role, external) in [
            ("Alice", Role::Admin, "alice"),
            ("Bob", Role::Member, "bob"),
        ] {
            let m = ledger
                .add_member(
                    &op,
                    &NewMember {
                        name: name.into(),
                        role,
                        external_id: Some(external.into()),
                    },
                )
                .await?;
            members
                .push(json!({ "id": m.id, "name": m.name, "role": role, "external_id": external }));
        }
        products.push(json!({
            "id": p.id, "name": p.name, "workspace_id": ws.id, "wallet_id": ws.wallet_id,
            "api_key": key.secret, "members": members,
        }));
    }
    let out = json!({ "products": products });
    let text = serde_json::to_string_pretty(&out).map_err(|e| SeedError::Io(e.to_string()))?;
    std::fs::write(path, text)
        .map_err(|e| SeedError::Io(format!("writing {}: {e}", path.display())))?;
    Ok(out)
}

/// A product's card as the demo sells it. Seed 000 does not publish KappaX's pack or plan
/// prices ("shown in your account billing page"); the demo's operator sets some, with the
/// volume discount the seed mentions, so its packs and plan can be bought through checkout.
fn demo_card(p: &Product) -> String {
    if p.id != "kappax" {
        return p.card.to_string();
    }
    p.card
        .replace(
            r#""credits": 1000 }"#,
            r#""credits": 1000, "price": "45" }"#,
        )
        .replace(
            r#""credits": 5000 }"#,
            r#""credits": 5000, "price": "200" }"#,
        )
        .replace(
            r#""credits": 20000 }"#,
            r#""credits": 20000, "price": "700" }"#,
        )
        .replace(
            r#""credits": 500, "renewal": "monthly" }"#,
            r#""credits": 500, "renewal": "monthly", "price": "25" }"#,
        )
}

/// The file's workspaces, if this database knows them and their keys still work.
async fn reusable(ledger: &Ledger, path: &Path) -> Option<Value> {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    for p in v["products"].as_array()? {
        ledger.authenticate(p["api_key"].as_str()?).await.ok()?;
    }
    Some(v)
}

#[derive(Debug, thiserror::Error)]
pub enum SeedError {
    #[error(transparent)]
    Ledger(#[from] LedgerError),
    #[error("{0}")]
    Io(String),
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_demo_prices_every_kappax_pack() {
        let card = creditkit_pricing::parse_card(&super::demo_card(&super::PRODUCTS[0])).unwrap();
        assert_eq!(card.id, "kappax");
        assert!(
            card.packs.iter().all(|p| p.price_minor.is_some()),
            "{:?}",
            card.packs
        );
        assert!(
            card.plans.iter().all(|p| p.price_minor.is_some()),
            "{:?}",
            card.plans
        );
    }
}
