//! Storage: everything that knows which database is behind the ledger.
//!
//! - [`conn`]: the connection a statement runs on ([`Conn`], an sqlx `Executor`), and
//!   [`later`], a write whose answer is not needed.
//! - [`read`]: where reads go ([`ReadPool`]).
//! - [`writer`]: where writes go ([`Writer`]): SQLite's group commit, PostgreSQL's pool.
//! - [`sqlite`]: SQLite's connections run in place, its readers and its checkpointer.
//! - [`postgres`]: PostgreSQL's write queue and its change announcements.
//! - [`migrate`]: the schema, from `crates/ledger/migrations/*.sql`.
//!
//! Both databases sit behind one trait, sqlx's `Executor<Database = Any>` ([`Conn`],
//! [`ReadPool`]), so the ledger has one SQL text: `$N` placeholders (SQLite accepts
//! them), BIGINT amounts, sums cast back to BIGINT (PostgreSQL sums BIGINT into
//! NUMERIC). The few real differences live in [`Dialect`]. Each table's statements are
//! in the module of the ledger that owns it (`holds.rs` the holds, …).
//!
//! Imports go one way: `conn`, `read` and `writer` use `sqlite` and `postgres`, which
//! use nothing of the ledger's.

mod conn;
mod migrate;
mod postgres;
mod read;
pub(crate) mod sqlite;
mod writer;

use std::str::FromStr;

use sqlx::any::AnyPoolOptions;
use sqlx::Executor;

pub(crate) use conn::{later, Conn};
pub(crate) use postgres::announcer;
pub(crate) use read::ReadPool;
pub use writer::WriterStats;
pub(crate) use writer::{Tx, Writer};

use crate::LedgerError;
use migrate::migrate;
use sqlite::{Checkpointer, LiteConn};

/// Which database is behind the pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    /// Locks the selected wallet row (the table aliased `w`) until commit, and only it:
    /// without `OF w` the workspace row joined to it was locked too, so every write in a
    /// workspace queued behind every other (64 wallets ran no faster than one). SQLite
    /// has no row locks: its pool has one connection, so every transaction is already
    /// serialised.
    pub(crate) fn for_update(self) -> &'static str {
        match self {
            Dialect::Sqlite => "",
            // NO KEY UPDATE: an entry inserted for another wallet (a creator's earning)
            // takes only KEY SHARE on that wallet, so two wallets paying each other
            // cannot deadlock.
            Dialect::Postgres => " FOR NO KEY UPDATE OF w",
        }
    }

    pub(crate) fn serial_pk(self) -> &'static str {
        match self {
            Dialect::Sqlite => "INTEGER PRIMARY KEY AUTOINCREMENT",
            Dialect::Postgres => "BIGSERIAL PRIMARY KEY",
        }
    }
}

/// Opens the database: the read pool, the write pool and the dialect. On PostgreSQL
/// they are one pool; on SQLite the writer is one connection with `synchronous = FULL`
/// (an acknowledged write survives a power cut), the readers are read-only.
pub(crate) async fn connect(
    url: &str,
    power_safe: bool,
    background_checkpoint: bool,
) -> Result<(ReadPool, Writer, Dialect), LedgerError> {
    sqlx::any::install_default_drivers();
    let dialect = if url.starts_with("sqlite:") {
        Dialect::Sqlite
    } else if url.starts_with("postgres:") || url.starts_with("postgresql:") {
        Dialect::Postgres
    } else {
        return Err(LedgerError::Config(format!(
            "database URL must start with sqlite: or postgres:, got `{url}`"
        )));
    };
    let timeout = std::time::Duration::from_secs(60);
    match dialect {
        Dialect::Sqlite => {
            let writer = AnyPoolOptions::new()
                .max_connections(1)
                .acquire_timeout(timeout)
                .after_connect(move |conn, _| {
                    Box::pin(async move {
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute(if power_safe {
                            "PRAGMA synchronous = FULL"
                        } else {
                            "PRAGMA synchronous = NORMAL"
                        })
                        .await?;
                        conn.execute("PRAGMA busy_timeout = 10000").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        Ok(())
                    })
                })
                .connect(url)
                .await?;
            migrate(&writer, dialect).await?;
            writer.close().await;
            // Writes go through one connection run in place (`sqlite.rs`), with group commit.
            let path = sqlx::sqlite::SqliteConnectOptions::from_str(url)?
                .get_filename()
                .to_path_buf();
            let checkpoint = if background_checkpoint {
                Some(Checkpointer::start(&path)?)
            } else {
                None
            };
            let writer = Writer::group(
                LiteConn::open(&path, power_safe, checkpoint.is_some())?,
                checkpoint,
            );
            // Reads too run in place, on read-only connections beside the writer.
            Ok((ReadPool::lite(path), writer, dialect))
        }
        Dialect::Postgres => {
            let pool = AnyPoolOptions::new()
                .max_connections(16)
                .acquire_timeout(timeout)
                .connect(url)
                .await?;
            migrate(&pool, dialect).await?;
            Ok((ReadPool::Sqlx(pool.clone()), Writer::pool(pool), dialect))
        }
    }
}
