//! The bulk writer against a cluster: chunking, whole-request and per-item rejections, dropped
//! connections, 413 splitting, mixed operations.

use std::time::Duration;

use es_client::{
    BulkAction, BulkOptions, BulkReport, BulkWriter, RetryPolicy, WriteResult, bytes_to_mib,
};
use serde::Serialize;
use serde_json::{Value, json};

use crate::common::{TestCluster, sim_config};
use crate::sim_only;

#[derive(Serialize)]
struct Page<'a> {
    id: &'a str,
    title: String,
    body: &'a str,
    n: usize,
}

fn item_retry() -> RetryPolicy {
    RetryPolicy {
        max_retries: 8,
        initial_backoff: Duration::from_millis(2),
        max_backoff: Duration::from_millis(20),
    }
}

/// Pushes `count` index operations, flushing whenever a request is full; returns the merged
/// report of every flush.
async fn index_docs(
    writer: &mut BulkWriter<usize>,
    index: &str,
    count: usize,
    body: &str,
) -> BulkReport<usize> {
    let mut report = BulkReport::default();
    for n in 0..count {
        let id = format!("d{n}");
        let page = Page {
            id: &id,
            title: format!("Page {n}"),
            body,
            n,
        };
        if writer.push_index(index, Some(&id), &page, n).unwrap() {
            report.merge(writer.flush_ready().await);
        }
    }
    report.merge(writer.flush().await);
    report
}

/// Every document is present exactly once and was written exactly once (`_version` 1).
async fn assert_written_once(cluster: &TestCluster, index: &str, count: usize) {
    cluster.client.refresh(index).await.unwrap();
    assert_eq!(
        cluster.client.count(index, None).await.unwrap(),
        count as u64
    );
    for n in [0, count / 2, count - 1] {
        let doc = cluster
            .client
            .get_document::<Value>(index, &format!("d{n}"))
            .await
            .unwrap()
            .expect("indexed");
        assert_eq!(doc.version, Some(1), "d{n} written more than once");
    }
}

fn assert_all_ok(report: &BulkReport<usize>, count: usize) {
    assert!(report.request_error.is_none(), "{:?}", report.request_error);
    assert_eq!(report.items.len(), count);
    let failed: Vec<_> = report.failed().take(3).collect();
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(report.indexed_count(), count as u64);
    // Keys come back in push order.
    assert!(
        report
            .items
            .iter()
            .enumerate()
            .all(|(i, item)| item.key == i)
    );
}

#[tokio::test]
async fn chunks_by_count_and_bytes() {
    let cluster = TestCluster::start().await;
    let index = cluster.index("bulk-chunks");
    let body = "x".repeat(1000);
    let mut writer = cluster
        .client
        .bulk_writer::<usize>(BulkOptions::default().max_ops(500).max_bytes(200 * 1024));
    let report = index_docs(&mut writer, &index, 1200, &body).await;
    assert_all_ok(&report, 1200);
    // ~1.1 kB per operation: byte-bound requests of at most 200 KiB.
    assert!(report.requests >= 6, "{} requests", report.requests);
    assert!(report.items.iter().all(|i| i.attempts == 1));
    let totals = writer.totals();
    assert_eq!(totals.indexed, 1200);
    assert_eq!(totals.indexed_bytes, report.indexed_bytes());
    assert_eq!(totals.bytes_sent, report.bytes_sent);
    assert!(report.indexed_bytes() > 1200 * 1000);
    assert_eq!(bytes_to_mib(report.indexed_bytes()), 1);
    assert_written_once(&cluster, &index, 1200).await;

    // 500-operation requests when the bytes allow.
    let index2 = cluster.index("bulk-chunks");
    let mut writer = cluster.client.bulk_writer::<usize>(BulkOptions::default());
    let report = index_docs(&mut writer, &index2, 1200, "small").await;
    assert_all_ok(&report, 1200);
    assert_eq!(report.requests, 3);
    cluster
        .client
        .indices()
        .delete(&index, false)
        .await
        .unwrap();
    cluster
        .client
        .indices()
        .delete(&index2, false)
        .await
        .unwrap();
    cluster.stop().await;
}

#[tokio::test]
async fn whole_request_429s_are_retried() {
    sim_only!();
    let cluster = TestCluster::start_sim(sim_config()).await;
    let index = cluster.index("bulk-429");
    cluster.faults().reject_bulk_requests(3, 429);
    let mut writer = cluster
        .client
        .bulk_writer::<usize>(BulkOptions::default().max_ops(100).item_retry(item_retry()));
    let report = index_docs(&mut writer, &index, 450, "text").await;
    assert_all_ok(&report, 450);
    assert_eq!(report.requests, 5);
    assert_written_once(&cluster, &index, 450).await;

    // 503s too.
    cluster.faults().reject_bulk_requests(2, 503);
    let index2 = cluster.index("bulk-503");
    let report = index_docs(&mut writer, &index2, 150, "text").await;
    assert_all_ok(&report, 150);
    assert_written_once(&cluster, &index2, 150).await;
    cluster.stop().await;
}

#[tokio::test]
async fn item_429s_resend_only_rejected_items() {
    sim_only!();
    let cluster = TestCluster::start_sim(sim_config()).await;
    let index = cluster.index("bulk-items");
    cluster.faults().reject_bulk_items_percent(30);
    let mut writer = cluster
        .client
        .bulk_writer::<usize>(BulkOptions::default().max_ops(200).item_retry(item_retry()));
    let report = index_docs(&mut writer, &index, 1000, "text").await;
    assert_all_ok(&report, 1000);
    let retried = report.items.iter().filter(|i| i.attempts > 1).count();
    assert!(retried >= 250, "only {retried} items were retried");
    // Retry requests carried only the rejected items: every byte sent belongs to an operation
    // and each operation was sent exactly `attempts` times.
    let op_bytes = |item: &es_client::BulkItem<usize>| {
        let action = format!(
            r#"{{"index":{{"_index":"{index}","_id":"d{}"}}}}"#,
            item.key
        );
        (action.len() + 1 + item.source_bytes + 1) as u64
    };
    let expected: u64 = report
        .items
        .iter()
        .map(|i| op_bytes(i) * u64::from(i.attempts))
        .sum();
    assert_eq!(report.bytes_sent, expected);
    let first_round: u64 = report.items.iter().map(op_bytes).sum();
    assert!(report.bytes_sent < first_round * 2);
    cluster.faults().clear();
    assert_written_once(&cluster, &index, 1000).await;
    cluster.stop().await;
}

#[tokio::test]
async fn item_rejections_beyond_the_budget_are_reported() {
    sim_only!();
    let cluster = TestCluster::start_sim(sim_config()).await;
    let index = cluster.index("bulk-exhaust");
    cluster.faults().reject_bulk_items_percent(100);
    let mut writer = cluster
        .client
        .bulk_writer::<usize>(BulkOptions::default().item_retry(RetryPolicy {
            max_retries: 2,
            initial_backoff: Duration::from_millis(1),
            max_backoff: Duration::from_millis(1),
        }));
    let report = index_docs(&mut writer, &index, 10, "text").await;
    assert_eq!(report.items.len(), 10);
    assert_eq!(report.failure_count(), 10);
    assert_eq!(report.requests, 3);
    for item in &report.items {
        assert_eq!(item.status, 429);
        assert_eq!(item.attempts, 3);
        assert_eq!(
            item.error.as_ref().unwrap().error_type,
            "es_rejected_execution_exception"
        );
    }
    assert!(report.request_error.is_none());
    cluster.stop().await;
}

#[tokio::test]
async fn dropped_connections_are_retried() {
    sim_only!();
    let cluster = TestCluster::start_sim(sim_config()).await;
    let index = cluster.index("bulk-drop");
    let mut writer = cluster
        .client
        .bulk_writer::<usize>(BulkOptions::default().max_ops(50).item_retry(item_retry()));
    cluster.faults().drop_connections(3);
    let report = index_docs(&mut writer, &index, 200, "text").await;
    assert_all_ok(&report, 200);
    assert_written_once(&cluster, &index, 200).await;
    cluster.stop().await;
}

#[tokio::test]
async fn too_large_requests_are_split() {
    sim_only!();
    let cluster = TestCluster::start_sim(es_sim::SimConfig {
        max_content_length: 4096,
        ..sim_config()
    })
    .await;
    let index = cluster.index("bulk-413");
    // ~150 bytes per operation, 3 MiB requests: the server takes at most ~27 per request.
    let mut writer = cluster
        .client
        .bulk_writer::<usize>(BulkOptions::default().item_retry(item_retry()));
    let report = index_docs(&mut writer, &index, 100, "some text to pad the document").await;
    assert_all_ok(&report, 100);
    assert!(report.requests > 4, "{} requests", report.requests);
    assert_written_once(&cluster, &index, 100).await;

    // One operation larger than the limit fails alone.
    let big = "y".repeat(5000);
    writer
        .push_index(&index, Some("big"), &json!({"body": big}), 1000)
        .unwrap();
    writer
        .push_index(&index, Some("small"), &json!({"body": "ok"}), 1001)
        .unwrap();
    let report = writer.flush().await;
    assert_eq!(report.items.len(), 2);
    assert_eq!(report.items[0].key, 1000);
    assert_eq!(report.items[0].status, 413);
    assert!(!report.items[0].is_success());
    assert!(report.items[1].is_success());
    assert!(report.request_error.is_none());
    cluster.stop().await;
}

#[tokio::test]
async fn mixed_operations_and_pipeline() {
    let cluster = TestCluster::start().await;
    let client = &cluster.client;
    let index = cluster.index("bulk-mixed");
    let pipeline = cluster.index("bulk-pipeline");
    client
        .ingest()
        .put_pipeline(
            &pipeline,
            &json!({"processors": [{"set": {"field": "piped", "value": true}}]}),
        )
        .await
        .unwrap();
    client
        .index_document(
            &index,
            Some("existing"),
            &json!({"a": 1}),
            &Default::default(),
        )
        .await
        .unwrap();

    let mut writer = client.bulk_writer::<&str>(
        BulkOptions::default()
            .pipeline(pipeline.clone())
            .refresh(es_client::Refresh::WaitFor),
    );
    writer
        .push_index(&index, Some("i1"), &json!({"a": 1}), "index")
        .unwrap();
    writer
        .push_create(
            &index,
            Some("existing"),
            &json!({"a": 2}),
            "create-conflict",
        )
        .unwrap();
    writer
        .push_create(&index, None, &json!({"a": 3}), "create-auto")
        .unwrap();
    writer
        .push_update(&index, "u1", &json!({"a": 4}), true, "upsert")
        .unwrap();
    writer
        .push_update(&index, "existing", &json!({"b": 5}), false, "update")
        .unwrap();
    writer
        .push_update(&index, "ghost", &json!({"b": 6}), false, "update-missing")
        .unwrap();
    writer.push_delete(&index, "i1", "delete").unwrap();
    writer
        .push_delete(&index, "never", "delete-missing")
        .unwrap();
    assert!(!writer.is_flush_due());
    let report = writer.flush().await;
    assert!(report.request_error.is_none(), "{:?}", report.request_error);
    assert_eq!(report.requests, 1);
    let by_key = |key: &str| report.items.iter().find(|i| i.key == key).unwrap();

    assert_eq!(by_key("index").result, Some(WriteResult::Created));
    let conflict = by_key("create-conflict");
    assert_eq!(conflict.status, 409);
    assert_eq!(conflict.attempts, 1, "409 is not retried");
    assert_eq!(
        conflict.error.as_ref().unwrap().error_type,
        "version_conflict_engine_exception"
    );
    let auto = by_key("create-auto");
    assert!(auto.is_success());
    let auto_id = auto.generated_id.clone().expect("generated id");
    assert_eq!(by_key("upsert").result, Some(WriteResult::Created));
    assert_eq!(by_key("update").result, Some(WriteResult::Updated));
    let missing = by_key("update-missing");
    assert_eq!(missing.status, 404);
    assert_eq!(
        missing.error.as_ref().unwrap().error_type,
        "document_missing_exception"
    );
    assert_eq!(by_key("delete").result, Some(WriteResult::Deleted));
    let delete_missing = by_key("delete-missing");
    assert!(delete_missing.is_success());
    assert_eq!(delete_missing.result, Some(WriteResult::NotFound));
    assert_eq!(delete_missing.action, BulkAction::Delete);

    assert_eq!(report.indexed_count(), 4);
    assert_eq!(report.deleted_count(), 1);
    assert_eq!(report.failure_count(), 2);

    let merged = client
        .get_document::<Value>(&index, "existing")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(merged.source, json!({"a": 1, "b": 5}));
    assert!(
        client
            .get_document::<Value>(&index, &auto_id)
            .await
            .unwrap()
            .is_some()
    );
    // refresh=wait_for: visible to search at once.
    assert_eq!(client.count(&index, None).await.unwrap(), 3);
    client.indices().delete(&index, false).await.unwrap();
    client.ingest().delete_pipeline(&pipeline).await.unwrap();
    cluster.stop().await;
}

#[tokio::test]
async fn unauthorized_bulk_fails_every_item() {
    sim_only!();
    let cluster = TestCluster::start_sim(es_sim::SimConfig {
        security: Some(es_sim::Security {
            username: "elastic".into(),
            password: "changeme".into(),
        }),
        ..sim_config()
    })
    .await;
    let index = cluster.index("bulk-401");
    let mut writer = cluster
        .client
        .bulk_writer::<usize>(BulkOptions::default().max_ops(10));
    let report = index_docs(&mut writer, &index, 25, "text").await;
    assert_eq!(report.items.len(), 25);
    assert_eq!(report.failure_count(), 25);
    assert!(report.request_error.as_ref().unwrap().is_auth_error());
    assert_eq!(writer.pending_ops(), 0);
    cluster.stop().await;
}
