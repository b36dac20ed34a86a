//! The query DSL subset: parsing (`parsing_exception` for unknown queries), compiling against an
//! index's mapping (unmapped fields match nothing), and matching documents.
//!
//! Scores are simple: every matching leaf scores its boost (1.0), `bool` sums its scoring clauses,
//! filters score 0.

use std::collections::HashSet;

use regex::Regex;
use serde_json::{Map, Value};

use crate::datemath;
use crate::error::{EsError, EsResult};
use crate::mapping::{FieldKind, ObjectMapping};

/// A parsed query.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)]
pub enum Query {
    MatchAll(f32),
    MatchNone,
    Term {
        field: String,
        value: Value,
        ci: bool,
        boost: f32,
    },
    Terms {
        field: String,
        values: Vec<Value>,
        boost: f32,
    },
    Ids(Vec<String>),
    Range {
        field: String,
        bounds: RangeBounds,
        format: Option<String>,
        boost: f32,
    },
    Exists(String),
    Bool(Box<BoolQuery>),
    Match {
        field: String,
        query: Value,
        and: bool,
        phrase: bool,
        boost: f32,
    },
    MultiMatch {
        fields: Vec<String>,
        query: Value,
        and: bool,
        boost: f32,
    },
    Prefix {
        field: String,
        value: String,
        ci: bool,
        boost: f32,
    },
    Wildcard {
        field: String,
        pattern: String,
        ci: bool,
        boost: f32,
    },
    ConstantScore(Box<Query>, f32),
}

#[derive(Debug, Clone, Default)]
pub struct RangeBounds {
    pub gt: Option<Value>,
    pub gte: Option<Value>,
    pub lt: Option<Value>,
    pub lte: Option<Value>,
}

#[derive(Debug, Clone, Default)]
pub struct BoolQuery {
    pub must: Vec<Query>,
    pub filter: Vec<Query>,
    pub should: Vec<Query>,
    pub must_not: Vec<Query>,
    pub msm: Option<Value>,
    pub boost: f32,
}

fn unknown_key(kind: &str, key: &str) -> EsError {
    EsError::parsing(format!("[{kind}] query does not support [{key}]"))
}

fn boost_of(m: &Map<String, Value>) -> f32 {
    m.get("boost").and_then(Value::as_f64).unwrap_or(1.0) as f32
}

/// A query of the form `{"<field>": value}` or `{"<field>": {"value": …, …}}`: returns the field
/// name and the inner object (a bare value becomes `{"<short>": value}`).
fn single_field(kind: &str, body: &Value, short: &str) -> EsResult<(String, Map<String, Value>)> {
    let m = body.as_object().ok_or_else(|| {
        EsError::parsing(format!(
            "[{kind}] query malformed, no start_object after query name"
        ))
    })?;
    let mut field = None;
    let mut opts = Map::new();
    for (k, v) in m {
        if k == "boost" || k == "_name" {
            opts.insert(k.clone(), v.clone());
            continue;
        }
        if field.is_some() {
            return Err(EsError::parsing(format!(
                "[{kind}] query doesn't support multiple fields, found [{}] and [{k}]",
                field.as_deref().unwrap_or("")
            )));
        }
        field = Some(k.clone());
        match v {
            Value::Object(inner) => {
                for (ik, iv) in inner {
                    opts.insert(ik.clone(), iv.clone());
                }
            }
            other => {
                opts.insert(short.to_string(), other.clone());
            }
        }
    }
    let field = field
        .ok_or_else(|| EsError::parsing(format!("[{kind}] query malformed, no field specified")))?;
    Ok((field, opts))
}

fn clauses(v: &Value) -> EsResult<Vec<Query>> {
    match v {
        Value::Array(a) => a.iter().map(Query::parse).collect(),
        Value::Object(_) => Ok(vec![Query::parse(v)?]),
        _ => Err(EsError::parsing(
            "[bool] query malformed, expected an object or array of queries",
        )),
    }
}

impl Query {
    /// Parses a query object such as `{"term": {"status": "pending"}}`.
    pub fn parse(v: &Value) -> EsResult<Query> {
        let m = v
            .as_object()
            .ok_or_else(|| EsError::parsing("query malformed, must start with start_object"))?;
        if m.is_empty() {
            return Ok(Query::MatchAll(1.0));
        }
        if m.len() > 1 {
            let keys: Vec<&String> = m.keys().collect();
            return Err(EsError::parsing(format!(
                "[{}] malformed query, expected [END_OBJECT] but found [FIELD_NAME]",
                keys[0]
            )));
        }
        let Some((kind, body)) = m.iter().next() else {
            return Ok(Query::MatchAll(1.0));
        };
        let kind = kind.as_str();
        match kind {
            "match_all" => Ok(Query::MatchAll(body.as_object().map(boost_of).unwrap_or(1.0))),
            "match_none" => Ok(Query::MatchNone),
            "term" => {
                let (field, o) = single_field(kind, body, "value")?;
                let value = o.get("value").cloned().ok_or_else(|| EsError::parsing("[term] query malformed, no value specified"))?;
                for k in o.keys() {
                    if !["value", "boost", "_name", "case_insensitive"].contains(&k.as_str()) {
                        return Err(unknown_key("term", k));
                    }
                }
                if value.is_object() || value.is_array() {
                    return Err(EsError::parsing("[term] query does not support array of values"));
                }
                let ci = o.get("case_insensitive").and_then(Value::as_bool).unwrap_or(false);
                Ok(Query::Term { field, value, ci, boost: boost_of(&o) })
            }
            "terms" => {
                let m = body.as_object().ok_or_else(|| EsError::parsing("[terms] query malformed, no start_object after query name"))?;
                let mut field = None;
                let mut values = Vec::new();
                for (k, v) in m {
                    if k == "boost" || k == "_name" {
                        continue;
                    }
                    if field.is_some() {
                        return Err(EsError::parsing("[terms] query does not support multiple fields"));
                    }
                    field = Some(k.clone());
                    match v {
                        Value::Array(a) => values = a.clone(),
                        Value::Object(_) => {
                            return Err(EsError::parsing("[terms] query does not support terms lookup in es-sim"));
                        }
                        _ => return Err(EsError::parsing(format!("[terms] query does not support [{k}]"))),
                    }
                }
                let field = field.ok_or_else(|| EsError::parsing("[terms] query requires a field"))?;
                Ok(Query::Terms { field, values, boost: boost_of(m) })
            }
            "ids" => {
                let m = body.as_object().ok_or_else(|| EsError::parsing("[ids] query malformed"))?;
                let mut ids = Vec::new();
                for (k, v) in m {
                    match k.as_str() {
                        "values" => {
                            let a = v.as_array().ok_or_else(|| EsError::parsing("[ids] values must be an array"))?;
                            for x in a {
                                match x {
                                    Value::String(s) => ids.push(s.clone()),
                                    Value::Number(n) => ids.push(n.to_string()),
                                    _ => return Err(EsError::parsing("[ids] values must be strings")),
                                }
                            }
                        }
                        "boost" | "_name" | "type" => {}
                        other => return Err(unknown_key("ids", other)),
                    }
                }
                Ok(Query::Ids(ids))
            }
            "range" => {
                let (field, o) = single_field(kind, body, "value")?;
                let mut bounds = RangeBounds::default();
                let mut format = None;
                for (k, v) in &o {
                    match k.as_str() {
                        "gt" => bounds.gt = Some(v.clone()),
                        "gte" => bounds.gte = Some(v.clone()),
                        "lt" => bounds.lt = Some(v.clone()),
                        "lte" => bounds.lte = Some(v.clone()),
                        "from" => bounds.gte = Some(v.clone()),
                        "to" => bounds.lte = Some(v.clone()),
                        "format" => format = v.as_str().map(String::from),
                        "boost" | "_name" | "time_zone" | "relation" | "include_lower" | "include_upper" => {}
                        other => return Err(EsError::parsing(format!("[range] query does not support [{other}]"))),
                    }
                }
                Ok(Query::Range { field, bounds, format, boost: boost_of(&o) })
            }
            "exists" => {
                let m = body.as_object().ok_or_else(|| EsError::parsing("[exists] query malformed"))?;
                let field = m
                    .get("field")
                    .and_then(Value::as_str)
                    .ok_or_else(|| EsError::parsing("[exists] must be provided with a [field]"))?;
                Ok(Query::Exists(field.to_string()))
            }
            "bool" => {
                let m = body.as_object().ok_or_else(|| EsError::parsing("[bool] query malformed"))?;
                let mut b = BoolQuery { boost: boost_of(m), ..Default::default() };
                for (k, v) in m {
                    match k.as_str() {
                        "must" => b.must = clauses(v)?,
                        "filter" => b.filter = clauses(v)?,
                        "should" => b.should = clauses(v)?,
                        "must_not" | "mustNot" => b.must_not = clauses(v)?,
                        "minimum_should_match" => b.msm = Some(v.clone()),
                        "boost" | "_name" | "adjust_pure_negative" => {}
                        other => return Err(EsError::parsing(format!("[bool] query does not support [{other}]"))),
                    }
                }
                Ok(Query::Bool(Box::new(b)))
            }
            "match" | "match_phrase" | "match_bool_prefix" | "match_phrase_prefix" => {
                let (field, o) = single_field(kind, body, "query")?;
                let query = o.get("query").cloned().ok_or_else(|| EsError::parsing(format!("[{kind}] requires query value")))?;
                let and = o.get("operator").and_then(Value::as_str).map(|s| s.eq_ignore_ascii_case("and")).unwrap_or(false);
                Ok(Query::Match { field, query, and, phrase: kind != "match", boost: boost_of(&o) })
            }
            "multi_match" => {
                let m = body.as_object().ok_or_else(|| EsError::parsing("[multi_match] query malformed"))?;
                let query = m.get("query").cloned().ok_or_else(|| EsError::parsing("No text specified for multi_match query"))?;
                let fields = m
                    .get("fields")
                    .and_then(Value::as_array)
                    .map(|a| a.iter().filter_map(Value::as_str).map(|s| s.split('^').next().unwrap_or(s).to_string()).collect())
                    .unwrap_or_default();
                let and = m.get("operator").and_then(Value::as_str).map(|s| s.eq_ignore_ascii_case("and")).unwrap_or(false);
                Ok(Query::MultiMatch { fields, query, and, boost: boost_of(m) })
            }
            "prefix" => {
                let (field, o) = single_field(kind, body, "value")?;
                let value = o.get("value").and_then(value_as_string).ok_or_else(|| EsError::parsing("[prefix] requires a value"))?;
                let ci = o.get("case_insensitive").and_then(Value::as_bool).unwrap_or(false);
                Ok(Query::Prefix { field, value, ci, boost: boost_of(&o) })
            }
            "wildcard" => {
                let (field, o) = single_field(kind, body, "value")?;
                let pattern = o
                    .get("value")
                    .or_else(|| o.get("wildcard"))
                    .and_then(value_as_string)
                    .ok_or_else(|| EsError::parsing("[wildcard] requires a value"))?;
                let ci = o.get("case_insensitive").and_then(Value::as_bool).unwrap_or(false);
                Ok(Query::Wildcard { field, pattern, ci, boost: boost_of(&o) })
            }
            "constant_score" => {
                let m = body.as_object().ok_or_else(|| EsError::parsing("[constant_score] query malformed"))?;
                let f = m.get("filter").ok_or_else(|| EsError::parsing("[constant_score] requires a 'filter' element"))?;
                Ok(Query::ConstantScore(Box::new(Query::parse(f)?), boost_of(m)))
            }
            "query_string" | "simple_query_string" | "regexp" | "fuzzy" | "nested" | "has_child" | "has_parent"
            | "function_score" | "script_score" | "script" | "geo_distance" | "more_like_this" | "knn" | "dis_max"
            | "boosting" | "intervals" | "semantic" | "sparse_vector" | "text_expansion" | "combined_fields"
            | "terms_set" | "span_term" | "pinned" | "rule" => Err(EsError::parsing(format!(
                "es-sim does not support the [{kind}] query"
            ))),
            other => Err(EsError::parsing(format!("unknown query [{other}]"))
                .caused_by(serde_json::json!({"type": "named_object_not_found_exception", "reason": format!("[1:{}] unknown field [{other}]", 10 + other.len())}))),
        }
    }
}

fn value_as_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Compiled form

/// A comparable value of one field.
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    Str(String),
    Num(f64),
    Bool(bool),
}

#[derive(Debug)]
enum Test {
    Eq(Vec<Key>),
    Range {
        lo: Option<(Key, bool)>,
        hi: Option<(Key, bool)>,
    },
    Prefix(String),
    Pattern(Regex),
    Tokens {
        tokens: Vec<String>,
        and: bool,
    },
}

#[derive(Debug)]
enum Compiled {
    All(f32),
    Nothing,
    Ids(HashSet<String>),
    Index(Vec<String>),
    Field {
        path: String,
        kind: FieldKind,
        test: Test,
        ci: bool,
        boost: f32,
        /// The mapping's date `format`, for reading document values.
        format: Option<String>,
    },
    Exists(String),
    Bool {
        must: Vec<Compiled>,
        filter: Vec<Compiled>,
        should: Vec<Compiled>,
        must_not: Vec<Compiled>,
        msm: usize,
        boost: f32,
    },
    Constant(Box<Compiled>, f32),
}

/// A query compiled for one index.
#[derive(Debug)]
pub struct CompiledQuery {
    root: Compiled,
}

/// What a compiled query needs to know about the index it runs on.
pub struct CompileCtx<'a> {
    pub mapping: &'a ObjectMapping,
    pub index_name: &'a str,
    pub now: i64,
}

fn shard_error(reason: String) -> EsError {
    EsError::new(400, "query_shard_exception", reason)
}

/// Lower-cased alphanumeric tokens, like the standard analyzer.
pub fn tokenize(s: &str) -> Vec<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(|t| t.to_lowercase())
        .collect()
}

fn key_for(
    kind: FieldKind,
    field: &str,
    v: &Value,
    format: Option<&str>,
    now: i64,
    round_up: bool,
) -> EsResult<Option<Key>> {
    Ok(match kind {
        FieldKind::Keyword | FieldKind::Text => value_as_string(v).map(Key::Str),
        FieldKind::Long | FieldKind::Double => match v {
            Value::Number(n) => n.as_f64().map(Key::Num),
            Value::String(s) => Some(Key::Num(s.trim().parse::<f64>().map_err(|_| {
                shard_error(format!("failed to create query: For input string: \"{s}\""))
            })?)),
            Value::Bool(_) => {
                return Err(shard_error(format!(
                    "failed to create query: For input string: \"{v}\""
                )));
            }
            _ => None,
        },
        FieldKind::Date => match v {
            Value::Number(n) => n.as_f64().map(Key::Num),
            Value::String(s) => Some(Key::Num(
                datemath::eval(s, now, round_up, format).ok_or_else(|| {
                    EsError::parse(format!(
                        "failed to parse date field [{s}] with format [{}]",
                        format.unwrap_or("strict_date_optional_time||epoch_millis")
                    ))
                })? as f64,
            )),
            _ => None,
        },
        FieldKind::Boolean => match v {
            Value::Bool(b) => Some(Key::Bool(*b)),
            Value::String(s) if s == "true" || s == "false" => Some(Key::Bool(s == "true")),
            Value::String(s) if s.is_empty() => Some(Key::Bool(false)),
            _ => {
                return Err(shard_error(format!(
                    "failed to create query: Can't parse boolean value [{}], expected [true] or [false]",
                    value_as_string(v).unwrap_or_default()
                )));
            }
        },
        FieldKind::Object | FieldKind::Other => {
            let _ = field;
            None
        }
    })
}

fn glob_regex(pattern: &str, ci: bool) -> EsResult<Regex> {
    let mut re = String::from(if ci { "(?is)^" } else { "(?s)^" });
    for c in pattern.chars() {
        match c {
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    Regex::new(&re).map_err(|e| EsError::bad_request(e.to_string()))
}

fn compile(q: &Query, ctx: &CompileCtx) -> EsResult<Compiled> {
    Ok(match q {
        Query::MatchAll(b) => Compiled::All(*b),
        Query::MatchNone => Compiled::Nothing,
        Query::Ids(ids) => Compiled::Ids(ids.iter().cloned().collect()),
        Query::Term {
            field,
            value,
            ci,
            boost,
        } => compile_eq(field, std::slice::from_ref(value), *ci, *boost, ctx)?,
        Query::Terms {
            field,
            values,
            boost,
        } => compile_eq(field, values, false, *boost, ctx)?,
        Query::Exists(f) => match ctx.mapping.resolve(f) {
            Some(r) => Compiled::Exists(r.source_path),
            None if f == "_id" || f == "_index" => Compiled::All(1.0),
            None => Compiled::Nothing,
        },
        Query::Range {
            field,
            bounds,
            format,
            boost,
        } => {
            let Some(r) = ctx.mapping.resolve(field) else {
                return Ok(Compiled::Nothing);
            };
            let fmt = format.as_deref().or(r.format.as_deref());
            let mut lo = None;
            let mut hi = None;
            if let Some(v) = &bounds.gte {
                lo = key_for(r.kind, field, v, fmt, ctx.now, false)?.map(|k| (k, true));
            }
            if let Some(v) = &bounds.gt {
                lo = key_for(r.kind, field, v, fmt, ctx.now, true)?.map(|k| (k, false));
            }
            if let Some(v) = &bounds.lte {
                hi = key_for(r.kind, field, v, fmt, ctx.now, true)?.map(|k| (k, true));
            }
            if let Some(v) = &bounds.lt {
                hi = key_for(r.kind, field, v, fmt, ctx.now, false)?.map(|k| (k, false));
            }
            if matches!(r.kind, FieldKind::Object | FieldKind::Other) {
                return Ok(Compiled::Nothing);
            }
            Compiled::Field {
                path: r.source_path,
                kind: r.kind,
                test: Test::Range { lo, hi },
                ci: false,
                boost: *boost,
                format: r.format,
            }
        }
        Query::Match {
            field,
            query,
            and,
            phrase,
            boost,
        } => compile_match(field, query, *and || *phrase, *boost, ctx)?,
        Query::MultiMatch {
            fields,
            query,
            and,
            boost,
        } => {
            let mut should = Vec::new();
            for f in fields {
                if f.contains('*') {
                    continue;
                }
                should.push(compile_match(f, query, *and, *boost, ctx)?);
            }
            Compiled::Bool {
                must: vec![],
                filter: vec![],
                should,
                must_not: vec![],
                msm: 1,
                boost: 1.0,
            }
        }
        Query::Prefix {
            field,
            value,
            ci,
            boost,
        } => {
            if field == "_id" {
                return Ok(Compiled::Field {
                    path: "_id".into(),
                    kind: FieldKind::Keyword,
                    test: Test::Prefix(value.clone()),
                    ci: *ci,
                    boost: *boost,
                    format: None,
                });
            }
            let Some(r) = ctx.mapping.resolve(field) else {
                return Ok(Compiled::Nothing);
            };
            let v = if *ci {
                value.to_lowercase()
            } else {
                value.clone()
            };
            Compiled::Field {
                path: r.source_path,
                kind: r.kind,
                test: Test::Prefix(v),
                ci: *ci,
                boost: *boost,
                format: None,
            }
        }
        Query::Wildcard {
            field,
            pattern,
            ci,
            boost,
        } => {
            let re = glob_regex(pattern, *ci)?;
            if field == "_id" {
                return Ok(Compiled::Field {
                    path: "_id".into(),
                    kind: FieldKind::Keyword,
                    test: Test::Pattern(re),
                    ci: *ci,
                    boost: *boost,
                    format: None,
                });
            }
            let Some(r) = ctx.mapping.resolve(field) else {
                return Ok(Compiled::Nothing);
            };
            Compiled::Field {
                path: r.source_path,
                kind: r.kind,
                test: Test::Pattern(re),
                ci: *ci,
                boost: *boost,
                format: None,
            }
        }
        Query::ConstantScore(inner, boost) => {
            Compiled::Constant(Box::new(compile(inner, ctx)?), *boost)
        }
        Query::Bool(b) => {
            let must = b
                .must
                .iter()
                .map(|q| compile(q, ctx))
                .collect::<EsResult<Vec<_>>>()?;
            let filter = b
                .filter
                .iter()
                .map(|q| compile(q, ctx))
                .collect::<EsResult<Vec<_>>>()?;
            let should = b
                .should
                .iter()
                .map(|q| compile(q, ctx))
                .collect::<EsResult<Vec<_>>>()?;
            let must_not = b
                .must_not
                .iter()
                .map(|q| compile(q, ctx))
                .collect::<EsResult<Vec<_>>>()?;
            let default = if must.is_empty() && filter.is_empty() && !should.is_empty() {
                1
            } else {
                0
            };
            let msm = match &b.msm {
                None => default,
                Some(v) => minimum_should_match(v, should.len())?,
            };
            Compiled::Bool {
                must,
                filter,
                should,
                must_not,
                msm,
                boost: b.boost,
            }
        }
    })
}

fn minimum_should_match(v: &Value, n: usize) -> EsResult<usize> {
    let s = match v {
        Value::Number(x) => x.to_string(),
        Value::String(s) => s.trim().to_string(),
        _ => {
            return Err(EsError::parsing(
                "[bool] minimum_should_match must be a number or a string",
            ));
        }
    };
    let n_i = n as i64;
    let r = if let Some(p) = s.strip_suffix('%') {
        let p: i64 = p.parse().map_err(|_| {
            EsError::bad_request(format!("Unable to parse minimum_should_match [{s}]"))
        })?;
        if p < 0 {
            n_i + (n_i * p) / 100
        } else {
            (n_i * p) / 100
        }
    } else {
        let k: i64 = s.parse().map_err(|_| {
            EsError::bad_request(format!("Unable to parse minimum_should_match [{s}]"))
        })?;
        if k < 0 { n_i + k } else { k }
    };
    Ok(r.max(0) as usize)
}

fn compile_eq(
    field: &str,
    values: &[Value],
    ci: bool,
    boost: f32,
    ctx: &CompileCtx,
) -> EsResult<Compiled> {
    if field == "_id" {
        return Ok(Compiled::Ids(
            values.iter().filter_map(value_as_string).collect(),
        ));
    }
    if field == "_index" {
        return Ok(Compiled::Index(
            values.iter().filter_map(value_as_string).collect(),
        ));
    }
    let Some(r) = ctx.mapping.resolve(field) else {
        return Ok(Compiled::Nothing);
    };
    if matches!(r.kind, FieldKind::Object | FieldKind::Other) {
        return Ok(Compiled::Nothing);
    }
    let mut keys = Vec::with_capacity(values.len());
    for v in values {
        if let Some(mut k) = key_for(r.kind, field, v, r.format.as_deref(), ctx.now, false)? {
            if ci && let Key::Str(s) = &k {
                k = Key::Str(s.to_lowercase());
            }
            keys.push(k);
        }
    }
    Ok(Compiled::Field {
        path: r.source_path,
        kind: r.kind,
        test: Test::Eq(keys),
        ci,
        boost,
        format: r.format,
    })
}

fn compile_match(
    field: &str,
    query: &Value,
    and: bool,
    boost: f32,
    ctx: &CompileCtx,
) -> EsResult<Compiled> {
    if field == "_id" || field == "_index" {
        return compile_eq(field, std::slice::from_ref(query), false, boost, ctx);
    }
    let Some(r) = ctx.mapping.resolve(field) else {
        return Ok(Compiled::Nothing);
    };
    match r.kind {
        FieldKind::Text => {
            let text = value_as_string(query).unwrap_or_default();
            let tokens = tokenize(&text);
            if tokens.is_empty() {
                return Ok(Compiled::Nothing);
            }
            Ok(Compiled::Field {
                path: r.source_path,
                kind: r.kind,
                test: Test::Tokens { tokens, and },
                ci: false,
                boost,
                format: None,
            })
        }
        _ => compile_eq(field, std::slice::from_ref(query), false, boost, ctx),
    }
}

impl CompiledQuery {
    pub fn new(q: &Query, ctx: &CompileCtx) -> EsResult<CompiledQuery> {
        let root = compile(q, ctx)?;
        let _ = ctx.index_name;
        Ok(CompiledQuery { root })
    }

    /// Adds the source paths the query reads to `out`.
    pub fn paths<'q>(&'q self, out: &mut Vec<&'q str>) {
        fn walk<'q>(c: &'q Compiled, out: &mut Vec<&'q str>) {
            match c {
                Compiled::All(_) | Compiled::Nothing | Compiled::Ids(_) | Compiled::Index(_) => {}
                Compiled::Field { path, .. } | Compiled::Exists(path) => out.push(path),
                Compiled::Constant(inner, _) => walk(inner, out),
                Compiled::Bool {
                    must,
                    filter,
                    should,
                    must_not,
                    ..
                } => {
                    for q in must.iter().chain(filter).chain(should).chain(must_not) {
                        walk(q, out);
                    }
                }
            }
        }
        walk(&self.root, out);
    }

    /// The score of a matching document, `None` when it does not match.
    pub fn score(&self, id: &str, index: &str, source: &Value) -> Option<f32> {
        eval(&self.root, id, index, source)
    }
}

fn eval(c: &Compiled, id: &str, index: &str, source: &Value) -> Option<f32> {
    match c {
        Compiled::All(b) => Some(*b),
        Compiled::Nothing => None,
        Compiled::Ids(set) => set.contains(id).then_some(1.0),
        Compiled::Index(names) => names.iter().any(|n| n == index).then_some(1.0),
        Compiled::Exists(path) => {
            let mut found = false;
            visit_values(source, path, &mut |v| {
                if !v.is_null() {
                    found = true;
                }
            });
            found.then_some(1.0)
        }
        Compiled::Field {
            path,
            kind,
            test,
            ci,
            boost,
            format,
        } => {
            if path == "_id" {
                let k = Value::String(id.to_string());
                return field_matches(&k, FieldKind::Keyword, test, *ci, None).then_some(*boost);
            }
            if let Test::Tokens { tokens, and } = test {
                let mut doc_tokens: HashSet<String> = HashSet::new();
                visit_values(source, path, &mut |v| {
                    if let Some(s) = value_as_string(v) {
                        doc_tokens.extend(tokenize(&s));
                    }
                });
                let ok = if *and {
                    tokens.iter().all(|t| doc_tokens.contains(t))
                } else {
                    tokens.iter().any(|t| doc_tokens.contains(t))
                };
                return ok.then_some(*boost);
            }
            let mut matched = false;
            visit_values(source, path, &mut |v| {
                if !matched && field_matches(v, *kind, test, *ci, format.as_deref()) {
                    matched = true;
                }
            });
            matched.then_some(*boost)
        }
        Compiled::Constant(inner, b) => eval(inner, id, index, source).map(|_| *b),
        Compiled::Bool {
            must,
            filter,
            should,
            must_not,
            msm,
            boost,
        } => {
            let mut score = 0.0f32;
            for q in must {
                score += eval(q, id, index, source)?;
            }
            for q in filter {
                eval(q, id, index, source)?;
            }
            for q in must_not {
                if eval(q, id, index, source).is_some() {
                    return None;
                }
            }
            let mut matched = 0usize;
            for q in should {
                if let Some(s) = eval(q, id, index, source) {
                    matched += 1;
                    score += s;
                }
            }
            if matched < *msm {
                return None;
            }
            if must.is_empty() && should.is_empty() && filter.is_empty() {
                // Only must_not: a pure negative query matches everything else with score 1.
                return Some(*boost);
            }
            Some(score * *boost)
        }
    }
}

/// A document value as a key of the field's kind.
pub fn doc_key(v: &Value, kind: FieldKind, format: Option<&str>) -> Option<Key> {
    match kind {
        FieldKind::Keyword | FieldKind::Text => value_as_string(v).map(Key::Str),
        FieldKind::Long | FieldKind::Double => match v {
            Value::Number(n) => n.as_f64().map(Key::Num),
            Value::String(s) => s.trim().parse().ok().map(Key::Num),
            _ => None,
        },
        FieldKind::Date => match v {
            Value::Number(n) => n.as_f64().map(Key::Num),
            Value::String(s) => datemath::parse_date(s, format).map(|ms| Key::Num(ms as f64)),
            _ => None,
        },
        FieldKind::Boolean => match v {
            Value::Bool(b) => Some(Key::Bool(*b)),
            Value::String(s) => match s.as_str() {
                "true" => Some(Key::Bool(true)),
                "false" | "" => Some(Key::Bool(false)),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

fn cmp_keys(a: &Key, b: &Key) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Key::Str(x), Key::Str(y)) => Some(x.cmp(y)),
        (Key::Num(x), Key::Num(y)) => x.partial_cmp(y),
        (Key::Bool(x), Key::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn field_matches(v: &Value, kind: FieldKind, test: &Test, ci: bool, format: Option<&str>) -> bool {
    if kind == FieldKind::Text {
        // Analysed text: a term must equal one of the tokens.
        let Some(s) = value_as_string(v) else {
            return false;
        };
        let tokens = tokenize(&s);
        return tokens.iter().any(|t| {
            let k = Key::Str(t.clone());
            key_test(&k, test, ci)
        });
    }
    let Some(k) = doc_key(v, kind, format) else {
        return false;
    };
    key_test(&k, test, ci)
}

fn key_test(k: &Key, test: &Test, ci: bool) -> bool {
    let k = match (ci, k) {
        (true, Key::Str(s)) => Key::Str(s.to_lowercase()),
        _ => k.clone(),
    };
    match test {
        Test::Eq(keys) => keys.contains(&k),
        Test::Range { lo, hi } => {
            if let Some((b, incl)) = lo {
                match cmp_keys(&k, b) {
                    Some(std::cmp::Ordering::Greater) => {}
                    Some(std::cmp::Ordering::Equal) if *incl => {}
                    _ => return false,
                }
            }
            if let Some((b, incl)) = hi {
                match cmp_keys(&k, b) {
                    Some(std::cmp::Ordering::Less) => {}
                    Some(std::cmp::Ordering::Equal) if *incl => {}
                    _ => return false,
                }
            }
            true
        }
        Test::Prefix(p) => matches!(&k, Key::Str(s) if s.starts_with(p.as_str())),
        Test::Pattern(re) => matches!(&k, Key::Str(s) if re.is_match(s)),
        Test::Tokens { .. } => false,
    }
}

/// Whether the top-level `key` of a source can hold values of one of `paths` (as the key
/// itself or, for a dotted path, as the object or literal dotted key on its way).
pub fn key_feeds_paths(key: &str, paths: &[&str]) -> bool {
    paths.iter().any(|p| {
        p.strip_prefix(key)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
    })
}

/// Calls `f` with every value at a dotted path, looking through arrays and literal dotted keys.
pub fn visit_values<'a>(v: &'a Value, path: &str, f: &mut dyn FnMut(&'a Value)) {
    match v {
        Value::Array(a) => {
            for e in a {
                visit_values(e, path, f);
            }
        }
        Value::Object(m) => {
            if path.is_empty() {
                f(v);
                return;
            }
            if let Some(x) = m.get(path) {
                visit_leaf(x, f);
            }
            let mut idx = 0;
            while let Some(pos) = path[idx..].find('.') {
                let split = idx + pos;
                if let Some(x) = m.get(&path[..split]) {
                    visit_values(x, &path[split + 1..], f);
                }
                idx = split + 1;
            }
        }
        _ => {
            if path.is_empty() {
                f(v);
            }
        }
    }
}

fn visit_leaf<'a>(v: &'a Value, f: &mut dyn FnMut(&'a Value)) {
    match v {
        Value::Array(a) => {
            for e in a {
                visit_leaf(e, f);
            }
        }
        other => f(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn mapping() -> ObjectMapping {
        let mut m = ObjectMapping::parse(
            json!({"properties": {"status": {"type": "keyword"}, "n": {"type": "long"}, "ts": {"type": "date"}, "title": {"type": "text"}, "deleted": {"type": "boolean"}, "c": {"properties": {"id": {"type": "keyword"}}}}})
                .as_object()
                .unwrap(),
        )
        .unwrap();
        m.dynamic = Some(crate::mapping::Dynamic::False);
        m
    }

    fn matches(q: Value, doc: Value) -> bool {
        let m = mapping();
        let ctx = CompileCtx {
            mapping: &m,
            index_name: "i",
            now: datemath::parse_date("2024-01-01T00:10:00Z", None).unwrap(),
        };
        let c = CompiledQuery::new(&Query::parse(&q).unwrap(), &ctx).unwrap();
        c.score("id1", "i", &doc).is_some()
    }

    #[test]
    fn term_and_terms() {
        assert!(matches(
            json!({"term": {"status": "pending"}}),
            json!({"status": "pending"})
        ));
        assert!(matches(
            json!({"term": {"status": {"value": "pending"}}}),
            json!({"status": ["x", "pending"]})
        ));
        assert!(!matches(
            json!({"term": {"status": "Pending"}}),
            json!({"status": "pending"})
        ));
        assert!(matches(
            json!({"terms": {"c.id": ["a", "b"]}}),
            json!({"c": {"id": "b"}})
        ));
        assert!(matches(json!({"terms": {"_id": ["id1"]}}), json!({})));
        assert!(matches(
            json!({"term": {"deleted": true}}),
            json!({"deleted": true})
        ));
        assert!(!matches(
            json!({"term": {"unmapped": "x"}}),
            json!({"unmapped": "x"})
        ));
        assert!(matches(
            json!({"term": {"title": "hello"}}),
            json!({"title": "Hello World"})
        ));
        assert!(matches(
            json!({"match": {"title": "world foo"}}),
            json!({"title": "Hello World"})
        ));
        assert!(matches(
            json!({"term": {"c.id": "z"}}),
            json!({"c.id": "z"})
        ));
    }

    #[test]
    fn range_and_date_math() {
        assert!(matches(
            json!({"range": {"ts": {"lte": "now-300s"}}}),
            json!({"ts": "2024-01-01T00:04:00Z"})
        ));
        assert!(!matches(
            json!({"range": {"ts": {"lte": "now-300s"}}}),
            json!({"ts": "2024-01-01T00:06:00Z"})
        ));
        assert!(matches(
            json!({"range": {"n": {"gte": 2, "lt": 5}}}),
            json!({"n": 4})
        ));
        assert!(!matches(
            json!({"range": {"n": {"gte": 2, "lt": 5}}}),
            json!({"n": 5})
        ));
        assert!(matches(
            json!({"range": {"ts": {"gte": "now/d"}}}),
            json!({"ts": "2024-01-01T00:00:00Z"})
        ));
    }

    #[test]
    fn bool_and_exists() {
        let q = json!({"bool": {"must_not": {"term": {"deleted": true}}}});
        assert!(matches(q.clone(), json!({})));
        assert!(!matches(q, json!({"deleted": true})));
        let q = json!({"bool": {"should": [{"term": {"status": "a"}}, {"term": {"status": "b"}}]}});
        assert!(matches(q.clone(), json!({"status": "b"})));
        assert!(!matches(q, json!({"status": "c"})));
        let q = json!({"bool": {"filter": [{"term": {"status": "a"}}], "should": [{"term": {"status": "b"}}]}});
        assert!(matches(q, json!({"status": "a"})));
        let q = json!({"bool": {"should": [{"term": {"status": "a"}}, {"term": {"n": 1}}], "minimum_should_match": 2}});
        assert!(matches(q.clone(), json!({"status": "a", "n": 1})));
        assert!(!matches(q, json!({"status": "a", "n": 2})));
        assert!(matches(
            json!({"exists": {"field": "status"}}),
            json!({"status": "a"})
        ));
        assert!(!matches(
            json!({"exists": {"field": "status"}}),
            json!({"status": null})
        ));
        assert!(!matches(
            json!({"exists": {"field": "status"}}),
            json!({"status": []})
        ));
        assert!(matches(
            json!({"wildcard": {"status": "*end*"}}),
            json!({"status": "pending"})
        ));
        assert!(matches(
            json!({"prefix": {"status": "pen"}}),
            json!({"status": "pending"})
        ));
    }

    #[test]
    fn parse_errors() {
        assert_eq!(
            Query::parse(&json!({"nope": {}})).unwrap_err().kind(),
            Some("parsing_exception")
        );
        assert!(Query::parse(&json!({"term": {"a": "x", "b": "y"}})).is_err());
    }
}
