//! One task per room, owning its members, its sequence numbers and its recent history.
//!
//! Commands arrive over a channel; every outgoing event is serialised once and the same bytes are
//! queued to every member connection. Membership changes are batched (at most five times a
//! second) so a crowd arriving at once costs one event per batch, not one per arrival.
//!
//! When the server is saturated (`load.rs`), a big room paces its deliveries: time is cut into
//! slots of `pacing()` (10 µs per member, at most 20 ms) and the room fans out at most once per
//! slot; events that come after the slot's fan-out wait for the next slot and go out together.
//! Every member then gets them in one write instead of one write each, which is most of a
//! delivery's cost. A quiet room, and any room while the server keeps up, delivers at once. The
//! slots are fixed, not counted from the last fan-out, so a delay never carries over from one
//! event to the next. Events are numbered and kept when they happen, so anything that could show
//! a held event another way delivers the held ones first.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::load::Saturation;
use super::outbox::{Frame, Outbox, frame};
use super::session::Session;
use crate::broker::{Broker, NodeId, RoomWire, SharedMember};
use crate::protocol::{Author, CardKind, Member, MemberId, ServerMsg};

/// Events kept for gap replay.
pub const HISTORY_EVENTS: usize = 256;
/// Messages sent to a member who joins without `since` (or whose gap is too old).
pub const JOIN_HISTORY_MESSAGES: usize = 50;
/// Messages a room keeps for scrolling back, and for how long (the rooms' retention window).
pub const ARCHIVE_MESSAGES: usize = 2000;
pub const ARCHIVE_MS: i64 = 24 * 3600 * 1000;
/// Most messages in one `history` answer.
pub const HISTORY_PAGE_MAX: usize = 100;
/// Members listed in `joined` (the first to arrive); `count` is always exact. Kept small: every
/// connection keeps a write buffer as large as the largest frame it was sent.
pub const JOIN_MEMBER_LIST: usize = 20;
/// Rooms up to this size send arrivals and departures to everyone; bigger ones only their count.
pub const LIVE_MEMBER_LIST: usize = 100;
/// Most members in a `room_member_list` answer.
pub const MEMBER_LIST_PAGE: usize = 500;
const MEMBER_BATCH: Duration = Duration::from_millis(200);
/// Rooms smaller than this deliver every event at once.
pub const PACED_ROOM_MIN: usize = 200;
/// A room that delivered more than this many frames a second over the last second leaves the
/// writing to its members' connection tasks instead of writing to idle sockets itself
/// (`hub::outbox`): at 3 to 4 µs a write that is about half a core for one task, so the room would
/// fall behind; the connection tasks spread the writes over the cores and, when frames pile up,
/// write several at once, which a room writing each frame as it comes never does.
const DIRECT_ROOM_MAX_RATE: f64 = 150_000.0;
/// The gap between two fan-outs of a paced room, per member: about twice a delivery's cost, so
/// one busy room takes at most about half a core.
const PACING_PER_MEMBER: Duration = Duration::from_micros(10);
/// The longest an event waits for the next fan-out.
pub const PACING_MAX: Duration = Duration::from_millis(20);

pub enum RoomCmd {
    Join {
        session: Arc<Session>,
        outbox: Outbox,
        since: Option<u64>,
    },
    /// A connection closed; the member stays (they may come back within the grace period).
    Detach {
        member: MemberId,
        connection: u64,
    },
    Leave {
        member: MemberId,
    },
    /// A shadow-muted author's line reaches only their own connections and is not kept.
    Say {
        author: Author,
        id: u64,
        text: String,
        at: i64,
        card: Option<CardKind>,
        shadow: bool,
    },
    /// A moderator deleted these messages.
    Delete {
        ids: Vec<u64>,
    },
    Typing {
        author: Author,
    },
    /// The last messages, oldest first, as their JSON frames (for reports' frozen evidence).
    Recent {
        reply: oneshot::Sender<Vec<Frame>>,
    },
    /// The room's member list for one connection (opening the members panel).
    MemberList {
        outbox: Outbox,
    },
    /// A numbered event from the broker (several nodes): applied with its site-wide `seq`.
    Shared {
        seq: u64,
        event: RoomWire,
    },
    /// The members of a node that died are gone.
    DropNode {
        node: NodeId,
    },
    /// The link to the other nodes was cut: events may have been missed.
    Gap,
    /// Tell the other nodes again who is here (after a cut).
    Republish,
    /// Older messages for one connection (scrolling up).
    History {
        before: u64,
        limit: usize,
        outbox: Outbox,
    },
}

/// What the hub keeps of a room: its description and the way to talk to its task.
pub struct RoomHandle {
    pub id: String,
    pub name: String,
    pub name_en: String,
    pub topic: String,
    pub topic_en: String,
    pub banner: Option<String>,
    pub banner_en: Option<String>,
    pub tx: mpsc::Sender<RoomCmd>,
    pub count: Arc<AtomicU32>,
    /// Set for private rooms: who may join, and who owns the room.
    pub access: Option<std::sync::Mutex<PrivateAccess>>,
}

/// A private room's membership: joined by invitation only, one owner.
#[derive(Debug)]
pub struct PrivateAccess {
    pub owner: MemberId,
    /// In the order they joined (the longest-standing member inherits the room).
    pub members: Vec<MemberId>,
    pub invited: std::collections::HashSet<MemberId>,
}

impl RoomHandle {
    pub fn count(&self) -> u32 {
        self.count.load(Ordering::Relaxed)
    }
}

struct RoomMember {
    session: Arc<Session>,
    outboxes: Vec<Outbox>,
}

struct Event {
    seq: u64,
    frame: Frame,
    /// Set for messages (as opposed to membership events).
    message_id: Option<u64>,
}

struct Archived {
    seq: u64,
    frame: Frame,
    id: u64,
    at: i64,
}

struct Room {
    id: String,
    members: HashMap<MemberId, RoomMember>,
    /// Members of this room whose sessions are on other nodes (several nodes only).
    remote: HashMap<MemberId, SharedMember>,
    /// Set with several nodes: events are numbered by the broker, membership batches go to it.
    broker: Option<Arc<dyn Broker>>,
    /// Events before this `seq` may be missing here (after a cut): no replay across it.
    gap_before: u64,
    seq: u64,
    history: VecDeque<Event>,
    /// Messages only, for scrolling back within the retention window.
    archive: VecDeque<Archived>,
    /// The members `joined` lists (at most `JOIN_MEMBER_LIST`), and that list's JSON.
    listed: Vec<MemberId>,
    listed_json: Option<String>,
    joined_batch: Vec<MemberId>,
    left_batch: Vec<MemberId>,
    count: Arc<AtomicU32>,
    /// Events numbered and kept but not delivered yet, with their author (see `pacing`).
    held: Vec<(Frame, Option<MemberId>)>,
    /// The earliest time the next fan-out may start: the next slot's.
    next_delivery: Instant,
    /// Where the slots are counted from.
    slots_origin: Instant,
    saturation: Arc<Saturation>,
    /// Whether fan-outs write straight to idle sockets (`hub::outbox`), or leave the writing to
    /// the connection tasks: see `DIRECT_ROOM_MAX_RATE`.
    direct: DirectWrites,
}

/// A room's delivery rate over the last second, and what it decides: whether its fan-outs write
/// straight to idle sockets.
#[derive(Debug)]
struct DirectWrites {
    delivered: u64,
    since: Instant,
    allowed: bool,
}

impl DirectWrites {
    fn new(now: Instant) -> DirectWrites {
        DirectWrites { delivered: 0, since: now, allowed: true }
    }

    /// Counts a fan-out's deliveries; once a second, decides for the next second.
    fn record(&mut self, deliveries: u64, now: Instant) {
        self.delivered += deliveries;
        let window = now.duration_since(self.since);
        if window >= Duration::from_secs(1) {
            self.allowed = (self.delivered as f64 / window.as_secs_f64()) < DIRECT_ROOM_MAX_RATE;
            self.delivered = 0;
            self.since = now;
        }
    }
}

#[derive(Serialize)]
#[serde(tag = "t", rename = "room_members")]
struct RoomMembersMsg<'a> {
    room: &'a str,
    seq: u64,
    count: usize,
    joined: Vec<Member>,
    left: &'a [MemberId],
}

#[derive(Serialize)]
#[serde(tag = "t", rename = "typing")]
struct TypingMsg<'a> {
    room: &'a str,
    member: &'a Author,
}

/// Starts a room's task; `broker` when several nodes share the room.
pub fn spawn(
    id: String,
    shutdown: CancellationToken,
    broker: Option<Arc<dyn Broker>>,
    saturation: Arc<Saturation>,
) -> (mpsc::Sender<RoomCmd>, Arc<AtomicU32>) {
    let (tx, rx) = mpsc::channel(4096);
    let count = Arc::new(AtomicU32::new(0));
    let room = Room {
        id,
        members: HashMap::new(),
        remote: HashMap::new(),
        broker,
        gap_before: 0,
        seq: 0,
        history: VecDeque::with_capacity(HISTORY_EVENTS),
        archive: VecDeque::new(),
        listed: Vec::new(),
        listed_json: None,
        joined_batch: Vec::new(),
        left_batch: Vec::new(),
        count: count.clone(),
        held: Vec::new(),
        next_delivery: Instant::now(),
        slots_origin: Instant::now(),
        saturation,
        direct: DirectWrites::new(Instant::now()),
    };
    tokio::spawn(room.run(rx, shutdown));
    (tx, count)
}

impl Room {
    async fn run(mut self, mut rx: mpsc::Receiver<RoomCmd>, shutdown: CancellationToken) {
        let mut batch_tick = tokio::time::interval(MEMBER_BATCH);
        batch_tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let hold = tokio::time::sleep_until(self.next_delivery);
        tokio::pin!(hold);
        loop {
            tokio::select! {
                command = rx.recv() => match command {
                    Some(command) => self.handle(command),
                    None => break,
                },
                () = &mut hold, if !self.held.is_empty() => self.deliver_held(),
                _ = batch_tick.tick(), if !self.joined_batch.is_empty() || !self.left_batch.is_empty() => {
                    self.flush_membership();
                }
                _ = shutdown.cancelled() => break,
            }
            if !self.held.is_empty() && hold.deadline() != self.next_delivery {
                hold.as_mut().reset(self.next_delivery);
            }
        }
    }

    fn handle(&mut self, command: RoomCmd) {
        // These show the room's events another way (a snapshot, the archive, a line numbered
        // after them, a deletion): what is held goes out first, so that order is kept.
        if matches!(
            command,
            RoomCmd::Join { .. } | RoomCmd::Say { shadow: true, .. } | RoomCmd::Delete { .. } | RoomCmd::History { .. }
        ) {
            self.deliver_held();
        }
        match command {
            RoomCmd::Join { session, outbox, since } => self.join(session, outbox, since),
            RoomCmd::Detach { member, connection } => {
                if let Some(m) = self.members.get_mut(&member) {
                    m.outboxes.retain(|o| o.id() != connection);
                }
            }
            RoomCmd::Leave { member } => {
                if let Some(pos) = self.listed.iter().position(|m| *m == member) {
                    self.listed.swap_remove(pos);
                    self.listed_json = None;
                    if let Some(next) = self.members.keys().find(|m| **m != member && !self.listed.contains(m)) {
                        self.listed.push(*next);
                    }
                }
                if self.members.remove(&member).is_some() {
                    self.update_count();
                    if let Some(pos) = self.joined_batch.iter().position(|m| *m == member) {
                        // Arrived and left within one batch: nobody needs to hear of it.
                        self.joined_batch.swap_remove(pos);
                    } else {
                        self.left_batch.push(member);
                    }
                }
            }
            RoomCmd::Say { author, id, text, at, card, shadow: false } => {
                let seq = self.seq + 1;
                let mentions = self.mentions(&text);
                let author_id = author.id;
                let msg = ServerMsg::RoomMsg { room: self.id.clone(), seq, id, from: author, text, at, card, mentions };
                let frame = frame(msg.to_json());
                self.archive_message(seq, id, at, &frame);
                self.publish_from(frame, Some(id), Some(author_id));
            }
            RoomCmd::Say { author, id, text, at, card, shadow: true } => {
                // Looks like any line to its author (same next seq), reaches no one else.
                if let Some(member) = self.members.get(&author.id) {
                    let msg = ServerMsg::RoomMsg {
                        room: self.id.clone(),
                        seq: self.seq,
                        id,
                        from: author,
                        text,
                        at,
                        card,
                        mentions: Vec::new(),
                    };
                    let own = frame(msg.to_json());
                    member.outboxes.iter().for_each(|o| {
                        o.send(&own);
                    });
                }
            }
            RoomCmd::Delete { ids } => {
                self.history.retain(|e| e.message_id.is_none_or(|id| !ids.contains(&id)));
                self.archive.retain(|m| !ids.contains(&m.id));
                let notice = frame(ServerMsg::Deleted { room: Some(self.id.clone()), ids }.to_json());
                for member in self.members.values() {
                    member.outboxes.iter().for_each(|o| {
                        o.send(&notice);
                    });
                }
            }
            RoomCmd::Typing { author } => {
                let json = serde_json::to_string(&TypingMsg { room: &self.id, member: &author });
                if let Ok(json) = json {
                    let typing = frame(json);
                    for (id, member) in &self.members {
                        if *id != author.id && !member.session.ignores(author.id) {
                            member.outboxes.iter().for_each(|o| {
                                o.send(&typing);
                            });
                        }
                    }
                }
            }
            RoomCmd::Shared { seq, event } => self.apply_shared(seq, event),
            RoomCmd::DropNode { node } => {
                let gone: Vec<MemberId> =
                    self.remote.values().filter(|r| r.node == node).map(|r| r.member.id).collect();
                for id in &gone {
                    self.remote.remove(id);
                }
                if !gone.is_empty() {
                    self.update_count();
                    self.left_batch.extend(gone);
                }
            }
            RoomCmd::Gap => self.gap_before = self.seq + 1,
            RoomCmd::Republish => {
                self.joined_batch = self.members.keys().copied().collect();
                self.flush_membership();
            }
            RoomCmd::MemberList { outbox } => {
                let members: Vec<Member> = self
                    .members
                    .values()
                    .map(|m| m.session.member())
                    .chain(self.remote.values().map(|r| r.member.clone()))
                    .take(MEMBER_LIST_PAGE)
                    .collect();
                let msg = ServerMsg::RoomMemberList { room: self.id.clone(), count: self.total() as u32, members };
                outbox.send(&frame(msg.to_json()));
            }
            RoomCmd::History { before, limit, outbox } => {
                let older: Vec<&Archived> = self.archive.iter().filter(|m| m.seq < before).collect();
                let page = &older[older.len().saturating_sub(limit.clamp(1, HISTORY_PAGE_MAX))..];
                let more = older.len() > page.len();
                let room = serde_json::to_string(&self.id).unwrap_or_else(|_| "\"\"".into());
                let mut json = format!(r#"{{"t":"history","room":{room},"messages":["#);
                for (i, message) in page.iter().enumerate() {
                    if i > 0 {
                        json.push(',');
                    }
                    json.push_str(&message.frame);
                }
                let _ = write!(json, r#"],"more":{more}}}"#);
                outbox.send(&frame(json));
            }
            RoomCmd::Recent { reply } => {
                let frames = self.history.iter().filter(|e| e.message_id.is_some()).map(|e| e.frame.clone()).collect();
                let _ = reply.send(frames);
            }
        }
    }

    fn join(&mut self, session: Arc<Session>, outbox: Outbox, since: Option<u64>) {
        // The snapshot already lists pending arrivals; the next `room_members` batch repeats them
        // (clients merge by id). Flushing here instead would cost one event per arrival.
        let member_id = session.id;
        match self.members.get_mut(&member_id) {
            Some(existing) => {
                if !existing.outboxes.iter().any(|o| o.id() == outbox.id()) {
                    existing.outboxes.push(outbox.clone());
                }
            }
            None => {
                self.members.insert(member_id, RoomMember { session, outboxes: vec![outbox.clone()] });
                self.update_count();
                self.joined_batch.push(member_id);
                if self.listed.len() < JOIN_MEMBER_LIST {
                    self.listed.push(member_id);
                    self.listed_json = None;
                }
            }
        }
        let oldest = self.history.front().map_or(self.seq + 1, |e| e.seq).max(self.gap_before);
        let replay = since.filter(|&s| s <= self.seq && s + 1 >= oldest);
        let json = self.joined_json(replay);
        outbox.send(&frame(json));
    }

    /// `joined`, built by hand so stored event frames are spliced in without re-parsing.
    /// The member list sent in `joined`, serialised once per change of the listed members.
    fn listed_members_json(&mut self) -> String {
        if let Some(json) = &self.listed_json {
            return json.clone();
        }
        let members: Vec<Member> =
            self.listed.iter().filter_map(|id| self.members.get(id)).map(|m| m.session.member()).collect();
        let json = serde_json::to_string(&members).unwrap_or_else(|_| "[]".into());
        self.listed_json = Some(json.clone());
        json
    }

    fn joined_json(&mut self, replay_since: Option<u64>) -> String {
        let members = self.listed_members_json();
        let events: Vec<&Frame> = match replay_since {
            Some(since) => self.history.iter().filter(|e| e.seq > since).map(|e| &e.frame).collect(),
            None => {
                let mut last: Vec<&Frame> = self
                    .history
                    .iter()
                    .rev()
                    .filter(|e| e.message_id.is_some())
                    .take(JOIN_HISTORY_MESSAGES)
                    .map(|e| &e.frame)
                    .collect();
                last.reverse();
                last
            }
        };
        let mut out = String::with_capacity(256 + events.iter().map(|f| f.len() + 1).sum::<usize>() + members.len());
        let room = serde_json::to_string(&self.id).unwrap_or_else(|_| "\"\"".into());
        let _ = write!(
            out,
            r#"{{"t":"joined","room":{room},"seq":{},"count":{},"members":{members},"history":["#,
            self.seq,
            self.members.len()
        );
        for (i, event) in events.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(event);
        }
        let _ = write!(out, r#"],"replay":{}}}"#, replay_since.is_some());
        out
    }

    fn update_count(&self) {
        self.count.store((self.members.len() + self.remote.len()) as u32, Ordering::Relaxed);
    }

    fn total(&self) -> usize {
        self.members.len() + self.remote.len()
    }

    fn flush_membership(&mut self) {
        if self.joined_batch.is_empty() && self.left_batch.is_empty() {
            return;
        }
        if let Some(broker) = &self.broker {
            // Several nodes: the batch goes to the broker, which numbers it and brings it back
            // to every node, this one included (`apply_shared`).
            let node = broker.node();
            let joined: Vec<SharedMember> = self
                .joined_batch
                .iter()
                .filter_map(|id| self.members.get(id))
                .map(|m| SharedMember {
                    member: m.session.member(),
                    position: m.session.position.map(|p| p.to_degrees()),
                    node,
                })
                .collect();
            let event = RoomWire::Members { joined, left: std::mem::take(&mut self.left_batch) };
            self.joined_batch.clear();
            let broker = Arc::clone(broker);
            let room = self.id.clone();
            tokio::spawn(async move {
                if let Err(error) = broker.publish_room(&room, &event).await {
                    tracing::warn!(%error, room, "could not publish room membership");
                }
            });
            return;
        }
        // A big room tells only its count: a list of thousands changes too fast to follow, and
        // each change sent to everyone would cost one frame per member. Its list is on request.
        let live = self.total() <= LIVE_MEMBER_LIST;
        let joined: Vec<Member> = if live {
            self.joined_batch.iter().filter_map(|id| self.members.get(id)).map(|m| m.session.member()).collect()
        } else {
            Vec::new()
        };
        let left: &[MemberId] = if live { &self.left_batch } else { &[] };
        let seq = self.seq + 1;
        let msg = RoomMembersMsg { room: &self.id, seq, count: self.total(), joined, left };
        let json = serde_json::to_string(&msg);
        self.joined_batch.clear();
        self.left_batch.clear();
        if let Ok(json) = json {
            self.publish(frame(json), None);
        }
    }

    /// An event from the broker, with its site-wide number.
    fn apply_shared(&mut self, seq: u64, event: RoomWire) {
        match event {
            RoomWire::Say { author, id, text, at, card } => {
                let mentions = self.mentions(&text);
                let author_id = author.id;
                let msg = ServerMsg::RoomMsg { room: self.id.clone(), seq, id, from: author, text, at, card, mentions };
                let frame = frame(msg.to_json());
                self.archive_message(seq, id, at, &frame);
                self.publish_at(seq, frame, Some(id), Some(author_id));
            }
            RoomWire::Members { joined, left } => {
                for shared in &joined {
                    if !self.members.contains_key(&shared.member.id) {
                        self.remote.insert(shared.member.id, shared.clone());
                    }
                }
                for id in &left {
                    if !self.members.contains_key(id) {
                        self.remote.remove(id);
                    }
                }
                self.update_count();
                let live = self.total() <= LIVE_MEMBER_LIST;
                let listed: Vec<Member> =
                    if live { joined.into_iter().map(|s| s.member).collect() } else { Vec::new() };
                let left: Vec<MemberId> = if live { left } else { Vec::new() };
                let msg = RoomMembersMsg { room: &self.id, seq, count: self.total(), joined: listed, left: &left };
                if let Ok(json) = serde_json::to_string(&msg) {
                    self.publish_at(seq, frame(json), None, None);
                }
            }
        }
    }

    /// Keeps a message for scrolling back: at most `ARCHIVE_MESSAGES`, none older than a day.
    fn archive_message(&mut self, seq: u64, id: u64, at: i64, frame: &Frame) {
        while self.archive.len() >= ARCHIVE_MESSAGES || self.archive.front().is_some_and(|m| m.at < at - ARCHIVE_MS) {
            self.archive.pop_front();
        }
        self.archive.push_back(Archived { seq, frame: frame.clone(), id, at });
    }

    /// The room's members named with `@nickname` in a text (look-alikes count).
    fn mentions(&self, text: &str) -> Vec<MemberId> {
        if !text.contains('@') {
            return Vec::new();
        }
        let mut found = Vec::new();
        for word in text.split('@').skip(1) {
            let name: String =
                word.chars().take_while(|c| c.is_alphanumeric() || matches!(c, '-' | '_' | '.')).collect();
            let name = name.trim_end_matches('.');
            if name.len() < 3 {
                continue;
            }
            let key = crate::entry::uniqueness_key(name);
            let local = self.members.values().find(|m| m.session.skeleton == key).map(|m| m.session.id);
            let remote = || {
                self.remote
                    .values()
                    .find(|r| crate::entry::uniqueness_key(&r.member.nickname) == key)
                    .map(|r| r.member.id)
            };
            if let Some(id) = local.or_else(remote)
                && !found.contains(&id)
            {
                found.push(id);
            }
        }
        found
    }

    /// Numbers an event, keeps it for replay, and sends it to every member connection.
    fn publish(&mut self, frame: Frame, message_id: Option<u64>) {
        self.publish_from(frame, message_id, None);
    }

    /// Same, skipping members who ignore `author`.
    fn publish_from(&mut self, frame: Frame, message_id: Option<u64>, author: Option<MemberId>) {
        let seq = self.seq + 1;
        self.publish_at(seq, frame, message_id, author);
    }

    /// Delivers and keeps an event numbered `seq` (by this room, or site-wide by the broker).
    fn publish_at(&mut self, seq: u64, frame: Frame, message_id: Option<u64>, author: Option<MemberId>) {
        if seq > self.seq + 1 && self.seq > 0 {
            // Events between were missed here: replays must not pretend to cover them.
            self.gap_before = seq;
        }
        self.seq = seq.max(self.seq);
        if self.history.len() == HISTORY_EVENTS {
            self.history.pop_front();
        }
        self.history.push_back(Event { seq: self.seq, frame: frame.clone(), message_id });
        self.held.push((frame, author));
        if self.held.len() == 1 && Instant::now() >= self.next_delivery {
            self.deliver_held();
        }
    }

    /// The pacing slot: none for a small room, or while the server keeps up.
    fn pacing(&self) -> Duration {
        if self.members.len() < PACED_ROOM_MIN || !self.saturation.is_saturated() {
            return Duration::ZERO;
        }
        PACING_PER_MEMBER.saturating_mul(self.members.len() as u32).min(PACING_MAX)
    }

    /// Sends the held events to every member connection, in order, skipping for each member the
    /// lines of authors they ignore.
    fn deliver_held(&mut self) {
        if self.held.is_empty() {
            return;
        }
        let mut deliveries = 0;
        for member in self.members.values() {
            let session = &member.session;
            for outbox in &member.outboxes {
                deliveries += if session.ignores_anyone() {
                    let shown = self.held.iter().filter(|(_, author)| !author.is_some_and(|a| session.ignores(a)));
                    outbox.send_all_with(shown.map(|(frame, _)| frame), self.direct.allowed)
                } else {
                    outbox.send_all_with(self.held.iter().map(|(frame, _)| frame), self.direct.allowed)
                } as u64;
            }
        }
        crate::telemetry::hot().deliveries.increment(deliveries);
        self.held.clear();
        let now = Instant::now();
        self.direct.record(deliveries, now);
        let slot = self.pacing().as_nanos();
        self.next_delivery = match now.duration_since(self.slots_origin).as_nanos().checked_rem(slot) {
            Some(into_slot) => now + Duration::from_nanos((slot - into_slot) as u64),
            None => now,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hub::outbox::OutboxReceiver;
    use crate::i18n::Lang;
    use crate::protocol::{Gender, Profile};

    struct TestRoom {
        tx: mpsc::Sender<RoomCmd>,
        shutdown: CancellationToken,
        members: Vec<(Arc<Session>, OutboxReceiver)>,
    }

    fn session(id: u64, shutdown: &CancellationToken) -> Arc<Session> {
        let profile = Profile {
            id: MemberId(id),
            nickname: format!("membre{id}"),
            gender: Gender::Femme,
            age: 30,
            city: "Lille".into(),
        };
        Arc::new(Session::new(profile, format!("token{id}"), None, format!("membre{id}"), 0, Lang::Fr, shutdown))
    }

    impl TestRoom {
        /// A room with `size` members, each with one connection, after the arrivals settled.
        async fn with_members(size: u64) -> TestRoom {
            TestRoom::on_server(size, true).await
        }

        async fn on_server(size: u64, saturated: bool) -> TestRoom {
            let shutdown = CancellationToken::new();
            let saturation = Arc::new(Saturation::default());
            saturation.set(saturated);
            let (tx, _count) = spawn("salon".into(), shutdown.clone(), None, saturation);
            let mut room = TestRoom { tx, shutdown, members: Vec::new() };
            for id in 1..=size {
                room.join(id).await;
            }
            // Lets the membership batch and any pacing after it pass.
            tokio::time::sleep(Duration::from_secs(1)).await;
            room.settled().await;
            for (_, rx) in &mut room.members {
                while rx.try_recv().is_some() {}
            }
            room
        }

        async fn join(&mut self, id: u64) {
            let session = session(id, &self.shutdown);
            let (outbox, rx) = Outbox::new(id, session.id, 1024);
            self.command(RoomCmd::Join { session: Arc::clone(&session), outbox, since: None }).await;
            self.members.push((session, rx));
        }

        async fn command(&self, command: RoomCmd) {
            assert!(self.tx.send(command).await.is_ok(), "the room task runs");
        }

        async fn say(&self, author: u64, id: u64) {
            let author = Author { id: MemberId(author), nickname: format!("membre{author}") };
            let say = RoomCmd::Say { author, id, text: format!("ligne {id}"), at: 0, card: None, shadow: false };
            self.command(say).await;
        }

        /// Returns once the room has handled every command sent before (without letting time pass).
        async fn settled(&self) {
            let (reply, done) = oneshot::channel();
            self.command(RoomCmd::Recent { reply }).await;
            assert!(done.await.is_ok(), "the room answers");
        }
    }

    /// The frames queued for a connection: the ids of the room lines, and the other kinds.
    fn received(rx: &mut OutboxReceiver) -> (Vec<u64>, Vec<String>) {
        let (mut lines, mut others) = (Vec::new(), Vec::new());
        while let Some(frame) = rx.try_recv() {
            let value: serde_json::Value = serde_json::from_str(&frame).expect("frames are JSON");
            match value["t"].as_str() {
                Some("room_msg") => lines.push(value["id"].as_u64().expect("a line has an id")),
                other => others.push(other.unwrap_or_default().to_owned()),
            }
        }
        (lines, others)
    }

    #[test]
    fn a_room_over_the_rate_leaves_its_writes_to_the_connections_then_takes_them_back() {
        let start = Instant::now();
        let mut direct = DirectWrites::new(start);
        assert!(direct.allowed);
        // B's shape: 100,000 deliveries a second, in fan-outs of 2,000 every 20 ms.
        for i in 1..=50 {
            direct.record(2_000, start + Duration::from_millis(20 * i));
        }
        assert!(direct.allowed, "100,000 a second is under the rate");
        // E's shape: twice that. Decided at the end of the second, not before.
        let second = start + Duration::from_secs(1);
        for i in 1..=99 {
            direct.record(2_000, second + Duration::from_millis(10 * i));
            assert!(direct.allowed);
        }
        direct.record(2_000, second + Duration::from_secs(1));
        assert!(!direct.allowed, "200,000 a second hands the writes over");
        // A quiet second after a long pause: the rate is over the whole time since.
        direct.record(2_000, second + Duration::from_secs(5));
        assert!(direct.allowed);
    }

    #[tokio::test(start_paused = true)]
    async fn a_big_busy_room_sends_the_lines_between_two_fan_outs_together_and_in_order() {
        let mut room = TestRoom::with_members(PACED_ROOM_MIN as u64).await;
        for id in 1..=4 {
            room.say(1, id).await;
        }
        room.settled().await;
        // The first line went out at once; the next three wait for the next fan-out.
        for (_, rx) in &mut room.members {
            assert_eq!(received(rx).0, [1]);
        }
        tokio::time::sleep(PACING_MAX).await;
        room.settled().await;
        for (_, rx) in &mut room.members {
            let mut batch = Vec::new();
            assert_eq!(rx.recv_many(&mut batch, 64).await, 3, "the held lines are queued together");
            let ids: Vec<&str> = batch.iter().map(|f| f.as_str()).collect();
            assert!(ids[0].contains("ligne 2") && ids[1].contains("ligne 3") && ids[2].contains("ligne 4"), "{ids:?}");
        }
        // A quiet room delivers at once again.
        tokio::time::sleep(PACING_MAX).await;
        room.say(2, 5).await;
        room.settled().await;
        for (_, rx) in &mut room.members {
            assert_eq!(received(rx).0, [5]);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn held_lines_reach_members_before_a_newcomer_s_snapshot_and_are_not_sent_twice() {
        let mut room = TestRoom::with_members(PACED_ROOM_MIN as u64).await;
        for id in 1..=3 {
            room.say(1, id).await;
        }
        let newcomer = PACED_ROOM_MIN as u64 + 1;
        room.join(newcomer).await;
        room.settled().await;
        let (_, rx) = room.members.last_mut().expect("the newcomer is there");
        let mut joined = Vec::new();
        while let Some(frame) = rx.try_recv() {
            joined.push(serde_json::from_str::<serde_json::Value>(&frame).expect("frames are JSON"));
        }
        assert_eq!(joined.len(), 1, "{joined:?}");
        assert_eq!(joined[0]["t"], "joined");
        let history: Vec<u64> =
            joined[0]["history"].as_array().expect("a history").iter().filter_map(|m| m["id"].as_u64()).collect();
        assert_eq!(history, [1, 2, 3]);
        // The members already there got the held lines when the newcomer arrived, not later.
        for (_, rx) in &mut room.members[..PACED_ROOM_MIN] {
            assert_eq!(received(rx).0, [1, 2, 3]);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
        room.settled().await;
        for (_, rx) in &mut room.members {
            assert!(received(rx).0.is_empty(), "nothing is sent twice");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_held_batch_skips_the_lines_of_ignored_authors_for_those_who_ignore_them() {
        let mut room = TestRoom::with_members(PACED_ROOM_MIN as u64).await;
        let (ignorer, _) = &room.members[9];
        ignorer.set_ignored(MemberId(2), true);
        room.say(1, 1).await;
        room.say(2, 2).await;
        room.say(3, 3).await;
        tokio::time::sleep(PACING_MAX).await;
        room.settled().await;
        assert_eq!(received(&mut room.members[9].1).0, [1, 3]);
        assert_eq!(received(&mut room.members[10].1).0, [1, 2, 3]);
    }

    #[tokio::test(start_paused = true)]
    async fn a_big_room_delivers_every_line_at_once_while_the_server_keeps_up() {
        let mut room = TestRoom::on_server(PACED_ROOM_MIN as u64, false).await;
        for id in 1..=3 {
            room.say(1, id).await;
        }
        room.settled().await;
        for (_, rx) in &mut room.members {
            assert_eq!(received(rx).0, [1, 2, 3]);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_small_room_delivers_every_line_at_once() {
        let mut room = TestRoom::with_members(PACED_ROOM_MIN as u64 - 1).await;
        for id in 1..=3 {
            room.say(1, id).await;
        }
        room.settled().await;
        for (_, rx) in &mut room.members {
            assert_eq!(received(rx).0, [1, 2, 3]);
        }
    }
}
