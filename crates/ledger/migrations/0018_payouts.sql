-- creators' payouts reaching a bank (`payouts.rs`): each payout's state, and the
-- account with the provider it is sent to.

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
