//! SQLite's writer connection, run in place.
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
use std::sync::Arc;

use either::Either;
use futures_util::future::{self, BoxFuture, FutureExt};
use futures_util::stream::{self, BoxStream, StreamExt};
use rusqlite::types::{ToSqlOutput, ValueRef};
use sqlx::any::{AnyQueryResult, AnyRow};
use sqlx::{Any, AnyConnection, Database, Execute, Executor, Transaction};
use sqlx_core::any::{AnyColumn, AnyTypeInfo, AnyTypeInfoKind, AnyValue, AnyValueKind};
use sqlx_core::ext::ustr::UStr;

/// Statements kept prepared (the ledger has fewer distinct statements than this).
const STATEMENT_CACHE: usize = 512;

/// A connection the ledger writes or reads through: an sqlx transaction (PostgreSQL's
/// writes, every store's reads) or SQLite's writer run in place.
pub(crate) enum Conn {
    Sqlx(Transaction<'static, Any>),
    Lite(LiteConn),
}

impl Conn {
    /// Commits an sqlx transaction (SQLite's writer commits by batch, in `writer.rs`).
    pub(crate) async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Conn::Sqlx(tx) => tx.commit().await,
            Conn::Lite(_) => Ok(()),
        }
    }
}

impl fmt::Debug for Conn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Conn::Sqlx(_) => f.write_str("Conn::Sqlx"),
            Conn::Lite(_) => f.write_str("Conn::Lite"),
        }
    }
}

/// SQLite's writer: statements run on the calling thread.
pub(crate) struct LiteConn {
    conn: rusqlite::Connection,
}

type Step = Either<AnyQueryResult, AnyRow>;

impl LiteConn {
    /// Opens the (already migrated) database file for writing.
    pub(crate) fn open(path: &Path, power_safe: bool) -> Result<LiteConn, sqlx::Error> {
        let conn = rusqlite::Connection::open_with_flags(
            path,
            rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(storage)?;
        conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
        conn.busy_timeout(std::time::Duration::from_secs(10))
            .map_err(storage)?;
        let sync = if power_safe { "FULL" } else { "NORMAL" };
        conn.execute_batch(&format!(
            "PRAGMA journal_mode = WAL; PRAGMA synchronous = {sync}; PRAGMA foreign_keys = ON;"
        ))
        .map_err(storage)?;
        Ok(LiteConn { conn })
    }

    /// Runs statements that take no arguments and return nothing (`BEGIN`, `COMMIT`, …).
    pub(crate) fn batch(&mut self, sql: &str) -> Result<(), sqlx::Error> {
        self.conn.execute_batch(sql).map_err(storage)
    }

    /// Whether a transaction is open (a failed `COMMIT` may leave one).
    pub(crate) fn in_transaction(&self) -> bool {
        !self.conn.is_autocommit()
    }

    /// Runs one statement with sqlx's arguments; returns its rows, then what it changed.
    fn run(&mut self, sql: &str, args: Option<Vec<AnyValueKind<'_>>>) -> Result<Vec<Step>, sqlx::Error> {
        let mut stmt = match self.conn.prepare_cached(sql) {
            Ok(stmt) => stmt,
            // Several statements without arguments (a script): run them in turn.
            Err(rusqlite::Error::MultipleStatement) if args.as_ref().is_none_or(Vec::is_empty) => {
                self.conn.execute_batch(sql).map_err(storage)?;
                return Ok(vec![Either::Left(AnyQueryResult::default())]);
            }
            Err(e) => return Err(storage(e)),
        };
        for (i, value) in args.iter().flatten().enumerate() {
            // The ledger's SQL numbers its parameters `$1`, `$2`, … (possibly repeated).
            let Some(index) = stmt.parameter_index(&format!("${}", i + 1)).map_err(storage)?
            else {
                continue;
            };
            stmt.raw_bind_parameter(index, bind_value(value)?)
                .map_err(storage)?;
        }
        let readonly = stmt.readonly();
        let names: Vec<UStr> = stmt.column_names().into_iter().map(UStr::new).collect();
        let columns: Vec<AnyColumn> = names
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
        let column_names: Arc<sqlx_core::HashMap<UStr, usize>> = Arc::new(
            names
                .into_iter()
                .enumerate()
                .map(|(i, name)| (name, i))
                .collect(),
        );
        let mut steps = Vec::new();
        let mut rows = stmt.raw_query();
        while let Some(row) = rows.next().map_err(storage)? {
            let mut values = Vec::with_capacity(columns.len());
            for i in 0..columns.len() {
                values.push(AnyValue {
                    kind: read_value(row.get_ref(i).map_err(storage)?)?,
                });
            }
            steps.push(Either::Right(AnyRow {
                column_names: column_names.clone(),
                columns: columns.clone(),
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
fn take<'q, E: Execute<'q, Any>>(
    mut query: E,
) -> Result<(&'q str, Option<Vec<AnyValueKind<'q>>>), sqlx::Error> {
    let args = query.take_arguments().map_err(sqlx::Error::Encode)?;
    Ok((query.sql(), args.map(|a| a.values.0)))
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
            Conn::Sqlx(tx) => (&mut **tx as &mut AnyConnection).fetch_many(query),
            Conn::Lite(c) => {
                let steps = take(query).and_then(|(sql, args)| c.run(sql, args));
                match steps {
                    Ok(steps) => stream::iter(steps.into_iter().map(Ok)).boxed(),
                    Err(e) => stream::once(future::ready(Err(e))).boxed(),
                }
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
            Conn::Sqlx(tx) => (&mut **tx as &mut AnyConnection).fetch_optional(query),
            Conn::Lite(c) => {
                let row = take(query).and_then(|(sql, args)| c.run(sql, args)).map(|steps| {
                    steps.into_iter().find_map(|s| s.right())
                });
                future::ready(row).boxed()
            }
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
            Conn::Sqlx(tx) => (&mut **tx as &mut AnyConnection).prepare_with(sql, parameters),
            Conn::Lite(_) => future::ready(Err(sqlx::Error::Protocol(
                "SQLite's writer prepares its statements itself".into(),
            )))
            .boxed(),
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
            Conn::Sqlx(tx) => (&mut **tx as &mut AnyConnection).describe(sql),
            Conn::Lite(_) => future::ready(Err(sqlx::Error::Protocol(
                "SQLite's writer does not describe statements".into(),
            )))
            .boxed(),
        }
    }
}
