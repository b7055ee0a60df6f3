//! Opens a real ledger on SQLite (a temp file) or PostgreSQL (a fresh database on
//! the server named by `CREDITKIT_TEST_POSTGRES`, default the local one).
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use creditkit_api::Role;
use creditkit_ledger::time::ManualClock;
use creditkit_ledger::{Config, Ledger, Principal};

/// 2026-01-15T12:00:00Z
pub const T0: i64 = 1_768_478_400_000;
pub const DAY_MS: i64 = 86_400_000;

pub const LANDING: &str = include_str!("../../../../examples/ratecards/landing.json");
pub const CAMPAIGNS: &str = include_str!("../../../../examples/ratecards/campaigns.json");
pub const KUMARI: &str = include_str!("../../../../examples/ratecards/kumari.json");
pub const KOPAI: &str = include_str!("../../../../examples/ratecards/kopai.json");

pub use creditkit_ledger::testing::{fresh_url, Store};

pub struct Env {
    pub ledger: Arc<Ledger>,
    pub clock: ManualClock,
    pub url: String,
}

pub async fn env(store: Store) -> Env {
    env_with(store, Config::default()).await
}

pub async fn env_with(store: Store, config: Config) -> Env {
    let url = fresh_url(store).await;
    let clock = ManualClock::new(T0);
    let ledger = Ledger::open(&url, Arc::new(clock.clone()), config)
        .await
        .expect("open ledger");
    Env {
        ledger: Arc::new(ledger),
        clock,
        url,
    }
}

impl Env {
    /// A workspace on `card` (optionally on a plan) and its owner's API-key principal.
    pub async fn workspace(&self, card: &str, plan: Option<&str>) -> (Principal, String) {
        let ws = self
            .ledger
            .create_workspace("Acme", card, plan)
            .await
            .unwrap();
        let key = self.ledger.create_api_key(&ws.id).await.unwrap();
        let p = self.ledger.authenticate(&key).await.unwrap();
        (p, ws.wallet_id)
    }

    pub async fn member(&self, owner: &Principal, role: Role) -> Principal {
        let m = self.ledger.add_member(owner, "Sam", role).await.unwrap();
        self.ledger.authenticate(&m.token).await.unwrap()
    }
}

/// Expands each test body into one test per store.
#[macro_export]
macro_rules! conformance {
    ($($name:ident => $body:expr;)*) => {
        mod sqlite {
            use super::*;
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { ($body)(Store::Sqlite).await } )*
        }
        mod postgres {
            use super::*;
            $( #[tokio::test(flavor = "multi_thread", worker_threads = 2)] async fn $name() { ($body)(Store::Postgres).await } )*
        }
    };
}

pub fn credits(n: u64) -> u64 {
    n * 1000
}

pub fn role_unused(_: Role) {}
