-- payments. A checkout is recorded before the provider is asked (the webhook is
-- matched against it, never trusted for a price); payments map to the grant they
-- bought (refunds take back from it); paid subscriptions renew by invoice, not by
-- the clock; debts are what a refund could not take back.

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
