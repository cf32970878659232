//! What a run is asked to do, with the hard caps that keep it bounded and on this machine.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, ValueEnum};
use serde::Serialize;

use crate::LoadError;

/// Most clients one run may open (each is a WebSocket: file descriptors and ports bound it).
pub const MAX_CLIENTS: usize = 40_000;
/// Longest measurement window.
pub const MAX_DURATION_SECS: f64 = 600.0;
/// Longest warm-up.
pub const MAX_WARMUP_SECS: f64 = 120.0;
/// Highest offered rate, messages per second (all senders together).
pub const MAX_RATE: f64 = 1_000_000.0;
/// Longest message text (the server refuses over 500 characters).
pub const MAX_PAYLOAD: usize = 480;
/// Most entries, connections or joins in flight at once.
pub const MAX_CONCURRENCY: usize = 2_000;
/// How long after the window deliveries are still awaited before the missing ones count as lost.
pub const DRAIN: Duration = Duration::from_secs(3);

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scenario {
    /// Enter, connect, join rooms, then stay idle: memory per connection, cost of joining.
    Idle,
    /// Clients in rooms; senders post at a fixed total rate; everyone measures latency.
    Rooms,
    /// Pairs open private conversations (request, accept) and chat at a fixed total rate.
    Dm,
    /// Entries over HTTP as fast as the server takes them (no WebSocket).
    Entry,
}

/// Options of one run. Every field is a command-line flag of `papote-load`.
#[derive(Args, Clone, Debug, Serialize)]
pub struct Options {
    /// The scenario to run.
    #[arg(value_enum)]
    pub scenario: Scenario,

    /// The server: `http://127.0.0.x:PORT` or `http://localhost:PORT` only.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub url: String,

    /// More nodes of the same site (several nodes sharing PostgreSQL and Redis): client i enters
    /// and connects through node i mod (1 + their number), so rooms and pairs span the nodes.
    #[arg(long = "also-url")]
    pub also_urls: Vec<String>,

    /// Clients (each enters and opens one WebSocket); for `entry`, the most entries to make.
    #[arg(long, default_value_t = 100)]
    pub clients: usize,

    /// Rooms the clients spread over (client i joins room i mod rooms), taken in the server's order.
    #[arg(long, default_value_t = 1)]
    pub rooms: usize,

    /// Clients that send (`rooms`: spread over the rooms; `dm`: default every client).
    #[arg(long)]
    pub senders: Option<usize>,

    /// Messages per second, all senders together.
    #[arg(long, default_value_t = 100.0)]
    pub rate: f64,

    /// Bytes per room message text, stamp included (`dm` sends French lines instead).
    #[arg(long, default_value_t = 64)]
    pub payload: usize,

    /// Measurement window, seconds (for `idle`: how long to hold the connections).
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,

    /// Seconds of traffic before the window opens (not counted).
    #[arg(long, default_value_t = 2.0)]
    pub warmup: f64,

    /// Loopback source addresses to spread connections over (127.0.0.2,127.0.0.3...), to go past
    /// the ~28,000 ports one address has.
    #[arg(long, value_delimiter = ',')]
    pub sources: Vec<Ipv4Addr>,

    /// The server's PID: its CPU time and memory are read from /proc around the window. Several
    /// PIDs (comma-separated or repeated: the nodes of one site, and Redis) are summed.
    #[arg(long, value_delimiter = ',')]
    pub server_pid: Vec<u32>,

    /// Fraction of (non-sending) clients that stop reading once traffic starts.
    #[arg(long, default_value_t = 0.0)]
    pub slow_fraction: f64,

    /// Entries, connections and joins in flight at once (and, for `entry`, concurrent requests).
    #[arg(long, default_value_t = 64)]
    pub concurrency: usize,

    /// Write the full report here as JSON.
    #[arg(long)]
    pub json: Option<PathBuf>,
}

impl Options {
    /// Defaults for `scenario` (the command line's defaults).
    pub fn new(scenario: Scenario) -> Options {
        Options {
            scenario,
            url: "http://127.0.0.1:8080".to_owned(),
            also_urls: Vec::new(),
            clients: 100,
            rooms: 1,
            senders: None,
            rate: 100.0,
            payload: 64,
            duration: 10.0,
            warmup: 2.0,
            sources: Vec::new(),
            server_pid: Vec::new(),
            slow_fraction: 0.0,
            concurrency: 64,
            json: None,
        }
    }

    /// Senders this run actually uses.
    pub fn sender_count(&self) -> usize {
        match self.scenario {
            Scenario::Rooms => self.senders.unwrap_or(10).min(self.clients),
            Scenario::Dm => self.senders.unwrap_or(self.clients).min(self.clients),
            Scenario::Idle | Scenario::Entry => 0,
        }
    }

    /// Checks every option against its cap; returns the server's address.
    pub fn validate(&self) -> Result<SocketAddr, LoadError> {
        let bad = |what: String| Err(LoadError::Options(what));
        let target = parse_local_url(&self.url)?;
        for url in &self.also_urls {
            parse_local_url(url)?;
        }
        if self.clients == 0 || self.clients > MAX_CLIENTS {
            return bad(format!("--clients must be 1..={MAX_CLIENTS}"));
        }
        if self.clients as u64 > crate::wire::nickname_capacity() {
            return bad("--clients exceeds the nicknames one run can make".into());
        }
        if matches!(self.scenario, Scenario::Rooms | Scenario::Idle) && (self.rooms == 0 || self.rooms > self.clients) {
            return bad("--rooms must be 1..=clients".into());
        }
        if self.scenario == Scenario::Dm && (self.clients < 2 || !self.clients.is_multiple_of(2)) {
            return bad("dm needs an even number of clients (pairs)".into());
        }
        if !(self.rate.is_finite() && self.rate > 0.0 && self.rate <= MAX_RATE) {
            return bad(format!("--rate must be in (0, {MAX_RATE}]"));
        }
        if self.payload < 32 || self.payload > MAX_PAYLOAD {
            return bad(format!("--payload must be 32..={MAX_PAYLOAD}"));
        }
        if !(self.duration.is_finite() && self.duration > 0.0 && self.duration <= MAX_DURATION_SECS) {
            return bad(format!("--duration must be in (0, {MAX_DURATION_SECS}]"));
        }
        if !(self.warmup.is_finite() && self.warmup >= 0.0 && self.warmup <= MAX_WARMUP_SECS) {
            return bad(format!("--warmup must be in [0, {MAX_WARMUP_SECS}]"));
        }
        if !(0.0..=0.5).contains(&self.slow_fraction) {
            return bad("--slow-fraction must be in [0, 0.5]".into());
        }
        if self.concurrency == 0 || self.concurrency > MAX_CONCURRENCY {
            return bad(format!("--concurrency must be 1..={MAX_CONCURRENCY}"));
        }
        if let Some(source) = self.sources.iter().find(|s| !s.is_loopback()) {
            return bad(format!("source {source} is not a loopback address"));
        }
        if self.scenario == Scenario::Rooms && self.sender_count() == 0 {
            return bad("rooms needs at least one sender".into());
        }
        Ok(target)
    }

    pub fn window(&self) -> Duration {
        Duration::from_secs_f64(self.duration)
    }

    pub fn warmup(&self) -> Duration {
        Duration::from_secs_f64(self.warmup)
    }
}

/// Accepts `http://127.0.0.x[:port][/]` and `http://localhost[:port][/]`; refuses anything else.
pub fn parse_local_url(url: &str) -> Result<SocketAddr, LoadError> {
    let refuse = || LoadError::Options(format!("--url {url:?}: only http://127.0.0.x:PORT or localhost"));
    let rest = url.strip_prefix("http://").ok_or_else(refuse)?;
    let authority = rest.trim_end_matches('/');
    if authority.contains('/') || authority.contains('@') {
        return Err(refuse());
    }
    let (host, port) = match authority.rsplit_once(':') {
        Some((host, port)) => (host, port.parse::<u16>().map_err(|_| refuse())?),
        None => (authority, 80),
    };
    let ip = if host.eq_ignore_ascii_case("localhost") {
        Ipv4Addr::LOCALHOST
    } else {
        host.parse::<Ipv4Addr>().map_err(|_| refuse())?
    };
    let [a, b, c, _] = ip.octets();
    if (a, b, c) != (127, 0, 0) || port == 0 {
        return Err(refuse());
    }
    Ok(SocketAddr::new(IpAddr::V4(ip), port))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_urls_are_accepted() {
        for good in ["http://127.0.0.1:8080", "http://127.0.0.9:1/", "http://localhost:8089", "http://LOCALHOST:1"] {
            assert!(parse_local_url(good).is_ok(), "{good}");
        }
        for bad in [
            "https://127.0.0.1:8080",
            "http://10.0.0.1:8080",
            "http://127.0.1.1:8080",
            "http://192.168.1.2:80",
            "http://example.com:80",
            "http://127.0.0.1:8080/x",
            "http://user@127.0.0.1:8080",
            "http://127.0.0.1:0",
            "ws://127.0.0.1:8080",
        ] {
            assert!(parse_local_url(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn caps_are_enforced() {
        let mut o = Options::new(Scenario::Rooms);
        assert!(o.validate().is_ok());
        o.clients = MAX_CLIENTS + 1;
        assert!(o.validate().is_err());
        let mut o = Options::new(Scenario::Dm);
        o.clients = 3;
        assert!(o.validate().is_err());
        let mut o = Options::new(Scenario::Rooms);
        o.sources = vec![Ipv4Addr::new(10, 0, 0, 2)];
        assert!(o.validate().is_err());
        let mut o = Options::new(Scenario::Rooms);
        o.duration = 10_000.0;
        assert!(o.validate().is_err());
        o.duration = 1.0;
        o.slow_fraction = 0.9;
        assert!(o.validate().is_err());
    }
}
