//! API keys (`client.security()`): what a deployment needs to mint and revoke the key the
//! connectors service authenticates with.

use reqwest::Method;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::client::{EsClient, json_body};
use crate::error::EsError;

/// The security API: `client.security()`.
#[derive(Debug, Clone, Copy)]
pub struct Security<'a> {
    client: &'a EsClient,
}

/// An API key as `POST /_security/api_key` returns it. `encoded` is `base64(id:api_key)`, the
/// value of an `Authorization: ApiKey` header. The `Debug` form hides the secret parts.
#[derive(Clone, Deserialize, Serialize)]
pub struct ApiKey {
    pub id: String,
    pub name: String,
    pub api_key: String,
    pub encoded: String,
}

impl std::fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiKey")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("api_key", &"<redacted>")
            .field("encoded", &"<redacted>")
            .finish()
    }
}

#[derive(Deserialize)]
struct Invalidated {
    #[serde(default)]
    invalidated_api_keys: Vec<String>,
}

impl EsClient {
    pub fn security(&self) -> Security<'_> {
        Security { client: self }
    }
}

impl Security<'_> {
    /// `POST /_security/api_key` with a name and optional `role_descriptors`.
    pub async fn create_api_key(
        &self,
        name: &str,
        role_descriptors: Option<&Value>,
    ) -> Result<ApiKey, EsError> {
        let mut body = json!({ "name": name });
        if let Some(roles) = role_descriptors {
            body["role_descriptors"] = roles.clone();
        }
        let url = self.client.url(&["_security", "api_key"]);
        self.client
            .request(Method::POST, url, Some(json_body(&body)?))
            .await
    }

    /// `DELETE /_security/api_key` by ids: the ids that were invalidated by this call.
    pub async fn invalidate_api_keys(&self, ids: &[&str]) -> Result<Vec<String>, EsError> {
        let url = self.client.url(&["_security", "api_key"]);
        let body = json_body(&json!({ "ids": ids }))?;
        let answer: Invalidated = self.client.request(Method::DELETE, url, Some(body)).await?;
        Ok(answer.invalidated_api_keys)
    }
}
