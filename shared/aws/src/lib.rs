//! AWS adapters of the serverless deployment, and nothing else (the per-container state that
//! composes them with the engine is `connectors-serverless`):
//! - [`SqsQueue`]: the engine's job queue port on SQS;
//! - [`secrets`]: the Elasticsearch API key from Secrets Manager, cached per container and
//!   read again after a 401;
//! - [`ssm`]: the Elasticsearch URL from an SSM parameter;
//! - [`deadline`]: how long a worker invocation may run;
//! - [`emf`]: CloudWatch Embedded Metric Format lines.
//!
//! The SDK crates are re-exported for the tests' local AWS (moto).

pub mod deadline;
pub mod emf;
pub mod secrets;
pub mod sqs;
pub mod ssm;

pub use sqs::SqsQueue;

pub use aws_config;
pub use aws_sdk_secretsmanager;
pub use aws_sdk_sqs;
pub use aws_sdk_ssm;
