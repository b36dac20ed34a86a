//! The test kit: what the engine, sources and end-to-end tests all need, written once.
//!
//! - [`EsEnv`]: an es-sim on a free port and a client with short retry back-offs.
//! - [`connector`]: a connector created and configured as Kibana does it.
//! - [`fast_engine_config`], [`run_to_end`]: an engine that notices cancelation quickly, and a
//!   job driven slice by slice until it ends.
//! - [`index_docs`], [`index_docs_without`]: an index's documents by id.
//! - [`list_all`]: a source listed page by page, optionally rebuilt for every page as a new
//!   process would.
//! - [`init_logs`], [`server_up`], [`unique`]: logs in test output, skipping when a local
//!   server is down (failing under `CI`), names unique to a run.
//! - [`conformance`]: the properties every source must have, checked against its real server;
//! - [`emulator`]: emulators (moto, azurite, fake-gcs-server) started on a free port for the
//!   life of the test binary; [`fault`]: a proxy that answers the first requests with
//!   throttling errors; [`objects`]: clients that set up buckets and objects in the emulators;
//!   [`pool`]: local workers over one queue, as the service runs them (partitioned jobs);
//!   [`samba`]: a private Samba server for the network drive.

pub mod conformance;
pub mod emulator;
pub mod fault;
pub mod objects;
pub mod pool;
pub mod samba;

use std::collections::BTreeMap;
use std::time::Duration;

use connectors_engine::{Budget, Engine, EngineConfig, SliceOutcome};
use connectors_protocol::{Configuration, SyncStatus};
use connectors_sdk::{DataSource, PageRequest, SourceDescriptor, SourceItem, SyncMode};
use es_client::{EsClient, EsConfig, NewConnector};
use serde_json::{Map, Value, json};

/// An es-sim and a client to it. The server stops when this is dropped.
pub struct EsEnv {
    pub sim: es_sim::EsSim,
    pub es: EsClient,
}

impl EsEnv {
    /// An es-sim with its default settings.
    pub async fn start() -> EsEnv {
        Self::start_with(es_sim::SimConfig::default()).await
    }

    /// An es-sim with `config`; the client retries after 10 to 50 ms, and logs in as the
    /// security user when security is on.
    pub async fn start_with(config: es_sim::SimConfig) -> EsEnv {
        let user = config.security.clone();
        let sim = es_sim::start(config).await.expect("es-sim starts");
        let mut cfg = EsConfig::url(sim.url());
        if let Some(user) = user {
            cfg.auth = es_client::Auth::Basic {
                username: user.username,
                password: user.password,
            };
        }
        cfg.retry.initial_backoff = Duration::from_millis(10);
        cfg.retry.max_backoff = Duration::from_millis(50);
        let es = EsClient::new(cfg).expect("client");
        EsEnv { sim, es }
    }
}

/// An engine configuration for tests: heartbeats every 50 ms, no lease (a test may run the
/// next slice at once from another engine), and bulk item retries after 5 to 20 ms.
pub fn fast_engine_config() -> EngineConfig {
    let mut c = EngineConfig {
        check_interval: Duration::from_millis(50),
        lease_ttl: Duration::ZERO,
        ..EngineConfig::default()
    };
    c.bulk_item_retry.initial_backoff = Duration::from_millis(5);
    c.bulk_item_retry.max_backoff = Duration::from_millis(20);
    c
}

/// Creates connector `id` of `service_type` over `index` with `configuration`, as Kibana does.
pub async fn connector(
    es: &EsClient,
    id: &str,
    index: &str,
    service_type: &str,
    configuration: &Configuration,
) {
    let c = es.connectors();
    c.put(
        Some(id),
        &NewConnector {
            index_name: Some(index.to_string()),
            service_type: Some(service_type.into()),
            name: Some(id.to_string()),
            ..Default::default()
        },
    )
    .await
    .expect("put connector");
    c.update_configuration(
        id,
        &es_client::ConfigurationUpdate::Schema(configuration.clone()),
    )
    .await
    .expect("configuration");
}

/// Runs a job to its end in slices of `slice_ms`; returns its status and the slice count.
pub async fn run_to_end(engine: &Engine, job: &str, slice_ms: u64) -> (SyncStatus, u64) {
    let mut slice = Some(0);
    let mut slices = 0;
    loop {
        slices += 1;
        assert!(slices < 100_000, "runaway");
        match engine
            .run_slice(
                job,
                slice,
                Budget::for_duration(Duration::from_millis(slice_ms)),
            )
            .await
            .expect("slice")
        {
            SliceOutcome::Finished(s) => return (s, slices),
            SliceOutcome::Continue { next_slice } => slice = Some(next_slice),
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// Every document of `index` (refreshed first, at most 9,999), by id, without the sync stamp.
pub async fn index_docs(es: &EsClient, index: &str) -> BTreeMap<String, Value> {
    index_docs_without(es, index, &[]).await
}

/// [`index_docs`] without the sync stamp and the fields `drop`.
pub async fn index_docs_without(
    es: &EsClient,
    index: &str,
    drop: &[&str],
) -> BTreeMap<String, Value> {
    es.refresh(index).await.expect("refresh");
    let response = es
        .search::<Value>(
            index,
            &json!({"query": {"match_all": {}}, "size": 10000}),
            &Default::default(),
        )
        .await
        .expect("search");
    assert!(
        response.hits.hits.len() < 10000,
        "too many documents for this helper"
    );
    response
        .hits
        .hits
        .into_iter()
        .map(|h| {
            let mut src = h.source.unwrap_or(Value::Null);
            if let Some(m) = src.as_object_mut() {
                m.remove(connectors_sdk::SYNC_STAMP_FIELD);
                for field in drop {
                    m.remove(*field);
                }
            }
            (h.id, src)
        })
        .collect()
}

/// A source's default configuration with `values` (an object) set.
pub fn configuration(descriptor: &dyn SourceDescriptor, values: &Value) -> Configuration {
    let mut c = descriptor.default_configuration();
    for (k, v) in values.as_object().expect("an object") {
        c.get_mut(k).unwrap_or_else(|| panic!("no field {k}")).value = v.clone();
    }
    c
}

/// What a full listing of a source gave.
pub struct Listing {
    /// Documents by `_id`.
    pub docs: BTreeMap<String, Map<String, Value>>,
    /// `_id`s in listing order.
    pub order: Vec<String>,
    pub pages: usize,
    pub sync_cursor: Option<Value>,
    /// Parts of the source reported as unreadable (their documents are kept by the sweep).
    pub unread: Vec<Value>,
}

/// Lists every page of a source that only upserts documents with string ids. `fresh` builds
/// a new source for each page, as a new process would.
pub async fn list_all(
    descriptor: &dyn SourceDescriptor,
    config: &Configuration,
    mode: SyncMode<'_>,
    rules: Option<&Value>,
    page_size: usize,
    fresh: bool,
) -> Listing {
    let mut source: Box<dyn DataSource> = descriptor.build(config).expect("build");
    let mut cursor: Option<Value> = None;
    let mut out = Listing {
        docs: BTreeMap::new(),
        order: Vec::new(),
        pages: 0,
        sync_cursor: None,
        unread: Vec::new(),
    };
    loop {
        if fresh {
            source = descriptor.build(config).expect("build");
        }
        let page = source
            .fetch_page(PageRequest {
                cursor: cursor.as_ref(),
                mode,
                advanced_rules: rules,
                page_size,
            })
            .await
            .expect("page");
        out.pages += 1;
        assert!(page.items.len() <= page_size);
        for item in page.items {
            if let SourceItem::Unreadable(scope) = &item {
                out.unread.push(scope.value.clone());
                continue;
            }
            let Some(doc) = item.to_document() else {
                panic!("this listing only expects upserts")
            };
            let id = doc.fields["_id"].as_str().expect("string _id").to_string();
            out.order.push(id.clone());
            out.docs.insert(id, doc.fields);
        }
        if page.sync_cursor.is_some() {
            out.sync_cursor = page.sync_cursor;
        }
        match page.next {
            Some(n) => cursor = Some(n),
            None => return out,
        }
        assert!(out.pages < 1_000_000, "runaway listing");
    }
}

/// Lists a full sync of `source` (one instance, as a running slice does) and returns the ids
/// in order; `after_page(n)` runs after page `n` (1, 2, ...), to break things mid-listing.
/// Every item must be a document written as JSON.
pub async fn list_ids_with<F, Fut>(
    source: &dyn DataSource,
    page_size: usize,
    mut after_page: F,
) -> Vec<String>
where
    F: FnMut(usize) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let mut ids = Vec::new();
    let mut cursor: Option<Value> = None;
    let mut pages = 0;
    loop {
        let page = source
            .fetch_page(PageRequest {
                cursor: cursor.as_ref(),
                mode: SyncMode::Full,
                advanced_rules: None,
                page_size,
            })
            .await
            .expect("page");
        pages += 1;
        ids.extend(page.items.iter().map(|i| match i {
            SourceItem::Json(d) => d.id.clone(),
            other => panic!("expected JSON documents, got {other:?}"),
        }));
        after_page(pages).await;
        match page.next {
            Some(n) => cursor = Some(n),
            None => return ids,
        }
        assert!(pages < 1_000_000, "runaway listing");
    }
}

/// Logs to the test output (`RUST_LOG` to change the level; `warn` by default).
pub fn init_logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_test_writer()
        .try_init();
}

/// Whether a server answers on `addr`; when it does not, the test is skipped with a reason,
/// except under `CI`, where the server must be there.
pub async fn server_up(what: &str, addr: &str) -> bool {
    init_logs();
    let up = tokio::time::timeout(Duration::from_secs(3), tokio::net::TcpStream::connect(addr))
        .await
        .is_ok_and(|r| r.is_ok());
    if !up {
        if std::env::var_os("CI").is_some() {
            panic!("{what} is not reachable at {addr}, and CI is set: it must be running");
        }
        eprintln!("SKIPPED: {what} is not reachable at {addr} (set CI to make this a failure)");
    }
    up
}

/// A name unique to this test run.
pub fn unique(prefix: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!(
        "{prefix}_{}_{}_{}",
        std::process::id(),
        nanos % 100_000,
        N.fetch_add(1, Ordering::Relaxed)
    )
}
