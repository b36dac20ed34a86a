//! The connector's configuration: the reference's schema, and its `validate_config` checks in
//! the reference's order and words, then this source's own (cursor pagination that cannot
//! work, headers that cannot be sent). The result is a [`Plan`]: what every request needs.

use std::sync::LazyLock;
use std::time::Duration;

use base64::Engine as _;
use connectors_protocol::{
    ConfigField, Configuration, Dependency, Display, FieldType, SelectOption,
};
use connectors_sdk::{Fields, SourceError};
use regex::Regex;
use reqwest::Url;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use serde_json::{Map, Value, json};

use super::client::{Client, Method};
use super::pyjson;
use super::query::Query;
use crate::http::Retry;
use crate::python::json_str;

pub const NO_PAGINATION: &str = "no_pagination";
pub const CURSOR_PAGINATION: &str = "cursor_pagination";

/// The reference's `URL_REGEX` (the host needs a dot: `localhost` is refused). Python's `$` also
/// matches before a final newline.
static URL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(
        r"^https?://(?:www\.)?[-a-zA-Z0-9@:%._+~#=]{1,256}\.[a-zA-Z0-9()]{1,6}\b(?:[-a-zA-Z0-9()@:%_+.~#?&/=]*)\n?$",
    )
    .ok()
});

/// The reference's `get_default_configuration`.
pub fn default_configuration() -> Configuration {
    let field = |label: &str, order: i64| {
        let mut f = ConfigField::new(label);
        f.order = order;
        f
    };
    let options = |pairs: &[(&str, &str)]| -> Vec<SelectOption> {
        pairs
            .iter()
            .map(|(label, value)| SelectOption {
                label: (*label).into(),
                value: json!(value),
            })
            .collect()
    };
    let depends = |field: &str, value: &str| {
        vec![Dependency {
            field: field.into(),
            value: json!(value),
        }]
    };
    let mut method = field("HTTP method for GraphQL requests", 2);
    method.display = Display::Dropdown;
    method.options = options(&[("GET", "get"), ("POST", "post")]);
    method.value = json!("post");
    let mut auth = field("Authentication Method", 3);
    auth.display = Display::Dropdown;
    auth.options = options(&[
        ("No Auth", "none"),
        ("Basic Auth", "basic"),
        ("Bearer Token", "bearer"),
    ]);
    auth.value = json!("none");
    let mut username = field("Username", 4);
    username.depends_on = depends("authentication_method", "basic");
    let mut password = field("Password", 5);
    password.depends_on = depends("authentication_method", "basic");
    password.sensitive = true;
    let mut token = field("Bearer Token", 6);
    token.depends_on = depends("authentication_method", "bearer");
    token.sensitive = true;
    let mut query = field("GraphQL Body", 7);
    query.display = Display::Textarea;
    let mut variables = field("Graphql Variables", 8);
    variables.depends_on = depends("http_method", "post");
    variables.display = Display::Textarea;
    variables.required = false;
    let mut id_map = field("GraphQL Objects to ID mapping", 9);
    id_map.display = Display::Textarea;
    id_map.tooltip = Some("Specifies which GraphQL objects should be indexed as individual documents. This allows finer control over indexing, ensuring only relevant data sections from the GraphQL response are stored as separate documents. Use a JSON with key as the GraphQL object name and value as string field within the document, with the requirement that each document must have a distinct value for this field. Use '.' to provide full path of the object from the root of the response. For example {'organization.users.nodes': 'id'}".into());
    let mut headers = field("Headers", 10);
    headers.required = false;
    let mut model = field("Pagination model", 11);
    model.display = Display::Dropdown;
    model.options = options(&[
        ("No pagination", NO_PAGINATION),
        ("Cursor-based pagination", CURSOR_PAGINATION),
    ]);
    model.tooltip = Some("For cursor-based pagination, add 'pageInfo' and an 'after' argument variable in your query at the desired node (Pagination key). Use 'after' query argument with a variable to iterate through pages. Detailed examples and setup instructions are available in the docs.".into());
    model.value = json!(NO_PAGINATION);
    let mut key = field("Pagination key", 12);
    key.depends_on = depends("pagination_model", CURSOR_PAGINATION);
    key.tooltip = Some("Specifies which GraphQL object is used for pagination. Use '.' to provide full path of the object from the root of the response. For example 'organization.users'".into());
    let mut timeout = field("Connection Timeout", 13);
    timeout.default_value = json!(300);
    timeout.display = Display::Numeric;
    timeout.required = false;
    timeout.field_type = FieldType::Int;
    timeout.ui_restrictions = vec!["advanced".into()];
    Configuration::from([
        (
            "http_endpoint".to_string(),
            field("GraphQL HTTP endpoint", 1),
        ),
        ("http_method".to_string(), method),
        ("authentication_method".to_string(), auth),
        ("username".to_string(), username),
        ("password".to_string(), password),
        ("token".to_string(), token),
        ("graphql_query".to_string(), query),
        ("graphql_variables".to_string(), variables),
        ("graphql_object_to_id_map".to_string(), id_map),
        ("headers".to_string(), headers),
        ("pagination_model".to_string(), model),
        ("pagination_key".to_string(), key),
        ("connection_timeout".to_string(), timeout),
    ])
}

/// The configuration's values, as the reference's client reads them (not trimmed).
pub struct Settings {
    endpoint: String,
    method: String,
    auth: String,
    username: String,
    password: String,
    token: String,
    query: String,
    variables: String,
    id_map: String,
    headers: String,
    pagination_model: String,
    pagination_key: String,
    timeout_secs: i64,
}

impl Settings {
    pub fn read(configuration: &Configuration) -> Result<Settings, SourceError> {
        let f = Fields(configuration);
        Ok(Settings {
            endpoint: f.raw_text("http_endpoint"),
            method: f.raw_text("http_method"),
            auth: f.raw_text("authentication_method"),
            username: f.raw_text("username"),
            password: f.raw_text("password"),
            token: f.raw_text("token"),
            query: f.raw_text("graphql_query"),
            variables: f.raw_text("graphql_variables"),
            id_map: f.raw_text("graphql_object_to_id_map"),
            headers: f.raw_text("headers"),
            pagination_model: f.raw_text("pagination_model"),
            pagination_key: f.raw_text("pagination_key"),
            timeout_secs: f.int("connection_timeout", 300)?,
        })
    }
}

/// Cursor pagination: where `pageInfo` is in the answer, and the variable of its `after`.
#[derive(Debug, Clone)]
pub struct Pagination {
    pub path: Vec<String>,
    pub variable: String,
}

/// A validated configuration.
pub struct Plan {
    pub client: Client,
    pub query: String,
    /// The configured variables (`{}` when none).
    pub variables: Map<String, Value>,
    /// Objects to index: dotted path in `data`, and the field holding their `_id`.
    pub objects: Vec<(String, String)>,
    pub pagination: Option<Pagination>,
}

fn json_field(text: &str, field: &str, what: &str) -> Result<Option<Value>, SourceError> {
    if text.is_empty() {
        return Ok(None);
    }
    let invalid = |e: String| {
        SourceError::config(
            field,
            format!("GraphQL {what} must be in valid JSON format. Exception: {e}"),
        )
    };
    if let Some(e) = pyjson::loads_error(text) {
        return Err(invalid(e));
    }
    serde_json::from_str(text)
        .map(Some)
        .map_err(|e| invalid(e.to_string()))
}

impl Settings {
    /// The reference's `validate_config` (after the field checks the engine has done), then
    /// this source's own checks; the plan of a valid configuration.
    pub fn plan(&self, retry: Retry) -> Result<Plan, SourceError> {
        let endpoint = "http_endpoint";
        let invalid_url =
            || SourceError::config(endpoint, "GraphQL HTTP endpoint is not a valid URL.");
        if !URL.as_ref().is_some_and(|r| r.is_match(&self.endpoint)) {
            return Err(invalid_url());
        }
        let url = Url::parse(self.endpoint.trim()).map_err(|_| invalid_url())?;
        let query = Query::parse(&self.query).map_err(|e| {
            SourceError::config(
                "graphql_query",
                format!("Failed to parse GraphQL query. Error: {e}"),
            )
        })?;
        if !query.is_query() {
            return Err(SourceError::config(
                "graphql_query",
                "The configured query is either invalid or a mutation which is not supported by the connector.",
            ));
        }
        let headers = json_field(&self.headers, "headers", "Headers")?;
        let variables = json_field(&self.variables, "graphql_variables", "Variables")?;
        let Some(id_map) = json_field(
            &self.id_map,
            "graphql_object_to_id_map",
            "Objects to ID mapping",
        )?
        else {
            return Err(SourceError::config(
                "graphql_object_to_id_map",
                "GraphQL Objects to ID mapping field is not configured.",
            ));
        };
        let Value::Object(id_map) = id_map else {
            return Err(SourceError::config(
                "graphql_object_to_id_map",
                "GraphQL Objects to ID mapping must be a JSON object, for example {\"organization.users.nodes\": \"id\"}.",
            ));
        };
        let mut objects = Vec::with_capacity(id_map.len());
        for (path, id_field) in &id_map {
            let (object_present, id_present) = query.field_exists(path, id_field.as_str());
            let fail = |m: String| SourceError::config("graphql_object_to_id_map", m);
            if !object_present {
                return Err(fail(format!("{path} is not present in the query.")));
            }
            match id_field.as_str() {
                Some(id) if id_present => objects.push((path.clone(), id.to_string())),
                _ => {
                    return Err(fail(format!(
                        "{} is not present in the query.",
                        json_str(id_field)
                    )));
                }
            }
        }
        let cursor_pagination = match self.pagination_model.as_str() {
            CURSOR_PAGINATION => {
                if !query.field_exists(&self.pagination_key, None).0 {
                    return Err(SourceError::config(
                        "pagination_key",
                        format!("{} is not present in the query.", self.pagination_key),
                    ));
                }
                true
            }
            NO_PAGINATION => false,
            other => {
                return Err(SourceError::config(
                    "pagination_model",
                    format!(
                        "Pagination model '{other}' is not supported: use '{NO_PAGINATION}' or '{CURSOR_PAGINATION}'."
                    ),
                ));
            }
        };
        let method = if self.method == "get" {
            Method::Get
        } else {
            Method::Post
        };
        let pagination = if cursor_pagination {
            Some(self.pagination(&query, method)?)
        } else {
            None
        };
        let variables = match variables {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) => m,
            Some(_) => {
                return Err(SourceError::config(
                    "graphql_variables",
                    "GraphQL Variables must be a JSON object of variable names and values.",
                ));
            }
        };
        let headers = self.headers(headers)?;
        let timeout = u64::try_from(self.timeout_secs)
            .ok()
            .filter(|s| *s > 0)
            .map(Duration::from_secs);
        Ok(Plan {
            client: Client::new(url, method, headers, timeout, retry)?,
            query: self.query.clone(),
            variables,
            objects,
            pagination,
        })
    }

    /// The reference's `validate_paginated_query` (which it runs when the sync starts), and
    /// what would make cursor pagination loop or fail half-way: a literal `after` argument,
    /// and GET, which sends no variables.
    fn pagination(&self, query: &Query<'_>, method: Method) -> Result<Pagination, SourceError> {
        let object = self.pagination_key.rsplit('.').next().unwrap_or("");
        let arguments = query.field_arguments();
        let fail = |m: String| SourceError::config("pagination_key", m);
        let has_after = arguments
            .names
            .get(object)
            .is_some_and(|names| names.iter().any(|n| n == "after"));
        if !has_after || !arguments.names.contains_key("pageInfo") {
            return Err(fail(format!(
                "Pagination is enabled but 'pageInfo' not found. Please include 'pageInfo' field inside '{object}' and 'after' argument in '{object}'."
            )));
        }
        let Some(variable) = arguments.variables.get(object).and_then(|v| v.get("after")) else {
            return Err(fail(format!(
                "Pagination is enabled but the 'after' argument of '{object}' is a literal value: give it a variable, for example '{object}(after: $cursor)', so that each request can ask for the page after the last one."
            )));
        };
        if method == Method::Get {
            return Err(SourceError::config(
                "http_method",
                "Cursor-based pagination needs the POST method: a GET request sends only the query, not its variables, so the 'after' cursor would never reach the server and the first page would be read again and again.",
            ));
        }
        Ok(Pagination {
            path: self.pagination_key.split('.').map(str::to_string).collect(),
            variable: variable.clone(),
        })
    }

    /// The configured headers, then the credentials (a Bearer token replaces an
    /// `Authorization` header; Basic credentials are Latin-1, as aiohttp encodes them).
    fn headers(&self, configured: Option<Value>) -> Result<HeaderMap, SourceError> {
        let mut map = HeaderMap::new();
        let fail = |m: String| SourceError::config("headers", m);
        match configured {
            None | Some(Value::Null) => {}
            Some(Value::Object(pairs)) => {
                for (name, value) in pairs {
                    let header = HeaderName::from_bytes(name.as_bytes()).map_err(|_| {
                        fail(format!(
                            "GraphQL Headers: '{name}' is not a valid header name."
                        ))
                    })?;
                    let value = value
                        .as_str()
                        .and_then(|v| HeaderValue::from_bytes(v.as_bytes()).ok())
                        .ok_or_else(|| {
                            fail(format!(
                                "GraphQL Headers: the value of '{name}' must be a string without line breaks."
                            ))
                        })?;
                    map.insert(header, value);
                }
            }
            Some(_) => {
                return Err(fail(
                    "GraphQL Headers must be a JSON object of header names and values.".into(),
                ));
            }
        }
        let credentials = match self.auth.as_str() {
            "bearer" => Some(
                HeaderValue::from_bytes(format!("Bearer {}", self.token).as_bytes()).map_err(
                    |_| {
                        SourceError::config(
                            "token",
                            "The bearer token has characters that cannot be sent in an HTTP header.",
                        )
                    },
                )?,
            ),
            "basic" => {
                let pair = format!("{}:{}", self.username, self.password);
                let latin1: Option<Vec<u8>> =
                    pair.chars().map(|c| u8::try_from(u32::from(c)).ok()).collect();
                let latin1 = latin1.ok_or_else(|| {
                    SourceError::config(
                        "username",
                        "Basic Auth credentials must be Latin-1 text (as the reference encodes them).",
                    )
                })?;
                let encoded = base64::engine::general_purpose::STANDARD.encode(latin1);
                HeaderValue::from_str(&format!("Basic {encoded}")).ok()
            }
            _ => None,
        };
        if let Some(mut value) = credentials {
            value.set_sensitive(true);
            map.insert(AUTHORIZATION, value);
        }
        Ok(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_as_the_reference_s_pattern() {
        let ok = |u: &str| URL.as_ref().unwrap().is_match(u);
        assert!(ok("http://127.0.0.1:9094/graphql"));
        assert!(ok("https://api.github.com/graphql"));
        assert!(ok("http://host.docker.internal:4000/graphql"));
        assert!(ok("https://example.com/graphql?key=1&x=y"));
        assert!(ok("https://example.com/graphql\n"), "Python's $");
        assert!(!ok("http://localhost:4000/graphql"));
        assert!(!ok("http://graphql:4000/graphql"));
        assert!(!ok("dummy_url"));
        assert!(!ok("http://exa mple.com/graphql"));
        assert!(!ok("HTTP://example.com/graphql"));
        assert!(!ok("ftp://example.com/graphql"));
    }
}
