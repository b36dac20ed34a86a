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

use std::borrow::Cow;
use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use reqwest::Method;
use serde::{Deserialize, Serialize};

use crate::client::{BodyKind, EsClient, RawResponse, UrlExt};
use crate::config::RetryPolicy;
use crate::documents::{Refresh, WriteResult};
use crate::error::{ApiError, EsError};

/// The reference's `chunk_size`: 500 operations per request.
pub const DEFAULT_MAX_OPS: usize = 500;
/// The reference's `chunk_max_mem_size`: 3 MiB per request.
pub const DEFAULT_MAX_BYTES: usize = 3 * 1024 * 1024;

const MIB: u64 = 1024 * 1024;

/// Bytes to whole MiB, rounded to nearest (`indexed_document_volume` is an integer of MiB).
pub fn bytes_to_mib(bytes: u64) -> u64 {
    (bytes + MIB / 2) / MIB
}

/// Options of a [`BulkWriter`].
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
    /// `indexed_document_volume` as [`bytes_to_mib`] of the running total.
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

struct PendingOp<K> {
    key: K,
    action: BulkAction,
    /// Byte range of the action line + source line (with newlines) in the buffer.
    start: usize,
    end: usize,
    source_bytes: usize,
    auto_id: bool,
    attempts: u32,
}

/// Sends one `_bulk` body. The client implements it; tests script it.
pub(crate) trait BulkSender {
    fn send_bulk(
        &mut self,
        body: Bytes,
    ) -> impl Future<Output = Result<RawResponse, EsError>> + Send;
}

struct ClientSender<'a> {
    client: &'a EsClient,
    url: &'a url::Url,
}

impl BulkSender for ClientSender<'_> {
    fn send_bulk(
        &mut self,
        body: Bytes,
    ) -> impl Future<Output = Result<RawResponse, EsError>> + Send {
        self.client.send(
            Method::POST,
            self.url.clone(),
            Some((body, BodyKind::Ndjson)),
        )
    }
}

/// Buffers bulk operations and sends them in bounded requests. `K` is the caller's key for each
/// operation (a document id, an index into its own table, `()`...), returned in the reports.
///
/// Full requests can be sent in place ([`BulkWriter::flush_ready`], [`BulkWriter::flush`]) or
/// taken out with [`BulkWriter::take_request`] and sent on their own task, so that several are
/// in flight while the caller keeps pushing.
pub struct BulkWriter<K = ()> {
    client: EsClient,
    options: BulkOptions,
    url: url::Url,
    buf: Vec<u8>,
    ops: Vec<PendingOp<K>>,
    /// Op indices where closed (full) requests end.
    chunk_ends: VecDeque<usize>,
    open_start: usize,
    open_bytes: usize,
    totals: Arc<Mutex<BulkTotals>>,
}

/// One request's operations, taken out of a [`BulkWriter`]: [`BulkRequest::send`] is a
/// `'static` future that can run on its own task. Splits on 413 and item retries happen inside.
pub struct BulkRequest<K> {
    client: EsClient,
    url: url::Url,
    item_retry: RetryPolicy,
    /// The operations' NDJSON, in order: the first attempt sends it as is.
    buf: Bytes,
    ops: Vec<PendingOp<K>>,
    totals: Arc<Mutex<BulkTotals>>,
}

#[derive(Serialize)]
struct Meta<'a> {
    #[serde(rename = "_index")]
    index: &'a str,
    #[serde(rename = "_id", skip_serializing_if = "Option::is_none")]
    id: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "snake_case")]
enum ActionLine<'a> {
    Index(Meta<'a>),
    Create(Meta<'a>),
    Update(Meta<'a>),
    Delete(Meta<'a>),
}

#[derive(Serialize)]
struct UpdateLine<'a, T: ?Sized> {
    doc: &'a T,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    doc_as_upsert: bool,
}

impl EsClient {
    /// A [`BulkWriter`] sending through this client.
    pub fn bulk_writer<K>(&self, options: BulkOptions) -> BulkWriter<K> {
        BulkWriter::new(self.clone(), options)
    }
}

impl<K> BulkWriter<K> {
    pub fn new(client: EsClient, mut options: BulkOptions) -> Self {
        options.max_ops = options.max_ops.max(1);
        options.max_bytes = options.max_bytes.max(1);
        let url = client
            .url(&["_bulk"])
            .param_opt("pipeline", options.pipeline.as_deref())
            .param_opt("refresh", options.refresh.map(Refresh::as_str));
        BulkWriter {
            client,
            url,
            buf: Vec::new(),
            ops: Vec::with_capacity(options.max_ops.min(DEFAULT_MAX_OPS) + 1),
            chunk_ends: VecDeque::new(),
            open_start: 0,
            open_bytes: 0,
            totals: Arc::default(),
            options,
        }
    }

    pub fn options(&self) -> &BulkOptions {
        &self.options
    }

    /// `index` (create or replace). Without an id, Elasticsearch generates one (see
    /// [`BulkItem::generated_id`]). Returns whether a full request is ready to flush.
    pub fn push_index<T: Serialize + ?Sized>(
        &mut self,
        index: &str,
        id: Option<&str>,
        source: &T,
        key: K,
    ) -> Result<bool, EsError> {
        self.push(BulkAction::Index, index, id, key, |w| {
            serde_json::to_writer(w, source)
        })
    }

    /// `index` of a document the caller writes as JSON text into the request buffer: exactly
    /// one JSON object. Spares serializing a value for documents already encoded.
    pub fn push_index_with(
        &mut self,
        index: &str,
        id: Option<&str>,
        key: K,
        write_source: impl FnOnce(&mut Vec<u8>),
    ) -> Result<bool, EsError> {
        self.push(BulkAction::Index, index, id, key, |w| {
            write_source(w);
            Ok(())
        })
    }

    /// `create` (fails with 409 when the id exists).
    pub fn push_create<T: Serialize + ?Sized>(
        &mut self,
        index: &str,
        id: Option<&str>,
        source: &T,
        key: K,
    ) -> Result<bool, EsError> {
        self.push(BulkAction::Create, index, id, key, |w| {
            serde_json::to_writer(w, source)
        })
    }

    /// `update` with `{"doc": doc}` (a recursive merge), plus `"doc_as_upsert": true` if asked.
    pub fn push_update<T: Serialize + ?Sized>(
        &mut self,
        index: &str,
        id: &str,
        doc: &T,
        doc_as_upsert: bool,
        key: K,
    ) -> Result<bool, EsError> {
        self.push(BulkAction::Update, index, Some(id), key, |w| {
            serde_json::to_writer(w, &UpdateLine { doc, doc_as_upsert })
        })
    }

    /// `delete`. A missing document is a success with result `not_found`.
    pub fn push_delete(&mut self, index: &str, id: &str, key: K) -> Result<bool, EsError> {
        self.push(BulkAction::Delete, index, Some(id), key, |_| Ok(()))
    }

    fn push(
        &mut self,
        action: BulkAction,
        index: &str,
        id: Option<&str>,
        key: K,
        write_source: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
    ) -> Result<bool, EsError> {
        if index.is_empty() {
            return Err(EsError::InvalidRequest(
                "a bulk operation needs an index".into(),
            ));
        }
        if id == Some("")
            || (id.is_none() && matches!(action, BulkAction::Update | BulkAction::Delete))
        {
            return Err(EsError::InvalidRequest(format!(
                "a bulk {} needs a non-empty id",
                action.as_str()
            )));
        }
        let start = self.buf.len();
        let meta = Meta { index, id };
        let line = match action {
            BulkAction::Index => ActionLine::Index(meta),
            BulkAction::Create => ActionLine::Create(meta),
            BulkAction::Update => ActionLine::Update(meta),
            BulkAction::Delete => ActionLine::Delete(meta),
        };
        let mut source_bytes = 0;
        let written = serde_json::to_writer(&mut self.buf, &line).and_then(|()| {
            self.buf.push(b'\n');
            if action != BulkAction::Delete {
                let source_start = self.buf.len();
                write_source(&mut self.buf)?;
                // Compact JSON has no raw newline; a RawValue might. Outside strings a newline
                // is whitespace (inside one it would be invalid JSON anyway), so a space is
                // equivalent and keeps the NDJSON framing.
                let source = &mut self.buf[source_start..];
                let mut from = 0;
                while let Some(at) = memchr::memchr(b'\n', &source[from..]) {
                    source[from + at] = b' ';
                    from += at + 1;
                }
                source_bytes = self.buf.len() - source_start;
                self.buf.push(b'\n');
            }
            Ok(())
        });
        if let Err(error) = written {
            self.buf.truncate(start);
            return Err(EsError::Serialize(error));
        }
        let end = self.buf.len();
        let len = end - start;
        // Start a new request when this operation does not fit in the open one.
        if self.ops.len() > self.open_start && self.open_bytes + len > self.options.max_bytes {
            self.end_request();
        }
        self.ops.push(PendingOp {
            key,
            action,
            start,
            end,
            source_bytes,
            auto_id: id.is_none(),
            attempts: 0,
        });
        self.open_bytes += len;
        if self.ops.len() - self.open_start >= self.options.max_ops
            || self.open_bytes >= self.options.max_bytes
        {
            self.end_request();
        }
        Ok(self.is_flush_due())
    }

    /// Closes the open request, even if it is not full: the operations pushed so far go in one
    /// request, later ones in the next. No-op when nothing is open.
    pub fn end_request(&mut self) {
        if self.ops.len() > self.open_start {
            self.chunk_ends.push_back(self.ops.len());
            self.open_start = self.ops.len();
            self.open_bytes = 0;
        }
    }

    /// Whether at least one full request is buffered.
    pub fn is_flush_due(&self) -> bool {
        !self.chunk_ends.is_empty()
    }

    /// Buffered operations.
    pub fn pending_ops(&self) -> usize {
        self.ops.len()
    }

    /// Operations in the open (not yet full) request.
    pub fn open_ops(&self) -> usize {
        self.ops.len() - self.open_start
    }

    /// NDJSON bytes of the open request.
    pub fn open_bytes(&self) -> usize {
        self.open_bytes
    }

    /// Buffered NDJSON bytes.
    pub fn pending_bytes(&self) -> usize {
        self.buf.len()
    }

    /// Totals over every request sent so far, including those taken out of the writer.
    pub fn totals(&self) -> BulkTotals {
        *self.totals.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drops every buffered operation without sending; returns their keys.
    pub fn discard(&mut self) -> Vec<K> {
        self.buf.clear();
        self.chunk_ends.clear();
        self.open_start = 0;
        self.open_bytes = 0;
        self.ops.drain(..).map(|op| op.key).collect()
    }

    /// Takes the oldest full request out of the buffer, to be sent by the caller.
    pub fn take_request(&mut self) -> Option<BulkRequest<K>> {
        let n = self.chunk_ends.pop_front()?;
        let byte_end = self.ops[n - 1].end;
        // The remainder (the open request) is usually small: move it to a fresh buffer sized
        // like the request just taken, and hand the full buffer over without copying it.
        let mut rest = Vec::with_capacity(byte_end.max(self.buf.len() - byte_end) + 1024);
        rest.extend_from_slice(&self.buf[byte_end..]);
        let mut taken = std::mem::replace(&mut self.buf, rest);
        taken.truncate(byte_end);
        let rest_ops = self.ops.split_off(n);
        let taken_ops = std::mem::replace(&mut self.ops, rest_ops);
        for op in &mut self.ops {
            op.start -= byte_end;
            op.end -= byte_end;
        }
        for end in &mut self.chunk_ends {
            *end -= n;
        }
        self.open_start -= n;
        Some(BulkRequest {
            client: self.client.clone(),
            url: self.url.clone(),
            item_retry: self.options.item_retry,
            buf: Bytes::from(taken),
            ops: taken_ops,
            totals: self.totals.clone(),
        })
    }

    /// Sends the full requests; a trailing partial request stays buffered.
    pub async fn flush_ready(&mut self) -> BulkReport<K> {
        let client = self.client.clone();
        let url = self.url.clone();
        self.send_taken(&mut ClientSender {
            client: &client,
            url: &url,
        })
        .await
    }

    /// Sends every buffered operation.
    pub async fn flush(&mut self) -> BulkReport<K> {
        self.end_request();
        self.flush_ready().await
    }

    /// Sends the full requests one after the other; after a request failure the rest are
    /// reported as not sent.
    async fn send_taken(&mut self, sender: &mut impl BulkSender) -> BulkReport<K> {
        let mut report = BulkReport::default();
        while let Some(request) = self.take_request() {
            if report.request_error.is_some() {
                let reason = not_sent_reason(&report);
                report.merge(request.give_up(&reason));
            } else {
                report.merge(request.send_with(sender).await);
            }
        }
        report
    }
}

impl<K> BulkRequest<K> {
    /// Operations in this request.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Sends the request (with 413 splits and item retries) and reports every operation.
    pub async fn send(self) -> BulkReport<K> {
        let client = self.client.clone();
        let url = self.url.clone();
        self.send_with(&mut ClientSender {
            client: &client,
            url: &url,
        })
        .await
    }

    /// Reports every operation as failed without sending them.
    pub fn give_up(self, reason: &str) -> BulkReport<K> {
        BulkReport {
            items: self
                .ops
                .into_iter()
                .map(|op| op.into_item(Outcome::failure(0, "not_sent", reason.to_string())))
                .collect(),
            ..BulkReport::default()
        }
    }

    async fn send_with(mut self, sender: &mut impl BulkSender) -> BulkReport<K> {
        let mut report = BulkReport::default();
        let mut outcomes: Vec<Option<Outcome>> = Vec::with_capacity(self.ops.len());
        outcomes.resize_with(self.ops.len(), || None);
        self.send_all(sender, &mut outcomes, &mut report).await;
        report.items.reserve(self.ops.len());
        for (op, outcome) in self.ops.into_iter().zip(outcomes) {
            let outcome = outcome
                .unwrap_or_else(|| Outcome::failure(0, "not_sent", not_sent_reason(&report)));
            report.items.push(op.into_item(outcome));
        }
        let mut totals = self.totals.lock().unwrap_or_else(|e| e.into_inner());
        totals.requests += u64::from(report.requests);
        totals.bytes_sent += report.bytes_sent;
        totals.succeeded += report.success_count() as u64;
        totals.failed += report.failure_count() as u64;
        totals.indexed += report.indexed_count();
        totals.deleted += report.deleted_count();
        totals.indexed_bytes += report.indexed_bytes();
        drop(totals);
        report
    }

    /// Sends every operation as one request, then handles 413 splits and item retries.
    async fn send_all(
        &mut self,
        sender: &mut impl BulkSender,
        outcomes: &mut [Option<Outcome>],
        report: &mut BulkReport<K>,
    ) {
        let mut pending: Vec<usize> = (0..self.ops.len()).collect();
        let mut retry_round = 0u32;
        loop {
            let mut retry: Vec<usize> = Vec::new();
            let mut queue: VecDeque<Vec<usize>> = VecDeque::from([pending]);
            while let Some(batch) = queue.pop_front() {
                if report.request_error.is_some() {
                    break;
                }
                let body = self.body(&batch);
                let body_len = body.len() as u64;
                for &i in &batch {
                    self.ops[i].attempts += 1;
                }
                report.requests += 1;
                report.bytes_sent += body_len;
                match sender.send_bulk(body).await {
                    Ok(response) if response.is_success() => {
                        self.apply_items(&batch, &response.body, outcomes, &mut retry, report);
                    }
                    Ok(response) if response.status == 413 && batch.len() > 1 => {
                        let mid = batch.len() / 2;
                        tracing::debug!(
                            ops = batch.len(),
                            bytes = body_len,
                            "bulk request too large; splitting"
                        );
                        queue.push_front(batch[mid..].to_vec());
                        queue.push_front(batch[..mid].to_vec());
                    }
                    Ok(response) if response.status == 413 => {
                        let i = batch[0];
                        outcomes[i] = Some(Outcome::failure(
                            413,
                            "request_too_large",
                            format!(
                                "the operation alone ({body_len} bytes) exceeds the cluster's http.max_content_length"
                            ),
                        ));
                    }
                    Ok(response) => {
                        let error = ApiError::from_response(response.status, &response.body);
                        for &i in &batch {
                            outcomes[i] = Some(Outcome::failure(
                                response.status,
                                error.error_type.as_deref().unwrap_or("request_failed"),
                                error.to_string(),
                            ));
                        }
                        report.request_error = Some(EsError::Api(Box::new(error)));
                    }
                    Err(error) => {
                        for &i in &batch {
                            outcomes[i] =
                                Some(Outcome::failure(0, "request_failed", error.to_string()));
                        }
                        report.request_error = Some(error);
                    }
                }
            }
            if report.request_error.is_some() {
                // Items waiting for a retry keep their last item error.
                return;
            }
            if retry.is_empty() || retry_round >= self.item_retry.max_retries {
                return;
            }
            let delay = self.item_retry.backoff(retry_round);
            retry_round += 1;
            tracing::warn!(
                items = retry.len(),
                retry = retry_round,
                max_retries = self.item_retry.max_retries,
                delay_ms = delay.as_millis() as u64,
                "retrying rejected bulk items"
            );
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            pending = retry;
        }
    }

    /// The body for a subset of the operations: the whole buffer when it is all of them.
    fn body(&self, batch: &[usize]) -> Bytes {
        if batch.len() == self.ops.len() {
            return self.buf.clone();
        }
        let mut body = Vec::new();
        build_body_into(
            &self.buf,
            batch.iter().map(|&i| (self.ops[i].start, self.ops[i].end)),
            &mut body,
        );
        Bytes::from(body)
    }

    fn apply_items(
        &self,
        batch: &[usize],
        body: &[u8],
        outcomes: &mut [Option<Outcome>],
        retry: &mut Vec<usize>,
        report: &mut BulkReport<K>,
    ) {
        let parsed: BulkResponse<'_> = match serde_json::from_slice(body) {
            Ok(parsed) => parsed,
            Err(error) => {
                for &i in batch {
                    outcomes[i] = Some(Outcome::failure(
                        0,
                        "invalid_response",
                        format!("cannot parse the bulk response: {error}"),
                    ));
                }
                report.request_error = Some(EsError::Decode {
                    path: "/_bulk".into(),
                    source: error,
                    body: crate::error::truncate(&String::from_utf8_lossy(body), 500).to_string(),
                });
                return;
            }
        };
        if parsed.items.len() != batch.len() {
            let reason = format!(
                "the bulk response has {} items for {} operations",
                parsed.items.len(),
                batch.len()
            );
            for &i in batch {
                outcomes[i] = Some(Outcome::failure(0, "invalid_response", reason.clone()));
            }
            report.request_error = Some(EsError::InvalidRequest(reason));
            return;
        }
        for (&i, item) in batch.iter().zip(parsed.items) {
            let item = item.into_body();
            let op = &self.ops[i];
            let outcome = match item.error {
                None => Outcome {
                    status: item.status,
                    result: item.result.as_deref().map(WriteResult::parse),
                    error: None,
                    generated_id: if op.auto_id {
                        item.id.map(Cow::into_owned)
                    } else {
                        None
                    },
                },
                Some(error) => {
                    if item.status == 429 || item.status >= 500 {
                        retry.push(i);
                    }
                    Outcome {
                        status: item.status,
                        result: None,
                        error: Some(error.into_item_error()),
                        generated_id: None,
                    }
                }
            };
            outcomes[i] = Some(outcome);
        }
    }
}

impl<K> PendingOp<K> {
    fn into_item(self, outcome: Outcome) -> BulkItem<K> {
        BulkItem {
            key: self.key,
            action: self.action,
            generated_id: outcome.generated_id,
            status: outcome.status,
            result: outcome.result,
            error: outcome.error,
            attempts: self.attempts,
            source_bytes: self.source_bytes,
        }
    }
}

impl<K> Drop for BulkWriter<K> {
    fn drop(&mut self) {
        if !self.ops.is_empty() {
            tracing::warn!(
                ops = self.ops.len(),
                "BulkWriter dropped with unsent operations"
            );
        }
    }
}

impl<K> std::fmt::Debug for BulkWriter<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkWriter")
            .field("options", &self.options)
            .field("pending_ops", &self.ops.len())
            .field("pending_bytes", &self.buf.len())
            .field("full_requests", &self.chunk_ends.len())
            .finish()
    }
}

/// Concatenates byte ranges of `buf` into `out` (cleared first).
pub(crate) fn build_body_into(
    buf: &[u8],
    ranges: impl Iterator<Item = (usize, usize)>,
    out: &mut Vec<u8>,
) {
    out.clear();
    for (start, end) in ranges {
        out.extend_from_slice(&buf[start..end]);
    }
}

fn not_sent_reason<K>(report: &BulkReport<K>) -> String {
    match &report.request_error {
        Some(error) => format!("not sent: an earlier bulk request failed: {error}"),
        None => "not sent".to_string(),
    }
}

struct Outcome {
    status: u16,
    result: Option<WriteResult>,
    error: Option<BulkItemError>,
    generated_id: Option<String>,
}

impl Outcome {
    fn failure(status: u16, error_type: &str, reason: String) -> Outcome {
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

#[derive(Deserialize)]
struct BulkResponse<'a> {
    #[serde(borrow)]
    items: Vec<RawItem<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum RawItem<'a> {
    #[serde(borrow)]
    Index(ItemBody<'a>),
    #[serde(borrow)]
    Create(ItemBody<'a>),
    #[serde(borrow)]
    Update(ItemBody<'a>),
    #[serde(borrow)]
    Delete(ItemBody<'a>),
}

impl<'a> RawItem<'a> {
    fn into_body(self) -> ItemBody<'a> {
        match self {
            RawItem::Index(b) | RawItem::Create(b) | RawItem::Update(b) | RawItem::Delete(b) => b,
        }
    }
}

#[derive(Deserialize)]
struct ItemBody<'a> {
    #[serde(rename = "_id", borrow, default)]
    id: Option<Cow<'a, str>>,
    status: u16,
    #[serde(borrow, default)]
    result: Option<Cow<'a, str>>,
    #[serde(default)]
    error: Option<RawItemError>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawItemError {
    Object {
        #[serde(rename = "type", default)]
        error_type: Option<String>,
        #[serde(default)]
        reason: Option<String>,
    },
    Other(serde_json::Value),
}

impl RawItemError {
    fn into_item_error(self) -> BulkItemError {
        match self {
            RawItemError::Object { error_type, reason } => BulkItemError {
                error_type: error_type.unwrap_or_default(),
                reason: reason.unwrap_or_default(),
            },
            RawItemError::Other(value) => BulkItemError {
                error_type: String::new(),
                reason: match value {
                    serde_json::Value::String(s) => s,
                    other => other.to_string(),
                },
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;
    use std::time::Duration;

    fn client() -> EsClient {
        EsClient::new(crate::EsConfig::url("http://127.0.0.1:9")).unwrap()
    }

    fn fast() -> RetryPolicy {
        RetryPolicy {
            max_retries: 3,
            initial_backoff: Duration::ZERO,
            max_backoff: Duration::ZERO,
        }
    }

    fn text(w: &BulkWriter<u32>) -> String {
        String::from_utf8(w.buf.clone()).unwrap()
    }

    #[test]
    fn builds_ndjson() {
        let mut w: BulkWriter<u32> = client().bulk_writer(BulkOptions::default());
        w.push_index("idx", Some("1"), &json!({"a": "x\ny"}), 1)
            .unwrap();
        w.push_create("idx", None, &json!({"b": 2}), 2).unwrap();
        w.push_update("idx", "3", &json!({"c": 3}), true, 3)
            .unwrap();
        w.push_update("idx", "4", &json!({"c": 4}), false, 4)
            .unwrap();
        w.push_delete("idx", "we\"ird", 5).unwrap();
        assert_eq!(
            text(&w),
            concat!(
                "{\"index\":{\"_index\":\"idx\",\"_id\":\"1\"}}\n{\"a\":\"x\\ny\"}\n",
                "{\"create\":{\"_index\":\"idx\"}}\n{\"b\":2}\n",
                "{\"update\":{\"_index\":\"idx\",\"_id\":\"3\"}}\n{\"doc\":{\"c\":3},\"doc_as_upsert\":true}\n",
                "{\"update\":{\"_index\":\"idx\",\"_id\":\"4\"}}\n{\"doc\":{\"c\":4}}\n",
                "{\"delete\":{\"_index\":\"idx\",\"_id\":\"we\\\"ird\"}}\n",
            )
        );
        assert_eq!(w.ops[0].source_bytes, r#"{"a":"x\ny"}"#.len());
        assert_eq!(w.ops[4].source_bytes, 0);
        assert!(w.ops[1].auto_id);
        assert_eq!(w.pending_ops(), 5);
        w.discard();
    }

    #[test]
    fn raw_newlines_are_neutralised() {
        let raw = serde_json::value::RawValue::from_string("{\n  \"a\": 1\n}".to_string()).unwrap();
        let mut w: BulkWriter<u32> = client().bulk_writer(BulkOptions::default());
        w.push_index("i", Some("1"), &raw, 0).unwrap();
        assert_eq!(text(&w).matches('\n').count(), 2);
        let source = text(&w).lines().nth(1).unwrap().to_string();
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&source).unwrap(),
            json!({"a": 1})
        );
        w.discard();
    }

    #[test]
    fn rejects_bad_input_and_keeps_buffer_clean() {
        struct Failing;
        impl Serialize for Failing {
            fn serialize<S: serde::Serializer>(&self, _: S) -> Result<S::Ok, S::Error> {
                Err(serde::ser::Error::custom("nope"))
            }
        }
        let mut w: BulkWriter<u32> = client().bulk_writer(BulkOptions::default());
        w.push_index("i", Some("1"), &json!({}), 0).unwrap();
        let before = w.pending_bytes();
        assert!(matches!(
            w.push_index("i", Some("2"), &Failing, 1),
            Err(EsError::Serialize(_))
        ));
        assert_eq!(w.pending_bytes(), before);
        assert_eq!(w.pending_ops(), 1);
        assert!(w.push_delete("i", "", 2).is_err());
        assert!(w.push_index("", Some("x"), &json!({}), 3).is_err());
        w.discard();
    }

    #[test]
    fn flush_due_by_count_and_bytes() {
        let mut w: BulkWriter<u32> = client().bulk_writer(BulkOptions::default().max_ops(3));
        assert!(!w.push_delete("i", "1", 1).unwrap());
        assert!(!w.push_delete("i", "2", 2).unwrap());
        assert!(w.push_delete("i", "3", 3).unwrap());
        assert_eq!(w.chunk_ends, [3]);
        w.discard();

        // Each delete line is 33 bytes; 80 bytes fit two.
        let line = br#"{"delete":{"_index":"i","_id":"1"}}"#.len() + 1;
        let mut w: BulkWriter<u32> =
            client().bulk_writer(BulkOptions::default().max_bytes(2 * line + 10));
        assert!(!w.push_delete("i", "1", 1).unwrap());
        assert!(!w.push_delete("i", "2", 2).unwrap());
        // The third does not fit: the first two form a full request.
        assert!(w.push_delete("i", "3", 3).unwrap());
        assert_eq!(w.chunk_ends, [2]);
        assert_eq!(w.open_start, 2);
        w.discard();

        // A single operation bigger than the limit is a request of its own.
        let mut w: BulkWriter<u32> = client().bulk_writer(BulkOptions::default().max_bytes(10));
        assert!(w.push_delete("i", "1", 1).unwrap());
        assert!(w.push_delete("i", "2", 2).unwrap());
        assert_eq!(w.chunk_ends, [1, 2]);
        w.discard();
    }

    #[test]
    fn body_from_slices() {
        let buf = b"aaBBBcdd";
        let mut out = Vec::new();
        build_body_into(buf, [(2, 5), (6, 8)].into_iter(), &mut out);
        assert_eq!(out, b"BBBdd");
        build_body_into(buf, [(0, 2)].into_iter(), &mut out);
        assert_eq!(out, b"aa");
    }

    /// A scripted `_bulk` endpoint: per-id planned item statuses, a byte limit (413) and a
    /// record of every body it got.
    #[derive(Default)]
    struct Script {
        /// id -> statuses to answer, in order; then 201.
        plans: HashMap<String, VecDeque<u16>>,
        max_body: Option<usize>,
        bodies: Vec<String>,
        fail_with: Option<u16>,
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

    fn run<K>(w: &mut BulkWriter<K>, script: &mut Script, all: bool) -> BulkReport<K> {
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

    #[test]
    fn retries_only_rejected_items() {
        let mut w: BulkWriter<String> =
            client().bulk_writer(BulkOptions::default().item_retry(fast()));
        for n in 0..6 {
            let id = n.to_string();
            w.push_index("i", Some(&id), &json!({"n": n}), id.clone())
                .unwrap();
        }
        let mut script = Script::default();
        script.plans.insert("1".into(), VecDeque::from([429, 429]));
        script.plans.insert("4".into(), VecDeque::from([503]));
        script.plans.insert("5".into(), VecDeque::from([400]));
        let report = run(&mut w, &mut script, true);
        assert_eq!(report.items.len(), 6);
        assert_eq!(script.bodies.len(), 3);
        // Round 2 carries only ops 1 and 4, round 3 only op 1.
        assert_eq!(script.bodies[1].lines().count(), 4);
        assert!(
            script.bodies[1].contains(r#""_id":"1""#) && script.bodies[1].contains(r#""_id":"4""#)
        );
        assert_eq!(script.bodies[2].lines().count(), 2);
        assert!(script.bodies[2].contains(r#""_id":"1""#));
        let keys: Vec<_> = report.items.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["0", "1", "2", "3", "4", "5"]);
        assert_eq!(report.items[1].attempts, 3);
        assert_eq!(report.items[4].attempts, 2);
        assert_eq!(report.success_count(), 5);
        assert_eq!(report.indexed_count(), 5);
        let failed: Vec<_> = report.failed().collect();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].key, "5");
        assert_eq!(failed[0].status, 400);
        assert_eq!(
            failed[0].error.as_ref().unwrap().error_type,
            "mapper_parsing_exception"
        );
        assert_eq!(w.pending_ops(), 0);
        assert_eq!(w.pending_bytes(), 0);
        assert_eq!(
            report.bytes_sent,
            script.bodies.iter().map(|b| b.len() as u64).sum::<u64>()
        );
        assert_eq!(
            report.indexed_bytes(),
            (0..6)
                .filter(|n| *n != 5)
                .map(|n| format!("{{\"n\":{n}}}").len() as u64)
                .sum::<u64>()
        );
    }

    #[test]
    fn item_retries_are_bounded() {
        let mut w: BulkWriter<u32> =
            client().bulk_writer(BulkOptions::default().item_retry(fast()));
        w.push_index("i", Some("a"), &json!({}), 0).unwrap();
        let mut script = Script::default();
        script.plans.insert("a".into(), VecDeque::from([429; 10]));
        let report = run(&mut w, &mut script, true);
        assert_eq!(script.bodies.len(), 4); // first try + 3 retries
        assert_eq!(report.items[0].status, 429);
        assert!(!report.items[0].is_success());
        assert!(report.request_error.is_none());
    }

    #[test]
    fn splits_on_413() {
        let mut w: BulkWriter<u32> =
            client().bulk_writer(BulkOptions::default().item_retry(fast()));
        for n in 0..8u32 {
            w.push_index(
                "i",
                Some(&n.to_string()),
                &json!({"pad": "x".repeat(if n == 5 { 400 } else { 10 })}),
                n,
            )
            .unwrap();
        }
        let mut script = Script {
            max_body: Some(300),
            ..Default::default()
        };
        let report = run(&mut w, &mut script, true);
        assert_eq!(report.items.len(), 8);
        let keys: Vec<_> = report.items.iter().map(|i| i.key).collect();
        assert_eq!(keys, [0, 1, 2, 3, 4, 5, 6, 7]);
        for item in &report.items {
            if item.key == 5 {
                assert_eq!(item.status, 413);
                assert_eq!(item.error.as_ref().unwrap().error_type, "request_too_large");
            } else {
                assert!(item.is_success(), "{item:?}");
            }
        }
        // Every accepted body fits.
        let accepted: usize = script
            .bodies
            .iter()
            .filter(|b| b.len() <= 300)
            .map(|b| b.lines().count() / 2)
            .sum();
        assert_eq!(accepted, 7);
    }

    #[test]
    fn request_failure_fails_the_rest_of_the_flush() {
        let mut w: BulkWriter<u32> =
            client().bulk_writer(BulkOptions::default().max_ops(2).item_retry(fast()));
        for n in 0..5u32 {
            w.push_delete("i", &n.to_string(), n).unwrap();
        }
        let mut script = Script {
            fail_with: Some(401),
            ..Default::default()
        };
        let report = run(&mut w, &mut script, true);
        assert_eq!(script.bodies.len(), 1);
        assert_eq!(report.items.len(), 5);
        assert!(report.items.iter().all(|i| !i.is_success()));
        assert_eq!(report.items[0].status, 401);
        assert_eq!(
            report.items[0].error.as_ref().unwrap().error_type,
            "security_exception"
        );
        assert_eq!(
            report.items[4].error.as_ref().unwrap().error_type,
            "not_sent"
        );
        assert!(report.request_error.as_ref().unwrap().is_auth_error());
        assert_eq!(w.pending_ops(), 0);
    }

    #[test]
    fn flush_ready_keeps_the_open_request_and_compacts() {
        let mut w: BulkWriter<u32> = client().bulk_writer(BulkOptions::default().max_ops(2));
        for n in 0..5u32 {
            w.push_delete("i", &n.to_string(), n).unwrap();
        }
        let mut script = Script::default();
        let report = run(&mut w, &mut script, false);
        assert_eq!(report.items.len(), 4);
        assert_eq!(report.deleted_count(), 4);
        assert_eq!(w.pending_ops(), 1);
        assert_eq!(text(&w), "{\"delete\":{\"_index\":\"i\",\"_id\":\"4\"}}\n");
        assert_eq!(w.ops[0].start, 0);
        assert!(!w.is_flush_due());
        // More pushes continue the open request.
        assert!(w.push_delete("i", "5", 5).unwrap());
        let report = run(&mut w, &mut script, true);
        assert_eq!(
            report.items.iter().map(|i| i.key).collect::<Vec<_>>(),
            [4, 5]
        );
        assert_eq!(w.totals().deleted, 6);
        assert_eq!(w.totals().requests, 3);
    }

    #[test]
    fn taken_requests_are_sent_on_their_own() {
        let mut w: BulkWriter<u32> = client().bulk_writer(BulkOptions::default().max_ops(2));
        for n in 0..5u32 {
            w.push_index("i", Some(&n.to_string()), &json!({"n": n}), n)
                .unwrap();
        }
        let first = w.take_request().unwrap();
        let second = w.take_request().unwrap();
        assert!(w.take_request().is_none());
        assert_eq!((first.len(), second.len(), w.open_ops()), (2, 2, 1));
        // The open operation moved to the front of the writer's buffer.
        assert_eq!(w.ops[0].start, 0);
        assert_eq!(
            text(&w),
            "{\"index\":{\"_index\":\"i\",\"_id\":\"4\"}}\n{\"n\":4}\n"
        );
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .unwrap();
        let mut script = Script::default();
        script.plans.insert("3".into(), VecDeque::from([429]));
        let (a, b) = rt.block_on(async {
            let b = second.send_with(&mut script).await;
            let a = first.send_with(&mut Script::default()).await;
            (a, b)
        });
        assert_eq!(a.items.iter().map(|i| i.key).collect::<Vec<_>>(), [0, 1]);
        assert_eq!(b.items.iter().map(|i| i.key).collect::<Vec<_>>(), [2, 3]);
        assert_eq!(b.items[1].attempts, 2);
        assert!(script.bodies[0].starts_with("{\"index\":{\"_index\":\"i\",\"_id\":\"2\"}}"));
        assert_eq!(w.totals().indexed, 4);
        assert_eq!(w.totals().requests, 3);
        w.discard();
    }

    #[test]
    fn generated_ids_are_reported() {
        let mut w: BulkWriter<u32> = client().bulk_writer(BulkOptions::default());
        w.push_index("i", None, &json!({}), 7).unwrap();
        w.push_index("i", Some("given"), &json!({}), 8).unwrap();
        let report = run(&mut w, &mut Script::default(), true);
        assert_eq!(report.items[0].generated_id.as_deref(), Some("generated"));
        assert_eq!(report.items[1].generated_id, None);
    }

    #[test]
    fn mib_rounding() {
        assert_eq!(bytes_to_mib(0), 0);
        assert_eq!(bytes_to_mib(MIB / 2 - 1), 0);
        assert_eq!(bytes_to_mib(MIB / 2), 1);
        assert_eq!(bytes_to_mib(3 * MIB), 3);
    }
}
