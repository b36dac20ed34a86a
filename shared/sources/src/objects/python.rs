//! The reference's value formatting for object stores, as Python writes it:
//! `datetime.isoformat()` of a UTC time, and `str()` of a dict of strings (the Azure source
//! writes metadata that way).

use chrono::{DateTime, Timelike, Utc};

/// `dt.isoformat()` of an aware UTC datetime: microseconds only when not zero, `+00:00`.
pub fn isoformat(dt: DateTime<Utc>) -> String {
    let micros = dt.nanosecond() / 1_000 % 1_000_000;
    let base = dt.format("%Y-%m-%dT%H:%M:%S");
    if micros == 0 {
        format!("{base}+00:00")
    } else {
        format!("{base}.{micros:06}+00:00")
    }
}

/// Python's `repr()` of a `str`.
pub fn str_repr(s: &str) -> String {
    let quote = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(quote);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c == quote => {
                out.push('\\');
                out.push(c);
            }
            c if (c as u32) < 0x20 || c as u32 == 0x7f => {
                out.push_str(&format!("\\x{:02x}", c as u32));
            }
            c => out.push(c),
        }
    }
    out.push(quote);
    out
}

/// `str(d)` of a dict whose values are strings or `None`, in the given order.
pub fn dict_repr<'a>(entries: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> String {
    let items: Vec<String> = entries
        .into_iter()
        .map(|(k, v)| {
            format!(
                "{}: {}",
                str_repr(k),
                v.map_or_else(|| "None".to_string(), str_repr)
            )
        })
        .collect();
    format!("{{{}}}", items.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn isoformat_as_python() {
        let t = DateTime::parse_from_rfc3339("2023-01-02T03:04:05Z")
            .unwrap()
            .to_utc();
        assert_eq!(isoformat(t), "2023-01-02T03:04:05+00:00");
        let t = DateTime::parse_from_rfc3339("2023-01-02T03:04:05.120Z")
            .unwrap()
            .to_utc();
        assert_eq!(isoformat(t), "2023-01-02T03:04:05.120000+00:00");
    }

    #[test]
    fn reprs_as_python() {
        assert_eq!(str_repr("it's"), "\"it's\"");
        assert_eq!(str_repr("a'b\"c"), "'a\\'b\"c'");
        assert_eq!(
            dict_repr([("status", Some("unlocked")), ("duration", None)]),
            "{'status': 'unlocked', 'duration': None}"
        );
        assert_eq!(dict_repr([]), "{}");
    }
}
