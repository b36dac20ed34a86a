//! Document ids as the reference writes them, and the field names the engine reserves.

use md5::{Digest, Md5};
use serde_json::Value;

/// Elasticsearch's `_id` limit, in UTF-8 bytes.
pub const MAX_ID_BYTES: usize = 512;

/// The field that records which sync job last wrote a document. The deletion phase of a full
/// sync removes every document that does not carry the current job's stamp, so no set of ids is
/// ever held in memory. Kept in the index (the ingest pipeline does not remove it).
pub const SYNC_STAMP_FIELD: &str = "_sync_job_id";

/// The fields [`prepare`] sets, replacing a source's field of the same name (`_timestamp` only
/// when the source has none).
pub const ADDED_FIELDS: [&str; 5] = [
    "id",
    "_extract_binary_content",
    "_reduce_whitespace",
    "_run_ml_inference",
    SYNC_STAMP_FIELD,
];

/// The reference's `hash_id`: hex MD5 of the id's text.
pub fn hash_id(id: &str) -> String {
    hex::encode(Md5::digest(id.as_bytes()))
}

/// The id as the reference stringifies it, hashed when too long.
pub fn normalise_id(raw: &Value) -> Option<String> {
    match raw {
        Value::String(s) => normalise_id_text(s),
        Value::Number(n) => normalise_id_text(&n.to_string()),
        Value::Null => None,
        other => normalise_id_text(&other.to_string()),
    }
}

/// [`normalise_id`] of an id that is already text.
pub fn normalise_id_text(id: &str) -> Option<String> {
    if id.is_empty() {
        return None;
    }
    Some(if id.len() > MAX_ID_BYTES {
        hash_id(id)
    } else {
        id.to_string()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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
