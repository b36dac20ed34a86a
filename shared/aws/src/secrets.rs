//! The Elasticsearch API key, kept in AWS Secrets Manager and read once per container.
//!
//! The secret's `SecretString` is one of:
//! - the encoded API key as Elasticsearch returns it in `encoded` (`base64(id:api_key)`),
//!   as plain text;
//! - JSON with `encoded` (the whole answer of `POST /_security/api_key` can be pasted);
//! - JSON `{"id": ..., "api_key": ...}`: the key's id and secret;
//! - JSON `{"api_key": ...}` alone: then `api_key` is taken as the encoded key.
//!
//! Neither the secret nor the key ever appears in a log line or an error message.

use std::fmt;

use aws_sdk_secretsmanager::error::DisplayErrorContext;
use base64::Engine as _;
use serde_json::Value;
use tokio::sync::Mutex;

/// An encoded Elasticsearch API key (`base64(id:api_key)`), redacted when printed.
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(String);

impl ApiKey {
    pub fn encoded(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("Secrets Manager GetSecretValue of {arn}: {message}")]
    Read { arn: String, message: String },
    #[error("secret {arn} has no SecretString (binary secrets are not supported)")]
    NotAString { arn: String },
    /// Says what is wrong without repeating any of the value.
    #[error("secret {arn}: {problem}")]
    Unusable { arn: String, problem: &'static str },
}

/// Reads the API key out of a secret's text (see the module documentation for the forms).
pub fn parse_api_key(text: &str) -> Result<ApiKey, &'static str> {
    let text = text.trim();
    if text.is_empty() {
        return Err("the secret is empty");
    }
    if !text.starts_with('{') {
        return plain_key(text);
    }
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(text) else {
        return Err("the secret looks like JSON but is not a JSON object");
    };
    let field = |name: &str| {
        map.get(name)
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
    };
    if let Some(encoded) = field("encoded") {
        return plain_key(encoded);
    }
    match (field("id"), field("api_key")) {
        (Some(id), Some(secret)) => Ok(ApiKey(
            base64::engine::general_purpose::STANDARD.encode(format!("{id}:{secret}")),
        )),
        (None, Some(encoded)) => plain_key(encoded),
        _ => Err("the JSON secret has neither `encoded` nor `api_key`"),
    }
}

fn plain_key(text: &str) -> Result<ApiKey, &'static str> {
    // Encoded keys are base64 (standard or URL-safe alphabet).
    if text
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b"+/=-_".contains(&b))
    {
        Ok(ApiKey(text.to_string()))
    } else {
        Err("the API key is not base64 text")
    }
}

/// The API key of one secret: fetched on first use, then cached for the container's life;
/// [`ApiKeySource::reload`] fetches it again (after Elasticsearch answered 401).
pub struct ApiKeySource {
    client: aws_sdk_secretsmanager::Client,
    arn: String,
    cached: Mutex<Option<ApiKey>>,
}

impl ApiKeySource {
    pub fn new(client: aws_sdk_secretsmanager::Client, arn: impl Into<String>) -> Self {
        ApiKeySource {
            client,
            arn: arn.into(),
            cached: Mutex::new(None),
        }
    }

    pub fn arn(&self) -> &str {
        &self.arn
    }

    /// The cached key, fetching it the first time.
    pub async fn get(&self) -> Result<ApiKey, SecretError> {
        let mut cached = self.cached.lock().await;
        if let Some(key) = cached.as_ref() {
            return Ok(key.clone());
        }
        let key = self.fetch().await?;
        *cached = Some(key.clone());
        Ok(key)
    }

    /// Fetches the key again and caches it.
    pub async fn reload(&self) -> Result<ApiKey, SecretError> {
        let mut cached = self.cached.lock().await;
        let key = self.fetch().await?;
        *cached = Some(key.clone());
        Ok(key)
    }

    async fn fetch(&self) -> Result<ApiKey, SecretError> {
        let out = self
            .client
            .get_secret_value()
            .secret_id(&self.arn)
            .send()
            .await
            .map_err(|e| SecretError::Read {
                arn: self.arn.clone(),
                message: DisplayErrorContext(e).to_string(),
            })?;
        let text = out.secret_string().ok_or_else(|| SecretError::NotAString {
            arn: self.arn.clone(),
        })?;
        tracing::info!(secret_arn = %self.arn, "read the Elasticsearch API key from Secrets Manager");
        parse_api_key(text).map_err(|problem| SecretError::Unusable {
            arn: self.arn.clone(),
            problem,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_form_is_read() {
        let encoded = base64::engine::general_purpose::STANDARD.encode("kid:ksecret");
        assert_eq!(parse_api_key(&encoded).unwrap().encoded(), encoded);
        assert_eq!(
            parse_api_key(&format!(" {encoded}\n")).unwrap().encoded(),
            encoded
        );
        let json = r#"{"id":"kid","api_key":"ksecret"}"#;
        assert_eq!(parse_api_key(json).unwrap().encoded(), encoded);
        let json = format!(r#"{{"api_key":"{encoded}"}}"#);
        assert_eq!(parse_api_key(&json).unwrap().encoded(), encoded);
        let created =
            format!(r#"{{"id":"kid","name":"n","api_key":"ksecret","encoded":"{encoded}"}}"#);
        assert_eq!(parse_api_key(&created).unwrap().encoded(), encoded);
    }

    #[test]
    fn bad_secrets_are_refused_without_echoing_them() {
        for bad in ["", "  ", "{not json", r#"{"user":"x"}"#, "two words", "[1]"] {
            let e = parse_api_key(bad).unwrap_err();
            assert!(bad.trim().is_empty() || !e.contains(bad.trim()), "{e}");
        }
        assert_eq!(
            format!("{:?}", parse_api_key("abc").unwrap()),
            "ApiKey(<redacted>)"
        );
    }
}
