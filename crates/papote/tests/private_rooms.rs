//! Private rooms over real WebSockets: vetted names, invitations as requests, owner actions, the
//! member cap, the end of a room.
#![allow(clippy::unwrap_used)]

mod common;

use common::TestServer;
use serde_json::json;

#[tokio::test]
async fn invitation_flow_owner_actions_cap_and_end() {
    let server = TestServer::with(|c| c.private_room_max_members = 3).await;
    let mut owner = server.member("Patron").await;
    let mut bob = server.member("Bob").await;
    let mut carol = server.member("Carol").await;
    let mut dave = server.member("Dave").await;

    // Names are vetted.
    owner.ws.send(json!({"t": "room_create", "name": "ado chaude"})).await;
    assert_eq!(owner.ws.expect("error").await["code"], "room_name_refused");
    owner.ws.send(json!({"t": "room_create", "name": "x"})).await;
    assert_eq!(owner.ws.expect("error").await["code"], "invalid_room_name");

    owner.ws.send(json!({"t": "room_create", "name": "Les amis du foot"})).await;
    let created = owner.ws.expect("private_room").await;
    assert_eq!(created["room"]["private"], true);
    assert_eq!(created["room"]["owner"], owner.id.as_str());
    assert_eq!(created["room"]["name"], "Les amis du foot");
    let room = created["room"]["id"].as_str().unwrap().to_owned();
    owner.ws.expect_where("joined", |j| j["room"] == room.as_str()).await;

    // Joining without an invitation is refused.
    carol.ws.send(json!({"t": "join", "room": room})).await;
    assert_eq!(carol.ws.expect("error").await["code"], "not_invited");

    // An invitation is a request: accept or decline.
    owner.ws.send(json!({"t": "room_invite", "room": room, "member": bob.id})).await;
    let invitation = bob.ws.expect("room_invitation").await;
    assert_eq!(invitation["from"]["nickname"], "Patron");
    assert_eq!(invitation["room"]["name"], "Les amis du foot");
    bob.ws.send(json!({"t": "room_accept", "room": room})).await;
    bob.ws.expect_where("joined", |j| j["room"] == room.as_str()).await;
    owner.ws.send(json!({"t": "room_invite", "room": room, "member": dave.id})).await;
    dave.ws.expect("room_invitation").await;
    dave.ws.send(json!({"t": "room_decline", "room": room})).await;
    let answer = owner.ws.expect_where("room_invitation_answer", |a| a["accepted"] == false).await;
    assert_eq!((answer["member"].as_str(), answer["accepted"].as_bool()), (Some(dave.id.as_str()), Some(false)));
    dave.ws.send(json!({"t": "join", "room": room})).await;
    assert_eq!(dave.ws.expect("error").await["code"], "not_invited");

    // Messages go to members only.
    let ack = bob.ws.say(&room, "salut la team", "b1").await;
    owner.ws.expect_where("room_msg", |m| m["id"] == ack["id"]).await;

    // Only the owner removes members or hands over.
    bob.ws.send(json!({"t": "room_remove", "room": room, "member": owner.id})).await;
    assert_eq!(bob.ws.expect("error").await["code"], "not_owner");
    owner.ws.send(json!({"t": "room_invite", "room": room, "member": carol.id})).await;
    carol.ws.expect("room_invitation").await;
    carol.ws.send(json!({"t": "room_accept", "room": room})).await;
    carol.ws.expect_where("joined", |j| j["room"] == room.as_str()).await;
    owner.ws.send(json!({"t": "room_remove", "room": room, "member": bob.id})).await;
    assert_eq!(bob.ws.expect("removed").await["room"], room.as_str());
    let refused = bob.ws.say(&room, "je suis encore là ?", "b2").await;
    assert_eq!(refused["code"], "not_in_room");

    // The cap (3 here): owner, Carol, and one more.
    owner.ws.send(json!({"t": "room_invite", "room": room, "member": dave.id})).await;
    dave.ws.expect("room_invitation").await;
    owner.ws.send(json!({"t": "room_invite", "room": room, "member": bob.id})).await;
    bob.ws.expect("room_invitation").await;
    dave.ws.send(json!({"t": "room_accept", "room": room})).await;
    dave.ws.expect_where("joined", |j| j["room"] == room.as_str()).await;
    bob.ws.send(json!({"t": "room_accept", "room": room})).await;
    assert_eq!(bob.ws.expect("error").await["code"], "room_full");

    // Hand over, then everyone leaves: the room ends.
    owner.ws.send(json!({"t": "room_owner", "room": room, "member": carol.id})).await;
    let update = carol.ws.expect_where("private_room", |p| p["room"]["owner"] == carol.id.as_str()).await;
    assert_eq!(update["room"]["id"], room.as_str());
    for person in [&mut owner, &mut carol, &mut dave] {
        person.ws.send(json!({"t": "leave", "room": room})).await;
        person.ws.expect("left").await;
    }
    bob.ws.send(json!({"t": "room_accept", "room": room})).await;
    assert_eq!(bob.ws.expect("error").await["code"], "unknown_room");
    assert_eq!(server.server().hub.private_room_count(), 0);
    server.stop().await;
}
