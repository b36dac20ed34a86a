//! The service around the engine: configuration, preflight, the local runtime and the demo.
//! The `connectors` binary and the Lambda functions are thin wrappers of this crate.

pub mod config;
pub mod demo;
pub mod local;

pub use config::{ConfigError, ServiceConfig};
pub use local::ServiceError;
