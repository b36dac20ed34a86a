//! Secrets never reach the logs: a `connectors sync` of a PostgreSQL connector with a password
//! and an Elasticsearch API key, logging at `trace`, prints neither (nor their base64 forms).

use base64::Engine as _;
use connectors_protocol::SyncStatus;
use connectors_tests::*;
use serde_json::json;

const DB_PASSWORD: &str = "pw-Zq8vX2-never-logged";
const API_KEY: &str = "apikey-Kx93-never-logged";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_secret_in_trace_logs() {
    let Ok((client, conn)) = tokio_postgres::connect(
        "host=127.0.0.1 user=postgres dbname=test",
        tokio_postgres::NoTls,
    )
    .await
    else {
        eprintln!("PostgreSQL is not running here: skipped");
        return;
    };
    tokio::spawn(conn);
    client
        .batch_execute(
            "DROP SCHEMA IF EXISTS secrets_t CASCADE; CREATE SCHEMA secrets_t;
             CREATE TABLE secrets_t.items (id int PRIMARY KEY, name text);
             INSERT INTO secrets_t.items VALUES (1, 'one'), (2, 'two');",
        )
        .await
        .unwrap();
    let sim = start_sim().await;
    sim.create_connector("sec", "search-sec", "postgresql")
        .await;
    let env = [("CONNECTOR_IDS", "sec")];
    let (ok, _, err) = sim.run(&["tick"], &env).await;
    assert!(ok, "{err}");
    sim.set_values(
        "sec",
        json!({"host": "127.0.0.1", "port": 5432, "username": "postgres",
               "password": DB_PASSWORD, "database": "test", "schema": "secrets_t",
               "tables": "items"}),
    )
    .await;
    let trace = [("RUST_LOG", "trace"), ("ES_API_KEY", API_KEY)];
    let (ok, out, err) = sim.run(&["sync", "--connector", "sec"], &trace).await;
    let job = sim
        .es
        .sync_jobs()
        .list(&es_client::SyncJobListParams {
            connector_id: Some("sec".into()),
            ..Default::default()
        })
        .await
        .unwrap()
        .results;
    assert!(ok, "{out}\n{err}");
    assert_eq!(job[0].status, SyncStatus::Completed);
    assert!(err.lines().count() > 20, "trace logging was on");
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    for secret in [
        DB_PASSWORD.to_string(),
        API_KEY.to_string(),
        b64(DB_PASSWORD),
        b64(API_KEY),
    ] {
        assert!(!out.contains(&secret), "stdout shows a secret");
        assert!(!err.contains(&secret), "the logs show a secret");
    }
    let _ = client.batch_execute("DROP SCHEMA secrets_t CASCADE").await;
}
