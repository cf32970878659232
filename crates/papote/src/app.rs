//! Wires a node together: store, safety engine, hub, entry gate, router, background tasks.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::serve::ListenerExt;
use axum_extra::extract::cookie::Key;
use papote_safety::Engine;
use rand::Rng;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::chat::Pipeline;
use crate::config::Config;
use crate::entry::Gate;
use crate::http::{self, AppState};
use crate::hub::{Hub, HubConfig, RoomSpec};
use crate::moderation::Moderation;
use crate::store::{self, Store, StoreError};
use governor::{Quota, RateLimiter};
use std::num::NonZeroU32;

const ROOMS_TOML: &str = include_str!("../../../data/rooms.toml");

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("broker: {0}")]
    Broker(#[from] crate::broker::BrokerError),
    #[error("safety rules: {0}")]
    Rules(String),
    #[error("rooms: {0}")]
    Rooms(String),
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
}

#[derive(serde::Deserialize)]
struct RoomsFile {
    room: Vec<RoomSpec>,
}

pub fn themed_rooms() -> Result<Vec<RoomSpec>, AppError> {
    let file: RoomsFile = toml::from_str(ROOMS_TOML).map_err(|e| AppError::Rooms(e.to_string()))?;
    Ok(file.room)
}

/// The built-in rules plus the configured extra files.
pub fn safety_engine(config: &Config) -> Result<Engine, AppError> {
    let mut sources = Vec::new();
    for path in &config.safety_rules {
        let text = std::fs::read_to_string(path).map_err(|e| AppError::Rules(format!("{}: {e}", path.display())))?;
        sources.push((path.display().to_string(), text));
    }
    let borrowed: Vec<(&str, &str)> = sources.iter().map(|(n, t)| (n.as_str(), t.as_str())).collect();
    Engine::with_extra(&borrowed).map_err(|e| AppError::Rules(e.to_string()))
}

/// A running node.
pub struct Server {
    pub addr: SocketAddr,
    pub hub: Arc<Hub>,
    pub store: Arc<dyn Store>,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
}

impl Server {
    /// Stops accepting, closes every connection, records the end of every session.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let _ = self.task.await;
    }

    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    pub async fn wait(self) {
        let _ = self.task.await;
    }
}

/// Kernel send buffer per connection: enough for bursts, small enough that a client that stops
/// reading fills it soon and is cut off as too slow (instead of holding megabytes of kernel memory).
const SOCKET_SEND_BUFFER: usize = 256 * 1024;

/// Every accepted socket: no Nagle delay (a chat line must leave at once, not wait for the
/// previous one's acknowledgement), and a bounded send buffer.
fn tune_socket(stream: &mut tokio::net::TcpStream) {
    if let Err(error) = stream.set_nodelay(true) {
        tracing::debug!(%error, "TCP_NODELAY");
    }
    let socket = socket2::SockRef::from(&*stream);
    if let Err(error) = socket.set_send_buffer_size(SOCKET_SEND_BUFFER) {
        tracing::debug!(%error, "SO_SNDBUF");
    }
    // A vanished peer (a phone that lost its network) is noticed by the kernel, with no timer
    // per connection in the server: probes after 60 s of silence, every 10 s, 3 of them.
    let keepalive = socket2::TcpKeepalive::new()
        .with_time(Duration::from_secs(60))
        .with_interval(Duration::from_secs(10))
        .with_retries(3);
    if let Err(error) = socket.set_tcp_keepalive(&keepalive) {
        tracing::debug!(%error, "TCP keepalive");
    }
}

fn random_secret() -> String {
    let bytes: [u8; 32] = rand::rng().random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Starts a node on an already-bound listener (tests bind `127.0.0.1:0`).
pub async fn start(listener: TcpListener, config: Config) -> Result<Server, AppError> {
    let addr = listener.local_addr()?;
    crate::telemetry::init();
    let store = store::open(&config.database).await?;
    let master = if config.cookie_secret.is_empty() {
        store.secret("master_secret", &random_secret).await?
    } else {
        config.cookie_secret.clone()
    };
    let mut cookie_key_bytes = [0u8; 64];
    blake3::Hasher::new_derive_key("papote 2026 cookie key")
        .update(master.as_bytes())
        .finalize_xof()
        .fill(&mut cookie_key_bytes);
    let cookie_key = Key::from(&cookie_key_bytes);
    let device_secret = blake3::derive_key("papote 2026 device keys", master.as_bytes());

    let engine = Arc::new(safety_engine(&config)?);
    let rooms = themed_rooms()?;
    let shutdown = CancellationToken::new();
    let pipeline =
        Pipeline::new(Arc::clone(&engine), config.messages_per_window, Duration::from_secs(config.message_window_secs));
    let hub_config = HubConfig {
        session_grace: config.session_grace(),
        new_conversations: config.new_conversations,
        new_conversations_window: Duration::from_secs(config.new_conversations_window_secs),
        outbox_frames: config.outbox_frames,
        private_room_max_members: config.private_room_max_members,
    };
    let broker = crate::broker::open(config.broker.as_deref()).await?;
    let hub = Hub::new(hub_config, &rooms, Arc::clone(&store), broker, pipeline, shutdown.clone());
    if config.insecure_skip_proof_of_work {
        tracing::warn!("PROOF OF WORK IS OFF (--insecure-skip-proof-of-work): bots can enter freely; load tests only");
    }
    let pow = (!config.insecure_skip_proof_of_work).then_some(config.pow_max_number);
    let gate =
        Arc::new(Gate::new(device_secret, config.entries_per_ip_per_minute, engine, config.underage_lock_hours, pow));

    let tidy_gate = Arc::clone(&gate);
    let tidy_shutdown = shutdown.clone();
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tokio::select! {
                _ = tick.tick() => tidy_gate.tidy(),
                _ = tidy_shutdown.cancelled() => return,
            }
        }
    });

    let panic = store.setting("panic").await?.and_then(|v| serde_json::from_str::<serde_json::Value>(&v).ok());
    if let Some(panic) = panic
        && let (Some(until), Some(minutes)) = (panic["until"].as_i64(), panic["min_minutes"].as_u64())
    {
        hub.set_panic(Some((until, Duration::from_secs(minutes * 60))));
    }
    let moderation = Arc::new(Moderation::new(Arc::clone(&store), Arc::clone(&hub), Arc::clone(&gate)));
    let console_limiter =
        Arc::new(RateLimiter::keyed(Quota::per_minute(NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN))));
    let state = AppState {
        hub: Arc::clone(&hub),
        gate,
        moderation,
        key: cookie_key,
        config: Arc::new(config),
        console_limiter,
    };
    let app = http::router(state).into_make_service_with_connect_info::<SocketAddr>();
    let serve_shutdown = shutdown.clone();
    let serve_hub = Arc::clone(&hub);
    let task = tokio::spawn(async move {
        let stopping = serve_shutdown.clone();
        let listener = listener.tap_io(tune_socket);
        let served = axum::serve(listener, app).with_graceful_shutdown(async move { stopping.cancelled().await });
        if let Err(error) = served.await {
            tracing::error!(%error, "server stopped with an error");
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), serve_hub.end_all_sessions()).await;
    });
    tracing::info!(%addr, "Papote is listening");
    Ok(Server { addr, hub, store, shutdown, task })
}

/// Runs a node until `shutdown` completes.
pub async fn run(
    listener: TcpListener,
    config: Config,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), AppError> {
    let server = start(listener, config).await?;
    let token = server.shutdown_token();
    tokio::spawn(async move {
        shutdown.await;
        token.cancel();
    });
    server.wait().await;
    Ok(())
}
