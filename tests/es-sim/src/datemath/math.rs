//! Date math (`now-300s`, `now/d`, `2024-01-01||+1M/d`): adding and subtracting units and
//! rounding down or up to a unit.

use chrono::{DateTime, Datelike, Duration, TimeZone, Timelike, Utc};

use super::{Precision, parse_with_precision};

pub(super) fn round_up_precision(ms: i64, p: Precision) -> i64 {
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
