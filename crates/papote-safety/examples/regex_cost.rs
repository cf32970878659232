//! Time of each regex that passes its prefilter gate on the given lines, most expensive first
//! (development aid): `cargo run --release -p papote-safety --example regex_cost < lines.txt`.
use papote_safety::{Engine, normalize, rules::ViewName};
use std::time::Instant;
fn main() {
    let engine = Engine::builtin();
    let rs = engine.rule_set();
    let lines: Vec<String> = std::io::stdin().lines().map_while(Result::ok).collect();
    let mut costs: Vec<(f64, String)> = Vec::new();
    for name in ViewName::ALL {
        for (k, g) in rs.views[name.index()].regexes.iter().enumerate() {
            let mut total = 0.0;
            let mut runs = 0;
            for line in &lines {
                let f = normalize::fold(line);
                let view = match name {
                    ViewName::Text => &f.text,
                    ViewName::Numbers => f.numbers(),
                    ViewName::Letters => &f.letters,
                    ViewName::Dedup => &f.dedup,
                };
                let bits = rs.gate.presence(&view.bytes);
                let digits = view.bytes.iter().filter(|b| b.is_ascii_digit()).count() as u32;
                if !g.gate.eval(&bits, digits) {
                    continue;
                }
                runs += 1;
                let t = Instant::now();
                let mut n = 0;
                for _ in 0..2000 {
                    n += g.regex.find_iter(&view.bytes).count();
                }
                std::hint::black_box(n);
                total += t.elapsed().as_secs_f64() / 2000.0;
            }
            if runs > 0 {
                costs.push((
                    total * 1e9 / lines.len() as f64,
                    format!("{} #{k} ({runs} runs)", rs.rules[g.rule as usize].id),
                ));
            }
        }
    }
    costs.sort_by(|a, b| b.0.total_cmp(&a.0));
    let sum: f64 = costs.iter().map(|c| c.0).sum();
    println!("total regex ns/line: {sum:.0}");
    for (c, n) in costs.iter().take(25) {
        println!("{c:8.0} ns/line  {n}");
    }
}
