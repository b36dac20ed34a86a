//! The job queue: how the scheduler hands sync jobs to workers, and how a worker hands the rest
//! of a job to the next one. Messages are small and self-describing: a job id, the slice to run
//! and a schema version.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

/// Version of the message layout; a worker refuses versions it does not know.
pub const MESSAGE_VERSION: u32 = 1;

/// The longest job id a message may carry (Elasticsearch's limit for an `_id`, in bytes).
pub const MAX_JOB_ID_BYTES: usize = 512;

/// "Run slice `slice` of sync job `job_id`."
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobMessage {
    pub v: u32,
    pub job_id: String,
    pub slice: u64,
    /// Earlier attempts of this slice that failed transiently (local queues; on SQS the
    /// receive count plays this part). Absent when 0, so the layout stays version 1.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub attempt: u32,
    /// The partition of a split job this slice belongs to (its own chain of slices); absent
    /// for an unsplit job, so the layout stays version 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub partition: Option<u32>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// A message body that is not a job message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed job message: {0}")]
pub struct MalformedMessage(pub String);

impl JobMessage {
    pub fn new(job_id: impl Into<String>, slice: u64) -> Self {
        JobMessage {
            v: MESSAGE_VERSION,
            job_id: job_id.into(),
            slice,
            attempt: 0,
            partition: None,
        }
    }

    /// "Run slice `slice` of partition `partition` of sync job `job_id`."
    pub fn for_partition(job_id: impl Into<String>, partition: u32, slice: u64) -> Self {
        JobMessage {
            partition: Some(partition),
            ..JobMessage::new(job_id, slice)
        }
    }

    /// What the message asks for, for logs and error messages.
    pub fn describe(&self) -> String {
        match self.partition {
            Some(p) => format!("partition {p}, slice {}", self.slice),
            None => format!("slice {}", self.slice),
        }
    }

    /// The same slice, to try again after a transient failure.
    pub fn retried(&self) -> Self {
        JobMessage {
            attempt: self.attempt.saturating_add(1),
            ..self.clone()
        }
    }

    pub fn to_json(&self) -> String {
        // Serialising three plain fields cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn parse(body: &str) -> Result<Self, MalformedMessage> {
        let m: JobMessage =
            serde_json::from_str(body).map_err(|e| MalformedMessage(e.to_string()))?;
        if m.v != MESSAGE_VERSION {
            return Err(MalformedMessage(format!(
                "unsupported message version {} (this worker reads {MESSAGE_VERSION})",
                m.v
            )));
        }
        if m.job_id.trim().is_empty() {
            return Err(MalformedMessage("empty job_id".into()));
        }
        if m.job_id.len() > MAX_JOB_ID_BYTES {
            return Err(MalformedMessage(format!(
                "job_id of {} bytes (at most {MAX_JOB_ID_BYTES})",
                m.job_id.len()
            )));
        }
        Ok(m)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("queue: {0}")]
pub struct QueueError(pub String);

/// Sending side of a job queue.
#[async_trait]
pub trait JobQueue: Send + Sync {
    /// Sends a message, visible to receivers after `delay`.
    async fn send(&self, message: &JobMessage, delay: Duration) -> Result<(), QueueError>;
}

/// An in-process queue for the local service and tests.
#[derive(Default)]
pub struct MemoryQueue {
    items: Mutex<VecDeque<(Instant, JobMessage)>>,
    notify: tokio::sync::Notify,
}

impl MemoryQueue {
    pub fn new() -> Self {
        Self::default()
    }

    /// The first message that is visible, waiting up to `wait` for one.
    pub async fn recv(&self, wait: Duration) -> Option<JobMessage> {
        let until = Instant::now() + wait;
        loop {
            let next_ready = {
                let mut items = self.items.lock().unwrap_or_else(|p| p.into_inner());
                let now = Instant::now();
                if let Some(pos) = items.iter().position(|(at, _)| *at <= now) {
                    return items.remove(pos).map(|(_, m)| m);
                }
                items.iter().map(|(at, _)| *at).min()
            };
            let now = Instant::now();
            if now >= until {
                return None;
            }
            let wake = next_ready.map_or(until, |r| r.min(until));
            let _ = tokio::time::timeout(wake - now, self.notify.notified()).await;
        }
    }

    /// Messages waiting, visible or not.
    pub fn len(&self) -> usize {
        self.items.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[async_trait]
impl JobQueue for MemoryQueue {
    async fn send(&self, message: &JobMessage, delay: Duration) -> Result<(), QueueError> {
        self.items
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push_back((Instant::now() + delay, message.clone()));
        self.notify.notify_waiters();
        self.notify.notify_one();
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_round_trip_and_are_checked() {
        let m = JobMessage::new("j1", 3);
        assert_eq!(m.to_json(), r#"{"v":1,"job_id":"j1","slice":3}"#);
        assert_eq!(JobMessage::parse(&m.to_json()).unwrap(), m);
        assert!(JobMessage::parse("not json").is_err());
        assert!(JobMessage::parse(r#"{"v":2,"job_id":"j1","slice":0}"#).is_err());
        assert!(JobMessage::parse(r#"{"v":1,"job_id":" ","slice":0}"#).is_err());
        let long = format!(r#"{{"v":1,"job_id":"{}","slice":0}}"#, "x".repeat(513));
        assert!(JobMessage::parse(&long).is_err());
        let p = JobMessage::for_partition("j1", 2, 5);
        assert_eq!(
            p.to_json(),
            r#"{"v":1,"job_id":"j1","slice":5,"partition":2}"#
        );
        assert_eq!(JobMessage::parse(&p.to_json()).unwrap(), p);
        let again = m.retried();
        assert_eq!(
            again.to_json(),
            r#"{"v":1,"job_id":"j1","slice":3,"attempt":1}"#
        );
        assert_eq!(JobMessage::parse(&again.to_json()).unwrap(), again);
    }

    #[tokio::test]
    async fn memory_queue_honours_delays() {
        let q = MemoryQueue::new();
        q.send(&JobMessage::new("late", 0), Duration::from_millis(50))
            .await
            .unwrap();
        q.send(&JobMessage::new("now", 0), Duration::ZERO)
            .await
            .unwrap();
        assert_eq!(q.recv(Duration::ZERO).await.unwrap().job_id, "now");
        assert!(q.recv(Duration::ZERO).await.is_none());
        assert_eq!(q.recv(Duration::from_secs(2)).await.unwrap().job_id, "late");
    }
}
