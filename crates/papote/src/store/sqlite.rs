//! The embedded store: one SQLite file in WAL mode.
//!
//! Two pools: `pool` for the high-volume logs (synchronous=NORMAL: survives a process crash, may
//! lose the last commits on power loss), and `durable`, one connection with synchronous=FULL for
//! what must never be lost once acknowledged (reports, cases).

use std::borrow::Cow;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::{Row, SqlSafeStr, SqlitePool};

use super::{CaseRow, ConnectionRecord, ConnectionRow, EntryRecord, NewCase, NewReport, Store, StoreResult};

const MIGRATIONS: &[(i64, &str, &str)] = &[(1, "init", include_str!("../../migrations/sqlite/0001_init.sql"))];

pub struct SqliteStore {
    pool: SqlitePool,
    durable: SqlitePool,
}

fn migrator() -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|(version, name, sql)| {
                Migration::new(*version, Cow::Borrowed(*name), MigrationType::Simple, sql.into_sql_str(), false)
            })
            .collect(),
    )
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
        migrator().run(&pool).await?;
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

#[async_trait]
impl Store for SqliteStore {
    async fn secret(&self, name: &str, generate: &(dyn Fn() -> String + Sync)) -> StoreResult<String> {
        sqlx::query("INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)")
            .bind(name)
            .bind(generate())
            .execute(&self.durable)
            .await?;
        let value: String =
            sqlx::query_scalar("SELECT value FROM settings WHERE key = ?").bind(name).fetch_one(&self.durable).await?;
        Ok(value)
    }

    async fn record_entry(&self, e: &EntryRecord) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO entries (member_id, nickname, skeleton, gender, age, postcode, insee, city, ip, port, \
             user_agent, device_key, network_key, entered_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(&e.member_id)
        .bind(&e.nickname)
        .bind(&e.skeleton)
        .bind(&e.gender)
        .bind(i64::from(e.age))
        .bind(&e.postcode)
        .bind(&e.insee)
        .bind(&e.city)
        .bind(&e.ip)
        .bind(i64::from(e.port))
        .bind(&e.user_agent)
        .bind(&e.device_key)
        .bind(&e.network_key)
        .bind(e.entered_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn end_entry(&self, member_id: &str, at: i64) -> StoreResult<()> {
        sqlx::query("UPDATE entries SET ended_at = ? WHERE member_id = ? AND ended_at IS NULL")
            .bind(at)
            .bind(member_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn open_connection(&self, c: &ConnectionRecord) -> StoreResult<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO connections (member_id, kind, ip, port, opened_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(&c.member_id)
        .bind(c.kind)
        .bind(&c.ip)
        .bind(i64::from(c.port))
        .bind(c.opened_at)
        .fetch_one(&self.pool)
        .await?;
        Ok(id)
    }

    async fn close_connection(&self, id: i64, at: i64) -> StoreResult<()> {
        sqlx::query("UPDATE connections SET closed_at = ? WHERE id = ?").bind(at).bind(id).execute(&self.pool).await?;
        Ok(())
    }

    async fn connections_of(&self, member_id: &str) -> StoreResult<Vec<ConnectionRow>> {
        let rows = sqlx::query(
            "SELECT id, member_id, kind, ip, port, opened_at, closed_at FROM connections WHERE member_id = ? ORDER BY id",
        )
        .bind(member_id)
        .fetch_all(&self.pool)
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(ConnectionRow {
                    id: row.try_get("id")?,
                    member_id: row.try_get("member_id")?,
                    kind: row.try_get("kind")?,
                    ip: row.try_get("ip")?,
                    port: row.try_get("port")?,
                    opened_at: row.try_get("opened_at")?,
                    closed_at: row.try_get("closed_at")?,
                })
            })
            .collect()
    }

    async fn add_entry_locks(&self, keys: &[(&str, &str)], reason: &str, at: i64, until: i64) -> StoreResult<()> {
        let mut tx = self.durable.begin().await?;
        for (kind, key) in keys {
            sqlx::query("INSERT INTO entry_locks (key, kind, reason, created_at, expires_at) VALUES (?, ?, ?, ?, ?)")
                .bind(*key)
                .bind(*kind)
                .bind(reason)
                .bind(at)
                .bind(until)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn entry_locked_until(&self, keys: &[&str], now: i64) -> StoreResult<Option<i64>> {
        let mut latest: Option<i64> = None;
        for key in keys {
            let until: Option<i64> =
                sqlx::query_scalar("SELECT MAX(expires_at) FROM entry_locks WHERE key = ? AND expires_at > ?")
                    .bind(*key)
                    .bind(now)
                    .fetch_one(&self.pool)
                    .await?;
            latest = latest.max(until);
        }
        Ok(latest)
    }

    async fn insert_report(&self, r: &NewReport) -> StoreResult<(i64, i64)> {
        let mut tx = self.durable.begin().await?;
        let report_id: i64 = sqlx::query_scalar(
            "INSERT INTO reports (created_at, reporter_id, target_id, target_nickname, category, comment, room, \
             message_id, evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(r.created_at)
        .bind(&r.reporter_id)
        .bind(&r.target_id)
        .bind(&r.target_nickname)
        .bind(&r.category)
        .bind(&r.comment)
        .bind(&r.room)
        .bind(r.message_id.map(|id| id as i64))
        .bind(&r.evidence)
        .fetch_one(&mut *tx)
        .await?;
        let case_id: i64 = sqlx::query_scalar(
            "INSERT INTO cases (created_at, source, severity, member_id, nickname, categories, rules, context, text, \
             report_id, evidence) VALUES (?, 'report', ?, ?, ?, ?, '[]', ?, ?, ?, ?) RETURNING id",
        )
        .bind(r.created_at)
        .bind(i64::from(r.severity))
        .bind(&r.target_id)
        .bind(&r.target_nickname)
        .bind(serde_json::json!([r.category]).to_string())
        .bind(r.room.as_deref().unwrap_or("member"))
        .bind(&r.comment)
        .bind(report_id)
        .bind(&r.evidence)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok((report_id, case_id))
    }

    async fn insert_case(&self, c: &NewCase) -> StoreResult<i64> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO cases (created_at, source, severity, member_id, nickname, categories, rules, context, text, \
             report_id, evidence) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        )
        .bind(c.created_at)
        .bind(c.source)
        .bind(i64::from(c.severity))
        .bind(&c.member_id)
        .bind(&c.nickname)
        .bind(serde_json::to_string(&c.categories).unwrap_or_else(|_| "[]".into()))
        .bind(serde_json::to_string(&c.rules).unwrap_or_else(|_| "[]".into()))
        .bind(&c.context)
        .bind(&c.text)
        .bind(c.report_id)
        .bind(&c.evidence)
        .fetch_one(&self.durable)
        .await?;
        Ok(id)
    }

    async fn open_cases(&self, limit: u32) -> StoreResult<Vec<CaseRow>> {
        let rows = sqlx::query(
            "SELECT id, created_at, source, severity, status, member_id, nickname, categories, rules, context, text, \
             report_id, evidence FROM cases WHERE status = 'open' ORDER BY severity, created_at LIMIT ?",
        )
        .bind(i64::from(limit))
        .fetch_all(&self.durable)
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(CaseRow {
                    id: row.try_get("id")?,
                    created_at: row.try_get("created_at")?,
                    source: row.try_get("source")?,
                    severity: row.try_get("severity")?,
                    status: row.try_get("status")?,
                    member_id: row.try_get("member_id")?,
                    nickname: row.try_get("nickname")?,
                    categories: row.try_get("categories")?,
                    rules: row.try_get("rules")?,
                    context: row.try_get("context")?,
                    text: row.try_get("text")?,
                    report_id: row.try_get("report_id")?,
                    evidence: row.try_get("evidence")?,
                })
            })
            .collect()
    }
}

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
        assert_eq!(store.entry_locked_until(&["d1"], 2_000).await.expect("query"), Some(5_000));
        assert_eq!(store.entry_locked_until(&["x", "n1"], 2_000).await.expect("query"), Some(5_000));
        assert_eq!(store.entry_locked_until(&["d1", "n1"], 5_000).await.expect("query"), None);
        assert_eq!(store.entry_locked_until(&["other"], 2_000).await.expect("query"), None);
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
