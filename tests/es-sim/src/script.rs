//! A very small subset of Painless update scripts: assignments from `params` or literals
//! (`ctx._source.a.b = params.x`), `+=` on numbers, `ctx._source.remove('f')` and
//! `ctx.op = 'noop'`. Anything else is a 400 `script_exception`, as for a script that fails to compile.

use serde_json::{Map, Value, json};

use crate::error::{EsError, EsResult};

#[derive(Debug, Clone)]
pub struct Script {
    pub source: String,
    pub params: Map<String, Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Updated,
    Noop,
}

fn compile_error(source: &str, why: &str) -> EsError {
    EsError::new(400, "script_exception", "compile error")
        .with_top("script_stack", json!([source]))
        .with_top("script", source)
        .with_top("lang", "painless")
        .caused_by(json!({"type": "illegal_argument_exception", "reason": format!("es-sim supports only simple assignment scripts: {why}")}))
}

impl Script {
    /// Parses the `script` of an update body (a string or `{source, lang, params}`).
    pub fn parse(v: &Value) -> EsResult<Script> {
        match v {
            Value::String(s) => Ok(Script {
                source: s.clone(),
                params: Map::new(),
            }),
            Value::Object(m) => {
                if m.contains_key("id") {
                    return Err(EsError::resource_not_found(
                        "es-sim does not support stored scripts",
                    ));
                }
                if let Some(lang) = m.get("lang").and_then(Value::as_str)
                    && lang != "painless"
                {
                    return Err(EsError::bad_request(format!(
                        "script_lang not supported [{lang}]"
                    )));
                }
                let source = m
                    .get("source")
                    .or_else(|| m.get("inline"))
                    .and_then(Value::as_str)
                    .ok_or_else(|| EsError::parse("must specify either [source] for an inline script or [id] for a stored script"))?;
                let params = m
                    .get("params")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                let s = Script {
                    source: source.to_string(),
                    params,
                };
                s.check()?;
                Ok(s)
            }
            _ => Err(EsError::parse(
                "expected a string or an object for [script]",
            )),
        }
    }

    fn statements(&self) -> Vec<&str> {
        self.source
            .split([';', '\n'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .collect()
    }

    fn check(&self) -> EsResult<()> {
        let mut scratch = json!({});
        self.run(&mut scratch, true).map(|_| ())
    }

    /// Runs the script against a document source.
    pub fn apply(&self, source: &mut Value) -> EsResult<Effect> {
        self.run(source, false)
    }

    fn run(&self, source: &mut Value, dry: bool) -> EsResult<Effect> {
        let mut effect = Effect::Updated;
        for st in self.statements() {
            if let Some(rest) = st.strip_prefix("ctx.op") {
                let v = rest
                    .trim_start()
                    .strip_prefix('=')
                    .map(str::trim)
                    .ok_or_else(|| compile_error(&self.source, st))?;
                let lit = self
                    .value(v)
                    .ok_or_else(|| compile_error(&self.source, st))?;
                if matches!(lit.as_str(), Some("noop" | "none")) {
                    effect = Effect::Noop;
                }
                continue;
            }
            if let Some(rest) = st.strip_prefix("ctx._source.remove(") {
                let arg = rest
                    .strip_suffix(')')
                    .ok_or_else(|| compile_error(&self.source, st))?;
                let key = self
                    .value(arg.trim())
                    .and_then(|v| v.as_str().map(String::from))
                    .ok_or_else(|| compile_error(&self.source, st))?;
                if !dry && let Value::Object(m) = source {
                    m.remove(&key);
                }
                continue;
            }
            let Some(lhs_rhs) = st.strip_prefix("ctx._source") else {
                return Err(compile_error(&self.source, st));
            };
            let (lhs, op, rhs) = if let Some(i) = lhs_rhs.find("+=") {
                (&lhs_rhs[..i], "+=", &lhs_rhs[i + 2..])
            } else if let Some(i) = lhs_rhs.find('=') {
                (&lhs_rhs[..i], "=", &lhs_rhs[i + 1..])
            } else {
                return Err(compile_error(&self.source, st));
            };
            let path = parse_path(lhs.trim()).ok_or_else(|| compile_error(&self.source, st))?;
            let value = self
                .value(rhs.trim())
                .ok_or_else(|| compile_error(&self.source, st))?;
            if dry {
                continue;
            }
            let slot = slot(source, &path).ok_or_else(|| {
                EsError::bad_request(format!(
                    "es-sim script: cannot assign to [{}]",
                    path.join(".")
                ))
            })?;
            if op == "+=" {
                let sum = match (&*slot, &value) {
                    (Value::Number(a), Value::Number(b)) => match (a.as_i64(), b.as_i64()) {
                        (Some(x), Some(y)) => json!(x + y),
                        _ => json!(a.as_f64().unwrap_or(0.0) + b.as_f64().unwrap_or(0.0)),
                    },
                    (Value::String(a), b) => json!(format!(
                        "{a}{}",
                        b.as_str()
                            .map(String::from)
                            .unwrap_or_else(|| b.to_string())
                    )),
                    (Value::Null, b) => b.clone(),
                    _ => {
                        return Err(EsError::bad_request(
                            "es-sim script: cannot add these values",
                        ));
                    }
                };
                *slot = sum;
            } else {
                *slot = value;
            }
        }
        Ok(effect)
    }

    /// A right-hand side: `params.x(.y)`, `params['x']`, a string, number, boolean or null literal.
    fn value(&self, s: &str) -> Option<Value> {
        if let Some(p) = s.strip_prefix("params") {
            let path = parse_path(p)?;
            let mut cur = Value::Object(self.params.clone());
            for seg in path {
                cur = cur.get(&seg)?.clone();
            }
            return Some(cur);
        }
        if (s.starts_with('\'') && s.ends_with('\'') || s.starts_with('"') && s.ends_with('"'))
            && s.len() >= 2
        {
            return Some(Value::String(s[1..s.len() - 1].to_string()));
        }
        serde_json::from_str::<Value>(s)
            .ok()
            .filter(|v| !v.is_object() && !v.is_array())
    }
}

/// `.a.b['c']` → `["a","b","c"]`.
fn parse_path(s: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let name = &r[..end];
            if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
                return None;
            }
            out.push(name.to_string());
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r.find(']')?;
            let inner = r[..end].trim();
            let name = inner.trim_matches(|c| c == '\'' || c == '"');
            out.push(name.to_string());
            rest = &r[end + 1..];
        } else {
            return None;
        }
    }
    Some(out)
}

fn slot<'a>(v: &'a mut Value, path: &[String]) -> Option<&'a mut Value> {
    let mut cur = v;
    for (i, seg) in path.iter().enumerate() {
        let Value::Object(m) = cur else { return None };
        if i + 1 < path.len() {
            cur = m
                .entry(seg.clone())
                .or_insert_with(|| Value::Object(Map::new()));
        } else {
            return Some(m.entry(seg.clone()).or_insert(Value::Null));
        }
    }
    Some(cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn assignments() {
        let s = Script::parse(&json!({"source": "ctx._source.status = params.s; ctx._source.a.b = 'x'; ctx._source.n += 2; ctx._source.remove('gone')", "params": {"s": "done"}})).unwrap();
        let mut doc = json!({"n": 1, "gone": true});
        assert_eq!(s.apply(&mut doc).unwrap(), Effect::Updated);
        assert_eq!(doc, json!({"n": 3, "status": "done", "a": {"b": "x"}}));
    }

    #[test]
    fn unsupported_is_400() {
        let e = Script::parse(&json!({"source": "for (x in y) {}"})).unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(e.kind(), Some("script_exception"));
        let s = Script::parse(&json!("ctx.op = 'noop'")).unwrap();
        assert_eq!(s.apply(&mut json!({})).unwrap(), Effect::Noop);
    }
}
