//! Per-connection outboxes: bounded queues of already-serialised frames.
//!
//! A frame is serialised once and shared (reference-counted bytes) by every recipient. When a
//! connection's queue is full the connection is cut with 4000 ("too slow"): the client reconnects
//! and resumes, and nobody else waits for it.
//!
//! The queue is a `VecDeque` behind a mutex rather than a channel: most connections are idle,
//! and a channel allocates its first block of slots (about 1 KiB) up front, while an empty
//! `VecDeque` holds nothing, and is given back after a burst.
//!
//! Writing straight to the socket: once the connection shares its socket (`share_socket`, after
//! `welcome`), a sender that finds the queue empty and the connection task not writing writes its
//! frames itself, without waiting, under the queue's lock. That saves the connection task a
//! wake-up, a poll and a second pass over the frames for most deliveries, which is most of
//! Papote's own cost per delivery. Whatever the socket does not take at once (a full socket
//! buffer) is queued, with how much of the first frame already went out, and the connection task
//! writes it, the rest of that frame first. The lock decides who writes, so frames never
//! interleave and each sender's frames keep their order.

use std::collections::VecDeque;
use std::future::{Future, poll_fn};
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;
use tokio::net::TcpStream;

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
/// At most this many frames are written straight from a sender in one go; more are queued.
const DIRECT_MAX: usize = 16;
static NO_FRAME: Frame = Frame::from_static("");

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
    /// Bytes of the first queued frame already written (a direct write the socket took in part).
    first_written: usize,
    /// The connection task still takes frames.
    receiving: bool,
    /// Who may write to the socket besides the connection task; see the module's notes.
    writer: Writer,
    /// The socket, while senders may write to it directly: from `welcome` until the connection
    /// closes. Never set for a connection relayed from another node.
    socket: Option<Arc<TcpStream>>,
}

/// Whether the connection task owns the socket's write side right now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Writer {
    /// Nobody is writing: a sender may write directly if nothing is queued.
    Free,
    /// The connection task is writing frames it took from the queue.
    Batch,
    /// The connection task is writing WebSocket control bytes (a pong) the socket took in part.
    Control,
}

impl Queue {
    fn writes_directly(&self) -> bool {
        self.socket.is_some() && self.writer == Writer::Free && self.frames.is_empty()
    }
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

    /// Lets senders write straight to `socket` from now on (see the module's notes).
    pub fn share_socket(&self, socket: Arc<TcpStream>) {
        let mut queue = self.queue();
        if queue.receiving {
            queue.socket = Some(socket);
        }
    }

    /// The connection task's own writes (its batches, and tungstenite's control frames), taking
    /// turns with the senders: a control frame waits while frames are queued, since the first of
    /// them may be partly written already; the connection task writes them, then the control
    /// frame. Written under the lock, without waiting, so a sender never writes in between.
    pub fn poll_task_write(
        &self,
        cx: &mut Context<'_>,
        tcp: &TcpStream,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        loop {
            {
                let mut queue = self.queue();
                if queue.writer == Writer::Free {
                    if queue.socket.is_some() && !queue.frames.is_empty() {
                        // The connection task has been woken for them: it writes them next, and
                        // flushes this after them.
                        return Poll::Pending;
                    }
                    queue.writer = Writer::Control;
                }
                match tcp.try_write_vectored(bufs) {
                    Ok(written) => {
                        // tungstenite hands over everything it holds each time: all written means
                        // no control frame is left half-way.
                        if queue.writer == Writer::Control && written == bufs.iter().map(|b| b.len()).sum::<usize>() {
                            queue.writer = Writer::Free;
                        }
                        return Poll::Ready(Ok(written));
                    }
                    Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                    Err(error) => return Poll::Ready(Err(error)),
                }
            }
            std::task::ready!(tcp.poll_write_ready(cx))?;
        }
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
            queue: Mutex::new(Queue {
                frames: VecDeque::new(),
                first_written: 0,
                receiving: true,
                writer: Writer::Free,
                socket: None,
            }),
            capacity: capacity.max(1),
            senders: AtomicUsize::new(1),
        });
        (Outbox { conn: Arc::clone(&conn) }, OutboxReceiver { conn, first_written: 0 })
    }

    /// Queues a frame without waiting. A full queue cuts the connection; returns whether the
    /// frame was queued.
    pub fn send(&self, frame: &Frame) -> bool {
        self.send_all(std::iter::once(frame)) == 1
    }

    /// Sends frames in order, under one lock: straight to the socket when it takes them at once
    /// (see the module's notes), otherwise queued with one wake-up, so that the connection writes
    /// them together. A full queue cuts the connection; returns how many were sent or queued.
    pub fn send_all<'a>(&self, frames: impl IntoIterator<Item = &'a Frame>) -> usize {
        self.send_all_with(frames, true)
    }

    /// `send_all`, but with `direct_allowed` false the frames are only queued, never written
    /// here: for a sender with so many deliveries that its own writes would hold it up (see
    /// `hub::room`); the connection tasks then write them, several frames at once when they pile
    /// up, on whichever core is free.
    pub fn send_all_with<'a>(&self, frames: impl IntoIterator<Item = &'a Frame>, direct_allowed: bool) -> usize {
        let mut frames = frames.into_iter().peekable();
        let mut queued = 0;
        let mut sent = 0;
        let mut full = false;
        {
            let mut queue = self.conn.queue();
            if !queue.receiving {
                return 0;
            }
            let mut direct = [&NO_FRAME; DIRECT_MAX];
            let mut taken = 0;
            if direct_allowed && queue.writes_directly() {
                for frame in frames.by_ref().take(DIRECT_MAX) {
                    direct[taken] = frame;
                    taken += 1;
                }
            }
            // Only when every frame fits in one direct write; a longer burst is queued whole.
            if let Some(tcp) = queue.socket.as_deref()
                && taken > 0
                && frames.peek().is_none()
            {
                let mut left = crate::ws::socket::try_write_now(tcp, &direct[..taken]);
                for frame in &direct[..taken] {
                    let length = crate::ws::socket::wire_len(frame);
                    if left < length {
                        break;
                    }
                    left -= length;
                    sent += 1;
                }
                // The queue was empty: what is queued now starts with the frame written in part.
                queue.first_written = left;
            }
            for frame in direct[sent..taken].iter().copied().chain(frames) {
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
        sent + queued
    }

    pub fn id(&self) -> u64 {
        self.conn.id
    }
}

/// The connection task's side of its queue.
#[derive(Debug)]
pub struct OutboxReceiver {
    conn: Arc<ConnState>,
    /// Bytes of the first frame last taken that a sender already wrote.
    first_written: usize,
}

impl OutboxReceiver {
    pub fn is_empty(&self) -> bool {
        self.conn.queue().frames.is_empty()
    }

    /// How much of the first frame last taken (`recv_many`, `take_all`) is already on the wire:
    /// the connection writes the rest of it before anything else.
    pub fn first_written(&self) -> usize {
        self.first_written
    }

    /// The frames taken last are written: senders may write directly again.
    pub fn written(&self) {
        let mut queue = self.conn.queue();
        if queue.writer == Writer::Batch {
            queue.writer = Writer::Free;
        }
    }

    /// Takes every queued frame, to be written now by the connection task.
    pub fn take_all(&mut self, buffer: &mut Vec<Frame>) -> usize {
        let mut queue = self.conn.queue();
        self.first_written = std::mem::take(&mut queue.first_written);
        if !queue.frames.is_empty() {
            queue.writer = Writer::Batch;
        }
        let taken = queue.frames.len();
        buffer.extend(queue.frames.drain(..));
        taken
    }

    /// No more frames: senders stop writing to the socket and queueing, so that the connection
    /// task can close it (a close frame must be the last thing written).
    pub fn close(&mut self) {
        let mut queue = self.conn.queue();
        queue.receiving = false;
        queue.socket = None;
        queue.frames = VecDeque::new();
        queue.first_written = 0;
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
            self.first_written = std::mem::take(&mut queue.first_written);
            queue.writer = Writer::Batch;
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
        self.close();
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
