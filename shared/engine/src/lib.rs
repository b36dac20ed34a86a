//! The sync engine. Domain logic lives here (sources framework, sync rules, error budget,
//! checkpoints, sliced syncs, the job lifecycle); Elasticsearch is reached through `es-client`.

pub mod checkpoint;
pub mod document;
pub mod error_budget;
pub mod queue;
pub mod scheduler;
mod sink;
pub mod store;
pub mod sync;
pub mod worker;

pub use sync::{Budget, Engine, EngineConfig, EngineError, SliceOutcome};
