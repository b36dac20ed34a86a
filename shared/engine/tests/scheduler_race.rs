//! Several schedulers at once (two Lambda invocations overlapping, a local service beside the
//! Lambda): separate `Scheduler` instances over one es-sim run whole passes concurrently, for
//! several passes, over 50 connectors whose schedules come due round after round. Exactly one
//! job is created per connector and due run, and each new job is queued exactly once.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use chrono::{Timelike, Utc};
use common::*;
use connectors_engine::queue::MemoryQueue;
use connectors_engine::scheduler::{Scheduler, SchedulerConfig, TickReport};
use connectors_protocol::{
    JobType, SYNC_JOBS_INDEX, ScheduleEntry, Scheduling, SyncJob, Timestamp, TriggerMethod,
};
use es_client::{LastSyncUpdate, SearchParams};
use serde_json::{Value, json};

const CONNECTORS: usize = 50;
const SCHEDULERS: usize = 3;
const ROUNDS: usize = 4;
const PASSES_PER_ROUND: usize = 2;

fn id(i: usize) -> String {
    format!("race-{i:02}")
}

/// A daily full sync at an hour about 12 hours away: whatever the test sets as the last run,
/// one run is due, and the next one is far off.
fn daily_schedule() -> Scheduling {
    let hour = (Utc::now() + chrono::Duration::hours(12)).hour();
    Scheduling {
        full: Some(ScheduleEntry {
            enabled: true,
            interval: format!("0 0 {hour} * * ?"),
            extra: Default::default(),
        }),
        ..Default::default()
    }
}

/// Every sync job, by connector.
async fn jobs(env: &Env) -> BTreeMap<String, Vec<SyncJob>> {
    let body = json!({"size": 1000, "query": {"match_all": {}}});
    let page = env
        .es
        .search::<Value>(
            SYNC_JOBS_INDEX,
            &body,
            &SearchParams::default().expand_wildcards("hidden"),
        )
        .await
        .unwrap();
    let mut out: BTreeMap<String, Vec<SyncJob>> = BTreeMap::new();
    for hit in page.hits.hits {
        let mut source = hit.source.unwrap();
        source["id"] = json!(hit.id);
        let job: SyncJob = serde_json::from_value(source).unwrap();
        out.entry(job.connector.id.clone()).or_default().push(job);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_schedulers_create_one_job_per_due_run_and_queue_it_once() {
    let env = start().await;
    let data = data(1);
    let scheduling = daily_schedule();
    for i in 0..CONNECTORS {
        connector(&env, &id(i), &format!("search-{}", id(i))).await;
        env.es
            .connectors()
            .update_scheduling(&id(i), &scheduling)
            .await
            .unwrap();
    }
    let queue = Arc::new(MemoryQueue::new());
    let schedulers: Vec<Arc<Scheduler>> = (0..SCHEDULERS)
        .map(|_| {
            Arc::new(Scheduler::new(
                engine(&env, &data, test_config()),
                queue.clone(),
                SchedulerConfig {
                    service_types: vec!["memory".into()],
                    // Small pages: several pages and bulk requests per pass.
                    page_size: 7,
                    redispatch_after: Duration::from_secs(3600),
                    ..SchedulerConfig::default()
                },
            ))
        })
        .collect();
    let mut queued: BTreeSet<String> = BTreeSet::new();
    for round in 0..ROUNDS {
        // A run came due for every connector (as if a day had passed since the last one).
        let last = Timestamp(Utc::now() - chrono::Duration::days(2 + round as i64));
        for i in 0..CONNECTORS {
            let update = LastSyncUpdate {
                last_sync_scheduled_at: Some(last),
                ..Default::default()
            };
            env.es
                .connectors()
                .update_last_sync(&id(i), &update)
                .await
                .unwrap();
        }
        let mut reports: Vec<TickReport> = Vec::new();
        for _ in 0..PASSES_PER_ROUND {
            let passes: Vec<_> = schedulers
                .iter()
                .map(|s| {
                    let s = Arc::clone(s);
                    tokio::spawn(async move { s.tick().await })
                })
                .collect();
            for pass in passes {
                reports.push(pass.await.unwrap().unwrap());
            }
        }
        for r in &reports {
            assert!(r.errors.is_empty(), "round {round}: {:?}", r.errors);
            assert_eq!(r.connectors, CONNECTORS);
        }
        let scheduled: usize = reports.iter().map(|r| r.scheduled).sum();
        let dispatched: usize = reports.iter().map(|r| r.dispatched).sum();
        assert_eq!(scheduled, CONNECTORS, "round {round}: {reports:?}");
        assert_eq!(dispatched, CONNECTORS, "round {round}: {reports:?}");

        // One job per connector and due run, all scheduled full syncs.
        let all = jobs(&env).await;
        assert_eq!(all.len(), CONNECTORS);
        let mut new_jobs = BTreeSet::new();
        for (connector, list) in &all {
            assert_eq!(list.len(), round + 1, "round {round}: {connector}");
            for job in list {
                assert_eq!(job.trigger_method, TriggerMethod::Scheduled);
                assert_eq!(job.job_type, JobType::Full);
                let job_id = job.id.clone().unwrap();
                if !queued.contains(&job_id) {
                    new_jobs.insert(job_id);
                }
            }
        }
        assert_eq!(new_jobs.len(), CONNECTORS, "round {round}");

        // Each new job queued exactly once, and nothing else.
        let mut messages = Vec::new();
        while let Some(m) = queue.recv(Duration::ZERO).await {
            messages.push(m.job_id);
        }
        let distinct: BTreeSet<String> = messages.iter().cloned().collect();
        assert_eq!(
            distinct.len(),
            messages.len(),
            "round {round}: a job queued twice"
        );
        assert_eq!(distinct, new_jobs, "round {round}");
        queued.extend(distinct);

        // Every connector records the run it was scheduled for.
        for i in 0..CONNECTORS {
            let c = env.es.connectors().get(&id(i), false).await.unwrap();
            let at = c.last_sync_scheduled_at.expect("scheduled");
            assert!(at.0 > last.0 && at.0 <= Utc::now(), "{}", id(i));
        }
    }
}
