//! The GraphQL HTTP client, as the reference's `GraphQLClient.make_request`: `GET <url>?query=`
//! (the query alone: variables are never sent with GET) or `POST <url>` with
//! `{"query", "variables"}`; the configured headers, Bearer or Basic credentials, and a total
//! timeout of `connection_timeout` seconds. The answer's `data` is returned; its `errors` fail
//! the request with the reference's message.
//!
//! Throttling (429), server errors and connection failures are retried through the shared
//! [`crate::http`] client (3 attempts, as the reference, after 2 s and 4 s unless the server
//! says how long). A 401 and GraphQL errors are not retried: they would fail the same way.

use std::time::Duration;

use connectors_sdk::SourceError;
use reqwest::header::{CONTENT_TYPE, HeaderMap, HeaderValue};
use reqwest::{Response, StatusCode, Url};
use serde_json::{Map, Value, json};

use super::pyjson;
use crate::http::{self, Retry};
use crate::python::{json_str, str_repr};

/// The reference's message for a 401.
pub const UNAUTHORIZED: &str =
    "Provided credentials or token do not have the necessary permissions to perform the request.";

/// The reference's `RETRIES` and `RETRY_INTERVAL`.
pub const RETRY: Retry = Retry {
    attempts: 3,
    first_backoff: Duration::from_secs(2),
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
}

/// A client for one endpoint.
pub struct Client {
    http: reqwest::Client,
    url: Url,
    /// The endpoint without its query string and credentials, for messages and logs.
    label: String,
    method: Method,
    timeout: Option<Duration>,
    retry: Retry,
}

/// Python's truthiness of a JSON value.
pub fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

impl Client {
    /// A client sending `headers` (credentials included) with every request.
    pub fn new(
        url: Url,
        method: Method,
        headers: HeaderMap,
        timeout: Option<Duration>,
        retry: Retry,
    ) -> Result<Client, SourceError> {
        let mut builder = reqwest::Client::builder()
            .user_agent(concat!("connectors-rs/", env!("CARGO_PKG_VERSION")))
            .default_headers(headers)
            .connect_timeout(Duration::from_secs(10));
        if let Some(t) = timeout {
            builder = builder.timeout(t);
        }
        let http = builder
            .build()
            .map_err(|e| SourceError::Other(format!("Cannot create the HTTP client: {e}")))?;
        let mut bare = url.clone();
        bare.set_query(None);
        bare.set_fragment(None);
        // Credentials in the URL stay out of messages (`set_*` fail only for URLs that cannot
        // have them).
        let _ = bare.set_username("");
        let _ = bare.set_password(None);
        Ok(Client {
            http,
            label: bare.to_string(),
            url,
            method,
            timeout,
            retry,
        })
    }

    /// The endpoint without its query string and credentials.
    pub fn label(&self) -> &str {
        &self.label
    }

    /// Runs `query` and returns the response's `data` (`{}` when it has none, `null` when it
    /// is null).
    pub async fn request(
        &self,
        query: &str,
        variables: &Map<String, Value>,
    ) -> Result<Value, SourceError> {
        let what = format!("GraphQL request to {}", self.label);
        let body = match self.method {
            Method::Get => Vec::new(),
            Method::Post => serde_json::to_vec(&json!({"query": query, "variables": variables}))
                .map_err(|e| SourceError::Other(format!("Cannot encode the request: {e}")))?,
        };
        let response = http::send_with(
            &what,
            self.retry,
            || {
                Ok(match self.method {
                    Method::Get => {
                        let mut url = self.url.clone();
                        url.query_pairs_mut().append_pair("query", query);
                        self.http.get(url)
                    }
                    Method::Post => self
                        .http
                        .post(self.url.clone())
                        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
                        .body(body.clone()),
                })
            },
            |e| self.transport_error(e),
        )
        .await?;
        self.answer(response).await
    }

    fn transport_error(&self, e: &reqwest::Error) -> SourceError {
        let detail = http::describe(e);
        SourceError::Unavailable(if e.is_timeout() {
            match self.timeout {
                Some(t) => format!(
                    "The GraphQL endpoint {} did not answer within the connection timeout of {} s ({detail}).",
                    self.label,
                    t.as_secs()
                ),
                None => format!("The GraphQL endpoint {} timed out ({detail}).", self.label),
            }
        } else if e.is_connect() {
            format!(
                "Cannot connect to the GraphQL endpoint {}: {detail}",
                self.label
            )
        } else {
            format!(
                "The request to the GraphQL endpoint {} failed: {detail}",
                self.label
            )
        })
    }

    /// The reference's handling of an answer: an error status raises (401 with its own
    /// message), a body that is not JSON raises, and `errors` raise.
    async fn answer(&self, response: Response) -> Result<Value, SourceError> {
        let status = response.status();
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| {
                v.split(';')
                    .next()
                    .unwrap_or("")
                    .trim()
                    .to_ascii_lowercase()
            })
            .unwrap_or_default();
        let body = response
            .bytes()
            .await
            .map_err(|e| self.transport_error(&e))?;
        if status == StatusCode::UNAUTHORIZED {
            return Err(SourceError::Unavailable(UNAUTHORIZED.into()));
        }
        if status.is_client_error() || status.is_server_error() {
            // aiohttp's `ClientResponseError`, and the GraphQL errors of the body when it has
            // some (servers that follow GraphQL over HTTP answer request errors with 4xx).
            let mut message = format!(
                "{}, message={}, url={}",
                status.as_u16(),
                str_repr(status.canonical_reason().unwrap_or("")),
                str_repr(&self.label)
            );
            if let Some(errors) = serde_json::from_slice::<Value>(&body)
                .ok()
                .and_then(|v| v.get("errors").filter(|e| truthy(e)).cloned())
            {
                message.push_str(&format!(". Errors: {}", json_str(&errors)));
            }
            return Err(if status.is_server_error() || status.as_u16() == 429 {
                SourceError::Unavailable(message)
            } else {
                SourceError::Other(message)
            });
        }
        if !is_json(&content_type) {
            return Err(SourceError::Other(format!(
                "{}, message={}, url={}",
                status.as_u16(),
                str_repr(&format!(
                    "Attempt to decode JSON with unexpected mimetype: {content_type}"
                )),
                str_repr(&self.label)
            )));
        }
        let text = String::from_utf8_lossy(&body);
        let parsed: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                return Err(SourceError::Other(
                    pyjson::loads_error(&text).unwrap_or_else(|| e.to_string()),
                ));
            }
        };
        let Value::Object(mut answer) = parsed else {
            return Err(SourceError::Other(format!(
                "The GraphQL endpoint {} answered with JSON that is not an object.",
                self.label
            )));
        };
        if let Some(errors) = answer.get("errors").filter(|e| truthy(e)) {
            return Err(SourceError::Other(format!(
                "Error while executing query. Exception: {}",
                json_str(errors)
            )));
        }
        Ok(answer
            .shift_remove("data")
            .unwrap_or_else(|| Value::Object(Map::new())))
    }
}

/// aiohttp's check before `response.json()`: the media type matches
/// `^application/(?:[\w.+-]+?\+)?json` (a prefix match, as `re.match`).
fn is_json(content_type: &str) -> bool {
    let Some(sub) = content_type.strip_prefix("application/") else {
        return false;
    };
    if sub.starts_with("json") {
        return true;
    }
    let suffix_char = |c: char| c.is_alphanumeric() || matches!(c, '_' | '.' | '+' | '-');
    sub.char_indices().any(|(i, c)| {
        c == '+' && i > 0 && sub[..i].chars().all(suffix_char) && sub[i + 1..].starts_with("json")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_the_endpoint_without_secrets() {
        let url = Url::parse("https://user:secret@api.example.com/graphql?api_key=k1#x").unwrap();
        let client = Client::new(url, Method::Get, HeaderMap::new(), None, RETRY).unwrap();
        assert_eq!(client.label(), "https://api.example.com/graphql");
    }

    #[test]
    fn json_types_and_truthiness() {
        assert!(is_json("application/json"));
        assert!(is_json("application/graphql-response+json"));
        assert!(!is_json("text/html"));
        assert!(
            is_json("application/json-seq"),
            "a prefix match, as aiohttp's"
        );
        assert!(!is_json("application/x-json"));
        assert!(!is_json("application/a b+json"));
        assert!(!is_json(""));
        for (v, t) in [
            (json!(null), false),
            (json!([]), false),
            (json!({}), false),
            (json!(""), false),
            (json!(0), false),
            (json!(0.0), false),
            (json!(false), false),
            (json!([{}]), true),
            (json!("x"), true),
            (json!(2), true),
        ] {
            assert_eq!(truthy(&v), t, "{v}");
        }
    }
}
