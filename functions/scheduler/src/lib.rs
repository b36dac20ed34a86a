//! The scheduler function's handler, without the Lambda runtime (`main.rs` has it).

use aws_lambda_events::event::eventbridge::EventBridgeEvent;
use connectors_serverless::{Container, Redelivery};
use serde_json::{Value, json};

/// One scheduler pass. Any event runs it (EventBridge Scheduler sends the template's
/// EventBridge-shaped input; a manual `cargo lambda invoke` may send `{}`); the answer
/// summarises the pass.
pub async fn handle<Q: Redelivery + 'static>(
    container: &Container<Q>,
    event: Value,
) -> Result<Value, connectors_serverless::Error> {
    match serde_json::from_value::<EventBridgeEvent>(event) {
        Ok(e) => {
            tracing::info!(event_id = ?e.id, scheduled_time = ?e.time, source = %e.source, "scheduler event")
        }
        Err(_) => tracing::info!("scheduler invoked without an EventBridge event"),
    }
    let r = container.tick().await?;
    Ok(json!({
        "connectors": r.connectors,
        "scheduled": r.scheduled,
        "dispatched": r.dispatched,
        "resumed": r.resumed,
        "failed_jobs": r.failed_jobs,
        "canceled_jobs": r.canceled_jobs,
        "errors": r.errors,
    }))
}
