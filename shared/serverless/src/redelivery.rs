//! The one thing the worker asks of its queue beyond sending: bringing a failed record back
//! sooner than the queue's visibility timeout.

use std::time::Duration;

use async_trait::async_trait;
use connectors_aws::SqsQueue;
use connectors_engine::queue::{JobQueue, MemoryQueue, QueueError};

/// A job queue whose received messages can be made visible again after a delay.
#[async_trait]
pub trait Redelivery: JobQueue {
    /// Makes the message of `receipt_handle` visible again after `delay`.
    async fn redeliver_after(
        &self,
        receipt_handle: &str,
        delay: Duration,
    ) -> Result<(), QueueError>;
}

#[async_trait]
impl Redelivery for SqsQueue {
    async fn redeliver_after(
        &self,
        receipt_handle: &str,
        delay: Duration,
    ) -> Result<(), QueueError> {
        self.change_visibility(receipt_handle, delay).await
    }
}

/// The in-process queue has no receipts: a record that failed is the caller's to hand back.
#[async_trait]
impl Redelivery for MemoryQueue {
    async fn redeliver_after(&self, _: &str, _: Duration) -> Result<(), QueueError> {
        Ok(())
    }
}
