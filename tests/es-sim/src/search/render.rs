//! Rendering search results: hits (`_index`, `_id`, `_score`, `_source`, `sort`...), `hits.total`
//! and `_shards`.

use serde_json::{Map, Value, json};

use super::execute::Hit;
use super::request::{SearchRequest, TrackTotal};
use super::sort::SortVal;
use crate::store::PRIMARY_TERM;

/// Renders one hit.
pub fn render_hit(h: &Hit, req: &SearchRequest, show_score: bool, show_sort: bool) -> Value {
    let mut m = Map::new();
    m.insert("_index".into(), json!(h.index.as_ref()));
    m.insert("_id".into(), json!(h.id.as_ref()));
    if req.version {
        m.insert("_version".into(), json!(h.doc.version));
    }
    if req.seq_no_primary_term {
        m.insert("_seq_no".into(), json!(h.doc.seq_no));
        m.insert("_primary_term".into(), json!(PRIMARY_TERM));
    }
    m.insert(
        "_score".into(),
        if show_score {
            json!(h.score)
        } else {
            Value::Null
        },
    );
    if let Some(src) = req.source.apply(h.doc.source.value()) {
        m.insert("_source".into(), src);
    }
    if show_sort {
        m.insert(
            "sort".into(),
            Value::Array(h.sort.iter().map(SortVal::to_json).collect()),
        );
    }
    Value::Object(m)
}

/// The `hits` object for a page of hits.
pub fn render_hits(
    page: &[Hit],
    total: usize,
    max_score: Option<f32>,
    req: &SearchRequest,
    exact_total: bool,
) -> Value {
    let show_score = req.sorted_by_score() || req.track_scores;
    let show_sort = !req.sort.is_empty();
    let hits: Vec<Value> = page
        .iter()
        .map(|h| render_hit(h, req, show_score, show_sort))
        .collect();
    let mut m = Map::new();
    let track = if exact_total {
        TrackTotal::Exact
    } else {
        req.track_total_hits
    };
    match track {
        TrackTotal::Off => {}
        TrackTotal::Exact => {
            m.insert("total".into(), total_json(total, "eq", req));
        }
        TrackTotal::UpTo(n) => {
            if total > n {
                m.insert("total".into(), total_json(n, "gte", req));
            } else {
                m.insert("total".into(), total_json(total, "eq", req));
            }
        }
    }
    let max = if show_score {
        max_score.map(|s| json!(s)).unwrap_or(Value::Null)
    } else {
        Value::Null
    };
    m.insert("max_score".into(), max);
    m.insert("hits".into(), Value::Array(hits));
    Value::Object(m)
}

fn total_json(n: usize, relation: &str, req: &SearchRequest) -> Value {
    if req.rest_total_hits_as_int {
        json!(n)
    } else {
        json!({"value": n, "relation": relation})
    }
}

pub fn shards_json(n: usize) -> Value {
    json!({"total": n, "successful": n, "skipped": 0, "failed": 0})
}
