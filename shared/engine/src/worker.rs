//! Handling one queue message: run the slice, send the continuation, decide whether the
//! message is done. Shared by the local workers and the Lambda worker.

use std::time::Duration;

use connectors_protocol::SYNC_JOBS_INDEX;
use es_client::SearchParams;
use serde_json::{Value, json};
use tracing::{debug, info, warn};

use crate::checkpoint::Checkpoint;
use crate::engine::{Budget, Engine, EngineError, SliceOutcome};
use crate::queue::{JobMessage, JobQueue};

/// Transient failures of one slice that a local worker retries before it fails the job (on
/// SQS the queue's receive count plays this part).
pub const MAX_ATTEMPTS: u32 = 6;

/// What to do with the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Delete it: the slice ran (its continuation, if any, was sent) or it is not needed.
    Done,
    /// Deliver it again after [`retry_backoff`]: a failure that is not the job's
    /// (Elasticsearch or the queue unreachable, operations rejected with 429 or 5xx). The job
    /// was released, so any worker may take it.
    Retry(String),
}

/// The first back-off of a slice that failed transiently.
pub const RETRY_BACKOFF: Duration = Duration::from_secs(5);

/// How long to wait before attempt `attempt + 1` of a slice that failed transiently: `base`,
/// doubling, at most 2 minutes.
pub fn retry_backoff(base: Duration, attempt: u32) -> Duration {
    (base * (1u32 << attempt.min(16))).min(Duration::from_secs(120))
}

/// Runs the slice a message asks for.
pub async fn handle_message(
    engine: &Engine,
    queue: &dyn JobQueue,
    message: &JobMessage,
    budget: Budget,
) -> Disposition {
    let job_id = message.job_id.as_str();
    let stop = budget.stop.clone();
    match engine.run_message(message, budget).await {
        Ok(outcome @ (SliceOutcome::Continue { .. } | SliceOutcome::Spread(_))) => {
            if outcome.paused(message) && stop.as_ref().is_some_and(|s| *s.borrow()) {
                // The process is stopping: leave the job `suspended`, as the reference does
                // on shutdown; it resumes from its checkpoint (a split job hands its
                // partitions out again).
                match engine.suspend(job_id).await {
                    Ok(_) => info!(job_id, "job suspended; it resumes from its checkpoint"),
                    Err(e) => {
                        warn!(job_id, error = %e, "could not suspend the job; the scheduler resumes it once it looks idle")
                    }
                }
                return Disposition::Done;
            }
            for next in outcome.next_messages(job_id) {
                // The checkpoint already moved on; the scheduler resumes the job once it looks
                // idle, so retrying this (now stale) message would not help.
                if let Err(e) = queue.send(&next, Duration::ZERO).await {
                    warn!(job_id, message = %next.describe(), error = %e, "could not send the job's next message; the scheduler will resume the job");
                }
            }
            Disposition::Done
        }
        Ok(SliceOutcome::Finished(status)) => {
            info!(job_id, %status, "sync job finished");
            start_waiting_jobs(engine, queue, job_id).await;
            Disposition::Done
        }
        Ok(SliceOutcome::Stale(why)) => {
            info!(job_id, message = %message.describe(), reason = %why, "message ignored");
            Disposition::Done
        }
        Ok(SliceOutcome::Busy(why)) => {
            // The job's connector is busy with another job (whose worker starts this one when
            // it finishes), or another worker holds the job.
            info!(job_id, reason = %why, "job busy; leaving it to the scheduler");
            Disposition::Done
        }
        Err(e) => {
            warn!(job_id, message = %message.describe(), attempt = message.attempt, error = %e, "slice failed; the message will be retried");
            Disposition::Retry(e.to_string())
        }
    }
}

/// After a job finished: sends the jobs of the same connector that wait for a worker (pending
/// or suspended), so a queue of on-demand jobs runs back to back instead of at the scheduler's
/// pace. A duplicate of a message the scheduler also sends is turned away by the job's lease.
async fn start_waiting_jobs(engine: &Engine, queue: &dyn JobQueue, finished: &str) {
    match waiting_jobs(engine, finished).await {
        Ok(waiting) => {
            for (job_id, slice) in waiting {
                debug!(job_id = %job_id, after = finished, "starting the connector's next job");
                if let Err(e) = queue
                    .send(&JobMessage::new(&job_id, slice), Duration::ZERO)
                    .await
                {
                    warn!(job_id = %job_id, error = %e, "could not send the next job; the scheduler will");
                }
            }
        }
        Err(e) => {
            debug!(job_id = finished, error = %e, "could not look for the connector's next job")
        }
    }
}

/// The oldest few jobs of `finished`'s connector that wait for a worker, with their slice.
async fn waiting_jobs(engine: &Engine, finished: &str) -> Result<Vec<(String, u64)>, EngineError> {
    let Some(job) = engine.store().job(finished).await? else {
        return Ok(Vec::new());
    };
    let query = json!({"bool": {"filter": [
        {"term": {"connector.id": job.doc.connector.id}},
        {"terms": {"status": ["pending", "suspended"]}},
    ]}});
    let body = json!({
        "query": query,
        "sort": [{"created_at": {"order": "asc", "unmapped_type": "date"}}],
        "size": 5,
        "_source": ["metadata"],
    });
    let params = SearchParams::default()
        .expand_wildcards("hidden")
        .ignore_unavailable();
    let page = engine
        .es()
        .search::<Value>(SYNC_JOBS_INDEX, &body, &params)
        .await?;
    Ok(page
        .hits
        .hits
        .into_iter()
        .map(|hit| {
            let slice = hit
                .source
                .as_ref()
                .and_then(|s| s.get("metadata"))
                .and_then(Value::as_object)
                .and_then(|m| Checkpoint::from_metadata(Some(m)))
                .map_or(0, |cp| cp.slice);
            (hit.id, slice)
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_is_capped() {
        assert_eq!(retry_backoff(RETRY_BACKOFF, 0), Duration::from_secs(5));
        assert_eq!(retry_backoff(RETRY_BACKOFF, 1), Duration::from_secs(10));
        assert_eq!(retry_backoff(RETRY_BACKOFF, 4), Duration::from_secs(80));
        assert_eq!(retry_backoff(RETRY_BACKOFF, 5), Duration::from_secs(120));
        assert_eq!(retry_backoff(RETRY_BACKOFF, 60), Duration::from_secs(120));
        assert_eq!(
            retry_backoff(Duration::from_secs(1), 2),
            Duration::from_secs(4)
        );
    }
}
