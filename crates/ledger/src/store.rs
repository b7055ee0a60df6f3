//! Connecting to SQLite (run in place, `lite.rs`) or PostgreSQL (`sqlx::Any`), and the
//! schema both share.
//!
//! One SQL text serves both: `$N` placeholders (SQLite accepts them), BIGINT amounts,
//! sums cast back to BIGINT (PostgreSQL sums BIGINT into NUMERIC). The few real
//! differences live in [`Dialect`].

use sqlx::any::AnyPoolOptions;
use sqlx::AnyPool;
use sqlx::Executor;
use std::str::FromStr;

use crate::lite::{Checkpointer, LiteConn, ReadPool};
use crate::writer::Writer;
use crate::LedgerError;

/// Which database is behind the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// Locks the selected wallet row (the table aliased `w`) until commit, and only it:
    /// without `OF w` the workspace row joined to it was locked too, so every write in a
    /// workspace queued behind every other (64 wallets ran no faster than one). SQLite
    /// has no row locks: its pool has one connection, so every transaction is already
    /// serialised.
    pub(crate) fn for_update(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            // NO KEY UPDATE: an entry inserted for another wallet (a creator's earning)
            // takes only KEY SHARE on that wallet, so two wallets paying each other
            // cannot deadlock.
            Dialect::Postgres => " FOR NO KEY UPDATE OF w",
        }
    }

    fn serial_pk(self) -> &'static str {
        match self {
            Dialect::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
            Dialect::Postgres => "BIGSERIAL PRIMARY KEY",
        }
    }
}

/// Schema version this code expects; migrations run up to it.
const MIGRATIONS: &[&str] = &[
    // 1: the ledger.
    r#"
CREATE TABLE cards (
    hash TEXT PRIMARY KEY,
    json TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE TABLE workspaces (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    card_hash TEXT NOT NULL REFERENCES cards(hash),
    low_threshold_mc BIGINT NOT NULL,
    critical_threshold_mc BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE TABLE members (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at_ms BIGINT NOT NULL
);
CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    key_hash TEXT NOT NULL UNIQUE,
    created_at_ms BIGINT NOT NULL
);
CREATE TABLE wallets (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    kind TEXT NOT NULL,
    owner_member_id TEXT,
    plan_id TEXT,
    plan_credits_mc BIGINT,
    cycle_anchor_ms BIGINT,
    cycle_index BIGINT,
    balance_mc BIGINT NOT NULL DEFAULT 0 CHECK (balance_mc >= 0),
    held_mc BIGINT NOT NULL DEFAULT 0 CHECK (held_mc >= 0),
    CHECK (held_mc <= balance_mc)
);
CREATE TABLE grants (
    id TEXT PRIMARY KEY,
    wallet_id TEXT NOT NULL REFERENCES wallets(id),
    seq BIGINT NOT NULL,
    source TEXT NOT NULL,
    ref TEXT,
    amount_mc BIGINT NOT NULL CHECK (amount_mc >= 0),
    remaining_mc BIGINT NOT NULL CHECK (remaining_mc >= 0),
    held_mc BIGINT NOT NULL DEFAULT 0 CHECK (held_mc >= 0),
    expires_at_ms BIGINT,
    created_at_ms BIGINT NOT NULL,
    CHECK (held_mc <= remaining_mc)
);
CREATE UNIQUE INDEX grants_wallet ON grants (wallet_id, seq);
CREATE TABLE quotes (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    wallet_id TEXT NOT NULL REFERENCES wallets(id),
    card_hash TEXT NOT NULL,
    request_json TEXT NOT NULL,
    estimate_json TEXT NOT NULL,
    max_mc BIGINT NOT NULL,
    member_id TEXT,
    action TEXT,
    project TEXT,
    expires_at_ms BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE TABLE holds (
    id TEXT PRIMARY KEY,
    quote_id TEXT NOT NULL UNIQUE REFERENCES quotes(id),
    wallet_id TEXT NOT NULL REFERENCES wallets(id),
    amount_mc BIGINT NOT NULL CHECK (amount_mc >= 0),
    status TEXT NOT NULL,
    captured_mc BIGINT,
    member_id TEXT,
    action TEXT,
    project TEXT,
    expires_at_ms BIGINT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    CHECK (captured_mc IS NULL OR captured_mc <= amount_mc)
);
CREATE INDEX holds_due ON holds (status, expires_at_ms);
CREATE INDEX holds_wallet ON holds (wallet_id, status);
CREATE TABLE hold_allocations (
    hold_id TEXT NOT NULL REFERENCES holds(id),
    grant_id TEXT NOT NULL REFERENCES grants(id),
    position BIGINT NOT NULL,
    amount_mc BIGINT NOT NULL CHECK (amount_mc > 0),
    PRIMARY KEY (hold_id, grant_id)
);
CREATE TABLE entries (
    seq {serial},
    wallet_id TEXT NOT NULL REFERENCES wallets(id),
    kind TEXT NOT NULL,
    balance_delta_mc BIGINT NOT NULL,
    held_delta_mc BIGINT NOT NULL,
    earnings_delta_mc BIGINT NOT NULL DEFAULT 0,
    platform_share_mc BIGINT NOT NULL DEFAULT 0,
    available_at_ms BIGINT,
    grant_id TEXT,
    hold_id TEXT,
    member_id TEXT,
    action TEXT,
    project TEXT,
    note TEXT,
    month TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX entries_wallet ON entries (wallet_id, seq);
CREATE INDEX entries_hold ON entries (hold_id);
CREATE TABLE agent_payees (
    agent_id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    wallet_id TEXT NOT NULL REFERENCES wallets(id)
);
CREATE TABLE idempotency (
    workspace_id TEXT NOT NULL,
    key TEXT NOT NULL,
    payload_hash TEXT NOT NULL,
    response TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, key)
);
"#,
    // 2: the trust boundary. Members lose their long-lived tokens (browsers use sessions
    // the operator mints); API keys get a shown prefix, a name, last use, expiry and
    // revocation; operator keys; card versions; suspension.
    r#"
CREATE TABLE members_v2 (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    external_id TEXT,
    created_at_ms BIGINT NOT NULL,
    removed_at_ms BIGINT
);
INSERT INTO members_v2 (id, workspace_id, name, role, created_at_ms)
    SELECT id, workspace_id, name, role, created_at_ms FROM members;
DROP TABLE members;
ALTER TABLE members_v2 RENAME TO members;
CREATE INDEX members_workspace ON members (workspace_id, external_id);
ALTER TABLE api_keys ADD COLUMN prefix TEXT;
ALTER TABLE api_keys ADD COLUMN name TEXT;
ALTER TABLE api_keys ADD COLUMN last_used_at_ms BIGINT;
ALTER TABLE api_keys ADD COLUMN expires_at_ms BIGINT;
ALTER TABLE api_keys ADD COLUMN revoked_at_ms BIGINT;
CREATE INDEX api_keys_workspace ON api_keys (workspace_id);
CREATE TABLE operator_keys (
    id TEXT PRIMARY KEY,
    prefix TEXT NOT NULL,
    name TEXT,
    key_hash TEXT NOT NULL UNIQUE,
    created_at_ms BIGINT NOT NULL,
    last_used_at_ms BIGINT,
    revoked_at_ms BIGINT
);
CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    member_id TEXT NOT NULL REFERENCES members(id),
    wallet_id TEXT,
    rights TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    revoked_at_ms BIGINT
);
CREATE INDEX sessions_member ON sessions (member_id);
CREATE INDEX sessions_expiry ON sessions (expires_at_ms);
CREATE TABLE card_versions (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    version_no BIGINT NOT NULL,
    card_hash TEXT NOT NULL REFERENCES cards(hash),
    note TEXT,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, version_no)
);
INSERT INTO card_versions (workspace_id, version_no, card_hash, note, created_at_ms)
    SELECT id, 1, card_hash, NULL, created_at_ms FROM workspaces;
ALTER TABLE workspaces ADD COLUMN suspended_at_ms BIGINT
"#,
    // 3: free messages per agent, counted by the ledger (never taken from the browser).
    r#"
CREATE TABLE agent_usage (
    wallet_id TEXT NOT NULL REFERENCES wallets(id),
    member_key TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    messages BIGINT NOT NULL,
    PRIMARY KEY (wallet_id, member_key, agent_id)
)
"#,
    // 4: outbound events: the outbox (written with the change it reports), endpoints,
    // deliveries and every attempt.
    r#"
CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    secret TEXT NOT NULL,
    events TEXT NOT NULL,
    workspace_id TEXT,
    created_at_ms BIGINT NOT NULL,
    disabled_at_ms BIGINT
);
CREATE TABLE outbox (
    seq {serial},
    id TEXT NOT NULL UNIQUE,
    workspace_id TEXT NOT NULL,
    type TEXT NOT NULL,
    payload TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX outbox_workspace ON outbox (workspace_id, seq);
CREATE INDEX outbox_created ON outbox (created_at_ms);
CREATE TABLE deliveries (
    event_id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_attempt_at_ms BIGINT NOT NULL,
    expires_at_ms BIGINT NOT NULL,
    delivered_at_ms BIGINT,
    failed_at_ms BIGINT,
    PRIMARY KEY (event_id, endpoint_id)
);
CREATE INDEX deliveries_due ON deliveries (next_attempt_at_ms);
CREATE TABLE delivery_attempts (
    event_id TEXT NOT NULL,
    endpoint_id TEXT NOT NULL,
    attempt BIGINT NOT NULL,
    at_ms BIGINT NOT NULL,
    status_code BIGINT,
    error TEXT,
    duration_ms BIGINT NOT NULL,
    PRIMARY KEY (event_id, endpoint_id, attempt)
)
"#,
    // 5: payments. A checkout is recorded before the provider is asked (the webhook is
    // matched against it, never trusted for a price); payments map to the grant they
    // bought (refunds take back from it); paid subscriptions renew by invoice, not by
    // the clock; debts are what a refund could not take back.
    r#"
CREATE TABLE checkouts (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    wallet_id TEXT NOT NULL REFERENCES wallets(id),
    member_id TEXT,
    provider TEXT NOT NULL,
    provider_ref TEXT,
    card_hash TEXT NOT NULL,
    pack_id TEXT,
    plan_id TEXT,
    quantity BIGINT NOT NULL,
    credits_mc BIGINT NOT NULL,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    completed_at_ms BIGINT
);
CREATE TABLE payments (
    provider TEXT NOT NULL,
    payment_ref TEXT NOT NULL,
    wallet_id TEXT NOT NULL REFERENCES wallets(id),
    grant_id TEXT,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    credits_mc BIGINT NOT NULL,
    taken_back_mc BIGINT NOT NULL DEFAULT 0,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (provider, payment_ref)
);
CREATE TABLE subscriptions (
    provider TEXT NOT NULL,
    subscription_ref TEXT NOT NULL,
    wallet_id TEXT NOT NULL REFERENCES wallets(id),
    plan_id TEXT NOT NULL,
    card_hash TEXT NOT NULL,
    grant_id TEXT,
    status TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    PRIMARY KEY (provider, subscription_ref)
);
CREATE TABLE debts (
    id TEXT PRIMARY KEY,
    wallet_id TEXT NOT NULL REFERENCES wallets(id),
    amount_mc BIGINT NOT NULL CHECK (amount_mc > 0),
    repaid_mc BIGINT NOT NULL DEFAULT 0,
    reason TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL,
    CHECK (repaid_mc <= amount_mc)
);
CREATE INDEX debts_wallet ON debts (wallet_id)
"#,
    // 6: spending caps, and streaming holds (reserved in chunks as a model streams, up
    // to the maximum the user confirmed).
    r#"
CREATE TABLE caps (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    wallet_id TEXT NOT NULL REFERENCES wallets(id),
    scope TEXT NOT NULL,
    subject TEXT,
    limit_mc BIGINT NOT NULL CHECK (limit_mc > 0),
    period TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE INDEX caps_wallet ON caps (wallet_id);
CREATE INDEX entries_wallet_time ON entries (wallet_id, created_at_ms);
ALTER TABLE quotes ADD COLUMN stream_first_tokens BIGINT;
ALTER TABLE quotes ADD COLUMN hold_mc BIGINT;
ALTER TABLE holds ADD COLUMN confirmed_max_mc BIGINT;
ALTER TABLE holds ADD COLUMN reserved_tokens BIGINT;
ALTER TABLE holds ADD COLUMN generated_tokens BIGINT;
ALTER TABLE holds ADD COLUMN generated_mc BIGINT
"#,
    // 7: storage stays flat: idempotency records and quotes never confirmed are pruned
    // after a retention window.
    r#"
CREATE INDEX idempotency_created ON idempotency (created_at_ms);
CREATE INDEX quotes_expiry ON quotes (expires_at_ms)
"#,
    // 8: what a wallet has used, kept with it (a balance read was a sum over its history).
    r#"
ALTER TABLE wallets ADD COLUMN used_mc BIGINT NOT NULL DEFAULT 0;
UPDATE wallets SET used_mc = COALESCE((SELECT -SUM(e.balance_delta_mc) FROM entries e
    WHERE e.wallet_id = wallets.id AND e.kind IN ('charge', 'refund')), 0)
"#,
    // 9: quotes are signed, not stored (`signed.rs`): the database's signing key.
    r#"
CREATE TABLE secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
)
"#,
    // 10: idempotency keys are kept apart by credential class (`check_key`): a record
    // stored before is the backend's (its API key settles and retries); a provider's
    // event ids (`stripe:evt_…`) keep their own namespace.
    r#"
UPDATE idempotency SET key = 'apikey ' || key WHERE key NOT LIKE '% %' AND key NOT LIKE 'stripe:%'
"#,
    // 11: what a subscription is paid each period, so a renewal's invoice is checked.
    r#"
ALTER TABLE subscriptions ADD COLUMN amount_minor BIGINT;
ALTER TABLE subscriptions ADD COLUMN currency TEXT
"#,
    // 12: free messages are a member's in the workspace (a new wallet is no new
    // allowance), and a confirmed message holds its place (`hold_agents`) until its
    // hold is released, so quotes confirmed before any capture are not all free.
    r#"
CREATE TABLE agent_messages (
    workspace_id TEXT NOT NULL REFERENCES workspaces(id),
    member_key TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    messages BIGINT NOT NULL,
    PRIMARY KEY (workspace_id, member_key, agent_id)
);
INSERT INTO agent_messages (workspace_id, member_key, agent_id, messages)
    SELECT w.workspace_id, u.member_key, u.agent_id, SUM(u.messages)
    FROM agent_usage u JOIN wallets w ON w.id = u.wallet_id
    GROUP BY w.workspace_id, u.member_key, u.agent_id;
CREATE TABLE hold_agents (
    hold_id TEXT NOT NULL REFERENCES holds(id),
    workspace_id TEXT NOT NULL,
    member_key TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    messages BIGINT NOT NULL
);
CREATE INDEX hold_agents_member ON hold_agents (workspace_id, member_key, agent_id)
"#,
    // 13: who set a cap (`caps.rs`, `authority`): only as high an authority removes it.
    // Caps set before were the backend's or an admin's: kept as the backend's.
    r#"
ALTER TABLE caps ADD COLUMN set_by BIGINT NOT NULL DEFAULT 2
"#,
    // 14: a session may be bound to a project by the backend that mints it.
    r#"
ALTER TABLE sessions ADD COLUMN project TEXT
"#,
    // 15: a chat turn's hold names its conversation (what a chat has cost so far).
    r#"
ALTER TABLE holds ADD COLUMN conversation TEXT;
CREATE INDEX holds_conversation ON holds (conversation)
"#,
    // 16: a card version may be scheduled ahead (`cards.rs`): when it takes effect, and
    // the newest version's date beside the workspace's card.
    r#"
ALTER TABLE card_versions ADD COLUMN effective_at_ms BIGINT;
ALTER TABLE workspaces ADD COLUMN card_from_ms BIGINT
"#,
    // 17: a subscription changed through the provider (`subscriptions.rs`): a downgrade
    // from the next period, an upgrade waiting for its prorated invoice, the end at the
    // period's end.
    r#"
ALTER TABLE subscriptions ADD COLUMN next_plan_id TEXT;
ALTER TABLE subscriptions ADD COLUMN upgrade_plan_id TEXT;
ALTER TABLE subscriptions ADD COLUMN cancel_at_period_end BIGINT NOT NULL DEFAULT 0;
CREATE INDEX subscriptions_wallet ON subscriptions (wallet_id, status)
"#,
    // 18: creators' payouts reaching a bank (`payouts.rs`): each payout's state, and the
    // account with the provider it is sent to.
    r#"
CREATE TABLE payouts (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    wallet_id TEXT NOT NULL REFERENCES wallets(id),
    amount_mc BIGINT NOT NULL CHECK (amount_mc > 0),
    amount_minor BIGINT,
    currency TEXT,
    status TEXT NOT NULL,
    provider_ref TEXT,
    failure TEXT,
    created_at_ms BIGINT NOT NULL,
    decided_at_ms BIGINT
);
CREATE INDEX payouts_wallet ON payouts (wallet_id, created_at_ms);
CREATE INDEX payouts_status ON payouts (status, created_at_ms);
CREATE TABLE payout_accounts (
    wallet_id TEXT PRIMARY KEY REFERENCES wallets(id),
    provider TEXT NOT NULL,
    account_ref TEXT NOT NULL,
    status TEXT NOT NULL,
    created_at_ms BIGINT NOT NULL
);
CREATE UNIQUE INDEX payout_accounts_ref ON payout_accounts (provider, account_ref)
"#,
];

/// Opens the database: the read pool, the write pool and the dialect. On PostgreSQL
/// they are one pool; on SQLite the writer is one connection with `synchronous = FULL`
/// (an acknowledged write survives a power cut), the readers are read-only.
pub(crate) async fn connect(
    url: &str,
    power_safe: bool,
    background_checkpoint: bool,
) -> Result<(ReadPool, Writer, Dialect), LedgerError> {
    sqlx::any::install_default_drivers();
    let dialect = if url.starts_with("sqlite:") {
        Dialect::Sqlite
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Dialect::Postgres
    } else {
        return Err(LedgerError::Config(format!(
            "database URL must start with sqlite: or postgres:, got `{url}`"
        )));
    };
    let timeout = std::time::Duration::from_secs(60);
    match dialect {
        Dialect::Sqlite => {
            let writer = AnyPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(timeout)
                .after_connect(move |conn, _| {
                    Box::pin(async move {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute(if power_safe {
                            "PRAGMA synchronous = FULL"
                        } else {
                            "PRAGMA synchronous = NORMAL"
                        })
                        .await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        Ok(())
                    })
                })
                .connect(url)
                .await?;
            migrate(&writer, dialect).await?;
            writer.close().await;
            // Writes go through one connection run in place (`lite.rs`), with group commit.
            let path = sqlx::sqlite::SqliteConnectOptions::from_str(url)?
                .get_filename()
                .to_path_buf();
            let checkpoint = if background_checkpoint {
                Some(Checkpointer::start(&path)?)
            } else {
                None
            };
            let writer = Writer::group(
                LiteConn::open(&path, power_safe, checkpoint.is_some())?,
                checkpoint,
            );
            // Reads too run in place, on read-only connections beside the writer.
            Ok((ReadPool::lite(path), writer, dialect))
        }
        Dialect::Postgres => {
            let pool = AnyPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(timeout)
                .connect(url)
                .await?;
            migrate(&pool, dialect).await?;
            Ok((ReadPool::Sqlx(pool.clone()), Writer::pool(pool), dialect))
        }
    }
}

async fn migrate(pool: &AnyPool, dialect: Dialect) -> Result<(), LedgerError> {
    let mut tx = pool.begin().await?;
    if dialect == Dialect::Postgres {
        // Several servers may start at once against one database.
        sqlx::query("SELECT pg_advisory_xact_lock(7242001)")
            .execute(&mut *tx)
            .await?;
    }
    tx.execute("CREATE TABLE IF NOT EXISTS creditkit_schema (version BIGINT NOT NULL)")
        .await?;
    let row: Option<(i64,)> = sqlx::query_as("SELECT version FROM creditkit_schema")
        .fetch_optional(&mut *tx)
        .await?;
    let current = match row {
        Some((v,)) => v,
        None => {
            sqlx::query("INSERT INTO creditkit_schema (version) VALUES (0)")
                .execute(&mut *tx)
                .await?;
            0
        }
    };
    let target = MIGRATIONS.len() as i64;
    if current > target {
        return Err(LedgerError::Config(format!(
            "database schema {current} is newer than this build's {target}"
        )));
    }
    for (i, migration) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let sql = migration.replace("{serial}", dialect.serial_pk());
        for statement in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            tx.execute(statement).await?;
        }
        sqlx::query("UPDATE creditkit_schema SET version = $1")
            .bind(i as i64 + 1)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}
