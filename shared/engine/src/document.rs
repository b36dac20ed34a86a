//! Turning a source document into the content document the reference indexes: `_id` (hashed
//! when longer than 512 bytes), `id`, `_timestamp`, the pipeline flags, and the sync stamp.

use connectors_protocol::{Pipeline, Timestamp};
use md5::{Digest, Md5};
use serde_json::{Map, Value};

/// Elasticsearch's `_id` limit, in UTF-8 bytes.
pub const MAX_ID_BYTES: usize = 512;

/// The field that records which sync job last wrote a document. The deletion phase of a full
/// sync removes every document that does not carry the current job's stamp, so no set of ids is
/// ever held in memory. Kept in the index (the ingest pipeline does not remove it).
pub const SYNC_STAMP_FIELD: &str = "_sync_job_id";

/// Fields [`prepare`] adds to a source document: sources size their maps with room for them.
pub const PREPARED_FIELDS: usize = 6;

/// The reference's `hash_id`: hex MD5 of the id's text.
pub fn hash_id(id: &str) -> String {
    hex::encode(Md5::digest(id.as_bytes()))
}

/// The id as the reference stringifies it, hashed when too long.
pub fn normalise_id(raw: &Value) -> Option<String> {
    let id = match raw {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Null => return None,
        other => other.to_string(),
    };
    if id.is_empty() {
        return None;
    }
    Some(if id.len() > MAX_ID_BYTES {
        hash_id(&id)
    } else {
        id
    })
}

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
    fn long_ids_are_hashed() {
        let long = "é".repeat(257); // 514 bytes
        assert_eq!(normalise_id(&json!(long)).unwrap(), hash_id(&long));
        let fits = "a".repeat(512);
        assert_eq!(normalise_id(&json!(fits)).unwrap(), fits);
        assert_eq!(hash_id("abc"), "900150983cd24fb0d6963f7d28e17f72");
        assert!(normalise_id(&json!("")).is_none());
    }
}
