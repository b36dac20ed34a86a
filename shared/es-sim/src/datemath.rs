//! Date parsing (`strict_date_optional_time||epoch_millis`) and date math (`now-300s`, `now/d`,
//! `2024-01-01||+1M/d`), in epoch milliseconds UTC.

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc,
};

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

/// Parses a date value with an optional `format` (`epoch_millis`, `epoch_second`, or an ISO form).
pub fn parse_date(s: &str, format: Option<&str>) -> Option<i64> {
    parse_with_precision(s, format, false)
}

fn parse_with_precision(s: &str, format: Option<&str>, round_up: bool) -> Option<i64> {
    let s = s.trim();
    let formats: Vec<&str> = format
        .unwrap_or("strict_date_optional_time||epoch_millis")
        .split("||")
        .map(str::trim)
        .collect();
    for f in &formats {
        let r = match *f {
            "epoch_millis" => parse_epoch(s, 1),
            "epoch_second" => parse_epoch(s, 1000),
            _ => parse_iso(s).map(|(ms, p)| {
                if round_up {
                    round_up_precision(ms, p)
                } else {
                    ms
                }
            }),
        };
        if r.is_some() {
            return r;
        }
    }
    // Custom patterns are not interpreted: fall back to ISO and epoch millis.
    parse_iso(s)
        .map(|(ms, p)| {
            if round_up {
                round_up_precision(ms, p)
            } else {
                ms
            }
        })
        .or_else(|| parse_epoch(s, 1))
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

fn digits(b: &[u8], i: usize, n: usize) -> Option<u32> {
    if i + n > b.len() {
        return None;
    }
    let mut v = 0u32;
    for &c in &b[i..i + n] {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as u32;
    }
    Some(v)
}

/// Parses `yyyy[-MM[-dd[Thh[:mm[:ss[.fff]]]]]][Z|±hh[:mm]]`.
fn parse_iso(s: &str) -> Option<(i64, Precision)> {
    let b = s.as_bytes();
    let year = digits(b, 0, 4)? as i32;
    let mut i = 4;
    let (mut month, mut day) = (1u32, 1u32);
    let (mut hour, mut minute, mut second, mut nanos) = (0u32, 0u32, 0u32, 0u32);
    let mut precision = Precision::Year;
    if i < b.len() && b[i] == b'-' {
        month = digits(b, i + 1, 2)?;
        i += 3;
        precision = Precision::Month;
        if i < b.len() && b[i] == b'-' {
            day = digits(b, i + 1, 2)?;
            i += 3;
            precision = Precision::Day;
        }
    }
    if i < b.len() && (b[i] == b'T' || b[i] == b't') && precision == Precision::Day {
        hour = digits(b, i + 1, 2)?;
        i += 3;
        precision = Precision::Hour;
        if i < b.len() && b[i] == b':' {
            minute = digits(b, i + 1, 2)?;
            i += 3;
            precision = Precision::Minute;
            if i < b.len() && b[i] == b':' {
                second = digits(b, i + 1, 2)?;
                i += 3;
                precision = Precision::Second;
                if i < b.len() && (b[i] == b'.' || b[i] == b',') {
                    let start = i + 1;
                    let mut j = start;
                    while j < b.len() && b[j].is_ascii_digit() {
                        j += 1;
                    }
                    if j == start || j - start > 9 {
                        return None;
                    }
                    let frac = &s[start..j];
                    let padded = format!("{frac:0<9}");
                    nanos = padded.parse().ok()?;
                    i = j;
                    precision = Precision::Milli;
                }
            }
        }
    }
    let mut offset_secs: i64 = 0;
    if i < b.len() {
        match b[i] {
            b'Z' | b'z' if i + 1 == b.len() => {}
            b'+' | b'-' if precision >= Precision::Hour => {
                let sign = if b[i] == b'+' { 1 } else { -1 };
                let oh = digits(b, i + 1, 2)? as i64;
                let mut j = i + 3;
                let mut om = 0i64;
                if j < b.len() && b[j] == b':' {
                    j += 1;
                }
                if j < b.len() {
                    om = digits(b, j, 2)? as i64;
                    j += 2;
                }
                if j != b.len() {
                    return None;
                }
                offset_secs = sign * (oh * 3600 + om * 60);
            }
            _ => return None,
        }
    }
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?;
    let dt = NaiveDateTime::new(date, time);
    let ms = dt.and_utc().timestamp_millis() - offset_secs * 1000;
    Some((ms, precision))
}

fn round_up_precision(ms: i64, p: Precision) -> i64 {
    let unit = match p {
        Precision::Year => 'y',
        Precision::Month => 'M',
        Precision::Day => 'd',
        Precision::Hour => 'h',
        Precision::Minute => 'm',
        Precision::Second => 's',
        Precision::Milli => return ms,
    };
    round(ms, unit, true).unwrap_or(ms)
}

fn to_dt(ms: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms).single()
}

/// Rounds down to the start of `unit`, or up to its last millisecond.
fn round(ms: i64, unit: char, up: bool) -> Option<i64> {
    let d = to_dt(ms)?;
    let start = match unit {
        'y' => Utc.with_ymd_and_hms(d.year(), 1, 1, 0, 0, 0).single()?,
        'M' => Utc
            .with_ymd_and_hms(d.year(), d.month(), 1, 0, 0, 0)
            .single()?,
        'w' => {
            let day = Utc
                .with_ymd_and_hms(d.year(), d.month(), d.day(), 0, 0, 0)
                .single()?;
            day - Duration::days(d.weekday().num_days_from_monday() as i64)
        }
        'd' => Utc
            .with_ymd_and_hms(d.year(), d.month(), d.day(), 0, 0, 0)
            .single()?,
        'h' | 'H' => Utc
            .with_ymd_and_hms(d.year(), d.month(), d.day(), d.hour(), 0, 0)
            .single()?,
        'm' => Utc
            .with_ymd_and_hms(d.year(), d.month(), d.day(), d.hour(), d.minute(), 0)
            .single()?,
        's' => Utc
            .with_ymd_and_hms(
                d.year(),
                d.month(),
                d.day(),
                d.hour(),
                d.minute(),
                d.second(),
            )
            .single()?,
        _ => return None,
    };
    if !up {
        return Some(start.timestamp_millis());
    }
    let next = add(start.timestamp_millis(), 1, unit)?;
    Some(next - 1)
}

fn add(ms: i64, n: i64, unit: char) -> Option<i64> {
    let d = to_dt(ms)?;
    let r = match unit {
        'y' => {
            if n >= 0 {
                d.checked_add_months(chrono::Months::new((n * 12) as u32))?
            } else {
                d.checked_sub_months(chrono::Months::new((-n * 12) as u32))?
            }
        }
        'M' => {
            if n >= 0 {
                d.checked_add_months(chrono::Months::new(n as u32))?
            } else {
                d.checked_sub_months(chrono::Months::new((-n) as u32))?
            }
        }
        'w' => d + Duration::weeks(n),
        'd' => d + Duration::days(n),
        'h' | 'H' => d + Duration::hours(n),
        'm' => d + Duration::minutes(n),
        's' => d + Duration::seconds(n),
        _ => return None,
    };
    Some(r.timestamp_millis())
}

/// Evaluates a date-math expression. `round_up` is true for `lte`/`gt` bounds, where rounding and
/// partial dates go to the end of the unit.
pub fn eval(expr: &str, now: i64, round_up: bool, format: Option<&str>) -> Option<i64> {
    let expr = expr.trim();
    let (mut ms, math) = if let Some(rest) = expr.strip_prefix("now") {
        (now, rest)
    } else if let Some(pos) = expr.find("||") {
        (
            parse_with_precision(&expr[..pos], format, false)?,
            &expr[pos + 2..],
        )
    } else {
        return parse_with_precision(expr, format, round_up);
    };
    let b = math.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' => {
                let unit = *b.get(i + 1)? as char;
                ms = round(ms, unit, round_up)?;
                i += 2;
            }
            b'+' | b'-' => {
                let sign = if b[i] == b'+' { 1 } else { -1 };
                let mut j = i + 1;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                let n: i64 = if j == i + 1 {
                    1
                } else {
                    math[i + 1..j].parse().ok()?
                };
                let unit = *b.get(j)? as char;
                ms = add(ms, sign * n, unit)?;
                i = j + 1;
            }
            _ => return None,
        }
    }
    Some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(s: &str) -> i64 {
        parse_date(s, None).unwrap()
    }

    #[test]
    fn parses_iso_forms() {
        assert_eq!(iso("1970-01-01T00:00:00Z"), 0);
        assert_eq!(iso("1970-01-01T00:00:01.5Z"), 1500);
        assert_eq!(iso("2023-12-04T08:45:50.567149Z") % 1000, 567);
        assert_eq!(iso("1970-01-02"), 86_400_000);
        assert_eq!(iso("1970-01-01T01:00:00+01:00"), 0);
        assert_eq!(iso("86400000"), 86_400_000);
        assert!(parse_date("yesterday", None).is_none());
        assert!(looks_like_date("2024-01-01T00:00:00Z"));
        assert!(!looks_like_date("search-x"));
    }

    #[test]
    fn date_math() {
        let now = iso("2024-03-15T10:20:30.400Z");
        assert_eq!(eval("now-300s", now, false, None), Some(now - 300_000));
        assert_eq!(
            eval("now/d", now, false, None),
            Some(iso("2024-03-15T00:00:00Z"))
        );
        assert_eq!(
            eval("now/d", now, true, None),
            Some(iso("2024-03-16T00:00:00Z") - 1)
        );
        assert_eq!(eval("now-1M/M", now, false, None), Some(iso("2024-02-01")));
        assert_eq!(
            eval("2024-01-31||+1M", now, false, None),
            Some(iso("2024-02-29"))
        );
        assert_eq!(
            eval("2024-01-01", now, true, None),
            Some(iso("2024-01-02") - 1)
        );
        assert_eq!(eval("now+1h", now, false, None), Some(now + 3_600_000));
        assert!(eval("now-x", now, false, None).is_none());
    }
}
