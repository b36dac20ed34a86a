//! Content negotiation: plain JSON/NDJSON and the versioned
//! `application/vnd.elasticsearch+json; compatible-with=N` types (REST API compatibility).

use serde_json::json;

use crate::error::EsError;

/// A parsed media type header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MediaType {
    /// `application/json`, `application/x-ndjson`, … in lower case, without parameters.
    pub essence: String,
    /// `compatible-with` of a vendor type.
    pub compatible_with: Option<u8>,
    /// Whether this is an `application/vnd.elasticsearch+…` type.
    pub vendor: bool,
}

impl MediaType {
    /// Parses `type/subtype; k=v; …`; `None` for broken headers or a vendor type without a version.
    pub fn parse(header: &str) -> Option<MediaType> {
        // Accept may hold a list; the first entry decides (clients send one).
        let first = header.split(',').next().unwrap_or("").trim();
        let mut parts = first.split(';');
        let essence = parts.next().unwrap_or("").trim().to_ascii_lowercase();
        if essence.is_empty() || !essence.contains('/') {
            return None;
        }
        let mut compatible_with = None;
        for p in parts {
            let mut kv = p.splitn(2, '=');
            let k = kv.next().unwrap_or("").trim().to_ascii_lowercase();
            let v = kv.next().unwrap_or("").trim().trim_matches('"');
            if k == "compatible-with" {
                compatible_with = Some(v.parse::<u8>().ok()?);
            }
        }
        let vendor = essence.starts_with("application/vnd.elasticsearch+");
        if vendor && compatible_with.is_none() {
            return None;
        }
        Some(MediaType {
            essence,
            compatible_with: if vendor { compatible_with } else { None },
            vendor,
        })
    }

    /// The format part: `json`, `x-ndjson`, `yaml`, … (`*` for wildcards).
    pub fn format(&self) -> &str {
        if let Some(rest) = self.essence.strip_prefix("application/vnd.elasticsearch+") {
            return rest;
        }
        match self.essence.as_str() {
            "application/json" => "json",
            "application/x-ndjson" => "x-ndjson",
            "application/yaml" => "yaml",
            "application/cbor" => "cbor",
            "application/smile" => "smile",
            "text/plain" => "text",
            "*/*" | "application/*" => "*",
            _ => "other",
        }
    }
}

/// What negotiation decided for a request.
#[derive(Debug, Clone, Default)]
pub struct Negotiated {
    /// The compatible-with version requested, if any (echoed in the response Content-Type).
    pub compatible_with: Option<u8>,
}

impl Negotiated {
    /// The Content-Type for a JSON response.
    pub fn json_content_type(&self) -> String {
        match self.compatible_with {
            Some(v) => format!("application/vnd.elasticsearch+json;compatible-with={v}"),
            None => "application/json".to_string(),
        }
    }
}

fn media_type_error(cause: String) -> EsError {
    EsError::new(
        400,
        "media_type_header_exception",
        "Invalid media-type value on headers [Accept, Content-Type]",
    )
    .caused_by(json!({"type": "status_exception", "reason": cause}))
}

/// Validates Accept and Content-Type like Elasticsearch's `RestCompatibleVersionHelper`.
pub fn negotiate(
    accept: Option<&str>,
    content_type: Option<&str>,
    has_body: bool,
    major: u8,
) -> Result<Negotiated, EsError> {
    let accept_mt = match accept {
        None => None,
        Some(a) if a.trim().is_empty() => None,
        Some(a) => Some(MediaType::parse(a).ok_or_else(|| {
            EsError::new(400, "media_type_header_exception", "Invalid media-type value on headers [Accept]")
                .caused_by(json!({"type": "illegal_argument_exception", "reason": format!("invalid media-type [{a}]")}))
        })?),
    };
    let ct_mt = match content_type {
        None => None,
        Some(c) if c.trim().is_empty() => None,
        Some(c) => match MediaType::parse(c) {
            Some(m) => Some(m),
            None if has_body => {
                return Err(EsError::new(
                    400,
                    "media_type_header_exception",
                    "Invalid media-type value on headers [Content-Type]",
                )
                .caused_by(json!({"type": "illegal_argument_exception", "reason": format!("invalid media-type [{c}]")})));
            }
            None => None,
        },
    };

    let minimum = major.saturating_sub(1);
    let a_version = accept_mt.as_ref().and_then(|m| m.compatible_with);
    let c_version = if has_body {
        ct_mt.as_ref().and_then(|m| m.compatible_with)
    } else {
        None
    };
    let accept_version = a_version.unwrap_or(major);
    let content_version = c_version.unwrap_or(major);

    if accept_version > major || accept_version < minimum {
        return Err(media_type_error(format!(
            "Accept version must be either version {major} or {minimum}, but found {accept_version}. Accept={}",
            accept.unwrap_or("")
        )));
    }
    if has_body {
        if content_version > major || content_version < minimum {
            return Err(media_type_error(format!(
                "Content-Type version must be either version {major} or {minimum}, but found {content_version}. Content-Type={}",
                content_type.unwrap_or("")
            )));
        }
        let both_or_none = a_version.is_some() == c_version.is_some();
        if content_version != accept_version || !both_or_none {
            // A missing Accept with a versioned Content-Type is the same error in Elasticsearch.
            return Err(media_type_error(format!(
                "A compatible version is required on both Content-Type and Accept headers if either one has requested a compatible version and the compatible versions must match. Accept={}, Content-Type={}",
                accept.unwrap_or("null"),
                content_type.unwrap_or("null")
            )));
        }
    }

    if has_body {
        match &ct_mt {
            None => return Err(EsError::simple(406, "Content-Type header is missing")),
            Some(m) => match m.format() {
                "json" | "x-ndjson" => {}
                _ => {
                    return Err(EsError::simple(
                        406,
                        format!(
                            "Content-Type header [{}] is not supported",
                            content_type.unwrap_or("")
                        ),
                    ));
                }
            },
        }
    }

    Ok(Negotiated {
        compatible_with: a_version.or(c_version),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const V8: &str = "application/vnd.elasticsearch+json; compatible-with=8";
    const V9: &str = "application/vnd.elasticsearch+json; compatible-with=9";

    #[test]
    fn plain_json_works() {
        let n = negotiate(Some("application/json"), Some("application/json"), true, 9).unwrap();
        assert_eq!(n.compatible_with, None);
        let n = negotiate(None, Some("application/json; charset=UTF-8"), true, 9).unwrap();
        assert_eq!(n.json_content_type(), "application/json");
    }

    #[test]
    fn versioned_types() {
        assert_eq!(
            negotiate(Some(V8), Some(V8), true, 9)
                .unwrap()
                .compatible_with,
            Some(8)
        );
        assert_eq!(
            negotiate(Some(V9), None, false, 9).unwrap().compatible_with,
            Some(9)
        );
        let nd = "application/vnd.elasticsearch+x-ndjson; compatible-with=8";
        assert!(negotiate(Some(V8), Some(nd), true, 9).is_ok());
        let e = negotiate(Some(V9), Some(V8), true, 9).unwrap_err();
        assert_eq!(e.kind(), Some("media_type_header_exception"));
        let e = negotiate(
            Some("application/vnd.elasticsearch+json; compatible-with=7"),
            None,
            false,
            9,
        )
        .unwrap_err();
        assert_eq!(e.status, 400);
        assert!(negotiate(Some("application/json"), Some(V8), true, 9).is_err());
    }

    #[test]
    fn body_needs_supported_content_type() {
        assert_eq!(negotiate(None, None, true, 9).unwrap_err().status, 406);
        assert_eq!(
            negotiate(None, Some("text/plain"), true, 9)
                .unwrap_err()
                .status,
            406
        );
        assert!(negotiate(None, None, false, 9).is_ok());
    }
}
