//! `_source` filtering: `false`, include patterns, `{includes, excludes}`, with `*` wildcards over
//! dotted paths, as in search bodies and `_source_includes`/`_source_excludes` parameters.

use serde_json::{Map, Value};

use crate::error::{EsError, EsResult};
use crate::http::Params;

#[derive(Debug, Clone, Default)]
pub struct SourceFilter {
    /// `_source: false`.
    pub disabled: bool,
    pub includes: Vec<String>,
    pub excludes: Vec<String>,
}

fn strings(v: &Value) -> EsResult<Vec<String>> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(a) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(String::from)
                    .ok_or_else(|| EsError::parsing("[_source] expected strings"))
            })
            .collect(),
        Value::Null => Ok(Vec::new()),
        _ => Err(EsError::parsing(
            "[_source] expected a string or an array of strings",
        )),
    }
}

impl SourceFilter {
    /// From a search body's `_source`.
    pub fn from_json(v: &Value) -> EsResult<SourceFilter> {
        match v {
            Value::Bool(b) => Ok(SourceFilter {
                disabled: !b,
                ..Default::default()
            }),
            Value::String(_) | Value::Array(_) => Ok(SourceFilter {
                includes: strings(v)?,
                ..Default::default()
            }),
            Value::Object(m) => {
                let mut f = SourceFilter::default();
                for (k, v) in m {
                    match k.as_str() {
                        "includes" | "include" => f.includes = strings(v)?,
                        "excludes" | "exclude" => f.excludes = strings(v)?,
                        other => {
                            return Err(EsError::parsing(format!(
                                "Unknown key for a START_ARRAY in [{other}]."
                            )));
                        }
                    }
                }
                Ok(f)
            }
            _ => Err(EsError::parsing("[_source] malformed")),
        }
    }

    /// Applies `_source`, `_source_includes` and `_source_excludes` query parameters on top.
    pub fn with_params(mut self, p: &Params) -> SourceFilter {
        if let Some(s) = p.get("_source") {
            match s {
                "false" => self.disabled = true,
                "true" | "" => self.disabled = false,
                other => {
                    self.disabled = false;
                    self.includes = other
                        .split(',')
                        .map(|x| x.trim().to_string())
                        .filter(|x| !x.is_empty())
                        .collect();
                }
            }
        }
        let inc = p.list("_source_includes");
        if !inc.is_empty() {
            self.disabled = false;
            self.includes = inc;
        }
        let exc = p.list("_source_excludes");
        if !exc.is_empty() {
            self.disabled = false;
            self.excludes = exc;
        }
        self
    }

    pub fn is_noop(&self) -> bool {
        !self.disabled && self.includes.is_empty() && self.excludes.is_empty()
    }

    /// The filtered source, `None` when `_source` is disabled.
    pub fn apply(&self, source: &Value) -> Option<Value> {
        if self.disabled {
            return None;
        }
        if self.is_noop() {
            return Some(source.clone());
        }
        match source {
            Value::Object(m) => {
                let inc: Vec<&str> = self
                    .includes
                    .iter()
                    .map(String::as_str)
                    .filter(|s| *s != "*")
                    .collect();
                let all = inc.len() < self.includes.len();
                let inc = if all { Vec::new() } else { inc };
                let exc: Vec<&str> = self.excludes.iter().map(String::as_str).collect();
                Some(Value::Object(filter_map(m, "", &inc, &exc)))
            }
            other => Some(other.clone()),
        }
    }
}

/// Simple `*` glob match.
pub fn glob(pattern: &str, s: &str) -> bool {
    if !pattern.contains('*') {
        return pattern == s;
    }
    let parts: Vec<&str> = pattern.split('*').collect();
    let mut pos = 0;
    for (i, part) in parts.iter().enumerate() {
        if part.is_empty() {
            continue;
        }
        if i == 0 {
            if !s.starts_with(part) {
                return false;
            }
            pos = part.len();
        } else if i == parts.len() - 1 {
            return s.len() >= pos + part.len() && s[pos..].ends_with(part);
        } else {
            match s[pos..].find(part) {
                Some(f) => pos += f + part.len(),
                None => return false,
            }
        }
    }
    true
}

/// Whether some path below `path` could match `pattern`.
fn may_match_below(pattern: &str, path: &str) -> bool {
    let pre = format!("{path}.");
    match pattern.find('*') {
        Some(star) => {
            let lit = &pattern[..star];
            lit.starts_with(&pre) || pre.starts_with(lit)
        }
        None => pattern.starts_with(&pre),
    }
}

fn filter_map(
    m: &Map<String, Value>,
    prefix: &str,
    inc: &[&str],
    exc: &[&str],
) -> Map<String, Value> {
    let mut out = Map::new();
    for (k, v) in m {
        let path = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        if exc.iter().any(|p| glob(p, &path)) {
            continue;
        }
        let included = inc.is_empty() || inc.iter().any(|p| glob(p, &path));
        let inner_inc: &[&str] = if included { &[] } else { inc };
        let descend = included || inc.iter().any(|p| may_match_below(p, &path));
        if !descend {
            continue;
        }
        match v {
            Value::Object(child) => {
                let f = filter_map(child, &path, inner_inc, exc);
                if included || !f.is_empty() {
                    out.insert(k.clone(), Value::Object(f));
                }
            }
            Value::Array(a) => {
                let mut items = Vec::new();
                for e in a {
                    match e {
                        Value::Object(child) => {
                            let f = filter_map(child, &path, inner_inc, exc);
                            if included || !f.is_empty() {
                                items.push(Value::Object(f));
                            }
                        }
                        other if included => items.push(other.clone()),
                        _ => {}
                    }
                }
                if included || !items.is_empty() {
                    out.insert(k.clone(), Value::Array(items));
                }
            }
            other if included => {
                out.insert(k.clone(), other.clone());
            }
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn f(v: Value) -> SourceFilter {
        SourceFilter::from_json(&v).unwrap()
    }

    #[test]
    fn includes_and_excludes() {
        let doc = json!({"id": 1, "_timestamp": "t", "a": {"b": 1, "c": 2}, "big": "x"});
        assert_eq!(
            f(json!(["id", "_timestamp"])).apply(&doc).unwrap(),
            json!({"id": 1, "_timestamp": "t"})
        );
        assert_eq!(f(json!("a.b")).apply(&doc).unwrap(), json!({"a": {"b": 1}}));
        assert_eq!(
            f(json!({"excludes": ["a.*", "big"]})).apply(&doc).unwrap(),
            json!({"id": 1, "_timestamp": "t", "a": {}})
        );
        assert_eq!(
            f(json!("a*")).apply(&doc).unwrap(),
            json!({"a": {"b": 1, "c": 2}})
        );
        assert_eq!(f(json!("*.c")).apply(&doc).unwrap(), json!({"a": {"c": 2}}));
        assert!(f(json!(false)).apply(&doc).is_none());
        assert_eq!(f(json!("nope")).apply(&doc).unwrap(), json!({}));
    }

    #[test]
    fn globbing() {
        assert!(glob("a*", "abc"));
        assert!(glob("*c", "abc"));
        assert!(glob("a*c", "abc"));
        assert!(!glob("a*d", "abc"));
        assert!(glob("*", "x"));
    }
}
