//! The WebSocket session loop: one task per connection reads client frames, dispatches them to
//! the hub, and writes queued frames in batches (one vectored write for many frames).

pub mod socket;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc;
use tungstenite::Message;
use tungstenite::protocol::CloseFrame;

use crate::broker::NodeId;
use crate::chat::{Refusal, wire_code};
use crate::hub::outbox::{Frame, Outbox, OutboxReceiver, close, frame};
use crate::hub::session::{MemberFilter, Session};
use crate::hub::{DmOutcome, Hub, now_ms};
use crate::i18n::{Lang, text};
use crate::protocol::{CardKind, ClientMsg, REF_MAX_BYTES, ServerMsg};
use crate::store::ConnectionRecord;
use socket::{Socket, WRITE_BATCH, write_frames};

/// Bad frames tolerated before the connection is closed as abusive.
const MAX_BAD_FRAMES: u32 = 20;
/// A batch that cannot be written in this long means the client stopped reading.
const WRITE_TIMEOUT: Duration = Duration::from_secs(10);

/// One client connection's dispatch state. Also used, without a socket, for connections relayed
/// from another node (`hub::relay`).
pub(crate) struct Connection {
    hub: Arc<Hub>,
    session: Arc<Session>,
    outbox: Outbox,
    lang: Lang,
    bad_frames: u32,
}

fn close_message(code: u16, reason: &str) -> Message {
    Message::Close(Some(CloseFrame { code: code.into(), reason: reason.into() }))
}

/// Is this error a frame over the size limit (close 1009) rather than a broken connection?
fn is_too_big(error: &tungstenite::Error) -> bool {
    matches!(error, tungstenite::Error::Capacity(_))
}

pub async fn serve(mut socket: Box<Socket>, hub: Arc<Hub>, session: Arc<Session>, lang: Lang, peer: SocketAddr) {
    // The record is dropped before the connection runs: what lives across its awaits lives
    // as long as the connection.
    let log_id = log_connection(&hub, &session, peer).await;
    crate::telemetry::connection_opened();
    let (outbox, mut rx) = hub.new_outbox(&session);
    let welcome = hub.welcome(&session, lang == Lang::En);
    hub.connection_opened(&session, outbox.clone());
    let mut connection =
        Connection { hub: Arc::clone(&hub), session: Arc::clone(&session), outbox, lang, bad_frames: 0 };
    let closing = connection.run(&mut socket, &mut rx, welcome).await;
    // Nobody else writes from here on: the close frame is the last thing on the wire.
    rx.close();
    if let Some((code, reason)) = closing {
        // Boxed, like every path taken once: the task's future is as big as its biggest state, and
        // every idle connection carries it.
        let _ = Box::pin(tokio::time::timeout(Duration::from_secs(2), socket.send(close_message(code, reason)))).await;
    }
    hub.connection_closed(&session, connection.outbox.id());
    crate::telemetry::connection_closed();
    if let Some(id) = log_id
        && let Err(error) = hub.store().close_connection(id, now_ms()).await
    {
        tracing::warn!(%error, "could not log a connection's end");
    }
}

async fn log_connection(hub: &Hub, session: &Session, peer: SocketAddr) -> Option<i64> {
    let record = ConnectionRecord {
        member_id: Some(session.id.encode()),
        kind: "websocket",
        ip: peer.ip().to_string(),
        port: peer.port(),
        opened_at: now_ms(),
    };
    match hub.store().open_connection(&record).await {
        Ok(id) => Some(id),
        Err(error) => {
            tracing::error!(%error, "could not log a connection");
            None
        }
    }
}

/// A WebSocket that reached this node for a session living on another (`home`): its frames go
/// there through the broker, and the home node's frames come back the same way. The session,
/// its rooms and its conversations stay on the home node.
pub async fn serve_relay(
    mut socket: Box<Socket>,
    hub: Arc<Hub>,
    token: String,
    home: NodeId,
    lang: Lang,
    peer: SocketAddr,
) {
    use crate::broker::{ClusterEvent, Relay};
    let relay = rand::random::<u64>();
    let (tx, mut rx) = mpsc::channel::<RelayDown>(1024);
    hub.relay_sockets().insert(relay, tx);
    let open = Relay::Open {
        relay,
        via: hub.broker().node(),
        token,
        english: lang == Lang::En,
        ip: peer.ip().to_string(),
        port: peer.port(),
    };
    hub.send_to_node(home, ClusterEvent::Relay { relay: open });
    let mut alive = tokio::time::interval(Duration::from_secs(5));
    let closing: Option<u16> = loop {
        tokio::select! {
            down = rx.recv() => match down {
                Some(RelayDown::Frame(frame)) => {
                    if write_frames(&mut socket, &[frame], 0).await.is_err() {
                        break None;
                    }
                }
                Some(RelayDown::Close(code)) => break Some(code),
                None => break Some(close::SESSION_ENDED),
            },
            incoming = socket.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    hub.send_to_node(home, ClusterEvent::Relay { relay: Relay::In { relay, text: text.to_string() } });
                }
                Some(Ok(Message::Binary(_) | Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                Some(Err(error)) if is_too_big(&error) => break Some(1009),
                _ => break None,
            },
            _ = alive.tick() => {
                // The home node died: the session went with it.
                if hub.broker().live_nodes().await.is_ok_and(|live| !live.contains(&home)) {
                    break Some(close::SESSION_ENDED);
                }
            }
        }
    };
    hub.relay_sockets().remove(&relay);
    hub.send_to_node(home, ClusterEvent::Relay { relay: Relay::Close { relay, code: 1000 } });
    if let Some(code) = closing {
        let reason = if code == close::SESSION_ENDED { "session_ended" } else { "closed" };
        let _ = tokio::time::timeout(Duration::from_secs(2), socket.send(close_message(code, reason))).await;
    }
}

/// What the home node sends down to a relayed socket.
pub enum RelayDown {
    Frame(Frame),
    Close(u16),
}

impl Connection {
    pub(crate) fn new(hub: Arc<Hub>, session: Arc<Session>, outbox: Outbox, lang: Lang) -> Connection {
        Connection { hub, session, outbox, lang, bad_frames: 0 }
    }

    /// Runs until the connection ends; returns the close frame to send, if any.
    async fn run(
        &mut self,
        socket: &mut Socket,
        rx: &mut OutboxReceiver,
        welcome: Frame,
    ) -> Option<(u16, &'static str)> {
        if write_frames(socket, &[welcome], 0).await.is_err() {
            return None;
        }
        let conn = Arc::clone(&self.outbox.conn);
        // From now on senders may write straight to the socket (`hub::outbox`): `welcome` is out.
        socket.get_mut().share_with(&conn);
        // One future for every reason to close, built once (not on every frame).
        let cut = conn.cut_requested();
        tokio::pin!(cut);
        // Grows only when frames actually pile up: most connections never need more than a few.
        let mut batch: Vec<Frame> = Vec::new();
        loop {
            // A cut sets the close code before it wakes the task: a busy connection sees it here.
            if conn.close_code() != 0 {
                return Box::pin(self.closing(socket, rx, conn.close_code())).await;
            }
            let idle = rx.is_empty();
            tokio::select! {
                biased;
                code = &mut cut, if idle => return Box::pin(self.closing(socket, rx, code)).await,
                received = rx.recv_many(&mut batch, WRITE_BATCH) => {
                    if received == 0 {
                        return None;
                    }
                    let written = {
                        let write = write_frames(socket, &batch, rx.first_written());
                        tokio::pin!(write);
                        // Almost always the socket takes the batch at once; only a client that
                        // stops reading blocks it, and is given up on after a while, or as soon
                        // as it is cut.
                        match futures_util::poll!(&mut write) {
                            std::task::Poll::Ready(result) => result,
                            std::task::Poll::Pending => tokio::select! {
                                written = Box::pin(tokio::time::timeout(WRITE_TIMEOUT, &mut write)) => match written {
                                    Ok(result) => result,
                                    // No close frame after an interrupted write: a frame may be
                                    // half written, and a close frame after it would garble the
                                    // stream. The client sees the connection drop and resumes.
                                    Err(_) => return None,
                                },
                                _ = &mut cut => return None,
                            },
                        }
                    };
                    if written.is_err() {
                        return None;
                    }
                    rx.written();
                    batch.clear();
                    // A burst can grow the batch to WRITE_BATCH frames; an idle connection keeps
                    // only a small one.
                    if batch.capacity() > 8 && rx.is_empty() {
                        batch = Vec::new();
                    }
                }
                incoming = socket.next() => {
                    match incoming {
                        None => return None,
                        Some(Err(error)) => {
                            if is_too_big(&error) {
                                return Some((1009, "frame_too_big"));
                            }
                            return None;
                        }
                        Some(Ok(Message::Text(text))) => {
                            if let Some(closing) = self.on_text(text.as_str()).await {
                                return Some(closing);
                            }
                        }
                        Some(Ok(Message::Binary(_))) => {
                            if let Some(closing) = self.bad_frame("binary_not_supported") {
                                return Some(closing);
                            }
                        }
                        Some(Ok(Message::Close(_))) => return None,
                        Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => {}
                    }
                }
            }
        }
    }

    /// Closing after a cut: a sanction's statement of reasons still goes out first.
    async fn closing(&self, socket: &mut Socket, rx: &mut OutboxReceiver, code: u16) -> Option<(u16, &'static str)> {
        if code == close::TOO_SLOW {
            return Some((code, "too_slow"));
        }
        let deliver = async {
            let mut last = Vec::new();
            rx.take_all(&mut last);
            write_frames(socket, &last, rx.first_written()).await
        };
        if !matches!(tokio::time::timeout(Duration::from_secs(2), deliver).await, Ok(Ok(()))) {
            // The last frames did not all go out (maybe one half-written): no close frame after.
            return None;
        }
        let reason = match code {
            close::SESSION_ENDED => "session_ended",
            close::GOING_AWAY => "server_restarting",
            _ => "sanctioned",
        };
        Some((code, reason))
    }

    fn reply(&self, msg: ServerMsg) {
        self.outbox.send(&frame(msg.to_json()));
    }

    fn refuse(&self, reference: Option<String>, refusal: Refusal) {
        crate::telemetry::refusal(refusal.code);
        self.reply(ServerMsg::Refused {
            reference,
            code: wire_code(refusal.code).to_owned(),
            message: text(self.lang, refusal.code).to_owned(),
            retry_after_ms: refusal.retry_after.map(|d| d.as_millis() as u64),
        });
    }

    fn error(&self, code: &'static str) {
        self.reply(ServerMsg::Error { code: code.to_owned(), message: text(self.lang, code).to_owned() });
    }

    fn bad_frame(&mut self, code: &'static str) -> Option<(u16, &'static str)> {
        self.bad_frames += 1;
        if self.bad_frames > MAX_BAD_FRAMES {
            return Some((close::POLICY, "too_much_garbage"));
        }
        self.error(code);
        None
    }

    pub(crate) async fn on_text(&mut self, raw: &str) -> Option<(u16, &'static str)> {
        let msg: ClientMsg = match serde_json::from_str(raw) {
            Ok(msg) => msg,
            Err(_) => return self.bad_frame("bad_frame"),
        };
        // Boxed: the dispatch future is large and only alive while a frame is handled; inline,
        // it would make every idle connection's task that much bigger.
        Box::pin(self.dispatch(msg)).await;
        None
    }

    async fn dispatch(&mut self, msg: ClientMsg) {
        let hub = Arc::clone(&self.hub);
        let session = Arc::clone(&self.session);
        match msg {
            ClientMsg::Ping => self.reply(ServerMsg::Pong),
            ClientMsg::Status { status } => hub.set_status(&session, status),
            ClientMsg::RoomMemberList { room } => {
                if let Err(refusal) = hub.room_member_list(&session, &self.outbox, &room).await {
                    self.error(refusal.code);
                }
            }
            ClientMsg::History { room, before, limit } => {
                if let Err(refusal) = hub.room_history(&session, &self.outbox, &room, before, limit).await {
                    self.error(refusal.code);
                }
            }
            ClientMsg::Ignore { member } => session.set_ignored(member, member != session.id),
            ClientMsg::Unignore { member } => session.set_ignored(member, false),
            ClientMsg::RoomCreate { name } => match hub.create_private_room(&session, &name) {
                Ok(room) => {
                    if let Err(refusal) = hub.join(&session, &self.outbox, &room, None).await {
                        self.error(refusal.code);
                    }
                }
                Err(refusal) => self.error(refusal.code),
            },
            ClientMsg::RoomInvite { room, member } => {
                if let Err(refusal) = hub.invite(&session, &room, member) {
                    self.error(refusal.code);
                }
            }
            ClientMsg::RoomAccept { room } => {
                if let Err(refusal) = hub.join(&session, &self.outbox, &room, None).await {
                    self.error(refusal.code);
                }
            }
            ClientMsg::RoomDecline { room } => {
                if let Err(refusal) = hub.decline_invitation(&session, &room) {
                    self.error(refusal.code);
                }
            }
            ClientMsg::RoomRemove { room, member } => {
                if let Err(refusal) = hub.remove_from_room(&session, &room, member).await {
                    self.error(refusal.code);
                }
            }
            ClientMsg::RoomOwner { room, member } => {
                if let Err(refusal) = hub.hand_over(&session, &room, member) {
                    self.error(refusal.code);
                }
            }
            ClientMsg::Join { room, since } => {
                if let Err(refusal) = hub.join(&session, &self.outbox, &room, since).await {
                    self.error(refusal.code);
                }
            }
            ClientMsg::Leave { room } => {
                if let Err(refusal) = hub.leave(&session, &room).await {
                    self.error(refusal.code);
                }
            }
            ClientMsg::Say { room, text, reference } => {
                let Some(reference) = self.checked_ref(reference) else { return };
                match hub.say(&session, &room, &text).await {
                    Ok(id) => self.reply(ServerMsg::Ack { reference, id, seq: None }),
                    Err(refusal) => self.refuse(reference, refusal),
                }
            }
            ClientMsg::Typing { room, to } => match (room, to) {
                (Some(room), None) => hub.typing_in_room(&session, &room),
                (None, Some(to)) => hub.typing_to(&session, to),
                _ => self.error("bad_frame"),
            },
            ClientMsg::Dm { to, text, reference, confirm } => {
                let Some(reference) = self.checked_ref(reference) else { return };
                match hub.send_dm(&session, self.outbox.id(), to, &text, confirm).await {
                    Ok(DmOutcome::Sent { id, seq }) => self.reply(ServerMsg::Ack { reference, id, seq }),
                    Ok(DmOutcome::NeedsConfirm) => {
                        self.reply(ServerMsg::Confirm { reference, kind: CardKind::Contact, to });
                    }
                    Err(refusal) => self.refuse(reference, refusal),
                }
            }
            ClientMsg::DmAccept { with } => {
                if let Err(refusal) = hub.dm_accept(&session, with) {
                    self.error(refusal.code);
                }
            }
            ClientMsg::DmDecline { with } => {
                if let Err(refusal) = hub.dm_decline(&session, with) {
                    self.error(refusal.code);
                }
            }
            ClientMsg::DmHistory { with, since, before, limit } => {
                match hub.dm_history(&session, with, since, before, limit) {
                    Ok(history) => {
                        self.outbox.send(&history);
                    }
                    Err(refusal) => self.error(refusal.code),
                }
            }
            ClientMsg::Block { member } => {
                if let Err(refusal) = hub.block(&session, member) {
                    self.error(refusal.code);
                }
            }
            ClientMsg::Unblock { member } => hub.unblock(&session, member),
            ClientMsg::Report { member, message, room, category, comment } => {
                let comment = comment.unwrap_or_default();
                match hub.report(&session, member, message, room.as_deref(), category, &comment).await {
                    Ok(()) => self.reply(ServerMsg::Info {
                        code: "report_received".to_owned(),
                        message: text(self.lang, "report_received").to_owned(),
                    }),
                    Err(refusal) => self.error(refusal.code),
                }
            }
            ClientMsg::Members { gender, age_min, age_max, search } => {
                let search = search
                    .map(|s| s.trim().to_lowercase().chars().take(20).collect::<String>())
                    .filter(|s| !s.is_empty());
                let filter = MemberFilter {
                    genders: gender.filter(|g| !g.is_empty()),
                    age_min: age_min.unwrap_or(18).clamp(18, 99),
                    age_max: age_max.unwrap_or(99).clamp(18, 99),
                    search,
                };
                let list = hub.members(&session, Some(filter));
                self.outbox.send(&list);
            }
        }
    }

    /// A reference longer than allowed is refused (and not echoed).
    fn checked_ref(&self, reference: Option<String>) -> Option<Option<String>> {
        match reference {
            Some(r) if r.len() > REF_MAX_BYTES => {
                self.error("bad_ref");
                None
            }
            other => Some(other),
        }
    }
}
