//! `cargo bench -p papote-safety`: full `check` of realistic ~120-character French chat lines.
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use papote_safety::{Context, Engine};

include!("common/lines.rs");

fn bench(c: &mut Criterion) {
    let engine = Engine::builtin();
    let mut group = c.benchmark_group("check");
    let bytes: usize = LINES.iter().map(|l| l.len()).sum();
    group.throughput(Throughput::Elements(LINES.len() as u64));
    group.bench_function("french_chat_lines", |b| {
        b.iter(|| {
            for line in LINES {
                black_box(engine.check(black_box(line), Context::Dm));
            }
        })
    });
    group.finish();
    let _ = bytes;
    c.bench_function("check_nickname", |b| b.iter(|| black_box(engine.check_nickname(black_box("L0la_du_59"), 2026))));
}

criterion_group!(benches, bench);
criterion_main!(benches);
