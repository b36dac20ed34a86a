//! Fault injection: rejected bulk requests and items, failing requests, latency and dropped
//! connections. Shared by the in-process handle and the `/_sim/faults` admin endpoint.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::Deserialize;
use serde_json::{Value, json};

/// A cheap, cloneable handle on the fault state of one server.
#[derive(Debug, Clone, Default)]
pub struct Faults {
    inner: Arc<Mutex<FaultState>>,
}

#[derive(Debug, Default, Clone)]
struct FaultState {
    reject_bulk_count: u32,
    reject_bulk_status: u16,
    reject_items_percent: u8,
    /// Items seen while item rejection was on; decides which ones are rejected.
    item_counter: u64,
    fail_count: u32,
    fail_status: u16,
    latency: Duration,
    drop_count: u32,
}

/// What should happen to a request before it is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestFault {
    None,
    Drop,
    Fail(u16),
}

impl Faults {
    fn state(&self) -> std::sync::MutexGuard<'_, FaultState> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The next `n` `_bulk` requests are answered with `status` (an `es_rejected_execution_exception`
    /// envelope for 429).
    pub fn reject_bulk_requests(&self, n: u32, status: u16) {
        let mut s = self.state();
        s.reject_bulk_count = n;
        s.reject_bulk_status = status;
    }

    /// Rejects about `percent` % of bulk items with a per-item 429 `es_rejected_execution_exception`
    /// (evenly spaced, deterministic); 0 turns it off.
    pub fn reject_bulk_items_percent(&self, percent: u8) {
        let mut s = self.state();
        s.reject_items_percent = percent.min(100);
        s.item_counter = 0;
    }

    /// The next `n` requests of any kind (except `/_sim/…`) get `status` with an error envelope.
    pub fn fail_requests(&self, n: u32, status: u16) {
        let mut s = self.state();
        s.fail_count = n;
        s.fail_status = status;
    }

    /// Delays every request (except `/_sim/…`) by `d`.
    pub fn set_latency(&self, d: Duration) {
        self.state().latency = d;
    }

    /// The next `n` requests get their connection closed without an answer.
    pub fn drop_connections(&self, n: u32) {
        self.state().drop_count = n;
    }

    /// Turns every fault off.
    pub fn clear(&self) {
        *self.state() = FaultState::default();
    }

    pub(crate) fn latency(&self) -> Duration {
        self.state().latency
    }

    /// Consumes a drop or a failure for the next request.
    pub(crate) fn take_request_fault(&self) -> RequestFault {
        let mut s = self.state();
        if s.drop_count > 0 {
            s.drop_count -= 1;
            return RequestFault::Drop;
        }
        if s.fail_count > 0 {
            s.fail_count -= 1;
            return RequestFault::Fail(s.fail_status);
        }
        RequestFault::None
    }

    /// Consumes a whole-bulk rejection, returning its status.
    pub(crate) fn take_bulk_rejection(&self) -> Option<u16> {
        let mut s = self.state();
        if s.reject_bulk_count > 0 {
            s.reject_bulk_count -= 1;
            Some(s.reject_bulk_status)
        } else {
            None
        }
    }

    /// For a bulk of `n` items, which ones to reject (empty when item rejection is off).
    pub(crate) fn item_rejections(&self, n: usize) -> Vec<bool> {
        let mut s = self.state();
        let p = s.reject_items_percent as u64;
        if p == 0 {
            return Vec::new();
        }
        let mut out = Vec::with_capacity(n);
        for _ in 0..n {
            let k = s.item_counter;
            s.item_counter += 1;
            // Item k is rejected when floor((k+1)p/100) > floor(kp/100): exactly p in every 100.
            out.push((k + 1) * p / 100 > k * p / 100);
        }
        out
    }

    /// The state as JSON, for `GET /_sim/faults`.
    pub fn to_json(&self) -> Value {
        let s = self.state();
        json!({
            "reject_bulk_requests": {"count": s.reject_bulk_count, "status": s.reject_bulk_status},
            "reject_bulk_items_percent": s.reject_items_percent,
            "fail_requests": {"count": s.fail_count, "status": s.fail_status},
            "latency_ms": s.latency.as_millis() as u64,
            "drop_connections": s.drop_count,
        })
    }

    /// Applies a `PUT /_sim/faults` body.
    pub fn apply(&self, spec: &FaultSpec) {
        if let Some(r) = &spec.reject_bulk_requests {
            self.reject_bulk_requests(r.count, r.status.unwrap_or(429));
        }
        if let Some(p) = spec.reject_bulk_items_percent {
            self.reject_bulk_items_percent(p);
        }
        if let Some(f) = &spec.fail_requests {
            self.fail_requests(f.count, f.status.unwrap_or(503));
        }
        if let Some(ms) = spec.latency_ms {
            self.set_latency(Duration::from_millis(ms));
        }
        if let Some(n) = spec.drop_connections {
            self.drop_connections(n);
        }
    }
}

/// The body of `PUT /_sim/faults`; every part is optional.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    pub reject_bulk_requests: Option<CountStatus>,
    pub reject_bulk_items_percent: Option<u8>,
    pub fail_requests: Option<CountStatus>,
    pub latency_ms: Option<u64>,
    pub drop_connections: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CountStatus {
    pub count: u32,
    pub status: Option<u16>,
}

/// The error an injected failure answers with.
pub(crate) fn injected_error(status: u16) -> crate::error::EsError {
    use crate::error::EsError;
    match status {
        429 => EsError::rejected(
            429,
            "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=0, max_coordinating_and_primary_bytes=0] (es-sim injected fault)",
        ),
        503 => EsError::new(
            503,
            "unavailable_shards_exception",
            "[es-sim] injected fault: primary shard is not active",
        ),
        408 => EsError::new(
            408,
            "timeout_exception",
            "[es-sim] injected fault: request timed out",
        ),
        s => EsError::new(
            s,
            "exception",
            format!("[es-sim] injected fault with status {s}"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_rejection_hits_the_percentage() {
        let f = Faults::default();
        f.reject_bulk_items_percent(10);
        let r = f.item_rejections(1000);
        assert_eq!(r.iter().filter(|b| **b).count(), 100);
        f.reject_bulk_items_percent(0);
        assert!(f.item_rejections(10).is_empty());
        f.reject_bulk_items_percent(100);
        assert!(f.item_rejections(10).iter().all(|b| *b));
    }

    #[test]
    fn counted_faults_run_out() {
        let f = Faults::default();
        f.drop_connections(1);
        f.fail_requests(1, 503);
        assert_eq!(f.take_request_fault(), RequestFault::Drop);
        assert_eq!(f.take_request_fault(), RequestFault::Fail(503));
        assert_eq!(f.take_request_fault(), RequestFault::None);
        f.reject_bulk_requests(2, 429);
        assert_eq!(f.take_bulk_rejection(), Some(429));
        assert_eq!(f.take_bulk_rejection(), Some(429));
        assert_eq!(f.take_bulk_rejection(), None);
    }
}
