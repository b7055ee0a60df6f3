//! Money in through the payment path only: a checkout (checked against a local Stripe
//! stand-in as Stripe's API reference describes the request), then Stripe's signed
//! webhook grants. Forged, stale, tampered and replayed events change nothing; the
//! seeds' purchase rules hold when credits arrive this way; refunds take back what is
//! unspent and record the rest as a debt. On SQLite and PostgreSQL.

mod common;
#[path = "common/shop.rs"]
mod shop;

use common::*;
use creditkit_api::Role;
use shop::*;

/// A creator's earnings available for payout.
async fn available(srv: &Srv, token: &str, wallet: &str) -> Option<u64> {
    let (_, e) = srv
        .call(
            "GET",
            &format!("/v1/earnings?wallet_id={wallet}"),
            token,
            None,
            None,
        )
        .await;
    e["available_millicredits"].as_u64()
}

both! {
    a_checkout_is_asked_as_stripe_documents_and_only_a_signed_webhook_grants => |store| async move {
        let shop = shop(store, KOPAI, None).await;
        let admin = shop.srv.session("Ada", Role::Admin).await;
        let before = shop.balance().await;
        let c = shop.checkout(&admin, json!({ "pack_id": "standard" })).await;
        assert_eq!((c["credits"].as_u64(), c["amount_minor"].as_u64(), c["currency"].as_str()), (Some(150), Some(1500), Some("usd")));
        let (headers, fields) = shop.standin.record.lock().unwrap().requests.last().cloned().unwrap();
        assert_eq!(headers["idempotency-key"], c["id"].as_str().unwrap(), "the checkout id keys Stripe's idempotency");
        for (k, v) in [("mode", "payment"), ("line_items[0][price_data][currency]", "usd"), ("line_items[0][price_data][unit_amount]", "1500"),
                       ("line_items[0][quantity]", "1"), ("line_items[0][price_data][product_data][name]", "Standard pack (150 credits)"),
                       ("client_reference_id", c["id"].as_str().unwrap()), ("metadata[creditkit_checkout]", c["id"].as_str().unwrap()),
                       ("payment_intent_data[metadata][creditkit_checkout]", c["id"].as_str().unwrap())] {
            assert_eq!(field(&fields, k).as_deref(), Some(v), "{k}");
        }
        let back = format!("/v1/checkout/done?checkout_id={}", c["id"].as_str().unwrap());
        assert!(field(&fields, "success_url").unwrap().ends_with(&back));
        // Opening a checkout credits nothing.
        assert_eq!(shop.balance().await.balance_millicredits, before.balance_millicredits);
        // Kopai: 1 credit = $0.10, so each pack costs its credits × 10 cents.
        for (pack, credits) in [("starter", 50), ("standard", 150), ("pro", 500)] {
            shop.checkout(&admin, json!({ "pack_id": pack })).await;
            let (_, f) = shop.standin.record.lock().unwrap().requests.last().cloned().unwrap();
            assert_eq!(field(&f, "line_items[0][price_data][unit_amount]"), Some((credits * 10).to_string()), "{pack}");
        }
        shop.pay(&c).await;
        let after = shop.balance().await;
        assert_eq!(after.balance_millicredits, before.balance_millicredits + 150_000);
        // Kopai's packs never expire.
        shop.srv.clock.advance(5 * 12 * MONTH_MS);
        assert_eq!(shop.balance().await.balance_millicredits, after.balance_millicredits);
        let snapshot = || async { (shop.balance().await, shop.srv.ledger.transactions(&Principal::operator(&shop.srv.workspace_id), None, None, None, Some(200)).await.unwrap().items.len()) };
        let before = snapshot().await;
        // Replayed by Stripe (same event id, a fresh signature): applied once.
        let completed = shop.last_event("checkout.session.completed");
        let r = shop.test_call(&format!("/_test/replay/{}", completed["id"].as_str().unwrap())).await;
        assert_eq!(r["creditkit_status"], 200, "a replay is acknowledged");
        assert_eq!(snapshot().await, before, "and changes nothing");
        // Forged (another secret), stale (6 minutes old), tampered (another body): refused.
        let now = shop.srv.ledger.now_ms() / 1000;
        let mut forged = completed.clone();
        forged["id"] = "evt_forged".into();
        let body = forged.to_string();
        let (s, v) = shop.raw_webhook(&body, &creditkit_stripe_standin::sign("whsec_guess", now, &body)).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")));
        let (s, _) = shop.raw_webhook(&body, &creditkit_stripe_standin::sign(WEBHOOK_SECRET, now - 360, &body)).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let (s, _) = shop.raw_webhook(&body, &creditkit_stripe_standin::sign(WEBHOOK_SECRET, now, "{}")).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let (s, _) = shop.raw_webhook(&body, "").await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        // Signed, but not what was checked out: an amount that differs is refused.
        let mut cheaper = completed.clone();
        cheaper["id"] = "evt_cheaper".into();
        cheaper["data"]["object"]["amount_total"] = 100.into();
        let body = cheaper.to_string();
        let (s, v) = shop.raw_webhook(&body, &creditkit_stripe_standin::sign(WEBHOOK_SECRET, now, &body)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(snapshot().await, before, "no refused event changed anything");
        shop.audit().await;
    };

    who_may_buy_and_what_is_for_sale => |store| async move {
        let shop = shop(store, KOPAI, None).await;
        let member = shop.srv.session("Bo", Role::Member).await;
        let viewer = shop.srv.session("Vi", Role::Viewer).await;
        let (s, v) = shop.srv.call("POST", "/v1/checkout", &member, None, Some(json!({ "pack_id": "starter" }))).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "members buy for their own wallet only");
        let (s, _) = shop.srv.call("POST", "/v1/checkout", &viewer, None, Some(json!({ "pack_id": "starter" }))).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, v) = shop.srv.call("POST", "/v1/checkout", &shop.srv.key, None, Some(json!({ "pack_id": "nope" }))).await;
        assert_eq!((s, v["path"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("pack_id")));
        let (s, v) = shop.srv.call("POST", "/v1/checkout", &shop.srv.key, None, Some(json!({ "pack_id": "starter", "return_url": "https://evil.example" }))).await;
        assert_eq!((s, v["path"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("return_url")));
        let c = shop.checkout(&shop.srv.key, json!({ "pack_id": "starter", "return_url": "https://app.example.com/billing" })).await;
        let (_, f) = shop.standin.record.lock().unwrap().requests.last().cloned().unwrap();
        let back = format!("https://app.example.com/billing?checkout=returned&checkout_id={}", c["id"].as_str().unwrap());
        assert_eq!(field(&f, "success_url").as_deref(), Some(back.as_str()));
        assert!(c["url"].as_str().unwrap().starts_with(&shop.stripe));
        // KappaX publishes no pack prices: nothing on its card is sold through checkout.
        let mut kappax = start_on(&shop.srv.url).await;
        kappax.base = shop.srv.base.clone();
        kappax.workspace_on(KAPPAX, None).await;
        let (s, v) = kappax.call("POST", "/v1/checkout", &kappax.key, None, Some(json!({ "pack_id": "small" }))).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        // A server with no provider says so.
        let plain = start_on(&shop.srv.url).await;
        let (s, v) = plain.call("POST", "/v1/checkout", &shop.srv.key, None, Some(json!({ "pack_id": "starter" }))).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::NOT_IMPLEMENTED, Some("payments_not_configured")));
    };

    campaign_packs_bought_by_webhook_last_twelve_months => |store| async move {
        // Seed 001: purchased credits are valid for 12 months.
        let shop = shop(store, CAMPAIGNS, None).await;
        shop.buy(&shop.srv.key, json!({ "pack_id": "starter", "quantity": 2 })).await;
        assert_eq!(shop.balance().await.balance_millicredits, 200_000);
        shop.srv.clock.advance(12 * 30 * 86_400_000);
        assert_eq!(shop.balance().await.balance_millicredits, 200_000, "still valid within 12 months");
        shop.srv.clock.advance(10 * 86_400_000);
        assert_eq!(shop.balance().await.balance_millicredits, 0, "expired after 12 months");
        shop.audit().await;
    };

    a_paid_plan_resets_each_period_without_rollover => |store| async move {
        // Seed 002: plan credits reset each billing cycle; unused credits do not roll over.
        let shop = shop(store, LANDING, Some("free")).await;
        assert_eq!(shop.balance().await.balance_millicredits, 250_000);
        shop.buy(&shop.srv.key, json!({ "plan_id": "starter" })).await;
        let b = shop.balance().await;
        assert_eq!((b.balance_millicredits, b.plan_id.as_deref()), (1_000_000, Some("starter")), "the free allowance ended, no rollover");
        let (_, f) = shop.standin.record.lock().unwrap().requests.last().cloned().unwrap();
        assert_eq!((field(&f, "mode").as_deref(), field(&f, "line_items[0][price_data][recurring][interval]").as_deref()), (Some("subscription"), Some("month")));
        // Spend 300, then the next invoice is paid: back to 1,000, not 1,700.
        let q = shop.srv.quote(&shop.srv.key, json!({ "action": "section", "quantity": 30 })).await;
        let (_, h) = shop.srv.call("POST", "/v1/holds", &shop.srv.key, Some("h"), Some(json!({ "quote_id": q.id }))).await;
        shop.srv.call("POST", &format!("/v1/holds/{}/capture", h["id"].as_str().unwrap()), &shop.srv.key, Some("c"), Some(json!({}))).await;
        assert_eq!(shop.balance().await.balance_millicredits, 700_000);
        // No clock-driven renewal for a paid plan: a month later, only the invoice renews it.
        shop.srv.clock.advance(MONTH_MS);
        assert_eq!(shop.balance().await.balance_millicredits, 0, "the paid period ended");
        let sub = shop.last_event("invoice.paid")["data"]["object"]["subscription"].as_str().unwrap().to_string();
        let r = shop.test_call(&format!("/_test/renew/{sub}")).await;
        assert_eq!(r["creditkit_status"], 200);
        assert_eq!(shop.balance().await.balance_millicredits, 1_000_000);
        shop.audit().await;
    };

    kappax_allowance_follows_its_subscription_cycle => |store| async move {
        // Seed 000: a monthly allowance that resets with the subscription cycle (the seed
        // gives no plan size or price; the operator sets them), with priced packs beside it.
        let card = KAPPAX
            .replacen(r#"{ "id": "monthly", "name": "Monthly", "credits": 500, "renewal": "monthly" }"#, r#"{ "id": "team", "name": "Team", "credits": 2000, "renewal": "monthly", "price": "99" }"#, 1)
            .replace(r#"{ "id": "small", "name": "Small", "credits": 1000 }"#, r#"{ "id": "small", "name": "Small", "credits": 1000, "price": "45" }"#);
        let shop = shop(store, &card, None).await;
        shop.buy(&shop.srv.key, json!({ "plan_id": "team" })).await;
        shop.buy(&shop.srv.key, json!({ "pack_id": "small" })).await;
        assert_eq!(shop.balance().await.balance_millicredits, 3_000_000);
        let sub = shop.last_event("invoice.paid")["data"]["object"]["subscription"].as_str().unwrap().to_string();
        shop.srv.clock.advance(MONTH_MS - 86_400_000);
        shop.test_call(&format!("/_test/renew/{sub}")).await;
        assert_eq!(shop.balance().await.balance_millicredits, 3_000_000, "allowance reset to 2,000; the pack stays");
        shop.audit().await;
    };

    kumari_packs_never_expire_and_the_free_grant_is_given_once => |store| async move {
        // Seed 003: free plan credits are a one-time grant; Pro resets each period;
        // custom packs never expire.
        let shop = shop(store, KUMARI, Some("free")).await;
        assert_eq!(shop.balance().await.balance_millicredits, 100_000);
        shop.buy(&shop.srv.key, json!({ "pack_id": "custom", "quantity": 10 })).await;
        shop.buy(&shop.srv.key, json!({ "plan_id": "pro" })).await;
        assert_eq!(shop.balance().await.balance_millicredits, 4_100_000);
        // Pro ends: its allowance ends; back on Free, whose one-time grant is not given again.
        let sub = shop.last_event("invoice.paid")["data"]["object"]["subscription"].as_str().unwrap().to_string();
        let r = shop.test_call(&format!("/_test/cancel/{sub}")).await;
        assert_eq!(r["creditkit_status"], 200);
        let b = shop.balance().await;
        assert_eq!((b.balance_millicredits, b.plan_id.as_deref()), (1_100_000, Some("free")));
        shop.srv.clock.advance(5 * 12 * MONTH_MS);
        assert_eq!(shop.balance().await.balance_millicredits, 1_100_000, "free and custom-pack credits never expire");
        shop.audit().await;
    };

    a_refund_takes_back_what_is_unspent_and_the_rest_is_a_debt => |store| async move {
        let shop = shop(store, KOPAI, None).await;
        shop.buy(&shop.srv.key, json!({ "pack_id": "standard" })).await; // 150 credits, $15
        let pi = shop.last_event("checkout.session.completed")["data"]["object"]["payment_intent"].as_str().unwrap().to_string();
        // 100 are spent.
        let q = shop.srv.quote(&shop.srv.key, json!({ "action": "message", "params": { "model": "gpt-4o", "input_tokens": 1 }, "quantity": 100 })).await;
        let (_, h) = shop.srv.call("POST", "/v1/holds", &shop.srv.key, Some("h"), Some(json!({ "quote_id": q.id }))).await;
        let (s, v) = shop.srv.call("POST", &format!("/v1/holds/{}/capture", h["id"].as_str().unwrap()), &shop.srv.key, Some("c"), Some(json!({ "amount_millicredits": 100_000 }))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        // Half refunded ($7.50): 75 credits due, 50 left to take back, 25 owed.
        shop.test_call(&format!("/_test/refund/{pi}?amount=750")).await;
        let b = shop.balance().await;
        assert_eq!((b.balance_millicredits, b.debt_millicredits), (0, 25_000));
        // Then the rest: 75 more due, nothing left: 100 owed in all. Never negative.
        shop.test_call(&format!("/_test/refund/{pi}")).await;
        let b = shop.balance().await;
        assert_eq!((b.balance_millicredits, b.debt_millicredits), (0, 100_000));
        // The next purchase repays the debt first.
        shop.buy(&shop.srv.key, json!({ "pack_id": "pro" })).await; // 500
        let b = shop.balance().await;
        assert_eq!((b.balance_millicredits, b.debt_millicredits), (400_000, 0));
        shop.audit().await;
    };

    renewals_and_completions_must_match_what_was_stored => |store| async move {
        // Issue 30, item 7: a provider's event is trusted only for what this server stored.
        let shop = shop(store, LANDING, Some("free")).await;
        shop.buy(&shop.srv.key, json!({ "plan_id": "starter" })).await;
        assert_eq!(shop.balance().await.balance_millicredits, 1_000_000);
        let q = shop.srv.quote(&shop.srv.key, json!({ "action": "section", "quantity": 30 })).await;
        let (_, h) = shop.srv.call("POST", "/v1/holds", &shop.srv.key, Some("h"), Some(json!({ "quote_id": q.id }))).await;
        shop.srv.call("POST", &format!("/v1/holds/{}/capture", h["id"].as_str().unwrap()), &shop.srv.key, Some("c"), Some(json!({}))).await;
        let snapshot = || async { (shop.balance().await, shop.srv.ledger.transactions(&Principal::operator(&shop.srv.workspace_id), None, None, None, Some(200)).await.unwrap().items.len()) };
        let now = || shop.srv.ledger.now_ms() / 1000;
        let signed = |event: &Value| { let body = event.to_string(); let sig = creditkit_stripe_standin::sign(WEBHOOK_SECRET, now(), &body); (body, sig) };
        let before = snapshot().await;
        // A renewal's invoice for another amount, or another currency: resets nothing.
        let first = shop.last_event("invoice.paid");
        for (amount, currency) in [(100, "usd"), (4900, "eur")] {
            let mut renewal = first.clone();
            renewal["id"] = format!("evt_renew_{amount}_{currency}").into();
            renewal["data"]["object"]["billing_reason"] = "subscription_cycle".into();
            renewal["data"]["object"]["amount_paid"] = amount.into();
            renewal["data"]["object"]["currency"] = currency.into();
            let (body, sig) = signed(&renewal);
            let (s, v) = shop.raw_webhook(&body, &sig).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        }
        assert_eq!(snapshot().await, before, "a mismatched invoice changed nothing");
        // A completion naming our checkout but not the session this server opened for it,
        // or naming it only by client_reference_id (a Payment Link's customer sets that).
        let completed = shop.last_event("checkout.session.completed");
        let mut other_session = completed.clone();
        other_session["id"] = "evt_other_session".into();
        other_session["data"]["object"]["id"] = "cs_test_someone_elses".into();
        let mut by_reference = completed.clone();
        by_reference["id"] = "evt_by_reference".into();
        by_reference["data"]["object"]["metadata"] = json!({});
        for forged in [other_session, by_reference] {
            let (body, sig) = signed(&forged);
            let (s, v) = shop.raw_webhook(&body, &sig).await;
            assert!(matches!(s, StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY), "{s}: {v}");
        }
        assert_eq!(snapshot().await, before, "a forged completion changed nothing");
        // The real renewal, then Stripe's late retry of it (three days on, after the
        // sweeper forgot callers' keys): applied once.
        shop.srv.clock.advance(MONTH_MS);
        let sub = first["data"]["object"]["subscription"].as_str().unwrap().to_string();
        let r = shop.test_call(&format!("/_test/renew/{sub}")).await;
        assert_eq!(r["creditkit_status"], 200);
        let renewed = snapshot().await;
        assert_eq!(renewed.0.balance_millicredits, 1_000_000);
        shop.srv.clock.advance(3 * 86_400_000);
        shop.srv.ledger.sweep().await.unwrap();
        let at_retry = snapshot().await;
        let renew_event = shop.last_event("invoice.paid");
        let r = shop.test_call(&format!("/_test/replay/{}", renew_event["id"].as_str().unwrap())).await;
        assert_eq!(r["creditkit_status"], 200, "a late retry is acknowledged");
        assert_eq!(snapshot().await, at_retry, "and changes nothing");
        shop.audit().await;
    };

    the_buyer_sees_pending_paid_failed_or_expired_and_never_received_before_the_provider_says => |store| async move {
        let shop = shop(store, KUMARI, None).await;
        let (ann, bo) = (shop.srv.session("Ann", Role::Admin).await, shop.srv.session("Bo", Role::Member).await);
        let status = |token: String, id: String| {
            let srv = &shop.srv;
            async move { srv.call("GET", &format!("/v1/checkouts/{id}"), &token, None, None).await }
        };
        // Opened: pending, and its return page says processing (and looks again).
        let c = shop.checkout(&ann, json!({ "pack_id": "custom", "quantity": 25 })).await;
        let id = c["id"].as_str().unwrap().to_string();
        let (s, v) = status(ann.clone(), id.clone()).await;
        assert_eq!((s, v["status"].as_str(), v["credits"].as_u64(), v["amount_minor"].as_u64()), (StatusCode::OK, Some("pending"), Some(2500), Some(2500)), "{v}");
        let done = format!("{}/v1/checkout/done?checkout_id={id}", shop.srv.base);
        let page = shop.srv.http.get(&done).send().await.unwrap().text().await.unwrap();
        assert!(page.contains("Payment processing") && page.contains("http-equiv=\"refresh\"") && !page.contains("received"), "{page}");
        // Another member does not see it; an admin's team view would.
        let (s, _) = status(bo.clone(), id.clone()).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        // A bank debit that fails later: the buyer comes back to "failed", no credits.
        let before = shop.balance().await.balance_millicredits;
        let declined = shop.srv.http.post(format!("{}/decline", c["url"].as_str().unwrap())).send().await.unwrap();
        let page = declined.text().await.unwrap();
        assert!(page.contains("Payment failed") && page.contains("Nothing was charged"), "{page}");
        let (_, v) = status(ann.clone(), id.clone()).await;
        assert_eq!(v["status"].as_str(), Some("failed"), "{v}");
        assert_eq!(shop.balance().await.balance_millicredits, before);
        for (event, code) in &shop.standin.record.lock().unwrap().sent {
            assert_eq!(*code, 200, "creditkit took {}", event["type"]);
        }
        // A page left open expires; a paid one is paid, with its credits, once.
        let c2 = shop.checkout(&ann, json!({ "pack_id": "custom_50" })).await;
        let session = c2["url"].as_str().unwrap().rsplit('/').next().unwrap().to_string();
        let r = shop.test_call(&format!("/_test/expire/{session}")).await;
        assert_eq!(r["creditkit_status"], 200, "{r}");
        let (_, v) = status(ann.clone(), c2["id"].as_str().unwrap().to_string()).await;
        assert_eq!(v["status"].as_str(), Some("expired"), "{v}");
        let c3 = shop.buy(&ann, json!({ "pack_id": "custom", "quantity": 10 })).await;
        let (_, v) = status(ann.clone(), c3["id"].as_str().unwrap().to_string()).await;
        assert_eq!(v["status"].as_str(), Some("paid"), "{v}");
        assert!(v["completed_at_ms"].as_i64().is_some(), "{v}");
        assert_eq!(shop.balance().await.balance_millicredits, before + 1_000_000);
        // The failed event delivered again changes nothing; a paid one is not unpaid.
        let failed_event = shop.standin.record.lock().unwrap().sent.iter().find(|(e, _)| e["type"] == "checkout.session.async_payment_failed").unwrap().0["id"].as_str().unwrap().to_string();
        let r = shop.test_call(&format!("/_test/replay/{failed_event}")).await;
        assert_eq!(r["creditkit_status"], 200, "{r}");
        let (_, v) = status(ann.clone(), id).await;
        assert_eq!(v["status"].as_str(), Some("failed"));
        shop.audit().await;
    };

    one_subscription_per_wallet_changed_through_the_provider => |store| async move {
        let shop = shop(store, LANDING, Some("free")).await;
        let key = shop.srv.key.clone();
        shop.buy(&key, json!({ "plan_id": "starter" })).await;
        // A second plan checkout would charge twice: refused, nothing opened.
        let opened = shop.standin.record.lock().unwrap().requests.len();
        let (s, v) = shop.srv.call("POST", "/v1/checkout", &key, None, Some(json!({ "plan_id": "pro" }))).await;
        assert_eq!((s, v["path"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("plan_id")), "{v}");
        assert_eq!(shop.standin.record.lock().unwrap().requests.len(), opened);
        let (_, sub) = shop.srv.call("GET", "/v1/subscription", &key, None, None).await;
        assert_eq!((sub["plan_id"].as_str(), sub["amount_minor"].as_u64(), sub["cancel_at_period_end"].as_bool()), (Some("starter"), Some(4900), Some(false)), "{sub}");
        // Spend 300 of Starter's 1,000, then upgrade: the difference (4,000) at once,
        // with the prorated invoice; the wallet is on Pro now.
        let q = shop.srv.quote(&key, json!({ "action": "section", "quantity": 30 })).await;
        let (_, h) = shop.srv.call("POST", "/v1/holds", &key, Some("h"), Some(json!({ "quote_id": q.id }))).await;
        shop.srv.call("POST", &format!("/v1/holds/{}/capture", h["id"].as_str().unwrap()), &key, Some("c"), Some(json!({}))).await;
        let (s, v) = shop.srv.call("POST", "/v1/subscription", &key, None, Some(json!({ "plan_id": "pro" }))).await;
        assert_eq!((s, v["plan_id"].as_str(), v["amount_minor"].as_u64()), (StatusCode::OK, Some("pro"), Some(7900)), "{v}");
        let b = shop.balance().await;
        assert_eq!((b.balance_millicredits, b.plan_id.as_deref()), (4_700_000, Some("pro")));
        // A paid plan renews by invoice: the plan view says when its allowance resets.
        let (_, a) = shop.srv.call("GET", "/v1/allowance", &key, None, None).await;
        assert!(a["plan"]["renews_at_ms"].as_i64().is_some_and(|t| t > T0), "{a}");
        let (_, f) = shop.standin.record.lock().unwrap().updates.last().cloned().unwrap();
        assert_eq!((field(&f, "proration_behavior").as_deref(), field(&f, "items[0][price_data][unit_amount]").as_deref()), (Some("always_invoice"), Some("7900")));
        // The update's invoice delivered again grants nothing more.
        let update = shop.standin.record.lock().unwrap().sent.iter().rev().find(|(e, _)| e["data"]["object"]["billing_reason"] == "subscription_update").unwrap().0["id"].as_str().unwrap().to_string();
        assert_eq!(shop.test_call(&format!("/_test/replay/{update}")).await["creditkit_status"], 200);
        assert_eq!(shop.balance().await.balance_millicredits, 4_700_000);
        // Downgrade: from the next period; Pro's credits stay until then.
        let (s, v) = shop.srv.call("POST", "/v1/subscription", &key, None, Some(json!({ "plan_id": "starter" }))).await;
        assert_eq!((s, v["plan_id"].as_str(), v["next_plan_id"].as_str()), (StatusCode::OK, Some("pro"), Some("starter")), "{v}");
        assert_eq!(shop.balance().await.balance_millicredits, 4_700_000);
        let (_, f) = shop.standin.record.lock().unwrap().updates.last().cloned().unwrap();
        assert_eq!(field(&f, "proration_behavior").as_deref(), Some("none"));
        let sub_ref = shop.last_event("invoice.paid")["data"]["object"]["subscription"].as_str().unwrap().to_string();
        assert_eq!(shop.test_call(&format!("/_test/renew/{sub_ref}")).await["creditkit_status"], 200);
        let b = shop.balance().await;
        assert_eq!((b.balance_millicredits, b.plan_id.as_deref()), (1_000_000, Some("starter")), "renewed on Starter, no rollover");
        // Cancel at the period's end; a plan change waits for a resume; resume, cancel again.
        for (body, ok) in [(json!({ "cancel_at_period_end": true }), true), (json!({ "plan_id": "pro" }), false), (json!({ "cancel_at_period_end": false }), true), (json!({ "cancel_at_period_end": true }), true)] {
            let (s, v) = shop.srv.call("POST", "/v1/subscription", &key, None, Some(body.clone())).await;
            assert_eq!(s == StatusCode::OK, ok, "{body} → {s} {v}");
        }
        let (_, v) = shop.srv.call("GET", "/v1/subscription", &key, None, None).await;
        assert_eq!(v["cancel_at_period_end"].as_bool(), Some(true), "{v}");
        assert_eq!(shop.balance().await.balance_millicredits, 1_000_000, "canceling keeps the period's credits");
        // At the period's end it ends: back to Free, and no subscription.
        assert_eq!(shop.test_call(&format!("/_test/renew/{sub_ref}")).await["creditkit_status"], 200);
        let b = shop.balance().await;
        assert_eq!((b.balance_millicredits, b.plan_id.as_deref()), (250_000, Some("free")));
        let (_, v) = shop.srv.call("GET", "/v1/subscription", &key, None, None).await;
        assert_eq!(v, Value::Null);
        // Now a new plan can be bought.
        shop.checkout(&key, json!({ "plan_id": "pro" })).await;
        shop.audit().await;
    };

    two_plan_checkouts_paid_leave_one_subscription_and_end_the_other_at_the_provider => |store| async move {
        let shop = shop(store, LANDING, Some("free")).await;
        let key = shop.srv.key.clone();
        let a = shop.checkout(&key, json!({ "plan_id": "starter" })).await;
        // While its page may still be paid, a second plan checkout is refused.
        let (s, v) = shop.srv.call("POST", "/v1/checkout", &key, None, Some(json!({ "plan_id": "pro" }))).await;
        assert_eq!((s, v["path"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("plan_id")), "{v}");
        // Half an hour later it may be opened; both pages get paid (the first one's
        // webhook late): the second replaces the first, which is ended at the provider.
        shop.srv.clock.advance(31 * 60_000);
        let b = shop.checkout(&key, json!({ "plan_id": "pro" })).await;
        shop.pay(&a).await;
        shop.pay(&b).await;
        let (_, sub) = shop.srv.call("GET", "/v1/subscription", &key, None, None).await;
        assert_eq!(sub["plan_id"].as_str(), Some("pro"), "{sub}");
        let b_ = shop.balance().await;
        assert_eq!((b_.balance_millicredits, b_.plan_id.as_deref()), (5_000_000, Some("pro")));
        let deleted: Vec<_> = shop.standin.record.lock().unwrap().updates.iter().filter(|(_, f)| f.first().is_some_and(|(k, _)| k == "DELETE")).map(|(_, f)| f[0].1.clone()).collect();
        assert_eq!(deleted.len(), 1, "the replaced subscription is ended at the provider: {deleted:?}");
        let ended = shop.last_event("customer.subscription.deleted");
        assert_eq!(ended["data"]["object"]["id"].as_str(), Some(deleted[0].as_str()));
        // Its end leaves the wallet on Pro.
        assert_eq!(shop.balance().await.plan_id.as_deref(), Some("pro"));
        shop.audit().await;
    };

    a_creator_connects_an_account_and_payouts_reach_it_or_give_the_earnings_back => |store| async move {
        // Seed 004: the creator's organization wallet earns 70% of a 2-credit add-on.
        let mut shop = shop(store, KOPAI, None).await;
        let (creator_ws, creator) = (shop.srv.workspace_id.clone(), shop.srv.key.clone());
        let (_, org) = shop.srv.call("POST", "/v1/wallets", &creator, None, Some(json!({ "kind": "organization" }))).await;
        let org = org["wallet_id"].as_str().unwrap().to_string();
        let op = shop.srv.ledger.create_operator_key(None).await.unwrap().secret;
        let assign = format!("/admin/v1/workspaces/{creator_ws}/agents/legal-drafter/payee");
        assert_eq!(shop.srv.call("PUT", &assign, &op, None, Some(json!({ "wallet_id": org }))).await.0, StatusCode::NO_CONTENT);
        shop.srv.workspace_on(KOPAI, None).await;
        for key in ["t1", "t2", "t3"] {
            let (s, v) = shop.srv.call("POST", "/v1/topups", &shop.srv.key, Some(key), Some(json!({ "pack_id": "pro" }))).await;
            assert_eq!(s, StatusCode::OK, "{v}");
        }
        let q = shop.srv.quote(&shop.srv.key, json!({ "action": "message", "params": { "agent": "legal-drafter" }, "quantity": 100 })).await;
        let (_, h) = shop.srv.call("POST", "/v1/holds", &shop.srv.key, Some("h"), Some(json!({ "quote_id": q.id }))).await;
        shop.srv.call("POST", &format!("/v1/holds/{}/capture", h["id"].as_str().unwrap()), &shop.srv.key, Some("c"), Some(json!({}))).await;
        shop.srv.clock.advance(25 * 3_600_000);
        assert_eq!(available(&shop.srv, &creator, &org).await, Some(140_000));
        // A payout of 100 credits ($10 at $0.10 a credit) waits for the operator.
        let (s, v) = shop.srv.call("POST", &format!("/v1/payouts?wallet_id={org}"), &creator, Some("po1"), Some(json!({ "amount_millicredits": 100_000 }))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (_, list) = shop.srv.call("GET", &format!("/v1/payouts?wallet_id={org}"), &creator, None, None).await;
        let first = &list[0];
        assert_eq!((first["status"].as_str(), first["amount_minor"].as_u64(), first["currency"].as_str()), (Some("requested"), Some(1000), Some("usd")), "{list}");
        let id = first["id"].as_str().unwrap().to_string();
        let (_, queue) = shop.srv.call("GET", "/admin/v1/payouts", &op, None, None).await;
        assert_eq!(queue.as_array().unwrap().len(), 1, "{queue}");
        // No account connected yet: approving is refused, nothing moves.
        let (s, v) = shop.srv.call("POST", &format!("/admin/v1/payouts/{id}/approve"), &op, None, None).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        // The creator connects one on the provider's onboarding page.
        let (s, a) = shop.srv.call("POST", &format!("/v1/payout-account?wallet_id={org}"), &creator, None, None).await;
        assert_eq!((s, a["status"].as_str()), (StatusCode::OK, Some("pending")), "{a}");
        let onboarding = a["onboarding_url"].as_str().unwrap().to_string();
        assert!(onboarding.starts_with(&shop.stripe), "{onboarding}");
        let back = shop.srv.http.post(&onboarding).send().await.unwrap().text().await.unwrap();
        assert!(back.contains("Account details received"), "{back}");
        let (_, a) = shop.srv.call("GET", &format!("/v1/payout-account?wallet_id={org}"), &creator, None, None).await;
        assert_eq!(a["status"].as_str(), Some("ready"), "{a}");
        // Approved: transferred to that account, keyed by the payout; paid.
        let (s, v) = shop.srv.call("POST", &format!("/admin/v1/payouts/{id}/approve"), &op, None, None).await;
        assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("paid")), "{v}");
        let (transfer, fields) = shop.standin.record.lock().unwrap().transfers.get(&id).cloned().expect("a transfer keyed by the payout");
        assert_eq!((field(&fields, "amount").as_deref(), field(&fields, "currency").as_deref()), (Some("1000"), Some("usd")));
        assert_eq!(field(&fields, "destination").as_deref(), a["wallet_id"].as_str().and(Some(transfer["destination"].as_str().unwrap())));
        let (s, _) = shop.srv.call("POST", &format!("/admin/v1/payouts/{id}/approve"), &op, None, None).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a paid payout is not paid again");
        assert_eq!(available(&shop.srv, &creator, &org).await, Some(40_000));
        // The provider reverses the transfer: the payout failed, the earnings are back.
        let r = shop.test_call(&format!("/_test/reverse/{}", transfer["id"].as_str().unwrap())).await;
        assert_eq!(r["creditkit_status"], 200, "{r}");
        let (_, list) = shop.srv.call("GET", &format!("/v1/payouts?wallet_id={org}"), &creator, None, None).await;
        assert_eq!((list[0]["status"].as_str(), list[0]["failure"].as_str()), (Some("failed"), Some("the transfer was reversed")), "{list}");
        assert_eq!(available(&shop.srv, &creator, &org).await, Some(140_000));
        // Another, rejected by the operator with a reason: the earnings are back again.
        let (_, v) = shop.srv.call("POST", &format!("/v1/payouts?wallet_id={org}"), &creator, Some("po2"), Some(json!({ "amount_millicredits": 100_000 }))).await;
        assert_eq!(v["available_millicredits"].as_u64(), Some(40_000), "{v}");
        let (_, list) = shop.srv.call("GET", &format!("/v1/payouts?wallet_id={org}"), &creator, None, None).await;
        let second = list[0]["id"].as_str().unwrap().to_string();
        let (s, v) = shop.srv.call("POST", &format!("/admin/v1/payouts/{second}/reject"), &op, None, Some(json!({ "reason": "identity check pending" }))).await;
        assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("failed")), "{v}");
        assert_eq!(available(&shop.srv, &creator, &org).await, Some(140_000));
        // Only the operator decides.
        let (s, _) = shop.srv.call("POST", &format!("/admin/v1/payouts/{second}/approve"), &creator, None, None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        shop.srv.ledger.audit(&org).await.unwrap();
    };

    a_paid_subscription_keeps_its_prices_until_its_renewal => |store| async move {
        // Seed 000: "existing commitments are honored for the duration of your active
        // billing period", for a plan renewed by invoice too.
        let shop = shop(store, LANDING, Some("free")).await;
        let key = shop.srv.key.clone();
        shop.buy(&key, json!({ "plan_id": "starter" })).await;
        let op = shop.srv.ledger.create_operator_key(None).await.unwrap().secret;
        let dearer: Value = serde_json::from_str(&LANDING.replace(r#""2k": 60"#, r#""2k": 75"#)).unwrap();
        let effective = T0 + 15 * 86_400_000;
        let cards = format!("/admin/v1/workspaces/{}/cards", shop.srv.workspace_id);
        let (s, v) = shop.srv.call("POST", &cards, &op, None, Some(json!({ "card": dearer, "effective_at_ms": effective }))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let image = json!({ "action": "image", "params": { "resolution": "2k" } });
        shop.srv.clock.set(effective + 86_400_000);
        assert_eq!(shop.srv.quote(&key, image.clone()).await.estimate.max_millicredits, 60_000, "the paid period keeps its prices");
        let (_, n) = shop.srv.call("GET", "/v1/price-notice", &key, None, None).await;
        let renews = n["applies_at_ms"].as_i64().expect("a notice");
        assert!(renews > effective, "from the renewal: {n}");
        let sub = shop.last_event("invoice.paid")["data"]["object"]["subscription"].as_str().unwrap().to_string();
        shop.srv.clock.set(renews);
        assert_eq!(shop.test_call(&format!("/_test/renew/{sub}")).await["creditkit_status"], 200);
        assert_eq!(shop.srv.quote(&key, image).await.estimate.max_millicredits, 75_000, "renewed at the new prices");
        let (_, n) = shop.srv.call("GET", "/v1/price-notice", &key, None, None).await;
        assert_eq!(n, Value::Null);
    };
}
