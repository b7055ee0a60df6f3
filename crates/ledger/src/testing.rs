//! Fresh, real databases for tests (this crate's and the server's): a temp-file
//! SQLite database, or a new database on the PostgreSQL server named by
//! `CREDITKIT_TEST_POSTGRES` (default: the local one, trust auth).

use sqlx::Connection;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Store {
    Sqlite,
    Postgres,
}

pub fn postgres_admin_url() -> String {
    std::env::var("CREDITKIT_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_string())
}

fn random_suffix() -> String {
    let mut b = [0u8; 6];
    getrandom::getrandom(&mut b).expect("OS randomness");
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// The URL of a new, empty database of the given kind.
pub async fn fresh_url(store: Store) -> String {
    match store {
        Store::Sqlite => {
            remove_stale_files();
            let path = std::env::temp_dir().join(format!("creditkit-test-{}.db", random_suffix()));
            format!("sqlite://{}?mode=rwc", path.display())
        }
        Store::Postgres => {
            let admin = postgres_admin_url();
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let name = format!("ck_test_t{now}_{}", random_suffix());
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .unwrap_or_else(|e| {
                    panic!("PostgreSQL at {admin} (cargo xtask test starts it): {e}")
                });
            drop_stale_databases(&mut conn, now).await;
            sqlx::query(&format!("CREATE DATABASE {name}"))
                .execute(&mut conn)
                .await
                .expect("CREATE DATABASE");
            let base = admin
                .rsplit_once('/')
                .map(|(b, _)| b.to_string())
                .expect("URL has a database");
            format!("{base}/{name}")
        }
    }
}

/// Test databases are not dropped by the tests that made them (a test's end has no
/// async hook); so that runs on one machine do not pile them up (hundreds slowed the
/// server down), the first database a process makes drops those made over an hour ago
/// (no test runs that long), and those named before names carried their time.
async fn drop_stale_databases(conn: &mut sqlx::PgConnection, now: u64) {
    static SWEPT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if SWEPT.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    let names: Vec<(String,)> =
        sqlx::query_as("SELECT datname FROM pg_database WHERE datname LIKE 'ck\\_test\\_%'")
            .fetch_all(&mut *conn)
            .await
            .unwrap_or_default();
    for (name,) in names {
        let made = name
            .strip_prefix("ck_test_t")
            .and_then(|rest| rest.split_once('_'))
            .and_then(|(secs, _)| secs.parse::<u64>().ok());
        if made.is_some_and(|t| t + 3600 > now) {
            continue;
        }
        // In use (a test of another run still going): left for a later sweep.
        let _ = sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\""))
            .execute(&mut *conn)
            .await;
    }
}

/// Likewise for SQLite: the first database a process makes removes test database files
/// (and their logs) last written over an hour ago.
fn remove_stale_files() {
    static SWEPT: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    if SWEPT.swap(true, std::sync::atomic::Ordering::SeqCst) {
        return;
    }
    let Ok(entries) = std::fs::read_dir(std::env::temp_dir()) else {
        return;
    };
    let hour = std::time::Duration::from_secs(3600);
    for entry in entries.flatten() {
        let stale = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > hour);
        if stale
            && entry
                .file_name()
                .to_string_lossy()
                .starts_with("creditkit-test-")
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}
