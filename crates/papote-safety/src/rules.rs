//! Rules as data: `data/safety/*.toml`, embedded at build time, plus extra files at run time.
//!
//! A rule file holds optional `[defs]` (named regex fragments, used as `{name}` in regexes of
//! any file) and `[[rule]]` tables:
//!
//! ```toml
//! # "on se voit ce soir ?"
//! [[rule]]
//! id = "meeting.fr.se_voir"
//! categories = ["meeting"]
//! lang = "fr"
//! regexes = ['''\bon (?:se|s) (?:voit|voi|voie)\b''']
//! literals = ["rdv parking"]          # whole words; "*x" suffix, "x*" prefix, "*x*" anywhere
//! view = "letters"                     # where regexes run: text, numbers, letters, dedup
//! exceptions = ['''sur le salon''']    # drop a match that this overlaps or touches
//! unless = ['''\bcitation\b''']        # drop every match of the rule if this is in the text
//! contexts = ["dm"]                    # default: both
//! action = "hold"                      # default: the policy table
//! cue = "minor"                        # marks a minor-coded word (may have no category)
//! ```

use std::collections::BTreeMap;

use aho_corasick::MatchKind;
use aho_corasick::nfa::contiguous::NFA;
use regex::bytes::{Regex, RegexBuilder};

use crate::gate::{Gate, GateLiterals, compile};
use serde::Deserialize;

use crate::normalize::{dedup_str, normalize};
use crate::{Action, Category, Context, RuleError};

/// The built-in rule files, in load order.
pub const BUILTIN: &[(&str, &str)] = &[
    ("defs.toml", include_str!("../../../data/safety/defs.toml")),
    ("meeting.toml", include_str!("../../../data/safety/meeting.toml")),
    ("contact.toml", include_str!("../../../data/safety/contact.toml")),
    ("minor_claim.toml", include_str!("../../../data/safety/minor_claim.toml")),
    ("image_request.toml", include_str!("../../../data/safety/image_request.toml")),
    ("sexual.toml", include_str!("../../../data/safety/sexual.toml")),
    ("drugs.toml", include_str!("../../../data/safety/drugs.toml")),
    ("paid_sex.toml", include_str!("../../../data/safety/paid_sex.toml")),
    ("hate.toml", include_str!("../../../data/safety/hate.toml")),
    ("threat.toml", include_str!("../../../data/safety/threat.toml")),
];

/// Which folded view a pattern runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ViewName {
    Text,
    Numbers,
    Letters,
    Dedup,
}

impl ViewName {
    pub const ALL: [ViewName; 4] = [ViewName::Text, ViewName::Numbers, ViewName::Letters, ViewName::Dedup];

    pub fn index(self) -> usize {
        match self {
            ViewName::Text => 0,
            ViewName::Numbers => 1,
            ViewName::Letters => 2,
            ViewName::Dedup => 3,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ViewName::Text => "text",
            ViewName::Numbers => "numbers",
            ViewName::Letters => "letters",
            ViewName::Dedup => "dedup",
        }
    }
}

/// A mark that is not a category by itself but changes the policy.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Cue {
    /// A minor-coded word ("lycéenne", "ado"): an image request or sexual text with it is flagged.
    Minor,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    defs: BTreeMap<String, String>,
    #[serde(default)]
    rule: Vec<RuleDef>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleDef {
    id: String,
    #[serde(default)]
    categories: Vec<Category>,
    #[serde(default)]
    lang: Option<String>,
    #[serde(default)]
    literals: Vec<String>,
    #[serde(default)]
    regexes: Vec<String>,
    #[serde(default)]
    view: Option<ViewName>,
    #[serde(default)]
    exceptions: Vec<String>,
    #[serde(default)]
    unless: Vec<String>,
    #[serde(default)]
    contexts: Option<Vec<Context>>,
    #[serde(default)]
    action: Option<Action>,
    #[serde(default)]
    cue: Option<Cue>,
}

/// One compiled rule.
#[derive(Debug)]
pub struct Rule {
    pub id: String,
    pub categories: Vec<Category>,
    pub lang: String,
    pub view: ViewName,
    pub contexts: Option<Vec<Context>>,
    pub action: Option<Action>,
    pub cue: Option<Cue>,
    pub exceptions: Vec<(Regex, Gate)>,
    pub unless: Vec<(Regex, Gate)>,
}

impl Rule {
    pub fn applies_in(&self, context: Context) -> bool {
        self.contexts.as_ref().is_none_or(|c| c.contains(&context))
    }
}

/// Where a literal must sit in its word.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchor {
    Word,
    Prefix,
    Suffix,
    Anywhere,
}

#[derive(Debug)]
pub struct Literal {
    pub rule: u32,
    pub anchor: Anchor,
    pub len: u32,
}

/// One regex rule pattern with its prefilter condition.
#[derive(Debug)]
pub struct GatedRegex {
    pub rule: u32,
    pub regex: Regex,
    pub gate: Gate,
}

/// The regexes that run on one view.
#[derive(Debug, Default)]
pub struct ViewRegexes {
    pub regexes: Vec<GatedRegex>,
    /// Regexes whose first clause is not a literal clause: always candidates (bitset).
    pub always: Vec<u64>,
}

impl ViewRegexes {
    /// Fills `always` and adds, for each prefilter literal, the bitset words (tagged with `view`,
    /// see [`ViewGate::wake`]) of the regexes whose first (most selective) clause it satisfies.
    fn index(&mut self, view: ViewName, by_literal: &mut [Vec<(u32, u64)>]) {
        let words = self.regexes.len().div_ceil(64);
        self.always = vec![0; words];
        for (i, g) in self.regexes.iter().enumerate() {
            let (w, bit) = (((view.index() as u32) << WAKE_VIEW_SHIFT) | (i / 64) as u32, 1u64 << (i % 64));
            match g.gate.clauses.first() {
                Some(c) if c.digits.is_none() && !c.masks.is_empty() => {
                    for &(mw, m) in &c.masks {
                        for b in 0..64 {
                            if m & (1u64 << b) != 0
                                && let Some(list) = by_literal.get_mut(mw as usize * 64 + b)
                            {
                                match list.iter_mut().find(|(x, _)| *x == w) {
                                    Some((_, mm)) => *mm |= bit,
                                    None => list.push((w, bit)),
                                }
                            }
                        }
                    }
                }
                _ => self.always[i / 64] |= bit,
            }
        }
    }
}

/// Everything compiled.
#[derive(Debug)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
    /// Literal rules, in their doubled-letters-collapsed form, matched on the `dedup` view.
    pub dedup_ac: Option<NFA>,
    pub dedup_lits: Vec<Literal>,
    pub views: [ViewRegexes; 4],
    /// Literals of every prefilter condition (all views share them), found by one scan of a view.
    pub gate: ViewGate,
    /// Some rule runs on the `dedup` view (its presence must then be computed).
    pub uses_dedup: bool,
}

/// The prefilter literals of every regex.
#[derive(Debug, Default)]
pub struct ViewGate {
    pub automaton: Option<NFA>,
    pub len: usize,
    pub strings: Vec<String>,
    /// For each literal: bit 0, a word boundary must sit before it; bit 1, after it.
    pub bounds: Vec<u8>,
    /// For each literal: its length << 2 | its `bounds` (one load in the hot loop).
    pub meta: Vec<u32>,
    /// Inverted index of the regexes' gates: the regexes literal `id` can wake up are the
    /// bitset words `wake[wake_start[id]..wake_start[id + 1]]`, each `(view << WAKE_VIEW_SHIFT
    /// | word, bits)`. One flat table for all views, because it is read for every literal
    /// present in every check and most literals wake a regex on one view only.
    pub wake_start: Vec<u32>,
    pub wake: Vec<(u32, u64)>,
}

/// Where the view sits in a [`ViewGate::wake`] key.
pub const WAKE_VIEW_SHIFT: u32 = 24;

impl ViewGate {
    /// The bitset words of the regexes of `view` that literal `id` can wake up.
    pub fn wake(&self, id: u32, view: ViewName) -> impl Iterator<Item = (usize, u64)> + '_ {
        let (start, end) = (self.wake_start.get(id as usize), self.wake_start.get(id as usize + 1));
        let range = match (start, end) {
            (Some(&s), Some(&e)) => s as usize..e as usize,
            _ => 0..0,
        };
        let tag = view.index() as u32;
        self.wake
            .get(range)
            .unwrap_or_default()
            .iter()
            .filter(move |(key, _)| key >> WAKE_VIEW_SHIFT == tag)
            .map(|&(key, bits)| ((key & ((1 << WAKE_VIEW_SHIFT) - 1)) as usize, bits))
    }

    /// Which literals occur in `bytes` (at word boundaries where required), as a bitset.
    pub fn presence(&self, bytes: &[u8]) -> Vec<u64> {
        let (mut bits, mut ids) = (Vec::new(), Vec::new());
        self.presence_into(bytes, &mut bits, &mut ids);
        bits
    }

    /// Fills `bits` (a bitset over all literals) and `ids` (the literals present, in the order
    /// found). `bits` must be all zero except for the bits of `ids` from the previous call: only
    /// those are cleared, not the whole set.
    pub fn presence_into(&self, bytes: &[u8], bits: &mut Vec<u64>, ids: &mut Vec<u32>) {
        let words = self.len.div_ceil(64);
        if bits.len() == words {
            for &id in ids.iter() {
                if let Some(w) = bits.get_mut(id as usize / 64) {
                    *w = 0;
                }
            }
        } else {
            bits.clear();
            bits.resize(words, 0);
        }
        ids.clear();
        let Some(automaton) = &self.automaton else { return };
        crate::detect::walk(automaton, bytes, |id, end| {
            let meta = self.meta.get(id).copied().unwrap_or(0);
            if meta & 3 != 0 {
                let start = end - (meta >> 2) as usize;
                let word = |i: usize| bytes.get(i).is_some_and(u8::is_ascii_alphanumeric);
                if (meta & 1 != 0 && start > 0 && word(start - 1)) || (meta & 2 != 0 && word(end)) {
                    return;
                }
            }
            if let Some(w) = bits.get_mut(id / 64) {
                let m = 1u64 << (id % 64);
                if *w & m == 0 {
                    *w |= m;
                    ids.push(id as u32);
                }
            }
        });
    }
}

fn err(file: &str, message: impl Into<String>) -> RuleError {
    RuleError::Invalid { file: file.to_owned(), message: message.into() }
}

/// Replace `{name}` by `(?:def)` (defs may use defs, up to a small depth).
fn expand(pattern: &str, defs: &BTreeMap<String, String>, file: &str) -> Result<String, RuleError> {
    let mut out = pattern.to_owned();
    for _ in 0..6 {
        if !out.contains('{') {
            return Ok(out);
        }
        let mut next = String::with_capacity(out.len());
        let mut rest = out.as_str();
        let mut changed = false;
        while let Some(open) = rest.find('{') {
            next.push_str(&rest[..open]);
            let after = &rest[open + 1..];
            let close = after.find('}');
            let name = close.map(|c| &after[..c]);
            match name {
                Some(n)
                    if !n.is_empty()
                        && n.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
                        && n.bytes().next().is_some_and(|b| b.is_ascii_lowercase()) =>
                {
                    let def = defs.get(n).ok_or_else(|| err(file, format!("unknown def {{{n}}} in {pattern}")))?;
                    next.push_str("(?:");
                    next.push_str(def);
                    next.push(')');
                    rest = &after[n.len() + 1..];
                    changed = true;
                }
                _ => {
                    next.push('{');
                    rest = after;
                }
            }
        }
        next.push_str(rest);
        out = next;
        if !changed {
            return Ok(out);
        }
    }
    Err(err(file, format!("defs nested too deep in {pattern}")))
}

fn build_regex(pattern: &str, file: &str) -> Result<Regex, RuleError> {
    RegexBuilder::new(pattern)
        .unicode(false)
        .size_limit(1 << 24)
        .dfa_size_limit(1 << 24)
        .build()
        .map_err(|e| err(file, format!("bad regex {pattern}: {e}")))
}

fn parse_literal(raw: &str) -> (Anchor, &str) {
    let pre = raw.starts_with('*');
    let post = raw.ends_with('*') && raw.len() > 1;
    let inner = raw.trim_start_matches('*').trim_end_matches('*');
    let anchor = match (pre, post) {
        (false, false) => Anchor::Word,
        (false, true) => Anchor::Prefix,
        (true, false) => Anchor::Suffix,
        (true, true) => Anchor::Anywhere,
    };
    (anchor, inner)
}

impl RuleSet {
    /// Compile rule files given as `(name, toml text)`.
    pub fn compile(sources: &[(&str, &str)]) -> Result<RuleSet, RuleError> {
        let mut files = Vec::with_capacity(sources.len());
        let mut defs = BTreeMap::new();
        for (name, text) in sources {
            let parsed: RuleFile = toml::from_str(text).map_err(|e| err(name, e.to_string()))?;
            for (k, v) in &parsed.defs {
                defs.insert(k.clone(), v.clone());
            }
            files.push((*name, parsed));
        }
        let mut rules = Vec::new();
        let mut dedup_pats: Vec<String> = Vec::new();
        let mut dedup_lits = Vec::new();
        let mut views: [ViewRegexes; 4] = Default::default();
        let mut interner = GateLiterals::default();
        let mut ids = std::collections::HashSet::new();
        for (file, parsed) in &files {
            for def in &parsed.rule {
                if def.id.trim().is_empty() {
                    return Err(err(file, "a rule has an empty id"));
                }
                if !ids.insert(def.id.clone()) {
                    return Err(err(file, format!("duplicate rule id {}", def.id)));
                }
                if def.categories.is_empty() && def.cue.is_none() {
                    return Err(err(file, format!("rule {} has no category", def.id)));
                }
                if def.literals.is_empty() && def.regexes.is_empty() {
                    return Err(err(file, format!("rule {} has no pattern", def.id)));
                }
                let idx = rules.len() as u32;
                let view = def.view.unwrap_or(ViewName::Letters);
                for raw in &def.literals {
                    let (anchor, inner) = parse_literal(raw);
                    let folded = normalize(inner);
                    if folded.trim().is_empty() {
                        return Err(err(file, format!("rule {}: empty literal", def.id)));
                    }
                    // Matched on the dedup view only: a literal found in `letters` is found there too.
                    let dd = dedup_str(&folded);
                    dedup_lits.push(Literal { rule: idx, anchor, len: dd.len() as u32 });
                    dedup_pats.push(dd);
                }
                for raw in &def.regexes {
                    let pat = expand(raw, &defs, file)?;
                    let re = build_regex(&pat, file).map_err(|e| err(file, format!("rule {}: {e}", def.id)))?;
                    let gate = compile(&pat, &mut interner);
                    views[view.index()].regexes.push(GatedRegex { rule: idx, regex: re, gate });
                }
                let mut compile_all = |list: &[String]| -> Result<Vec<(Regex, Gate)>, RuleError> {
                    list.iter()
                        .map(|p| {
                            let pat = expand(p, &defs, file)?;
                            let gate = compile(&pat, &mut interner);
                            Ok((build_regex(&pat, file)?, gate))
                        })
                        .collect()
                };
                rules.push(Rule {
                    id: def.id.clone(),
                    categories: def.categories.clone(),
                    lang: def.lang.clone().unwrap_or_else(|| "any".to_owned()),
                    view,
                    contexts: def.contexts.clone(),
                    action: def.action,
                    cue: def.cue,
                    exceptions: compile_all(&def.exceptions)?,
                    unless: compile_all(&def.unless)?,
                });
            }
        }
        let build_ac = |pats: &[String]| -> Result<Option<NFA>, RuleError> {
            if pats.is_empty() {
                return Ok(None);
            }
            NFA::builder()
                .match_kind(MatchKind::Standard)
                .build(pats)
                .map(Some)
                .map_err(|e| err("literals", e.to_string()))
        };
        let n = interner.strings.len();
        let mut by_literal: Vec<Vec<(u32, u64)>> = vec![Vec::new(); n];
        for name in ViewName::ALL {
            views[name.index()].index(name, &mut by_literal);
        }
        let mut wake_start = Vec::with_capacity(n + 1);
        let mut wake = Vec::new();
        for list in &by_literal {
            wake_start.push(wake.len() as u32);
            wake.extend_from_slice(list);
        }
        wake_start.push(wake.len() as u32);
        let strings: Vec<String> = interner.strings.iter().map(|l| l.text.clone()).collect();
        let bounds: Vec<u8> = interner.strings.iter().map(|l| u8::from(l.left) | (u8::from(l.right) << 1)).collect();
        let uses_dedup = rules.iter().any(|r| r.view == ViewName::Dedup);
        Ok(RuleSet {
            rules,
            dedup_ac: build_ac(&dedup_pats)?,
            dedup_lits,
            views,
            gate: {
                let meta = strings.iter().zip(&bounds).map(|(s, &b)| ((s.len() as u32) << 2) | u32::from(b)).collect();
                ViewGate { automaton: build_ac(&strings)?, len: n, strings, bounds, meta, wake_start, wake }
            },
            uses_dedup,
        })
    }
}
