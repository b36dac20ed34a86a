//! Handling one queue message: run the slice, send the continuation, decide whether the
//! message is done. Shared by the local workers and the Lambda worker.

use std::time::Duration;

use tracing::{info, warn};

use crate::queue::{JobMessage, JobQueue};
use crate::sync::{Budget, Engine, SliceOutcome};

/// What to do with the message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Disposition {
    /// Delete it: the slice ran (its continuation, if any, was sent) or it is not needed.
    Done,
    /// Leave it to be delivered again: a failure that is not the job's (Elasticsearch or the
    /// queue unreachable).
    Retry(String),
}

/// Runs the slice a message asks for.
pub async fn handle_message(
    engine: &Engine,
    queue: &dyn JobQueue,
    message: &JobMessage,
    budget: Budget,
) -> Disposition {
    let job_id = message.job_id.as_str();
    match engine.run_slice(job_id, Some(message.slice), budget).await {
        Ok(SliceOutcome::Continue { next_slice }) => {
            let next = JobMessage::new(job_id, next_slice);
            match queue.send(&next, Duration::ZERO).await {
                Ok(()) => Disposition::Done,
                // The checkpoint already moved on; the scheduler resumes the job once it looks
                // idle, so retrying this (now stale) message would not help.
                Err(e) => {
                    warn!(job_id, error = %e, "could not send the continuation; the scheduler will resume the job");
                    Disposition::Done
                }
            }
        }
        Ok(SliceOutcome::Finished(status)) => {
            info!(job_id, %status, "sync job finished");
            Disposition::Done
        }
        Ok(SliceOutcome::Stale(why)) => {
            info!(job_id, slice = message.slice, reason = %why, "message ignored");
            Disposition::Done
        }
        Ok(SliceOutcome::Busy(why)) => {
            // The scheduler dispatches the job again while it is pending.
            info!(job_id, reason = %why, "job busy; leaving it to the scheduler");
            Disposition::Done
        }
        Err(e) => {
            warn!(job_id, error = %e, "slice failed; the message will be retried");
            Disposition::Retry(e.to_string())
        }
    }
}
