//! The Elastic connectors protocol as typed data: connector and sync job documents, configuration
//! field specs, sync rules (and their basic-rule engine), features, pipeline and scheduling (Quartz cron), and the two state machines.
//!
//! This crate does no I/O. Every document type keeps fields it does not know in `extra`, so a
//! read-modify-write never drops what Kibana or a newer Elasticsearch added.

pub mod backfill;
pub mod config;
pub mod connector;
pub mod features;
pub mod filtering;
pub mod pipeline;
pub mod quartz;
pub mod rules;
pub mod schedule;
pub mod scheduling;
pub mod status;
pub mod sync_job;
pub mod timestamp;

pub use backfill::backfill;
pub use config::{
    ConfigField, Configuration, Dependency, Display, FieldError, FieldType, FieldValidation,
    SelectOption, ValidationType, validate_configuration,
};
pub use connector::{ACL_INDEX_PREFIX, CONNECTORS_CONCRETE_INDEX, CONNECTORS_INDEX, Connector};
pub use features::{FeatureFlag, Features, SyncRulesFeatures};
pub use filtering::{
    AdvancedSnippet, BasicRule, FilteringEntry, FilteringRules, FilteringValidation, Policy,
    RuleKind, ValidationError, ValidationState,
};
pub use pipeline::{DEFAULT_PIPELINE, Pipeline};
pub use quartz::{CronError, QuartzCron};
pub use scheduling::{DEFAULT_INTERVAL, ScheduleEntry, Scheduling};
pub use status::{
    ConnectorStatus, JobType, SyncStatus, TransitionError, TriggerMethod, UnknownValue,
};
pub use sync_job::{JobConnector, SYNC_JOBS_CONCRETE_INDEX, SYNC_JOBS_INDEX, SyncJob};
pub use timestamp::Timestamp;
