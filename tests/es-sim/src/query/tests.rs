//! Unit tests of the query DSL: terms, ranges and date math, bool and exists, parse errors.

use serde_json::json;

use super::*;
use crate::datemath;

fn mapping() -> ObjectMapping {
    let mut m = ObjectMapping::parse(
        json!({"properties": {"status": {"type": "keyword"}, "n": {"type": "long"}, "ts": {"type": "date"}, "title": {"type": "text"}, "deleted": {"type": "boolean"}, "c": {"properties": {"id": {"type": "keyword"}}}}})
            .as_object()
            .unwrap(),
    )
    .unwrap();
    m.dynamic = Some(crate::mapping::Dynamic::False);
    m
}

fn matches(q: Value, doc: Value) -> bool {
    let m = mapping();
    let ctx = CompileCtx {
        mapping: &m,
        index_name: "i",
        now: datemath::parse_date("2024-01-01T00:10:00Z", None).unwrap(),
    };
    let c = CompiledQuery::new(&Query::parse(&q).unwrap(), &ctx).unwrap();
    c.score("id1", "i", &doc).is_some()
}

#[test]
fn term_and_terms() {
    assert!(matches(
        json!({"term": {"status": "pending"}}),
        json!({"status": "pending"})
    ));
    assert!(matches(
        json!({"term": {"status": {"value": "pending"}}}),
        json!({"status": ["x", "pending"]})
    ));
    assert!(!matches(
        json!({"term": {"status": "Pending"}}),
        json!({"status": "pending"})
    ));
    assert!(matches(
        json!({"terms": {"c.id": ["a", "b"]}}),
        json!({"c": {"id": "b"}})
    ));
    assert!(matches(json!({"terms": {"_id": ["id1"]}}), json!({})));
    assert!(matches(
        json!({"term": {"deleted": true}}),
        json!({"deleted": true})
    ));
    assert!(!matches(
        json!({"term": {"unmapped": "x"}}),
        json!({"unmapped": "x"})
    ));
    assert!(matches(
        json!({"term": {"title": "hello"}}),
        json!({"title": "Hello World"})
    ));
    assert!(matches(
        json!({"match": {"title": "world foo"}}),
        json!({"title": "Hello World"})
    ));
    assert!(matches(
        json!({"term": {"c.id": "z"}}),
        json!({"c.id": "z"})
    ));
}

#[test]
fn range_and_date_math() {
    assert!(matches(
        json!({"range": {"ts": {"lte": "now-300s"}}}),
        json!({"ts": "2024-01-01T00:04:00Z"})
    ));
    assert!(!matches(
        json!({"range": {"ts": {"lte": "now-300s"}}}),
        json!({"ts": "2024-01-01T00:06:00Z"})
    ));
    assert!(matches(
        json!({"range": {"n": {"gte": 2, "lt": 5}}}),
        json!({"n": 4})
    ));
    assert!(!matches(
        json!({"range": {"n": {"gte": 2, "lt": 5}}}),
        json!({"n": 5})
    ));
    assert!(matches(
        json!({"range": {"ts": {"gte": "now/d"}}}),
        json!({"ts": "2024-01-01T00:00:00Z"})
    ));
}

#[test]
fn bool_and_exists() {
    let q = json!({"bool": {"must_not": {"term": {"deleted": true}}}});
    assert!(matches(q.clone(), json!({})));
    assert!(!matches(q, json!({"deleted": true})));
    let q = json!({"bool": {"should": [{"term": {"status": "a"}}, {"term": {"status": "b"}}]}});
    assert!(matches(q.clone(), json!({"status": "b"})));
    assert!(!matches(q, json!({"status": "c"})));
    let q = json!({"bool": {"filter": [{"term": {"status": "a"}}], "should": [{"term": {"status": "b"}}]}});
    assert!(matches(q, json!({"status": "a"})));
    let q = json!({"bool": {"should": [{"term": {"status": "a"}}, {"term": {"n": 1}}], "minimum_should_match": 2}});
    assert!(matches(q.clone(), json!({"status": "a", "n": 1})));
    assert!(!matches(q, json!({"status": "a", "n": 2})));
    assert!(matches(
        json!({"exists": {"field": "status"}}),
        json!({"status": "a"})
    ));
    assert!(!matches(
        json!({"exists": {"field": "status"}}),
        json!({"status": null})
    ));
    assert!(!matches(
        json!({"exists": {"field": "status"}}),
        json!({"status": []})
    ));
    assert!(matches(
        json!({"wildcard": {"status": "*end*"}}),
        json!({"status": "pending"})
    ));
    assert!(matches(
        json!({"prefix": {"status": "pen"}}),
        json!({"status": "pending"})
    ));
}

#[test]
fn parse_errors() {
    assert_eq!(
        Query::parse(&json!({"nope": {}})).unwrap_err().kind(),
        Some("parsing_exception")
    );
    assert!(Query::parse(&json!({"term": {"a": "x", "b": "y"}})).is_err());
}
