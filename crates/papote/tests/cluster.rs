//! Several nodes, one PostgreSQL, one Redis: they behave as one site. Needs the real servers:
//! `PAPOTE_TEST_POSTGRES` and `PAPOTE_TEST_REDIS` (`.ci/run` starts them with
//! `scripts/test-services`); the Redis restart test starts a Redis of its own.
#![allow(clippy::unwrap_used)]

mod common;

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use common::{Person, TestServer};
use papote::store::PostgresStore;
use serde_json::{Value, json};

/// A fresh database and Redis database index for one test, so tests run side by side.
async fn services(name: &str, redis_db: u8) -> (String, String) {
    let postgres = std::env::var("PAPOTE_TEST_POSTGRES").expect("PAPOTE_TEST_POSTGRES");
    let redis = std::env::var("PAPOTE_TEST_REDIS").expect("PAPOTE_TEST_REDIS");
    let database = PostgresStore::fresh_database_for_tests(&postgres, name).await.unwrap();
    let redis = format!("{}/{redis_db}", redis.trim_end_matches('/'));
    let client = redis::Client::open(redis.as_str()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();
    let _: () = redis::cmd("FLUSHDB").query_async(&mut connection).await.unwrap();
    (database, redis)
}

async fn node(database: &str, broker: &str) -> TestServer {
    let (database, broker) = (database.to_owned(), broker.to_owned());
    TestServer::with(move |c| {
        c.database = database;
        c.broker = Some(broker);
        c.session_grace_secs = 60;
        c.entries_per_ip_per_minute = 0;
    })
    .await
}

/// Someone who entered through `entry` and connected their WebSocket to `ws` (no stickiness).
async fn member_via(entry: &TestServer, ws: &TestServer, nickname: &str, postcode: &str) -> Person {
    let mut browser = entry.browser(&format!("agent/{nickname}"));
    let (status, body) = browser.enter(nickname, "femme", 35, postcode).await;
    assert_eq!(status, 200, "{nickname}: {body}");
    // The cookie jar is per browser; point it at the other node for the socket.
    let cookie = browser.cookie_header();
    browser.base = ws.base.clone();
    let url = ws.base.parse().unwrap();
    for part in cookie.split("; ") {
        browser.jar.add_cookie_str(part, &url);
    }
    let mut socket = browser.connect().await;
    let welcome = socket.expect("welcome").await;
    let id = welcome["me"]["id"].as_str().unwrap().to_owned();
    Person { browser, ws: socket, id, nickname: nickname.to_owned() }
}

fn names(list: &Value) -> Vec<String> {
    list.as_array().unwrap().iter().map(|m| m["nickname"].as_str().unwrap().to_owned()).collect()
}

#[tokio::test]
#[ignore = "needs PostgreSQL and Redis (see scripts/test-services)"]
async fn two_nodes_behave_as_one_site() {
    let (database, broker) = services("papote_cluster_site", 1).await;
    let a = node(&database, &broker).await;
    let b = node(&database, &broker).await;

    let mut alice = member_via(&a, &a, "Alice", "59000").await;
    let mut bob = member_via(&b, &b, "Bob", "75001").await;

    // A nickname is unique site-wide.
    let twin = b.browser("twin");
    let (status, body) = twin.enter("ALICE", "homme", 40, "59000").await;
    assert_eq!((status, body["error"]["code"].as_str()), (409, Some("nickname_taken")), "{body}");

    // The member list includes members of the other node, with their distance.
    let list = loop {
        alice.ws.send(json!({"t": "members"})).await;
        let list = alice.ws.expect("members").await;
        if names(&list["list"]).contains(&"Bob".to_owned()) {
            break list;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(list["list"][0]["distance_km"], 200);

    // A room spans the nodes: messages in order, counts and lists include everyone.
    alice.ws.join("cuisine").await;
    bob.ws.join("cuisine").await;
    alice.ws.expect_where("room_members", |v| names(&v["joined"]).contains(&"Bob".to_owned())).await;
    for i in 0..5 {
        let ack = bob.ws.say("cuisine", &format!("recette {i}"), &format!("b{i}")).await;
        assert_eq!(ack["t"], "ack", "{ack}");
    }
    let mut seqs = Vec::new();
    for i in 0..5 {
        let msg = alice.ws.expect_where("room_msg", |m| m["text"] == format!("recette {i}")).await;
        seqs.push(msg["seq"].as_u64().unwrap());
    }
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "in order: {seqs:?}");
    let ack = alice.ws.say("cuisine", "vu de Lille", "a1").await;
    let seen = bob.ws.expect_where("room_msg", |m| m["id"] == ack["id"]).await;
    assert!(seen["seq"].as_u64().unwrap() > seqs[4]);
    alice.ws.send(json!({"t": "room_member_list", "room": "cuisine"})).await;
    let members = alice.ws.expect("room_member_list").await;
    assert_eq!(members["count"], 2);

    // A private message reaches the other node, as a request, then both ways.
    assert_eq!(alice.ws.dm(&bob.id, "salut Bob, ça va ?", "d1").await["t"], "ack");
    let request = bob.ws.expect("dm_request").await;
    assert_eq!(request["from"]["nickname"], "Alice");
    assert_eq!(request["from"]["distance_km"], 200);
    bob.ws.send(json!({"t": "dm_accept", "with": alice.id})).await;
    alice.ws.expect_where("dm_state", |v| v["state"] == "open").await;
    assert_eq!(bob.ws.dm(&alice.id, "très bien et toi", "e1").await["t"], "ack");
    alice.ws.expect_where("dm", |m| m["text"] == "très bien et toi").await;

    // A WebSocket that lands on the other node is relayed to its session's node.
    let mut carol = member_via(&a, &b, "Carol", "13001").await;
    carol.ws.join("cuisine").await;
    let ack = carol.ws.say("cuisine", "je passe par l'autre noeud", "c1").await;
    assert_eq!(ack["t"], "ack", "{ack}");
    alice.ws.expect_where("room_msg", |m| m["id"] == ack["id"]).await;
    bob.ws.expect_where("room_msg", |m| m["id"] == ack["id"]).await;

    // A block holds on every node.
    bob.ws.send(json!({"t": "block", "member": alice.id})).await;
    let gone =
        alice.ws.expect_where("presence", |v| v["left"].as_array().unwrap().iter().any(|l| l == bob.id.as_str())).await;
    assert!(gone["joined"].as_array().unwrap().is_empty());
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(alice.ws.dm(&bob.id, "tu m'as bloquée ?", "d2").await["code"], "blocked");

    // The under-age lock, kept in PostgreSQL, applies on every node.
    let teen_a = a.browser("teen-phone");
    assert_eq!(
        teen_a
            .post_entry(json!({"nickname": "Jade", "gender": "femme", "age": 15, "postcode": "59000", "charter": true}))
            .await
            .0,
        403
    );
    let teen_b = b.browser("teen-phone");
    let (status, body) = teen_b
        .post_entry(json!({"nickname": "Jade", "gender": "femme", "age": 19, "postcode": "59000", "charter": true}))
        .await;
    assert_eq!((status, body["error"]["code"].as_str()), (403, Some("entry_locked")));

    // Leaving frees the nickname site-wide.
    let status = bob.browser.http.post(format!("{}/api/leave", b.base)).send().await.unwrap().status();
    assert_eq!(status, 204);
    let again = a.browser("again");
    assert_eq!(again.enter("Bob", "homme", 30, "59000").await.0, 200);
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL and Redis (see scripts/test-services)"]
async fn entries_per_address_are_limited_site_wide() {
    let (database, broker) = services("papote_cluster_limits", 2).await;
    let limited = |database: String, broker: String| {
        TestServer::with(move |c| {
            c.database = database;
            c.broker = Some(broker);
            c.entries_per_ip_per_minute = 3;
        })
    };
    let a = limited(database.clone(), broker.clone()).await;
    let b = limited(database, broker).await;
    let mut statuses = Vec::new();
    for (i, server) in [&a, &b, &a, &b].into_iter().enumerate() {
        let browser = server.browser(&format!("ua{i}"));
        statuses.push(
            browser.enter(&format!("Membre{}", ["un", "deux", "trois", "quatre"][i]), "homme", 30, "59000").await.0,
        );
    }
    assert_eq!(statuses, [200, 200, 200, 429]);
    a.stop().await;
    b.stop().await;
}

/// A node run as its own process, so it can be killed.
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

async fn wait_healthy(base: &str) {
    for _ in 0..150 {
        if reqwest::get(format!("{base}/healthz")).await.is_ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{base} did not start");
}

fn spawn_node(database: &str, broker: &str, port: u16) -> Process {
    Process(
        Command::new(env!("CARGO_BIN_EXE_papote"))
            .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--database", database, "--broker", broker])
            .args(["--insecure-skip-proof-of-work", "--entries-per-ip-per-minute", "0"])
            .env("PAPOTE_LOG", "warn")
            .stdout(Stdio::null())
            .spawn()
            .unwrap(),
    )
}

#[tokio::test]
#[ignore = "needs PostgreSQL and Redis (see scripts/test-services)"]
async fn a_killed_node_disappears_within_thirty_seconds() {
    let (database, broker) = services("papote_cluster_kill", 3).await;
    let a = node(&database, &broker).await;
    let port = free_port();
    let mut doomed = spawn_node(&database, &broker, port);
    let c = TestServer { server: None, base: format!("http://127.0.0.1:{port}") };
    wait_healthy(&c.base).await;

    let mut alice = member_via(&a, &a, "Alice", "59000").await;
    let _dave = member_via(&c, &c, "Dave", "59000").await;
    let mut seen = false;
    for _ in 0..50 {
        alice.ws.send(json!({"t": "members"})).await;
        if names(&alice.ws.expect("members").await["list"]).contains(&"Dave".to_owned()) {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(seen, "Dave, on the other node, is listed");

    doomed.0.kill().unwrap();
    doomed.0.wait().unwrap();
    let killed = tokio::time::Instant::now();
    let gone = loop {
        alice.ws.send(json!({"t": "members"})).await;
        if !names(&alice.ws.expect("members").await["list"]).contains(&"Dave".to_owned()) {
            break killed.elapsed();
        }
        assert!(killed.elapsed() < Duration::from_secs(30), "Dave still listed 30 s after his node died");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    // And his nickname is free again.
    let freed = loop {
        let browser = a.browser("new-dave");
        if browser.enter("Dave", "homme", 44, "59000").await.0 == 200 {
            break killed.elapsed();
        }
        assert!(killed.elapsed() < Duration::from_secs(30), "nickname still taken 30 s after the node died");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    println!("members gone after {gone:?}, nickname free after {freed:?}");
    a.stop().await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL and redis-server (see scripts/test-services)"]
async fn a_redis_restart_is_survived_and_clients_resync() {
    let postgres = std::env::var("PAPOTE_TEST_POSTGRES").expect("PAPOTE_TEST_POSTGRES");
    let database = PostgresStore::fresh_database_for_tests(&postgres, "papote_cluster_restart").await.unwrap();
    let redis_port = free_port();
    let dir = std::env::temp_dir().join(format!("papote-redis-{redis_port}"));
    std::fs::create_dir_all(&dir).unwrap();
    let start_redis = || {
        Process(
            Command::new("redis-server")
                .args(["--port", &redis_port.to_string(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"])
                .arg("--dir")
                .arg(&dir)
                .stdout(Stdio::null())
                .spawn()
                .unwrap(),
        )
    };
    let mut redis = start_redis();
    tokio::time::sleep(Duration::from_millis(500)).await;
    let broker = format!("redis://127.0.0.1:{redis_port}");
    let a = node(&database, &broker).await;
    let b = node(&database, &broker).await;
    let mut alice = member_via(&a, &a, "Alice", "59000").await;
    let mut bob = member_via(&b, &b, "Bob", "59000").await;
    alice.ws.join("sport").await;
    bob.ws.join("sport").await;
    let ack = alice.ws.say("sport", "avant la coupure", "a1").await;
    bob.ws.expect_where("room_msg", |m| m["id"] == ack["id"]).await;

    // Redis goes away and comes back, empty.
    redis.0.kill().unwrap();
    redis.0.wait().unwrap();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let _redis = start_redis();

    // Clients are told to resync (their socket closes with 4000), then carry on.
    assert_eq!(alice.ws.expect_close().await, Some(4000));
    assert_eq!(bob.ws.expect_close().await, Some(4000));
    let mut alice_ws = alice.browser.connect().await;
    alice_ws.expect("welcome").await;
    let mut bob_ws = bob.browser.connect().await;
    bob_ws.expect("welcome").await;
    alice_ws.send(json!({"t": "join", "room": "sport", "since": 1})).await;
    let joined = alice_ws.expect("joined").await;
    assert_eq!(joined["replay"], false, "a gap is never replayed as if complete");
    bob_ws.send(json!({"t": "join", "room": "sport"})).await;
    bob_ws.expect("joined").await;
    let mut delivered = false;
    for attempt in 0..20 {
        alice_ws.send(json!({"t": "say", "room": "sport", "text": format!("après la coupure {attempt}"), "ref": format!("r{attempt}")})).await;
        if matches!(bob_ws.next(Duration::from_millis(500)).await, common::Next::Msg(m) if m["t"] == "room_msg") {
            delivered = true;
            break;
        }
    }
    assert!(delivered, "messages flow again across nodes after the restart");
    a.stop().await;
    b.stop().await;
    std::fs::remove_dir_all(&dir).ok();
}

/// The member count of `room` as `person` is told it, once it reaches `wanted` (nodes exchange
/// membership asynchronously).
async fn wait_for_count(person: &mut Person, room: &str, wanted: u64) {
    for _ in 0..50 {
        person.ws.send(json!({"t": "room_member_list", "room": room})).await;
        let list = person.ws.expect_where("room_member_list", |l| l["room"] == room).await;
        if list["count"] == wanted {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{} never saw {wanted} members in {room}", person.nickname);
}

#[tokio::test]
#[ignore = "needs PostgreSQL and Redis (see scripts/test-services)"]
async fn private_rooms_span_nodes_and_a_late_node_learns_who_is_inside() {
    let (database, broker) = services("papote_cluster_private", 5).await;
    let a = node(&database, &broker).await;
    let mut alice = member_via(&a, &a, "Alice", "59000").await;
    let mut dan = member_via(&a, &a, "Dan", "59000").await;
    alice.ws.join("cinema-series").await;
    alice.ws.send(json!({"t": "room_create", "name": "Ciné du jeudi"})).await;
    let room = alice.ws.expect("private_room").await["room"]["id"].as_str().unwrap().to_owned();
    alice.ws.expect_where("joined", |j| j["room"] == room.as_str()).await;

    // A node started after the rooms filled up knows who is inside them.
    let b = node(&database, &broker).await;
    let mut bob = member_via(&b, &b, "Bob", "75001").await;
    bob.ws.join("cinema-series").await;
    wait_for_count(&mut bob, "cinema-series", 2).await;

    // An invitation reaches a member on the other node, who joins and talks.
    loop {
        alice.ws.send(json!({"t": "members"})).await;
        if names(&alice.ws.expect("members").await["list"]).contains(&"Bob".to_owned()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    alice.ws.send(json!({"t": "room_invite", "room": room, "member": bob.id})).await;
    let invitation = bob.ws.expect("room_invitation").await;
    assert_eq!(invitation["from"]["nickname"], "Alice");
    assert_eq!(invitation["room"]["name"], "Ciné du jeudi");
    bob.ws.send(json!({"t": "room_accept", "room": room})).await;
    bob.ws.expect_where("joined", |j| j["room"] == room.as_str()).await;
    let answer = alice.ws.expect("room_invitation_answer").await;
    assert_eq!((answer["member"].as_str(), answer["accepted"].as_bool()), (Some(bob.id.as_str()), Some(true)));
    wait_for_count(&mut bob, &room, 2).await;
    let ack = bob.ws.say(&room, "on regarde quoi jeudi ?", "b1").await;
    assert_eq!(ack["t"], "ack", "{ack}");
    alice.ws.expect_where("room_msg", |m| m["id"] == ack["id"]).await;
    let ack = alice.ws.say(&room, "un vieux Truffaut", "a1").await;
    bob.ws.expect_where("room_msg", |m| m["id"] == ack["id"]).await;
    // Someone who was not invited stays out, on any node.
    dan.ws.send(json!({"t": "join", "room": room})).await;
    assert_eq!(dan.ws.expect("error").await["code"], "not_invited");

    // The owner on one node removes a member on the other.
    alice.ws.send(json!({"t": "room_remove", "room": room, "member": bob.id})).await;
    assert_eq!(bob.ws.expect("removed").await["room"], room.as_str());
    assert_eq!(bob.ws.say(&room, "encore là ?", "b2").await["code"], "not_in_room");
    bob.ws.send(json!({"t": "room_accept", "room": room})).await;
    assert_eq!(bob.ws.expect("error").await["code"], "not_invited");

    // The last member leaves: the room ends on every node.
    alice.ws.send(json!({"t": "leave", "room": room})).await;
    alice.ws.expect_where("left", |l| l["room"] == room.as_str()).await;
    for _ in 0..50 {
        if b.server().hub.private_room_count() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!((a.server().hub.private_room_count(), b.server().hub.private_room_count()), (0, 0));
    a.stop().await;
    b.stop().await;
}
