-- the ledger.

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
