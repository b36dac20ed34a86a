//! Connector secrets (`_connector/_secret`), stored in the `.connector-secrets` system index.

use serde_json::{Map, Value, json};

use crate::api::connectors::{ensure, existing, get_source, put_doc};
use crate::error::{EsError, EsResult};
use crate::http::{Req, Resp};
use crate::state::AppState;
use crate::store::{Cond, Outcome, write};
use crate::templates::SECRETS_INDEX;

fn not_found(id: &str) -> EsError {
    EsError::resource_not_found(format!("No secret with id [{id}]"))
}

fn value_of(req: &Req) -> EsResult<String> {
    let body: Map<String, Value> = req.json_object_or_empty()?;
    for k in body.keys() {
        if k != "value" {
            return Err(EsError::x_content(format!(
                "[1:2] [post_connector_secret_request] unknown field [{k}]"
            )));
        }
    }
    match body.get("value") {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        _ => Err(EsError::validation(&[
            "[value] of the connector secret cannot be [null] or [\"\"]",
        ])),
    }
}

/// `POST _connector/_secret {"value"}` → `{"id"}`.
pub fn post(state: &AppState, req: &Req) -> EsResult<Resp> {
    let value = value_of(req)?;
    let idx = ensure(state, SECRETS_INDEX)?;
    let (id, _) = put_doc(&idx, None, json!({"value": value}))?;
    Ok(Resp::ok(json!({"id": id})))
}

/// `PUT _connector/_secret/{id} {"value"}` → `{"result"}`.
pub fn put(state: &AppState, id: &str, req: &Req) -> EsResult<Resp> {
    let value = value_of(req)?;
    let idx = ensure(state, SECRETS_INDEX)?;
    let (_, outcome) = put_doc(&idx, Some(id), json!({"value": value}))?;
    Ok(Resp::ok(json!({"result": outcome.as_str()})))
}

/// `GET _connector/_secret/{id}` → `{"id","value"}`.
pub fn get(state: &AppState, id: &str) -> EsResult<Resp> {
    let idx = existing(state, SECRETS_INDEX).ok_or_else(|| not_found(id))?;
    let src = get_source(&idx, id).ok_or_else(|| not_found(id))?;
    Ok(Resp::ok(
        json!({"id": id, "value": src.get("value").cloned().unwrap_or(Value::Null)}),
    ))
}

/// `DELETE _connector/_secret/{id}` → `{"deleted":true}`.
pub fn delete(state: &AppState, id: &str) -> EsResult<Resp> {
    let idx = existing(state, SECRETS_INDEX).ok_or_else(|| not_found(id))?;
    let mut g = write(&idx);
    let r = g.delete_doc(id, Cond::None)?;
    g.refresh();
    if r.outcome == Outcome::NotFound {
        return Err(not_found(id));
    }
    Ok(Resp::ok(json!({"deleted": true})))
}
