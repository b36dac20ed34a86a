//! Benchmarks of the `dir` source through the sync engine (issue 3):
//! - throughput and peak RSS of a full sync of N small files into es-sim (N = 10,000 and
//!   100,000), and of a second full sync over an index that already holds them;
//! - checkpoint overhead: the same sync in slices of one page each versus in one go.
//!
//! `cargo bench -p connectors-tests --bench dir_sync` (release build). es-sim runs as a separate
//! process (the release `es-sim` binary) so that the sync process's peak RSS is its own. Each
//! measurement runs in a fresh process of this binary; figures are medians of `RUNS` (3).

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use connectors_engine::{Budget, Engine, EngineConfig, SliceOutcome};
use connectors_protocol::{JobType, TriggerMethod};
use es_client::{EsClient, EsConfig, NewConnector};
use serde_json::json;

use common::{median, peak_rss_mib, start_es_sim};

fn make_files(root: &Path, n: usize) {
    for i in 0..n {
        let dir = root.join(format!("d{:03}", i % 500));
        if i < 500 {
            std::fs::create_dir_all(&dir).expect("mkdir");
        }
        std::fs::write(
            dir.join(format!("file-{i:06}.txt")),
            format!("small file number {i}\n"),
        )
        .expect("write");
    }
}

/// One measured sync in this process; prints `docs secs rss_mib slices`.
async fn measure(url: &str, root: &Path, connector: &str, one_page_slices: bool, syncs: usize) {
    let es = EsClient::new(EsConfig::url(url)).expect("client");
    if es.connectors().get(connector, false).await.is_err() {
        es.connectors()
            .put(
                Some(connector),
                &NewConnector {
                    index_name: Some(format!("search-{connector}")),
                    service_type: Some("dir".into()),
                    ..Default::default()
                },
            )
            .await
            .expect("connector");
        let mut schema = connectors_sources::registry()
            .get("dir")
            .expect("dir")
            .default_configuration();
        schema["directory"].value = json!(root.display().to_string());
        es.connectors()
            .update_configuration(connector, &es_client::ConfigurationUpdate::Schema(schema))
            .await
            .expect("configuration");
    }
    let engine = Engine::new(
        es.clone(),
        Arc::new(connectors_sources::registry()),
        EngineConfig::default(),
    );
    let mut total = Duration::ZERO;
    let mut docs = 0;
    let mut slices = 0;
    for _ in 0..syncs {
        let job = es
            .sync_jobs()
            .create(connector, JobType::Full, TriggerMethod::OnDemand)
            .await
            .expect("job");
        let started = Instant::now();
        let mut slice = Some(0);
        loop {
            let budget = if one_page_slices {
                Budget::for_duration(Duration::ZERO)
            } else {
                Budget::for_duration(Duration::from_secs(3600))
            };
            slices += 1;
            match engine.run_slice(&job, slice, budget).await.expect("slice") {
                SliceOutcome::Finished(s) => {
                    assert_eq!(s, connectors_protocol::SyncStatus::Completed);
                    break;
                }
                SliceOutcome::Continue { next_slice } => slice = Some(next_slice),
                other => panic!("{other:?}"),
            }
        }
        total = started.elapsed();
        docs = es
            .sync_jobs()
            .get(&job)
            .await
            .expect("job")
            .indexed_document_count;
    }
    println!(
        "{docs} {:.3} {:.1} {slices}",
        total.as_secs_f64(),
        peak_rss_mib()
    );
}

fn child_measure(
    url: &str,
    root: &Path,
    connector: &str,
    mode: &str,
    syncs: usize,
) -> (u64, f64, f64) {
    let out = Command::new(std::env::current_exe().expect("self"))
        // The opt-out of transparent huge pages that the `connectors` binary makes with
        // prctl(PR_SET_THP_DISABLE): mimalloc makes the same call when told so.
        .env("MIMALLOC_ALLOW_THP", "0")
        .args([
            "--measure",
            url,
            &root.display().to_string(),
            connector,
            mode,
            &syncs.to_string(),
        ])
        .output()
        .expect("measure");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or_default();
    let f: Vec<&str> = line.split_whitespace().collect();
    assert!(
        f.len() == 4,
        "measurement failed: {text} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        f[0].parse().unwrap_or(0),
        f[1].parse().unwrap_or(0.0),
        f[2].parse().unwrap_or(0.0),
    )
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("--measure") {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let syncs = args[6].parse().unwrap_or(1);
        rt.block_on(measure(
            &args[2],
            Path::new(&args[3]),
            &args[4],
            args[5] == "one-page-slices",
            syncs,
        ));
        return;
    }
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let (mut sim, url) = start_es_sim();
    println!("es-sim at {url}; {runs} runs per figure (medians)");
    // `DIR_BENCH_CORPUS=<folder>`: a full sync of that folder only (tests/extraction/bench.sh
    // gives it 1,000 mixed binary files), text extracted in-process.
    if let Some(corpus) = std::env::var_os("DIR_BENCH_CORPUS") {
        let root = Path::new(&corpus);
        let files = std::fs::read_dir(root).map(|d| d.count()).unwrap_or(0);
        let mut rates = Vec::new();
        let mut rss = Vec::new();
        for run in 0..runs {
            let (docs, secs, peak) =
                child_measure(&url, root, &format!("corpus-{run}"), "one-go", 1);
            assert_eq!(docs as usize, files);
            rates.push(docs as f64 / secs);
            rss.push(peak);
        }
        println!(
            "dir full sync with extraction, {files} mixed files: {:.0} docs/s; peak RSS {:.1} MiB",
            median(rates),
            median(rss)
        );
        let _ = sim.kill();
        return;
    }
    for n in [10_000usize, 100_000] {
        let tmp = tempfile::tempdir().expect("tmp");
        make_files(tmp.path(), n);
        let mut rates = Vec::new();
        let mut rss = Vec::new();
        let mut rss_again = Vec::new();
        for run in 0..runs {
            let connector = format!("bench-{n}-{run}");
            // A fresh index, then a second process syncing over the full index.
            let (docs, secs, peak) = child_measure(&url, tmp.path(), &connector, "one-go", 1);
            assert_eq!(docs as usize, n);
            rates.push(docs as f64 / secs);
            rss.push(peak);
            let (_, _, peak2) = child_measure(&url, tmp.path(), &connector, "one-go", 1);
            rss_again.push(peak2);
        }
        println!(
            "dir full sync, {n} files: {:.0} docs/s; peak RSS {:.1} MiB (empty index), {:.1} MiB (index already holding {n})",
            median(rates),
            median(rss),
            median(rss_again)
        );
    }
    // Checkpoint overhead, 10,000 files, 100 per page: one slice per page versus one go.
    let tmp = tempfile::tempdir().expect("tmp");
    make_files(tmp.path(), 10_000);
    let mut ratios = Vec::new();
    for run in 0..runs {
        let (_, one_go, _) = child_measure(&url, tmp.path(), &format!("cp-a-{run}"), "one-go", 1);
        let (_, sliced, _) = child_measure(
            &url,
            tmp.path(),
            &format!("cp-b-{run}"),
            "one-page-slices",
            1,
        );
        println!("  run {run}: one go {one_go:.2} s, one page per slice {sliced:.2} s");
        ratios.push(sliced / one_go);
    }
    println!(
        "checkpoint overhead (10,000 files, 100 per page): one-page slices / one go = {:.2}x (median)",
        median(ratios)
    );
    let _ = sim.kill();
}
