//! Unit tests of date parsing, formats and date math.

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
