//! The service around the engine: its configuration, the composition root that builds the
//! engine and scheduler of a configuration ([`compose`]), and the local runtime (the
//! `connectors` binary's scheduler and workers in one process). The `connectors` binary and the
//! serverless container (`connectors-serverless`) compose through this crate.

pub mod compose;
pub mod config;
pub mod local;

pub use compose::ServiceError;
pub use config::{ConfigError, ServiceConfig};
