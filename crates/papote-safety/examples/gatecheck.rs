//! Prints the prefilter gate of a regex given on the command line (development aid).
use papote_safety::gate::{GateLiterals, analyze, compile};

fn main() {
    let pat = std::env::args().nth(1).unwrap_or_default();
    let mut i = papote_safety::gate::Interner::default();
    println!("cond: {:?}", analyze(&pat, &mut i));
    println!("literals: {:?}", i.strings);
    let mut gl = GateLiterals::default();
    let g = compile(&pat, &mut gl);
    for c in &g.clauses {
        let lits: Vec<String> = c
            .masks
            .iter()
            .flat_map(|&(w, m)| (0..64).filter(move |b| m & (1u64 << b) != 0).map(move |b| w as usize * 64 + b))
            .map(|id| format!("{:?}", gl.strings[id]))
            .collect();
        println!("clause digits={:?}: {}", c.digits, lits.join(" "));
    }
}
