//! `filter_path`: keeps (or, with `-`, drops) parts of a JSON response by dotted paths with `*`
//! and `**` wildcards.

use serde_json::{Map, Value};

use crate::source_filter::glob;

/// Applies a comma-separated `filter_path` to a response body.
pub fn apply(v: Value, filter: &str) -> Value {
    let mut includes: Vec<Vec<String>> = Vec::new();
    let mut excludes: Vec<Vec<String>> = Vec::new();
    for f in filter.split(',').map(str::trim).filter(|f| !f.is_empty()) {
        match f.strip_prefix('-') {
            Some(e) => excludes.push(e.split('.').map(String::from).collect()),
            None => includes.push(f.split('.').map(String::from).collect()),
        }
    }
    let mut out = if includes.is_empty() {
        v
    } else {
        let refs: Vec<&[String]> = includes.iter().map(Vec::as_slice).collect();
        include(&v, &refs).unwrap_or_else(|| Value::Object(Map::new()))
    };
    for e in &excludes {
        exclude(&mut out, e);
    }
    out
}

/// The patterns that remain after matching `key` against each pattern; `None` inside means a
/// pattern matched completely.
fn advance<'a>(patterns: &[&'a [String]], key: &str) -> (bool, Vec<&'a [String]>) {
    let mut full = false;
    let mut rest = Vec::new();
    for p in patterns {
        if p.is_empty() {
            continue;
        }
        if p[0] == "**" {
            // `**` may match this key and stay, or match nothing.
            rest.push(*p);
            let (f, r) = advance(&[&p[1..]], key);
            full |= f;
            rest.extend(r);
            if p.len() == 1 {
                full = true;
            }
        } else if glob(&p[0], key) {
            if p.len() == 1 {
                full = true;
            } else {
                rest.push(&p[1..]);
            }
        }
    }
    (full, rest)
}

fn include(v: &Value, patterns: &[&[String]]) -> Option<Value> {
    match v {
        Value::Object(m) => {
            let mut out = Map::new();
            for (k, child) in m {
                let (full, rest) = advance(patterns, k);
                if full {
                    out.insert(k.clone(), child.clone());
                } else if !rest.is_empty()
                    && let Some(c) = include(child, &rest)
                {
                    out.insert(k.clone(), c);
                }
            }
            if out.is_empty() {
                None
            } else {
                Some(Value::Object(out))
            }
        }
        Value::Array(a) => {
            let items: Vec<Value> = a.iter().filter_map(|e| include(e, patterns)).collect();
            if items.is_empty() {
                None
            } else {
                Some(Value::Array(items))
            }
        }
        _ => None,
    }
}

fn exclude(v: &mut Value, pattern: &[String]) {
    if pattern.is_empty() {
        return;
    }
    match v {
        Value::Object(m) => {
            let keys: Vec<String> = m.keys().cloned().collect();
            for k in keys {
                if pattern[0] == "**" {
                    if let Some(c) = m.get_mut(&k) {
                        exclude(c, pattern);
                        exclude(c, &pattern[1..]);
                    }
                    if pattern.len() > 1 && glob(&pattern[1], &k) && pattern.len() == 2 {
                        m.remove(&k);
                    }
                } else if glob(&pattern[0], &k) {
                    if pattern.len() == 1 {
                        m.remove(&k);
                    } else if let Some(c) = m.get_mut(&k) {
                        exclude(c, &pattern[1..]);
                    }
                }
            }
        }
        Value::Array(a) => {
            for e in a {
                exclude(e, pattern);
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn includes() {
        let v = json!({"took": 1, "hits": {"total": {"value": 2}, "hits": [{"_id": "a", "_source": {"x": 1}}, {"_id": "b"}]}});
        assert_eq!(
            apply(v.clone(), "hits.hits._id"),
            json!({"hits": {"hits": [{"_id": "a"}, {"_id": "b"}]}})
        );
        assert_eq!(
            apply(v.clone(), "took,hits.total"),
            json!({"took": 1, "hits": {"total": {"value": 2}}})
        );
        assert_eq!(
            apply(v.clone(), "**._id"),
            json!({"hits": {"hits": [{"_id": "a"}, {"_id": "b"}]}})
        );
        assert_eq!(apply(v.clone(), "-hits"), json!({"took": 1}));
        assert_eq!(apply(v, "nope"), json!({}));
    }
}
