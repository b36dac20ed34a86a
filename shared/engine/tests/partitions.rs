//! Partitioned jobs through local worker pools: a job split into partitions run by several
//! workers gives the index, counts and sync cursor of one worker's run; duplicate deliveries
//! and a worker that dies mid-partition change nothing; cancelation stops every partition; a
//! failing partition ends the job in `error`, named.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use common::{Env, index_docs, start};
use connectors_engine::scheduler::{SchedulerConfig, ServedConnector};
use connectors_engine::{Engine, EngineConfig};
use connectors_protocol::{ConfigField, Configuration, JobType, SyncStatus, TriggerMethod};
use connectors_sdk::{
    DataSource, Page, PageRequest, PartitionRequest, SourceDescriptor, SourceDocument, SourceError,
    SourceFeatures, SourceItem, SourceRegistry,
};
use connectors_testkit::pool::{PoolOptions, run_pool};
use serde_json::{Map, Value, json};

/// Documents by group, then key; a value `{"_fail": reason}` fails the page that reaches it.
type Groups = Arc<Mutex<BTreeMap<String, BTreeMap<String, Value>>>>;

/// `service_type: "grouped"`: lists every group in turn, or one group per partition. The
/// cursor is `{"groups": [...], "g": index, "after": key}`; each page's sync cursor counts
/// the documents seen per group, so a partitioned job's cursor must be merged.
struct GroupedSource {
    groups: Groups,
}

impl SourceDescriptor for GroupedSource {
    fn service_type(&self) -> &'static str {
        "grouped"
    }
    fn name(&self) -> &'static str {
        "Grouped test source"
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
        Ok(Box::new(Grouped {
            groups: Arc::clone(&self.groups),
        }))
    }
}

struct Grouped {
    groups: Groups,
}

#[async_trait]
impl DataSource for Grouped {
    async fn ping(&self) -> Result<(), SourceError> {
        Ok(())
    }

    async fn partitions(&self, request: PartitionRequest<'_>) -> Result<Vec<Value>, SourceError> {
        let names: Vec<String> = self.groups.lock().unwrap().keys().cloned().collect();
        let n = request.max.min(names.len());
        let mut parts = vec![Vec::new(); n];
        for (i, name) in names.into_iter().enumerate() {
            parts[i % n].push(name);
        }
        Ok(parts
            .into_iter()
            .map(|groups| json!({"groups": groups, "g": 0}))
            .collect())
    }

    async fn fetch_page(&self, request: PageRequest<'_>) -> Result<Page, SourceError> {
        let all = self.groups.lock().unwrap().clone();
        let cursor = request.cursor.cloned().unwrap_or(json!({}));
        let names: Vec<String> = match cursor.get("groups") {
            Some(g) => serde_json::from_value(g.clone()).unwrap(),
            None => all.keys().cloned().collect(),
        };
        let mut g = cursor["g"].as_u64().unwrap_or(0) as usize;
        let mut after = cursor["after"].as_str().map(str::to_string);
        let mut seen: Map<String, Value> = cursor["seen"].as_object().cloned().unwrap_or_default();
        let mut items = Vec::new();
        while items.len() < request.page_size && g < names.len() {
            let docs = &all[&names[g]];
            let next = docs
                .iter()
                .find(|(k, _)| after.as_ref().is_none_or(|a| *k > a));
            let Some((k, v)) = next else {
                g += 1;
                after = None;
                continue;
            };
            if let Some(reason) = v.get("_fail").and_then(Value::as_str) {
                return Err(SourceError::Other(reason.to_string()));
            }
            let mut fields = v.as_object().cloned().unwrap_or_default();
            fields.insert("_id".into(), json!(k));
            fields.insert("group".into(), json!(names[g]));
            items.push(SourceItem::Upsert(SourceDocument::new(fields)));
            let count = seen.get(&names[g]).and_then(Value::as_u64).unwrap_or(0);
            seen.insert(names[g].clone(), json!(count + 1));
            after = Some(k.clone());
        }
        let done = g >= names.len();
        let sync_cursor = Some(json!({ "seen": seen }));
        Ok(Page {
            items,
            next: (!done).then(|| json!({"groups": names, "g": g, "after": after, "seen": seen})),
            sync_cursor,
        })
    }
}

/// Six groups of different sizes: 1,470 documents.
fn groups() -> Groups {
    let mut m = BTreeMap::new();
    for (g, n) in [
        ("a", 400),
        ("b", 30),
        ("c", 250),
        ("d", 500),
        ("e", 90),
        ("f", 200),
    ] {
        let docs = (0..n)
            .map(|i| {
                (
                    format!("{g}-{i:04}"),
                    json!({"title": format!("Document {g}{i}"), "rank": i,
                           "_timestamp": "2024-01-01T00:00:00+00:00"}),
                )
            })
            .collect();
        m.insert(g.to_string(), docs);
    }
    Arc::new(Mutex::new(m))
}

fn engine(env: &Env, groups: &Groups, max_partitions: usize, lease: Duration) -> Engine {
    let mut registry = SourceRegistry::new();
    registry.register(Box::new(GroupedSource {
        groups: Arc::clone(groups),
    }));
    let config = EngineConfig {
        page_size: 25,
        bulk_max_ops: 20,
        max_partitions,
        lease_ttl: lease,
        checkpoint_interval: Duration::ZERO,
        ..connectors_testkit::fast_engine_config()
    };
    Engine::new(env.es.clone(), Arc::new(registry), config)
}

async fn connector(env: &Env, id: &str, index: &str) -> String {
    let schema = GroupedSource { groups: groups() }.default_configuration();
    connectors_testkit::connector(&env.es, id, index, "grouped", &schema).await;
    // A document no sync writes: the sweep deletes it, once.
    env.es
        .index_document(
            index,
            Some("stale-1"),
            &json!({"title": "gone"}),
            &es_client::WriteOptions::default().refresh(es_client::Refresh::True),
        )
        .await
        .expect("stale document");
    env.es
        .sync_jobs()
        .create(id, JobType::Full, TriggerMethod::OnDemand)
        .await
        .expect("job")
}

fn scheduler_for(connector: &str) -> SchedulerConfig {
    SchedulerConfig {
        connectors: vec![ServedConnector {
            connector_id: connector.to_string(),
            service_type: None,
        }],
        // Resume a job as soon as its partitions stop heartbeating.
        idle_threshold: Duration::from_secs(1),
        redispatch_after: Duration::from_secs(1),
        ..SchedulerConfig::default()
    }
}

/// The job's counts and the connector's sync cursor.
async fn outcome(env: &Env, connector: &str, job: &str) -> (u64, u64, Value) {
    let j = env.es.sync_jobs().get(job).await.unwrap();
    let c = env.es.connectors().get(connector, false).await.unwrap();
    (
        j.indexed_document_count,
        j.deleted_document_count,
        c.sync_cursor.unwrap_or(Value::Null),
    )
}

/// One worker without partitions: the reference run.
async fn baseline(env: &Env, data: &Groups) -> (BTreeMap<String, Value>, (u64, u64, Value)) {
    let job = connector(env, "one", "search-one").await;
    let one = [engine(env, data, 1, Duration::from_secs(5))];
    let report = run_pool(&one, &env.es, &job, None, PoolOptions::default()).await;
    assert_eq!(report.status, SyncStatus::Completed);
    let meta = env
        .es
        .sync_jobs()
        .get(&job)
        .await
        .unwrap()
        .metadata
        .unwrap();
    assert!(meta.get("partitions").is_none(), "an unsplit job");
    (
        index_docs(&env.es, "search-one").await,
        outcome(env, "one", &job).await,
    )
}

#[tokio::test]
async fn four_workers_on_four_partitions_equal_one_worker() {
    connectors_testkit::init_logs();
    let env = start().await;
    let data = groups();
    let (docs, counts) = baseline(&env, &data).await;
    assert_eq!(docs.len(), 1470);
    assert_eq!((counts.0, counts.1), (1470, 1));

    let job = connector(&env, "four", "search-four").await;
    let workers: Vec<Engine> = (0..4)
        .map(|_| engine(&env, &data, 4, Duration::from_secs(5)))
        .collect();
    let options = PoolOptions {
        slice: Duration::from_millis(40),
        ..PoolOptions::default()
    };
    let report = run_pool(&workers, &env.es, &job, None, options).await;
    assert_eq!(report.status, SyncStatus::Completed);
    assert_eq!(index_docs(&env.es, "search-four").await, docs);
    assert_eq!(outcome(&env, "four", &job).await, counts);
    let j = env.es.sync_jobs().get(&job).await.unwrap();
    let meta = j.metadata.unwrap();
    assert_eq!(meta["checkpoint"]["partitions"], json!(4));
    assert_eq!(meta["partitions"].as_object().unwrap().len(), 4);
    assert_eq!(j.total_document_count, 1470);
    let (writes, conflicts) = workers
        .iter()
        .map(|w| w.contention().snapshot())
        .fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    assert!(writes > 0);
    println!(
        "4 partitions: {writes} checkpoint writes, {conflicts} conflicts ({:.0} per 1,000), {} messages",
        conflicts as f64 * 1000.0 / writes as f64,
        report.messages
    );
}

#[tokio::test]
async fn duplicate_deliveries_and_a_dead_worker_change_nothing() {
    let env = start().await;
    let data = groups();
    let (docs, counts) = baseline(&env, &data).await;

    let job = connector(&env, "rough", "search-rough").await;
    // Short leases: the dead worker's partition is taken over a second after it died.
    let workers: Vec<Engine> = (0..3)
        .map(|_| engine(&env, &data, 4, Duration::from_secs(1)))
        .collect();
    let options = PoolOptions {
        slice: Duration::from_millis(40),
        duplicate: true,
        kill_first_partition_after: Some(Duration::from_millis(15)),
        ..PoolOptions::default()
    };
    let report = run_pool(
        &workers,
        &env.es,
        &job,
        Some(scheduler_for("rough")),
        options,
    )
    .await;
    assert_eq!(report.status, SyncStatus::Completed);
    assert!(report.killed, "a worker died mid-partition");
    assert_eq!(index_docs(&env.es, "search-rough").await, docs);
    assert_eq!(outcome(&env, "rough", &job).await, counts);
}

#[tokio::test]
async fn cancelation_stops_every_partition() {
    let env = start().await;
    let data = groups();
    let job = connector(&env, "cancel", "search-cancel").await;
    let workers: Vec<Engine> = (0..2)
        .map(|_| engine(&env, &data, 4, Duration::from_secs(5)))
        .collect();
    let es = env.es.clone();
    let canceler = {
        let job = job.clone();
        tokio::spawn(async move {
            // Once some documents are in, ask for the cancelation as Kibana does.
            loop {
                let j = es.sync_jobs().get(&job).await.unwrap();
                if j.indexed_document_count > 100 {
                    es.sync_jobs().cancel(&job).await.unwrap();
                    return j.indexed_document_count;
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        })
    };
    let options = PoolOptions {
        slice: Duration::from_millis(40),
        ..PoolOptions::default()
    };
    let report = run_pool(&workers, &env.es, &job, None, options).await;
    canceler.await.unwrap();
    assert_eq!(report.status, SyncStatus::Canceled);
    let j = env.es.sync_jobs().get(&job).await.unwrap();
    assert!(j.indexed_document_count < 1470, "stopped before the end");
    let c = env.es.connectors().get("cancel", false).await.unwrap();
    assert_eq!(c.last_sync_status, Some(SyncStatus::Canceled));
    // No worker goes on writing after the cancelation.
    let before = index_docs(&env.es, "search-cancel").await.len();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(index_docs(&env.es, "search-cancel").await.len(), before);
}

#[tokio::test]
async fn a_failing_partition_fails_the_job_and_is_named() {
    let env = start().await;
    let data = groups();
    data.lock()
        .unwrap()
        .get_mut("e")
        .unwrap()
        .insert("e-0050".into(), json!({"_fail": "the share went away"}));
    let job = connector(&env, "fail", "search-fail").await;
    let workers: Vec<Engine> = (0..2)
        .map(|_| engine(&env, &data, 4, Duration::from_secs(5)))
        .collect();
    let report = run_pool(&workers, &env.es, &job, None, PoolOptions::default()).await;
    assert_eq!(report.status, SyncStatus::Error);
    let j = env.es.sync_jobs().get(&job).await.unwrap();
    // Groups go round robin: "e" is the fifth, in partition 1 (of 4), with "a".
    assert_eq!(
        j.error.as_deref(),
        Some("Partition 1 of 4 failed: The source failed: the share went away")
    );
    let c = env.es.connectors().get("fail", false).await.unwrap();
    assert_eq!(c.last_sync_status, Some(SyncStatus::Error));
    assert_eq!(c.last_sync_error, j.error);
}
