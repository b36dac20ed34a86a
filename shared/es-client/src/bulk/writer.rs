//! The sink: [`BulkWriter`] takes operations, keeps the bookkeeping of buffered requests and the
//! running totals, and sends full requests in place or hands them out as [`BulkRequest`]s;
//! a [`BulkRequest`] drives one request through sending, 413 splits and item retry rounds, and
//! reports every operation exactly once.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use serde::Serialize;

use super::report::Outcome;
use super::request::{self, PendingOp, PendingRequests};
use super::retry::{self, ItemRetries};
use super::service::{self, BulkSender, ClientSender, Reply};
use super::{BulkAction, BulkOptions, BulkReport, BulkTotals, encoder};
use crate::client::{EsClient, UrlExt};
use crate::config::RetryPolicy;
use crate::documents::Refresh;
use crate::error::EsError;

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
    pub(super) pending: PendingRequests<K>,
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
            pending: PendingRequests::new(options.max_ops, options.max_bytes),
            totals: Arc::default(),
            options,
        }
    }

    pub fn options(&self) -> &BulkOptions {
        &self.options
    }

    /// `index` (create or replace). Without an id, Elasticsearch generates one (see
    /// [`BulkItem::generated_id`](super::BulkItem::generated_id)). Returns whether a full
    /// request is ready to flush.
    pub fn push_index<T: Serialize + ?Sized>(
        &mut self,
        index: &str,
        id: Option<&str>,
        source: &T,
        key: K,
    ) -> Result<bool, EsError> {
        self.pending.push(BulkAction::Index, index, id, key, |w| {
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
        self.pending.push(BulkAction::Index, index, id, key, |w| {
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
        self.pending.push(BulkAction::Create, index, id, key, |w| {
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
        self.pending
            .push(BulkAction::Update, index, Some(id), key, |w| {
                encoder::write_update(w, doc, doc_as_upsert)
            })
    }

    /// `update` of `doc`, or `upsert` indexed whole when the document does not exist.
    pub fn push_upsert<T: Serialize + ?Sized, U: Serialize + ?Sized>(
        &mut self,
        index: &str,
        id: &str,
        doc: &T,
        upsert: &U,
        key: K,
    ) -> Result<bool, EsError> {
        self.pending
            .push(BulkAction::Update, index, Some(id), key, |w| {
                encoder::write_upsert(w, doc, upsert)
            })
    }

    /// `delete`. A missing document is a success with result `not_found`.
    pub fn push_delete(&mut self, index: &str, id: &str, key: K) -> Result<bool, EsError> {
        self.pending
            .push(BulkAction::Delete, index, Some(id), key, |_| Ok(()))
    }

    /// Closes the open request, even if it is not full: the operations pushed so far go in one
    /// request, later ones in the next. No-op when nothing is open.
    pub fn end_request(&mut self) {
        self.pending.end_request();
    }

    /// Whether at least one full request is buffered.
    pub fn is_flush_due(&self) -> bool {
        self.pending.is_flush_due()
    }

    /// Buffered operations.
    pub fn pending_ops(&self) -> usize {
        self.pending.pending_ops()
    }

    /// Operations in the open (not yet full) request.
    pub fn open_ops(&self) -> usize {
        self.pending.open_ops()
    }

    /// NDJSON bytes of the open request.
    pub fn open_bytes(&self) -> usize {
        self.pending.open_bytes()
    }

    /// Buffered NDJSON bytes.
    pub fn pending_bytes(&self) -> usize {
        self.pending.pending_bytes()
    }

    /// Totals over every request sent so far, including those taken out of the writer.
    pub fn totals(&self) -> BulkTotals {
        *self.totals.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Drops every buffered operation without sending; returns their keys.
    pub fn discard(&mut self) -> Vec<K> {
        self.pending.discard()
    }

    /// Takes the oldest full request out of the buffer, to be sent by the caller.
    pub fn take_request(&mut self) -> Option<BulkRequest<K>> {
        let (buf, ops) = self.pending.take()?;
        Some(BulkRequest {
            client: self.client.clone(),
            url: self.url.clone(),
            item_retry: self.options.item_retry,
            buf,
            ops,
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
    pub(super) async fn send_taken(&mut self, sender: &mut impl BulkSender) -> BulkReport<K> {
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

    pub(super) async fn send_with(mut self, sender: &mut impl BulkSender) -> BulkReport<K> {
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
        let mut retries = ItemRetries::new(self.item_retry);
        loop {
            let mut retry: Vec<usize> = Vec::new();
            let mut queue: VecDeque<Vec<usize>> = VecDeque::from([pending]);
            while let Some(batch) = queue.pop_front() {
                if report.request_error.is_some() {
                    break;
                }
                let body = request::body(&self.buf, &self.ops, &batch);
                let body_len = body.len() as u64;
                for &i in &batch {
                    self.ops[i].attempts += 1;
                }
                report.requests += 1;
                report.bytes_sent += body_len;
                match service::send(sender, body, &batch, &self.ops, outcomes).await {
                    Reply::Items => retry.extend(
                        batch
                            .iter()
                            .copied()
                            .filter(|&i| outcomes[i].as_ref().is_some_and(retry::is_retryable)),
                    ),
                    Reply::TooLarge if batch.len() > 1 => {
                        tracing::debug!(
                            ops = batch.len(),
                            bytes = body_len,
                            "bulk request too large; splitting"
                        );
                        let (first, second) = request::halves(&batch);
                        queue.push_front(second);
                        queue.push_front(first);
                    }
                    Reply::TooLarge => {
                        let i = batch[0];
                        outcomes[i] = Some(Outcome::failure(
                            413,
                            "request_too_large",
                            format!(
                                "the operation alone ({body_len} bytes) exceeds the cluster's http.max_content_length"
                            ),
                        ));
                    }
                    Reply::Failed { failure, error } => {
                        for &i in &batch {
                            outcomes[i] = Some(failure.clone());
                        }
                        report.request_error = Some(error);
                    }
                }
            }
            if report.request_error.is_some() {
                // Items waiting for a retry keep their last item error.
                return;
            }
            if !retries.next_round(retry.len()).await {
                return;
            }
            pending = retry;
        }
    }
}

impl<K> Drop for BulkWriter<K> {
    fn drop(&mut self) {
        if self.pending.pending_ops() > 0 {
            tracing::warn!(
                ops = self.pending.pending_ops(),
                "BulkWriter dropped with unsent operations"
            );
        }
    }
}

impl<K> std::fmt::Debug for BulkWriter<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BulkWriter")
            .field("options", &self.options)
            .field("pending_ops", &self.pending.pending_ops())
            .field("pending_bytes", &self.pending.pending_bytes())
            .field("full_requests", &self.pending.full_requests())
            .finish()
    }
}

fn not_sent_reason<K>(report: &BulkReport<K>) -> String {
    match &report.request_error {
        Some(error) => format!("not sent: an earlier bulk request failed: {error}"),
        None => "not sent".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use serde_json::json;

    use super::super::test_support::{Script, client, fast, run, text};
    use super::*;

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
        assert_eq!(w.pending.ops[0].start, 0);
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
        assert_eq!(w.pending.ops[0].start, 0);
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
}
