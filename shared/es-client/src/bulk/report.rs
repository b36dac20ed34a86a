//! What the caller gets back: one [`BulkItem`] per operation in a [`BulkReport`], the writer's
//! running [`BulkTotals`], and the internal `Outcome` an item has before it becomes a
//! [`BulkItem`].

use super::BulkAction;
use crate::documents::WriteResult;
use crate::error::EsError;

/// An item's error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BulkItemError {
    /// `error.type`, e.g. `version_conflict_engine_exception`, or for failures without an item
    /// answer: `request_too_large`, `request_failed`, `not_sent`, `invalid_response`.
    pub error_type: String,
    pub reason: String,
}

/// The final outcome of one pushed operation.
#[derive(Debug, Clone, PartialEq)]
pub struct BulkItem<K> {
    /// The caller's key, as pushed.
    pub key: K,
    pub action: BulkAction,
    /// The generated `_id` for index/create operations pushed without an id.
    pub generated_id: Option<String>,
    /// The item's status; for failures without an item answer, the request's status, or 0 when
    /// there was no HTTP answer at all.
    pub status: u16,
    /// `created`, `updated`, `deleted`, `not_found` or `noop` for successes.
    pub result: Option<WriteResult>,
    pub error: Option<BulkItemError>,
    /// How many requests carried this operation (more than 1 after item retries or splits).
    pub attempts: u32,
    /// Bytes of the operation's source line (the document JSON); 0 for deletes.
    pub source_bytes: usize,
}

impl<K> BulkItem<K> {
    /// No error: written, or a delete of a missing document (`not_found`).
    pub fn is_success(&self) -> bool {
        self.error.is_none()
    }
}

/// What a flush did.
#[derive(Debug)]
pub struct BulkReport<K> {
    /// One entry per operation sent (or given up) by this flush, in push order.
    pub items: Vec<BulkItem<K>>,
    /// `_bulk` requests sent (not counting the client's whole-request retries).
    pub requests: u32,
    /// Request body bytes sent, counting item retries and splits (not whole-request retries).
    pub bytes_sent: u64,
    /// A request failure that ended the flush early (its items and the unsent ones failed).
    pub request_error: Option<EsError>,
}

impl<K> Default for BulkReport<K> {
    fn default() -> Self {
        BulkReport {
            items: Vec::new(),
            requests: 0,
            bytes_sent: 0,
            request_error: None,
        }
    }
}

impl<K> BulkReport<K> {
    pub fn succeeded(&self) -> impl Iterator<Item = &BulkItem<K>> {
        self.items.iter().filter(|i| i.is_success())
    }

    pub fn failed(&self) -> impl Iterator<Item = &BulkItem<K>> {
        self.items.iter().filter(|i| !i.is_success())
    }

    pub fn success_count(&self) -> usize {
        self.succeeded().count()
    }

    pub fn failure_count(&self) -> usize {
        self.failed().count()
    }

    /// Successful index/create/update operations that changed something (not `noop`): what
    /// `indexed_document_count` counts.
    pub fn indexed_count(&self) -> u64 {
        self.succeeded()
            .filter(|i| i.action != BulkAction::Delete && i.result != Some(WriteResult::Noop))
            .count() as u64
    }

    /// Successful deletes that found their document.
    pub fn deleted_count(&self) -> u64 {
        self.succeeded()
            .filter(|i| i.action == BulkAction::Delete && i.result == Some(WriteResult::Deleted))
            .count() as u64
    }

    /// Source bytes of the operations counted by [`BulkReport::indexed_count`]; report
    /// `indexed_document_volume` as [`bytes_to_mib`](super::bytes_to_mib) of the running total.
    pub fn indexed_bytes(&self) -> u64 {
        self.succeeded()
            .filter(|i| i.action != BulkAction::Delete && i.result != Some(WriteResult::Noop))
            .map(|i| i.source_bytes as u64)
            .sum()
    }

    /// Appends another report (e.g. of a later flush).
    pub fn merge(&mut self, other: BulkReport<K>) {
        self.items.extend(other.items);
        self.requests += other.requests;
        self.bytes_sent += other.bytes_sent;
        if self.request_error.is_none() {
            self.request_error = other.request_error;
        }
    }
}

/// Running totals of a writer over all its flushes.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BulkTotals {
    pub requests: u64,
    pub bytes_sent: u64,
    pub succeeded: u64,
    pub failed: u64,
    pub indexed: u64,
    pub deleted: u64,
    pub indexed_bytes: u64,
}

/// How one operation ended, before it is joined with the caller's key into a [`BulkItem`].
#[derive(Clone)]
pub(super) struct Outcome {
    pub(super) status: u16,
    pub(super) result: Option<WriteResult>,
    pub(super) error: Option<BulkItemError>,
    pub(super) generated_id: Option<String>,
}

impl Outcome {
    pub(super) fn failure(status: u16, error_type: &str, reason: String) -> Outcome {
        Outcome {
            status,
            result: None,
            error: Some(BulkItemError {
                error_type: error_type.to_string(),
                reason,
            }),
            generated_id: None,
        }
    }
}
