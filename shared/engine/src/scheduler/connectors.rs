//! The connector half of a pass: list the served connectors, decide for each ([`super::plan`]),
//! check their sources a few at a time, write every decision as one guarded partial update in
//! one `_bulk` per page, and create the due scheduled jobs of the connectors whose update was
//! written. A connector written by someone else since it was listed is read again (one `_mget`)
//! and decided once more; a second loss means another scheduler is at work on it.

use std::collections::{HashMap, HashSet};

use chrono::Utc;
use connectors_protocol::{
    CONNECTORS_INDEX, Connector, TriggerMethod, ValidationState, validate_configuration,
};
use connectors_sdk::SourceDescriptor;
use es_client::{Refresh, SeqNo, UpdateItem, UpdateOutcome};
use futures_util::{StreamExt, stream};
use serde_json::{Value, json};
use tracing::{debug, info, warn};

use super::listing::{Listed, list_all};
use super::plan::{self, Draft, Stage};
use super::{Scheduler, TickReport};
use crate::engine::EngineError;
use connectors_protocol::rules::validate_basic_rules;

/// Scheduled jobs created at once.
const JOB_CONCURRENCY: usize = 8;

/// A source check's outcome, with the configuration it was made against.
type Checked = HashMap<String, (Value, Result<(), String>)>;

impl Scheduler {
    /// Lists, decides, checks and writes every served connector; returns the ids listed.
    pub(super) async fn schedule_connectors(
        &self,
        report: &mut TickReport,
    ) -> Result<HashSet<String>, EngineError> {
        let listed = self.served_connectors().await?;
        report.connectors = listed.len();
        let served = listed.iter().map(|(l, _)| l.id.clone()).collect();
        let mut listed = listed.into_iter().peekable();
        while listed.peek().is_some() {
            let page: Vec<(Listed, Connector)> = listed.by_ref().take(self.page_size()).collect();
            self.schedule_page(page, report).await;
        }
        Ok(served)
    }

    /// The reference's `supported_connectors`: configured ids, or (worker mode) non-native
    /// connectors of the configured service types; never deleted ones. Unreadable documents
    /// are skipped.
    async fn served_connectors(&self) -> Result<Vec<(Listed, Connector)>, EngineError> {
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
        // The cursor a sync leaves can be large, and a pass never needs it.
        let listed = list_all(
            self.engine.es(),
            CONNECTORS_INDEX,
            query,
            json!([{"_shard_doc": "asc"}]),
            &["sync_cursor"],
            self.page_size(),
        )
        .await?;
        Ok(listed
            .into_iter()
            .filter_map(|l| match plan::parse_connector(&l.id, l.source.clone()) {
                Ok(doc) => Some((l, doc)),
                Err(e) => {
                    warn!(connector_id = %l.id, error = %e, "skipping an unreadable connector document");
                    None
                }
            })
            .collect())
    }

    /// One page of connectors: decide, check, write, create jobs; then once more for the
    /// connectors written meanwhile.
    async fn schedule_page(&self, page: Vec<(Listed, Connector)>, report: &mut TickReport) {
        let mut drafts = Vec::new();
        let mut to_check = Vec::new();
        for (listed, doc) in page {
            match self.stage(&listed.id, listed.seq, (listed.source, doc)) {
                Ok(Stage::Skip) => {}
                Ok(Stage::Done(d)) => drafts.push(d),
                Ok(Stage::Check(d)) => to_check.push(d),
                Err(e) => report.errors.push(format!("connector {}: {e}", listed.id)),
            }
        }
        // By index: closures taking borrowed items make the pass's future fail `Send` checks.
        let to_check_ref = &to_check;
        let checks: Vec<Result<(), String>> = stream::iter(0..to_check.len())
            .map(|i| async move {
                let d = &to_check_ref[i];
                check_source(d.descriptor, &d.doc).await
            })
            .buffered(self.config.check_concurrency.max(1))
            .collect()
            .await;
        // Runs come due by the time the checks end.
        let now = Utc::now();
        let mut checked = Checked::new();
        let mut again = Vec::new();
        for (mut d, check) in to_check.into_iter().zip(checks) {
            checked.insert(d.id.clone(), (d.configuration.clone(), check.clone()));
            if plan::after_check(&mut d, &check) {
                if plan::needs_rule_validation(&d.doc) {
                    // Rare (a draft was edited): validated through the API, which changes the
                    // document, so it is read again and decided with the rules it now has.
                    match self.validate_draft_rules(d.descriptor, &d.doc).await {
                        Ok(()) => {
                            again.push(d.id.clone());
                            continue;
                        }
                        Err(e) => report.errors.push(format!("connector {}: {e}", d.id)),
                    }
                } else {
                    plan::schedule(&mut d, now);
                }
            }
            drafts.push(d);
        }
        again.extend(self.write(drafts, report).await);
        if again.is_empty() {
            return;
        }
        // Written by someone else since it was read: decide once more from a fresh read.
        let ids: Vec<&str> = again.iter().map(String::as_str).collect();
        let fresh = match self
            .engine
            .es()
            .mget::<Value>(CONNECTORS_INDEX, &ids, None)
            .await
        {
            Ok(docs) => docs,
            Err(e) => {
                for id in &again {
                    report.errors.push(format!("connector {id}: {e}"));
                }
                return;
            }
        };
        let now = Utc::now();
        let mut drafts = Vec::new();
        for doc in fresh.into_iter().flatten() {
            let Some(seq) = doc.seq_no else { continue };
            let mut source = doc.source;
            if let Some(m) = source.as_object_mut() {
                m.remove("sync_cursor");
            }
            let staged = plan::parse_connector(&doc.id, source.clone())
                .and_then(|parsed| self.stage(&doc.id, seq, (source, parsed)));
            match staged {
                Ok(Stage::Skip) => {}
                Ok(Stage::Done(d)) => drafts.push(d),
                Ok(Stage::Check(mut d)) => {
                    // The check stands while the configuration it was made against does.
                    let Some((_, check)) = checked
                        .get(&d.id)
                        .filter(|(configuration, _)| *configuration == d.configuration)
                    else {
                        debug!(connector_id = %d.id, "configuration changed during the pass; checked next pass");
                        continue;
                    };
                    if plan::after_check(&mut d, check) && !plan::needs_rule_validation(&d.doc) {
                        plan::schedule(&mut d, now);
                    }
                    drafts.push(d);
                }
                Err(e) => report.errors.push(format!("connector {}: {e}", doc.id)),
            }
        }
        for id in self.write(drafts, report).await {
            debug!(connector_id = %id, "another scheduler is updating this connector");
        }
    }

    fn stage(
        &self,
        id: &str,
        seq: SeqNo,
        listed: (Value, Connector),
    ) -> Result<Stage<'_>, serde_json::Error> {
        let configured = self.config.connectors.iter().find(|s| s.connector_id == id);
        plan::stage(
            self.engine.sources(),
            configured,
            id,
            seq,
            listed,
            self.config.heartbeat_interval,
            Utc::now(),
        )
    }

    /// Writes every non-empty update, each guarded by the version it was decided from, then
    /// creates the jobs of the connectors written. Returns the connectors that were written by
    /// someone else meanwhile (nothing of theirs was written).
    async fn write(&self, drafts: Vec<Draft<'_>>, report: &mut TickReport) -> Vec<String> {
        let drafts: Vec<Draft<'_>> = drafts
            .into_iter()
            .filter(|d| !d.update.is_empty())
            .collect();
        let mut conflicts = Vec::new();
        let mut to_create = Vec::new();
        for chunk in drafts.chunks(self.page_size()) {
            let docs: Vec<Value> = chunk
                .iter()
                .map(|d| Value::Object(d.update.clone()))
                .collect();
            let items: Vec<UpdateItem<'_, Value>> = chunk
                .iter()
                .zip(&docs)
                .map(|(d, doc)| UpdateItem {
                    id: &d.id,
                    doc,
                    if_seq_no: Some(d.seq),
                })
                .collect();
            let outcomes = match self
                .engine
                .es()
                .bulk_update(CONNECTORS_INDEX, &items, Refresh::True)
                .await
            {
                Ok(outcomes) => outcomes,
                Err(e) => {
                    for d in chunk {
                        warn!(connector_id = %d.id, error = %e, "scheduling pass failed for connector");
                        report.errors.push(format!("connector {}: {e}", d.id));
                    }
                    continue;
                }
            };
            for (d, outcome) in chunk.iter().zip(outcomes) {
                match outcome {
                    UpdateOutcome::Updated(_) => {
                        if d.prepared {
                            info!(connector_id = %d.id, "prepared connector");
                        }
                        if !d.jobs.is_empty() {
                            to_create.push((d.id.clone(), d.jobs.clone()));
                        }
                    }
                    UpdateOutcome::Conflict => conflicts.push(d.id.clone()),
                    UpdateOutcome::Missing => {
                        debug!(connector_id = %d.id, "connector deleted during the pass")
                    }
                    UpdateOutcome::Failed {
                        status,
                        error_type,
                        reason,
                    } => {
                        warn!(connector_id = %d.id, status, error_type, reason, "scheduling pass failed for connector");
                        report.errors.push(format!(
                            "connector {}: Elasticsearch answered {status} {error_type}: {reason}",
                            d.id
                        ));
                    }
                }
            }
        }
        let es = self.engine.es();
        let created: Vec<(String, Result<usize, EngineError>)> = stream::iter(to_create)
            .map(|(id, jobs)| async move {
                let mut created = 0;
                for (job_type, due) in jobs {
                    match es
                        .sync_jobs()
                        .create(&id, job_type, TriggerMethod::Scheduled)
                        .await
                    {
                        Ok(job) => {
                            info!(connector_id = %id, job_id = %job, %job_type, scheduled_for = %due, "created a scheduled sync job");
                            created += 1;
                        }
                        Err(e) => return (id, Err(e.into())),
                    }
                }
                (id, Ok(created))
            })
            .buffer_unordered(JOB_CONCURRENCY)
            .collect()
            .await;
        for (id, result) in created {
            match result {
                Ok(n) => report.scheduled += n,
                Err(e) => {
                    warn!(connector_id = %id, error = %e, "could not create a scheduled sync job");
                    report.errors.push(format!("connector {id}: {e}"));
                }
            }
        }
        conflicts
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
}

/// Builds the source from the connector's configuration and pings it.
async fn check_source(descriptor: &dyn SourceDescriptor, c: &Connector) -> Result<(), String> {
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
