//! The safety engine end to end over WebSocket, with the real built-in rules: meeting cards for
//! both people, contact details with "are you sure?", a minor claim held with private messages
//! suspended and a case stored, a drug offer held and flagged.
#![allow(clippy::unwrap_used)]

mod common;

use std::time::Duration;

use common::{Person, TestServer};
use serde_json::json;

/// Two members with an open private conversation.
async fn open_pair(server: &TestServer, a: &str, b: &str) -> (Person, Person) {
    let mut first = server.member(a).await;
    let mut second = server.member(b).await;
    assert_eq!(first.ws.dm(&second.id, "salut, ça va ?", "open1").await["t"], "ack");
    second.ws.expect("dm_request").await;
    second.ws.send(json!({"t": "dm_accept", "with": first.id})).await;
    first.ws.expect_where("dm_state", |v| v["state"] == "open").await;
    second.ws.expect_where("dm_state", |v| v["state"] == "open").await;
    (first, second)
}

#[tokio::test]
async fn a_meeting_proposal_in_private_shows_both_people_the_card_once_a_day() {
    let server = TestServer::start().await;
    let (mut marc, mut julien) = open_pair(&server, "Marc", "Julien").await;
    let ack = marc.ws.dm(&julien.id, "on se voit ce soir au parking de la gare ?", "m1").await;
    assert_eq!(ack["t"], "ack", "a meeting proposal is delivered, with a card: {ack}");
    let delivered = julien.ws.expect_where("dm", |m| m["id"] == ack["id"]).await;
    assert_eq!(delivered["card"], "meeting");
    let card = julien.ws.expect_where("card", |c| c["kind"] == "meeting").await;
    assert_eq!(card["with"], marc.id.as_str());
    let card = marc.ws.expect_where("card", |c| c["kind"] == "meeting").await;
    assert_eq!(card["with"], julien.id.as_str());

    // The same conversation does not get the card again today.
    let ack = julien.ws.dm(&marc.id, "ok rdv a 22h devant", "j1").await;
    assert_eq!(ack["t"], "ack");
    marc.ws.expect_where("dm", |m| m["id"] == ack["id"]).await;
    marc.ws.expect_none("card", Duration::from_millis(300)).await;

    // An innocent neighbour passes without a card.
    let ack = marc.ws.dm(&julien.id, "on se voit sur le salon cuisine demain ?", "m2").await;
    let delivered = julien.ws.expect_where("dm", |m| m["id"] == ack["id"]).await;
    assert!(delivered.get("card").is_none(), "{delivered}");
    server.stop().await;
}

#[tokio::test]
async fn contact_details_ask_the_sender_first_and_warn_the_recipient() {
    let server = TestServer::start().await;
    let (mut lea, mut sam) = open_pair(&server, "Lea", "Sam").await;
    let answer = lea.ws.dm(&sam.id, "ajoute moi sur snap : lea.du59", "c1").await;
    assert_eq!(answer["t"], "confirm", "{answer}");
    assert_eq!(answer["kind"], "contact");
    sam.ws.expect_none("dm", Duration::from_millis(300)).await;

    lea.ws
        .send(json!({"t": "dm", "to": sam.id, "text": "ajoute moi sur snap : lea.du59", "ref": "c2", "confirm": true}))
        .await;
    assert_eq!(lea.ws.answer("c2").await["t"], "ack");
    let delivered = sam.ws.expect("dm").await;
    assert_eq!(delivered["card"], "contact");
    let card = sam.ws.expect_where("card", |c| c["kind"] == "contact").await;
    assert_eq!(card["with"], lea.id.as_str());

    // Confirmed once for this conversation: not asked again.
    let answer = lea.ws.dm(&sam.id, "ou mon 06 12 34 56 78", "c3").await;
    assert_eq!(answer["t"], "ack", "{answer}");
    server.stop().await;
}

#[tokio::test]
async fn a_minor_claim_is_held_suspends_private_messages_warns_the_others_and_opens_a_case() {
    let server = TestServer::start().await;
    let (mut ado, mut adult) = open_pair(&server, "Chloe", "Thierry").await;
    let refused = ado.ws.dm(&adult.id, "jsuis en 4eme au college", "a1").await;
    assert_eq!(refused["code"], "flagged", "{refused}");
    assert!(refused["message"].as_str().unwrap().contains("18 ans"), "told the site is for adults");
    adult.ws.expect_none("dm", Duration::from_millis(200)).await;
    let warning = adult.ws.expect_where("card", |c| c["kind"] == "minor_warning").await;
    assert_eq!(warning["with"], ado.id.as_str());

    // Private messages are over for that session.
    let refused = ado.ws.dm(&adult.id, "tu es là ?", "a2").await;
    assert_eq!(refused["code"], "dm_suspended");

    let cases = server.server().store.open_cases(10).await.unwrap();
    assert_eq!(cases.len(), 1);
    assert_eq!(cases[0].severity, 0, "minors in danger come first");
    assert!(cases[0].categories.contains("minor_claim"));
    assert_eq!(cases[0].text, "jsuis en 4eme au college");
    server.stop().await;
}

#[tokio::test]
async fn a_drug_offer_is_held_and_flagged_and_sexual_talk_stays_out_of_public_rooms() {
    let server = TestServer::start().await;
    let mut dealer = server.member("Vendeur").await;
    let mut other = server.member("Passant").await;
    dealer.ws.join("actualite").await;
    other.ws.join("actualite").await;
    let refused = dealer.ws.say("actualite", "je vends de la beuh, dispo ce soir, envoie mp", "d1").await;
    assert_eq!(refused["code"], "flagged", "{refused}");
    let cases = server.server().store.open_cases(10).await.unwrap();
    assert_eq!(cases.len(), 1);
    assert!(cases[0].categories.contains("drugs"));

    let refused = other.ws.say("actualite", "je suis trop excité j'ai envie de baiser", "s1").await;
    assert_eq!((refused["t"].as_str(), refused["code"].as_str()), (Some("refused"), Some("held")), "{refused}");
    // The news about drugs is not an offer.
    let ack = other.ws.say("actualite", "la cocaïne est un fléau, un reportage ce soir sur france 2", "n1").await;
    assert_eq!(ack["t"], "ack", "{ack}");
    dealer.ws.expect_where("room_msg", |m| m["id"] == ack["id"]).await;
    assert_eq!(server.server().store.open_cases(10).await.unwrap().len(), 1);
    server.stop().await;
}
