//! Client configuration: where Elasticsearch is, how to authenticate, TLS trust, timeouts,
//! retries, the REST compatibility mode and the user agent.
//!
//! Every type holding a secret redacts it in its `Debug` output.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};

use crate::error::ConfigError;

/// The user agent sent by default: `connectors-rs/<crate version>`.
pub const DEFAULT_USER_AGENT: &str = concat!("connectors-rs/", env!("CARGO_PKG_VERSION"));

/// The reference service's `elasticsearch.request_timeout` (240 s).
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(240);

/// Where the cluster is.
#[derive(Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A base URL such as `https://localhost:9200` (a path prefix is kept).
    Url(String),
    /// An Elastic Cloud id, `label:base64(host[:port]$es_uuid[$kibana_uuid])`.
    CloudId(String),
}

impl fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            // A URL may carry `user:password@`; never print it.
            Endpoint::Url(url) => f.debug_tuple("Url").field(&redact_userinfo(url)).finish(),
            Endpoint::CloudId(id) => f.debug_tuple("CloudId").field(id).finish(),
        }
    }
}

fn redact_userinfo(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if !parsed.username().is_empty() || parsed.password().is_some() => {
            let _ = parsed.set_username("");
            let _ = parsed.set_password(None);
            format!("{parsed} (credentials redacted)")
        }
        Ok(_) => url.to_string(),
        Err(_) => "<unparsable url>".to_string(),
    }
}

/// How requests authenticate.
#[derive(Clone, Default, PartialEq, Eq)]
pub enum Auth {
    /// No `Authorization` header.
    #[default]
    None,
    /// `Authorization: ApiKey <encoded>`, where `encoded` is `base64(id:api_key)` exactly as
    /// Elasticsearch returns it in the `encoded` field.
    ApiKey(String),
    /// An API key given as its id and secret; sent as `ApiKey base64(id:secret)`.
    ApiKeyIdSecret { id: String, secret: String },
    /// `Authorization: Basic base64(username:password)`.
    Basic { username: String, password: String },
    /// `Authorization: Bearer <token>` (service account tokens).
    Bearer(String),
}

impl Auth {
    /// The `Authorization` header value, or `None` for [`Auth::None`].
    pub(crate) fn header_value(&self) -> Option<String> {
        match self {
            Auth::None => None,
            Auth::ApiKey(encoded) => Some(format!("ApiKey {}", encoded.trim())),
            Auth::ApiKeyIdSecret { id, secret } => Some(format!(
                "ApiKey {}",
                STANDARD.encode(format!("{id}:{secret}"))
            )),
            Auth::Basic { username, password } => Some(format!(
                "Basic {}",
                STANDARD.encode(format!("{username}:{password}"))
            )),
            Auth::Bearer(token) => Some(format!("Bearer {}", token.trim())),
        }
    }

    /// A short name for logs (`none`, `api_key`, `basic`, `bearer`).
    pub fn kind(&self) -> &'static str {
        match self {
            Auth::None => "none",
            Auth::ApiKey(_) | Auth::ApiKeyIdSecret { .. } => "api_key",
            Auth::Basic { .. } => "basic",
            Auth::Bearer(_) => "bearer",
        }
    }
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const R: &str = "<redacted>";
        match self {
            Auth::None => f.write_str("None"),
            Auth::ApiKey(_) => f.debug_tuple("ApiKey").field(&R).finish(),
            Auth::ApiKeyIdSecret { id, .. } => f
                .debug_struct("ApiKeyIdSecret")
                .field("id", id)
                .field("secret", &R)
                .finish(),
            Auth::Basic { username, .. } => f
                .debug_struct("Basic")
                .field("username", username)
                .field("password", &R)
                .finish(),
            Auth::Bearer(_) => f.debug_tuple("Bearer").field(&R).finish(),
        }
    }
}

/// TLS trust settings. The system roots are always trusted (unless `verify_certs` is false).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tls {
    /// A PEM file of extra CA certificates to trust (the reference's `ca_certs`).
    pub ca_file: Option<PathBuf>,
    /// SHA-256 of a CA certificate's DER bytes, hex (colons, spaces and case ignored). When a
    /// certificate presented by the server matches, it is trusted as a CA and the chain is then
    /// verified normally, hostname included (the Beats `ca_trusted_fingerprint` behaviour).
    pub ca_fingerprint: Option<String>,
    /// `false` accepts any certificate and hostname. For development only.
    pub verify_certs: bool,
}

impl Default for Tls {
    fn default() -> Self {
        Tls {
            ca_file: None,
            ca_fingerprint: None,
            verify_certs: true,
        }
    }
}

/// Bounded exponential back-off with full jitter: the n-th retry (from 0) sleeps a uniformly
/// random duration in `[0, min(max_backoff, initial_backoff * 2^n)]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (the reference's `max_retries`, 5).
    pub max_retries: u32,
    /// The back-off ceiling of the first retry.
    pub initial_backoff: Duration,
    /// The largest back-off ceiling.
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_retries: 5,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        RetryPolicy {
            max_retries: 0,
            ..RetryPolicy::default()
        }
    }

    /// The ceiling of the back-off before retry `retry` (0-based): `initial * 2^retry`, capped.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 1u32.checked_shl(retry.min(31)).unwrap_or(u32::MAX);
        self.initial_backoff
            .checked_mul(factor)
            .unwrap_or(self.max_backoff)
            .min(self.max_backoff)
    }

    /// A random back-off before retry `retry` (0-based), full jitter.
    pub fn backoff(&self, retry: u32) -> Duration {
        let ceiling = self.ceiling(retry);
        if ceiling.is_zero() {
            return ceiling;
        }
        let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
        Duration::from_nanos(rand::random_range(0..=nanos))
    }
}

/// Which media types requests use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Compatibility {
    /// Plain `application/json` and `application/x-ndjson` until the server's major version is
    /// known (from [`crate::EsClient::info`]), then the vendor types with `compatible-with=<major>`.
    /// Serverless stays on plain JSON.
    #[default]
    Auto,
    /// Always plain `application/json` / `application/x-ndjson`; works with every version.
    PlainJson,
    /// Always `application/vnd.elasticsearch+json; compatible-with=<major>`.
    Major(u8),
}

/// Everything needed to build an [`crate::EsClient`].
#[derive(Debug, Clone)]
pub struct EsConfig {
    pub endpoint: Endpoint,
    pub auth: Auth,
    pub tls: Tls,
    /// Whole-request timeout (connect, send, wait, read). Default 240 s.
    pub request_timeout: Duration,
    /// TCP + TLS connect timeout. Default 10 s.
    pub connect_timeout: Duration,
    /// Retries of whole requests (connection errors, timeouts, 429, 500, 502, 503, 504).
    pub retry: RetryPolicy,
    pub compatibility: Compatibility,
    pub user_agent: String,
}

impl EsConfig {
    /// A configuration with defaults for everything but the endpoint.
    pub fn new(endpoint: Endpoint) -> Self {
        EsConfig {
            endpoint,
            auth: Auth::None,
            tls: Tls::default(),
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            connect_timeout: Duration::from_secs(10),
            retry: RetryPolicy::default(),
            compatibility: Compatibility::default(),
            user_agent: DEFAULT_USER_AGENT.to_string(),
        }
    }

    /// Shorthand for `EsConfig::new(Endpoint::Url(url))`.
    pub fn url(url: impl Into<String>) -> Self {
        EsConfig::new(Endpoint::Url(url.into()))
    }

    /// Shorthand for `EsConfig::new(Endpoint::CloudId(id))`.
    pub fn cloud_id(cloud_id: impl Into<String>) -> Self {
        EsConfig::new(Endpoint::CloudId(cloud_id.into()))
    }

    pub fn with_auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    pub fn with_tls(mut self, tls: Tls) -> Self {
        self.tls = tls;
        self
    }

    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    pub fn with_request_timeout(mut self, timeout: Duration) -> Self {
        self.request_timeout = timeout;
        self
    }

    pub fn with_compatibility(mut self, compatibility: Compatibility) -> Self {
        self.compatibility = compatibility;
        self
    }

    pub fn with_user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// Reads a configuration from environment variables:
    /// `ES_URL` or `ES_CLOUD_ID` (one is required); `ES_API_KEY` (encoded), or `ES_API_KEY_ID` +
    /// `ES_API_KEY_SECRET`, or `ES_USERNAME` + `ES_PASSWORD`, or `ES_BEARER_TOKEN`; `ES_CA_FILE`,
    /// `ES_CA_FINGERPRINT`, `ES_VERIFY_CERTS` (`false`/`0` disables); `ES_REQUEST_TIMEOUT_SECS`;
    /// `ES_MAX_RETRIES`. An API key wins over a username and password, as in the reference.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    /// [`EsConfig::from_env`] with a custom variable lookup.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let endpoint = match (lookup("ES_URL"), lookup("ES_CLOUD_ID")) {
            (Some(url), _) => Endpoint::Url(url),
            (None, Some(id)) => Endpoint::CloudId(id),
            (None, None) => return Err(ConfigError::MissingEndpoint),
        };
        let mut config = EsConfig::new(endpoint);
        config.auth = if let Some(key) = lookup("ES_API_KEY") {
            Auth::ApiKey(key)
        } else if let (Some(id), Some(secret)) =
            (lookup("ES_API_KEY_ID"), lookup("ES_API_KEY_SECRET"))
        {
            Auth::ApiKeyIdSecret { id, secret }
        } else if let Some(username) = lookup("ES_USERNAME") {
            Auth::Basic {
                username,
                password: lookup("ES_PASSWORD").unwrap_or_default(),
            }
        } else if let Some(token) = lookup("ES_BEARER_TOKEN") {
            Auth::Bearer(token)
        } else {
            Auth::None
        };
        config.tls.ca_file = lookup("ES_CA_FILE").map(PathBuf::from);
        config.tls.ca_fingerprint = lookup("ES_CA_FINGERPRINT");
        if let Some(verify) = lookup("ES_VERIFY_CERTS") {
            config.tls.verify_certs = !matches!(
                verify.trim().to_ascii_lowercase().as_str(),
                "false" | "0" | "no" | "off"
            );
        }
        if let Some(secs) = lookup("ES_REQUEST_TIMEOUT_SECS") {
            let secs: u64 = secs.trim().parse().map_err(|_| ConfigError::InvalidValue {
                name: "ES_REQUEST_TIMEOUT_SECS",
                value: secs.clone(),
            })?;
            config.request_timeout = Duration::from_secs(secs);
        }
        if let Some(retries) = lookup("ES_MAX_RETRIES") {
            config.retry.max_retries =
                retries
                    .trim()
                    .parse()
                    .map_err(|_| ConfigError::InvalidValue {
                        name: "ES_MAX_RETRIES",
                        value: retries.clone(),
                    })?;
        }
        Ok(config)
    }

    /// The base URL requests go to: the URL as given, or the one a cloud id decodes to.
    pub fn base_url(&self) -> Result<url::Url, ConfigError> {
        let text = match &self.endpoint {
            Endpoint::Url(url) => url.trim().to_string(),
            Endpoint::CloudId(id) => parse_cloud_id(id)?,
        };
        let url = url::Url::parse(&text).map_err(|e| ConfigError::InvalidUrl {
            url: redact_userinfo(&text),
            reason: e.to_string(),
        })?;
        match url.scheme() {
            "http" | "https" => {}
            other => {
                return Err(ConfigError::InvalidUrl {
                    url: redact_userinfo(&text),
                    reason: format!("unsupported scheme `{other}` (use http or https)"),
                });
            }
        }
        if url.cannot_be_a_base() || url.host().is_none() {
            return Err(ConfigError::InvalidUrl {
                url: redact_userinfo(&text),
                reason: "no host".to_string(),
            });
        }
        Ok(url)
    }
}

/// Decodes an Elastic Cloud id, `label:base64(host[:port]$es_uuid[$kibana_uuid])`, into the
/// Elasticsearch URL `https://<es_uuid>.<host>[:port]` (port 443 when absent, left implicit).
/// A port may also follow the uuid (`es_uuid:port`), which wins over one on the host.
pub fn parse_cloud_id(cloud_id: &str) -> Result<String, ConfigError> {
    let cloud_id = cloud_id.trim();
    let Some((label, encoded)) = cloud_id.split_once(':') else {
        return Err(ConfigError::CloudId(
            "expected `<label>:<base64 data>` but found no `:`".into(),
        ));
    };
    if label.is_empty() {
        return Err(ConfigError::CloudId("the label before `:` is empty".into()));
    }
    if encoded.is_empty() {
        return Err(ConfigError::CloudId("the data after `:` is empty".into()));
    }
    let decoded = STANDARD
        .decode(encoded)
        .or_else(|_| STANDARD_NO_PAD.decode(encoded.trim_end_matches('=')))
        .map_err(|e| {
            ConfigError::CloudId(format!("the data after `:` is not valid base64: {e}"))
        })?;
    let decoded = String::from_utf8(decoded)
        .map_err(|_| ConfigError::CloudId("the decoded data is not UTF-8".into()))?;
    let mut parts = decoded.trim().split('$');
    let host = parts.next().unwrap_or_default();
    let es_uuid = parts.next().unwrap_or_default();
    if host.is_empty() {
        return Err(ConfigError::CloudId("the decoded data has no host".into()));
    }
    if es_uuid.is_empty() {
        return Err(ConfigError::CloudId(
            "the decoded data has no Elasticsearch uuid after the host".into(),
        ));
    }
    let (host, host_port) = split_port(host)?;
    let (es_uuid, uuid_port) = split_port(es_uuid)?;
    if host.is_empty() || es_uuid.is_empty() {
        return Err(ConfigError::CloudId(
            "empty host or Elasticsearch uuid".into(),
        ));
    }
    let port = uuid_port.or(host_port).filter(|p| *p != 443);
    Ok(match port {
        Some(port) => format!("https://{es_uuid}.{host}:{port}"),
        None => format!("https://{es_uuid}.{host}"),
    })
}

fn split_port(part: &str) -> Result<(&str, Option<u16>), ConfigError> {
    match part.rsplit_once(':') {
        None => Ok((part, None)),
        Some((name, port)) => {
            let port = port
                .parse::<u16>()
                .map_err(|_| ConfigError::CloudId(format!("invalid port `{port}`")))?;
            Ok((name, Some(port)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cloud(label: &str, data: &str) -> String {
        format!("{label}:{}", STANDARD.encode(data))
    }

    #[test]
    fn cloud_id_default_port() {
        let id = cloud(
            "my_deployment",
            "cloud-endpoint.example$3dadf823f05388497ea684236d918a1a$3f26e1609cf54a0f80137a80de560da4",
        );
        assert_eq!(
            parse_cloud_id(&id).unwrap(),
            "https://3dadf823f05388497ea684236d918a1a.cloud-endpoint.example"
        );
    }

    #[test]
    fn cloud_id_port_on_host_survives() {
        let id = cloud("x", "cloud-endpoint.example:9243$abc$kib");
        assert_eq!(
            parse_cloud_id(&id).unwrap(),
            "https://abc.cloud-endpoint.example:9243"
        );
        // 443 stays implicit.
        let id = cloud("x", "host.example:443$abc");
        assert_eq!(parse_cloud_id(&id).unwrap(), "https://abc.host.example");
    }

    #[test]
    fn cloud_id_port_on_uuid_wins() {
        let id = cloud("x", "host.example:9243$abc:9200$kib:9300");
        assert_eq!(
            parse_cloud_id(&id).unwrap(),
            "https://abc.host.example:9200"
        );
    }

    #[test]
    fn cloud_id_without_kibana_and_without_padding() {
        let data = STANDARD_NO_PAD.encode("host.example$abcd");
        assert_eq!(
            parse_cloud_id(&format!("l:{data}")).unwrap(),
            "https://abcd.host.example"
        );
    }

    #[test]
    fn cloud_id_label_may_contain_colon_free_text_and_data_is_after_first_colon() {
        // The label ends at the first `:`.
        let id = cloud("prod-eu", "h.example$u");
        assert!(parse_cloud_id(&id).is_ok());
    }

    #[test]
    fn cloud_id_errors() {
        let err = |s: &str| parse_cloud_id(s).unwrap_err().to_string();
        assert!(err("nocolon").contains("no `:`"), "{}", err("nocolon"));
        assert!(err(&cloud("", "h$u")).contains("label"));
        assert!(err("l:").contains("empty"));
        assert!(err("l:!!!notbase64").contains("base64"));
        assert!(err(&cloud("l", "$uuid")).contains("no host"));
        assert!(err(&cloud("l", "host.example")).contains("uuid"));
        assert!(err(&cloud("l", "host.example$")).contains("uuid"));
        assert!(err(&cloud("l", "host.example:notaport$u")).contains("port"));
    }

    #[test]
    fn base_url_from_cloud_id_and_url() {
        let config = EsConfig::cloud_id(cloud("l", "h.example$u"));
        assert_eq!(config.base_url().unwrap().as_str(), "https://u.h.example/");
        let config = EsConfig::url("http://localhost:9200/prefix");
        assert_eq!(
            config.base_url().unwrap().as_str(),
            "http://localhost:9200/prefix"
        );
        assert!(EsConfig::url("ftp://x").base_url().is_err());
        assert!(EsConfig::url("not a url").base_url().is_err());
    }

    #[test]
    fn auth_headers() {
        assert_eq!(Auth::None.header_value(), None);
        assert_eq!(
            Auth::ApiKey("abc==".into()).header_value().unwrap(),
            "ApiKey abc=="
        );
        assert_eq!(
            Auth::ApiKeyIdSecret {
                id: "id".into(),
                secret: "s".into()
            }
            .header_value()
            .unwrap(),
            format!("ApiKey {}", STANDARD.encode("id:s"))
        );
        assert_eq!(
            Auth::Basic {
                username: "elastic".into(),
                password: "changeme".into()
            }
            .header_value()
            .unwrap(),
            "Basic ZWxhc3RpYzpjaGFuZ2VtZQ=="
        );
        assert_eq!(Auth::Bearer("t".into()).header_value().unwrap(), "Bearer t");
    }

    #[test]
    fn debug_redacts_secrets() {
        let config =
            EsConfig::url("https://elastic:hunter2@localhost:9200").with_auth(Auth::Basic {
                username: "elastic".into(),
                password: "hunter2".into(),
            });
        let text = format!("{config:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("elastic"));
        for auth in [
            Auth::ApiKey("sekrit".into()),
            Auth::ApiKeyIdSecret {
                id: "kid".into(),
                secret: "sekrit".into(),
            },
            Auth::Bearer("sekrit".into()),
        ] {
            let text = format!("{auth:?}");
            assert!(!text.contains("sekrit"), "{text}");
        }
    }

    #[test]
    fn from_lookup_reads_variables() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert!(matches!(
            EsConfig::from_lookup(vars(&[])),
            Err(ConfigError::MissingEndpoint)
        ));
        let config = EsConfig::from_lookup(vars(&[
            ("ES_URL", "http://localhost:9200"),
            ("ES_API_KEY", "k"),
            ("ES_USERNAME", "u"),
            ("ES_PASSWORD", "p"),
            ("ES_VERIFY_CERTS", "false"),
            ("ES_MAX_RETRIES", "2"),
        ]))
        .unwrap();
        assert_eq!(config.auth, Auth::ApiKey("k".into()));
        assert!(!config.tls.verify_certs);
        assert_eq!(config.retry.max_retries, 2);
        let config = EsConfig::from_lookup(vars(&[
            ("ES_URL", "http://localhost:9200"),
            ("ES_USERNAME", "u"),
            ("ES_PASSWORD", "p"),
        ]))
        .unwrap();
        assert_eq!(
            config.auth,
            Auth::Basic {
                username: "u".into(),
                password: "p".into()
            }
        );
        assert!(
            EsConfig::from_lookup(vars(&[("ES_URL", "x"), ("ES_MAX_RETRIES", "many")])).is_err()
        );
    }

    #[test]
    fn backoff_is_bounded_and_grows() {
        let policy = RetryPolicy {
            max_retries: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(2),
        };
        assert_eq!(policy.ceiling(0), Duration::from_millis(100));
        assert_eq!(policy.ceiling(1), Duration::from_millis(200));
        assert_eq!(policy.ceiling(3), Duration::from_millis(800));
        assert_eq!(policy.ceiling(5), Duration::from_secs(2));
        assert_eq!(policy.ceiling(40), Duration::from_secs(2));
        for retry in 0..50 {
            assert!(policy.backoff(retry) <= policy.ceiling(retry));
        }
    }
}
