//! The write side of a slice: bulk requests with up to `max_in_flight` of them in flight, and
//! the bookkeeping that says which source pages are fully acknowledged (only those may be
//! checkpointed, so a resumed sync never skips a document nor counts one twice).

use std::collections::VecDeque;

use es_client::{BulkReport, BulkWriter, EsError};
use serde_json::Value;
use tokio::task::JoinHandle;

/// What the checkpoint records once every operation of a source page is acknowledged.
#[derive(Debug)]
pub(crate) struct PageMark {
    /// The source cursor after this page; `None` after the last page.
    pub next: Option<Value>,
    pub sync_cursor: Option<Value>,
    /// Running totals of documents filtered out and dropped before reaching the writer.
    pub filtered: u64,
    pub dropped: u64,
}

pub(crate) struct Sink {
    writer: BulkWriter<String>,
    in_flight: VecDeque<JoinHandle<BulkReport<String>>>,
    max_in_flight: usize,
    /// Operations pushed, and acknowledged, so far (acknowledgements come in push order).
    pushed: u64,
    acked: u64,
    /// Each listed page, after the count of operations pushed up to and including it.
    marks: VecDeque<(u64, PageMark)>,
}

impl Sink {
    pub fn new(writer: BulkWriter<String>, max_in_flight: usize) -> Self {
        Sink {
            writer,
            in_flight: VecDeque::new(),
            max_in_flight: max_in_flight.max(1),
            pushed: 0,
            acked: 0,
            marks: VecDeque::new(),
        }
    }

    /// Pushes one operation into the writer; says whether a full request is ready.
    pub fn push(
        &mut self,
        op: impl FnOnce(&mut BulkWriter<String>) -> Result<bool, EsError>,
    ) -> Result<bool, EsError> {
        let full = op(&mut self.writer)?;
        self.pushed += 1;
        Ok(full)
    }

    /// Records the end of a page, and ends the open request if it is at least half full, so
    /// requests tend to end on page boundaries without getting small.
    pub fn end_page(&mut self, mark: PageMark) {
        self.marks.push_back((self.pushed, mark));
        let options = self.writer.options();
        if self.writer.open_ops() * 2 >= options.max_ops
            || self.writer.open_bytes() * 2 >= options.max_bytes
        {
            self.writer.end_request();
        }
    }

    /// Closes the open request so that the next launch sends it.
    pub fn end_request(&mut self) {
        self.writer.end_request();
    }

    /// Counts one acknowledged operation (in push order).
    pub fn acked_one(&mut self) {
        self.acked += 1;
    }

    /// The oldest page whose operations are all acknowledged, if any.
    pub fn pop_acked_page(&mut self) -> Option<PageMark> {
        if self.marks.front()?.0 <= self.acked {
            self.marks.pop_front().map(|(_, mark)| mark)
        } else {
            None
        }
    }

    /// Whether a full request waits to be launched.
    pub fn has_ready(&self) -> bool {
        self.writer.is_flush_due()
    }

    /// Whether another request may be launched now.
    pub fn has_room(&self) -> bool {
        self.in_flight.len() < self.max_in_flight
    }

    /// Starts the oldest full request on its own task.
    pub fn launch_ready(&mut self) -> bool {
        match self.writer.take_request() {
            Some(request) => {
                self.in_flight.push_back(tokio::spawn(request.send()));
                true
            }
            None => false,
        }
    }

    /// The oldest request's report if it has already arrived.
    ///
    /// A finished task's handle is polled outside tokio's cooperative budget: inside it, a
    /// `JoinHandle` answers `Pending` once the task's budget is spent, even when its output is
    /// ready, and a finished request would have looked unfinished.
    pub fn finished(&mut self) -> Option<Result<BulkReport<String>, EsError>> {
        if !self.in_flight.front()?.is_finished() {
            return None;
        }
        let mut handle = self.in_flight.pop_front()?;
        match futures_util::FutureExt::now_or_never(tokio::task::unconstrained(&mut handle)) {
            Some(result) => Some(joined(result)),
            None => {
                // Not reachable for a finished task; keep the handle rather than lose a report.
                self.in_flight.push_front(handle);
                None
            }
        }
    }

    /// Waits for the oldest request's report; `None` when nothing is in flight.
    pub async fn next_report(&mut self) -> Option<Result<BulkReport<String>, EsError>> {
        let handle = self.in_flight.pop_front()?;
        Some(joined(handle.await))
    }
}

fn joined(
    r: Result<BulkReport<String>, tokio::task::JoinError>,
) -> Result<BulkReport<String>, EsError> {
    r.map_err(|e| task_error(&e.to_string()))
}

fn task_error(reason: &str) -> EsError {
    EsError::Task {
        task: "bulk request".into(),
        reason: reason.into(),
    }
}

impl Drop for Sink {
    /// A slice that stops early (error, crash test, lost job) does not leave requests running.
    fn drop(&mut self) {
        for handle in &self.in_flight {
            handle.abort();
        }
        self.writer.discard();
    }
}
