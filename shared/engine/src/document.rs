//! Turning a source document into the content document the reference indexes: `_id` (hashed
//! when longer than 512 bytes), `id`, `_timestamp`, the pipeline flags, and the sync stamp.

use connectors_protocol::{Pipeline, Timestamp};

use connectors_sdk::{JsonDocument, SYNC_STAMP_FIELD, json_key, normalise_id};
use serde_json::{Map, Value};

/// A document ready for a bulk `index` operation.
#[derive(Debug, Clone, PartialEq)]
pub struct ContentDocument {
    pub id: String,
    pub source: Map<String, Value>,
}

/// Prepares a source document. Returns `None` when it has no usable `_id` (the reference skips
/// such documents with a warning).
pub fn prepare(
    mut fields: Map<String, Value>,
    pipeline: &Pipeline,
    stamp: &str,
    now: Timestamp,
) -> Option<ContentDocument> {
    // `shift_remove` keeps the other fields in their order, as Python's `dict.pop` does.
    let id = normalise_id(&fields.shift_remove("_id")?)?;
    fields.insert("id".into(), Value::String(id.clone()));
    if !fields.contains_key("_timestamp") {
        fields.insert("_timestamp".into(), Value::String(now.to_rfc3339()));
    }
    fields.insert(
        "_extract_binary_content".into(),
        Value::Bool(pipeline.extract_binary_content),
    );
    fields.insert(
        "_reduce_whitespace".into(),
        Value::Bool(pipeline.reduce_whitespace),
    );
    fields.insert(
        "_run_ml_inference".into(),
        Value::Bool(pipeline.run_ml_inference),
    );
    fields.insert(SYNC_STAMP_FIELD.into(), Value::String(stamp.to_string()));
    Some(ContentDocument { id, source: fields })
}

/// Identity documents of access-control syncs, written as the reference's
/// `get_access_control_docs` writes them: a new identity is indexed with `_timestamp` (the
/// time of its first sync), a known one is updated in place (its `_timestamp` kept, the rest
/// replaced). One bulk `update` with `upsert` does both.
pub mod acl {
    use super::*;

    /// The partial document of an update, and the whole document if the identity is new.
    #[derive(Debug, Clone, PartialEq)]
    pub struct Identity {
        pub id: String,
        pub doc: Map<String, Value>,
        pub upsert: Map<String, Value>,
    }

    /// `None` when the identity has no usable `_id`.
    pub fn prepare(
        mut fields: Map<String, Value>,
        stamp: &str,
        now: Timestamp,
    ) -> Option<Identity> {
        let id = normalise_id(&fields.shift_remove("_id")?)?;
        fields.insert("id".into(), Value::String(id.clone()));
        let mut upsert = fields.clone();
        if !upsert.contains_key("_timestamp") {
            upsert.insert("_timestamp".into(), Value::String(now.to_rfc3339()));
        }
        for doc in [&mut fields, &mut upsert] {
            doc.insert(SYNC_STAMP_FIELD.into(), Value::String(stamp.to_string()));
        }
        Some(Identity {
            id,
            doc: fields,
            upsert,
        })
    }
}

/// [`prepare`] for documents a source wrote as JSON: what it appends is encoded once per page,
/// and each document is copied into the bulk request as it is.
pub struct JsonAppendix {
    /// `,"_timestamp":"..."`, for documents without one.
    timestamp: String,
    /// The pipeline flags and the sync stamp, then the closing brace.
    tail: String,
}

impl JsonAppendix {
    pub fn new(pipeline: &Pipeline, stamp: &str, now: Timestamp) -> Self {
        JsonAppendix {
            timestamp: format!(",\"_timestamp\":{}", json_key(&now.to_rfc3339())),
            tail: format!(
                ",\"_extract_binary_content\":{},\"_reduce_whitespace\":{},\"_run_ml_inference\":{},{}:{}}}",
                pipeline.extract_binary_content,
                pipeline.reduce_whitespace,
                pipeline.run_ml_inference,
                json_key(SYNC_STAMP_FIELD),
                json_key(stamp),
            ),
        }
    }

    /// Writes the content document of `doc`, whose normalised id is `id`: the same JSON text
    /// as serializing [`prepare`]'s result for the equivalent map.
    pub fn write(&self, doc: &JsonDocument, id: &str, out: &mut Vec<u8>) {
        out.push(b'{');
        out.extend_from_slice(doc.members());
        if !doc.has_id() {
            if !doc.members().is_empty() {
                out.push(b',');
            }
            out.extend_from_slice(b"\"id\":");
            // Writing a string into a vector cannot fail.
            let _ = serde_json::to_writer(&mut *out, id);
        }
        if !doc.has_timestamp() {
            out.extend_from_slice(self.timestamp.as_bytes());
        }
        out.extend_from_slice(self.tail.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn prepares_like_the_reference() {
        let fields = json!({"_id": 42, "title": "x"})
            .as_object()
            .unwrap()
            .clone();
        let now = Timestamp::parse("2024-01-01T00:00:00Z").unwrap();
        let doc = prepare(fields, &Pipeline::default(), "job-1", now).unwrap();
        assert_eq!(doc.id, "42");
        assert_eq!(
            Value::Object(doc.source),
            json!({"title": "x", "id": "42", "_timestamp": "2024-01-01T00:00:00.000000Z",
                   "_extract_binary_content": true, "_reduce_whitespace": true,
                   "_run_ml_inference": true, "_sync_job_id": "job-1"})
        );
    }

    #[test]
    fn json_documents_are_written_as_prepare_serializes_maps() {
        use connectors_sdk::{JsonFields, json_key, normalise_id_text};
        let now = Timestamp::parse("2024-01-01T00:00:00Z").unwrap();
        let pipeline = Pipeline {
            reduce_whitespace: false,
            ..Pipeline::default()
        };
        let appendix = JsonAppendix::new(&pipeline, "job-\"1\"", now);
        for (with_timestamp, with_id) in [(false, false), (true, false), (true, true)] {
            let mut fields = JsonFields::default();
            if with_id {
                fields.id(&"x".repeat(600));
            }
            fields.field(&json_key("tïtle \"x\""), "a\nb").unwrap();
            fields.field(&json_key("n"), &1.5).unwrap();
            fields
                .key(&json_key("raw"))
                .extend_from_slice(b"[1,{\"a\":null}]");
            if with_timestamp {
                fields.timestamp(b"\"2023-05-06T07:08:09+00:00\"");
            }
            fields.field(&json_key("last"), &Value::Null).unwrap();
            let doc = fields.finish("x".repeat(600));
            let map = doc.to_document().unwrap().fields;
            assert_eq!(
                map.len(),
                5 + usize::from(with_timestamp) + usize::from(with_id)
            );
            let expected = prepare(map, &pipeline, "job-\"1\"", now).unwrap();
            let id = normalise_id_text(&doc.id).unwrap();
            assert_eq!(id, expected.id);
            let mut out = Vec::new();
            appendix.write(&doc, &id, &mut out);
            assert_eq!(
                String::from_utf8(out).unwrap(),
                serde_json::to_string(&expected.source).unwrap()
            );
        }
        assert!(JsonFields::names_are_safe(["a", "b", "_timestamp"], false));
        assert!(JsonFields::names_are_safe(["a", "id"], true));
        for unsafe_names in [&["a", "a"][..], &["id"], &["_id"], &["_sync_job_id", "x"]] {
            assert!(!JsonFields::names_are_safe(
                unsafe_names.iter().copied(),
                false
            ));
        }
        assert!(!JsonFields::names_are_safe(["id", "id"], true));
        // A repeated name keeps its first position and last value, as the map path does.
        let mut fields = JsonFields::default();
        fields.field(&json_key("id"), &1).unwrap();
        fields.field(&json_key("a"), &2).unwrap();
        fields.field(&json_key("a"), &3).unwrap();
        let item = fields.finish("k".into()).into_item(false).unwrap();
        let connectors_sdk::SourceItem::Upsert(doc) = item else {
            panic!("{item:?}")
        };
        let prepared = prepare(doc.fields, &pipeline, "j", now).unwrap();
        assert_eq!(
            serde_json::to_string(&prepared.source).unwrap(),
            r#"{"id":"k","a":3,"_timestamp":"2024-01-01T00:00:00.000000Z","_extract_binary_content":true,"_reduce_whitespace":false,"_run_ml_inference":true,"_sync_job_id":"j"}"#
        );

        let mut out = Vec::new();
        appendix.write(&JsonFields::default().finish("7".into()), "7", &mut out);
        let value: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(value["id"], "7");
        assert_eq!(value["_timestamp"], "2024-01-01T00:00:00.000000Z");
    }
}
