//! Running a sync job in slices.
//!
//! [`Engine::run_slice`] advances one job until its time budget runs out, then persists a
//! checkpoint in the job document and answers [`SliceOutcome::Continue`]; any worker in any
//! process can run the next slice. The job lifecycle is the reference's (`sync_job_runner.py`):
//! the connector's `last_sync_status` lock, `_claim`, validation, heartbeats, cancelation, and the
//! final updates of the job and the connector.
//!
//! Exactly-once counts on top of at-least-once execution: counters and the source cursor are
//! persisted together, after the page's bulk operations are acknowledged; a crash replays at
//! most the pages since the last checkpoint, whose documents have deterministic ids.

use std::sync::Arc;
use std::time::{Duration, Instant};

use connectors_protocol::{
    ConnectorStatus, FilteringRules, JobType, SyncJob, SyncStatus, Timestamp, ValidationState,
    validate_configuration,
};
use es_client::{
    BulkAction, BulkOptions, BulkReport, BulkWriter, DeleteByQueryOptions, EsClient, EsError, SeqNo,
};
use futures_util::StreamExt;
use serde_json::{Map, Value, json};
use tokio::sync::watch;
use tracing::{Instrument, debug, info, warn};

use crate::checkpoint::{Checkpoint, Counters, Lease, METADATA_KEY, Phase};
use crate::document::{JsonAppendix, prepare};
use crate::error_budget::{ErrorBudget, ErrorBudgetConfig};
use crate::sink::{PageMark, Sink};
use crate::store::{ReadError, Store, Versioned, WriteError};
use connectors_protocol::rules::{RuleEngine, validate_basic_rules};
use connectors_sdk::{Content, DataSource, PageRequest, SourceItem, SourceRegistry, SyncMode};
use connectors_sdk::{SYNC_STAMP_FIELD, normalise_id_text};

/// Settings of the engine; the defaults follow the reference's `config.yml`.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// `worker_hostname` written by `_claim`.
    pub worker_hostname: String,
    /// Items asked of a source per page.
    pub page_size: usize,
    /// `elasticsearch.bulk.chunk_size`: operations per `_bulk` request.
    pub bulk_max_ops: usize,
    /// `elasticsearch.bulk.chunk_max_mem_size`: bytes per `_bulk` request.
    pub bulk_max_bytes: usize,
    /// `elasticsearch.bulk.max_concurrency`: `_bulk` requests in flight at once.
    pub bulk_max_concurrency: usize,
    /// `elasticsearch.bulk.concurrent_downloads`.
    pub concurrent_downloads: usize,
    /// Retries of bulk items answered 429 or 5xx.
    pub bulk_item_retry: es_client::RetryPolicy,
    pub error_budget: ErrorBudgetConfig,
    /// How often a running job is re-read (cancelation) and its `last_seen` refreshed; the
    /// reference checks every 5 s and reports every 10 s.
    pub check_interval: Duration,
    /// The shortest time between two checkpoint writes while pages keep completing (a slice
    /// always writes one when it pauses or finishes listing). A worker that dies redoes at most
    /// this much work.
    pub checkpoint_interval: Duration,
    /// How long a worker's lease on a job lasts unless renewed. A live worker renews it with
    /// every heartbeat and checkpoint, and while it waits on long operations, so it is never
    /// taken over; a worker that dies is replaced once this much time has passed.
    pub lease_ttl: Duration,
    /// Stale documents deleted per `_delete_by_query` request of the deletion sweep: the sweep
    /// checks for a stop or its deadline between requests, and resumes where it was.
    pub delete_batch: u64,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            worker_hostname: default_hostname(),
            page_size: 100,
            bulk_max_ops: 500,
            bulk_max_bytes: 3 * 1024 * 1024,
            bulk_max_concurrency: 5,
            concurrent_downloads: 10,
            bulk_item_retry: es_client::RetryPolicy::default(),
            error_budget: ErrorBudgetConfig::default(),
            check_interval: Duration::from_secs(5),
            checkpoint_interval: Duration::from_secs(1),
            lease_ttl: Duration::from_secs(60),
            delete_batch: 10_000,
        }
    }
}

fn default_hostname() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| {
            std::fs::read_to_string("/etc/hostname")
                .ok()
                .map(|s| s.trim().to_string())
        })
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "connectors-rs".to_string())
}

/// When a slice must stop.
#[derive(Debug, Clone)]
pub struct Budget {
    pub deadline: Instant,
    /// Flips to `true` when the process is asked to stop (SIGTERM): checkpoint and return.
    pub stop: Option<watch::Receiver<bool>>,
}

impl Budget {
    pub fn until(deadline: Instant) -> Self {
        Budget {
            deadline,
            stop: None,
        }
    }

    pub fn for_duration(d: Duration) -> Self {
        Self::until(Instant::now() + d)
    }

    fn stop_requested(&self) -> bool {
        self.stop.as_ref().is_some_and(|s| *s.borrow())
    }
}

/// What a slice achieved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SliceOutcome {
    /// The job ended in this slice, in this status.
    Finished(SyncStatus),
    /// The budget ran out (or a stop was asked); the checkpoint is saved and slice
    /// `next_slice` should run next.
    Continue { next_slice: u64 },
    /// Nothing to do for this request: the job is finished, gone, or further along.
    Stale(String),
    /// Someone else holds the job or the connector's sync lock; try again later.
    Busy(String),
}

/// Failures that are not the job's fault (Elasticsearch unreachable, ...): the slice can be
/// retried as it is.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error("Elasticsearch: {0}")]
    Es(#[from] EsError),
    #[error(transparent)]
    Read(#[from] crate::store::Unreadable),
    #[error(transparent)]
    Queue(#[from] crate::queue::QueueError),
    /// A guarded write lost a race that the caller does not retry.
    #[error("{0} changed while it was being updated")]
    Conflict(String),
    /// A transient failure of the slice (bulk items rejected with 429 or 5xx after their
    /// retries): the checkpoint holds, and the slice should run again after a short back-off.
    #[error("{0}")]
    Transient(String),
}

impl From<ReadError> for EngineError {
    fn from(e: ReadError) -> Self {
        match e {
            ReadError::Es(e) => EngineError::Es(e),
            ReadError::Unreadable(u) => EngineError::Read(u),
        }
    }
}

/// The sync engine: Elasticsearch, the sources, the settings.
#[derive(Clone)]
pub struct Engine {
    store: Store,
    sources: Arc<SourceRegistry>,
    config: Arc<EngineConfig>,
    /// Lease owner: unique per engine instance.
    owner: String,
}

/// How a running slice ends, internally.
enum Stop {
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

impl Engine {
    pub fn new(es: EsClient, sources: Arc<SourceRegistry>, config: EngineConfig) -> Self {
        let owner = format!(
            "{}/{}/{:016x}",
            config.worker_hostname,
            std::process::id(),
            rand_u64()
        );
        Engine {
            store: Store::new(es),
            sources,
            config: Arc::new(config),
            owner,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn es(&self) -> &EsClient {
        self.store.es()
    }

    pub fn sources(&self) -> &SourceRegistry {
        &self.sources
    }

    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Runs slice `slice` of job `job_id` (`None`: whatever slice is current) within `budget`.
    pub async fn run_slice(
        &self,
        job_id: &str,
        slice: Option<u64>,
        budget: Budget,
    ) -> Result<SliceOutcome, EngineError> {
        let Some(job) = self.store.job(job_id).await? else {
            return Ok(SliceOutcome::Stale(format!(
                "sync job [{job_id}] not found"
            )));
        };
        let status = job.doc.status;
        let existing = Checkpoint::from_metadata(job.doc.metadata.as_ref());
        if let (Some(wanted), Some(cp)) = (slice, existing.as_ref())
            && wanted != cp.slice
            && !status.is_claimable()
        {
            return Ok(SliceOutcome::Stale(format!(
                "slice {wanted} is stale: the job is at slice {}",
                cp.slice
            )));
        }
        // Every log line of the slice carries the job and connector ids.
        let span = tracing::info_span!(
            "sync_job",
            job_id,
            connector_id = %job.doc.connector.id,
            slice = existing.as_ref().map_or(0, |c| c.slice)
        );
        async move {
            match status {
                s if s.is_terminal() => Ok(SliceOutcome::Stale(format!("sync job is {s}"))),
                SyncStatus::Canceling => self.cancel_idle(job_id, job, existing).await,
                SyncStatus::Pending | SyncStatus::Suspended => {
                    self.start(job_id, job, existing, budget).await
                }
                _ => self.resume(job_id, job, existing, budget).await,
            }
        }
        .instrument(span)
        .await
    }

    /// A `canceling` job with no live worker: finish it as `canceled`.
    async fn cancel_idle(
        &self,
        job_id: &str,
        job: Versioned<SyncJob>,
        existing: Option<Checkpoint>,
    ) -> Result<SliceOutcome, EngineError> {
        if let Some(lease) = existing.as_ref().and_then(|c| c.lease.as_ref())
            && lease.owner != self.owner
            && lease.until > Timestamp::now()
        {
            return Ok(SliceOutcome::Busy(format!(
                "sync job is leased to {}",
                lease.owner
            )));
        }
        let cp = existing.unwrap_or_default();
        let mut run = Run::new(self, job_id, job.doc, job.seq, cp);
        run.terminate(SyncStatus::Canceled, None, None).await?;
        Ok(SliceOutcome::Finished(SyncStatus::Canceled))
    }

    /// A pending or suspended job: lease it, take the connector's lock, claim, and run.
    async fn start(
        &self,
        job_id: &str,
        job: Versioned<SyncJob>,
        existing: Option<Checkpoint>,
        budget: Budget,
    ) -> Result<SliceOutcome, EngineError> {
        let connector_id = job.doc.connector.id.clone();
        let job_type = job.doc.job_type;
        // A suspended job keeps its checkpoint: it resumes instead of starting over.
        let mut cp = existing.unwrap_or_default();
        if let Some(lease) = &cp.lease
            && lease.owner != self.owner
            && lease.until > Timestamp::now()
        {
            return Ok(SliceOutcome::Busy(format!(
                "sync job is being started by {}",
                lease.owner
            )));
        }
        let Some(mut connector) = self.store.connector(&connector_id).await? else {
            let mut run = Run::new(self, job_id, job.doc, job.seq, cp);
            let msg = format!("Connector is not found for connector ID {connector_id}.");
            run.terminate(SyncStatus::Error, Some(msg), None).await?;
            return Ok(SliceOutcome::Finished(SyncStatus::Error));
        };
        if connector.doc.is_deleted() {
            let mut run = Run::new(self, job_id, job.doc, job.seq, cp);
            let msg = format!("Connector {connector_id} was deleted.");
            run.terminate(SyncStatus::Error, Some(msg), None).await?;
            return Ok(SliceOutcome::Finished(SyncStatus::Error));
        }
        // Lease the job before anything else, so two workers never both start it.
        cp.lease = Some(Lease {
            owner: self.owner.clone(),
            until: lease_until(self.config.lease_ttl),
        });
        let partial = json!({ "metadata": { METADATA_KEY: cp.to_value() } });
        let seq = match self.store.update_job(job_id, &partial, Some(job.seq)).await {
            Ok(seq) => seq,
            Err(WriteError::Conflict) => {
                return Ok(SliceOutcome::Busy(
                    "another worker is starting this job".into(),
                ));
            }
            Err(WriteError::Es(e)) => return Err(e.into()),
        };
        // sync_starts: the per-connector lock, guarded by the connector's seq_no (3 tries).
        let mut tries = 0;
        loop {
            if connector.doc.last_status_for(job_type) == Some(SyncStatus::InProgress)
                && self
                    .other_active_jobs(&connector_id, job_id, job_type)
                    .await?
                    > 0
            {
                // Release our lease so that the job can be started as soon as the lock is free.
                cp.lease = None;
                let partial = json!({ "metadata": { METADATA_KEY: cp.to_value() } });
                let _ = self.store.update_job(job_id, &partial, Some(seq)).await;
                return Ok(SliceOutcome::Busy(format!(
                    "A {} sync job is started for connector {connector_id} by another connector instance",
                    if job_type == JobType::AccessControl {
                        "access control"
                    } else {
                        "content"
                    }
                )));
            }
            let lock = if job_type == JobType::AccessControl {
                json!({"status": "connected", "error": null,
                       "last_access_control_sync_status": "in_progress",
                       "last_access_control_sync_error": null})
            } else {
                json!({"status": "connected", "error": null,
                       "last_sync_status": "in_progress", "last_sync_error": null})
            };
            match self
                .store
                .update_connector(&connector_id, &lock, Some(connector.seq))
                .await
            {
                Ok(_) => break,
                Err(WriteError::Conflict) if tries < 2 => {
                    tries += 1;
                    match self.store.connector(&connector_id).await? {
                        Some(c) => connector = c,
                        None => return Ok(SliceOutcome::Busy("connector vanished".into())),
                    }
                }
                Err(WriteError::Conflict) => {
                    return Ok(SliceOutcome::Busy(
                        "the connector kept changing while taking its sync lock".into(),
                    ));
                }
                Err(WriteError::Es(e)) => return Err(e.into()),
            }
        }
        let sync_cursor = (job_type == JobType::Incremental)
            .then(|| connector.doc.sync_cursor.clone())
            .flatten();
        self.es()
            .sync_jobs()
            .claim(job_id, &self.config.worker_hostname, sync_cursor.as_ref())
            .await?;
        let Some(job) = self.store.job(job_id).await? else {
            return Ok(SliceOutcome::Stale(
                "sync job deleted while claiming".into(),
            ));
        };
        let mut run = Run::new(self, job_id, job.doc, job.seq, cp);
        info!(job_id, connector_id = %connector_id, "claimed sync job");
        run.execute(&budget).await
    }

    /// Jobs of the connector's family, other than `job_id`, that a worker is running. A
    /// connector marked `in_progress` without any is a lock left by a worker that died.
    async fn other_active_jobs(
        &self,
        connector_id: &str,
        job_id: &str,
        job_type: JobType,
    ) -> Result<u64, EngineError> {
        let family: Vec<&str> = if job_type == JobType::AccessControl {
            vec!["access_control"]
        } else {
            vec!["full", "incremental"]
        };
        let query = json!({"bool": {
            "filter": [
                {"term": {"connector.id": connector_id}},
                {"terms": {"status": ["in_progress", "canceling"]}},
                {"terms": {"job_type": family}},
            ],
            "must_not": [{"ids": {"values": [job_id]}}],
        }});
        Ok(self
            .es()
            .count(connectors_protocol::SYNC_JOBS_INDEX, Some(&query))
            .await?)
    }

    /// An `in_progress` job: continue from its checkpoint if nobody holds it.
    async fn resume(
        &self,
        job_id: &str,
        job: Versioned<SyncJob>,
        existing: Option<Checkpoint>,
        budget: Budget,
    ) -> Result<SliceOutcome, EngineError> {
        let cp = match existing {
            Some(cp) => {
                if let Some(lease) = &cp.lease
                    && lease.owner != self.owner
                    && lease.until > Timestamp::now()
                {
                    return Ok(SliceOutcome::Busy(format!(
                        "sync job is leased to {} until {}",
                        lease.owner, lease.until
                    )));
                }
                cp
            }
            None => {
                // Claimed by someone who never checkpointed (another service, or a crash right
                // after claiming): take over only once it looks abandoned.
                let idle = job
                    .doc
                    .last_seen
                    .map(|t| Timestamp::now().0 - t.0)
                    .unwrap_or_default();
                if idle < chrono::Duration::seconds(300) {
                    return Ok(SliceOutcome::Busy(
                        "sync job is running without a checkpoint".into(),
                    ));
                }
                Checkpoint::new()
            }
        };
        let mut run = Run::new(self, job_id, job.doc, job.seq, cp);
        run.execute(&budget).await
    }

    /// Marks a job `suspended`, keeping its checkpoint, as the reference does on shutdown.
    pub async fn suspend(&self, job_id: &str) -> Result<bool, EngineError> {
        let Some(job) = self.store.job(job_id).await? else {
            return Ok(false);
        };
        if job.doc.status != SyncStatus::InProgress {
            return Ok(false);
        }
        let mut cp = Checkpoint::from_metadata(job.doc.metadata.as_ref()).unwrap_or_default();
        if cp.lease.as_ref().is_some_and(|l| l.owner != self.owner) {
            return Ok(false);
        }
        cp.lease = None;
        let mut run = Run::new(self, job_id, job.doc, job.seq, cp);
        run.terminate(SyncStatus::Suspended, None, None).await?;
        Ok(true)
    }

    /// Ends a job in `error` with `reason` (job and connector, as a failed sync does), keeping
    /// its checkpointed counts: for a job whose messages keep failing, so that they stop being
    /// retried. `false` if the job is gone or already finished.
    pub async fn fail_job(&self, job_id: &str, reason: &str) -> Result<bool, EngineError> {
        let Some(job) = self.store.job(job_id).await? else {
            return Ok(false);
        };
        if job.doc.status.is_terminal() {
            return Ok(false);
        }
        let cp = Checkpoint::from_metadata(job.doc.metadata.as_ref()).unwrap_or_default();
        let mut run = Run::new(self, job_id, job.doc, job.seq, cp);
        run.terminate(SyncStatus::Error, Some(reason.to_string()), None)
            .await?;
        Ok(true)
    }
}

/// The end of a lease taken or renewed now.
fn lease_until(ttl: Duration) -> Timestamp {
    Timestamp(Timestamp::now().0 + chrono::Duration::from_std(ttl).unwrap_or_default())
}

/// Whether a rejected operation may succeed later: Elasticsearch pushing back (429) or failing
/// on its side (5xx).
fn is_transient(status: u16) -> bool {
    status == 429 || status >= 500
}

fn rand_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default(),
    );
    h.finish()
}

/// One slice of one job.
struct Run<'e> {
    engine: &'e Engine,
    job_id: String,
    job: SyncJob,
    seq: SeqNo,
    cp: Checkpoint,
    /// The slice number this run works on (the checkpoint's at the start).
    slice: u64,
    last_check: Instant,
    /// When the checkpoint was last written, and how many pages it held.
    last_checkpoint: Instant,
    checkpointed_pages: u64,
    /// Counters and error budget of every acknowledged operation, including those past the
    /// checkpoint's last page.
    live: Live,
}

/// What the acknowledged operations added up to so far.
#[derive(Debug, Default)]
struct Live {
    counters: Counters,
    budget: ErrorBudget,
}

impl<'e> Run<'e> {
    fn new(engine: &'e Engine, job_id: &str, job: SyncJob, seq: SeqNo, cp: Checkpoint) -> Self {
        let slice = cp.slice;
        Run {
            engine,
            job_id: job_id.to_string(),
            job,
            seq,
            cp,
            slice,
            last_check: Instant::now(),
            last_checkpoint: Instant::now(),
            checkpointed_pages: 0,
            live: Live::default(),
        }
    }

    fn index(&self) -> Result<String, Stop> {
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
    async fn execute(&mut self, budget: &Budget) -> Result<SliceOutcome, EngineError> {
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
        let partial = json!({ "metadata": { METADATA_KEY: self.cp.to_value() } });
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

        let source = self.prepare().await?;
        // Preparing took a few requests: renew the lease if it is due.
        self.check_job().await?;
        let index = self.index()?;
        let pipeline = self.job.connector.pipeline();
        let active =
            self.job.connector.active_filtering().map_err(|e| {
                Stop::Failed(format!("The sync job's sync rules cannot be read: {e}"))
            })?;
        let descriptor_features = self.descriptor_features()?;
        let connector_features = self
            .engine
            .store
            .connector(&self.job.connector.id)
            .await
            .ok()
            .flatten()
            .map(|c| c.doc.features());
        let rules = match (&active, connector_features.as_ref()) {
            (Some(a), Some(f)) if f.basic_rules_enabled() => RuleEngine::new(&a.rules),
            (Some(a), None) if descriptor_features.basic_rules => RuleEngine::new(&a.rules),
            _ => RuleEngine::default(),
        };
        let advanced = active
            .as_ref()
            .filter(|a| a.advanced_snippet.is_set() && descriptor_features.advanced_rules)
            .map(|a| a.advanced_snippet.value.clone());
        let sync_cursor = self.job.connector.sync_cursor.clone();
        let mode = match self.job.job_type {
            JobType::Incremental => SyncMode::Incremental {
                sync_cursor: sync_cursor.as_ref(),
            },
            _ => SyncMode::Full,
        };
        let extract_content = pipeline.extract_binary_content;
        let writer: BulkWriter<String> = self.engine.es().bulk_writer(
            BulkOptions::default()
                .pipeline(pipeline.name.clone())
                .max_ops(config.bulk_max_ops)
                .max_bytes(config.bulk_max_bytes)
                .item_retry(config.bulk_item_retry),
        );
        let mut sink = Sink::new(writer, config.bulk_max_concurrency);
        self.live = Live {
            counters: self.cp.counters,
            budget: self.cp.budget.clone(),
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
            let fetched = if pages_this_slice == 0 {
                Some(self.renewing(source.fetch_page(request)).await?)
            } else {
                let page_or_deadline = async {
                    tokio::select! {
                        page = source.fetch_page(request) => Some(page),
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
                    SourceItem::Json(doc) if !rules.is_empty() => match doc.to_document() {
                        Ok(doc) => SourceItem::Upsert(doc),
                        Err(e) => {
                            warn!(job_id = %self.job_id, doc_id = %doc.id, error = %e, "skipping a document the source wrote as invalid JSON");
                            self.live.counters.dropped += 1;
                            continue;
                        }
                    },
                    item => item,
                };
                match item {
                    SourceItem::Unreadable(scope) => self.unreadable(scope),
                    SourceItem::Json(doc) => {
                        let Some(id) = normalise_id_text(&doc.id) else {
                            warn!(job_id = %self.job_id, "skipping a document without '_id'");
                            self.live.counters.dropped += 1;
                            continue;
                        };
                        self.push(&mut sink, |w| {
                            w.push_index_with(&index, Some(&id), id.clone(), |out| {
                                appendix.write(&doc, &id, out)
                            })
                        })
                        .await?
                    }
                    SourceItem::Upsert(doc) => {
                        let handle = doc.download.clone();
                        let Some(prepared) = prepare(doc.fields, &pipeline, &stamp, now) else {
                            warn!(job_id = %self.job_id, "skipping a document without '_id'");
                            self.live.counters.dropped += 1;
                            continue;
                        };
                        if !rules.is_empty() && !rules.should_ingest(&prepared.source) {
                            self.live.counters.filtered += 1;
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
                let mut results = futures_util::stream::iter(downloads.into_iter().map(
                    |(mut doc, handle)| async move {
                        let content = src.download(&handle).await;
                        if let Ok(Some(c)) = &content {
                            match c {
                                Content::Attachment(bytes) => {
                                    use base64::Engine as _;
                                    doc.source.insert(
                                        "_attachment".into(),
                                        Value::String(
                                            base64::engine::general_purpose::STANDARD.encode(bytes),
                                        ),
                                    );
                                }
                                Content::Body(text) => {
                                    doc.source
                                        .insert("body".into(), Value::String(text.clone()));
                                }
                            }
                        }
                        (doc, content)
                    },
                ))
                .buffered(config.concurrent_downloads.max(1));
                while let Some((doc, content)) = self.renewing(results.next()).await? {
                    if let Err(e) = content {
                        // The reference drops a document whose download failed.
                        warn!(job_id = %self.job_id, doc_id = %doc.id, error = %e, "download failed; document skipped");
                        self.live.counters.dropped += 1;
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
                filtered: self.live.counters.filtered,
                dropped: self.live.counters.dropped,
            });
            self.commit_acked_pages(&mut sink);
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

        // The deletion phase: what this sync did not write is stale.
        let sweep = match self.job.job_type {
            JobType::Full => true,
            JobType::Incremental => source.incremental_lists_everything(),
            JobType::AccessControl => false,
        };
        if sweep && !self.sweep(&index, budget).await? {
            return self.pause().await;
        }
        self.terminate(SyncStatus::Completed, None, Some(&index))
            .await
            .map_err(Stop::Es)?;
        Ok(SliceOutcome::Finished(SyncStatus::Completed))
    }

    /// The deletion sweep: deletes what this sync did not write, except the documents of the
    /// parts of the source it could not read, in batches of `delete_batch`, checking for a
    /// stop or the deadline between batches. `false` when it stopped before the end (the
    /// checkpoint says where it is; the next slice goes on).
    ///
    /// Counting every document is cheap (no query to run): what the deletion removed is the
    /// difference between counts, which stays exact when a slice dies during the deletion and
    /// the next one runs it again.
    async fn sweep(&mut self, index: &str, budget: &Budget) -> Result<bool, Stop> {
        self.check_job().await?;
        let mut keep = vec![json!({"term": {SYNC_STAMP_FIELD: self.job_id}})];
        // The field may be mapped as text with a keyword sub-field (dynamic mapping) or as a
        // keyword: either term matches.
        keep.extend(self.cp.unread.iter().map(|u| {
            json!({"bool": {"should": [
                {"term": {u.field.as_str(): u.value}},
                {"term": {format!("{}.keyword", u.field): u.value}},
            ]}})
        }));
        let stale_query = json!({"bool": {"must_not": keep}});
        let engine = self.engine;
        let mut before = match self.cp.before_delete {
            Some(n) => n,
            None => {
                engine.es().refresh(index).await?;
                let n = engine.es().count(index, None).await?;
                self.cp.before_delete = Some(n);
                self.checkpoint().await?;
                n
            }
        };
        let batch = engine.config.delete_batch.max(1);
        let options = DeleteByQueryOptions {
            conflicts_proceed: true,
            refresh: true,
            max_docs: Some(batch),
            ..Default::default()
        };
        loop {
            let deleted = self
                .renewing(engine.es().delete_by_query(index, &stale_query, &options))
                .await??;
            let after = engine.es().count(index, None).await?;
            self.cp.counters.deleted += before.saturating_sub(after);
            self.cp.before_delete = Some(after);
            before = after;
            let more = deleted.deleted + deleted.version_conflicts >= batch;
            if !more {
                return Ok(true);
            }
            if budget.stop_requested() || Instant::now() >= budget.deadline {
                debug!(job_id = %self.job_id, deleted = self.cp.counters.deleted, "deletion sweep paused");
                return Ok(false);
            }
            self.check_job().await?;
        }
    }

    fn descriptor_features(&self) -> Result<connectors_sdk::SourceFeatures, Stop> {
        let service_type = self.job.connector.service_type.as_deref().unwrap_or("");
        self.engine
            .sources
            .get(service_type)
            .map(|d| d.features())
            .ok_or_else(|| Stop::Failed(format!("Unsupported service type '{service_type}'.")))
    }

    /// Builds and validates the source from the job's snapshot, as the reference does at the
    /// start of every job; here at the start of every slice (a source may have gone away).
    async fn prepare(&mut self) -> Result<Box<dyn DataSource>, Stop> {
        let service_type = self.job.connector.service_type.clone().unwrap_or_default();
        let Some(descriptor) = self.engine.sources.get(&service_type) else {
            return Err(Stop::Failed(format!(
                "Unsupported service type '{service_type}': this deployment serves {:?}.",
                self.engine.sources.service_types()
            )));
        };
        let features = descriptor.features();
        match self.job.job_type {
            JobType::Incremental if !features.incremental_sync => {
                return Err(Stop::Failed(format!(
                    "Incremental sync is not supported by the '{service_type}' source."
                )));
            }
            JobType::AccessControl if !features.document_level_security => {
                return Err(Stop::Failed(format!(
                    "Document level security is not supported by the '{service_type}' source."
                )));
            }
            _ => {}
        }
        let configuration = &self.job.connector.configuration;
        let errors = validate_configuration(configuration);
        if !errors.is_empty() {
            let messages: Vec<String> = errors.into_iter().map(|e| e.message).collect();
            return Err(Stop::Failed(format!(
                "Field validation errors: {}",
                messages.join("; ")
            )));
        }
        let source = descriptor
            .build(configuration)
            .map_err(|e| Stop::Failed(format!("Invalid configuration: {e}")))?;
        source
            .validate_config()
            .await
            .map_err(|e| Stop::Failed(format!("Invalid configuration: {e}")))?;
        source
            .ping()
            .await
            .map_err(|e| Stop::Failed(format!("The source is not reachable: {e}")))?;
        if let Some(active) = self.job.connector.active_filtering().ok().flatten() {
            self.validate_rules(&active, source.as_ref(), features.advanced_rules)
                .await?;
        }
        if self.cp.pages == 0 && self.cp.phase == Phase::Extract {
            self.prepare_index().await?;
        }
        Ok(source)
    }

    /// The reference re-validates the snapshot's active rules before a content sync.
    async fn validate_rules(
        &self,
        active: &FilteringRules,
        source: &dyn DataSource,
        advanced_supported: bool,
    ) -> Result<(), Stop> {
        let basic = validate_basic_rules(&active.rules);
        let mut messages: Vec<String> = basic
            .errors
            .iter()
            .flat_map(|e| e.messages.iter().cloned())
            .collect();
        if active.advanced_snippet.is_set() && advanced_supported {
            messages.extend(
                source
                    .validate_advanced_rules(&active.advanced_snippet.value)
                    .await,
            );
        }
        if basic.state == ValidationState::Invalid || !messages.is_empty() {
            return Err(Stop::Failed(format!(
                "The sync rules are invalid: {}",
                messages.join(" ")
            )));
        }
        Ok(())
    }

    /// Creates the content index when missing (9.x: no mappings, templates apply) and maps the
    /// sync stamp as a keyword so the deletion phase can query it.
    async fn prepare_index(&self) -> Result<(), Stop> {
        let index = self.index()?;
        let es = self.engine.es();
        if !es.indices().exists(&index).await? {
            match es.indices().create(&index, None).await {
                Ok(()) => info!(job_id = %self.job_id, index = %index, "created the content index"),
                Err(e) if e.api_error().is_some_and(|a| a.is_already_exists()) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let mapping = json!({"properties": {SYNC_STAMP_FIELD: {"type": "keyword"}}});
        es.send_json::<Value>(
            es_client::Method::PUT,
            &[&index, "_mapping"],
            &[],
            Some(&mapping),
        )
        .await
        .map_err(|e| {
            if e.is_bad_request() {
                Stop::Failed(format!(
                    "Cannot map the field '{SYNC_STAMP_FIELD}' in index [{index}]: {e}"
                ))
            } else {
                Stop::Es(e)
            }
        })?;
        Ok(())
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

    /// Counts a request's outcomes (in push order) and charges failures to the error budget;
    /// pages whose operations are now all acknowledged become the checkpoint state.
    fn account(&mut self, sink: &mut Sink, report: BulkReport<String>) -> Result<(), Stop> {
        if let Some(e) = report.request_error {
            // The whole request failed after the client's retries: Elasticsearch is not
            // accepting writes. Nothing after the last acknowledged page is checkpointed; the
            // slice is retried.
            return Err(Stop::Es(e));
        }
        let budget = self.engine.config.error_budget;
        for item in &report.items {
            sink.acked_one();
            let live = &mut self.live;
            if item.is_success() {
                match item.action {
                    BulkAction::Delete => {
                        if item.result == Some(es_client::WriteResult::Deleted) {
                            live.counters.deleted += 1;
                        }
                    }
                    BulkAction::Update => {}
                    _ => {
                        live.counters.indexed += 1;
                        live.counters.bytes_sent += item.source_bytes as u64;
                    }
                }
                live.budget.track_success();
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
                    // Still rejected after the writer's retries: nothing after the last fully
                    // acknowledged page is checkpointed, and the slice runs again later, so
                    // the document is indexed or the job fails; it is never left out.
                    return Err(Stop::Transient(format!(
                        "Elasticsearch kept rejecting operations (status {}): {message}",
                        item.status
                    )));
                }
                warn!(job_id = %self.job_id, doc_id = %item.key, status = item.status, reason = %detail, "document rejected by Elasticsearch");
                live.counters.errors += 1;
                if let Err(exceeded) = live.budget.track_error(&budget, message) {
                    return Err(Stop::Failed(exceeded.0));
                }
            }
            self.commit_acked_pages(sink);
        }
        Ok(())
    }

    /// Moves the checkpoint state past every page whose operations are all acknowledged. The
    /// counters and error budget are exactly those of the operations up to that page.
    fn commit_acked_pages(&mut self, sink: &mut Sink) {
        while let Some(page) = sink.pop_acked_page() {
            self.cp.counters = Counters {
                filtered: page.filtered,
                dropped: page.dropped,
                ..self.live.counters
            };
            self.cp.budget.clone_from(&self.live.budget);
            self.cp.pages += 1;
            if page.sync_cursor.is_some() {
                self.cp.sync_cursor = page.sync_cursor;
            }
            match page.next {
                Some(next) => self.cp.cursor = Some(next),
                None => {
                    self.cp.cursor = None;
                    self.cp.phase = Phase::Delete;
                }
            }
        }
    }

    /// Re-reads the job every `check_interval`: cancelation, deletion, and whether it is still
    /// ours. Refreshes `last_seen` on the way (the heartbeat).
    async fn check_job(&mut self) -> Result<(), Stop> {
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
    async fn checkpoint(&mut self) -> Result<(), Stop> {
        let ttl = self.engine.config.lease_ttl;
        if let Some(lease) = self.cp.lease.as_mut()
            && lease.owner == self.engine.owner
        {
            lease.until = lease_until(ttl);
        }
        let mut tries = 0;
        loop {
            let partial = json!({
                "last_seen": Timestamp::now(),
                "indexed_document_count": self.cp.counters.indexed,
                "indexed_document_volume": self.cp.counters.volume_mib(),
                "deleted_document_count": self.cp.counters.deleted,
                "metadata": { METADATA_KEY: self.cp.to_value() },
            });
            match self
                .engine
                .store
                .checkpoint_job(&self.job_id, &partial, self.seq)
                .await
            {
                Ok(seq) => {
                    self.seq = seq;
                    self.last_checkpoint = Instant::now();
                    self.checkpointed_pages = self.cp.pages;
                    return Ok(());
                }
                Err(WriteError::Conflict) if tries < 3 => {
                    tries += 1;
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
    async fn renewing<T>(&mut self, work: impl std::future::Future<Output = T>) -> Result<T, Stop> {
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
    fn unreadable(&mut self, scope: connectors_sdk::UnreadScope) {
        warn!(job_id = %self.job_id, field = %scope.field, value = %scope.value, reason = %scope.reason, "part of the source could not be read; its documents are kept");
        if !self
            .cp
            .unread
            .iter()
            .any(|u| u.field == scope.field && u.value == scope.value)
        {
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
            SyncStatus::Canceling => return Err(Stop::Canceled),
            other => return Err(Stop::Lost(format!("the job is now {other}"))),
        }
        let theirs = Checkpoint::from_metadata(job.doc.metadata.as_ref());
        let ours = theirs.as_ref().is_some_and(|c| {
            c.lease.as_ref().map(|l| &l.owner) == Some(&self.engine.owner) && c.slice == self.slice
        }) || (theirs.is_none() && self.cp.pages == 0);
        if !ours {
            return Err(Stop::Lost("another worker took the job over".into()));
        }
        self.seq = job.seq;
        Ok(())
    }

    /// Time is up: save the checkpoint for the next slice and release the lease.
    async fn pause(&mut self) -> Result<SliceOutcome, Stop> {
        self.cp.slice = self.slice + 1;
        self.cp.lease = None;
        let result = self.checkpoint().await;
        if result.is_err() {
            // Keep the slice number we hold for any retry within this run.
            self.cp.slice = self.slice;
        }
        result?;
        info!(job_id = %self.job_id, next_slice = self.cp.slice, pages = self.cp.pages, "slice done; continuing later");
        Ok(SliceOutcome::Continue {
            next_slice: self.cp.slice,
        })
    }

    /// Ends the job and releases the connector, as the reference's `_sync_done`.
    async fn terminate(
        &mut self,
        status: SyncStatus,
        error: Option<String>,
        index: Option<&str>,
    ) -> Result<(), EsError> {
        let es = self.engine.es();
        let now = Timestamp::now();
        let mut total = None;
        if let Some(index) = index {
            es.refresh(index).await?;
            total = Some(es.count(index, None).await?);
        } else if let Some(index) = self.job.connector.index_name.as_deref()
            && es.indices().exists(index).await.unwrap_or(false)
        {
            // Refreshed first, or the count lags behind what this job indexed (a job failed
            // mid-sync reported 9,000 documents in the index for 13,800 indexed).
            let _ = es.refresh(index).await;
            total = es.count(index, None).await.ok();
        }
        self.cp.lease = None;
        let mut doc = Map::new();
        doc.insert("last_seen".into(), json!(now));
        doc.insert("status".into(), json!(status));
        doc.insert("error".into(), json!(error));
        if status.is_terminal() {
            doc.insert("completed_at".into(), json!(now));
        }
        if status == SyncStatus::Canceled {
            doc.insert("canceled_at".into(), json!(now));
        }
        doc.insert(
            "indexed_document_count".into(),
            json!(self.cp.counters.indexed),
        );
        doc.insert(
            "indexed_document_volume".into(),
            json!(self.cp.counters.volume_mib()),
        );
        doc.insert(
            "deleted_document_count".into(),
            json!(self.cp.counters.deleted),
        );
        if let Some(total) = total {
            doc.insert("total_document_count".into(), json!(total));
        }
        let mut metadata = json!({ METADATA_KEY: self.cp.to_value() });
        if status.is_terminal() && self.cp.counters.errors > 0 {
            // What Elasticsearch refused for good (too large, mapping conflicts), within the
            // error budget: the job says how many, and which were first.
            warn!(job_id = %self.job_id, rejected = self.cp.counters.errors, first = ?self.cp.budget.first_errors, "documents were rejected by Elasticsearch");
            metadata["rejected_document_count"] = json!(self.cp.counters.errors);
            metadata["rejected_documents"] = json!(self.cp.budget.first_errors);
        }
        if status.is_terminal() && !self.cp.unread.is_empty() {
            metadata["unread"] = json!(self.cp.unread);
        }
        if status == SyncStatus::Suspended {
            // Forget the last dispatch: a restarted service resumes the job at its first
            // pass instead of waiting out the re-dispatch delay.
            metadata["dispatch"] = Value::Null;
        }
        doc.insert("metadata".into(), metadata);
        // The connector first: if the process dies in between, the job is still running and
        // the next attempt ends it again, instead of a finished job leaving its connector
        // locked.
        let cursor = (status == SyncStatus::Completed
            && self.job.job_type != JobType::AccessControl)
            .then(|| self.cp.sync_cursor.clone());
        self.sync_done(status, error, cursor).await?;
        match self.engine.store.update_job(&self.job_id, &doc, None).await {
            Ok(seq) => self.seq = seq,
            Err(WriteError::Es(e)) if e.is_not_found() => {}
            Err(WriteError::Es(e)) => return Err(e),
            Err(WriteError::Conflict) => {}
        }
        Ok(())
    }

    /// The connector side of the end of a job (`Connector.sync_done`).
    async fn sync_done(
        &self,
        status: SyncStatus,
        error: Option<String>,
        cursor: Option<Option<Value>>,
    ) -> Result<(), EsError> {
        let error = match (status, error) {
            (SyncStatus::Error, None) => Some("unknown error".to_string()),
            (_, e) => e,
        };
        let connector_status = if status == SyncStatus::Error {
            ConnectorStatus::Error
        } else {
            ConnectorStatus::Connected
        };
        let mut doc = Map::new();
        doc.insert("last_synced".into(), json!(Timestamp::now()));
        doc.insert("status".into(), json!(connector_status));
        doc.insert("error".into(), json!(error));
        if self.job.job_type == JobType::AccessControl {
            doc.insert("last_access_control_sync_status".into(), json!(status));
            doc.insert("last_access_control_sync_error".into(), json!(error));
        } else {
            doc.insert("last_sync_status".into(), json!(status));
            doc.insert("last_sync_error".into(), json!(error));
        }
        if let Some(cursor) = cursor {
            doc.insert("sync_cursor".into(), json!(cursor));
        }
        if status.is_terminal() {
            doc.insert(
                "last_indexed_document_count".into(),
                json!(self.cp.counters.indexed),
            );
            doc.insert(
                "last_deleted_document_count".into(),
                json!(self.cp.counters.deleted),
            );
        }
        match self
            .engine
            .store
            .update_connector(&self.job.connector.id, &doc, None)
            .await
        {
            Ok(_) => Ok(()),
            Err(WriteError::Es(e)) if e.is_not_found() => Ok(()),
            Err(WriteError::Es(e)) => Err(e),
            Err(WriteError::Conflict) => Ok(()),
        }
    }
}
