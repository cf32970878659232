//! Cheap prefilters for regex rules.
//!
//! For every regex, a small static analysis of its source finds literal strings that any match
//! must contain, as a condition tree: `All` (every part must be present), `Any` (one of them).
//! One Aho-Corasick scan per view finds which literals are present; a regex runs only when its
//! condition holds. The condition is *necessary*, never sufficient, so gating cannot lose a
//! match: anything the analysis does not understand becomes "always run".

use std::collections::HashMap;

/// A necessary condition on the literals present in a view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cond {
    True,
    Lit(u32),
    /// Any of these literals: `(word index, bit mask)` pairs over the presence bitset.
    AnyLits(Vec<(u32, u64)>),
    All(Vec<Cond>),
    Any(Vec<Cond>),
    /// At least this many ASCII digits in the view.
    Digits(u32),
    /// Cannot hold (a string with non-ASCII bytes: views are ASCII). Only during analysis.
    Never,
}

impl Cond {
    /// `present`: which interned literals occur; `digits`: how many digits the view has.
    pub fn eval(&self, present: &[u64], digits: u32) -> bool {
        match self {
            Cond::Digits(n) => digits >= *n,
            Cond::True => true,
            Cond::Never => false,
            Cond::Lit(id) => present.get(*id as usize / 64).is_some_and(|w| w & (1u64 << (id % 64)) != 0),
            Cond::AnyLits(masks) => {
                masks.iter().any(|&(w, m)| present.get(w as usize).is_some_and(|bits| bits & m != 0))
            }
            Cond::All(cs) => cs.iter().all(|c| c.eval(present, digits)),
            Cond::Any(cs) => cs.iter().any(|c| c.eval(present, digits)),
        }
    }

    fn all(mut cs: Vec<Cond>) -> Cond {
        if cs.contains(&Cond::Never) {
            return Cond::Never;
        }
        cs.retain(|c| *c != Cond::True);
        match cs.len() {
            0 => Cond::True,
            1 => cs.pop().unwrap_or(Cond::True),
            _ => Cond::All(cs),
        }
    }

    fn any(mut cs: Vec<Cond>) -> Cond {
        // An alternative that cannot match does not count.
        cs.retain(|c| *c != Cond::Never);
        if cs.is_empty() || cs.contains(&Cond::True) {
            return Cond::True;
        }
        // Literals (and lists of literals) fold into one mask list.
        if cs.iter().all(|c| matches!(c, Cond::Lit(_) | Cond::AnyLits(_))) {
            let mut masks: Vec<(u32, u64)> = Vec::new();
            let mut add = |w: u32, m: u64| match masks.iter_mut().find(|(x, _)| *x == w) {
                Some((_, mm)) => *mm |= m,
                None => masks.push((w, m)),
            };
            for c in &cs {
                match c {
                    Cond::Lit(id) => add(id / 64, 1u64 << (id % 64)),
                    Cond::AnyLits(ms) => ms.iter().for_each(|&(w, m)| add(w, m)),
                    _ => {}
                }
            }
            masks.sort_unstable();
            return Cond::AnyLits(masks);
        }
        if cs.len() == 1 {
            return cs.into_iter().next().unwrap_or(Cond::True);
        }
        Cond::Any(cs)
    }
}

/// The fewest digits any of these strings has.
fn min_digits(set: &[Vec<u8>]) -> u32 {
    set.iter().map(|s| s.iter().filter(|b| b.is_ascii_digit()).count() as u32).min().unwrap_or(0)
}

/// A part repeated at least `min` times needs `min` times its digits.
fn scale_digits(c: Cond, min: u32) -> Cond {
    match c {
        Cond::Digits(n) => Cond::Digits(n.saturating_mul(min)),
        Cond::All(cs) => Cond::All(cs.into_iter().map(|c| scale_digits(c, min)).collect()),
        other => other,
    }
}

/// A literal any match must contain, and whether a word boundary must sit before (`left`) or
/// after (`right`) it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Lit {
    pub text: String,
    pub left: bool,
    pub right: bool,
}

/// The literal strings of every condition, interned.
#[derive(Debug, Default)]
pub struct Interner {
    pub strings: Vec<Lit>,
    ids: HashMap<Lit, u32>,
}

impl Interner {
    fn id(&mut self, s: &[u8], left: bool, right: bool) -> u32 {
        // A boundary only says something next to a word byte.
        let left = left && s.first().is_some_and(u8::is_ascii_alphanumeric);
        let right = right && s.last().is_some_and(u8::is_ascii_alphanumeric);
        let lit = Lit { text: String::from_utf8_lossy(s).into_owned(), left, right };
        if let Some(&id) = self.ids.get(&lit) {
            return id;
        }
        let id = self.strings.len() as u32;
        self.ids.insert(lit.clone(), id);
        self.strings.push(lit);
        id
    }
}

/// Fixed strings, all preceded (`left`) or followed (`right`) by a word boundary in the regex.
struct Strings {
    set: Vec<Vec<u8>>,
    left: bool,
    right: bool,
}

/// A parsed piece of a pattern.
enum Node {
    /// Matches the empty string only (`\b`, `^`).
    Empty,
    /// One of these fixed strings.
    Set(Strings),
    /// A zero-width word boundary, start or end (`\\b`, `^`, `$`).
    Boundary,
    /// Anything (classes, optional parts): no constraint, breaks literal runs.
    Free,
    /// A condition, breaks literal runs.
    Cond(Cond),
    /// One ASCII digit.
    Digit,
}

const MAX_SET: usize = 64;

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    interner: &'a mut Interner,
}

/// The necessary condition of one regex (syntax as accepted by the `regex` crate).
pub fn analyze(pattern: &str, interner: &mut Interner) -> Cond {
    let mut p = Parser { s: pattern.as_bytes(), i: 0, interner };
    match p.alt() {
        Some(node) if p.i == p.s.len() => p.cond_of(node),
        _ => Cond::True,
    }
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn cond_of(&mut self, node: Node) -> Cond {
        match node {
            Node::Empty | Node::Free | Node::Boundary => Cond::True,
            Node::Digit => Cond::Digits(1),
            Node::Cond(c) => c,
            Node::Set(st) => {
                // Views are ASCII: a string with other bytes never occurs there.
                let possible: Vec<&Vec<u8>> = st.set.iter().filter(|s| s.is_ascii()).collect();
                if possible.is_empty() {
                    return Cond::Never;
                }
                // A set with a common one-byte member says little: do not gate on it.
                if possible.iter().any(|s| s.len() < 2 && !s.iter().all(|b| SYMBOLS.contains(b))) {
                    return Cond::True;
                }
                let lits = possible.iter().map(|s| Cond::Lit(self.interner.id(s, st.left, st.right))).collect();
                Cond::any(lits)
            }
        }
    }

    fn alt(&mut self) -> Option<Node> {
        let mut branches = vec![self.concat()?];
        while self.peek() == Some(b'|') {
            self.i += 1;
            branches.push(self.concat()?);
        }
        if branches.len() == 1 {
            return branches.pop();
        }
        // All fixed strings: keep a set (it can join its neighbours).
        if branches.iter().all(|b| matches!(b, Node::Set(_)))
            && branches.iter().map(|b| if let Node::Set(s) = b { s.set.len() } else { 0 }).sum::<usize>() <= MAX_SET * 4
        {
            let mut all = Strings { set: Vec::new(), left: true, right: true };
            for b in branches {
                if let Node::Set(s) = b {
                    all.set.extend(s.set);
                    all.left &= s.left;
                    all.right &= s.right;
                }
            }
            return Some(Node::Set(all));
        }
        let conds: Vec<Cond> = branches
            .into_iter()
            .map(|b| match b {
                Node::Empty | Node::Boundary => Cond::True,
                other => self.cond_of(other),
            })
            .collect();
        Some(Node::Cond(Cond::any(conds)))
    }

    fn concat(&mut self) -> Option<Node> {
        let mut conds: Vec<Cond> = Vec::new();
        // The run of fixed strings being joined, with its boundary flags.
        let mut cur: Option<Strings> = None;
        let mut pure = true;
        let mut digits = 0u32;
        // A boundary was seen since the last atom that takes room.
        let mut boundary = false;
        while let Some(c) = self.peek() {
            if c == b'|' || c == b')' {
                break;
            }
            let atom = self.atom()?;
            let atom = self.quantified(atom)?;
            match atom {
                Node::Empty => boundary = false,
                Node::Boundary => {
                    boundary = true;
                    if let Some(run) = cur.as_mut() {
                        run.right = true;
                    }
                }
                Node::Set(set) => {
                    let before = std::mem::take(&mut boundary);
                    cur = Some(match cur.take() {
                        None => Strings { set: set.set, left: before || set.left, right: set.right },
                        Some(prev) if prev.set.len() * set.set.len() <= MAX_SET => {
                            let mut out = Vec::with_capacity(prev.set.len() * set.set.len());
                            for a in &prev.set {
                                for b in &set.set {
                                    let mut x = a.clone();
                                    x.extend_from_slice(b);
                                    out.push(x);
                                }
                            }
                            Strings { set: out, left: prev.left, right: set.right }
                        }
                        Some(prev) => {
                            pure = false;
                            digits += min_digits(&prev.set);
                            let c = self.cond_of(Node::Set(prev));
                            conds.push(c);
                            Strings { set: set.set, left: before || set.left, right: set.right }
                        }
                    });
                }
                Node::Digit => {
                    pure = false;
                    boundary = false;
                    digits += 1;
                    if let Some(prev) = cur.take() {
                        digits += min_digits(&prev.set);
                        let c = self.cond_of(Node::Set(prev));
                        conds.push(c);
                    }
                }
                Node::Free => {
                    pure = false;
                    boundary = false;
                    if let Some(prev) = cur.take() {
                        digits += min_digits(&prev.set);
                        let c = self.cond_of(Node::Set(prev));
                        conds.push(c);
                    }
                }
                Node::Cond(c) => {
                    pure = false;
                    boundary = false;
                    if let Some(prev) = cur.take() {
                        digits += min_digits(&prev.set);
                        let pc = self.cond_of(Node::Set(prev));
                        conds.push(pc);
                    }
                    match c {
                        Cond::Digits(n) => digits += n,
                        other => conds.push(other),
                    }
                }
            }
        }
        if pure {
            return Some(match cur {
                Some(set) => Node::Set(set),
                None => Node::Empty,
            });
        }
        if let Some(prev) = cur.take() {
            digits += min_digits(&prev.set);
            let c = self.cond_of(Node::Set(prev));
            conds.push(c);
        }
        if digits > 0 {
            conds.push(Cond::Digits(digits));
        }
        Some(Node::Cond(Cond::all(conds)))
    }

    fn atom(&mut self) -> Option<Node> {
        let c = self.peek()?;
        self.i += 1;
        Some(match c {
            b'(' => {
                if self.peek() == Some(b'?') {
                    // Only non-capturing groups are understood.
                    if self.s.get(self.i + 1) == Some(&b':') {
                        self.i += 2;
                    } else {
                        return None;
                    }
                }
                let inner = self.alt()?;
                if self.peek() != Some(b')') {
                    return None;
                }
                self.i += 1;
                inner
            }
            b'[' => {
                // Skip a class: `[^]...]`, escapes, nested `[:alpha:]`.
                let negated = self.peek() == Some(b'^');
                if negated {
                    self.i += 1;
                }
                let start = self.i;
                if self.peek() == Some(b']') {
                    self.i += 1;
                }
                let mut depth = 1;
                while let Some(b) = self.peek() {
                    self.i += 1;
                    match b {
                        b'\\' => self.i += 1,
                        b'[' => depth += 1,
                        b']' => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
                if depth != 0 {
                    return None;
                }
                let body = &self.s[start..self.i - 1];
                let digit_class = !negated
                    && !body.is_empty()
                    && body.iter().all(|b| b.is_ascii_digit() || *b == b'-')
                    && body.first().is_some_and(u8::is_ascii_digit)
                    && body.last().is_some_and(u8::is_ascii_digit);
                if digit_class {
                    // Expand small digit classes so `1[0-7]` gates on "10".."17".
                    let mut set = Vec::new();
                    let mut k = 0;
                    while k < body.len() {
                        if k + 2 < body.len() && body[k + 1] == b'-' {
                            for d in body[k]..=body[k + 2] {
                                set.push(vec![d]);
                            }
                            k += 3;
                        } else {
                            set.push(vec![body[k]]);
                            k += 1;
                        }
                    }
                    if set.is_empty() || set.len() > 10 {
                        Node::Digit
                    } else {
                        Node::Set(Strings { set, left: false, right: false })
                    }
                } else {
                    Node::Free
                }
            }
            b'\\' => {
                let e = self.peek()?;
                self.i += 1;
                match e {
                    b'b' | b'A' | b'z' => Node::Boundary,
                    b'B' => Node::Empty,
                    b'd' => Node::Digit,
                    b'D' | b'w' | b'W' | b's' | b'S' | b'p' | b'P' | b'x' | b'u' => {
                        return if matches!(e, b'p' | b'P' | b'x' | b'u') { None } else { Some(Node::Free) };
                    }
                    b'n' | b't' | b'r' => Node::Free,
                    other if other.is_ascii_alphanumeric() => return None,
                    other => Node::Set(Strings { set: vec![vec![other]], left: false, right: false }),
                }
            }
            b'^' | b'$' => Node::Boundary,
            b'.' => Node::Free,
            b'*' | b'+' | b'?' => return None,
            other => Node::Set(Strings { set: vec![vec![other]], left: false, right: false }),
        })
    }

    /// Applies a quantifier, if any, to an atom.
    fn quantified(&mut self, atom: Node) -> Option<Node> {
        let (min, max) = match self.peek() {
            Some(b'?') => {
                self.i += 1;
                (0, Some(1))
            }
            Some(b'*') => {
                self.i += 1;
                (0, None)
            }
            Some(b'+') => {
                self.i += 1;
                (1, None)
            }
            Some(b'{') => match self.counted() {
                Some(r) => r,
                None => return Some(atom),
            },
            _ => return Some(atom),
        };
        if self.peek() == Some(b'?') {
            self.i += 1; // lazy
        }
        Some(if min == 0 && max == Some(1) && matches!(&atom, Node::Set(st) if st.set.len() <= 8) {
            // A small optional part (` ?`, `s?`): keep it as a set with the empty string, so
            // that it still joins its neighbours ("6 ans", "6ans").
            match atom {
                Node::Set(mut st) => {
                    // Without the part, its boundaries do not hold any more.
                    st.set.push(Vec::new());
                    st.left = false;
                    st.right = false;
                    Node::Set(st)
                }
                other => other,
            }
        } else if min == 0 {
            Node::Free
        } else if max == Some(1) {
            atom
        } else {
            match atom {
                Node::Empty | Node::Boundary => Node::Empty,
                // Repeated strings: their boundaries are not known any more.
                Node::Set(st) => {
                    let st = Strings { set: st.set, left: false, right: false };
                    Node::Cond(scale_digits(self.cond_of(Node::Set(st)), min))
                }
                other => Node::Cond(scale_digits(self.cond_of(other), min)),
            }
        })
    }

    /// `{n}`, `{n,}`, `{n,m}`; consumes it and returns the bounds.
    fn counted(&mut self) -> Option<(u32, Option<u32>)> {
        let rest = &self.s[self.i..];
        let close = rest.iter().position(|&b| b == b'}')?;
        let body = std::str::from_utf8(&rest[1..close]).ok()?;
        let (min, max) = match body.split_once(',') {
            None => {
                let n = body.parse().ok()?;
                (n, Some(n))
            }
            Some((a, "")) => (a.parse().ok()?, None),
            Some((a, b)) => (a.parse().ok()?, Some(b.parse().ok()?)),
        };
        self.i += close + 1;
        Some((min, max))
    }
}

/// A necessary condition in normal form: every clause must hold.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Gate {
    pub clauses: Vec<Clause>,
}

/// One of these literals is present, or the view has at least `digits` digits.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Clause {
    pub masks: Vec<(u32, u64)>,
    pub digits: Option<u32>,
}

impl Gate {
    /// No constraint: the regex always runs.
    pub fn is_open(&self) -> bool {
        self.clauses.is_empty()
    }

    #[inline]
    pub fn eval(&self, present: &[u64], digits: u32) -> bool {
        self.clauses.iter().all(|c| c.eval(present, digits))
    }

    /// [`Gate::eval`] when the first clause is known to hold (the regex was woken up by one of
    /// its literals): most gates have one clause, and this spares reading it.
    #[inline]
    pub fn eval_rest(&self, present: &[u64], digits: u32) -> bool {
        self.clauses.iter().skip(1).all(|c| c.eval(present, digits))
    }
}

impl Clause {
    #[inline]
    fn eval(&self, present: &[u64], digits: u32) -> bool {
        self.digits.is_some_and(|n| digits >= n)
            || self.masks.iter().any(|&(w, m)| present.get(w as usize).is_some_and(|bits| bits & m != 0))
    }
}

/// A clause before literal ids are assigned.
#[derive(Clone, Debug)]
struct RawClause {
    lits: Vec<Lit>,
    digits: Option<u32>,
}

impl RawClause {
    /// Drops every literal that contains another literal of the clause in a way that implies
    /// it: the clause is a disjunction, so `A or B` is `A` whenever `B` present implies `A`
    /// present. The condition is unchanged and the gate automaton gets smaller (alternations
    /// expand to many literals sharing a short core).
    fn drop_implied(&mut self) {
        if self.lits.len() < 2 {
            return;
        }
        self.lits.sort_by(|a, b| a.text.len().cmp(&b.text.len()).then_with(|| a.cmp(b)));
        self.lits.dedup();
        let mut kept: Vec<Lit> = Vec::with_capacity(self.lits.len());
        for lit in std::mem::take(&mut self.lits) {
            if !kept.iter().any(|k| implies(&lit, k)) {
                kept.push(lit);
            }
        }
        self.lits = kept;
    }

    fn score(&self) -> i64 {
        let lit = if self.lits.is_empty() {
            i64::MIN / 4
        } else {
            // A literal that must stand at a word boundary is rarer than its letters anywhere.
            let min =
                self.lits.iter().map(|s| s.text.len() + usize::from(s.left) + usize::from(s.right)).min().unwrap_or(0)
                    as i64;
            min * 10 - (self.lits.len() as i64).min(60) / 6
        };
        let dig = self.digits.map_or(i64::MIN / 4, |n| 6 + 10 * i64::from(n.min(6)));
        if self.lits.is_empty() {
            dig
        } else if self.digits.is_none() {
            lit
        } else {
            lit.min(dig)
        }
    }
}

/// Words so common in chat that a literal made of one of them filters nothing.
const COMMON: &[&str] = &[
    "a", "ai", "as", "au", "aux", "avec", "bien", "c", "ca", "ce", "ces", "cet", "cette", "d", "dans", "de", "des",
    "du", "elle", "elles", "en", "es", "est", "et", "fait", "g", "il", "ils", "j", "je", "l", "la", "le", "les", "lui",
    "m", "ma", "mais", "me", "mes", "moi", "mon", "n", "ne", "non", "nous", "on", "ou", "oui", "par", "pas", "plus",
    "pour", "qu", "que", "qui", "quoi", "s", "sa", "se", "ses", "si", "son", "suis", "sur", "t", "ta", "te", "tes",
    "toi", "ton", "tous", "tout", "tu", "un", "une", "va", "vas", "vous", "y", "ici", "the", "an", "to", "of", "in",
    "is", "it", "i", "you", "u", "my", "your", "ur", "and", "or", "for", "be", "are", "do", "so", "if", "we", "he",
    "she", "this", "that", "with", "not", "no", "yes", "ok",
];

/// A literal worth gating on: not a single common byte, not a common word, not two letters
/// that may sit inside any word.
/// Symbols rare enough in chat for a one-byte literal to be worth gating on.
const SYMBOLS: &[u8] = b"@+/#$%&*=<>{}|~^_\\?";

fn strong(lit: &Lit) -> bool {
    let core = lit.text.trim_matches(|c: char| c == ' ' || c == '\'');
    // A rare symbol, with or without spaces around it (" @ ").
    if !core.is_empty() && core.bytes().all(|b| SYMBOLS.contains(&b)) {
        return true;
    }
    let alnum = core.bytes().filter(u8::is_ascii_alphanumeric).count();
    alnum >= 2 && !COMMON.contains(&core)
}

fn normal(c: &Cond, strings: &[Lit]) -> Vec<RawClause> {
    match c {
        Cond::True | Cond::Never => Vec::new(),
        Cond::Digits(n) => vec![RawClause { lits: Vec::new(), digits: Some(*n) }],
        Cond::Lit(id) => {
            let s = strings.get(*id as usize).cloned().unwrap_or_default();
            if strong(&s) { vec![RawClause { lits: vec![s], digits: None }] } else { Vec::new() }
        }
        Cond::AnyLits(masks) => {
            let mut lits = Vec::new();
            for &(w, m) in masks {
                for bit in 0..64 {
                    if m & (1u64 << bit) != 0 {
                        let id = w as usize * 64 + bit;
                        lits.push(strings.get(id).cloned().unwrap_or_default());
                    }
                }
            }
            if lits.iter().all(strong) { vec![RawClause { lits, digits: None }] } else { Vec::new() }
        }
        Cond::All(cs) => cs.iter().flat_map(|c| normal(c, strings)).collect(),
        Cond::Any(cs) => {
            let mut merged = RawClause { lits: Vec::new(), digits: None };
            for child in cs {
                let clauses = normal(child, strings);
                let Some(best) = clauses.into_iter().max_by_key(RawClause::score) else {
                    return Vec::new();
                };
                merged.lits.extend(best.lits);
                merged.digits = match (merged.digits, best.digits) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
            }
            merged.lits.sort();
            merged.lits.dedup();
            vec![merged]
        }
    }
}

/// Whether `long` being present (with its boundaries) implies that `short` is present (with
/// its own): `short` occurs inside `long` at an offset where its boundaries are guaranteed,
/// either by `long`'s boundaries (at the ends) or by a non-word byte of `long` itself.
fn implies(long: &Lit, short: &Lit) -> bool {
    let (l, s) = (long.text.as_bytes(), short.text.as_bytes());
    if s.is_empty() || s.len() > l.len() {
        return false;
    }
    let non_word = |b: u8| !b.is_ascii_alphanumeric();
    (0..=l.len() - s.len()).any(|o| {
        l[o..o + s.len()] == *s
            && (!short.left || if o == 0 { long.left } else { non_word(l[o - 1]) })
            && (!short.right || if o + s.len() == l.len() { long.right } else { non_word(l[o + s.len()]) })
    })
}

/// Literal ids shared by every gate.
#[derive(Debug, Default)]
pub struct GateLiterals {
    pub strings: Vec<Lit>,
    ids: HashMap<Lit, u32>,
}

impl GateLiterals {
    fn id(&mut self, lit: &Lit) -> u32 {
        if let Some(&id) = self.ids.get(lit) {
            return id;
        }
        let id = self.strings.len() as u32;
        self.ids.insert(lit.clone(), id);
        self.strings.push(lit.clone());
        id
    }
}

/// The gate of one regex: its necessary condition, kept to its most selective clauses.
pub fn compile(pattern: &str, lits: &mut GateLiterals) -> Gate {
    let mut interner = Interner::default();
    let cond = analyze(pattern, &mut interner);
    let mut raw = normal(&cond, &interner.strings);
    for clause in &mut raw {
        clause.drop_implied();
    }
    raw.sort_by_key(|c| std::cmp::Reverse(c.score()));
    raw.truncate(3);
    let clauses = raw
        .into_iter()
        .map(|rc| {
            let mut masks: Vec<(u32, u64)> = Vec::new();
            for s in &rc.lits {
                let id = lits.id(s);
                let (w, m) = (id / 64, 1u64 << (id % 64));
                match masks.iter_mut().find(|(x, _)| *x == w) {
                    Some((_, mm)) => *mm |= m,
                    None => masks.push((w, m)),
                }
            }
            Clause { masks, digits: rc.digits }
        })
        .collect();
    Gate { clauses }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lits(pattern: &str) -> (Cond, Vec<Lit>) {
        let mut i = Interner::default();
        let c = analyze(pattern, &mut i);
        (c, i.strings)
    }

    #[test]
    fn literals_and_alternations() {
        let (c, s) = lits(r"\bje vais te (?:tuer|buter)\b");
        let texts: Vec<&str> = s.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(texts, vec!["je vais te tuer", "je vais te buter"]);
        assert!(s.iter().all(|l| l.left && l.right));
        assert!(matches!(c, Cond::AnyLits(_)));
        let (c, _) = lits(r"\bon(?: [a-z]+){0,2} (?:se|s') ?voit");
        assert!(matches!(c, Cond::All(_)));
        let (c, _) = lits(r"[a-z]+");
        assert_eq!(c, Cond::True);
        let (c, _) = lits(r"(?i)abc");
        assert_eq!(c, Cond::True);
    }

    #[test]
    fn a_literal_containing_another_of_its_clause_is_dropped_only_when_implied() {
        let lit = |t: &str, left, right| Lit { text: t.to_owned(), left, right };
        // "snapchat" (word) implies "snap" (word start): same start, left boundary shared.
        assert!(implies(&lit("snapchat", true, true), &lit("snap", true, false)));
        // ...but not "snap" as a whole word: "snapchat" has a letter after "snap".
        assert!(!implies(&lit("snapchat", true, true), &lit("snap", true, true)));
        // Inside a phrase, the spaces around the short literal give its boundaries.
        assert!(implies(&lit("ton snap stp", false, false), &lit("snap", true, true)));
        assert!(!implies(&lit("xsnap", false, false), &lit("snap", true, false)));
        // At the end, the long literal's own boundary is needed.
        assert!(implies(&lit("mon snap", true, true), &lit("snap", false, true)));
        assert!(!implies(&lit("mon snap", true, false), &lit("snap", false, true)));
        let mut clause = RawClause {
            lits: vec![lit("mon snap", true, true), lit("snap", true, true), lit("insta", true, true)],
            digits: None,
        };
        clause.drop_implied();
        let kept: Vec<&str> = clause.lits.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(kept, vec!["snap", "insta"]);
    }

    #[test]
    fn eval() {
        let mut i = Interner::default();
        let c = analyze(r"\b(?:snap|insta) ?\?", &mut i);
        // The optional space joins its neighbours: "snap ?" and "snap?".
        let snap = i.strings.iter().position(|s| s.text == "snap ?").unwrap_or(0);
        assert_eq!(i.strings.get(snap).map(|s| (s.left, s.right)), Some((true, false)));
        let mut bits = vec![0u64; 1];
        assert!(!c.eval(&bits, 0));
        bits[0] |= 1 << snap;
        assert!(c.eval(&bits, 0));
        let phone = analyze(r"\b0 ?[1-9](?:[ .]{0,3}\d){8}\b", &mut i);
        // "0" and the next digit, with or without a space, and ten digits in all.
        assert!(matches!(&phone, Cond::All(cs) if cs.contains(&Cond::Digits(10)) && cs.len() == 2), "{phone:?}");
        let mut gl = GateLiterals::default();
        let g = compile(r"\b0 ?[1-9](?:[ .]{0,3}\d){8}\b", &mut gl);
        let all = vec![u64::MAX; gl.strings.len().div_ceil(64)];
        assert!(!g.eval(&all, 9));
        assert!(g.eval(&all, 10));
        assert!(!g.eval(&[], 10));
        let g = compile(r"\bje vais te (?:tuer|buter)\b", &mut gl);
        assert_eq!(g.clauses.len(), 1);
        assert!(!g.is_open());
    }
}
