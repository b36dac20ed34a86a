//! S3 against moto.

use connectors_sdk::SourceDescriptor;
use connectors_sources::objects::Limits;
use connectors_sources::objects::s3::S3Source;
use connectors_testkit::emulator::moto;
use connectors_testkit::objects::{S3Client, StoreClient};
use serde_json::{Value, json};

use super::*;

struct S3 {
    endpoint: String,
    client: S3Client,
}

impl S3 {
    fn new() -> Option<S3> {
        let moto = moto()?;
        Some(S3 {
            endpoint: moto.endpoint.clone(),
            client: S3Client::new(&moto.endpoint),
        })
    }
}

impl Provider for S3 {
    fn service_type(&self) -> &'static str {
        "s3"
    }

    fn descriptor(&self, endpoint: &str, limits: Limits) -> Box<dyn SourceDescriptor> {
        Box::new(S3Source {
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
            "aws_access_key_id": "testing",
            "aws_secret_access_key": "testing-secret-key",
            "max_attempts": 4,
        })
    }

    fn client(&self) -> &impl StoreClient {
        &self.client
    }

    fn throttled(&self) -> String {
        connectors_testkit::fault::response(
            "503 Slow Down",
            &[("Content-Type", "application/xml")],
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>",
        )
    }
}

#[tokio::test]
async fn s3_full_sync_changes_and_incremental() {
    if let Some(p) = S3::new() {
        full_then_changes_then_incremental(&p, "filename").await;
    }
}

#[tokio::test]
async fn s3_throttling_is_retried() {
    if let Some(p) = S3::new() {
        throttling_is_retried(&p).await;
    }
}

#[tokio::test]
async fn s3_missing_bucket_is_a_connector_error() {
    if let Some(p) = S3::new() {
        let missing = name("missing");
        let values = p.values(&p.endpoint, &[&missing]);
        let descriptor = p.descriptor(&p.endpoint, limits());
        job_fails_with(
            &p,
            descriptor,
            values,
            &format!("The bucket '{missing}' does not exist"),
            Some("testing-secret-key"),
        )
        .await;
    }
}

#[tokio::test]
async fn s3_advanced_rules_narrow_by_prefix_and_extension() {
    let Some(p) = S3::new() else { return };
    let b = name("rules");
    p.client().create(&b).await;
    for key in ["docs/a.txt", "docs/b.md", "docs/c.txt", "other/d.txt"] {
        p.client().put(&b, key, b"x", &[]).await;
    }
    let descriptor = p.descriptor(&p.endpoint, limits());
    let config = connectors_testkit::configuration(
        descriptor.as_ref(),
        &p.values(&p.endpoint, &["ignored-bucket"]),
    );
    let rules = json!([{"bucket": b, "prefix": "docs/", "extension": [".txt"]}]);
    let listing = connectors_testkit::list_all(
        descriptor.as_ref(),
        &config,
        connectors_sdk::SyncMode::Full,
        Some(&rules),
        2,
        true,
    )
    .await;
    let mut names: Vec<&str> = listing
        .docs
        .values()
        .map(|d| d["filename"].as_str().unwrap())
        .collect();
    names.sort();
    assert_eq!(names, ["docs/a.txt", "docs/c.txt"]);
}
