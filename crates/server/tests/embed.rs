//! What the seed products' end users read through the API the embed is built on
//! (issue 31): the upgrade offer from the plan they are on, and a creator's earnings
//! and payouts in the history, on both stores over real HTTP.

mod common;

use common::*;
use creditkit_api::Role;

both! {
    the_offer_is_a_plan_above_the_one_the_wallet_is_on => |store| async move {
        let mut srv = start(store).await;
        srv.workspace(Some("starter")).await;
        let ann = srv.session("Ann", Role::Member).await;
        // Starter's 1,000 credits, 10 left: a 2K image (60) is short by 50.
        let (s, v) = srv.call("POST", "/v1/revocations", &srv.key, Some("r"), Some(json!({ "amount_millicredits": 990_000, "reason": "spent elsewhere" }))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let image = json!({ "action": "image", "params": { "resolution": "2k" } });
        let q = srv.quote(&ann, image.clone()).await;
        let short = q.shortfall.expect("short of credits");
        assert_eq!(short.shortfall_millicredits, 50_000);
        // Free's 250 would cover 60 credits, but it is below Starter: Pro is offered.
        assert_eq!(short.plan.as_ref().map(|p| p.id.as_str()), Some("pro"), "{short:?}");
        assert_eq!(short.pack, None, "the landing builder sells no packs");
        // On Pro, the top plan, nothing more is offered (the card names no contact).
        let (s, v) = srv.call("POST", "/v1/plan", &srv.key, Some("p"), Some(json!({ "plan_id": "pro" }))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, v) = srv.call("POST", "/v1/revocations", &srv.key, Some("r2"), Some(json!({ "amount_millicredits": 4_990_000, "reason": "spent elsewhere" }))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let short = srv.quote(&ann, image.clone()).await.shortfall.expect("short again");
        assert_eq!((short.plan, short.pack, short.contact), (None, None, None));
        // Confirmed anyway, the refusal names the same offer.
        let (s, v) = srv.call("POST", "/v1/holds", &ann, Some("h"), Some(json!({ "quote_id": srv.quote(&ann, image).await.id }))).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::PAYMENT_REQUIRED, Some("insufficient_credits")), "{v}");
        assert!(v["shortfall"]["plan"].is_null(), "{v}");
    };

    earnings_and_payouts_say_what_they_moved => |store| async move {
        let mut srv = start(store).await;
        srv.workspace_on(KOPAI, None).await;
        let (creator_ws, creator_key) = (srv.workspace_id.clone(), srv.key.clone());
        let (s, org) = srv.call("POST", "/v1/wallets", &creator_key, None, Some(json!({ "kind": "organization" }))).await;
        assert_eq!(s, StatusCode::OK, "{org}");
        let org = org["wallet_id"].as_str().unwrap().to_string();
        let op = srv.ledger.create_operator_key(None).await.unwrap().secret;
        let assign = format!("/admin/v1/workspaces/{creator_ws}/agents/legal-drafter/payee");
        let (s, v) = srv.call("PUT", &assign, &op, None, Some(json!({ "wallet_id": org }))).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
        // A customer sends the Legal Drafter 100 messages (a 2-credit add-on each).
        srv.workspace_on(KOPAI, None).await;
        for key in ["t1", "t2", "t3"] {
            let (s, v) = srv.call("POST", "/v1/topups", &srv.key, Some(key), Some(json!({ "pack_id": "pro" }))).await;
            assert_eq!(s, StatusCode::OK, "{v}");
        }
        let q = srv.quote(&srv.key, json!({ "action": "message", "params": { "agent": "legal-drafter" }, "quantity": 100 })).await;
        let (s, h) = srv.call("POST", "/v1/holds", &srv.key, Some("h"), Some(json!({ "quote_id": q.id }))).await;
        assert_eq!(s, StatusCode::OK, "{h}");
        let (s, v) = srv.call("POST", &format!("/v1/holds/{}/capture", h["id"].as_str().unwrap()), &srv.key, Some("c"), Some(json!({}))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        // A day later the creator's share (70% of 200 credits) is available and paid out.
        srv.clock.advance(25 * 3_600_000);
        let (s, e) = srv.call("GET", &format!("/v1/earnings?wallet_id={org}"), &creator_key, None, None).await;
        assert_eq!((s, e["available_millicredits"].as_u64()), (StatusCode::OK, Some(140_000)), "{e}");
        let (s, v) = srv.call("POST", &format!("/v1/payouts?wallet_id={org}"), &creator_key, Some("po"), Some(json!({ "amount_millicredits": 100_000 }))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, t) = srv.call("GET", &format!("/v1/transactions?wallet_id={org}"), &creator_key, None, None).await;
        assert_eq!(s, StatusCode::OK, "{t}");
        let moved: Vec<(&str, i64, i64)> = t["items"].as_array().unwrap().iter()
            .map(|i| (i["kind"].as_str().unwrap(), i["delta_millicredits"].as_i64().unwrap(), i["earnings_delta_millicredits"].as_i64().unwrap_or(0)))
            .collect();
        assert_eq!(moved, [("payout", 0, -100_000), ("earning", 0, 140_000)]);
    };

    the_plan_its_allowance_and_when_credits_expire => |store| async move {
        let mut srv = start(store).await;
        srv.workspace(Some("starter")).await;
        let ann = srv.session("Ann", Role::Member).await;
        let month = creditkit_ledger::time::add_months(T0, 1);
        let (s, a) = srv.call("GET", "/v1/allowance", &ann, None, None).await;
        assert_eq!(s, StatusCode::OK, "{a}");
        assert_eq!(a["plan"], json!({ "id": "starter", "name": "Starter", "renewal": "monthly",
            "allowance_millicredits": 1_000_000, "left_millicredits": 1_000_000, "renews_at_ms": month }));
        // 60 credits spent, 5 given for good will: the plan's part shrinks, the gift
        // never expires and comes last.
        let q = srv.quote(&ann, json!({ "action": "image", "params": { "resolution": "2k" } })).await;
        let (_, h) = srv.call("POST", "/v1/holds", &ann, Some("h"), Some(json!({ "quote_id": q.id }))).await;
        let (s, v) = srv.call("POST", &format!("/v1/holds/{}/capture", h["id"].as_str().unwrap()), &srv.key, Some("c"), Some(json!({}))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, v) = srv.call("POST", "/v1/grants", &srv.key, Some("g"), Some(json!({ "amount_millicredits": 5_000, "reason": "sorry" }))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (_, a) = srv.call("GET", "/v1/allowance", &ann, None, None).await;
        assert_eq!(a["plan"]["left_millicredits"], 940_000, "{a}");
        assert_eq!(a["parts"], json!([
            { "source": "plan", "name": "Starter", "remaining_millicredits": 940_000, "expires_at_ms": month },
            { "source": "grant", "remaining_millicredits": 5_000 },
        ]));
        // A month on, the allowance is whole again and renews a month later.
        srv.clock.set(month + 1);
        let (_, a) = srv.call("GET", "/v1/allowance", &srv.key, None, None).await;
        assert_eq!(a["plan"]["left_millicredits"], 1_000_000, "{a}");
        assert_eq!(a["plan"]["renews_at_ms"], creditkit_ledger::time::add_months(T0, 2), "{a}");
        // Kumari's Free plan is granted once: it never renews.
        srv.workspace_on(KUMARI, Some("free")).await;
        let (_, a) = srv.call("GET", "/v1/allowance", &srv.key, None, None).await;
        assert_eq!((a["plan"]["renewal"].as_str(), &a["plan"]["renews_at_ms"]), (Some("once"), &Value::Null), "{a}");
    };

    an_agent_card_says_a_message_price_and_the_free_ones_left => |store| async move {
        let mut srv = start(store).await;
        srv.workspace_on(KOPAI, None).await;
        let ada = srv.session("Ada", Role::Member).await;
        let bo = srv.session("Bo", Role::Member).await;
        let seo = |v: &Value| v.as_array().unwrap().iter().find(|a| a["id"] == "seo-writer").cloned().unwrap();
        let (s, agents) = srv.call("GET", "/v1/agents", &ada, None, None).await;
        assert_eq!(s, StatusCode::OK, "{agents}");
        assert_eq!(agents.as_array().unwrap().len(), 3, "{agents}");
        let a = seo(&agents);
        // GPT-4o's 1 credit a message plus the creator's 0.5.
        assert_eq!((a["model_name"].as_str(), &a["per_message"]["max_millicredits"], &a["publisher_addon_millicredits"]), (Some("GPT-4o"), &json!(1_500), &json!(500)), "{a}");
        assert_eq!((&a["free_messages"], &a["free_left"]), (&json!(5), &json!(5)), "{a}");
        // Ada confirms a free message: four left for her, still five for Bo.
        let q = srv.quote(&ada, json!({ "action": "message", "params": { "agent": "seo-writer", "input_tokens": 10 } })).await;
        assert_eq!(q.hold_millicredits, 0);
        let (s, h) = srv.call("POST", "/v1/holds", &ada, Some("h"), Some(json!({ "quote_id": q.id }))).await;
        assert_eq!(s, StatusCode::OK, "{h}");
        let (_, agents) = srv.call("GET", "/v1/agents", &ada, None, None).await;
        assert_eq!(seo(&agents)["free_left"], 4);
        let (_, agents) = srv.call("GET", "/v1/agents", &bo, None, None).await;
        assert_eq!(seo(&agents)["free_left"], 5);
    };

    admins_see_everyones_usage_a_member_their_own => |store| async move {
        let mut srv = start(store).await;
        srv.workspace(Some("starter")).await;
        let ada = srv.session("Ada", Role::Admin).await;
        let (bo, bo_id) = srv.session_and_member("Bo", Role::Member).await;
        let (cy, cy_id) = srv.session_and_member("Cy", Role::Member).await;
        let mut n = 0;
        let rewrite = json!({ "action": "rewrite" });
        let image = json!({ "action": "image", "params": { "resolution": "1k" } });
        for (token, request) in [(&bo, &rewrite), (&bo, &image), (&cy, &rewrite)] {
            n += 1;
            let q = srv.quote(token, request.clone()).await;
            let (s, h) = srv.call("POST", "/v1/holds", token, Some(&format!("h{n}")), Some(json!({ "quote_id": q.id }))).await;
            assert_eq!(s, StatusCode::OK, "{h}");
            let (s, v) = srv.call("POST", &format!("/v1/holds/{}/capture", h["id"].as_str().unwrap()), &srv.key, Some(&format!("c{n}")), Some(json!({}))).await;
            assert_eq!(s, StatusCode::OK, "{v}");
        }
        let rows = |v: &Value| -> Vec<(String, u64)> { v["rows"].as_array().unwrap().iter().map(|r| (r["key"].as_str().unwrap().to_string(), r["used_millicredits"].as_u64().unwrap())).collect() };
        // The admin sees who used what; a month broken down by member and by action.
        let month = creditkit_ledger::time::month_key(T0);
        let (s, v) = srv.call("GET", &format!("/v1/usage?group_by=member&month={month}"), &ada, None, None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(rows(&v), [(bo_id.clone(), 31_000), (cy_id.clone(), 1_000)]);
        let (_, v) = srv.call("GET", &format!("/v1/usage?group_by=action&member_id={bo_id}"), &ada, None, None).await;
        assert_eq!(rows(&v), [("image".to_string(), 30_000), ("rewrite".to_string(), 1_000)]);
        let (_, v) = srv.call("GET", "/v1/transactions?action=rewrite&type=charge", &ada, None, None).await;
        assert_eq!(v["items"].as_array().unwrap().len(), 2, "{v}");
        // Bo sees his own usage, whatever he asks; another member's is refused.
        let (_, v) = srv.call("GET", "/v1/usage?group_by=member", &bo, None, None).await;
        assert_eq!(rows(&v), [(bo_id.clone(), 31_000)]);
        let (s, v) = srv.call("GET", &format!("/v1/usage?member_id={cy_id}"), &bo, None, None).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{v}");
        let (s, v) = srv.call("GET", &format!("/v1/transactions?member_id={cy_id}"), &bo, None, None).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "{v}");
        // His history: his holds and charges, and the workspace's credits added; none of Cy's.
        let (_, v) = srv.call("GET", "/v1/transactions?limit=200", &bo, None, None).await;
        let items = v["items"].as_array().unwrap();
        assert!(items.iter().all(|t| t["member_id"].is_null() || t["member_id"] == bo_id.as_str()), "{v}");
        assert!(items.iter().any(|t| t["kind"] == "grant"), "credits added show: {v}");
        assert!(items.iter().filter(|t| t["kind"] == "charge").count() == 2, "{v}");
        // A month that is not one is a clear 400.
        let (s, v) = srv.call("GET", "/v1/usage?month=2026-13", &ada, None, None).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_request")), "{v}");
    };

    a_conversation_s_running_total_is_counted_by_the_server => |store| async move {
        let mut srv = start(store).await;
        srv.workspace_on(KOPAI, None).await;
        let (s, v) = srv.call("POST", "/v1/topups", &srv.key, Some("t"), Some(json!({ "pack_id": "pro" }))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (ann, _) = srv.session_and_member("Ann", Role::Member).await;
        let turn = |n: u32| json!({ "request": { "action": "message", "params": { "model": "gpt-4o" } }, "conversation_id": format!("chat-{}", n % 2) });
        // Three turns of chat-1 (one released: not charged), one of chat-0.
        let mut n = 0;
        for (chat, settle) in [(1, "capture"), (1, "capture"), (1, "release"), (0, "capture")] {
            n += 1;
            let (s, q) = srv.call("POST", "/v1/quotes", &ann, None, Some(turn(chat))).await;
            assert_eq!(s, StatusCode::OK, "{q}");
            let (s, h) = srv.call("POST", "/v1/holds", &ann, Some(&format!("h{n}")), Some(json!({ "quote_id": q["id"] }))).await;
            assert_eq!(s, StatusCode::OK, "{h}");
            let (s, v) = srv.call("POST", &format!("/v1/holds/{}/{settle}", h["id"].as_str().unwrap()), &srv.key, Some(&format!("s{n}")), Some(json!({}))).await;
            assert_eq!(s, StatusCode::OK, "{v}");
        }
        // A fresh session (a reload, a refreshed token) reads the same total.
        let again = srv.session("Ann again", Role::Admin).await;
        let (s, c) = srv.call("GET", "/v1/conversations/chat-1", &again, None, None).await;
        assert_eq!(s, StatusCode::OK, "{c}");
        assert_eq!(c, json!({ "conversation_id": "chat-1", "turns": 3, "charged_millicredits": 2_000, "held_millicredits": 0 }));
        // Another member's view is their own turns: none.
        let bo = srv.session("Bo", Role::Member).await;
        let (_, c) = srv.call("GET", "/v1/conversations/chat-1", &bo, None, None).await;
        assert_eq!((&c["turns"], &c["charged_millicredits"]), (&json!(0), &json!(0)), "{c}");
        // An id that cannot be one is refused when quoting.
        let long = "x".repeat(201);
        let (s, v) = srv.call("POST", "/v1/quotes", &ann, None, Some(json!({ "request": { "action": "message", "params": { "model": "gpt-4o" } }, "conversation_id": long }))).await;
        assert_eq!((s, v["path"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("conversation_id")), "{v}");
    };

    a_member_switches_between_the_wallets_that_are_theirs => |store| async move {
        let mut srv = start(store).await;
        srv.workspace_on(KOPAI, None).await;
        let ada = srv.session("Ada", Role::Admin).await;
        let bo = srv.session("Bo", Role::Member).await;
        let (s, org) = srv.call("POST", "/v1/wallets", &ada, None, Some(json!({ "kind": "organization" }))).await;
        assert_eq!(s, StatusCode::OK, "{org}");
        let kinds = |v: &Value| -> Vec<String> { v.as_array().unwrap().iter().map(|w| w["kind"].as_str().unwrap().to_string()).collect() };
        // Ada: the shared wallet (20 credits), her personal one, the organization's.
        let (s, mine) = srv.call("GET", "/v1/wallets", &ada, None, None).await;
        assert_eq!(s, StatusCode::OK, "{mine}");
        assert_eq!(kinds(&mine), ["workspace", "personal", "organization"]);
        assert_eq!(mine[0]["available_millicredits"], 0, "{mine}");
        // Bo sees his own personal wallet, never Ada's.
        let (_, his) = srv.call("GET", "/v1/wallets", &bo, None, None).await;
        assert_eq!(kinds(&his), ["workspace", "personal", "organization"]);
        assert_ne!(his[1]["wallet_id"], mine[1]["wallet_id"]);
        // Switching to his personal wallet, the balance is that wallet's; Ada's is refused.
        let (s, b) = srv.call("GET", &format!("/v1/balance?wallet_id={}", his[1]["wallet_id"].as_str().unwrap()), &bo, None, None).await;
        assert_eq!((s, b["kind"].as_str()), (StatusCode::OK, Some("personal")), "{b}");
        let (s, _) = srv.call("GET", &format!("/v1/balance?wallet_id={}", mine[1]["wallet_id"].as_str().unwrap()), &bo, None, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    };

    a_price_rise_is_told_in_advance => |store| async move {
        let mut srv = start(store).await;
        srv.workspace(None).await;
        let ann = srv.session("Ann", Role::Member).await;
        let op = srv.ledger.create_operator_key(None).await.unwrap().secret;
        let cards = format!("/admin/v1/workspaces/{}/cards", srv.workspace_id);
        let dearer: Value = serde_json::from_str(&LANDING.replace(r#""2k": 60"#, r#""2k": 75"#)).unwrap();
        // A rise in force at once is refused, with the reason, and changes nothing.
        let (s, v) = srv.call("POST", &cards, &op, None, Some(json!({ "card": dearer }))).await;
        assert_eq!((s, v["path"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("effective_at_ms")), "{v}");
        let (s, v) = srv.call("GET", "/v1/price-notice", &ann, None, None).await;
        assert_eq!((s, v), (StatusCode::OK, Value::Null));
        // Scheduled 15 days ahead: the operator hears `card.scheduled`.
        let effective = T0 + 15 * 86_400_000;
        let (s, v) = srv.call("POST", &cards, &op, None, Some(json!({ "card": dearer, "note": "2K costs more", "effective_at_ms": effective }))).await;
        assert_eq!((s, v["version"]["effective_at_ms"].as_i64()), (StatusCode::OK, Some(effective)), "{v}");
        let (_, page) = srv.call("GET", &format!("/admin/v1/events?workspace_id={}", srv.workspace_id), &op, None, None).await;
        let event = page["items"].as_array().unwrap().iter().find(|e| e["type"] == "card.scheduled").unwrap_or_else(|| panic!("no card.scheduled in {page}"));
        let data = &event["data"];
        assert_eq!(data["effective_at_ms"].as_i64(), Some(effective), "{event}");
        assert!(data["changes"].as_array().unwrap().iter().any(|c| c["action"] == "image" && c["change"] == "up"), "{event}");
        // The member still prices with today's card, and reads the notice.
        let (_, card) = srv.call("GET", "/v1/card", &ann, None, None).await;
        assert!(card.to_string().contains(r#""2k":60"#), "{card}");
        let (s, n) = srv.call("GET", "/v1/price-notice", &ann, None, None).await;
        assert_eq!(s, StatusCode::OK, "{n}");
        assert_eq!((n["effective_at_ms"].as_i64(), n["applies_at_ms"].as_i64()), (Some(effective), Some(effective)), "{n}");
        assert_eq!((n["note"].as_str(), n["other_changes"].as_u64()), (Some("2K costs more"), Some(1)), "{n}");
        // From the date, the new price and no notice.
        srv.clock.set(effective);
        let ann = srv.session("Ann", Role::Member).await;
        assert_eq!(srv.quote(&ann, json!({ "action": "image", "params": { "resolution": "2k" } })).await.estimate.max_millicredits, 75_000);
        let (_, n) = srv.call("GET", "/v1/price-notice", &ann, None, None).await;
        assert_eq!(n, Value::Null);
    };

    a_plan_s_features_are_read_and_checked => |store| async move {
        let mut srv = start(store).await;
        srv.workspace_on(KOPAI, Some("free")).await;
        let ann = srv.session("Ann", Role::Member).await;
        let (s, e) = srv.call("GET", "/v1/entitlements", &ann, None, None).await;
        assert_eq!((s, e["plan_id"].as_str()), (StatusCode::OK, Some("free")), "{e}");
        let names: Vec<_> = e["features"].as_array().unwrap().iter().map(|f| f["id"].as_str().unwrap()).collect();
        assert_eq!(names, ["chat", "private_agents", "kb_files", "kb_file_mb"]);
        // The backend checks before it runs a feature: web search is Pro's.
        let (s, c) = srv.call("GET", "/v1/entitlements/web_search", &srv.key, None, None).await;
        assert_eq!((s, c["allowed"].as_bool(), c["upgrade_plan_id"].as_str()), (StatusCode::OK, Some(false), Some("pro")), "{c}");
        // One PDF is within Free's limit, a second is not.
        let (_, c) = srv.call("GET", "/v1/entitlements/kb_files?amount=1", &srv.key, None, None).await;
        assert_eq!((c["allowed"].as_bool(), c["limit"].as_u64()), (Some(true), Some(1)), "{c}");
        let (_, c) = srv.call("GET", "/v1/entitlements/kb_files?amount=2", &srv.key, None, None).await;
        assert_eq!((c["allowed"].as_bool(), c["upgrade_plan_id"].as_str()), (Some(false), Some("pro")), "{c}");
        // A feature no plan names is not found; on Pro, everything is allowed, unlimited.
        let (s, _) = srv.call("GET", "/v1/entitlements/teleport", &srv.key, None, None).await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        let (s, v) = srv.call("POST", "/v1/plan", &srv.key, Some("p"), Some(json!({ "plan_id": "pro" }))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (_, c) = srv.call("GET", "/v1/entitlements/kb_files?amount=500", &ann, None, None).await;
        assert_eq!((c["allowed"].as_bool(), c["limit"].as_u64()), (Some(true), None), "{c}");
    };

    low_balance_alerts_follow_the_plan_when_the_card_says_so => |store| async move {
        // Seed 001: "Set low balance alerts (if available in your plan)".
        let card = LANDING.replace(
            r#"{ "id": "pro", "name": "Pro", "credits": 5000, "renewal": "monthly", "price": "79" }"#,
            r#"{ "id": "pro", "name": "Pro", "credits": 5000, "renewal": "monthly", "price": "79", "features": [{ "id": "low_balance_alerts", "name": "Low balance alerts" }] }"#,
        );
        assert_ne!(card, LANDING, "the test edits the card");
        let mut srv = start(store).await;
        srv.workspace_on(&card, Some("starter")).await;
        let admin = srv.session("Ada", Role::Admin).await;
        let levels = json!({ "low_threshold_millicredits": 50_000, "critical_threshold_millicredits": 5_000 });
        let (s, v) = srv.call("PUT", "/v1/thresholds", &admin, None, Some(levels.clone())).await;
        assert_eq!((s, v["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")), "{v}");
        assert!(v["message"].as_str().unwrap().contains("Pro includes them"), "{v}");
        let (s, v) = srv.call("POST", "/v1/plan", &srv.key, Some("p"), Some(json!({ "plan_id": "pro" }))).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        let (s, v) = srv.call("PUT", "/v1/thresholds", &admin, None, Some(levels)).await;
        assert_eq!((s, v["low_threshold_millicredits"].as_u64()), (StatusCode::OK, Some(50_000)), "{v}");
    };
}
