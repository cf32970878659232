//! The in-process broker: one node, nothing to share. Its operations work (so the broker test
//! suite runs against it), but the hub does not route its hot paths through it.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::{Broker, BrokerResult, ClusterEvent, Envelope, Incoming, NodeId, RoomWire, random_node_id};
use crate::hub::session::lock;

pub struct LocalBroker {
    node: NodeId,
    tx: mpsc::UnboundedSender<Incoming>,
    forward: Mutex<Option<mpsc::UnboundedReceiver<Incoming>>>,
    claims: Mutex<HashMap<String, (String, Instant)>>,
    hits: Mutex<HashMap<String, (u64, Instant)>>,
    maps: Mutex<HashMap<String, HashMap<String, String>>>,
    sequences: Mutex<HashMap<String, u64>>,
    alive_until: AtomicU64,
}

impl Default for LocalBroker {
    fn default() -> Self {
        Self::new()
    }
}

impl LocalBroker {
    pub fn new() -> LocalBroker {
        let (tx, forward) = mpsc::unbounded_channel();
        LocalBroker {
            node: random_node_id(),
            tx,
            forward: Mutex::new(Some(forward)),
            claims: Mutex::new(HashMap::new()),
            hits: Mutex::new(HashMap::new()),
            maps: Mutex::new(HashMap::new()),
            sequences: Mutex::new(HashMap::new()),
            alive_until: AtomicU64::new(0),
        }
    }

    fn deliver(&self, event: &ClusterEvent) {
        let envelope = Envelope { from: self.node, event: event.clone() };
        let _ = self.tx.send(Incoming::Event(Box::new(envelope)));
    }
}

#[async_trait]
impl Broker for LocalBroker {
    fn node(&self) -> NodeId {
        self.node
    }

    fn is_shared(&self) -> bool {
        false
    }

    fn take_incoming(&self) -> Option<mpsc::Receiver<Incoming>> {
        // Bridge the unbounded loopback to the bounded receiver the trait promises.
        let mut forward = lock(&self.forward).take()?;
        let (tx, rx) = mpsc::channel(1024);
        tokio::spawn(async move {
            while let Some(item) = forward.recv().await {
                if tx.send(item).await.is_err() {
                    return;
                }
            }
        });
        Some(rx)
    }

    async fn broadcast(&self, event: &ClusterEvent) -> BrokerResult<()> {
        self.deliver(event);
        Ok(())
    }

    async fn send_to(&self, node: NodeId, event: &ClusterEvent) -> BrokerResult<()> {
        if node == self.node {
            self.deliver(event);
        }
        Ok(())
    }

    async fn publish_room(&self, room: &str, event: &RoomWire) -> BrokerResult<u64> {
        let seq = {
            let mut sequences = lock(&self.sequences);
            let seq = sequences.entry(room.to_owned()).or_insert(0);
            *seq += 1;
            *seq
        };
        self.deliver(&ClusterEvent::Room { room: room.to_owned(), seq, event: event.clone() });
        Ok(seq)
    }

    async fn claim(&self, key: &str, owner: &str, ttl: Duration) -> BrokerResult<bool> {
        let now = Instant::now();
        let mut claims = lock(&self.claims);
        match claims.get(key) {
            Some((_, until)) if *until > now => Ok(false),
            _ => {
                claims.insert(key.to_owned(), (owner.to_owned(), now + ttl));
                Ok(true)
            }
        }
    }

    async fn release(&self, key: &str, owner: &str) -> BrokerResult<()> {
        let mut claims = lock(&self.claims);
        if claims.get(key).is_some_and(|(o, _)| o == owner) {
            claims.remove(key);
        }
        Ok(())
    }

    async fn refresh(&self, held: &[(String, String)], ttl: Duration) -> BrokerResult<()> {
        let now = Instant::now();
        let mut claims = lock(&self.claims);
        for (key, owner) in held {
            if let Some((o, until)) = claims.get_mut(key)
                && o == owner
                && *until > now
            {
                *until = now + ttl;
            }
        }
        Ok(())
    }

    async fn hit(&self, key: &str, window: Duration) -> BrokerResult<u64> {
        let now = Instant::now();
        let mut hits = lock(&self.hits);
        let entry = hits.entry(key.to_owned()).or_insert((0, now + window));
        if entry.1 <= now {
            *entry = (0, now + window);
        }
        entry.0 += 1;
        Ok(entry.0)
    }

    async fn first_time(&self, key: &str, ttl: Duration) -> BrokerResult<bool> {
        self.claim(key, "", ttl).await
    }

    async fn heartbeat(&self, ttl: Duration) -> BrokerResult<()> {
        let until = crate::clock::now_ms().max(0) as u64 + ttl.as_millis() as u64;
        self.alive_until.store(until, Ordering::Relaxed);
        Ok(())
    }

    async fn live_nodes(&self) -> BrokerResult<Vec<NodeId>> {
        let alive = self.alive_until.load(Ordering::Relaxed) > crate::clock::now_ms().max(0) as u64;
        Ok(if alive { vec![self.node] } else { Vec::new() })
    }

    async fn map_put(&self, map: &str, field: &str, value: &str) -> BrokerResult<()> {
        lock(&self.maps).entry(map.to_owned()).or_default().insert(field.to_owned(), value.to_owned());
        Ok(())
    }

    async fn map_remove(&self, map: &str, fields: &[String]) -> BrokerResult<()> {
        if let Some(entries) = lock(&self.maps).get_mut(map) {
            for field in fields {
                entries.remove(field);
            }
        }
        Ok(())
    }

    async fn map_get(&self, map: &str, field: &str) -> BrokerResult<Option<String>> {
        Ok(lock(&self.maps).get(map).and_then(|m| m.get(field).cloned()))
    }

    async fn map_all(&self, map: &str) -> BrokerResult<Vec<(String, String)>> {
        Ok(lock(&self.maps)
            .get(map)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default())
    }
}
