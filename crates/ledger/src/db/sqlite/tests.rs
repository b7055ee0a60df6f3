//! The in-place SQLite connections, checked as the ledger uses them through sqlx.

use super::*;
use crate::db::Conn;
use crate::db::ReadPool;
use sqlx::any::AnyRow;
use sqlx::Row;

fn scratch() -> (tempfile_path::Path, LiteConn) {
    let path = tempfile_path::Path::new();
    rusqlite::Connection::open(&path.0)
        .and_then(|c| {
            c.execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT, n BIGINT, x REAL)")
        })
        .expect("a scratch database");
    let conn = LiteConn::open(&path.0, false, false).expect("opens");
    (path, conn)
}

/// A temp file removed on drop (no extra dependency for one test).
mod tempfile_path {
    pub(super) struct Path(pub(super) std::path::PathBuf);
    impl Path {
        pub(super) fn new() -> Path {
            let mut b = [0u8; 8];
            getrandom::getrandom(&mut b).expect("OS randomness");
            Path(std::env::temp_dir().join(format!("creditkit-lite-{}.db", crate::hex(&b))))
        }
    }
    impl Drop for Path {
        fn drop(&mut self) {
            for suffix in ["", "-wal", "-shm"] {
                let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
            }
        }
    }
}

#[tokio::test]
async fn parameters_bind_by_number_whatever_their_order_and_repeats() {
    let (_path, conn) = scratch();
    let mut conn = Conn::Lite(Box::new(conn));
    // `$2` appears before `$1`, and `$1` twice: SQLite numbers them 1, 2 by appearance.
    let done = sqlx::query("INSERT INTO t (name, n, x) VALUES ($2, $1 + $1, $3)")
        .bind(21_i64)
        .bind("twenty-one")
        .bind(0.5_f64)
        .execute(&mut conn)
        .await
        .unwrap();
    assert_eq!(done.rows_affected(), 1);
    sqlx::query("INSERT INTO t (name, n, x) VALUES ($1, $2, $3)")
        .bind(None::<String>)
        .bind(None::<i64>)
        .bind(None::<f64>)
        .execute(&mut conn)
        .await
        .unwrap();
    let rows = sqlx::query("SELECT name, n, x FROM t ORDER BY id")
        .fetch_all(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].try_get::<String, _>("name").unwrap(), "twenty-one");
    assert_eq!(rows[0].try_get::<i64, _>(1).unwrap(), 42);
    assert_eq!(rows[0].try_get::<f64, _>("x").unwrap(), 0.5);
    assert_eq!(rows[1].try_get::<Option<String>, _>("name").unwrap(), None);
    assert_eq!(rows[1].try_get::<Option<i64>, _>("n").unwrap(), None);
    // A tuple decodes as the ledger's `query_as` calls do.
    let (count,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM t WHERE n = $1")
        .bind(42_i64)
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(count, 1);
    let none = sqlx::query("SELECT id FROM t WHERE n = $1")
        .bind(7_i64)
        .fetch_optional(&mut conn)
        .await
        .unwrap();
    assert!(none.is_none());
}

#[tokio::test]
async fn errors_are_storage_errors_and_change_nothing() {
    let (_path, conn) = scratch();
    let mut conn = Conn::Lite(Box::new(conn));
    let e = sqlx::query("INSERT INTO t (id, name) VALUES ($1, $2)")
        .bind(1_i64)
        .bind("a")
        .execute(&mut conn)
        .await
        .and(
            sqlx::query("INSERT INTO t (id, name) VALUES ($1, $2)")
                .bind(1_i64)
                .bind("b")
                .execute(&mut conn)
                .await,
        )
        .unwrap_err();
    let db = e.as_database_error().expect("a database error");
    assert_eq!(db.kind(), sqlx_core::error::ErrorKind::UniqueViolation);
    assert!(sqlx::query("SELECT nope FROM t")
        .fetch_all(&mut conn)
        .await
        .is_err());
    let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM t")
        .fetch_one(&mut conn)
        .await
        .unwrap();
    assert_eq!(n, 1);
}

#[tokio::test]
async fn a_read_transaction_sees_one_snapshot_and_readers_cannot_write() {
    let (path, writer) = scratch();
    let mut writer = Conn::Lite(Box::new(writer));
    let pool = ReadPool::lite(path.0.clone());
    let mut read = pool.begin().await.unwrap();
    let count = |rows: Vec<AnyRow>| rows.len();
    assert_eq!(
        count(
            sqlx::query("SELECT id FROM t")
                .fetch_all(&mut read)
                .await
                .unwrap()
        ),
        0
    );
    sqlx::query("INSERT INTO t (name) VALUES ($1)")
        .bind("later")
        .execute(&mut writer)
        .await
        .unwrap();
    // The open read keeps its snapshot; a new read sees the write.
    assert_eq!(
        count(
            sqlx::query("SELECT id FROM t")
                .fetch_all(&mut read)
                .await
                .unwrap()
        ),
        0
    );
    read.commit().await.unwrap();
    assert_eq!(
        count(
            sqlx::query("SELECT id FROM t")
                .fetch_all(&pool)
                .await
                .unwrap()
        ),
        1
    );
    assert!(sqlx::query("DELETE FROM t").execute(&pool).await.is_err());
    assert_eq!(
        count(
            sqlx::query("SELECT id FROM t")
                .fetch_all(&pool)
                .await
                .unwrap()
        ),
        1
    );
}
