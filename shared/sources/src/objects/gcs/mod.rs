//! `google_cloud_storage`: Google Cloud Storage buckets over the JSON API, authorized as a
//! service account (see [`auth`]), with the reference's configuration schema and documents: the
//! object resource's fields under the reference's names (`_id` is the object's `id`,
//! `bucket/name/generation`; `size` and `version` stay strings), and `url` to the console.
//!
//! The endpoint is Google's, or the emulator's of `STORAGE_EMULATOR_HOST` (the variable Google's
//! own libraries read), or the one the service sets for tests. Unlike the reference, a listing
//! refused for lack of permission or a missing bucket ends the job with an error naming the
//! bucket (the reference logs it and goes on).

mod auth;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use connectors_protocol::{ConfigField, Configuration, Display, FieldType};
use connectors_sdk::{DataSource, Fields, SourceDescriptor, SourceError, SourceFeatures};
use serde::Deserialize;
use serde_json::{Map, Value, json};
use url::Url;

use self::auth::ServiceAccount;
use super::s3::extraction_field;
use super::{Limits, Listed, Listing, ObjectSource, Scope, Store};
use crate::http;

const GOOGLE_ENDPOINT: &str = "https://storage.googleapis.com";
const CONSOLE_URL: &str = "https://console.cloud.google.com/storage/browser/_details/";
/// The reference's `RETRY_COUNT`.
const ATTEMPTS: u32 = 3;

/// Document field and object resource field, in the reference's order (`BLOB_ADAPTER`).
const FIELDS: [(&str, &str); 15] = [
    ("_id", "id"),
    ("component_count", "componentCount"),
    ("content_encoding", "contentEncoding"),
    ("content_language", "contentLanguage"),
    ("created_at", "timeCreated"),
    ("last_updated", "updated"),
    ("metadata", "metadata"),
    ("name", "name"),
    ("size", "size"),
    ("storage_class", "storageClass"),
    ("_timestamp", "updated"),
    ("type", "contentType"),
    ("url", "selfLink"),
    ("version", "generation"),
    ("bucket_name", "bucket"),
];

/// The `google_cloud_storage` source.
#[derive(Debug, Clone)]
pub struct GcsSource {
    /// The content cap and the incremental margin.
    pub limits: Limits,
    /// The JSON API's base URL when not Google's (an emulator).
    pub endpoint_url: Option<String>,
}

impl Default for GcsSource {
    fn default() -> Self {
        GcsSource {
            limits: Limits::default(),
            endpoint_url: std::env::var("STORAGE_EMULATOR_HOST")
                .ok()
                .filter(|s| !s.is_empty()),
        }
    }
}

impl SourceDescriptor for GcsSource {
    fn service_type(&self) -> &'static str {
        "google_cloud_storage"
    }

    fn name(&self) -> &'static str {
        "Google Cloud Storage"
    }

    fn default_configuration(&self) -> Configuration {
        let mut buckets = ConfigField::new("Google Cloud Storage buckets");
        buckets.order = 1;
        buckets.display = Display::Textarea;
        buckets.field_type = FieldType::List;
        let mut credentials = ConfigField::new("Google Cloud service account JSON");
        credentials.order = 2;
        credentials.display = Display::Textarea;
        credentials.sensitive = true;
        Configuration::from([
            ("buckets".to_string(), buckets),
            ("service_account_credentials".to_string(), credentials),
            (
                "use_text_extraction_service".to_string(),
                extraction_field(3),
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
        let account = ServiceAccount::from_json(&f.raw_text("service_account_credentials"))?;
        let base = self.endpoint_url.as_deref().unwrap_or(GOOGLE_ENDPOINT);
        let base = Url::parse(base.trim_end_matches('/')).map_err(|e| {
            SourceError::config(
                "service_account_credentials",
                format!("The storage endpoint '{base}' is not a URL: {e}"),
            )
        })?;
        let store = GcsStore {
            project: account.project_id.clone().unwrap_or_default(),
            account,
            buckets: f.list("buckets"),
            base,
            client: http::client(),
        };
        Ok(Box::new(ObjectSource::new(store, self.limits)))
    }
}

struct GcsStore {
    account: ServiceAccount,
    project: String,
    buckets: Vec<String>,
    base: Url,
    client: reqwest::Client,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListPage {
    #[serde(default)]
    items: Vec<Map<String, Value>>,
    #[serde(default)]
    next_page_token: Option<String>,
}

impl GcsStore {
    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.base.clone();
        if let Ok(mut path) = url.path_segments_mut() {
            path.pop_if_empty();
            path.extend(segments);
        }
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    async fn get(
        &self,
        what: &str,
        bucket: Option<&str>,
        url: Url,
    ) -> Result<reqwest::Response, SourceError> {
        let token = self.account.token(&self.client).await?;
        let response = http::send(what, ATTEMPTS, || {
            Ok(self.client.get(url.clone()).bearer_auth(&token))
        })
        .await?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        let detail = http::error_text(response).await;
        let on = bucket
            .map(|b| format!(" for the bucket '{b}'"))
            .unwrap_or_default();
        Err(match status.as_u16() {
            401 | 403 => SourceError::Unavailable(format!(
                "Google Cloud Storage refused the service account{on}: {detail}"
            )),
            404 if bucket.is_some() => {
                SourceError::config("buckets", format!("{what}: not found: {detail}"))
            }
            _ => SourceError::Other(format!("{what}: {detail}")),
        })
    }

    async fn page(
        &self,
        what: &str,
        bucket: Option<&str>,
        url: Url,
    ) -> Result<ListPage, SourceError> {
        let unreadable = |e: &dyn std::fmt::Display| {
            SourceError::Other(format!("{what}: the answer could not be read: {e}"))
        };
        let body = self
            .get(what, bucket, url)
            .await?
            .bytes()
            .await
            .map_err(|e| unreadable(&e))?;
        serde_json::from_slice(&body).map_err(|e| unreadable(&e))
    }
}

#[async_trait]
impl Store for GcsStore {
    fn container_field(&self) -> &'static str {
        "bucket_name"
    }

    async fn ping(&self) -> Result<(), SourceError> {
        // The reference's `projects.serviceAccount.get`; emulators do not serve it, so the
        // token and a one-object listing of the first configured bucket stand in for it there.
        self.account.token(&self.client).await?;
        if self.base.as_str().trim_end_matches('/') == GOOGLE_ENDPOINT {
            let url = self.url(
                &["storage", "v1", "projects", &self.project, "serviceAccount"],
                &[],
            );
            self.get("Connecting to Google Cloud Storage", None, url)
                .await?;
        }
        Ok(())
    }

    async fn scopes(&self) -> Result<Vec<Scope>, SourceError> {
        if !self.buckets.iter().any(|b| b == "*") {
            return Ok(self.buckets.iter().map(Scope::whole).collect());
        }
        let mut scopes = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut query = vec![
                ("project", self.project.as_str()),
                ("userProject", self.project.as_str()),
            ];
            if let Some(t) = &token {
                query.push(("pageToken", t));
            }
            let url = self.url(&["storage", "v1", "b"], &query);
            let page = self.page("Listing the buckets", None, url).await?;
            scopes.extend(
                page.items
                    .iter()
                    .filter_map(|b| {
                        b.get("id")
                            .or_else(|| b.get("name"))
                            .and_then(Value::as_str)
                    })
                    .map(Scope::whole),
            );
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t),
                None => return Ok(scopes),
            }
        }
    }

    async fn list(
        &self,
        scope: &Scope,
        token: Option<&str>,
        max: usize,
    ) -> Result<Listing, SourceError> {
        let bucket = scope.container.as_str();
        let max = max.to_string();
        let mut query = vec![
            ("userProject", self.project.as_str()),
            ("maxResults", max.as_str()),
        ];
        if !scope.prefix.is_empty() {
            query.push(("prefix", scope.prefix.as_str()));
        }
        if let Some(t) = token {
            query.push(("pageToken", t));
        }
        let url = self.url(&["storage", "v1", "b", bucket, "o"], &query);
        let page = self
            .page(
                &format!("Listing the objects of '{bucket}'"),
                Some(bucket),
                url,
            )
            .await?;
        Ok(Listing {
            objects: page
                .items
                .iter()
                .map(|o| listed(&self.project, o))
                .collect(),
            next: page.next_page_token.filter(|t| !t.is_empty()),
        })
    }

    async fn read(
        &self,
        bucket: &str,
        key: &str,
        max: u64,
    ) -> Result<Option<Vec<u8>>, SourceError> {
        let what = format!("Downloading '{key}' from '{bucket}'");
        let url = self.url(
            &["storage", "v1", "b", bucket, "o", key],
            &[("alt", "media"), ("userProject", self.project.as_str())],
        );
        let response = self.get(&what, None, url).await?;
        http::body_capped(&what, response, max).await
    }
}

/// Python's `urllib.parse.quote(text, safe="'")`.
fn quote(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"_.-~'".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The document of one object (`prepare_blob_document`).
fn listed(project: &str, object: &Map<String, Value>) -> Listed {
    let mut document = Map::new();
    for (field, source) in FIELDS {
        document.insert(
            field.into(),
            object.get(source).cloned().unwrap_or(Value::Null),
        );
    }
    let text = |v: Option<&Value>| match v {
        Some(Value::String(s)) => s.clone(),
        None | Some(Value::Null) => "None".to_string(),
        Some(other) => other.to_string(),
    };
    let name = text(object.get("name"));
    document.insert(
        "url".into(),
        json!(format!(
            "{CONSOLE_URL}{}/{};tab=live_object?project={project}",
            text(object.get("bucket")),
            quote(&name)
        )),
    );
    let size: u64 = match object.get("size") {
        Some(Value::String(s)) => s.parse().unwrap_or(0),
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        _ => 0,
    };
    let modified = object
        .get("updated")
        .and_then(Value::as_str)
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    Listed {
        key: name,
        size,
        modified,
        document,
        downloadable: size > 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn documents_as_the_reference_writes_them() {
        let object = json!({"id": "bucket_1/blob_1/123123123", "updated": "2011-10-12T00:01:00Z", "name": "blob_1"});
        let l = listed("dummy123", object.as_object().unwrap());
        assert_eq!(
            Value::Object(l.document),
            json!({"_id": "bucket_1/blob_1/123123123", "component_count": null, "content_encoding": null, "content_language": null, "created_at": null, "last_updated": "2011-10-12T00:01:00Z", "metadata": null, "name": "blob_1", "size": null, "storage_class": null, "_timestamp": "2011-10-12T00:01:00Z", "type": null, "url": "https://console.cloud.google.com/storage/browser/_details/None/blob_1;tab=live_object?project=dummy123", "version": null, "bucket_name": null})
        );
        assert!(!l.downloadable);
    }

    #[test]
    fn console_urls_quote_as_python() {
        assert_eq!(
            quote("demo folder/it's a+b&c~_.-é.txt"),
            "demo%20folder%2Fit's%20a%2Bb%26c~_.-%C3%A9.txt"
        );
    }
}
