//! The local service: the scheduler and a pool of workers in one process, over an in-process
//! queue. Also the one-shot `tick` and `work` used by operators and tests, for which
//! Elasticsearch's own pending and suspended jobs are the queue, as in the reference.

use std::sync::Arc;
use std::time::{Duration, Instant};

use connectors_engine::queue::{JobMessage, JobQueue, MemoryQueue};
use connectors_engine::scheduler::{Scheduler, SchedulerConfig, TickReport};
use connectors_engine::worker::{
    Disposition, MAX_ATTEMPTS, RETRY_BACKOFF, handle_message, retry_backoff,
};
use connectors_engine::{Budget, Engine, EngineError, SliceOutcome};
use es_client::EsClient;
use tokio::sync::watch;
use tracing::{error, info, warn};

use crate::compose::{ServiceError, build};
use crate::config::ServiceConfig;

/// `connectors tick`: one scheduler pass over the served connectors.
pub async fn tick(es: &EsClient, config: &ServiceConfig) -> Result<TickReport, ServiceError> {
    let (_, scheduler) = build(es, config, Arc::new(MemoryQueue::new()));
    Ok(scheduler.schedule_only().await?)
}

/// What `work` did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct WorkReport {
    pub slices: u64,
    pub finished: u64,
}

/// `connectors work --once`: runs every job of the served connectors that needs a worker,
/// until none is left (or all that are left are waiting on someone else).
pub async fn work_once(
    es: &EsClient,
    config: &ServiceConfig,
    stop: watch::Receiver<bool>,
) -> Result<WorkReport, ServiceError> {
    let queue = Arc::new(MemoryQueue::new());
    let (engine, _) = build(es, config, queue.clone());
    // Here the pending jobs are the queue: take every one now, and any running job whose
    // worker is gone (its lease expired).
    let dispatcher = Scheduler::new(
        engine.clone(),
        queue.clone(),
        SchedulerConfig {
            redispatch_after: Duration::ZERO,
            idle_threshold: Duration::ZERO,
            ..config.scheduler_config()
        },
    );
    let slice = Duration::from_secs(config.service.slice_seconds);
    let mut report = WorkReport::default();
    loop {
        let pass = dispatcher.dispatch_only().await?;
        if pass.dispatched + pass.resumed + pass.failed_jobs + pass.canceled_jobs == 0 {
            break;
        }
        let mut progressed = pass.failed_jobs + pass.canceled_jobs > 0;
        while let Some(message) = queue.recv(Duration::ZERO).await {
            if *stop.borrow() {
                return Ok(report);
            }
            let budget = Budget {
                deadline: Instant::now() + slice,
                stop: Some(stop.clone()),
            };
            report.slices += 1;
            match run_with_retries(&engine, &message, budget, &stop).await {
                Ok(outcome @ (SliceOutcome::Continue { .. } | SliceOutcome::Spread(_))) => {
                    progressed = true;
                    let stopping = *stop.borrow() && outcome.paused(&message);
                    continue_later(&engine, &queue, &message.job_id, &outcome, stopping).await?;
                }
                Ok(SliceOutcome::Finished(_)) => {
                    progressed = true;
                    report.finished += 1;
                }
                Ok(SliceOutcome::Busy(_) | SliceOutcome::Stale(_)) => {}
                Err(e) => {
                    progressed = true;
                    warn!(job_id = %message.job_id, error = %e, "slice failed");
                }
            }
        }
        if !progressed || *stop.borrow() {
            break;
        }
    }
    Ok(report)
}

/// `connectors run`: the scheduler every `service.idling` seconds and
/// `service.max_concurrent_content_syncs` workers, until `stop` flips. Jobs running then are
/// checkpointed and left `suspended`, to resume where they stopped.
pub async fn run(
    es: &EsClient,
    config: &ServiceConfig,
    stop: watch::Receiver<bool>,
) -> Result<(), ServiceError> {
    let queue = Arc::new(MemoryQueue::new());
    let (engine, scheduler) = build(es, config, queue.clone());
    let idling = Duration::from_secs(config.service.idling.max(1));
    let slice = Duration::from_secs(config.service.slice_seconds);
    let mut tasks = Vec::new();
    {
        let mut stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            loop {
                match scheduler.tick().await {
                    Ok(r) => info!(
                        connectors = r.connectors,
                        scheduled = r.scheduled,
                        dispatched = r.dispatched,
                        resumed = r.resumed,
                        "scheduler pass"
                    ),
                    Err(e) => error!(error = %e, "scheduler pass failed"),
                }
                tokio::select! {
                    _ = tokio::time::sleep(idling) => {}
                    _ = stop.changed() => {}
                }
                if *stop.borrow() {
                    break;
                }
            }
        }));
    }
    for worker in 0..config.service.max_concurrent_content_syncs {
        let engine = engine.clone();
        let queue = queue.clone();
        let stop = stop.clone();
        tasks.push(tokio::spawn(async move {
            while !*stop.borrow() {
                let Some(message) = queue.recv(Duration::from_millis(500)).await else {
                    continue;
                };
                let budget = Budget {
                    deadline: Instant::now() + slice,
                    stop: Some(stop.clone()),
                };
                match handle_message(&engine, queue.as_ref(), &message, budget).await {
                    Disposition::Done => {}
                    Disposition::Retry(reason) => {
                        retry_later(&engine, queue.as_ref(), &message, &reason).await;
                    }
                }
                info!(worker, job_id = %message.job_id, "slice done");
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    Ok(())
}

/// After a slice failed transiently: sends the message again after a back-off, or ends the
/// job in `error` once its slice failed [`MAX_ATTEMPTS`] times in a row.
async fn retry_later(engine: &Engine, queue: &dyn JobQueue, message: &JobMessage, reason: &str) {
    let job_id = message.job_id.as_str();
    if message.attempt + 1 >= MAX_ATTEMPTS {
        give_up(engine, message, reason).await;
        return;
    }
    let delay = retry_backoff(RETRY_BACKOFF, message.attempt);
    info!(
        job_id,
        attempt = message.attempt + 1,
        delay_s = delay.as_secs(),
        "retrying the slice after a back-off"
    );
    if let Err(e) = queue.send(&message.retried(), delay).await {
        warn!(job_id, error = %e, "could not queue the retry; the scheduler resumes the job");
    }
}

/// Runs a slice in the foreground, retrying transient failures after a back-off; past
/// [`MAX_ATTEMPTS`] the job ends in `error` and the last failure is returned.
pub async fn run_with_retries(
    engine: &Engine,
    message: &JobMessage,
    budget: Budget,
    stop: &watch::Receiver<bool>,
) -> Result<SliceOutcome, EngineError> {
    let mut attempt = message.attempt;
    let slice = budget.deadline.saturating_duration_since(Instant::now());
    let mut budget = budget;
    loop {
        match engine.run_message(message, budget).await {
            Err(e) if attempt + 1 < MAX_ATTEMPTS && !*stop.borrow() => {
                let delay = retry_backoff(RETRY_BACKOFF, attempt);
                warn!(job_id = %message.job_id, attempt = attempt + 1, delay_s = delay.as_secs(), error = %e, "slice failed; retrying after a back-off");
                let mut stop = stop.clone();
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = stop.changed() => {}
                }
                attempt += 1;
                budget = Budget {
                    deadline: Instant::now() + slice,
                    stop: Some(stop.clone()),
                };
            }
            Err(e) if !*stop.borrow() => {
                give_up(engine, message, &e.to_string()).await;
                return Err(e);
            }
            other => return other,
        }
    }
}

/// Ends a job whose slice failed [`MAX_ATTEMPTS`] times in a row in `error`, with the reason.
async fn give_up(engine: &Engine, message: &JobMessage, reason: &str) {
    let job_id = message.job_id.as_str();
    let what = match message.partition {
        Some(p) => format!("The sync job's partition {} failed", p + 1),
        None => "The sync job's slice failed".to_string(),
    };
    let why = format!("{what} {MAX_ATTEMPTS} times in a row; last error: {reason}");
    match engine.fail_job(job_id, &why).await {
        Ok(_) => error!(job_id, reason = %why, "marked the job as failed"),
        Err(e) => {
            warn!(job_id, error = %e, "could not mark the job as failed; the scheduler resumes it")
        }
    }
}

/// After a slice that used up its budget (or a job that was split): hand the rest of the job
/// to the queue or, when the process is stopping, leave the job `suspended` so that it resumes
/// from its checkpoint.
async fn continue_later(
    engine: &Engine,
    queue: &MemoryQueue,
    job_id: &str,
    outcome: &SliceOutcome,
    stopping: bool,
) -> Result<(), ServiceError> {
    if stopping {
        engine.suspend(job_id).await?;
        info!(job_id, "job suspended; it resumes from its checkpoint");
        return Ok(());
    }
    for next in outcome.next_messages(job_id) {
        queue
            .send(&next, Duration::ZERO)
            .await
            .map_err(EngineError::from)?;
    }
    Ok(())
}

/// A stop signal that flips on SIGINT or SIGTERM.
pub fn stop_on_signals() -> watch::Receiver<bool> {
    let (tx, rx) = watch::channel(false);
    tokio::spawn(async move {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(s) => s,
                    Err(_) => {
                        let _ = ctrl_c.await;
                        let _ = tx.send(true);
                        return;
                    }
                };
            tokio::select! {
                _ = ctrl_c => {}
                _ = term.recv() => {}
            }
        }
        #[cfg(not(unix))]
        let _ = ctrl_c.await;
        info!("stopping: running jobs will checkpoint and be suspended");
        let _ = tx.send(true);
    });
    rx
}
