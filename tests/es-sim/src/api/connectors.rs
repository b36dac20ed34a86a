//! The connector APIs (`_connector/{id}` and its sub-resources), with the side effects, quirks and
//! errors of Elasticsearch's `ConnectorIndexService`. Connector documents live in
//! `.elastic-connectors-v1` and every write is refreshed at once (`refresh=immediate`).

use std::sync::{Arc, RwLock};

use connectors_protocol::ConnectorStatus;
use connectors_protocol::quartz::{CronError, QuartzCron};
use serde_json::{Map, Value, json};

use crate::datemath::now_iso;
use crate::error::{EsError, EsResult};
use crate::http::{Params, Req, Resp};
use crate::search::{self as engine, SearchRequest};
use crate::state::AppState;
use crate::store::{Cond, Index, Outcome, UpdateSpec, read, validate_index_name, write};
use crate::templates::{ACL_PREFIX, CONNECTORS_INDEX, SYNC_JOBS_INDEX};

pub const MANAGED_PREFIX: &str = "content-";

// ---------------------------------------------------------------------------------------------
// Helpers shared with the sync job and secret APIs

/// The concrete system index if it exists.
pub(crate) fn existing(state: &AppState, concrete: &str) -> Option<Arc<RwLock<Index>>> {
    read(&state.catalog).get(concrete)
}

/// The concrete system index, created from its built-in template if needed.
pub(crate) fn ensure(state: &AppState, concrete: &str) -> EsResult<Arc<RwLock<Index>>> {
    state.index_for_write(concrete)
}

/// A document's source, real-time.
pub(crate) fn get_source(idx: &Arc<RwLock<Index>>, id: &str) -> Option<Value> {
    read(idx).get(id).map(|d| d.source.value().clone())
}

/// Indexes (replaces) a document and refreshes. Returns the id and the outcome.
pub(crate) fn put_doc(
    idx: &Arc<RwLock<Index>>,
    id: Option<&str>,
    source: Value,
) -> EsResult<(String, Outcome)> {
    let id = id.map(String::from).unwrap_or_else(crate::ids::auto_id);
    let mut g = write(idx);
    let r = g.index_doc(Arc::from(id.as_str()), source, false, Cond::None)?;
    g.refresh();
    Ok((id, r.outcome))
}

/// A partial (`doc`) update with `detect_noop`, refreshed. A missing document is
/// `document_missing_exception`.
pub(crate) fn update_doc(idx: &Arc<RwLock<Index>>, id: &str, patch: Value) -> EsResult<Outcome> {
    let spec = UpdateSpec {
        doc: Some(patch),
        detect_noop: true,
        ..Default::default()
    };
    let mut g = write(idx);
    let r = g.update_doc(id, &spec, None)?;
    g.refresh();
    Ok(r.outcome)
}

/// `{"id": id, …source}`.
pub(crate) fn with_id(id: &str, source: &Value) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(id));
    if let Value::Object(s) = source {
        for (k, v) in s {
            m.insert(k.clone(), v.clone());
        }
    }
    Value::Object(m)
}

pub(crate) fn result(outcome: Outcome) -> Resp {
    Resp::ok(json!({"result": outcome.as_str()}))
}

/// A total and the `(id, source)` of the hits of a page.
pub(crate) type Found = (usize, Vec<(String, Value)>);

/// Searches a system index (refreshed state): `(total, [(id, source)])`.
pub(crate) fn search_docs(
    state: &AppState,
    concrete: &str,
    body: Value,
) -> EsResult<Option<Found>> {
    if existing(state, concrete).is_none() {
        return Ok(None);
    }
    let req = SearchRequest::parse(Some(&body), &Params::default())?;
    let targets = state.targets(&[concrete.to_string()]);
    let m = engine::execute(&targets, &req, false, Some(req.from + req.size))?;
    let docs = m
        .hits
        .into_iter()
        .skip(req.from)
        .map(|h| (h.id.to_string(), h.doc.source.value().clone()))
        .collect();
    Ok(Some((m.total, docs)))
}

/// `from`/`size` paging parameters of the list APIs.
pub(crate) fn paging(p: &Params) -> EsResult<(i64, i64)> {
    let from = p.i64("from")?.unwrap_or(0);
    let size = p.i64("size")?.unwrap_or(100);
    let mut errs: Vec<String> = Vec::new();
    if from < 0 {
        errs.push(format!(
            "[from] parameter cannot be negative, found [{from}]"
        ));
    }
    if size < 0 {
        errs.push(format!(
            "[size] parameter cannot be negative, found [{size}]"
        ));
    }
    if from + size > 10_000 {
        errs.push(format!("Result window is too large, from + size must be less than or equal to: [10000] but was [{}]", from + size));
    }
    if !errs.is_empty() {
        let refs: Vec<&str> = errs.iter().map(String::as_str).collect();
        return Err(EsError::validation(&refs));
    }
    Ok((from, size))
}

fn not_found(id: &str) -> EsError {
    EsError::resource_not_found(format!("connector [{id}] not found"))
}

fn check_id(id: &str) -> EsResult<()> {
    if id.trim().is_empty() {
        return Err(EsError::validation(&[
            "[connector_id] cannot be [null] or [\"\"]",
        ]));
    }
    Ok(())
}

/// `getConnector`: the connector index and source; a missing or soft-deleted connector is 404.
fn load(
    state: &AppState,
    id: &str,
    include_deleted: bool,
) -> EsResult<(Arc<RwLock<Index>>, Value)> {
    check_id(id)?;
    let idx = existing(state, CONNECTORS_INDEX).ok_or_else(|| not_found(id))?;
    let src = get_source(&idx, id).ok_or_else(|| not_found(id))?;
    if !include_deleted && src.get("deleted") == Some(&Value::Bool(true)) {
        return Err(not_found(id));
    }
    Ok((idx, src))
}

/// An update without a pre-read: a missing index is `connector [id] not found`, a missing
/// document `document_missing_exception`.
fn blind_update(state: &AppState, id: &str, patch: Value) -> EsResult<Resp> {
    check_id(id)?;
    let idx = existing(state, CONNECTORS_INDEX).ok_or_else(|| not_found(id))?;
    Ok(result(update_doc(&idx, id, patch)?))
}

fn loaded_update(idx: &Arc<RwLock<Index>>, id: &str, patch: Value) -> EsResult<Resp> {
    match update_doc(idx, id, patch) {
        Ok(o) => Ok(result(o)),
        Err(e) if e.kind() == Some("document_missing_exception") => Err(not_found(id)),
        Err(e) => Err(e),
    }
}

fn body_object(req: &Req) -> EsResult<Map<String, Value>> {
    match req.json()? {
        Value::Object(m) => Ok(m),
        _ => Err(EsError::x_content("[1:1] request body must be an object")),
    }
}

fn unknown_field(parser: &str, key: &str) -> EsError {
    EsError::x_content(format!("[1:2] [{parser}] unknown field [{key}]"))
}

fn check_fields(m: &Map<String, Value>, parser: &str, allowed: &[&str]) -> EsResult<()> {
    for k in m.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err(unknown_field(parser, k));
        }
    }
    Ok(())
}

fn opt_string(m: &Map<String, Value>, key: &str, parser: &str) -> EsResult<Option<String>> {
    match m.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(EsError::x_content(format!(
            "[1:2] [{parser}] {key} doesn't support values of type: {}",
            match other {
                Value::Number(_) => "VALUE_NUMBER",
                Value::Bool(_) => "VALUE_BOOLEAN",
                Value::Array(_) => "START_ARRAY",
                _ => "START_OBJECT",
            }
        ))),
    }
}

fn index_name_error(name: &str) -> Option<EsError> {
    validate_index_name(name)
        .err()
        .map(|e| EsError::validation(&[e.reason().unwrap_or("invalid index name")]))
}

/// Whether a non-deleted connector other than `id` uses `index_name`.
fn index_name_in_use(state: &AppState, index_name: &str, id: Option<&str>) -> EsResult<bool> {
    let mut must_not = vec![json!({"term": {"deleted": true}})];
    if let Some(id) = id {
        must_not.push(json!({"ids": {"values": [id]}}));
    }
    let q = json!({"query": {"bool": {"must": [{"term": {"index_name": index_name}}], "must_not": must_not}}, "size": 0});
    Ok(search_docs(state, CONNECTORS_INDEX, q)?.is_some_and(|(total, _)| total > 0))
}

fn default_rules(now: &str) -> Value {
    json!({
        "advanced_snippet": {"created_at": now, "updated_at": now, "value": {}},
        "rules": [default_rule(0, &json!(now))],
        "validation": {"errors": [], "state": "valid"}
    })
}

fn default_scheduling() -> Value {
    json!({
        "access_control": {"enabled": false, "interval": "0 0 0 * * ?"},
        "full": {"enabled": false, "interval": "0 0 0 * * ?"},
        "incremental": {"enabled": false, "interval": "0 0 0 * * ?"}
    })
}

/// The document `PUT _connector/{id}` stores.
pub fn default_connector(
    description: Option<String>,
    index_name: Option<String>,
    is_native: bool,
    language: Option<String>,
    name: Option<String>,
    service_type: Option<String>,
) -> Value {
    let now = now_iso();
    let mut m = Map::new();
    m.insert("configuration".into(), json!({}));
    m.insert("custom_scheduling".into(), json!({}));
    if let Some(d) = description {
        m.insert("description".into(), json!(d));
    }
    m.insert(
        "filtering".into(),
        json!([{"active": default_rules(&now), "domain": "DEFAULT", "draft": default_rules(&now)}]),
    );
    m.insert(
        "index_name".into(),
        index_name.map(Value::String).unwrap_or(Value::Null),
    );
    m.insert("is_native".into(), json!(is_native));
    if let Some(l) = language {
        m.insert("language".into(), json!(l));
    }
    m.insert("name".into(), json!(name.unwrap_or_default()));
    m.insert("scheduling".into(), default_scheduling());
    if let Some(s) = service_type {
        m.insert("service_type".into(), json!(s));
    }
    let status = if is_native {
        ConnectorStatus::NeedsConfiguration
    } else {
        ConnectorStatus::Created
    };
    m.insert("status".into(), json!(status.as_str()));
    m.insert("sync_now".into(), json!(false));
    m.insert("deleted".into(), json!(false));
    Value::Object(m)
}

// ---------------------------------------------------------------------------------------------
// Endpoints

/// `PUT _connector/{id}`, `PUT|POST _connector`.
pub fn put(state: &AppState, id: Option<&str>, req: &Req) -> EsResult<Resp> {
    if let Some(i) = id {
        check_id(i)?;
    }
    let body = req.json_object_or_empty()?;
    let parser = "connector_put_request";
    check_fields(
        &body,
        parser,
        &[
            "description",
            "index_name",
            "is_native",
            "language",
            "name",
            "service_type",
        ],
    )?;
    let description = opt_string(&body, "description", parser)?;
    let index_name = opt_string(&body, "index_name", parser)?;
    let language = opt_string(&body, "language", parser)?;
    let name = opt_string(&body, "name", parser)?;
    let service_type = opt_string(&body, "service_type", parser)?;
    let is_native = match body.get("is_native") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => {
            return Err(EsError::x_content(format!(
                "[1:2] [{parser}] failed to parse field [is_native]"
            )));
        }
    };
    if let Some(n) = &index_name {
        if let Some(e) = index_name_error(n) {
            return Err(e);
        }
        if is_native && !n.starts_with(MANAGED_PREFIX) {
            return Err(EsError::validation(&[&format!(
                "Index attached to an Elastic-managed connector must start with the prefix: [{MANAGED_PREFIX}]. The index name in the payload [{n}] doesn't comply with this requirement."
            )]));
        }
        if index_name_in_use(state, n, id)? {
            return Err(EsError::status_exception(
                400,
                format!("Index name [{n}] is used by another connector."),
            ));
        }
    }
    let doc = default_connector(
        description,
        index_name,
        is_native,
        language,
        name,
        service_type,
    );
    let idx = ensure(state, CONNECTORS_INDEX)?;
    let (id, outcome) = put_doc(&idx, id, doc)?;
    Ok(Resp::ok(json!({"result": outcome.as_str(), "id": id})))
}

/// `GET _connector/{id}`.
pub fn get(state: &AppState, id: &str, req: &Req) -> EsResult<Resp> {
    let include_deleted = req.params.bool("include_deleted", false)?;
    let (_, src) = load(state, id, include_deleted)?;
    Ok(Resp::ok(with_id(id, &src)))
}

/// `GET _connector`.
pub fn list(state: &AppState, req: &Req) -> EsResult<Resp> {
    let p = &req.params;
    let (from, size) = paging(p)?;
    let index_names = p.list("index_name");
    for n in &index_names {
        if let Some(e) = index_name_error(n) {
            return Err(e);
        }
    }
    let names = p.list("connector_name");
    let service_types = p.list("service_type");
    let query = p.get("query").filter(|q| !q.is_empty());
    let include_deleted = p.bool("include_deleted", false)?;
    let mut must = Vec::new();
    if !index_names.is_empty() {
        must.push(json!({"terms": {"index_name": index_names}}));
    }
    if !names.is_empty() {
        must.push(json!({"terms": {"name": names}}));
    }
    if !service_types.is_empty() {
        must.push(json!({"terms": {"service_type": service_types}}));
    }
    if let Some(q) = query {
        let w = format!("*{q}*");
        must.push(json!({"bool": {"should": [
            {"wildcard": {"index_name": w}}, {"wildcard": {"name": w}}, {"wildcard": {"description": w}}
        ]}}));
    }
    let mut b = Map::new();
    b.insert("must".into(), json!(must));
    if !include_deleted {
        b.insert("must_not".into(), json!([{"term": {"deleted": true}}]));
    }
    let body =
        json!({"query": {"bool": b}, "from": from, "size": size, "sort": [{"index_name": "asc"}]});
    let (count, docs) = search_docs(state, CONNECTORS_INDEX, body)?.unwrap_or((0, Vec::new()));
    let results: Vec<Value> = docs.iter().map(|(id, src)| with_id(id, src)).collect();
    Ok(Resp::ok(json!({"count": count, "results": results})))
}

/// Deletes every sync job of a connector.
pub(crate) fn delete_sync_jobs_of(state: &AppState, connector_id: &str) -> EsResult<()> {
    let Some(idx) = existing(state, SYNC_JOBS_INDEX) else {
        return Ok(());
    };
    write(&idx).refresh();
    let body = json!({"query": {"term": {"connector.id": connector_id}}, "size": 10_000, "track_total_hits": true});
    if let Some((_, docs)) = search_docs(state, SYNC_JOBS_INDEX, body)? {
        let mut g = write(&idx);
        for (id, _) in docs {
            g.delete_doc(&id, Cond::None)?;
        }
        g.refresh();
    }
    Ok(())
}

/// `DELETE _connector/{id}` (`hard`, `delete_sync_jobs`).
pub fn delete(state: &AppState, id: &str, req: &Req) -> EsResult<Resp> {
    let hard = req.params.bool("hard", false)?;
    let delete_jobs = req.params.bool("delete_sync_jobs", false)?;
    check_id(id)?;
    if hard {
        let idx = existing(state, CONNECTORS_INDEX).ok_or_else(|| not_found(id))?;
        let outcome = {
            let mut g = write(&idx);
            let r = g.delete_doc(id, Cond::None)?;
            g.refresh();
            r.outcome
        };
        if outcome == Outcome::NotFound {
            return Err(not_found(id));
        }
    } else {
        let (idx, _) = load(state, id, false)?;
        loaded_update(&idx, id, json!({"deleted": true}))?;
    }
    if delete_jobs {
        delete_sync_jobs_of(state, id)?;
    }
    Ok(Resp::ok(json!({"acknowledged": true})))
}

/// `PUT _connector/{id}/_check_in`.
pub fn check_in(state: &AppState, id: &str) -> EsResult<Resp> {
    blind_update(state, id, json!({"last_seen": now_iso()}))
}

/// `PUT _connector/{id}/_error`: non-empty error → `error`, null/empty → `connected`, unchecked.
pub fn set_error(state: &AppState, id: &str, req: &Req) -> EsResult<Resp> {
    let body = body_object(req)?;
    check_fields(&body, "connector_update_error_request", &["error"])?;
    let error = opt_string(&body, "error", "connector_update_error_request")?;
    let status = if error.as_deref().is_none_or(str::is_empty) {
        ConnectorStatus::Connected
    } else {
        ConnectorStatus::Error
    };
    blind_update(
        state,
        id,
        json!({"error": error, "status": status.as_str()}),
    )
}

fn parse_connector_status(s: &str) -> EsResult<ConnectorStatus> {
    s.parse()
        .map_err(|_| EsError::bad_request(format!("Unknown ConnectorStatus: {s}")))
}

/// `PUT _connector/{id}/_status`: checked against the connector state machine.
pub fn set_status(state: &AppState, id: &str, req: &Req) -> EsResult<Resp> {
    let body = body_object(req)?;
    check_fields(&body, "connector_update_status_request", &["status"])?;
    let next = match body.get("status") {
        Some(Value::String(s)) => parse_connector_status(s)?,
        _ => {
            return Err(EsError::x_content(
                "[1:2] [connector_update_status_request] failed to parse field [status]",
            ));
        }
    };
    let (idx, src) = load(state, id, false)?;
    let current = parse_connector_status(src.get("status").and_then(Value::as_str).unwrap_or(""))?;
    current
        .transition(next)
        .map_err(|e| EsError::status_exception(400, e.to_string()))?;
    loaded_update(&idx, id, json!({"status": next.as_str()}))
}

/// `PUT _connector/{id}/_configuration` with `configuration` (replace) or `values`.
pub fn configuration(state: &AppState, id: &str, req: &Req) -> EsResult<Resp> {
    let body = body_object(req)?;
    check_fields(
        &body,
        "connector_update_configuration_request",
        &["configuration", "values"],
    )?;
    let full = body.get("configuration").filter(|v| !v.is_null());
    let values = body.get("values").filter(|v| !v.is_null());
    if let Some(c) = full
        && !c.is_object()
    {
        return Err(EsError::x_content(
            "[1:2] [connector_update_configuration_request] failed to parse field [configuration]",
        ));
    }
    if let Some(v) = values
        && !v.is_object()
    {
        return Err(EsError::x_content(
            "[1:2] [connector_update_configuration_request] failed to parse field [values]",
        ));
    }
    let (idx, mut src) = load(state, id, false)?;
    if let Some(c) = full {
        if let Value::Object(m) = &mut src {
            m.insert("configuration".into(), c.clone());
            m.insert("status".into(), json!(ConnectorStatus::Configured.as_str()));
        }
        let (_, outcome) = put_doc(&idx, Some(id), src)?;
        return Ok(result(outcome));
    }
    let Some(Value::Object(values)) = values else {
        return Err(EsError::status_exception(
            400,
            "[configuration] and [values] cannot both be null.",
        ));
    };
    let existing_keys: Vec<String> = src
        .get("configuration")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let unknown: Vec<&str> = values
        .keys()
        .filter(|k| !existing_keys.contains(k))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(EsError::status_exception(
            400,
            format!(
                "Unknown [configuration] fields in the request payload: [{}]. Remove them from request or register their schema first.",
                unknown.join(", ")
            ),
        ));
    }
    let patch: Map<String, Value> = values
        .iter()
        .map(|(k, v)| (k.clone(), json!({"value": v})))
        .collect();
    loaded_update(
        &idx,
        id,
        json!({"configuration": patch, "status": ConnectorStatus::Configured.as_str()}),
    )
}

/// The `DEFAULT` rule: include everything, `order` as given.
fn default_rule(order: i64, timestamp: &Value) -> Value {
    json!({
        "created_at": timestamp, "field": "_", "id": "DEFAULT", "order": order, "policy": "include",
        "rule": "regex", "updated_at": timestamp, "value": ".*"
    })
}

/// `FilteringRule#equalsExceptForTimestampsAndOrder` against the `DEFAULT` rule.
fn is_default_rule(r: &Value) -> bool {
    let s = |k: &str| r.get(k).and_then(Value::as_str);
    s("id") == Some("DEFAULT")
        && s("field") == Some("_")
        && s("policy") == Some("include")
        && s("rule") == Some("regex")
        && s("value") == Some(".*")
}

/// `ConnectorFiltering.sortFilteringRulesByOrder`: the non-default rules by `order` (stable), then
/// the `DEFAULT` rule re-created with `order` = last order + 1 (0 alone) and the `created_at` of
/// the given default rule (else now) as both timestamps. A rule that is not exactly the default
/// one stays an ordinary rule, even with id `DEFAULT`.
fn sort_rules(rules: &[Value], now: &str) -> Vec<Value> {
    let mut normal: Vec<Value> = Vec::with_capacity(rules.len() + 1);
    let mut default_created: Option<Value> = None;
    for r in rules {
        let mut r = r.clone();
        if let Value::Object(m) = &mut r {
            m.entry("created_at").or_insert_with(|| json!(now));
            m.entry("updated_at").or_insert_with(|| json!(now));
        }
        if is_default_rule(&r) {
            if default_created.is_none() {
                default_created = r.get("created_at").cloned();
            }
        } else {
            normal.push(r);
        }
    }
    let order_of = |r: &Value| r.get("order").and_then(Value::as_i64).unwrap_or(0);
    normal.sort_by_key(order_of);
    let order = normal.last().map_or(0, |r| order_of(r) + 1);
    let timestamp = match default_created {
        Some(t) if !t.is_null() => t,
        _ => json!(now),
    };
    normal.push(default_rule(order, &timestamp));
    normal
}

fn first_filtering(src: &Value) -> Value {
    src.get("filtering")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .cloned()
        .unwrap_or_else(|| {
            let now = now_iso();
            json!({"active": default_rules(&now), "domain": "DEFAULT", "draft": default_rules(&now)})
        })
}

fn check_rule(rule: &Value) -> EsResult<()> {
    let m = rule
        .as_object()
        .ok_or_else(|| EsError::x_content("[1:2] [connector_filtering_rule] expected an object"))?;
    for required in ["field", "id", "order", "policy", "rule", "value"] {
        if !m.contains_key(required) {
            return Err(EsError::x_content(format!("[1:2] Required [{required}]")));
        }
    }
    let policy = m.get("policy").and_then(Value::as_str).unwrap_or("");
    if !["include", "exclude"].contains(&policy) {
        return Err(EsError::x_content(format!(
            "[1:2] [connector_filtering_rule] failed to parse field [policy]: Unknown FilteringPolicy [{policy}]"
        )));
    }
    let r = m.get("rule").and_then(Value::as_str).unwrap_or("");
    if ![
        "contains",
        "ends_with",
        "equals",
        "regex",
        "starts_with",
        ">",
        "<",
    ]
    .contains(&r)
    {
        return Err(EsError::x_content(format!(
            "[1:2] [connector_filtering_rule] failed to parse field [rule]: Unknown FilteringRuleCondition [{r}]"
        )));
    }
    Ok(())
}

/// `PUT _connector/{id}/_filtering`: `filtering` replaces, `rules`/`advanced_snippet` edit the draft.
pub fn filtering(state: &AppState, id: &str, req: &Req) -> EsResult<Resp> {
    let body = body_object(req)?;
    check_fields(
        &body,
        "connector_update_filtering_request",
        &["filtering", "rules", "advanced_snippet"],
    )?;
    if let Some(f) = body.get("filtering").filter(|v| !v.is_null()) {
        if !f.is_array() {
            return Err(EsError::x_content(
                "[1:2] [connector_update_filtering_request] failed to parse field [filtering]",
            ));
        }
        return blind_update(state, id, json!({"filtering": f}));
    }
    let rules = body.get("rules").filter(|v| !v.is_null());
    let snippet = body.get("advanced_snippet").filter(|v| !v.is_null());
    if rules.is_none() && snippet.is_none() {
        return Err(EsError::validation(&[
            "[filtering], [rules] and [advanced_snippet] cannot all be [null]",
        ]));
    }
    let (idx, src) = load(state, id, false)?;
    let now = now_iso();
    let mut f0 = first_filtering(&src);
    let mut draft = f0
        .get("draft")
        .cloned()
        .unwrap_or_else(|| default_rules(&now));
    if let Some(r) = rules {
        let arr = r.as_array().ok_or_else(|| {
            EsError::x_content(
                "[1:2] [connector_update_filtering_request] failed to parse field [rules]",
            )
        })?;
        for rule in arr {
            check_rule(rule)?;
        }
        draft["rules"] = Value::Array(sort_rules(arr, &now));
    }
    if let Some(s) = snippet {
        let o = s
            .as_object()
            .ok_or_else(|| EsError::x_content("[1:2] failed to parse field [advanced_snippet]"))?;
        let value = o
            .get("value")
            .cloned()
            .ok_or_else(|| EsError::x_content("[1:2] Required [value]"))?;
        draft["advanced_snippet"] = json!({
            "created_at": o.get("created_at").cloned().unwrap_or_else(|| json!(now)),
            "updated_at": o.get("updated_at").cloned().unwrap_or_else(|| json!(now)),
            "value": value
        });
    }
    draft["validation"] = json!({"errors": [], "state": "edited"});
    f0["draft"] = draft;
    loaded_update(&idx, id, json!({"filtering": [f0]}))
}

/// `PUT _connector/{id}/_filtering/_validation`.
pub fn filtering_validation(state: &AppState, id: &str, req: &Req) -> EsResult<Resp> {
    let body = body_object(req)?;
    check_fields(
        &body,
        "connector_update_filtering_validation_request",
        &["validation"],
    )?;
    let v = body
        .get("validation")
        .and_then(Value::as_object)
        .ok_or_else(|| EsError::x_content("[1:2] Required [validation]"))?;
    let state_str = v.get("state").and_then(Value::as_str).unwrap_or("");
    if !["valid", "invalid", "edited"].contains(&state_str) {
        return Err(EsError::x_content(format!(
            "[1:2] [filtering_validation] failed to parse field [state]: Unknown FilteringValidationState [{state_str}]"
        )));
    }
    let errors = v.get("errors").cloned().unwrap_or_else(|| json!([]));
    if !errors.is_array() {
        return Err(EsError::x_content(
            "[1:2] [filtering_validation] failed to parse field [errors]",
        ));
    }
    let (idx, src) = load(state, id, false)?;
    let mut f0 = first_filtering(&src);
    f0["draft"]["validation"] = json!({"errors": errors, "state": state_str});
    loaded_update(&idx, id, json!({"filtering": [f0]}))
}

/// `PUT _connector/{id}/_filtering/_activate`: draft → active, only when the draft is valid.
pub fn filtering_activate(state: &AppState, id: &str) -> EsResult<Resp> {
    let (idx, src) = load(state, id, false)?;
    let mut f0 = first_filtering(&src);
    let draft_state = f0["draft"]["validation"]["state"]
        .as_str()
        .unwrap_or("edited")
        .to_string();
    if draft_state != "valid" {
        return Err(EsError::status_exception(
            400,
            format!(
                "Filtering draft needs to be validated by the connector service before activation. Current filtering draft validation state [{draft_state}] is not equal to [valid]."
            ),
        ));
    }
    f0["active"] = f0["draft"].clone();
    loaded_update(&idx, id, json!({"filtering": [f0]}))
}

const LAST_SYNC_FIELDS: &[&str] = &[
    "last_access_control_sync_error",
    "last_access_control_sync_scheduled_at",
    "last_access_control_sync_status",
    "last_deleted_document_count",
    "last_incremental_sync_scheduled_at",
    "last_indexed_document_count",
    "last_seen",
    "last_sync_error",
    "last_sync_scheduled_at",
    "last_sync_status",
    "last_synced",
    "sync_cursor",
];

/// `PUT _connector/{id}/_last_sync`.
pub fn last_sync(state: &AppState, id: &str, req: &Req) -> EsResult<Resp> {
    let body = body_object(req)?;
    check_fields(
        &body,
        "connector_update_last_sync_stats_request",
        LAST_SYNC_FIELDS,
    )?;
    for k in ["last_sync_status", "last_access_control_sync_status"] {
        if let Some(Value::String(s)) = body.get(k)
            && s.parse::<connectors_protocol::SyncStatus>().is_err()
        {
            return Err(EsError::x_content(format!(
                "[1:2] [connector_update_last_sync_stats_request] failed to parse field [{k}]"
            )));
        }
    }
    blind_update(state, id, Value::Object(body))
}

/// `PUT _connector/{id}/_features`.
pub fn features(state: &AppState, id: &str, req: &Req) -> EsResult<Resp> {
    let body = body_object(req)?;
    check_fields(&body, "connector_update_features_request", &["features"])?;
    let f = body
        .get("features")
        .and_then(Value::as_object)
        .ok_or_else(|| EsError::x_content("[1:2] Required [features]"))?;
    for (k, v) in f {
        match k.as_str() {
            "document_level_security" | "incremental_sync" | "native_connector_api_keys" => {
                if !v.is_object() {
                    return Err(EsError::x_content(format!(
                        "[1:2] [connector_features] failed to parse field [{k}]"
                    )));
                }
            }
            "sync_rules" => {
                let o = v.as_object().ok_or_else(|| {
                    EsError::x_content(
                        "[1:2] [connector_features] failed to parse field [sync_rules]",
                    )
                })?;
                for sk in o.keys() {
                    if sk != "basic" && sk != "advanced" {
                        return Err(unknown_field("sync_rules_features", sk));
                    }
                }
            }
            other => return Err(unknown_field("connector_features", other)),
        }
    }
    blind_update(state, id, json!({"features": f}))
}

/// `PUT _connector/{id}/_index_name`.
pub fn index_name(state: &AppState, id: &str, req: &Req) -> EsResult<Resp> {
    let body = body_object(req)?;
    let parser = "connector_update_index_name_request";
    check_fields(&body, parser, &["index_name"])?;
    if !body.contains_key("index_name") {
        return Err(EsError::x_content("[1:2] Required [index_name]"));
    }
    let name = opt_string(&body, "index_name", parser)?;
    if let Some(n) = &name {
        if let Some(e) = index_name_error(n) {
            return Err(e);
        }
        if index_name_in_use(state, n, Some(id))? {
            return Err(EsError::status_exception(
                400,
                format!("Index name [{n}] is used by another connector."),
            ));
        }
    }
    let (idx, src) = load(state, id, false)?;
    let native = src
        .get("is_native")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    if let Some(n) = &name
        && native
        && !n.starts_with(MANAGED_PREFIX)
    {
        return Err(EsError::status_exception(
            400,
            format!(
                "Index attached to an Elastic-managed connector must start with the prefix: [{MANAGED_PREFIX}]. The index name in the payload [{n}] doesn't comply with this requirement."
            ),
        ));
    }
    loaded_update(&idx, id, json!({"index_name": name}))
}

/// `PUT _connector/{id}/_api_key_id`.
pub fn api_key_id(state: &AppState, id: &str, req: &Req) -> EsResult<Resp> {
    let body = body_object(req)?;
    let parser = "connector_update_api_key_id_request";
    check_fields(&body, parser, &["api_key_id", "api_key_secret_id"])?;
    let key = opt_string(&body, "api_key_id", parser)?;
    let secret = opt_string(&body, "api_key_secret_id", parser)?;
    if key.is_none() && secret.is_none() {
        return Err(EsError::validation(&[
            "[api_key_id] and [api_key_secret_id] cannot both be [null].",
        ]));
    }
    let mut patch = Map::new();
    if let Some(k) = key {
        patch.insert("api_key_id".into(), json!(k));
    }
    if let Some(s) = secret {
        patch.insert("api_key_secret_id".into(), json!(s));
    }
    blind_update(state, id, Value::Object(patch))
}

/// `PUT _connector/{id}/_native`.
pub fn native(state: &AppState, id: &str, req: &Req) -> EsResult<Resp> {
    let body = body_object(req)?;
    check_fields(&body, "connector_update_native_request", &["is_native"])?;
    let is_native = body
        .get("is_native")
        .and_then(Value::as_bool)
        .ok_or_else(|| EsError::x_content("[1:2] Required [is_native]"))?;
    let (idx, src) = load(state, id, false)?;
    if let Some(n) = src.get("index_name").and_then(Value::as_str)
        && is_native
        && !n.starts_with(MANAGED_PREFIX)
    {
        return Err(EsError::status_exception(
            400,
            format!(
                "The index name [{n}] attached to the connector [{id}] must start with the required prefix: [{MANAGED_PREFIX}] to be Elastic-managed. Please update the attached index first to comply with this requirement."
            ),
        ));
    }
    let mut status = src
        .get("status")
        .and_then(Value::as_str)
        .unwrap_or("created")
        .to_string();
    if status == "connected" {
        status = "configured".into();
    }
    loaded_update(&idx, id, json!({"is_native": is_native, "status": status}))
}

/// `PUT _connector/{id}/_pipeline`.
pub fn pipeline(state: &AppState, id: &str, req: &Req) -> EsResult<Resp> {
    let body = body_object(req)?;
    check_fields(&body, "connector_update_pipeline_request", &["pipeline"])?;
    let p = body
        .get("pipeline")
        .and_then(Value::as_object)
        .ok_or_else(|| EsError::x_content("[1:2] Required [pipeline]"))?;
    for required in [
        "extract_binary_content",
        "name",
        "reduce_whitespace",
        "run_ml_inference",
    ] {
        if !p.contains_key(required) {
            return Err(EsError::x_content(format!("[1:2] Required [{required}]")));
        }
    }
    check_fields(
        p,
        "ingest_pipeline_params",
        &[
            "extract_binary_content",
            "name",
            "reduce_whitespace",
            "run_ml_inference",
        ],
    )?;
    blind_update(state, id, json!({"pipeline": p}))
}

/// The JSON token type Elasticsearch's parsers name in "doesn't support values of type".
fn token_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "VALUE_NULL",
        Value::Number(_) => "VALUE_NUMBER",
        Value::Bool(_) => "VALUE_BOOLEAN",
        Value::String(_) => "VALUE_STRING",
        Value::Array(_) => "START_ARRAY",
        Value::Object(_) => "START_OBJECT",
    }
}

fn cause(kind: &str, reason: impl Into<String>) -> Value {
    json!({"type": kind, "reason": reason.into()})
}

/// One schedule (`schedule_config`: lenient, `enabled` and `interval` required) as
/// `ConnectorScheduling.ScheduleConfig` parses it; the error is the `caused_by` of
/// `[connector_scheduling] failed to parse field [<schedule>]`. The interval is validated by
/// Elasticsearch's `Cron`, which keeps it upper-cased.
fn schedule_config(o: &Map<String, Value>) -> Result<Value, Value> {
    let enabled = match o.get("enabled") {
        None => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(t)) if t == "true" || t == "false" => Some(t == "true"),
        Some(Value::String(t)) => {
            let mut c = cause(
                "x_content_parse_exception",
                "[1:2] [schedule_config] failed to parse field [enabled]",
            );
            c["caused_by"] = cause(
                "illegal_argument_exception",
                format!("Failed to parse value [{t}] as only [true] or [false] are allowed."),
            );
            return Err(c);
        }
        Some(other) => {
            return Err(cause(
                "x_content_parse_exception",
                format!(
                    "[1:2] [schedule_config] enabled doesn't support values of type: {}",
                    token_type(other)
                ),
            ));
        }
    };
    let interval = match o.get("interval") {
        None => None,
        Some(Value::String(t)) => Some(t.as_str()),
        Some(other) => {
            return Err(cause(
                "x_content_parse_exception",
                format!(
                    "[1:2] [schedule_config] interval doesn't support values of type: {}",
                    token_type(other)
                ),
            ));
        }
    };
    let (Some(enabled), Some(interval)) = (enabled, interval) else {
        let missing: Vec<&str> = [
            ("enabled", enabled.is_none()),
            ("interval", interval.is_none()),
        ]
        .into_iter()
        .filter_map(|(k, m)| m.then_some(k))
        .collect();
        return Err(cause(
            "illegal_argument_exception",
            format!("Required [{}]", missing.join(", ")),
        ));
    };
    if let Err(e) = QuartzCron::parse(interval) {
        // The object is built, and the cron parsed, when the later of the two fields arrives.
        let last = o
            .keys()
            .rfind(|k| *k == "enabled" || *k == "interval")
            .map_or("interval", String::as_str);
        return Err(json!({
            "type": "x_content_parse_exception",
            "reason": format!("[1:2] [schedule_config] failed to parse field [{last}]"),
            "caused_by": {
                "type": "x_content_parse_exception",
                "reason": "Failed to build [schedule_config] after last required field arrived",
                "caused_by": {
                    "type": "illegal_argument_exception",
                    "reason": CronError::invalid_reason(interval),
                    "caused_by": cause("illegal_argument_exception", e.format_reason()),
                }
            }
        }));
    }
    Ok(json!({"enabled": enabled, "interval": interval.to_uppercase()}))
}

/// `PUT _connector/{id}/_scheduling`, parsed as `UpdateConnectorSchedulingAction` does: the
/// `connector_scheduling` object is lenient (other keys are dropped), each schedule given is
/// checked by [`schedule_config`], and only the schedules given are written.
pub fn scheduling(state: &AppState, id: &str, req: &Req) -> EsResult<Resp> {
    let body = body_object(req)?;
    check_fields(
        &body,
        "connector_update_scheduling_request",
        &["scheduling"],
    )?;
    let s = body
        .get("scheduling")
        .and_then(Value::as_object)
        .ok_or_else(|| EsError::x_content("[1:2] Required [scheduling]"))?;
    let wrap = |k: &str, inner: Value| {
        EsError::x_content(
            "[1:2] [connector_update_scheduling_request] failed to parse field [scheduling]",
        )
        .caused_by(json!({
            "type": "x_content_parse_exception",
            "reason": format!("[1:2] [connector_scheduling] failed to parse field [{k}]"),
            "caused_by": inner,
        }))
    };
    let mut parsed = Map::new();
    for (k, v) in s {
        if !["full", "incremental", "access_control"].contains(&k.as_str()) {
            continue;
        }
        let Value::Object(o) = v else {
            return Err(wrap(
                k,
                cause(
                    "x_content_parse_exception",
                    format!(
                        "[1:2] [connector_scheduling] {k} doesn't support values of type: {}",
                        token_type(v)
                    ),
                ),
            ));
        };
        let config = schedule_config(o).map_err(|inner| wrap(k, inner))?;
        parsed.insert(k.clone(), config);
    }
    // `UpdateConnectorSchedulingAction.Request#validate`. Its check tests `incremental` twice and
    // never `access_control`, so a body with only `access_control` is rejected too.
    if !parsed.contains_key("full") && !parsed.contains_key("incremental") {
        return Err(EsError::validation(&[
            "[scheduling] object needs to define at least one schedule type: [full | incremental | access_control]",
        ]));
    }
    blind_update(state, id, json!({"scheduling": parsed}))
}

/// `PUT _connector/{id}/_service_type`: `created` stays, anything else → `needs_configuration`.
pub fn service_type(state: &AppState, id: &str, req: &Req) -> EsResult<Resp> {
    let body = body_object(req)?;
    let parser = "connector_update_service_type_request";
    check_fields(&body, parser, &["service_type"])?;
    let st = opt_string(&body, "service_type", parser)?
        .ok_or_else(|| EsError::validation(&["[service_type] cannot be [null] or [\"\"]."]))?;
    let (idx, src) = load(state, id, false)?;
    let status = if src.get("status").and_then(Value::as_str) == Some("created") {
        "created"
    } else {
        "needs_configuration"
    };
    loaded_update(&idx, id, json!({"service_type": st, "status": status}))
}

/// `PUT _connector/{id}/_name`.
pub fn name(state: &AppState, id: &str, req: &Req) -> EsResult<Resp> {
    let body = body_object(req)?;
    let parser = "connector_update_name_request";
    check_fields(&body, parser, &["name", "description"])?;
    let n = opt_string(&body, "name", parser)?;
    let d = opt_string(&body, "description", parser)?;
    if n.is_none() && d.is_none() {
        return Err(EsError::validation(&[
            "[name] and [description] cannot both be [null].",
        ]));
    }
    let mut patch = Map::new();
    if let Some(n) = n {
        patch.insert("name".into(), json!(n));
    }
    if let Some(d) = d {
        patch.insert("description".into(), json!(d));
    }
    blind_update(state, id, Value::Object(patch))
}

/// The sync-job snapshot of a connector (`connector` of a job document).
pub(crate) fn job_snapshot(id: &str, src: &Value, access_control: bool) -> Value {
    let mut m = Map::new();
    m.insert("id".into(), json!(id));
    if let Some(active) = src
        .get("filtering")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .and_then(|f| f.get("active"))
    {
        m.insert("filtering".into(), active.clone());
    }
    if let Some(n) = src.get("index_name").and_then(Value::as_str) {
        let n = if access_control {
            format!("{ACL_PREFIX}{n}")
        } else {
            n.to_string()
        };
        m.insert("index_name".into(), json!(n));
    }
    for k in ["language", "pipeline", "service_type", "configuration"] {
        if let Some(v) = src.get(k).filter(|v| !v.is_null()) {
            m.insert(k.into(), v.clone());
        }
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_config_validation() {
        let ok =
            |i: &str| schedule_config(json!({"enabled": true, "interval": i}).as_object().unwrap());
        assert_eq!(
            ok("0 0 12 ? * mon-fri").unwrap()["interval"],
            "0 0 12 ? * MON-FRI"
        );
        assert!(ok("0 */5 * * * ?").is_ok());
        for bad in [
            "* * *",
            "0 98 0 * * ?",
            "61 * * * * ?",
            "not a cron at all",
            "0 0 0 * * *",
        ] {
            assert!(ok(bad).is_err(), "{bad}");
        }
        // Quartz's own quirk, kept by Elasticsearch: 99 is its marker for `*`, so it passes.
        assert!(ok("0 99 0 * * ?").is_ok());
        let e = ok("0 0 24 * * ?").unwrap_err();
        assert_eq!(
            e["reason"],
            "[1:2] [schedule_config] failed to parse field [interval]"
        );
        assert_eq!(
            e["caused_by"]["caused_by"]["caused_by"]["reason"],
            "illegal cron expression format [java.lang.IllegalArgumentException: Hour values must be between 0 and 23]"
        );
        // the later of the two required fields is the one named
        let e = schedule_config(
            json!({"interval": "0 60 * * * ?", "enabled": true})
                .as_object()
                .unwrap(),
        )
        .unwrap_err();
        assert_eq!(
            e["reason"],
            "[1:2] [schedule_config] failed to parse field [enabled]"
        );
        let e =
            schedule_config(json!({"interval": "0 0 0 * * ?"}).as_object().unwrap()).unwrap_err();
        assert_eq!(e["reason"], "Required [enabled]");
    }

    #[test]
    fn rules_sorted_with_default_last() {
        let default = json!({"id": "DEFAULT", "order": 0, "field": "_", "policy": "include",
            "rule": "regex", "value": ".*", "created_at": "c0"});
        let rules = vec![
            default,
            json!({"id": "b", "order": 2}),
            json!({"id": "a", "order": 1}),
        ];
        let sorted = sort_rules(&rules, "t");
        let ids: Vec<&str> = sorted.iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(ids, vec!["a", "b", "DEFAULT"]);
        assert_eq!(sorted[0]["created_at"], "t");
        // re-added with order = last + 1, keeping the given default's created_at
        assert_eq!(sorted[2]["order"], 3);
        assert_eq!(sorted[2]["created_at"], "c0");
        assert_eq!(sorted[2]["updated_at"], "c0");

        // no default rule: appended; an empty list is the default rule alone, order 0
        let sorted = sort_rules(&[json!({"id": "x", "order": 4})], "t");
        assert_eq!(sorted[1]["id"], "DEFAULT");
        assert_eq!(sorted[1]["order"], 5);
        assert_eq!(sorted[1]["created_at"], "t");
        let sorted = sort_rules(&[], "t");
        assert_eq!(sorted.len(), 1);
        assert_eq!(sorted[0]["order"], 0);

        // a rule with id DEFAULT that is not the default rule stays an ordinary rule
        let odd = json!({"id": "DEFAULT", "order": 7, "field": "f", "policy": "exclude",
            "rule": "equals", "value": "v"});
        let sorted = sort_rules(&[odd], "t");
        assert_eq!(sorted.len(), 2);
        assert_eq!(sorted[0]["field"], "f");
        assert_eq!(sorted[1]["field"], "_");
        assert_eq!(sorted[1]["order"], 8);
    }

    #[test]
    fn default_document() {
        let d = default_connector(None, Some("search-x".into()), false, None, None, None);
        assert_eq!(d["status"], "created");
        assert_eq!(d["name"], "");
        assert!(d.get("description").is_none());
        assert_eq!(d["filtering"][0]["draft"]["rules"][0]["id"], "DEFAULT");
        let d = default_connector(None, None, true, None, None, None);
        assert_eq!(d["status"], "needs_configuration");
        assert_eq!(d["index_name"], Value::Null);
    }
}
