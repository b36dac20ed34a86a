//! The conformance kit (`connectors_testkit::conformance`) run for the sources whose servers
//! run on this machine: `dir` (a temporary folder), `postgresql` and `mysql` (the local
//! servers, each in its own schema or database). Every source added later adopts it too.

mod common;

use common::{MY_PASSWORD, MY_USER, PG_URL, mysql_test_user, server_up, unique};
use connectors_sdk::{SourceDescriptor, hash_id};
use connectors_sources::dir::DirectorySource;
use connectors_sources::mysql::MySqlSource;
use connectors_sources::postgresql::PostgresSource;
use connectors_testkit::conformance::{Subject, check};
use mysql_async::prelude::Queryable;
use serde_json::{Map, Value, json};

fn fields(pairs: &[(&str, Value)]) -> Map<String, Value> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

fn name(i: usize, version: u32) -> String {
    if version == 0 {
        format!("item {i}")
    } else {
        format!("item {i}, changed")
    }
}

struct Dir {
    root: tempfile::TempDir,
}

impl Dir {
    fn path(&self, i: usize) -> std::path::PathBuf {
        self.root.path().join(format!("item-{i:02}.txt"))
    }
}

impl Subject for Dir {
    fn descriptor(&self) -> Box<dyn SourceDescriptor> {
        Box::new(DirectorySource::default())
    }
    fn values(&self) -> Value {
        json!({"directory": self.root.path().display().to_string(), "pattern": "**/*.txt"})
    }
    async fn seed(&mut self, n: usize) {
        for e in std::fs::read_dir(self.root.path()).unwrap() {
            std::fs::remove_file(e.unwrap().path()).unwrap();
        }
        for i in 0..n {
            self.insert(i).await;
        }
    }
    async fn update(&mut self, i: usize) {
        std::fs::write(self.path(i), name(i, 1)).unwrap();
    }
    async fn delete(&mut self, i: usize) {
        std::fs::remove_file(self.path(i)).unwrap();
    }
    async fn insert(&mut self, i: usize) {
        std::fs::write(self.path(i), name(i, 0)).unwrap();
    }
    fn id(&self, i: usize) -> String {
        hash_id(&self.path(i).display().to_string())
    }
    fn expected(&self, i: usize, version: u32) -> Map<String, Value> {
        fields(&[
            ("path", json!(self.path(i).display().to_string())),
            ("size", json!(name(i, version).len())),
        ])
    }
    fn rule_field(&self, i: usize) -> (String, String) {
        ("path".into(), self.path(i).display().to_string())
    }
    fn required_field(&self) -> &'static str {
        "directory"
    }
}

#[tokio::test]
async fn dir_conforms() {
    let mut subject = Dir {
        root: tempfile::tempdir().unwrap(),
    };
    check(&mut subject).await;
}

/// A table `items (id, name, version)` in a schema of its own; incremental syncs track
/// `version`.
struct Pg {
    client: tokio_postgres::Client,
    schema: String,
}

const PG_SECRET: &str = "pg-conformance-secret-7731";

impl Subject for Pg {
    fn descriptor(&self) -> Box<dyn SourceDescriptor> {
        Box::new(PostgresSource)
    }
    fn values(&self) -> Value {
        // Trust authentication: the (required) password is not checked, but it is a secret.
        json!({"host": "127.0.0.1", "port": 5432, "username": "postgres", "password": PG_SECRET,
            "database": "test", "schema": self.schema, "tables": "*", "retry_count": 0,
            "tracking_columns": "items:version"})
    }
    async fn seed(&mut self, n: usize) {
        let rows: Vec<String> = (0..n)
            .map(|i| format!("({i}, '{}', {i})", name(i, 0)))
            .collect();
        let insert = if rows.is_empty() {
            String::new()
        } else {
            format!("INSERT INTO items VALUES {};", rows.join(", "))
        };
        self.client
            .batch_execute(&format!("DELETE FROM items; {insert}"))
            .await
            .unwrap();
    }
    async fn update(&mut self, i: usize) {
        let sql = format!(
            "UPDATE items SET name = '{}', version = 1000 WHERE id = {i}",
            name(i, 1)
        );
        self.client.batch_execute(&sql).await.unwrap();
    }
    async fn delete(&mut self, i: usize) {
        let sql = format!("DELETE FROM items WHERE id = {i}");
        self.client.batch_execute(&sql).await.unwrap();
    }
    async fn insert(&mut self, i: usize) {
        let sql = format!("INSERT INTO items VALUES ({i}, '{}', 2000)", name(i, 0));
        self.client.batch_execute(&sql).await.unwrap();
    }
    fn id(&self, i: usize) -> String {
        format!("test_{}_items_{i}", self.schema)
    }
    fn expected(&self, i: usize, version: u32) -> Map<String, Value> {
        fields(&[(
            &format!("{}_items_name", self.schema),
            json!(name(i, version)),
        )])
    }
    fn rule_field(&self, i: usize) -> (String, String) {
        (format!("{}_items_name", self.schema), name(i, 0))
    }
    fn required_field(&self) -> &'static str {
        "host"
    }
    fn secret(&self) -> Option<String> {
        Some(PG_SECRET.into())
    }
    fn incremental_deletes(&self) -> bool {
        false
    }
}

#[tokio::test]
async fn postgresql_conforms() {
    if !server_up("PostgreSQL", "127.0.0.1:5432").await {
        return;
    }
    let (client, conn) = tokio_postgres::connect(PG_URL, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(conn);
    let schema = unique("conform");
    client
        .batch_execute(&format!(
            "CREATE SCHEMA {schema}; CREATE TABLE {schema}.items (id int PRIMARY KEY, name text, version bigint NOT NULL);
             SET search_path = {schema}"
        ))
        .await
        .unwrap();
    let mut subject = Pg { client, schema };
    check(&mut subject).await;
    let _ = subject
        .client
        .batch_execute(&format!("DROP SCHEMA {} CASCADE", subject.schema))
        .await;
}

/// The same table in a MariaDB database of its own, read as the test user.
struct My {
    conn: mysql_async::Conn,
    database: String,
}

impl Subject for My {
    fn descriptor(&self) -> Box<dyn SourceDescriptor> {
        Box::new(MySqlSource)
    }
    fn values(&self) -> Value {
        json!({"host": "127.0.0.1", "port": 3306, "user": MY_USER, "password": MY_PASSWORD,
            "database": self.database, "tables": "*", "retry_count": 0,
            "tracking_columns": "items:version"})
    }
    async fn seed(&mut self, n: usize) {
        self.conn.query_drop("DELETE FROM items").await.unwrap();
        for i in 0..n {
            let sql = format!("INSERT INTO items VALUES ({i}, '{}', {i})", name(i, 0));
            self.conn.query_drop(sql).await.unwrap();
        }
    }
    async fn update(&mut self, i: usize) {
        let sql = format!(
            "UPDATE items SET name = '{}', version = 1000 WHERE id = {i}",
            name(i, 1)
        );
        self.conn.query_drop(sql).await.unwrap();
    }
    async fn delete(&mut self, i: usize) {
        let sql = format!("DELETE FROM items WHERE id = {i}");
        self.conn.query_drop(sql).await.unwrap();
    }
    async fn insert(&mut self, i: usize) {
        let sql = format!("INSERT INTO items VALUES ({i}, '{}', 2000)", name(i, 0));
        self.conn.query_drop(sql).await.unwrap();
    }
    fn id(&self, i: usize) -> String {
        format!("items_{i}")
    }
    fn expected(&self, i: usize, version: u32) -> Map<String, Value> {
        fields(&[("name", json!(name(i, version)))])
    }
    fn rule_field(&self, i: usize) -> (String, String) {
        ("name".into(), name(i, 0))
    }
    fn required_field(&self) -> &'static str {
        "host"
    }
    fn secret(&self) -> Option<String> {
        Some(MY_PASSWORD.into())
    }
    fn incremental_deletes(&self) -> bool {
        false
    }
}

#[tokio::test]
async fn mysql_conforms() {
    if !server_up("MariaDB", "127.0.0.1:3306").await {
        return;
    }
    let mut conn = mysql_async::Conn::new(
        mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(3306)
            .user(Some("root")),
    )
    .await
    .unwrap();
    mysql_test_user(&mut conn).await;
    let database = unique("conform");
    conn.query_drop(format!(
        "CREATE DATABASE {database}; USE {database}; CREATE TABLE items (id int PRIMARY KEY, name varchar(50), version bigint NOT NULL)"
    ))
    .await
    .unwrap();
    let mut subject = My { conn, database };
    check(&mut subject).await;
    let _ = subject
        .conn
        .query_drop(format!("DROP DATABASE {}", subject.database))
        .await;
}

/// Customising without forking: the `dir` source wrapped to add a field and drop documents, with
/// another default pattern, served under its own service type beside the original.
#[tokio::test]
async fn a_customized_source_adds_fields_and_drops_documents() {
    use connectors_protocol::{JobType, SyncStatus, TriggerMethod};
    use connectors_sdk::SourceRegistry;
    use connectors_sdk::customize::Customized;
    use connectors_testkit::{EsEnv, configuration, connector, index_docs, run_to_end};

    let mut dir = Dir {
        root: tempfile::tempdir().unwrap(),
    };
    dir.seed(4).await;
    std::fs::write(dir.root.path().join("draft.tmp.txt"), "scratch").unwrap();
    let custom = Customized::new(Box::new(DirectorySource::default()))
        .service_type("finance_files")
        .name("Finance files")
        .default_value("pattern", json!("**/item-*.txt"))
        .map_documents(|mut doc| {
            let path = doc.get("path")?.as_str()?.to_string();
            if path.ends_with(".tmp.txt") {
                return None;
            }
            doc.insert("department".into(), json!("finance"));
            Some(doc)
        });
    assert_eq!(
        custom.default_configuration()["pattern"].value,
        json!("**/item-*.txt")
    );
    let mut registry = connectors_sources::registry();
    registry.register(Box::new(custom));
    assert!(registry.get("dir").is_some() && registry.get("finance_files").is_some());
    let registry: SourceRegistry = registry;
    let env = EsEnv::start().await;
    let config = configuration(
        registry.get("finance_files").unwrap(),
        &json!({"directory": dir.root.path().display().to_string(), "pattern": "**/*.txt"}),
    );
    connector(&env.es, "fin", "search-fin", "finance_files", &config).await;
    let engine = connectors_engine::Engine::new(
        env.es.clone(),
        std::sync::Arc::new(registry),
        connectors_testkit::fast_engine_config(),
    );
    let job = env
        .es
        .sync_jobs()
        .create("fin", JobType::Full, TriggerMethod::OnDemand)
        .await
        .unwrap();
    assert_eq!(run_to_end(&engine, &job, 1).await.0, SyncStatus::Completed);
    let docs = index_docs(&env.es, "search-fin").await;
    assert_eq!(docs.len(), 4, "the .tmp file is dropped");
    for i in 0..4 {
        let doc = &docs[&dir.id(i)];
        assert_eq!(doc["department"], json!("finance"));
        assert_eq!(doc["id"], json!(dir.id(i)));
    }
}
