//! A sync job as the commands show it (`job view`: the reference's keys, never the connector
//! snapshot with its configuration), and following a job to its end (`job start --wait`,
//! `job view --follow`): the job document is read every second, and its status and counts are
//! shown whenever they change — as a spinner line on a terminal, as plain lines otherwise, or
//! as JSON lines for scripts.

use std::io::IsTerminal;
use std::time::{Duration, Instant};

use connectors_protocol::{SyncJob, SyncStatus};
use indicatif::{ProgressBar, ProgressStyle};

use serde_json::{Value, json};

use super::error::CliError;
use super::session::Session;
use super::table::{Format, print_json_line};

/// Where the updates go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Updates {
    /// Progress on standard error (a spinner on a terminal); the result is printed afterwards.
    Progress,
    /// The stream is the command's output: lines (or JSON lines) on standard output.
    Stream(Format),
}

/// How long a job may stay pending before the hint that no service is running.
const PENDING_HINT_AFTER: Duration = Duration::from_secs(15);

/// A job as `job view` shows it: the reference's keys first, then when it ran and its error.
/// The connector snapshot (with its configuration and secrets) is left out.
pub fn view(job: &SyncJob) -> Value {
    json!({
        "job_id": job.id,
        "connector_id": job.connector.id,
        "index_name": job.connector.index_name,
        "job_status": job.status.as_str(),
        "job_type": job.job_type.as_str(),
        "documents_indexed": job.indexed_document_count,
        "volume_documents_indexed": job.indexed_document_volume,
        "documents_deleted": job.deleted_document_count,
        "total_document_count": job.total_document_count,
        "trigger_method": job.trigger_method.as_str(),
        "created_at": job.created_at,
        "started_at": job.started_at,
        "completed_at": job.completed_at,
        "error": job.error,
    })
}

/// [`view`] as rows of a two-column table (empty values left out).
pub fn view_pairs(job: &SyncJob) -> Vec<(String, String)> {
    let Value::Object(fields) = view(job) else {
        return Vec::new();
    };
    fields
        .into_iter()
        .filter_map(|(k, v)| match v {
            Value::Null => None,
            Value::String(s) => Some((k, s)),
            other => Some((k, other.to_string())),
        })
        .collect()
}

/// One line about a job's progress.
pub fn progress_line(job: &SyncJob) -> String {
    format!(
        "{}: {} documents indexed ({} MiB), {} deleted",
        job.status.as_str(),
        job.indexed_document_count,
        job.indexed_document_volume,
        job.deleted_document_count
    )
}

/// Reads the job; a missing one is [`CliError::UnknownJob`].
pub async fn get_job(session: &Session, job_id: &str) -> Result<SyncJob, CliError> {
    session.es.sync_jobs().get(job_id).await.map_err(|e| {
        if e.is_not_found() {
            CliError::UnknownJob(job_id.to_string())
        } else {
            session.error(format!("reading sync job {job_id}"), e)
        }
    })
}

/// Follows `job_id` until it is completed, canceled or failed, and returns its last state.
/// Ctrl-C stops following (the job goes on).
pub async fn follow(
    session: &Session,
    job_id: &str,
    updates: Updates,
    interval: Duration,
) -> Result<SyncJob, CliError> {
    let spinner = (updates == Updates::Progress && std::io::stderr().is_terminal()).then(|| {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let started = Instant::now();
    let mut hinted = false;
    let mut last: Option<(SyncStatus, u64, u64, u64)> = None;
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    let result = loop {
        let job = match get_job(session, job_id).await {
            Ok(job) => job,
            Err(e) => break Err(e),
        };
        let key = (
            job.status,
            job.indexed_document_count,
            job.indexed_document_volume,
            job.deleted_document_count,
        );
        if last != Some(key) {
            last = Some(key);
            let show = match updates {
                Updates::Stream(Format::Json) => print_json_line(&view(&job)),
                Updates::Stream(Format::Text) => {
                    println!("job {job_id} {}", progress_line(&job));
                    Ok(())
                }
                Updates::Progress => {
                    match &spinner {
                        Some(bar) => {
                            bar.set_message(format!("job {job_id} {}", progress_line(&job)))
                        }
                        None => eprintln!("job {job_id} {}", progress_line(&job)),
                    }
                    Ok(())
                }
            };
            if let Err(e) = show {
                break Err(e);
            }
        }
        if job.status.is_terminal() {
            break Ok(job);
        }
        if !hinted && job.status == SyncStatus::Pending && started.elapsed() >= PENDING_HINT_AFTER {
            hinted = true;
            let hint = format!(
                "job {job_id} is still pending: no connectors service has claimed it; start one (`connectors run`, or `connectors work --once`) or deploy the worker function"
            );
            match &spinner {
                Some(bar) => bar.println(hint),
                None => eprintln!("{hint}"),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = &mut interrupted => {
                break Err(CliError::Refused(format!(
                    "stopped following job {job_id}; the job goes on (`connectors job view {job_id} --follow` follows it again)"
                )));
            }
        }
    };
    if let Some(bar) = spinner {
        bar.finish_and_clear();
    }
    result
}
