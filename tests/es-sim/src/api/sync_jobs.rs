//! The sync job APIs (`_connector/_sync_job`), with the quirks of Elasticsearch's
//! `ConnectorSyncJobIndexService`: `_claim` does not check the status, `_cancel` goes straight to
//! `canceled` for pending/suspended jobs, `_error` only from `in_progress`/`canceling`.

use std::sync::{Arc, RwLock};

use connectors_protocol::{JobType, SyncStatus, TriggerMethod};
use serde_json::{Map, Value, json};

use crate::api::connectors::{
    ensure, existing, get_source, job_snapshot, paging, put_doc, result, search_docs, update_doc,
    with_id,
};
use crate::datemath::{now_iso, parse_date};
use crate::error::{EsError, EsResult};
use crate::http::{Req, Resp};
use crate::state::AppState;
use crate::store::{Cond, Index, Outcome, write};
use crate::templates::{CONNECTORS_INDEX, SYNC_JOBS_INDEX};

fn not_found(id: &str) -> EsError {
    EsError::resource_not_found(format!("connector sync job [{id}] not found"))
}

fn check_id(id: &str) -> EsResult<()> {
    if id.trim().is_empty() {
        return Err(EsError::validation(&[
            "[connector_sync_job_id] of the connector sync job cannot be null or empty.",
        ]));
    }
    Ok(())
}

fn load(state: &AppState, id: &str) -> EsResult<(Arc<RwLock<Index>>, Value)> {
    check_id(id)?;
    let idx = existing(state, SYNC_JOBS_INDEX).ok_or_else(|| not_found(id))?;
    let src = get_source(&idx, id).ok_or_else(|| not_found(id))?;
    Ok((idx, src))
}

/// A doc update where a missing index or document is `connector sync job [id] not found`.
fn job_update(state: &AppState, id: &str, patch: Value) -> EsResult<Resp> {
    check_id(id)?;
    let idx = existing(state, SYNC_JOBS_INDEX).ok_or_else(|| not_found(id))?;
    match update_doc(&idx, id, patch) {
        Ok(o) => Ok(result(o)),
        Err(e) if e.kind() == Some("document_missing_exception") => Err(not_found(id)),
        Err(e) => Err(e),
    }
}

fn status_of(src: &Value) -> EsResult<SyncStatus> {
    let s = src.get("status").and_then(Value::as_str).unwrap_or("");
    s.parse()
        .map_err(|_| EsError::bad_request(format!("Unknown ConnectorSyncStatus: {s}")))
}

fn transition_error(e: connectors_protocol::TransitionError) -> EsError {
    EsError::status_exception(400, e.to_string())
}

fn body_object(req: &Req) -> EsResult<Map<String, Value>> {
    match req.json()? {
        Value::Object(m) => Ok(m),
        _ => Err(EsError::x_content("[1:1] request body must be an object")),
    }
}

fn check_fields(m: &Map<String, Value>, parser: &str, allowed: &[&str]) -> EsResult<()> {
    for k in m.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err(EsError::x_content(format!(
                "[1:2] [{parser}] unknown field [{k}]"
            )));
        }
    }
    Ok(())
}

/// `POST _connector/_sync_job {"id", "job_type"?, "trigger_method"?}`.
pub fn post(state: &AppState, req: &Req) -> EsResult<Resp> {
    let body = body_object(req)?;
    check_fields(
        &body,
        "connector_sync_job_post_request",
        &["id", "job_type", "trigger_method"],
    )?;
    let connector_id = match body.get("id") {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        _ => {
            return Err(EsError::validation(&[
                "[id] of the connector cannot be [null] or [\"\"].",
            ]));
        }
    };
    let job_type = match body.get("job_type") {
        None | Some(Value::Null) => JobType::Full,
        Some(Value::String(s)) => s
            .parse::<JobType>()
            .map_err(|_| EsError::x_content("[1:2] [connector_sync_job_post_request] failed to parse field [job_type]").caused_by(json!({"type": "illegal_argument_exception", "reason": format!("Unknown ConnectorSyncJobType [{s}]")})))?,
        Some(_) => return Err(EsError::x_content("[1:2] [connector_sync_job_post_request] failed to parse field [job_type]")),
    };
    let trigger = match body.get("trigger_method") {
        None | Some(Value::Null) => TriggerMethod::OnDemand,
        Some(Value::String(s)) => s.parse::<TriggerMethod>().map_err(|_| {
            EsError::x_content("[1:2] [connector_sync_job_post_request] failed to parse field [trigger_method]")
                .caused_by(json!({"type": "illegal_argument_exception", "reason": format!("Unknown ConnectorSyncTriggerMethod [{s}]")}))
        })?,
        Some(_) => return Err(EsError::x_content("[1:2] [connector_sync_job_post_request] failed to parse field [trigger_method]")),
    };
    let connectors = existing(state, CONNECTORS_INDEX)
        .ok_or_else(|| EsError::index_not_found(CONNECTORS_INDEX))?;
    let src = get_source(&connectors, &connector_id).ok_or_else(|| {
        EsError::resource_not_found(format!(
            "Connector with id '{connector_id}' does not exist."
        ))
    })?;
    if src
        .get("index_name")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(EsError::status_exception(
            400,
            format!(
                "Cannot start a sync for connector [{connector_id}] with no index attached. Set the [index_name] property for the connector to enable syncing data."
            ),
        ));
    }
    if src
        .get("service_type")
        .and_then(Value::as_str)
        .is_none_or(str::is_empty)
    {
        return Err(EsError::status_exception(
            400,
            format!(
                "Cannot start a sync for connector [{connector_id}] with [service_type] not defined. Set the service type of your connector before starting the sync."
            ),
        ));
    }
    let now = now_iso();
    let doc = json!({
        "connector": job_snapshot(&connector_id, &src, job_type == JobType::AccessControl),
        "job_type": job_type.as_str(),
        "trigger_method": trigger.as_str(),
        "status": SyncStatus::Pending.as_str(),
        "created_at": now,
        "last_seen": now,
        "total_document_count": 0,
        "indexed_document_count": 0,
        "indexed_document_volume": 0,
        "deleted_document_count": 0
    });
    let idx = ensure(state, SYNC_JOBS_INDEX)?;
    let (id, _) = put_doc(&idx, None, doc)?;
    Ok(Resp::ok(json!({"id": id})))
}

/// `GET _connector/_sync_job/{id}`.
pub fn get(state: &AppState, id: &str) -> EsResult<Resp> {
    let (_, src) = load(state, id)?;
    Ok(Resp::ok(with_id(id, &src)))
}

/// `GET _connector/_sync_job` (`from`, `size`, `status`, `connector_id`, `job_type`).
pub fn list(state: &AppState, req: &Req) -> EsResult<Resp> {
    let p = &req.params;
    let (from, size) = paging(p)?;
    let mut must = Vec::new();
    if let Some(c) = p.get("connector_id") {
        must.push(json!({"term": {"connector.id": c}}));
    }
    if let Some(s) = p.get("status") {
        let st: SyncStatus = s
            .parse()
            .map_err(|_| EsError::bad_request(format!("Unknown ConnectorSyncStatus: {s}")))?;
        must.push(json!({"term": {"status": st.as_str()}}));
    }
    let types = p.list("job_type");
    if !types.is_empty() {
        for t in &types {
            t.parse::<JobType>()
                .map_err(|_| EsError::bad_request(format!("Unknown ConnectorSyncJobType: {t}")))?;
        }
        must.push(json!({"terms": {"job_type": types}}));
    }
    let query = if must.is_empty() {
        json!({"match_all": {}})
    } else {
        json!({"bool": {"must": must}})
    };
    let body =
        json!({"query": query, "from": from, "size": size, "sort": [{"created_at": "desc"}]});
    let (count, docs) = search_docs(state, SYNC_JOBS_INDEX, body)?.unwrap_or((0, Vec::new()));
    let results: Vec<Value> = docs.iter().map(|(id, src)| with_id(id, src)).collect();
    Ok(Resp::ok(json!({"count": count, "results": results})))
}

/// `DELETE _connector/_sync_job/{id}`.
pub fn delete(state: &AppState, id: &str) -> EsResult<Resp> {
    check_id(id)?;
    let idx = existing(state, SYNC_JOBS_INDEX).ok_or_else(|| not_found(id))?;
    let outcome = {
        let mut g = write(&idx);
        let r = g.delete_doc(id, Cond::None)?;
        g.refresh();
        r.outcome
    };
    if outcome == Outcome::NotFound {
        return Err(not_found(id));
    }
    Ok(Resp::ok(json!({"acknowledged": true})))
}

/// `PUT _connector/_sync_job/{id}/_check_in`.
pub fn check_in(state: &AppState, id: &str) -> EsResult<Resp> {
    job_update(state, id, json!({"last_seen": now_iso()}))
}

/// `PUT _connector/_sync_job/{id}/_claim {"worker_hostname", "sync_cursor"?}`; no status check.
pub fn claim(state: &AppState, id: &str, req: &Req) -> EsResult<Resp> {
    let body = req.json_object_or_empty()?;
    check_fields(
        &body,
        "connector_sync_job_claim_request",
        &["worker_hostname", "sync_cursor"],
    )?;
    let host = match body.get("worker_hostname") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => {
            return Err(EsError::validation(&[
                "[worker_hostname] of the connector sync job cannot be null.",
            ]));
        }
        Some(_) => {
            return Err(EsError::x_content(
                "[1:2] [connector_sync_job_claim_request] failed to parse field [worker_hostname]",
            ));
        }
    };
    let cursor = body.get("sync_cursor").filter(|v| !v.is_null()).cloned();
    let (idx, _) = load(state, id)?;
    let now = now_iso();
    let mut patch = json!({"worker_hostname": host, "status": SyncStatus::InProgress.as_str(), "last_seen": now, "started_at": now});
    if let Some(c) = cursor {
        patch["connector"] = json!({"sync_cursor": c});
    }
    match update_doc(&idx, id, patch) {
        Ok(o) => Ok(result(o)),
        Err(e) if e.kind() == Some("document_missing_exception") => Err(not_found(id)),
        Err(e) => Err(e),
    }
}

/// `PUT _connector/_sync_job/{id}/_stats`.
pub fn stats(state: &AppState, id: &str, req: &Req) -> EsResult<Resp> {
    let body = body_object(req)?;
    let parser = "connector_sync_job_update_ingestion_stats";
    check_fields(
        &body,
        parser,
        &[
            "deleted_document_count",
            "indexed_document_count",
            "indexed_document_volume",
            "total_document_count",
            "last_seen",
            "metadata",
        ],
    )?;
    let mut patch = Map::new();
    let mut errors: Vec<String> = Vec::new();
    for (field, required) in [
        ("deleted_document_count", true),
        ("indexed_document_count", true),
        ("indexed_document_volume", true),
        ("total_document_count", false),
    ] {
        match body.get(field) {
            None | Some(Value::Null) if required => {
                return Err(EsError::x_content(format!("[1:2] Failed to build [{parser}] after last required field arrived")).caused_by(
                    json!({"type": "illegal_argument_exception", "reason": format!("Required [{field}]")}),
                ));
            }
            None | Some(Value::Null) => {}
            Some(Value::Number(n)) if n.as_i64().is_some() => {
                let v = n.as_i64().unwrap_or(0);
                if v < 0 {
                    errors.push(format!("[{field}] cannot be negative."));
                }
                patch.insert(field.into(), json!(v));
            }
            Some(_) => {
                return Err(EsError::x_content(format!(
                    "[1:2] [{parser}] failed to parse field [{field}]"
                )));
            }
        }
    }
    if !errors.is_empty() {
        let refs: Vec<&str> = errors.iter().map(String::as_str).collect();
        return Err(EsError::validation(&refs));
    }
    let last_seen = match body.get("last_seen") {
        None | Some(Value::Null) => now_iso(),
        Some(Value::String(s)) if parse_date(s, None).is_some() => s.clone(),
        Some(_) => {
            return Err(EsError::x_content(format!(
                "[1:2] [{parser}] failed to parse field [last_seen]"
            )));
        }
    };
    patch.insert("last_seen".into(), json!(last_seen));
    match body.get("metadata") {
        None | Some(Value::Null) => {}
        Some(m @ Value::Object(_)) => {
            patch.insert("metadata".into(), m.clone());
        }
        Some(_) => {
            return Err(EsError::x_content(format!(
                "[1:2] [{parser}] failed to parse field [metadata]"
            )));
        }
    }
    job_update(state, id, Value::Object(patch))
}

/// `PUT _connector/_sync_job/{id}/_error {"error"}`: only from `in_progress`/`canceling`.
pub fn set_error(state: &AppState, id: &str, req: &Req) -> EsResult<Resp> {
    let body = body_object(req)?;
    check_fields(&body, "connector_sync_job_error_request", &["error"])?;
    let error = match body.get("error") {
        Some(Value::String(s)) => s.clone(),
        _ => {
            return Err(EsError::validation(&[
                "[error] of the connector sync job cannot be null or empty",
            ]));
        }
    };
    let (idx, src) = load(state, id)?;
    status_of(&src)?
        .transition(SyncStatus::Error)
        .map_err(transition_error)?;
    match update_doc(
        &idx,
        id,
        json!({"error": error, "status": SyncStatus::Error.as_str()}),
    ) {
        Ok(o) => Ok(result(o)),
        Err(e) if e.kind() == Some("document_missing_exception") => Err(not_found(id)),
        Err(e) => Err(e),
    }
}

/// `PUT _connector/_sync_job/{id}/_cancel`.
pub fn cancel(state: &AppState, id: &str) -> EsResult<Resp> {
    let (idx, src) = load(state, id)?;
    let current = status_of(&src)?;
    let now = now_iso();
    let patch = if matches!(current, SyncStatus::Pending | SyncStatus::Suspended) {
        current
            .transition(SyncStatus::Canceled)
            .map_err(transition_error)?;
        json!({"status": SyncStatus::Canceled.as_str(), "cancelation_requested_at": now, "canceled_at": now, "completed_at": now})
    } else {
        current
            .transition(SyncStatus::Canceling)
            .map_err(transition_error)?;
        json!({"status": SyncStatus::Canceling.as_str(), "cancelation_requested_at": now})
    };
    match update_doc(&idx, id, patch) {
        Ok(o) => Ok(result(o)),
        Err(e) if e.kind() == Some("document_missing_exception") => Err(not_found(id)),
        Err(e) => Err(e),
    }
}
