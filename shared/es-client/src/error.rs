//! Typed errors: configuration problems, transport failures, and Elasticsearch error responses
//! parsed from the JSON error envelope (or the few non-envelope error bodies).

use std::fmt;

use serde::Deserialize;
use serde_json::Value;

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("no Elasticsearch endpoint: set a URL or a cloud id")]
    MissingEndpoint,
    #[error("invalid cloud id: {0}")]
    CloudId(String),
    #[error("invalid Elasticsearch URL {url}: {reason}")]
    InvalidUrl { url: String, reason: String },
    #[error("invalid value for {name}: {value:?}")]
    InvalidValue { name: &'static str, value: String },
    #[error("invalid CA fingerprint: {0}")]
    Fingerprint(String),
    #[error("cannot read CA file {path}: {reason}")]
    CaFile { path: String, reason: String },
    #[error("invalid TLS settings: {0}")]
    Tls(String),
    #[error("invalid header value for {0}")]
    Header(&'static str),
    #[error("cannot build the HTTP client: {0}")]
    Http(#[source] reqwest::Error),
}

/// One `root_cause`/`caused_by` entry of an error envelope.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ErrorCause {
    #[serde(rename = "type", default)]
    pub error_type: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub caused_by: Option<Box<ErrorCause>>,
    /// Everything else (`index`, `index_uuid`, `resource.id`, ...).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}

/// An error answer from Elasticsearch (any non-2xx status that is not retried any more).
#[derive(Clone, PartialEq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: u16,
    /// `error.type`, e.g. `version_conflict_engine_exception`; `None` for non-envelope bodies.
    pub error_type: Option<String>,
    /// `error.reason`, or the string `error`, or a description of a non-envelope body.
    pub reason: Option<String>,
    /// `error.root_cause`.
    pub root_causes: Vec<ErrorCause>,
    /// `error.caused_by`.
    pub caused_by: Option<Box<ErrorCause>>,
    /// The raw response body (may be empty, e.g. for 413).
    pub body: String,
}

impl ApiError {
    /// Parses an error response body. Accepts the envelope
    /// `{"error":{"type","reason","root_cause",...},"status"}`, a string `error`, an empty body,
    /// and non-envelope bodies such as `{"_index","_id","found":false}`.
    pub fn from_response(status: u16, body: &[u8]) -> ApiError {
        #[derive(Deserialize)]
        struct Envelope {
            error: Option<ErrorField>,
            found: Option<bool>,
            result: Option<String>,
        }
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum ErrorField {
            Object {
                #[serde(rename = "type", default)]
                error_type: Option<String>,
                #[serde(default)]
                reason: Option<String>,
                #[serde(default)]
                root_cause: Vec<ErrorCause>,
                #[serde(default)]
                caused_by: Option<Box<ErrorCause>>,
            },
            Text(String),
            Other(Value),
        }

        let text = String::from_utf8_lossy(body).into_owned();
        let mut error = ApiError {
            status,
            error_type: None,
            reason: None,
            root_causes: Vec::new(),
            caused_by: None,
            body: text,
        };
        if body.iter().all(u8::is_ascii_whitespace) {
            error.reason = Some(format!("{} (empty response body)", status_text(status)));
            return error;
        }
        match serde_json::from_slice::<Envelope>(body) {
            Ok(Envelope {
                error:
                    Some(ErrorField::Object {
                        error_type,
                        reason,
                        root_cause,
                        caused_by,
                    }),
                ..
            }) => {
                error.error_type = error_type;
                error.reason = reason;
                error.root_causes = root_cause;
                error.caused_by = caused_by;
            }
            Ok(Envelope {
                error: Some(ErrorField::Text(text)),
                ..
            }) => error.reason = Some(text),
            Ok(Envelope {
                error: Some(ErrorField::Other(value)),
                ..
            }) => error.reason = Some(value.to_string()),
            Ok(Envelope {
                found: Some(false), ..
            }) => error.reason = Some("document not found".to_string()),
            Ok(Envelope {
                result: Some(result),
                ..
            }) => error.reason = Some(format!("result: {result}")),
            Ok(_) => error.reason = Some(status_text(status).to_string()),
            Err(_) => error.reason = Some(truncate(error.body.trim(), 300).to_string()),
        }
        error
    }

    /// 409, e.g. `version_conflict_engine_exception` from `if_seq_no`/`if_primary_term` or a
    /// `create` of an existing id.
    pub fn is_version_conflict(&self) -> bool {
        self.status == 409
    }

    /// 404 of any kind: missing document, index, connector, job, pipeline...
    pub fn is_not_found(&self) -> bool {
        self.status == 404
    }

    /// 400 of any kind, e.g. `status_exception` for a connector protocol rule violation.
    pub fn is_bad_request(&self) -> bool {
        self.status == 400
    }

    /// 401 or 403.
    pub fn is_auth_error(&self) -> bool {
        self.status == 401 || self.status == 403
    }

    /// `resource_already_exists_exception` (index creation).
    pub fn is_already_exists(&self) -> bool {
        self.error_type.as_deref() == Some("resource_already_exists_exception")
    }

    /// `error.type`, or `""`.
    pub fn error_type(&self) -> &str {
        self.error_type.as_deref().unwrap_or("")
    }

    /// `error.reason`, or `""`.
    pub fn reason(&self) -> &str {
        self.reason.as_deref().unwrap_or("")
    }
}

impl fmt::Display for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Elasticsearch answered {}", self.status)?;
        if let Some(error_type) = &self.error_type {
            write!(f, " {error_type}")?;
        }
        if let Some(reason) = &self.reason {
            write!(f, ": {reason}")?;
        }
        if let Some(cause) = self.caused_by.as_deref()
            && let Some(reason) = &cause.reason
        {
            write!(
                f,
                " (caused by {}: {reason})",
                cause.error_type.as_deref().unwrap_or("?")
            )?;
        }
        Ok(())
    }
}

impl fmt::Debug for ApiError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ApiError")
            .field("status", &self.status)
            .field("error_type", &self.error_type)
            .field("reason", &self.reason)
            .field("root_causes", &self.root_causes.len())
            .field("body", &truncate(&self.body, 500))
            .finish()
    }
}

impl std::error::Error for ApiError {}

/// Every error the client returns.
#[derive(Debug, thiserror::Error)]
pub enum EsError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// Elasticsearch answered with an error status (after any retries).
    #[error(transparent)]
    Api(Box<ApiError>),
    /// The request could not be sent or its answer not read (after any retries).
    #[error("request to Elasticsearch failed ({kind}): {detail}")]
    Transport {
        kind: TransportErrorKind,
        /// The error and its causes, e.g. `error sending request: ...: Connection refused`.
        detail: String,
        #[source]
        source: reqwest::Error,
    },
    /// A 2xx answer without `X-elastic-product: Elasticsearch`.
    #[error(
        "the server is not Elasticsearch: a successful answer to {path} lacked `X-elastic-product: Elasticsearch`{}",
        found.as_deref().map(|v| format!(" (found {v:?})")).unwrap_or_default()
    )]
    NotElasticsearch { path: String, found: Option<String> },
    /// The cluster's version is not one this service supports.
    #[error("{0}")]
    UnsupportedVersion(String),
    /// A 2xx body that does not have the expected shape.
    #[error("unexpected response to {path}: {source}; body: {body}")]
    Decode {
        path: String,
        #[source]
        source: serde_json::Error,
        body: String,
    },
    /// A request body that could not be serialized.
    #[error("cannot serialize the request body: {0}")]
    Serialize(#[source] serde_json::Error),
    /// An argument the client refuses before sending (e.g. an empty id).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// An asynchronous task finished with an error, or did not finish in time.
    #[error("task {task}: {reason}")]
    Task { task: String, reason: String },
}

/// What kind of transport failure happened.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportErrorKind {
    Connect,
    Timeout,
    /// The connection broke while sending or reading.
    Io,
    Other,
}

impl fmt::Display for TransportErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TransportErrorKind::Connect => "connect",
            TransportErrorKind::Timeout => "timeout",
            TransportErrorKind::Io => "connection",
            TransportErrorKind::Other => "other",
        })
    }
}

impl TransportErrorKind {
    pub(crate) fn of(error: &reqwest::Error) -> TransportErrorKind {
        if error.is_timeout() {
            TransportErrorKind::Timeout
        } else if error.is_connect() {
            TransportErrorKind::Connect
        } else if error.is_request() || error.is_body() || error.is_decode() {
            TransportErrorKind::Io
        } else {
            TransportErrorKind::Other
        }
    }

    /// Whether a request failing like this is worth sending again.
    pub(crate) fn is_retryable(self) -> bool {
        !matches!(self, TransportErrorKind::Other)
    }
}

impl EsError {
    pub(crate) fn api(status: u16, body: &[u8]) -> EsError {
        EsError::Api(Box::new(ApiError::from_response(status, body)))
    }

    pub(crate) fn transport(source: reqwest::Error) -> EsError {
        let source = source.without_url();
        let mut detail = source.to_string();
        let mut cause = std::error::Error::source(&source);
        while let Some(inner) = cause {
            let text = inner.to_string();
            if !detail.contains(&text) {
                detail.push_str(": ");
                detail.push_str(&text);
            }
            cause = inner.source();
        }
        EsError::Transport {
            kind: TransportErrorKind::of(&source),
            detail,
            source,
        }
    }

    /// The Elasticsearch error answer, if this is one.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            EsError::Api(error) => Some(error),
            _ => None,
        }
    }

    /// The HTTP status of an Elasticsearch error answer.
    pub fn status(&self) -> Option<u16> {
        self.api_error().map(|e| e.status)
    }

    /// A 409 version conflict (optimistic concurrency or `create` of an existing id).
    pub fn is_version_conflict(&self) -> bool {
        self.api_error().is_some_and(ApiError::is_version_conflict)
    }

    /// A 404 answer.
    pub fn is_not_found(&self) -> bool {
        self.api_error().is_some_and(ApiError::is_not_found)
    }

    /// A 400 answer (protocol rule violations are `400 status_exception`).
    pub fn is_bad_request(&self) -> bool {
        self.api_error().is_some_and(ApiError::is_bad_request)
    }

    /// A 401 or 403 answer.
    pub fn is_auth_error(&self) -> bool {
        self.api_error().is_some_and(ApiError::is_auth_error)
    }

    /// An error that a later attempt may not repeat: transport failures, 429 and 5xx.
    pub fn is_transient(&self) -> bool {
        match self {
            EsError::Transport { kind, .. } => kind.is_retryable(),
            EsError::Api(error) => is_retryable_status(error.status),
            _ => false,
        }
    }

    /// `error.type` of an Elasticsearch error answer.
    pub fn error_type(&self) -> Option<&str> {
        self.api_error().and_then(|e| e.error_type.as_deref())
    }
}

/// 429 and 500/502/503/504: statuses worth retrying.
pub(crate) fn is_retryable_status(status: u16) -> bool {
    matches!(status, 429 | 500 | 502 | 503 | 504)
}

fn status_text(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("HTTP error")
}

/// The longest prefix of `text` of at most `max` bytes ending on a char boundary.
pub(crate) fn truncate(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_envelope() {
        let body = br#"{"error":{"root_cause":[{"type":"index_not_found_exception","reason":"no such index [foo]","resource.type":"index_or_alias","resource.id":"foo","index_uuid":"_na_","index":"foo"}],"type":"index_not_found_exception","reason":"no such index [foo]","resource.type":"index_or_alias","resource.id":"foo","index_uuid":"_na_","index":"foo"},"status":404}"#;
        let error = ApiError::from_response(404, body);
        assert_eq!(error.status, 404);
        assert_eq!(error.error_type(), "index_not_found_exception");
        assert_eq!(error.reason(), "no such index [foo]");
        assert_eq!(error.root_causes.len(), 1);
        assert_eq!(error.root_causes[0].extra["index"], "foo");
        assert!(error.is_not_found());
        assert_eq!(
            error.to_string(),
            "Elasticsearch answered 404 index_not_found_exception: no such index [foo]"
        );
        assert_eq!(error.body.as_bytes(), body);
    }

    #[test]
    fn parses_version_conflict_and_caused_by() {
        let body = br#"{"error":{"root_cause":[{"type":"version_conflict_engine_exception","reason":"[1]: version conflict, required seqNo [3], primary term [1]. current document has seqNo [4] and primary term [1]","index_uuid":"x","shard":"0","index":"t"}],"type":"version_conflict_engine_exception","reason":"[1]: version conflict","caused_by":{"type":"inner","reason":"deeper"}},"status":409}"#;
        let error = EsError::api(409, body);
        assert!(error.is_version_conflict());
        assert!(!error.is_not_found());
        assert_eq!(
            error.error_type(),
            Some("version_conflict_engine_exception")
        );
        assert!(error.to_string().contains("caused by inner: deeper"));
    }

    #[test]
    fn parses_string_error() {
        let error = ApiError::from_response(
            405,
            br#"{"error":"Incorrect HTTP method for uri [/x] and method [PATCH], allowed: [GET]","status":405}"#,
        );
        assert_eq!(error.error_type, None);
        assert!(error.reason().starts_with("Incorrect HTTP method"));
    }

    #[test]
    fn parses_empty_413() {
        let error = ApiError::from_response(413, b"");
        assert_eq!(error.status, 413);
        assert_eq!(error.error_type, None);
        assert!(error.reason().contains("Payload Too Large") || error.reason().contains("413"));
        assert!(error.reason().contains("empty"));
    }

    #[test]
    fn parses_found_false() {
        let error = ApiError::from_response(404, br#"{"_index":"idx","_id":"1","found":false}"#);
        assert!(error.is_not_found());
        assert_eq!(error.reason(), "document not found");
        let error = ApiError::from_response(404, b"{}");
        assert_eq!(error.reason(), "Not Found");
    }

    #[test]
    fn parses_non_json() {
        let error = ApiError::from_response(502, b"<html>Bad gateway</html>");
        assert_eq!(error.reason(), "<html>Bad gateway</html>");
        assert!(EsError::api(502, b"x").is_transient());
        assert!(!EsError::api(400, b"x").is_transient());
    }

    #[test]
    fn truncate_respects_char_boundaries() {
        assert_eq!(truncate("héllo", 2), "h");
        assert_eq!(truncate("abc", 10), "abc");
    }
}
