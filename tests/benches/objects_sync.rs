//! Benchmark of the object-store sources (issue 15), per provider against its emulator (moto,
//! azurite, fake-gcs-server):
//! - a full sync of 10,000 small objects and 1,000 one-megabyte objects (`.txt`, so every object
//!   is downloaded and its text extracted) into es-sim: docs/s, MB/s, peak RSS of the syncing
//!   process;
//! - the floor, measured in the same run: the same listing and downloads with the provider's
//!   client alone (aws-sdk-s3 for S3; plain REST calls for Azure and Google, which have no
//!   CLI here), at the engine's download concurrency (10), nothing indexed;
//! - an incremental sync after 1% of the objects changed: its time relative to the full sync.
//!
//! `cargo bench -p connectors-tests --bench objects_sync` (release). `OBJECTS_BENCH=s3,azure`
//! picks providers; `RUNS` (3) full syncs per provider, medians. Each sync runs in a fresh
//! process of this binary, es-sim in another, so the peak RSS is the sync's own. The syncing
//! process uses an incremental margin of 1 s (the default 15 min would resend everything the
//! benchmark just wrote).

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use connectors_engine::{Engine, EngineConfig};
use connectors_protocol::JobType;
use connectors_sdk::{SourceDescriptor, SourceRegistry};
use connectors_sources::objects::Limits;
use connectors_sources::objects::azure::AzureBlobSource;
use connectors_sources::objects::gcs::GcsSource;
use connectors_sources::objects::s3::S3Source;
use connectors_testkit::emulator::{self, AZURITE_ACCOUNT, AZURITE_KEY};
use connectors_testkit::objects::{
    AzureClient, GcsClient, S3Client, StoreClient, key_file, service_key, token_endpoint,
};
use es_client::{EsClient, EsConfig};
use futures_util::StreamExt;
use serde_json::{Value, json};

use common::{ensure_connector, measure_in_child, median, peak_rss_mib, run_job, start_es_sim};

const SMALL: usize = 10_000;
const LARGE: usize = 1_000;
const LARGE_BYTES: usize = 1024 * 1024;
const CONCURRENCY: usize = 10;

fn small_key(i: usize) -> String {
    format!("small/{:02}/object-{i:05}.txt", i % 50)
}

fn large_key(i: usize) -> String {
    format!("large/object-{i:04}.txt")
}

fn small_body(i: usize, version: u32) -> Vec<u8> {
    format!("small object {i} version {version}\n").into_bytes()
}

fn large_body(i: usize, version: u32) -> Vec<u8> {
    let line = format!("large object {i} version {version} lorem ipsum dolor sit amet\n");
    line.repeat(LARGE_BYTES / line.len() + 1).into_bytes()[..LARGE_BYTES].to_vec()
}

fn limits() -> Limits {
    Limits {
        incremental_margin: chrono::Duration::seconds(1),
        ..Limits::default()
    }
}

fn descriptor(provider: &str, endpoint: &str) -> Box<dyn SourceDescriptor> {
    match provider {
        "s3" => Box::new(S3Source {
            limits: limits(),
            endpoint_url: Some(endpoint.to_string()),
        }),
        "azure" => Box::new(AzureBlobSource { limits: limits() }),
        _ => Box::new(GcsSource {
            limits: limits(),
            endpoint_url: Some(endpoint.to_string()),
        }),
    }
}

/// One measured job in this process; prints `docs secs rss_mib`.
async fn measure(
    provider: &str,
    es_url: &str,
    endpoint: &str,
    connector: &str,
    job_type: &str,
    values: &str,
) {
    let es = EsClient::new(EsConfig::url(es_url)).expect("client");
    let descriptor = descriptor(provider, endpoint);
    let values: Value = serde_json::from_str(values).expect("values");
    let mut schema = descriptor.default_configuration();
    for (k, v) in values.as_object().expect("object") {
        schema[k.as_str()].value = v.clone();
    }
    ensure_connector(&es, connector, descriptor.service_type(), schema).await;
    let mut registry = SourceRegistry::new();
    registry.register(descriptor);
    let engine = Engine::new(es.clone(), Arc::new(registry), EngineConfig::default());
    let kind = if job_type == "incremental" {
        JobType::Incremental
    } else {
        JobType::Full
    };
    let (docs, secs) = run_job(&es, &engine, connector, kind).await;
    println!("{docs} {secs:.3} {:.1}", peak_rss_mib());
}

fn child(
    provider: &str,
    es_url: &str,
    endpoint: &str,
    connector: &str,
    job_type: &str,
    values: &Value,
) -> (u64, f64, f64) {
    let args = [
        "--measure",
        provider,
        es_url,
        endpoint,
        connector,
        job_type,
        &values.to_string(),
    ];
    measure_in_child(&args.map(String::from))
}

/// Writes every object, `CONCURRENCY * 3` at a time.
async fn seed(
    client: &impl StoreClient,
    bucket: &str,
    which: impl Iterator<Item = (String, Vec<u8>)>,
) {
    futures_util::stream::iter(which)
        .for_each_concurrent(CONCURRENCY * 3, |(key, body)| async move {
            client.put(bucket, &key, &body, &[]).await;
        })
        .await;
}

/// The floor: list and download everything with the provider's own client.
async fn floor(provider: &str, endpoint: &str, bucket: &str) -> (usize, u64, f64) {
    let started = Instant::now();
    let (count, bytes) = match provider {
        "s3" => {
            let s3 = S3Client::new(endpoint).client;
            let mut keys = Vec::new();
            let mut pages = s3.list_objects_v2().bucket(bucket).into_paginator().send();
            while let Some(page) = pages.next().await {
                let page = page.expect("list");
                keys.extend(
                    page.contents()
                        .iter()
                        .filter_map(|o| o.key().map(str::to_string)),
                );
            }
            let bytes: Vec<u64> = futures_util::stream::iter(keys.iter())
                .map(|k| {
                    let s3 = s3.clone();
                    async move {
                        let o = s3
                            .get_object()
                            .bucket(bucket)
                            .key(k)
                            .send()
                            .await
                            .expect("get");
                        o.body.collect().await.expect("body").into_bytes().len() as u64
                    }
                })
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
            (keys.len(), bytes.iter().sum())
        }
        "azure" => rest_floor(provider, endpoint, bucket).await,
        _ => rest_floor(provider, endpoint, bucket).await,
    };
    (count, bytes, started.elapsed().as_secs_f64())
}

/// Listing and downloads over plain REST (azurite's Shared Key; fake-gcs-server needs no token).
async fn rest_floor(provider: &str, endpoint: &str, bucket: &str) -> (usize, u64) {
    use connectors_sources::objects::azure::auth::SharedKey;
    use connectors_sources::objects::azure::xml;
    let http = reqwest::Client::new();
    let key = SharedKey::new(AZURITE_ACCOUNT, AZURITE_KEY).expect("key");
    let get = |url: url::Url| {
        let mut request = http.get(url.clone());
        if provider == "azure" {
            request = request.headers(key.sign_get(&url, chrono::Utc::now()));
        }
        request
    };
    let mut keys = Vec::new();
    let mut marker: Option<String> = None;
    loop {
        let url = if provider == "azure" {
            let mut u =
                url::Url::parse(&format!("{endpoint}/{AZURITE_ACCOUNT}/{bucket}")).expect("url");
            u.query_pairs_mut().extend_pairs([
                ("restype", "container"),
                ("comp", "list"),
                ("maxresults", "1000"),
            ]);
            if let Some(m) = &marker {
                u.query_pairs_mut().append_pair("marker", m);
            }
            u
        } else {
            let mut u =
                url::Url::parse(&format!("{endpoint}/storage/v1/b/{bucket}/o")).expect("url");
            u.query_pairs_mut().append_pair("maxResults", "1000");
            if let Some(m) = &marker {
                u.query_pairs_mut().append_pair("pageToken", m);
            }
            u
        };
        let body = get(url)
            .send()
            .await
            .expect("list")
            .text()
            .await
            .expect("body");
        if provider == "azure" {
            let page = xml::blobs(&body).expect("xml");
            keys.extend(page.items.into_iter().map(|b| b.name));
            marker = page.next;
        } else {
            let page: Value = serde_json::from_str(&body).expect("json");
            keys.extend(
                page["items"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|o| o["name"].as_str().map(str::to_string)),
            );
            marker = page["nextPageToken"].as_str().map(str::to_string);
        }
        if marker.is_none() {
            break;
        }
    }
    let bytes: Vec<u64> = futures_util::stream::iter(keys.iter())
        .map(|k| {
            let mut u = url::Url::parse(endpoint).expect("url");
            {
                let mut path = u.path_segments_mut().expect("path");
                path.pop_if_empty();
                if provider == "azure" {
                    path.push(AZURITE_ACCOUNT).push(bucket);
                    for p in k.split('/') {
                        path.push(p);
                    }
                } else {
                    path.extend(["storage", "v1", "b", bucket, "o", k]);
                }
            }
            if provider != "azure" {
                u.query_pairs_mut().append_pair("alt", "media");
            }
            let request = get(u);
            async move {
                request
                    .send()
                    .await
                    .expect("get")
                    .bytes()
                    .await
                    .expect("body")
                    .len() as u64
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    (keys.len(), bytes.iter().sum())
}

async fn bench(provider: &str, runs: usize, es_url: &str) {
    let (endpoint, bucket) = match provider {
        "s3" => (
            emulator::moto().expect("moto_server").endpoint.clone(),
            "bench-objects",
        ),
        "azure" => (
            emulator::azurite().expect("azurite").endpoint.clone(),
            "bench-objects",
        ),
        _ => (
            emulator::fake_gcs()
                .expect("fake-gcs-server")
                .endpoint
                .clone(),
            "bench-objects",
        ),
    };
    let started = Instant::now();
    let objects = || {
        (0..SMALL)
            .map(|i| (small_key(i), small_body(i, 0)))
            .chain((0..LARGE).map(|i| (large_key(i), large_body(i, 0))))
    };
    let values = match provider {
        "s3" => {
            let c = S3Client::new(&endpoint);
            c.create(bucket).await;
            seed(&c, bucket, objects()).await;
            json!({"buckets": bucket, "aws_access_key_id": "testing", "aws_secret_access_key": "testing", "page_size": 1000})
        }
        "azure" => {
            let c = AzureClient::new(&endpoint);
            c.create(bucket).await;
            seed(&c, bucket, objects()).await;
            json!({"account_name": AZURITE_ACCOUNT, "account_key": AZURITE_KEY, "blob_endpoint": c.blob_endpoint(), "containers": bucket})
        }
        _ => {
            let c = GcsClient::new(&endpoint);
            c.create(bucket).await;
            seed(&c, bucket, objects()).await;
            let key = service_key();
            let token_uri = token_endpoint(&key).await;
            json!({"buckets": bucket, "service_account_credentials": key_file(&key, &token_uri)})
        }
    };
    let total = SMALL + LARGE;
    let total_mb = (SMALL * small_body(0, 0).len() + LARGE * LARGE_BYTES) as f64 / 1e6;
    println!(
        "{provider}: wrote {total} objects ({total_mb:.0} MB) in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    let mut floors = Vec::new();
    let mut syncs = Vec::new();
    let mut rss = Vec::new();
    let mut last = String::new();
    for run in 0..runs {
        let (count, bytes, secs) = floor(provider, &endpoint, bucket).await;
        assert_eq!(count, total);
        println!(
            "  run {run}: floor {secs:.2} s ({count} objects, {:.0} MB)",
            bytes as f64 / 1e6
        );
        floors.push(secs);
        last = format!("{provider}-{run}");
        let (docs, secs, peak) = tokio::task::block_in_place(|| {
            child(provider, es_url, &endpoint, &last, "full", &values)
        });
        assert_eq!(docs as usize, total);
        println!("  run {run}: full sync {secs:.2} s, peak RSS {peak:.1} MiB");
        syncs.push(secs);
        rss.push(peak);
    }
    let (floor_s, sync_s) = (median(floors), median(syncs.clone()));
    println!(
        "{provider} full sync, {SMALL} small + {LARGE} x 1 MB objects: {:.0} docs/s, {:.1} MB/s, peak RSS {:.1} MiB; floor (client alone) {floor_s:.2} s, sync/floor = {:.2}x (medians)",
        total as f64 / sync_s,
        total_mb / sync_s,
        median(rss),
        sync_s / floor_s
    );
    // 1% changed: 100 small and 10 large objects rewritten.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let changed = (0..SMALL / 100)
        .map(|i| (small_key(i * 100), small_body(i * 100, 1)))
        .chain((0..LARGE / 100).map(|i| (large_key(i * 100), large_body(i * 100, 1))));
    match provider {
        "s3" => seed(&S3Client::new(&endpoint), bucket, changed).await,
        "azure" => seed(&AzureClient::new(&endpoint), bucket, changed).await,
        _ => seed(&GcsClient::new(&endpoint), bucket, changed).await,
    }
    let (docs, secs, peak) = tokio::task::block_in_place(|| {
        child(provider, es_url, &endpoint, &last, "incremental", &values)
    });
    println!(
        "{provider} incremental sync after 1% changed: {docs} documents sent, {secs:.2} s = {:.2} of the full sync's time, peak RSS {peak:.1} MiB",
        secs / syncs[syncs.len() - 1]
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    if args.get(1).map(String::as_str) == Some("--measure") {
        rt.block_on(measure(
            &args[2], &args[3], &args[4], &args[5], &args[6], &args[7],
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
    let providers = std::env::var("OBJECTS_BENCH").unwrap_or_else(|_| "s3,azure,gcs".into());
    let (mut sim, url) = start_es_sim();
    println!("es-sim at {url}; {runs} runs per figure (medians)");
    for provider in providers.split(',') {
        rt.block_on(bench(provider.trim(), runs, &url));
    }
    let _ = sim.kill();
}
