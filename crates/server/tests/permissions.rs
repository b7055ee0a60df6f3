//! The permission table, walked over HTTP for every kind of caller: the operator key,
//! the workspace API key, owner / admin / member / viewer sessions, a session narrowed
//! to reading, another workspace's API key and session, an expired session, a revoked
//! session, a revoked key, a made-up token and none at all. Each call expects exactly
//! what `creditkit_api::permits` says; every refused call changes nothing (balances,
//! entries, members, keys, card versions and thresholds of both workspaces compared).

#[path = "permissions/cases.rs"]
mod cases;
mod common;

use cases::{cases, Case, Needs};
use common::*;
use creditkit_api::{Actor, Op, Role};
use creditkit_server::Rate;

/// Who calls.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Caller {
    Operator,
    ApiKey,
    Session(Role),
    ReadOnlySession,
    OtherApiKey,
    OtherSession,
    ExpiredSession,
    RevokedSession,
    RevokedKey,
    MadeUp,
    Nobody,
}

const CALLERS: [Caller; 14] = [
    Caller::Operator,
    Caller::ApiKey,
    Caller::Session(Role::Owner),
    Caller::Session(Role::Admin),
    Caller::Session(Role::Member),
    Caller::Session(Role::Viewer),
    Caller::ReadOnlySession,
    Caller::OtherApiKey,
    Caller::OtherSession,
    Caller::ExpiredSession,
    Caller::RevokedSession,
    Caller::RevokedKey,
    Caller::MadeUp,
    Caller::Nobody,
];

/// Everything a refused call must leave as it was, for both workspaces.
async fn snapshot(srv: &Srv, workspaces: &[String]) -> Value {
    let mut out = Vec::new();
    for ws in workspaces {
        let op = Principal::operator(ws);
        let w = srv.ledger.workspace(ws).await.unwrap();
        let b = srv.ledger.balance(&op, None).await.unwrap();
        let tx = srv
            .ledger
            .transactions(&op, None, None, None, Some(200))
            .await
            .unwrap();
        let members = srv.ledger.members(&op).await.unwrap();
        let keys = srv.ledger.api_keys(&op).await.unwrap();
        let cards = srv.ledger.card_versions(&op).await.unwrap();
        out.push(json!({
            "workspace": w, "balance": [b.balance_millicredits, b.held_millicredits],
            "entries": tx.items.iter().map(|t| t.seq).collect::<Vec<_>>(),
            "members": members, "keys": keys.iter().map(|k| (&k.id, k.revoked_at_ms)).collect::<Vec<_>>(),
            "cards": cards.len(),
        }));
    }
    Value::Array(out)
}

struct World {
    tokens: Vec<(Caller, Option<String>)>,
    other_ws: String,
    wallet: String,
}

async fn world(srv: &mut Srv) -> World {
    // The landing card sells plans only; the walk's workspace also sells a pack.
    let card = LANDING.replacen(
        r#""actions": ["#,
        r#""packs": [{ "id": "custom_100", "name": "100 credits", "credits": 100, "price": "10" }], "actions": ["#,
        1,
    );
    let wallet = srv.workspace_on(&card, Some("starter")).await; // 1,000 credits
    let other = srv
        .ledger
        .create_workspace(&Principal::operator(""), "Other", LANDING, Some("starter"))
        .await
        .unwrap();
    let other_key = srv
        .ledger
        .create_api_key(&Principal::operator(&other.id), None)
        .await
        .unwrap()
        .secret;
    let other_session = {
        let mut o = start_on(&srv.url).await;
        o.key = other_key.clone();
        o.base = srv.base.clone();
        o.session("Eve", Role::Owner).await
    };
    let operator = srv
        .ledger
        .create_operator_key(Some("walk"))
        .await
        .unwrap()
        .secret;
    let mut tokens = vec![
        (Caller::Operator, Some(operator)),
        (Caller::ApiKey, Some(srv.key.clone())),
        (Caller::OtherApiKey, Some(other_key)),
        (Caller::OtherSession, Some(other_session)),
        (Caller::MadeUp, Some(format!("ck_ss_{}", "0".repeat(64)))),
        (Caller::Nobody, None),
    ];
    // Expired: minted for 60 s, read after 61 s (the others last an hour).
    let (_, m) = srv
        .call(
            "POST",
            "/v1/members",
            &srv.key,
            None,
            Some(json!({ "name": "Old", "role": "owner" })),
        )
        .await;
    let (_, s) = srv
        .call(
            "POST",
            "/v1/sessions",
            &srv.key,
            None,
            Some(json!({ "member_id": m["id"], "ttl_seconds": 60 })),
        )
        .await;
    tokens.push((
        Caller::ExpiredSession,
        s["token"].as_str().map(str::to_string),
    ));
    srv.clock.advance(61_000);
    for role in [Role::Owner, Role::Admin, Role::Member, Role::Viewer] {
        tokens.push((
            Caller::Session(role),
            Some(srv.session(role.as_str(), role).await),
        ));
    }
    let (_, m) = srv
        .call(
            "POST",
            "/v1/members",
            &srv.key,
            None,
            Some(json!({ "name": "Dash", "role": "member" })),
        )
        .await;
    let (_, s) = srv
        .call(
            "POST",
            "/v1/sessions",
            &srv.key,
            None,
            Some(json!({ "member_id": m["id"], "rights": ["read"] })),
        )
        .await;
    tokens.push((
        Caller::ReadOnlySession,
        s["token"].as_str().map(str::to_string),
    ));
    let (_, s) = srv
        .call(
            "POST",
            "/v1/sessions",
            &srv.key,
            None,
            Some(json!({ "member_id": m["id"] })),
        )
        .await;
    let (status, _) = srv
        .call(
            "DELETE",
            &format!("/v1/sessions/{}", s["id"].as_str().unwrap()),
            &srv.key,
            None,
            None,
        )
        .await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    tokens.push((
        Caller::RevokedSession,
        s["token"].as_str().map(str::to_string),
    ));
    let op = Principal::operator(&srv.workspace_id);
    let revoked = srv.ledger.create_api_key(&op, Some("old")).await.unwrap();
    srv.ledger
        .revoke_api_key(&op, &revoked.info.id)
        .await
        .unwrap();
    tokens.push((Caller::RevokedKey, Some(revoked.secret)));
    World {
        tokens,
        other_ws: other.id,
        wallet,
    }
}

/// The ids a case names, made fresh by the backend (so each call finds them usable).
async fn fixtures(srv: &Srv, needs: Needs, n: usize) -> Vec<(&'static str, String)> {
    let k = &srv.key;
    let mut out = Vec::new();
    let hold = |quote: String, key: String| async move {
        let (s, h) = srv
            .call(
                "POST",
                "/v1/holds",
                k,
                Some(&key),
                Some(json!({ "quote_id": quote })),
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{h}");
        h["id"].as_str().unwrap().to_string()
    };
    match needs {
        Needs::Nothing => {}
        Needs::Quote => out.push((
            "{quote}",
            srv.quote(k, json!({ "action": "rewrite" })).await.id,
        )),
        Needs::Hold | Needs::Captured => {
            let q = srv.quote(k, json!({ "action": "rewrite" })).await;
            out.push(("{quote}", q.id.clone()));
            let h = hold(q.id, format!("fx-hold-{n}")).await;
            if needs == Needs::Captured {
                let (s, v) = srv
                    .call(
                        "POST",
                        &format!("/v1/holds/{h}/capture"),
                        k,
                        Some(&format!("fx-cap-{n}")),
                        Some(json!({})),
                    )
                    .await;
                assert_eq!(s, StatusCode::OK, "{v}");
            }
            out.push(("{hold}", h));
        }
        Needs::Member | Needs::Session => {
            let (_, m) = srv
                .call(
                    "POST",
                    "/v1/members",
                    k,
                    None,
                    Some(json!({ "name": format!("Target {n}"), "role": "member" })),
                )
                .await;
            let (_, s) = srv
                .call(
                    "POST",
                    "/v1/sessions",
                    k,
                    None,
                    Some(json!({ "member_id": m["id"] })),
                )
                .await;
            out.push(("{member}", m["id"].as_str().unwrap().to_string()));
            out.push(("{session}", s["id"].as_str().unwrap().to_string()));
        }
        Needs::Cap => {
            // Set by an admin, the lowest authority that may: every caller the table
            // allows may remove it (a cap set higher is removed only as high: seams.rs).
            let admin = srv.session(&format!("Cap setter {n}"), Role::Admin).await;
            let (s, c) = srv.call("POST", "/v1/caps", &admin, None, Some(json!({ "scope": "wallet", "limit_millicredits": 900_000_000, "period": "day" }))).await;
            assert_eq!(s, StatusCode::OK, "{c}");
            out.push(("{cap}", c["id"].as_str().unwrap().to_string()));
        }
        Needs::OrgWallet => {
            let (_, w) = srv
                .call(
                    "POST",
                    "/v1/wallets",
                    k,
                    None,
                    Some(json!({ "kind": "organization" })),
                )
                .await;
            out.push(("{org}", w["wallet_id"].as_str().unwrap().to_string()));
            out.push(("{agent}", format!("agent-{n}")));
        }
    }
    out
}

/// The trust model, written out here independently of the code's table: browser
/// sessions read, quote and confirm (admins and owners also manage members, wallets
/// and payouts, and see every member's usage); only the backend's API key settles, refunds, adds credits, changes
/// plans and mints sessions; rate cards, workspaces and agents' payees are the
/// operator key's.
fn allowed(actor: Actor, op: Op) -> bool {
    use Actor::*;
    match op {
        Op::Read | Op::Quote => true,
        Op::Hold => matches!(actor, ApiKey | Owner | Admin | Member),
        Op::Settle | Op::Refund | Op::Grant | Op::ChangePlan | Op::MintSession => actor == ApiKey,
        Op::ManageMembers | Op::SetCaps | Op::ManageWallets | Op::Payout | Op::ReadTeam => {
            matches!(actor, ApiKey | Owner | Admin)
        }
        Op::Buy => matches!(actor, ApiKey | Owner | Admin | Member),
        Op::SetCard | Op::ManageWorkspaces | Op::AssignPayee => false,
    }
}

#[test]
fn the_code_enforces_this_table() {
    for actor in [
        Actor::ApiKey,
        Actor::Owner,
        Actor::Admin,
        Actor::Member,
        Actor::Viewer,
    ] {
        for op in Op::ALL {
            assert_eq!(
                creditkit_api::permits(actor, op),
                allowed(actor, op),
                "{actor:?} {op:?}"
            );
        }
    }
}

/// What the table says this caller gets for this case.
fn expected(caller: Caller, c: &Case) -> Result<u16, &'static [u16]> {
    let admin_route = c.path.starts_with("/admin/");
    let actor = match caller {
        Caller::ExpiredSession
        | Caller::RevokedSession
        | Caller::RevokedKey
        | Caller::MadeUp
        | Caller::Nobody => {
            return Err(&[401]);
        }
        Caller::Operator => {
            return if admin_route {
                Ok(c.allowed_status)
            } else {
                Err(&[403])
            }
        }
        _ if admin_route => return Err(&[403]),
        Caller::ApiKey | Caller::OtherApiKey => Actor::ApiKey,
        Caller::Session(role) => Actor::of_role(role),
        Caller::ReadOnlySession => {
            return if c.op == Op::Read {
                Ok(c.allowed_status)
            } else {
                Err(&[403])
            }
        }
        Caller::OtherSession => Actor::Owner,
    };
    let other = matches!(caller, Caller::OtherApiKey | Caller::OtherSession);
    match (allowed(actor, c.op), other) {
        (false, _) => Err(&[403]),
        (true, false) if c.own_wallet_only && actor == Actor::Member => Err(&[403]),
        // Allowed in its own workspace, but these ids are another's: not found (or, for a
        // checkout, "no payments here" before the wallet is looked at: nothing happens).
        (true, true) if c.allowed_status == 501 => Err(&[404, 501]),
        (true, true) => Err(&[404]),
        (true, false) => Ok(c.allowed_status),
    }
}

/// Whether another workspace's caller is aimed at this workspace's things here.
fn names_this_workspace(c: &Case) -> bool {
    c.needs != Needs::Nothing
        || c.path.contains("{wallet}")
        || c.body.is_some_and(|b| b.contains("{wallet}"))
}

async fn walk(store: Store) {
    let url = fresh_url(store).await;
    let off = Rate {
        per_second: 0,
        burst: 0,
    };
    let mut srv = start_with(
        &url,
        RateLimits {
            session: off,
            workspace: off,
            failures: off,
        },
    )
    .await;
    let w = world(&mut srv).await;
    let both = [srv.workspace_id.clone(), w.other_ws.clone()];
    let mut counts = (0, 0);
    for (n, c) in cases().iter().enumerate() {
        for (caller, token) in &w.tokens {
            if matches!(caller, Caller::OtherApiKey | Caller::OtherSession)
                && !names_this_workspace(c)
            {
                continue; // it would act on its own workspace, rightly
            }
            let id = n * 100 + CALLERS.iter().position(|x| x == caller).unwrap();
            let mut path = c
                .path
                .replace("{ws}", &srv.workspace_id)
                .replace("{wallet}", &w.wallet);
            let mut body = c.body.map(|b| b.replace("{wallet}", &w.wallet));
            for (name, value) in fixtures(&srv, c.needs, id).await {
                path = path.replace(name, &value);
                body = body.map(|b| b.replace(name, &value));
            }
            let before = snapshot(&srv, &both).await;
            let mut req = srv
                .http
                .request(c.method.parse().unwrap(), format!("{}{path}", srv.base));
            if let Some(t) = token {
                req = req.bearer_auth(t);
            }
            if c.idempotent {
                // One key per case, sent by every caller (each on its own fixtures): the
                // credential-class dimension. Keys are kept apart by class (the API key,
                // each member's sessions), so no caller's call meets another's record.
                req = req.header("Idempotency-Key", format!("walk-{n}"));
            }
            if let Some(b) = &body {
                req = req
                    .header("content-type", "application/json")
                    .body(b.clone());
            }
            let resp = req.send().await.unwrap();
            let status = resp.status().as_u16();
            // The event stream stays open: only its status matters.
            let streaming = path.starts_with("/v1/events") && resp.status().is_success();
            let text = if streaming {
                String::new()
            } else {
                resp.text().await.unwrap()
            };
            let what = format!("{caller:?} {} {} → {status} {text}", c.method, c.path);
            match expected(*caller, c) {
                Ok(want) => {
                    let ok = if want == 200 {
                        (200..300).contains(&status)
                    } else {
                        status == want
                    };
                    assert!(ok, "allowed, but: {what}");
                    counts.0 += 1;
                }
                Err(refusals) => {
                    assert!(refusals.contains(&status), "expected {refusals:?}: {what}");
                    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                    assert!(
                        v["code"].is_string() && v["message"].is_string(),
                        "a JSON error: {what}"
                    );
                    assert_eq!(
                        snapshot(&srv, &both).await,
                        before,
                        "a refused call changed something: {what}"
                    );
                    counts.1 += 1;
                }
            }
        }
    }
    println!("permission walk on {store:?}: {} allowed calls succeeded, {} refused calls changed nothing", counts.0, counts.1);
    assert!(counts.0 > 50 && counts.1 > 200, "{counts:?}");
    for ws in &both {
        let op = Principal::operator(ws);
        let wallet = srv.ledger.balance(&op, None).await.unwrap().wallet_id;
        srv.ledger.audit(&wallet).await.unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_caller_gets_what_the_table_says_on_sqlite() {
    walk(Store::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_caller_gets_what_the_table_says_on_postgres() {
    walk(Store::Postgres).await;
}
