//! Running the compiled rules over the folded views of one text.

use aho_corasick::Anchored;
use aho_corasick::automaton::Automaton;
use aho_corasick::dfa::DFA;

use crate::Context;
use crate::normalize::{Folded, View};
use crate::rules::{Anchor, Literal, RuleSet, ViewName};

/// One rule that fired, with its span in the original text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Hit {
    pub rule: u32,
    pub start: usize,
    pub end: usize,
    pub view: u8,
}

fn view_of(folded: &Folded, name: ViewName) -> &View {
    match name {
        ViewName::Text => &folded.text,
        ViewName::Numbers => folded.numbers(),
        ViewName::Letters => &folded.letters,
        ViewName::Dedup => &folded.dedup,
    }
}

#[inline]
fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// Every pattern ending at each position of `bytes`, by walking the automaton by hand (the
/// overlapping iterator costs more per match). Calls `f(pattern, end)`.
#[inline]
fn walk(dfa: &DFA, bytes: &[u8], mut f: impl FnMut(usize, usize)) {
    let Ok(mut sid) = dfa.start_state(Anchored::No) else {
        return;
    };
    for (i, &b) in bytes.iter().enumerate() {
        sid = dfa.next_state(Anchored::No, sid, b);
        if dfa.is_special(sid) && dfa.is_match(sid) {
            for k in 0..dfa.match_len(sid) {
                f(dfa.match_pattern(sid, k).as_usize(), i + 1);
            }
        }
    }
}

fn literal_hits(dfa: &DFA, lits: &[Literal], view: &View, view_id: ViewName, out: &mut Vec<Hit>) {
    let bytes = &view.bytes;
    walk(dfa, bytes, |pat, e| {
        let lit = &lits[pat];
        let s = e - lit.len as usize;
        let left = s == 0 || !is_word(bytes[s - 1]);
        let right = e >= bytes.len() || !is_word(bytes[e]);
        let ok = match lit.anchor {
            Anchor::Word => left && right,
            Anchor::Prefix => left,
            Anchor::Suffix => right,
            Anchor::Anywhere => true,
        };
        if ok && let Some((os, oe)) = view.original_span(s, e) {
            out.push(Hit { rule: lit.rule, start: os, end: oe, view: view_id.index() as u8 });
        }
    });
}

/// Which gate literals a view contains, and how many digits.
#[derive(Default)]
struct Presence {
    bits: Vec<u64>,
    digits: u32,
}

impl Presence {
    fn of(rules: &RuleSet, name: ViewName, view: &View) -> Presence {
        let bytes = view.bytes.as_slice();
        let gate = &rules.gates[name.gate_slot()];
        let mut bits = vec![0u64; gate.len.div_ceil(64)];
        if let Some(dfa) = &gate.dfa {
            walk(dfa, bytes, |id, _| bits[id / 64] |= 1 << (id % 64));
        }
        Presence { bits, digits: bytes.iter().filter(|b| b.is_ascii_digit()).count() as u32 }
    }
}

fn regex_hits(rules: &RuleSet, name: ViewName, view: &View, p: &Presence, out: &mut Vec<Hit>) {
    let bytes = view.bytes.as_slice();
    let vr = &rules.views[name.index()];
    if vr.regexes.is_empty() {
        return;
    }
    // Candidates: regexes woken up by a present literal, plus those that are always run.
    let mut cand = vr.always.clone();
    for (w, &word) in p.bits.iter().enumerate() {
        let mut bits = word;
        while bits != 0 {
            let id = w * 64 + bits.trailing_zeros() as usize;
            bits &= bits - 1;
            if let Some(list) = vr.by_literal.get(id) {
                for (c, l) in cand.iter_mut().zip(list) {
                    *c |= l;
                }
            }
        }
    }
    for (w, &word) in cand.iter().enumerate() {
        let mut bits = word;
        while bits != 0 {
            let i = w * 64 + bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let Some(g) = vr.regexes.get(i) else { continue };
            if !g.gate.eval(&p.bits, p.digits) {
                continue;
            }
            for m in g.regex.find_iter(bytes) {
                let (s, e) = trim_span(bytes, m.start(), m.end());
                if let Some((os, oe)) = view.original_span(s, e) {
                    out.push(Hit { rule: g.rule, start: os, end: oe, view: name.index() as u8 });
                }
            }
        }
    }
}

/// Spaces at either end of a regex match are not part of what the member typed.
fn trim_span(bytes: &[u8], mut s: usize, mut e: usize) -> (usize, usize) {
    while s < e && bytes[s] == b' ' {
        s += 1;
    }
    while e > s && bytes[e - 1] == b' ' {
        e -= 1;
    }
    (s, e)
}

/// Every hit of every rule that applies in `context`, exceptions removed, sorted, deduplicated.
pub fn scan(rules: &RuleSet, folded: &Folded, context: Option<Context>) -> Vec<Hit> {
    let mut hits = Vec::new();
    if let Some(ac) = &rules.letters_ac {
        literal_hits(ac, &rules.letters_lits, &folded.letters, ViewName::Letters, &mut hits);
        if let Some(l) = &folded.letters_l {
            literal_hits(ac, &rules.letters_lits, l, ViewName::Letters, &mut hits);
        }
    }
    if let Some(ac) = &rules.dedup_ac {
        literal_hits(ac, &rules.dedup_lits, &folded.dedup, ViewName::Dedup, &mut hits);
    }
    // Presence of gate literals, per view (numbers shares letters' when identical).
    let text_p = Presence::of(rules, ViewName::Text, &folded.text);
    let letters_p = Presence::of(rules, ViewName::Letters, &folded.letters);
    let numbers_p = folded.numbers.as_ref().map(|v| Presence::of(rules, ViewName::Numbers, v));
    let dedup_used = !rules.views[ViewName::Dedup.index()].regexes.is_empty()
        || rules.rules.iter().any(|r| r.view == ViewName::Dedup);
    let dedup_p = if dedup_used { Presence::of(rules, ViewName::Dedup, &folded.dedup) } else { Presence::default() };
    let presence = |name: ViewName| -> &Presence {
        match name {
            ViewName::Text => &text_p,
            ViewName::Numbers => numbers_p.as_ref().unwrap_or(&letters_p),
            ViewName::Letters => &letters_p,
            ViewName::Dedup => &dedup_p,
        }
    };
    for name in ViewName::ALL {
        regex_hits(rules, name, view_of(folded, name), presence(name), &mut hits);
    }
    if let Some(l) = &folded.letters_l {
        let p = Presence::of(rules, ViewName::Letters, l);
        regex_hits(rules, ViewName::Letters, l, &p, &mut hits);
    }
    if hits.is_empty() {
        return hits;
    }
    hits.sort_unstable();
    hits.dedup_by(|a, b| a.rule == b.rule && a.start == b.start && a.end == b.end);
    if let Some(ctx) = context {
        hits.retain(|h| rules.rules[h.rule as usize].applies_in(ctx));
    }
    // Exceptions and negative context.
    let mut i = 0;
    let mut keep = vec![true; hits.len()];
    while i < hits.len() {
        let rid = hits[i].rule;
        let mut j = i;
        while j < hits.len() && hits[j].rule == rid {
            j += 1;
        }
        let rule = &rules.rules[rid as usize];
        if !rule.exceptions.is_empty() || !rule.unless.is_empty() {
            let view = view_of(folded, rule.view);
            let p = presence(rule.view);
            let bytes = view.bytes.as_slice();
            let live = |g: &crate::gate::Gate| g.eval(&p.bits, p.digits);
            if rule.unless.iter().any(|(re, g)| live(g) && re.is_match(bytes)) {
                keep[i..j].iter_mut().for_each(|k| *k = false);
            } else if !rule.exceptions.is_empty() {
                let mut spans: Vec<(usize, usize)> = Vec::new();
                for (re, g) in &rule.exceptions {
                    if !live(g) {
                        continue;
                    }
                    for m in re.find_iter(bytes) {
                        if let Some(sp) = view.original_span(m.start(), m.end()) {
                            spans.push(sp);
                        }
                    }
                }
                for k in i..j {
                    let h = hits[k];
                    if spans.iter().any(|&(s, e)| s <= h.end + 2 && e + 2 >= h.start) {
                        keep[k] = false;
                    }
                }
            }
        }
        i = j;
    }
    let mut k = 0;
    hits.retain(|_| {
        let r = keep[k];
        k += 1;
        r
    });
    hits
}
