//! The sync engine: its settings, the time budget of a slice, what a slice achieves, and the
//! [`Engine`] handle (Elasticsearch through the [`Store`], the sources, the settings).
//!
//! A job runs in slices ([`Engine::run_slice`], in `lifecycle.rs`): each advances the job until
//! its budget runs out, then persists a checkpoint in the job document, so that any worker in
//! any process can run the next slice (`sync.rs`). How a job ends is `ending.rs`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use connectors_protocol::{SyncStatus, Timestamp};
use connectors_sdk::SourceRegistry;
use es_client::{EsClient, EsError};
use tokio::sync::watch;

use crate::content::ExtractionConfig;
use crate::error_budget::ErrorBudgetConfig;
use crate::store::{ReadError, Store};

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
    /// Content extraction: in-process or by an ingest pipeline, and what one file may cost.
    pub extraction: ExtractionConfig,
    /// `service.max_partitions_per_job`: a full sync whose source can split its listing runs
    /// as up to this many partitions, each its own chain of slices, so that as many workers
    /// can run the job at once. 1: never split.
    pub max_partitions: usize,
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
            extraction: ExtractionConfig::default(),
            max_partitions: 1,
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

    pub(crate) fn stop_requested(&self) -> bool {
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
    /// The job goes on as these messages say: the partitions of a job that was just split
    /// (or whose workers vanished), or the next slice of a partition. Empty when a partition
    /// finished and others are still running.
    Spread(Vec<crate::queue::JobMessage>),
    /// Someone else holds the job or the connector's sync lock; try again later.
    Busy(String),
}

impl SliceOutcome {
    /// Whether the slice `message` asked for paused with work left, its job's or its
    /// partition's (rather than ending, being turned away, or handing out partitions): what a
    /// process that is stopping leaves `suspended`.
    pub fn paused(&self, message: &crate::queue::JobMessage) -> bool {
        match self {
            SliceOutcome::Continue { .. } => true,
            SliceOutcome::Spread(next) => message.partition.is_some() && !next.is_empty(),
            _ => false,
        }
    }

    /// The messages that carry job `job_id` on after this outcome (none when it ended, was
    /// turned away or waits for someone else).
    pub fn next_messages(&self, job_id: &str) -> Vec<crate::queue::JobMessage> {
        match self {
            SliceOutcome::Continue { next_slice } => {
                vec![crate::queue::JobMessage::new(job_id, *next_slice)]
            }
            SliceOutcome::Spread(next) => next.clone(),
            _ => Vec::new(),
        }
    }
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
    pub(crate) store: Store,
    pub(crate) sources: Arc<SourceRegistry>,
    pub(crate) config: Arc<EngineConfig>,
    /// Lease owner: unique per engine instance.
    pub(crate) owner: String,
    /// Checkpoint writes of partitioned jobs, and how many lost a race with another partition.
    pub(crate) contention: Arc<Contention>,
}

/// How often the checkpoint writes of partitions raced each other.
#[derive(Debug, Default)]
pub struct Contention {
    pub writes: std::sync::atomic::AtomicU64,
    pub conflicts: std::sync::atomic::AtomicU64,
}

impl Contention {
    /// `(writes, conflicts)` so far.
    pub fn snapshot(&self) -> (u64, u64) {
        use std::sync::atomic::Ordering::Relaxed;
        (self.writes.load(Relaxed), self.conflicts.load(Relaxed))
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
            contention: Arc::default(),
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

    /// Checkpoint writes of partitions by this engine, and their conflicts.
    pub fn contention(&self) -> &Contention {
        &self.contention
    }
}

/// The end of a lease taken or renewed now.
pub(crate) fn lease_until(ttl: Duration) -> Timestamp {
    Timestamp(Timestamp::now().0 + chrono::Duration::from_std(ttl).unwrap_or_default())
}

/// Whether a rejected operation may succeed later: Elasticsearch pushing back (429) or failing
/// on its side (5xx).
pub(crate) fn is_transient(status: u16) -> bool {
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
