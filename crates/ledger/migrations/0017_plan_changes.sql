-- a subscription changed through the provider (`subscriptions.rs`): a downgrade
-- from the next period, an upgrade waiting for its prorated invoice, the end at the
-- period's end.

ALTER TABLE subscriptions ADD COLUMN next_plan_id TEXT;
ALTER TABLE subscriptions ADD COLUMN upgrade_plan_id TEXT;
ALTER TABLE subscriptions ADD COLUMN cancel_at_period_end BIGINT NOT NULL DEFAULT 0;
CREATE INDEX subscriptions_wallet ON subscriptions (wallet_id, status)
