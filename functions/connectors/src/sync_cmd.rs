//! `connectors sync --connector <id>`: one job, in the foreground, with progress.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use connectors_engine::queue::JobMessage;
use connectors_engine::{Budget, SliceOutcome};
use connectors_protocol::{JobType, SyncStatus, TriggerMethod};
use connectors_service::config::ConnectorEntry;
use connectors_service::{ServiceConfig, compose, local};
use es_client::EsClient;
use indicatif::{ProgressBar, ProgressStyle};

#[derive(clap::Args)]
pub struct SyncArgs {
    /// The connector to sync.
    #[arg(long)]
    connector: String,
    /// `full` or `incremental`.
    #[arg(long, default_value = "full")]
    job_type: String,
    /// Seconds per slice: the job checkpoints and continues after each, as on Lambda
    /// (default: `service.slice_seconds`).
    #[arg(long)]
    slice_seconds: Option<u64>,
}

pub async fn run(
    args: SyncArgs,
    es: &EsClient,
    config: &ServiceConfig,
    stop: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<ExitCode> {
    let job_type: JobType = args
        .job_type
        .parse()
        .map_err(|e| anyhow::anyhow!("--job-type: {e}"))?;
    let engine = compose::engine(es, config);
    let job_id = es
        .sync_jobs()
        .create(&args.connector, job_type, TriggerMethod::OnDemand)
        .await
        .with_context(|| {
            format!(
                "creating a {job_type} sync job for connector {}",
                args.connector
            )
        })?;
    tracing::info!(job_id = %job_id, connector_id = %args.connector, "created sync job");

    let progress = Progress::start(es, &job_id);
    // Another job of the connector holding its lock is run here too when its worker is gone
    // (its lease ran out), as the service would: a killed `connectors sync` leaves no lock.
    let mut connector_only = config.clone();
    connector_only.connectors = vec![ConnectorEntry {
        connector_id: args.connector.clone(),
        ..ConnectorEntry::default()
    }];
    connector_only.service.service_types.clear();
    // The job's messages still to run: its slices, or its partitions' (run one after the
    // other here).
    let mut messages = std::collections::VecDeque::from([JobMessage::new(&job_id, 0)]);
    let seconds = args
        .slice_seconds
        .unwrap_or(config.service.slice_seconds)
        .max(1);
    let status = loop {
        let Some(message) = messages.pop_front() else {
            // Every partition handed over: the last one to list ended the job.
            break es.sync_jobs().get(&job_id).await?.status;
        };
        let budget = Budget {
            deadline: Instant::now() + Duration::from_secs(seconds),
            stop: Some(stop.clone()),
        };
        match local::run_with_retries(&engine, &message, budget, &stop).await? {
            SliceOutcome::Finished(status) => break status,
            SliceOutcome::Continue { .. } | SliceOutcome::Spread(_) if *stop.borrow() => {
                engine.suspend(&job_id).await?;
                progress.finish().await;
                eprintln!("stopped: job {job_id} is suspended and resumes from its checkpoint");
                return Ok(ExitCode::FAILURE);
            }
            outcome @ (SliceOutcome::Continue { .. } | SliceOutcome::Spread(_)) => {
                messages.extend(outcome.next_messages(&job_id))
            }
            SliceOutcome::Busy(why) => {
                tracing::info!(reason = %why, "waiting for the connector's other job");
                let done = local::work_once(es, &connector_only, stop.clone()).await?;
                if *stop.borrow() {
                    progress.finish().await;
                    return Ok(ExitCode::FAILURE);
                }
                if done.finished == 0 {
                    tokio::time::sleep(Duration::from_secs(2)).await;
                }
                messages.push_front(message);
            }
            SliceOutcome::Stale(_) if !messages.is_empty() => {}
            SliceOutcome::Stale(why) => {
                // Run to its end by the take-over above, or ended by someone else.
                let job = es.sync_jobs().get(&job_id).await?;
                if job.status.is_terminal() {
                    break job.status;
                }
                bail!("the job cannot run: {why}");
            }
        }
    };
    progress.finish().await;
    let job = es.sync_jobs().get(&job_id).await?;
    println!(
        "job {job_id}: {status} — indexed {} documents ({} MiB), deleted {}, {} in the index{}",
        job.indexed_document_count,
        job.indexed_document_volume,
        job.deleted_document_count,
        job.total_document_count,
        job.error
            .map(|e| format!("; error: {e}"))
            .unwrap_or_default()
    );
    Ok(if status == SyncStatus::Completed {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// A progress bar on a terminal, plain log lines otherwise, fed by the job document.
struct Progress {
    task: tokio::task::JoinHandle<()>,
    stop: tokio::sync::watch::Sender<bool>,
}

impl Progress {
    fn start(es: &EsClient, job_id: &str) -> Progress {
        let (stop, mut stopped) = tokio::sync::watch::channel(false);
        let es = es.clone();
        let job_id = job_id.to_string();
        let task = tokio::spawn(async move {
            let bar = std::io::stderr().is_terminal().then(|| {
                let bar = ProgressBar::new_spinner();
                bar.set_style(
                    ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                        .unwrap_or_else(|_| ProgressStyle::default_spinner()),
                );
                bar.enable_steady_tick(Duration::from_millis(120));
                bar
            });
            let started = Instant::now();
            let interval = if bar.is_some() { 500 } else { 10_000 };
            loop {
                tokio::select! {
                    _ = stopped.changed() => break,
                    _ = tokio::time::sleep(Duration::from_millis(interval)) => {}
                }
                let Ok(job) = es.sync_jobs().get(&job_id).await else {
                    continue;
                };
                let secs = started.elapsed().as_secs_f64().max(0.001);
                let line = format!(
                    "{} documents, {} MiB, {:.0} docs/s, {} deleted",
                    job.indexed_document_count,
                    job.indexed_document_volume,
                    job.indexed_document_count as f64 / secs,
                    job.deleted_document_count
                );
                match &bar {
                    Some(b) => b.set_message(line),
                    None => tracing::info!(job_id = %job_id, "{line}"),
                }
            }
            if let Some(b) = bar {
                b.finish_and_clear();
            }
        });
        Progress { task, stop }
    }

    async fn finish(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}
