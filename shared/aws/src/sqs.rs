//! The job queue on Amazon SQS: the scheduler's dispatches and the workers' continuations.

use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_sqs::error::DisplayErrorContext;
use connectors_engine::queue::{JobMessage, JobQueue, QueueError};

/// SQS caps `DelaySeconds` at 15 minutes.
const MAX_DELAY: Duration = Duration::from_secs(900);

/// A standard SQS queue, by URL.
#[derive(Clone, Debug)]
pub struct SqsQueue {
    client: aws_sdk_sqs::Client,
    url: String,
}

impl SqsQueue {
    pub fn new(client: aws_sdk_sqs::Client, url: impl Into<String>) -> Self {
        SqsQueue {
            client,
            url: url.into(),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn client(&self) -> &aws_sdk_sqs::Client {
        &self.client
    }

    /// Makes a received message visible again after `delay` (`ChangeMessageVisibility`, at
    /// most 12 hours) rather than after the queue's visibility timeout.
    pub async fn change_visibility(
        &self,
        receipt_handle: &str,
        delay: Duration,
    ) -> Result<(), QueueError> {
        let secs = i32::try_from(delay.as_secs())
            .unwrap_or(i32::MAX)
            .min(43_200);
        self.client
            .change_message_visibility()
            .queue_url(&self.url)
            .receipt_handle(receipt_handle)
            .visibility_timeout(secs)
            .send()
            .await
            .map_err(|e| {
                QueueError(format!(
                    "SQS ChangeMessageVisibility: {}",
                    DisplayErrorContext(e)
                ))
            })?;
        Ok(())
    }
}

#[async_trait]
impl JobQueue for SqsQueue {
    async fn send(&self, message: &JobMessage, delay: Duration) -> Result<(), QueueError> {
        // Whole seconds, rounded up so that a requested delay is never shortened.
        let delay = delay.min(MAX_DELAY);
        let secs = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
        self.client
            .send_message()
            .queue_url(&self.url)
            .message_body(message.to_json())
            .delay_seconds(secs.min(MAX_DELAY.as_secs()) as i32)
            .send()
            .await
            .map_err(|e| QueueError(format!("SQS SendMessage: {}", DisplayErrorContext(e))))?;
        Ok(())
    }
}
