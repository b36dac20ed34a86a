//! Benchmark of one scheduler pass over 1,000 connectors (issue 17, part 2): the pass the
//! `scheduler` Lambda function runs ([`Scheduler::tick`]: connectors, then dispatch), against a
//! release es-sim in its own process, with `dir` connectors (no other server needed):
//! - 60% idle (half without a schedule, half with a daily schedule that is not due),
//! - 20% with a full sync schedule due (one scheduled job each),
//! - 10% with an on-demand job pending (dispatched by the pass),
//! - 10% in error (their folder does not exist, so their check fails).
//!
//! Figures per pass: wall time, Elasticsearch requests (per pass and per connector), bytes read
//! and sent, counted by the client ([`es_client::EsClient::stats`]). The first pass sees the
//! connectors as Kibana left them (never checked in, features not published); the second one,
//! right after, is the steady state; a third one finds every connector's heartbeat due (as one
//! pass in five does with the default 300 s heartbeat and a pass a minute). Each run starts a
//! fresh es-sim; figures are medians of `RUNS` (3).
//!
//! `cargo bench -p connectors-tests --bench scheduler_pass` (release). `SCHEDULER_BENCH_CONNECTORS`
//! changes the number of connectors (1,000); `SCHEDULER_BENCH_LATENCY_MS` makes es-sim answer
//! every request of the passes that much later (0), as a cluster across a network does.

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use connectors_engine::queue::MemoryQueue;
use connectors_engine::scheduler::{Scheduler, SchedulerConfig, TickReport};
use connectors_engine::{Engine, EngineConfig};
use connectors_protocol::{JobType, ScheduleEntry, Scheduling, Timestamp, TriggerMethod};
use es_client::{
    ConfigurationUpdate, EsClient, EsConfig, LastSyncUpdate, NewConnector, RequestStats,
};
use futures_util::StreamExt;
use serde_json::json;

use common::{median, start_es_sim};

/// What a connector of the mix is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    IdleUnscheduled,
    IdleNotDue,
    ScheduledDue,
    OnDemand,
    Failing,
}

fn kind(i: usize) -> Kind {
    match i % 10 {
        0..=2 => Kind::IdleUnscheduled,
        3..=5 => Kind::IdleNotDue,
        6 | 7 => Kind::ScheduledDue,
        8 => Kind::OnDemand,
        _ => Kind::Failing,
    }
}

/// A daily full sync at 03:00 UTC.
fn daily() -> Scheduling {
    Scheduling {
        full: Some(ScheduleEntry {
            enabled: true,
            interval: "0 0 3 * * ?".into(),
            extra: Default::default(),
        }),
        ..Default::default()
    }
}

/// Creates connector `i` as Kibana would, in the state its kind needs.
async fn create(es: &EsClient, i: usize, root: &Path) {
    let id = format!("c{i:05}");
    let c = es.connectors();
    c.put(
        Some(&id),
        &NewConnector {
            index_name: Some(format!("search-{id}")),
            service_type: Some("dir".into()),
            name: Some(id.clone()),
            ..Default::default()
        },
    )
    .await
    .expect("put connector");
    let mut schema = connectors_sources::registry()
        .get("dir")
        .expect("the dir source")
        .default_configuration();
    let directory = match kind(i) {
        Kind::Failing => root.join("does-not-exist"),
        _ => root.to_path_buf(),
    };
    schema["directory"].value = json!(directory.display().to_string());
    c.update_configuration(&id, &ConfigurationUpdate::Schema(schema))
        .await
        .expect("configuration");
    let now = chrono::Utc::now();
    let last = match kind(i) {
        Kind::IdleNotDue => Some(now),
        Kind::ScheduledDue => Some(now - chrono::Duration::days(2)),
        _ => None,
    };
    if let Some(last) = last {
        c.update_scheduling(&id, &daily())
            .await
            .expect("scheduling");
        let update = LastSyncUpdate {
            last_sync_scheduled_at: Some(Timestamp(last)),
            ..Default::default()
        };
        c.update_last_sync(&id, &update).await.expect("last sync");
    }
    if kind(i) == Kind::OnDemand {
        es.sync_jobs()
            .create(&id, JobType::Full, TriggerMethod::OnDemand)
            .await
            .expect("on-demand job");
    }
}

/// One pass: its report, wall time and what it cost.
async fn pass(scheduler: &Scheduler, es: &EsClient) -> (TickReport, Duration, RequestStats) {
    let before = es.stats();
    let started = Instant::now();
    let report = scheduler.tick().await.expect("scheduler pass");
    (report, started.elapsed(), es.stats() - before)
}

struct Figures {
    secs: Vec<f64>,
    requests: Vec<f64>,
    read: Vec<f64>,
    sent: Vec<f64>,
}

impl Figures {
    fn new() -> Self {
        Figures {
            secs: Vec::new(),
            requests: Vec::new(),
            read: Vec::new(),
            sent: Vec::new(),
        }
    }

    fn push(&mut self, took: Duration, stats: RequestStats) {
        self.secs.push(took.as_secs_f64());
        self.requests.push(stats.requests as f64);
        self.read.push(stats.bytes_received as f64);
        self.sent.push(stats.bytes_sent as f64);
    }

    fn print(self, what: &str, connectors: usize) {
        let requests = median(self.requests);
        println!(
            "{what}: {:.3} s, {requests:.0} requests ({:.2} per connector), {:.2} MB read, {:.2} MB sent (medians)",
            median(self.secs),
            requests / connectors as f64,
            median(self.read) / 1e6,
            median(self.sent) / 1e6,
        );
    }
}

/// Makes es-sim wait `ms` before answering each request (its fault injection endpoint).
async fn set_latency(url: &str, ms: u64) {
    let response = reqwest::Client::new()
        .put(format!("{url}/_sim/faults"))
        .header("content-type", "application/json")
        .body(json!({ "latency_ms": ms }).to_string())
        .send()
        .await
        .expect("es-sim faults");
    assert!(response.status().is_success(), "{}", response.status());
}

async fn run(connectors: usize, runs: usize, latency_ms: u64) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = std::fs::canonicalize(tmp.path()).expect("root");
    std::fs::write(root.join("a.txt"), "a").expect("file");
    let due = (0..connectors)
        .filter(|i| kind(*i) == Kind::ScheduledDue)
        .count();
    let on_demand = (0..connectors)
        .filter(|i| kind(*i) == Kind::OnDemand)
        .count();
    let mut first = Figures::new();
    let mut steady = Figures::new();
    let mut heartbeat = Figures::new();
    for run in 0..runs {
        let (mut sim, url) = start_es_sim();
        let es = EsClient::new(EsConfig::url(&url)).expect("client");
        let started = Instant::now();
        futures_util::stream::iter(0..connectors)
            .map(|i| {
                let (es, root) = (es.clone(), root.clone());
                async move { create(&es, i, &root).await }
            })
            .buffer_unordered(16)
            .collect::<Vec<()>>()
            .await;
        println!(
            "run {run}: created {connectors} connectors in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        if latency_ms > 0 {
            set_latency(&url, latency_ms).await;
        }
        let engine = Engine::new(
            es.clone(),
            Arc::new(connectors_sources::registry()),
            EngineConfig::default(),
        );
        let queue = Arc::new(MemoryQueue::new());
        let config = SchedulerConfig {
            service_types: vec!["dir".into()],
            ..Default::default()
        };
        let scheduler = Scheduler::new(engine.clone(), queue.clone(), config.clone());
        let (report, took, stats) = pass(&scheduler, &es).await;
        println!(
            "run {run}: first pass {:.3} s, {} requests, {} bytes read, {} sent; {report:?}",
            took.as_secs_f64(),
            stats.requests,
            stats.bytes_received,
            stats.bytes_sent
        );
        assert_eq!(report.connectors, connectors);
        assert_eq!(report.scheduled, due, "{report:?}");
        assert_eq!(report.dispatched, due + on_demand, "{report:?}");
        assert!(report.errors.is_empty(), "{report:?}");
        assert_eq!(queue.len(), due + on_demand);
        first.push(took, stats);
        let (report, took, stats) = pass(&scheduler, &es).await;
        println!(
            "run {run}: second pass {:.3} s, {} requests, {} bytes read, {} sent; {report:?}",
            took.as_secs_f64(),
            stats.requests,
            stats.bytes_received,
            stats.bytes_sent
        );
        assert_eq!((report.scheduled, report.dispatched), (0, 0), "{report:?}");
        assert!(report.errors.is_empty(), "{report:?}");
        steady.push(took, stats);
        // The heartbeat interval passed for every connector: each one checks in.
        let every_pass = Scheduler::new(
            engine,
            queue.clone(),
            SchedulerConfig {
                heartbeat_interval: Duration::ZERO,
                ..config
            },
        );
        let (report, took, stats) = pass(&every_pass, &es).await;
        println!(
            "run {run}: check-in pass {:.3} s, {} requests, {} bytes read, {} sent",
            took.as_secs_f64(),
            stats.requests,
            stats.bytes_received,
            stats.bytes_sent
        );
        assert!(report.errors.is_empty(), "{report:?}");
        heartbeat.push(took, stats);
        let _ = sim.kill();
        let _ = sim.wait();
    }
    println!(
        "{connectors} connectors ({due} with a schedule due, {on_demand} with an on-demand job, {} failing their check), {latency_ms} ms of latency per request:",
        (0..connectors)
            .filter(|i| kind(*i) == Kind::Failing)
            .count()
    );
    first.print("  first pass", connectors);
    steady.print("  steady-state pass", connectors);
    heartbeat.print("  steady-state pass with every heartbeat due", connectors);
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    // `RUST_LOG=es_client=debug` lists every request of the passes.
    connectors_testkit::init_logs();
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let connectors: usize = std::env::var("SCHEDULER_BENCH_CONNECTORS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let latency_ms: u64 = std::env::var("SCHEDULER_BENCH_LATENCY_MS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    rt.block_on(run(connectors, runs.max(1), latency_ms));
}
