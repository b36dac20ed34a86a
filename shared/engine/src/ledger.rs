//! The bookkeeping of a slice's bulk writes: what the acknowledged operations add up to
//! (counters, error budget), and which source pages are now fully acknowledged and may move the
//! checkpoint. The sync loop only feeds reports in; every count is made here.
//!
//! Exactly-once counts on top of at-least-once execution: the checkpoint takes the counters
//! exactly as they stood when its last page was acknowledged, so a slice that dies replays at
//! most the pages after it, and counts them once.

use es_client::{BulkAction, BulkReport, EsError, WriteResult};
use tracing::warn;

use crate::checkpoint::{Checkpoint, Counters, Phase};
use crate::engine::is_transient;
use crate::error_budget::{ErrorBudget, ErrorBudgetConfig};
use crate::sink::Sink;

/// The running totals of a slice, including the operations past the checkpoint's last page.
#[derive(Debug, Default)]
pub(crate) struct Ledger {
    pub counters: Counters,
    pub budget: ErrorBudget,
    config: ErrorBudgetConfig,
    /// Whether `update`s write documents (access-control syncs upsert identities) rather than
    /// touch them (incremental syncs keep unchanged documents alive).
    updates_write: bool,
}

/// Why a report stops the slice.
#[derive(Debug)]
pub(crate) enum Refusal {
    /// The whole request failed after the client's retries: Elasticsearch is not accepting
    /// writes. Nothing after the last acknowledged page is checkpointed; the slice is retried.
    Es(EsError),
    /// Operations still rejected with 429 or 5xx after the writer's retries: the slice runs
    /// again later, so the document is indexed or the job fails; it is never left out.
    Transient(String),
    /// The error budget is spent: the job fails with this message.
    Failed(String),
}

impl Ledger {
    /// Picks up where the checkpoint stands.
    pub fn new(cp: &Checkpoint, config: ErrorBudgetConfig) -> Self {
        Ledger {
            counters: cp.counters,
            budget: cp.budget.clone(),
            config,
            updates_write: false,
        }
    }

    /// Counts successful `update`s as indexed documents.
    pub fn with_updates_counted(mut self) -> Self {
        self.updates_write = true;
        self
    }

    /// Counts a request's outcomes (in push order) and charges failures to the error budget;
    /// pages whose operations are now all acknowledged become the checkpoint state.
    pub fn account(
        &mut self,
        sink: &mut Sink,
        report: BulkReport<String>,
        cp: &mut Checkpoint,
        job_id: &str,
    ) -> Result<(), Refusal> {
        if let Some(e) = report.request_error {
            return Err(Refusal::Es(e));
        }
        for item in &report.items {
            sink.acked_one();
            if item.is_success() {
                match item.action {
                    BulkAction::Delete => {
                        if item.result == Some(WriteResult::Deleted) {
                            self.counters.deleted += 1;
                        }
                    }
                    BulkAction::Update if !self.updates_write => {}
                    _ => {
                        self.counters.indexed += 1;
                        self.counters.bytes_sent += item.source_bytes as u64;
                    }
                }
                self.budget.track_success();
            } else if item.action == BulkAction::Update && item.status == 404 {
                // A touch of a document that is not in the index: nothing to keep alive.
            } else {
                let detail = item
                    .error
                    .as_ref()
                    .map(|e| format!("{}: {}", e.error_type, e.reason))
                    .unwrap_or_else(|| format!("status {}", item.status));
                let message = format!(
                    "Failed to {} document '{}': {detail}",
                    item.action.as_str(),
                    item.key
                );
                if is_transient(item.status) {
                    return Err(Refusal::Transient(format!(
                        "Elasticsearch kept rejecting operations (status {}): {message}",
                        item.status
                    )));
                }
                warn!(job_id, doc_id = %item.key, status = item.status, reason = %detail, "document rejected by Elasticsearch");
                self.counters.errors += 1;
                if let Err(exceeded) = self.budget.track_error(&self.config, message) {
                    return Err(Refusal::Failed(exceeded.0));
                }
            }
            self.commit_acked_pages(sink, cp);
        }
        Ok(())
    }

    /// Moves the checkpoint past every page whose operations are all acknowledged. The
    /// counters and error budget are exactly those of the operations up to that page.
    pub fn commit_acked_pages(&self, sink: &mut Sink, cp: &mut Checkpoint) {
        while let Some(page) = sink.pop_acked_page() {
            cp.counters = Counters {
                filtered: page.filtered,
                dropped: page.dropped,
                ..self.counters
            };
            cp.budget.clone_from(&self.budget);
            cp.pages += 1;
            if page.sync_cursor.is_some() {
                cp.sync_cursor = page.sync_cursor;
            }
            match page.next {
                Some(next) => cp.cursor = Some(next),
                None => {
                    cp.cursor = None;
                    cp.phase = Phase::Delete;
                }
            }
        }
    }
}
