//! Compiling a [`Query`] for one index: fields resolved against the mapping (unmapped fields
//! match nothing), values turned into comparable [`Key`]s of the field's type, date math
//! evaluated, patterns turned into regexes.

use std::collections::HashSet;

use regex::Regex;
use serde_json::Value;

use super::parse::{Query, value_as_string};
use super::{CompileCtx, Key};
use crate::datemath;
use crate::error::{EsError, EsResult};
use crate::mapping::FieldKind;

#[derive(Debug)]
pub(super) enum Test {
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
pub(super) enum Compiled {
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

pub(super) fn compile(q: &Query, ctx: &CompileCtx) -> EsResult<Compiled> {
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
