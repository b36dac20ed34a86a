//! The endpoints that update parts of a connector: check-in, error, status, configuration,
//! last sync stats, features, index name, API key, native flag, pipeline, service type, name.

use connectors_protocol::ConnectorStatus;
use serde_json::{Map, Value, json};

use super::body::{body_object, check_fields, index_name_error, opt_string, unknown_field};
use super::system_index::{put_doc, result};
use super::{MANAGED_PREFIX, blind_update, index_name_in_use, load, loaded_update};
use crate::datemath::now_iso;
use crate::error::{EsError, EsResult};
use crate::http::{Req, Resp};
use crate::state::AppState;

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
