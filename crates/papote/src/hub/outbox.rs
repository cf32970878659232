//! Per-connection outboxes: bounded queues of already-serialised frames.
//!
//! A frame is serialised once and shared (reference-counted bytes) by every recipient. When a
//! connection's queue is full the connection is cut with 4000 ("too slow"): the client reconnects
//! and resumes, and nobody else waits for it.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, Ordering};
use std::task::{Context, Poll};

use futures_util::task::AtomicWaker;
use tokio::sync::mpsc;

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

/// Shared between a connection's task and everyone holding its outbox.
#[derive(Debug)]
pub struct ConnState {
    pub id: u64,
    pub member: MemberId,
    close_code: AtomicU16,
    /// The connection task, waiting to hear of a cut. An atomic waker, not a cancellation token:
    /// idle connections check it on every wake-up, and a token would take a lock each time.
    waker: AtomicWaker,
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

#[derive(Clone, Debug)]
pub struct Outbox {
    tx: mpsc::Sender<Frame>,
    pub conn: Arc<ConnState>,
}

impl Outbox {
    pub fn new(id: u64, member: MemberId, capacity: usize) -> (Outbox, mpsc::Receiver<Frame>) {
        let (tx, rx) = mpsc::channel(capacity.max(1));
        let conn = Arc::new(ConnState { id, member, close_code: AtomicU16::new(0), waker: AtomicWaker::new() });
        (Outbox { tx, conn }, rx)
    }

    /// Queues a frame without waiting. A full queue cuts the connection; returns whether the
    /// frame was queued.
    pub fn send(&self, frame: &Frame) -> bool {
        match self.tx.try_send(frame.clone()) {
            Ok(()) => true,
            Err(mpsc::error::TrySendError::Full(_)) => {
                if self.conn.close_code() == 0 {
                    crate::telemetry::hot().slow_consumers.increment(1);
                }
                self.conn.cut(close::TOO_SLOW);
                false
            }
            Err(mpsc::error::TrySendError::Closed(_)) => false,
        }
    }

    pub fn id(&self) -> u64 {
        self.conn.id
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
        assert_eq!(rx.recv().await.as_deref(), Some("{}"));
    }
}
