//! Configuration back-fill: the reference's `validated_doc` for a connector that already has a
//! configuration. Fields a source added since are written from its schema, properties missing
//! from stored fields are filled in, and values the user set are never touched.

use serde_json::{Map, Value};

use crate::config::Configuration;

/// The reference's `validated_doc` for a connector that has a configuration: fields the source
/// added since are written from the schema (and, as the reference does on such an upgrade, the
/// other fields' properties are brought up to date), and properties missing from stored fields
/// are filled in. Values the user set are never touched. `None` when nothing is missing.
pub fn backfill(stored: &Value, schema: &Configuration) -> Option<Value> {
    let stored = stored.as_object()?;
    let mut patch = Map::new();
    let upgrade = schema.keys().any(|k| !stored.contains_key(k));
    for (key, field) in schema {
        let Ok(Value::Object(full)) = serde_json::to_value(field) else {
            continue;
        };
        let Some(existing) = stored.get(key).and_then(Value::as_object) else {
            patch.insert(key.clone(), Value::Object(full));
            continue;
        };
        let props: Map<String, Value> = full
            .into_iter()
            .filter(|(k, v)| {
                k != "value"
                    && match existing.get(k) {
                        None => true,
                        Some(old) => upgrade && old != v && truthy(v),
                    }
            })
            .collect();
        if !props.is_empty() {
            patch.insert(key.clone(), Value::Object(props));
        }
    }
    (!patch.is_empty()).then_some(Value::Object(patch))
}

/// Python truthiness, which the reference's `simple_default_value or v` relies on.
fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64() != Some(0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(o) => !o.is_empty(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Configuration {
        serde_json::from_value(json!({
            "directory": {"label": "Directory path", "order": 1, "value": "/data"},
            "pattern": {"label": "File glob-like pattern", "order": 2, "value": "**/*.*"},
        }))
        .unwrap()
    }

    #[test]
    fn nothing_to_do_for_a_complete_configuration() {
        let stored = json!(schema());
        assert_eq!(backfill(&stored, &schema()), None);
    }

    #[test]
    fn new_fields_are_added_and_values_kept() {
        let mut stored = json!(schema());
        stored.as_object_mut().unwrap().remove("pattern");
        stored["directory"]["value"] = json!("/mine");
        stored["directory"]["label"] = json!("Old label");
        let patch = backfill(&stored, &schema()).unwrap();
        assert_eq!(patch["pattern"]["value"], json!("**/*.*"));
        assert_eq!(patch["directory"]["label"], json!("Directory path"));
        assert!(
            patch["directory"].get("value").is_none(),
            "the user's value stays"
        );
    }

    #[test]
    fn missing_properties_are_filled() {
        let stored = json!({"directory": {"label": "Mine", "value": "/x"},
                            "pattern": json!(schema()["pattern"])});
        let patch = backfill(&stored, &schema()).unwrap();
        let d = patch["directory"].as_object().unwrap();
        assert!(
            d.contains_key("display")
                && d.contains_key("required")
                && d.contains_key("ui_restrictions")
        );
        assert!(
            !d.contains_key("label"),
            "no upgrade: an existing label stays"
        );
        assert!(!d.contains_key("value"));
    }
}
