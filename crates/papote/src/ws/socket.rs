//! The WebSocket upgrade, and writing text frames straight to the socket.
//!
//! tungstenite reads client frames and handles control frames (ping, pong, close). Data frames
//! to the client do not go through its write buffer: that buffer is a `Vec` that keeps the
//! capacity of the largest batch ever written (`welcome`, `joined`: a few KiB) for the life of
//! the connection, which at tens of thousands of idle connections is most of their memory. Here a
//! batch of frames goes out in one vectored write: a frame header made on the stack, then the
//! payload bytes shared by every recipient, never copied.

use std::future::{Future, poll_fn};
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures_util::SinkExt;
use hyper::upgrade::{OnUpgrade, Upgraded};
use hyper_util::rt::TokioIo;
use tokio::io::AsyncWrite;
use tokio_tungstenite::WebSocketStream;
use tungstenite::protocol::frame::FrameHeader;
use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::protocol::{Role, WebSocketConfig};

use crate::hub::outbox::Frame;
use crate::protocol::FRAME_MAX_BYTES;

/// A client's WebSocket after the upgrade.
pub type Socket = WebSocketStream<TokioIo<Upgraded>>;

/// Frames written in one vectored write at most (two slices each: header and payload).
pub const WRITE_BATCH: usize = 64;
/// A server frame's header: no mask, so at most 2 + 8 bytes.
const HEADER_MAX: usize = 10;

/// What tungstenite is allowed to hold for one connection.
fn config() -> WebSocketConfig {
    WebSocketConfig::default()
        .max_message_size(Some(FRAME_MAX_BYTES))
        .max_frame_size(Some(FRAME_MAX_BYTES))
        // Client frames are small (a chat line is a few hundred bytes at most); the buffer grows
        // for a bigger one and lives as long as the socket.
        .read_buffer_size(256)
        // Only control frames go through tungstenite's writer: out at once, and never much.
        .write_buffer_size(0)
        .max_write_buffer_size(64 * 1024)
}

/// The request to upgrade `GET /ws` to a WebSocket (RFC 6455 section 4.2.1), checked.
pub struct Upgrade {
    key: HeaderValue,
    on_upgrade: OnUpgrade,
}

/// Why a request is not a WebSocket handshake (French, then English: only a client that is not
/// a browser page ever sees it).
#[derive(Debug, PartialEq, Eq)]
pub struct NotAnUpgrade(&'static str);

impl IntoResponse for NotAnUpgrade {
    fn into_response(self) -> Response {
        (StatusCode::UPGRADE_REQUIRED, [(header::UPGRADE, "websocket")], self.0).into_response()
    }
}

fn has_token(headers: &HeaderMap, name: HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|value| {
        value.as_bytes().split(|&b| b == b',').any(|part| part.trim_ascii().eq_ignore_ascii_case(token.as_bytes()))
    })
}

impl Upgrade {
    fn from_parts(parts: &mut Parts) -> Result<Upgrade, NotAnUpgrade> {
        if parts.method != Method::GET {
            return Err(NotAnUpgrade("WebSocket : GET uniquement / GET only"));
        }
        if !has_token(&parts.headers, header::CONNECTION, "upgrade")
            || !has_token(&parts.headers, header::UPGRADE, "websocket")
        {
            return Err(NotAnUpgrade(
                "WebSocket : en-têtes Connection: upgrade et Upgrade: websocket attendus / Connection: upgrade and \
                 Upgrade: websocket expected",
            ));
        }
        if parts.headers.get(header::SEC_WEBSOCKET_VERSION).is_none_or(|v| v.as_bytes() != b"13") {
            return Err(NotAnUpgrade("WebSocket : Sec-WebSocket-Version 13 attendue / expected"));
        }
        let Some(key) = parts.headers.get(header::SEC_WEBSOCKET_KEY).filter(|k| !k.is_empty()).cloned() else {
            return Err(NotAnUpgrade("WebSocket : Sec-WebSocket-Key manquante / missing"));
        };
        let Some(on_upgrade) = parts.extensions.remove::<OnUpgrade>() else {
            return Err(NotAnUpgrade(
                "WebSocket : cette connexion ne peut pas changer de protocole / this connection cannot be upgraded",
            ));
        };
        Ok(Upgrade { key, on_upgrade })
    }

    /// Answers 101 and runs `serve` on the socket once the client has it too.
    pub fn on_upgrade<F, Fut>(self, serve: F) -> Response
    where
        F: FnOnce(Box<Socket>) -> Fut + Send + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        let accept = tungstenite::handshake::derive_accept_key(self.key.as_bytes());
        let on_upgrade = self.on_upgrade;
        let task = async move {
            match on_upgrade.await {
                Ok(upgraded) => {
                    let socket =
                        WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config())).await;
                    serve(Box::new(socket)).await;
                }
                Err(error) => tracing::debug!(%error, "WebSocket upgrade failed"),
            }
        };
        tokio::spawn(task);
        let accept = HeaderValue::from_str(&accept).unwrap_or_else(|_| HeaderValue::from_static(""));
        (
            StatusCode::SWITCHING_PROTOCOLS,
            [
                (header::CONNECTION, HeaderValue::from_static("upgrade")),
                (header::UPGRADE, HeaderValue::from_static("websocket")),
                (header::SEC_WEBSOCKET_ACCEPT, accept),
            ],
        )
            .into_response()
    }
}

impl<S: Send + Sync> FromRequestParts<S> for Upgrade {
    type Rejection = NotAnUpgrade;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Upgrade::from_parts(parts)
    }
}

/// Writes `frames` as text frames, in order, each whole: the header, then the shared payload.
/// Control frames tungstenite has queued (a pong, say) go out first, whole, so frames never
/// interleave; while this runs, the socket is not read, so tungstenite queues nothing new.
pub async fn write_frames(socket: &mut Socket, frames: &[Frame]) -> Result<(), tungstenite::Error> {
    socket.flush().await?;
    let io = socket.get_mut();
    let mut progress = Progress::default();
    poll_fn(|cx| progress.poll_write(Pin::new(&mut *io), cx, frames)).await?;
    Ok(())
}

fn header(payload_len: usize, out: &mut [u8; HEADER_MAX]) -> usize {
    let header = FrameHeader { opcode: OpCode::Data(Data::Text), ..FrameHeader::default() };
    let mut cursor: &mut [u8] = &mut out[..];
    // Ten bytes always hold an unmasked header, whatever the length.
    let _ = header.format(payload_len as u64, &mut cursor);
    HEADER_MAX - cursor.len()
}

/// How far a batch has been written: whole frames, then bytes of the next (its header first).
#[derive(Default)]
struct Progress {
    frames: usize,
    bytes: usize,
}

impl Progress {
    fn poll_write<W: AsyncWrite + Unpin>(
        &mut self,
        mut io: Pin<&mut W>,
        cx: &mut Context<'_>,
        frames: &[Frame],
    ) -> Poll<io::Result<()>> {
        while self.frames < frames.len() {
            let pending = &frames[self.frames..frames.len().min(self.frames + WRITE_BATCH)];
            let mut headers = [[0u8; HEADER_MAX]; WRITE_BATCH];
            let mut header_lens = [0usize; WRITE_BATCH];
            for (i, frame) in pending.iter().enumerate() {
                header_lens[i] = header(frame.len(), &mut headers[i]);
            }
            let mut slices = [IoSlice::new(&[]); 2 * WRITE_BATCH];
            let mut count = 0;
            for (i, frame) in pending.iter().enumerate() {
                let (head, body) = (&headers[i][..header_lens[i]], frame.as_bytes());
                // Only the first frame can be partly written already.
                let skip = if i == 0 { self.bytes } else { 0 };
                if skip < head.len() {
                    slices[count] = IoSlice::new(&head[skip..]);
                    slices[count + 1] = IoSlice::new(body);
                    count += 2;
                } else {
                    slices[count] = IoSlice::new(&body[skip - head.len()..]);
                    count += 1;
                }
            }
            let mut written = ready!(io.as_mut().poll_write_vectored(cx, &slices[..count]))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            for (i, frame) in pending.iter().enumerate() {
                let left = header_lens[i] + frame.len() - if i == 0 { self.bytes } else { 0 };
                if written < left {
                    self.bytes = if i == 0 { self.bytes + written } else { written };
                    break;
                }
                written -= left;
                self.frames += 1;
                self.bytes = 0;
                if written == 0 {
                    break;
                }
            }
        }
        io.poll_flush(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that takes at most `chunk` bytes per call and says "not now" every other call.
    struct Trickle {
        out: Vec<u8>,
        chunk: usize,
        stall: bool,
    }

    impl AsyncWrite for Trickle {
        fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
            self.poll_write_vectored(cx, &[IoSlice::new(buf)])
        }
        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            cx: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            self.stall = !self.stall;
            if self.stall {
                cx.waker().wake_by_ref();
                return Poll::Pending;
            }
            let mut taken = 0;
            for buf in bufs {
                let n = buf.len().min(self.chunk - taken);
                self.out.extend_from_slice(&buf[..n]);
                taken += n;
                if taken == self.chunk {
                    break;
                }
            }
            Poll::Ready(Ok(taken))
        }
        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    fn frames_as_tungstenite_writes_them(frames: &[Frame]) -> Vec<u8> {
        let mut out = Vec::new();
        for frame in frames {
            tungstenite::protocol::frame::Frame::message(frame.as_bytes().to_vec(), OpCode::Data(Data::Text), true)
                .format(&mut out)
                .expect("a frame formats into a Vec");
        }
        out
    }

    #[tokio::test]
    async fn frames_written_in_pieces_come_out_whole_and_in_order() {
        // Sizes across the three header forms (7-bit, 16-bit, 64-bit lengths) and more frames
        // than one vectored write takes.
        let mut frames: Vec<Frame> = (0..150).map(|i| Frame::from("x".repeat(i * 7 % 300 + 1))).collect();
        frames.push(Frame::from("y".repeat(70_000)));
        frames.push(Frame::from("{\"type\":\"pong\"}"));
        for chunk in [1, 3, 125, 4096, 1 << 20] {
            let mut writer = Trickle { out: Vec::new(), chunk, stall: false };
            let mut progress = Progress::default();
            poll_fn(|cx| progress.poll_write(Pin::new(&mut writer), cx, &frames)).await.expect("written");
            assert_eq!(writer.out, frames_as_tungstenite_writes_them(&frames), "chunk {chunk}");
        }
    }

    /// Why a request with these headers (the proper handshake's, less or more) is refused.
    fn refusal(method: Method, changes: &[(HeaderName, Option<&str>)]) -> &'static str {
        let mut headers = vec![
            (header::CONNECTION, "keep-alive, Upgrade"),
            (header::UPGRADE, "WebSocket"),
            (header::SEC_WEBSOCKET_VERSION, "13"),
            (header::SEC_WEBSOCKET_KEY, "dGhlIHNhbXBsZSBub25jZQ=="),
        ];
        for (name, value) in changes {
            headers.retain(|(n, _)| n != name);
            if let Some(value) = value {
                headers.push((name.clone(), value));
            }
        }
        let mut request = axum::http::Request::builder().method(method).uri("/ws");
        for (name, value) in headers {
            request = request.header(name, value);
        }
        let mut parts = request.body(()).expect("a request").into_parts().0;
        match Upgrade::from_parts(&mut parts) {
            Ok(_) => "accepted",
            Err(NotAnUpgrade(why)) => why,
        }
    }

    #[test]
    fn only_a_proper_handshake_is_an_upgrade() {
        // Everything right but no connection behind it (a bare request): the last check.
        assert!(refusal(Method::GET, &[]).contains("cannot be upgraded"));
        assert!(refusal(Method::POST, &[]).contains("GET only"));
        assert!(refusal(Method::GET, &[(header::CONNECTION, Some("keep-alive"))]).contains("Connection: upgrade"));
        assert!(refusal(Method::GET, &[(header::UPGRADE, None)]).contains("Upgrade: websocket"));
        assert!(refusal(Method::GET, &[(header::SEC_WEBSOCKET_VERSION, None)]).contains("Version 13"));
        assert!(refusal(Method::GET, &[(header::SEC_WEBSOCKET_VERSION, Some("8"))]).contains("Version 13"));
        assert!(refusal(Method::GET, &[(header::SEC_WEBSOCKET_KEY, None)]).contains("Key"));
        assert!(refusal(Method::GET, &[(header::SEC_WEBSOCKET_KEY, Some(""))]).contains("Key"));
    }
}
