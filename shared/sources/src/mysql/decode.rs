//! MySQL values to the JSON the reference indexes.
//!
//! The reference reads rows with aiomysql/PyMySQL (text protocol) and serializes the Python
//! values: integers, `DECIMAL` as float, `FLOAT`/`DOUBLE` parsed from the server's text, dates
//! and datetimes with `isoformat()` (zero dates stay the server's text), `JSON`, `ENUM`, `SET`
//! and text columns as strings, binary columns decoded as UTF-8 ignoring errors. We read with
//! prepared statements (binary protocol, typed keyset parameters) and reproduce those values:
//! a `FLOAT` is rounded as the server prints it (6 significant digits on MariaDB, shortest
//! form on MySQL). `TIME` values, which the reference cannot serialize (`timedelta`), are given
//! as the server prints them (`-838:59:59`).

use std::fmt::Write as _;

use base64::Engine as _;
use chrono::NaiveDate;
use mysql_async::consts::ColumnType;
use mysql_async::{Column, Value};
use serde_json::{Number, Value as Json, json};

use crate::database::python;

/// MySQL's `binary` character set: byte strings rather than text.
const BINARY_CHARSET: u16 = 63;

/// Which server prints the `FLOAT` text the reference parses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    MariaDb,
    MySql,
}

/// What decoding needs to know of a column.
#[derive(Debug, Clone)]
pub struct ColInfo {
    pub ty: ColumnType,
    pub binary: bool,
    pub decimals: u8,
}

impl ColInfo {
    pub fn of(c: &Column) -> Self {
        ColInfo {
            ty: c.column_type(),
            binary: c.character_set() == BINARY_CHARSET,
            decimals: c.decimals(),
        }
    }

    fn is_decimal(&self) -> bool {
        matches!(
            self.ty,
            ColumnType::MYSQL_TYPE_DECIMAL | ColumnType::MYSQL_TYPE_NEWDECIMAL
        )
    }

    fn is_date(&self) -> bool {
        matches!(
            self.ty,
            ColumnType::MYSQL_TYPE_DATE | ColumnType::MYSQL_TYPE_NEWDATE
        )
    }

    /// Bytes that PyMySQL returns as `bytes`: BIT, GEOMETRY, and binary strings and blobs.
    fn is_bytes(&self) -> bool {
        match self.ty {
            ColumnType::MYSQL_TYPE_BIT | ColumnType::MYSQL_TYPE_GEOMETRY => true,
            ColumnType::MYSQL_TYPE_JSON
            | ColumnType::MYSQL_TYPE_ENUM
            | ColumnType::MYSQL_TYPE_SET
            | ColumnType::MYSQL_TYPE_DECIMAL
            | ColumnType::MYSQL_TYPE_NEWDECIMAL => false,
            _ => self.binary,
        }
    }

    /// The SQL placeholder of a keyset parameter compared to this column.
    pub fn placeholder(&self) -> String {
        if self.is_decimal() {
            format!("CAST(? AS DECIMAL(65,{}))", self.decimals.min(30))
        } else {
            "?".into()
        }
    }
}

fn float(x: f64) -> Json {
    Number::from_f64(x).map(Json::Number).unwrap_or(Json::Null)
}

/// A `FLOAT` as the server's text gives it back to Python.
fn server_float(f: f32, flavor: Flavor) -> f64 {
    let text = match flavor {
        Flavor::MariaDb => format!("{:.5e}", f as f64),
        Flavor::MySql => format!("{f}"),
    };
    text.parse().unwrap_or(f as f64)
}

fn fraction(out: &mut String, micros: u32, decimals: u8) {
    let d = decimals.min(6) as usize;
    if d > 0 {
        let digits = format!("{micros:06}");
        out.push('.');
        out.push_str(&digits[..d]);
    }
}

/// The server's text of a date or datetime (zero dates, which Python cannot hold).
fn date_text(v: (u16, u8, u8, u8, u8, u8, u32), info: &ColInfo) -> String {
    let (y, m, d, h, mi, s, us) = v;
    let mut out = format!("{y:04}-{m:02}-{d:02}");
    if !info.is_date() {
        let _ = write!(out, " {h:02}:{mi:02}:{s:02}");
        fraction(&mut out, us, info.decimals);
    }
    out
}

fn datetime(v: (u16, u8, u8, u8, u8, u8, u32), info: &ColInfo, sep: char) -> String {
    let (y, m, d, h, mi, s, us) = v;
    let date = NaiveDate::from_ymd_opt(y.into(), m.into(), d.into());
    match date {
        Some(date) if y > 0 => {
            if info.is_date() {
                python::date_iso(date)
            } else {
                match date.and_hms_micro_opt(h.into(), mi.into(), s.into(), us) {
                    Some(dt) => python::datetime_iso(dt, sep),
                    None => date_text(v, info),
                }
            }
        }
        _ => date_text(v, info),
    }
}

fn time_text(neg: bool, days: u32, h: u8, m: u8, s: u8, us: u32, decimals: u8) -> String {
    let hours = days * 24 + h as u32;
    let mut out = format!("{}{hours:02}:{m:02}:{s:02}", if neg { "-" } else { "" });
    fraction(&mut out, us, decimals);
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// The JSON value of a cell.
pub fn to_json(v: &Value, info: &ColInfo, flavor: Flavor) -> Json {
    match v {
        Value::NULL => Json::Null,
        Value::Int(i) => Json::from(*i),
        Value::UInt(u) => Json::from(*u),
        Value::Float(f) => float(server_float(*f, flavor)),
        Value::Double(d) => float(*d),
        Value::Bytes(b) if info.is_decimal() => float(
            std::str::from_utf8(b)
                .ok()
                .and_then(|t| t.parse().ok())
                .unwrap_or(f64::NAN),
        ),
        Value::Bytes(b) if info.is_bytes() => Json::String(python::decode_ignore(b)),
        Value::Bytes(b) => Json::String(text(b)),
        Value::Date(y, m, d, h, mi, s, us) => {
            Json::String(datetime((*y, *m, *d, *h, *mi, *s, *us), info, 'T'))
        }
        Value::Time(neg, days, h, m, s, us) => {
            Json::String(time_text(*neg, *days, *h, *m, *s, *us, info.decimals))
        }
    }
}

/// `str()` of the value PyMySQL gives, for the `_id` of a key column; `None` for NULL.
pub fn python_str(v: &Value, info: &ColInfo, flavor: Flavor) -> Option<String> {
    Some(match v {
        Value::NULL => return None,
        Value::Int(i) => i.to_string(),
        Value::UInt(u) => u.to_string(),
        Value::Float(f) => python::float_repr(server_float(*f, flavor)),
        Value::Double(d) => python::float_repr(*d),
        Value::Bytes(b) if info.is_decimal() => python::decimal_str(&text(b)),
        Value::Bytes(b) if info.is_bytes() => python::bytes_repr(b),
        Value::Bytes(b) => text(b),
        Value::Date(y, m, d, h, mi, s, us) => datetime((*y, *m, *d, *h, *mi, *s, *us), info, ' '),
        Value::Time(neg, days, h, m, s, us) => {
            // str(timedelta): "1 day, 2:03:04"; negative durations count whole days down.
            let total = (*days as i64 * 86_400 + *h as i64 * 3600 + *m as i64 * 60 + *s as i64)
                * 1_000_000
                + *us as i64;
            let total = if *neg { -total } else { total };
            let day = total.div_euclid(86_400_000_000);
            let rest = total.rem_euclid(86_400_000_000);
            let (secs, micros) = (rest / 1_000_000, rest % 1_000_000);
            let mut out = String::new();
            if day != 0 {
                let _ = write!(out, "{day} day{}, ", if day.abs() == 1 { "" } else { "s" });
            }
            let _ = write!(
                out,
                "{}:{:02}:{:02}",
                secs / 3600,
                secs % 3600 / 60,
                secs % 60
            );
            if micros != 0 {
                let _ = write!(out, ".{micros:06}");
            }
            out
        }
    })
}

/// A key (or tracking) value as kept in cursors: typed, so that it binds back exactly.
pub fn key_to_json(v: &Value) -> Json {
    match v {
        Value::NULL => Json::Null,
        Value::Int(i) => json!({ "i": i }),
        Value::UInt(u) => json!({ "u": u }),
        Value::Float(f) => json!({ "f": *f as f64 }),
        Value::Double(d) => json!({ "f": d }),
        Value::Bytes(b) => match std::str::from_utf8(b) {
            Ok(s) => json!({ "s": s }),
            Err(_) => json!({ "b": base64::engine::general_purpose::STANDARD.encode(b) }),
        },
        Value::Date(y, m, d, h, mi, s, us) => {
            json!({ "d": format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}") })
        }
        Value::Time(neg, days, h, m, s, us) => {
            json!({ "t": [neg, days, h, m, s, us] })
        }
    }
}

/// The inverse of [`key_to_json`].
pub fn key_from_json(j: &Json) -> Option<Value> {
    if j.is_null() {
        return Some(Value::NULL);
    }
    let (tag, v) = j.as_object()?.iter().next()?;
    Some(match tag.as_str() {
        "i" => Value::Int(v.as_i64()?),
        "u" => Value::UInt(v.as_u64()?),
        "f" => Value::Double(v.as_f64()?),
        "s" => Value::Bytes(v.as_str()?.as_bytes().to_vec()),
        "b" => Value::Bytes(
            base64::engine::general_purpose::STANDARD
                .decode(v.as_str()?)
                .ok()?,
        ),
        "d" => {
            let t = v.as_str()?;
            let n = |r: std::ops::Range<usize>| t.get(r).and_then(|s| s.parse::<u32>().ok());
            Value::Date(
                n(0..4)? as u16,
                n(5..7)? as u8,
                n(8..10)? as u8,
                n(11..13)? as u8,
                n(14..16)? as u8,
                n(17..19)? as u8,
                n(20..26)?,
            )
        }
        "t" => {
            let a = v.as_array()?;
            let u = |i: usize| a.get(i).and_then(Json::as_u64);
            Value::Time(
                a.first()?.as_bool()?,
                u(1)? as u32,
                u(2)? as u8,
                u(3)? as u8,
                u(4)? as u8,
                u(5)? as u32,
            )
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(ty: ColumnType, binary: bool, decimals: u8) -> ColInfo {
        ColInfo {
            ty,
            binary,
            decimals,
        }
    }

    #[test]
    fn values_like_pymysql() {
        let dt = info(ColumnType::MYSQL_TYPE_DATETIME, true, 6);
        assert_eq!(
            to_json(
                &Value::Date(2024, 1, 2, 3, 4, 5, 120_000),
                &dt,
                Flavor::MariaDb
            ),
            json!("2024-01-02T03:04:05.120000")
        );
        assert_eq!(
            to_json(&Value::Date(0, 0, 0, 0, 0, 0, 0), &dt, Flavor::MariaDb),
            json!("0000-00-00 00:00:00.000000")
        );
        let date = info(ColumnType::MYSQL_TYPE_DATE, true, 0);
        assert_eq!(
            to_json(
                &Value::Date(2024, 2, 29, 0, 0, 0, 0),
                &date,
                Flavor::MariaDb
            ),
            json!("2024-02-29")
        );
        let f = info(ColumnType::MYSQL_TYPE_FLOAT, true, 31);
        assert_eq!(
            to_json(&Value::Float(123_456.79), &f, Flavor::MariaDb),
            json!(123457.0)
        );
        assert_eq!(to_json(&Value::Float(1.1), &f, Flavor::MariaDb), json!(1.1));
        assert_eq!(
            to_json(&Value::Float(123_456.79), &f, Flavor::MySql),
            json!(123456.79)
        );
        let dec = info(ColumnType::MYSQL_TYPE_NEWDECIMAL, true, 2);
        assert_eq!(
            to_json(&Value::Bytes(b"12.50".to_vec()), &dec, Flavor::MariaDb),
            json!(12.5)
        );
        assert_eq!(
            python_str(&Value::Bytes(b"12.50".to_vec()), &dec, Flavor::MariaDb).unwrap(),
            "12.50"
        );
        let blob = info(ColumnType::MYSQL_TYPE_BLOB, true, 0);
        assert_eq!(
            to_json(&Value::Bytes(b"ab\xffc".to_vec()), &blob, Flavor::MariaDb),
            json!("abc")
        );
        assert_eq!(
            python_str(&Value::Bytes(b"ab".to_vec()), &blob, Flavor::MariaDb).unwrap(),
            "b'ab'"
        );
        let time = info(ColumnType::MYSQL_TYPE_TIME, true, 0);
        assert_eq!(
            to_json(&Value::Time(true, 1, 2, 3, 4, 0), &time, Flavor::MariaDb),
            json!("-26:03:04")
        );
        assert_eq!(
            python_str(&Value::Time(false, 1, 2, 3, 4, 0), &time, Flavor::MariaDb).unwrap(),
            "1 day, 2:03:04"
        );
    }

    #[test]
    fn keys_round_trip() {
        for v in [
            Value::Int(-5),
            Value::UInt(u64::MAX),
            Value::Double(1.5),
            Value::Bytes(b"h\xc3\xa9".to_vec()),
            Value::Bytes(vec![0xff, 0]),
            Value::Date(2024, 1, 2, 3, 4, 5, 6),
            Value::Time(true, 1, 2, 3, 4, 5),
        ] {
            assert_eq!(key_from_json(&key_to_json(&v)), Some(v));
        }
    }
}
