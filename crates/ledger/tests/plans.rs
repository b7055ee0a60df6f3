//! A paid plan's lifecycle under a seeded random schedule, on SQLite and PostgreSQL:
//! checkouts, upgrades, downgrades, cancellations, resumes and renewals, with the
//! provider's events delivered late, out of order and more than once. At every step the
//! audit holds: at most one active subscription per wallet, the wallet on its paid
//! plan, and the ledger's own invariants (balance = its entries, never negative).

mod common;

use std::collections::HashMap;

use common::*;
use creditkit_api::{CheckoutRequest, SubscriptionChange};
use creditkit_ledger::{Paid, PaidPeriod, PeriodReason, PlanChange};

/// The landing builder's paid plans and their prices (cents).
const PLANS: [(&str, u64); 2] = [("starter", 4900), ("pro", 7900)];

enum Event {
    Paid(Paid),
    Period(PaidPeriod, PeriodReason),
    Ended { id: String, sub: String },
}

struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n.max(1)
    }
}

/// What the provider holds per subscription: its price a period and whether it ends.
struct Provider {
    price: u64,
    cancel: bool,
    ended: bool,
}

async fn lifecycle(store: Store, seed: u64, steps: u32) {
    let env = env(store).await;
    let mut rng = Rng(seed | 1);
    let mut wallets = Vec::new();
    for _ in 0..3 {
        wallets.push(env.workspace(LANDING, Some("free")).await);
    }
    let mut queue: Vec<Event> = Vec::new();
    let mut provider: HashMap<String, Provider> = HashMap::new();
    let mut n = 0u64;
    let mut next = || {
        n += 1;
        n
    };
    let (mut applied, mut duplicates, mut refused) = (0u32, 0u32, 0u32);
    for step in 0..steps {
        let (p, wallet) = &wallets[rng.below(3) as usize];
        match rng.below(10) {
            // Buy a plan through checkout (refused while a subscription is active).
            0 | 1 => {
                let (plan, price) = PLANS[rng.below(2) as usize];
                let req = CheckoutRequest {
                    plan_id: Some(plan.into()),
                    ..Default::default()
                };
                match env.ledger.begin_checkout(p, &req, "stripe").await {
                    Ok(draft) => {
                        let k = next();
                        let (session, sub) = (format!("cs_{k}"), format!("sub_{k}"));
                        env.ledger
                            .checkout_opened(&draft.id, &session)
                            .await
                            .unwrap();
                        provider.insert(
                            sub.clone(),
                            Provider {
                                price,
                                cancel: false,
                                ended: false,
                            },
                        );
                        queue.push(Event::Paid(Paid {
                            provider: "stripe".into(),
                            event_id: format!("evt_{}", next()),
                            checkout_id: draft.id,
                            session_ref: session,
                            payment_ref: None,
                            subscription_ref: Some(sub.clone()),
                            amount_minor: price,
                            currency: "usd".into(),
                            period_end_ms: None,
                        }));
                        queue.push(Event::Period(
                            period(&sub, price, next()),
                            PeriodReason::Create,
                        ));
                    }
                    Err(e) => {
                        assert_eq!(e.code(), ErrorCode::InvalidParam, "{e}");
                        refused += 1;
                    }
                }
            }
            // Change plan, cancel or resume, through the provider.
            2 | 3 => {
                let req = match rng.below(3) {
                    0 => SubscriptionChange {
                        cancel_at_period_end: Some(rng.below(2) == 0),
                        ..Default::default()
                    },
                    _ => SubscriptionChange {
                        plan_id: Some(PLANS[rng.below(2) as usize].0.into()),
                        ..Default::default()
                    },
                };
                let Ok(update) = env.ledger.prepare_subscription_change(p, &req).await else {
                    refused += 1;
                    continue;
                };
                env.ledger.subscription_changed(&update).await.unwrap();
                let Some(at) = provider.get_mut(&update.subscription_ref) else {
                    continue;
                };
                match update.change {
                    PlanChange::Upgrade => {
                        let diff = update.unit_amount_minor.saturating_sub(at.price);
                        at.price = update.unit_amount_minor;
                        queue.push(Event::Period(
                            period(&update.subscription_ref, diff, next()),
                            PeriodReason::Update,
                        ));
                    }
                    PlanChange::Downgrade => at.price = update.unit_amount_minor,
                    PlanChange::Cancel => at.cancel = true,
                    PlanChange::Resume => at.cancel = false,
                    PlanChange::EndNow => unreachable!("never prepared for a member"),
                }
            }
            // A period ends at the provider: a renewal invoice, or the end.
            4 => {
                let live: Vec<String> = provider
                    .iter()
                    .filter(|(_, v)| !v.ended)
                    .map(|(k, _)| k.clone())
                    .collect();
                if let Some(sub) = live.get(rng.below(live.len() as u64) as usize).cloned() {
                    let at = provider.get_mut(&sub).unwrap();
                    if at.cancel {
                        at.ended = true;
                        queue.push(Event::Ended {
                            id: format!("evt_{}", next()),
                            sub,
                        });
                    } else {
                        let price = at.price;
                        queue.push(Event::Period(
                            period(&sub, price, next()),
                            PeriodReason::Cycle,
                        ));
                    }
                }
                env.clock.advance(DAY_MS * (1 + rng.below(20) as i64));
            }
            // Deliver an event: any one of those waiting (out of order), sometimes again.
            _ => {
                if queue.is_empty() {
                    continue;
                }
                let i = rng.below(queue.len() as u64) as usize;
                let again = rng.below(4) == 0;
                let event = if again {
                    None
                } else {
                    Some(queue.swap_remove(i))
                };
                let e = match &event {
                    Some(e) => e,
                    None => &queue[i],
                };
                let done = match e {
                    Event::Paid(paid) => env.ledger.complete_checkout(paid).await.map(Some),
                    Event::Period(period, reason) => {
                        env.ledger.renew_subscription(period, *reason).await
                    }
                    Event::Ended { id, sub } => {
                        env.ledger.end_subscription("stripe", id, sub).await
                    }
                };
                match done {
                    Ok(Some(_)) => applied += 1,
                    // Not known yet (its checkout not paid): the provider retries later.
                    Ok(None) => {
                        if let Some(e) = event {
                            queue.push(e);
                        }
                    }
                    Err(err) => {
                        assert_ne!(err.code(), ErrorCode::Internal, "{err}");
                        refused += 1;
                    }
                }
                if again {
                    duplicates += 1;
                }
            }
        }
        for (_, w) in &wallets {
            if let Err(e) = env.ledger.audit(w).await {
                panic!("seed {seed}, step {step}: {e}");
            }
        }
        let _ = wallet;
    }
    println!("seed {seed}: {steps} steps, {applied} events applied, {duplicates} delivered again, {refused} refused");
    assert!(applied > 0, "the schedule applied no event");
}

fn period(sub: &str, amount: u64, k: u64) -> PaidPeriod {
    PaidPeriod {
        provider: "stripe".into(),
        event_id: format!("evt_{k}"),
        subscription_ref: sub.into(),
        payment_ref: Some(format!("pi_{k}")),
        amount_minor: amount,
        currency: "usd".into(),
        period_end_ms: None,
    }
}

conformance! {
    plans_change_renew_and_end_in_any_order => |store| async move {
        for seed in [1, 7, 42] {
            lifecycle(store, seed, 300).await;
        }
    };
}
