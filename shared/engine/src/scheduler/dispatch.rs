//! The job half of a pass: list every active job (pending, suspended, in progress, canceling)
//! in pages, oldest first; learn whose connector each is from the pass's own listing, reading
//! the others in one `_mget`; decide per job (dispatch, resume a job whose worker vanished,
//! cancel a pending job, fail a job whose connector is gone or that keeps losing its worker);
//! write the decisions as guarded updates in one `_bulk` per page; then queue the messages of
//! the jobs whose record was written. A record that loses its race was written by another
//! scheduler or a worker: nothing follows from it.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use chrono::Utc;
use connectors_protocol::{CONNECTORS_INDEX, SYNC_JOBS_INDEX, SyncJob, SyncStatus, Timestamp};
use es_client::{Refresh, SeqNo, UpdateItem, UpdateOutcome};
use futures_util::{StreamExt, stream};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tracing::{debug, info, warn};

use super::listing::list_all;
use super::{Scheduler, TickReport, write_err};
use crate::checkpoint::{Checkpoint, Partitions, partitions_from_metadata};
use crate::ending;
use crate::engine::EngineError;
use crate::queue::JobMessage;
use crate::store::Versioned;

/// `metadata.dispatch` of a job: the last time a scheduler queued it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
struct Dispatch {
    /// Times in a row the job was resumed after losing its worker without having made
    /// progress in between.
    #[serde(default)]
    resumes: u32,
    /// Where the job stood at the last resume ([`progress_mark`]); progress since then resets
    /// `resumes`, so a job that keeps advancing is never failed for being resumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    progress: Option<String>,
    at: Option<Timestamp>,
    #[serde(default)]
    slice: u64,
}

const DISPATCH_KEY: &str = "dispatch";

/// The job fields a pass never reads: the connector snapshot's bulk.
const JOB_EXCLUDES: [&str; 4] = [
    "connector.configuration",
    "connector.filtering",
    "connector.pipeline",
    "connector.sync_cursor",
];

/// Messages queued at once (one connector's messages stay in order).
const SEND_CONCURRENCY: usize = 10;

/// What a job's connector is to this scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Owner {
    /// Missing or deleted: its jobs end in error.
    Gone,
    Served,
    /// Another deployment's.
    Other,
}

/// The fields of a connector that say whose it is.
#[derive(Deserialize)]
struct ConnectorHead {
    #[serde(default)]
    deleted: Option<bool>,
    #[serde(default)]
    is_native: Option<bool>,
    #[serde(default)]
    service_type: Option<String>,
}

/// A decided write on a job, and what follows once it is written.
struct Planned {
    job_id: String,
    connector_id: String,
    seq: SeqNo,
    doc: Value,
    then: Then,
}

enum Then {
    Canceled,
    /// Its connector is gone.
    Orphaned,
    Dispatch(JobMessage),
    Resume {
        message: JobMessage,
        resumes: u32,
    },
    /// Resumed too often without progress: the connector records the failure too.
    GiveUp {
        fields: Value,
    },
}

impl Scheduler {
    /// Queues every job that needs a worker, finishes what needs no worker. `served`: the
    /// connectors this pass listed, when it listed them.
    pub(super) async fn dispatch(
        &self,
        report: &mut TickReport,
        served: Option<&HashSet<String>>,
    ) -> Result<(), EngineError> {
        let query =
            json!({"terms": {"status": ["pending", "suspended", "in_progress", "canceling"]}});
        let listed = list_all(
            self.engine.es(),
            SYNC_JOBS_INDEX,
            query,
            json!([{"created_at": {"order": "asc", "unmapped_type": "date"}}]),
            &JOB_EXCLUDES,
            self.page_size(),
        )
        .await?;
        let mut jobs = Vec::with_capacity(listed.len());
        for l in listed {
            match parse_job(&l.id, l.source) {
                Ok(doc) => jobs.push((l.id, Versioned { doc, seq: l.seq })),
                Err(e) => {
                    warn!(job_id = %l.id, error = %e, "skipping an unreadable sync job document")
                }
            }
        }
        let owners = self.owners(&jobs, served).await?;
        let now = Timestamp::now();
        let planned: Vec<Planned> = jobs
            .into_iter()
            .filter_map(|(id, job)| {
                let owner = owners
                    .get(&job.doc.connector.id)
                    .copied()
                    .unwrap_or(Owner::Gone);
                self.decide(id, job, owner, now)
            })
            .collect();
        for chunk in planned.chunks(self.page_size()) {
            self.apply(chunk, report).await;
        }
        Ok(())
    }

    /// Whose connector each job is: the pass's own listing first, one `_mget` per page for
    /// the others (only the fields that say it).
    async fn owners(
        &self,
        jobs: &[(String, Versioned<SyncJob>)],
        served: Option<&HashSet<String>>,
    ) -> Result<HashMap<String, Owner>, EngineError> {
        let mut owners = HashMap::new();
        let mut unknown = Vec::new();
        for (_, job) in jobs {
            let id = job.doc.connector.id.as_str();
            if owners.contains_key(id) {
                continue;
            }
            let owner = if id.is_empty() {
                Owner::Gone
            } else if served.is_some_and(|s| s.contains(id)) {
                Owner::Served
            } else {
                unknown.push(id);
                // Settled below; marks the id as seen.
                Owner::Gone
            };
            owners.insert(id.to_string(), owner);
        }
        for ids in unknown.chunks(self.page_size()) {
            let docs = self
                .engine
                .es()
                .mget::<ConnectorHead>(
                    CONNECTORS_INDEX,
                    ids,
                    Some(&["deleted", "is_native", "service_type"]),
                )
                .await?;
            for (id, doc) in ids.iter().zip(docs) {
                let owner = match doc.map(|d| d.source) {
                    None => Owner::Gone,
                    Some(head) if head.deleted.unwrap_or(false) => Owner::Gone,
                    Some(head) => {
                        if self.is_served(
                            id,
                            head.is_native.unwrap_or(false),
                            head.service_type.as_deref(),
                        ) {
                            Owner::Served
                        } else {
                            Owner::Other
                        }
                    }
                };
                owners.insert((*id).to_string(), owner);
            }
        }
        Ok(owners)
    }

    /// What a job needs, if anything.
    fn decide(
        &self,
        job_id: String,
        job: Versioned<SyncJob>,
        owner: Owner,
        now: Timestamp,
    ) -> Option<Planned> {
        let connector_id = job.doc.connector.id.clone();
        let planned = |doc: Value, then: Then| Planned {
            job_id: job_id.clone(),
            connector_id: connector_id.clone(),
            seq: job.seq,
            doc,
            then,
        };
        match owner {
            Owner::Other => return None,
            Owner::Gone => {
                // The reference's cleanup: jobs of connectors that no longer exist end in error.
                let error = format!("Connector is not found for connector ID {connector_id}.");
                let status = ending::transition(&job_id, job.doc.status, SyncStatus::Error)?;
                let doc = Value::Object(ending::job_fields(status, Some(&error), now));
                return Some(planned(doc, Then::Orphaned));
            }
            Owner::Served => {}
        }
        let dispatch: Dispatch = job
            .doc
            .metadata
            .as_ref()
            .and_then(|m| m.get(DISPATCH_KEY))
            .and_then(|d| serde_json::from_value(d.clone()).ok())
            .unwrap_or_default();
        let cp = Checkpoint::from_metadata(job.doc.metadata.as_ref());
        let slice = cp.as_ref().map_or(0, |c| c.slice);
        let age = |t: Option<Timestamp>| t.map(|t| (Utc::now() - t.0).to_std().unwrap_or_default());
        match job.doc.status {
            SyncStatus::Pending if job.doc.cancelation_requested_at.is_some() => {
                let doc = Value::Object(ending::job_fields(SyncStatus::Canceled, None, now));
                Some(planned(doc, Then::Canceled))
            }
            SyncStatus::Pending | SyncStatus::Suspended => {
                if age(dispatch.at).is_some_and(|a| a < self.config.redispatch_after) {
                    return None;
                }
                let next = Dispatch {
                    at: Some(now),
                    slice,
                    ..dispatch
                };
                let message = JobMessage::new(&job_id, slice);
                Some(planned(dispatch_doc(&next), Then::Dispatch(message)))
            }
            _ => {
                // in_progress or canceling: a worker holding the lease is alive until the lease
                // ends; between slices (no lease) or without a checkpoint (another service),
                // the job is alive while it was seen or dispatched recently.
                let alive = match cp.as_ref().and_then(|c| c.lease.as_ref()) {
                    Some(lease) => lease.until > now,
                    None => {
                        age(job.doc.last_seen).is_some_and(|a| a < self.config.idle_threshold)
                            || age(dispatch.at).is_some_and(|a| a < self.config.idle_threshold)
                    }
                };
                if alive {
                    return None;
                }
                let parts = partitions_from_metadata(job.doc.metadata.as_ref());
                let progress = cp.as_ref().map(|cp| progress_mark(cp, &parts));
                let resumes = if dispatch.progress.is_some() && dispatch.progress != progress {
                    0
                } else {
                    dispatch.resumes
                };
                if resumes >= self.config.max_resumes {
                    let error = format!(
                        "The job has not seen any update for some time, and was resumed {} times without progress.",
                        dispatch.resumes
                    );
                    // As the reference's idle-job cleanup: the job fails (a canceling one is
                    // canceled), and the connector records it as any ending does.
                    let (status, error) = if job.doc.status == SyncStatus::Canceling {
                        (SyncStatus::Canceled, None)
                    } else {
                        (SyncStatus::Error, Some(error))
                    };
                    let doc = Value::Object(ending::job_fields(status, error.as_deref(), now));
                    let done = ending::SyncDone {
                        job_type: job.doc.job_type,
                        status,
                        error,
                        counts: Some((
                            job.doc.indexed_document_count,
                            job.doc.deleted_document_count,
                        )),
                        cursor: None,
                    };
                    let fields = Value::Object(done.fields(now));
                    return Some(planned(doc, Then::GiveUp { fields }));
                }
                let next = Dispatch {
                    at: Some(now),
                    slice,
                    resumes: resumes + 1,
                    progress,
                };
                let then = Then::Resume {
                    message: JobMessage::new(&job_id, slice),
                    resumes: next.resumes,
                };
                Some(planned(dispatch_doc(&next), then))
            }
        }
    }

    /// Writes a page of decisions, each guarded by the version it was decided from, and does
    /// what follows from those written.
    async fn apply(&self, chunk: &[Planned], report: &mut TickReport) {
        let items: Vec<UpdateItem<'_, Value>> = chunk
            .iter()
            .map(|p| UpdateItem {
                id: &p.job_id,
                doc: &p.doc,
                if_seq_no: Some(p.seq),
            })
            .collect();
        let outcomes = match self
            .engine
            .es()
            .bulk_update(SYNC_JOBS_INDEX, &items, Refresh::True)
            .await
        {
            Ok(outcomes) => outcomes,
            Err(e) => {
                for p in chunk {
                    warn!(job_id = %p.job_id, error = %e, "dispatch failed for job");
                    report.errors.push(format!("job {}: {e}", p.job_id));
                }
                return;
            }
        };
        // Messages to queue, per connector in the order of the listing (oldest job first), as
        // indices into `chunk` (closures taking borrowed items make the pass's future fail
        // `Send` checks).
        let mut sends: Vec<Vec<usize>> = Vec::new();
        let mut groups: HashMap<&str, usize> = HashMap::new();
        for (i, (p, outcome)) in chunk.iter().zip(outcomes).enumerate() {
            match outcome {
                UpdateOutcome::Updated(_) => {}
                UpdateOutcome::Conflict => {
                    debug!(job_id = %p.job_id, "another scheduler or a worker updated this job first");
                    continue;
                }
                UpdateOutcome::Missing => {
                    debug!(job_id = %p.job_id, "job deleted during the pass");
                    continue;
                }
                UpdateOutcome::Failed {
                    status,
                    error_type,
                    reason,
                } => {
                    warn!(job_id = %p.job_id, status, error_type, reason, "dispatch failed for job");
                    report.errors.push(format!(
                        "job {}: Elasticsearch answered {status} {error_type}: {reason}",
                        p.job_id
                    ));
                    continue;
                }
            }
            match &p.then {
                Then::Canceled => report.canceled_jobs += 1,
                Then::Orphaned => report.failed_jobs += 1,
                Then::GiveUp { fields } => {
                    match self
                        .engine
                        .store()
                        .update_connector(&p.connector_id, fields, None)
                        .await
                    {
                        Ok(_) => report.failed_jobs += 1,
                        Err(e) => {
                            let e = write_err(e);
                            warn!(job_id = %p.job_id, error = %e, "dispatch failed for job");
                            report.errors.push(format!("job {}: {e}", p.job_id));
                        }
                    }
                }
                Then::Dispatch(_) | Then::Resume { .. } => {
                    match groups.get(p.connector_id.as_str()) {
                        Some(&g) => sends[g].push(i),
                        None => {
                            groups.insert(&p.connector_id, sends.len());
                            sends.push(vec![i]);
                        }
                    }
                }
            }
        }
        let queue = &self.queue;
        let sent: Vec<Vec<(usize, Result<(), EngineError>)>> = stream::iter(sends)
            .map(|group| async move {
                let mut results = Vec::with_capacity(group.len());
                for i in group {
                    let p = &chunk[i];
                    let message = match &p.then {
                        Then::Dispatch(m) => m,
                        Then::Resume { message, resumes } => {
                            info!(
                                job_id = %p.job_id,
                                slice = message.slice,
                                resumes,
                                "resuming a job whose worker vanished"
                            );
                            message
                        }
                        _ => continue,
                    };
                    let result = queue.send(message, Duration::ZERO).await;
                    results.push((i, result.map_err(EngineError::from)));
                }
                results
            })
            .buffer_unordered(SEND_CONCURRENCY)
            .collect()
            .await;
        for (i, result) in sent.into_iter().flatten() {
            let p = &chunk[i];
            match (result, &p.then) {
                (Ok(()), Then::Resume { .. }) => report.resumed += 1,
                (Ok(()), _) => report.dispatched += 1,
                (Err(e), _) => {
                    warn!(job_id = %p.job_id, error = %e, "dispatch failed for job");
                    report.errors.push(format!("job {}: {e}", p.job_id));
                }
            }
        }
    }
}

/// The partial update recording a dispatch.
fn dispatch_doc(d: &Dispatch) -> Value {
    json!({"metadata": { DISPATCH_KEY: d }})
}

/// Where a job stands, for telling whether it progressed between two resumes. A split job's
/// progress is its partitions' (each resume of it numbers a new job slice, progress or not).
fn progress_mark(cp: &Checkpoint, parts: &Partitions) -> String {
    if cp.is_fanned_out() {
        let slices: u64 = parts.values().map(|p| p.slice).sum();
        let pages: u64 = parts.values().map(|p| p.pages).sum();
        let listed = parts.values().filter(|p| p.is_listed()).count();
        return format!("partitions/{slices}/{pages}/{listed}");
    }
    format!(
        "{}/{}/{:?}/{}",
        cp.slice,
        cp.pages,
        cp.phase,
        cp.before_delete.map_or(-1, |n| n as i64)
    )
}

fn parse_job(id: &str, mut source: Value) -> Result<SyncJob, serde_json::Error> {
    if let Some(m) = source.as_object_mut() {
        m.insert("id".into(), Value::String(id.to_string()));
    }
    serde_json::from_value(source)
}
