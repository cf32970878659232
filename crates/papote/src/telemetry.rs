//! Prometheus metrics (`GET /metrics`, loopback only): what an operator watches — members and
//! connections online, messages and deliveries, refusals by code, entries, reports, cases,
//! sanctions, slow consumers cut off.

use std::sync::OnceLock;

use metrics::{Counter, counter, describe_counter, describe_gauge, gauge};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();

/// Installs the recorder once per process (several test servers share it).
pub fn init() -> Option<&'static PrometheusHandle> {
    HANDLE
        .get_or_init(|| {
            let handle = PrometheusBuilder::new().install_recorder().ok()?;
            describe_gauge!("papote_members_online", "Sessions alive (entered members)");
            describe_gauge!("papote_connections", "Open WebSocket connections");
            describe_counter!("papote_messages_total", "Messages accepted, by kind (room, dm)");
            describe_counter!("papote_deliveries_total", "Frames queued to connections for room messages");
            describe_counter!("papote_refusals_total", "Messages refused, by code");
            describe_counter!("papote_entries_total", "Entry attempts, by result");
            describe_counter!("papote_reports_total", "Reports received");
            describe_counter!("papote_cases_total", "Moderation cases opened, by source");
            describe_counter!("papote_sanctions_total", "Sanctions applied, by kind");
            describe_counter!("papote_slow_consumers_total", "Connections cut because they read too slowly");
            describe_gauge!("papote_runtime_busy_ratio", "Share of the runtime's worker time spent busy (last second)");
            describe_gauge!("papote_saturated", "1 while the server is saturated (big rooms batch their fan-outs)");
            Some(handle)
        })
        .as_ref()
}

pub fn render() -> String {
    init().map(PrometheusHandle::render).unwrap_or_default()
}

/// Handles resolved once, for the hot paths.
pub struct Hot {
    pub room_messages: Counter,
    pub dm_messages: Counter,
    pub deliveries: Counter,
    pub slow_consumers: Counter,
}

static HOT: OnceLock<Hot> = OnceLock::new();

pub fn hot() -> &'static Hot {
    HOT.get_or_init(|| Hot {
        room_messages: counter!("papote_messages_total", "kind" => "room"),
        dm_messages: counter!("papote_messages_total", "kind" => "dm"),
        deliveries: counter!("papote_deliveries_total"),
        slow_consumers: counter!("papote_slow_consumers_total"),
    })
}

pub fn refusal(code: &'static str) {
    counter!("papote_refusals_total", "code" => code).increment(1);
}

pub fn entry(result: &'static str) {
    counter!("papote_entries_total", "result" => result).increment(1);
}

pub fn report() {
    counter!("papote_reports_total").increment(1);
}

pub fn case(source: &'static str) {
    counter!("papote_cases_total", "source" => source).increment(1);
}

pub fn sanction(kind: &'static str) {
    counter!("papote_sanctions_total", "kind" => kind).increment(1);
}

pub fn load(busy_ratio: f64, saturated: bool) {
    gauge!("papote_runtime_busy_ratio").set(busy_ratio);
    gauge!("papote_saturated").set(if saturated { 1.0 } else { 0.0 });
}

pub fn online(members: usize) {
    gauge!("papote_members_online").set(members as f64);
}

pub fn connection_opened() {
    gauge!("papote_connections").increment(1.0);
}

pub fn connection_closed() {
    gauge!("papote_connections").decrement(1.0);
}
