//! `connectors index list|clean|delete`: search indices and their document counts; removing
//! every document of an index (a `_delete_by_query` task, followed with progress); deleting an
//! index. Both changes ask first, as the reference does, unless `--yes`.

use std::io::IsTerminal;
use std::path::Path;
use std::time::Duration;

use es_client::DeleteByQueryOptions;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Value, json};

use super::error::CliError;
use super::prompt::Prompter;
use super::session::{self, Session};
use super::table::{Format, print_json, render};

#[derive(Debug, clap::Subcommand)]
pub enum IndexCommand {
    /// Show all indices and their document counts.
    List,
    /// Remove all documents from the index.
    Clean {
        index: String,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Delete an index.
    Delete {
        index: String,
        /// Do not ask for confirmation.
        #[arg(long, short = 'y')]
        yes: bool,
    },
}

pub async fn run(
    command: IndexCommand,
    config: Option<&Path>,
    format: Format,
) -> Result<(), CliError> {
    let session = session::connect(config, false).await?;
    match command {
        IndexCommand::List => list(&session, format).await,
        IndexCommand::Clean { index, yes } => clean(&session, &index, yes, format).await,
        IndexCommand::Delete { index, yes } => delete(&session, &index, yes, format).await,
    }
}

async fn list(session: &Session, format: Format) -> Result<(), CliError> {
    let indices = session
        .es
        .indices()
        .list(None)
        .await
        .map_err(|e| session.error("listing indices", e))?;
    if format == Format::Json {
        let rows: Vec<Value> = indices
            .iter()
            .map(|i| json!({"index": i.index, "docs_count": i.docs_count, "health": i.health, "status": i.status}))
            .collect();
        return print_json(&rows);
    }
    println!();
    if indices.is_empty() {
        println!("No indices found");
        return Ok(());
    }
    println!("Showing {} indices\n", indices.len());
    let rows: Vec<Vec<String>> = indices
        .iter()
        .map(|i| {
            vec![
                i.index.clone(),
                i.docs_count
                    .map(|n| n.to_string())
                    .unwrap_or_else(|| "unknown".into()),
            ]
        })
        .collect();
    println!("{}", render(&["Index name", "Number of documents"], &rows));
    Ok(())
}

async fn require_index(session: &Session, index: &str) -> Result<(), CliError> {
    let exists = session
        .es
        .indices()
        .exists(index)
        .await
        .map_err(|e| session.error(format!("checking index {index}"), e))?;
    if exists {
        Ok(())
    } else {
        Err(CliError::UnknownIndex(index.to_string()))
    }
}

/// `task.status.{deleted,total}` of a running `_delete_by_query`.
fn task_progress(task: &Value) -> (u64, u64) {
    let status = &task["status"];
    (
        status["deleted"].as_u64().unwrap_or(0),
        status["total"].as_u64().unwrap_or(0),
    )
}

async fn clean(session: &Session, index: &str, yes: bool, format: Format) -> Result<(), CliError> {
    require_index(session, index).await?;
    Prompter::stdin().confirm_or_abort(yes, &format!("Are you sure you want to clean {index}?"))?;
    let es = &session.es;
    let failed = |e: es_client::EsError| session.error(format!("cleaning {index}"), e);
    let before = es.count(index, None).await.map_err(failed)?;
    let options = DeleteByQueryOptions {
        refresh: true,
        ..Default::default()
    };
    let task = es
        .delete_by_query_task(index, &json!({"match_all": {}}), &options)
        .await
        .map_err(failed)?;
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(before);
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} {elapsed_precise} [{bar:30}] {pos}/{len} documents deleted",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    let mut last_line = std::time::Instant::now();
    let response = loop {
        let status = es.get_task(&task).await.map_err(failed)?;
        let (deleted, total) = task_progress(&status.task);
        match &bar {
            Some(bar) => {
                bar.set_length(total.max(before));
                bar.set_position(deleted);
            }
            None if format == Format::Text && last_line.elapsed() >= Duration::from_secs(5) => {
                eprintln!("{deleted} of {} documents deleted", total.max(before));
                last_line = std::time::Instant::now();
            }
            None => {}
        }
        if status.completed {
            if let Some(error) = status.error {
                if let Some(bar) = &bar {
                    bar.finish_and_clear();
                }
                return Err(CliError::Refused(format!(
                    "cleaning {index} failed: {error}"
                )));
            }
            break status.response.unwrap_or(Value::Null);
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    if let Some(bar) = &bar {
        bar.finish_and_clear();
    }
    let deleted = response["deleted"].as_u64().unwrap_or(0);
    let failures = response["failures"].as_array().map(Vec::len).unwrap_or(0);
    if failures > 0 {
        return Err(CliError::Refused(format!(
            "cleaning {index}: {deleted} documents deleted, {failures} could not be; run it again"
        )));
    }
    match format {
        Format::Json => print_json(&json!({"index": index, "deleted": deleted})),
        Format::Text => {
            println!("The index has been cleaned. ({deleted} documents deleted)");
            Ok(())
        }
    }
}

async fn delete(session: &Session, index: &str, yes: bool, format: Format) -> Result<(), CliError> {
    require_index(session, index).await?;
    Prompter::stdin()
        .confirm_or_abort(yes, &format!("Are you sure you want to delete {index}?"))?;
    session
        .es
        .indices()
        .delete(index, false)
        .await
        .map_err(|e| session.error(format!("deleting {index}"), e))?;
    match format {
        Format::Json => print_json(&json!({"index": index, "deleted": true})),
        Format::Text => {
            println!("The index has been deleted.");
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_progress_reads_the_status() {
        let task = json!({"status": {"total": 10, "deleted": 4}});
        assert_eq!(task_progress(&task), (4, 10));
        assert_eq!(task_progress(&json!({})), (0, 0));
    }
}
