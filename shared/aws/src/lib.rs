//! AWS adapters of the serverless deployment, shared by the `scheduler` and `worker` Lambda
//! functions (which only translate Lambda events to and from these types):
//! - [`SqsQueue`]: the job queue on SQS;
//! - [`secrets`]: the Elasticsearch API key from Secrets Manager, cached per container and
//!   read again after a 401;
//! - [`deadline`]: how long a worker invocation may run;
//! - [`emf`]: CloudWatch Embedded Metric Format lines;
//! - [`Container`]: the per-container state and the work of one invocation.
//!
//! The SDK crates are re-exported for the tests' local AWS (moto).

pub mod container;
pub mod deadline;
pub mod emf;
pub mod secrets;
pub mod settings;
pub mod sqs;

pub use container::{Container, Record, RecordResult, Runtime};
pub use settings::Settings;
pub use sqs::SqsQueue;

pub use aws_config;
pub use aws_sdk_secretsmanager;
pub use aws_sdk_sqs;
pub use aws_sdk_ssm;

/// Why a function cannot start or an invocation cannot run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the environment variable {0} is required")]
    Missing(&'static str),
    #[error("the environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error(transparent)]
    Config(#[from] connectors_service::ConfigError),
    #[error("SSM GetParameter {name}: {message}")]
    Parameter { name: String, message: String },
    #[error(transparent)]
    Secret(#[from] secrets::SecretError),
    #[error(transparent)]
    Service(#[from] connectors_service::ServiceError),
    #[error(transparent)]
    Engine(#[from] connectors_engine::EngineError),
}
