//! `connectors`: the connectors service as one local process, and the reference's management
//! CLI (`login`, `connector`, `index`, `job`). A thin shell over `connectors-service`.

mod cli;
mod demo;
mod extract_cmd;
mod scaffold;
mod sync_cmd;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{CommandFactory, Parser, Subcommand};
use connectors_service::{compose, local};

// mimalloc: glibc's malloc spent a third of a sync's CPU time on its many small, short-lived
// allocations.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "connectors",
    version,
    about = "Elastic connectors, rebuilt in Rust"
)]
struct Cli {
    /// A `config.yml` (the reference's keys); environment variables override it.
    #[arg(long, short, global = true, env = "CONNECTORS_CONFIG")]
    config: Option<PathBuf>,
    /// Log as JSON lines instead of human-readable text.
    #[arg(long, global = true)]
    log_json: bool,
    /// Output of the management commands: `text` (tables) or `json` (for scripts).
    #[arg(long, short = 'o', global = true, value_enum, default_value_t = cli::Format::Text)]
    format: cli::Format,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Runs the scheduler and the workers until SIGINT/SIGTERM.
    Run,
    /// One scheduler pass: prepare and check in connectors, validate them, create due jobs.
    Tick,
    /// Runs every job that needs a worker until none is left.
    Work {
        /// Stop when no dispatched work remains (the only mode for now).
        #[arg(long)]
        once: bool,
    },
    /// Runs one sync job of an existing connector in the foreground, with progress.
    Sync(sync_cmd::SyncArgs),
    /// Shows the whole protocol on this machine with nothing else running.
    Demo,
    /// Prints the text extracted from local files, as the workers index it as `body`.
    Extract(extract_cmd::ExtractArgs),
    /// Authenticate with an Elasticsearch instance: stores the host and credentials.
    Login(cli::login::LoginArgs),
    /// Connectors management.
    Connector(cli::ConnectorGroup),
    /// Search indices management.
    Index(cli::IndexGroup),
    /// Sync jobs management.
    Job(cli::JobGroup),
    /// Writing sources: `source new <name>` scaffolds one in this repository.
    Source {
        #[command(subcommand)]
        command: Option<SourceCommand>,
    },
}

#[derive(Subcommand)]
enum SourceCommand {
    /// Writes a new source (module, conformance test) from the template and registers it.
    New(scaffold::NewSourceArgs),
}

/// What `main` runs: a management command, a command group's help, or the service.
enum Plan {
    Manage(cli::Management),
    Help(&'static str),
    Service(Command),
}

fn plan(command: Command) -> Plan {
    match command {
        Command::Login(args) => Plan::Manage(cli::Management::Login(args)),
        Command::Connector(g) => g.command.map_or(Plan::Help("connector"), |c| {
            Plan::Manage(cli::Management::Connector(c))
        }),
        Command::Index(g) => g.command.map_or(Plan::Help("index"), |c| {
            Plan::Manage(cli::Management::Index(c))
        }),
        Command::Job(g) => g
            .command
            .map_or(Plan::Help("job"), |c| Plan::Manage(cli::Management::Job(c))),
        Command::Source { command: None } => Plan::Help("source"),
        other => Plan::Service(other),
    }
}

/// A command group without a subcommand prints its help and succeeds, as the reference does.
fn print_group_help(name: &str) -> ExitCode {
    let mut command = Cli::command();
    match command.find_subcommand_mut(name) {
        Some(group) => {
            let _ = group.print_help();
            ExitCode::SUCCESS
        }
        None => ExitCode::FAILURE,
    }
}

/// Logs at `level` unless `RUST_LOG` says otherwise.
fn init_logs(json: bool, level: &str) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.with_ansi(std::io::stderr().is_terminal()).init();
    }
}

async fn main_inner(config: Option<PathBuf>, command: Command) -> anyhow::Result<ExitCode> {
    if let Command::Extract(args) = command {
        let ok = extract_cmd::run(args)?;
        return Ok(if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    if let Command::Source {
        command: Some(SourceCommand::New(args)),
    } = &command
    {
        let written = scaffold::run(args)?;
        println!(
            "wrote {} and {}, and registered the source in shared/sources/src/lib.rs\nnext: cargo test -p connectors-sources --test {}",
            written.module.display(),
            written.test.display(),
            args.name
        );
        return Ok(ExitCode::SUCCESS);
    }
    if let Command::Demo = command {
        let ok = demo::run().await?;
        return Ok(if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    // `--config`, else the login file of `connectors login`; the environment overrides both.
    let config = cli::session::service_config(config.as_deref(), false).context("configuration")?;
    // Signals are handled from the start: as a container's PID 1, a process without a handler
    // would ignore SIGTERM while it waits for Elasticsearch.
    let stop = local::stop_on_signals();
    let es = {
        let mut stopping = stop.clone();
        tokio::select! {
            es = compose::connect(&config) => es?,
            _ = stopping.wait_for(|stopped| *stopped) => return Ok(ExitCode::SUCCESS),
        }
    };
    match command {
        Command::Run => {
            local::run(&es, &config, stop).await?;
        }
        Command::Tick => {
            let report = local::tick(&es, &config).await?;
            println!(
                "{} connectors, {} scheduled jobs created{}",
                report.connectors,
                report.scheduled,
                if report.errors.is_empty() {
                    String::new()
                } else {
                    format!("; errors: {}", report.errors.join("; "))
                }
            );
        }
        Command::Work { once: _ } => {
            let report = local::work_once(&es, &config, stop).await?;
            println!(
                "{} slices run, {} jobs finished",
                report.slices, report.finished
            );
        }
        Command::Sync(args) => return sync_cmd::run(args, &es, &config, stop).await,
        Command::Demo
        | Command::Extract(_)
        | Command::Login(_)
        | Command::Connector(_)
        | Command::Index(_)
        | Command::Job(_)
        | Command::Source { .. } => unreachable!("handled before"),
    }
    Ok(ExitCode::SUCCESS)
}

/// Threads for blocking work (file reads, DNS): tokio's default of 512 let a directory sync
/// grow dozens of threads, each keeping its own allocator heap.
const MAX_BLOCKING_THREADS: usize = 8;

/// Transparent huge pages (`always` on many Linux hosts) make mimalloc's arenas resident 2 MiB
/// at a time: a `dir` sync of 3,000 small files peaked at 46 MB with them and 16 MB without.
/// The process opts out before it allocates much.
fn disable_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE takes plain integer arguments and touches no memory of ours;
    // a kernel without it answers an error, which leaves things as they were.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

fn main() -> ExitCode {
    disable_transparent_huge_pages();
    let Cli {
        config,
        log_json,
        format,
        command,
    } = Cli::parse();
    let plan = plan(command);
    let json =
        log_json || std::env::var("CONNECTORS_LOG_JSON").is_ok_and(|v| v == "true" || v == "1");
    // Management commands talk to people and report their own failures: only errors are logged.
    init_logs(
        json,
        if matches!(plan, Plan::Service(_)) {
            "info"
        } else {
            "error"
        },
    );
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let command = match plan {
        Plan::Help(group) => return print_group_help(group),
        Plan::Manage(m) => return runtime.block_on(cli::run(m, config.as_deref(), format)),
        Plan::Service(command) => command,
    };
    match runtime.block_on(main_inner(config, command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
