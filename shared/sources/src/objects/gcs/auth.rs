//! Google service-account authorization: a JWT signed with the account's RSA key (RS256) is
//! exchanged at the key's `token_uri` for an OAuth access token, cached until a minute before it
//! expires. The official Google crates bring gRPC and their own HTTP stacks for this one request;
//! the signature uses aws-lc-rs, already the TLS provider of the build.

use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use connectors_sdk::SourceError;
use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::http;

/// Read-only access to objects and bucket listings.
pub(crate) const SCOPE: &str = "https://www.googleapis.com/auth/devstorage.read_only";
/// The keys a service-account file may have (the reference's `SERVICE_ACCOUNT_JSON_ALLOWED_KEYS`).
const ALLOWED_KEYS: [&str; 14] = [
    "type",
    "project_id",
    "private_key_id",
    "private_key",
    "client_email",
    "client_id",
    "auth_uri",
    "token_uri",
    "auth_provider_x509_cert_url",
    "client_x509_cert_url",
    "subject",
    "scopes",
    "additional_claims",
    "universe_domain",
];
const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// The fields of a service-account key file we use.
#[derive(Deserialize)]
struct KeyFile {
    client_email: String,
    private_key: String,
    #[serde(default)]
    token_uri: Option<String>,
    #[serde(default)]
    project_id: Option<String>,
}

pub(crate) struct ServiceAccount {
    email: String,
    key: RsaKeyPair,
    token_uri: String,
    pub(crate) project_id: Option<String>,
    token: Mutex<Option<(String, Instant)>>,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccount")
            .field("email", &self.email)
            .field("token_uri", &self.token_uri)
            .finish_non_exhaustive()
    }
}

fn bad_key(why: &str) -> SourceError {
    SourceError::config(
        "service_account_credentials",
        format!("The service account credentials are not a valid key file: {why}."),
    )
}

impl ServiceAccount {
    /// Parses a key file (the JSON Google Cloud gives for a service account key) as the
    /// reference accepts it: possibly as an escaped JSON string, with only the keys Google's
    /// libraries know, and a private key that may have lost its line breaks.
    pub(crate) fn from_json(text: &str) -> Result<Self, SourceError> {
        let invalid = |detail: String| {
            SourceError::config(
                "service_account_credentials",
                format!("Google Cloud Storage service account is not a valid JSON.{detail}"),
            )
        };
        let mut value: Value =
            serde_json::from_str(text).map_err(|e| invalid(format!(" Exception: {e}")))?;
        if let Value::String(inner) = &value {
            value = serde_json::from_str(inner).map_err(|e| invalid(format!(" Exception: {e}")))?;
        }
        let Value::Object(map) = &value else {
            return Err(invalid(String::new()));
        };
        if let Some(key) = map.keys().find(|k| !ALLOWED_KEYS.contains(&k.as_str())) {
            return Err(SourceError::config(
                "service_account_credentials",
                format!(
                    "Google Cloud Storage service account JSON contains an unexpected key: '{key}'. Allowed keys are: {{{}}}",
                    ALLOWED_KEYS
                        .iter()
                        .map(|k| format!("'{k}'"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        let file: KeyFile =
            serde_json::from_value(value.clone()).map_err(|e| bad_key(&e.to_string()))?;
        let pem = if file.private_key.contains('\n') {
            file.private_key.clone()
        } else {
            repair_pem(&file.private_key)
        };
        let der = pem_body(&pem).ok_or_else(|| bad_key("private_key is not a PEM key"))?;
        let key = RsaKeyPair::from_pkcs8(&der)
            .map_err(|_| bad_key("private_key is not a PKCS#8 RSA key"))?;
        Ok(ServiceAccount {
            email: file.client_email,
            key,
            token_uri: file
                .token_uri
                .unwrap_or_else(|| GOOGLE_TOKEN_URI.to_string()),
            project_id: file.project_id,
            token: Mutex::new(None),
        })
    }

    /// A valid access token, fetched when there is none or it is about to expire.
    pub(crate) async fn token(&self, client: &reqwest::Client) -> Result<String, SourceError> {
        let mut cached = self.token.lock().await;
        if let Some((token, until)) = cached.as_ref()
            && Instant::now() < *until
        {
            return Ok(token.clone());
        }
        let assertion = self.assertion()?;
        let body = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer")
            .append_pair("assertion", &assertion)
            .finish();
        let response = http::send("Google OAuth token request", 3, || {
            Ok(client
                .post(&self.token_uri)
                .header("content-type", "application/x-www-form-urlencoded")
                .body(body.clone()))
        })
        .await?;
        if !response.status().is_success() {
            return Err(SourceError::Unavailable(format!(
                "Google refused the service account '{}': {}",
                self.email,
                http::error_text(response).await
            )));
        }
        #[derive(Deserialize)]
        struct Token {
            access_token: String,
            #[serde(default)]
            expires_in: Option<u64>,
        }
        let body = response.bytes().await.map_err(|e| {
            SourceError::Unavailable(format!("Google's token answer could not be read: {e}"))
        })?;
        let token: Token = serde_json::from_slice(&body).map_err(|e| {
            SourceError::Unavailable(format!("Google's token answer could not be read: {e}"))
        })?;
        let life = Duration::from_secs(token.expires_in.unwrap_or(3600).saturating_sub(60));
        *cached = Some((token.access_token.clone(), Instant::now() + life));
        Ok(token.access_token)
    }

    /// The signed JWT of the token request.
    fn assertion(&self) -> Result<String, SourceError> {
        let now = chrono::Utc::now().timestamp();
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","typ":"JWT"}"#);
        let claims = json!({
            "iss": self.email,
            "scope": SCOPE,
            "aud": self.token_uri,
            "iat": now,
            "exp": now + 3600,
        });
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        let message = format!("{header}.{claims}");
        let mut signature = vec![0u8; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                message.as_bytes(),
                &mut signature,
            )
            .map_err(|_| SourceError::Other("could not sign the Google token request".into()))?;
        Ok(format!("{message}.{}", URL_SAFE_NO_PAD.encode(signature)))
    }
}

/// A PEM key pasted on one line (its line breaks turned into spaces): the reference's
/// `get_pem_format`.
fn repair_pem(key: &str) -> String {
    const BEGIN: &str = "-----BEGIN PRIVATE KEY-----";
    const END: &str = "-----END PRIVATE KEY-----";
    let key = key.trim();
    let body = key
        .strip_prefix(BEGIN)
        .and_then(|k| k.strip_suffix(END))
        .unwrap_or(key);
    let body: String = body.split_whitespace().collect::<Vec<_>>().join("\n");
    format!("{BEGIN}\n{body}\n{END}\n")
}

/// The DER bytes of the first PEM block of `pem`.
fn pem_body(pem: &str) -> Option<Vec<u8>> {
    let mut reader = std::io::BufReader::new(pem.as_bytes());
    match rustls_pemfile::read_one(&mut reader).ok()?? {
        rustls_pemfile::Item::Pkcs8Key(key) => Some(key.secret_pkcs8_der().to_vec()),
        _ => None,
    }
}
