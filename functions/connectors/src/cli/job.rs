//! `connectors job list|start|cancel|view`: a connector's sync jobs, requesting one (and, with
//! `--wait`, following it to its end), canceling one, and one job's state (with `--follow`,
//! streamed until it ends). As in the reference, `start` only requests the job: a connectors
//! service (`connectors run`, or the worker function) runs it.

use std::path::Path;
use std::time::Duration;

use connectors_protocol::{JobType, SyncJob, SyncStatus, TriggerMethod};
use es_client::SyncJobListParams;
use serde_json::json;

use super::error::CliError;
use super::follow::{self, Updates, get_job, view, view_pairs};
use super::prompt::Prompter;
use super::session::{self, Session};
use super::table::{Format, print_json, render, render_pairs};

/// `-t`: the job type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum JobTypeArg {
    Full,
    Incremental,
    #[value(name = "access_control", alias = "access-control")]
    AccessControl,
}

impl From<JobTypeArg> for JobType {
    fn from(t: JobTypeArg) -> JobType {
        match t {
            JobTypeArg::Full => JobType::Full,
            JobTypeArg::Incremental => JobType::Incremental,
            JobTypeArg::AccessControl => JobType::AccessControl,
        }
    }
}

#[derive(Debug, clap::Subcommand)]
pub enum JobCommand {
    /// Start a sync job (a connectors service runs it).
    Start {
        /// Connector ID.
        #[arg(short = 'i', long = "connector-id", value_name = "CONNECTOR_ID")]
        connector_id: String,
        /// Job type.
        #[arg(short = 't', long = "job-type", value_enum, ignore_case = true)]
        job_type: JobTypeArg,
        /// Follow the job until it ends, with progress; exit 0 only if it completed.
        #[arg(long, short = 'w')]
        wait: bool,
    },
    /// List of a connector's jobs sorted by date.
    List { connector_id: String },
    /// Cancel a job.
    Cancel {
        job_id: String,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Show information about a job.
    View {
        job_id: String,
        /// Stream the job's status and counts until it ends; exit 0 only if it completed.
        #[arg(long, short = 'f')]
        follow: bool,
    },
}

/// How often a followed job is read.
const FOLLOW_INTERVAL: Duration = Duration::from_secs(1);

/// Runs a job command; `Ok(false)` when a followed job did not complete (exit 1).
pub async fn run(
    command: JobCommand,
    config: Option<&Path>,
    format: Format,
) -> Result<bool, CliError> {
    let session = session::connect(config, true).await?;
    match command {
        JobCommand::Start {
            connector_id,
            job_type,
            wait,
        } => start(&session, &connector_id, job_type.into(), wait, format).await,
        JobCommand::List { connector_id } => {
            list(&session, &connector_id, format).await.map(|_| true)
        }
        JobCommand::Cancel { job_id, yes } => {
            cancel(&session, &job_id, yes, format).await.map(|_| true)
        }
        JobCommand::View { job_id, follow } => view_job(&session, &job_id, follow, format).await,
    }
}

/// The connector must exist: a one-line error otherwise.
async fn require_connector(session: &Session, id: &str) -> Result<(), CliError> {
    match session.es.connectors().get(id, false).await {
        Ok(_) => Ok(()),
        Err(e) if e.is_not_found() => Err(CliError::UnknownConnector(id.to_string())),
        Err(e) => Err(session.error(format!("reading connector {id}"), e)),
    }
}

/// The end of a followed job: a line (or its view as JSON), and whether it completed.
fn report_end(job: &SyncJob, format: Format) -> Result<bool, CliError> {
    let completed = job.status == SyncStatus::Completed;
    match format {
        Format::Json => print_json(&view(job))?,
        Format::Text => {
            let id = job.id.as_deref().unwrap_or("?");
            let error = job
                .error
                .as_deref()
                .map(|e| format!("; error: {e}"))
                .unwrap_or_default();
            println!(
                "Job {id} {}: {} documents indexed ({} MiB), {} deleted, {} in the index{error}",
                job.status.as_str(),
                job.indexed_document_count,
                job.indexed_document_volume,
                job.deleted_document_count,
                job.total_document_count,
            );
        }
    }
    Ok(completed)
}

async fn start(
    session: &Session,
    connector_id: &str,
    job_type: JobType,
    wait: bool,
    format: Format,
) -> Result<bool, CliError> {
    require_connector(session, connector_id).await?;
    let job_id = session
        .es
        .sync_jobs()
        .create(connector_id, job_type, TriggerMethod::OnDemand)
        .await
        .map_err(|e| session.error(format!("starting a {job_type} sync of {connector_id}"), e))?;
    if !wait {
        match format {
            Format::Json => print_json(&json!({ "id": job_id }))?,
            Format::Text => println!("The job {job_id} has been started."),
        }
        return Ok(true);
    }
    if format == Format::Text {
        println!("The job {job_id} has been started.");
    }
    let job = follow::follow(session, &job_id, Updates::Progress, FOLLOW_INTERVAL).await?;
    report_end(&job, format)
}

/// Every job of the connector, oldest first (as the reference sorts them).
async fn all_jobs(session: &Session, connector_id: &str) -> Result<Vec<SyncJob>, CliError> {
    const PAGE: u64 = 100;
    let mut jobs = Vec::new();
    loop {
        let params = SyncJobListParams {
            from: Some(jobs.len() as u64),
            size: Some(PAGE),
            connector_id: Some(connector_id.to_string()),
            ..Default::default()
        };
        let page = session
            .es
            .sync_jobs()
            .list(&params)
            .await
            .map_err(|e| session.error(format!("listing the jobs of {connector_id}"), e))?;
        let n = page.results.len() as u64;
        jobs.extend(page.results);
        if n < PAGE || jobs.len() as u64 >= page.count {
            break;
        }
    }
    jobs.sort_by_key(|j| j.created_at);
    Ok(jobs)
}

async fn list(session: &Session, connector_id: &str, format: Format) -> Result<(), CliError> {
    require_connector(session, connector_id).await?;
    let jobs = all_jobs(session, connector_id).await?;
    if format == Format::Json {
        return print_json(&jobs.iter().map(view).collect::<Vec<_>>());
    }
    if jobs.is_empty() {
        println!("No jobs found");
        return Ok(());
    }
    println!("Showing {} jobs\n", jobs.len());
    let rows: Vec<Vec<String>> = jobs
        .iter()
        .map(|j| {
            vec![
                j.id.clone().unwrap_or_default(),
                j.connector.id.clone(),
                j.connector.index_name.clone().unwrap_or_default(),
                j.status.as_str().to_string(),
                j.job_type.as_str().to_string(),
                j.indexed_document_count.to_string(),
                j.indexed_document_volume.to_string(),
                j.deleted_document_count.to_string(),
            ]
        })
        .collect();
    println!(
        "{}",
        render(
            &[
                "Job id",
                "Connector id",
                "Index name",
                "Job status",
                "Job type",
                "Documents indexed",
                "Volume documents indexed (MiB)",
                "Documents deleted",
            ],
            &rows
        )
    );
    Ok(())
}

async fn cancel(
    session: &Session,
    job_id: &str,
    yes: bool,
    format: Format,
) -> Result<(), CliError> {
    let job = get_job(session, job_id).await?;
    if job.status.is_terminal() || job.status == SyncStatus::Canceling {
        return Err(CliError::Refused(format!(
            "job {job_id} is already {}: there is nothing to cancel",
            job.status.as_str()
        )));
    }
    Prompter::stdin().confirm_or_abort(yes, "Are you sure you want to cancel jobs?")?;
    if format == Format::Text {
        eprintln!("Canceling jobs...");
    }
    session.es.sync_jobs().cancel(job_id).await.map_err(|e| {
        if e.is_bad_request() {
            CliError::Refused(format!(
                "job {job_id} cannot be canceled now ({}): `connectors job view {job_id}` shows its status",
                e.api_error().map(|a| a.reason()).unwrap_or("")
            ))
        } else {
            session.error(format!("canceling job {job_id}"), e)
        }
    })?;
    let job = get_job(session, job_id).await?;
    match format {
        Format::Json => print_json(&json!({"id": job_id, "status": job.status.as_str()})),
        Format::Text => {
            println!(
                "The job has been cancelled (status: {})",
                job.status.as_str()
            );
            Ok(())
        }
    }
}

async fn view_job(
    session: &Session,
    job_id: &str,
    follow: bool,
    format: Format,
) -> Result<bool, CliError> {
    if follow {
        let job = follow::follow(session, job_id, Updates::Stream(format), FOLLOW_INTERVAL).await?;
        if format == Format::Text {
            println!("{}", render_pairs(&view_pairs(&job)));
        }
        return Ok(job.status == SyncStatus::Completed);
    }
    let job = get_job(session, job_id).await?;
    match format {
        Format::Json => print_json(&view(&job))?,
        Format::Text => println!("{}", render_pairs(&view_pairs(&job))),
    }
    Ok(true)
}
