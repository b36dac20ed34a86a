//! One scheduler pass (`tick`), as the reference's scheduling and cleanup services do it:
//! prepare and check in the served connectors, validate their configuration and draft sync
//! rules, create due scheduled jobs, and dispatch every job that needs a worker.
//!
//! Everything a pass decides is written with optimistic concurrency, so two schedulers running
//! at once never create the same scheduled job twice nor dispatch one job attempt twice.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use connectors_protocol::{
    CONNECTORS_INDEX, Connector, ConnectorStatus, JobType, SYNC_JOBS_INDEX, SyncJob, SyncStatus,
    Timestamp, TriggerMethod, ValidationState, validate_configuration,
};
use es_client::{SearchParams, SeqNo};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use tracing::{debug, info, warn};

use crate::checkpoint::Checkpoint;
use crate::ending;
use crate::engine::{Engine, EngineError};
use crate::queue::{JobMessage, JobQueue};
use crate::store::{Versioned, WriteError};
use connectors_protocol::rules::validate_basic_rules;
use connectors_protocol::schedule::CronSchedule;
use connectors_sdk::SourceDescriptor;

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
        let mut report = self.schedule_only().await?;
        self.dispatch(&mut report).await?;
        Ok(report)
    }

    /// Only the connector half of a pass (prepare, check in, validate, create due jobs): where
    /// Elasticsearch's pending jobs are the queue, dispatching is the workers' business.
    pub async fn schedule_only(&self) -> Result<TickReport, EngineError> {
        let mut report = TickReport::default();
        let connectors = self.served_connectors().await?;
        report.connectors = connectors.len();
        for c in connectors {
            let id = c.0.doc.id.clone().unwrap_or_default();
            if let Err(e) = self.schedule_connector(c, &mut report).await {
                warn!(connector_id = %id, error = %e, "scheduling pass failed for connector");
                report.errors.push(format!("connector {id}: {e}"));
            }
        }
        Ok(report)
    }

    /// Only the job half of a pass: what `connectors work` needs between separate processes.
    pub async fn dispatch_only(&self) -> Result<TickReport, EngineError> {
        let mut report = TickReport::default();
        self.dispatch(&mut report).await?;
        Ok(report)
    }

    fn is_served(&self, connector: &Connector) -> bool {
        let id = connector.id.as_deref().unwrap_or("");
        self.config.connectors.iter().any(|c| c.connector_id == id)
            || (!connector.is_native
                && connector
                    .service_type
                    .as_deref()
                    .is_some_and(|t| self.config.service_types.iter().any(|s| s == t)))
    }

    /// The reference's `supported_connectors`: configured ids, or (worker mode) non-native
    /// connectors of the configured service types; never deleted ones.
    async fn served_connectors(&self) -> Result<Vec<(Versioned<Connector>, Value)>, EngineError> {
        let ids: Vec<&str> = self
            .config
            .connectors
            .iter()
            .map(|c| c.connector_id.as_str())
            .collect();
        let mut should = Vec::new();
        if !ids.is_empty() {
            should.push(json!({"ids": {"values": ids}}));
        }
        if !self.config.service_types.is_empty() {
            should.push(json!({"bool": {"filter": [
                {"terms": {"service_type": self.config.service_types}},
                {"term": {"is_native": false}},
            ]}}));
        }
        if should.is_empty() {
            return Ok(Vec::new());
        }
        let query = json!({"bool": {"should": should, "minimum_should_match": 1,
            "must_not": [{"term": {"deleted": true}}]}});
        let hits = self
            .search_all(
                CONNECTORS_INDEX,
                query,
                json!([{"index_name": {"order": "asc", "unmapped_type": "keyword"}}]),
            )
            .await?;
        let mut out = Vec::new();
        for (id, seq, source) in hits {
            match parse_doc::<Connector>(&id, source.clone()) {
                Ok(doc) => out.push((Versioned { doc, seq }, source)),
                Err(e) => {
                    warn!(connector_id = %id, error = %e, "skipping an unreadable connector document");
                }
            }
        }
        Ok(out)
    }

    /// Searches every matching document in pages of 100, as the reference lists.
    async fn search_all(
        &self,
        index: &str,
        query: Value,
        sort: Value,
    ) -> Result<Vec<(String, SeqNo, Value)>, EngineError> {
        let es = self.engine.es();
        let mut out = Vec::new();
        let mut from = 0usize;
        let params = SearchParams::default()
            .seq_no_primary_term()
            .expand_wildcards("hidden")
            .ignore_unavailable();
        loop {
            let body = json!({"query": query, "sort": sort, "from": from, "size": 100});
            let page = match es.search::<Value>(index, &body, &params).await {
                Ok(p) => p,
                // No connector index yet: nothing to serve.
                Err(e) if e.is_not_found() => return Ok(out),
                Err(e) => return Err(e.into()),
            };
            let n = page.hits.hits.len();
            for hit in page.hits.hits {
                let Some(seq) = hit.seq_no_primary_term() else {
                    continue;
                };
                if let Some(source) = hit.source {
                    out.push((hit.id, seq, source));
                }
            }
            from += n;
            if n < 100 || from >= 10_000 {
                return Ok(out);
            }
        }
    }

    async fn schedule_connector(
        &self,
        (mut c, raw): (Versioned<Connector>, Value),
        report: &mut TickReport,
    ) -> Result<(), EngineError> {
        let id = c.doc.id.clone().unwrap_or_default();
        let configured = self.config.connectors.iter().find(|s| s.connector_id == id);
        let Some(service_type) = c
            .doc
            .service_type
            .clone()
            .or_else(|| configured.and_then(|s| s.service_type.clone()))
        else {
            info!(connector_id = %id, "Service type is not configured");
            return Ok(());
        };
        let Some(descriptor) = self.engine.sources().get(&service_type) else {
            debug!(connector_id = %id, service_type, "cannot handle this service type");
            return Ok(());
        };

        // prepare(): service type, configuration schema (or back-filled fields), features.
        let mut update = Map::new();
        if c.doc.service_type.is_none() {
            update.insert("service_type".into(), json!(service_type));
        }
        let schema = descriptor.default_configuration();
        if c.doc.configuration.is_empty() {
            update.insert("configuration".into(), json!(schema));
            update.insert("status".into(), json!(ConnectorStatus::NeedsConfiguration));
        } else if let Some(patch) = raw
            .get("configuration")
            .and_then(|stored| connectors_protocol::backfill(stored, &schema))
        {
            update.insert("configuration".into(), patch);
        }
        let features = descriptor.features().to_features();
        let current = c
            .doc
            .features
            .as_ref()
            .map(|f| serde_json::to_value(f).unwrap_or_default());
        if current != Some(serde_json::to_value(&features).unwrap_or_default()) {
            update.insert("features".into(), json!(features));
        }
        if !update.is_empty() {
            match self
                .engine
                .store()
                .update_connector(&id, &update, Some(c.seq))
                .await
            {
                Ok(_) => {}
                // Someone else changed it: prepare again next pass.
                Err(WriteError::Conflict) => return Ok(()),
                Err(WriteError::Es(e)) => return Err(e.into()),
            }
            info!(connector_id = %id, "prepared connector");
            match self.engine.store().connector(&id).await? {
                Some(fresh) => c = fresh,
                None => return Ok(()),
            }
        }

        // Heartbeat.
        let due = c.doc.last_seen.is_none_or(|t| {
            Utc::now() - t.0
                >= chrono::Duration::from_std(self.config.heartbeat_interval).unwrap_or_default()
        });
        if due {
            self.engine.es().connectors().check_in(&id).await?;
        }

        match c.doc.status {
            ConnectorStatus::Created | ConnectorStatus::NeedsConfiguration => {
                info!(connector_id = %id, status = %c.doc.status, "connector is not configured yet; finish its configuration in Kibana");
                return Ok(());
            }
            _ => {}
        }

        // Configuration and source checks: connected, or error with a message.
        let check = self.check_source(descriptor, &c.doc).await;
        let (status, error) = match &check {
            Ok(()) => (ConnectorStatus::Connected, None),
            Err(message) => (ConnectorStatus::Error, Some(message.clone())),
        };
        if c.doc.status != status || c.doc.error != error {
            let doc = json!({"status": status, "error": error});
            self.engine
                .store()
                .update_connector(&id, &doc, None)
                .await
                .map_err(write_err)?;
            if let Some(message) = &error {
                warn!(connector_id = %id, error = %message, "connector check failed");
            }
        }
        if check.is_err() {
            return Ok(());
        }
        let features = c.doc.features();
        if features.basic_rules_enabled() || features.advanced_rules_enabled() {
            self.validate_draft_rules(descriptor, &c.doc).await?;
        }

        // Schedules.
        let supported = descriptor.features();
        let mut types = Vec::new();
        // The reference's order: access control, incremental, full.
        if features.document_level_security_enabled() && supported.document_level_security {
            types.push(JobType::AccessControl);
        }
        if features.incremental_sync_enabled() && supported.incremental_sync {
            types.push(JobType::Incremental);
        }
        types.push(JobType::Full);
        for job_type in types {
            if self.try_schedule(&id, job_type).await? {
                report.scheduled += 1;
            }
        }
        Ok(())
    }

    /// Builds the source from the connector's configuration and pings it.
    async fn check_source(
        &self,
        descriptor: &dyn SourceDescriptor,
        c: &Connector,
    ) -> Result<(), String> {
        let errors = validate_configuration(&c.configuration);
        if !errors.is_empty() {
            let messages: Vec<String> = errors.into_iter().map(|e| e.message).collect();
            return Err(format!("Field validation errors: {}", messages.join("; ")));
        }
        let source = descriptor
            .build(&c.configuration)
            .map_err(|e| format!("Invalid configuration: {e}"))?;
        source
            .validate_config()
            .await
            .map_err(|e| format!("Invalid configuration: {e}"))?;
        source
            .ping()
            .await
            .map_err(|e| format!("The source is not reachable: {e}"))
    }

    /// Validates a draft whose state is `edited`, writes the result, and activates it if valid.
    async fn validate_draft_rules(
        &self,
        descriptor: &dyn SourceDescriptor,
        c: &Connector,
    ) -> Result<(), EngineError> {
        let Some(entry) = c.default_filtering() else {
            return Ok(());
        };
        if entry.draft.validation.state != ValidationState::Edited {
            return Ok(());
        }
        let id = c.id.clone().unwrap_or_default();
        let mut validation = validate_basic_rules(&entry.draft.rules);
        if entry.draft.advanced_snippet.is_set() {
            let messages = if descriptor.features().advanced_rules {
                match descriptor.build(&c.configuration) {
                    Ok(source) => {
                        source
                            .validate_advanced_rules(&entry.draft.advanced_snippet.value)
                            .await
                    }
                    Err(e) => vec![format!("Cannot validate advanced rules: {e}")],
                }
            } else {
                vec!["This source does not support advanced sync rules.".to_string()]
            };
            if !messages.is_empty() {
                validation.state = ValidationState::Invalid;
                validation
                    .errors
                    .push(connectors_protocol::ValidationError {
                        ids: vec!["advanced_snippet".to_string()],
                        messages,
                    });
            }
        }
        let connectors = self.engine.es().connectors();
        connectors
            .update_filtering_validation(&id, &validation)
            .await?;
        if validation.state == ValidationState::Valid {
            connectors.activate_filtering(&id).await?;
            info!(connector_id = %id, "activated the validated draft sync rules");
        } else {
            info!(connector_id = %id, "draft sync rules are invalid");
        }
        Ok(())
    }

    /// Creates a scheduled job if one is due. The `last_*_scheduled_at` write, guarded by the
    /// connector's seq_no, is what makes two racing schedulers create it once.
    async fn try_schedule(&self, id: &str, job_type: JobType) -> Result<bool, EngineError> {
        let Some(c) = self.engine.store().connector(id).await? else {
            return Ok(false);
        };
        let Some(entry) = c.doc.scheduling.get(job_type).filter(|e| e.enabled) else {
            return Ok(false);
        };
        let field = match job_type {
            JobType::Full => "last_sync_scheduled_at",
            JobType::Incremental => "last_incremental_sync_scheduled_at",
            JobType::AccessControl => "last_access_control_sync_scheduled_at",
        };
        let schedule = match CronSchedule::parse(&entry.interval) {
            Ok(s) => s,
            Err(e) => {
                let doc = json!({"status": ConnectorStatus::Error, "error": e.to_string()});
                self.engine
                    .store()
                    .update_connector(id, &doc, None)
                    .await
                    .map_err(write_err)?;
                return Ok(false);
            }
        };
        let last = match job_type {
            JobType::Full => c.doc.last_sync_scheduled_at,
            JobType::Incremental => c.doc.last_incremental_sync_scheduled_at,
            JobType::AccessControl => c.doc.last_access_control_sync_scheduled_at,
        };
        let now = Utc::now();
        let Some(last) = last else {
            // Never scheduled: start counting from now, so the first run is the next one.
            let doc = json!({ field: Timestamp(now) });
            let _ = self
                .engine
                .store()
                .update_connector(id, &doc, Some(c.seq))
                .await;
            return Ok(false);
        };
        let Some(due) = schedule.latest_due(last.0, now) else {
            return Ok(false);
        };
        let doc = json!({ field: Timestamp(due) });
        match self
            .engine
            .store()
            .update_connector(id, &doc, Some(c.seq))
            .await
        {
            Ok(_) => {}
            Err(WriteError::Conflict) => {
                debug!(connector_id = %id, %job_type, "another scheduler took this run");
                return Ok(false);
            }
            Err(WriteError::Es(e)) => return Err(e.into()),
        }
        let job = self
            .engine
            .es()
            .sync_jobs()
            .create(id, job_type, TriggerMethod::Scheduled)
            .await?;
        info!(connector_id = %id, job_id = %job, %job_type, scheduled_for = %Timestamp(due), "created a scheduled sync job");
        Ok(true)
    }

    /// Queues every job that needs a worker, finishes what needs no worker.
    async fn dispatch(&self, report: &mut TickReport) -> Result<(), EngineError> {
        let query =
            json!({"terms": {"status": ["pending", "suspended", "in_progress", "canceling"]}});
        let hits = self
            .search_all(
                SYNC_JOBS_INDEX,
                query,
                json!([{"created_at": {"order": "asc", "unmapped_type": "date"}}]),
            )
            .await?;
        let mut connectors: HashMap<String, Option<Connector>> = HashMap::new();
        for (job_id, seq, source) in hits {
            let job = match parse_doc::<SyncJob>(&job_id, source) {
                Ok(j) => j,
                Err(e) => {
                    warn!(job_id = %job_id, error = %e, "skipping an unreadable sync job document");
                    continue;
                }
            };
            let connector_id = job.connector.id.clone();
            if !connectors.contains_key(&connector_id) {
                let c = self
                    .engine
                    .store()
                    .connector(&connector_id)
                    .await?
                    .map(|v| v.doc);
                connectors.insert(connector_id.clone(), c);
            }
            let connector = connectors.get(&connector_id).and_then(|c| c.as_ref());
            let result = self
                .dispatch_job(&job_id, Versioned { doc: job, seq }, connector, report)
                .await;
            if let Err(e) = result {
                warn!(job_id = %job_id, error = %e, "dispatch failed for job");
                report.errors.push(format!("job {job_id}: {e}"));
            }
        }
        Ok(())
    }

    async fn dispatch_job(
        &self,
        job_id: &str,
        job: Versioned<SyncJob>,
        connector: Option<&Connector>,
        report: &mut TickReport,
    ) -> Result<(), EngineError> {
        let store = self.engine.store();
        let now = Timestamp::now();
        let Some(connector) = connector.filter(|c| !c.is_deleted()) else {
            // The reference's cleanup: jobs of connectors that no longer exist end in error.
            let error = format!(
                "Connector is not found for connector ID {}.",
                job.doc.connector.id
            );
            let Some(status) = ending::transition(job_id, job.doc.status, SyncStatus::Error) else {
                return Ok(());
            };
            let doc = Value::Object(ending::job_fields(status, Some(&error), now));
            store
                .update_job(job_id, &doc, Some(job.seq))
                .await
                .map_err(write_err)?;
            report.failed_jobs += 1;
            return Ok(());
        };
        if !self.is_served(connector) {
            return Ok(());
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
                store
                    .update_job(job_id, &doc, Some(job.seq))
                    .await
                    .map_err(write_err)?;
                report.canceled_jobs += 1;
                Ok(())
            }
            SyncStatus::Pending | SyncStatus::Suspended => {
                let recently = age(dispatch.at).is_some_and(|a| a < self.config.redispatch_after);
                if recently {
                    return Ok(());
                }
                let next = Dispatch {
                    at: Some(now),
                    slice,
                    ..dispatch
                };
                if self.record_dispatch(job_id, job.seq, &next).await? {
                    self.queue
                        .send(&JobMessage::new(job_id, slice), Duration::ZERO)
                        .await?;
                    report.dispatched += 1;
                }
                Ok(())
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
                    return Ok(());
                }
                let progress = cp.as_ref().map(progress_mark);
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
                    store
                        .update_job(job_id, &doc, Some(job.seq))
                        .await
                        .map_err(write_err)?;
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
                    store
                        .update_connector(
                            &job.doc.connector.id,
                            &Value::Object(done.fields(now)),
                            None,
                        )
                        .await
                        .map_err(write_err)?;
                    report.failed_jobs += 1;
                    return Ok(());
                }
                let next = Dispatch {
                    at: Some(now),
                    slice,
                    resumes: resumes + 1,
                    progress,
                };
                if self.record_dispatch(job_id, job.seq, &next).await? {
                    info!(
                        job_id,
                        slice,
                        resumes = next.resumes,
                        "resuming a job whose worker vanished"
                    );
                    self.queue
                        .send(&JobMessage::new(job_id, slice), Duration::ZERO)
                        .await?;
                    report.resumed += 1;
                }
                Ok(())
            }
        }
    }

    /// Records a dispatch on the job, guarded by its seq_no: `false` if another scheduler did.
    async fn record_dispatch(
        &self,
        job_id: &str,
        seq: SeqNo,
        d: &Dispatch,
    ) -> Result<bool, EngineError> {
        let doc = json!({"metadata": { DISPATCH_KEY: d }});
        match self
            .engine
            .store()
            .update_job(job_id, &doc, Some(seq))
            .await
        {
            Ok(_) => Ok(true),
            Err(WriteError::Conflict) => Ok(false),
            Err(WriteError::Es(e)) => Err(e.into()),
        }
    }
}

/// Where a job stands, for telling whether it progressed between two resumes.
fn progress_mark(cp: &Checkpoint) -> String {
    format!(
        "{}/{}/{:?}/{}",
        cp.slice,
        cp.pages,
        cp.phase,
        cp.before_delete.map_or(-1, |n| n as i64)
    )
}

fn write_err(e: WriteError) -> EngineError {
    match e {
        WriteError::Es(e) => EngineError::Es(e),
        WriteError::Conflict => EngineError::Conflict("the document".into()),
    }
}

fn parse_doc<T: serde::de::DeserializeOwned>(
    id: &str,
    mut source: Value,
) -> Result<T, serde_json::Error> {
    if let Some(m) = source.as_object_mut() {
        m.insert("id".into(), Value::String(id.to_string()));
    }
    serde_json::from_value(source)
}
