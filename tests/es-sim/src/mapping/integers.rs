//! Integer field types (`long`, `integer`, `short`, `byte`, `unsigned_long`): their bounds, the
//! numbers and numeric strings they accept, the `caused_by` of a rejected value, and the check of
//! integer literals too big for a JSON tree in a document's text.

use serde_json::{Value, json};

use super::{Dynamic, FieldMapping, LeafMapping, ObjectMapping};
use crate::error::{EsError, EsResult};

impl ObjectMapping {
    /// Checks the integer literals of a document's JSON text that neither `i64` nor `u64` holds
    /// (a tree keeps them only as rounded floats): a field of an integer type rejects them, and
    /// so does a new field they are the first value of, which Elasticsearch maps as `long` (it
    /// reads them as big integers) before failing to parse them.
    pub fn check_big_integers(&self, text: &str, id: &str) -> EsResult<()> {
        if !has_long_digit_run(text.as_bytes()) {
            return Ok(());
        }
        for (path, literal, first) in big_integer_literals(text) {
            if let Some(ty) = self.integer_type_for(&path, first) {
                return Err(EsError::document_parsing(format!(
                    "failed to parse field [{path}] of type [{ty}] in document with id '{id}'. Preview of field's value: '{literal}'"
                ))
                .caused_by(number_cause(&ty, &literal)));
            }
        }
        Ok(())
    }

    /// The integer type a value at `path` is parsed as: its mapped field's, or `long` for a new
    /// field under dynamic mapping when the value is the field's first.
    fn integer_type_for(&self, path: &str, first: bool) -> Option<String> {
        let mut cur = self;
        let mut dynamic = self.dynamic.unwrap_or(Dynamic::True);
        let mut segs = path.split('.').peekable();
        while let Some(seg) = segs.next() {
            match cur.properties.get(seg) {
                Some(FieldMapping::Object(o)) => {
                    if o.enabled == Some(false) {
                        return None;
                    }
                    dynamic = o.dynamic.unwrap_or(dynamic);
                    cur = o;
                }
                Some(FieldMapping::Leaf(l)) => {
                    return (segs.peek().is_none() && integer_bounds(&l.ty).is_some())
                        .then(|| l.ty.clone());
                }
                None => return (dynamic == Dynamic::True && first).then(|| "long".to_string()),
            }
        }
        None
    }
}

/// Whether `b` has 19 digits in a row: the shortest integer literal `i64` cannot hold.
fn has_long_digit_run(b: &[u8]) -> bool {
    let mut run = 0;
    for &c in b {
        if c.is_ascii_digit() {
            run += 1;
            if run >= 19 {
                return true;
            }
        } else {
            run = 0;
        }
    }
    false
}

/// The integer literals of a JSON text that neither `i64` nor `u64` holds, each with the dotted
/// path of the field it is a value of and whether it is that field's first value (the first
/// element of an array, or not in an array).
fn big_integer_literals(text: &str) -> Vec<(String, String, bool)> {
    enum Frame {
        Object(Option<String>),
        Array { first: bool },
    }
    let b = text.as_bytes();
    let mut stack: Vec<Frame> = Vec::new();
    let mut expecting_key = false;
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'{' => {
                stack.push(Frame::Object(None));
                expecting_key = true;
                i += 1;
            }
            b'[' => {
                stack.push(Frame::Array { first: true });
                expecting_key = false;
                i += 1;
            }
            b'}' | b']' => {
                stack.pop();
                i += 1;
            }
            b',' => {
                match stack.last_mut() {
                    Some(Frame::Object(_)) => expecting_key = true,
                    Some(Frame::Array { first }) => *first = false,
                    None => {}
                }
                i += 1;
            }
            b'"' => {
                let start = i;
                i += 1;
                while i < b.len() && b[i] != b'"' {
                    i += if b[i] == b'\\' { 2 } else { 1 };
                }
                i = (i + 1).min(b.len());
                if expecting_key {
                    let raw = text.get(start..i).unwrap_or("");
                    let key = serde_json::from_str::<String>(raw)
                        .unwrap_or_else(|_| raw.trim_matches('"').to_string());
                    if let Some(Frame::Object(k)) = stack.last_mut() {
                        *k = Some(key);
                    }
                    expecting_key = false;
                }
            }
            c if c == b'-' || c.is_ascii_digit() => {
                let start = i;
                i += 1;
                while i < b.len() && matches!(b[i], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-')
                {
                    i += 1;
                }
                let literal = text.get(start..i).unwrap_or("");
                let digits = literal.strip_prefix('-').unwrap_or(literal);
                if !digits.is_empty()
                    && digits.bytes().all(|d| d.is_ascii_digit())
                    && literal.parse::<i64>().is_err()
                    && literal.parse::<u64>().is_err()
                {
                    let path: Vec<&str> = stack
                        .iter()
                        .filter_map(|f| match f {
                            Frame::Object(Some(k)) => Some(k.as_str()),
                            _ => None,
                        })
                        .collect();
                    let first = !matches!(stack.last(), Some(Frame::Array { first: false }));
                    out.push((path.join("."), literal.to_string(), first));
                }
            }
            _ => i += 1,
        }
    }
    out
}

/// The bounds of an integer field type (`token_count` counts tokens of text, so has none here).
pub(super) fn integer_bounds(ty: &str) -> Option<(i128, i128)> {
    Some(match ty {
        "long" => (i128::from(i64::MIN), i128::from(i64::MAX)),
        "integer" => (i128::from(i32::MIN), i128::from(i32::MAX)),
        "short" => (i128::from(i16::MIN), i128::from(i16::MAX)),
        "byte" => (i128::from(i8::MIN), i128::from(i8::MAX)),
        "unsigned_long" => (0, i128::from(u64::MAX)),
        _ => return None,
    })
}

pub(super) fn integer_accepts(ty: &str, n: i128) -> bool {
    integer_bounds(ty).is_none_or(|(lo, hi)| (lo..=hi).contains(&n))
}

/// Whether a float (coerced by truncation, as Elasticsearch does) fits an integer type:
/// Jackson compares with the bounds as doubles.
fn integer_accepts_float(ty: &str, f: f64) -> bool {
    f.is_finite() && integer_bounds(ty).is_none_or(|(lo, hi)| f >= lo as f64 && f <= hi as f64)
}

/// Whether a JSON number fits an integer field type.
pub(super) fn integer_accepts_number(ty: &str, n: &serde_json::Number) -> bool {
    if let Some(i) = n.as_i64() {
        integer_accepts(ty, i128::from(i))
    } else if let Some(u) = n.as_u64() {
        integer_accepts(ty, i128::from(u))
    } else {
        n.as_f64().is_some_and(|f| integer_accepts_float(ty, f))
    }
}

/// Whether a string fits an integer field type (Elasticsearch coerces numeric strings).
pub(super) fn integer_accepts_string(ty: &str, s: &str) -> bool {
    let s = s.trim();
    match s.parse::<i128>() {
        Ok(n) => integer_accepts(ty, n),
        Err(_) => s.parse::<f64>().is_ok_and(|f| integer_accepts_float(ty, f)),
    }
}

/// The `caused_by` of a number an integer field rejects, as Elasticsearch's number parsing words
/// it (Jackson's coercion error for JSON numbers, its own for strings).
fn number_cause(ty: &str, literal: &str) -> Value {
    let jackson = |range: &str| {
        let reason = format!("Numeric value ({literal}) out of range of {range}");
        json!({"type": "x_content_parse_exception", "reason": reason,
            "caused_by": {"type": "input_coercion_exception", "reason": reason}})
    };
    let fits_int = literal
        .parse::<i128>()
        .is_ok_and(|n| integer_accepts("integer", n));
    match ty {
        "long" => jackson("long (-9223372036854775808 - 9223372036854775807)"),
        "short" if fits_int => jackson("Java short"),
        "byte" if fits_int => json!({"type": "illegal_argument_exception",
            "reason": format!("Value [{literal}] is out of range for a byte")}),
        _ => jackson("int (-2147483648 - 2147483647)"),
    }
}

/// The `caused_by` of a string an integer field rejects.
fn string_cause(ty: &str, s: &str) -> Value {
    let numeric = s.trim().parse::<f64>().is_ok();
    if !numeric {
        // `long` parses with Long.parseLong and BigDecimal, the others with Double.parseDouble.
        let kind = if ty == "long" {
            "illegal_argument_exception"
        } else {
            "number_format_exception"
        };
        return json!({"type": kind, "reason": format!("For input string: \"{s}\"")});
    }
    let fits_int = integer_accepts_string("integer", s);
    let reason = match ty {
        "long" => format!("Value [{s}] is out of range for a long"),
        "short" => format!("Value [{s}] is out of range for a short"),
        "byte" if fits_int => format!(
            "Value [{}] is out of range for a byte",
            s.trim().parse::<f64>().map_or(0, |f| f as i64)
        ),
        _ => format!("Value [{s}] is out of range for an integer"),
    };
    json!({"type": "illegal_argument_exception", "reason": reason})
}

/// Why a leaf rejects a (non-array) value, when it is a number out of an integer type's range or
/// text an integer type cannot parse.
pub(super) fn leaf_cause(l: &LeafMapping, v: &Value) -> Option<Value> {
    integer_bounds(&l.ty)?;
    if l.ty == "unsigned_long" {
        return None;
    }
    match v {
        Value::Number(n) => Some(number_cause(&l.ty, &n.to_string())),
        Value::String(s) => Some(string_cause(&l.ty, s)),
        _ => None,
    }
}
