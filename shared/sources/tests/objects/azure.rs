//! Azure Blob Storage against azurite.

use connectors_sdk::SourceDescriptor;
use connectors_sources::objects::Limits;
use connectors_sources::objects::azure::AzureBlobSource;
use connectors_testkit::emulator::{AZURITE_ACCOUNT, AZURITE_KEY, azurite};
use connectors_testkit::objects::{AzureClient, StoreClient};
use serde_json::{Value, json};

use super::*;

struct Azure {
    endpoint: String,
    client: AzureClient,
}

impl Azure {
    fn new() -> Option<Azure> {
        let emulator = azurite()?;
        Some(Azure {
            endpoint: emulator.endpoint.clone(),
            client: AzureClient::new(&emulator.endpoint),
        })
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

    fn client(&self) -> &impl StoreClient {
        &self.client
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
        p.client().create(&c).await;
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
