-- who set a cap (`caps.rs`, `authority`): only as high an authority removes it.
-- Caps set before were the backend's or an admin's: kept as the backend's.

ALTER TABLE caps ADD COLUMN set_by BIGINT NOT NULL DEFAULT 2
