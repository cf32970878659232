//! The moderation console (`/mod`), server-rendered: login with CSRF and lockout, the queue, the
//! case view with its actions, appeals, the audit log, panic mode, trusted flaggers' notices.

use std::net::SocketAddr;
use std::time::Duration;

use askama::Template;
use axum::Form;
use axum::Router;
use axum::extract::{ConnectInfo, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum_extra::extract::cookie::{Cookie, PrivateCookieJar, SameSite};
use serde::Deserialize;

use super::AppState;
use crate::clock::{ago, format_utc, now_ms};
use crate::entry::random_token;
use crate::moderation::accounts::{self, AccountError, token_hash};
use crate::moderation::{ModError, Reason, SanctionKind, SanctionRequest, can_administer, can_export};
use crate::protocol::{MemberId, ReportCategory};
use crate::store::{CaseRow, ModeratorRow, NewReport, verify_audit_chain};

const MOD_COOKIE: &str = "papote_mod";
const LOGIN_CSRF_COOKIE: &str = "papote_mod_login";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/mod", get(queue))
        .route("/mod/login", get(login_form).post(login))
        .route("/mod/logout", post(logout))
        .route("/mod/case/{id}", get(case_view).post(case_action))
        .route("/mod/case/{id}/export", get(case_export))
        .route("/mod/appeals", get(appeals))
        .route("/mod/appeals/{id}", post(decide_appeal))
        .route("/mod/audit", get(audit))
        .route("/mod/panic", post(panic))
        .route("/mod/notice", get(notice_form).post(notice))
}

/// The logged-in moderator of a request.
struct Moderator {
    row: ModeratorRow,
    csrf: String,
}

fn render(template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => Html(html).into_response(),
        Err(error) => {
            tracing::error!(%error, "template failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn constant_time_eq(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

async fn current(state: &AppState, jar: &PrivateCookieJar) -> Option<Moderator> {
    let token = jar.get(MOD_COOKIE)?;
    match state.moderation.store().moderator_session(&token_hash(token.value()), now_ms()).await {
        Ok(Some((row, csrf))) => Some(Moderator { row, csrf }),
        Ok(None) => None,
        Err(error) => {
            tracing::error!(%error, "moderator session lookup failed");
            None
        }
    }
}

/// The moderator, or a redirect to the login page.
async fn require(state: &AppState, jar: &PrivateCookieJar) -> Result<Moderator, Response> {
    current(state, jar).await.ok_or_else(|| Redirect::to("/mod/login").into_response())
}

/// The moderator, after checking the form's CSRF token.
async fn require_post(state: &AppState, jar: &PrivateCookieJar, csrf: &str) -> Result<Moderator, Response> {
    let moderator = require(state, jar).await?;
    if !constant_time_eq(&moderator.csrf, csrf) {
        return Err((StatusCode::FORBIDDEN, "Jeton CSRF invalide : rechargez la page.").into_response());
    }
    Ok(moderator)
}

struct Nav {
    name: String,
    role: String,
    csrf: String,
    open_cases: usize,
    open_appeals: usize,
    can_audit: bool,
    can_flag: bool,
    can_export: bool,
    panic_on: bool,
    panic_until: String,
}

async fn nav(state: &AppState, moderator: &Moderator) -> Nav {
    let store = state.moderation.store();
    let panic = state.hub.panic();
    Nav {
        name: moderator.row.name.clone(),
        role: moderator.row.role.clone(),
        csrf: moderator.csrf.clone(),
        open_cases: store.open_cases(1000).await.map(|c| c.len()).unwrap_or(0),
        open_appeals: store.open_appeals().await.map(|a| a.len()).unwrap_or(0),
        can_audit: can_administer(&moderator.row) || moderator.row.role == "legal",
        can_flag: moderator.row.role == "trusted-flagger" || can_administer(&moderator.row),
        can_export: can_export(&moderator.row),
        panic_on: panic.is_some(),
        panic_until: panic.map(|(until, _)| format_utc(until)).unwrap_or_default(),
    }
}

fn severity_label(severity: i64) -> &'static str {
    match severity {
        0 => "Mineur en danger",
        1 => "Guet-apens / menace",
        2 => "Contenu sexuel",
        3 => "Vente illégale",
        4 => "Harcèlement / haine",
        5 => "Spam",
        _ => "Autre",
    }
}

fn source_label(case: &CaseRow) -> &'static str {
    if case.source == "auto" { "détection auto" } else { "signalement" }
}

fn categories_text(json: &str) -> String {
    serde_json::from_str::<Vec<String>>(json)
        .map(|v| v.iter().map(|c| category_label(c)).collect::<Vec<_>>().join(", "))
        .unwrap_or_default()
}

/// Categories as moderators read them (safety-engine categories and report categories).
fn category_label(category: &str) -> &str {
    match category {
        "minor_claim" => "se dit mineur",
        "minor_in_danger" => "mineur en danger",
        "meeting" => "rencontre",
        "contact" => "coordonnées",
        "image_request" => "demande d'images",
        "sexual" | "sexual_content" => "sexuel",
        "drugs" => "drogues",
        "paid_sex" => "sexe tarifé",
        "hate" => "haine",
        "harassment_or_hate" => "harcèlement ou haine",
        "threat" => "menace",
        "ambush_or_threat" => "guet-apens ou menace",
        "illegal_sale" => "vente illégale",
        "spam" => "spam",
        "other" => "autre",
        other => other,
    }
}

fn status_label(status: &str) -> &str {
    match status {
        "open" => "ouvert",
        "dismissed" => "classé sans suite",
        "actioned" => "sanctionné",
        "escalated" => "transmis aux autorités",
        other => other,
    }
}

// ----- Login ---------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "mod_login.html")]
struct LoginPage {
    csrf: String,
    error: String,
}

async fn login_form(State(state): State<AppState>, jar: PrivateCookieJar) -> Response {
    if current(&state, &jar).await.is_some() {
        return Redirect::to("/mod").into_response();
    }
    login_page(jar, "")
}

fn login_page(jar: PrivateCookieJar, error: &str) -> Response {
    let csrf = random_token();
    let cookie = Cookie::build((LOGIN_CSRF_COOKIE, csrf.clone()))
        .path("/mod")
        .http_only(true)
        .same_site(SameSite::Strict)
        .max_age(cookie::time::Duration::minutes(30))
        .build();
    let status = if error.is_empty() { StatusCode::OK } else { StatusCode::UNAUTHORIZED };
    (status, jar.add(cookie), render(&LoginPage { csrf, error: error.to_owned() })).into_response()
}

#[derive(Deserialize)]
struct LoginForm {
    name: String,
    password: String,
    csrf: String,
}

async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    jar: PrivateCookieJar,
    Form(form): Form<LoginForm>,
) -> Response {
    let expected = jar.get(LOGIN_CSRF_COOKIE).map(|c| c.value().to_owned()).unwrap_or_default();
    if expected.is_empty() || !constant_time_eq(&expected, &form.csrf) {
        return login_page(jar, "Le formulaire a expiré : réessayez.");
    }
    if state.console_limiter.check_key(&peer.ip()).is_err() {
        return login_page(jar, "Trop de tentatives depuis cette adresse : attendez une minute.");
    }
    match accounts::login(state.moderation.store().as_ref(), form.name.trim(), &form.password).await {
        Ok(session) => {
            let cookie = Cookie::build((MOD_COOKIE, session.token))
                .path("/")
                .http_only(true)
                .same_site(SameSite::Strict)
                .secure(state.config.secure_cookies)
                .build();
            let jar = jar.remove(Cookie::build(LOGIN_CSRF_COOKIE).path("/mod")).add(cookie);
            (jar, Redirect::to("/mod")).into_response()
        }
        Err(AccountError::Locked) => {
            login_page(jar, "Compte verrouillé après trop d'échecs : réessayez dans 15 minutes.")
        }
        Err(AccountError::Storage) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Err(_) => login_page(jar, "Identifiant ou mot de passe incorrect."),
    }
}

#[derive(Deserialize)]
struct CsrfForm {
    csrf: String,
}

async fn logout(State(state): State<AppState>, jar: PrivateCookieJar, Form(form): Form<CsrfForm>) -> Response {
    let moderator = match require_post(&state, &jar, &form.csrf).await {
        Ok(m) => m,
        Err(response) => return response,
    };
    if let Some(token) = jar.get(MOD_COOKIE) {
        let _ = state.moderation.store().delete_moderator_session(&token_hash(token.value())).await;
    }
    tracing::info!(moderator = %moderator.row.name, "moderator logged out");
    (jar.remove(Cookie::build(MOD_COOKIE).path("/")), Redirect::to("/mod/login")).into_response()
}

// ----- Queue -------------------------------------------------------------------------------

struct QueueRow {
    id: i64,
    severity: i64,
    severity_label: &'static str,
    source: &'static str,
    trusted: bool,
    nickname: String,
    excerpt: String,
    categories: String,
    age: String,
}

#[derive(Template)]
#[template(path = "mod_queue.html")]
struct QueuePage {
    nav: Nav,
    page: &'static str,
    cases: Vec<QueueRow>,
    flash: String,
}

#[derive(Deserialize)]
struct QueueQuery {
    done: Option<i64>,
}

async fn queue(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    axum::extract::Query(query): axum::extract::Query<QueueQuery>,
) -> Response {
    let moderator = match require(&state, &jar).await {
        Ok(m) => m,
        Err(response) => return response,
    };
    let now = now_ms();
    let cases = match state.moderation.store().open_cases(200).await {
        Ok(cases) => cases,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let rows = cases
        .iter()
        .map(|c| QueueRow {
            id: c.id,
            severity: c.severity,
            severity_label: severity_label(c.severity),
            source: source_label(c),
            trusted: c.trusted,
            nickname: c.nickname.clone(),
            excerpt: c.text.chars().take(120).collect(),
            categories: categories_text(&c.categories),
            age: ago(c.created_at, now),
        })
        .collect();
    let flash = query.done.map(|id| format!("Décision enregistrée pour le cas {id}.")).unwrap_or_default();
    let page = QueuePage { nav: nav(&state, &moderator).await, page: "queue", cases: rows, flash };
    render(&page)
}

// ----- Case ----------------------------------------------------------------------------------

struct CaseView {
    id: i64,
    severity: i64,
    severity_label: &'static str,
    source: &'static str,
    created: String,
    status: String,
    text: String,
    categories: String,
    rules: String,
    context: String,
    open: bool,
    decision: String,
}

struct EvidenceLine {
    time: String,
    nickname: String,
    text: String,
    highlight: bool,
}

struct MemberView {
    id: String,
    nickname: String,
    online: bool,
    profile: String,
    entered: String,
    show_network: bool,
    ip: String,
    user_agent: String,
}

#[derive(Template)]
#[template(path = "mod_case.html")]
struct CasePage {
    nav: Nav,
    page: &'static str,
    case: CaseView,
    evidence: Vec<EvidenceLine>,
    member: MemberView,
    history: Vec<String>,
    linked: Vec<String>,
    reasons: Vec<(&'static str, &'static str)>,
    default_reason: &'static str,
    default_facts: String,
    comment: String,
    flash: String,
}

fn evidence_lines(evidence: &serde_json::Value, reported_id: Option<u64>, reported_text: &str) -> Vec<EvidenceLine> {
    let Some(recent) = evidence.get("recent").and_then(|r| r.as_array()) else { return Vec::new() };
    recent
        .iter()
        .map(|m| {
            let nickname = m["from"]["nickname"].as_str().or_else(|| m["from"].as_str()).unwrap_or("?").to_owned();
            let text = m["text"].as_str().unwrap_or("").to_owned();
            let id = m["id"].as_u64();
            EvidenceLine {
                time: m["at"].as_i64().map(format_utc).unwrap_or_default(),
                highlight: (reported_id.is_some() && id == reported_id)
                    || (reported_id.is_none() && text == reported_text),
                nickname,
                text,
            }
        })
        .collect()
}

/// The reason a moderator most likely picks for a case's category.
fn default_reason(categories: &str) -> Reason {
    let has = |c: &str| categories.contains(c);
    if has("minor") {
        Reason::MinorSafety
    } else if has("threat") || has("ambush") {
        Reason::AmbushOrThreat
    } else if has("sexual") {
        Reason::SexualContent
    } else if has("drugs") || has("paid_sex") || has("illegal") {
        Reason::IllegalSale
    } else if has("hate") || has("harassment") {
        Reason::HarassmentOrHate
    } else if has("spam") {
        Reason::Spam
    } else {
        Reason::Other
    }
}

async fn case_page(state: &AppState, moderator: &Moderator, id: i64, flash: String) -> Response {
    let store = state.moderation.store();
    let case = match store.case(id).await {
        Ok(Some(case)) => case,
        Ok(None) => return (StatusCode::NOT_FOUND, "Cas introuvable").into_response(),
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let evidence: serde_json::Value = serde_json::from_str(&case.evidence).unwrap_or_default();
    let reported_id = evidence["message"]["id"].as_u64();
    let lines = evidence_lines(&evidence, reported_id, &case.text);
    let entry = store.entry_of(&case.member_id).await.ok().flatten();
    let online = MemberId::parse(&case.member_id).and_then(|id| state.hub.session(id)).is_some();
    let show_network = can_export(&moderator.row);
    let member = MemberView {
        id: case.member_id.clone(),
        nickname: case.nickname.clone(),
        online,
        profile: entry.as_ref().map(|e| format!("{}, {} ans, {}", e.gender, e.age, e.city)).unwrap_or_default(),
        entered: entry.as_ref().map(|e| format_utc(e.entered_at)).unwrap_or_default(),
        show_network,
        ip: entry.as_ref().map(|e| e.ip.clone()).unwrap_or_default(),
        user_agent: entry.as_ref().map(|e| e.user_agent.clone()).unwrap_or_default(),
    };
    let mut history = Vec::new();
    for other in store.cases_of(&case.member_id).await.unwrap_or_default().iter().filter(|c| c.id != case.id) {
        history.push(format!(
            "{} · cas {} ({}) · {} · {}",
            format_utc(other.created_at),
            other.id,
            source_label(other),
            categories_text(&other.categories),
            status_label(&other.status)
        ));
    }
    for sanction in store.sanctions_of(&case.member_id).await.unwrap_or_default() {
        history.push(format!(
            "{} · sanction {} : {} ({}) · {}",
            format_utc(sanction.created_at),
            sanction.id,
            sanction.kind,
            sanction.reason,
            sanction.status
        ));
    }
    let linked = store
        .linked_sessions(&case.member_id)
        .await
        .unwrap_or_default()
        .iter()
        .map(|l| format!("{} · {} ({}) · lien : {}", format_utc(l.entered_at), l.nickname, l.member_id, l.link))
        .collect();
    let categories = categories_text(&case.categories);
    let reason = default_reason(&case.categories);
    let page = CasePage {
        nav: nav(state, moderator).await,
        page: "case",
        case: CaseView {
            id: case.id,
            severity: case.severity,
            severity_label: severity_label(case.severity),
            source: source_label(&case),
            created: format_utc(case.created_at),
            status: status_label(&case.status).to_owned(),
            text: case.text.clone(),
            rules: serde_json::from_str::<Vec<String>>(&case.rules).map(|r| r.join(", ")).unwrap_or_default(),
            context: case.context.clone(),
            open: case.status == "open",
            decision: case.decision.clone().unwrap_or_default(),
            categories,
        },
        evidence: lines,
        member,
        history,
        linked,
        reasons: Reason::ALL.iter().map(|r| (r.as_str(), r.label(crate::i18n::Lang::Fr))).collect(),
        default_reason: reason.as_str(),
        default_facts: if case.text.is_empty() { String::new() } else { format!("Message : « {} »", case.text) },
        comment: evidence["comment"].as_str().filter(|c| *c != case.text).unwrap_or_default().to_owned(),
        flash,
    };
    render(&page)
}

async fn case_view(State(state): State<AppState>, jar: PrivateCookieJar, Path(id): Path<i64>) -> Response {
    match require(&state, &jar).await {
        Ok(moderator) => case_page(&state, &moderator, id, String::new()).await,
        Err(response) => response,
    }
}

#[derive(Deserialize)]
struct ActionForm {
    csrf: String,
    action: String,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    facts: String,
    #[serde(default)]
    duration: Option<String>,
    #[serde(default)]
    unit: Option<String>,
    #[serde(default)]
    permanent: Option<String>,
    #[serde(default)]
    network: Option<String>,
}

fn duration_of(form: &ActionForm) -> Option<Duration> {
    let amount: u64 = form.duration.as_deref()?.trim().parse().ok()?;
    let unit = match form.unit.as_deref() {
        Some("minutes") => 60,
        Some("hours") => 3600,
        _ => 86_400,
    };
    Some(Duration::from_secs(amount.saturating_mul(unit)))
}

fn mod_error_text(error: &ModError) -> String {
    match error {
        ModError::NotFound => "Introuvable (le membre n'a pas d'entrée enregistrée ?).".into(),
        ModError::Invalid(field) => format!("Champ invalide : {field}."),
        ModError::Forbidden("own_decision") => {
            "Vous ne pouvez pas juger un recours contre votre propre décision.".into()
        }
        ModError::Forbidden(_) => "Votre rôle ne permet pas cette action.".into(),
        ModError::Conflict => "Déjà traité.".into(),
        ModError::Storage => "Erreur d'enregistrement : rien n'a été appliqué.".into(),
    }
}

async fn case_action(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    Path(id): Path<i64>,
    Form(form): Form<ActionForm>,
) -> Response {
    let moderator = match require_post(&state, &jar, &form.csrf).await {
        Ok(m) => m,
        Err(response) => return response,
    };
    let case = match state.moderation.store().case(id).await {
        Ok(Some(case)) => case,
        Ok(None) => return (StatusCode::NOT_FOUND, "Cas introuvable").into_response(),
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    if case.status != "open" {
        return case_page(&state, &moderator, id, "Ce cas est déjà traité.".into()).await;
    }
    let moderation = &state.moderation;
    let result: Result<String, ModError> = match form.action.as_str() {
        "dismiss" => {
            moderation.dismiss(&moderator.row, id, form.facts.trim()).await.map(|()| "Cas classé sans suite.".into())
        }
        "escalate" => match moderation.escalate(&moderator.row, id, form.facts.trim()).await {
            Ok(package) => return json_download(&package, id),
            Err(error) => Err(error),
        },
        kind => match (SanctionKind::parse(kind), Reason::parse(&form.reason)) {
            (Some(SanctionKind::Delete), Some(_)) if case_message_id(&case).is_none() => {
                Err(ModError::Invalid("message"))
            }
            (Some(kind), Some(reason)) => {
                let message_ids = case_message_id(&case).into_iter().collect();
                let permanent = form.permanent.is_some();
                let request = SanctionRequest {
                    case_id: Some(id),
                    member_id: case.member_id.clone(),
                    kind,
                    reason,
                    facts: form.facts.clone(),
                    duration: if permanent && kind == SanctionKind::Ban { None } else { duration_of(&form) },
                    include_network: form.network.is_some(),
                    message_ids,
                };
                moderation.sanction(&moderator.row, request).await.map(|s| {
                    format!("{} appliqué(e). Code de recours envoyé au membre : {}", s.kind_label, s.appeal_code)
                })
            }
            _ => Err(ModError::Invalid("action")),
        },
    };
    match result {
        // Back to the queue (a fresh GET keeps reloads harmless), saying what was done.
        Ok(_) => Redirect::to(&format!("/mod?done={id}")).into_response(),
        Err(error) => case_page(&state, &moderator, id, mod_error_text(&error)).await,
    }
}

/// The reported message's id, when the case is about one message.
fn case_message_id(case: &CaseRow) -> Option<u64> {
    let evidence: serde_json::Value = serde_json::from_str(&case.evidence).ok()?;
    evidence["message"]["id"].as_u64()
}

fn json_download(value: &serde_json::Value, case_id: i64) -> Response {
    let body = serde_json::to_string_pretty(value).unwrap_or_default();
    let disposition = format!("attachment; filename=\"papote-case-{case_id}.json\"");
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8")),
            (
                header::CONTENT_DISPOSITION,
                HeaderValue::from_str(&disposition).unwrap_or(HeaderValue::from_static("attachment")),
            ),
        ],
        body,
    )
        .into_response()
}

async fn case_export(State(state): State<AppState>, jar: PrivateCookieJar, Path(id): Path<i64>) -> Response {
    let moderator = match require(&state, &jar).await {
        Ok(m) => m,
        Err(response) => return response,
    };
    if !can_export(&moderator.row) {
        return (StatusCode::FORBIDDEN, "Réservé aux rôles admin et legal.").into_response();
    }
    match state.moderation.evidence_package(id).await {
        Ok(package) => {
            let audit = crate::store::AuditEntry {
                at: now_ms(),
                moderator_id: Some(moderator.row.id),
                moderator: moderator.row.name.clone(),
                action: "export".to_owned(),
                target: format!("case:{id}"),
                reason: "evidence_package".to_owned(),
                details: "{}".to_owned(),
            };
            if state.moderation.store().append_audit(&audit).await.is_err() {
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
            json_download(&package, id)
        }
        Err(ModError::NotFound) => StatusCode::NOT_FOUND.into_response(),
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

// ----- Appeals -------------------------------------------------------------------------------

struct AppealView {
    id: i64,
    kind: String,
    nickname: String,
    decided: String,
    decided_by: String,
    reason: String,
    facts: String,
    text: String,
    own: bool,
}

#[derive(Template)]
#[template(path = "mod_appeals.html")]
struct AppealsPage {
    nav: Nav,
    page: &'static str,
    appeals: Vec<AppealView>,
    flash: String,
}

async fn appeals_page(state: &AppState, moderator: &Moderator, flash: String) -> Response {
    let store = state.moderation.store();
    let mut views = Vec::new();
    for appeal in store.open_appeals().await.unwrap_or_default() {
        let Ok(Some(sanction)) = store.sanction(appeal.sanction_id).await else { continue };
        let decided_by = match sanction.moderator_id {
            Some(id) => store.moderator_by_id(id).await.ok().flatten().map(|m| m.name).unwrap_or_default(),
            None => "automatique".to_owned(),
        };
        views.push(AppealView {
            id: appeal.id,
            kind: SanctionKind::parse(&sanction.kind).map(|k| k.label(crate::i18n::Lang::Fr)).unwrap_or("?").to_owned(),
            nickname: sanction.nickname.clone(),
            decided: format_utc(sanction.created_at),
            decided_by,
            reason: Reason::parse(&sanction.reason).map(|r| r.label(crate::i18n::Lang::Fr)).unwrap_or("?").to_owned(),
            facts: sanction.facts.clone(),
            text: appeal.text.clone(),
            own: sanction.moderator_id == Some(moderator.row.id),
        });
    }
    render(&AppealsPage { nav: nav(state, moderator).await, page: "appeals", appeals: views, flash })
}

async fn appeals(State(state): State<AppState>, jar: PrivateCookieJar) -> Response {
    match require(&state, &jar).await {
        Ok(moderator) => appeals_page(&state, &moderator, String::new()).await,
        Err(response) => response,
    }
}

#[derive(Deserialize)]
struct AppealDecisionForm {
    csrf: String,
    outcome: String,
    #[serde(default)]
    note: String,
}

async fn decide_appeal(
    State(state): State<AppState>,
    jar: PrivateCookieJar,
    Path(id): Path<i64>,
    Form(form): Form<AppealDecisionForm>,
) -> Response {
    let moderator = match require_post(&state, &jar, &form.csrf).await {
        Ok(m) => m,
        Err(response) => return response,
    };
    let overturn = form.outcome == "overturn";
    let result = state.moderation.decide_appeal(&moderator.row, id, overturn, form.note.trim()).await;
    let (status, flash) = match result {
        Ok(()) => (StatusCode::OK, if overturn { "Sanction annulée." } else { "Sanction maintenue." }.to_owned()),
        Err(error @ ModError::Forbidden(_)) => (StatusCode::FORBIDDEN, mod_error_text(&error)),
        Err(error) => (StatusCode::BAD_REQUEST, mod_error_text(&error)),
    };
    (status, appeals_page(&state, &moderator, flash).await).into_response()
}

// ----- Audit, panic, notices -----------------------------------------------------------------

struct AuditView {
    id: i64,
    at: String,
    moderator: String,
    action: String,
    target: String,
    reason: String,
    details: String,
    hash: String,
}

#[derive(Template)]
#[template(path = "mod_audit.html")]
struct AuditPage {
    nav: Nav,
    page: &'static str,
    chain_ok: bool,
    broken_at: i64,
    total: usize,
    entries: Vec<AuditView>,
}

async fn audit(State(state): State<AppState>, jar: PrivateCookieJar) -> Response {
    let moderator = match require(&state, &jar).await {
        Ok(m) => m,
        Err(response) => return response,
    };
    if !(can_administer(&moderator.row) || moderator.row.role == "legal") {
        return (StatusCode::FORBIDDEN, "Réservé aux rôles admin et legal.").into_response();
    }
    let store = state.moderation.store();
    let chain = store.audit_chain().await.unwrap_or_default();
    let broken = verify_audit_chain(&chain);
    let entries = chain
        .iter()
        .rev()
        .take(500)
        .map(|row| AuditView {
            id: row.id,
            at: format_utc(row.entry.at),
            moderator: row.entry.moderator.clone(),
            action: row.entry.action.clone(),
            target: row.entry.target.clone(),
            reason: row.entry.reason.clone(),
            details: row.entry.details.chars().take(200).collect(),
            hash: row.hash.chars().take(12).collect(),
        })
        .collect();
    render(&AuditPage {
        nav: nav(&state, &moderator).await,
        page: "audit",
        chain_ok: broken.is_none(),
        broken_at: broken.unwrap_or(0),
        total: chain.len(),
        entries,
    })
}

#[derive(Deserialize)]
struct PanicForm {
    csrf: String,
    on: String,
    #[serde(default)]
    min_minutes: Option<String>,
}

async fn panic(State(state): State<AppState>, jar: PrivateCookieJar, Form(form): Form<PanicForm>) -> Response {
    let moderator = match require_post(&state, &jar, &form.csrf).await {
        Ok(m) => m,
        Err(response) => return response,
    };
    let minutes = form.min_minutes.as_deref().and_then(|m| m.trim().parse::<u64>().ok()).unwrap_or(30).clamp(1, 1440);
    match state.moderation.set_panic(&moderator.row, form.on == "1", minutes).await {
        Ok(()) => Redirect::to("/mod").into_response(),
        Err(error) => (StatusCode::FORBIDDEN, mod_error_text(&error)).into_response(),
    }
}

#[derive(Template)]
#[template(path = "mod_notice.html")]
struct NoticePage {
    nav: Nav,
    page: &'static str,
    categories: Vec<(&'static str, &'static str)>,
    flash: String,
}

const NOTICE_CATEGORIES: [(&str, &str); 7] = [
    ("minor_in_danger", "Mineur en danger"),
    ("ambush_or_threat", "Guet-apens ou menace"),
    ("sexual_content", "Contenu sexuel"),
    ("harassment_or_hate", "Harcèlement ou haine"),
    ("illegal_sale", "Vente illégale"),
    ("spam", "Spam"),
    ("other", "Autre"),
];

async fn notice_form(State(state): State<AppState>, jar: PrivateCookieJar) -> Response {
    match require(&state, &jar).await {
        Ok(moderator) => render(&NoticePage {
            nav: nav(&state, &moderator).await,
            page: "notice",
            categories: NOTICE_CATEGORIES.to_vec(),
            flash: String::new(),
        }),
        Err(response) => response,
    }
}

#[derive(Deserialize)]
struct NoticeForm {
    csrf: String,
    member: String,
    category: String,
    text: String,
}

/// A trusted flagger's notice (DSA art. 22): a report that goes ahead of others of its severity.
async fn notice(State(state): State<AppState>, jar: PrivateCookieJar, Form(form): Form<NoticeForm>) -> Response {
    let moderator = match require_post(&state, &jar, &form.csrf).await {
        Ok(m) => m,
        Err(response) => return response,
    };
    let page =
        |flash: String, nav: Nav| NoticePage { nav, page: "notice", categories: NOTICE_CATEGORIES.to_vec(), flash };
    if !(moderator.row.role == "trusted-flagger" || can_administer(&moderator.row)) {
        return (StatusCode::FORBIDDEN, "Réservé aux signaleurs de confiance.").into_response();
    }
    let category: Option<ReportCategory> = serde_json::from_value(serde_json::json!(form.category)).ok();
    let text = form.text.trim();
    let (Some(category), false) = (category, text.is_empty()) else {
        return render(&page("Catégorie ou description manquante.".into(), nav(&state, &moderator).await));
    };
    let target = form.member.trim();
    let session =
        MemberId::parse(target).and_then(|id| state.hub.session(id)).or_else(|| state.hub.session_by_nickname(target));
    let Some(session) = session else {
        return render(&page(
            "Aucun membre en ligne avec cet identifiant ou ce pseudo.".into(),
            nav(&state, &moderator).await,
        ));
    };
    let report = NewReport {
        created_at: now_ms(),
        reporter_id: format!("flagger:{}", moderator.row.id),
        target_id: session.id.encode(),
        target_nickname: session.profile.nickname.clone(),
        category: category.as_str().to_owned(),
        comment: text.chars().take(2000).collect(),
        text: String::new(),
        room: None,
        message_id: None,
        evidence: serde_json::json!({"notice": text, "member": {"profile": session.profile, "entered_at": session.entered_at_ms}}).to_string(),
        severity: category.severity(),
    };
    let store = state.moderation.store();
    let stored = match store.insert_report(&report).await {
        Ok((_, case_id)) => store.mark_trusted(case_id).await.is_ok(),
        Err(_) => false,
    };
    let flash =
        if stored { "Signalement enregistré, placé en tête de sa catégorie." } else { "Erreur d'enregistrement." };
    render(&page(flash.into(), nav(&state, &moderator).await))
}
