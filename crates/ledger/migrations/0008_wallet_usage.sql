-- what a wallet has used, kept with it (a balance read was a sum over its history).

ALTER TABLE wallets ADD COLUMN used_mc BIGINT NOT NULL DEFAULT 0;
UPDATE wallets SET used_mc = COALESCE((SELECT -SUM(e.balance_delta_mc) FROM entries e
    WHERE e.wallet_id = wallets.id AND e.kind IN ('charge', 'refund')), 0)
