//! Azure Blob Storage against azurite.

use chrono::Utc;
use connectors_sdk::SourceDescriptor;
use connectors_sources::objects::Limits;
use connectors_sources::objects::azure::AzureBlobSource;
use connectors_sources::objects::azure::auth::SharedKey;
use connectors_testkit::emulator::{AZURITE_ACCOUNT, AZURITE_KEY, azurite};
use serde_json::{Value, json};
use url::Url;

use super::*;

struct Azure {
    endpoint: String,
    key: SharedKey,
    http: reqwest::Client,
}

impl Azure {
    fn new() -> Option<Azure> {
        let emulator = azurite()?;
        Some(Azure {
            endpoint: emulator.endpoint.clone(),
            key: SharedKey::new(AZURITE_ACCOUNT, AZURITE_KEY).unwrap(),
            http: reqwest::Client::new(),
        })
    }

    fn url(&self, parts: &[&str], query: &str) -> Url {
        let mut url = Url::parse(&format!("{}/{AZURITE_ACCOUNT}", self.endpoint)).unwrap();
        {
            let mut path = url.path_segments_mut().unwrap();
            for part in parts {
                for p in part.split('/') {
                    path.push(p);
                }
            }
        }
        if !query.is_empty() {
            url.set_query(Some(query));
        }
        url
    }

    async fn send(
        &self,
        method: reqwest::Method,
        url: Url,
        body: Vec<u8>,
        extra: &[(&'static str, String)],
    ) {
        let headers = self.key.sign(
            method.as_str(),
            &url,
            Some(body.len() as u64),
            None,
            extra,
            Utc::now(),
        );
        let response = self
            .http
            .request(method, url.clone())
            .headers(headers)
            .header("content-length", body.len())
            .body(body)
            .send()
            .await
            .expect("azurite answers");
        assert!(
            response.status().is_success(),
            "{url}: {}",
            response.text().await.unwrap_or_default()
        );
    }
}

impl Provider for Azure {
    fn service_type(&self) -> &'static str {
        "azure_blob_storage"
    }

    fn descriptor(&self, _endpoint: &str, limits: Limits) -> Box<dyn SourceDescriptor> {
        Box::new(AzureBlobSource { limits })
    }

    fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    fn values(&self, endpoint: &str, containers: &[&str]) -> Value {
        json!({
            "account_name": AZURITE_ACCOUNT,
            "account_key": AZURITE_KEY,
            "blob_endpoint": format!("{endpoint}/{AZURITE_ACCOUNT}"),
            "containers": containers.join(","),
        })
    }

    async fn create(&self, container: &str) {
        let url = self.url(&[container], "restype=container");
        self.send(reqwest::Method::PUT, url, Vec::new(), &[]).await;
    }

    async fn put(&self, container: &str, key: &str, bytes: &[u8], metadata: &[(&str, &str)]) {
        let mut extra: Vec<(&'static str, String)> =
            vec![("x-ms-blob-type", "BlockBlob".to_string())];
        for (k, v) in metadata {
            let name: &'static str = Box::leak(format!("x-ms-meta-{k}").into_boxed_str());
            extra.push((name, v.to_string()));
        }
        let url = self.url(&[container, key], "");
        self.send(reqwest::Method::PUT, url, bytes.to_vec(), &extra)
            .await;
    }

    async fn delete(&self, container: &str, key: &str) {
        let url = self.url(&[container, key], "");
        self.send(reqwest::Method::DELETE, url, Vec::new(), &[])
            .await;
    }

    fn throttled(&self) -> String {
        connectors_testkit::fault::response(
            "503 Server Busy",
            &[
                ("x-ms-error-code", "ServerBusy"),
                ("Retry-After", "1"),
                ("Content-Type", "application/xml"),
            ],
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><Error><Code>ServerBusy</Code><Message>The server is busy.</Message></Error>",
        )
    }
}

#[tokio::test]
async fn azure_full_sync_changes_and_incremental() {
    if let Some(p) = Azure::new() {
        full_then_changes_then_incremental(&p, "title").await;
    }
}

#[tokio::test]
async fn azure_throttling_is_retried() {
    if let Some(p) = Azure::new() {
        throttling_is_retried(&p).await;
    }
}

#[tokio::test]
async fn azure_missing_container_is_a_connector_error() {
    if let Some(p) = Azure::new() {
        let missing = name("missing");
        let values = p.values(&p.endpoint, &[&missing]);
        let descriptor = p.descriptor(&p.endpoint, limits());
        job_fails_with(
            &p,
            descriptor,
            values,
            &format!("Container(s) {missing} are configured but not found."),
            None,
        )
        .await;
    }
}

#[tokio::test]
async fn azure_wrong_key_is_a_connector_error_without_the_key() {
    if let Some(p) = Azure::new() {
        let c = name("wrongkey");
        p.create(&c).await;
        let wrong = "d3Jvbmcta2V5LXdyb25nLWtleS13cm9uZy1rZXktd3Jvbmcta2V5LXdyb25nLWtleQ==";
        let mut values = p.values(&p.endpoint, &[&c]);
        values["account_key"] = json!(wrong);
        let descriptor = p.descriptor(&p.endpoint, limits());
        job_fails_with(
            &p,
            descriptor,
            values,
            "Azure Blob Storage refused the account",
            Some(wrong),
        )
        .await;
    }
}
