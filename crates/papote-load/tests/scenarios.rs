//! The generator against the real server, in process: small `rooms` and `dm` runs must deliver
//! and count every message, and time each one from the stamp it carries. No timing assertion on
//! performance: only on correctness.
#![allow(clippy::unwrap_used)]

use papote::config::Config;
use papote_load::{Options, Report, Scenario};
use tokio::net::TcpListener;

async fn server() -> papote::app::Server {
    let mut config = Config::for_tests();
    // The default limit (5 messages per 10 s per conversation) would refuse a load test's senders.
    config.messages_per_window = 10_000;
    config.message_window_secs = 1;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    papote::app::start(listener, config).await.unwrap()
}

fn options(scenario: Scenario, server: &papote::app::Server) -> Options {
    let mut options = Options::new(scenario);
    options.url = format!("http://{}", server.addr);
    options.server_pid = vec![std::process::id()];
    options.duration = 2.0;
    options.warmup = 0.5;
    options.concurrency = 8;
    options
}

fn assert_every_delivery_counted(report: &Report) {
    assert!(report.clients.failures.is_empty(), "{:?} {:?}", report.clients.failures, report.clients.errors);
    assert!(report.messages.refused.is_empty(), "{:?}", report.messages.refused);
    assert!(report.messages.sent_in_window > 0);
    assert_eq!(report.deliveries.lost, 0, "{}", report.summary());
    assert_eq!(report.deliveries.received, report.deliveries.expected);
    // Latency comes from the stamp: positive, and on loopback far below a second.
    let latency = &report.latency_ms;
    assert_eq!(latency.count, report.deliveries.received);
    assert!(latency.p50 > 0.0 && latency.p50 < 1000.0, "{latency:?}");
    assert!(latency.max < 3000.0, "{latency:?}");
    assert!(report.server.cpu_secs_window.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_rooms_run_delivers_every_message_to_every_member() {
    let server = server().await;
    let mut opts = options(Scenario::Rooms, &server);
    opts.clients = 20;
    opts.rooms = 2;
    opts.senders = Some(4);
    opts.rate = 40.0;
    let report = papote_load::run(opts).await.unwrap();
    println!("{}", report.summary());
    assert_eq!(report.clients.ready, 20);
    assert_eq!(report.senders, 4);
    assert_every_delivery_counted(&report);
    // Two rooms of ten: each message reaches its ten members, its sender included.
    assert_eq!(report.deliveries.received, report.messages.sent_in_window * 10);
    // Every message sent, warm-up included, was acknowledged.
    assert_eq!(report.messages.acked, report.messages.sent_total);
    // Roughly the asked rate (generous: the machine is shared).
    let per_second = report.messages.sent_in_window as f64 / report.window_secs;
    assert!((20.0..=60.0).contains(&per_second), "{per_second}");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_small_dm_run_opens_every_conversation_and_delivers_each_message_once() {
    let server = server().await;
    let mut opts = options(Scenario::Dm, &server);
    opts.clients = 20;
    opts.rate = 40.0;
    let report = papote_load::run(opts).await.unwrap();
    println!("{}", report.summary());
    assert_eq!(report.clients.ready, 20);
    assert_eq!(report.senders, 20);
    assert_every_delivery_counted(&report);
    // One recipient per private message; the sending connection gets an ack, not a copy (the
    // sender's other tabs would).
    assert_eq!(report.deliveries.received, report.messages.sent_in_window);
    assert_eq!(report.deliveries.echoes, 0);
    assert_eq!(report.messages.confirms, 0);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_clients_are_left_out_of_the_count_and_the_others_lose_nothing() {
    let server = server().await;
    let mut opts = options(Scenario::Rooms, &server);
    opts.clients = 20;
    opts.rooms = 1;
    opts.senders = Some(2);
    opts.rate = 20.0;
    opts.slow_fraction = 0.1;
    let report = papote_load::run(opts).await.unwrap();
    println!("{}", report.summary());
    let slow = report.slow.clone().unwrap();
    assert_eq!(slow.count, 2);
    assert_every_delivery_counted(&report);
    assert_eq!(report.deliveries.received, report.messages.sent_in_window * 18);
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_and_idle_runs_report_what_they_measured() {
    let server = server().await;
    let mut opts = options(Scenario::Entry, &server);
    opts.clients = 50;
    opts.warmup = 0.0;
    opts.duration = 1.0;
    let report = papote_load::run(opts).await.unwrap();
    let entries = report.entries.clone().unwrap();
    assert!(entries.failed.is_empty(), "{:?}", entries.failed);
    assert!(entries.completed_in_window > 0);

    let mut opts = options(Scenario::Idle, &server);
    opts.clients = 10;
    opts.rooms = 2;
    opts.duration = 0.5;
    let report = papote_load::run(opts).await.unwrap();
    assert_eq!(report.clients.ready, 10);
    assert!(report.phases.iter().any(|p| p.name == "join" && p.server_cpu_secs.is_some()));
    assert!(report.server.rss_bytes_per_connection.is_some());
    server.stop().await;
}

#[tokio::test]
async fn anything_but_loopback_is_refused_before_any_traffic() {
    let mut opts = Options::new(Scenario::Rooms);
    opts.url = "http://192.0.2.1:8080".into();
    assert!(matches!(papote_load::run(opts).await, Err(papote_load::LoadError::Options(_))));
}
