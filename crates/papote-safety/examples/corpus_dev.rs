//! Development aid: scores corpus files against the rule files *read from disk* (no rebuild
//! needed after editing `data/safety/*.toml`).
//!
//! `cargo run --release -p papote-safety --example corpus_dev -- [--quiet] [file.jsonl ...]`
//! (default: every `tests/corpus/*.jsonl`);
//! `... --example corpus_dev -- --explain "text" ...` prints the views and the hits.
use std::collections::BTreeMap;

use papote_safety::rules::{RuleSet, ViewName};
use papote_safety::{Category, Context, detect, normalize};

const FILES: &[&str] = &[
    "defs.toml",
    "meeting.toml",
    "contact.toml",
    "minor_claim.toml",
    "image_request.toml",
    "sexual.toml",
    "drugs.toml",
    "paid_sex.toml",
    "hate.toml",
    "threat.toml",
];

fn main() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/safety");
    let texts: Vec<(String, String)> = FILES
        .iter()
        .map(|f| (f.to_string(), std::fs::read_to_string(format!("{root}/{f}")).unwrap_or_else(|e| panic!("{f}: {e}"))))
        .collect();
    let sources: Vec<(&str, &str)> = texts.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    let rules = match RuleSet::compile(&sources) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "--explain") {
        for line in &args[1..] {
            let f = normalize::fold(line);
            println!(
                "{line}\n  text:    {}\n  letters: {}\n  numbers: {}\n  dedup:   {}",
                f.text.as_str(),
                f.letters.as_str(),
                f.numbers().as_str(),
                f.dedup.as_str()
            );
            for h in detect::scan(&rules, &f, None) {
                let r = &rules.rules[h.rule as usize];
                println!(
                    "  {} {:?} {} {:?}",
                    r.id,
                    r.categories,
                    ViewName::ALL[h.view as usize].as_str(),
                    line.get(h.start..h.end).unwrap_or("")
                );
            }
        }
        return;
    }
    let quiet = args.iter().any(|a| a == "--quiet");
    let mut names: Vec<String> = args.iter().filter(|a| !a.starts_with("--")).cloned().collect();
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/corpus");
    if names.is_empty() {
        let mut all: Vec<String> = std::fs::read_dir(dir)
            .map(|d| d.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default();
        all.retain(|n| n.ends_with(".jsonl"));
        all.sort();
        names = all;
    }
    for name in names {
        let path = if name.contains('/') { name.clone() } else { format!("{dir}/{name}") };
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let mut per: BTreeMap<Category, (usize, usize, usize)> = BTreeMap::new();
        let (mut benign, mut flagged, mut errors) = (0, 0, Vec::new());
        for l in text.lines().filter(|l| !l.trim().is_empty()) {
            let v: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{path}: {e}: {l}"));
            let t = v["text"].as_str().unwrap_or("");
            let ctx: Context = serde_json::from_value(v["context"].clone()).unwrap_or(Context::Dm);
            let want: Vec<Category> = serde_json::from_value(v["categories"].clone()).unwrap_or_default();
            let hits = detect::scan(&rules, &normalize::fold(t), Some(ctx));
            let mut got: Vec<Category> =
                hits.iter().flat_map(|h| rules.rules[h.rule as usize].categories.iter().copied()).collect();
            got.sort();
            got.dedup();
            let mut ids: Vec<&str> = hits.iter().map(|h| rules.rules[h.rule as usize].id.as_str()).collect();
            ids.dedup();
            for c in Category::ALL {
                let e = per.entry(c).or_default();
                match (want.contains(&c), got.contains(&c)) {
                    (true, true) => e.0 += 1,
                    (false, true) => e.1 += 1,
                    (true, false) => e.2 += 1,
                    _ => {}
                }
            }
            if want.is_empty() {
                benign += 1;
                if !got.is_empty() {
                    flagged += 1;
                }
            }
            let mut w = want.clone();
            w.sort();
            w.dedup();
            if w != got {
                errors.push(format!("  want {w:?} got {got:?} {ids:?}: {t}"));
            }
        }
        let r = |a: usize, b: usize| if b == 0 { 1.0 } else { a as f64 / b as f64 };
        let cats: Vec<String> = per
            .iter()
            .filter(|(_, k)| k.0 + k.2 > 0)
            .map(|(c, k)| format!("{} {:.2}/{:.2}", &c.as_str()[..4], r(k.0, k.0 + k.1), r(k.0, k.0 + k.2)))
            .collect();
        println!("== {name}: FP {flagged}/{benign} | {}", cats.join(" "));
        if !quiet {
            for e in &errors {
                println!("{e}");
            }
        }
    }
}
