//! The API over real HTTP on a real socket, against SQLite and PostgreSQL.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use creditkit_api::{BalanceEvent, Hold, Role};

both! {
    hundreds_of_parallel_holds_never_overspend => |store| async move {
        let mut srv = start(store).await;
        let wallet = srv.workspace(None).await;
        let (s, v) = srv.call("POST", "/v1/grants", &srv.key, Some("seed"), Some(json!({ "amount_millicredits": 100_000, "reason": "seed" }))).await; // 100 credits
        assert_eq!(s, StatusCode::OK, "{v}");
        let srv = Arc::new(srv);
        let mut tasks = Vec::new();
        for i in 0..300 {
            let srv = srv.clone();
            tasks.push(tokio::spawn(async move {
                let q = srv.quote(&srv.key, json!({ "action": "rewrite" })).await; // 1 credit
                let (s, v) = srv.call("POST", "/v1/holds", &srv.key, Some(&format!("hold-{i}")), Some(json!({ "quote_id": q.id }))).await;
                // A retry of the same call must not hold twice.
                let (s2, v2) = srv.call("POST", "/v1/holds", &srv.key, Some(&format!("hold-{i}")), Some(json!({ "quote_id": q.id }))).await;
                assert_eq!((s, &v), (s2, &v2), "retry returns the first result");
                (s, v)
            }));
        }
        let mut ok = 0;
        let mut refused = 0;
        for t in tasks {
            let (s, v) = t.await.unwrap();
            match s {
                StatusCode::OK => ok += 1,
                StatusCode::PAYMENT_REQUIRED => {
                    assert_eq!(v["code"], "insufficient_credits");
                    assert_eq!(v["shortfall"]["required_millicredits"], 1000);
                    refused += 1;
                }
                other => panic!("unexpected {other}: {v}"),
            }
        }
        assert_eq!((ok, refused), (100, 200));
        let b = srv.balance(&srv.key).await;
        assert_eq!((b.balance_millicredits, b.held_millicredits, b.available_millicredits), (100_000, 100_000, 0));
        srv.ledger.audit(&wallet).await.unwrap();
    };

    two_hundred_parallel_holds_meet_a_member_cap_exactly => |store| async move {
        let url = fresh_url(store).await;
        let off = creditkit_server::Rate { per_second: 0, burst: 0 };
        let mut srv = start_with(&url, RateLimits { session: off, workspace: off, failures: off }).await;
        let wallet = srv.workspace(Some("starter")).await; // 1,000 credits
        let ann = srv.session("Ann", Role::Member).await;
        let (_, me) = srv.call("GET", "/v1/me", &ann, None, None).await;
        let (s, cap) = srv.call("POST", "/v1/caps", &srv.key, None, Some(json!({ "scope": "member", "subject": me["member_id"], "limit_millicredits": 50_000, "period": "month" }))).await;
        assert_eq!(s, StatusCode::OK, "{cap}");
        let srv = Arc::new(srv);
        let mut tasks = Vec::new();
        for i in 0..200 {
            let (srv, ann) = (srv.clone(), ann.clone());
            tasks.push(tokio::spawn(async move {
                let q = srv.quote(&ann, json!({ "action": "rewrite" })).await; // 1 credit
                srv.call("POST", "/v1/holds", &ann, Some(&format!("h{i}")), Some(json!({ "quote_id": q.id }))).await
            }));
        }
        let (mut ok, mut capped) = (0, 0);
        for t in tasks {
            let (s, v) = t.await.unwrap();
            match s {
                StatusCode::OK => ok += 1,
                StatusCode::PAYMENT_REQUIRED => {
                    assert_eq!(v["code"], "cap_exceeded", "{v}");
                    assert_eq!(v["cap"]["id"], cap["id"]);
                    capped += 1;
                }
                other => panic!("unexpected {other}: {v}"),
            }
        }
        assert_eq!((ok, capped), (50, 150), "exactly the cap's worth of holds");
        let b = srv.balance(&srv.key).await;
        assert_eq!(b.held_millicredits, 50_000);
        let (_, caps) = srv.call("GET", "/v1/caps", &ann, None, None).await;
        assert_eq!((caps[0]["reserved_millicredits"].as_u64(), caps[0]["left_millicredits"].as_u64()), (Some(50_000), Some(0)));
        srv.ledger.audit(&wallet).await.unwrap();
    };

    errors_are_json_with_stable_codes_and_change_nothing => |store| async move {
        let mut srv = start(store).await;
        let wallet = srv.workspace(Some("free")).await;
        let k = srv.key.clone();
        let before = srv.balance(&k).await;
        // Malformed JSON, wrong shape, missing key, unknown ids, too large.
        let resp = srv.http.post(format!("{}/v1/quotes", srv.base)).bearer_auth(&k).header("content-type", "application/json").body("{\"request\":").send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::BAD_REQUEST);
        assert_eq!(resp.json::<Value>().await.unwrap()["code"], "invalid_request");
        let (s, v) = srv.call("POST", "/v1/quotes", &k, None, Some(json!({ "request": { "action": "image" } }))).await;
        assert_eq!((s, v["code"].as_str(), v["path"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("missing_param"), Some("request.params.resolution")));
        let (s, v) = srv.call("POST", "/v1/quotes", &k, None, Some(json!({ "request": { "action": "rewrite", "quantity": -1 } }))).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        let (s, v) = srv.call("POST", "/v1/holds", &k, None, Some(json!({ "quote_id": "quo_x" }))).await;
        assert_eq!((s, v["path"].as_str()), (StatusCode::BAD_REQUEST, Some("Idempotency-Key")));
        let (s, _) = srv.call("POST", "/v1/holds", &k, Some("a"), Some(json!({ "quote_id": "quo_x" }))).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _) = srv.call("POST", "/v1/holds/hld_x/capture", &k, Some("b"), Some(json!({ "amount_millicredits": 1 }))).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, v) = srv.call("POST", "/v1/holds/hld_x/capture", &k, Some("b2"), Some(json!({ "amount_millicredits": -5 }))).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        let big = json!({ "request": { "action": "x".repeat(2 << 20) } });
        // The server answers 413 before reading the whole body and then closes
        // that connection, so send it on a connection nothing else reuses.
        let once = reqwest::Client::builder().pool_max_idle_per_host(0).build().unwrap();
        let resp = once.post(format!("{}/v1/quotes", srv.base)).bearer_auth(&k).json(&big).send().await.unwrap();
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(resp.json::<Value>().await.unwrap()["code"], "payload_too_large");
        let (s, _) = srv.call("GET", "/v1/balance", "ck_key_wrong", None, None).await;
        assert_eq!(s, StatusCode::UNAUTHORIZED);
        let (s, v) = srv.call("GET", "/v1/transactions?type=bogus", &k, None, None).await;
        assert_eq!(s, StatusCode::BAD_REQUEST, "{v}");
        // Insufficient: 402 with what is missing and what covers it.
        let q = srv.quote(&k, json!({ "action": "landing_page", "params": { "sections": 30 } })).await;
        let (s, v) = srv.call("POST", "/v1/holds", &k, Some("big"), Some(json!({ "quote_id": q.id }))).await;
        assert_eq!(s, StatusCode::PAYMENT_REQUIRED);
        assert_eq!((v["shortfall"]["shortfall_millicredits"].as_u64(), v["shortfall"]["plan"]["id"].as_str()), (Some(50_000), Some("starter")));
        // Capture above the hold: 422; same key, other body: 409.
        let q = srv.quote(&k, json!({ "action": "image", "params": { "resolution": "1k" } })).await;
        let (s, h) = srv.call("POST", "/v1/holds", &k, Some("h1"), Some(json!({ "quote_id": q.id }))).await;
        assert_eq!(s, StatusCode::OK);
        let hold: Hold = serde_json::from_value(h).unwrap();
        let (s, v) = srv.call("POST", &format!("/v1/holds/{}/capture", hold.id), &k, Some("c1"), Some(json!({ "amount_millicredits": 30_001 }))).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("capture_exceeds_hold")));
        let q2 = srv.quote(&k, json!({ "action": "rewrite" })).await;
        let (s, v) = srv.call("POST", "/v1/holds", &k, Some("h1"), Some(json!({ "quote_id": q2.id }))).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("idempotency_conflict")));
        // Expired quote: 410.
        let q = srv.quote(&k, json!({ "action": "rewrite" })).await;
        srv.clock.advance(srv.ledger.config().quote_ttl_ms + 1);
        let (s, v) = srv.call("POST", "/v1/holds", &k, Some("late"), Some(json!({ "quote_id": q.id }))).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::GONE, Some("quote_expired")));
        let after = srv.balance(&k).await;
        assert_eq!(after.balance_millicredits, before.balance_millicredits);
        // Another workspace's ids are not found, never forbidden.
        let mut other = start_on(&srv.url).await;
        other.workspace(Some("free")).await;
        let (s, _) = other.call("GET", &format!("/v1/balance?wallet_id={wallet}"), &other.key, None, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, _) = other.call("POST", &format!("/v1/holds/{}/release", hold.id), &other.key, Some("r"), None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        srv.ledger.audit(&wallet).await.unwrap();
    };

    balance_events_stream_every_change_to_every_member => |store| async move {
        let mut srv = start(store).await;
        srv.workspace(Some("free")).await;
        let alice = srv.session("Alice", Role::Member).await;
        let bob = srv.session("Bob", Role::Member).await;
        // Bob watches (EventSource passes the token in the query).
        let mut events = srv.http.get(format!("{}/v1/events?access_token={bob}", srv.base)).send().await.unwrap();
        assert_eq!(events.status(), StatusCode::OK);
        let first = next_balance(&mut events).await;
        assert_eq!(first.balance.available_millicredits, 250_000);
        // Alice spends.
        let q = srv.quote(&alice, json!({ "action": "image", "params": { "resolution": "2k" } })).await;
        let (_, h) = srv.call("POST", "/v1/holds", &alice, Some("h"), Some(json!({ "quote_id": q.id }))).await;
        let held = next_balance(&mut events).await;
        assert_eq!(held.balance.available_millicredits, 190_000);
        // The backend settles it.
        srv.call("POST", &format!("/v1/holds/{}/capture", h["id"].as_str().unwrap()), &srv.key, Some("c"), Some(json!({ "amount_millicredits": 60_000 }))).await;
        let charged = next_balance(&mut events).await;
        assert_eq!((charged.balance.balance_millicredits, charged.balance.held_millicredits), (190_000, 0));
    };

    openapi_and_health_are_served => |store| async move {
        let srv = start(store).await;
        let doc: Value = srv.http.get(format!("{}/v1/openapi.json", srv.base)).send().await.unwrap().json().await.unwrap();
        assert_eq!(doc["openapi"], "3.1.0");
        for path in ["/v1/earnings", "/v1/payouts", "/v1/wallets", "/v1/holds/{id}/refund", "/v1/quotes", "/v1/holds", "/v1/holds/{id}/capture", "/v1/holds/{id}/release", "/v1/balance", "/v1/topups", "/v1/usage", "/v1/transactions", "/v1/events", "/v1/members"] {
            assert!(doc["paths"][path].is_object(), "{path} documented");
        }
        let health = srv.http.get(format!("{}/healthz", srv.base)).send().await.unwrap();
        assert_eq!(health.status(), StatusCode::OK);
        assert!(health.headers()["x-request-id"].to_str().unwrap().starts_with("req_"), "every answer names its request");
        let traced = srv.http.get(format!("{}/healthz", srv.base)).header("x-request-id", "trace-42").send().await.unwrap();
        assert_eq!(traced.headers()["x-request-id"], "trace-42", "a caller's request id is kept");
        let metrics = srv.http.get(format!("{}/metrics", srv.base)).send().await.unwrap().text().await.unwrap();
        assert!(metrics.contains("creditkit_http_requests_total{method=\"GET\",route=\"/v1/openapi.json\",status=\"200\"} 1"), "{metrics}");
    };
}

/// Reads SSE chunks until one `balance` event is complete.
async fn next_balance(resp: &mut reqwest::Response) -> BalanceEvent {
    let mut buf = String::new();
    loop {
        let chunk = tokio::time::timeout(Duration::from_secs(10), resp.chunk())
            .await
            .expect("an event within 10 s")
            .unwrap()
            .expect("stream open");
        buf.push_str(&String::from_utf8_lossy(&chunk));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            if block.contains("event: balance") {
                let data: String = block
                    .lines()
                    .filter_map(|l| l.strip_prefix("data: "))
                    .collect();
                return serde_json::from_str(&data).unwrap();
            }
        }
    }
}

/// Two server instances on one PostgreSQL database: a change made through one is
/// streamed by the other (LISTEN/NOTIFY).
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_instances_share_balance_events() {
    let mut a = start(Store::Postgres).await;
    a.workspace(Some("free")).await;
    let b = start_on(&a.url).await;
    let mut events = b
        .http
        .get(format!("{}/v1/events", b.base))
        .bearer_auth(&a.key)
        .send()
        .await
        .unwrap();
    assert_eq!(
        next_balance(&mut events)
            .await
            .balance
            .available_millicredits,
        250_000
    );
    let q = a.quote(&a.key, json!({ "action": "section" })).await;
    let (s, _) = a
        .call(
            "POST",
            "/v1/holds",
            &a.key,
            Some("h"),
            Some(json!({ "quote_id": q.id })),
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        next_balance(&mut events)
            .await
            .balance
            .available_millicredits,
        240_000
    );
}
