//! S3 against moto.

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use connectors_sdk::SourceDescriptor;
use connectors_sources::objects::Limits;
use connectors_sources::objects::s3::S3Source;
use connectors_testkit::emulator::moto;
use serde_json::{Value, json};

use super::*;

struct S3 {
    endpoint: String,
    client: Client,
}

impl S3 {
    fn new() -> Option<S3> {
        let moto = moto()?;
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(&moto.endpoint)
            .force_path_style(true)
            .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
            .build();
        Some(S3 {
            endpoint: moto.endpoint.clone(),
            client: Client::from_conf(config),
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

    async fn create(&self, bucket: &str) {
        self.client
            .create_bucket()
            .bucket(bucket)
            .send()
            .await
            .expect("create bucket");
    }

    async fn put(&self, bucket: &str, key: &str, bytes: &[u8], metadata: &[(&str, &str)]) {
        let mut put = self
            .client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(ByteStream::from(bytes.to_vec()));
        for (k, v) in metadata {
            put = put.metadata(*k, *v);
        }
        put.send().await.expect("put object");
    }

    async fn delete(&self, bucket: &str, key: &str) {
        self.client
            .delete_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .expect("delete");
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
    p.create(&b).await;
    for key in ["docs/a.txt", "docs/b.md", "docs/c.txt", "other/d.txt"] {
        p.put(&b, key, b"x", &[]).await;
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
