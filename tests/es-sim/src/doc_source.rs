//! Document sources as stored: the JSON text as received, parsed into a tree only when something
//! reads it whole. Bulk indexing checks a document against the mapping from a shallow scan of its
//! top-level fields ([`RawDoc`]), and searches read only the fields their query needs
//! ([`Source::project`]), so a large bulk load builds no JSON trees at all. This is also how
//! Elasticsearch keeps `_source`: the bytes it was given, not a re-serialised tree.

use std::borrow::Cow;
use std::fmt;
use std::io::Write;
use std::sync::OnceLock;

use serde::de::{DeserializeSeed, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// A stored `_source`.
pub struct Source {
    /// The JSON text of an object; `None` when the source was built as a tree.
    raw: Option<Box<str>>,
    parsed: OnceLock<Value>,
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.raw {
            Some(r) => write!(f, "Source({r})"),
            None => write!(f, "Source({:?})", self.parsed.get()),
        }
    }
}

impl From<Value> for Source {
    fn from(v: Value) -> Source {
        Source {
            raw: None,
            parsed: OnceLock::from(v),
        }
    }
}

impl Source {
    /// A source from JSON text already checked to be an object (by [`RawDoc::scan`]).
    pub fn from_raw(raw: Box<str>) -> Source {
        Source {
            raw: Some(raw),
            parsed: OnceLock::new(),
        }
    }

    /// The whole source as a tree (parsed on first use, then kept).
    pub fn value(&self) -> &Value {
        self.parsed.get_or_init(|| match &self.raw {
            // The text was validated when it was stored; an empty object stands in for the
            // impossible failure rather than a panic in a server.
            Some(r) => serde_json::from_str(r).unwrap_or_else(|_| Value::Object(Map::new())),
            None => Value::Object(Map::new()),
        })
    }

    /// The top-level fields for which `keep` is true, without building the rest; the whole
    /// tree when it is already parsed.
    pub fn project(&self, keep: &dyn Fn(&str) -> bool) -> Cow<'_, Value> {
        match (self.parsed.get(), &self.raw) {
            (Some(v), _) => Cow::Borrowed(v),
            (None, Some(raw)) => {
                let mut map = Map::new();
                for_each_field(raw, |key, value| {
                    let name: Cow<'_, str> = if key.contains('\\') {
                        serde_json::from_str(key).unwrap_or_default()
                    } else {
                        Cow::Borrowed(&key[1..key.len() - 1])
                    };
                    if keep(&name)
                        && let Ok(v) = serde_json::from_str(value)
                    {
                        map.insert(name.into_owned(), v);
                    }
                });
                Cow::Owned(Value::Object(map))
            }
            (None, None) => Cow::Borrowed(self.value()),
        }
    }
}

/// Calls `f` with the JSON texts of each top-level key (quoted) and value of a JSON object
/// text that is known to be valid. A byte scan: much cheaper than tokenising every value.
fn for_each_field<'a>(raw: &'a str, mut f: impl FnMut(&'a str, &'a str)) {
    let b = raw.as_bytes();
    let Some(open) = b.iter().position(|&c| c == b'{') else {
        return;
    };
    let mut i = open + 1;
    loop {
        i = skip_ws(b, i);
        match b.get(i) {
            None | Some(b'}') => return,
            Some(b',') => {
                i += 1;
                continue;
            }
            Some(_) => {}
        }
        let key_end = skip_string(b, i);
        let colon = skip_ws(b, key_end);
        let value = skip_ws(b, colon + 1);
        let value_end = skip_value(b, value);
        if value_end > b.len() {
            return;
        }
        // Every index here sits on an ASCII delimiter: a char boundary.
        f(&raw[i..key_end], &raw[value..value_end]);
        i = value_end;
    }
}

fn skip_ws(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    i
}

/// The index after the string starting at `i` (its opening quote).
fn skip_string(b: &[u8], i: usize) -> usize {
    let mut j = i + 1;
    while j < b.len() {
        match memchr::memchr2(b'"', b'\\', &b[j..]) {
            Some(p) if b[j + p] == b'\\' => j += p + 2,
            Some(p) => return j + p + 1,
            None => break,
        }
    }
    b.len()
}

/// The index after the value starting at `i`.
fn skip_value(b: &[u8], i: usize) -> usize {
    match b.get(i) {
        Some(b'"') => skip_string(b, i),
        Some(b'{' | b'[') => {
            let mut depth = 0usize;
            let mut j = i;
            while j < b.len() {
                match b[j] {
                    b'"' => {
                        j = skip_string(b, j);
                        continue;
                    }
                    b'{' | b'[' => depth += 1,
                    b'}' | b']' => {
                        depth -= 1;
                        if depth == 0 {
                            return j + 1;
                        }
                    }
                    _ => {}
                }
                j += 1;
            }
            b.len()
        }
        _ => {
            let mut j = i;
            while j < b.len() && !matches!(b[j], b',' | b'}' | b']') && !b[j].is_ascii_whitespace()
            {
                j += 1;
            }
            j
        }
    }
}

/// An incoming document object, scanned one level deep: its fields' names and JSON texts,
/// borrowed from the request body.
#[derive(Debug)]
pub struct RawDoc<'a> {
    text: &'a str,
    pub fields: Vec<(Cow<'a, str>, &'a RawValue)>,
    /// Whether `fields` no longer matches `text` (a pipeline removed some).
    edited: bool,
}

/// Why a document line is not a JSON object.
pub enum ScanError {
    NotAnObject,
    Json(serde_json::Error),
}

impl<'a> RawDoc<'a> {
    /// Scans a JSON object, validating all of it. `hint` is the expected number of fields.
    pub fn scan(line: &'a [u8], hint: usize) -> Result<RawDoc<'a>, ScanError> {
        let not_object = |line: &[u8]| match serde_json::from_slice::<Value>(line) {
            Ok(_) => ScanError::NotAnObject,
            Err(e) => ScanError::Json(e),
        };
        if line.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
            return Err(not_object(line));
        }
        // Invalid UTF-8: let serde_json word the error, with its position.
        let text = std::str::from_utf8(line).map_err(|_| not_object(line))?;
        let mut de = serde_json::Deserializer::from_str(text);
        let fields = (Fields(hint))
            .deserialize(&mut de)
            .map_err(ScanError::Json)?;
        de.end().map_err(ScanError::Json)?;
        Ok(RawDoc {
            text,
            fields,
            edited: false,
        })
    }

    /// The JSON text of a field, if present (the last one when repeated, as a parser would).
    /// The document's JSON text as received.
    pub fn text(&self) -> &'a str {
        self.text
    }

    pub fn get(&self, name: &str) -> Option<&'a str> {
        self.fields
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.get())
    }

    /// Drops every field named in `names`.
    pub fn remove_all(&mut self, names: &[&str]) {
        let before = self.fields.len();
        self.fields.retain(|(k, _)| !names.contains(&k.as_ref()));
        self.edited |= self.fields.len() != before;
    }

    /// The document as a tree, for the processors that need one.
    pub fn to_value(&self) -> Value {
        let mut map = Map::with_capacity(self.fields.len());
        for (k, v) in &self.fields {
            let v = serde_json::from_str(v.get()).unwrap_or(Value::Null);
            map.insert(k.to_string(), v);
        }
        Value::Object(map)
    }

    /// The source to store: the received text, or the remaining fields written back out.
    pub fn into_source(self) -> Source {
        if !self.edited {
            return Source::from_raw(self.text.into());
        }
        let mut out: Vec<u8> = Vec::with_capacity(self.text.len());
        out.push(b'{');
        for (i, (k, v)) in self.fields.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            match k {
                // A borrowed name had no escapes: its JSON text is the name in quotes.
                Cow::Borrowed(name) => {
                    out.push(b'"');
                    out.extend_from_slice(name.as_bytes());
                    out.push(b'"');
                }
                // Writing a str into a Vec cannot fail.
                Cow::Owned(name) => {
                    let _ = serde_json::to_writer(&mut out, name);
                }
            }
            out.push(b':');
            let _ = out.write_all(v.get().as_bytes());
        }
        out.push(b'}');
        // Only valid UTF-8 was written.
        let text = String::from_utf8(out).unwrap_or_default();
        Source::from_raw(text.into_boxed_str())
    }
}

/// A field name, borrowed from the input unless it has escapes (serde's own `Cow<str>`
/// always copies).
struct Key;

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a field name")
    }

    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Cow::Owned(v))
    }
}

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_str(self)
    }
}

struct Fields(usize);

impl<'de> Visitor<'de> for Fields {
    type Value = Vec<(Cow<'de, str>, &'de RawValue)>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut fields = Vec::with_capacity(self.0);
        while let Some(k) = access.next_key_seed(Key)? {
            let v: &'de RawValue = access.next_value()?;
            fields.push((k, v));
        }
        Ok(fields)
    }
}

impl<'de> DeserializeSeed<'de> for Fields {
    type Value = Vec<(Cow<'de, str>, &'de RawValue)>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn scans_edits_and_projects() {
        let line = br#"{"a":1, "b":{"c":[1,2]},"_m":true,"d":"x\"y"}"#;
        let mut d = RawDoc::scan(line, 0).ok().unwrap();
        assert_eq!(d.fields.len(), 4);
        assert_eq!(d.get("_m"), Some("true"));
        let kept = RawDoc::scan(line, 0).ok().unwrap().into_source();
        assert_eq!(
            kept.raw.as_deref(),
            Some(std::str::from_utf8(line).unwrap())
        );
        d.remove_all(&["_m", "zz"]);
        let s = d.into_source();
        assert_eq!(s.value(), &json!({"a": 1, "b": {"c": [1, 2]}, "d": "x\"y"}));
        let s = Source::from_raw(std::str::from_utf8(line).unwrap().into());
        assert_eq!(
            s.project(&|k| k == "b").into_owned(),
            json!({"b": {"c": [1, 2]}})
        );
        let tricky = r#" { "a\"b" : "x,}\"\\" , "c":[{"d":"]"},2] ,"e":-1.5e3,"f":null}"#;
        let s = Source::from_raw(tricky.into());
        assert_eq!(
            s.project(&|_| true).into_owned(),
            serde_json::from_str::<Value>(tricky).unwrap()
        );
        assert_eq!(s.project(&|k| k == "e").into_owned(), json!({"e": -1500.0}));
        assert!(matches!(
            RawDoc::scan(b"[1]", 0),
            Err(ScanError::NotAnObject)
        ));
        assert!(matches!(
            RawDoc::scan(b"{\"a\":}", 0),
            Err(ScanError::Json(_))
        ));
    }
}
