//! The `es-sim` binary: runs the simulator until SIGINT/SIGTERM. The first stdout line is
//! `es-sim listening on http://HOST:PORT`.

use std::io::Write;
use std::net::IpAddr;

use clap::Parser;
use es_sim::{Security, SimConfig};

// The allocator the project's binaries use (glibc's malloc is much slower on this workload).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Debug, Parser)]
#[command(
    name = "es-sim",
    version,
    about = "An in-memory Elasticsearch-compatible test server"
)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1", env = "ES_SIM_HOST")]
    host: IpAddr,
    /// Port to listen on; 0 picks a free one.
    #[arg(long, default_value_t = 9200, env = "ES_SIM_PORT")]
    port: u16,
    /// Elasticsearch version to report.
    #[arg(long = "es-version", default_value = "9.6.0", env = "ES_SIM_VERSION")]
    es_version: String,
    /// Basic-auth user (turns security on, with --password).
    #[arg(long, requires = "password", env = "ES_SIM_USERNAME")]
    username: Option<String>,
    /// Basic-auth password.
    #[arg(long, requires = "username", env = "ES_SIM_PASSWORD")]
    password: Option<String>,
    /// Largest accepted request body in bytes.
    #[arg(long, default_value_t = 100 * 1024 * 1024)]
    max_content_length: usize,
    /// Default refresh interval in milliseconds (for indices without `index.refresh_interval`);
    /// 0 refreshes them only on request.
    #[arg(long, default_value_t = 1000)]
    refresh_interval_ms: u64,
}

fn main() -> std::process::ExitCode {
    let args = Args::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "es_sim=info".into()),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("es-sim: cannot start the runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    runtime.block_on(run(args))
}

async fn run(args: Args) -> std::process::ExitCode {
    let security = match (args.username, args.password) {
        (Some(username), Some(password)) => Some(Security { username, password }),
        _ => None,
    };
    let config = SimConfig {
        host: args.host,
        port: args.port,
        version: args.es_version,
        max_content_length: args.max_content_length,
        refresh_interval: (args.refresh_interval_ms > 0)
            .then(|| std::time::Duration::from_millis(args.refresh_interval_ms)),
        security,
    };
    let sim = match es_sim::start(config).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("es-sim: cannot listen on {}:{}: {e}", args.host, args.port);
            return std::process::ExitCode::FAILURE;
        }
    };
    {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "es-sim listening on {}", sim.url());
        let _ = out.flush();
    }
    wait_for_signal().await;
    tracing::info!("shutting down");
    sim.shutdown().await;
    std::process::ExitCode::SUCCESS
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
