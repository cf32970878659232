//! HTTP: the router, shared state, security headers. Each submodule exposes `routes()`.

mod api;
mod assets;
mod console;
mod public;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::extract::FromRef;
use axum::http::{HeaderMap, HeaderName, HeaderValue, header};
use axum_extra::extract::cookie::Key;
use tower_http::set_header::SetResponseHeaderLayer;

use crate::config::Config;
use crate::entry::Gate;
use crate::hub::Hub;
use crate::moderation::Moderation;
use governor::DefaultKeyedRateLimiter;

#[derive(Clone)]
pub struct AppState {
    pub hub: Arc<Hub>,
    pub gate: Arc<Gate>,
    pub moderation: Arc<Moderation>,
    pub key: Key,
    pub config: Arc<Config>,
    /// Console logins and public appeals, per address.
    pub console_limiter: Arc<DefaultKeyedRateLimiter<IpAddr>>,
}

impl FromRef<AppState> for Key {
    fn from_ref(state: &AppState) -> Key {
        state.key.clone()
    }
}

pub const SESSION_COOKIE: &str = "papote_session";
pub const DEVICE_COOKIE: &str = "papote_device";

/// Strict by default: scripts and styles from this origin only, nothing inline, no framing.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; \
     media-src 'self' blob:; connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; \
     form-action 'self'; frame-ancestors 'none'";

pub fn router(state: AppState) -> Router {
    let headers = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (HeaderName::from_static("permissions-policy"), "camera=(), microphone=(), geolocation=(), interest-cohort=()"),
        (HeaderName::from_static("cross-origin-opener-policy"), "same-origin"),
    ];
    let mut router =
        Router::new().merge(api::routes()).merge(console::routes()).merge(public::routes()).merge(assets::routes());
    for (name, value) in headers {
        router = router.layer(SetResponseHeaderLayer::if_not_present(name, HeaderValue::from_static(value)));
    }
    router.with_state(state)
}

/// The client's address: the socket peer, or the left-most `X-Forwarded-For` entry when the
/// operator said a trusted proxy sets it.
pub fn client_address(peer: SocketAddr, headers: &HeaderMap, trust_proxy: bool) -> SocketAddr {
    if trust_proxy
        && let Some(ip) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .and_then(|v| v.trim().parse::<IpAddr>().ok())
    {
        return SocketAddr::new(ip, peer.port());
    }
    peer
}

/// A request from another site (its `Origin` names another host) is refused on state-changing
/// endpoints and on the WebSocket: cookies alone must not let a third-party page act as a member.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        // Browsers always send Origin on cross-site POST and WebSocket; tools may omit it.
        return true;
    };
    let host = headers.get(header::HOST).and_then(|v| v.to_str().ok()).unwrap_or("");
    let origin_host = origin.split("://").nth(1).unwrap_or("");
    !host.is_empty() && origin_host.eq_ignore_ascii_case(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            map.insert(*k, HeaderValue::from_static(v));
        }
        map
    }

    #[test]
    fn origin_must_match_host_when_present() {
        assert!(same_origin(&headers(&[("host", "127.0.0.1:8080")])));
        assert!(same_origin(&headers(&[("host", "127.0.0.1:8080"), ("origin", "http://127.0.0.1:8080")])));
        assert!(!same_origin(&headers(&[("host", "127.0.0.1:8080"), ("origin", "https://evil.example")])));
        assert!(!same_origin(&headers(&[("origin", "http://127.0.0.1:8080")])));
        assert!(!same_origin(&headers(&[("host", "a.example"), ("origin", "null")])));
    }

    #[test]
    fn forwarded_addresses_only_behind_a_trusted_proxy() {
        let peer: SocketAddr = "10.0.0.1:4000".parse().expect("addr");
        let h = headers(&[("x-forwarded-for", "203.0.113.7, 10.0.0.1")]);
        assert_eq!(client_address(peer, &h, false), peer);
        assert_eq!(client_address(peer, &h, true).ip().to_string(), "203.0.113.7");
        let garbage = headers(&[("x-forwarded-for", "not an ip")]);
        assert_eq!(client_address(peer, &garbage, true), peer);
    }
}
