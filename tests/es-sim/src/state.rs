//! The shared state of one simulator and the index-level operations that need both the catalog
//! and an index: resolving write targets (auto-create, aliases), read targets and refreshes.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use serde_json::{Map, Value};

use crate::SimConfig;
use crate::error::{EsError, EsResult};
use crate::faults::Faults;
use crate::ingest;
use crate::search::{Contexts, Target};
use crate::security::{Auth, KeyStore};
use crate::store::{self, Catalog, Index, ResolveOpts, read, write};
use crate::templates;

pub struct AppState {
    pub config: SimConfig,
    /// Major version, for REST compatibility.
    pub major: u8,
    pub cluster_uuid: String,
    pub faults: Faults,
    pub catalog: RwLock<Catalog>,
    pub pipelines: RwLock<BTreeMap<String, Value>>,
    pub contexts: Mutex<Contexts>,
    pub keys: Mutex<KeyStore>,
    pub tasks: Mutex<BTreeMap<String, Value>>,
    task_counter: AtomicU64,
}

pub use crate::sync::lock;

impl AppState {
    pub fn new(config: SimConfig, faults: Faults) -> AppState {
        let major = config
            .version
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(9);
        let mut pipelines = BTreeMap::new();
        pipelines.insert(
            ingest::DEFAULT_PIPELINE.to_string(),
            ingest::default_pipeline_body(),
        );
        AppState {
            config,
            major,
            cluster_uuid: crate::ids::uuid(),
            faults,
            catalog: RwLock::new(Catalog::default()),
            pipelines: RwLock::new(pipelines),
            contexts: Mutex::new(Contexts::default()),
            keys: Mutex::new(KeyStore::default()),
            tasks: Mutex::new(BTreeMap::new()),
            task_counter: AtomicU64::new(1),
        }
    }

    /// What authentication needs: the configured user and the API keys.
    pub fn auth(&self) -> Auth<'_> {
        Auth {
            user: self.config.security.as_ref(),
            keys: &self.keys,
        }
    }

    pub fn next_task_id(&self) -> String {
        format!(
            "{}:{}",
            crate::NODE_ID,
            self.task_counter.fetch_add(1, Ordering::Relaxed)
        )
    }

    /// Creates an index. `Ok(None)` means it already existed and `fail_if_exists` was false.
    pub fn create_index(
        &self,
        name: &str,
        body: Option<&Map<String, Value>>,
        fail_if_exists: bool,
    ) -> EsResult<Option<Arc<RwLock<Index>>>> {
        let (index, aliases) = store::build_index(name, body)?;
        let mut cat = write(&self.catalog);
        if let Some(existing) = cat.indices.get(name) {
            if fail_if_exists {
                let uuid = read(existing).uuid.clone();
                return Err(EsError::new(
                    400,
                    "resource_already_exists_exception",
                    format!("index [{name}/{uuid}] already exists"),
                )
                .with("index_uuid", uuid.as_ref())
                .with("index", name));
            }
            return Ok(None);
        }
        if cat.aliases.contains_key(name) {
            return Err(EsError::invalid_index_name(name, "already exists as alias"));
        }
        for (alias, _) in &aliases {
            if cat.indices.contains_key(alias) || alias == name {
                return Err(EsError::new(
                    400,
                    "invalid_alias_name_exception",
                    format!(
                        "Invalid alias name [{alias}]: an index or data stream exists with the same name as the alias"
                    ),
                ));
            }
        }
        let arc = Arc::new(RwLock::new(index));
        cat.indices.insert(name.to_string(), arc.clone());
        for (alias, props) in aliases {
            cat.aliases
                .entry(alias)
                .or_default()
                .insert(name.to_string(), props);
        }
        Ok(Some(arc))
    }

    /// The index a write to `name` lands in, creating it (with built-in templates) if needed.
    pub fn index_for_write(&self, name: &str) -> EsResult<Arc<RwLock<Index>>> {
        {
            let cat = read(&self.catalog);
            if let Some(concrete) = cat.write_index(name)?
                && let Some(i) = cat.get(&concrete)
            {
                return Ok(i);
            }
        }
        let concrete = templates::concrete_for_alias(name).unwrap_or(name);
        store::validate_index_name(concrete)?;
        self.create_index(concrete, None, false)?;
        let cat = read(&self.catalog);
        let concrete = cat
            .write_index(concrete)?
            .unwrap_or_else(|| concrete.to_string());
        cat.get(&concrete)
            .ok_or_else(|| EsError::index_not_found(name))
    }

    /// The single concrete index for a single-document read (`GET _doc`) or an index-level API.
    pub fn single_index(&self, name: &str) -> EsResult<Arc<RwLock<Index>>> {
        let cat = read(&self.catalog);
        if let Some(i) = cat.get(name) {
            return Ok(i);
        }
        let targets = cat.alias_indices(name);
        match targets.len() {
            0 => Err(EsError::index_not_found(name)),
            1 => cat
                .get(&targets[0])
                .ok_or_else(|| EsError::index_not_found(name)),
            _ => match cat.write_index(name) {
                Ok(Some(w)) => cat.get(&w).ok_or_else(|| EsError::index_not_found(name)),
                _ => Err(EsError::bad_request(format!(
                    "alias [{name}] has more than one index associated with it [{}], can't execute a single index op",
                    targets.join(", ")
                ))),
            },
        }
    }

    /// Concrete index names for an expression.
    pub fn resolve(&self, expr: &str, opts: ResolveOpts) -> EsResult<Vec<String>> {
        read(&self.catalog).resolve(expr, opts)
    }

    /// Snapshots of the searchable state of the given indices.
    pub fn targets(&self, names: &[String]) -> Vec<Target> {
        let cat = read(&self.catalog);
        let mut out = Vec::new();
        for (ordinal, n) in names.iter().enumerate() {
            if let Some(i) = cat.get(n) {
                let i = read(&i);
                out.push(Target {
                    name: i.name.clone(),
                    uuid: i.uuid.clone(),
                    ordinal: ordinal as u32,
                    docs: i.searchable.clone(),
                    mappings: i.mappings_arc(),
                    dls: None,
                });
            }
        }
        out
    }

    /// Refreshes the named indices.
    pub fn refresh(&self, names: &[String]) {
        let cat = read(&self.catalog);
        for n in names {
            if let Some(i) = cat.get(n) {
                write(&i).refresh();
            }
        }
    }

    /// The periodic background refresh, run every `tick`: refreshes each index whose interval
    /// (`index.refresh_interval`, else the server's) has passed since its last periodic refresh,
    /// like Elasticsearch's scheduled refresh.
    pub fn refresh_due(&self, tick: Duration) {
        let now = Instant::now();
        let default = self.config.refresh_interval.filter(|d| !d.is_zero());
        let indices: Vec<Arc<RwLock<Index>>> =
            read(&self.catalog).indices.values().cloned().collect();
        for i in indices {
            let due = {
                let r = read(&i);
                r.refresh_every(default).is_some_and(|every| {
                    now.saturating_duration_since(r.last_periodic_refresh) + tick / 2 >= every
                })
            };
            if due {
                let mut w = write(&i);
                w.refresh();
                w.last_periodic_refresh = now;
            }
        }
    }
}
