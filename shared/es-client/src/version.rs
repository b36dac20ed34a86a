//! `GET /` and the preflight version policy of the reference service: the major must match, an
//! older minor is fatal, a newer minor or another patch only warns, serverless skips the check,
//! and `ALLOW_ES_VERSION_MISMATCH` bypasses it.

use serde::Deserialize;

use crate::error::EsError;

/// The answer to `GET /`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct InfoResponse {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub cluster_name: String,
    #[serde(default)]
    pub cluster_uuid: String,
    pub version: VersionInfo,
    #[serde(default)]
    pub tagline: Option<String>,
}

/// `version` of [`InfoResponse`].
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct VersionInfo {
    pub number: String,
    #[serde(default)]
    pub build_flavor: Option<String>,
    #[serde(default)]
    pub build_type: Option<String>,
    #[serde(default)]
    pub build_hash: Option<String>,
    #[serde(default)]
    pub build_date: Option<String>,
    #[serde(default)]
    pub build_snapshot: Option<bool>,
    #[serde(default)]
    pub lucene_version: Option<String>,
    #[serde(default)]
    pub minimum_wire_compatibility_version: Option<String>,
    #[serde(default)]
    pub minimum_index_compatibility_version: Option<String>,
}

impl VersionInfo {
    /// `build_flavor: serverless`.
    pub fn is_serverless(&self) -> bool {
        self.build_flavor.as_deref() == Some("serverless")
    }

    /// `number` as major.minor.patch (a `-SNAPSHOT`-like suffix is ignored).
    pub fn parsed(&self) -> Option<Version> {
        Version::parse(&self.number)
    }
}

/// A parsed `major.minor.patch`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Version {
    pub major: u64,
    pub minor: u64,
    pub patch: u64,
}

impl Version {
    /// Parses `9.1.3`, `9.1.3-SNAPSHOT`, `9.1` (patch 0).
    pub fn parse(text: &str) -> Option<Version> {
        let core = text.trim().split(['-', '+']).next()?;
        let mut parts = core.split('.');
        let major = parts.next()?.parse().ok()?;
        let minor = parts.next()?.parse().ok()?;
        let patch = match parts.next() {
            Some(p) => p.parse().ok()?,
            None => 0,
        };
        if parts.next().is_some() {
            return None;
        }
        Some(Version {
            major,
            minor,
            patch,
        })
    }
}

/// What this service needs: the same major and at least this minor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VersionRequirement {
    pub major: u64,
    pub min_minor: u64,
}

impl Default for VersionRequirement {
    /// 9.0 or any later 9.x.
    fn default() -> Self {
        VersionRequirement {
            major: 9,
            min_minor: 0,
        }
    }
}

/// The outcome of a version check that did not fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionCheck {
    /// Same major, same or supported minor.
    Compatible,
    /// Same major, newer minor than required: works, worth a warning.
    NewerMinor(String),
    /// `build_flavor: serverless`: no version check.
    Serverless,
    /// Unsupported, but `ALLOW_ES_VERSION_MISMATCH` is set: the message to warn with.
    Bypassed(String),
}

/// Applies the version policy. `allow_mismatch` is the `ALLOW_ES_VERSION_MISMATCH` bypass.
pub fn check_version(
    version: &VersionInfo,
    requirement: VersionRequirement,
    allow_mismatch: bool,
) -> Result<VersionCheck, EsError> {
    if version.is_serverless() {
        return Ok(VersionCheck::Serverless);
    }
    let VersionRequirement { major, min_minor } = requirement;
    let problem = match version.parsed() {
        None => Some(format!(
            "cannot parse the Elasticsearch version {:?}: this service needs {major}.{min_minor} or a later {major}.x",
            version.number
        )),
        Some(found) if found.major != major => Some(format!(
            "Elasticsearch {} is not supported: this service needs {major}.x ({major}.{min_minor} or later)",
            version.number
        )),
        Some(found) if found.minor < min_minor => Some(format!(
            "Elasticsearch {} is not supported: this service needs {major}.{min_minor} or a later {major}.x",
            version.number
        )),
        Some(found) if found.minor > min_minor => {
            return Ok(VersionCheck::NewerMinor(format!(
                "Elasticsearch {} is newer than this service's {major}.{min_minor}; continuing",
                version.number
            )));
        }
        Some(_) => None,
    };
    match problem {
        None => Ok(VersionCheck::Compatible),
        Some(message) if allow_mismatch => Ok(VersionCheck::Bypassed(format!(
            "{message}; continuing because ALLOW_ES_VERSION_MISMATCH is set"
        ))),
        Some(message) => Err(EsError::UnsupportedVersion(format!(
            "{message} (set ALLOW_ES_VERSION_MISMATCH to bypass this check)"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(number: &str, flavor: &str) -> VersionInfo {
        serde_json::from_value(serde_json::json!({"number": number, "build_flavor": flavor}))
            .unwrap()
    }

    const REQ: VersionRequirement = VersionRequirement {
        major: 9,
        min_minor: 1,
    };

    #[test]
    fn parses_versions() {
        assert_eq!(
            Version::parse("9.1.3-SNAPSHOT"),
            Some(Version {
                major: 9,
                minor: 1,
                patch: 3
            })
        );
        assert_eq!(Version::parse("8.19").map(|v| v.patch), Some(0));
        assert_eq!(Version::parse("nine"), None);
        assert_eq!(Version::parse("9"), None);
        assert_eq!(Version::parse("9.1.2.3"), None);
    }

    #[test]
    fn policy() {
        assert_eq!(
            check_version(&info("9.1.0", "default"), REQ, false).unwrap(),
            VersionCheck::Compatible
        );
        assert_eq!(
            check_version(&info("9.1.7", "default"), REQ, false).unwrap(),
            VersionCheck::Compatible
        );
        assert!(matches!(
            check_version(&info("9.6.0", "default"), REQ, false).unwrap(),
            VersionCheck::NewerMinor(_)
        ));
        let error = check_version(&info("8.19.2", "default"), REQ, false).unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("Elasticsearch 8.19.2 is not supported: this service needs 9.x"),
            "{error}"
        );
        let error = check_version(&info("9.0.3", "default"), REQ, false).unwrap_err();
        assert!(
            error.to_string().contains(
                "Elasticsearch 9.0.3 is not supported: this service needs 9.1 or a later 9.x"
            ),
            "{error}"
        );
        assert!(check_version(&info("10.0.0", "default"), REQ, false).is_err());
        assert!(check_version(&info("garbage", "default"), REQ, false).is_err());
        assert_eq!(
            check_version(&info("8.11.0", "serverless"), REQ, false).unwrap(),
            VersionCheck::Serverless
        );
        assert!(matches!(
            check_version(&info("8.19.2", "default"), REQ, true).unwrap(),
            VersionCheck::Bypassed(m) if m.contains("ALLOW_ES_VERSION_MISMATCH")
        ));
    }
}
