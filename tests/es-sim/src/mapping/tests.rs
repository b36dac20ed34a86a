//! Unit tests of mappings: dynamic mapping, `dynamic: false`, strict mode and type errors,
//! unknown types and merge conflicts.

use super::*;

fn parse(v: Value) -> ObjectMapping {
    ObjectMapping::parse(v.as_object().unwrap()).unwrap()
}

#[test]
fn dynamic_mapping_adds_fields() {
    let mut m = ObjectMapping::default();
    let doc = json!({"title": "hello", "count": 3, "ts": "2024-01-01T00:00:00Z", "a": {"b": true}, "x.y": 1.5});
    assert!(m.apply_doc(doc.as_object().unwrap(), "1").unwrap());
    assert_eq!(m.resolve("title").unwrap().kind, FieldKind::Text);
    assert_eq!(m.resolve("title.keyword").unwrap().kind, FieldKind::Keyword);
    assert_eq!(m.resolve("title.keyword").unwrap().source_path, "title");
    assert_eq!(m.resolve("count").unwrap().kind, FieldKind::Long);
    assert_eq!(m.resolve("ts").unwrap().kind, FieldKind::Date);
    assert_eq!(m.resolve("a.b").unwrap().kind, FieldKind::Boolean);
    assert_eq!(m.resolve("x.y").unwrap().kind, FieldKind::Double);
    assert!(m.resolve("nope").is_none());
    assert!(!m.apply_doc(doc.as_object().unwrap(), "2").unwrap());
}

#[test]
fn dynamic_false_keeps_fields_unmapped() {
    let mut m = parse(json!({"dynamic": "false", "properties": {"status": {"type": "keyword"}}}));
    m.apply_doc(
        json!({"status": "x", "other": "y"}).as_object().unwrap(),
        "1",
    )
    .unwrap();
    assert!(m.resolve("other").is_none());
    assert!(m.resolve("status").is_some());
    assert_eq!(m.to_json()["dynamic"], "false");
}

#[test]
fn strict_and_type_errors() {
    let mut m = parse(json!({"dynamic": "strict", "properties": {"n": {"type": "long"}}}));
    let e = m
        .apply_doc(json!({"z": 1}).as_object().unwrap(), "1")
        .unwrap_err();
    assert_eq!(e.kind(), Some("strict_dynamic_mapping_exception"));
    let e = m
        .apply_doc(json!({"n": "abc"}).as_object().unwrap(), "1")
        .unwrap_err();
    assert_eq!(e.kind(), Some("document_parsing_exception"));
    assert!(
        m.apply_doc(json!({"n": "12"}).as_object().unwrap(), "1")
            .is_ok()
    );
}

#[test]
fn unknown_type_and_merge_conflict() {
    let e = ObjectMapping::parse(
        json!({"properties": {"a": {"type": "nope"}}})
            .as_object()
            .unwrap(),
    )
    .unwrap_err();
    assert_eq!(e.kind(), Some("mapper_parsing_exception"));
    let mut m = parse(json!({"properties": {"a": {"type": "keyword"}}}));
    let other = parse(json!({"properties": {"a": {"type": "long"}}}));
    assert_eq!(m.merge(other, "").unwrap_err().status, 400);
    let other = parse(json!({"properties": {"b": {"type": "long"}}}));
    m.merge(other, "").unwrap();
    assert!(m.resolve("b").is_some());
}
