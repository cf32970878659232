//! The chat over real WebSockets: rooms and history, the pipeline's four actions, rate limit and
//! flood, private-message requests, blocks, the new-conversation cap, reports, reconnection and
//! resync, bad frames.
#![allow(clippy::unwrap_used)]

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{Next, TestServer};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

fn test_rules() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data/test-rules.toml")
}

#[tokio::test]
async fn rooms_show_recent_history_live_messages_members_and_typing() {
    let server = TestServer::start().await;
    let mut alice = server.member("Alice").await;
    let joined = alice.ws.join("cuisine").await;
    assert_eq!(joined["replay"], false);
    assert!(joined["members"].as_array().unwrap().iter().any(|m| m["nickname"] == "Alice"));
    for i in 0..3 {
        let ack = alice.ws.say("cuisine", &format!("recette numéro {i}"), &format!("r{i}")).await;
        assert_eq!(ack["t"], "ack", "{ack}");
    }
    let mut bob = server.member("Bob").await;
    let joined = bob.ws.join("cuisine").await;
    let history: Vec<&str> =
        joined["history"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(history, ["recette numéro 0", "recette numéro 1", "recette numéro 2"]);
    assert_eq!(joined["members"].as_array().unwrap().len(), 2);

    // Alice hears that Bob arrived, then his message; text stays text.
    let arrived = alice.ws.expect_where("room_members", |v| v["joined"][0]["nickname"] == "Bob").await;
    assert_eq!(arrived["joined"].as_array().unwrap().len(), 1);
    bob.ws.say("cuisine", "<b>bonjour</b> & bienvenue", "b1").await;
    let msg = alice.ws.expect("room_msg").await;
    assert_eq!(msg["text"], "<b>bonjour</b> & bienvenue");
    assert_eq!(msg["from"]["nickname"], "Bob");
    assert!(msg["seq"].as_u64().unwrap() > joined["seq"].as_u64().unwrap());

    bob.ws.send(json!({"t": "typing", "room": "cuisine"})).await;
    let typing = alice.ws.expect("typing").await;
    assert_eq!(typing["member"]["nickname"], "Bob");

    // Live counts reach everyone, and leaving is seen.
    let counts = bob.ws.expect_where("rooms", |v| v["counts"]["cuisine"] == 2).await;
    assert_eq!(counts["counts"]["sport"], 0);
    bob.ws.send(json!({"t": "leave", "room": "cuisine"})).await;
    bob.ws.expect("left").await;
    let gone = alice.ws.expect_where("room_members", |v| !v["left"].as_array().unwrap().is_empty()).await;
    assert_eq!(gone["left"][0], bob.id.as_str());
    // Not in the room any more: posting is refused.
    let refused = bob.ws.say("cuisine", "encore là ?", "b2").await;
    assert_eq!(refused["code"], "not_in_room");
    let refused = bob.ws.say("nulle-part", "allo", "b3").await;
    assert_eq!(refused["code"], "unknown_room");
    server.stop().await;
}

#[tokio::test]
async fn messages_are_bounded_rate_limited_and_repeats_refused() {
    let server = TestServer::start().await;
    let mut alice = server.member("Alice").await;
    alice.ws.join("sport").await;
    let long = alice.ws.say("sport", &"a".repeat(501), "long").await;
    assert_eq!(long["code"], "too_long");
    let empty = alice.ws.say("sport", "   ", "empty").await;
    assert_eq!(empty["code"], "empty");

    assert_eq!(alice.ws.say("sport", "allez", "f1").await["t"], "ack");
    let repeat = alice.ws.say("sport", "allez", "f2").await;
    assert_eq!(repeat["code"], "flood");
    assert!(repeat["message"].as_str().unwrap().contains("répétitions"));

    for i in 0..3 {
        assert_eq!(alice.ws.say("sport", &format!("but {i}"), &format!("g{i}")).await["t"], "ack");
    }
    // The flood refusal counted as an attempt: this is the sixth in 10 s.
    let limited = alice.ws.say("sport", "encore un", "g9").await;
    assert_eq!(limited["code"], "rate_limited", "{limited}");
    assert!(limited["retry_after_ms"].as_u64().unwrap() > 0);
    // Another conversation has its own budget.
    alice.ws.join("musique").await;
    assert_eq!(alice.ws.say("musique", "hello", "m1").await["t"], "ack");
    server.stop().await;
}

#[tokio::test]
async fn the_four_pipeline_actions_are_honoured_end_to_end() {
    let server = TestServer::with(|c| c.safety_rules = vec![test_rules()]).await;
    let mut alice = server.member("Alice").await;
    let mut bob = server.member("Bob").await;
    alice.ws.join("voyages").await;
    bob.ws.join("voyages").await;

    // allow: delivered, no card.
    let ack = alice.ws.say("voyages", "zzallowzz tu as des photos du voyage", "a1").await;
    assert_eq!(ack["t"], "ack");
    let msg = bob.ws.expect_where("room_msg", |m| m["id"] == ack["id"]).await;
    assert!(msg.get("card").is_none());

    // notice: delivered with a safety card.
    let ack = alice.ws.say("voyages", "zznoticezz ce soir", "a2").await;
    assert_eq!(ack["t"], "ack");
    let msg = bob.ws.expect_where("room_msg", |m| m["id"] == ack["id"]).await;
    assert_eq!(msg["card"], "meeting");

    // hold: not delivered, the sender is told why.
    let held = alice.ws.say("voyages", "zzholdzz", "a3").await;
    assert_eq!((held["t"].as_str(), held["code"].as_str()), (Some("refused"), Some("held")));
    assert!(held["message"].as_str().unwrap().contains("haineux"));

    // flag: not delivered, and a moderation case is stored before the sender hears back.
    let flagged = alice.ws.say("voyages", "zzflagzz dispo", "a4").await;
    assert_eq!((flagged["t"].as_str(), flagged["code"].as_str()), (Some("refused"), Some("flagged")));
    let cases = server.server().store.open_cases(10).await.unwrap();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].source, "auto");
    assert_eq!(cases[0].text, "zzflagzz dispo");
    assert!(cases[0].rules.contains("test.flag"));
    assert_eq!(cases[0].member_id, alice.id);

    // Bob saw neither the held nor the flagged line.
    bob.ws.expect_none("room_msg", Duration::from_millis(300)).await;
    let texts: Vec<String> =
        bob.ws.seen.iter().filter(|m| m["t"] == "room_msg").map(|m| m["text"].as_str().unwrap().to_owned()).collect();
    assert_eq!(texts.len(), 2, "{texts:?}");
    server.stop().await;
}

#[tokio::test]
async fn a_first_private_message_is_a_request_until_accepted() {
    let server = TestServer::start().await;
    let mut alice = server.member("Alice").await;
    let mut bob = server.member("Bob").await;

    let ack = alice.ws.dm(&bob.id, "salut, on parle cinéma ?", "d1").await;
    assert_eq!(ack["t"], "ack");
    let request = bob.ws.expect("dm_request").await;
    assert_eq!(request["from"]["nickname"], "Alice");
    assert_eq!(request["message"]["text"], "salut, on parle cinéma ?");
    let pending = alice.ws.seen.iter().find(|m| m["t"] == "dm_state").expect("dm_state before the ack");
    assert_eq!(pending["state"], "pending_out");

    // Until Bob answers, Alice cannot send a second message.
    let refused = alice.ws.dm(&bob.id, "tu es là ?", "d2").await;
    assert_eq!(refused["code"], "request_pending");

    bob.ws.send(json!({"t": "dm_accept", "with": alice.id})).await;
    alice.ws.expect_where("dm_state", |v| v["state"] == "open").await;
    bob.ws.expect_where("dm_state", |v| v["state"] == "open").await;
    let ack = alice.ws.dm(&bob.id, "super, merci", "d3").await;
    assert_eq!(ack["t"], "ack");
    let msg = bob.ws.expect("dm").await;
    assert_eq!((msg["from"].as_str(), msg["text"].as_str()), (Some(alice.id.as_str()), Some("super, merci")));
    assert_eq!(bob.ws.dm(&alice.id, "avec plaisir", "e1").await["t"], "ack");
    alice.ws.expect_where("dm", |m| m["text"] == "avec plaisir").await;

    // The history resumes a conversation.
    bob.ws.send(json!({"t": "dm_history", "with": alice.id, "since": 1})).await;
    let history = bob.ws.expect("dm_history").await;
    let texts: Vec<&str> =
        history["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts, ["super, merci", "avec plaisir"]);
    server.stop().await;
}

#[tokio::test]
async fn a_private_message_reaches_the_authors_other_tabs_but_not_the_sending_one() {
    let server = TestServer::start().await;
    let mut alice = server.member("Alice").await;
    let mut bob = server.member("Bob").await;
    let mut alice_tab = alice.browser.connect().await;
    alice_tab.expect("welcome").await;

    let ack = alice.ws.dm(&bob.id, "salut Bob", "d1").await;
    assert_eq!(ack["t"], "ack");
    let copy = alice_tab.expect("dm").await;
    assert_eq!((copy["to"].as_str(), copy["text"].as_str()), (Some(bob.id.as_str()), Some("salut Bob")));
    assert_eq!(copy["seq"], ack["seq"], "the same message, numbered the same");
    bob.ws.expect("dm_request").await;
    // The sending tab learns of its message from the `ack` alone.
    alice.ws.expect_none("dm", Duration::from_millis(300)).await;

    // Once the other tab is closed, a message is still sent and acknowledged.
    alice_tab.close().await;
    bob.ws.send(json!({"t": "dm_accept", "with": alice.id})).await;
    alice.ws.expect_where("dm_state", |v| v["state"] == "open").await;
    assert_eq!(alice.ws.dm(&bob.id, "tu es là ?", "d2").await["t"], "ack");
    assert_eq!(bob.ws.expect("dm").await["text"], "tu es là ?");
    server.stop().await;
}

#[tokio::test]
async fn a_declined_request_closes_the_door_and_a_block_hides_and_silences() {
    let server = TestServer::start().await;
    let mut alice = server.member("Alice").await;
    let mut bob = server.member("Bob").await;
    let mut carol = server.member("Carol").await;

    alice.ws.dm(&bob.id, "coucou", "d1").await;
    bob.ws.expect("dm_request").await;
    bob.ws.send(json!({"t": "dm_decline", "with": alice.id})).await;
    assert_eq!(alice.ws.expect_where("dm_state", |v| v["state"] == "declined").await["with"], bob.id.as_str());
    let refused = alice.ws.dm(&bob.id, "pourquoi ?", "d2").await;
    assert_eq!(refused["code"], "declined");

    // Carol blocks Bob: he can no longer write to her, nor see her in the member list.
    carol.ws.send(json!({"t": "members"})).await;
    let list = carol.ws.expect("members").await;
    assert!(list["list"].as_array().unwrap().iter().any(|m| m["nickname"] == "Bob"));
    carol.ws.send(json!({"t": "block", "member": bob.id})).await;
    let gone =
        bob.ws.expect_where("presence", |v| v["left"].as_array().unwrap().iter().any(|l| l == carol.id.as_str())).await;
    assert!(gone["joined"].as_array().unwrap().is_empty());
    let refused = bob.ws.dm(&carol.id, "hello", "b1").await;
    assert_eq!(refused["code"], "blocked");
    bob.ws.send(json!({"t": "members"})).await;
    let list = bob.ws.expect("members").await;
    let names: Vec<&str> = list["list"].as_array().unwrap().iter().map(|m| m["nickname"].as_str().unwrap()).collect();
    assert_eq!(names, ["Alice"]);
    server.stop().await;
}

#[tokio::test]
async fn a_session_can_open_only_so_many_new_conversations() {
    let server = TestServer::with(|c| c.new_conversations = 2).await;
    let mut alice = server.member("Alice").await;
    let mut others = Vec::new();
    for name in ["Bob", "Carol", "Dave"] {
        others.push(server.member(name).await);
    }
    assert_eq!(alice.ws.dm(&others[0].id, "bonjour", "1").await["t"], "ack");
    assert_eq!(alice.ws.dm(&others[1].id, "bonsoir", "2").await["t"], "ack");
    let refused = alice.ws.dm(&others[2].id, "salut", "3").await;
    assert_eq!(refused["code"], "too_many_conversations");
    assert!(refused["retry_after_ms"].as_u64().unwrap() > 500_000);
    // Answering someone who wrote first is not a new conversation of one's own.
    others[2].ws.dm(&alice.id, "hello Alice", "x").await;
    alice.ws.expect("dm_request").await;
    assert_eq!(alice.ws.dm(&others[2].id, "hello Dave", "4").await["t"], "ack");
    server.stop().await;
}

#[tokio::test]
async fn the_member_list_is_sorted_by_rounded_distance_and_filtered() {
    let server = TestServer::start().await;
    let mut lille = server.member_at("Lillois", "59000").await;
    let _roubaix = server.member_at("Roubaisien", "59100").await;
    let _paris = server.member_at("Parisien", "75001").await;
    let _marseille = server.member_at("Marseillais", "13001").await;
    lille.ws.send(json!({"t": "members"})).await;
    let list = lille.ws.expect("members").await;
    let rows: Vec<(String, u64)> = list["list"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| (m["nickname"].as_str().unwrap().to_owned(), m["distance_km"].as_u64().unwrap()))
        .collect();
    assert_eq!(rows.iter().map(|r| r.0.as_str()).collect::<Vec<_>>(), ["Roubaisien", "Parisien", "Marseillais"]);
    assert_eq!(rows[0].1, 10);
    assert_eq!(rows[1].1, 200);
    assert_eq!(rows[2].1, 850);
    for m in list["list"].as_array().unwrap() {
        assert!(m.get("postcode").is_none() && m.get("lat").is_none());
    }
    lille.ws.send(json!({"t": "members", "gender": ["femme"]})).await;
    assert!(lille.ws.expect("members").await["list"].as_array().unwrap().is_empty());
    lille.ws.send(json!({"t": "members", "age_min": 18, "age_max": 99})).await;
    assert_eq!(lille.ws.expect("members").await["list"].as_array().unwrap().len(), 3);

    // Live: a newcomer appears in the next presence batch.
    let _lens = server.member_at("Lensois", "62300").await;
    let presence = lille
        .ws
        .expect_where("presence", |v| v["joined"].as_array().unwrap().iter().any(|m| m["nickname"] == "Lensois"))
        .await;
    assert!(presence["left"].as_array().unwrap().is_empty());
    server.stop().await;
}

#[tokio::test]
async fn reports_are_stored_with_frozen_evidence_before_being_acknowledged() {
    let server = TestServer::start().await;
    let mut alice = server.member("Alice").await;
    let mut bob = server.member("Bob").await;
    alice.ws.join("amitie").await;
    bob.ws.join("amitie").await;
    let ack = bob.ws.say("amitie", "message dérangeant", "b1").await;
    let id = ack["id"].as_u64().unwrap();
    alice.ws
        .send(json!({"t": "report", "member": bob.id, "message": id, "room": "amitie", "category": "harassment_or_hate", "comment": "il insiste"}))
        .await;
    let info = alice.ws.expect("info").await;
    assert_eq!(info["code"], "report_received");
    let cases = server.server().store.open_cases(10).await.unwrap();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].source, "report");
    assert_eq!(cases[0].nickname, "Bob");
    let evidence: serde_json::Value = serde_json::from_str(&cases[0].evidence).unwrap();
    assert_eq!(evidence["message"]["text"], "message dérangeant");
    assert_eq!(evidence["member"]["profile"]["nickname"], "Bob");
    server.stop().await;
}

#[tokio::test]
async fn a_reconnecting_client_replays_the_gap_or_resyncs() {
    let server = TestServer::with(|c| c.messages_per_window = 10_000).await;
    let mut alice = server.member("Alice").await;
    let mut bob = server.member("Bob").await;
    let joined = alice.ws.join("musique").await;
    bob.ws.join("musique").await;
    let first = bob.ws.say("musique", "avant la coupure", "b0").await;
    let seen = alice.ws.expect_where("room_msg", |m| m["id"] == first["id"]).await;
    let last_seq = seen["seq"].as_u64().unwrap();
    assert!(last_seq > joined["seq"].as_u64().unwrap());

    // Network blip: Alice's socket drops; the session stays within the grace period.
    alice.ws.close().await;
    for i in 0..3 {
        bob.ws.say("musique", &format!("pendant {i}"), &format!("b{}", i + 1)).await;
    }
    let mut ws = alice.browser.connect().await;
    let welcome = ws.expect("welcome").await;
    assert_eq!(welcome["joined"][0], "musique", "still a member of the room");
    ws.send(json!({"t": "join", "room": "musique", "since": last_seq})).await;
    let replay = ws.expect("joined").await;
    assert_eq!(replay["replay"], true);
    let texts: Vec<&str> = replay["history"].as_array().unwrap().iter().filter_map(|e| e["text"].as_str()).collect();
    assert_eq!(texts, ["pendant 0", "pendant 1", "pendant 2"]);
    // Live again.
    bob.ws.say("musique", "et après", "b9").await;
    ws.expect_where("room_msg", |m| m["text"] == "et après").await;
    ws.close().await;

    // Too big a gap (more than the room keeps): a resync with the last 50 messages.
    for i in 0..300 {
        let answer = bob.ws.say("musique", &format!("flot numéro {}", i + 1000), &format!("c{i}")).await;
        assert_eq!(answer["t"], "ack", "{answer}");
    }
    let mut ws = alice.browser.connect().await;
    ws.expect("welcome").await;
    ws.send(json!({"t": "join", "room": "musique", "since": last_seq})).await;
    let resync = ws.expect("joined").await;
    assert_eq!(resync["replay"], false);
    let history = resync["history"].as_array().unwrap();
    assert_eq!(history.len(), 50);
    assert_eq!(history[49]["text"], "flot numéro 1299");
    server.stop().await;
}

#[tokio::test]
async fn bad_frames_get_errors_and_oversized_frames_close_with_1009() {
    let server = TestServer::start().await;
    let mut alice = server.member("Alice").await;
    alice.ws.send_raw(Message::text("{not json")).await;
    assert_eq!(alice.ws.expect("error").await["code"], "bad_frame");
    alice.ws.send_raw(Message::text(r#"{"t":"fly","to":"moon"}"#)).await;
    assert_eq!(alice.ws.expect("error").await["code"], "bad_frame");
    alice.ws.send_raw(Message::binary(vec![1u8, 2, 3])).await;
    assert_eq!(alice.ws.expect("error").await["code"], "binary_not_supported");
    alice.ws.send(json!({"t": "say", "room": "sport", "text": "x", "ref": "r".repeat(40)})).await;
    assert_eq!(alice.ws.expect("error").await["code"], "bad_ref");
    alice.ws.send(json!({"t": "ping"})).await;
    alice.ws.expect("pong").await;

    let big = json!({"t": "say", "room": "sport", "text": "a".repeat(9000)}).to_string();
    alice.ws.send_raw(Message::text(big)).await;
    assert_eq!(alice.ws.expect_close().await, Some(1009));

    // Garbage in a loop ends with 1008.
    let mut ws = alice.browser.connect().await;
    ws.expect("welcome").await;
    for _ in 0..25 {
        ws.send_raw(Message::text("garbage")).await;
    }
    assert_eq!(ws.expect_close().await, Some(1008));

    // Without a session, no WebSocket.
    let stranger = server.browser("nobody");
    assert!(stranger.try_connect().await.is_err());
    // The server is still fine.
    let mut bob = server.member("Bob").await;
    bob.ws.send(json!({"t": "ping"})).await;
    assert!(matches!(bob.ws.next(Duration::from_secs(2)).await, Next::Msg(_)));
    server.stop().await;
}

#[tokio::test]
async fn mentions_name_the_members_of_the_room() {
    let server = TestServer::start().await;
    let mut alice = server.member("Alice").await;
    let mut bob = server.member("Bob_59").await;
    alice.ws.join("cuisine").await;
    bob.ws.join("cuisine").await;
    let ack = alice.ws.say("cuisine", "@bob_59 tu as la recette ? et @Personne ?", "m1").await;
    let msg = bob.ws.expect_where("room_msg", |m| m["id"] == ack["id"]).await;
    assert_eq!(msg["mentions"], json!([bob.id]));
    let ack = alice.ws.say("cuisine", "écrivez-moi à alice@exemple.fr", "m2").await;
    let msg = bob.ws.expect_where("room_msg", |m| m["id"] == ack["id"]).await;
    assert!(msg.get("mentions").is_none(), "{msg}");
    server.stop().await;
}

#[tokio::test]
async fn scrolling_up_pages_through_older_room_and_private_messages() {
    let server = TestServer::with(|c| c.messages_per_window = 10_000).await;
    let mut alice = server.member("Alice").await;
    let mut bob = server.member("Bob").await;
    alice.ws.join("voyages").await;
    for i in 0..120 {
        let ack = alice.ws.say("voyages", &format!("souvenir {}", i + 1000), &format!("v{i}")).await;
        assert_eq!(ack["t"], "ack", "{ack}");
    }
    let joined = bob.ws.join("voyages").await;
    let history = joined["history"].as_array().unwrap();
    assert_eq!(history.len(), 50);
    let oldest_seen = history[0]["seq"].as_u64().unwrap();
    bob.ws.send(json!({"t": "history", "room": "voyages", "before": oldest_seen, "limit": 50})).await;
    let page = bob.ws.expect("history").await;
    let texts: Vec<&str> = page["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert_eq!(texts.first(), Some(&"souvenir 1020"));
    assert_eq!(texts.last(), Some(&"souvenir 1069"));
    assert_eq!(page["more"], true);
    let oldest = page["messages"][0]["seq"].as_u64().unwrap();
    bob.ws.send(json!({"t": "history", "room": "voyages", "before": oldest, "limit": 50})).await;
    let page = bob.ws.expect("history").await;
    assert_eq!(page["messages"].as_array().unwrap().len(), 20);
    assert_eq!(page["more"], false);

    // Private conversations page the same way.
    alice.ws.dm(&bob.id, "coucou", "d0").await;
    bob.ws.expect("dm_request").await;
    bob.ws.send(json!({"t": "dm_accept", "with": alice.id})).await;
    for i in 1..30 {
        alice.ws.dm(&bob.id, &format!("message {i}"), &format!("d{i}")).await;
    }
    bob.ws.send(json!({"t": "dm_history", "with": alice.id, "before": 21, "limit": 10})).await;
    let page = bob.ws.expect("dm_history").await;
    let seqs: Vec<u64> = page["messages"].as_array().unwrap().iter().map(|m| m["seq"].as_u64().unwrap()).collect();
    assert_eq!(seqs, (11..=20).collect::<Vec<_>>());
    assert_eq!(page["more"], true);
    server.stop().await;
}

#[tokio::test]
async fn ignore_hides_public_lines_for_me_while_block_stops_private_messages() {
    let server = TestServer::start().await;
    let mut alice = server.member("Alice").await;
    let mut bob = server.member("Bavard").await;
    let mut carol = server.member("Carol").await;
    for person in [&mut alice, &mut bob, &mut carol] {
        person.ws.join("sport").await;
    }
    alice.ws.send(json!({"t": "ignore", "member": bob.id})).await;
    bob.ws.send(json!({"t": "typing", "room": "sport"})).await;
    let ack = bob.ws.say("sport", "blabla", "b1").await;
    // Carol sees Bob; Alice does not.
    carol.ws.expect_where("room_msg", |m| m["id"] == ack["id"]).await;
    alice.ws.expect_none("room_msg", Duration::from_millis(300)).await;
    assert!(!alice.ws.seen.iter().any(|m| m["t"] == "typing"), "typing from an ignored member is hidden too");
    // Ignoring is not blocking: Bob can still write to Alice privately.
    assert_eq!(bob.ws.dm(&alice.id, "pourquoi tu m'ignores ?", "d1").await["t"], "ack");
    alice.ws.expect("dm_request").await;
    // Unignore: his lines come back.
    alice.ws.send(json!({"t": "unignore", "member": bob.id})).await;
    let ack = bob.ws.say("sport", "re", "b2").await;
    alice.ws.expect_where("room_msg", |m| m["id"] == ack["id"]).await;
    // The list of ignored members survives a reconnect.
    alice.ws.send(json!({"t": "ignore", "member": bob.id})).await;
    alice.ws.send(json!({"t": "ping"})).await;
    alice.ws.expect("pong").await;
    let mut again = alice.browser.connect().await;
    let welcome = again.expect("welcome").await;
    assert_eq!(welcome["ignored"], json!([bob.id]));
    server.stop().await;
}

#[tokio::test]
async fn metrics_count_messages_and_refusals_for_the_operator() {
    let server = TestServer::start().await;
    let mut alice = server.member("Alice").await;
    alice.ws.join("sport").await;
    alice.ws.say("sport", "hello", "h1").await;
    alice.ws.say("sport", "hello", "h2").await;
    let text = reqwest::get(format!("{}/metrics", server.base)).await.unwrap().text().await.unwrap();
    assert!(text.contains("papote_messages_total{kind=\"room\"}"), "{text}");
    assert!(text.contains("papote_refusals_total{code=\"flood\"}"), "{text}");
    assert!(text.contains("papote_connections"), "{text}");
    assert!(text.contains("papote_saturated"), "{text}");
    // A reverse proxy on the same host connects from loopback for anyone: not through it.
    let proxied = reqwest::Client::new()
        .get(format!("{}/metrics", server.base))
        .header("X-Forwarded-For", "203.0.113.9")
        .send()
        .await
        .unwrap();
    assert_eq!(proxied.status(), reqwest::StatusCode::NOT_FOUND);
    server.stop().await;
}
