//! A `_bulk` writer for sync engines.
//!
//! Operations are serialized straight into one NDJSON byte buffer (sources go through
//! `serde_json::to_writer`; no intermediate strings or values). Each operation remembers its byte
//! range, so a request body for any subset of operations is rebuilt by copying slices.
//!
//! Operations are grouped greedily into requests of at most `max_ops` operations and
//! `max_bytes` bytes (a single larger operation is sent alone). `push_*` says when a full request
//! is ready; [`BulkWriter::flush_ready`] sends the full requests and keeps the partial one,
//! [`BulkWriter::flush`] sends everything, and [`BulkWriter::take_request`] hands a full request
//! over as a [`BulkRequest`] to send on another task (several requests in flight).
//!
//! Failure handling:
//! - whole requests are retried by the client on connection errors, timeouts, 429 and 5xx;
//! - item failures with status 429 or 5xx are retried by resending only those items, with
//!   exponential back-off and full jitter, at most `item_retry.max_retries` times;
//! - a 413 splits the request in halves (recursively); a single operation answered 413 is that
//!   item's failure;
//! - a request that still fails (e.g. 401, or retries exhausted) fails its items, and the items
//!   of the rest of that flush are failed without being sent; the error is in
//!   [`BulkReport::request_error`].
//!
//! Every pushed operation gets exactly one [`BulkItem`] in the report of the flush that sent it,
//! carrying the caller's key.
//!
//! Layout, one job per file:
//! - `options`: [`BulkOptions`], the writer's configuration;
//! - `encoder`: the NDJSON action and source lines of one operation;
//! - `request`: grouping operations into requests bounded by count and bytes, and rebuilding
//!   bodies for subsets of a request;
//! - `service`: sending one body and reading the answer into per-item outcomes;
//! - `retry`: which item answers are resent, and the back-off between rounds;
//! - `report`: what the caller gets back ([`BulkReport`], [`BulkItem`], [`BulkTotals`]);
//! - `writer`: [`BulkWriter`] and [`BulkRequest`], which tie the above together.

mod encoder;
mod options;
mod report;
mod request;
mod retry;
mod service;
mod writer;

#[cfg(test)]
mod test_support;

pub use options::BulkOptions;
pub use report::{BulkItem, BulkItemError, BulkReport, BulkTotals};
pub use writer::{BulkRequest, BulkWriter};

use crate::client::EsClient;

/// The reference's `chunk_size`: 500 operations per request.
pub const DEFAULT_MAX_OPS: usize = 500;
/// The reference's `chunk_max_mem_size`: 3 MiB per request.
pub const DEFAULT_MAX_BYTES: usize = 3 * 1024 * 1024;

const MIB: u64 = 1024 * 1024;

/// Bytes to whole MiB, rounded to nearest (`indexed_document_volume` is an integer of MiB).
pub fn bytes_to_mib(bytes: u64) -> u64 {
    (bytes + MIB / 2) / MIB
}

/// A bulk operation type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BulkAction {
    Index,
    Create,
    /// `{"doc": .., "doc_as_upsert"?: true}`.
    Update,
    Delete,
}

impl BulkAction {
    pub fn as_str(self) -> &'static str {
        match self {
            BulkAction::Index => "index",
            BulkAction::Create => "create",
            BulkAction::Update => "update",
            BulkAction::Delete => "delete",
        }
    }
}

impl EsClient {
    /// A [`BulkWriter`] sending through this client.
    pub fn bulk_writer<K>(&self, options: BulkOptions) -> BulkWriter<K> {
        BulkWriter::new(self.clone(), options)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mib_rounding() {
        assert_eq!(bytes_to_mib(0), 0);
        assert_eq!(bytes_to_mib(MIB / 2 - 1), 0);
        assert_eq!(bytes_to_mib(MIB / 2), 1);
        assert_eq!(bytes_to_mib(3 * MIB), 3);
    }
}
