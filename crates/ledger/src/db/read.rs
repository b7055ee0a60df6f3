//! Where reads go: PostgreSQL's pool, or SQLite's readers beside its writer.

use std::fmt;
use std::path::PathBuf;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyPool, Database, Execute, Executor};

use super::conn::Conn;
use super::sqlite::{
    first_row, run_on, steps_stream, take, unsupported, LiteConn, LiteReaders, Step,
};

/// Where reads go: PostgreSQL's pool, or SQLite's readers (run in place, like the
/// writer; WAL lets them read beside it, each seeing only committed writes).
pub(crate) enum ReadPool {
    Sqlx(AnyPool),
    Lite(Arc<LiteReaders>),
}

impl ReadPool {
    pub(crate) fn lite(path: PathBuf) -> ReadPool {
        ReadPool::Lite(Arc::new(LiteReaders::new(path)))
    }

    /// A read transaction: every read through it sees one snapshot.
    pub(crate) async fn begin(&self) -> Result<Conn, sqlx::Error> {
        match self {
            ReadPool::Sqlx(pool) => Ok(Conn::Sqlx(pool.begin().await?, Default::default())),
            ReadPool::Lite(readers) => {
                let mut pooled = readers.take()?;
                if let Some(c) = pooled.conn.as_mut() {
                    c.batch("BEGIN")?;
                }
                Ok(Conn::LiteRead(pooled))
            }
        }
    }

    /// A SQLite connection of its own, not returned to the pool (`backup`).
    pub(crate) fn detached(&self) -> Result<LiteConn, sqlx::Error> {
        match self {
            ReadPool::Lite(readers) => LiteConn::connect(readers.path()),
            ReadPool::Sqlx(_) => Err(sqlx::Error::Protocol("not a SQLite database".into())),
        }
    }

    pub(crate) async fn close(&self) {
        match self {
            ReadPool::Sqlx(pool) => pool.close().await,
            ReadPool::Lite(readers) => readers.clear(),
        }
    }
}

impl fmt::Debug for ReadPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadPool::Sqlx(_) => f.write_str("ReadPool::Sqlx"),
            ReadPool::Lite(_) => f.write_str("ReadPool::Lite"),
        }
    }
}

impl<'p> Executor<'p> for &'p ReadPool {
    type Database = Any;

    fn fetch_many<'e, 'q: 'e, E>(self, query: E) -> BoxStream<'e, Result<Step, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match self {
            ReadPool::Sqlx(pool) => pool.fetch_many(query),
            ReadPool::Lite(readers) => steps_stream(read_once(readers, query)),
        }
    }

    fn fetch_optional<'e, 'q: 'e, E>(
        self,
        query: E,
    ) -> BoxFuture<'e, Result<Option<AnyRow>, sqlx::Error>>
    where
        'p: 'e,
        E: 'q + Execute<'q, Any>,
    {
        match self {
            ReadPool::Sqlx(pool) => pool.fetch_optional(query),
            ReadPool::Lite(readers) => first_row(read_once(readers, query)),
        }
    }

    fn prepare_with<'e, 'q: 'e>(
        self,
        sql: &'q str,
        parameters: &'e [<Any as Database>::TypeInfo],
    ) -> BoxFuture<'e, Result<<Any as Database>::Statement<'q>, sqlx::Error>>
    where
        'p: 'e,
    {
        match self {
            ReadPool::Sqlx(pool) => pool.prepare_with(sql, parameters),
            ReadPool::Lite(_) => {
                unsupported("SQLite's connections prepare their statements themselves")
            }
        }
    }

    fn describe<'e, 'q: 'e>(
        self,
        sql: &'q str,
    ) -> BoxFuture<'e, Result<sqlx_core::describe::Describe<Any>, sqlx::Error>>
    where
        'p: 'e,
    {
        match self {
            ReadPool::Sqlx(pool) => pool.describe(sql),
            ReadPool::Lite(_) => unsupported("SQLite's connections do not describe statements"),
        }
    }
}

/// One statement on an idle reader (its own implicit transaction).
fn read_once<'q, E: Execute<'q, Any>>(
    readers: &Arc<LiteReaders>,
    query: E,
) -> Result<Vec<Step>, sqlx::Error> {
    let (sql, args) = take(query)?;
    let mut pooled = readers.take()?;
    run_on(pooled.conn.as_deref_mut(), sql, args)
}
