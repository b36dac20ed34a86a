//! `connectors sync --connector <id>`: one job, in the foreground, with progress.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use connectors_engine::{Budget, Engine, SliceOutcome};
use connectors_protocol::{JobType, SyncStatus, TriggerMethod};
use connectors_service::ServiceConfig;
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
) -> anyhow::Result<ExitCode> {
    let job_type: JobType = args
        .job_type
        .parse()
        .map_err(|e| anyhow::anyhow!("--job-type: {e}"))?;
    let engine = Engine::new(
        es.clone(),
        Arc::new(connectors_sources::registry()),
        config.engine_config(),
    );
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
    let mut slice = Some(0);
    let status = loop {
        let seconds = args
            .slice_seconds
            .unwrap_or(config.service.slice_seconds)
            .max(1);
        let budget = Budget::for_duration(Duration::from_secs(seconds));
        match engine.run_slice(&job_id, slice, budget).await? {
            SliceOutcome::Finished(status) => break status,
            SliceOutcome::Continue { next_slice } => slice = Some(next_slice),
            SliceOutcome::Busy(why) => {
                tracing::info!(reason = %why, "waiting");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            SliceOutcome::Stale(why) => bail!("the job cannot run: {why}"),
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
