//! End-to-end syncs of the database sources through `Engine::run_slice` into es-sim: full syncs
//! with updates and deletions, syncs cut into many slices (each building a new source that
//! resumes mid-table), incremental jobs, advanced rules, and connection errors reported on the
//! connector.

mod common;

use std::collections::BTreeMap;

use common::*;
use connectors_protocol::{ConnectorStatus, JobType, SyncStatus, TriggerMethod};
use connectors_sdk::{SourceDescriptor, SyncMode};
use connectors_sources::mysql::MySqlSource;
use connectors_sources::postgresql::PostgresSource;
use mysql_async::prelude::Queryable;
use serde_json::{Value, json};
use tokio_postgres::NoTls;

/// The index a listing should give: each document with `id`, without `_id` and `_timestamp`.
fn expected_index(listing: &Listing) -> BTreeMap<String, Value> {
    listing
        .docs
        .iter()
        .map(|(id, fields)| {
            let mut f = fields.clone();
            f.remove("_id");
            f.remove("_timestamp");
            f.insert("id".into(), json!(id));
            (id.clone(), Value::Object(f))
        })
        .collect()
}

async fn job(env: &Env, connector: &str, kind: JobType) -> String {
    env.es
        .sync_jobs()
        .create(connector, kind, TriggerMethod::OnDemand)
        .await
        .expect("job")
}

/// The database side of a test: statements to run, and the source to sync it.
#[allow(async_fn_in_trait)]
trait Db {
    fn descriptor(&self) -> &dyn SourceDescriptor;
    fn service_type(&self) -> &'static str;
    fn config(&self, extra: Value) -> connectors_protocol::Configuration;
    async fn exec(&mut self, sql: &str);
    /// Brings the catalog's row estimates up to date.
    async fn analyze(&mut self);
    async fn cleanup(self);
}

struct Pg {
    client: tokio_postgres::Client,
    schema: String,
}

impl Pg {
    async fn new() -> Option<Pg> {
        if !server_up("PostgreSQL", "127.0.0.1:5432").await {
            return None;
        }
        let (client, conn) = tokio_postgres::connect(PG_URL, NoTls)
            .await
            .expect("connect");
        tokio::spawn(conn);
        let schema = unique("srcsync");
        client
            .batch_execute(&format!(
                "CREATE SCHEMA {schema}; SET search_path = {schema}"
            ))
            .await
            .unwrap();
        Some(Pg { client, schema })
    }
}

impl Db for Pg {
    fn descriptor(&self) -> &dyn SourceDescriptor {
        &PostgresSource
    }
    fn service_type(&self) -> &'static str {
        "postgresql"
    }
    fn config(&self, extra: Value) -> connectors_protocol::Configuration {
        // Trust authentication: the (required) password is not checked.
        let mut values = json!({"host": "127.0.0.1", "port": 5432, "username": "postgres",
            "password": "unused", "database": "test", "schema": self.schema, "tables": "*", "retry_count": 0});
        for (k, v) in extra.as_object().unwrap() {
            values[k] = v.clone();
        }
        configuration(&PostgresSource, &values)
    }
    async fn exec(&mut self, sql: &str) {
        self.client
            .batch_execute(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    }
    async fn analyze(&mut self) {
        self.exec("ANALYZE").await;
    }
    async fn cleanup(self) {
        let _ = self
            .client
            .batch_execute(&format!("DROP SCHEMA {} CASCADE", self.schema))
            .await;
    }
}

struct My {
    conn: mysql_async::Conn,
    database: String,
}

impl My {
    async fn new() -> Option<My> {
        if !server_up("MariaDB", "127.0.0.1:3306").await {
            return None;
        }
        let mut conn = mysql_async::Conn::new(
            mysql_async::OptsBuilder::default()
                .ip_or_hostname("127.0.0.1")
                .tcp_port(3306)
                .user(Some("root")),
        )
        .await
        .expect("connect");
        mysql_test_user(&mut conn).await;
        let database = unique("srcsync");
        conn.query_drop(format!("CREATE DATABASE {database}; USE {database}"))
            .await
            .unwrap();
        Some(My { conn, database })
    }
}

impl Db for My {
    fn descriptor(&self) -> &dyn SourceDescriptor {
        &MySqlSource
    }
    fn service_type(&self) -> &'static str {
        "mysql"
    }
    fn config(&self, extra: Value) -> connectors_protocol::Configuration {
        let mut values = json!({"host": "127.0.0.1", "port": 3306, "user": MY_USER,
            "password": MY_PASSWORD, "database": self.database, "tables": "*", "retry_count": 0});
        for (k, v) in extra.as_object().unwrap() {
            values[k] = v.clone();
        }
        configuration(&MySqlSource, &values)
    }
    async fn exec(&mut self, sql: &str) {
        self.conn
            .query_drop(sql)
            .await
            .unwrap_or_else(|e| panic!("{sql}: {e:?}"));
    }
    async fn analyze(&mut self) {
        let tables: Vec<String> = self
            .conn
            .exec(
                "SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_SCHEMA = ?",
                (self.database.as_str(),),
            )
            .await
            .unwrap();
        self.exec(&format!("ANALYZE TABLE {}", tables.join(", ")))
            .await;
    }
    async fn cleanup(mut self) {
        let _ = self
            .conn
            .query_drop(format!("DROP DATABASE {}", self.database))
            .await;
    }
}

/// Tables both databases accept: a composite key, a table without key, 3,000 rows.
const FIXTURE: &str = "
CREATE TABLE people (id int PRIMARY KEY, name varchar(100), note text);
INSERT INTO people (id, name, note) VALUES (1, 'Zoë', NULL), (2, 'Ægir ✓', 'unicode');
CREATE TABLE pairs (k varchar(20), n int, v varchar(50), PRIMARY KEY (k, n));
CREATE TABLE loose (a int, b text);
INSERT INTO loose VALUES (1, 'no key');
";

async fn fill_pairs(db: &mut impl Db, rows: usize) {
    let mut values = Vec::new();
    for i in 0..rows {
        values.push(format!("('k{:03}', {}, 'value {i}')", i % 300, i / 300));
    }
    db.exec(&format!(
        "INSERT INTO pairs (k, n, v) VALUES {};",
        values.join(", ")
    ))
    .await;
}

async fn full_sync_then_changes(mut db: impl Db) {
    db.exec(FIXTURE).await;
    fill_pairs(&mut db, 3000).await;
    let env = start_es().await;
    let config = db.config(json!({}));
    connector(&env, "c1", "search-db", db.service_type(), &config).await;
    let engine = engine(&env, test_config());
    let j = job(&env, "c1", JobType::Full).await;
    assert_eq!(
        run_to_end(&engine, &j, 60_000).await.0,
        SyncStatus::Completed
    );
    let listing = list_all(db.descriptor(), &config, SyncMode::Full, None, 500, false).await;
    assert_eq!(listing.docs.len(), 3002);
    assert_eq!(
        index_docs(&env.es, "search-db").await,
        expected_index(&listing)
    );
    let stats = env.es.sync_jobs().get(&j).await.unwrap();
    assert_eq!(stats.indexed_document_count, 3002);

    db.exec(
        "UPDATE people SET name = 'changed' WHERE id = 1;
         DELETE FROM pairs WHERE n = 3;
         INSERT INTO people (id, name) VALUES (3, 'new');",
    )
    .await;
    let j = job(&env, "c1", JobType::Full).await;
    assert_eq!(
        run_to_end(&engine, &j, 60_000).await.0,
        SyncStatus::Completed
    );
    let listing = list_all(db.descriptor(), &config, SyncMode::Full, None, 500, false).await;
    assert_eq!(listing.docs.len(), 3002 - 300 + 1);
    assert_eq!(
        index_docs(&env.es, "search-db").await,
        expected_index(&listing)
    );
    let stats = env.es.sync_jobs().get(&j).await.unwrap();
    assert_eq!(stats.deleted_document_count, 300);
    db.cleanup().await;
}

#[tokio::test]
async fn postgresql_full_sync_then_updates_and_deletes() {
    if let Some(db) = Pg::new().await {
        full_sync_then_changes(db).await;
    }
}

#[tokio::test]
async fn mysql_full_sync_then_updates_and_deletes() {
    if let Some(db) = My::new().await {
        full_sync_then_changes(db).await;
    }
}

/// A sync cut into many slices (each with a new source resuming from the checkpoint, mid-table)
/// gives the same index as one run.
async fn sliced_sync_equals_one_run(mut db: impl Db) {
    db.exec(FIXTURE).await;
    fill_pairs(&mut db, 3000).await;
    let env = start_es().await;
    let config = db.config(json!({"fetch_size": 70}));
    connector(&env, "whole", "search-whole", db.service_type(), &config).await;
    connector(&env, "sliced", "search-sliced", db.service_type(), &config).await;
    let mut c = test_config();
    c.page_size = 37;
    let engine = engine(&env, c);
    let j = job(&env, "whole", JobType::Full).await;
    assert_eq!(
        run_to_end(&engine, &j, 60_000).await,
        (SyncStatus::Completed, 1)
    );
    let j = job(&env, "sliced", JobType::Full).await;
    // A budget shorter than a page: every slice runs one page and hands over.
    let (status, slices) = run_to_end(&engine, &j, 1).await;
    assert_eq!(status, SyncStatus::Completed);
    assert!(slices > 2, "only {slices} slices");
    let whole = index_docs(&env.es, "search-whole").await;
    assert_eq!(whole.len(), 3002);
    assert_eq!(index_docs(&env.es, "search-sliced").await, whole);
    let stats = env.es.sync_jobs().get(&j).await.unwrap();
    assert_eq!(stats.indexed_document_count, 3002, "each page indexed once");
    db.cleanup().await;
}

#[tokio::test]
async fn postgresql_sliced_sync_equals_one_run() {
    if let Some(db) = Pg::new().await {
        sliced_sync_equals_one_run(db).await;
    }
}

#[tokio::test]
async fn mysql_sliced_sync_equals_one_run() {
    if let Some(db) = My::new().await {
        sliced_sync_equals_one_run(db).await;
    }
}

/// A full sync split by table into 4 partitions, run by 4 workers in slices of 30 ms, gives
/// one worker's index, counts and sync cursor (the partitions' tracking entries merged).
async fn partitioned_sync_equals_one_run(mut db: impl Db) {
    db.exec(FIXTURE).await;
    fill_pairs(&mut db, 3000).await;
    for (table, rows) in [("orders", 1200), ("tags", 400), ("notes", 50)] {
        let values: Vec<String> = (1..=rows)
            .map(|i| format!("({i}, 'row {i} of {table}', {})", i % 7))
            .collect();
        db.exec(&format!(
            "CREATE TABLE {table} (id int PRIMARY KEY, label varchar(60), version int NOT NULL);
             INSERT INTO {table} VALUES {};",
            values.join(", ")
        ))
        .await;
    }
    db.analyze().await;
    let env = start_es().await;
    let config =
        db.config(json!({"fetch_size": 70, "tracking_columns": "orders:version,tags:version"}));
    let mut ids = Vec::new();
    for id in ["one", "four"] {
        connector(
            &env,
            id,
            &format!("search-{id}"),
            db.service_type(),
            &config,
        )
        .await;
        ids.push(job(&env, id, JobType::Full).await);
    }
    let mut c = test_config();
    c.page_size = 37;
    c.lease_ttl = std::time::Duration::from_secs(5);
    let one = [engine(&env, c.clone())];
    let options = connectors_testkit::pool::PoolOptions {
        slice: std::time::Duration::from_millis(30),
        ..Default::default()
    };
    let report =
        connectors_testkit::pool::run_pool(&one, &env.es, &ids[0], None, options.clone()).await;
    assert_eq!(report.status, SyncStatus::Completed);
    c.max_partitions = 4;
    let four: Vec<_> = (0..4).map(|_| engine(&env, c.clone())).collect();
    let report = connectors_testkit::pool::run_pool(&four, &env.es, &ids[1], None, options).await;
    assert_eq!(report.status, SyncStatus::Completed);

    let whole = index_docs(&env.es, "search-one").await;
    assert_eq!(whole.len(), 2 + 3000 + 1200 + 400 + 50);
    assert_eq!(index_docs(&env.es, "search-four").await, whole);
    let (j1, j4) = (
        env.es.sync_jobs().get(&ids[0]).await.unwrap(),
        env.es.sync_jobs().get(&ids[1]).await.unwrap(),
    );
    assert_eq!(
        j4.indexed_document_count,
        whole.len() as u64,
        "each row indexed once"
    );
    assert_eq!(
        (
            j4.indexed_document_count,
            j4.indexed_document_volume,
            j4.total_document_count
        ),
        (
            j1.indexed_document_count,
            j1.indexed_document_volume,
            j1.total_document_count
        )
    );
    let meta = j4.metadata.unwrap();
    assert_eq!(meta["partitions"].as_object().unwrap().len(), 4);
    let (c1, c4) = (
        env.es.connectors().get("one", false).await.unwrap(),
        env.es.connectors().get("four", false).await.unwrap(),
    );
    let cursor = c1.sync_cursor.expect("a sync cursor");
    assert_eq!(cursor["tracking"].as_object().unwrap().len(), 2);
    assert_eq!(c4.sync_cursor, Some(cursor));
    db.cleanup().await;
}

#[tokio::test]
async fn postgresql_partitioned_sync_equals_one_run() {
    if let Some(db) = Pg::new().await {
        partitioned_sync_equals_one_run(db).await;
    }
}

#[tokio::test]
async fn mysql_partitioned_sync_equals_one_run() {
    if let Some(db) = My::new().await {
        partitioned_sync_equals_one_run(db).await;
    }
}

/// Incremental jobs index only changed rows and keep deleted ones; the next full sync removes
/// them.
async fn incremental_jobs(mut db: impl Db, version_type: &str) {
    db.exec(&format!(
        "CREATE TABLE items (id int PRIMARY KEY, name varchar(50), version {version_type} NOT NULL);"
    ))
    .await;
    let rows: Vec<String> = (1..=500)
        .map(|i| format!("({i}, 'item {i}', {})", i % 5))
        .collect();
    db.exec(&format!("INSERT INTO items VALUES {};", rows.join(", ")))
        .await;
    let env = start_es().await;
    let config = db.config(json!({"tracking_columns": "items:version"}));
    connector(&env, "inc", "search-inc", db.service_type(), &config).await;
    let engine = engine(&env, test_config());
    let j = job(&env, "inc", JobType::Full).await;
    assert_eq!(
        run_to_end(&engine, &j, 60_000).await.0,
        SyncStatus::Completed
    );
    let c = env.es.connectors().get("inc", false).await.unwrap();
    let cursor = c
        .sync_cursor
        .clone()
        .expect("the full sync stored a sync cursor");
    assert_eq!(cursor["tracking"]["items"]["column"], json!("version"));

    db.exec(
        "UPDATE items SET name = 'changed', version = 5 WHERE id IN (1, 2);
         INSERT INTO items VALUES (900, 'new', 6);
         DELETE FROM items WHERE id = 3;",
    )
    .await;
    let j = job(&env, "inc", JobType::Incremental).await;
    assert_eq!(
        run_to_end(&engine, &j, 60_000).await.0,
        SyncStatus::Completed
    );
    let stats = env.es.sync_jobs().get(&j).await.unwrap();
    // The 100 rows at the previous highest version (4) are re-read at the boundary, plus 3.
    assert_eq!(stats.indexed_document_count, 103);
    assert_eq!(stats.deleted_document_count, 0);
    let docs = index_docs(&env.es, "search-inc").await;
    assert_eq!(docs.len(), 501, "the deleted row waits for a full sync");
    let names: Vec<&Value> = docs
        .values()
        .filter(|d| d.to_string().contains("changed"))
        .collect();
    assert_eq!(names.len(), 2);
    let c = env.es.connectors().get("inc", false).await.unwrap();
    assert_ne!(c.sync_cursor, Some(cursor));

    let j = job(&env, "inc", JobType::Full).await;
    assert_eq!(
        run_to_end(&engine, &j, 60_000).await.0,
        SyncStatus::Completed
    );
    assert_eq!(index_docs(&env.es, "search-inc").await.len(), 500);
    db.cleanup().await;
}

#[tokio::test]
async fn postgresql_incremental_jobs() {
    if let Some(db) = Pg::new().await {
        incremental_jobs(db, "bigint").await;
    }
}

#[tokio::test]
async fn mysql_incremental_jobs() {
    if let Some(db) = My::new().await {
        incremental_jobs(db, "bigint").await;
    }
}

/// Advanced rules replace the configured tables with custom queries.
async fn advanced_rules_job(mut db: impl Db, query: &str) {
    db.exec(FIXTURE).await;
    fill_pairs(&mut db, 600).await;
    let env = start_es().await;
    let config = db.config(json!({}));
    connector(&env, "adv", "search-adv", db.service_type(), &config).await;
    let rules = json!([{"tables": ["pairs"], "query": query}]);
    activate_advanced_rules(&env, "adv", &rules).await;
    let engine = engine(&env, test_config());
    let j = job(&env, "adv", JobType::Full).await;
    assert_eq!(
        run_to_end(&engine, &j, 60_000).await.0,
        SyncStatus::Completed
    );
    let listing = list_all(
        db.descriptor(),
        &config,
        SyncMode::Full,
        Some(&rules),
        100,
        false,
    )
    .await;
    assert_eq!(listing.docs.len(), 300);
    assert_eq!(
        index_docs(&env.es, "search-adv").await,
        expected_index(&listing)
    );
    db.cleanup().await;
}

#[tokio::test]
async fn postgresql_advanced_rules_job() {
    if let Some(db) = Pg::new().await {
        let query = format!("SELECT * FROM {}.pairs WHERE n < 1", db.schema);
        advanced_rules_job(db, &query).await;
    }
}

#[tokio::test]
async fn mysql_advanced_rules_job() {
    if let Some(db) = My::new().await {
        advanced_rules_job(db, "SELECT * FROM pairs WHERE n < 1").await;
    }
}

/// A wrong database ends the job in error, and the connector's error says which.
async fn errors_reach_the_connector(db: impl Db, expected: &str) {
    let env = start_es().await;
    let config = db.config(json!({"database": "no_such_db_xyz"}));
    connector(&env, "bad", "search-bad", db.service_type(), &config).await;
    let engine = engine(&env, test_config());
    let j = job(&env, "bad", JobType::Full).await;
    assert_eq!(run_to_end(&engine, &j, 60_000).await.0, SyncStatus::Error);
    let c = env.es.connectors().get("bad", false).await.unwrap();
    assert_eq!(c.status, ConnectorStatus::Error);
    let error = c.error.unwrap_or_default();
    assert!(error.contains(expected), "{error}");
    db.cleanup().await;
}

#[tokio::test]
async fn postgresql_errors_reach_the_connector() {
    if let Some(db) = Pg::new().await {
        errors_reach_the_connector(db, "Database 'no_such_db_xyz' does not exist").await;
    }
}

#[tokio::test]
async fn mysql_errors_reach_the_connector() {
    if let Some(db) = My::new().await {
        errors_reach_the_connector(
            db,
            "The database 'no_such_db_xyz' is either not present or not accessible",
        )
        .await;
    }
}

/// After a full sync, a misspelled table name fails the next job in validation, naming the
/// table, and the index keeps every document.
async fn a_table_typo_deletes_nothing(mut db: impl Db) {
    db.exec(FIXTURE).await;
    fill_pairs(&mut db, 600).await;
    let env = start_es().await;
    let config = db.config(json!({"tables": "people,pairs"}));
    connector(&env, "typo", "search-typo", db.service_type(), &config).await;
    let engine = engine(&env, test_config());
    let j = job(&env, "typo", JobType::Full).await;
    assert_eq!(
        run_to_end(&engine, &j, 60_000).await.0,
        SyncStatus::Completed
    );
    assert_eq!(index_docs(&env.es, "search-typo").await.len(), 602);

    let typo = db.config(json!({"tables": "people,pairz"}));
    env.es
        .connectors()
        .update_configuration("typo", &es_client::ConfigurationUpdate::Schema(typo))
        .await
        .unwrap();
    let j = job(&env, "typo", JobType::Full).await;
    assert_eq!(run_to_end(&engine, &j, 60_000).await.0, SyncStatus::Error);
    let stats = env.es.sync_jobs().get(&j).await.unwrap();
    let error = stats.error.unwrap_or_default();
    assert!(
        error.contains("The tables 'pairz' are either not present or not accessible"),
        "{error}"
    );
    assert_eq!(stats.deleted_document_count, 0);
    assert_eq!(index_docs(&env.es, "search-typo").await.len(), 602);
    db.cleanup().await;
}

#[tokio::test]
async fn postgresql_table_typo_deletes_nothing() {
    if let Some(db) = Pg::new().await {
        a_table_typo_deletes_nothing(db).await;
    }
}

#[tokio::test]
async fn mysql_table_typo_deletes_nothing() {
    if let Some(db) = My::new().await {
        a_table_typo_deletes_nothing(db).await;
    }
}
