//! Parsing a search request (body and URL parameters): `query`/`q`, `from`/`size`, `sort`,
//! `search_after`, `track_total_hits`, `_source` filtering, `pit`, with Elasticsearch's errors.

use std::time::Duration;

use serde_json::{Value, json};

use super::MAX_RESULT_WINDOW;
use crate::error::{EsError, EsResult};
use crate::http::Params;
use crate::query::Query;
use crate::source_filter::SourceFilter;

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

pub(super) fn default_spec(name: &str) -> SortSpec {
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

    pub(super) fn sorted_by_score(&self) -> bool {
        self.sort.is_empty() || self.sort.iter().any(|s| s.by == SortBy::Score)
    }
}
