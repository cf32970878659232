//! Durable storage behind one trait, one implementation per backend.
//!
//! The domain only sees [`Store`]; `sqlite.rs` is the embedded default. Everything a member is
//! told was "received" (reports, cases) is committed before the call returns.

mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;

pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL {0:?} (expected a SQLite path, sqlite:..., or postgres://...)")]
    UnsupportedUrl(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// What entry records about a member (kept one year after the session, for requisitions).
#[derive(Clone, Debug)]
pub struct EntryRecord {
    pub member_id: String,
    pub nickname: String,
    pub skeleton: String,
    pub gender: String,
    pub age: u8,
    pub postcode: String,
    pub insee: String,
    pub city: String,
    pub ip: String,
    pub port: u16,
    pub user_agent: String,
    pub device_key: String,
    pub network_key: String,
    pub entered_at: i64,
}

#[derive(Clone, Debug)]
pub struct ConnectionRecord {
    pub member_id: Option<String>,
    /// `entry` (the HTTP request that created the session) or `websocket`.
    pub kind: &'static str,
    pub ip: String,
    pub port: u16,
    pub opened_at: i64,
}

#[derive(Clone, Debug)]
pub struct NewReport {
    pub created_at: i64,
    pub reporter_id: String,
    pub target_id: String,
    pub target_nickname: String,
    pub category: String,
    pub comment: String,
    pub room: Option<String>,
    pub message_id: Option<u64>,
    /// JSON: the frozen evidence.
    pub evidence: String,
    pub severity: u8,
}

#[derive(Clone, Debug)]
pub struct NewCase {
    pub created_at: i64,
    /// `report` or `auto`.
    pub source: &'static str,
    pub severity: u8,
    pub member_id: String,
    pub nickname: String,
    pub categories: Vec<String>,
    pub rules: Vec<String>,
    pub context: String,
    pub text: String,
    pub report_id: Option<i64>,
    pub evidence: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct CaseRow {
    pub id: i64,
    pub created_at: i64,
    pub source: String,
    pub severity: i64,
    pub status: String,
    pub member_id: String,
    pub nickname: String,
    pub categories: String,
    pub rules: String,
    pub context: String,
    pub text: String,
    pub report_id: Option<i64>,
    pub evidence: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct ConnectionRow {
    pub id: i64,
    pub member_id: Option<String>,
    pub kind: String,
    pub ip: String,
    pub port: i64,
    pub opened_at: i64,
    pub closed_at: Option<i64>,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// A named secret, created with `generate` the first time and the same ever after (every node
    /// sharing the database gets the same one).
    async fn secret(&self, name: &str, generate: &(dyn Fn() -> String + Sync)) -> StoreResult<String>;

    async fn record_entry(&self, entry: &EntryRecord) -> StoreResult<()>;
    async fn end_entry(&self, member_id: &str, at: i64) -> StoreResult<()>;

    async fn open_connection(&self, connection: &ConnectionRecord) -> StoreResult<i64>;
    async fn close_connection(&self, id: i64, at: i64) -> StoreResult<()>;
    async fn connections_of(&self, member_id: &str) -> StoreResult<Vec<ConnectionRow>>;

    /// Locks every key until `until`.
    async fn add_entry_locks(&self, keys: &[(&str, &str)], reason: &str, at: i64, until: i64) -> StoreResult<()>;
    /// The latest expiry among the live locks on any of these keys.
    async fn entry_locked_until(&self, keys: &[&str], now: i64) -> StoreResult<Option<i64>>;

    /// Stores a report and opens its case, atomically and durably. Returns (report id, case id).
    async fn insert_report(&self, report: &NewReport) -> StoreResult<(i64, i64)>;
    /// Opens a case durably (automatic cases from the safety engine).
    async fn insert_case(&self, case: &NewCase) -> StoreResult<i64>;
    async fn open_cases(&self, limit: u32) -> StoreResult<Vec<CaseRow>>;
}

/// Opens the store named by a `--database` value.
pub async fn open(database: &str) -> StoreResult<Arc<dyn Store>> {
    if database.starts_with("postgres://") || database.starts_with("postgresql://") {
        return Err(StoreError::UnsupportedUrl(database.to_owned()));
    }
    Ok(Arc::new(SqliteStore::open(database).await?))
}
