//! Unit tests of search: sorting with `missing` and `search_after`, sort errors.

use serde_json::{Value, json};

use super::*;
use crate::http::Params;
use crate::store::build_index;

fn target() -> Target {
    let (mut idx, _) = build_index("t", None).unwrap();
    for (i, (s, n)) in [("b", 2), ("a", 1), ("c", 3)].iter().enumerate() {
        idx.index_doc(
            Arc::from(format!("{i}").as_str()),
            json!({"s": s, "n": n}),
            false,
            crate::store::Cond::None,
        )
        .unwrap();
    }
    idx.index_doc(
        Arc::from("9"),
        json!({"other": true}),
        false,
        crate::store::Cond::None,
    )
    .unwrap();
    idx.refresh();
    Target {
        name: idx.name.clone(),
        uuid: idx.uuid.clone(),
        ordinal: 0,
        docs: idx.searchable.clone(),
        mappings: idx.mappings_arc(),
        dls: None,
    }
}

fn req(body: Value) -> SearchRequest {
    SearchRequest::parse(Some(&body), &Params::default()).unwrap()
}

fn ids(m: &Matches) -> Vec<String> {
    m.hits.iter().map(|h| h.id.to_string()).collect()
}

#[test]
fn sorts_with_missing_and_search_after() {
    let t = vec![target()];
    let r = req(json!({"sort": [{"n": "desc"}]}));
    let m = execute(&t, &r, false, None).unwrap();
    assert_eq!(ids(&m), vec!["2", "0", "1", "9"]);
    assert_eq!(m.hits[3].sort[0].to_json(), json!(i64::MIN));
    let r = req(json!({"sort": [{"s.keyword": {"order": "asc", "missing": "_first"}}]}));
    let m = execute(&t, &r, false, None).unwrap();
    assert_eq!(ids(&m), vec!["9", "1", "0", "2"]);
    let r = req(json!({"sort": ["n"], "search_after": [1]}));
    let m = execute(&t, &r, false, None).unwrap();
    assert_eq!(ids(&m), vec!["0", "2", "9"]);
    assert_eq!(m.total, 4);
}

#[test]
fn sort_errors() {
    let t = vec![target()];
    let e = execute(&t, &req(json!({"sort": ["nope"]})), false, None).unwrap_err();
    assert_eq!(e.kind(), Some("search_phase_execution_exception"));
    assert!(
        execute(
            &t,
            &req(json!({"sort": [{"nope": {"unmapped_type": "long"}}]})),
            false,
            None
        )
        .is_ok()
    );
    let e = execute(&t, &req(json!({"sort": ["s"]})), false, None).unwrap_err();
    assert_eq!(e.status, 400);
}

#[test]
fn totals() {
    let r = req(json!({"track_total_hits": 2}));
    let h = render_hits(&[], 4, None, &r, false);
    assert_eq!(h["total"], json!({"value": 2, "relation": "gte"}));
    let r = req(json!({"track_total_hits": false}));
    assert!(render_hits(&[], 4, None, &r, false).get("total").is_none());
}
