//! Auto top-up over real HTTP, paid through the Stripe stand-in by the server's own
//! worker, on SQLite and PostgreSQL: a card saved at a checkout, 64 concurrent holds
//! crossing the threshold together buy exactly once; declines back off and pause, a
//! new card resumes; an outage asks the same question again (no double charge); a
//! replayed or early webhook grants once; who may set what.

mod common;
#[path = "common/shop.rs"]
mod shop;

use std::time::Duration;

use common::*;
use creditkit_api::Role;
use shop::*;

const HOUR_MS: i64 = 3_600_000;

/// Polls `GET /v1/auto-top-up` (as the backend: sessions expire as the clock moves on)
/// until `done` says so (the worker runs on its own).
async fn wait_for(shop: &Shop, _token: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    for _ in 0..100 {
        let (s, v) = shop
            .srv
            .call("GET", "/v1/auto-top-up", &shop.srv.key, None, None)
            .await;
        assert_eq!(s, StatusCode::OK, "{v}");
        if done(&v) {
            return v;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("waited 5 s for {what}");
}

/// Waits until `n` top-ups are paid.
async fn wait_paid(shop: &Shop, n: u64) {
    let wallet = shop.balance().await.wallet_id;
    for _ in 0..100 {
        if shop.srv.ledger.topup_counts(&wallet).await.unwrap().1 == n {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("waited 5 s for {n} top-ups paid");
}

async fn available(shop: &Shop) -> u64 {
    shop.balance().await.available_millicredits / 1000
}

/// An admin with a card saved by buying `pack` with `save_card`.
async fn admin_with_card(shop: &Shop, pack: &str) -> String {
    let admin = shop.srv.session("Ada", Role::Admin).await;
    shop.buy(&admin, json!({ "pack_id": pack, "save_card": true }))
        .await;
    let (_, fields) = shop
        .standin
        .record
        .lock()
        .unwrap()
        .requests
        .last()
        .cloned()
        .unwrap();
    assert_eq!(
        field(&fields, "payment_intent_data[setup_future_usage]").as_deref(),
        Some("off_session")
    );
    assert_eq!(
        field(&fields, "customer_creation").as_deref(),
        Some("always")
    );
    wait_for(shop, &admin, "the card saved", |v| {
        v["card_saved_at_ms"].is_i64()
    })
    .await;
    admin
}

async fn set_rule(shop: &Shop, token: &str, body: Value) -> (StatusCode, Value) {
    shop.srv
        .call("PUT", "/v1/auto-top-up", token, None, Some(body))
        .await
}

/// The idempotency keys of the off-session payments asked so far.
fn intent_keys(shop: &Shop) -> Vec<String> {
    shop.standin
        .record
        .lock()
        .unwrap()
        .intent_requests
        .iter()
        .map(|(h, _)| h["idempotency-key"].clone())
        .collect()
}

fn the_card(shop: &Shop) -> String {
    let r = shop.standin.record.lock().unwrap();
    let (_, fields) = r.intent_requests.last().cloned().unwrap();
    field(&fields, "payment_method").unwrap()
}

both! {
    sixty_four_holds_crossing_together_buy_exactly_once => |store| async move {
        let shop = shop(store, KOPAI, None).await;
        let admin = admin_with_card(&shop, "standard").await; // 150 credits
        // A checkout without save_card keeps nothing.
        let c = shop.checkout(&admin, json!({ "pack_id": "starter" })).await;
        let (_, fields) = shop.standin.record.lock().unwrap().requests.last().cloned().unwrap();
        assert_eq!(field(&fields, "payment_intent_data[setup_future_usage]"), None, "{c}");
        let (s, v) = set_rule(&shop, &admin, json!({ "below_credits": 120, "pack_id": "starter", "max_per_month": 3 })).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["rule"]["status"], "active", "{v}");
        assert_eq!((v["rule"]["credits"].as_u64(), v["rule"]["amount_minor"].as_u64()), (Some(50), Some(500)));
        // 64 holds of one credit at once: 150 → 86, crossing 120 once; the top-up's 50
        // can never bring it back under 120, so one crossing, one purchase.
        // Confirmed by the backend (one session would be rate limited at 64 at once).
        let backend = shop.srv.key.clone();
        let quotes: Vec<_> = futures_util::future::join_all((0..64).map(|_| shop.srv.quote(&backend, json!({ "action": "message", "params": { "model": "gpt-4o" } })))).await;
        assert_eq!(quotes[0].estimate.max_millicredits, 1000);
        let holds = quotes.iter().enumerate().map(|(i, q)| {
            let key = format!("h{i}");
            let backend = backend.clone();
            let srv = &shop.srv;
            async move { srv.call("POST", "/v1/holds", &backend, Some(&key), Some(json!({ "quote_id": q.id }))).await }
        });
        for (s, v) in futures_util::future::join_all(holds).await {
            assert_eq!(s, StatusCode::OK, "{v}");
        }
        wait_paid(&shop, 1).await;
        assert_eq!(available(&shop).await, 136);
        assert_eq!(intent_keys(&shop).len(), 1, "one payment asked");
        let wallet = shop.balance().await.wallet_id;
        assert_eq!(shop.srv.ledger.topup_counts(&wallet).await.unwrap(), (1, 1, 0));
        // Stripe's event arrives (or arrives again): still one grant.
        let event = shop.last_event("payment_intent.succeeded");
        shop.test_call(&format!("/_test/replay/{}", event["id"].as_str().unwrap())).await;
        assert_eq!(available(&shop).await, 136);
        let (_, fields) = shop.standin.record.lock().unwrap().intent_requests[0].clone();
        assert_eq!(field(&fields, "off_session").as_deref(), Some("true"));
        assert!(field(&fields, "description").unwrap().contains("Starter"));
        shop.audit().await;
    };

    declines_back_off_then_pause_and_a_new_card_resumes => |store| async move {
        let shop = shop(store, KOPAI, None).await;
        let admin = admin_with_card(&shop, "starter").await; // 50 credits
        let (s, v) = set_rule(&shop, &admin, json!({ "below_credits": 20, "pack_id": "starter", "max_per_month": 5 })).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let customer = {
            let r = shop.standin.record.lock().unwrap();
            r.sent.iter().rev().find(|(e, _)| e["type"] == "checkout.session.completed").map(|(e, _)| e["data"]["object"]["customer"].clone()).unwrap()
        };
        assert!(customer.is_string(), "the session names its customer");
        // Spend to 15 credits: crossing.
        let (s, v) = shop.srv.call("POST", "/v1/revocations", &shop.srv.key, Some("r1"), Some(json!({ "amount_millicredits": 35_000, "reason": "used" }))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        // The first attempt goes through (the card is fine): wait, then make it decline
        // for the next crossing.
        wait_paid(&shop, 1).await;
        let card = the_card(&shop);
        shop.test_call_status(&format!("/_test/card/{card}?result=decline")).await;
        assert_eq!(available(&shop).await, 65);
        let (s, v) = shop.srv.call("POST", "/v1/revocations", &shop.srv.key, Some("r2"), Some(json!({ "amount_millicredits": 50_000, "reason": "used" }))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let v = wait_for(&shop, &admin, "a failure", |v| v["rule"]["failures"] == 1).await;
        assert_eq!(v["rule"]["last_error"], "Your card was declined.", "{v}");
        let now = shop.srv.ledger.now_ms();
        assert_eq!(v["rule"]["retry_at_ms"].as_i64(), Some(now + HOUR_MS), "{v}");
        assert_eq!(available(&shop).await, 15, "no credits without a payment");
        // An hour later: tried again as a new request (a new key), declined again.
        shop.srv.clock.advance(HOUR_MS);
        let v = wait_for(&shop, &admin, "a second failure", |v| v["rule"]["failures"] == 2).await;
        assert_eq!(v["rule"]["retry_at_ms"].as_i64(), Some(now + 7 * HOUR_MS), "{v}");
        // The card needs its owner: the third failure pauses the rule.
        shop.test_call_status(&format!("/_test/card/{card}?result=authenticate")).await;
        shop.srv.clock.advance(6 * HOUR_MS);
        let v = wait_for(&shop, &admin, "paused", |v| v["rule"]["status"] == "paused").await;
        assert!(v["rule"]["last_error"].as_str().unwrap().contains("authentication"), "{v}");
        let keys = intent_keys(&shop);
        assert_eq!(keys.len(), 4, "{keys:?}");
        let distinct: std::collections::BTreeSet<_> = keys.iter().collect();
        assert_eq!(distinct.len(), 4, "each decline's retry is a new request: {keys:?}");
        // The operator heard each failure.
        let events = shop.srv.ledger.events(&Principal::operator(""), Some(&shop.srv.workspace_id), None, Some(100)).await.unwrap().items;
        let failed: Vec<_> = events.iter().filter(|e| e.event.kind.as_str() == "topup.failed").collect();
        assert_eq!(failed.len(), 3);
        assert_eq!(failed[0].event.data["paused"], true, "newest first");
        // Update the card (a checkout with save_card): resumed, and still below the
        // threshold, it buys at once with the new card.
        let admin = shop.srv.session("Ada, back", Role::Admin).await; // hours later
        shop.buy(&admin, json!({ "pack_id": "starter", "save_card": true })).await; // +50 → 65
        let v = wait_for(&shop, &admin, "resumed", |v| v["rule"]["status"] == "active" && v["rule"]["failures"] == 0).await;
        assert_eq!(v["rule"]["last_error"], Value::Null, "{v}");
        // 65 is above 20 again: armed, nothing bought yet.
        assert_eq!(available(&shop).await, 65);
        assert_eq!(intent_keys(&shop).len(), 4);
        let (s, _) = shop.srv.call("POST", "/v1/revocations", &shop.srv.key, Some("r3"), Some(json!({ "amount_millicredits": 50_000, "reason": "used" }))).await;
        assert_eq!(s, StatusCode::OK);
        wait_paid(&shop, 2).await;
        assert_eq!(available(&shop).await, 65, "paid with the new card");
        assert_ne!(the_card(&shop), card);
        shop.audit().await;
    };

    an_outage_asks_the_same_question_again_and_never_pays_twice => |store| async move {
        let shop = shop(store, KOPAI, None).await;
        let admin = admin_with_card(&shop, "starter").await;
        set_rule(&shop, &admin, json!({ "below_credits": 20, "pack_id": "starter", "max_per_month": 5 })).await;
        shop.test_call_status("/_test/outage?on=true").await;
        shop.srv.call("POST", "/v1/revocations", &shop.srv.key, Some("r1"), Some(json!({ "amount_millicredits": 35_000, "reason": "used" }))).await;
        let v = wait_for(&shop, &admin, "a failure", |v| v["rule"]["failures"] == 1).await;
        assert!(v["rule"]["last_error"].as_str().unwrap().contains("500"), "{v}");
        shop.test_call_status("/_test/outage?on=false").await;
        shop.srv.clock.advance(HOUR_MS);
        wait_paid(&shop, 1).await;
        let keys = intent_keys(&shop);
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[0], keys[1], "no answer: the same request again");
        assert_eq!(available(&shop).await, 65);
        shop.audit().await;
    };

    who_may_set_auto_top_up_and_the_operators_bounds => |store| async move {
        let shop = shop(store, KOPAI, None).await;
        let admin = shop.srv.session("Ada", Role::Admin).await;
        let member = shop.srv.session("Mo", Role::Member).await;
        let viewer = shop.srv.session("Vi", Role::Viewer).await;
        let rule = json!({ "below_credits": 20, "pack_id": "starter", "max_per_month": 2 });
        // Members buy for their own wallet only: not the shared one.
        let (s, v) = set_rule(&shop, &member, rule.clone()).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        let (s, v) = set_rule(&shop, &viewer, rule.clone()).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        // Bad input: specific errors, nothing set.
        for (body, path) in [
            (json!({ "below_credits": 20, "pack_id": "nope", "max_per_month": 2 }), "pack_id"),
            (json!({ "below_credits": 0, "pack_id": "starter", "max_per_month": 2 }), "below_credits"),
            (json!({ "below_credits": 20, "pack_id": "starter", "max_per_month": 99 }), "max_per_month"),
            (json!({ "below_credits": 20, "pack_id": "starter", "max_per_month": 2, "max_amount_minor_per_month": 100 }), "max_amount_minor_per_month"),
        ] {
            let (s, v) = set_rule(&shop, &admin, body).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
            assert_eq!(v["path"], path, "{v}");
        }
        let (_, v) = shop.srv.call("GET", "/v1/auto-top-up", &viewer, None, None).await;
        assert_eq!(v["rule"], Value::Null, "{v}");
        // No card yet: set, waiting for one.
        let (s, v) = set_rule(&shop, &admin, rule.clone()).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["rule"]["status"], "needs_card");
        // The operator's bounds: a session cannot reach them; the operator turns it off.
        let path = format!("/admin/v1/workspaces/{}/auto-top-up", shop.srv.workspace_id);
        let (s, _) = shop.srv.call("PUT", &path, &admin, None, Some(json!({ "enabled": false, "max_per_month": 1, "max_amount_minor_per_month": 1000 }))).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let operator = shop.srv.ledger.create_operator_key(None).await.unwrap().secret;
        let (s, v) = shop.srv.call("PUT", &path, &operator, None, Some(json!({ "enabled": false, "max_per_month": 1, "max_amount_minor_per_month": 1000 }))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, v) = set_rule(&shop, &admin, rule.clone()).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        let (_, v) = shop.srv.call("GET", "/v1/auto-top-up", &admin, None, None).await;
        assert_eq!(v["bounds"]["enabled"], false, "{v}");
        // Removing the rule is the member's too.
        let (s, v) = shop.srv.call("DELETE", "/v1/auto-top-up", &admin, None, None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v["rule"], Value::Null);
    };
}
