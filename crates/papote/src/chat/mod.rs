//! The message pipeline: sanitise → rate limit → flood → safety, as small pure stages.
//!
//! Delivery is the hub's job; this module decides whether a text may be delivered and how. Each
//! stage takes the state it needs and the current time, so tests drive time themselves.

use std::collections::{HashMap, VecDeque};
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;
use std::time::Duration;

use papote_safety::{Action, Category, Context, Engine, Verdict};
use tokio::time::Instant;
use unicode_normalization::UnicodeNormalization;

use crate::protocol::{CardKind, MESSAGE_MAX_CHARS};

/// Why a message was not delivered; `code` is the protocol's refusal code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Refusal {
    pub code: &'static str,
    pub retry_after: Option<Duration>,
}

impl Refusal {
    pub fn new(code: &'static str) -> Refusal {
        Refusal { code, retry_after: None }
    }
}

/// What the pipeline decided for a text that passed the mechanical stages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Deliver, with a safety card when the engine asked for one (`notice`).
    Deliver { card: Option<CardKind> },
    /// Do not deliver; tell the sender `code`.
    Hold { code: &'static str },
    /// Do not deliver, open a moderation case; tell the sender `code`.
    Flag { code: &'static str },
}

#[derive(Clone, Debug)]
pub struct Checked {
    pub text: String,
    pub verdict: Verdict,
    pub decision: Decision,
}

/// Most consecutive combining marks kept on one character (stops "zalgo" text).
const MAX_COMBINING_RUN: usize = 2;

/// Stage 1: normalise to NFC, drop control, bidi-override and invisible formatting characters,
/// turn line breaks into spaces, cap combining marks, trim; refuse empty or over-long text.
pub fn sanitize(raw: &str) -> Result<String, Refusal> {
    // Bound the work before normalising: a frame is at most 8 KiB anyway.
    if raw.chars().count() > MESSAGE_MAX_CHARS * 4 {
        return Err(Refusal::new("too_long"));
    }
    let mut out = String::with_capacity(raw.len());
    // Most lines are already NFC (always so for ASCII): skip the normaliser's buffering then.
    if unicode_normalization::is_nfc_quick(raw.chars()) == unicode_normalization::IsNormalized::Yes {
        push_clean(raw.chars(), &mut out);
    } else {
        push_clean(raw.nfc(), &mut out);
    }
    let trimmed = out.trim();
    if trimmed.is_empty() {
        return Err(Refusal::new("empty"));
    }
    if trimmed.chars().count() > MESSAGE_MAX_CHARS {
        return Err(Refusal::new("too_long"));
    }
    Ok(if trimmed.len() == out.len() { out } else { trimmed.to_owned() })
}

/// Drops control, bidirectional and zero-width characters, turns line breaks into spaces, and
/// caps runs of combining marks.
fn push_clean(chars: impl Iterator<Item = char>, out: &mut String) {
    let mut combining_run = 0;
    for c in chars {
        let c = match c {
            '\n' | '\r' | '\t' => ' ',
            c if c.is_control() => continue,
            // Bidirectional overrides and isolates can disguise text; zero-width characters hide it.
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{200B}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}' => {
                continue;
            }
            c => c,
        };
        if unicode_normalization::char::is_combining_mark(c) {
            combining_run += 1;
            if combining_run > MAX_COMBINING_RUN {
                continue;
            }
        } else {
            combining_run = 0;
        }
        out.push(c);
    }
}

/// Stage 2: at most `limit` messages per `window` for one key (a member in one conversation).
#[derive(Debug, Default)]
pub struct RateWindows {
    sent: HashMap<u64, VecDeque<Instant>>,
}

impl RateWindows {
    pub fn check(&mut self, key: u64, limit: u32, window: Duration, now: Instant) -> Result<(), Refusal> {
        // Forget conversations that have been quiet for a whole window, so the map stays small.
        if self.sent.len() > 64 {
            self.sent.retain(|_, times| times.back().is_some_and(|&t| now.duration_since(t) < window));
        }
        let times = self.sent.entry(key).or_default();
        while times.front().is_some_and(|&t| now.duration_since(t) >= window) {
            times.pop_front();
        }
        if times.len() >= limit as usize {
            let oldest = times.front().copied().unwrap_or(now);
            let retry_after = window.saturating_sub(now.duration_since(oldest));
            return Err(Refusal { code: "rate_limited", retry_after: Some(retry_after) });
        }
        times.push_back(now);
        Ok(())
    }
}

/// Stage 3: refuse an exact repeat of one of the member's last two messages.
#[derive(Debug, Default)]
pub struct FloodMemory {
    last: [Option<u64>; 2],
}

impl FloodMemory {
    pub fn check(&mut self, text: &str) -> Result<(), Refusal> {
        let mut hasher = DefaultHasher::new();
        text.hash(&mut hasher);
        let digest = hasher.finish();
        if self.last.contains(&Some(digest)) {
            return Err(Refusal::new("flood"));
        }
        self.last = [Some(digest), self.last[0]];
        Ok(())
    }

    /// Forgets the last message (it was not sent after all).
    pub fn forget_last(&mut self) {
        self.last = [self.last[1], None];
    }
}

/// The per-member state the pipeline keeps.
#[derive(Debug, Default)]
pub struct SenderState {
    pub rate: RateWindows,
    pub flood: FloodMemory,
}

/// Stage 4 and the whole pipeline.
#[derive(Clone)]
pub struct Pipeline {
    engine: Arc<Engine>,
    per_window: u32,
    window: Duration,
}

impl Pipeline {
    pub fn new(engine: Arc<Engine>, per_window: u32, window: Duration) -> Pipeline {
        Pipeline { engine, per_window, window }
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    /// Runs every stage in order. `conversation` keys the rate limit (a room or a private
    /// conversation).
    pub fn check(
        &self,
        state: &mut SenderState,
        conversation: u64,
        raw: &str,
        context: Context,
        now: Instant,
    ) -> Result<Checked, Refusal> {
        let text = sanitize(raw)?;
        state.rate.check(conversation, self.per_window, self.window, now)?;
        state.flood.check(&text)?;
        let verdict = self.engine.check(&text, context);
        let decision = decide(&verdict);
        Ok(Checked { text, verdict, decision })
    }
}

/// Turns the engine's verdict into what the server does and what the sender is told.
pub fn decide(verdict: &Verdict) -> Decision {
    match verdict.action {
        Action::Allow => Decision::Deliver { card: None },
        Action::Notice => Decision::Deliver {
            card: if verdict.has(Category::Meeting) { Some(CardKind::Meeting) } else { Some(CardKind::Contact) },
        },
        Action::Hold => Decision::Hold {
            code: if verdict.has(Category::Hate) {
                "held_hate"
            } else if verdict.has(Category::Sexual) {
                "held_sexual"
            } else {
                "held"
            },
        },
        Action::Flag => {
            Decision::Flag { code: if verdict.has(Category::MinorClaim) { "flagged_minor" } else { "flagged" } }
        }
    }
}

/// The refusal code a member sees for a held or flagged message: the protocol groups the
/// specific texts under `held` and `flagged`.
pub fn wire_code(code: &'static str) -> &'static str {
    match code {
        "held_hate" | "held_sexual" => "held",
        "flagged_minor" => "flagged",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sanitize_cleans_and_bounds_text() {
        let cases: &[(&str, Result<&str, &str>)] = &[
            ("  salut  ", Ok("salut")),
            ("ligne1\nligne2", Ok("ligne1 ligne2")),
            ("a\u{202E}b\u{200B}c", Ok("abc")),
            ("e\u{301}", Ok("é")),
            ("\u{7}bell", Ok("bell")),
            ("", Err("empty")),
            ("   \n\t ", Err("empty")),
            ("\u{200B}\u{200B}", Err("empty")),
        ];
        for (raw, expected) in cases {
            let got = sanitize(raw);
            match expected {
                Ok(text) => assert_eq!(got.as_deref(), Ok(*text), "{raw:?}"),
                Err(code) => assert_eq!(got.map_err(|r| r.code), Err(*code), "{raw:?}"),
            }
        }
        assert!(sanitize(&"a".repeat(500)).is_ok());
        assert_eq!(sanitize(&"a".repeat(501)).map_err(|r| r.code), Err("too_long"));
        assert_eq!(sanitize(&"é".repeat(500)).map(|t| t.chars().count()), Ok(500));
        let zalgo: String = std::iter::once('a').chain(std::iter::repeat_n('\u{0301}', 40)).collect();
        assert_eq!(sanitize(&zalgo).map(|t| t.chars().count()), Ok(3));
    }

    #[tokio::test(start_paused = true)]
    async fn rate_limit_allows_five_per_ten_seconds_per_conversation() {
        let mut windows = RateWindows::default();
        let window = Duration::from_secs(10);
        let start = Instant::now();
        for i in 0..5 {
            assert!(windows.check(1, 5, window, start + Duration::from_millis(i)).is_ok());
        }
        let refused = windows.check(1, 5, window, start + Duration::from_secs(1)).expect_err("sixth refused");
        assert_eq!(refused.code, "rate_limited");
        assert_eq!(refused.retry_after, Some(Duration::from_secs(9)));
        // Another conversation has its own budget.
        assert!(windows.check(2, 5, window, start + Duration::from_secs(1)).is_ok());
        // Ten seconds after the first message, one slot is free again.
        assert!(windows.check(1, 5, window, start + Duration::from_secs(10)).is_ok());
        assert!(windows.check(1, 5, window, start + Duration::from_secs(10)).is_err());
    }

    #[test]
    fn flood_refuses_repeats_of_the_last_two_messages() {
        let mut flood = FloodMemory::default();
        assert!(flood.check("a").is_ok());
        assert_eq!(flood.check("a"), Err(Refusal::new("flood")));
        assert!(flood.check("b").is_ok());
        assert_eq!(flood.check("a"), Err(Refusal::new("flood")));
        assert!(flood.check("c").is_ok());
        // "a" is now three messages back.
        assert!(flood.check("a").is_ok());
    }

    #[test]
    fn decisions_follow_the_strongest_action() {
        let mut verdict = Verdict::default();
        assert_eq!(decide(&verdict), Decision::Deliver { card: None });
        verdict.action = Action::Notice;
        verdict.categories = vec![Category::Contact];
        assert_eq!(decide(&verdict), Decision::Deliver { card: Some(CardKind::Contact) });
        verdict.categories = vec![Category::Meeting, Category::Contact];
        assert_eq!(decide(&verdict), Decision::Deliver { card: Some(CardKind::Meeting) });
        verdict.action = Action::Hold;
        verdict.categories = vec![Category::Sexual];
        assert_eq!(decide(&verdict), Decision::Hold { code: "held_sexual" });
        verdict.action = Action::Flag;
        verdict.categories = vec![Category::MinorClaim];
        assert_eq!(decide(&verdict), Decision::Flag { code: "flagged_minor" });
        verdict.categories = vec![Category::Drugs];
        assert_eq!(decide(&verdict), Decision::Flag { code: "flagged" });
    }
}
