-- auto top-up (`topups.rs`): what the operator allows a workspace, each wallet's rule,
-- the card saved for payments made without the member, and each top-up with its
-- attempts. `wallets.topup_below_mc` is the rule's threshold while it is armed (NULL
-- otherwise): read with the wallet's row under its lock, so the write that crosses
-- it decides the top-up in its own transaction. At most one top-up of a wallet is
-- under way (`topups_one_open`): a second cannot be written, whatever races. The card
-- an attempt was asked with is kept (`asked_*`): until the provider answers it, the
-- same question (key and card) is asked again, even after a new card is saved.

ALTER TABLE wallets ADD COLUMN topup_below_mc BIGINT;
CREATE TABLE topup_bounds (
    workspace_id TEXT PRIMARY KEY REFERENCES workspaces(id),
    enabled BIGINT NOT NULL,
    max_per_month BIGINT NOT NULL,
    max_amount_minor_per_month BIGINT NOT NULL,
    updated_at_ms BIGINT NOT NULL
);
CREATE TABLE topup_rules (
    wallet_id TEXT PRIMARY KEY REFERENCES wallets(id),
    workspace_id TEXT NOT NULL,
    below_mc BIGINT NOT NULL CHECK (below_mc > 0),
    pack_id TEXT NOT NULL,
    quantity BIGINT NOT NULL CHECK (quantity > 0),
    max_per_month BIGINT NOT NULL,
    max_amount_minor_per_month BIGINT NOT NULL,
    status TEXT NOT NULL,
    failures BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    set_by_member_id TEXT,
    updated_at_ms BIGINT NOT NULL
);
CREATE TABLE payment_methods (
    wallet_id TEXT PRIMARY KEY REFERENCES wallets(id),
    provider TEXT NOT NULL,
    customer_ref TEXT NOT NULL,
    method_ref TEXT NOT NULL,
    saved_at_ms BIGINT NOT NULL
);
CREATE TABLE topups (
    id TEXT PRIMARY KEY,
    workspace_id TEXT NOT NULL,
    wallet_id TEXT NOT NULL REFERENCES wallets(id),
    month TEXT NOT NULL,
    pack_id TEXT NOT NULL,
    description TEXT NOT NULL,
    credits_mc BIGINT NOT NULL CHECK (credits_mc > 0),
    amount_minor BIGINT NOT NULL CHECK (amount_minor > 0),
    currency TEXT NOT NULL,
    validity_months BIGINT,
    status TEXT NOT NULL,
    attempt BIGINT NOT NULL DEFAULT 1,
    next_attempt_at_ms BIGINT NOT NULL,
    lease_until_ms BIGINT NOT NULL DEFAULT 0,
    asked_customer_ref TEXT,
    asked_method_ref TEXT,
    payment_ref TEXT,
    grant_id TEXT,
    last_error TEXT,
    created_at_ms BIGINT NOT NULL,
    settled_at_ms BIGINT
);
CREATE UNIQUE INDEX topups_one_open ON topups (wallet_id) WHERE status = 'due';
CREATE INDEX topups_due ON topups (status, next_attempt_at_ms);
CREATE INDEX topups_month ON topups (wallet_id, month)
