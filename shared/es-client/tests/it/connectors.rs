//! Connector, sync job and secret API round trips, including protocol violations.

use connectors_protocol::{
    BasicRule, ConfigField, Configuration, ConnectorStatus, Features, FilteringValidation, JobType,
    Pipeline, ScheduleEntry, Scheduling, SyncStatus, TriggerMethod, ValidationState,
};
use es_client::{
    ConfigurationUpdate, ConnectorListParams, DeleteConnectorOptions, EsError, LastSyncUpdate,
    NewConnector, SyncJobListParams, SyncJobStats,
};
use serde_json::{Map, json};

use crate::common::TestCluster;

fn assert_status_exception(error: &EsError) {
    assert!(error.is_bad_request(), "{error}");
    assert_eq!(error.error_type(), Some("status_exception"), "{error}");
}

#[tokio::test]
async fn connector_round_trip() {
    let cluster = TestCluster::start().await;
    let connectors = cluster.client.connectors();
    let id = cluster.index("conn");
    let index_name = format!("search-{id}");

    let put = connectors
        .put(
            Some(&id),
            &NewConnector {
                index_name: Some(index_name.clone()),
                name: Some("My connector".into()),
                service_type: Some("test-source".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(put.result, "created");
    assert_eq!(put.id, id);

    let connector = connectors.get(&id, false).await.unwrap();
    assert_eq!(connector.id.as_deref(), Some(id.as_str()));
    assert_eq!(connector.status, ConnectorStatus::Created);
    assert_eq!(connector.index_name.as_deref(), Some(index_name.as_str()));
    assert_eq!(connector.service_type.as_deref(), Some("test-source"));
    assert!(connector.last_seen.is_none());
    assert_eq!(connector.filtering.len(), 1);

    // The list finds it through each filter.
    for params in [
        ConnectorListParams {
            index_names: vec![index_name.clone()],
            ..Default::default()
        },
        ConnectorListParams {
            connector_names: vec!["My connector".into()],
            ..Default::default()
        },
        ConnectorListParams {
            service_types: vec!["test-source".into(), "other".into()],
            query: Some(id.clone()),
            ..Default::default()
        },
    ] {
        let list = connectors.list(&params).await.unwrap();
        assert!(
            list.results
                .iter()
                .any(|c| c.id.as_deref() == Some(id.as_str())),
            "{params:?}"
        );
        assert!(list.count >= 1);
    }

    connectors.check_in(&id).await.unwrap();
    assert!(
        connectors
            .get(&id, false)
            .await
            .unwrap()
            .last_seen
            .is_some()
    );

    // created -> connected violates the state machine.
    let error = connectors
        .update_status(&id, ConnectorStatus::Connected)
        .await
        .unwrap_err();
    assert_status_exception(&error);
    assert!(
        error
            .to_string()
            .contains("Invalid transition attempt from [created] to [connected]"),
        "{error}"
    );
    connectors
        .update_status(&id, ConnectorStatus::NeedsConfiguration)
        .await
        .unwrap();

    // Configuration: the schema, then values of known keys only.
    let mut schema = Configuration::new();
    schema.insert("host".into(), ConfigField::new("Host"));
    let mut port = ConfigField::new("Port");
    port.order = 2;
    schema.insert("port".into(), port);
    connectors
        .update_configuration(&id, &ConfigurationUpdate::Schema(schema))
        .await
        .unwrap();
    let mut values = Map::new();
    values.insert("host".into(), json!("db.example"));
    connectors
        .update_configuration(&id, &ConfigurationUpdate::Values(values))
        .await
        .unwrap();
    let connector = connectors.get(&id, false).await.unwrap();
    assert_eq!(connector.status, ConnectorStatus::Configured);
    assert_eq!(connector.configuration["host"].value, json!("db.example"));
    assert_eq!(connector.configuration["port"].order, 2);
    let mut unknown = Map::new();
    unknown.insert("nope".into(), json!(1));
    let error = connectors
        .update_configuration(&id, &ConfigurationUpdate::Values(unknown))
        .await
        .unwrap_err();
    assert!(error.is_bad_request(), "{error}");

    // Error: sets `error` status without a state check; None goes back to connected.
    connectors.update_error(&id, Some("boom")).await.unwrap();
    let connector = connectors.get(&id, false).await.unwrap();
    assert_eq!(connector.status, ConnectorStatus::Error);
    assert_eq!(connector.error.as_deref(), Some("boom"));
    connectors.update_error(&id, None).await.unwrap();
    assert_eq!(
        connectors.get(&id, false).await.unwrap().status,
        ConnectorStatus::Connected
    );

    // Filtering: a draft must be valid before activation.
    let rule: BasicRule = serde_json::from_value(json!({
        "id": "r1", "policy": "exclude", "field": "kind", "rule": "equals", "value": "tmp", "order": 1
    }))
    .unwrap();
    connectors
        .update_filtering_draft(&id, Some(&[rule]), None)
        .await
        .unwrap();
    let error = connectors.activate_filtering(&id).await.unwrap_err();
    assert!(error.is_bad_request(), "{error}");
    connectors
        .update_filtering_validation(&id, &FilteringValidation::valid())
        .await
        .unwrap();
    connectors.activate_filtering(&id).await.unwrap();
    let connector = connectors.get(&id, false).await.unwrap();
    let active = connector.active_filtering().unwrap();
    assert!(active.rules.iter().any(|r| r.id == "r1"));
    assert_eq!(active.validation.state, ValidationState::Valid);

    // Features, pipeline, scheduling, service type, name, index name, last sync.
    let features = Features::declared(true, false, true, false);
    connectors.update_features(&id, &features).await.unwrap();
    let pipeline = Pipeline {
        name: "my-pipeline".into(),
        run_ml_inference: false,
        ..Pipeline::default()
    };
    connectors.update_pipeline(&id, &pipeline).await.unwrap();
    let scheduling = Scheduling {
        full: Some(ScheduleEntry {
            enabled: true,
            interval: "0 30 1 * * ?".into(),
            ..Default::default()
        }),
        incremental: Some(ScheduleEntry::default()),
        access_control: Some(ScheduleEntry::default()),
        ..Default::default()
    };
    connectors
        .update_scheduling(&id, &scheduling)
        .await
        .unwrap();
    let bad = Scheduling {
        full: Some(ScheduleEntry {
            enabled: true,
            interval: "not a cron".into(),
            ..Default::default()
        }),
        ..scheduling.clone()
    };
    assert!(
        connectors
            .update_scheduling(&id, &bad)
            .await
            .unwrap_err()
            .is_bad_request()
    );
    connectors
        .update_name(&id, Some("Renamed"), Some("a description"))
        .await
        .unwrap();
    let new_index = format!("{index_name}-2");
    connectors
        .update_index_name(&id, Some(&new_index))
        .await
        .unwrap();
    connectors
        .update_last_sync(
            &id,
            &LastSyncUpdate {
                last_sync_status: Some(SyncStatus::Completed),
                last_indexed_document_count: Some(42),
                last_sync_error: Some(None),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    connectors
        .update_service_type(&id, "other-source")
        .await
        .unwrap();
    let connector = connectors.get(&id, false).await.unwrap();
    assert!(connector.features().incremental_sync_enabled());
    assert_eq!(connector.pipeline().name, "my-pipeline");
    assert!(!connector.pipeline().run_ml_inference);
    assert_eq!(
        connector.scheduling.full.as_ref().unwrap().interval,
        "0 30 1 * * ?"
    );
    assert!(connector.scheduling.full.as_ref().unwrap().enabled);
    assert_eq!(connector.name.as_deref(), Some("Renamed"));
    assert_eq!(connector.description.as_deref(), Some("a description"));
    assert_eq!(connector.index_name.as_deref(), Some(new_index.as_str()));
    assert_eq!(connector.last_sync_status, Some(SyncStatus::Completed));
    assert_eq!(connector.last_indexed_document_count, Some(42));
    assert_eq!(connector.service_type.as_deref(), Some("other-source"));
    assert_eq!(connector.status, ConnectorStatus::NeedsConfiguration);

    // Re-put replaces the document.
    let put = connectors
        .put(Some(&id), &NewConnector::default())
        .await
        .unwrap();
    assert_eq!(put.result, "updated");
    assert_eq!(
        connectors.get(&id, false).await.unwrap().status,
        ConnectorStatus::Created
    );

    // Soft delete (9.x), then hard delete.
    connectors
        .delete(&id, DeleteConnectorOptions::default())
        .await
        .unwrap();
    assert!(connectors.get(&id, false).await.unwrap_err().is_not_found());
    assert!(connectors.get(&id, true).await.unwrap().is_deleted());
    connectors
        .delete(
            &id,
            DeleteConnectorOptions {
                hard: true,
                delete_sync_jobs: true,
            },
        )
        .await
        .unwrap();
    let error = connectors.get(&id, true).await.unwrap_err();
    assert!(error.is_not_found(), "{error}");
    assert_eq!(error.error_type(), Some("resource_not_found_exception"));

    // POST generates an id.
    let generated = connectors
        .put(None, &NewConnector::default())
        .await
        .unwrap();
    assert!(!generated.id.is_empty());
    connectors
        .delete(
            &generated.id,
            DeleteConnectorOptions {
                hard: true,
                delete_sync_jobs: false,
            },
        )
        .await
        .unwrap();
    cluster.stop().await;
}

#[tokio::test]
async fn sync_job_round_trip() {
    let cluster = TestCluster::start().await;
    let connectors = cluster.client.connectors();
    let jobs = cluster.client.sync_jobs();
    let connector_id = cluster.index("jobconn");
    connectors
        .put(
            Some(&connector_id),
            &NewConnector {
                index_name: Some(format!("search-{connector_id}")),
                service_type: Some("test-source".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();

    // Unknown connector.
    let error = jobs
        .create(
            &cluster.index("ghost"),
            JobType::Full,
            TriggerMethod::OnDemand,
        )
        .await
        .unwrap_err();
    assert!(error.is_not_found(), "{error}");

    let job_id = jobs
        .create(&connector_id, JobType::Full, TriggerMethod::OnDemand)
        .await
        .unwrap();
    let job = jobs.get(&job_id).await.unwrap();
    assert_eq!(job.id.as_deref(), Some(job_id.as_str()));
    assert_eq!(job.status, SyncStatus::Pending);
    assert_eq!(job.job_type, JobType::Full);
    assert_eq!(job.trigger_method, TriggerMethod::OnDemand);
    assert_eq!(job.connector.id, connector_id);
    assert_eq!(job.connector.service_type.as_deref(), Some("test-source"));

    // An error on a pending job violates the state machine.
    let error = jobs.set_error(&job_id, "too early").await.unwrap_err();
    assert_status_exception(&error);

    let acl_job = jobs
        .create(
            &connector_id,
            JobType::AccessControl,
            TriggerMethod::Scheduled,
        )
        .await
        .unwrap();
    let list = jobs
        .list(&SyncJobListParams {
            connector_id: Some(connector_id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(list.count, 2);
    let list = jobs
        .list(&SyncJobListParams {
            connector_id: Some(connector_id.clone()),
            job_types: vec![JobType::AccessControl],
            status: Some(SyncStatus::Pending),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(list.count, 1);
    assert_eq!(list.results[0].id.as_deref(), Some(acl_job.as_str()));
    assert!(
        list.results[0]
            .connector
            .index_name
            .as_deref()
            .unwrap()
            .starts_with(".search-acl-filter-")
    );
    let page = jobs
        .list(&SyncJobListParams {
            connector_id: Some(connector_id.clone()),
            from: Some(1),
            size: Some(1),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(page.count, 2);
    assert_eq!(page.results.len(), 1);

    // Claim, check in, report stats.
    let cursor = json!({"cursor_timestamp": "2024-01-01T00:00:00Z"});
    jobs.claim(&job_id, "worker-1", Some(&cursor))
        .await
        .unwrap();
    jobs.check_in(&job_id).await.unwrap();
    let mut metadata = Map::new();
    metadata.insert("phase".into(), json!("extract"));
    jobs.update_stats(
        &job_id,
        &SyncJobStats {
            indexed_document_count: 10,
            deleted_document_count: 2,
            indexed_document_volume: 1,
            total_document_count: Some(8),
            metadata: Some(metadata),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let job = jobs.get(&job_id).await.unwrap();
    assert_eq!(job.status, SyncStatus::InProgress);
    assert_eq!(job.worker_hostname.as_deref(), Some("worker-1"));
    assert!(job.started_at.is_some());
    assert_eq!(job.connector.sync_cursor, Some(cursor));
    assert_eq!(job.indexed_document_count, 10);
    assert_eq!(job.deleted_document_count, 2);
    assert_eq!(job.indexed_document_volume, 1);
    assert_eq!(job.total_document_count, 8);
    assert_eq!(job.metadata.unwrap()["phase"], "extract");

    // Cancel an in-progress job: canceling; then an error is still allowed.
    jobs.cancel(&job_id).await.unwrap();
    assert_eq!(
        jobs.get(&job_id).await.unwrap().status,
        SyncStatus::Canceling
    );
    jobs.set_error(&job_id, "gave up").await.unwrap();
    let job = jobs.get(&job_id).await.unwrap();
    assert_eq!(job.status, SyncStatus::Error);
    assert_eq!(job.error.as_deref(), Some("gave up"));
    assert_status_exception(&jobs.cancel(&job_id).await.unwrap_err());

    // Cancel a pending job: canceled at once; twice is a violation.
    jobs.cancel(&acl_job).await.unwrap();
    let job = jobs.get(&acl_job).await.unwrap();
    assert_eq!(job.status, SyncStatus::Canceled);
    assert!(job.canceled_at.is_some());
    assert_status_exception(&jobs.cancel(&acl_job).await.unwrap_err());

    jobs.delete(&job_id).await.unwrap();
    let error = jobs.get(&job_id).await.unwrap_err();
    assert!(error.is_not_found(), "{error}");
    assert!(jobs.delete(&job_id).await.unwrap_err().is_not_found());
    assert!(jobs.check_in(&job_id).await.unwrap_err().is_not_found());

    connectors
        .delete(
            &connector_id,
            DeleteConnectorOptions {
                hard: true,
                delete_sync_jobs: true,
            },
        )
        .await
        .unwrap();
    cluster.stop().await;
}

#[tokio::test]
async fn secrets_round_trip() {
    let cluster = TestCluster::start().await;
    let secrets = cluster.client.secrets();
    let id = secrets.create("s3cr3t").await.unwrap();
    let secret = secrets.get(&id).await.unwrap();
    assert_eq!(secret.id, id);
    assert_eq!(secret.value, "s3cr3t");
    secrets.put(&id, "rotated").await.unwrap();
    assert_eq!(secrets.get(&id).await.unwrap().value, "rotated");
    secrets.delete(&id).await.unwrap();
    assert!(secrets.get(&id).await.unwrap_err().is_not_found());
    assert!(secrets.delete(&id).await.unwrap_err().is_not_found());
    cluster.stop().await;
}

#[tokio::test]
async fn validation_state_values_round_trip() {
    // Sanity: the validation body the client sends is what the server stores.
    let cluster = TestCluster::start().await;
    let connectors = cluster.client.connectors();
    let id = cluster.index("validation");
    connectors
        .put(
            Some(&id),
            &NewConnector {
                index_name: Some(format!("search-{id}")),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let validation: FilteringValidation = serde_json::from_value(json!({
        "state": "invalid", "errors": [{"ids": ["r1"], "messages": ["bad rule"]}]
    }))
    .unwrap();
    connectors
        .update_filtering_validation(&id, &validation)
        .await
        .unwrap();
    let connector = connectors.get(&id, false).await.unwrap();
    let draft = &connector.default_filtering().unwrap().draft;
    assert_eq!(draft.validation, validation);
    connectors
        .delete(
            &id,
            DeleteConnectorOptions {
                hard: true,
                delete_sync_jobs: true,
            },
        )
        .await
        .unwrap();
    cluster.stop().await;
}
