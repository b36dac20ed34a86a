//! Quartz cron schedules (`scheduling.*.interval`), evaluated as the reference does: in UTC, to
//! the minute (the seconds field is validated but ignored), with Quartz's day-of-week numbering
//! (1 = Sunday).
//!
//! An interval is valid exactly when Elasticsearch's `_connector/<id>/_scheduling` API would accept
//! it ([`crate::quartz`], a rendering of Elasticsearch's `Cron` parser), so every
//! field's range is checked (seconds and minutes 0-59, hours 0-23, day-of-month 1-31, month 1-12
//! or JAN-DEC, day-of-week 1-7 or SUN-SAT) and the reason is Elasticsearch's own (`Minute and
//! Second values must be between 0 and 59`). The Quartz forms `L`, `W`, `#` and ranges that wrap
//! (`22-2`) are evaluated as Quartz does.
//!
//! Unlike the reference, which only looks for a run time since its own previous wake-up (so a
//! run missed while nothing was running is silently dropped, elastic/connectors#2709), the
//! scheduler looks from the connector's `last_*_scheduled_at`: a run missed during an outage is
//! caught up once, however many were missed.

use crate::quartz::QuartzCron;
use chrono::{DateTime, Utc};

/// A parsed schedule.
#[derive(Debug, Clone)]
pub struct CronSchedule {
    inner: QuartzCron,
}

/// An interval that is not a Quartz cron expression Elasticsearch would accept.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid schedule '{expression}': {reason}")]
pub struct ScheduleError {
    pub expression: String,
    pub reason: String,
}

impl CronSchedule {
    pub fn parse(expression: &str) -> Result<Self, ScheduleError> {
        let inner = QuartzCron::parse(expression).map_err(|e| ScheduleError {
            expression: expression.to_string(),
            reason: e.to_string(),
        })?;
        // Minute granularity, as the reference: whatever the seconds field says, runs fall on
        // the minute.
        Ok(CronSchedule {
            inner: inner.at_minute_granularity(),
        })
    }

    /// The first run strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.inner.next_after(t)
    }

    /// The latest run in `(after, until]`, if any: what is due now, with every missed run
    /// folded into one.
    pub fn latest_due(&self, after: DateTime<Utc>, until: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let first = self.next_after(after)?;
        if first > until {
            return None;
        }
        // Bounded walk: schedules fire at most once a minute, and a long outage is cut short
        // by starting from a day before `until`.
        let mut latest = first;
        let mut t = if until - first > chrono::Duration::days(1) {
            until - chrono::Duration::days(1)
        } else {
            first
        };
        while let Some(next) = self.next_after(t) {
            if next > until {
                break;
            }
            latest = next;
            t = next;
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

    /// Issue 12: out-of-range fields, the seconds field included, are rejected with
    /// Elasticsearch's wording of the bounds.
    #[test]
    fn every_field_is_range_checked_with_the_right_bounds() {
        let cases = [
            (
                "61 * * * * ?",
                "Minute and Second values must be between 0 and 59",
            ),
            (
                "60 * * * * ?",
                "Minute and Second values must be between 0 and 59",
            ),
            (
                "0 60 * * * ?",
                "Minute and Second values must be between 0 and 59",
            ),
            ("0 0 24 * * ?", "Hour values must be between 0 and 23"),
            (
                "0 0 0 32 * ?",
                "Day of month values must be between 1 and 31",
            ),
            (
                "0 0 0 0 * ?",
                "Day of month values must be between 1 and 31",
            ),
            ("0 0 0 ? 13 *", "Month values must be between 1 and 12"),
            ("0 0 0 ? * 8", "Day-of-Week values must be between 1 and 7"),
        ];
        for (expr, reason) in cases {
            let e = CronSchedule::parse(expr).unwrap_err();
            assert_eq!(e.reason, reason, "{expr}");
            assert_eq!(
                e.to_string(),
                format!("invalid schedule '{expr}': {reason}")
            );
        }
        for ok in [
            "59 59 23 31 12 ?",
            "0 0 0 ? DEC SAT",
            "0 0 0 ? * 7",
            "0 0 0 1 1 ? 2099",
        ] {
            assert!(CronSchedule::parse(ok).is_ok(), "{ok}");
        }
    }

    #[test]
    fn quartz_forms_are_evaluated() {
        let s = CronSchedule::parse("0 0 9 L * ?").unwrap();
        assert_eq!(
            s.next_after(t("2024-02-10T00:00:00Z")),
            Some(t("2024-02-29T09:00:00Z"))
        );
        let s = CronSchedule::parse("0 0 9 ? * 2#1").unwrap(); // first Monday
        assert_eq!(
            s.next_after(t("2024-05-01T00:00:00Z")),
            Some(t("2024-05-06T09:00:00Z"))
        );
    }

    /// The evaluation agrees with the `cron` crate on the expressions both understand.
    #[test]
    fn agrees_with_the_cron_crate() {
        use std::str::FromStr;
        let exprs = [
            "0 0 0 * * ?",
            "0 */7 * * * ?",
            "0 15 10 ? * MON-FRI",
            "0 0 12 1,15 * ?",
            "0 30 2 ? JAN,JUL 1",
            "0 0 */3 * * ?",
            "0 5-20/5 8-17 * * ?",
        ];
        let starts = [
            t("2024-01-01T00:00:00Z"),
            t("2024-02-28T23:59:30Z"),
            t("2024-12-31T23:00:00Z"),
        ];
        for expr in exprs {
            let ours = CronSchedule::parse(expr).unwrap();
            let theirs = cron::Schedule::from_str(expr).unwrap();
            for start in starts {
                let mut a = start;
                let mut b = start;
                for _ in 0..20 {
                    a = ours.next_after(a).unwrap();
                    b = theirs.after(&b).next().unwrap();
                    assert_eq!(a, b, "{expr} from {start}");
                }
            }
        }
    }
}
