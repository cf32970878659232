//! `papote-load`: a load generator that speaks Papote's real protocol.
//!
//! Every simulated client makes a real `POST /api/entry`, opens `GET /ws` with its session
//! cookie, waits for `welcome`, then joins a room or opens a private conversation. Senders write
//! stamped messages (`"<unix-nanos> <client> <seq> ..."`) at a fixed total rate; receivers time
//! them against the same clock. The whole run is one thread (pin it to a core), bounded in time
//! and in count, and only ever talks to 127.0.0.x.
//!
//! Modules:
//! - [`options`]: the command line, with its hard caps;
//! - [`run`]: the phases and the per-client tasks;
//! - [`client`]: entry over HTTP, the WebSocket handshake, joining;
//! - [`wire`]: stamped texts, outgoing frames, the little that is read of incoming ones;
//! - [`procfs`]: server and generator CPU and memory from `/proc`;
//! - [`report`]: the JSON report and the one-line summary.

pub mod client;
pub mod options;
pub mod procfs;
pub mod report;
pub mod run;
pub mod wire;

pub use options::{Options, Scenario};
pub use report::Report;
pub use run::run;

/// Why a run, or one client's step, failed.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("options: {0}")]
    Options(String),
    #[error("http: {0}")]
    Http(#[from] reqwest::Error),
    #[error("websocket: {0}")]
    Ws(#[from] tokio_tungstenite::tungstenite::Error),
    #[error("network: {0}")]
    Io(#[from] std::io::Error),
    #[error("refused: {status} {code}")]
    Refused { status: u16, code: String },
    #[error("closed by the server with code {0}")]
    Closed(u16),
    #[error("protocol: {0}")]
    Protocol(String),
    #[error("timed out: {0}")]
    Timeout(&'static str),
    #[error("setup: {0}")]
    Setup(String),
}

impl LoadError {
    /// A short key to count failures by.
    pub fn kind(&self) -> String {
        match self {
            LoadError::Options(_) => "options".into(),
            LoadError::Http(e) if e.is_timeout() => "http timeout".into(),
            LoadError::Http(e) if e.is_connect() => "http connect".into(),
            LoadError::Http(_) => "http".into(),
            LoadError::Ws(_) => "websocket".into(),
            LoadError::Io(e) => format!("io {:?}", e.kind()),
            LoadError::Refused { status, code } => format!("{status} {code}"),
            LoadError::Closed(code) => format!("closed {code}"),
            LoadError::Protocol(_) => "protocol".into(),
            LoadError::Timeout(what) => format!("timeout {what}"),
            LoadError::Setup(_) => "setup".into(),
        }
    }
}
