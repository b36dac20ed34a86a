//! The `redis` source against the local Redis (127.0.0.1:6379; these tests own databases 12 and
//! 13): a full sync through the engine compared key by key with the reference's documents, `*`,
//! advanced rules, a listing resumed by a new source after every page, the reference's
//! validation messages, and connection errors on the connector.

use std::collections::BTreeMap;
use std::sync::Arc;

use connectors_engine::{Engine, EngineConfig};
use connectors_protocol::{JobType, SyncStatus, TriggerMethod};
use connectors_sdk::{DataSource, SourceDescriptor, SyncMode, hash_id};
use connectors_sources::redis::RedisSource;
use connectors_testkit::{
    EsEnv, configuration, connector, index_docs, list_all, run_to_end, server_up,
};
use serde_json::{Value, json};

/// The tests that fill databases 12 and 13 take turns.
static FIXTURE: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn redis_db(db: i64) -> redis::aio::MultiplexedConnection {
    redis::Client::open(format!("redis://127.0.0.1:6379/{db}"))
        .unwrap()
        .get_multiplexed_async_connection()
        .await
        .unwrap()
}

async fn exec(con: &mut redis::aio::MultiplexedConnection, args: &[&str]) {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    let _: redis::Value = cmd.query_async(con).await.unwrap();
}

/// Fills databases 12 and 13 (emptied first); returns each key's expected `(value, key_type)`
/// by `db/key`.
async fn fixture() -> BTreeMap<String, (String, String)> {
    let mut expected = BTreeMap::new();
    let mut c12 = redis_db(12).await;
    let mut c13 = redis_db(13).await;
    exec(&mut c12, &["FLUSHDB"]).await;
    exec(&mut c13, &["FLUSHDB"]).await;
    for (args, key, value, kind) in [
        (
            vec!["SET", "greeting", "hello"],
            "greeting",
            "hello",
            "string",
        ),
        (vec!["SET", "number", "1.50"], "number", "1.5", "string"),
        (vec!["SET", "flag", "true"], "flag", "True", "string"),
        (
            vec!["SET", "doc", "{\"a\": [1, true, null]}"],
            "doc",
            "{'a': [1, True, None]}",
            "string",
        ),
        (
            vec!["SET", "unicode ü key", "naïve"],
            "unicode ü key",
            "naïve",
            "string",
        ),
        (
            vec!["HSET", "user:1", "name", "John", "age", "30"],
            "user:1",
            "{'name': 'John', 'age': '30'}",
            "hash",
        ),
        (
            vec!["RPUSH", "user:list", "a", "it's"],
            "user:list",
            "['a', \"it's\"]",
            "list",
        ),
        (vec!["SADD", "tags", "only"], "tags", "{'only'}", "set"),
        (
            vec!["ZADD", "scores", "1", "a", "2.5", "b"],
            "scores",
            "[('a', 1.0), ('b', 2.5)]",
            "zset",
        ),
        (
            vec!["XADD", "events", "1-0", "f", "v"],
            "events",
            "[['events', [('1-0', {'f': 'v'})]]]",
            "stream",
        ),
    ] {
        exec(&mut c12, &args).await;
        expected.insert(format!("12/{key}"), (value.to_string(), kind.to_string()));
    }
    for i in 0..300 {
        let key = format!("bulk:{i:03}");
        exec(&mut c13, &["SET", &key, &format!("value {i}")]).await;
        expected.insert(format!("13/{key}"), (format!("value {i}"), "string".into()));
    }
    exec(&mut c13, &["HSET", "h13", "k", "v"]).await;
    expected.insert("13/h13".into(), ("{'k': 'v'}".into(), "hash".into()));
    expected
}

fn values(extra: Value) -> Value {
    let mut v = json!({"host": "127.0.0.1", "port": 6379, "database": "12,13"});
    for (k, x) in extra.as_object().unwrap() {
        v[k] = x.clone();
    }
    v
}

fn engine(env: &EsEnv) -> Engine {
    Engine::new(
        env.es.clone(),
        Arc::new(connectors_sources::registry()),
        EngineConfig {
            page_size: 50,
            ..connectors_testkit::fast_engine_config()
        },
    )
}

async fn job(env: &EsEnv, id: &str) -> String {
    env.es
        .sync_jobs()
        .create(id, JobType::Full, TriggerMethod::OnDemand)
        .await
        .unwrap()
}

#[tokio::test]
async fn redis_full_sync_writes_the_reference_documents() {
    if !server_up("Redis", "127.0.0.1:6379").await {
        return;
    }
    let _turn = FIXTURE.lock().await;
    let expected = fixture().await;
    let env = EsEnv::start().await;
    let config = configuration(&RedisSource, &values(json!({})));
    connector(&env.es, "redis", "search-redis", "redis", &config).await;
    let engine = engine(&env);
    let j = job(&env, "redis").await;
    let (status, slices) = run_to_end(&engine, &j, 1).await;
    assert_eq!(status, SyncStatus::Completed);
    assert!(slices > 1);
    let docs = index_docs(&env.es, "search-redis").await;
    assert_eq!(docs.len(), expected.len());
    for (db_key, (value, kind)) in &expected {
        let (db, key) = db_key.split_once('/').unwrap();
        let id = hash_id(db_key);
        let doc = docs
            .get(&id)
            .unwrap_or_else(|| panic!("no document for {db_key}"));
        assert_eq!(doc["key"], json!(key));
        assert_eq!(doc["value"], json!(value), "{db_key}");
        assert_eq!(doc["key_type"], json!(kind));
        assert_eq!(
            doc["database"],
            json!(db),
            "configured databases are written as text"
        );
        assert!(doc["size_in_bytes"].as_u64().is_some_and(|n| n > 0));
        assert!(
            doc["_timestamp"]
                .as_str()
                .is_some_and(|t| t.ends_with("+00:00"))
        );
    }
}

#[tokio::test]
async fn redis_listing_resumes_and_rules_narrow() {
    if !server_up("Redis", "127.0.0.1:6379").await {
        return;
    }
    let _turn = FIXTURE.lock().await;
    let expected = fixture().await;
    let config = configuration(&RedisSource, &values(json!({})));
    // A new source for every page, as a new worker would.
    let listing = list_all(&RedisSource, &config, SyncMode::Full, None, 1000, true).await;
    let ids: Vec<String> = expected.keys().map(|k| hash_id(k)).collect();
    let mut got: Vec<String> = listing.docs.keys().cloned().collect();
    let mut want = ids.clone();
    got.sort();
    want.sort();
    assert_eq!(got, want);

    // `*`: every database, `database` written as a number.
    let all = configuration(&RedisSource, &values(json!({"database": "*"})));
    let listing = list_all(&RedisSource, &all, SyncMode::Full, None, 1000, false).await;
    let doc = &listing.docs[&hash_id("12/greeting")];
    assert_eq!(doc["database"], json!(12));

    let rules =
        json!([{"database": 12, "key_pattern": "user:*"}, {"database": 13, "type": "hash"}]);
    let listing = list_all(
        &RedisSource,
        &config,
        SyncMode::Full,
        Some(&rules),
        1000,
        false,
    )
    .await;
    let mut keys: Vec<&str> = listing
        .docs
        .values()
        .map(|d| d["key"].as_str().unwrap())
        .collect();
    keys.sort();
    assert_eq!(keys, ["h13", "user:1", "user:list"]);
}

#[tokio::test]
async fn redis_validation_messages_are_the_reference_s() {
    if !server_up("Redis", "127.0.0.1:6379").await {
        return;
    }
    let source: Box<dyn DataSource> = RedisSource
        .build(&configuration(
            &RedisSource,
            &values(json!({"database": "12,abc,99"})),
        ))
        .unwrap();
    let e = source.validate_config().await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "Database 99 are not available. Also database element should be integer. Please correct database name: abc"
    );
    assert_eq!(
        source
            .validate_advanced_rules(
                &json!([{"database": 99, "key_pattern": "*"}, {"database": 98, "type": "set"}])
            )
            .await,
        vec!["Database 99,98 are not available."]
    );
    assert_eq!(
        source
            .validate_advanced_rules(&json!([{"database": 0}]))
            .await,
        vec!["data[0] cannot be validated by any definition"]
    );
    assert!(
        source
            .validate_advanced_rules(&json!([{"database": 12, "key_pattern": "*"}]))
            .await
            .is_empty()
    );
}

async fn fails_on_the_connector(extra: Value, expect: &str, secret: &str) {
    let env = EsEnv::start().await;
    let config = configuration(&RedisSource, &values(extra));
    connector(&env.es, "bad", "search-bad", "redis", &config).await;
    let engine = engine(&env);
    let j = job(&env, "bad").await;
    assert_eq!(run_to_end(&engine, &j, 60_000).await.0, SyncStatus::Error);
    let c = env.es.connectors().get("bad", false).await.unwrap();
    let error = c.error.unwrap_or_default();
    assert!(
        error.contains(expect),
        "{error:?} should contain {expect:?}"
    );
    assert!(
        !error.contains(secret),
        "the error leaks the password: {error}"
    );
}

#[tokio::test]
async fn redis_wrong_credentials_and_unreachable_server_are_connector_errors() {
    if !server_up("Redis", "127.0.0.1:6379").await {
        return;
    }
    fails_on_the_connector(
        json!({"username": "nobody", "password": "wrong-password-123"}),
        "Error while connecting to Redis at 127.0.0.1:6379",
        "wrong-password-123",
    )
    .await;
    fails_on_the_connector(
        json!({"port": 1, "password": "secret-password-456"}),
        "Error while connecting to Redis at 127.0.0.1:1",
        "secret-password-456",
    )
    .await;
}

/// The published configuration is the reference's.
#[test]
fn redis_schema_is_the_reference_s() {
    let published = serde_json::to_value(RedisSource.default_configuration()).unwrap();
    let keys: Vec<&String> = published.as_object().unwrap().keys().collect();
    assert_eq!(
        keys,
        [
            "host",
            "port",
            "username",
            "password",
            "database",
            "ssl_enabled",
            "mutual_tls_enabled",
            "tls_certfile",
            "tls_keyfile"
        ]
    );
    assert_eq!(
        published["database"],
        json!({"default_value": null, "depends_on": [], "display": "textarea", "label": "Comma-separated list of databases", "options": [], "order": 5, "required": true, "sensitive": false, "tooltip": "Databases are ignored when Advanced Sync Rules are used.", "type": "list", "ui_restrictions": [], "validations": [], "value": "*"})
    );
    assert_eq!(
        published["mutual_tls_enabled"],
        json!({"default_value": null, "depends_on": [{"field": "ssl_enabled", "value": true}], "display": "toggle", "label": "Mutual SSL/TLS Connection", "options": [], "order": 7, "required": true, "sensitive": false, "tooltip": "This option establishes a secure connection to Redis using mutual SSL/TLS encryption. Ensure that your Redis deployment supports mutual SSL/TLS connections.", "type": "bool", "ui_restrictions": [], "validations": [], "value": false})
    );
    assert_eq!(
        published["tls_keyfile"],
        json!({"default_value": null, "depends_on": [{"field": "mutual_tls_enabled", "value": true}], "display": "text", "label": "client private key file for SSL/TLS", "options": [], "order": 9, "required": false, "sensitive": false, "tooltip": "Specifies the client private key from the Certificate Authority. The value of the key is used to validate the connection in the Redis instance.", "type": "str", "ui_restrictions": [], "validations": [], "value": ""})
    );
    assert_eq!(published["port"]["type"], json!("int"));
    assert_eq!(published["password"]["sensitive"], json!(true));
}

/// The conformance kit over database 14: one string key per item.
struct Keys {
    con: redis::aio::MultiplexedConnection,
}

impl connectors_testkit::conformance::Subject for Keys {
    fn descriptor(&self) -> Box<dyn SourceDescriptor> {
        Box::new(RedisSource)
    }
    fn values(&self) -> Value {
        values(json!({"database": "14"}))
    }
    async fn seed(&mut self, n: usize) {
        exec(&mut self.con, &["FLUSHDB"]).await;
        for i in 0..n {
            self.insert(i).await;
        }
    }
    async fn update(&mut self, i: usize) {
        exec(
            &mut self.con,
            &["SET", &format!("item:{i}"), &format!("value {i}, changed")],
        )
        .await;
    }
    async fn delete(&mut self, i: usize) {
        exec(&mut self.con, &["DEL", &format!("item:{i}")]).await;
    }
    async fn insert(&mut self, i: usize) {
        exec(
            &mut self.con,
            &["SET", &format!("item:{i}"), &format!("value {i}")],
        )
        .await;
    }
    fn id(&self, i: usize) -> String {
        hash_id(&format!("14/item:{i}"))
    }
    fn expected(&self, i: usize, _version: u32) -> serde_json::Map<String, Value> {
        let mut m = serde_json::Map::new();
        m.insert("key".into(), json!(format!("item:{i}")));
        m.insert("value".into(), json!(format!("value {i}")));
        m.insert("database".into(), json!("14"));
        m
    }
    fn rule_field(&self, i: usize) -> (String, String) {
        ("key".into(), format!("item:{i}"))
    }
    fn required_field(&self) -> &'static str {
        "host"
    }
}

#[tokio::test]
async fn redis_conforms() {
    if !server_up("Redis", "127.0.0.1:6379").await {
        return;
    }
    let mut keys = Keys {
        con: redis_db(14).await,
    };
    connectors_testkit::conformance::check(&mut keys).await;
    exec(&mut keys.con, &["FLUSHDB"]).await;
}
