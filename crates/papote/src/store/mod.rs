//! Durable storage behind one trait, one implementation per backend.
//!
//! The domain only sees [`Store`]; `sqlite.rs` is the embedded default. Everything a member is
//! told was "received" (reports, cases) is committed before the call returns.

mod postgres;
mod shared;
mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use serde::Serialize;

pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration: {0}")]
    Migration(#[from] sqlx::migrate::MigrateError),
    #[error("unsupported database URL {0:?} (expected a SQLite path, sqlite:..., or postgres://...)")]
    UnsupportedUrl(String),
    #[error("already exists")]
    Conflict,
    #[error("not found")]
    NotFound,
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
    /// The reported message's text ("" when a member, not a message, is reported): what the
    /// moderation queue shows first.
    pub text: String,
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
    pub trusted: bool,
    pub decided_at: Option<i64>,
    pub decided_by: Option<i64>,
    pub decision: Option<String>,
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

/// A live lock on entry: an under-18 declaration or a ban.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EntryLock {
    pub until: i64,
    pub reason: String,
    pub sanction_id: Option<i64>,
}

/// Permanent bans expire at the end of time.
pub const FOREVER: i64 = i64::MAX;

#[derive(Clone, Debug, Serialize)]
pub struct ModeratorRow {
    pub id: i64,
    pub name: String,
    pub role: String,
    #[serde(skip)]
    pub password_hash: String,
    pub failed_logins: i64,
    pub locked_until: i64,
    pub disabled: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct EntryRow {
    pub member_id: String,
    pub nickname: String,
    pub skeleton: String,
    pub gender: String,
    pub age: i64,
    pub postcode: String,
    pub city: String,
    pub ip: String,
    pub port: i64,
    pub user_agent: String,
    pub device_key: String,
    pub network_key: String,
    pub entered_at: i64,
    pub ended_at: Option<i64>,
}

/// Another session linked to a member by device cookie or network fingerprint.
#[derive(Clone, Debug, Serialize)]
pub struct LinkedSession {
    pub member_id: String,
    pub nickname: String,
    pub entered_at: i64,
    pub link: String,
}

/// One moderator action, as the audit log records it.
#[derive(Clone, Debug, Serialize)]
pub struct AuditEntry {
    pub at: i64,
    pub moderator_id: Option<i64>,
    pub moderator: String,
    pub action: String,
    pub target: String,
    pub reason: String,
    pub details: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct AuditRow {
    pub id: i64,
    pub entry: AuditEntry,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Clone, Debug)]
pub struct NewSanction {
    pub created_at: i64,
    pub member_id: String,
    pub nickname: String,
    pub kind: String,
    pub reason: String,
    pub category: String,
    pub facts: String,
    pub expires_at: Option<i64>,
    pub moderator_id: Option<i64>,
    pub case_id: Option<i64>,
    pub appeal_code: String,
    /// JSON: the statement of reasons as the member receives it.
    pub statement: String,
    /// Entry locks to add, as (kind, key).
    pub locks: Vec<(String, String)>,
}

#[derive(Clone, Debug, Serialize)]
pub struct SanctionRow {
    pub id: i64,
    pub created_at: i64,
    pub member_id: String,
    pub nickname: String,
    pub kind: String,
    pub reason: String,
    pub category: String,
    pub facts: String,
    pub expires_at: Option<i64>,
    pub moderator_id: Option<i64>,
    pub case_id: Option<i64>,
    pub appeal_code: String,
    pub status: String,
    pub statement: String,
}

#[derive(Clone, Debug, Serialize)]
pub struct AppealRow {
    pub id: i64,
    pub sanction_id: i64,
    pub created_at: i64,
    pub text: String,
    pub status: String,
    pub decided_by: Option<i64>,
    pub decided_at: Option<i64>,
    pub decision: Option<String>,
}

/// Figures for the public transparency report.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TransparencyStats {
    /// (source, category, count) of cases.
    pub cases_by_category: Vec<(String, String, i64)>,
    /// (status, count) of cases.
    pub cases_by_status: Vec<(String, i64)>,
    /// (kind, automated, count) of sanctions.
    pub sanctions_by_kind: Vec<(String, bool, i64)>,
    /// Milliseconds from report to decision, for every decided report.
    pub report_decision_delays: Vec<i64>,
    /// (status, count) of appeals.
    pub appeals_by_status: Vec<(String, i64)>,
    pub automated_holds: i64,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// A named secret, created with `generate` the first time and the same ever after (every node
    /// sharing the database gets the same one).
    async fn secret(&self, name: &str, generate: &(dyn Fn() -> String + Sync)) -> StoreResult<String>;

    /// The entry and its line in the connection log (kind `entry`), in one transaction.
    async fn record_entry(&self, entry: &EntryRecord) -> StoreResult<()>;
    async fn end_entry(&self, member_id: &str, at: i64) -> StoreResult<()>;

    async fn open_connection(&self, connection: &ConnectionRecord) -> StoreResult<i64>;
    async fn close_connection(&self, id: i64, at: i64) -> StoreResult<()>;
    async fn connections_of(&self, member_id: &str) -> StoreResult<Vec<ConnectionRow>>;

    /// Locks every key until `until`.
    async fn add_entry_locks(&self, keys: &[(&str, &str)], reason: &str, at: i64, until: i64) -> StoreResult<()>;
    /// The live lock on any of these keys that lasts longest.
    async fn entry_lock(&self, keys: &[&str], now: i64) -> StoreResult<Option<EntryLock>>;
    async fn entry_of(&self, member_id: &str) -> StoreResult<Option<EntryRow>>;
    /// Other sessions that entered with the same device cookie or network fingerprint.
    async fn linked_sessions(&self, member_id: &str) -> StoreResult<Vec<LinkedSession>>;

    /// Stores a report and opens its case, atomically and durably. Returns (report id, case id).
    async fn insert_report(&self, report: &NewReport) -> StoreResult<(i64, i64)>;
    /// Opens a case durably (automatic cases from the safety engine).
    async fn insert_case(&self, case: &NewCase) -> StoreResult<i64>;
    /// The queue: open cases by severity, trusted flaggers first, then age.
    async fn open_cases(&self, limit: u32) -> StoreResult<Vec<CaseRow>>;
    async fn case(&self, id: i64) -> StoreResult<Option<CaseRow>>;
    async fn cases_of(&self, member_id: &str) -> StoreResult<Vec<CaseRow>>;
    /// Closes a case (dismissed, escalated...) with the audit entry, atomically.
    async fn decide_case(
        &self,
        id: i64,
        status: &str,
        moderator_id: i64,
        decision: &str,
        audit: &AuditEntry,
    ) -> StoreResult<()>;
    async fn mark_trusted(&self, case_id: i64) -> StoreResult<()>;

    async fn create_moderator(&self, name: &str, role: &str, password_hash: &str, at: i64) -> StoreResult<i64>;
    async fn moderator_by_name(&self, name: &str) -> StoreResult<Option<ModeratorRow>>;
    async fn moderator_by_id(&self, id: i64) -> StoreResult<Option<ModeratorRow>>;
    async fn set_login_failures(&self, id: i64, failed: i64, locked_until: i64) -> StoreResult<()>;
    async fn create_moderator_session(
        &self,
        token_hash: &str,
        moderator_id: i64,
        csrf: &str,
        at: i64,
        expires: i64,
    ) -> StoreResult<()>;
    async fn moderator_session(&self, token_hash: &str, now: i64) -> StoreResult<Option<(ModeratorRow, String)>>;
    async fn delete_moderator_session(&self, token_hash: &str) -> StoreResult<()>;

    /// Stores a sanction with its entry locks, closes its case and appends the audit entry, in one
    /// durable transaction. Returns the sanction id.
    async fn apply_sanction(&self, sanction: &NewSanction, audit: &AuditEntry) -> StoreResult<i64>;
    async fn sanction(&self, id: i64) -> StoreResult<Option<SanctionRow>>;
    async fn sanction_by_code(&self, code: &str) -> StoreResult<Option<SanctionRow>>;
    async fn sanctions_of(&self, member_id: &str) -> StoreResult<Vec<SanctionRow>>;

    /// Files an appeal; `Conflict` if one is already open for that sanction.
    async fn insert_appeal(&self, sanction_id: i64, text: &str, at: i64) -> StoreResult<i64>;
    async fn appeal(&self, id: i64) -> StoreResult<Option<AppealRow>>;
    async fn appeals_of(&self, sanction_id: i64) -> StoreResult<Vec<AppealRow>>;
    async fn open_appeals(&self) -> StoreResult<Vec<AppealRow>>;
    /// Decides an appeal; overturning lifts the sanction and its entry locks. Atomic with the audit
    /// entry.
    async fn decide_appeal(
        &self,
        id: i64,
        moderator_id: i64,
        overturn: bool,
        decision: &str,
        audit: &AuditEntry,
    ) -> StoreResult<()>;

    async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<i64>;
    /// The last `limit` entries, newest first.
    async fn audit_log(&self, limit: u32) -> StoreResult<Vec<AuditRow>>;
    /// Every entry in order (for verifying the chain).
    async fn audit_chain(&self) -> StoreResult<Vec<AuditRow>>;

    async fn set_setting(&self, key: &str, value: &str) -> StoreResult<()>;
    async fn setting(&self, key: &str) -> StoreResult<Option<String>>;

    async fn transparency(&self) -> StoreResult<TransparencyStats>;
}

/// The hash that chains audit entries: BLAKE3 over the previous hash and every field, each
/// length-prefixed so that no two different entries hash the same. Every backend uses this one.
pub fn audit_hash(prev_hash: &str, entry: &AuditEntry) -> String {
    let mut hasher = blake3::Hasher::new();
    let moderator_id = entry.moderator_id.map(|id| id.to_string()).unwrap_or_default();
    let at = entry.at.to_string();
    for field in [
        prev_hash,
        at.as_str(),
        moderator_id.as_str(),
        entry.moderator.as_str(),
        entry.action.as_str(),
        entry.target.as_str(),
        entry.reason.as_str(),
        entry.details.as_str(),
    ] {
        hasher.update(&(field.len() as u64).to_le_bytes());
        hasher.update(field.as_bytes());
    }
    hasher.finalize().to_hex().to_string()
}

/// The first entry's previous hash.
pub const AUDIT_GENESIS: &str = "papote-audit-genesis";

/// Checks the whole chain; returns the id of the first entry that does not match, if any.
pub fn verify_audit_chain(rows: &[AuditRow]) -> Option<i64> {
    let mut prev = AUDIT_GENESIS.to_owned();
    for row in rows {
        if row.prev_hash != prev || audit_hash(&prev, &row.entry) != row.hash {
            return Some(row.id);
        }
        prev.clone_from(&row.hash);
    }
    None
}

/// Opens the store named by a `--database` value.
pub async fn open(database: &str) -> StoreResult<Arc<dyn Store>> {
    if database.starts_with("postgres://") || database.starts_with("postgresql://") {
        return Ok(Arc::new(PostgresStore::open(database).await?));
    }
    if database.contains("://") && !database.starts_with("sqlite:") {
        return Err(StoreError::UnsupportedUrl(database.to_owned()));
    }
    Ok(Arc::new(SqliteStore::open(database).await?))
}
