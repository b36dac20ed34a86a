//! The simulator's own cost per connector document, without HTTP: `_bulk` requests of documents
//! shaped like a database connector's (16 fields: numbers, text, dates, an array, an object,
//! the pipeline flags and the sync stamp) through `search-default-ingestion`, then the scan of
//! the deletion sweep's `_delete_by_query` (as a `_count` of its query, `must_not term
//! _sync_job_id`, which deletes nothing). Single-threaded; prints the median of
//! `ES_SIM_BENCH_RUNS` runs (default 5) of `ES_SIM_BENCH_DOCS` documents (default 100,000).
//!
//! `cargo bench -p es-sim --bench connector_bulk`

use std::time::Instant;

use bytes::Bytes;
use es_sim::http::{Body, Params, Req};
use es_sim::state::AppState;
use es_sim::{Faults, SimConfig};
use hyper::{HeaderMap, Method};

// The allocator the project's binaries use (glibc's malloc is much slower on this workload).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const PER_REQUEST: usize = 500;

fn env_usize(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn request(path: &str, query: Option<&str>, body: Bytes) -> Req {
    Req {
        method: Method::POST,
        path: path.to_string(),
        query: query.map(String::from),
        params: Params::parse(query),
        headers: HeaderMap::new(),
        body,
        principal: Default::default(),
    }
}

fn bodies(index: &str, docs: usize) -> Vec<Bytes> {
    let mut out = Vec::new();
    let mut body = String::new();
    for i in 0..docs {
        body.push_str(&format!(
            "{{\"index\":{{\"_index\":\"{index}\",\"_id\":\"{i}\"}}}}\n"
        ));
        body.push_str(&format!(
            "{{\"public_items_id\":{i},\"public_items_name\":\"item number {i}\",\
             \"public_items_email\":\"user{i}@example.com\",\"public_items_score\":{}.5,\
             \"public_items_amount\":\"{}.25\",\"public_items_active\":{},\
             \"public_items_created_at\":\"2024-01-01T00:{:02}:{:02}+00:00\",\
             \"public_items_day\":\"2020-01-01\",\"public_items_tags\":[\"tag{}\",\"group{}\"],\
             \"public_items_payload\":{{\"n\":{i},\"kind\":\"even\"}},\"id\":\"public_items_{i}\",\
             \"_timestamp\":\"2026-11-28T08:00:00.000000+00:00\",\"database\":\"test\",\
             \"table\":\"items\",\"schema\":\"public\",\"_extract_binary_content\":true,\
             \"_reduce_whitespace\":true,\"_run_ml_inference\":false,\"_sync_job_id\":\"job-1\"}}\n",
            i / 2,
            i % 1000,
            i % 3 == 0,
            (i / 60) % 60,
            i % 60,
            i % 10,
            i % 7
        ));
        if (i + 1) % PER_REQUEST == 0 || i + 1 == docs {
            out.push(Bytes::from(std::mem::take(&mut body)));
        }
    }
    out
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() {
    let docs = env_usize("ES_SIM_BENCH_DOCS", 100_000);
    let runs = env_usize("ES_SIM_BENCH_RUNS", 5);
    let state = AppState::new(SimConfig::default(), Faults::default());
    let query =
        Bytes::from_static(br#"{"query":{"bool":{"must_not":{"term":{"_sync_job_id":"job-2"}}}}}"#);
    let (mut bulk_rates, mut count_rates) = (Vec::new(), Vec::new());
    for run in 1..=runs {
        let index = format!("search-bench-{run}");
        let bodies = bodies(&index, docs);
        let started = Instant::now();
        for body in bodies {
            let resp = es_sim::api::bulk::bulk(
                &state,
                None,
                &request("/_bulk", Some("pipeline=search-default-ingestion"), body),
            )
            .expect("bulk");
            if let Body::JsonBytes(b) = &resp.body {
                assert!(b.starts_with(b"{\"errors\":false"), "bulk items failed");
            }
        }
        let bulk_secs = started.elapsed().as_secs_f64();
        let path = format!("/{index}/_refresh");
        es_sim::api::indices::refresh(&state, Some(&index), &request(&path, None, Bytes::new()))
            .expect("refresh");
        let started = Instant::now();
        let path = format!("/{index}/_count");
        es_sim::api::search::count(&state, Some(&index), &request(&path, None, query.clone()))
            .expect("count");
        let count_secs = started.elapsed().as_secs_f64();
        let (b, c) = (docs as f64 / bulk_secs, docs as f64 / count_secs);
        println!("run {run}: bulk {b:.0} docs/s, sweep count {c:.0} docs/s");
        bulk_rates.push(b);
        count_rates.push(c);
    }
    println!(
        "median of {runs} ({docs} documents): bulk {:.0} docs/s, sweep count {:.0} docs/s",
        median(bulk_rates),
        median(count_rates)
    );
}
