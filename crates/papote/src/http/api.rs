//! JSON endpoints (`/api/...`), the WebSocket upgrade and the health check.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::{ConnectInfo, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use axum_extra::extract::cookie::{Cookie, PrivateCookieJar, SameSite};
use serde_json::json;

use super::{AppState, DEVICE_COOKIE, SESSION_COOKIE, client_address, same_origin};
use crate::entry::communes::{Communes, is_valid_postcode};
use crate::entry::{EntryError, Visitor, random_token};
use crate::i18n::{Lang, text};
use crate::ws;
use crate::ws::socket::Upgrade;

/// Entry bodies are tiny; anything bigger is refused before parsing.
const ENTRY_BODY_MAX: usize = 4 * 1024;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/api/communes", get(communes))
        .route("/api/challenge", get(challenge))
        .route("/api/entry", post(entry).layer(axum::extract::DefaultBodyLimit::max(ENTRY_BODY_MAX)))
        .route("/api/session", get(current_session))
        .route("/api/leave", post(leave))
        .route("/api/rooms", get(rooms))
        .route("/ws", get(websocket))
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(metrics))
}

fn error_body(lang: Lang, error: &EntryError) -> serde_json::Value {
    let mut body = json!({
        "code": error.code,
        "field": error.field,
        "message": text(lang, error.code),
    });
    if let Some(part) = &error.part {
        body["part"] = json!(part);
    }
    body
}

fn errors_response(lang: Lang, errors: &[EntryError]) -> Response {
    let first = errors.first().cloned().unwrap_or_else(EntryError::internal);
    let status = StatusCode::from_u16(first.status).unwrap_or(StatusCode::BAD_REQUEST);
    let all: Vec<_> = errors.iter().map(|e| error_body(lang, e)).collect();
    (status, Json(json!({"error": error_body(lang, &first), "errors": all}))).into_response()
}

fn simple_error(lang: Lang, status: StatusCode, code: &'static str) -> Response {
    let error = EntryError { status: status.as_u16(), code, field: None, part: None };
    errors_response(lang, &[error])
}

async fn communes(headers: HeaderMap, Query(query): Query<HashMap<String, String>>) -> Response {
    let lang = Lang::from_headers(&headers);
    let postcode = query.get("postcode").map(|p| p.trim()).unwrap_or("");
    if !is_valid_postcode(postcode) {
        return errors_response(
            lang,
            &[EntryError { status: 400, code: "invalid_postcode", field: Some("postcode"), part: None }],
        );
    }
    match Communes::get().for_postcode(postcode) {
        None => errors_response(
            lang,
            &[EntryError { status: 404, code: "unknown_postcode", field: Some("postcode"), part: None }],
        ),
        Some(list) => {
            let communes: Vec<_> = list.iter().map(|c| json!({"insee": c.insee, "name": c.name})).collect();
            Json(json!({"postcode": postcode, "communes": communes})).into_response()
        }
    }
}

fn session_cookie(value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, value)).path("/").http_only(true).same_site(SameSite::Lax).secure(secure).build()
}

fn device_cookie(value: String, secure: bool) -> Cookie<'static> {
    Cookie::build((DEVICE_COOKIE, value))
        .path("/")
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(cookie::time::Duration::days(365))
        .build()
}

async fn entry(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: PrivateCookieJar,
    body: Bytes,
) -> Response {
    let lang = Lang::from_headers(&headers);
    if !same_origin(&headers) {
        return simple_error(lang, StatusCode::FORBIDDEN, "bad_request");
    }
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim_start().to_ascii_lowercase().starts_with("application/json"));
    if !is_json {
        return simple_error(lang, StatusCode::UNSUPPORTED_MEDIA_TYPE, "bad_request");
    }
    // Every visitor gets a device cookie, refused or not: that is what the under-18 lock sticks to.
    let secure = state.config.secure_cookies;
    let (jar, device_id) = match jar.get(DEVICE_COOKIE) {
        Some(cookie) => {
            let id = cookie.value().to_owned();
            (jar, id)
        }
        None => {
            let id = random_token();
            (jar.add(device_cookie(id.clone(), secure)), id)
        }
    };
    let Ok(body) = serde_json::from_slice::<serde_json::Value>(&body) else {
        return (jar, simple_error(lang, StatusCode::BAD_REQUEST, "bad_request")).into_response();
    };
    let address = client_address(peer, &headers, state.config.trust_proxy);
    let header_text =
        |name| headers.get(name).and_then(|v: &header::HeaderValue| v.to_str().ok()).unwrap_or("").to_owned();
    let visitor = Visitor {
        ip: address.ip(),
        port: address.port(),
        user_agent: header_text(header::USER_AGENT),
        accept_language: header_text(header::ACCEPT_LANGUAGE),
        device_id,
    };
    let entered = state.gate.enter(&state.hub, &body, &visitor).await;
    crate::telemetry::entry(match &entered {
        Ok(_) => "entered",
        Err(errors) => errors.first().map_or("refused", |e| e.code),
    });
    match entered {
        Ok(session) => {
            let jar = jar.add(session_cookie(session.token.clone(), secure));
            (jar, Json(json!({"member": session.profile}))).into_response()
        }
        Err(errors) => (jar, errors_response(lang, &errors)).into_response(),
    }
}

/// A proof-of-work challenge for the entry form; `{"challenge": null}` when the server does not ask
/// for one.
async fn challenge(State(state): State<AppState>) -> Response {
    let mut response = Json(json!({"challenge": state.gate.challenge()})).into_response();
    response.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    response
}

async fn current_session(State(state): State<AppState>, headers: HeaderMap, jar: PrivateCookieJar) -> Response {
    let lang = Lang::from_headers(&headers);
    let session = jar.get(SESSION_COOKIE).and_then(|c| state.hub.session_by_token(c.value()));
    match session {
        Some(session) => Json(json!({"member": session.profile})).into_response(),
        None => simple_error(lang, StatusCode::UNAUTHORIZED, "no_session"),
    }
}

async fn leave(State(state): State<AppState>, headers: HeaderMap, jar: PrivateCookieJar) -> Response {
    let lang = Lang::from_headers(&headers);
    if !same_origin(&headers) {
        return simple_error(lang, StatusCode::FORBIDDEN, "bad_request");
    }
    if let Some(session) = jar.get(SESSION_COOKIE).and_then(|c| state.hub.session_by_token(c.value())) {
        state.hub.end_session(session.id).await;
    }
    let jar = jar.remove(Cookie::build(SESSION_COOKIE).path("/"));
    (jar, StatusCode::NO_CONTENT).into_response()
}

/// Prometheus metrics, for the operator's scraper on this machine only.
async fn metrics(ConnectInfo(peer): ConnectInfo<SocketAddr>, headers: HeaderMap) -> Response {
    // Loopback only, and never through a reverse proxy on the same host (which connects from
    // loopback on behalf of anyone).
    let proxied = headers.contains_key("x-forwarded-for") || headers.contains_key(header::FORWARDED);
    if !peer.ip().is_loopback() || proxied {
        return StatusCode::NOT_FOUND.into_response();
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], crate::telemetry::render()).into_response()
}

async fn rooms(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let english = Lang::from_headers(&headers) == Lang::En;
    Json(json!({"rooms": state.hub.room_infos(english)})).into_response()
}

async fn websocket(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    jar: PrivateCookieJar,
    Query(query): Query<HashMap<String, String>>,
    upgrade: Upgrade,
) -> Response {
    let lang = match query.get("lang").map(String::as_str) {
        Some(value) => Lang::from_query(Some(value)),
        None => Lang::from_headers(&headers),
    };
    if !same_origin(&headers) {
        return simple_error(lang, StatusCode::FORBIDDEN, "bad_request");
    }
    let token = jar.get(SESSION_COOKIE).map(|c| c.value().to_owned());
    let address = client_address(peer, &headers, state.config.trust_proxy);
    let hub = state.hub.clone();
    let session = token.as_deref().and_then(|t| state.hub.session_by_token(t));
    let Some(session) = session else {
        // Several nodes, no stickiness: the session may live on another node; relay to it.
        if let Some(token) = token
            && let Some((home, _)) = state.hub.session_home(&token).await
            && home != state.hub.broker().node()
        {
            return upgrade.on_upgrade(move |socket| ws::serve_relay(socket, hub, token, home, lang, address));
        }
        return simple_error(lang, StatusCode::UNAUTHORIZED, "no_session");
    };
    upgrade.on_upgrade(move |socket| ws::serve(socket, hub, session, lang, address))
}
