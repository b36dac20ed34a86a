//! Both handlers over the in-process job queue: the container is generic over the queue, so
//! the functions' code runs a whole sync with no moto and no AWS call (the Elasticsearch URL
//! comes from the environment and there is no API key secret to read).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use connectors_aws::aws_config::{BehaviorVersion, Region, SdkConfig};
use connectors_engine::queue::MemoryQueue;
use connectors_protocol::{ConnectorStatus, JobType, SyncStatus, TriggerMethod};
use connectors_serverless::Container;
use connectors_tests::*;
use serde_json::json;

use crate::schedule_event;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handlers_run_a_sync_over_the_in_process_queue() {
    let sim = start_sim().await;
    let tmp = tempfile::tempdir().unwrap();
    let root = std::fs::canonicalize(tmp.path()).unwrap();
    let tree: Vec<(String, String)> = (0..300)
        .map(|i| (format!("d{}/f{i:05}.txt", i % 5), format!("content {i}")))
        .collect();
    let files: Vec<(&str, &str)> = tree.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
    write_tree(&root, &files);

    // No credentials and an endpoint nobody listens on: any AWS call would fail the test.
    let sdk = SdkConfig::builder()
        .region(Region::new("us-east-1"))
        .endpoint_url("http://127.0.0.1:9")
        .behavior_version(BehaviorVersion::latest())
        .build();
    let env: HashMap<&str, String> = HashMap::from([
        ("JOB_QUEUE_URL", "in-process".to_string()),
        ("ES_URL", sim.url()),
        ("CONNECTOR_IDS", "inproc".into()),
        ("WORKER_TIME_BUDGET_SECS", "1".into()),
        ("WORKER_SAFETY_MARGIN_SECS", "1".into()),
        ("WORKER_PAGE_SIZE", "10".into()),
        ("ES_BULK_CHUNK_SIZE", "10".into()),
        ("ES_BULK_MAX_CONCURRENCY", "1".into()),
        ("CONNECTORS_CHECKPOINT_INTERVAL", "0".into()),
        ("DEPLOYMENT_NAME", "test".into()),
    ]);
    let queue = Arc::new(MemoryQueue::new());
    let container = Container::with_queue(&sdk, |k| env.get(k).cloned(), Arc::clone(&queue))
        .expect("a container over the in-process queue");

    // Every request takes a little while, so that 1 s slices cannot sync 300 files at once.
    sim.sim.faults().set_latency(Duration::from_millis(20));

    // The connector, made `connected` by scheduler passes, as a deployment does it.
    sim.create_connector("inproc", "search-inproc", "dir").await;
    lambda_scheduler::handle(&container, schedule_event())
        .await
        .expect("first pass");
    sim.set_values("inproc", json!({"directory": root.display().to_string()}))
        .await;
    lambda_scheduler::handle(&container, schedule_event())
        .await
        .expect("second pass");
    let c = sim.es.connectors().get("inproc", false).await.unwrap();
    assert_eq!(c.status, ConnectorStatus::Connected, "{:?}", c.error);

    let job = sim
        .es
        .sync_jobs()
        .create("inproc", JobType::Full, TriggerMethod::OnDemand)
        .await
        .unwrap();
    let pass = lambda_scheduler::handle(&container, schedule_event())
        .await
        .expect("dispatching pass");
    assert_eq!(pass["dispatched"], 1, "{pass}");
    assert_eq!(
        queue.len(),
        1,
        "the job's message is on the in-process queue"
    );

    // The event source mapping, in-process: one message per invocation.
    let until = Instant::now() + Duration::from_secs(120);
    let mut invocations = 0;
    let mut slices = Vec::new();
    while let Some(message) = queue.recv(Duration::from_secs(5)).await {
        invocations += 1;
        slices.push(message.slice);
        let mut record = SqsMessage::default();
        record.message_id = Some(format!("m{invocations}"));
        record.body = Some(message.to_json());
        record
            .attributes
            .insert("ApproximateReceiveCount".into(), "1".into());
        let mut event = SqsEvent::default();
        event.records = vec![record];
        let response = lambda_worker::handle(
            &container,
            event,
            SystemTime::now() + Duration::from_secs(30),
        )
        .await;
        assert!(
            response.batch_item_failures.is_empty(),
            "invocation {invocations} failed"
        );
        if sim.job(&job).await.status.is_terminal() {
            break;
        }
        assert!(Instant::now() < until, "the job never ended");
    }
    let done = sim.job(&job).await;
    assert_eq!(done.status, SyncStatus::Completed, "{:?}", done.error);
    assert_eq!(
        (done.indexed_document_count, done.total_document_count),
        (300, 300)
    );
    assert_eq!(sim.docs("search-inproc").await.len(), 300);
    assert!(
        invocations > 1,
        "a sync of 300 files in 1 s slices takes several invocations"
    );
    // Each slice's message names the next slice.
    assert_eq!(slices, (0..invocations as u64).collect::<Vec<_>>());
    assert!(
        queue.is_empty(),
        "nothing left on the queue: {}",
        queue.len()
    );
}
