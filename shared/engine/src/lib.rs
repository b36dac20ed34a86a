//! The sync engine. Domain logic lives here (checkpoints, sliced syncs, the job lifecycle and
//! its endings, the scheduler); sources come from `connectors-sdk`, and Elasticsearch is
//! reached through `es-client` only.

pub mod checkpoint;
pub mod content;
pub mod document;
mod ending;
mod engine;
pub mod error_budget;
mod ledger;
mod lifecycle;
mod partition;
mod prepare;
pub mod queue;
pub mod scheduler;
mod sink;
pub mod store;
mod sweep;
mod sync;
pub mod worker;

pub use content::{ExtractionConfig, ExtractionMode};
pub use ending::UNKNOWN_ERROR;
pub use engine::{Budget, Engine, EngineConfig, EngineError, SliceOutcome};
