//! The job lifecycle around the slices, as the reference's `sync_job_runner.py`: which slice
//! to run, leasing a job, the connector's sync lock (`last_sync_status: in_progress`), `_claim`,
//! resuming a running job, and the endings asked from outside (cancel while idle, suspend, fail).

use connectors_protocol::{JobType, SyncJob, SyncStatus, Timestamp};
use serde_json::json;
use tracing::{Instrument, info};

use crate::checkpoint::{Checkpoint, Lease, METADATA_KEY};
use crate::ending;
use crate::engine::{Budget, Engine, EngineError, SliceOutcome, lease_until};
use crate::store::{Versioned, WriteError};
use crate::sync::Run;

impl Engine {
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
        if let Some(lease) = existing
            .as_ref()
            .and_then(|c| c.live_lease_of_other(&self.owner))
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
        if let Some(lease) = cp.live_lease_of_other(&self.owner) {
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
            let lock = ending::sync_starts(job_type);
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
                if let Some(lease) = cp.live_lease_of_other(&self.owner) {
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
