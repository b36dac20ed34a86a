//! `s3`: Amazon S3 buckets through `aws-sdk-s3`, with the reference's configuration schema,
//! documents (`_id` = MD5 of `bucket/key`; `filename`, `size_in_bytes`, `bucket`, `owner`,
//! `storage_class`, `_timestamp`) and advanced rules (bucket, prefix, extensions).
//!
//! As the reference does, objects are listed with ListObjects (v1, which returns owners), each
//! bucket through a client of its own region (GetBucketLocation). Unlike the reference, the
//! access keys may be left empty: the worker then uses its own credentials (its Lambda role).
//! The endpoint is the SDK's (`AWS_ENDPOINT_URL`), or the one the service sets for tests; a
//! custom endpoint is addressed path-style.

use std::collections::HashMap;
use std::time::Duration;

use async_trait::async_trait;
use aws_config::BehaviorVersion;
use aws_config::environment::region::EnvironmentVariableRegionProvider;
use aws_config::meta::region::RegionProviderChain;
use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_sdk_s3::Client;
use aws_sdk_s3::config::{Credentials, Region};
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use chrono::DateTime;
use connectors_protocol::{ConfigField, Configuration, Display, FieldType};
use connectors_sdk::{DataSource, Fields, SourceDescriptor, SourceError, SourceFeatures, hash_id};
use serde_json::{Map, Value, json};
use tokio::sync::{Mutex, OnceCell};
use tracing::warn;

use super::{Limits, Listed, Listing, ObjectSource, Scope, Store};
use crate::python;

/// The `s3` source.
#[derive(Debug, Clone, Default)]
pub struct S3Source {
    /// The content cap and the incremental margin.
    pub limits: Limits,
    /// An endpoint for every client (tests; otherwise the SDK's configuration decides).
    pub endpoint_url: Option<String>,
}

pub(crate) const EXTRACTION_TOOLTIP: &str = "Requires a separate deployment of the Elastic Text Extraction Service. Requires that pipeline settings disable text extraction.";

/// The reference's `use_text_extraction_service` field.
pub(crate) fn extraction_field(order: i64) -> ConfigField {
    let mut f = ConfigField::new("Use text extraction service");
    f.order = order;
    f.display = Display::Toggle;
    f.field_type = FieldType::Bool;
    f.tooltip = Some(EXTRACTION_TOOLTIP.into());
    f.ui_restrictions = vec!["advanced".into()];
    f.value = Value::Bool(false);
    f
}

/// An optional advanced integer field with a default.
pub(crate) fn advanced_int(label: &str, order: i64, default: i64) -> ConfigField {
    let mut f = ConfigField::new(label);
    f.order = order;
    f.display = Display::Numeric;
    f.field_type = FieldType::Int;
    f.required = false;
    f.default_value = json!(default);
    f.ui_restrictions = vec!["advanced".into()];
    f
}

impl SourceDescriptor for S3Source {
    fn service_type(&self) -> &'static str {
        "s3"
    }

    fn name(&self) -> &'static str {
        "Amazon S3"
    }

    fn default_configuration(&self) -> Configuration {
        let mut buckets = ConfigField::new("AWS Buckets");
        buckets.order = 1;
        buckets.display = Display::Textarea;
        buckets.field_type = FieldType::List;
        buckets.tooltip = Some("AWS Buckets are ignored when Advanced Sync Rules are used.".into());
        let mut key_id = ConfigField::new("AWS Access Key Id");
        key_id.order = 2;
        // Not required (the reference requires both keys): empty keys mean the worker's own
        // credentials.
        key_id.required = false;
        let mut secret = ConfigField::new("AWS Secret Key");
        secret.order = 3;
        secret.sensitive = true;
        secret.required = false;
        Configuration::from([
            ("buckets".to_string(), buckets),
            ("aws_access_key_id".to_string(), key_id),
            ("aws_secret_access_key".to_string(), secret),
            (
                "read_timeout".to_string(),
                advanced_int("Read timeout", 4, 90),
            ),
            (
                "connect_timeout".to_string(),
                advanced_int("Connection timeout", 5, 90),
            ),
            (
                "max_attempts".to_string(),
                advanced_int("Maximum retry attempts", 6, 5),
            ),
            (
                "page_size".to_string(),
                advanced_int("Maximum size of page", 7, 100),
            ),
            (
                "use_text_extraction_service".to_string(),
                extraction_field(8),
            ),
        ])
    }

    fn features(&self) -> SourceFeatures {
        SourceFeatures {
            advanced_rules: true,
            incremental_sync: true,
            ..SourceFeatures::default()
        }
    }

    fn build(&self, configuration: &Configuration) -> Result<Box<dyn DataSource>, SourceError> {
        let f = Fields(configuration);
        let keys = match (f.text("aws_access_key_id"), f.text("aws_secret_access_key")) {
            (Some(id), Some(secret)) => Some((id, secret)),
            (None, None) => None,
            _ => {
                return Err(SourceError::config(
                    "aws_access_key_id",
                    "Set both 'AWS Access Key Id' and 'AWS Secret Key', or neither to use the worker's own credentials.",
                ));
            }
        };
        let seconds = |key: &str, default: i64| -> Result<Duration, SourceError> {
            Ok(Duration::from_secs(
                f.int(key, default)?.clamp(1, 3600) as u64
            ))
        };
        let store = S3Store {
            buckets: f.list("buckets"),
            keys,
            read_timeout: seconds("read_timeout", 90)?,
            connect_timeout: seconds("connect_timeout", 90)?,
            max_attempts: f.int("max_attempts", 5)?.clamp(0, 20) as u32,
            page_size: f.int("page_size", 100)?.clamp(1, 1000) as usize,
            endpoint_url: self.endpoint_url.clone(),
            base: OnceCell::new(),
            regional: Mutex::new(HashMap::new()),
        };
        Ok(Box::new(ObjectSource::new(store, self.limits)))
    }
}

struct S3Store {
    buckets: Vec<String>,
    keys: Option<(String, String)>,
    read_timeout: Duration,
    connect_timeout: Duration,
    max_attempts: u32,
    page_size: usize,
    endpoint_url: Option<String>,
    /// The client of the default region, made on first use.
    base: OnceCell<(aws_sdk_s3::Config, Client)>,
    /// A client per bucket: of the bucket's region.
    regional: Mutex<HashMap<String, Client>>,
}

impl S3Store {
    async fn base(&self) -> &(aws_sdk_s3::Config, Client) {
        self.base
            .get_or_init(|| async {
                // The region of the environment (`AWS_REGION` in Lambda), else us-east-1, as
                // botocore; never the instance metadata service.
                let region =
                    RegionProviderChain::first_try(EnvironmentVariableRegionProvider::new())
                        .or_else(Region::new("us-east-1"));
                let mut loader = aws_config::defaults(BehaviorVersion::latest())
                    .region(region)
                    .timeout_config(
                        TimeoutConfig::builder()
                            .connect_timeout(self.connect_timeout)
                            .read_timeout(self.read_timeout)
                            .build(),
                    )
                    // botocore's `max_attempts` counts the retries after the first request.
                    .retry_config(RetryConfig::standard().with_max_attempts(self.max_attempts + 1));
                if let Some((id, secret)) = &self.keys {
                    loader = loader.credentials_provider(Credentials::new(
                        id,
                        secret,
                        None,
                        None,
                        "connector-configuration",
                    ));
                }
                if let Some(url) = &self.endpoint_url {
                    loader = loader.endpoint_url(url);
                }
                let sdk = loader.load().await;
                let mut config = aws_sdk_s3::config::Builder::from(&sdk);
                if sdk.endpoint_url().is_some() {
                    config = config.force_path_style(true);
                }
                let config = config.build();
                (config.clone(), Client::from_conf(config))
            })
            .await
    }

    /// The client of the bucket's region (the reference's `get_bucket_region`; a bucket whose
    /// region cannot be read is listed with the default client).
    async fn client(&self, bucket: &str) -> Client {
        if let Some(c) = self.regional.lock().await.get(bucket) {
            return c.clone();
        }
        let (config, base) = self.base().await;
        let client = match base.get_bucket_location().bucket(bucket).send().await {
            Ok(out) => {
                let region = match out.location_constraint().map(|c| c.as_str()) {
                    None | Some("") => "us-east-1".to_string(),
                    Some("EU") => "eu-west-1".to_string(),
                    Some(r) => r.to_string(),
                };
                if config.region().is_some_and(|r| r.as_ref() == region) {
                    base.clone()
                } else {
                    Client::from_conf(config.to_builder().region(Region::new(region)).build())
                }
            }
            Err(e) => {
                warn!(%bucket, error = %describe(&e), "Unable to fetch the region of the bucket");
                base.clone()
            }
        };
        self.regional
            .lock()
            .await
            .insert(bucket.to_string(), client.clone());
        client
    }
}

/// An SDK error's code and message, or its kind: never the credentials.
fn describe<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    e: &SdkError<E, R>,
) -> String {
    match e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            format!(
                "{}: {}",
                err.code().unwrap_or("error"),
                err.message().unwrap_or("no message")
            )
        }
        other => {
            let mut text = other.to_string();
            let mut source = std::error::Error::source(other);
            while let Some(s) = source {
                text = format!("{text}: {s}");
                source = s.source();
            }
            text
        }
    }
}

/// How a failed call on `bucket` ends: a missing bucket and refused credentials are the
/// connector's errors; anything else (already retried by the SDK) is this bucket's.
fn failure<E: ProvideErrorMetadata + std::error::Error + 'static, R: std::fmt::Debug>(
    bucket: &str,
    e: &SdkError<E, R>,
) -> SourceError {
    let code = match e {
        SdkError::ServiceError(s) => s.err().code().unwrap_or("").to_string(),
        _ => String::new(),
    };
    let text = describe(e);
    match code.as_str() {
        "NoSuchBucket" => SourceError::config(
            "buckets",
            format!("The bucket '{bucket}' does not exist ({text})."),
        ),
        "InvalidAccessKeyId"
        | "SignatureDoesNotMatch"
        | "AccessDenied"
        | "ExpiredToken"
        | "InvalidToken"
        | "AllAccessDisabled" => SourceError::Unavailable(format!(
            "AWS refused access to the bucket '{bucket}': {text}"
        )),
        _ => SourceError::Other(format!("Listing the bucket '{bucket}' failed: {text}")),
    }
}

#[async_trait]
impl Store for S3Store {
    fn container_field(&self) -> &'static str {
        "bucket"
    }

    async fn ping(&self) -> Result<(), SourceError> {
        let (_, client) = self.base().await;
        client.list_buckets().send().await.map_err(|e| {
            SourceError::Unavailable(format!("Error while connecting to AWS: {}", describe(&e)))
        })?;
        Ok(())
    }

    async fn scopes(&self) -> Result<Vec<Scope>, SourceError> {
        if self.buckets != ["*"] {
            return Ok(self.buckets.iter().map(Scope::whole).collect());
        }
        let (_, client) = self.base().await;
        let out = client.list_buckets().send().await.map_err(|e| {
            SourceError::Unavailable(format!("Listing the buckets failed: {}", describe(&e)))
        })?;
        Ok(out
            .buckets()
            .iter()
            .filter_map(|b| b.name())
            .map(Scope::whole)
            .collect())
    }

    fn page_size(&self, hint: usize) -> usize {
        self.page_size.min(hint.max(1))
    }

    async fn list(
        &self,
        scope: &Scope,
        token: Option<&str>,
        max: usize,
    ) -> Result<Listing, SourceError> {
        let bucket = scope.container.as_str();
        let client = self.client(bucket).await;
        let out = client
            .list_objects()
            .bucket(bucket)
            .set_prefix((!scope.prefix.is_empty()).then(|| scope.prefix.clone()))
            .set_marker(token.map(str::to_string))
            .max_keys(max as i32)
            .send()
            .await
            .map_err(|e| failure(bucket, &e))?;
        let objects: Vec<Listed> = out
            .contents()
            .iter()
            .filter_map(|o| listed(bucket, o))
            .collect();
        let next = if out.is_truncated() == Some(true) {
            out.next_marker()
                .map(str::to_string)
                .or_else(|| objects.last().map(|o| o.key.clone()))
        } else {
            None
        };
        Ok(Listing { objects, next })
    }

    async fn read(
        &self,
        bucket: &str,
        key: &str,
        max: u64,
    ) -> Result<Option<Vec<u8>>, SourceError> {
        let client = self.client(bucket).await;
        let out = client
            .get_object()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| {
                SourceError::Other(format!(
                    "Downloading '{key}' from '{bucket}' failed: {}",
                    describe(&e)
                ))
            })?;
        if out.content_length().is_some_and(|n| n as u64 > max) {
            return Ok(None);
        }
        let mut body = out.body;
        let mut bytes = Vec::new();
        while let Some(chunk) = body.try_next().await.map_err(|e| {
            SourceError::Other(format!("Downloading '{key}' from '{bucket}' failed: {e}"))
        })? {
            if (bytes.len() + chunk.len()) as u64 > max {
                return Ok(None);
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Some(bytes))
    }

    fn rule_scopes(&self, rules: &Value) -> Option<Result<Vec<Scope>, SourceError>> {
        let rules = rules.as_array()?;
        Some(
            rules
                .iter()
                .map(|rule| {
                    let bucket = rule.get("bucket").and_then(Value::as_str).ok_or_else(|| {
                        SourceError::config(
                            "advanced_snippet",
                            "Each advanced rule needs a 'bucket'.",
                        )
                    })?;
                    let extensions = rule
                        .get("extension")
                        .and_then(Value::as_array)
                        .filter(|a| !a.is_empty())
                        .map(|a| {
                            a.iter()
                                .map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
                                .collect()
                        });
                    Ok(Scope {
                        container: bucket.to_string(),
                        prefix: rule
                            .get("prefix")
                            .and_then(Value::as_str)
                            .unwrap_or("")
                            .to_string(),
                        extensions,
                    })
                })
                .collect(),
        )
    }

    fn validate_rules(&self, rules: &Value) -> Vec<String> {
        validate_rules(rules).err().into_iter().collect()
    }
}

/// The document of one listed object (`format_document`).
fn listed(bucket: &str, object: &aws_sdk_s3::types::Object) -> Option<Listed> {
    let key = object.key()?.to_string();
    let size = object.size().unwrap_or(0).max(0) as u64;
    let modified = object
        .last_modified()
        .and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()));
    let owner = match object.owner() {
        None => Value::String(String::new()),
        Some(o) => o.display_name().map_or(Value::Null, |n| json!(n)),
    };
    let mut document = Map::new();
    document.insert("_id".into(), json!(hash_id(&format!("{bucket}/{key}"))));
    document.insert("filename".into(), json!(key));
    document.insert("size_in_bytes".into(), json!(size));
    document.insert("bucket".into(), json!(bucket));
    document.insert("owner".into(), owner);
    document.insert(
        "storage_class".into(),
        object
            .storage_class()
            .map_or(Value::Null, |c| json!(c.as_str())),
    );
    document.insert(
        "_timestamp".into(),
        modified.map_or(Value::Null, |m| json!(python::isoformat(m))),
    );
    Some(Listed {
        key,
        size,
        modified,
        document,
        downloadable: true,
    })
}

/// The reference's JSON-schema check of S3 advanced rules, with fastjsonschema's messages (the
/// first problem found).
pub fn validate_rules(rules: &Value) -> Result<(), String> {
    let empty_object = rules.as_object().is_some_and(Map::is_empty);
    if empty_object {
        return Ok(());
    }
    let Some(items) = rules.as_array() else {
        return Err("data must be array".into());
    };
    for (i, item) in items.iter().enumerate() {
        let Some(rule) = item.as_object() else {
            return Err(format!("data[{i}] must be object"));
        };
        if !rule.contains_key("bucket") {
            return Err(format!("data[{i}] must contain ['bucket'] properties"));
        }
        match rule.get("bucket") {
            Some(Value::String(b)) if b.chars().count() >= 1 => {}
            Some(Value::String(_)) => {
                return Err(format!(
                    "data[{i}].bucket must be longer than or equal to 1 characters"
                ));
            }
            _ => return Err(format!("data[{i}].bucket must be string")),
        }
        if rule.get("prefix").is_some_and(|p| !p.is_string()) {
            return Err(format!("data[{i}].prefix must be string"));
        }
        if rule.get("extension").is_some_and(|e| !e.is_array()) {
            return Err(format!("data[{i}].extension must be array"));
        }
        python::unexpected_properties(i, rule, &["bucket", "prefix", "extension"])?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advanced_rules_are_checked_as_the_reference_does() {
        let ok = json!([{"bucket": "b", "prefix": "p/", "extension": [".txt"]}]);
        assert_eq!(validate_rules(&ok), Ok(()));
        assert_eq!(validate_rules(&json!([])), Ok(()));
        assert_eq!(validate_rules(&json!({})), Ok(()));
        for (rules, message) in [
            (
                json!([{"bucket": "b", "extension": ".txt"}]),
                "data[0].extension must be array",
            ),
            (json!({"bucket": ["b"]}), "data must be array"),
            (
                json!([{"prefix": "p"}]),
                "data[0] must contain ['bucket'] properties",
            ),
            (
                json!([{"bucket": ""}]),
                "data[0].bucket must be longer than or equal to 1 characters",
            ),
            (
                json!([{"bucket": "b", "foo": 1}]),
                "data[0] must not contain {'foo'} properties",
            ),
            (json!([{"bucket": 1}]), "data[0].bucket must be string"),
            (
                json!([{"bucket": "b", "prefix": 1}]),
                "data[0].prefix must be string",
            ),
        ] {
            assert_eq!(validate_rules(&rules), Err(message.to_string()), "{rules}");
        }
    }

    #[test]
    fn ids_are_md5_of_bucket_and_key() {
        let o = aws_sdk_s3::types::Object::builder()
            .key("1.txt")
            .size(3)
            .build();
        let l = listed("bucket1", &o).unwrap();
        assert_eq!(l.document["_id"], "70743168e14c18632702ee6e3e9b73fc");
        assert_eq!(l.document["owner"], "");
    }
}
