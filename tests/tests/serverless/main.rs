//! The serverless deployment on one machine: moto_server for SQS, Secrets Manager and SSM,
//! es-sim in-process, and both functions: their handlers driven in-process through a
//! reproduction of the SQS event source mapping, and the real binaries under
//! `cargo lambda watch` driven by `cargo lambda invoke`.
//!
//! Without moto_server (or cargo-lambda) installed these tests are skipped, saying so, unless
//! `CI` is set: then they fail.

mod in_process;
mod local_aws;
mod partitioned;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use connectors_aws::aws_config::SdkConfig;
use connectors_aws::aws_sdk_sqs::Client as Sqs;
use connectors_protocol::{ConnectorStatus, JobType, SyncJob, SyncStatus, TriggerMethod};
use connectors_serverless::Container;
use connectors_tests::*;
use local_aws::*;
use serde_json::{Value, json};

/// What the template's schedule sends (EventBridge Scheduler's templated input).
fn schedule_event() -> Value {
    json!({
        "version": "0", "id": "00000000-0000-0000-0000-000000000001",
        "detail-type": "Scheduled Event", "source": "aws.scheduler",
        "account": "123456789012", "time": "2026-11-28T00:00:00Z", "region": REGION,
        "resources": ["arn:aws:scheduler:us-east-1:123456789012:schedule/default/tick"],
        "detail": {}
    })
}

struct Stack {
    sim: Sim,
    sdk: SdkConfig,
    sqs: Sqs,
    queues: Queues,
    root: PathBuf,
    _tmp: tempfile::TempDir,
}

/// es-sim, a job queue with its DLQ on moto, and `files` files to sync.
async fn stack(visibility: Duration, max_receive: u32, files: usize) -> Option<Stack> {
    let moto = moto()?;
    let sdk = moto.sdk().await;
    let sqs = Sqs::new(&sdk);
    let queues = create_queues(&sqs, visibility, max_receive).await;
    let sim = start_sim().await;
    let tmp = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(tmp.path()).unwrap();
    let tree: Vec<(String, String)> = (0..files)
        .map(|i| (format!("d{}/f{i:05}.txt", i % 10), format!("content {i}")))
        .collect();
    write_tree(
        &root,
        &tree
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect::<Vec<_>>(),
    );
    Some(Stack {
        sim,
        sdk,
        sqs,
        queues,
        root,
        _tmp: tmp,
    })
}

impl Stack {
    /// The functions' environment: small slices, pages and requests so that syncs take several
    /// invocations, and a short lease grace so that a dead worker's job is resumed quickly.
    fn env(&self, connectors: &str, extra: &[(&'static str, &str)]) -> Vec<(&'static str, String)> {
        let mut env: Vec<(&'static str, String)> = vec![
            ("JOB_QUEUE_URL", self.queues.url.clone()),
            ("ES_URL", self.sim.url()),
            ("CONNECTOR_IDS", connectors.to_string()),
            ("WORKER_TIME_BUDGET_SECS", "1".into()),
            ("WORKER_SAFETY_MARGIN_SECS", "1".into()),
            ("WORKER_PAGE_SIZE", "10".into()),
            ("WORKER_LEASE_GRACE_SECS", "1".into()),
            ("DEPLOYMENT_NAME", "test".into()),
            // One request per page, one at a time, a checkpoint after each: the slow cadence
            // that makes a sync of a few hundred files span several 1 s slices.
            ("ES_BULK_CHUNK_SIZE", "10".into()),
            ("ES_BULK_MAX_CONCURRENCY", "1".into()),
            ("CONNECTORS_CHECKPOINT_INTERVAL", "0".into()),
        ];
        for (k, v) in extra {
            env.retain(|(name, _)| name != k);
            env.push((k, v.to_string()));
        }
        env
    }

    fn container(&self, connectors: &str, extra: &[(&'static str, &str)]) -> Container {
        container(&self.sdk, &self.env(connectors, extra))
    }

    fn esm(&self) -> EventSourceMapping {
        EventSourceMapping::new(&self.sqs, &self.queues)
    }

    /// A `dir` connector over the stack's files, created through the connector API and made
    /// `connected` by scheduler invocations, as a deployment does it.
    async fn dir_connector(&self, scheduler: &Container, id: &str) {
        self.sim
            .create_connector(id, &format!("search-{id}"), "dir")
            .await;
        lambda_scheduler::handle(scheduler, schedule_event())
            .await
            .expect("first pass");
        self.sim
            .set_values(id, json!({"directory": self.root.display().to_string()}))
            .await;
        lambda_scheduler::handle(scheduler, schedule_event())
            .await
            .expect("second pass");
        let c = self.sim.es.connectors().get(id, false).await.unwrap();
        assert_eq!(c.status, ConnectorStatus::Connected, "{:?}", c.error);
    }

    /// Kibana's "Sync" button, then a scheduler invocation that dispatches the job.
    async fn on_demand_job(&self, scheduler: &Container, id: &str) -> String {
        let job = self
            .sim
            .es
            .sync_jobs()
            .create(id, JobType::Full, TriggerMethod::OnDemand)
            .await
            .unwrap();
        let pass = lambda_scheduler::handle(scheduler, schedule_event())
            .await
            .expect("dispatching pass");
        assert_eq!(pass["dispatched"], 1, "{pass}");
        job
    }

    /// Polls and invokes the worker until the job ends.
    async fn run_job(
        &self,
        esm: &EventSourceMapping,
        worker: &Container,
        job: &str,
        timeout: Duration,
    ) -> (SyncJob, Vec<Poll>) {
        let until = Instant::now() + timeout;
        let mut polls = Vec::new();
        loop {
            let p = esm.poll(worker, Duration::from_secs(1)).await;
            if p.received > 0 {
                polls.push(p);
            }
            let j = self.sim.job(job).await;
            if j.status.is_terminal() {
                return (j, polls);
            }
            assert!(
                Instant::now() < until,
                "job stayed {} after {} invocations",
                j.status,
                polls.len()
            );
        }
    }

    async fn assert_exact(&self, job: &SyncJob, index: &str, n: u64) {
        assert_eq!(job.status, SyncStatus::Completed, "{:?}", job.error);
        assert_eq!(
            (
                job.indexed_document_count,
                job.deleted_document_count,
                job.total_document_count
            ),
            (n, 0, n)
        );
        assert_eq!(self.sim.docs(index).await.len() as u64, n);
        let c = self
            .sim
            .es
            .connectors()
            .get(&job.connector.id, false)
            .await
            .unwrap();
        assert_eq!(c.last_sync_status, Some(SyncStatus::Completed));
        assert_eq!(c.last_indexed_document_count, Some(n));
    }
}

fn slices(polls: &[Poll]) -> Vec<u64> {
    polls
        .iter()
        .flat_map(|p| p.records.iter())
        .filter_map(|(body, _)| serde_json::from_str::<Value>(body).ok())
        .filter_map(|v| v["slice"].as_u64())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sync_takes_several_invocations_with_exact_counts() {
    let Some(s) = stack(Duration::from_secs(30), 5, 400).await else {
        return;
    };
    // Every request takes a little while, so that 1 s slices cannot sync 400 files at once.
    s.sim.sim.faults().set_latency(Duration::from_millis(20));
    let scheduler = s.container("multi", &[]);
    let worker = s.container("multi", &[]);
    s.dir_connector(&scheduler, "multi").await;
    let job = s.on_demand_job(&scheduler, "multi").await;
    let esm = s.esm();
    let (done, polls) = s
        .run_job(&esm, &worker, &job, Duration::from_secs(120))
        .await;
    s.assert_exact(&done, "search-multi", 400).await;
    let seen = slices(&polls);
    assert!(
        polls.len() >= 2 && seen.iter().max() >= Some(&1),
        "expected several invocations, got slices {seen:?}"
    );
    assert!(polls.iter().all(|p| p.failed == 0));
    assert_eq!(depth(&s.sqs, &s.queues.url).await, 0);
    assert_eq!(depth(&s.sqs, &s.queues.dlq_url).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_message_delivered_twice_changes_nothing() {
    let Some(s) = stack(Duration::from_secs(30), 5, 300).await else {
        return;
    };
    s.sim.sim.faults().set_latency(Duration::from_millis(20));
    let scheduler = s.container("dup", &[]);
    let worker = s.container("dup", &[]);
    s.dir_connector(&scheduler, "dup").await;
    let job = s.on_demand_job(&scheduler, "dup").await;
    let mut esm = s.esm();
    esm.duplicate_every_message = true;
    // Up to 3 records per batch: duplicates often run at the same time as their original.
    esm.batch_size = 3;
    let (done, polls) = s
        .run_job(&esm, &worker, &job, Duration::from_secs(120))
        .await;
    s.assert_exact(&done, "search-dup", 300).await;
    let seen = slices(&polls);
    let mut counts: HashMap<u64, usize> = HashMap::new();
    for slice in &seen {
        *counts.entry(*slice).or_default() += 1;
    }
    assert!(counts.len() >= 2, "expected several slices, got {seen:?}");
    // Drain the last duplicates: acknowledged and ignored.
    for _ in 0..5 {
        let p = esm.poll(&worker, Duration::from_secs(1)).await;
        assert_eq!(p.failed, 0);
    }
    assert_eq!(depth(&s.sqs, &s.queues.url).await, 0);
    let after = s.sim.job(&job).await;
    assert_eq!(after.indexed_document_count, 300);
    assert_eq!(after.status, SyncStatus::Completed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worker_killed_mid_slice_is_replaced_after_the_visibility_timeout() {
    // The visibility timeout outlasts a slice plus the lease grace, as in the template
    // (5400 s against 900 s + 60 s).
    let Some(s) = stack(Duration::from_secs(5), 5, 400).await else {
        return;
    };
    s.sim.sim.faults().set_latency(Duration::from_millis(10));
    let env_extra = [("WORKER_TIME_BUDGET_SECS", "3")];
    let scheduler = s.container("kill", &env_extra);
    s.dir_connector(&scheduler, "kill").await;
    let job = s.on_demand_job(&scheduler, "kill").await;
    let esm = s.esm();

    // First delivery: the invocation dies (its future is dropped) part-way through a slice.
    let dying = s.container("kill", &env_extra);
    let records = esm.receive(Duration::from_secs(2)).await;
    assert_eq!(records.len(), 1);
    let killed_at = {
        let invoke = lambda_worker::handle(
            &dying,
            EventSourceMapping::event(records.clone()),
            std::time::SystemTime::now() + Duration::from_secs(60),
        );
        tokio::pin!(invoke);
        loop {
            tokio::select! {
                _ = &mut invoke => panic!("the slice ended before it could be killed"),
                _ = tokio::time::sleep(Duration::from_millis(50)) => {}
            }
            let j = s.sim.job(&job).await;
            if j.indexed_document_count >= 50 {
                break j.indexed_document_count;
            }
        }
    };
    drop(dying);
    let before = s.sim.job(&job).await;
    assert_eq!(before.status, SyncStatus::InProgress);
    assert!(killed_at < 400);

    // A new container: the message comes back once its visibility timeout passes.
    let worker = s.container("kill", &env_extra);
    let started = Instant::now();
    let (done, polls) = s
        .run_job(&esm, &worker, &job, Duration::from_secs(120))
        .await;
    let first = polls.first().expect("an invocation");
    assert_eq!(
        first.records[0].1, 2,
        "the killed message was delivered again"
    );
    assert!(started.elapsed() >= Duration::from_secs(2));
    s.assert_exact(&done, "search-kill", 400).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn poison_messages_end_in_the_dlq() {
    let Some(s) = stack(Duration::from_secs(1), 3, 0).await else {
        return;
    };
    let worker = s.container("none", &[]);
    for body in ["not json", r#"{"v":99,"job_id":"j","slice":0}"#] {
        s.sqs
            .send_message()
            .queue_url(&s.queues.url)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    let esm = s.esm();
    let until = Instant::now() + Duration::from_secs(60);
    let mut failures = 0;
    while depth(&s.sqs, &s.queues.dlq_url).await < 2 {
        let p = esm.poll(&worker, Duration::from_secs(1)).await;
        assert_eq!(
            p.failed, p.received,
            "a malformed message is never a success"
        );
        failures += p.failed;
        assert!(
            Instant::now() < until,
            "the DLQ did not receive both messages"
        );
    }
    // Each was received maxReceiveCount times before the redrive.
    assert_eq!(failures, 6);
    assert_eq!(depth(&s.sqs, &s.queues.url).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_that_keeps_failing_ends_its_job_in_error() {
    let Some(s) = stack(Duration::from_secs(1), 5, 10).await else {
        return;
    };
    // No client-side retries, so that each failed request is one failed delivery.
    let extra = [
        ("WORKER_MAX_RECEIVE_COUNT", "3"),
        ("ES_MAX_RETRIES", "0"),
        ("WORKER_RETRY_BACKOFF_SECS", "1"),
    ];
    let scheduler = s.container("fails", &extra);
    let worker = s.container("fails", &extra);
    s.dir_connector(&scheduler, "fails").await;
    let job = s.on_demand_job(&scheduler, "fails").await;
    worker.runtime().await.expect("the worker connects");
    // Elasticsearch fails the first request of each of the first three deliveries; the
    // third marks the job failed instead of asking for a fourth.
    s.sim.sim.faults().fail_requests(3, 503);
    let esm = s.esm();
    let mut polls = Vec::new();
    let until = Instant::now() + Duration::from_secs(60);
    while polls.len() < 3 {
        let p = esm.poll(&worker, Duration::from_secs(1)).await;
        if p.received > 0 {
            polls.push(p);
        }
        assert!(Instant::now() < until);
    }
    assert_eq!(
        polls.iter().map(|p| p.failed).collect::<Vec<_>>(),
        vec![1, 1, 0]
    );
    assert_eq!(polls[2].records[0].1, 3);
    let j = s.sim.job(&job).await;
    assert_eq!(j.status, SyncStatus::Error);
    let error = j.error.unwrap_or_default();
    assert!(error.contains("failed 3 times"), "{error}");
    let c = s.sim.es.connectors().get("fails", false).await.unwrap();
    assert_eq!(c.last_sync_status, Some(SyncStatus::Error));
    assert_eq!(depth(&s.sqs, &s.queues.url).await, 0);
    assert_eq!(depth(&s.sqs, &s.queues.dlq_url).await, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_scheduler_invocations_dispatch_each_job_once() {
    let Some(s) = stack(Duration::from_secs(30), 5, 5).await else {
        return;
    };
    let ids = "race-a,race-b,race-c";
    let setup = s.container(ids, &[]);
    for id in ["race-a", "race-b", "race-c"] {
        s.dir_connector(&setup, id).await;
    }
    // Two containers, as two overlapping scheduler invocations.
    let a = s.container(ids, &[]);
    let b = s.container(ids, &[]);
    let mut jobs = 0;
    for round in 0..3 {
        for id in ["race-a", "race-b", "race-c"] {
            s.sim
                .es
                .sync_jobs()
                .create(id, JobType::Full, TriggerMethod::OnDemand)
                .await
                .unwrap();
            jobs += 1;
        }
        let (ra, rb) = tokio::join!(
            lambda_scheduler::handle(&a, schedule_event()),
            lambda_scheduler::handle(&b, schedule_event())
        );
        let (ra, rb) = (ra.unwrap(), rb.unwrap());
        let dispatched = ra["dispatched"].as_u64().unwrap() + rb["dispatched"].as_u64().unwrap();
        // Jobs of earlier rounds are still pending (nobody runs them here) and were
        // dispatched recently: not again.
        assert_eq!(dispatched, 3, "round {round}: {ra} {rb}");
        assert_eq!(depth(&s.sqs, &s.queues.url).await, jobs, "round {round}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_key_is_read_again_after_a_401() {
    let Some(moto) = moto() else { return };
    let sdk = moto.sdk().await;
    let sqs = Sqs::new(&sdk);
    let queues = create_queues(&sqs, Duration::from_secs(30), 5).await;
    let (sim, admin) = secured_sim().await;
    let key1 = create_api_key(&admin, "first").await;
    let secrets = connectors_aws::aws_sdk_secretsmanager::Client::new(&sdk);
    let secret_arn = secrets
        .create_secret()
        .name(unique("es-api-key"))
        .secret_string(json!({"id": key1["id"], "api_key": key1["api_key"]}).to_string())
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let parameter = format!("/{}/es-url", unique("stack"));
    connectors_aws::aws_sdk_ssm::Client::new(&sdk)
        .put_parameter()
        .name(&parameter)
        .value(sim.url())
        .r#type(connectors_aws::aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
    let scheduler = container(
        &sdk,
        &[
            ("JOB_QUEUE_URL", queues.url.clone()),
            ("ES_URL_PARAMETER", parameter.clone()),
            ("ES_API_KEY_SECRET_ARN", secret_arn.clone()),
            ("CONNECTOR_IDS", "rotated".into()),
        ],
    );
    let pass = lambda_scheduler::handle(&scheduler, schedule_event())
        .await
        .expect("a pass with the first key");
    assert_eq!(pass["errors"], json!([]));
    // Another container read the first key but could not connect yet (Elasticsearch
    // briefly down): it keeps that key cached.
    let late = container(
        &sdk,
        &[
            ("JOB_QUEUE_URL", queues.url.clone()),
            ("ES_URL_PARAMETER", parameter.clone()),
            ("ES_API_KEY_SECRET_ARN", secret_arn.clone()),
            ("CONNECTOR_IDS", "rotated".into()),
            ("ES_CONNECT_WAIT_SECS", "0".into()),
            ("ES_MAX_RETRIES", "0".into()),
        ],
    );
    sim.faults().fail_requests(1, 503);
    assert!(late.runtime().await.is_err());

    // Rotation: a new key in the secret (now in the plain encoded form), the old one revoked.
    let key2 = create_api_key(&admin, "second").await;
    secrets
        .put_secret_value()
        .secret_id(&secret_arn)
        .secret_string(key2["encoded"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    admin
        .security()
        .invalidate_api_keys(&[key1["id"].as_str().unwrap()])
        .await
        .unwrap();
    let mut revoked = es_client::EsConfig::url(sim.url());
    revoked.auth = es_client::Auth::ApiKey(key1["encoded"].as_str().unwrap().to_string());
    let refused = es_client::EsClient::new(revoked)
        .unwrap()
        .info()
        .await
        .unwrap_err();
    assert_eq!(refused.status(), Some(401), "the first key is revoked");
    let pass = lambda_scheduler::handle(&scheduler, schedule_event())
        .await
        .expect("a pass after re-reading the key");
    assert_eq!(pass["errors"], json!([]));
    // The late container connects with the stale key, is refused, and reads the secret again.
    let pass = lambda_scheduler::handle(&late, schedule_event())
        .await
        .expect("a first pass after re-reading the key");
    assert_eq!(pass["errors"], json!([]));
    drop(sim);
}

async fn secured_sim() -> (es_sim::EsSim, es_client::EsClient) {
    let sim = es_sim::start(es_sim::SimConfig {
        security: Some(es_sim::Security {
            username: "elastic".into(),
            password: "changeme".into(),
        }),
        ..Default::default()
    })
    .await
    .unwrap();
    let mut config = es_client::EsConfig::url(sim.url());
    config.auth = es_client::Auth::Basic {
        username: "elastic".into(),
        password: "changeme".into(),
    };
    let admin = es_client::EsClient::new(config).unwrap();
    (sim, admin)
}

async fn create_api_key(admin: &es_client::EsClient, name: &str) -> Value {
    let key = admin.security().create_api_key(name, None).await.unwrap();
    serde_json::to_value(key).unwrap()
}

// ---- the real binaries under `cargo lambda watch` ----------------------------------------------

fn function_bin(name: &str) -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join("target"));
    let bin = target.join("debug").join(name);
    assert!(
        bin.exists(),
        "{} is missing: run `cargo build -p lambda-{name}` first",
        bin.display()
    );
    bin
}

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `cargo lambda invoke FUNCTION --data-ascii PAYLOAD` against the emulator on `port`.
async fn invoke(cargo_lambda: &Path, port: u16, function: &str, payload: &Value) -> Value {
    let mut c = Command::new(cargo_lambda);
    c.args([
        "lambda",
        "invoke",
        function,
        "--invoke-address",
        "127.0.0.1",
    ])
    .args([
        "--invoke-port",
        &port.to_string(),
        "--output-format",
        "json",
    ])
    .args(["--data-ascii", &payload.to_string()])
    .stdin(Stdio::null());
    let out = tokio::task::spawn_blocking(move || c.output().expect("cargo lambda invoke runs"))
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "cargo lambda invoke {function} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "invoke answer is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_binaries_under_cargo_lambda_watch_complete_a_sync() {
    let Some(moto) = moto() else { return };
    let Some(cargo_lambda) = tool("cargo-lambda") else {
        missing(
            "cargo-lambda",
            "pip install cargo-lambda into .venv; bash tests/run.sh does",
        );
        return;
    };
    let (scheduler_bin, worker_bin) = (function_bin("scheduler"), function_bin("worker"));
    let sdk = moto.sdk().await;
    let sqs = Sqs::new(&sdk);
    let queues = create_queues(&sqs, Duration::from_secs(30), 5).await;
    // As deployed: a secured cluster, its URL in SSM and its API key in Secrets Manager.
    let (sim, admin) = secured_sim().await;
    sim.faults().set_latency(Duration::from_millis(20));
    let key = create_api_key(&admin, "deployment").await;
    let secret_arn = connectors_aws::aws_sdk_secretsmanager::Client::new(&sdk)
        .create_secret()
        .name(unique("es-api-key"))
        .secret_string(key.to_string())
        .send()
        .await
        .unwrap()
        .arn
        .unwrap();
    let parameter = format!("/{}/es-url", unique("stack"));
    connectors_aws::aws_sdk_ssm::Client::new(&sdk)
        .put_parameter()
        .name(&parameter)
        .value(sim.url())
        .r#type(connectors_aws::aws_sdk_ssm::types::ParameterType::String)
        .send()
        .await
        .unwrap();
    let tmp = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(tmp.path()).unwrap();
    let files: Vec<(String, String)> = (0..300)
        .map(|i| (format!("d{}/f{i:05}.txt", i % 10), format!("content {i}")))
        .collect();
    write_tree(
        &root,
        &files
            .iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect::<Vec<_>>(),
    );

    // The emulator: only its runtime and invoke APIs; this test starts the functions.
    let port = free_port();
    let _watch = Killed(
        Command::new(&cargo_lambda)
            .args([
                "lambda",
                "watch",
                "--only-lambda-apis",
                "--invoke-address",
                "127.0.0.1",
            ])
            .args(["--invoke-port", &port.to_string()])
            .current_dir(repo())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cargo lambda watch starts"),
    );
    let until = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < until, "cargo lambda watch did not listen");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let function = |name: &str, bin: &Path| {
        let mut c = Command::new(bin);
        c.env_clear()
            .envs(moto.env())
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env(
                "AWS_LAMBDA_RUNTIME_API",
                format!("http://127.0.0.1:{port}/.rt/{name}"),
            )
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("JOB_QUEUE_URL", &queues.url)
            .env("ES_URL_PARAMETER", &parameter)
            .env("ES_API_KEY_SECRET_ARN", &secret_arn)
            .env("CONNECTOR_IDS", "watched")
            .env("WORKER_TIME_BUDGET_SECS", "1")
            .env("WORKER_PAGE_SIZE", "10")
            .env("ES_BULK_CHUNK_SIZE", "10")
            .env("ES_BULK_MAX_CONCURRENCY", "1")
            .env("CONNECTORS_CHECKPOINT_INTERVAL", "0")
            .env("DEPLOYMENT_NAME", "watch-test")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        Killed(c.spawn().expect("the function starts"))
    };
    let _scheduler = function("scheduler", &scheduler_bin);
    let _worker = function("worker", &worker_bin);

    // Kibana creates the connector; the scheduler publishes its configuration; the user
    // configures it; the scheduler validates it; the user asks for a sync.
    let es = &admin;
    es.connectors()
        .put(
            Some("watched"),
            &es_client::NewConnector {
                index_name: Some("search-watched".into()),
                name: Some("watched".into()),
                service_type: Some("dir".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    invoke(&cargo_lambda, port, "scheduler", &schedule_event()).await;
    let Value::Object(values) = json!({"directory": root.display().to_string()}) else {
        unreachable!()
    };
    es.connectors()
        .update_configuration("watched", &es_client::ConfigurationUpdate::Values(values))
        .await
        .unwrap();
    invoke(&cargo_lambda, port, "scheduler", &schedule_event()).await;
    let job = es
        .sync_jobs()
        .create("watched", JobType::Full, TriggerMethod::OnDemand)
        .await
        .unwrap();
    let pass = invoke(&cargo_lambda, port, "scheduler", &schedule_event()).await;
    assert_eq!(pass["dispatched"], 1, "{pass}");

    // The event source mapping, with `cargo lambda invoke` as the invocation.
    let esm = EventSourceMapping::new(&sqs, &queues);
    let until = Instant::now() + Duration::from_secs(120);
    let mut invocations = 0;
    let done = loop {
        let records = esm.receive(Duration::from_secs(1)).await;
        if !records.is_empty() {
            invocations += 1;
            let event = serde_json::to_value(EventSourceMapping::event(records.clone())).unwrap();
            let answer = invoke(&cargo_lambda, port, "worker", &event).await;
            let failed = answer["batchItemFailures"]
                .as_array()
                .map(|f| {
                    f.iter()
                        .filter_map(|i| i["itemIdentifier"].as_str().map(String::from))
                        .collect()
                })
                .unwrap_or_default();
            esm.settle(&records, &failed).await;
        }
        let j = es.sync_jobs().get(&job).await.unwrap();
        if j.status.is_terminal() {
            break j;
        }
        assert!(Instant::now() < until, "job stayed {}", j.status);
    };
    assert_eq!(done.status, SyncStatus::Completed, "{:?}", done.error);
    assert_eq!(
        (done.indexed_document_count, done.total_document_count),
        (300, 300)
    );
    assert!(invocations >= 2, "{invocations} worker invocations");
    es.refresh("search-watched").await.unwrap();
    assert_eq!(es.count("search-watched", None).await.unwrap(), 300);
}
