-- the trust boundary. Members lose their long-lived tokens (browsers use sessions
-- the operator mints); API keys get a shown prefix, a name, last use, expiry and
-- revocation; operator keys; card versions; suspension.

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
