//! Search execution over refreshed snapshots: request parsing, matching, sorting (fields,
//! `_score`, `_doc`, `_shard_doc`, `missing`, `unmapped_type`), `search_after`, paging, hit
//! rendering, and the scroll and point-in-time contexts.
//!
//! Layout: `request` (parsing a search request: sort, `q`, `track_total_hits`...), `sort` (sort
//! values, row comparison, `search_after`), `execute` (matching, sorting and paging over
//! snapshots), `render` (hits and totals as JSON), `contexts` (scrolls and points in time).

mod contexts;
mod execute;
mod render;
mod request;
mod sort;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use crate::mapping::ObjectMapping;
use crate::query::Query;
use crate::store::DocMap;

pub use contexts::{Contexts, PitCtx, ScrollCtx, context_missing};
pub use execute::{Hit, Matches, check_window, execute};
pub use render::{render_hit, render_hits, shards_json};
pub use request::{
    Missing, PitRef, SearchRequest, SortBy, SortSpec, TrackTotal, parse_q, parse_sort,
};
pub use sort::SortVal;

pub const MAX_RESULT_WINDOW: usize = 10_000;

/// A searchable snapshot of one index.
#[derive(Debug, Clone)]
pub struct Target {
    pub name: Arc<str>,
    pub uuid: Arc<str>,
    pub ordinal: u32,
    pub docs: Arc<DocMap>,
    pub mappings: Arc<ObjectMapping>,
    /// Document-level security: only documents matching this filter are visible.
    pub dls: Option<Arc<Query>>,
}
