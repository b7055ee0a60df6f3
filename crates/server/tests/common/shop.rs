//! A shop for the payment tests: the real server with Stripe as its provider, pointed
//! at the local stand-in (which checks requests as Stripe's reference describes
//! them), and the auto top-up worker running as `creditkit serve` runs it.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;

use super::common::*;
use creditkit_api::Balance;
use creditkit_server::payments::stripe::{Stripe, StripeConfig};
use creditkit_server::payments::Payments;
use creditkit_stripe_standin::{Config as StandInConfig, StandIn};

pub const CAMPAIGNS: &str = include_str!("../../../../examples/ratecards/campaigns.json");
pub const KAPPAX: &str = include_str!("../../../../examples/ratecards/kappax.json");
pub const SECRET_KEY: &str = "sk_test_creditkit";
pub const WEBHOOK_SECRET: &str = "whsec_test_creditkit_not_a_real_one";
pub const MONTH_MS: i64 = 31 * 86_400_000;

pub struct Shop {
    pub srv: Srv,
    pub standin: StandIn,
    pub stripe: String,
}

pub async fn shop(store: Store, card: &str, plan: Option<&str>) -> Shop {
    let url = fresh_url(store).await;
    let clock = ManualClock::new(T0);
    let ledger = Arc::new(
        Ledger::open(&url, Arc::new(clock.clone()), Config::default())
            .await
            .unwrap(),
    );
    let api_socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let stripe_socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", api_socket.local_addr().unwrap());
    let stripe = format!("http://{}", stripe_socket.local_addr().unwrap());
    let c = clock.clone();
    let standin = StandIn::new(StandInConfig {
        base: stripe.clone(),
        secret_key: SECRET_KEY.into(),
        webhook_url: format!("{base}/v1/webhooks/stripe"),
        webhook_secret: WEBHOOK_SECRET.into(),
        clock: Arc::new(move || creditkit_ledger::time::Clock::now_ms(&c) / 1000),
    });
    let r = standin.router();
    tokio::spawn(async move { axum::serve(stripe_socket, r).await.unwrap() });
    let provider = Arc::new(Stripe::new(StripeConfig {
        secret_key: SECRET_KEY.into(),
        webhook_secret: WEBHOOK_SECRET.into(),
        api_base: stripe.clone(),
    }));
    let _topups = creditkit_server::spawn_topup_worker(ledger.clone(), provider.clone());
    let payments = Payments {
        provider,
        public_url: base.clone(),
        return_origins: vec!["https://app.example.com".into()],
    };
    let app = router(
        AppState::new(ledger.clone()).with_payments(payments),
        &Options::default(),
    );
    tokio::spawn(async move { axum::serve(api_socket, app).await.unwrap() });
    let mut srv = Srv {
        base,
        ledger,
        clock,
        key: String::new(),
        workspace_id: String::new(),
        http: reqwest::Client::new(),
        url,
    };
    srv.workspace_on(card, plan).await;
    Shop {
        srv,
        standin,
        stripe,
    }
}

impl Shop {
    /// Opens a checkout as `token`; the stand-in's record of the request.
    pub async fn checkout(&self, token: &str, body: Value) -> Value {
        let (s, v) = self
            .srv
            .call("POST", "/v1/checkout", token, None, Some(body))
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        v
    }

    /// Pays it on the stand-in's page: Stripe's webhooks reach creditkit.
    pub async fn pay(&self, checkout: &Value) {
        let url = checkout["url"].as_str().unwrap();
        let page = self
            .srv
            .http
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            page.contains("no payment is taken"),
            "the simulated page says so"
        );
        let done = self.srv.http.post(url).send().await.unwrap();
        assert_eq!(done.status(), StatusCode::OK);
        assert!(done.text().await.unwrap().contains("Payment received"));
        for (event, status) in &self.standin.record.lock().unwrap().sent {
            assert_eq!(*status, 200, "creditkit took {}", event["type"]);
        }
    }

    pub async fn buy(&self, token: &str, body: Value) -> Value {
        let c = self.checkout(token, body).await;
        self.pay(&c).await;
        c
    }

    pub async fn balance(&self) -> Balance {
        self.srv.balance(&self.srv.key).await
    }

    pub async fn test_call(&self, path: &str) -> Value {
        self.srv
            .http
            .post(format!("{}{path}", self.stripe))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }

    /// A stand-in test control that answers no body; its status must be a success.
    pub async fn test_call_status(&self, path: &str) {
        let r = self
            .srv
            .http
            .post(format!("{}{path}", self.stripe))
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{path}: {}", r.status());
    }

    pub fn last_event(&self, kind: &str) -> Value {
        self.standin
            .record
            .lock()
            .unwrap()
            .sent
            .iter()
            .rev()
            .find(|(e, _)| e["type"] == kind)
            .map(|(e, _)| e.clone())
            .unwrap()
    }

    /// Sends `body` to the webhook with `signature` as is.
    pub async fn raw_webhook(&self, body: &str, signature: &str) -> (StatusCode, Value) {
        let r = self
            .srv
            .http
            .post(format!("{}/v1/webhooks/stripe", self.srv.base))
            .header("stripe-signature", signature)
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let s = r.status();
        (s, r.json().await.unwrap_or(Value::Null))
    }

    pub async fn audit(&self) {
        let w = self.balance().await.wallet_id;
        self.srv.ledger.audit(&w).await.unwrap();
    }
}

pub fn field(fields: &[(String, String)], k: &str) -> Option<String> {
    fields.iter().find(|(f, _)| f == k).map(|(_, v)| v.clone())
}
