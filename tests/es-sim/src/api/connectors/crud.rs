//! Creating, reading, listing and deleting connectors: `PUT|POST _connector[/{id}]`,
//! `GET _connector[/{id}]`, `DELETE _connector/{id}`, and the document a new connector gets.

use connectors_protocol::ConnectorStatus;
use serde_json::{Map, Value, json};

use super::body::{check_fields, index_name_error, opt_string};
use super::filtering::default_rules;
use super::scheduling::default_scheduling;
use super::system_index::{ensure, existing, paging, put_doc, search_docs, with_id};
use super::{MANAGED_PREFIX, check_id, index_name_in_use, load, loaded_update, not_found};
use crate::datemath::now_iso;
use crate::error::{EsError, EsResult};
use crate::http::{Req, Resp};
use crate::state::AppState;
use crate::store::{Cond, Outcome, write};
use crate::templates::{CONNECTORS_INDEX, SYNC_JOBS_INDEX};

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
// Helpers shared with the sync job and secret APIs

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

#[cfg(test)]
mod tests {
    use super::*;

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
