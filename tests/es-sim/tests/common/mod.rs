//! Shared helpers for the integration tests: an in-process simulator and a small JSON client.

#![allow(dead_code)]

use es_sim::{EsSim, SimConfig};
use reqwest::header::HeaderMap;
use serde_json::Value;

pub struct Sim {
    pub sim: EsSim,
    pub client: reqwest::Client,
    pub url: String,
}

/// A response: status, JSON body (`Null` when empty or not JSON), headers, raw body.
pub struct R {
    pub status: u16,
    pub body: Value,
    pub headers: HeaderMap,
    pub raw: Vec<u8>,
}

impl R {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Sim {
    /// A simulator without background refresh, so visibility only changes on explicit refreshes.
    pub async fn start() -> Sim {
        Sim::with(SimConfig {
            refresh_interval: None,
            ..SimConfig::default()
        })
        .await
    }

    pub async fn with(config: SimConfig) -> Sim {
        let sim = es_sim::start(config).await.expect("start es-sim");
        let url = sim.url();
        Sim {
            sim,
            client: reqwest::Client::new(),
            url,
        }
    }

    pub async fn send(&self, method: &str, path: &str, body: Option<Value>) -> R {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut rb = self.client.request(m, format!("{}{}", self.url, path));
        if let Some(b) = body.filter(|b| !b.is_null()) {
            rb = rb
                .header("content-type", "application/json")
                .body(serde_json::to_vec(&b).unwrap());
        }
        finish(rb).await
    }

    pub async fn raw(&self, method: &str, path: &str, body: &[u8], headers: &[(&str, &str)]) -> R {
        let m = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let mut rb = self
            .client
            .request(m, format!("{}{}", self.url, path))
            .body(body.to_vec());
        for (k, v) in headers {
            rb = rb.header(*k, *v);
        }
        finish(rb).await
    }

    pub async fn get(&self, path: &str) -> R {
        self.send("GET", path, None).await
    }

    pub async fn put(&self, path: &str, body: Value) -> R {
        self.send("PUT", path, Some(body)).await
    }

    pub async fn post(&self, path: &str, body: Value) -> R {
        self.send("POST", path, Some(body)).await
    }

    pub async fn delete(&self, path: &str) -> R {
        self.send("DELETE", path, None).await
    }

    /// Sends NDJSON lines (each followed by a newline) to `path`.
    pub async fn bulk(&self, path: &str, lines: &[Value]) -> R {
        let mut body = Vec::new();
        for l in lines {
            body.extend(serde_json::to_vec(l).unwrap());
            body.push(b'\n');
        }
        self.raw(
            "POST",
            path,
            &body,
            &[("content-type", "application/x-ndjson")],
        )
        .await
    }

    pub async fn refresh(&self, index: &str) {
        let r = self.post(&format!("/{index}/_refresh"), Value::Null).await;
        assert_eq!(r.status, 200, "refresh {index}: {}", r.body);
    }

    pub async fn count(&self, index: &str) -> u64 {
        let r = self.get(&format!("/{index}/_count")).await;
        r.body["count"]
            .as_u64()
            .unwrap_or_else(|| panic!("count: {}", r.body))
    }
}

async fn finish(rb: reqwest::RequestBuilder) -> R {
    let resp = rb.send().await.expect("request");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let raw = resp.bytes().await.expect("body").to_vec();
    let body = serde_json::from_slice(&raw).unwrap_or(Value::Null);
    R {
        status,
        body,
        headers,
        raw,
    }
}

/// The envelope error type of a response.
pub fn err_type(r: &R) -> &str {
    r.body["error"]["type"].as_str().unwrap_or("")
}

pub fn err_reason(r: &R) -> &str {
    r.body["error"]["reason"].as_str().unwrap_or("")
}
