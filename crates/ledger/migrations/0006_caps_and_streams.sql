-- spending caps, and streaming holds (reserved in chunks as a model streams, up
-- to the maximum the user confirmed).

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
