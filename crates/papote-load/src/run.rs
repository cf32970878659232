//! A run: one task per client on a single thread, phases opened for everyone at once by a
//! coordinator that samples the server between them.
//!
//! Phases: entry → connect → setup (join a room, or open a private conversation) → traffic →
//! stop. Messages whose stamp falls inside the window are the ones counted: the senders count
//! the deliveries they owe, the receivers count and time what arrives, and whatever has not
//! arrived [`DRAIN`] after the window is lost.

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::rc::Rc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use hdrhistogram::Histogram;
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::{JoinSet, LocalSet};
use tokio::time::{Instant, sleep, sleep_until, timeout, timeout_at};
use tokio_tungstenite::tungstenite::Message;

use crate::LoadError;
use crate::client::{self, Entered, Ws};
use crate::options::{DRAIN, Options, Scenario};
use crate::procfs::{Proc, ProcSample};
use crate::report::{
    ClientCounts, Deliveries, Entries, GeneratorUse, Latency, Messages, Phase, Report, ServerUse, SlowClients,
};
use crate::wire::{self, Kind, Stamp, unix_nanos};

/// Longest wait for one entry, connection, join or pairing.
const STEP_TIMEOUT: Duration = Duration::from_secs(30);
/// After the last join, time for the server's batched membership and presence updates.
const SETTLE: Duration = Duration::from_secs(2);
/// Above this share of its core, the generator's figures describe the generator.
const GENERATOR_SATURATED: f64 = 90.0;
/// Error messages kept in the report.
const ERRORS_KEPT: usize = 10;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Step {
    Enter = 0,
    Connect = 1,
    Setup = 2,
    Traffic = 3,
    Stop = 4,
}

#[derive(Default)]
struct Progress {
    settled: [usize; 3],
    ok: [usize; 3],
    failures: BTreeMap<String, u64>,
    errors: Vec<String>,
}

struct Stats {
    latency: Histogram<u64>,
    send_lag: Histogram<u64>,
    entry_latency: Histogram<u64>,
    messages: Messages,
    deliveries: Deliveries,
    slow: SlowClients,
    closed_in_traffic: u64,
    entries_in_window: u64,
    entry_failures: BTreeMap<String, u64>,
}

fn histogram() -> Histogram<u64> {
    // 1 µs to 10 min, 3 significant figures.
    Histogram::new_with_bounds(1, 600_000_000, 3).expect("constant bounds are valid")
}

impl Stats {
    fn new() -> Stats {
        Stats {
            latency: histogram(),
            send_lag: histogram(),
            entry_latency: histogram(),
            messages: Messages::default(),
            deliveries: Deliveries::default(),
            slow: SlowClients::default(),
            closed_in_traffic: 0,
            entries_in_window: 0,
            entry_failures: BTreeMap::new(),
        }
    }
}

/// The traffic schedule, fixed when traffic starts.
#[derive(Clone, Debug)]
struct Plan {
    send_start: Instant,
    send_end: Instant,
    window_start_ns: u64,
    window_end_ns: u64,
    /// Time between two messages of one sender.
    period: Duration,
    senders: usize,
    /// Deliveries owed per message of each client (readers that keep reading).
    owed: Vec<u64>,
}

impl Plan {
    fn in_window(&self, nanos: u64) -> bool {
        (self.window_start_ns..self.window_end_ns).contains(&nanos)
    }
}

struct Role {
    room: usize,
    sender: bool,
    slow: bool,
}

struct Ctx {
    opts: Options,
    /// The nodes (the first is `--url`); client i uses node i mod their number.
    targets: Vec<SocketAddr>,
    bases: Vec<String>,
    http: Vec<reqwest::Client>,
    tag: String,
    rooms: Vec<String>,
    roles: Vec<Role>,
    permits: Semaphore,
    step: watch::Sender<Step>,
    progress: RefCell<Progress>,
    changed: Notify,
    ids: RefCell<Vec<Option<String>>>,
    ready: RefCell<Vec<bool>>,
    stats: RefCell<Stats>,
    plan: RefCell<Option<Rc<Plan>>>,
}

impl Ctx {
    fn n(&self) -> usize {
        self.opts.clients
    }

    fn source(&self, index: usize) -> Option<Ipv4Addr> {
        (!self.opts.sources.is_empty()).then(|| self.opts.sources[index % self.opts.sources.len()])
    }

    fn target(&self, index: usize) -> SocketAddr {
        self.targets[index % self.targets.len()]
    }

    fn base(&self, index: usize) -> &str {
        &self.bases[index % self.bases.len()]
    }

    fn http(&self, index: usize) -> &reqwest::Client {
        &self.http[index % self.http.len()]
    }

    fn settle(&self, step: Step) {
        let mut progress = self.progress.borrow_mut();
        progress.settled[step as usize] += 1;
        progress.ok[step as usize] += 1;
        drop(progress);
        self.changed.notify_one();
    }

    /// A client failed at `step`: it counts as settled for that step and every later setup step.
    fn fail(&self, step: Step, what: &str, error: &LoadError) {
        let mut progress = self.progress.borrow_mut();
        for later in (step as usize)..=(Step::Setup as usize) {
            progress.settled[later] += 1;
        }
        *progress.failures.entry(format!("{what}: {}", error.kind())).or_default() += 1;
        if progress.errors.len() < ERRORS_KEPT {
            progress.errors.push(format!("{what}: {error}"));
        }
        drop(progress);
        self.changed.notify_one();
    }

    fn settled(&self, step: Step) -> usize {
        self.progress.borrow().settled[step as usize]
    }

    fn ok(&self, step: Step) -> usize {
        self.progress.borrow().ok[step as usize]
    }
}

/// Runs one scenario to the end and reports. Must be awaited on a Tokio runtime; the work runs on
/// the calling thread (the binary uses a `current_thread` runtime so it can be pinned to a core).
pub async fn run(opts: Options) -> Result<Report, LoadError> {
    let target = opts.validate()?;
    LocalSet::new().run_until(run_local(opts, target)).await
}

fn wait_secs(a: Option<ProcSample>, b: Option<ProcSample>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(b.runqueue_wait_us.saturating_sub(a.runqueue_wait_us) as f64 / 1e6),
        _ => None,
    }
}

fn cpu_secs(a: Option<ProcSample>, b: Option<ProcSample>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(b.cpu().saturating_sub(a.cpu()).as_secs_f64()),
        _ => None,
    }
}

struct Sampler {
    servers: Vec<Proc>,
}

impl Sampler {
    /// The sum over the server processes; `None` without any, or when one is gone.
    fn server(&self) -> Option<ProcSample> {
        let mut total: Option<ProcSample> = None;
        for server in &self.servers {
            let sample = server.sample()?;
            let sum = total.get_or_insert_with(ProcSample::default);
            sum.cpu_us += sample.cpu_us;
            sum.rss_kib += sample.rss_kib;
            sum.threads += sample.threads;
            sum.runqueue_wait_us += sample.runqueue_wait_us;
        }
        total
    }
}

async fn fetch_rooms(http: &reqwest::Client, base: &str, wanted: usize) -> Result<Vec<String>, LoadError> {
    let body: serde_json::Value = http.get(format!("{base}/api/rooms")).send().await?.json().await?;
    let all: Vec<String> = body["rooms"]
        .as_array()
        .map(|rooms| rooms.iter().filter_map(|r| r["id"].as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    if all.len() < wanted {
        return Err(LoadError::Options(format!("the server has {} rooms, {wanted} asked", all.len())));
    }
    Ok(all.into_iter().take(wanted).collect())
}

fn roles(opts: &Options) -> Vec<Role> {
    let n = opts.clients;
    let senders = opts.sender_count();
    let rooms = opts.rooms.max(1);
    let mut roles: Vec<Role> = (0..n).map(|i| Role { room: i % rooms, sender: i < senders, slow: false }).collect();
    let candidates = n - senders;
    let slow = ((opts.slow_fraction * n as f64).round() as usize).min(candidates);
    for j in 0..slow {
        roles[senders + j * candidates / slow].slow = true;
    }
    roles
}

fn tag_seed() -> u64 {
    unix_nanos() ^ (u64::from(std::process::id()) << 32)
}

async fn run_local(opts: Options, target: SocketAddr) -> Result<Report, LoadError> {
    let started_unix_ms = unix_nanos() / 1_000_000;
    let load_average_start = crate::procfs::load_average();
    let sampler = Sampler { servers: opts.server_pid.iter().copied().map(Proc::Pid).collect() };
    let base = format!("http://{target}");
    let mut targets = vec![target];
    for url in &opts.also_urls {
        targets.push(crate::options::parse_local_url(url)?);
    }
    let bases: Vec<String> = targets.iter().map(|t| format!("http://{t}")).collect();
    let http = client::http_clients(&opts.sources, opts.concurrency)?;
    let rooms = match opts.scenario {
        Scenario::Rooms | Scenario::Idle => fetch_rooms(&http[0], &base, opts.rooms).await?,
        Scenario::Dm | Scenario::Entry => Vec::new(),
    };
    let n = opts.clients;
    let ctx = Rc::new(Ctx {
        roles: roles(&opts),
        permits: Semaphore::new(opts.concurrency),
        step: watch::Sender::new(Step::Enter),
        progress: RefCell::new(Progress::default()),
        changed: Notify::new(),
        ids: RefCell::new(vec![None; n]),
        ready: RefCell::new(vec![false; n]),
        stats: RefCell::new(Stats::new()),
        plan: RefCell::new(None),
        tag: wire::run_tag(tag_seed()),
        targets,
        bases,
        http,
        rooms,
        opts,
    });
    if ctx.opts.scenario == Scenario::Entry {
        return run_entries(ctx, &sampler, started_unix_ms, load_average_start).await;
    }

    let server_start = sampler.server();
    let mut phases = Vec::new();
    let mut tasks = JoinSet::new();
    for index in 0..n {
        tasks.spawn_local(client_task(Rc::clone(&ctx), index));
    }
    // Generous but finite: a server that stops answering ends the run.
    let setup_deadline = Duration::from_secs(120) + Duration::from_millis(20) * n as u32;
    let outcome = async {
        let setup_name = if ctx.opts.scenario == Scenario::Dm { "pair" } else { "join" };
        for (step, next, name) in [
            (Step::Enter, Step::Connect, "entry"),
            (Step::Connect, Step::Setup, "connect"),
            (Step::Setup, Step::Traffic, setup_name),
        ] {
            let started = Instant::now();
            let before = sampler.server();
            wait_settled(&ctx, step, started + setup_deadline).await?;
            if step == Step::Setup {
                sleep(SETTLE).await;
            }
            let after = sampler.server();
            phases.push(Phase {
                name: name.to_owned(),
                secs: started.elapsed().as_secs_f64(),
                server_cpu_secs: cpu_secs(before, after),
                server_rss_kib_after: after.map(|s| s.rss_kib),
            });
            if next != Step::Traffic {
                ctx.step.send_replace(next);
            }
        }
        Ok::<(), LoadError>(())
    }
    .await;
    if let Err(error) = outcome {
        ctx.step.send_replace(Step::Stop);
        tasks.abort_all();
        return Err(error);
    }
    let server_ready = sampler.server();

    // Traffic.
    let plan = Rc::new(make_plan(&ctx));
    *ctx.plan.borrow_mut() = Some(Rc::clone(&plan));
    let window_start =
        plan.send_start + if ctx.opts.scenario == Scenario::Idle { Duration::ZERO } else { ctx.opts.warmup() };
    let window_end = plan.send_end;
    ctx.step.send_replace(Step::Traffic);
    sleep_until(window_start).await;
    let (server_w0, self_w0, w0) = (sampler.server(), Proc::Myself.sample(), Instant::now());
    sleep_until(window_end).await;
    let (server_w1, self_w1, w1) = (sampler.server(), Proc::Myself.sample(), Instant::now());
    let load_average_end = crate::procfs::load_average();
    let window = w1.duration_since(w0).as_secs_f64();
    phases.push(Phase {
        name: "window".into(),
        secs: window,
        server_cpu_secs: cpu_secs(server_w0, server_w1),
        server_rss_kib_after: server_w1.map(|s| s.rss_kib),
    });
    if ctx.opts.scenario != Scenario::Idle {
        sleep(DRAIN).await;
    }
    ctx.step.send_replace(Step::Stop);
    // Slow clients read what is left to learn how they were closed; then everyone is dropped.
    let _ = timeout(Duration::from_secs(10), async { while tasks.join_next().await.is_some() {} }).await;
    tasks.abort_all();
    let server_end = sampler.server();

    let progress = ctx.progress.borrow();
    let stats = ctx.stats.borrow();
    let clients = ClientCounts {
        requested: n,
        entered: progress.ok[Step::Enter as usize],
        connected: progress.ok[Step::Connect as usize],
        ready: progress.ok[Step::Setup as usize],
        failures: progress.failures.clone(),
        errors: progress.errors.clone(),
    };
    let mut deliveries = stats.deliveries.clone();
    deliveries.lost = deliveries.expected.saturating_sub(deliveries.received);
    deliveries.loss_ratio =
        if deliveries.expected > 0 { deliveries.lost as f64 / deliveries.expected as f64 } else { 0.0 };
    deliveries.per_second = if window > 0.0 {
        deliveries.received as f64 / (plan.window_end_ns - plan.window_start_ns) as f64 * 1e9
    } else {
        0.0
    };
    let server_cpu = cpu_secs(server_w0, server_w1);
    let generator_cpu = cpu_secs(self_w0, self_w1).map_or(0.0, |c| c / window * 100.0);
    let mut report = Report {
        scenario: ctx.opts.scenario,
        options: ctx.opts.clone(),
        started_unix_ms,
        window_secs: window,
        load_average_start,
        load_average_end,
        senders: plan.senders,
        clients,
        phases,
        messages: stats.messages.clone(),
        latency_ms: Latency::from_micros(&stats.latency),
        send_lag_ms: Latency::from_micros(&stats.send_lag),
        server: ServerUse {
            pids: ctx.opts.server_pid.clone(),
            cpu_secs_window: server_cpu,
            cpu_percent: server_cpu.map(|c| c / window * 100.0),
            runqueue_wait_secs_window: wait_secs(server_w0, server_w1),
            cpu_us_per_delivery: server_cpu
                .filter(|_| deliveries.received > 0)
                .map(|c| c * 1e6 / deliveries.received as f64),
            ..ServerUse::default()
        },
        deliveries,
        generator: GeneratorUse {
            cpu_percent: generator_cpu,
            runqueue_wait_secs_window: wait_secs(self_w0, self_w1).unwrap_or(0.0),
            rss_kib: self_w1.map_or(0, |s| s.rss_kib),
            warning: (generator_cpu > GENERATOR_SATURATED)
                .then(|| format!("load generator at {generator_cpu:.0}% of its core: this run measured the client")),
        },
        slow: (ctx.roles.iter().any(|r| r.slow)).then(|| stats.slow.clone()),
        entries: None,
        entry_latency_ms: None,
    };
    if stats.closed_in_traffic > 0 {
        report.clients.failures.insert("closed during traffic".into(), stats.closed_in_traffic);
    }
    report.fill_server(server_start, server_ready, server_end);
    Ok(report)
}

async fn wait_settled(ctx: &Ctx, step: Step, deadline: Instant) -> Result<(), LoadError> {
    loop {
        let changed = ctx.changed.notified();
        if ctx.settled(step) >= ctx.n() {
            return Ok(());
        }
        if timeout_at(deadline, changed).await.is_err() {
            return Err(LoadError::Setup(format!(
                "{step:?}: {} of {} clients settled before the deadline ({} ok)",
                ctx.settled(step),
                ctx.n(),
                ctx.ok(step)
            )));
        }
    }
}

fn make_plan(ctx: &Ctx) -> Plan {
    let opts = &ctx.opts;
    let ready = ctx.ready.borrow();
    let reads = |i: usize| ready[i] && !ctx.roles[i].slow;
    let owed: Vec<u64> = match opts.scenario {
        Scenario::Rooms | Scenario::Idle => {
            let mut per_room = vec![0u64; ctx.rooms.len().max(1)];
            for i in (0..ctx.n()).filter(|&i| reads(i)) {
                per_room[ctx.roles[i].room] += 1;
            }
            (0..ctx.n()).map(|i| per_room[ctx.roles[i].room]).collect()
        }
        Scenario::Dm => (0..ctx.n()).map(|i| u64::from(reads(i ^ 1))).collect(),
        Scenario::Entry => Vec::new(),
    };
    let senders = (0..ctx.n()).filter(|&i| ctx.roles[i].sender && ready[i]).count();
    let period = Duration::from_secs_f64(senders.max(1) as f64 / opts.rate);
    let warmup = if opts.scenario == Scenario::Idle { Duration::ZERO } else { opts.warmup() };
    let send_start = Instant::now() + Duration::from_millis(200);
    let send_end = send_start + warmup + opts.window();
    let to_unix = |at: Instant| unix_nanos() + at.saturating_duration_since(Instant::now()).as_nanos() as u64;
    Plan {
        window_start_ns: to_unix(send_start + warmup),
        window_end_ns: to_unix(send_end),
        send_start,
        send_end,
        period,
        senders,
        owed,
    }
}

// ----- One client ----------------------------------------------------------------------------

/// What a client has seen while setting up (frames may arrive before it looks for them).
#[derive(Default)]
struct Seen {
    request_from_peer: bool,
    open: bool,
}

fn note_setup_frame(seen: &mut Seen, text: &str) {
    match wire::kind(text) {
        Kind::DmRequest => seen.request_from_peer = true,
        Kind::DmState if text.contains(r#""state":"open""#) => seen.open = true,
        _ => {}
    }
}

/// Waits until the coordinator opens `step`, reading (and noting) frames meanwhile. False when
/// the run stops or the connection is lost.
async fn wait_step_reading(ws: &mut Ws, rx: &mut watch::Receiver<Step>, step: Step, seen: &mut Seen) -> bool {
    loop {
        let now = *rx.borrow_and_update();
        if now == Step::Stop {
            return false;
        }
        if now >= step {
            return true;
        }
        tokio::select! {
            biased;
            changed = rx.changed() => if changed.is_err() { return false },
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(text))) => note_setup_frame(seen, &text),
                Some(Ok(Message::Close(_)) | Err(_)) | None => return false,
                Some(Ok(_)) => {}
            },
        }
    }
}

async fn wait_step(rx: &mut watch::Receiver<Step>, step: Step) -> bool {
    rx.wait_for(|s| *s >= step).await.is_ok_and(|s| *s != Step::Stop)
}

async fn client_task(ctx: Rc<Ctx>, index: usize) {
    let mut rx = ctx.step.subscribe();
    let entered = {
        let _permit = ctx.permits.acquire().await;
        timeout(STEP_TIMEOUT, client::enter(ctx.http(index), ctx.base(index), &ctx.tag, index)).await
    };
    let Entered { member_id, session_cookie } = match entered {
        Ok(Ok(entered)) => entered,
        Ok(Err(error)) => return ctx.fail(Step::Enter, "entry", &error),
        Err(_) => return ctx.fail(Step::Enter, "entry", &LoadError::Timeout("entry")),
    };
    ctx.ids.borrow_mut()[index] = Some(member_id);
    ctx.settle(Step::Enter);
    if !wait_step(&mut rx, Step::Connect).await {
        return;
    }
    let connected = {
        let _permit = ctx.permits.acquire().await;
        timeout(STEP_TIMEOUT, client::connect(ctx.target(index), ctx.source(index), &session_cookie)).await
    };
    let mut ws = match connected {
        Ok(Ok(ws)) => ws,
        Ok(Err(error)) => return ctx.fail(Step::Connect, "connect", &error),
        Err(_) => return ctx.fail(Step::Connect, "connect", &LoadError::Timeout("connect")),
    };
    ctx.settle(Step::Connect);
    let mut seen = Seen::default();
    if !wait_step_reading(&mut ws, &mut rx, Step::Setup, &mut seen).await {
        return ctx.fail(Step::Setup, "setup", &LoadError::Closed(1006));
    }
    let setup = match ctx.opts.scenario {
        Scenario::Dm => timeout(STEP_TIMEOUT, pair(&ctx, index, &mut ws, &mut seen)).await,
        _ => {
            // Keep reading while waiting for a turn: a client that does not read does not answer
            // the server's pings, and the server closes it as idle after 75 s.
            let _permit = loop {
                tokio::select! {
                    biased;
                    permit = ctx.permits.acquire() => break permit,
                    frame = ws.next() => match frame {
                        Some(Ok(Message::Text(text))) => note_setup_frame(&mut seen, &text),
                        Some(Ok(Message::Close(_)) | Err(_)) | None => {
                            return ctx.fail(Step::Setup, "setup", &LoadError::Closed(1006));
                        }
                        Some(Ok(_)) => {}
                    },
                }
            };
            timeout(STEP_TIMEOUT, client::join(&mut ws, &ctx.rooms[ctx.roles[index].room])).await
        }
    };
    match setup {
        Ok(Ok(())) => {}
        Ok(Err(error)) => return ctx.fail(Step::Setup, "setup", &error),
        Err(_) => return ctx.fail(Step::Setup, "setup", &LoadError::Timeout("setup")),
    }
    ctx.ready.borrow_mut()[index] = true;
    ctx.settle(Step::Setup);
    if !wait_step_reading(&mut ws, &mut rx, Step::Traffic, &mut seen).await {
        return;
    }
    let Some(plan) = ctx.plan.borrow().clone() else { return };
    if ctx.roles[index].slow {
        slow_client(&ctx, &mut ws, &mut rx).await;
    } else {
        traffic(&ctx, &plan, index, &mut ws, &mut rx).await;
    }
}

/// Opens the private conversation of pair (2p, 2p+1): the even one asks, the odd one accepts.
async fn pair(ctx: &Ctx, index: usize, ws: &mut Ws, seen: &mut Seen) -> Result<(), LoadError> {
    let peer = index ^ 1;
    let peer_id = ctx.ids.borrow()[peer].clone().ok_or_else(|| LoadError::Setup("peer did not enter".into()))?;
    if index.is_multiple_of(2) {
        let _permit = ctx.permits.acquire().await;
        ws.send(Message::text(wire::dm_frame(&peer_id, "salut, ça va ?", false))).await?;
    } else {
        while !seen.request_from_peer {
            let text = client::next_text(ws).await?;
            note_setup_frame(seen, &text);
        }
        let accept = format!(r#"{{"t":"dm_accept","with":"{peer_id}"}}"#);
        ws.send(Message::text(accept)).await?;
    }
    while !seen.open {
        let text = client::next_text(ws).await?;
        if wire::kind(&text) == Kind::Refused || wire::kind(&text) == Kind::Error {
            return Err(LoadError::Protocol(format!("pairing refused: {text}")));
        }
        note_setup_frame(seen, &text);
    }
    Ok(())
}

/// A client that stops reading once traffic starts. At the end it reads what is left to learn
/// whether the server cut it.
async fn slow_client(ctx: &Ctx, ws: &mut Ws, rx: &mut watch::Receiver<Step>) {
    let _ = rx.wait_for(|s| *s == Step::Stop).await;
    let ending = timeout(Duration::from_secs(5), async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Close(frame))) => return Some(frame.map(|f| u16::from(f.code)).unwrap_or(1005)),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Some(1006),
            }
        }
    })
    .await;
    let mut stats = ctx.stats.borrow_mut();
    stats.slow.count += 1;
    match ending {
        Ok(Some(4000)) => stats.slow.cut_too_slow += 1,
        Ok(_) => stats.slow.closed_other += 1,
        Err(_) => stats.slow.still_open += 1,
    }
}

async fn traffic(ctx: &Ctx, plan: &Plan, index: usize, ws: &mut Ws, rx: &mut watch::Receiver<Step>) {
    let dm = ctx.opts.scenario == Scenario::Dm;
    let room = ctx.rooms.get(ctx.roles[index].room).cloned().unwrap_or_default();
    let peer_id = if dm { ctx.ids.borrow()[index ^ 1].clone().unwrap_or_default() } else { String::new() };
    let sender = ctx.roles[index].sender && plan.senders > 0;
    // Spread the senders evenly over one period.
    let offset = plan.period.mul_f64((index % plan.senders.max(1)) as f64 / plan.senders.max(1) as f64);
    let mut next = sender.then_some(plan.send_start + offset);
    let far = plan.send_end + Duration::from_secs(3600);
    let mut seq: u64 = 0;
    let mut last_dm = String::new();
    let client = index as u32;
    loop {
        tokio::select! {
            biased;
            changed = rx.changed() => {
                if changed.is_err() || *rx.borrow() == Step::Stop {
                    return;
                }
            }
            _ = sleep_until(next.unwrap_or(far)), if next.is_some() => {
                let due = next.unwrap_or(far);
                let lag = Instant::now().saturating_duration_since(due);
                let stamp = Stamp { sent_nanos: unix_nanos(), client, seq };
                seq += 1;
                let frame = if dm {
                    last_dm = wire::dm_text(stamp);
                    wire::dm_frame(&peer_id, &last_dm, false)
                } else {
                    wire::say_frame(&room, &wire::room_text(stamp, ctx.opts.payload))
                };
                {
                    let mut stats = ctx.stats.borrow_mut();
                    stats.messages.sent_total += 1;
                    stats.send_lag.saturating_record(lag.as_micros() as u64);
                    if plan.in_window(stamp.sent_nanos) {
                        stats.messages.sent_in_window += 1;
                        stats.deliveries.expected += plan.owed[index];
                    }
                }
                let following = due + plan.period;
                next = (following < plan.send_end).then_some(following);
                if ws.send(Message::text(frame)).await.is_err() {
                    break;
                }
            }
            frame = ws.next() => match frame {
                Some(Ok(Message::Text(text))) => {
                    if on_frame(ctx, plan, client, dm, &text) && dm && !last_dm.is_empty() {
                        let _ = ws.send(Message::text(wire::dm_frame(&peer_id, &last_dm, true))).await;
                    }
                }
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
        }
    }
    // The connection ended before the run did.
    ctx.stats.borrow_mut().closed_in_traffic += 1;
    let _ = rx.wait_for(|s| *s == Step::Stop).await;
}

/// Counts one frame; returns true when the server asks to confirm the last private message.
fn on_frame(ctx: &Ctx, plan: &Plan, client: u32, dm: bool, text: &str) -> bool {
    match wire::kind(text) {
        Kind::RoomMsg | Kind::Dm => {
            let now = unix_nanos();
            let Some(stamp) = wire::frame_stamp(text) else { return false };
            let mut stats = ctx.stats.borrow_mut();
            if !plan.in_window(stamp.sent_nanos) {
                stats.deliveries.outside_window += 1;
            } else if dm && stamp.client == client {
                stats.deliveries.echoes += 1;
            } else {
                stats.deliveries.received += 1;
                stats.latency.saturating_record(now.saturating_sub(stamp.sent_nanos) / 1000);
            }
            false
        }
        Kind::Ack => {
            ctx.stats.borrow_mut().messages.acked += 1;
            false
        }
        Kind::Refused | Kind::Error => {
            let code = serde_json::from_str::<serde_json::Value>(text)
                .ok()
                .and_then(|v| v["code"].as_str().map(str::to_owned))
                .unwrap_or_else(|| "unknown".into());
            *ctx.stats.borrow_mut().messages.refused.entry(code).or_default() += 1;
            false
        }
        Kind::Confirm => {
            ctx.stats.borrow_mut().messages.confirms += 1;
            true
        }
        _ => false,
    }
}

// ----- Entry scenario ------------------------------------------------------------------------

async fn run_entries(
    ctx: Rc<Ctx>,
    sampler: &Sampler,
    started_unix_ms: u64,
    load_average_start: Option<[f64; 3]>,
) -> Result<Report, LoadError> {
    let start = Instant::now();
    let window_start = start + ctx.opts.warmup();
    let window_end = window_start + ctx.opts.window();
    let next = Rc::new(Cell::new(0usize));
    let mut workers = JoinSet::new();
    for _ in 0..ctx.opts.concurrency {
        let ctx = Rc::clone(&ctx);
        let next = Rc::clone(&next);
        workers.spawn_local(async move {
            loop {
                let index = next.get();
                if index >= ctx.n() || Instant::now() >= window_end {
                    return;
                }
                next.set(index + 1);
                let began = Instant::now();
                let result = client::enter(ctx.http(index), ctx.base(index), &ctx.tag, index).await;
                let ended = Instant::now();
                let in_window = began >= window_start && ended < window_end;
                let mut stats = ctx.stats.borrow_mut();
                match result {
                    Ok(_) if in_window => {
                        stats.entries_in_window += 1;
                        stats.entry_latency.saturating_record(ended.duration_since(began).as_micros() as u64);
                    }
                    Ok(_) => {}
                    Err(error) => *stats.entry_failures.entry(error.kind()).or_default() += 1,
                }
            }
        });
    }
    sleep_until(window_start).await;
    let (server_w0, self_w0, w0) = (sampler.server(), Proc::Myself.sample(), Instant::now());
    let ran_out = tokio::select! {
        _ = sleep_until(window_end) => false,
        _ = async { while workers.join_next().await.is_some() {} } => true,
    };
    let (server_w1, self_w1, w1) = (sampler.server(), Proc::Myself.sample(), Instant::now());
    let load_average_end = crate::procfs::load_average();
    let _ = timeout(STEP_TIMEOUT, async { while workers.join_next().await.is_some() {} }).await;
    workers.abort_all();
    let window = w1.duration_since(w0).as_secs_f64();
    let stats = ctx.stats.borrow();
    let server_cpu = cpu_secs(server_w0, server_w1);
    let generator_cpu = cpu_secs(self_w0, self_w1).map_or(0.0, |c| c / window * 100.0);
    let completed = stats.entries_in_window;
    let mut errors = Vec::new();
    if ran_out {
        errors.push(format!("every one of the {} entries was made before the window ended", ctx.n()));
    }
    Ok(Report {
        scenario: Scenario::Entry,
        options: ctx.opts.clone(),
        started_unix_ms,
        window_secs: window,
        load_average_start,
        load_average_end,
        senders: 0,
        clients: ClientCounts {
            requested: ctx.n(),
            entered: next.get(),
            failures: stats.entry_failures.clone(),
            errors,
            ..ClientCounts::default()
        },
        phases: vec![Phase {
            name: "window".into(),
            secs: window,
            server_cpu_secs: server_cpu,
            server_rss_kib_after: server_w1.map(|s| s.rss_kib),
        }],
        messages: Messages::default(),
        deliveries: Deliveries::default(),
        latency_ms: Latency::default(),
        send_lag_ms: Latency::default(),
        server: ServerUse {
            pids: ctx.opts.server_pid.clone(),
            cpu_secs_window: server_cpu,
            cpu_percent: server_cpu.map(|c| c / window * 100.0),
            runqueue_wait_secs_window: wait_secs(server_w0, server_w1),
            rss_kib_start: server_w0.map(|s| s.rss_kib),
            rss_kib_end: server_w1.map(|s| s.rss_kib),
            threads: server_w1.map(|s| s.threads),
            ..ServerUse::default()
        },
        generator: GeneratorUse {
            cpu_percent: generator_cpu,
            runqueue_wait_secs_window: wait_secs(self_w0, self_w1).unwrap_or(0.0),
            rss_kib: self_w1.map_or(0, |s| s.rss_kib),
            warning: (generator_cpu > GENERATOR_SATURATED)
                .then(|| format!("load generator at {generator_cpu:.0}% of its core: this run measured the client")),
        },
        slow: None,
        entries: Some(Entries {
            completed_in_window: completed,
            per_second: if window > 0.0 { completed as f64 / window } else { 0.0 },
            failed: stats.entry_failures.clone(),
            server_cpu_us_per_entry: server_cpu.filter(|_| completed > 0).map(|c| c * 1e6 / completed as f64),
        }),
        entry_latency_ms: Some(Latency::from_micros(&stats.entry_latency)),
    })
}
