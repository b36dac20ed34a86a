//! The listing task of the generic database source: every configured table (or advanced rule)
//! in turn, read by keyset chunks into pages, resuming after a transient failure from the last
//! row sent; see [`crate::database`] for the reading strategy.

use std::sync::Arc;

use connectors_sdk::{SourceError, SourceItem, UnreadScope};
use serde_json::Value;
use tracing::{info, warn};

use crate::database::dialect::{Dialect, Keys, Plan, RulePlan};
use crate::database::layout::Layout;
use crate::database::pager::{PageSink, Position};
use crate::database::plan::{plan_rule, plan_table};
use crate::database::rules::QueryRule;
use crate::database::settings::{self, READ_TIMEOUT, RETRY_BASE};
use crate::database::{self as db, Mode, python};

/// Why a listing stopped early.
pub enum Stop<E> {
    /// The engine is no longer listening.
    Closed,
    /// A database failure (retried when transient).
    Db(E),
    /// Anything else; ends the sync with this error.
    Fail(SourceError),
}

fn bad_keyset<E>() -> Stop<E> {
    Stop::Fail(SourceError::Cursor("bad keyset".into()))
}

/// Opens a connection, retrying transient failures.
pub async fn connect<D: Dialect>(d: &D) -> Result<D::Conn, D::Error> {
    settings::retry(d.settings().retry_count, D::transient, || d.connect()).await
}

/// The listing task: runs until the listing is complete, the engine stops listening, or a
/// failure outlasts the retries. Transient failures reconnect and resume from the last row
/// sent.
pub async fn produce<D: Dialect>(
    d: Arc<D>,
    mut sink: PageSink,
    mut pos: Position,
    mode: Mode,
    rules: Option<Vec<QueryRule>>,
) {
    let d = &*d;
    let mut attempts = 0u32;
    let mut failed_at: Option<Value> = None;
    loop {
        let result = match connect(d).await {
            Ok(mut conn) => {
                let result = match d.start_listing(&mut conn).await {
                    Ok(()) => {
                        let mut lister = Lister {
                            d,
                            conn: &mut conn,
                            mode: &mode,
                        };
                        match &rules {
                            Some(rules) => lister.rules(&mut sink, &mut pos, rules).await,
                            None => lister.tables(&mut sink, &mut pos).await,
                        }
                    }
                    Err(e) => Err(Stop::Db(e)),
                };
                if result.is_ok() {
                    D::close(conn).await;
                }
                result
            }
            Err(e) => Err(Stop::Db(e)),
        };
        match result {
            Ok(()) => {
                let _ = sink.finish(&pos).await;
                return;
            }
            Err(Stop::Closed) => return,
            Err(Stop::Fail(e)) => {
                sink.fail(e).await;
                return;
            }
            Err(Stop::Db(e)) => {
                let here = Some(pos.to_value());
                if failed_at != here {
                    attempts = 0;
                    failed_at = here;
                }
                if D::transient(&e) && attempts < d.settings().retry_count {
                    attempts += 1;
                    let pause = RETRY_BASE * 2u32.saturating_pow(attempts - 1);
                    warn!(error = %d.describe(&e), attempt = attempts, "{} listing failed; resuming after a pause", D::WORDING.product);
                    tokio::time::sleep(pause).await;
                    continue;
                }
                sink.fail(d.describe(&e)).await;
                return;
            }
        }
    }
}

/// One connection's listing.
struct Lister<'a, D: Dialect> {
    d: &'a D,
    conn: &'a mut D::Conn,
    mode: &'a Mode,
}

/// Where a read's rows go, and what they make.
struct Target<'a> {
    sink: &'a mut PageSink,
    pos: &'a mut Position,
    layout: &'a Layout,
    id_prefix: &'a str,
    /// The table whose sync cursor entry follows the rows' tracking values.
    tracked: Option<&'a str>,
    /// What is read, for the message of a stalled read.
    what: &'a str,
}

impl<D: Dialect> Lister<'_, D> {
    async fn tables(
        &mut self,
        sink: &mut PageSink,
        pos: &mut Position,
    ) -> Result<(), Stop<D::Error>> {
        let s = self.d.settings();
        let tables = if let Some(part) = &pos.part {
            part.clone()
        } else if settings::is_wildcard(&s.tables) {
            let tables = self.d.all_tables(self.conn).await.map_err(Stop::Db)?;
            self.d.tables_found(&tables);
            tables
        } else {
            s.tables.clone()
        };
        let start = pos.resume_index(&tables);
        for (i, table) in tables.iter().enumerate().skip(start) {
            pos.enter(i, table);
            self.table(sink, pos, table).await?;
        }
        Ok(())
    }

    async fn rules(
        &mut self,
        sink: &mut PageSink,
        pos: &mut Position,
        rules: &[QueryRule],
    ) -> Result<(), Stop<D::Error>> {
        let names: Vec<String> = rules.iter().map(|r| r.query.clone()).collect();
        for i in pos.resume_index(&names)..rules.len() {
            pos.enter(i, &names[i]);
            self.rule(sink, pos, &rules[i]).await?;
        }
        Ok(())
    }

    /// Reports `table` unreadable: its documents stay in the index, this sync did not see them.
    fn unreadable(&self, sink: &mut PageSink, table: &str, error: SourceError) {
        let reason = format!(
            "Something went wrong while fetching {} table '{table}'. Error: {error}",
            D::WORDING.rows_of
        );
        warn!("{reason}");
        sink.push(SourceItem::Unreadable(UnreadScope::exact(
            D::WORDING.table_field,
            Value::String(table.to_string()),
            reason,
        )));
    }

    fn no_key(&self, table: &str) {
        let q = D::WORDING.quote.map(String::from).unwrap_or_default();
        warn!(
            "Skipping table {q}{table}{q} from database {q}{}{q} since no primary key is associated with it. Assign primary key to the table to index it in the next sync interval.",
            self.d.settings().server.database
        );
    }

    async fn table(
        &mut self,
        sink: &mut PageSink,
        pos: &mut Position,
        table: &str,
    ) -> Result<(), Stop<D::Error>> {
        let s = self.d.settings();
        let (id, order) = match self
            .d
            .table_keys(self.conn, table)
            .await
            .map_err(Stop::Db)?
        {
            Keys::Found { id, .. } if id.is_empty() => {
                self.no_key(table);
                return Ok(());
            }
            Keys::Found { id, order } => (id, order),
            Keys::Skip => return Ok(()),
            Keys::Unreadable(e) => {
                self.unreadable(sink, table, e);
                return Ok(());
            }
        };
        // The tracking column, when configured and present.
        let mut tracking = s.tracking.column_for(table);
        if let Some(column) = tracking
            && !self
                .d
                .has_column(self.conn, table, column)
                .await
                .map_err(Stop::Db)?
        {
            if s.tracking.is_explicit(table) {
                warn!(
                    table,
                    column, "the tracking column does not exist; reading the table in full"
                );
            }
            tracking = None;
        }
        let since = tracking
            .and_then(|c| self.mode.previous(table, c))
            .and_then(|v| D::key_from_cursor(&v));
        let delta = since.is_some();
        let plan = match plan_table(self.d, self.conn, table, &id, &order, tracking, delta).await {
            Ok(Some(plan)) => plan,
            Ok(None) => {
                self.no_key(table);
                return Ok(());
            }
            Err(e) if D::transient(&e) => return Err(Stop::Db(e)),
            Err(e) => {
                self.unreadable(sink, table, self.d.describe(&e));
                return Ok(());
            }
        };
        if pos.ts.is_none() {
            let ts = self.d.table_timestamp(self.conn, table).await;
            pos.ts = Some(ts.map_err(Stop::Db)?.unwrap_or_else(python::now_iso));
        }
        if let Some(column) = tracking
            && !pos.tracking.contains_key(table)
        {
            let value = match &since {
                Some(v) => D::key_to_cursor(v),
                // Read before the rows: anything changed from now on has a value at least
                // this high and is read by the next incremental sync.
                None => self
                    .d
                    .max_tracking(self.conn, table, column)
                    .await
                    .map_err(Stop::Db)?,
            };
            pos.tracking
                .insert(table.to_string(), db::tracking_entry(column, value));
        }
        info!(table, delta, "{}", D::WORDING.reading_table);
        let what = format!("reading table '{table}'");
        self.read(sink, pos, &plan, since, Some(table), &what).await
    }

    async fn rule(
        &mut self,
        sink: &mut PageSink,
        pos: &mut Position,
        rule: &QueryRule,
    ) -> Result<(), Stop<D::Error>> {
        info!(tables = ?rule.tables, query = %rule.query, "{}", D::WORDING.reading_query);
        let plan = match plan_rule(self.d, self.conn, rule).await {
            Ok(RulePlan::Ready(plan)) => plan,
            Ok(RulePlan::Skip(why)) => {
                warn!(query = %rule.query, "Skipping the custom query: {why}");
                return Ok(());
            }
            Err(e) if D::transient(&e) => return Err(Stop::Db(e)),
            Err(e) => {
                return Err(Stop::Fail(SourceError::Other(format!(
                    "The custom query on tables {} failed: {}",
                    rule.tables.join(", "),
                    self.d.describe(&e)
                ))));
            }
        };
        if pos.ts.is_none() {
            let mut latest: Option<String> = None;
            for table in &rule.tables {
                let ts = self.d.table_timestamp(self.conn, table).await;
                if let Some(t) = ts.map_err(Stop::Db)? {
                    latest = latest.max(Some(t));
                }
            }
            pos.ts = Some(latest.unwrap_or_else(python::now_iso));
        }
        self.read(sink, pos, &plan, None, None, "running a custom query")
            .await
    }

    /// Reads `plan` by statements of `limit` rows from `pos`. `since` is the previous tracking
    /// value of an incremental delta; `tracked` names the sync cursor entry to advance.
    async fn read(
        &mut self,
        sink: &mut PageSink,
        pos: &mut Position,
        plan: &Plan<D>,
        since: Option<D::Param>,
        tracked: Option<&str>,
        what: &str,
    ) -> Result<(), Stop<D::Error>> {
        let timestamp = Value::String(pos.ts.clone().unwrap_or_default());
        let members = self.d.members(&plan.table_value);
        let tail: Vec<(&str, &Value)> = members.iter().map(|(n, v)| (*n, v)).collect();
        let layout = Layout::new(&plan.names, &timestamp, &tail, D::ID_HOLDS_ID);
        let id_prefix = self.d.id_prefix();
        let reading = &plan.reading;
        loop {
            let mut params: Vec<D::Param> = since.iter().cloned().collect();
            let statement = match &pos.after {
                Some(after) => {
                    let resume = D::resume_params(reading, after, pos.tracking_after.as_ref());
                    params.extend(resume.ok_or_else(bad_keyset)?);
                    &reading.next
                }
                None => &reading.first,
            };
            let mut target = Target {
                sink: &mut *sink,
                pos: &mut *pos,
                layout: &layout,
                id_prefix: &id_prefix,
                tracked,
                what,
            };
            let n = self.chunk(plan, statement, params, &mut target).await?;
            if reading.limit.is_none_or(|limit| n < limit) {
                return Ok(());
            }
        }
    }

    /// Streams one statement's rows into pages; the number of rows. The position follows the
    /// last row sent: it is brought up to date before each page closes and when the rows end
    /// or fail (a retry resumes there), not for every row.
    async fn chunk(
        &mut self,
        plan: &Plan<D>,
        statement: &D::Statement,
        params: Vec<D::Param>,
        t: &mut Target<'_>,
    ) -> Result<usize, Stop<D::Error>> {
        let d = self.d;
        let mut rows = d
            .query(self.conn, statement, params)
            .await
            .map_err(Stop::Db)?;
        let mut n = 0usize;
        let mut last: Option<D::Row> = None;
        let streamed: Result<(), Stop<D::Error>> = async {
            loop {
                let next = tokio::time::timeout(READ_TIMEOUT, D::next_row(&mut rows))
                    .await
                    .map_err(|_| Stop::Fail(SourceError::Unavailable(stalled(d, t.what))))?;
                let Some(row) = next.map_err(Stop::Db)? else {
                    return Ok(());
                };
                n += 1;
                let doc = plan
                    .document(&row, t.layout, t.id_prefix)
                    .map_err(Stop::Fail)?;
                t.sink.push(t.layout.item(doc).map_err(Stop::Fail)?);
                if t.sink.is_full() {
                    plan.advance(t.pos, &row, t.tracked).map_err(Stop::Db)?;
                    t.sink.flush(t.pos).await.map_err(|_| Stop::Closed)?;
                }
                last = Some(row);
            }
        }
        .await;
        drop(rows);
        if let Some(row) = &last {
            plan.advance(t.pos, row, t.tracked).map_err(Stop::Db)?;
        }
        streamed.map(|()| n)
    }
}

/// The message of a read that got no rows for [`READ_TIMEOUT`].
fn stalled<D: Dialect>(d: &D, what: &str) -> String {
    let at = d.settings().server.at();
    let secs = READ_TIMEOUT.as_secs();
    let product = D::WORDING.product;
    if D::WORDING.stall_says_what {
        format!("{product} at {at} sent nothing for {secs} s while {what}.")
    } else {
        format!("{product} at {at} sent nothing for {secs} s.")
    }
}
