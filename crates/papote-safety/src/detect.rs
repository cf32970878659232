//! Running the compiled rules over the folded views of one text.
//!
//! Per text: one walk of the literal automaton over the `dedup` view (literal rules), one walk
//! of the prefilter automaton per distinct view (`text`, and `letters`, `numbers`, `letters_l`
//! only when they differ), then only the regexes whose prefilter holds. Buffers live in a
//! [`Scratch`] that callers may keep between texts.

use aho_corasick::Anchored;
use aho_corasick::automaton::Automaton;
use aho_corasick::nfa::contiguous::NFA;

use crate::Context;
use crate::normalize::{Folded, View, dedup_view};
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
///
/// The gate's automaton is a contiguous NFA, not a DFA: over the ~20,000 prefilter literals a DFA
/// took 46 MB and 0.35 s to build for the same speed per check (the walk stays in a few hot
/// states; measured with `examples/count`, old and new binaries interleaved). The respelling
/// table, much smaller, is a DFA.
#[inline]
pub(crate) fn walk(automaton: &impl Automaton, bytes: &[u8], mut f: impl FnMut(usize, usize)) {
    let Ok(mut sid) = automaton.start_state(Anchored::No) else {
        return;
    };
    for (i, &b) in bytes.iter().enumerate() {
        sid = automaton.next_state(Anchored::No, sid, b);
        if automaton.is_special(sid) && automaton.is_match(sid) {
            for k in 0..automaton.match_len(sid) {
                f(automaton.match_pattern(sid, k).as_usize(), i + 1);
            }
        }
    }
}

fn literal_hits(automaton: &NFA, lits: &[Literal], view: &View, view_id: ViewName, out: &mut Vec<Hit>) {
    let bytes = &view.bytes;
    walk(automaton, bytes, |pat, e| {
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
#[derive(Default, Clone)]
struct Presence {
    bits: Vec<u64>,
    /// The literals present (the set bits of `bits`).
    ids: Vec<u32>,
    digits: u32,
}

impl Presence {
    fn fill(&mut self, rules: &RuleSet, view: &View) {
        rules.gate.presence_into(&view.bytes, &mut self.bits, &mut self.ids);
        self.digits = view.bytes.iter().filter(|b| b.is_ascii_digit()).count() as u32;
    }
}

/// Buffers reused from one text to the next.
#[derive(Default)]
pub struct Scratch {
    text: Presence,
    letters: Presence,
    numbers: Presence,
    letters_l: Presence,
    dedup: Presence,
    cand: Vec<u64>,
    keep: Vec<bool>,
    spans: Vec<(usize, usize)>,
    pub hits: Vec<Hit>,
}

/// The presence for a view, given which views share bytes.
fn presence<'a>(s: &'a Scratch, folded: &Folded, name: ViewName) -> &'a Presence {
    match name {
        ViewName::Text => &s.text,
        ViewName::Numbers if folded.has_numbers() => &s.numbers,
        ViewName::Letters | ViewName::Numbers => {
            if folded.letters_is_text {
                &s.text
            } else {
                &s.letters
            }
        }
        ViewName::Dedup => {
            if folded.dedup_is_letters {
                presence(s, folded, ViewName::Letters)
            } else {
                &s.dedup
            }
        }
    }
}

fn regex_hits(rules: &RuleSet, name: ViewName, view: &View, p: &Presence, cand: &mut Vec<u64>, out: &mut Vec<Hit>) {
    let bytes = view.bytes.as_slice();
    let vr = &rules.views[name.index()];
    if vr.regexes.is_empty() {
        return;
    }
    // Candidates: regexes woken up by a present literal, plus those that are always run.
    cand.clear();
    cand.extend_from_slice(&vr.always);
    for &id in &p.ids {
        for (w, m) in rules.gate.wake(id, name) {
            if let Some(c) = cand.get_mut(w) {
                *c |= m;
            }
        }
    }
    for (w, &word) in cand.iter().enumerate() {
        let mut bits = word;
        while bits != 0 {
            let i = w * 64 + bits.trailing_zeros() as usize;
            bits &= bits - 1;
            let Some(g) = vr.regexes.get(i) else { continue };
            let woken = vr.always.get(w).is_some_and(|a| a & (1u64 << (i % 64)) == 0);
            let live = if woken { g.gate.eval_rest(&p.bits, p.digits) } else { g.gate.eval(&p.bits, p.digits) };
            if !live {
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
    let mut scratch = Scratch::default();
    scan_into(rules, folded, context, &mut scratch);
    std::mem::take(&mut scratch.hits)
}

/// [`scan`] into `scratch.hits`, reusing the buffers of `scratch`.
pub fn scan_into(rules: &RuleSet, folded: &Folded, context: Option<Context>, scratch: &mut Scratch) {
    let s = scratch;
    s.hits.clear();
    // Literal rules, on the dedup view (a literal found in `letters` is found there too, in its
    // collapsed form).
    if let Some(ac) = &rules.dedup_ac {
        literal_hits(ac, &rules.dedup_lits, &folded.dedup, ViewName::Dedup, &mut s.hits);
        if let Some(l) = folded.letters_l() {
            literal_hits(ac, &rules.dedup_lits, &dedup_view(l), ViewName::Dedup, &mut s.hits);
        }
    }
    // Presence of gate literals, once per distinct view.
    s.text.fill(rules, &folded.text);
    if !folded.letters_is_text {
        s.letters.fill(rules, &folded.letters);
    }
    if folded.has_numbers() {
        s.numbers.fill(rules, folded.numbers());
    }
    if rules.uses_dedup && !folded.dedup_is_letters {
        s.dedup.fill(rules, &folded.dedup);
    }
    let mut cand = std::mem::take(&mut s.cand);
    let mut hits = std::mem::take(&mut s.hits);
    for name in ViewName::ALL {
        regex_hits(rules, name, view_of(folded, name), presence(s, folded, name), &mut cand, &mut hits);
    }
    if let Some(l) = folded.letters_l() {
        s.letters_l.fill(rules, l);
        regex_hits(rules, ViewName::Letters, l, &s.letters_l, &mut cand, &mut hits);
    }
    s.cand = cand;
    s.hits = hits;
    if s.hits.is_empty() {
        return;
    }
    s.hits.sort_unstable();
    s.hits.dedup_by(|a, b| a.rule == b.rule && a.start == b.start && a.end == b.end);
    if let Some(ctx) = context {
        s.hits.retain(|h| rules.rules[h.rule as usize].applies_in(ctx));
    }
    // Exceptions and negative context.
    let mut keep = std::mem::take(&mut s.keep);
    let mut spans = std::mem::take(&mut s.spans);
    keep.clear();
    keep.resize(s.hits.len(), true);
    let mut i = 0;
    while i < s.hits.len() {
        let rid = s.hits[i].rule;
        let mut j = i;
        while j < s.hits.len() && s.hits[j].rule == rid {
            j += 1;
        }
        let rule = &rules.rules[rid as usize];
        if !rule.exceptions.is_empty() || !rule.unless.is_empty() {
            let view = view_of(folded, rule.view);
            let p = presence(s, folded, rule.view);
            let bytes = view.bytes.as_slice();
            let live = |g: &crate::gate::Gate| g.eval(&p.bits, p.digits);
            if rule.unless.iter().any(|(re, g)| live(g) && re.is_match(bytes)) {
                keep[i..j].iter_mut().for_each(|k| *k = false);
            } else if !rule.exceptions.is_empty() {
                spans.clear();
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
                for (h, k) in s.hits[i..j].iter().zip(&mut keep[i..j]) {
                    if spans.iter().any(|&(a, b)| a <= h.end + 2 && b + 2 >= h.start) {
                        *k = false;
                    }
                }
            }
        }
        i = j;
    }
    let mut k = 0;
    s.hits.retain(|_| {
        let r = keep[k];
        k += 1;
        r
    });
    s.keep = keep;
    s.spans = spans;
}
