//! The demo: one workspace per seed product, small balances so a newcomer reaches the
//! low-balance and insufficient-credit paths within a few clicks.

use std::path::Path;

use creditkit_api::Role;
use creditkit_ledger::{Ledger, LedgerError};
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
/// knows; returns the JSON written to `path` (ids and tokens; KappaX's at the top level).
pub async fn seed(ledger: &Ledger, path: &Path) -> Result<Value, SeedError> {
    if let Some(existing) = reusable(ledger, path).await {
        return Ok(existing);
    }
    let mut products = Vec::new();
    for p in PRODUCTS {
        let ws = ledger
            .create_workspace(&format!("{} (demo)", p.name), p.card, p.plan)
            .await?;
        let api_key = ledger.create_api_key(&ws.id).await?;
        let owner = ledger.authenticate(&api_key).await?;
        if p.grant_credits > 0 {
            ledger
                .grant(&owner, None, p.grant_credits * 1000, None, "demo-seed")
                .await?;
        }
        let alice = ledger
            .insert_member(&ws.id, "Alice (admin)", Role::Admin)
            .await?;
        let bob = ledger
            .insert_member(&ws.id, "Bob (member)", Role::Member)
            .await?;
        products.push(json!({
            "id": p.id, "name": p.name, "workspace_id": ws.id, "wallet_id": ws.wallet_id,
            "api_key": api_key, "admin_token": alice.token, "member_token": bob.token,
        }));
    }
    let first = products[0].clone();
    let out = json!({
        "workspace_id": first["workspace_id"], "wallet_id": first["wallet_id"], "api_key": first["api_key"],
        "admin_token": first["admin_token"], "member_token": first["member_token"], "products": products,
    });
    let text = serde_json::to_string_pretty(&out).map_err(|e| SeedError::Io(e.to_string()))?;
    std::fs::write(path, text)
        .map_err(|e| SeedError::Io(format!("writing {}: {e}", path.display())))?;
    Ok(out)
}

async fn reusable(ledger: &Ledger, path: &Path) -> Option<Value> {
    let v: Value = serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    for p in v["products"].as_array()? {
        ledger.workspace(p["workspace_id"].as_str()?).await.ok()?;
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
