//! Date formats: `||`-separated alternatives of named formats (`strict_date_optional_time`,
//! `epoch_millis`, `basic_date`...) and Java `DateTimeFormatter` patterns, compiled once per
//! format text and applied to date strings.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

use super::Precision;
use super::iso::digits;

/// One `||` alternative of a date `format`.
#[derive(Debug)]
pub(super) enum Alt {
    /// `strict_date_optional_time` and the other ISO-8601 forms.
    Iso,
    EpochMillis,
    EpochSecond,
    /// A Java `DateTimeFormatter` pattern.
    Pattern(Vec<Tok>),
}

/// A numeric field of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Field {
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
pub(super) enum Tok {
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

pub(super) fn compiled(format: &str) -> std::rc::Rc<Vec<Alt>> {
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
pub(super) fn parse_pattern(toks: &[Tok], s: &str) -> Option<(i64, Precision)> {
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
