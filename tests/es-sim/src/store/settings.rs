//! Index settings: normalised to flat `index.*` keys with string values, and rendered back as
//! nested objects.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

fn flatten_settings(prefix: &str, v: &Value, out: &mut BTreeMap<String, Value>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                flatten_settings(&key, v, out);
            }
        }
        Value::Array(a) => {
            out.insert(
                prefix.to_string(),
                Value::Array(a.iter().map(setting_string).collect()),
            );
        }
        Value::Null => {
            out.remove(prefix);
        }
        other => {
            out.insert(prefix.to_string(), setting_string(other));
        }
    }
}

fn setting_string(v: &Value) -> Value {
    match v {
        Value::String(s) => Value::String(s.clone()),
        Value::Null => Value::Null,
        other => Value::String(other.to_string()),
    }
}

/// Normalises a settings body (nested or flat, with or without the `index.` prefix).
pub fn normalize_settings(v: &Value) -> BTreeMap<String, Value> {
    let mut flat = BTreeMap::new();
    flatten_settings("", v, &mut flat);
    flat.into_iter()
        .map(|(k, v)| {
            if k.starts_with("index.") {
                (k, v)
            } else {
                (format!("index.{k}"), v)
            }
        })
        .collect()
}

/// Renders flat settings as nested objects.
pub fn nest_settings<'a>(flat: impl Iterator<Item = (&'a String, &'a Value)>) -> Value {
    let mut root = Map::new();
    for (k, v) in flat {
        let parts: Vec<&str> = k.split('.').collect();
        let mut cur = &mut root;
        for p in &parts[..parts.len() - 1] {
            let entry = cur
                .entry(p.to_string())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            let Value::Object(m) = entry else {
                unreachable!()
            };
            cur = m;
        }
        cur.insert(parts[parts.len() - 1].to_string(), v.clone());
    }
    Value::Object(root)
}
