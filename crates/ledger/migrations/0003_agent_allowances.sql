-- free messages per agent, counted by the ledger (never taken from the browser).

CREATE TABLE agent_usage (
    wallet_id TEXT NOT NULL REFERENCES wallets(id),
    member_key TEXT NOT NULL,
    agent_id TEXT NOT NULL,
    messages BIGINT NOT NULL,
    PRIMARY KEY (wallet_id, member_key, agent_id)
)
