//! Index management (list, create, exists, delete, refresh) and ingest pipelines.

use reqwest::Method;
use serde::Deserialize;
use serde_json::Value;

use crate::client::{BodyKind, EsClient, UrlExt, decode, json_body};
use crate::documents::require_index;
use crate::error::EsError;

/// Index management: `client.indices()`.
#[derive(Debug, Clone, Copy)]
pub struct Indices<'a> {
    client: &'a EsClient,
}

/// Ingest pipelines: `client.ingest()`.
#[derive(Debug, Clone, Copy)]
pub struct Ingest<'a> {
    client: &'a EsClient,
}

/// One index as `GET /_cat/indices?format=json` lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexInfo {
    pub index: String,
    /// Documents in the primaries; `None` when the cluster does not say (a closed index).
    pub docs_count: Option<u64>,
    /// `green`, `yellow` or `red`; `None` on serverless.
    pub health: Option<String>,
    /// `open` or `close`; `None` on serverless.
    pub status: Option<String>,
}

#[derive(Deserialize)]
struct CatIndex {
    index: String,
    #[serde(rename = "docs.count", default)]
    docs_count: Option<String>,
    #[serde(default)]
    health: Option<String>,
    #[serde(default)]
    status: Option<String>,
}

#[derive(Deserialize)]
struct Acknowledged {
    #[serde(default)]
    acknowledged: bool,
}

impl EsClient {
    pub fn indices(&self) -> Indices<'_> {
        Indices { client: self }
    }

    pub fn ingest(&self) -> Ingest<'_> {
        Ingest { client: self }
    }
}

impl Indices<'_> {
    /// `GET /_cat/indices[/{pattern}]?format=json&expand_wildcards=open`: open indices that are
    /// not hidden, sorted by name.
    pub async fn list(&self, pattern: Option<&str>) -> Result<Vec<IndexInfo>, EsError> {
        let mut segments = vec!["_cat", "indices"];
        if let Some(pattern) = pattern {
            require_index(pattern)?;
            segments.push(pattern);
        }
        let url = self
            .client
            .url(&segments)
            .param("format", "json")
            .param("h", "index,docs.count,health,status")
            .param("s", "index")
            .param("expand_wildcards", "open");
        let rows: Vec<CatIndex> = self.client.request(Method::GET, url, None).await?;
        let mut indices: Vec<IndexInfo> = rows
            .into_iter()
            .map(|row| IndexInfo {
                docs_count: row.docs_count.and_then(|n| n.trim().parse().ok()),
                index: row.index,
                health: row.health,
                status: row.status,
            })
            .collect();
        indices.sort_by(|a, b| a.index.cmp(&b.index));
        Ok(indices)
    }

    /// `PUT /{index}` with optional `{settings, mappings, aliases}`. An existing index is an
    /// error with [`crate::ApiError::is_already_exists`].
    pub async fn create(&self, index: &str, body: Option<&Value>) -> Result<(), EsError> {
        require_index(index)?;
        let body = body.map(json_body).transpose()?;
        let _: Value = self
            .client
            .request(Method::PUT, self.client.url(&[index]), body)
            .await?;
        Ok(())
    }

    /// Creates the index unless it exists (also when another writer creates it concurrently).
    /// Returns whether this call created it.
    pub async fn ensure(&self, index: &str, body: Option<&Value>) -> Result<bool, EsError> {
        if self.exists(index).await? {
            return Ok(false);
        }
        match self.create(index, body).await {
            Ok(()) => Ok(true),
            Err(EsError::Api(error)) if error.is_already_exists() => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// `HEAD /{index}` (an alias counts): 200 or 404.
    pub async fn exists(&self, index: &str) -> Result<bool, EsError> {
        require_index(index)?;
        let response = self
            .client
            .send(Method::HEAD, self.client.url(&[index]), None)
            .await?;
        match response.status {
            200..=299 => Ok(true),
            404 => Ok(false),
            status => Err(EsError::api(status, &response.body)),
        }
    }

    /// `DELETE /{index}`. With `ignore_unavailable` a missing index is not an error.
    pub async fn delete(&self, index: &str, ignore_unavailable: bool) -> Result<(), EsError> {
        require_index(index)?;
        let url = self
            .client
            .url(&[index])
            .flag("ignore_unavailable", ignore_unavailable);
        let response = self.client.send(Method::DELETE, url, None).await?;
        if response.is_success() || (ignore_unavailable && response.status == 404) {
            Ok(())
        } else {
            Err(EsError::api(response.status, &response.body))
        }
    }

    /// `POST /{index}/_refresh`.
    pub async fn refresh(&self, index: &str) -> Result<(), EsError> {
        self.client.refresh(index).await
    }

    /// `PUT /{index}/_mapping` with `{"properties": ...}` (adds fields; a conflicting type is a
    /// 400 with `illegal_argument_exception`).
    pub async fn put_mapping(&self, index: &str, mapping: &Value) -> Result<(), EsError> {
        require_index(index)?;
        let body = json_body(mapping)?;
        let _: Value = self
            .client
            .request(
                Method::PUT,
                self.client.url(&[index, "_mapping"]),
                Some(body),
            )
            .await?;
        Ok(())
    }

    /// `GET /{index}/_mapping`.
    pub async fn get_mapping(&self, index: &str) -> Result<Value, EsError> {
        require_index(index)?;
        self.client
            .request(Method::GET, self.client.url(&[index, "_mapping"]), None)
            .await
    }
}

impl Ingest<'_> {
    /// `GET /_ingest/pipeline/{id}`: the pipeline definition, or `None` when it does not exist.
    pub async fn get_pipeline(&self, id: &str) -> Result<Option<Value>, EsError> {
        let url = self.client.url(&["_ingest", "pipeline", id]);
        let path = url.path().to_string();
        let response = self.client.send(Method::GET, url, None).await?;
        if response.status == 404 {
            return Ok(None);
        }
        if !response.is_success() {
            return Err(EsError::api(response.status, &response.body));
        }
        let mut pipelines: serde_json::Map<String, Value> = decode(&path, &response.body)?;
        Ok(pipelines.remove(id))
    }

    /// `PUT /_ingest/pipeline/{id}` with `{description?, processors, ...}`.
    pub async fn put_pipeline(&self, id: &str, body: &Value) -> Result<(), EsError> {
        let ack: Acknowledged = self
            .client
            .request(
                Method::PUT,
                self.client.url(&["_ingest", "pipeline", id]),
                Some(json_body(body)?),
            )
            .await?;
        if !ack.acknowledged {
            tracing::warn!(pipeline = id, "pipeline creation not acknowledged");
        }
        Ok(())
    }

    /// `DELETE /_ingest/pipeline/{id}`; `Ok(false)` when it did not exist.
    pub async fn delete_pipeline(&self, id: &str) -> Result<bool, EsError> {
        let response = self
            .client
            .send(
                Method::DELETE,
                self.client.url(&["_ingest", "pipeline", id]),
                None::<(bytes::Bytes, BodyKind)>,
            )
            .await?;
        match response.status {
            200..=299 => Ok(true),
            404 => Ok(false),
            status => Err(EsError::api(status, &response.body)),
        }
    }
}
