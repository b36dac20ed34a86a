//! Request body checks of the connector APIs, failing with Elasticsearch's parser errors
//! (`x_content_parse_exception` and friends).

use serde_json::{Map, Value, json};

use crate::error::{EsError, EsResult};
use crate::http::Req;
use crate::store::validate_index_name;

pub(super) fn body_object(req: &Req) -> EsResult<Map<String, Value>> {
    match req.json()? {
        Value::Object(m) => Ok(m),
        _ => Err(EsError::x_content("[1:1] request body must be an object")),
    }
}

pub(super) fn unknown_field(parser: &str, key: &str) -> EsError {
    EsError::x_content(format!("[1:2] [{parser}] unknown field [{key}]"))
}

pub(super) fn check_fields(m: &Map<String, Value>, parser: &str, allowed: &[&str]) -> EsResult<()> {
    for k in m.keys() {
        if !allowed.contains(&k.as_str()) {
            return Err(unknown_field(parser, k));
        }
    }
    Ok(())
}

pub(super) fn opt_string(
    m: &Map<String, Value>,
    key: &str,
    parser: &str,
) -> EsResult<Option<String>> {
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

pub(super) fn index_name_error(name: &str) -> Option<EsError> {
    validate_index_name(name)
        .err()
        .map(|e| EsError::validation(&[e.reason().unwrap_or("invalid index name")]))
}

/// The JSON token type Elasticsearch's parsers name in "doesn't support values of type".
pub(super) fn token_type(v: &Value) -> &'static str {
    match v {
        Value::Null => "VALUE_NULL",
        Value::Number(_) => "VALUE_NUMBER",
        Value::Bool(_) => "VALUE_BOOLEAN",
        Value::String(_) => "VALUE_STRING",
        Value::Array(_) => "START_ARRAY",
        Value::Object(_) => "START_OBJECT",
    }
}

pub(super) fn cause(kind: &str, reason: impl Into<String>) -> Value {
    json!({"type": kind, "reason": reason.into()})
}
