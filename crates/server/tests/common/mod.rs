//! A real server on a real socket over SQLite or PostgreSQL, and helpers to call it.
#![allow(dead_code, unreachable_pub, unused_imports)]

use std::sync::Arc;

use creditkit_api::{Balance, Quote, Role};
pub use creditkit_ledger::testing::{fresh_url, Store};
pub use creditkit_ledger::time::ManualClock;
pub use creditkit_ledger::{Config, Ledger, Principal};
pub use creditkit_server::{router, AppState, Options, RateLimits};
pub use reqwest::StatusCode;
pub use serde_json::{json, Value};

pub const LANDING: &str = include_str!("../../../../examples/ratecards/landing.json");
pub const KOPAI: &str = include_str!("../../../../examples/ratecards/kopai.json");
pub const KUMARI: &str = include_str!("../../../../examples/ratecards/kumari.json");
pub const T0: i64 = 1_768_478_400_000;

pub struct Srv {
    pub base: String,
    pub ledger: Arc<Ledger>,
    pub clock: ManualClock,
    /// The workspace's API key (the operator's backend).
    pub key: String,
    pub workspace_id: String,
    pub http: reqwest::Client,
    pub url: String,
}

pub async fn start(store: Store) -> Srv {
    let url = fresh_url(store).await;
    start_on(&url).await
}

pub async fn start_on(url: &str) -> Srv {
    start_with(url, RateLimits::default()).await
}

/// Webhook receivers in tests listen on this machine: private targets allowed.
pub async fn start_with(url: &str, limits: RateLimits) -> Srv {
    let config = Config {
        allow_private_webhooks: true,
        ..Config::default()
    };
    start_config(url, limits, config).await
}

pub async fn start_config(url: &str, limits: RateLimits, config: Config) -> Srv {
    start_state(url, config, |ledger| AppState::with_limits(ledger, limits)).await
}

/// A server whose state `state` makes from its ledger.
pub async fn start_state(
    url: &str,
    config: Config,
    state: impl FnOnce(Arc<Ledger>) -> AppState,
) -> Srv {
    let clock = ManualClock::new(T0);
    let ledger = Arc::new(
        Ledger::open(url, Arc::new(clock.clone()), config)
            .await
            .unwrap(),
    );
    let _ = ledger.spawn_listener(url).await.unwrap();
    let app = router(state(ledger.clone()), &Options::default());
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", socket.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(64)
        .build()
        .unwrap();
    Srv {
        base,
        ledger,
        clock,
        key: String::new(),
        workspace_id: String::new(),
        http,
        url: url.to_string(),
    }
}

impl Srv {
    /// A workspace on the landing card, made by the operator; `key` becomes its API key.
    pub async fn workspace(&mut self, plan: Option<&str>) -> String {
        self.workspace_on(LANDING, plan).await
    }

    pub async fn workspace_on(&mut self, card: &str, plan: Option<&str>) -> String {
        let ws = self
            .ledger
            .create_workspace(&Principal::operator(""), "Acme", card, plan)
            .await
            .unwrap();
        self.key = self
            .ledger
            .create_api_key(&Principal::operator(&ws.id), None)
            .await
            .unwrap()
            .secret;
        self.workspace_id = ws.id;
        ws.wallet_id
    }

    /// A member with `role` and a session for them, minted over HTTP by the backend.
    pub async fn session(&self, name: &str, role: Role) -> String {
        self.session_and_member(name, role).await.0
    }

    /// A new member's session token, and the member's id.
    pub async fn session_and_member(&self, name: &str, role: Role) -> (String, String) {
        let (s, m) = self
            .call(
                "POST",
                "/v1/members",
                &self.key,
                None,
                Some(json!({ "name": name, "role": role })),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{m}");
        let (s, v) = self
            .call(
                "POST",
                "/v1/sessions",
                &self.key,
                None,
                Some(json!({ "member_id": m["id"] })),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        (
            v["token"].as_str().unwrap().to_string(),
            m["id"].as_str().unwrap().to_string(),
        )
    }

    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> (StatusCode, Value) {
        let mut req = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base))
            .bearer_auth(token);
        if let Some(k) = key {
            req = req.header("Idempotency-Key", k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn quote(&self, token: &str, request: Value) -> Quote {
        let (s, v) = self
            .call(
                "POST",
                "/v1/quotes",
                token,
                None,
                Some(json!({ "request": request })),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        serde_json::from_value(v).unwrap()
    }

    pub async fn balance(&self, token: &str) -> Balance {
        let (s, v) = self.call("GET", "/v1/balance", token, None, None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        serde_json::from_value(v).unwrap()
    }
}

/// Expands each test body into one test per store.
#[macro_export]
macro_rules! both {
    ($($name:ident => $body:expr;)*) => {
        mod sqlite { use super::*; $( #[tokio::test(flavor = "multi_thread", worker_threads = 4)] async fn $name() { ($body)(Store::Sqlite).await } )* }
        mod postgres { use super::*; $( #[tokio::test(flavor = "multi_thread", worker_threads = 4)] async fn $name() { ($body)(Store::Postgres).await } )* }
    };
}
