//! What the CLI tests share: an es-sim in the test process (optionally with security), a client
//! to it, and the built `connectors` binary run against it with a private HOME and login file,
//! its answers piped on standard input.
#![allow(dead_code)]

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use es_client::{Auth, EsClient, EsConfig};
use serde_json::Value;

pub const USER: &str = "elastic";
pub const PASSWORD: &str = "Pa55-w0rd-never-printed";

/// An es-sim, a client to it, and a private folder for the binary's HOME and login file.
pub struct Env {
    pub sim: es_sim::EsSim,
    pub es: EsClient,
    pub dir: tempfile::TempDir,
    /// Extra environment of every command.
    pub env: Vec<(String, String)>,
    /// Whether the es-sim requires [`USER`]/[`PASSWORD`].
    pub secured: bool,
}

/// What a command did.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Standard output as JSON (panics with the output when it is not).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {self:#?}"))
    }

    /// Asserts exit code 0.
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "{self:#?}");
        self
    }

    /// Asserts `code` and one error line on standard error, after the questions asked if any,
    /// and returns that line.
    pub fn fails(&self, code: i32) -> String {
        assert_eq!(self.code, code, "{self:#?}");
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        let (last, before) = lines
            .split_last()
            .unwrap_or_else(|| panic!("no error: {self:#?}"));
        assert!(
            last.starts_with("error: "),
            "the last line is the error: {self:#?}"
        );
        let asked = |l: &&str| l.starts_with("? ") || l.trim_end().ends_with("[y/N]:");
        assert!(
            before.iter().all(asked),
            "one line besides questions: {self:#?}"
        );
        last.to_string()
    }

    /// Neither output holds `secret`.
    pub fn hides(&self, secret: &str) -> &Run {
        assert!(
            !self.stdout.contains(secret),
            "stdout leaks a secret: {self:#?}"
        );
        assert!(
            !self.stderr.contains(secret),
            "stderr leaks a secret: {self:#?}"
        );
        self
    }
}

impl Env {
    /// An es-sim without security.
    pub async fn start() -> Env {
        Self::start_with(None).await
    }

    /// An es-sim that requires the basic-auth user [`USER`]/[`PASSWORD`].
    pub async fn secured() -> Env {
        Self::start_with(Some(es_sim::Security {
            username: USER.into(),
            password: PASSWORD.into(),
        }))
        .await
    }

    async fn start_with(security: Option<es_sim::Security>) -> Env {
        let config = es_sim::SimConfig {
            security: security.clone(),
            ..Default::default()
        };
        let sim = es_sim::start(config).await.expect("es-sim starts");
        let secured = security.is_some();
        let mut cfg = EsConfig::url(sim.url());
        if let Some(user) = security {
            cfg.auth = Auth::Basic {
                username: user.username,
                password: user.password,
            };
        }
        cfg.retry.initial_backoff = Duration::from_millis(10);
        cfg.retry.max_backoff = Duration::from_millis(50);
        let es = EsClient::new(cfg).expect("client");
        Env {
            sim,
            es,
            dir: tempfile::tempdir().expect("tempdir"),
            env: Vec::new(),
            secured,
        }
    }

    pub fn url(&self) -> String {
        self.sim.url()
    }

    /// The login file the binary uses.
    pub fn login_file(&self) -> PathBuf {
        self.dir
            .path()
            .join("home")
            .join(".config")
            .join("connectors")
            .join("cli")
            .join("config.yml")
    }

    /// Writes a login file for this es-sim, as `connectors login` would (tests of other commands).
    pub fn log_in(&self) {
        let path = self.login_file();
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        let mut text = format!("elasticsearch:\n  host: {}\n", self.url());
        if self.secured {
            text.push_str(&format!("  username: {USER}\n  password: {PASSWORD}\n"));
        }
        std::fs::write(&path, text).expect("login file");
        set_private(&path);
    }

    /// The binary with a clean environment: HOME in the private folder (so the login file is
    /// found there), no Elasticsearch variables of the machine running the tests.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_connectors"));
        cmd.args(args)
            .env("HOME", self.dir.path().join("home"))
            .env("NO_COLOR", "1");
        for name in [
            "ES_URL",
            "ES_CLOUD_ID",
            "ES_API_KEY",
            "ES_USERNAME",
            "ES_PASSWORD",
            "CONNECTORS_CONFIG",
            "CONNECTORS_CLI_CONFIG",
            "XDG_CONFIG_HOME",
            "CONNECTOR_IDS",
            "CONNECTORS_SERVICE_TYPES",
            "RUST_LOG",
        ] {
            cmd.env_remove(name);
        }
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs `connectors ARGS` with `stdin` piped in.
    pub async fn run(&self, args: &[&str], stdin: &str) -> Run {
        run(self.command(args), stdin).await
    }
}

/// Runs a command on the blocking pool (the es-sim keeps serving on the runtime).
pub async fn run(mut cmd: Command, stdin: &str) -> Run {
    let input = stdin.to_string();
    tokio::task::spawn_blocking(move || {
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("the binary starts");
        if let Some(mut pipe) = child.stdin.take() {
            // A command that reads less than it is given closes the pipe early: not an error.
            let _ = pipe.write_all(input.as_bytes());
        }
        let out = child.wait_with_output().expect("the binary ends");
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    })
    .await
    .expect("join")
}

pub fn set_private(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
}

pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .expect("metadata")
        .permissions()
        .mode()
        & 0o777
}

/// A folder with `n` small text files for a `dir` connector.
pub fn files(dir: &Path, n: usize) -> PathBuf {
    let root = dir.join("files");
    std::fs::create_dir_all(root.join("sub")).expect("mkdir");
    for i in 0..n {
        let path = if i % 2 == 0 {
            root.join(format!("note-{i}.txt"))
        } else {
            root.join("sub").join(format!("note-{i}.txt"))
        };
        std::fs::write(path, format!("note number {i}\n")).expect("file");
    }
    root
}

/// Creates a `dir` connector over `folder` through the CLI; returns its id.
pub async fn dir_connector(env: &Env, index: &str, folder: &Path) -> String {
    let values = env.dir.path().join(format!("{index}.json"));
    std::fs::write(
        &values,
        serde_json::json!({"directory": folder.display().to_string()}).to_string(),
    )
    .expect("values");
    let run = env
        .run(
            &[
                "connector",
                "create",
                "--index-name",
                index,
                "--service-type",
                "dir",
                "--from-file",
                values.to_str().expect("utf-8"),
                "-o",
                "json",
            ],
            "",
        )
        .await
        .ok();
    run.json()["id"].as_str().expect("an id").to_string()
}
