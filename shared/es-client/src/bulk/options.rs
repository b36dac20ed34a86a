//! [`BulkOptions`]: how a [`super::BulkWriter`] sizes its requests, which `_bulk` parameters it
//! sends, and how it retries rejected items.

use super::{DEFAULT_MAX_BYTES, DEFAULT_MAX_OPS};
use crate::config::RetryPolicy;
use crate::documents::Refresh;

/// Options of a [`BulkWriter`](super::BulkWriter).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkOptions {
    /// Operations per request (default 500).
    pub max_ops: usize,
    /// Bytes per request body (default 3 MiB).
    pub max_bytes: usize,
    /// `_bulk?pipeline=<name>`.
    pub pipeline: Option<String>,
    /// `_bulk?refresh=..`.
    pub refresh: Option<Refresh>,
    /// Retries of items answered 429 or 5xx.
    pub item_retry: RetryPolicy,
}

impl Default for BulkOptions {
    fn default() -> Self {
        BulkOptions {
            max_ops: DEFAULT_MAX_OPS,
            max_bytes: DEFAULT_MAX_BYTES,
            pipeline: None,
            refresh: None,
            item_retry: RetryPolicy::default(),
        }
    }
}

impl BulkOptions {
    pub fn pipeline(mut self, pipeline: impl Into<String>) -> Self {
        self.pipeline = Some(pipeline.into());
        self
    }

    pub fn refresh(mut self, refresh: Refresh) -> Self {
        self.refresh = Some(refresh);
        self
    }

    pub fn max_ops(mut self, max_ops: usize) -> Self {
        self.max_ops = max_ops;
        self
    }

    pub fn max_bytes(mut self, max_bytes: usize) -> Self {
        self.max_bytes = max_bytes;
        self
    }

    pub fn item_retry(mut self, policy: RetryPolicy) -> Self {
        self.item_retry = policy;
        self
    }
}
