-- a card version may be scheduled ahead (`cards.rs`): when it takes effect, and
-- the newest version's date beside the workspace's card.

ALTER TABLE card_versions ADD COLUMN effective_at_ms BIGINT;
ALTER TABLE workspaces ADD COLUMN card_from_ms BIGINT
