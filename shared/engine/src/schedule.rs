//! Quartz cron schedules (`scheduling.*.interval`), evaluated as the reference does: in UTC, to
//! the minute (the seconds field is ignored), with Quartz's day-of-week numbering (1 = Sunday).
//!
//! Unlike the reference, which only looks for a run time since its own previous wake-up (so a
//! run missed while nothing was running is silently dropped, elastic/connectors#2709), the
//! scheduler looks from the connector's `last_*_scheduled_at`: a run missed during an outage is
//! caught up once, however many were missed.

use std::str::FromStr;

use chrono::{DateTime, Utc};

/// A parsed schedule.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    inner: cron::Schedule,
}

/// An interval that is not a Quartz cron expression we can evaluate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid schedule '{expression}': {reason}")]
pub struct ScheduleError {
    pub expression: String,
    pub reason: String,
}

impl CronSchedule {
    pub fn parse(expression: &str) -> Result<Self, ScheduleError> {
        let fields: Vec<&str> = expression.split_whitespace().collect();
        if !(6..=7).contains(&fields.len()) {
            return Err(ScheduleError {
                expression: expression.to_string(),
                reason: format!(
                    "a Quartz cron expression has 6 or 7 fields (seconds first), not {}",
                    fields.len()
                ),
            });
        }
        // Minute granularity, as the reference: whatever the seconds field says, runs fall on
        // the minute.
        let mut normalised = vec!["0"];
        normalised.extend(&fields[1..]);
        let text = normalised.join(" ");
        let inner = cron::Schedule::from_str(&text).map_err(|e| ScheduleError {
            expression: expression.to_string(),
            reason: e.to_string(),
        })?;
        Ok(CronSchedule { inner })
    }

    /// The first run strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.inner.after(&t).next()
    }

    /// The latest run in `(after, until]`, if any: what is due now, with every missed run
    /// folded into one.
    pub fn latest_due(&self, after: DateTime<Utc>, until: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let first = self.next_after(after)?;
        if first > until {
            return None;
        }
        let mut latest = first;
        // Bounded walk: schedules fire at most once a minute, and a long outage is cut short
        // by starting from a day before `until`.
        let start = if until - first > chrono::Duration::days(1) {
            until - chrono::Duration::days(1)
        } else {
            first
        };
        for t in self.inner.after(&start) {
            if t > until {
                break;
            }
            latest = t;
        }
        Some(latest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{Datelike, TimeZone, Weekday};

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn default_interval_is_midnight() {
        let s = CronSchedule::parse("0 0 0 * * ?").unwrap();
        assert_eq!(
            s.next_after(t("2024-05-01T10:00:00Z")),
            Some(t("2024-05-02T00:00:00Z"))
        );
    }

    #[test]
    fn quartz_day_of_week_one_is_sunday() {
        let s = CronSchedule::parse("0 30 9 ? * 1").unwrap();
        let next = s.next_after(t("2024-05-01T00:00:00Z")).unwrap(); // a Wednesday
        assert_eq!(next.weekday(), Weekday::Sun);
        let s = CronSchedule::parse("0 0 12 ? * MON-FRI").unwrap();
        let next = s.next_after(t("2024-05-04T13:00:00Z")).unwrap(); // a Saturday
        assert_eq!(next, Utc.with_ymd_and_hms(2024, 5, 6, 12, 0, 0).unwrap());
    }

    #[test]
    fn seconds_are_ignored() {
        let s = CronSchedule::parse("30 */15 * * * ?").unwrap();
        assert_eq!(
            s.next_after(t("2024-05-01T10:01:00Z")),
            Some(t("2024-05-01T10:15:00Z"))
        );
    }

    #[test]
    fn missed_runs_fold_into_the_latest() {
        let s = CronSchedule::parse("0 0 * * * ?").unwrap();
        assert_eq!(
            s.latest_due(t("2024-05-01T10:00:00Z"), t("2024-05-01T13:30:00Z")),
            Some(t("2024-05-01T13:00:00Z"))
        );
        assert_eq!(
            s.latest_due(t("2024-05-01T10:00:00Z"), t("2024-05-01T10:59:00Z")),
            None
        );
        assert_eq!(
            s.latest_due(t("2024-01-01T00:00:00Z"), t("2024-05-01T13:30:00Z")),
            Some(t("2024-05-01T13:00:00Z"))
        );
    }

    #[test]
    fn bad_expressions_are_errors() {
        assert!(CronSchedule::parse("* * * * *").is_err());
        assert!(CronSchedule::parse("0 0 25 * * ?").is_err());
        assert!(CronSchedule::parse("nonsense").is_err());
    }
}
