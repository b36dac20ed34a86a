//! One slice of one sync job: the page loop. It lists the source page by page, turns items
//! into bulk operations (sync rules, downloads), hands them to the [`Sink`] and the reports to
//! the [`Ledger`], renews its lease while it waits, checkpoints, and pauses when its budget
//! runs out. Before the loop: `prepare.rs`; after it: `sweep.rs` and `ending.rs`.
//!
//! Exactly-once counts on top of at-least-once execution: counters and the source cursor are
//! persisted together, after the page's bulk operations are acknowledged; a crash replays at
//! most the pages since the last checkpoint, whose documents have deterministic ids.

use std::time::{Duration, Instant};

use connectors_protocol::rules::RuleEngine;
use connectors_protocol::{JobType, SyncJob, SyncStatus, Timestamp};
use connectors_sdk::{
    BuildContext, PageRequest, SYNC_STAMP_FIELD, SourceItem, SyncMode, normalise_id_text,
};
use es_client::{BulkOptions, BulkReport, BulkWriter, EsError, SeqNo};
use futures_util::StreamExt;
use serde_json::json;
use tracing::{debug, info, warn};

use crate::checkpoint::{
    Checkpoint, Lease, Partitions, Phase, all_listed, partitions_from_metadata,
};
use crate::content::ContentRules;
use crate::document::{JsonAppendix, acl, prepare};
use crate::engine::{Budget, Engine, EngineError, SliceOutcome, lease_until};
use crate::ledger::{Ledger, Refusal};
use crate::sink::{PageMark, Sink};
use crate::store::{ReadError, WriteError};

/// How a running slice ends, internally.
pub(crate) enum Stop {
    Failed(String),
    Canceled,
    /// Lost the lease or the job changed hands: leave everything alone.
    Lost(String),
    Es(EsError),
    /// Operations were rejected for a reason that may pass (429, 5xx): retry the slice.
    Transient(String),
}

impl From<EsError> for Stop {
    fn from(e: EsError) -> Self {
        Stop::Es(e)
    }
}

/// One slice of one job.
pub(crate) struct Run<'e> {
    pub(crate) engine: &'e Engine,
    pub(crate) job_id: String,
    pub(crate) job: SyncJob,
    pub(crate) seq: SeqNo,
    pub(crate) cp: Checkpoint,
    /// The slice number this run works on (the checkpoint's at the start).
    pub(crate) slice: u64,
    pub(crate) last_check: Instant,
    /// When the checkpoint was last written, and how many pages it held.
    pub(crate) last_checkpoint: Instant,
    pub(crate) checkpointed_pages: u64,
    /// Counters and error budget of every acknowledged operation, including those past the
    /// checkpoint's last page.
    pub(crate) ledger: Ledger,
    /// The partition this run lists (`cp` is then the partition's checkpoint), or `None` for
    /// the job itself.
    pub(crate) partition: Option<u32>,
    /// The job's partitions as of the last read or write of the job document.
    pub(crate) parts: Partitions,
    /// The job's own checkpoint as of the last read, when this run is a partition's.
    pub(crate) job_cp: Option<Checkpoint>,
}

impl<'e> Run<'e> {
    pub(crate) fn new(
        engine: &'e Engine,
        job_id: &str,
        job: SyncJob,
        seq: SeqNo,
        cp: Checkpoint,
    ) -> Self {
        let slice = cp.slice;
        let ledger = Ledger::new(&cp, engine.config.error_budget);
        let parts = partitions_from_metadata(job.metadata.as_ref());
        Run {
            partition: None,
            parts,
            job_cp: None,
            engine,
            job_id: job_id.to_string(),
            job,
            seq,
            cp,
            slice,
            last_check: Instant::now(),
            last_checkpoint: Instant::now(),
            checkpointed_pages: 0,
            ledger,
        }
    }

    pub(crate) fn index(&self) -> Result<String, Stop> {
        self.job
            .connector
            .index_name
            .clone()
            .filter(|i| !i.is_empty())
            .ok_or_else(|| Stop::Failed("The sync job has no index name.".into()))
    }

    /// Runs the slice and turns every ending into an outcome; failures of the job end it.
    /// Transient failures (Elasticsearch unavailable, operations rejected with 429 or 5xx) give
    /// the job back at once, for the caller to run the slice again after a short back-off.
    pub(crate) async fn execute(&mut self, budget: &Budget) -> Result<SliceOutcome, EngineError> {
        let result = self.run(budget).await;
        let ending = match result {
            Ok(outcome) => return Ok(outcome),
            Err(stop) => stop,
        };
        let error = match ending {
            Stop::Es(e) => EngineError::Es(e),
            Stop::Transient(why) => EngineError::Transient(why),
            other => return Ok(self.end(other).await),
        };
        warn!(job_id = %self.job_id, error = %error, "slice stopped by a transient failure; the job is released for a retry");
        self.release().await;
        Err(error)
    }

    /// Releases the lease after a transient failure (one attempt: Elasticsearch may be the
    /// failure), so that any worker may retry the job at once rather than after the lease.
    async fn release(&mut self) {
        if self.cp.lease.is_none() {
            return;
        }
        self.cp.lease = None;
        let partial = json!({ "metadata": self.metadata_patch() });
        if let Ok(seq) = self
            .engine
            .store
            .checkpoint_job(&self.job_id, &partial, self.seq)
            .await
        {
            self.seq = seq;
        }
    }

    /// Records how a slice ended for good (failed, canceled, or lost to another worker).
    async fn end(&mut self, ending: Stop) -> SliceOutcome {
        let outcome = match ending {
            Stop::Failed(message) => {
                let message = self.failure_message(message);
                warn!(job_id = %self.job_id, error = %message, "sync job failed");
                self.terminate(SyncStatus::Error, Some(message), None)
                    .await
                    .map(|_| SliceOutcome::Finished(SyncStatus::Error))
            }
            Stop::Canceled => {
                info!(job_id = %self.job_id, "sync job canceled");
                self.terminate(SyncStatus::Canceled, None, None)
                    .await
                    .map(|_| SliceOutcome::Finished(SyncStatus::Canceled))
            }
            Stop::Lost(why) => {
                info!(job_id = %self.job_id, reason = %why, "stopping: the job is no longer ours");
                Ok(SliceOutcome::Busy(why))
            }
            Stop::Es(e) => Err(e),
            Stop::Transient(why) => Ok(SliceOutcome::Busy(why)),
        };
        match outcome {
            Ok(o) => o,
            // Elasticsearch failed while recording the end: leave the job to be retried; the
            // checkpoint still names the last acknowledged page.
            Err(e) => {
                warn!(job_id = %self.job_id, error = %e, "could not record the end of the slice");
                SliceOutcome::Busy(format!("Elasticsearch: {e}"))
            }
        }
    }

    async fn run(&mut self, budget: &Budget) -> Result<SliceOutcome, Stop> {
        let config = self.engine.config.clone();
        // Take (or extend) the lease for this slice.
        self.cp.lease = Some(Lease {
            owner: self.engine.owner.clone(),
            until: lease_until(config.lease_ttl),
        });
        self.checkpoint().await?;

        let connector_features = self
            .engine
            .store
            .connector(&self.job.connector.id)
            .await
            .ok()
            .flatten()
            .map(|c| c.doc.features());
        let context = BuildContext {
            document_level_security: connector_features
                .as_ref()
                .is_some_and(|f| f.document_level_security_enabled()),
        };
        let source = self.prepare(context).await?;
        // Preparing took a few requests: renew the lease if it is due.
        self.check_job().await?;
        let index = self.index()?;
        let pipeline = self.job.connector.pipeline();
        let access_control = self.job.job_type == JobType::AccessControl;
        // Access-control syncs apply no sync rules, as in the reference.
        let active = match access_control {
            true => None,
            false => self.job.connector.active_filtering().map_err(|e| {
                Stop::Failed(format!("The sync job's sync rules cannot be read: {e}"))
            })?,
        };
        let descriptor_features = self.descriptor_features()?;
        let rules = match (&active, connector_features.as_ref()) {
            (Some(a), Some(f)) if f.basic_rules_enabled() => RuleEngine::new(&a.rules),
            (Some(a), None) if descriptor_features.basic_rules => RuleEngine::new(&a.rules),
            _ => RuleEngine::default(),
        };
        let advanced = active
            .as_ref()
            .filter(|a| a.advanced_snippet.is_set() && descriptor_features.advanced_rules)
            .map(|a| a.advanced_snippet.value.clone());
        if let Some(outcome) = self
            .partition_step(source.as_ref(), advanced.as_ref())
            .await?
        {
            return Ok(outcome);
        }
        let sync_cursor = self.job.connector.sync_cursor.clone();
        let mode = match self.job.job_type {
            JobType::Incremental => SyncMode::Incremental {
                sync_cursor: sync_cursor.as_ref(),
            },
            _ => SyncMode::Full,
        };
        let extract_content = pipeline.extract_binary_content;
        let content_rules = ContentRules::for_job(
            &config.extraction,
            &pipeline,
            &self.job.connector.configuration,
        );
        let writer: BulkWriter<String> = self.engine.es().bulk_writer(
            BulkOptions::default()
                .pipeline(pipeline.name.clone())
                .max_ops(config.bulk_max_ops)
                .max_bytes(config.bulk_max_bytes)
                .item_retry(config.bulk_item_retry),
        );
        let mut sink = Sink::new(writer, config.bulk_max_concurrency);
        let ledger = Ledger::new(&self.cp, config.error_budget);
        self.ledger = match access_control {
            true => ledger.with_updates_counted(),
            false => ledger,
        };
        let mut cursor = self.cp.cursor.clone();
        let mut listed = self.cp.phase != Phase::Extract;
        let mut slowest_page = Duration::ZERO;
        // Every slice processes at least one page, so a budget too small for a page still
        // makes progress.
        let mut pages_this_slice = 0u64;

        while !listed {
            if pages_this_slice > 0
                && (budget.stop_requested() || Instant::now() + slowest_page * 2 > budget.deadline)
            {
                self.settle(&mut sink).await?;
                return self.pause().await;
            }
            self.check_job().await?;
            let started = Instant::now();
            let request = PageRequest {
                cursor: cursor.as_ref(),
                mode,
                advanced_rules: advanced.as_ref(),
                page_size: config.page_size,
            };
            let fetch = |request| match access_control {
                true => source.fetch_access_control_page(request),
                false => source.fetch_page(request),
            };
            let fetched = if pages_this_slice == 0 {
                Some(self.renewing(fetch(request)).await?)
            } else {
                let page_or_deadline = async {
                    tokio::select! {
                        page = fetch(request) => Some(page),
                        _ = tokio::time::sleep_until(budget.deadline.into()) => None,
                    }
                };
                self.renewing(page_or_deadline).await?
            };
            let Some(page) = fetched else {
                self.settle(&mut sink).await?;
                return self.pause().await;
            };
            let page = match page {
                Ok(page) => page,
                Err(e) => {
                    // What was already sent is acknowledged and counted before the job ends,
                    // so its counts match the index.
                    self.settle(&mut sink).await?;
                    return Err(Stop::Failed(format!("The source failed: {e}")));
                }
            };
            let stamp = self.job_id.clone();
            let now = Timestamp::now();
            let mut downloads = Vec::new();
            let appendix = JsonAppendix::new(&pipeline, &stamp, now);
            for item in page.items {
                // Sync rules read fields: documents written as JSON are read back into a map.
                let item = match item {
                    SourceItem::Json(doc) if !rules.is_empty() || access_control => {
                        match doc.to_document() {
                            Ok(doc) => SourceItem::Upsert(doc),
                            Err(e) => {
                                warn!(job_id = %self.job_id, doc_id = %doc.id, error = %e, "skipping a document the source wrote as invalid JSON");
                                self.ledger.counters.dropped += 1;
                                continue;
                            }
                        }
                    }
                    item => item,
                };
                match item {
                    SourceItem::Unreadable(scope) => self.unreadable(scope),
                    SourceItem::Json(doc) => {
                        let Some(id) = normalise_id_text(&doc.id) else {
                            warn!(job_id = %self.job_id, "skipping a document without '_id'");
                            self.ledger.counters.dropped += 1;
                            continue;
                        };
                        self.push(&mut sink, |w| {
                            w.push_index_with(&index, Some(&id), id.clone(), |out| {
                                appendix.write(&doc, &id, out)
                            })
                        })
                        .await?
                    }
                    SourceItem::Upsert(doc) if access_control => {
                        let Some(identity) = acl::prepare(doc.fields, &stamp, now) else {
                            warn!(job_id = %self.job_id, "skipping an identity without '_id'");
                            self.ledger.counters.dropped += 1;
                            continue;
                        };
                        self.push(&mut sink, |w| {
                            w.push_upsert(
                                &index,
                                &identity.id,
                                &identity.doc,
                                &identity.upsert,
                                identity.id.clone(),
                            )
                        })
                        .await?
                    }
                    SourceItem::Upsert(doc) => {
                        let handle = doc.download.clone();
                        let Some(prepared) = prepare(doc.fields, &pipeline, &stamp, now) else {
                            warn!(job_id = %self.job_id, "skipping a document without '_id'");
                            self.ledger.counters.dropped += 1;
                            continue;
                        };
                        if !rules.is_empty() && !rules.should_ingest(&prepared.source) {
                            self.ledger.counters.filtered += 1;
                            continue;
                        }
                        match handle.filter(|_| extract_content) {
                            Some(h) => downloads.push((prepared, h)),
                            None => {
                                self.push(&mut sink, |w| {
                                    w.push_index(
                                        &index,
                                        Some(&prepared.id),
                                        &prepared.source,
                                        prepared.id.clone(),
                                    )
                                })
                                .await?
                            }
                        }
                    }
                    SourceItem::Unchanged(id) => {
                        let touch = json!({ SYNC_STAMP_FIELD: stamp });
                        self.push(&mut sink, |w| {
                            w.push_update(&index, &id, &touch, false, id.clone())
                        })
                        .await?
                    }
                    SourceItem::Delete(id) => {
                        self.push(&mut sink, |w| w.push_delete(&index, &id, id.clone()))
                            .await?
                    }
                }
            }
            if !downloads.is_empty() {
                let src = source.as_ref();
                let rules = &content_rules;
                let mut results = futures_util::stream::iter(downloads.into_iter().map(
                    |(mut doc, handle)| async move {
                        let content = src.download(&handle).await;
                        let content = match content {
                            Ok(Some(c)) => {
                                rules.merge(&doc.id, &mut doc.source, c).await;
                                Ok(())
                            }
                            Ok(None) => Ok(()),
                            Err(e) => Err(e),
                        };
                        (doc, content)
                    },
                ))
                .buffered(config.concurrent_downloads.max(1));
                while let Some((doc, content)) = self.renewing(results.next()).await? {
                    if let Err(e) = content {
                        // The reference drops a document whose download failed.
                        warn!(job_id = %self.job_id, doc_id = %doc.id, error = %e, "download failed; document skipped");
                        self.ledger.counters.dropped += 1;
                        continue;
                    }
                    self.push(&mut sink, |w| {
                        w.push_index(&index, Some(&doc.id), &doc.source, doc.id.clone())
                    })
                    .await?;
                }
            }
            listed = page.next.is_none();
            cursor.clone_from(&page.next);
            sink.end_page(PageMark {
                next: page.next,
                sync_cursor: page.sync_cursor,
                filtered: self.ledger.counters.filtered,
                dropped: self.ledger.counters.dropped,
            });
            self.ledger.commit_acked_pages(&mut sink, &mut self.cp);
            self.pump(&mut sink).await?;
            pages_this_slice += 1;
            slowest_page = slowest_page.max(started.elapsed());
            debug!(job_id = %self.job_id, pages = self.cp.pages, indexed = self.cp.counters.indexed, "page done");
        }
        if self.cp.phase == Phase::Extract {
            // The last page is listed: wait for every request, then record the end of the
            // listing before deleting anything.
            self.settle(&mut sink).await?;
            debug_assert_eq!(self.cp.phase, Phase::Delete);
            self.checkpoint().await?;
        }
        drop(sink);
        if self.partition.is_some() {
            // This partition is listed: the worker that lists the last one goes on with the
            // job (merge, sweep, end); the others stop here.
            if let Some(outcome) = self.partition_listed(source.as_ref()).await? {
                return Ok(outcome);
            }
        }

        // The deletion phase: what this sync did not write is stale.
        let sweep = match self.job.job_type {
            JobType::Full => true,
            JobType::Incremental => source.incremental_lists_everything(),
            // Identities the source no longer lists are deleted.
            JobType::AccessControl => true,
        };
        if sweep && !self.sweep(&index, budget).await? {
            return self.pause().await;
        }
        self.terminate(SyncStatus::Completed, None, Some(&index))
            .await
            .map_err(Stop::Es)?;
        Ok(SliceOutcome::Finished(SyncStatus::Completed))
    }

    /// Time is up: save the checkpoint for the next slice and release the lease.
    pub(crate) async fn pause(&mut self) -> Result<SliceOutcome, Stop> {
        self.cp.slice = self.slice + 1;
        self.cp.lease = None;
        let result = self.checkpoint().await;
        if result.is_err() {
            // Keep the slice number we hold for any retry within this run.
            self.cp.slice = self.slice;
        }
        result?;
        info!(job_id = %self.job_id, partition = ?self.partition, next_slice = self.cp.slice, pages = self.cp.pages, "slice done; continuing later");
        Ok(match self.partition {
            Some(p) => SliceOutcome::Spread(vec![crate::queue::JobMessage::for_partition(
                &self.job_id,
                p,
                self.cp.slice,
            )]),
            None => SliceOutcome::Continue {
                next_slice: self.cp.slice,
            },
        })
    }

    /// Pushes one operation; launches full requests as they fill up.
    async fn push(
        &mut self,
        sink: &mut Sink,
        op: impl FnOnce(&mut BulkWriter<String>) -> Result<bool, EsError>,
    ) -> Result<(), Stop> {
        if sink.push(op)? {
            self.pump(sink).await?;
        }
        Ok(())
    }

    /// Accounts the reports that came back, launches the full requests (waiting for the oldest
    /// one while `max_in_flight` are out), and writes a checkpoint when one is due.
    async fn pump(&mut self, sink: &mut Sink) -> Result<(), Stop> {
        while let Some(report) = sink.finished() {
            self.account(sink, report?)?;
        }
        while sink.has_ready() {
            while !sink.has_room() {
                if let Some(report) = self.renewing(sink.next_report()).await? {
                    self.account(sink, report?)?;
                }
            }
            sink.launch_ready();
        }
        if self.cp.pages != self.checkpointed_pages
            && self.last_checkpoint.elapsed() >= self.engine.config.checkpoint_interval
        {
            self.checkpoint().await?;
        }
        Ok(())
    }

    /// Sends everything buffered and waits for every answer: afterwards the checkpoint state
    /// covers every page listed so far.
    async fn settle(&mut self, sink: &mut Sink) -> Result<(), Stop> {
        sink.end_request();
        self.pump(sink).await?;
        while let Some(report) = self.renewing(sink.next_report()).await? {
            self.account(sink, report?)?;
        }
        Ok(())
    }

    /// Hands a report to the ledger; what it refuses stops the slice.
    fn account(&mut self, sink: &mut Sink, report: BulkReport<String>) -> Result<(), Stop> {
        self.ledger
            .account(sink, report, &mut self.cp, &self.job_id)
            .map_err(|refusal| match refusal {
                Refusal::Es(e) => Stop::Es(e),
                Refusal::Transient(why) => Stop::Transient(why),
                Refusal::Failed(why) => Stop::Failed(why),
            })
    }

    /// Re-reads the job every `check_interval`: cancelation, deletion, and whether it is still
    /// ours. Refreshes `last_seen` on the way (the heartbeat).
    pub(crate) async fn check_job(&mut self) -> Result<(), Stop> {
        if self.last_check.elapsed() < self.renew_every() {
            return Ok(());
        }
        self.last_check = Instant::now();
        let connector_id = self.job.connector.id.clone();
        match self.engine.store.connector(&connector_id).await {
            Ok(Some(c)) if !c.doc.is_deleted() => {}
            Ok(_) => {
                return Err(Stop::Failed(format!(
                    "Connector is not found for connector ID {connector_id}."
                )));
            }
            Err(ReadError::Es(e)) => return Err(Stop::Es(e)),
            Err(ReadError::Unreadable(u)) => return Err(Stop::Failed(u.to_string())),
        }
        self.checkpoint().await
    }

    /// Persists the checkpoint (and `last_seen`, counters) if the job is still ours. Also the
    /// job's heartbeat.
    pub(crate) async fn checkpoint(&mut self) -> Result<(), Stop> {
        self.write_checkpoint(None).await
    }

    /// [`Run::checkpoint`], with more members of `metadata` written alongside. A write that
    /// loses a race is tried again from the job as it now is, while the job is still ours; a
    /// partition's write replaces only its own member of `metadata.partitions`, so racing
    /// partitions never overwrite each other.
    pub(crate) async fn write_checkpoint(
        &mut self,
        extra_metadata: Option<&serde_json::Map<String, serde_json::Value>>,
    ) -> Result<(), Stop> {
        use std::sync::atomic::Ordering::Relaxed;
        let ttl = self.engine.config.lease_ttl;
        if let Some(lease) = self.cp.lease.as_mut()
            && lease.owner == self.engine.owner
        {
            lease.until = lease_until(ttl);
        }
        // Partitions of one job write one document: races are expected, and each is retried
        // from fresh state.
        let max_tries = if self.partition.is_some() { 50 } else { 3 };
        let mut tries = 0;
        loop {
            let mut metadata = self.metadata_patch();
            if let (Some(extra), Some(m)) = (extra_metadata, metadata.as_object_mut()) {
                m.extend(extra.iter().map(|(k, v)| (k.clone(), v.clone())));
            }
            let counters = self.total_counters();
            let partial = json!({
                "last_seen": Timestamp::now(),
                "indexed_document_count": counters.indexed,
                "indexed_document_volume": counters.volume_mib(),
                "deleted_document_count": counters.deleted,
                "metadata": metadata,
            });
            let result = self
                .engine
                .store
                .checkpoint_job(&self.job_id, &partial, self.seq)
                .await;
            if self.partition.is_some() {
                self.engine.contention.writes.fetch_add(1, Relaxed);
            }
            match result {
                Ok(seq) => {
                    self.seq = seq;
                    self.last_checkpoint = Instant::now();
                    self.checkpointed_pages = self.cp.pages;
                    if let Some(p) = self.partition {
                        self.parts.insert(p, self.cp.clone());
                    }
                    return Ok(());
                }
                Err(WriteError::Conflict) if tries < max_tries => {
                    tries += 1;
                    if self.partition.is_some() {
                        self.engine.contention.conflicts.fetch_add(1, Relaxed);
                    }
                    self.reload_owned().await?;
                }
                Err(WriteError::Conflict) => {
                    return Err(Stop::Lost("the job document keeps changing".into()));
                }
                Err(WriteError::Es(e)) => return Err(Stop::Es(e)),
            }
        }
    }

    /// Waits for `work` while keeping the job's lease alive: every `check_interval` the
    /// checkpoint is written again, renewing the lease, so a worker that waits on a slow
    /// source, bulk retries or a long deletion is never taken for dead.
    pub(crate) async fn renewing<T>(
        &mut self,
        work: impl std::future::Future<Output = T>,
    ) -> Result<T, Stop> {
        let mut work = std::pin::pin!(work);
        let every = self.renew_every().max(Duration::from_millis(100));
        loop {
            tokio::select! {
                out = &mut work => return Ok(out),
                _ = tokio::time::sleep(every) => self.checkpoint().await?,
            }
        }
    }

    /// How often the job is re-read and the lease renewed: `check_interval`, and at least
    /// three times per lease.
    fn renew_every(&self) -> Duration {
        let config = &self.engine.config;
        if config.lease_ttl.is_zero() {
            config.check_interval
        } else {
            config.check_interval.min(config.lease_ttl / 3)
        }
    }

    /// Records a part of the source that could not be read: its documents are not swept.
    pub(crate) fn unreadable(&mut self, scope: connectors_sdk::UnreadScope) {
        warn!(job_id = %self.job_id, field = %scope.field, value = %scope.value, prefix = scope.prefix, reason = %scope.reason, "part of the source could not be read; its documents are kept");
        if !self.cp.unread.iter().any(|u| u.same_scope(&scope)) {
            self.cp.unread.push(scope);
        }
    }

    /// After a conflict: re-reads the job and checks it is still ours (status, lease, slice,
    /// progress); takes the new version token if so.
    async fn reload_owned(&mut self) -> Result<(), Stop> {
        let job = match self.engine.store.job(&self.job_id).await {
            Ok(Some(j)) => j,
            Ok(None) => return Err(Stop::Lost("the job was deleted".into())),
            Err(ReadError::Es(e)) => return Err(Stop::Es(e)),
            Err(ReadError::Unreadable(u)) => return Err(Stop::Failed(u.to_string())),
        };
        match job.doc.status {
            SyncStatus::InProgress => {}
            SyncStatus::Canceling => {
                self.job.status = SyncStatus::Canceling;
                return Err(Stop::Canceled);
            }
            other => return Err(Stop::Lost(format!("the job is now {other}"))),
        }
        let theirs = Checkpoint::from_metadata(job.doc.metadata.as_ref());
        let parts = partitions_from_metadata(job.doc.metadata.as_ref());
        let held = |c: &Checkpoint| {
            c.lease.as_ref().map(|l| &l.owner) == Some(&self.engine.owner) && c.slice == self.slice
        };
        // A split job whose partitions are all listed waits, unleased, for whoever merges it.
        let awaiting_join = |c: &Checkpoint| {
            c.is_fanned_out()
                && c.lease.is_none()
                && c.slice == self.slice
                && all_listed(&parts, c.partitions)
        };
        // A partition's first write of a slice takes its lease: until then the partition is
        // ours while nobody else leased it or moved it on since this run read it.
        let untouched = |p: u32, c: &Checkpoint| {
            let known = self.parts.get(&p);
            c.slice == self.slice
                && c.live_lease_of_other(&self.engine.owner).is_none()
                && known.is_some_and(|k| k.pages == c.pages && k.cursor == c.cursor)
        };
        let ours = match self.partition {
            Some(p) => parts.get(&p).is_some_and(|c| held(c) || untouched(p, c)),
            None => {
                theirs.as_ref().is_some_and(|c| held(c) || awaiting_join(c))
                    || (theirs.is_none() && self.cp.pages == 0)
            }
        };
        if !ours {
            return Err(Stop::Lost("another worker took the job over".into()));
        }
        self.parts = parts;
        if self.partition.is_some() {
            self.job_cp = theirs;
        }
        self.seq = job.seq;
        Ok(())
    }
}
