-- what a subscription is paid each period, so a renewal's invoice is checked.

ALTER TABLE subscriptions ADD COLUMN amount_minor BIGINT;
ALTER TABLE subscriptions ADD COLUMN currency TEXT
