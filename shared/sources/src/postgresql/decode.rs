//! PostgreSQL binary values to the JSON the reference indexes.
//!
//! The reference reads rows through asyncpg (binary protocol) and serializes the Python objects
//! it gets: dates and times with `isoformat()`, `numeric` as float, `bytea` decoded as UTF-8
//! ignoring errors, UUIDs, network and geometric values with `str()`, bit strings grouped by
//! four, `json`/`jsonb` parsed, arrays as lists. Decoding the wire format directly keeps those
//! spellings exact and avoids an intermediate typed value per cell. Types with no such
//! conversion (intervals, ranges, money, full-text, composites, ...) are selected as `::text`.

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use chrono::{Duration, NaiveDate, NaiveDateTime, NaiveTime};
use serde_json::{Number, Value};
use tokio_postgres::types::{FromSql, Kind, Type};

use crate::database::python;

/// How one column is decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Dec {
    Bool,
    Int2,
    Int4,
    Int8,
    Oid,
    Float4,
    Float8,
    Numeric,
    /// UTF-8 text: `text`, `varchar`, `bpchar`, `name`, enums, `xml`, and `::text` casts.
    Text,
    /// The one-byte `"char"`.
    Char,
    Bytea,
    Date,
    Time,
    TimeTz,
    Timestamp,
    TimestampTz,
    Uuid,
    Json,
    Jsonb,
    Inet,
    Cidr,
    MacAddr,
    MacAddr8,
    Point,
    Lseg,
    Box,
    Path,
    Polygon,
    Line,
    Circle,
    Bits,
    Array(Box<Dec>),
}

/// The decoder of a type, or `None` when the column must be selected as `::text`.
pub fn decoder(ty: &Type) -> Option<Dec> {
    match ty.kind() {
        Kind::Enum(_) => return Some(Dec::Text),
        Kind::Domain(base) => return decoder(base),
        Kind::Array(elem) => return decoder(elem).map(|d| Dec::Array(Box::new(d))),
        Kind::Simple => {}
        _ => return None,
    }
    Some(match *ty {
        Type::BOOL => Dec::Bool,
        Type::INT2 => Dec::Int2,
        Type::INT4 => Dec::Int4,
        Type::INT8 => Dec::Int8,
        Type::OID => Dec::Oid,
        Type::FLOAT4 => Dec::Float4,
        Type::FLOAT8 => Dec::Float8,
        Type::NUMERIC => Dec::Numeric,
        Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN | Type::XML => {
            Dec::Text
        }
        Type::CHAR => Dec::Char,
        Type::BYTEA => Dec::Bytea,
        Type::DATE => Dec::Date,
        Type::TIME => Dec::Time,
        Type::TIMETZ => Dec::TimeTz,
        Type::TIMESTAMP => Dec::Timestamp,
        Type::TIMESTAMPTZ => Dec::TimestampTz,
        Type::UUID => Dec::Uuid,
        Type::JSON => Dec::Json,
        Type::JSONB => Dec::Jsonb,
        Type::INET => Dec::Inet,
        Type::CIDR => Dec::Cidr,
        Type::MACADDR => Dec::MacAddr,
        Type::MACADDR8 => Dec::MacAddr8,
        Type::POINT => Dec::Point,
        Type::LSEG => Dec::Lseg,
        Type::BOX => Dec::Box,
        Type::PATH => Dec::Path,
        Type::POLYGON => Dec::Polygon,
        Type::LINE => Dec::Line,
        Type::CIRCLE => Dec::Circle,
        Type::BIT | Type::VARBIT => Dec::Bits,
        _ => return None,
    })
}

/// A cell's raw bytes, whatever its type.
pub struct Raw<'a>(pub &'a [u8]);

impl<'a> FromSql<'a> for Raw<'a> {
    fn from_sql(_: &Type, raw: &'a [u8]) -> Result<Self, Box<dyn std::error::Error + Sync + Send>> {
        Ok(Raw(raw))
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// A malformed binary value.
#[derive(Debug, thiserror::Error)]
#[error("malformed {0} value")]
pub struct DecodeError(&'static str);

struct Reader<'a> {
    b: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.b.len() < n {
            return Err(DecodeError(self.what));
        }
        let (head, tail) = self.b.split_at(n);
        self.b = tail;
        Ok(head)
    }
    fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.take(1)?[0])
    }
    fn i16(&mut self) -> Result<i16, DecodeError> {
        Ok(i16::from_be_bytes(
            self.take(2)?.try_into().unwrap_or_default(),
        ))
    }
    fn i32(&mut self) -> Result<i32, DecodeError> {
        Ok(i32::from_be_bytes(
            self.take(4)?.try_into().unwrap_or_default(),
        ))
    }
    fn i64(&mut self) -> Result<i64, DecodeError> {
        Ok(i64::from_be_bytes(
            self.take(8)?.try_into().unwrap_or_default(),
        ))
    }
    fn f64(&mut self) -> Result<f64, DecodeError> {
        Ok(f64::from_be_bytes(
            self.take(8)?.try_into().unwrap_or_default(),
        ))
    }
}

fn reader<'a>(b: &'a [u8], what: &'static str) -> Reader<'a> {
    Reader { b, what }
}

fn float(x: f64) -> Value {
    Number::from_f64(x)
        .map(Value::Number)
        .unwrap_or(Value::Null)
}

fn text(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

const PG_EPOCH_UNIX_MICROS: i64 = 946_684_800_000_000;

fn pg_epoch_date() -> NaiveDate {
    NaiveDate::from_ymd_opt(2000, 1, 1).unwrap_or_default()
}

/// A `date` as asyncpg gives it: infinities clamp to Python's `date.max`/`date.min`.
fn date(raw: &[u8]) -> Result<Option<NaiveDate>, DecodeError> {
    let days = reader(raw, "date").i32()?;
    Ok(match days {
        i32::MAX => NaiveDate::from_ymd_opt(9999, 12, 31),
        i32::MIN => NaiveDate::from_ymd_opt(1, 1, 1),
        d => pg_epoch_date().checked_add_signed(Duration::days(d.into())),
    })
}

/// A `timestamp[tz]` as asyncpg gives it; infinities clamp to `datetime.max`/`datetime.min`
/// (naive, even for `timestamptz`).
enum Instant {
    At(NaiveDateTime),
    Infinite(NaiveDateTime),
}

fn timestamp(raw: &[u8]) -> Result<Option<Instant>, DecodeError> {
    let micros = reader(raw, "timestamp").i64()?;
    Ok(match micros {
        i64::MAX => NaiveDate::from_ymd_opt(9999, 12, 31)
            .and_then(|d| d.and_hms_micro_opt(23, 59, 59, 999_999))
            .map(Instant::Infinite),
        i64::MIN => NaiveDate::from_ymd_opt(1, 1, 1)
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(Instant::Infinite),
        m => m
            .checked_add(PG_EPOCH_UNIX_MICROS)
            .and_then(chrono::DateTime::from_timestamp_micros)
            .map(|t| Instant::At(t.naive_utc())),
    })
}

fn time(micros: i64) -> Option<NaiveTime> {
    let secs = u32::try_from(micros.div_euclid(1_000_000)).ok()?;
    let sub = (micros.rem_euclid(1_000_000) * 1000) as u32;
    if secs >= 86_400 {
        // 24:00:00 is a valid PostgreSQL time; Python has no such value.
        return NaiveTime::from_hms_micro_opt(23, 59, 59, 999_999);
    }
    NaiveTime::from_num_seconds_from_midnight_opt(secs, sub)
}

fn uuid(raw: &[u8]) -> Result<String, DecodeError> {
    if raw.len() != 16 {
        return Err(DecodeError("uuid"));
    }
    let mut s = String::with_capacity(36);
    for (i, b) in raw.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        let _ = write!(s, "{b:02x}");
    }
    Ok(s)
}

/// PostgreSQL's text of a binary `numeric` (`numeric_out`).
pub fn numeric_text(raw: &[u8]) -> Result<String, DecodeError> {
    let mut r = reader(raw, "numeric");
    let ndigits = r.i16()?;
    let weight = r.i16()? as i32;
    let sign = r.i16()? as u16;
    let dscale = r.i16()?.max(0) as usize;
    let mut digits = Vec::with_capacity(ndigits.max(0) as usize);
    for _ in 0..ndigits.max(0) {
        digits.push(r.i16()?);
    }
    match sign {
        0xC000 => return Ok("NaN".into()),
        0xD000 => return Ok("Infinity".into()),
        0xF000 => return Ok("-Infinity".into()),
        _ => {}
    }
    let digit = |i: i32| -> i16 {
        if i < 0 {
            0
        } else {
            digits.get(i as usize).copied().unwrap_or(0)
        }
    };
    let mut s = String::with_capacity(24);
    if sign == 0x4000 {
        s.push('-');
    }
    if weight < 0 {
        s.push('0');
    } else {
        for i in 0..=weight {
            if i == 0 {
                let _ = write!(s, "{}", digit(i));
            } else {
                let _ = write!(s, "{:04}", digit(i));
            }
        }
    }
    if dscale > 0 {
        s.push('.');
        let start = s.len();
        let mut i = weight + 1;
        while s.len() - start < dscale {
            let _ = write!(s, "{:04}", digit(i));
            i += 1;
        }
        s.truncate(start + dscale);
    }
    Ok(s)
}

fn points(r: &mut Reader<'_>, n: usize) -> Result<Vec<(f64, f64)>, DecodeError> {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push((r.f64()?, r.f64()?));
    }
    Ok(v)
}

fn pair(p: (f64, f64)) -> String {
    format!("({}, {})", python::float_repr(p.0), python::float_repr(p.1))
}

fn point_list(pts: &[(f64, f64)]) -> String {
    let inner: Vec<String> = pts.iter().map(|p| pair(*p)).collect();
    format!("[{}]", inner.join(", "))
}

fn bits(raw: &[u8]) -> Result<String, DecodeError> {
    let mut r = reader(raw, "bit");
    let len = r.i32()?.max(0) as usize;
    let bytes = r.b;
    if bytes.len() * 8 < len {
        return Err(DecodeError("bit"));
    }
    let mut s = String::with_capacity(len + len / 4);
    for i in 0..len {
        let bit = (bytes[i / 8] >> (7 - i % 8)) & 1;
        s.push(if bit == 1 { '1' } else { '0' });
        if i % 4 == 3 {
            s.push(' ');
        }
    }
    Ok(s.trim().to_string())
}

fn inet(raw: &[u8], cidr: bool) -> Result<String, DecodeError> {
    let mut r = reader(raw, "inet");
    let family = r.u8()?;
    let bits = r.u8()?;
    let _is_cidr = r.u8()?;
    let len = r.u8()? as usize;
    let addr = r.take(len)?;
    let (text, max) = match (family, addr.len()) {
        (2, 4) => (
            Ipv4Addr::new(addr[0], addr[1], addr[2], addr[3]).to_string(),
            32,
        ),
        (3, 16) => {
            let mut b = [0u8; 16];
            b.copy_from_slice(addr);
            (Ipv6Addr::from(b).to_string(), 128)
        }
        _ => return Err(DecodeError("inet")),
    };
    Ok(if cidr || bits != max {
        format!("{text}/{bits}")
    } else {
        text
    })
}

fn mac(raw: &[u8]) -> String {
    raw.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// The JSON value of a non-null cell.
pub fn to_json(dec: &Dec, raw: &[u8]) -> Result<Value, DecodeError> {
    Ok(match dec {
        Dec::Bool => Value::Bool(raw.first().is_some_and(|b| *b != 0)),
        Dec::Int2 => Value::from(reader(raw, "int2").i16()?),
        Dec::Int4 => Value::from(reader(raw, "int4").i32()?),
        Dec::Int8 => Value::from(reader(raw, "int8").i64()?),
        Dec::Oid => Value::from(reader(raw, "oid").i32()? as u32),
        Dec::Float4 => {
            let b: [u8; 4] = raw.try_into().map_err(|_| DecodeError("float4"))?;
            float(f32::from_be_bytes(b) as f64)
        }
        Dec::Float8 => float(reader(raw, "float8").f64()?),
        // Decimal -> float, as the reference's serializer does.
        Dec::Numeric => float(numeric_text(raw)?.parse::<f64>().unwrap_or(f64::NAN)),
        Dec::Text => Value::String(text(raw)),
        Dec::Char => Value::String(text(raw)),
        Dec::Bytea => Value::String(python::decode_ignore(raw)),
        Dec::Date => match date(raw)? {
            Some(d) => Value::String(python::date_iso(d)),
            None => Value::Null,
        },
        Dec::Time => match time(reader(raw, "time").i64()?) {
            Some(t) => Value::String(python::time_iso(t)),
            None => Value::Null,
        },
        Dec::TimeTz => {
            let mut r = reader(raw, "timetz");
            let t = time(r.i64()?);
            // Seconds west of UTC; asyncpg keeps whole minutes.
            let west = r.i32()?;
            match t {
                Some(t) => Value::String(format!(
                    "{}{}",
                    python::time_iso(t),
                    python::offset_iso(-(west / 60) * 60)
                )),
                None => Value::Null,
            }
        }
        Dec::Timestamp => match timestamp(raw)? {
            Some(Instant::At(t)) | Some(Instant::Infinite(t)) => {
                Value::String(python::datetime_iso(t, 'T'))
            }
            None => Value::Null,
        },
        Dec::TimestampTz => match timestamp(raw)? {
            Some(Instant::At(t)) => {
                Value::String(format!("{}+00:00", python::datetime_iso(t, 'T')))
            }
            Some(Instant::Infinite(t)) => Value::String(python::datetime_iso(t, 'T')),
            None => Value::Null,
        },
        Dec::Uuid => Value::String(uuid(raw)?),
        Dec::Json => serde_json::from_slice(raw).unwrap_or_else(|_| Value::String(text(raw))),
        Dec::Jsonb => {
            let body = raw.get(1..).unwrap_or_default();
            serde_json::from_slice(body).unwrap_or_else(|_| Value::String(text(body)))
        }
        Dec::Inet => Value::String(inet(raw, false)?),
        Dec::Cidr => Value::String(inet(raw, true)?),
        Dec::MacAddr | Dec::MacAddr8 => Value::String(mac(raw)),
        Dec::Point => {
            let p = points(&mut reader(raw, "point"), 1)?;
            Value::String(pair(p[0]))
        }
        Dec::Lseg => Value::String(point_list(&points(&mut reader(raw, "lseg"), 2)?)),
        Dec::Box => Value::String(point_list(&points(&mut reader(raw, "box"), 2)?)),
        Dec::Path => {
            let mut r = reader(raw, "path");
            let closed = r.u8()? != 0;
            let n = r.i32()?.max(0) as usize;
            let pts = points(&mut r, n)?;
            Value::String(format!(
                "{} {}",
                if closed { "closed" } else { "open" },
                point_list(&pts)
            ))
        }
        Dec::Polygon => {
            let mut r = reader(raw, "polygon");
            let n = r.i32()?.max(0) as usize;
            Value::String(point_list(&points(&mut r, n)?))
        }
        Dec::Line => {
            let mut r = reader(raw, "line");
            let (a, b, c) = (r.f64()?, r.f64()?, r.f64()?);
            Value::String(format!(
                "({}, {}, {})",
                python::float_repr(a),
                python::float_repr(b),
                python::float_repr(c)
            ))
        }
        Dec::Circle => {
            let mut r = reader(raw, "circle");
            let (x, y, radius) = (r.f64()?, r.f64()?, r.f64()?);
            Value::String(format!(
                "({}, {})",
                pair((x, y)),
                python::float_repr(radius)
            ))
        }
        Dec::Bits => Value::String(bits(raw)?),
        Dec::Array(elem) => array(elem, raw)?,
    })
}

/// Writes [`to_json`]'s value as JSON text. The common scalar types are written straight from
/// the wire format, without a [`Value`].
pub fn write_json(dec: &Dec, raw: &[u8], out: &mut Vec<u8>) -> Result<(), DecodeError> {
    // Writing into a vector fails only on a value serde_json rejects, which these are not.
    let _ = match dec {
        Dec::Bool => {
            out.extend_from_slice(if raw.first().is_some_and(|b| *b != 0) {
                b"true"
            } else {
                b"false"
            });
            Ok(())
        }
        Dec::Int2 => serde_json::to_writer(out, &reader(raw, "int2").i16()?),
        Dec::Int4 => serde_json::to_writer(out, &reader(raw, "int4").i32()?),
        Dec::Int8 => serde_json::to_writer(out, &reader(raw, "int8").i64()?),
        // Non-finite floats are written as `null`, as `float` gives.
        Dec::Float8 => serde_json::to_writer(out, &reader(raw, "float8").f64()?),
        Dec::Text | Dec::Char => match std::str::from_utf8(raw) {
            Ok(text) => serde_json::to_writer(out, text),
            Err(_) => serde_json::to_writer(out, &String::from_utf8_lossy(raw)),
        },
        _ => serde_json::to_writer(out, &to_json(dec, raw)?),
    };
    Ok(())
}

fn array(elem: &Dec, raw: &[u8]) -> Result<Value, DecodeError> {
    let mut r = reader(raw, "array");
    let ndim = r.i32()?.max(0) as usize;
    let _has_null = r.i32()?;
    let _elem_oid = r.i32()?;
    if ndim == 0 {
        return Ok(Value::Array(Vec::new()));
    }
    let mut dims = Vec::with_capacity(ndim);
    for _ in 0..ndim {
        dims.push(r.i32()?.max(0) as usize);
        let _lower_bound = r.i32()?;
    }
    fn level(r: &mut Reader<'_>, elem: &Dec, dims: &[usize]) -> Result<Value, DecodeError> {
        let (n, rest) = match dims.split_first() {
            Some(x) => x,
            None => return Ok(Value::Null),
        };
        let mut out = Vec::with_capacity(*n);
        for _ in 0..*n {
            if rest.is_empty() {
                let len = r.i32()?;
                if len < 0 {
                    out.push(Value::Null);
                } else {
                    out.push(to_json(elem, r.take(len as usize)?)?);
                }
            } else {
                out.push(level(r, elem, rest)?);
            }
        }
        Ok(Value::Array(out))
    }
    level(&mut r, elem, &dims)
}

/// `str()` of the value asyncpg gives, for the `_id` of a key column.
pub fn python_str(dec: &Dec, raw: &[u8]) -> Result<String, DecodeError> {
    Ok(match dec {
        Dec::Bool => if raw.first().is_some_and(|b| *b != 0) {
            "True"
        } else {
            "False"
        }
        .into(),
        Dec::Float4 | Dec::Float8 => match to_json(dec, raw)? {
            Value::Number(n) => python::float_repr(n.as_f64().unwrap_or(f64::NAN)),
            _ => "nan".into(),
        },
        Dec::Numeric => python::decimal_str(&numeric_text(raw)?),
        Dec::Bytea => python::bytes_repr(raw),
        Dec::Timestamp => match timestamp(raw)? {
            Some(Instant::At(t)) | Some(Instant::Infinite(t)) => python::datetime_iso(t, ' '),
            None => String::new(),
        },
        Dec::TimestampTz => match timestamp(raw)? {
            Some(Instant::At(t)) => format!("{}+00:00", python::datetime_iso(t, ' ')),
            Some(Instant::Infinite(t)) => python::datetime_iso(t, ' '),
            None => String::new(),
        },
        _ => match to_json(dec, raw)? {
            Value::String(s) => s,
            other => other.to_string(),
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numeric(ndigits: &[i16], weight: i16, sign: u16, dscale: i16) -> Vec<u8> {
        let mut v = Vec::new();
        v.extend((ndigits.len() as i16).to_be_bytes());
        v.extend(weight.to_be_bytes());
        v.extend(sign.to_be_bytes());
        v.extend(dscale.to_be_bytes());
        for d in ndigits {
            v.extend(d.to_be_bytes());
        }
        v
    }

    #[test]
    fn numerics_print_like_postgres() {
        assert_eq!(
            numeric_text(&numeric(&[12, 3400], 0, 0, 2)).unwrap(),
            "12.34"
        );
        assert_eq!(
            numeric_text(&numeric(&[1], -2, 0, 8)).unwrap(),
            "0.00000001"
        );
        assert_eq!(
            numeric_text(&numeric(&[1, 0], 1, 0x4000, 0)).unwrap(),
            "-10000"
        );
        assert_eq!(numeric_text(&numeric(&[], 0, 0, 2)).unwrap(), "0.00");
        assert_eq!(numeric_text(&numeric(&[], 0, 0xC000, 0)).unwrap(), "NaN");
    }

    #[test]
    fn geometry_and_bits_like_asyncpg() {
        let mut p = Vec::new();
        p.extend(1.5f64.to_be_bytes());
        p.extend(2.5f64.to_be_bytes());
        assert_eq!(to_json(&Dec::Point, &p).unwrap(), "(1.5, 2.5)");
        let mut c = p.clone();
        c.extend(5f64.to_be_bytes());
        assert_eq!(to_json(&Dec::Circle, &c).unwrap(), "((1.5, 2.5), 5.0)");
        let mut b = 8i32.to_be_bytes().to_vec();
        b.push(0b1010_1010);
        assert_eq!(to_json(&Dec::Bits, &b).unwrap(), "1010 1010");
    }
}
