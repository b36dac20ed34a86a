//! Quartz expressions: parsing, Elasticsearch's validation messages, next fire times.

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
