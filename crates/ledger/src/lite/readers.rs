//! SQLite's readers, run in place like the writer.

use std::fmt;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use futures_util::future::BoxFuture;
use futures_util::stream::BoxStream;
use sqlx::any::AnyRow;
use sqlx::{Any, AnyPool, Database, Execute, Executor};

use super::{first_row, run_on, steps_stream, take, unsupported, Conn, LiteConn, Step};

/// Where reads go: PostgreSQL's pool, or SQLite's readers (run in place, like the
/// writer; WAL lets them read beside it, each seeing only committed writes).
pub(crate) enum ReadPool {
    Sqlx(AnyPool),
    Lite(Arc<LiteReaders>),
}

/// Idle SQLite readers; one is opened when none is idle, and at most
/// [`IDLE_READERS`] are kept.
pub(crate) struct LiteReaders {
    path: PathBuf,
    idle: Mutex<Vec<LiteConn>>,
}

const IDLE_READERS: usize = 8;

/// A reader lent out; it returns to the pool when dropped (its transaction rolled back).
pub(crate) struct Pooled {
    pub(super) conn: Option<Box<LiteConn>>,
    home: Arc<LiteReaders>,
}

impl Drop for Pooled {
    fn drop(&mut self) {
        let Some(mut conn) = self.conn.take() else {
            return;
        };
        if conn.in_transaction() && conn.batch("ROLLBACK").is_err() {
            return; // not reusable: closed
        }
        let mut idle = self.home.idle.lock().unwrap_or_else(|e| e.into_inner());
        if idle.len() < IDLE_READERS {
            idle.push(*conn);
        }
    }
}

impl LiteReaders {
    fn take(self: &Arc<Self>) -> Result<Pooled, sqlx::Error> {
        let idle = self.idle.lock().unwrap_or_else(|e| e.into_inner()).pop();
        let conn = match idle {
            Some(c) => Box::new(c),
            None => Box::new(LiteConn::open_reader(&self.path)?),
        };
        Ok(Pooled {
            conn: Some(conn),
            home: self.clone(),
        })
    }
}

impl ReadPool {
    pub(crate) fn lite(path: PathBuf) -> ReadPool {
        ReadPool::Lite(Arc::new(LiteReaders {
            path,
            idle: Mutex::new(Vec::new()),
        }))
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
            ReadPool::Lite(readers) => LiteConn::connect(&readers.path),
            ReadPool::Sqlx(_) => Err(sqlx::Error::Protocol("not a SQLite database".into())),
        }
    }

    pub(crate) async fn close(&self) {
        match self {
            ReadPool::Sqlx(pool) => pool.close().await,
            ReadPool::Lite(readers) => readers
                .idle
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clear(),
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
