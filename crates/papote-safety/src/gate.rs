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
}

impl Cond {
    /// `present`: which interned literals occur; `digits`: how many digits the view has.
    pub fn eval(&self, present: &[u64], digits: u32) -> bool {
        match self {
            Cond::Digits(n) => digits >= *n,
            Cond::True => true,
            Cond::Lit(id) => present.get(*id as usize / 64).is_some_and(|w| w & (1u64 << (id % 64)) != 0),
            Cond::AnyLits(masks) => {
                masks.iter().any(|&(w, m)| present.get(w as usize).is_some_and(|bits| bits & m != 0))
            }
            Cond::All(cs) => cs.iter().all(|c| c.eval(present, digits)),
            Cond::Any(cs) => cs.iter().any(|c| c.eval(present, digits)),
        }
    }

    fn all(mut cs: Vec<Cond>) -> Cond {
        cs.retain(|c| *c != Cond::True);
        match cs.len() {
            0 => Cond::True,
            1 => cs.pop().unwrap_or(Cond::True),
            _ => Cond::All(cs),
        }
    }

    fn any(cs: Vec<Cond>) -> Cond {
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

/// The literal strings of every condition, interned.
#[derive(Debug, Default)]
pub struct Interner {
    pub strings: Vec<String>,
    ids: HashMap<String, u32>,
}

impl Interner {
    fn id(&mut self, s: &[u8]) -> u32 {
        let s = String::from_utf8_lossy(s).into_owned();
        if let Some(&id) = self.ids.get(&s) {
            return id;
        }
        let id = self.strings.len() as u32;
        self.ids.insert(s.clone(), id);
        self.strings.push(s);
        id
    }
}

/// A parsed piece of a pattern.
enum Node {
    /// Matches the empty string only (`\b`, `^`).
    Empty,
    /// One of these fixed strings.
    Set(Vec<Vec<u8>>),
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
            Node::Empty | Node::Free => Cond::True,
            Node::Digit => Cond::Digits(1),
            Node::Cond(c) => c,
            Node::Set(set) => {
                // A set with a common one-byte member says little: do not gate on it.
                if set.iter().any(|s| s.len() < 2 && !s.iter().all(|b| b"@+/#$%&*=<>{}|~^_\\".contains(b))) {
                    return Cond::True;
                }
                let lits = set.iter().map(|s| Cond::Lit(self.interner.id(s))).collect();
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
            && branches.iter().map(|b| if let Node::Set(s) = b { s.len() } else { 0 }).sum::<usize>() <= MAX_SET * 4
        {
            let mut all = Vec::new();
            for b in branches {
                if let Node::Set(s) = b {
                    all.extend(s);
                }
            }
            return Some(Node::Set(all));
        }
        let conds: Vec<Cond> = branches
            .into_iter()
            .map(|b| match b {
                Node::Empty => Cond::True,
                other => self.cond_of(other),
            })
            .collect();
        Some(Node::Cond(Cond::any(conds)))
    }

    fn concat(&mut self) -> Option<Node> {
        let mut conds: Vec<Cond> = Vec::new();
        let mut cur: Option<Vec<Vec<u8>>> = None;
        let mut pure = true;
        let mut digits = 0u32;
        while let Some(c) = self.peek() {
            if c == b'|' || c == b')' {
                break;
            }
            let atom = self.atom()?;
            let atom = self.quantified(atom)?;
            match atom {
                Node::Empty => {}
                Node::Set(set) => {
                    cur = Some(match cur.take() {
                        None => set,
                        Some(prev) if prev.len() * set.len() <= MAX_SET => {
                            let mut out = Vec::with_capacity(prev.len() * set.len());
                            for a in &prev {
                                for b in &set {
                                    let mut x = a.clone();
                                    x.extend_from_slice(b);
                                    out.push(x);
                                }
                            }
                            out
                        }
                        Some(prev) => {
                            pure = false;
                            digits += min_digits(&prev);
                            let c = self.cond_of(Node::Set(prev));
                            conds.push(c);
                            set
                        }
                    });
                }
                Node::Digit => {
                    pure = false;
                    digits += 1;
                    if let Some(prev) = cur.take() {
                        digits += min_digits(&prev);
                        let c = self.cond_of(Node::Set(prev));
                        conds.push(c);
                    }
                }
                Node::Free => {
                    pure = false;
                    if let Some(prev) = cur.take() {
                        digits += min_digits(&prev);
                        let c = self.cond_of(Node::Set(prev));
                        conds.push(c);
                    }
                }
                Node::Cond(c) => {
                    pure = false;
                    if let Some(prev) = cur.take() {
                        digits += min_digits(&prev);
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
            digits += min_digits(&prev);
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
                    if set.is_empty() || set.len() > 10 { Node::Digit } else { Node::Set(set) }
                } else {
                    Node::Free
                }
            }
            b'\\' => {
                let e = self.peek()?;
                self.i += 1;
                match e {
                    b'b' | b'B' | b'A' | b'z' => Node::Empty,
                    b'd' => Node::Digit,
                    b'D' | b'w' | b'W' | b's' | b'S' | b'p' | b'P' | b'x' | b'u' => {
                        return if matches!(e, b'p' | b'P' | b'x' | b'u') { None } else { Some(Node::Free) };
                    }
                    b'n' | b't' | b'r' => Node::Free,
                    other if other.is_ascii_alphanumeric() => return None,
                    other => Node::Set(vec![vec![other]]),
                }
            }
            b'^' | b'$' => Node::Empty,
            b'.' => Node::Free,
            b'*' | b'+' | b'?' => return None,
            other => Node::Set(vec![vec![other]]),
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
        Some(if min == 0 {
            Node::Free
        } else if max == Some(1) {
            atom
        } else {
            match atom {
                Node::Empty => Node::Empty,
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
        self.clauses.iter().all(|c| {
            c.digits.is_some_and(|n| digits >= n)
                || c.masks.iter().any(|&(w, m)| present.get(w as usize).is_some_and(|bits| bits & m != 0))
        })
    }
}

/// A clause before literal ids are assigned.
#[derive(Clone, Debug)]
struct RawClause {
    lits: Vec<String>,
    digits: Option<u32>,
}

impl RawClause {
    fn score(&self) -> i64 {
        let lit = if self.lits.is_empty() {
            i64::MIN / 4
        } else {
            let min = self.lits.iter().map(|s| s.len()).min().unwrap_or(0) as i64;
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

fn strong(s: &str) -> bool {
    s.len() >= 2 || (!s.is_empty() && s.bytes().all(|b| b"@+/#$%&*=<>{}|~^_\\".contains(&b)))
}

fn normal(c: &Cond, strings: &[String]) -> Vec<RawClause> {
    match c {
        Cond::True => Vec::new(),
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
            if lits.iter().all(|s| strong(s)) { vec![RawClause { lits, digits: None }] } else { Vec::new() }
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

/// Literal ids shared by every gate.
#[derive(Debug, Default)]
pub struct GateLiterals {
    pub strings: Vec<String>,
    ids: HashMap<String, u32>,
}

impl GateLiterals {
    fn id(&mut self, s: &str) -> u32 {
        if let Some(&id) = self.ids.get(s) {
            return id;
        }
        let id = self.strings.len() as u32;
        self.ids.insert(s.to_owned(), id);
        self.strings.push(s.to_owned());
        id
    }
}

/// The gate of one regex: its necessary condition, kept to its most selective clauses.
pub fn compile(pattern: &str, lits: &mut GateLiterals) -> Gate {
    let mut interner = Interner::default();
    let cond = analyze(pattern, &mut interner);
    let mut raw = normal(&cond, &interner.strings);
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

    fn lits(pattern: &str) -> (Cond, Vec<String>) {
        let mut i = Interner::default();
        let c = analyze(pattern, &mut i);
        (c, i.strings)
    }

    #[test]
    fn literals_and_alternations() {
        let (c, s) = lits(r"\bje vais te (?:tuer|buter)\b");
        assert_eq!(s, vec!["je vais te tuer", "je vais te buter"]);
        assert!(matches!(c, Cond::AnyLits(_)));
        let (c, _) = lits(r"\bon(?: [a-z]+){0,2} (?:se|s') ?voit");
        assert!(matches!(c, Cond::All(_)));
        let (c, _) = lits(r"[a-z]+");
        assert_eq!(c, Cond::True);
        let (c, _) = lits(r"(?i)abc");
        assert_eq!(c, Cond::True);
    }

    #[test]
    fn eval() {
        let mut i = Interner::default();
        let c = analyze(r"\b(?:snap|insta) ?\?", &mut i);
        let snap = i.strings.iter().position(|s| s == "snap").unwrap_or(99);
        let mut bits = vec![0u64; 1];
        assert!(!c.eval(&bits, 0));
        bits[0] |= 1 << snap;
        assert!(c.eval(&bits, 0));
        let phone = analyze(r"\b0 ?[1-9](?:[ .]{0,3}\d){8}\b", &mut i);
        assert_eq!(phone, Cond::Digits(10));
        let mut gl = GateLiterals::default();
        let g = compile(r"\b0 ?[1-9](?:[ .]{0,3}\d){8}\b", &mut gl);
        assert!(!g.eval(&[], 9));
        assert!(g.eval(&[], 10));
        let g = compile(r"\bje vais te (?:tuer|buter)\b", &mut gl);
        assert_eq!(g.clauses.len(), 1);
        assert!(!g.is_open());
    }
}
