//! Paging through the connector and sync job indices over a point in time with `search_after`:
//! any number of documents, each read exactly once in a consistent snapshot whatever is
//! written meanwhile, in pages of the configured size (no `from` + `size` window and so no
//! 10,000 ceiling). The point in time is closed as soon as the listing ends.

use es_client::{EsClient, EsError, SearchAfterOptions, SearchParams, SeqNo};
use serde_json::{Value, json};
use tracing::debug;

/// Documents per page, and connector or job updates per `_bulk`.
pub const PAGE_SIZE: usize = 500;

/// How long the point in time lives between two pages.
const KEEP_ALIVE: &str = "1m";

/// One listed document.
pub(super) struct Listed {
    pub id: String,
    pub seq: SeqNo,
    pub source: Value,
}

/// Every document of `index` matching `query`, in `sort` order (the point in time breaks ties
/// with `_shard_doc`), without the `_source` fields in `excludes`. A missing index lists
/// nothing.
pub(super) async fn list_all(
    es: &EsClient,
    index: &str,
    query: Value,
    sort: Value,
    excludes: &[&str],
    page_size: usize,
) -> Result<Vec<Listed>, EsError> {
    let mut body = json!({"query": query, "sort": sort, "track_total_hits": false});
    if !excludes.is_empty() {
        body["_source"] = json!({ "excludes": excludes });
    }
    let options = SearchAfterOptions::default()
        .page_size(page_size.max(1))
        .with_pit(KEEP_ALIVE)
        .params(
            SearchParams::default()
                .seq_no_primary_term()
                .expand_wildcards("hidden"),
        );
    let mut pager = es.search_after::<Value>(index, body, options)?;
    let mut out = Vec::new();
    let mut pages = 0usize;
    let result = loop {
        match pager.next_page().await {
            Ok(Some(hits)) => {
                pages += 1;
                for hit in hits {
                    let Some(seq) = hit.seq_no_primary_term() else {
                        continue;
                    };
                    if let Some(source) = hit.source {
                        out.push(Listed {
                            id: hit.id,
                            seq,
                            source,
                        });
                    }
                }
            }
            Ok(None) => break Ok(()),
            // Opening the point in time on an index that does not exist yet.
            Err(e) if e.is_not_found() && pages == 0 => break Ok(()),
            Err(e) => break Err(e),
        }
    };
    if let Err(e) = pager.close().await {
        debug!(index, error = %e, "could not close a point in time; it expires by itself");
    }
    result.map(|()| out)
}
