//! Auto top-up in the simulation: the Kappax workspace's wallet has a rule (below 5
//! credits, buy the Small pack of 10, at most 2 a month) and a card saved. A payment
//! provider, run inside each step beside the other calls, claims due top-ups and
//! answers each attempt once and for all (paid, declined, or no answer, which is not
//! kept: the same key is asked again; or paid with the answer lost, so only asking the
//! same key again can find it paid), sometimes sends its webhook before the worker's
//! answer and replays old ones, and saves a new card now and then.
//!
//! After every step (before the clock moves): at most one top-up under way; an active
//! rule is armed exactly when none is under way; a wallet armed and below the
//! threshold is one a monthly limit kept from buying (else a crossing was missed);
//! every paid top-up was paid at the provider, each at most once, and its pack granted
//! once; the month's top-ups within the rule's limits.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use creditkit_api::{AutoTopUpBounds, AutoTopUpRequest, CheckoutRequest};
use creditkit_ledger::{DueTopUp, Ledger, Principal, TopUpOutcome};

/// The workspace whose wallet tops up (Kappax, its Small pack priced here).
pub(crate) const WS: usize = 1;
const BELOW_CREDITS: u64 = 5;
/// Above the threshold: a paid top-up always lifts the wallet over it.
const PACK_CREDITS: i64 = 10;
const PRICE_MINOR: u64 = 1000;
const MAX_PER_MONTH: u32 = 2;

/// Kappax with its Small pack at 10 credits for 10.00 (small beside what the wallet
/// spends, so it dips often).
pub(crate) fn card() -> &'static str {
    let card = super::KAPPAX.replace(
        r#"{ "id": "small", "name": "Small", "credits": 1000 }"#,
        r#"{ "id": "small", "name": "Small", "credits": 10, "price": "10" }"#,
    );
    assert_ne!(card, super::KAPPAX, "the simulation prices the Small pack");
    Box::leak(card.into_boxed_str())
}

/// The provider's side, and what the checks remember between steps.
#[derive(Default)]
pub(crate) struct Model {
    /// Idempotency key → the answer kept for it.
    answers: HashMap<String, TopUpOutcome>,
    /// Top-up id → its payment (the money taken).
    paid: HashMap<String, (String, u64, String)>,
    cards: u64,
    /// The wallet is below the threshold because a monthly limit kept a crossing
    /// from buying (cleared when it is above again).
    limited_dip: bool,
    pub(crate) counts: Counts,
}

#[derive(Default, Debug, Clone, Copy)]
pub(crate) struct Counts {
    pub(crate) attempts: u64,
    pub(crate) paid: u64,
    pub(crate) declined: u64,
    pub(crate) no_answer: u64,
    pub(crate) webhook_first: u64,
    pub(crate) replays: u64,
    pub(crate) new_cards: u64,
    pub(crate) limited: u64,
    /// Paid at the provider, the answer lost.
    pub(crate) lost: u64,
}

/// Sets the rule up: the operator's bounds, a card saved at a checkout, the rule (the
/// wallet is empty: setting it is its first crossing).
pub(crate) async fn setup(ledger: &Ledger, backend: &Principal, model: &Arc<Mutex<Model>>) {
    let operator = Principal::operator(&backend.workspace_id);
    let bounds = AutoTopUpBounds {
        enabled: true,
        max_per_month: MAX_PER_MONTH,
        max_amount_minor_per_month: 100 * PRICE_MINOR,
    };
    ledger.set_topup_bounds(&operator, &bounds).await.unwrap();
    save_card(ledger, backend, model).await.unwrap();
    let rule = AutoTopUpRequest {
        wallet_id: None,
        below_credits: BELOW_CREDITS,
        pack_id: "small".into(),
        quantity: None,
        max_per_month: MAX_PER_MONTH,
        max_amount_minor_per_month: None,
    };
    ledger.set_auto_topup(backend, &rule).await.unwrap();
}

async fn save_card(
    ledger: &Ledger,
    backend: &Principal,
    model: &Arc<Mutex<Model>>,
) -> Result<(), creditkit_ledger::LedgerError> {
    let req = CheckoutRequest {
        pack_id: Some("small".into()),
        save_card: Some(true),
        ..CheckoutRequest::default()
    };
    let draft = ledger.begin_checkout(backend, &req, "stripe").await?;
    let n = {
        let mut m = model.lock().unwrap();
        m.cards += 1;
        m.cards
    };
    ledger
        .save_payment_method("stripe", &draft.id, &format!("cus_{n}"), &format!("pm_{n}"))
        .await
}

/// The provider's answer to an attempt: kept per key once given (as Stripe's
/// idempotency keeps it), except no answer at all.
fn answer(model: &Arc<Mutex<Model>>, t: &DueTopUp, roll: u64) -> TopUpOutcome {
    let mut m = model.lock().unwrap();
    m.counts.attempts += 1;
    if let Some(kept) = m.answers.get(&t.idempotency_key()) {
        return kept.clone();
    }
    let paid = TopUpOutcome::Paid {
        payment_ref: format!("pi_{}", t.idempotency_key()),
        amount_minor: t.amount_minor,
        currency: t.currency.clone(),
    };
    let outcome = match roll % 100 {
        0..=49 => paid,
        // Paid, and the answer lost on the way back: the same key must be asked again
        // (a new one would be a second payment).
        50..=59 => {
            let first = m.paid.insert(
                t.id.clone(),
                (
                    format!("pi_{}", t.idempotency_key()),
                    t.amount_minor,
                    t.currency.clone(),
                ),
            );
            assert!(first.is_none(), "top-up {} charged twice", t.id);
            m.counts.paid += 1;
            m.counts.lost += 1;
            m.answers.insert(t.idempotency_key(), paid);
            return TopUpOutcome::Unavailable {
                message: "timeout after the charge".into(),
            };
        }
        60..=79 => TopUpOutcome::Declined {
            message: "Your card was declined.".into(),
        },
        _ => {
            m.counts.no_answer += 1;
            return TopUpOutcome::Unavailable {
                message: "timeout".into(),
            };
        }
    };
    if let TopUpOutcome::Paid {
        payment_ref,
        amount_minor,
        currency,
    } = &outcome
    {
        let first = m.paid.insert(
            t.id.clone(),
            (payment_ref.clone(), *amount_minor, currency.clone()),
        );
        assert!(first.is_none(), "top-up {} charged twice", t.id);
        m.counts.paid += 1;
    } else {
        m.counts.declined += 1;
    }
    m.answers.insert(t.idempotency_key(), outcome.clone());
    outcome
}

/// An error a crash explains (the writer stopped); anything else is a bug.
fn crashed(r: Result<(), creditkit_ledger::LedgerError>) {
    if let Err(e) = r {
        assert_eq!(
            e.code(),
            creditkit_api::ErrorCode::Internal,
            "an auto top-up call refused: {e}"
        );
    }
}

/// One step of the provider, beside the step's other calls.
pub(crate) fn provider(
    ledger: Arc<Ledger>,
    backend: Principal,
    model: Arc<Mutex<Model>>,
    rolls: [u64; 4],
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        // The worker wakes in two steps of five.
        if rolls[1] % 5 >= 2 {
            return;
        }
        let due = match ledger.claim_topups(4).await {
            Ok(due) => due,
            Err(e) => return crashed(Err(e)),
        };
        for t in &due {
            let outcome = answer(&model, t, rolls[0]);
            if let (TopUpOutcome::Paid { payment_ref, .. }, true) =
                (&outcome, rolls[1].is_multiple_of(10))
            {
                // The webhook before the worker's answer.
                model.lock().unwrap().counts.webhook_first += 1;
                let r = ledger
                    .topup_paid("stripe", &t.id, payment_ref, t.amount_minor, &t.currency)
                    .await;
                crashed(r.map(|_| ()));
            }
            crashed(ledger.topup_charged("stripe", t, &outcome).await);
        }
        // An old webhook delivered again.
        if rolls[2] % 100 < 20 {
            let old = {
                let m = model.lock().unwrap();
                let mut paid: Vec<_> = m.paid.iter().collect();
                paid.sort();
                paid.get(rolls[2] as usize % paid.len().max(1))
                    .map(|(id, p)| ((*id).clone(), (*p).clone()))
            };
            if let Some((id, (payment_ref, amount, currency))) = old {
                model.lock().unwrap().counts.replays += 1;
                let r = ledger
                    .topup_paid("stripe", &id, &payment_ref, amount, &currency)
                    .await;
                crashed(r.map(|_| ()));
            }
        }
        // Now and then the member saves a new card (resumes a paused rule).
        if rolls[3] % 100 < 3 {
            model.lock().unwrap().counts.new_cards += 1;
            crashed(save_card(&ledger, &backend, &model).await);
        }
    })
}

/// The invariants, after every step and before the clock moves.
pub(crate) async fn check(ledger: &Ledger, wallet: &str, model: &Arc<Mutex<Model>>, op: u64) {
    let st = ledger.topup_state(wallet).await.unwrap();
    let mut m = model.lock().unwrap();
    assert!(st.due <= 1, "after op {op}: {} top-ups under way", st.due);
    let (below, status) = st.rule.clone().expect("the rule stays");
    if status == "active" {
        assert_eq!(
            st.armed_below_mc.is_some(),
            st.due == 0,
            "after op {op}: an active rule is armed exactly when no top-up is under way: {st:?}"
        );
    }
    if st.available_mc >= below {
        m.limited_dip = false;
    } else if status == "active" && st.armed_below_mc.is_some() {
        let full = st.this_month.0 >= u64::from(MAX_PER_MONTH);
        if full {
            if !m.limited_dip {
                m.counts.limited += 1;
            }
            m.limited_dip = true;
        }
        assert!(
            m.limited_dip,
            "after op {op}: below the threshold, armed, and nothing bought: a crossing was missed: {st:?}"
        );
    }
    for id in &st.paid {
        assert!(
            m.paid.contains_key(id),
            "after op {op}: top-up {id} granted without a payment"
        );
    }
    assert_eq!(
        st.pack_granted_mc,
        st.paid.len() as i64 * PACK_CREDITS * 1000,
        "after op {op}: each paid top-up's pack granted once"
    );
    assert!(
        st.this_month.0 <= u64::from(MAX_PER_MONTH),
        "after op {op}: {st:?}"
    );
}

/// What the provider saw, and what the ledger paid.
pub(crate) async fn report(ledger: &Ledger, wallet: &str, model: &Arc<Mutex<Model>>) -> String {
    let st = ledger.topup_state(wallet).await.unwrap();
    let c = model.lock().unwrap().counts;
    format!(
        "auto top-up: {} paid (the provider took {} payments; the wallet ends at {} mc available), {} attempts, {} declined, {} unanswered, {} paid with the answer lost, {} webhooks before the answer, {} replayed, {} new cards, {} dips a monthly limit kept",
        st.paid.len(),
        c.paid,
        st.available_mc,
        c.attempts,
        c.declined,
        c.no_answer,
        c.lost,
        c.webhook_first,
        c.replays,
        c.new_cards,
        c.limited
    )
}
