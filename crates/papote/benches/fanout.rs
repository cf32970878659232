//! `cargo bench -p papote --bench fanout`: the room fan-out path without sockets. One room
//! message is serialised once and the same bytes are queued to every member's outbox, as
//! `hub/room.rs` does; then every connection task's side takes its frame off the queue. A
//! regression here shows without a full load test (`docs/performance.md`).
use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use papote::hub::outbox::{Outbox, frame};
use papote::protocol::{Author, MemberId, ServerMsg};

fn room_message(seq: u64) -> ServerMsg {
    ServerMsg::RoomMsg {
        room: "cuisine".to_owned(),
        seq,
        id: 1_000 + seq,
        from: Author { id: MemberId(7), nickname: "Lola".to_owned() },
        text: "slt tout le monde, qqn a une recette de gratin dauphinois pour ce soir ?".to_owned(),
        at: 1_763_812_345_123,
        card: None,
        mentions: Vec::new(),
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("fanout");
    for members in [100usize, 2_000] {
        let (outboxes, mut queues): (Vec<Outbox>, Vec<_>) =
            (0..members).map(|i| Outbox::new(i as u64, MemberId(i as u64), 1_024)).unzip();
        group.throughput(Throughput::Elements(members as u64));
        group.bench_with_input(BenchmarkId::new("serialise_once_enqueue_dequeue", members), &members, |b, _| {
            let mut seq = 0;
            b.iter(|| {
                seq += 1;
                let shared = frame(room_message(seq).to_json());
                for outbox in &outboxes {
                    black_box(outbox.send(&shared));
                }
                for queue in &mut queues {
                    black_box(queue.try_recv());
                }
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
