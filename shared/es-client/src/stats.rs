//! What a client sent and read: HTTP exchanges and their bytes, counted by the transport for
//! every attempt (whole-request retries included), read with `EsClient::stats`. Clones and
//! `EsClient::with_auth` clients share the counters of the client they came from.

use std::sync::atomic::{AtomicU64, Ordering};

/// A snapshot of a client's counters; subtract two snapshots to get what happened in between.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RequestStats {
    /// HTTP exchanges attempted (an exchange that failed before an answer counts too).
    pub requests: u64,
    /// Request body bytes sent.
    pub bytes_sent: u64,
    /// Response body bytes read.
    pub bytes_received: u64,
}

impl std::ops::Sub for RequestStats {
    type Output = RequestStats;

    fn sub(self, earlier: RequestStats) -> RequestStats {
        RequestStats {
            requests: self.requests.saturating_sub(earlier.requests),
            bytes_sent: self.bytes_sent.saturating_sub(earlier.bytes_sent),
            bytes_received: self.bytes_received.saturating_sub(earlier.bytes_received),
        }
    }
}

/// The live counters behind [`RequestStats`].
#[derive(Debug, Default)]
pub(crate) struct Counters {
    requests: AtomicU64,
    bytes_sent: AtomicU64,
    bytes_received: AtomicU64,
}

impl Counters {
    /// One exchange leaving with a body of `bytes`.
    pub(crate) fn sent(&self, bytes: usize) {
        self.requests.fetch_add(1, Ordering::Relaxed);
        self.bytes_sent.fetch_add(bytes as u64, Ordering::Relaxed);
    }

    /// An answer body of `bytes` read.
    pub(crate) fn received(&self, bytes: usize) {
        self.bytes_received
            .fetch_add(bytes as u64, Ordering::Relaxed);
    }

    pub(crate) fn snapshot(&self) -> RequestStats {
        RequestStats {
            requests: self.requests.load(Ordering::Relaxed),
            bytes_sent: self.bytes_sent.load(Ordering::Relaxed),
            bytes_received: self.bytes_received.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_subtract() {
        let c = Counters::default();
        c.sent(10);
        c.received(100);
        let before = c.snapshot();
        c.sent(5);
        c.received(7);
        assert_eq!(
            c.snapshot() - before,
            RequestStats {
                requests: 1,
                bytes_sent: 5,
                bytes_received: 7
            }
        );
    }
}
