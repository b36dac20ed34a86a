//! The deletion phase of a sync: what this sync did not write is stale, except the documents
//! of the parts of the source it could not read.

use std::time::Instant;

use connectors_sdk::SYNC_STAMP_FIELD;
use es_client::DeleteByQueryOptions;
use serde_json::json;
use tracing::debug;

use crate::engine::Budget;
use crate::sync::{Run, Stop};

impl Run<'_> {
    /// The deletion sweep: deletes what this sync did not write, except the documents of the
    /// parts of the source it could not read, in batches of `delete_batch`, checking for a
    /// stop or the deadline between batches. `false` when it stopped before the end (the
    /// checkpoint says where it is; the next slice goes on).
    ///
    /// Counting every document is cheap (no query to run): what the deletion removed is the
    /// difference between counts, which stays exact when a slice dies during the deletion and
    /// the next one runs it again.
    pub(crate) async fn sweep(&mut self, index: &str, budget: &Budget) -> Result<bool, Stop> {
        self.check_job().await?;
        let mut keep = vec![json!({"term": {SYNC_STAMP_FIELD: self.job_id}})];
        // The field may be mapped as text with a keyword sub-field (dynamic mapping) or as a
        // keyword: either term matches.
        // A prefix on a text field matches any of its words that starts with it: that keeps a
        // few documents too many at worst, never deletes one of the scope.
        keep.extend(self.cp.unread.iter().map(|u| {
            let kind = if u.prefix { "prefix" } else { "term" };
            json!({"bool": {"should": [
                {kind: {u.field.as_str(): u.value}},
                {kind: {format!("{}.keyword", u.field): u.value}},
            ]}})
        }));
        let stale_query = json!({"bool": {"must_not": keep}});
        let engine = self.engine;
        let mut before = match self.cp.before_delete {
            Some(n) => n,
            None => {
                engine.es().refresh(index).await?;
                let n = engine.es().count(index, None).await?;
                self.cp.before_delete = Some(n);
                self.checkpoint().await?;
                n
            }
        };
        let batch = engine.config.delete_batch.max(1);
        let options = DeleteByQueryOptions {
            conflicts_proceed: true,
            refresh: true,
            max_docs: Some(batch),
            ..Default::default()
        };
        loop {
            let deleted = self
                .renewing(engine.es().delete_by_query(index, &stale_query, &options))
                .await??;
            let after = engine.es().count(index, None).await?;
            self.cp.counters.deleted += before.saturating_sub(after);
            self.cp.before_delete = Some(after);
            before = after;
            let more = deleted.deleted + deleted.version_conflicts >= batch;
            if !more {
                return Ok(true);
            }
            if budget.stop_requested() || Instant::now() >= budget.deadline {
                debug!(job_id = %self.job_id, deleted = self.cp.counters.deleted, "deletion sweep paused");
                return Ok(false);
            }
            self.check_job().await?;
        }
    }
}
