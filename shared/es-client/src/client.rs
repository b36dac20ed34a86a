//! `EsClient`: the HTTP transport (headers, compatibility media types, product check, error
//! parsing, whole-request retries) and the cluster-level calls (`info`, the version gate).

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Instant;

use bytes::Bytes;
use reqwest::Method;
use reqwest::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};
use serde::Serialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::config::{Compatibility, EsConfig, RetryPolicy};
use crate::error::{ConfigError, EsError, TransportErrorKind, is_retryable_status, truncate};
use crate::stats::{Counters, RequestStats};
use crate::version::{InfoResponse, VersionCheck, VersionRequirement, check_version};

/// Sent on every request, as the reference service does; Elasticsearch restricts the connector
/// system indices to a few product origins.
pub const PRODUCT_ORIGIN_HEADER: &str = "x-elastic-product-origin";
pub const PRODUCT_ORIGIN: &str = "connectors";
/// Every genuine Elasticsearch answer carries `X-elastic-product: Elasticsearch`.
pub const PRODUCT_HEADER: &str = "x-elastic-product";
pub const PRODUCT: &str = "Elasticsearch";

const SERVER_MAJOR_UNKNOWN: u8 = 0;
const SERVER_PLAIN_JSON: u8 = u8::MAX;

/// A cheap-to-clone Elasticsearch client. Clones share one connection pool.
#[derive(Clone)]
pub struct EsClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    auth: Option<HeaderValue>,
    retry: RetryPolicy,
    compatibility: Compatibility,
    /// The server's major version once known (Compatibility::Auto), or a marker.
    server_major: AtomicU8,
    /// Requests and bytes, shared with the clients made from this one.
    counters: Arc<Counters>,
}

impl std::fmt::Debug for EsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EsClient")
            .field("base", &self.inner.base.as_str())
            .field("auth", &self.inner.auth.as_ref().map(|_| "<redacted>"))
            .field("retry", &self.inner.retry)
            .field("compatibility", &self.inner.compatibility)
            .finish()
    }
}

/// The body kind of a request: JSON, or NDJSON for `_bulk`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BodyKind {
    Json,
    Ndjson,
}

/// A finished exchange: the status and the whole body.
#[derive(Debug)]
pub(crate) struct RawResponse {
    pub status: u16,
    pub body: Bytes,
}

impl RawResponse {
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.status)
    }
}

impl EsClient {
    /// Builds a client. Fails on an unusable URL, cloud id, CA file or fingerprint.
    pub fn new(config: EsConfig) -> Result<EsClient, ConfigError> {
        let mut base = config.base_url()?;
        let mut auth = config.auth.clone();
        // Credentials in the URL become Basic auth unless an explicit method is configured, and
        // are removed from the URL so they never show up in logs or errors.
        if !base.username().is_empty() || base.password().is_some() {
            if matches!(auth, crate::config::Auth::None) {
                let decode = |s: &str| {
                    url::form_urlencoded::parse(format!("x={s}").as_bytes())
                        .next()
                        .map(|(_, v)| v.into_owned())
                        .unwrap_or_default()
                };
                auth = crate::config::Auth::Basic {
                    username: decode(base.username()),
                    password: decode(base.password().unwrap_or_default()),
                };
            }
            let _ = base.set_username("");
            let _ = base.set_password(None);
        }
        let auth = auth_header(&auth)?;
        let mut headers = HeaderMap::new();
        headers.insert(
            PRODUCT_ORIGIN_HEADER,
            HeaderValue::from_static(PRODUCT_ORIGIN),
        );
        headers.insert(
            USER_AGENT,
            HeaderValue::from_str(&config.user_agent)
                .map_err(|_| ConfigError::Header("User-Agent"))?,
        );
        let builder = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(config.request_timeout)
            .connect_timeout(config.connect_timeout)
            .redirect(reqwest::redirect::Policy::none());
        let builder = crate::tls::configure(builder, &config.tls)?;
        let http = builder.build().map_err(ConfigError::Http)?;
        let server_major = match config.compatibility {
            Compatibility::Major(major) => major,
            _ => SERVER_MAJOR_UNKNOWN,
        };
        tracing::debug!(
            url = %base,
            auth = config.auth.kind(),
            compatibility = ?config.compatibility,
            "Elasticsearch client ready"
        );
        Ok(EsClient {
            inner: Arc::new(Inner {
                http,
                base,
                auth,
                retry: config.retry,
                compatibility: config.compatibility,
                server_major: AtomicU8::new(server_major),
                counters: Arc::default(),
            }),
        })
    }

    /// A client for the same cluster with other credentials (e.g. a connector's own API key),
    /// sharing this client's connection pool and settings.
    pub fn with_auth(&self, auth: &crate::config::Auth) -> Result<EsClient, ConfigError> {
        let auth = auth_header(auth)?;
        Ok(EsClient {
            inner: Arc::new(Inner {
                http: self.inner.http.clone(),
                base: self.inner.base.clone(),
                auth,
                retry: self.inner.retry,
                compatibility: self.inner.compatibility,
                server_major: AtomicU8::new(self.inner.server_major.load(Ordering::Relaxed)),
                counters: Arc::clone(&self.inner.counters),
            }),
        })
    }

    /// The base URL (without credentials).
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// The whole-request retry policy.
    pub fn retry_policy(&self) -> RetryPolicy {
        self.inner.retry
    }

    /// What this client (and the clients sharing its counters) sent and read so far.
    pub fn stats(&self) -> RequestStats {
        self.inner.counters.snapshot()
    }

    /// `GET /`: cluster name and version. Also teaches [`Compatibility::Auto`] the major version.
    pub async fn info(&self) -> Result<InfoResponse, EsError> {
        let info: InfoResponse = self.request(Method::GET, self.url(&[]), None).await?;
        if self.inner.compatibility == Compatibility::Auto {
            let marker = if info.version.is_serverless() {
                SERVER_PLAIN_JSON
            } else {
                info.version
                    .parsed()
                    .and_then(|v| u8::try_from(v.major).ok())
                    .filter(|m| *m != SERVER_MAJOR_UNKNOWN && *m != SERVER_PLAIN_JSON)
                    .unwrap_or(SERVER_PLAIN_JSON)
            };
            self.inner.server_major.store(marker, Ordering::Relaxed);
        }
        Ok(info)
    }

    /// `HEAD /`: whether the cluster answers 200.
    pub async fn ping(&self) -> Result<bool, EsError> {
        let response = self.send(Method::HEAD, self.url(&[]), None).await?;
        Ok(response.is_success())
    }

    /// The preflight version gate: `GET /`, then [`check_version`] with the environment variable
    /// `ALLOW_ES_VERSION_MISMATCH` (any value but empty, `0` or `false`) as the bypass. Logs a
    /// warning for newer minors and bypasses; fails for unsupported versions.
    pub async fn verify_version(
        &self,
        requirement: VersionRequirement,
    ) -> Result<(InfoResponse, VersionCheck), EsError> {
        let info = self.info().await?;
        let allow = allow_version_mismatch_from_env();
        let check = check_version(&info.version, requirement, allow)?;
        match &check {
            VersionCheck::Compatible => {}
            VersionCheck::Serverless => {
                tracing::info!("Elasticsearch is serverless; skipping the version check")
            }
            VersionCheck::NewerMinor(message) | VersionCheck::Bypassed(message) => {
                tracing::warn!("{message}")
            }
        }
        Ok((info, check))
    }

    // ---- transport -------------------------------------------------------------------------

    /// The URL of `segments` (each one percent-encoded as a path segment) under the base URL.
    pub(crate) fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.inner.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            for segment in segments {
                path.push(segment);
            }
        }
        url
    }

    fn accept(&self, kind: BodyKind) -> HeaderValue {
        let major = match self.inner.compatibility {
            Compatibility::PlainJson => None,
            Compatibility::Major(major) => Some(major),
            Compatibility::Auto => match self.inner.server_major.load(Ordering::Relaxed) {
                SERVER_MAJOR_UNKNOWN | SERVER_PLAIN_JSON => None,
                major => Some(major),
            },
        };
        let value = match (major, kind) {
            (None, BodyKind::Json) => "application/json".to_string(),
            (None, BodyKind::Ndjson) => "application/x-ndjson".to_string(),
            (Some(major), BodyKind::Json) => {
                format!("application/vnd.elasticsearch+json; compatible-with={major}")
            }
            (Some(major), BodyKind::Ndjson) => {
                format!("application/vnd.elasticsearch+x-ndjson; compatible-with={major}")
            }
        };
        HeaderValue::from_str(&value).unwrap_or(HeaderValue::from_static("application/json"))
    }

    /// Sends a request with whole-request retries (connection errors, timeouts, 429, 500, 502,
    /// 503, 504) and returns the final answer whatever its status. A 2xx answer must carry
    /// `X-elastic-product: Elasticsearch`.
    pub(crate) async fn send(
        &self,
        method: Method,
        url: Url,
        body: Option<(Bytes, BodyKind)>,
    ) -> Result<RawResponse, EsError> {
        let retry = self.inner.retry;
        let mut attempt: u32 = 0;
        loop {
            let mut request = self
                .inner
                .http
                .request(method.clone(), url.clone())
                .header(ACCEPT, self.accept(BodyKind::Json));
            if let Some(auth) = &self.inner.auth {
                request = request.header(AUTHORIZATION, auth.clone());
            }
            if let Some((bytes, kind)) = &body {
                request = request
                    .header(CONTENT_TYPE, self.accept(*kind))
                    .body(bytes.clone());
            }
            let started = Instant::now();
            self.inner
                .counters
                .sent(body.as_ref().map_or(0, |(bytes, _)| bytes.len()));
            let outcome = match request.send().await {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let product = response
                        .headers()
                        .get(PRODUCT_HEADER)
                        .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
                    let bytes = response.bytes().await;
                    if let Ok(bytes) = &bytes {
                        self.inner.counters.received(bytes.len());
                    }
                    bytes.map(|bytes| (status, product, bytes))
                }
                Err(error) => Err(error),
            };
            let elapsed_ms = started.elapsed().as_millis() as u64;
            match outcome {
                Ok((status, product, bytes)) => {
                    tracing::debug!(%method, path = url.path(), status, elapsed_ms, "elasticsearch request");
                    if is_retryable_status(status) && attempt < retry.max_retries {
                        let delay = retry.backoff(attempt);
                        attempt += 1;
                        tracing::warn!(
                            %method,
                            path = url.path(),
                            status,
                            attempt,
                            max_retries = retry.max_retries,
                            delay_ms = delay.as_millis() as u64,
                            reason = truncate(&String::from_utf8_lossy(&bytes), 200),
                            "retrying Elasticsearch request"
                        );
                        tokio::time::sleep(delay).await;
                        continue;
                    }
                    if (200..300).contains(&status) && product.as_deref() != Some(PRODUCT) {
                        return Err(EsError::NotElasticsearch {
                            path: url.path().to_string(),
                            found: product,
                        });
                    }
                    return Ok(RawResponse {
                        status,
                        body: bytes,
                    });
                }
                Err(error) => {
                    let kind = TransportErrorKind::of(&error);
                    if kind.is_retryable() && attempt < retry.max_retries {
                        let delay = retry.backoff(attempt);
                        attempt += 1;
                        tracing::warn!(
                            %method,
                            path = url.path(),
                            error = %error.without_url(),
                            attempt,
                            max_retries = retry.max_retries,
                            delay_ms = delay.as_millis() as u64,
                            "retrying Elasticsearch request after a transport error"
                        );
                        tokio::time::sleep(delay).await;
                        continue;
                    }
                    return Err(EsError::transport(error));
                }
            }
        }
    }

    /// [`EsClient::send`] that turns a non-2xx answer into [`EsError::Api`] and decodes a 2xx body.
    pub(crate) async fn request<T: DeserializeOwned>(
        &self,
        method: Method,
        url: Url,
        body: Option<Bytes>,
    ) -> Result<T, EsError> {
        let path = url.path().to_string();
        let response = self
            .send(method, url, body.map(|b| (b, BodyKind::Json)))
            .await?;
        if !response.is_success() {
            return Err(EsError::api(response.status, &response.body));
        }
        decode(&path, &response.body)
    }
}

/// The `Authorization` header of `auth`, marked sensitive (never printed by the HTTP stack).
fn auth_header(auth: &crate::config::Auth) -> Result<Option<HeaderValue>, ConfigError> {
    match auth.header_value() {
        Some(value) => {
            let mut value =
                HeaderValue::from_str(&value).map_err(|_| ConfigError::Header("Authorization"))?;
            value.set_sensitive(true);
            Ok(Some(value))
        }
        None => Ok(None),
    }
}

/// Serializes a request body.
pub(crate) fn json_body(value: &(impl Serialize + ?Sized)) -> Result<Bytes, EsError> {
    serde_json::to_vec(value)
        .map(Bytes::from)
        .map_err(EsError::Serialize)
}

/// Decodes a 2xx body.
pub(crate) fn decode<T: DeserializeOwned>(path: &str, body: &[u8]) -> Result<T, EsError> {
    serde_json::from_slice(body).map_err(|source| EsError::Decode {
        path: path.to_string(),
        source,
        body: truncate(&String::from_utf8_lossy(body), 500).to_string(),
    })
}

/// Whether `ALLOW_ES_VERSION_MISMATCH` is set to something other than empty, `0` or `false`.
pub fn allow_version_mismatch_from_env() -> bool {
    std::env::var("ALLOW_ES_VERSION_MISMATCH").is_ok_and(|v| {
        let v = v.trim().to_ascii_lowercase();
        !(v.is_empty() || v == "0" || v == "false" || v == "no")
    })
}

/// Helpers to build query strings.
pub(crate) trait UrlExt {
    fn param(self, name: &str, value: impl AsRef<str>) -> Self;
    fn param_opt(self, name: &str, value: Option<impl AsRef<str>>) -> Self;
    fn flag(self, name: &str, on: bool) -> Self;
}

impl UrlExt for Url {
    fn param(mut self, name: &str, value: impl AsRef<str>) -> Self {
        self.query_pairs_mut().append_pair(name, value.as_ref());
        self
    }

    fn param_opt(self, name: &str, value: Option<impl AsRef<str>>) -> Self {
        match value {
            Some(value) => self.param(name, value),
            None => self,
        }
    }

    fn flag(self, name: &str, on: bool) -> Self {
        if on { self.param(name, "true") } else { self }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(url: &str) -> EsClient {
        EsClient::new(EsConfig::url(url)).unwrap()
    }

    #[test]
    fn urls_encode_segments_and_keep_prefix() {
        let c = client("http://localhost:9200/");
        assert_eq!(c.url(&[]).as_str(), "http://localhost:9200/");
        assert_eq!(
            c.url(&["idx", "_doc", "a/b c?#%"]).as_str(),
            "http://localhost:9200/idx/_doc/a%2Fb%20c%3F%23%25"
        );
        let c = client("http://localhost:9200/proxy/es/");
        assert_eq!(
            c.url(&["_connector", "x"]).as_str(),
            "http://localhost:9200/proxy/es/_connector/x"
        );
        let c = client("http://localhost:9200/proxy");
        assert_eq!(
            c.url(&["_bulk"]).as_str(),
            "http://localhost:9200/proxy/_bulk"
        );
        let url = c
            .url(&["_search"])
            .param("q", "a&b")
            .flag("x", false)
            .flag("y", true);
        assert_eq!(
            url.as_str(),
            "http://localhost:9200/proxy/_search?q=a%26b&y=true"
        );
    }

    #[test]
    fn credentials_in_url_become_basic_auth_and_are_removed() {
        let c = client("http://elastic:pa%40ss@localhost:9200");
        assert_eq!(c.base_url().as_str(), "http://localhost:9200/");
        let header = c.inner.auth.clone().unwrap();
        assert!(header.is_sensitive());
        use base64::Engine as _;
        let expected = base64::engine::general_purpose::STANDARD.encode("elastic:pa@ss");
        assert_eq!(header.to_str().unwrap(), format!("Basic {expected}"));
        assert!(!format!("{c:?}").contains("pa@ss"));
    }

    #[test]
    fn media_types_follow_compatibility() {
        let c = client("http://localhost:9200");
        assert_eq!(c.accept(BodyKind::Json), "application/json");
        assert_eq!(c.accept(BodyKind::Ndjson), "application/x-ndjson");
        c.inner.server_major.store(9, Ordering::Relaxed);
        assert_eq!(
            c.accept(BodyKind::Json),
            "application/vnd.elasticsearch+json; compatible-with=9"
        );
        assert_eq!(
            c.accept(BodyKind::Ndjson),
            "application/vnd.elasticsearch+x-ndjson; compatible-with=9"
        );
        c.inner
            .server_major
            .store(SERVER_PLAIN_JSON, Ordering::Relaxed);
        assert_eq!(c.accept(BodyKind::Json), "application/json");
        let c = EsClient::new(
            EsConfig::url("http://localhost:9200").with_compatibility(Compatibility::Major(8)),
        )
        .unwrap();
        assert_eq!(
            c.accept(BodyKind::Json),
            "application/vnd.elasticsearch+json; compatible-with=8"
        );
        let c = EsClient::new(
            EsConfig::url("http://localhost:9200").with_compatibility(Compatibility::PlainJson),
        )
        .unwrap();
        c.inner.server_major.store(9, Ordering::Relaxed);
        assert_eq!(c.accept(BodyKind::Json), "application/json");
    }
}
