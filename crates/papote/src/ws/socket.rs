//! The WebSocket upgrade, and writing text frames straight to the socket.
//!
//! tungstenite reads client frames and handles control frames (ping, pong, close). Data frames
//! to the client do not go through its write buffer: that buffer is a `Vec` that keeps the
//! capacity of the largest batch ever written (`welcome`, `joined`: a few KiB) for the life of
//! the connection, which at tens of thousands of idle connections is most of their memory. Here a
//! batch of frames goes out in one vectored write: a frame header made on the stack, then the
//! payload bytes shared by every recipient, never copied.
//!
//! The TCP stream is shared (`ClientStream`): besides the connection task, a sender may write
//! frames straight to it while nothing is queued for it; `hub::outbox` decides who writes when.

use std::borrow::Borrow;
use std::future::{Future, poll_fn};
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::{Buf, Bytes};
use futures_util::SinkExt;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tungstenite::protocol::frame::FrameHeader;
use tungstenite::protocol::frame::coding::{Data, OpCode};
use tungstenite::protocol::{Role, WebSocketConfig};

use crate::hub::outbox::{ConnState, Frame};
use crate::protocol::FRAME_MAX_BYTES;

/// A client's WebSocket after the upgrade.
pub type Socket = WebSocketStream<ClientStream>;

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
            let upgraded = match on_upgrade.await {
                Ok(upgraded) => upgraded,
                Err(error) => return tracing::debug!(%error, "WebSocket upgrade failed"),
            };
            // The TCP stream itself, so that it can be shared (see `ClientStream`); the server
            // only ever accepts TCP.
            let Ok(parts) = hyper_util::server::conn::auto::upgrade::downcast::<TokioIo<TcpStream>>(upgraded) else {
                return tracing::error!("WebSocket upgrade: not a TCP stream");
            };
            // Copied, and the original dropped now: those bytes share the HTTP connection's whole
            // read buffer (8 KiB), which would otherwise live as long as the connection.
            let early = Bytes::copy_from_slice(&parts.read_buf);
            drop(parts.read_buf);
            let stream = ClientStream { tcp: Arc::new(parts.io.into_inner()), early, conn: None };
            let socket = WebSocketStream::from_raw_socket(stream, Role::Server, Some(config())).await;
            serve(Box::new(socket)).await;
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

/// A client's TCP stream, shared between its connection task (which reads it through tungstenite,
/// and writes) and the senders that write frames straight to it while nothing is queued
/// (`hub::outbox`). Once shared with the connection's outbox (`share_with`), every write the
/// connection task makes takes turns with theirs there.
pub struct ClientStream {
    tcp: Arc<TcpStream>,
    /// Bytes the HTTP server read past the upgrade request, read before the socket.
    early: Bytes,
    conn: Option<Arc<ConnState>>,
}

impl ClientStream {
    /// From now on, senders to `conn` may write straight to this stream.
    pub fn share_with(&mut self, conn: &Arc<ConnState>) {
        conn.share_socket(Arc::clone(&self.tcp));
        self.conn = Some(Arc::clone(conn));
    }

    #[cfg(test)]
    pub fn new(tcp: TcpStream) -> ClientStream {
        ClientStream { tcp: Arc::new(tcp), early: Bytes::new(), conn: None }
    }
}

impl AsyncRead for ClientStream {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.early.has_remaining() {
            let n = this.early.remaining().min(buf.remaining());
            buf.put_slice(&this.early[..n]);
            this.early.advance(n);
            if !this.early.has_remaining() {
                this.early = Bytes::new();
            }
            return Poll::Ready(Ok(()));
        }
        loop {
            ready!(this.tcp.poll_read_ready(cx))?;
            match this.tcp.try_read(buf.initialize_unfilled()) {
                Ok(n) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                // Readiness was cleared: wait for the next.
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                Err(error) => return Poll::Ready(Err(error)),
            }
        }
    }
}

impl AsyncWrite for ClientStream {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(buf)])
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if let Some(conn) = &this.conn {
            return conn.poll_task_write(cx, &this.tcp, bufs);
        }
        loop {
            ready!(this.tcp.poll_write_ready(cx))?;
            match this.tcp.try_write_vectored(bufs) {
                Err(error) if error.kind() == io::ErrorKind::WouldBlock => {}
                written => return Poll::Ready(written),
            }
        }
    }

    fn is_write_vectored(&self) -> bool {
        true
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(socket2::SockRef::from(&*self.tcp).shutdown(std::net::Shutdown::Write))
    }
}

/// Writes `frames` as text frames, in order, each whole: the header, then the shared payload.
/// The first `first_written` bytes of the first frame are already written (by a sender, see
/// `hub::outbox`): its rest goes out first. Then control frames tungstenite has queued (a pong,
/// say), whole, so frames never interleave; while this runs, the socket is not read, so
/// tungstenite queues nothing new.
pub async fn write_frames(
    socket: &mut Socket,
    frames: &[Frame],
    first_written: usize,
) -> Result<(), tungstenite::Error> {
    let mut progress = Progress { frames: 0, bytes: first_written };
    if first_written > 0
        && let Some(first) = frames.get(..1)
    {
        let io = socket.get_mut();
        poll_fn(|cx| progress.poll_write(Pin::new(&mut *io), cx, first)).await?;
    }
    socket.flush().await?;
    let io = socket.get_mut();
    poll_fn(|cx| progress.poll_write(Pin::new(&mut *io), cx, frames)).await?;
    Ok(())
}

/// How many bytes `frame` takes on the wire, its header included: an unmasked header is 2 bytes,
/// plus 2 or 8 for the longer length forms (RFC 6455 section 5.2). Counted, not formatted: this
/// runs for every frame a sender writes directly.
pub fn wire_len(frame: &Frame) -> usize {
    let extended = match frame.len() {
        0..=125 => 0,
        126..=65_535 => 2,
        _ => 8,
    };
    2 + extended + frame.len()
}

/// Writes whole frames (at most `WRITE_BATCH`) in one vectored write if the socket takes them
/// without waiting; returns how many bytes it took (0 if none, or on an error, which the
/// connection task then meets itself).
pub fn try_write_now(tcp: &TcpStream, frames: &[&Frame]) -> usize {
    let frames = &frames[..frames.len().min(WRITE_BATCH)];
    let mut headers = [[0u8; HEADER_MAX]; WRITE_BATCH];
    let mut slices = [IoSlice::new(&[]); 2 * WRITE_BATCH];
    let count = gather(frames, 0, &mut headers, &mut slices);
    tcp.try_write_vectored(&slices[..count]).unwrap_or(0)
}

/// Lays out `frames` (at most `WRITE_BATCH`) as header and payload slices, leaving out the first
/// `skip` bytes of the first frame; returns how many slices it filled.
fn gather<'a, F: Borrow<Frame>>(
    frames: &'a [F],
    skip: usize,
    headers: &'a mut [[u8; HEADER_MAX]; WRITE_BATCH],
    slices: &mut [IoSlice<'a>; 2 * WRITE_BATCH],
) -> usize {
    let mut header_lens = [0usize; WRITE_BATCH];
    for (i, frame) in frames.iter().enumerate() {
        header_lens[i] = header(frame.borrow().len(), &mut headers[i]);
    }
    let headers: &'a [[u8; HEADER_MAX]; WRITE_BATCH] = headers;
    let mut count = 0;
    for (i, frame) in frames.iter().enumerate() {
        let (head, body) = (&headers[i][..header_lens[i]], frame.borrow().as_bytes());
        // Only the first frame can be partly written already.
        let skip = if i == 0 { skip } else { 0 };
        if skip < head.len() {
            slices[count] = IoSlice::new(&head[skip..]);
            slices[count + 1] = IoSlice::new(body);
            count += 2;
        } else {
            slices[count] = IoSlice::new(&body[skip - head.len()..]);
            count += 1;
        }
    }
    count
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
            let mut slices = [IoSlice::new(&[]); 2 * WRITE_BATCH];
            let count = gather(pending, self.bytes, &mut headers, &mut slices);
            let mut written = ready!(io.as_mut().poll_write_vectored(cx, &slices[..count]))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            for (i, frame) in pending.iter().enumerate() {
                let left = wire_len(frame) - if i == 0 { self.bytes } else { 0 };
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

    /// Reads server frames off `client` until `texts` text frames and one pong have come, and
    /// returns them in order, failing on anything that does not parse as a whole frame.
    async fn read_frames(client: &mut TcpStream, texts: usize) -> (Vec<String>, usize) {
        use tokio::io::AsyncReadExt;
        let (mut bytes, mut got, mut pong_at) = (Vec::new(), Vec::new(), None);
        while got.len() < texts || pong_at.is_none() {
            let mut chunk = [0u8; 65536];
            let n = tokio::time::timeout(std::time::Duration::from_secs(10), client.read(&mut chunk))
                .await
                .expect("the server keeps writing")
                .expect("read");
            assert!(n > 0, "the server closed early");
            bytes.extend_from_slice(&chunk[..n]);
            loop {
                let mut cursor = io::Cursor::new(&bytes[..]);
                let Some((head, length)) = FrameHeader::parse(&mut cursor).expect("a frame header") else { break };
                let start = cursor.position() as usize;
                let end = start + length as usize;
                if bytes.len() < end {
                    break;
                }
                assert!(head.is_final && head.mask.is_none());
                match head.opcode {
                    OpCode::Data(Data::Text) => got.push(String::from_utf8(bytes[start..end].to_vec()).expect("UTF-8")),
                    OpCode::Control(tungstenite::protocol::frame::coding::Control::Pong) => {
                        assert_eq!(&bytes[start..end], b"ping");
                        pong_at = Some(got.len());
                    }
                    other => panic!("unexpected frame {other:?}"),
                }
                bytes.drain(..end);
            }
        }
        assert!(bytes.is_empty(), "nothing after the last frame");
        (got, pong_at.unwrap_or_default())
    }

    #[tokio::test]
    async fn frames_written_by_senders_or_by_the_connection_come_out_whole_and_in_order() {
        use crate::hub::outbox::Outbox;
        use crate::protocol::MemberId;
        use futures_util::StreamExt;
        use tokio::io::AsyncWriteExt;

        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let mut client = TcpStream::connect(listener.local_addr().expect("address")).await.expect("connect");
        let (server, _) = listener.accept().await.expect("accept");
        // A small send buffer, so that a big frame does not fit and a direct write is cut short
        // (the client's receive buffer stays as it is: a tiny one makes TCP wait for its
        // zero-window probes, seconds apart).
        socket2::SockRef::from(&server).set_send_buffer_size(4096).expect("SO_SNDBUF");
        let mut stream = ClientStream::new(server);
        let (outbox, mut rx) = Outbox::new(1, MemberId(1), 10_000);
        stream.share_with(&outbox.conn);
        let mut socket = WebSocketStream::from_raw_socket(stream, Role::Server, Some(config())).await;

        // Nothing queued and no connection task running: the sender writes it itself.
        assert!(outbox.send(&Frame::from("first")));
        assert_eq!(read_frames_without_pong(&mut client).await, "first");

        // A frame bigger than the socket's buffers goes out in part, the rest is queued, and so is
        // everything after it, until the connection task has written them.
        let mut expected = vec!["big:".to_owned() + &"x".repeat(4_000_000)];
        expected.extend((0..300).map(|i| format!("{i}:{}", "y".repeat(i * 37 % 2000))));
        for text in &expected {
            assert!(outbox.send(&Frame::from(text.clone())));
        }
        // A ping arrives meanwhile: its pong must not cut into a frame.
        client.write_all(&[0x89, 0x84, 0, 0, 0, 0, b'p', b'i', b'n', b'g']).await.expect("ping");

        let connection = tokio::spawn(async move {
            let (mut batch, mut resumed) = (Vec::new(), 0);
            loop {
                tokio::select! {
                    taken = rx.recv_many(&mut batch, WRITE_BATCH) => {
                        if taken == 0 {
                            return resumed;
                        }
                        resumed = resumed.max(rx.first_written());
                        write_frames(&mut socket, &batch, rx.first_written()).await.expect("written");
                        rx.written();
                        batch.clear();
                    }
                    incoming = socket.next() => assert!(matches!(incoming, Some(Ok(_))), "{incoming:?}"),
                }
            }
        });
        let (got, _) = read_frames(&mut client, expected.len()).await;
        assert_eq!(got, expected);

        // Everything written, the connection task idle: senders write directly again.
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        assert!(outbox.send(&Frame::from("last")));
        assert_eq!(read_frames_without_pong(&mut client).await, "last");
        drop(outbox);
        let resumed = connection.await.expect("the connection task ends");
        assert!(resumed > 0, "the big frame was cut short and finished by the connection task");
    }

    async fn read_frames_without_pong(client: &mut TcpStream) -> String {
        use tokio::io::AsyncReadExt;
        let mut head = [0u8; 2];
        client.read_exact(&mut head).await.expect("a header");
        assert_eq!(head[0], 0x81, "a whole text frame");
        let mut body = vec![0u8; usize::from(head[1])];
        client.read_exact(&mut body).await.expect("a payload");
        String::from_utf8(body).expect("UTF-8")
    }

    #[test]
    fn wire_length_is_what_the_header_takes_plus_the_payload() {
        for size in [0, 1, 125, 126, 127, 65_535, 65_536, 70_000] {
            let frame = Frame::from("x".repeat(size));
            assert_eq!(wire_len(&frame), header(size, &mut [0; HEADER_MAX]) + size, "{size}");
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
