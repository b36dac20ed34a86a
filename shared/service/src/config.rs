//! Service configuration: the reference's `config.yml` keys that apply here, each overridable by
//! an environment variable. Keys may be nested or dotted (`elasticsearch.host: ...`), values may
//! use `${VAR}` substitution, as with the reference's EnvYAML. An unknown key or a wrong type is
//! an error that names the key. Keys the reference has but this service does not use are
//! accepted and ignored, so an existing `config.yml` works as it is.

use std::path::Path;
use std::time::Duration;

use connectors_engine::EngineConfig;
use connectors_engine::error_budget::ErrorBudgetConfig;
use connectors_engine::scheduler::{SchedulerConfig, ServedConnector};
use es_client::{Auth, EsConfig, Tls};
use serde::Deserialize;
use serde_json::{Map, Value};

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

fn placeholder() -> regex::Regex {
    regex::Regex::new(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}").expect("a valid pattern")
}

/// `${VAR}` substitution, as EnvYAML does; an unset variable stays as written, and its name is
/// added to `unset` so that an error about the value it leaves can say why.
fn substitute_env(
    text: &str,
    env: &impl Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
) -> String {
    placeholder()
        .replace_all(text, |c: &regex::Captures<'_>| {
            env(&c[1]).unwrap_or_else(|| {
                if !unset.iter().any(|u| u == &c[1]) {
                    unset.push(c[1].to_string());
                }
                c[0].to_string()
            })
        })
        .into_owned()
}

/// Where the configuration's values came from, to word errors about them: the file, the
/// variables its `${VAR}`s named that are unset, and the environment overrides applied.
struct Sources<'a> {
    label: &'a str,
    tree: Value,
    unset: Vec<String>,
    overridden: Vec<(&'static str, &'static str)>,
}

impl Sources<'_> {
    /// An error about `key` (a dotted path, `connectors[0].connector_id`). A value set by an
    /// environment override is that variable's error; a value that still holds `${VAR}` for an
    /// unset `VAR` says so, naming the variable only (a value may be a secret).
    fn error(&self, key: &str, message: String) -> ConfigError {
        if let Some((name, _)) = self.overridden.iter().find(|(_, k)| *k == key) {
            return ConfigError::Env {
                name: name.to_string(),
                message: format!("`{key}`: {message}"),
            };
        }
        let unset = self.unset_in(key);
        let message = match unset.as_slice() {
            [] => message,
            [one] => format!(
                "{message} (it uses `${{{one}}}`, left as written because the environment \
                 variable {one} is not set)"
            ),
            many => format!(
                "{message} (it uses {}, left as written because the environment variables {} \
                 are not set)",
                many.iter()
                    .map(|n| format!("`${{{n}}}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                many.join(", ")
            ),
        };
        ConfigError::Key {
            path: self.label.to_string(),
            key: key.to_string(),
            message,
        }
    }

    /// The unset variables whose `${VAR}` the value at `key` still holds.
    fn unset_in(&self, key: &str) -> Vec<&str> {
        let mut names = Vec::new();
        if let Some(v) = value_at(&self.tree, key) {
            collect_unset(v, &self.unset, &mut names);
        }
        names
    }
}

/// The unset variables whose `${VAR}` a value (or anything inside it) still holds.
fn collect_unset<'a>(v: &Value, unset: &'a [String], out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => {
            for c in placeholder().captures_iter(s) {
                if let Some(name) = unset.iter().find(|u| **u == c[1])
                    && !out.contains(&name.as_str())
                {
                    out.push(name);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|e| collect_unset(e, unset, out)),
        Value::Object(m) => m.values().for_each(|e| collect_unset(e, unset, out)),
        _ => {}
    }
}

/// The value at a `serde_path_to_error` path (`a.b`, `a[0].b`); `.` for the root.
fn value_at<'a>(tree: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = tree;
    if path == "." || path.is_empty() {
        return Some(cur);
    }
    for seg in path.split('.') {
        let (name, indices) = match seg.find('[') {
            Some(i) => (&seg[..i], &seg[i..]),
            None => (seg, ""),
        };
        if !name.is_empty() {
            cur = cur.get(name)?;
        }
        for idx in indices.split('[').filter(|p| !p.is_empty()) {
            let i: usize = idx.trim_end_matches(']').parse().ok()?;
            cur = cur.get(i)?;
        }
    }
    Some(cur)
}

/// Turns `{"a.b": 1}` into `{"a": {"b": 1}}`, merging with nested forms.
fn undot(v: Value) -> Value {
    let Value::Object(map) = v else { return v };
    let mut out = Value::Object(Map::new());
    for (k, v) in map {
        let v = undot(v);
        if k.contains('.') {
            set_path(&mut out, &k, v);
        } else {
            merge(&mut out, &k, v);
        }
    }
    out
}

fn merge(target: &mut Value, key: &str, v: Value) {
    let Value::Object(m) = target else { return };
    match (m.get_mut(key), v) {
        (Some(Value::Object(existing)), Value::Object(new)) => {
            for (k, v) in new {
                let mut holder = Value::Object(std::mem::take(existing));
                merge(&mut holder, &k, v);
                if let Value::Object(h) = holder {
                    *existing = h;
                }
            }
        }
        (_, v) => {
            m.insert(key.to_string(), v);
        }
    }
}

fn set_path(target: &mut Value, dotted: &str, v: Value) {
    let mut parts = dotted.split('.').peekable();
    let mut cur = target;
    while let Some(part) = parts.next() {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        let Value::Object(m) = cur else { return };
        if parts.peek().is_none() {
            merge_into(m, part, v);
            return;
        }
        cur = m
            .entry(part.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

fn merge_into(m: &mut Map<String, Value>, key: &str, v: Value) {
    let mut holder = Value::Object(std::mem::take(m));
    merge(&mut holder, key, v);
    if let Value::Object(h) = holder {
        *m = h;
    }
}

/// Parses an environment override into the type its key wants.
fn env_value(name: &str, key: &str, raw: &str) -> Result<Value, ConfigError> {
    let bad = |message: &str| ConfigError::Env {
        name: name.to_string(),
        message: message.to_string(),
    };
    Ok(match key {
        "connectors" => Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|id| serde_json::json!({"connector_id": id}))
                .collect(),
        ),
        "service.service_types" => Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_string()))
                .collect(),
        ),
        "elasticsearch.verify_certs" | "service.worker_mode" | "service.log_json" => {
            match raw.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Value::Bool(true),
                "0" | "false" | "no" | "off" => Value::Bool(false),
                _ => return Err(bad("expected true or false")),
            }
        }
        "elasticsearch.request_timeout"
        | "elasticsearch.max_retries"
        | "service.idling"
        | "service.heartbeat"
        | "service.max_concurrent_content_syncs"
        | "service.slice_seconds"
        | "service.checkpoint_interval"
        | "elasticsearch.bulk.chunk_size"
        | "elasticsearch.bulk.max_concurrency" => Value::from(
            raw.trim()
                .parse::<u64>()
                .map_err(|_| bad("expected a whole number"))?,
        ),
        _ => Value::String(raw.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<ServiceConfig, ConfigError> {
        ServiceConfig::from_parts("config.yml", Some(yaml), |_| None)
    }

    #[test]
    fn reads_the_reference_example() {
        let c = parse(
            r#"
elasticsearch.host: http://es:9200
elasticsearch.api_key: abc
elasticsearch:
  bulk:
    queue_max_size: 1024
    chunk_size: 250
    error_monitor:
      max_consecutive_errors: 3
service:
  idling: 10
  max_errors: 20
connectors:
  - connector_id: c1
    service_type: dir
extraction_service:
  host: http://localhost:8090
sources:
  dir: connectors.sources.directory:DirectoryDataSource
"#,
        )
        .unwrap();
        assert_eq!(c.elasticsearch.host, "http://es:9200");
        assert_eq!(c.elasticsearch.api_key.as_deref(), Some("abc"));
        assert_eq!(c.elasticsearch.bulk.chunk_size, 250);
        assert_eq!(c.engine_config().error_budget.max_consecutive_errors, 3);
        assert_eq!(c.service.idling, 10);
        assert_eq!(c.served()[0].service_type.as_deref(), Some("dir"));
    }

    #[test]
    fn unknown_keys_and_wrong_types_name_the_key() {
        let e = parse("elasticsearch:\n  bulk:\n    chunk_siz: 5\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("elasticsearch.bulk") && e.contains("chunk_siz"),
            "{e}"
        );
        let e = parse("service:\n  idling: soon\n").unwrap_err().to_string();
        assert!(e.contains("service.idling"), "{e}");
        let e = parse("nonsense: 1\n").unwrap_err().to_string();
        assert!(e.contains("nonsense"), "{e}");
    }

    #[test]
    fn environment_overrides_and_substitution() {
        let env = |name: &str| match name {
            "ES_URL" => Some("http://override:9200".to_string()),
            "CONNECTOR_IDS" => Some("a, b".to_string()),
            "MY_KEY" => Some("secret".to_string()),
            "CONNECTORS_SLICE_SECONDS" => Some("45".to_string()),
            "ES_BULK_CHUNK_SIZE" => Some("20".to_string()),
            "ES_BULK_MAX_CONCURRENCY" => Some("2".to_string()),
            "CONNECTORS_CHECKPOINT_INTERVAL" => Some("0".to_string()),
            _ => None,
        };
        let c = ServiceConfig::from_parts("x", Some("elasticsearch:\n  api_key: ${MY_KEY}\n"), env)
            .unwrap();
        assert_eq!(c.elasticsearch.host, "http://override:9200");
        assert_eq!(c.elasticsearch.api_key.as_deref(), Some("secret"));
        assert_eq!(c.served().len(), 2);
        assert_eq!(c.service.slice_seconds, 45);
        let engine = c.engine_config();
        assert_eq!(
            (
                engine.bulk_max_ops,
                engine.bulk_max_concurrency,
                engine.checkpoint_interval
            ),
            (20, 2, Duration::ZERO)
        );
        let bad = |name: &str| (name == "CONNECTORS_IDLING").then(|| "x".to_string());
        let e = ServiceConfig::from_parts("x", None, bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("CONNECTORS_IDLING"), "{e}");
    }

    /// Issue 12: an unset `${VAR}` that leaves an invalid value names the key and the variable.
    #[test]
    fn unset_variables_are_named_with_the_key() {
        let e = parse("elasticsearch:\n  host: ${UNSET_VAR}\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "config.yml: `elasticsearch.host`: invalid Elasticsearch URL <unparsable url>: \
             relative URL without a base (it uses `${UNSET_VAR}`, left as written because the \
             environment variable UNSET_VAR is not set)"
        );
        let e = parse("elasticsearch.host: https://${ES_HOST}\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`elasticsearch.host`: not a usable Elasticsearch endpoint")
                && e.contains("ES_HOST is not set"),
            "{e}"
        );
        // Within a value, in a dotted key, in a list, and with a wrong type.
        let e = parse("elasticsearch.host: https://${ES_HOST}:${ES_PORT}\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`elasticsearch.host`")
                && e.contains("the environment variables ES_HOST, ES_PORT are not set"),
            "{e}"
        );
        let e = parse("service:\n  idling: ${IDLE}\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`service.idling`")
                && e.contains("the environment variable IDLE is not set"),
            "{e}"
        );
        let e = parse("elasticsearch:\n  cloud_id: ${CLOUD}\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`elasticsearch.cloud_id`") && e.contains("CLOUD is not set"),
            "{e}"
        );
        // A set variable substitutes; a bad URL without variables still names the key.
        let env = |n: &str| (n == "ES_HOST").then(|| "es.example".to_string());
        let c = ServiceConfig::from_parts(
            "x",
            Some("elasticsearch.host: https://${ES_HOST}:9200\n"),
            env,
        )
        .unwrap();
        assert_eq!(c.elasticsearch.host, "https://es.example:9200");
        let e = parse("elasticsearch:\n  host: ftp://h\n")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`elasticsearch.host`") && e.contains("unsupported scheme"),
            "{e}"
        );
        // ES_URL overrides the key: its error is the variable's.
        let env = |n: &str| (n == "ES_URL").then(|| "not a url".to_string());
        let e = ServiceConfig::from_parts("x", None, env)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("environment variable ES_URL: `elasticsearch.host`"),
            "{e}"
        );
        // Credentials in the URL are never printed.
        let e = parse("elasticsearch:\n  host: ftp://user:hunter2@h\n")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hunter2"), "{e}");
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let c = parse("elasticsearch:\n  username: u\n  password: hunter2\n  api_key: k3y\nconnectors:\n  - connector_id: c\n    api_key: s3cret\n").unwrap();
        for text in [format!("{c:?}"), format!("{:?}", c.es_config())] {
            assert!(
                !text.contains("hunter2") && !text.contains("k3y") && !text.contains("s3cret"),
                "{text}"
            );
        }
    }
}
