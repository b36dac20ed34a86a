//! Document builders for sources that write JSON themselves: [`JsonFields`] writes a
//! document's members straight from the wire format, and [`JsonDocument`] carries the text to
//! the engine, which copies it into the bulk request as it is.

use serde_json::{Map, Value};

/// A document a source has already written as JSON. Row-oriented sources (databases) build
/// these straight from the wire format: no map, no key copies, and the engine copies the text
/// into the bulk request as it is. Built with [`JsonFields`].
#[derive(Debug, Clone, PartialEq)]
pub struct JsonDocument {
    /// The `_id`, as the reference stringifies it (hashed later when too long).
    pub id: String,
    /// The members of the document's JSON object, in order, without braces and without `_id`.
    members: Vec<u8>,
    /// Whether the members include `_timestamp`.
    has_timestamp: bool,
    /// Whether the members include `id` (written by [`JsonFields::id`]).
    has_id: bool,
}

impl JsonDocument {
    pub fn members(&self) -> &[u8] {
        &self.members
    }

    pub fn has_timestamp(&self) -> bool {
        self.has_timestamp
    }

    pub fn has_id(&self) -> bool {
        self.has_id
    }

    /// The document's fields as a map with its `_id`. A repeated name keeps its first
    /// position and its last value, as in a Python dict.
    pub fn to_fields(&self) -> Result<Map<String, Value>, serde_json::Error> {
        let mut text = Vec::with_capacity(self.members.len() + 2);
        text.push(b'{');
        text.extend_from_slice(&self.members);
        text.push(b'}');
        let mut fields: Map<String, Value> = serde_json::from_slice(&text)?;
        fields.insert("_id".into(), Value::String(self.id.clone()));
        Ok(fields)
    }
}

/// The writer of a [`JsonDocument`]'s members.
#[derive(Debug, Default)]
pub struct JsonFields {
    buf: Vec<u8>,
    has_timestamp: bool,
    has_id: bool,
}

/// A text as a JSON string (with its quotes): field names for [`JsonFields::key`], encoded
/// once rather than once per document, and constant string values.
pub fn json_key(name: &str) -> String {
    Value::String(name.to_string()).to_string()
}

impl JsonFields {
    pub fn with_capacity(bytes: usize) -> Self {
        JsonFields {
            buf: Vec::with_capacity(bytes),
            has_timestamp: false,
            has_id: false,
        }
    }

    /// Whether documents whose fields have these names (every name the source writes, its own
    /// additions such as `_timestamp` included) can be indexed as written: the names must be
    /// distinct, and none may be `_id` or a field the engine adds (the pipeline flags, the sync
    /// stamp, and `id` unless the source writes it with [`JsonFields::id`]). Otherwise a name
    /// would appear twice in the JSON text, which Elasticsearch rejects, where the reference's
    /// dict keeps the last value.
    pub fn names_are_safe<'a>(names: impl IntoIterator<Item = &'a str>, writes_id: bool) -> bool {
        let mut seen = std::collections::HashSet::new();
        names.into_iter().all(|name| {
            let added = if name == "id" {
                !writes_id
            } else {
                crate::ids::ADDED_FIELDS.contains(&name)
            };
            !added && name != "_id" && seen.insert(name)
        })
    }

    /// The `id` member at this position, with the value the engine gives it (the `_id`,
    /// normalised): for a source whose own field `id` it replaces, as the reference does.
    pub fn id(&mut self, raw_id: &str) {
        let id = crate::ids::normalise_id_text(raw_id);
        let out = self.key("\"id\"");
        // A string or null always serializes.
        let _ = serde_json::to_writer(out, &id);
        self.has_id = true;
    }

    /// Starts a member named by `encoded_key` (from [`json_key`]) and returns the buffer, into
    /// which the caller writes exactly one JSON value.
    pub fn key(&mut self, encoded_key: &str) -> &mut Vec<u8> {
        if !self.buf.is_empty() {
            self.buf.push(b',');
        }
        self.buf.extend_from_slice(encoded_key.as_bytes());
        self.buf.push(b':');
        &mut self.buf
    }

    /// One member with a serializable value.
    pub fn field<T: serde::Serialize + ?Sized>(
        &mut self,
        encoded_key: &str,
        value: &T,
    ) -> Result<(), serde_json::Error> {
        let start = self.buf.len();
        let written = serde_json::to_writer(self.key(encoded_key), value);
        if written.is_err() {
            self.buf.truncate(start);
        }
        written
    }

    /// The `_timestamp` member (`value` is already a JSON value).
    pub fn timestamp(&mut self, json_value: &[u8]) {
        self.key("\"_timestamp\"").extend_from_slice(json_value);
        self.has_timestamp = true;
    }

    /// Appends members already written as JSON (`"a":1,"b":2`), such as the fields every
    /// document of a table shares.
    pub fn members(&mut self, members: &[u8]) {
        if members.is_empty() {
            return;
        }
        if !self.buf.is_empty() {
            self.buf.push(b',');
        }
        self.buf.extend_from_slice(members);
    }

    pub fn finish(self, id: String) -> JsonDocument {
        JsonDocument {
            id,
            members: self.buf,
            has_timestamp: self.has_timestamp,
            has_id: self.has_id,
        }
    }
}
