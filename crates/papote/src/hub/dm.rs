//! Private messages. Each member has their own view of each conversation (its state from their
//! side, their numbering, their copy of the messages), kept on the node that holds their session.
//! The two sides talk through peer operations: a direct call when both are on this node, a
//! message through the broker otherwise. The same code serves one node and several.

use std::collections::{HashMap, VecDeque};

use papote_safety::{Category, Context};
use tokio::time::Instant;

use super::outbox::frame;
use super::session::{Session, lock};
use super::{Hub, Someone, now_ms, window_around};
use crate::broker::{ClusterEvent, SharedMember};
use crate::chat::{Decision, Refusal};
use crate::protocol::{CardKind, ConversationState, DmEntry, Member, MemberId, RequestMessage, ServerMsg};

/// Messages kept per conversation view (for resuming, paging and report evidence).
pub const DM_HISTORY: usize = 500;
/// Private messages are kept this long at most (the retention window).
pub const DM_RETENTION_MS: i64 = 7 * 24 * 3600 * 1000;

/// One member's side of a conversation.
pub struct View {
    pub state: ConversationState,
    pub seq: u64,
    pub history: VecDeque<DmEntry>,
    /// Day (Unix days) the meeting card was last shown on this side, so it shows once a day.
    pub meeting_card_day: Option<i64>,
    /// The other member as this side last saw them (for `welcome` after a reconnect).
    pub peer: Member,
}

impl View {
    fn new(state: ConversationState, peer: Member) -> View {
        View { state, seq: 0, history: VecDeque::new(), meeting_card_day: None, peer }
    }

    fn push(&mut self, id: u64, from: MemberId, text: &str, at: i64) -> u64 {
        self.seq += 1;
        if self.history.len() == DM_HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(DmEntry { seq: self.seq, id, from, text: text.to_owned(), at });
        self.seq
    }

    /// Whether the meeting card is due today on this side (and remember that it was shown).
    fn meeting_card_due(&mut self, at: i64) -> bool {
        let today = at / 86_400_000;
        let due = self.meeting_card_day != Some(today);
        self.meeting_card_day = Some(today);
        due
    }
}

/// `views[me][peer]`.
pub type Views = HashMap<MemberId, HashMap<MemberId, View>>;

pub use crate::broker::PeerOp;

/// What happened to a private message that passed the checks.
#[derive(Debug, PartialEq, Eq)]
pub enum DmOutcome {
    /// Delivered; `seq` is its place in the conversation (none for a shadow-muted sender).
    Sent { id: u64, seq: Option<u64> },
    /// Contact details, first time in this conversation: ask the sender to confirm.
    NeedsConfirm,
}

fn conversation_key(a: MemberId, b: MemberId) -> u64 {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let pair = if a < b { (a, b) } else { (b, a) };
    let mut hasher = DefaultHasher::new();
    pair.hash(&mut hasher);
    hasher.finish() | 1
}

pub(super) fn room_key(room: &str) -> u64 {
    use std::hash::{DefaultHasher, Hash, Hasher};
    let mut hasher = DefaultHasher::new();
    room.hash(&mut hasher);
    hasher.finish() & !1
}

impl Hub {
    fn view_state(&self, me: MemberId, peer: MemberId) -> Option<ConversationState> {
        lock(&self.views).get(&me).and_then(|v| v.get(&peer)).map(|v| v.state)
    }

    /// Sends a peer operation to the side of `to`: a call here, or a message to their node.
    fn peer_op(&self, to: MemberId, op: PeerOp) {
        match self.find(to) {
            Some(Someone::Local(_)) => self.on_peer_op(to, op),
            Some(Someone::Remote(shared)) => {
                self.send_to_node(shared.node, ClusterEvent::Direct { to, op });
            }
            None => {}
        }
    }

    pub async fn send_dm(
        &self,
        session: &Session,
        origin: u64,
        to: MemberId,
        text: &str,
        confirm: bool,
    ) -> Result<DmOutcome, Refusal> {
        if to == session.id {
            return Err(Refusal::new("self"));
        }
        let peer = self.find(to).ok_or(Refusal::new("unknown_member"))?;
        if self.is_blocked_either(session.id, to) {
            return Err(Refusal::new("blocked"));
        }
        let existing = self.view_state(session.id, to);
        let conversation_hash = conversation_key(session.id, to);
        let now = Instant::now();
        let shadow;
        {
            let mut state = session.state();
            if state.dm_suspended {
                return Err(Refusal::new("dm_suspended"));
            }
            self.may_post(session, &state, now)?;
            shadow = state.is_shadow_muted(now);
            match existing {
                Some(ConversationState::PendingOut) => return Err(Refusal::new("request_pending")),
                Some(ConversationState::Declined) => return Err(Refusal::new("declined")),
                None | Some(ConversationState::Closed) => self.new_conversation_allowed(&mut state, now)?,
                _ => {}
            }
        }
        let checked = {
            let mut state = session.state();
            self.pipeline.check(&mut state.sender, conversation_hash, text, Context::Dm, now)?
        };
        let card = match checked.decision {
            Decision::Deliver { card } => card,
            Decision::Hold { code } => return Err(Refusal::new(code)),
            Decision::Flag { code } => {
                let context = self.dm_evidence(session.id, to, None);
                self.open_automatic_case(session, &checked, &format!("dm:{}", to.encode()), context).await?;
                return Err(Refusal::new(code));
            }
        };
        let contact = checked.verdict.has(Category::Contact);
        if contact {
            let mut state = session.state();
            if !confirm && !state.contact_confirmed.contains(&conversation_hash) {
                // Not sent: the same text comes back with `confirm`, so it must not count as a repeat.
                state.sender.flood.forget_last();
                return Ok(DmOutcome::NeedsConfirm);
            }
            state.contact_confirmed.insert(conversation_hash);
        }
        let id = self.next_message_id();
        let at = now_ms();
        if shadow {
            // Looks sent to its author; nobody else sees it, no conversation opens.
            let own = ServerMsg::Dm { from: session.id, to, seq: 0, id, text: checked.text, at, card: None };
            session.send_except(origin, || frame(own.to_json()));
            return Ok(DmOutcome::Sent { id, seq: None });
        }
        let peer_member = peer.member_for(session.position);
        let meeting = card == Some(CardKind::Meeting);
        let (seq, previous, meeting_card) = {
            let mut views = lock(&self.views);
            let mine = views.entry(session.id).or_default();
            let view = mine.entry(to).or_insert_with(|| View::new(ConversationState::PendingOut, peer_member.clone()));
            let previous = existing.filter(|s| *s != ConversationState::Closed);
            view.state = match previous {
                // First message: a request until they answer.
                None => ConversationState::PendingOut,
                // Answering their request (or writing after declining it) opens the conversation.
                Some(_) => ConversationState::Open,
            };
            if view.peer != peer_member {
                view.peer = peer_member.clone();
            }
            let seq = view.push(id, session.id, &checked.text, at);
            let meeting_card = meeting && view.meeting_card_due(at);
            (seq, previous, meeting_card)
        };
        if previous.is_none() {
            session.state().new_conversations.push_back(now);
            let state =
                ServerMsg::DmState { with: to, state: ConversationState::PendingOut, member: Some(peer_member) };
            session.send(&frame(state.to_json()));
        } else if previous != Some(ConversationState::Open) {
            let state = ServerMsg::DmState { with: to, state: ConversationState::Open, member: Some(peer_member) };
            session.send(&frame(state.to_json()));
        }
        // The sending connection learns the seq from its `ack`; the sender's other tabs get the
        // message itself.
        session.send_except(origin, || {
            frame(ServerMsg::Dm { from: session.id, to, seq, id, text: checked.text.clone(), at, card }.to_json())
        });
        if meeting_card {
            session.send(&frame(ServerMsg::Card { kind: CardKind::Meeting, with: Some(to) }.to_json()));
        }
        crate::telemetry::hot().dm_messages.increment(1);
        let from = self.shared_member(session);
        self.peer_op(to, PeerOp::Message { from, id, text: checked.text, at, meeting, contact });
        Ok(DmOutcome::Sent { id, seq: Some(seq) })
    }

    /// The other side of every private-message operation, on the node of `me`.
    pub(super) fn on_peer_op(&self, me: MemberId, op: PeerOp) {
        let Some(session) = self.session(me) else { return };
        match op {
            PeerOp::Message { from, id, text, at, meeting, contact } => {
                let peer = from.member.id;
                if self.is_blocked_either(me, peer) {
                    return;
                }
                let peer_member = shared_member_for(&from, session.position);
                let (seq, previous, now_state, meeting_card) = {
                    let mut views = lock(&self.views);
                    let mine = views.entry(me).or_default();
                    let view = mine
                        .entry(peer)
                        .or_insert_with(|| View::new(ConversationState::PendingIn, peer_member.clone()));
                    let previous = view.state;
                    view.state = match previous {
                        // They both wrote first, or they write after being asked: open.
                        ConversationState::PendingOut | ConversationState::Declined | ConversationState::Open => {
                            ConversationState::Open
                        }
                        // A fresh view (just inserted) or a closed one: a request.
                        _ if view.seq == 0 || previous == ConversationState::Closed => ConversationState::PendingIn,
                        other => other,
                    };
                    if view.state == ConversationState::Refused {
                        // I declined them: their later messages are not shown.
                        return;
                    }
                    if view.peer != peer_member {
                        view.peer = peer_member.clone();
                    }
                    let seq = view.push(id, peer, &text, at);
                    let meeting_card = meeting && view.meeting_card_due(at);
                    (seq, previous, view.state, meeting_card)
                };
                if now_state == ConversationState::PendingIn {
                    let request =
                        ServerMsg::DmRequest { from: peer_member, message: RequestMessage { seq, id, text, at } };
                    session.send(&frame(request.to_json()));
                } else {
                    if previous != ConversationState::Open {
                        let state = ServerMsg::DmState {
                            with: peer,
                            state: ConversationState::Open,
                            member: Some(peer_member),
                        };
                        session.send(&frame(state.to_json()));
                    }
                    let card = if meeting {
                        Some(CardKind::Meeting)
                    } else if contact {
                        Some(CardKind::Contact)
                    } else {
                        None
                    };
                    let message = ServerMsg::Dm { from: peer, to: me, seq, id, text, at, card };
                    session.send(&frame(message.to_json()));
                }
                if meeting_card {
                    session.send(&frame(ServerMsg::Card { kind: CardKind::Meeting, with: Some(peer) }.to_json()));
                }
                if contact {
                    session.send(&frame(ServerMsg::Card { kind: CardKind::Contact, with: Some(peer) }.to_json()));
                }
            }
            PeerOp::Accepted { by } => {
                let peer_member = shared_member_for(&by, session.position);
                let changed = {
                    let mut views = lock(&self.views);
                    match views.get_mut(&me).and_then(|v| v.get_mut(&by.member.id)) {
                        Some(view) if view.state != ConversationState::Open => {
                            view.state = ConversationState::Open;
                            view.peer = peer_member.clone();
                            true
                        }
                        _ => false,
                    }
                };
                if changed {
                    let state = ServerMsg::DmState {
                        with: by.member.id,
                        state: ConversationState::Open,
                        member: Some(peer_member),
                    };
                    session.send(&frame(state.to_json()));
                }
            }
            PeerOp::Declined { by } => {
                self.set_view_state(&session, by, ConversationState::Declined);
            }
            PeerOp::Gone { member } => {
                let had = lock(&self.views).get_mut(&me).and_then(|v| v.remove(&member)).is_some();
                if had {
                    let closed = ServerMsg::DmState { with: member, state: ConversationState::Closed, member: None };
                    session.send(&frame(closed.to_json()));
                }
            }
            PeerOp::MinorWarning { member } => {
                session.send(&frame(ServerMsg::Card { kind: CardKind::MinorWarning, with: Some(member) }.to_json()));
            }
            PeerOp::Typing { author } => {
                if self.view_state(me, author.id) == Some(ConversationState::Open) {
                    let typing = ServerMsg::Typing { room: None, from: Some(author.id), member: author };
                    session.send(&frame(typing.to_json()));
                }
            }
        }
    }

    fn set_view_state(&self, session: &Session, peer: MemberId, state: ConversationState) {
        let changed = {
            let mut views = lock(&self.views);
            match views.get_mut(&session.id).and_then(|v| v.get_mut(&peer)) {
                Some(view) if view.state != state => {
                    view.state = state;
                    true
                }
                _ => false,
            }
        };
        if changed {
            session.send(&frame(ServerMsg::DmState { with: peer, state, member: None }.to_json()));
        }
    }

    pub fn dm_accept(&self, session: &Session, with: MemberId) -> Result<(), Refusal> {
        if session.state().dm_suspended {
            return Err(Refusal::new("dm_suspended"));
        }
        match self.view_state(session.id, with) {
            Some(ConversationState::PendingIn | ConversationState::Refused) => {}
            Some(ConversationState::PendingOut) => return Err(Refusal::new("request_pending")),
            Some(_) => return Ok(()),
            None => return Err(Refusal::new("unknown_member")),
        }
        let peer = self.find(with).ok_or(Refusal::new("unknown_member"))?;
        let peer_member = peer.member_for(session.position);
        if let Some(view) = lock(&self.views).get_mut(&session.id).and_then(|v| v.get_mut(&with)) {
            view.state = ConversationState::Open;
            view.peer = peer_member.clone();
        }
        let state = ServerMsg::DmState { with, state: ConversationState::Open, member: Some(peer_member) };
        session.send(&frame(state.to_json()));
        self.peer_op(with, PeerOp::Accepted { by: self.shared_member(session) });
        Ok(())
    }

    pub fn dm_decline(&self, session: &Session, with: MemberId) -> Result<(), Refusal> {
        match self.view_state(session.id, with) {
            Some(ConversationState::PendingIn) => {}
            Some(ConversationState::PendingOut) => return Err(Refusal::new("request_pending")),
            Some(_) => return Ok(()),
            None => return Err(Refusal::new("unknown_member")),
        }
        self.set_view_state(session, with, ConversationState::Refused);
        self.peer_op(with, PeerOp::Declined { by: session.id });
        Ok(())
    }

    pub fn dm_history(
        &self,
        session: &Session,
        with: MemberId,
        since: Option<u64>,
        before: Option<u64>,
        limit: Option<u32>,
    ) -> Result<super::outbox::Frame, Refusal> {
        let mut views = lock(&self.views);
        let view = views.get_mut(&session.id).and_then(|v| v.get_mut(&with)).ok_or(Refusal::new("unknown_member"))?;
        let oldest_kept = now_ms() - DM_RETENTION_MS;
        while view.history.front().is_some_and(|m| m.at < oldest_kept) {
            view.history.pop_front();
        }
        let (messages, more) = match before {
            Some(before) => {
                let older: Vec<&DmEntry> = view.history.iter().filter(|m| m.seq < before).collect();
                let take = (limit.unwrap_or(50) as usize).clamp(1, 100);
                let page = &older[older.len().saturating_sub(take)..];
                (page.iter().map(|m| (*m).clone()).collect::<Vec<_>>(), older.len() > page.len())
            }
            None => (view.history.iter().filter(|m| since.is_none_or(|s| m.seq > s)).cloned().collect(), false),
        };
        Ok(frame(ServerMsg::DmHistory { with, messages, more }.to_json()))
    }

    pub fn typing_to(&self, session: &Session, to: MemberId) {
        if self.view_state(session.id, to) != Some(ConversationState::Open)
            || !self.typing_allowed(session, conversation_key(session.id, to))
        {
            return;
        }
        self.peer_op(to, PeerOp::Typing { author: session.author() });
    }

    /// The conversation as `me` sees it, around one message (or the last ones): report evidence.
    pub(super) fn dm_evidence(&self, me: MemberId, peer: MemberId, around: Option<u64>) -> Vec<serde_json::Value> {
        let views = lock(&self.views);
        let Some(view) = views.get(&me).and_then(|v| v.get(&peer)) else { return Vec::new() };
        let entries: Vec<serde_json::Value> =
            view.history.iter().filter_map(|m| serde_json::to_value(m).ok()).collect();
        window_around(entries, around)
    }

    /// The conversations of a member, for `welcome`.
    pub(super) fn conversations_of(&self, me: MemberId) -> Vec<crate::protocol::Conversation> {
        let views = lock(&self.views);
        views
            .get(&me)
            .map(|mine| {
                mine.values()
                    .map(|view| crate::protocol::Conversation {
                        with: view.peer.clone(),
                        state: view.state,
                        seq: view.seq,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The people a member is talking with.
    pub(super) fn peers_of(&self, me: MemberId) -> Vec<MemberId> {
        lock(&self.views).get(&me).map(|v| v.keys().copied().collect()).unwrap_or_default()
    }

    /// A session ends: its views go, and every peer's view is closed.
    pub(super) fn close_conversations(&self, me: MemberId) {
        let peers: Vec<MemberId> = lock(&self.views).remove(&me).map(|v| v.into_keys().collect()).unwrap_or_default();
        for peer in peers {
            self.peer_op(peer, PeerOp::Gone { member: me });
        }
    }

    /// The member said they were under 18: no more private messages, and everyone they were
    /// talking with is warned.
    pub(super) fn suspend_private_messages(&self, session: &Session) {
        session.state().dm_suspended = true;
        for peer in self.peers_of(session.id) {
            self.peer_op(peer, PeerOp::MinorWarning { member: session.id });
        }
    }

    /// A moderator deleted these messages of `author`: they leave every view on this node.
    pub(super) fn delete_private_messages(&self, author: MemberId, ids: &[u64]) {
        let mut touched = Vec::new();
        {
            let mut views = lock(&self.views);
            for (me, mine) in views.iter_mut() {
                for view in mine.values_mut() {
                    let before = view.history.len();
                    view.history.retain(|m| !(m.from == author && ids.contains(&m.id)));
                    if view.history.len() != before {
                        touched.push(*me);
                    }
                }
            }
        }
        let notice = frame(ServerMsg::Deleted { room: None, ids: ids.to_vec() }.to_json());
        for me in touched {
            if let Some(session) = self.session(me) {
                session.send(&notice);
            }
        }
    }
}

/// A member described by their node, as `viewer` sees them.
pub(super) fn shared_member_for(shared: &SharedMember, viewer: Option<crate::entry::communes::Position>) -> Member {
    let distance_km = match (shared.position, viewer) {
        (Some((lat, lon)), Some(viewer)) => {
            let at = crate::entry::communes::Position::from_degrees(lat, lon);
            Some(crate::entry::communes::rounded_distance_km(at.distance_km(viewer)))
        }
        _ => None,
    };
    Member { distance_km, ..shared.member.clone() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversation_and_room_keys_never_collide() {
        let a = MemberId(1);
        let b = MemberId(2);
        assert_eq!(conversation_key(a, b), conversation_key(b, a));
        assert_eq!(conversation_key(a, b) & 1, 1);
        assert_eq!(room_key("cuisine") & 1, 0);
    }
}
