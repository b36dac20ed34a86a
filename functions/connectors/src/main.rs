//! `connectors`: the connectors service as one local process. A thin shell over
//! `connectors-service`.

mod demo;
mod extract_cmd;
mod sync_cmd;

use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};
use connectors_service::{ServiceConfig, compose, local};

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
}

fn init_logs(json: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.with_ansi(std::io::stderr().is_terminal()).init();
    }
}

async fn main_inner(cli: Cli) -> anyhow::Result<ExitCode> {
    if let Command::Extract(args) = cli.command {
        let ok = extract_cmd::run(args)?;
        return Ok(if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    if let Command::Demo = cli.command {
        let ok = demo::run().await?;
        return Ok(if ok {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        });
    }
    let config = ServiceConfig::load(cli.config.as_deref()).context("configuration")?;
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
    match cli.command {
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
        Command::Demo | Command::Extract(_) => unreachable!("handled above"),
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
    let cli = Cli::parse();
    let json =
        cli.log_json || std::env::var("CONNECTORS_LOG_JSON").is_ok_and(|v| v == "true" || v == "1");
    init_logs(json);
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
    match runtime.block_on(main_inner(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
