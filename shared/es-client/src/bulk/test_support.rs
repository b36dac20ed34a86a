//! Test fixtures shared by the bulk unit tests: a client that is never contacted, a fast retry
//! policy, and [`Script`], a scripted `_bulk` endpoint.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::time::Duration;

use bytes::Bytes;
use serde_json::json;

use super::service::BulkSender;
use super::{BulkReport, BulkWriter};
use crate::client::{EsClient, RawResponse};
use crate::config::RetryPolicy;
use crate::error::EsError;

pub(super) fn client() -> EsClient {
    EsClient::new(crate::EsConfig::url("http://127.0.0.1:9")).unwrap()
}

pub(super) fn fast() -> RetryPolicy {
    RetryPolicy {
        max_retries: 3,
        initial_backoff: Duration::ZERO,
        max_backoff: Duration::ZERO,
    }
}

/// The writer's buffered NDJSON.
pub(super) fn text(w: &BulkWriter<u32>) -> String {
    String::from_utf8(w.pending.buf.clone()).unwrap()
}

/// A scripted `_bulk` endpoint: per-id planned item statuses, a byte limit (413) and a
/// record of every body it got.
#[derive(Default)]
pub(super) struct Script {
    /// id -> statuses to answer, in order; then 201.
    pub(super) plans: HashMap<String, VecDeque<u16>>,
    pub(super) max_body: Option<usize>,
    pub(super) bodies: Vec<String>,
    pub(super) fail_with: Option<u16>,
}

impl BulkSender for Script {
    fn send_bulk(
        &mut self,
        body: Bytes,
    ) -> impl Future<Output = Result<RawResponse, EsError>> + Send {
        let text = String::from_utf8(body.to_vec()).unwrap();
        self.bodies.push(text.clone());
        let response = if let Some(status) = self.fail_with {
            RawResponse {
                status,
                body: Bytes::from_static(
                    br#"{"error":{"type":"security_exception","reason":"no"},"status":401}"#,
                ),
            }
        } else if self.max_body.is_some_and(|max| text.len() > max) {
            RawResponse {
                status: 413,
                body: Bytes::new(),
            }
        } else {
            let mut items = Vec::new();
            let mut lines = text.lines();
            while let Some(action) = lines.next() {
                let action: serde_json::Value = serde_json::from_str(action).unwrap();
                let (op, meta) = action.as_object().unwrap().iter().next().unwrap();
                if op != "delete" {
                    lines.next();
                }
                let id = meta["_id"].as_str().unwrap_or("generated").to_string();
                let status = self
                    .plans
                    .get_mut(&id)
                    .and_then(|p| p.pop_front())
                    .unwrap_or(if op == "delete" { 200 } else { 201 });
                let item = if status < 300 {
                    json!({op.clone(): {"_index": "i", "_id": id, "status": status,
                        "result": if op == "delete" { "deleted" } else { "created" }}})
                } else {
                    json!({op.clone(): {"_index": "i", "_id": id, "status": status,
                        "error": {"type": if status == 429 { "es_rejected_execution_exception" } else { "mapper_parsing_exception" }, "reason": "r"}}})
                };
                items.push(item);
            }
            RawResponse {
                status: 200,
                body: Bytes::from(
                    serde_json::to_vec(&json!({"errors": true, "items": items})).unwrap(),
                ),
            }
        };
        std::future::ready(Ok(response))
    }
}

pub(super) fn run<K>(w: &mut BulkWriter<K>, script: &mut Script, all: bool) -> BulkReport<K> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    rt.block_on(async {
        if all {
            w.end_request();
        }
        w.send_taken(script).await
    })
}
