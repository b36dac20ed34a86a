//! Full-sync throughput of the database sources, through the worker's code path.
//!
//! For each database (PostgreSQL at 127.0.0.1:5432, MariaDB/MySQL at 127.0.0.1:3306), fills a
//! table of `DB_BENCH_ROWS` rows (default 1,000,000) of 10 mixed columns, then per run:
//! 1. the floor: the database serializing every row to JSON and streaming it to a sink
//!    (`COPY (SELECT row_to_json(t) FROM t) TO STDOUT`; MySQL: `SELECT JSON_OBJECT(...)`);
//! 2. a full sync of the table into an in-process es-sim through `Engine::run_slice`, run in a
//!    fresh child process so that its peak RSS (`VmHWM`) is the sync's alone.
//!
//! Prints documents/s, MiB/s (document JSON sent), peak RSS, the floor's rate and the ratio, per
//! run and as medians of `DB_BENCH_RUNS` runs (default 3).
//!
//! `cargo bench -p connectors-sources --bench db_sync`; `DB_BENCH_DBS=postgresql,mysql` picks
//! the databases; `DB_BENCH_PAGE_SIZE` changes the engine's page size (default: the worker's).

use std::sync::Arc;
use std::time::{Duration, Instant};

use connectors_engine::{Budget, Engine, EngineConfig, SliceOutcome};
use connectors_protocol::{JobType, SyncStatus, TriggerMethod};
use connectors_sdk::{JsonFields, SourceDescriptor, SourceItem};
use es_client::{EsClient, EsConfig, NewConnector};
use futures_util::StreamExt;
use mysql_async::prelude::Queryable;
use serde_json::{Value, json};

mod common;

use common::{cpu_seconds, env_usize, median, vm_hwm_kib};

// The allocator the shipped binaries use.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PG_SCHEMA: &str = "bench_sync";
const MY_DATABASE: &str = "bench_sync";
const TABLE: &str = "items";
const MY_USER: &str = "connectors_bench";
const MY_PASSWORD: &str = "connectors-bench-pw";

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    if let Ok(spec) = std::env::var("DB_BENCH_CHILD") {
        runtime.block_on(child(&spec));
        return;
    }
    runtime.block_on(parent());
}

/// The sync, in its own process: runs the job to its end and prints what it measured.
async fn child(spec: &str) {
    let spec: Value = serde_json::from_str(spec).expect("child spec");
    let es = EsClient::new(EsConfig::url(spec["es"].as_str().expect("es"))).expect("client");
    let mut config = EngineConfig::default();
    if let Some(p) = spec["page_size"].as_u64() {
        config.page_size = p as usize;
    }
    let mut registry = connectors_sources::registry();
    registry.register(Box::new(Replay));
    let engine = Engine::new(es, Arc::new(registry), config);
    let job = spec["job"].as_str().expect("job");
    let rss_before = vm_hwm_kib();
    let started = Instant::now();
    let mut slice = Some(0);
    let status = loop {
        match engine
            .run_slice(job, slice, Budget::for_duration(Duration::from_secs(3600)))
            .await
            .expect("slice")
        {
            SliceOutcome::Finished(s) => break s,
            SliceOutcome::Continue { next_slice } => slice = Some(next_slice),
            other => panic!("unexpected {other:?}"),
        }
    };
    let elapsed = started.elapsed().as_secs_f64();
    println!(
        "RESULT {}",
        json!({"status": status, "seconds": elapsed, "hwm_kib": vm_hwm_kib(),
               "hwm_before_kib": rss_before, "cpu_seconds": cpu_seconds()})
    );
}

/// `bench_replay`: `count` copies of a `template` document (with their own `_id`), produced at
/// the cost of a clone each. Syncing it measures what the engine and es-sim alone can do with
/// documents of the same shape: the ceiling of any source.
struct Replay;

impl SourceDescriptor for Replay {
    fn service_type(&self) -> &'static str {
        "bench_replay"
    }
    fn name(&self) -> &'static str {
        "Replay"
    }
    fn default_configuration(&self) -> connectors_protocol::Configuration {
        let mut template = connectors_protocol::ConfigField::new("Template");
        template.value = json!("{}");
        let mut count = connectors_protocol::ConfigField::new("Count");
        count.value = json!("0");
        connectors_protocol::Configuration::from([
            ("template".to_string(), template),
            ("count".to_string(), count),
        ])
    }
    fn build(
        &self,
        c: &connectors_protocol::Configuration,
    ) -> Result<Box<dyn connectors_sdk::DataSource>, connectors_sdk::SourceError> {
        let text = |k: &str| c[k].value.as_str().unwrap_or_default().to_string();
        let mut template: serde_json::Map<String, Value> =
            serde_json::from_str(&text("template")).unwrap_or_default();
        template.shift_remove("_id");
        let writes_id = template.shift_remove("id").is_some();
        let timestamp = template
            .shift_remove("_timestamp")
            .map(|t| t.to_string().into_bytes());
        let members = Value::Object(template).to_string();
        Ok(Box::new(ReplaySource {
            members: members.as_bytes()[1..members.len() - 1].to_vec(),
            timestamp,
            writes_id,
            count: text("count").parse().unwrap_or(0),
        }))
    }
}

/// Replays one sampled document (as the database sources do, written as JSON).
struct ReplaySource {
    /// The sample's members without `_id` and `_timestamp`.
    members: Vec<u8>,
    timestamp: Option<Vec<u8>>,
    /// Whether the sample has an `id` column (MySQL), which holds the `_id`.
    writes_id: bool,
    count: u64,
}

#[async_trait::async_trait]
impl connectors_sdk::DataSource for ReplaySource {
    async fn ping(&self) -> Result<(), connectors_sdk::SourceError> {
        Ok(())
    }
    async fn fetch_page(
        &self,
        request: connectors_sdk::PageRequest<'_>,
    ) -> Result<connectors_sdk::Page, connectors_sdk::SourceError> {
        let start = request.cursor.and_then(Value::as_u64).unwrap_or(0);
        let end = (start + request.page_size as u64).min(self.count);
        let items = (start..end)
            .map(|i| {
                let id = format!("replay_{i}");
                let mut fields = JsonFields::with_capacity(self.members.len() + 64);
                if self.writes_id {
                    fields.id(&id);
                }
                fields.members(&self.members);
                if let Some(t) = &self.timestamp {
                    fields.timestamp(t);
                }
                SourceItem::Json(fields.finish(id))
            })
            .collect();
        Ok(connectors_sdk::Page {
            items,
            next: (end < self.count).then(|| json!(end)),
            sync_cursor: None,
        })
    }
}

/// Lists every page of a source in this process, without the engine: the source's own rate.
async fn source_only(
    descriptor: &dyn SourceDescriptor,
    config: &connectors_protocol::Configuration,
    page_size: usize,
) -> (f64, serde_json::Map<String, Value>) {
    let source = descriptor.build(config).expect("build");
    let started = Instant::now();
    let mut cursor: Option<Value> = None;
    let mut n = 0usize;
    let mut sample = serde_json::Map::new();
    loop {
        let page = source
            .fetch_page(connectors_sdk::PageRequest {
                cursor: cursor.as_ref(),
                mode: connectors_sdk::SyncMode::Full,
                advanced_rules: None,
                page_size,
            })
            .await
            .expect("page");
        n += page.items.len();
        if sample.is_empty()
            && let Some(d) = page.items.first().and_then(|i| i.to_document())
        {
            sample = d.fields;
        }
        match page.next {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    (n as f64 / started.elapsed().as_secs_f64(), sample)
}

/// The engine and es-sim alone, on `rows` copies of `sample`.
async fn ceiling(
    sample: &serde_json::Map<String, Value>,
    rows: usize,
    page_size: Option<usize>,
) -> f64 {
    let mut config = Replay.default_configuration();
    config["template"].value = json!(Value::Object(sample.clone()).to_string());
    config["count"].value = json!(rows.to_string());
    sync_once("bench_replay", config, rows, page_size).await.0
}

#[derive(Debug, Clone, Copy)]
struct Run {
    floor_rows_s: f64,
    floor_mib_s: f64,
    docs_s: f64,
    mib_s: f64,
    rss_mib: f64,
    /// The source listing alone (no engine), and the engine with es-sim alone (no database).
    source_s: f64,
    ceiling_s: f64,
}

async fn parent() {
    let rows = env_usize("DB_BENCH_ROWS", 1_000_000);
    let runs = env_usize("DB_BENCH_RUNS", 3).max(1);
    let page_size = std::env::var("DB_BENCH_PAGE_SIZE")
        .ok()
        .and_then(|v| v.parse::<usize>().ok());
    let dbs = std::env::var("DB_BENCH_DBS").unwrap_or_else(|_| "postgresql,mysql".into());
    println!(
        "db_sync: {rows} rows, {runs} runs, engine page size {}",
        page_size.unwrap_or(EngineConfig::default().page_size)
    );
    for db in dbs.split(',').map(str::trim) {
        let results = match db {
            "postgresql" => bench_postgres(rows, runs, page_size).await,
            "mysql" => bench_mysql(rows, runs, page_size).await,
            other => panic!("unknown database {other}"),
        };
        let Some(results) = results else { continue };
        let floor = median(results.iter().map(|r| r.floor_rows_s).collect());
        let docs = median(results.iter().map(|r| r.docs_s).collect());
        println!(
            "{db} median of {runs}: {docs:.0} docs/s, {:.1} MiB/s, peak RSS {:.1} MiB; floor {floor:.0} rows/s ({:.1} MiB/s); ratio {:.1}%; source alone {:.0} docs/s; engine+es-sim alone {:.0} docs/s",
            median(results.iter().map(|r| r.mib_s).collect()),
            median(results.iter().map(|r| r.rss_mib).collect()),
            median(results.iter().map(|r| r.floor_mib_s).collect()),
            100.0 * docs / floor,
            median(results.iter().map(|r| r.source_s).collect()),
            median(results.iter().map(|r| r.ceiling_s).collect()),
        );
    }
}

/// Runs one full sync of `config` in a child process; returns (docs/s, MiB/s, peak RSS MiB).
async fn sync_once(
    service_type: &str,
    config: connectors_protocol::Configuration,
    rows: usize,
    page_size: Option<usize>,
) -> (f64, f64, f64) {
    let sim = es_sim::start(es_sim::SimConfig {
        refresh_interval: None,
        ..es_sim::SimConfig::default()
    })
    .await
    .expect("es-sim");
    let es = EsClient::new(EsConfig::url(sim.url())).expect("client");
    let id = format!("bench-{service_type}");
    let index = format!("search-bench-{service_type}");
    es.connectors()
        .put(
            Some(&id),
            &NewConnector {
                index_name: Some(index.clone()),
                service_type: Some(service_type.into()),
                name: Some(id.clone()),
                ..Default::default()
            },
        )
        .await
        .expect("connector");
    es.connectors()
        .update_configuration(&id, &es_client::ConfigurationUpdate::Schema(config))
        .await
        .expect("configuration");
    let job = es
        .sync_jobs()
        .create(&id, JobType::Full, TriggerMethod::OnDemand)
        .await
        .expect("job");
    let spec = json!({"es": sim.url(), "job": job, "page_size": page_size});
    let exe = std::env::current_exe().expect("current exe");
    let started = Instant::now();
    let parent_cpu = cpu_seconds();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(exe)
            .env("DB_BENCH_CHILD", spec.to_string())
            // The opt-out of transparent huge pages that the `connectors` binary makes with
            // prctl(PR_SET_THP_DISABLE): mimalloc makes the same call when told so.
            .env("MIMALLOC_ALLOW_THP", "0")
            .output()
    })
    .await
    .expect("join")
    .expect("child runs");
    let wall = started.elapsed().as_secs_f64();
    let es_sim_cpu = cpu_seconds() - parent_cpu;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let Some(line) = stdout.lines().find_map(|l| l.strip_prefix("RESULT ")) else {
        panic!(
            "the sync child failed: {}\n{}",
            stdout,
            String::from_utf8_lossy(&out.stderr)
        );
    };
    let result: Value = serde_json::from_str(line).expect("result");
    if result["status"] != json!(SyncStatus::Completed) {
        let j = es.sync_jobs().get(&job).await.expect("job doc");
        panic!("the sync ended {}: {:?}", result["status"], j.error);
    }
    let seconds = result["seconds"].as_f64().unwrap_or(wall);
    println!(
        "  {service_type}: {seconds:.2} s; CPU seconds: sync process {:.2}, es-sim {es_sim_cpu:.2}",
        result["cpu_seconds"].as_f64().unwrap_or(0.0)
    );
    let j = es.sync_jobs().get(&job).await.expect("job doc");
    assert_eq!(j.indexed_document_count as usize, rows, "every row indexed");
    let bytes = j
        .metadata
        .as_ref()
        .and_then(|m| m.get("checkpoint"))
        .and_then(|c| c["counters"]["bytes_sent"].as_u64())
        .unwrap_or(0);
    sim.shutdown().await;
    (
        rows as f64 / seconds,
        bytes as f64 / (1024.0 * 1024.0) / seconds,
        result["hwm_kib"].as_f64().unwrap_or(0.0) / 1024.0,
    )
}

fn report(db: &str, run: usize, r: &Run) {
    println!(
        "{db} run {run}: sync {:.0} docs/s, {:.1} MiB/s, peak RSS {:.1} MiB | floor {:.0} rows/s, {:.1} MiB/s | ratio {:.1}% | source alone {:.0} docs/s | engine+es-sim alone {:.0} docs/s",
        r.docs_s,
        r.mib_s,
        r.rss_mib,
        r.floor_rows_s,
        r.floor_mib_s,
        100.0 * r.docs_s / r.floor_rows_s,
        r.source_s,
        r.ceiling_s,
    );
}

// ---------------------------------------------------------------------------------------------
// PostgreSQL

async fn bench_postgres(rows: usize, runs: usize, page_size: Option<usize>) -> Option<Vec<Run>> {
    let Ok((client, conn)) = tokio_postgres::connect(
        "host=127.0.0.1 port=5432 user=postgres dbname=test",
        tokio_postgres::NoTls,
    )
    .await
    else {
        println!("postgresql: not reachable at 127.0.0.1:5432, skipped");
        return None;
    };
    tokio::spawn(conn);
    let current: Option<i64> = client
        .query_opt(&format!("SELECT count(*) FROM {PG_SCHEMA}.{TABLE}"), &[])
        .await
        .ok()
        .flatten()
        .map(|r| r.get(0));
    if current != Some(rows as i64) {
        let started = Instant::now();
        client
            .batch_execute(&format!(
                "DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE; CREATE SCHEMA {PG_SCHEMA};
                 CREATE TABLE {PG_SCHEMA}.{TABLE} (
                    id bigint PRIMARY KEY, name text NOT NULL, email text, score double precision,
                    amount numeric(12,2), active boolean, created_at timestamptz, day date,
                    tags text[], payload jsonb);
                 INSERT INTO {PG_SCHEMA}.{TABLE}
                 SELECT i, 'item number ' || i, 'user' || i || '@example.com', i * 0.5,
                        (i % 100000) / 100.0, i % 3 = 0,
                        timestamptz '2024-01-01 00:00:00+00' + i * interval '1 second',
                        date '2020-01-01' + (i % 1000),
                        ARRAY['tag' || (i % 10), 'group' || (i % 7)],
                        jsonb_build_object('n', i, 'kind', CASE WHEN i % 2 = 0 THEN 'even' ELSE 'odd' END)
                 FROM generate_series(1, {rows}) i;"
            ))
            .await
            .expect("fill the PostgreSQL table");
        client
            .batch_execute(&format!("VACUUM ANALYZE {PG_SCHEMA}.{TABLE}"))
            .await
            .expect("vacuum");
        println!(
            "postgresql: filled {rows} rows in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    let source = connectors_sources::postgresql::PostgresSource;
    let mut config = source.default_configuration();
    for (k, v) in [
        ("host", json!("127.0.0.1")),
        ("port", json!(5432)),
        ("username", json!("postgres")),
        // Required by the schema; trust authentication does not check it.
        ("password", json!("unused")),
        ("database", json!("test")),
        ("schema", json!(PG_SCHEMA)),
        ("tables", json!(TABLE)),
    ] {
        config[k].value = v;
    }
    let mut results = Vec::new();
    for run in 1..=runs {
        let started = Instant::now();
        let stream = client
            .copy_out(&format!(
                "COPY (SELECT row_to_json(t) FROM {PG_SCHEMA}.{TABLE} t) TO STDOUT"
            ))
            .await
            .expect("copy");
        futures_util::pin_mut!(stream);
        let mut bytes = 0usize;
        while let Some(chunk) = stream.next().await {
            bytes += std::hint::black_box(chunk.expect("copy data")).len();
        }
        let floor_s = started.elapsed().as_secs_f64();
        let (docs_s, mib_s, rss_mib) =
            sync_once("postgresql", config.clone(), rows, page_size).await;
        let (source_s, sample) = source_only(&source, &config, page_size.unwrap_or(100)).await;
        let ceiling_s = ceiling(&sample, rows, page_size).await;
        let r = Run {
            floor_rows_s: rows as f64 / floor_s,
            floor_mib_s: bytes as f64 / (1024.0 * 1024.0) / floor_s,
            docs_s,
            mib_s,
            rss_mib,
            source_s,
            ceiling_s,
        };
        report("postgresql", run, &r);
        results.push(r);
    }
    Some(results)
}

// ---------------------------------------------------------------------------------------------
// MySQL / MariaDB

async fn bench_mysql(rows: usize, runs: usize, page_size: Option<usize>) -> Option<Vec<Run>> {
    let opts = mysql_async::OptsBuilder::default()
        .ip_or_hostname("127.0.0.1")
        .tcp_port(3306)
        .user(Some("root"));
    let Ok(mut conn) = mysql_async::Conn::new(opts).await else {
        println!("mysql: not reachable at 127.0.0.1:3306, skipped");
        return None;
    };
    // `password` is a required field and the local root has none: a user with one.
    for host in ["127.0.0.1", "localhost"] {
        conn.query_drop(format!(
            "CREATE USER IF NOT EXISTS '{MY_USER}'@'{host}' IDENTIFIED BY '{MY_PASSWORD}'; \
             GRANT ALL PRIVILEGES ON *.* TO '{MY_USER}'@'{host}'"
        ))
        .await
        .expect("bench user");
    }
    let current: Option<i64> = conn
        .query_first(format!("SELECT count(*) FROM {MY_DATABASE}.{TABLE}"))
        .await
        .ok()
        .flatten();
    if current != Some(rows as i64) {
        let started = Instant::now();
        conn.query_drop(format!(
            "DROP DATABASE IF EXISTS {MY_DATABASE}; CREATE DATABASE {MY_DATABASE}; USE {MY_DATABASE};
             CREATE TABLE {MY_DATABASE}.{TABLE} (
                id bigint PRIMARY KEY, name varchar(100) NOT NULL, email varchar(100),
                score double, amount decimal(12,2), active tinyint(1), created_at datetime(6),
                day date, tags varchar(100), payload json) ENGINE=InnoDB;
             INSERT INTO {MY_DATABASE}.{TABLE}
             SELECT seq, CONCAT('item number ', seq), CONCAT('user', seq, '@example.com'), seq * 0.5,
                    (seq % 100000) / 100.0, seq % 3 = 0,
                    TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq SECOND,
                    DATE '2020-01-01' + INTERVAL (seq % 1000) DAY,
                    CONCAT('tag', seq % 10, ',group', seq % 7),
                    JSON_OBJECT('n', seq, 'kind', IF(seq % 2 = 0, 'even', 'odd'))
             FROM seq_1_to_{rows};
             ANALYZE TABLE {MY_DATABASE}.{TABLE};"
        ))
        .await
        .expect("fill the MySQL table (MariaDB's sequence engine)");
        println!(
            "mysql: filled {rows} rows in {:.1} s",
            started.elapsed().as_secs_f64()
        );
    }
    let source = connectors_sources::mysql::MySqlSource;
    let mut config = source.default_configuration();
    for (k, v) in [
        ("host", json!("127.0.0.1")),
        ("port", json!(3306)),
        ("user", json!(MY_USER)),
        ("password", json!(MY_PASSWORD)),
        ("database", json!(MY_DATABASE)),
        ("tables", json!(TABLE)),
    ] {
        config[k].value = v;
    }
    let mut results = Vec::new();
    for run in 1..=runs {
        let started = Instant::now();
        let mut result = conn
            .query_iter(format!(
                "SELECT JSON_OBJECT('id', id, 'name', name, 'email', email, 'score', score, \
                 'amount', amount, 'active', active, 'created_at', created_at, 'day', day, \
                 'tags', tags, 'payload', payload) FROM {MY_DATABASE}.{TABLE}"
            ))
            .await
            .expect("json query");
        let mut bytes = 0usize;
        while let Some(row) = result.next().await.expect("row") {
            if let Some(mysql_async::Value::Bytes(b)) = row.as_ref(0) {
                bytes += std::hint::black_box(b).len() + 1;
            }
        }
        drop(result);
        let floor_s = started.elapsed().as_secs_f64();
        let (docs_s, mib_s, rss_mib) = sync_once("mysql", config.clone(), rows, page_size).await;
        let (source_s, sample) = source_only(&source, &config, page_size.unwrap_or(100)).await;
        let ceiling_s = ceiling(&sample, rows, page_size).await;
        let r = Run {
            floor_rows_s: rows as f64 / floor_s,
            floor_mib_s: bytes as f64 / (1024.0 * 1024.0) / floor_s,
            docs_s,
            mib_s,
            rss_mib,
            source_s,
            ceiling_s,
        };
        report("mysql", run, &r);
        results.push(r);
    }
    let _ = conn.disconnect().await;
    Some(results)
}
