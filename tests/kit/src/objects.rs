//! Clients that set up object stores for tests and benchmarks: buckets/containers, objects
//! with user metadata, deletions; one per emulator (moto's S3, azurite, fake-gcs-server), and
//! for Google a local OAuth token endpoint that grants tokens for JWTs signed by a service
//! account key it knows.

use std::sync::Arc;

use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der};
use aws_lc_rs::rsa::{KeyPair, KeySize};
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_2048_8192_SHA256, UnparsedPublicKey};
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::primitives::ByteStream;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use chrono::Utc;
use connectors_sources::objects::azure::auth::SharedKey;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use url::Url;

use crate::emulator::{AZURITE_ACCOUNT, AZURITE_KEY};
use crate::fault::response;

/// What tests do to a store.
#[allow(async_fn_in_trait)]
pub trait StoreClient {
    async fn create(&self, container: &str);
    async fn put(&self, container: &str, key: &str, bytes: &[u8], metadata: &[(&str, &str)]);
    async fn delete(&self, container: &str, key: &str);
}

/// S3 (moto), with test keys.
pub struct S3Client {
    pub endpoint: String,
    pub client: aws_sdk_s3::Client,
}

impl S3Client {
    pub fn new(endpoint: &str) -> Self {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("us-east-1"))
            .endpoint_url(endpoint)
            .force_path_style(true)
            .credentials_provider(Credentials::new("testing", "testing", None, None, "tests"))
            .build();
        S3Client {
            endpoint: endpoint.to_string(),
            client: aws_sdk_s3::Client::from_conf(config),
        }
    }
}

impl StoreClient for S3Client {
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
}

/// Azure Blob (azurite's well-known account), requests signed with Shared Key.
pub struct AzureClient {
    pub endpoint: String,
    key: SharedKey,
    http: reqwest::Client,
}

impl AzureClient {
    pub fn new(endpoint: &str) -> Self {
        AzureClient {
            endpoint: endpoint.to_string(),
            key: SharedKey::new(AZURITE_ACCOUNT, AZURITE_KEY).expect("the well-known key"),
            http: reqwest::Client::new(),
        }
    }

    /// The account's blob endpoint.
    pub fn blob_endpoint(&self) -> String {
        format!("{}/{AZURITE_ACCOUNT}", self.endpoint)
    }

    fn url(&self, parts: &[&str], query: &str) -> Url {
        let mut url = Url::parse(&self.blob_endpoint()).expect("a URL");
        if let Ok(mut path) = url.path_segments_mut() {
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
        let answer = self
            .http
            .request(method, url.clone())
            .headers(headers)
            .header("content-length", body.len())
            .body(body)
            .send()
            .await
            .expect("azurite answers");
        let status = answer.status();
        assert!(
            status.is_success(),
            "{url}: {status} {}",
            answer.text().await.unwrap_or_default()
        );
    }
}

impl StoreClient for AzureClient {
    async fn create(&self, container: &str) {
        let url = self.url(&[container], "restype=container");
        self.send(reqwest::Method::PUT, url, Vec::new(), &[]).await;
    }

    async fn put(&self, container: &str, key: &str, bytes: &[u8], metadata: &[(&str, &str)]) {
        let mut extra: Vec<(&'static str, String)> =
            vec![("x-ms-blob-type", "BlockBlob".to_string())];
        for (k, v) in metadata {
            // Header names must be 'static for the signer; a test writes a handful.
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
}

/// Google Cloud Storage (fake-gcs-server, which needs no token).
pub struct GcsClient {
    pub endpoint: String,
    http: reqwest::Client,
}

impl GcsClient {
    pub fn new(endpoint: &str) -> Self {
        GcsClient {
            endpoint: endpoint.to_string(),
            http: reqwest::Client::new(),
        }
    }

    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = Url::parse(&self.endpoint).expect("a URL");
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty().extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    async fn ok(&self, request: reqwest::RequestBuilder) {
        let answer = request.send().await.expect("fake-gcs-server answers");
        let status = answer.status();
        assert!(
            status.is_success(),
            "{status}: {}",
            answer.text().await.unwrap_or_default()
        );
    }

    fn json(&self, request: reqwest::RequestBuilder, body: Value) -> reqwest::RequestBuilder {
        request
            .header("content-type", "application/json")
            .body(body.to_string())
    }
}

impl StoreClient for GcsClient {
    async fn create(&self, bucket: &str) {
        let url = self.url(&["storage", "v1", "b"], &[("project", "test-project")]);
        self.ok(self.json(self.http.post(url), json!({ "name": bucket })))
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
            self.ok(self.json(self.http.patch(url), json!({ "metadata": meta })))
                .await;
        }
    }

    async fn delete(&self, bucket: &str, key: &str) {
        let url = self.url(&["storage", "v1", "b", bucket, "o", key], &[]);
        self.ok(self.http.delete(url)).await;
    }
}

/// A new RSA service-account key.
pub fn service_key() -> KeyPair {
    KeyPair::generate(KeySize::Rsa2048).expect("an RSA key")
}

/// A service-account key file for `key`, whose tokens come from `token_uri`.
pub fn key_file(key: &KeyPair, token_uri: &str) -> String {
    let der = AsDer::<Pkcs8V1Der>::as_der(key).expect("PKCS#8");
    let b64 = STANDARD.encode(der.as_ref());
    let lines: Vec<String> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| String::from_utf8_lossy(c).into_owned())
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

/// Starts a token endpoint that grants a token for JWTs signed by `key` with the read-only
/// storage scope, and refuses others as Google does (`invalid_grant`); returns its URL.
pub async fn token_endpoint(key: &KeyPair) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}/token", listener.local_addr().expect("addr"));
    let public_key = Arc::new(key.public_key().as_ref().to_vec());
    tokio::spawn(async move {
        while let Ok((mut s, _)) = listener.accept().await {
            let public_key = public_key.clone();
            tokio::spawn(async move {
                let Some(body) = read_request_body(&mut s).await else {
                    return;
                };
                let granted = grants(&public_key, &body);
                let answer = if granted {
                    response(
                        "200 OK",
                        &[("Content-Type", "application/json")],
                        r#"{"access_token":"ya29.test-token","expires_in":3600,"token_type":"Bearer"}"#,
                    )
                } else {
                    response(
                        "400 Bad Request",
                        &[("Content-Type", "application/json")],
                        r#"{"error":"invalid_grant","error_description":"Invalid JWT Signature."}"#,
                    )
                };
                let _ = s.write_all(answer.as_bytes()).await;
            });
        }
    });
    url
}

async fn read_request_body(s: &mut tokio::net::TcpStream) -> Option<String> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf).into_owned();
        if let Some(end) = text.find("\r\n\r\n") {
            let length: usize = text[..end]
                .lines()
                .find_map(|l| {
                    l.to_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse().unwrap_or(0))
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + length {
                return Some(text[end + 4..end + 4 + length].to_string());
            }
        }
    }
}

/// Whether the form `body` holds a JWT assertion signed by `public_key` asking for read-only
/// storage access.
fn grants(public_key: &[u8], body: &str) -> bool {
    let assertion = url::form_urlencoded::parse(body.as_bytes())
        .find(|(k, _)| k == "assertion")
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default();
    let parts: Vec<&str> = assertion.split('.').collect();
    if parts.len() != 3 {
        return false;
    }
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).unwrap_or_default();
    let claims: Value = URL_SAFE_NO_PAD
        .decode(parts[1])
        .ok()
        .and_then(|c| serde_json::from_slice(&c).ok())
        .unwrap_or_default();
    let message = format!("{}.{}", parts[0], parts[1]);
    UnparsedPublicKey::new(&RSA_PKCS1_2048_8192_SHA256, public_key)
        .verify(message.as_bytes(), &signature)
        .is_ok()
        && claims["scope"] == "https://www.googleapis.com/auth/devstorage.read_only"
}
