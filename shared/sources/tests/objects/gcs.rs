//! Google Cloud Storage against fake-gcs-server, with a local OAuth token endpoint that checks
//! the service account's signed JWT (the production path is Google's `token_uri`).

use std::sync::Arc;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use connectors_sdk::SourceDescriptor;
use connectors_sources::objects::Limits;
use connectors_sources::objects::gcs::GcsSource;
use connectors_testkit::emulator::fake_gcs;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

use super::*;

struct Gcs {
    endpoint: String,
    /// The key file the token endpoint accepts.
    credentials: String,
    http: reqwest::Client,
}

/// A service-account key file for `key`, whose tokens come from `token_uri`.
fn key_file(key: &KeyPair, token_uri: &str) -> String {
    let der = AsDer::<aws_lc_rs::encoding::Pkcs8V1Der>::as_der(key).unwrap();
    let b64 = STANDARD.encode(der.as_ref());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        lines.join("\n")
    );
    json!({
        "type": "service_account",
        "project_id": "test-project",
        "private_key_id": "k1",
        "private_key": pem,
        "client_email": "indexer@test-project.iam.gserviceaccount.com",
        "client_id": "1",
        "auth_uri": "https://accounts.google.com/o/oauth2/auth",
        "token_uri": token_uri,
    })
    .to_string()
}

/// A token endpoint that grants a token for JWTs signed by `public_key` (PKCS#1 DER).
async fn token_endpoint(public_key: Vec<u8>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/token", listener.local_addr().unwrap());
    let public_key = Arc::new(public_key);
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let public_key = public_key.clone();
            tokio::spawn(async move {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                let body = loop {
                    let n = s.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        return;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    let text = String::from_utf8_lossy(&buf).to_string();
                    if let Some(head_end) = text.find("\r\n\r\n") {
                        let length: usize = text[..head_end]
                            .lines()
                            .find_map(|l| {
                                l.to_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        if buf.len() >= head_end + 4 + length {
                            break text[head_end + 4..head_end + 4 + length].to_string();
                        }
                    }
                };
                let assertion = url::form_urlencoded::parse(body.as_bytes())
                    .find(|(k, _)| k == "assertion")
                    .map(|(_, v)| v.into_owned())
                    .unwrap_or_default();
                let parts: Vec<&str> = assertion.split('.').collect();
                let valid = parts.len() == 3 && {
                    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap_or_default();
                    let message = format!("{}.{}", parts[0], parts[1]);
                    let claims: Value = serde_json::from_slice(
                        &URL_SAFE_NO_PAD.decode(parts[1]).unwrap_or_default(),
                    )
                    .unwrap_or_default();
                    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public_key.as_slice())
                        .verify(message.as_bytes(), &signature)
                        .is_ok()
                        && claims["scope"] == "https://www.googleapis.com/auth/devstorage.read_only"
                };
                let response = if valid {
                    connectors_testkit::fault::response(
                        "200 OK",
                        &[("Content-Type", "application/json")],
                        r#"{"access_token":"ya29.test-token","expires_in":3600,"token_type":"Bearer"}"#,
                    )
                } else {
                    connectors_testkit::fault::response(
                        "400 Bad Request",
                        &[("Content-Type", "application/json")],
                        r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#,
                    )
                };
                let _ = s.write_all(response.as_bytes()).await;
            });
        }
    });
    url
}

impl Gcs {
    async fn new() -> Option<Gcs> {
        let emulator = fake_gcs()?;
        let key = KeyPair::generate(KeySize::Rsa2048).unwrap();
        let token_uri = token_endpoint(key.public_key().as_ref().to_vec()).await;
        Some(Gcs {
            endpoint: emulator.endpoint.clone(),
            credentials: key_file(&key, &token_uri),
            http: reqwest::Client::new(),
        })
    }

    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = Url::parse(&self.endpoint).unwrap();
        url.path_segments_mut()
            .unwrap()
            .pop_if_empty()
            .extend(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    async fn ok(&self, request: reqwest::RequestBuilder) {
        let response = request.send().await.expect("fake-gcs-server answers");
        let status = response.status();
        assert!(
            status.is_success(),
            "{status}: {}",
            response.text().await.unwrap_or_default()
        );
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

    async fn create(&self, bucket: &str) {
        let url = self.url(&["storage", "v1", "b"], &[("project", "test-project")]);
        self.ok(self
            .http
            .post(url)
            .header("content-type", "application/json")
            .body(json!({"name": bucket}).to_string()))
            .await;
    }

    async fn put(&self, bucket: &str, key: &str, bytes: &[u8], metadata: &[(&str, &str)]) {
        let url = self.url(
            &["upload", "storage", "v1", "b", bucket, "o"],
            &[("uploadType", "media"), ("name", key)],
        );
        self.ok(self
            .http
            .post(url)
            .header("content-type", "text/plain")
            .body(bytes.to_vec()))
            .await;
        if !metadata.is_empty() {
            let meta: serde_json::Map<String, Value> = metadata
                .iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect();
            let url = self.url(&["storage", "v1", "b", bucket, "o", key], &[]);
            self.ok(self
                .http
                .patch(url)
                .header("content-type", "application/json")
                .body(json!({"metadata": meta}).to_string()))
                .await;
        }
    }

    async fn delete(&self, bucket: &str, key: &str) {
        let url = self.url(&["storage", "v1", "b", bucket, "o", key], &[]);
        self.ok(self.http.delete(url)).await;
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
        let other = KeyPair::generate(KeySize::Rsa2048).unwrap();
        let token_uri: Value =
            serde_json::from_str::<Value>(&p.credentials).unwrap()["token_uri"].clone();
        let wrong = key_file(&other, token_uri.as_str().unwrap());
        let c = name("wrongkey");
        p.create(&c).await;
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
