//! Unit tests of the store: versions and sequence numbers, refresh, updates, names, settings.

use std::sync::Arc;

use serde_json::json;

use super::*;

fn index() -> Index {
    build_index("test", None).unwrap().0
}

#[test]
fn versions_and_seq_nos() {
    let mut i = index();
    let r = i
        .index_doc(Arc::from("1"), json!({"a": 1}), false, Cond::None)
        .unwrap();
    assert_eq!((r.version, r.seq_no, r.outcome), (1, 0, Outcome::Created));
    let r = i
        .index_doc(Arc::from("1"), json!({"a": 2}), false, Cond::None)
        .unwrap();
    assert_eq!((r.version, r.seq_no, r.outcome), (2, 1, Outcome::Updated));
    let e = i
        .index_doc(Arc::from("1"), json!({}), true, Cond::None)
        .unwrap_err();
    assert_eq!(
        e.reason(),
        Some("[1]: version conflict, document already exists (current version [2])")
    );
    let e = i
        .index_doc(
            Arc::from("1"),
            json!({}),
            false,
            Cond::Cas(Cas {
                seq_no: 0,
                primary_term: 1,
            }),
        )
        .unwrap_err();
    assert_eq!(
        e.reason(),
        Some(
            "[1]: version conflict, required seqNo [0], primary term [1]. current document has seqNo [1] and primary term [1]"
        )
    );
    let r = i.delete_doc("1", Cond::None).unwrap();
    assert_eq!((r.version, r.outcome), (3, Outcome::Deleted));
    let r = i.delete_doc("1", Cond::None).unwrap();
    assert_eq!(r.outcome, Outcome::NotFound);
    let r = i
        .index_doc(Arc::from("1"), json!({}), false, Cond::None)
        .unwrap();
    assert_eq!((r.version, r.outcome), (5, Outcome::Created));
}

#[test]
fn refresh_publishes_changes() {
    let mut i = index();
    i.index_doc(Arc::from("1"), json!({"a": 1}), false, Cond::None)
        .unwrap();
    assert!(i.searchable.is_empty());
    i.refresh();
    assert_eq!(i.searchable.len(), 1);
    i.delete_doc("1", Cond::None).unwrap();
    assert_eq!(i.searchable.len(), 1);
    i.refresh();
    assert!(i.searchable.is_empty());
}

#[test]
fn update_merges_and_detects_noop() {
    let mut i = index();
    i.index_doc(
        Arc::from("1"),
        json!({"a": {"b": 1, "c": [1]}, "d": 1}),
        false,
        Cond::None,
    )
    .unwrap();
    let spec = UpdateSpec {
        doc: Some(json!({"a": {"c": [2]}})),
        detect_noop: true,
        ..Default::default()
    };
    let r = i.update_doc("1", &spec, None).unwrap();
    assert_eq!(r.outcome, Outcome::Updated);
    assert_eq!(
        *i.get("1").unwrap().source.value(),
        json!({"a": {"b": 1, "c": [2]}, "d": 1})
    );
    let r = i.update_doc("1", &spec, None).unwrap();
    assert_eq!(r.outcome, Outcome::Noop);
    let e = i.update_doc("2", &spec, None).unwrap_err();
    assert_eq!(e.kind(), Some("document_missing_exception"));
    let up = UpdateSpec {
        doc: Some(json!({"x": 1})),
        doc_as_upsert: true,
        ..Default::default()
    };
    assert_eq!(
        i.update_doc("2", &up, None).unwrap().outcome,
        Outcome::Created
    );
}

#[test]
fn index_names() {
    assert!(validate_index_name("search-x").is_ok());
    assert!(validate_index_name("Foo").is_err());
    assert!(validate_index_name("_x").is_err());
    assert!(validate_index_name("a*b").is_err());
    assert!(validate_index_name(".elastic-connectors-v1").is_ok());
}

#[test]
fn settings_round_trip() {
    let flat =
        normalize_settings(&json!({"number_of_shards": 1, "index": {"refresh_interval": "1s"}}));
    assert_eq!(flat.get("index.number_of_shards"), Some(&json!("1")));
    let nested = nest_settings(flat.iter());
    assert_eq!(nested["index"]["refresh_interval"], "1s");
}
