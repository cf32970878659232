//! Private rooms: created by a member with a vetted name, joined by invitation only (an
//! invitation is a request, like a first private message), an owner who can remove members and
//! hand the room over, a member cap, and an end when the last member leaves.
//!
//! With several nodes every node keeps a copy of each private room it has heard of: a change is
//! made on the node of the member who makes it, then broadcast whole (`ClusterEvent::PrivateRoom`;
//! the last change wins). The room's messages travel like a public room's, numbered by the broker.

use std::sync::Arc;

use tokio::time::Instant;

use super::outbox::frame;
use super::room::{self, PrivateAccess, RoomCmd, RoomHandle};
use super::session::{Session, lock};
use super::{Hub, Someone, shared_position};
use crate::broker::{ClusterEvent, PrivateRoomState};
use crate::chat::{Refusal, sanitize};
use crate::protocol::{MemberId, RoomInfo, ServerMsg};

pub const ROOM_NAME_MIN_CHARS: usize = 3;
pub const ROOM_NAME_MAX_CHARS: usize = 40;

impl Hub {
    fn private_info(&self, handle: &RoomHandle) -> RoomInfo {
        let owner = handle.access.as_ref().map(|a| lock(a).owner);
        RoomInfo {
            id: handle.id.clone(),
            name: handle.name.clone(),
            topic: String::new(),
            count: handle.count(),
            banner: None,
            private: true,
            owner,
        }
    }

    /// Tells every member of the room, on whichever node they are.
    fn tell_members(&self, handle: &RoomHandle, msg: &ServerMsg) {
        self.tell(handle, msg, true);
    }

    /// Tells the room's members on this node only (each node does it after a change they all
    /// apply on their own, such as a stopped node's members leaving).
    fn tell_local_members(&self, handle: &RoomHandle, msg: &ServerMsg) {
        self.tell(handle, msg, false);
    }

    fn tell(&self, handle: &RoomHandle, msg: &ServerMsg, everywhere: bool) {
        let Some(access) = &handle.access else { return };
        let members = lock(access).members.clone();
        let json = msg.to_json();
        let shared = frame(json.clone());
        for member in members {
            match self.find(member) {
                Some(Someone::Local(session)) => session.send(&shared),
                Some(Someone::Remote(remote)) if everywhere => {
                    self.send_to_node(remote.node, ClusterEvent::Deliver { member, frame: json.clone() })
                }
                _ => {}
            }
        }
    }

    /// A snapshot of the private rooms (the map is not held while they are worked on).
    pub(super) fn private_room_handles(&self) -> Vec<Arc<RoomHandle>> {
        self.private_rooms.iter().map(|r| Arc::clone(r.value())).collect()
    }

    fn spawn_private(&self, id: String, name: String, access: PrivateAccess) -> Arc<RoomHandle> {
        let shared = self.shared().then(|| Arc::clone(&self.broker));
        let (tx, count) = room::spawn(id.clone(), self.shutdown.clone(), shared, Arc::clone(&self.saturation));
        let handle = Arc::new(RoomHandle {
            id: id.clone(),
            name: name.clone(),
            name_en: name,
            topic: String::new(),
            topic_en: String::new(),
            banner: None,
            banner_en: None,
            tx,
            count,
            access: Some(std::sync::Mutex::new(access)),
        });
        self.private_rooms.insert(id, Arc::clone(&handle));
        handle
    }

    /// Several nodes: gives the others this room as it is after a change made here.
    pub(super) fn publish_private(&self, handle: &RoomHandle) {
        if !self.shared() {
            return;
        }
        let Some(access) = &handle.access else { return };
        let state = {
            let access = lock(access);
            PrivateRoomState {
                owner: access.owner,
                members: access.members.clone(),
                invited: access.invited.iter().copied().collect(),
            }
        };
        self.broadcast(ClusterEvent::PrivateRoom {
            room: handle.id.clone(),
            name: handle.name.clone(),
            state: Some(state),
        });
    }

    /// A change made on another node (`state: None`: the room ended).
    pub(super) async fn apply_private_room(&self, room: String, name: String, state: Option<PrivateRoomState>) {
        let (handle, before) = match state {
            None => {
                let Some((_, handle)) = self.private_rooms.remove(&room) else { return };
                let before = handle.access.as_ref().map(|a| lock(a).members.clone()).unwrap_or_default();
                (handle, before)
            }
            Some(state) => {
                let access = PrivateAccess {
                    owner: state.owner,
                    members: state.members,
                    invited: state.invited.into_iter().collect(),
                };
                let existing = self.private_rooms.get(&room).map(|r| Arc::clone(r.value()));
                match existing {
                    Some(handle) => {
                        let before = match &handle.access {
                            Some(current) => std::mem::replace(&mut *lock(current), access).members,
                            None => Vec::new(),
                        };
                        (handle, before)
                    }
                    None => {
                        let handle = self.spawn_private(room.clone(), name, access);
                        // A new copy knows none of the members already inside: ask their nodes.
                        self.broadcast(ClusterEvent::Hello { room: Some(room.clone()) });
                        (handle, Vec::new())
                    }
                }
            }
        };
        // Members of this node that the change put out (the owner removed them elsewhere).
        let after = handle.access.as_ref().map(|a| lock(a).members.clone()).unwrap_or_default();
        for member in before.into_iter().filter(|m| !after.contains(m)) {
            let Some(session) = self.session(member) else { continue };
            if session.state().rooms.remove(&room) {
                let _ = handle.tx.send(RoomCmd::Leave { member }).await;
                session.send(&frame(ServerMsg::Removed { room: room.clone() }.to_json()));
            }
        }
    }

    /// Members of stopped nodes leave the private rooms here (every node does the same).
    pub(super) fn drop_private_members(&self, gone: &[MemberId]) {
        for handle in self.private_room_handles() {
            let Some(access) = &handle.access else { continue };
            let (empty, new_owner) = {
                let mut access = lock(access);
                let before = access.members.len();
                access.members.retain(|m| !gone.contains(m));
                access.invited.retain(|m| !gone.contains(m));
                if access.members.len() == before {
                    continue;
                }
                let new_owner = if gone.contains(&access.owner) {
                    access.members.first().copied().inspect(|&next| access.owner = next)
                } else {
                    None
                };
                (access.members.is_empty(), new_owner)
            };
            if empty {
                self.private_rooms.remove(&handle.id);
            } else if new_owner.is_some() {
                self.tell_local_members(&handle, &ServerMsg::PrivateRoom { room: self.private_info(&handle) });
            }
        }
    }

    /// Several nodes: the private rooms this node answers for after a cut or when a node starts
    /// (those whose owner is here).
    pub(super) fn republish_private_rooms(&self) {
        for handle in self.private_room_handles() {
            let owner = handle.access.as_ref().map(|a| lock(a).owner);
            if owner.is_some_and(|owner| self.session(owner).is_some()) {
                self.publish_private(&handle);
            }
        }
    }

    /// Creates a private room named `name` (vetted like nicknames) owned by `session`, who must then
    /// join it. Returns the room id.
    pub fn create_private_room(&self, session: &Session, name: &str) -> Result<String, Refusal> {
        let name = sanitize(name)?;
        let length = name.chars().count();
        if !(ROOM_NAME_MIN_CHARS..=ROOM_NAME_MAX_CHARS).contains(&length) {
            return Err(Refusal::new("invalid_room_name"));
        }
        if self.pipeline.engine().check_room_name(&name).is_err() {
            return Err(Refusal::new("room_name_refused"));
        }
        let id = format!("p-{}", crate::entry::random_token().get(..12).unwrap_or("0"));
        let access =
            PrivateAccess { owner: session.id, members: Vec::new(), invited: [session.id].into_iter().collect() };
        let handle = self.spawn_private(id.clone(), name, access);
        self.publish_private(&handle);
        Ok(id)
    }

    /// Called by `join`: only members and invited people get in, within the cap.
    pub(super) fn admit_to_private(
        &self,
        session: &Session,
        handle: &RoomHandle,
        access: &std::sync::Mutex<PrivateAccess>,
    ) -> Result<(), Refusal> {
        {
            let mut access = lock(access);
            if access.members.contains(&session.id) {
                return Ok(());
            }
            if !access.invited.contains(&session.id) {
                return Err(Refusal::new("not_invited"));
            }
            if access.members.len() >= self.config.private_room_max_members {
                return Err(Refusal::new("room_full"));
            }
            access.invited.remove(&session.id);
            access.members.push(session.id);
        }
        self.publish_private(handle);
        let info = self.private_info(handle);
        session.send(&frame(ServerMsg::PrivateRoom { room: info }.to_json()));
        let answer = ServerMsg::RoomInvitationAnswer { room: handle.id.clone(), member: session.id, accepted: true };
        self.tell_members(handle, &answer);
        Ok(())
    }

    pub fn invite(&self, session: &Session, room: &str, member: MemberId) -> Result<(), Refusal> {
        let handle = self.room(room).ok_or(Refusal::new("unknown_room"))?;
        let access = handle.access.as_ref().ok_or(Refusal::new("not_private"))?;
        if member == session.id {
            return Err(Refusal::new("self"));
        }
        let invitee = self.find(member).ok_or(Refusal::new("unknown_member"))?;
        if self.is_blocked_either(session.id, member) {
            return Err(Refusal::new("blocked"));
        }
        {
            let mut state = session.state();
            if state.dm_suspended {
                return Err(Refusal::new("dm_suspended"));
            }
            let now = Instant::now();
            self.new_conversation_allowed(&mut state, now)?;
            let mut access = lock(access);
            if !access.members.contains(&session.id) {
                return Err(Refusal::new("not_in_room"));
            }
            if access.members.contains(&member) || !access.invited.insert(member) {
                return Err(Refusal::new("already_invited"));
            }
            state.new_conversations.push_back(now);
        }
        // The room's new state first: the invitee's node must know them invited before they answer.
        self.publish_private(&handle);
        match invitee {
            Someone::Local(invitee) => {
                let from = session.member_for(invitee.position);
                let invitation = ServerMsg::RoomInvitation { room: self.private_info(&handle), from };
                invitee.send(&frame(invitation.to_json()));
            }
            Someone::Remote(remote) => {
                let from = session.member_for(shared_position(&remote));
                let invitation = ServerMsg::RoomInvitation { room: self.private_info(&handle), from };
                self.send_to_node(remote.node, ClusterEvent::Deliver { member, frame: invitation.to_json() });
            }
        }
        Ok(())
    }

    /// Declines an invitation; the members of the room are told.
    pub fn decline_invitation(&self, session: &Session, room: &str) -> Result<(), Refusal> {
        let handle = self.room(room).ok_or(Refusal::new("unknown_room"))?;
        let access = handle.access.as_ref().ok_or(Refusal::new("not_private"))?;
        if !lock(access).invited.remove(&session.id) {
            return Err(Refusal::new("not_invited"));
        }
        self.publish_private(&handle);
        let answer = ServerMsg::RoomInvitationAnswer { room: room.to_owned(), member: session.id, accepted: false };
        self.tell_members(&handle, &answer);
        Ok(())
    }

    /// Leaves a room (public or private); a private room with nobody left ends, and one whose owner
    /// left passes to its longest-standing member.
    pub(super) async fn leave_room(&self, handle: &Arc<RoomHandle>, member: MemberId) {
        let _ = handle.tx.send(RoomCmd::Leave { member }).await;
        let Some(access) = &handle.access else { return };
        let (empty, new_owner) = {
            let mut access = lock(access);
            access.members.retain(|m| *m != member);
            let new_owner = if access.owner == member {
                access.members.first().copied().inspect(|&next| access.owner = next)
            } else {
                None
            };
            (access.members.is_empty(), new_owner)
        };
        if empty {
            // Dropping the last handle closes the room task's channel: the task ends.
            self.private_rooms.remove(&handle.id);
            if self.shared() {
                self.broadcast(ClusterEvent::PrivateRoom {
                    room: handle.id.clone(),
                    name: handle.name.clone(),
                    state: None,
                });
            }
            return;
        }
        self.publish_private(handle);
        if new_owner.is_some() {
            self.tell_members(handle, &ServerMsg::PrivateRoom { room: self.private_info(handle) });
        }
    }

    /// Owner only: removes a member from the room.
    pub async fn remove_from_room(&self, session: &Session, room: &str, member: MemberId) -> Result<(), Refusal> {
        let handle = self.room(room).ok_or(Refusal::new("unknown_room"))?;
        let access = handle.access.as_ref().ok_or(Refusal::new("not_private"))?;
        {
            let access = lock(access);
            if access.owner != session.id {
                return Err(Refusal::new("not_owner"));
            }
            if member == session.id || !access.members.contains(&member) {
                return Err(Refusal::new("unknown_member"));
            }
        }
        if let Some(removed) = self.session(member) {
            removed.state().rooms.remove(room);
            removed.send(&frame(ServerMsg::Removed { room: room.to_owned() }.to_json()));
        }
        self.leave_room(&handle, member).await;
        Ok(())
    }

    /// Owner only: hands the room over to another member of it.
    pub fn hand_over(&self, session: &Session, room: &str, member: MemberId) -> Result<(), Refusal> {
        let handle = self.room(room).ok_or(Refusal::new("unknown_room"))?;
        let access = handle.access.as_ref().ok_or(Refusal::new("not_private"))?;
        {
            let mut access = lock(access);
            if access.owner != session.id {
                return Err(Refusal::new("not_owner"));
            }
            if !access.members.contains(&member) {
                return Err(Refusal::new("unknown_member"));
            }
            access.owner = member;
        }
        self.publish_private(&handle);
        self.tell_members(&handle, &ServerMsg::PrivateRoom { room: self.private_info(&handle) });
        Ok(())
    }

    /// A session ended: its pending invitations go with it.
    pub(super) fn forget_invitations(&self, member: MemberId) {
        for handle in self.private_room_handles() {
            let removed = handle.access.as_ref().is_some_and(|access| lock(access).invited.remove(&member));
            if removed {
                self.publish_private(&handle);
            }
        }
    }

    /// The private rooms a member belongs to, for `welcome`.
    pub fn private_rooms_of(&self, member: MemberId) -> Vec<RoomInfo> {
        self.private_rooms
            .iter()
            .filter(|r| r.access.as_ref().is_some_and(|a| lock(a).members.contains(&member)))
            .map(|r| self.private_info(r.value()))
            .collect()
    }

    pub fn private_room_count(&self) -> usize {
        self.private_rooms.len()
    }
}
