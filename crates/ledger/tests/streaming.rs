//! Streamed turns and spending caps, on SQLite and PostgreSQL: a hold reserves the
//! input and a first chunk, grows as the model streams (never past what the user
//! confirmed; refused — and resumable after a top-up — when the balance or a cap cannot
//! cover the next chunk), and a stream abandoned midway is charged as of its last
//! extension. Caps per member, project and wallet refuse what would pass them.

mod common;

use common::*;
use creditkit_api::{
    CapPeriod, CapScope, CaptureRequest, ExtendRequest, HoldRequest, HoldStatus, NewCap,
    QuoteRequest, StreamStart,
};
use creditkit_pricing::{Item, Request};
use proptest::prelude::*;

const KAPPAX: &str = include_str!("../../../examples/ratecards/kappax.json");

/// A KappaX chat turn of 200 input tokens: 1.5 infra + 0.2 input + 1 per 1k output
/// tokens (up to 1,000), rounded up to whole credits: 2–3 credits.
fn turn(first: Option<u64>) -> QuoteRequest {
    QuoteRequest {
        wallet_id: None,
        request: Request::single(
            Item::new("chat_turn")
                .param("model", "kappax-agent")
                .param("input_tokens", 200u64),
        ),
        project: Some("chat".into()),
        stream: first.map(|first_output_tokens| StreamStart {
            first_output_tokens,
        }),
        conversation_id: None,
    }
}

fn extend(generated: u64, reserve: u64) -> ExtendRequest {
    ExtendRequest {
        generated_output_tokens: generated,
        reserve_output_tokens: reserve,
    }
}

fn image(res: &str, project: &str) -> QuoteRequest {
    QuoteRequest {
        wallet_id: None,
        request: Request::single(Item::new("image").param("resolution", res)),
        project: Some(project.into()),
        stream: None,
        conversation_id: None,
    }
}

conformance! {
    a_streamed_turn_reserves_as_it_streams => |store| async move {
        let env = env(store).await;
        let (backend, wallet) = env.workspace(KAPPAX, None).await;
        env.ledger.grant(&backend, &grant_req(2_500, None), "g").await.unwrap(); // 2.5 credits
        let member = env.member(&backend, Role::Member).await;
        // The maximum (3) is more than the balance; the first chunk (2) is not.
        let q = env.ledger.quote(&member, &turn(Some(64))).await.unwrap();
        assert!(q.streaming);
        assert_eq!((q.estimate.max_millicredits, q.hold_millicredits, q.would_exceed), (3_000, 2_000, false));
        let plain = env.ledger.quote(&member, &turn(None)).await.unwrap();
        assert!(plain.would_exceed, "reserving the worst case would block this user");
        let h = env.ledger.hold(&member, &HoldRequest { quote_id: q.id }, "h").await.unwrap();
        let s = h.stream.clone().unwrap();
        assert_eq!((h.amount_millicredits, s.confirmed_max_millicredits, s.reserved_output_tokens), (2_000, 3_000, 64));
        // Streaming on: 400 output tokens price at 2.1 → 3; 0.5 are available: paused.
        let e = env.ledger.extend(&backend, &h.id, &extend(64, 400), "chunk-1").await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::InsufficientCredits);
        assert_eq!(env.ledger.get_hold(&backend, &h.id).await.unwrap().amount_millicredits, 2_000, "nothing reserved");
        // A member may not extend (the backend streams); after a top-up the turn continues.
        assert_eq!(env.ledger.extend(&member, &h.id, &extend(64, 400), "m").await.unwrap_err().code(), ErrorCode::Forbidden);
        env.ledger.grant(&backend, &grant_req(1_000, None), "top-up").await.unwrap();
        let h2 = env.ledger.extend(&backend, &h.id, &extend(64, 400), "chunk-1").await.unwrap();
        assert_eq!(h2.amount_millicredits, 3_000);
        assert_eq!(env.ledger.extend(&backend, &h.id, &extend(64, 400), "chunk-1").await.unwrap(), h2, "a retried chunk is answered once");
        // Past the model's bound the reservation stays at the confirmed maximum.
        let h3 = env.ledger.extend(&backend, &h.id, &extend(700, 5_000), "chunk-2").await.unwrap();
        let s3 = h3.stream.clone().unwrap();
        assert_eq!((h3.amount_millicredits, s3.reserved_output_tokens, s3.generated_output_tokens, s3.generated_millicredits), (3_000, 1_000, 700, 3_000));
        // Done: the actual tokens are charged, exactly.
        let actual = Request::single(Item::new("chat_turn").param("model", "kappax-agent").param("input_tokens", 200u64).param("output_tokens", 250u64));
        let c = env.ledger.capture(&backend, &h.id, &CaptureRequest { amount_millicredits: None, actual: Some(actual) }, "done").await.unwrap();
        assert_eq!(c.captured_millicredits, Some(2_000)); // 1.5 + 0.2 + 0.25 → 2
        assert_eq!(env.ledger.balance(&backend, None).await.unwrap().balance_millicredits, 1_500);
        env.ledger.audit(&wallet).await.unwrap();
    };

    an_abandoned_stream_is_charged_as_of_its_last_extension => |store| async move {
        let env = env(store).await;
        let (backend, wallet) = env.workspace(KAPPAX, None).await;
        env.ledger.grant(&backend, &grant_req(10_000, None), "g").await.unwrap();
        let q = env.ledger.quote(&backend, &turn(Some(64))).await.unwrap();
        let h = env.ledger.hold(&backend, &HoldRequest { quote_id: q.id }, "h").await.unwrap();
        env.ledger.extend(&backend, &h.id, &extend(300, 600), "c1").await.unwrap();
        // The client vanishes; the hold times out.
        env.clock.advance(env.ledger.config().hold_ttl_ms + 1);
        let b = env.ledger.balance(&backend, None).await.unwrap();
        let h = env.ledger.get_hold(&backend, &h.id).await.unwrap();
        assert_eq!((h.status, h.captured_millicredits), (HoldStatus::Captured, Some(2_000))); // 1.5 + 0.2 + 0.3
        assert_eq!((b.balance_millicredits, b.held_millicredits), (8_000, 0));
        // A turn that never streamed a token is released in full.
        let q = env.ledger.quote(&backend, &turn(Some(64))).await.unwrap();
        let h = env.ledger.hold(&backend, &HoldRequest { quote_id: q.id }, "h2").await.unwrap();
        env.clock.advance(env.ledger.config().hold_ttl_ms + 1);
        env.ledger.balance(&backend, None).await.unwrap();
        assert_eq!(env.ledger.get_hold(&backend, &h.id).await.unwrap().status, HoldStatus::Expired);
        assert_eq!(env.ledger.balance(&backend, None).await.unwrap().balance_millicredits, 8_000);
        // Only a streamed turn extends.
        let q = env.ledger.quote(&backend, &turn(None)).await.unwrap();
        let h = env.ledger.hold(&backend, &HoldRequest { quote_id: q.id }, "h3").await.unwrap();
        assert_eq!(env.ledger.extend(&backend, &h.id, &extend(1, 2), "x").await.unwrap_err().code(), ErrorCode::InvalidParam);
        env.ledger.audit(&wallet).await.unwrap();
    };

    caps_refuse_what_would_pass_them_and_reset => |store| async move {
        let env = env(store).await;
        let (backend, wallet) = env.workspace(LANDING, Some("starter")).await; // 1,000 credits
        let ann_token = env.member_token(&backend, Role::Member).await;
        let ann = env.ledger.authenticate(&ann_token).await.unwrap();
        let bo = env.member(&backend, Role::Member).await;
        let admin = env.member(&backend, Role::Admin).await;
        let ann_id = ann.member_id.clone().unwrap();
        // Members cannot set caps; admins can; a cap names a real member.
        let cap = |scope, subject: Option<&str>, limit, period| NewCap { scope, subject: subject.map(str::to_string), wallet_id: None, limit_millicredits: limit, period };
        assert_eq!(env.ledger.create_cap(&bo, &cap(CapScope::Wallet, None, 1, CapPeriod::Day)).await.unwrap_err().code(), ErrorCode::Forbidden);
        assert_eq!(env.ledger.create_cap(&admin, &cap(CapScope::Member, Some("mem_nope"), 1, CapPeriod::Day)).await.unwrap_err().code(), ErrorCode::NotFound);
        assert_eq!(env.ledger.create_cap(&admin, &cap(CapScope::Wallet, None, 0, CapPeriod::Day)).await.unwrap_err().code(), ErrorCode::InvalidParam);
        env.ledger.create_cap(&admin, &cap(CapScope::Member, Some(&ann_id), 70_000, CapPeriod::Month)).await.unwrap();
        let project_cap = env.ledger.create_cap(&admin, &cap(CapScope::Project, Some("ads"), 60_000, CapPeriod::Week)).await.unwrap();
        // Ann: 30 (1k image) held, then 30 more: 60 of 70.
        let h1 = env.ledger.hold(&ann, &HoldRequest { quote_id: env.ledger.quote(&ann, &image("1k", "blog")).await.unwrap().id }, "a1").await.unwrap();
        env.ledger.hold(&ann, &HoldRequest { quote_id: env.ledger.quote(&ann, &image("1k", "blog")).await.unwrap().id }, "a2").await.unwrap();
        // A third would pass her cap: refused, naming it, nothing reserved.
        let held_before = env.ledger.balance(&backend, None).await.unwrap().held_millicredits;
        let q = env.ledger.quote(&ann, &image("1k", "blog")).await.unwrap();
        let e = env.ledger.hold(&ann, &HoldRequest { quote_id: q.id.clone() }, "a3").await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::CapExceeded);
        let c = e.to_api().cap.unwrap();
        assert_eq!((c.scope, c.subject.as_deref(), c.left_millicredits, c.reserved_millicredits), (CapScope::Member, Some(ann_id.as_str()), 10_000, 60_000));
        assert!(e.to_string().contains("10 credits are left"), "{e}");
        assert_eq!(env.ledger.balance(&backend, None).await.unwrap().held_millicredits, held_before);
        // The refusal is remembered under its key; Bo is not capped.
        assert_eq!(env.ledger.hold(&ann, &HoldRequest { quote_id: q.id }, "a3").await.unwrap_err().code(), ErrorCode::CapExceeded);
        env.ledger.hold(&bo, &HoldRequest { quote_id: env.ledger.quote(&bo, &image("2k", "blog")).await.unwrap().id }, "b1").await.unwrap();
        // Captures count what was charged, not what was held: 20 of the first 30.
        env.ledger.capture(&backend, &h1.id, &CaptureRequest { amount_millicredits: Some(20_000), actual: None }, "c1").await.unwrap();
        let caps = env.ledger.caps(&ann, None).await.unwrap();
        let mine = caps.iter().find(|c| c.scope == CapScope::Member).unwrap();
        assert_eq!((mine.spent_millicredits, mine.reserved_millicredits, mine.left_millicredits), (20_000, 30_000, 20_000));
        // Project caps count every member's spending on it, and reset weekly.
        env.ledger.hold(&bo, &HoldRequest { quote_id: env.ledger.quote(&bo, &image("2k", "ads")).await.unwrap().id }, "b2").await.unwrap();
        let e = env.ledger.hold(&bo, &HoldRequest { quote_id: env.ledger.quote(&bo, &image("1k", "ads")).await.unwrap().id }, "b3").await.unwrap_err();
        assert_eq!(e.to_api().cap.unwrap().id, project_cap.id);
        // Next month Ann's count starts again (what is still held still counts).
        env.clock.advance(DAY_MS * 31);
        let caps = env.ledger.caps(&admin, None).await.unwrap();
        let mine = caps.iter().find(|c| c.scope == CapScope::Member).unwrap();
        assert_eq!(mine.spent_millicredits, 0);
        env.ledger.delete_cap(&admin, &mine.id).await.unwrap();
        assert_eq!(env.ledger.delete_cap(&admin, &mine.id).await.unwrap_err().code(), ErrorCode::NotFound);
        env.ledger.audit(&wallet).await.unwrap();
    };

    a_streamed_turn_stops_at_a_cap => |store| async move {
        let env = env(store).await;
        let (backend, wallet) = env.workspace(KAPPAX, None).await;
        env.ledger.grant(&backend, &grant_req(50_000, None), "g").await.unwrap();
        let admin = env.member(&backend, Role::Admin).await;
        env.ledger.create_cap(&admin, &NewCap { scope: CapScope::Project, subject: Some("chat".into()), wallet_id: None, limit_millicredits: 4_000, period: CapPeriod::Day }).await.unwrap();
        let h = env.ledger.hold(&backend, &HoldRequest { quote_id: env.ledger.quote(&backend, &turn(Some(64))).await.unwrap().id }, "h1").await.unwrap();
        env.ledger.extend(&backend, &h.id, &extend(64, 1000), "e1").await.unwrap(); // 3 of 4
        let e = env.ledger.hold(&backend, &HoldRequest { quote_id: env.ledger.quote(&backend, &turn(Some(64))).await.unwrap().id }, "h2").await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::CapExceeded, "the second turn's first chunk would pass the cap");
        env.ledger.audit(&wallet).await.unwrap();
    };
}

/// One step of many concurrent streams on one wallet.
#[derive(Clone, Debug)]
enum Step {
    Start(u64),
    Extend(usize, u64, u64),
    Capture(usize, u64),
    Release(usize),
    Wait(i64),
    TopUp(u64),
}

fn steps() -> impl Strategy<Value = Vec<Step>> {
    prop::collection::vec(
        prop_oneof![
            (1u64..400).prop_map(Step::Start),
            (0usize..8, 0u64..1200, 0u64..1200).prop_map(|(i, a, b)| Step::Extend(
                i,
                a.min(b),
                a.max(b)
            )),
            (0usize..8, 0u64..1000).prop_map(|(i, t)| Step::Capture(i, t)),
            (0usize..8).prop_map(Step::Release),
            (0i64..20 * 60_000).prop_map(Step::Wait),
            (1u64..5).prop_map(Step::TopUp),
        ],
        1..40,
    )
}

async fn run_streams(store: Store, steps: Vec<Step>) -> Result<(), TestCaseError> {
    let env = env(store).await;
    let (backend, wallet) = env.workspace(KAPPAX, None).await;
    env.ledger
        .grant(&backend, &grant_req(6_000, None), "g")
        .await
        .unwrap();
    let mut holds: Vec<String> = Vec::new();
    for (n, step) in steps.into_iter().enumerate() {
        let key = format!("k{n}");
        let r = match step {
            Step::Start(first) => {
                let q = env
                    .ledger
                    .quote(&backend, &turn(Some(first)))
                    .await
                    .unwrap();
                env.ledger
                    .hold(&backend, &HoldRequest { quote_id: q.id }, &key)
                    .await
                    .map(|h| holds.push(h.id))
            }
            Step::Extend(i, g, r) if !holds.is_empty() => env
                .ledger
                .extend(&backend, &holds[i % holds.len()], &extend(g, r), &key)
                .await
                .map(|h| {
                    let s = h.stream.unwrap();
                    assert!(
                        h.amount_millicredits <= s.confirmed_max_millicredits,
                        "never past the confirmed maximum"
                    );
                }),
            Step::Capture(i, t) if !holds.is_empty() => {
                let actual = Request::single(
                    Item::new("chat_turn")
                        .param("model", "kappax-agent")
                        .param("input_tokens", 200u64)
                        .param("output_tokens", t),
                );
                env.ledger
                    .capture(
                        &backend,
                        &holds[i % holds.len()],
                        &CaptureRequest {
                            amount_millicredits: None,
                            actual: Some(actual),
                        },
                        &key,
                    )
                    .await
                    .map(|_| ())
            }
            Step::Release(i) if !holds.is_empty() => env
                .ledger
                .release(&backend, &holds[i % holds.len()], &key)
                .await
                .map(|_| ()),
            Step::Wait(ms) => {
                env.clock.advance(ms);
                env.ledger.balance(&backend, None).await.map(|_| ())
            }
            Step::TopUp(c) => env
                .ledger
                .grant(&backend, &grant_req(c * 1000, None), &key)
                .await
                .map(|_| ()),
            _ => Ok(()),
        };
        if let Err(e) = r {
            // Refusals are expected (balance, settled holds, captures above the hold);
            // none may be internal.
            prop_assert!(!e.is_internal(), "{e}");
        }
        let b = env.ledger.balance(&backend, None).await.unwrap();
        prop_assert!(b.held_millicredits <= b.balance_millicredits);
        env.ledger
            .audit(&wallet)
            .await
            .map_err(|e| TestCaseError::fail(e.to_string()))?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn concurrent_streams_keep_the_invariants_on_sqlite(steps in steps()) {
        tokio::runtime::Runtime::new().unwrap().block_on(run_streams(Store::Sqlite, steps))?;
    }

    #[test]
    fn concurrent_streams_keep_the_invariants_on_postgres(steps in steps()) {
        tokio::runtime::Runtime::new().unwrap().block_on(run_streams(Store::Postgres, steps))?;
    }
}
