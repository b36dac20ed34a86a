//! The generic database source: the [`DataSource`] of any [`Dialect`] — its checks (ping,
//! configuration, advanced rules) and its pages, streamed by the listing task.

use std::sync::Arc;

use async_trait::async_trait;
use connectors_sdk::{
    DataSource, Page, PageRequest, PartitionRequest, SourceError, SourceFeatures,
};
use serde_json::Value;
use tokio::sync::{Mutex, MutexGuard};

use crate::database::dialect::{Dialect, RulePlan};
use crate::database::listing::{connect, produce};
use crate::database::pager::{Pager, Position};
use crate::database::plan::plan_rule;
use crate::database::rules;
use crate::database::settings::{self, TRACKING_KEY};
use crate::database::{self as db, Mode};

/// What every database source offers.
pub fn features() -> SourceFeatures {
    SourceFeatures {
        advanced_rules: true,
        // With `tracking_columns` set, incremental syncs read only changed rows; without,
        // they read everything and deletions are swept as in a full sync.
        incremental_sync: true,
        ..SourceFeatures::default()
    }
}

/// A database source over dialect `D`.
pub struct DatabaseSource<D: Dialect> {
    d: Arc<D>,
    pager: Pager,
    /// The connection kept for checks, when the dialect keeps one; opened on first use.
    kept: Mutex<Option<D::Conn>>,
}

impl<D: Dialect> DatabaseSource<D> {
    pub fn new(dialect: D) -> Self {
        DatabaseSource {
            d: Arc::new(dialect),
            pager: Pager::default(),
            kept: Mutex::new(None),
        }
    }

    /// A connection for checks.
    async fn checks(&self) -> Result<Checks<'_, D>, SourceError> {
        let describe = |e: D::Error| self.d.describe(&e);
        if !D::KEEPS_CHECK_CONNECTION {
            return Ok(Checks::Own(connect(&*self.d).await.map_err(describe)?));
        }
        let mut guard = self.kept.lock().await;
        if guard.as_ref().is_none_or(D::is_closed) {
            *guard = Some(connect(&*self.d).await.map_err(describe)?);
        }
        Ok(Checks::Kept(guard))
    }
}

/// A connection for checks: the kept one, or one of its own, closed once the check is done
/// (dropped if the check fails).
enum Checks<'a, D: Dialect> {
    Kept(MutexGuard<'a, Option<D::Conn>>),
    Own(D::Conn),
}

impl<D: Dialect> Checks<'_, D> {
    fn conn(&mut self) -> Option<&mut D::Conn> {
        match self {
            Checks::Kept(guard) => guard.as_mut(),
            Checks::Own(conn) => Some(conn),
        }
    }

    async fn done(self) {
        if let Checks::Own(conn) = self {
            D::close(conn).await;
        }
    }
}

#[async_trait]
impl<D: Dialect> DataSource for DatabaseSource<D> {
    /// The database can be used, every listed table read, and every tracking column exists.
    async fn validate_config(&self) -> Result<(), SourceError> {
        let (d, s) = (&*self.d, self.d.settings());
        let mut checks = self.checks().await?;
        let Some(conn) = checks.conn() else {
            return Ok(());
        };
        d.check_database(conn).await?;
        // A misspelled name fails the job here instead of syncing nothing and sweeping the
        // index.
        let tables = if !settings::is_wildcard(&s.tables) {
            s.tables.clone()
        } else if D::PROBES_EVERY_TABLE {
            d.all_tables(conn).await.map_err(|e| d.describe(&e))?
        } else {
            Vec::new()
        };
        let mut inaccessible = Vec::new();
        for table in &tables {
            if !d.can_read(conn, table).await {
                inaccessible.push(table.as_str());
            }
        }
        if let Some(e) = settings::inaccessible_tables(&inaccessible, &s.server.user) {
            return Err(e);
        }
        for (table, column) in s.tracking.pairs() {
            if table == settings::WILDCARD {
                continue;
            }
            let found = d.has_column(conn, table, column).await;
            if !found.map_err(|e| d.describe(&e))? {
                return Err(SourceError::config(
                    TRACKING_KEY,
                    format!(
                        "Tracking column '{column}' of table '{table}' does not exist in {}.",
                        d.scope()
                    ),
                ));
            }
        }
        checks.done().await;
        Ok(())
    }

    async fn ping(&self) -> Result<(), SourceError> {
        let mut checks = self.checks().await?;
        if let Some(conn) = checks.conn() {
            self.d.ping(conn).await.map_err(|e| self.d.describe(&e))?;
        }
        checks.done().await;
        Ok(())
    }

    async fn validate_advanced_rules(&self, value: &Value) -> Vec<String> {
        let rules = match rules::parse(value) {
            Ok(r) => r,
            Err(messages) => return messages,
        };
        if rules.is_empty() {
            return Vec::new();
        }
        let d = &*self.d;
        let mut checks = match self.checks().await {
            Ok(c) => c,
            Err(e) => return vec![format!("Cannot validate the advanced rules: {e}")],
        };
        let Some(conn) = checks.conn() else {
            return Vec::new();
        };
        let existing = match d.all_tables(conn).await {
            Ok(t) => t,
            Err(e) => return vec![d.describe(&e).to_string()],
        };
        let mut messages = Vec::new();
        for (i, rule) in rules.iter().enumerate() {
            let n = i + 1;
            let mut missing: Vec<&str> = rule
                .tables
                .iter()
                .filter(|t| !existing.contains(t))
                .map(String::as_str)
                .collect();
            missing.sort_unstable();
            missing.dedup();
            if !missing.is_empty() {
                messages.push(format!(
                    "Rule {n}: tables not found or inaccessible: {}.",
                    missing.join(", ")
                ));
                continue;
            }
            match plan_rule(d, conn, rule).await {
                Ok(RulePlan::Ready(_)) => {}
                Ok(RulePlan::Skip(why)) => messages.push(format!("Rule {n}: {why}")),
                Err(e) => messages.push(format!(
                    "Rule {n}: the query cannot be run: {}",
                    d.describe(&e)
                )),
            }
        }
        checks.done().await;
        messages
    }

    fn incremental_lists_everything(&self) -> bool {
        // Without tracking columns an incremental sync reads every row, so what it did not
        // see is gone; with them, unchanged rows are not read and deletions wait for a full
        // sync.
        self.d.settings().tracking.is_empty()
    }

    /// Full syncs of two or more tables split by table, balanced by the catalog's row
    /// estimates. Custom queries are not split.
    async fn partitions(&self, request: PartitionRequest<'_>) -> Result<Vec<Value>, SourceError> {
        if !rules::is_empty(request.advanced_rules) {
            return Ok(Vec::new());
        }
        crate::database::partition::partitions(&*self.d, request.max).await
    }

    async fn fetch_page(&self, request: PageRequest<'_>) -> Result<Page, SourceError> {
        let position = Position::parse(request.cursor)?;
        let rules = if rules::is_empty(request.advanced_rules) {
            None
        } else {
            let value = request.advanced_rules.cloned().unwrap_or(Value::Null);
            Some(rules::parse(&value).map_err(|m| SourceError::Config {
                field: None,
                message: format!("Invalid advanced rules: {}", m.join(" ")),
            })?)
        };
        let fingerprint = db::fingerprint(&request.mode, request.advanced_rules);
        let mode = Mode::from(&request.mode);
        let d = Arc::clone(&self.d);
        let with_sync_cursor = !d.settings().tracking.is_empty();
        self.pager
            .next_page(
                request.cursor,
                fingerprint,
                request.page_size,
                with_sync_cursor,
                move |sink| tokio::spawn(produce(d, sink, position, mode, rules)),
            )
            .await
    }
}
