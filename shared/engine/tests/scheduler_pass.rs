//! What one scheduler pass costs and how it treats documents written while it runs: requests
//! per pass do not grow with idle connectors, check-ins go out in batches, a connector written
//! during the pass is decided again from a fresh read (its scheduled run created once), and
//! active jobs of connectors that are gone end in error while another deployment's are left
//! alone.

mod common;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use common::*;
use connectors_engine::Engine;
use connectors_engine::queue::MemoryQueue;
use connectors_engine::scheduler::{Scheduler, SchedulerConfig, ServedConnector};
use connectors_protocol::{
    ConfigField, Configuration, ConnectorStatus, JobType, ScheduleEntry, Scheduling, SyncStatus,
    Timestamp, TriggerMethod,
};
use connectors_sdk::{
    DataSource, Page, PageRequest, SourceDescriptor, SourceError, SourceFeatures, SourceRegistry,
};
use es_client::{ConfigurationUpdate, DeleteConnectorOptions, LastSyncUpdate, SyncJobListParams};
use serde_json::{Map, json};
use tokio::sync::Notify;

fn scheduler(engine: Engine, config: SchedulerConfig) -> Scheduler {
    Scheduler::new(engine, Arc::new(MemoryQueue::new()), config)
}

fn memory_types() -> SchedulerConfig {
    SchedulerConfig {
        service_types: vec!["memory".into()],
        ..SchedulerConfig::default()
    }
}

#[tokio::test]
async fn idle_connectors_cost_nothing_but_their_share_of_the_listing() {
    let env = start().await;
    let data = data(1);
    for i in 0..60 {
        connector(
            &env,
            &format!("idle-{i:02}"),
            &format!("search-idle-{i:02}"),
        )
        .await;
    }
    let engine = engine(&env, &data, test_config());
    let config = SchedulerConfig {
        page_size: 25,
        ..memory_types()
    };
    let first = scheduler(engine.clone(), config.clone());
    // First pass: every connector prepared, checked in and connected, in 3 bulk requests.
    let before = env.es.stats();
    let r = first.tick().await.unwrap();
    let cost = env.es.stats() - before;
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.connectors, 60);
    // Listing: a point in time, 3 pages, its close; 3 bulks; the job listing (no index yet).
    assert!(cost.requests <= 11, "first pass: {cost:?}");
    for i in 0..60 {
        let c = env
            .es
            .connectors()
            .get(&format!("idle-{i:02}"), false)
            .await
            .unwrap();
        assert_eq!(c.status, ConnectorStatus::Connected);
        assert!(c.last_seen.is_some() && c.features.is_some());
    }
    // Steady state: the two listings, nothing written.
    let before = env.es.stats();
    let r = first.tick().await.unwrap();
    let cost = env.es.stats() - before;
    assert_eq!((r.connectors, r.scheduled, r.dispatched), (60, 0, 0));
    assert!(cost.requests <= 8, "steady pass: {cost:?}");
    let seen = env
        .es
        .connectors()
        .get("idle-00", false)
        .await
        .unwrap()
        .last_seen
        .unwrap();

    // Heartbeat due for all: the check-ins go out as 3 bulk requests.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let every_pass = scheduler(
        engine,
        SchedulerConfig {
            heartbeat_interval: Duration::ZERO,
            ..config
        },
    );
    let before = env.es.stats();
    every_pass.tick().await.unwrap();
    let cost = env.es.stats() - before;
    assert!(cost.requests <= 11, "check-in pass: {cost:?}");
    for i in 0..60 {
        let c = env
            .es
            .connectors()
            .get(&format!("idle-{i:02}"), false)
            .await
            .unwrap();
        assert!(c.last_seen.unwrap().0 > seen.0, "idle-{i:02}");
    }
}

/// `service_type: "gated"`: a source whose ping waits until the test lets it go, so the test
/// can write the connector while a pass is deciding it.
struct Gated {
    entered: Arc<Notify>,
    release: Arc<Notify>,
}

impl SourceDescriptor for Gated {
    fn service_type(&self) -> &'static str {
        "gated"
    }
    fn name(&self) -> &'static str {
        "A source whose ping the test releases"
    }
    fn default_configuration(&self) -> Configuration {
        let mut f = ConfigField::new("Name");
        f.value = json!("test");
        Configuration::from([("name".to_string(), f)])
    }
    fn features(&self) -> SourceFeatures {
        SourceFeatures::default()
    }
    fn build(&self, _c: &Configuration) -> Result<Box<dyn DataSource>, SourceError> {
        Ok(Box::new(GatedData {
            entered: Arc::clone(&self.entered),
            release: Arc::clone(&self.release),
        }))
    }
}

struct GatedData {
    entered: Arc<Notify>,
    release: Arc<Notify>,
}

#[async_trait]
impl DataSource for GatedData {
    async fn ping(&self) -> Result<(), SourceError> {
        self.entered.notify_one();
        self.release.notified().await;
        Ok(())
    }

    async fn fetch_page(&self, _request: PageRequest<'_>) -> Result<Page, SourceError> {
        Ok(Page {
            items: Vec::new(),
            next: None,
            sync_cursor: None,
        })
    }
}

/// A gated connector with a full sync due; the engine and the gate's two sides.
async fn gated_connector(env: &Env, id: &str) -> (Engine, Arc<Notify>, Arc<Notify>) {
    let (entered, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let gated = Gated {
        entered: Arc::clone(&entered),
        release: Arc::clone(&release),
    };
    connectors_testkit::connector(
        &env.es,
        id,
        &format!("search-{id}"),
        "gated",
        &gated.default_configuration(),
    )
    .await;
    let scheduling = Scheduling {
        full: Some(ScheduleEntry {
            enabled: true,
            interval: "0 0 0 * * ?".into(),
            extra: Default::default(),
        }),
        ..Default::default()
    };
    let c = env.es.connectors();
    c.update_scheduling(id, &scheduling).await.unwrap();
    let update = LastSyncUpdate {
        last_sync_scheduled_at: Some(Timestamp(Utc::now() - chrono::Duration::days(2))),
        ..Default::default()
    };
    c.update_last_sync(id, &update).await.unwrap();
    let mut registry = SourceRegistry::new();
    registry.register(Box::new(gated));
    let engine = Engine::new(env.es.clone(), Arc::new(registry), test_config());
    (engine, entered, release)
}

async fn job_count(env: &Env, id: &str) -> usize {
    env.es
        .sync_jobs()
        .list(&SyncJobListParams {
            connector_id: Some(id.into()),
            ..Default::default()
        })
        .await
        .map(|r| r.results.len())
        .unwrap_or(0)
}

fn gated_config() -> SchedulerConfig {
    SchedulerConfig {
        service_types: vec!["gated".into()],
        ..SchedulerConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connector_written_during_the_pass_is_decided_again() {
    let env = start().await;
    let (engine, entered, release) = gated_connector(&env, "busy").await;
    let s = Arc::new(scheduler(engine, gated_config()));
    let pass = tokio::spawn({
        let s = Arc::clone(&s);
        async move { s.schedule_only().await }
    });
    // While the pass checks the source, someone renames the connector.
    tokio::time::timeout(Duration::from_secs(10), entered.notified())
        .await
        .expect("the pass checks the source");
    env.es
        .connectors()
        .update_name("busy", Some("renamed"), None)
        .await
        .unwrap();
    release.notify_one();
    let r = tokio::time::timeout(Duration::from_secs(10), pass)
        .await
        .expect("the pass ends")
        .unwrap()
        .unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.scheduled, 1);
    assert_eq!(job_count(&env, "busy").await, 1);
    let c = env.es.connectors().get("busy", false).await.unwrap();
    assert_eq!(c.name.as_deref(), Some("renamed"));
    assert_eq!(c.status, ConnectorStatus::Connected);
    assert!(c.last_sync_scheduled_at.unwrap().0 > Utc::now() - chrono::Duration::days(1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_configuration_changed_during_the_check_is_checked_next_pass() {
    let env = start().await;
    let (engine, entered, release) = gated_connector(&env, "edited").await;
    let s = Arc::new(scheduler(engine, gated_config()));
    let pass = tokio::spawn({
        let s = Arc::clone(&s);
        async move { s.schedule_only().await }
    });
    tokio::time::timeout(Duration::from_secs(10), entered.notified())
        .await
        .expect("the pass checks the source");
    let mut values = Map::new();
    values.insert("name".into(), json!("changed"));
    env.es
        .connectors()
        .update_configuration("edited", &ConfigurationUpdate::Values(values))
        .await
        .unwrap();
    release.notify_one();
    let r = tokio::time::timeout(Duration::from_secs(10), pass)
        .await
        .expect("the pass ends")
        .unwrap()
        .unwrap();
    // The check was made against another configuration: nothing scheduled on its word.
    assert_eq!(r.scheduled, 0, "{r:?}");
    assert_eq!(job_count(&env, "edited").await, 0);
    // The next pass checks the new configuration and schedules the run.
    release.notify_one();
    let r = tokio::time::timeout(Duration::from_secs(10), s.schedule_only())
        .await
        .expect("the pass ends")
        .unwrap();
    assert_eq!(r.scheduled, 1, "{r:?}");
    assert_eq!(job_count(&env, "edited").await, 1);
}

#[tokio::test]
async fn jobs_of_connectors_that_are_gone_fail_and_other_deployments_jobs_stay() {
    let env = start().await;
    let data = data(1);
    for id in ["mine", "theirs", "hard", "soft"] {
        connector(&env, id, &format!("search-{id}")).await;
    }
    let mut jobs = Vec::new();
    for id in ["mine", "theirs", "hard", "soft"] {
        let job = env
            .es
            .sync_jobs()
            .create(id, JobType::Full, TriggerMethod::OnDemand)
            .await
            .unwrap();
        jobs.push(job);
    }
    let hard = DeleteConnectorOptions {
        hard: true,
        ..Default::default()
    };
    env.es.connectors().delete("hard", hard).await.unwrap();
    env.es
        .connectors()
        .delete("soft", DeleteConnectorOptions::default())
        .await
        .unwrap();
    let served = ["mine", "hard", "soft"]
        .into_iter()
        .map(|id| ServedConnector {
            connector_id: id.into(),
            service_type: None,
        })
        .collect();
    let s = scheduler(
        engine(&env, &data, test_config()),
        SchedulerConfig {
            connectors: served,
            ..SchedulerConfig::default()
        },
    );
    let r = s.tick().await.unwrap();
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(
        (r.connectors, r.dispatched, r.failed_jobs),
        (1, 1, 2),
        "{r:?}"
    );
    // The same from the job half alone (no listing of connectors to lean on): nothing more.
    let r = s.dispatch_only().await.unwrap();
    assert_eq!((r.dispatched, r.failed_jobs), (0, 0), "{r:?}");
    let status = |i: usize| {
        let es = env.es.clone();
        let job = jobs[i].clone();
        async move { es.sync_jobs().get(&job).await.unwrap() }
    };
    assert_eq!(status(0).await.status, SyncStatus::Pending);
    assert_eq!(status(1).await.status, SyncStatus::Pending);
    for i in [2, 3] {
        let j = status(i).await;
        assert_eq!(j.status, SyncStatus::Error);
        let error = j.error.unwrap();
        assert!(error.starts_with("Connector is not found"), "{error}");
    }
}
