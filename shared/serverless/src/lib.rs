//! The serverless face of the service: the state one Lambda container keeps between
//! invocations ([`Container`]) and the work of one invocation (a worker's queue record or a
//! scheduler pass). It composes the service's composition root (`connectors_service::compose`)
//! with the AWS adapters (`connectors-aws`), and is generic over the job queue, so that the
//! functions' handlers run on SQS in production and on the in-process queue in tests. The
//! Lambda functions only translate Lambda events to and from these types.

pub mod container;
pub mod redelivery;
pub mod settings;

pub use container::{Container, Record, RecordResult, Runtime};
pub use redelivery::Redelivery;
pub use settings::Settings;

/// Why a function cannot start or an invocation cannot run.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("the environment variable {0} is required")]
    Missing(&'static str),
    #[error("the environment variable {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    #[error(transparent)]
    Config(#[from] connectors_service::ConfigError),
    #[error(transparent)]
    Parameter(#[from] connectors_aws::ssm::ParameterError),
    #[error(transparent)]
    Secret(#[from] connectors_aws::secrets::SecretError),
    #[error(transparent)]
    Service(#[from] connectors_service::ServiceError),
    #[error(transparent)]
    Engine(#[from] connectors_engine::EngineError),
}
