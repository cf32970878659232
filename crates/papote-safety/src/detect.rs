//! Running the compiled rules over the folded views of one text.

use crate::normalize::{Folded, View};
use crate::rules::{Anchor, Literal, RuleSet, ViewName};
use crate::Context;

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

fn literal_hits(
    ac: &aho_corasick::AhoCorasick,
    lits: &[Literal],
    view: &View,
    view_id: ViewName,
    out: &mut Vec<Hit>,
) {
    let bytes = &view.bytes;
    for m in ac.find_overlapping_iter(bytes.as_slice()) {
        let lit = &lits[m.pattern().as_usize()];
        let (s, e) = (m.start(), m.end());
        let left = s == 0 || !is_word(bytes[s - 1]);
        let right = e >= bytes.len() || !is_word(bytes[e]);
        let ok = match lit.anchor {
            Anchor::Word => left && right,
            Anchor::Prefix => left,
            Anchor::Suffix => right,
            Anchor::Anywhere => true,
        };
        if ok && let Some((os, oe)) = view.original_span(s, e) {
            out.push(Hit {
                rule: lit.rule,
                start: os,
                end: oe,
                view: view_id.index() as u8,
            });
        }
    }
}

fn regex_hits(rules: &RuleSet, name: ViewName, view: &View, out: &mut Vec<Hit>) {
    let vr = &rules.views[name.index()];
    let Some(set) = &vr.set else {
        return;
    };
    let bytes = view.bytes.as_slice();
    let matches = set.matches(bytes);
    if !matches.matched_any() {
        return;
    }
    for idx in matches.iter() {
        let (rule, re) = &vr.regexes[idx];
        for m in re.find_iter(bytes) {
            let (s, e) = trim_span(bytes, m.start(), m.end());
            if let Some((os, oe)) = view.original_span(s, e) {
                out.push(Hit {
                    rule: *rule,
                    start: os,
                    end: oe,
                    view: name.index() as u8,
                });
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
    for name in ViewName::ALL {
        if name == ViewName::Numbers && folded.numbers.is_none() {
            // Same bytes as `text`: run the numbers regexes there.
            regex_hits(rules, name, &folded.text, &mut hits);
            continue;
        }
        regex_hits(rules, name, view_of(folded, name), &mut hits);
        if name == ViewName::Letters
            && let Some(l) = &folded.letters_l
        {
            regex_hits(rules, name, l, &mut hits);
        }
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
            let bytes = view.bytes.as_slice();
            if rule.unless.iter().any(|re| re.is_match(bytes)) {
                keep[i..j].iter_mut().for_each(|k| *k = false);
            } else if !rule.exceptions.is_empty() {
                let mut spans: Vec<(usize, usize)> = Vec::new();
                for re in &rule.exceptions {
                    for m in re.find_iter(bytes) {
                        if let Some(sp) = view.original_span(m.start(), m.end()) {
                            spans.push(sp);
                        }
                    }
                }
                for k in i..j {
                    let h = hits[k];
                    if spans.iter().any(|&(s, e)| s <= h.end && e >= h.start) {
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
