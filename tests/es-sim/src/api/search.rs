//! `_search`, `_count`, scroll, point in time and `_delete_by_query`. Searches, counts and points
//! in time read what the request's principal may read (see `authz`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};

use crate::api::{Refresh, refresh_param};
use crate::authz::{self, Action, ReadAccess};
use crate::error::{EsError, EsResult};
use crate::http::{Req, Resp};
use crate::query::Query;
use crate::search::{
    self as engine, PitCtx, ScrollCtx, SearchRequest, SortBy, SortSpec, Target, TrackTotal,
    check_window, context_missing, render_hits, shards_json,
};
use crate::state::{AppState, lock};
use crate::store::{ResolveOpts, read, write};

fn resolve_opts(req: &Req) -> EsResult<ResolveOpts> {
    let p = &req.params;
    let expand = p.get("expand_wildcards").unwrap_or("open");
    Ok(ResolveOpts {
        ignore_unavailable: p.bool("ignore_unavailable", false)?,
        allow_no_indices: p.bool("allow_no_indices", true)?,
        expand_hidden: expand.contains("hidden") || expand.contains("all"),
    })
}

/// The snapshots a read action searches: the indices of the expression the request's principal
/// may read, with their document-level security filters.
fn targets_for(
    state: &AppState,
    index: Option<&str>,
    req: &Req,
    action: Action,
) -> EsResult<Vec<Target>> {
    let access = ReadAccess::of(req, action)?;
    let resolved = access.resolve(state, index.unwrap_or("_all"), resolve_opts(req)?)?;
    let mut targets = state.targets(&resolved.names);
    access.restrict(&mut targets, &resolved)?;
    Ok(targets)
}

fn took(started: Instant) -> u64 {
    started.elapsed().as_millis() as u64
}

/// `GET|POST /_search`, `/{index}/_search`.
pub fn search(state: &AppState, index: Option<&str>, req: &Req) -> EsResult<Resp> {
    let started = Instant::now();
    let body = req.json_opt()?;
    let sreq = SearchRequest::parse(body.as_ref(), &req.params)?;
    let scroll = req.params.duration("scroll")?;

    if let Some(pit) = &sreq.pit {
        if index.is_some() {
            return Err(EsError::validation(&[
                "[indices] cannot be used with point in time. Do not specify any index with point in time.",
            ]));
        }
        if scroll.is_some() {
            return Err(EsError::validation(&[
                "using [point in time] is not allowed in a scroll context",
            ]));
        }
        let targets = {
            let mut ctx = lock(&state.contexts);
            ctx.expire();
            let Some(p) = ctx.pits.get_mut(&pit.id) else {
                return Err(context_missing(&pit.id));
            };
            if let Some(k) = pit.keep_alive {
                p.expires = Instant::now() + k;
            }
            p.targets.clone()
        };
        check_window(&sreq, &targets)?;
        let m = engine::execute(&targets, &sreq, true, Some(sreq.from + sreq.size))?;
        let page: Vec<_> = m.hits.into_iter().skip(sreq.from).collect();
        let mut out = Map::new();
        out.insert("pit_id".into(), json!(pit.id));
        out.insert("took".into(), json!(took(started)));
        out.insert("timed_out".into(), json!(false));
        out.insert("_shards".into(), shards_json(targets.len()));
        out.insert(
            "hits".into(),
            render_hits(&page, m.total, m.max_score, &sreq, false),
        );
        return Ok(Resp::ok(Value::Object(out)));
    }

    let targets = targets_for(state, index, req, authz::SEARCH)?;
    if let Some(keep_alive) = scroll {
        let mut errs: Vec<&str> = Vec::new();
        if sreq.from > 0 {
            errs.push("using [from] is not allowed in a scroll context");
        }
        if sreq.search_after.is_some() {
            errs.push("`search_after` cannot be used in a scroll context.");
        }
        let batch_error = format!(
            "Batch size is too large, size must be less than or equal to: [{}] but was [{}]. Scroll batch sizes cost as much memory as result windows so they are controlled by the [index.max_result_window] index level setting.",
            crate::search::MAX_RESULT_WINDOW,
            sreq.size
        );
        if sreq.size > crate::search::MAX_RESULT_WINDOW {
            errs.push(&batch_error);
        }
        if sreq.track_total_hits == TrackTotal::Off {
            errs.push("disabling [track_total_hits] is not allowed in a scroll context");
        }
        if !errs.is_empty() {
            return Err(EsError::validation(&errs));
        }
        let m = engine::execute(&targets, &sreq, false, None)?;
        let page: Vec<_> = m.hits.iter().take(sreq.size).cloned().collect();
        let id = format!("FGluY2x1ZGVfY29udGV4dF91dWlk{}", crate::ids::token(24));
        let hits = render_hits(&page, m.total, m.max_score, &sreq, true);
        let ctx = ScrollCtx {
            pos: page.len(),
            hits: m.hits,
            total: m.total,
            max_score: m.max_score,
            req: sreq,
            shards: targets.len(),
            keep_alive,
            expires: Instant::now() + keep_alive,
        };
        lock(&state.contexts).scrolls.insert(id.clone(), ctx);
        let mut out = Map::new();
        out.insert("_scroll_id".into(), json!(id));
        out.insert("took".into(), json!(took(started)));
        out.insert("timed_out".into(), json!(false));
        out.insert("_shards".into(), shards_json(targets.len()));
        out.insert("hits".into(), hits);
        return Ok(Resp::ok(Value::Object(out)));
    }

    check_window(&sreq, &targets)?;
    let m = engine::execute(&targets, &sreq, false, Some(sreq.from + sreq.size))?;
    let page: Vec<_> = m.hits.into_iter().skip(sreq.from).collect();
    let mut out = Map::new();
    out.insert("took".into(), json!(took(started)));
    out.insert("timed_out".into(), json!(false));
    out.insert("_shards".into(), shards_json(targets.len()));
    out.insert(
        "hits".into(),
        render_hits(&page, m.total, m.max_score, &sreq, false),
    );
    Ok(Resp::ok(Value::Object(out)))
}

/// `GET|POST /_count`, `/{index}/_count`.
pub fn count(state: &AppState, index: Option<&str>, req: &Req) -> EsResult<Resp> {
    let mut sreq = SearchRequest {
        size: 0,
        track_total_hits: TrackTotal::Exact,
        ..Default::default()
    };
    if let Some(body) = req.json_opt()? {
        let m = body
            .as_object()
            .ok_or_else(|| EsError::parsing("request body must be an object"))?;
        for (k, v) in m {
            match k.as_str() {
                "query" => sreq.query = Query::parse(v)?,
                other => {
                    return Err(EsError::parsing(format!(
                        "request does not support [{other}]"
                    )));
                }
            }
        }
    }
    if let Some(q) = req.params.get("q") {
        sreq.query = engine::parse_q(q)?;
    }
    let targets = targets_for(state, index, req, authz::SEARCH)?;
    let m = engine::execute(&targets, &sreq, false, Some(0))?;
    Ok(Resp::ok(
        json!({"count": m.total, "_shards": shards_json(targets.len())}),
    ))
}

fn scroll_ids_from(
    body: Option<&Value>,
    path_id: Option<&str>,
    param: Option<&str>,
) -> Vec<String> {
    let mut ids = Vec::new();
    if let Some(v) = body.and_then(|b| b.get("scroll_id")) {
        match v {
            Value::String(s) => ids.extend(s.split(',').map(String::from)),
            Value::Array(a) => ids.extend(a.iter().filter_map(Value::as_str).map(String::from)),
            _ => {}
        }
    }
    for s in [path_id, param].into_iter().flatten() {
        ids.extend(s.split(',').filter(|x| !x.is_empty()).map(String::from));
    }
    ids
}

/// `GET|POST /_search/scroll`.
pub fn scroll(state: &AppState, path_id: Option<&str>, req: &Req) -> EsResult<Resp> {
    let started = Instant::now();
    let body = req.json_opt()?;
    if let Some(Value::Object(m)) = &body {
        for k in m.keys() {
            if k != "scroll_id" && k != "scroll" {
                return Err(EsError::bad_request(format!(
                    "Unknown parameter [{k}] in request body or parameter is of the wrong type[VALUE_STRING] "
                )));
            }
        }
    }
    let ids = scroll_ids_from(body.as_ref(), path_id, req.params.get("scroll_id"));
    let Some(id) = ids.into_iter().next() else {
        return Err(EsError::validation(&["scrollId is missing"]));
    };
    let keep_alive = match body
        .as_ref()
        .and_then(|b| b.get("scroll"))
        .and_then(Value::as_str)
    {
        Some(s) => Some(crate::http::parse_time_value(s, "scroll")?),
        None => req.params.duration("scroll")?,
    };
    let mut ctxs = lock(&state.contexts);
    ctxs.expire();
    let Some(ctx) = ctxs.scrolls.get_mut(&id) else {
        if id.len() < 8
            || !id.chars().all(|c| {
                c.is_ascii_alphanumeric()
                    || c == '-'
                    || c == '_'
                    || c == '='
                    || c == '+'
                    || c == '/'
            })
        {
            return Err(EsError::bad_request("Cannot parse scroll id").caused_by(
                json!({"type": "illegal_argument_exception", "reason": "Cannot parse scroll id"}),
            ));
        }
        return Err(context_missing(&id));
    };
    if let Some(k) = keep_alive {
        ctx.keep_alive = k;
    }
    ctx.expires = Instant::now() + ctx.keep_alive;
    let end = (ctx.pos + ctx.req.size).min(ctx.hits.len());
    let page = &ctx.hits[ctx.pos..end];
    let hits = render_hits(page, ctx.total, ctx.max_score, &ctx.req, true);
    ctx.pos = end;
    let shards = ctx.shards;
    let mut out = Map::new();
    out.insert("_scroll_id".into(), json!(id));
    out.insert("took".into(), json!(took(started)));
    out.insert("timed_out".into(), json!(false));
    out.insert("terminated_early".into(), json!(false));
    out.insert("_shards".into(), shards_json(shards));
    out.insert("hits".into(), hits);
    Ok(Resp::ok(Value::Object(out)))
}

/// `DELETE /_search/scroll`.
pub fn clear_scroll(state: &AppState, path_id: Option<&str>, req: &Req) -> EsResult<Resp> {
    let body = req.json_opt()?;
    let ids = scroll_ids_from(body.as_ref(), path_id, req.params.get("scroll_id"));
    if ids.is_empty() {
        return Err(EsError::validation(&["no scroll ids specified"]));
    }
    let mut ctxs = lock(&state.contexts);
    let mut freed = 0;
    if ids.iter().any(|i| i == "_all") {
        freed = ctxs.scrolls.len();
        ctxs.scrolls.clear();
    } else {
        for id in &ids {
            if ctxs.scrolls.remove(id).is_some() {
                freed += 1;
            }
        }
    }
    let body = json!({"succeeded": true, "num_freed": freed});
    Ok(Resp::json(
        if freed == 0 && !ids.iter().any(|i| i == "_all") {
            404
        } else {
            200
        },
        body,
    ))
}

/// `POST /{index}/_pit?keep_alive=1m`.
pub fn open_pit(state: &AppState, index: &str, req: &Req) -> EsResult<Resp> {
    let Some(keep_alive) = req.params.duration("keep_alive")? else {
        return Err(EsError::validation(&["[keep_alive] is not specified"]));
    };
    let targets = targets_for(state, Some(index), req, authz::OPEN_PIT)?;
    let id = crate::ids::token(48);
    let n = targets.len();
    lock(&state.contexts).pits.insert(
        id.clone(),
        PitCtx {
            targets,
            expires: Instant::now() + keep_alive,
        },
    );
    let creation = chrono::Utc::now().timestamp_millis();
    Ok(Resp::ok(
        json!({"id": id, "_shards": shards_json(n), "creation_time": creation}),
    ))
}

/// `DELETE /_pit {"id"}`.
pub fn close_pit(state: &AppState, req: &Req) -> EsResult<Resp> {
    let body = req.json()?;
    let id = body
        .get("id")
        .and_then(Value::as_str)
        .ok_or_else(|| EsError::validation(&["point in time id must be specified"]))?;
    let freed = lock(&state.contexts).pits.remove(id).is_some();
    let n = if freed { 1 } else { 0 };
    Ok(Resp::json(
        if freed { 200 } else { 404 },
        json!({"succeeded": true, "num_freed": n}),
    ))
}

/// `POST /{index}/_delete_by_query`.
pub fn delete_by_query(state: &AppState, index: &str, req: &Req) -> EsResult<Resp> {
    let started = Instant::now();
    let p = &req.params;
    let mut abort = match p.get("conflicts") {
        None | Some("abort") => true,
        Some("proceed") => false,
        Some(other) => {
            return Err(EsError::bad_request(format!(
                "conflicts may only be \"proceed\" or \"abort\" but was [{other}]"
            )));
        }
    };
    let refresh = refresh_param(p)?;
    let wait = p.bool("wait_for_completion", true)?;
    let body = req.json_opt()?;
    let mut query = None;
    let mut max_docs: Option<usize> = p.i64("max_docs")?.map(|m| m.max(0) as usize);
    if let Some(b) = &body {
        let m = b
            .as_object()
            .ok_or_else(|| EsError::parsing("request body must be an object"))?;
        for (k, v) in m {
            match k.as_str() {
                "query" => query = Some(Query::parse(v)?),
                "max_docs" => max_docs = v.as_u64().map(|x| x as usize),
                "conflicts" => match v.as_str() {
                    Some("proceed") => abort = false,
                    Some("abort") => abort = true,
                    _ => {
                        return Err(EsError::bad_request(format!(
                            "conflicts may only be \"proceed\" or \"abort\" but was [{v}]"
                        )));
                    }
                },
                "slice" => {}
                other => {
                    return Err(EsError::parsing(format!(
                        "[delete_by_query] unknown field [{other}]"
                    )));
                }
            }
        }
    }
    if query.is_none() && !p.has("q") {
        return Err(EsError::validation(&["query is missing"]));
    }
    let mut sreq = SearchRequest {
        size: 0,
        track_total_hits: TrackTotal::Exact,
        ..Default::default()
    };
    sreq.query = match p.get("q") {
        Some(q) => engine::parse_q(q)?,
        None => query.unwrap_or(Query::MatchAll(1.0)),
    };
    sreq.sort = vec![SortSpec {
        by: SortBy::Doc,
        desc: false,
        missing: crate::search::Missing::Last,
        unmapped_type: None,
        mode: None,
        format: None,
    }];
    let names = state.resolve(index, resolve_opts(req)?)?;
    let targets = state.targets(&names);
    let m = engine::execute(&targets, &sreq, false, None)?;

    let mut deleted = 0u64;
    let mut conflicts = 0u64;
    let mut processed = 0u64;
    let mut failures: Vec<Value> = Vec::new();
    let mut by_index: BTreeMap<String, Vec<(std::sync::Arc<str>, i64)>> = BTreeMap::new();
    for h in m.hits.iter().take(max_docs.unwrap_or(usize::MAX)) {
        by_index
            .entry(h.index.to_string())
            .or_default()
            .push((h.id.clone(), h.doc.seq_no));
    }
    'outer: for (name, docs) in &by_index {
        let Some(idx) = read(&state.catalog).get(name) else {
            continue;
        };
        let mut g = write(&idx);
        for (id, seq_no) in docs {
            processed += 1;
            let current = g.get(id).map(|d| d.seq_no);
            if current == Some(*seq_no) {
                let cas = crate::store::Cas {
                    seq_no: *seq_no,
                    primary_term: crate::store::PRIMARY_TERM,
                };
                if g.delete_doc(id, crate::store::Cond::Cas(cas)).is_ok() {
                    deleted += 1;
                }
            } else {
                conflicts += 1;
                if abort {
                    let reason = match current {
                        Some(c) => format!(
                            "[{id}]: version conflict, required seqNo [{seq_no}], primary term [1]. current document has seqNo [{c}] and primary term [1]"
                        ),
                        None => format!(
                            "[{id}]: version conflict, required seqNo [{seq_no}], primary term [1]. but no document was found"
                        ),
                    };
                    let cause = EsError::version_conflict(name, &g.uuid, reason).cause_object();
                    failures.push(
                        json!({"index": name, "id": id.as_ref(), "cause": cause, "status": 409}),
                    );
                    break 'outer;
                }
            }
        }
    }
    if refresh == Refresh::Now {
        state.refresh(&names);
    }
    let total = if abort && !failures.is_empty() {
        processed
    } else {
        m.total.min(max_docs.unwrap_or(usize::MAX)) as u64
    };
    let batches = total.div_ceil(1000);
    let status_fields = json!({
        "total": total,
        "deleted": deleted,
        "batches": batches,
        "version_conflicts": conflicts,
        "noops": 0,
        "retries": {"bulk": 0, "search": 0},
        "throttled_millis": 0,
        "requests_per_second": -1.0,
        "throttled_until_millis": 0
    });
    let mut response = Map::new();
    response.insert("took".into(), json!(took(started)));
    response.insert("timed_out".into(), json!(false));
    if let Value::Object(s) = &status_fields {
        for (k, v) in s {
            response.insert(k.clone(), v.clone());
        }
    }
    response.insert("failures".into(), json!(failures));
    let status = if failures.is_empty() { 200 } else { 409 };
    if !wait {
        let task_id = state.next_task_id();
        let num: u64 = task_id
            .rsplit(':')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let now = chrono::Utc::now().timestamp_millis();
        let task = json!({
            "completed": true,
            "task": {
                "node": crate::NODE_ID,
                "id": num,
                "type": "transport",
                "action": "indices:data/write/delete/byquery",
                "status": status_fields,
                "description": format!("delete-by-query [{index}]"),
                "start_time_in_millis": now,
                "running_time_in_nanos": started.elapsed().as_nanos() as u64,
                "cancellable": true,
                "cancelled": false,
                "headers": {}
            },
            "response": Value::Object(response)
        });
        lock(&state.tasks).insert(task_id.clone(), task);
        return Ok(Resp::ok(json!({"task": task_id})));
    }
    let _ = Duration::ZERO;
    Ok(Resp::json(status, Value::Object(response)))
}
