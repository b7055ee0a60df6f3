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

mod error;
mod store;
pub mod testing;
pub mod time;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use creditkit_api::{
    Balance, BalanceState, CaptureRequest, Hold, HoldRequest, HoldStatus, Member, MemberCreated,
    Page, Quote, QuoteRequest, Role, TopUpRequest, Transaction, TransactionKind, Usage, UsageGroup,
    UsageRow, WalletKind, Workspace,
};
use creditkit_pricing::{
    estimate, parse_card, shortfall, Card, CardRef, Millicredits, Renewal, Request,
    MILLI_PER_CREDIT,
};
use serde::{de::DeserializeOwned, Serialize};
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::AnyPool;
use sqlx::{Any, Row, Transaction as SqlTx};
use tokio::sync::broadcast;

pub use error::LedgerError;
pub use store::Dialect;
use time::{add_months, cycle_index, month_key, Clock};

type Result<T, E = LedgerError> = std::result::Result<T, E>;
type Tx<'c> = SqlTx<'c, Any>;

/// How an idempotent write on a wallet starts (see [`Ledger::begin_write`]).
enum Write<T> {
    /// The key ran before: its recorded answer, success or refusal.
    Replayed(Result<T>),
    /// A new call: its transaction, the wallet locked and settled.
    Fresh(Tx<'static>, WalletRow),
}

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
        }
    }
}

/// Who is calling: an operator's API key (acts as owner, no member) or a member.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub workspace_id: String,
    pub member_id: Option<String>,
    pub role: Role,
}

/// Largest single amount the ledger accepts: 10^15 milli-credits (a trillion credits),
/// far below `i64::MAX`, so sums of many amounts cannot overflow the database.
pub const MAX_AMOUNT_MILLICREDITS: u64 = 1_000_000_000_000_000;
/// Idempotency keys: 1 to 200 printable ASCII characters.
pub const MAX_IDEMPOTENCY_KEY_BYTES: usize = 200;
pub const MAX_PAGE_LIMIT: u32 = 200;

pub struct Ledger {
    pool: AnyPool,
    dialect: Dialect,
    clock: Arc<dyn Clock>,
    config: Config,
    events: broadcast::Sender<String>,
    cards: Mutex<HashMap<String, Arc<Card>>>,
}

/// A wallet row, locked for the duration of a transaction.
#[derive(Clone, Debug)]
struct WalletRow {
    id: String,
    workspace_id: String,
    kind: WalletKind,
    plan_id: Option<String>,
    plan_credits_mc: Option<i64>,
    cycle_anchor_ms: Option<i64>,
    cycle_index: Option<i64>,
    balance_mc: i64,
    held_mc: i64,
}

/// An entry to write.
#[derive(Default)]
struct Entry<'a> {
    kind: &'a str,
    balance_delta_mc: i64,
    held_delta_mc: i64,
    grant_id: Option<&'a str>,
    hold_id: Option<&'a str>,
    member_id: Option<&'a str>,
    action: Option<&'a str>,
    project: Option<&'a str>,
    note: Option<&'a str>,
    earnings_delta_mc: i64,
    platform_share_mc: i64,
    available_at_ms: Option<i64>,
}

fn new_id(prefix: &str) -> String {
    let mut bytes = [0u8; 12];
    getrandom::getrandom(&mut bytes).expect("the OS random source works");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}_{hex}")
}

fn new_secret(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes).expect("the OS random source works");
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{prefix}_{hex}")
}

fn sha256_hex(data: &[u8]) -> String {
    Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn to_i64(amount: u64) -> Result<i64> {
    if amount > MAX_AMOUNT_MILLICREDITS {
        return Err(LedgerError::invalid(format!(
            "amount {} credits is above the limit of {} credits",
            error::fmt_mc(amount),
            MAX_AMOUNT_MILLICREDITS / MILLI_PER_CREDIT
        )));
    }
    Ok(amount as i64)
}

fn to_u64(v: i64) -> u64 {
    debug_assert!(v >= 0, "a stored level is never negative");
    v.max(0) as u64
}

impl Ledger {
    /// Opens (and migrates) `sqlite://path?mode=rwc` or `postgres://…`.
    pub async fn open(url: &str, clock: Arc<dyn Clock>, config: Config) -> Result<Ledger> {
        let (pool, dialect) = store::connect(url).await?;
        let (events, _) = broadcast::channel(1024);
        Ok(Ledger {
            pool,
            dialect,
            clock,
            config,
            events,
            cards: Mutex::new(HashMap::new()),
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

    /// After a commit: tells every instance. On PostgreSQL through NOTIFY (each
    /// instance's listener, this one's included, forwards it to its subscribers);
    /// on SQLite, one machine, straight to this process's subscribers.
    async fn changed(&self, wallet_id: &str) {
        match self.dialect {
            Dialect::Sqlite => self.notify(wallet_id),
            Dialect::Postgres => {
                let sent = sqlx::query("SELECT pg_notify('creditkit_wallets', $1)")
                    .bind(wallet_id)
                    .execute(&self.pool)
                    .await;
                if sent.is_err() {
                    self.notify(wallet_id); // at least this instance hears it
                }
            }
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
        self.pool.close().await;
    }

    // ---------------------------------------------------------------- workspaces

    /// Creates a workspace with its shared wallet, priced by `card_json`, optionally on
    /// a plan of that card.
    pub async fn create_workspace(
        &self,
        name: &str,
        card_json: &str,
        plan_id: Option<&str>,
    ) -> Result<Workspace> {
        let card = parse_card(card_json).map_err(LedgerError::Card)?;
        if name.trim().is_empty() || name.len() > 200 {
            return Err(LedgerError::invalid(
                "workspace name must be 1 to 200 characters",
            ));
        }
        let now = self.now_ms();
        let ws_id = new_id("ws");
        let wallet_id = new_id("wal");
        let mut tx = self.pool.begin().await?;
        self.store_card(&mut tx, &card, card_json, now).await?;
        sqlx::query("INSERT INTO workspaces (id, name, card_hash, low_threshold_mc, critical_threshold_mc, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&ws_id)
            .bind(name)
            .bind(card.hash())
            .bind(self.config.default_low_threshold_millicredits as i64)
            .bind(self.config.default_critical_threshold_millicredits as i64)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO wallets (id, workspace_id, kind) VALUES ($1, $2, 'workspace')")
            .bind(&wallet_id)
            .bind(&ws_id)
            .execute(&mut *tx)
            .await?;
        if let Some(plan) = plan_id {
            let mut w = self.lock_wallet(&mut tx, &wallet_id).await?;
            self.apply_plan(&mut tx, &card, &mut w, plan, now).await?;
            self.save_wallet(&mut tx, &w).await?;
        }
        tx.commit().await?;
        self.workspace(&ws_id).await
    }

    pub async fn workspace(&self, ws_id: &str) -> Result<Workspace> {
        let row = sqlx::query(
            "SELECT w.id, w.name, w.card_hash, w.low_threshold_mc, w.critical_threshold_mc, \
             (SELECT id FROM wallets WHERE workspace_id = w.id AND kind = 'workspace' ORDER BY id LIMIT 1) \
             FROM workspaces w WHERE w.id = $1",
        )
        .bind(ws_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| LedgerError::NotFound(format!("workspace `{ws_id}`")))?;
        let card = self.card_by_hash(&row.try_get::<String, _>(2)?).await?;
        Ok(Workspace {
            id: row.try_get(0)?,
            name: row.try_get(1)?,
            card: CardRef {
                id: card.id.clone(),
                version: card.version.clone(),
                hash: card.hash().to_string(),
            },
            low_threshold_millicredits: to_u64(row.try_get(3)?),
            critical_threshold_millicredits: to_u64(row.try_get(4)?),
            wallet_id: row.try_get(5)?,
        })
    }

    /// Replaces the workspace's rate card. Quotes already given keep their card.
    pub async fn set_card(&self, p: &Principal, card_json: &str) -> Result<CardRef> {
        require_admin(p)?;
        let card = parse_card(card_json).map_err(LedgerError::Card)?;
        let mut tx = self.pool.begin().await?;
        self.store_card(&mut tx, &card, card_json, self.now_ms())
            .await?;
        sqlx::query("UPDATE workspaces SET card_hash = $1 WHERE id = $2")
            .bind(card.hash())
            .bind(&p.workspace_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(CardRef {
            id: card.id.clone(),
            version: card.version.clone(),
            hash: card.hash().to_string(),
        })
    }

    pub async fn set_thresholds(&self, p: &Principal, low: u64, critical: u64) -> Result<()> {
        require_admin(p)?;
        if critical > low {
            return Err(LedgerError::invalid(format!(
                "critical threshold {} is above the low threshold {}",
                error::fmt_mc(critical),
                error::fmt_mc(low)
            )));
        }
        sqlx::query(
            "UPDATE workspaces SET low_threshold_mc = $1, critical_threshold_mc = $2 WHERE id = $3",
        )
        .bind(to_i64(low)?)
        .bind(to_i64(critical)?)
        .bind(&p.workspace_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn store_card(&self, tx: &mut Tx<'_>, card: &Card, json: &str, now: i64) -> Result<()> {
        let exists: Option<(String,)> = sqlx::query_as("SELECT hash FROM cards WHERE hash = $1")
            .bind(card.hash())
            .fetch_optional(&mut **tx)
            .await?;
        if exists.is_none() {
            sqlx::query("INSERT INTO cards (hash, json, created_at_ms) VALUES ($1, $2, $3)")
                .bind(card.hash())
                .bind(json)
                .bind(now)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    async fn card_by_hash(&self, hash: &str) -> Result<Arc<Card>> {
        if let Some(c) = self.cards.lock().expect("card cache").get(hash) {
            return Ok(c.clone());
        }
        let (json,): (String,) = sqlx::query_as("SELECT json FROM cards WHERE hash = $1")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| {
                LedgerError::Corrupt(format!("card {hash} is referenced but not stored"))
            })?;
        let card = Arc::new(
            parse_card(&json)
                .map_err(|e| LedgerError::Corrupt(format!("stored card {hash}: {e}")))?,
        );
        self.cards
            .lock()
            .expect("card cache")
            .insert(hash.to_string(), card.clone());
        Ok(card)
    }

    /// The card currently pricing a workspace.
    pub async fn card(&self, ws_id: &str) -> Result<Arc<Card>> {
        let (hash,): (String,) = sqlx::query_as("SELECT card_hash FROM workspaces WHERE id = $1")
            .bind(ws_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| LedgerError::NotFound(format!("workspace `{ws_id}`")))?;
        self.card_by_hash(&hash).await
    }

    /// The card JSON as stored, for the browser to price with.
    pub async fn card_json(&self, ws_id: &str) -> Result<String> {
        let (json,): (String,) = sqlx::query_as(
            "SELECT c.json FROM cards c JOIN workspaces w ON w.card_hash = c.hash WHERE w.id = $1",
        )
        .bind(ws_id)
        .fetch_optional(&self.pool)
        .await?
        .ok_or_else(|| LedgerError::NotFound(format!("workspace `{ws_id}`")))?;
        Ok(json)
    }

    // ---------------------------------------------------------------- credentials

    /// A new API key for the operator's backend. Only its hash is stored.
    pub async fn create_api_key(&self, ws_id: &str) -> Result<String> {
        let key = new_secret("ck_key");
        sqlx::query("INSERT INTO api_keys (id, workspace_id, key_hash, created_at_ms) VALUES ($1, $2, $3, $4)")
            .bind(new_id("key"))
            .bind(ws_id)
            .bind(sha256_hex(key.as_bytes()))
            .bind(self.now_ms())
            .execute(&self.pool)
            .await?;
        Ok(key)
    }

    /// Adds a member with a personal wallet; returns the member's session token once.
    pub async fn add_member(&self, p: &Principal, name: &str, role: Role) -> Result<MemberCreated> {
        require_admin(p)?;
        if role == Role::Owner && p.member_id.is_some() && p.role != Role::Owner {
            return Err(LedgerError::Forbidden(
                "only an owner can add an owner".into(),
            ));
        }
        self.insert_member(&p.workspace_id, name, role).await
    }

    /// Bootstrap (no principal yet): the first owner of a new workspace.
    pub async fn insert_member(
        &self,
        ws_id: &str,
        name: &str,
        role: Role,
    ) -> Result<MemberCreated> {
        if name.trim().is_empty() || name.len() > 200 {
            return Err(LedgerError::invalid(
                "member name must be 1 to 200 characters",
            ));
        }
        let id = new_id("mem");
        let token = new_secret("ck_session");
        let mut tx = self.pool.begin().await?;
        sqlx::query("INSERT INTO members (id, workspace_id, name, role, token_hash, created_at_ms) VALUES ($1, $2, $3, $4, $5, $6)")
            .bind(&id)
            .bind(ws_id)
            .bind(name)
            .bind(role.as_str())
            .bind(sha256_hex(token.as_bytes()))
            .bind(self.now_ms())
            .execute(&mut *tx)
            .await?;
        sqlx::query("INSERT INTO wallets (id, workspace_id, kind, owner_member_id) VALUES ($1, $2, 'personal', $3)")
            .bind(new_id("wal"))
            .bind(ws_id)
            .bind(&id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(MemberCreated {
            member: Member {
                id,
                name: name.to_string(),
                role,
            },
            token,
        })
    }

    pub async fn members(&self, p: &Principal) -> Result<Vec<Member>> {
        let rows = sqlx::query(
            "SELECT id, name, role FROM members WHERE workspace_id = $1 ORDER BY created_at_ms, id",
        )
        .bind(&p.workspace_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let role: String = r.try_get(2)?;
                Ok(Member {
                    id: r.try_get(0)?,
                    name: r.try_get(1)?,
                    role: Role::parse(&role)
                        .ok_or_else(|| LedgerError::Corrupt(format!("role `{role}`")))?,
                })
            })
            .collect()
    }

    /// Creates an extra wallet (an organization wallet, say).
    pub async fn create_wallet(&self, p: &Principal, kind: WalletKind) -> Result<String> {
        require_admin(p)?;
        let id = new_id("wal");
        sqlx::query(
            "INSERT INTO wallets (id, workspace_id, kind, owner_member_id) VALUES ($1, $2, $3, $4)",
        )
        .bind(&id)
        .bind(&p.workspace_id)
        .bind(kind.as_str())
        .bind(if kind == WalletKind::Personal {
            p.member_id.clone()
        } else {
            None
        })
        .execute(&self.pool)
        .await?;
        Ok(id)
    }

    /// Resolves an API key or member session token.
    pub async fn authenticate(&self, secret: &str) -> Result<Principal> {
        if secret.is_empty() || secret.len() > 200 {
            return Err(LedgerError::Unauthorized);
        }
        let hash = sha256_hex(secret.as_bytes());
        if let Some((ws,)) =
            sqlx::query_as::<_, (String,)>("SELECT workspace_id FROM api_keys WHERE key_hash = $1")
                .bind(&hash)
                .fetch_optional(&self.pool)
                .await?
        {
            return Ok(Principal {
                workspace_id: ws,
                member_id: None,
                role: Role::Owner,
            });
        }
        let row: Option<(String, String, String)> =
            sqlx::query_as("SELECT workspace_id, id, role FROM members WHERE token_hash = $1")
                .bind(&hash)
                .fetch_optional(&self.pool)
                .await?;
        let (ws, id, role) = row.ok_or(LedgerError::Unauthorized)?;
        let role =
            Role::parse(&role).ok_or_else(|| LedgerError::Corrupt(format!("role `{role}`")))?;
        Ok(Principal {
            workspace_id: ws,
            member_id: Some(id),
            role,
        })
    }

    // ---------------------------------------------------------------- wallets

    async fn lock_wallet(&self, tx: &mut Tx<'_>, wallet_id: &str) -> Result<WalletRow> {
        let sql = format!(
            "SELECT id, workspace_id, kind, owner_member_id, plan_id, plan_credits_mc, cycle_anchor_ms, cycle_index, balance_mc, held_mc \
             FROM wallets WHERE id = $1{}",
            self.dialect.for_update()
        );
        let row = sqlx::query(&sql)
            .bind(wallet_id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| LedgerError::NotFound(format!("wallet `{wallet_id}`")))?;
        wallet_from_row(&row)
    }

    async fn save_wallet(&self, tx: &mut Tx<'_>, w: &WalletRow) -> Result<()> {
        if w.balance_mc < 0 || w.held_mc < 0 || w.held_mc > w.balance_mc {
            return Err(LedgerError::Corrupt(format!(
                "wallet {} would hold balance {} held {}",
                w.id, w.balance_mc, w.held_mc
            )));
        }
        sqlx::query(
            "UPDATE wallets SET balance_mc = $1, held_mc = $2, plan_id = $3, plan_credits_mc = $4, cycle_anchor_ms = $5, cycle_index = $6 WHERE id = $7",
        )
        .bind(w.balance_mc)
        .bind(w.held_mc)
        .bind(&w.plan_id)
        .bind(w.plan_credits_mc)
        .bind(w.cycle_anchor_ms)
        .bind(w.cycle_index)
        .bind(&w.id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// The workspace wallet, or `wallet_id` if the principal may use it. Another
    /// workspace's wallet, or another member's personal wallet, is "not found".
    async fn resolve_wallet(&self, p: &Principal, wallet_id: Option<&str>) -> Result<String> {
        match wallet_id {
            Some(id) => {
                let row: Option<(String, String, Option<String>)> = sqlx::query_as(
                    "SELECT workspace_id, kind, owner_member_id FROM wallets WHERE id = $1",
                )
                .bind(id)
                .fetch_optional(&self.pool)
                .await?;
                match row {
                    Some((ws, kind, owner)) if ws == p.workspace_id => {
                        let personal = kind == WalletKind::Personal.as_str();
                        if personal && p.member_id.is_some() && owner != p.member_id {
                            return Err(LedgerError::NotFound(format!("wallet `{id}`")));
                        }
                        Ok(id.to_string())
                    }
                    _ => Err(LedgerError::NotFound(format!("wallet `{id}`"))),
                }
            }
            None => Ok(self.workspace(&p.workspace_id).await?.wallet_id),
        }
    }

    async fn entry(&self, tx: &mut Tx<'_>, wallet_id: &str, now: i64, e: Entry<'_>) -> Result<()> {
        sqlx::query(
            "INSERT INTO entries (wallet_id, kind, balance_delta_mc, held_delta_mc, grant_id, hold_id, member_id, action, project, note, month, created_at_ms, \
             earnings_delta_mc, platform_share_mc, available_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)",
        )
        .bind(wallet_id)
        .bind(e.kind)
        .bind(e.balance_delta_mc)
        .bind(e.held_delta_mc)
        .bind(e.grant_id)
        .bind(e.hold_id)
        .bind(e.member_id)
        .bind(e.action)
        .bind(e.project)
        .bind(e.note)
        .bind(month_key(now))
        .bind(now)
        .bind(e.earnings_delta_mc)
        .bind(e.platform_share_mc)
        .bind(e.available_at_ms)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)] // one grant row's columns; a struct would only rename them
    async fn insert_grant(
        &self,
        tx: &mut Tx<'_>,
        w: &mut WalletRow,
        source: &str,
        reference: Option<&str>,
        amount_mc: i64,
        expires_at_ms: Option<i64>,
        now: i64,
    ) -> Result<String> {
        let id = new_id("grt");
        // Per-wallet insertion order, so "oldest first" is exact even within one millisecond.
        let (seq,): (i64,) = sqlx::query_as(
            "SELECT CAST(COALESCE(MAX(seq), 0) + 1 AS BIGINT) FROM grants WHERE wallet_id = $1",
        )
        .bind(&w.id)
        .fetch_one(&mut **tx)
        .await?;
        sqlx::query("INSERT INTO grants (id, wallet_id, seq, source, ref, amount_mc, remaining_mc, held_mc, expires_at_ms, created_at_ms) VALUES ($1, $2, $8, $3, $4, $5, $5, 0, $6, $7)")
            .bind(&id)
            .bind(&w.id)
            .bind(source)
            .bind(reference)
            .bind(amount_mc)
            .bind(expires_at_ms)
            .bind(now)
            .bind(seq)
            .execute(&mut **tx)
            .await?;
        let note = format!(
            "{source}{}",
            reference.map(|r| format!(" {r}")).unwrap_or_default()
        );
        self.entry(
            tx,
            &w.id.clone(),
            now,
            Entry {
                kind: "grant",
                balance_delta_mc: amount_mc,
                grant_id: Some(&id),
                note: Some(&note),
                ..Entry::default()
            },
        )
        .await?;
        w.balance_mc = w
            .balance_mc
            .checked_add(amount_mc)
            .ok_or_else(|| LedgerError::invalid("balance would overflow"))?;
        Ok(id)
    }

    /// Brings a wallet up to `now`: times out due holds, starts a new plan cycle (the
    /// old allowance expires, no rollover), and expires grants past their date. Runs
    /// inside every wallet transaction, so a read never shows stale credits.
    async fn settle(&self, tx: &mut Tx<'_>, w: &mut WalletRow, now: i64) -> Result<bool> {
        let mut changed = false;
        let due: Vec<(String,)> =
            sqlx::query_as("SELECT id FROM holds WHERE wallet_id = $1 AND status = 'active' AND expires_at_ms <= $2 ORDER BY id")
                .bind(&w.id)
                .bind(now)
                .fetch_all(&mut **tx)
                .await?;
        for (hold_id,) in due {
            self.release_hold(tx, w, &hold_id, HoldStatus::Expired, now)
                .await?;
            changed = true;
        }
        if let (Some(plan_id), Some(anchor), Some(idx), Some(credits)) = (
            w.plan_id.clone(),
            w.cycle_anchor_ms,
            w.cycle_index,
            w.plan_credits_mc,
        ) {
            let current = cycle_index(anchor, now);
            if current > idx {
                // Expire first so the new allowance does not mix with the old one.
                self.expire_grants(tx, w, now).await?;
                let expires = add_months(anchor, current + 1);
                self.insert_grant(tx, w, "plan", Some(&plan_id), credits, Some(expires), now)
                    .await?;
                w.cycle_index = Some(current);
                changed = true;
            }
        }
        changed |= self.expire_grants(tx, w, now).await?;
        if changed {
            self.save_wallet(tx, w).await?;
        }
        Ok(changed)
    }

    /// Expires the unheld part of every grant past its date. A held part expires when
    /// its hold is released, so expiry never takes credits a confirmed action reserved.
    async fn expire_grants(&self, tx: &mut Tx<'_>, w: &mut WalletRow, now: i64) -> Result<bool> {
        let due: Vec<(String, i64, i64)> = sqlx::query_as(
            "SELECT id, remaining_mc, held_mc FROM grants WHERE wallet_id = $1 AND expires_at_ms IS NOT NULL AND expires_at_ms <= $2 AND remaining_mc > held_mc ORDER BY id",
        )
        .bind(&w.id)
        .bind(now)
        .fetch_all(&mut **tx)
        .await?;
        let changed = !due.is_empty();
        for (grant_id, remaining, held) in due {
            let amount = remaining - held;
            sqlx::query("UPDATE grants SET remaining_mc = remaining_mc - $1 WHERE id = $2")
                .bind(amount)
                .bind(&grant_id)
                .execute(&mut **tx)
                .await?;
            self.entry(
                tx,
                &w.id.clone(),
                now,
                Entry {
                    kind: "expiry",
                    balance_delta_mc: -amount,
                    grant_id: Some(&grant_id),
                    ..Entry::default()
                },
            )
            .await?;
            w.balance_mc -= amount;
        }
        Ok(changed)
    }

    async fn apply_plan(
        &self,
        tx: &mut Tx<'_>,
        card: &Card,
        w: &mut WalletRow,
        plan_id: &str,
        now: i64,
    ) -> Result<()> {
        let plan = card.plan(plan_id).ok_or_else(|| {
            let known: Vec<_> = card.plans.iter().map(|p| p.id.as_str()).collect();
            LedgerError::Invalid {
                path: Some("plan_id".into()),
                message: format!(
                    "unknown plan `{plan_id}` (card `{}` has: {})",
                    card.id,
                    known.join(", ")
                ),
            }
        })?;
        let credits = to_i64(plan.credits.saturating_mul(MILLI_PER_CREDIT))?;
        match plan.renewal {
            Renewal::Monthly => {
                // The old allowance ends now: no rollover between plans either.
                sqlx::query("UPDATE grants SET expires_at_ms = $1 WHERE wallet_id = $2 AND source = 'plan' AND (expires_at_ms IS NULL OR expires_at_ms > $1)")
                    .bind(now)
                    .bind(&w.id)
                    .execute(&mut **tx)
                    .await?;
                self.expire_grants(tx, w, now).await?;
                w.plan_id = Some(plan.id.clone());
                w.plan_credits_mc = Some(credits);
                w.cycle_anchor_ms = Some(now);
                w.cycle_index = Some(0);
                self.insert_grant(
                    tx,
                    w,
                    "plan",
                    Some(&plan.id),
                    credits,
                    Some(add_months(now, 1)),
                    now,
                )
                .await?;
            }
            Renewal::Once => {
                let given: Option<(String,)> = sqlx::query_as(
                    "SELECT id FROM grants WHERE wallet_id = $1 AND source = 'free' AND ref = $2",
                )
                .bind(&w.id)
                .bind(&plan.id)
                .fetch_optional(&mut **tx)
                .await?;
                if given.is_some() {
                    return Err(LedgerError::invalid(format!(
                        "the one-time `{}` grant was already given to this wallet",
                        plan.id
                    )));
                }
                self.insert_grant(tx, w, "free", Some(&plan.id), credits, None, now)
                    .await?;
            }
        }
        Ok(())
    }

    // ---------------------------------------------------------------- idempotency

    /// The stored result for `key`, if this exact call ran before; a conflict if the
    /// key was used for a different call.
    async fn replay<T: DeserializeOwned>(
        &self,
        tx: &mut Tx<'_>,
        ws: &str,
        key: &str,
        payload_hash: &str,
    ) -> Result<Option<Result<T>>> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT payload_hash, response FROM idempotency WHERE workspace_id = $1 AND key = $2",
        )
        .bind(ws)
        .bind(key)
        .fetch_optional(&mut **tx)
        .await?;
        let Some((hash, response)) = row else {
            return Ok(None);
        };
        if hash != payload_hash {
            return Err(LedgerError::IdempotencyConflict(key.to_string()));
        }
        let stored: serde_json::Value = serde_json::from_str(&response)
            .map_err(|e| LedgerError::Corrupt(format!("idempotency record: {e}")))?;
        if let Some(ok) = stored.get("ok") {
            let v = serde_json::from_value(ok.clone())
                .map_err(|e| LedgerError::Corrupt(format!("idempotency record: {e}")))?;
            return Ok(Some(Ok(v)));
        }
        let err = serde_json::from_value(stored["err"].clone())
            .map_err(|e| LedgerError::Corrupt(format!("idempotency record: {e}")))?;
        Ok(Some(Err(LedgerError::Replayed(Box::new(err)))))
    }

    async fn remember<T: Serialize>(
        &self,
        tx: &mut Tx<'_>,
        ws: &str,
        key: &str,
        payload_hash: &str,
        result: &Result<T>,
    ) -> Result<()> {
        let body = match result {
            Ok(v) => serde_json::json!({ "ok": v }),
            Err(e) => serde_json::json!({ "err": e.to_api() }),
        };
        sqlx::query("INSERT INTO idempotency (workspace_id, key, payload_hash, response, created_at_ms) VALUES ($1, $2, $3, $4, $5)")
            .bind(ws)
            .bind(key)
            .bind(payload_hash)
            .bind(body.to_string())
            .bind(self.now_ms())
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Begins an idempotent write on a wallet: locks its row (writes to one wallet
    /// serialise), answers a key seen before from its record, and settles the wallet
    /// (expired grants, timed-out holds) as of `now`.
    async fn begin_write<T: DeserializeOwned>(
        &self,
        ws: &str,
        wallet_id: &str,
        key: &str,
        payload_hash: &str,
        now: i64,
    ) -> Result<Write<T>> {
        let mut tx = self.pool.begin().await?;
        let mut w = self.lock_wallet(&mut tx, wallet_id).await?;
        if let Some(done) = self.replay::<T>(&mut tx, ws, key, payload_hash).await? {
            return Ok(Write::Replayed(done));
        }
        self.settle(&mut tx, &mut w, now).await?;
        Ok(Write::Fresh(tx, w))
    }

    /// Ends an idempotent write: stores `result` (success or refusal) under the key in
    /// the same transaction as the change it answers, commits, then tells the balance
    /// listeners of every wallet it changed.
    async fn finish<T: Serialize>(
        &self,
        mut tx: Tx<'_>,
        ws: &str,
        key: &str,
        payload_hash: &str,
        result: Result<T>,
        changed: &[&str],
    ) -> Result<T> {
        self.remember(&mut tx, ws, key, payload_hash, &result)
            .await?;
        tx.commit().await?;
        for wallet_id in changed {
            self.changed(wallet_id).await;
        }
        result
    }

    // ---------------------------------------------------------------- money in

    /// Adds a pack's credits (after the operator's checkout succeeded). Admins only.
    pub async fn top_up(
        &self,
        p: &Principal,
        wallet_id: Option<&str>,
        req: &TopUpRequest,
        key: &str,
    ) -> Result<Balance> {
        require_admin(p)?;
        check_key(key)?;
        let quantity = req.quantity.unwrap_or(1);
        if quantity == 0 || quantity > 100 {
            return Err(LedgerError::Invalid {
                path: Some("quantity".into()),
                message: "quantity must be 1 to 100".into(),
            });
        }
        let wallet_id = self.resolve_wallet(p, wallet_id).await?;
        let card = self.card(&p.workspace_id).await?;
        let pack = card.pack(&req.pack_id).ok_or_else(|| {
            let known: Vec<_> = card.packs.iter().map(|p| p.id.as_str()).collect();
            LedgerError::Invalid {
                path: Some("pack_id".into()),
                message: format!(
                    "unknown pack `{}` (card `{}` has: {})",
                    req.pack_id,
                    card.id,
                    if known.is_empty() {
                        "none".into()
                    } else {
                        known.join(", ")
                    }
                ),
            }
        })?;
        let hash = payload_hash("top_up", &(&wallet_id, req));
        let now = self.now_ms();
        let (mut tx, mut w) = match self
            .begin_write::<Balance>(&p.workspace_id, &wallet_id, key, &hash, now)
            .await?
        {
            Write::Replayed(done) => return done,
            Write::Fresh(tx, w) => (tx, w),
        };
        let amount = to_i64(
            pack.credits
                .saturating_mul(MILLI_PER_CREDIT)
                .saturating_mul(quantity),
        )?;
        let expires = pack.validity_months.map(|m| add_months(now, i64::from(m)));
        self.insert_grant(
            &mut tx,
            &mut w,
            "pack",
            Some(&pack.id),
            amount,
            expires,
            now,
        )
        .await?;
        self.save_wallet(&mut tx, &w).await?;
        let balance = self.balance_in(&mut tx, &w).await?;
        let result = Ok(balance);
        self.finish(tx, &p.workspace_id, key, &hash, result, &[&wallet_id])
            .await
    }

    /// Moves a wallet to a plan of the card: the allowance starts now and renews each
    /// month without rollover; a one-time plan grants once. Admins only.
    pub async fn change_plan(
        &self,
        p: &Principal,
        wallet_id: Option<&str>,
        plan_id: &str,
        key: &str,
    ) -> Result<Balance> {
        require_admin(p)?;
        check_key(key)?;
        let wallet_id = self.resolve_wallet(p, wallet_id).await?;
        let card = self.card(&p.workspace_id).await?;
        let hash = payload_hash("change_plan", &(&wallet_id, plan_id));
        let now = self.now_ms();
        let (mut tx, mut w) = match self
            .begin_write::<Balance>(&p.workspace_id, &wallet_id, key, &hash, now)
            .await?
        {
            Write::Replayed(done) => return done,
            Write::Fresh(tx, w) => (tx, w),
        };
        self.apply_plan(&mut tx, &card, &mut w, plan_id, now)
            .await?;
        self.save_wallet(&mut tx, &w).await?;
        let result = Ok(self.balance_in(&mut tx, &w).await?);
        self.finish(tx, &p.workspace_id, key, &hash, result, &[&wallet_id])
            .await
    }

    /// A one-off grant (support credit, promotion). Admins only.
    pub async fn grant(
        &self,
        p: &Principal,
        wallet_id: Option<&str>,
        amount: u64,
        expires_at_ms: Option<i64>,
        key: &str,
    ) -> Result<Balance> {
        require_admin(p)?;
        check_key(key)?;
        if amount == 0 {
            return Err(LedgerError::Invalid {
                path: Some("amount_millicredits".into()),
                message: "amount must be above zero".into(),
            });
        }
        let amount = to_i64(amount)?;
        let wallet_id = self.resolve_wallet(p, wallet_id).await?;
        let hash = payload_hash("grant", &(&wallet_id, amount, expires_at_ms));
        let now = self.now_ms();
        let (mut tx, mut w) = match self
            .begin_write::<Balance>(&p.workspace_id, &wallet_id, key, &hash, now)
            .await?
        {
            Write::Replayed(done) => return done,
            Write::Fresh(tx, w) => (tx, w),
        };
        self.insert_grant(&mut tx, &mut w, "grant", None, amount, expires_at_ms, now)
            .await?;
        self.settle(&mut tx, &mut w, now).await?; // an already-past expiry expires at once
        self.save_wallet(&mut tx, &w).await?;
        let result = Ok(self.balance_in(&mut tx, &w).await?);
        self.finish(tx, &p.workspace_id, key, &hash, result, &[&wallet_id])
            .await
    }

    // ---------------------------------------------------------------- quote, hold, capture, release

    /// Prices a request with the workspace's current card and keeps the quote for
    /// [`Config::quote_ttl_ms`]. Says whether a hold would be refused, and what covers it.
    pub async fn quote(&self, p: &Principal, req: &QuoteRequest) -> Result<Quote> {
        let wallet_id = self.resolve_wallet(p, req.wallet_id.as_deref()).await?;
        if req.project.as_ref().is_some_and(|s| s.len() > 200) {
            return Err(LedgerError::Invalid {
                path: Some("project".into()),
                message: "project is limited to 200 characters".into(),
            });
        }
        let card = self.card(&p.workspace_id).await?;
        let request = count_text(&card, &req.request)?;
        let est = estimate(&card, &request).map_err(LedgerError::Estimate)?;
        let max = to_i64(est.max_millicredits)?;
        let now = self.now_ms();
        let id = new_id("quo");
        let expires_at_ms = now + self.config.quote_ttl_ms;
        let action = request.items.first().map(|i| i.action.clone());
        let mut tx = self.pool.begin().await?;
        let mut w = self.lock_wallet(&mut tx, &wallet_id).await?;
        self.settle(&mut tx, &mut w, now).await?;
        sqlx::query(
            "INSERT INTO quotes (id, workspace_id, wallet_id, card_hash, request_json, estimate_json, max_mc, member_id, action, project, expires_at_ms, created_at_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
        )
        .bind(&id)
        .bind(&p.workspace_id)
        .bind(&wallet_id)
        .bind(card.hash())
        .bind(serde_json::to_string(&request).unwrap_or_default())
        .bind(serde_json::to_string(&est).unwrap_or_default())
        .bind(max)
        .bind(&p.member_id)
        .bind(&action)
        .bind(&req.project)
        .bind(expires_at_ms)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        let available = to_u64(w.balance_mc - w.held_mc);
        let short = shortfall(
            &card,
            Millicredits(available),
            Millicredits(est.max_millicredits),
        );
        Ok(Quote {
            id,
            wallet_id,
            hold_millicredits: est.max_millicredits,
            estimate: est,
            expires_at_ms,
            available_millicredits: available,
            would_exceed: short.is_some(),
            shortfall: short,
        })
    }

    /// Confirms a quote: reserves its maximum, drawing on the soonest-expiring grants
    /// first. Refused with the shortfall when not enough is available; the refusal is
    /// remembered under the idempotency key, so a retry stays refused.
    pub async fn hold(&self, p: &Principal, req: &HoldRequest, key: &str) -> Result<Hold> {
        require_spender(p)?;
        check_key(key)?;
        let hash = payload_hash("hold", &req.quote_id);
        let q = sqlx::query("SELECT wallet_id, max_mc, expires_at_ms, member_id, action, project FROM quotes WHERE id = $1 AND workspace_id = $2")
            .bind(&req.quote_id)
            .bind(&p.workspace_id)
            .fetch_optional(&self.pool)
            .await?
            .ok_or_else(|| LedgerError::NotFound(format!("quote `{}`", req.quote_id)))?;
        let wallet_id: String = q.try_get(0)?;
        self.resolve_wallet(p, Some(&wallet_id)).await?;
        let max: i64 = q.try_get(1)?;
        let quote_expires: i64 = q.try_get(2)?;
        let member: Option<String> = p.member_id.clone().or(q.try_get(3)?);
        let action: Option<String> = q.try_get(4)?;
        let project: Option<String> = q.try_get(5)?;
        // Read through the pool before the transaction: on SQLite the transaction holds
        // the only connection.
        let card = self.card(&p.workspace_id).await?;
        let now = self.now_ms();
        let (mut tx, mut w) = match self
            .begin_write::<Hold>(&p.workspace_id, &wallet_id, key, &hash, now)
            .await?
        {
            Write::Replayed(done) => return done,
            Write::Fresh(tx, w) => (tx, w),
        };
        if quote_expires <= now {
            return Err(LedgerError::QuoteExpired(req.quote_id.clone()));
        }
        let existing: Option<(String,)> =
            sqlx::query_as("SELECT id FROM holds WHERE quote_id = $1")
                .bind(&req.quote_id)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some((h,)) = existing {
            return Err(LedgerError::Invalid {
                path: Some("quote_id".into()),
                message: format!(
                    "quote `{}` was already confirmed by hold `{h}`",
                    req.quote_id
                ),
            });
        }
        let (active,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM holds WHERE wallet_id = $1 AND status = 'active'")
                .bind(&wallet_id)
                .fetch_one(&mut *tx)
                .await?;
        if active >= self.config.max_active_holds {
            return Err(LedgerError::invalid(format!(
                "wallet has {active} active holds; the limit is {}",
                self.config.max_active_holds
            )));
        }
        let available = w.balance_mc - w.held_mc;
        if max > available {
            let short = shortfall(
                &card,
                Millicredits(to_u64(available)),
                Millicredits(to_u64(max)),
            )
            .ok_or_else(|| LedgerError::Corrupt("shortfall without a gap".into()))?;
            let result: Result<Hold> = Err(LedgerError::Insufficient(Box::new(short)));
            self.save_wallet(&mut tx, &w).await?;
            return self
                .finish(tx, &p.workspace_id, key, &hash, result, &[])
                .await;
        }
        let hold_id = new_id("hld");
        let expires_at_ms = now + self.config.hold_ttl_ms;
        sqlx::query(
            "INSERT INTO holds (id, quote_id, wallet_id, amount_mc, status, member_id, action, project, expires_at_ms, created_at_ms) \
             VALUES ($1, $2, $3, $4, 'active', $5, $6, $7, $8, $9)",
        )
        .bind(&hold_id)
        .bind(&req.quote_id)
        .bind(&wallet_id)
        .bind(max)
        .bind(&member)
        .bind(&action)
        .bind(&project)
        .bind(expires_at_ms)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        // Soonest-expiring first (never-expiring last), then oldest.
        let grants: Vec<(String, i64)> = sqlx::query_as(
            "SELECT id, remaining_mc - held_mc FROM grants WHERE wallet_id = $1 AND remaining_mc > held_mc \
             AND (expires_at_ms IS NULL OR expires_at_ms > $2) \
             ORDER BY CASE WHEN expires_at_ms IS NULL THEN 1 ELSE 0 END, expires_at_ms, seq",
        )
        .bind(&wallet_id)
        .bind(now)
        .fetch_all(&mut *tx)
        .await?;
        let mut need = max;
        for (position, (grant_id, free)) in grants.iter().enumerate() {
            if need == 0 {
                break;
            }
            if position >= self.config.max_grants_per_hold {
                return Err(LedgerError::invalid(format!(
                    "a hold may draw on at most {} grants",
                    self.config.max_grants_per_hold
                )));
            }
            let take = need.min(*free);
            sqlx::query("UPDATE grants SET held_mc = held_mc + $1 WHERE id = $2")
                .bind(take)
                .bind(grant_id)
                .execute(&mut *tx)
                .await?;
            sqlx::query("INSERT INTO hold_allocations (hold_id, grant_id, position, amount_mc) VALUES ($1, $2, $3, $4)")
                .bind(&hold_id)
                .bind(grant_id)
                .bind(position as i64)
                .bind(take)
                .execute(&mut *tx)
                .await?;
            need -= take;
        }
        if need > 0 {
            return Err(LedgerError::Corrupt(format!(
                "wallet {wallet_id} balance {} is not backed by its grants",
                w.balance_mc
            )));
        }
        self.entry(
            &mut tx,
            &wallet_id,
            now,
            Entry {
                kind: "hold",
                held_delta_mc: max,
                hold_id: Some(&hold_id),
                member_id: member.as_deref(),
                action: action.as_deref(),
                project: project.as_deref(),
                ..Entry::default()
            },
        )
        .await?;
        w.held_mc += max;
        self.save_wallet(&mut tx, &w).await?;
        let hold = self.hold_in(&mut tx, &hold_id).await?;
        let result = Ok(hold);
        self.finish(tx, &p.workspace_id, key, &hash, result, &[&wallet_id])
            .await
    }

    /// Charges a completed operation: the actual amount (given, or priced from the
    /// actual request with the quote's own card), which must not exceed the hold. The
    /// rest of the hold returns to the wallet.
    pub async fn capture(
        &self,
        p: &Principal,
        hold_id: &str,
        req: &CaptureRequest,
        key: &str,
    ) -> Result<Hold> {
        require_spender(p)?;
        check_key(key)?;
        let hash = payload_hash("capture", &(hold_id, req));
        let (wallet_id, quote_id) = self.hold_wallet(p, hold_id).await?;
        let mut priced = None;
        let amount = match (req.amount_millicredits, &req.actual) {
            (Some(a), None) => to_i64(a)?,
            (None, Some(actual)) => {
                let (card_hash,): (String,) =
                    sqlx::query_as("SELECT card_hash FROM quotes WHERE id = $1")
                        .bind(&quote_id)
                        .fetch_one(&self.pool)
                        .await?;
                let card = self.card_by_hash(&card_hash).await?;
                let actual = count_text(&card, actual)?;
                let est = estimate(&card, &actual).map_err(LedgerError::Estimate)?;
                if !est.exact {
                    return Err(LedgerError::Invalid {
                        path: Some("actual".into()),
                        message: format!(
                            "the actual request must price exactly, but it prices at {}",
                            est.display()
                        ),
                    });
                }
                let amount = to_i64(est.max_millicredits)?;
                priced = Some(est);
                amount
            }
            _ => {
                return Err(LedgerError::Invalid {
                    path: None,
                    message: "give exactly one of `amount_millicredits` or `actual`".into(),
                });
            }
        };
        let now = self.now_ms();
        let (mut tx, mut w) = match self
            .begin_write::<Hold>(&p.workspace_id, &wallet_id, key, &hash, now)
            .await?
        {
            Write::Replayed(done) => return done,
            Write::Fresh(tx, w) => (tx, w),
        };
        let hold = self.hold_in(&mut tx, hold_id).await?;
        if hold.status != HoldStatus::Active {
            let status = hold.status.as_str().to_string();
            self.save_wallet(&mut tx, &w).await?;
            tx.commit().await?; // keep what settle did (a timed-out hold)
            return Err(LedgerError::HoldNotActive {
                id: hold_id.to_string(),
                status,
            });
        }
        let held = to_i64(hold.amount_millicredits)?;
        if amount > held {
            return Err(LedgerError::CaptureExceedsHold {
                amount: to_u64(amount),
                held: to_u64(held),
            });
        }
        let meta: (Option<String>, Option<String>, Option<String>) =
            sqlx::query_as("SELECT member_id, action, project FROM holds WHERE id = $1")
                .bind(hold_id)
                .fetch_one(&mut *tx)
                .await?;
        let allocations: Vec<(String, i64)> = sqlx::query_as(
            "SELECT grant_id, amount_mc FROM hold_allocations WHERE hold_id = $1 ORDER BY position",
        )
        .bind(hold_id)
        .fetch_all(&mut *tx)
        .await?;
        self.entry(
            &mut tx,
            &wallet_id,
            now,
            Entry {
                kind: "release",
                held_delta_mc: -held,
                hold_id: Some(hold_id),
                note: Some("captured"),
                ..Entry::default()
            },
        )
        .await?;
        let mut left = amount;
        for (grant_id, allocated) in &allocations {
            let take = left.min(*allocated);
            sqlx::query("UPDATE grants SET held_mc = held_mc - $1, remaining_mc = remaining_mc - $2 WHERE id = $3")
                .bind(allocated)
                .bind(take)
                .bind(grant_id)
                .execute(&mut *tx)
                .await?;
            if take > 0 {
                self.entry(
                    &mut tx,
                    &wallet_id,
                    now,
                    Entry {
                        kind: "charge",
                        balance_delta_mc: -take,
                        grant_id: Some(grant_id),
                        hold_id: Some(hold_id),
                        member_id: meta.0.as_deref(),
                        action: meta.1.as_deref(),
                        project: meta.2.as_deref(),
                        ..Entry::default()
                    },
                )
                .await?;
            }
            left -= take;
        }
        debug_assert_eq!(left, 0, "allocations cover the hold");
        sqlx::query("UPDATE holds SET status = 'captured', captured_mc = $1 WHERE id = $2")
            .bind(amount)
            .bind(hold_id)
            .execute(&mut *tx)
            .await?;
        let payees = self
            .accrue_earnings(&mut tx, &quote_id, priced.as_ref(), hold_id, amount, now)
            .await?;
        w.held_mc -= held;
        w.balance_mc -= amount;
        self.expire_grants(&mut tx, &mut w, now).await?; // a released part of an expired grant
        self.save_wallet(&mut tx, &w).await?;
        let result = Ok(self.hold_in(&mut tx, hold_id).await?);
        let mut changed = vec![wallet_id.as_str()];
        changed.extend(payees.iter().map(String::as_str));
        self.finish(tx, &p.workspace_id, key, &hash, result, &changed)
            .await
    }

    /// Credits each agent's payee with its publisher add-on from a capture, less the
    /// platform's share, pending until it settles. Returns the wallets credited.
    async fn accrue_earnings(
        &self,
        tx: &mut Tx<'_>,
        quote_id: &str,
        priced: Option<&creditkit_pricing::Estimate>,
        hold_id: &str,
        captured: i64,
        now: i64,
    ) -> Result<Vec<String>> {
        let stored;
        let est = match priced {
            Some(e) => e,
            None => {
                let (json,): (String,) =
                    sqlx::query_as("SELECT estimate_json FROM quotes WHERE id = $1")
                        .bind(quote_id)
                        .fetch_one(&mut **tx)
                        .await?;
                stored = serde_json::from_str::<creditkit_pricing::Estimate>(&json)
                    .map_err(|e| LedgerError::Corrupt(format!("quote estimate: {e}")))?;
                &stored
            }
        };
        let mut by_agent: std::collections::BTreeMap<&str, i64> = std::collections::BTreeMap::new();
        for line in est
            .lines
            .iter()
            .filter(|l| l.kind == creditkit_pricing::LineKind::PublisherAddon)
        {
            if let Some(agent) = &line.agent {
                *by_agent.entry(agent).or_default() += line.max_millicredits as i64;
            }
        }
        let mut left = captured; // never pay out more add-on than was charged
        let mut credited = Vec::new();
        for (agent, gross) in by_agent {
            let gross = gross.min(left);
            left -= gross;
            if gross <= 0 {
                continue;
            }
            let payee: Option<(String,)> =
                sqlx::query_as("SELECT wallet_id FROM agent_payees WHERE agent_id = $1")
                    .bind(agent)
                    .fetch_optional(&mut **tx)
                    .await?;
            let Some((wallet,)) = payee else { continue }; // no creator registered: the platform keeps it
            let share = (gross * self.config.platform_share_percent as i64 + 50) / 100;
            let note = format!("publisher add-on for {agent}");
            self.entry(
                tx,
                &wallet,
                now,
                Entry {
                    kind: "earning",
                    earnings_delta_mc: gross - share,
                    platform_share_mc: share,
                    available_at_ms: Some(now + self.config.earnings_settle_ms),
                    hold_id: Some(hold_id),
                    action: Some(agent),
                    note: Some(&note),
                    ..Entry::default()
                },
            )
            .await?;
            credited.push(wallet);
        }
        Ok(credited)
    }

    /// Names the organization wallet that receives an agent's publisher add-ons. An
    /// agent has one payee; only its workspace can move it.
    pub async fn set_payee(&self, p: &Principal, agent_id: &str, wallet_id: &str) -> Result<()> {
        require_admin(p)?;
        if agent_id.is_empty() || agent_id.len() > 64 {
            return Err(LedgerError::Invalid {
                path: Some("agent_id".into()),
                message: "agent id must be 1 to 64 characters".into(),
            });
        }
        let wallet_id = self.resolve_wallet(p, Some(wallet_id)).await?;
        let (kind,): (String,) = sqlx::query_as("SELECT kind FROM wallets WHERE id = $1")
            .bind(&wallet_id)
            .fetch_one(&self.pool)
            .await?;
        if kind != WalletKind::Organization.as_str() {
            return Err(LedgerError::Invalid {
                path: Some("wallet_id".into()),
                message: "earnings go to an organization wallet".into(),
            });
        }
        let mut tx = self.pool.begin().await?;
        let existing: Option<(String,)> =
            sqlx::query_as("SELECT workspace_id FROM agent_payees WHERE agent_id = $1")
                .bind(agent_id)
                .fetch_optional(&mut *tx)
                .await?;
        match existing {
            Some((ws,)) if ws != p.workspace_id => {
                return Err(LedgerError::Forbidden(format!(
                    "agent `{agent_id}` is paid to another workspace"
                )))
            }
            Some(_) => {
                sqlx::query("UPDATE agent_payees SET wallet_id = $1 WHERE agent_id = $2")
                    .bind(&wallet_id)
                    .bind(agent_id)
                    .execute(&mut *tx)
                    .await?;
            }
            None => {
                sqlx::query("INSERT INTO agent_payees (agent_id, workspace_id, wallet_id) VALUES ($1, $2, $3)")
                    .bind(agent_id)
                    .bind(&p.workspace_id)
                    .bind(&wallet_id)
                    .execute(&mut *tx)
                    .await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    /// A creator's earnings: available, pending (< 24 h), paid out, platform share.
    pub async fn earnings(
        &self,
        p: &Principal,
        wallet_id: Option<&str>,
    ) -> Result<creditkit_api::Earnings> {
        let wallet_id = self.resolve_wallet(p, wallet_id).await?;
        let mut conn = self.pool.acquire().await?;
        self.earnings_on(&mut conn, &wallet_id, self.now_ms()).await
    }

    async fn earnings_on(
        &self,
        conn: &mut sqlx::AnyConnection,
        wallet_id: &str,
        now: i64,
    ) -> Result<creditkit_api::Earnings> {
        let (available, pending, paid, share): (i64, i64, i64, i64) = sqlx::query_as(
            "SELECT \
             CAST(COALESCE(SUM(CASE WHEN kind = 'payout' OR available_at_ms <= $2 THEN earnings_delta_mc ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN kind = 'earning' AND available_at_ms > $2 THEN earnings_delta_mc ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN kind = 'payout' THEN -earnings_delta_mc ELSE 0 END), 0) AS BIGINT), \
             CAST(COALESCE(SUM(platform_share_mc), 0) AS BIGINT) \
             FROM entries WHERE wallet_id = $1 AND kind IN ('earning', 'payout')",
        )
        .bind(wallet_id)
        .bind(now)
        .fetch_one(&mut *conn)
        .await?;
        let min = self.config.minimum_payout_millicredits;
        Ok(creditkit_api::Earnings {
            wallet_id: wallet_id.to_string(),
            available_millicredits: to_u64(available),
            pending_millicredits: to_u64(pending),
            paid_out_millicredits: to_u64(paid),
            platform_share_millicredits: to_u64(share),
            minimum_payout_millicredits: min,
            payout_available: to_u64(available) >= min,
        })
    }

    /// Requests a payout of settled earnings (at least the minimum). Admins only.
    pub async fn payout(
        &self,
        p: &Principal,
        wallet_id: Option<&str>,
        amount: u64,
        key: &str,
    ) -> Result<creditkit_api::Earnings> {
        require_admin(p)?;
        check_key(key)?;
        let amount_i = to_i64(amount)?;
        let wallet_id = self.resolve_wallet(p, wallet_id).await?;
        let hash = payload_hash("payout", &(&wallet_id, amount));
        let now = self.now_ms();
        let mut tx = self.pool.begin().await?;
        self.lock_wallet(&mut tx, &wallet_id).await?;
        if let Some(done) = self.replay(&mut tx, &p.workspace_id, key, &hash).await? {
            return done;
        }
        let before = self.earnings_on(&mut tx, &wallet_id, now).await?;
        if amount < self.config.minimum_payout_millicredits {
            return Err(LedgerError::Invalid {
                path: Some("amount_millicredits".into()),
                message: format!(
                    "the minimum payout is {} credits",
                    error::fmt_mc(self.config.minimum_payout_millicredits)
                ),
            });
        }
        if amount > before.available_millicredits {
            return Err(LedgerError::Invalid {
                path: Some("amount_millicredits".into()),
                message: format!(
                    "{} credits are available for payout, not {}",
                    error::fmt_mc(before.available_millicredits),
                    error::fmt_mc(amount)
                ),
            });
        }
        self.entry(
            &mut tx,
            &wallet_id,
            now,
            Entry {
                kind: "payout",
                earnings_delta_mc: -amount_i,
                note: Some("payout requested"),
                ..Entry::default()
            },
        )
        .await?;
        let result = Ok(self.earnings_on(&mut tx, &wallet_id, now).await?);
        self.finish(tx, &p.workspace_id, key, &hash, result, &[&wallet_id])
            .await
    }

    /// Refunds a captured charge to the very grants it was drawn from (credits of a
    /// grant that has since expired expire again, as unspent ones would have).
    /// Creator earnings are not clawed back. Admins only.
    pub async fn refund(&self, p: &Principal, hold_id: &str, key: &str) -> Result<Hold> {
        require_admin(p)?;
        check_key(key)?;
        let hash = payload_hash("refund", &hold_id);
        let (wallet_id, _) = self.hold_wallet(p, hold_id).await?;
        let now = self.now_ms();
        let (mut tx, mut w) = match self
            .begin_write::<Hold>(&p.workspace_id, &wallet_id, key, &hash, now)
            .await?
        {
            Write::Replayed(done) => return done,
            Write::Fresh(tx, w) => (tx, w),
        };
        let hold = self.hold_in(&mut tx, hold_id).await?;
        if hold.status != HoldStatus::Captured {
            return Err(LedgerError::HoldNotActive {
                id: hold_id.to_string(),
                status: format!("{}, not captured", hold.status.as_str()),
            });
        }
        // (grant_id, balance_delta_mc, member_id, action, project)
        type ChargeRow = (
            Option<String>,
            i64,
            Option<String>,
            Option<String>,
            Option<String>,
        );
        let charges: Vec<ChargeRow> = sqlx::query_as(
            "SELECT grant_id, balance_delta_mc, member_id, action, project FROM entries WHERE hold_id = $1 AND kind = 'charge' ORDER BY seq",
        )
        .bind(hold_id)
        .fetch_all(&mut *tx)
        .await?;
        for (grant_id, delta, member, action, project) in &charges {
            let Some(grant_id) = grant_id else { continue };
            let amount = -delta;
            sqlx::query("UPDATE grants SET remaining_mc = remaining_mc + $1 WHERE id = $2")
                .bind(amount)
                .bind(grant_id)
                .execute(&mut *tx)
                .await?;
            self.entry(
                &mut tx,
                &wallet_id,
                now,
                Entry {
                    kind: "refund",
                    balance_delta_mc: amount,
                    grant_id: Some(grant_id),
                    hold_id: Some(hold_id),
                    member_id: member.as_deref(),
                    action: action.as_deref(),
                    project: project.as_deref(),
                    ..Entry::default()
                },
            )
            .await?;
            w.balance_mc += amount;
        }
        sqlx::query("UPDATE holds SET status = 'refunded' WHERE id = $1")
            .bind(hold_id)
            .execute(&mut *tx)
            .await?;
        self.expire_grants(&mut tx, &mut w, now).await?;
        self.save_wallet(&mut tx, &w).await?;
        let result = Ok(self.hold_in(&mut tx, hold_id).await?);
        self.finish(tx, &p.workspace_id, key, &hash, result, &[&wallet_id])
            .await
    }

    /// Returns a hold in full: the operation failed or was cancelled; nothing is charged.
    pub async fn release(&self, p: &Principal, hold_id: &str, key: &str) -> Result<Hold> {
        require_spender(p)?;
        check_key(key)?;
        let hash = payload_hash("release", &hold_id);
        let (wallet_id, _) = self.hold_wallet(p, hold_id).await?;
        let now = self.now_ms();
        let (mut tx, mut w) = match self
            .begin_write::<Hold>(&p.workspace_id, &wallet_id, key, &hash, now)
            .await?
        {
            Write::Replayed(done) => return done,
            Write::Fresh(tx, w) => (tx, w),
        };
        let hold = self.hold_in(&mut tx, hold_id).await?;
        if hold.status != HoldStatus::Active {
            let status = hold.status.as_str().to_string();
            self.save_wallet(&mut tx, &w).await?;
            tx.commit().await?;
            return Err(LedgerError::HoldNotActive {
                id: hold_id.to_string(),
                status,
            });
        }
        self.release_hold(&mut tx, &mut w, hold_id, HoldStatus::Released, now)
            .await?;
        self.expire_grants(&mut tx, &mut w, now).await?;
        self.save_wallet(&mut tx, &w).await?;
        let result = Ok(self.hold_in(&mut tx, hold_id).await?);
        self.finish(tx, &p.workspace_id, key, &hash, result, &[&wallet_id])
            .await
    }

    async fn release_hold(
        &self,
        tx: &mut Tx<'_>,
        w: &mut WalletRow,
        hold_id: &str,
        status: HoldStatus,
        now: i64,
    ) -> Result<()> {
        let (amount,): (i64,) = sqlx::query_as("SELECT amount_mc FROM holds WHERE id = $1")
            .bind(hold_id)
            .fetch_one(&mut **tx)
            .await?;
        let allocations: Vec<(String, i64)> =
            sqlx::query_as("SELECT grant_id, amount_mc FROM hold_allocations WHERE hold_id = $1")
                .bind(hold_id)
                .fetch_all(&mut **tx)
                .await?;
        for (grant_id, allocated) in &allocations {
            sqlx::query("UPDATE grants SET held_mc = held_mc - $1 WHERE id = $2")
                .bind(allocated)
                .bind(grant_id)
                .execute(&mut **tx)
                .await?;
        }
        sqlx::query("UPDATE holds SET status = $1 WHERE id = $2")
            .bind(status.as_str())
            .bind(hold_id)
            .execute(&mut **tx)
            .await?;
        let note = if status == HoldStatus::Expired {
            "timed out"
        } else {
            "released"
        };
        self.entry(
            tx,
            &w.id.clone(),
            now,
            Entry {
                kind: "release",
                held_delta_mc: -amount,
                hold_id: Some(hold_id),
                note: Some(note),
                ..Entry::default()
            },
        )
        .await?;
        w.held_mc -= amount;
        Ok(())
    }

    /// The wallet and quote of a hold the principal may see.
    async fn hold_wallet(&self, p: &Principal, hold_id: &str) -> Result<(String, String)> {
        let row: Option<(String, String)> = sqlx::query_as(
            "SELECT h.wallet_id, h.quote_id FROM holds h JOIN wallets w ON w.id = h.wallet_id WHERE h.id = $1 AND w.workspace_id = $2",
        )
        .bind(hold_id)
        .bind(&p.workspace_id)
        .fetch_optional(&self.pool)
        .await?;
        let (wallet, quote) =
            row.ok_or_else(|| LedgerError::NotFound(format!("hold `{hold_id}`")))?;
        self.resolve_wallet(p, Some(&wallet))
            .await
            .map_err(|_| LedgerError::NotFound(format!("hold `{hold_id}`")))?;
        Ok((wallet, quote))
    }

    pub async fn get_hold(&self, p: &Principal, hold_id: &str) -> Result<Hold> {
        self.hold_wallet(p, hold_id).await?;
        let mut conn = self.pool.acquire().await?;
        hold_from_row(
            &sqlx::query("SELECT id, quote_id, wallet_id, amount_mc, status, captured_mc, expires_at_ms, created_at_ms FROM holds WHERE id = $1")
                .bind(hold_id)
                .fetch_one(&mut *conn)
                .await?,
        )
    }

    async fn hold_in(&self, tx: &mut Tx<'_>, hold_id: &str) -> Result<Hold> {
        let row = sqlx::query("SELECT id, quote_id, wallet_id, amount_mc, status, captured_mc, expires_at_ms, created_at_ms FROM holds WHERE id = $1")
            .bind(hold_id)
            .fetch_optional(&mut **tx)
            .await?
            .ok_or_else(|| LedgerError::NotFound(format!("hold `{hold_id}`")))?;
        hold_from_row(&row)
    }

    // ---------------------------------------------------------------- reads

    /// Balance, held and available credits, low-balance state and the last activity.
    /// Settles the wallet first, so expired credits and timed-out holds never show.
    pub async fn balance(&self, p: &Principal, wallet_id: Option<&str>) -> Result<Balance> {
        let wallet_id = self.resolve_wallet(p, wallet_id).await?;
        let now = self.now_ms();
        let mut tx = self.pool.begin().await?;
        let mut w = self.lock_wallet(&mut tx, &wallet_id).await?;
        let changed = self.settle(&mut tx, &mut w, now).await?;
        let b = self.balance_in(&mut tx, &w).await?;
        tx.commit().await?;
        if changed {
            self.changed(&wallet_id).await;
        }
        Ok(b)
    }

    async fn balance_in(&self, tx: &mut Tx<'_>, w: &WalletRow) -> Result<Balance> {
        let (low, critical): (i64, i64) = sqlx::query_as(
            "SELECT low_threshold_mc, critical_threshold_mc FROM workspaces WHERE id = $1",
        )
        .bind(&w.workspace_id)
        .fetch_one(&mut **tx)
        .await?;
        let (used,): (i64,) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(balance_delta_mc), 0) AS BIGINT) FROM entries WHERE wallet_id = $1 AND kind IN ('charge', 'refund')",
        )
        .bind(&w.id)
        .fetch_one(&mut **tx)
        .await?;
        let last = sqlx::query(&format!("{ENTRY_SELECT} WHERE wallet_id = $1 AND balance_delta_mc <> 0 ORDER BY seq DESC LIMIT 1"))
            .bind(&w.id)
            .fetch_optional(&mut **tx)
            .await?
            .map(|r| transaction_from_row(&r))
            .transpose()?;
        let available = to_u64(w.balance_mc - w.held_mc);
        Ok(Balance {
            wallet_id: w.id.clone(),
            kind: w.kind,
            balance_millicredits: to_u64(w.balance_mc),
            held_millicredits: to_u64(w.held_mc),
            available_millicredits: available,
            state: BalanceState::of(available, to_u64(low), to_u64(critical)),
            low_threshold_millicredits: to_u64(low),
            critical_threshold_millicredits: to_u64(critical),
            lifetime_used_millicredits: to_u64(-used),
            last_transaction: last,
            plan_id: w.plan_id.clone(),
        })
    }

    /// Ledger entries, newest first, optionally of one kind; pass `next_cursor` back.
    pub async fn transactions(
        &self,
        p: &Principal,
        wallet_id: Option<&str>,
        kind: Option<TransactionKind>,
        cursor: Option<&str>,
        limit: Option<u32>,
    ) -> Result<Page<Transaction>> {
        let wallet_id = self.resolve_wallet(p, wallet_id).await?;
        let limit = limit.unwrap_or(50);
        if limit == 0 || limit > MAX_PAGE_LIMIT {
            return Err(LedgerError::Invalid {
                path: Some("limit".into()),
                message: format!("limit must be 1 to {MAX_PAGE_LIMIT}"),
            });
        }
        let before = match cursor {
            None => i64::MAX,
            Some(c) => c
                .strip_prefix('s')
                .and_then(|n| n.parse::<i64>().ok())
                .filter(|n| *n > 0)
                .ok_or_else(|| LedgerError::Invalid {
                    path: Some("cursor".into()),
                    message: format!("`{c}` is not a cursor from this API"),
                })?,
        };
        let sql = format!(
            "{ENTRY_SELECT} WHERE wallet_id = $1 AND seq < $2 AND ($3 = '' OR kind = $3) ORDER BY seq DESC LIMIT $4"
        );
        let rows = sqlx::query(&sql)
            .bind(&wallet_id)
            .bind(before)
            .bind(kind.map_or("", TransactionKind::as_str))
            .bind(i64::from(limit) + 1)
            .fetch_all(&self.pool)
            .await?;
        let mut items = rows
            .iter()
            .map(transaction_from_row)
            .collect::<Result<Vec<_>>>()?;
        let next_cursor = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|t| format!("s{}", t.seq))
        } else {
            None
        };
        Ok(Page { items, next_cursor })
    }

    /// Credits used, grouped by action, project, member or month (`YYYY-MM`).
    pub async fn usage(
        &self,
        p: &Principal,
        wallet_id: Option<&str>,
        group_by: UsageGroup,
    ) -> Result<Usage> {
        let wallet_id = self.resolve_wallet(p, wallet_id).await?;
        let column = match group_by {
            UsageGroup::Action => "action",
            UsageGroup::Project => "project",
            UsageGroup::Member => "member_id",
            UsageGroup::Month => "month",
        };
        let sql = format!(
            "SELECT COALESCE({column}, ''), CAST(COALESCE(SUM(-balance_delta_mc), 0) AS BIGINT), COUNT(DISTINCT hold_id) \
             FROM entries WHERE wallet_id = $1 AND kind IN ('charge', 'refund') GROUP BY COALESCE({column}, '') ORDER BY 2 DESC, 1"
        );
        let rows: Vec<(String, i64, i64)> = sqlx::query_as(&sql)
            .bind(&wallet_id)
            .fetch_all(&self.pool)
            .await?;
        let rows: Vec<UsageRow> = rows
            .into_iter()
            .map(|(key, used, n)| UsageRow {
                key,
                used_millicredits: to_u64(used),
                charges: to_u64(n),
            })
            .collect();
        let total = rows.iter().map(|r| r.used_millicredits).sum();
        Ok(Usage {
            wallet_id,
            group_by,
            rows,
            total_millicredits: total,
        })
    }

    /// Settles every wallet with a hold or grant past due (a background task calls
    /// this); returns how many wallets changed.
    pub async fn sweep(&self) -> Result<usize> {
        let now = self.now_ms();
        let due: Vec<(String,)> = sqlx::query_as(
            "SELECT id FROM wallets w WHERE EXISTS (SELECT 1 FROM holds h WHERE h.wallet_id = w.id AND h.status = 'active' AND h.expires_at_ms <= $1) \
             OR EXISTS (SELECT 1 FROM grants g WHERE g.wallet_id = w.id AND g.expires_at_ms IS NOT NULL AND g.expires_at_ms <= $1 AND g.remaining_mc > g.held_mc) \
             LIMIT 1000",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        let mut changed = 0;
        for (wallet_id,) in due {
            let mut tx = self.pool.begin().await?;
            let mut w = self.lock_wallet(&mut tx, &wallet_id).await?;
            if self.settle(&mut tx, &mut w, now).await? {
                changed += 1;
            }
            tx.commit().await?;
            self.changed(&wallet_id).await;
        }
        Ok(changed)
    }

    /// Checks a wallet's invariants against its entries, grants and holds.
    pub async fn audit(&self, wallet_id: &str) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        let (balance, held): (i64, i64) =
            sqlx::query_as("SELECT balance_mc, held_mc FROM wallets WHERE id = $1")
                .bind(wallet_id)
                .fetch_one(&mut *conn)
                .await?;
        let (e_balance, e_held): (i64, i64) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(balance_delta_mc), 0) AS BIGINT), CAST(COALESCE(SUM(held_delta_mc), 0) AS BIGINT) FROM entries WHERE wallet_id = $1",
        )
        .bind(wallet_id)
        .fetch_one(&mut *conn)
        .await?;
        let (g_remaining, g_held, g_bad): (i64, i64, i64) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(remaining_mc), 0) AS BIGINT), CAST(COALESCE(SUM(held_mc), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN held_mc > remaining_mc OR remaining_mc < 0 OR held_mc < 0 OR remaining_mc > amount_mc THEN 1 ELSE 0 END), 0) AS BIGINT) \
             FROM grants WHERE wallet_id = $1",
        )
        .bind(wallet_id)
        .fetch_one(&mut *conn)
        .await?;
        let (h_active,): (i64,) = sqlx::query_as("SELECT CAST(COALESCE(SUM(amount_mc), 0) AS BIGINT) FROM holds WHERE wallet_id = $1 AND status = 'active'")
            .bind(wallet_id)
            .fetch_one(&mut *conn)
            .await?;
        let (a_active,): (i64,) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(a.amount_mc), 0) AS BIGINT) FROM hold_allocations a JOIN holds h ON h.id = a.hold_id WHERE h.wallet_id = $1 AND h.status = 'active'",
        )
        .bind(wallet_id)
        .fetch_one(&mut *conn)
        .await?;
        let (over,): (i64,) = sqlx::query_as(
            "SELECT COUNT(*) FROM holds h JOIN quotes q ON q.id = h.quote_id WHERE h.wallet_id = $1 AND (h.amount_mc > q.max_mc OR h.captured_mc > h.amount_mc)",
        )
        .bind(wallet_id)
        .fetch_one(&mut *conn)
        .await?;
        let (earn_total, earn_available): (i64, i64) = sqlx::query_as(
            "SELECT CAST(COALESCE(SUM(earnings_delta_mc), 0) AS BIGINT), \
             CAST(COALESCE(SUM(CASE WHEN kind = 'payout' OR available_at_ms <= $2 THEN earnings_delta_mc ELSE 0 END), 0) AS BIGINT) \
             FROM entries WHERE wallet_id = $1",
        )
        .bind(wallet_id)
        .bind(self.now_ms())
        .fetch_one(&mut *conn)
        .await?;
        let checks = [
            (balance >= 0, "balance >= 0"),
            (held >= 0 && held <= balance, "0 <= held <= balance"),
            (balance == e_balance, "balance == sum of entries"),
            (held == e_held, "held == sum of held entries"),
            (balance == g_remaining, "balance == sum of grants remaining"),
            (held == g_held, "held == sum of grants held"),
            (held == h_active, "held == sum of active holds"),
            (held == a_active, "held == sum of active allocations"),
            (g_bad == 0, "0 <= grant held <= remaining <= amount"),
            (over == 0, "captured <= hold <= quote max"),
            (
                earn_total >= 0 && earn_available >= 0,
                "earnings and settled earnings >= 0",
            ),
        ];
        for (ok, what) in checks {
            if !ok {
                return Err(LedgerError::Corrupt(format!(
                    "wallet {wallet_id}: {what} fails (balance {balance}, held {held}, entries {e_balance}/{e_held}, grants {g_remaining}/{g_held}, holds {h_active}, allocations {a_active})"
                )));
            }
        }
        Ok(())
    }
}

const ENTRY_SELECT: &str =
    "SELECT seq, kind, balance_delta_mc, held_delta_mc, grant_id, hold_id, member_id, action, project, note, created_at_ms FROM entries";

fn transaction_from_row(r: &AnyRow) -> Result<Transaction> {
    let kind: String = r.try_get(1)?;
    Ok(Transaction {
        seq: r.try_get(0)?,
        kind: TransactionKind::parse(&kind)
            .ok_or_else(|| LedgerError::Corrupt(format!("entry kind `{kind}`")))?,
        delta_millicredits: r.try_get(2)?,
        held_delta_millicredits: r.try_get(3)?,
        grant_id: r.try_get(4)?,
        hold_id: r.try_get(5)?,
        member_id: r.try_get(6)?,
        action: r.try_get(7)?,
        project: r.try_get(8)?,
        note: r.try_get(9)?,
        created_at_ms: r.try_get(10)?,
    })
}

fn hold_from_row(r: &AnyRow) -> Result<Hold> {
    let status: String = r.try_get(4)?;
    let captured: Option<i64> = r.try_get(5)?;
    Ok(Hold {
        id: r.try_get(0)?,
        quote_id: r.try_get(1)?,
        wallet_id: r.try_get(2)?,
        amount_millicredits: to_u64(r.try_get(3)?),
        status: HoldStatus::parse(&status)
            .ok_or_else(|| LedgerError::Corrupt(format!("hold status `{status}`")))?,
        captured_millicredits: captured.map(to_u64),
        expires_at_ms: r.try_get(6)?,
        created_at_ms: r.try_get(7)?,
    })
}

fn wallet_from_row(r: &AnyRow) -> Result<WalletRow> {
    let kind: String = r.try_get(2)?;
    Ok(WalletRow {
        id: r.try_get(0)?,
        workspace_id: r.try_get(1)?,
        kind: WalletKind::parse(&kind)
            .ok_or_else(|| LedgerError::Corrupt(format!("wallet kind `{kind}`")))?,
        plan_id: r.try_get(4)?,
        plan_credits_mc: r.try_get(5)?,
        cycle_anchor_ms: r.try_get(6)?,
        cycle_index: r.try_get(7)?,
        balance_mc: r.try_get(8)?,
        held_mc: r.try_get(9)?,
    })
}

fn payload_hash<T: Serialize>(op: &str, payload: &T) -> String {
    let body = serde_json::to_vec(payload).unwrap_or_default();
    let mut h = Sha256::new();
    h.update(op.as_bytes());
    h.update([0]);
    h.update(&body);
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn check_key(key: &str) -> Result<()> {
    if key.is_empty()
        || key.len() > MAX_IDEMPOTENCY_KEY_BYTES
        || !key.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(LedgerError::Invalid {
            path: Some("Idempotency-Key".into()),
            message: format!("an idempotency key of 1 to {MAX_IDEMPOTENCY_KEY_BYTES} printable ASCII characters is required"),
        });
    }
    Ok(())
}

fn require_spender(p: &Principal) -> Result<()> {
    if p.role.can_spend() {
        Ok(())
    } else {
        Err(LedgerError::Forbidden(
            "viewers cannot spend credits".into(),
        ))
    }
}

fn require_admin(p: &Principal) -> Result<()> {
    if p.role.can_administer() {
        Ok(())
    } else {
        Err(LedgerError::Forbidden(
            "only admins and owners can do this".into(),
        ))
    }
}

/// The exact token count of `text` with the compiled-in ranks (loaded on first use).
pub fn count_tokens(encoding: creditkit_tokens::Encoding, text: &str) -> u64 {
    creditkit_tokens::Bpe::embedded(encoding).count(text)
}

/// Counts a request's chat `input_text` with the compiled-in ranks, exactly as the
/// browser does with the ranks it fetched (the same function in `creditkit-pricing`).
/// Only the count is kept: the text itself is not stored.
fn count_text(card: &Card, request: &Request) -> Result<Request> {
    creditkit_pricing::count_input_text(card, request, |name| {
        creditkit_tokens::Encoding::from_name(name)
            .map(|e| creditkit_tokens::Bpe::embedded(e) as &dyn creditkit_tokens::Tokenizer)
    })
    .map(|c| c.request)
    .map_err(LedgerError::Estimate)
}
