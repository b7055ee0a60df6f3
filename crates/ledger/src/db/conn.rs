//! The connection every statement of the ledger runs on, whichever the database:
//! one SQL text for both (sqlx's `Any` rows and arguments), dispatched here.

use std::fmt;
use std::ops::DerefMut;

use either::Either;
use futures_util::future::{self, BoxFuture, FutureExt};
use futures_util::stream::{self, BoxStream, StreamExt};
use sqlx::any::{AnyQueryResult, AnyRow};
use sqlx::{Any, AnyConnection, Database, Execute, Executor, Transaction};

use super::postgres::Queue;
use super::sqlite::{first_row, run_on, steps_stream, take, unsupported, LiteConn, Pooled};

/// A connection the ledger writes or reads through: an sqlx transaction (PostgreSQL's
/// writes, every store's reads) or SQLite's writer run in place.
pub(crate) enum Conn {
    /// With the writes queued to go with its next statement ([`later`]).
    Sqlx(Transaction<'static, Any>, Queue),
    /// SQLite's writer (its batches commit in `writer.rs`).
    Lite(Box<LiteConn>),
    /// A SQLite reader from [`ReadPool`], in a read transaction (one snapshot).
    LiteRead(Pooled),
}

impl Conn {
    /// Ends a read or PostgreSQL transaction (SQLite's writer commits by batch).
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Conn::Sqlx(mut tx, mut queue) => {
                queue.send(&mut tx).await?;
                tx.commit().await
            }
            Conn::Lite(_) => Ok(()),
            Conn::LiteRead(mut p) => match p.conn.as_deref_mut() {
                Some(c) if c.in_transaction() => c.batch("COMMIT"),
                _ => Ok(()),
            },
        }
    }

    fn lite(&mut self) -> Option<&mut LiteConn> {
        match self {
            Conn::Sqlx(..) => None,
            Conn::Lite(c) => Some(c),
            Conn::LiteRead(p) => p.conn.as_deref_mut(),
        }
    }
}

impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Conn::Sqlx(..) => f.write_str("Conn::Sqlx"),
            Conn::Lite(_) => f.write_str("Conn::Lite"),
            Conn::LiteRead(_) => f.write_str("Conn::LiteRead"),
        }
    }
}

impl<'c> Executor<'c> for &'c mut Conn {
    type Database = Any;

    fn fetch_many<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxStream<'e, Result<Either<AnyQueryResult, AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match self {
            Conn::Sqlx(tx, queue) => {
                let conn: &'c mut AnyConnection = DerefMut::deref_mut(tx);
                if queue.is_empty() {
                    return conn.fetch_many(query);
                }
                // The queued writes go first (`postgres.rs`), then the statement.
                let mut queue = std::mem::take(queue);
                stream::once(async move {
                    match queue.send(&mut *conn).await {
                        Ok(()) => conn.fetch_many(query),
                        Err(e) => stream::once(future::ready(Err(e))).boxed(),
                    }
                })
                .flatten()
                .boxed()
            }
            lite => {
                steps_stream(take(query).and_then(|(sql, args)| run_on(lite.lite(), sql, args)))
            }
        }
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<AnyRow>, sqlx::Error>>
    where
        'c: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match self {
            Conn::Sqlx(tx, queue) => {
                let conn: &'c mut AnyConnection = DerefMut::deref_mut(tx);
                if queue.is_empty() {
                    return conn.fetch_optional(query);
                }
                let mut queue = std::mem::take(queue);
                async move {
                    queue.send(&mut *conn).await?;
                    conn.fetch_optional(query).await
                }
                .boxed()
            }
            lite => first_row(take(query).and_then(|(sql, args)| run_on(lite.lite(), sql, args))),
        }
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [<Any as Database>::TypeInfo],
    ) -> BoxFuture<'e, Result<<Any as Database>::Statement<'q>, sqlx::Error>>
    where
        'c: 'e,
    {
        match self {
            Conn::Sqlx(tx, _) => (&mut **tx as &mut AnyConnection).prepare_with(sql, parameters),
            _ => unsupported("SQLite's connections prepare their statements themselves"),
        }
    }

    fn describe<'e, 'q: 'e>(
        self,
        sql: &'q str,
    ) -> BoxFuture<'e, Result<sqlx_core::describe::Describe<Any>, sqlx::Error>>
    where
        'c: 'e,
    {
        match self {
            Conn::Sqlx(tx, _) => (&mut **tx as &mut AnyConnection).describe(sql),
            _ => unsupported("SQLite's connections do not describe statements"),
        }
    }
}

/// Runs `query` (a write whose result is not needed) now, or, on PostgreSQL, with the
/// transaction's next statement (`postgres.rs`).
pub(crate) async fn later<'q, E: Execute<'q, Any> + 'q>(
    conn: &mut Conn,
    query: E,
) -> Result<(), sqlx::Error> {
    match conn {
        Conn::Sqlx(tx, queue) => queue.push(tx, query).await,
        other => {
            other.execute(query).await?;
            Ok(())
        }
    }
}
