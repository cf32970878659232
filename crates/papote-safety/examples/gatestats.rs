//! Which regexes pass their prefilter on given lines (development aid).
use papote_safety::{Engine, normalize, rules::ViewName};

fn main() {
    let engine = Engine::builtin();
    let rs = engine.rule_set();
    let lines: Vec<String> = std::io::stdin().lines().map_while(Result::ok).collect();
    let mut counts = std::collections::BTreeMap::new();
    for line in &lines {
        let f = normalize::fold(line);
        for name in ViewName::ALL {
            let view = match name {
                ViewName::Text => &f.text,
                ViewName::Numbers => f.numbers(),
                ViewName::Letters => &f.letters,
                ViewName::Dedup => &f.dedup,
            };
            let gate = &rs.gates[name.gate_slot()];
            let mut bits = vec![0u64; gate.len.div_ceil(64)];
            if let Some(dfa) = &gate.dfa {
                use aho_corasick::automaton::Automaton;
                let mut sid = dfa.start_state(aho_corasick::Anchored::No).expect("start");
                for &b in view.bytes.iter() {
                    sid = dfa.next_state(aho_corasick::Anchored::No, sid, b);
                    if dfa.is_match(sid) {
                        for k in 0..dfa.match_len(sid) {
                            let id = dfa.match_pattern(sid, k).as_usize();
                            bits[id / 64] |= 1 << (id % 64);
                        }
                    }
                }
            }
            for (k, g) in rs.views[name.index()].regexes.iter().enumerate() {
                let digits = view.bytes.iter().filter(|b| b.is_ascii_digit()).count() as u32;
                if g.gate.eval(&bits, digits) {
                    *counts.entry((rs.rules[g.rule as usize].id.clone(), k)).or_insert(0) += 1;
                }
            }
        }
    }
    let mut v: Vec<_> = counts.into_iter().collect();
    v.sort_by_key(|(_, c)| std::cmp::Reverse(*c));
    for ((id, k), c) in v.iter().take(40) {
        println!("{c:5} {id} #{k}");
    }
}
