//! Search execution over refreshed snapshots: request parsing, matching, sorting (fields,
//! `_score`, `_doc`, `_shard_doc`, `missing`, `unmapped_type`), `search_after`, paging, hit
//! rendering, and the scroll and point-in-time contexts.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use crate::error::{EsError, EsResult};
use crate::http::Params;
use crate::mapping::{FieldKind, ObjectMapping};
use crate::query::{CompileCtx, CompiledQuery, Key, Query, doc_key, key_feeds_paths, visit_values};
use crate::source_filter::SourceFilter;
use crate::store::{Doc, DocMap, PRIMARY_TERM};

pub const MAX_RESULT_WINDOW: usize = 10_000;

/// A searchable snapshot of one index.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: Arc<str>,
    pub uuid: Arc<str>,
    pub ordinal: u32,
    pub docs: Arc<DocMap>,
    pub mappings: Arc<ObjectMapping>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrackTotal {
    Off,
    Exact,
    UpTo(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Missing {
    First,
    Last,
    Value(Value),
}

#[derive(Debug, Clone, PartialEq)]
pub enum SortBy {
    Field(String),
    Score,
    Doc,
    ShardDoc,
}

#[derive(Debug, Clone)]
pub struct SortSpec {
    pub by: SortBy,
    pub desc: bool,
    pub missing: Missing,
    pub unmapped_type: Option<String>,
    pub mode: Option<String>,
    pub format: Option<String>,
}

#[derive(Debug, Clone)]
pub struct PitRef {
    pub id: String,
    pub keep_alive: Option<Duration>,
}

/// A parsed search request.
#[derive(Debug, Clone)]
pub struct SearchRequest {
    pub query: Query,
    pub post_filter: Option<Query>,
    pub from: usize,
    pub size: usize,
    pub sort: Vec<SortSpec>,
    pub search_after: Option<Vec<Value>>,
    pub source: SourceFilter,
    pub track_total_hits: TrackTotal,
    pub seq_no_primary_term: bool,
    pub version: bool,
    pub track_scores: bool,
    pub pit: Option<PitRef>,
    pub min_score: Option<f32>,
    pub rest_total_hits_as_int: bool,
}

impl Default for SearchRequest {
    fn default() -> Self {
        SearchRequest {
            query: Query::MatchAll(1.0),
            post_filter: None,
            from: 0,
            size: 10,
            sort: Vec::new(),
            search_after: None,
            source: SourceFilter::default(),
            track_total_hits: TrackTotal::UpTo(MAX_RESULT_WINDOW),
            seq_no_primary_term: false,
            version: false,
            track_scores: false,
            pit: None,
            min_score: None,
            rest_total_hits_as_int: false,
        }
    }
}

fn token_kind(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "START_OBJECT",
        Value::Array(_) => "START_ARRAY",
        Value::String(_) => "VALUE_STRING",
        Value::Number(_) => "VALUE_NUMBER",
        Value::Bool(_) => "VALUE_BOOLEAN",
        Value::Null => "VALUE_NULL",
    }
}

fn as_usize(v: &Value, name: &str) -> EsResult<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| EsError::x_content(format!("[{name}] must be an integer"))),
        Value::String(s) => s
            .parse()
            .map_err(|_| EsError::x_content(format!("[{name}] failed to parse field [{name}]"))),
        _ => Err(EsError::x_content(format!("[{name}] must be an integer"))),
    }
}

fn parse_order(s: &str) -> EsResult<bool> {
    match s.to_ascii_lowercase().as_str() {
        "asc" => Ok(false),
        "desc" => Ok(true),
        other => Err(EsError::bad_request(format!("Unknown SortOrder [{other}]"))),
    }
}

fn sort_by(name: &str) -> SortBy {
    match name {
        "_score" => SortBy::Score,
        "_doc" => SortBy::Doc,
        "_shard_doc" => SortBy::ShardDoc,
        f => SortBy::Field(f.to_string()),
    }
}

fn default_spec(name: &str) -> SortSpec {
    let by = sort_by(name);
    let desc = by == SortBy::Score;
    SortSpec {
        by,
        desc,
        missing: Missing::Last,
        unmapped_type: None,
        mode: None,
        format: None,
    }
}

fn parse_sort_item(v: &Value) -> EsResult<SortSpec> {
    match v {
        Value::String(s) => Ok(default_spec(s)),
        Value::Object(m) => {
            let Some((name, opts)) = m.iter().next() else {
                return Err(EsError::parsing("[sort] empty sort object"));
            };
            let mut spec = default_spec(name);
            match opts {
                Value::String(o) => spec.desc = parse_order(o)?,
                Value::Object(o) => {
                    for (k, v) in o {
                        match k.as_str() {
                            "order" => spec.desc = parse_order(v.as_str().unwrap_or(""))?,
                            "missing" => {
                                spec.missing = match v {
                                    Value::String(s) if s == "_last" => Missing::Last,
                                    Value::String(s) if s == "_first" => Missing::First,
                                    other => Missing::Value(other.clone()),
                                }
                            }
                            "unmapped_type" => spec.unmapped_type = v.as_str().map(String::from),
                            "mode" => spec.mode = v.as_str().map(String::from),
                            "format" => spec.format = v.as_str().map(String::from),
                            "numeric_type" | "nested" => {}
                            other => {
                                return Err(EsError::parsing(format!(
                                    "[field_sort] unknown field [{other}]"
                                )));
                            }
                        }
                    }
                }
                _ => return Err(EsError::parsing("[sort] malformed sort option")),
            }
            Ok(spec)
        }
        _ => Err(EsError::parsing("[sort] malformed sort")),
    }
}

/// Parses `sort` from a body value.
pub fn parse_sort(v: &Value) -> EsResult<Vec<SortSpec>> {
    match v {
        Value::Array(a) => a.iter().map(parse_sort_item).collect(),
        other => Ok(vec![parse_sort_item(other)?]),
    }
}

/// Parses the `sort` query parameter (`f:desc,g`).
fn parse_sort_param(s: &str) -> EsResult<Vec<SortSpec>> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.rsplit_once(':') {
            Some((f, o)) => {
                let mut spec = default_spec(f);
                spec.desc = parse_order(o)?;
                out.push(spec);
            }
            None => out.push(default_spec(part)),
        }
    }
    Ok(out)
}

/// The `q` parameter: `*`, `field:value`.
pub fn parse_q(q: &str) -> EsResult<Query> {
    let q = q.trim();
    if q == "*" || q == "*:*" || q.is_empty() {
        return Ok(Query::MatchAll(1.0));
    }
    match q.split_once(':') {
        Some((f, v)) if !f.is_empty() => {
            let v = v.trim_matches('"');
            if v == "*" {
                return Ok(Query::Exists(f.to_string()));
            }
            Ok(Query::Match {
                field: f.to_string(),
                query: Value::String(v.to_string()),
                and: false,
                phrase: false,
                boost: 1.0,
            })
        }
        _ => Err(EsError::bad_request(
            "es-sim supports only `*` and `field:value` in the [q] parameter",
        )),
    }
}

fn parse_track_total(v: &Value) -> EsResult<TrackTotal> {
    match v {
        Value::Bool(true) => Ok(TrackTotal::Exact),
        Value::Bool(false) => Ok(TrackTotal::Off),
        Value::Number(n) => match n.as_i64() {
            Some(i) if i >= 0 => Ok(TrackTotal::UpTo(i as usize)),
            Some(-1) => Ok(TrackTotal::Off),
            _ => Err(EsError::bad_request(format!(
                "[track_total_hits] parameter must be positive or equals to -1, got {n}"
            ))),
        },
        Value::String(s) => match s.as_str() {
            "true" => Ok(TrackTotal::Exact),
            "false" => Ok(TrackTotal::Off),
            n => n
                .parse::<i64>()
                .map_err(|_| {
                    EsError::bad_request(format!(
                        "Failed to parse value [{n}] for [track_total_hits]"
                    ))
                })
                .and_then(|i| parse_track_total(&json!(i))),
        },
        _ => Err(EsError::parsing(
            "[track_total_hits] must be a boolean or a number",
        )),
    }
}

impl SearchRequest {
    /// Builds a request from a body and query parameters (parameters win where both are set).
    pub fn parse(body: Option<&Value>, p: &Params) -> EsResult<SearchRequest> {
        let mut r = SearchRequest::default();
        let mut from: i64 = 0;
        let mut size: i64 = 10;
        if let Some(body) = body {
            let m = body
                .as_object()
                .ok_or_else(|| EsError::parsing("request body must be an object"))?;
            for (k, v) in m {
                match k.as_str() {
                    "query" => r.query = Query::parse(v)?,
                    "post_filter" => r.post_filter = Some(Query::parse(v)?),
                    "from" => from = as_usize(v, "from")?,
                    "size" => size = as_usize(v, "size")?,
                    "sort" => r.sort = parse_sort(v)?,
                    "search_after" => {
                        r.search_after =
                            Some(v.as_array().cloned().ok_or_else(|| {
                                EsError::parsing("[search_after] must be an array")
                            })?)
                    }
                    "_source" => r.source = SourceFilter::from_json(v)?,
                    "track_total_hits" => r.track_total_hits = parse_track_total(v)?,
                    "seq_no_primary_term" => r.seq_no_primary_term = v.as_bool().unwrap_or(false),
                    "version" => r.version = v.as_bool().unwrap_or(false),
                    "track_scores" => r.track_scores = v.as_bool().unwrap_or(false),
                    "min_score" => r.min_score = v.as_f64().map(|f| f as f32),
                    "pit" => {
                        let o = v
                            .as_object()
                            .ok_or_else(|| EsError::parsing("[pit] must be an object"))?;
                        let id = o
                            .get("id")
                            .and_then(Value::as_str)
                            .ok_or_else(|| EsError::parsing("[pit] requires [id]"))?;
                        let keep_alive = match o.get("keep_alive").and_then(Value::as_str) {
                            Some(s) => Some(crate::http::parse_time_value(s, "keep_alive")?),
                            None => None,
                        };
                        r.pit = Some(PitRef {
                            id: id.to_string(),
                            keep_alive,
                        });
                    }
                    "aggs" | "aggregations" => {
                        return Err(EsError::parsing("es-sim does not support aggregations"));
                    }
                    "collapse" | "rescore" | "knn" | "suggest" | "retriever" => {
                        return Err(EsError::parsing(format!("es-sim does not support [{k}]")));
                    }
                    "timeout" | "stored_fields" | "docvalue_fields" | "fields" | "highlight"
                    | "explain" | "terminate_after" | "profile" | "runtime_mappings"
                    | "indices_boost" | "stats" | "ext" | "script_fields" | "_name" => {}
                    other => {
                        return Err(EsError::parsing(format!(
                            "Unknown key for a {} in [{other}].",
                            token_kind(v)
                        )));
                    }
                }
            }
        }
        if let Some(q) = p.get("q") {
            r.query = parse_q(q)?;
        }
        if let Some(f) = p.i64("from")? {
            from = f;
        }
        if let Some(s) = p.i64("size")? {
            size = s;
        }
        if let Some(s) = p.get("sort") {
            r.sort = parse_sort_param(s)?;
        }
        if let Some(t) = p.get("track_total_hits") {
            r.track_total_hits = parse_track_total(&Value::String(t.to_string()))?;
        }
        if p.has("seq_no_primary_term") {
            r.seq_no_primary_term = p.bool("seq_no_primary_term", false)?;
        }
        if p.has("version") {
            r.version = p.bool("version", false)?;
        }
        r.rest_total_hits_as_int = p.bool("rest_total_hits_as_int", false)?;
        r.source = r.source.clone().with_params(p);
        if from < 0 {
            return Err(EsError::bad_request(format!(
                "[from] parameter cannot be negative, found [{from}]"
            )));
        }
        if size < 0 {
            return Err(EsError::bad_request(format!(
                "[size] parameter cannot be negative, found [{size}]"
            )));
        }
        r.from = from as usize;
        r.size = size as usize;
        if r.search_after.is_some() && r.from > 0 {
            return Err(EsError::validation(&[
                "[from] parameter must be set to 0 when [search_after] is used",
            ]));
        }
        Ok(r)
    }

    fn sorted_by_score(&self) -> bool {
        self.sort.is_empty() || self.sort.iter().any(|s| s.by == SortBy::Score)
    }
}

/// One sort value of a hit.
#[derive(Debug, Clone)]
pub enum SortVal {
    Long(i64),
    Double(f64),
    Str(String),
    Null,
}

impl SortVal {
    fn to_json(&self) -> Value {
        match self {
            SortVal::Long(i) => json!(i),
            SortVal::Double(f) => json!(f),
            SortVal::Str(s) => json!(s),
            SortVal::Null => Value::Null,
        }
    }

    fn num(&self) -> Option<f64> {
        match self {
            SortVal::Long(i) => Some(*i as f64),
            SortVal::Double(f) => Some(*f),
            _ => None,
        }
    }
}

/// A matching document with its score and sort values.
#[derive(Debug, Clone)]
pub struct Hit {
    pub index: Arc<str>,
    pub ordinal: u32,
    pub id: Arc<str>,
    pub doc: Arc<Doc>,
    pub score: f32,
    pub sort: Vec<SortVal>,
}

/// The result of running a query over targets.
#[derive(Debug)]
pub struct Matches {
    /// Sorted hits after `search_after` (all of them, or the first `limit`).
    pub hits: Vec<Hit>,
    /// Total matching documents (before `search_after` and paging).
    pub total: usize,
    pub max_score: Option<f32>,
}

fn shard_doc(ordinal: u32, seq_no: i64) -> i64 {
    ((ordinal as i64) << 40) + seq_no
}

/// How one sort field applies to one target.
enum FieldSorter {
    Mapped {
        path: String,
        kind: FieldKind,
        /// The mapping's date `format`, for reading document values.
        format: Option<String>,
    },
    Unmapped(FieldKind),
}

fn sorter_for(spec: &SortSpec, field: &str, t: &Target) -> EsResult<FieldSorter> {
    if field == "_id" {
        // `indices.id_field_data.enabled` is false by default since 8.0.
        return Err(EsError::bad_request(
            "Fielddata access on the _id field is disallowed, you can re-enable it by updating the dynamic cluster setting: indices.id_field_data.enabled",
        )
        .shard_failure(&t.name, &t.uuid));
    }
    match t.mappings.resolve(field) {
        Some(r) => match r.kind {
            FieldKind::Text => Err(EsError::bad_request(format!(
                "Fielddata is disabled on [{field}] in [{}]. Text fields are not optimised for operations that require per-document field data like aggregations and sorting, so these operations are disabled by default. Please use a keyword field instead. Alternatively, set fielddata=true on [{field}] in order to load field data by uninverting the inverted index. Note that this can use significant memory.",
                t.name
            ))
            .shard_failure(&t.name, &t.uuid)),
            FieldKind::Object | FieldKind::Other => Err(EsError::bad_request(format!("can't sort on field [{field}]")).shard_failure(&t.name, &t.uuid)),
            kind => Ok(FieldSorter::Mapped {
                path: r.source_path,
                kind,
                format: r.format,
            }),
        },
        None => match &spec.unmapped_type {
            Some(ty) => Ok(FieldSorter::Unmapped(FieldKind::of(ty))),
            None => Err(EsError::new(400, "query_shard_exception", format!("No mapping found for [{field}] in order to sort on"))
                .with("index_uuid", t.uuid.as_ref())
                .with("index", t.name.as_ref())
                .shard_failure(&t.name, &t.uuid)),
        },
    }
}

fn is_numeric(kind: FieldKind) -> bool {
    matches!(
        kind,
        FieldKind::Long | FieldKind::Double | FieldKind::Date | FieldKind::Boolean
    )
}

fn missing_value(spec: &SortSpec, kind: FieldKind) -> SortVal {
    let first = spec.missing == Missing::First;
    match &spec.missing {
        Missing::Value(v) => value_to_sortval(v, kind, spec).unwrap_or(SortVal::Null),
        _ if is_numeric(kind) => {
            // Elasticsearch substitutes the extreme value that sorts missing docs last (or first).
            let high = spec.desc == first;
            if kind == FieldKind::Double {
                SortVal::Double(if high { f64::MAX } else { -f64::MAX })
            } else {
                SortVal::Long(if high { i64::MAX } else { i64::MIN })
            }
        }
        _ => SortVal::Null,
    }
}

fn key_to_sortval(k: Key, kind: FieldKind) -> SortVal {
    match (k, kind) {
        (Key::Num(n), FieldKind::Double) => SortVal::Double(n),
        (Key::Num(n), _) => SortVal::Long(n as i64),
        (Key::Bool(b), _) => SortVal::Long(b as i64),
        (Key::Str(s), _) => SortVal::Str(s),
    }
}

fn value_to_sortval(v: &Value, kind: FieldKind, spec: &SortSpec) -> Option<SortVal> {
    if v.is_null() {
        return Some(SortVal::Null);
    }
    let fmt = spec.format.as_deref();
    doc_key(v, kind, fmt).map(|k| key_to_sortval(k, kind))
}

fn field_sortval(sorter: &FieldSorter, spec: &SortSpec, source: &Value) -> SortVal {
    let (path, kind, format) = match sorter {
        FieldSorter::Unmapped(kind) => return missing_value(spec, *kind),
        FieldSorter::Mapped { path, kind, format } => (path, *kind, format.as_deref()),
    };
    let mut vals: Vec<SortVal> = Vec::new();
    visit_values(source, path, &mut |v| {
        if let Some(k) = doc_key(v, kind, format) {
            vals.push(key_to_sortval(k, kind));
        }
    });
    if vals.is_empty() {
        return missing_value(spec, kind);
    }
    let mode = spec
        .mode
        .as_deref()
        .unwrap_or(if spec.desc { "max" } else { "min" });
    match mode {
        "sum" | "avg" | "median" if is_numeric(kind) => {
            let nums: Vec<f64> = vals.iter().filter_map(SortVal::num).collect();
            let sum: f64 = nums.iter().sum();
            let v = if mode == "sum" {
                sum
            } else {
                sum / nums.len().max(1) as f64
            };
            if kind == FieldKind::Double {
                SortVal::Double(v)
            } else {
                SortVal::Long(v as i64)
            }
        }
        "max" => vals
            .into_iter()
            .max_by(cmp_sortval)
            .unwrap_or(SortVal::Null),
        _ => vals
            .into_iter()
            .min_by(cmp_sortval)
            .unwrap_or(SortVal::Null),
    }
}

/// Natural order of sort values; `Null` compares greater than everything.
fn cmp_sortval(a: &SortVal, b: &SortVal) -> Ordering {
    match (a, b) {
        (SortVal::Null, SortVal::Null) => Ordering::Equal,
        (SortVal::Null, _) => Ordering::Greater,
        (_, SortVal::Null) => Ordering::Less,
        (SortVal::Str(x), SortVal::Str(y)) => x.cmp(y),
        (SortVal::Long(x), SortVal::Long(y)) => x.cmp(y),
        (x, y) => match (x.num(), y.num()) {
            (Some(p), Some(q)) => p.partial_cmp(&q).unwrap_or(Ordering::Equal),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            _ => Ordering::Equal,
        },
    }
}

/// Compares two sort-value rows under the specs (direction and missing placement).
fn cmp_rows(specs: &[SortSpec], a: &[SortVal], b: &[SortVal]) -> Ordering {
    for (i, spec) in specs.iter().enumerate() {
        let (x, y) = (&a[i], &b[i]);
        let ord = match (x, y) {
            // Null only appears for missing keyword values: placed by `missing`, not by order.
            (SortVal::Null, SortVal::Null) => Ordering::Equal,
            (SortVal::Null, _) => {
                if spec.missing == Missing::First {
                    Ordering::Less
                } else {
                    Ordering::Greater
                }
            }
            (_, SortVal::Null) => {
                if spec.missing == Missing::First {
                    Ordering::Greater
                } else {
                    Ordering::Less
                }
            }
            _ => {
                let o = cmp_sortval(x, y);
                if spec.desc { o.reverse() } else { o }
            }
        };
        if ord != Ordering::Equal {
            return ord;
        }
    }
    Ordering::Equal
}

/// The effective sort: the requested one, `_score` by default, plus `_shard_doc` with a PIT.
fn effective_sort(req: &SearchRequest, pit: bool) -> Vec<SortSpec> {
    let mut specs = if req.sort.is_empty() {
        vec![default_spec("_score")]
    } else {
        req.sort.clone()
    };
    // Like `SearchRequest#rewrite`: a PIT search with an explicit sort gets an implicit
    // `_shard_doc` tiebreaker, unless `search_after` was built without one.
    let add_tiebreaker = pit
        && req.sort.last().is_some_and(|s| s.by != SortBy::ShardDoc)
        && req
            .search_after
            .as_ref()
            .is_none_or(|a| a.len() == req.sort.len() + 1);
    if add_tiebreaker {
        specs.push(default_spec("_shard_doc"));
    }
    specs
}

fn search_after_row(
    specs: &[SortSpec],
    after: &[Value],
    targets: &[Target],
) -> EsResult<Vec<SortVal>> {
    if after.len() != specs.len() {
        return Err(EsError::bad_request(format!(
            "search_after has {} value(s) but sort has {}.",
            after.len(),
            specs.len()
        )));
    }
    let mut row = Vec::with_capacity(after.len());
    for (spec, v) in specs.iter().zip(after) {
        let sv = match &spec.by {
            SortBy::Score => SortVal::Double(v.as_f64().unwrap_or(0.0)),
            SortBy::Doc | SortBy::ShardDoc => SortVal::Long(v.as_i64().unwrap_or(0)),
            SortBy::Field(f) => {
                let kind = targets
                    .iter()
                    .find_map(|t| t.mappings.resolve(f).map(|r| r.kind))
                    .or_else(|| spec.unmapped_type.as_deref().map(FieldKind::of))
                    .unwrap_or(FieldKind::Keyword);
                match v {
                    Value::Null => SortVal::Null,
                    Value::Number(n) if is_numeric(kind) => match n.as_i64() {
                        Some(i) if kind != FieldKind::Double => SortVal::Long(i),
                        _ => SortVal::Double(n.as_f64().unwrap_or(0.0)),
                    },
                    other => value_to_sortval(other, kind, spec).ok_or_else(|| {
                        EsError::bad_request(format!(
                            "Failed to parse search_after value [{other}] for field [{f}]"
                        ))
                    })?,
                }
            }
        };
        row.push(sv);
    }
    Ok(row)
}

/// Runs a query over targets and sorts the matches. `limit` keeps only the first hits after
/// `search_after` (None keeps all, for scrolls).
pub fn execute(
    targets: &[Target],
    req: &SearchRequest,
    pit: bool,
    limit: Option<usize>,
) -> EsResult<Matches> {
    let now = crate::datemath::now_millis();
    let specs = effective_sort(req, pit);
    let score_sorted = req.sorted_by_score();
    let mut hits: Vec<Hit> = Vec::new();
    let mut total = 0usize;
    let mut max_score: Option<f32> = None;
    let after = match &req.search_after {
        Some(a) => Some(search_after_row(&specs, a, targets)?),
        None => None,
    };

    for t in targets {
        let ctx = CompileCtx {
            mapping: &t.mappings,
            index_name: &t.name,
            now,
        };
        let compiled = CompiledQuery::new(&req.query, &ctx).map_err(|e| wrap_shard(e, t))?;
        let post = match &req.post_filter {
            Some(q) => Some(CompiledQuery::new(q, &ctx).map_err(|e| wrap_shard(e, t))?),
            None => None,
        };
        let mut sorters: Vec<Option<FieldSorter>> = Vec::with_capacity(specs.len());
        for s in &specs {
            sorters.push(match &s.by {
                SortBy::Field(f) => Some(sorter_for(s, f, t)?),
                _ => None,
            });
        }
        // Only the fields the query, post filter and sorts read are taken out of each source.
        let mut paths: Vec<&str> = Vec::new();
        compiled.paths(&mut paths);
        if let Some(p) = &post {
            p.paths(&mut paths);
        }
        for s in sorters.iter().flatten() {
            if let FieldSorter::Mapped { path, .. } = s {
                paths.push(path);
            }
        }
        let keep = |k: &str| key_feeds_paths(k, &paths);
        let whole = paths.iter().any(|p| p.is_empty() || p.contains('*'));
        // Queries on metadata only (`match_all`, `ids`, ...) read no source at all.
        let nothing = Value::Object(serde_json::Map::new());
        for (id, doc) in t.docs.iter() {
            let source = if whole {
                std::borrow::Cow::Borrowed(doc.source.value())
            } else if paths.is_empty() {
                std::borrow::Cow::Borrowed(&nothing)
            } else {
                doc.source.project(&keep)
            };
            let Some(score) = compiled.score(id, &t.name, &source) else {
                continue;
            };
            if let Some(p) = &post
                && p.score(id, &t.name, &source).is_none()
            {
                continue;
            }
            if let Some(min) = req.min_score
                && score < min
            {
                continue;
            }
            total += 1;
            if score_sorted {
                max_score = Some(max_score.map_or(score, |m: f32| m.max(score)));
            }
            if limit == Some(0) {
                // Counting only (`_count`, `size: 0`).
                continue;
            }
            let mut row = Vec::with_capacity(specs.len());
            for (spec, sorter) in specs.iter().zip(&sorters) {
                row.push(match &spec.by {
                    SortBy::Score => SortVal::Double(score as f64),
                    SortBy::Doc | SortBy::ShardDoc => {
                        SortVal::Long(shard_doc(t.ordinal, doc.seq_no))
                    }
                    SortBy::Field(_) => match sorter {
                        Some(s) => field_sortval(s, spec, &source),
                        None => SortVal::Null,
                    },
                });
            }
            if let Some(a) = &after
                && cmp_rows(&specs, &row, a) != Ordering::Greater
            {
                continue;
            }
            hits.push(Hit {
                index: t.name.clone(),
                ordinal: t.ordinal,
                id: id.clone(),
                doc: doc.clone(),
                score,
                sort: row,
            });
        }
    }

    let cmp = |a: &Hit, b: &Hit| {
        cmp_rows(&specs, &a.sort, &b.sort)
            .then_with(|| a.ordinal.cmp(&b.ordinal))
            .then_with(|| a.doc.seq_no.cmp(&b.doc.seq_no))
    };
    match limit {
        Some(k) if k < hits.len() => {
            if k == 0 {
                hits.clear();
            } else {
                hits.select_nth_unstable_by(k - 1, cmp);
                hits.truncate(k);
                hits.sort_unstable_by(cmp);
            }
        }
        _ => hits.sort_unstable_by(cmp),
    }
    Ok(Matches {
        hits,
        total,
        max_score,
    })
}

fn wrap_shard(e: EsError, t: &Target) -> EsError {
    match e.kind() {
        Some("query_shard_exception") | Some("parse_exception") => {
            e.shard_failure(&t.name, &t.uuid)
        }
        _ => e,
    }
}

/// Checks `from + size` against `index.max_result_window`.
pub fn check_window(req: &SearchRequest, targets: &[Target]) -> EsResult<()> {
    let window = req.from + req.size;
    if window > MAX_RESULT_WINDOW {
        let (name, uuid) = targets
            .first()
            .map(|t| (t.name.to_string(), t.uuid.to_string()))
            .unwrap_or_default();
        return Err(EsError::bad_request(format!(
            "Result window is too large, from + size must be less than or equal to: [{MAX_RESULT_WINDOW}] but was [{window}]. See the scroll api for a more efficient way to request large data sets. This limit can be set by changing the [index.max_result_window] index level setting."
        ))
        .shard_failure(&name, &uuid));
    }
    Ok(())
}

/// Renders one hit.
pub fn render_hit(h: &Hit, req: &SearchRequest, show_score: bool, show_sort: bool) -> Value {
    let mut m = Map::new();
    m.insert("_index".into(), json!(h.index.as_ref()));
    m.insert("_id".into(), json!(h.id.as_ref()));
    if req.version {
        m.insert("_version".into(), json!(h.doc.version));
    }
    if req.seq_no_primary_term {
        m.insert("_seq_no".into(), json!(h.doc.seq_no));
        m.insert("_primary_term".into(), json!(PRIMARY_TERM));
    }
    m.insert(
        "_score".into(),
        if show_score {
            json!(h.score)
        } else {
            Value::Null
        },
    );
    if let Some(src) = req.source.apply(h.doc.source.value()) {
        m.insert("_source".into(), src);
    }
    if show_sort {
        m.insert(
            "sort".into(),
            Value::Array(h.sort.iter().map(SortVal::to_json).collect()),
        );
    }
    Value::Object(m)
}

/// The `hits` object for a page of hits.
pub fn render_hits(
    page: &[Hit],
    total: usize,
    max_score: Option<f32>,
    req: &SearchRequest,
    exact_total: bool,
) -> Value {
    let show_score = req.sorted_by_score() || req.track_scores;
    let show_sort = !req.sort.is_empty();
    let hits: Vec<Value> = page
        .iter()
        .map(|h| render_hit(h, req, show_score, show_sort))
        .collect();
    let mut m = Map::new();
    let track = if exact_total {
        TrackTotal::Exact
    } else {
        req.track_total_hits
    };
    match track {
        TrackTotal::Off => {}
        TrackTotal::Exact => {
            m.insert("total".into(), total_json(total, "eq", req));
        }
        TrackTotal::UpTo(n) => {
            if total > n {
                m.insert("total".into(), total_json(n, "gte", req));
            } else {
                m.insert("total".into(), total_json(total, "eq", req));
            }
        }
    }
    let max = if show_score {
        max_score.map(|s| json!(s)).unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    m.insert("max_score".into(), max);
    m.insert("hits".into(), Value::Array(hits));
    Value::Object(m)
}

fn total_json(n: usize, relation: &str, req: &SearchRequest) -> Value {
    if req.rest_total_hits_as_int {
        json!(n)
    } else {
        json!({"value": n, "relation": relation})
    }
}

pub fn shards_json(n: usize) -> Value {
    json!({"total": n, "successful": n, "skipped": 0, "failed": 0})
}

// ---------------------------------------------------------------------------------------------
// Scroll and point-in-time contexts

#[derive(Debug)]
pub struct ScrollCtx {
    pub hits: Vec<Hit>,
    pub pos: usize,
    pub total: usize,
    pub max_score: Option<f32>,
    pub req: SearchRequest,
    pub shards: usize,
    pub keep_alive: Duration,
    pub expires: Instant,
}

#[derive(Debug)]
pub struct PitCtx {
    pub targets: Vec<Target>,
    pub expires: Instant,
}

#[derive(Debug, Default)]
pub struct Contexts {
    pub scrolls: HashMap<String, ScrollCtx>,
    pub pits: HashMap<String, PitCtx>,
}

impl Contexts {
    pub fn expire(&mut self) {
        let now = Instant::now();
        self.scrolls.retain(|_, s| s.expires > now);
        self.pits.retain(|_, p| p.expires > now);
    }
}

/// `search_context_missing_exception` as a failed search.
pub fn context_missing(id: &str) -> EsError {
    let cause = json!({"type": "search_context_missing_exception", "reason": format!("No search context found for id [{id}]")});
    let mut e = EsError::new(404, "search_phase_execution_exception", "all shards failed")
        .with_top("phase", "query")
        .with_top("grouped", true)
        .with_top(
            "failed_shards",
            json!([{"shard": -1, "index": null, "reason": cause.clone()}]),
        )
        .caused_by(cause.clone());
    if let crate::error::ErrorBody::Envelope { root_cause, .. } = &mut *e.body {
        *root_cause = Some(vec![cause]);
    }
    e
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::build_index;

    fn target() -> Target {
        let (mut idx, _) = build_index("t", None).unwrap();
        for (i, (s, n)) in [("b", 2), ("a", 1), ("c", 3)].iter().enumerate() {
            idx.index_doc(
                Arc::from(format!("{i}").as_str()),
                json!({"s": s, "n": n}),
                false,
                crate::store::Cond::None,
            )
            .unwrap();
        }
        idx.index_doc(
            Arc::from("9"),
            json!({"other": true}),
            false,
            crate::store::Cond::None,
        )
        .unwrap();
        idx.refresh();
        Target {
            name: idx.name.clone(),
            uuid: idx.uuid.clone(),
            ordinal: 0,
            docs: idx.searchable.clone(),
            mappings: idx.mappings_arc(),
        }
    }

    fn req(body: Value) -> SearchRequest {
        SearchRequest::parse(Some(&body), &Params::default()).unwrap()
    }

    fn ids(m: &Matches) -> Vec<String> {
        m.hits.iter().map(|h| h.id.to_string()).collect()
    }

    #[test]
    fn sorts_with_missing_and_search_after() {
        let t = vec![target()];
        let r = req(json!({"sort": [{"n": "desc"}]}));
        let m = execute(&t, &r, false, None).unwrap();
        assert_eq!(ids(&m), vec!["2", "0", "1", "9"]);
        assert_eq!(m.hits[3].sort[0].to_json(), json!(i64::MIN));
        let r = req(json!({"sort": [{"s.keyword": {"order": "asc", "missing": "_first"}}]}));
        let m = execute(&t, &r, false, None).unwrap();
        assert_eq!(ids(&m), vec!["9", "1", "0", "2"]);
        let r = req(json!({"sort": ["n"], "search_after": [1]}));
        let m = execute(&t, &r, false, None).unwrap();
        assert_eq!(ids(&m), vec!["0", "2", "9"]);
        assert_eq!(m.total, 4);
    }

    #[test]
    fn sort_errors() {
        let t = vec![target()];
        let e = execute(&t, &req(json!({"sort": ["nope"]})), false, None).unwrap_err();
        assert_eq!(e.kind(), Some("search_phase_execution_exception"));
        assert!(
            execute(
                &t,
                &req(json!({"sort": [{"nope": {"unmapped_type": "long"}}]})),
                false,
                None
            )
            .is_ok()
        );
        let e = execute(&t, &req(json!({"sort": ["s"]})), false, None).unwrap_err();
        assert_eq!(e.status, 400);
    }

    #[test]
    fn totals() {
        let r = req(json!({"track_total_hits": 2}));
        let h = render_hits(&[], 4, None, &r, false);
        assert_eq!(h["total"], json!({"value": 2, "relation": "gte"}));
        let r = req(json!({"track_total_hits": false}));
        assert!(render_hits(&[], 4, None, &r, false).get("total").is_none());
    }
}
