//! The connector APIs (`_connector`): list, get, put, check-in, the partial updates, delete; and
//! the connector secrets (`_connector/_secret`).

use connectors_protocol::{
    AdvancedSnippet, BasicRule, Configuration, Connector, ConnectorStatus, Features,
    FilteringEntry, FilteringValidation, Pipeline, Scheduling, SyncStatus, Timestamp,
};
use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::client::{EsClient, UrlExt, json_body};
use crate::error::EsError;

/// The connector APIs: `client.connectors()`.
#[derive(Debug, Clone, Copy)]
pub struct Connectors<'a> {
    client: &'a EsClient,
}

/// Connector secrets: `client.secrets()`.
#[derive(Debug, Clone, Copy)]
pub struct Secrets<'a> {
    client: &'a EsClient,
}

/// `{"count", "results"}` of the list APIs.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ListResponse<T> {
    pub count: u64,
    pub results: Vec<T>,
}

/// Filters and paging of `GET _connector`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectorListParams {
    /// `from` (Elasticsearch default 0).
    pub from: Option<u64>,
    /// `size` (Elasticsearch default 100).
    pub size: Option<u64>,
    /// Exact `index_name`s (any of).
    pub index_names: Vec<String>,
    /// Exact `name`s (any of).
    pub connector_names: Vec<String>,
    /// Exact `service_type`s (any of).
    pub service_types: Vec<String>,
    /// A `*q*` wildcard over index_name, name and description.
    pub query: Option<String>,
    /// Include soft-deleted connectors (9.x).
    pub include_deleted: bool,
}

/// The optional body of `PUT _connector/{id}` / `POST _connector`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NewConnector {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_native: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_type: Option<String>,
}

/// The answer to a connector create/replace.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct PutConnectorResponse {
    /// `created` or `updated` (an existing id is replaced by a fresh document).
    pub result: String,
    pub id: String,
}

/// A `PUT _connector/{id}/_configuration` body.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigurationUpdate {
    /// `{"configuration": {...}}`: replaces the whole schema.
    Schema(Configuration),
    /// `{"values": {k: v}}`: sets `configuration.<k>.value` of existing keys.
    Values(Map<String, Value>),
}

/// Options of `DELETE _connector/{id}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeleteConnectorOptions {
    /// `hard=true` (9.x): remove the document instead of setting `deleted: true`.
    pub hard: bool,
    /// `delete_sync_jobs=true`: also delete the connector's sync jobs.
    pub delete_sync_jobs: bool,
}

/// The body of `PUT _connector/{id}/_last_sync`: every field is optional; `None` leaves a field
/// alone. The error fields take `Some(None)` to write `null`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct LastSyncUpdate {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_access_control_sync_error: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_access_control_sync_scheduled_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_access_control_sync_status: Option<SyncStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_deleted_document_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_incremental_sync_scheduled_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_indexed_document_count: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_sync_error: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_sync_scheduled_at: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_sync_status: Option<SyncStatus>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_synced: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_cursor: Option<Value>,
}

/// A connector secret (`value` is redacted in `Debug`).
#[derive(Clone, PartialEq, Eq, Deserialize)]
pub struct Secret {
    pub id: String,
    pub value: String,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secret")
            .field("id", &self.id)
            .field("value", &"<redacted>")
            .finish()
    }
}

#[derive(Deserialize)]
pub(crate) struct IdResponse {
    pub id: String,
}

/// Mutations answer `{"result": "updated"}` (or `{}`); nothing in it is needed.
#[derive(Deserialize)]
pub(crate) struct Ignored {}

#[derive(Deserialize)]
struct Acknowledged {
    #[serde(default)]
    acknowledged: bool,
    #[serde(default)]
    deleted: bool,
}

pub(crate) fn require(what: &str, id: &str) -> Result<(), EsError> {
    if id.is_empty() {
        Err(EsError::InvalidRequest(format!("{what} must not be empty")))
    } else {
        Ok(())
    }
}

pub(crate) fn join(values: &[String]) -> Option<String> {
    (!values.is_empty()).then(|| values.join(","))
}

impl EsClient {
    pub fn connectors(&self) -> Connectors<'_> {
        Connectors { client: self }
    }

    pub fn secrets(&self) -> Secrets<'_> {
        Secrets { client: self }
    }
}

impl Connectors<'_> {
    /// `GET _connector`: connectors sorted by `index_name`, with the total `count`.
    pub async fn list(
        &self,
        params: &ConnectorListParams,
    ) -> Result<ListResponse<Connector>, EsError> {
        let url = self
            .client
            .url(&["_connector"])
            .param_opt("from", params.from.map(|n| n.to_string()))
            .param_opt("size", params.size.map(|n| n.to_string()))
            .param_opt("index_name", join(&params.index_names))
            .param_opt("connector_name", join(&params.connector_names))
            .param_opt("service_type", join(&params.service_types))
            .param_opt("query", params.query.as_deref())
            .flag("include_deleted", params.include_deleted);
        self.client.request(Method::GET, url, None).await
    }

    /// `GET _connector/{id}`: the connector with `id` set. Missing (or soft-deleted without
    /// `include_deleted`) is a 404 error.
    pub async fn get(&self, id: &str, include_deleted: bool) -> Result<Connector, EsError> {
        require("a connector id", id)?;
        let url = self
            .client
            .url(&["_connector", id])
            .flag("include_deleted", include_deleted);
        self.client.request(Method::GET, url, None).await
    }

    /// `PUT _connector/{id}` (or `POST _connector` with `id: None`, which generates an id):
    /// creates a connector, or replaces an existing id with a fresh default document.
    pub async fn put(
        &self,
        id: Option<&str>,
        body: &NewConnector,
    ) -> Result<PutConnectorResponse, EsError> {
        let (method, url) = match id {
            Some(id) => {
                require("a connector id", id)?;
                (Method::PUT, self.client.url(&["_connector", id]))
            }
            None => (Method::POST, self.client.url(&["_connector"])),
        };
        self.client
            .request(method, url, Some(json_body(body)?))
            .await
    }

    /// `DELETE _connector/{id}`: soft delete on 9.x unless `hard`.
    pub async fn delete(&self, id: &str, options: DeleteConnectorOptions) -> Result<(), EsError> {
        require("a connector id", id)?;
        let url = self
            .client
            .url(&["_connector", id])
            .flag("hard", options.hard)
            .flag("delete_sync_jobs", options.delete_sync_jobs);
        let ack: Acknowledged = self.client.request(Method::DELETE, url, None).await?;
        if !ack.acknowledged {
            tracing::warn!(connector = id, "connector deletion not acknowledged");
        }
        Ok(())
    }

    /// `PUT _connector/{id}/_check_in`: `last_seen = now`.
    pub async fn check_in(&self, id: &str) -> Result<(), EsError> {
        self.put_part(id, &["_check_in"], None::<&Value>).await
    }

    /// `PUT _connector/{id}/_status`. An illegal transition is `400 status_exception`.
    pub async fn update_status(&self, id: &str, status: ConnectorStatus) -> Result<(), EsError> {
        self.put_part(id, &["_status"], Some(&json!({ "status": status })))
            .await
    }

    /// `PUT _connector/{id}/_error`: a message sets status `error`; `None` sets `connected`.
    pub async fn update_error(&self, id: &str, error: Option<&str>) -> Result<(), EsError> {
        self.put_part(id, &["_error"], Some(&json!({ "error": error })))
            .await
    }

    /// `PUT _connector/{id}/_configuration` with the full schema or only values. Sets status
    /// `configured`.
    pub async fn update_configuration(
        &self,
        id: &str,
        update: &ConfigurationUpdate,
    ) -> Result<(), EsError> {
        let body = match update {
            ConfigurationUpdate::Schema(schema) => json!({ "configuration": schema }),
            ConfigurationUpdate::Values(values) => json!({ "values": values }),
        };
        self.put_part(id, &["_configuration"], Some(&body)).await
    }

    /// `PUT _connector/{id}/_filtering` with `{"filtering": [...]}`: replaces every entry.
    pub async fn update_filtering(
        &self,
        id: &str,
        filtering: &[FilteringEntry],
    ) -> Result<(), EsError> {
        self.put_part(
            id,
            &["_filtering"],
            Some(&json!({ "filtering": filtering })),
        )
        .await
    }

    /// `PUT _connector/{id}/_filtering` with draft `rules` and/or `advanced_snippet`; Elasticsearch
    /// resets the draft validation to `edited`.
    pub async fn update_filtering_draft(
        &self,
        id: &str,
        rules: Option<&[BasicRule]>,
        advanced_snippet: Option<&AdvancedSnippet>,
    ) -> Result<(), EsError> {
        let mut body = Map::new();
        if let Some(rules) = rules {
            body.insert(
                "rules".into(),
                serde_json::to_value(rules).map_err(EsError::Serialize)?,
            );
        }
        if let Some(snippet) = advanced_snippet {
            body.insert(
                "advanced_snippet".into(),
                serde_json::to_value(snippet).map_err(EsError::Serialize)?,
            );
        }
        self.put_part(id, &["_filtering"], Some(&Value::Object(body)))
            .await
    }

    /// `PUT _connector/{id}/_filtering/_validation`: the draft's validation result.
    pub async fn update_filtering_validation(
        &self,
        id: &str,
        validation: &FilteringValidation,
    ) -> Result<(), EsError> {
        self.put_part(
            id,
            &["_filtering", "_validation"],
            Some(&json!({ "validation": validation })),
        )
        .await
    }

    /// `PUT _connector/{id}/_filtering/_activate`: draft becomes active; `400` unless the draft
    /// is valid.
    pub async fn activate_filtering(&self, id: &str) -> Result<(), EsError> {
        self.put_part(id, &["_filtering", "_activate"], None::<&Value>)
            .await
    }

    /// `PUT _connector/{id}/_last_sync` (private API).
    pub async fn update_last_sync(&self, id: &str, update: &LastSyncUpdate) -> Result<(), EsError> {
        self.put_part(id, &["_last_sync"], Some(update)).await
    }

    /// `PUT _connector/{id}/_features`: replaces `features`.
    pub async fn update_features(&self, id: &str, features: &Features) -> Result<(), EsError> {
        self.put_part(id, &["_features"], Some(&json!({ "features": features })))
            .await
    }

    /// `PUT _connector/{id}/_pipeline`.
    pub async fn update_pipeline(&self, id: &str, pipeline: &Pipeline) -> Result<(), EsError> {
        self.put_part(id, &["_pipeline"], Some(&json!({ "pipeline": pipeline })))
            .await
    }

    /// `PUT _connector/{id}/_scheduling`. A bad cron expression is a 400.
    pub async fn update_scheduling(
        &self,
        id: &str,
        scheduling: &Scheduling,
    ) -> Result<(), EsError> {
        self.put_part(
            id,
            &["_scheduling"],
            Some(&json!({ "scheduling": scheduling })),
        )
        .await
    }

    /// `PUT _connector/{id}/_service_type` (status becomes `needs_configuration` unless `created`).
    pub async fn update_service_type(&self, id: &str, service_type: &str) -> Result<(), EsError> {
        self.put_part(
            id,
            &["_service_type"],
            Some(&json!({ "service_type": service_type })),
        )
        .await
    }

    /// `PUT _connector/{id}/_name`: name and/or description (`None` leaves one alone).
    pub async fn update_name(
        &self,
        id: &str,
        name: Option<&str>,
        description: Option<&str>,
    ) -> Result<(), EsError> {
        let mut body = Map::new();
        if let Some(name) = name {
            body.insert("name".into(), json!(name));
        }
        if let Some(description) = description {
            body.insert("description".into(), json!(description));
        }
        self.put_part(id, &["_name"], Some(&Value::Object(body)))
            .await
    }

    /// `PUT _connector/{id}/_index_name`; `None` detaches the index.
    pub async fn update_index_name(
        &self,
        id: &str,
        index_name: Option<&str>,
    ) -> Result<(), EsError> {
        self.put_part(
            id,
            &["_index_name"],
            Some(&json!({ "index_name": index_name })),
        )
        .await
    }

    /// `PUT _connector/{id}/_native`.
    pub async fn update_native(&self, id: &str, is_native: bool) -> Result<(), EsError> {
        self.put_part(id, &["_native"], Some(&json!({ "is_native": is_native })))
            .await
    }

    /// `PUT _connector/{id}/_api_key_id` (`None` leaves a field alone).
    pub async fn update_api_key_id(
        &self,
        id: &str,
        api_key_id: Option<&str>,
        api_key_secret_id: Option<&str>,
    ) -> Result<(), EsError> {
        let mut body = Map::new();
        if let Some(key) = api_key_id {
            body.insert("api_key_id".into(), json!(key));
        }
        if let Some(secret) = api_key_secret_id {
            body.insert("api_key_secret_id".into(), json!(secret));
        }
        self.put_part(id, &["_api_key_id"], Some(&Value::Object(body)))
            .await
    }

    async fn put_part(
        &self,
        id: &str,
        tail: &[&str],
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<(), EsError> {
        require("a connector id", id)?;
        let mut segments = Vec::with_capacity(2 + tail.len());
        segments.push("_connector");
        segments.push(id);
        segments.extend_from_slice(tail);
        let body = body.map(json_body).transpose()?;
        let _: Ignored = self
            .client
            .request(Method::PUT, self.client.url(&segments), body)
            .await?;
        Ok(())
    }
}

impl Secrets<'_> {
    /// `POST _connector/_secret {"value"}`: the new secret's id.
    pub async fn create(&self, value: &str) -> Result<String, EsError> {
        let created: IdResponse = self
            .client
            .request(
                Method::POST,
                self.client.url(&["_connector", "_secret"]),
                Some(json_body(&json!({ "value": value }))?),
            )
            .await?;
        Ok(created.id)
    }

    /// `PUT _connector/_secret/{id} {"value"}`: creates or replaces.
    pub async fn put(&self, id: &str, value: &str) -> Result<(), EsError> {
        require("a secret id", id)?;
        let _: Ignored = self
            .client
            .request(
                Method::PUT,
                self.client.url(&["_connector", "_secret", id]),
                Some(json_body(&json!({ "value": value }))?),
            )
            .await?;
        Ok(())
    }

    /// `GET _connector/_secret/{id}`; missing is a 404 error.
    pub async fn get(&self, id: &str) -> Result<Secret, EsError> {
        require("a secret id", id)?;
        self.client
            .request(
                Method::GET,
                self.client.url(&["_connector", "_secret", id]),
                None,
            )
            .await
    }

    /// `DELETE _connector/_secret/{id}`; missing is a 404 error.
    pub async fn delete(&self, id: &str) -> Result<(), EsError> {
        require("a secret id", id)?;
        let ack: Acknowledged = self
            .client
            .request(
                Method::DELETE,
                self.client.url(&["_connector", "_secret", id]),
                None,
            )
            .await?;
        if !(ack.deleted || ack.acknowledged) {
            tracing::warn!(secret = id, "secret deletion not confirmed");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_connector_omits_unset_fields() {
        let body = NewConnector {
            index_name: Some("search-x".into()),
            service_type: Some("mysql".into()),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"index_name":"search-x","service_type":"mysql"}"#
        );
    }

    #[test]
    fn last_sync_update_nulls_only_when_asked() {
        let update = LastSyncUpdate {
            last_sync_status: Some(SyncStatus::Completed),
            last_sync_error: Some(None),
            last_indexed_document_count: Some(3),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&update).unwrap(),
            json!({"last_indexed_document_count": 3, "last_sync_error": null, "last_sync_status": "completed"})
        );
    }

    #[test]
    fn secret_debug_redacts() {
        let secret = Secret {
            id: "s1".into(),
            value: "hunter2".into(),
        };
        assert!(!format!("{secret:?}").contains("hunter2"));
    }
}
