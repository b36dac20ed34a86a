//! `_bulk`: NDJSON parsing on bytes, per-item pipelines, grouped writes (one lock acquisition per
//! index per request), per-item errors and fault-injected rejections, and a directly serialised
//! response.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, RwLock};
use std::time::Instant;

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::api::docs::parse_update;
use crate::api::{Refresh, refresh_param};
use crate::doc_source::{RawDoc, ScanError};
use crate::error::{EsError, EsResult};
use crate::faults::injected_error;
use crate::http::{Body, Req, Resp};
use crate::ingest::{self, Prepared};
use crate::source_filter::SourceFilter;
use crate::state::AppState;
use crate::store::{
    Cond, Incoming, Index, Outcome, PRIMARY_TERM, UpdateSpec, VersionType, WriteKind, WriteResult,
    read, write, write_cond,
};

/// A resolved target index of a bulk request.
#[derive(Clone)]
struct Target {
    idx: Arc<RwLock<Index>>,
    name: Arc<str>,
    default_pipeline: Option<String>,
}

fn resolve_target(state: &AppState, name: &str, delete: bool) -> EsResult<Target> {
    let idx = if delete {
        state.single_index(name)
    } else {
        state.index_for_write(name)
    }?;
    let (name, default_pipeline) = {
        let g = read(&idx);
        (
            g.name.clone(),
            g.setting("index.default_pipeline").map(String::from),
        )
    };
    Ok(Target {
        idx,
        name,
        default_pipeline,
    })
}

/// The items of one request that go to one index.
type Group = (Arc<RwLock<Index>>, Vec<usize>);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Index,
    Create,
    Update,
    Delete,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Index => "index",
            Op::Create => "create",
            Op::Update => "update",
            Op::Delete => "delete",
        }
    }
}

#[derive(Debug)]
enum Payload<'a> {
    /// A document source: scanned text, or a tree once a pipeline needed one.
    Source(Incoming<'a>),
    Update(Box<UpdateSpec>, Option<SourceFilter>),
    Delete,
}

#[derive(Debug)]
struct Item<'a> {
    op: Op,
    index: String,
    id: Option<String>,
    cond: Cond,
    pipeline: Option<String>,
    require_alias: bool,
    /// A problem found while parsing this item only.
    payload: Result<Payload<'a>, EsError>,
}

enum ItemResult {
    Done {
        index: Arc<str>,
        r: WriteResult,
        shards_total: u32,
        get: Option<Value>,
    },
    Failed {
        index: String,
        id: Option<String>,
        err: EsError,
    },
}

fn malformed(line: usize, what: String) -> EsError {
    EsError::bad_request(format!("Malformed action/metadata line [{line}], {what}"))
}

fn token_name(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "START_OBJECT",
        Value::Array(_) => "START_ARRAY",
        Value::String(_) => "VALUE_STRING",
        Value::Number(_) => "VALUE_NUMBER",
        Value::Bool(_) => "VALUE_BOOLEAN",
        Value::Null => "VALUE_NULL",
    }
}

/// Splits the body into lines (without the newline), keeping 1-based line numbers.
fn lines(body: &[u8]) -> Vec<(usize, &[u8])> {
    let mut out = Vec::with_capacity(body.len() / 64 + 1);
    let mut start = 0;
    for (n, i) in memchr::memchr_iter(b'\n', body).enumerate() {
        let mut line = &body[start..i];
        if line.last() == Some(&b'\r') {
            line = &line[..line.len() - 1];
        }
        out.push((n + 1, line));
        start = i + 1;
    }
    out
}

/// The metadata of an action line.
#[derive(Debug, Default)]
struct Meta {
    index: Option<String>,
    id: Option<String>,
    if_seq_no: Option<i64>,
    if_primary_term: Option<i64>,
    version: Option<i64>,
    version_type: VersionType,
    pipeline: Option<String>,
    require_alias: Option<bool>,
    fetch: Option<SourceFilter>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FastAction<'a> {
    #[serde(borrow)]
    index: Option<FastMeta<'a>>,
    #[serde(borrow)]
    create: Option<FastMeta<'a>>,
    #[serde(borrow)]
    update: Option<FastMeta<'a>>,
    #[serde(borrow)]
    delete: Option<FastMeta<'a>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FastMeta<'a> {
    #[serde(borrow)]
    _index: Option<Cow<'a, str>>,
    #[serde(borrow)]
    _id: Option<Cow<'a, str>>,
    if_seq_no: Option<i64>,
    if_primary_term: Option<i64>,
    version: Option<i64>,
    #[serde(borrow)]
    version_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pipeline: Option<Cow<'a, str>>,
    require_alias: Option<bool>,
}

/// The common action line shapes, parsed without building a JSON tree. Anything unusual
/// (other parameters, numeric ids, errors) returns `None` and takes the general path.
fn parse_action_fast(line: &[u8]) -> Option<(Op, Meta)> {
    let a: FastAction = serde_json::from_slice(line).ok()?;
    let (op, m) = match (a.index, a.create, a.update, a.delete) {
        (Some(m), None, None, None) => (Op::Index, m),
        (None, Some(m), None, None) => (Op::Create, m),
        (None, None, Some(m), None) => (Op::Update, m),
        (None, None, None, Some(m)) => (Op::Delete, m),
        _ => return None,
    };
    // An unknown version type is reported by the general path.
    let version_type = VersionType::parse(m.version_type.as_deref()).ok()?;
    Some((
        op,
        Meta {
            index: m._index.map(Cow::into_owned),
            id: m._id.map(Cow::into_owned),
            if_seq_no: m.if_seq_no,
            if_primary_term: m.if_primary_term,
            version: m.version,
            version_type,
            pipeline: m.pipeline.map(Cow::into_owned),
            require_alias: m.require_alias,
            fetch: None,
        },
    ))
}

fn meta_from_map(line_no: usize, map: &Map<String, Value>) -> EsResult<Meta> {
    let mut meta = Meta::default();
    for (k, v) in map {
        match k.as_str() {
            "_index" => meta.index = meta_string(v),
            "_id" => meta.id = meta_string(v),
            "if_seq_no" => meta.if_seq_no = v.as_i64(),
            "if_primary_term" => meta.if_primary_term = v.as_i64(),
            "version" => meta.version = v.as_i64(),
            "version_type" => meta.version_type = VersionType::parse(meta_string(v).as_deref())?,
            "pipeline" => meta.pipeline = meta_string(v),
            "require_alias" => meta.require_alias = Some(v.as_bool().unwrap_or(false)),
            "_source" => meta.fetch = Some(SourceFilter::from_json(v)?),
            "routing"
            | "retry_on_conflict"
            | "dynamic_templates"
            | "list_executed_pipelines"
            | "require_data_stream"
            | "_type"
            | "op_type" => {}
            other => {
                return Err(EsError::bad_request(format!(
                    "Action/metadata line [{line_no}] contains an unknown parameter [{other}]"
                )));
            }
        }
    }
    Ok(meta)
}

fn parse_action(line_no: usize, line: &[u8]) -> EsResult<(Op, Map<String, Value>)> {
    let v: Value = serde_json::from_slice(line).map_err(|e| {
        EsError::x_content(format!(
            "[{}:{}] {}",
            line_no,
            e.column(),
            crate::error::strip_position(&e)
        ))
    })?;
    let Value::Object(m) = v else {
        return Err(malformed(
            line_no,
            format!(
                "expected START_OBJECT or END_OBJECT but found [{}]",
                token_name(&v)
            ),
        ));
    };
    let mut it = m.into_iter();
    let Some((action, meta)) = it.next() else {
        return Err(malformed(
            line_no,
            "expected FIELD_NAME but found [END_OBJECT]".into(),
        ));
    };
    if it.next().is_some() {
        return Err(malformed(
            line_no,
            "expected END_OBJECT but found [FIELD_NAME]".into(),
        ));
    }
    let op = match action.as_str() {
        "index" => Op::Index,
        "create" => Op::Create,
        "update" => Op::Update,
        "delete" => Op::Delete,
        other => {
            return Err(malformed(
                line_no,
                format!("expected one of [create, delete, index, update] but found [{other}]"),
            ));
        }
    };
    let Value::Object(meta) = meta else {
        return Err(malformed(
            line_no,
            format!("expected START_OBJECT but found [{}]", token_name(&meta)),
        ));
    };
    Ok((op, meta))
}

fn meta_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// Parses the NDJSON body into items. Request-level problems are errors; item-level ones are
/// kept in the item.
fn parse_items<'a>(
    body: &'a [u8],
    default_index: Option<&str>,
    default_pipeline: Option<&str>,
    require_alias: bool,
) -> EsResult<Vec<Item<'a>>> {
    let all = lines(body);
    let mut items = Vec::with_capacity(all.len() / 2 + 1);
    // `BulkRequest#validate`: the validation errors of every item, in order.
    let mut invalid: Vec<String> = Vec::new();
    let mut fields_hint = 0;
    let mut i = 0;
    while i < all.len() {
        let (line_no, line) = all[i];
        i += 1;
        if line.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let (op, meta) = match parse_action_fast(line) {
            Some(x) => x,
            None => {
                let (op, map) = parse_action(line_no, line)?;
                (op, meta_from_map(line_no, &map)?)
            }
        };
        if op == Op::Update
            && (meta.version.is_some() || meta.version_type != VersionType::Internal)
        {
            return Err(EsError::bad_request(
                "Update requests do not support versioning. Please use `if_seq_no` and `if_primary_term` instead",
            ));
        }
        let index = meta.index.or_else(|| default_index.map(String::from));
        let id = meta.id;
        let (if_seq_no, if_primary_term) = (meta.if_seq_no, meta.if_primary_term);
        let pipeline = meta.pipeline.or_else(|| default_pipeline.map(String::from));
        let item_require_alias = meta.require_alias.unwrap_or(require_alias);
        let fetch = meta.fetch;
        let needs_source = op != Op::Delete;
        let source_line = if needs_source {
            match all.get(i) {
                Some((_, l)) => {
                    i += 1;
                    Some(*l)
                }
                // An action without its source line at the end of the body is dropped.
                None => break,
            }
        } else {
            None
        };
        if index.is_none() {
            invalid.push("index is missing".into());
        }
        if id.is_none() && matches!(op, Op::Update | Op::Delete) {
            invalid.push("id is missing".into());
        }
        let kind = match op {
            Op::Create => WriteKind::Create,
            Op::Delete => WriteKind::Delete,
            // An update has no version of its own: only its CAS parameters are checked.
            Op::Index | Op::Update => WriteKind::Index,
        };
        let cond = write_cond(
            kind,
            id.is_some(),
            meta.version,
            meta.version_type,
            if_seq_no,
            if_primary_term,
            &mut invalid,
        );
        let payload = match (op, source_line) {
            (Op::Delete, _) => Ok(Payload::Delete),
            (Op::Update, Some(l)) => match serde_json::from_slice::<Value>(l) {
                Ok(v) => parse_update(&v, if_seq_no.is_some())
                    .map(|(spec, f)| Payload::Update(Box::new(spec), f.or(fetch.clone()))),
                Err(e) => Err(EsError::x_content(format!(
                    "[1:{}] {}",
                    e.column(),
                    crate::error::strip_position(&e)
                ))),
            },
            (_, Some(l)) => match RawDoc::scan(l, fields_hint) {
                Ok(doc) => {
                    fields_hint = doc.fields.len();
                    Ok(Payload::Source(Incoming::Raw(doc)))
                }
                Err(ScanError::NotAnObject) => Err(EsError::document_parsing(
                    "[1:1] failed to parse: root of the document must be an object",
                )),
                Err(ScanError::Json(e)) => Err(EsError::document_parsing(format!(
                    "[1:{}] failed to parse: {}",
                    e.column(),
                    crate::error::strip_position(&e)
                ))),
            },
            (_, None) => Err(EsError::document_parsing(
                "failed to parse, document is empty",
            )),
        };
        items.push(Item {
            op,
            index: index.unwrap_or_default(),
            id,
            cond,
            pipeline,
            require_alias: item_require_alias,
            payload,
        });
    }
    if !invalid.is_empty() {
        return Err(EsError::validation(&invalid));
    }
    if items.is_empty() {
        return Err(EsError::validation(&["no requests added"]));
    }
    Ok(items)
}

#[derive(Serialize)]
struct Shards {
    total: u32,
    successful: u32,
    failed: u32,
}

#[derive(Serialize)]
struct DoneItem<'a> {
    _index: &'a str,
    _id: &'a str,
    _version: i64,
    result: &'static str,
    _shards: Shards,
    _seq_no: i64,
    _primary_term: i64,
    status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    get: Option<&'a Value>,
}

#[derive(Serialize)]
struct FailedItem<'a> {
    _index: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    _id: Option<&'a str>,
    status: u16,
    error: Value,
}

/// `POST /_bulk`, `POST /{index}/_bulk`.
pub fn bulk(state: &AppState, default_index: Option<&str>, req: &Req) -> EsResult<Resp> {
    let started = Instant::now();
    if let Some(status) = state.faults.take_bulk_rejection() {
        return Err(injected_error(status));
    }
    let p = &req.params;
    let refresh = refresh_param(p)?;
    let require_alias = p.bool("require_alias", false)?;
    let body = &req.body[..];
    if body.is_empty() {
        return Err(EsError::validation(&["no requests added"]));
    }
    if body.last() != Some(&b'\n') {
        return Err(EsError::bad_request(
            "The bulk request must be terminated by a newline [\\n]",
        ));
    }
    let items = parse_items(body, default_index, p.get("pipeline"), require_alias)?;
    let n = items.len();
    let ops: Vec<Op> = items.iter().map(|i| i.op).collect();
    let rejections = state.faults.item_rejections(n);
    let mut results: Vec<Option<ItemResult>> = (0..n).map(|_| None).collect();

    // Resolve each distinct target once.
    let mut targets: HashMap<String, Result<Target, EsError>> = HashMap::new();
    let mut groups: HashMap<Arc<str>, Group> = HashMap::new();
    let mut ingest_ran = false;
    let mut pipelines: HashMap<String, Result<Option<Prepared>, EsError>> = HashMap::new();
    let mut items: Vec<Option<Item>> = items.into_iter().map(Some).collect();

    for (pos, slot) in items.iter_mut().enumerate() {
        let Some(item) = slot.as_mut() else { continue };
        if rejections.get(pos).copied().unwrap_or(false) {
            let err = EsError::rejected(
                429,
                "rejected execution of primary operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, primary_operation_bytes=0, max_coordinating_and_primary_bytes=0] (es-sim injected fault)",
            );
            results[pos] = Some(ItemResult::Failed {
                index: item.index.clone(),
                id: item.id.clone(),
                err,
            });
            continue;
        }
        if item.op != Op::Update && item.op != Op::Delete && item.id.is_none() {
            item.id = Some(crate::ids::auto_id());
        }
        if let Some(id) = &item.id
            && id.is_empty()
        {
            let err = EsError::bad_request("if _id is specified it must not be empty");
            results[pos] = Some(ItemResult::Failed {
                index: item.index.clone(),
                id: Some(String::new()),
                err,
            });
            continue;
        }
        if let Err(e) = &item.payload {
            results[pos] = Some(ItemResult::Failed {
                index: item.index.clone(),
                id: item.id.clone(),
                err: e.clone(),
            });
            continue;
        }
        if item.require_alias && !read(&state.catalog).aliases.contains_key(&item.index) {
            let name = item.index.clone();
            let err = EsError::index_not_found(&name)
                .with("reason", format!("no such index [{name}] and [require_alias] request flag is [true] and [{name}] is not an alias"));
            results[pos] = Some(ItemResult::Failed {
                index: name,
                id: item.id.clone(),
                err,
            });
            continue;
        }
        // Resolve each distinct index once. A failed delete target is not cached: a later
        // index/create/update of the same name still auto-creates it.
        let target = match targets.get(&item.index) {
            Some(Ok(t)) => Ok(t.clone()),
            Some(Err(e)) if item.op != Op::Delete => Err(e.clone()),
            _ => {
                let resolved = resolve_target(state, &item.index, item.op == Op::Delete);
                if resolved.is_ok() || item.op != Op::Delete {
                    targets.insert(item.index.clone(), resolved.clone());
                }
                resolved
            }
        };
        let target = match target {
            Ok(i) => i,
            Err(e) => {
                results[pos] = Some(ItemResult::Failed {
                    index: item.index.clone(),
                    id: item.id.clone(),
                    err: e,
                });
                continue;
            }
        };
        // Pipelines run on index/create sources before any lock is taken.
        if matches!(item.op, Op::Index | Op::Create) {
            let name = item
                .pipeline
                .clone()
                .or_else(|| target.default_pipeline.clone());
            if let Some(name) = name {
                let prepared = pipelines
                    .entry(name.clone())
                    .or_insert_with(|| ingest::prepare(&state.pipelines, &name))
                    .clone();
                match prepared {
                    Err(e) => {
                        results[pos] = Some(ItemResult::Failed {
                            index: item.index.clone(),
                            id: item.id.clone(),
                            err: e,
                        });
                        continue;
                    }
                    Ok(Some(pl)) => {
                        if let Ok(Payload::Source(Incoming::Raw(doc))) = &mut item.payload
                            && !ingest::run_raw(&pl, doc)
                        {
                            let mut src = doc.to_value();
                            ingest::run(&pl, &mut src);
                            item.payload = Ok(Payload::Source(Incoming::Tree(src)));
                        }
                        ingest_ran = true;
                    }
                    Ok(None) => {}
                }
            }
        }
        groups
            .entry(target.name.clone())
            .or_insert_with(|| (target.idx.clone(), Vec::new()))
            .1
            .push(pos);
    }

    // One write lock per index for the whole request.
    let mut touched: Vec<Arc<RwLock<Index>>> = Vec::new();
    for (_, (idx, positions)) in groups {
        {
            let mut g = write(&idx);
            let shards_total = 1 + g.replicas();
            for pos in positions {
                let Some(item) = items[pos].take() else {
                    continue;
                };
                let id = item.id.clone().unwrap_or_default();
                let outcome = match item.payload {
                    Ok(Payload::Source(src)) => g
                        .index_doc(
                            Arc::from(id.as_str()),
                            src,
                            item.op == Op::Create,
                            item.cond,
                        )
                        .map(|r| (r, None)),
                    Ok(Payload::Delete) => g.delete_doc(&id, item.cond).map(|r| (r, None)),
                    Ok(Payload::Update(spec, fetch)) => {
                        g.update_doc(&id, &spec, item.cond.cas()).map(|r| {
                            let get = fetch.as_ref().and_then(|f| {
                                r.doc.as_ref().map(|d| {
                                    let mut m = Map::new();
                                    m.insert("_seq_no".into(), json!(d.seq_no));
                                    m.insert("_primary_term".into(), json!(PRIMARY_TERM));
                                    m.insert("found".into(), json!(true));
                                    if let Some(s) = f.apply(d.source.value()) {
                                        m.insert("_source".into(), s);
                                    }
                                    Value::Object(m)
                                })
                            });
                            (r, get)
                        })
                    }
                    Err(e) => Err(e),
                };
                results[pos] = Some(match outcome {
                    Ok((r, get)) => ItemResult::Done {
                        index: g.name.clone(),
                        r,
                        shards_total,
                        get,
                    },
                    Err(err) => ItemResult::Failed {
                        index: g.name.to_string(),
                        id: Some(id),
                        err,
                    },
                });
            }
        }
        touched.push(idx);
    }
    if refresh == Refresh::Now {
        for idx in &touched {
            write(idx).refresh();
        }
    }

    // Serialise the response directly.
    let mut out: Vec<u8> = Vec::with_capacity(n * 160 + 64);
    let errors = results
        .iter()
        .any(|r| matches!(r, Some(ItemResult::Failed { .. })));
    let took = started.elapsed().as_millis();
    let _ = write!(out, "{{\"errors\":{errors},\"took\":{took},");
    if ingest_ran {
        let _ = write!(out, "\"ingest_took\":0,");
    }
    out.extend_from_slice(b"\"items\":[");
    for (pos, r) in results.iter().enumerate() {
        if pos > 0 {
            out.push(b',');
        }
        let op = ops.get(pos).copied().unwrap_or(Op::Index);
        let _ = write!(out, "{{\"{}\":", op.as_str());
        match r {
            Some(ItemResult::Done {
                index,
                r,
                shards_total,
                get,
            }) => {
                let noop = r.outcome == Outcome::Noop;
                let item = DoneItem {
                    _index: index,
                    _id: &r.id,
                    _version: r.version,
                    result: r.outcome.as_str(),
                    _shards: if noop {
                        Shards {
                            total: 0,
                            successful: 0,
                            failed: 0,
                        }
                    } else {
                        Shards {
                            total: *shards_total,
                            successful: 1,
                            failed: 0,
                        }
                    },
                    _seq_no: r.seq_no,
                    _primary_term: PRIMARY_TERM,
                    status: r.outcome.status(),
                    get: get.as_ref(),
                };
                let _ = serde_json::to_writer(&mut out, &item);
            }
            Some(ItemResult::Failed { index, id, err }) => {
                let item = FailedItem {
                    _index: index,
                    _id: id.as_deref(),
                    status: err.status,
                    error: err.cause_object(),
                };
                let _ = serde_json::to_writer(&mut out, &item);
            }
            None => {
                let item = FailedItem {
                    _index: "",
                    _id: None,
                    status: 500,
                    error: json!({"type": "exception", "reason": "item was not executed"}),
                };
                let _ = serde_json::to_writer(&mut out, &item);
            }
        }
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
    Ok(Resp {
        status: 200,
        body: Body::JsonBytes(out),
        headers: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_actions_and_errors() {
        let body = b"{\"index\":{\"_index\":\"a\",\"_id\":\"1\"}}\n{\"x\":1}\n{\"delete\":{\"_index\":\"a\",\"_id\":\"2\"}}\n";
        let items = parse_items(body, None, None, false).unwrap();
        assert_eq!(items.len(), 2);
        assert_eq!(items[1].op, Op::Delete);
        let e = parse_items(b"{}\n", None, None, false).unwrap_err();
        assert_eq!(
            e.reason(),
            Some("Malformed action/metadata line [1], expected FIELD_NAME but found [END_OBJECT]")
        );
        let e = parse_items(b"{\"foo\":{}}\n", None, None, false).unwrap_err();
        assert!(
            e.reason()
                .unwrap()
                .contains("expected one of [create, delete, index, update] but found [foo]")
        );
        let e = parse_items(b"{\"index\":{\"_id\":\"1\"}}\n{}\n", None, None, false).unwrap_err();
        assert_eq!(e.reason(), Some("Validation Failed: 1: index is missing;"));
        let e = parse_items(
            b"{\"index\":{\"_index\":\"a\",\"bogus\":1}}\n{}\n",
            None,
            None,
            false,
        )
        .unwrap_err();
        assert_eq!(
            e.reason(),
            Some("Action/metadata line [1] contains an unknown parameter [bogus]")
        );
    }
}
