//! Per-connection outboxes: bounded queues of already-serialised frames.
//!
//! A frame is serialised once and shared (reference-counted bytes) by every recipient. When a
//! connection's queue is full the connection is cut with 4000 ("too slow"): the client reconnects
//! and resumes, and nobody else waits for it.
//!
//! The queue is a `VecDeque` behind a mutex rather than a channel: most connections are idle,
//! and a channel allocates its first block of slots (about 1 KiB) up front, while an empty
//! `VecDeque` holds nothing, and is given back after a burst.

use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::pin::Pin;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;

use crate::protocol::MemberId;

/// One serialised server message: reference-counted UTF-8 bytes, the WebSocket library's text
/// payload type, so that a frame built once is handed to every socket without a copy or a second
/// UTF-8 check (the one place the domain names a transport type, on purpose).
pub type Frame = tungstenite::Utf8Bytes;

pub fn frame(json: String) -> Frame {
    Frame::from(json)
}

/// Close codes a connection can be cut with.
pub mod close {
    pub const GOING_AWAY: u16 = 1001;
    pub const POLICY: u16 = 1008;
    pub const TOO_SLOW: u16 = 4000;
    pub const SESSION_ENDED: u16 = 4001;
}

/// A queue that has held more frames than this is given back once empty.
const QUEUE_KEEP: usize = 16;

/// Shared between a connection's task and everyone holding its outbox.
#[derive(Debug)]
pub struct ConnState {
    pub id: u64,
    pub member: MemberId,
    close_code: AtomicU16,
    /// The connection task, waiting for frames or a cut. An atomic waker, not a cancellation
    /// token: idle connections check it on every wake-up, and a token would take a lock each time.
    waker: AtomicWaker,
    queue: Mutex<Queue>,
    capacity: usize,
    /// Outboxes alive: when the last goes, the connection has nothing more to hear.
    senders: AtomicUsize,
}

#[derive(Debug)]
struct Queue {
    frames: VecDeque<Frame>,
    /// The connection task still takes frames.
    receiving: bool,
}

impl ConnState {
    /// Asks the connection to close with `code`; the first reason given wins.
    pub fn cut(&self, code: u16) {
        let _ = self.close_code.compare_exchange(0, code, Ordering::AcqRel, Ordering::Acquire);
        self.waker.wake();
    }

    pub fn close_code(&self) -> u16 {
        self.close_code.load(Ordering::Acquire)
    }

    fn queue(&self) -> MutexGuard<'_, Queue> {
        // Nothing panics while the lock is held; a poisoned queue is still a valid queue.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Resolves (with the close code) when the connection must close: too slow, a sanction, its
    /// session ended, the server stopping.
    pub fn cut_requested(self: &Arc<Self>) -> CutRequested {
        CutRequested(Arc::clone(self))
    }
}

pub struct CutRequested(Arc<ConnState>);

impl Future for CutRequested {
    type Output = u16;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u16> {
        // Register first, then look: a cut between the two still wakes us.
        self.0.waker.register(cx.waker());
        match self.0.close_code() {
            0 => Poll::Pending,
            code => Poll::Ready(code),
        }
    }
}

/// The sending side of a connection's queue; clones share it.
#[derive(Debug)]
pub struct Outbox {
    pub conn: Arc<ConnState>,
}

impl Clone for Outbox {
    fn clone(&self) -> Outbox {
        self.conn.senders.fetch_add(1, Ordering::Relaxed);
        Outbox { conn: Arc::clone(&self.conn) }
    }
}

impl Drop for Outbox {
    fn drop(&mut self) {
        if self.conn.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.conn.waker.wake();
        }
    }
}

impl Outbox {
    pub fn new(id: u64, member: MemberId, capacity: usize) -> (Outbox, OutboxReceiver) {
        let conn = Arc::new(ConnState {
            id,
            member,
            close_code: AtomicU16::new(0),
            waker: AtomicWaker::new(),
            queue: Mutex::new(Queue { frames: VecDeque::new(), receiving: true }),
            capacity: capacity.max(1),
            senders: AtomicUsize::new(1),
        });
        (Outbox { conn: Arc::clone(&conn) }, OutboxReceiver { conn })
    }

    /// Queues a frame without waiting. A full queue cuts the connection; returns whether the
    /// frame was queued.
    pub fn send(&self, frame: &Frame) -> bool {
        self.send_all(std::iter::once(frame)) == 1
    }

    /// Queues frames in order, under one lock and with one wake-up, so that the connection
    /// writes them together. A full queue cuts the connection; returns how many were queued.
    pub fn send_all<'a>(&self, frames: impl IntoIterator<Item = &'a Frame>) -> usize {
        let mut queued = 0;
        let mut full = false;
        {
            let mut queue = self.conn.queue();
            if !queue.receiving {
                return 0;
            }
            for frame in frames {
                if queue.frames.len() >= self.conn.capacity {
                    full = true;
                    break;
                }
                queue.frames.push_back(frame.clone());
                queued += 1;
            }
        }
        if queued > 0 {
            self.conn.waker.wake();
        }
        if full {
            if self.conn.close_code() == 0 {
                crate::telemetry::hot().slow_consumers.increment(1);
            }
            self.conn.cut(close::TOO_SLOW);
        }
        queued
    }

    pub fn id(&self) -> u64 {
        self.conn.id
    }
}

/// The connection task's side of its queue.
#[derive(Debug)]
pub struct OutboxReceiver {
    conn: Arc<ConnState>,
}

impl OutboxReceiver {
    pub fn is_empty(&self) -> bool {
        self.conn.queue().frames.is_empty()
    }

    pub fn try_recv(&mut self) -> Option<Frame> {
        self.conn.queue().frames.pop_front()
    }

    /// Waits for frames and moves up to `limit` of them into `buffer`; 0 means every outbox is
    /// gone and none will come.
    pub fn recv_many<'a>(&'a mut self, buffer: &'a mut Vec<Frame>, limit: usize) -> impl Future<Output = usize> + 'a {
        poll_fn(move |cx| self.poll_recv_many(cx, buffer, limit))
    }

    fn poll_recv_many(&mut self, cx: &mut Context<'_>, buffer: &mut Vec<Frame>, limit: usize) -> Poll<usize> {
        // Register first, then look: a frame queued between the two still wakes us.
        self.conn.waker.register(cx.waker());
        let mut queue = self.conn.queue();
        if !queue.frames.is_empty() {
            let taken = queue.frames.len().min(limit.max(1));
            buffer.extend(queue.frames.drain(..taken));
            if queue.frames.is_empty() && queue.frames.capacity() > QUEUE_KEEP {
                queue.frames = VecDeque::new();
            }
            return Poll::Ready(taken);
        }
        drop(queue);
        if self.conn.senders.load(Ordering::Acquire) == 0 {
            return Poll::Ready(0);
        }
        Poll::Pending
    }
}

impl Drop for OutboxReceiver {
    fn drop(&mut self) {
        let mut queue = self.conn.queue();
        queue.receiving = false;
        queue.frames = VecDeque::new();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_full_outbox_cuts_its_connection_as_too_slow() {
        let (outbox, mut rx) = Outbox::new(1, MemberId(1), 2);
        let f = frame("{}".to_owned());
        assert!(outbox.send(&f));
        assert!(outbox.send(&f));
        assert!(!outbox.send(&f));
        assert_eq!(outbox.conn.close_code(), close::TOO_SLOW);
        outbox.conn.cut_requested().await;
        // A later reason does not overwrite the first.
        outbox.conn.cut(close::POLICY);
        assert_eq!(outbox.conn.close_code(), close::TOO_SLOW);
        assert_eq!(rx.try_recv().as_deref(), Some("{}"));
    }

    #[tokio::test]
    async fn frames_sent_together_are_queued_in_order_up_to_the_limit() {
        let (outbox, mut rx) = Outbox::new(1, MemberId(1), 3);
        let frames: Vec<Frame> = (0..2).map(|i| frame(i.to_string())).collect();
        assert_eq!(outbox.send_all(&frames), 2);
        assert_eq!(outbox.conn.close_code(), 0);
        // One more fits, the fourth does not: the connection is cut, what fitted stays queued.
        let more: Vec<Frame> = (2..4).map(|i| frame(i.to_string())).collect();
        assert_eq!(outbox.send_all(&more), 1);
        assert_eq!(outbox.conn.close_code(), close::TOO_SLOW);
        let mut batch = Vec::new();
        assert_eq!(rx.recv_many(&mut batch, 8).await, 3);
        assert_eq!(batch.iter().map(|f| f.as_str()).collect::<Vec<_>>(), ["0", "1", "2"]);
    }

    #[tokio::test]
    async fn frames_come_out_in_order_and_in_batches() {
        let (outbox, mut rx) = Outbox::new(1, MemberId(1), 100);
        let waiting = tokio::spawn(async move {
            let mut batch = Vec::new();
            let mut got = Vec::new();
            while got.len() < 10 {
                let n = rx.recv_many(&mut batch, 4).await;
                assert!((1..=4).contains(&n), "{n}");
                got.extend(batch.drain(..).map(|f| f.to_string()));
            }
            (got, rx)
        });
        tokio::task::yield_now().await;
        for i in 0..10 {
            assert!(outbox.send(&frame(i.to_string())));
        }
        let (got, rx) = waiting.await.expect("the receiver ends");
        assert_eq!(got, (0..10).map(|i| i.to_string()).collect::<Vec<_>>());
        assert!(rx.is_empty());
        // The connection task ended: later frames are not queued, and nothing is kept.
        drop(rx);
        assert!(!outbox.send(&frame("late".to_owned())));
        assert_eq!(outbox.conn.close_code(), 0, "a closed connection is not 'too slow'");
    }

    #[tokio::test]
    async fn the_receiver_hears_when_every_outbox_is_gone() {
        let (outbox, mut rx) = Outbox::new(1, MemberId(1), 8);
        let copy = outbox.clone();
        assert!(copy.send(&frame("a".to_owned())));
        drop(outbox);
        let mut batch = Vec::new();
        assert_eq!(rx.recv_many(&mut batch, 8).await, 1, "queued frames still come out");
        let waiting = tokio::spawn(async move { rx.recv_many(&mut Vec::new(), 8).await });
        tokio::task::yield_now().await;
        drop(copy);
        assert_eq!(waiting.await.expect("the receiver ends"), 0);
    }

    #[tokio::test]
    async fn a_burst_does_not_keep_its_memory() {
        let (outbox, mut rx) = Outbox::new(1, MemberId(1), 1024);
        for i in 0..500 {
            assert!(outbox.send(&frame(i.to_string())));
        }
        let mut batch = Vec::new();
        while !rx.is_empty() {
            rx.recv_many(&mut batch, 64).await;
            batch.clear();
        }
        assert_eq!(outbox.conn.queue().frames.capacity(), 0);
    }
}
