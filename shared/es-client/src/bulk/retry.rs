//! The item retry policy: which item answers are resent (errors with status 429 or 5xx) and
//! the bounded, jittered back-off between retry rounds (a [`RetryPolicy`]). Whole-request
//! retries (connection errors, timeouts, 429 and 5xx answers) are the client's.

use super::report::Outcome;
use crate::config::RetryPolicy;

/// Whether an item's outcome is a rejection worth resending: an error with status 429 or 5xx.
pub(super) fn is_retryable(outcome: &Outcome) -> bool {
    outcome.error.is_some() && (outcome.status == 429 || outcome.status >= 500)
}

/// The retry rounds of one request.
pub(super) struct ItemRetries {
    policy: RetryPolicy,
    round: u32,
}

impl ItemRetries {
    pub(super) fn new(policy: RetryPolicy) -> Self {
        ItemRetries { policy, round: 0 }
    }

    /// Whether `items` rejected items get another round; if so, waits the round's back-off
    /// first.
    pub(super) async fn next_round(&mut self, items: usize) -> bool {
        if items == 0 || self.round >= self.policy.max_retries {
            return false;
        }
        let delay = self.policy.backoff(self.round);
        self.round += 1;
        tracing::warn!(
            items,
            retry = self.round,
            max_retries = self.policy.max_retries,
            delay_ms = delay.as_millis() as u64,
            "retrying rejected bulk items"
        );
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use std::collections::VecDeque;

    use serde_json::json;

    use super::super::test_support::{Script, client, fast, run};
    use super::super::{BulkOptions, BulkWriter};

    #[test]
    fn retries_only_rejected_items() {
        let mut w: BulkWriter<String> =
            client().bulk_writer(BulkOptions::default().item_retry(fast()));
        for n in 0..6 {
            let id = n.to_string();
            w.push_index("i", Some(&id), &json!({"n": n}), id.clone())
                .unwrap();
        }
        let mut script = Script::default();
        script.plans.insert("1".into(), VecDeque::from([429, 429]));
        script.plans.insert("4".into(), VecDeque::from([503]));
        script.plans.insert("5".into(), VecDeque::from([400]));
        let report = run(&mut w, &mut script, true);
        assert_eq!(report.items.len(), 6);
        assert_eq!(script.bodies.len(), 3);
        // Round 2 carries only ops 1 and 4, round 3 only op 1.
        assert_eq!(script.bodies[1].lines().count(), 4);
        assert!(
            script.bodies[1].contains(r#""_id":"1""#) && script.bodies[1].contains(r#""_id":"4""#)
        );
        assert_eq!(script.bodies[2].lines().count(), 2);
        assert!(script.bodies[2].contains(r#""_id":"1""#));
        let keys: Vec<_> = report.items.iter().map(|i| i.key.as_str()).collect();
        assert_eq!(keys, ["0", "1", "2", "3", "4", "5"]);
        assert_eq!(report.items[1].attempts, 3);
        assert_eq!(report.items[4].attempts, 2);
        assert_eq!(report.success_count(), 5);
        assert_eq!(report.indexed_count(), 5);
        let failed: Vec<_> = report.failed().collect();
        assert_eq!(failed.len(), 1);
        assert_eq!(failed[0].key, "5");
        assert_eq!(failed[0].status, 400);
        assert_eq!(
            failed[0].error.as_ref().unwrap().error_type,
            "mapper_parsing_exception"
        );
        assert_eq!(w.pending_ops(), 0);
        assert_eq!(w.pending_bytes(), 0);
        assert_eq!(
            report.bytes_sent,
            script.bodies.iter().map(|b| b.len() as u64).sum::<u64>()
        );
        assert_eq!(
            report.indexed_bytes(),
            (0..6)
                .filter(|n| *n != 5)
                .map(|n| format!("{{\"n\":{n}}}").len() as u64)
                .sum::<u64>()
        );
    }

    #[test]
    fn item_retries_are_bounded() {
        let mut w: BulkWriter<u32> =
            client().bulk_writer(BulkOptions::default().item_retry(fast()));
        w.push_index("i", Some("a"), &json!({}), 0).unwrap();
        let mut script = Script::default();
        script.plans.insert("a".into(), VecDeque::from([429; 10]));
        let report = run(&mut w, &mut script, true);
        assert_eq!(script.bodies.len(), 4); // first try + 3 retries
        assert_eq!(report.items[0].status, 429);
        assert!(!report.items[0].is_success());
        assert!(report.request_error.is_none());
    }
}
