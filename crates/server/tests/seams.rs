//! The seams between features an outside audit tried as an attacker with a browser
//! session would (issue 30): each test fails on the code before its fix, over real HTTP,
//! on both stores, and compares balances and entries before and after a refused call.

mod common;

use common::*;
use creditkit_api::Role;

/// What a refused call must leave as it was: the balance and every entry.
async fn money(srv: &Srv) -> (Value, usize) {
    let (s, b) = srv.call("GET", "/v1/balance", &srv.key, None, None).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let (s, t) = srv
        .call("GET", "/v1/transactions?limit=200", &srv.key, None, None)
        .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    (b, t["items"].as_array().map_or(0, Vec::len))
}

/// What an event stream sends until `what` appears (10 s at most between chunks).
async fn read_until(resp: &mut reqwest::Response, what: &str) -> String {
    let mut text = String::new();
    while !text.contains(what) {
        let chunk = tokio::time::timeout(std::time::Duration::from_secs(10), resp.chunk()).await;
        match chunk {
            Ok(Ok(Some(bytes))) => text.push_str(&String::from_utf8_lossy(&bytes)),
            other => panic!("no `{what}` on the stream (got {text:?}, then {other:?})"),
        }
    }
    text
}

/// The database's quote key (what only the server holds): a test signs claims with it
/// to stand for a quote an earlier engine or a leaked key produced.
async fn quote_key(srv: &Srv) -> Vec<u8> {
    use sqlx::Connection;
    let hex: String = if srv.url.starts_with("postgres") {
        let mut c = sqlx::PgConnection::connect(&srv.url).await.unwrap();
        sqlx::query_scalar("SELECT value FROM secrets WHERE name = 'quote_key'")
            .fetch_one(&mut c)
            .await
            .unwrap()
    } else {
        let path = srv
            .url
            .trim_start_matches("sqlite://")
            .split('?')
            .next()
            .unwrap();
        let c = rusqlite::Connection::open(path).unwrap();
        c.query_row(
            "SELECT value FROM secrets WHERE name = 'quote_key'",
            [],
            |r| r.get(0),
        )
        .unwrap()
    };
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

/// `quote_id` with its claims changed by `change`, signed again with `key`.
fn resign(quote_id: &str, key: &[u8], change: impl FnOnce(&mut Value)) -> String {
    use base64::engine::{general_purpose::URL_SAFE_NO_PAD, Engine};
    use hmac::Mac;
    let mut parts = quote_id.split('.');
    let (id, payload) = (parts.next().unwrap(), parts.next().unwrap());
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap();
    change(&mut claims);
    let signed = format!(
        "{id}.{}",
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap())
    );
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
    mac.update(signed.as_bytes());
    let tag = mac.finalize().into_bytes();
    format!("{signed}.{}", URL_SAFE_NO_PAD.encode(&tag[..16]))
}

both! {
    a_session_cannot_occupy_the_key_the_backend_settles_with => |store| async move {
        let mut srv = start(store).await;
        let wallet = srv.workspace(Some("starter")).await;
        let ann = srv.session("Ann", Role::Member).await;
        let mallory = srv.session("Mallory", Role::Member).await;
        let q = srv.quote(&ann, json!({ "action": "rewrite" })).await;
        let (s, hold) = srv.call("POST", "/v1/holds", &ann, Some("ann-1"), Some(json!({ "quote_id": q.id }))).await;
        assert_eq!(s, StatusCode::OK, "{hold}");
        let hold_id = hold["id"].as_str().unwrap().to_string();
        // Mallory reads the hold id and takes the key the backend will settle with.
        let settle_key = format!("capture-{hold_id}");
        let q2 = srv.quote(&mallory, json!({ "action": "rewrite" })).await;
        let (s, squat) = srv.call("POST", "/v1/holds", &mallory, Some(&settle_key), Some(json!({ "quote_id": q2.id }))).await;
        assert_eq!(s, StatusCode::OK, "{squat}");
        // The backend's capture under that key is its own: it charges Ann's hold.
        let capture = format!("/v1/holds/{hold_id}/capture");
        let (s, v) = srv.call("POST", &capture, &srv.key, Some(&settle_key), Some(json!({}))).await;
        assert_eq!((s, v["status"].as_str()), (StatusCode::OK, Some("captured")), "{v}");
        // Retried, the backend gets its first answer; Mallory's retry, hers.
        let (s2, v2) = srv.call("POST", &capture, &srv.key, Some(&settle_key), Some(json!({}))).await;
        assert_eq!((s2, &v2), (s, &v));
        let (s, again) = srv.call("POST", "/v1/holds", &mallory, Some(&settle_key), Some(json!({ "quote_id": q2.id }))).await;
        assert_eq!((s, &again["id"]), (StatusCode::OK, &squat["id"]));
        // Two members' keys are apart too: Mallory's "ann-1" is not Ann's.
        let q3 = srv.quote(&mallory, json!({ "action": "rewrite" })).await;
        let (s, mine) = srv.call("POST", "/v1/holds", &mallory, Some("ann-1"), Some(json!({ "quote_id": q3.id }))).await;
        assert_eq!(s, StatusCode::OK, "{mine}");
        assert_ne!(mine["id"], hold["id"]);
        // Within one class a key still answers once: Ann reusing hers for another call
        // is a conflict, and changes nothing.
        let before = money(&srv).await;
        let q4 = srv.quote(&ann, json!({ "action": "rewrite" })).await;
        let (s, v) = srv.call("POST", "/v1/holds", &ann, Some("ann-1"), Some(json!({ "quote_id": q4.id }))).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::CONFLICT, Some("idempotency_conflict")), "{v}");
        assert!(v["message"].as_str().unwrap().contains("`ann-1`"), "the key as sent: {v}");
        assert_eq!(money(&srv).await, before);
        srv.ledger.audit(&wallet).await.unwrap();
    };

    only_the_operator_names_who_an_agent_pays => |store| async move {
        let mut srv = start(store).await;
        // The creator's workspace, with the organization wallet its earnings go to.
        srv.workspace_on(KOPAI, None).await;
        let (creator_ws, creator_key) = (srv.workspace_id.clone(), srv.key.clone());
        let (s, org) = srv.call("POST", "/v1/wallets", &creator_key, None, Some(json!({ "kind": "organization" }))).await;
        assert_eq!(s, StatusCode::OK, "{org}");
        let org = org["wallet_id"].as_str().unwrap().to_string();
        // Another customer, whose admin would like the agent's add-ons for themself.
        let wallet = srv.workspace_on(KOPAI, None).await;
        let eve = srv.session("Eve", Role::Admin).await;
        let (s, own) = srv.call("POST", "/v1/wallets", &eve, None, Some(json!({ "kind": "organization" }))).await;
        assert_eq!(s, StatusCode::OK, "{own}");
        let own = own["wallet_id"].as_str().unwrap().to_string();
        let before = money(&srv).await;
        for token in [&eve, &srv.key, &creator_key] {
            let (s, v) = srv.call("PUT", "/v1/agents/seo-writer/payee", token, None, Some(json!({ "wallet_id": own }))).await;
            assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{v}");
        }
        assert_eq!(money(&srv).await, before);
        // The operator names the creator's wallet; not another workspace's under it.
        let op = srv.ledger.create_operator_key(None).await.unwrap().secret;
        let assign = format!("/admin/v1/workspaces/{creator_ws}/agents/seo-writer/payee");
        let (s, v) = srv.call("PUT", &assign, &op, None, Some(json!({ "wallet_id": own }))).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{v}");
        let (s, v) = srv.call("PUT", &assign, &op, None, Some(json!({ "wallet_id": org }))).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
        // Eve's workspace chats with the agent past its free messages: the creator earns.
        let (s, v) = srv.call("POST", "/v1/topups", &srv.key, Some("t"), Some(json!({ "pack_id": "pro" }))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let q = srv.quote(&eve, json!({ "action": "message", "params": { "agent": "seo-writer", "messages_used": 5 }, "quantity": 200 })).await;
        let (s, h) = srv.call("POST", "/v1/holds", &eve, Some("h"), Some(json!({ "quote_id": q.id }))).await;
        assert_eq!(s, StatusCode::OK, "{h}");
        let capture = format!("/v1/holds/{}/capture", h["id"].as_str().unwrap());
        let (s, v) = srv.call("POST", &capture, &srv.key, Some("c"), Some(json!({}))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (_, earned) = srv.call("GET", &format!("/v1/earnings?wallet_id={org}"), &creator_key, None, None).await;
        assert!(earned["pending_millicredits"].as_u64().unwrap() > 0, "{earned}");
        let (_, none) = srv.call("GET", &format!("/v1/earnings?wallet_id={own}"), &eve, None, None).await;
        assert_eq!(none["pending_millicredits"], 0, "{none}");
        srv.ledger.audit(&wallet).await.unwrap();
    };

    invented_methods_add_no_metrics_series => |store| async move {
        let srv = start(store).await;
        let series = |text: &str| text.lines().filter(|l| l.starts_with("creditkit_http_requests_total{")).count();
        let read = || async { srv.http.get(format!("{}/metrics", srv.base)).send().await.unwrap().text().await.unwrap() };
        let before = series(&read().await);
        for i in 0..50 {
            let method = reqwest::Method::from_bytes(format!("INVENTED{i}").as_bytes()).unwrap();
            let resp = srv.http.request(method, format!("{}/v1/balance/{i}", srv.base)).send().await.unwrap();
            assert!(resp.status().is_client_error(), "{}", resp.status());
        }
        let text = read().await;
        // The invented methods are one series (and the metrics read itself one more).
        assert!(series(&text) <= before + 2, "{text}");
        assert!(text.contains("method=\"other\",route=\"unmatched\""), "{text}");
        assert!(!text.contains("INVENTED"), "{text}");
    };

    a_token_in_the_url_only_opens_a_session_s_event_stream => |store| async move {
        let mut srv = start(store).await;
        srv.workspace(Some("free")).await;
        let ann = srv.session("Ann", Role::Member).await;
        let get = |path: String| srv.http.get(format!("{}{path}", srv.base)).send();
        // A session's EventSource: allowed.
        let events = get(format!("/v1/events?access_token={ann}")).await.unwrap();
        assert_eq!(events.status(), StatusCode::OK);
        drop(events);
        // An API key in a URL, or a session's token on any other route: refused.
        for path in [
            format!("/v1/events?access_token={}", srv.key),
            format!("/v1/balance?access_token={ann}"),
            format!("/v1/balance?access_token={}", srv.key),
        ] {
            let resp = get(path.clone()).await.unwrap();
            // The status first: an event stream accepted would never end its body.
            assert_eq!(resp.status(), StatusCode::UNAUTHORIZED, "{path}");
            let body: Value = resp.json().await.unwrap();
            assert_eq!(body["code"].as_str(), Some("unauthorized"), "{path}: {body}");
            assert!(body["message"].as_str().unwrap().contains("access_token"), "{body}");
        }
    };

    a_wallet_has_a_bounded_number_of_caps => |store| async move {
        let mut srv = start(store).await;
        let wallet = srv.workspace(Some("starter")).await;
        let admin = srv.session("Ada", Role::Admin).await;
        for i in 0..50 {
            let (s, v) = srv.call("POST", "/v1/caps", &srv.key, None, Some(json!({ "scope": "project", "subject": format!("p{i}"), "limit_millicredits": 1_000_000, "period": "day" }))).await;
            assert_eq!(s, StatusCode::OK, "{i}: {v}");
        }
        let before = money(&srv).await;
        let (s, v) = srv.call("POST", "/v1/caps", &admin, None, Some(json!({ "scope": "wallet", "limit_millicredits": 1_000, "period": "day" }))).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_param")), "{v}");
        assert!(v["message"].as_str().unwrap().contains("at most 50 caps"), "{v}");
        assert_eq!(money(&srv).await, before);
        let (s, caps) = srv.call("GET", "/v1/caps", &admin, None, None).await;
        assert_eq!((s, caps.as_array().map(Vec::len)), (StatusCode::OK, Some(50)));
        // A hold for one project is checked against that project's cap and no other.
        let (s, q) = srv.call("POST", "/v1/quotes", &admin, None, Some(json!({ "request": { "action": "rewrite" }, "project": "p7" }))).await;
        assert_eq!(s, StatusCode::OK, "{q}");
        let (s, h) = srv.call("POST", "/v1/holds", &admin, Some("h"), Some(json!({ "quote_id": q["id"] }))).await;
        assert_eq!(s, StatusCode::OK, "{h}");
        srv.ledger.audit(&wallet).await.unwrap();
    };

    guessing_tokens_is_limited_before_any_lookup => |store| async move {
        let mut srv = start(store).await; // default limits: 10 failures/s per client, burst 50
        srv.workspace(None).await;
        let (mut unauthorized, mut limited) = (0, 0);
        for i in 0..150 {
            let made_up = match i % 3 {
                0 => format!("ck_ss_{i:064x}"),
                1 => format!("ck_sk_{i:064x}"),
                _ => format!("ck_op_{i:064x}"),
            };
            let path = if i % 3 == 2 { "/admin/v1/workspaces" } else { "/v1/balance" };
            let (s, v) = srv.call("GET", path, &made_up, None, None).await;
            match s {
                StatusCode::UNAUTHORIZED => unauthorized += 1,
                StatusCode::TOO_MANY_REQUESTS => {
                    assert_eq!(v["code"], "rate_limited", "{v}");
                    limited += 1;
                }
                other => panic!("{other}: {v}"),
            }
        }
        assert!((50..=80).contains(&unauthorized), "{unauthorized} looked up");
        assert!(limited >= 70, "{limited} refused before a lookup");
    };

    a_cap_is_removed_only_by_as_high_an_authority => |store| async move {
        let mut srv = start(store).await;
        let wallet = srv.workspace(Some("starter")).await;
        let admin = srv.session("Ada", Role::Admin).await;
        let owner = srv.session("Olu", Role::Owner).await;
        let (_, me) = srv.call("GET", "/v1/me", &admin, None, None).await;
        let cap = |token: String| {
            let srv = &srv;
            let me = me.clone();
            async move {
                let (s, c) = srv.call("POST", "/v1/caps", &token, None, Some(json!({ "scope": "member", "subject": me["member_id"], "limit_millicredits": 5_000, "period": "day" }))).await;
                assert_eq!(s, StatusCode::OK, "{c}");
                format!("/v1/caps/{}", c["id"].as_str().unwrap())
            }
        };
        // The owner's cap on the admin, and the backend's: the admin cannot lift them.
        let by_owner = cap(owner.clone()).await;
        let by_backend = cap(srv.key.clone()).await;
        let before = money(&srv).await;
        for path in [&by_owner, &by_backend] {
            let (s, v) = srv.call("DELETE", path, &admin, None, None).await;
            assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{v}");
        }
        let (s, _) = srv.call("DELETE", &by_backend, &owner, None, None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "an owner is below the backend");
        let (_, caps) = srv.call("GET", "/v1/caps", &admin, None, None).await;
        assert_eq!(caps.as_array().map(Vec::len), Some(2), "both caps stand");
        assert_eq!(money(&srv).await, before);
        // As high or higher removes it; an admin removes an admin's.
        let (s, _) = srv.call("DELETE", &by_owner, &owner, None, None).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (s, _) = srv.call("DELETE", &by_backend, &srv.key, None, None).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let by_admin = cap(admin.clone()).await;
        let (s, _) = srv.call("DELETE", &by_admin, &admin, None, None).await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        srv.ledger.audit(&wallet).await.unwrap();
    };

    a_session_bound_to_a_project_cannot_leave_it => |store| async move {
        let mut srv = start(store).await;
        let wallet = srv.workspace(Some("starter")).await;
        let (s, m) = srv.call("POST", "/v1/members", &srv.key, None, Some(json!({ "name": "Pia", "role": "member" }))).await;
        assert_eq!(s, StatusCode::OK, "{m}");
        let (s, session) = srv.call("POST", "/v1/sessions", &srv.key, None, Some(json!({ "member_id": m["id"], "project": "spring" }))).await;
        assert_eq!((s, session["project"].as_str()), (StatusCode::OK, Some("spring")), "{session}");
        let pia = session["token"].as_str().unwrap().to_string();
        // The spring campaign may spend 2 credits a day.
        let (s, cap) = srv.call("POST", "/v1/caps", &srv.key, None, Some(json!({ "scope": "project", "subject": "spring", "limit_millicredits": 2_000, "period": "day" }))).await;
        assert_eq!(s, StatusCode::OK, "{cap}");
        let before = money(&srv).await;
        // Naming another project is refused; naming none still counts against spring.
        let (s, v) = srv.call("POST", "/v1/quotes", &pia, None, Some(json!({ "request": { "action": "rewrite" }, "project": "autumn" }))).await;
        assert_eq!((s, v["path"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("project")), "{v}");
        assert_eq!(money(&srv).await, before);
        let mut held = 0;
        for i in 0..3 {
            let (s, q) = srv.call("POST", "/v1/quotes", &pia, None, Some(json!({ "request": { "action": "rewrite" } }))).await;
            assert_eq!(s, StatusCode::OK, "{q}");
            let (s, h) = srv.call("POST", "/v1/holds", &pia, Some(&format!("h{i}")), Some(json!({ "quote_id": q["id"] }))).await;
            match s {
                StatusCode::OK => held += 1,
                StatusCode::PAYMENT_REQUIRED => assert_eq!(h["code"], "cap_exceeded", "{h}"),
                other => panic!("{other}: {h}"),
            }
        }
        assert_eq!(held, 2, "the project's cap applied without the page naming it");
        srv.ledger.audit(&wallet).await.unwrap();
    };

    webhooks_go_to_public_addresses_unless_the_operator_allows => |store| async move {
        // A server as configured by default (the other tests allow local receivers).
        let url = fresh_url(store).await;
        let srv = start_config(&url, RateLimits::default(), Config::default()).await;
        let op = srv.ledger.create_operator_key(None).await.unwrap().secret;
        for target in ["http://127.0.0.1:9/hook", "http://localhost/hook", "http://10.1.2.3/hook",
                       "http://169.254.169.254/latest/meta-data", "http://[::1]:8080/hook", "http://192.168.0.7/x",
                       "http://[::ffff:127.0.0.1]/hook", "https://user@172.16.0.1:443/hook"] {
            let (s, v) = srv.call("POST", "/admin/v1/webhooks", &op, None, Some(json!({ "url": target }))).await;
            assert_eq!((s, v["path"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("url")), "{target}: {v}");
        }
        let (_, list) = srv.call("GET", "/admin/v1/webhooks", &op, None, None).await;
        assert_eq!(list.as_array().map(Vec::len), Some(0), "nothing was registered: {list}");
        let (s, v) = srv.call("POST", "/admin/v1/webhooks", &op, None, Some(json!({ "url": "https://hooks.example.com/creditkit" }))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
    };

    an_event_stream_ends_with_its_session_and_a_session_has_few => |store| async move {
        let mut srv = start(store).await;
        srv.workspace(Some("free")).await;
        let (_, m) = srv.call("POST", "/v1/members", &srv.key, None, Some(json!({ "name": "Sid", "role": "member" }))).await;
        let (s, session) = srv.call("POST", "/v1/sessions", &srv.key, None, Some(json!({ "member_id": m["id"] }))).await;
        assert_eq!(s, StatusCode::OK, "{session}");
        let token = session["token"].as_str().unwrap().to_string();
        let open = || srv.http.get(format!("{}/v1/events", srv.base)).bearer_auth(&token).send();
        let mut stream = open().await.unwrap();
        assert_eq!(stream.status(), StatusCode::OK);
        read_until(&mut stream, "event: balance").await;
        // A session holds a few streams at once, not any number.
        let mut more = Vec::new();
        for _ in 1..creditkit_server::STREAMS_PER_SESSION {
            let r = open().await.unwrap();
            assert_eq!(r.status(), StatusCode::OK);
            more.push(r);
        }
        let refused = open().await.unwrap();
        assert_eq!(refused.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(refused.json::<Value>().await.unwrap()["code"], "rate_limited");
        drop(more);
        // Revoked, the session's open stream ends at the next change, with `end`, and
        // is told nothing of it.
        let (s, v) = srv.call("DELETE", &format!("/v1/sessions/{}", session["id"].as_str().unwrap()), &srv.key, None, None).await;
        assert!(s.is_success(), "{s} {v}");
        let (s, v) = srv.call("POST", "/v1/grants", &srv.key, Some("g"), Some(json!({ "amount_millicredits": 5_000, "reason": "after the revocation" }))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let tail = read_until(&mut stream, "event: end").await;
        assert!(tail.contains("unauthorized"), "{tail}");
        assert!(!tail.contains("event: balance"), "no balance after the revocation: {tail}");
    };

    free_messages_are_counted_once_per_member_however_they_are_confirmed => |store| async move {
        let mut srv = start(store).await;
        let wallet = srv.workspace_on(KOPAI, None).await;
        let (s, v) = srv.call("POST", "/v1/topups", &srv.key, Some("t"), Some(json!({ "pack_id": "pro" }))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let ada = srv.session("Ada", Role::Admin).await;
        // The SEO Writer gives 5 free messages; the page claims each is the first.
        let message = |wallet: Option<&str>| json!({ "request": { "action": "message", "params": { "agent": "seo-writer", "messages_used": 0, "input_tokens": 10 } }, "wallet_id": wallet });
        let quote = |body: Value| { let srv = &srv; let ada = ada.clone(); async move {
            let (s, q) = srv.call("POST", "/v1/quotes", &ada, None, Some(body)).await;
            assert_eq!(s, StatusCode::OK, "{q}");
            q
        } };
        // Six quotes before any is confirmed: each is free (nothing is used yet).
        let mut early = Vec::new();
        for _ in 0..6 {
            let q = quote(message(None)).await;
            assert_eq!(q["hold_millicredits"], 0, "{q}");
            early.push(q["id"].as_str().unwrap().to_string());
        }
        let (s, first) = srv.call("POST", "/v1/holds", &ada, Some("h0"), Some(json!({ "quote_id": early[0] }))).await;
        assert_eq!(s, StatusCode::OK, "{first}");
        // The next, priced with the same count, must quote again: no free message twice.
        let before = money(&srv).await;
        for (i, id) in early.iter().enumerate().skip(1) {
            let (s, v) = srv.call("POST", "/v1/holds", &ada, Some(&format!("early-{i}")), Some(json!({ "quote_id": id }))).await;
            assert_eq!((s.as_u16(), v["code"].as_str()), (410, Some("quote_expired")), "{v}");
        }
        assert_eq!(money(&srv).await, before);
        // Confirmed one at a time: four more are free, the sixth is not.
        let mut free = 1;
        for i in 1..6 {
            let q = quote(message(None)).await;
            if q["hold_millicredits"] != 0 {
                break;
            }
            let (s, h) = srv.call("POST", "/v1/holds", &ada, Some(&format!("h{i}")), Some(json!({ "quote_id": q["id"] }))).await;
            assert_eq!(s, StatusCode::OK, "{h}");
            free += 1;
        }
        assert_eq!(free, 5);
        assert!(quote(message(None)).await["hold_millicredits"].as_u64().unwrap() > 0);
        // A released message gives its place back.
        let (s, v) = srv.call("POST", &format!("/v1/holds/{}/release", first["id"].as_str().unwrap()), &srv.key, Some("r0"), Some(json!({}))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(quote(message(None)).await["hold_millicredits"], 0, "the released place is free again");
        // A new wallet is no new allowance.
        let (s, org) = srv.call("POST", "/v1/wallets", &ada, None, Some(json!({ "kind": "organization" }))).await;
        assert_eq!(s, StatusCode::OK, "{org}");
        let (s, q) = srv.call("POST", "/v1/holds", &ada, Some("h-again"), Some(json!({ "quote_id": quote(message(None)).await["id"] }))).await;
        assert_eq!(s, StatusCode::OK, "{q}");
        let elsewhere = quote(message(org["wallet_id"].as_str())).await;
        assert!(elsewhere["hold_millicredits"].as_u64().unwrap() > 0, "{elsewhere}");
        srv.ledger.audit(&wallet).await.unwrap();
    };

    a_hold_reserves_the_maximum_priced_again_not_the_claim => |store| async move {
        let mut srv = start(store).await;
        let wallet = srv.workspace(Some("starter")).await;
        let ann = srv.session("Ann", Role::Member).await;
        let q = srv.quote(&ann, json!({ "action": "image", "params": { "resolution": "2k" } })).await;
        assert!(q.estimate.max_millicredits > 1_000, "{q:?}");
        // The same request, its claim of a maximum made 1 mc (a quote an older engine
        // priced, or a leaked key signed): never confirmed at that.
        let key = quote_key(&srv).await;
        let cheap = resign(&q.id, &key, |c| {
            assert_eq!(c["x"].as_u64(), Some(q.estimate.max_millicredits), "the claimed maximum: {c}");
            c["x"] = json!(1);
        });
        let before = money(&srv).await;
        let (s, v) = srv.call("POST", "/v1/holds", &ann, Some("cheap"), Some(json!({ "quote_id": cheap }))).await;
        assert_eq!((s.as_u16(), v["code"].as_str()), (410, Some("quote_expired")), "{v}");
        assert_eq!(money(&srv).await, before);
        // The claim as the server made it, signed again, is confirmed: the maximum is held.
        let same = resign(&q.id, &key, |_| {});
        let (s, h) = srv.call("POST", "/v1/holds", &ann, Some("same"), Some(json!({ "quote_id": same }))).await;
        assert_eq!(s, StatusCode::OK, "{h}");
        assert_eq!(h["amount_millicredits"].as_u64(), Some(q.estimate.max_millicredits), "{h}");
        srv.ledger.audit(&wallet).await.unwrap();
    };

    a_quiet_event_stream_ends_when_its_credential_does => |store| async move {
        let url = fresh_url(store).await;
        let every = std::time::Duration::from_millis(200);
        let mut srv = start_state(&url, Config::default(), |l| AppState::new(l).with_stream_recheck(every)).await;
        srv.workspace(Some("free")).await;
        let ws = srv.workspace_id.clone();
        let open = |token: String| srv.http.get(format!("{}/v1/events", srv.base)).bearer_auth(token).send();
        // Revoked, with no change to the wallet: the stream ends at its next re-check.
        let (_, m) = srv.call("POST", "/v1/members", &srv.key, None, Some(json!({ "name": "Sid", "role": "member" }))).await;
        let (s, session) = srv.call("POST", "/v1/sessions", &srv.key, None, Some(json!({ "member_id": m["id"] }))).await;
        assert_eq!(s, StatusCode::OK, "{session}");
        let mut stream = open(session["token"].as_str().unwrap().to_string()).await.unwrap();
        read_until(&mut stream, "event: balance").await;
        let (s, v) = srv.call("DELETE", &format!("/v1/sessions/{}", session["id"].as_str().unwrap()), &srv.key, None, None).await;
        assert!(s.is_success(), "{s} {v}");
        let tail = read_until(&mut stream, "event: end").await;
        assert!(tail.contains("unauthorized"), "{tail}");
        // A suspended workspace: its members' streams end the same way.
        let ann = srv.session("Ann", Role::Member).await;
        let mut stream = open(ann).await.unwrap();
        read_until(&mut stream, "event: balance").await;
        let op = srv.ledger.create_operator_key(None).await.unwrap().secret;
        let (s, v) = srv.call("POST", &format!("/admin/v1/workspaces/{ws}/suspend"), &op, None, Some(json!({}))).await;
        assert!(s.is_success(), "{s} {v}");
        let tail = read_until(&mut stream, "event: end").await;
        assert!(!tail.contains("event: balance"), "{tail}");
    };
}
