//! The Redis broker: publish/subscribe between nodes, claims and counters with expiry, node
//! liveness, small hashes. Commands go through a connection manager that reconnects by itself;
//! the subscription has its own loop that reconnects, resubscribes and reports `Reconnected`.

use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use futures_util::StreamExt;
use redis::aio::ConnectionManager;
use redis::{AsyncCommands, Client, Script};
use tokio::sync::mpsc;

use super::{Broker, BrokerResult, ClusterEvent, Envelope, Incoming, NodeId, RoomWire, random_node_id};
use crate::hub::session::lock;

pub struct RedisBroker {
    node: NodeId,
    /// Channel names: Redis publish/subscribe ignores database numbers, so the database number
    /// of the URL is part of every channel's name (sites sharing a server stay apart).
    all: String,
    nodes: String,
    commands: ConnectionManager,
    incoming: Mutex<Option<mpsc::Receiver<Incoming>>>,
    room_script: Script,
    release_script: Script,
    refresh_script: Script,
    hit_script: Script,
}

fn node_channel(namespace: &str, node: NodeId) -> String {
    format!("papote:{namespace}:node:{node}")
}

fn key(name: &str) -> String {
    format!("papote:{name}")
}

/// Messages are `seq|json`: a room event's sequence is written by the script that numbers it,
/// in the same step as the publication (0 for other events).
/// `0|` and the envelope `{from, event}` (a room event's number is written by its script),
/// without cloning the event.
fn frame_ref(from: NodeId, event: &ClusterEvent) -> BrokerResult<String> {
    #[derive(serde::Serialize)]
    struct EnvelopeRef<'a> {
        from: NodeId,
        event: &'a ClusterEvent,
    }
    Ok(format!("0|{}", serde_json::to_string(&EnvelopeRef { from, event })?))
}

fn parse(payload: &str) -> Option<Envelope> {
    let (seq, json) = payload.split_once('|')?;
    let mut envelope: Envelope = serde_json::from_str(json).ok()?;
    if let ClusterEvent::Room { seq: room_seq, .. } = &mut envelope.event {
        *room_seq = seq.parse().ok()?;
    }
    Some(envelope)
}

impl RedisBroker {
    fn node_channel(&self, node: NodeId) -> String {
        format!("{}:node:{node}", self.all.strip_suffix(":all").unwrap_or(&self.all))
    }

    pub async fn connect(url: &str) -> BrokerResult<RedisBroker> {
        let client = Client::open(url)?;
        let namespace = client.get_connection_info().redis_settings().db().to_string();
        let config = redis::aio::ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(5)))
            .set_response_timeout(Some(Duration::from_secs(5)))
            .set_max_delay(Duration::from_secs(2));
        let commands = client.get_connection_manager_with_config(config).await?;
        let node = random_node_id();
        let (tx, rx) = mpsc::channel(65_536);
        let all = format!("papote:{namespace}:all");
        tokio::spawn(subscription_loop(client, all.clone(), node_channel(&namespace, node), tx));
        Ok(RedisBroker {
            node,
            all,
            nodes: key("nodes"),
            commands,
            incoming: Mutex::new(Some(rx)),
            room_script: Script::new(
                "local seq = redis.call('INCR', KEYS[1]) \
                 redis.call('PUBLISH', KEYS[2], seq .. '|' .. ARGV[1]) \
                 return seq",
            ),
            release_script: Script::new(
                "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0",
            ),
            refresh_script: Script::new(
                "for i, k in ipairs(KEYS) do \
                   if redis.call('GET', k) == ARGV[i + 1] then redis.call('PEXPIRE', k, ARGV[1]) end \
                 end return 0",
            ),
            hit_script: Script::new(
                "local n = redis.call('INCR', KEYS[1]) \
                 if n == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end return n",
            ),
        })
    }
}

/// Subscribes to the site-wide channel and this node's own, forever: after a cut it reconnects
/// (backing off up to 2 s), resubscribes, and says so, because events were missed meanwhile.
async fn subscription_loop(client: Client, all: String, mine: String, tx: mpsc::Sender<Incoming>) {
    let mut first = true;
    let mut delay = Duration::from_millis(100);
    loop {
        let subscribed = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&all).await?;
            pubsub.subscribe(&mine).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        match subscribed.await {
            Ok(pubsub) => {
                delay = Duration::from_millis(100);
                if !first {
                    tracing::warn!("broker: subscription restored, resynchronising");
                    if tx.send(Incoming::Reconnected).await.is_err() {
                        return;
                    }
                }
                first = false;
                let mut messages = pubsub.into_on_message();
                while let Some(message) = messages.next().await {
                    let Ok(payload) = message.get_payload::<String>() else { continue };
                    match parse(&payload) {
                        Some(envelope) => {
                            if tx.send(Incoming::Event(Box::new(envelope))).await.is_err() {
                                return;
                            }
                        }
                        None => tracing::warn!("broker: unreadable message"),
                    }
                }
                tracing::warn!("broker: subscription lost");
            }
            Err(error) => tracing::warn!(%error, "broker: cannot subscribe"),
        }
        if tx.is_closed() {
            return;
        }
        tokio::time::sleep(delay).await;
        delay = (delay * 2).min(Duration::from_secs(2));
    }
}

#[async_trait]
impl Broker for RedisBroker {
    fn node(&self) -> NodeId {
        self.node
    }

    fn is_shared(&self) -> bool {
        true
    }

    fn take_incoming(&self) -> Option<mpsc::Receiver<Incoming>> {
        lock(&self.incoming).take()
    }

    async fn broadcast(&self, event: &ClusterEvent) -> BrokerResult<()> {
        let payload = frame_ref(self.node, event)?;
        let _: () = self.commands.clone().publish(&self.all, payload).await?;
        Ok(())
    }

    async fn send_to(&self, node: NodeId, event: &ClusterEvent) -> BrokerResult<()> {
        let payload = frame_ref(self.node, event)?;
        let _: () = self.commands.clone().publish(self.node_channel(node), payload).await?;
        Ok(())
    }

    async fn publish(&self, events: &[(Option<NodeId>, ClusterEvent)]) -> BrokerResult<()> {
        // One pipeline: the commands go out in order on one connection and Redis runs them in
        // that order, so events for a node arrive as they were queued.
        let mut pipe = redis::pipe();
        for (node, event) in events {
            let channel = match node {
                Some(node) => self.node_channel(*node),
                None => self.all.clone(),
            };
            pipe.publish(channel, frame_ref(self.node, event)?).ignore();
        }
        let _: () = pipe.query_async(&mut self.commands.clone()).await?;
        Ok(())
    }

    async fn publish_room(&self, room: &str, event: &RoomWire) -> BrokerResult<u64> {
        let envelope = Envelope {
            from: self.node,
            event: ClusterEvent::Room { room: room.to_owned(), seq: 0, event: event.clone() },
        };
        let json = serde_json::to_string(&envelope)?;
        let seq: u64 = self
            .room_script
            .key(key(&format!("room:{room}:seq")))
            .key(&self.all)
            .arg(json)
            .invoke_async(&mut self.commands.clone())
            .await?;
        Ok(seq)
    }

    async fn claim(&self, name: &str, owner: &str, ttl: Duration) -> BrokerResult<bool> {
        let options = redis::SetOptions::default()
            .conditional_set(redis::ExistenceCheck::NX)
            .with_expiration(redis::SetExpiry::PX(ttl.as_millis() as u64));
        let set: Option<String> = self.commands.clone().set_options(key(name), owner, options).await?;
        Ok(set.is_some())
    }

    async fn release(&self, name: &str, owner: &str) -> BrokerResult<()> {
        let _: i64 = self.release_script.key(key(name)).arg(owner).invoke_async(&mut self.commands.clone()).await?;
        Ok(())
    }

    async fn refresh(&self, claims: &[(String, String)], ttl: Duration) -> BrokerResult<()> {
        for chunk in claims.chunks(500) {
            let mut invocation = self.refresh_script.prepare_invoke();
            invocation.arg(ttl.as_millis() as u64);
            for (name, owner) in chunk {
                invocation.key(key(name)).arg(owner);
            }
            let _: i64 = invocation.invoke_async(&mut self.commands.clone()).await?;
        }
        Ok(())
    }

    async fn hit(&self, name: &str, window: Duration) -> BrokerResult<u64> {
        let n: u64 = self
            .hit_script
            .key(key(name))
            .arg(window.as_millis() as u64)
            .invoke_async(&mut self.commands.clone())
            .await?;
        Ok(n)
    }

    async fn first_time(&self, name: &str, ttl: Duration) -> BrokerResult<bool> {
        self.claim(name, "1", ttl).await
    }

    async fn heartbeat(&self, ttl: Duration) -> BrokerResult<()> {
        let until = crate::clock::now_ms() + ttl.as_millis() as i64;
        let mut commands = self.commands.clone();
        let _: () = commands.zadd(&self.nodes, self.node.to_string(), until).await?;
        let _: () = commands.zrembyscore(&self.nodes, "-inf", crate::clock::now_ms() - 60_000).await?;
        Ok(())
    }

    async fn live_nodes(&self) -> BrokerResult<Vec<NodeId>> {
        let nodes: Vec<String> =
            self.commands.clone().zrangebyscore(&self.nodes, crate::clock::now_ms(), "+inf").await?;
        Ok(nodes.iter().filter_map(|n| n.parse().ok()).collect())
    }

    async fn map_put(&self, map: &str, field: &str, value: &str) -> BrokerResult<()> {
        let _: () = self.commands.clone().hset(key(map), field, value).await?;
        Ok(())
    }

    async fn map_remove(&self, map: &str, fields: &[String]) -> BrokerResult<()> {
        if !fields.is_empty() {
            let _: () = self.commands.clone().hdel(key(map), fields).await?;
        }
        Ok(())
    }

    async fn map_get(&self, map: &str, field: &str) -> BrokerResult<Option<String>> {
        Ok(self.commands.clone().hget(key(map), field).await?)
    }

    async fn map_all(&self, map: &str) -> BrokerResult<Vec<(String, String)>> {
        Ok(self.commands.clone().hgetall(key(map)).await?)
    }
}
