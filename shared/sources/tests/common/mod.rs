//! Test support for the database sources: reaching the local servers (skipping when they are
//! down, unless `CI` is set), building sources from configuration values, listing every page,
//! and an es-sim with the engine for end-to-end syncs.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use connectors_engine::{Budget, Engine, EngineConfig, SliceOutcome};
use connectors_protocol::{Configuration, SyncStatus};
use connectors_sdk::{DataSource, PageRequest, SourceDescriptor, SyncMode};
use es_client::{EsClient, EsConfig, NewConnector};
use serde_json::{Map, Value, json};

pub const PG_URL: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";

/// Logs to the test output (`RUST_LOG` to change the level).
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

/// A MariaDB user with a password, for syncs through the engine: `password` is a required
/// field (as in the reference) and the local root has none.
pub const MY_USER: &str = "connectors_test";
pub const MY_PASSWORD: &str = "connectors-test-pw";

pub async fn mysql_test_user(conn: &mut mysql_async::Conn) {
    use mysql_async::prelude::Queryable;
    for host in ["127.0.0.1", "localhost"] {
        conn.query_drop(format!(
            "CREATE USER IF NOT EXISTS '{MY_USER}'@'{host}' IDENTIFIED BY '{MY_PASSWORD}'; \
             GRANT ALL PRIVILEGES ON *.* TO '{MY_USER}'@'{host}'"
        ))
        .await
        .expect("create the test user");
    }
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

/// A source's default configuration with `values` set.
pub fn configuration(descriptor: &dyn SourceDescriptor, values: &Value) -> Configuration {
    let mut c = descriptor.default_configuration();
    for (k, v) in values.as_object().expect("an object") {
        c.get_mut(k).unwrap_or_else(|| panic!("no field {k}")).value = v.clone();
    }
    c
}

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

/// Lists every page. `fresh` builds a new source for each page, as a new process would.
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
            if let connectors_sdk::SourceItem::Unreadable(scope) = &item {
                out.unread.push(scope.value.clone());
                continue;
            }
            let Some(doc) = item.to_document() else {
                panic!("databases only upsert")
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

/// Documents without `_timestamp` (which is the time of the read when the database does not
/// track commits), for comparing listings.
pub fn without_timestamps(
    docs: &BTreeMap<String, Map<String, Value>>,
) -> BTreeMap<String, Map<String, Value>> {
    docs.iter()
        .map(|(k, v)| {
            let mut v = v.clone();
            v.remove("_timestamp");
            (k.clone(), v)
        })
        .collect()
}

pub struct Env {
    pub sim: es_sim::EsSim,
    pub es: EsClient,
}

pub async fn start_es() -> Env {
    let sim = es_sim::start(es_sim::SimConfig::default())
        .await
        .expect("es-sim starts");
    let mut cfg = EsConfig::url(sim.url());
    cfg.retry.initial_backoff = Duration::from_millis(10);
    cfg.retry.max_backoff = Duration::from_millis(50);
    let es = EsClient::new(cfg).expect("client");
    Env { sim, es }
}

pub fn engine(env: &Env, config: EngineConfig) -> Engine {
    Engine::new(
        env.es.clone(),
        Arc::new(connectors_sources::registry()),
        config,
    )
}

pub fn test_config() -> EngineConfig {
    let mut c = EngineConfig {
        page_size: 100,
        check_interval: Duration::from_millis(50),
        lease_ttl: Duration::ZERO,
        ..EngineConfig::default()
    };
    c.bulk_item_retry.initial_backoff = Duration::from_millis(5);
    c.bulk_item_retry.max_backoff = Duration::from_millis(20);
    c
}

/// Creates a connector of `service_type` over `index` with this configuration.
pub async fn connector(
    env: &Env,
    id: &str,
    index: &str,
    service_type: &str,
    config: &Configuration,
) {
    let c = env.es.connectors();
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
    c.update_configuration(id, &es_client::ConfigurationUpdate::Schema(config.clone()))
        .await
        .expect("configuration");
}

/// Sets and activates advanced rules on a connector, as Kibana does.
pub async fn activate_advanced_rules(env: &Env, id: &str, rules: &Value) {
    let c = env.es.connectors();
    c.update_features(
        id,
        &connectors_protocol::Features::declared(true, true, true, false),
    )
    .await
    .expect("features");
    let snippet: connectors_protocol::AdvancedSnippet =
        serde_json::from_value(json!({ "value": rules })).expect("snippet");
    c.update_filtering_draft(id, None, Some(&snippet))
        .await
        .expect("draft");
    c.update_filtering_validation(id, &connectors_protocol::FilteringValidation::valid())
        .await
        .expect("validation");
    c.activate_filtering(id).await.expect("activate");
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

/// Every document of `index` (at most 10,000), by id, without the sync stamp and `_timestamp`.
pub async fn index_docs(es: &EsClient, index: &str) -> BTreeMap<String, Value> {
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
                m.remove("_sync_job_id");
                m.remove("_timestamp");
            }
            (h.id, src)
        })
        .collect()
}
