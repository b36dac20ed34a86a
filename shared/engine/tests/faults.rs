//! The engine's fault suite: what Elasticsearch can do to a sync (429 storms, 5xx windows,
//! dropped connections, oversize documents) and what a source can fail to read, each with the
//! exact outcome asserted: documents indexed, counts, job status and message.

mod common;

use std::time::Duration;

use common::*;
use connectors_engine::queue::JobMessage;
use connectors_engine::{Budget, Engine, EngineError, SliceOutcome};
use connectors_protocol::{JobType, SyncStatus, TriggerMethod};
use serde_json::{Value, json};

/// Runs a job to its end as a worker pool would: continuations, and transient failures
/// retried after a (short, for tests) back-off. Returns the status and how many slices
/// failed transiently.
async fn run_retrying(engine: &Engine, job: &str) -> (SyncStatus, u32) {
    let mut message = JobMessage::new(job, 0);
    let mut transient = 0;
    for _ in 0..500 {
        match engine
            .run_slice(
                job,
                Some(message.slice),
                Budget::for_duration(Duration::from_secs(30)),
            )
            .await
        {
            Ok(SliceOutcome::Finished(s)) => return (s, transient),
            Ok(SliceOutcome::Continue { next_slice }) => message = JobMessage::new(job, next_slice),
            Ok(other) => panic!("unexpected {other:?}"),
            Err(EngineError::Transient(_) | EngineError::Es(_)) => {
                transient += 1;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(e) => panic!("{e}"),
        }
    }
    panic!("job {job} did not finish");
}

async fn new_job(env: &Env, connector: &str) -> String {
    env.es
        .sync_jobs()
        .create(connector, JobType::Full, TriggerMethod::OnDemand)
        .await
        .unwrap()
}

fn checkpoint_of(job: &connectors_protocol::SyncJob) -> Value {
    job.metadata
        .as_ref()
        .and_then(|m| m.get("checkpoint"))
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn a_429_storm_loses_no_document() {
    let env = start().await;
    let data = data(3_000);
    connector(&env, "storm", "search-storm").await;
    let engine = engine(&env, &data, test_config());
    let job = new_job(&env, "storm").await;
    // Half of all items are rejected with 429 for a while: longer than the writer's own
    // item retries last (5 retries of at most 20 ms here).
    env.sim.faults().reject_bulk_items_percent(50);
    let faults = env.sim.faults().clone();
    let storm = tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(700)).await;
        faults.reject_bulk_items_percent(0);
    });
    let (status, transient) = run_retrying(&engine, &job).await;
    storm.await.unwrap();
    assert_eq!(status, SyncStatus::Completed);
    assert!(transient > 0, "the storm outlasted the item retries");
    let j = env.es.sync_jobs().get(&job).await.unwrap();
    assert_eq!(j.indexed_document_count, 3_000);
    assert_eq!(j.total_document_count, 3_000);
    assert_eq!(j.error, None);
    assert_eq!(index_docs(&env.es, "search-storm").await.len(), 3_000);
}

#[tokio::test]
async fn a_job_that_cannot_get_its_documents_indexed_never_completes() {
    let env = start().await;
    let data = data(200);
    connector(&env, "wall", "search-wall").await;
    let engine = engine(&env, &data, test_config());
    let job = new_job(&env, "wall").await;
    env.sim.faults().reject_bulk_items_percent(100);
    for _ in 0..3 {
        let r = engine
            .run_slice(&job, Some(0), Budget::for_duration(Duration::from_secs(30)))
            .await;
        match r {
            Err(EngineError::Transient(why)) => assert!(why.contains("429"), "{why}"),
            other => panic!("{other:?}"),
        }
        let j = env.es.sync_jobs().get(&job).await.unwrap();
        assert_eq!(j.status, SyncStatus::InProgress);
        // The lease is released at once for the retry.
        assert!(checkpoint_of(&j).get("lease").is_none_or(Value::is_null));
    }
    // The worker's retry budget ends it (as the local queue and SQS do), with the reason.
    assert!(engine.fail_job(&job, "kept failing: 429").await.unwrap());
    let j = env.es.sync_jobs().get(&job).await.unwrap();
    assert_eq!(j.status, SyncStatus::Error);
}

#[tokio::test]
async fn windows_of_503_and_dropped_connections_end_in_the_same_index() {
    let env = start().await;
    let data = data(1_000);
    connector(&env, "flaky", "search-flaky").await;
    let engine = engine(&env, &data, test_config());
    let job = new_job(&env, "flaky").await;
    let faults = env.sim.faults().clone();
    let chaos = tokio::spawn(async move {
        for round in 0..6 {
            tokio::time::sleep(Duration::from_millis(40)).await;
            if round % 2 == 0 {
                faults.fail_requests(12, 503);
            } else {
                faults.drop_connections(8);
            }
        }
    });
    let (status, _) = run_retrying(&engine, &job).await;
    chaos.await.unwrap();
    env.sim.faults().clear();
    assert_eq!(status, SyncStatus::Completed);
    let j = env.es.sync_jobs().get(&job).await.unwrap();
    assert_eq!(j.indexed_document_count, 1_000);
    assert_eq!(index_docs(&env.es, "search-flaky").await.len(), 1_000);
}

#[tokio::test]
async fn an_oversize_document_is_reported_not_lost_silently() {
    let env = start_with(es_sim::SimConfig {
        max_content_length: 64 * 1024,
        ..Default::default()
    })
    .await;
    let data = data(100);
    data.lock().unwrap().insert(
        "doc-00050".into(),
        json!({"title": "x".repeat(100 * 1024), "_timestamp": "2024-01-01T00:00:00+00:00"}),
    );
    connector(&env, "big", "search-big").await;
    let engine = engine(&env, &data, test_config());
    let job = new_job(&env, "big").await;
    let (status, _) = run_retrying(&engine, &job).await;
    assert_eq!(status, SyncStatus::Completed);
    let j = env.es.sync_jobs().get(&job).await.unwrap();
    assert_eq!(j.indexed_document_count, 99);
    let metadata = Value::Object(j.metadata.clone().unwrap());
    assert_eq!(metadata["rejected_document_count"], json!(1));
    let first = metadata["rejected_documents"][0].as_str().unwrap();
    assert!(first.contains("doc-00050"), "{first}");
    assert!(first.contains("http.max_content_length"), "{first}");
    assert!(
        !index_docs(&env.es, "search-big")
            .await
            .contains_key("doc-00050")
    );
}

#[tokio::test]
async fn the_deletion_sweep_stops_between_batches_and_resumes_exactly() {
    let env = start().await;
    let data = data(500);
    connector(&env, "sweep", "search-sweep").await;
    let mut config = test_config();
    config.delete_batch = 40;
    let engine = engine(&env, &data, config);
    let first = new_job(&env, "sweep").await;
    assert_eq!(run_retrying(&engine, &first).await.0, SyncStatus::Completed);
    // 300 of the 500 documents go away.
    data.lock()
        .unwrap()
        .retain(|k, _| k.as_str() >= "doc-00300");
    let job = new_job(&env, "sweep").await;
    // Slices with no time left: each lists one page or deletes one batch, then pauses.
    let mut slice = 0;
    let mut slices = 0;
    let status = loop {
        slices += 1;
        assert!(slices < 200);
        match engine
            .run_slice(&job, Some(slice), Budget::for_duration(Duration::ZERO))
            .await
            .unwrap()
        {
            SliceOutcome::Finished(s) => break s,
            SliceOutcome::Continue { next_slice } => slice = next_slice,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(status, SyncStatus::Completed);
    // 200 documents listed in pages of 50, then 300 deletions in batches of 40.
    assert!(slices >= 4 + 300 / 40, "{slices} slices");
    let j = env.es.sync_jobs().get(&job).await.unwrap();
    assert_eq!(j.deleted_document_count, 300);
    assert_eq!(j.total_document_count, 200);
    assert_eq!(index_docs(&env.es, "search-sweep").await.len(), 200);
}

#[tokio::test]
async fn a_live_worker_keeps_its_lease_while_it_waits() {
    let env = start().await;
    let data = data(2_000);
    connector(&env, "slow", "search-slow").await;
    let mut config = test_config();
    config.lease_ttl = Duration::from_secs(2);
    config.check_interval = Duration::from_millis(200);
    let engine = engine(&env, &data, config.clone());
    let job = new_job(&env, "slow").await;
    // Every request takes 150 ms: the slice runs longer than its lease.
    env.sim.faults().set_latency(Duration::from_millis(150));
    let run = {
        let engine = engine.clone();
        let job = job.clone();
        tokio::spawn(async move {
            engine
                .run_slice(&job, Some(0), Budget::for_duration(Duration::from_secs(60)))
                .await
        })
    };
    // Another process keeps trying to take the job over while the first one works.
    let other = common::engine(&env, &data, config);
    let mut turned_away = 0;
    while !run.is_finished() {
        tokio::time::sleep(Duration::from_millis(300)).await;
        if run.is_finished() {
            break;
        }
        match other
            .run_slice(&job, Some(0), Budget::for_duration(Duration::from_secs(60)))
            .await
        {
            Ok(SliceOutcome::Busy(_)) => turned_away += 1,
            Ok(SliceOutcome::Stale(_)) => break,
            r => panic!("the live worker's job was taken over: {r:?}"),
        }
    }
    env.sim.faults().clear();
    assert!(turned_away >= 2, "{turned_away}");
    assert_eq!(
        run.await.unwrap().unwrap(),
        SliceOutcome::Finished(SyncStatus::Completed)
    );
}

/// Makes `job` look like a running job whose worker died at `pages` pages.
async fn orphan(engine: &Engine, job: &str, pages: u64) {
    let mut cp = connectors_engine::checkpoint::Checkpoint::new();
    cp.pages = pages;
    cp.cursor = Some(json!(format!("doc-{pages:05}")));
    cp.lease = Some(connectors_engine::checkpoint::Lease {
        owner: "a-dead-worker".into(),
        until: connectors_protocol::Timestamp(chrono::Utc::now() - chrono::Duration::seconds(5)),
    });
    engine
        .store()
        .update_job(
            job,
            &json!({"status": "in_progress", "metadata": {"checkpoint": cp.to_value()}}),
            None,
        )
        .await
        .unwrap();
}

#[tokio::test]
async fn resumes_are_limited_only_when_the_job_makes_no_progress() {
    use connectors_engine::queue::MemoryQueue;
    use connectors_engine::scheduler::{Scheduler, SchedulerConfig, ServedConnector};
    use std::sync::Arc;

    let env = start().await;
    let data = data(10);
    connector(&env, "res", "search-res").await;
    let engine = engine(&env, &data, test_config());
    let job = new_job(&env, "res").await;
    let queue = Arc::new(MemoryQueue::new());
    let scheduler = Scheduler::new(
        engine.clone(),
        queue.clone(),
        SchedulerConfig {
            connectors: vec![ServedConnector {
                connector_id: "res".into(),
                service_type: None,
            }],
            idle_threshold: Duration::ZERO,
            redispatch_after: Duration::ZERO,
            max_resumes: 2,
            ..SchedulerConfig::default()
        },
    );
    // Killed six times, each time after progress: resumed every time, never failed.
    for pages in 1..=6 {
        orphan(&engine, &job, pages).await;
        let pass = scheduler.dispatch_only().await.unwrap();
        assert_eq!((pass.resumed, pass.failed_jobs), (1, 0), "kill {pages}");
    }
    // Then killed without progress: resumed twice more, then failed with the reason.
    let mut failed = false;
    for _ in 0..3 {
        orphan(&engine, &job, 6).await;
        let pass = scheduler.dispatch_only().await.unwrap();
        failed |= pass.failed_jobs == 1;
    }
    assert!(failed);
    let j = env.es.sync_jobs().get(&job).await.unwrap();
    assert_eq!(j.status, SyncStatus::Error);
    assert!(j.error.unwrap().contains("without progress"));
}

#[tokio::test]
async fn what_could_not_be_read_is_not_swept() {
    let env = start().await;
    let data = data(0);
    {
        let mut d = data.lock().unwrap();
        for i in 0..30 {
            let table = if i < 10 { "orders" } else { "people" };
            d.insert(
                format!("row-{i:02}"),
                json!({"table": table, "_timestamp": "2024-01-01T00:00:00+00:00"}),
            );
        }
    }
    connector(&env, "unread", "search-unread").await;
    let engine = engine(&env, &data, test_config());
    let first = new_job(&env, "unread").await;
    assert_eq!(run_retrying(&engine, &first).await.0, SyncStatus::Completed);
    // Next time the `orders` part cannot be read, and one `people` row is really gone.
    {
        let mut d = data.lock().unwrap();
        d.retain(|k, v| v["table"] != json!("orders") && k != "row-29");
        d.insert("orders".into(), json!({"_unreadable": "table"}));
    }
    let job = new_job(&env, "unread").await;
    assert_eq!(run_retrying(&engine, &job).await.0, SyncStatus::Completed);
    let j = env.es.sync_jobs().get(&job).await.unwrap();
    assert_eq!(j.deleted_document_count, 1);
    assert_eq!(j.total_document_count, 29);
    let metadata = Value::Object(j.metadata.clone().unwrap());
    assert_eq!(metadata["unread"][0]["value"], json!("orders"));
    let docs = index_docs(&env.es, "search-unread").await;
    assert_eq!(docs.len(), 29);
    assert!(docs.contains_key("row-00") && !docs.contains_key("row-29"));
}

#[tokio::test]
async fn what_could_not_be_read_under_a_folder_is_not_swept() {
    let env = start().await;
    let data = data(0);
    {
        let mut d = data.lock().unwrap();
        for (i, path) in ["/a/1", "/a/2", "/a/b/3", "/ab/4", "/c/5"]
            .iter()
            .enumerate()
        {
            d.insert(
                format!("file-{i}"),
                json!({"path": path, "_timestamp": "2024-01-01T00:00:00+00:00"}),
            );
        }
    }
    connector(&env, "under", "search-under").await;
    let engine = engine(&env, &data, test_config());
    let first = new_job(&env, "under").await;
    assert_eq!(run_retrying(&engine, &first).await.0, SyncStatus::Completed);
    // Next time folder `/a` cannot be listed: what was under it stays; `/ab/4` and `/c/5`
    // are gone for real.
    {
        let mut d = data.lock().unwrap();
        d.clear();
        d.insert("/a/".into(), json!({"_unreadable_under": "path"}));
    }
    let job = new_job(&env, "under").await;
    assert_eq!(run_retrying(&engine, &job).await.0, SyncStatus::Completed);
    let j = env.es.sync_jobs().get(&job).await.unwrap();
    assert_eq!(j.deleted_document_count, 2);
    let metadata = Value::Object(j.metadata.clone().unwrap());
    assert_eq!(metadata["unread"][0]["value"], json!("/a/"));
    assert_eq!(metadata["unread"][0]["prefix"], json!(true));
    let docs = index_docs(&env.es, "search-under").await;
    assert_eq!(
        docs.keys().collect::<Vec<_>>(),
        ["file-0", "file-1", "file-2"]
    );
}

#[tokio::test]
async fn a_job_failing_mid_sync_reports_counts_that_add_up() {
    // No periodic refresh: only what the engine refreshes is visible to counts.
    let env = start_with(es_sim::SimConfig {
        refresh_interval: None,
        ..Default::default()
    })
    .await;
    let data = data(300);
    data.lock()
        .unwrap()
        .insert("zzz".into(), json!({"_fail": "the table was dropped"}));
    connector(&env, "midfail", "search-midfail").await;
    let engine = engine(&env, &data, test_config());
    let job = new_job(&env, "midfail").await;
    assert_eq!(run_retrying(&engine, &job).await.0, SyncStatus::Error);
    let j = env.es.sync_jobs().get(&job).await.unwrap();
    assert!(j.error.unwrap().contains("the table was dropped"));
    assert_eq!(j.indexed_document_count, 300);
    assert_eq!(j.total_document_count, 300);
}
