//! Single-document APIs: index, create, get, `_source`, delete, update, mget. Reads (get,
//! `_source`, mget) check the request principal's index privileges and hide documents its
//! document-level security filters out (see `authz`).

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::api::{Refresh, refresh_param};
use crate::authz::{self, ReadAccess};
use crate::error::{EsError, EsResult};
use crate::http::{Params, Req, Resp};
use crate::ingest;
use crate::script::Script;
use crate::source_filter::SourceFilter;
use crate::state::AppState;
use crate::store::{
    Doc, Index, Outcome, PRIMARY_TERM, UpdateSpec, VersionType, WriteKind, WriteResult, cas_from,
    read, write, write_cond,
};

/// The body of a write response.
pub fn write_body(index: &Index, r: &WriteResult) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("_index".into(), json!(index.name.as_ref()));
    m.insert("_id".into(), json!(r.id.as_ref()));
    m.insert("_version".into(), json!(r.version));
    m.insert("result".into(), json!(r.outcome.as_str()));
    let shards = if r.outcome == Outcome::Noop {
        json!({"total": 0, "successful": 0, "failed": 0})
    } else {
        index.write_shards()
    };
    m.insert("_shards".into(), shards);
    m.insert("_seq_no".into(), json!(r.seq_no));
    m.insert("_primary_term".into(), json!(PRIMARY_TERM));
    m
}

/// A document body that must be a JSON object.
pub fn parse_document(bytes: &[u8]) -> EsResult<Value> {
    if bytes.iter().all(|b| b.is_ascii_whitespace()) {
        return Err(EsError::body_required());
    }
    match serde_json::from_slice::<Value>(bytes) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(EsError::document_parsing(
            "[1:1] failed to parse: root of the document must be an object",
        )),
        Err(e) => Err(EsError::document_parsing(format!(
            "[{}:{}] failed to parse: {}",
            e.line(),
            e.column(),
            crate::error::strip_position(&e)
        ))
        .caused_by(
            json!({"type": "json_parse_exception", "reason": crate::error::strip_position(&e)}),
        )),
    }
}

/// The pipeline a write runs through: the `pipeline` parameter, else `index.default_pipeline`.
pub fn pipeline_for(
    state: &AppState,
    requested: Option<&str>,
    index: &Index,
) -> EsResult<Option<ingest::Prepared>> {
    let name = requested.or_else(|| index.setting("index.default_pipeline"));
    match name {
        Some(n) => ingest::prepare(&state.pipelines, n),
        None => Ok(None),
    }
}

fn finish_write(state: &AppState, index_arc: &Arc<std::sync::RwLock<Index>>, refresh: Refresh) {
    if refresh == Refresh::Now {
        write(index_arc).refresh();
    }
    let _ = state;
}

/// The `version`/`version_type`/`if_seq_no`/`if_primary_term` parameters of an index, create or
/// delete: an unknown version type is a 400, invalid combinations a validation error.
fn versioning(p: &Params, kind: WriteKind, has_id: bool) -> EsResult<crate::store::Cond> {
    let version = p.i64("version")?;
    let vt = VersionType::parse(p.get("version_type"))?;
    let (if_seq_no, if_primary_term) = (p.i64("if_seq_no")?, p.i64("if_primary_term")?);
    let mut errors: Vec<String> = Vec::new();
    let cond = write_cond(
        kind,
        has_id,
        version,
        vt,
        if_seq_no,
        if_primary_term,
        &mut errors,
    );
    if errors.is_empty() {
        Ok(cond)
    } else {
        Err(EsError::validation(&errors))
    }
}

/// `PUT|POST /{index}/_doc/{id}`, `POST /{index}/_doc`, `PUT /{index}/_create/{id}`.
pub fn index(
    state: &AppState,
    index: &str,
    id: Option<&str>,
    req: &Req,
    create_route: bool,
) -> EsResult<Resp> {
    let p = &req.params;
    let create = create_route
        || match p.get("op_type") {
            None | Some("index") => false,
            Some("create") => true,
            Some(other) => {
                return Err(EsError::bad_request(format!(
                    "opType must be 'create' or 'index', found: [{other}]"
                )));
            }
        };
    if id.is_none() && req.method == hyper::Method::PUT {
        return Err(EsError::bad_request("request [PUT] without an id"));
    }
    let kind = if create {
        WriteKind::Create
    } else {
        WriteKind::Index
    };
    let cond = versioning(p, kind, id.is_some())?;
    let refresh = refresh_param(p)?;
    let mut source = parse_document(&req.body)?;
    let id: String = match id {
        Some(i) => i.to_string(),
        None => crate::ids::auto_id(),
    };
    crate::store::check_id(&id)?;
    if p.bool("require_alias", false)? && !read(&state.catalog).aliases.contains_key(index) {
        return Err(EsError::index_not_found(index)
            .with("reason", format!("no such index [{index}] and [require_alias] request flag is [true] and [{index}] is not an alias")));
    }
    let idx = state.index_for_write(index)?;
    let pipeline = pipeline_for(state, p.get("pipeline"), &read(&idx))?;
    if let Some(pl) = &pipeline {
        ingest::run(pl, &mut source);
    }
    let (status, body) = {
        let mut g = write(&idx);
        if pipeline.is_none() {
            // The tree holds integers beyond `u64` as floats: check them on the text.
            let text = std::str::from_utf8(&req.body).unwrap_or("");
            g.mappings().check_big_integers(text, &id)?;
        }
        let r = g.index_doc(Arc::from(id.as_str()), source, create, cond)?;
        (r.outcome.status(), write_body(&g, &r))
    };
    finish_write(state, &idx, refresh);
    let mut body = body;
    if refresh == Refresh::Now && p.get("refresh") != Some("wait_for") {
        body.insert("forced_refresh".into(), json!(true));
    }
    let location = format!("/{}/_doc/{}", body["_index"].as_str().unwrap_or(index), id);
    let resp = Resp::json(status, Value::Object(body));
    Ok(if status == 201 {
        resp.with_header("location", location)
    } else {
        resp
    })
}

fn source_filter(p: &Params) -> SourceFilter {
    SourceFilter::default().with_params(p)
}

/// Whether a document read as `requested` (the index or an alias of it) is visible to the
/// request's principal.
fn dls_visible(
    access: &ReadAccess,
    g: &Index,
    requested: &str,
    id: &str,
    d: &Doc,
) -> EsResult<bool> {
    let via: Vec<String> = if requested == g.name.as_ref() {
        Vec::new()
    } else {
        vec![requested.to_string()]
    };
    match access.filter_for(&g.name, &via)? {
        None => Ok(true),
        Some(q) => authz::visible(&q, &g.mappings_arc(), &g.name, id, d.source.value()),
    }
}

/// The document `id` if it exists and the principal may see it.
fn visible_doc(
    access: &ReadAccess,
    g: &Index,
    requested: &str,
    id: &str,
    doc: Option<Arc<Doc>>,
) -> EsResult<Option<Arc<Doc>>> {
    match doc {
        Some(d) if dls_visible(access, g, requested, id, &d)? => Ok(Some(d)),
        _ => Ok(None),
    }
}

/// `GET|HEAD /{index}/_doc/{id}`.
pub fn get(state: &AppState, index: &str, id: &str, req: &Req) -> EsResult<Resp> {
    let access = ReadAccess::of(req, authz::GET)?;
    access.check_names(&[index])?;
    let idx = state.single_index(index)?;
    let realtime = req.params.bool("realtime", true)?;
    if req.params.get("refresh") == Some("true") {
        write(&idx).refresh();
    }
    let g = read(&idx);
    let doc = if realtime {
        g.get(id).cloned()
    } else {
        g.searchable.get(id).cloned()
    };
    let doc = visible_doc(&access, &g, index, id, doc)?;
    let head = req.method == hyper::Method::HEAD;
    match doc {
        None => {
            if head {
                return Ok(Resp::empty(404));
            }
            Ok(Resp::json(
                404,
                json!({"_index": g.name.as_ref(), "_id": id, "found": false}),
            ))
        }
        Some(d) => {
            if head {
                return Ok(Resp::empty(200));
            }
            let mut m = Map::new();
            m.insert("_index".into(), json!(g.name.as_ref()));
            m.insert("_id".into(), json!(id));
            m.insert("_version".into(), json!(d.version));
            m.insert("_seq_no".into(), json!(d.seq_no));
            m.insert("_primary_term".into(), json!(PRIMARY_TERM));
            m.insert("found".into(), json!(true));
            if let Some(src) = source_filter(&req.params).apply(d.source.value()) {
                m.insert("_source".into(), src);
            }
            Ok(Resp::ok(Value::Object(m)))
        }
    }
}

/// `GET /{index}/_source/{id}`.
pub fn get_source(state: &AppState, index: &str, id: &str, req: &Req) -> EsResult<Resp> {
    let access = ReadAccess::of(req, authz::GET)?;
    access.check_names(&[index])?;
    let idx = state.single_index(index)?;
    let g = read(&idx);
    match visible_doc(&access, &g, index, id, g.get(id).cloned())? {
        None => {
            if req.method == hyper::Method::HEAD {
                return Ok(Resp::empty(404));
            }
            Err(EsError::resource_not_found(format!(
                "Document not found [{}]/[{id}]",
                g.name
            )))
        }
        Some(d) => Ok(Resp::ok(
            source_filter(&req.params)
                .apply(d.source.value())
                .unwrap_or(Value::Null),
        )),
    }
}

/// `DELETE /{index}/_doc/{id}`.
pub fn delete(state: &AppState, index: &str, id: &str, req: &Req) -> EsResult<Resp> {
    let p = &req.params;
    let cond = versioning(p, WriteKind::Delete, true)?;
    let refresh = refresh_param(p)?;
    let idx = state.single_index(index)?;
    let (status, body) = {
        let mut g = write(&idx);
        let r = g.delete_doc(id, cond)?;
        (r.outcome.status(), write_body(&g, &r))
    };
    finish_write(state, &idx, refresh);
    Ok(Resp::json(status, Value::Object(body)))
}

/// Parses an update body (`doc`, `upsert`, `doc_as_upsert`, `detect_noop`, `script`, `_source`).
/// Returns the spec and the `_source` filter to report, if any.
pub fn parse_update(body: &Value, cas_given: bool) -> EsResult<(UpdateSpec, Option<SourceFilter>)> {
    let m = body
        .as_object()
        .ok_or_else(|| EsError::x_content("[1:1] [UpdateRequest] expected an object"))?;
    let mut spec = UpdateSpec {
        detect_noop: true,
        ..Default::default()
    };
    let mut fetch = None;
    for (k, v) in m {
        match k.as_str() {
            "doc" => {
                if !v.is_object() {
                    return Err(EsError::x_content(
                        "[1:8] [UpdateRequest] failed to parse field [doc]",
                    ));
                }
                spec.doc = Some(v.clone());
            }
            "upsert" => spec.upsert = Some(v.clone()),
            "doc_as_upsert" => spec.doc_as_upsert = v.as_bool().unwrap_or(false),
            "detect_noop" => spec.detect_noop = v.as_bool().unwrap_or(true),
            "scripted_upsert" => spec.scripted_upsert = v.as_bool().unwrap_or(false),
            "script" => spec.script = Some(Script::parse(v)?),
            "_source" => {
                let f = SourceFilter::from_json(v)?;
                if !f.disabled {
                    fetch = Some(f);
                }
            }
            "lang" | "params" => {}
            other => {
                return Err(EsError::x_content(format!(
                    "[1:2] [UpdateRequest] unknown field [{other}]"
                )));
            }
        }
    }
    let mut errors: Vec<&str> = Vec::new();
    if spec.doc.is_none() && spec.script.is_none() {
        errors.push("script or doc is missing");
    }
    if spec.doc.is_some() && spec.script.is_some() {
        errors.push("can't provide both script and doc");
    }
    if cas_given && spec.upsert.is_some() {
        errors.push("upsert requests don't support `if_seq_no` and `if_primary_term`");
    }
    if cas_given && spec.doc_as_upsert {
        errors.push("doc_as_upsert does not support `if_seq_no` and `if_primary_term`");
    }
    if !errors.is_empty() {
        return Err(EsError::validation(&errors));
    }
    Ok((spec, fetch))
}

/// `POST /{index}/_update/{id}`.
pub fn update(state: &AppState, index: &str, id: &str, req: &Req) -> EsResult<Resp> {
    let p = &req.params;
    // `RestUpdateAction`: updates take no versioning parameters at all.
    if p.has("version") || p.has("version_type") {
        return Err(EsError::validation(&[
            "internal versioning can not be used for optimistic concurrency control. Please use `if_seq_no` and `if_primary_term` instead",
        ]));
    }
    let cas = cas_from(p.i64("if_seq_no")?, p.i64("if_primary_term")?)?;
    let refresh = refresh_param(p)?;
    let body = req.json()?;
    let (spec, mut fetch) = parse_update(&body, cas.is_some())?;
    if p.has("_source") || p.has("_source_includes") || p.has("_source_excludes") {
        let f = SourceFilter::default().with_params(p);
        fetch = if f.disabled { None } else { Some(f) };
    }
    let idx = state.index_for_write(index)?;
    let (status, mut body) = {
        let mut g = write(&idx);
        let r = g.update_doc(id, &spec, cas)?;
        let mut b = write_body(&g, &r);
        if let (Some(f), Some(doc)) = (&fetch, &r.doc) {
            let mut get = Map::new();
            get.insert("_seq_no".into(), json!(doc.seq_no));
            get.insert("_primary_term".into(), json!(PRIMARY_TERM));
            get.insert("found".into(), json!(true));
            if let Some(src) = f.apply(doc.source.value()) {
                get.insert("_source".into(), src);
            }
            b.insert("get".into(), Value::Object(get));
        }
        (r.outcome.status(), b)
    };
    finish_write(state, &idx, refresh);
    if refresh == Refresh::Now && p.get("refresh") != Some("wait_for") && body["result"] != "noop" {
        body.insert("forced_refresh".into(), json!(true));
    }
    Ok(Resp::json(status, Value::Object(body)))
}

/// `GET|POST /_mget`, `/{index}/_mget`.
pub fn mget(state: &AppState, index: Option<&str>, req: &Req) -> EsResult<Resp> {
    let body = req.json()?;
    let mut wanted: Vec<(String, String, Option<SourceFilter>)> = Vec::new();
    if let Some(docs) = body.get("docs").and_then(Value::as_array) {
        for d in docs {
            let idx = d
                .get("_index")
                .and_then(Value::as_str)
                .or(index)
                .ok_or_else(|| EsError::validation(&["index is missing for doc 0"]))?;
            let id = match d.get("_id") {
                Some(Value::String(s)) => s.clone(),
                Some(Value::Number(n)) => n.to_string(),
                _ => return Err(EsError::validation(&["id is missing for doc 0"])),
            };
            let f = match d.get("_source") {
                Some(v) => Some(SourceFilter::from_json(v)?),
                None => None,
            };
            wanted.push((idx.to_string(), id, f));
        }
    } else if let Some(ids) = body.get("ids").and_then(Value::as_array) {
        let idx = index.ok_or_else(|| EsError::validation(&["index is missing for doc 0"]))?;
        for i in ids {
            let id = match i {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            wanted.push((idx.to_string(), id, None));
        }
    } else {
        return Err(EsError::validation(&["no documents to get"]));
    }
    let default_filter = SourceFilter::default().with_params(&req.params);
    let access = ReadAccess::of(req, authz::MGET)?.as_action(authz::MGET_SHARD);
    let mut docs = Vec::new();
    for (idx_name, id, f) in wanted {
        let found = access
            .check_names(&[&idx_name])
            .and_then(|()| state.single_index(&idx_name));
        match found {
            Err(e) => docs.push(json!({"_index": idx_name, "_id": id, "error": e.cause_object()})),
            Ok(idx) => {
                let g = read(&idx);
                let doc = match visible_doc(&access, &g, &idx_name, &id, g.get(&id).cloned()) {
                    Ok(d) => d,
                    Err(e) => {
                        docs.push(
                            json!({"_index": idx_name, "_id": id, "error": e.cause_object()}),
                        );
                        continue;
                    }
                };
                match doc {
                    None => {
                        docs.push(json!({"_index": g.name.as_ref(), "_id": id, "found": false}))
                    }
                    Some(d) => {
                        let mut m = Map::new();
                        m.insert("_index".into(), json!(g.name.as_ref()));
                        m.insert("_id".into(), json!(id));
                        m.insert("_version".into(), json!(d.version));
                        m.insert("_seq_no".into(), json!(d.seq_no));
                        m.insert("_primary_term".into(), json!(PRIMARY_TERM));
                        m.insert("found".into(), json!(true));
                        let filter = f.as_ref().unwrap_or(&default_filter);
                        if let Some(src) = filter.apply(d.source.value()) {
                            m.insert("_source".into(), src);
                        }
                        docs.push(Value::Object(m));
                    }
                }
            }
        }
    }
    Ok(Resp::ok(json!({"docs": docs})))
}
