//! Values as the reference's Python writes them: `datetime.isoformat()` of a UTC time, `repr()`
//! of strings, and `str()` of dicts, lists and parsed JSON (the Azure source writes metadata
//! that way, the Redis source every value). Floats are [`float_repr`].

use chrono::{DateTime, Timelike, Utc};
use serde_json::Value;

pub use crate::database::python::float_repr;

/// `dt.isoformat()` of an aware UTC datetime: microseconds only when not zero, `+00:00`.
pub fn isoformat(dt: DateTime<Utc>) -> String {
    let micros = dt.nanosecond() / 1_000 % 1_000_000;
    let base = dt.format("%Y-%m-%dT%H:%M:%S");
    if micros == 0 {
        format!("{base}+00:00")
    } else {
        format!("{base}.{micros:06}+00:00")
    }
}

/// Python's `repr()` of a `str`.
pub fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// `str(d)` of a dict whose values are strings or `None`, in the given order.
pub fn dict_repr<'a>(entries: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> String {
    let items: Vec<String> = entries
        .into_iter()
        .map(|(k, v)| {
            format!(
                "{}: {}",
                str_repr(k),
                v.map_or_else(|| "None".to_string(), str_repr)
            )
        })
        .collect();
    format!("{{{}}}", items.join(", "))
}

/// fastjsonschema's `additionalProperties: false` message for rule `i` of advanced rules, when
/// `rule` has keys other than `allowed`.
pub fn unexpected_properties(
    i: usize,
    rule: &serde_json::Map<String, Value>,
    allowed: &[&str],
) -> Result<(), String> {
    let extra: Vec<String> = rule
        .keys()
        .filter(|k| !allowed.contains(&k.as_str()))
        .map(|k| str_repr(k))
        .collect();
    if extra.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "data[{i}] must not contain {{{}}} properties",
            extra.join(", ")
        ))
    }
}

/// Python's `repr()` of a value `json.loads` gave.
pub fn json_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(true) => "True".into(),
        Value::Bool(false) => "False".into(),
        Value::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
        Value::Number(n) => float_repr(n.as_f64().unwrap_or(f64::NAN)),
        Value::String(s) => str_repr(s),
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(json_repr).collect();
            format!("[{}]", items.join(", "))
        }
        Value::Object(map) => {
            let items: Vec<String> = map
                .iter()
                .map(|(k, v)| format!("{}: {}", str_repr(k), json_repr(v)))
                .collect();
            format!("{{{}}}", items.join(", "))
        }
    }
}

/// Python's `str()` of a value `json.loads` gave: a string as itself, anything else as `repr()`.
pub fn json_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => json_repr(other),
    }
}

/// `json.loads(text)`, as far as Python accepts more than JSON: `NaN`, `Infinity`,
/// `-Infinity`, and integers of any size (kept as their digits). `None` when Python would raise.
pub fn json_loads_str(text: &str) -> Option<String> {
    let t = text.trim_matches([' ', '\t', '\n', '\r']);
    match t {
        "NaN" => return Some("nan".into()),
        "Infinity" => return Some("inf".into()),
        "-Infinity" => return Some("-inf".into()),
        _ => {}
    }
    let digits = t.strip_prefix('-').unwrap_or(t);
    if !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && (digits == "0" || !digits.starts_with('0'))
    {
        return Some(if digits == "0" {
            "0".into()
        } else {
            t.to_string()
        });
    }
    serde_json::from_str::<Value>(t).ok().map(|v| json_str(&v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isoformat_as_python() {
        let t = DateTime::parse_from_rfc3339("2023-01-02T03:04:05Z")
            .unwrap()
            .to_utc();
        assert_eq!(isoformat(t), "2023-01-02T03:04:05+00:00");
        let t = DateTime::parse_from_rfc3339("2023-01-02T03:04:05.120Z")
            .unwrap()
            .to_utc();
        assert_eq!(isoformat(t), "2023-01-02T03:04:05.120000+00:00");
    }

    #[test]
    fn json_as_python_str() {
        for (raw, python) in [
            ("hello", None),
            ("123", Some("123")),
            (" 42 ", Some("42")),
            ("1.50", Some("1.5")),
            ("1e3", Some("1000.0")),
            ("true", Some("True")),
            ("null", Some("None")),
            ("\"quoted\"", Some("quoted")),
            ("[1,2]", Some("[1, 2]")),
            ("NaN", Some("nan")),
            ("Infinity", Some("inf")),
            ("007", None),
            ("{bad", None),
            (
                "{\"a\": [1, true, null, \"x\"]}",
                Some("{'a': [1, True, None, 'x']}"),
            ),
            (
                "123456789012345678901234567890",
                Some("123456789012345678901234567890"),
            ),
        ] {
            assert_eq!(json_loads_str(raw).as_deref(), python, "{raw}");
        }
    }

    #[test]
    fn reprs_as_python() {
        assert_eq!(str_repr("it's"), "\"it's\"");
        assert_eq!(str_repr("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(
            dict_repr([("status", Some("unlocked")), ("duration", None)]),
            "{'status': 'unlocked', 'duration': None}"
        );
        assert_eq!(dict_repr([]), "{}");
    }
}
