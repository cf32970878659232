//! Folding a text into ASCII views that evasion does not beat, with offsets back to the original.
//!
//! Every view is a plain ASCII byte string plus, for each byte, the span `[start, end)` of the
//! original text it came from, so a match in any view maps back to what the member typed.
//!
//! - `text`: NFKC, lower case, accents stripped, homoglyphs (Cyrillic, Greek, fullwidth,
//!   mathematical letters, regional indicators) folded, invisible characters dropped, emoji used
//!   as words replaced by words, runs of 3+ identical letters collapsed to one, whitespace
//!   collapsed, then phonetic spellings read as the standard word (`tabite` → `t'habites`,
//!   `foto` → `photo`, `se soir` → `ce soir`: `data/safety/respell.txt`). Digits stay digits.
//! - `numbers`: `letters` with numbers written as words ("zéro six", "quatre-vingt-dix-huit",
//!   "twenty six") turned into digits, and `O`/`l`/`I` typed inside digit groups read as digits.
//!   Used for phone numbers and ages.
//! - `letters`: `text` with single letters joined (`s n a p`, `s.n.a.p`) and leetspeak read as
//!   letters (`sn4p`, `wh@ts@pp`), while numbers with a unit (`15ans`, `22h`) keep their digits;
//!   phonetic spellings that leetspeak spelled are read again (`f0t0` → `photo`).
//! - `dedup`: `letters` with every doubled letter collapsed (`snaap`, `whatsap`).

use std::sync::LazyLock;

use aho_corasick::MatchKind;
use aho_corasick::dfa::DFA;
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// One folded view of a text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct View {
    /// ASCII only.
    pub bytes: Vec<u8>,
    /// For each byte of `bytes`, the original span it comes from.
    pub spans: Vec<(u32, u32)>,
}

impl View {
    #[inline]
    fn push(&mut self, b: u8, span: (u32, u32)) {
        self.bytes.push(b);
        self.spans.push(span);
    }

    /// The view as a string (always ASCII).
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.bytes).unwrap_or("")
    }

    pub fn len(&self) -> usize {
        self.bytes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The original span covered by the view bytes `[start, end)`. `None` for an empty range.
    pub fn original_span(&self, start: usize, end: usize) -> Option<(usize, usize)> {
        if start >= end || end > self.spans.len() {
            return None;
        }
        let s = self.spans[start..end].iter().map(|s| s.0).min()?;
        let e = self.spans[start..end].iter().map(|s| s.1).max()?;
        Some((s as usize, e as usize))
    }

    /// Append `from.bytes[a..b]` with their spans.
    fn copy_from(&mut self, from: &View, a: usize, b: usize) {
        self.bytes.extend_from_slice(&from.bytes[a..b]);
        self.spans.extend_from_slice(&from.spans[a..b]);
    }

    fn last_byte(&self) -> Option<u8> {
        self.bytes.last().copied()
    }

    fn clear(&mut self) {
        self.bytes.clear();
        self.spans.clear();
    }

    /// Become a copy of `other`, keeping this view's allocations.
    fn copy_of(&mut self, other: &View) {
        self.clear();
        self.bytes.extend_from_slice(&other.bytes);
        self.spans.extend_from_slice(&other.spans);
    }
}

/// All the views of one text. Refilled in place by [`fold_into`] (the buffers are reused).
#[derive(Clone, Debug, Default)]
pub struct Folded {
    pub text: View,
    pub letters: View,
    pub dedup: View,
    /// `letters` has the same bytes as `text` (nothing to join, no leetspeak).
    pub letters_is_text: bool,
    /// `dedup` has the same bytes as `letters` (no doubled letter).
    pub dedup_is_letters: bool,
    numbers: View,
    has_numbers: bool,
    letters_l: View,
    has_letters_l: bool,
    spare: View,
    respelled: View,
}

impl Folded {
    /// The `numbers` view (the `letters` view when no number is written in words).
    pub fn numbers(&self) -> &View {
        if self.has_numbers { &self.numbers } else { &self.letters }
    }

    /// Whether `numbers` differs from `letters`.
    pub fn has_numbers(&self) -> bool {
        self.has_numbers
    }

    /// `letters` reading `1` as `l` instead of `i`; only built when a `1` was read as a letter.
    pub fn letters_l(&self) -> Option<&View> {
        self.has_letters_l.then_some(&self.letters_l)
    }
}

/// What one original character becomes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fold {
    /// Invisible or combining: nothing.
    Drop,
    /// A separator (whitespace, unknown symbol).
    Space,
    /// Up to 4 ASCII bytes.
    Ascii(u8, [u8; 4]),
    /// An emoji or symbol used as a word.
    Word(&'static str),
}

fn ascii_fold(s: &str) -> Fold {
    let b = s.as_bytes();
    if b.is_empty() {
        return Fold::Drop;
    }
    if b.len() > 4 || !b.iter().all(|c| c.is_ascii_graphic()) {
        return Fold::Space;
    }
    let mut out = [0u8; 4];
    out[..b.len()].copy_from_slice(b);
    Fold::Ascii(b.len() as u8, out)
}

/// Emoji and symbols that people use as words. The words are chosen so they cannot be mistaken
/// for ordinary text when they are ambiguous (`eggplantemoji`).
fn emoji_word(c: char) -> Option<&'static str> {
    Some(match c {
        '👻' => "snapchat",
        '📞' | '☎' | '📱' | '📲' | '☏' => "tel",
        '📸' | '📷' | '🤳' | '🖼' => "photo",
        '📹' | '🎥' => "cam",
        '📧' | '📩' | '📨' | '✉' => "mail",
        '🔗' => "lien",
        '🍆' => "eggplantemoji",
        '🍑' => "peachemoji",
        '💦' => "dropsemoji",
        '👅' => "tongueemoji",
        '🥵' => "hotemoji",
        '💊' => "pillsemoji",
        '❄' => "snowemoji",
        '🍃' | '🌿' | '🍁' => "leafemoji",
        '💰' | '💵' | '💶' | '💷' | '💸' | '🤑' | '💴' => "moneyemoji",
        '€' => "euros",
        '$' => "$",
        '🌹' => "roses",
        '🔪' | '🔫' | '🗡' | '💣' | '🪓' => "weaponemoji",
        '💀' | '⚰' => "deathemoji",
        '🏠' | '🏡' => "maison",
        '🚗' | '🚙' => "voiture",
        '🅿' => "parking",
        '🍺' | '🍻' | '🍷' | '🥂' | '🍸' | '🍹' => "verre",
        '☕' => "cafe",
        '🛏' => "lit",
        // A pet introduced with its age ("Gaston, 11 ans 🐶") is not a child.
        '🐶' | '🐕' | '🐱' | '🐈' | '🐾' | '🐩' | '🐹' | '🐰' => "petemoji",
        _ => return None,
    })
}

/// Invisible characters: zero-width spaces and joiners, soft hyphen, word joiner, BOM,
/// variation selectors, bidi controls, tags.
pub fn is_invisible_char(c: char) -> bool {
    is_invisible(c)
}

fn is_invisible(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{034F}' | '\u{061C}' | '\u{115F}' | '\u{1160}' | '\u{17B4}' | '\u{17B5}'
        | '\u{180B}'..='\u{180F}' | '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}'
        | '\u{2060}'..='\u{206F}' | '\u{3164}' | '\u{FE00}'..='\u{FE0F}' | '\u{FEFF}'
        | '\u{FFA0}' | '\u{FFF0}'..='\u{FFF8}' | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0000}'..='\u{E0FFF}' | '\u{20E3}' | '\u{1F3FB}'..='\u{1F3FF}')
}

fn compute_fold(c: char) -> Fold {
    if c.is_ascii() {
        return if c.is_ascii_graphic() {
            let l = c.to_ascii_lowercase() as u8;
            Fold::Ascii(1, [l, 0, 0, 0])
        } else {
            Fold::Space
        };
    }
    if is_invisible(c) || is_combining_mark(c) {
        return Fold::Drop;
    }
    if let Some(w) = emoji_word(c) {
        return Fold::Word(w);
    }
    match c {
        '\u{2018}' | '\u{2019}' | '\u{201A}' | '\u{201B}' | '\u{2032}' | '\u{00B4}' | '\u{02BC}' | '\u{02BB}'
        | '\u{0060}' => return ascii_fold("'"),
        '\u{2010}'..='\u{2015}' | '\u{2212}' | '\u{FE58}' | '\u{FE63}' | '\u{FF0D}' => {
            return ascii_fold("-");
        }
        '\u{00AB}' | '\u{00BB}' | '\u{201C}' | '\u{201D}' | '\u{201E}' | '\u{201F}' => {
            return ascii_fold("\"");
        }
        '\u{1F1E6}'..='\u{1F1FF}' => {
            // Regional indicator symbols spell letters: 🇸🇳🇦🇵.
            let l = b'a' + (c as u32 - 0x1F1E6) as u8;
            return Fold::Ascii(1, [l, 0, 0, 0]);
        }
        _ => {}
    }
    if c.is_whitespace() {
        return Fold::Space;
    }
    let mut out = String::new();
    for k in std::iter::once(c).nfkc() {
        for l in k.to_lowercase() {
            for d in std::iter::once(l).nfd() {
                if is_combining_mark(d) {
                    continue;
                }
                if d.is_ascii() {
                    out.push(d.to_ascii_lowercase());
                    continue;
                }
                match d {
                    'ß' => out.push_str("ss"),
                    'æ' => out.push_str("ae"),
                    'œ' => out.push_str("oe"),
                    'ø' => out.push('o'),
                    'đ' | 'ð' => out.push('d'),
                    'ł' => out.push('l'),
                    'ı' => out.push('i'),
                    'þ' => out.push_str("th"),
                    'ĸ' => out.push('k'),
                    _ => {
                        if is_invisible(d) {
                            continue;
                        }
                        if d.is_whitespace() {
                            out.push(' ');
                            continue;
                        }
                        if let Some(s) = homoglyph(d) {
                            out.push_str(&s);
                        } else {
                            return Fold::Space;
                        }
                    }
                }
            }
        }
    }
    if out.trim().is_empty() {
        return if out.is_empty() { Fold::Drop } else { Fold::Space };
    }
    ascii_fold(&out)
}

/// A confusable look-alike (Cyrillic `а`, Greek `ο`...) read as its ASCII letter.
fn homoglyph(c: char) -> Option<String> {
    let try_one = |x: char| -> Option<String> {
        let s: String = unicode_security::skeleton(&x.to_string()).collect();
        let mut out = String::new();
        for ch in s.chars() {
            if is_combining_mark(ch) {
                continue;
            }
            if ch.is_ascii_alphanumeric() {
                out.push(ch.to_ascii_lowercase());
            } else {
                return None;
            }
        }
        if out.is_empty() || out.len() > 2 { None } else { Some(out) }
    };
    if let Some(s) = try_one(c) {
        return Some(s);
    }
    for u in c.to_uppercase() {
        if let Some(s) = try_one(u) {
            return Some(s);
        }
    }
    None
}

const TABLE_END: u32 = 0x3400;

static FOLD_TABLE: LazyLock<Vec<Fold>> =
    LazyLock::new(|| (0..TABLE_END).map(|u| char::from_u32(u).map_or(Fold::Space, compute_fold)).collect());

#[inline]
fn fold_char(c: char) -> Fold {
    let u = c as u32;
    if u < 0x80 {
        let b = u as u8;
        return if b.is_ascii_graphic() { Fold::Ascii(1, [b.to_ascii_lowercase(), 0, 0, 0]) } else { Fold::Space };
    }
    if u < TABLE_END {
        return FOLD_TABLE[u as usize];
    }
    compute_fold(c)
}

/// Fold one character of a nickname or a literal the way the `text` view does.
pub fn fold_str(s: &str) -> String {
    let v = text_view(s);
    String::from_utf8(v.bytes).unwrap_or_default()
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

struct TextBuilder {
    v: View,
    run_byte: u8,
    run_len: u32,
}

impl TextBuilder {
    #[inline(always)]
    fn push(&mut self, b: u8, span: (u32, u32)) {
        let v = &mut self.v;
        if b == b' ' {
            if v.bytes.is_empty() {
                return;
            }
            if v.last_byte() == Some(b' ') {
                // One space stands for the run: its span covers it (`o n  s e` keeps the
                // double space visible to the letters view as a word break).
                if let Some(last) = v.spans.last_mut() {
                    last.1 = span.1;
                }
                return;
            }
            self.run_byte = b' ';
            self.run_len = 1;
            v.push(b, span);
            return;
        }
        if b == self.run_byte && !b.is_ascii_digit() {
            self.run_len += 1;
            if self.run_len >= 3 {
                // Runs of 3+ collapse to one: the first byte now covers the whole run.
                if self.run_len == 3 {
                    v.bytes.pop();
                    v.spans.pop();
                }
                if let Some(last) = v.spans.last_mut() {
                    last.1 = span.1;
                }
                return;
            }
        } else {
            self.run_byte = b;
            self.run_len = 1;
        }
        v.push(b, span);
    }
}

/// The `text` view.
pub fn text_view(original: &str) -> View {
    let mut v = View::default();
    text_view_into(original, &mut v);
    v
}

fn text_view_into(original: &str, out: &mut View) {
    let mut v = std::mem::take(out);
    v.clear();
    v.bytes.reserve(original.len() + 8);
    v.spans.reserve(original.len() + 8);
    let mut tb = TextBuilder { v, run_byte: 0, run_len: 0 };
    let raw = original.as_bytes();
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b < 0x80 {
            let span = (i as u32, i as u32 + 1);
            if b.is_ascii_graphic() {
                tb.push(b.to_ascii_lowercase(), span);
            } else {
                tb.push(b' ', span);
            }
            i += 1;
            continue;
        }
        let Some(c) = original.get(i..).and_then(|s| s.chars().next()) else {
            i += 1;
            continue;
        };
        let len = c.len_utf8();
        let span = (i as u32, (i + len) as u32);
        i += len;
        // `€` typed inside a word is an `e` (`b€uh`), not "euros".
        if c == '€'
            && tb.v.last_byte().is_some_and(|b| b.is_ascii_lowercase())
            && raw.get(i).is_some_and(|b| b.is_ascii_alphabetic())
        {
            tb.push(b'e', span);
            continue;
        }
        match fold_char(c) {
            Fold::Drop => {}
            Fold::Space => tb.push(b' ', span),
            Fold::Ascii(n, bytes) => {
                for &b in &bytes[..n as usize] {
                    tb.push(b, span);
                }
            }
            Fold::Word(w) => {
                if tb.v.last_byte().is_some_and(is_word_byte) {
                    tb.push(b' ', span);
                }
                for &b in w.as_bytes() {
                    tb.push(b, span);
                }
                tb.push(b' ', span);
            }
        }
    }
    let mut v = tb.v;
    if v.last_byte() == Some(b' ') {
        v.bytes.pop();
        v.spans.pop();
    }
    *out = v;
}

// ---------------------------------------------------------------------------------------------
// letters view

#[inline]
fn leet(b: u8, one: u8) -> Option<u8> {
    Some(match b {
        b'0' => b'o',
        b'1' => one,
        b'3' => b'e',
        b'4' => b'a',
        b'5' => b's',
        b'7' => b't',
        _ => return None,
    })
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'@' | b'$' | b'|' | b'!')
}

fn is_joiner(b: u8) -> bool {
    matches!(b, b' ' | b'_' | b'.' | b'-' | b'*' | b',' | b'/' | b'+' | b'~' | b':' | b'=')
}

/// Units that keep the digits before them: `15ans`, `22h`, `3eme`, `100e`.
const UNITS: &[&str] = &[
    "a", "an", "ans", "ann", "h", "hr", "hrs", "heure", "heures", "min", "mn", "mins", "e", "eme", "em", "er", "ere",
    "re", "nd", "nde", "st", "th", "rd", "yo", "yrs", "y", "k", "km", "m", "cm", "kg", "g", "gr", "x", "ieme", "eur",
    "euro", "euros", "pm", "am", "s", "j", "jours", "mois", "ml", "l", "cl", "p", "go", "mo", "ko", "gb", "mb", "v",
    "f", "ms", "sec", "cv", "t", "b", "piges", "balais", "ball", "balles", "e", "d", "ht", "ttc", "mmc", "cb", "mec",
    "emc",
];

fn is_letterish(b: u8) -> bool {
    b.is_ascii_lowercase() || matches!(b, b'@' | b'$' | b'|')
}

/// Units after which digits are surely a number, even in a text written in leetspeak.
const STRONG_UNITS: &[&str] = &[
    "a", "an", "ans", "h", "hr", "heure", "heures", "min", "mn", "mins", "e", "eme", "em", "er", "ere", "re", "nd",
    "nde", "ieme", "yo", "eur", "euro", "euros", "k", "km", "kg", "cm", "mmc", "cb", "piges", "balais", "pm", "am",
    "g", "gr", "x", "j", "mois", "st", "th", "rd",
];

fn is_unit(rest: &[u8], strong: bool, value: &[u8]) -> bool {
    if !rest.iter().all(u8::is_ascii_lowercase) {
        return false;
    }
    let list = if strong { STRONG_UNITS } else { UNITS };
    if !list.iter().any(|u| u.as_bytes() == rest) {
        return false;
    }
    // "73h" is no time of day: read it as letters.
    if matches!(rest, b"h" | b"hr") {
        let v: u32 = value.iter().take(3).fold(0, |acc, d| acc * 10 + u32::from(d - b'0'));
        return v <= 24;
    }
    true
}

/// `18h30`, `9h05`: hours up to 24, then `h`, then two digits of minutes.
fn is_time_of_day(tok: &[u8]) -> bool {
    let Some(h) = tok.iter().position(|&b| b == b'h') else { return false };
    let (hours, minutes) = (&tok[..h], &tok[h + 1..]);
    let number = |d: &[u8]| d.iter().fold(0u32, |acc, &b| acc * 10 + u32::from(b - b'0'));
    matches!(hours.len(), 1 | 2)
        && minutes.len() == 2
        && hours.iter().chain(minutes).all(u8::is_ascii_digit)
        && number(hours) <= 24
        && number(minutes) < 60
}

/// How leetspeak is read in one text.
#[derive(Clone, Copy)]
struct Leet {
    /// What `1` becomes.
    one: u8,
    /// The text is written in leetspeak (some digit was read as a letter on a first pass):
    /// digits-only words (`51` "si", `735` "tes") and digit runs at word edges are letters too,
    /// unless a unit says they are a number.
    mode: bool,
}

/// Reads leetspeak inside one token, writing the result into `out`. Returns whether a digit
/// or symbol was read as a letter.
fn leet_token(tok: &[u8], leet_: Leet, out: &mut Vec<u8>, used_one: &mut bool) -> bool {
    // Reading a symbol as a letter can make its neighbour readable: repeat to a fixed point
    // (conversions only ever turn non-letters into letters, so this ends).
    let mut changed = leet_once(tok, leet_, out, used_one);
    if !changed {
        return false;
    }
    let mut cur = out.clone();
    for _ in 0..4 {
        let mut next = Vec::with_capacity(cur.len());
        if !leet_once(&cur, leet_, &mut next, used_one) {
            break;
        }
        changed = true;
        cur = next;
    }
    out.clear();
    out.extend_from_slice(&cur);
    changed
}

fn leet_once(tok: &[u8], leet_: Leet, out: &mut Vec<u8>, used_one: &mut bool) -> bool {
    out.clear();
    out.extend_from_slice(tok);
    let letters = tok.iter().filter(|b| b.is_ascii_lowercase()).count();
    if letters == 0 {
        return false;
    }
    // A sex and an age (`f15`, `h17`, `m16`): a number, not a word.
    if tok.len() == 3 && matches!(tok[0], b'f' | b'h' | b'm') && tok[1..].iter().all(u8::is_ascii_digit) {
        return false;
    }
    // A time of day (`18h30`, `9h15`): a number, not a word.
    if is_time_of_day(tok) {
        return false;
    }
    // Digits written with look-alike letters (`O6`, `l2`): a number, not a word.
    let digits = tok.iter().filter(|b| b.is_ascii_digit()).count();
    if digits > letters && tok.iter().all(|b| b.is_ascii_digit() || matches!(b, b'o' | b'l' | b'i')) {
        return false;
    }
    let n = tok.len();
    let all_leet = |r: &[u8]| r.iter().all(|&b| leet(b, b'i').is_some());
    // Leading digit run: "15ans", "22h", "3eme" keep their digits.
    let lead = tok.iter().take_while(|b| b.is_ascii_digit()).count();
    let keep_lead = lead > 0 && lead < n && {
        let rest = &tok[lead..];
        if leet_.mode && all_leet(&tok[..lead]) {
            is_unit(rest, true, &tok[..lead])
        } else {
            is_unit(rest, false, &tok[..lead])
                || (lead >= 2 && !all_leet(&tok[..lead]))
                || (lead >= 2 && !rest.iter().all(u8::is_ascii_lowercase))
                || (lead >= 2 && is_unit(rest, false, &tok[..lead]))
        }
    };
    // Trailing digit run: "lola92" keeps its digits, "v45" ("vas") does not.
    let trail = tok.iter().rev().take_while(|b| b.is_ascii_digit()).count();
    let keep_trail = trail >= 2 && trail < n && (!all_leet(&tok[n - trail..]) || (letters >= 3 && !leet_.mode));
    let mut changed = false;
    for i in 0..n {
        let b = tok[i];
        if b.is_ascii_digit() {
            if (keep_lead && i < lead) || (keep_trail && i >= n - trail) {
                continue;
            }
            if let Some(l) = leet(b, leet_.one) {
                if b == b'1' {
                    *used_one = true;
                }
                out[i] = l;
                changed = true;
            }
        } else {
            let prev = i.checked_sub(1).map(|j| tok[j]);
            let next = tok.get(i + 1).copied();
            let near = |x: Option<u8>| x.is_some_and(|x| is_letterish(x) || x.is_ascii_digit());
            let before = out[i];
            match b {
                b'@' if near(prev) => out[i] = b'a',
                b'$' if near(prev) || near(next) => out[i] = b's',
                b'|' if near(prev) || near(next) => out[i] = b'l',
                b'!' if prev.is_some_and(|x| x.is_ascii_lowercase())
                    && next.is_some_and(|x| x.is_ascii_lowercase()) =>
                {
                    out[i] = b'i'
                }
                _ => {}
            }
            changed |= before != out[i];
        }
    }
    changed
}

/// The `letters` view, built from the `text` view. Returns whether a `1` was read as a letter.
pub fn letters_view(text: &View, one: u8) -> (View, bool) {
    letters_view_of(text, None, one)
}

/// [`letters_view`], given the original text (a gap between spelled-out words is then two
/// characters or more, not two bytes: a lone no-break space is not a gap).
pub fn letters_view_of(text: &View, original: Option<&str>, one: u8) -> (View, bool) {
    let mut respelled = View::default();
    let text = if respell_into(text, original, &mut respelled) { &respelled } else { text };
    let first = letters_pass(text, original, Leet { one, mode: false });
    let (letters, used_one) = if first.2 {
        // Written in leetspeak: read again, digits-only words included.
        let second = letters_pass(text, original, Leet { one, mode: true });
        (second.0, first.1 || second.1)
    } else {
        (first.0, first.1)
    };
    let mut again = View::default();
    if respell_into(&letters, original, &mut again) { (again, used_one) } else { (letters, used_one) }
}

/// The `letters` view without the leetspeak second pass (for numbers and ages).
pub fn letters_plain(text: &View) -> View {
    letters_pass(text, None, Leet { one: b'i', mode: false }).0
}

/// Is this digits-only token a word in leetspeak (`51`, `735`), given what surrounds it?
fn leet_digits_word(t: &[u8], i: usize, j: usize) -> bool {
    let tok = &t[i..j];
    if tok.len() > 4 || !tok.iter().all(|&b| leet(b, b'i').is_some()) {
        return false;
    }
    // Not next to other numbers (phone numbers, scores, dates) nor before a unit ("15 ans").
    let prev_tok = {
        let before = &t[..i];
        let end = before.len() - before.iter().rev().take_while(|b| **b == b' ').count();
        let start = before[..end].iter().rposition(|b| !b.is_ascii_alphanumeric()).map_or(0, |p| p + 1);
        let glued = end < i && end > 0 && !before[end - 1].is_ascii_alphanumeric();
        (&before[start..end], glued || (end == i && end > 0))
    };
    let prev_digit = (!prev_tok.0.is_empty() && prev_tok.0.iter().all(u8::is_ascii_digit))
        || (i > 0 && matches!(t[i - 1], b'-' | b'/' | b'.' | b':' | b'+' | b','));
    let after = &t[j..];
    let next_tok = {
        let rest = after.strip_prefix(b" ").unwrap_or(after);
        let end = rest.iter().position(|b| !b.is_ascii_alphanumeric()).unwrap_or(rest.len());
        &rest[..end]
    };
    let next_digit = (!next_tok.is_empty() && next_tok.iter().all(u8::is_ascii_digit))
        || after.first().is_some_and(|b| matches!(b, b'-' | b'/' | b'.' | b':' | b'%' | b','));
    let next_word: &[u8] = {
        let rest = after.strip_prefix(b" ").unwrap_or(after);
        let end = rest.iter().position(|b| !b.is_ascii_alphanumeric()).unwrap_or(rest.len());
        &rest[..end]
    };
    let unit = !next_word.is_empty()
        && (is_unit(next_word, false, tok)
            || matches!(
                next_word,
                b"euros"
                    | b"balles"
                    | b"fois"
                    | b"jours"
                    | b"semaines"
                    | b"minutes"
                    | b"heures"
                    | b"personnes"
                    | b"enfants"
                    | b"km"
                    | b"ans"
                    | b"min"
            ));
    !prev_digit && !next_digit && !unit
}

/// Push a token, collapsing runs of 3+ identical letters that leetspeak produced ("s$s").
fn push_collapsed(v: &mut View, bytes: &[u8], spans: &[(u32, u32)]) {
    let mut k = 0;
    while k < bytes.len() {
        let b = bytes[k];
        let mut end = k + 1;
        while end < bytes.len() && bytes[end] == b {
            end += 1;
        }
        if end - k >= 3 && b.is_ascii_lowercase() {
            v.push(b, (spans[k].0, spans[end - 1].1));
        } else {
            for &span in &spans[k..end] {
                v.push(b, span);
            }
        }
        k = end;
    }
}

fn letters_pass(text: &View, original: Option<&str>, leet_: Leet) -> (View, bool, bool) {
    let mut v = View::default();
    let (a, b) = letters_pass_into(text, original, leet_, &mut v);
    (v, a, b)
}

/// Whether the `letters` view of this `text` view is the same bytes: no digit or symbol to read
/// as a letter, no `_`, and no single letters typed apart.
fn letters_is_identity(t: &[u8]) -> bool {
    let n = t.len();
    for i in 0..n {
        let b = t[i];
        if b.is_ascii_digit() || matches!(b, b'@' | b'$' | b'|' | b'!' | b'_') {
            return false;
        }
        if b.is_ascii_lowercase() && (i == 0 || !is_token_byte(t[i - 1])) && (i + 1 == n || !is_token_byte(t[i + 1])) {
            let mut j = i + 1;
            while j < n && j - i <= 3 && is_joiner(t[j]) {
                j += 1;
            }
            if j > i + 1 && j < n && is_token_byte(t[j]) && (j + 1 == n || !is_token_byte(t[j + 1])) {
                return false;
            }
        }
    }
    true
}

/// Writes the `letters` view into `out`; returns (a `1` was read as a letter, a digit or
/// symbol was read as a letter).
fn letters_pass_into(text: &View, original: Option<&str>, leet_: Leet, out: &mut View) -> (bool, bool) {
    // A space typed as two characters or more (`o n  s e`); without the original, two bytes.
    let wide_span = |sp: (u32, u32)| match original.and_then(|o| o.get(sp.0 as usize..sp.1 as usize)) {
        Some(s) => s.chars().nth(1).is_some(),
        None => sp.1 - sp.0 > 1,
    };
    let one = leet_.one;
    let t = &text.bytes;
    let n = t.len();
    let mut v = std::mem::take(out);
    v.clear();
    v.bytes.reserve(n);
    v.spans.reserve(n);
    let mut used_one = false;
    let mut buf = Vec::new();
    let mut converted = false;
    let _ = one;
    let mut singles: Vec<usize> = Vec::new();
    let mut i = 0;
    while i < n {
        if !is_token_byte(t[i]) {
            let b = if t[i] == b'_' { b' ' } else { t[i] };
            if b == b' ' && v.bytes.last().is_none_or(|&l| l == b' ') {
                i += 1;
                continue;
            }
            v.push(b, text.spans[i]);
            i += 1;
            continue;
        }
        // A token [i, j).
        let mut j = i;
        while j < n && is_token_byte(t[j]) {
            j += 1;
        }
        // Single letters separated by joiners: s n a p, s.n.a.p, s-n-a-p.
        if j == i + 1 {
            singles.clear();
            singles.push(i);
            let mut k = j;
            let mut joiner: Option<&[u8]> = None;
            let mut joiner_wide: Option<bool> = None;
            loop {
                let mut s = k;
                while s < n && is_joiner(t[s]) && s - k < 3 {
                    s += 1;
                }
                if s == k || s >= n || !is_token_byte(t[s]) {
                    break;
                }
                // One word is spelled with one separator: `p.l.a.n c.u.l` is two words, and
                // so is `o n  s e` (a wider space between words).
                let this = &t[k..s];
                let wide = text.spans[k..s].iter().any(|&sp| wide_span(sp));
                if joiner.is_some_and(|j| j != this) || joiner_wide.is_some_and(|w| w != wide) {
                    break;
                }
                joiner = Some(this);
                joiner_wide = Some(wide);
                let e = s + 1;
                // A letter that starts a word, or an elided word (`j'ai`, `l'ami`), is no
                // single letter.
                if e < n && (is_token_byte(t[e]) || (t[e] == b'\'' && t.get(e + 1).is_some_and(|&b| is_token_byte(b))))
                {
                    break;
                }
                singles.push(s);
                k = e;
            }
            let real_letters = singles.iter().filter(|&&p| t[p].is_ascii_lowercase()).count();
            let spaced = joiner.is_none_or(|j| j.contains(&b' '));
            // Words spelled out letter by letter with wider gaps between words: `o n  s e`.
            let wide_at = |p: usize| p < n && t[p] == b' ' && wide_span(text.spans[p]);
            let framed = (i == 0 || (i >= 1 && wide_at(i - 1))) && (k >= n || wide_at(k));
            let enough = if spaced {
                (singles.len() >= 3 && real_letters >= 3)
                    || (singles.len() == 2 && real_letters == 2 && framed && joiner_wide == Some(false))
            } else {
                singles.len() >= 2 && real_letters >= 2
            };
            if enough {
                let mut tok = [0u8; 64];
                let len = singles.len().min(64);
                for (k, &p) in singles.iter().take(len).enumerate() {
                    tok[k] = t[p];
                }
                converted |= leet_token(&tok[..len], leet_, &mut buf, &mut used_one);
                // Repeats typed apart collapse too (s-u-u-u-i-s): runs of 3+ become one.
                let mut idx = 0;
                while idx < len {
                    let b = buf[idx];
                    let mut end = idx + 1;
                    while end < len && buf[end] == b {
                        end += 1;
                    }
                    let keep = if end - idx >= 3 && b.is_ascii_lowercase() { 1 } else { end - idx };
                    for r in 0..keep {
                        let span = if r + 1 == keep {
                            (text.spans[singles[idx + r]].0, text.spans[singles[end - 1]].1)
                        } else {
                            text.spans[singles[idx + r]]
                        };
                        v.push(b, span);
                    }
                    idx = end;
                }
                i = k;
                continue;
            }
        }
        let tok = &t[i..j];
        if tok.iter().all(u8::is_ascii_lowercase) {
            v.bytes.extend_from_slice(tok);
            v.spans.extend_from_slice(&text.spans[i..j]);
        } else if leet_.mode && tok.iter().all(u8::is_ascii_digit) && leet_digits_word(t, i, j) {
            buf.clear();
            for &b in tok {
                if b == b'1' {
                    used_one = true;
                }
                buf.push(leet(b, one).unwrap_or(b));
            }
            push_collapsed(&mut v, &buf, &text.spans[i..j]);
        } else {
            converted |= leet_token(tok, leet_, &mut buf, &mut used_one);
            push_collapsed(&mut v, &buf, &text.spans[i..j]);
        }
        i = j;
    }
    if v.bytes.last() == Some(&b' ') {
        v.bytes.pop();
        v.spans.pop();
    }
    *out = v;
    (used_one, converted)
}

/// The `dedup` view: doubled letters collapsed.
pub fn dedup_view(letters: &View) -> View {
    let mut v = View::default();
    dedup_view_into(letters, &mut v);
    v
}

/// Writes the `dedup` view into `out`; returns whether it differs from `letters`.
fn dedup_view_into(letters: &View, out: &mut View) -> bool {
    out.clear();
    let bytes = &letters.bytes;
    let mut start = 0;
    for i in 1..bytes.len() {
        if bytes[i] == bytes[i - 1] && bytes[i].is_ascii_lowercase() {
            // Copy up to the first letter of the pair, then let it cover the second one.
            out.bytes.extend_from_slice(&bytes[start..i]);
            out.spans.extend_from_slice(&letters.spans[start..i]);
            if let Some(last) = out.spans.last_mut() {
                last.1 = last.1.max(letters.spans[i].1);
            }
            start = i + 1;
        }
    }
    let changed = start > 0;
    out.bytes.extend_from_slice(&bytes[start..]);
    out.spans.extend_from_slice(&letters.spans[start..]);
    changed
}

/// Collapse doubled letters in a plain string (for literals matched on the `dedup` view).
pub fn dedup_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_lowercase() && out.ends_with(c) {
            continue;
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------------------------
// numbers view

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum NumWord {
    /// 0..=19 (and septante...: stored as tens).
    Unit(u32),
    Tens(u32),
    Hundred,
    /// "et" / "and" between parts of a number.
    Et,
    /// "un": a number only inside or next to other numbers.
    Un,
}

fn num_word(w: &[u8]) -> Option<NumWord> {
    use NumWord::*;
    Some(match w {
        b"zero" => Unit(0),
        b"un" => Un,
        b"one" => Unit(1),
        b"deux" | b"two" => Unit(2),
        b"trois" | b"three" => Unit(3),
        b"quatre" | b"four" => Unit(4),
        b"cinq" | b"five" => Unit(5),
        b"six" => Unit(6),
        b"sept" | b"seven" => Unit(7),
        b"huit" | b"eight" => Unit(8),
        b"neuf" | b"nine" => Unit(9),
        b"dix" | b"ten" => Unit(10),
        b"onze" | b"eleven" => Unit(11),
        b"douze" | b"twelve" => Unit(12),
        b"treize" | b"thirteen" => Unit(13),
        b"quatorze" | b"fourteen" => Unit(14),
        b"quinze" | b"fifteen" => Unit(15),
        b"seize" | b"sixteen" => Unit(16),
        b"seventeen" => Unit(17),
        b"eighteen" => Unit(18),
        b"nineteen" => Unit(19),
        b"vingt" | b"vingts" | b"vin" | b"twenty" => Tens(20),
        b"trente" | b"thirty" => Tens(30),
        b"quarante" | b"forty" | b"fourty" => Tens(40),
        b"cinquante" | b"fifty" => Tens(50),
        b"soixante" | b"sixty" => Tens(60),
        b"septante" | b"seventy" => Tens(70),
        b"huitante" | b"octante" | b"eighty" => Tens(80),
        b"nonante" | b"ninety" => Tens(90),
        b"cent" | b"cents" | b"hundred" => Hundred,
        b"et" | b"and" => Et,
        _ => return None,
    })
}

/// Parse one number starting at word `i` of `words`; returns (value, words consumed).
fn parse_number(words: &[Option<NumWord>], i: usize) -> Option<(u32, usize)> {
    use NumWord::*;
    let at = |k: usize| words.get(k).copied().flatten();
    let unit_like = |w: Option<NumWord>| match w {
        Some(Unit(u)) => Some(u),
        Some(Un) => Some(1),
        _ => None,
    };
    let mut k = i;
    let mut value;
    // Hundreds: [unit] cent.
    match (at(k), at(k + 1)) {
        (Some(Unit(u)), Some(Hundred)) if (2..=9).contains(&u) => {
            value = u * 100;
            k += 2;
        }
        (Some(Hundred), _) => {
            value = 100;
            k += 1;
        }
        _ => value = 0,
    }
    let start_rest = k;
    // Tens part.
    let mut tens = None;
    match (at(k), at(k + 1)) {
        (Some(Unit(4)), Some(Tens(20))) => {
            tens = Some(80);
            k += 2;
        }
        (Some(Tens(t)), _) => {
            tens = Some(t);
            k += 1;
        }
        _ => {}
    }
    if let Some(t) = tens {
        let mut rest = 0;
        let mut kk = k;
        if at(kk) == Some(Et) {
            kk += 1;
        }
        if let Some(u) = unit_like(at(kk)) {
            let max = if t == 60 || t == 80 { 19 } else { 9 };
            if u >= 1 && u <= max {
                rest = u;
                kk += 1;
                if u == 10
                    && let Some(v) = unit_like(at(kk))
                    && (7..=9).contains(&v)
                {
                    rest += v;
                    kk += 1;
                }
                k = kk;
            }
        }
        value += t + rest;
        return Some((value, k - i));
    }
    if let Some(u) = unit_like(at(k)) {
        let mut v = u;
        k += 1;
        if u == 10
            && let Some(x) = unit_like(at(k))
            && (7..=9).contains(&x)
        {
            v += x;
            k += 1;
        }
        value += v;
        return Some((value, k - i));
    }
    if k > start_rest || value > 0 {
        return Some((value, k - i));
    }
    None
}

/// Cheap test: a number word, or a digit next to `o`/`l`/`i`.
fn may_have_numbers(t: &[u8]) -> bool {
    let mut i = 0;
    while i < t.len() {
        if t[i].is_ascii_alphanumeric() {
            let s = i;
            let mut digit = false;
            let mut oli = false;
            while i < t.len() && t[i].is_ascii_alphanumeric() {
                digit |= t[i].is_ascii_digit();
                oli |= matches!(t[i], b'o' | b'l' | b'i');
                i += 1;
            }
            let w = &t[s..i];
            let split_digits = w.len() == 1
                && digit
                && t.get(i) == Some(&b' ')
                && t.get(i + 1).is_some_and(u8::is_ascii_digit)
                && t.get(i + 2).is_none_or(|b| !b.is_ascii_alphanumeric());
            if split_digits {
                return true;
            }
            if ((digit && oli) || (!digit && (3..=9).contains(&w.len()) && num_word(w).is_some()))
                && !matches!(num_word(w), Some(NumWord::Et | NumWord::Un))
            {
                return true;
            }
        } else {
            i += 1;
        }
    }
    false
}

/// The `numbers` view, or `None` when it would equal `text`.
pub fn numbers_view(text: &View) -> Option<View> {
    let mut v = View::default();
    numbers_view_into(text, &mut v).then_some(v)
}

/// Writes the `numbers` view into `out`; returns false (and leaves `out` alone) when it would
/// equal `text`.
fn numbers_view_into(text: &View, out: &mut View) -> bool {
    let t = &text.bytes;
    if !may_have_numbers(t) {
        return false;
    }
    // Words: maximal [a-z0-9] runs; separators between them kept.
    let mut words: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < t.len() {
        if t[i].is_ascii_alphanumeric() {
            let s = i;
            while i < t.len() && t[i].is_ascii_alphanumeric() {
                i += 1;
            }
            words.push((s, i));
        } else {
            i += 1;
        }
    }
    let kinds: Vec<Option<NumWord>> = words.iter().map(|&(s, e)| num_word(&t[s..e])).collect();
    let mixed = |s: usize, e: usize| {
        let w = &t[s..e];
        w.len() >= 2
            && w.iter().any(|b| b.is_ascii_digit())
            && w.iter().all(|b| b.is_ascii_digit() || matches!(b, b'o' | b'l' | b'i'))
            && w.iter().filter(|b| b.is_ascii_digit()).count() * 2 >= w.len()
    };
    let mut v = std::mem::take(out);
    v.clear();
    let mut pos = 0; // next byte of t to copy
    let mut w = 0;
    let mut digits = String::new();
    while w < words.len() {
        let (s, e) = words[w];
        let is_num = matches!(kinds[w], Some(NumWord::Unit(_) | NumWord::Tens(_) | NumWord::Hundred))
            || (kinds[w] == Some(NumWord::Un)
                && (w > 0 && matches!(kinds[w - 1], Some(NumWord::Unit(_) | NumWord::Tens(_)))
                    || matches!(kinds.get(w + 1), Some(Some(NumWord::Unit(_) | NumWord::Tens(_))))));
        if is_num && let Some((value, used)) = parse_number(&kinds, w) {
            let used = used.max(1);
            let last = (w + used - 1).min(words.len() - 1);
            // Only join words separated by spaces or hyphens.
            let joined_ok = (w..last).all(|k| t[words[k].1..words[k + 1].0].iter().all(|&b| b == b' ' || b == b'-'));
            if joined_ok {
                v.copy_from(text, pos, s);
                let span = (text.spans[s].0, text.spans[words[last].1 - 1].1);
                digits.clear();
                digits.push_str(&value.to_string());
                for b in digits.bytes() {
                    v.push(b, span);
                }
                pos = words[last].1;
                w = last + 1;
                continue;
            }
        }
        // Single digits typed apart: "j'ai 1 5 ans".
        if e == s + 1 && t[s].is_ascii_digit() {
            let mut last = w;
            while last + 1 < words.len() {
                let (ns, ne) = words[last + 1];
                if ne == ns + 1 && t[ns].is_ascii_digit() && ns == words[last].1 + 1 && t[ns - 1] == b' ' {
                    last += 1;
                } else {
                    break;
                }
            }
            if last > w {
                v.copy_from(text, pos, s);
                for &(p, _) in &words[w..=last] {
                    v.push(t[p], text.spans[p]);
                }
                pos = words[last].1;
                w = last + 1;
                continue;
            }
        }
        if mixed(s, e) {
            v.copy_from(text, pos, s);
            for (&b, &span) in t[s..e].iter().zip(&text.spans[s..e]) {
                let b = match b {
                    b'o' => b'0',
                    b'l' | b'i' => b'1',
                    x => x,
                };
                v.push(b, span);
            }
            pos = e;
        }
        w += 1;
    }
    v.copy_from(text, pos, t.len());
    *out = v;
    true
}

/// Fold a text into all its views.
pub fn fold(original: &str) -> Folded {
    let mut f = Folded::default();
    fold_into(original, &mut f);
    f
}

/// Fold a text into all its views, reusing the buffers of `f`.
pub fn fold_into(original: &str, f: &mut Folded) {
    text_view_into(original, &mut f.text);
    // Phonetic spellings are read on `text` already, so that most texts keep a single view.
    if respell_into(&f.text, Some(original), &mut f.respelled) {
        std::mem::swap(&mut f.text, &mut f.respelled);
    }
    let mut used_one = false;
    f.letters_is_text = letters_is_identity(&f.text.bytes);
    // Numbers and ages read the first (non-leet) pass, kept in `spare`, when there are two.
    let mut numbers_from_spare = false;
    if f.letters_is_text {
        f.letters.copy_of(&f.text);
        #[cfg(debug_assertions)]
        {
            // The shortcut must give what the full pass gives.
            let (full, _, _) = letters_pass(&f.text, Some(original), Leet { one: b'i', mode: false });
            debug_assert_eq!(full.bytes, f.text.bytes, "letters shortcut on {original:?}");
            debug_assert_eq!(full.spans, f.text.spans, "letters shortcut spans on {original:?}");
        }
    } else {
        let (one, converted) =
            letters_pass_into(&f.text, Some(original), Leet { one: b'i', mode: false }, &mut f.spare);
        used_one |= one;
        if converted {
            // Written in leetspeak: read again; numbers and ages keep the first reading.
            let (one2, _) = letters_pass_into(&f.text, Some(original), Leet { one: b'i', mode: true }, &mut f.letters);
            used_one |= one2;
            numbers_from_spare = true;
        } else {
            std::mem::swap(&mut f.letters, &mut f.spare);
        }
    }
    // Letters joined or read from leetspeak may spell a phonetic form too (`f0t0`).
    if !f.letters_is_text && respell_into(&f.letters, Some(original), &mut f.respelled) {
        std::mem::swap(&mut f.letters, &mut f.respelled);
    }
    if numbers_from_spare {
        if !numbers_view_into(&f.spare, &mut f.numbers) {
            f.numbers.copy_of(&f.spare);
        }
        f.has_numbers = true;
    } else {
        f.has_numbers = numbers_view_into(&f.letters, &mut f.numbers);
    }
    f.has_letters_l = used_one;
    if used_one {
        let (_, converted) =
            letters_pass_into(&f.text, Some(original), Leet { one: b'l', mode: false }, &mut f.letters_l);
        if converted {
            letters_pass_into(&f.text, Some(original), Leet { one: b'l', mode: true }, &mut f.letters_l);
        }
    }
    f.dedup_is_letters = !dedup_view_into(&f.letters, &mut f.dedup);
}

/// The phonetic spellings of `data/safety/respell.txt`: what is written, and how it is read.
struct Respellings {
    written: DFA,
    /// The length of each written form, as matched (accents folded).
    len: Vec<usize>,
    read: Vec<&'static str>,
    /// For an entry written with an accent (`cé`), that form: the view has lost the accent, so
    /// the original text must show it (`ce` is a word, `cé` is "c'est").
    accented: Vec<Option<&'static str>>,
}

const RESPELL_TABLE: &str = include_str!("../../../data/safety/respell.txt");

/// The entries of the respelling table: `(written, read)`, comments and blank lines skipped.
fn respell_entries() -> impl Iterator<Item = (&'static str, &'static str)> {
    RESPELL_TABLE.lines().filter_map(|line| {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            return None;
        }
        let (written, read) = line.split_once(" = ")?;
        Some((written.trim(), read.trim()))
    })
}

static RESPELLINGS: LazyLock<Option<Respellings>> = LazyLock::new(|| {
    let (mut patterns, mut read, mut accented) = (Vec::new(), Vec::new(), Vec::new());
    for (written, reading) in respell_entries() {
        patterns.push(if written.is_ascii() { written.to_owned() } else { text_view(written).as_str().to_owned() });
        read.push(reading);
        accented.push((!written.is_ascii()).then_some(written));
    }
    // Built from a table compiled into the binary (and checked by a test): cannot fail at run time.
    let written = DFA::builder().match_kind(MatchKind::Standard).build(&patterns).ok()?;
    let len = patterns.iter().map(String::len).collect();
    Some(Respellings { written, len, read, accented })
});

/// Writes `view` with its phonetic spellings read as the standard words into `out`; returns
/// whether anything was respelled (`out` is left untouched otherwise). A respelled word's bytes
/// all map to the original span of the written word. Entries written with an accent need
/// `original`.
fn respell_into(view: &View, original: Option<&str>, out: &mut View) -> bool {
    let Some(table) = RESPELLINGS.as_ref() else { return false };
    let bytes = view.bytes.as_slice();
    let in_word = |i: usize| bytes[i].is_ascii_alphanumeric() || bytes[i] == b'\'';
    // One pass over every occurrence; keep those that are whole words, spelled as written.
    let mut found: Vec<(usize, usize, usize)> = Vec::new();
    crate::detect::walk(&table.written, bytes, |entry, end| {
        let start = end - table.len[entry];
        if (start > 0 && in_word(start - 1)) || bytes.get(end).is_some_and(u8::is_ascii_alphanumeric) {
            return;
        }
        if let Some(accented) = table.accented[entry] {
            let typed = original.zip(view.original_span(start, end)).and_then(|(o, (s, e))| o.get(s..e));
            if !typed.is_some_and(|t| t.nfc().flat_map(char::to_lowercase).eq(accented.chars())) {
                return;
            }
        }
        found.push((start, end, entry));
    });
    if found.is_empty() {
        return false;
    }
    // Leftmost first, the longest at each place, none overlapping.
    found.sort_unstable_by_key(|&(start, end, _)| (start, std::cmp::Reverse(end)));
    out.clear();
    let mut copied = 0;
    for (start, end, entry) in found {
        if start < copied {
            continue;
        }
        out.copy_from(view, copied, start);
        if let Some((s, e)) = view.original_span(start, end) {
            for &b in table.read[entry].as_bytes() {
                out.push(b, (s as u32, e as u32));
            }
        }
        copied = end;
    }
    out.copy_from(view, copied, bytes.len());
    true
}

/// The folded form of a text in one string (the `letters` view): the normaliser's public face.
pub fn normalize(original: &str) -> String {
    let text = text_view(original);
    let (letters, _) = letters_view_of(&text, Some(original), b'i');
    String::from_utf8(letters.bytes).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_time_of_day_keeps_its_digits() {
        assert_eq!(normalize("rdv 18h30 au cafe"), "rdv 18h30 au cafe");
        assert_eq!(normalize("9h05 devant le portail"), "9h05 devant le portail");
        // Not a time: read as leetspeak as before.
        assert!(is_time_of_day(b"23h59") && !is_time_of_day(b"25h30") && !is_time_of_day(b"12h75"));
        assert!(!is_time_of_day(b"h30") && !is_time_of_day(b"123h30") && !is_time_of_day(b"12h3"));
    }

    #[test]
    fn the_respelling_table_is_well_formed() {
        let mut seen = std::collections::HashSet::new();
        for line in RESPELL_TABLE.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')) {
            let (written, read) = line.split_once(" = ").unwrap_or_else(|| panic!("no ' = ' in {line:?}"));
            assert!(!written.is_empty() && !read.is_empty(), "{line:?}");
            assert!(read.is_ascii() && read == read.to_lowercase(), "the reading must be folded: {line:?}");
            assert_eq!(written, written.to_lowercase(), "{line:?}");
            assert!(seen.insert(written), "{written:?} twice");
            // A reading is final: reading it again changes nothing.
            let again = normalize(read);
            assert_eq!(again, read, "{line:?} is read again as {again:?}");
        }
        assert!(RESPELLINGS.is_some());
        assert!(seen.len() > 200);
    }
}
