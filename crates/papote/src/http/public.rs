//! Public pages rendered by the server: the transparency report and the appeal form.

use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;

use askama::Template;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};
use serde::Deserialize;

use super::AppState;
use crate::clock::{format_utc, now_ms};
use crate::moderation::{ModError, SanctionKind, Statement, normalize_appeal_code};

pub fn routes() -> Router<AppState> {
    Router::new().route("/transparence", get(transparency)).route("/appel", get(appeal_form).post(appeal))
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

#[derive(Template)]
#[template(path = "transparence.html")]
struct TransparencyPage {
    generated: String,
    total_cases: i64,
    automated: i64,
    reports: i64,
    median_delay: String,
    by_category: Vec<(String, i64, i64)>,
    by_action: Vec<(String, i64, i64)>,
    dismissed: i64,
    escalated: i64,
    open: i64,
    appeals_total: i64,
    appeals_overturned: i64,
    appeals_upheld: i64,
    appeals_open: i64,
}

fn category_label(category: &str) -> String {
    let label = match category {
        "minor_claim" | "minor_in_danger" => "Protection des mineurs",
        "threat" | "ambush_or_threat" => "Menace ou guet-apens",
        "sexual" | "sexual_content" => "Contenu sexuel",
        "drugs" => "Drogues",
        "paid_sex" => "Sexe tarifé",
        "illegal_sale" => "Vente illégale",
        "hate" | "harassment_or_hate" => "Haine ou harcèlement",
        "contact" => "Coordonnées",
        "meeting" => "Rencontre",
        "image_request" => "Demande d'images",
        "spam" => "Spam",
        _ => "Autre",
    };
    label.to_owned()
}

fn human_delay(ms: i64) -> String {
    let minutes = ms / 60_000;
    match minutes {
        0 => "< 1 min".to_owned(),
        1..=119 => format!("{minutes} min"),
        _ => format!("{} h", minutes / 60),
    }
}

async fn transparency(State(state): State<AppState>) -> Response {
    let stats = match state.moderation.store().transparency().await {
        Ok(stats) => stats,
        Err(_) => return StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    };
    let mut by_category: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    let (mut automated, mut reports) = (0, 0);
    for (source, categories, count) in &stats.cases_by_category {
        let categories: Vec<String> = serde_json::from_str(categories).unwrap_or_default();
        // A case counts once, under its first (most specific) category.
        let label = category_label(categories.first().map(String::as_str).unwrap_or("other"));
        let slot = by_category.entry(label).or_default();
        if source == "auto" {
            slot.0 += count;
            automated += count;
        } else {
            slot.1 += count;
            reports += count;
        }
    }
    let mut by_action: BTreeMap<String, (i64, i64)> = BTreeMap::new();
    for (kind, automated_decision, count) in &stats.sanctions_by_kind {
        let label = SanctionKind::parse(kind).map(|k| k.label(crate::i18n::Lang::Fr)).unwrap_or("?").to_owned();
        let slot = by_action.entry(label).or_default();
        if *automated_decision {
            slot.1 += count;
        } else {
            slot.0 += count;
        }
    }
    by_action.entry("Message retenu avant publication".to_owned()).or_default().1 += stats.automated_holds;
    let status = |s: &str| stats.cases_by_status.iter().filter(|(k, _)| k == s).map(|(_, n)| n).sum::<i64>();
    let appeals = |s: &str| stats.appeals_by_status.iter().filter(|(k, _)| k == s).map(|(_, n)| n).sum::<i64>();
    let delays = &stats.report_decision_delays;
    let median_delay = if delays.is_empty() { "—".to_owned() } else { human_delay(delays[delays.len() / 2]) };
    render(&TransparencyPage {
        generated: format_utc(now_ms()),
        total_cases: automated + reports,
        automated,
        reports,
        median_delay,
        by_category: by_category.into_iter().map(|(k, (a, r))| (k, a, r)).collect(),
        by_action: by_action.into_iter().map(|(k, (h, a))| (k, h, a)).collect(),
        dismissed: status("dismissed"),
        escalated: status("escalated"),
        open: status("open"),
        appeals_total: stats.appeals_by_status.iter().map(|(_, n)| n).sum(),
        appeals_overturned: appeals("overturned"),
        appeals_upheld: appeals("upheld"),
        appeals_open: appeals("open"),
    })
}

#[derive(Template)]
#[template(path = "appel.html")]
struct AppealPage {
    code: String,
    message: String,
    error: bool,
    statement: Option<Statement>,
    decided: String,
    until: String,
    status: String,
    appeal_status: String,
}

async fn appeal_page(state: &AppState, code: &str, message: String, error: bool) -> Response {
    let mut page = AppealPage {
        code: code.to_owned(),
        message,
        error,
        statement: None,
        decided: String::new(),
        until: String::new(),
        status: String::new(),
        appeal_status: String::new(),
    };
    if !code.is_empty() {
        let store = state.moderation.store();
        match store.sanction_by_code(&normalize_appeal_code(code)).await {
            Ok(Some(sanction)) => {
                page.statement = serde_json::from_str(&sanction.statement).ok();
                page.decided = format_utc(sanction.created_at);
                page.until = match sanction.expires_at {
                    Some(until) => format!("jusqu'au {}", format_utc(until)),
                    None if matches!(sanction.kind.as_str(), "ban") => "définitif".to_owned(),
                    None => "sans durée".to_owned(),
                };
                page.status = if sanction.status == "active" { "en vigueur" } else { "annulée" }.to_owned();
                if let Some(last) = store.appeals_of(sanction.id).await.unwrap_or_default().last() {
                    page.appeal_status = match last.status.as_str() {
                        "open" => format!("reçu le {}, en cours d'examen.", format_utc(last.created_at)),
                        "overturned" => {
                            format!("accepté : la sanction est annulée. {}", last.decision.clone().unwrap_or_default())
                        }
                        _ => format!(
                            "examiné : la sanction est maintenue. {}",
                            last.decision.clone().unwrap_or_default()
                        ),
                    };
                }
            }
            Ok(None) if page.message.is_empty() => {
                page.message = "Code inconnu : vérifiez-le (il figure dans l'exposé des motifs).".to_owned();
                page.error = true;
            }
            _ => {}
        }
    }
    render(&page)
}

async fn appeal_form(State(state): State<AppState>, Query(query): Query<HashMap<String, String>>) -> Response {
    let code = query.get("code").map(|c| c.chars().take(20).collect::<String>()).unwrap_or_default();
    appeal_page(&state, &code, String::new(), false).await
}

#[derive(Deserialize)]
struct AppealForm {
    code: String,
    text: String,
}

async fn appeal(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Form(form): Form<AppealForm>,
) -> Response {
    let code: String = form.code.chars().take(20).collect();
    if state.console_limiter.check_key(&peer.ip()).is_err() {
        return (
            StatusCode::TOO_MANY_REQUESTS,
            appeal_page(&state, &code, "Trop de tentatives : attendez une minute.".into(), true).await,
        )
            .into_response();
    }
    let (status, message, error) = match state.moderation.file_appeal(&code, &form.text).await {
        Ok(_) => (StatusCode::OK, "Recours enregistré. Un autre modérateur l'examinera ; revenez sur cette page avec votre code pour voir la réponse.".to_owned(), false),
        Err(ModError::NotFound) => (StatusCode::NOT_FOUND, "Code inconnu : vérifiez-le.".to_owned(), true),
        Err(ModError::Conflict) => (StatusCode::CONFLICT, "Un recours est déjà en cours pour cette décision, ou elle a été annulée.".to_owned(), true),
        Err(ModError::Invalid(_)) => (StatusCode::BAD_REQUEST, "Expliquez en quelques mots (2 000 caractères au plus).".to_owned(), true),
        Err(_) => (StatusCode::INTERNAL_SERVER_ERROR, "Erreur : réessayez.".to_owned(), true),
    };
    (status, appeal_page(&state, &code, message, error).await).into_response()
}
