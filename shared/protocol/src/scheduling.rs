//! `scheduling` of a connector: one Quartz cron schedule per job type.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::status::JobType;

/// The interval Kibana and Elasticsearch write for a schedule nobody set: midnight UTC.
pub const DEFAULT_INTERVAL: &str = "0 0 0 * * ?";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScheduleEntry {
    #[serde(default)]
    pub enabled: bool,
    #[serde(default = "default_interval")]
    pub interval: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn default_interval() -> String {
    DEFAULT_INTERVAL.to_string()
}

impl Default for ScheduleEntry {
    fn default() -> Self {
        ScheduleEntry {
            enabled: false,
            interval: default_interval(),
            extra: Map::new(),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Scheduling {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_control: Option<ScheduleEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub full: Option<ScheduleEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incremental: Option<ScheduleEntry>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Scheduling {
    pub fn get(&self, job_type: JobType) -> Option<&ScheduleEntry> {
        match job_type {
            JobType::Full => self.full.as_ref(),
            JobType::Incremental => self.incremental.as_ref(),
            JobType::AccessControl => self.access_control.as_ref(),
        }
    }
}
