//! Date parsing (`strict_date_optional_time||epoch_millis`, other named formats and Java date
//! patterns like `yyyy-MM-dd HH:mm:ss`) and date math (`now-300s`, `now/d`, `2024-01-01||+1M/d`),
//! in epoch milliseconds UTC.

use chrono::{
    DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc,
};

/// How much of a date string was given; rounding up fills the rest with maxima.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Precision {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    Milli,
}

/// Current time in epoch milliseconds.
pub fn now_millis() -> i64 {
    Utc::now().timestamp_millis()
}

/// ISO-8601 UTC with microseconds and `Z`, like Java's `Instant.toString()` on a microsecond clock.
pub fn now_iso() -> String {
    Utc::now().format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Formats epoch millis as `strict_date_optional_time` (`2024-01-01T00:00:00.000Z`).
pub fn format_millis(ms: i64) -> String {
    match Utc.timestamp_millis_opt(ms).single() {
        Some(d) => d.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string(),
        None => ms.to_string(),
    }
}

/// Parses a date value with an optional `format` (`||`-separated alternatives: `epoch_millis`,
/// `epoch_second`, `strict_date_optional_time` and the other named formats, or Java date patterns
/// such as `yyyy-MM-dd HH:mm:ss`). Without a format: `strict_date_optional_time||epoch_millis`.
pub fn parse_date(s: &str, format: Option<&str>) -> Option<i64> {
    parse_with_precision(s, format, false)
}

fn parse_with_precision(s: &str, format: Option<&str>, round_up: bool) -> Option<i64> {
    let s = s.trim();
    let finish = |(ms, p): (i64, Precision)| {
        if round_up {
            round_up_precision(ms, p)
        } else {
            ms
        }
    };
    match format {
        None => parse_iso(s).map(finish).or_else(|| parse_epoch(s, 1)),
        Some(f) => compiled(f).iter().find_map(|alt| match alt {
            Alt::Iso => parse_iso(s).map(finish),
            Alt::EpochMillis => parse_epoch(s, 1),
            Alt::EpochSecond => parse_epoch(s, 1000),
            Alt::Pattern(toks) => parse_pattern(toks, s).map(finish),
        }),
    }
}

// ---------------------------------------------------------------------------------------------
// Date formats

/// One `||` alternative of a date `format`.
#[derive(Debug)]
enum Alt {
    /// `strict_date_optional_time` and the other ISO-8601 forms.
    Iso,
    EpochMillis,
    EpochSecond,
    /// A Java `DateTimeFormatter` pattern.
    Pattern(Vec<Tok>),
}

/// A numeric field of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Field {
    Year,
    Month,
    Day,
    DayOfYear,
    Hour,
    /// `h`/`K`: the hour of AM/PM.
    Hour12,
    Minute,
    Second,
}

impl Field {
    fn precision(self) -> Precision {
        match self {
            Field::Year => Precision::Year,
            Field::Month => Precision::Month,
            Field::Day | Field::DayOfYear => Precision::Day,
            Field::Hour | Field::Hour12 => Precision::Hour,
            Field::Minute => Precision::Minute,
            Field::Second => Precision::Second,
        }
    }
}

/// One element of a compiled pattern.
#[derive(Debug)]
enum Tok {
    Lit(String),
    /// `min..=max` digits; `reserve` digits are left for the fixed-width fields that follow
    /// (Java's adjacent value parsing, as in `yyyyMMdd`).
    Num {
        field: Field,
        min: usize,
        max: usize,
        reserve: usize,
    },
    /// `yy`: two digits, 2000-2099.
    TwoDigitYear,
    /// `S…`: exactly this many fraction digits.
    Fraction(usize),
    /// `MMM`, `MMMM`: `Jan`, `January`.
    MonthName,
    /// `E…`: a day-of-week name, parsed and not checked.
    DayName,
    /// `a`: `AM`/`PM`.
    AmPm,
    /// `X`, `x`, `Z`: `Z` or `±HH[[:]mm]`.
    Offset,
    /// `[…]`: parsed when it matches.
    Optional(Vec<Tok>),
}

impl Tok {
    /// The width of a fixed-width numeric element.
    fn fixed_width(&self) -> Option<usize> {
        match self {
            Tok::Num { min, max, .. } if min == max => Some(*min),
            Tok::TwoDigitYear => Some(2),
            Tok::Fraction(n) => Some(*n),
            _ => None,
        }
    }
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];
const DAYS: [&str; 7] = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
];

/// Named formats other than the ISO and epoch ones, as patterns.
fn named_pattern(name: &str) -> Option<&'static str> {
    let name = name.strip_prefix("strict_").unwrap_or(name);
    Some(match name {
        "date" | "year_month_day" => "yyyy-MM-dd",
        "year_month" => "yyyy-MM",
        "year" => "yyyy",
        "basic_date" => "yyyyMMdd",
        "basic_date_time" => "yyyyMMdd'T'HHmmss.SSSX",
        "basic_date_time_no_millis" => "yyyyMMdd'T'HHmmssX",
        "date_time" => "yyyy-MM-dd'T'HH:mm:ss.SSSX",
        "date_time_no_millis" => "yyyy-MM-dd'T'HH:mm:ssX",
        "date_hour" => "yyyy-MM-dd'T'HH",
        "date_hour_minute" => "yyyy-MM-dd'T'HH:mm",
        "date_hour_minute_second" => "yyyy-MM-dd'T'HH:mm:ss",
        "date_hour_minute_second_millis" | "date_hour_minute_second_fraction" => {
            "yyyy-MM-dd'T'HH:mm:ss.SSS"
        }
        "hour" => "HH",
        "hour_minute" => "HH:mm",
        "hour_minute_second" => "HH:mm:ss",
        "hour_minute_second_millis" | "hour_minute_second_fraction" => "HH:mm:ss.SSS",
        _ => return None,
    })
}

/// Compiles a `format`. An alternative this parser cannot interpret falls back to ISO dates and
/// epoch millis.
fn compile(format: &str) -> Vec<Alt> {
    let mut alts = Vec::new();
    for f in format.split("||").map(str::trim) {
        let alt = match f {
            "epoch_millis" => Some(Alt::EpochMillis),
            "epoch_second" => Some(Alt::EpochSecond),
            "strict_date_optional_time"
            | "date_optional_time"
            | "strict_date_optional_time_nanos"
            | "iso8601" => Some(Alt::Iso),
            _ => compile_pattern(named_pattern(f).unwrap_or(f)).map(Alt::Pattern),
        };
        match alt {
            Some(a) => alts.push(a),
            None => {
                alts.push(Alt::Iso);
                alts.push(Alt::EpochMillis);
            }
        }
    }
    alts
}

thread_local! {
    /// Compiled formats by text (search evaluates a mapping's format once per document).
    static FORMATS: std::cell::RefCell<std::collections::HashMap<String, std::rc::Rc<Vec<Alt>>>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

fn compiled(format: &str) -> std::rc::Rc<Vec<Alt>> {
    FORMATS.with(|cache| {
        if let Some(f) = cache.borrow().get(format) {
            return f.clone();
        }
        let f = std::rc::Rc::new(compile(format));
        let mut m = cache.borrow_mut();
        if m.len() >= 64 {
            m.clear();
        }
        m.insert(format.to_string(), f.clone());
        f
    })
}

/// Compiles a Java `DateTimeFormatter` pattern: the letters `y u M L d D H h K m s S a E X x Z`,
/// quoted and other literals, and `[…]` optional sections. `None` for anything else.
fn compile_pattern(pattern: &str) -> Option<Vec<Tok>> {
    let chars: Vec<char> = pattern.chars().collect();
    let mut stack: Vec<Vec<Tok>> = vec![Vec::new()];
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let cur = stack.last_mut()?;
        if c == '\'' {
            let mut lit = String::new();
            let mut j = i + 1;
            loop {
                match chars.get(j) {
                    None => return None,
                    Some('\'') if chars.get(j + 1) == Some(&'\'') => {
                        lit.push('\'');
                        j += 2;
                    }
                    Some('\'') => break,
                    Some(&ch) => {
                        lit.push(ch);
                        j += 1;
                    }
                }
            }
            // `''` outside quotes is a quote.
            cur.push(Tok::Lit(if j == i + 1 { "'".into() } else { lit }));
            i = j + 1;
            continue;
        }
        if c == '[' {
            stack.push(Vec::new());
            i += 1;
            continue;
        }
        if c == ']' {
            let section = stack.pop()?;
            stack.last_mut()?.push(Tok::Optional(section));
            i += 1;
            continue;
        }
        if !c.is_ascii_alphabetic() {
            if matches!(c, '{' | '}' | '#') {
                return None;
            }
            cur.push(Tok::Lit(c.to_string()));
            i += 1;
            continue;
        }
        let mut n = 1;
        while chars.get(i + n) == Some(&c) {
            n += 1;
        }
        i += n;
        let num = |field: Field, min: usize, max: usize| Tok::Num {
            field,
            min,
            max,
            reserve: 0,
        };
        // Like `DateTimeFormatterBuilder#appendPattern`: one letter is a variable-width number,
        // two a fixed-width one.
        let small = |field: Field| match n {
            1 => Some(num(field, 1, 19)),
            2 => Some(num(field, 2, 2)),
            _ => None,
        };
        let tok = match c {
            'y' | 'u' => match n {
                2 => Tok::TwoDigitYear,
                1 => num(Field::Year, 1, 19),
                _ => num(Field::Year, n, 19),
            },
            'M' | 'L' => match n {
                1 | 2 => small(Field::Month)?,
                3 | 4 => Tok::MonthName,
                _ => return None,
            },
            'd' => small(Field::Day)?,
            'D' => match n {
                1 => num(Field::DayOfYear, 1, 19),
                2 => num(Field::DayOfYear, 2, 3),
                3 => num(Field::DayOfYear, 3, 3),
                _ => return None,
            },
            'H' => small(Field::Hour)?,
            'h' | 'K' => small(Field::Hour12)?,
            'm' => small(Field::Minute)?,
            's' => small(Field::Second)?,
            'S' if n <= 9 => Tok::Fraction(n),
            'a' if n == 1 => Tok::AmPm,
            'E' if n <= 4 => Tok::DayName,
            'X' | 'x' | 'Z' if n <= 5 => Tok::Offset,
            _ => return None,
        };
        cur.push(tok);
    }
    if stack.len() != 1 {
        return None;
    }
    let mut toks = stack.pop()?;
    set_reserves(&mut toks);
    Some(toks)
}

fn set_reserves(toks: &mut [Tok]) {
    for i in 0..toks.len() {
        let reserved: usize = toks[i + 1..].iter().map_while(Tok::fixed_width).sum();
        match &mut toks[i] {
            Tok::Num {
                min, max, reserve, ..
            } if min != max => *reserve = reserved,
            Tok::Optional(inner) => set_reserves(inner),
            _ => {}
        }
    }
}

/// The fields a pattern has read so far.
#[derive(Debug, Clone, Copy, Default)]
struct Parsed {
    year: Option<i64>,
    month: Option<i64>,
    day: Option<i64>,
    day_of_year: Option<i64>,
    hour: Option<i64>,
    hour12: Option<i64>,
    pm: Option<bool>,
    minute: Option<i64>,
    second: Option<i64>,
    nanos: Option<i64>,
    offset_secs: i64,
    precision: Option<Precision>,
}

impl Parsed {
    fn set(&mut self, field: Field, v: i64) {
        let slot = match field {
            Field::Year => &mut self.year,
            Field::Month => &mut self.month,
            Field::Day => &mut self.day,
            Field::DayOfYear => &mut self.day_of_year,
            Field::Hour => &mut self.hour,
            Field::Hour12 => &mut self.hour12,
            Field::Minute => &mut self.minute,
            Field::Second => &mut self.second,
        };
        *slot = Some(v);
        self.reached(field.precision());
    }

    fn reached(&mut self, p: Precision) {
        self.precision = Some(self.precision.map_or(p, |q| q.max(p)));
    }
}

/// Matches `names` (full, or their first three letters) case-insensitively; returns the index.
fn match_name(b: &[u8], pos: &mut usize, names: &[&str]) -> Option<usize> {
    let rest = &b[*pos..];
    for (i, n) in names.iter().enumerate() {
        for len in [n.len(), 3] {
            if rest.len() >= len && rest[..len].eq_ignore_ascii_case(&n.as_bytes()[..len]) {
                *pos += len;
                return Some(i);
            }
        }
    }
    None
}

fn parse_toks(toks: &[Tok], b: &[u8], pos: &mut usize, st: &mut Parsed) -> bool {
    for t in toks {
        let ok = match t {
            Tok::Lit(l) => {
                let ok = b[*pos..].starts_with(l.as_bytes());
                *pos += if ok { l.len() } else { 0 };
                ok
            }
            Tok::Num {
                field,
                min,
                max,
                reserve,
            } => {
                let avail = b[*pos..].iter().take_while(|c| c.is_ascii_digit()).count();
                let take = (*max).min(avail.saturating_sub(*reserve));
                if take < *min {
                    false
                } else {
                    let digits = std::str::from_utf8(&b[*pos..*pos + take]).unwrap_or("");
                    match digits.parse::<i64>() {
                        Ok(v) => {
                            st.set(*field, v);
                            *pos += take;
                            true
                        }
                        Err(_) => false,
                    }
                }
            }
            Tok::TwoDigitYear => match digits(b, *pos, 2) {
                Some(v) => {
                    st.set(Field::Year, 2000 + v as i64);
                    *pos += 2;
                    true
                }
                None => false,
            },
            Tok::Fraction(n) => match digits(b, *pos, *n) {
                Some(v) => {
                    st.nanos = Some(v as i64 * 10i64.pow(9 - *n as u32));
                    st.reached(Precision::Milli);
                    *pos += n;
                    true
                }
                None => false,
            },
            Tok::MonthName => match match_name(b, pos, &MONTHS) {
                Some(m) => {
                    st.set(Field::Month, m as i64 + 1);
                    true
                }
                None => false,
            },
            Tok::DayName => match_name(b, pos, &DAYS).is_some(),
            Tok::AmPm => {
                let rest = &b[*pos..];
                let pm = if rest.len() >= 2 && rest[..2].eq_ignore_ascii_case(b"AM") {
                    Some(false)
                } else if rest.len() >= 2 && rest[..2].eq_ignore_ascii_case(b"PM") {
                    Some(true)
                } else {
                    None
                };
                *pos += if pm.is_some() { 2 } else { 0 };
                st.pm = pm;
                pm.is_some()
            }
            Tok::Offset => match parse_offset(b, pos) {
                Some(secs) => {
                    st.offset_secs = secs;
                    true
                }
                None => false,
            },
            Tok::Optional(inner) => {
                let (saved_pos, saved) = (*pos, *st);
                if !parse_toks(inner, b, pos, st) {
                    *pos = saved_pos;
                    *st = saved;
                }
                true
            }
        };
        if !ok {
            return false;
        }
    }
    true
}

/// `Z`, `±HH`, `±HHmm` or `±HH:mm`, in seconds east of UTC.
fn parse_offset(b: &[u8], pos: &mut usize) -> Option<i64> {
    let i = *pos;
    match b.get(i)? {
        b'Z' | b'z' => {
            *pos += 1;
            Some(0)
        }
        c @ (b'+' | b'-') => {
            let sign = if *c == b'+' { 1 } else { -1 };
            let h = digits(b, i + 1, 2)? as i64;
            let mut j = i + 3;
            let colon = b.get(j) == Some(&b':');
            if colon {
                j += 1;
            }
            let m = match digits(b, j, 2) {
                Some(m) => {
                    j += 2;
                    m as i64
                }
                None if colon => return None,
                None => 0,
            };
            *pos = j;
            Some(sign * (h * 3600 + m * 60))
        }
        _ => None,
    }
}

/// Parses `s` with a compiled pattern: all of it must match. Missing fields default to
/// 1970-01-01T00:00:00Z.
fn parse_pattern(toks: &[Tok], s: &str) -> Option<(i64, Precision)> {
    let b = s.as_bytes();
    let mut pos = 0;
    let mut st = Parsed::default();
    if !parse_toks(toks, b, &mut pos, &mut st) || pos != b.len() {
        return None;
    }
    let year = i32::try_from(st.year.unwrap_or(1970)).ok()?;
    let date = match st.day_of_year {
        Some(d) => NaiveDate::from_yo_opt(year, u32::try_from(d).ok()?)?,
        None => NaiveDate::from_ymd_opt(
            year,
            u32::try_from(st.month.unwrap_or(1)).ok()?,
            u32::try_from(st.day.unwrap_or(1)).ok()?,
        )?,
    };
    let hour = match (st.hour, st.hour12) {
        (Some(h), _) => h,
        (None, Some(h)) if (0..=12).contains(&h) => {
            h % 12 + if st.pm == Some(true) { 12 } else { 0 }
        }
        (None, Some(_)) => return None,
        (None, None) => 0,
    };
    let time = NaiveTime::from_hms_nano_opt(
        u32::try_from(hour).ok()?,
        u32::try_from(st.minute.unwrap_or(0)).ok()?,
        u32::try_from(st.second.unwrap_or(0)).ok()?,
        u32::try_from(st.nanos.unwrap_or(0)).ok()?,
    )?;
    let ms = NaiveDateTime::new(date, time).and_utc().timestamp_millis() - st.offset_secs * 1000;
    Some((ms, st.precision.unwrap_or(Precision::Milli)))
}

fn parse_epoch(s: &str, factor: i64) -> Option<i64> {
    if s.is_empty()
        || !s
            .trim_start_matches('-')
            .chars()
            .all(|c| c.is_ascii_digit() || c == '.')
    {
        return None;
    }
    if let Ok(n) = s.parse::<i64>() {
        return n.checked_mul(factor);
    }
    s.parse::<f64>().ok().map(|f| (f * factor as f64) as i64)
}

/// Whether a string looks like a `strict_date_optional_time` date (dynamic date detection).
pub fn looks_like_date(s: &str) -> bool {
    s.len() >= 10 && s.as_bytes()[4] == b'-' && parse_iso(s).is_some()
}

fn digits(b: &[u8], i: usize, n: usize) -> Option<u32> {
    if i + n > b.len() {
        return None;
    }
    let mut v = 0u32;
    for &c in &b[i..i + n] {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v * 10 + (c - b'0') as u32;
    }
    Some(v)
}

/// Parses `yyyy[-MM[-dd[Thh[:mm[:ss[.fff]]]]]][Z|±hh[:mm]]`.
fn parse_iso(s: &str) -> Option<(i64, Precision)> {
    let b = s.as_bytes();
    let year = digits(b, 0, 4)? as i32;
    let mut i = 4;
    let (mut month, mut day) = (1u32, 1u32);
    let (mut hour, mut minute, mut second, mut nanos) = (0u32, 0u32, 0u32, 0u32);
    let mut precision = Precision::Year;
    if i < b.len() && b[i] == b'-' {
        month = digits(b, i + 1, 2)?;
        i += 3;
        precision = Precision::Month;
        if i < b.len() && b[i] == b'-' {
            day = digits(b, i + 1, 2)?;
            i += 3;
            precision = Precision::Day;
        }
    }
    if i < b.len() && (b[i] == b'T' || b[i] == b't') && precision == Precision::Day {
        hour = digits(b, i + 1, 2)?;
        i += 3;
        precision = Precision::Hour;
        if i < b.len() && b[i] == b':' {
            minute = digits(b, i + 1, 2)?;
            i += 3;
            precision = Precision::Minute;
            if i < b.len() && b[i] == b':' {
                second = digits(b, i + 1, 2)?;
                i += 3;
                precision = Precision::Second;
                if i < b.len() && (b[i] == b'.' || b[i] == b',') {
                    let start = i + 1;
                    let mut j = start;
                    while j < b.len() && b[j].is_ascii_digit() {
                        j += 1;
                    }
                    if j == start || j - start > 9 {
                        return None;
                    }
                    let frac = &s[start..j];
                    let padded = format!("{frac:0<9}");
                    nanos = padded.parse().ok()?;
                    i = j;
                    precision = Precision::Milli;
                }
            }
        }
    }
    let mut offset_secs: i64 = 0;
    if i < b.len() {
        match b[i] {
            b'Z' | b'z' if i + 1 == b.len() => {}
            b'+' | b'-' if precision >= Precision::Hour => {
                let sign = if b[i] == b'+' { 1 } else { -1 };
                let oh = digits(b, i + 1, 2)? as i64;
                let mut j = i + 3;
                let mut om = 0i64;
                if j < b.len() && b[j] == b':' {
                    j += 1;
                }
                if j < b.len() {
                    om = digits(b, j, 2)? as i64;
                    j += 2;
                }
                if j != b.len() {
                    return None;
                }
                offset_secs = sign * (oh * 3600 + om * 60);
            }
            _ => return None,
        }
    }
    let date = NaiveDate::from_ymd_opt(year, month, day)?;
    let time = NaiveTime::from_hms_nano_opt(hour, minute, second, nanos)?;
    let dt = NaiveDateTime::new(date, time);
    let ms = dt.and_utc().timestamp_millis() - offset_secs * 1000;
    Some((ms, precision))
}

fn round_up_precision(ms: i64, p: Precision) -> i64 {
    let unit = match p {
        Precision::Year => 'y',
        Precision::Month => 'M',
        Precision::Day => 'd',
        Precision::Hour => 'h',
        Precision::Minute => 'm',
        Precision::Second => 's',
        Precision::Milli => return ms,
    };
    round(ms, unit, true).unwrap_or(ms)
}

fn to_dt(ms: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_millis_opt(ms).single()
}

/// Rounds down to the start of `unit`, or up to its last millisecond.
fn round(ms: i64, unit: char, up: bool) -> Option<i64> {
    let d = to_dt(ms)?;
    let start = match unit {
        'y' => Utc.with_ymd_and_hms(d.year(), 1, 1, 0, 0, 0).single()?,
        'M' => Utc
            .with_ymd_and_hms(d.year(), d.month(), 1, 0, 0, 0)
            .single()?,
        'w' => {
            let day = Utc
                .with_ymd_and_hms(d.year(), d.month(), d.day(), 0, 0, 0)
                .single()?;
            day - Duration::days(d.weekday().num_days_from_monday() as i64)
        }
        'd' => Utc
            .with_ymd_and_hms(d.year(), d.month(), d.day(), 0, 0, 0)
            .single()?,
        'h' | 'H' => Utc
            .with_ymd_and_hms(d.year(), d.month(), d.day(), d.hour(), 0, 0)
            .single()?,
        'm' => Utc
            .with_ymd_and_hms(d.year(), d.month(), d.day(), d.hour(), d.minute(), 0)
            .single()?,
        's' => Utc
            .with_ymd_and_hms(
                d.year(),
                d.month(),
                d.day(),
                d.hour(),
                d.minute(),
                d.second(),
            )
            .single()?,
        _ => return None,
    };
    if !up {
        return Some(start.timestamp_millis());
    }
    let next = add(start.timestamp_millis(), 1, unit)?;
    Some(next - 1)
}

fn add(ms: i64, n: i64, unit: char) -> Option<i64> {
    let d = to_dt(ms)?;
    let r = match unit {
        'y' => {
            if n >= 0 {
                d.checked_add_months(chrono::Months::new((n * 12) as u32))?
            } else {
                d.checked_sub_months(chrono::Months::new((-n * 12) as u32))?
            }
        }
        'M' => {
            if n >= 0 {
                d.checked_add_months(chrono::Months::new(n as u32))?
            } else {
                d.checked_sub_months(chrono::Months::new((-n) as u32))?
            }
        }
        'w' => d + Duration::weeks(n),
        'd' => d + Duration::days(n),
        'h' | 'H' => d + Duration::hours(n),
        'm' => d + Duration::minutes(n),
        's' => d + Duration::seconds(n),
        _ => return None,
    };
    Some(r.timestamp_millis())
}

/// Evaluates a date-math expression. `round_up` is true for `lte`/`gt` bounds, where rounding and
/// partial dates go to the end of the unit.
pub fn eval(expr: &str, now: i64, round_up: bool, format: Option<&str>) -> Option<i64> {
    let expr = expr.trim();
    let (mut ms, math) = if let Some(rest) = expr.strip_prefix("now") {
        (now, rest)
    } else if let Some(pos) = expr.find("||") {
        (
            parse_with_precision(&expr[..pos], format, false)?,
            &expr[pos + 2..],
        )
    } else {
        return parse_with_precision(expr, format, round_up);
    };
    let b = math.as_bytes();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'/' => {
                let unit = *b.get(i + 1)? as char;
                ms = round(ms, unit, round_up)?;
                i += 2;
            }
            b'+' | b'-' => {
                let sign = if b[i] == b'+' { 1 } else { -1 };
                let mut j = i + 1;
                while j < b.len() && b[j].is_ascii_digit() {
                    j += 1;
                }
                let n: i64 = if j == i + 1 {
                    1
                } else {
                    math[i + 1..j].parse().ok()?
                };
                let unit = *b.get(j)? as char;
                ms = add(ms, sign * n, unit)?;
                i = j + 1;
            }
            _ => return None,
        }
    }
    Some(ms)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn iso(s: &str) -> i64 {
        parse_date(s, None).unwrap()
    }

    #[test]
    fn parses_iso_forms() {
        assert_eq!(iso("1970-01-01T00:00:00Z"), 0);
        assert_eq!(iso("1970-01-01T00:00:01.5Z"), 1500);
        assert_eq!(iso("2023-12-04T08:45:50.567149Z") % 1000, 567);
        assert_eq!(iso("1970-01-02"), 86_400_000);
        assert_eq!(iso("1970-01-01T01:00:00+01:00"), 0);
        assert_eq!(iso("86400000"), 86_400_000);
        assert!(parse_date("yesterday", None).is_none());
        assert!(looks_like_date("2024-01-01T00:00:00Z"));
        assert!(!looks_like_date("search-x"));
    }

    #[test]
    fn java_patterns() {
        let p = |s: &str, f: &str| parse_date(s, Some(f));
        let at = |s: &str| Some(iso(s));
        assert_eq!(
            p("2024-03-15 10:20:30", "yyyy-MM-dd HH:mm:ss"),
            at("2024-03-15T10:20:30Z")
        );
        assert_eq!(p("15/03/2024", "dd/MM/yyyy"), at("2024-03-15"));
        assert_eq!(p("5/3/2024", "d/M/yyyy"), at("2024-03-05"));
        assert_eq!(p("20240315", "yyyyMMdd"), at("2024-03-15"));
        assert_eq!(p("240315", "yyMMdd"), at("2024-03-15"));
        assert_eq!(
            p("2024-03-15T10:20:30.123+0100", "yyyy-MM-dd'T'HH:mm:ss.SSSZ"),
            at("2024-03-15T09:20:30.123Z")
        );
        assert_eq!(
            p("2024-03-15T10:20:30Z", "yyyy-MM-dd'T'HH:mm:ssXXX"),
            at("2024-03-15T10:20:30Z")
        );
        assert_eq!(p("Mar 15, 2024", "MMM dd, yyyy"), at("2024-03-15"));
        assert_eq!(p("15 March 2024", "dd MMMM yyyy"), at("2024-03-15"));
        assert_eq!(p("Fri, 15 Mar 2024", "EEE, dd MMM yyyy"), at("2024-03-15"));
        assert_eq!(
            p("03/15/2024 02:05 PM", "MM/dd/yyyy hh:mm a"),
            at("2024-03-15T14:05:00Z")
        );
        assert_eq!(
            p("03/15/2024 12:05 AM", "MM/dd/yyyy hh:mm a"),
            at("2024-03-15T00:05:00Z")
        );
        assert_eq!(p("2024-075", "yyyy-DDD"), at("2024-03-15"));
        assert_eq!(p("10:20", "HH:mm"), Some(37_200_000));
        // optional sections and alternatives
        let f = "yyyy-MM-dd[ HH:mm[:ss]]";
        assert_eq!(p("2024-03-15", f), at("2024-03-15"));
        assert_eq!(p("2024-03-15 10:20", f), at("2024-03-15T10:20:00Z"));
        assert_eq!(p("2024-03-15 10:20:30", f), at("2024-03-15T10:20:30Z"));
        let f = "dd/MM/yyyy||epoch_second||strict_date_optional_time";
        assert_eq!(p("15/03/2024", f), at("2024-03-15"));
        assert_eq!(p("86400", f), Some(86_400_000));
        assert_eq!(p("1970-01-03", "epoch_millis||date"), at("1970-01-03"));
        assert_eq!(
            p("20240315T102030Z", "basic_date_time_no_millis"),
            at("2024-03-15T10:20:30Z")
        );
        assert_eq!(p("'15'", "''dd''"), Some(14 * 86_400_000));
        // the whole value must match, and the date must exist
        assert_eq!(p("2024-03-15", "dd/MM/yyyy"), None);
        assert_eq!(p("15/03/2024x", "dd/MM/yyyy"), None);
        assert_eq!(p("30/02/2024", "dd/MM/yyyy"), None);
        assert_eq!(p("2024-3-15", "yyyy-MM-dd"), None);
        // unsupported pattern letters: ISO dates and epoch millis
        assert_eq!(p("2024-03-15", "yyyy-ww"), at("2024-03-15"));
        assert_eq!(p("100000", "GGGG"), Some(100_000));
    }

    #[test]
    fn java_patterns_round_up_and_date_math() {
        let now = iso("2024-03-15T10:20:30.400Z");
        let f = Some("dd/MM/yyyy");
        assert_eq!(eval("15/03/2024", now, false, f), Some(iso("2024-03-15")));
        assert_eq!(
            eval("15/03/2024", now, true, f),
            Some(iso("2024-03-16") - 1)
        );
        assert_eq!(
            eval("15/03/2024||+1d", now, false, f),
            Some(iso("2024-03-16"))
        );
        assert_eq!(
            eval("2024-03", now, true, Some("yyyy-MM")),
            Some(iso("2024-04-01") - 1)
        );
        assert_eq!(eval("now-1h", now, false, f), Some(now - 3_600_000));
        assert_eq!(eval("2024-03-15", now, false, f), None);
    }

    #[test]
    fn date_math() {
        let now = iso("2024-03-15T10:20:30.400Z");
        assert_eq!(eval("now-300s", now, false, None), Some(now - 300_000));
        assert_eq!(
            eval("now/d", now, false, None),
            Some(iso("2024-03-15T00:00:00Z"))
        );
        assert_eq!(
            eval("now/d", now, true, None),
            Some(iso("2024-03-16T00:00:00Z") - 1)
        );
        assert_eq!(eval("now-1M/M", now, false, None), Some(iso("2024-02-01")));
        assert_eq!(
            eval("2024-01-31||+1M", now, false, None),
            Some(iso("2024-02-29"))
        );
        assert_eq!(
            eval("2024-01-01", now, true, None),
            Some(iso("2024-01-02") - 1)
        );
        assert_eq!(eval("now+1h", now, false, None), Some(now + 3_600_000));
        assert!(eval("now-x", now, false, None).is_none());
    }
}
