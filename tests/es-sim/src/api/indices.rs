//! Index management: create, exists, get, delete, mappings, settings, refresh and aliases.

use serde_json::{Map, Value, json};

use crate::error::{EsError, EsResult};
use crate::http::{Req, Resp};
use crate::mapping::ObjectMapping;
use crate::source_filter::glob;
use crate::state::AppState;
use crate::store::{AliasProps, ResolveOpts, normalize_settings, read, validate_index_name, write};

fn opts(req: &Req) -> EsResult<ResolveOpts> {
    let p = &req.params;
    let expand = p.get("expand_wildcards").unwrap_or("open");
    Ok(ResolveOpts {
        ignore_unavailable: p.bool("ignore_unavailable", false)?,
        allow_no_indices: p.bool("allow_no_indices", true)?,
        expand_hidden: expand.contains("hidden") || expand.contains("all"),
    })
}

/// `PUT /{index}`.
pub fn create(state: &AppState, name: &str, req: &Req) -> EsResult<Resp> {
    let body = match req.json_opt()? {
        None => None,
        Some(Value::Object(m)) => Some(m),
        Some(_) => return Err(EsError::parse("request body must be an object")),
    };
    validate_index_name(name)?;
    state.create_index(name, body.as_ref(), true)?;
    Ok(Resp::ok(
        json!({"acknowledged": true, "shards_acknowledged": true, "index": name}),
    ))
}

/// `HEAD /{index}`.
pub fn exists(state: &AppState, expr: &str, req: &Req) -> EsResult<Resp> {
    let mut o = opts(req)?;
    o.allow_no_indices = false;
    match state.resolve(expr, o) {
        Ok(names) if !names.is_empty() => Ok(Resp::empty(200)),
        _ => Ok(Resp::empty(404)),
    }
}

/// `GET /{index}`.
pub fn get(state: &AppState, expr: &str, req: &Req) -> EsResult<Resp> {
    let names = state.resolve(expr, opts(req)?)?;
    let cat = read(&state.catalog);
    let mut out = Map::new();
    for n in names {
        if let Some(i) = cat.get(&n) {
            let i = read(&i);
            out.insert(
                n.clone(),
                json!({"aliases": cat.aliases_of(&n), "mappings": i.mappings().to_json(), "settings": i.settings_json()}),
            );
        }
    }
    Ok(Resp::ok(Value::Object(out)))
}

/// `DELETE /{index}`.
pub fn delete(state: &AppState, expr: &str, req: &Req) -> EsResult<Resp> {
    let ignore_unavailable = req.params.bool("ignore_unavailable", false)?;
    let mut cat = write(&state.catalog);
    let mut names = Vec::new();
    for part in expr.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if part == "_all" || part.contains('*') {
            return Err(EsError::bad_request(
                "Wildcard expressions or all indices are not allowed",
            ));
        }
        if cat.indices.contains_key(part) {
            names.push(part.to_string());
        } else if cat.aliases.contains_key(part) {
            return Err(EsError::bad_request(format!(
                "The provided expression [{part}] matches an alias, specify the corresponding concrete indices instead."
            )));
        } else if !ignore_unavailable {
            return Err(EsError::index_not_found(part));
        }
    }
    let removed: Vec<_> = names.iter().filter_map(|n| cat.remove_index(n)).collect();
    drop(cat);
    // Freeing a large index takes a while: do it off the request path, outside any lock.
    if removed.iter().any(|i| read(i).live.len() > 10_000) {
        std::thread::spawn(move || drop(removed));
    }
    Ok(Resp::ok(json!({"acknowledged": true})))
}

/// `GET /_mapping`, `GET /{index}/_mapping`.
pub fn get_mapping(state: &AppState, expr: Option<&str>, req: &Req) -> EsResult<Resp> {
    let names = state.resolve(expr.unwrap_or("_all"), opts(req)?)?;
    let cat = read(&state.catalog);
    let mut out = Map::new();
    for n in names {
        if let Some(i) = cat.get(&n) {
            out.insert(
                n.clone(),
                json!({"mappings": read(&i).mappings().to_json()}),
            );
        }
    }
    Ok(Resp::ok(Value::Object(out)))
}

/// Metadata fields every index has: the get field mapping API returns them by exact name, with
/// an empty mapping (nothing configured).
const METADATA_FIELDS: &[&str] = &[
    "_id",
    "_index",
    "_routing",
    "_source",
    "_version",
    "_seq_no",
    "_ignored",
    "_field_names",
    "_doc_count",
];

/// `GET /_mapping/field/{fields}`, `GET /{index}/_mapping/field/{fields}`: for each index, the
/// fields named (a comma list; `*` patterns match full names) with their full name and their
/// mapping under their leaf name. An index none of whose fields match still appears, with empty
/// `mappings`; objects are not fields here. Patterns match mapped fields, not metadata fields.
pub fn get_field_mapping(
    state: &AppState,
    expr: Option<&str>,
    fields: &str,
    req: &Req,
) -> EsResult<Resp> {
    let names = state.resolve(expr.unwrap_or("_all"), opts(req)?)?;
    let wanted: Vec<&str> = fields
        .split(',')
        .map(str::trim)
        .filter(|f| !f.is_empty())
        .collect();
    let cat = read(&state.catalog);
    let mut out = Map::new();
    for n in names {
        let Some(i) = cat.get(&n) else { continue };
        let leaves = read(&i).mappings().leaf_fields();
        let mut found = Map::new();
        for w in &wanted {
            let matched: Vec<_> = if w.contains('*') {
                leaves.iter().filter(|(f, ..)| glob(w, f)).collect()
            } else {
                leaves.iter().filter(|(f, ..)| f == w).collect()
            };
            if matched.is_empty() && METADATA_FIELDS.contains(w) {
                found
                    .entry(w.to_string())
                    .or_insert_with(|| json!({"full_name": w, "mapping": {}}));
            }
            for (full, leaf, mapping) in matched {
                found
                    .entry(full.clone())
                    .or_insert_with(|| json!({"full_name": full, "mapping": {leaf: mapping}}));
            }
        }
        out.insert(n, json!({"mappings": found}));
    }
    // `RestGetFieldMappingAction`: no index at all is a 404 (with the empty body).
    let status = if out.is_empty() && !wanted.is_empty() {
        404
    } else {
        200
    };
    Ok(Resp::json(status, Value::Object(out)))
}

/// `PUT /{index}/_mapping`.
pub fn put_mapping(state: &AppState, expr: &str, req: &Req) -> EsResult<Resp> {
    let body = req.json()?;
    let m = body
        .as_object()
        .ok_or_else(|| EsError::parse("mapping must be an object"))?;
    let parsed = ObjectMapping::parse(m)?;
    let names = state.resolve(
        expr,
        ResolveOpts {
            expand_hidden: true,
            ..opts(req)?
        },
    )?;
    let cat = read(&state.catalog);
    let indices: Vec<_> = names.iter().filter_map(|n| cat.get(n)).collect();
    // Check every index first so a conflict changes nothing.
    for i in &indices {
        let mut copy = read(i).mappings().clone();
        copy.merge(parsed.clone(), "")?;
    }
    for i in &indices {
        let mut guard = write(i);
        let mut copy = guard.mappings().clone();
        copy.merge(parsed.clone(), "")?;
        guard.set_mappings(copy);
    }
    Ok(Resp::ok(json!({"acknowledged": true})))
}

/// `GET /_settings`, `GET /{index}/_settings`.
pub fn get_settings(state: &AppState, expr: Option<&str>, req: &Req) -> EsResult<Resp> {
    let names = state.resolve(expr.unwrap_or("_all"), opts(req)?)?;
    let flat = req.params.bool("flat_settings", false)?;
    let cat = read(&state.catalog);
    let mut out = Map::new();
    for n in names {
        if let Some(i) = cat.get(&n) {
            let i = read(&i);
            let settings = if flat {
                Value::Object(
                    i.settings
                        .iter()
                        .map(|(k, v)| (k.clone(), v.clone()))
                        .collect(),
                )
            } else {
                i.settings_json()
            };
            out.insert(n.clone(), json!({"settings": settings}));
        }
    }
    Ok(Resp::ok(Value::Object(out)))
}

const STATIC_SETTINGS: &[&str] = &[
    "index.number_of_shards",
    "index.codec",
    "index.routing_partition_size",
    "index.sort.field",
];

/// `PUT /{index}/_settings`.
pub fn put_settings(state: &AppState, expr: &str, req: &Req) -> EsResult<Resp> {
    let body = req.json()?;
    let body = body.get("settings").cloned().unwrap_or(body);
    let flat = normalize_settings(&body);
    let names = state.resolve(
        expr,
        ResolveOpts {
            expand_hidden: true,
            ..opts(req)?
        },
    )?;
    let cat = read(&state.catalog);
    for k in flat.keys() {
        if STATIC_SETTINGS.contains(&k.as_str()) {
            let listed: Vec<String> = names
                .iter()
                .filter_map(|n| cat.get(n).map(|i| format!("{n}/{}", read(&i).uuid)))
                .collect();
            return Err(EsError::bad_request(format!(
                "Can't update non dynamic settings [[{k}]] for open indices [[{}]]",
                listed.join(", ")
            )));
        }
    }
    for n in &names {
        if let Some(i) = cat.get(n) {
            let mut g = write(&i);
            for (k, v) in &flat {
                if v.is_null() {
                    g.settings.remove(k);
                } else {
                    g.settings.insert(k.clone(), v.clone());
                }
            }
        }
    }
    Ok(Resp::ok(json!({"acknowledged": true})))
}

/// `POST /_refresh`, `POST /{index}/_refresh`.
pub fn refresh(state: &AppState, expr: Option<&str>, req: &Req) -> EsResult<Resp> {
    let names = state.resolve(expr.unwrap_or("_all"), opts(req)?)?;
    state.refresh(&names);
    let total: u32 = {
        let cat = read(&state.catalog);
        names
            .iter()
            .filter_map(|n| cat.get(n))
            .map(|i| 1 + read(&i).replicas())
            .sum()
    };
    Ok(Resp::ok(
        json!({"_shards": {"total": total, "successful": names.len(), "failed": 0}}),
    ))
}

/// `GET /_alias[/{name}]`, `GET /{index}/_alias[/{name}]`, `GET /_aliases`, and their HEAD forms.
pub fn get_alias(state: &AppState, req: &Req, args: &[String]) -> EsResult<Resp> {
    let arg = |i: usize| args.get(i).map(String::as_str);
    let (index_expr, alias_expr): (Option<&str>, Option<&str>) = if req.path.starts_with("/_alias")
    {
        (None, arg(0))
    } else {
        (arg(0), arg(1))
    };
    let cat = read(&state.catalog);
    let patterns: Vec<&str> = alias_expr
        .map(|a| a.split(',').collect())
        .unwrap_or_default();
    let matches_alias = |a: &str| {
        patterns.is_empty()
            || patterns
                .iter()
                .any(|p| *p == "_all" || crate::source_filter::glob(p, a))
    };
    let indices: Vec<String> = match index_expr {
        Some(e) => cat.resolve(
            e,
            ResolveOpts {
                expand_hidden: true,
                ..Default::default()
            },
        )?,
        None => cat.indices.keys().cloned().collect(),
    };
    let mut out = Map::new();
    let mut found_any = false;
    for n in &indices {
        let mut aliases = Map::new();
        for (alias, targets) in &cat.aliases {
            if let Some(p) = targets.get(n)
                && matches_alias(alias)
            {
                aliases.insert(alias.clone(), p.to_json());
            }
        }
        let hidden = cat.get(n).map(|i| read(&i).is_hidden()).unwrap_or(false);
        if !aliases.is_empty() {
            found_any = true;
            out.insert(n.clone(), json!({"aliases": aliases}));
        } else if patterns.is_empty() && (!hidden || index_expr.is_some()) {
            out.insert(n.clone(), json!({"aliases": {}}));
        }
    }
    if !patterns.is_empty() && !found_any {
        let missing: Vec<&str> = patterns
            .iter()
            .copied()
            .filter(|p| !p.contains('*'))
            .collect();
        if req.method == hyper::Method::HEAD {
            return Ok(Resp::empty(404));
        }
        if !missing.is_empty() || out.is_empty() {
            let name = patterns.join(",");
            let mut body = out.clone();
            body.insert("error".into(), json!(format!("alias [{name}] missing")));
            body.insert("status".into(), json!(404));
            return Ok(Resp::json(404, Value::Object(body)));
        }
    }
    if req.method == hyper::Method::HEAD {
        return Ok(Resp::empty(200));
    }
    Ok(Resp::ok(Value::Object(out)))
}

/// `PUT /{index}/_alias/{name}`.
pub fn put_alias(state: &AppState, index_expr: &str, alias: &str, req: &Req) -> EsResult<Resp> {
    let props = match req.json_opt()? {
        Some(v) => AliasProps::parse(&v)?,
        None => AliasProps::default(),
    };
    let names = state.resolve(
        index_expr,
        ResolveOpts {
            expand_hidden: true,
            ..Default::default()
        },
    )?;
    let mut cat = write(&state.catalog);
    for n in names {
        cat.add_alias(&n, alias, props.clone())?;
    }
    Ok(Resp::ok(json!({"acknowledged": true})))
}

/// `DELETE /{index}/_alias/{name}`.
pub fn delete_alias(state: &AppState, index_expr: &str, alias: &str) -> EsResult<Resp> {
    let names = state.resolve(
        index_expr,
        ResolveOpts {
            expand_hidden: true,
            ..Default::default()
        },
    )?;
    let mut cat = write(&state.catalog);
    let mut removed = false;
    let alias_names: Vec<String> = cat
        .aliases
        .keys()
        .filter(|a| crate::source_filter::glob(alias, a) || alias == "_all")
        .cloned()
        .collect();
    for a in alias_names {
        if let Some(t) = cat.aliases.get_mut(&a) {
            for n in &names {
                removed |= t.remove(n).is_some();
            }
        }
    }
    cat.aliases.retain(|_, t| !t.is_empty());
    if !removed {
        return Err(EsError::new(
            404,
            "aliases_not_found_exception",
            format!("aliases [{alias}] missing"),
        )
        .with("resource.type", "aliases")
        .with("resource.id", alias));
    }
    Ok(Resp::ok(json!({"acknowledged": true})))
}

/// `POST /_aliases {"actions":[{"add"|"remove"|"remove_index": {...}}]}`.
pub fn update_aliases(state: &AppState, req: &Req) -> EsResult<Resp> {
    let body = req.json()?;
    let actions = body
        .get("actions")
        .and_then(Value::as_array)
        .ok_or_else(|| EsError::validation(&["no alias actions specified"]))?;
    for action in actions {
        let Some((kind, spec)) = action.as_object().and_then(|o| o.iter().next()) else {
            return Err(EsError::parse("malformed alias action"));
        };
        let list = |key: &str, plural: &str| -> Vec<String> {
            let mut v: Vec<String> = Vec::new();
            if let Some(s) = spec.get(key).and_then(Value::as_str) {
                v.push(s.to_string());
            }
            if let Some(a) = spec.get(plural).and_then(Value::as_array) {
                v.extend(a.iter().filter_map(Value::as_str).map(String::from));
            }
            v
        };
        let indices = list("index", "indices");
        let aliases = list("alias", "aliases");
        match kind.as_str() {
            "add" => {
                let mut props = AliasProps::parse(spec)?;
                for k in ["index", "indices", "alias", "aliases", "must_exist"] {
                    props.other.remove(k);
                }
                for i in &indices {
                    let names = state.resolve(
                        i,
                        ResolveOpts {
                            expand_hidden: true,
                            ..Default::default()
                        },
                    )?;
                    let mut cat = write(&state.catalog);
                    for n in names {
                        for a in &aliases {
                            cat.add_alias(&n, a, props.clone())?;
                        }
                    }
                }
            }
            "remove" => {
                for i in &indices {
                    for a in &aliases {
                        delete_alias(state, i, a)?;
                    }
                }
            }
            "remove_index" => {
                let mut cat = write(&state.catalog);
                for i in &indices {
                    if cat.remove_index(i).is_none() {
                        return Err(EsError::index_not_found(i));
                    }
                }
            }
            other => return Err(EsError::parse(format!("unknown alias action [{other}]"))),
        }
    }
    Ok(Resp::ok(json!({"acknowledged": true, "errors": false})))
}
