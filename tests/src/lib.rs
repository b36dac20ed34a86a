//! Helpers of the end-to-end tests: es-sim, the `connectors` binary, Kibana's connector API
//! calls, and waiting for job states.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use connectors_protocol::{SyncJob, SyncStatus};
use es_client::{EsClient, EsConfig, NewConnector};
use serde_json::{Map, Value, json};

/// The `connectors` binary built with the workspace (`$CONNECTORS_BIN` overrides).
pub fn connectors_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("CONNECTORS_BIN") {
        return PathBuf::from(p);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../target")));
    let bin = target.join("debug").join("connectors");
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p connectors` first",
        bin.display()
    );
    bin
}

pub struct Sim {
    pub sim: es_sim::EsSim,
    pub es: EsClient,
}

pub async fn start_sim() -> Sim {
    let sim = es_sim::start(es_sim::SimConfig::default())
        .await
        .expect("es-sim starts");
    let es = EsClient::new(EsConfig::url(sim.url())).expect("client");
    Sim { sim, es }
}

impl Sim {
    pub fn url(&self) -> String {
        self.sim.url()
    }

    /// A `connectors` command against this server.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(connectors_bin());
        c.args(args)
            .env("ES_URL", self.url())
            .env("RUST_LOG", "info")
            .env_remove("ES_API_KEY")
            .stdin(Stdio::null());
        c
    }

    /// Runs a `connectors` command to its end; returns (success, stdout, stderr).
    pub async fn run(&self, args: &[&str], env: &[(&str, &str)]) -> (bool, String, String) {
        let mut c = self.command(args);
        for (k, v) in env {
            c.env(k, v);
        }
        let out = tokio::task::spawn_blocking(move || c.output().expect("runs"))
            .await
            .expect("joins");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    pub fn spawn(&self, args: &[&str], env: &[(&str, &str)]) -> Child {
        let mut c = self.command(args);
        for (k, v) in env {
            c.env(k, v);
        }
        c.stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawns")
    }

    /// What Kibana does to add a connector: `PUT _connector/{id}`.
    pub async fn create_connector(&self, id: &str, index: &str, service_type: &str) {
        self.es
            .connectors()
            .put(
                Some(id),
                &NewConnector {
                    index_name: Some(index.into()),
                    name: Some(id.into()),
                    service_type: Some(service_type.into()),
                    ..Default::default()
                },
            )
            .await
            .expect("put connector");
    }

    /// What Kibana does when a user saves the configuration form.
    pub async fn set_values(&self, id: &str, values: Value) {
        let Value::Object(map) = values else {
            panic!("values must be an object")
        };
        self.es
            .connectors()
            .update_configuration(id, &es_client::ConfigurationUpdate::Values(map))
            .await
            .expect("configuration values");
    }

    pub async fn job(&self, id: &str) -> SyncJob {
        self.es.sync_jobs().get(id).await.expect("job")
    }

    /// Waits until the job reaches one of `statuses`.
    pub async fn wait_job(&self, id: &str, statuses: &[SyncStatus], timeout: Duration) -> SyncJob {
        let until = Instant::now() + timeout;
        loop {
            let job = self.job(id).await;
            if statuses.contains(&job.status) {
                return job;
            }
            assert!(
                Instant::now() < until,
                "job {id} stayed {} (error: {:?})",
                job.status,
                job.error
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Every document of `index` by `_id` (at most 10,000).
    pub async fn docs(&self, index: &str) -> Map<String, Value> {
        self.es.refresh(index).await.expect("refresh");
        let r = self
            .es
            .search::<Value>(
                index,
                &json!({"size": 10000, "query": {"match_all": {}}}),
                &Default::default(),
            )
            .await
            .expect("search");
        r.hits
            .hits
            .into_iter()
            .map(|h| (h.id, h.source.unwrap_or(Value::Null)))
            .collect()
    }
}

/// Writes `files` (relative path, content) under `root`.
pub fn write_tree(root: &Path, files: &[(&str, &str)]) {
    for (path, content) in files {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().expect("a parent")).expect("mkdir");
        std::fs::write(&p, content).expect("write");
    }
}

/// The reference's `_id` of a file of the `dir` source: hex MD5 of its absolute path.
pub fn dir_id(path: &Path) -> String {
    use md5::{Digest, Md5};
    hex::encode(Md5::digest(path.to_string_lossy().as_bytes()))
}
