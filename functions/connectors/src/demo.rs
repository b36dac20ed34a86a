//! `connectors demo`: the whole protocol on one machine with nothing else running. Starts the
//! embedded Elasticsearch-compatible server, creates a `dir` connector over the bundled sample
//! folder as Kibana would, lets the scheduler publish its configuration schema, configures it
//! through the connector API, requests a sync, runs it through the queue and a worker, and
//! prints the outcome.

use std::path::PathBuf;
use std::time::Duration;

use connectors_protocol::{JobType, SyncStatus, TriggerMethod};
use es_client::{ConfigurationUpdate, NewConnector};
use serde_json::{Map, Value, json};

use connectors_service::config::{ConnectorEntry, ServiceConfig};
use connectors_service::{ServiceError, compose, local};

const CONNECTOR_ID: &str = "demo-dir";
const INDEX: &str = "search-demo-files";

/// The bundled sample folder: `$CONNECTORS_SAMPLE_DIR`, else `docs/sample-data` of this
/// checkout.
pub fn sample_dir() -> PathBuf {
    std::env::var_os("CONNECTORS_SAMPLE_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../docs/sample-data"
            ))
        })
}

/// Runs the demo; `Ok(true)` when the sync completed.
pub async fn run() -> Result<bool, ServiceError> {
    let sim = es_sim::start(es_sim::SimConfig::default())
        .await
        .map_err(|e| {
            ServiceError::Es(es_client::EsError::InvalidRequest(format!(
                "cannot start es-sim: {e}"
            )))
        })?;
    println!(
        "1. Started the embedded Elasticsearch-compatible server at {}",
        sim.url()
    );

    let mut config = ServiceConfig::default();
    config.elasticsearch.host = sim.url();
    config.service.slice_seconds = 30;
    config.connectors.push(ConnectorEntry {
        connector_id: CONNECTOR_ID.into(),
        service_type: Some("dir".into()),
        api_key: None,
    });
    let es = compose::connect(&config).await?;

    let connectors = es.connectors();
    connectors
        .put(
            Some(CONNECTOR_ID),
            &NewConnector {
                index_name: Some(INDEX.into()),
                name: Some("Demo files".into()),
                service_type: Some("dir".into()),
                ..Default::default()
            },
        )
        .await?;
    println!("2. Created connector {CONNECTOR_ID} (index {INDEX}) through the connector API");

    local::tick(&es, &config).await?;
    let c = connectors.get(CONNECTOR_ID, false).await?;
    println!(
        "3. The scheduler published the configuration schema ({}); status: {}",
        c.configuration
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", "),
        c.status
    );

    let dir = std::fs::canonicalize(sample_dir()).unwrap_or_else(|_| sample_dir());
    let mut values = Map::new();
    values.insert("directory".into(), Value::String(dir.display().to_string()));
    connectors
        .update_configuration(CONNECTOR_ID, &ConfigurationUpdate::Values(values))
        .await?;
    local::tick(&es, &config).await?;
    let c = connectors.get(CONNECTOR_ID, false).await?;
    println!(
        "4. Configured directory = {}; status: {}",
        dir.display(),
        c.status
    );

    let job_id = es
        .sync_jobs()
        .create(CONNECTOR_ID, JobType::Full, TriggerMethod::OnDemand)
        .await?;
    println!("5. Requested a full sync: job {job_id}");

    let (_never, stop) = tokio::sync::watch::channel(false);
    let report = local::work_once(&es, &config, stop).await?;
    let job = es.sync_jobs().get(&job_id).await?;
    println!(
        "6. Ran {} slice(s): job {} — indexed {}, deleted {}, {} documents in {INDEX}{}",
        report.slices,
        job.status,
        job.indexed_document_count,
        job.deleted_document_count,
        job.total_document_count,
        job.error
            .as_deref()
            .map(|e| format!(" (error: {e})"))
            .unwrap_or_default()
    );

    let hits = es
        .search::<Value>(
            INDEX,
            &json!({"size": 3, "query": {"exists": {"field": "body"}}, "_source": ["path", "size", "body"]}),
            &Default::default(),
        )
        .await?;
    println!(
        "7. A sample search ({} of {} documents with text):",
        hits.hits.hits.len(),
        hits.hits.total.map(|t| t.value).unwrap_or_default()
    );
    for hit in hits.hits.hits {
        let src = hit.source.unwrap_or(Value::Null);
        let body = src["body"]
            .as_str()
            .unwrap_or("")
            .lines()
            .next()
            .unwrap_or("");
        println!(
            "   - {} ({} bytes): {body}",
            src["path"].as_str().unwrap_or("?"),
            src["size"]
        );
    }
    tokio::time::sleep(Duration::from_millis(10)).await;
    sim.shutdown().await;
    Ok(job.status == SyncStatus::Completed)
}
