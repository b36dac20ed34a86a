//! Google Cloud Storage against fake-gcs-server, with a local OAuth token endpoint that checks
//! the service account's signed JWT (the production path is Google's `token_uri`).

use connectors_sdk::SourceDescriptor;
use connectors_sources::objects::Limits;
use connectors_sources::objects::gcs::GcsSource;
use connectors_testkit::emulator::fake_gcs;
use connectors_testkit::objects::{GcsClient, StoreClient, key_file, service_key, token_endpoint};
use serde_json::{Value, json};

use super::*;

struct Gcs {
    endpoint: String,
    /// The key file the token endpoint accepts.
    credentials: String,
    client: GcsClient,
}

impl Gcs {
    async fn new() -> Option<Gcs> {
        let emulator = fake_gcs()?;
        let key = service_key();
        let token_uri = token_endpoint(&key).await;
        Some(Gcs {
            endpoint: emulator.endpoint.clone(),
            credentials: key_file(&key, &token_uri),
            client: GcsClient::new(&emulator.endpoint),
        })
    }
}

impl Provider for Gcs {
    fn service_type(&self) -> &'static str {
        "google_cloud_storage"
    }

    fn descriptor(&self, endpoint: &str, limits: Limits) -> Box<dyn SourceDescriptor> {
        Box::new(GcsSource {
            limits,
            endpoint_url: Some(endpoint.to_string()),
        })
    }

    fn endpoint(&self) -> String {
        self.endpoint.clone()
    }

    fn values(&self, _endpoint: &str, containers: &[&str]) -> Value {
        json!({
            "buckets": containers.join(","),
            "service_account_credentials": self.credentials,
        })
    }

    fn client(&self) -> &impl StoreClient {
        &self.client
    }

    fn throttled(&self) -> String {
        connectors_testkit::fault::response(
            "429 Too Many Requests",
            &[("Retry-After", "1"), ("Content-Type", "application/json")],
            r#"{"error":{"code":429,"message":"The rate of change requests to the bucket is too high."}}"#,
        )
    }
}

#[tokio::test]
async fn gcs_full_sync_changes_and_incremental() {
    if let Some(p) = Gcs::new().await {
        full_then_changes_then_incremental(&p, "name").await;
    }
}

#[tokio::test]
async fn gcs_throttling_is_retried() {
    if let Some(p) = Gcs::new().await {
        throttling_is_retried(&p).await;
    }
}

#[tokio::test]
async fn gcs_wrong_key_is_a_connector_error_without_the_key() {
    if let Some(p) = Gcs::new().await {
        let other = service_key();
        let token_uri: Value =
            serde_json::from_str::<Value>(&p.credentials).unwrap()["token_uri"].clone();
        let wrong = key_file(&other, token_uri.as_str().unwrap());
        let c = name("wrongkey");
        p.client().create(&c).await;
        let mut values = p.values(&p.endpoint, &[&c]);
        values["service_account_credentials"] = json!(wrong);
        let descriptor = p.descriptor(&p.endpoint, limits());
        job_fails_with(
            &p,
            descriptor,
            values,
            "Google refused the service account 'indexer@test-project.iam.gserviceaccount.com'",
            Some("PRIVATE KEY"),
        )
        .await;
    }
}
