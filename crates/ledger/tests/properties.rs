//! Random sequences of ledger operations on both stores. After every step the
//! wallet's invariants hold (`Ledger::audit`: balance == Σ entries == Σ grants,
//! held == Σ active holds, 0 <= held <= balance, captured <= hold <= quote max), and
//! each operation succeeds or fails exactly as the balance before it says.

mod common;

use common::*;
use creditkit_api::{CaptureRequest, HoldRequest, QuoteRequest, TopUpRequest};
use creditkit_ledger::LedgerError;
use creditkit_pricing::{Item, Request};
use proptest::prelude::*;

const CARD: &str = r#"{
  "id": "prop", "name": "Property card", "version": "1",
  "currency": { "code": "USD", "exponent": 2 },
  "actions": [
    { "id": "small", "cost": 1 },
    { "id": "mid", "cost": { "range": { "min": 2, "max": 5, "param": "level", "levels": { "lo": 2, "hi": 5 } } } },
    { "id": "big", "cost": { "options": { "param": "size", "choices": { "s": 30, "l": 60 } } } },
    { "id": "frac", "cost": "0.125" }
  ],
  "plans": [
    { "id": "basic", "credits": 250, "renewal": "monthly", "price": "0" },
    { "id": "pro", "credits": 1000, "renewal": "monthly", "price": "49" },
    { "id": "gift", "credits": 100, "renewal": "once", "price": "0" }
  ],
  "packs": [
    { "id": "year", "credits": 100, "price": "10", "validity_months": 12 },
    { "id": "forever", "credits": 500, "price": "40" }
  ]
}"#;

#[derive(Clone, Debug)]
enum Op {
    Grant {
        credits: u64,
        expires_in_days: Option<i64>,
    },
    TopUp {
        forever: bool,
    },
    Plan(usize),
    Hold {
        item: usize,
        quantity: u64,
    },
    Capture {
        hold: usize,
        percent: u64,
    },
    Release {
        hold: usize,
    },
    Advance {
        minutes: i64,
    },
    Sweep,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (1u64..400, proptest::option::of(0i64..400)).prop_map(|(credits, expires_in_days)| Op::Grant { credits, expires_in_days }),
        1 => proptest::bool::ANY.prop_map(|forever| Op::TopUp { forever }),
        1 => (0usize..3).prop_map(Op::Plan),
        5 => (0usize..5, 1u64..12).prop_map(|(item, quantity)| Op::Hold { item, quantity }),
        4 => (0usize..8, 0u64..130).prop_map(|(hold, percent)| Op::Capture { hold, percent }),
        2 => (0usize..8).prop_map(|hold| Op::Release { hold }),
        2 => prop_oneof![1i64..30, 30i64..60 * 24, 60i64 * 24..60 * 24 * 70].prop_map(|minutes| Op::Advance { minutes }),
        1 => Just(Op::Sweep),
    ]
}

fn item(i: usize, quantity: u64) -> Item {
    match i {
        0 => Item::new("small"),
        1 => Item::new("mid"),
        2 => Item::new("mid").param("level", "hi"),
        3 => Item::new("big").param("size", "l"),
        _ => Item::new("frac"),
    }
    .quantity(quantity)
}

fn run(store: Store, cases: u32) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let env = rt.block_on(env(store));
    let key = std::sync::atomic::AtomicU64::new(0);
    proptest!(ProptestConfig { cases, max_shrink_iters: 200, ..ProptestConfig::default() }, |(ops in proptest::collection::vec(op(), 1..40))| {
        rt.block_on(async {
            let (p, wallet) = env.workspace(CARD, Some("basic")).await;
            let mut holds: Vec<String> = Vec::new();
            for op in &ops {
                let k = format!("k{}", key.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
                let before = env.ledger.balance(&p, None).await.unwrap();
                match op {
                    Op::Grant { credits: c, expires_in_days } => {
                        let expires = expires_in_days.map(|d| env.clock.now_ms_for_test() + d * DAY_MS);
                        env.ledger.grant(&p, &grant_req(credits(*c), expires), &k).await.unwrap();
                    }
                    Op::TopUp { forever } => {
                        let pack = if *forever { "forever" } else { "year" };
                        env.ledger.top_up(&p, None, &TopUpRequest { pack_id: pack.into(), quantity: None }, &k).await.unwrap();
                    }
                    Op::Plan(i) => {
                        let r = env.ledger.change_plan(&p, None, ["basic", "pro", "gift"][*i], &k).await;
                        // Only a repeated one-time grant may be refused.
                        if let Err(e) = r { prop_assert_eq!(e.code(), ErrorCode::InvalidParam, "{}", e); }
                    }
                    Op::Hold { item: i, quantity } => {
                        let q = env.ledger.quote(&p, &QuoteRequest { wallet_id: None, request: Request::single(item(*i, *quantity)), project: None, stream: None, conversation_id: None }).await.unwrap();
                        prop_assert_eq!(q.available_millicredits, before.available_millicredits);
                        match env.ledger.hold(&p, &HoldRequest { quote_id: q.id.clone() }, &k).await {
                            Ok(h) => {
                                prop_assert!(h.amount_millicredits <= before.available_millicredits);
                                prop_assert_eq!(h.amount_millicredits, q.estimate.max_millicredits);
                                holds.push(h.id);
                            }
                            Err(LedgerError::Insufficient(s)) => {
                                prop_assert!(q.hold_millicredits > before.available_millicredits);
                                prop_assert_eq!(s.shortfall_millicredits, q.hold_millicredits - before.available_millicredits);
                            }
                            Err(e) => prop_assert!(false, "hold failed: {}", e),
                        }
                    }
                    Op::Capture { hold, percent } => {
                        let Some(id) = holds.get(*hold % holds.len().max(1)).cloned() else { continue };
                        let h = env.ledger.get_hold(&p, &id).await.unwrap();
                        let amount = h.amount_millicredits * percent / 100;
                        let r = env.ledger.capture(&p, &id, &CaptureRequest { amount_millicredits: Some(amount), actual: None }, &k).await;
                        let after = env.ledger.balance(&p, None).await.unwrap();
                        match r {
                            Ok(c) => {
                                prop_assert!(amount <= h.amount_millicredits);
                                prop_assert_eq!(c.captured_millicredits, Some(amount));
                                prop_assert_eq!(after.lifetime_used_millicredits, before.lifetime_used_millicredits + amount);
                            }
                            Err(LedgerError::CaptureExceedsHold { .. }) => {
                                prop_assert!(amount > h.amount_millicredits);
                                prop_assert_eq!(after.lifetime_used_millicredits, before.lifetime_used_millicredits);
                            }
                            Err(LedgerError::HoldNotActive { .. }) => {
                                prop_assert_eq!(after.lifetime_used_millicredits, before.lifetime_used_millicredits);
                            }
                            Err(e) => prop_assert!(false, "capture failed: {}", e),
                        }
                    }
                    Op::Release { hold } => {
                        let Some(id) = holds.get(*hold % holds.len().max(1)).cloned() else { continue };
                        match env.ledger.release(&p, &id, &k).await {
                            Ok(_) | Err(LedgerError::HoldNotActive { .. }) => {}
                            Err(e) => prop_assert!(false, "release failed: {}", e),
                        }
                        let after = env.ledger.balance(&p, None).await.unwrap();
                        prop_assert_eq!(after.lifetime_used_millicredits, before.lifetime_used_millicredits);
                    }
                    Op::Advance { minutes } => env.clock.advance(minutes * 60_000),
                    Op::Sweep => { env.ledger.sweep().await.unwrap(); }
                }
                if let Err(e) = env.ledger.audit(&wallet).await {
                    prop_assert!(false, "after {:?}: {}", op, e);
                }
                let b = env.ledger.balance(&p, None).await.unwrap();
                prop_assert!(b.held_millicredits <= b.balance_millicredits);
                prop_assert_eq!(b.available_millicredits, b.balance_millicredits - b.held_millicredits);
            }
            Ok(())
        })?;
    });
}

#[test]
fn random_operation_sequences_keep_invariants_on_sqlite() {
    run(Store::Sqlite, 48);
}

#[test]
fn random_operation_sequences_keep_invariants_on_postgres() {
    run(Store::Postgres, 32);
}
