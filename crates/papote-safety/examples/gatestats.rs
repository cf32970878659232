//! Which regexes pass their prefilter on given lines, and which gate literals are present
//! (development aid): `cargo run --release -p papote-safety --example gatestats < lines.txt`.
use papote_safety::{Engine, normalize, rules::ViewName};

fn main() {
    let engine = Engine::builtin();
    let rs = engine.rule_set();
    let verbose = std::env::args().any(|a| a == "-v");
    // `-g rule.id`: print the gate of each regex of that rule.
    let args: Vec<String> = std::env::args().collect();
    if let Some(pos) = args.iter().position(|a| a == "-g") {
        let want = args.get(pos + 1).cloned().unwrap_or_default();
        for name in ViewName::ALL {
            for (k, g) in rs.views[name.index()].regexes.iter().enumerate() {
                if rs.rules[g.rule as usize].id != want {
                    continue;
                }
                println!("{want} #{k} ({:?}): {}", name, g.regex.as_str());
                for c in &g.gate.clauses {
                    let mut lits = Vec::new();
                    for &(w, m) in &c.masks {
                        for b in 0..64 {
                            if m & (1u64 << b) != 0 {
                                let id = w as usize * 64 + b;
                                lits.push(format!("{:?}/{}", rs.gate.strings[id], rs.gate.bounds[id]));
                            }
                        }
                    }
                    println!("  clause digits={:?} {}", c.digits, lits.join(" "));
                }
            }
        }
        return;
    }
    let lines: Vec<String> = std::io::stdin().lines().map_while(Result::ok).collect();
    let mut counts = std::collections::BTreeMap::new();
    let (mut present_total, mut passing_total) = (0usize, 0usize);
    for line in &lines {
        let f = normalize::fold(line);
        for name in ViewName::ALL {
            let view = match name {
                ViewName::Text => &f.text,
                ViewName::Numbers => f.numbers(),
                ViewName::Letters => &f.letters,
                ViewName::Dedup => &f.dedup,
            };
            let gate = &rs.gate;
            let bits = gate.presence(&view.bytes);
            let present: Vec<&str> = (0..gate.len)
                .filter(|id| bits[id / 64] & (1 << (id % 64)) != 0)
                .map(|id| gate.strings[id].as_str())
                .collect();
            present_total += present.len();
            if verbose {
                println!("{:?} present: {:?}", name, present);
            }
            let digits = view.bytes.iter().filter(|b| b.is_ascii_digit()).count() as u32;
            for (k, g) in rs.views[name.index()].regexes.iter().enumerate() {
                if g.gate.eval(&bits, digits) {
                    passing_total += 1;
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
    let n = lines.len().max(1) as f64;
    println!(
        "per line: {:.1} gate literals present, {:.1} regexes pass",
        present_total as f64 / n,
        passing_total as f64 / n
    );
}
