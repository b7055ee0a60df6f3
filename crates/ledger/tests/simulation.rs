//! A seeded simulation of the ledger: random operations across workspaces, wallets and
//! members (plans rolling over, expiring grants, streamed turns, spending caps), clock
//! jumps across expiry and billing cycles, duplicate and late retries, and crashes in
//! the middle of a write batch followed by a restart on the same files.
//!
//! After every step: every wallet passes `Ledger::audit` (balance = sum of entries = sum
//! of grants' remaining, held = active holds, never negative, no capture above its hold);
//! every acknowledged write is still there after a crash; every retried key returns its
//! first answer; auto top-up buys once per crossing and only with a payment
//! (`simulation/topups.rs`). The operations are drawn from the seed (printed; replay it with
//! `CREDITKIT_SIM_SEED`); concurrent operations inside a step interleave as the runtime
//! schedules them. The tests run 100,000 operations on SQLite (four seeds of 25,000)
//! and 10,000 on PostgreSQL; `CREDITKIT_SIM_OPS` sets one run's length (`cargo xtask sim`
//! runs longer).

mod common;
#[path = "simulation/topups.rs"]
mod topups;

use std::collections::HashMap;
use std::sync::Arc;

use common::*;
use creditkit_api::{
    CapPeriod, CapScope, CaptureRequest, ExtendRequest, HoldRequest, NewCap, QuoteRequest,
    StreamStart,
};
use creditkit_ledger::time::{Clock, ManualClock};
use creditkit_ledger::{AuditMark, LedgerError};
use creditkit_pricing::{Item, Request};
use serde_json::{json, Value};

const KAPPAX: &str = include_str!("../../../examples/ratecards/kappax.json");

/// SplitMix64: small, fast, and the same on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        (!items.is_empty()).then(|| &items[self.below(items.len() as u64) as usize])
    }
}

/// A keyed call, kept to be retried: the same key and body must get the first answer.
#[derive(Clone, Debug)]
enum Call {
    Hold {
        ws: usize,
        member: Option<usize>,
        quote_id: String,
    },
    Capture {
        ws: usize,
        hold_id: String,
        amount: Option<u64>,
    },
    Release {
        ws: usize,
        hold_id: String,
    },
    Extend {
        ws: usize,
        hold_id: String,
        generated: u64,
        reserve: u64,
    },
    Grant {
        ws: usize,
        amount: u64,
        expires_at_ms: Option<i64>,
    },
}

struct Workspace {
    backend: Principal,
    wallet: String,
    /// Session tokens, re-minted when they end.
    members: Vec<(String, String)>,
    card: &'static str,
}

struct Sim {
    url: String,
    store: Store,
    clock: ManualClock,
    ledger: Arc<Ledger>,
    workspaces: Vec<Workspace>,
    /// Active (as far as we know) holds: workspace, id, streamed.
    holds: Vec<(usize, String, bool)>,
    /// Acknowledged keyed calls: key → (call, answer, when).
    answers: HashMap<String, (Call, Value, i64)>,
    /// Captures acknowledged: hold id → captured amount.
    captured: HashMap<String, u64>,
    next_key: u64,
    ops: u64,
    crashes: u64,
    retries: u64,
    /// Where the time went: drawing calls (quotes included), running them, crashing
    /// and reopening, the clock's moves and sweeps, auditing.
    spent: [std::time::Duration; 5],
    /// Per workspace, where the incremental audit stopped.
    marks: Vec<AuditMark>,
    steps: u64,
    /// The auto top-up provider and what its checks remember.
    topups: Arc<std::sync::Mutex<topups::Model>>,
}

/// An answer as it can be compared: the value, or the error's code and message.
fn answer<T: serde::Serialize>(r: &Result<T, LedgerError>) -> Value {
    match r {
        Ok(v) => json!({ "ok": v }),
        Err(e) => {
            let api = e.to_api();
            json!({ "err": { "code": api.code, "message": api.message } })
        }
    }
}

fn quote_for(rng: &mut Rng, card: &str, project: &str) -> QuoteRequest {
    let kappax = card != LANDING;
    let (request, stream) = if kappax && rng.chance(50) {
        (
            Request::single(
                Item::new("chat_turn")
                    .param("model", "kappax-agent")
                    .param("input_tokens", 50 + rng.below(400)),
            ),
            Some(StreamStart {
                first_output_tokens: 1 + rng.below(300),
            }),
        )
    } else if kappax {
        (Request::single(Item::new("static_creative")), None)
    } else {
        let res = *rng.pick(&["1k", "2k", "4k"]).unwrap();
        (
            Request::single(Item::new("image").param("resolution", res)),
            None,
        )
    };
    QuoteRequest {
        wallet_id: None,
        request,
        project: Some(project.into()),
        stream,
        conversation_id: None,
    }
}

impl Sim {
    async fn open(url: &str, clock: &ManualClock) -> Arc<Ledger> {
        let config = Config {
            power_safe: false, // a process crash, not a power cut, is what is simulated
            ..Config::default()
        };
        Arc::new(
            Ledger::open(url, Arc::new(clock.clone()), config)
                .await
                .expect("open"),
        )
    }

    async fn new(store: Store) -> Sim {
        let url = fresh_url(store).await;
        let clock = ManualClock::new(T0);
        let ledger = Sim::open(&url, &clock).await;
        let mut sim = Sim {
            url,
            store,
            clock,
            ledger,
            workspaces: Vec::new(),
            holds: Vec::new(),
            answers: HashMap::new(),
            captured: HashMap::new(),
            next_key: 0,
            ops: 0,
            crashes: 0,
            retries: 0,
            spent: Default::default(),
            marks: Vec::new(),
            steps: 0,
            topups: Default::default(),
        };
        for (card, plan) in [
            (LANDING, Some("free")),
            (topups::card(), None),
            (LANDING, Some("starter")),
        ] {
            let ws = sim
                .ledger
                .create_workspace(&Principal::operator(""), "Sim", card, plan)
                .await
                .unwrap();
            let key = sim
                .ledger
                .create_api_key(&Principal::operator(&ws.id), None)
                .await
                .unwrap();
            let backend = sim.ledger.authenticate(&key.secret).await.unwrap();
            let mut members = Vec::new();
            for (name, role) in [
                ("Ana", Role::Admin),
                ("Bo", Role::Member),
                ("Cy", Role::Member),
            ] {
                let m = sim
                    .ledger
                    .add_member(
                        &backend,
                        &NewMember {
                            name: name.into(),
                            role,
                            external_id: None,
                        },
                    )
                    .await
                    .unwrap();
                members.push((m.id, String::new()));
            }
            sim.workspaces.push(Workspace {
                backend,
                wallet: ws.wallet_id,
                members,
                card,
            });
        }
        let backend = sim.workspaces[topups::WS].backend.clone();
        topups::setup(&sim.ledger, &backend, &sim.topups).await;
        sim
    }

    fn key(&mut self) -> String {
        self.next_key += 1;
        format!("sim-{}", self.next_key)
    }

    /// A member's principal, through a session minted when the last one ended.
    async fn member(&mut self, ws: usize, m: usize) -> Principal {
        let token = self.workspaces[ws].members[m].1.clone();
        if let Ok(p) = self.ledger.authenticate(&token).await {
            return p;
        }
        let session = SessionRequest {
            member_id: Some(self.workspaces[ws].members[m].0.clone()),
            ttl_seconds: Some(creditkit_ledger::MAX_SESSION_TTL_SECONDS),
            ..SessionRequest::default()
        };
        let s = self
            .ledger
            .create_session(&self.workspaces[ws].backend, &session)
            .await
            .unwrap();
        self.workspaces[ws].members[m].1 = s.token.clone();
        self.ledger.authenticate(&s.token).await.unwrap()
    }

    /// Runs a keyed call on `ledger` (the caller's principal resolved by `who`).
    async fn run(ledger: &Ledger, who: &Principal, call: &Call, key: &str) -> Value {
        match call {
            Call::Hold { quote_id, .. } => answer(
                &ledger
                    .hold(
                        who,
                        &HoldRequest {
                            quote_id: quote_id.clone(),
                        },
                        key,
                    )
                    .await,
            ),
            Call::Capture {
                hold_id, amount, ..
            } => answer(
                &ledger
                    .capture(
                        who,
                        hold_id,
                        &CaptureRequest {
                            amount_millicredits: *amount,
                            actual: None,
                        },
                        key,
                    )
                    .await,
            ),
            Call::Release { hold_id, .. } => answer(&ledger.release(who, hold_id, key).await),
            Call::Extend {
                hold_id,
                generated,
                reserve,
                ..
            } => answer(
                &ledger
                    .extend(
                        who,
                        hold_id,
                        &ExtendRequest {
                            generated_output_tokens: *generated,
                            reserve_output_tokens: *reserve,
                        },
                        key,
                    )
                    .await,
            ),
            Call::Grant {
                amount,
                expires_at_ms,
                ..
            } => {
                let req = GrantRequest {
                    amount_millicredits: *amount,
                    reason: "simulated grant".into(),
                    wallet_id: None,
                    expires_at_ms: *expires_at_ms,
                };
                answer(&ledger.grant(who, &req, key).await)
            }
        }
    }

    async fn principal(&mut self, call: &Call) -> Principal {
        match call {
            Call::Hold {
                ws,
                member: Some(m),
                ..
            } => self.member(*ws, *m).await,
            Call::Hold { ws, .. }
            | Call::Capture { ws, .. }
            | Call::Release { ws, .. }
            | Call::Extend { ws, .. }
            | Call::Grant { ws, .. } => self.workspaces[*ws].backend.clone(),
        }
    }

    /// Draws one keyed call from the current state.
    async fn draw(&mut self, rng: &mut Rng) -> Option<Call> {
        let ws = rng.below(self.workspaces.len() as u64) as usize;
        match rng.below(100) {
            0..=34 => {
                let member = rng.chance(60).then(|| rng.below(3) as usize);
                let who = match member {
                    Some(m) => self.member(ws, m).await,
                    None => self.workspaces[ws].backend.clone(),
                };
                let project = *rng.pick(&["launch", "chat", "ops"]).unwrap();
                let req = quote_for(rng, self.workspaces[ws].card, project);
                let q = self.ledger.quote(&who, &req).await.ok()?;
                Some(Call::Hold {
                    ws,
                    member,
                    quote_id: q.id,
                })
            }
            35..=59 => {
                let (ws, hold_id, _) = rng.pick(&self.holds)?.clone();
                let amount = match rng.below(4) {
                    0 => None,
                    _ => Some(rng.below(70_000)),
                };
                Some(Call::Capture {
                    ws,
                    hold_id,
                    amount,
                })
            }
            60..=69 => {
                let (ws, hold_id, _) = rng.pick(&self.holds)?.clone();
                Some(Call::Release { ws, hold_id })
            }
            70..=84 => {
                let streams: Vec<_> = self.holds.iter().filter(|h| h.2).cloned().collect();
                let (ws, hold_id, _) = rng.pick(&streams)?.clone();
                let generated = rng.below(1200);
                Some(Call::Extend {
                    ws,
                    hold_id,
                    generated,
                    reserve: generated + rng.below(400),
                })
            }
            _ => Some(Call::Grant {
                ws,
                // The wallet that tops up gets little from grants: it spends down and
                // crosses its threshold again and again.
                amount: 1 + rng.below(if ws == topups::WS { 100 } else { 40_000 }),
                expires_at_ms: rng
                    .chance(50)
                    .then(|| self.clock.now_ms() + 1 + rng.below(40 * DAY_MS as u64) as i64),
            }),
        }
    }

    /// What an acknowledged answer tells the model.
    fn learn(&mut self, call: &Call, value: &Value) {
        let Some(ok) = value.get("ok") else { return };
        match call {
            Call::Hold { ws, .. } => {
                let id = ok["id"].as_str().unwrap().to_string();
                if !self.holds.iter().any(|h| h.1 == id) {
                    self.holds
                        .push((*ws, id, ok.get("stream").is_some_and(|s| !s.is_null())));
                }
            }
            Call::Capture { hold_id, .. } => {
                let captured = ok["captured_millicredits"].as_u64().unwrap_or(0);
                let amount = ok["amount_millicredits"].as_u64().unwrap();
                assert!(captured <= amount, "a capture above its hold: {ok}");
                self.captured.insert(hold_id.clone(), captured);
                self.holds.retain(|h| &h.1 != hold_id);
            }
            Call::Release { hold_id, .. } => self.holds.retain(|h| &h.1 != hold_id),
            Call::Extend { .. } | Call::Grant { .. } => {}
        }
    }

    /// One step: a few keyed calls at once (they share write batches), a retry of an
    /// earlier key, sometimes a clock jump, a sweep, a cap change or a crash.
    async fn step(&mut self, rng: &mut Rng) {
        let width = 1 + rng.below(8);
        let mut at = std::time::Instant::now();
        let mut lap = |spent: &mut [std::time::Duration; 5], i: usize| {
            spent[i] += at.elapsed();
            at = std::time::Instant::now();
        };
        let mut batch = Vec::new();
        for _ in 0..width {
            if let Some(call) = self.draw(rng).await {
                let who = self.principal(&call).await;
                let key = self.key();
                batch.push((call, who, key));
            }
        }
        // A retry of an acknowledged key inside the retention window, at a random
        // later time: same key, same body, the first answer.
        if rng.chance(30) && !self.answers.is_empty() {
            let n = rng.below(self.next_key) + 1;
            let key = format!("sim-{n}");
            if let Some((call, first, at)) = self.answers.get(&key).cloned() {
                if self.clock.now_ms() - at < self.ledger.config().retention_ms - 60_000 {
                    let who = self.principal(&call).await;
                    let again = Sim::run(&self.ledger, &who, &call, &key).await;
                    if first.get("ok").is_some() {
                        assert_eq!(again, first, "key {key} ({call:?}) answered differently");
                    } else if again != first {
                        // A refusal decided before anything changed is not stored (as at
                        // Stripe): the retry is decided again, and its answer stands.
                        assert_ne!(again["err"]["code"], "internal", "{again}");
                        self.learn(&call, &again);
                        let at = self.clock.now_ms();
                        self.answers.insert(key.clone(), (call, again, at));
                    }
                    self.retries += 1;
                }
            }
        }
        lap(&mut self.spent, 0);
        let crash = rng.chance(2);
        let crash_after_us = rng.below(3000);
        let mut tasks = Vec::new();
        for (call, who, key) in batch {
            let ledger = self.ledger.clone();
            tasks.push(tokio::spawn(async move {
                let value = Sim::run(&ledger, &who, &call, &key).await;
                (call, key, value)
            }));
        }
        self.ops += tasks.len() as u64;
        // The payment provider, beside them (auto top-up).
        let rolls = [rng.next(), rng.next(), rng.next(), rng.next()];
        let provider = topups::provider(
            self.ledger.clone(),
            self.workspaces[topups::WS].backend.clone(),
            self.topups.clone(),
            rolls,
        );
        let mut lost = Vec::new();
        if crash {
            tokio::time::sleep(std::time::Duration::from_micros(crash_after_us)).await;
            self.ledger.crash().await;
        }
        for t in tasks {
            let (call, key, value) = t.await.unwrap();
            let internal = value["err"]["code"] == "internal";
            if internal {
                assert!(
                    crash,
                    "an internal error without a crash: {value} for {call:?}"
                );
                lost.push((call, key));
                continue;
            }
            self.learn(&call, &value);
            self.answers.insert(key, (call, value, self.clock.now_ms()));
        }
        provider.await.unwrap();
        lap(&mut self.spent, 1);
        if crash {
            self.crashes += 1;
            self.ledger = Sim::open(&self.url, &self.clock).await;
            self.check_acknowledged().await;
            // The calls that got no answer are retried with their keys, as a client
            // would: each happened entirely or not at all, so the retry succeeds.
            for (call, key) in lost {
                let who = self.principal(&call).await;
                let value = Sim::run(&self.ledger, &who, &call, &key).await;
                assert_ne!(value["err"]["code"], "internal", "{value}");
                self.learn(&call, &value);
                self.answers.insert(key, (call, value, self.clock.now_ms()));
            }
        }
        let wallet = &self.workspaces[topups::WS].wallet;
        topups::check(&self.ledger, wallet, &self.topups, self.ops).await;
        lap(&mut self.spent, 2);
        match rng.below(100) {
            0..=14 => self.clock.advance(1 + rng.below(20 * 60_000) as i64),
            15..=17 => self
                .clock
                .advance(DAY_MS + rng.below(40 * DAY_MS as u64) as i64),
            18..=24 => {
                self.ledger.sweep().await.unwrap();
            }
            25..=27 => self.change_cap(rng).await,
            _ => {}
        }
        lap(&mut self.spent, 3);
        // Every step (crashes included): the invariants, over the entries written since
        // the last step (they are append-only). Every 500th step and at the end: over
        // everything, which also shows no older entry changed.
        self.steps += 1;
        let full = self.steps.is_multiple_of(500);
        self.marks
            .resize(self.workspaces.len(), AuditMark::default());
        for (w, mark) in self.workspaces.iter().zip(self.marks.iter_mut()) {
            let checked = if full {
                self.ledger.audit(&w.wallet).await
            } else {
                self.ledger.audit_from(&w.wallet, mark).await
            };
            if let Err(e) = checked {
                panic!("audit after op {}: {e}", self.ops);
            }
        }
        lap(&mut self.spent, 4);
    }

    async fn change_cap(&mut self, rng: &mut Rng) {
        let ws = rng.below(self.workspaces.len() as u64) as usize;
        let admin = self.member(ws, 0).await;
        let caps = self.ledger.caps(&admin, None).await.unwrap();
        if caps.len() >= 3 || (rng.chance(30) && !caps.is_empty()) {
            let cap = rng.pick(&caps).unwrap().id.clone();
            self.ledger.delete_cap(&admin, &cap).await.unwrap();
            return;
        }
        let (scope, subject) = match rng.below(3) {
            0 => (
                CapScope::Member,
                Some(
                    self.workspaces[ws].members[1 + rng.below(2) as usize]
                        .0
                        .clone(),
                ),
            ),
            1 => (CapScope::Project, Some("chat".to_string())),
            _ => (CapScope::Wallet, None),
        };
        let period = *rng
            .pick(&[
                CapPeriod::Day,
                CapPeriod::Week,
                CapPeriod::Month,
                CapPeriod::Cycle,
            ])
            .unwrap();
        let cap = NewCap {
            scope,
            subject,
            wallet_id: None,
            limit_millicredits: 1_000 + rng.below(200_000),
            period,
        };
        self.ledger.create_cap(&admin, &cap).await.unwrap();
    }

    /// After a restart: every acknowledged capture is there with its amount.
    async fn check_acknowledged(&mut self) {
        for (hold_id, captured) in &self.captured {
            let ws = self
                .answers
                .values()
                .find_map(|(c, _, _)| match c {
                    Call::Capture { ws, hold_id: h, .. } if h == hold_id => Some(*ws),
                    _ => None,
                })
                .unwrap();
            let h = self
                .ledger
                .get_hold(&self.workspaces[ws].backend, hold_id)
                .await
                .unwrap_or_else(|e| panic!("acknowledged hold {hold_id} lost: {e}"));
            assert_eq!(
                h.captured_millicredits.unwrap_or(0),
                *captured,
                "acknowledged capture of {hold_id} changed after a crash"
            );
        }
    }
}

/// `runs` simulations of `ops` operations each, each on a fresh database with its own
/// seed (printed). `CREDITKIT_SIM_SEED` replays one run; `CREDITKIT_SIM_OPS` sets the
/// length of a single run (`cargo xtask sim`).
async fn simulate_runs(store: Store, runs: u32, ops: u64) {
    let seed = std::env::var("CREDITKIT_SIM_SEED")
        .ok()
        .and_then(|s| s.parse().ok());
    let long = std::env::var("CREDITKIT_SIM_OPS")
        .ok()
        .and_then(|s| s.parse().ok());
    let (runs, ops) = match (seed, long) {
        (Some(_), Some(n)) | (None, Some(n)) => (1, n),
        (Some(_), None) => (1, ops),
        (None, None) => (runs, ops),
    };
    for _ in 0..runs {
        let seed = seed.unwrap_or_else(|| {
            let mut b = [0u8; 8];
            getrandom::getrandom(&mut b).unwrap();
            u64::from_le_bytes(b)
        });
        simulate(store, seed, ops).await;
    }
}

async fn simulate(store: Store, seed: u64, ops: u64) {
    println!("simulation on {store:?}: seed {seed} (replay: CREDITKIT_SIM_SEED={seed} CREDITKIT_SIM_OPS={ops}), {ops} operations");
    let mut rng = Rng(seed);
    let mut sim = Sim::new(store).await;
    let started = std::time::Instant::now();
    let result = tokio::spawn(async move {
        let mut reported = 0;
        while sim.ops < ops {
            sim.step(&mut rng).await;
            if sim.ops / 10_000 > reported {
                reported = sim.ops / 10_000;
                let [draw, run, crash, clock, audit] = sim.spent.map(|d| d.as_secs_f64());
                println!(
                    "simulation on {:?}: {} operations, {:.1} s (drawing {draw:.1}, running {run:.1}, crashes {crash:.1}, clock {clock:.1}, audits {audit:.1})",
                    sim.store,
                    sim.ops,
                    started.elapsed().as_secs_f64()
                );
            }
        }
        sim
    })
    .await;
    let sim = match result {
        Ok(sim) => sim,
        Err(e) => panic!("simulation failed with seed {seed}: {e}"),
    };
    for w in &sim.workspaces {
        sim.ledger.audit(&w.wallet).await.unwrap();
    }
    let rows = sim.ledger.row_counts().await.unwrap();
    let wallet = &sim.workspaces[topups::WS].wallet;
    println!(
        "simulation on {:?}: {}",
        sim.store,
        topups::report(&sim.ledger, wallet, &sim.topups).await
    );
    println!(
        "simulation on {:?}: {} operations, {} crashes, {} retries answered as first, {} captures checked after crashes, {:.1} s (seed {seed}); rows {rows:?}",
        sim.store,
        sim.ops,
        sim.crashes,
        sim.retries,
        sim.captured.len(),
        started.elapsed().as_secs_f64(),
    );
    let [draw, run, crash, clock, audit] = sim.spent.map(|d| d.as_secs_f64());
    println!(
        "simulation on {:?}: time drawing calls {draw:.1} s, running them {run:.1} s, crashes and reopening {crash:.1} s, clock and sweeps {clock:.1} s, audits {audit:.1} s",
        sim.store
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulation_on_sqlite() {
    // 100,000 operations per run of the tests, as four histories of 25,000.
    simulate_runs(Store::Sqlite, 4, 25_000).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn simulation_on_postgres() {
    simulate_runs(Store::Postgres, 1, 10_000).await;
}
