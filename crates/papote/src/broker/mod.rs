//! What several nodes share to behave as one site: events between nodes (publish/subscribe),
//! short-lived claims and counters (nicknames, rate limits), node liveness, small maps (presence,
//! session homes). One trait, one implementation per backend: `local.rs` (in-process, the
//! default: a single node) and `redis.rs`.
//!
//! The hub only takes the cluster paths when `is_shared()`; a single node never pays for them.

mod local;
mod redis;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

pub use self::local::LocalBroker;
pub use self::redis::RedisBroker;
use crate::protocol::{Author, CardKind, Member, MemberId};

/// A node's identity for this run (random at start: a restarted node is a new node).
pub type NodeId = u64;

#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("redis: {0}")]
    Redis(#[from] ::redis::RedisError),
    #[error("encoding: {0}")]
    Encoding(#[from] serde_json::Error),
    #[error("unsupported broker URL {0:?} (expected redis://...)")]
    UnsupportedUrl(String),
}

pub type BrokerResult<T> = Result<T, BrokerError>;

/// A member as the whole site knows them: what lists need, plus the position (kept server-side:
/// distances are computed on the viewer's node) and the node that holds the session.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct SharedMember {
    pub member: Member,
    /// Latitude and longitude in degrees.
    pub position: Option<(f64, f64)>,
    pub node: NodeId,
}

/// A room event as it travels between nodes; the broker gives it the room's next `seq`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "k", rename_all = "snake_case")]
pub enum RoomWire {
    Say {
        author: Author,
        id: u64,
        text: String,
        at: i64,
        card: Option<CardKind>,
    },
    /// Arrivals and departures on the publishing node, batched.
    Members {
        joined: Vec<SharedMember>,
        left: Vec<MemberId>,
    },
}

/// Relay traffic for a WebSocket that reached a node other than its session's home.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "k", rename_all = "snake_case")]
pub enum Relay {
    /// Opened on `via` for the session of `token`; the home node answers with frames.
    Open { relay: u64, via: NodeId, token: String, english: bool, ip: String, port: u16 },
    /// A text frame from the client, for the home node.
    In { relay: u64, text: String },
    /// A frame for the client, for the node that holds the socket.
    Out { relay: u64, frame: String },
    /// Either side is done; `code` is the close code for the client.
    Close { relay: u64, code: u16 },
}

/// Everything nodes say to each other.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum ClusterEvent {
    /// A member entered, or changed (status).
    Present {
        member: SharedMember,
    },
    /// A member's session ended.
    Gone {
        member: MemberId,
    },
    Room {
        room: String,
        seq: u64,
        event: RoomWire,
    },
    /// Someone is typing in a room (not numbered: nothing to replay).
    RoomTyping {
        room: String,
        author: Author,
    },
    /// A ready-made frame for one member, for the node that holds their session.
    Deliver {
        member: MemberId,
        frame: String,
    },
    Relay {
        relay: Relay,
    },
    /// A private-message operation for the recipient's home node.
    Direct {
        to: MemberId,
        op: PeerOp,
    },
    /// `blocker` blocked (or unblocked) `blocked`: lists everywhere hide them from each other.
    Block {
        blocker: MemberId,
        blocked: MemberId,
        on: bool,
    },
    /// A moderator's sanction, for the node of the member (and deletions for every node).
    Sanction {
        member: MemberId,
        statement: serde_json::Value,
        message_ids: Vec<u64>,
    },
    /// An appeal lifted a live sanction.
    Lift {
        member: MemberId,
        kind: String,
    },
    Panic {
        until: Option<i64>,
        min_age_secs: u64,
    },
    /// A node started, or came back after a cut: the others announce their members of every room
    /// again (or of `room` only, when a node just made its copy of that private room), and the
    /// private rooms they answer for.
    Hello {
        room: Option<String>,
    },
    /// A private room after a change, whole (the last change wins); `state: None` when it ended.
    /// Every node keeps a copy, so members on any node can be invited, join and talk.
    PrivateRoom {
        room: String,
        name: String,
        state: Option<PrivateRoomState>,
    },
}

/// What one side of a private conversation tells the other (`hub/dm.rs`).
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum PeerOp {
    Message { from: SharedMember, id: u64, text: String, at: i64, meeting: bool, contact: bool },
    Accepted { by: SharedMember },
    Declined { by: MemberId },
    Gone { member: MemberId },
    MinorWarning { member: MemberId },
    Typing { author: Author },
}

/// Who may be in a private room, as nodes exchange it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct PrivateRoomState {
    pub owner: MemberId,
    pub members: Vec<MemberId>,
    pub invited: Vec<MemberId>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Envelope {
    pub from: NodeId,
    pub event: ClusterEvent,
}

/// What a node's subscription yields.
#[derive(Debug)]
pub enum Incoming {
    Event(Box<Envelope>),
    /// The link to the broker came back after a cut: events were missed, state must be
    /// re-announced and clients told to resync.
    Reconnected,
}

#[async_trait]
pub trait Broker: Send + Sync + 'static {
    fn node(&self) -> NodeId;

    /// True when several nodes share this broker (not the in-process one).
    fn is_shared(&self) -> bool;

    /// The stream of incoming events for this node (taken once, by the hub).
    fn take_incoming(&self) -> Option<mpsc::Receiver<Incoming>>;

    /// To every node, this one included.
    async fn broadcast(&self, event: &ClusterEvent) -> BrokerResult<()>;

    /// To one node.
    async fn send_to(&self, node: NodeId, event: &ClusterEvent) -> BrokerResult<()>;

    /// Several events in order, each to one node (`Some`) or every node (`None`): one round trip
    /// where the backend allows it.
    async fn publish(&self, events: &[(Option<NodeId>, ClusterEvent)]) -> BrokerResult<()> {
        for (node, event) in events {
            match node {
                Some(node) => self.send_to(*node, event).await?,
                None => self.broadcast(event).await?,
            }
        }
        Ok(())
    }

    /// Numbers a room event (one sequence per room, site-wide) and publishes it to every node,
    /// atomically: every node sees a room's events in `seq` order.
    async fn publish_room(&self, room: &str, event: &RoomWire) -> BrokerResult<u64>;

    /// Takes `key` for `owner` if nobody holds it, for `ttl` (refresh to keep it).
    async fn claim(&self, key: &str, owner: &str, ttl: Duration) -> BrokerResult<bool>;

    /// Gives `key` up, if `owner` still holds it.
    async fn release(&self, key: &str, owner: &str) -> BrokerResult<()>;

    /// Extends the claims still held by their owners.
    async fn refresh(&self, claims: &[(String, String)], ttl: Duration) -> BrokerResult<()>;

    /// Counts one hit on `key` in a fixed window; returns the hits so far in this window.
    async fn hit(&self, key: &str, window: Duration) -> BrokerResult<u64>;

    /// True the first time `key` is seen within `ttl` (replay protection).
    async fn first_time(&self, key: &str, ttl: Duration) -> BrokerResult<bool>;

    /// This node is alive for `ttl`.
    async fn heartbeat(&self, ttl: Duration) -> BrokerResult<()>;

    async fn live_nodes(&self) -> BrokerResult<Vec<NodeId>>;

    /// Small shared maps (presence, session homes).
    async fn map_put(&self, map: &str, field: &str, value: &str) -> BrokerResult<()>;
    async fn map_remove(&self, map: &str, fields: &[String]) -> BrokerResult<()>;
    async fn map_get(&self, map: &str, field: &str) -> BrokerResult<Option<String>>;
    async fn map_all(&self, map: &str) -> BrokerResult<Vec<(String, String)>>;
}

/// Opens the broker named by a `--broker` value (`None`: the in-process broker).
pub async fn open(url: Option<&str>) -> BrokerResult<Arc<dyn Broker>> {
    match url.filter(|u| !u.is_empty()) {
        None => Ok(Arc::new(LocalBroker::new())),
        Some(url) if url.starts_with("redis://") || url.starts_with("rediss://") => {
            Ok(Arc::new(RedisBroker::connect(url).await?))
        }
        Some(other) => Err(BrokerError::UnsupportedUrl(other.to_owned())),
    }
}

pub fn random_node_id() -> NodeId {
    rand::random::<u64>().max(1)
}
