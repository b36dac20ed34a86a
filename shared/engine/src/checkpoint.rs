//! The checkpoint of a sync job: everything a worker needs to continue a job where the previous
//! slice stopped, stored in the sync job document under `metadata.checkpoint` and written with
//! optimistic concurrency so two workers can never both advance one job.

use connectors_protocol::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error_budget::ErrorBudget;

/// Key of the checkpoint inside the job's `metadata`.
pub const METADATA_KEY: &str = "checkpoint";
/// Key of a partitioned job's partitions inside its `metadata`: an object of checkpoints, one
/// per partition, keyed by the partition's number. Each worker writes only its own member.
pub const PARTITIONS_KEY: &str = "partitions";
/// Bumped when the layout changes incompatibly; an unknown version restarts the job's listing.
pub const CHECKPOINT_VERSION: u32 = 2;

/// Where a sync stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// Listing the source and indexing pages.
    Extract,
    /// Deleting documents this sync did not write (full syncs, and incremental ones whose
    /// source reports unchanged documents).
    Delete,
}

/// Counters reported in the job document.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// Successful index operations.
    pub indexed: u64,
    pub deleted: u64,
    /// Bytes of document JSON sent in index operations (reported in MiB).
    pub bytes_sent: u64,
    /// Documents excluded by basic sync rules.
    pub filtered: u64,
    /// Documents dropped: no id, download failed, too large.
    pub dropped: u64,
    /// Item errors counted against the error budget.
    pub errors: u64,
}

impl Counters {
    /// Adds `other` to these counters.
    pub fn add(&mut self, other: &Counters) {
        self.indexed += other.indexed;
        self.deleted += other.deleted;
        self.bytes_sent += other.bytes_sent;
        self.filtered += other.filtered;
        self.dropped += other.dropped;
        self.errors += other.errors;
    }

    /// `indexed_document_volume`: MiB, rounded, as the reference reports it.
    pub fn volume_mib(&self) -> u64 {
        (self.bytes_sent as f64 / (1024.0 * 1024.0)).round() as u64
    }
}

/// A worker's claim on a job for the length of one slice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub owner: String,
    pub until: Timestamp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub version: u32,
    /// Slices finished so far; a queue message for slice `n` is current when `n == slice`.
    pub slice: u64,
    pub phase: Phase,
    /// The source cursor after the last page whose documents are all acknowledged.
    pub cursor: Option<Value>,
    /// Pages fully processed.
    pub pages: u64,
    /// The source's incremental cursor as of `cursor`.
    pub sync_cursor: Option<Value>,
    pub counters: Counters,
    pub budget: ErrorBudget,
    /// Delete phase: how many documents the index held before stale ones were deleted. The
    /// count afterwards gives how many went, also when a deletion was cut short and resumed.
    pub before_delete: Option<u64>,
    pub lease: Option<Lease>,
    /// Parts of the source this sync could not read: their documents are not swept.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub unread: Vec<connectors_sdk::UnreadScope>,
    /// A job's checkpoint: into how many partitions its listing was split (0: not split).
    /// While the phase is `extract` the partitions run, each with its own checkpoint under
    /// `metadata.partitions`; the worker that completes the last one merges them here.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub partitions: u32,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

impl Checkpoint {
    /// The lease of a worker other than `owner` that has not run out: the job is theirs.
    pub fn live_lease_of_other(&self, owner: &str) -> Option<&Lease> {
        self.lease
            .as_ref()
            .filter(|l| l.owner != owner && l.until > Timestamp::now())
    }

    pub fn new() -> Self {
        Checkpoint {
            version: CHECKPOINT_VERSION,
            slice: 0,
            phase: Phase::Extract,
            cursor: None,
            pages: 0,
            sync_cursor: None,
            counters: Counters::default(),
            budget: ErrorBudget::default(),
            before_delete: None,
            lease: None,
            unread: Vec::new(),
            partitions: 0,
        }
    }

    /// Whether this job checkpoint stands for partitions that are still listing.
    pub fn is_fanned_out(&self) -> bool {
        self.partitions > 0 && self.phase == Phase::Extract
    }

    /// Whether this partition's listing is complete.
    pub fn is_listed(&self) -> bool {
        self.phase != Phase::Extract
    }

    /// The checkpoint of a job whose partitions all listed: counters, pages and budgets added
    /// up, unread scopes joined, ready for the deletion sweep. `sync_cursor` is the caller's
    /// (the source merges the partitions' cursors).
    pub fn merged(&self, parts: &Partitions) -> Checkpoint {
        let mut merged = Checkpoint {
            phase: Phase::Delete,
            cursor: None,
            before_delete: None,
            lease: None,
            ..self.clone()
        };
        merged.pages = 0;
        merged.counters = Counters::default();
        merged.budget = ErrorBudget::default();
        for part in parts.values() {
            merged.pages += part.pages;
            merged.counters.add(&part.counters);
            merged.budget.absorb(&part.budget);
            for scope in &part.unread {
                if !merged.unread.iter().any(|u| u.same_scope(scope)) {
                    merged.unread.push(scope.clone());
                }
            }
        }
        merged
    }

    /// Reads the checkpoint from a job's `metadata`, if there is a usable one.
    pub fn from_metadata(metadata: Option<&serde_json::Map<String, Value>>) -> Option<Checkpoint> {
        let raw = metadata?.get(METADATA_KEY)?;
        let cp: Checkpoint = serde_json::from_value(raw.clone()).ok()?;
        (cp.version == CHECKPOINT_VERSION).then_some(cp)
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }
}

/// The partitions of a job, by number.
pub type Partitions = std::collections::BTreeMap<u32, Checkpoint>;

/// Reads the partitions of a job's `metadata` (none when the job is not split). A partition
/// whose checkpoint cannot be read is left out: its messages are then turned away as stale.
pub fn partitions_from_metadata(metadata: Option<&serde_json::Map<String, Value>>) -> Partitions {
    let Some(Value::Object(parts)) = metadata.and_then(|m| m.get(PARTITIONS_KEY)) else {
        return Partitions::new();
    };
    parts
        .iter()
        .filter_map(|(k, v)| {
            let n = k.parse::<u32>().ok()?;
            let cp: Checkpoint = serde_json::from_value(v.clone()).ok()?;
            (cp.version == CHECKPOINT_VERSION).then_some((n, cp))
        })
        .collect()
}

/// Whether all `expected` partitions of a job are there and listed.
pub fn all_listed(parts: &Partitions, expected: u32) -> bool {
    parts.len() == expected as usize && parts.values().all(Checkpoint::is_listed)
}

impl Default for Checkpoint {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn round_trips_through_metadata() {
        let mut cp = Checkpoint::new();
        cp.cursor = Some(json!({"path": ["a", "b.txt"]}));
        cp.counters.indexed = 5;
        cp.counters.bytes_sent = 3 * 1024 * 1024 - 1;
        let meta = json!({ METADATA_KEY: cp.to_value(), "other": 1 });
        let back = Checkpoint::from_metadata(meta.as_object()).unwrap();
        assert_eq!(back, cp);
        assert_eq!(back.counters.volume_mib(), 3);
        assert!(
            Checkpoint::from_metadata(json!({"checkpoint": {"version": 99}}).as_object()).is_none()
        );
    }
}
