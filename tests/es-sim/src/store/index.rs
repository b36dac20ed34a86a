//! One index: its settings and mapping, the real-time `live` documents and the `searchable`
//! snapshot a refresh publishes, and its writes (index, create, delete, update) with versions,
//! sequence numbers and concurrency checks.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::settings::nest_settings;
use super::versioning::{Cas, Cond};
use super::{Doc, DocMap, FxBuild, Incoming, PRIMARY_TERM};
use crate::doc_source::Source;
use crate::error::{EsError, EsResult};
use crate::ids;
use crate::mapping::ObjectMapping;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Created,
    Updated,
    Deleted,
    NotFound,
    Noop,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Updated => "updated",
            Outcome::Deleted => "deleted",
            Outcome::NotFound => "not_found",
            Outcome::Noop => "noop",
        }
    }

    pub fn status(self) -> u16 {
        match self {
            Outcome::Created => 201,
            Outcome::NotFound => 404,
            _ => 200,
        }
    }
}

/// The result of one write.
#[derive(Debug, Clone)]
pub struct WriteResult {
    pub id: Arc<str>,
    pub version: i64,
    pub seq_no: i64,
    pub outcome: Outcome,
    /// The document after the write (updates report it with `_source`).
    pub doc: Option<Arc<Doc>>,
}

/// What an update does to an existing (or missing) document.
#[derive(Debug, Clone, Default)]
pub struct UpdateSpec {
    pub doc: Option<Value>,
    pub upsert: Option<Value>,
    pub doc_as_upsert: bool,
    pub detect_noop: bool,
    pub script: Option<crate::script::Script>,
    pub scripted_upsert: bool,
}

/// One index.
#[derive(Debug)]
pub struct Index {
    pub name: Arc<str>,
    pub uuid: Arc<str>,
    pub creation_date: i64,
    /// Flat settings (`index.number_of_shards` → "1").
    pub settings: BTreeMap<String, Value>,
    mappings: ObjectMapping,
    /// A shared copy for search snapshots, dropped when the mapping changes.
    mappings_snapshot: std::sync::OnceLock<Arc<ObjectMapping>>,
    pub live: DocMap,
    pub searchable: Arc<DocMap>,
    /// Ids written since the last refresh (may repeat; see `note_dirty`).
    dirty: Vec<Arc<str>>,
    tombstones: HashMap<Arc<str>, i64>,
    pub next_seq_no: i64,
    /// When the periodic refresh last ran (or the index was created).
    pub last_periodic_refresh: Instant,
}

fn version_conflict_cas(index: &Index, id: &str, cas: Cas, current: Option<&Doc>) -> EsError {
    let reason = match current {
        Some(d) => format!(
            "[{id}]: version conflict, required seqNo [{}], primary term [{}]. current document has seqNo [{}] and primary term [{}]",
            cas.seq_no, cas.primary_term, d.seq_no, PRIMARY_TERM
        ),
        None => format!(
            "[{id}]: version conflict, required seqNo [{}], primary term [{}]. but no document was found",
            cas.seq_no, cas.primary_term
        ),
    };
    EsError::version_conflict(&index.name, &index.uuid, reason)
}

/// Validates a document id.
pub fn check_id(id: &str) -> EsResult<()> {
    if id.is_empty() {
        return Err(EsError::validation(&[
            "if _id is specified it must not be empty",
        ]));
    }
    if id.len() > 512 {
        return Err(EsError::validation(&[&format!(
            "id [{id}] is too long, must be no longer than 512 bytes but was: {}",
            id.len()
        )]));
    }
    Ok(())
}

/// Recursive merge of an update's `doc`: objects merge, everything else is replaced.
pub fn merge_into(target: &mut Value, patch: &Value) {
    match (target, patch) {
        (Value::Object(t), Value::Object(p)) => {
            for (k, v) in p {
                match t.get_mut(k) {
                    Some(existing) if existing.is_object() && v.is_object() => {
                        merge_into(existing, v)
                    }
                    _ => {
                        t.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (t, p) => *t = p.clone(),
    }
}

impl Index {
    pub fn new(name: &str, settings: BTreeMap<String, Value>, mappings: ObjectMapping) -> Index {
        let uuid = ids::uuid();
        let now = chrono::Utc::now().timestamp_millis();
        let mut s = settings;
        s.entry("index.number_of_shards".into())
            .or_insert_with(|| json!("1"));
        s.entry("index.number_of_replicas".into())
            .or_insert_with(|| json!("1"));
        s.insert("index.provided_name".into(), json!(name));
        s.insert("index.uuid".into(), json!(uuid));
        s.insert("index.creation_date".into(), json!(now.to_string()));
        s.insert("index.version.created".into(), json!("9009000"));
        s.entry("index.routing.allocation.include._tier_preference".into())
            .or_insert_with(|| json!("data_content"));
        Index {
            name: Arc::from(name),
            uuid: Arc::from(uuid.as_str()),
            creation_date: now,
            settings: s,
            mappings,
            mappings_snapshot: std::sync::OnceLock::new(),
            live: DocMap::default(),
            searchable: Arc::new(DocMap::default()),
            dirty: Vec::new(),
            tombstones: HashMap::new(),
            next_seq_no: 0,
            last_periodic_refresh: Instant::now(),
        }
    }

    pub fn mappings(&self) -> &ObjectMapping {
        &self.mappings
    }

    /// Replaces the mapping (`PUT _mapping`).
    pub fn set_mappings(&mut self, m: ObjectMapping) {
        self.mappings = m;
        self.mappings_snapshot = std::sync::OnceLock::new();
    }

    /// The mapping as a shared snapshot for searches.
    pub fn mappings_arc(&self) -> Arc<ObjectMapping> {
        self.mappings_snapshot
            .get_or_init(|| Arc::new(self.mappings.clone()))
            .clone()
    }

    pub fn setting(&self, key: &str) -> Option<&str> {
        self.settings.get(key).and_then(Value::as_str)
    }

    pub fn is_hidden(&self) -> bool {
        self.setting("index.hidden") == Some("true")
    }

    /// Replicas as configured (auto-expanding ones count as 0 on one node).
    pub fn replicas(&self) -> u32 {
        if self.settings.contains_key("index.auto_expand_replicas") {
            return 0;
        }
        self.setting("index.number_of_replicas")
            .and_then(|s| s.parse().ok())
            .unwrap_or(1)
    }

    /// `_shards` of a write response.
    pub fn write_shards(&self) -> Value {
        json!({"total": 1 + self.replicas(), "successful": 1, "failed": 0})
    }

    /// The periodic refresh interval: `index.refresh_interval` (`-1` or `0`: none), else
    /// `default` (the server's; also for a value that does not parse).
    pub fn refresh_every(&self, default: Option<Duration>) -> Option<Duration> {
        match self.setting("index.refresh_interval") {
            None => default,
            Some(v) => match crate::http::parse_time_value(v, "index.refresh_interval") {
                Ok(d) if d.is_zero() => None,
                Ok(d) => Some(d),
                Err(_) => default,
            },
        }
    }

    pub fn get(&self, id: &str) -> Option<&Arc<Doc>> {
        self.live.get(id)
    }

    /// Records a write for the next refresh. Repeated ids are harmless; the list is compacted
    /// when it grows well past the number of documents (many rewrites without a refresh).
    fn note_dirty(&mut self, id: Arc<str>) {
        self.dirty.push(id);
        if self.dirty.len() > 2 * self.live.len() + 100_000 {
            let mut seen: HashSet<Arc<str>, FxBuild> = HashSet::default();
            self.dirty.retain(|i| seen.insert(i.clone()));
        }
    }

    pub fn has_pending_refresh(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// Makes every write so far visible to search. Costs O(writes since the last refresh).
    pub fn refresh(&mut self) {
        if self.dirty.is_empty() {
            return;
        }
        let searchable = Arc::make_mut(&mut self.searchable);
        for id in std::mem::take(&mut self.dirty) {
            match self.live.get(&id) {
                Some(d) => {
                    searchable.insert(id, d.clone());
                }
                None => {
                    searchable.remove(&id);
                }
            }
        }
        if self.tombstones.len() > 100_000 {
            self.tombstones.clear();
        }
    }

    fn check_cas(&self, id: &str, cas: Option<Cas>, current: Option<&Arc<Doc>>) -> EsResult<()> {
        if let Some(c) = cas {
            match current {
                Some(d) if d.seq_no == c.seq_no && c.primary_term == PRIMARY_TERM => Ok(()),
                Some(d) => Err(version_conflict_cas(self, id, c, Some(d))),
                None => Err(version_conflict_cas(self, id, c, None)),
            }
        } else {
            Ok(())
        }
    }

    /// Checks a write's condition against the current document (or its tombstone).
    fn check_cond(&self, id: &str, cond: Cond, current: Option<&Arc<Doc>>) -> EsResult<()> {
        match cond {
            Cond::None => Ok(()),
            Cond::Cas(c) => self.check_cas(id, Some(c), current),
            Cond::External(e) => {
                let existing = match current {
                    Some(d) => Some(d.version),
                    None if self.tombstones.is_empty() => None,
                    None => self.tombstones.get(id).copied(),
                };
                let Some(cur) = existing else {
                    return Ok(());
                };
                // `VersionType.EXTERNAL|EXTERNAL_GTE#isVersionConflictForWrites`
                let (conflict, how) = if e.gte {
                    (cur > e.version, "higher than")
                } else {
                    (cur >= e.version, "higher or equal to")
                };
                if !conflict {
                    return Ok(());
                }
                Err(EsError::version_conflict(
                    &self.name,
                    &self.uuid,
                    format!(
                        "[{id}]: version conflict, current version [{cur}] is {how} the one provided [{}]",
                        e.version
                    ),
                ))
            }
        }
    }

    /// The version a write gives a document: the external one, else the next internal one.
    fn write_version(&self, id: &str, cond: Cond, current: Option<&Arc<Doc>>) -> i64 {
        match cond {
            Cond::External(e) => e.version,
            _ => self.next_version(id, current),
        }
    }

    fn apply_mapping(&mut self, source: &Value, id: &str) -> EsResult<()> {
        let Value::Object(m) = source else {
            return Err(EsError::document_parsing(
                "failed to parse, document is empty",
            ));
        };
        // Validate without cloning a shared mapping when nothing changes.
        if self.mappings.apply_doc(m, id)? {
            self.mappings_snapshot = std::sync::OnceLock::new();
        }
        Ok(())
    }

    fn store(&mut self, id: Arc<str>, source: Source, version: i64) -> (i64, Arc<Doc>) {
        let seq_no = self.next_seq_no;
        self.next_seq_no += 1;
        let doc = Arc::new(Doc {
            source,
            version,
            seq_no,
        });
        if !self.tombstones.is_empty() {
            self.tombstones.remove(&id);
        }
        self.note_dirty(id.clone());
        self.live.insert(id, doc.clone());
        (seq_no, doc)
    }

    fn next_version(&self, id: &str, current: Option<&Arc<Doc>>) -> i64 {
        match current {
            Some(d) => d.version + 1,
            None if self.tombstones.is_empty() => 1,
            None => self.tombstones.get(id).map(|v| v + 1).unwrap_or(1),
        }
    }

    /// Index (or create, when `create`) a document: a tree, or JSON text scanned by `_bulk`
    /// (checked against the mapping field by field and stored as text).
    pub fn index_doc<'a>(
        &mut self,
        id: Arc<str>,
        source: impl Into<Incoming<'a>>,
        create: bool,
        cond: Cond,
    ) -> EsResult<WriteResult> {
        let source = source.into();
        check_id(&id)?;
        let current = self.live.get(&id).cloned();
        if create && let Some(d) = &current {
            return Err(EsError::version_conflict(
                &self.name,
                &self.uuid,
                format!(
                    "[{id}]: version conflict, document already exists (current version [{}])",
                    d.version
                ),
            ));
        }
        self.check_cond(&id, cond, current.as_ref())?;
        let source = match source {
            Incoming::Tree(v) => {
                self.apply_mapping(&v, &id)?;
                Source::from(v)
            }
            Incoming::Raw(raw) => {
                self.mappings.check_big_integers(raw.text(), &id)?;
                if self.mappings.apply_fields(&raw.fields, &id)? {
                    self.mappings_snapshot = std::sync::OnceLock::new();
                }
                raw.into_source()
            }
        };
        let version = self.write_version(&id, cond, current.as_ref());
        let outcome = if current.is_some() {
            Outcome::Updated
        } else {
            Outcome::Created
        };
        let (seq_no, doc) = self.store(id.clone(), source, version);
        Ok(WriteResult {
            id,
            version,
            seq_no,
            outcome,
            doc: Some(doc),
        })
    }

    pub fn delete_doc(&mut self, id: &str, cond: Cond) -> EsResult<WriteResult> {
        check_id(id)?;
        let current = self.live.get(id).cloned();
        self.check_cond(id, cond, current.as_ref())?;
        let version = self.write_version(id, cond, current.as_ref());
        let seq_no = self.next_seq_no;
        self.next_seq_no += 1;
        let key: Arc<str> = match self.live.remove_entry(id) {
            Some((k, _)) => k,
            None => Arc::from(id),
        };
        self.tombstones.insert(key.clone(), version);
        let outcome = if current.is_some() {
            self.note_dirty(key.clone());
            Outcome::Deleted
        } else {
            Outcome::NotFound
        };
        Ok(WriteResult {
            id: key,
            version,
            seq_no,
            outcome,
            doc: None,
        })
    }

    pub fn update_doc(
        &mut self,
        id: &str,
        spec: &UpdateSpec,
        cas: Option<Cas>,
    ) -> EsResult<WriteResult> {
        check_id(id)?;
        let current = self.live.get(id).cloned();
        let key: Arc<str> = match self.live.get_key_value(id) {
            Some((k, _)) => k.clone(),
            None => Arc::from(id),
        };
        let Some(cur) = current else {
            let source = if spec.doc_as_upsert && spec.doc.is_some() {
                spec.doc.clone()
            } else if let Some(u) = &spec.upsert {
                let mut u = u.clone();
                if spec.scripted_upsert
                    && let Some(s) = &spec.script
                {
                    s.apply(&mut u)?;
                }
                Some(u)
            } else {
                None
            };
            let Some(source) = source else {
                return Err(EsError::document_missing(&self.name, &self.uuid, id));
            };
            if let Some(c) = cas {
                return Err(version_conflict_cas(self, id, c, None));
            }
            self.apply_mapping(&source, id)?;
            let version = self.next_version(id, None);
            let (seq_no, doc) = self.store(key.clone(), Source::from(source), version);
            return Ok(WriteResult {
                id: key,
                version,
                seq_no,
                outcome: Outcome::Created,
                doc: Some(doc),
            });
        };
        self.check_cas(id, cas, Some(&cur))?;
        let mut source = cur.source.value().clone();
        if let Some(script) = &spec.script {
            if script.apply(&mut source)? == crate::script::Effect::Noop {
                return Ok(WriteResult {
                    id: key,
                    version: cur.version,
                    seq_no: cur.seq_no,
                    outcome: Outcome::Noop,
                    doc: Some(cur),
                });
            }
        } else if let Some(d) = &spec.doc {
            merge_into(&mut source, d);
            if spec.detect_noop && &source == cur.source.value() {
                return Ok(WriteResult {
                    id: key,
                    version: cur.version,
                    seq_no: cur.seq_no,
                    outcome: Outcome::Noop,
                    doc: Some(cur),
                });
            }
        }
        self.apply_mapping(&source, id)?;
        let version = cur.version + 1;
        let (seq_no, doc) = self.store(key.clone(), Source::from(source), version);
        Ok(WriteResult {
            id: key,
            version,
            seq_no,
            outcome: Outcome::Updated,
            doc: Some(doc),
        })
    }

    /// `{aliases, mappings, settings}` as `GET /{index}` renders it.
    pub fn settings_json(&self) -> Value {
        nest_settings(self.settings.iter())
    }
}
