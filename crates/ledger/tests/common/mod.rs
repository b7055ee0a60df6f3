//! Opens a real ledger on SQLite (a temp file) or PostgreSQL (a fresh database on
//! the server named by `CREDITKIT_TEST_POSTGRES`, default the local one).
#![allow(dead_code, unreachable_pub, unused_imports)]

use std::sync::Arc;

pub use creditkit_api::admin::GrantRequest;
pub use creditkit_api::{ErrorCode, NewMember, Role, SessionRequest, Thresholds};
use creditkit_ledger::time::ManualClock;
pub use creditkit_ledger::{Config, Ledger, Principal};

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
    /// A workspace on `card` (optionally on a plan) and its backend's API-key principal.
    pub async fn workspace(&self, card: &str, plan: Option<&str>) -> (Principal, String) {
        let ws = self
            .ledger
            .create_workspace(&Principal::operator(""), "Acme", card, plan)
            .await
            .unwrap();
        let key = self
            .ledger
            .create_api_key(&Principal::operator(&ws.id), None)
            .await
            .unwrap();
        let p = self.ledger.authenticate(&key.secret).await.unwrap();
        (p, ws.wallet_id)
    }

    /// A member with `role`, signed in through a session the backend (`owner`, an API
    /// key) minted: the browser's principal.
    pub async fn member(&self, owner: &Principal, role: Role) -> Principal {
        let token = self.member_token(owner, role).await;
        self.ledger.authenticate(&token).await.unwrap()
    }

    /// A session token for a new member with `role`.
    pub async fn member_token(&self, owner: &Principal, role: Role) -> String {
        let m = self
            .ledger
            .add_member(
                owner,
                &NewMember {
                    name: "Sam".into(),
                    role,
                    external_id: None,
                },
            )
            .await
            .unwrap();
        let session = SessionRequest {
            member_id: Some(m.id),
            ..SessionRequest::default()
        };
        self.ledger
            .create_session(owner, &session)
            .await
            .unwrap()
            .token
    }
}

/// A support grant of `amount` milli-credits.
pub fn grant_req(amount: u64, expires_at_ms: Option<i64>) -> GrantRequest {
    GrantRequest {
        amount_millicredits: amount,
        reason: "test grant".into(),
        wallet_id: None,
        expires_at_ms,
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
