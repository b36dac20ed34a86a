//! Parsing the query DSL into [`Query`]: the supported queries and their options, with
//! Elasticsearch's `parsing_exception`s for unknown queries and malformed bodies.

use serde_json::{Map, Value};

use crate::error::{EsError, EsResult};

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

pub(super) fn value_as_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}
