//! One broker test suite, run against every backend: in-process always, Redis when
//! `PAPOTE_TEST_REDIS` names a server (`.ci/run` starts one; `scripts/test-services`).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::Duration;

use papote::broker::{Broker, ClusterEvent, Incoming, LocalBroker, RedisBroker, RoomWire};
use papote::protocol::{Author, MemberId};
use tokio::sync::mpsc;

async fn next_event(rx: &mut mpsc::Receiver<Incoming>) -> ClusterEvent {
    loop {
        match tokio::time::timeout(Duration::from_secs(5), rx.recv()).await.unwrap().unwrap() {
            Incoming::Event(envelope) => return envelope.event,
            Incoming::Reconnected => continue,
        }
    }
}

fn say(i: u64) -> RoomWire {
    RoomWire::Say {
        author: Author { id: MemberId(7), nickname: "Lea".into() },
        id: i,
        text: format!("message {i}"),
        at: 1,
        card: None,
    }
}

/// Everything a single broker must do, seen from one node.
async fn suite(broker: Arc<dyn Broker>) {
    let mut rx = broker.take_incoming().unwrap();
    assert!(broker.take_incoming().is_none(), "taken once");
    // Subscriptions may take a moment to be in place.
    tokio::time::sleep(Duration::from_millis(200)).await;

    // Events reach this node, room events numbered in order.
    broker.broadcast(&ClusterEvent::Gone { member: MemberId(3) }).await.unwrap();
    assert_eq!(next_event(&mut rx).await, ClusterEvent::Gone { member: MemberId(3) });
    broker.send_to(broker.node(), &ClusterEvent::Gone { member: MemberId(4) }).await.unwrap();
    assert_eq!(next_event(&mut rx).await, ClusterEvent::Gone { member: MemberId(4) });
    // A batch arrives whole and in order, whether addressed to this node or to every node.
    let batch: Vec<_> = (10..40)
        .map(|i| (if i % 3 == 0 { None } else { Some(broker.node()) }, ClusterEvent::Gone { member: MemberId(i) }))
        .collect();
    broker.publish(&batch).await.unwrap();
    for i in 10..40 {
        assert_eq!(next_event(&mut rx).await, ClusterEvent::Gone { member: MemberId(i) });
    }
    let room = format!("suite-{}", broker.node());
    let mut seqs = Vec::new();
    for i in 1..=5 {
        seqs.push(broker.publish_room(&room, &say(i)).await.unwrap());
    }
    assert_eq!(seqs, [1, 2, 3, 4, 5]);
    for i in 1..=5 {
        match next_event(&mut rx).await {
            ClusterEvent::Room { room: r, seq, event } => {
                assert_eq!((r.as_str(), seq), (room.as_str(), i));
                assert_eq!(event, say(i));
            }
            other => panic!("{other:?}"),
        }
    }

    // Claims: one owner at a time, released only by the owner, expiring unless refreshed.
    let key = format!("nick:lola:{}", broker.node());
    assert!(broker.claim(&key, "a", Duration::from_millis(300)).await.unwrap());
    assert!(!broker.claim(&key, "b", Duration::from_secs(5)).await.unwrap());
    broker.release(&key, "b").await.unwrap();
    assert!(!broker.claim(&key, "b", Duration::from_secs(5)).await.unwrap(), "only the owner releases");
    broker.refresh(&[(key.clone(), "a".into())], Duration::from_millis(900)).await.unwrap();
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert!(!broker.claim(&key, "b", Duration::from_secs(5)).await.unwrap(), "refreshed");
    tokio::time::sleep(Duration::from_millis(700)).await;
    assert!(broker.claim(&key, "b", Duration::from_secs(5)).await.unwrap(), "expired");
    broker.release(&key, "b").await.unwrap();
    assert!(broker.claim(&key, "c", Duration::from_secs(5)).await.unwrap(), "released");

    // Counters per window, and first sightings.
    let counter = format!("rl:{}", broker.node());
    for expected in 1..=3 {
        assert_eq!(broker.hit(&counter, Duration::from_millis(400)).await.unwrap(), expected);
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(broker.hit(&counter, Duration::from_millis(400)).await.unwrap(), 1);
    let seen = format!("pow:{}", broker.node());
    assert!(broker.first_time(&seen, Duration::from_secs(5)).await.unwrap());
    assert!(!broker.first_time(&seen, Duration::from_secs(5)).await.unwrap());

    // Liveness and maps.
    broker.heartbeat(Duration::from_secs(5)).await.unwrap();
    assert!(broker.live_nodes().await.unwrap().contains(&broker.node()));
    let map = format!("presence:{}", broker.node());
    broker.map_put(&map, "m1", "one").await.unwrap();
    broker.map_put(&map, "m2", "two").await.unwrap();
    assert_eq!(broker.map_get(&map, "m1").await.unwrap().as_deref(), Some("one"));
    broker.map_remove(&map, &["m1".into()]).await.unwrap();
    assert_eq!(broker.map_all(&map).await.unwrap(), [("m2".to_owned(), "two".to_owned())]);
}

#[tokio::test]
async fn local_backend() {
    let broker = Arc::new(LocalBroker::new());
    assert!(!broker.is_shared());
    suite(broker).await;
}

#[tokio::test]
#[ignore = "needs Redis: PAPOTE_TEST_REDIS=redis://… (see scripts/test-services)"]
async fn redis_backend() {
    let url = format!("{}/5", std::env::var("PAPOTE_TEST_REDIS").expect("PAPOTE_TEST_REDIS").trim_end_matches('/'));
    let broker = Arc::new(RedisBroker::connect(&url).await.unwrap());
    assert!(broker.is_shared());
    suite(broker).await;
}

#[tokio::test]
#[ignore = "needs Redis: PAPOTE_TEST_REDIS=redis://… (see scripts/test-services)"]
async fn redis_nodes_hear_each_other_and_rooms_are_numbered_site_wide() {
    let url = format!("{}/6", std::env::var("PAPOTE_TEST_REDIS").expect("PAPOTE_TEST_REDIS").trim_end_matches('/'));
    let a = RedisBroker::connect(&url).await.unwrap();
    let b = RedisBroker::connect(&url).await.unwrap();
    let mut rx_a = a.take_incoming().unwrap();
    let mut rx_b = b.take_incoming().unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    b.send_to(a.node(), &ClusterEvent::Gone { member: MemberId(9) }).await.unwrap();
    assert_eq!(next_event(&mut rx_a).await, ClusterEvent::Gone { member: MemberId(9) });
    let room = format!("shared-{}", a.node());
    let s1 = a.publish_room(&room, &say(1)).await.unwrap();
    let s2 = b.publish_room(&room, &say(2)).await.unwrap();
    assert_eq!((s1, s2), (1, 2));
    for rx in [&mut rx_a, &mut rx_b] {
        let seqs: Vec<u64> = [next_event(rx).await, next_event(rx).await]
            .into_iter()
            .map(|e| match e {
                ClusterEvent::Room { seq, .. } => seq,
                other => panic!("{other:?}"),
            })
            .collect();
        assert_eq!(seqs, [1, 2], "both nodes see the room in order");
    }
    let key = format!("nick:shared:{}", a.node());
    assert!(a.claim(&key, "ma", Duration::from_secs(5)).await.unwrap());
    assert!(!b.claim(&key, "mb", Duration::from_secs(5)).await.unwrap(), "unique site-wide");
}
