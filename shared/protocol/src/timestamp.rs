//! Timestamps as the protocol writes them: ISO-8601 in UTC with a fraction and `Z`.

use std::fmt;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A UTC instant. Reads any RFC 3339 fraction, a zone-less ISO string (taken as UTC) or epoch
/// milliseconds, because Kibana, Elasticsearch and the Python service each write their own
/// flavour; always writes RFC 3339 with microseconds and `Z`, as the Python service does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    pub fn now() -> Self {
        Timestamp(Utc::now())
    }

    /// Parses the formats described on the type.
    pub fn parse(s: &str) -> Option<Self> {
        if let Ok(t) = DateTime::parse_from_rfc3339(s) {
            return Some(Timestamp(t.with_timezone(&Utc)));
        }
        for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
            if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
                return Some(Timestamp(t.and_utc()));
            }
        }
        s.parse::<i64>().ok().and_then(Self::from_millis)
    }

    pub fn from_millis(ms: i64) -> Option<Self> {
        Utc.timestamp_millis_opt(ms).single().map(Timestamp)
    }

    pub fn to_rfc3339(&self) -> String {
        self.0.to_rfc3339_opts(SecondsFormat::Micros, true)
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(t: DateTime<Utc>) -> Self {
        Timestamp(t)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Text(String),
            Millis(i64),
        }
        match Raw::deserialize(d)? {
            Raw::Text(s) => Timestamp::parse(&s)
                .ok_or_else(|| serde::de::Error::custom(format!("invalid timestamp [{s}]"))),
            Raw::Millis(ms) => Timestamp::from_millis(ms)
                .ok_or_else(|| serde::de::Error::custom(format!("invalid timestamp [{ms}]"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_flavour() {
        let a = Timestamp::parse("2023-12-04T08:45:50.567149Z").unwrap();
        let b = Timestamp::parse("2023-12-04T08:45:50.567149+00:00").unwrap();
        let c = Timestamp::parse("2023-12-04T08:45:50.567149").unwrap();
        assert_eq!(a, b);
        assert_eq!(a, c);
        let d: Timestamp = serde_json::from_str("1701679550567").unwrap();
        assert_eq!(d.to_rfc3339(), "2023-12-04T08:45:50.567000Z");
        assert_eq!(a.to_rfc3339(), "2023-12-04T08:45:50.567149Z");
        assert!(Timestamp::parse("yesterday").is_none());
    }
}
