//! The in-memory cluster state: indices with their documents, aliases, and name resolution.
//!
//! Each index keeps a real-time `live` map (used by GET and writes) and a `searchable` map (used by
//! search, count and delete-by-query) that a refresh brings up to date. A refresh only touches the
//! ids written since the previous one. Documents are `Arc`s shared by both maps.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use crate::doc_source::{RawDoc, Source};
use crate::error::{EsError, EsResult};
use crate::ids;
use crate::mapping::ObjectMapping;
use crate::templates;

/// One stored document version.
#[derive(Debug)]
pub struct Doc {
    pub source: Source,
    pub version: i64,
    pub seq_no: i64,
}

/// A document to write: a tree (document APIs, updates, pipelines) or scanned text (bulk).
#[derive(Debug)]
pub enum Incoming<'a> {
    Tree(Value),
    Raw(RawDoc<'a>),
}

impl From<Value> for Incoming<'_> {
    fn from(v: Value) -> Self {
        Incoming::Tree(v)
    }
}

/// Documents by id. Ids are hashed with FxHash: fast, and hash flooding is no concern here.
pub type DocMap = HashMap<Arc<str>, Arc<Doc>, FxBuild>;

/// The FxHash function (as used by rustc): a multiply-rotate hash over 8-byte words.
#[derive(Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const FX_SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    #[inline]
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(FX_SEED);
    }
}

impl std::hash::Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let mut w = [0u8; 8];
            w.copy_from_slice(c);
            self.add(u64::from_le_bytes(w));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut w = [0u8; 8];
            w[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(w));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(i as u64);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.hash
    }
}

pub type FxBuild = std::hash::BuildHasherDefault<FxHasher>;

pub const PRIMARY_TERM: i64 = 1;

/// Reads a lock, ignoring poisoning (a panicking handler must not take the server down).
pub fn read<T>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(|e| e.into_inner())
}

pub fn write<T>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(|e| e.into_inner())
}

/// `if_seq_no` + `if_primary_term`.
#[derive(Debug, Clone, Copy)]
pub struct Cas {
    pub seq_no: i64,
    pub primary_term: i64,
}

/// Checks `if_seq_no`/`if_primary_term` parameters: both or neither.
pub fn cas_from(seq: Option<i64>, term: Option<i64>) -> EsResult<Option<Cas>> {
    cas_params(seq, term).map_err(|m| EsError::validation(&[m]))
}

/// [`cas_from`] with the validation message as the error.
fn cas_params(seq: Option<i64>, term: Option<i64>) -> Result<Option<Cas>, &'static str> {
    match (seq, term) {
        (None, None) => Ok(None),
        (Some(s), Some(t)) => {
            if s < 0 {
                return Err("ifSeqNo must be non negative");
            }
            if t <= 0 {
                return Err("ifPrimaryTerm must be positive");
            }
            Ok(Some(Cas {
                seq_no: s,
                primary_term: t,
            }))
        }
        (Some(_), None) => Err("ifSeqNo is set, but primary term is [0]"),
        (None, Some(_)) => Err("ifPrimaryTerm is set, but ifSeqNo is [-2]"),
    }
}

/// `Versions.MATCH_ANY`: the `version` of a write that names none.
pub const MATCH_ANY: i64 = -3;
/// `Versions.MATCH_DELETED`: the version a create expects.
pub const MATCH_DELETED: i64 = -4;

/// The `version_type` of a write.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VersionType {
    #[default]
    Internal,
    External,
    ExternalGte,
}

impl VersionType {
    /// `VersionType.fromString`; absent is `internal`, `external_gt` is `external`.
    pub fn parse(s: Option<&str>) -> EsResult<VersionType> {
        match s {
            None | Some("internal") => Ok(VersionType::Internal),
            Some("external" | "external_gt") => Ok(VersionType::External),
            Some("external_gte") => Ok(VersionType::ExternalGte),
            Some(other) => Err(EsError::bad_request(format!(
                "No version type match [{other}]"
            ))),
        }
    }

    fn name(self) -> &'static str {
        match self {
            VersionType::Internal => "INTERNAL",
            VersionType::External => "EXTERNAL",
            VersionType::ExternalGte => "EXTERNAL_GTE",
        }
    }
}

/// An external version: it must be higher than the current version (`external`), or at least
/// equal to it (`external_gte`), and becomes the document's `_version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct External {
    pub version: i64,
    pub gte: bool,
}

/// The concurrency condition of an index or delete.
#[derive(Debug, Clone, Copy, Default)]
pub enum Cond {
    #[default]
    None,
    Cas(Cas),
    External(External),
}

impl Cond {
    /// The compare-and-set part (updates have no external versions).
    pub fn cas(self) -> Option<Cas> {
        match self {
            Cond::Cas(c) => Some(c),
            _ => None,
        }
    }
}

/// What a write does, for [`write_cond`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteKind {
    Index,
    Create,
    Delete,
}

/// Checks the `version`, `version_type`, `if_seq_no` and `if_primary_term` of an index, create or
/// delete like `IndexRequest#validate`/`DeleteRequest#validate` with
/// `DocWriteRequest#validateSeqNoBasedCASParams`. Problems are appended to `errors` (validation
/// messages); the result is the engine condition when there are none.
pub fn write_cond(
    kind: WriteKind,
    has_id: bool,
    version: Option<i64>,
    vt: VersionType,
    if_seq_no: Option<i64>,
    if_primary_term: Option<i64>,
    errors: &mut Vec<String>,
) -> Cond {
    let before = errors.len();
    let mut version = version.unwrap_or(MATCH_ANY);
    if kind == WriteKind::Create {
        if version == MATCH_ANY {
            version = MATCH_DELETED;
        }
        if vt != VersionType::Internal {
            errors.push(
                "create operations only support internal versioning. use index instead".into(),
            );
            return Cond::None;
        }
        if version != MATCH_DELETED {
            errors.push(
                "create operations do not support explicit versions. use index instead".into(),
            );
            return Cond::None;
        }
        if if_seq_no.is_some() || if_primary_term.is_some() {
            errors
                .push("create operations do not support compare and set. use index instead".into());
            return Cond::None;
        }
    }
    if !has_id
        && (vt != VersionType::Internal || (version != MATCH_ANY && version != MATCH_DELETED))
    {
        errors.push("an id must be provided if version type or value are set".into());
    }
    let valid = match vt {
        VersionType::Internal => version > 0 || version == MATCH_ANY || version == MATCH_DELETED,
        VersionType::External | VersionType::ExternalGte => version >= 0,
    };
    if !valid {
        errors.push(format!(
            "illegal version value [{version}] for version type [{}]",
            vt.name()
        ));
    }
    if vt == VersionType::Internal && version != MATCH_ANY && version != MATCH_DELETED {
        errors.push("internal versioning can not be used for optimistic concurrency control. Please use `if_seq_no` and `if_primary_term` instead".into());
    }
    if if_seq_no.is_some() && (vt != VersionType::Internal || version != MATCH_ANY) {
        errors.push("compare and write operations can not use versioning".into());
    }
    let cas = cas_params(if_seq_no, if_primary_term).unwrap_or_else(|m| {
        errors.push(m.to_string());
        None
    });
    if errors.len() > before {
        return Cond::None;
    }
    match (cas, vt) {
        (Some(c), _) => Cond::Cas(c),
        (None, VersionType::Internal) => Cond::None,
        (None, vt) => Cond::External(External {
            version,
            gte: vt == VersionType::ExternalGte,
        }),
    }
}

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

fn flatten_settings(prefix: &str, v: &Value, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten_settings(&key, v, out);
            }
        }
        Value::Array(a) => {
            out.insert(
                prefix.to_string(),
                Value::Array(a.iter().map(setting_string).collect()),
            );
        }
        Value::Null => {
            out.remove(prefix);
        }
        other => {
            out.insert(prefix.to_string(), setting_string(other));
        }
    }
}

fn setting_string(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(s.clone()),
        Value::Null => Value::Null,
        other => Value::String(other.to_string()),
    }
}

/// Normalises a settings body (nested or flat, with or without the `index.` prefix).
pub fn normalize_settings(v: &Value) -> BTreeMap<String, Value> {
    let mut flat = BTreeMap::new();
    flatten_settings("", v, &mut flat);
    flat.into_iter()
        .map(|(k, v)| {
            if k.starts_with("index.") {
                (k, v)
            } else {
                (format!("index.{k}"), v)
            }
        })
        .collect()
}

/// Renders flat settings as nested objects.
pub fn nest_settings<'a>(flat: impl Iterator<Item = (&'a String, &'a Value)>) -> Value {
    let mut root = Map::new();
    for (k, v) in flat {
        let parts: Vec<&str> = k.split('.').collect();
        let mut cur = &mut root;
        for p in &parts[..parts.len() - 1] {
            let entry = cur
                .entry(p.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            let Value::Object(m) = entry else {
                unreachable!()
            };
            cur = m;
        }
        cur.insert(parts[parts.len() - 1].to_string(), v.clone());
    }
    Value::Object(root)
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

/// Alias properties of one index.
#[derive(Debug, Clone, Default)]
pub struct AliasProps {
    pub is_write_index: Option<bool>,
    pub is_hidden: Option<bool>,
    pub filter: Option<Value>,
    pub other: Map<String, Value>,
}

impl AliasProps {
    pub fn parse(v: &Value) -> EsResult<AliasProps> {
        let mut p = AliasProps::default();
        if let Value::Object(m) = v {
            for (k, v) in m {
                match k.as_str() {
                    "is_write_index" => p.is_write_index = v.as_bool(),
                    "is_hidden" => p.is_hidden = v.as_bool(),
                    "filter" => p.filter = Some(v.clone()),
                    _ => {
                        p.other.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        Ok(p)
    }

    pub fn to_json(&self) -> Value {
        let mut m = self.other.clone();
        if let Some(f) = &self.filter {
            m.insert("filter".into(), f.clone());
        }
        if let Some(w) = self.is_write_index {
            m.insert("is_write_index".into(), json!(w));
        }
        if let Some(h) = self.is_hidden {
            m.insert("is_hidden".into(), json!(h));
        }
        Value::Object(m)
    }
}

/// Indices and aliases.
#[derive(Debug, Default)]
pub struct Catalog {
    pub indices: BTreeMap<String, Arc<RwLock<Index>>>,
    /// alias → index → properties.
    pub aliases: BTreeMap<String, BTreeMap<String, AliasProps>>,
}

/// Options for resolving index expressions of read APIs.
#[derive(Debug, Clone, Copy)]
pub struct ResolveOpts {
    pub ignore_unavailable: bool,
    pub allow_no_indices: bool,
    pub expand_hidden: bool,
}

impl Default for ResolveOpts {
    fn default() -> Self {
        ResolveOpts {
            ignore_unavailable: false,
            allow_no_indices: true,
            expand_hidden: false,
        }
    }
}

/// Index name rules of `MetadataCreateIndexService.validateIndexOrAliasName`.
pub fn validate_index_name(name: &str) -> EsResult<()> {
    let bad = |why: &str| Err(EsError::invalid_index_name(name, why));
    if name.is_empty() {
        return bad("must not be empty");
    }
    if name.chars().any(|c| {
        matches!(
            c,
            '\\' | '/' | '*' | '?' | '"' | '<' | '>' | '|' | ' ' | ','
        )
    }) {
        return bad(
            "must not contain the following characters ['\\','/','*','?','\"','<','>','|',' ',',']",
        );
    }
    if name.contains('#') {
        return bad("must not contain '#'");
    }
    if name.contains(':') {
        return bad("must not contain ':'");
    }
    if name.starts_with('_') || name.starts_with('-') || name.starts_with('+') {
        return bad("must not start with '_', '-', or '+'");
    }
    if name.to_lowercase() != name {
        return bad("must be lowercase");
    }
    if name == "." || name == ".." {
        return bad("must not be '.' or '..'");
    }
    if name.len() > 255 {
        return bad(&format!("index name is too long, ({} > 255)", name.len()));
    }
    Ok(())
}

impl Catalog {
    pub fn get(&self, name: &str) -> Option<Arc<RwLock<Index>>> {
        self.indices.get(name).cloned()
    }

    /// The indices an alias points to.
    pub fn alias_indices(&self, alias: &str) -> Vec<String> {
        self.aliases
            .get(alias)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The concrete index a write to `name` goes to; `Ok(None)` when nothing exists (auto-create).
    pub fn write_index(&self, name: &str) -> EsResult<Option<String>> {
        if self.indices.contains_key(name) {
            return Ok(Some(name.to_string()));
        }
        if let Some(targets) = self.aliases.get(name) {
            if targets.len() == 1 {
                let (idx, props) = targets
                    .iter()
                    .next()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .unwrap_or_default();
                if props.is_write_index != Some(false) {
                    return Ok(Some(idx));
                }
            }
            if let Some((idx, _)) = targets.iter().find(|(_, p)| p.is_write_index == Some(true)) {
                return Ok(Some(idx.clone()));
            }
            return Err(EsError::bad_request(format!(
                "no write index is defined for alias [{name}]. The write index may be explicitly disabled using is_write_index=false or the alias points to multiple indices without one being designated as a write index"
            )));
        }
        Ok(None)
    }

    fn is_hidden(&self, name: &str) -> bool {
        self.indices
            .get(name)
            .map(|i| read(i).is_hidden())
            .unwrap_or(false)
    }

    /// Resolves a comma-separated expression of names, aliases and wildcards to concrete indices.
    pub fn resolve(&self, expr: &str, opts: ResolveOpts) -> EsResult<Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        let parts: Vec<&str> = expr
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let parts = if parts.is_empty() {
            vec!["_all"]
        } else {
            parts
        };
        for (i, part) in parts.iter().enumerate() {
            if let Some(excl) = part.strip_prefix('-')
                && i > 0
            {
                out.retain(|n| !crate::source_filter::glob(excl, n));
                continue;
            }
            if *part == "_all" || *part == "*" || part.contains('*') {
                let pattern = if *part == "_all" { "*" } else { part };
                let hidden_ok = opts.expand_hidden || pattern.starts_with('.');
                for name in self.indices.keys() {
                    if crate::source_filter::glob(pattern, name)
                        && (hidden_ok || !self.is_hidden(name))
                        && !out.contains(name)
                    {
                        out.push(name.clone());
                    }
                }
                for (alias, targets) in &self.aliases {
                    if crate::source_filter::glob(pattern, alias) {
                        let hidden_alias = targets.values().any(|p| p.is_hidden == Some(true));
                        if hidden_alias && !hidden_ok {
                            continue;
                        }
                        for t in targets.keys() {
                            if !out.contains(t) {
                                out.push(t.clone());
                            }
                        }
                    }
                }
                continue;
            }
            if self.indices.contains_key(*part) {
                if !out.iter().any(|n| n == part) {
                    out.push(part.to_string());
                }
            } else if let Some(targets) = self.aliases.get(*part) {
                for t in targets.keys() {
                    if !out.contains(t) {
                        out.push(t.clone());
                    }
                }
            } else if !opts.ignore_unavailable {
                return Err(EsError::index_not_found(part));
            }
        }
        if out.is_empty() && !opts.allow_no_indices {
            return Err(EsError::index_not_found(expr));
        }
        out.sort();
        Ok(out)
    }

    /// The aliases of one index, as `GET /{index}` shows them.
    pub fn aliases_of(&self, index: &str) -> Value {
        let mut m = Map::new();
        for (alias, targets) in &self.aliases {
            if let Some(p) = targets.get(index) {
                m.insert(alias.clone(), p.to_json());
            }
        }
        Value::Object(m)
    }

    /// Adds an alias, checking that no index has its name.
    pub fn add_alias(&mut self, index: &str, alias: &str, props: AliasProps) -> EsResult<()> {
        if self.indices.contains_key(alias) {
            return Err(EsError::new(
                400,
                "invalid_alias_name_exception",
                format!("Invalid alias name [{alias}]: an index or data stream exists with the same name as the alias"),
            )
            .with("index_uuid", "_na_")
            .with("index", alias));
        }
        validate_index_name(alias).map_err(|_| {
            EsError::new(
                400,
                "invalid_alias_name_exception",
                format!("Invalid alias name [{alias}]: must be lowercase"),
            )
        })?;
        self.aliases
            .entry(alias.to_string())
            .or_default()
            .insert(index.to_string(), props);
        Ok(())
    }

    pub fn remove_index(&mut self, name: &str) -> Option<Arc<RwLock<Index>>> {
        let removed = self.indices.remove(name);
        for targets in self.aliases.values_mut() {
            targets.remove(name);
        }
        self.aliases.retain(|_, t| !t.is_empty());
        removed
    }
}

/// Builds an index from a create body (`settings`, `mappings`, `aliases`) merged over a built-in
/// template. Returns the index and its aliases.
pub fn build_index(
    name: &str,
    body: Option<&Map<String, Value>>,
) -> EsResult<(Index, Vec<(String, AliasProps)>)> {
    validate_index_name(name)?;
    let mut settings = BTreeMap::new();
    let mut mapping = ObjectMapping::default();
    let mut aliases = Vec::new();
    if let Some(t) = templates::for_index(name) {
        settings = normalize_settings(&t.settings);
        if let Value::Object(m) = &t.mappings {
            mapping = ObjectMapping::parse(m)?;
        }
        for a in t.aliases {
            aliases.push((
                a.to_string(),
                AliasProps {
                    is_hidden: Some(true),
                    ..Default::default()
                },
            ));
        }
    }
    if let Some(body) = body {
        for (k, v) in body {
            match k.as_str() {
                "settings" => {
                    for (sk, sv) in normalize_settings(v) {
                        settings.insert(sk, sv);
                    }
                }
                "mappings" => {
                    let m = v.as_object().ok_or_else(|| {
                        EsError::new(
                            400,
                            "mapper_parsing_exception",
                            "Failed to parse mapping: Expected map for property [mappings]",
                        )
                    })?;
                    // A legacy `{"_doc": {...}}` wrapper is accepted.
                    let m = match (m.len(), m.get("_doc")) {
                        (1, Some(Value::Object(inner))) => inner,
                        _ => m,
                    };
                    let parsed = ObjectMapping::parse(m).map_err(|e| {
                        let cause = e.cause_object();
                        EsError::new(
                            400,
                            "mapper_parsing_exception",
                            format!("Failed to parse mapping: {}", e.reason().unwrap_or("")),
                        )
                        .caused_by(cause)
                    })?;
                    mapping.merge(parsed, "")?;
                }
                "aliases" => {
                    let m = v
                        .as_object()
                        .ok_or_else(|| EsError::parse("Failed to parse [aliases]"))?;
                    for (a, props) in m {
                        aliases.push((a.clone(), AliasProps::parse(props)?));
                    }
                }
                other => {
                    return Err(EsError::parse(format!(
                        "unknown key [{other}] for create index"
                    )));
                }
            }
        }
    }
    for (k, v) in &settings {
        if k == "index.number_of_shards" {
            let n: i64 = v.as_str().and_then(|s| s.parse().ok()).unwrap_or(0);
            if n < 1 {
                return Err(EsError::bad_request(format!(
                    "Failed to parse value [{}] for setting [index.number_of_shards] must be >= 1",
                    v.as_str().unwrap_or("")
                )));
            }
        }
    }
    Ok((Index::new(name, settings, mapping), aliases))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn index() -> Index {
        build_index("test", None).unwrap().0
    }

    #[test]
    fn versions_and_seq_nos() {
        let mut i = index();
        let r = i
            .index_doc(Arc::from("1"), json!({"a": 1}), false, Cond::None)
            .unwrap();
        assert_eq!((r.version, r.seq_no, r.outcome), (1, 0, Outcome::Created));
        let r = i
            .index_doc(Arc::from("1"), json!({"a": 2}), false, Cond::None)
            .unwrap();
        assert_eq!((r.version, r.seq_no, r.outcome), (2, 1, Outcome::Updated));
        let e = i
            .index_doc(Arc::from("1"), json!({}), true, Cond::None)
            .unwrap_err();
        assert_eq!(
            e.reason(),
            Some("[1]: version conflict, document already exists (current version [2])")
        );
        let e = i
            .index_doc(
                Arc::from("1"),
                json!({}),
                false,
                Cond::Cas(Cas {
                    seq_no: 0,
                    primary_term: 1,
                }),
            )
            .unwrap_err();
        assert_eq!(
            e.reason(),
            Some(
                "[1]: version conflict, required seqNo [0], primary term [1]. current document has seqNo [1] and primary term [1]"
            )
        );
        let r = i.delete_doc("1", Cond::None).unwrap();
        assert_eq!((r.version, r.outcome), (3, Outcome::Deleted));
        let r = i.delete_doc("1", Cond::None).unwrap();
        assert_eq!(r.outcome, Outcome::NotFound);
        let r = i
            .index_doc(Arc::from("1"), json!({}), false, Cond::None)
            .unwrap();
        assert_eq!((r.version, r.outcome), (5, Outcome::Created));
    }

    #[test]
    fn refresh_publishes_changes() {
        let mut i = index();
        i.index_doc(Arc::from("1"), json!({"a": 1}), false, Cond::None)
            .unwrap();
        assert!(i.searchable.is_empty());
        i.refresh();
        assert_eq!(i.searchable.len(), 1);
        i.delete_doc("1", Cond::None).unwrap();
        assert_eq!(i.searchable.len(), 1);
        i.refresh();
        assert!(i.searchable.is_empty());
    }

    #[test]
    fn update_merges_and_detects_noop() {
        let mut i = index();
        i.index_doc(
            Arc::from("1"),
            json!({"a": {"b": 1, "c": [1]}, "d": 1}),
            false,
            Cond::None,
        )
        .unwrap();
        let spec = UpdateSpec {
            doc: Some(json!({"a": {"c": [2]}})),
            detect_noop: true,
            ..Default::default()
        };
        let r = i.update_doc("1", &spec, None).unwrap();
        assert_eq!(r.outcome, Outcome::Updated);
        assert_eq!(
            *i.get("1").unwrap().source.value(),
            json!({"a": {"b": 1, "c": [2]}, "d": 1})
        );
        let r = i.update_doc("1", &spec, None).unwrap();
        assert_eq!(r.outcome, Outcome::Noop);
        let e = i.update_doc("2", &spec, None).unwrap_err();
        assert_eq!(e.kind(), Some("document_missing_exception"));
        let up = UpdateSpec {
            doc: Some(json!({"x": 1})),
            doc_as_upsert: true,
            ..Default::default()
        };
        assert_eq!(
            i.update_doc("2", &up, None).unwrap().outcome,
            Outcome::Created
        );
    }

    #[test]
    fn index_names() {
        assert!(validate_index_name("search-x").is_ok());
        assert!(validate_index_name("Foo").is_err());
        assert!(validate_index_name("_x").is_err());
        assert!(validate_index_name("a*b").is_err());
        assert!(validate_index_name(".elastic-connectors-v1").is_ok());
    }

    #[test]
    fn settings_round_trip() {
        let flat = normalize_settings(
            &json!({"number_of_shards": 1, "index": {"refresh_interval": "1s"}}),
        );
        assert_eq!(flat.get("index.number_of_shards"), Some(&json!("1")));
        let nested = nest_settings(flat.iter());
        assert_eq!(nested["index"]["refresh_interval"], "1s");
    }
}
