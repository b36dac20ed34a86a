//! Advanced sync rules of the database sources: the reference's schema, an array of
//! `{"tables": [...], "query": "...", "id_columns": [...]}`, checked here with one message per
//! problem and per rule. Checks against the database (tables exist, the query prepares) are the
//! sources' own.

use serde_json::Value;

/// One custom query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryRule {
    pub tables: Vec<String>,
    pub query: String,
    /// Columns making the `_id` instead of the tables' primary keys.
    pub id_columns: Vec<String>,
}

impl QueryRule {
    /// The query without trailing semicolons and blanks, so that it can be wrapped.
    pub fn bare_query(&self) -> &str {
        self.query
            .trim_end_matches(|c: char| c == ';' || c.is_whitespace())
    }
}

/// Whether the value holds no rule: `null`, `[]` or `{}` (Kibana's default) are all valid and
/// mean "sync the configured tables".
pub fn is_empty(value: Option<&Value>) -> bool {
    match value {
        None | Some(Value::Null) => true,
        Some(Value::Array(a)) => a.is_empty(),
        Some(Value::Object(o)) => o.is_empty(),
        Some(Value::String(s)) => s.trim().is_empty(),
        _ => false,
    }
}

/// Parses the rules, or explains every schema violation.
pub fn parse(value: &Value) -> Result<Vec<QueryRule>, Vec<String>> {
    if is_empty(Some(value)) {
        return Ok(Vec::new());
    }
    let Value::Array(items) = value else {
        return Err(vec![
            "Advanced rules must be an array of {\"tables\", \"query\", \"id_columns\"} objects."
                .into(),
        ]);
    };
    let mut rules = Vec::new();
    let mut errors = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let n = i + 1;
        let Value::Object(obj) = item else {
            errors.push(format!("Rule {n} must be an object."));
            continue;
        };
        let mut ok = true;
        let mut fail = |m: String| {
            errors.push(format!("Rule {n}: {m}"));
            ok = false;
        };
        let unknown: Vec<&str> = obj
            .keys()
            .map(String::as_str)
            .filter(|k| !["tables", "query", "id_columns"].contains(k))
            .collect();
        if !unknown.is_empty() {
            fail(format!(
                "unknown properties {unknown:?}; allowed: tables, query, id_columns."
            ));
        }
        let tables = string_list(obj.get("tables"));
        match &tables {
            None if obj.contains_key("tables") => {
                fail("'tables' must be an array of table names.".into())
            }
            None => fail("'tables' is required.".into()),
            Some(t) if t.is_empty() => fail("'tables' must name at least one table.".into()),
            _ => {}
        }
        let query = match obj.get("query") {
            Some(Value::String(q)) if !q.trim().is_empty() => Some(q.clone()),
            Some(Value::String(_)) => {
                fail("'query' must not be empty.".into());
                None
            }
            Some(_) => {
                fail("'query' must be a string.".into());
                None
            }
            None => {
                fail("'query' is required.".into());
                None
            }
        };
        let id_columns = match obj.get("id_columns") {
            None => Some(Vec::new()),
            Some(v) => match string_list(Some(v)) {
                Some(c) if c.is_empty() => {
                    fail("'id_columns' must name at least one column when present.".into());
                    None
                }
                Some(c) => Some(c),
                None => {
                    fail("'id_columns' must be an array of column names.".into());
                    None
                }
            },
        };
        if let (true, Some(tables), Some(query), Some(id_columns)) = (ok, tables, query, id_columns)
        {
            rules.push(QueryRule {
                tables,
                query,
                id_columns,
            });
        }
    }
    if errors.is_empty() {
        Ok(rules)
    } else {
        Err(errors)
    }
}

fn string_list(v: Option<&Value>) -> Option<Vec<String>> {
    match v? {
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().map(|s| s.trim().to_string()))
            .collect(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_reference_schema() {
        assert_eq!(parse(&json!([])).unwrap(), vec![]);
        assert_eq!(parse(&json!({})).unwrap(), vec![]);
        let ok = parse(&json!([{"tables": ["a"], "query": "SELECT 1;"}])).unwrap();
        assert_eq!(ok[0].bare_query(), "SELECT 1");
        for bad in [
            json!([{"tables": ["a"], "query": "q", "additional_property": true}]),
            json!([{"query": "q"}]),
            json!([{"tables": ["a"]}]),
            json!([{"tables": ["a"], "query": ""}]),
            json!([{"tables": [], "query": "q"}]),
            json!([{"tables": ["a"], "query": "q", "id_columns": []}]),
            json!([[]]),
            json!({"tables": ["a"]}),
        ] {
            assert!(parse(&bad).is_err(), "{bad}");
        }
        let errors = parse(&json!([{"tables": ["a"], "query": "q"}, {"query": ""}])).unwrap_err();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors.iter().all(|e| e.starts_with("Rule 2:")));
    }
}
