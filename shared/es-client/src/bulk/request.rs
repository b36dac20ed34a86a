//! Building requests by size and count: buffered operations are grouped greedily into requests
//! of at most `max_ops` operations and `max_bytes` bytes (a single larger operation is a request
//! of its own); the oldest full request is taken out whole, and the body for a subset of a
//! request (413 halves, item retries) is rebuilt by copying the operations' byte ranges.

use std::collections::VecDeque;

use bytes::Bytes;

use super::encoder;
use super::report::{BulkItem, Outcome};
use super::{BulkAction, DEFAULT_MAX_OPS};
use crate::error::EsError;

/// One buffered operation.
pub(super) struct PendingOp<K> {
    pub(super) key: K,
    pub(super) action: BulkAction,
    /// Byte range of the action line + source line (with newlines) in the buffer.
    pub(super) start: usize,
    pub(super) end: usize,
    pub(super) source_bytes: usize,
    pub(super) auto_id: bool,
    pub(super) attempts: u32,
}

impl<K> PendingOp<K> {
    pub(super) fn into_item(self, outcome: Outcome) -> BulkItem<K> {
        BulkItem {
            key: self.key,
            action: self.action,
            generated_id: outcome.generated_id,
            status: outcome.status,
            result: outcome.result,
            error: outcome.error,
            attempts: self.attempts,
            source_bytes: self.source_bytes,
        }
    }
}

/// The buffered operations, in one NDJSON buffer, cut into full requests and one open request.
pub(super) struct PendingRequests<K> {
    max_ops: usize,
    max_bytes: usize,
    pub(super) buf: Vec<u8>,
    pub(super) ops: Vec<PendingOp<K>>,
    /// Op indices where closed (full) requests end.
    pub(super) chunk_ends: VecDeque<usize>,
    pub(super) open_start: usize,
    open_bytes: usize,
}

impl<K> PendingRequests<K> {
    pub(super) fn new(max_ops: usize, max_bytes: usize) -> Self {
        PendingRequests {
            max_ops,
            max_bytes,
            buf: Vec::new(),
            ops: Vec::with_capacity(max_ops.min(DEFAULT_MAX_OPS) + 1),
            chunk_ends: VecDeque::new(),
            open_start: 0,
            open_bytes: 0,
        }
    }

    /// Encodes one operation into the open request, closing requests as the limits say.
    /// Returns whether a full request is ready.
    pub(super) fn push(
        &mut self,
        action: BulkAction,
        index: &str,
        id: Option<&str>,
        key: K,
        write_source: impl FnOnce(&mut Vec<u8>) -> serde_json::Result<()>,
    ) -> Result<bool, EsError> {
        let encoded = encoder::encode(&mut self.buf, action, index, id, write_source)?;
        let len = encoded.end - encoded.start;
        // Start a new request when this operation does not fit in the open one.
        if self.ops.len() > self.open_start && self.open_bytes + len > self.max_bytes {
            self.end_request();
        }
        self.ops.push(PendingOp {
            key,
            action,
            start: encoded.start,
            end: encoded.end,
            source_bytes: encoded.source_bytes,
            auto_id: id.is_none(),
            attempts: 0,
        });
        self.open_bytes += len;
        if self.ops.len() - self.open_start >= self.max_ops || self.open_bytes >= self.max_bytes {
            self.end_request();
        }
        Ok(self.is_flush_due())
    }

    /// Closes the open request, if it has operations.
    pub(super) fn end_request(&mut self) {
        if self.ops.len() > self.open_start {
            self.chunk_ends.push_back(self.ops.len());
            self.open_start = self.ops.len();
            self.open_bytes = 0;
        }
    }

    pub(super) fn is_flush_due(&self) -> bool {
        !self.chunk_ends.is_empty()
    }

    pub(super) fn full_requests(&self) -> usize {
        self.chunk_ends.len()
    }

    pub(super) fn pending_ops(&self) -> usize {
        self.ops.len()
    }

    pub(super) fn open_ops(&self) -> usize {
        self.ops.len() - self.open_start
    }

    pub(super) fn open_bytes(&self) -> usize {
        self.open_bytes
    }

    pub(super) fn pending_bytes(&self) -> usize {
        self.buf.len()
    }

    /// Drops every operation; returns their keys.
    pub(super) fn discard(&mut self) -> Vec<K> {
        self.buf.clear();
        self.chunk_ends.clear();
        self.open_start = 0;
        self.open_bytes = 0;
        self.ops.drain(..).map(|op| op.key).collect()
    }

    /// Takes the oldest full request out: its NDJSON and its operations (byte ranges into it).
    pub(super) fn take(&mut self) -> Option<(Bytes, Vec<PendingOp<K>>)> {
        let n = self.chunk_ends.pop_front()?;
        let byte_end = self.ops[n - 1].end;
        // The remainder (the open request) is usually small: move it to a fresh buffer sized
        // like the request just taken, and hand the full buffer over without copying it.
        let mut rest = Vec::with_capacity(byte_end.max(self.buf.len() - byte_end) + 1024);
        rest.extend_from_slice(&self.buf[byte_end..]);
        let mut taken = std::mem::replace(&mut self.buf, rest);
        taken.truncate(byte_end);
        let rest_ops = self.ops.split_off(n);
        let taken_ops = std::mem::replace(&mut self.ops, rest_ops);
        for op in &mut self.ops {
            op.start -= byte_end;
            op.end -= byte_end;
        }
        for end in &mut self.chunk_ends {
            *end -= n;
        }
        self.open_start -= n;
        Some((Bytes::from(taken), taken_ops))
    }
}

/// The body for a subset (`batch`, indices into `ops`) of a taken request: the whole buffer when
/// it is all of them.
pub(super) fn body<K>(buf: &Bytes, ops: &[PendingOp<K>], batch: &[usize]) -> Bytes {
    if batch.len() == ops.len() {
        return buf.clone();
    }
    let mut body = Vec::new();
    build_body_into(
        buf,
        batch.iter().map(|&i| (ops[i].start, ops[i].end)),
        &mut body,
    );
    Bytes::from(body)
}

/// The two halves a request answered 413 is split into (`batch` has at least 2 operations).
pub(super) fn halves(batch: &[usize]) -> (Vec<usize>, Vec<usize>) {
    let mid = batch.len() / 2;
    (batch[..mid].to_vec(), batch[mid..].to_vec())
}

/// Concatenates byte ranges of `buf` into `out` (cleared first).
pub(super) fn build_body_into(
    buf: &[u8],
    ranges: impl Iterator<Item = (usize, usize)>,
    out: &mut Vec<u8>,
) {
    out.clear();
    for (start, end) in ranges {
        out.extend_from_slice(&buf[start..end]);
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_support::client;
    use super::super::{BulkOptions, BulkWriter};
    use super::*;

    #[test]
    fn flush_due_by_count_and_bytes() {
        let mut w: BulkWriter<u32> = client().bulk_writer(BulkOptions::default().max_ops(3));
        assert!(!w.push_delete("i", "1", 1).unwrap());
        assert!(!w.push_delete("i", "2", 2).unwrap());
        assert!(w.push_delete("i", "3", 3).unwrap());
        assert_eq!(w.pending.chunk_ends, [3]);
        w.discard();

        // Each delete line is 33 bytes; 80 bytes fit two.
        let line = br#"{"delete":{"_index":"i","_id":"1"}}"#.len() + 1;
        let mut w: BulkWriter<u32> =
            client().bulk_writer(BulkOptions::default().max_bytes(2 * line + 10));
        assert!(!w.push_delete("i", "1", 1).unwrap());
        assert!(!w.push_delete("i", "2", 2).unwrap());
        // The third does not fit: the first two form a full request.
        assert!(w.push_delete("i", "3", 3).unwrap());
        assert_eq!(w.pending.chunk_ends, [2]);
        assert_eq!(w.pending.open_start, 2);
        w.discard();

        // A single operation bigger than the limit is a request of its own.
        let mut w: BulkWriter<u32> = client().bulk_writer(BulkOptions::default().max_bytes(10));
        assert!(w.push_delete("i", "1", 1).unwrap());
        assert!(w.push_delete("i", "2", 2).unwrap());
        assert_eq!(w.pending.chunk_ends, [1, 2]);
        w.discard();
    }

    #[test]
    fn body_from_slices() {
        let buf = b"aaBBBcdd";
        let mut out = Vec::new();
        build_body_into(buf, [(2, 5), (6, 8)].into_iter(), &mut out);
        assert_eq!(out, b"BBBdd");
        build_body_into(buf, [(0, 2)].into_iter(), &mut out);
        assert_eq!(out, b"aa");
    }
}
