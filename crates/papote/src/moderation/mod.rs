//! The human side of safety: sanctions as data, statements of reasons, appeals to another
//! moderator, escalation to the authorities, panic mode, the audit log.
//!
//! Automatic systems (the safety engine) open cases and hold content; humans sanction. Every
//! action here is written durably with its audit entry before anyone is told.

pub mod accounts;

use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::entry::Gate;
use crate::hub::{Hub, now_ms};
use crate::i18n::Lang;
use crate::protocol::MemberId;
use crate::store::{AuditEntry, ModeratorRow, NewSanction, SanctionRow, Store, StoreError};

/// What a moderator can do to a member.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SanctionKind {
    Warn,
    /// Delete the reported message(s).
    Delete,
    /// 15 minutes without posting.
    Mute,
    /// Out of the site for up to 28 days.
    Timeout,
    /// Out of the site (device, network, nickname) for a duration or for good.
    Ban,
    /// Their lines reach only themselves.
    ShadowMute,
}

impl SanctionKind {
    pub fn parse(text: &str) -> Option<SanctionKind> {
        Some(match text {
            "warn" => SanctionKind::Warn,
            "delete" => SanctionKind::Delete,
            "mute" => SanctionKind::Mute,
            "timeout" => SanctionKind::Timeout,
            "ban" => SanctionKind::Ban,
            "shadow_mute" => SanctionKind::ShadowMute,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SanctionKind::Warn => "warn",
            SanctionKind::Delete => "delete",
            SanctionKind::Mute => "mute",
            SanctionKind::Timeout => "timeout",
            SanctionKind::Ban => "ban",
            SanctionKind::ShadowMute => "shadow_mute",
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (SanctionKind::Warn, Lang::Fr) => "Avertissement",
            (SanctionKind::Warn, Lang::En) => "Warning",
            (SanctionKind::Delete, Lang::Fr) => "Message supprimé",
            (SanctionKind::Delete, Lang::En) => "Message deleted",
            (SanctionKind::Mute, Lang::Fr) => "Silence de 15 minutes",
            (SanctionKind::Mute, Lang::En) => "Muted for 15 minutes",
            (SanctionKind::Timeout, Lang::Fr) => "Exclusion temporaire",
            (SanctionKind::Timeout, Lang::En) => "Time-out",
            (SanctionKind::Ban, Lang::Fr) => "Bannissement",
            (SanctionKind::Ban, Lang::En) => "Ban",
            (SanctionKind::ShadowMute, Lang::Fr) => "Visibilité restreinte",
            (SanctionKind::ShadowMute, Lang::En) => "Visibility restricted",
        }
    }
}

/// The closed set of reasons, each tied to a rule of the charter.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    MinorSafety,
    AmbushOrThreat,
    SexualContent,
    HarassmentOrHate,
    IllegalSale,
    Spam,
    PersonalData,
    Other,
}

impl Reason {
    pub const ALL: [Reason; 8] = [
        Reason::MinorSafety,
        Reason::AmbushOrThreat,
        Reason::SexualContent,
        Reason::HarassmentOrHate,
        Reason::IllegalSale,
        Reason::Spam,
        Reason::PersonalData,
        Reason::Other,
    ];

    pub fn parse(text: &str) -> Option<Reason> {
        Reason::ALL.into_iter().find(|r| r.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Reason::MinorSafety => "minor_safety",
            Reason::AmbushOrThreat => "ambush_or_threat",
            Reason::SexualContent => "sexual_content",
            Reason::HarassmentOrHate => "harassment_or_hate",
            Reason::IllegalSale => "illegal_sale",
            Reason::Spam => "spam",
            Reason::PersonalData => "personal_data",
            Reason::Other => "other",
        }
    }

    /// The charter rule, as the statement of reasons quotes it.
    pub fn rule(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Reason::MinorSafety, Lang::Fr) => {
                "Charte, règle 1 : Papote est réservé aux adultes ; aucun contenu ni contact mettant en danger un mineur."
            }
            (Reason::MinorSafety, Lang::En) => {
                "Charter, rule 1: Papote is for adults; no content or contact that puts a minor at risk."
            }
            (Reason::AmbushOrThreat, Lang::Fr) => "Charte, règle 2 : ni menace, ni guet-apens, ni violence.",
            (Reason::AmbushOrThreat, Lang::En) => "Charter, rule 2: no threats, no ambushes, no violence.",
            (Reason::SexualContent, Lang::Fr) => {
                "Charte, règle 3 : pas de contenu sexuel dans les salons publics, pas de pornographie."
            }
            (Reason::SexualContent, Lang::En) => "Charter, rule 3: no sexual content in public rooms, no pornography.",
            (Reason::HarassmentOrHate, Lang::Fr) => "Charte, règle 4 : ni harcèlement, ni propos haineux.",
            (Reason::HarassmentOrHate, Lang::En) => "Charter, rule 4: no harassment, no hate.",
            (Reason::IllegalSale, Lang::Fr) => "Charte, règle 5 : aucune vente illégale (drogues, sexe tarifé, armes).",
            (Reason::IllegalSale, Lang::En) => "Charter, rule 5: no illegal sales (drugs, paid sex, weapons).",
            (Reason::Spam, Lang::Fr) => "Charte, règle 6 : pas de spam ni de publicité.",
            (Reason::Spam, Lang::En) => "Charter, rule 6: no spam, no advertising.",
            (Reason::PersonalData, Lang::Fr) => "Charte, règle 7 : ne publiez pas les coordonnées d'autrui.",
            (Reason::PersonalData, Lang::En) => "Charter, rule 7: do not publish other people's details.",
            (Reason::Other, Lang::Fr) => "Charte de Papote.",
            (Reason::Other, Lang::En) => "Papote's charter.",
        }
    }

    pub fn label(self, lang: Lang) -> &'static str {
        match (self, lang) {
            (Reason::MinorSafety, Lang::Fr) => "Protection des mineurs",
            (Reason::MinorSafety, Lang::En) => "Protection of minors",
            (Reason::AmbushOrThreat, Lang::Fr) => "Guet-apens ou menace",
            (Reason::AmbushOrThreat, Lang::En) => "Ambush or threat",
            (Reason::SexualContent, Lang::Fr) => "Contenu sexuel",
            (Reason::SexualContent, Lang::En) => "Sexual content",
            (Reason::HarassmentOrHate, Lang::Fr) => "Harcèlement ou haine",
            (Reason::HarassmentOrHate, Lang::En) => "Harassment or hate",
            (Reason::IllegalSale, Lang::Fr) => "Vente illégale",
            (Reason::IllegalSale, Lang::En) => "Illegal sale",
            (Reason::Spam, Lang::Fr) => "Spam",
            (Reason::Spam, Lang::En) => "Spam",
            (Reason::PersonalData, Lang::Fr) => "Données personnelles",
            (Reason::PersonalData, Lang::En) => "Personal data",
            (Reason::Other, Lang::Fr) => "Autre",
            (Reason::Other, Lang::En) => "Other",
        }
    }
}

/// Longest time-out.
pub const TIMEOUT_MAX: Duration = Duration::from_secs(28 * 24 * 3600);
pub const MUTE: Duration = Duration::from_secs(15 * 60);
/// Panic mode switches itself off after this long.
pub const PANIC_MAX: Duration = Duration::from_secs(180 * 60);

/// A statement of reasons (DSA art. 17), as stored and as sent to the member.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Statement {
    pub sanction_id: i64,
    pub kind: SanctionKind,
    pub kind_label: String,
    pub reason: Reason,
    pub reason_label: String,
    pub rule: String,
    /// What was found, in the moderator's words.
    pub facts: String,
    pub decided_at: i64,
    /// `None`: permanent (bans) or instantaneous (warnings, deletions).
    pub until: Option<i64>,
    pub automated: bool,
    pub appeal_code: String,
    pub appeal_url: String,
    pub how_to_appeal: String,
}

#[derive(Clone, Debug)]
pub struct SanctionRequest {
    pub case_id: Option<i64>,
    pub member_id: String,
    pub kind: SanctionKind,
    pub reason: Reason,
    pub facts: String,
    /// Time-outs and temporary bans.
    pub duration: Option<Duration>,
    /// Bans: also lock the network address (IPv4 /32, IPv6 /64), not only the device and nickname.
    pub include_network: bool,
    /// Messages to delete (ids), with `Delete`.
    pub message_ids: Vec<u64>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ModError {
    #[error("not found")]
    NotFound,
    #[error("invalid: {0}")]
    Invalid(&'static str),
    #[error("not allowed: {0}")]
    Forbidden(&'static str),
    #[error("already done")]
    Conflict,
    #[error("storage failed")]
    Storage,
}

impl From<StoreError> for ModError {
    fn from(error: StoreError) -> ModError {
        match error {
            StoreError::NotFound => ModError::NotFound,
            StoreError::Conflict => ModError::Conflict,
            other => {
                tracing::error!(error = %other, "moderation storage failed");
                ModError::Storage
            }
        }
    }
}

/// Roles, from the `moderators.role` column.
pub fn can_moderate(moderator: &ModeratorRow) -> bool {
    matches!(moderator.role.as_str(), "moderator" | "admin")
}

pub fn can_administer(moderator: &ModeratorRow) -> bool {
    moderator.role == "admin"
}

pub fn can_export(moderator: &ModeratorRow) -> bool {
    matches!(moderator.role.as_str(), "admin" | "legal")
}

/// A human-friendly appeal code: 12 characters without look-alikes, grouped by four.
pub fn new_appeal_code() -> String {
    use rand::Rng;
    const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    let chars: Vec<char> = (0..12).map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char).collect();
    chars.chunks(4).map(|c| c.iter().collect::<String>()).collect::<Vec<_>>().join("-")
}

pub fn normalize_appeal_code(text: &str) -> String {
    let clean: String = text.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_uppercase()).collect();
    clean.as_bytes().chunks(4).map(|c| String::from_utf8_lossy(c).into_owned()).collect::<Vec<_>>().join("-")
}

pub struct Moderation {
    store: Arc<dyn Store>,
    hub: Arc<Hub>,
    gate: Arc<Gate>,
}

fn audit(moderator: &ModeratorRow, action: &str, target: &str, reason: &str, details: serde_json::Value) -> AuditEntry {
    AuditEntry {
        at: now_ms(),
        moderator_id: Some(moderator.id),
        moderator: moderator.name.clone(),
        action: action.to_owned(),
        target: target.to_owned(),
        reason: reason.to_owned(),
        details: details.to_string(),
    }
}

impl Moderation {
    pub fn new(store: Arc<dyn Store>, hub: Arc<Hub>, gate: Arc<Gate>) -> Moderation {
        Moderation { store, hub, gate }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// Decides, stores (sanction + locks + case + audit, one transaction), then applies to the
    /// live session and sends the statement of reasons.
    pub async fn sanction(&self, moderator: &ModeratorRow, request: SanctionRequest) -> Result<Statement, ModError> {
        if !can_moderate(moderator) {
            return Err(ModError::Forbidden("role"));
        }
        let facts = request.facts.trim();
        if facts.is_empty() || facts.chars().count() > 2000 {
            return Err(ModError::Invalid("facts"));
        }
        let now = now_ms();
        let duration = match request.kind {
            SanctionKind::Mute => Some(MUTE),
            SanctionKind::Timeout => Some(request.duration.ok_or(ModError::Invalid("duration"))?.min(TIMEOUT_MAX)),
            SanctionKind::Ban | SanctionKind::ShadowMute => request.duration,
            SanctionKind::Warn | SanctionKind::Delete => None,
        };
        if duration.is_some_and(|d| d.is_zero()) {
            return Err(ModError::Invalid("duration"));
        }
        let until = duration.map(|d| now.saturating_add(d.as_millis() as i64));
        let entry = self.store.entry_of(&request.member_id).await?.ok_or(ModError::NotFound)?;
        let member = MemberId::parse(&request.member_id).ok_or(ModError::NotFound)?;
        let session = self.hub.session(member);
        let lang = session.as_ref().map(|s| s.lang).unwrap_or_default();

        let mut locks = Vec::new();
        if matches!(request.kind, SanctionKind::Ban | SanctionKind::Timeout) {
            locks.push(("device".to_owned(), entry.device_key.clone()));
            locks.push(("network".to_owned(), entry.network_key.clone()));
        }
        if request.kind == SanctionKind::Ban {
            locks.push(("nickname".to_owned(), self.gate.nickname_key(&entry.skeleton)));
            if request.include_network
                && let Ok(ip) = entry.ip.parse()
            {
                locks.push(("ip".to_owned(), self.gate.ip_key(ip)));
            }
        }
        let appeal_code = new_appeal_code();
        let mut statement = Statement {
            sanction_id: 0,
            kind: request.kind,
            kind_label: request.kind.label(lang).to_owned(),
            reason: request.reason,
            reason_label: request.reason.label(lang).to_owned(),
            rule: request.reason.rule(lang).to_owned(),
            facts: facts.to_owned(),
            decided_at: now,
            until,
            automated: false,
            appeal_url: format!("/appel?code={appeal_code}"),
            how_to_appeal: match lang {
                Lang::Fr => format!(
                    "Vous pouvez contester cette décision sur /appel avec le code {appeal_code}, même après avoir quitté Papote. Un autre modérateur examinera votre recours."
                ),
                Lang::En => format!(
                    "You can appeal this decision at /appel with the code {appeal_code}, even after leaving Papote. Another moderator will review your appeal."
                ),
            },
            appeal_code: appeal_code.clone(),
        };
        let new = NewSanction {
            created_at: now,
            member_id: request.member_id.clone(),
            nickname: entry.nickname.clone(),
            kind: request.kind.as_str().to_owned(),
            reason: request.reason.as_str().to_owned(),
            category: request.reason.as_str().to_owned(),
            facts: facts.to_owned(),
            expires_at: until.filter(|_| request.kind != SanctionKind::Warn),
            moderator_id: Some(moderator.id),
            case_id: request.case_id,
            appeal_code,
            statement: serde_json::to_string(&statement).unwrap_or_default(),
            locks,
        };
        let record = audit(
            moderator,
            request.kind.as_str(),
            &request.member_id,
            request.reason.as_str(),
            serde_json::json!({"case": request.case_id, "until": until, "facts": facts, "network": request.include_network, "messages": request.message_ids}),
        );
        let id = self.store.apply_sanction(&new, &record).await?;
        crate::telemetry::sanction(request.kind.as_str());
        statement.sanction_id = id;
        self.hub.apply_sanction(member, &statement, &request.message_ids).await;
        Ok(statement)
    }

    /// Closes a case without action.
    pub async fn dismiss(&self, moderator: &ModeratorRow, case_id: i64, note: &str) -> Result<(), ModError> {
        if !can_moderate(moderator) {
            return Err(ModError::Forbidden("role"));
        }
        let record =
            audit(moderator, "dismiss", &format!("case:{case_id}"), "dismissed", serde_json::json!({"note": note}));
        self.store.decide_case(case_id, "dismissed", moderator.id, note, &record).await?;
        Ok(())
    }

    /// DSA art. 18: a threat to life or safety goes to the authorities. Marks the case and returns
    /// the evidence package (the case, its evidence, the member's entry and connection data,
    /// their history), which the console offers as a JSON download.
    pub async fn escalate(
        &self,
        moderator: &ModeratorRow,
        case_id: i64,
        note: &str,
    ) -> Result<serde_json::Value, ModError> {
        if !can_moderate(moderator) && !can_export(moderator) {
            return Err(ModError::Forbidden("role"));
        }
        let package = self.evidence_package(case_id).await?;
        let record =
            audit(moderator, "escalate", &format!("case:{case_id}"), "dsa_art_18", serde_json::json!({"note": note}));
        self.store.decide_case(case_id, "escalated", moderator.id, note, &record).await?;
        Ok(package)
    }

    pub async fn evidence_package(&self, case_id: i64) -> Result<serde_json::Value, ModError> {
        let case = self.store.case(case_id).await?.ok_or(ModError::NotFound)?;
        let entry = self.store.entry_of(&case.member_id).await?;
        let connections = self.store.connections_of(&case.member_id).await?;
        let cases = self.store.cases_of(&case.member_id).await?;
        let sanctions = self.store.sanctions_of(&case.member_id).await?;
        let evidence: serde_json::Value = serde_json::from_str(&case.evidence).unwrap_or(serde_json::Value::Null);
        Ok(serde_json::json!({
            "generated_at": now_ms(),
            "legal_basis": "Regulation (EU) 2022/2065 (DSA), article 18",
            "case": case,
            "evidence": evidence,
            "entry": entry,
            "connections": connections,
            "history": {"cases": cases, "sanctions": sanctions},
        }))
    }

    /// A member (or anyone holding the code) contests a sanction (DSA art. 20).
    pub async fn file_appeal(&self, code: &str, text: &str) -> Result<(SanctionRow, i64), ModError> {
        let text = text.trim();
        if text.is_empty() || text.chars().count() > 2000 {
            return Err(ModError::Invalid("text"));
        }
        let sanction = self.store.sanction_by_code(&normalize_appeal_code(code)).await?.ok_or(ModError::NotFound)?;
        if sanction.status != "active" {
            return Err(ModError::Conflict);
        }
        let id = self.store.insert_appeal(sanction.id, text, now_ms()).await?;
        Ok((sanction, id))
    }

    /// Decides an appeal. The moderator who made the decision under appeal may not decide it.
    pub async fn decide_appeal(
        &self,
        moderator: &ModeratorRow,
        appeal_id: i64,
        overturn: bool,
        note: &str,
    ) -> Result<(), ModError> {
        if !can_moderate(moderator) {
            return Err(ModError::Forbidden("role"));
        }
        let appeal = self.store.appeal(appeal_id).await?.ok_or(ModError::NotFound)?;
        let sanction = self.store.sanction(appeal.sanction_id).await?.ok_or(ModError::NotFound)?;
        if sanction.moderator_id == Some(moderator.id) {
            return Err(ModError::Forbidden("own_decision"));
        }
        if appeal.status != "open" {
            return Err(ModError::Conflict);
        }
        let action = if overturn { "appeal_overturn" } else { "appeal_uphold" };
        let record = audit(
            moderator,
            action,
            &format!("sanction:{}", sanction.id),
            "dsa_art_20",
            serde_json::json!({"appeal": appeal_id, "note": note}),
        );
        self.store.decide_appeal(appeal_id, moderator.id, overturn, note, &record).await?;
        if overturn && let Some(member) = MemberId::parse(&sanction.member_id) {
            self.hub.lift_sanction(member, &sanction.kind);
        }
        Ok(())
    }

    /// Panic mode: only sessions older than `min_minutes` may post; ends by itself.
    pub async fn set_panic(&self, moderator: &ModeratorRow, on: bool, min_minutes: u64) -> Result<(), ModError> {
        if !can_moderate(moderator) {
            return Err(ModError::Forbidden("role"));
        }
        let until = if on { Some(now_ms() + PANIC_MAX.as_millis() as i64) } else { None };
        let value = serde_json::json!({"until": until, "min_minutes": min_minutes}).to_string();
        self.store.set_setting("panic", &value).await?;
        let record = audit(
            moderator,
            if on { "panic_on" } else { "panic_off" },
            "site",
            "raid",
            serde_json::json!({"min_minutes": min_minutes, "until": until}),
        );
        self.store.append_audit(&record).await?;
        self.hub.set_panic(until.map(|u| (u, Duration::from_secs(min_minutes * 60))));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn appeal_codes_are_readable_and_normalise() {
        let code = new_appeal_code();
        assert_eq!(code.len(), 14);
        assert_eq!(code.matches('-').count(), 2);
        assert!(!code.contains('O') && !code.contains('0') && !code.contains('I') && !code.contains('1'));
        assert_eq!(normalize_appeal_code(&code.to_lowercase().replace('-', " ")), code);
        assert_eq!(normalize_appeal_code(" abcd-efgh-jkmn "), "ABCD-EFGH-JKMN");
    }

    #[test]
    fn kinds_and_reasons_round_trip() {
        for kind in ["warn", "delete", "mute", "timeout", "ban", "shadow_mute"] {
            assert_eq!(SanctionKind::parse(kind).map(SanctionKind::as_str), Some(kind));
        }
        for reason in Reason::ALL {
            assert_eq!(Reason::parse(reason.as_str()), Some(reason));
            assert_ne!(reason.rule(Lang::Fr), reason.rule(Lang::En));
        }
        assert_eq!(SanctionKind::parse("flog"), None);
    }
}
