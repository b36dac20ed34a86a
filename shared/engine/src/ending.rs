//! How a sync job ends, in one place. Every ending (completed, error, canceled, suspended, a
//! job whose connector is gone, a job whose worker vanished) writes the job document as the
//! reference's `SyncJob._terminate` and the connector as its `Connector.sync_done`, through the
//! builders here; the sync loop and the scheduler only say which ending it is.
//!
//! Transitions are those of the protocol's sync job state machine. Two endings the reference
//! performs are not in Elasticsearch's machine (a job that never started ending in `error`: its
//! connector is gone, or its queue messages keep failing): they are written, as the reference
//! writes them, with a warning. A job that already ended is never rewritten.

use connectors_protocol::{ACL_INDEX_PREFIX, ConnectorStatus, JobType, SyncStatus, Timestamp};
use es_client::EsError;
use serde_json::{Map, Value, json};
use tracing::warn;

use crate::checkpoint::Counters;
use crate::store::WriteError;
use crate::sync::Run;

/// The reference's error for a job that failed without saying why.
pub const UNKNOWN_ERROR: &str = "unknown error";

/// The status a job moves to from `from`, or `None` when `from` already ended the job.
pub(crate) fn transition(job_id: &str, from: SyncStatus, to: SyncStatus) -> Option<SyncStatus> {
    if from.is_terminal() {
        return None;
    }
    if let Err(illegal) = from.transition(to) {
        warn!(job_id, %illegal, "ending the job outside Elasticsearch's sync job state machine, as the reference does");
    }
    Some(to)
}

/// The job document's fields of an ending (`SyncJob._terminate`), without counters.
pub(crate) fn job_fields(
    status: SyncStatus,
    error: Option<&str>,
    now: Timestamp,
) -> Map<String, Value> {
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
    doc
}

/// The counters a job reports in its document.
pub(crate) fn job_counters(doc: &mut Map<String, Value>, counters: &Counters) {
    doc.insert("indexed_document_count".into(), json!(counters.indexed));
    doc.insert(
        "indexed_document_volume".into(),
        json!(counters.volume_mib()),
    );
    doc.insert("deleted_document_count".into(), json!(counters.deleted));
}

/// What the connector records of a job that ended (`Connector.sync_done`).
pub(crate) struct SyncDone {
    pub job_type: JobType,
    pub status: SyncStatus,
    pub error: Option<String>,
    /// `(indexed, deleted)` of a job that ended for good.
    pub counts: Option<(u64, u64)>,
    /// The source's cursor after a completed content sync (`Some(None)` clears it).
    pub cursor: Option<Option<Value>>,
}

impl SyncDone {
    /// The connector's fields: its status is `error` after a failed job and `connected`
    /// otherwise, for content and access-control jobs alike; the job's status and error go to
    /// the fields of its family.
    pub fn fields(self, now: Timestamp) -> Map<String, Value> {
        let error = match (self.status, self.error) {
            (SyncStatus::Error, None) => Some(UNKNOWN_ERROR.to_string()),
            (_, e) => e,
        };
        let connector_status = if self.status == SyncStatus::Error {
            ConnectorStatus::Error
        } else {
            ConnectorStatus::Connected
        };
        let mut doc = Map::new();
        doc.insert("last_synced".into(), json!(now));
        doc.insert("status".into(), json!(connector_status));
        doc.insert("error".into(), json!(error));
        let (status_field, error_field) = family_fields(self.job_type);
        doc.insert(status_field.into(), json!(self.status));
        doc.insert(error_field.into(), json!(error));
        if let Some(cursor) = self.cursor {
            doc.insert("sync_cursor".into(), json!(cursor));
        }
        if let Some((indexed, deleted)) = self.counts.filter(|_| self.status.is_terminal()) {
            doc.insert("last_indexed_document_count".into(), json!(indexed));
            doc.insert("last_deleted_document_count".into(), json!(deleted));
        }
        doc
    }
}

/// The connector's fields of a job that starts (`Connector.sync_starts`): the lock of its
/// family.
pub(crate) fn sync_starts(job_type: JobType) -> Value {
    let (status_field, error_field) = family_fields(job_type);
    json!({
        "status": ConnectorStatus::Connected,
        "error": null,
        status_field: SyncStatus::InProgress,
        error_field: null,
    })
}

/// `last_*_sync_status` and `last_*_sync_error` of a job's family.
fn family_fields(job_type: JobType) -> (&'static str, &'static str) {
    if job_type == JobType::AccessControl {
        (
            "last_access_control_sync_status",
            "last_access_control_sync_error",
        )
    } else {
        ("last_sync_status", "last_sync_error")
    }
}

impl Run<'_> {
    /// Ends the job and releases the connector, as the reference's `_sync_done`. `index` is
    /// given by a completed sync, whose total is counted after a refresh.
    pub(crate) async fn terminate(
        &mut self,
        status: SyncStatus,
        error: Option<String>,
        index: Option<&str>,
    ) -> Result<(), EsError> {
        let Some(status) = transition(&self.job_id, self.job.status, status) else {
            return Ok(());
        };
        let es = self.engine.es();
        let now = Timestamp::now();
        let mut total = None;
        // An access-control job reports the total of the connector's content index, as the
        // reference does, not of the identities it wrote.
        let acl = self.job.job_type == JobType::AccessControl;
        let content = |i: &'_ str| -> String {
            match i.strip_prefix(ACL_INDEX_PREFIX) {
                Some(content) if acl => content.to_string(),
                _ => i.to_string(),
            }
        };
        if let Some(index) = index.filter(|_| !acl) {
            es.refresh(index).await?;
            total = Some(es.count(index, None).await?);
        } else if let Some(index) = self.job.connector.index_name.as_deref().map(content)
            && es.indices().exists(&index).await.unwrap_or(false)
        {
            let index = index.as_str();
            // Refreshed first, or the count lags behind what this job indexed (a job failed
            // mid-sync reported 9,000 documents in the index for 13,800 indexed).
            let _ = es.refresh(index).await;
            total = es.count(index, None).await.ok();
        }
        self.cp.lease = None;
        let counters = self.total_counters();
        let mut doc = job_fields(status, error.as_deref(), now);
        job_counters(&mut doc, &counters);
        if let Some(total) = total {
            doc.insert("total_document_count".into(), json!(total));
        }
        let mut metadata = self.metadata_patch();
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
        let done = SyncDone {
            job_type: self.job.job_type,
            status,
            error,
            counts: Some((counters.indexed, counters.deleted)),
            cursor: (status == SyncStatus::Completed
                && self.job.job_type != JobType::AccessControl)
                .then(|| self.cp.sync_cursor.clone()),
        };
        let connector = Value::Object(done.fields(now));
        match self
            .engine
            .store
            .update_connector(&self.job.connector.id, &connector, None)
            .await
        {
            Ok(_) | Err(WriteError::Conflict) => {}
            Err(WriteError::Es(e)) if e.is_not_found() => {}
            Err(WriteError::Es(e)) => return Err(e),
        }
        match self.engine.store.update_job(&self.job_id, &doc, None).await {
            Ok(seq) => {
                self.seq = seq;
                self.job.status = status;
            }
            Err(WriteError::Es(e)) if e.is_not_found() => {}
            Err(WriteError::Es(e)) => return Err(e),
            Err(WriteError::Conflict) => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        Timestamp::now()
    }

    #[test]
    fn access_control_jobs_set_the_connector_status_too() {
        let fields = SyncDone {
            job_type: JobType::AccessControl,
            status: SyncStatus::Error,
            error: None,
            counts: None,
            cursor: None,
        }
        .fields(now());
        assert_eq!(fields["status"], json!("error"));
        assert_eq!(fields["error"], json!(UNKNOWN_ERROR));
        assert_eq!(fields["last_access_control_sync_status"], json!("error"));
        assert_eq!(
            fields["last_access_control_sync_error"],
            json!(UNKNOWN_ERROR)
        );
        assert!(!fields.contains_key("last_sync_status"));

        let fields = SyncDone {
            job_type: JobType::Full,
            status: SyncStatus::Canceled,
            error: None,
            counts: Some((3, 1)),
            cursor: None,
        }
        .fields(now());
        assert_eq!(fields["status"], json!("connected"));
        assert_eq!(fields["error"], Value::Null);
        assert_eq!(fields["last_sync_status"], json!("canceled"));
        assert_eq!(fields["last_indexed_document_count"], json!(3));
        assert_eq!(fields["last_deleted_document_count"], json!(1));
        assert!(!fields.contains_key("sync_cursor"));
    }

    #[test]
    fn suspended_jobs_report_no_last_counts() {
        let fields = SyncDone {
            job_type: JobType::Incremental,
            status: SyncStatus::Suspended,
            error: None,
            counts: Some((3, 1)),
            cursor: Some(None),
        }
        .fields(now());
        assert!(!fields.contains_key("last_indexed_document_count"));
        assert_eq!(fields["sync_cursor"], Value::Null);
    }

    #[test]
    fn job_fields_follow_terminate() {
        let canceled = job_fields(SyncStatus::Canceled, None, now());
        assert!(canceled.contains_key("completed_at") && canceled.contains_key("canceled_at"));
        assert_eq!(canceled["error"], Value::Null);
        let suspended = job_fields(SyncStatus::Suspended, None, now());
        assert!(!suspended.contains_key("completed_at"));
        let failed = job_fields(SyncStatus::Error, Some("boom"), now());
        assert_eq!(failed["error"], json!("boom"));
        assert!(!failed.contains_key("canceled_at"));
    }

    #[test]
    fn finished_jobs_are_never_reopened() {
        assert_eq!(
            transition("j", SyncStatus::Completed, SyncStatus::Error),
            None
        );
        assert_eq!(
            transition("j", SyncStatus::InProgress, SyncStatus::Completed),
            Some(SyncStatus::Completed)
        );
        // Outside Elasticsearch's machine, but what the reference does to an orphaned job.
        assert_eq!(
            transition("j", SyncStatus::Pending, SyncStatus::Error),
            Some(SyncStatus::Error)
        );
    }

    #[test]
    fn the_lock_names_the_family() {
        let lock = sync_starts(JobType::AccessControl);
        assert_eq!(
            lock["last_access_control_sync_status"],
            json!("in_progress")
        );
        assert_eq!(lock["status"], json!("connected"));
        assert!(lock.get("last_sync_status").is_none());
        let lock = sync_starts(JobType::Full);
        assert_eq!(lock["last_sync_status"], json!("in_progress"));
    }
}
