//! The home side of relayed connections: a WebSocket that reached another node for a session
//! living here. Its client frames arrive through the broker and are dispatched exactly like a
//! local connection's; its outbox is forwarded back to the node holding the socket.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::Hub;
use super::outbox::close;
use crate::broker::{ClusterEvent, NodeId, Relay};
use crate::clock::now_ms;
use crate::i18n::Lang;
use crate::store::ConnectionRecord;
use crate::ws::{Connection, RelayDown};

/// Client frames queued for one relayed connection before it is cut.
const RELAY_INBOX: usize = 256;

impl Hub {
    pub(super) async fn on_relay(self: &Arc<Self>, relay: Relay) {
        match relay {
            Relay::Open { relay, via, token, english, ip, port } => {
                self.open_relay(relay, via, token, english, ip, port).await
            }
            Relay::In { relay, text } => {
                let inbox = self.relay_homes.get(&relay).map(|s| s.clone());
                if let Some(inbox) = inbox
                    && inbox.try_send(text).is_err()
                {
                    self.relay_homes.remove(&relay);
                }
            }
            Relay::Out { relay, frame } => {
                let socket = self.relay_sockets.get(&relay).map(|s| s.clone());
                if let Some(socket) = socket
                    && socket.try_send(RelayDown::Frame(frame.into())).is_err()
                {
                    // The socket side cannot keep up: it closes and the client resumes.
                    let _ = socket.try_send(RelayDown::Close(close::TOO_SLOW));
                }
            }
            Relay::Close { relay, code } => {
                // Either side: the home task ends when its inbox closes; the socket closes.
                self.relay_homes.remove(&relay);
                if let Some((_, socket)) = self.relay_sockets.remove(&relay) {
                    let _ = socket.try_send(RelayDown::Close(code));
                }
            }
        }
    }

    async fn open_relay(
        self: &Arc<Self>,
        relay: u64,
        via: NodeId,
        token: String,
        english: bool,
        ip: String,
        port: u16,
    ) {
        let Some(session) = self.session_by_token(&token) else {
            self.send_to_node(via, ClusterEvent::Relay { relay: Relay::Close { relay, code: close::SESSION_ENDED } });
            return;
        };
        let (inbox, mut from_client) = mpsc::channel::<String>(RELAY_INBOX);
        self.relay_homes.insert(relay, inbox);
        let record =
            ConnectionRecord { member_id: Some(session.id.encode()), kind: "websocket", ip, port, opened_at: now_ms() };
        let log_id = self.store.open_connection(&record).await.ok();
        let (outbox, mut to_client) = self.new_outbox(&session);
        let lang = if english { Lang::En } else { Lang::Fr };
        let welcome = self.welcome(&session, english);
        self.send_to_node(via, ClusterEvent::Relay { relay: Relay::Out { relay, frame: welcome.to_string() } });
        self.connection_opened(&session, outbox.clone());
        let hub = Arc::clone(self);
        tokio::spawn(async move {
            let conn = Arc::clone(&outbox.conn);
            let id = outbox.id();
            let mut connection = Connection::new(Arc::clone(&hub), Arc::clone(&session), outbox, lang);
            let cut = conn.cut_requested();
            tokio::pin!(cut);
            let mut batch = Vec::new();
            let code = loop {
                tokio::select! {
                    code = &mut cut => break Some(code),
                    received = to_client.recv_many(&mut batch, 64) => {
                        if received == 0 {
                            break None;
                        }
                        for frame in batch.drain(..) {
                            hub.send_to_node(via, ClusterEvent::Relay { relay: Relay::Out { relay, frame: frame.to_string() } });
                        }
                    }
                    text = from_client.recv() => match text {
                        Some(text) => {
                            if let Some((code, _)) = connection.on_text(&text).await {
                                break Some(code);
                            }
                        }
                        // The socket side closed.
                        None => break None,
                    },
                }
            };
            if let Some(code) = code {
                // What is still queued (a statement of reasons) goes first.
                while let Some(frame) = to_client.try_recv() {
                    hub.send_to_node(
                        via,
                        ClusterEvent::Relay { relay: Relay::Out { relay, frame: frame.to_string() } },
                    );
                }
                hub.send_to_node(via, ClusterEvent::Relay { relay: Relay::Close { relay, code } });
            }
            hub.relay_homes.remove(&relay);
            hub.connection_closed(&session, id);
            if let Some(log) = log_id {
                let _ = hub.store.close_connection(log, now_ms()).await;
            }
        });
    }
}
