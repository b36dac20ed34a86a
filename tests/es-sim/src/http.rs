//! The request and response types handlers work with, independent of hyper.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use hyper::{HeaderMap, Method};
use serde_json::Value;

use crate::error::{EsError, EsResult};

/// A decoded request: method, path segments, query parameters, headers and the whole body.
#[derive(Debug)]
pub struct Req {
    pub method: Method,
    /// The raw path, as sent (used in error messages).
    pub path: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    pub params: Params,
    pub headers: HeaderMap,
    pub body: Bytes,
    /// Who sent it, once authenticated (the server sets it before dispatching).
    pub principal: crate::principal::Principal,
}

impl Req {
    pub fn has_body(&self) -> bool {
        !self.body.iter().all(|b| b.is_ascii_whitespace())
    }

    /// The body as JSON, `None` when empty.
    pub fn json_opt(&self) -> EsResult<Option<Value>> {
        if !self.has_body() {
            return Ok(None);
        }
        serde_json::from_slice(&self.body)
            .map(Some)
            .map_err(|e| EsError::json_syntax(&e))
    }

    /// The body as JSON; an empty body is `request body is required`.
    pub fn json(&self) -> EsResult<Value> {
        self.json_opt()?.ok_or_else(EsError::body_required)
    }

    /// The body as a JSON object (an empty body gives an empty object).
    pub fn json_object_or_empty(&self) -> EsResult<serde_json::Map<String, Value>> {
        match self.json_opt()? {
            None => Ok(serde_json::Map::new()),
            Some(Value::Object(m)) => Ok(m),
            Some(_) => Err(EsError::parse("request body must be a JSON object")),
        }
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Query-string parameters.
#[derive(Debug, Default, Clone)]
pub struct Params {
    map: HashMap<String, String>,
}

impl Params {
    pub fn parse(query: Option<&str>) -> Params {
        let mut map = HashMap::new();
        if let Some(q) = query {
            for (k, v) in url::form_urlencoded::parse(q.as_bytes()) {
                map.insert(k.into_owned(), v.into_owned());
            }
        }
        Params { map }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(String::as_str)
    }

    pub fn has(&self, key: &str) -> bool {
        self.map.contains_key(key)
    }

    pub fn set(&mut self, key: &str, value: &str) {
        self.map.insert(key.to_string(), value.to_string());
    }

    /// A boolean parameter: absent gives `default`, `""` and `"true"` are true, `"false"` false,
    /// anything else a 400 like Elasticsearch.
    pub fn bool(&self, key: &str, default: bool) -> EsResult<bool> {
        match self.get(key) {
            None => Ok(default),
            Some(v) => parse_bool(v).ok_or_else(|| {
                EsError::bad_request(format!(
                    "Failed to parse value [{v}] as only [true] or [false] are allowed."
                ))
            }),
        }
    }

    pub fn i64(&self, key: &str) -> EsResult<Option<i64>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => v.trim().parse::<i64>().map(Some).map_err(|_| {
                EsError::bad_request(format!(
                    "Failed to parse int parameter [{key}] with value [{v}]"
                ))
            }),
        }
    }

    /// A comma list (`a,b`), empty when absent.
    pub fn list(&self, key: &str) -> Vec<String> {
        match self.get(key) {
            None => Vec::new(),
            Some(v) => v
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
                .collect(),
        }
    }

    /// A time value parameter (`30s`, `1m`, …).
    pub fn duration(&self, key: &str) -> EsResult<Option<Duration>> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => parse_time_value(v, key).map(Some),
        }
    }
}

pub fn parse_bool(v: &str) -> Option<bool> {
    match v {
        "" | "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// Parses an Elasticsearch time value: `500ms`, `30s`, `5m`, `1h`, `2d`, `-1`.
pub fn parse_time_value(v: &str, setting: &str) -> EsResult<Duration> {
    let s = v.trim().to_ascii_lowercase();
    let err = || {
        EsError::parse(format!(
            "failed to parse setting [{setting}] with value [{v}] as a time value: unit is missing or unrecognized"
        ))
    };
    if s == "-1" || s == "0" {
        return Ok(Duration::ZERO);
    }
    let units: [(&str, f64); 7] = [
        ("nanos", 1e-9),
        ("micros", 1e-6),
        ("ms", 1e-3),
        ("s", 1.0),
        ("m", 60.0),
        ("h", 3600.0),
        ("d", 86400.0),
    ];
    for (unit, secs) in units {
        if let Some(num) = s.strip_suffix(unit) {
            // "ms" also ends with "s" and "m": try the longest unit first.
            if unit == "s"
                && (num.ends_with('m') || num.ends_with("micro") || num.ends_with("nano"))
            {
                continue;
            }
            let n: f64 = num.trim().parse().map_err(|_| err())?;
            if n < 0.0 {
                return Err(err());
            }
            return Ok(Duration::from_secs_f64(n * secs));
        }
    }
    Err(err())
}

/// A response body.
#[derive(Debug)]
pub enum Body {
    Json(Value),
    /// Pre-serialised JSON bytes.
    JsonBytes(Vec<u8>),
    Text(String),
    Empty,
}

/// A handler's answer.
#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub body: Body,
    pub headers: Vec<(String, String)>,
}

impl Resp {
    pub fn json(status: u16, v: Value) -> Resp {
        Resp {
            status,
            body: Body::Json(v),
            headers: Vec::new(),
        }
    }

    pub fn ok(v: Value) -> Resp {
        Resp::json(200, v)
    }

    pub fn empty(status: u16) -> Resp {
        Resp {
            status,
            body: Body::Empty,
            headers: Vec::new(),
        }
    }

    pub fn with_header(mut self, name: &str, value: impl Into<String>) -> Resp {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn from_error(e: &EsError) -> Resp {
        let body = match e.to_body() {
            Some(v) => Body::Json(v),
            None => Body::Empty,
        };
        Resp {
            status: e.status,
            body,
            headers: e.headers.clone(),
        }
    }
}

/// Percent-decodes one path segment (`+` stays `+`).
pub fn decode_segment(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            let hex = |b: u8| (b as char).to_digit(16);
            if let (Some(h), Some(l)) = (hex(bytes[i + 1]), hex(bytes[i + 2])) {
                out.push((h * 16 + l) as u8);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_values() {
        assert_eq!(
            parse_time_value("5m", "scroll").unwrap(),
            Duration::from_secs(300)
        );
        assert_eq!(
            parse_time_value("30s", "scroll").unwrap(),
            Duration::from_secs(30)
        );
        assert_eq!(
            parse_time_value("500ms", "x").unwrap(),
            Duration::from_millis(500)
        );
        assert_eq!(
            parse_time_value("1h", "x").unwrap(),
            Duration::from_secs(3600)
        );
        assert!(parse_time_value("5", "x").is_err());
        assert!(parse_time_value("abc", "x").is_err());
    }

    #[test]
    fn decodes_segments() {
        assert_eq!(decode_segment("a%2Cb"), "a,b");
        assert_eq!(decode_segment("a+b"), "a+b");
        assert_eq!(decode_segment("%"), "%");
        assert_eq!(decode_segment("ab%2"), "ab%2");
    }
}
