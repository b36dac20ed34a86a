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

/// Quartz's parsing state: the value sets with their `*`/`?` markers, and the flags.
#[derive(Default)]
struct Parser {
    sets: [BTreeSet<i64>; 7],
    last_day_of_week: bool,
    nth_day_of_week: i64,
    last_day_of_month: bool,
    nearest_weekday: bool,
    last_day_offset: i64,
}

impl Parser {
    /// The checks Elasticsearch makes on a whole field before its comma-separated values.
    fn check_token(&self, token: &str, field: usize) -> Result<(), CronError> {
        let l_with_others = token.contains('L') && token.len() > 1 && token.contains(',');
        if field == DAY_OF_MONTH && l_with_others {
            return Err(CronError::illegal(
                "support for specifying 'L' and 'LW' with other days of the month is not implemented",
            ));
        }
        if field == DAY_OF_WEEK && l_with_others {
            return Err(CronError::illegal(
                "support for specifying 'L' with other days of the week is not implemented",
            ));
        }
        if field == DAY_OF_WEEK && token.matches('#').count() > 1 {
            return Err(CronError::illegal(
                "support for specifying multiple \"nth\" days is not implemented.",
            ));
        }
        Ok(())
    }

    /// One comma-separated value of a field.
    fn store(&mut self, s: &[char], field: usize) -> Result<(), CronError> {
        let n = s.len();
        let Some(&c) = s.first() else {
            return Ok(());
        };
        let text: String = s.iter().collect();
        if c.is_ascii_uppercase() && text != "L" && text != "LW" && !is_last_day_offset(&text) {
            return self.store_name(s, field);
        }
        if c == '?' {
            let i = 1;
            if i + 1 < n && s[i] != ' ' && s[i + 1] != '\t' {
                return Err(CronError::illegal(format!(
                    "illegal character [{}] after '?' at pos [{i}]",
                    s[i]
                )));
            }
            if field != DAY_OF_WEEK && field != DAY_OF_MONTH {
                return Err(CronError::illegal(format!(
                    "'?' can only be specified for Day-of-Month or Day-of-Week. at pos [{i}]"
                )));
            }
            if field == DAY_OF_WEEK && !self.last_day_of_month {
                let last = self.sets[DAY_OF_MONTH].last().ok_or(CronError {
                    exception: JavaException::NoSuchElement,
                    message: None,
                })?;
                if *last == NO_SPEC {
                    return Err(CronError::illegal(format!(
                        "'?' can only be specified for Day-of-Month -OR- Day-of-Week. at pos [{i}]"
                    )));
                }
            }
            return self.add(NO_SPEC, -1, 0, field);
        }
        if c == '*' || c == '/' {
            return self.store_all(s, field);
        }
        if c == 'L' {
            let mut i = 1;
            if field == DAY_OF_MONTH {
                self.last_day_of_month = true;
            }
            if field == DAY_OF_WEEK {
                self.add(7, 7, 0, field)?;
            }
            if field == DAY_OF_MONTH && n > i {
                if s[i] == '-' {
                    let (offset, pos) = get_value(0, s, i + 1)?;
                    self.last_day_offset = offset;
                    if offset > 30 {
                        return Err(CronError::illegal(format!(
                            "offset from last day must be <= 30 at pos [{}]",
                            i + 1
                        )));
                    }
                    i = pos;
                }
                if n > i && s[i] == 'W' {
                    self.nearest_weekday = true;
                }
            }
            return Ok(());
        }
        if let Some(d) = c.to_digit(10) {
            let mut val = i64::from(d);
            let mut i = 1;
            if i >= n {
                return self.add(val, -1, -1, field);
            }
            if s[i].is_ascii_digit() {
                let (v, pos) = get_value(val, s, i)?;
                val = v;
                i = pos;
            }
            return self.check_next(i, s, val, field);
        }
        Err(CronError::illegal(format!(
            "Unexpected character [{c}] at pos [0] "
        )))
    }

    /// A month or day name, possibly a range of names, `#n` or `L`.
    fn store_name(&mut self, s: &[char], field: usize) -> Result<(), CronError> {
        let n = s.len();
        let mut i = 0;
        let name = substring(s, i, i + 3)?;
        let mut end = -1;
        let start = match field {
            MONTH => {
                let v = month_number(&name).ok_or_else(|| {
                    CronError::illegal(format!("invalid Month value [{name}] at pos [{i}]"))
                })?;
                if n > i + 3 && s[i + 3] == '-' {
                    i += 4;
                    let name = substring(s, i, i + 3)?;
                    end = month_number(&name).ok_or_else(|| {
                        CronError::illegal(format!("invalid Month value [{name}] at pos [{i}]"))
                    })?;
                }
                v
            }
            DAY_OF_WEEK => {
                let invalid = |name: &str, i: usize| {
                    CronError::illegal(format!("invalid Day-of-Week value [{name}] at pos [{i}]"))
                };
                let v = day_number(&name).ok_or_else(|| invalid(&name, i))?;
                if n > i + 3 {
                    match s[i + 3] {
                        '-' => {
                            i += 4;
                            let name = substring(s, i, i + 3)?;
                            end = day_number(&name).ok_or_else(|| invalid(&name, i))?;
                        }
                        '#' => {
                            i += 4;
                            self.nth_day_of_week = nth_after_hash(s, i)?;
                        }
                        'L' => self.last_day_of_week = true,
                        _ => {}
                    }
                }
                v
            }
            _ => {
                return Err(CronError::illegal(format!(
                    "illegal characters [{name}] at pos [{i}] '"
                )));
            }
        };
        let incr = if end != -1 { 1 } else { 0 };
        self.add(start, end, incr, field)
    }

    /// `*`, `*/n` or `/n`.
    fn store_all(&mut self, s: &[char], field: usize) -> Result<(), CronError> {
        let n = s.len();
        let mut i = 0;
        if s[0] == '*' && n == 1 {
            return self.add(ALL_SPEC, -1, 0, field);
        }
        if s[0] == '/' && (n == 1 || s[1] == ' ' || s[1] == '\t') {
            return Err(CronError::illegal(
                "'/' must be followed by an integer. at pos [0]",
            ));
        }
        if s[0] == '*' {
            i += 1;
        }
        let mut incr = 1;
        if s[i] == '/' {
            i += 1;
            if i >= n {
                return Err(CronError::illegal(format!(
                    "Unexpected end of string. at pos [{i}]"
                )));
            }
            let rest: String = s[i..].iter().collect();
            incr = parse_int(&rest)?;
            i += 1;
            if incr > 10 {
                i += 1;
            }
            let too_big = match field {
                SECOND | MINUTE if incr > 59 => Some("> 60"),
                HOUR if incr > 23 => Some("> 24"),
                DAY_OF_MONTH if incr > 31 => Some("> 31"),
                DAY_OF_WEEK if incr > 7 => Some("> 7"),
                MONTH if incr > 12 => Some("> 12"),
                _ => None,
            };
            if let Some(bound) = too_big {
                // Elasticsearch's day messages end with a space, the others do not.
                let tail = if matches!(field, DAY_OF_MONTH | DAY_OF_WEEK) {
                    " "
                } else {
                    ""
                };
                return Err(CronError::illegal(format!(
                    "increment [{incr}] {bound} at pos [{i}]{tail}"
                )));
            }
        }
        self.add(ALL_SPEC, -1, incr, field)
    }

    /// What follows a number: nothing, `L`, `W`, `#n`, `-m[/k]` or `/k`.
    fn check_next(
        &mut self,
        pos: usize,
        s: &[char],
        val: i64,
        field: usize,
    ) -> Result<(), CronError> {
        let n = s.len();
        let mut i = pos;
        if i >= n {
            return self.add(val, -1, -1, field);
        }
        match s[i] {
            'L' => {
                if field != DAY_OF_WEEK {
                    return Err(CronError::illegal(format!(
                        "'L' option is not valid here. at pos [{i}]"
                    )));
                }
                if !(1..=7).contains(&val) {
                    return Err(CronError::illegal(
                        "Day-of-Week values must be between 1 and 7",
                    ));
                }
                self.last_day_of_week = true;
                self.sets[field].insert(val);
                Ok(())
            }
            'W' => {
                if field != DAY_OF_MONTH {
                    return Err(CronError::illegal(format!(
                        "'W' option is not valid here. at pos [{i}]"
                    )));
                }
                self.nearest_weekday = true;
                if val > 31 {
                    return Err(CronError::illegal(format!(
                        "the 'W' option does not make sense with values larger than 31 (max number of days in a month) at pos [{i}]"
                    )));
                }
                self.sets[field].insert(val);
                Ok(())
            }
            '#' => {
                if field != DAY_OF_WEEK {
                    return Err(CronError::illegal(format!(
                        "'#' option is not valid here. at pos [{i}]"
                    )));
                }
                i += 1;
                self.nth_day_of_week = nth_after_hash(s, i)?;
                self.sets[field].insert(val);
                Ok(())
            }
            '-' => {
                i += 1;
                let v = parse_int(&char_at(s, i)?.to_string())?;
                let mut end = v;
                i += 1;
                if i >= n {
                    return self.add(val, end, 1, field);
                }
                if s[i].is_ascii_digit() {
                    let (e, p) = get_value(v, s, i)?;
                    end = e;
                    i = p;
                }
                if i < n && s[i] == '/' {
                    i += 1;
                    let v2 = parse_int(&char_at(s, i)?.to_string())?;
                    i += 1;
                    if i >= n {
                        return self.add(val, end, v2, field);
                    }
                    if s[i].is_ascii_digit() {
                        let (v3, _) = get_value(v2, s, i)?;
                        return self.add(val, end, v3, field);
                    }
                    return self.add(val, end, v2, field);
                }
                self.add(val, end, 1, field)
            }
            '/' => {
                i += 1;
                let v2 = parse_int(&char_at(s, i)?.to_string())?;
                i += 1;
                if i >= n {
                    return self.add(val, -1, v2, field);
                }
                if s[i].is_ascii_digit() {
                    let (v3, _) = get_value(v2, s, i)?;
                    return self.add(val, -1, v3, field);
                }
                Err(CronError::illegal(format!(
                    "Unexpected character [{}] after '/' at pos [{i}]",
                    s[i]
                )))
            }
            _ => self.add(val, -1, 0, field),
        }
    }

    /// Checks a value or range against its field's bounds and adds it to the field's set.
    fn add(&mut self, val: i64, end: i64, incr: i64, field: usize) -> Result<(), CronError> {
        let out_of = |lo: i64, hi: i64| val < lo || val > hi || end > hi;
        let bad = match field {
            SECOND | MINUTE if out_of(0, 59) && val != ALL_SPEC => {
                Some("Minute and Second values must be between 0 and 59")
            }
            HOUR if out_of(0, 23) && val != ALL_SPEC => {
                Some("Hour values must be between 0 and 23")
            }
            DAY_OF_MONTH if out_of(1, 31) && val != ALL_SPEC && val != NO_SPEC => {
                Some("Day of month values must be between 1 and 31")
            }
            MONTH if out_of(1, 12) && val != ALL_SPEC => {
                Some("Month values must be between 1 and 12")
            }
            DAY_OF_WEEK
                if (val == 0 || val > 7 || end > 7) && val != ALL_SPEC && val != NO_SPEC =>
            {
                Some("Day-of-Week values must be between 1 and 7")
            }
            _ => None,
        };
        if let Some(message) = bad {
            return Err(CronError::illegal(message));
        }
        let set = &mut self.sets[field];
        if (incr == 0 || incr == -1) && val != ALL_SPEC {
            set.insert(if val != -1 { val } else { NO_SPEC });
            return Ok(());
        }
        let mut incr = incr;
        if val == ALL_SPEC && incr <= 0 {
            incr = 1;
            set.insert(ALL_SPEC);
        }
        let (lo, hi) = match field {
            SECOND | MINUTE => (0, 59),
            HOUR => (0, 23),
            DAY_OF_MONTH => (1, 31),
            MONTH => (1, 12),
            DAY_OF_WEEK => (1, 7),
            _ => (1970, i64::from(Utc::now().year()) + 100),
        };
        let start = if val == -1 || val == ALL_SPEC {
            lo
        } else {
            val
        };
        let mut stop = if end == -1 { hi } else { end };
        let mut wrap = None;
        if stop < start {
            let max = match field {
                SECOND | MINUTE => 60,
                HOUR => 24,
                DAY_OF_MONTH => 31,
                MONTH => 12,
                DAY_OF_WEEK => 7,
                _ => {
                    return Err(CronError::illegal("Start year must be less than stop year"));
                }
            };
            stop += max;
            wrap = Some(max);
        }
        if field == YEAR {
            // Elasticsearch fills the whole range; nothing past its last searchable year matters.
            stop = stop.min(i64::from(LAST_YEAR) + 1);
        }
        let step = usize::try_from(incr.max(1)).unwrap_or(usize::MAX);
        for v in (start..=stop).step_by(step) {
            match wrap {
                None => set.insert(v),
                Some(max) => {
                    let mut w = v % max;
                    if w == 0 && matches!(field, MONTH | DAY_OF_WEEK | DAY_OF_MONTH) {
                        w = max;
                    }
                    set.insert(w)
                }
            };
        }
        Ok(())
    }

    fn finish(self, expression: &str, by_day_of_month: bool) -> QuartzCron {
        let small = |set: &BTreeSet<i64>, lo: i64, hi: i64| -> BTreeSet<u32> {
            set.iter()
                .filter(|v| (lo..=hi).contains(*v))
                .filter_map(|v| u32::try_from(*v).ok())
                .collect()
        };
        QuartzCron {
            expression: expression.to_string(),
            seconds: small(&self.sets[SECOND], 0, 59),
            minutes: small(&self.sets[MINUTE], 0, 59),
            hours: small(&self.sets[HOUR], 0, 23),
            days_of_month: small(&self.sets[DAY_OF_MONTH], 1, 31),
            months: small(&self.sets[MONTH], 1, 12),
            days_of_week: small(&self.sets[DAY_OF_WEEK], 1, 7),
            years: self.sets[YEAR]
                .iter()
                .filter(|v| **v != ALL_SPEC && **v != NO_SPEC)
                .filter_map(|v| i32::try_from(*v).ok())
                .collect(),
            by_day_of_month,
            last_day_of_month: self.last_day_of_month,
            last_day_offset: u32::try_from(self.last_day_offset).unwrap_or(0),
            nearest_weekday: self.nearest_weekday,
            last_day_of_week: self.last_day_of_week,
            nth_day_of_week: u32::try_from(self.nth_day_of_week).unwrap_or(0),
        }
    }
}

/// `L-n` with an optional `W`: the day-of-month forms that start with a letter but are not names.
fn is_last_day_offset(text: &str) -> bool {
    let Some(rest) = text.strip_prefix("L-") else {
        return false;
    };
    let rest = rest.strip_suffix('W').unwrap_or(rest);
    rest.chars().all(|c| c.is_ascii_digit())
}

fn month_number(name: &str) -> Option<i64> {
    MONTHS
        .iter()
        .position(|m| *m == name)
        .and_then(|i| i64::try_from(i + 1).ok())
}

fn day_number(name: &str) -> Option<i64> {
    DAYS.iter()
        .position(|d| *d == name)
        .and_then(|i| i64::try_from(i + 1).ok())
}

/// The `n` of `#n`: 1 to 5.
fn nth_after_hash(s: &[char], i: usize) -> Result<i64, CronError> {
    let rest: String = s.get(i..).unwrap_or_default().iter().collect();
    match parse_int(&rest) {
        Ok(v) if (1..=5).contains(&v) => Ok(v),
        _ => Err(CronError::illegal(format!(
            "a numeric value between 1 and 5 must follow the '#' option at pos [{i}]"
        ))),
    }
}

/// Java's `String.substring(begin, end)`, failing as it does.
fn substring(s: &[char], begin: usize, end: usize) -> Result<String, CronError> {
    if end > s.len() {
        return Err(CronError {
            exception: JavaException::StringIndexOutOfBounds,
            message: Some(format!("begin {begin}, end {end}, length {}", s.len())),
        });
    }
    Ok(s[begin..end].iter().collect())
}

/// Java's `String.charAt(i)`, failing as it does.
fn char_at(s: &[char], i: usize) -> Result<char, CronError> {
    s.get(i).copied().ok_or_else(|| CronError {
        exception: JavaException::StringIndexOutOfBounds,
        message: Some(format!("Index {i} out of bounds for length {}", s.len())),
    })
}

/// Java's `Integer.parseInt`: an optional sign, decimal digits, within 32 bits.
fn parse_int(text: &str) -> Result<i64, CronError> {
    let digits = text.strip_prefix(['+', '-']).unwrap_or(text);
    let ok = !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit());
    match text.parse::<i32>() {
        Ok(v) if ok => Ok(i64::from(v)),
        _ => Err(CronError {
            exception: JavaException::NumberFormat,
            message: Some(format!("For input string: \"{text}\"")),
        }),
    }
}

/// The number whose first digit is `first` and whose other digits start at `s[i]`, and the
/// position after it (one past the end when the digits run to the end, as Quartz has it).
fn get_value(first: i64, s: &[char], i: usize) -> Result<(i64, usize), CronError> {
    let mut c = char_at(s, i)?;
    let mut digits = first.to_string();
    let mut i = i;
    while c.is_ascii_digit() {
        digits.push(c);
        i += 1;
        if i >= s.len() {
            break;
        }
        c = s[i];
    }
    let pos = if i < s.len() { i } else { i + 1 };
    Ok((parse_int(&digits)?, pos))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(expr: &str) -> String {
        QuartzCron::parse(expr).unwrap_err().to_string()
    }

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn accepts_what_elasticsearch_accepts() {
        for ok in [
            "0 0 0 * * ?",
            "0 */5 * * * ?",
            "0 0 12 ? * MON-FRI",
            "0 0 12 ? * mon-fri",
            "59 59 23 31 12 ? 2099",
            "0 0 0 ? JAN-DEC SUN-SAT",
            "0 0 0 L * ?",
            "0 0 0 L-3W * ?",
            "0 0 0 15W * ?",
            "0 0 0 ? * 6L",
            "0 0 0 ? * 6#3",
            "0 0 22-2 * * ?",
            "0 5/70 * * * ?",
            "0 0 0 * * ? 1969",
            "0 0 0 * * ? * *",
            "0 0,15,30,45 * * * ?",
            // 99 is Quartz's internal marker for `*`: Elasticsearch takes it as `*`.
            "0 99 0 * * ?",
        ] {
            assert!(
                QuartzCron::parse(ok).is_ok(),
                "{ok}: {:?}",
                QuartzCron::parse(ok)
            );
        }
    }

    #[test]
    fn range_errors_name_the_bounds() {
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
            (
                "0 0-60 * * * ?",
                "Minute and Second values must be between 0 and 59",
            ),
            ("0 0 24 * * ?", "Hour values must be between 0 and 23"),
            (
                "0 0 0 0 * ?",
                "Day of month values must be between 1 and 31",
            ),
            (
                "0 0 0 32 * ?",
                "Day of month values must be between 1 and 31",
            ),
            ("0 0 0 ? 0 *", "Month values must be between 1 and 12"),
            ("0 0 0 ? 13 *", "Month values must be between 1 and 12"),
            ("0 0 0 ? * 0", "Day-of-Week values must be between 1 and 7"),
            ("0 0 0 ? * 8", "Day-of-Week values must be between 1 and 7"),
            ("0 0 0 ? * 8L", "Day-of-Week values must be between 1 and 7"),
            ("0 */60 * * * ?", "increment [60] > 60 at pos [4]"),
            ("0 0 */24 * * ?", "increment [24] > 24 at pos [4]"),
            (
                "0 0 0 ? 1/2 * 2030-2020",
                "Start year must be less than stop year",
            ),
        ];
        for (expr, want) in cases {
            assert_eq!(reason(expr), want, "{expr}");
        }
    }

    #[test]
    fn other_errors_match_elasticsearch() {
        assert_eq!(reason("* * *"), "unexpected end of expression at pos [5].");
        assert_eq!(reason(""), "unexpected end of expression at pos [0].");
        assert_eq!(
            reason("0 0 0 * * *"),
            "support for specifying both a day-of-week AND a day-of-month parameter is not implemented."
        );
        assert_eq!(
            reason("0 0 0 ? * ?"),
            "'?' can only be specified for Day-of-Month -OR- Day-of-Week. at pos [1]"
        );
        assert_eq!(
            reason("0 ? 0 * * ?"),
            "'?' can only be specified for Day-of-Month or Day-of-Week. at pos [1]"
        );
        assert_eq!(
            reason("0 0 0 ? FOO *"),
            "invalid Month value [FOO] at pos [0]"
        );
        assert_eq!(
            reason("0 0 0 ? * MON#6"),
            "a numeric value between 1 and 5 must follow the '#' option at pos [4]"
        );
        assert_eq!(
            reason("0 0 0 ? * 2#1#2"),
            "support for specifying multiple \"nth\" days is not implemented."
        );
        assert_eq!(
            reason("0 X 0 * * ?"),
            "java.lang.StringIndexOutOfBoundsException: begin 0, end 3, length 1"
        );
        assert_eq!(
            reason("0 ABC 0 * * ?"),
            "illegal characters [ABC] at pos [0] '"
        );
        assert_eq!(
            reason("0 5/X 0 * * ?"),
            "java.lang.NumberFormatException: For input string: \"X\""
        );
        let e = QuartzCron::parse("61 * * * * ?").unwrap_err();
        assert_eq!(
            e.format_reason(),
            "illegal cron expression format [java.lang.IllegalArgumentException: Minute and Second values must be between 0 and 59]"
        );
    }

    #[test]
    fn fires_like_quartz() {
        let next = |expr: &str, after: &str| QuartzCron::parse(expr).unwrap().next_after(t(after));
        assert_eq!(
            next("0 0 0 * * ?", "2024-05-01T10:00:00Z"),
            Some(t("2024-05-02T00:00:00Z"))
        );
        assert_eq!(
            next("30 */15 * * * ?", "2024-05-01T10:01:00Z"),
            Some(t("2024-05-01T10:15:30Z"))
        );
        assert_eq!(
            next("0 0 12 ? * 1", "2024-05-01T00:00:00Z"),
            Some(t("2024-05-05T12:00:00Z"))
        );
        // last day of the month, the third-to-last, the nearest weekday
        assert_eq!(
            next("0 0 0 L * ?", "2024-02-01T00:00:00Z"),
            Some(t("2024-02-29T00:00:00Z"))
        );
        assert_eq!(
            next("0 0 0 L-3 * ?", "2024-02-01T00:00:00Z"),
            Some(t("2024-02-26T00:00:00Z"))
        );
        // 2024-06-15 is a Saturday: 15W fires on Friday the 14th
        assert_eq!(
            next("0 0 0 15W * ?", "2024-06-01T00:00:00Z"),
            Some(t("2024-06-14T00:00:00Z"))
        );
        // 2024-06-01 is a Saturday: 1W fires on Monday the 3rd
        assert_eq!(
            next("0 0 0 1W * ?", "2024-05-31T00:00:00Z"),
            Some(t("2024-06-03T00:00:00Z"))
        );
        // last Friday, third Friday
        assert_eq!(
            next("0 0 0 ? * 6L", "2024-05-01T00:00:00Z"),
            Some(t("2024-05-31T00:00:00Z"))
        );
        assert_eq!(
            next("0 0 0 ? * FRI#3", "2024-05-01T00:00:00Z"),
            Some(t("2024-05-17T00:00:00Z"))
        );
        // a range across midnight, months by name, a year
        assert_eq!(
            next("0 0 22-2 * * ?", "2024-05-01T03:00:00Z"),
            Some(t("2024-05-01T22:00:00Z"))
        );
        assert_eq!(
            next("0 0 0 1 NOV-FEB ?", "2024-03-01T00:00:00Z"),
            Some(t("2024-11-01T00:00:00Z"))
        );
        assert_eq!(
            next("0 0 0 1 1 ? 2030", "2024-03-01T00:00:00Z"),
            Some(t("2030-01-01T00:00:00Z"))
        );
        assert_eq!(next("0 0 0 1 1 ? 2020", "2024-03-01T00:00:00Z"), None);
        assert_eq!(next("0 0 0 30 2 ?", "2024-03-01T00:00:00Z"), None);
        let minute = QuartzCron::parse("45 * * * * ?")
            .unwrap()
            .at_minute_granularity();
        assert_eq!(
            minute.next_after(t("2024-05-01T10:00:10Z")),
            Some(t("2024-05-01T10:01:00Z"))
        );
    }
}
