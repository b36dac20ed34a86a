//! Document access to the system indices (connectors, sync jobs, secrets), shared with the sync
//! job and secret APIs: every write is refreshed at once.

use std::sync::{Arc, RwLock};

use serde_json::{Map, Value, json};

use crate::error::{EsError, EsResult};
use crate::http::{Params, Resp};
use crate::search::{self as engine, SearchRequest};
use crate::state::AppState;
use crate::store::{Cond, Index, Outcome, UpdateSpec, read, write};

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
