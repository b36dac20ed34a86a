//! Cold start of the Lambda functions' release builds: from process start to the runtime's
//! first `GET /runtime/invocation/next` (ready for its first event), median of 10 runs, and the
//! size of each `bootstrap`. Targets: ready in under 20 ms; the deployed (arm64) bootstraps
//! under 12 MB (the worker carries the in-process text extractor: 11.7 MB; the scheduler 9.9).
//!
//! Needs release builds, so it is not part of the suite:
//!
//! ```sh
//! cargo lambda build --release --arm64 --bin scheduler --bin worker    # target/lambda (as CI)
//! cargo lambda build --release --bin scheduler --bin worker --lambda-dir target/lambda-x86
//! cargo test -p connectors-tests --test cold_start -- --ignored --nocapture
//! ```
//!
//! The x86_64 builds (this machine's) are started; `COLD_START_DIR` (an absolute path) points
//! at other ones.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 10;

fn target() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target"))
}

fn host_dir() -> PathBuf {
    std::env::var_os("COLD_START_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| target().join("lambda-x86"))
}

/// Whether an ELF file is for aarch64 (`e_machine` 183).
fn is_aarch64(bin: &PathBuf) -> bool {
    std::fs::read(bin).is_ok_and(|b| b.len() > 20 && b[..4] == *b"\x7fELF" && b[18] == 183)
}

/// Starts `bin` against a one-request runtime API and returns when it asked for an event.
fn ready_after(bin: &PathBuf) -> Duration {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
    let port = listener.local_addr().expect("an address").port();
    let started = Instant::now();
    let mut child = Command::new(bin)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
        .env("AWS_LAMBDA_FUNCTION_NAME", "cold-start")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("JOB_QUEUE_URL", "http://127.0.0.1:9/queue")
        .env("ES_URL_PARAMETER", "/cold-start/es-url")
        .env(
            "ES_API_KEY_SECRET_ARN",
            "arn:aws:secretsmanager:us-east-1:123456789012:secret:k",
        )
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the bootstrap starts");
    let (mut stream, _) = listener.accept().expect("the runtime connects");
    let mut request = Vec::new();
    let mut buf = [0u8; 1024];
    while !request.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut buf).expect("reads the request");
        assert!(n > 0, "the runtime hung up");
        request.extend_from_slice(&buf[..n]);
    }
    let ready = started.elapsed();
    let head = String::from_utf8_lossy(&request);
    assert!(
        head.starts_with("GET /2018-06-01/runtime/invocation/next"),
        "{head}"
    );
    let _ = stream.write_all(b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\n\r\n");
    let _ = child.kill();
    let _ = child.wait();
    ready
}

#[test]
#[ignore = "needs release builds: see the module documentation"]
fn release_bootstraps_start_fast_and_are_small() {
    let mut misses = Vec::new();
    for function in ["scheduler", "worker"] {
        let bin = host_dir().join(function).join("bootstrap");
        assert!(bin.is_file(), "{} is missing", bin.display());
        let size = std::fs::metadata(&bin).expect("metadata").len();
        let _ = ready_after(&bin); // page cache
        let mut runs: Vec<Duration> = (0..RUNS).map(|_| ready_after(&bin)).collect();
        runs.sort();
        let median = (runs[RUNS / 2 - 1] + runs[RUNS / 2]) / 2;
        println!(
            "{function} (x86_64): ready in {:.1} ms (median of {RUNS}; min {:.1}, max {:.1}); bootstrap {:.2} MB ({size} bytes)",
            median.as_secs_f64() * 1e3,
            runs[0].as_secs_f64() * 1e3,
            runs[RUNS - 1].as_secs_f64() * 1e3,
            size as f64 / 1e6,
        );
        if median >= Duration::from_millis(20) {
            misses.push(format!("{function}: ready in {median:?}"));
        }
        let arm64 = target().join("lambda").join(function).join("bootstrap");
        if is_aarch64(&arm64) {
            let size = std::fs::metadata(&arm64).expect("metadata").len();
            println!(
                "{function} (arm64): bootstrap {:.2} MB ({size} bytes)",
                size as f64 / 1e6
            );
            if size >= 12_000_000 {
                misses.push(format!("{function} (arm64): {size} bytes"));
            }
        } else {
            println!("{function} (arm64): no build in {}", arm64.display());
        }
    }
    assert!(misses.is_empty(), "targets missed: {misses:?}");
}
