-- quotes are signed, not stored (`signed.rs`): the database's signing key.

CREATE TABLE secrets (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
)
