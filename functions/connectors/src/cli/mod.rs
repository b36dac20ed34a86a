//! The management commands of the reference's `connectors` CLI (`connectors_cli.py`): `login`,
//! `connector list|create`, `index list|clean|delete`, `job list|start|cancel|view`, with
//! tables for people and `--format json` for scripts. Exit codes: 0 done, 1 failed (one line on
//! standard error says why and what to do), 2 wrong usage.
//!
//! - [`session`]: the login file and the connection every command makes;
//! - [`login`], [`connector`] (with the configuration [`form`]), [`index`], [`job`] (with
//!   `follow`): one module per command group;
//! - [`prompt`]: questions on standard error, answers on standard input; [`table`]: output.

pub mod connector;
pub mod error;
mod follow;
pub mod form;
pub mod index;
pub mod job;
pub mod login;
pub mod prompt;
pub mod session;
pub mod table;

use std::path::Path;
use std::process::ExitCode;

pub use table::Format;

/// `connectors connector ...`: connectors management.
#[derive(Debug, clap::Args)]
pub struct ConnectorGroup {
    #[command(subcommand)]
    pub command: Option<connector::ConnectorCommand>,
}

/// `connectors index ...`: search indices management.
#[derive(Debug, clap::Args)]
pub struct IndexGroup {
    #[command(subcommand)]
    pub command: Option<index::IndexCommand>,
}

/// `connectors job ...`: sync jobs management.
#[derive(Debug, clap::Args)]
pub struct JobGroup {
    #[command(subcommand)]
    pub command: Option<job::JobCommand>,
}

/// One management command, ready to run.
#[derive(Debug)]
pub enum Management {
    Login(login::LoginArgs),
    Connector(connector::ConnectorCommand),
    Index(index::IndexCommand),
    Job(job::JobCommand),
}

/// Runs a management command and turns its outcome into the exit code; a failure is one line
/// on standard error.
pub async fn run(command: Management, config: Option<&Path>, format: Format) -> ExitCode {
    let outcome = match command {
        Management::Login(args) => login::run(args, format).await.map(|_| true),
        Management::Connector(c) => connector::run(c, config, format).await.map(|_| true),
        Management::Index(c) => index::run(c, config, format).await.map(|_| true),
        Management::Job(c) => job::run(c, config, format).await,
    };
    match outcome {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {}", e.one_line());
            ExitCode::from(e.exit_code())
        }
    }
}
