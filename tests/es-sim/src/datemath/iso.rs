//! ISO-8601 dates as `strict_date_optional_time` reads them: `yyyy[-MM[-dd[THH[:mm[:ss[.f]]]]]]`
//! with `Z` or an offset, and the precision given.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

use super::Precision;

pub(super) fn digits(b: &[u8], i: usize, n: usize) -> Option<u32> {
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
pub(super) fn parse_iso(s: &str) -> Option<(i64, Precision)> {
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
