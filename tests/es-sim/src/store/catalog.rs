//! The catalog of indices and aliases: alias properties, index name rules, resolution of index
//! expressions, and building an index from a create body and the built-in templates.

use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

use serde_json::{Map, Value, json};

use super::index::Index;
use super::read;
use super::settings::normalize_settings;
use crate::error::{EsError, EsResult};
use crate::mapping::ObjectMapping;
use crate::templates;

/// Alias properties of one index.
#[derive(Debug, Clone, Default)]
pub struct AliasProps {
    pub is_write_index: Option<bool>,
    pub is_hidden: Option<bool>,
    pub filter: Option<Value>,
    pub other: Map<String, Value>,
}

impl AliasProps {
    pub fn parse(v: &Value) -> EsResult<AliasProps> {
        let mut p = AliasProps::default();
        if let Value::Object(m) = v {
            for (k, v) in m {
                match k.as_str() {
                    "is_write_index" => p.is_write_index = v.as_bool(),
                    "is_hidden" => p.is_hidden = v.as_bool(),
                    "filter" => p.filter = Some(v.clone()),
                    _ => {
                        p.other.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        Ok(p)
    }

    pub fn to_json(&self) -> Value {
        let mut m = self.other.clone();
        if let Some(f) = &self.filter {
            m.insert("filter".into(), f.clone());
        }
        if let Some(w) = self.is_write_index {
            m.insert("is_write_index".into(), json!(w));
        }
        if let Some(h) = self.is_hidden {
            m.insert("is_hidden".into(), json!(h));
        }
        Value::Object(m)
    }
}

/// Indices and aliases.
#[derive(Debug, Default)]
pub struct Catalog {
    pub indices: BTreeMap<String, Arc<RwLock<Index>>>,
    /// alias → index → properties.
    pub aliases: BTreeMap<String, BTreeMap<String, AliasProps>>,
}

/// Options for resolving index expressions of read APIs.
#[derive(Debug, Clone, Copy)]
pub struct ResolveOpts {
    pub ignore_unavailable: bool,
    pub allow_no_indices: bool,
    pub expand_hidden: bool,
}

impl Default for ResolveOpts {
    fn default() -> Self {
        ResolveOpts {
            ignore_unavailable: false,
            allow_no_indices: true,
            expand_hidden: false,
        }
    }
}

/// Index name rules of `MetadataCreateIndexService.validateIndexOrAliasName`.
pub fn validate_index_name(name: &str) -> EsResult<()> {
    let bad = |why: &str| Err(EsError::invalid_index_name(name, why));
    if name.is_empty() {
        return bad("must not be empty");
    }
    if name.chars().any(|c| {
        matches!(
            c,
            '\\' | '/' | '*' | '?' | '"' | '<' | '>' | '|' | ' ' | ','
        )
    }) {
        return bad(
            "must not contain the following characters ['\\','/','*','?','\"','<','>','|',' ',',']",
        );
    }
    if name.contains('#') {
        return bad("must not contain '#'");
    }
    if name.contains(':') {
        return bad("must not contain ':'");
    }
    if name.starts_with('_') || name.starts_with('-') || name.starts_with('+') {
        return bad("must not start with '_', '-', or '+'");
    }
    if name.to_lowercase() != name {
        return bad("must be lowercase");
    }
    if name == "." || name == ".." {
        return bad("must not be '.' or '..'");
    }
    if name.len() > 255 {
        return bad(&format!("index name is too long, ({} > 255)", name.len()));
    }
    Ok(())
}

impl Catalog {
    pub fn get(&self, name: &str) -> Option<Arc<RwLock<Index>>> {
        self.indices.get(name).cloned()
    }

    /// The indices an alias points to.
    pub fn alias_indices(&self, alias: &str) -> Vec<String> {
        self.aliases
            .get(alias)
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    }

    /// The concrete index a write to `name` goes to; `Ok(None)` when nothing exists (auto-create).
    pub fn write_index(&self, name: &str) -> EsResult<Option<String>> {
        if self.indices.contains_key(name) {
            return Ok(Some(name.to_string()));
        }
        if let Some(targets) = self.aliases.get(name) {
            if targets.len() == 1 {
                let (idx, props) = targets
                    .iter()
                    .next()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .unwrap_or_default();
                if props.is_write_index != Some(false) {
                    return Ok(Some(idx));
                }
            }
            if let Some((idx, _)) = targets.iter().find(|(_, p)| p.is_write_index == Some(true)) {
                return Ok(Some(idx.clone()));
            }
            return Err(EsError::bad_request(format!(
                "no write index is defined for alias [{name}]. The write index may be explicitly disabled using is_write_index=false or the alias points to multiple indices without one being designated as a write index"
            )));
        }
        Ok(None)
    }

    fn is_hidden(&self, name: &str) -> bool {
        self.indices
            .get(name)
            .map(|i| read(i).is_hidden())
            .unwrap_or(false)
    }

    /// Resolves a comma-separated expression of names, aliases and wildcards to concrete indices.
    pub fn resolve(&self, expr: &str, opts: ResolveOpts) -> EsResult<Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        let parts: Vec<&str> = expr
            .split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect();
        let parts = if parts.is_empty() {
            vec!["_all"]
        } else {
            parts
        };
        for (i, part) in parts.iter().enumerate() {
            if let Some(excl) = part.strip_prefix('-')
                && i > 0
            {
                out.retain(|n| !crate::source_filter::glob(excl, n));
                continue;
            }
            if *part == "_all" || *part == "*" || part.contains('*') {
                let pattern = if *part == "_all" { "*" } else { part };
                let hidden_ok = opts.expand_hidden || pattern.starts_with('.');
                for name in self.indices.keys() {
                    if crate::source_filter::glob(pattern, name)
                        && (hidden_ok || !self.is_hidden(name))
                        && !out.contains(name)
                    {
                        out.push(name.clone());
                    }
                }
                for (alias, targets) in &self.aliases {
                    if crate::source_filter::glob(pattern, alias) {
                        let hidden_alias = targets.values().any(|p| p.is_hidden == Some(true));
                        if hidden_alias && !hidden_ok {
                            continue;
                        }
                        for t in targets.keys() {
                            if !out.contains(t) {
                                out.push(t.clone());
                            }
                        }
                    }
                }
                continue;
            }
            if self.indices.contains_key(*part) {
                if !out.iter().any(|n| n == part) {
                    out.push(part.to_string());
                }
            } else if let Some(targets) = self.aliases.get(*part) {
                for t in targets.keys() {
                    if !out.contains(t) {
                        out.push(t.clone());
                    }
                }
            } else if !opts.ignore_unavailable {
                return Err(EsError::index_not_found(part));
            }
        }
        if out.is_empty() && !opts.allow_no_indices {
            return Err(EsError::index_not_found(expr));
        }
        out.sort();
        Ok(out)
    }

    /// The aliases of one index, as `GET /{index}` shows them.
    pub fn aliases_of(&self, index: &str) -> Value {
        let mut m = Map::new();
        for (alias, targets) in &self.aliases {
            if let Some(p) = targets.get(index) {
                m.insert(alias.clone(), p.to_json());
            }
        }
        Value::Object(m)
    }

    /// Adds an alias, checking that no index has its name.
    pub fn add_alias(&mut self, index: &str, alias: &str, props: AliasProps) -> EsResult<()> {
        if self.indices.contains_key(alias) {
            return Err(EsError::new(
                400,
                "invalid_alias_name_exception",
                format!("Invalid alias name [{alias}]: an index or data stream exists with the same name as the alias"),
            )
            .with("index_uuid", "_na_")
            .with("index", alias));
        }
        validate_index_name(alias).map_err(|_| {
            EsError::new(
                400,
                "invalid_alias_name_exception",
                format!("Invalid alias name [{alias}]: must be lowercase"),
            )
        })?;
        self.aliases
            .entry(alias.to_string())
            .or_default()
            .insert(index.to_string(), props);
        Ok(())
    }

    pub fn remove_index(&mut self, name: &str) -> Option<Arc<RwLock<Index>>> {
        let removed = self.indices.remove(name);
        for targets in self.aliases.values_mut() {
            targets.remove(name);
        }
        self.aliases.retain(|_, t| !t.is_empty());
        removed
    }
}

/// Builds an index from a create body (`settings`, `mappings`, `aliases`) merged over a built-in
/// template. Returns the index and its aliases.
pub fn build_index(
    name: &str,
    body: Option<&Map<String, Value>>,
) -> EsResult<(Index, Vec<(String, AliasProps)>)> {
    validate_index_name(name)?;
    let mut settings = BTreeMap::new();
    let mut mapping = ObjectMapping::default();
    let mut aliases = Vec::new();
    if let Some(t) = templates::for_index(name) {
        settings = normalize_settings(&t.settings);
        if let Value::Object(m) = &t.mappings {
            mapping = ObjectMapping::parse(m)?;
        }
        for a in t.aliases {
            aliases.push((
                a.to_string(),
                AliasProps {
                    is_hidden: Some(true),
                    ..Default::default()
                },
            ));
        }
    }
    if let Some(body) = body {
        for (k, v) in body {
            match k.as_str() {
                "settings" => {
                    for (sk, sv) in normalize_settings(v) {
                        settings.insert(sk, sv);
                    }
                }
                "mappings" => {
                    let m = v.as_object().ok_or_else(|| {
                        EsError::new(
                            400,
                            "mapper_parsing_exception",
                            "Failed to parse mapping: Expected map for property [mappings]",
                        )
                    })?;
                    // A legacy `{"_doc": {...}}` wrapper is accepted.
                    let m = match (m.len(), m.get("_doc")) {
                        (1, Some(Value::Object(inner))) => inner,
                        _ => m,
                    };
                    let parsed = ObjectMapping::parse(m).map_err(|e| {
                        let cause = e.cause_object();
                        EsError::new(
                            400,
                            "mapper_parsing_exception",
                            format!("Failed to parse mapping: {}", e.reason().unwrap_or("")),
                        )
                        .caused_by(cause)
                    })?;
                    mapping.merge(parsed, "")?;
                }
                "aliases" => {
                    let m = v
                        .as_object()
                        .ok_or_else(|| EsError::parse("Failed to parse [aliases]"))?;
                    for (a, props) in m {
                        aliases.push((a.clone(), AliasProps::parse(props)?));
                    }
                }
                other => {
                    return Err(EsError::parse(format!(
                        "unknown key [{other}] for create index"
                    )));
                }
            }
        }
    }
    for (k, v) in &settings {
        if k == "index.number_of_shards" {
            let n: i64 = v.as_str().and_then(|s| s.parse().ok()).unwrap_or(0);
            if n < 1 {
                return Err(EsError::bad_request(format!(
                    "Failed to parse value [{}] for setting [index.number_of_shards] must be >= 1",
                    v.as_str().unwrap_or("")
                )));
            }
        }
    }
    Ok((Index::new(name, settings, mapping), aliases))
}
