//! `_ingest/pipeline` get, put and delete.

use serde_json::{Map, Value, json};

use crate::error::{EsError, EsResult};
use crate::http::{Req, Resp};
use crate::state::AppState;
use crate::store::{read, write};

/// `GET /_ingest/pipeline[/{id}]`: a missing pipeline is `404 {}`.
pub fn get(state: &AppState, ids: Option<&str>) -> EsResult<Resp> {
    let pipelines = read(&state.pipelines);
    let mut out = Map::new();
    match ids {
        None => {
            for (k, v) in pipelines.iter() {
                out.insert(k.clone(), v.clone());
            }
        }
        Some(expr) => {
            for pattern in expr.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                for (k, v) in pipelines.iter() {
                    if pattern == "*" || crate::source_filter::glob(pattern, k) {
                        out.insert(k.clone(), v.clone());
                    }
                }
            }
        }
    }
    if out.is_empty() && ids.is_some() {
        return Ok(Resp::json(404, json!({})));
    }
    Ok(Resp::ok(Value::Object(out)))
}

/// `PUT /_ingest/pipeline/{id}`.
pub fn put(state: &AppState, id: &str, req: &Req) -> EsResult<Resp> {
    let body = req.json()?;
    let m = body
        .as_object()
        .ok_or_else(|| EsError::parse("pipeline body must be an object"))?;
    match m.get("processors") {
        Some(Value::Array(procs)) => {
            for p in procs {
                let ok = p
                    .as_object()
                    .is_some_and(|o| o.len() == 1 && o.values().all(Value::is_object));
                if !ok {
                    return Err(EsError::parse(
                        "[processors] malformed processor definition",
                    ));
                }
            }
        }
        Some(_) => {
            return Err(EsError::parse(
                "[processors] property isn't a list, but of type [object]",
            ));
        }
        None => {
            return Err(EsError::parse("[processors] required property is missing")
                .with("property_name", "processors"));
        }
    }
    for k in m.keys() {
        if ![
            "description",
            "processors",
            "on_failure",
            "version",
            "_meta",
            "deprecated",
            "created_date",
            "modified_date",
        ]
        .contains(&k.as_str())
        {
            return Err(EsError::parse(format!(
                "pipeline [{id}] doesn't support one or more provided configuration parameters [{k}]"
            )));
        }
    }
    write(&state.pipelines).insert(id.to_string(), body);
    Ok(Resp::ok(json!({"acknowledged": true})))
}

/// `DELETE /_ingest/pipeline/{id}`.
pub fn delete(state: &AppState, id: &str) -> EsResult<Resp> {
    let mut pipelines = write(&state.pipelines);
    let names: Vec<String> = pipelines
        .keys()
        .filter(|k| crate::source_filter::glob(id, k))
        .cloned()
        .collect();
    if names.is_empty() {
        return Err(EsError::resource_not_found(format!(
            "pipeline [{id}] is missing"
        )));
    }
    for n in names {
        pipelines.remove(&n);
    }
    Ok(Resp::ok(json!({"acknowledged": true})))
}
