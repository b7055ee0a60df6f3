-- storage stays flat: idempotency records and quotes never confirmed are pruned
-- after a retention window.

CREATE INDEX idempotency_created ON idempotency (created_at_ms);
CREATE INDEX quotes_expiry ON quotes (expires_at_ms)
