//! Partitioned jobs: one full sync split into independent listings that run on several workers
//! at once.
//!
//! - **Split.** The job's first slice asks the source for partitions
//!   ([`connectors_sdk::DataSource::partitions`]). With two or more, it writes one checkpoint
//!   per partition under `metadata.partitions` and hands out one queue message per partition
//!   ([`SliceOutcome::Spread`]). The job's own checkpoint records how many there are.
//! - **Run.** A partition is a chain of slices like an unsplit job, with its own cursor,
//!   counters and lease. Its checkpoint writes replace only its own member of
//!   `metadata.partitions`, guarded by the document's version: a write that loses a race is
//!   tried again from the job as it now is. The job's counters are the sum of its partitions',
//!   written with each checkpoint, so the job document shows progress as an unsplit job's does.
//! - **Join.** The worker whose write records the last partition as listed merges the
//!   partitions into the job's checkpoint (counters, error budgets, unread scopes, and the
//!   source's sync cursor), then runs the deletion sweep and ends the job, once.
//! - **Failures.** A partition that fails ends the job in `error`, naming the partition.
//!   Cancelation is read from the job's status by every partition. A partition whose worker
//!   died is handed out again: by the worker that lists another partition to its end, or by
//!   the scheduler's resume of the job once the job looks idle.

use connectors_protocol::{JobType, SyncStatus, Timestamp};
use connectors_sdk::{DataSource, PartitionRequest};
use serde_json::{Map, Value, json};
use tracing::{Instrument, info};

use crate::checkpoint::{
    Checkpoint, Counters, Lease, METADATA_KEY, PARTITIONS_KEY, Phase, all_listed,
    partitions_from_metadata,
};
use crate::engine::{Budget, Engine, EngineError, SliceOutcome, lease_until};
use crate::queue::JobMessage;
use crate::sync::{Run, Stop};

impl Engine {
    /// Runs what a queue message asks for: a slice of a job, or of one of its partitions.
    pub async fn run_message(
        &self,
        message: &JobMessage,
        budget: Budget,
    ) -> Result<SliceOutcome, EngineError> {
        match message.partition {
            Some(p) => {
                self.run_partition(&message.job_id, p, message.slice, budget)
                    .await
            }
            None => {
                self.run_slice(&message.job_id, Some(message.slice), budget)
                    .await
            }
        }
    }

    /// Runs slice `slice` of partition `partition` of job `job_id`.
    pub async fn run_partition(
        &self,
        job_id: &str,
        partition: u32,
        slice: u64,
        budget: Budget,
    ) -> Result<SliceOutcome, EngineError> {
        let Some(job) = self.store.job(job_id).await? else {
            return Ok(SliceOutcome::Stale(format!(
                "sync job [{job_id}] not found"
            )));
        };
        let job_cp = Checkpoint::from_metadata(job.doc.metadata.as_ref());
        let parts = partitions_from_metadata(job.doc.metadata.as_ref());
        let Some(cp) = parts.get(&partition).cloned() else {
            return Ok(SliceOutcome::Stale(format!(
                "the job has no partition {partition}"
            )));
        };
        let span = tracing::info_span!(
            "sync_job",
            job_id,
            connector_id = %job.doc.connector.id,
            partition,
            slice
        );
        async move {
            match job.doc.status {
                SyncStatus::InProgress => {}
                SyncStatus::Canceling => {
                    // Every partition stops; the first to see it ends the job.
                    let cp = job_cp.unwrap_or_default();
                    let mut run = Run::new(self, job_id, job.doc, job.seq, cp);
                    run.terminate(SyncStatus::Canceled, None, None).await?;
                    return Ok(SliceOutcome::Finished(SyncStatus::Canceled));
                }
                other => {
                    // Finished, or suspended (a restart of the job hands its partitions out
                    // again).
                    return Ok(SliceOutcome::Stale(format!("sync job is {other}")));
                }
            }
            if cp.is_listed() || cp.slice != slice {
                return Ok(SliceOutcome::Stale(format!(
                    "partition {partition} is at slice {}{}",
                    cp.slice,
                    if cp.is_listed() { ", listed" } else { "" }
                )));
            }
            if let Some(lease) = cp.live_lease_of_other(&self.owner) {
                return Ok(SliceOutcome::Busy(format!(
                    "partition {partition} is leased to {} until {}",
                    lease.owner, lease.until
                )));
            }
            let mut run = Run::new(self, job_id, job.doc, job.seq, cp);
            run.partition = Some(partition);
            run.job_cp = job_cp;
            run.execute(&budget).await
        }
        .instrument(span)
        .await
    }
}

impl Run<'_> {
    /// The members of `metadata` this run writes: the job's checkpoint, or this partition's.
    pub(crate) fn metadata_patch(&self) -> Value {
        match self.partition {
            Some(p) => json!({ PARTITIONS_KEY: { p.to_string(): self.cp.to_value() } }),
            None => json!({ METADATA_KEY: self.cp.to_value() }),
        }
    }

    /// The job's counters: this run's, plus those of the other partitions of a split job.
    pub(crate) fn total_counters(&self) -> Counters {
        match self.partition {
            Some(p) => {
                let mut total = self.cp.counters;
                for (_, other) in self.parts.iter().filter(|(n, _)| **n != p) {
                    total.add(&other.counters);
                }
                total
            }
            None if self.cp.is_fanned_out() => {
                let mut total = Counters::default();
                for part in self.parts.values() {
                    total.add(&part.counters);
                }
                total
            }
            None => self.cp.counters,
        }
    }

    /// The job's error message for a failure of this run: a partition's names it.
    pub(crate) fn failure_message(&self, message: String) -> String {
        match (self.partition, self.job_cp.as_ref()) {
            (Some(p), Some(job)) => format!(
                "Partition {} of {} failed: {message}",
                p + 1,
                job.partitions
            ),
            (Some(p), None) => format!("Partition {} failed: {message}", p + 1),
            (None, _) => message,
        }
    }

    /// Before the listing of a job (not of a partition): splits a new full sync when the source
    /// can, hands out again the partitions of a split job whose workers are gone, or merges a
    /// split job whose partitions are all listed (then the run goes on with the sweep).
    pub(crate) async fn partition_step(
        &mut self,
        source: &dyn DataSource,
        advanced_rules: Option<&Value>,
    ) -> Result<Option<SliceOutcome>, Stop> {
        if self.partition.is_some() || self.cp.phase != Phase::Extract {
            return Ok(None);
        }
        if self.cp.is_fanned_out() {
            if all_listed(&self.parts, self.cp.partitions) {
                let job_cp = self.cp.clone();
                self.join(source, job_cp).await?;
                return Ok(None);
            }
            let orphans = self.orphans(true);
            info!(job_id = %self.job_id, partitions = orphans.len(), "handing out the partitions that no worker holds");
            return self.hand_out(orphans, None).await.map(Some);
        }
        let max = self.engine.config.max_partitions;
        let fresh = self.cp.pages == 0 && self.cp.cursor.is_none() && self.cp.partitions == 0;
        if self.job.job_type != JobType::Full || max < 2 || !fresh {
            return Ok(None);
        }
        let cursors = source
            .partitions(PartitionRequest {
                advanced_rules,
                max,
            })
            .await
            .map_err(|e| Stop::Failed(format!("The source failed: {e}")))?;
        if cursors.len() < 2 {
            return Ok(None);
        }
        let n = cursors.len().min(max) as u32;
        let mut members = Map::new();
        let mut messages = Vec::new();
        for (i, cursor) in cursors.into_iter().take(n as usize).enumerate() {
            let part = Checkpoint {
                cursor: Some(cursor),
                ..Checkpoint::new()
            };
            members.insert(i.to_string(), part.to_value());
            self.parts.insert(i as u32, part);
            messages.push(JobMessage::for_partition(&self.job_id, i as u32, 0));
        }
        self.cp.partitions = n;
        info!(job_id = %self.job_id, partitions = n, "sync job split into partitions");
        let mut extra = Map::new();
        extra.insert(PARTITIONS_KEY.into(), Value::Object(members));
        self.hand_out(messages, Some(extra)).await.map(Some)
    }

    /// Ends this job-level slice (its lease released, the next job slice numbered so that
    /// duplicates of its message are turned away) and hands `messages` out.
    async fn hand_out(
        &mut self,
        messages: Vec<JobMessage>,
        extra: Option<Map<String, Value>>,
    ) -> Result<SliceOutcome, Stop> {
        self.cp.slice = self.slice + 1;
        self.cp.lease = None;
        let written = self.write_checkpoint(extra.as_ref()).await;
        if written.is_err() {
            self.cp.slice = self.slice;
        }
        written?;
        Ok(SliceOutcome::Spread(messages))
    }

    /// After this partition's last page was checkpointed: `None` when it was the last one
    /// listed (the run now stands for the job, merged, and goes on to the sweep), else what
    /// this worker hands out (partitions whose worker died) before it stops.
    pub(crate) async fn partition_listed(
        &mut self,
        source: &dyn DataSource,
    ) -> Result<Option<SliceOutcome>, Stop> {
        // The write that recorded this partition as listed succeeded against the job as this
        // run last read it, so `parts` is the job's current state.
        let expected = self.job_cp.as_ref().map_or(0, |c| c.partitions);
        if !all_listed(&self.parts, expected) {
            let orphans = self.orphans(false);
            info!(job_id = %self.job_id, partition = ?self.partition, handed_out = orphans.len(), "partition listed; others are still running");
            return Ok(Some(SliceOutcome::Spread(orphans)));
        }
        let Some(job_cp) = self.job_cp.clone() else {
            return Err(Stop::Failed(
                "The split job's own checkpoint is missing.".into(),
            ));
        };
        info!(job_id = %self.job_id, partitions = expected, "every partition listed; merging them");
        self.join(source, job_cp).await?;
        Ok(None)
    }

    /// Makes this run the job's, with the partitions merged into its checkpoint, leased to
    /// this worker, ready for the sweep.
    async fn join(&mut self, source: &dyn DataSource, job_cp: Checkpoint) -> Result<(), Stop> {
        let mut merged = job_cp.merged(&self.parts);
        let cursors: Vec<Value> = self
            .parts
            .values()
            .filter_map(|p| p.sync_cursor.clone())
            .collect();
        merged.sync_cursor = if cursors.is_empty() {
            None
        } else {
            source.merge_sync_cursors(cursors)
        };
        merged.lease = Some(Lease {
            owner: self.engine.owner.clone(),
            until: lease_until(self.engine.config.lease_ttl),
        });
        self.slice = merged.slice;
        self.partition = None;
        self.ledger = crate::ledger::Ledger::new(&merged, self.engine.config.error_budget);
        self.cp = merged;
        self.checkpoint().await
    }

    /// Messages for the partitions that still list and that no worker holds: leases that ran
    /// out, and (`between_slices`) partitions without a lease, whose next message may be lost.
    fn orphans(&self, between_slices: bool) -> Vec<JobMessage> {
        let now = Timestamp::now();
        self.parts
            .iter()
            .filter(|(n, p)| Some(**n) != self.partition && !p.is_listed())
            .filter(|(_, p)| match &p.lease {
                Some(lease) => lease.until <= now,
                None => between_slices,
            })
            .map(|(n, p)| JobMessage::for_partition(&self.job_id, *n, p.slice))
            .collect()
    }
}
