//! Service configuration: the reference's `config.yml` keys that apply here, each overridable by
//! an environment variable. Keys may be nested or dotted (`elasticsearch.host: ...`), values may
//! use `${VAR}` substitution, as with the reference's EnvYAML. An unknown key or a wrong type is
//! an error that names the key. Keys the reference has but this service does not use are
//! accepted and ignored, so an existing `config.yml` works as it is.

use std::path::Path;
use std::time::Duration;

use connectors_engine::error_budget::ErrorBudgetConfig;
use connectors_engine::scheduler::{SchedulerConfig, ServedConnector};
use connectors_engine::{EngineConfig, ExtractionConfig, ExtractionMode};
use es_client::{Auth, EsConfig, Tls};
use serde::Deserialize;
use serde_json::{Map, Value};

mod layers;

use layers::{Sources, env_value, set_path, substitute_env, undot};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}: invalid YAML: {message}")]
    Yaml { path: String, message: String },
    #[error("{path}: `{key}`: {message}")]
    Key {
        path: String,
        key: String,
        message: String,
    },
    #[error("environment variable {name}: {message}")]
    Env { name: String, message: String },
    #[error("{0}")]
    Invalid(String),
}

/// The whole configuration.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceConfig {
    pub elasticsearch: ElasticsearchSettings,
    pub service: ServiceSettings,
    pub connectors: Vec<ConnectorEntry>,
    /// Deprecated single-connector form of `connectors[]`.
    pub connector_id: Option<String>,
    pub service_type: Option<String>,
    /// The reference's extraction service and source class table: accepted, not used.
    pub extraction_service: Option<Value>,
    pub sources: Option<Value>,
    /// Content extraction (this service's own section).
    pub extraction: ExtractionSettings,
}

/// `extraction:` in config.yml: where files' text is extracted, and what one file may cost.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExtractionSettings {
    /// `in_process` (the worker writes `body`) or `attachment` (the file is sent as
    /// `_attachment` for an ingest pipeline, as the reference does).
    pub mode: ExtractionModeSetting,
    /// Characters of text kept per file (the attachment processor's `indexed_chars`); 0: all.
    pub max_chars: usize,
    /// Seconds one file's extraction may take.
    pub timeout: u64,
    /// Bytes a file may unpack to (archives, compressed streams).
    pub max_unpacked_bytes: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtractionModeSetting {
    #[default]
    InProcess,
    Attachment,
}

impl Default for ExtractionSettings {
    fn default() -> Self {
        let limits = connectors_engine::content::ExtractionConfig::default().limits;
        ExtractionSettings {
            mode: ExtractionModeSetting::InProcess,
            max_chars: limits.max_chars,
            timeout: limits.timeout.as_secs(),
            max_unpacked_bytes: limits.max_unpacked_bytes,
        }
    }
}

#[derive(Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConnectorEntry {
    pub connector_id: String,
    #[serde(default)]
    pub service_type: Option<String>,
    /// A per-connector API key used for that connector's syncs (not yet used: see README).
    #[serde(default)]
    pub api_key: Option<String>,
}

#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ElasticsearchSettings {
    pub host: String,
    pub api_key: Option<String>,
    pub username: Option<String>,
    pub password: Option<String>,
    /// Accepted for compatibility: TLS follows the `https` scheme of `host`.
    pub ssl: Option<bool>,
    pub verify_certs: bool,
    pub ca_certs: Option<String>,
    /// SHA-256 fingerprint of a CA certificate to trust (`ssl_assert_fingerprint` in Python).
    pub ca_fingerprint: Option<String>,
    pub cloud_id: Option<String>,
    /// Seconds.
    pub request_timeout: u64,
    pub retry_on_timeout: bool,
    pub max_wait_duration: u64,
    pub initial_backoff_duration: u64,
    pub backoff_multiplier: u64,
    pub max_retries: u32,
    pub retry_interval: u64,
    pub log_level: Option<String>,
    pub feature_use_connectors_api: bool,
    pub headers: Option<Map<String, Value>>,
    pub bulk: BulkSettings,
}

/// Secrets are never printed.
fn redacted(v: &Option<String>) -> &'static str {
    if v.is_some() { "<redacted>" } else { "<none>" }
}

impl std::fmt::Debug for ConnectorEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectorEntry")
            .field("connector_id", &self.connector_id)
            .field("service_type", &self.service_type)
            .field("api_key", &redacted(&self.api_key))
            .finish()
    }
}

impl std::fmt::Debug for ElasticsearchSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ElasticsearchSettings")
            .field("host", &self.host)
            .field("cloud_id", &self.cloud_id)
            .field("api_key", &redacted(&self.api_key))
            .field("username", &self.username)
            .field("password", &redacted(&self.password))
            .field("verify_certs", &self.verify_certs)
            .field("ca_certs", &self.ca_certs)
            .field("request_timeout", &self.request_timeout)
            .field("max_retries", &self.max_retries)
            .field("bulk", &self.bulk)
            .finish_non_exhaustive()
    }
}

impl Default for ElasticsearchSettings {
    fn default() -> Self {
        ElasticsearchSettings {
            host: "http://localhost:9200".into(),
            api_key: None,
            username: None,
            password: None,
            ssl: None,
            verify_certs: true,
            ca_certs: None,
            ca_fingerprint: None,
            cloud_id: None,
            request_timeout: 240,
            retry_on_timeout: true,
            max_wait_duration: 240,
            initial_backoff_duration: 1,
            backoff_multiplier: 2,
            max_retries: 5,
            retry_interval: 10,
            log_level: None,
            feature_use_connectors_api: true,
            headers: None,
            bulk: BulkSettings::default(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BulkSettings {
    pub chunk_size: usize,
    pub chunk_max_mem_size: usize,
    pub concurrent_downloads: usize,
    /// `_bulk` requests in flight at once.
    pub max_concurrency: usize,
    pub max_retries: u32,
    pub retry_interval: u64,
    pub error_monitor: ErrorMonitorSettings,
    // Accepted, not used: the Python service's in-memory queue and logging knobs.
    pub queue_max_size: Option<Value>,
    pub queue_max_mem_size: Option<Value>,
    pub queue_refresh_interval: Option<Value>,
    pub queue_refresh_timeout: Option<Value>,
    pub max_text_document_size: Option<Value>,
    pub display_every: Option<Value>,
    pub enable_operations_logging: Option<Value>,
}

impl Default for BulkSettings {
    fn default() -> Self {
        BulkSettings {
            chunk_size: 500,
            chunk_max_mem_size: 3 * 1024 * 1024,
            concurrent_downloads: 10,
            max_concurrency: 5,
            max_retries: 5,
            retry_interval: 10,
            error_monitor: ErrorMonitorSettings::default(),
            queue_max_size: None,
            queue_max_mem_size: None,
            queue_refresh_interval: None,
            queue_refresh_timeout: None,
            max_text_document_size: None,
            display_every: None,
            enable_operations_logging: None,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ErrorMonitorSettings {
    pub enabled: bool,
    pub max_total_errors: u64,
    pub max_consecutive_errors: u64,
    pub max_error_rate: f64,
    pub error_window_size: u32,
    pub error_queue_size: usize,
}

impl Default for ErrorMonitorSettings {
    fn default() -> Self {
        let d = ErrorBudgetConfig::default();
        ErrorMonitorSettings {
            enabled: d.enabled,
            max_total_errors: d.max_total_errors,
            max_consecutive_errors: d.max_consecutive_errors,
            max_error_rate: d.max_error_rate,
            error_window_size: d.window_size,
            error_queue_size: d.error_queue_size,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServiceSettings {
    /// Seconds between scheduler passes.
    pub idling: u64,
    /// Seconds between connector check-ins.
    pub heartbeat: u64,
    pub worker_mode: bool,
    pub service_types: Vec<String>,
    /// Workers running slices at once.
    pub max_concurrent_content_syncs: usize,
    pub max_file_download_size: u64,
    /// Seconds without a heartbeat after which a running job is considered abandoned.
    pub job_cleanup_interval: u64,
    pub log_level: Option<String>,
    /// Seconds a worker runs one slice of a job before checkpointing (this service's own key).
    pub slice_seconds: u64,
    /// Log JSON lines (this service's own key).
    pub log_json: bool,
    /// Seconds a worker's lease on a job lasts unless renewed (a live worker renews it with
    /// every heartbeat): how long a job whose worker died waits before another worker resumes
    /// it (this service's own key).
    pub lease_grace: u64,
    /// Seconds between two checkpoint writes while a sync makes progress; 0 writes one after
    /// every acknowledged page (this service's own key).
    pub checkpoint_interval: u64,
    /// Partitions a full sync may be split into, to run on that many workers at once (this
    /// service's own key); 1 never splits. Sources that cannot split run unsplit.
    pub max_partitions_per_job: usize,
    // Accepted, not used.
    pub preflight_max_attempts: Option<Value>,
    pub preflight_idle: Option<Value>,
    pub max_errors: Option<Value>,
    pub max_errors_span: Option<Value>,
    pub max_concurrent_access_control_syncs: Option<Value>,
    pub max_concurrent_scheduling_tasks: Option<Value>,
    pub fips_mode: Option<Value>,
}

impl Default for ServiceSettings {
    fn default() -> Self {
        ServiceSettings {
            idling: 30,
            heartbeat: 300,
            worker_mode: false,
            service_types: Vec::new(),
            max_concurrent_content_syncs: 1,
            max_file_download_size: 10_485_760,
            job_cleanup_interval: 300,
            log_level: None,
            slice_seconds: 600,
            log_json: false,
            lease_grace: 60,
            checkpoint_interval: 1,
            max_partitions_per_job: 1,
            preflight_max_attempts: None,
            preflight_idle: None,
            max_errors: None,
            max_errors_span: None,
            max_concurrent_access_control_syncs: None,
            max_concurrent_scheduling_tasks: None,
            fips_mode: None,
        }
    }
}

/// Environment variables that override keys, and the key each sets.
const ENV_OVERRIDES: &[(&str, &str)] = &[
    ("ES_URL", "elasticsearch.host"),
    ("ES_CLOUD_ID", "elasticsearch.cloud_id"),
    ("ES_API_KEY", "elasticsearch.api_key"),
    ("ES_USERNAME", "elasticsearch.username"),
    ("ES_PASSWORD", "elasticsearch.password"),
    ("ES_CA_FILE", "elasticsearch.ca_certs"),
    ("ES_CA_FINGERPRINT", "elasticsearch.ca_fingerprint"),
    ("ES_VERIFY_CERTS", "elasticsearch.verify_certs"),
    ("ES_REQUEST_TIMEOUT_SECS", "elasticsearch.request_timeout"),
    ("ES_MAX_RETRIES", "elasticsearch.max_retries"),
    ("ES_BULK_CHUNK_SIZE", "elasticsearch.bulk.chunk_size"),
    (
        "ES_BULK_MAX_CONCURRENCY",
        "elasticsearch.bulk.max_concurrency",
    ),
    ("CONNECTORS_IDLING", "service.idling"),
    ("CONNECTORS_HEARTBEAT", "service.heartbeat"),
    ("CONNECTORS_WORKER_MODE", "service.worker_mode"),
    ("CONNECTORS_SERVICE_TYPES", "service.service_types"),
    (
        "CONNECTORS_MAX_CONCURRENT_SYNCS",
        "service.max_concurrent_content_syncs",
    ),
    ("CONNECTORS_SLICE_SECONDS", "service.slice_seconds"),
    (
        "CONNECTORS_CHECKPOINT_INTERVAL",
        "service.checkpoint_interval",
    ),
    ("CONNECTORS_LOG_JSON", "service.log_json"),
    (
        "CONNECTORS_MAX_PARTITIONS_PER_JOB",
        "service.max_partitions_per_job",
    ),
    ("CONNECTORS_EXTRACTION_MODE", "extraction.mode"),
    ("CONNECTORS_EXTRACTION_MAX_CHARS", "extraction.max_chars"),
    (
        "CONNECTORS_EXTRACTION_MAX_UNPACKED_BYTES",
        "extraction.max_unpacked_bytes",
    ),
    (
        "CONNECTORS_MAX_FILE_DOWNLOAD_SIZE",
        "service.max_file_download_size",
    ),
    ("CONNECTOR_IDS", "connectors"),
];

impl ServiceConfig {
    /// Reads `path` (if given), then applies environment overrides.
    pub fn load(path: Option<&Path>) -> Result<Self, ConfigError> {
        let lookup = |name: &str| std::env::var(name).ok();
        let text = match path {
            Some(p) => Some(
                std::fs::read_to_string(p).map_err(|source| ConfigError::Read {
                    path: p.display().to_string(),
                    source,
                })?,
            ),
            None => None,
        };
        let label = path.map_or("<defaults>".to_string(), |p| p.display().to_string());
        Self::from_parts(&label, text.as_deref(), lookup)
    }

    /// [`ServiceConfig::load`] with explicit inputs (for tests).
    pub fn from_parts(
        label: &str,
        yaml: Option<&str>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, ConfigError> {
        let mut unset = Vec::new();
        let mut tree = match yaml {
            Some(text) => {
                let text = substitute_env(text, &env, &mut unset);
                let v: Value = serde_norway::from_str(&text).map_err(|e| ConfigError::Yaml {
                    path: label.to_string(),
                    message: e.to_string(),
                })?;
                match v {
                    Value::Null => Value::Object(Map::new()),
                    Value::Object(_) => undot(v),
                    _ => {
                        return Err(ConfigError::Yaml {
                            path: label.to_string(),
                            message: "the top level must be a mapping".into(),
                        });
                    }
                }
            }
            None => Value::Object(Map::new()),
        };
        let mut overridden = Vec::new();
        for (name, key) in ENV_OVERRIDES {
            if let Some(raw) = env(name).filter(|v| !v.is_empty()) {
                let value = env_value(name, key, &raw)?;
                set_path(&mut tree, key, value);
                overridden.push((*name, *key));
            }
        }
        let sources = Sources {
            label,
            tree: tree.clone(),
            unset,
            overridden,
        };
        let config: ServiceConfig = serde_path_to_error::deserialize(tree).map_err(|e| {
            let key = e.path().to_string();
            sources.error(&key, e.inner().to_string())
        })?;
        config.validate()?;
        config.validate_endpoint(&sources)?;
        Ok(config)
    }

    /// The Elasticsearch URL or cloud id must be usable: checked here, so that a bad one stops
    /// start-up with the key (and an unset `${VAR}` it uses) named, not at the first request.
    fn validate_endpoint(&self, sources: &Sources<'_>) -> Result<(), ConfigError> {
        let es = &self.elasticsearch;
        let (key, result) = match &es.cloud_id {
            Some(id) => (
                "elasticsearch.cloud_id",
                es_client::parse_cloud_id(id).map(drop),
            ),
            None => (
                "elasticsearch.host",
                EsConfig::url(es.host.clone()).base_url().map(drop),
            ),
        };
        match result {
            Err(e) => Err(sources.error(key, e.to_string())),
            // `https://${ES_HOST}` parses, but no host is called `${ES_HOST}`.
            Ok(()) if !sources.unset_in(key).is_empty() => {
                Err(sources.error(key, "not a usable Elasticsearch endpoint".to_string()))
            }
            Ok(()) => Ok(()),
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if self.service.max_concurrent_content_syncs == 0 {
            return Err(ConfigError::Invalid(
                "`service.max_concurrent_content_syncs` must be at least 1".into(),
            ));
        }
        if self.service.slice_seconds == 0 {
            return Err(ConfigError::Invalid(
                "`service.slice_seconds` must be at least 1".into(),
            ));
        }
        Ok(())
    }

    /// Connectors served by id (`connectors[]`, plus the deprecated top-level form).
    pub fn served(&self) -> Vec<ServedConnector> {
        let mut out: Vec<ServedConnector> = self
            .connectors
            .iter()
            .map(|c| ServedConnector {
                connector_id: c.connector_id.clone(),
                service_type: c.service_type.clone(),
            })
            .collect();
        if let Some(id) = &self.connector_id {
            out.push(ServedConnector {
                connector_id: id.clone(),
                service_type: self.service_type.clone(),
            });
        }
        out
    }

    pub fn es_config(&self) -> EsConfig {
        let es = &self.elasticsearch;
        let mut config = match &es.cloud_id {
            Some(id) => EsConfig::cloud_id(id.clone()),
            None => EsConfig::url(es.host.clone()),
        };
        config.auth = match (&es.api_key, &es.username) {
            (Some(key), _) => Auth::ApiKey(key.clone()),
            (None, Some(user)) => Auth::Basic {
                username: user.clone(),
                password: es.password.clone().unwrap_or_default(),
            },
            (None, None) => Auth::None,
        };
        config.tls = Tls {
            ca_file: es.ca_certs.clone().map(Into::into),
            ca_fingerprint: es.ca_fingerprint.clone(),
            verify_certs: es.verify_certs,
        };
        config.request_timeout = Duration::from_secs(es.request_timeout.max(1));
        config.retry.max_retries = es.max_retries;
        config
    }

    pub fn engine_config(&self) -> EngineConfig {
        let bulk = &self.elasticsearch.bulk;
        let m = &bulk.error_monitor;
        let mut c = EngineConfig {
            bulk_max_ops: bulk.chunk_size.max(1),
            bulk_max_bytes: bulk.chunk_max_mem_size.max(1024),
            concurrent_downloads: bulk.concurrent_downloads.max(1),
            bulk_max_concurrency: bulk.max_concurrency.max(1),
            error_budget: ErrorBudgetConfig {
                enabled: m.enabled,
                max_total_errors: m.max_total_errors,
                max_consecutive_errors: m.max_consecutive_errors,
                max_error_rate: m.max_error_rate,
                window_size: m.error_window_size.min(128),
                error_queue_size: m.error_queue_size,
            },
            lease_ttl: Duration::from_secs(self.service.lease_grace),
            checkpoint_interval: Duration::from_secs(self.service.checkpoint_interval),
            max_partitions: self.service.max_partitions_per_job.max(1),
            extraction: ExtractionConfig {
                mode: match self.extraction.mode {
                    ExtractionModeSetting::InProcess => ExtractionMode::InProcess,
                    ExtractionModeSetting::Attachment => ExtractionMode::Attachment,
                },
                limits: connectors_engine::content::Limits {
                    max_chars: self.extraction.max_chars,
                    timeout: Duration::from_secs(self.extraction.timeout.max(1)),
                    max_unpacked_bytes: self.extraction.max_unpacked_bytes,
                },
                max_file_bytes: self.service.max_file_download_size,
            },
            ..EngineConfig::default()
        };
        c.bulk_item_retry.max_retries = bulk.max_retries;
        c
    }

    pub fn scheduler_config(&self) -> SchedulerConfig {
        SchedulerConfig {
            connectors: self.served(),
            service_types: if self.service.worker_mode || !self.service.service_types.is_empty() {
                self.service.service_types.clone()
            } else {
                Vec::new()
            },
            heartbeat_interval: Duration::from_secs(self.service.heartbeat),
            idle_threshold: Duration::from_secs(self.service.job_cleanup_interval.max(1)),
            ..SchedulerConfig::default()
        }
    }
}

#[cfg(test)]
mod tests;
