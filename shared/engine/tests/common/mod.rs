//! Test support: an in-memory source with a resumable cursor; es-sim, connectors and the
//! job runner come from the test kit.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use connectors_engine::{Engine, EngineConfig};
use connectors_protocol::{ConfigField, Configuration};
use connectors_sdk::SourceRegistry;
use connectors_sdk::{
    DataSource, Page, PageRequest, SourceDescriptor, SourceDocument, SourceError, SourceFeatures,
    SourceItem, UnreadScope,
};
use serde_json::{Map, Value, json};

/// The documents of the test source, shared so tests can change them between syncs.
pub type Data = Arc<Mutex<BTreeMap<String, Value>>>;

/// `service_type: "memory"`: lists `data` in key order; the cursor is the last key sent.
pub struct MemorySource {
    pub data: Data,
}

impl SourceDescriptor for MemorySource {
    fn service_type(&self) -> &'static str {
        "memory"
    }
    fn name(&self) -> &'static str {
        "In-memory test source"
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
        Ok(Box::new(MemoryData {
            data: Arc::clone(&self.data),
        }))
    }
}

struct MemoryData {
    data: Data,
}

#[async_trait]
impl DataSource for MemoryData {
    async fn ping(&self) -> Result<(), SourceError> {
        Ok(())
    }

    async fn fetch_page(&self, request: PageRequest<'_>) -> Result<Page, SourceError> {
        let after = request.cursor.and_then(Value::as_str).map(str::to_string);
        let data = self.data.lock().unwrap();
        let mut items = Vec::new();
        let mut last = None;
        let range: Box<dyn Iterator<Item = (&String, &Value)>> = match &after {
            Some(a) => Box::new(data.range::<String, _>((
                std::ops::Bound::Excluded(a.clone()),
                std::ops::Bound::Unbounded,
            ))),
            None => Box::new(data.iter()),
        };
        for (k, v) in range.take(request.page_size) {
            // A value {"_fail": reason} makes the page that reaches it fail.
            if let Some(reason) = v.get("_fail").and_then(Value::as_str) {
                return Err(SourceError::Other(reason.to_string()));
            }
            // A value {"_unreadable": field} stands for a part of the source that cannot be
            // read: the documents whose `field` is `k`.
            // A value {"_unreadable_under": field} stands for a folder that cannot be read:
            // the documents whose `field` starts with `k`.
            if let Some(field) = v.get("_unreadable_under").and_then(Value::as_str) {
                items.push(SourceItem::Unreadable(UnreadScope::under(
                    field,
                    k,
                    format!("{k} is unreadable"),
                )));
                last = Some(k.clone());
                continue;
            }
            if let Some(field) = v.get("_unreadable").and_then(Value::as_str) {
                items.push(SourceItem::Unreadable(UnreadScope::exact(
                    field.to_string(),
                    json!(k),
                    format!("{k} is unreadable"),
                )));
                last = Some(k.clone());
                continue;
            }
            let mut fields: Map<String, Value> = v.as_object().cloned().unwrap_or_default();
            fields.insert("_id".into(), json!(k));
            items.push(SourceItem::Upsert(SourceDocument::new(fields)));
            last = Some(k.clone());
        }
        let more = match &last {
            Some(l) => data
                .range::<String, _>((
                    std::ops::Bound::Excluded(l.clone()),
                    std::ops::Bound::Unbounded,
                ))
                .next()
                .is_some(),
            None => false,
        };
        Ok(Page {
            items,
            next: if more { last.map(Value::String) } else { None },
            sync_cursor: None,
        })
    }
}

/// `n` documents `doc-00000`.. with a few fields and a fixed `_timestamp`.
pub fn data(n: usize) -> Data {
    let mut m = BTreeMap::new();
    for i in 0..n {
        m.insert(
            format!("doc-{i:05}"),
            json!({"title": format!("Document {i}"), "rank": i, "kind": if i % 3 == 0 { "a" } else { "b" },
                   "_timestamp": "2024-01-01T00:00:00+00:00"}),
        );
    }
    Arc::new(Mutex::new(m))
}

#[allow(unused_imports)] // each test binary uses its part of the kit
pub use connectors_testkit::{EsEnv as Env, index_docs, run_to_end};

pub async fn start() -> Env {
    Env::start().await
}

pub async fn start_with(config: es_sim::SimConfig) -> Env {
    Env::start_with(config).await
}

pub fn engine(env: &Env, data: &Data, config: EngineConfig) -> Engine {
    let mut registry = SourceRegistry::new();
    registry.register(Box::new(MemorySource {
        data: Arc::clone(data),
    }));
    Engine::new(env.es.clone(), Arc::new(registry), config)
}

/// A fast engine configuration for tests: small pages and requests.
pub fn test_config() -> EngineConfig {
    EngineConfig {
        page_size: 50,
        bulk_max_ops: 40,
        ..connectors_testkit::fast_engine_config()
    }
}

/// Creates a `memory` connector over index `index`, configured, as Kibana would.
pub async fn connector(env: &Env, id: &str, index: &str) {
    let schema = MemorySource { data: data(0) }.default_configuration();
    connectors_testkit::connector(&env.es, id, index, "memory", &schema).await;
}
