//! A pool of local workers over one in-process queue, as `connectors run` runs them: each
//! worker takes a message, runs it with `handle_message` (continuations and partitions go
//! back to the queue), and retries transient failures after a short back-off. Optionally a
//! scheduler pass runs every few hundred milliseconds (it resumes jobs whose workers are gone),
//! every message is delivered twice, or the worker that takes the first partition message of a
//! job dies in the middle of its slice.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use connectors_engine::queue::{JobMessage, JobQueue, MemoryQueue, QueueError};
use connectors_engine::scheduler::{Scheduler, SchedulerConfig};
use connectors_engine::worker::{Disposition, handle_message};
use connectors_engine::{Budget, Engine};
use connectors_protocol::SyncStatus;
use es_client::EsClient;

/// How the pool runs.
#[derive(Clone)]
pub struct PoolOptions {
    /// The time budget of one slice.
    pub slice: Duration,
    /// Send every message twice (at-least-once delivery at its worst).
    pub duplicate: bool,
    /// The worker that takes the first message of a partition dies this long into its slice:
    /// the message is lost and the partition's lease stays until it runs out.
    pub kill_first_partition_after: Option<Duration>,
    /// Give up after this long.
    pub timeout: Duration,
}

impl Default for PoolOptions {
    fn default() -> Self {
        PoolOptions {
            slice: Duration::from_millis(200),
            duplicate: false,
            kill_first_partition_after: None,
            timeout: Duration::from_secs(60),
        }
    }
}

/// What a pool run did.
#[derive(Debug, Clone)]
pub struct PoolReport {
    pub status: SyncStatus,
    /// Messages run (including duplicates turned away).
    pub messages: u64,
    /// Whether a worker died as [`PoolOptions::kill_first_partition_after`] asked.
    pub killed: bool,
    pub elapsed: Duration,
}

/// The queue the workers send to: an in-process queue, each message sent twice when asked.
struct Delivery {
    queue: Arc<MemoryQueue>,
    duplicate: bool,
}

#[async_trait]
impl JobQueue for Delivery {
    async fn send(&self, message: &JobMessage, delay: Duration) -> Result<(), QueueError> {
        self.queue.send(message, delay).await?;
        if self.duplicate {
            self.queue.send(message, delay).await?;
        }
        Ok(())
    }
}

/// Runs job `job` with one worker per engine until it ends; the first message is slice 0 of
/// the job. With `scheduler`, a dispatch pass (on the first engine, sending to the pool's
/// queue) runs every 100 ms (the service's runs every `service.idling`).
pub async fn run_pool(
    engines: &[Engine],
    es: &EsClient,
    job: &str,
    scheduler: Option<SchedulerConfig>,
    options: PoolOptions,
) -> PoolReport {
    let started = Instant::now();
    let queue = Arc::new(MemoryQueue::new());
    let delivery = Arc::new(Delivery {
        queue: Arc::clone(&queue),
        duplicate: options.duplicate,
    });
    delivery
        .send(&JobMessage::new(job, 0), Duration::ZERO)
        .await
        .expect("first message");
    let scheduler = scheduler.map(|config| {
        let queue: Arc<dyn JobQueue> = delivery.clone();
        Scheduler::new(engines[0].clone(), queue, config)
    });
    let done = Arc::new(AtomicBool::new(false));
    let killed = Arc::new(AtomicBool::new(
        options.kill_first_partition_after.is_none(),
    ));
    let died = Arc::new(AtomicBool::new(false));
    let messages = Arc::new(AtomicU64::new(0));
    let mut tasks = Vec::new();
    for engine in engines {
        let (engine, queue, delivery) = (engine.clone(), queue.clone(), delivery.clone());
        let (done, killed, messages) = (done.clone(), killed.clone(), messages.clone());
        let died = died.clone();
        let options = options.clone();
        tasks.push(tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) {
                let Some(message) = queue.recv(Duration::from_millis(50)).await else {
                    continue;
                };
                messages.fetch_add(1, Ordering::Relaxed);
                let budget = Budget::for_duration(options.slice);
                let run = handle_message(&engine, delivery.as_ref(), &message, budget);
                let dies = message.partition.is_some() && !killed.swap(true, Ordering::Relaxed);
                let disposition = match options.kill_first_partition_after.filter(|_| dies) {
                    Some(after) => match tokio::time::timeout(after, run).await {
                        Ok(d) => d,
                        // Died: the message is gone with the worker.
                        Err(_) => {
                            died.store(true, Ordering::Relaxed);
                            return;
                        }
                    },
                    None => run.await,
                };
                if let Disposition::Retry(_) = disposition {
                    let _ = queue
                        .send(&message.retried(), Duration::from_millis(20))
                        .await;
                }
            }
        }));
    }
    let status = loop {
        if let Some(s) = &scheduler {
            let _ = s.dispatch_only().await;
        }
        let status = es.sync_jobs().get(job).await.expect("job").status;
        if status.is_terminal() {
            break status;
        }
        if started.elapsed() >= options.timeout {
            let j = es.sync_jobs().get(job).await.expect("job");
            eprintln!("job metadata at the timeout: {:#?}", j.metadata);
        }
        assert!(
            started.elapsed() < options.timeout,
            "job {job} still {status} after {:?}",
            options.timeout
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    done.store(true, Ordering::Relaxed);
    for t in tasks {
        let _ = t.await;
    }
    PoolReport {
        status,
        messages: messages.load(Ordering::Relaxed),
        killed: died.load(Ordering::Relaxed),
        elapsed: started.elapsed(),
    }
}
