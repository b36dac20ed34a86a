//! `scheduler`: the Lambda function that EventBridge Scheduler invokes every minute; one
//! scheduler pass per invocation.

use lambda_runtime::{Error, LambdaEvent, service_fn, tracing};
use serde_json::Value;

// mimalloc: glibc's malloc spent a third of a sync's CPU time on its many small, short-lived
// allocations.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> Result<(), Error> {
    // JSON lines when AWS_LAMBDA_LOG_FORMAT=JSON (the template's LoggingConfig).
    tracing::init_default_subscriber();
    // No network here: the first invocation connects (see connectors_serverless::container).
    let container = connectors_serverless::Container::from_env().await?;
    let container = &container;
    lambda_runtime::run(service_fn(move |event: LambdaEvent<Value>| async move {
        // Boxed: the pass's future is too deep to be laid out inline in the runtime's.
        let pass = Box::pin(lambda_scheduler::handle(container, event.payload));
        Ok::<Value, Error>(pass.await?)
    }))
    .await
}
