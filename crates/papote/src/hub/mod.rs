//! Live state: sessions, rooms (one task each), private conversations, presence and outboxes.
//!
//! The hub is what every connection talks to. It owns no socket: it queues serialised frames to
//! outboxes, and the connection tasks write them. Locks here are short, synchronous, and never
//! held across `.await`.

mod cluster;
mod dm;
pub mod load;
pub mod outbox;
mod private;
mod relay;
pub mod room;
pub mod session;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use dashmap::DashMap;
use papote_safety::{Category, Context, Verdict};
use tokio::sync::oneshot;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use self::outbox::{Frame, Outbox, frame};
use self::room::{RoomCmd, RoomHandle};
use self::session::{MemberFilter, Session, lock};
use crate::broker::{Broker, ClusterEvent, NodeId, RoomWire, SharedMember};
use crate::chat::{Checked, Decision, Pipeline, Refusal};
use crate::entry::communes::Position;
use crate::protocol::{
    FRAME_MAX_BYTES, Limits, MESSAGE_MAX_CHARS, Member, MemberId, PROTOCOL_VERSION, ReportCategory, RoomInfo, ServerMsg,
};
use crate::store::{NewCase, NewReport, Store};

/// Members listed in `members`.
const MEMBER_LIST_MAX: usize = 200;
/// New arrivals sent to one viewer in one presence batch (the nearest ones).
const PRESENCE_JOINED_MAX: usize = 20;
/// Above this many members online, presence batches go out every 3 seconds instead of every one.
const LARGE_SITE: usize = 2000;
const PRESENCE_TICK: Duration = Duration::from_secs(1);
/// How often sessions without a connection are checked against the grace period.
const REAP_EVERY: Duration = Duration::from_millis(250);
const TYPING_THROTTLE: Duration = Duration::from_secs(3);
/// Messages around a reported one that the report freezes.
const EVIDENCE_CONTEXT: usize = 20;

pub use self::dm::DmOutcome;
use self::dm::room_key;
pub use crate::clock::now_ms;

#[derive(Clone, Debug)]
pub struct HubConfig {
    pub session_grace: Duration,
    pub new_conversations: u32,
    pub new_conversations_window: Duration,
    pub outbox_frames: usize,
    pub private_room_max_members: usize,
}

/// A themed room as described in `data/rooms.toml`.
#[derive(Clone, Debug, serde::Deserialize)]
pub struct RoomSpec {
    pub id: String,
    pub name: String,
    pub name_en: String,
    pub topic: String,
    pub topic_en: String,
    #[serde(default)]
    pub banner: Option<String>,
    #[serde(default)]
    pub banner_en: Option<String>,
}

/// A member anywhere on the site: their session here, or what their node told the others.
pub enum Someone {
    Local(Arc<Session>),
    Remote(SharedMember),
}

impl Someone {
    pub fn id(&self) -> MemberId {
        match self {
            Someone::Local(s) => s.id,
            Someone::Remote(r) => r.member.id,
        }
    }

    /// As `viewer` sees them (with a rounded distance).
    pub fn member_for(&self, viewer: Option<Position>) -> Member {
        match self {
            Someone::Local(s) => s.member_for(viewer),
            Someone::Remote(r) => dm::shared_member_for(r, viewer),
        }
    }
}

#[derive(Default)]
struct PresenceBatch {
    joined: Vec<MemberId>,
    left: Vec<MemberId>,
}

pub struct Hub {
    config: HubConfig,
    sessions: DashMap<MemberId, Arc<Session>>,
    tokens: DashMap<String, Arc<Session>>,
    nicknames: Mutex<HashMap<String, MemberId>>,
    rooms: Vec<Arc<RoomHandle>>,
    private_rooms: DashMap<String, Arc<RoomHandle>>,
    room_index: HashMap<String, usize>,
    /// Private conversations, one view per side (`dm.rs`).
    views: Mutex<dm::Views>,
    /// Members whose sessions live on other nodes (empty on a single node).
    remote: RwLock<HashMap<MemberId, SharedMember>>,
    broker: Arc<dyn Broker>,
    /// Relayed connections whose session lives here: their client frames' inbox.
    relay_homes: DashMap<u64, tokio::sync::mpsc::Sender<String>>,
    /// Relayed connections whose socket is here: the way down to it.
    relay_sockets: DashMap<u64, tokio::sync::mpsc::Sender<crate::ws::RelayDown>>,
    /// Events for other nodes, published in order by one task.
    outgoing: tokio::sync::mpsc::UnboundedSender<(Option<NodeId>, ClusterEvent)>,
    /// (blocker, blocked)
    blocks: RwLock<HashSet<(MemberId, MemberId)>>,
    presence: Mutex<PresenceBatch>,
    last_counts: Mutex<Vec<u32>>,
    /// Panic mode: (ends at, Unix ms; sessions younger than this may not post).
    panic: Mutex<Option<(i64, Duration)>>,
    store: Arc<dyn Store>,
    pipeline: Pipeline,
    next_message_id: AtomicU64,
    next_connection_id: AtomicU64,
    /// Whether the runtime is saturated (big rooms then batch their fan-outs).
    saturation: Arc<load::Saturation>,
    shutdown: CancellationToken,
}

impl Hub {
    pub fn new(
        config: HubConfig,
        rooms: &[RoomSpec],
        store: Arc<dyn Store>,
        broker: Arc<dyn Broker>,
        pipeline: Pipeline,
        shutdown: CancellationToken,
    ) -> Arc<Hub> {
        let (outgoing, outgoing_rx) = tokio::sync::mpsc::unbounded_channel();
        let saturation = Arc::new(load::Saturation::default());
        tokio::spawn(Arc::clone(&saturation).watch(load::SAMPLE, shutdown.clone()));
        let handles: Vec<Arc<RoomHandle>> = rooms
            .iter()
            .map(|spec| {
                let shared = broker.is_shared().then(|| Arc::clone(&broker));
                let (tx, count) = room::spawn(spec.id.clone(), shutdown.clone(), shared, Arc::clone(&saturation));
                Arc::new(RoomHandle {
                    id: spec.id.clone(),
                    name: spec.name.clone(),
                    name_en: spec.name_en.clone(),
                    topic: spec.topic.clone(),
                    topic_en: spec.topic_en.clone(),
                    banner: spec.banner.clone(),
                    banner_en: spec.banner_en.clone(),
                    tx,
                    count,
                    access: None,
                })
            })
            .collect();
        let room_index = handles.iter().enumerate().map(|(i, r)| (r.id.clone(), i)).collect();
        let hub = Arc::new(Hub {
            config,
            sessions: DashMap::new(),
            tokens: DashMap::new(),
            nicknames: Mutex::new(HashMap::new()),
            last_counts: Mutex::new(vec![0; handles.len()]),
            rooms: handles,
            private_rooms: DashMap::new(),
            room_index,
            views: Mutex::new(HashMap::new()),
            remote: RwLock::new(HashMap::new()),
            broker,
            relay_homes: DashMap::new(),
            relay_sockets: DashMap::new(),
            outgoing,
            blocks: RwLock::new(HashSet::new()),
            presence: Mutex::new(PresenceBatch::default()),
            panic: Mutex::new(None),
            store,
            pipeline,
            // Ids grow with time so they stay unique across restarts.
            next_message_id: AtomicU64::new((now_ms().max(0) as u64) << 12),
            next_connection_id: AtomicU64::new(1),
            saturation,
            shutdown,
        });
        tokio::spawn(Arc::clone(&hub).presence_loop());
        tokio::spawn(Arc::clone(&hub).reap_loop());
        tokio::spawn(Arc::clone(&hub).outgoing_loop(outgoing_rx));
        hub.start_cluster();
        let stopping = Arc::clone(&hub);
        tokio::spawn(async move {
            stopping.shutdown.cancelled().await;
            for session in stopping.sessions.iter() {
                session.cut_all(outbox::close::GOING_AWAY);
            }
        });
        hub
    }

    /// Publishes events for other nodes in order (two events for the same peer arrive in the
    /// order they were sent), as many as are queued in one round trip.
    async fn outgoing_loop(
        self: Arc<Self>,
        mut rx: tokio::sync::mpsc::UnboundedReceiver<(Option<NodeId>, ClusterEvent)>,
    ) {
        const BATCH: usize = 256;
        let mut batch = Vec::with_capacity(BATCH);
        while rx.recv_many(&mut batch, BATCH).await > 0 {
            if let Err(error) = self.broker.publish(&batch).await {
                tracing::warn!(%error, events = batch.len(), "could not reach the other nodes");
            }
            batch.clear();
        }
    }

    /// Queues an event for one node.
    pub(crate) fn send_to_node(&self, node: NodeId, event: ClusterEvent) {
        let _ = self.outgoing.send((Some(node), event));
    }

    /// Queues an event for every node (this one included).
    pub(crate) fn broadcast(&self, event: ClusterEvent) {
        let _ = self.outgoing.send((None, event));
    }

    pub(crate) fn relay_sockets(&self) -> &DashMap<u64, tokio::sync::mpsc::Sender<crate::ws::RelayDown>> {
        &self.relay_sockets
    }

    pub fn broker(&self) -> &Arc<dyn Broker> {
        &self.broker
    }

    /// A member anywhere on the site.
    pub fn find(&self, id: MemberId) -> Option<Someone> {
        if let Some(session) = self.session(id) {
            return Some(Someone::Local(session));
        }
        self.remote.read().unwrap_or_else(|p| p.into_inner()).get(&id).cloned().map(Someone::Remote)
    }

    /// How a local member is described to the other nodes.
    pub fn shared_member(&self, session: &Session) -> SharedMember {
        SharedMember {
            member: session.member(),
            position: session.position.map(|p| p.to_degrees()),
            node: self.broker.node(),
        }
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    pub fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    pub fn config(&self) -> &HubConfig {
        &self.config
    }

    pub fn next_message_id(&self) -> u64 {
        self.next_message_id.fetch_add(1, Ordering::Relaxed)
    }

    pub fn online_count(&self) -> usize {
        self.sessions.len()
    }

    // ----- Sessions -------------------------------------------------------------------------

    /// Reserves a nickname skeleton for a new member; false if someone online holds it.
    pub fn reserve_nickname(&self, skeleton: &str, member: MemberId) -> bool {
        let mut nicknames = lock(&self.nicknames);
        if nicknames.contains_key(skeleton) {
            return false;
        }
        nicknames.insert(skeleton.to_owned(), member);
        true
    }

    pub fn release_nickname(&self, skeleton: &str, member: MemberId) {
        let mut nicknames = lock(&self.nicknames);
        if nicknames.get(skeleton) == Some(&member) {
            nicknames.remove(skeleton);
        }
    }

    /// Registers a session whose nickname is already reserved. It lives until its grace period
    /// runs out without a connection.
    pub fn add_session(self: &Arc<Self>, session: Arc<Session>) {
        self.sessions.insert(session.id, Arc::clone(&session));
        self.tokens.insert(session.token.clone(), Arc::clone(&session));
        lock(&self.presence).joined.push(session.id);
        self.announce(&session);
        // A session nobody connects to ends like one whose last connection closed.
        self.schedule_expiry(&session);
    }

    pub fn session_by_token(&self, token: &str) -> Option<Arc<Session>> {
        self.tokens.get(token).map(|s| Arc::clone(s.value())).filter(|s| !s.is_ended())
    }

    /// The online member with this nickname (or a look-alike of it).
    pub fn session_by_nickname(&self, nickname: &str) -> Option<Arc<Session>> {
        let key = crate::entry::uniqueness_key(nickname);
        let id = *lock(&self.nicknames).get(&key)?;
        self.session(id)
    }

    pub fn session(&self, id: MemberId) -> Option<Arc<Session>> {
        self.sessions.get(&id).map(|s| Arc::clone(s.value()))
    }

    pub fn new_connection_id(&self) -> u64 {
        self.next_connection_id.fetch_add(1, Ordering::Relaxed)
    }

    pub fn new_outbox(&self, session: &Session) -> (Outbox, outbox::OutboxReceiver) {
        Outbox::new(self.new_connection_id(), session.id, self.config.outbox_frames)
    }

    pub fn connection_opened(&self, session: &Session, outbox: Outbox) {
        let pending = std::mem::take(&mut session.state().pending_statements);
        for statement in &pending {
            outbox.send(statement);
        }
        session.attach(outbox);
    }

    /// A connection closed: its rooms forget that socket; if it was the session's last, the
    /// session ends after the grace period unless a new connection arrives.
    pub fn connection_closed(self: &Arc<Self>, session: &Arc<Session>, connection: u64) {
        let remaining = session.detach(connection);
        let rooms: Vec<String> = session.state().rooms.iter().cloned().collect();
        for room in rooms {
            if let Some(handle) = self.room(&room) {
                let _ = handle.tx.try_send(RoomCmd::Detach { member: session.id, connection });
            }
        }
        if remaining == 0 {
            self.schedule_expiry(session);
        }
    }

    fn schedule_expiry(self: &Arc<Self>, session: &Arc<Session>) {
        // The reaper (`reap_loop`) ends it once the grace period has passed without a connection.
        session.mark_detached();
    }

    /// Ends the sessions that stayed without a connection for the whole grace period. One task
    /// for all sessions: a timer task per session would cost memory on a big site.
    async fn reap_loop(self: Arc<Self>) {
        let mut tick = tokio::time::interval(REAP_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = self.shutdown.cancelled() => return,
            }
            let grace = self.config.session_grace;
            let expired: Vec<MemberId> = self
                .sessions
                .iter()
                .filter(|s| s.detached_for().is_some_and(|d| d >= grace) && s.connection_count() == 0)
                .map(|s| s.id)
                .collect();
            for id in expired {
                self.end_session(id).await;
            }
        }
    }

    /// Ends a session now: closes its connections, frees its nickname, leaves its rooms and
    /// conversations.
    pub async fn end_session(&self, id: MemberId) {
        let Some((_, session)) = self.sessions.remove(&id) else { return };
        session.cut_all(outbox::close::SESSION_ENDED);
        session.ended.cancel();
        self.tokens.remove(&session.token);
        self.release_nickname(&session.skeleton, id);
        self.retire(&session).await;
        let rooms: Vec<String> = std::mem::take(&mut session.state().rooms).into_iter().collect();
        for room in rooms {
            if let Some(handle) = self.room(&room) {
                self.leave_room(&handle, id).await;
            }
        }
        self.forget_invitations(id);
        {
            let mut presence = lock(&self.presence);
            if let Some(pos) = presence.joined.iter().position(|m| *m == id) {
                presence.joined.swap_remove(pos);
            } else {
                presence.left.push(id);
            }
        }
        self.close_conversations(id);
        self.blocks.write().unwrap_or_else(|p| p.into_inner()).retain(|(a, b)| *a != id && *b != id);
        if let Err(error) = self.store.end_entry(&id.encode(), now_ms()).await {
            tracing::warn!(%error, "could not record the end of a session");
        }
    }

    /// Ends every session (graceful shutdown).
    pub async fn end_all_sessions(&self) {
        let ids: Vec<MemberId> = self.sessions.iter().map(|s| *s.key()).collect();
        for id in ids {
            self.end_session(id).await;
        }
    }

    pub fn welcome(&self, session: &Session, english: bool) -> Frame {
        let joined: Vec<String> = session.state().rooms.iter().cloned().collect();
        let conversations = self.conversations_of(session.id);
        let blocked = {
            let blocks = self.blocks.read().unwrap_or_else(|p| p.into_inner());
            blocks.iter().filter(|(blocker, _)| *blocker == session.id).map(|(_, b)| *b).collect()
        };
        let msg = ServerMsg::Welcome {
            v: PROTOCOL_VERSION,
            me: session.profile.clone(),
            rooms: self.room_infos(english),
            private_rooms: self.private_rooms_of(session.id),
            joined,
            conversations,
            blocked,
            ignored: session.ignored(),
            limits: Limits { message_max_chars: MESSAGE_MAX_CHARS, frame_max_bytes: FRAME_MAX_BYTES },
        };
        frame(msg.to_json())
    }

    // ----- Rooms ----------------------------------------------------------------------------

    pub fn room(&self, id: &str) -> Option<Arc<RoomHandle>> {
        match self.room_index.get(id) {
            Some(&i) => Some(Arc::clone(&self.rooms[i])),
            None => self.private_rooms.get(id).map(|r| Arc::clone(r.value())),
        }
    }

    /// Themed rooms and private rooms.
    pub(super) fn all_rooms(&self) -> Vec<Arc<RoomHandle>> {
        self.rooms.iter().cloned().chain(self.private_room_handles()).collect()
    }

    pub fn room_infos(&self, english: bool) -> Vec<RoomInfo> {
        self.rooms
            .iter()
            .map(|r| RoomInfo {
                id: r.id.clone(),
                name: if english { r.name_en.clone() } else { r.name.clone() },
                topic: if english { r.topic_en.clone() } else { r.topic.clone() },
                count: r.count(),
                banner: if english { r.banner_en.clone() } else { r.banner.clone() },
                private: false,
                owner: None,
            })
            .collect()
    }

    pub async fn join(
        &self,
        session: &Arc<Session>,
        outbox: &Outbox,
        room: &str,
        since: Option<u64>,
    ) -> Result<(), Refusal> {
        let handle = self.room(room).ok_or(Refusal::new("unknown_room"))?;
        if let Some(access) = &handle.access {
            self.admit_to_private(session, &handle, access)?;
        }
        session.state().rooms.insert(room.to_owned());
        let command = RoomCmd::Join { session: Arc::clone(session), outbox: outbox.clone(), since };
        handle.tx.send(command).await.map_err(|_| Refusal::new("internal"))
    }

    pub async fn leave(&self, session: &Session, room: &str) -> Result<(), Refusal> {
        let handle = self.room(room).ok_or(Refusal::new("unknown_room"))?;
        if !session.state().rooms.remove(room) {
            return Err(Refusal::new("not_in_room"));
        }
        self.leave_room(&handle, session.id).await;
        session.send(&frame(ServerMsg::Left { room: room.to_owned() }.to_json()));
        Ok(())
    }

    /// Posts to a room through the whole pipeline. Returns the message id once it is queued
    /// for delivery.
    pub async fn say(&self, session: &Session, room: &str, text: &str) -> Result<u64, Refusal> {
        let handle = self.room(room).ok_or(Refusal::new("unknown_room"))?;
        let now = Instant::now();
        let (checked, shadow) = {
            let mut state = session.state();
            if !state.rooms.contains(room) {
                return Err(Refusal::new("not_in_room"));
            }
            self.may_post(session, &state, now)?;
            let shadow = state.is_shadow_muted(now);
            (self.pipeline.check(&mut state.sender, room_key(room), text, Context::Room, now)?, shadow)
        };
        match checked.decision {
            Decision::Deliver { card } => {
                let id = self.next_message_id();
                if self.shared() && !shadow {
                    // Several nodes: the broker numbers it and every node's room delivers it.
                    let event = RoomWire::Say { author: session.author(), id, text: checked.text, at: now_ms(), card };
                    self.broker.publish_room(room, &event).await.map_err(|error| {
                        tracing::warn!(%error, "could not publish a room message");
                        Refusal::new("internal")
                    })?;
                } else {
                    let command =
                        RoomCmd::Say { author: session.author(), id, text: checked.text, at: now_ms(), card, shadow };
                    handle.tx.send(command).await.map_err(|_| Refusal::new("internal"))?;
                }
                crate::telemetry::hot().room_messages.increment(1);
                Ok(id)
            }
            Decision::Hold { code } => Err(Refusal::new(code)),
            Decision::Flag { code } => {
                let context = self.recent_room_messages(&handle).await;
                self.open_automatic_case(session, &checked, &format!("room:{room}"), context).await?;
                Err(Refusal::new(code))
            }
        }
    }

    /// Mute and panic mode, checked before the pipeline.
    fn may_post(&self, session: &Session, state: &session::SessionState, now: Instant) -> Result<(), Refusal> {
        if state.is_muted(now) {
            let left = state.muted_until.map(|u| u.saturating_duration_since(now));
            return Err(Refusal { code: "muted", retry_after: left });
        }
        if let Some((until, min_age)) = *lock(&self.panic)
            && now_ms() < until
            && now.duration_since(session.entered_at) < min_age
        {
            let wait = min_age.saturating_sub(now.duration_since(session.entered_at));
            return Err(Refusal { code: "panic_mode", retry_after: Some(wait) });
        }
        Ok(())
    }

    /// Switches panic mode, on every node: until when (Unix ms), and the minimum session age to post.
    pub fn set_panic(&self, panic: Option<(i64, Duration)>) {
        self.set_panic_here(panic);
        if self.shared() {
            let (until, min_age_secs) = match panic {
                Some((until, age)) => (Some(until), age.as_secs()),
                None => (None, 0),
            };
            self.broadcast(ClusterEvent::Panic { until, min_age_secs });
        }
    }

    pub(super) fn set_panic_here(&self, panic: Option<(i64, Duration)>) {
        *lock(&self.panic) = panic;
    }

    pub fn panic(&self) -> Option<(i64, Duration)> {
        lock(&self.panic).filter(|(until, _)| now_ms() < *until)
    }

    /// A member changed their availability: viewers get them again in the next presence batch.
    pub fn set_status(&self, session: &Session, status: crate::protocol::Status) {
        if session.status() != status {
            session.set_status(status);
            {
                let mut presence = lock(&self.presence);
                if !presence.joined.contains(&session.id) {
                    presence.joined.push(session.id);
                }
            }
            if self.shared() {
                self.broadcast(ClusterEvent::Present { member: self.shared_member(session) });
            }
        }
    }

    /// A room's member list, for the members panel.
    pub async fn room_member_list(&self, session: &Session, outbox: &Outbox, room: &str) -> Result<(), Refusal> {
        let handle = self.room(room).ok_or(Refusal::new("unknown_room"))?;
        if !session.state().rooms.contains(room) {
            return Err(Refusal::new("not_in_room"));
        }
        handle.tx.send(RoomCmd::MemberList { outbox: outbox.clone() }).await.map_err(|_| Refusal::new("internal"))
    }

    /// Older messages of a room I am in.
    pub async fn room_history(
        &self,
        session: &Session,
        outbox: &Outbox,
        room: &str,
        before: u64,
        limit: Option<u32>,
    ) -> Result<(), Refusal> {
        let handle = self.room(room).ok_or(Refusal::new("unknown_room"))?;
        if !session.state().rooms.contains(room) {
            return Err(Refusal::new("not_in_room"));
        }
        let limit = limit.unwrap_or(50) as usize;
        let command = RoomCmd::History { before, limit, outbox: outbox.clone() };
        handle.tx.send(command).await.map_err(|_| Refusal::new("internal"))
    }

    pub fn typing_in_room(&self, session: &Session, room: &str) {
        let Some(handle) = self.room(room) else { return };
        if !session.state().rooms.contains(room) || !self.typing_allowed(session, room_key(room)) {
            return;
        }
        if self.shared() {
            self.broadcast(ClusterEvent::RoomTyping { room: room.to_owned(), author: session.author() });
        } else {
            let _ = handle.tx.try_send(RoomCmd::Typing { author: session.author() });
        }
    }

    fn typing_allowed(&self, session: &Session, target: u64) -> bool {
        let now = Instant::now();
        let mut state = session.state();
        if state.typing_sent.len() > 256 {
            state.typing_sent.retain(|_, t| now.duration_since(*t) < TYPING_THROTTLE);
        }
        match state.typing_sent.get(&target) {
            Some(last) if now.duration_since(*last) < TYPING_THROTTLE => false,
            _ => {
                state.typing_sent.insert(target, now);
                true
            }
        }
    }

    async fn recent_room_messages(&self, handle: &RoomHandle) -> Vec<serde_json::Value> {
        let (reply, answer) = oneshot::channel();
        if handle.tx.send(RoomCmd::Recent { reply }).await.is_err() {
            return Vec::new();
        }
        answer.await.unwrap_or_default().iter().filter_map(|f| serde_json::from_str(f.as_str()).ok()).collect()
    }

    // ----- Blocks ---------------------------------------------------------------------------

    pub fn is_blocked_either(&self, a: MemberId, b: MemberId) -> bool {
        let blocks = self.blocks.read().unwrap_or_else(|p| p.into_inner());
        blocks.contains(&(a, b)) || blocks.contains(&(b, a))
    }

    pub fn block(&self, session: &Session, member: MemberId) -> Result<(), Refusal> {
        if member == session.id {
            return Err(Refusal::new("self"));
        }
        self.apply_block(session.id, member, true);
        if self.shared() {
            self.broadcast(ClusterEvent::Block { blocker: session.id, blocked: member, on: true });
        }
        Ok(())
    }

    pub fn unblock(&self, session: &Session, member: MemberId) {
        self.apply_block(session.id, member, false);
        if self.shared() {
            self.broadcast(ClusterEvent::Block { blocker: session.id, blocked: member, on: false });
        }
    }

    /// Records a block here; the two disappear from each other's member list at once.
    pub(super) fn apply_block(&self, blocker: MemberId, blocked: MemberId, on: bool) {
        {
            let mut blocks = self.blocks.write().unwrap_or_else(|p| p.into_inner());
            if on {
                blocks.insert((blocker, blocked));
            } else {
                blocks.remove(&(blocker, blocked));
                return;
            }
        }
        let gone = |id| frame(ServerMsg::Presence { joined: Vec::new(), left: vec![id] }.to_json());
        if let Some(one) = self.session(blocker) {
            one.send(&gone(blocked));
        }
        if let Some(other) = self.session(blocked) {
            other.send(&gone(blocker));
        }
    }

    /// The cap on new conversations (and invitations) per window.
    fn new_conversation_allowed(&self, state: &mut session::SessionState, now: Instant) -> Result<(), Refusal> {
        let window = self.config.new_conversations_window;
        while state.new_conversations.front().is_some_and(|&t| now.duration_since(t) >= window) {
            state.new_conversations.pop_front();
        }
        if state.new_conversations.len() >= self.config.new_conversations as usize {
            let oldest = state.new_conversations.front().copied().unwrap_or(now);
            return Err(Refusal {
                code: "too_many_conversations",
                retry_after: Some(window.saturating_sub(now.duration_since(oldest))),
            });
        }
        Ok(())
    }

    // ----- Safety side effects --------------------------------------------------------------

    /// Stores the case for a flagged message (durably, before the sender is answered) and applies
    /// what the category demands.
    async fn open_automatic_case(
        &self,
        session: &Session,
        checked: &Checked,
        context: &str,
        recent: Vec<serde_json::Value>,
    ) -> Result<(), Refusal> {
        let verdict: &Verdict = &checked.verdict;
        let minor = verdict.has(Category::MinorClaim);
        let severity = if minor {
            ReportCategory::MinorInDanger.severity()
        } else if verdict.has(Category::Threat) {
            ReportCategory::AmbushOrThreat.severity()
        } else {
            ReportCategory::IllegalSale.severity()
        };
        let evidence = serde_json::json!({
            "frozen_at": now_ms(),
            "message": {"text": checked.text, "context": context},
            "matches": verdict.matches,
            "recent": recent,
            "member": session.profile,
            "entered_at": session.entered_at_ms,
        });
        let case = NewCase {
            created_at: now_ms(),
            source: "auto",
            severity,
            member_id: session.id.encode(),
            nickname: session.profile.nickname.clone(),
            categories: verdict.categories.iter().map(|c| c.as_str().to_owned()).collect(),
            rules: verdict.rules.clone(),
            context: context.to_owned(),
            text: checked.text.clone(),
            report_id: None,
            evidence: evidence.to_string(),
        };
        if let Err(error) = self.store.insert_case(&case).await {
            tracing::error!(%error, "could not store an automatic case");
            return Err(Refusal::new("internal"));
        }
        crate::telemetry::case("auto");
        if minor {
            self.suspend_private_messages(session);
        }
        Ok(())
    }

    // ----- Reports --------------------------------------------------------------------------

    /// Freezes the evidence and stores the report durably; returns once it is committed.
    pub async fn report(
        &self,
        reporter: &Session,
        target: MemberId,
        message: Option<u64>,
        room: Option<&str>,
        category: ReportCategory,
        comment: &str,
    ) -> Result<(), Refusal> {
        if target == reporter.id {
            return Err(Refusal::new("self"));
        }
        let comment = if comment.trim().is_empty() { String::new() } else { crate::chat::sanitize(comment)? };
        let target_session = self.session(target);
        let recent = match room {
            Some(room) => {
                let handle = self.room(room).ok_or(Refusal::new("unknown_room"))?;
                let all = self.recent_room_messages(&handle).await;
                window_around(all, message)
            }
            None => self.dm_evidence(reporter.id, target, message),
        };
        let reported_message =
            recent.iter().find(|m| message.is_some() && m.get("id").and_then(|v| v.as_u64()) == message).cloned();
        let evidence = serde_json::json!({
            "frozen_at": now_ms(),
            "message": reported_message,
            "recent": recent,
            "member": target_session.as_ref().map(|s| serde_json::json!({
                "profile": s.profile,
                "entered_at": s.entered_at_ms,
                "connections": s.connection_count(),
            })),
            "reporter": reporter.id,
            "comment": comment,
        });
        let report = NewReport {
            created_at: now_ms(),
            reporter_id: reporter.id.encode(),
            target_id: target.encode(),
            target_nickname: target_session.as_ref().map(|s| s.profile.nickname.clone()).unwrap_or_default(),
            category: category.as_str().to_owned(),
            text: reported_message.as_ref().and_then(|m| m["text"].as_str()).unwrap_or_default().to_owned(),
            comment,
            room: room.map(str::to_owned),
            message_id: message,
            evidence: evidence.to_string(),
            severity: category.severity(),
        };
        self.store.insert_report(&report).await.map_err(|error| {
            tracing::error!(%error, "could not store a report");
            Refusal::new("internal")
        })?;
        crate::telemetry::report();
        crate::telemetry::case("report");
        Ok(())
    }

    // ----- Sanctions ------------------------------------------------------------------------

    /// Applies a stored sanction to the live session, wherever it is, and sends the statement of
    /// reasons; deletions apply on every node.
    pub async fn apply_sanction(
        &self,
        member: MemberId,
        statement: &crate::moderation::Statement,
        message_ids: &[u64],
    ) {
        if self.shared()
            && let Ok(json) = serde_json::to_value(statement)
        {
            self.broadcast(ClusterEvent::Sanction { member, statement: json, message_ids: message_ids.to_vec() });
        }
        self.apply_sanction_here(member, statement, message_ids).await;
    }

    pub(super) async fn apply_sanction_here(
        &self,
        member: MemberId,
        statement: &crate::moderation::Statement,
        message_ids: &[u64],
    ) {
        use crate::moderation::SanctionKind;
        if statement.kind == SanctionKind::Delete && !message_ids.is_empty() {
            for room in &self.rooms {
                let _ = room.tx.send(RoomCmd::Delete { ids: message_ids.to_vec() }).await;
            }
            self.delete_private_messages(member, message_ids);
        }
        let Some(session) = self.session(member) else { return };
        let until =
            statement.until.map(|u| Instant::now() + Duration::from_millis(u.saturating_sub(now_ms()).max(0) as u64));
        let notice = frame(ServerMsg::Sanction { statement: statement.clone() }.to_json());
        match statement.kind {
            SanctionKind::Mute => session.state().muted_until = until,
            // Spam is shadow-muted without a live notice (DSA art. 17(2): deceptive high-volume
            // commercial content); the statement is stored and its code works on appeal.
            SanctionKind::ShadowMute => {
                session.state().shadow_muted = Some(until);
                return;
            }
            SanctionKind::Warn | SanctionKind::Delete | SanctionKind::Timeout | SanctionKind::Ban => {}
        }
        if session.connection_count() == 0 {
            session.state().pending_statements.push(notice);
        } else {
            session.send(&notice);
        }
        if matches!(statement.kind, SanctionKind::Timeout | SanctionKind::Ban) {
            session.cut_all(outbox::close::POLICY);
            self.end_session(member).await;
        }
    }

    /// An appeal overturned a sanction: lift what is still live, wherever the member is.
    pub fn lift_sanction(&self, member: MemberId, kind: &str) {
        if self.shared() {
            self.broadcast(ClusterEvent::Lift { member, kind: kind.to_owned() });
        }
        self.lift_sanction_here(member, kind);
    }

    pub(super) fn lift_sanction_here(&self, member: MemberId, kind: &str) {
        let Some(session) = self.session(member) else { return };
        let mut state = session.state();
        match kind {
            "mute" => state.muted_until = None,
            "shadow_mute" => state.shadow_muted = None,
            _ => {}
        }
    }

    // ----- Member list and presence ---------------------------------------------------------

    fn visible_to(&self, viewer: &Session, filter: &MemberFilter, other: &Session) -> bool {
        other.id != viewer.id && filter.accepts(&other.profile) && !self.is_blocked_either(viewer.id, other.id)
    }

    /// Sets the viewer's filter and returns their member list, nearest first.
    pub fn members(&self, viewer: &Session, filter: Option<MemberFilter>) -> Frame {
        let filter = {
            let mut state = viewer.state();
            if let Some(filter) = filter {
                state.filter = Some(filter);
            }
            state.filter.get_or_insert_with(MemberFilter::default).clone()
        };
        // Rank everyone (here and on other nodes) by rounded distance first; build the few
        // members actually listed.
        enum Pick {
            Local(Arc<Session>),
            Remote(MemberId),
        }
        let mut ranked: Vec<(u32, Pick)> = self
            .sessions
            .iter()
            .filter(|s| self.visible_to(viewer, &filter, s.value()))
            .map(|s| (rounded_between(s.position, viewer.position), Pick::Local(Arc::clone(s.value()))))
            .collect();
        let remote = self.remote.read().unwrap_or_else(|p| p.into_inner());
        for shared in remote.values() {
            let m = &shared.member;
            if m.id != viewer.id
                && filter.accepts_fields(m.gender, m.age, &m.nickname)
                && !self.is_blocked_either(viewer.id, m.id)
            {
                ranked.push((rounded_between(shared_position(shared), viewer.position), Pick::Remote(m.id)));
            }
        }
        if ranked.len() > MEMBER_LIST_MAX {
            ranked.select_nth_unstable_by_key(MEMBER_LIST_MAX, |(d, _)| *d);
            ranked.truncate(MEMBER_LIST_MAX);
        }
        let mut list: Vec<Member> = ranked
            .iter()
            .filter_map(|(_, pick)| match pick {
                Pick::Local(s) => Some(s.member_for(viewer.position)),
                Pick::Remote(id) => remote.get(id).map(|r| dm::shared_member_for(r, viewer.position)),
            })
            .collect();
        drop(remote);
        sort_nearest(&mut list);
        frame(ServerMsg::Members { list }.to_json())
    }

    async fn presence_loop(self: Arc<Self>) {
        let mut tick = tokio::time::interval(PRESENCE_TICK);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut ticks: u64 = 0;
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = self.shutdown.cancelled() => return,
            }
            ticks += 1;
            crate::telemetry::online(self.sessions.len());
            // A big site refreshes lists less often: each batch costs one frame per viewer.
            let every = if self.sessions.len() > LARGE_SITE { 3 } else { 1 };
            if ticks.is_multiple_of(every) {
                self.flush_presence().await;
            }
            self.flush_room_counts();
        }
    }

    /// Sends each viewer watching their member list the arrivals they may see (the nearest ones)
    /// and the departures. Yields now and then: on a big site this walks every session.
    async fn flush_presence(&self) {
        let batch = std::mem::take(&mut *lock(&self.presence));
        if batch.joined.is_empty() && batch.left.is_empty() {
            return;
        }
        // Each arrival's row is built once; only the distance differs per viewer.
        let arrivals: Vec<(Member, Option<Position>)> = batch
            .joined
            .iter()
            .filter_map(|id| self.find(*id))
            .map(|someone| match someone {
                Someone::Local(s) => (s.member(), s.position),
                Someone::Remote(r) => (r.member.clone(), shared_position(&r)),
            })
            .collect();
        let departures_only = if arrivals.is_empty() {
            Some(frame(ServerMsg::Presence { joined: Vec::new(), left: batch.left.clone() }.to_json()))
        } else {
            None
        };
        let viewers: Vec<Arc<Session>> = self.sessions.iter().map(|s| Arc::clone(s.value())).collect();
        for (i, viewer) in viewers.iter().enumerate() {
            if i % 256 == 255 {
                tokio::task::yield_now().await;
            }
            if viewer.connection_count() == 0 {
                continue;
            }
            let Some(filter) = viewer.state().filter.clone() else { continue };
            if let Some(shared) = &departures_only {
                viewer.send(shared);
                continue;
            }
            let mut ranked: Vec<(u32, &Member)> = arrivals
                .iter()
                .filter(|(row, _)| {
                    row.id != viewer.id
                        && filter.accepts_fields(row.gender, row.age, &row.nickname)
                        && !self.is_blocked_either(viewer.id, row.id)
                })
                .map(|(row, position)| (rounded_between(*position, viewer.position), row))
                .collect();
            if ranked.is_empty() && batch.left.is_empty() {
                continue;
            }
            if ranked.len() > PRESENCE_JOINED_MAX {
                ranked.select_nth_unstable_by_key(PRESENCE_JOINED_MAX, |(d, _)| *d);
                ranked.truncate(PRESENCE_JOINED_MAX);
            }
            let mut joined: Vec<Member> = ranked
                .into_iter()
                .map(|(distance, row)| Member {
                    distance_km: (distance != u32::MAX).then_some(distance),
                    ..row.clone()
                })
                .collect();
            sort_nearest(&mut joined);
            viewer.send(&frame(ServerMsg::Presence { joined, left: batch.left.clone() }.to_json()));
        }
    }

    fn flush_room_counts(&self) {
        let counts: Vec<u32> = self.rooms.iter().map(|r| r.count()).collect();
        {
            let mut last = lock(&self.last_counts);
            if *last == counts {
                return;
            }
            last.clone_from(&counts);
        }
        let counts: BTreeMap<String, u32> = self.rooms.iter().map(|r| r.id.clone()).zip(counts).collect();
        let shared = frame(ServerMsg::Rooms { counts }.to_json());
        for session in self.sessions.iter() {
            session.send(&shared);
        }
    }

    /// Closes every connection of a member with a policy code (used by sanctions and tests).
    pub fn kick(&self, id: MemberId) {
        if let Some(session) = self.session(id) {
            session.ended.cancel();
        }
    }

    pub fn shutdown_token(&self) -> &CancellationToken {
        &self.shutdown
    }
}

/// The rounded distance between two places (`u32::MAX` when either is unknown).
fn rounded_between(a: Option<Position>, b: Option<Position>) -> u32 {
    match (a, b) {
        (Some(a), Some(b)) => crate::entry::communes::rounded_distance_km(a.distance_km(b)),
        _ => u32::MAX,
    }
}

fn shared_position(shared: &SharedMember) -> Option<Position> {
    shared.position.map(|(lat, lon)| Position::from_degrees(lat, lon))
}

/// Nearest first; members without a known distance last; then by nickname.
fn sort_nearest(list: &mut [Member]) {
    list.sort_by_cached_key(|m| (m.distance_km.unwrap_or(u32::MAX), m.nickname.to_lowercase()));
}

/// The messages around the one with id `around` (or the last ones), at most `EVIDENCE_CONTEXT`.
fn window_around(entries: Vec<serde_json::Value>, around: Option<u64>) -> Vec<serde_json::Value> {
    let position = around.and_then(|id| entries.iter().position(|m| m.get("id").and_then(|v| v.as_u64()) == Some(id)));
    let end = match position {
        Some(p) => (p + EVIDENCE_CONTEXT / 2 + 1).min(entries.len()),
        None => entries.len(),
    };
    let start = end.saturating_sub(EVIDENCE_CONTEXT + 1);
    entries[start..end].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(n: u64) -> Vec<serde_json::Value> {
        (1..=n).map(|id| serde_json::json!({"id": id})).collect()
    }

    fn ids(values: &[serde_json::Value]) -> Vec<u64> {
        values.iter().filter_map(|v| v["id"].as_u64()).collect()
    }

    #[test]
    fn evidence_windows_surround_the_reported_message() {
        assert_eq!(ids(&window_around(messages(5), Some(3))), vec![1, 2, 3, 4, 5]);
        let w = window_around(messages(100), Some(50));
        assert_eq!(ids(&w), (40..=60).collect::<Vec<_>>());
        let w = window_around(messages(100), None);
        assert_eq!(ids(&w), (80..=100).collect::<Vec<_>>());
        let w = window_around(messages(100), Some(2));
        assert!(ids(&w).contains(&2));
        assert!(window_around(Vec::new(), Some(1)).is_empty());
    }

    #[test]
    fn members_sort_nearest_first_unknown_last() {
        let m = |nick: &str, d: Option<u32>| Member {
            id: MemberId(1),
            nickname: nick.into(),
            gender: crate::protocol::Gender::Autre,
            age: 30,
            city: String::new(),
            distance_km: d,
            status: crate::protocol::Status::Available,
            since: 0,
        };
        let mut list = vec![m("c", None), m("b", Some(20)), m("a", Some(20)), m("z", Some(0))];
        sort_nearest(&mut list);
        let order: Vec<&str> = list.iter().map(|m| m.nickname.as_str()).collect();
        assert_eq!(order, ["z", "a", "b", "c"]);
    }
}
