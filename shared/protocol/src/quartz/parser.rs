//! The field parser of a Quartz expression, step for step as Elasticsearch's `Cron` class reads
//! each field (values, names, ranges, increments, `L`, `W`, `#`), with its error messages.

use super::*;

/// Quartz's parsing state: the value sets with their `*`/`?` markers, and the flags.
#[derive(Default)]
pub(super) struct Parser {
    pub(super) sets: [BTreeSet<i64>; 7],
    last_day_of_week: bool,
    nth_day_of_week: i64,
    last_day_of_month: bool,
    nearest_weekday: bool,
    last_day_offset: i64,
}

impl Parser {
    /// The checks Elasticsearch makes on a whole field before its comma-separated values.
    pub(super) fn check_token(&self, token: &str, field: usize) -> Result<(), CronError> {
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
    pub(super) fn store(&mut self, s: &[char], field: usize) -> Result<(), CronError> {
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

    pub(super) fn finish(self, expression: &str, by_day_of_month: bool) -> QuartzCron {
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
