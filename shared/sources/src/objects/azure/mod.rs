//! `azure_blob_storage`: Azure Blob Storage containers over the Blob REST API (Shared Key
//! authorization, see [`auth`]), with the reference's configuration schema and documents
//! (`_id` = `container/name`; `created at`, `content type`, `container metadata`, `metadata`,
//! `leasedata` as Python writes them; `title`, `tier`, `size`, `container`).
//!
//! Unlike the reference, containers that are configured but missing end the job with an error
//! naming them (the reference logs a warning and indexes nothing from them).

pub mod auth;
pub mod xml;

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use connectors_protocol::{
    ConfigField, Configuration, Display, FieldType, FieldValidation, ValidationType,
};
use connectors_sdk::{DataSource, Fields, SourceDescriptor, SourceError, SourceFeatures};
use serde_json::{Map, Value, json};
use tokio::sync::Mutex;
use tracing::warn;
use url::Url;

use self::auth::SharedKey;
use self::xml::BlobXml;
use super::s3::{advanced_int, extraction_field};
use super::{Limits, Listed, Listing, ObjectSource, Scope, Store};
use crate::http;
use crate::python;

/// The `azure_blob_storage` source.
#[derive(Debug, Clone, Default)]
pub struct AzureBlobSource {
    /// The content cap and the incremental margin.
    pub limits: Limits,
}

/// The reference's `MAX_CONCURRENT_DOWNLOADS`.
const MAX_CONCURRENT_DOWNLOADS: i64 = 100;

impl SourceDescriptor for AzureBlobSource {
    fn service_type(&self) -> &'static str {
        "azure_blob_storage"
    }

    fn name(&self) -> &'static str {
        "Azure Blob Storage"
    }

    fn default_configuration(&self) -> Configuration {
        let text = |label: &str, order: i64| {
            let mut f = ConfigField::new(label);
            f.order = order;
            f
        };
        let mut containers = text("Azure Blob Storage containers", 4);
        containers.display = Display::Textarea;
        containers.field_type = FieldType::List;
        let mut downloads =
            advanced_int("Maximum concurrent downloads", 6, MAX_CONCURRENT_DOWNLOADS);
        downloads.validations = vec![FieldValidation {
            kind: ValidationType::LessThan,
            constraint: json!(MAX_CONCURRENT_DOWNLOADS + 1),
        }];
        Configuration::from([
            (
                "account_name".to_string(),
                text("Azure Blob Storage account name", 1),
            ),
            (
                "account_key".to_string(),
                text("Azure Blob Storage account key", 2),
            ),
            (
                "blob_endpoint".to_string(),
                text("Azure Blob Storage blob endpoint", 3),
            ),
            ("containers".to_string(), containers),
            (
                "retry_count".to_string(),
                advanced_int("Retries per request", 5, 3),
            ),
            ("concurrent_downloads".to_string(), downloads),
            (
                "use_text_extraction_service".to_string(),
                extraction_field(7),
            ),
        ])
    }

    fn features(&self) -> SourceFeatures {
        SourceFeatures {
            incremental_sync: true,
            ..SourceFeatures::default()
        }
    }

    fn build(&self, configuration: &Configuration) -> Result<Box<dyn DataSource>, SourceError> {
        let f = Fields(configuration);
        let account = f.required_text("account_name")?;
        let key = SharedKey::new(&account, &f.raw_text("account_key"))?;
        let endpoint = f.required_text("blob_endpoint")?;
        let endpoint = Url::parse(endpoint.trim_end_matches('/')).map_err(|e| {
            SourceError::config(
                "blob_endpoint",
                format!("'Azure Blob Storage blob endpoint' is not a URL: {e}"),
            )
        })?;
        let store = AzureStore {
            endpoint,
            key,
            containers: f.list("containers"),
            attempts: f.int("retry_count", 3)?.clamp(0, 20) as u32 + 1,
            client: http::client(),
            container_metadata: Mutex::new(HashMap::new()),
        };
        Ok(Box::new(ObjectSource::new(store, self.limits)))
    }
}

struct AzureStore {
    /// The blob endpoint, without a trailing slash.
    endpoint: Url,
    key: SharedKey,
    containers: Vec<String>,
    attempts: u32,
    client: reqwest::Client,
    /// `str()` of each container's metadata, from the container listing.
    container_metadata: Mutex<HashMap<String, String>>,
}

impl AzureStore {
    /// The endpoint URL with `segments` appended (each percent-encoded) and `query`.
    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.endpoint.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            for segment in segments {
                // A blob name keeps its slashes as path separators.
                for part in segment.split('/') {
                    path.push(part);
                }
            }
            if segments.is_empty() {
                path.push("");
            }
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    async fn get(&self, what: &str, url: Url) -> Result<reqwest::Response, SourceError> {
        http::send(what, self.attempts, || {
            Ok(self
                .client
                .get(url.clone())
                .headers(self.key.sign_get(&url, Utc::now())))
        })
        .await
    }

    /// Every container of the account, with its metadata (`list_containers`).
    async fn all_containers(&self) -> Result<Vec<xml::ContainerXml>, SourceError> {
        let mut out = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let mut query = vec![("comp", "list"), ("include", "metadata")];
            if let Some(m) = &marker {
                query.push(("marker", m));
            }
            let url = self.url(&[], &query);
            let response = self.get("Listing the containers", url).await?;
            let body = self
                .ok_text("Listing the containers", None, response)
                .await?;
            let page = xml::containers(&body).map_err(|e| {
                SourceError::Other(format!("The container listing could not be read: {e}"))
            })?;
            out.extend(page.items);
            match page.next {
                Some(next) => marker = Some(next),
                None => return Ok(out),
            }
        }
    }

    /// The body of a successful response; an error status becomes the connector's error
    /// (authorization, a missing container) or this container's (anything else).
    async fn ok_text(
        &self,
        what: &str,
        container: Option<&str>,
        response: reqwest::Response,
    ) -> Result<String, SourceError> {
        let status = response.status();
        if status.is_success() {
            return response
                .text()
                .await
                .map_err(|e| SourceError::Other(format!("{what}: {e}")));
        }
        let detail = http::error_text(response).await;
        let account = self.endpoint.as_str();
        Err(match (status.as_u16(), container) {
            (401 | 403, _) => SourceError::Unavailable(format!(
                "Azure Blob Storage refused the account at '{account}'{}: {detail}",
                container
                    .map(|c| format!(" for the container '{c}'"))
                    .unwrap_or_default()
            )),
            (404, Some(c)) => SourceError::config(
                "containers",
                format!("The container '{c}' does not exist: {detail}"),
            ),
            _ => SourceError::Other(format!("{what}: {detail}")),
        })
    }
}

#[async_trait]
impl Store for AzureStore {
    fn container_field(&self) -> &'static str {
        "container"
    }

    fn keeps_document_without_content(&self) -> bool {
        true
    }

    async fn ping(&self) -> Result<(), SourceError> {
        let url = self.url(&[], &[("restype", "account"), ("comp", "properties")]);
        let response = self.get("Connecting to Azure Blob Storage", url).await?;
        self.ok_text("Connecting to Azure Blob Storage", None, response)
            .await
            .map(|_| ())
    }

    async fn scopes(&self) -> Result<Vec<Scope>, SourceError> {
        let all = self.all_containers().await?;
        let wildcard = self.containers.iter().any(|c| c == "*");
        let mut metadata = self.container_metadata.lock().await;
        let mut scopes = Vec::new();
        for c in all {
            if wildcard || self.containers.contains(&c.name) {
                metadata.insert(
                    c.name.clone(),
                    python::dict_repr(
                        c.metadata
                            .iter()
                            .map(|(k, v)| (k.as_str(), Some(v.as_str()))),
                    ),
                );
                scopes.push(Scope::whole(c.name));
            }
        }
        if !wildcard {
            let missing: Vec<&str> = self
                .containers
                .iter()
                .filter(|c| !scopes.iter().any(|s| &s.container == *c))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                return Err(SourceError::config(
                    "containers",
                    format!(
                        "Container(s) {} are configured but not found.",
                        missing.join(",")
                    ),
                ));
            }
            // The configured order.
            scopes.sort_by_key(|s| self.containers.iter().position(|c| *c == s.container));
        }
        Ok(scopes)
    }

    async fn list(
        &self,
        scope: &Scope,
        token: Option<&str>,
        max: usize,
    ) -> Result<Listing, SourceError> {
        let container = scope.container.as_str();
        let max = max.to_string();
        let mut query = vec![
            ("restype", "container"),
            ("comp", "list"),
            ("include", "metadata"),
            ("maxresults", max.as_str()),
        ];
        if !scope.prefix.is_empty() {
            query.push(("prefix", scope.prefix.as_str()));
        }
        if let Some(t) = token {
            query.push(("marker", t));
        }
        let what = format!("Listing the blobs of '{container}'");
        let url = self.url(&[container], &query);
        let response = self.get(&what, url).await?;
        let body = self.ok_text(&what, Some(container), response).await?;
        let page = xml::blobs(&body).map_err(|e| {
            SourceError::Other(format!("{what}: the listing could not be read: {e}"))
        })?;
        let container_metadata = self
            .container_metadata
            .lock()
            .await
            .get(container)
            .cloned()
            .unwrap_or_else(|| "{}".to_string());
        Ok(Listing {
            objects: page
                .items
                .into_iter()
                .map(|b| listed(container, &container_metadata, b))
                .collect(),
            next: page.next,
        })
    }

    async fn read(
        &self,
        container: &str,
        key: &str,
        max: u64,
    ) -> Result<Option<Vec<u8>>, SourceError> {
        let what = format!("Downloading '{key}' from '{container}'");
        let url = self.url(&[container, key], &[]);
        let response = self.get(&what, url).await?;
        if !response.status().is_success() {
            return Err(SourceError::Other(format!(
                "{what}: {}",
                http::error_text(response).await
            )));
        }
        http::body_capped(&what, response, max).await
    }
}

fn rfc1123(text: Option<&str>) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc2822(text?).ok().map(|t| t.to_utc())
}

/// The document of one blob (`prepare_blob_doc`).
fn listed(container: &str, container_metadata: &str, blob: BlobXml) -> Listed {
    let modified = rfc1123(blob.property("Last-Modified"));
    let created = rfc1123(blob.property("Creation-Time"));
    let size: u64 = blob
        .property("Content-Length")
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let non_empty = |name: &str| blob.property(name).filter(|v| !v.is_empty());
    let tier = non_empty("AccessTier");
    let iso = |t: Option<DateTime<Utc>>| t.map_or(Value::Null, |t| json!(python::isoformat(t)));
    let lease = python::dict_repr([
        ("status", non_empty("LeaseStatus")),
        ("state", non_empty("LeaseState")),
        ("duration", non_empty("LeaseDuration")),
    ]);
    let mut document = Map::new();
    document.insert("_id".into(), json!(format!("{container}/{}", blob.name)));
    document.insert("_timestamp".into(), iso(modified));
    document.insert("created at".into(), iso(created));
    document.insert(
        "content type".into(),
        non_empty("Content-Type").map_or(Value::Null, |v| json!(v)),
    );
    document.insert("container metadata".into(), json!(container_metadata));
    document.insert(
        "metadata".into(),
        json!(python::dict_repr(
            blob.metadata
                .iter()
                .map(|(k, v)| (k.as_str(), Some(v.as_str())))
        )),
    );
    document.insert("leasedata".into(), json!(lease));
    document.insert("title".into(), json!(blob.name));
    document.insert("tier".into(), tier.map_or(Value::Null, |t| json!(t)));
    document.insert("size".into(), json!(size));
    document.insert("container".into(), json!(container));
    let downloadable = size > 0 && tier != Some("Archive");
    if tier == Some("Archive") {
        warn!(blob = %blob.name, "the blob can't be downloaded as its tier is archive");
    }
    Listed {
        key: blob.name,
        size,
        modified,
        document,
        downloadable,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_as_the_reference_writes_them() {
        let blob = BlobXml {
            name: "blob1".into(),
            properties: vec![
                (
                    "Creation-Time".into(),
                    "Thu, 21 Apr 2022 12:12:30 GMT".into(),
                ),
                (
                    "Last-Modified".into(),
                    "Thu, 21 Apr 2022 12:12:30 GMT".into(),
                ),
                ("Content-Length".into(), "1000".into()),
                ("Content-Type".into(), "plain/text".into()),
                ("AccessTier".into(), "Hot".into()),
                ("LeaseStatus".into(), "unlocked".into()),
                ("LeaseState".into(), "available".into()),
            ],
            metadata: vec![("key1".into(), "value1".into())],
        };
        let l = listed("container1", "{'key1': 'value1'}", blob);
        assert_eq!(
            Value::Object(l.document),
            json!({
                "_id": "container1/blob1",
                "_timestamp": "2022-04-21T12:12:30+00:00",
                "created at": "2022-04-21T12:12:30+00:00",
                "content type": "plain/text",
                "container metadata": "{'key1': 'value1'}",
                "metadata": "{'key1': 'value1'}",
                "leasedata": "{'status': 'unlocked', 'state': 'available', 'duration': None}",
                "title": "blob1",
                "tier": "Hot",
                "size": 1000,
                "container": "container1"
            })
        );
        assert!(l.downloadable);
    }
}
