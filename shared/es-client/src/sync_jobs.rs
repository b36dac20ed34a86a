//! The sync job APIs (`_connector/_sync_job`): create, list, get, claim, check-in, stats, error,
//! cancel, delete.

use connectors_protocol::{JobType, SyncJob, SyncStatus, Timestamp, TriggerMethod};
use reqwest::Method;
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::client::{EsClient, UrlExt, json_body};
use crate::connectors::{IdResponse, Ignored, ListResponse, require};
use crate::error::EsError;

/// The sync job APIs: `client.sync_jobs()`.
#[derive(Debug, Clone, Copy)]
pub struct SyncJobs<'a> {
    client: &'a EsClient,
}

/// Filters and paging of `GET _connector/_sync_job` (sorted by `created_at` desc).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SyncJobListParams {
    pub from: Option<u64>,
    pub size: Option<u64>,
    pub connector_id: Option<String>,
    /// One status.
    pub status: Option<SyncStatus>,
    /// Any of these job types.
    pub job_types: Vec<JobType>,
}

/// The body of `PUT _connector/_sync_job/{id}/_stats`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SyncJobStats {
    pub deleted_document_count: u64,
    pub indexed_document_count: u64,
    /// MiB of JSON sent (see [`crate::bulk::bytes_to_mib`]).
    pub indexed_document_volume: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_document_count: Option<u64>,
    /// Defaults to now on the server.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
}

#[derive(Serialize)]
struct ClaimBody<'a> {
    worker_hostname: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    sync_cursor: Option<&'a Value>,
}

impl EsClient {
    pub fn sync_jobs(&self) -> SyncJobs<'_> {
        SyncJobs { client: self }
    }
}

impl SyncJobs<'_> {
    /// `POST _connector/_sync_job`: a `pending` job for the connector; returns the job id.
    pub async fn create(
        &self,
        connector_id: &str,
        job_type: JobType,
        trigger_method: TriggerMethod,
    ) -> Result<String, EsError> {
        require("a connector id", connector_id)?;
        let body = json!({
            "id": connector_id,
            "job_type": job_type,
            "trigger_method": trigger_method,
        });
        let created: IdResponse = self
            .client
            .request(
                Method::POST,
                self.client.url(&["_connector", "_sync_job"]),
                Some(json_body(&body)?),
            )
            .await?;
        Ok(created.id)
    }

    /// `GET _connector/_sync_job`.
    pub async fn list(&self, params: &SyncJobListParams) -> Result<ListResponse<SyncJob>, EsError> {
        let job_types: Vec<String> = params
            .job_types
            .iter()
            .map(|t| t.as_str().to_string())
            .collect();
        let url = self
            .client
            .url(&["_connector", "_sync_job"])
            .param_opt("from", params.from.map(|n| n.to_string()))
            .param_opt("size", params.size.map(|n| n.to_string()))
            .param_opt("connector_id", params.connector_id.as_deref())
            .param_opt("status", params.status.map(SyncStatus::as_str))
            .param_opt("job_type", crate::connectors::join(&job_types));
        self.client.request(Method::GET, url, None).await
    }

    /// `GET _connector/_sync_job/{id}`: the job with `id` set; missing is a 404 error.
    pub async fn get(&self, id: &str) -> Result<SyncJob, EsError> {
        require("a sync job id", id)?;
        self.client
            .request(
                Method::GET,
                self.client.url(&["_connector", "_sync_job", id]),
                None,
            )
            .await
    }

    /// `PUT _connector/_sync_job/{id}/_claim`: `in_progress`, `worker_hostname`, `started_at`.
    /// Elasticsearch does not check the current status: claim only `pending`/`suspended` jobs.
    pub async fn claim(
        &self,
        id: &str,
        worker_hostname: &str,
        sync_cursor: Option<&Value>,
    ) -> Result<(), EsError> {
        let body = ClaimBody {
            worker_hostname,
            sync_cursor,
        };
        self.put_part(id, "_claim", Some(&body)).await
    }

    /// `PUT _connector/_sync_job/{id}/_check_in`: `last_seen = now`.
    pub async fn check_in(&self, id: &str) -> Result<(), EsError> {
        self.put_part(id, "_check_in", None::<&Value>).await
    }

    /// `PUT _connector/_sync_job/{id}/_stats`.
    pub async fn update_stats(&self, id: &str, stats: &SyncJobStats) -> Result<(), EsError> {
        self.put_part(id, "_stats", Some(stats)).await
    }

    /// `PUT _connector/_sync_job/{id}/_error`: status `error`, only from `in_progress` or
    /// `canceling` (else `400 status_exception`).
    pub async fn set_error(&self, id: &str, error: &str) -> Result<(), EsError> {
        self.put_part(id, "_error", Some(&json!({ "error": error })))
            .await
    }

    /// `PUT _connector/_sync_job/{id}/_cancel`: `pending`/`suspended` become `canceled`,
    /// `in_progress` becomes `canceling`; anything else is `400`.
    pub async fn cancel(&self, id: &str) -> Result<(), EsError> {
        self.put_part(id, "_cancel", None::<&Value>).await
    }

    /// `DELETE _connector/_sync_job/{id}`; missing is a 404 error.
    pub async fn delete(&self, id: &str) -> Result<(), EsError> {
        require("a sync job id", id)?;
        let _: Ignored = self
            .client
            .request(
                Method::DELETE,
                self.client.url(&["_connector", "_sync_job", id]),
                None,
            )
            .await?;
        Ok(())
    }

    async fn put_part(
        &self,
        id: &str,
        action: &str,
        body: Option<&(impl Serialize + ?Sized)>,
    ) -> Result<(), EsError> {
        require("a sync job id", id)?;
        let body = body.map(json_body).transpose()?;
        let _: Ignored = self
            .client
            .request(
                Method::PUT,
                self.client.url(&["_connector", "_sync_job", id, action]),
                body,
            )
            .await?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stats_body() {
        let stats = SyncJobStats {
            indexed_document_count: 10,
            indexed_document_volume: 2,
            deleted_document_count: 1,
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_value(&stats).unwrap(),
            json!({"deleted_document_count": 1, "indexed_document_count": 10, "indexed_document_volume": 2})
        );
    }

    #[test]
    fn claim_body() {
        let cursor = json!({"cursor_timestamp": "x"});
        let body = ClaimBody {
            worker_hostname: "h",
            sync_cursor: Some(&cursor),
        };
        assert_eq!(
            serde_json::to_string(&body).unwrap(),
            r#"{"worker_hostname":"h","sync_cursor":{"cursor_timestamp":"x"}}"#
        );
    }
}
