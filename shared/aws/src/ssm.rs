//! The Elasticsearch URL from an SSM parameter (a `String` or `SecureString`).

use aws_sdk_ssm::error::DisplayErrorContext;
use tracing::info;

/// An SSM parameter that could not be read or is empty.
#[derive(Debug, thiserror::Error)]
#[error("SSM GetParameter {name}: {message}")]
pub struct ParameterError {
    pub name: String,
    pub message: String,
}

/// Reads the parameter `name` (decrypted), trimmed; an empty value is an error.
pub async fn read_parameter(
    client: &aws_sdk_ssm::Client,
    name: &str,
) -> Result<String, ParameterError> {
    let out = client
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| ParameterError {
            name: name.to_string(),
            message: DisplayErrorContext(e).to_string(),
        })?;
    let value = out
        .parameter()
        .and_then(|p| p.value())
        .map(str::trim)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ParameterError {
            name: name.to_string(),
            message: "the parameter is empty".into(),
        })?;
    info!(parameter = name, "read the Elasticsearch URL from SSM");
    Ok(value.to_string())
}
