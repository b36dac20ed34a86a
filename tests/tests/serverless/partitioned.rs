//! A partitioned job through the Lambda functions: a PostgreSQL connector whose full sync the
//! worker splits by table (`CONNECTORS_MAX_PARTITIONS_PER_JOB`, the template's
//! `MaxPartitionsPerJob`), its partitions' messages on the SQS queue, several records in a
//! batch, and one worker's index and counts at the end.

use std::time::Duration;

use connectors_protocol::ConnectorStatus;
use connectors_testkit::{server_up, unique};
use serde_json::{Value, json};

use super::local_aws::depth;
use super::{schedule_event, stack};

/// Runs `sql` on the local PostgreSQL's `test` database; `false` when psql is not there.
fn psql(sql: &str) -> bool {
    std::process::Command::new("psql")
        .args([
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "test",
            "-q",
            "-v",
        ])
        .arg("ON_ERROR_STOP=1")
        .arg("-c")
        .arg(sql)
        .status()
        .is_ok_and(|s| s.success())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_sync_split_by_table_runs_as_partition_messages() {
    if !server_up("PostgreSQL", "127.0.0.1:5432").await {
        return;
    }
    let Some(s) = stack(Duration::from_secs(30), 5, 0).await else {
        return;
    };
    let schema = unique("lambda_split");
    let mut sql = format!("CREATE SCHEMA {schema};");
    for (table, rows) in [("alpha", 120), ("beta", 60), ("gamma", 90)] {
        sql.push_str(&format!(
            "CREATE TABLE {schema}.{table} (id int PRIMARY KEY, label text);
             INSERT INTO {schema}.{table} SELECT i, '{table} ' || i FROM generate_series(1, {rows}) AS i;
             ANALYZE {schema}.{table};"
        ));
    }
    assert!(psql(&sql), "could not create the tables");
    s.sim.sim.faults().set_latency(Duration::from_millis(5));
    let split = [("CONNECTORS_MAX_PARTITIONS_PER_JOB", "4")];
    let scheduler = s.container("split", &split);
    let worker = s.container("split", &split);
    s.sim
        .create_connector("split", "search-split", "postgresql")
        .await;
    lambda_scheduler::handle(&scheduler, schedule_event())
        .await
        .expect("first pass");
    s.sim
        .set_values(
            "split",
            json!({"host": "127.0.0.1", "port": 5432, "username": "postgres",
                   "password": "unused", "database": "test", "schema": schema,
                   "tables": "*"}),
        )
        .await;
    lambda_scheduler::handle(&scheduler, schedule_event())
        .await
        .expect("second pass");
    let c = s.sim.es.connectors().get("split", false).await.unwrap();
    assert_eq!(c.status, ConnectorStatus::Connected, "{:?}", c.error);
    let job = s.on_demand_job(&scheduler, "split").await;
    let mut esm = s.esm();
    esm.batch_size = 3;
    let (done, polls) = s
        .run_job(&esm, &worker, &job, Duration::from_secs(120))
        .await;
    s.assert_exact(&done, "search-split", 270).await;
    let metadata = Value::Object(done.metadata.clone().unwrap_or_default());
    assert_eq!(metadata["checkpoint"]["partitions"], json!(3));
    // The partitions went through the queue as messages of their own.
    let mut partitions: Vec<u64> = polls
        .iter()
        .flat_map(|p| p.records.iter())
        .filter_map(|(body, _)| serde_json::from_str::<Value>(body).ok())
        .filter_map(|v| v["partition"].as_u64())
        .collect();
    partitions.sort_unstable();
    partitions.dedup();
    assert_eq!(partitions, [0, 1, 2]);
    assert!(polls.iter().all(|p| p.failed == 0));
    assert_eq!(depth(&s.sqs, &s.queues.url).await, 0);
    psql(&format!(
        "SET client_min_messages = warning; DROP SCHEMA {schema} CASCADE"
    ));
}
