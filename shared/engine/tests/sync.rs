//! The sync engine against es-sim: full syncs, deletions, slices, cancelation, the error budget,
//! and the lifecycle updates of the job and the connector.

mod common;

use std::time::Duration;

use common::*;
use connectors_engine::{Budget, SliceOutcome};
use connectors_protocol::{ConnectorStatus, JobType, SyncStatus, TriggerMethod};
use serde_json::json;

#[tokio::test]
async fn full_sync_indexes_everything_and_updates_both_documents() {
    let env = start().await;
    let data = data(230);
    connector(&env, "c1", "search-c1").await;
    let engine = engine(&env, &data, test_config());
    let job = env
        .es
        .sync_jobs()
        .create("c1", JobType::Full, TriggerMethod::OnDemand)
        .await
        .unwrap();
    let (status, _) = run_to_end(&engine, &job, 60_000).await;
    assert_eq!(status, SyncStatus::Completed);

    let docs = index_docs(&env.es, "search-c1").await;
    assert_eq!(docs.len(), 230);
    let d = &docs["doc-00007"];
    assert_eq!(d["id"], json!("doc-00007"));
    assert_eq!(d["title"], json!("Document 7"));
    assert_eq!(d["_timestamp"], json!("2024-01-01T00:00:00+00:00"));
    // The default pipeline removed the flags it consumes.
    assert!(d.get("_extract_binary_content").is_none(), "{d}");

    let j = env.es.sync_jobs().get(&job).await.unwrap();
    assert_eq!(j.status, SyncStatus::Completed);
    assert_eq!(j.indexed_document_count, 230);
    assert_eq!(j.deleted_document_count, 0);
    assert_eq!(j.total_document_count, 230);
    assert!(j.completed_at.is_some() && j.started_at.is_some());
    assert_eq!(
        j.worker_hostname.as_deref(),
        Some(engine.config().worker_hostname.as_str())
    );

    let c = env.es.connectors().get("c1", false).await.unwrap();
    assert_eq!(c.status, ConnectorStatus::Connected);
    assert_eq!(c.last_sync_status, Some(SyncStatus::Completed));
    assert_eq!(c.last_indexed_document_count, Some(230));
    assert_eq!(c.last_deleted_document_count, Some(0));
    assert!(c.last_synced.is_some());
    assert!(c.error.is_none());
}

#[tokio::test]
async fn second_sync_deletes_what_is_gone_and_updates_what_changed() {
    let env = start().await;
    let data = data(120);
    connector(&env, "c2", "search-c2").await;
    let engine = engine(&env, &data, test_config());
    let job = env
        .es
        .sync_jobs()
        .create("c2", JobType::Full, TriggerMethod::OnDemand)
        .await
        .unwrap();
    assert_eq!(
        run_to_end(&engine, &job, 60_000).await.0,
        SyncStatus::Completed
    );
    {
        let mut d = data.lock().unwrap();
        for i in 0..10 {
            d.remove(&format!("doc-{i:05}"));
        }
        d.insert("doc-00050".into(), json!({"title": "changed"}));
        d.insert("new-1".into(), json!({"title": "new"}));
    }
    let job = env
        .es
        .sync_jobs()
        .create("c2", JobType::Full, TriggerMethod::OnDemand)
        .await
        .unwrap();
    assert_eq!(
        run_to_end(&engine, &job, 60_000).await.0,
        SyncStatus::Completed
    );
    let docs = index_docs(&env.es, "search-c2").await;
    assert_eq!(docs.len(), 111);
    assert!(!docs.contains_key("doc-00000"));
    assert_eq!(docs["doc-00050"]["title"], json!("changed"));
    assert!(
        docs["doc-00050"].get("rank").is_none(),
        "a re-index replaces the document"
    );
    let j = env.es.sync_jobs().get(&job).await.unwrap();
    assert_eq!(
        (
            j.indexed_document_count,
            j.deleted_document_count,
            j.total_document_count
        ),
        (111, 10, 111)
    );
    let c = env.es.connectors().get("c2", false).await.unwrap();
    assert_eq!(c.last_deleted_document_count, Some(10));
}

#[tokio::test]
async fn slices_give_the_same_result_as_one_run() {
    let env = start().await;
    let data = data(400);
    connector(&env, "c3", "search-c3").await;
    let mut config = test_config();
    config.page_size = 25;
    let engine = engine(&env, &data, config);
    let job = env
        .es
        .sync_jobs()
        .create("c3", JobType::Full, TriggerMethod::OnDemand)
        .await
        .unwrap();
    // A budget shorter than a page: every slice runs one page and checkpoints.
    let (status, slices) = run_to_end(&engine, &job, 1).await;
    assert_eq!(status, SyncStatus::Completed);
    assert!(slices >= 16, "{slices} slices");
    let j = env.es.sync_jobs().get(&job).await.unwrap();
    assert_eq!(
        (j.indexed_document_count, j.total_document_count),
        (400, 400)
    );
    assert_eq!(index_docs(&env.es, "search-c3").await.len(), 400);
}

#[tokio::test]
async fn stale_and_duplicate_messages_are_ignored() {
    let env = start().await;
    let data = data(100);
    connector(&env, "c4", "search-c4").await;
    let mut config = test_config();
    config.page_size = 20;
    let engine = engine(&env, &data, config);
    let job = env
        .es
        .sync_jobs()
        .create("c4", JobType::Full, TriggerMethod::OnDemand)
        .await
        .unwrap();
    let first = engine
        .run_slice(&job, Some(0), Budget::for_duration(Duration::ZERO))
        .await
        .unwrap();
    assert_eq!(first, SliceOutcome::Continue { next_slice: 1 });
    // The same message again: stale.
    let again = engine
        .run_slice(&job, Some(0), Budget::for_duration(Duration::from_secs(60)))
        .await
        .unwrap();
    assert!(matches!(again, SliceOutcome::Stale(_)), "{again:?}");
    let (status, _) = {
        let mut slice = Some(1);
        loop {
            match engine
                .run_slice(&job, slice, Budget::for_duration(Duration::from_secs(60)))
                .await
                .unwrap()
            {
                SliceOutcome::Finished(s) => break (s, ()),
                SliceOutcome::Continue { next_slice } => slice = Some(next_slice),
                other => panic!("{other:?}"),
            }
        }
    };
    assert_eq!(status, SyncStatus::Completed);
    let after = engine
        .run_slice(&job, Some(1), Budget::for_duration(Duration::from_secs(60)))
        .await
        .unwrap();
    assert!(matches!(after, SliceOutcome::Stale(_)), "{after:?}");
    let j = env.es.sync_jobs().get(&job).await.unwrap();
    assert_eq!(j.indexed_document_count, 100);
}

#[tokio::test]
async fn basic_rules_exclude_documents_which_end_up_deleted() {
    let env = start().await;
    let data = data(60);
    connector(&env, "c5", "search-c5").await;
    let engine = engine(&env, &data, test_config());
    let job = env
        .es
        .sync_jobs()
        .create("c5", JobType::Full, TriggerMethod::OnDemand)
        .await
        .unwrap();
    assert_eq!(
        run_to_end(&engine, &job, 60_000).await.0,
        SyncStatus::Completed
    );
    // Exclude kind "a" (every third document), as Kibana would: draft, validate, activate.
    // Rules apply when the connector's features say so, as the scheduler writes them.
    let c = env.es.connectors();
    c.update_features(
        "c5",
        &connectors_protocol::Features::declared(true, false, false, false),
    )
    .await
    .unwrap();
    c.update_filtering_draft(
        "c5",
        Some(&[serde_json::from_value(
            json!({"id": "r1", "order": 1, "policy": "exclude", "field": "kind",
            "rule": "equals", "value": "a"}),
        )
        .unwrap()]),
        None,
    )
    .await
    .unwrap();
    c.update_filtering_validation("c5", &connectors_protocol::FilteringValidation::valid())
        .await
        .unwrap();
    c.activate_filtering("c5").await.unwrap();
    let job = env
        .es
        .sync_jobs()
        .create("c5", JobType::Full, TriggerMethod::OnDemand)
        .await
        .unwrap();
    assert_eq!(
        run_to_end(&engine, &job, 60_000).await.0,
        SyncStatus::Completed
    );
    let docs = index_docs(&env.es, "search-c5").await;
    assert_eq!(docs.len(), 40);
    assert!(docs.values().all(|d| d["kind"] == json!("b")));
    let j = env.es.sync_jobs().get(&job).await.unwrap();
    assert_eq!(
        (j.indexed_document_count, j.deleted_document_count),
        (40, 20)
    );
}

#[tokio::test]
async fn cancel_mid_sync_ends_canceled() {
    let env = start().await;
    let data = data(3000);
    connector(&env, "c6", "search-c6").await;
    let mut config = test_config();
    config.page_size = 10;
    let engine = engine(&env, &data, config);
    env.sim.faults().set_latency(Duration::from_millis(20));
    let job = env
        .es
        .sync_jobs()
        .create("c6", JobType::Full, TriggerMethod::OnDemand)
        .await
        .unwrap();
    let runner = {
        let engine = engine.clone();
        let job = job.clone();
        tokio::spawn(async move {
            engine
                .run_slice(&job, Some(0), Budget::for_duration(Duration::from_secs(60)))
                .await
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    env.es.sync_jobs().cancel(&job).await.unwrap();
    let outcome = tokio::time::timeout(Duration::from_secs(10), runner)
        .await
        .expect("noticed within seconds")
        .unwrap()
        .unwrap();
    assert_eq!(outcome, SliceOutcome::Finished(SyncStatus::Canceled));
    let j = env.es.sync_jobs().get(&job).await.unwrap();
    assert_eq!(j.status, SyncStatus::Canceled);
    assert!(j.canceled_at.is_some() && j.completed_at.is_some());
    assert!(j.indexed_document_count < 3000);
    let c = env.es.connectors().get("c6", false).await.unwrap();
    assert_eq!(c.last_sync_status, Some(SyncStatus::Canceled));
}

#[tokio::test]
async fn item_failures_exhaust_the_error_budget() {
    let env = start().await;
    let data = data(200);
    connector(&env, "c7", "search-c7").await;
    let engine = engine(&env, &data, test_config());
    // Every document is refused for good: `title` is text, the index maps it as a number.
    // (Items answered 429 or 5xx are retried instead: see the fault suite.)
    env.es
        .indices()
        .create(
            "search-c7",
            Some(&json!({"mappings": {"properties": {"title": {"type": "long"}}}})),
        )
        .await
        .unwrap();
    let job = env
        .es
        .sync_jobs()
        .create("c7", JobType::Full, TriggerMethod::OnDemand)
        .await
        .unwrap();
    let (status, _) = run_to_end(&engine, &job, 60_000).await;
    assert_eq!(status, SyncStatus::Error);
    let j = env.es.sync_jobs().get(&job).await.unwrap();
    let error = j.error.unwrap();
    assert!(
        error.contains("Exceeded maximum consecutive errors"),
        "{error}"
    );
    assert!(error.contains("document_parsing_exception"), "{error}");
    let c = env.es.connectors().get("c7", false).await.unwrap();
    assert_eq!(c.status, ConnectorStatus::Error);
    assert_eq!(c.last_sync_status, Some(SyncStatus::Error));
    assert_eq!(c.error.as_deref(), Some(error.as_str()));
}

#[tokio::test]
async fn some_rejected_items_are_retried_and_nothing_is_lost() {
    let env = start().await;
    let data = data(500);
    connector(&env, "c8", "search-c8").await;
    let engine = engine(&env, &data, test_config());
    env.sim.faults().reject_bulk_items_percent(20);
    let job = env
        .es
        .sync_jobs()
        .create("c8", JobType::Full, TriggerMethod::OnDemand)
        .await
        .unwrap();
    let (status, _) = run_to_end(&engine, &job, 60_000).await;
    assert_eq!(status, SyncStatus::Completed);
    env.sim.faults().clear();
    let j = env.es.sync_jobs().get(&job).await.unwrap();
    assert_eq!(j.indexed_document_count, 500);
    assert_eq!(index_docs(&env.es, "search-c8").await.len(), 500);
}

#[tokio::test]
async fn a_deleted_connector_or_unknown_source_ends_the_job_in_error() {
    let env = start().await;
    let data = data(10);
    connector(&env, "c9", "search-c9").await;
    let engine = engine(&env, &data, test_config());
    let job = env
        .es
        .sync_jobs()
        .create("c9", JobType::Full, TriggerMethod::OnDemand)
        .await
        .unwrap();
    env.es
        .connectors()
        .delete("c9", Default::default())
        .await
        .unwrap();
    let (status, _) = run_to_end(&engine, &job, 60_000).await;
    assert_eq!(status, SyncStatus::Error);
    let j = env.es.sync_jobs().get(&job).await.unwrap();
    assert!(j.error.unwrap().contains("c9"));

    env.es
        .connectors()
        .put(
            Some("c10"),
            &es_client::NewConnector {
                index_name: Some("search-c10".into()),
                service_type: Some("nope".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let job = env
        .es
        .sync_jobs()
        .create("c10", JobType::Full, TriggerMethod::OnDemand)
        .await
        .unwrap();
    assert_eq!(run_to_end(&engine, &job, 60_000).await.0, SyncStatus::Error);
    let j = env.es.sync_jobs().get(&job).await.unwrap();
    assert!(j.error.unwrap().contains("Unsupported service type 'nope'"));
}

#[tokio::test]
async fn incremental_jobs_need_a_source_that_supports_them() {
    let env = start().await;
    let data = data(10);
    connector(&env, "c11", "search-c11").await;
    let engine = engine(&env, &data, test_config());
    let job = env
        .es
        .sync_jobs()
        .create("c11", JobType::Incremental, TriggerMethod::OnDemand)
        .await
        .unwrap();
    assert_eq!(run_to_end(&engine, &job, 60_000).await.0, SyncStatus::Error);
    let j = env.es.sync_jobs().get(&job).await.unwrap();
    assert!(
        j.error
            .unwrap()
            .contains("Incremental sync is not supported")
    );
}

#[tokio::test]
async fn a_second_job_waits_for_the_connector_lock() {
    let env = start().await;
    let data = data(50);
    connector(&env, "c12", "search-c12").await;
    let mut config = test_config();
    config.page_size = 10;
    let engine = engine(&env, &data, config);
    let a = env
        .es
        .sync_jobs()
        .create("c12", JobType::Full, TriggerMethod::OnDemand)
        .await
        .unwrap();
    let b = env
        .es
        .sync_jobs()
        .create("c12", JobType::Full, TriggerMethod::OnDemand)
        .await
        .unwrap();
    assert!(matches!(
        engine
            .run_slice(&a, Some(0), Budget::for_duration(Duration::ZERO))
            .await
            .unwrap(),
        SliceOutcome::Continue { .. }
    ));
    let busy = engine
        .run_slice(&b, Some(0), Budget::for_duration(Duration::from_secs(60)))
        .await
        .unwrap();
    assert!(matches!(busy, SliceOutcome::Busy(_)), "{busy:?}");
    assert_eq!(
        env.es.sync_jobs().get(&b).await.unwrap().status,
        SyncStatus::Pending
    );
}
