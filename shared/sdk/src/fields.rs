//! Typed reading of a connector's configuration values, as the reference casts them
//! (`DataSourceConfiguration`): empty strings are absent, numbers may arrive as text, and a list
//! may be a comma-separated string. Messages name the field.

use connectors_protocol::{ConfigField, Configuration};
use serde_json::Value;

use crate::SourceError;

/// Typed access to a configuration, with messages that name the field.
pub struct Fields<'a>(pub &'a Configuration);

impl Fields<'_> {
    fn value(&self, key: &str) -> Value {
        self.0
            .get(key)
            .map(ConfigField::effective_value)
            .unwrap_or(Value::Null)
    }

    /// A string; `None` when absent or empty.
    pub fn text(&self, key: &str) -> Option<String> {
        match self.value(key) {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }

    /// A string that must be set.
    pub fn required_text(&self, key: &str) -> Result<String, SourceError> {
        self.text(key)
            .ok_or_else(|| SourceError::config(key, format!("'{key}' is not set.")))
    }

    /// A string that may be empty (a password can be).
    pub fn raw_text(&self, key: &str) -> String {
        match self.value(key) {
            Value::String(s) => s,
            Value::Null => String::new(),
            other => other.to_string(),
        }
    }

    pub fn int(&self, key: &str, default: i64) -> Result<i64, SourceError> {
        match self.value(key) {
            Value::Null => Ok(default),
            Value::Number(n) => n
                .as_i64()
                .ok_or_else(|| SourceError::config(key, format!("'{key}' must be an integer."))),
            Value::String(s) if s.trim().is_empty() => Ok(default),
            Value::String(s) => s
                .trim()
                .parse()
                .map_err(|_| SourceError::config(key, format!("'{key}' must be an integer."))),
            _ => Err(SourceError::config(
                key,
                format!("'{key}' must be an integer."),
            )),
        }
    }

    pub fn bool(&self, key: &str) -> bool {
        matches!(self.value(key), Value::Bool(true))
    }

    /// A list field (`tables`): items trimmed, empty ones dropped (`configured_tables`).
    pub fn list(&self, key: &str) -> Vec<String> {
        match self.value(key) {
            Value::Array(items) => items
                .iter()
                .filter_map(|v| match v {
                    Value::String(s) => Some(s.trim().to_string()),
                    Value::Null => None,
                    other => Some(other.to_string()),
                })
                .filter(|s| !s.is_empty())
                .collect(),
            Value::String(s) => s
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
            _ => Vec::new(),
        }
    }

    pub fn port(&self, key: &str) -> Result<u16, SourceError> {
        let p = self.int(key, 0)?;
        u16::try_from(p)
            .ok()
            .filter(|p| *p > 0)
            .ok_or_else(|| SourceError::config(key, format!("Port {p} is not a valid port.")))
    }
}
