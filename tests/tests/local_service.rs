//! The local service end to end, as Kibana drives it: connector creation, configuration,
//! schedules, on-demand syncs, cancelation, racing schedulers, and a service killed mid-sync.

use std::sync::Arc;
use std::time::Duration;

use connectors_engine::queue::MemoryQueue;
use connectors_engine::scheduler::{Scheduler, SchedulerConfig, ServedConnector};
use connectors_protocol::{ConnectorStatus, JobType, SyncStatus, TriggerMethod};
use connectors_tests::*;
use es_client::{LastSyncUpdate, SyncJobListParams};
use serde_json::json;

fn files(n: usize) -> Vec<(String, String)> {
    (0..n)
        .map(|i| (format!("d{}/f{i:05}.txt", i % 10), format!("content {i}")))
        .collect()
}

async fn dir_connector(sim: &Sim, id: &str, root: &std::path::Path) {
    sim.create_connector(id, &format!("search-{id}"), "dir")
        .await;
    let (ok, _, err) = sim.run(&["tick"], &[("CONNECTOR_IDS", id)]).await;
    assert!(ok, "{err}");
    sim.set_values(id, json!({"directory": root.display().to_string()}))
        .await;
    let (ok, _, err) = sim.run(&["tick"], &[("CONNECTOR_IDS", id)]).await;
    assert!(ok, "{err}");
    let c = sim.es.connectors().get(id, false).await.unwrap();
    assert_eq!(c.status, ConnectorStatus::Connected, "{:?}", c.error);
}

async fn jobs_of(sim: &Sim, id: &str) -> Vec<connectors_protocol::SyncJob> {
    sim.es
        .sync_jobs()
        .list(&SyncJobListParams {
            connector_id: Some(id.into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .results
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_on_demand_syncs_and_cancelation() {
    let sim = start_sim().await;
    let tmp = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(tmp.path()).unwrap();
    let f = files(30);
    write_tree(
        &root,
        &f.iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect::<Vec<_>>(),
    );
    dir_connector(&sim, "sched", &root).await;
    let env = [("CONNECTOR_IDS", "sched")];

    // Enable an every-minute schedule; the last run was scheduled two minutes ago, so one run
    // is due (as if time had passed).
    let scheduling = every_minute();
    sim.es
        .connectors()
        .update_scheduling("sched", &scheduling)
        .await
        .unwrap();
    let two_minutes_ago = minutes_ago(2);
    sim.es
        .connectors()
        .update_last_sync(
            "sched",
            &LastSyncUpdate {
                last_sync_scheduled_at: Some(two_minutes_ago),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let (ok, out, err) = sim.run(&["tick"], &env).await;
    assert!(ok, "{err}");
    assert!(out.contains("1 scheduled"), "{out}");
    let jobs = jobs_of(&sim, "sched").await;
    assert_eq!(jobs.len(), 1);
    assert_eq!(jobs[0].trigger_method, TriggerMethod::Scheduled);
    // Ticking again right away creates nothing more.
    let (_, out, _) = sim.run(&["tick"], &env).await;
    assert!(out.contains("0 scheduled"), "{out}");

    let (ok, out, err) = sim.run(&["work", "--once"], &env).await;
    assert!(ok, "{err}");
    assert!(out.contains("1 jobs finished"), "{out}");
    let job = sim.job(jobs[0].id.as_deref().unwrap()).await;
    assert_eq!(job.status, SyncStatus::Completed);
    assert_eq!(job.indexed_document_count, 30);

    // On demand, as Kibana's Sync button.
    let on_demand = sim
        .es
        .sync_jobs()
        .create("sched", JobType::Full, TriggerMethod::OnDemand)
        .await
        .unwrap();
    // A pending job canceled before any worker took it.
    let canceled = sim
        .es
        .sync_jobs()
        .create("sched", JobType::Full, TriggerMethod::OnDemand)
        .await
        .unwrap();
    sim.es.sync_jobs().cancel(&canceled).await.unwrap();
    let (ok, _, err) = sim.run(&["work", "--once"], &env).await;
    assert!(ok, "{err}");
    assert_eq!(sim.job(&on_demand).await.status, SyncStatus::Completed);
    assert_eq!(sim.job(&canceled).await.status, SyncStatus::Canceled);
    let c = sim.es.connectors().get("sched", false).await.unwrap();
    assert_eq!(c.last_sync_status, Some(SyncStatus::Completed));
    assert_eq!(c.last_indexed_document_count, Some(30));
}

/// A full-sync schedule that fires every minute.
fn every_minute() -> connectors_protocol::Scheduling {
    connectors_protocol::Scheduling {
        full: Some(connectors_protocol::ScheduleEntry {
            enabled: true,
            interval: "0 * * * * ?".into(),
            extra: Default::default(),
        }),
        ..Default::default()
    }
}

fn minutes_ago(n: i64) -> connectors_protocol::Timestamp {
    connectors_protocol::Timestamp(chrono::Utc::now() - chrono::Duration::minutes(n))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_schedulers_create_one_job() {
    let sim = start_sim().await;
    let tmp = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(tmp.path()).unwrap();
    write_tree(&root, &[("a.txt", "a")]);
    dir_connector(&sim, "race", &root).await;
    let scheduling = every_minute();
    sim.es
        .connectors()
        .update_scheduling("race", &scheduling)
        .await
        .unwrap();
    for round in 0..5 {
        let past = minutes_ago(3 + round);
        sim.es
            .connectors()
            .update_last_sync(
                "race",
                &LastSyncUpdate {
                    last_sync_scheduled_at: Some(past),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
        // Two schedulers, as two deployments or two overlapping invocations.
        let make = || {
            let engine = connectors_engine::Engine::new(
                sim.es.clone(),
                Arc::new(connectors_sources::registry()),
                Default::default(),
            );
            Scheduler::new(
                engine,
                Arc::new(MemoryQueue::new()),
                SchedulerConfig {
                    connectors: vec![ServedConnector {
                        connector_id: "race".into(),
                        service_type: None,
                    }],
                    ..Default::default()
                },
            )
        };
        let (a, b) = (make(), make());
        let (ra, rb) = tokio::join!(a.schedule_only(), b.schedule_only());
        assert_eq!(
            ra.unwrap().scheduled + rb.unwrap().scheduled,
            1,
            "round {round}"
        );
        assert_eq!(jobs_of(&sim, "race").await.len() as i64, round + 1);
    }
    // And as separate processes.
    let past = minutes_ago(30);
    sim.es
        .connectors()
        .update_last_sync(
            "race",
            &LastSyncUpdate {
                last_sync_scheduled_at: Some(past),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let env = [("CONNECTOR_IDS", "race")];
    let (r1, r2) = tokio::join!(sim.run(&["tick"], &env), sim.run(&["tick"], &env));
    assert!(r1.0 && r2.0);
    assert_eq!(jobs_of(&sim, "race").await.len(), 6);
}

/// Small requests, one at a time, and a checkpoint after every page: a sync that is still
/// running (with checkpoints to resume from) when the test stops its service.
const SLOW_WRITES: [(&str, &str); 3] = [
    ("ES_BULK_CHUNK_SIZE", "10"),
    ("ES_BULK_MAX_CONCURRENCY", "1"),
    ("CONNECTORS_CHECKPOINT_INTERVAL", "0"),
];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_service_resumes_the_job_from_its_checkpoint() {
    let sim = start_sim().await;
    let tmp = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(tmp.path()).unwrap();
    let f = files(1500);
    write_tree(
        &root,
        &f.iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect::<Vec<_>>(),
    );
    dir_connector(&sim, "kill", &root).await;
    let settings = tempfile::tempdir().unwrap();
    let config = settings.path().join("config.yml");
    std::fs::write(
        &config,
        "service:\n  idling: 1\n  slice_seconds: 1\n  lease_grace: 1\n  job_cleanup_interval: 2\nconnectors:\n  - connector_id: kill\n",
    )
    .unwrap();
    let config = config.display().to_string();
    // Slow writes, so that the sync is still running when the service dies.
    sim.sim.faults().set_latency(Duration::from_millis(3));
    let job = sim
        .es
        .sync_jobs()
        .create("kill", JobType::Full, TriggerMethod::OnDemand)
        .await
        .unwrap();
    let mut service = sim.spawn(&["--config", &config, "run"], &SLOW_WRITES);
    loop {
        let j = sim.job(&job).await;
        if j.indexed_document_count >= 200 {
            break;
        }
        assert!(
            j.status != SyncStatus::Completed,
            "finished before it could be killed"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    service.kill().unwrap();
    let _ = service.wait();
    let before = sim.job(&job).await;
    assert_eq!(before.status, SyncStatus::InProgress);
    let cp = connectors_engine::checkpoint::Checkpoint::from_metadata(before.metadata.as_ref())
        .expect("a checkpoint");
    assert!(cp.pages > 0);

    sim.sim.faults().clear();
    let mut service = sim.spawn(&["--config", &config, "run"], &[]);
    let done = sim
        .wait_job(
            &job,
            &[SyncStatus::Completed, SyncStatus::Error],
            Duration::from_secs(60),
        )
        .await;
    let _ = service.kill();
    let _ = service.wait();
    assert_eq!(done.status, SyncStatus::Completed, "{:?}", done.error);
    assert_eq!(
        (
            done.indexed_document_count,
            done.deleted_document_count,
            done.total_document_count
        ),
        (1500, 0, 1500)
    );
    let after =
        connectors_engine::checkpoint::Checkpoint::from_metadata(done.metadata.as_ref()).unwrap();
    assert!(after.pages > cp.pages);
    assert_eq!(sim.docs("search-kill").await.len(), 1500);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stopped_service_suspends_and_resumes() {
    let sim = start_sim().await;
    let tmp = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(tmp.path()).unwrap();
    let f = files(800);
    write_tree(
        &root,
        &f.iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect::<Vec<_>>(),
    );
    dir_connector(&sim, "term", &root).await;
    sim.sim.faults().set_latency(Duration::from_millis(3));
    let job = sim
        .es
        .sync_jobs()
        .create("term", JobType::Full, TriggerMethod::OnDemand)
        .await
        .unwrap();
    let env = [("CONNECTOR_IDS", "term"), ("CONNECTORS_IDLING", "1")];
    let service = sim.spawn(&["run"], &[&env[..], &SLOW_WRITES[..]].concat());
    loop {
        if sim.job(&job).await.indexed_document_count >= 100 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // SIGTERM: the running job checkpoints and is left suspended.
    let pid = service.id().to_string();
    std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap();
    let mut service = service;
    let status = tokio::task::spawn_blocking(move || service.wait().unwrap())
        .await
        .unwrap();
    assert!(status.success());
    let suspended = sim.job(&job).await;
    assert_eq!(suspended.status, SyncStatus::Suspended);
    sim.sim.faults().clear();
    let (ok, _, err) = sim.run(&["work", "--once"], &env).await;
    assert!(ok, "{err}");
    let done = sim.job(&job).await;
    assert_eq!(done.status, SyncStatus::Completed, "{:?}", done.error);
    assert_eq!(
        (done.indexed_document_count, done.total_document_count),
        (800, 800)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_sync_command_is_taken_over_by_the_next_one() {
    let sim = start_sim().await;
    let tmp = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(tmp.path()).unwrap();
    let f = files(600);
    write_tree(
        &root,
        &f.iter()
            .map(|(a, b)| (a.as_str(), b.as_str()))
            .collect::<Vec<_>>(),
    );
    dir_connector(&sim, "synckill", &root).await;
    let settings = tempfile::tempdir().unwrap();
    let config = settings.path().join("config.yml");
    std::fs::write(&config, "service:\n  lease_grace: 2\n").unwrap();
    let config = config.display().to_string();
    sim.sim.faults().set_latency(Duration::from_millis(3));
    let args = ["--config", &config, "sync", "--connector", "synckill"];
    let mut first = sim.spawn(&args, &SLOW_WRITES);
    let killed = loop {
        if let Some(j) = jobs_of(&sim, "synckill").await.into_iter().next()
            && j.indexed_document_count >= 100
        {
            break j;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    first.kill().unwrap();
    let _ = first.wait();
    sim.sim.faults().clear();
    // The next sync waits for the dead one's lease, runs that job to its end, then its own.
    let started = std::time::Instant::now();
    let (ok, out, err) = sim.run(&args, &[]).await;
    assert!(ok, "{out}\n{err}");
    assert!(started.elapsed() < Duration::from_secs(60));
    let jobs = jobs_of(&sim, "synckill").await;
    assert_eq!(jobs.len(), 2);
    for j in &jobs {
        assert_eq!(j.status, SyncStatus::Completed, "{:?}", j.error);
        assert_eq!(j.total_document_count, 600);
    }
    let taken_over = sim.job(killed.id.as_deref().unwrap()).await;
    assert_eq!(taken_over.indexed_document_count, 600);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_on_demand_jobs_run_back_to_back() {
    let sim = start_sim().await;
    let tmp = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(tmp.path()).unwrap();
    write_tree(&root, &[("a.txt", "a"), ("b.txt", "b")]);
    dir_connector(&sim, "queued", &root).await;
    let mut jobs = Vec::new();
    for _ in 0..3 {
        jobs.push(
            sim.es
                .sync_jobs()
                .create("queued", JobType::Full, TriggerMethod::OnDemand)
                .await
                .unwrap(),
        );
    }
    // The scheduler passes every 30 s and re-dispatches a busy job after 60 s: only the
    // workers handing the connector's next job over get all three done this fast.
    let env = [("CONNECTOR_IDS", "queued"), ("CONNECTORS_IDLING", "30")];
    let mut service = sim.spawn(&["run"], &env);
    for job in &jobs {
        let done = sim
            .wait_job(
                job,
                &[SyncStatus::Completed, SyncStatus::Error],
                Duration::from_secs(20),
            )
            .await;
        assert_eq!(done.status, SyncStatus::Completed, "{:?}", done.error);
    }
    let _ = service.kill();
    let _ = service.wait();
}
