//! What the benches share: the process's peak RSS, a release es-sim in its own process, medians.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

/// This process's peak resident set (`VmHWM`), in MiB.
pub fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

pub fn start_es_sim() -> (Child, String) {
    // The release es-sim of this workspace's target folder (`CARGO_TARGET_DIR` if set).
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let bin = target.join("release/es-sim");
    if !bin.exists() {
        let ok = Command::new("cargo")
            .args(["build", "--release", "-p", "es-sim"])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "cargo build --release -p es-sim failed");
    }
    let mut child = Command::new(&bin)
        .args(["--port", "0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("es-sim starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("es-sim prints its address");
    let url = line
        .trim()
        .rsplit(' ')
        .next()
        .unwrap_or_default()
        .to_string();
    (child, url)
}

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

/// Creates connector `id` (index `search-<id>`) of `service_type` with `schema`, unless it
/// exists; `true` when it was created.
pub async fn ensure_connector(
    es: &es_client::EsClient,
    id: &str,
    service_type: &str,
    schema: connectors_protocol::Configuration,
) -> bool {
    if es.connectors().get(id, false).await.is_ok() {
        return false;
    }
    es.connectors()
        .put(
            Some(id),
            &es_client::NewConnector {
                index_name: Some(format!("search-{id}")),
                service_type: Some(service_type.into()),
                ..Default::default()
            },
        )
        .await
        .expect("connector");
    es.connectors()
        .update_configuration(id, &es_client::ConfigurationUpdate::Schema(schema))
        .await
        .expect("configuration");
    true
}

/// Creates a job of `kind` and runs it to its end in one-hour slices (it must complete);
/// returns the documents it indexed and its seconds.
pub async fn run_job(
    es: &es_client::EsClient,
    engine: &connectors_engine::Engine,
    connector: &str,
    kind: connectors_protocol::JobType,
) -> (u64, f64) {
    use connectors_engine::{Budget, SliceOutcome};
    let job = es
        .sync_jobs()
        .create(
            connector,
            kind,
            connectors_protocol::TriggerMethod::OnDemand,
        )
        .await
        .expect("job");
    let started = std::time::Instant::now();
    let mut slice = Some(0);
    loop {
        match engine
            .run_slice(
                &job,
                slice,
                Budget::for_duration(std::time::Duration::from_secs(3600)),
            )
            .await
            .expect("slice")
        {
            SliceOutcome::Finished(s) => {
                assert_eq!(s, connectors_protocol::SyncStatus::Completed);
                break;
            }
            SliceOutcome::Continue { next_slice } => slice = Some(next_slice),
            other => panic!("{other:?}"),
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let docs = es
        .sync_jobs()
        .get(&job)
        .await
        .expect("job")
        .indexed_document_count;
    (docs, secs)
}

/// Runs this bench binary again with `args` (a measurement in a fresh process, so that its
/// peak RSS is its own) and reads its last line, `docs secs rss_mib`.
pub fn measure_in_child(args: &[String]) -> (u64, f64, f64) {
    let out = Command::new(std::env::current_exe().expect("self"))
        .env("MIMALLOC_ALLOW_THP", "0")
        .args(args)
        .output()
        .expect("measure");
    let text = String::from_utf8_lossy(&out.stdout);
    let f: Vec<&str> = text
        .lines()
        .last()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    assert!(
        f.len() == 3,
        "measurement failed: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        f[0].parse().unwrap_or(0),
        f[1].parse().unwrap_or(0.0),
        f[2].parse().unwrap_or(0.0),
    )
}
