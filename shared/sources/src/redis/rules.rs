//! The Redis source's advanced rules: `[{"database": n, "key_pattern": "...", "type": "..."}]`,
//! checked as the reference's JSON schema does (fastjsonschema's messages, the first problem
//! found: the object, `required`, `anyOf`, each property, extra properties).

use serde_json::{Map, Value};

use crate::python;

/// One rule: a database, scanned with `MATCH key_pattern` and `TYPE type` when given.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub database: i64,
    /// The rule's `database` value as written (the document's `database` field).
    pub database_value: Value,
    pub key_pattern: Option<String>,
    pub key_type: Option<String>,
}

/// An integer to JSON schema: a whole number, `1.0` included; never a boolean.
fn as_integer(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        _ => None,
    }
}

/// Checks `rules`; the reference's message for the first problem.
pub fn check(rules: &Value) -> Result<Vec<Rule>, String> {
    if rules.as_object().is_some_and(Map::is_empty) {
        return Ok(Vec::new());
    }
    let Some(items) = rules.as_array() else {
        return Err("data must be array".into());
    };
    let mut out = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let Some(rule) = item.as_object() else {
            return Err(format!("data[{i}] must be object"));
        };
        if !rule.contains_key("database") {
            return Err(format!("data[{i}] must contain ['database'] properties"));
        }
        if !rule.contains_key("key_pattern") && !rule.contains_key("type") {
            return Err(format!("data[{i}] cannot be validated by any definition"));
        }
        let database = &rule["database"];
        let Some(number) = as_integer(database) else {
            return Err(format!("data[{i}].database must be integer"));
        };
        if number < 0 {
            return Err(format!(
                "data[{i}].database must be bigger than or equal to 0"
            ));
        }
        let text = |name: &str| -> Result<Option<String>, String> {
            match rule.get(name) {
                None => Ok(None),
                Some(Value::String(s)) if s.chars().count() >= 1 => Ok(Some(s.clone())),
                Some(Value::String(_)) => Err(format!(
                    "data[{i}].{name} must be longer than or equal to 1 characters"
                )),
                Some(_) => Err(format!("data[{i}].{name} must be string")),
            }
        };
        let key_pattern = text("key_pattern")?;
        let key_type = text("type")?;
        python::unexpected_properties(i, rule, &["database", "key_pattern", "type"])?;
        out.push(Rule {
            database: number,
            database_value: database.clone(),
            key_pattern,
            key_type,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn messages_are_fastjsonschemas() {
        for (rules, message) in [
            (json!({"database": 0}), "data must be array"),
            (
                json!([{"database": 0}]),
                "data[0] cannot be validated by any definition",
            ),
            (
                json!([{"database": -1}]),
                "data[0] cannot be validated by any definition",
            ),
            (
                json!([{"key_pattern": "a"}]),
                "data[0] must contain ['database'] properties",
            ),
            (
                json!([{"database": -1, "key_pattern": "a"}]),
                "data[0].database must be bigger than or equal to 0",
            ),
            (
                json!([{"database": "0", "key_pattern": "a"}]),
                "data[0].database must be integer",
            ),
            (
                json!([{"database": true, "key_pattern": "a"}]),
                "data[0].database must be integer",
            ),
            (
                json!([{"database": 0, "key_pattern": ""}]),
                "data[0].key_pattern must be longer than or equal to 1 characters",
            ),
            (
                json!([{"database": 0, "type": ""}]),
                "data[0].type must be longer than or equal to 1 characters",
            ),
            (
                json!([{"database": 0, "key_pattern": 5}]),
                "data[0].key_pattern must be string",
            ),
            (
                json!([{"database": 0, "key_pattern": "a", "foo": 1}]),
                "data[0] must not contain {'foo'} properties",
            ),
            (json!(["x"]), "data[0] must be object"),
        ] {
            assert_eq!(check(&rules), Err(message.to_string()), "{rules}");
        }
        assert_eq!(check(&json!([])), Ok(vec![]));
        assert_eq!(check(&json!({})), Ok(vec![]));
        let rules = check(
            &json!([{"database": 1.0, "key_pattern": "a"}, {"database": 2, "type": "string"}]),
        )
        .unwrap();
        assert_eq!(rules[0].database, 1);
        assert_eq!(rules[1].key_type.as_deref(), Some("string"));
    }
}
