//! What one connector needs this pass, decided from its listed document alone (no I/O): the
//! reference's `prepare` (service type, configuration schema or back-filled fields, features),
//! the check-in once the heartbeat interval passed, the status a source check leads to, and
//! the scheduled runs that are due. The outcome is one partial update, to be written with the
//! version the document was read at, and the jobs to create once it is written.

use std::time::Duration;

use chrono::{DateTime, Utc};
use connectors_protocol::schedule::CronSchedule;
use connectors_protocol::{
    Connector, ConnectorStatus, JobType, Timestamp, ValidationState, backfill,
};
use connectors_sdk::{SourceDescriptor, SourceRegistry};
use es_client::SeqNo;
use serde_json::{Map, Value, json};
use tracing::{debug, info, warn};

use super::ServedConnector;

/// A connector on its way through the pass: as read, with the update decided so far applied.
pub(super) struct Draft<'a> {
    pub id: String,
    /// The version the update must be written against.
    pub seq: SeqNo,
    /// The document with the prepare fields of `update` merged in.
    pub doc: Connector,
    /// `configuration` as the source check sees it (to tell whether a re-read changed it).
    pub configuration: Value,
    pub descriptor: &'a dyn SourceDescriptor,
    /// The partial update to write.
    pub update: Map<String, Value>,
    /// Scheduled runs to create once `update` (which records them) is written.
    pub jobs: Vec<(JobType, Timestamp)>,
    /// Whether `update` prepares the connector (for the log).
    pub prepared: bool,
}

/// Where a connector stands after [`stage`].
pub(super) enum Stage<'a> {
    /// Not for this deployment (no service type, or one without a source here).
    Skip,
    /// Nothing to check: write what was decided (e.g. not configured yet).
    Done(Draft<'a>),
    /// The source must be checked against the configuration first.
    Check(Draft<'a>),
}

/// Prepares a listed connector (`raw` is its `_source`, `doc` the same parsed) and checks it
/// in, and says whether its source needs a check.
pub(super) fn stage<'a>(
    sources: &'a SourceRegistry,
    configured: Option<&ServedConnector>,
    id: &str,
    seq: SeqNo,
    (mut raw, doc): (Value, Connector),
    heartbeat: Duration,
    now: DateTime<Utc>,
) -> Result<Stage<'a>, serde_json::Error> {
    let Some(service_type) = doc
        .service_type
        .clone()
        .or_else(|| configured.and_then(|s| s.service_type.clone()))
    else {
        info!(connector_id = %id, "Service type is not configured");
        return Ok(Stage::Skip);
    };
    let Some(descriptor) = sources.get(&service_type) else {
        debug!(connector_id = %id, service_type, "cannot handle this service type");
        return Ok(Stage::Skip);
    };

    // prepare(): service type, configuration schema (or back-filled fields), features.
    let mut update = Map::new();
    if doc.service_type.is_none() {
        update.insert("service_type".into(), json!(service_type));
    }
    let schema = descriptor.default_configuration();
    if doc.configuration.is_empty() {
        update.insert("configuration".into(), json!(schema));
        update.insert("status".into(), json!(ConnectorStatus::NeedsConfiguration));
    } else if let Some(patch) = raw
        .get("configuration")
        .and_then(|stored| backfill(stored, &schema))
    {
        update.insert("configuration".into(), patch);
    }
    let features = serde_json::to_value(descriptor.features().to_features())?;
    let current = doc
        .features
        .as_ref()
        .map(serde_json::to_value)
        .transpose()?;
    if current.as_ref() != Some(&features) {
        update.insert("features".into(), features);
    }
    let prepared = !update.is_empty();
    let doc = if prepared {
        merge(&mut raw, &Value::Object(update.clone()));
        parse_connector(id, raw.clone())?
    } else {
        doc
    };

    // Heartbeat.
    let due = doc
        .last_seen
        .is_none_or(|t| now - t.0 >= chrono::Duration::from_std(heartbeat).unwrap_or_default());
    if due {
        update.insert("last_seen".into(), json!(Timestamp(now)));
    }

    let draft = Draft {
        id: id.to_string(),
        seq,
        configuration: raw.get("configuration").cloned().unwrap_or(Value::Null),
        doc,
        descriptor,
        update,
        jobs: Vec::new(),
        prepared,
    };
    match draft.doc.status {
        ConnectorStatus::Created | ConnectorStatus::NeedsConfiguration => {
            info!(connector_id = %id, status = %draft.doc.status, "connector is not configured yet; finish its configuration in Kibana");
            Ok(Stage::Done(draft))
        }
        _ => Ok(Stage::Check(draft)),
    }
}

/// Records the status a source check leads to (connected, or error with its message); `true`
/// when the connector may be scheduled.
pub(super) fn after_check(draft: &mut Draft<'_>, check: &Result<(), String>) -> bool {
    match check {
        Ok(()) => {
            set_status(draft, ConnectorStatus::Connected, None);
        }
        Err(message) => {
            if set_status(draft, ConnectorStatus::Error, Some(message.clone())) {
                warn!(connector_id = %draft.id, error = %message, "connector check failed");
            }
        }
    }
    check.is_ok()
}

/// Whether the connector's draft sync rules wait for a validation.
pub(super) fn needs_rule_validation(c: &Connector) -> bool {
    let features = c.features();
    (features.basic_rules_enabled() || features.advanced_rules_enabled())
        && c.default_filtering()
            .is_some_and(|entry| entry.draft.validation.state == ValidationState::Edited)
}

/// Decides the due scheduled runs: each moves its `last_*_scheduled_at` in the update and
/// becomes a job to create once the update is written. A schedule never run before starts
/// counting from now; an invalid one puts the connector in error.
pub(super) fn schedule(draft: &mut Draft<'_>, now: DateTime<Utc>) {
    let features = draft.doc.features();
    let supported = draft.descriptor.features();
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
        let Some(entry) = draft.doc.scheduling.get(job_type).filter(|e| e.enabled) else {
            continue;
        };
        let (field, last) = match job_type {
            JobType::Full => ("last_sync_scheduled_at", draft.doc.last_sync_scheduled_at),
            JobType::Incremental => (
                "last_incremental_sync_scheduled_at",
                draft.doc.last_incremental_sync_scheduled_at,
            ),
            JobType::AccessControl => (
                "last_access_control_sync_scheduled_at",
                draft.doc.last_access_control_sync_scheduled_at,
            ),
        };
        let schedule = match CronSchedule::parse(&entry.interval) {
            Ok(s) => s,
            Err(e) => {
                set_status(draft, ConnectorStatus::Error, Some(e.to_string()));
                continue;
            }
        };
        match last {
            // Never scheduled: start counting from now, so the first run is the next one.
            None => {
                draft.update.insert(field.into(), json!(Timestamp(now)));
            }
            Some(last) => {
                if let Some(due) = schedule.latest_due(last.0, now) {
                    draft.update.insert(field.into(), json!(Timestamp(due)));
                    draft.jobs.push((job_type, Timestamp(due)));
                }
            }
        }
    }
}

/// Sets `status` and `error` in the update unless the document already says so; `true` when
/// they change.
fn set_status(draft: &mut Draft<'_>, status: ConnectorStatus, error: Option<String>) -> bool {
    if draft.doc.status == status && draft.doc.error == error {
        draft.update.remove("status");
        draft.update.remove("error");
        false
    } else {
        draft.update.insert("status".into(), json!(status));
        draft.update.insert("error".into(), json!(error));
        true
    }
}

/// A partial update as Elasticsearch applies it: objects merge key by key, anything else
/// replaces.
pub(super) fn merge(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(target), Value::Object(patch)) => {
            for (key, value) in patch {
                match target.get_mut(key) {
                    Some(existing) if existing.is_object() && value.is_object() => {
                        merge(existing, value)
                    }
                    _ => {
                        target.insert(key.clone(), value.clone());
                    }
                }
            }
        }
        (target, patch) => *target = patch.clone(),
    }
}

/// A connector document as the protocol reads it, with its id.
pub(super) fn parse_connector(id: &str, mut source: Value) -> Result<Connector, serde_json::Error> {
    if let Some(m) = source.as_object_mut() {
        m.insert("id".into(), Value::String(id.to_string()));
    }
    serde_json::from_value(source)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_is_a_partial_update() {
        let mut doc = json!({"a": {"x": 1, "y": {"z": 2}}, "b": [1, 2], "c": "old"});
        merge(
            &mut doc,
            &json!({"a": {"y": {"w": 3}}, "b": [3], "c": null, "d": {"e": 1}}),
        );
        assert_eq!(
            doc,
            json!({"a": {"x": 1, "y": {"z": 2, "w": 3}}, "b": [3], "c": null, "d": {"e": 1}})
        );
    }
}
