//! One scheduler pass (`tick`), as the reference's scheduling and cleanup services do it:
//! prepare and check in the served connectors, validate their configuration and draft sync
//! rules, create due scheduled jobs, and dispatch every job that needs a worker.
//!
//! A pass costs Elasticsearch requests in proportion to what changes, not to the number of
//! connectors: connectors and active jobs are read in pages over a point in time (no result
//! window, no ceiling), each connector's decisions (prepare, check-in, status, due runs) are
//! made from the listed document and written as one partial update, all of them in one
//! `_bulk` per [`PAGE_SIZE`] connectors, and so are the jobs' dispatch records. A connector
//! whose heartbeat is not due, whose status did not change and with no run due costs nothing
//! but its share of the listing. Source checks (configuration and ping, every pass, as the
//! reference) run [`SchedulerConfig::check_concurrency`] at a time.
//!
//! Everything a pass decides is written with optimistic concurrency (each bulk item names the
//! `_seq_no` it was decided from), so two schedulers running at once never create the same
//! scheduled job twice nor dispatch one job attempt twice. A connector written meanwhile (by a
//! worker, Kibana or another scheduler) is read again and decided once more in the same pass.
//!
//! Layout, one job per file:
//! - `listing`: paging through an index over a point in time;
//! - `plan`: what one connector needs, decided from its document (no I/O);
//! - `connectors`: the connector half of a pass: checks, batched guarded writes, job creation;
//! - `dispatch`: the job half: which jobs need a worker, cancelations, clean-up, resumes.

mod connectors;
mod dispatch;
mod listing;
mod plan;

use std::sync::Arc;
use std::time::Duration;

use crate::engine::{Engine, EngineError};
use crate::queue::JobQueue;
use crate::store::WriteError;

pub use listing::PAGE_SIZE;

/// Which connectors this deployment serves, and how often things happen.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// `connectors[]`: connector ids, each with an optional service type to populate.
    pub connectors: Vec<ServedConnector>,
    /// `service.service_types` in worker mode: every non-native connector of these types.
    pub service_types: Vec<String>,
    /// `service.heartbeat`: how often a connector is checked in.
    pub heartbeat_interval: Duration,
    /// A running job with neither a live lease nor a heartbeat for this long lost its worker
    /// (the reference's `IDLE_JOBS_THRESHOLD`, 300 s).
    pub idle_threshold: Duration,
    /// A pending job dispatched this long ago and still pending is dispatched again (its
    /// message was lost, or its connector was busy).
    pub redispatch_after: Duration,
    /// How many times a job that lost its worker is resumed before it is marked `error`.
    pub max_resumes: u32,
    /// Source checks (configuration validation and ping) running at once in a pass (the
    /// reference's `max_concurrent_scheduling_tasks`, 10).
    pub check_concurrency: usize,
    /// Documents per page when listing connectors and jobs, and per `_bulk` of a pass's writes
    /// ([`PAGE_SIZE`]).
    pub page_size: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServedConnector {
    pub connector_id: String,
    pub service_type: Option<String>,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            connectors: Vec::new(),
            service_types: Vec::new(),
            heartbeat_interval: Duration::from_secs(300),
            idle_threshold: Duration::from_secs(300),
            redispatch_after: Duration::from_secs(60),
            max_resumes: 5,
            check_concurrency: 10,
            page_size: PAGE_SIZE,
        }
    }
}

/// What a pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TickReport {
    pub connectors: usize,
    pub scheduled: usize,
    pub dispatched: usize,
    pub resumed: usize,
    pub failed_jobs: usize,
    pub canceled_jobs: usize,
    /// Problems that did not stop the pass (one connector failing does not stop the others).
    pub errors: Vec<String>,
}

pub struct Scheduler {
    engine: Engine,
    queue: Arc<dyn JobQueue>,
    config: SchedulerConfig,
}

impl Scheduler {
    pub fn new(engine: Engine, queue: Arc<dyn JobQueue>, config: SchedulerConfig) -> Self {
        Scheduler {
            engine,
            queue,
            config,
        }
    }

    pub fn config(&self) -> &SchedulerConfig {
        &self.config
    }

    /// One full pass: connectors, then jobs.
    pub async fn tick(&self) -> Result<TickReport, EngineError> {
        let mut report = TickReport::default();
        let served = self.schedule_connectors(&mut report).await?;
        self.dispatch(&mut report, Some(&served)).await?;
        Ok(report)
    }

    /// Only the connector half of a pass (prepare, check in, validate, create due jobs): where
    /// Elasticsearch's pending jobs are the queue, dispatching is the workers' business.
    pub async fn schedule_only(&self) -> Result<TickReport, EngineError> {
        let mut report = TickReport::default();
        self.schedule_connectors(&mut report).await?;
        Ok(report)
    }

    /// Only the job half of a pass: what `connectors work` needs between separate processes.
    pub async fn dispatch_only(&self) -> Result<TickReport, EngineError> {
        let mut report = TickReport::default();
        self.dispatch(&mut report, None).await?;
        Ok(report)
    }

    /// Documents per listed page and per `_bulk` (at least 1).
    fn page_size(&self) -> usize {
        self.config.page_size.max(1)
    }

    /// The reference's `supported_connectors`: configured ids, or (worker mode) non-native
    /// connectors of the configured service types.
    fn is_served(&self, id: &str, is_native: bool, service_type: Option<&str>) -> bool {
        self.config.connectors.iter().any(|c| c.connector_id == id)
            || (!is_native
                && service_type.is_some_and(|t| self.config.service_types.iter().any(|s| s == t)))
    }
}

fn write_err(e: WriteError) -> EngineError {
    match e {
        WriteError::Es(e) => EngineError::Es(e),
        WriteError::Conflict => EngineError::Conflict("the document".into()),
    }
}
