//! PostgreSQL: writes that need no answer, sent together.
//!
//! Under a wallet's row lock every round trip to PostgreSQL is time no other write to
//! that wallet can use: the lock, not the database, sets a hot wallet's rate. Most of a
//! write's statements answer nothing the write still needs (the entry, the wallet's new
//! balance, the event, the idempotency record, …). [`later`](super::conn::later) queues such a statement on
//! a PostgreSQL transaction instead of running it; the queue goes to the server as **one
//! statement** (each queued statement a data-modifying `WITH` of it) just before the
//! transaction's next statement or its commit. So a hold or a capture sends its writes
//! in one round trip instead of one each.
//!
//! What keeps this the same as running them in turn:
//! - every other statement on the transaction (a read, a write that is not queued, the
//!   commit) first sends the queue, so a read sees every queued write;
//! - one sending touches each table at most once: a statement on a table already in the
//!   queue sends the queue first. (PostgreSQL runs a `WITH`'s parts on one snapshot in
//!   no set order: two parts on one table could race on a row, or insert in another
//!   order than written.) Foreign keys and `CHECK`s are checked at the end of the one
//!   statement, as they would have been;
//! - an error of a queued statement fails the statement that sent it, which fails the
//!   write as it would have (its transaction is rolled back, nothing is acknowledged).
//!
//! SQLite runs its statements in place in microseconds: `later` runs them at once.

use sqlx::any::AnyArguments;
use sqlx::{Any, AnyConnection, Execute};
use sqlx_core::any::{AnyArgumentBuffer, AnyValueKind};
use tokio::sync::broadcast;

/// More arguments than this in one sending would near PostgreSQL's limit (65,535).
const MAX_ARGUMENTS: usize = 30_000;

/// A PostgreSQL transaction's queued writes.
#[derive(Default)]
pub(crate) struct Queue {
    statements: Vec<(String, Vec<AnyValueKind<'static>>)>,
    /// The table each statement writes, in order.
    tables: Vec<String>,
    arguments: usize,
}

impl Queue {
    /// Queues `query` (a plain INSERT, UPDATE or DELETE) to go with the transaction's
    /// next statement; any other statement runs now, after the queue.
    pub(crate) async fn push<'q, E: Execute<'q, Any> + 'q>(
        &mut self,
        tx: &mut AnyConnection,
        query: E,
    ) -> Result<(), sqlx::Error> {
        let queue = self;
        let mut query = query;
        let args = query
            .take_arguments()
            .map_err(sqlx::Error::Encode)?
            .map(|a| a.values.0)
            .unwrap_or_default();
        let sql = query.sql();
        let Some(table) = target(sql) else {
            // Not a plain INSERT, UPDATE or DELETE: run it now, after the queue.
            queue.send(tx).await?;
            let args = AnyArguments {
                values: AnyArgumentBuffer(args),
            };
            sqlx::Executor::execute(&mut *tx, sqlx::query_with(sql, args)).await?;
            return Ok(());
        };
        if queue.tables.iter().any(|t| t == table) || queue.arguments + args.len() > MAX_ARGUMENTS {
            queue.send(tx).await?;
        }
        queue.tables.push(table.to_owned());
        queue.arguments += args.len();
        queue.statements.push((
            sql.to_owned(),
            args.into_iter().map(owned).collect::<Result<_, _>>()?,
        ));
        Ok(())
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.statements.is_empty()
    }

    /// Sends the queued writes as one statement (none: nothing is sent).
    pub(crate) async fn send(&mut self, conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
        let Some((sql, args)) = self.combined() else {
            return Ok(());
        };
        let args = AnyArguments {
            values: AnyArgumentBuffer(args),
        };
        sqlx::Executor::execute(conn, sqlx::query_with(&sql, args)).await?;
        Ok(())
    }

    /// The queue as one statement and its arguments, and the queue emptied.
    fn combined(&mut self) -> Option<(String, Vec<AnyValueKind<'static>>)> {
        let statements = std::mem::take(&mut self.statements);
        self.tables.clear();
        self.arguments = 0;
        let last = statements.len().checked_sub(1)?;
        let mut sql = String::new();
        let mut args = Vec::new();
        for (i, (text, values)) in statements.into_iter().enumerate() {
            if i < last {
                sql.push_str(if i == 0 { "WITH " } else { ", " });
                sql.push_str(&format!("w{i} AS ("));
                renumber(&text, args.len(), &mut sql);
                sql.push(')');
            } else {
                // The last statement is the main one: `WITH w0 AS (…), … INSERT …`.
                if last > 0 {
                    sql.push(' ');
                }
                renumber(&text, args.len(), &mut sql);
            }
            args.extend(values);
        }
        Some((sql, args))
    }
}

/// The table a plain `INSERT INTO t`, `UPDATE t` or `DELETE FROM t` writes.
fn target(sql: &str) -> Option<&str> {
    let rest = sql
        .strip_prefix("INSERT INTO ")
        .or_else(|| sql.strip_prefix("UPDATE "))
        .or_else(|| sql.strip_prefix("DELETE FROM "))?;
    let end = rest
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .unwrap_or(rest.len());
    (end > 0).then(|| &rest[..end])
}

/// Appends `sql` with each parameter `$n` written as `$(n + offset)` (string literals
/// are copied as they are).
fn renumber(sql: &str, offset: usize, out: &mut String) {
    let mut chars = sql.char_indices().peekable();
    let mut quoted = false;
    while let Some((_, c)) = chars.next() {
        out.push(c);
        if c == '\'' {
            quoted = !quoted;
        }
        if c != '$' || quoted {
            continue;
        }
        let mut n = 0usize;
        let mut digits = false;
        while let Some(&(_, d)) = chars.peek() {
            let Some(v) = d.to_digit(10) else { break };
            n = n * 10 + v as usize;
            digits = true;
            chars.next();
        }
        if digits {
            out.push_str(&(n + offset).to_string());
        }
    }
}

/// An argument that no longer borrows from the statement it was bound to.
fn owned(v: AnyValueKind<'_>) -> Result<AnyValueKind<'static>, sqlx::Error> {
    Ok(match v {
        AnyValueKind::Null(k) => AnyValueKind::Null(k),
        AnyValueKind::Bool(b) => AnyValueKind::Bool(b),
        AnyValueKind::SmallInt(n) => AnyValueKind::SmallInt(n),
        AnyValueKind::Integer(n) => AnyValueKind::Integer(n),
        AnyValueKind::BigInt(n) => AnyValueKind::BigInt(n),
        AnyValueKind::Real(x) => AnyValueKind::Real(x),
        AnyValueKind::Double(x) => AnyValueKind::Double(x),
        AnyValueKind::Text(t) => AnyValueKind::Text(t.into_owned().into()),
        AnyValueKind::Blob(b) => AnyValueKind::Blob(b.into_owned().into()),
        // (The enum is non-exhaustive; sqlx 0.8.6, pinned, has no other kind.)
        other => {
            return Err(sqlx::Error::Protocol(format!(
                "an argument the write queue cannot hold: {other:?}"
            )))
        }
    })
}

/// Sends PostgreSQL NOTIFYs for the wallets committed writes changed: whatever is queued,
/// each wallet once, in one statement outside any write (a NOTIFY alone writes nothing,
/// so its commit waits for no flush). Every instance's listener, this one's included,
/// forwards them to its subscribers; if the database cannot be reached, at least this
/// instance's subscribers hear. Ends when the ledger is dropped.
pub(crate) async fn announcer(
    pool: sqlx::AnyPool,
    local: broadcast::Sender<String>,
    mut changed: tokio::sync::mpsc::UnboundedReceiver<String>,
) {
    const MOST_PER_STATEMENT: usize = 1_000;
    let mut wallets = Vec::new();
    while changed.recv_many(&mut wallets, MOST_PER_STATEMENT).await > 0 {
        wallets.sort_unstable();
        wallets.dedup();
        let sent = sqlx::query(
            "SELECT pg_notify('creditkit_wallets', w) FROM unnest(string_to_array($1, ' ')) AS w",
        )
        .bind(wallets.join(" "))
        .execute(&pool)
        .await;
        if sent.is_err() {
            for wallet_id in &wallets {
                let _ = local.send(wallet_id.clone());
            }
        }
        wallets.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::later;
    use crate::db::Conn;

    fn queue(statements: &[(&str, usize)]) -> Queue {
        let mut q = Queue::default();
        for (sql, n) in statements {
            q.tables.push(target(sql).unwrap().to_owned());
            q.statements
                .push((sql.to_string(), vec![AnyValueKind::BigInt(1); *n]));
        }
        q
    }

    #[test]
    fn one_statement_is_sent_as_written() {
        let (sql, args) = queue(&[("UPDATE wallets SET b = $1 WHERE id = $2", 2)])
            .combined()
            .unwrap();
        assert_eq!(sql, "UPDATE wallets SET b = $1 WHERE id = $2");
        assert_eq!(args.len(), 2);
    }

    #[test]
    fn several_become_one_with_their_parameters_renumbered() {
        let mut q = queue(&[
            ("INSERT INTO holds (id, s) VALUES ($1, 'a$1')", 1),
            ("UPDATE grants SET held_mc = held_mc + $1 WHERE id = $2", 2),
            ("INSERT INTO entries (a, b) VALUES ($2, $1)", 2),
        ]);
        let (sql, args) = q.combined().unwrap();
        assert_eq!(
            sql,
            "WITH w0 AS (INSERT INTO holds (id, s) VALUES ($1, 'a$1')), \
             w1 AS (UPDATE grants SET held_mc = held_mc + $2 WHERE id = $3) \
             INSERT INTO entries (a, b) VALUES ($5, $4)"
        );
        assert_eq!(args.len(), 5);
        assert!(q.is_empty() && q.tables.is_empty() && q.combined().is_none());
    }

    /// A PostgreSQL transaction on a fresh database with a parent and a child table.
    async fn postgres() -> (sqlx::AnyPool, Conn) {
        sqlx::any::install_default_drivers();
        let url = crate::testing::fresh_url(crate::testing::Store::Postgres).await;
        let pool = sqlx::AnyPool::connect(&url).await.expect("PostgreSQL");
        sqlx::raw_sql(
            "CREATE TABLE p (id TEXT PRIMARY KEY, n BIGINT NOT NULL CHECK (n >= 0)); \
             CREATE TABLE c (seq BIGSERIAL PRIMARY KEY, p TEXT NOT NULL REFERENCES p(id), note TEXT)",
        )
        .execute(&pool)
        .await
        .expect("schema");
        let tx = pool.begin().await.expect("begin");
        (pool, Conn::Sqlx(tx, Queue::default()))
    }

    fn queued(conn: &Conn) -> usize {
        match conn {
            Conn::Sqlx(_, q) => q.statements.len(),
            _ => unreachable!("a PostgreSQL transaction"),
        }
    }

    #[tokio::test]
    async fn queued_writes_are_sent_together_and_read_back_in_their_order() {
        let (pool, mut conn) = postgres().await;
        // A child before its parent, in one sending: foreign keys hold at its end.
        later(
            &mut conn,
            sqlx::query("INSERT INTO c (p, note) VALUES ($1, $2)")
                .bind("a")
                .bind("first"),
        )
        .await
        .unwrap();
        later(
            &mut conn,
            sqlx::query("INSERT INTO p (id, n) VALUES ($1, $2)")
                .bind("a")
                .bind(5i64),
        )
        .await
        .unwrap();
        assert_eq!(queued(&conn), 2, "nothing sent yet");
        // The same table again sends the queue first, so rows keep their order.
        later(
            &mut conn,
            sqlx::query("INSERT INTO c (p, note) VALUES ($1, $2)")
                .bind("a")
                .bind("second"),
        )
        .await
        .unwrap();
        assert_eq!(queued(&conn), 1);
        later(
            &mut conn,
            sqlx::query("UPDATE p SET n = n - $1 WHERE id = $2")
                .bind(2i64)
                .bind("a"),
        )
        .await
        .unwrap();
        // A read sends what is queued first, and sees it.
        let (n,): (i64,) = sqlx::query_as("SELECT n FROM p WHERE id = $1")
            .bind("a")
            .fetch_one(&mut conn)
            .await
            .unwrap();
        assert_eq!(n, 3);
        assert_eq!(queued(&conn), 0);
        later(
            &mut conn,
            sqlx::query("INSERT INTO c (p, note) VALUES ($1, $2)")
                .bind("a")
                .bind("third"),
        )
        .await
        .unwrap();
        conn.commit().await.expect("the commit sends the queue");
        let notes: Vec<(String,)> = sqlx::query_as("SELECT note FROM c ORDER BY seq")
            .fetch_all(&pool)
            .await
            .unwrap();
        let notes: Vec<&str> = notes.iter().map(|(n,)| n.as_str()).collect();
        assert_eq!(notes, ["first", "second", "third"]);
    }

    #[tokio::test]
    async fn a_queued_write_that_fails_fails_the_write_and_stores_nothing() {
        let (pool, mut conn) = postgres().await;
        later(
            &mut conn,
            sqlx::query("INSERT INTO p (id, n) VALUES ($1, $2)")
                .bind("a")
                .bind(1i64),
        )
        .await
        .unwrap();
        // Breaks the CHECK: refused when the queue is sent, here by the commit.
        later(
            &mut conn,
            sqlx::query("UPDATE p SET n = n - $1 WHERE id = $2")
                .bind(2i64)
                .bind("a"),
        )
        .await
        .unwrap();
        later(
            &mut conn,
            sqlx::query("INSERT INTO c (p) VALUES ($1)").bind("a"),
        )
        .await
        .unwrap();
        assert_eq!(queued(&conn), 2);
        let err = conn
            .commit()
            .await
            .expect_err("a CHECK broken in the queue");
        assert!(
            err.as_database_error()
                .is_some_and(|e| e.kind() == sqlx::error::ErrorKind::CheckViolation),
            "{err}"
        );
        let (rows,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM p")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(rows, 0, "nothing of the write is stored");
    }

    #[test]
    fn only_plain_writes_name_their_table() {
        assert_eq!(
            target("INSERT INTO outbox (id) VALUES ($1)"),
            Some("outbox")
        );
        assert_eq!(target("UPDATE wallets SET x = 1"), Some("wallets"));
        assert_eq!(target("DELETE FROM holds WHERE id = $1"), Some("holds"));
        assert_eq!(target("SELECT 1"), None);
        assert_eq!(target("WITH a AS (SELECT 1) UPDATE t SET x = 1"), None);
        assert_eq!(target("UPDATE  wallets"), None);
    }
}
