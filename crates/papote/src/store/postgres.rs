//! The PostgreSQL store, for several nodes sharing one database.
//!
//! One pool; commits are durable (PostgreSQL's default `synchronous_commit = on`). Appends to the
//! audit chain take a transaction-scoped advisory lock, so nodes appending at once stay in order.

use std::time::Duration;

use sqlx::postgres::{PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, PgPool, Row};

use super::shared::{
    APPEAL_COLUMNS, CASE_COLUMNS, MODERATOR_COLUMNS, SANCTION_COLUMNS, is_unique_violation, migrator, store_impl,
};

use super::{
    AUDIT_GENESIS, AppealRow, AuditEntry, AuditRow, CaseRow, ConnectionRecord, ConnectionRow, EntryLock, EntryRecord,
    EntryRow, LinkedSession, ModeratorRow, NewCase, NewReport, NewSanction, SanctionRow, Store, StoreError,
    StoreResult, TransparencyStats, audit_hash,
};

const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../../migrations/postgres/0001_init.sql")),
    (2, "moderation", include_str!("../../migrations/postgres/0002_moderation.sql")),
];

/// Key of the advisory lock that serialises audit appends across nodes.
const AUDIT_LOCK: i64 = 0x7061_706f_7465;

/// Appends to the audit chain inside an open transaction, holding the audit lock until commit.
async fn append_audit_in(tx: &mut sqlx::PgConnection, entry: &AuditEntry) -> Result<i64, sqlx::Error> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(AUDIT_LOCK).execute(&mut *tx).await?;
    append_audit_chained(tx, entry).await
}

pub struct PostgresStore {
    pool: PgPool,
    /// The same pool: named like the SQLite store's so both read alike.
    durable: PgPool,
}

impl PostgresStore {
    pub async fn open(url: &str) -> StoreResult<PostgresStore> {
        let pool = PgPoolOptions::new()
            .max_connections(16)
            .min_connections(1)
            .acquire_timeout(Duration::from_secs(10))
            .connect(url)
            .await?;
        // Nodes starting together must not run the migrations twice: sqlx's migrator takes an
        // advisory lock of its own.
        migrator(MIGRATIONS).run(&pool).await?;
        Ok(PostgresStore { durable: pool.clone(), pool })
    }

    /// Tests only: a new empty database `name` on the server of `url`; returns its URL. Each
    /// test suite gets its own, so suites run side by side.
    pub async fn fresh_database_for_tests(url: &str, name: &str) -> StoreResult<String> {
        let valid = !name.is_empty() && name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            return Err(StoreError::UnsupportedUrl(name.to_owned()));
        }
        let pool = PgPoolOptions::new().max_connections(1).connect(url).await?;
        let drop = format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        sqlx::raw_sql(AssertSqlSafe(drop)).execute(&pool).await?;
        sqlx::raw_sql(AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&pool).await?;
        pool.close().await;
        let base = url.rsplit_once('/').map_or(url, |(base, _)| base);
        Ok(format!("{base}/{name}"))
    }
}

store_impl!(PostgresStore, PgRow, sqlx::PgConnection);
