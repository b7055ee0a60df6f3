//! The schema, as numbered `.sql` files in `crates/ledger/migrations/`, run in order
//! up to the newest in one transaction; `creditkit_schema` holds how far a database is.
//! Both databases run the same files; `{serial}` is each one's auto-increment key.
//! A file is never changed once released: a change is a new file.

use sqlx::{AnyPool, Executor};

use super::Dialect;
use crate::LedgerError;

/// Every migration, in order (the number in each file's name is its place here).
const MIGRATIONS: &[&str] = &[
    include_str!("../../migrations/0001_ledger.sql"),
    include_str!("../../migrations/0002_trust_boundary.sql"),
    include_str!("../../migrations/0003_agent_allowances.sql"),
    include_str!("../../migrations/0004_outbox.sql"),
    include_str!("../../migrations/0005_payments.sql"),
    include_str!("../../migrations/0006_caps_and_streams.sql"),
    include_str!("../../migrations/0007_retention.sql"),
    include_str!("../../migrations/0008_wallet_usage.sql"),
    include_str!("../../migrations/0009_signed_quotes.sql"),
    include_str!("../../migrations/0010_key_scopes.sql"),
    include_str!("../../migrations/0011_subscription_amounts.sql"),
    include_str!("../../migrations/0012_member_allowances.sql"),
    include_str!("../../migrations/0013_cap_authority.sql"),
    include_str!("../../migrations/0014_session_projects.sql"),
    include_str!("../../migrations/0015_conversations.sql"),
    include_str!("../../migrations/0016_scheduled_cards.sql"),
    include_str!("../../migrations/0017_plan_changes.sql"),
    include_str!("../../migrations/0018_payouts.sql"),
    include_str!("../../migrations/0019_auto_topup.sql"),
];

/// Brings the database's schema up to this build's, or refuses one that is newer.
pub(crate) async fn migrate(pool: &AnyPool, dialect: Dialect) -> Result<(), LedgerError> {
    let mut tx = pool.begin().await?;
    if dialect == Dialect::Postgres {
        // Several servers may start at once against one database.
        sqlx::query("SELECT pg_advisory_xact_lock(7242001)")
            .execute(&mut *tx)
            .await?;
    }
    tx.execute("CREATE TABLE IF NOT EXISTS creditkit_schema (version BIGINT NOT NULL)")
        .await?;
    let row: Option<(i64,)> = sqlx::query_as("SELECT version FROM creditkit_schema")
        .fetch_optional(&mut *tx)
        .await?;
    let current = match row {
        Some((v,)) => v,
        None => {
            sqlx::query("INSERT INTO creditkit_schema (version) VALUES (0)")
                .execute(&mut *tx)
                .await?;
            0
        }
    };
    let target = MIGRATIONS.len() as i64;
    if current > target {
        return Err(LedgerError::Config(format!(
            "database schema {current} is newer than this build's {target}"
        )));
    }
    for (i, migration) in MIGRATIONS.iter().enumerate().skip(current as usize) {
        let sql = without_comments(migration).replace("{serial}", dialect.serial_pk());
        for statement in sql.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            tx.execute(statement).await?;
        }
        sqlx::query("UPDATE creditkit_schema SET version = $1")
            .bind(i as i64 + 1)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    Ok(())
}

/// A migration's text without its `--` comment lines (they may hold a `;`).
fn without_comments(sql: &str) -> String {
    sql.lines()
        .filter(|line| !line.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_file_in_the_folder_is_listed_in_order() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/migrations");
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names.len(), MIGRATIONS.len(), "{names:?}");
        for (i, name) in names.iter().enumerate() {
            assert!(
                name.starts_with(&format!("{:04}_", i + 1)),
                "{name} is not number {}",
                i + 1
            );
            let text = std::fs::read_to_string(format!("{dir}/{name}")).unwrap();
            assert_eq!(
                text, MIGRATIONS[i],
                "{name} is not the migration at its place"
            );
        }
    }

    #[test]
    fn comments_go_before_statements_are_split() {
        let sql = "-- one; two\nCREATE TABLE a (x INT);\n-- three;\nCREATE TABLE b (y INT)";
        let kept = without_comments(sql);
        let statements: Vec<&str> = kept
            .split(';')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        assert_eq!(
            statements,
            ["CREATE TABLE a (x INT)", "CREATE TABLE b (y INT)"]
        );
    }
}
