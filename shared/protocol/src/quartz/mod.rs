//! Quartz cron expressions exactly as Elasticsearch reads them: its x-pack `Cron` class (a fork of
//! Quartz's `CronExpression`), which `PUT _connector/<id>/_scheduling` uses to validate every
//! `interval`. This module decides the same expressions valid, gives the same reason for the
//! invalid ones (`Minute and Second values must be between 0 and 59`, ...), and computes when a
//! valid one fires, so that the scheduler and the test server agree with Elasticsearch.
//!
//! Fields: seconds 0-59, minutes 0-59, hours 0-23, day-of-month 1-31 (`L`, `L-n`, `W`, `LW`),
//! month 1-12 or `JAN`-`DEC`, day-of-week 1-7 or `SUN`-`SAT` with 1 = Sunday (`L`, `nL`, `n#k`),
//! and an optional year (not range-checked by Elasticsearch). Exactly one of day-of-month and
//! day-of-week must be `?`. Names and letters are case-insensitive. Elasticsearch's parser also
//! has leniencies that are kept on purpose (a field past the seventh is ignored, so is text after
//! a complete value such as `5X`), since what matters is agreeing with it.
//!
//! Errors carry the Java exception the parser raises (nearly always `IllegalArgumentException`)
//! so that the test server can render Elasticsearch's `caused_by` text, `illegal cron expression
//! format [java.lang.IllegalArgumentException: ...]`, word for word.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Timelike, Utc, Weekday};

const SECOND: usize = 0;
const MINUTE: usize = 1;
const HOUR: usize = 2;
const DAY_OF_MONTH: usize = 3;
const MONTH: usize = 4;
const DAY_OF_WEEK: usize = 5;
const YEAR: usize = 6;

/// Markers Quartz keeps inside its value sets: `*` and `?`.
const ALL_SPEC: i64 = 99;
const NO_SPEC: i64 = 98;

/// Elasticsearch stops looking for a next run past this year.
const LAST_YEAR: i32 = 2999;

const MONTHS: [&str; 12] = [
    "JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC",
];
const DAYS: [&str; 7] = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

/// The Java exception Elasticsearch's parser raises for an invalid expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JavaException {
    IllegalArgument,
    NumberFormat,
    StringIndexOutOfBounds,
    NoSuchElement,
}

impl JavaException {
    /// The fully qualified class name, as `Throwable.toString()` prints it.
    pub fn class_name(self) -> &'static str {
        match self {
            JavaException::IllegalArgument => "java.lang.IllegalArgumentException",
            JavaException::NumberFormat => "java.lang.NumberFormatException",
            JavaException::StringIndexOutOfBounds => "java.lang.StringIndexOutOfBoundsException",
            JavaException::NoSuchElement => "java.util.NoSuchElementException",
        }
    }
}

/// Why an expression is not a valid Quartz cron expression. Displays the reason alone
/// (`Hour values must be between 0 and 23`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct CronError {
    pub exception: JavaException,
    pub message: Option<String>,
}

impl fmt::Display for CronError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.message, self.exception) {
            (Some(m), JavaException::IllegalArgument) => f.write_str(m),
            (Some(m), e) => write!(f, "{}: {m}", e.class_name()),
            (None, e) => f.write_str(e.class_name()),
        }
    }
}

impl CronError {
    fn illegal(message: impl Into<String>) -> CronError {
        CronError {
            exception: JavaException::IllegalArgument,
            message: Some(message.into()),
        }
    }

    /// The exception as Java's `Throwable.toString()` prints it.
    pub fn java_string(&self) -> String {
        match &self.message {
            Some(m) => format!("{}: {m}", self.exception.class_name()),
            None => self.exception.class_name().to_string(),
        }
    }

    /// The reason of the innermost `caused_by` Elasticsearch reports for this error.
    pub fn format_reason(&self) -> String {
        format!("illegal cron expression format [{}]", self.java_string())
    }

    /// The reason of the `illegal_argument_exception` that wraps it.
    pub fn invalid_reason(expression: &str) -> String {
        format!("invalid cron expression [{expression}]")
    }
}

/// A valid expression, ready to say when it fires.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuartzCron {
    expression: String,
    seconds: BTreeSet<u32>,
    minutes: BTreeSet<u32>,
    hours: BTreeSet<u32>,
    days_of_month: BTreeSet<u32>,
    months: BTreeSet<u32>,
    days_of_week: BTreeSet<u32>,
    years: BTreeSet<i32>,
    /// Day-of-month is the specified one (day-of-week is `?`).
    by_day_of_month: bool,
    last_day_of_month: bool,
    last_day_offset: u32,
    nearest_weekday: bool,
    last_day_of_week: bool,
    nth_day_of_week: u32,
}

impl QuartzCron {
    /// Parses and validates `expression` as Elasticsearch does.
    pub fn parse(expression: &str) -> Result<QuartzCron, CronError> {
        let upper = expression.to_uppercase();
        let mut p = Parser::default();
        let mut field = SECOND;
        for token in upper.split([' ', '\t']).filter(|t| !t.is_empty()) {
            if field > YEAR {
                break;
            }
            let token = token.trim_matches(|c: char| c <= ' ');
            p.check_token(token, field)?;
            for value in token.split(',').filter(|v| !v.is_empty()) {
                let chars: Vec<char> = value.chars().collect();
                p.store(&chars, field)?;
            }
            field += 1;
        }
        if field <= DAY_OF_WEEK {
            return Err(CronError::illegal(format!(
                "unexpected end of expression at pos [{}].",
                upper.chars().count()
            )));
        }
        if field <= YEAR {
            p.store(&['*'], YEAR)?;
        }
        let by_dom = !p.sets[DAY_OF_MONTH].contains(&NO_SPEC);
        let by_dow = !p.sets[DAY_OF_WEEK].contains(&NO_SPEC);
        if by_dom == by_dow {
            return Err(CronError::illegal(
                "support for specifying both a day-of-week AND a day-of-month parameter is not implemented.",
            ));
        }
        Ok(p.finish(expression, by_dom))
    }

    /// The expression as given.
    pub fn expression(&self) -> &str {
        &self.expression
    }

    /// Fires at second 0 of each matching minute, whatever the seconds field says: the
    /// reference service's minute granularity.
    pub fn at_minute_granularity(mut self) -> QuartzCron {
        self.seconds = BTreeSet::from([0]);
        self
    }

    /// The first time strictly after `t` (to the second) that the expression matches, if any
    /// before the year 3000.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if [&self.seconds, &self.minutes, &self.hours, &self.months]
            .iter()
            .any(|s| s.is_empty())
            || self.years.is_empty()
        {
            return None;
        }
        let start = t - Duration::nanoseconds(i64::from(t.nanosecond())) + Duration::seconds(1);
        let mut date = start.date_naive();
        let mut from = (start.hour(), start.minute(), start.second());
        loop {
            if date.year() > LAST_YEAR {
                return None;
            }
            if !self.years.contains(&date.year()) {
                let next = *self.years.range(date.year() + 1..).next()?;
                date = NaiveDate::from_ymd_opt(next, 1, 1)?;
                from = (0, 0, 0);
                continue;
            }
            if !self.months.contains(&date.month()) {
                date = first_of_next_month(date)?;
                from = (0, 0, 0);
                continue;
            }
            if self.day_matches(date)
                && let Some((h, m, s)) = self.first_time(from)
            {
                let naive = date.and_hms_opt(h, m, s)?;
                return Some(Utc.from_utc_datetime(&naive));
            }
            date = date.succ_opt()?;
            from = (0, 0, 0);
        }
    }

    /// The first `(hour, minute, second)` at or after `from` on a matching day.
    fn first_time(&self, from: (u32, u32, u32)) -> Option<(u32, u32, u32)> {
        for &h in self.hours.range(from.0..) {
            let m_from = if h == from.0 { from.1 } else { 0 };
            for &m in self.minutes.range(m_from..) {
                let s_from = if h == from.0 && m == from.1 {
                    from.2
                } else {
                    0
                };
                if let Some(&s) = self.seconds.range(s_from..).next() {
                    return Some((h, m, s));
                }
            }
        }
        None
    }

    fn day_matches(&self, d: NaiveDate) -> bool {
        let last = days_in_month(d.year(), d.month());
        if self.by_day_of_month {
            if self.last_day_of_month {
                let Some(target) = last.checked_sub(self.last_day_offset).filter(|t| *t >= 1)
                else {
                    return false;
                };
                let target = if self.nearest_weekday {
                    nearest_weekday(d.year(), d.month(), target, last)
                } else {
                    target
                };
                d.day() == target
            } else if self.nearest_weekday {
                match self.days_of_month.first() {
                    Some(&v) if v <= last => {
                        d.day() == nearest_weekday(d.year(), d.month(), v, last)
                    }
                    _ => false,
                }
            } else {
                self.days_of_month.contains(&d.day())
            }
        } else {
            let weekday = d.weekday().number_from_sunday();
            if self.last_day_of_week || self.nth_day_of_week != 0 {
                // Quartz uses the first day-of-week value with `L` and `#`.
                if self.days_of_week.first() != Some(&weekday) {
                    return false;
                }
                if self.last_day_of_week {
                    d.day() + 7 > last
                } else {
                    (d.day() - 1) / 7 + 1 == self.nth_day_of_week
                }
            } else {
                self.days_of_week.contains(&weekday)
            }
        }
    }
}

fn days_in_month(year: i32, month: u32) -> u32 {
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)
    };
    next.and_then(|n| n.pred_opt()).map_or(31, |d| d.day())
}

fn first_of_next_month(d: NaiveDate) -> Option<NaiveDate> {
    if d.month() == 12 {
        NaiveDate::from_ymd_opt(d.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(d.year(), d.month() + 1, 1)
    }
}

/// The weekday nearest to `day` without leaving the month (Quartz's `W`).
fn nearest_weekday(year: i32, month: u32, day: u32, last: u32) -> u32 {
    match NaiveDate::from_ymd_opt(year, month, day).map(|d| d.weekday()) {
        Some(Weekday::Sat) if day == 1 => 3,
        Some(Weekday::Sat) => day - 1,
        Some(Weekday::Sun) if day == last => day - 2,
        Some(Weekday::Sun) => day + 1,
        _ => day,
    }
}

mod parser;

use parser::Parser;

#[cfg(test)]
mod tests;
