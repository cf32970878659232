//! The labelled corpus: per-category precision and recall, false-positive rate on benign lines.
//!
//! `cargo test -p papote-safety --test corpus -- --nocapture` prints the tables. Files:
//! `tuned.jsonl` (written while tuning the rules), `evasion.jsonl` (evasive rewrites of tuned
//! lines), `holdout.jsonl` and `holdout2.jsonl` (written after tuning, to check that the rules
//! generalise, then fixed), `tuned5.jsonl` and `holdout5.jsonl` to `holdout31.jsonl` (each
//! scored once before its round, then fixed), `benign18.jsonl` to `benign21.jsonl` (ordinary,
//! sensitive-but-harmless, young adults' and dating-room lines, scored once, then fixed). `holdout3.jsonl` is held
//! out for good and `holdout4.jsonl` was scored once before round 4 and then tuned on
//! (docs/safety.md): their figures are printed (`held_out_figures`), never asserted.

use std::collections::BTreeMap;

use papote_safety::{Category, Context, Engine};
use serde::Deserialize;

#[derive(Deserialize)]
struct Line {
    text: String,
    context: Context,
    categories: Vec<Category>,
    #[serde(default)]
    note: String,
}

#[derive(Default)]
struct Counts {
    tp: usize,
    fp: usize,
    fn_: usize,
}

struct Report {
    per_cat: BTreeMap<Category, Counts>,
    benign: usize,
    benign_flagged: usize,
    lines: usize,
    errors: Vec<String>,
}

fn load(name: &str) -> Vec<Line> {
    let path = format!("{}/tests/corpus/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, l)| serde_json::from_str(l).unwrap_or_else(|e| panic!("{name}:{}: {e}", i + 1)))
        .collect()
}

fn evaluate(engine: &Engine, lines: &[Line]) -> Report {
    let mut r = Report {
        per_cat: Category::ALL.iter().map(|c| (*c, Counts::default())).collect(),
        benign: 0,
        benign_flagged: 0,
        lines: lines.len(),
        errors: Vec::new(),
    };
    for line in lines {
        let v = engine.check(&line.text, line.context);
        for c in Category::ALL {
            let want = line.categories.contains(&c);
            let got = v.has(c);
            let e = r.per_cat.entry(c).or_default();
            match (want, got) {
                (true, true) => e.tp += 1,
                (false, true) => e.fp += 1,
                (true, false) => e.fn_ += 1,
                (false, false) => {}
            }
        }
        if line.categories.is_empty() {
            r.benign += 1;
            if !v.categories.is_empty() {
                r.benign_flagged += 1;
            }
        }
        let mut want = line.categories.clone();
        want.sort();
        want.dedup();
        if v.categories != want {
            r.errors.push(format!(
                "  want {:?} got {:?} rules {:?}: {:?} ({})",
                line.categories, v.categories, v.rules, line.text, line.note
            ));
        }
    }
    r
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 { 1.0 } else { a as f64 / b as f64 }
}

fn print(name: &str, r: &Report) {
    println!("\n== {name}: {} lines, {} benign", r.lines, r.benign);
    println!("{:<14} {:>5} {:>9} {:>7}", "category", "lines", "precision", "recall");
    for (c, k) in &r.per_cat {
        println!(
            "{:<14} {:>5} {:>9.3} {:>7.3}",
            c.as_str(),
            k.tp + k.fn_,
            ratio(k.tp, k.tp + k.fp),
            ratio(k.tp, k.tp + k.fn_)
        );
    }
    println!(
        "false-positive rate on benign lines: {:.3} ({}/{})",
        ratio(r.benign_flagged, r.benign),
        r.benign_flagged,
        r.benign
    );
    if !r.errors.is_empty() {
        println!("mismatches:");
        for e in &r.errors {
            println!("{e}");
        }
    }
}

#[test]
fn corpus_precision_recall() {
    let engine = Engine::builtin();
    let mut all = Vec::new();
    for name in [
        "tuned.jsonl",
        "evasion.jsonl",
        "holdout.jsonl",
        "holdout2.jsonl",
        "tuned5.jsonl",
        "holdout5.jsonl",
        "holdout6.jsonl",
        "holdout7.jsonl",
        "holdout8.jsonl",
        "holdout9.jsonl",
        "holdout10.jsonl",
        "holdout11.jsonl",
        "holdout12.jsonl",
        "holdout13.jsonl",
        "holdout14.jsonl",
        "holdout15.jsonl",
        "holdout16.jsonl",
        "holdout17.jsonl",
        "holdout18.jsonl",
        "benign18.jsonl",
        "holdout19.jsonl",
        "benign19.jsonl",
        "holdout20.jsonl",
        "benign20.jsonl",
        "holdout21.jsonl",
        "benign21.jsonl",
        "holdout22.jsonl",
        "holdout23.jsonl",
        "holdout24.jsonl",
        "holdout25.jsonl",
        "holdout26.jsonl",
        "holdout27.jsonl",
        "holdout28.jsonl",
        "holdout29.jsonl",
        "holdout30.jsonl",
        "holdout31.jsonl",
    ] {
        let lines = load(name);
        let r = evaluate(&engine, &lines);
        print(name, &r);
        all.extend(lines);
    }
    let r = evaluate(&engine, &all);
    print("all", &r);
    let evasive = all.iter().filter(|l| l.note.contains("evasion")).count();
    let traps = all
        .iter()
        .filter(|l| l.categories.is_empty() && (l.note.contains("trap") || l.note.contains("benign")))
        .count();
    println!("lines: {}, evasion: {evasive}, benign: {traps}", all.len());
    assert!(all.len() >= 400, "the corpus needs at least 400 lines");
    for (c, k) in &r.per_cat {
        let recall = ratio(k.tp, k.tp + k.fn_);
        assert!(recall >= 0.95, "recall for {} is {recall:.3}", c.as_str());
    }
    let fpr = ratio(r.benign_flagged, r.benign);
    assert!(fpr <= 0.02, "false-positive rate on benign lines is {fpr:.3}");
}

/// Held-out sets that are never tuned on: figures printed, not asserted.
#[test]
fn held_out_figures() {
    let engine = Engine::builtin();
    for name in ["holdout3.jsonl", "holdout4.jsonl"] {
        let path = format!("{}/tests/corpus/{name}", env!("CARGO_MANIFEST_DIR"));
        if std::path::Path::new(&path).exists() {
            let lines = load(name);
            print(&format!("{name} (held out, not asserted)"), &evaluate(&engine, &lines));
        }
    }
}
