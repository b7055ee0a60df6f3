//! The same ledger behaviour, checked against SQLite and PostgreSQL alike.

mod common;

use common::*;
use creditkit_api::{
    BalanceState, CaptureRequest, HoldRequest, HoldStatus, QuoteRequest, Role, TopUpRequest,
    TransactionKind, UsageGroup, WalletKind,
};
use creditkit_ledger::{Config, LedgerError};
use creditkit_pricing::{Item, Request};

fn quote_req(item: Item) -> QuoteRequest {
    QuoteRequest {
        wallet_id: None,
        request: Request::single(item),
        project: Some("launch".into()),
        stream: None,
        conversation_id: None,
    }
}

fn image(res: &str) -> Item {
    Item::new("image").param("resolution", res)
}

conformance! {
    events_are_kept_for_their_window_and_until_delivered_then_pruned => |store| async move {
        use creditkit_ledger::{Principal, EVENT_RETENTION_MS};
        let env = env(store).await;
        let outbox = |rows: Vec<(&'static str, i64)>| rows.iter().find(|(t, _)| *t == "outbox").unwrap().1;
        // An endpoint that takes the first workspace's events, then a charge.
        let (p, wallet) = env.workspace(LANDING, Some("free")).await;
        env.ledger
            .create_webhook_endpoint(&Principal::operator(""), &creditkit_api::admin::NewWebhookEndpoint {
                url: "https://hooks.example.com/credits".into(),
                events: Vec::new(),
                workspace_id: Some(p.workspace_id.clone()),
            })
            .await
            .unwrap();
        let q = env.ledger.quote(&p, &quote_req(image("1k"))).await.unwrap();
        let h = env.ledger.hold(&p, &HoldRequest { quote_id: q.id.clone() }, "h").await.unwrap();
        env.ledger.capture(&p, &h.id, &CaptureRequest { amount_millicredits: None, actual: None }, "c").await.unwrap();
        let written = outbox(env.ledger.row_counts().await.unwrap());
        assert!(written > 0, "a charge writes events");
        let due = env.ledger.claim_deliveries(100).await.unwrap();
        assert!(!due.is_empty(), "the endpoint has deliveries");
        // Inside the window every event stays, listed for the operator.
        env.clock.advance(EVENT_RETENTION_MS - 60_000);
        env.ledger.sweep().await.unwrap();
        assert_eq!(outbox(env.ledger.row_counts().await.unwrap()), written);
        // Past it, events with a delivery still going stay; the rest are gone.
        env.clock.advance(120_000);
        env.ledger.sweep().await.unwrap();
        let pending = outbox(env.ledger.row_counts().await.unwrap());
        assert!(pending > 0 && pending <= written, "{pending} of {written}");
        // Once delivered, they go too: storage per charge does not grow with time. (The
        // first claim's lease has lapsed, so the same deliveries are claimed again.)
        let again = env.ledger.claim_deliveries(100).await.unwrap();
        assert_eq!(again.len(), due.len());
        for d in &again {
            env.ledger.record_attempt(d, Some(200), None, 1).await.unwrap();
        }
        env.ledger.sweep().await.unwrap();
        assert_eq!(outbox(env.ledger.row_counts().await.unwrap()), 0);
        env.ledger.audit(&wallet).await.unwrap();
    };

    records_replay_inside_the_retention_window_and_are_pruned_after => |store| async move {
        let env = env(store).await;
        let (p, wallet) = env.workspace(LANDING, Some("free")).await;
        let count = |rows: Vec<(&'static str, i64)>, table: &str| rows.iter().find(|(t, _)| *t == table).unwrap().1;
        let q = env.ledger.quote(&p, &quote_req(image("1k"))).await.unwrap();
        let h = env.ledger.hold(&p, &HoldRequest { quote_id: q.id.clone() }, "h").await.unwrap();
        let unconfirmed = env.ledger.quote(&p, &quote_req(image("2k"))).await.unwrap();
        let before = env.ledger.row_counts().await.unwrap();
        // A quote writes nothing (its id carries it): only the confirmed one has a row.
        assert_eq!(count(before.clone(), "quotes"), 1, "{before:?}");
        env.ledger.get_quote(&p, &unconfirmed.id).await.unwrap();
        // Just inside the window: the sweep keeps the key, and a retry replays it.
        env.clock.advance(env.ledger.config().retention_ms - 60_000);
        env.ledger.sweep().await.unwrap();
        let again = env.ledger.hold(&p, &HoldRequest { quote_id: q.id.clone() }, "h").await.unwrap();
        assert_eq!(again.id, h.id, "replayed inside the window");
        assert_eq!(count(env.ledger.row_counts().await.unwrap(), "idempotency"), count(before.clone(), "idempotency"));
        // Past it: the records are gone and the quote nobody confirmed is forgotten;
        // the confirmed quote stays with its hold, by its id and by its hold's.
        env.clock.advance(2 * 60_000 + env.ledger.config().quote_ttl_ms);
        env.ledger.sweep().await.unwrap();
        let after = env.ledger.row_counts().await.unwrap();
        assert!(count(after.clone(), "idempotency") < count(before.clone(), "idempotency"), "{after:?} vs {before:?}");
        assert_eq!(count(after.clone(), "quotes"), count(before, "quotes"));
        assert!(matches!(env.ledger.get_quote(&p, &unconfirmed.id).await, Err(LedgerError::NotFound(_))));
        assert_eq!(env.ledger.get_quote(&p, &q.id).await.unwrap().hold_millicredits, q.hold_millicredits);
        assert_eq!(env.ledger.get_quote(&p, &h.quote_id).await.unwrap().hold_millicredits, q.hold_millicredits);
        env.ledger.audit(&wallet).await.unwrap();
    };

    plan_allowance_is_the_opening_balance => |store| async move {
        let env = env(store).await;
        let (p, wallet) = env.workspace(LANDING, Some("free")).await;
        let b = env.ledger.balance(&p, None).await.unwrap();
        assert_eq!(b.wallet_id, wallet);
        assert_eq!((b.balance_millicredits, b.held_millicredits, b.available_millicredits), (credits(250), 0, credits(250)));
        assert_eq!(b.state, BalanceState::Ok);
        assert_eq!(b.plan_id.as_deref(), Some("free"));
        env.ledger.audit(&wallet).await.unwrap();
    };

    quote_hold_capture_charges_exactly_the_confirmed_amount => |store| async move {
        let env = env(store).await;
        let (p, wallet) = env.workspace(LANDING, Some("free")).await;
        let q = env.ledger.quote(&p, &quote_req(image("2k"))).await.unwrap();
        assert_eq!((q.hold_millicredits, q.would_exceed), (credits(60), false));
        assert!(q.estimate.exact);
        let h = env.ledger.hold(&p, &HoldRequest { quote_id: q.id.clone() }, "k1").await.unwrap();
        assert_eq!((h.status, h.amount_millicredits), (HoldStatus::Active, credits(60)));
        let b = env.ledger.balance(&p, None).await.unwrap();
        assert_eq!((b.balance_millicredits, b.held_millicredits, b.available_millicredits), (credits(250), credits(60), credits(190)));
        let c = env.ledger.capture(&p, &h.id, &CaptureRequest { amount_millicredits: Some(credits(60)), actual: None }, "k2").await.unwrap();
        assert_eq!((c.status, c.captured_millicredits), (HoldStatus::Captured, Some(credits(60))));
        let b = env.ledger.balance(&p, None).await.unwrap();
        assert_eq!((b.balance_millicredits, b.held_millicredits, b.lifetime_used_millicredits), (credits(190), 0, credits(60)));
        assert_eq!(b.last_transaction.unwrap().kind, TransactionKind::Charge);
        env.ledger.audit(&wallet).await.unwrap();
    };

    capture_below_the_hold_returns_the_rest => |store| async move {
        let env = env(store).await;
        let (p, wallet) = env.workspace(CAMPAIGNS, None).await;
        env.ledger.top_up(&p, None, &TopUpRequest { pack_id: "starter".into(), quantity: None }, "t1").await.unwrap();
        let q = env.ledger.quote(&p, &quote_req(Item::new("content_generation"))).await.unwrap();
        assert_eq!((q.estimate.min_millicredits, q.hold_millicredits), (credits(1), credits(3)));
        let h = env.ledger.hold(&p, &HoldRequest { quote_id: q.id }, "h1").await.unwrap();
        // The actual request, priced by the quote's card: "standard" complexity = 2.
        let actual = Request::single(Item::new("content_generation").param("complexity", "standard"));
        let c = env.ledger.capture(&p, &h.id, &CaptureRequest { amount_millicredits: None, actual: Some(actual) }, "c1").await.unwrap();
        assert_eq!(c.captured_millicredits, Some(credits(2)));
        let b = env.ledger.balance(&p, None).await.unwrap();
        assert_eq!((b.balance_millicredits, b.held_millicredits), (credits(98), 0));
        env.ledger.audit(&wallet).await.unwrap();
    };

    capture_above_the_hold_is_refused_and_changes_nothing => |store| async move {
        let env = env(store).await;
        let (p, wallet) = env.workspace(LANDING, Some("free")).await;
        let q = env.ledger.quote(&p, &quote_req(image("1k"))).await.unwrap();
        let h = env.ledger.hold(&p, &HoldRequest { quote_id: q.id }, "h").await.unwrap();
        let before = env.ledger.balance(&p, None).await.unwrap();
        let err = env.ledger.capture(&p, &h.id, &CaptureRequest { amount_millicredits: Some(credits(31)), actual: None }, "c").await.unwrap_err();
        assert!(matches!(err, LedgerError::CaptureExceedsHold { amount: 31000, held: 30000 }), "{err}");
        let actual = Request::single(image("2k"));
        let err = env.ledger.capture(&p, &h.id, &CaptureRequest { amount_millicredits: None, actual: Some(actual) }, "c2").await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::CaptureExceedsHold);
        assert_eq!(env.ledger.balance(&p, None).await.unwrap(), before);
        assert_eq!(env.ledger.get_hold(&p, &h.id).await.unwrap().status, HoldStatus::Active);
        env.ledger.audit(&wallet).await.unwrap();
    };

    a_failed_operation_is_not_charged => |store| async move {
        let env = env(store).await;
        let (p, wallet) = env.workspace(LANDING, Some("free")).await;
        let q = env.ledger.quote(&p, &quote_req(image("2k"))).await.unwrap();
        let h = env.ledger.hold(&p, &HoldRequest { quote_id: q.id }, "h").await.unwrap();
        let r = env.ledger.release(&p, &h.id, "r").await.unwrap();
        assert_eq!(r.status, HoldStatus::Released);
        let b = env.ledger.balance(&p, None).await.unwrap();
        assert_eq!((b.balance_millicredits, b.held_millicredits, b.lifetime_used_millicredits), (credits(250), 0, 0));
        let err = env.ledger.capture(&p, &h.id, &CaptureRequest { amount_millicredits: Some(1), actual: None }, "c").await.unwrap_err();
        assert!(matches!(err, LedgerError::HoldNotActive { .. }), "{err}");
        env.ledger.audit(&wallet).await.unwrap();
    };

    insufficient_credits_say_what_covers_them_and_stay_refused_on_retry => |store| async move {
        let env = env(store).await;
        let (p, wallet) = env.workspace(LANDING, Some("free")).await;
        let big = Item::new("landing_page").param("sections", 30u64).param("rewrites", 50u64).param("images_1k", 10u64).param("images_2k", 2u64);
        let q = env.ledger.quote(&p, &quote_req(big)).await.unwrap();
        assert!(q.would_exceed);
        let s = q.shortfall.clone().unwrap();
        assert_eq!((s.balance_millicredits, s.required_millicredits, s.shortfall_millicredits), (credits(250), credits(770), credits(520)));
        assert_eq!(s.plan.unwrap().id, "starter"); // seed 002: 770 requires Starter
        let err = env.ledger.hold(&p, &HoldRequest { quote_id: q.id.clone() }, "h").await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::InsufficientCredits);
        assert_eq!(err.to_api().shortfall.unwrap().shortfall_millicredits, credits(520));
        // More credits arrive; the same key stays refused, a new key succeeds.
        env.ledger.change_plan(&p, None, "starter", "plan").await.unwrap();
        let again = env.ledger.hold(&p, &HoldRequest { quote_id: q.id.clone() }, "h").await.unwrap_err();
        assert_eq!(again.code(), ErrorCode::InsufficientCredits);
        let ok = env.ledger.hold(&p, &HoldRequest { quote_id: q.id }, "h-after-upgrade").await.unwrap();
        assert_eq!(ok.amount_millicredits, credits(770));
        env.ledger.audit(&wallet).await.unwrap();
    };

    retries_with_one_key_act_once => |store| async move {
        let env = env(store).await;
        let (p, wallet) = env.workspace(LANDING, Some("free")).await;
        let q = env.ledger.quote(&p, &quote_req(image("1k"))).await.unwrap();
        let a = env.ledger.hold(&p, &HoldRequest { quote_id: q.id.clone() }, "same").await.unwrap();
        let b = env.ledger.hold(&p, &HoldRequest { quote_id: q.id.clone() }, "same").await.unwrap();
        assert_eq!(a, b);
        let c1 = env.ledger.capture(&p, &a.id, &CaptureRequest { amount_millicredits: Some(credits(30)), actual: None }, "cap").await.unwrap();
        let c2 = env.ledger.capture(&p, &a.id, &CaptureRequest { amount_millicredits: Some(credits(30)), actual: None }, "cap").await.unwrap();
        assert_eq!(c1, c2);
        assert_eq!(env.ledger.balance(&p, None).await.unwrap().balance_millicredits, credits(220));
        // Same key, different payload: a conflict, and nothing changes.
        let q2 = env.ledger.quote(&p, &quote_req(image("1k"))).await.unwrap();
        let err = env.ledger.hold(&p, &HoldRequest { quote_id: q2.id }, "same").await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::IdempotencyConflict);
        let t1 = env.ledger.top_up(&p, None, &TopUpRequest { pack_id: "nope".into(), quantity: None }, "t").await.unwrap_err();
        assert_eq!(t1.code(), ErrorCode::InvalidParam);
        assert_eq!(env.ledger.balance(&p, None).await.unwrap().held_millicredits, 0);
        env.ledger.audit(&wallet).await.unwrap();
    };

    holds_time_out_and_release_themselves => |store| async move {
        let env = env(store).await;
        let (p, wallet) = env.workspace(LANDING, Some("free")).await;
        let q = env.ledger.quote(&p, &quote_req(image("2k"))).await.unwrap();
        let h = env.ledger.hold(&p, &HoldRequest { quote_id: q.id }, "h").await.unwrap();
        env.clock.advance(env.ledger.config().hold_ttl_ms);
        assert_eq!(env.ledger.sweep().await.unwrap(), 1);
        assert_eq!(env.ledger.get_hold(&p, &h.id).await.unwrap().status, HoldStatus::Expired);
        let b = env.ledger.balance(&p, None).await.unwrap();
        assert_eq!((b.balance_millicredits, b.held_millicredits), (credits(250), 0));
        let err = env.ledger.capture(&p, &h.id, &CaptureRequest { amount_millicredits: Some(1), actual: None }, "c").await.unwrap_err();
        assert!(matches!(err, LedgerError::HoldNotActive { ref status, .. } if status == "expired"), "{err}");
        env.ledger.audit(&wallet).await.unwrap();
    };

    a_wallet_holds_at_most_its_limit_and_timed_out_holds_free_their_places => |store| async move {
        let env = env_with(store, Config { max_active_holds: 2, ..Config::default() }).await;
        let (p, wallet) = env.workspace(LANDING, Some("free")).await;
        let hold = |key: &'static str| {
            let (env, p) = (&env, &p);
            async move {
                let q = env.ledger.quote(p, &quote_req(image("1k"))).await.unwrap();
                env.ledger.hold(p, &HoldRequest { quote_id: q.id }, key).await
            }
        };
        hold("a").await.unwrap();
        env.clock.advance(60_000);
        hold("b").await.unwrap();
        let err = hold("c").await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::InvalidParam);
        assert!(err.to_string().contains("2 active holds; the limit is 2"), "{err}");
        // The first times out between a quote and its hold: the hold finds it due,
        // settles it, then counts one active hold, not two.
        env.clock.advance(env.ledger.config().hold_ttl_ms - 120_000);
        let q = env.ledger.quote(&p, &quote_req(image("1k"))).await.unwrap();
        env.clock.advance(90_000);
        env.ledger.hold(&p, &HoldRequest { quote_id: q.id }, "d").await.unwrap();
        let err = hold("e").await.unwrap_err();
        assert!(err.to_string().contains("2 active holds"), "{err}");
        env.ledger.audit(&wallet).await.unwrap();
    };

    a_capture_that_finds_its_hold_timed_out_is_refused_and_charges_nothing => |store| async move {
        let env = env(store).await;
        let (p, wallet) = env.workspace(LANDING, Some("free")).await;
        let q = env.ledger.quote(&p, &quote_req(image("2k"))).await.unwrap();
        let h = env.ledger.hold(&p, &HoldRequest { quote_id: q.id }, "h").await.unwrap();
        env.clock.advance(env.ledger.config().hold_ttl_ms);
        // No sweep ran: the capture's own write times the hold out, then sees it expired.
        let err = env.ledger.capture(&p, &h.id, &CaptureRequest { amount_millicredits: Some(1), actual: None }, "c").await.unwrap_err();
        assert!(matches!(err, LedgerError::HoldNotActive { ref status, .. } if status == "expired"), "{err}");
        let b = env.ledger.balance(&p, None).await.unwrap();
        assert_eq!((b.balance_millicredits, b.held_millicredits), (credits(250), 0));
        env.ledger.audit(&wallet).await.unwrap();
    };

    expired_quotes_cannot_be_confirmed => |store| async move {
        let env = env(store).await;
        let (p, _) = env.workspace(LANDING, Some("free")).await;
        let q = env.ledger.quote(&p, &quote_req(image("1k"))).await.unwrap();
        env.clock.advance(env.ledger.config().quote_ttl_ms);
        let err = env.ledger.hold(&p, &HoldRequest { quote_id: q.id }, "h").await.unwrap_err();
        assert_eq!(err.code(), ErrorCode::QuoteExpired);
        assert_eq!(env.ledger.balance(&p, None).await.unwrap().held_millicredits, 0);
    };

    the_monthly_allowance_resets_without_rollover => |store| async move {
        let env = env(store).await;
        let (p, wallet) = env.workspace(LANDING, Some("free")).await;
        let q = env.ledger.quote(&p, &quote_req(Item::new("section").quantity(10))).await.unwrap();
        let h = env.ledger.hold(&p, &HoldRequest { quote_id: q.id }, "h").await.unwrap();
        env.ledger.capture(&p, &h.id, &CaptureRequest { amount_millicredits: Some(credits(100)), actual: None }, "c").await.unwrap();
        assert_eq!(env.ledger.balance(&p, None).await.unwrap().balance_millicredits, credits(150));
        env.clock.advance(31 * DAY_MS); // 2026-02-15: the next cycle
        let b = env.ledger.balance(&p, None).await.unwrap();
        assert_eq!(b.balance_millicredits, credits(250), "150 unused credits do not roll over");
        let expiries = env.ledger.transactions(&p, None, Some(TransactionKind::Expiry), None, None).await.unwrap();
        assert_eq!(expiries.items.len(), 1);
        assert_eq!(expiries.items[0].delta_millicredits, -(credits(150) as i64));
        env.clock.advance(60 * DAY_MS); // two more cycles pass unseen: one reset, not two grants
        assert_eq!(env.ledger.balance(&p, None).await.unwrap().balance_millicredits, credits(250));
        env.ledger.audit(&wallet).await.unwrap();
    };

    purchased_packs_expire_after_twelve_months => |store| async move {
        let env = env(store).await;
        let (p, wallet) = env.workspace(CAMPAIGNS, None).await;
        let b = env.ledger.top_up(&p, None, &TopUpRequest { pack_id: "popular".into(), quantity: None }, "t").await.unwrap();
        assert_eq!(b.balance_millicredits, credits(550));
        env.clock.advance(364 * DAY_MS);
        assert_eq!(env.ledger.balance(&p, None).await.unwrap().balance_millicredits, credits(550));
        env.clock.advance(2 * DAY_MS);
        assert_eq!(env.ledger.balance(&p, None).await.unwrap().balance_millicredits, 0);
        env.ledger.audit(&wallet).await.unwrap();
    };

    debits_draw_soonest_expiring_grants_first => |store| async move {
        let env = env(store).await;
        let (p, wallet) = env.workspace(KUMARI, None).await;
        // Never expires (custom pack), then a one-time free grant (never), then a plan (1 month).
        env.ledger.top_up(&p, None, &TopUpRequest { pack_id: "custom".into(), quantity: Some(10) }, "t").await.unwrap();
        env.ledger.change_plan(&p, None, "free", "free").await.unwrap();
        env.ledger.change_plan(&p, None, "pro", "pro").await.unwrap();
        let grants = env.ledger.transactions(&p, None, Some(TransactionKind::Grant), None, None).await.unwrap();
        let plan_grant = grants.items[0].grant_id.clone().unwrap(); // newest first: the plan
        let pack_grant = grants.items[2].grant_id.clone().unwrap();
        let q = env.ledger.quote(&p, &quote_req(Item::new("video_generation"))).await.unwrap(); // 80
        let h = env.ledger.hold(&p, &HoldRequest { quote_id: q.id }, "h").await.unwrap();
        env.ledger.capture(&p, &h.id, &CaptureRequest { amount_millicredits: Some(credits(80)), actual: None }, "c").await.unwrap();
        let charges = env.ledger.transactions(&p, None, Some(TransactionKind::Charge), None, None).await.unwrap();
        assert_eq!(charges.items.len(), 1);
        assert_eq!(charges.items[0].grant_id.as_deref(), Some(plan_grant.as_str()));
        // Draining the plan (3000) spills into the oldest never-expiring grant: the pack.
        env.ledger.grant(&p, &grant_req(1, None), "g").await.unwrap();
        let q = env.ledger.quote(&p, &quote_req(Item::new("video_generation").quantity(38))).await.unwrap(); // 3040
        let h = env.ledger.hold(&p, &HoldRequest { quote_id: q.id }, "h2").await.unwrap();
        env.ledger.capture(&p, &h.id, &CaptureRequest { amount_millicredits: Some(credits(3040)), actual: None }, "c2").await.unwrap();
        let charges = env.ledger.transactions(&p, None, Some(TransactionKind::Charge), None, None).await.unwrap();
        let last: Vec<_> = charges.items.iter().take(2).map(|t| (t.grant_id.clone().unwrap(), -t.delta_millicredits)).collect();
        assert!(last.contains(&(plan_grant.clone(), credits(2920) as i64)), "{last:?}");
        assert!(last.contains(&(pack_grant, credits(120) as i64)), "{last:?}");
        env.ledger.audit(&wallet).await.unwrap();
    };

    a_grant_expiring_under_a_hold_never_goes_negative => |store| async move {
        let env = env(store).await;
        let (p, wallet) = env.workspace(LANDING, Some("free")).await;
        let q = env.ledger.quote(&p, &quote_req(Item::new("section").quantity(20))).await.unwrap(); // 200 of 250
        env.clock.advance(31 * DAY_MS - env.ledger.config().quote_ttl_ms / 2);
        let q2 = env.ledger.quote(&p, &quote_req(Item::new("section").quantity(20))).await.unwrap();
        let h = env.ledger.hold(&p, &HoldRequest { quote_id: q2.id }, "h").await.unwrap();
        drop(q);
        env.clock.advance(10 * 60 * 1000); // the cycle turns while 200 are held (hold times out at 15 min)
        let b = env.ledger.balance(&p, None).await.unwrap();
        assert_eq!(b.held_millicredits, credits(200));
        assert!(b.balance_millicredits >= b.held_millicredits);
        env.ledger.audit(&wallet).await.unwrap();
        env.ledger.release(&p, &h.id, "r").await.unwrap();
        let b = env.ledger.balance(&p, None).await.unwrap();
        assert_eq!((b.balance_millicredits, b.held_millicredits), (credits(250), 0), "only the new cycle's allowance is left");
        env.ledger.audit(&wallet).await.unwrap();
    };

    a_partial_capture_expires_what_it_releases_of_an_expired_grant => |store| async move {
        let env = env(store).await;
        let (p, wallet) = env.workspace(LANDING, Some("free")).await;
        env.clock.advance(31 * DAY_MS - env.ledger.config().quote_ttl_ms / 2);
        let q = env.ledger.quote(&p, &quote_req(Item::new("section").quantity(20))).await.unwrap(); // 200 of 250
        let h = env.ledger.hold(&p, &HoldRequest { quote_id: q.id }, "h").await.unwrap();
        env.clock.advance(10 * 60 * 1000); // the cycle turns while 200 are held
        let c = CaptureRequest { amount_millicredits: Some(credits(50)), actual: None };
        env.ledger.capture(&p, &h.id, &c, "c").await.unwrap();
        // In the capture's own commit (the history settles nothing when it reads).
        let expiries = env.ledger.transactions(&p, None, Some(TransactionKind::Expiry), None, None).await.unwrap();
        assert_eq!(expiries.items.iter().map(|t| t.delta_millicredits).sum::<i64>(), -(credits(200) as i64), "50 unheld at the turn, then the 150 released");
        let b = env.ledger.balance(&p, None).await.unwrap();
        assert_eq!((b.balance_millicredits, b.held_millicredits), (credits(250), 0), "the 150 released of the old cycle expired");
        env.ledger.audit(&wallet).await.unwrap();
    };

    roles_and_workspaces_fence_each_other => |store| async move {
        let env = env(store).await;
        let (owner, wallet) = env.workspace(LANDING, Some("free")).await;
        let viewer = env.member(&owner, Role::Viewer).await;
        let member = env.member(&owner, Role::Member).await;
        let q = env.ledger.quote(&viewer, &quote_req(image("1k"))).await.unwrap();
        assert_eq!(env.ledger.hold(&viewer, &HoldRequest { quote_id: q.id.clone() }, "v").await.unwrap_err().code(), ErrorCode::Forbidden);
        assert_eq!(env.ledger.top_up(&member, None, &TopUpRequest { pack_id: "x".into(), quantity: None }, "t").await.unwrap_err().code(), ErrorCode::Forbidden);
        let h = env.ledger.hold(&member, &HoldRequest { quote_id: q.id.clone() }, "m").await.unwrap();
        // Another workspace sees none of it.
        let (other, _) = env.workspace(LANDING, Some("free")).await;
        assert_eq!(env.ledger.balance(&other, Some(&wallet)).await.unwrap_err().code(), ErrorCode::NotFound);
        assert_eq!(env.ledger.hold(&other, &HoldRequest { quote_id: q.id }, "o").await.unwrap_err().code(), ErrorCode::NotFound);
        assert_eq!(env.ledger.capture(&other, &h.id, &CaptureRequest { amount_millicredits: Some(1), actual: None }, "o").await.unwrap_err().code(), ErrorCode::NotFound);
        assert_eq!(env.ledger.release(&other, &h.id, "o").await.unwrap_err().code(), ErrorCode::NotFound);
        assert_eq!(env.ledger.get_hold(&member, &h.id).await.unwrap().status, HoldStatus::Active);
        assert_eq!(env.ledger.authenticate("ck_key_nope").await.unwrap_err().code(), ErrorCode::Unauthorized);
        env.ledger.audit(&wallet).await.unwrap();
    };

    history_pages_and_usage_groups => |store| async move {
        let env = env(store).await;
        let (owner, wallet) = env.workspace(LANDING, Some("starter")).await;
        let member = env.member(&owner, Role::Member).await;
        for (i, (who, item)) in [(&owner, image("1k")), (&member, image("2k")), (&member, Item::new("rewrite").quantity(3))].into_iter().enumerate() {
            let q = env.ledger.quote(who, &quote_req(item)).await.unwrap();
            let h = env.ledger.hold(who, &HoldRequest { quote_id: q.id }, &format!("h{i}")).await.unwrap();
            // The browser confirms; the operator's backend settles.
            env.ledger.capture(&owner, &h.id, &CaptureRequest { amount_millicredits: Some(h.amount_millicredits), actual: None }, &format!("c{i}")).await.unwrap();
        }
        let by_action = env.ledger.usage(&owner, None, UsageGroup::Action).await.unwrap();
        let rows: Vec<_> = by_action.rows.iter().map(|r| (r.key.as_str(), r.used_millicredits, r.charges)).collect();
        assert_eq!(rows, vec![("image", credits(90), 2), ("rewrite", credits(3), 1)]);
        assert_eq!(by_action.total_millicredits, credits(93));
        let by_member = env.ledger.usage(&owner, None, UsageGroup::Member).await.unwrap();
        assert_eq!(by_member.rows[0].key, member.member_id.clone().unwrap());
        assert_eq!(by_member.rows[0].used_millicredits, credits(63));
        let by_month = env.ledger.usage(&owner, None, UsageGroup::Month).await.unwrap();
        assert_eq!(by_month.rows[0].key, "2026-01");
        let by_project = env.ledger.usage(&owner, None, UsageGroup::Project).await.unwrap();
        assert_eq!(by_project.rows[0].key, "launch");
        // 1 grant + 3 × (hold, release, charge) = 10 entries, paged by 4.
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let page = env.ledger.transactions(&owner, None, None, cursor.as_deref(), Some(4)).await.unwrap();
            seen.extend(page.items.iter().map(|t| t.seq));
            match page.next_cursor { Some(c) => cursor = Some(c), None => break }
        }
        assert_eq!(seen.len(), 10);
        assert!(seen.windows(2).all(|w| w[0] > w[1]), "newest first, no repeats");
        assert_eq!(env.ledger.transactions(&owner, None, None, Some("bogus"), None).await.unwrap_err().code(), ErrorCode::InvalidParam);
        assert_eq!(env.ledger.transactions(&owner, None, None, None, Some(0)).await.unwrap_err().code(), ErrorCode::InvalidParam);
        env.ledger.audit(&wallet).await.unwrap();
    };

    one_time_grants_are_given_once_and_never_expire => |store| async move {
        let env = env(store).await;
        let (p, wallet) = env.workspace(KUMARI, Some("free")).await;
        assert_eq!(env.ledger.change_plan(&p, None, "free", "again").await.unwrap_err().code(), ErrorCode::InvalidParam);
        env.clock.advance(3 * 365 * DAY_MS);
        assert_eq!(env.ledger.balance(&p, None).await.unwrap().balance_millicredits, credits(100));
        env.ledger.audit(&wallet).await.unwrap();
    };

    low_balance_states_follow_thresholds => |store| async move {
        let env = env(store).await;
        let (p, _) = env.workspace(KOPAI, None).await;
        assert_eq!(env.ledger.balance(&p, None).await.unwrap().state, BalanceState::Critical);
        env.ledger.top_up(&p, None, &TopUpRequest { pack_id: "starter".into(), quantity: None }, "t").await.unwrap();
        assert_eq!(env.ledger.balance(&p, None).await.unwrap().state, BalanceState::Low);
        env.ledger.top_up(&p, None, &TopUpRequest { pack_id: "standard".into(), quantity: None }, "t2").await.unwrap();
        assert_eq!(env.ledger.balance(&p, None).await.unwrap().state, BalanceState::Ok);
        env.ledger.set_thresholds(&p, &Thresholds { low_threshold_millicredits: credits(500), critical_threshold_millicredits: credits(250) }).await.unwrap();
        assert_eq!(env.ledger.balance(&p, None).await.unwrap().state, BalanceState::Critical);
        assert_eq!(env.ledger.set_thresholds(&p, &Thresholds { low_threshold_millicredits: credits(5), critical_threshold_millicredits: credits(50) }).await.unwrap_err().code(), ErrorCode::InvalidParam);
    };

    bad_input_is_refused_precisely => |store| async move {
        let env = env_with(store, Config::default()).await;
        let (p, _) = env.workspace(LANDING, Some("free")).await;
        let e = env.ledger.quote(&p, &quote_req(Item::new("image"))).await.unwrap_err();
        assert_eq!((e.code(), e.to_api().path.as_deref()), (ErrorCode::MissingParam, Some("request.params.resolution")));
        assert_eq!(env.ledger.hold(&p, &HoldRequest { quote_id: "quo_nope".into() }, "k").await.unwrap_err().code(), ErrorCode::NotFound);
        // A quote's id is signed: altered anywhere, or cut to its short id, it is no quote.
        let q = env.ledger.quote(&p, &quote_req(image("1k"))).await.unwrap();
        let (head, tag) = q.id.rsplit_once('.').unwrap();
        let (short, _) = head.split_once('.').unwrap();
        for forged in [format!("{}.{tag}", head.replacen(".eyJ", ".eyK", 1)), format!("{head}.{}{}", if tag.starts_with('A') { 'B' } else { 'A' }, &tag[1..]), short.to_string()] {
            assert_ne!(forged, q.id);
            assert_eq!(env.ledger.hold(&p, &HoldRequest { quote_id: forged.clone() }, "f").await.unwrap_err().code(), ErrorCode::NotFound, "{forged}");
            assert_eq!(env.ledger.get_quote(&p, &forged).await.unwrap_err().code(), ErrorCode::NotFound, "{forged}");
        }
        assert_eq!(env.ledger.release(&p, "hld_nope", "k").await.unwrap_err().code(), ErrorCode::NotFound);
        assert_eq!(env.ledger.hold(&p, &HoldRequest { quote_id: "x".into() }, "").await.unwrap_err().code(), ErrorCode::InvalidParam);
        assert_eq!(env.ledger.grant(&p, &grant_req(u64::MAX, None), "g").await.unwrap_err().code(), ErrorCode::InvalidParam);
        assert_eq!(env.ledger.grant(&p, &grant_req(0, None), "g0").await.unwrap_err().code(), ErrorCode::InvalidParam);
        assert_eq!(env.ledger.create_workspace(&Principal::operator(""), "x", "{", None).await.unwrap_err().code(), ErrorCode::InvalidCard);
        assert_eq!(env.ledger.balance(&p, None).await.unwrap().balance_millicredits, credits(250));
    };
    creator_add_ons_accrue_pending_then_pay_out => |store| async move {
        let env = env(store).await;
        // The creator's organization receives the SEO Writer's add-on.
        let (creator, _) = env.workspace(KOPAI, None).await;
        let org = env.ledger.create_wallet(&creator, WalletKind::Organization).await.unwrap();
        // Only the operator names payees: the creator's own backend cannot.
        assert_eq!(env.ledger.set_payee(&creator, "seo-writer", &org).await.unwrap_err().code(), ErrorCode::Forbidden);
        let operator = Principal::operator(&creator.workspace_id);
        env.ledger.set_payee(&operator, "seo-writer", &org).await.unwrap();
        // A user in another workspace chats with it, past the free allowance.
        let (user, wallet) = env.workspace(KOPAI, None).await;
        let on_user = Principal::operator(&user.workspace_id);
        assert_eq!(env.ledger.set_payee(&on_user, "seo-writer", &wallet).await.unwrap_err().code(), ErrorCode::InvalidParam);
        // The payee's wallet is the named workspace's: another's is not found.
        assert_eq!(env.ledger.set_payee(&on_user, "seo-writer", &org).await.unwrap_err().code(), ErrorCode::NotFound);
        env.ledger.top_up(&user, None, &TopUpRequest { pack_id: "pro".into(), quantity: None }, "t").await.unwrap();
        let msg = Item::new("message").param("agent", "seo-writer").param("messages_used", 5u64).quantity(200);
        let q = env.ledger.quote(&user, &quote_req(msg)).await.unwrap(); // 200 × (1 infra + 0.5 add-on)
        assert_eq!(q.hold_millicredits, credits(300));
        let h = env.ledger.hold(&user, &HoldRequest { quote_id: q.id }, "h").await.unwrap();
        env.ledger.capture(&user, &h.id, &CaptureRequest { amount_millicredits: Some(credits(300)), actual: None }, "c").await.unwrap();
        let e = env.ledger.earnings(&creator, Some(&org)).await.unwrap();
        // 100 credits of add-ons: 30 to the platform, 70 pending for 24 h.
        assert_eq!((e.available_millicredits, e.pending_millicredits, e.platform_share_millicredits), (0, credits(70), credits(30)));
        assert!(!e.payout_available);
        assert_eq!(env.ledger.payout(&creator, Some(&org), credits(70), "p0").await.unwrap_err().code(), ErrorCode::InvalidParam);
        env.clock.advance(DAY_MS);
        let e = env.ledger.earnings(&creator, Some(&org)).await.unwrap();
        assert_eq!((e.available_millicredits, e.pending_millicredits), (credits(70), 0));
        assert!(!e.payout_available, "70 is under the 100-credit minimum");
        // A second day of chats takes it over the minimum.
        let q = env.ledger.quote(&user, &quote_req(Item::new("message").param("agent", "seo-writer").param("messages_used", 205u64).quantity(100))).await.unwrap();
        let h = env.ledger.hold(&user, &HoldRequest { quote_id: q.id }, "h2").await.unwrap();
        env.ledger.capture(&user, &h.id, &CaptureRequest { amount_millicredits: Some(credits(150)), actual: None }, "c2").await.unwrap();
        env.clock.advance(DAY_MS);
        let e = env.ledger.earnings(&creator, Some(&org)).await.unwrap();
        assert_eq!(e.available_millicredits, credits(105));
        assert!(e.payout_available);
        let after = env.ledger.payout(&creator, Some(&org), credits(100), "p1").await.unwrap();
        assert_eq!((after.available_millicredits, after.paid_out_millicredits), (credits(5), credits(100)));
        assert_eq!(env.ledger.payout(&creator, Some(&org), credits(100), "p1").await.unwrap(), after, "retry pays once");
        assert_eq!(env.ledger.payout(&creator, Some(&org), credits(100), "p2").await.unwrap_err().code(), ErrorCode::InvalidParam);
        let payouts = env.ledger.transactions(&creator, Some(&org), Some(TransactionKind::Payout), None, None).await.unwrap();
        assert_eq!(payouts.items.len(), 1);
        env.ledger.audit(&org).await.unwrap();
        env.ledger.audit(&wallet).await.unwrap();
    };

    refunds_return_credits_to_the_grants_they_came_from => |store| async move {
        let env = env(store).await;
        let (p, wallet) = env.workspace(CAMPAIGNS, None).await;
        env.ledger.top_up(&p, None, &TopUpRequest { pack_id: "starter".into(), quantity: None }, "t").await.unwrap();
        let q = env.ledger.quote(&p, &quote_req(Item::new("rss_processing").param("items", 30u64))).await.unwrap();
        let h = env.ledger.hold(&p, &HoldRequest { quote_id: q.id }, "h").await.unwrap();
        assert_eq!(env.ledger.refund(&p, &h.id, "r0").await.unwrap_err().code(), ErrorCode::HoldNotActive);
        env.ledger.capture(&p, &h.id, &CaptureRequest { amount_millicredits: Some(credits(30)), actual: None }, "c").await.unwrap();
        let charge = env.ledger.transactions(&p, None, Some(TransactionKind::Charge), None, None).await.unwrap().items[0].clone();
        let r = env.ledger.refund(&p, &h.id, "r").await.unwrap();
        assert_eq!(r.status, HoldStatus::Refunded);
        assert_eq!(env.ledger.refund(&p, &h.id, "r").await.unwrap(), r, "retry refunds once");
        let refund = env.ledger.transactions(&p, None, Some(TransactionKind::Refund), None, None).await.unwrap().items[0].clone();
        assert_eq!((refund.grant_id, refund.delta_millicredits), (charge.grant_id, credits(30) as i64));
        let b = env.ledger.balance(&p, None).await.unwrap();
        assert_eq!((b.balance_millicredits, b.lifetime_used_millicredits), (credits(100), 0));
        assert_eq!(env.ledger.usage(&p, None, UsageGroup::Action).await.unwrap().total_millicredits, 0);
        env.ledger.audit(&wallet).await.unwrap();
    };
}
