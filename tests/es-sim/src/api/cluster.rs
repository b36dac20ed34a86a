//! Cluster-level APIs: `GET /`, `_cluster/health`, `_license`, `_nodes`, `_tasks`, `_cat/indices`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::error::{EsError, EsResult};
use crate::http::{Body, Req, Resp};
use crate::state::{AppState, lock};
use crate::store::{ResolveOpts, read};
use crate::{CLUSTER_NAME, NODE_ID, NODE_NAME};

fn lucene_version(major: u8) -> &'static str {
    if major >= 9 { "10.2.2" } else { "9.12.0" }
}

/// `GET /`.
pub fn info(state: &AppState, _req: &Req) -> EsResult<Resp> {
    let major = state.major;
    let (wire, index) = if major >= 9 {
        ("8.19.0", "8.0.0")
    } else {
        ("7.17.0", "7.0.0")
    };
    Ok(Resp::ok(json!({
        "name": NODE_NAME,
        "cluster_name": CLUSTER_NAME,
        "cluster_uuid": state.cluster_uuid,
        "version": {
            "number": state.config.version,
            "build_flavor": "default",
            "build_type": "docker",
            "build_hash": "0000000000000000000000000000000000000000",
            "build_date": "2026-01-01T00:00:00.000000000Z",
            "build_snapshot": false,
            "lucene_version": lucene_version(major),
            "minimum_wire_compatibility_version": wire,
            "minimum_index_compatibility_version": index
        },
        "tagline": "You Know, for Search"
    })))
}

fn health_body(state: &AppState, names: &[String], status: &str, timed_out: bool) -> Value {
    let cat = read(&state.catalog);
    let mut active = 0u32;
    let mut unassigned = 0u32;
    for n in names {
        if let Some(i) = cat.get(n) {
            active += 1;
            unassigned += read(&i).replicas();
        }
    }
    let pct = if active + unassigned == 0 {
        100.0
    } else {
        100.0 * active as f64 / (active + unassigned) as f64
    };
    json!({
        "cluster_name": CLUSTER_NAME,
        "status": status,
        "timed_out": timed_out,
        "number_of_nodes": 1,
        "number_of_data_nodes": 1,
        "active_primary_shards": active,
        "active_shards": active,
        "relocating_shards": 0,
        "initializing_shards": 0,
        "unassigned_shards": unassigned,
        "unassigned_primary_shards": 0,
        "delayed_unassigned_shards": 0,
        "number_of_pending_tasks": 0,
        "number_of_in_flight_fetch": 0,
        "task_max_waiting_in_queue_millis": 0,
        "active_shards_percent_as_number": pct
    })
}

fn rank(s: &str) -> u8 {
    match s {
        "green" => 2,
        "yellow" => 1,
        _ => 0,
    }
}

/// `GET /_cluster/health[/{index}]` with `wait_for_status` and `timeout`.
pub async fn health(state: &AppState, req: &Req, index: Option<&str>) -> EsResult<Resp> {
    let p = &req.params;
    let timeout = p.duration("timeout")?.unwrap_or(Duration::from_secs(30));
    let wait_for = p.get("wait_for_status").map(str::to_ascii_lowercase);
    if let Some(w) = &wait_for
        && !["green", "yellow", "red"].contains(&w.as_str())
    {
        return Err(EsError::bad_request(format!(
            "unknown cluster health status [{w}]"
        )));
    }
    let expr = index.unwrap_or("_all");
    let names = match state.resolve(
        expr,
        ResolveOpts {
            expand_hidden: true,
            ..Default::default()
        },
    ) {
        Ok(n) => n,
        Err(_) => {
            return Ok(Resp::json(408, health_body(state, &[], "red", true)));
        }
    };
    let status = {
        let cat = read(&state.catalog);
        if names
            .iter()
            .filter_map(|n| cat.get(n))
            .any(|i| read(&i).replicas() > 0)
        {
            "yellow"
        } else {
            "green"
        }
    };
    if let Some(w) = wait_for
        && rank(status) < rank(&w)
    {
        // Nothing changes shard allocation in the simulator: waiting can only time out.
        tokio::time::sleep(timeout.min(Duration::from_secs(60))).await;
        return Ok(Resp::json(408, health_body(state, &names, status, true)));
    }
    Ok(Resp::ok(health_body(state, &names, status, false)))
}

/// `GET /_license`: an active trial.
pub fn license(state: &AppState) -> EsResult<Resp> {
    let issue = 1_767_225_600_000i64;
    let expiry = issue + 10 * 365 * 86_400_000;
    Ok(Resp::ok(json!({
        "license": {
            "status": "active",
            "uid": state.cluster_uuid,
            "type": "trial",
            "issue_date": crate::datemath::format_millis(issue),
            "issue_date_in_millis": issue,
            "expiry_date": crate::datemath::format_millis(expiry),
            "expiry_date_in_millis": expiry,
            "max_nodes": 1000,
            "max_resource_units": null,
            "issued_to": CLUSTER_NAME,
            "issuer": "elasticsearch",
            "start_date_in_millis": -1
        }
    })))
}

/// `GET /_nodes`: one node.
pub fn nodes(state: &AppState) -> EsResult<Resp> {
    let host = state.config.host.to_string();
    Ok(Resp::ok(json!({
        "_nodes": {"total": 1, "successful": 1, "failed": 0},
        "cluster_name": CLUSTER_NAME,
        "nodes": {
            NODE_ID: {
                "name": NODE_NAME,
                "transport_address": format!("{host}:9300"),
                "host": host,
                "ip": host,
                "version": state.config.version,
                "build_flavor": "default",
                "build_type": "docker",
                "roles": ["data", "data_content", "data_hot", "ingest", "master", "ml", "remote_cluster_client", "transform"],
                "attributes": {},
                "http": {"publish_address": format!("{host}:{}", state.config.port), "max_content_length_in_bytes": state.config.max_content_length}
            }
        }
    })))
}

/// `GET /_tasks/{id}`.
pub fn task(state: &AppState, id: &str) -> EsResult<Resp> {
    if !id.contains(':') {
        return Err(EsError::bad_request(format!("malformed task id {id}")));
    }
    match lock(&state.tasks).get(id) {
        Some(t) => Ok(Resp::ok(t.clone())),
        None => Err(EsError::resource_not_found(format!(
            "task [{id}] isn't running and hasn't stored its results"
        ))),
    }
}

/// `GET /_cat/indices[/{index}]` (text, or JSON with `format=json`).
pub fn cat_indices(state: &AppState, req: &Req, index: Option<&str>) -> EsResult<Resp> {
    let names = state.resolve(
        index.unwrap_or("_all"),
        ResolveOpts {
            expand_hidden: index.is_some(),
            ..Default::default()
        },
    )?;
    let cat = read(&state.catalog);
    let mut rows = Vec::new();
    for n in &names {
        if let Some(i) = cat.get(n) {
            let i = read(&i);
            let health = if i.replicas() > 0 { "yellow" } else { "green" };
            rows.push(json!({
                "health": health, "status": "open", "index": n, "uuid": i.uuid.as_ref(),
                "pri": "1", "rep": i.replicas().to_string(), "docs.count": i.searchable.len().to_string(),
                "docs.deleted": "0", "store.size": "0b", "pri.store.size": "0b", "dataset.size": "0b"
            }));
        }
    }
    if req.params.get("format") == Some("json") {
        return Ok(Resp::ok(Value::Array(rows)));
    }
    let mut text = String::new();
    for r in rows {
        let f = |k: &str| r[k].as_str().unwrap_or("").to_string();
        text.push_str(&format!(
            "{} {} {} {} {} {} {} {} {} {} {}\n",
            f("health"),
            f("status"),
            f("index"),
            f("uuid"),
            f("pri"),
            f("rep"),
            f("docs.count"),
            f("docs.deleted"),
            f("store.size"),
            f("pri.store.size"),
            f("dataset.size")
        ));
    }
    Ok(Resp {
        status: 200,
        body: Body::Text(text),
        headers: Vec::new(),
    })
}
