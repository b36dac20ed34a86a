//! Document-level security, the part every source shares: the field content documents carry
//! (`_allow_access_control`), and the identity documents an access-control sync writes into
//! `.search-acl-filter-<index>`, whose `query` is the role-descriptor query template a search
//! application puts in a user's API key. Byte for byte what the reference writes.

use serde_json::{Map, Value, json};

use crate::source::SourceDocument;

/// The field of content documents listing the identities allowed to see them.
pub const ACCESS_CONTROL_FIELD: &str = "_allow_access_control";

/// The reference's `DLS_QUERY`: a document is visible when it has no `_allow_access_control`
/// or when one of its values is among the identity's `access_control` values (a mustache
/// template Elasticsearch renders with the identity's parameters).
pub const DLS_QUERY: &str = r#"{
                    "bool": {
                        "should": [
                            {
                                "bool": {
                                    "must_not": {
                                        "exists": {
                                            "field": "_allow_access_control"
                                        }
                                    }
                                }
                            },
                            {
                                "terms": {
                                    "_allow_access_control.keyword": {{#toJson}}access_control{{/toJson}}
                                }
                            }
                        ]
                    }
                }"#;

/// `prefix:identity`, the form of every access-control value (`sid:S-1-5-21-...`, `user:alice`).
pub fn prefix_identity(prefix: &str, identity: &str) -> String {
    format!("{prefix}:{identity}")
}

/// The `query` of an identity document: the template and this identity's values.
pub fn access_control_query(access_control: Vec<String>) -> Value {
    json!({"template": {"params": {"access_control": access_control}, "source": DLS_QUERY}})
}

/// An identity document as the reference's sources build it: `_id`, `identity` (its fields in
/// the order given), `created_at` (the time of the sync, Python's `isoformat`) and `query`.
pub fn identity_document(
    id: &str,
    identity: Map<String, Value>,
    created_at: &str,
    access_control: Vec<String>,
) -> SourceDocument {
    let mut fields = Map::new();
    fields.insert("_id".into(), Value::String(id.into()));
    fields.insert("identity".into(), Value::Object(identity));
    fields.insert("created_at".into(), Value::String(created_at.into()));
    fields.insert("query".into(), access_control_query(access_control));
    SourceDocument::new(fields)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_template_is_the_reference_text() {
        assert_eq!(DLS_QUERY.len(), 772);
        assert!(DLS_QUERY.starts_with("{\n                    \"bool\": {"));
        assert!(DLS_QUERY.ends_with("                    }\n                }"));
        let doc = identity_document(
            "S-1-5-21-1-2-3-1001",
            serde_json::from_value(json!({"username": "user:alice", "user_id": "sid:S-1"}))
                .unwrap(),
            "2024-05-01T10:20:30.123456+00:00",
            vec![
                prefix_identity("sid", "S-1"),
                prefix_identity("user", "alice"),
            ],
        );
        let keys: Vec<&str> = doc.fields.keys().map(String::as_str).collect();
        assert_eq!(keys, ["_id", "identity", "created_at", "query"]);
        assert_eq!(
            doc.fields["query"]["template"]["params"]["access_control"],
            json!(["sid:S-1", "user:alice"])
        );
    }
}
