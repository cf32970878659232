//! Rough per-stage timing (development aid).
use papote_safety::{Context, Engine, normalize};
use std::time::Instant;

fn main() {
    let engine = Engine::builtin();
    let lines = [
        "slt tout le monde, qqn a vu le match hier soir ? jsuis degoute on a perdu 3-0 a domicile, l'arbitre etait nul",
        "wesh t'as snap ou insta ? on pourrait parler en prive c'est plus simple, et on se voit ce soir si tu veux hein",
        "envoie moi une ptite photo de toi stp, t'es ou exactement ? je peux passer te prendre en voiture vers 22h ce soir",
    ];
    let n = 200000;
    for _ in 0..2 {
        let t = Instant::now();
        for i in 0..n {
            std::hint::black_box(normalize::text_view(lines[i % 3]));
        }
        println!("text: {:?}/op", t.elapsed() / n as u32);
        let tv: Vec<_> = lines.iter().map(|l| normalize::text_view(l)).collect();
        let t = Instant::now();
        for i in 0..n {
            std::hint::black_box(normalize::letters_view(&tv[i % 3], b'i'));
        }
        println!("letters: {:?}/op", t.elapsed() / n as u32);
        let t = Instant::now();
        for i in 0..n {
            std::hint::black_box(normalize::numbers_view(&tv[i % 3]));
        }
        println!("numbers: {:?}/op", t.elapsed() / n as u32);
        let t = Instant::now();
        for i in 0..n {
            std::hint::black_box(normalize::fold(lines[i % 3]));
        }
        println!("fold: {:?}/op", t.elapsed() / n as u32);
        let t = Instant::now();
        for i in 0..n {
            std::hint::black_box(engine.check(lines[i % 3], Context::Dm));
        }
        println!("check: {:?}/op", t.elapsed() / n as u32);
    }
}
