//! Streaming a listing into pages from a background task.
//!
//! A database listing runs as one task per source instance: it queries, converts rows into
//! documents, and sends full pages into a small bounded channel, so that reading the database
//! overlaps with the engine indexing the previous page, and memory stays at a few pages whatever
//! the table size. Each page carries the cursor of its last row; a request whose cursor is the
//! one the running task stopped at takes its next page, any other request (another process, a
//! retried slice) starts a new task from that cursor.

use connectors_sdk::{Page, SourceError, SourceItem};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use tokio::sync::{Mutex, mpsc};
use tokio::task::JoinHandle;

/// Bumped when [`Position`] changes incompatibly.
pub const CURSOR_VERSION: u32 = 1;

/// Pages buffered ahead of the engine.
const AHEAD: usize = 2;

/// Where a listing stands: the resume cursor of a page.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Position {
    pub v: u32,
    /// Index of the table (or advanced rule) being listed.
    pub i: usize,
    /// Its name (or the rule's query), to notice a list that changed between slices.
    pub name: String,
    /// Key values of the last row sent from it; `None`: from its first row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Vec<Value>>,
    /// Incremental delta: tracking value of the last row sent (the keyset is tracking + key).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracking_after: Option<Value>,
    /// `_timestamp` of this table's documents, taken when it started (not re-read on resume).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ts: Option<String>,
    /// The sync cursor this sync is building: per table, its tracking column and highest value.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub tracking: Map<String, Value>,
    /// A partition's listing: only these tables, instead of the configured ones.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part: Option<Vec<String>>,
}

impl Position {
    pub fn parse(cursor: Option<&Value>) -> Result<Self, SourceError> {
        match cursor {
            None => Ok(Position {
                v: CURSOR_VERSION,
                ..Position::default()
            }),
            Some(c) => {
                let p: Position = serde_json::from_value(c.clone())
                    .map_err(|e| SourceError::Cursor(e.to_string()))?;
                if p.v != CURSOR_VERSION {
                    return Err(SourceError::Cursor(format!(
                        "cursor version {} is not {CURSOR_VERSION}",
                        p.v
                    )));
                }
                Ok(p)
            }
        }
    }

    pub fn to_value(&self) -> Value {
        serde_json::to_value(self).unwrap_or(Value::Null)
    }

    /// Moves to the start of item `i`.
    pub fn enter(&mut self, i: usize, name: &str) {
        if self.i != i || self.name != name {
            self.i = i;
            self.name = name.to_string();
            self.after = None;
            self.tracking_after = None;
            self.ts = None;
        }
    }

    /// The index to resume at in `names`: the cursor's item if it is still there (even if the
    /// list shifted), else the one that took its place.
    pub fn resume_index(&self, names: &[String]) -> usize {
        if self.name.is_empty() {
            return 0;
        }
        if names.get(self.i).is_some_and(|n| *n == self.name) {
            return self.i;
        }
        match names.iter().position(|n| *n == self.name) {
            Some(i) => i,
            None => {
                tracing::warn!(table = %self.name, "the table being listed is gone; continuing with the next one");
                self.i.min(names.len())
            }
        }
    }

    /// The sync cursor to store, when incremental tracking is configured.
    pub fn sync_cursor(&self) -> Value {
        serde_json::json!({ "tracking": self.tracking })
    }
}

/// The producer's end: collects items into pages and hands them over.
pub struct PageSink {
    tx: mpsc::Sender<Result<Page, SourceError>>,
    page_size: usize,
    items: Vec<SourceItem>,
    /// A full page held back until it is known whether more follows, so that the last page of
    /// a listing always says so (no trailing empty page).
    pending: Option<Page>,
    with_sync_cursor: bool,
}

/// The engine stopped listening (the slice ended): the producer should stop.
#[derive(Debug)]
pub struct Closed;

impl PageSink {
    pub fn is_full(&self) -> bool {
        self.items.len() >= self.page_size
    }

    /// Adds an item; call [`PageSink::flush`] when [`PageSink::is_full`].
    pub fn push(&mut self, item: SourceItem) {
        self.items.push(item);
    }

    async fn send(&self, page: Page) -> Result<(), Closed> {
        self.tx.send(Ok(page)).await.map_err(|_| Closed)
    }

    /// Closes the current page at `position` (the state after its last item).
    pub async fn flush(&mut self, position: &Position) -> Result<(), Closed> {
        if let Some(p) = self.pending.take() {
            self.send(p).await?;
        }
        let items = std::mem::replace(&mut self.items, Vec::with_capacity(self.page_size));
        self.pending = Some(Page {
            items,
            next: Some(position.to_value()),
            sync_cursor: self.with_sync_cursor.then(|| position.sync_cursor()),
        });
        Ok(())
    }

    /// The listing is complete.
    pub async fn finish(mut self, position: &Position) -> Result<(), Closed> {
        let sync_cursor = self.with_sync_cursor.then(|| position.sync_cursor());
        let last = if self.items.is_empty() {
            match self.pending.take() {
                Some(mut p) => {
                    p.next = None;
                    p.sync_cursor = sync_cursor;
                    p
                }
                None => Page {
                    items: Vec::new(),
                    next: None,
                    sync_cursor,
                },
            }
        } else {
            if let Some(p) = self.pending.take() {
                self.send(p).await?;
            }
            Page {
                items: std::mem::take(&mut self.items),
                next: None,
                sync_cursor,
            }
        };
        self.send(last).await
    }

    /// The listing failed: the engine gets the error with the next page it asks for. Pages
    /// already complete are delivered first.
    pub async fn fail(mut self, error: SourceError) {
        if let Some(p) = self.pending.take() {
            let _ = self.send(p).await;
        }
        let _ = self.tx.send(Err(error)).await;
    }
}

/// The consumer's end, held by the data source.
#[derive(Default)]
pub struct Pager {
    running: Mutex<Option<Running>>,
}

struct Running {
    /// What the listing was started for (mode, rules): a request for something else restarts.
    fingerprint: String,
    /// The cursor the next request must carry to continue this listing.
    expect: Option<Value>,
    rx: mpsc::Receiver<Result<Page, SourceError>>,
    task: JoinHandle<()>,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Pager {
    /// The page after `cursor`: from the running listing when it stopped exactly there, else
    /// from a listing that `start` spawns (given the sink to fill).
    pub async fn next_page<F>(
        &self,
        cursor: Option<&Value>,
        fingerprint: String,
        page_size: usize,
        with_sync_cursor: bool,
        start: F,
    ) -> Result<Page, SourceError>
    where
        F: FnOnce(PageSink) -> JoinHandle<()>,
    {
        let mut slot = self.running.lock().await;
        let reusable = slot
            .as_ref()
            .is_some_and(|r| r.fingerprint == fingerprint && r.expect.as_ref() == cursor);
        if !reusable {
            // Dropping the previous listing aborts its task and closes its connection.
            *slot = None;
            let (tx, rx) = mpsc::channel(AHEAD);
            let sink = PageSink {
                tx,
                page_size: page_size.max(1),
                items: Vec::with_capacity(page_size.max(1)),
                pending: None,
                with_sync_cursor,
            };
            let task = start(sink);
            *slot = Some(Running {
                fingerprint,
                expect: cursor.cloned(),
                rx,
                task,
            });
        }
        let Some(running) = slot.as_mut() else {
            return Err(SourceError::Other("the listing did not start".into()));
        };
        match running.rx.recv().await {
            Some(Ok(page)) => {
                match &page.next {
                    Some(next) => running.expect = Some(next.clone()),
                    None => *slot = None,
                }
                Ok(page)
            }
            Some(Err(e)) => {
                *slot = None;
                Err(e)
            }
            None => {
                *slot = None;
                Err(SourceError::Other(
                    "the database listing stopped unexpectedly".into(),
                ))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connectors_sdk::SourceDocument;
    use serde_json::json;

    fn item(i: usize) -> SourceItem {
        let mut m = Map::new();
        m.insert("_id".into(), json!(i));
        SourceItem::Upsert(SourceDocument::new(m))
    }

    /// A listing of `n` items whose cursor is the index of the next one.
    fn spawn(n: usize, from: usize) -> impl FnOnce(PageSink) -> JoinHandle<()> {
        move |mut sink| {
            tokio::spawn(async move {
                let mut pos = Position::parse(None).unwrap();
                for i in from..n {
                    sink.push(item(i));
                    pos.i = i + 1;
                    if sink.is_full() && sink.flush(&pos).await.is_err() {
                        return;
                    }
                }
                let _ = sink.finish(&pos).await;
            })
        }
    }

    async fn list(pager: &Pager, n: usize, page_size: usize) -> Vec<usize> {
        let mut cursor: Option<Value> = None;
        let mut seen = Vec::new();
        loop {
            let from = cursor
                .as_ref()
                .map(|c| Position::parse(Some(c)).unwrap().i)
                .unwrap_or(0);
            let page = pager
                .next_page(
                    cursor.as_ref(),
                    "f".into(),
                    page_size,
                    false,
                    spawn(n, from),
                )
                .await
                .unwrap();
            assert!(page.next.is_none() || page.items.len() == page_size);
            for i in page.items {
                let SourceItem::Upsert(d) = i else { panic!() };
                seen.push(d.fields["_id"].as_u64().unwrap() as usize);
            }
            match page.next {
                Some(n) => cursor = Some(n),
                None => return seen,
            }
        }
    }

    #[tokio::test]
    async fn pages_without_a_trailing_empty_one() {
        for (n, size) in [(0, 3), (1, 3), (3, 3), (7, 3), (9, 3)] {
            let pager = Pager::default();
            assert_eq!(list(&pager, n, size).await, (0..n).collect::<Vec<_>>());
        }
    }

    #[tokio::test]
    async fn a_foreign_cursor_restarts_the_listing() {
        let pager = Pager::default();
        let mut pos = Position::parse(None).unwrap();
        pos.i = 5;
        let page = pager
            .next_page(Some(&pos.to_value()), "f".into(), 2, false, spawn(8, 5))
            .await
            .unwrap();
        assert_eq!(page.items, vec![item(5), item(6)]);
    }
}
