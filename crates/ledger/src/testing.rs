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
            let path = std::env::temp_dir().join(format!("creditkit-test-{}.db", random_suffix()));
            format!("sqlite://{}?mode=rwc", path.display())
        }
        Store::Postgres => {
            let admin = postgres_admin_url();
            let name = format!("ck_test_{}", random_suffix());
            let mut conn = sqlx::PgConnection::connect(&admin)
                .await
                .unwrap_or_else(|e| {
                    panic!("PostgreSQL at {admin} (cargo xtask test starts it): {e}")
                });
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
