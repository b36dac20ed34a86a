//! Azure Storage Shared Key authorization: the string to sign (verb, the standard headers, the
//! `x-ms-*` headers, and the canonical resource), HMAC-SHA256 with the account key, in the `Authorization` header. Written here
//! because the Azure SDK crates bring a whole HTTP stack for what is twenty lines.

use aws_lc_rs::hmac;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use connectors_sdk::SourceError;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use url::Url;

/// The REST API version we speak.
pub const API_VERSION: &str = "2021-08-06";

/// An account name and its decoded key.
pub struct SharedKey {
    account: String,
    key: hmac::Key,
}

impl std::fmt::Debug for SharedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SharedKey")
            .field("account", &self.account)
            .field("key", &"<redacted>")
            .finish()
    }
}

impl SharedKey {
    pub fn new(account: &str, key_base64: &str) -> Result<Self, SourceError> {
        let key = STANDARD.decode(key_base64.trim()).map_err(|_| {
            SourceError::config(
                "account_key",
                "The account key is not valid base64; copy it from the storage account's access keys.",
            )
        })?;
        Ok(SharedKey {
            account: account.to_string(),
            key: hmac::Key::new(hmac::HMAC_SHA256, &key),
        })
    }

    /// The headers of a signed GET of `url`: `x-ms-date`, `x-ms-version`, `Authorization`.
    pub fn sign_get(&self, url: &Url, now: chrono::DateTime<chrono::Utc>) -> HeaderMap {
        self.sign("GET", url, None, None, &[], now)
    }

    /// The headers of a signed request: the given `x-ms-*` headers, `x-ms-date`, `x-ms-version`
    /// and `Authorization`. `content_length` and `content_type` must be what is sent.
    pub fn sign(
        &self,
        method: &str,
        url: &Url,
        content_length: Option<u64>,
        content_type: Option<&str>,
        extra: &[(&'static str, String)],
        now: chrono::DateTime<chrono::Utc>,
    ) -> HeaderMap {
        let date = now.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        let mut ms_headers: Vec<(&'static str, String)> = vec![
            ("x-ms-date", date),
            ("x-ms-version", API_VERSION.to_string()),
        ];
        ms_headers.extend(extra.iter().cloned());
        ms_headers.sort();
        let length = content_length
            .filter(|n| *n > 0)
            .map(|n| n.to_string())
            .unwrap_or_default();
        // Content-Encoding, -Language, -Length, -MD5, -Type, Date, If-Modified-Since, If-Match,
        // If-None-Match, If-Unmodified-Since, Range.
        let mut to_sign = format!(
            "{method}\n\n\n{length}\n\n{}\n\n\n\n\n\n\n",
            content_type.unwrap_or("")
        );
        for (name, value) in &ms_headers {
            to_sign.push_str(&format!("{name}:{value}\n"));
        }
        to_sign.push_str(&self.canonical_resource(url));
        let signature = STANDARD.encode(hmac::sign(&self.key, to_sign.as_bytes()).as_ref());
        let mut headers = HeaderMap::new();
        for (name, value) in ms_headers {
            if let Ok(v) = HeaderValue::from_str(&value) {
                headers.insert(HeaderName::from_static(name), v);
            }
        }
        if let Ok(v) = HeaderValue::from_str(&format!("SharedKey {}:{signature}", self.account)) {
            headers.insert(reqwest::header::AUTHORIZATION, v);
        }
        headers
    }

    /// `/account/path` then each query parameter, by lower-cased name, as `\nname:v1,v2`.
    fn canonical_resource(&self, url: &Url) -> String {
        let mut out = format!("/{}{}", self.account, url.path());
        let mut params: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| (k.to_lowercase(), v.into_owned()))
            .collect();
        params.sort();
        let mut i = 0;
        while i < params.len() {
            let name = params[i].0.clone();
            let mut values = Vec::new();
            while i < params.len() && params[i].0 == name {
                values.push(params[i].1.clone());
                i += 1;
            }
            out.push_str(&format!("\n{name}:{}", values.join(",")));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_resource_sorts_and_joins_parameters() {
        let key = SharedKey::new("acct", "a2V5").unwrap();
        let url = Url::parse(
            "http://127.0.0.1:10000/acct/c?restype=container&comp=list&include=metadata&marker=a%20b",
        )
        .unwrap();
        assert_eq!(
            key.canonical_resource(&url),
            "/acct/acct/c\ncomp:list\ninclude:metadata\nmarker:a b\nrestype:container"
        );
    }

    #[test]
    fn a_key_that_is_not_base64_is_a_config_error_without_the_key() {
        let e = SharedKey::new("acct", "not base64 !!").unwrap_err();
        assert!(!e.to_string().contains("not base64 !!"));
    }
}
