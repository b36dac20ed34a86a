//! Date parsing (`strict_date_optional_time||epoch_millis`, other named formats and Java date
//! patterns like `yyyy-MM-dd HH:mm:ss`) and date math (`now-300s`, `now/d`, `2024-01-01||+1M/d`),
//! in epoch milliseconds UTC.
//!
//! Layout: this module holds the entry points and epoch parsing; `iso` parses ISO-8601 forms,
//! `format` compiles and applies named formats and Java patterns, `math` evaluates date math and
//! rounding.

mod format;
mod iso;
mod math;

#[cfg(test)]
mod tests;

use chrono::{TimeZone, Utc};

use format::{Alt, compiled, parse_pattern};
use iso::parse_iso;
use math::round_up_precision;

pub use math::eval;

/// How much of a date string was given; rounding up fills the rest with maxima.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Precision {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Milli,
}

/// Current time in epoch milliseconds.
pub fn now_millis() -> i64 {
    Utc::now().timestamp_millis()
}

/// ISO-8601 UTC with microseconds and `Z`, like Java's `Instant.toString()` on a microsecond clock.
pub fn now_iso() -> String {
    Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Formats epoch millis as `strict_date_optional_time` (`2024-01-01T00:00:00.000Z`).
pub fn format_millis(ms: i64) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(d) => d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => ms.to_string(),
    }
}

/// Parses a date value with an optional `format` (`||`-separated alternatives: `epoch_millis`,
/// `epoch_second`, `strict_date_optional_time` and the other named formats, or Java date patterns
/// such as `yyyy-MM-dd HH:mm:ss`). Without a format: `strict_date_optional_time||epoch_millis`.
pub fn parse_date(s: &str, format: Option<&str>) -> Option<i64> {
    parse_with_precision(s, format, false)
}

fn parse_with_precision(s: &str, format: Option<&str>, round_up: bool) -> Option<i64> {
    let s = s.trim();
    let finish = |(ms, p): (i64, Precision)| {
        if round_up {
            round_up_precision(ms, p)
        } else {
            ms
        }
    };
    match format {
        None => parse_iso(s).map(finish).or_else(|| parse_epoch(s, 1)),
        Some(f) => compiled(f).iter().find_map(|alt| match alt {
            Alt::Iso => parse_iso(s).map(finish),
            Alt::EpochMillis => parse_epoch(s, 1),
            Alt::EpochSecond => parse_epoch(s, 1000),
            Alt::Pattern(toks) => parse_pattern(toks, s).map(finish),
        }),
    }
}

fn parse_epoch(s: &str, factor: i64) -> Option<i64> {
    if s.is_empty()
        || !s
            .trim_start_matches('-')
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.')
    {
        return None;
    }
    if let Ok(n) = s.parse::<i64>() {
        return n.checked_mul(factor);
    }
    s.parse::<f64>().ok().map(|f| (f * factor as f64) as i64)
}

/// Whether a string looks like a `strict_date_optional_time` date (dynamic date detection).
pub fn looks_like_date(s: &str) -> bool {
    s.len() >= 10 && s.as_bytes()[4] == b'-' && parse_iso(s).is_some()
}
