//! Cron schedules: the default schedules and `PUT _connector/{id}/_scheduling`, with each
//! schedule parsed and its Quartz cron validated like Elasticsearch does.

use connectors_protocol::quartz::{CronError, QuartzCron};
use serde_json::{Map, Value, json};

use super::blind_update;
use super::body::{body_object, cause, check_fields, token_type};
use crate::error::{EsError, EsResult};
use crate::http::{Req, Resp};
use crate::state::AppState;

pub(super) fn default_scheduling() -> Value {
    json!({
        "access_control": {"enabled": false, "interval": "0 0 0 * * ?"},
        "full": {"enabled": false, "interval": "0 0 0 * * ?"},
        "incremental": {"enabled": false, "interval": "0 0 0 * * ?"}
    })
}

/// One schedule (`schedule_config`: lenient, `enabled` and `interval` required) as
/// `ConnectorScheduling.ScheduleConfig` parses it; the error is the `caused_by` of
/// `[connector_scheduling] failed to parse field [<schedule>]`. The interval is validated by
/// Elasticsearch's `Cron`, which keeps it upper-cased.
fn schedule_config(o: &Map<String, Value>) -> Result<Value, Value> {
    let enabled = match o.get("enabled") {
        None => None,
        Some(Value::Bool(b)) => Some(*b),
        Some(Value::String(t)) if t == "true" || t == "false" => Some(t == "true"),
        Some(Value::String(t)) => {
            let mut c = cause(
                "x_content_parse_exception",
                "[1:2] [schedule_config] failed to parse field [enabled]",
            );
            c["caused_by"] = cause(
                "illegal_argument_exception",
                format!("Failed to parse value [{t}] as only [true] or [false] are allowed."),
            );
            return Err(c);
        }
        Some(other) => {
            return Err(cause(
                "x_content_parse_exception",
                format!(
                    "[1:2] [schedule_config] enabled doesn't support values of type: {}",
                    token_type(other)
                ),
            ));
        }
    };
    let interval = match o.get("interval") {
        None => None,
        Some(Value::String(t)) => Some(t.as_str()),
        Some(other) => {
            return Err(cause(
                "x_content_parse_exception",
                format!(
                    "[1:2] [schedule_config] interval doesn't support values of type: {}",
                    token_type(other)
                ),
            ));
        }
    };
    let (Some(enabled), Some(interval)) = (enabled, interval) else {
        let missing: Vec<&str> = [
            ("enabled", enabled.is_none()),
            ("interval", interval.is_none()),
        ]
        .into_iter()
        .filter_map(|(k, m)| m.then_some(k))
        .collect();
        return Err(cause(
            "illegal_argument_exception",
            format!("Required [{}]", missing.join(", ")),
        ));
    };
    if let Err(e) = QuartzCron::parse(interval) {
        // The object is built, and the cron parsed, when the later of the two fields arrives.
        let last = o
            .keys()
            .rfind(|k| *k == "enabled" || *k == "interval")
            .map_or("interval", String::as_str);
        return Err(json!({
            "type": "x_content_parse_exception",
            "reason": format!("[1:2] [schedule_config] failed to parse field [{last}]"),
            "caused_by": {
                "type": "x_content_parse_exception",
                "reason": "Failed to build [schedule_config] after last required field arrived",
                "caused_by": {
                    "type": "illegal_argument_exception",
                    "reason": CronError::invalid_reason(interval),
                    "caused_by": cause("illegal_argument_exception", e.format_reason()),
                }
            }
        }));
    }
    Ok(json!({"enabled": enabled, "interval": interval.to_uppercase()}))
}

/// `PUT _connector/{id}/_scheduling`, parsed as `UpdateConnectorSchedulingAction` does: the
/// `connector_scheduling` object is lenient (other keys are dropped), each schedule given is
/// checked by [`schedule_config`], and only the schedules given are written.
pub fn scheduling(state: &AppState, id: &str, req: &Req) -> EsResult<Resp> {
    let body = body_object(req)?;
    check_fields(
        &body,
        "connector_update_scheduling_request",
        &["scheduling"],
    )?;
    let s = body
        .get("scheduling")
        .and_then(Value::as_object)
        .ok_or_else(|| EsError::x_content("[1:2] Required [scheduling]"))?;
    let wrap = |k: &str, inner: Value| {
        EsError::x_content(
            "[1:2] [connector_update_scheduling_request] failed to parse field [scheduling]",
        )
        .caused_by(json!({
            "type": "x_content_parse_exception",
            "reason": format!("[1:2] [connector_scheduling] failed to parse field [{k}]"),
            "caused_by": inner,
        }))
    };
    let mut parsed = Map::new();
    for (k, v) in s {
        if !["full", "incremental", "access_control"].contains(&k.as_str()) {
            continue;
        }
        let Value::Object(o) = v else {
            return Err(wrap(
                k,
                cause(
                    "x_content_parse_exception",
                    format!(
                        "[1:2] [connector_scheduling] {k} doesn't support values of type: {}",
                        token_type(v)
                    ),
                ),
            ));
        };
        let config = schedule_config(o).map_err(|inner| wrap(k, inner))?;
        parsed.insert(k.clone(), config);
    }
    // `UpdateConnectorSchedulingAction.Request#validate`. Its check tests `incremental` twice and
    // never `access_control`, so a body with only `access_control` is rejected too.
    if !parsed.contains_key("full") && !parsed.contains_key("incremental") {
        return Err(EsError::validation(&[
            "[scheduling] object needs to define at least one schedule type: [full | incremental | access_control]",
        ]));
    }
    blind_update(state, id, json!({"scheduling": parsed}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedule_config_validation() {
        let ok =
            |i: &str| schedule_config(json!({"enabled": true, "interval": i}).as_object().unwrap());
        assert_eq!(
            ok("0 0 12 ? * mon-fri").unwrap()["interval"],
            "0 0 12 ? * MON-FRI"
        );
        assert!(ok("0 */5 * * * ?").is_ok());
        for bad in [
            "* * *",
            "0 98 0 * * ?",
            "61 * * * * ?",
            "not a cron at all",
            "0 0 0 * * *",
        ] {
            assert!(ok(bad).is_err(), "{bad}");
        }
        // Quartz's own quirk, kept by Elasticsearch: 99 is its marker for `*`, so it passes.
        assert!(ok("0 99 0 * * ?").is_ok());
        let e = ok("0 0 24 * * ?").unwrap_err();
        assert_eq!(
            e["reason"],
            "[1:2] [schedule_config] failed to parse field [interval]"
        );
        assert_eq!(
            e["caused_by"]["caused_by"]["caused_by"]["reason"],
            "illegal cron expression format [java.lang.IllegalArgumentException: Hour values must be between 0 and 23]"
        );
        // the later of the two required fields is the one named
        let e = schedule_config(
            json!({"interval": "0 60 * * * ?", "enabled": true})
                .as_object()
                .unwrap(),
        )
        .unwrap_err();
        assert_eq!(
            e["reason"],
            "[1:2] [schedule_config] failed to parse field [enabled]"
        );
        let e =
            schedule_config(json!({"interval": "0 0 0 * * ?"}).as_object().unwrap()).unwrap_err();
        assert_eq!(e["reason"], "Required [enabled]");
    }
}
