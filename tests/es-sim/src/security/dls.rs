//! Document-level security queries of role descriptors, like Elasticsearch's
//! `SecurityQueryTemplateEvaluator` and `DLSRoleQueryValidator`: checking plain role queries when
//! an API key is created, rendering templated ones (`{"template": {"source", "params"}}`,
//! mustache with the params and `_user`) when a request is authorized, and parsing the result
//! into the [`Query`] a document must match to be visible.

use serde_json::{Map, Value};

use super::mustache;
use crate::error::{EsError, EsResult};
use crate::query::{BoolQuery, Query};
use crate::roles::RoleDescriptor;

/// A `parse_exception` wrapping `cause`, which Elasticsearch reports as the root cause.
fn wrapping(reason: String, cause: &EsError) -> EsError {
    let c = cause.cause_object();
    EsError::parse(reason)
        .caused_by(c.clone())
        .with_root_cause(vec![c])
}

/// Whether role query JSON is a template (its first field is `template`).
fn template_of(v: &Value) -> Option<&Value> {
    match v {
        Value::Object(m) => m
            .iter()
            .next()
            .filter(|(k, _)| *k == "template")
            .map(|(_, t)| t),
        _ => None,
    }
}

fn parse_json(text: &str) -> EsResult<Value> {
    serde_json::from_str(text).map_err(|e| EsError::json_syntax(&e))
}

/// Checks the non-template role queries of new descriptors, as creating an API key does.
pub fn validate_role_queries(roles: &[RoleDescriptor]) -> EsResult<()> {
    for rd in roles {
        for (i, ip) in rd.indices.iter().enumerate() {
            let Some(text) = &ip.query else {
                continue;
            };
            let checked = parse_json(text).and_then(|v| {
                if !v.is_object() {
                    return Err(EsError::x_content(format!(
                        "[1:1] expected [START_OBJECT] but found [{}] instead",
                        crate::roles::token(&v)
                    )));
                }
                match template_of(&v) {
                    Some(_) => Ok(()),
                    None => Query::parse(&v).map(|_| ()),
                }
            });
            if let Err(e) = checked {
                return Err(wrapping(
                    format!(
                        "failed to parse field 'query' for indices [{}] at index privilege [{i}] of role descriptor",
                        ip.names.join(",")
                    ),
                    &e,
                ));
            }
        }
    }
    Ok(())
}

/// Renders a `template` object with its params and `_user` (the authenticated user).
fn render_template(t: &Value, user: &Value) -> EsResult<String> {
    let m = t
        .as_object()
        .ok_or_else(|| EsError::parsing("[script] query malformed, expected an object"))?;
    let mut source = None;
    let mut params = Map::new();
    for (k, v) in m {
        match k.as_str() {
            "source" | "inline" => {
                source = Some(match v {
                    Value::String(s) => s.clone(),
                    Value::Object(_) => v.to_string(),
                    _ => {
                        return Err(EsError::parsing(format!(
                            "[script] {k} doesn't support values of type: {}",
                            crate::roles::token(v)
                        )));
                    }
                })
            }
            "params" => match v {
                Value::Object(p) => params = p.clone(),
                Value::Null => {}
                _ => return Err(EsError::parsing("[script] params must be an object")),
            },
            "lang" | "options" => {}
            "id" => {
                return Err(EsError::bad_request(
                    "es-sim does not support stored scripts in role query templates",
                ));
            }
            other => {
                return Err(EsError::parsing(format!(
                    "[script] unknown field [{other}]"
                )));
            }
        }
    }
    let source = source.ok_or_else(|| {
        EsError::parsing(
            "must specify either [source] for an inline script or [id] for a stored script",
        )
    })?;
    params.insert("_user".into(), user.clone());
    mustache::render(&source, &Value::Object(params)).map_err(|e| {
        EsError::new(
            400,
            "general_script_exception",
            format!("Failed to compile inline script [{source}] using lang [mustache]"),
        )
        .caused_by(serde_json::json!({"type": "mustache_exception", "reason": e.to_string()}))
    })
}

/// The query a role's `query` (plain or templated) evaluates to for `user`.
pub fn role_query(text: &str, user: &Value) -> EsResult<Query> {
    let evaluated = parse_json(text).and_then(|v| match template_of(&v) {
        Some(t) => parse_json(&render_template(t, user)?),
        None => Ok(v),
    });
    evaluated
        .and_then(|v| Query::parse(&v))
        .map_err(|e| match e.kind() {
            Some("general_script_exception") | Some("illegal_argument_exception") => e,
            _ => wrapping(
                "failed to parse field 'query' from the role descriptor".into(),
                &e,
            ),
        })
}

/// Documents visible through any of several role queries (Elasticsearch ORs the queries of the
/// roles granting access to an index).
pub fn any_of(mut queries: Vec<Query>) -> Query {
    if queries.len() == 1
        && let Some(q) = queries.pop()
    {
        return q;
    }
    Query::Bool(Box::new(BoolQuery {
        should: queries,
        msm: Some(Value::from(1)),
        boost: 1.0,
        ..BoolQuery::default()
    }))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const CONNECTORS_SOURCE: &str = "{\n  \"bool\": {\n    \"should\": [\n      {\n        \"bool\": {\n          \"must_not\": {\n            \"exists\": {\n              \"field\": \"_allow_access_control\"\n            }\n          }\n        }\n      },\n      {\n        \"terms\": {\n          \"_allow_access_control.keyword\": {{#toJson}}access_control{{/toJson}}\n        }\n      }\n    ]\n  }\n}";

    #[test]
    fn renders_the_connectors_template() {
        let text = json!({"template": {"source": CONNECTORS_SOURCE, "params": {
            "access_control": ["sid:S-1-5-21-1-2-3-1001", "user:alice"]}}})
        .to_string();
        let q = role_query(&text, &json!({"username": "elastic"})).unwrap();
        let Query::Bool(b) = q else {
            panic!("not a bool: {q:?}")
        };
        assert_eq!(b.should.len(), 2);
        let Query::Terms { field, values, .. } = &b.should[1] else {
            panic!("not terms: {:?}", b.should[1])
        };
        assert_eq!(field, "_allow_access_control.keyword");
        assert_eq!(
            values,
            &vec![json!("sid:S-1-5-21-1-2-3-1001"), json!("user:alice")]
        );
    }

    #[test]
    fn user_param_and_object_source() {
        let text =
            json!({"template": {"source": {"term": {"owner": "{{_user.username}}"}}}}).to_string();
        let q = role_query(&text, &json!({"username": "bob"})).unwrap();
        assert!(
            matches!(q, Query::Term { ref value, .. } if value == "bob"),
            "{q:?}"
        );
    }

    #[test]
    fn bad_queries() {
        let e = role_query(r#"{"nope": {}}"#, &json!({})).unwrap_err();
        assert_eq!(e.kind(), Some("parse_exception"));
        assert_eq!(
            e.reason(),
            Some("failed to parse field 'query' from the role descriptor")
        );
        let e = role_query(r#"{"template": {"source": "{{#a}}"}}"#, &json!({})).unwrap_err();
        assert_eq!(e.kind(), Some("general_script_exception"));
    }
}
