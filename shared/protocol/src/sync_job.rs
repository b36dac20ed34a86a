//! The sync job document (`.elastic-connectors-sync-jobs`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::Configuration;
use crate::filtering::{FilteringEntry, FilteringRules};
use crate::pipeline::Pipeline;
use crate::status::{JobType, SyncStatus, TriggerMethod};
use crate::timestamp::Timestamp;

/// Index alias of sync job documents.
pub const SYNC_JOBS_INDEX: &str = ".elastic-connectors-sync-jobs";
/// Concrete index behind [`SYNC_JOBS_INDEX`].
pub const SYNC_JOBS_CONCRETE_INDEX: &str = ".elastic-connectors-sync-jobs-v1";

/// The snapshot of the connector a job was created from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobConnector {
    pub id: String,
    #[serde(default)]
    pub configuration: Configuration,
    /// Elasticsearch writes the active rule set as one object; older writers used the
    /// connector's array. Kept raw; read it with [`JobConnector::active_filtering`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filtering: Option<Value>,
    #[serde(default)]
    pub index_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<Pipeline>,
    #[serde(default)]
    pub service_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_cursor: Option<Value>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl JobConnector {
    /// The active rule set of the snapshot, whichever shape it was stored in.
    pub fn active_filtering(&self) -> Result<Option<FilteringRules>, serde_json::Error> {
        match &self.filtering {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(entries)) => match entries.first() {
                None => Ok(None),
                Some(first) => {
                    let entry: FilteringEntry = serde_json::from_value(first.clone())?;
                    Ok(Some(entry.active))
                }
            },
            Some(other) => serde_json::from_value(other.clone()).map(Some),
        }
    }

    pub fn pipeline(&self) -> Pipeline {
        self.pipeline.clone().unwrap_or_default()
    }
}

/// A sync job document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncJob {
    /// Added by the `_connector/_sync_job` API responses; not stored in the document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub connector: JobConnector,
    #[serde(default = "default_job_type")]
    pub job_type: JobType,
    #[serde(default = "default_trigger")]
    pub trigger_method: TriggerMethod,
    pub status: SyncStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancelation_requested_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub canceled_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub worker_hostname: Option<String>,
    #[serde(default)]
    pub indexed_document_count: u64,
    /// MiB of JSON sent, as an integer.
    #[serde(default)]
    pub indexed_document_volume: u64,
    #[serde(default)]
    pub deleted_document_count: u64,
    #[serde(default)]
    pub total_document_count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn default_job_type() -> JobType {
    JobType::Full
}

fn default_trigger() -> TriggerMethod {
    TriggerMethod::OnDemand
}

impl SyncJob {
    pub fn is_content_sync(&self) -> bool {
        self.job_type != JobType::AccessControl
    }
}
