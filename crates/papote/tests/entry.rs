//! Entry over real HTTP: every refusal, the adults-only lock, nickname uniqueness and release,
//! the connection log.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::TestServer;
use serde_json::{Value, json};

fn form(nickname: &str, age: Value, postcode: &str, commune: Option<&str>) -> Value {
    json!({"nickname": nickname, "gender": "femme", "age": age, "postcode": postcode, "commune": commune, "charter": true})
}

fn error_code(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

#[tokio::test]
async fn a_valid_entry_returns_the_profile_and_a_private_session_cookie() {
    let server = TestServer::start().await;
    let browser = server.browser("Firefox");
    let response = browser
        .http
        .post(format!("{}/api/entry", server.base))
        .json(&form("Camille", json!(34), "59760", Some("59271")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cookies: Vec<String> =
        response.headers().get_all("set-cookie").iter().map(|v| v.to_str().unwrap().to_owned()).collect();
    let session = cookies.iter().find(|c| c.starts_with("papote_session=")).expect("session cookie");
    assert!(session.contains("HttpOnly"), "{session}");
    assert!(session.contains("SameSite=Lax"), "{session}");
    // Private (encrypted) cookie: the value is not the bare token.
    assert!(!session.contains("papote_session=;"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["member"]["nickname"], "Camille");
    assert_eq!(body["member"]["city"], "Grande-Synthe");
    assert_eq!(body["member"]["age"], 34);
    assert!(body["member"].get("postcode").is_none(), "the postcode is never sent back");
    // The session is alive for that browser only.
    let me: Value =
        browser.http.get(format!("{}/api/session", server.base)).send().await.unwrap().json().await.unwrap();
    assert_eq!(me["member"]["nickname"], "Camille");
    let stranger = server.browser("Firefox");
    let status = stranger.http.get(format!("{}/api/session", server.base)).send().await.unwrap().status();
    assert_eq!(status, 401);
    server.stop().await;
}

#[tokio::test]
async fn every_field_is_checked_with_a_precise_error() {
    let server = TestServer::start().await;
    let cases: Vec<(Value, u16, &str, &str)> = vec![
        (form("ab", json!(30), "59000", None), 400, "invalid_nickname", "nickname"),
        (form("<b>x</b>", json!(30), "59000", None), 400, "invalid_nickname", "nickname"),
        (form("Camille", json!("trente"), "59000", None), 400, "invalid_age", "age"),
        (form("Camille", json!(130), "59000", None), 400, "invalid_age", "age"),
        (form("Camille", json!(30), "5900", None), 400, "invalid_postcode", "postcode"),
        (form("Camille", json!(30), "00000", None), 404, "unknown_postcode", "postcode"),
        // 01400 has several communes: one must be chosen, and it must be one of them.
        (form("Camille", json!(30), "01400", None), 400, "invalid_commune", "commune"),
        (form("Camille", json!(30), "01400", Some("59271")), 400, "invalid_commune", "commune"),
        (
            json!({"nickname": "Camille", "gender": "robot", "age": 30, "postcode": "59000", "charter": true}),
            400,
            "invalid_gender",
            "gender",
        ),
        (
            json!({"nickname": "Camille", "gender": "homme", "age": 30, "postcode": "59000", "charter": false}),
            400,
            "charter_required",
            "charter",
        ),
    ];
    for (body, status, code, field) in cases {
        let browser = server.browser("Firefox");
        let (got_status, got) = browser.post_entry(body.clone()).await;
        assert_eq!((got_status, error_code(&got)), (status, code), "{body} → {got}");
        assert_eq!(got["error"]["field"], field, "{body}");
        assert!(got["error"]["message"].as_str().unwrap().len() > 10, "French message for {code}");
    }
    // Several wrong fields: all are listed.
    let browser = server.browser("Firefox");
    let (_, got) = browser.post_entry(json!({"nickname": "x", "gender": "?", "age": 30, "postcode": "1"})).await;
    let fields: Vec<&str> = got["errors"].as_array().unwrap().iter().filter_map(|e| e["field"].as_str()).collect();
    assert_eq!(fields, ["nickname", "gender", "postcode", "charter"]);
    // Not JSON, not an object, or too big.
    let raw = browser
        .http
        .post(format!("{}/api/entry", server.base))
        .header("content-type", "application/json")
        .body("{nope")
        .send()
        .await
        .unwrap();
    assert_eq!(raw.status(), 400);
    let big = "x".repeat(10_000);
    let raw =
        browser.http.post(format!("{}/api/entry", server.base)).json(&json!({"nickname": big})).send().await.unwrap();
    assert_eq!(raw.status(), 413);
    // A form post from another site is refused.
    let cross = browser
        .http
        .post(format!("{}/api/entry", server.base))
        .header("origin", "https://evil.example")
        .json(&form("Camille", json!(30), "59000", None))
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), 403);
    server.stop().await;
}

#[tokio::test]
async fn english_browsers_get_english_errors() {
    let server = TestServer::start().await;
    let browser = server.browser("Firefox");
    let response = browser
        .http
        .post(format!("{}/api/entry", server.base))
        .header("accept-language", "en-GB,en;q=0.9")
        .json(&form("ab", json!(30), "59000", None))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert!(body["error"]["message"].as_str().unwrap().starts_with("The nickname"), "{body}");
    server.stop().await;
}

#[tokio::test]
async fn under_18_locks_the_device_for_24_hours_even_with_a_new_nickname_or_a_private_window() {
    let server = TestServer::start().await;
    let teen = server.browser("Mozilla/5.0 (iPhone) Safari");
    let (status, body) = teen.post_entry(form("Jade", json!(15), "59000", None)).await;
    assert_eq!((status, error_code(&body)), (403, "underage"));
    assert!(body["error"]["message"].as_str().unwrap().contains("3018"), "{body}");

    // Retyping 18, with another nickname: still locked, and the message says so.
    let (status, body) = teen.post_entry(form("Jade2", json!(18), "59000", None)).await;
    assert_eq!((status, error_code(&body)), (403, "entry_locked"), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("24 heures"));

    // A private window: no cookie, same network, same browser → still locked.
    let private_window = server.browser("Mozilla/5.0 (iPhone) Safari");
    let (status, body) = private_window.post_entry(form("Zoe", json!(19), "59000", None)).await;
    assert_eq!((status, error_code(&body)), (403, "entry_locked"), "{body}");

    // Someone else behind the same carrier NAT, with another browser: not locked.
    let neighbour = server.browser("Mozilla/5.0 (X11; Linux) Firefox");
    let (status, body) = neighbour.post_entry(form("Nadia", json!(41), "59000", None)).await;
    assert_eq!(status, 200, "{body}");

    // An adult's mistyped age that is not under 18 is a plain field error and locks nothing.
    let adult = server.browser("Edge");
    let (status, body) = adult.post_entry(form("Paul", json!(101), "59000", None)).await;
    assert_eq!((status, error_code(&body)), (400, "invalid_age"));
    let (status, _) = adult.post_entry(form("Paul", json!(45), "59000", None)).await;
    assert_eq!(status, 200);
    server.stop().await;
}

#[tokio::test]
async fn nicknames_advertising_a_minor_are_refused_naming_the_part() {
    let server = TestServer::start().await;
    for (nickname, code) in [
        ("Lola15", "nickname_minor"),
        ("lea_14", "nickname_minor"),
        ("ado13", "nickname_minor"),
        ("lyceenne", "nickname_forbidden"),
        ("petite_lea", "nickname_forbidden"),
    ] {
        let browser = server.browser("Firefox");
        let (status, body) = browser.post_entry(form(nickname, json!(18), "59000", None)).await;
        assert_eq!((status, error_code(&body)), (400, code), "{nickname}: {body}");
        let part = body["error"]["part"].as_str().unwrap_or("");
        assert!(
            !part.is_empty() && nickname.to_lowercase().contains(&part.to_lowercase()),
            "{nickname}: part {part:?}"
        );
    }
    let browser = server.browser("Firefox");
    let (status, body) = browser.post_entry(form("Marc1975", json!(51), "59000", None)).await;
    assert_eq!(status, 200, "{body}");
    server.stop().await;
}

#[tokio::test]
async fn look_alike_nicknames_cannot_be_online_together_and_a_nickname_frees_after_the_grace_period() {
    let server = TestServer::with(|c| c.session_grace_secs = 1).await;
    let lola = server.browser("A");
    assert_eq!(lola.post_entry(form("Lola", json!(25), "59000", None)).await.0, 200);
    for twin in ["L0la", "LOLA", "lola", "IoIa"] {
        let other = server.browser("B");
        let (status, body) = other.post_entry(form(twin, json!(25), "59000", None)).await;
        assert_eq!((status, error_code(&body)), (409, "nickname_taken"), "{twin}");
    }
    // Lola never opens a WebSocket: after the grace period her nickname is free again.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let other = server.browser("B");
    assert_eq!(other.post_entry(form("L0la", json!(25), "59000", None)).await.0, 200);

    // With a WebSocket: the nickname stays while connected, and frees once the last one closed.
    let mut ws = other.connect().await;
    ws.expect("welcome").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let third = server.browser("C");
    assert_eq!(third.post_entry(form("lola", json!(25), "59000", None)).await.0, 409);
    ws.close().await;
    tokio::time::sleep(Duration::from_millis(1800)).await;
    assert_eq!(third.post_entry(form("lola", json!(25), "59000", None)).await.0, 200);
    server.stop().await;
}

#[tokio::test]
async fn leaving_frees_the_nickname_at_once() {
    let server = TestServer::start().await;
    let mut person = server.member("Hugo").await;
    let status = person.browser.http.post(format!("{}/api/leave", server.base)).send().await.unwrap().status();
    assert_eq!(status, 204);
    assert_eq!(person.ws.expect_close().await, Some(4001));
    let other = server.browser("Z");
    assert_eq!(other.post_entry(form("Hugo", json!(25), "59000", None)).await.0, 200);
    server.stop().await;
}

#[tokio::test]
async fn communes_are_listed_per_postcode() {
    let server = TestServer::start().await;
    let http = reqwest::Client::new();
    let body: Value =
        http.get(format!("{}/api/communes?postcode=59760", server.base)).send().await.unwrap().json().await.unwrap();
    assert!(body["communes"].as_array().unwrap().iter().any(|c| c["name"] == "Grande-Synthe" && c["insee"] == "59271"));
    let status = http.get(format!("{}/api/communes?postcode=abc", server.base)).send().await.unwrap().status();
    assert_eq!(status, 400);
    let status = http.get(format!("{}/api/communes?postcode=00000", server.base)).send().await.unwrap().status();
    assert_eq!(status, 404);
    server.stop().await;
}

#[tokio::test]
async fn connections_are_logged_with_address_port_and_times_apart_from_content() {
    let server = TestServer::start().await;
    let person = server.member("Ines").await;
    person.ws.close().await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let rows = server.server().store.connections_of(&person.id).await.unwrap();
    let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect();
    assert_eq!(kinds, ["entry", "websocket"]);
    for row in &rows {
        assert_eq!(row.ip, "127.0.0.1");
        assert!(row.port > 0);
        assert!(row.closed_at.unwrap() >= row.opened_at);
    }
    server.stop().await;
}

#[tokio::test]
async fn entry_asks_for_a_proof_of_work_that_counts_once() {
    let server = TestServer::with(|c| c.insecure_skip_proof_of_work = false).await;
    let browser = server.browser("Firefox");
    let challenge: Value =
        browser.http.get(format!("{}/api/challenge", server.base)).send().await.unwrap().json().await.unwrap();
    let challenge = &challenge["challenge"];
    assert_eq!(challenge["algorithm"], "SHA-256");
    let number = altcha_lib_rs::solve_challenge(
        challenge["challenge"].as_str().unwrap(),
        challenge["salt"].as_str().unwrap(),
        None,
        challenge["maxnumber"].as_u64(),
        0,
    )
    .unwrap();
    let solution = json!({
        "algorithm": "SHA-256", "challenge": challenge["challenge"], "number": number,
        "salt": challenge["salt"], "signature": challenge["signature"],
    });
    let mut body = form("Camille", json!(30), "59000", None);
    let (status, refused) = browser.post_entry(body.clone()).await;
    assert_eq!((status, error_code(&refused)), (400, "pow_invalid"));
    body["pow"] = solution;
    let (status, entered) = browser.post_entry(body.clone()).await;
    assert_eq!(status, 200, "{entered}");
    // The same solution cannot serve twice.
    let other = server.browser("Firefox");
    body["nickname"] = json!("Camille2");
    let (status, refused) = other.post_entry(body).await;
    assert_eq!((status, error_code(&refused)), (400, "pow_invalid"));
    server.stop().await;
}
