//! The in-memory cluster state: indices with their documents, aliases, and name resolution.
//!
//! Each index keeps a real-time `live` map (used by GET and writes) and a `searchable` map (used by
//! search, count and delete-by-query) that a refresh brings up to date. A refresh only touches the
//! ids written since the previous one. Documents are `Arc`s shared by both maps.
//!
//! Layout: `fxhash` (the id hasher), `versioning` (write conditions: `if_seq_no`, external
//! versions), `settings` (flat and nested index settings), `index` (one index and its writes),
//! `catalog` (indices, aliases, name resolution and index creation).

mod catalog;
mod fxhash;
mod index;
mod settings;
mod versioning;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::Value;

use crate::doc_source::{RawDoc, Source};

pub use crate::sync::{read, write};
pub use catalog::{AliasProps, Catalog, ResolveOpts, build_index, validate_index_name};
pub use fxhash::{FxBuild, FxHasher};
pub use index::{Index, Outcome, UpdateSpec, WriteResult, check_id, merge_into};
pub use settings::{nest_settings, normalize_settings};
pub use versioning::{
    Cas, Cond, External, MATCH_ANY, MATCH_DELETED, VersionType, WriteKind, cas_from, write_cond,
};

/// One stored document version.
#[derive(Debug)]
pub struct Doc {
    pub source: Source,
    pub version: i64,
    pub seq_no: i64,
}

/// A document to write: a tree (document APIs, updates, pipelines) or scanned text (bulk).
#[derive(Debug)]
pub enum Incoming<'a> {
    Tree(Value),
    Raw(RawDoc<'a>),
}

impl From<Value> for Incoming<'_> {
    fn from(v: Value) -> Self {
        Incoming::Tree(v)
    }
}

/// Documents by id. Ids are hashed with FxHash: fast, and hash flooding is no concern here.
pub type DocMap = HashMap<Arc<str>, Arc<Doc>, FxBuild>;

pub const PRIMARY_TERM: i64 = 1;
