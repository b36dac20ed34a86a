//! Benchmark of the network drive (issue 16) against the test kit's private Samba server:
//! - a full sync of 10,000 files (50 folders of 200 small `.txt` files, so every file is
//!   downloaded and its text extracted) into es-sim: docs/s and the syncing process's peak RSS;
//!   the same with document-level security on (one permission read per entry);
//! - the floor, measured in the same run: `smbclient`'s recursive listing and download of the
//!   same folder (`recurse ON; mget *`), which is what a person would do by hand;
//! - an incremental sync after 1% of the files changed, relative to the full sync.
//!
//! `cargo bench -p connectors-tests --bench netdrive_sync` (release); `RUNS` (3) per figure,
//! medians. Each sync runs in a fresh process of this binary, es-sim in another.

mod common;

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use connectors_engine::{Engine, EngineConfig};
use connectors_protocol::JobType;
use connectors_sdk::{SourceDescriptor, SourceRegistry};
use connectors_sources::network_drive::NetworkDriveSource;
use connectors_sources::objects::Limits;
use connectors_testkit::samba::{self, PASSWORD, USER};
use es_client::{EsClient, EsConfig};
use serde_json::{Value, json};

use common::{ensure_connector, measure_in_child, median, peak_rss_mib, run_job, start_es_sim};

const FOLDERS: usize = 50;
const PER_FOLDER: usize = 200;

fn file(folder: usize, i: usize) -> String {
    format!("bench/folder-{folder:02}/file-{i:03}.txt")
}

fn body(folder: usize, i: usize, version: u32) -> String {
    format!("file {i} of folder {folder}, version {version}: lorem ipsum dolor sit amet\n")
        .repeat(12)
}

fn source() -> NetworkDriveSource {
    NetworkDriveSource {
        limits: Limits {
            incremental_margin: chrono::Duration::seconds(1),
            ..Limits::default()
        },
    }
}

/// One measured job in this process; prints `docs secs rss_mib`.
async fn measure(es_url: &str, connector: &str, job_type: &str, values: &str) {
    let es = EsClient::new(EsConfig::url(es_url)).expect("client");
    let mut schema = source().default_configuration();
    let values: Value = serde_json::from_str(values).expect("values");
    for (k, v) in values.as_object().expect("object") {
        schema[k.as_str()].value = v.clone();
    }
    if connector.contains("dls") {
        schema["use_document_level_security"].value = json!(true);
        schema["drive_type"].value = json!("linux");
    }
    if ensure_connector(&es, connector, "network_drive", schema).await {
        es.connectors()
            .update_features(connector, &source().features().to_features())
            .await
            .expect("features");
    }
    let mut registry = SourceRegistry::new();
    registry.register(Box::new(source()));
    let engine = Engine::new(es.clone(), Arc::new(registry), EngineConfig::default());
    let kind = match job_type {
        "incremental" => JobType::Incremental,
        _ => JobType::Full,
    };
    let (docs, secs) = run_job(&es, &engine, connector, kind).await;
    println!("{docs} {secs:.3} {:.1}", peak_rss_mib());
}

fn child(es_url: &str, connector: &str, job_type: &str, values: &Value) -> (u64, f64, f64) {
    let args = [
        "--measure",
        es_url,
        connector,
        job_type,
        &values.to_string(),
    ];
    measure_in_child(&args.map(String::from))
}

/// `smbclient`'s recursive listing and download of the benchmark folder; seconds.
fn floor(port: u16) -> f64 {
    let into = std::env::temp_dir().join(format!("netdrive-floor-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&into);
    std::fs::create_dir_all(&into).expect("floor folder");
    let started = Instant::now();
    let out = Command::new("smbclient")
        .args(["-p", &port.to_string(), "//127.0.0.1/files"])
        .arg("-U")
        .arg(format!("{USER}%{PASSWORD}"))
        .arg("-c")
        .arg(format!(
            "lcd {}; cd bench; recurse ON; prompt OFF; mget *",
            into.display()
        ))
        .output()
        .expect("smbclient");
    let secs = started.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let count = walkdir_count(&into);
    assert_eq!(count, FOLDERS * PER_FOLDER, "smbclient fetched every file");
    let _ = std::fs::remove_dir_all(&into);
    secs
}

fn walkdir_count(dir: &std::path::Path) -> usize {
    let mut n = 0;
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if e.path().is_dir() {
            n += walkdir_count(&e.path());
        } else {
            n += 1;
        }
    }
    n
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if args.get(1).map(String::as_str) == Some("--measure") {
        rt.block_on(measure(&args[2], &args[3], &args[4], &args[5]));
        return;
    }
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let runs: usize = std::env::var("RUNS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(3);
    let Some(server) = samba::samba() else {
        println!("Samba is not installed: nothing to measure");
        return;
    };
    let started = Instant::now();
    for folder in 0..FOLDERS {
        for i in 0..PER_FOLDER {
            let path = server.share.join(file(folder, i));
            std::fs::create_dir_all(path.parent().expect("parent")).expect("folder");
            std::fs::write(&path, body(folder, i, 0)).expect("file");
        }
    }
    let files = FOLDERS * PER_FOLDER;
    let entries = files + FOLDERS;
    println!(
        "wrote {files} files in {FOLDERS} folders in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let (mut sim, url) = start_es_sim();
    println!("es-sim at {url}; {runs} runs per figure (medians)");
    let values = json!({
        "username": USER, "password": PASSWORD, "server_ip": "127.0.0.1",
        "server_port": server.port, "drive_path": "files/bench",
    });
    let (mut floors, mut syncs, mut rss, mut dls_syncs, mut dls_rss) =
        (Vec::new(), Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut last = String::new();
    for run in 0..runs {
        let secs = floor(server.port);
        println!("  run {run}: floor (smbclient recurse + mget) {secs:.2} s");
        floors.push(secs);
        last = format!("nd-{run}");
        let (docs, secs, peak) = child(&url, &last, "full", &values);
        assert_eq!(docs as usize, entries);
        println!("  run {run}: full sync {secs:.2} s, peak RSS {peak:.1} MiB");
        syncs.push(secs);
        rss.push(peak);
        let (docs, secs, peak) = child(&url, &format!("nd-dls-{run}"), "full", &values);
        assert_eq!(docs as usize, entries);
        println!("  run {run}: full sync with DLS {secs:.2} s, peak RSS {peak:.1} MiB");
        dls_syncs.push(secs);
        dls_rss.push(peak);
    }
    let (floor_s, sync_s, dls_s) = (median(floors), median(syncs.clone()), median(dls_syncs));
    println!(
        "network drive full sync, {files} files + {FOLDERS} folders: {:.0} docs/s, peak RSS {:.1} MiB; floor (smbclient) {floor_s:.2} s, sync/floor = {:.2}x; with DLS {:.0} docs/s, peak RSS {:.1} MiB, {:.2}x floor (medians)",
        entries as f64 / sync_s,
        median(rss),
        sync_s / floor_s,
        entries as f64 / dls_s,
        median(dls_rss),
        dls_s / floor_s,
    );
    // 1% changed.
    std::thread::sleep(Duration::from_millis(1100));
    for k in 0..files / 100 {
        let (folder, i) = ((k * 100) / PER_FOLDER, (k * 100) % PER_FOLDER);
        std::fs::write(server.share.join(file(folder, i)), body(folder, i, 1)).expect("rewrite");
    }
    let (docs, secs, peak) = child(&url, &last, "incremental", &values);
    println!(
        "network drive incremental sync after 1% changed: {docs} documents sent, {secs:.2} s = {:.2} of the full sync's time, peak RSS {peak:.1} MiB",
        secs / syncs[syncs.len() - 1]
    );
    let _ = sim.kill();
}
