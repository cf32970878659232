//! A member's session: who they are, their live connections, and what the server remembers for
//! them while they are online.

use std::collections::{BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::outbox::{Frame, Outbox};
use crate::chat::SenderState;
use crate::entry::communes::{Position, rounded_distance_km};
use crate::i18n::Lang;
use crate::protocol::{Author, Gender, Member, MemberId, Profile, Status};

/// Which members a viewer wants in their list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MemberFilter {
    pub genders: Option<Vec<Gender>>,
    pub age_min: u8,
    pub age_max: u8,
    /// Lower-cased part of a nickname.
    pub search: Option<String>,
}

impl Default for MemberFilter {
    fn default() -> Self {
        MemberFilter { genders: None, age_min: 18, age_max: 99, search: None }
    }
}

impl MemberFilter {
    pub fn accepts(&self, profile: &Profile) -> bool {
        self.accepts_fields(profile.gender, profile.age, &profile.nickname)
    }

    pub fn accepts_fields(&self, gender: Gender, age: u8, nickname: &str) -> bool {
        age >= self.age_min
            && age <= self.age_max
            && self.genders.as_ref().is_none_or(|g| g.contains(&gender))
            && self.search.as_ref().is_none_or(|s| nickname.to_lowercase().contains(s.as_str()))
    }
}

/// The rooms a member is in: a handful, kept sorted in a plain vector (a B-tree set allocates a
/// whole node, ~270 bytes, for its first room, in every session).
#[derive(Debug, Default)]
pub struct RoomSet(Vec<String>);

impl RoomSet {
    fn position(&self, room: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|r| r.as_str().cmp(room))
    }

    /// Returns whether the room was new.
    pub fn insert(&mut self, room: String) -> bool {
        match self.position(&room) {
            Ok(_) => false,
            Err(at) => {
                self.0.insert(at, room);
                true
            }
        }
    }

    /// Returns whether the room was there.
    pub fn remove(&mut self, room: &str) -> bool {
        match self.position(room) {
            Ok(at) => {
                self.0.remove(at);
                true
            }
            Err(_) => false,
        }
    }

    pub fn contains(&self, room: &str) -> bool {
        self.position(room).is_ok()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, String> {
        self.0.iter()
    }
}

impl IntoIterator for RoomSet {
    type Item = String;
    type IntoIter = std::vec::IntoIter<String>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// Mutable per-session state, behind one short-lived lock (never held across `.await`).
#[derive(Debug, Default)]
pub struct SessionState {
    pub rooms: RoomSet,
    pub sender: SenderState,
    /// When this session opened its recent new conversations.
    pub new_conversations: VecDeque<Instant>,
    /// Set when the member said they were under 18: no more private messages.
    pub dm_suspended: bool,
    /// The member-list filter; `None` until the member asks for the list (until then no presence
    /// updates are computed for them).
    pub filter: Option<MemberFilter>,
    /// Last "is typing" sent per target, to throttle.
    pub typing_sent: HashMap<u64, Instant>,
    /// Contact-sharing confirmations already given, per conversation.
    pub contact_confirmed: BTreeSet<u64>,
    /// A moderator's mute: no posting until then.
    pub muted_until: Option<Instant>,
    /// A moderator's shadow-mute: lines reach only the member themself, until then (or for good).
    pub shadow_muted: Option<Option<Instant>>,
    /// Statements of reasons decided while no connection was open, sent on the next one.
    pub pending_statements: Vec<Frame>,
}

impl SessionState {
    pub fn is_muted(&self, now: Instant) -> bool {
        self.muted_until.is_some_and(|until| now < until)
    }

    pub fn is_shadow_muted(&self, now: Instant) -> bool {
        match self.shadow_muted {
            Some(None) => true,
            Some(Some(until)) => now < until,
            None => false,
        }
    }
}

pub struct Session {
    pub id: MemberId,
    /// The secret the session cookie carries.
    pub token: String,
    pub profile: Profile,
    pub position: Option<Position>,
    pub skeleton: String,
    pub entered_at: Instant,
    pub entered_at_ms: i64,
    /// The language the member entered with (for statements sent outside a request).
    pub lang: Lang,
    connections: Mutex<Vec<Outbox>>,
    status: AtomicU8,
    /// Members whose public lines this member hides; the flag spares the lock on the fan-out path
    /// for the many who ignore nobody.
    ignoring: Mutex<HashSet<MemberId>>,
    ignores_anyone: AtomicBool,
    /// When the last connection closed, in milliseconds since the process started (0: attached).
    detached_at: AtomicU64,
    state: Mutex<SessionState>,
    /// Cancelled when the session ends (or the server stops: it is a child of the hub's token):
    /// every connection closes.
    pub ended: CancellationToken,
}

/// Milliseconds since the process started: a monotonic clock that fits an atomic.
fn process_millis() -> u64 {
    static START: std::sync::LazyLock<std::time::Instant> = std::sync::LazyLock::new(std::time::Instant::now);
    START.elapsed().as_millis() as u64
}

/// Recovers a poisoned lock: the state behind it is plain data, still usable after a panic
/// elsewhere (which the server never intends, but must survive).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Session {
    pub fn new(
        profile: Profile,
        token: String,
        position: Option<Position>,
        skeleton: String,
        now_ms: i64,
        lang: Lang,
        parent: &CancellationToken,
    ) -> Session {
        Session {
            id: profile.id,
            token,
            profile,
            position,
            skeleton,
            entered_at: Instant::now(),
            entered_at_ms: now_ms,
            lang,
            connections: Mutex::new(Vec::new()),
            status: AtomicU8::new(0),
            ignoring: Mutex::new(HashSet::new()),
            ignores_anyone: AtomicBool::new(false),
            detached_at: AtomicU64::new(0),
            state: Mutex::new(SessionState::default()),
            ended: parent.child_token(),
        }
    }

    pub fn state(&self) -> MutexGuard<'_, SessionState> {
        lock(&self.state)
    }

    pub fn author(&self) -> Author {
        Author { id: self.id, nickname: self.profile.nickname.clone() }
    }

    /// This member as `viewer` sees them (with a rounded distance).
    pub fn member_for(&self, viewer: Option<Position>) -> Member {
        let distance_km = match (self.position, viewer) {
            (Some(a), Some(b)) => Some(rounded_distance_km(a.distance_km(b))),
            _ => None,
        };
        Member {
            id: self.id,
            nickname: self.profile.nickname.clone(),
            gender: self.profile.gender,
            age: self.profile.age,
            city: self.profile.city.clone(),
            distance_km,
            status: self.status(),
            since: self.entered_at_ms,
        }
    }

    /// This member without distance (room member lists, shared by every viewer).
    pub fn member(&self) -> Member {
        self.member_for(None)
    }

    /// Whether this member ignores anyone at all (a lock-free check for the fan-out path).
    pub fn ignores_anyone(&self) -> bool {
        self.ignores_anyone.load(Ordering::Relaxed)
    }

    pub fn ignores(&self, member: MemberId) -> bool {
        self.ignores_anyone.load(Ordering::Relaxed) && lock(&self.ignoring).contains(&member)
    }

    pub fn set_ignored(&self, member: MemberId, ignored: bool) {
        let mut ignoring = lock(&self.ignoring);
        if ignored {
            ignoring.insert(member);
        } else {
            ignoring.remove(&member);
        }
        self.ignores_anyone.store(!ignoring.is_empty(), Ordering::Relaxed);
    }

    pub fn ignored(&self) -> Vec<MemberId> {
        lock(&self.ignoring).iter().copied().collect()
    }

    pub fn status(&self) -> Status {
        Status::from_u8(self.status.load(Ordering::Relaxed))
    }

    pub fn set_status(&self, status: Status) {
        self.status.store(status.as_u8(), Ordering::Relaxed);
    }

    /// No connection from now on (until `attach`): the grace period starts.
    pub fn mark_detached(&self) {
        self.detached_at.store(process_millis().max(1), Ordering::Release);
    }

    /// How long the session has been without a connection, if it has none.
    pub fn detached_for(&self) -> Option<std::time::Duration> {
        match self.detached_at.load(Ordering::Acquire) {
            0 => None,
            at => Some(std::time::Duration::from_millis(process_millis().saturating_sub(at))),
        }
    }

    pub fn attach(&self, outbox: Outbox) {
        self.detached_at.store(0, Ordering::Release);
        lock(&self.connections).push(outbox);
    }

    /// Removes a connection; returns how many remain.
    pub fn detach(&self, connection: u64) -> usize {
        let mut connections = lock(&self.connections);
        connections.retain(|o| o.id() != connection);
        connections.len()
    }

    pub fn connection_count(&self) -> usize {
        lock(&self.connections).len()
    }

    /// Sends a frame to every connection of this session.
    pub fn send(&self, frame: &Frame) {
        for outbox in lock(&self.connections).iter() {
            outbox.send(frame);
        }
    }

    /// Closes every connection of this session with `code` (sanctions).
    pub fn cut_all(&self, code: u16) {
        for outbox in lock(&self.connections).iter() {
            outbox.conn.cut(code);
        }
    }

    /// Sends to every connection but `except` the frame `make` builds, built only if there is
    /// one (a member's other tabs; most members have a single one).
    pub fn send_except(&self, except: u64, make: impl FnOnce() -> Frame) {
        let connections = lock(&self.connections);
        let mut others = connections.iter().filter(|outbox| outbox.id() != except).peekable();
        if others.peek().is_none() {
            return;
        }
        let frame = make();
        for outbox in others {
            outbox.send(&frame);
        }
    }

    pub fn is_ended(&self) -> bool {
        self.ended.is_cancelled()
    }
}

#[cfg(test)]
mod tests {
    use super::RoomSet;

    #[test]
    fn a_room_set_is_a_sorted_set() {
        let mut rooms = RoomSet::default();
        assert!(rooms.insert("musique".to_owned()));
        assert!(rooms.insert("cuisine".to_owned()));
        assert!(rooms.insert("sport".to_owned()));
        assert!(!rooms.insert("cuisine".to_owned()), "no duplicates");
        assert_eq!(rooms.iter().map(String::as_str).collect::<Vec<_>>(), ["cuisine", "musique", "sport"]);
        assert!(rooms.contains("musique"));
        assert!(rooms.remove("musique"));
        assert!(!rooms.remove("musique"));
        assert!(!rooms.contains("musique"));
        assert_eq!(rooms.into_iter().collect::<Vec<_>>(), ["cuisine", "sport"]);
    }
}
