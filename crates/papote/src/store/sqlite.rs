//! The embedded store: one SQLite file in WAL mode.
//!
//! Two pools: `pool` for the high-volume logs (synchronous=NORMAL: survives a process crash, may
//! lose the last commits on power loss), and `durable`, one connection with synchronous=FULL for
//! what must never be lost once acknowledged (reports, cases).

use std::str::FromStr;
use std::time::Duration;

use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteRow, SqliteSynchronous};
use sqlx::{AssertSqlSafe, Row, SqlitePool};

use super::shared::{
    APPEAL_COLUMNS, CASE_COLUMNS, MODERATOR_COLUMNS, SANCTION_COLUMNS, is_unique_violation, migrator, store_impl,
};

use super::{
    AUDIT_GENESIS, AppealRow, AuditEntry, AuditRow, CaseRow, ConnectionRecord, ConnectionRow, EntryLock, EntryRecord,
    EntryRow, LinkedSession, ModeratorRow, NewCase, NewReport, NewSanction, SanctionRow, Store, StoreError,
    StoreResult, TransparencyStats, audit_hash,
};

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../../migrations/sqlite/0001_init.sql")),
    (2, "moderation", include_str!("../../migrations/sqlite/0002_moderation.sql")),
];

/// Appends to the audit chain inside an open transaction (the chain's tip is read in the same
/// transaction, and the durable pool has one connection, so appends are serialised).
async fn append_audit_in(tx: &mut sqlx::SqliteConnection, entry: &AuditEntry) -> Result<i64, sqlx::Error> {
    append_audit_chained(tx, entry).await
}

pub struct SqliteStore {
    pool: SqlitePool,
    durable: SqlitePool,
}

impl SqliteStore {
    pub async fn open(database: &str) -> StoreResult<SqliteStore> {
        let memory = database == "sqlite::memory:" || database == ":memory:";
        let options = if memory {
            // A private in-memory database per store, shared by its connections.
            let name = format!("file:papote-{}?mode=memory&cache=shared", uuid::Uuid::new_v4());
            SqliteConnectOptions::from_str(&name)?
        } else {
            let path =
                database.strip_prefix("sqlite://").or_else(|| database.strip_prefix("sqlite:")).unwrap_or(database);
            SqliteConnectOptions::new().filename(path).create_if_missing(true).journal_mode(SqliteJournalMode::Wal)
        };
        let options = options.busy_timeout(Duration::from_secs(10)).foreign_keys(true);
        let pool = SqlitePoolOptions::new()
            .max_connections(if memory { 1 } else { 4 })
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.clone().synchronous(SqliteSynchronous::Normal))
            .await?;
        migrator(MIGRATIONS).run(&pool).await?;
        let durable = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options.synchronous(SqliteSynchronous::Full))
            .await?;
        Ok(SqliteStore { pool, durable })
    }
}

store_impl!(SqliteStore, SqliteRow, sqlx::SqliteConnection);

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Store;

    #[tokio::test]
    async fn secrets_are_created_once_and_kept() {
        let store = SqliteStore::open("sqlite::memory:").await.expect("open");
        let first = store.secret("cookie", &|| "alpha".to_owned()).await.expect("secret");
        let second = store.secret("cookie", &|| "beta".to_owned()).await.expect("secret");
        assert_eq!(first, "alpha");
        assert_eq!(second, "alpha");
    }

    #[tokio::test]
    async fn entry_locks_expire() {
        let store = SqliteStore::open("sqlite::memory:").await.expect("open");
        store.add_entry_locks(&[("device", "d1"), ("network", "n1")], "underage", 1_000, 5_000).await.expect("lock");
        let until = |keys: &'static [&'static str], now| {
            let store = &store;
            async move { store.entry_lock(keys, now).await.expect("query").map(|l| l.until) }
        };
        assert_eq!(until(&["d1"], 2_000).await, Some(5_000));
        assert_eq!(until(&["x", "n1"], 2_000).await, Some(5_000));
        assert_eq!(until(&["d1", "n1"], 5_000).await, None);
        assert_eq!(until(&["other"], 2_000).await, None);
    }

    #[tokio::test]
    async fn a_file_database_keeps_reports_across_reopen() {
        let dir = std::env::temp_dir().join(format!("papote-store-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("tmp dir");
        let path = dir.join("t.db");
        let path = path.to_str().expect("utf-8 path");
        {
            let store = SqliteStore::open(path).await.expect("open");
            let report = NewReport {
                created_at: 1,
                reporter_id: "ma".into(),
                target_id: "mb".into(),
                target_nickname: "Bob".into(),
                category: "spam".into(),
                comment: "pub".into(),
                text: String::new(),
                room: None,
                message_id: Some(7),
                evidence: "{}".into(),
                severity: 5,
            };
            let (report_id, case_id) = store.insert_report(&report).await.expect("report");
            assert!(report_id > 0 && case_id > 0);
        }
        let store = SqliteStore::open(path).await.expect("reopen");
        let cases = store.open_cases(10).await.expect("cases");
        assert_eq!(cases.len(), 1);
        assert_eq!(cases[0].nickname, "Bob");
        std::fs::remove_dir_all(&dir).ok();
    }
}
