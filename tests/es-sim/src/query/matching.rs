//! Matching and scoring documents against a compiled query, and reading a document's values at a
//! path as [`Key`]s.

use std::collections::HashSet;

use serde_json::Value;

use super::Key;
use super::compile::{Compiled, Test, tokenize};
use super::parse::value_as_string;
use crate::datemath;
use crate::mapping::FieldKind;

pub(super) fn eval(c: &Compiled, id: &str, index: &str, source: &Value) -> Option<f32> {
    match c {
        Compiled::All(b) => Some(*b),
        Compiled::Nothing => None,
        Compiled::Ids(set) => set.contains(id).then_some(1.0),
        Compiled::Index(names) => names.iter().any(|n| n == index).then_some(1.0),
        Compiled::Exists(path) => {
            let mut found = false;
            visit_values(source, path, &mut |v| {
                if !v.is_null() {
                    found = true;
                }
            });
            found.then_some(1.0)
        }
        Compiled::Field {
            path,
            kind,
            test,
            ci,
            boost,
            format,
        } => {
            if path == "_id" {
                let k = Value::String(id.to_string());
                return field_matches(&k, FieldKind::Keyword, test, *ci, None).then_some(*boost);
            }
            if let Test::Tokens { tokens, and } = test {
                let mut doc_tokens: HashSet<String> = HashSet::new();
                visit_values(source, path, &mut |v| {
                    if let Some(s) = value_as_string(v) {
                        doc_tokens.extend(tokenize(&s));
                    }
                });
                let ok = if *and {
                    tokens.iter().all(|t| doc_tokens.contains(t))
                } else {
                    tokens.iter().any(|t| doc_tokens.contains(t))
                };
                return ok.then_some(*boost);
            }
            let mut matched = false;
            visit_values(source, path, &mut |v| {
                if !matched && field_matches(v, *kind, test, *ci, format.as_deref()) {
                    matched = true;
                }
            });
            matched.then_some(*boost)
        }
        Compiled::Constant(inner, b) => eval(inner, id, index, source).map(|_| *b),
        Compiled::Bool {
            must,
            filter,
            should,
            must_not,
            msm,
            boost,
        } => {
            let mut score = 0.0f32;
            for q in must {
                score += eval(q, id, index, source)?;
            }
            for q in filter {
                eval(q, id, index, source)?;
            }
            for q in must_not {
                if eval(q, id, index, source).is_some() {
                    return None;
                }
            }
            let mut matched = 0usize;
            for q in should {
                if let Some(s) = eval(q, id, index, source) {
                    matched += 1;
                    score += s;
                }
            }
            if matched < *msm {
                return None;
            }
            if must.is_empty() && should.is_empty() && filter.is_empty() {
                // Only must_not: a pure negative query matches everything else with score 1.
                return Some(*boost);
            }
            Some(score * *boost)
        }
    }
}

/// A document value as a key of the field's kind.
pub fn doc_key(v: &Value, kind: FieldKind, format: Option<&str>) -> Option<Key> {
    match kind {
        FieldKind::Keyword | FieldKind::Text => value_as_string(v).map(Key::Str),
        FieldKind::Long | FieldKind::Double => match v {
            Value::Number(n) => n.as_f64().map(Key::Num),
            Value::String(s) => s.trim().parse().ok().map(Key::Num),
            _ => None,
        },
        FieldKind::Date => match v {
            Value::Number(n) => n.as_f64().map(Key::Num),
            Value::String(s) => datemath::parse_date(s, format).map(|ms| Key::Num(ms as f64)),
            _ => None,
        },
        FieldKind::Boolean => match v {
            Value::Bool(b) => Some(Key::Bool(*b)),
            Value::String(s) => match s.as_str() {
                "true" => Some(Key::Bool(true)),
                "false" | "" => Some(Key::Bool(false)),
                _ => None,
            },
            _ => None,
        },
        _ => None,
    }
}

fn cmp_keys(a: &Key, b: &Key) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Key::Str(x), Key::Str(y)) => Some(x.cmp(y)),
        (Key::Num(x), Key::Num(y)) => x.partial_cmp(y),
        (Key::Bool(x), Key::Bool(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

fn field_matches(v: &Value, kind: FieldKind, test: &Test, ci: bool, format: Option<&str>) -> bool {
    if kind == FieldKind::Text {
        // Analysed text: a term must equal one of the tokens.
        let Some(s) = value_as_string(v) else {
            return false;
        };
        let tokens = tokenize(&s);
        return tokens.iter().any(|t| {
            let k = Key::Str(t.clone());
            key_test(&k, test, ci)
        });
    }
    let Some(k) = doc_key(v, kind, format) else {
        return false;
    };
    key_test(&k, test, ci)
}

fn key_test(k: &Key, test: &Test, ci: bool) -> bool {
    let k = match (ci, k) {
        (true, Key::Str(s)) => Key::Str(s.to_lowercase()),
        _ => k.clone(),
    };
    match test {
        Test::Eq(keys) => keys.contains(&k),
        Test::Range { lo, hi } => {
            if let Some((b, incl)) = lo {
                match cmp_keys(&k, b) {
                    Some(std::cmp::Ordering::Greater) => {}
                    Some(std::cmp::Ordering::Equal) if *incl => {}
                    _ => return false,
                }
            }
            if let Some((b, incl)) = hi {
                match cmp_keys(&k, b) {
                    Some(std::cmp::Ordering::Less) => {}
                    Some(std::cmp::Ordering::Equal) if *incl => {}
                    _ => return false,
                }
            }
            true
        }
        Test::Prefix(p) => matches!(&k, Key::Str(s) if s.starts_with(p.as_str())),
        Test::Pattern(re) => matches!(&k, Key::Str(s) if re.is_match(s)),
        Test::Tokens { .. } => false,
    }
}

/// Whether the top-level `key` of a source can hold values of one of `paths` (as the key
/// itself or, for a dotted path, as the object or literal dotted key on its way).
pub fn key_feeds_paths(key: &str, paths: &[&str]) -> bool {
    paths.iter().any(|p| {
        p.strip_prefix(key)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
    })
}

/// Calls `f` with every value at a dotted path, looking through arrays and literal dotted keys.
pub fn visit_values<'a>(v: &'a Value, path: &str, f: &mut dyn FnMut(&'a Value)) {
    match v {
        Value::Array(a) => {
            for e in a {
                visit_values(e, path, f);
            }
        }
        Value::Object(m) => {
            if path.is_empty() {
                f(v);
                return;
            }
            if let Some(x) = m.get(path) {
                visit_leaf(x, f);
            }
            let mut idx = 0;
            while let Some(pos) = path[idx..].find('.') {
                let split = idx + pos;
                if let Some(x) = m.get(&path[..split]) {
                    visit_values(x, &path[split + 1..], f);
                }
                idx = split + 1;
            }
        }
        _ => {
            if path.is_empty() {
                f(v);
            }
        }
    }
}

fn visit_leaf<'a>(v: &'a Value, f: &mut dyn FnMut(&'a Value)) {
    match v {
        Value::Array(a) => {
            for e in a {
                visit_leaf(e, f);
            }
        }
        other => f(other),
    }
}
