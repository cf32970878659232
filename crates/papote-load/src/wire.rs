//! What the generator writes and the little it reads of Papote's frames.
//!
//! Outgoing texts carry their own send time: `"<unix-nanos> <client> <seq> <padding>"`. The hot
//! path never parses a whole server frame: it looks at the frame's first bytes for its type and
//! finds the `"text":"` field by a substring search (nicknames and room ids are plain ASCII
//! letters here, so the pattern cannot appear earlier in a frame the generator produced).

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

/// Nanoseconds since the Unix epoch (the clock every sender and receiver shares).
pub fn unix_nanos() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(0)
}

/// The kinds of server frame the generator cares about.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    RoomMsg,
    Dm,
    Ack,
    Refused,
    Confirm,
    Welcome,
    Joined,
    DmRequest,
    DmState,
    Error,
    Other,
}

/// The frame's type, from its first bytes (`{"t":"..."` is always first: serde writes the tag
/// before the fields).
pub fn kind(frame: &str) -> Kind {
    let Some(rest) = frame.strip_prefix(r#"{"t":""#) else { return Kind::Other };
    let tag = match rest.find('"') {
        Some(end) => &rest[..end],
        None => return Kind::Other,
    };
    match tag {
        "room_msg" => Kind::RoomMsg,
        "dm" => Kind::Dm,
        "ack" => Kind::Ack,
        "refused" => Kind::Refused,
        "confirm" => Kind::Confirm,
        "welcome" => Kind::Welcome,
        "joined" => Kind::Joined,
        "dm_request" => Kind::DmRequest,
        "dm_state" => Kind::DmState,
        "error" => Kind::Error,
        _ => Kind::Other,
    }
}

/// The stamp a sender puts at the start of its text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Stamp {
    pub sent_nanos: u64,
    pub client: u32,
    pub seq: u64,
}

fn number(bytes: &[u8], at: &mut usize) -> Option<u64> {
    let start = *at;
    let mut value: u64 = 0;
    while let Some(&b) = bytes.get(*at) {
        if !b.is_ascii_digit() {
            break;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
        *at += 1;
    }
    (*at > start).then_some(value)
}

/// Reads the stamp from the start of a message text.
pub fn parse_stamp(text: &str) -> Option<Stamp> {
    let bytes = text.as_bytes();
    let mut at = 0;
    let sent_nanos = number(bytes, &mut at)?;
    if bytes.get(at) != Some(&b' ') {
        return None;
    }
    at += 1;
    let client = u32::try_from(number(bytes, &mut at)?).ok()?;
    if bytes.get(at) != Some(&b' ') {
        return None;
    }
    at += 1;
    let seq = number(bytes, &mut at)?;
    Some(Stamp { sent_nanos, client, seq })
}

/// The stamp of a `room_msg` or `dm` frame, found without parsing the JSON.
pub fn frame_stamp(frame: &str) -> Option<Stamp> {
    const FIELD: &str = r#""text":""#;
    let start = frame.find(FIELD)? + FIELD.len();
    parse_stamp(&frame[start..])
}

/// Appends `text` as a JSON string body (without the quotes).
pub fn push_json_str(out: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
}

/// Plain ASCII filler for room messages (no digit, so no stray age or phone number).
const FILLER: &str = "salut tout le monde, quelqu'un a vu le match hier soir ? moi je suis rentre tard \
     du boulot et j'ai rate la fin, racontez moi tout, on se refait une soiree bientot ";

/// Everyday French lines for private messages (the safety engine sees realistic text).
pub const FRENCH_LINES: &[&str] = &[
    "slt ça va ?",
    "tu fais quoi ce soir",
    "jsuis dans le 59 et toi",
    "haha grave, moi aussi",
    "t'as vu le match hier ?",
    "je rentre du taf, crevé",
    "ça fait longtemps que t'es sur le site ?",
    "mdr t'es drôle toi",
    "il pleut encore ici, la flemme",
    "bonne soirée alors, à plus",
    "tu écoutes quoi comme musique ?",
    "on se parle demain si tu veux",
];

/// A room message text of exactly `payload` bytes (at least the stamp).
pub fn room_text(stamp: Stamp, payload: usize) -> String {
    let mut text = String::with_capacity(payload.max(48));
    let _ = write!(text, "{} {} {} ", stamp.sent_nanos, stamp.client, stamp.seq);
    let mut filler = FILLER.chars().cycle().skip((stamp.seq % 37) as usize);
    while text.len() < payload {
        text.push(filler.next().unwrap_or('a'));
    }
    // Trailing spaces would be trimmed by the server: end on a letter.
    if text.ends_with(' ') {
        text.pop();
        text.push('x');
    }
    text
}

/// A private message text: the stamp then one French line.
pub fn dm_text(stamp: Stamp) -> String {
    let line = FRENCH_LINES[(stamp.seq as usize + stamp.client as usize) % FRENCH_LINES.len()];
    format!("{} {} {} {}", stamp.sent_nanos, stamp.client, stamp.seq, line)
}

/// `{"t":"say","room":...,"text":...}`
pub fn say_frame(room: &str, text: &str) -> String {
    let mut out = String::with_capacity(text.len() + room.len() + 40);
    out.push_str(r#"{"t":"say","room":""#);
    push_json_str(&mut out, room);
    out.push_str(r#"","text":""#);
    push_json_str(&mut out, text);
    out.push_str("\"}");
    out
}

/// `{"t":"dm","to":...,"text":...}`, with `confirm` when re-sent after an "are you sure?".
pub fn dm_frame(to: &str, text: &str, confirm: bool) -> String {
    let mut out = String::with_capacity(text.len() + 60);
    out.push_str(r#"{"t":"dm","to":""#);
    push_json_str(&mut out, to);
    out.push_str(r#"","text":""#);
    push_json_str(&mut out, text);
    out.push('"');
    if confirm {
        out.push_str(r#","confirm":true"#);
    }
    out.push('}');
    out
}

/// Letters that spell no word, fold to no digit, and have no confusable pair among themselves
/// (no `r`/`n` for `rn`≈`m`, no `v` for `vv`≈`w`, no `l`/`i`/`o`/`g`/`q`/`s`/`z`/`e`/`a`/`t`/`b`).
const NICK_LETTERS: &[u8] = b"cdfhjkmnpwy";
/// Letters for the index part of a nickname.
pub const NICK_INDEX_LETTERS: usize = 5;

fn letters(mut value: u64, width: usize, out: &mut String) {
    let base = NICK_LETTERS.len() as u64;
    let mut buf = vec![NICK_LETTERS[0]; width];
    for slot in buf.iter_mut().rev() {
        *slot = NICK_LETTERS[(value % base) as usize];
        value /= base;
    }
    out.extend(buf.iter().map(|&b| b as char));
}

/// How many distinct nicknames one run can make.
pub fn nickname_capacity() -> u64 {
    (NICK_LETTERS.len() as u64).pow(NICK_INDEX_LETTERS as u32)
}

/// A run tag of three letters, so that runs against the same server do not collide with the
/// previous run's sessions (kept two minutes after their last connection).
pub fn run_tag(seed: u64) -> String {
    let mut out = String::new();
    let mixed = seed ^ (seed >> 29) ^ (seed >> 47);
    letters(mixed % (NICK_LETTERS.len() as u64).pow(3), 3, &mut out);
    out
}

/// `"kw" + tag + index in letters`: 3–20 characters, letters only, unique per index.
pub fn nickname(tag: &str, index: usize) -> String {
    let mut out = String::with_capacity(2 + tag.len() + NICK_INDEX_LETTERS);
    out.push_str("kw");
    out.push_str(tag);
    letters(index as u64, NICK_INDEX_LETTERS, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn frame_kinds_come_from_the_tag() {
        assert_eq!(kind(r#"{"t":"room_msg","room":"a"}"#), Kind::RoomMsg);
        assert_eq!(kind(r#"{"t":"dm","from":"m1"}"#), Kind::Dm);
        assert_eq!(kind(r#"{"t":"dm_state","with":"m1"}"#), Kind::DmState);
        assert_eq!(kind(r#"{"t":"dm_request"}"#), Kind::DmRequest);
        assert_eq!(kind(r#"{"t":"ack","id":1}"#), Kind::Ack);
        assert_eq!(kind(r#"{"t":"rooms","counts":{}}"#), Kind::Other);
        assert_eq!(kind("garbage"), Kind::Other);
    }

    #[test]
    fn stamps_round_trip_through_a_server_frame() {
        let stamp = Stamp { sent_nanos: 1_763_000_000_123_456_789, client: 42, seq: 7 };
        let text = room_text(stamp, 64);
        assert_eq!(text.len(), 64);
        assert!(!text.ends_with(' '));
        let frame = format!(
            r#"{{"t":"room_msg","room":"sport","seq":3,"id":9,"from":{{"id":"m1","nickname":"kwabc"}},"text":"{text}","at":1}}"#
        );
        assert_eq!(frame_stamp(&frame), Some(stamp));
        let dm = dm_text(stamp);
        let frame = format!(r#"{{"t":"dm","from":"m1","to":"m2","seq":1,"id":2,"text":"{dm}","at":3}}"#);
        assert_eq!(frame_stamp(&frame), Some(stamp));
        assert_eq!(parse_stamp("12 x 3"), None);
        assert_eq!(parse_stamp("salut"), None);
    }

    #[test]
    fn frames_are_valid_json() {
        let say: serde_json::Value = serde_json::from_str(&say_frame("sport", "a \"b\" \\ c")).expect("json");
        assert_eq!(say["text"], "a \"b\" \\ c");
        let dm: serde_json::Value = serde_json::from_str(&dm_frame("m1", "slt ça va ?", true)).expect("json");
        assert_eq!(dm["confirm"], true);
        assert_eq!(dm["text"], "slt ça va ?");
    }

    #[test]
    fn nicknames_are_unique_letters_only_and_the_right_length() {
        let tag = run_tag(123_456_789);
        assert_eq!(tag.len(), 3);
        let mut seen = HashSet::new();
        for i in (0..40_000).step_by(7) {
            let nick = nickname(&tag, i);
            assert!((3..=20).contains(&nick.len()), "{nick}");
            assert!(nick.chars().all(|c| c.is_ascii_lowercase()), "{nick}");
            assert!(!nick.contains("rn") && !nick.contains("vv"), "{nick}");
            assert!(seen.insert(nick));
        }
        assert!(nickname_capacity() >= 100_000);
    }
}
