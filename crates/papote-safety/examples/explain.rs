//! `cargo run -p papote-safety --example explain -- "text" ...`: the engine's view of texts.
use papote_safety::{Context, Engine};

fn main() {
    let engine = Engine::builtin();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let lines: Vec<String> =
        if args.is_empty() { std::io::stdin().lines().map_while(Result::ok).collect() } else { args };
    for line in lines {
        let e = engine.explain(&line);
        let v = engine.check(&line, Context::Dm);
        println!("{line}\n  letters: {}", e.views[2].text);
        println!("  numbers: {}", e.views[1].text);
        for m in &e.matches {
            println!("  {} {:?} [{}..{}] {:?}", m.rule, m.categories, m.start, m.end, m.matched);
        }
        println!("  dm: {:?} {:?}", v.action, v.categories);
    }
}
