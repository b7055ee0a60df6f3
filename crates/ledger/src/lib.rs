//! `creditkit-ledger`: the single source of truth for balances.
//!
//! A wallet's credits live in **grants** (plan allowance, pack, free grant), each with
//! its own expiry. A **quote** prices a request with the workspace's card; a **hold**
//! reserves the quote's maximum from specific grants (soonest-expiring first, then
//! oldest); a **capture** charges the actual amount, never more than held, from those
//! same grants; a **release** returns everything (a failed operation costs nothing).
//!
//! **Invariants** (checked by [`Ledger::audit`] and the property tests):
//! every change is ledger entries written in one transaction; `balance == Σ entries`,
//! `held == Σ held entries == Σ active holds`; per grant `0 <= held <= remaining`; so
//! no balance is ever negative and `held <= balance`; `captured <= held <= quote max`;
//! a retried call with the same idempotency key returns the first result.

mod access;
mod agents;
mod allowance;
mod audit;
mod caps;
mod capture;
mod cards;
mod checkouts;
mod credits;
mod db;
mod earnings;
mod entitlements;
mod error;
mod holds;
mod idempotency;
mod members;
mod outbox;
mod payouts;
mod purchases;
mod quotes;
mod reads;
mod signed;
mod stream;
mod subscriptions;
pub mod testing;
pub mod time;
mod topups;
mod wallet;
mod workspaces;
mod write;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use creditkit_pricing::{Card, Request, MILLI_PER_CREDIT};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tokio::sync::broadcast;

pub use access::{
    Principal, API_KEY_PREFIX, DEFAULT_SESSION_TTL_SECONDS, MAX_ROTATION_GRACE_SECONDS,
    MAX_SESSION_TTL_SECONDS, MIN_SESSION_TTL_SECONDS, OPERATOR_KEY_PREFIX, SESSION_PREFIX,
};
pub use audit::AuditMark;
pub use caps::MAX_CAPS_PER_WALLET;
pub use cards::CardTerms;
pub use credits::MAX_REASON_CHARS;
pub use db::{Dialect, WriterStats};
pub use error::LedgerError;
pub use outbox::{
    backoff_ms, check_webhook_target, is_private_address, DueDelivery, DELIVERY_LEASE_MS,
    DELIVERY_WINDOW_MS, EVENT_RETENTION_MS, PROVIDER_EVENT_RETENTION_MS,
};
pub use payouts::PayoutTransfer;
pub use purchases::{CheckoutDraft, Paid, PaidPeriod};
pub use subscriptions::{PeriodReason, PlanChange, SubscriptionUpdate};
use time::Clock;
pub use topups::{DueTopUp, TopUpOutcome, TopUpState, TOPUP_BACKOFF_MS, TOPUP_FAILURES_TO_PAUSE};
pub(crate) use wallet::{Entry, WalletRow};
pub(crate) use write::{Begun, Call};

pub(crate) type Result<T, E = LedgerError> = std::result::Result<T, E>;
pub(crate) use db::Tx;

/// Tunables, each with a limit.
#[derive(Clone, Debug)]
pub struct Config {
    /// How long a quote can be confirmed.
    pub quote_ttl_ms: i64,
    /// How long a hold waits for capture before releasing itself.
    pub hold_ttl_ms: i64,
    pub default_low_threshold_millicredits: u64,
    pub default_critical_threshold_millicredits: u64,
    /// Most grants one hold may draw from.
    pub max_grants_per_hold: usize,
    /// Most active holds on one wallet.
    pub max_active_holds: i64,
    /// The platform's share of publisher add-ons, in percent (Kopai: 30).
    pub platform_share_percent: u64,
    /// How long an earning stays pending before it can be paid out (Kopai: ~24 h).
    pub earnings_settle_ms: i64,
    /// Smallest payout a creator may request.
    pub minimum_payout_millicredits: u64,
    /// How long an idempotency key replays its first answer (Stripe: 24 hours), and how
    /// long a quote nobody confirmed is kept after it expired.
    pub retention_ms: i64,
    /// SQLite only. `true` (the default): `synchronous = FULL`, an acknowledged write
    /// survives a power cut. `false`: `NORMAL`, it survives a process crash but a power
    /// cut may lose the last commits (the simulation uses it to run more operations).
    pub power_safe: bool,
    /// SQLite only. `true` (the default): the log is copied back into the database by a
    /// thread of its own (`db/sqlite/checkpoint.rs`), never inside a commit. `false`:
    /// SQLite's default, a commit that crosses 1,000 pages of log copies it (the HTTP
    /// bench runs both side by side).
    pub background_checkpoint: bool,
    /// Outbound webhooks may go to loopback, link-local and private addresses (a
    /// receiver on the same machine or network). Off by default: an endpoint's URL is
    /// otherwise a way to make the server call inside its own network.
    pub allow_private_webhooks: bool,
    /// How far ahead a card version that raises or removes a price is scheduled
    /// (seed 000: customers are told in advance). 14 days.
    pub price_notice_ms: i64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            quote_ttl_ms: 10 * 60 * 1000,
            hold_ttl_ms: 15 * 60 * 1000,
            default_low_threshold_millicredits: 100 * MILLI_PER_CREDIT,
            default_critical_threshold_millicredits: 10 * MILLI_PER_CREDIT,
            max_grants_per_hold: 64,
            max_active_holds: 10_000,
            platform_share_percent: 30,
            earnings_settle_ms: 24 * 60 * 60 * 1000,
            minimum_payout_millicredits: 100 * MILLI_PER_CREDIT,
            retention_ms: 24 * 60 * 60 * 1000,
            power_safe: true,
            background_checkpoint: true,
            allow_private_webhooks: false,
            price_notice_ms: 14 * 24 * 60 * 60 * 1000,
        }
    }
}

/// Largest single amount the ledger accepts: 10^15 milli-credits (a trillion credits),
/// far below `i64::MAX`, so sums of many amounts cannot overflow the database.
pub const MAX_AMOUNT_MILLICREDITS: u64 = 1_000_000_000_000_000;
/// Idempotency keys: 1 to 200 printable ASCII characters.
pub const MAX_IDEMPOTENCY_KEY_BYTES: usize = 200;
pub const MAX_PAGE_LIMIT: u32 = 200;

pub struct Ledger {
    /// Reads (on SQLite, read-only connections beside the writer's).
    pub(crate) pool: db::ReadPool,
    /// Every write goes through here, and only from `write.rs`.
    pub(crate) writes: write::Writes,
    pub(crate) dialect: Dialect,
    clock: Arc<dyn Clock>,
    pub(crate) config: Config,
    events: broadcast::Sender<String>,
    pub(crate) cards: Mutex<HashMap<String, Arc<Card>>>,
    /// Each wallet's workspace, kind and owner, which never change once created.
    pub(crate) wallet_owners: Mutex<HashMap<String, wallet::WalletOwner>>,
    /// When each credential was last recorded as used (written at most once a minute).
    pub(crate) last_used: Mutex<HashMap<String, i64>>,
    /// The webhook endpoints events fan out to, and when they were read.
    pub(crate) subscriptions: Mutex<Option<(i64, Arc<Vec<outbox::Subscription>>)>>,
    /// Woken after commits that may have written events (the delivery worker waits on it).
    outbox_ready: tokio::sync::Notify,
    /// On PostgreSQL, the wallets changed by committed writes, on their way to every
    /// instance (`announcer`).
    announce: Option<tokio::sync::mpsc::UnboundedSender<String>>,
    /// Signs the quotes this database gives and checks the ones it is handed back.
    pub(crate) quote_key: signed::QuoteKey,
}

/// A new id: `{prefix}_` then the time in milliseconds (12 hex digits) and 64 random bits.
/// Time first, so the rows a busy ledger inserts land at the right edge of each index
/// (quotes, holds, events, entries by hold) and share its pages within a commit, instead
/// of each dirtying a leaf of its own somewhere in the tree: random ids wrote about twice
/// the pages per charge to SQLite's log (see ARCHITECTURE.md, "Ledger invariants").
pub(crate) fn new_id(prefix: &str) -> String {
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64);
    let mut bytes = [0u8; 14];
    bytes[..6].copy_from_slice(&now_ms.to_be_bytes()[2..]);
    random_bytes(&mut bytes[6..]);
    format!("{prefix}_{}", hex(&bytes))
}

/// Fills `out` from a per-thread buffer of the OS's random bytes, each byte used once
/// (ids are made several times per charge; one `getrandom` call serves 64 of them).
fn random_bytes(out: &mut [u8]) {
    use std::cell::RefCell;
    const POOL: usize = 512;
    thread_local! {
        static BYTES: RefCell<([u8; POOL], usize)> = const { RefCell::new(([0; POOL], POOL)) };
    }
    BYTES.with_borrow_mut(|(pool, used)| {
        assert!(out.len() <= POOL);
        if POOL - *used < out.len() {
            getrandom::getrandom(pool).expect("the OS random source works");
            *used = 0;
        }
        let taken = &mut pool[*used..*used + out.len()];
        out.copy_from_slice(taken);
        taken.fill(0);
        *used += out.len();
    });
}

pub(crate) fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).expect("the OS random source works");
    format!("{prefix}_{}", hex(&bytes))
}

pub(crate) fn sha256_hex(data: &[u8]) -> String {
    hex(&Sha256::digest(data))
}

/// Lower-case hex of `bytes`, in one allocation (ids, hashes and signatures are made on
/// every call).
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

pub(crate) fn to_i64(amount: u64) -> Result<i64> {
    if amount > MAX_AMOUNT_MILLICREDITS {
        return Err(LedgerError::invalid(format!(
            "amount {} credits is above the limit of {} credits",
            error::fmt_mc(amount),
            MAX_AMOUNT_MILLICREDITS / MILLI_PER_CREDIT
        )));
    }
    Ok(amount as i64)
}

pub(crate) fn to_u64(v: i64) -> u64 {
    debug_assert!(v >= 0, "a stored level is never negative");
    v.max(0) as u64
}

impl Ledger {
    /// Opens (and migrates) `sqlite://path?mode=rwc` or `postgres://…`.
    pub async fn open(url: &str, clock: Arc<dyn Clock>, config: Config) -> Result<Ledger> {
        let (pool, writer, dialect) =
            db::connect(url, config.power_safe, config.background_checkpoint).await?;
        let writes = write::Writes::new(writer);
        let quote_key = writes.quote_key().await?;
        let (events, _) = broadcast::channel(1024);
        let announce = match (&pool, dialect) {
            (db::ReadPool::Sqlx(pg), Dialect::Postgres) => {
                let (send, receive) = tokio::sync::mpsc::unbounded_channel();
                tokio::spawn(db::announcer(pg.clone(), events.clone(), receive));
                Some(send)
            }
            _ => None,
        };
        Ok(Ledger {
            pool,
            writes,
            dialect,
            clock,
            config,
            events,
            cards: Mutex::new(HashMap::new()),
            wallet_owners: Mutex::new(HashMap::new()),
            last_used: Mutex::new(HashMap::new()),
            subscriptions: Mutex::new(None),
            outbox_ready: tokio::sync::Notify::new(),
            announce,
            quote_key,
        })
    }

    pub fn dialect(&self) -> Dialect {
        self.dialect
    }

    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Wallet ids, sent after every committed change to that wallet.
    pub fn subscribe(&self) -> broadcast::Receiver<String> {
        self.events.subscribe()
    }

    /// Tells this process's subscribers that a wallet changed.
    pub fn notify(&self, wallet_id: &str) {
        let _ = self.events.send(wallet_id.to_string());
    }

    /// Waits until a commit may have written events (or `max` passes).
    pub async fn outbox_wait(&self, max: std::time::Duration) {
        let _ = tokio::time::timeout(max, self.outbox_ready.notified()).await;
    }

    /// After the commit of a write: tells every instance that these wallets changed.
    /// On SQLite (one machine) straight to this process's subscribers; on PostgreSQL
    /// through NOTIFY, sent by `announcer` after the commit, outside the transaction:
    /// a NOTIFY inside it took PostgreSQL's one notification lock at commit and held it
    /// through the commit's flush, so every write of the database committed one at a
    /// time. (A crash between a commit and its NOTIFY loses a live update, not data: a
    /// browser reads the balance again when its stream reconnects.)
    pub(crate) fn committed(&self, wallet_ids: &[&str]) {
        self.outbox_ready.notify_one();
        for wallet_id in wallet_ids {
            self.changed_without_event(wallet_id);
        }
    }

    fn changed_without_event(&self, wallet_id: &str) {
        match &self.announce {
            Some(announce) if announce.send(wallet_id.to_string()).is_ok() => {}
            _ => self.notify(wallet_id),
        }
    }

    /// On PostgreSQL, listens for other instances' changes and forwards them to this
    /// process's subscribers until the returned task is dropped or the pool closes.
    pub async fn spawn_listener(
        self: &Arc<Self>,
        url: &str,
    ) -> Result<Option<tokio::task::JoinHandle<()>>> {
        if self.dialect != Dialect::Postgres {
            return Ok(None);
        }
        let mut listener = sqlx::postgres::PgListener::connect(url).await?;
        listener.listen("creditkit_wallets").await?;
        let weak = Arc::downgrade(self);
        Ok(Some(tokio::spawn(async move {
            loop {
                match listener.recv().await {
                    Ok(n) => match weak.upgrade() {
                        Some(ledger) => ledger.notify(n.payload()),
                        None => return,
                    },
                    // PgListener reconnects by itself; back off a little on errors.
                    Err(_) => tokio::time::sleep(std::time::Duration::from_millis(500)).await,
                }
            }
        })))
    }

    pub async fn close(&self) {
        self.writes.close().await;
        self.pool.close().await;
    }

    /// Stops as a killed process would: writes not yet committed are lost and their
    /// callers get an error; nothing is flushed. For crash tests and the simulation.
    #[doc(hidden)]
    pub async fn crash(&self) {
        self.writes.crash().await;
        self.pool.close().await;
    }

    /// Write batches committed and the writes in them (SQLite's group commit).
    pub async fn writer_stats(&self) -> WriterStats {
        self.writes.stats().await
    }
}

pub(crate) fn payload_hash<T: Serialize>(op: &str, payload: &T) -> String {
    let body = serde_json::to_vec(payload).unwrap_or_default();
    let mut h = Sha256::new();
    h.update(op.as_bytes());
    h.update([0]);
    h.update(&body);
    hex(&h.finalize())
}

/// Checks a caller's idempotency key and returns it as stored: within the caller's
/// credential class ([`Principal::idempotency_scope`]), so no caller can take a key
/// another will use (a browser cannot occupy the key the backend settles with). A
/// caller's key has no space; the scope ends at the first one. Keys the ledger makes
/// itself (a provider's event ids) have no space either: a namespace of their own.
pub(crate) fn check_key(p: &Principal, key: &str) -> Result<String> {
    if key.is_empty()
        || key.len() > MAX_IDEMPOTENCY_KEY_BYTES
        || !key.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(LedgerError::Invalid {
            path: Some("Idempotency-Key".into()),
            message: format!("an idempotency key of 1 to {MAX_IDEMPOTENCY_KEY_BYTES} printable ASCII characters is required"),
        });
    }
    Ok(format!("{} {key}", p.idempotency_scope()))
}

/// The key a caller sent, without the scope [`check_key`] put before it (for messages).
pub(crate) fn unscoped_key(stored: &str) -> &str {
    stored.split_once(' ').map_or(stored, |(_, key)| key)
}

/// The exact token count of `text` with the compiled-in ranks (loaded on first use).
pub fn count_tokens(encoding: creditkit_tokens::Encoding, text: &str) -> u64 {
    creditkit_tokens::Bpe::embedded(encoding).count(text)
}

/// Counts a request's chat `input_text` with the compiled-in ranks, exactly as the
/// browser does with the ranks it fetched (the same function in `creditkit-pricing`).
/// Only the count is kept: the text itself is not stored.
pub(crate) fn count_text(card: &Card, request: &Request) -> Result<Request> {
    creditkit_pricing::count_input_text(card, request, |name| {
        creditkit_tokens::Encoding::from_name(name)
            .map(|e| creditkit_tokens::Bpe::embedded(e) as &dyn creditkit_tokens::Tokenizer)
    })
    .map(|c| c.request)
    .map_err(LedgerError::Estimate)
}
