//! Nickname and room-name verdicts (development aid).
use papote_safety::{Engine, nickname_skeleton};

fn main() {
    let engine = Engine::builtin();
    for n in std::env::args().skip(1) {
        println!(
            "{n:20} nick={:?} room={:?} skel={}",
            engine.check_nickname(&n, 2026),
            engine.check_room_name(&n),
            nickname_skeleton(&n)
        );
    }
}
