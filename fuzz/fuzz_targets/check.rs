//! Fuzzes the normaliser, `check`, `explain` and the name checks: no panic, ASCII views with
//! spans inside the input, matches on character boundaries.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use papote_safety::normalize::fold;
use papote_safety::{Context, Engine};

static ENGINE: LazyLock<Engine> = LazyLock::new(Engine::builtin);

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let s = text.as_ref();
    let f = fold(s);
    for v in [&f.text, f.numbers(), &f.letters, &f.dedup] {
        assert!(v.bytes.is_ascii());
        assert_eq!(v.bytes.len(), v.spans.len());
        for &(a, b) in &v.spans {
            assert!(a <= b && b as usize <= s.len());
        }
    }
    for ctx in [Context::Room, Context::Dm] {
        let v = ENGINE.check(s, ctx);
        for m in &v.matches {
            assert!(m.start <= m.end && m.end <= s.len());
            assert!(s.is_char_boundary(m.start) && s.is_char_boundary(m.end));
        }
    }
    if s.len() < 256 {
        let _ = ENGINE.explain(s);
    }
    let name: String = s.chars().take(40).collect();
    let _ = ENGINE.check_nickname(&name, 2026);
    let _ = ENGINE.check_room_name(&name);
});
