//! What the SQLite and PostgreSQL stores share: the schema's columns, the row readers and every
//! query. The SQL is written once, with `$N` placeholders, which SQLite reads as well (`$N` binds
//! the N-th argument there too) and in the subset both databases run the same way; what differs
//! (opening, migrations, how audit appends are serialised) stays in each store's module.

use std::borrow::Cow;

use sqlx::SqlSafeStr;
use sqlx::migrate::{Migration, MigrationType, Migrator};

pub(super) const CASE_COLUMNS: &str = "id, created_at, source, severity, status, member_id, nickname, categories, \
     rules, context, text, report_id, evidence, trusted, decided_at, decided_by, decision";
pub(super) const MODERATOR_COLUMNS: &str = "id, name, role, password_hash, failed_logins, locked_until, disabled";
pub(super) const SANCTION_COLUMNS: &str = "id, created_at, member_id, nickname, kind, reason, category, facts, \
     expires_at, moderator_id, case_id, appeal_code, status, statement";
pub(super) const APPEAL_COLUMNS: &str = "id, sanction_id, created_at, text, status, decided_by, decided_at, decision";

pub(super) fn is_unique_violation(error: &sqlx::Error) -> bool {
    matches!(error, sqlx::Error::Database(e) if e.is_unique_violation())
}

/// The migrator for one database's migration files.
pub(super) fn migrator(migrations: &'static [(i64, &'static str, &'static str)]) -> Migrator {
    Migrator::with_migrations(
        migrations
            .iter()
            .map(|(version, name, sql)| {
                Migration::new(*version, Cow::Borrowed(*name), MigrationType::Simple, sql.into_sql_str(), false)
            })
            .collect(),
    )
}

/// Expands, in a store's module, the row readers for its row type, `append_audit_chained` for its
/// connection type, and its `impl Store`. The module provides `pool` and `durable` pools on the
/// store, and `append_audit_in`: its way of serialising audit appends, then
/// `append_audit_chained`.
macro_rules! store_impl {
    ($store:ty, $row:ty, $connection:ty) => {
        /// Appends to the audit chain inside an open transaction: reads the chain's tip and links
        /// the new entry to it. Callers serialise appends first (`append_audit_in`).
        async fn append_audit_chained(tx: &mut $connection, entry: &AuditEntry) -> Result<i64, sqlx::Error> {
            let prev: Option<String> = sqlx::query_scalar("SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1")
                .fetch_optional(&mut *tx)
                .await?;
            let prev = prev.unwrap_or_else(|| AUDIT_GENESIS.to_owned());
            let hash = audit_hash(&prev, entry);
            sqlx::query_scalar(
                "INSERT INTO audit_log (at, moderator_id, moderator, action, target, reason, details, prev_hash, hash) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
            )
            .bind(entry.at)
            .bind(entry.moderator_id)
            .bind(&entry.moderator)
            .bind(&entry.action)
            .bind(&entry.target)
            .bind(&entry.reason)
            .bind(&entry.details)
            .bind(&prev)
            .bind(&hash)
            .fetch_one(&mut *tx)
            .await
        }

        fn case_row(row: &$row) -> Result<CaseRow, sqlx::Error> {
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
                trusted: row.try_get::<i64, _>("trusted")? != 0,
                decided_at: row.try_get("decided_at")?,
                decided_by: row.try_get("decided_by")?,
                decision: row.try_get("decision")?,
            })
        }

        fn moderator_row(row: &$row) -> Result<ModeratorRow, sqlx::Error> {
            Ok(ModeratorRow {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                role: row.try_get("role")?,
                password_hash: row.try_get("password_hash")?,
                failed_logins: row.try_get("failed_logins")?,
                locked_until: row.try_get("locked_until")?,
                disabled: row.try_get::<i64, _>("disabled")? != 0,
            })
        }

        fn sanction_row(row: &$row) -> Result<SanctionRow, sqlx::Error> {
            Ok(SanctionRow {
                id: row.try_get("id")?,
                created_at: row.try_get("created_at")?,
                member_id: row.try_get("member_id")?,
                nickname: row.try_get("nickname")?,
                kind: row.try_get("kind")?,
                reason: row.try_get("reason")?,
                category: row.try_get("category")?,
                facts: row.try_get("facts")?,
                expires_at: row.try_get("expires_at")?,
                moderator_id: row.try_get("moderator_id")?,
                case_id: row.try_get("case_id")?,
                appeal_code: row.try_get("appeal_code")?,
                status: row.try_get("status")?,
                statement: row.try_get("statement")?,
            })
        }

        fn appeal_row(row: &$row) -> Result<AppealRow, sqlx::Error> {
            Ok(AppealRow {
                id: row.try_get("id")?,
                sanction_id: row.try_get("sanction_id")?,
                created_at: row.try_get("created_at")?,
                text: row.try_get("text")?,
                status: row.try_get("status")?,
                decided_by: row.try_get("decided_by")?,
                decided_at: row.try_get("decided_at")?,
                decision: row.try_get("decision")?,
            })
        }

        fn audit_row(row: &$row) -> Result<AuditRow, sqlx::Error> {
            Ok(AuditRow {
                id: row.try_get("id")?,
                entry: AuditEntry {
                    at: row.try_get("at")?,
                    moderator_id: row.try_get("moderator_id")?,
                    moderator: row.try_get("moderator")?,
                    action: row.try_get("action")?,
                    target: row.try_get("target")?,
                    reason: row.try_get("reason")?,
                    details: row.try_get("details")?,
                },
                prev_hash: row.try_get("prev_hash")?,
                hash: row.try_get("hash")?,
            })
        }

        #[async_trait::async_trait]
        impl Store for $store {
            async fn secret(&self, name: &str, generate: &(dyn Fn() -> String + Sync)) -> StoreResult<String> {
                sqlx::query("INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING")
                    .bind(name)
                    .bind(generate())
                    .execute(&self.durable)
                    .await?;
                let value: String =
                    sqlx::query_scalar("SELECT value FROM settings WHERE key = $1").bind(name).fetch_one(&self.durable).await?;
                Ok(value)
            }

            async fn record_entry(&self, e: &EntryRecord) -> StoreResult<()> {
                let mut tx = self.pool.begin().await?;
                sqlx::query(
                    "INSERT INTO entries (member_id, nickname, skeleton, gender, age, postcode, insee, city, ip, port, \
                     user_agent, device_key, network_key, entered_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
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
                .execute(&mut *tx)
                .await?;
                // The entry's line in the connection log (address and source port, as the law asks).
                sqlx::query(
                    "INSERT INTO connections (member_id, kind, ip, port, opened_at, closed_at) VALUES ($1, 'entry', $2, $3, $4, $5)",
                )
                .bind(&e.member_id)
                .bind(&e.ip)
                .bind(i64::from(e.port))
                .bind(e.entered_at)
                .bind(e.entered_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn end_entry(&self, member_id: &str, at: i64) -> StoreResult<()> {
                sqlx::query("UPDATE entries SET ended_at = $1 WHERE member_id = $2 AND ended_at IS NULL")
                    .bind(at)
                    .bind(member_id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn open_connection(&self, c: &ConnectionRecord) -> StoreResult<i64> {
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO connections (member_id, kind, ip, port, opened_at) VALUES ($1, $2, $3, $4, $5) RETURNING id",
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
                sqlx::query("UPDATE connections SET closed_at = $1 WHERE id = $2")
                    .bind(at)
                    .bind(id)
                    .execute(&self.pool)
                    .await?;
                Ok(())
            }

            async fn connections_of(&self, member_id: &str) -> StoreResult<Vec<ConnectionRow>> {
                let rows = sqlx::query(
                    "SELECT id, member_id, kind, ip, port, opened_at, closed_at FROM connections WHERE member_id = $1 ORDER BY id",
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
                    sqlx::query(
                        "INSERT INTO entry_locks (key, kind, reason, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                    )
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

            async fn entry_lock(&self, keys: &[&str], now: i64) -> StoreResult<Option<EntryLock>> {
                let mut longest: Option<EntryLock> = None;
                for key in keys {
                    let row = sqlx::query(
                        "SELECT expires_at, reason, sanction_id FROM entry_locks WHERE key = $1 AND expires_at > $2 \
                         ORDER BY expires_at DESC LIMIT 1",
                    )
                    .bind(*key)
                    .bind(now)
                    .fetch_optional(&self.durable)
                    .await?;
                    if let Some(row) = row {
                        let lock = EntryLock {
                            until: row.try_get("expires_at")?,
                            reason: row.try_get("reason")?,
                            sanction_id: row.try_get("sanction_id")?,
                        };
                        if longest.as_ref().is_none_or(|l| lock.until > l.until) {
                            longest = Some(lock);
                        }
                    }
                }
                Ok(longest)
            }

            async fn entry_of(&self, member_id: &str) -> StoreResult<Option<EntryRow>> {
                let row = sqlx::query(
                    "SELECT member_id, nickname, skeleton, gender, age, postcode, city, ip, port, user_agent, device_key, \
                     network_key, entered_at, ended_at FROM entries WHERE member_id = $1",
                )
                .bind(member_id)
                .fetch_optional(&self.pool)
                .await?;
                row.map(|row| {
                    Ok(EntryRow {
                        member_id: row.try_get("member_id")?,
                        nickname: row.try_get("nickname")?,
                        skeleton: row.try_get("skeleton")?,
                        gender: row.try_get("gender")?,
                        age: row.try_get("age")?,
                        postcode: row.try_get("postcode")?,
                        city: row.try_get("city")?,
                        ip: row.try_get("ip")?,
                        port: row.try_get("port")?,
                        user_agent: row.try_get("user_agent")?,
                        device_key: row.try_get("device_key")?,
                        network_key: row.try_get("network_key")?,
                        entered_at: row.try_get("entered_at")?,
                        ended_at: row.try_get("ended_at")?,
                    })
                })
                .transpose()
            }

            async fn linked_sessions(&self, member_id: &str) -> StoreResult<Vec<LinkedSession>> {
                let rows = sqlx::query(
                    "SELECT e.member_id, e.nickname, e.entered_at, \
                       CASE WHEN e.device_key = m.device_key THEN 'device' ELSE 'network' END AS link \
                     FROM entries m JOIN entries e ON (e.device_key = m.device_key OR e.network_key = m.network_key) \
                     WHERE m.member_id = $1 AND e.member_id != m.member_id ORDER BY e.entered_at DESC LIMIT 50",
                )
                .bind(member_id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok(LinkedSession {
                            member_id: row.try_get("member_id")?,
                            nickname: row.try_get("nickname")?,
                            entered_at: row.try_get("entered_at")?,
                            link: row.try_get("link")?,
                        })
                    })
                    .collect()
            }

            async fn insert_report(&self, r: &NewReport) -> StoreResult<(i64, i64)> {
                let mut tx = self.durable.begin().await?;
                let report_id: i64 = sqlx::query_scalar(
                    "INSERT INTO reports (created_at, reporter_id, target_id, target_nickname, category, comment, room, \
                     message_id, evidence) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
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
                     report_id, evidence) VALUES ($1, 'report', $2, $3, $4, $5, '[]', $6, $7, $8, $9) RETURNING id",
                )
                .bind(r.created_at)
                .bind(i64::from(r.severity))
                .bind(&r.target_id)
                .bind(&r.target_nickname)
                .bind(serde_json::json!([r.category]).to_string())
                .bind(r.room.as_deref().unwrap_or("member"))
                .bind(if r.text.is_empty() { &r.comment } else { &r.text })
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
                     report_id, evidence) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
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
                let sql = format!(
                    "SELECT {CASE_COLUMNS} FROM cases WHERE status = 'open' ORDER BY severity, trusted DESC, created_at LIMIT $1"
                );
                let rows = sqlx::query(AssertSqlSafe(sql)).bind(i64::from(limit)).fetch_all(&self.durable).await?;
                Ok(rows.iter().map(case_row).collect::<Result<_, _>>()?)
            }

            async fn case(&self, id: i64) -> StoreResult<Option<CaseRow>> {
                let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE id = $1");
                let row = sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_optional(&self.durable).await?;
                Ok(row.as_ref().map(case_row).transpose()?)
            }

            async fn cases_of(&self, member_id: &str) -> StoreResult<Vec<CaseRow>> {
                let sql = format!("SELECT {CASE_COLUMNS} FROM cases WHERE member_id = $1 ORDER BY created_at DESC LIMIT 100");
                let rows = sqlx::query(AssertSqlSafe(sql)).bind(member_id).fetch_all(&self.durable).await?;
                Ok(rows.iter().map(case_row).collect::<Result<_, _>>()?)
            }

            async fn decide_case(
                &self,
                id: i64,
                status: &str,
                moderator_id: i64,
                decision: &str,
                audit: &AuditEntry,
            ) -> StoreResult<()> {
                let mut tx = self.durable.begin().await?;
                let updated =
                    sqlx::query("UPDATE cases SET status = $1, decided_at = $2, decided_by = $3, decision = $4 WHERE id = $5")
                        .bind(status)
                        .bind(audit.at)
                        .bind(moderator_id)
                        .bind(decision)
                        .bind(id)
                        .execute(&mut *tx)
                        .await?;
                if updated.rows_affected() == 0 {
                    return Err(StoreError::NotFound);
                }
                append_audit_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn mark_trusted(&self, case_id: i64) -> StoreResult<()> {
                sqlx::query("UPDATE cases SET trusted = 1 WHERE id = $1").bind(case_id).execute(&self.durable).await?;
                Ok(())
            }

            async fn create_moderator(&self, name: &str, role: &str, password_hash: &str, at: i64) -> StoreResult<i64> {
                let id = sqlx::query_scalar(
                    "INSERT INTO moderators (name, role, password_hash, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(name)
                .bind(role)
                .bind(password_hash)
                .bind(at)
                .fetch_one(&self.durable)
                .await
                .map_err(|e| if is_unique_violation(&e) { StoreError::Conflict } else { StoreError::Database(e) })?;
                Ok(id)
            }

            async fn moderator_by_name(&self, name: &str) -> StoreResult<Option<ModeratorRow>> {
                let sql = format!("SELECT {MODERATOR_COLUMNS} FROM moderators WHERE name = $1");
                let row = sqlx::query(AssertSqlSafe(sql)).bind(name).fetch_optional(&self.durable).await?;
                Ok(row.as_ref().map(moderator_row).transpose()?)
            }

            async fn moderator_by_id(&self, id: i64) -> StoreResult<Option<ModeratorRow>> {
                let sql = format!("SELECT {MODERATOR_COLUMNS} FROM moderators WHERE id = $1");
                let row = sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_optional(&self.durable).await?;
                Ok(row.as_ref().map(moderator_row).transpose()?)
            }

            async fn set_login_failures(&self, id: i64, failed: i64, locked_until: i64) -> StoreResult<()> {
                sqlx::query("UPDATE moderators SET failed_logins = $1, locked_until = $2 WHERE id = $3")
                    .bind(failed)
                    .bind(locked_until)
                    .bind(id)
                    .execute(&self.durable)
                    .await?;
                Ok(())
            }

            async fn create_moderator_session(
                &self,
                token_hash: &str,
                moderator_id: i64,
                csrf: &str,
                at: i64,
                expires: i64,
            ) -> StoreResult<()> {
                sqlx::query("DELETE FROM moderator_sessions WHERE expires_at < $1").bind(at).execute(&self.durable).await?;
                sqlx::query(
                    "INSERT INTO moderator_sessions (token_hash, moderator_id, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(token_hash)
                .bind(moderator_id)
                .bind(csrf)
                .bind(at)
                .bind(expires)
                .execute(&self.durable)
                .await?;
                Ok(())
            }

            async fn moderator_session(&self, token_hash: &str, now: i64) -> StoreResult<Option<(ModeratorRow, String)>> {
                let row =
                    sqlx::query("SELECT moderator_id, csrf FROM moderator_sessions WHERE token_hash = $1 AND expires_at > $2")
                        .bind(token_hash)
                        .bind(now)
                        .fetch_optional(&self.durable)
                        .await?;
                let Some(row) = row else { return Ok(None) };
                let csrf: String = row.try_get("csrf")?;
                let moderator = self.moderator_by_id(row.try_get("moderator_id")?).await?;
                Ok(moderator.filter(|m| !m.disabled).map(|m| (m, csrf)))
            }

            async fn delete_moderator_session(&self, token_hash: &str) -> StoreResult<()> {
                sqlx::query("DELETE FROM moderator_sessions WHERE token_hash = $1")
                    .bind(token_hash)
                    .execute(&self.durable)
                    .await?;
                Ok(())
            }

            async fn apply_sanction(&self, s: &NewSanction, audit: &AuditEntry) -> StoreResult<i64> {
                let mut tx = self.durable.begin().await?;
                let id: i64 = sqlx::query_scalar(
                    "INSERT INTO sanctions (created_at, member_id, nickname, kind, reason, category, facts, expires_at, \
                     moderator_id, case_id, appeal_code, statement) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12) RETURNING id",
                )
                .bind(s.created_at)
                .bind(&s.member_id)
                .bind(&s.nickname)
                .bind(&s.kind)
                .bind(&s.reason)
                .bind(&s.category)
                .bind(&s.facts)
                .bind(s.expires_at)
                .bind(s.moderator_id)
                .bind(s.case_id)
                .bind(&s.appeal_code)
                .bind(&s.statement)
                .fetch_one(&mut *tx)
                .await?;
                for (kind, key) in &s.locks {
                    sqlx::query(
                        "INSERT INTO entry_locks (key, kind, reason, created_at, expires_at, sanction_id) VALUES ($1, $2, $3, $4, $5, $6)",
                    )
                    .bind(key)
                    .bind(kind)
                    .bind(&s.kind)
                    .bind(s.created_at)
                    .bind(s.expires_at.unwrap_or(super::FOREVER))
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                }
                if let Some(case_id) = s.case_id {
                    sqlx::query(
                        "UPDATE cases SET status = 'actioned', decided_at = $1, decided_by = $2, decision = $3 WHERE id = $4 AND status = 'open'",
                    )
                    .bind(s.created_at)
                    .bind(s.moderator_id)
                    .bind(&s.kind)
                    .bind(case_id)
                    .execute(&mut *tx)
                    .await?;
                }
                append_audit_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(id)
            }

            async fn sanction(&self, id: i64) -> StoreResult<Option<SanctionRow>> {
                let sql = format!("SELECT {SANCTION_COLUMNS} FROM sanctions WHERE id = $1");
                let row = sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_optional(&self.durable).await?;
                Ok(row.as_ref().map(sanction_row).transpose()?)
            }

            async fn sanction_by_code(&self, code: &str) -> StoreResult<Option<SanctionRow>> {
                let sql = format!("SELECT {SANCTION_COLUMNS} FROM sanctions WHERE appeal_code = $1");
                let row = sqlx::query(AssertSqlSafe(sql)).bind(code).fetch_optional(&self.durable).await?;
                Ok(row.as_ref().map(sanction_row).transpose()?)
            }

            async fn sanctions_of(&self, member_id: &str) -> StoreResult<Vec<SanctionRow>> {
                let sql = format!("SELECT {SANCTION_COLUMNS} FROM sanctions WHERE member_id = $1 ORDER BY created_at DESC");
                let rows = sqlx::query(AssertSqlSafe(sql)).bind(member_id).fetch_all(&self.durable).await?;
                Ok(rows.iter().map(sanction_row).collect::<Result<_, _>>()?)
            }

            async fn insert_appeal(&self, sanction_id: i64, text: &str, at: i64) -> StoreResult<i64> {
                let mut tx = self.durable.begin().await?;
                let open: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM appeals WHERE sanction_id = $1 AND status = 'open'")
                    .bind(sanction_id)
                    .fetch_one(&mut *tx)
                    .await?;
                if open > 0 {
                    return Err(StoreError::Conflict);
                }
                let id =
                    sqlx::query_scalar("INSERT INTO appeals (sanction_id, created_at, text) VALUES ($1, $2, $3) RETURNING id")
                        .bind(sanction_id)
                        .bind(at)
                        .bind(text)
                        .fetch_one(&mut *tx)
                        .await?;
                tx.commit().await?;
                Ok(id)
            }

            async fn appeal(&self, id: i64) -> StoreResult<Option<AppealRow>> {
                let sql = format!("SELECT {APPEAL_COLUMNS} FROM appeals WHERE id = $1");
                let row = sqlx::query(AssertSqlSafe(sql)).bind(id).fetch_optional(&self.durable).await?;
                Ok(row.as_ref().map(appeal_row).transpose()?)
            }

            async fn appeals_of(&self, sanction_id: i64) -> StoreResult<Vec<AppealRow>> {
                let sql = format!("SELECT {APPEAL_COLUMNS} FROM appeals WHERE sanction_id = $1 ORDER BY id");
                let rows = sqlx::query(AssertSqlSafe(sql)).bind(sanction_id).fetch_all(&self.durable).await?;
                Ok(rows.iter().map(appeal_row).collect::<Result<_, _>>()?)
            }

            async fn open_appeals(&self) -> StoreResult<Vec<AppealRow>> {
                let sql = format!("SELECT {APPEAL_COLUMNS} FROM appeals WHERE status = 'open' ORDER BY created_at");
                let rows = sqlx::query(AssertSqlSafe(sql)).fetch_all(&self.durable).await?;
                Ok(rows.iter().map(appeal_row).collect::<Result<_, _>>()?)
            }

            async fn decide_appeal(
                &self,
                id: i64,
                moderator_id: i64,
                overturn: bool,
                decision: &str,
                audit: &AuditEntry,
            ) -> StoreResult<()> {
                let mut tx = self.durable.begin().await?;
                let sanction_id: Option<i64> =
                    sqlx::query_scalar("SELECT sanction_id FROM appeals WHERE id = $1 AND status = 'open'")
                        .bind(id)
                        .fetch_optional(&mut *tx)
                        .await?;
                let sanction_id = sanction_id.ok_or(StoreError::NotFound)?;
                sqlx::query("UPDATE appeals SET status = $1, decided_by = $2, decided_at = $3, decision = $4 WHERE id = $5")
                    .bind(if overturn { "overturned" } else { "upheld" })
                    .bind(moderator_id)
                    .bind(audit.at)
                    .bind(decision)
                    .bind(id)
                    .execute(&mut *tx)
                    .await?;
                if overturn {
                    sqlx::query("UPDATE sanctions SET status = 'overturned' WHERE id = $1")
                        .bind(sanction_id)
                        .execute(&mut *tx)
                        .await?;
                    sqlx::query("UPDATE entry_locks SET expires_at = $1 WHERE sanction_id = $2 AND expires_at > $3")
                        .bind(audit.at)
                        .bind(sanction_id)
                        .bind(audit.at)
                        .execute(&mut *tx)
                        .await?;
                }
                append_audit_in(&mut tx, audit).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<i64> {
                let mut tx = self.durable.begin().await?;
                let id = append_audit_in(&mut tx, entry).await?;
                tx.commit().await?;
                Ok(id)
            }

            async fn audit_log(&self, limit: u32) -> StoreResult<Vec<AuditRow>> {
                let rows = sqlx::query(
                    "SELECT id, at, moderator_id, moderator, action, target, reason, details, prev_hash, hash FROM audit_log \
                     ORDER BY id DESC LIMIT $1",
                )
                .bind(i64::from(limit))
                .fetch_all(&self.durable)
                .await?;
                Ok(rows.iter().map(audit_row).collect::<Result<_, _>>()?)
            }

            async fn audit_chain(&self) -> StoreResult<Vec<AuditRow>> {
                let rows = sqlx::query(
                    "SELECT id, at, moderator_id, moderator, action, target, reason, details, prev_hash, hash FROM audit_log ORDER BY id",
                )
                .fetch_all(&self.durable)
                .await?;
                Ok(rows.iter().map(audit_row).collect::<Result<_, _>>()?)
            }

            async fn set_setting(&self, key: &str, value: &str) -> StoreResult<()> {
                sqlx::query(
                    "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                )
                .bind(key)
                .bind(value)
                .execute(&self.durable)
                .await?;
                Ok(())
            }

            async fn setting(&self, key: &str) -> StoreResult<Option<String>> {
                Ok(sqlx::query_scalar("SELECT value FROM settings WHERE key = $1")
                    .bind(key)
                    .fetch_optional(&self.durable)
                    .await?)
            }

            async fn transparency(&self) -> StoreResult<TransparencyStats> {
                let mut stats = TransparencyStats::default();
                for row in sqlx::query("SELECT source, categories, COUNT(*) AS n FROM cases GROUP BY source, categories")
                    .fetch_all(&self.durable)
                    .await?
                {
                    stats.cases_by_category.push((row.try_get("source")?, row.try_get("categories")?, row.try_get("n")?));
                }
                for row in
                    sqlx::query("SELECT status, COUNT(*) AS n FROM cases GROUP BY status").fetch_all(&self.durable).await?
                {
                    stats.cases_by_status.push((row.try_get("status")?, row.try_get("n")?));
                }
                for row in sqlx::query(
                    "SELECT kind, CASE WHEN moderator_id IS NULL THEN CAST(1 AS BIGINT) ELSE CAST(0 AS BIGINT) END AS automated, COUNT(*) AS n FROM sanctions \
                     GROUP BY kind, automated",
                )
                .fetch_all(&self.durable)
                .await?
                {
                    stats.sanctions_by_kind.push((
                        row.try_get("kind")?,
                        row.try_get::<i64, _>("automated")? != 0,
                        row.try_get("n")?,
                    ));
                }
                stats.report_decision_delays = sqlx::query_scalar(
                    "SELECT decided_at - created_at FROM cases WHERE source = 'report' AND decided_at IS NOT NULL ORDER BY 1",
                )
                .fetch_all(&self.durable)
                .await?;
                for row in
                    sqlx::query("SELECT status, COUNT(*) AS n FROM appeals GROUP BY status").fetch_all(&self.durable).await?
                {
                    stats.appeals_by_status.push((row.try_get("status")?, row.try_get("n")?));
                }
                stats.automated_holds =
                    sqlx::query_scalar("SELECT COUNT(*) FROM cases WHERE source = 'auto'").fetch_one(&self.durable).await?;
                Ok(stats)
            }
        }
    };
}

pub(super) use store_impl;
