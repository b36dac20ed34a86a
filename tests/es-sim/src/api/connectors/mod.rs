//! The connector APIs (`_connector/{id}` and its sub-resources), with the side effects, quirks and
//! errors of Elasticsearch's `ConnectorIndexService`. Connector documents live in
//! `.elastic-connectors-v1` and every write is refreshed at once (`refresh=immediate`).
//!
//! Layout: `system_index` (document access shared with the sync job and secret APIs), `body`
//! (request body checks), `crud` (create, get, list, delete), `fields` (the single-field update
//! endpoints), `filtering` (sync rules), `scheduling` (cron schedules).

mod body;
mod crud;
mod fields;
mod filtering;
mod scheduling;
mod system_index;

use std::sync::{Arc, RwLock};

use serde_json::{Map, Value, json};

use crate::error::{EsError, EsResult};
use crate::http::Resp;
use crate::state::AppState;
use crate::store::Index;
use crate::templates::{ACL_PREFIX, CONNECTORS_INDEX};

pub use crud::{default_connector, delete, get, list, put};
pub use fields::{
    api_key_id, check_in, configuration, features, index_name, last_sync, name, native, pipeline,
    service_type, set_error, set_status,
};
pub use filtering::{filtering, filtering_activate, filtering_validation};
pub use scheduling::scheduling;
pub(crate) use system_index::{
    ensure, existing, get_source, paging, put_doc, result, search_docs, update_doc, with_id,
};

pub const MANAGED_PREFIX: &str = "content-";

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

/// Whether a non-deleted connector other than `id` uses `index_name`.
fn index_name_in_use(state: &AppState, index_name: &str, id: Option<&str>) -> EsResult<bool> {
    let mut must_not = vec![json!({"term": {"deleted": true}})];
    if let Some(id) = id {
        must_not.push(json!({"ids": {"values": [id]}}));
    }
    let q = json!({"query": {"bool": {"must": [{"term": {"index_name": index_name}}], "must_not": must_not}}, "size": 0});
    Ok(search_docs(state, CONNECTORS_INDEX, q)?.is_some_and(|(total, _)| total > 0))
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
