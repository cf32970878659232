//! Properties: the text view is idempotent; `check` never panics and its spans are valid.
//!
//! The full fold (`normalize`) is deliberately not required to be idempotent: it reads the
//! original's character widths (a gap typed as several characters separates words, `s n a p`
//! joins but `a  b` does not) and digits in context, which a folded string no longer carries, so
//! folding twice may join letters the first fold kept apart (`aⷐѤ🇦` → `a a` → `aa`). The engine
//! folds each line exactly once.

use papote_safety::normalize::{fold, text_view};
use papote_safety::{Context, Engine};
use proptest::prelude::*;

fn engine() -> &'static Engine {
    static ENGINE: std::sync::LazyLock<Engine> = std::sync::LazyLock::new(Engine::builtin);
    &ENGINE
}

/// Chat-like text: words, leetspeak, digits, separators, look-alikes, invisibles, emoji.
fn chatty() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        "[a-zàéèêçô]{1,8}",
        "[0-9]{1,10}",
        "[a-z0-9@$|!]{1,6}",
        Just(" ".to_owned()),
        Just(" ".to_owned()),
        "[ .\\-_*/'?!,]{1,3}",
        "[аеорсхуіѕ]{1,3}",
        "[ｓｎａｐ０-９]{1,4}",
        Just("\u{200B}".to_owned()),
        Just("\u{00AD}".to_owned()),
        Just("👻".to_owned()),
        Just("🍆".to_owned()),
        Just("❄️".to_owned()),
        Just("zéro six".to_owned()),
        Just("quatre-vingt-dix-huit".to_owned()),
        Just("j'ai 15 ans".to_owned()),
        Just("snap".to_owned()),
        "\\PC{1,4}",
    ];
    proptest::collection::vec(piece, 0..24).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn text_view_is_idempotent(s in chatty()) {
        let t = text_view(&s);
        let again = text_view(t.as_str());
        prop_assert_eq!(again.as_str(), t.as_str());
    }

    #[test]
    fn views_are_ascii_with_valid_spans(s in chatty()) {
        let f = fold(&s);
        for v in [&f.text, f.numbers(), &f.letters, &f.dedup] {
            prop_assert!(v.bytes.is_ascii());
            prop_assert_eq!(v.bytes.len(), v.spans.len());
            for &(a, b) in &v.spans {
                prop_assert!(a <= b && (b as usize) <= s.len());
                prop_assert!(s.is_char_boundary(a as usize) && s.is_char_boundary(b as usize));
            }
        }
    }

    #[test]
    fn check_never_panics_and_spans_are_valid(s in chatty()) {
        for ctx in [Context::Room, Context::Dm] {
            let v = engine().check(&s, ctx);
            for m in &v.matches {
                prop_assert!(m.start <= m.end && m.end <= s.len());
                prop_assert!(s.is_char_boundary(m.start) && s.is_char_boundary(m.end));
            }
            prop_assert!(v.categories.windows(2).all(|w| w[0] < w[1]));
        }
        let _ = engine().check_nickname(&s, 2026);
        let _ = engine().check_room_name(&s);
        let x = engine().explain(&s);
        for m in &x.matches {
            prop_assert_eq!(&s[m.start..m.end], m.matched.as_str());
        }
    }

    #[test]
    fn any_unicode_never_panics(s in "\\PC{0,300}") {
        let v = engine().check(&s, Context::Dm);
        for m in &v.matches {
            prop_assert!(s.is_char_boundary(m.start) && s.is_char_boundary(m.end));
        }
        let _ = engine().check_nickname(&s, 2026);
    }
}
