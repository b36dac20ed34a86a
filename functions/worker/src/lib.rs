//! The worker function's handler, without the Lambda runtime (`main.rs` has it), so that tests
//! can drive it as the SQS event source mapping does.

use std::time::SystemTime;

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use connectors_serverless::{Container, Record, RecordResult, Redelivery};
use tracing::Instrument;

/// Runs every record of the batch (at once: each is a different job, or a duplicate that the
/// job's lease turns away) and reports the failed ones. Never fails as a whole: a failed
/// batch would retry the records that succeeded.
pub async fn handle<Q: Redelivery + 'static>(
    container: &Container<Q>,
    event: SqsEvent,
    deadline: SystemTime,
) -> SqsBatchResponse {
    let runs = event.records.iter().map(|m| {
        let message_id = m.message_id.as_deref().unwrap_or_default();
        let span = tracing::info_span!("record", message_id);
        async move { container.work(record(m, message_id), deadline).await }.instrument(span)
    });
    let results = futures_util::future::join_all(runs).await;
    let mut response = SqsBatchResponse::default();
    for (m, result) in event.records.iter().zip(results) {
        if result == RecordResult::Failure {
            response.add_failure(m.message_id.clone().unwrap_or_default());
        }
    }
    response
}

fn record<'a>(m: &'a SqsMessage, message_id: &'a str) -> Record<'a> {
    Record {
        message_id,
        body: m.body.as_deref(),
        receive_count: m
            .attributes
            .get("ApproximateReceiveCount")
            .and_then(|c| c.parse().ok())
            .unwrap_or(1),
        receipt_handle: m.receipt_handle.as_deref(),
    }
}
