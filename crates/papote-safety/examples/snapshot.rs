//! Prints the engine's matches for every corpus line and fuzz seed (development aid: compare
//! two versions of the engine): `cargo run --release -p papote-safety --example snapshot > out`.
use papote_safety::{Context, Engine};

fn main() {
    let engine = Engine::builtin();
    let root = env!("CARGO_MANIFEST_DIR");
    let mut inputs: Vec<String> = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(format!("{root}/tests/corpus"))
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect())
        .unwrap_or_default();
    names.sort();
    for p in names.iter().filter(|p| p.extension().is_some_and(|e| e == "jsonl")) {
        for l in std::fs::read_to_string(p).unwrap_or_default().lines() {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(l) {
                inputs.push(v["text"].as_str().unwrap_or("").to_owned());
            }
        }
    }
    let fuzz = format!("{root}/../../fuzz/corpus/check");
    let mut seeds: Vec<_> =
        std::fs::read_dir(&fuzz).map(|d| d.filter_map(|e| e.ok()).map(|e| e.path()).collect()).unwrap_or_default();
    seeds.sort();
    for p in seeds {
        if let Ok(b) = std::fs::read(&p) {
            inputs.push(String::from_utf8_lossy(&b).into_owned());
        }
    }
    for t in &inputs {
        let dm = engine.check(t, Context::Dm);
        let room = engine.check(t, Context::Room);
        let m: Vec<String> = dm.matches.iter().map(|m| format!("{}@{}-{}", m.rule, m.start, m.end)).collect();
        println!("{:?} | {:?} {:?} | {:?} | {}", t, dm.action, room.action, dm.categories, m.join(" "));
    }
}
