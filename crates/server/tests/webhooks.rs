//! creditkit's own webhooks, received by a real local HTTP server: each event signed
//! with the endpoint's secret, retried with backoff after failures (every attempt
//! listed), filtered by type and workspace. On SQLite and PostgreSQL.

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode as Status};
use axum::routing::post;
use common::*;
use creditkit_api::admin::{DeliveryStatus, Event, EventRecord, EventType};
use creditkit_api::{Page, Role};
use creditkit_server::signing;

/// What a receiver got: (signature header, body), and how many more times to fail.
#[derive(Default)]
struct Inbox {
    got: Vec<(String, String)>,
    fail_next: u32,
}

async fn receive(
    State(inbox): State<Arc<Mutex<Inbox>>>,
    headers: HeaderMap,
    body: String,
) -> Status {
    let mut i = inbox.lock().unwrap();
    if i.fail_next > 0 {
        i.fail_next -= 1;
        return Status::SERVICE_UNAVAILABLE;
    }
    let sig = headers
        .get("creditkit-signature")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    i.got.push((sig, body));
    Status::OK
}

async fn receiver() -> (String, Arc<Mutex<Inbox>>) {
    let inbox = Arc::new(Mutex::new(Inbox::default()));
    let app = axum::Router::new()
        .route("/hook", post(receive))
        .with_state(inbox.clone());
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", socket.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });
    (url, inbox)
}

async fn wait_for(inbox: &Arc<Mutex<Inbox>>, n: usize) -> Vec<(String, String)> {
    for _ in 0..200 {
        if inbox.lock().unwrap().got.len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    inbox.lock().unwrap().got.clone()
}

/// A receiver that answers every delivery with a redirect to `to`.
async fn redirecting_receiver(to: String) -> String {
    let app = axum::Router::new().route(
        "/hook",
        post(move || {
            let to = to.clone();
            async move { (Status::FOUND, [(axum::http::header::LOCATION, to)]) }
        }),
    );
    let socket = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", socket.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(socket, app).await.unwrap() });
    url
}

both! {
    a_delivery_never_follows_a_redirect => |store| async move {
        // Issue 30, item 14: the target is what the operator registered, nothing else.
        let mut srv = start(store).await;
        let _worker = creditkit_server::spawn_delivery_worker(srv.ledger.clone());
        srv.workspace(None).await;
        let operator = srv.ledger.create_operator_key(None).await.unwrap().secret;
        let (elsewhere, inbox) = receiver().await;
        let url = redirecting_receiver(elsewhere).await;
        let (s, created) = srv.call("POST", "/admin/v1/webhooks", &operator, None, Some(json!({ "url": url, "events": ["grant.added"] }))).await;
        assert_eq!(s, StatusCode::OK, "{created}");
        srv.call("POST", "/v1/grants", &srv.key, Some("g"), Some(json!({ "amount_millicredits": 1_000, "reason": "start" }))).await;
        let mut attempts = Vec::new();
        for _ in 0..200 {
            let (_, page) = srv.call("GET", "/admin/v1/events", &operator, None, None).await;
            let page: Page<EventRecord> = serde_json::from_value(page).unwrap();
            attempts = page.items.iter().flat_map(|r| r.deliveries.iter().flat_map(|d| d.attempts.iter().map(|a| a.status_code))).collect();
            if !attempts.is_empty() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        assert_eq!(attempts, vec![Some(302)], "the redirect is the answer, and a failure");
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(inbox.lock().unwrap().got.is_empty(), "the redirect's target was never called");
    };

    events_arrive_signed_once_each_and_failures_are_retried => |store| async move {
        let mut srv = start(store).await;
        let _worker = creditkit_server::spawn_delivery_worker(srv.ledger.clone());
        let wallet = srv.workspace(None).await;
        let operator = srv.ledger.create_operator_key(None).await.unwrap().secret;
        let (url, inbox) = receiver().await;
        // Only this workspace's money events, on one endpoint.
        let types = ["grant.added", "hold.created", "charge.captured", "hold.released", "balance.low", "balance.critical", "balance.empty"];
        let (s, created) = srv.call("POST", "/admin/v1/webhooks", &operator, None, Some(json!({ "url": url, "events": types, "workspace_id": srv.workspace_id }))).await;
        assert_eq!(s, StatusCode::OK, "{created}");
        let secret = created["secret"].as_str().unwrap().to_string();
        assert!(secret.starts_with("whsec_"));
        // Another workspace's events never reach it.
        let mut other = start_on(&srv.url).await;
        other.base = srv.base.clone();
        other.workspace(Some("starter")).await;

        // 120 credits; a member spends 110 of them: low (< 100), then critical (<= 10).
        srv.call("POST", "/v1/grants", &srv.key, Some("g"), Some(json!({ "amount_millicredits": 120_000, "reason": "start" }))).await;
        let member = srv.session("Ann", Role::Member).await;
        for (i, action) in [("1", json!({ "action": "section", "quantity": 11 }))] {
            let q = srv.quote(&member, action).await;
            let (_, h) = srv.call("POST", "/v1/holds", &member, Some(i), Some(json!({ "quote_id": q.id }))).await;
            let (s, v) = srv.call("POST", &format!("/v1/holds/{}/capture", h["id"].as_str().unwrap()), &srv.key, Some("c"), Some(json!({}))).await;
            assert_eq!(s, StatusCode::OK, "{v}");
        }
        let got = wait_for(&inbox, 4).await;
        let now_s = srv.ledger.now_ms() / 1000;
        let mut kinds = Vec::new();
        let mut ids = std::collections::BTreeSet::new();
        for (sig, body) in &got {
            signing::verify(&secret, Some(sig), body.as_bytes(), now_s).expect("signed with the endpoint's secret");
            assert!(signing::verify("whsec_d3Jvbmc=", Some(sig), body.as_bytes(), now_s).is_err());
            let e: Event = serde_json::from_str(body).unwrap();
            assert_eq!(e.workspace_id, srv.workspace_id);
            assert!(ids.insert(e.id.clone()), "one delivery per event");
            kinds.push(e.kind);
        }
        // Delivered concurrently: order is not promised (as with Stripe), ids are.
        kinds.sort();
        assert_eq!(kinds, vec![EventType::BalanceCritical, EventType::HoldCreated, EventType::ChargeCaptured, EventType::GrantAdded], "{got:?}");

        // The endpoint fails twice: the event is retried with backoff, then delivered.
        inbox.lock().unwrap().fail_next = 2;
        srv.call("POST", "/v1/grants", &srv.key, Some("g2"), Some(json!({ "amount_millicredits": 1_000, "reason": "more" }))).await;
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(inbox.lock().unwrap().got.len(), 4, "not yet: the first attempt failed");
        srv.clock.advance(10_000); // the first retry is due after 10 s
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert_eq!(inbox.lock().unwrap().got.len(), 4, "the second attempt failed too");
        srv.clock.advance(20_000); // then 20 s
        let got = wait_for(&inbox, 5).await;
        assert_eq!(got.len(), 5);
        // The listing shows the attempts (the worker records each after its answer).
        let mut latest = None;
        for _ in 0..100 {
            let (s, page) = srv.call("GET", &format!("/admin/v1/events?workspace_id={}", srv.workspace_id), &operator, None, None).await;
            assert_eq!(s, StatusCode::OK);
            let page: Page<EventRecord> = serde_json::from_value(page).unwrap();
            let first = page.items[0].clone();
            if first.deliveries[0].status == DeliveryStatus::Delivered {
                latest = Some(first);
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let latest = latest.expect("the third attempt is recorded as delivered");
        assert_eq!(latest.event.kind, EventType::GrantAdded);
        let d = &latest.deliveries[0];
        assert_eq!(d.attempts.iter().map(|a| a.status_code).collect::<Vec<_>>(), vec![Some(503), Some(503), Some(200)]);
        // The other workspace's events are listed, delivered nowhere.
        let (_, page) = srv.call("GET", &format!("/admin/v1/events?workspace_id={}", other.workspace_id), &operator, None, None).await;
        let page: Page<EventRecord> = serde_json::from_value(page).unwrap();
        assert!(!page.items.is_empty() && page.items.iter().all(|r| r.deliveries.is_empty()), "{page:?}");
        // Browser and backend credentials cannot see or change endpoints.
        let (s, _) = srv.call("GET", "/admin/v1/webhooks", &srv.key, None, None).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        srv.ledger.audit(&wallet).await.unwrap();
    };
}

#[test]
fn backoff_doubles_to_an_hour_and_a_day_holds_about_thirty_attempts() {
    let waits: Vec<i64> = (1..=8).map(creditkit_ledger::backoff_ms).collect();
    assert_eq!(
        waits,
        vec![10_000, 20_000, 40_000, 80_000, 160_000, 320_000, 640_000, 1_280_000]
    );
    assert_eq!(creditkit_ledger::backoff_ms(30), 3_600_000);
    let mut t = 0;
    let mut attempts = 1;
    while t + creditkit_ledger::backoff_ms(attempts) < creditkit_ledger::DELIVERY_WINDOW_MS {
        t += creditkit_ledger::backoff_ms(attempts);
        attempts += 1;
    }
    assert!((25..=35).contains(&attempts), "{attempts}");
}
