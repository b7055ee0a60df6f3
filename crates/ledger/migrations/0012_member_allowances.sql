-- free messages are a member's in the workspace (a new wallet is no new
-- allowance), and a confirmed message holds its place (`hold_agents`) until its
-- hold is released, so quotes confirmed before any capture are not all free.

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
