//! `cargo bench -p papote-safety`: full `check` of realistic ~120-character French chat lines.
use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use papote_safety::{Context, Engine};

const LINES: &[&str] = &[
    "slt tout le monde, qqn a vu le match hier soir ? jsuis degoute on a perdu 3-0 a domicile, l'arbitre etait nul",
    "bjr a tous, je cherche une bonne recette de gratin dauphinois pour ce soir, vous mettez de l'ail ou pas ?? merci",
    "wesh t'as snap ou insta ? on pourrait parler en prive c'est plus simple, et on se voit ce soir si tu veux hein",
    "cc jai 45 ans et je suis prof au lycee a cote de lyon, je passe ici le soir apres les copies, c'est calme ici",
    "mdr t'es trop drole toi, franchement le parking du cinema est payant maintenant, 4 euros la soiree c'est abuse",
    "jsuis en 3eme et ma mere veut pas que je sorte ce soir, trop relou, quelqu'un veut parler un peu ? je m'ennuie",
    "envoie moi une ptite photo de toi stp, t'es ou exactement ? je peux passer te prendre en voiture vers 22h ce soir",
    "la cocaine est un fleau, aide moi a arreter svp, ca fait 3 ans que je galere et j'en ai parle a personne encore",
];

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
