//! Executing a search over index snapshots: compiling the query per index, matching (within a
//! target's document-level security filter), sorting, `search_after`, paging and the result
//! window check.

use std::cmp::Ordering;
use std::sync::Arc;

use serde_json::Value;

use super::request::{SearchRequest, SortBy};
use super::sort::{
    FieldSorter, SortVal, cmp_rows, effective_sort, field_sortval, search_after_row, sorter_for,
};
use super::{MAX_RESULT_WINDOW, Target};
use crate::error::{EsError, EsResult};
use crate::query::{CompileCtx, CompiledQuery, key_feeds_paths};
use crate::store::Doc;

/// A matching document with its score and sort values.
#[derive(Debug, Clone)]
pub struct Hit {
    pub index: Arc<str>,
    pub ordinal: u32,
    pub id: Arc<str>,
    pub doc: Arc<Doc>,
    pub score: f32,
    pub sort: Vec<SortVal>,
}

/// The result of running a query over targets.
#[derive(Debug)]
pub struct Matches {
    /// Sorted hits after `search_after` (all of them, or the first `limit`).
    pub hits: Vec<Hit>,
    /// Total matching documents (before `search_after` and paging).
    pub total: usize,
    pub max_score: Option<f32>,
}

fn shard_doc(ordinal: u32, seq_no: i64) -> i64 {
    ((ordinal as i64) << 40) + seq_no
}

/// Runs a query over targets and sorts the matches. `limit` keeps only the first hits after
/// `search_after` (None keeps all, for scrolls).
pub fn execute(
    targets: &[Target],
    req: &SearchRequest,
    pit: bool,
    limit: Option<usize>,
) -> EsResult<Matches> {
    let now = crate::datemath::now_millis();
    let specs = effective_sort(req, pit);
    let score_sorted = req.sorted_by_score();
    let mut hits: Vec<Hit> = Vec::new();
    let mut total = 0usize;
    let mut max_score: Option<f32> = None;
    let after = match &req.search_after {
        Some(a) => Some(search_after_row(&specs, a, targets)?),
        None => None,
    };

    for t in targets {
        let ctx = CompileCtx {
            mapping: &t.mappings,
            index_name: &t.name,
            now,
        };
        let compiled = CompiledQuery::new(&req.query, &ctx).map_err(|e| wrap_shard(e, t))?;
        let post = match &req.post_filter {
            Some(q) => Some(CompiledQuery::new(q, &ctx).map_err(|e| wrap_shard(e, t))?),
            None => None,
        };
        let dls = match &t.dls {
            Some(q) => Some(CompiledQuery::new(q, &ctx).map_err(|e| wrap_shard(e, t))?),
            None => None,
        };
        let mut sorters: Vec<Option<FieldSorter>> = Vec::with_capacity(specs.len());
        for s in &specs {
            sorters.push(match &s.by {
                SortBy::Field(f) => Some(sorter_for(s, f, t)?),
                _ => None,
            });
        }
        // Only the fields the query, post filter and sorts read are taken out of each source.
        let mut paths: Vec<&str> = Vec::new();
        compiled.paths(&mut paths);
        for q in post.iter().chain(&dls) {
            q.paths(&mut paths);
        }
        for s in sorters.iter().flatten() {
            if let FieldSorter::Mapped { path, .. } = s {
                paths.push(path);
            }
        }
        let keep = |k: &str| key_feeds_paths(k, &paths);
        let whole = paths.iter().any(|p| p.is_empty() || p.contains('*'));
        // Queries on metadata only (`match_all`, `ids`, ...) read no source at all.
        let nothing = Value::Object(serde_json::Map::new());
        for (id, doc) in t.docs.iter() {
            let source = if whole {
                std::borrow::Cow::Borrowed(doc.source.value())
            } else if paths.is_empty() {
                std::borrow::Cow::Borrowed(&nothing)
            } else {
                doc.source.project(&keep)
            };
            let Some(score) = compiled.score(id, &t.name, &source) else {
                continue;
            };
            if let Some(d) = &dls
                && d.score(id, &t.name, &source).is_none()
            {
                continue;
            }
            if let Some(p) = &post
                && p.score(id, &t.name, &source).is_none()
            {
                continue;
            }
            if let Some(min) = req.min_score
                && score < min
            {
                continue;
            }
            total += 1;
            if score_sorted {
                max_score = Some(max_score.map_or(score, |m: f32| m.max(score)));
            }
            if limit == Some(0) {
                // Counting only (`_count`, `size: 0`).
                continue;
            }
            let mut row = Vec::with_capacity(specs.len());
            for (spec, sorter) in specs.iter().zip(&sorters) {
                row.push(match &spec.by {
                    SortBy::Score => SortVal::Double(score as f64),
                    SortBy::Doc | SortBy::ShardDoc => {
                        SortVal::Long(shard_doc(t.ordinal, doc.seq_no))
                    }
                    SortBy::Field(_) => match sorter {
                        Some(s) => field_sortval(s, spec, &source),
                        None => SortVal::Null,
                    },
                });
            }
            if let Some(a) = &after
                && cmp_rows(&specs, &row, a) != Ordering::Greater
            {
                continue;
            }
            hits.push(Hit {
                index: t.name.clone(),
                ordinal: t.ordinal,
                id: id.clone(),
                doc: doc.clone(),
                score,
                sort: row,
            });
        }
    }

    let cmp = |a: &Hit, b: &Hit| {
        cmp_rows(&specs, &a.sort, &b.sort)
            .then_with(|| a.ordinal.cmp(&b.ordinal))
            .then_with(|| a.doc.seq_no.cmp(&b.doc.seq_no))
    };
    match limit {
        Some(k) if k < hits.len() => {
            if k == 0 {
                hits.clear();
            } else {
                hits.select_nth_unstable_by(k - 1, cmp);
                hits.truncate(k);
                hits.sort_unstable_by(cmp);
            }
        }
        _ => hits.sort_unstable_by(cmp),
    }
    Ok(Matches {
        hits,
        total,
        max_score,
    })
}

fn wrap_shard(e: EsError, t: &Target) -> EsError {
    match e.kind() {
        Some("query_shard_exception") | Some("parse_exception") => {
            e.shard_failure(&t.name, &t.uuid)
        }
        _ => e,
    }
}

/// Checks `from + size` against `index.max_result_window`.
pub fn check_window(req: &SearchRequest, targets: &[Target]) -> EsResult<()> {
    let window = req.from + req.size;
    if window > MAX_RESULT_WINDOW {
        let (name, uuid) = targets
            .first()
            .map(|t| (t.name.to_string(), t.uuid.to_string()))
            .unwrap_or_default();
        return Err(EsError::bad_request(format!(
            "Result window is too large, from + size must be less than or equal to: [{MAX_RESULT_WINDOW}] but was [{window}]. See the scroll api for a more efficient way to request large data sets. This limit can be set by changing the [index.max_result_window] index level setting."
        ))
        .shard_failure(&name, &uuid));
    }
    Ok(())
}
