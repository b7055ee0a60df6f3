//! SQLite: its connections, run in place.
//!
//! sqlx runs each SQLite connection on a worker thread and sends it every statement
//! across a channel: two thread switches per statement, and a write is a dozen or more
//! statements, all while holding the one writer. Here the writer is a plain SQLite
//! connection (`rusqlite`, the same `libsqlite3` sqlx links) whose statements run on the
//! calling task, prepared once and cached. Its results are handed back as sqlx `Any`
//! values ([`Conn`] is an sqlx `Executor`), so the ledger keeps one SQL text and one row
//! decoding for both stores, and PostgreSQL's path is untouched.

use std::borrow::Cow;
use std::fmt;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use either::Either;
use futures_util::future::{self, BoxFuture, FutureExt};
use futures_util::stream::{self, BoxStream, StreamExt};
use rusqlite::types::{ToSqlOutput, ValueRef};
use sqlx::any::{AnyQueryResult, AnyRow};
use sqlx::{Any, Execute};
use sqlx_core::any::{AnyColumn, AnyTypeInfo, AnyTypeInfoKind, AnyValue, AnyValueKind};
use sqlx_core::ext::ustr::UStr;

/// Statements kept prepared (the ledger has fewer distinct statements than this).
const STATEMENT_CACHE: usize = 512;

/// A SQLite connection whose statements run on the calling thread.
pub(crate) use checkpoint::Checkpointer;

pub(crate) struct LiteConn {
    conn: rusqlite::Connection,
    /// Each statement's result columns as sqlx describes them, built once.
    columns: std::collections::HashMap<String, Columns>,
}

/// What is known of a statement once prepared: where its arguments go, and its result
/// columns (shared by every row it returns).
#[derive(Clone)]
struct Columns {
    /// The SQLite parameter index of the ledger's `$1`, `$2`, … (`None`: not used).
    params: Arc<[Option<usize>]>,
    names: Arc<sqlx_core::HashMap<UStr, usize>>,
    list: Arc<[AnyColumn]>,
}

/// Statements run through [`LiteConn`] (all connections): `cargo xtask bench http`
/// prints them per charge.
pub(crate) static STATEMENTS: AtomicU64 = AtomicU64::new(0);

pub(crate) type Step = Either<AnyQueryResult, AnyRow>;

impl LiteConn {
    /// Opens the (already migrated) database file for writing.
    /// The writer. `checkpointed`: a [`Checkpointer`] runs beside it, so its own
    /// automatic checkpoint is only a backstop.
    pub(crate) fn open(
        path: &Path,
        power_safe: bool,
        checkpointed: bool,
    ) -> Result<LiteConn, sqlx::Error> {
        let conn = LiteConn::connect(path)?;
        let sync = if power_safe { "FULL" } else { "NORMAL" };
        let auto_pages = if checkpointed {
            checkpoint::BACKSTOP_PAGES
        } else {
            1000 // SQLite's default
        };
        conn.conn
            .execute_batch(&format!(
                // Each write is a savepoint, whose undo journal would otherwise be a temp
                // file created, written and deleted per write.
                "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; PRAGMA foreign_keys = ON; \
                 PRAGMA temp_store = MEMORY; PRAGMA wal_autocheckpoint = {auto_pages};"
            ))
            .map_err(storage)?;
        Ok(conn)
    }

    /// Opens a reader: every write through it fails (they all go through the writer).
    pub(crate) fn open_reader(path: &Path) -> Result<LiteConn, sqlx::Error> {
        let conn = LiteConn::connect(path)?;
        conn.conn
            .execute_batch("PRAGMA query_only = ON;")
            .map_err(storage)?;
        Ok(conn)
    }

    pub(crate) fn connect(path: &Path) -> Result<LiteConn, sqlx::Error> {
        let conn = rusqlite::Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(storage)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(storage)?;
        Ok(LiteConn {
            conn,
            columns: std::collections::HashMap::new(),
        })
    }

    /// Runs one statement that takes no arguments and returns nothing (`BEGIN`,
    /// `SAVEPOINT write`, `COMMIT`, …), prepared once: a write runs several.
    pub(crate) fn batch(&mut self, sql: &str) -> Result<(), sqlx::Error> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut stmt| stmt.raw_execute())
            .map(|_| ())
            .map_err(storage)
    }

    /// Whether a transaction is open (a failed `COMMIT` may leave one).
    pub(crate) fn in_transaction(&self) -> bool {
        !self.conn.is_autocommit()
    }

    /// Runs one statement with sqlx's arguments; returns its rows, then what it changed.
    fn run(
        &mut self,
        sql: &str,
        args: Option<Vec<AnyValueKind<'_>>>,
    ) -> Result<Vec<Step>, sqlx::Error> {
        let mut stmt = match self.conn.prepare_cached(sql) {
            Ok(stmt) => stmt,
            // Several statements without arguments (a script): run them in turn.
            Err(rusqlite::Error::MultipleStatement) if args.as_ref().is_none_or(Vec::is_empty) => {
                self.conn.execute_batch(sql).map_err(storage)?;
                return Ok(vec![Either::Left(AnyQueryResult::default())]);
            }
            Err(e) => return Err(storage(e)),
        };
        STATEMENTS.fetch_add(1, Ordering::Relaxed);
        let columns = match self.columns.get(sql) {
            Some(c) => c.clone(),
            None => {
                let c = describe(&stmt)?;
                self.columns.insert(sql.to_owned(), c.clone());
                c
            }
        };
        for (i, value) in args.iter().flatten().enumerate() {
            if let Some(&Some(index)) = columns.params.get(i) {
                stmt.raw_bind_parameter(index, bind_value(value)?)
                    .map_err(storage)?;
            }
        }
        let readonly = stmt.readonly();
        let mut steps = Vec::new();
        let mut rows = stmt.raw_query();
        while let Some(row) = rows.next().map_err(storage)? {
            let mut values = Vec::with_capacity(columns.list.len());
            for i in 0..columns.list.len() {
                values.push(AnyValue {
                    kind: read_value(row.get_ref(i).map_err(storage)?)?,
                });
            }
            steps.push(Either::Right(AnyRow {
                column_names: columns.names.clone(),
                columns: columns.list.to_vec(),
                values,
            }));
        }
        drop(rows);
        steps.push(Either::Left(AnyQueryResult {
            rows_affected: if readonly { 0 } else { self.conn.changes() },
            last_insert_id: Some(self.conn.last_insert_rowid()),
        }));
        Ok(steps)
    }
}

/// A statement's result columns, as sqlx's `Any` rows carry them.
fn describe(stmt: &rusqlite::Statement<'_>) -> Result<Columns, sqlx::Error> {
    // The ledger's SQL numbers its parameters `$1`, `$2`, … (a number may repeat, and
    // SQLite numbers them in order of first appearance).
    let mut params: Vec<Option<usize>> = Vec::new();
    for index in 1..=stmt.parameter_count() {
        let n = stmt
            .parameter_name(index)
            .and_then(|name| name.strip_prefix('$')?.parse::<usize>().ok())
            .filter(|n| (1..=999).contains(n))
            .ok_or_else(|| {
                sqlx::Error::Protocol(format!("parameter {index} is not named $1 … $999"))
            })?;
        if params.len() < n {
            params.resize(n, None);
        }
        params[n - 1] = Some(index);
    }
    let params: Arc<[Option<usize>]> = params.into();
    let names: Vec<UStr> = stmt.column_names().into_iter().map(UStr::new).collect();
    let list: Arc<[AnyColumn]> = names
        .iter()
        .enumerate()
        .map(|(ordinal, name)| AnyColumn {
            ordinal,
            name: name.clone(),
            type_info: AnyTypeInfo {
                kind: AnyTypeInfoKind::Null,
            },
        })
        .collect();
    let names = Arc::new(names.into_iter().enumerate().map(|(i, n)| (n, i)).collect());
    Ok(Columns {
        params,
        names,
        list,
    })
}

fn bind_value<'a>(value: &'a AnyValueKind<'_>) -> Result<ToSqlOutput<'a>, sqlx::Error> {
    Ok(ToSqlOutput::Borrowed(match value {
        AnyValueKind::Null(_) => ValueRef::Null,
        AnyValueKind::Bool(b) => ValueRef::Integer(i64::from(*b)),
        AnyValueKind::SmallInt(i) => ValueRef::Integer(i64::from(*i)),
        AnyValueKind::Integer(i) => ValueRef::Integer(i64::from(*i)),
        AnyValueKind::BigInt(i) => ValueRef::Integer(*i),
        AnyValueKind::Real(r) => ValueRef::Real(f64::from(*r)),
        AnyValueKind::Double(r) => ValueRef::Real(*r),
        AnyValueKind::Text(t) => ValueRef::Text(t.as_bytes()),
        AnyValueKind::Blob(b) => ValueRef::Blob(b),
        other => {
            return Err(sqlx::Error::Encode(
                format!("cannot bind {other:?} to SQLite").into(),
            ))
        }
    }))
}

fn read_value(value: ValueRef<'_>) -> Result<AnyValueKind<'static>, sqlx::Error> {
    Ok(match value {
        ValueRef::Null => AnyValueKind::Null(AnyTypeInfoKind::Null),
        ValueRef::Integer(i) => AnyValueKind::BigInt(i),
        ValueRef::Real(r) => AnyValueKind::Double(r),
        ValueRef::Text(t) => AnyValueKind::Text(Cow::Owned(
            std::str::from_utf8(t)
                .map_err(|e| sqlx::Error::Decode(e.into()))?
                .to_owned(),
        )),
        ValueRef::Blob(b) => AnyValueKind::Blob(Cow::Owned(b.to_vec())),
    })
}

fn storage(e: rusqlite::Error) -> sqlx::Error {
    sqlx::Error::Database(Box::new(LiteError(e)))
}

/// A SQLite error, as sqlx reports a database's.
#[derive(Debug)]
struct LiteError(rusqlite::Error);

impl fmt::Display for LiteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sqlite: {}", self.0)
    }
}

impl std::error::Error for LiteError {}

impl sqlx_core::error::DatabaseError for LiteError {
    fn message(&self) -> &str {
        "SQLite error"
    }
    fn as_error(&self) -> &(dyn std::error::Error + Send + Sync + 'static) {
        self
    }
    fn as_error_mut(&mut self) -> &mut (dyn std::error::Error + Send + Sync + 'static) {
        self
    }
    fn into_error(self: Box<Self>) -> Box<dyn std::error::Error + Send + Sync + 'static> {
        self
    }
    fn kind(&self) -> sqlx_core::error::ErrorKind {
        match &self.0 {
            rusqlite::Error::SqliteFailure(e, _)
                if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_UNIQUE
                    || e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_PRIMARYKEY =>
            {
                sqlx_core::error::ErrorKind::UniqueViolation
            }
            rusqlite::Error::SqliteFailure(e, _)
                if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
            {
                sqlx_core::error::ErrorKind::ForeignKeyViolation
            }
            rusqlite::Error::SqliteFailure(e, _)
                if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_NOTNULL =>
            {
                sqlx_core::error::ErrorKind::NotNullViolation
            }
            rusqlite::Error::SqliteFailure(e, _)
                if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_CHECK =>
            {
                sqlx_core::error::ErrorKind::CheckViolation
            }
            _ => sqlx_core::error::ErrorKind::Other,
        }
    }
}

/// The statement's SQL and its arguments as plain values.
pub(crate) fn take<'q, E: Execute<'q, Any>>(
    mut query: E,
) -> Result<(&'q str, Option<Vec<AnyValueKind<'q>>>), sqlx::Error> {
    let args = query.take_arguments().map_err(sqlx::Error::Encode)?;
    Ok((query.sql(), args.map(|a| a.values.0)))
}

/// What the ledger never asks of an in-place connection (sqlx's own preparing and
/// describing), refused.
pub(crate) fn unsupported<'e, T: Send + 'e>(what: &str) -> BoxFuture<'e, Result<T, sqlx::Error>> {
    future::ready(Err(sqlx::Error::Protocol(what.into()))).boxed()
}

pub(crate) fn run_on(
    conn: Option<&mut LiteConn>,
    sql: &str,
    args: Option<Vec<AnyValueKind<'_>>>,
) -> Result<Vec<Step>, sqlx::Error> {
    conn.ok_or(sqlx::Error::PoolClosed)?.run(sql, args)
}

pub(crate) fn steps_stream<'e>(
    steps: Result<Vec<Step>, sqlx::Error>,
) -> BoxStream<'e, Result<Step, sqlx::Error>> {
    match steps {
        Ok(steps) => stream::iter(steps.into_iter().map(Ok)).boxed(),
        Err(e) => stream::once(future::ready(Err(e))).boxed(),
    }
}

pub(crate) fn first_row<'e>(
    steps: Result<Vec<Step>, sqlx::Error>,
) -> BoxFuture<'e, Result<Option<AnyRow>, sqlx::Error>> {
    future::ready(steps.map(|steps| steps.into_iter().find_map(Either::right))).boxed()
}

mod checkpoint;
mod readers;
#[cfg(test)]
mod tests;

pub(crate) use readers::{LiteReaders, Pooled};
