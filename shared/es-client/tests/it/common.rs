//! The test harness: a client plus, on es-sim, the fault handle.

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use es_client::{EsClient, EsConfig, RetryPolicy};

/// Fast whole-request retries so fault tests stay quick.
pub fn fast_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 5,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(50),
    }
}

/// A cluster to test against.
pub struct TestCluster {
    pub client: EsClient,
    /// Fault injection; `None` on a real cluster.
    pub faults: Option<es_sim::Faults>,
    sim: Option<es_sim::EsSim>,
    url: String,
}

/// Whether the tests run against a real cluster (`ES_URL` set).
pub fn real_cluster() -> bool {
    std::env::var("ES_URL").is_ok_and(|v| !v.is_empty())
}

impl TestCluster {
    /// A default es-sim (refreshing only on request), or the real cluster of `ES_URL`.
    pub async fn start() -> TestCluster {
        if real_cluster() {
            let config = EsConfig::from_env()
                .expect("ES_URL and credentials")
                .with_retry(fast_retry());
            let url = config.base_url().expect("url").to_string();
            return TestCluster {
                client: EsClient::new(config).expect("client"),
                faults: None,
                sim: None,
                url,
            };
        }
        Self::start_sim(sim_config()).await
    }

    /// An es-sim with this configuration. Call only when `!real_cluster()`.
    pub async fn start_sim(config: es_sim::SimConfig) -> TestCluster {
        let sim = es_sim::start(config).await.expect("es-sim starts");
        let url = sim.url();
        let client =
            EsClient::new(EsConfig::url(url.clone()).with_retry(fast_retry())).expect("client");
        TestCluster {
            client,
            faults: Some(sim.faults()),
            sim: Some(sim),
            url,
        }
    }

    /// The same cluster with another client configuration (endpoint already set).
    pub fn config(&self) -> EsConfig {
        if real_cluster() {
            EsConfig::from_env().expect("env").with_retry(fast_retry())
        } else {
            EsConfig::url(self.url.clone()).with_retry(fast_retry())
        }
    }

    pub fn faults(&self) -> &es_sim::Faults {
        self.faults.as_ref().expect("fault injection needs es-sim")
    }

    pub fn is_sim(&self) -> bool {
        self.sim.is_some()
    }

    /// An index name unique to this test run.
    pub fn index(&self, prefix: &str) -> String {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        format!(
            "es-client-test-{prefix}-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        )
    }

    pub async fn stop(self) {
        if let Some(sim) = self.sim {
            sim.shutdown().await;
        }
    }
}

/// es-sim defaults for tests: searches see writes only after a refresh, as on Elasticsearch.
pub fn sim_config() -> es_sim::SimConfig {
    es_sim::SimConfig {
        refresh_interval: None,
        ..es_sim::SimConfig::default()
    }
}

/// Skips a test on a real cluster (fault injection, special simulator settings).
#[macro_export]
macro_rules! sim_only {
    () => {
        if $crate::common::real_cluster() {
            eprintln!("skipped: needs es-sim");
            return;
        }
    };
}
