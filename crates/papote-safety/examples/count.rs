//! Runs `check` N times over the benchmark lines (for `perf stat`; development aid).
use papote_safety::{Context, Engine};

include!("../benches/common/lines.rs");

fn main() {
    let n: usize = std::env::args().nth(1).and_then(|a| a.parse().ok()).unwrap_or(100_000);
    let engine = Engine::builtin();
    let mut acts = 0usize;
    for i in 0..n {
        acts += engine.check(LINES[i % LINES.len()], Context::Dm).action as usize;
    }
    println!("{acts}");
}
