//! One full PostgreSQL sync run by 1, 2 and 4 workers: what partitioned jobs buy, and cost.
//!
//! Fills `PART_BENCH_TABLES` tables (default 8) with `PART_BENCH_ROWS` rows in all (default
//! 1,000,000) of 8 mixed columns, then for each set-up runs the same full sync in a fresh child
//! process (its workers over one in-process queue, as `connectors run` has them) against an
//! es-sim in this process:
//! - `1 worker, unsplit` (`max_partitions_per_job: 1`): the reference point;
//! - `1 worker, 8 partitions`: the cost of splitting alone;
//! - `2 workers, 8 partitions` and `4 workers, 8 partitions`.
//!
//! Prints per set-up the medians of `PART_BENCH_RUNS` runs (default 3): wall time, documents
//! per second, CPU seconds of the sync process per 100,000 documents (and its ratio to the
//! unsplit run's), peak RSS, and checkpoint writes with their conflicts per 1,000. This machine
//! has 2 cores shared by the workers, es-sim and PostgreSQL: wall time cannot scale past them,
//! CPU per document tells the overhead.
//!
//! `cargo bench -p connectors-sources --bench partitioned_sync` (`PART_BENCH_SETUPS=1x1,4x8`
//! picks the set-ups, workers x partitions; the first is the reference).

use std::sync::Arc;
use std::time::Duration;

use connectors_engine::{Engine, EngineConfig};
use connectors_protocol::{JobType, SyncStatus, TriggerMethod};
use connectors_sdk::SourceDescriptor;
use connectors_sources::postgresql::PostgresSource;
use connectors_testkit::pool::{PoolOptions, run_pool};
use es_client::{EsClient, EsConfig, NewConnector};
use serde_json::{Value, json};

mod common;

use common::{cpu_seconds, env_usize, median, vm_hwm_kib};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const SCHEMA: &str = "bench_part";

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    if let Ok(spec) = std::env::var("PART_BENCH_CHILD") {
        runtime.block_on(child(&spec));
        return;
    }
    runtime.block_on(parent());
}

/// The workers, in their own process: run the job to its end, print what was measured.
async fn child(spec: &str) {
    let spec: Value = serde_json::from_str(spec).expect("spec");
    let es = EsClient::new(EsConfig::url(spec["es"].as_str().expect("es"))).expect("client");
    let job = spec["job"].as_str().expect("job");
    let workers = spec["workers"].as_u64().unwrap_or(1) as usize;
    let config = EngineConfig {
        max_partitions: spec["partitions"].as_u64().unwrap_or(1) as usize,
        ..EngineConfig::default()
    };
    let registry = Arc::new(connectors_sources::registry());
    let engines: Vec<Engine> = (0..workers)
        .map(|_| Engine::new(es.clone(), Arc::clone(&registry), config.clone()))
        .collect();
    let options = PoolOptions {
        slice: Duration::from_secs(600),
        timeout: Duration::from_secs(1800),
        ..PoolOptions::default()
    };
    let cpu_before = cpu_seconds();
    let report = run_pool(&engines, &es, job, None, options).await;
    let (writes, conflicts) = engines
        .iter()
        .map(|e| e.contention().snapshot())
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    println!(
        "RESULT {}",
        json!({"status": report.status, "seconds": report.elapsed.as_secs_f64(),
               "cpu_seconds": cpu_seconds() - cpu_before, "hwm_kib": vm_hwm_kib(),
               "writes": writes, "conflicts": conflicts})
    );
}

#[derive(Debug, Clone, Copy, Default)]
struct Run {
    seconds: f64,
    cpu: f64,
    rss_mib: f64,
    writes: f64,
    conflicts: f64,
}

async fn parent() {
    let rows = env_usize("PART_BENCH_ROWS", 1_000_000);
    let tables = env_usize("PART_BENCH_TABLES", 8).max(1);
    let runs = env_usize("PART_BENCH_RUNS", 3).max(1);
    let Ok((client, conn)) = tokio_postgres::connect(
        "host=127.0.0.1 port=5432 user=postgres dbname=test",
        tokio_postgres::NoTls,
    )
    .await
    else {
        println!("partitioned_sync: PostgreSQL is not reachable at 127.0.0.1:5432, skipped");
        return;
    };
    tokio::spawn(conn);
    fill(&client, rows, tables).await;
    println!("partitioned_sync: {rows} rows in {tables} tables, {runs} runs per set-up");
    // `PART_BENCH_SETUPS=1x1,1x8` picks set-ups (workers x partitions); the first is the
    // reference for the CPU ratio.
    let setups: Vec<(usize, usize)> = std::env::var("PART_BENCH_SETUPS")
        .unwrap_or_else(|_| "1x1,1x8,2x8,4x8".into())
        .split(',')
        .filter_map(|s| {
            let (w, p) = s.trim().split_once('x')?;
            Some((w.parse().ok()?, p.parse().ok()?))
        })
        .collect();
    // Runs alternate between the set-ups, so that a drift of the machine (caches, the
    // database's background work) spreads over all of them.
    let mut results: Vec<Vec<Run>> = vec![Vec::new(); setups.len()];
    for run in 1..=runs {
        for (i, &(workers, partitions)) in setups.iter().enumerate() {
            let r = sync_once(rows, workers, partitions).await;
            println!(
                "  {workers} worker(s), max {partitions} partition(s), run {run}: {:.2} s, CPU {:.2} s, peak RSS {:.1} MiB, {} checkpoint writes, {} conflicts",
                r.seconds, r.cpu, r.rss_mib, r.writes, r.conflicts
            );
            results[i].push(r);
        }
    }
    let mut unsplit_cpu = None;
    for (&(workers, partitions), results) in setups.iter().zip(&results) {
        let seconds = median(results.iter().map(|r| r.seconds).collect());
        let cpu = median(results.iter().map(|r| r.cpu).collect());
        let cpu_per_100k = cpu * 100_000.0 / rows as f64;
        let base = *unsplit_cpu.get_or_insert(cpu_per_100k);
        let writes: f64 = results.iter().map(|r| r.writes).sum();
        let conflicts: f64 = results.iter().map(|r| r.conflicts).sum();
        let per_1000 = if writes > 0.0 {
            format!("{:.0}", conflicts * 1000.0 / writes)
        } else {
            "-".into()
        };
        println!(
            "{workers} worker(s), max {partitions} partition(s), median of {runs}: {seconds:.2} s, {:.0} docs/s, {cpu_per_100k:.2} CPU-s per 100k docs ({:.2}x the first), peak RSS {:.1} MiB, conflicts per 1,000 checkpoint writes: {per_1000}",
            rows as f64 / seconds,
            cpu_per_100k / base,
            median(results.iter().map(|r| r.rss_mib).collect()),
        );
    }
}

/// `tables` tables `t0`.. of about `rows / tables` rows each (kept between runs).
async fn fill(client: &tokio_postgres::Client, rows: usize, tables: usize) {
    let per = rows / tables;
    let mut ready = true;
    for t in 0..tables {
        let n: Option<i64> = client
            .query_opt(&format!("SELECT count(*) FROM {SCHEMA}.t{t}"), &[])
            .await
            .ok()
            .flatten()
            .map(|r| r.get(0));
        let want = if t + 1 == tables { rows - per * t } else { per };
        ready &= n == Some(want as i64);
    }
    if ready {
        return;
    }
    println!("filling {tables} tables with {rows} rows");
    client
        .batch_execute(&format!(
            "DROP SCHEMA IF EXISTS {SCHEMA} CASCADE; CREATE SCHEMA {SCHEMA}"
        ))
        .await
        .expect("schema");
    for t in 0..tables {
        let n = if t + 1 == tables { rows - per * t } else { per };
        client
            .batch_execute(&format!(
                "CREATE TABLE {SCHEMA}.t{t} (id bigint PRIMARY KEY, name text, qty int, \
                 price numeric(10,2), created timestamptz, active boolean, tags text, score float8);
                 INSERT INTO {SCHEMA}.t{t} SELECT i, 'item ' || i, i % 1000, (i % 10000) / 100.0, \
                 timestamptz '2024-01-01' + i * interval '1 second', i % 2 = 0, \
                 'tag' || (i % 50), i / 7.0 FROM generate_series(1, {n}) AS i;
                 ANALYZE {SCHEMA}.t{t};"
            ))
            .await
            .expect("fill");
    }
}

/// One sync of the schema with `workers` workers and at most `partitions` partitions.
async fn sync_once(rows: usize, workers: usize, partitions: usize) -> Run {
    let sim = es_sim::start(es_sim::SimConfig {
        refresh_interval: None,
        ..es_sim::SimConfig::default()
    })
    .await
    .expect("es-sim");
    let es = EsClient::new(EsConfig::url(sim.url())).expect("client");
    let mut config = PostgresSource.default_configuration();
    for (k, v) in [
        ("host", json!("127.0.0.1")),
        ("port", json!(5432)),
        ("username", json!("postgres")),
        ("password", json!("unused")),
        ("database", json!("test")),
        ("schema", json!(SCHEMA)),
        ("tables", json!("*")),
    ] {
        if let Some(f) = config.get_mut(k) {
            f.value = v;
        }
    }
    es.connectors()
        .put(
            Some("bench-part"),
            &NewConnector {
                index_name: Some("search-bench-part".into()),
                service_type: Some("postgresql".into()),
                name: Some("bench-part".into()),
                ..Default::default()
            },
        )
        .await
        .expect("connector");
    es.connectors()
        .update_configuration(
            "bench-part",
            &es_client::ConfigurationUpdate::Schema(config),
        )
        .await
        .expect("configuration");
    let job = es
        .sync_jobs()
        .create("bench-part", JobType::Full, TriggerMethod::OnDemand)
        .await
        .expect("job");
    let spec = json!({"es": sim.url(), "job": job, "workers": workers, "partitions": partitions});
    let exe = std::env::current_exe().expect("current exe");
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(exe)
            .env("PART_BENCH_CHILD", spec.to_string())
            .env("MIMALLOC_ALLOW_THP", "0")
            .output()
    })
    .await
    .expect("join")
    .expect("child runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let Some(line) = stdout.lines().find_map(|l| l.strip_prefix("RESULT ")) else {
        panic!(
            "the sync child failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let result: Value = serde_json::from_str(line).expect("result");
    let j = es.sync_jobs().get(&job).await.expect("job doc");
    assert_eq!(
        result["status"],
        json!(SyncStatus::Completed),
        "{:?}",
        j.error
    );
    assert_eq!(j.indexed_document_count as usize, rows, "every row once");
    assert_eq!(j.total_document_count as usize, rows);
    sim.shutdown().await;
    Run {
        seconds: result["seconds"].as_f64().unwrap_or(0.0),
        cpu: result["cpu_seconds"].as_f64().unwrap_or(0.0),
        rss_mib: result["hwm_kib"].as_f64().unwrap_or(0.0) / 1024.0,
        writes: result["writes"].as_f64().unwrap_or(0.0),
        conflicts: result["conflicts"].as_f64().unwrap_or(0.0),
    }
}
