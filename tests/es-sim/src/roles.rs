//! API key role descriptors: parsing them with the `parse_exception`s of Elasticsearch's
//! `RoleDescriptor` parser and rendering them the way `GET _security/api_key` shows them
//! (validation and privilege matching are in the security module's `privileges`).
//!
//! Parsed: `cluster`, `indices` (or `index`: `names` as a string or array, `privileges`, `query`
//! as an object or a string of JSON, `field_security`, `allow_restricted_indices`),
//! `applications`, `run_as`, `metadata`, `transient_metadata`, `restriction` (`workflows`),
//! `description`, and (kept as given) `global`, `remote_indices`, `remote_cluster`.

use serde_json::{Map, Value, json};

use crate::error::EsError;

/// One `indices` entry of a role descriptor.
#[derive(Debug, Clone, PartialEq)]
pub struct IndicesPrivileges {
    pub names: Vec<String>,
    pub privileges: Vec<String>,
    /// The document-level security query as JSON text: a query or `{"template": …}`.
    pub query: Option<String>,
    pub field_security: Option<FieldSecurity>,
    pub allow_restricted_indices: bool,
}

/// `field_security` (parsed and shown; es-sim does not filter fields).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldSecurity {
    pub grant: Option<Vec<String>>,
    pub except: Option<Vec<String>>,
}

/// A role descriptor of an API key.
#[derive(Debug, Clone, PartialEq)]
pub struct RoleDescriptor {
    pub name: String,
    pub cluster: Vec<String>,
    pub global: Option<Value>,
    pub indices: Vec<IndicesPrivileges>,
    pub applications: Vec<Value>,
    pub run_as: Vec<String>,
    pub metadata: Map<String, Value>,
    pub remote_indices: Option<Value>,
    pub remote_cluster: Option<Value>,
    /// `restriction.workflows`; `None` without a restriction (or an empty `restriction: {}`).
    pub workflows: Option<Vec<String>>,
    pub description: Option<String>,
}

/// A parse failure with its cause chain, rendered as nested `caused_by`s.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{reason}")]
pub struct ParseFailure {
    kind: &'static str,
    reason: String,
    cause: Option<Box<ParseFailure>>,
}

impl ParseFailure {
    fn parse(reason: String) -> ParseFailure {
        ParseFailure {
            kind: "parse_exception",
            reason,
            cause: None,
        }
    }

    fn caused(mut self, cause: ParseFailure) -> ParseFailure {
        self.cause = Some(Box::new(cause));
        self
    }

    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("type".into(), json!(self.kind));
        m.insert("reason".into(), json!(self.reason));
        if let Some(c) = &self.cause {
            m.insert("caused_by".into(), c.to_json());
        }
        Value::Object(m)
    }
}

type Parsed<T> = Result<T, ParseFailure>;

/// Jackson's name of the token a JSON value starts with.
pub fn token(v: &Value) -> &'static str {
    match v {
        Value::Object(_) => "START_OBJECT",
        Value::Array(_) => "START_ARRAY",
        Value::String(_) => "VALUE_STRING",
        Value::Number(_) => "VALUE_NUMBER",
        Value::Bool(_) => "VALUE_BOOLEAN",
        Value::Null => "VALUE_NULL",
    }
}

/// Parses the `role_descriptors` of a create API key request. Errors are the
/// `x_content_parse_exception` chain Elasticsearch's object parser wraps a role's
/// `parse_exception` in.
pub fn parse_role_descriptors(v: &Value) -> Result<Vec<RoleDescriptor>, EsError> {
    let field_error =
        || EsError::x_content("[1:2] [api_key_request] failed to parse field [role_descriptors]");
    let m = match v {
        Value::Null => return Ok(Vec::new()),
        Value::Object(m) => m,
        other => {
            return Err(EsError::x_content(format!(
                "[1:2] [api_key_request] role_descriptors doesn't support values of type: {}",
                token(other)
            )));
        }
    };
    let mut out = Vec::with_capacity(m.len());
    for (name, body) in m {
        let rd = parse_role(name, body).map_err(|f| {
            field_error().caused_by(json!({
                "type": "x_content_parse_exception",
                "reason": format!("[1:2] [role_descriptors] failed to parse field [{name}]"),
                "caused_by": f.to_json(),
            }))
        })?;
        out.push(rd);
    }
    Ok(out)
}

pub(crate) fn parse_role(name: &str, v: &Value) -> Parsed<RoleDescriptor> {
    let Value::Object(m) = v else {
        return Err(ParseFailure::parse(format!(
            "failed to parse role [{name}]. expected an object but found [{}] instead",
            token(v)
        )));
    };
    let mut rd = RoleDescriptor {
        name: name.to_string(),
        cluster: Vec::new(),
        global: None,
        indices: Vec::new(),
        applications: Vec::new(),
        run_as: Vec::new(),
        metadata: Map::new(),
        remote_indices: None,
        remote_cluster: None,
        workflows: None,
        description: None,
    };
    let unexpected = |field: &str| {
        ParseFailure::parse(format!(
            "failed to parse role [{name}]. unexpected field [{field}]"
        ))
    };
    for (k, v) in m {
        match k.as_str() {
            "indices" | "index" => rd.indices = parse_indices(name, k, v)?,
            "run_as" => rd.run_as = string_array(name, k, v, true)?.unwrap_or_default(),
            "cluster" => rd.cluster = string_array(name, k, v, true)?.unwrap_or_default(),
            "applications" | "application" => rd.applications = parse_applications(name, k, v)?,
            "global" => match v {
                Value::Object(_) => rd.global = Some(v.clone()),
                _ => return Err(unexpected(k)),
            },
            "metadata" => match v {
                Value::Object(o) => rd.metadata = o.clone(),
                other => {
                    return Err(ParseFailure::parse(format!(
                        "expected field [metadata] to be of type object, but found [{}] instead",
                        token(other)
                    )));
                }
            },
            "transient_metadata" => {
                if !v.is_object() {
                    return Err(unexpected(k));
                }
            }
            "remote_indices" => match v {
                Value::Array(_) => rd.remote_indices = Some(v.clone()),
                other => {
                    return Err(ParseFailure::parse(format!(
                        "failed to parse remote indices privileges for role [{name}]. expected field [{k}] value to be an array, but found [{}] instead",
                        token(other)
                    )));
                }
            },
            "remote_cluster" => match v {
                Value::Array(_) => rd.remote_cluster = Some(v.clone()),
                _ => return Err(unexpected(k)),
            },
            "restriction" => rd.workflows = parse_restriction(name, v)?,
            "description" => match v {
                Value::String(s) => rd.description = Some(s.clone()),
                Value::Null => {}
                _ => return Err(unexpected(k)),
            },
            "type" => {}
            _ => return Err(unexpected(k)),
        }
    }
    Ok(rd)
}

/// `XContentUtils.readStringArray`, re-wrapped with the role name.
fn string_array(
    role: &str,
    field: &str,
    v: &Value,
    allow_null: bool,
) -> Parsed<Option<Vec<String>>> {
    let wrap = |inner: String| {
        ParseFailure::parse(format!("failed to parse role [{role}]"))
            .caused(ParseFailure::parse(inner))
    };
    match v {
        Value::Null if allow_null => Ok(None),
        Value::Null => Err(wrap(format!(
            "could not parse [{field}] field. expected a string array but found null value instead"
        ))),
        Value::Array(a) => {
            let mut out = Vec::with_capacity(a.len());
            for x in a {
                match x {
                    Value::String(s) => out.push(s.clone()),
                    other => {
                        return Err(wrap(format!(
                            "could not parse [{field}] field. expected a string array but one of the value in the array is [{}]",
                            token(other)
                        )));
                    }
                }
            }
            Ok(Some(out))
        }
        other => Err(wrap(format!(
            "could not parse [{field}] field. expected a string array but found [{}] value instead",
            token(other)
        ))),
    }
}

fn parse_indices(role: &str, field: &str, v: &Value) -> Parsed<Vec<IndicesPrivileges>> {
    let Value::Array(a) = v else {
        return Err(ParseFailure::parse(format!(
            "failed to parse indices privileges for role [{role}]. expected field [{field}] value to be an array, but found [{}] instead",
            token(v)
        )));
    };
    a.iter().map(|e| parse_index(role, field, e)).collect()
}

fn parse_index(role: &str, field: &str, v: &Value) -> Parsed<IndicesPrivileges> {
    let fail = |msg: String| {
        ParseFailure::parse(format!(
            "failed to parse indices privileges for role [{role}]. {msg}"
        ))
    };
    let Value::Object(m) = v else {
        return Err(fail(format!(
            "expected field [{field}] value to be an array of objects, but found an array element of type [{}]",
            token(v)
        )));
    };
    let mut names = None;
    let mut privileges = None;
    let mut query = None;
    let mut field_security = None;
    let mut allow_restricted_indices = false;
    for (k, v) in m {
        match k.as_str() {
            "names" => match v {
                Value::String(s) => names = Some(vec![s.clone()]),
                Value::Array(_) => {
                    let n = string_array(role, k, v, false)?.unwrap_or_default();
                    if n.is_empty() {
                        return Err(fail(format!("[{k}] cannot be an empty array")));
                    }
                    names = Some(n);
                }
                other => {
                    return Err(fail(format!(
                        "expected field [{k}] value to be a string or an array of strings, but found [{}] instead",
                        token(other)
                    )));
                }
            },
            "allow_restricted_indices" => match v {
                Value::Bool(b) => allow_restricted_indices = *b,
                other => {
                    return Err(fail(format!(
                        "expected field [{k}] value to be a boolean, but found [{}] instead",
                        token(other)
                    )));
                }
            },
            "query" => match v {
                Value::Object(_) => query = Some(v.to_string()),
                Value::String(s) if !s.is_empty() => query = Some(s.clone()),
                Value::String(_) | Value::Null => {}
                other => {
                    return Err(fail(format!(
                        "expected field [{k}] value to be null, a string, an array, or an object, but found [{}] instead",
                        token(other)
                    )));
                }
            },
            "field_security" => field_security = Some(parse_field_security(role, v)?),
            "privileges" => privileges = string_array(role, k, v, true)?,
            "fields" => {
                return Err(ParseFailure::parse(format!(
                    "[\"fields\": [...]] format has changed for field permissions in role [{role}], use [\"field_security\": {{\"grant\":[...],\"except\":[...]}}] instead"
                )));
            }
            "transient_metadata" => {
                if !v.is_object() {
                    return Err(ParseFailure::parse(format!(
                        "failed to parse transient metadata for role [{role}]. expected START_OBJECT but got {} in \"transient_metadata\".",
                        token(v)
                    )));
                }
            }
            other => return Err(fail(format!("unexpected field [{other}]"))),
        }
    }
    let names = names.ok_or_else(|| fail("missing required [names] field".into()))?;
    let privileges =
        privileges.ok_or_else(|| fail("missing required [privileges] field".into()))?;
    if let Some(fs) = &field_security
        && fs.except.is_some()
        && fs.grant.is_none()
    {
        return Err(fail(
            "field_security requires grant if except is given".into(),
        ));
    }
    Ok(IndicesPrivileges {
        names,
        privileges,
        query,
        field_security,
        allow_restricted_indices,
    })
}

fn parse_field_security(role: &str, v: &Value) -> Parsed<FieldSecurity> {
    let fail = |msg: String| {
        ParseFailure::parse(format!(
            "failed to parse indices privileges for role [{role}]. {msg}"
        ))
    };
    let Value::Object(m) = v else {
        return Err(fail(format!(
            "expected START_OBJECT but got {} in \"field_security\".",
            token(v)
        )));
    };
    if m.is_empty() {
        return Err(fail("\"field_security\" must not be empty.".into()));
    }
    let mut fs = FieldSecurity {
        grant: None,
        except: None,
    };
    for (k, v) in m {
        let slot = match k.as_str() {
            "grant" => &mut fs.grant,
            "except" => &mut fs.except,
            other => {
                return Err(fail(format!(
                    "\"field_security\" only accepts options grant and except, but got: {other}"
                )));
            }
        };
        match string_array(role, k, v, true)? {
            Some(list) => *slot = Some(list),
            None => return Err(fail(format!("{k} must not be null."))),
        }
    }
    Ok(fs)
}

fn parse_applications(role: &str, field: &str, v: &Value) -> Parsed<Vec<Value>> {
    let fail = |msg: String| {
        ParseFailure::parse(format!(
            "failed to parse application privileges for role [{role}]. {msg}"
        ))
    };
    let Value::Array(a) = v else {
        return Err(fail(format!(
            "expected field [{field}] value to be an array, but found [{}] instead",
            token(v)
        )));
    };
    let mut out = Vec::with_capacity(a.len());
    for e in a {
        let Value::Object(m) = e else {
            return Err(fail(format!(
                "expected field [{field}] value to be an array of objects, but found an array element of type [{}]",
                token(e)
            )));
        };
        let mut app = Map::new();
        for (k, v) in m {
            match k.as_str() {
                "application" => match v {
                    Value::String(_) => {
                        app.insert(k.clone(), v.clone());
                    }
                    other => {
                        return Err(ParseFailure {
                            kind: "x_content_parse_exception",
                            reason: format!(
                                "[1:2] [application] application doesn't support values of type: {}",
                                token(other)
                            ),
                            cause: None,
                        });
                    }
                },
                "privileges" | "resources" => {
                    let list = string_array(role, k, v, false)?.unwrap_or_default();
                    app.insert(k.clone(), json!(list));
                }
                other => {
                    return Err(ParseFailure {
                        kind: "x_content_parse_exception",
                        reason: format!("[1:2] [application] unknown field [{other}]"),
                        cause: None,
                    });
                }
            }
        }
        for required in ["application", "resources", "privileges"] {
            if !app.contains_key(required) {
                return Err(fail(format!("missing required [{required}] field")));
            }
        }
        out.push(json!({
            "application": app["application"],
            "privileges": app["privileges"],
            "resources": app["resources"],
        }));
    }
    Ok(out)
}

fn parse_restriction(role: &str, v: &Value) -> Parsed<Option<Vec<String>>> {
    let fail = |msg: String| {
        ParseFailure::parse(format!(
            "failed to parse restriction for role [{role}]. {msg}"
        ))
    };
    let Value::Object(m) = v else {
        return Err(fail(format!(
            "expected an object but found [{}] instead",
            token(v)
        )));
    };
    let mut workflows = None;
    for (k, v) in m {
        if k != "workflows" {
            return Err(fail(format!("unexpected field [{k}]")));
        }
        let list = match v {
            Value::Null => {
                return Err(fail(format!(
                    "could not parse [{k}] field. expected a string array but found null value instead"
                )));
            }
            Value::Array(a) => {
                let mut out = Vec::with_capacity(a.len());
                for x in a {
                    match x {
                        Value::String(s) => out.push(s.clone()),
                        other => {
                            return Err(fail(format!(
                                "could not parse [{k}] field. expected a string array but one of the value in the array is [{}]",
                                token(other)
                            )));
                        }
                    }
                }
                out
            }
            other => {
                return Err(fail(format!(
                    "could not parse [{k}] field. expected a string array but found [{}] value instead",
                    token(other)
                )));
            }
        };
        if list.is_empty() {
            return Err(fail(format!("[{k}] cannot be an empty array")));
        }
        workflows = Some(list);
    }
    Ok(workflows)
}

// ---- rendering ----

impl RoleDescriptor {
    /// The descriptor as `GET _security/api_key` shows it (normalized, `query` as a string).
    pub fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("cluster".into(), json!(self.cluster));
        if let Some(g) = &self.global {
            m.insert("global".into(), g.clone());
        }
        let indices: Vec<Value> = self
            .indices
            .iter()
            .map(IndicesPrivileges::to_json)
            .collect();
        m.insert("indices".into(), Value::Array(indices));
        m.insert("applications".into(), json!(self.applications));
        m.insert("run_as".into(), json!(self.run_as));
        m.insert("metadata".into(), Value::Object(self.metadata.clone()));
        m.insert("transient_metadata".into(), json!({"enabled": true}));
        if let Some(r) = &self.remote_indices {
            m.insert("remote_indices".into(), r.clone());
        }
        if let Some(r) = &self.remote_cluster {
            m.insert("remote_cluster".into(), r.clone());
        }
        if let Some(w) = &self.workflows {
            m.insert("restriction".into(), json!({"workflows": w}));
        }
        if let Some(d) = &self.description {
            m.insert("description".into(), json!(d));
        }
        Value::Object(m)
    }
}

impl IndicesPrivileges {
    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("names".into(), json!(self.names));
        m.insert("privileges".into(), json!(self.privileges));
        if let Some(fs) = &self.field_security {
            let mut f = Map::new();
            if let Some(g) = &fs.grant {
                f.insert("grant".into(), json!(g));
            }
            if let Some(e) = &fs.except {
                f.insert("except".into(), json!(e));
            }
            m.insert("field_security".into(), Value::Object(f));
        }
        if let Some(q) = &self.query {
            m.insert("query".into(), json!(q));
        }
        m.insert(
            "allow_restricted_indices".into(),
            json!(self.allow_restricted_indices),
        );
        Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_one(v: Value) -> Result<RoleDescriptor, ParseFailure> {
        parse_role("r", &v)
    }

    #[test]
    fn parses_and_renders() {
        let rd = parse_one(json!({
            "cluster": ["monitor"],
            "index": [{"names": "idx-*", "privileges": ["read"], "query": {"term": {"a": 1}},
                       "field_security": {"grant": ["*"], "except": ["secret"]}}],
            "restriction": {"workflows": ["search_application_query"]},
            "metadata": {"k": 1}
        }))
        .unwrap();
        assert_eq!(rd.indices[0].names, vec!["idx-*"]);
        assert_eq!(rd.indices[0].query.as_deref(), Some(r#"{"term":{"a":1}}"#));
        let j = rd.to_json();
        assert_eq!(j["indices"][0]["query"], r#"{"term":{"a":1}}"#);
        assert_eq!(j["indices"][0]["allow_restricted_indices"], false);
        assert_eq!(j["restriction"]["workflows"][0], "search_application_query");
        assert_eq!(j["transient_metadata"], json!({"enabled": true}));
    }

    #[test]
    fn parse_errors_name_the_role_and_field() {
        let e =
            parse_one(json!({"indices": [{"names": ["a"], "privileges": ["read"], "bogus": 1}]}))
                .unwrap_err();
        assert_eq!(
            e.reason,
            "failed to parse indices privileges for role [r]. unexpected field [bogus]"
        );
        let e = parse_one(json!({"clusterz": []})).unwrap_err();
        assert_eq!(
            e.reason,
            "failed to parse role [r]. unexpected field [clusterz]"
        );
        let e = parse_one(json!({"indices": [{"privileges": ["read"]}]})).unwrap_err();
        assert!(e.reason.ends_with("missing required [names] field"));
        let e = parse_one(json!({"cluster": "all"})).unwrap_err();
        assert_eq!(e.reason, "failed to parse role [r]");
        assert_eq!(
            e.to_json()["caused_by"]["reason"],
            "could not parse [cluster] field. expected a string array but found [VALUE_STRING] value instead"
        );
        let e = parse_one(json!({"restriction": {"workflows": []}})).unwrap_err();
        assert_eq!(
            e.reason,
            "failed to parse restriction for role [r]. [workflows] cannot be an empty array"
        );
        let e = parse_one(json!({"indices": [{"names": [], "privileges": []}]})).unwrap_err();
        assert!(e.reason.ends_with("[names] cannot be an empty array"));
    }
}
