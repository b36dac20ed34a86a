//! `worker`: the Lambda function that runs sync jobs from the SQS job queue
//! (`FunctionResponseTypes: [ReportBatchItemFailures]`).

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, service_fn, tracing};

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
    lambda_runtime::run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let deadline = event.context.deadline();
        Ok::<SqsBatchResponse, Error>(
            lambda_worker::handle(container, event.payload, deadline).await,
        )
    }))
    .await
}
