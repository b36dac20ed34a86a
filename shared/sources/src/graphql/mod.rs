//! `graphql`: the objects a GraphQL query returns, with the reference's configuration schema,
//! validation messages and documents. The configured query runs against the endpoint (POST
//! `{"query", "variables"}`, or GET `?query=`); each object at a path of
//! `graphql_object_to_id_map` (`{"organization.users.nodes": "id"}`: a dotted path of response
//! keys from `data`, and the object's field that holds its id) becomes a document: the whole
//! object as the server returned it, keys in its order, plus `_id` (the raw value of that
//! top-level field; it must be a string, else the sync fails with `<value> is not a string.`,
//! and objects without one are skipped with a warning) and `_timestamp` (the time of the read).
//!
//! Cursor-based pagination (`pagination_model` `cursor_pagination`): the query passes a variable
//! to the `after` argument of the field at `pagination_key` and selects its
//! `pageInfo { hasNextPage endCursor }`; each request sends the previous page's `endCursor` in
//! that variable until `hasNextPage` is false.
//!
//! Better than the reference:
//! - a GraphQL page is a page of this source: its cursor (the `endCursor` and the variable's
//!   name) is the listing's cursor, so a slice can stop after any GraphQL page and the sync
//!   resumes there, in another process;
//! - cursor pagination over GET fails validation with a message saying why: GET sends only the
//!   query, so the reference asks for the first page again and again, forever; a server that
//!   answers the same `endCursor` twice stops the sync instead of looping;
//! - an `after` argument given a literal fails validation with a message (the reference raises
//!   `KeyError: 'after'` when the sync starts), and its pagination checks run at validation
//!   rather than when the sync starts;
//! - a 401 and GraphQL `errors` are not retried (the reference tries them three times): they
//!   are deterministic; an error status whose body holds GraphQL `errors` reports them;
//! - the endpoint's query string, and credentials, never appear in messages or logs.
//!
//! Deviations, where the reference fails with a Python error: list elements that are not
//! objects are skipped with a warning (`AttributeError`), a fragment before the query and
//! fragments inside the mapped paths are not looked into (`AttributeError`), headers, variables
//! and the mapping must be JSON objects, and an unknown pagination model is refused (the
//! reference syncs nothing and so deletes every document). Within one GraphQL page, an error
//! fails the page before any of its documents is sent.

mod client;
mod config;
mod pyjson;
mod query;

use std::sync::OnceLock;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use connectors_protocol::Configuration;
use connectors_sdk::{
    DataSource, Page, PageRequest, SourceDescriptor, SourceDocument, SourceError, SourceItem,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tracing::{debug, warn};

pub use self::client::UNAUTHORIZED;
use self::client::truthy;
use self::config::{Plan, Settings};
use crate::http::Retry;
use crate::python::{isoformat, json_str};

/// The reference's `PING_QUERY`: the query type's name, by introspection.
pub const PING_QUERY: &str = "\n{\n  __schema {\n    queryType {\n      name\n    }\n  }\n}\n";

/// The `graphql` source.
#[derive(Debug, Clone, Copy)]
pub struct GraphQlSource {
    /// The wait before the second attempt of a throttled or failed request (doubled before the
    /// third); the reference's 2 s by default.
    pub first_backoff: Duration,
}

impl Default for GraphQlSource {
    fn default() -> Self {
        GraphQlSource {
            first_backoff: client::RETRY.first_backoff,
        }
    }
}

impl SourceDescriptor for GraphQlSource {
    fn service_type(&self) -> &'static str {
        "graphql"
    }

    fn name(&self) -> &'static str {
        "GraphQL"
    }

    fn default_configuration(&self) -> Configuration {
        config::default_configuration()
    }

    fn build(&self, configuration: &Configuration) -> Result<Box<dyn DataSource>, SourceError> {
        Ok(Box::new(GraphQl {
            settings: Settings::read(configuration)?,
            retry: Retry {
                first_backoff: self.first_backoff,
                ..client::RETRY
            },
            plan: OnceLock::new(),
        }))
    }
}

struct GraphQl {
    settings: Settings,
    retry: Retry,
    /// The validated configuration, made once per source.
    plan: OnceLock<Result<Plan, SourceError>>,
}

/// The listing's cursor: the page after `after`, sent in `variable`.
#[derive(Debug, Serialize, Deserialize)]
struct PageCursor {
    variable: String,
    after: Value,
}

impl GraphQl {
    fn plan(&self) -> Result<&Plan, SourceError> {
        self.plan
            .get_or_init(|| self.settings.plan(self.retry))
            .as_ref()
            .map_err(Clone::clone)
    }
}

#[async_trait]
impl DataSource for GraphQl {
    async fn validate_config(&self) -> Result<(), SourceError> {
        self.plan().map(|_| ())
    }

    async fn ping(&self) -> Result<(), SourceError> {
        let plan = self.plan()?;
        match plan.client.request(PING_QUERY, &plan.variables).await {
            Ok(_) => {
                debug!(endpoint = %plan.client.label(), "Successfully connected to GraphQL Instance.");
                Ok(())
            }
            Err(e) => {
                warn!(endpoint = %plan.client.label(), error = %e, "Error while connecting to GraphQL Instance.");
                Err(e)
            }
        }
    }

    async fn fetch_page(&self, request: PageRequest<'_>) -> Result<Page, SourceError> {
        let plan = self.plan()?;
        let Some(pagination) = &plan.pagination else {
            if request.cursor.is_some() {
                return Err(SourceError::Cursor(
                    "this connector does not paginate, but the sync resumes after a page".into(),
                ));
            }
            let data = plan.client.request(&plan.query, &plan.variables).await?;
            return Ok(Page {
                items: documents(data, &plan.objects)?,
                next: None,
                sync_cursor: None,
            });
        };
        let mut variables = plan.variables.clone();
        let previous = match request.cursor {
            None => None,
            Some(raw) => {
                let c: PageCursor = serde_json::from_value(raw.clone())
                    .map_err(|e| SourceError::Cursor(e.to_string()))?;
                variables.insert(c.variable, c.after.clone());
                Some(c.after)
            }
        };
        debug!(endpoint = %plan.client.label(), after = previous.is_some(), "fetching a GraphQL page");
        let data = plan.client.request(&plan.query, &variables).await?;
        let (has_next, end_cursor) = page_info(&data, &pagination.path)?;
        let next = if truthy(&has_next) && truthy(&end_cursor) {
            if previous.as_ref() == Some(&end_cursor) {
                return Err(SourceError::Other(format!(
                    "Pagination does not advance: the page after endCursor {} has the same endCursor. Stopping, as the next request would read the same page again.",
                    json_str(&end_cursor)
                )));
            }
            Some(serde_json::json!(PageCursor {
                variable: pagination.variable.clone(),
                after: end_cursor,
            }))
        } else {
            None
        };
        Ok(Page {
            items: documents(data, &plan.objects)?,
            next,
            sync_cursor: None,
        })
    }
}

/// The reference's `extract_pagination_info`: `(hasNextPage, endCursor)` of the object at
/// `path`.
fn page_info(data: &Value, path: &[String]) -> Result<(Value, Value), SourceError> {
    let fail = |m: String| SourceError::config("pagination_key", m);
    let mut current = data;
    for key in path {
        let Value::Object(map) = current else {
            return Err(fail("Found list while processing Pagination key. Please check the query and provide path upto dictionary.".into()));
        };
        current = map.get(key).ok_or_else(|| {
            fail(format!(
                "Pagination key: {key} not found in the response. Please check the query."
            ))
        })?;
    }
    match current.get("pageInfo") {
        Some(Value::Object(info))
            if !info.is_empty()
                && info.contains_key("hasNextPage")
                && info.contains_key("endCursor") =>
        {
            Ok((info["hasNextPage"].clone(), info["endCursor"].clone()))
        }
        _ => Err(fail("Pagination is enabled but the query is missing 'pageInfo'. Please include 'pageInfo { hasNextPage endCursor }' in the query to support pagination.".into())),
    }
}

/// The documents of one answer, for every mapped path in order (the reference's
/// `extract_graphql_data_items` and `get_docs`).
fn documents(
    mut data: Value,
    objects: &[(String, String)],
) -> Result<Vec<SourceItem>, SourceError> {
    let now = Value::String(isoformat(Utc::now()));
    let mut items = Vec::new();
    for (path, id_field) in objects {
        for mut doc in extract(&mut data, path, id_field)? {
            match doc.get("_id").unwrap_or(&Value::Null) {
                Value::String(s) if !s.is_empty() => {
                    doc.insert("_timestamp".into(), now.clone());
                    items.push(SourceItem::Upsert(SourceDocument::new(doc)));
                }
                id if truthy(id) => {
                    return Err(SourceError::config(
                        "graphql_object_to_id_map",
                        format!("{} is not a string.", json_str(id)),
                    ));
                }
                _ => {
                    warn!(object = %path, id_field = %id_field, "Skipping a document, because connector does not find configured unique field.");
                }
            }
        }
    }
    Ok(items)
}

/// The objects at `path` in `data` (one object, or the objects of a list), each given its
/// `_id` in place, as the reference does (so an object mapped later sees the `_id`s of objects
/// inside it that were mapped before), and copied.
fn extract(
    data: &mut Value,
    path: &str,
    id_field: &str,
) -> Result<Vec<Map<String, Value>>, SourceError> {
    let fail = |m: String| SourceError::config("graphql_object_to_id_map", m);
    let mut current = data;
    for key in path.split('.') {
        let Value::Object(map) = current else {
            return Err(fail("Found list while processing GraphQL Objects List. Please check the query and provide path upto dictionary.".into()));
        };
        current = map.get_mut(key).ok_or_else(|| {
            fail(format!(
                "{key} not found in the response. Please check the query."
            ))
        })?;
    }
    let with_id = |map: &mut Map<String, Value>| {
        let id = map.get(id_field).cloned().unwrap_or(Value::Null);
        map.insert("_id".into(), id);
        map.clone()
    };
    Ok(match current {
        Value::Object(map) if !map.is_empty() => vec![with_id(map)],
        Value::Array(list) => {
            let mut docs = Vec::with_capacity(list.len());
            for element in list {
                match element {
                    Value::Object(map) => docs.push(with_id(map)),
                    _ => warn!(object = %path, "Skipping an element that is not an object."),
                }
            }
            docs
        }
        _ => Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(items: &[SourceItem]) -> Vec<Value> {
        items
            .iter()
            .map(|i| {
                let mut d = i.to_document().unwrap().fields;
                assert!(d.shift_remove("_timestamp").is_some());
                Value::Object(d)
            })
            .collect()
    }

    #[test]
    fn documents_as_the_reference_writes_them() {
        let objects = |path: &str| vec![(path.to_string(), "id".to_string())];
        let data = json!({"empData": {"basicInfo": {"name": "xyz", "id": "abc#123"}}});
        let docs = documents(data, &objects("empData.basicInfo")).unwrap();
        assert_eq!(
            fields(&docs),
            [json!({"name": "xyz", "id": "abc#123", "_id": "abc#123"})]
        );
        let keys: Vec<String> = docs[0]
            .to_document()
            .unwrap()
            .fields
            .keys()
            .cloned()
            .collect();
        assert_eq!(keys, ["name", "id", "_id", "_timestamp"]);

        let data = json!({"users": [{"id": "1", "name": {"firstName": "xyz"}}, 5, {"id": null}, {"_id": "x", "id": "2"}]});
        assert_eq!(
            fields(&documents(data, &objects("users")).unwrap()),
            [
                json!({"id": "1", "name": {"firstName": "xyz"}, "_id": "1"}),
                json!({"_id": "2", "id": "2"})
            ]
        );

        let err =
            |data: Value, path: &str| documents(data, &objects(path)).unwrap_err().to_string();
        assert_eq!(
            err(json!({"users": []}), "user"),
            "user not found in the response. Please check the query."
        );
        assert_eq!(
            err(json!({"users": [{"a": {}}]}), "users.a"),
            "Found list while processing GraphQL Objects List. Please check the query and provide path upto dictionary."
        );
        assert_eq!(
            err(Value::Null, "users"),
            "Found list while processing GraphQL Objects List. Please check the query and provide path upto dictionary."
        );
        assert_eq!(
            err(json!({"u": {"id": {"sys_id": 1}}}), "u"),
            "{'sys_id': 1} is not a string."
        );
        assert_eq!(err(json!({"u": [{"id": 5}]}), "u"), "5 is not a string.");
        assert!(
            documents(json!({"u": {}}), &objects("u"))
                .unwrap()
                .is_empty()
        );
        assert!(
            documents(json!({"u": "text"}), &objects("u"))
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn objects_mapped_later_see_the_ids_set_before() {
        let data = json!({"org": {"id": "o", "users": {"nodes": [{"id": "u"}]}}});
        let objects = vec![
            ("org.users.nodes".to_string(), "id".to_string()),
            ("org".to_string(), "id".to_string()),
        ];
        let docs = fields(&documents(data, &objects).unwrap());
        assert_eq!(
            docs[1],
            json!({"id": "o", "users": {"nodes": [{"id": "u", "_id": "u"}]}, "_id": "o"})
        );
    }

    #[test]
    fn page_info_as_the_reference_reads_it() {
        let path = vec!["users".to_string()];
        let data = json!({"users": {"pageInfo": {"hasNextPage": true, "endCursor": "xyz#123"}}});
        assert_eq!(
            page_info(&data, &path).unwrap(),
            (json!(true), json!("xyz#123"))
        );
        for (data, message) in [
            (
                json!({"user": {}}),
                "Pagination key: users not found in the response. Please check the query.",
            ),
            (
                Value::Null,
                "Found list while processing Pagination key. Please check the query and provide path upto dictionary.",
            ),
            (
                json!({"users": {"pageInfo": {"hasNextPage": true}}}),
                "Pagination is enabled but the query is missing 'pageInfo'. Please include 'pageInfo { hasNextPage endCursor }' in the query to support pagination.",
            ),
            (
                json!({"users": {"nodes": []}}),
                "Pagination is enabled but the query is missing 'pageInfo'. Please include 'pageInfo { hasNextPage endCursor }' in the query to support pagination.",
            ),
        ] {
            assert_eq!(page_info(&data, &path).unwrap_err().to_string(), message);
        }
    }
}
