//! Test support for the database sources: reaching the local servers (skipping when they are
//! down, unless `CI` is set), building sources from configuration values, listing every page,
//! and an es-sim with the engine for end-to-end syncs.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::Arc;

use connectors_engine::{Engine, EngineConfig};
use connectors_protocol::Configuration;
use es_client::EsClient;
use serde_json::{Map, Value, json};

pub const PG_URL: &str = "host=127.0.0.1 port=5432 user=postgres dbname=test";

/// A MariaDB user with a password, for syncs through the engine: `password` is a required
/// field (as in the reference) and the local root has none.
pub const MY_USER: &str = "connectors_test";
pub const MY_PASSWORD: &str = "connectors-test-pw";

pub async fn mysql_test_user(conn: &mut mysql_async::Conn) {
    use mysql_async::prelude::Queryable;
    for host in ["127.0.0.1", "localhost"] {
        conn.query_drop(format!(
            "CREATE USER IF NOT EXISTS '{MY_USER}'@'{host}' IDENTIFIED BY '{MY_PASSWORD}'; \
             GRANT ALL PRIVILEGES ON *.* TO '{MY_USER}'@'{host}'"
        ))
        .await
        .expect("create the test user");
    }
}

#[allow(unused_imports)] // each test binary uses its part of the kit
pub use connectors_testkit::{
    EsEnv as Env, Listing, configuration, init_logs, list_all, list_ids_with, run_to_end,
    server_up, unique,
};

pub async fn start_es() -> Env {
    Env::start().await
}

pub fn engine(env: &Env, config: EngineConfig) -> Engine {
    Engine::new(
        env.es.clone(),
        Arc::new(connectors_sources::registry()),
        config,
    )
}

/// A fast engine configuration for tests.
pub fn test_config() -> EngineConfig {
    EngineConfig {
        page_size: 100,
        ..connectors_testkit::fast_engine_config()
    }
}

/// Creates a connector of `service_type` over `index` with this configuration.
pub async fn connector(
    env: &Env,
    id: &str,
    index: &str,
    service_type: &str,
    config: &Configuration,
) {
    connectors_testkit::connector(&env.es, id, index, service_type, config).await;
}

/// Documents without `_timestamp` (which is the time of the read when the database does not
/// track commits), for comparing listings.
pub fn without_timestamps(
    docs: &BTreeMap<String, Map<String, Value>>,
) -> BTreeMap<String, Map<String, Value>> {
    docs.iter()
        .map(|(k, v)| {
            let mut v = v.clone();
            v.remove("_timestamp");
            (k.clone(), v)
        })
        .collect()
}

/// Sets and activates advanced rules on a connector, as Kibana does.
pub async fn activate_advanced_rules(env: &Env, id: &str, rules: &Value) {
    let c = env.es.connectors();
    c.update_features(
        id,
        &connectors_protocol::Features::declared(true, true, true, false),
    )
    .await
    .expect("features");
    let snippet: connectors_protocol::AdvancedSnippet =
        serde_json::from_value(json!({ "value": rules })).expect("snippet");
    c.update_filtering_draft(id, None, Some(&snippet))
        .await
        .expect("draft");
    c.update_filtering_validation(id, &connectors_protocol::FilteringValidation::valid())
        .await
        .expect("validation");
    c.activate_filtering(id).await.expect("activate");
}

/// Every document of `index` (at most 9,999), by id, without the sync stamp and `_timestamp`.
pub async fn index_docs(es: &EsClient, index: &str) -> BTreeMap<String, Value> {
    connectors_testkit::index_docs_without(es, index, &["_timestamp"]).await
}
