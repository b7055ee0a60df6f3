//! Auto top-up on SQLite and PostgreSQL: exactly once per crossing, credits only with
//! a payment, failures backed off then paused, a new card resumes, monthly limits and
//! the operator's bounds hold, 64 writes racing across the threshold buy once.

mod common;

use common::*;
use creditkit_api::admin::RevokeRequest;
use creditkit_api::{AutoTopUpBounds, AutoTopUpRequest, CheckoutRequest};
use creditkit_ledger::{DueTopUp, TopUpOutcome};

const HOUR_MS: i64 = 3_600_000;

fn rule(below: u64, max_per_month: u32) -> AutoTopUpRequest {
    AutoTopUpRequest {
        wallet_id: None,
        below_credits: below,
        pack_id: "starter".into(), // Kopai: 50 credits for $5
        quantity: None,
        max_per_month,
        max_amount_minor_per_month: None,
    }
}

async fn spend(env: &Env, p: &Principal, credits_n: u64, key: &str) {
    let req = RevokeRequest {
        amount_millicredits: Some(credits(credits_n)),
        grant_id: None,
        reason: "spent".into(),
        wallet_id: None,
    };
    env.ledger.revoke(p, &req, key).await.unwrap();
}

async fn available(env: &Env, p: &Principal) -> u64 {
    env.ledger
        .balance(p, None)
        .await
        .unwrap()
        .available_millicredits
        / 1000
}

/// A card saved at a checkout for the wallet.
async fn save_card(env: &Env, p: &Principal, n: u32) {
    let req = CheckoutRequest {
        pack_id: Some("starter".into()),
        ..CheckoutRequest::default()
    };
    let draft = env.ledger.begin_checkout(p, &req, "stripe").await.unwrap();
    env.ledger
        .save_payment_method("stripe", &draft.id, &format!("cus_{n}"), &format!("pm_{n}"))
        .await
        .unwrap();
}

async fn claim_one(env: &Env) -> DueTopUp {
    let mut due = env.ledger.claim_topups(10).await.unwrap();
    assert_eq!(due.len(), 1, "{due:?}");
    due.pop().unwrap()
}

fn paid(t: &DueTopUp, n: u32) -> TopUpOutcome {
    TopUpOutcome::Paid {
        payment_ref: format!("pi_{}_{n}", t.id),
        amount_minor: t.amount_minor,
        currency: t.currency.clone(),
    }
}

conformance! {
    one_top_up_per_crossing_and_credits_only_when_paid => |store| async move {
        let env = env(store).await;
        let (backend, wallet) = env.workspace(KOPAI, None).await;
        env.ledger.grant(&backend, &grant_req(credits(60), None), "g").await.unwrap();
        // No card yet: the rule waits for one and buys nothing.
        let got = env.ledger.set_auto_topup(&backend, &rule(20, 3)).await.unwrap();
        assert_eq!(got.rule.as_ref().unwrap().status, "needs_card");
        assert_eq!((got.rule.as_ref().unwrap().credits, got.rule.as_ref().unwrap().amount_minor), (50, 500));
        spend(&env, &backend, 45, "s1").await;
        assert_eq!(env.ledger.topup_counts(&wallet).await.unwrap(), (0, 0, 0));
        // A card saved while below: that is the crossing, decided at once.
        save_card(&env, &backend, 1).await;
        assert_eq!(env.ledger.topup_counts(&wallet).await.unwrap(), (1, 0, 1));
        // Further spending below the threshold is not another crossing.
        spend(&env, &backend, 5, "s2").await;
        assert_eq!(env.ledger.topup_counts(&wallet).await.unwrap(), (1, 0, 1));
        let t = claim_one(&env).await;
        assert_eq!((t.amount_minor, t.currency.as_str(), t.attempt), (500, "usd", 1));
        assert_eq!(t.method_ref.as_deref(), Some("pm_1"));
        assert!(t.description.contains("Starter"), "{}", t.description);
        // Leased: not claimed twice.
        assert!(env.ledger.claim_topups(10).await.unwrap().is_empty());
        assert_eq!(available(&env, &backend).await, 10, "no credits before the payment");
        env.ledger.topup_charged("stripe", &t, &paid(&t, 1)).await.unwrap();
        assert_eq!(available(&env, &backend).await, 60);
        // The webhook of the same payment, late: applied once.
        env.ledger.topup_paid("stripe", &t.id, &format!("pi_{}_1", t.id), 500, "usd").await.unwrap();
        assert_eq!(available(&env, &backend).await, 60);
        // A payment that does not match is refused.
        let e = env.ledger.topup_paid("stripe", &t.id, "pi_x", 499, "usd").await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidParam, "{e}");
        assert_eq!(env.ledger.topup_counts(&wallet).await.unwrap(), (1, 1, 0));
        // Re-armed: the next crossing is the next top-up.
        spend(&env, &backend, 30, "s3").await; // 30: above
        assert_eq!(env.ledger.topup_counts(&wallet).await.unwrap(), (1, 1, 0));
        spend(&env, &backend, 15, "s4").await; // 15: crossed
        assert_eq!(env.ledger.topup_counts(&wallet).await.unwrap(), (2, 1, 1));
        env.ledger.audit(&wallet).await.unwrap();
    };

    failures_back_off_then_pause_and_a_new_card_resumes => |store| async move {
        let env = env(store).await;
        let (backend, wallet) = env.workspace(KOPAI, None).await;
        env.ledger.grant(&backend, &grant_req(credits(60), None), "g").await.unwrap();
        save_card(&env, &backend, 1).await;
        env.ledger.set_auto_topup(&backend, &rule(20, 5)).await.unwrap();
        spend(&env, &backend, 45, "s1").await;
        let t = claim_one(&env).await;
        env.ledger.topup_charged("stripe", &t, &TopUpOutcome::Declined { message: "Your card was declined.".into() }).await.unwrap();
        let state = env.ledger.auto_topup(&backend, None).await.unwrap();
        let r = state.rule.unwrap();
        assert_eq!((r.status.as_str(), r.failures), ("active", 1));
        assert_eq!(r.last_error.as_deref(), Some("Your card was declined."));
        assert_eq!(r.retry_at_ms, Some(T0 + HOUR_MS));
        // Not before the hour.
        assert!(env.ledger.claim_topups(10).await.unwrap().is_empty());
        env.clock.advance(HOUR_MS);
        let t2 = claim_one(&env).await;
        assert_eq!(t2.attempt, 2, "a decline makes the next attempt a new request");
        // The provider down: the same request again later (no double charge).
        env.ledger.topup_charged("stripe", &t2, &TopUpOutcome::Unavailable { message: "timeout".into() }).await.unwrap();
        // A stale report for the first attempt changes nothing.
        env.ledger.topup_charged("stripe", &t, &TopUpOutcome::Declined { message: "late".into() }).await.unwrap();
        env.clock.advance(6 * HOUR_MS);
        let t3 = claim_one(&env).await;
        assert_eq!((t3.attempt, t3.idempotency_key()), (2, t2.idempotency_key()));
        env.ledger.topup_charged("stripe", &t3, &TopUpOutcome::Declined { message: "authentication_required".into() }).await.unwrap();
        let r = env.ledger.auto_topup(&backend, None).await.unwrap().rule.unwrap();
        assert_eq!((r.status.as_str(), r.failures), ("paused", 3));
        assert_eq!(env.ledger.topup_counts(&wallet).await.unwrap(), (1, 0, 0));
        assert_eq!(available(&env, &backend).await, 15, "no credits without a payment");
        // A new card: resumed, and still below, so it buys at once.
        save_card(&env, &backend, 2).await;
        let r = env.ledger.auto_topup(&backend, None).await.unwrap().rule.unwrap();
        assert_eq!((r.status.as_str(), r.failures), ("active", 0));
        let t4 = claim_one(&env).await;
        assert_eq!(t4.method_ref.as_deref(), Some("pm_2"));
        env.ledger.topup_charged("stripe", &t4, &paid(&t4, 4)).await.unwrap();
        assert_eq!(available(&env, &backend).await, 65);
        let events = env.ledger.events(&Principal::operator(""), Some(&backend.workspace_id), None, Some(100)).await.unwrap().items;
        let failed = events.iter().filter(|e| e.event.kind.as_str() == "topup.failed").count();
        let succeeded = events.iter().filter(|e| e.event.kind.as_str() == "topup.succeeded").count();
        assert_eq!((failed, succeeded), (3, 1), "{events:?}");
    };

    an_unanswered_attempt_is_asked_again_as_it_was_even_after_a_new_card => |store| async move {
        let env = env(store).await;
        let (backend, _) = env.workspace(KOPAI, None).await;
        save_card(&env, &backend, 1).await;
        env.ledger.set_auto_topup(&backend, &rule(20, 5)).await.unwrap(); // empty: buys at once
        let t = claim_one(&env).await;
        // No answer: maybe paid at the provider. A new card saved meanwhile must not
        // make it a new question (a second payment); it is asked again, now, as it was.
        env.ledger.topup_charged("stripe", &t, &TopUpOutcome::Unavailable { message: "timeout".into() }).await.unwrap();
        save_card(&env, &backend, 2).await;
        let again = claim_one(&env).await;
        assert_eq!((again.idempotency_key(), again.method_ref.as_deref()), (t.idempotency_key(), Some("pm_1")));
        // Declined with the old card: the next attempt is new, with the new card.
        env.ledger.topup_charged("stripe", &again, &TopUpOutcome::Declined { message: "declined".into() }).await.unwrap();
        save_card(&env, &backend, 3).await;
        let next = claim_one(&env).await;
        assert_eq!((next.attempt, next.method_ref.as_deref()), (2, Some("pm_3")));
        env.ledger.topup_charged("stripe", &next, &paid(&next, 1)).await.unwrap();
        assert_eq!(available(&env, &backend).await, 50);
    };

    monthly_limits_and_the_operators_bounds_hold => |store| async move {
        let env = env(store).await;
        let (backend, wallet) = env.workspace(KOPAI, None).await;
        let op = Principal::operator(&backend.workspace_id);
        env.ledger.grant(&backend, &grant_req(credits(60), None), "g").await.unwrap();
        save_card(&env, &backend, 1).await;
        // Above the operator's bounds: refused, specifically.
        let e = env.ledger.set_auto_topup(&backend, &rule(20, 6)).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidParam, "{e}");
        let mut cheap = rule(20, 5);
        cheap.max_amount_minor_per_month = Some(400);
        let e = env.ledger.set_auto_topup(&backend, &cheap).await.unwrap_err();
        assert!(e.to_string().contains("between one top-up"), "{e}");
        env.ledger.set_auto_topup(&backend, &rule(20, 2)).await.unwrap();
        for round in 0..3 {
            spend(&env, &backend, available(&env, &backend).await - 10, &format!("s{round}")).await;
            if let Ok(mut due) = env.ledger.claim_topups(10).await {
                if let Some(t) = due.pop() {
                    env.ledger.topup_charged("stripe", &t, &paid(&t, round)).await.unwrap();
                }
            }
        }
        let (all, paid_n, _) = env.ledger.topup_counts(&wallet).await.unwrap();
        assert_eq!((all, paid_n), (2, 2), "two a month, the third crossing buys nothing");
        // The next month: allowed again.
        env.clock.advance(31 * 24 * HOUR_MS);
        spend(&env, &backend, 1, "next-0").await; // no crossing: still below and armed
        assert_eq!(env.ledger.topup_counts(&wallet).await.unwrap().0, 2, "below is not a crossing");
        env.ledger.grant(&backend, &grant_req(credits(50), None), "g2").await.unwrap();
        spend(&env, &backend, 50, "next-1").await;
        assert_eq!(env.ledger.topup_counts(&wallet).await.unwrap().0, 3);
        // The operator turns it off: no rule set, none fires.
        let off = AutoTopUpBounds { enabled: false, ..AutoTopUpBounds::default() };
        env.ledger.set_topup_bounds(&op, &off).await.unwrap();
        let e = env.ledger.set_auto_topup(&backend, &rule(20, 2)).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::Forbidden, "{e}");
        // Members cannot change the bounds.
        let member = env.member(&backend, Role::Admin).await;
        let e = env.ledger.set_topup_bounds(&member, &AutoTopUpBounds::default()).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::Forbidden, "{e}");
        let viewer = env.member(&backend, Role::Viewer).await;
        let e = env.ledger.set_auto_topup(&viewer, &rule(20, 2)).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::Forbidden, "{e}");
    };

    sixty_four_writes_racing_across_the_threshold_buy_once => |store| async move {
        let env = env(store).await;
        let (backend, wallet) = env.workspace(KOPAI, None).await;
        env.ledger.grant(&backend, &grant_req(credits(100), None), "g").await.unwrap();
        save_card(&env, &backend, 1).await;
        env.ledger.set_auto_topup(&backend, &rule(50, 5)).await.unwrap();
        let tasks: Vec<_> = (0..64)
            .map(|i| {
                let ledger = env.ledger.clone();
                let backend = backend.clone();
                tokio::spawn(async move {
                    let req = RevokeRequest { amount_millicredits: Some(1000), grant_id: None, reason: "spent".into(), wallet_id: None };
                    ledger.revoke(&backend, &req, &format!("race-{i}")).await.unwrap();
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap();
        }
        assert_eq!(available(&env, &backend).await, 36);
        assert_eq!(env.ledger.topup_counts(&wallet).await.unwrap(), (1, 0, 1));
    };
}
