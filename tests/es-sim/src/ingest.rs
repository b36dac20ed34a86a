//! Ingest pipelines: the pre-installed `search-default-ingestion` pipeline (binary extraction by
//! the connectors' extractor standing in for Tika, whitespace reduction, removal of the `_…` control fields) and a few simple
//! processors (`set`, `remove`, `rename`, `lowercase`, `uppercase`, `trim`) for user pipelines;
//! other processors pass documents through unchanged.

use std::collections::BTreeMap;
use std::sync::RwLock;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

use crate::doc_source::RawDoc;
use crate::error::{EsError, EsResult};
use crate::sync::read;

pub const DEFAULT_PIPELINE: &str = "search-default-ingestion";

const META_FIELDS: &[&str] = &[
    "_attachment",
    "_attachment_indexed_chars",
    "_extracted_attachment",
    "_extract_binary_content",
    "_reduce_whitespace",
    "_run_ml_inference",
];

/// The body of the built-in pipeline, shaped like Elasticsearch's.
pub fn default_pipeline_body() -> Value {
    json!({
        "version": 1,
        "description": "Generic Search ingest pipeline",
        "_meta": {"managed_by": "Search", "managed": true},
        "processors": [
            {"attachment": {"description": "Extract text from binary attachments", "field": "_attachment",
                "target_field": "_extracted_attachment", "ignore_missing": true,
                "indexed_chars_field": "_attachment_indexed_chars", "if": "ctx?._extract_binary_content == true",
                "remove_binary": false}},
            {"set": {"tag": "set_body", "description": "Set any extracted text on the 'body' field", "field": "body",
                "copy_from": "_extracted_attachment.content", "ignore_empty_value": true,
                "if": "ctx?._extract_binary_content == true"}},
            {"gsub": {"tag": "remove_replacement_chars", "field": "body", "pattern": "\u{FFFD}", "replacement": "",
                "ignore_missing": true, "if": "ctx?._extract_binary_content == true"}},
            {"gsub": {"tag": "remove_extra_whitespace", "field": "body", "pattern": "\\s+", "replacement": " ",
                "ignore_missing": true, "if": "ctx?._reduce_whitespace == true"}},
            {"trim": {"field": "body", "ignore_missing": true, "if": "ctx?._reduce_whitespace == true"}},
            {"remove": {"tag": "remove_meta_fields", "field": META_FIELDS, "ignore_missing": true}}
        ]
    })
}

/// A pipeline ready to run.
#[derive(Debug, Clone)]
pub enum Prepared {
    /// `search-default-ingestion` or a pipeline that handles the same control fields.
    SearchDefault,
    Processors(Vec<Value>),
}

/// Looks a pipeline up by name among `pipelines` (the simulator's, by id). `_none` means no
/// pipeline; a missing one is a 400.
pub fn prepare(
    pipelines: &RwLock<BTreeMap<String, Value>>,
    name: &str,
) -> EsResult<Option<Prepared>> {
    if name == "_none" {
        return Ok(None);
    }
    let pipelines = read(pipelines);
    let Some(body) = pipelines.get(name) else {
        return Err(EsError::bad_request(format!(
            "pipeline with id [{name}] does not exist"
        )));
    };
    Ok(Some(classify(name, body)))
}

fn classify(name: &str, body: &Value) -> Prepared {
    let text = body.to_string();
    if name == DEFAULT_PIPELINE
        || name == "ent-search-generic-ingestion"
        || text.contains("_extract_binary_content")
        || text.contains("_reduce_whitespace")
    {
        return Prepared::SearchDefault;
    }
    Prepared::Processors(
        body.get("processors")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default(),
    )
}

fn truthy(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s == "true",
        _ => false,
    }
}

/// Runs `search-default-ingestion` on a scanned document when all it has to do is drop the
/// control fields (nothing to extract, no `body` to clean). Returns `false`, leaving the document
/// as it was, when the pipeline needs the full tree: then use [`run`].
pub fn run_raw(p: &Prepared, doc: &mut RawDoc<'_>) -> bool {
    if !matches!(p, Prepared::SearchDefault) {
        return false;
    }
    let truthy_text = |f: &str| matches!(doc.get(f), Some("true" | "\"true\""));
    let extract = truthy_text("_extract_binary_content") && doc.get("_attachment").is_some();
    let reduce = truthy_text("_reduce_whitespace") && doc.get("body").is_some();
    if extract || reduce {
        return false;
    }
    doc.remove_all(META_FIELDS);
    true
}

/// Runs a pipeline on a document source.
pub fn run(p: &Prepared, doc: &mut Value) {
    let Value::Object(m) = doc else { return };
    match p {
        Prepared::SearchDefault => {
            let extract = truthy(m.get("_extract_binary_content"));
            if extract && let Some(Value::String(b64)) = m.get("_attachment") {
                // The attachment processor: Tika's text (here the connectors' extractor, which
                // detects the type from the bytes as Tika does), at most `indexed_chars`
                // characters (-1: all), trimmed; an empty text sets nothing.
                let cleaned: String = b64.chars().filter(|c| !c.is_whitespace()).collect();
                let indexed_chars = match m.get("_attachment_indexed_chars").and_then(Value::as_i64)
                {
                    Some(n) if n < 0 => 0,
                    Some(n) => n as usize,
                    None => connectors_extract::DEFAULT_MAX_CHARS,
                };
                let limits = connectors_extract::Limits {
                    max_chars: indexed_chars,
                    ..Default::default()
                };
                if let Ok(bytes) = STANDARD.decode(cleaned)
                    && let Ok(text) = connectors_extract::extract_detected(&bytes, &limits)
                    && !text.is_empty()
                {
                    m.insert("body".into(), Value::String(text));
                }
            }
            if extract && let Some(Value::String(body)) = m.get("body") {
                let stripped = body.replace('\u{FFFD}', "");
                m.insert("body".into(), Value::String(stripped));
            }
            if truthy(m.get("_reduce_whitespace"))
                && let Some(Value::String(body)) = m.get("body")
            {
                let reduced = connectors_extract::squeeze_whitespace(body);
                m.insert("body".into(), Value::String(reduced));
            }
            for f in META_FIELDS {
                m.shift_remove(*f);
            }
        }
        Prepared::Processors(procs) => {
            for proc in procs {
                let Some((kind, cfg)) = proc.as_object().and_then(|o| o.iter().next()) else {
                    continue;
                };
                let field = cfg.get("field");
                match kind.as_str() {
                    "set" => {
                        if let (Some(Value::String(f)), Some(v)) = (field, cfg.get("value")) {
                            let override_ =
                                cfg.get("override").and_then(Value::as_bool).unwrap_or(true);
                            if override_ || !m.contains_key(f) {
                                m.insert(f.clone(), v.clone());
                            }
                        }
                    }
                    "remove" => match field {
                        Some(Value::String(f)) => {
                            m.remove(f);
                        }
                        Some(Value::Array(fs)) => {
                            for f in fs.iter().filter_map(Value::as_str) {
                                m.remove(f);
                            }
                        }
                        _ => {}
                    },
                    "rename" => {
                        if let (Some(Value::String(f)), Some(Value::String(t))) =
                            (field, cfg.get("target_field"))
                            && let Some(v) = m.remove(f)
                        {
                            m.insert(t.clone(), v);
                        }
                    }
                    "lowercase" | "uppercase" | "trim" => {
                        if let Some(Value::String(f)) = field
                            && let Some(Value::String(s)) = m.get(f)
                        {
                            let out = match kind.as_str() {
                                "lowercase" => s.to_lowercase(),
                                "uppercase" => s.to_uppercase(),
                                _ => s.trim().to_string(),
                            };
                            m.insert(f.clone(), Value::String(out));
                        }
                    }
                    _ => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_default_extracts_and_cleans() {
        let mut doc = json!({
            "id": "1",
            "_attachment": STANDARD.encode("hello \n\n  world"),
            "_extract_binary_content": true,
            "_reduce_whitespace": true,
            "_run_ml_inference": false
        });
        run(&Prepared::SearchDefault, &mut doc);
        assert_eq!(doc, json!({"id": "1", "body": "hello world"}));
        let mut doc = json!({"body": "  a   b ", "_reduce_whitespace": false});
        run(&Prepared::SearchDefault, &mut doc);
        assert_eq!(doc, json!({"body": "  a   b "}));
    }

    #[test]
    fn simple_processors() {
        let p = Prepared::Processors(vec![
            json!({"set": {"field": "a", "value": 1}}),
            json!({"rename": {"field": "b", "target_field": "c"}}),
            json!({"lowercase": {"field": "d"}}),
            json!({"remove": {"field": ["e"]}}),
        ]);
        let mut doc = json!({"b": 2, "d": "X", "e": 3});
        run(&p, &mut doc);
        assert_eq!(doc, json!({"c": 2, "d": "x", "a": 1}));
    }
}
