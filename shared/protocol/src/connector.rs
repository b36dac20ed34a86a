//! The connector document (`.elastic-connectors`).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::config::Configuration;
use crate::features::Features;
use crate::filtering::{FilteringEntry, FilteringRules};
use crate::pipeline::Pipeline;
use crate::scheduling::Scheduling;
use crate::status::{ConnectorStatus, JobType, SyncStatus};
use crate::timestamp::Timestamp;

/// Index alias of connector documents.
pub const CONNECTORS_INDEX: &str = ".elastic-connectors";
/// Concrete index behind [`CONNECTORS_INDEX`].
pub const CONNECTORS_CONCRETE_INDEX: &str = ".elastic-connectors-v1";
/// Prefix of the access control index of a content index.
pub const ACL_INDEX_PREFIX: &str = ".search-acl-filter-";

/// A connector document. Every field the reference knows is typed; anything else is kept in
/// `extra` and written back unchanged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Connector {
    /// Added by the `_connector` API responses; not stored in the document.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_secret_id: Option<String>,
    #[serde(default)]
    pub configuration: Configuration,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_scheduling: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default)]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub features: Option<Features>,
    #[serde(default)]
    pub filtering: Vec<FilteringEntry>,
    #[serde(default)]
    pub index_name: Option<String>,
    #[serde(default)]
    pub is_native: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_access_control_sync_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_access_control_sync_scheduled_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_access_control_sync_status: Option<SyncStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_deleted_document_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_incremental_sync_scheduled_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_indexed_document_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_scheduled_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_status: Option<SyncStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_synced: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pipeline: Option<Pipeline>,
    #[serde(default)]
    pub scheduling: Scheduling,
    #[serde(default)]
    pub service_type: Option<String>,
    pub status: ConnectorStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_cursor: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_now: Option<bool>,
    /// Soft delete (Elasticsearch 9.x). Absent on 8.x documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted: Option<bool>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Connector {
    pub fn is_deleted(&self) -> bool {
        self.deleted.unwrap_or(false)
    }

    /// The `DEFAULT` domain's filtering entry (the only one in use).
    pub fn default_filtering(&self) -> Option<&FilteringEntry> {
        self.filtering
            .iter()
            .find(|f| f.domain == crate::filtering::DEFAULT_DOMAIN)
            .or_else(|| self.filtering.first())
    }

    /// The active sync rules, as a job snapshot carries them.
    pub fn active_filtering(&self) -> Option<&FilteringRules> {
        self.default_filtering().map(|f| &f.active)
    }

    pub fn features(&self) -> Features {
        self.features.clone().unwrap_or_default()
    }

    pub fn pipeline(&self) -> Pipeline {
        self.pipeline.clone().unwrap_or_default()
    }

    /// The sync lock of a job family: `last_sync_status` for content jobs,
    /// `last_access_control_sync_status` for access control jobs.
    pub fn last_status_for(&self, job_type: JobType) -> Option<SyncStatus> {
        match job_type {
            JobType::AccessControl => self.last_access_control_sync_status,
            JobType::Full | JobType::Incremental => self.last_sync_status,
        }
    }

    /// The index a job of this type writes to.
    pub fn target_index(&self, job_type: JobType) -> Option<String> {
        let index = self.index_name.as_deref()?;
        Some(match job_type {
            JobType::AccessControl => format!("{ACL_INDEX_PREFIX}{index}"),
            _ => index.to_string(),
        })
    }
}
