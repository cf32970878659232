//! The result of a run: everything as JSON, and a one-line summary.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::options::{Options, Scenario};
use crate::procfs::ProcSample;

/// Latency percentiles, milliseconds.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Latency {
    pub count: u64,
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
}

impl Latency {
    /// From a histogram recorded in microseconds.
    pub fn from_micros(h: &Histogram<u64>) -> Latency {
        if h.is_empty() {
            return Latency::default();
        }
        let ms = |us: u64| us as f64 / 1000.0;
        Latency {
            count: h.len(),
            p50: ms(h.value_at_quantile(0.50)),
            p90: ms(h.value_at_quantile(0.90)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
            mean: h.mean() / 1000.0,
        }
    }
}

/// How many clients got through each step.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ClientCounts {
    pub requested: usize,
    pub entered: usize,
    pub connected: usize,
    /// Joined their room (`rooms`, `idle`) or opened their conversation (`dm`).
    pub ready: usize,
    pub failures: BTreeMap<String, u64>,
    /// The first few error messages, for diagnosis.
    pub errors: Vec<String>,
}

/// One setup or traffic phase: wall time and the server's CPU in it.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Phase {
    pub name: String,
    pub secs: f64,
    pub server_cpu_secs: Option<f64>,
    pub server_rss_kib_after: Option<u64>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Messages {
    /// Messages whose send time fell inside the window.
    pub sent_in_window: u64,
    pub sent_total: u64,
    pub acked: u64,
    pub refused: BTreeMap<String, u64>,
    /// "Are you sure?" answers (each is re-sent once with `confirm`).
    pub confirms: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Deliveries {
    /// Deliveries owed for the window's messages to clients that keep reading.
    pub expected: u64,
    pub received: u64,
    /// Expected and not received within the drain time after the window.
    pub lost: u64,
    pub loss_ratio: f64,
    pub per_second: f64,
    /// `dm`: copies of one's own message (the server sends them only to the sender's other
    /// tabs, so one connection per member should see none).
    pub echoes: u64,
    /// Stamped frames from outside the window (warm-up, drain).
    pub outside_window: u64,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct ServerUse {
    /// The processes whose use is summed (nodes of one site, and Redis when given).
    pub pids: Vec<u32>,
    pub cpu_secs_window: Option<f64>,
    /// Share of one core during the window.
    pub cpu_percent: Option<f64>,
    /// Seconds its threads waited for a CPU during the window (other work on a shared core).
    pub runqueue_wait_secs_window: Option<f64>,
    pub cpu_us_per_delivery: Option<f64>,
    pub rss_kib_start: Option<u64>,
    pub rss_kib_ready: Option<u64>,
    pub rss_kib_end: Option<u64>,
    /// (RSS once every client is ready − RSS before the first client) / clients ready.
    pub rss_bytes_per_connection: Option<f64>,
    pub threads: Option<u64>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct GeneratorUse {
    /// Share of one core during the window (the generator is single-threaded).
    pub cpu_percent: f64,
    /// Seconds it waited for its CPU during the window.
    pub runqueue_wait_secs_window: f64,
    pub rss_kib: u64,
    /// Set when the generator was near saturation: the run then measured the client.
    pub warning: Option<String>,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct SlowClients {
    pub count: usize,
    /// Closed by the server with 4000 (too slow).
    pub cut_too_slow: usize,
    /// Closed otherwise (another code, or the connection dropped).
    pub closed_other: usize,
    /// Still open at the end.
    pub still_open: usize,
}

#[derive(Clone, Debug, Default, Serialize)]
pub struct Entries {
    pub completed_in_window: u64,
    pub per_second: f64,
    pub failed: BTreeMap<String, u64>,
    pub server_cpu_us_per_entry: Option<f64>,
}

/// Everything a run measured.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub scenario: Scenario,
    pub options: Options,
    pub started_unix_ms: u64,
    pub window_secs: f64,
    /// /proc/loadavg when the run started and when its window closed.
    pub load_average_start: Option<[f64; 3]>,
    pub load_average_end: Option<[f64; 3]>,
    pub senders: usize,
    pub clients: ClientCounts,
    pub phases: Vec<Phase>,
    pub messages: Messages,
    pub deliveries: Deliveries,
    /// Send to receipt, from the stamp inside each message.
    pub latency_ms: Latency,
    /// How late senders wrote relative to their schedule (the generator's own lag).
    pub send_lag_ms: Latency,
    pub server: ServerUse,
    pub generator: GeneratorUse,
    pub slow: Option<SlowClients>,
    pub entries: Option<Entries>,
    /// `entry`: request latency.
    pub entry_latency_ms: Option<Latency>,
}

impl Report {
    pub(crate) fn fill_server(
        &mut self,
        start: Option<ProcSample>,
        ready: Option<ProcSample>,
        end: Option<ProcSample>,
    ) {
        self.server.rss_kib_start = start.map(|s| s.rss_kib);
        self.server.rss_kib_ready = ready.map(|s| s.rss_kib);
        self.server.rss_kib_end = end.map(|s| s.rss_kib);
        self.server.threads = end.map(|s| s.threads);
        if let (Some(start), Some(ready)) = (start, ready)
            && self.clients.ready > 0
        {
            self.server.rss_bytes_per_connection =
                Some((ready.rss_kib as f64 - start.rss_kib as f64) * 1024.0 / self.clients.ready as f64);
        }
    }

    /// The one-line summary.
    pub fn summary(&self) -> String {
        // For `entry`, "ready" means entered: there is no WebSocket.
        let ready = if self.scenario == Scenario::Entry { self.clients.entered } else { self.clients.ready };
        let mut parts = vec![
            format!(
                "{:?} clients={}/{} rooms={} senders={}",
                self.scenario, ready, self.clients.requested, self.options.rooms, self.senders
            )
            .to_lowercase(),
        ];
        let opt = |v: Option<f64>, digits: usize| v.map_or("n/a".to_owned(), |v| format!("{v:.digits$}"));
        match self.scenario {
            Scenario::Entry => {
                if let Some(e) = &self.entries {
                    parts.push(format!("{:.0} entries/s", e.per_second));
                    parts.push(format!("failed {}", e.failed.values().sum::<u64>()));
                    parts.push(format!("server {} µs CPU/entry", opt(e.server_cpu_us_per_entry, 1)));
                }
                if let Some(l) = &self.entry_latency_ms {
                    parts.push(format!(
                        "latency ms p50 {:.2} p90 {:.2} p99 {:.2} p99.9 {:.2}",
                        l.p50, l.p90, l.p99, l.p999
                    ));
                }
            }
            Scenario::Idle => {}
            Scenario::Rooms | Scenario::Dm => {
                let d = &self.deliveries;
                parts.push(format!("{:.0} deliveries/s", d.per_second));
                parts.push(format!("loss {} ({:.3}%)", d.lost, d.loss_ratio * 100.0));
                let refused: u64 = self.messages.refused.values().sum();
                if refused > 0 {
                    parts.push(format!("REFUSED {refused} {:?}", self.messages.refused));
                }
                let l = &self.latency_ms;
                parts.push(format!(
                    "latency ms p50 {:.2} p90 {:.2} p99 {:.2} p99.9 {:.2} max {:.2}",
                    l.p50, l.p90, l.p99, l.p999, l.max
                ));
                parts.push(format!(
                    "server {} µs CPU/delivery ({}% CPU)",
                    opt(self.server.cpu_us_per_delivery, 2),
                    opt(self.server.cpu_percent, 0)
                ));
            }
        }
        if self.scenario != Scenario::Entry {
            parts.push(format!(
                "server RSS {} B/conn ({} KiB)",
                opt(self.server.rss_bytes_per_connection, 0),
                self.server.rss_kib_ready.map_or("n/a".into(), |v| v.to_string())
            ));
        }
        if let Some(slow) = &self.slow {
            parts.push(format!("slow {} (cut {}, open {})", slow.count, slow.cut_too_slow, slow.still_open));
        }
        let setup: Vec<String> = self
            .phases
            .iter()
            .filter(|p| matches!(p.name.as_str(), "join" | "pair"))
            .map(|p| format!("{} {:.1}s server CPU {}s", p.name, p.secs, opt(p.server_cpu_secs, 2)))
            .collect();
        parts.extend(setup);
        parts.push(format!("generator CPU {:.0}%", self.generator.cpu_percent));
        if let Some(warning) = &self.generator.warning {
            parts.push(format!("WARNING {warning}"));
        }
        if let Some(wait) = self.server.runqueue_wait_secs_window
            && self.window_secs > 0.0
        {
            parts.push(format!(
                "run-queue wait server {:.0}% generator {:.0}% of the window",
                wait / self.window_secs * 100.0,
                self.generator.runqueue_wait_secs_window / self.window_secs * 100.0
            ));
        }
        parts.join(", ")
    }
}
