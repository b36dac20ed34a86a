//! The slice-interruption property: a sync cut at random points (between pages, inside a bulk
//! flush, during the deletion phase) and resumed by a fresh worker ends with exactly the index,
//! counts and job status of an uninterrupted run. Seeds: `INTERRUPTION_SEEDS` (default 12).

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::*;
use connectors_engine::{Budget, SliceOutcome};
use connectors_protocol::{JobType, SyncStatus, TriggerMethod};
use es_client::BulkOptions;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

const DOCS: usize = 260;
const STALE: usize = 25;

/// Puts documents a previous sync left behind, which this sync must delete.
async fn seed_stale(env: &Env, index: &str) {
    let mut w = env.es.bulk_writer::<()>(BulkOptions::default());
    for i in 0..STALE {
        w.push_index(
            index,
            Some(&format!("stale-{i}")),
            &json!({"title": "old"}),
            (),
        )
        .unwrap();
    }
    // Also an old copy of a live document, which must be replaced.
    w.push_index(index, Some("doc-00003"), &json!({"title": "old copy"}), ())
        .unwrap();
    let report = w.flush().await;
    assert_eq!(report.failure_count(), 0);
}

struct Outcome {
    docs: BTreeMap<String, Value>,
    counts: (u64, u64, u64),
    status: SyncStatus,
}

async fn outcome(env: &Env, index: &str, job: &str) -> Outcome {
    let j = env.es.sync_jobs().get(job).await.unwrap();
    Outcome {
        docs: index_docs(&env.es, index).await,
        counts: (
            j.indexed_document_count,
            j.deleted_document_count,
            j.total_document_count,
        ),
        status: j.status,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interrupted_syncs_end_exactly_like_uninterrupted_ones() {
    let env = start().await;
    let data = data(DOCS);
    let mut config = test_config();
    config.page_size = 20;
    config.bulk_max_ops = 15;

    // The reference run.
    connector(&env, "base", "search-base").await;
    seed_stale(&env, "search-base").await;
    let base = engine(&env, &data, config.clone());
    let job = env
        .es
        .sync_jobs()
        .create("base", JobType::Full, TriggerMethod::OnDemand)
        .await
        .unwrap();
    let r = base
        .run_slice(
            &job,
            Some(0),
            Budget::for_duration(Duration::from_secs(120)),
        )
        .await
        .unwrap();
    assert_eq!(r, SliceOutcome::Finished(SyncStatus::Completed));
    let expected = outcome(&env, "search-base", &job).await;
    assert_eq!(expected.counts, (DOCS as u64, STALE as u64, DOCS as u64));

    let seeds: u64 = std::env::var("INTERRUPTION_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(12);
    for seed in 0..seeds {
        let mut rng = StdRng::seed_from_u64(seed);
        let id = format!("p{seed}");
        let index = format!("search-p{seed}");
        connector(&env, &id, &index).await;
        seed_stale(&env, &index).await;
        let job = env
            .es
            .sync_jobs()
            .create(&id, JobType::Full, TriggerMethod::OnDemand)
            .await
            .unwrap();
        let mut slice = Some(0);
        let mut crashes = 0;
        let mut rounds = 0;
        let status = loop {
            rounds += 1;
            assert!(rounds < 2_000, "seed {seed}: no progress");
            // Latency widens the windows in which a cut lands inside a bulk request.
            env.sim
                .faults()
                .set_latency(Duration::from_micros(rng.random_range(0..3000)));
            // Every attempt is a new process: a new engine, so a new lease owner.
            // Checkpoints from every page to every 30 ms, one to five requests in flight.
            let mut attempt = config.clone();
            attempt.checkpoint_interval = Duration::from_millis(rng.random_range(0..30));
            attempt.bulk_max_concurrency = rng.random_range(1..=5);
            let worker = engine(&env, &data, attempt);
            let budget_ms = rng.random_range(1..80);
            let budget = Budget::for_duration(Duration::from_millis(budget_ms));
            let cut_after = Duration::from_millis(rng.random_range(0..120));
            let run = worker.run_slice(&job, slice, budget);
            let result = tokio::select! {
                r = run => Some(r),
                _ = tokio::time::sleep(cut_after), if rng.random_bool(0.6) => None,
            };
            match result {
                None => {
                    // Crashed: the message comes back after the lease (deadline + grace 0) ran out.
                    crashes += 1;
                    tokio::time::sleep(Duration::from_millis(budget_ms + 5)).await;
                }
                Some(Ok(SliceOutcome::Finished(s))) => break s,
                Some(Ok(SliceOutcome::Continue { next_slice })) => slice = Some(next_slice),
                Some(Ok(SliceOutcome::Spread(m))) => panic!("unsplit job handed out {m:?}"),
                Some(Ok(SliceOutcome::Busy(_))) => {
                    tokio::time::sleep(Duration::from_millis(5)).await
                }
                Some(Ok(SliceOutcome::Stale(why))) => {
                    // A cut after the checkpoint moved to the next slice but before the
                    // continuation was sent: the redelivered message is stale, and the job is
                    // picked up again from its checkpoint, as the scheduler's dispatch does.
                    let j = env.es.sync_jobs().get(&job).await.unwrap();
                    if j.status.is_terminal() {
                        // Cut after the job was finished but before the answer came back.
                        break j.status;
                    }
                    let cp = connectors_engine::checkpoint::Checkpoint::from_metadata(
                        j.metadata.as_ref(),
                    )
                    .expect("a running job has a checkpoint");
                    assert!(slice.is_some_and(|s| s < cp.slice), "seed {seed}: {why}");
                    slice = Some(cp.slice);
                }
                Some(Err(e)) => panic!("seed {seed}: {e}"),
            }
        };
        env.sim.faults().clear();
        let got = outcome(&env, &index, &job).await;
        assert_eq!(status, SyncStatus::Completed, "seed {seed}");
        assert_eq!(got.status, expected.status, "seed {seed}");
        assert_eq!(
            got.counts, expected.counts,
            "seed {seed} ({crashes} crashes)"
        );
        assert_eq!(got.docs.len(), expected.docs.len(), "seed {seed}");
        for (id, doc) in &expected.docs {
            let mine = &got.docs[id];
            let strip = |d: &Value| {
                let mut d = d.clone();
                d.as_object_mut().unwrap().remove("_timestamp");
                d
            };
            assert_eq!(strip(mine), strip(doc), "seed {seed}, document {id}");
        }
        let c = env.es.connectors().get(&id, false).await.unwrap();
        assert_eq!(
            c.last_sync_status,
            Some(SyncStatus::Completed),
            "seed {seed}"
        );
        eprintln!("seed {seed}: {crashes} crashes, {rounds} attempts");
    }
}
