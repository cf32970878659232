//! Several nodes as one site: what this node tells the others, and what it does with what they
//! say. Nothing here runs on a single node (the broker is then the in-process one).
//!
//! - Presence: each node announces its members (`Present`, `Gone`) and keeps a directory of the
//!   others' (`Hub::remote`), so member lists and distances include everyone.
//! - Nicknames: a claim per nickname skeleton, held while the session lives and refreshed by its
//!   node; a dead node's claims expire.
//! - Liveness: every node beats; members of a node that stopped beating are dropped everywhere.
//! - Rooms: events are numbered by the broker and applied by every node's room task.
//! - Private messages, deliveries, blocks, sanctions, panic mode: events to the node concerned.
//! - A cut link to the broker: state is announced again and local clients are told to resync.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::outbox::close;
use super::room::RoomCmd;
use super::session::{Session, lock};
use super::{Hub, dm};
use crate::broker::{ClusterEvent, Envelope, Incoming, NodeId, SharedMember};
use crate::protocol::MemberId;

/// How often this node says it is alive, refreshes its claims, and looks for dead nodes.
pub const BEAT: Duration = Duration::from_secs(5);
/// A node silent for this long is dead.
pub const NODE_TTL: Duration = Duration::from_secs(15);
/// A nickname claim not refreshed for this long is free again.
pub const CLAIM_TTL: Duration = Duration::from_secs(20);

pub const PRESENCE_MAP: &str = "presence";
pub const SESSIONS_MAP: &str = "sessions";

pub fn nickname_claim(skeleton: &str) -> String {
    format!("nick:{skeleton}")
}

/// The key a session is known by in the shared session map: a hash, never the secret itself.
pub fn session_key(token: &str) -> String {
    blake3::hash(token.as_bytes()).to_hex().to_string()
}

impl Hub {
    pub(super) fn shared(&self) -> bool {
        self.broker.is_shared()
    }

    /// Starts the cluster tasks (several nodes only).
    pub(super) fn start_cluster(self: &Arc<Self>) {
        if !self.shared() {
            return;
        }
        if let Some(incoming) = self.broker.take_incoming() {
            tokio::spawn(Arc::clone(self).cluster_loop(incoming));
        }
        tokio::spawn(Arc::clone(self).beat_loop());
    }

    /// Announces a new local session to the other nodes.
    pub(super) fn announce(&self, session: &Session) {
        if !self.shared() {
            return;
        }
        let shared = self.shared_member(session);
        self.broadcast(ClusterEvent::Present { member: shared.clone() });
        let broker = Arc::clone(&self.broker);
        let id = session.id.encode();
        tokio::spawn(async move {
            if let Ok(json) = serde_json::to_string(&shared)
                && let Err(error) = broker.map_put(PRESENCE_MAP, &id, &json).await
            {
                tracing::warn!(%error, "could not publish presence");
            }
        });
    }

    /// Records which node holds a session, so that a WebSocket reaching another node is relayed
    /// here. Awaited at entry, before the member gets their cookie.
    pub(crate) async fn register_home(&self, session: &Session) {
        if !self.shared() {
            return;
        }
        let value = format!("{}|{}", self.broker.node(), session.id.encode());
        if let Err(error) = self.broker.map_put(SESSIONS_MAP, &session_key(&session.token), &value).await {
            tracing::warn!(%error, "could not publish a session's home");
        }
    }

    /// Tells the other nodes a local session ended, and frees its nickname claim.
    pub(super) async fn retire(&self, session: &Session) {
        if !self.shared() {
            return;
        }
        self.broadcast(ClusterEvent::Gone { member: session.id });
        let id = session.id.encode();
        let results = [
            self.broker.map_remove(PRESENCE_MAP, std::slice::from_ref(&id)).await,
            self.broker.map_remove(SESSIONS_MAP, &[session_key(&session.token)]).await,
            self.broker.release(&nickname_claim(&session.skeleton), &id).await,
        ];
        for result in results {
            if let Err(error) = result {
                tracing::warn!(%error, "could not retire a session from the broker");
            }
        }
    }

    /// The site-wide half of a nickname reservation (the local half is `reserve_nickname`).
    pub(crate) async fn claim_nickname(&self, skeleton: &str, member: MemberId) -> bool {
        if !self.shared() {
            return true;
        }
        match self.broker.claim(&nickname_claim(skeleton), &member.encode(), CLAIM_TTL).await {
            Ok(claimed) => claimed,
            Err(error) => {
                // Without the broker uniqueness cannot be checked: refuse rather than allow twins.
                tracing::warn!(%error, "could not claim a nickname");
                false
            }
        }
    }

    /// The node a session lives on, from the shared session map (several nodes only).
    pub async fn session_home(&self, token: &str) -> Option<(NodeId, MemberId)> {
        if !self.shared() {
            return None;
        }
        let value = self.broker.map_get(SESSIONS_MAP, &session_key(token)).await.ok()??;
        let (node, member) = value.split_once('|')?;
        Some((node.parse().ok()?, MemberId::parse(member)?))
    }

    async fn cluster_loop(self: Arc<Self>, mut incoming: mpsc::Receiver<Incoming>) {
        self.load_directory().await;
        // Rooms here start empty of the other nodes' members: have them say who is inside.
        self.broadcast(ClusterEvent::Hello { room: None });
        loop {
            let item = tokio::select! {
                item = incoming.recv() => item,
                _ = self.shutdown.cancelled() => return,
            };
            match item {
                None => return,
                Some(Incoming::Event(envelope)) => self.on_event(*envelope).await,
                Some(Incoming::Reconnected) => self.resynchronise().await,
            }
        }
    }

    async fn on_event(self: &Arc<Self>, Envelope { from, event }: Envelope) {
        let me = self.broker.node();
        match event {
            ClusterEvent::Present { member } if from != me => {
                let id = member.member.id;
                let fresh = self.remote.write().unwrap_or_else(|p| p.into_inner()).insert(id, member).is_none();
                let mut presence = lock(&self.presence);
                if fresh || !presence.joined.contains(&id) {
                    presence.joined.push(id);
                }
            }
            ClusterEvent::Gone { member } if from != me => self.forget_remote(&[member]),
            ClusterEvent::Hello { room } if from != me => match room {
                Some(room) => {
                    if let Some(handle) = self.room(&room) {
                        let _ = handle.tx.send(RoomCmd::Republish).await;
                    }
                }
                None => {
                    for handle in self.all_rooms() {
                        let _ = handle.tx.send(RoomCmd::Republish).await;
                    }
                    self.republish_private_rooms();
                }
            },
            ClusterEvent::PrivateRoom { room, name, state } if from != me => {
                self.apply_private_room(room, name, state).await
            }
            ClusterEvent::Room { room, seq, event } => {
                if let Some(handle) = self.room(&room) {
                    let _ = handle.tx.send(RoomCmd::Shared { seq, event }).await;
                }
            }
            ClusterEvent::RoomTyping { room, author } => {
                if let Some(handle) = self.room(&room) {
                    let _ = handle.tx.try_send(RoomCmd::Typing { author });
                }
            }
            ClusterEvent::Deliver { member, frame } => {
                if let Some(session) = self.session(member) {
                    session.send(&super::outbox::frame(frame));
                }
            }
            ClusterEvent::Direct { to, op } => self.on_peer_op(to, op),
            ClusterEvent::Relay { relay } => self.on_relay(relay).await,
            ClusterEvent::Block { blocker, blocked, on } if from != me => self.apply_block(blocker, blocked, on),
            ClusterEvent::Sanction { member, statement, message_ids } if from != me => {
                match serde_json::from_value(statement) {
                    Ok(statement) => self.apply_sanction_here(member, &statement, &message_ids).await,
                    Err(error) => tracing::warn!(%error, "unreadable sanction"),
                }
            }
            ClusterEvent::Lift { member, kind } if from != me => self.lift_sanction_here(member, &kind),
            ClusterEvent::Panic { until, min_age_secs } if from != me => {
                self.set_panic_here(until.map(|u| (u, Duration::from_secs(min_age_secs))));
            }
            _ => {}
        }
    }

    /// Members of other nodes that are gone: out of every list and room here.
    fn forget_remote(&self, members: &[MemberId]) {
        {
            let mut remote = self.remote.write().unwrap_or_else(|p| p.into_inner());
            for id in members {
                remote.remove(id);
            }
        }
        let mut presence = lock(&self.presence);
        for id in members {
            if let Some(pos) = presence.joined.iter().position(|m| m == id) {
                presence.joined.swap_remove(pos);
            }
            presence.left.push(*id);
        }
        drop(presence);
        self.drop_private_members(members);
    }

    /// The directory of the other nodes' members, from the shared map (at start, after a cut).
    async fn load_directory(&self) {
        let live: Vec<NodeId> = self.broker.live_nodes().await.unwrap_or_default();
        let me = self.broker.node();
        let Ok(entries) = self.broker.map_all(PRESENCE_MAP).await else { return };
        let mut remote = self.remote.write().unwrap_or_else(|p| p.into_inner());
        let mut presence = lock(&self.presence);
        for (_, json) in entries {
            let Ok(member) = serde_json::from_str::<SharedMember>(&json) else { continue };
            if member.node != me && live.contains(&member.node) {
                presence.joined.push(member.member.id);
                remote.insert(member.member.id, member);
            }
        }
    }

    /// Beats, refreshes nickname claims, and drops the members of nodes that stopped beating.
    async fn beat_loop(self: Arc<Self>) {
        let mut tick = tokio::time::interval(BEAT);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = self.shutdown.cancelled() => return,
            }
            if let Err(error) = self.broker.heartbeat(NODE_TTL).await {
                tracing::warn!(%error, "broker unreachable");
                continue;
            }
            let claims: Vec<(String, String)> =
                self.sessions.iter().map(|s| (nickname_claim(&s.skeleton), s.id.encode())).collect();
            if let Err(error) = self.broker.refresh(&claims, CLAIM_TTL).await {
                tracing::warn!(%error, "could not refresh nickname claims");
            }
            let Ok(live) = self.broker.live_nodes().await else { continue };
            let dead: Vec<(MemberId, NodeId)> = self
                .remote
                .read()
                .unwrap_or_else(|p| p.into_inner())
                .values()
                .filter(|m| !live.contains(&m.node))
                .map(|m| (m.member.id, m.node))
                .collect();
            if dead.is_empty() {
                continue;
            }
            let ids: Vec<MemberId> = dead.iter().map(|(id, _)| *id).collect();
            tracing::info!(members = ids.len(), "members of a stopped node leave");
            self.forget_remote(&ids);
            let mut nodes: Vec<NodeId> = dead.iter().map(|(_, node)| *node).collect();
            nodes.dedup();
            for node in nodes {
                for room in &self.all_rooms() {
                    let _ = room.tx.send(RoomCmd::DropNode { node }).await;
                }
            }
            // Their conversations with members here close.
            for id in &ids {
                for session in self.sessions.iter() {
                    if lock(&self.views).get(&session.id).is_some_and(|v| v.contains_key(id)) {
                        self.on_peer_op(session.id, dm::PeerOp::Gone { member: *id });
                    }
                }
            }
            let _ = self.broker.map_remove(PRESENCE_MAP, &ids.iter().map(|id| id.encode()).collect::<Vec<_>>()).await;
        }
    }

    /// After a cut from the broker: say again who is here, and make every local client resync
    /// (events were missed; rooms refuse replays across the gap and send a fresh snapshot).
    async fn resynchronise(&self) {
        tracing::warn!("resynchronising with the other nodes");
        let sessions: Vec<Arc<Session>> = self.sessions.iter().map(|s| Arc::clone(s.value())).collect();
        for session in &sessions {
            self.announce(session);
            self.register_home(session).await;
            let _ = self.broker.claim(&nickname_claim(&session.skeleton), &session.id.encode(), CLAIM_TTL).await;
        }
        for room in &self.all_rooms() {
            let _ = room.tx.send(RoomCmd::Gap).await;
            let _ = room.tx.send(RoomCmd::Republish).await;
        }
        self.republish_private_rooms();
        self.load_directory().await;
        // A cut of this node alone: the others did not notice, and their members must be told again.
        self.broadcast(ClusterEvent::Hello { room: None });
        for session in &sessions {
            session.cut_all(close::TOO_SLOW);
        }
    }
}
