//! Bulk ingest throughput: 1,000,000 documents of ~100 bytes in 5,000-document `_bulk` requests
//! from 2 concurrent HTTP clients against an in-process simulator. Prints docs/s and MiB/s per
//! run and the median of 3 runs.
//!
//! `cargo bench -p es-sim` (release profile). `ES_SIM_BENCH_DOCS` overrides the document count.

use std::time::Instant;

use bytes::Bytes;
use es_sim::SimConfig;
use serde_json::Value;

// The allocator the project's binaries use (glibc's malloc is much slower on this workload).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PER_REQUEST: usize = 5_000;
const CLIENTS: usize = 2;
const RUNS: usize = 3;

fn build_bodies(index: &str, docs: usize) -> (Vec<Bytes>, usize) {
    let mut bodies = Vec::new();
    let mut total = 0;
    let mut n = 0;
    while n < docs {
        let mut body = String::with_capacity(PER_REQUEST * 140);
        for _ in 0..PER_REQUEST.min(docs - n) {
            body.push_str(&format!("{{\"index\":{{\"_index\":\"{index}\"}}}}\n"));
            body.push_str(&format!(
                "{{\"title\":\"document {n:07}\",\"n\":{n},\"tags\":[\"a\",\"b\"],\"ts\":\"2024-01-01T00:00:00Z\",\"body\":\"lorem ipsum\"}}\n"
            ));
            n += 1;
        }
        total += body.len();
        bodies.push(Bytes::from(body));
    }
    (bodies, total)
}

async fn run(url: &str, bodies: Vec<Bytes>) -> usize {
    let chunks: Vec<Vec<Bytes>> = (0..CLIENTS)
        .map(|c| bodies.iter().skip(c).step_by(CLIENTS).cloned().collect())
        .collect();
    let mut tasks = Vec::new();
    for chunk in chunks {
        let url = format!("{url}/_bulk");
        tasks.push(tokio::spawn(async move {
            let client = reqwest::Client::new();
            let mut errors = 0usize;
            for body in chunk {
                let resp = client
                    .post(&url)
                    .header("content-type", "application/x-ndjson")
                    .body(body)
                    .send()
                    .await
                    .expect("bulk request");
                assert_eq!(resp.status().as_u16(), 200);
                let bytes = resp.bytes().await.expect("bulk response");
                // Only the head of the response is needed to check the `errors` flag.
                let head = &bytes[..bytes.len().min(32)];
                if !head.starts_with(b"{\"errors\":false") {
                    let v: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
                    errors += v["items"].as_array().map(|a| a.len()).unwrap_or(1);
                }
            }
            errors
        }));
    }
    let mut errors = 0;
    for t in tasks {
        errors += t.await.expect("client task");
    }
    errors
}

/// CPU time (user + system) of this process so far, from `/proc/self/stat` (Linux).
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the `(comm)`; utime and stime are fields 14 and 15 (1-based) of the line.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    // Clock ticks are 100 per second on Linux.
    Some((utime + stime) / 100.0)
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let docs: usize = std::env::var("ES_SIM_BENCH_DOCS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1_000_000);
    let sim = es_sim::start(SimConfig::default())
        .await
        .expect("start es-sim");
    let url = sim.url();
    let mut rates = Vec::new();
    let mut mibs = Vec::new();
    for r in 0..RUNS {
        let index = format!("bench-{r}");
        let (bodies, bytes) = build_bodies(&index, docs);
        let cpu_before = cpu_seconds();
        let started = Instant::now();
        let errors = run(&url, bodies).await;
        let secs = started.elapsed().as_secs_f64();
        let cpu = cpu_before.and_then(|b| cpu_seconds().map(|a| a - b));
        assert_eq!(errors, 0, "bulk items failed");
        let rate = docs as f64 / secs;
        let mib = bytes as f64 / (1024.0 * 1024.0) / secs;
        let cpu_note = match cpu {
            Some(c) if c > 0.0 => format!(
                ", {c:.2} CPU-s (server and clients): {:.0} docs per CPU-second",
                docs as f64 / c
            ),
            _ => String::new(),
        };
        println!(
            "run {}: {docs} docs, {:.1} MiB in {secs:.2}s: {rate:.0} docs/s, {mib:.1} MiB/s{cpu_note}",
            r + 1,
            bytes as f64 / 1048576.0
        );
        rates.push(rate);
        mibs.push(mib);
        // Check everything landed.
        let count: Value = reqwest::Client::new()
            .post(format!("{url}/{index}/_refresh"))
            .send()
            .await
            .expect("refresh")
            .json()
            .await
            .expect("refresh body");
        let _ = count;
        let c: Value = reqwest::get(format!("{url}/{index}/_count"))
            .await
            .expect("count")
            .json()
            .await
            .expect("count body");
        assert_eq!(c["count"].as_u64(), Some(docs as u64));
        // Free the memory before the next run (the server frees a large index in the background).
        reqwest::Client::new()
            .delete(format!("{url}/{index}"))
            .send()
            .await
            .expect("delete index");
        tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    }
    rates.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    mibs.sort_by(|a, b| a.partial_cmp(b).unwrap_or(std::cmp::Ordering::Equal));
    println!(
        "median of {RUNS} runs: {:.0} docs/s, {:.1} MiB/s ({CLIENTS} clients, {PER_REQUEST} docs per request)",
        rates[RUNS / 2],
        mibs[RUNS / 2]
    );
    sim.shutdown().await;
}
