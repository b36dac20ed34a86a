//! How the configuration's layers are read and merged: `${VAR}` substitution in the file, dotted
//! and nested keys folded into one tree, environment overrides parsed by the type of the key they
//! set, and where a value came from, to word an error about it.

use serde_json::{Map, Value};

use super::ConfigError;

fn placeholder() -> regex::Regex {
    regex::Regex::new(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}").expect("a valid pattern")
}

/// `${VAR}` substitution, as EnvYAML does; an unset variable stays as written, and its name is
/// added to `unset` so that an error about the value it leaves can say why.
pub(super) fn substitute_env(
    text: &str,
    env: &impl Fn(&str) -> Option<String>,
    unset: &mut Vec<String>,
) -> String {
    placeholder()
        .replace_all(text, |c: &regex::Captures<'_>| {
            env(&c[1]).unwrap_or_else(|| {
                if !unset.iter().any(|u| u == &c[1]) {
                    unset.push(c[1].to_string());
                }
                c[0].to_string()
            })
        })
        .into_owned()
}

/// Where the configuration's values came from, to word errors about them: the file, the
/// variables its `${VAR}`s named that are unset, and the environment overrides applied.
pub(super) struct Sources<'a> {
    pub label: &'a str,
    pub tree: Value,
    pub unset: Vec<String>,
    pub overridden: Vec<(&'static str, &'static str)>,
}

impl Sources<'_> {
    /// An error about `key` (a dotted path, `connectors[0].connector_id`). A value set by an
    /// environment override is that variable's error; a value that still holds `${VAR}` for an
    /// unset `VAR` says so, naming the variable only (a value may be a secret).
    pub(super) fn error(&self, key: &str, message: String) -> ConfigError {
        if let Some((name, _)) = self.overridden.iter().find(|(_, k)| *k == key) {
            return ConfigError::Env {
                name: name.to_string(),
                message: format!("`{key}`: {message}"),
            };
        }
        let unset = self.unset_in(key);
        let message = match unset.as_slice() {
            [] => message,
            [one] => format!(
                "{message} (it uses `${{{one}}}`, left as written because the environment \
                 variable {one} is not set)"
            ),
            many => format!(
                "{message} (it uses {}, left as written because the environment variables {} \
                 are not set)",
                many.iter()
                    .map(|n| format!("`${{{n}}}`"))
                    .collect::<Vec<_>>()
                    .join(", "),
                many.join(", ")
            ),
        };
        ConfigError::Key {
            path: self.label.to_string(),
            key: key.to_string(),
            message,
        }
    }

    /// The unset variables whose `${VAR}` the value at `key` still holds.
    pub(super) fn unset_in(&self, key: &str) -> Vec<&str> {
        let mut names = Vec::new();
        if let Some(v) = value_at(&self.tree, key) {
            collect_unset(v, &self.unset, &mut names);
        }
        names
    }
}

/// The unset variables whose `${VAR}` a value (or anything inside it) still holds.
fn collect_unset<'a>(v: &Value, unset: &'a [String], out: &mut Vec<&'a str>) {
    match v {
        Value::String(s) => {
            for c in placeholder().captures_iter(s) {
                if let Some(name) = unset.iter().find(|u| **u == c[1])
                    && !out.contains(&name.as_str())
                {
                    out.push(name);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|e| collect_unset(e, unset, out)),
        Value::Object(m) => m.values().for_each(|e| collect_unset(e, unset, out)),
        _ => {}
    }
}

/// The value at a `serde_path_to_error` path (`a.b`, `a[0].b`); `.` for the root.
fn value_at<'a>(tree: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = tree;
    if path == "." || path.is_empty() {
        return Some(cur);
    }
    for seg in path.split('.') {
        let (name, indices) = match seg.find('[') {
            Some(i) => (&seg[..i], &seg[i..]),
            None => (seg, ""),
        };
        if !name.is_empty() {
            cur = cur.get(name)?;
        }
        for idx in indices.split('[').filter(|p| !p.is_empty()) {
            let i: usize = idx.trim_end_matches(']').parse().ok()?;
            cur = cur.get(i)?;
        }
    }
    Some(cur)
}

/// Turns `{"a.b": 1}` into `{"a": {"b": 1}}`, merging with nested forms.
pub(super) fn undot(v: Value) -> Value {
    let Value::Object(map) = v else { return v };
    let mut out = Value::Object(Map::new());
    for (k, v) in map {
        let v = undot(v);
        if k.contains('.') {
            set_path(&mut out, &k, v);
        } else {
            merge(&mut out, &k, v);
        }
    }
    out
}

fn merge(target: &mut Value, key: &str, v: Value) {
    let Value::Object(m) = target else { return };
    match (m.get_mut(key), v) {
        (Some(Value::Object(existing)), Value::Object(new)) => {
            for (k, v) in new {
                let mut holder = Value::Object(std::mem::take(existing));
                merge(&mut holder, &k, v);
                if let Value::Object(h) = holder {
                    *existing = h;
                }
            }
        }
        (_, v) => {
            m.insert(key.to_string(), v);
        }
    }
}

pub(super) fn set_path(target: &mut Value, dotted: &str, v: Value) {
    let mut parts = dotted.split('.').peekable();
    let mut cur = target;
    while let Some(part) = parts.next() {
        if !cur.is_object() {
            *cur = Value::Object(Map::new());
        }
        let Value::Object(m) = cur else { return };
        if parts.peek().is_none() {
            merge_into(m, part, v);
            return;
        }
        cur = m
            .entry(part.to_string())
            .or_insert_with(|| Value::Object(Map::new()));
    }
}

fn merge_into(m: &mut Map<String, Value>, key: &str, v: Value) {
    let mut holder = Value::Object(std::mem::take(m));
    merge(&mut holder, key, v);
    if let Value::Object(h) = holder {
        *m = h;
    }
}

/// Parses an environment override into the type its key wants.
pub(super) fn env_value(name: &str, key: &str, raw: &str) -> Result<Value, ConfigError> {
    let bad = |message: &str| ConfigError::Env {
        name: name.to_string(),
        message: message.to_string(),
    };
    Ok(match key {
        "connectors" => Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|id| serde_json::json!({"connector_id": id}))
                .collect(),
        ),
        "service.service_types" => Value::Array(
            raw.split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(|s| Value::String(s.to_string()))
                .collect(),
        ),
        "elasticsearch.verify_certs" | "service.worker_mode" | "service.log_json" => {
            match raw.trim().to_ascii_lowercase().as_str() {
                "1" | "true" | "yes" | "on" => Value::Bool(true),
                "0" | "false" | "no" | "off" => Value::Bool(false),
                _ => return Err(bad("expected true or false")),
            }
        }
        "elasticsearch.request_timeout"
        | "elasticsearch.max_retries"
        | "service.idling"
        | "service.heartbeat"
        | "service.max_concurrent_content_syncs"
        | "service.slice_seconds"
        | "service.checkpoint_interval"
        | "service.max_partitions_per_job"
        | "elasticsearch.bulk.chunk_size"
        | "elasticsearch.bulk.max_concurrency"
        | "extraction.max_chars"
        | "extraction.max_unpacked_bytes"
        | "service.max_file_download_size" => Value::from(
            raw.trim()
                .parse::<u64>()
                .map_err(|_| bad("expected a whole number"))?,
        ),
        _ => Value::String(raw.to_string()),
    })
}
