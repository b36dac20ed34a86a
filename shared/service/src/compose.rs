//! The composition root: the one place that builds the parts of a deployment from a
//! configuration. The three faces (the `connectors` binary, the scheduler and worker Lambda
//! functions) all connect and build their engine and scheduler here, with the sources of
//! [`connectors_sources::registry`].

use std::sync::Arc;
use std::time::{Duration, Instant};

use connectors_engine::queue::JobQueue;
use connectors_engine::scheduler::Scheduler;
use connectors_engine::{Engine, EngineConfig, EngineError};
use connectors_protocol::{CONNECTORS_CONCRETE_INDEX, SYNC_JOBS_CONCRETE_INDEX};
use es_client::{EsClient, EsError, VersionRequirement};
use tracing::{info, warn};

use crate::config::ServiceConfig;

#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("Elasticsearch at {url} is not reachable after {waited:?}: {source}")]
    Unreachable {
        url: String,
        waited: Duration,
        source: EsError,
    },
    #[error(transparent)]
    Es(#[from] EsError),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error(transparent)]
    Config(#[from] es_client::ConfigError),
}

/// Connects and runs the reference's preflight: wait for Elasticsearch (up to
/// `max_wait_duration`), check its version, create the connector indices if they are missing.
pub async fn connect(config: &ServiceConfig) -> Result<EsClient, ServiceError> {
    let es_config = config.es_config();
    let url = es_config
        .base_url()
        .map(|u| u.to_string())
        .unwrap_or_else(|_| config.elasticsearch.host.clone());
    let es = EsClient::new(es_config)?;
    let wait = Duration::from_secs(config.elasticsearch.max_wait_duration);
    let started = Instant::now();
    let mut backoff = Duration::from_secs(config.elasticsearch.initial_backoff_duration.max(1));
    loop {
        match es.verify_version(VersionRequirement::default()).await {
            Ok((info, check)) => {
                info!(version = %info.version.number, ?check, "connected to Elasticsearch");
                break;
            }
            Err(e @ EsError::UnsupportedVersion { .. }) => return Err(e.into()),
            Err(e) if e.is_auth_error() => return Err(e.into()),
            Err(e) if started.elapsed() >= wait => {
                return Err(ServiceError::Unreachable {
                    url,
                    waited: started.elapsed(),
                    source: e,
                });
            }
            Err(e) => {
                warn!(error = %e, "waiting for Elasticsearch");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * config.elasticsearch.backoff_multiplier.max(1) as u32)
                    .min(Duration::from_secs(30));
            }
        }
    }
    for index in [CONNECTORS_CONCRETE_INDEX, SYNC_JOBS_CONCRETE_INDEX] {
        // An empty body, so that Elasticsearch's own templates apply.
        es.indices().ensure(index, None).await?;
    }
    Ok(es)
}

/// The engine of a configuration, serving every source of this build.
pub fn engine(es: &EsClient, config: &ServiceConfig) -> Engine {
    engine_with(es, config.engine_config())
}

/// [`engine`] with engine settings a face adjusted (the worker function's page size).
pub fn engine_with(es: &EsClient, engine_config: EngineConfig) -> Engine {
    let limits = connectors_sources::objects::Limits {
        max_content_bytes: engine_config.extraction.max_file_bytes,
        ..Default::default()
    };
    Engine::new(
        es.clone(),
        Arc::new(connectors_sources::registry_with(limits)),
        engine_config,
    )
}

/// The engine and scheduler of a configuration.
pub fn build(
    es: &EsClient,
    config: &ServiceConfig,
    queue: Arc<dyn JobQueue>,
) -> (Engine, Scheduler) {
    let engine = engine(es, config);
    let scheduler = Scheduler::new(engine.clone(), queue, config.scheduler_config());
    (engine, scheduler)
}
