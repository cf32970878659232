//! Wire types, named by direction: [`ClientMsg`] (browser → server) and [`ServerMsg`]
//! (server → browser). `docs/protocol.md` documents every field; keep both in step.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Protocol version announced in `welcome`.
pub const PROTOCOL_VERSION: u32 = 1;
/// Longest message, in characters.
pub const MESSAGE_MAX_CHARS: usize = 500;
/// Longest WebSocket frame the server reads.
pub const FRAME_MAX_BYTES: usize = 8 * 1024;
/// Longest client reference echoed back in `ack`/`refused`.
pub const REF_MAX_BYTES: usize = 32;

/// A member's public id: random, shown as `m` + 13 base-32 characters. Never the session secret.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemberId(pub u64);

const BASE32: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

impl MemberId {
    pub fn random() -> MemberId {
        // Zero is reserved so that a default never names a member.
        MemberId(rand::random::<u64>().max(1))
    }

    pub fn encode(self) -> String {
        let mut out = String::with_capacity(14);
        out.push('m');
        for i in (0..13).rev() {
            let digit = ((self.0 >> (i * 5)) & 31) as usize;
            out.push(BASE32[digit] as char);
        }
        out
    }

    pub fn parse(text: &str) -> Option<MemberId> {
        let digits = text.strip_prefix('m')?;
        if digits.len() != 13 {
            return None;
        }
        let mut value: u64 = 0;
        for (i, byte) in digits.bytes().enumerate() {
            let digit = BASE32.iter().position(|&b| b == byte)? as u64;
            // 13 digits hold 65 bits: the first digit only carries the top four.
            if i == 0 && digit > 15 {
                return None;
            }
            value = (value << 5) | digit;
        }
        Some(MemberId(value))
    }
}

impl fmt::Display for MemberId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.encode())
    }
}

impl Serialize for MemberId {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.encode())
    }
}

impl<'de> Deserialize<'de> for MemberId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct IdVisitor;
        impl Visitor<'_> for IdVisitor {
            type Value = MemberId;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a member id")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<MemberId, E> {
                MemberId::parse(v).ok_or_else(|| E::custom("invalid member id"))
            }
        }
        deserializer.deserialize_str(IdVisitor)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Gender {
    Homme,
    Femme,
    Autre,
}

impl Gender {
    pub fn parse(text: &str) -> Option<Gender> {
        match text {
            "homme" => Some(Gender::Homme),
            "femme" => Some(Gender::Femme),
            "autre" => Some(Gender::Autre),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Gender::Homme => "homme",
            Gender::Femme => "femme",
            Gender::Autre => "autre",
        }
    }
}

/// A member as they present themselves (what `POST /api/entry` returns).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    pub id: MemberId,
    pub nickname: String,
    pub gender: Gender,
    pub age: u8,
    pub city: String,
}

/// What a member says about their availability.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    #[default]
    Available,
    Busy,
    Away,
}

impl Status {
    pub fn as_u8(self) -> u8 {
        match self {
            Status::Available => 0,
            Status::Busy => 1,
            Status::Away => 2,
        }
    }

    pub fn from_u8(value: u8) -> Status {
        match value {
            1 => Status::Busy,
            2 => Status::Away,
            _ => Status::Available,
        }
    }
}

/// A member as seen by one viewer: the profile plus a rounded distance.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    pub id: MemberId,
    pub nickname: String,
    pub gender: Gender,
    pub age: u8,
    pub city: String,
    /// Rounded to the display buckets; `None` when either side has no coordinates.
    pub distance_km: Option<u32>,
    #[serde(default)]
    pub status: Status,
    /// When they entered (Unix ms), for "online for 20 min".
    #[serde(default)]
    pub since: i64,
}

/// Nickname and id: enough to show who said something.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Author {
    pub id: MemberId,
    pub nickname: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomInfo {
    pub id: String,
    pub name: String,
    pub topic: String,
    pub count: u32,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub banner: Option<String>,
    /// Private rooms: joined by invitation only; `owner` can remove members and hand over.
    #[serde(skip_serializing_if = "std::ops::Not::not", default)]
    pub private: bool,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub owner: Option<MemberId>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReportCategory {
    MinorInDanger,
    AmbushOrThreat,
    SexualContent,
    HarassmentOrHate,
    IllegalSale,
    Spam,
    Other,
}

impl ReportCategory {
    pub fn as_str(self) -> &'static str {
        match self {
            ReportCategory::MinorInDanger => "minor_in_danger",
            ReportCategory::AmbushOrThreat => "ambush_or_threat",
            ReportCategory::SexualContent => "sexual_content",
            ReportCategory::HarassmentOrHate => "harassment_or_hate",
            ReportCategory::IllegalSale => "illegal_sale",
            ReportCategory::Spam => "spam",
            ReportCategory::Other => "other",
        }
    }

    /// Lower is more urgent: the moderation queue is ordered by it.
    pub fn severity(self) -> u8 {
        match self {
            ReportCategory::MinorInDanger => 0,
            ReportCategory::AmbushOrThreat => 1,
            ReportCategory::SexualContent => 2,
            ReportCategory::IllegalSale => 3,
            ReportCategory::HarassmentOrHate => 4,
            ReportCategory::Spam => 5,
            ReportCategory::Other => 6,
        }
    }
}

/// Browser → server.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum ClientMsg {
    Join {
        room: String,
        #[serde(default)]
        since: Option<u64>,
    },
    Leave {
        room: String,
    },
    Say {
        room: String,
        text: String,
        #[serde(default, rename = "ref")]
        reference: Option<String>,
    },
    Typing {
        #[serde(default)]
        room: Option<String>,
        #[serde(default)]
        to: Option<MemberId>,
    },
    Dm {
        to: MemberId,
        text: String,
        #[serde(default, rename = "ref")]
        reference: Option<String>,
        #[serde(default)]
        confirm: bool,
    },
    DmAccept {
        with: MemberId,
    },
    DmDecline {
        with: MemberId,
    },
    /// A conversation's messages after `since` (resuming), or the page before `before` (scrolling
    /// up, at most `limit`).
    DmHistory {
        with: MemberId,
        #[serde(default)]
        since: Option<u64>,
        #[serde(default)]
        before: Option<u64>,
        #[serde(default)]
        limit: Option<u32>,
    },
    Block {
        member: MemberId,
    },
    Unblock {
        member: MemberId,
    },
    Report {
        member: MemberId,
        #[serde(default)]
        message: Option<u64>,
        #[serde(default)]
        room: Option<String>,
        category: ReportCategory,
        #[serde(default)]
        comment: Option<String>,
    },
    Members {
        #[serde(default)]
        gender: Option<Vec<Gender>>,
        #[serde(default)]
        age_min: Option<u8>,
        #[serde(default)]
        age_max: Option<u8>,
        /// Part of a nickname to look for, case-insensitive.
        #[serde(default)]
        search: Option<String>,
    },
    /// Create a private room (its name is vetted); I join it as its owner.
    RoomCreate {
        name: String,
    },
    /// Invite a member to a private room I am in (a request they accept or decline).
    RoomInvite {
        room: String,
        member: MemberId,
    },
    RoomAccept {
        room: String,
    },
    RoomDecline {
        room: String,
    },
    /// Owner only: remove a member from the private room.
    RoomRemove {
        room: String,
        member: MemberId,
    },
    /// Owner only: hand the room over to another member of it.
    RoomOwner {
        room: String,
        member: MemberId,
    },
    /// The full member list of a room I am in (up to 500), for the members panel.
    RoomMemberList {
        room: String,
    },
    /// Older messages of a room (scrolling up): those before `before` (a `seq`), at most `limit`.
    History {
        room: String,
        before: u64,
        #[serde(default)]
        limit: Option<u32>,
    },
    /// Hide a member's public lines (room messages, typing) from me; `unignore` shows them again.
    Ignore {
        member: MemberId,
    },
    Unignore {
        member: MemberId,
    },
    /// My availability, shown in member lists.
    Status {
        status: Status,
    },
    Ping,
}

/// State of a private conversation, from one side's point of view.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConversationState {
    /// I wrote first; waiting for their answer.
    PendingOut,
    /// They wrote first; a request waits for me.
    PendingIn,
    Open,
    /// They declined my request.
    Declined,
    /// I declined their request.
    Refused,
    /// The other member left the site.
    Closed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    pub with: Member,
    pub state: ConversationState,
    pub seq: u64,
}

/// A private message as stored in a conversation's history.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DmEntry {
    pub seq: u64,
    pub id: u64,
    pub from: MemberId,
    pub text: String,
    pub at: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestMessage {
    pub seq: u64,
    pub id: u64,
    pub text: String,
    pub at: i64,
}

/// Safety cards the client shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CardKind {
    /// Talk of meeting in person: meet in a busy public place, tell someone, emergency numbers.
    Meeting,
    /// Contact details or a move to another app.
    Contact,
    /// The other member said they were under 18.
    MinorWarning,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    pub message_max_chars: usize,
    pub frame_max_bytes: usize,
}

/// Server → browser.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum ServerMsg {
    Welcome {
        v: u32,
        me: Profile,
        rooms: Vec<RoomInfo>,
        /// The private rooms I belong to.
        #[serde(default)]
        private_rooms: Vec<RoomInfo>,
        joined: Vec<String>,
        conversations: Vec<Conversation>,
        blocked: Vec<MemberId>,
        /// Members whose public lines I hide.
        #[serde(default)]
        ignored: Vec<MemberId>,
        limits: Limits,
    },
    Rooms {
        counts: std::collections::BTreeMap<String, u32>,
    },
    Joined {
        room: String,
        seq: u64,
        /// Members in the room; `members` lists at most 100 of them.
        #[serde(default)]
        count: u32,
        members: Vec<Member>,
        history: Vec<serde_json::Value>,
        replay: bool,
    },
    Left {
        room: String,
    },
    RoomMsg {
        room: String,
        seq: u64,
        id: u64,
        from: Author,
        text: String,
        at: i64,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        card: Option<CardKind>,
        /// Members of the room named with `@nickname` in the text.
        #[serde(skip_serializing_if = "Vec::is_empty", default)]
        mentions: Vec<MemberId>,
    },
    /// Answer to `room_member_list`.
    RoomMemberList {
        room: String,
        count: u32,
        members: Vec<Member>,
    },
    RoomMembers {
        room: String,
        seq: u64,
        /// Members in the room now. Rooms over 100 members send only this (empty lists).
        #[serde(default)]
        count: u32,
        joined: Vec<Member>,
        left: Vec<MemberId>,
    },
    Typing {
        #[serde(skip_serializing_if = "Option::is_none", default)]
        room: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        from: Option<MemberId>,
        member: Author,
    },
    Dm {
        from: MemberId,
        to: MemberId,
        seq: u64,
        id: u64,
        text: String,
        at: i64,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        card: Option<CardKind>,
    },
    DmRequest {
        from: Member,
        message: RequestMessage,
    },
    DmState {
        with: MemberId,
        state: ConversationState,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        member: Option<Member>,
    },
    DmHistory {
        with: MemberId,
        messages: Vec<DmEntry>,
        /// Older messages remain (when paging with `before`).
        #[serde(default)]
        more: bool,
    },
    Members {
        list: Vec<Member>,
    },
    Presence {
        joined: Vec<Member>,
        left: Vec<MemberId>,
    },
    Ack {
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none", default)]
        reference: Option<String>,
        id: u64,
        /// For a private message: its place in the conversation (the sending tab gets no copy).
        #[serde(skip_serializing_if = "Option::is_none", default)]
        seq: Option<u64>,
    },
    Refused {
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none", default)]
        reference: Option<String>,
        code: String,
        message: String,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        retry_after_ms: Option<u64>,
    },
    Card {
        kind: CardKind,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        with: Option<MemberId>,
    },
    Confirm {
        #[serde(rename = "ref", skip_serializing_if = "Option::is_none", default)]
        reference: Option<String>,
        kind: CardKind,
        to: MemberId,
    },
    /// Older room messages, oldest first; `more`: there are older ones still.
    History {
        room: String,
        messages: Vec<serde_json::Value>,
        more: bool,
    },
    /// A private room I am in was created or changed (owner, name): replaces what I knew of it.
    PrivateRoom {
        room: RoomInfo,
    },
    /// Someone invites me to a private room.
    RoomInvitation {
        room: RoomInfo,
        from: Member,
    },
    /// My invitation was answered.
    RoomInvitationAnswer {
        room: String,
        member: MemberId,
        accepted: bool,
    },
    /// I was removed from a private room (or it ended).
    Removed {
        room: String,
    },
    /// A moderator's decision about me: the statement of reasons (DSA art. 17).
    Sanction {
        statement: crate::moderation::Statement,
    },
    /// Messages removed by a moderator: clients drop them from view.
    Deleted {
        #[serde(skip_serializing_if = "Option::is_none", default)]
        room: Option<String>,
        ids: Vec<u64>,
    },
    /// Information for the member (e.g. `report_received`).
    Info {
        code: String,
        message: String,
    },
    Error {
        code: String,
        message: String,
    },
    Pong,
}

impl ServerMsg {
    /// The JSON text of this message. Serialising these types cannot fail (no maps with
    /// non-string keys, no custom serialisers that error), so a failure is a programming error
    /// reported as an `internal` error frame rather than a panic.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_else(|error| {
            tracing::error!(%error, "could not serialise a server message");
            r#"{"t":"error","code":"internal","message":"internal error"}"#.to_owned()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_ids_round_trip_and_reject_garbage() {
        for value in [1u64, 42, u64::MAX, 0x0123_4567_89ab_cdef] {
            let id = MemberId(value);
            let text = id.encode();
            assert_eq!(text.len(), 14, "{text}");
            assert_eq!(MemberId::parse(&text), Some(id));
        }
        for bad in ["", "m", "x0000000000001", "m000000000000", "mzzzzzzzzzzzzz", "m0000000000001é"] {
            assert_eq!(MemberId::parse(bad), None, "{bad:?}");
        }
        // A 65th bit does not exist.
        assert_eq!(MemberId::parse("mg000000000000"), None);
        assert_eq!(MemberId::parse("mf000000000000"), Some(MemberId(0xf << 60)));
    }

    #[test]
    fn client_messages_parse_from_the_documented_json() {
        let cases = [
            (r#"{"t":"join","room":"cuisine"}"#, ClientMsg::Join { room: "cuisine".into(), since: None }),
            (
                r#"{"t":"join","room":"cuisine","since":12}"#,
                ClientMsg::Join { room: "cuisine".into(), since: Some(12) },
            ),
            (
                r#"{"t":"say","room":"cuisine","text":"salut","ref":"c1"}"#,
                ClientMsg::Say { room: "cuisine".into(), text: "salut".into(), reference: Some("c1".into()) },
            ),
            (r#"{"t":"ping"}"#, ClientMsg::Ping),
            (
                r#"{"t":"members","gender":["femme","autre"],"age_min":30}"#,
                ClientMsg::Members {
                    gender: Some(vec![Gender::Femme, Gender::Autre]),
                    age_min: Some(30),
                    age_max: None,
                    search: None,
                },
            ),
        ];
        for (json, expected) in cases {
            let parsed: ClientMsg = serde_json::from_str(json).expect(json);
            assert_eq!(parsed, expected);
        }
        let id = MemberId(7).encode();
        let dm: ClientMsg =
            serde_json::from_str(&format!(r#"{{"t":"dm","to":"{id}","text":"hé"}}"#)).expect("dm parses");
        assert_eq!(dm, ClientMsg::Dm { to: MemberId(7), text: "hé".into(), reference: None, confirm: false });
    }

    #[test]
    fn bad_client_messages_are_errors_not_panics() {
        for bad in [
            "",
            "null",
            "[]",
            r#"{"t":"nope"}"#,
            r#"{"t":"say","room":1,"text":"x"}"#,
            r#"{"t":"dm","to":"bob","text":"x"}"#,
            r#"{"t":"members","age_min":1000}"#,
        ] {
            assert!(serde_json::from_str::<ClientMsg>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn server_messages_are_tagged_with_t_and_omit_empty_options() {
        let json = ServerMsg::Ack { reference: Some("c1".into()), id: 9, seq: None }.to_json();
        assert_eq!(json, r#"{"t":"ack","ref":"c1","id":9}"#);
        let json = ServerMsg::Pong.to_json();
        assert_eq!(json, r#"{"t":"pong"}"#);
        let json = ServerMsg::Card { kind: CardKind::Meeting, with: None }.to_json();
        assert_eq!(json, r#"{"t":"card","kind":"meeting"}"#);
    }
}
