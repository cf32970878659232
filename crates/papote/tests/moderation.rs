//! Moderation over real HTTP and WebSocket: report → case → ban → statement → appeal → another
//! moderator overturns; mute and shadow-mute from both sides; panic mode; CSRF and lockout; a
//! report survives SIGKILL.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{TestServer, WAIT};
use papote::clock::now_ms;
use papote::moderation::accounts::add_moderator;
use serde_json::{Value, json};

const PASSWORD: &str = "a long moderator password";

/// A moderator's browser: cookies, and the CSRF token of the last page.
struct Console {
    http: reqwest::Client,
    base: String,
    csrf: String,
}

fn csrf_of(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).map(|i| i + marker.len()).expect("a CSRF field");
    html[start..].split('"').next().unwrap().to_owned()
}

impl Console {
    async fn login(server: &TestServer, name: &str, password: &str) -> (Console, u16, String) {
        let http = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::limited(3))
            .build()
            .unwrap();
        let page = http.get(format!("{}/mod/login", server.base)).send().await.unwrap().text().await.unwrap();
        let csrf = csrf_of(&page);
        let response = http
            .post(format!("{}/mod/login", server.base))
            .form(&[("name", name), ("password", password), ("csrf", csrf.as_str())])
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let html = response.text().await.unwrap();
        let csrf = if html.contains("name=\"csrf\"") { csrf_of(&html) } else { String::new() };
        (Console { http, base: server.base.clone(), csrf }, status, html)
    }

    async fn get(&mut self, path: &str) -> (u16, String) {
        let response = self.http.get(format!("{}{path}", self.base)).send().await.unwrap();
        let status = response.status().as_u16();
        let html = response.text().await.unwrap();
        if html.contains("name=\"csrf\"") {
            self.csrf = csrf_of(&html);
        }
        (status, html)
    }

    async fn post(&self, path: &str, fields: &[(&str, &str)]) -> (u16, String) {
        let mut form: Vec<(&str, &str)> = vec![("csrf", self.csrf.as_str())];
        form.extend_from_slice(fields);
        let response = self.http.post(format!("{}{path}", self.base)).form(&form).send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    }
}

async fn moderators(server: &TestServer) {
    let store = server.server().store.as_ref();
    add_moderator(store, "modo1", "moderator", PASSWORD).await.unwrap();
    add_moderator(store, "modo2", "moderator", PASSWORD).await.unwrap();
    add_moderator(store, "chef", "admin", PASSWORD).await.unwrap();
}

fn form(nickname: &str) -> Value {
    json!({"nickname": nickname, "gender": "homme", "age": 33, "postcode": "59000", "charter": true})
}

#[tokio::test]
async fn report_case_ban_statement_appeal_and_a_second_moderator_overturns() {
    let server = TestServer::start().await;
    moderators(&server).await;
    let mut victim = server.member("Victime").await;
    let mut offender = server.member("Relou").await;
    victim.ws.join("amitie").await;
    offender.ws.join("amitie").await;
    for (i, text) in
        ["salut", "t'es vraiment relou toi", "dégage du salon, personne veut de toi ici"].iter().enumerate()
    {
        offender.ws.say("amitie", text, &format!("o{i}")).await;
    }
    let threat = victim.ws.expect_where("room_msg", |m| m["text"] == "dégage du salon, personne veut de toi ici").await;
    victim
        .ws
        .send(json!({"t": "report", "member": offender.id, "message": threat["id"], "room": "amitie", "category": "ambush_or_threat"}))
        .await;
    assert_eq!(victim.ws.expect("info").await["code"], "report_received");

    // The case is first in the queue, with the frozen conversation.
    let (mut modo1, status, queue) = Console::login(&server, "modo1", PASSWORD).await;
    assert_eq!(status, 200, "{queue}");
    assert!(queue.contains("Guet-apens / menace") && queue.contains("Relou"), "{queue}");
    let case_id = server.server().store.open_cases(10).await.unwrap()[0].id;
    let (_, case_page) = modo1.get(&format!("/mod/case/{case_id}")).await;
    assert!(case_page.contains("dégage du salon, personne veut de toi ici"));
    assert!(
        case_page.contains("t&#39;es vraiment relou toi") || case_page.contains("t&#x27;es vraiment relou toi"),
        "the messages around it are frozen too: {case_page}"
    );

    // Ban for 7 days: the statement arrives, then the socket closes with 1008.
    let (status, _) = modo1
        .post(
            &format!("/mod/case/{case_id}"),
            &[
                ("action", "ban"),
                ("reason", "ambush_or_threat"),
                ("facts", "Menaces répétées"),
                ("duration", "7"),
                ("unit", "days"),
                ("network", "1"),
            ],
        )
        .await;
    assert_eq!(status, 200);
    let sanction = offender.ws.expect("sanction").await;
    let statement = &sanction["statement"];
    assert_eq!(statement["kind"], "ban");
    assert_eq!(statement["reason"], "ambush_or_threat");
    assert_eq!(statement["facts"], "Menaces répétées");
    assert!(statement["rule"].as_str().unwrap().contains("règle 2"));
    assert!(statement["until"].as_i64().unwrap() > now_ms() + 6 * 86_400_000);
    let code = statement["appeal_code"].as_str().unwrap().to_owned();
    assert_eq!(offender.ws.expect_close().await, Some(1008));

    // The banned device cannot come back, not even under a new nickname; nor can its network
    // (the moderator ticked it); nor can the nickname from elsewhere.
    let (status, body) = offender.browser.post_entry(form("Gentil")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("banned")), "{body}");
    let same_network = server.browser("another browser");
    let (status, body) = same_network.post_entry(form("Autre")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("banned")), "{body}");
    let other_device = server.browser_from("another browser", "127.0.0.2");
    let (status, body) = other_device.post_entry(form("relou")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("nickname_banned")), "{body}");

    // The appeal works without a session, with the code.
    let appeal = reqwest::Client::new()
        .post(format!("{}/appel", server.base))
        .form(&[("code", code.as_str()), ("text", "Je plaisantais, je m'excuse.")])
        .send()
        .await
        .unwrap();
    assert_eq!(appeal.status(), 200);
    let appeal_id = server.server().store.open_appeals().await.unwrap()[0].id;

    // The moderator who banned cannot judge the appeal; another one overturns it.
    let (status, _) =
        modo1.post(&format!("/mod/appeals/{appeal_id}"), &[("outcome", "overturn"), ("note", "moi")]).await;
    assert_eq!(status, 403);
    let (mut modo2, _, _) = Console::login(&server, "modo2", PASSWORD).await;
    let (_, appeals) = modo2.get("/mod/appeals").await;
    assert!(appeals.contains("Je plaisantais"));
    let (status, _) =
        modo2.post(&format!("/mod/appeals/{appeal_id}"), &[("outcome", "overturn"), ("note", "Premier écart")]).await;
    assert_eq!(status, 200);
    let (status, body) = offender.browser.post_entry(form("Gentil")).await;
    assert_eq!(status, 200, "the ban is lifted: {body}");
    let status_page = reqwest::get(format!("{}/appel?code={code}", server.base)).await.unwrap().text().await.unwrap();
    assert!(status_page.contains("accepté"), "{status_page}");

    // Every step is in the audit log, and its chain verifies.
    let (mut chef, _, _) = Console::login(&server, "chef", PASSWORD).await;
    let (_, audit) = chef.get("/mod/audit").await;
    assert!(audit.contains("Chaîne intègre"), "{audit}");
    assert!(audit.contains("ban") && audit.contains("appeal_overturn"));
    let transparency = reqwest::get(format!("{}/transparence", server.base)).await.unwrap().text().await.unwrap();
    assert!(transparency.contains("Bannissement"), "{transparency}");
    server.stop().await;
}

#[tokio::test]
async fn mute_and_shadow_mute_seen_from_both_sides() {
    let server = TestServer::start().await;
    moderators(&server).await;
    let mut alice = server.member("Alice").await;
    let mut spammer = server.member("Pubeur").await;
    alice.ws.join("sport").await;
    spammer.ws.join("sport").await;
    spammer.ws.say("sport", "achetez mes chaussures", "s0").await;
    alice.ws.expect("room_msg").await;
    alice.ws.send(json!({"t": "report", "member": spammer.id, "room": "sport", "category": "spam"})).await;
    alice.ws.expect("info").await;
    let case_id = server.server().store.open_cases(10).await.unwrap()[0].id;

    // Shadow-mute: the spammer still sees their own lines; Alice sees nothing.
    let (mut modo, _, _) = Console::login(&server, "modo1", PASSWORD).await;
    modo.get(&format!("/mod/case/{case_id}")).await;
    let (status, _) = modo
        .post(
            &format!("/mod/case/{case_id}"),
            &[
                ("action", "shadow_mute"),
                ("reason", "spam"),
                ("facts", "Publicité"),
                ("duration", "1"),
                ("unit", "days"),
            ],
        )
        .await;
    assert_eq!(status, 200);
    let ack = spammer.ws.say("sport", "promo -50% aujourd'hui", "s1").await;
    assert_eq!(ack["t"], "ack");
    spammer.ws.expect_where("room_msg", |m| m["id"] == ack["id"]).await;
    alice.ws.expect_none("room_msg", Duration::from_millis(400)).await;

    // Mute (another member, reported for hate): refused with the reason, and told so.
    let mut rude = server.member("Grossier").await;
    rude.ws.join("sport").await;
    let said = rude.ws.say("sport", "vous êtes tous nuls", "r1").await;
    alice.ws.expect_where("room_msg", |m| m["id"] == said["id"]).await;
    alice.ws
        .send(json!({"t": "report", "member": rude.id, "room": "sport", "message": said["id"], "category": "harassment_or_hate"}))
        .await;
    alice.ws.expect("info").await;
    let case_id = server.server().store.open_cases(10).await.unwrap()[0].id;
    modo.get(&format!("/mod/case/{case_id}")).await;
    modo.post(
        &format!("/mod/case/{case_id}"),
        &[("action", "mute"), ("reason", "harassment_or_hate"), ("facts", "Insultes")],
    )
    .await;
    let statement = rude.ws.expect("sanction").await;
    assert_eq!(statement["statement"]["kind"], "mute");
    let refused = rude.ws.say("sport", "et alors", "r2").await;
    assert_eq!(refused["code"], "muted");
    assert!(refused["retry_after_ms"].as_u64().unwrap() > 14 * 60 * 1000);
    alice.ws.expect_none("room_msg", Duration::from_millis(300)).await;

    // Delete: the reported message disappears for everyone.
    let mut third = server.member("Tertio").await;
    third.ws.join("sport").await;
    let bad = third.ws.say("sport", "message à supprimer", "t1").await;
    alice.ws.expect_where("room_msg", |m| m["id"] == bad["id"]).await;
    alice
        .ws
        .send(json!({"t": "report", "member": third.id, "room": "sport", "message": bad["id"], "category": "other"}))
        .await;
    alice.ws.expect("info").await;
    let case_id = server.server().store.open_cases(10).await.unwrap()[0].id;
    modo.get(&format!("/mod/case/{case_id}")).await;
    modo.post(&format!("/mod/case/{case_id}"), &[("action", "delete"), ("reason", "other"), ("facts", "Hors charte")])
        .await;
    let deleted = alice.ws.expect("deleted").await;
    assert_eq!(deleted["ids"][0], bad["id"]);
    let mut late = server.member("Tardif").await;
    let joined = late.ws.join("sport").await;
    assert!(!joined["history"].as_array().unwrap().iter().any(|m| m["id"] == bad["id"]));
    server.stop().await;
}

#[tokio::test]
async fn panic_mode_lets_only_established_sessions_post() {
    let server = TestServer::start().await;
    moderators(&server).await;
    let mut old = server.member("Ancien").await;
    old.ws.join("accueil").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // Switched on through the console (audited), then narrowed to one second for the test.
    let (mut modo, _, _) = Console::login(&server, "modo1", PASSWORD).await;
    modo.get("/mod").await;
    let (status, page) = modo.post("/mod/panic", &[("on", "1"), ("min_minutes", "30")]).await;
    assert_eq!(status, 200);
    assert!(page.contains("MODE PANIQUE"), "{page}");
    let hub = &server.server().hub;
    let (until, _) = hub.panic().unwrap();
    hub.set_panic(Some((until, Duration::from_secs(1))));

    let mut newcomer = server.member("Nouveau").await;
    newcomer.ws.join("accueil").await;
    let refused = newcomer.ws.say("accueil", "coucou", "n1").await;
    assert_eq!(refused["code"], "panic_mode");
    assert_eq!(old.ws.say("accueil", "je suis là depuis longtemps", "o1").await["t"], "ack");
    let (_, page) = modo.post("/mod/panic", &[("on", "0")]).await;
    assert!(!page.contains("MODE PANIQUE"));
    assert_eq!(newcomer.ws.say("accueil", "coucou", "n2").await["t"], "ack");
    assert!(until <= now_ms() + 180 * 60 * 1000, "panic mode ends by itself within 3 hours");
    server.stop().await;
}

#[tokio::test]
async fn the_console_needs_csrf_and_locks_after_failed_logins() {
    let server = TestServer::start().await;
    moderators(&server).await;
    // Not logged in: redirected to the login page.
    let anonymous = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let response = anonymous.get(format!("{}/mod", server.base)).send().await.unwrap();
    assert_eq!(response.status(), 303);
    // A login without the form's token is refused.
    let response = anonymous
        .post(format!("{}/mod/login", server.base))
        .form(&[("name", "modo1"), ("password", PASSWORD), ("csrf", "forged")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);

    let (mut modo, status, _) = Console::login(&server, "modo1", PASSWORD).await;
    assert_eq!(status, 200);
    modo.get("/mod").await;
    let forged = modo
        .http
        .post(format!("{}/mod/panic", server.base))
        .form(&[("csrf", "forged"), ("on", "1")])
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 403);
    assert!(server.server().hub.panic().is_none());
    // A moderator cannot read the audit log; an admin can.
    assert_eq!(modo.get("/mod/audit").await.0, 403);

    for _ in 0..4 {
        let (_, status, html) = Console::login(&server, "modo2", "wrong password!").await;
        assert_eq!(status, 401);
        assert!(html.contains("incorrect"));
    }
    let (_, _, html) = Console::login(&server, "modo2", "wrong password!").await;
    assert!(html.contains("verrouillé"), "{html}");
    let (_, status, html) = Console::login(&server, "modo2", PASSWORD).await;
    assert_eq!(status, 401, "locked even with the right password");
    assert!(html.contains("verrouillé"));
    server.stop().await;
}

/// A server process that is killed when the test ends, even when it fails.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn a_report_acknowledged_survives_sigkill() {
    let dir = std::env::temp_dir().join(format!("papote-kill-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let database = dir.join("papote.db");
    let start = |port: u16| {
        KillOnDrop(
            std::process::Command::new(env!("CARGO_BIN_EXE_papote"))
                .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--database", database.to_str().unwrap()])
                .env("PAPOTE_LOG", "warn")
                .stdout(std::process::Stdio::null())
                .spawn()
                .unwrap(),
        )
    };
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let mut child = start(port);
    let base = format!("http://127.0.0.1:{port}");
    let deadline = tokio::time::Instant::now() + WAIT * 6;
    while reqwest::get(format!("{base}/healthz")).await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "server did not start");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let server = TestServer { server: None, base: base.clone() };
    let mut reporter = server.member("Temoin").await;
    let target = server.member("Suspect").await;
    reporter
        .ws
        .send(
            json!({"t": "report", "member": target.id, "category": "minor_in_danger", "comment": "il parle à une ado"}),
        )
        .await;
    assert_eq!(reporter.ws.expect("info").await["code"], "report_received");
    // SIGKILL at once: no graceful shutdown, no flush.
    child.0.kill().unwrap();
    child.0.wait().unwrap();

    let store = papote::store::SqliteStore::open(database.to_str().unwrap()).await.unwrap();
    let cases = papote::store::Store::open_cases(&store, 10).await.unwrap();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].nickname, "Suspect");
    assert_eq!(cases[0].text, "il parle à une ado");
    let evidence: Value = serde_json::from_str(&cases[0].evidence).unwrap();
    assert_eq!(evidence["member"]["profile"]["nickname"], "Suspect");
    // And the server starts again on the same file.
    drop(store);
    let mut child = start(port);
    let deadline = tokio::time::Instant::now() + WAIT * 6;
    while reqwest::get(format!("{base}/healthz")).await.is_err() {
        assert!(tokio::time::Instant::now() < deadline, "server did not restart");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    child.0.kill().unwrap();
    child.0.wait().unwrap();
    std::fs::remove_dir_all(&dir).ok();
}
