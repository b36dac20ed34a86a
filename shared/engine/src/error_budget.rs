//! The error budget of a sync: the reference's `ErrorMonitor`, made serialisable so it survives
//! slices. A job fails when more than `max_consecutive` item errors happen in a row, more than
//! `max_total` happen overall, or more than `max_error_rate` of the last `window_size` operations
//! failed.

use serde::{Deserialize, Serialize};

/// Limits; the defaults are the reference's `elasticsearch.bulk.error_monitor` settings.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ErrorBudgetConfig {
    pub enabled: bool,
    pub max_total_errors: u64,
    pub max_consecutive_errors: u64,
    pub max_error_rate: f64,
    /// At most 128: the window is kept as a bit set.
    pub window_size: u32,
    /// How many of the first errors the failure message names.
    pub error_queue_size: usize,
}

impl Default for ErrorBudgetConfig {
    fn default() -> Self {
        ErrorBudgetConfig {
            enabled: true,
            max_total_errors: 1000,
            max_consecutive_errors: 10,
            max_error_rate: 0.15,
            window_size: 100,
            error_queue_size: 10,
        }
    }
}

/// The running state, stored in the checkpoint.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ErrorBudget {
    pub total_errors: u64,
    pub consecutive_errors: u64,
    /// Outcome of the last operations, newest in bit 0 (1 = error).
    #[serde(with = "u128_as_string")]
    pub window: u128,
    /// The first errors seen, for the failure message.
    pub first_errors: Vec<String>,
    #[serde(default)]
    pub last_error: Option<String>,
}

/// The budget is spent; the message says which limit and names the first errors.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BudgetExceeded(pub String);

impl ErrorBudget {
    /// Adds a partition's budget to this one (for the job's report once its partitions are
    /// merged): totals add up, the first errors are kept in order, up to the queue size of the
    /// reference's default.
    pub fn absorb(&mut self, other: &ErrorBudget) {
        self.total_errors += other.total_errors;
        self.consecutive_errors = self.consecutive_errors.max(other.consecutive_errors);
        self.window |= other.window;
        for e in &other.first_errors {
            if self.first_errors.len() >= ErrorBudgetConfig::default().error_queue_size {
                break;
            }
            self.first_errors.push(e.clone());
        }
        if other.last_error.is_some() {
            self.last_error.clone_from(&other.last_error);
        }
    }

    pub fn track_success(&mut self) {
        self.consecutive_errors = 0;
        self.window <<= 1;
    }

    pub fn track_error(
        &mut self,
        config: &ErrorBudgetConfig,
        error: String,
    ) -> Result<(), BudgetExceeded> {
        self.total_errors += 1;
        self.consecutive_errors += 1;
        self.window = (self.window << 1) | 1;
        if self.first_errors.len() < config.error_queue_size {
            self.first_errors.push(error.clone());
        }
        self.last_error = Some(error);
        self.check(config)
    }

    fn check(&self, config: &ErrorBudgetConfig) -> Result<(), BudgetExceeded> {
        if !config.enabled {
            return Ok(());
        }
        let reason = if self.consecutive_errors > config.max_consecutive_errors {
            format!(
                "Exceeded maximum consecutive errors - saw {} errors in a row.",
                self.consecutive_errors
            )
        } else if self.total_errors > config.max_total_errors {
            format!(
                "Exceeded maximum total error count - saw {} errors.",
                self.total_errors
            )
        } else if config.window_size > 0 && self.rate(config) > config.max_error_rate {
            format!(
                "Exceeded maximum error ratio of {} for last {} operations.",
                config.max_error_rate, config.window_size
            )
        } else {
            return Ok(());
        };
        Err(BudgetExceeded(format!(
            "{reason} Last error: {}. First errors: {}",
            self.last_error.as_deref().unwrap_or("none"),
            self.first_errors.join("; ")
        )))
    }

    fn rate(&self, config: &ErrorBudgetConfig) -> f64 {
        let size = config.window_size.min(128);
        let mask = if size == 128 {
            u128::MAX
        } else {
            (1u128 << size) - 1
        };
        f64::from((self.window & mask).count_ones()) / f64::from(size)
    }
}

mod u128_as_string {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format!("{v:x}"))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        let s = String::deserialize(d)?;
        u128::from_str_radix(&s, 16).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consecutive_limit() {
        let c = ErrorBudgetConfig::default();
        let mut b = ErrorBudget::default();
        for i in 0..10 {
            b.track_error(&c, format!("e{i}")).unwrap();
        }
        let err = b.track_error(&c, "e10".into()).unwrap_err();
        assert!(
            err.0
                .starts_with("Exceeded maximum consecutive errors - saw 11 errors in a row.")
        );
        assert!(err.0.contains("e0; e1"));
        assert!(err.0.contains("Last error: e10."));
        assert!(
            !err.0.contains("e9; e10"),
            "only the first 10 errors are listed"
        );
    }

    #[test]
    fn rate_over_the_window() {
        let c = ErrorBudgetConfig::default();
        let mut b = ErrorBudget::default();
        // 15 errors spread among successes stay within 15 %; the 16th in the window fails.
        for i in 0..15 {
            b.track_error(&c, format!("e{i}")).unwrap();
            for _ in 0..5 {
                b.track_success();
            }
        }
        assert!(
            b.track_error(&c, "e15".into())
                .unwrap_err()
                .0
                .contains("error ratio of 0.15")
        );
        // Old errors slide out of the window.
        let mut b = ErrorBudget::default();
        for i in 0..15 {
            b.track_error(&c, format!("e{i}")).unwrap();
            b.track_success();
        }
        for _ in 0..100 {
            b.track_success();
        }
        b.track_error(&c, "late".into()).unwrap();
    }

    #[test]
    fn survives_serialisation() {
        let c = ErrorBudgetConfig::default();
        let mut b = ErrorBudget::default();
        b.track_error(&c, "x".into()).unwrap();
        b.track_success();
        let json = serde_json::to_string(&b).unwrap();
        let back: ErrorBudget = serde_json::from_str(&json).unwrap();
        assert_eq!(back, b);
    }
}
