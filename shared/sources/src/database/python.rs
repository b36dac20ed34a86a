//! Text forms that the reference produces through Python: `repr(float)`, `str(Decimal)`,
//! `datetime.isoformat()`, `bytes.decode(errors="ignore")`, `repr(bytes)`.
//!
//! The reference builds document values and `_id`s from Python objects, so matching its index
//! means matching these exact spellings (`1.0`, not `1`; `1E-7`, not `0.0000001`).

use std::fmt::Write as _;

use chrono::{Datelike, NaiveDate, NaiveDateTime, NaiveTime, Timelike, Utc};

/// `repr(x)` of a Python float: shortest round-trip digits, scientific notation when the decimal
/// exponent is below -4 or at least 16, and always a `.0` or exponent so it reads as a float.
pub fn float_repr(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    // Rust's `{:e}` prints the shortest digits that round-trip, as Python's repr does.
    let sci = format!("{x:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let negative = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let mut out = String::with_capacity(digits.len() + 8);
    if negative {
        out.push('-');
    }
    if !(-4..16).contains(&exp) {
        out.push_str(&digits[..1]);
        if digits.len() > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        let _ = write!(out, "e{}{:02}", if exp < 0 { '-' } else { '+' }, exp.abs());
    } else if exp >= 0 {
        let int_len = exp as usize + 1;
        if digits.len() > int_len {
            out.push_str(&digits[..int_len]);
            out.push('.');
            out.push_str(&digits[int_len..]);
        } else {
            out.push_str(&digits);
            out.extend(std::iter::repeat_n('0', int_len - digits.len()));
            out.push_str(".0");
        }
    } else {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-exp - 1) as usize));
        out.push_str(&digits);
    }
    out
}

/// `str(Decimal(text))` for a plain decimal text such as PostgreSQL's `numeric` output
/// (`-12.3400`). Python switches to scientific notation for small magnitudes (`1E-7`).
pub fn decimal_str(text: &str) -> String {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text.strip_prefix('+').unwrap_or(text)),
    };
    if !body.bytes().all(|b| b.is_ascii_digit() || b == b'.') || body.is_empty() {
        // NaN, Infinity, or already scientific: Python spells these the same way.
        return match body {
            "NaN" => "NaN".into(),
            "Infinity" => format!("{}Infinity", if negative { "-" } else { "" }),
            _ => text.to_string(),
        };
    }
    let (int_part, frac_part) = body.split_once('.').unwrap_or((body, ""));
    let exp = -(frac_part.len() as i64);
    let all: String = format!("{int_part}{frac_part}");
    let coefficient = all.trim_start_matches('0');
    let coefficient = if coefficient.is_empty() {
        "0"
    } else {
        coefficient
    };
    let left_digits = exp + coefficient.len() as i64;
    let dot_place = if exp <= 0 && left_digits > -6 {
        left_digits
    } else {
        1
    };
    let mut out = String::new();
    if negative {
        out.push('-');
    }
    if dot_place <= 0 {
        out.push_str("0.");
        out.extend(std::iter::repeat_n('0', (-dot_place) as usize));
        out.push_str(coefficient);
    } else if dot_place as usize >= coefficient.len() {
        out.push_str(coefficient);
        out.extend(std::iter::repeat_n(
            '0',
            dot_place as usize - coefficient.len(),
        ));
    } else {
        out.push_str(&coefficient[..dot_place as usize]);
        out.push('.');
        out.push_str(&coefficient[dot_place as usize..]);
    }
    if left_digits != dot_place {
        let _ = write!(out, "E{:+}", left_digits - dot_place);
    }
    out
}

/// `bytes.decode(errors="ignore")`: invalid UTF-8 sequences are dropped.
pub fn decode_ignore(bytes: &[u8]) -> String {
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => {
            let mut out = String::with_capacity(bytes.len());
            for chunk in bytes.utf8_chunks() {
                out.push_str(chunk.valid());
            }
            out
        }
    }
}

/// `repr(bytes)` (what `str()` gives for a binary key in an `_id`): `b'...'` with escapes.
pub fn bytes_repr(bytes: &[u8]) -> String {
    let quote = if bytes.contains(&b'\'') && !bytes.contains(&b'"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(bytes.len() + 3);
    out.push('b');
    out.push(quote);
    for &b in bytes {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'\t' => out.push_str("\\t"),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b if b as char == quote => {
                out.push('\\');
                out.push(quote);
            }
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push(quote);
    out
}

fn push_fraction(out: &mut String, micros: u32) {
    if micros != 0 {
        let _ = write!(out, ".{micros:06}");
    }
}

// Written by hand: these run for every date of every row, and chrono's `format` parses its
// pattern on each call.

fn push_date(out: &mut String, d: NaiveDate) {
    let _ = write!(out, "{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
}

fn push_time(out: &mut String, t: NaiveTime) {
    let _ = write!(out, "{:02}:{:02}:{:02}", t.hour(), t.minute(), t.second());
    push_fraction(out, t.nanosecond() / 1000);
}

/// `date.isoformat()`.
pub fn date_iso(d: NaiveDate) -> String {
    let mut out = String::with_capacity(10);
    push_date(&mut out, d);
    out
}

/// `time.isoformat()`: microseconds only when non-zero.
pub fn time_iso(t: NaiveTime) -> String {
    let mut out = String::with_capacity(15);
    push_time(&mut out, t);
    out
}

/// `datetime.isoformat(sep)` of a naive datetime.
pub fn datetime_iso(dt: NaiveDateTime, sep: char) -> String {
    let mut out = String::with_capacity(32);
    push_date(&mut out, dt.date());
    out.push(sep);
    push_time(&mut out, dt.time());
    out
}

/// A UTC offset as Python prints it: `+HH:MM`, with `:SS` when seconds are non-zero.
pub fn offset_iso(offset_seconds: i32) -> String {
    let sign = if offset_seconds < 0 { '-' } else { '+' };
    let s = offset_seconds.unsigned_abs();
    let mut out = format!("{sign}{:02}:{:02}", s / 3600, (s % 3600) / 60);
    if !s.is_multiple_of(60) {
        let _ = write!(out, ":{:02}", s % 60);
    }
    out
}

/// The reference's `iso_utc()`: `datetime.now(timezone.utc).isoformat()`.
pub fn now_iso() -> String {
    let now = Utc::now().naive_utc();
    format!("{}+00:00", datetime_iso(now, 'T'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_like_python_repr() {
        for (x, s) in [
            (1.0, "1.0"),
            (1.5, "1.5"),
            (-2.25, "-2.25"),
            (0.1, "0.1"),
            (100.0, "100.0"),
            (1e16, "1e+16"),
            (1.5e16, "1.5e+16"),
            (123456789012345.0, "123456789012345.0"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (1.5e-7, "1.5e-07"),
            (0.10000000149011612, "0.10000000149011612"),
            (1e300, "1e+300"),
            (0.0, "0.0"),
        ] {
            assert_eq!(float_repr(x), s, "{x}");
        }
    }

    #[test]
    fn decimals_like_python_str() {
        for (t, s) in [
            ("1.50", "1.50"),
            ("0.00", "0.00"),
            ("-12.3400", "-12.3400"),
            ("123", "123"),
            ("0.0000001", "1E-7"),
            ("0.0000001000", "1.000E-7"),
            ("0.000001", "0.000001"),
            ("NaN", "NaN"),
        ] {
            assert_eq!(decimal_str(t), s, "{t}");
        }
    }

    #[test]
    fn bytes_like_python() {
        assert_eq!(decode_ignore(b"ab\xffc\xc3\xa9"), "abcé");
        assert_eq!(bytes_repr(b"ab\x00'"), "b\"ab\\x00'\"");
        assert_eq!(bytes_repr(b"a\nb"), "b'a\\nb'");
    }

    #[test]
    fn datetimes_like_python_isoformat() {
        let dt = NaiveDate::from_ymd_opt(2024, 1, 2)
            .unwrap()
            .and_hms_micro_opt(3, 4, 5, 120_000)
            .unwrap();
        assert_eq!(datetime_iso(dt, 'T'), "2024-01-02T03:04:05.120000");
        assert_eq!(
            datetime_iso(dt.with_nanosecond(0).unwrap(), ' '),
            "2024-01-02 03:04:05"
        );
        assert_eq!(offset_iso(19800), "+05:30");
        assert_eq!(offset_iso(-3600), "-01:00");
        assert!(now_iso().ends_with("+00:00"));
    }
}
