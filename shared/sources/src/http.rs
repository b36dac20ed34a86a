//! The HTTP client of the REST sources (Azure Blob and Google Cloud Storage, GraphQL): a
//! `reqwest` client per source, throttling, server errors and connection failures retried with
//! exponential backoff that honours `Retry-After`, and bodies read with a byte cap so that no
//! object costs more memory than the cap.

use std::time::Duration;

use connectors_sdk::SourceError;
use futures_util::StreamExt;
use reqwest::{RequestBuilder, Response, StatusCode};
use tracing::warn;

/// The first back-off of [`send`]; doubled after each attempt.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// The longest wait, whatever `Retry-After` says.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

pub(crate) fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(300))
        .build()
        .unwrap_or_default()
}

/// Whether a status is worth another attempt: throttling (429, 503 `ServerBusy`/`SlowDown`)
/// and other server errors.
fn retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
}

/// How long the server asked us to wait (`Retry-After` in seconds, or Azure's and Google's
/// `x-ms-retry-after-ms`), if it did.
fn asked_wait(response: &Response) -> Option<Duration> {
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
    };
    if let Some(ms) = header("x-ms-retry-after-ms").and_then(|v| v.parse::<u64>().ok()) {
        return Some(Duration::from_millis(ms));
    }
    header("retry-after")
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_secs)
}

/// How often a request is tried, and how long to wait before the second attempt (doubled after
/// each further one, unless the server says how long).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Retry {
    pub attempts: u32,
    pub first_backoff: Duration,
}

/// Sends the request built by `build` (at most `attempts` times) (called again for each attempt, so that it can sign
/// with a fresh date), retrying throttling and server errors and connection failures. Returns
/// the first response that is neither, which may be an error status for the caller to map.
pub(crate) async fn send(
    what: &str,
    attempts: u32,
    build: impl FnMut() -> Result<RequestBuilder, SourceError>,
) -> Result<Response, SourceError> {
    let retry = Retry {
        attempts,
        first_backoff: FIRST_BACKOFF,
    };
    send_with(what, retry, build, |e| unavailable(what, e)).await
}

/// [`send`] with its own retry policy, and `failed` to turn the last transport error (after the
/// retries) into the source's error.
pub(crate) async fn send_with(
    what: &str,
    retry: Retry,
    mut build: impl FnMut() -> Result<RequestBuilder, SourceError>,
    failed: impl Fn(&reqwest::Error) -> SourceError,
) -> Result<Response, SourceError> {
    let mut backoff = retry.first_backoff;
    let mut attempt = 1;
    loop {
        let outcome = build()?.send().await;
        let wait = match &outcome {
            Ok(response) if retryable(response.status()) => {
                asked_wait(response).unwrap_or(backoff).min(MAX_BACKOFF)
            }
            Err(e) if e.is_connect() || e.is_timeout() || e.is_request() => backoff,
            _ => return outcome.map_err(|e| failed(&e)),
        };
        if attempt >= retry.attempts.max(1) {
            return outcome.map_err(|e| failed(&e));
        }
        match &outcome {
            Ok(r) => {
                warn!(%what, status = %r.status(), attempt, wait_ms = wait.as_millis() as u64, "throttled or server error; retrying")
            }
            Err(e) => {
                warn!(%what, error = %describe(e), attempt, wait_ms = wait.as_millis() as u64, "request failed; retrying")
            }
        }
        tokio::time::sleep(wait).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
        attempt += 1;
    }
}

/// A transport error without its URL (which may carry a query string), with its causes:
/// `error sending request: client error (Connect): tcp connect error: Connection refused`.
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        "operation timed out".to_string()
    } else if e.is_connect() || e.is_request() {
        "error sending request".to_string()
    } else if e.is_body() || e.is_decode() {
        "error reading the response body".to_string()
    } else {
        "HTTP error".to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.ends_with(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn unavailable(what: &str, e: &reqwest::Error) -> SourceError {
    // reqwest's errors name the URL, which carries no secret for these providers (keys travel in
    // headers).
    SourceError::Unavailable(format!("{what}: {e}"))
}

/// The body of a successful response, at most `max` bytes: `Ok(None)` when it is longer (the
/// download stops there).
pub(crate) async fn body_capped(
    what: &str,
    response: Response,
    max: u64,
) -> Result<Option<Vec<u8>>, SourceError> {
    if response.content_length().is_some_and(|n| n > max) {
        return Ok(None);
    }
    let mut bytes = Vec::with_capacity(response.content_length().unwrap_or(0) as usize);
    let mut stream = response.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|e| unavailable(what, &e))?;
        if bytes.len() as u64 + chunk.len() as u64 > max {
            return Ok(None);
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(Some(bytes))
}

/// The body of an error response, shortened, for a message.
pub(crate) async fn error_text(response: Response) -> String {
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    let text: String = text.chars().take(300).collect();
    format!("HTTP {status}: {}", text.trim())
}
