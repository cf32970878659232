//! Nickname and room-name policy: minor-coded words, sexual terms, advertised ages.
//!
//! Word tables live in `data/nickname/*.toml`. Names are folded like messages (case, accents,
//! homoglyphs, leetspeak) and cut into parts at separators, digits and capital letters, so
//! `AdoDu59` and `ado_13` show the part `Ado`/`ado`, while `adorable` is not `ado`.

use aho_corasick::{AhoCorasick, AhoCorasickBuilder, MatchKind};
use serde::Deserialize;

use crate::normalize::{View, dedup_str, dedup_view, letters_view_of, normalize, text_view};
use crate::{NameReason, NameRefusal, RuleError};

pub const BUILTIN: &[(&str, &str)] = &[
    ("minor.toml", include_str!("../../../data/nickname/minor.toml")),
    ("sexual.toml", include_str!("../../../data/nickname/sexual.toml")),
    ("hate.toml", include_str!("../../../data/nickname/hate.toml")),
];
pub const AGE: &str = include_str!("../../../data/nickname/age.toml");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct WordFile {
    reason: String,
    #[serde(default)]
    words: Vec<String>,
    #[serde(default)]
    prefixes: Vec<String>,
    #[serde(default)]
    anywhere: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AgeFile {
    min: u32,
    max: u32,
    adult: i32,
    /// Words after a number that make it an age in a room name ("13-17 ans").
    room_units: Vec<String>,
}

#[derive(Clone, Copy, Debug)]
enum Anchor {
    Word,
    Prefix,
    Anywhere,
}

#[derive(Debug)]
pub struct NameTables {
    ac: AhoCorasick,
    pats: Vec<(NameReason, Anchor)>,
    min: u32,
    max: u32,
    adult: i32,
    room_units: Vec<String>,
}

fn err(file: &str, message: impl Into<String>) -> RuleError {
    RuleError::Invalid { file: file.to_owned(), message: message.into() }
}

impl NameTables {
    pub fn compile(files: &[(&str, &str)], age: &str) -> Result<NameTables, RuleError> {
        let mut strings = Vec::new();
        let mut pats = Vec::new();
        for (name, text) in files {
            let f: WordFile = toml::from_str(text).map_err(|e| err(name, e.to_string()))?;
            let reason = match f.reason.as_str() {
                "minor_word" => NameReason::MinorWord,
                "sexual" => NameReason::Sexual,
                "hate" => NameReason::Other(crate::Category::Hate),
                other => return Err(err(name, format!("unknown reason {other}"))),
            };
            for (list, anchor) in
                [(&f.words, Anchor::Word), (&f.prefixes, Anchor::Prefix), (&f.anywhere, Anchor::Anywhere)]
            {
                for w in list {
                    let folded = normalize(w).replace(' ', "");
                    if folded.is_empty() {
                        return Err(err(name, "empty word"));
                    }
                    let dd = dedup_str(&folded);
                    if dd != folded {
                        strings.push(dd);
                        pats.push((reason, anchor));
                    }
                    strings.push(folded);
                    pats.push((reason, anchor));
                }
            }
        }
        let ac = AhoCorasickBuilder::new()
            .match_kind(MatchKind::Standard)
            .build(&strings)
            .map_err(|e| err("nickname", e.to_string()))?;
        let a: AgeFile = toml::from_str(age).map_err(|e| err("age.toml", e.to_string()))?;
        Ok(NameTables { ac, pats, min: a.min, max: a.max, adult: a.adult, room_units: a.room_units })
    }

    /// Minor-coded or sexual words in a name.
    pub fn words(&self, name: &str) -> Option<NameRefusal> {
        let text = text_view(name);
        let (letters, _) = letters_view_of(&text, Some(name), b'i');
        // Names glue words with separators: drop them so `p.e.t.i.t.e` and `ado_chaude` read.
        let (joined, sep) = squeeze(&letters);
        let dedup = dedup_view(&joined);
        for view in [&joined, &dedup] {
            let sep_here = if std::ptr::eq(view, &joined) { sep.clone() } else { dedup_sep(&joined, &sep, view) };
            let bounds = boundaries(name, view, &sep_here);
            let mut best: Option<((usize, std::cmp::Reverse<usize>), NameRefusal)> = None;
            for m in self.ac.find_overlapping_iter(view.bytes.as_slice()) {
                let (reason, anchor) = self.pats[m.pattern().as_usize()];
                let (s, e) = (m.start(), m.end());
                let left = bounds[s];
                let right = bounds[e];
                let ok = match anchor {
                    Anchor::Word => left && right,
                    Anchor::Prefix => left,
                    Anchor::Anywhere => true,
                };
                if !ok {
                    continue;
                }
                if let Some((os, oe)) = view.original_span(s, e) {
                    let part = name.get(os..oe).unwrap_or(name).to_owned();
                    // Minor cues first, then the longest part ("lycéenne" over "lycéen").
                    let rank = (
                        match reason {
                            NameReason::MinorAge | NameReason::MinorWord => 0,
                            _ => 1,
                        },
                        std::cmp::Reverse(oe - os),
                    );
                    if best.as_ref().is_none_or(|(r, _)| rank < *r) {
                        best = Some((rank, NameRefusal { reason, part }));
                    }
                }
            }
            if let Some((_, r)) = best {
                return Some(r);
            }
        }
        None
    }

    /// An advertised age under 18: `Lola15`, `lea_14`, `15ans`, `Lola2010`.
    pub fn nickname_age(&self, name: &str, current_year: i32) -> Option<NameRefusal> {
        let text = text_view(name);
        for (s, e) in digit_runs(&text) {
            let Ok(digits) = std::str::from_utf8(&text.bytes[s..e]) else {
                continue;
            };
            let minor = match digits.len() {
                1 | 2 => {
                    digits.parse::<u32>().is_ok_and(|n| n >= self.min && n <= self.max && !digits.starts_with('0'))
                }
                4 => {
                    digits.parse::<i32>().is_ok_and(|y| y >= 1900 && y <= current_year && current_year - y < self.adult)
                }
                _ => false,
            };
            if minor && let Some((os, oe)) = text.original_span(s, e) {
                return Some(NameRefusal {
                    reason: NameReason::MinorAge,
                    part: name.get(os..oe).unwrap_or(name).to_owned(),
                });
            }
        }
        None
    }

    /// In a room name a number is an age only with a unit or a range: "13-17 ans", "15 ans".
    pub fn room_age(&self, name: &str) -> Option<NameRefusal> {
        let text = text_view(name);
        let runs = digit_runs(&text);
        for (idx, &(s, e)) in runs.iter().enumerate() {
            let Ok(n) = std::str::from_utf8(&text.bytes[s..e]).unwrap_or("").parse::<u32>() else {
                continue;
            };
            if !(self.min..=self.max).contains(&n) {
                continue;
            }
            // Skip a range "13-17" to the last number, then look for a unit.
            let mut end = e;
            if let Some(&(s2, e2)) = runs.get(idx + 1)
                && text.bytes[end..s2].iter().all(|b| matches!(b, b' ' | b'-' | b'/' | b'a'))
                && s2 - end <= 3
            {
                end = e2;
            }
            let rest = &text.bytes[end..];
            let rest = rest.strip_prefix(b" ").unwrap_or(rest);
            let unit = self.room_units.iter().any(|u| {
                rest.starts_with(u.as_bytes()) && rest.get(u.len()).is_none_or(|b| !b.is_ascii_alphanumeric())
            });
            if unit && let Some((os, oe)) = text.original_span(s, end) {
                return Some(NameRefusal {
                    reason: NameReason::MinorAge,
                    part: name.get(os..oe).unwrap_or(name).to_owned(),
                });
            }
        }
        None
    }
}

fn digit_runs(v: &View) -> Vec<(usize, usize)> {
    let b = &v.bytes;
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let s = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            out.push((s, i));
        } else {
            i += 1;
        }
    }
    out
}

/// Remove separators; `sep[i]` tells that one stood before byte `i` (len + 1 entries).
fn squeeze(v: &View) -> (View, Vec<bool>) {
    let mut out = View::default();
    let mut sep = vec![false];
    let mut pending = false;
    for (i, &b) in v.bytes.iter().enumerate() {
        if b.is_ascii_alphanumeric() {
            out.bytes.push(b);
            out.spans.push(v.spans[i]);
            if let Some(last) = sep.last_mut() {
                *last |= pending;
            }
            sep.push(false);
            pending = false;
        } else {
            pending = true;
        }
    }
    (out, sep)
}

/// `bounds[i]`: a part starts or ends before byte `i` of the view (len + 1 entries).
fn boundaries(original: &str, v: &View, sep: &[bool]) -> Vec<bool> {
    let b = &v.bytes;
    let n = b.len();
    let mut out: Vec<bool> = (0..=n).map(|i| sep.get(i).copied().unwrap_or(false)).collect();
    out[0] = true;
    out[n] = true;
    let first_char = |i: usize| -> Option<char> {
        let s = v.spans.get(i)?.0 as usize;
        original.get(s..)?.chars().next()
    };
    for i in 1..n {
        let (p, c) = (b[i - 1], b[i]);
        out[i] |= !p.is_ascii_alphanumeric()
            || !c.is_ascii_alphanumeric()
            || p.is_ascii_digit() != c.is_ascii_digit()
            || (first_char(i).is_some_and(char::is_uppercase) && first_char(i - 1).is_some_and(char::is_lowercase));
    }
    out
}

/// Separator marks carried over to the dedup view (matched by original span starts).
fn dedup_sep(joined: &View, sep: &[bool], dedup: &View) -> Vec<bool> {
    let mut out = vec![false; dedup.bytes.len() + 1];
    let mut j = 0;
    for (i, span) in dedup.spans.iter().enumerate() {
        while j < joined.spans.len() && joined.spans[j].0 < span.0 {
            j += 1;
        }
        out[i] = sep.get(j).copied().unwrap_or(false);
    }
    out
}
