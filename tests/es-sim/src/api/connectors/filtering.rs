//! Sync rules: the `DEFAULT` rule and rule ordering, and the `_filtering`, `_filtering/_validation`
//! and `_filtering/_activate` endpoints (draft and active rules).

use serde_json::{Value, json};

use super::body::{body_object, check_fields};
use super::{blind_update, load, loaded_update};
use crate::datemath::now_iso;
use crate::error::{EsError, EsResult};
use crate::http::{Req, Resp};
use crate::state::AppState;

pub(super) fn default_rules(now: &str) -> Value {
    json!({
        "advanced_snippet": {"created_at": now, "updated_at": now, "value": {}},
        "rules": [default_rule(0, &json!(now))],
        "validation": {"errors": [], "state": "valid"}
    })
}

/// The `DEFAULT` rule: include everything, `order` as given.
fn default_rule(order: i64, timestamp: &Value) -> Value {
    json!({
        "created_at": timestamp, "field": "_", "id": "DEFAULT", "order": order, "policy": "include",
        "rule": "regex", "updated_at": timestamp, "value": ".*"
    })
}

/// `FilteringRule#equalsExceptForTimestampsAndOrder` against the `DEFAULT` rule.
fn is_default_rule(r: &Value) -> bool {
    let s = |k: &str| r.get(k).and_then(Value::as_str);
    s("id") == Some("DEFAULT")
        && s("field") == Some("_")
        && s("policy") == Some("include")
        && s("rule") == Some("regex")
        && s("value") == Some(".*")
}

/// `ConnectorFiltering.sortFilteringRulesByOrder`: the non-default rules by `order` (stable), then
/// the `DEFAULT` rule re-created with `order` = last order + 1 (0 alone) and the `created_at` of
/// the given default rule (else now) as both timestamps. A rule that is not exactly the default
/// one stays an ordinary rule, even with id `DEFAULT`.
fn sort_rules(rules: &[Value], now: &str) -> Vec<Value> {
    let mut normal: Vec<Value> = Vec::with_capacity(rules.len() + 1);
    let mut default_created: Option<Value> = None;
    for r in rules {
        let mut r = r.clone();
        if let Value::Object(m) = &mut r {
            m.entry("created_at").or_insert_with(|| json!(now));
            m.entry("updated_at").or_insert_with(|| json!(now));
        }
        if is_default_rule(&r) {
            if default_created.is_none() {
                default_created = r.get("created_at").cloned();
            }
        } else {
            normal.push(r);
        }
    }
    let order_of = |r: &Value| r.get("order").and_then(Value::as_i64).unwrap_or(0);
    normal.sort_by_key(order_of);
    let order = normal.last().map_or(0, |r| order_of(r) + 1);
    let timestamp = match default_created {
        Some(t) if !t.is_null() => t,
        _ => json!(now),
    };
    normal.push(default_rule(order, &timestamp));
    normal
}

fn first_filtering(src: &Value) -> Value {
    src.get("filtering")
        .and_then(Value::as_array)
        .and_then(|a| a.first())
        .cloned()
        .unwrap_or_else(|| {
            let now = now_iso();
            json!({"active": default_rules(&now), "domain": "DEFAULT", "draft": default_rules(&now)})
        })
}

fn check_rule(rule: &Value) -> EsResult<()> {
    let m = rule
        .as_object()
        .ok_or_else(|| EsError::x_content("[1:2] [connector_filtering_rule] expected an object"))?;
    for required in ["field", "id", "order", "policy", "rule", "value"] {
        if !m.contains_key(required) {
            return Err(EsError::x_content(format!("[1:2] Required [{required}]")));
        }
    }
    let policy = m.get("policy").and_then(Value::as_str).unwrap_or("");
    if !["include", "exclude"].contains(&policy) {
        return Err(EsError::x_content(format!(
            "[1:2] [connector_filtering_rule] failed to parse field [policy]: Unknown FilteringPolicy [{policy}]"
        )));
    }
    let r = m.get("rule").and_then(Value::as_str).unwrap_or("");
    if ![
        "contains",
        "ends_with",
        "equals",
        "regex",
        "starts_with",
        ">",
        "<",
    ]
    .contains(&r)
    {
        return Err(EsError::x_content(format!(
            "[1:2] [connector_filtering_rule] failed to parse field [rule]: Unknown FilteringRuleCondition [{r}]"
        )));
    }
    Ok(())
}

/// `PUT _connector/{id}/_filtering`: `filtering` replaces, `rules`/`advanced_snippet` edit the draft.
pub fn filtering(state: &AppState, id: &str, req: &Req) -> EsResult<Resp> {
    let body = body_object(req)?;
    check_fields(
        &body,
        "connector_update_filtering_request",
        &["filtering", "rules", "advanced_snippet"],
    )?;
    if let Some(f) = body.get("filtering").filter(|v| !v.is_null()) {
        if !f.is_array() {
            return Err(EsError::x_content(
                "[1:2] [connector_update_filtering_request] failed to parse field [filtering]",
            ));
        }
        return blind_update(state, id, json!({"filtering": f}));
    }
    let rules = body.get("rules").filter(|v| !v.is_null());
    let snippet = body.get("advanced_snippet").filter(|v| !v.is_null());
    if rules.is_none() && snippet.is_none() {
        return Err(EsError::validation(&[
            "[filtering], [rules] and [advanced_snippet] cannot all be [null]",
        ]));
    }
    let (idx, src) = load(state, id, false)?;
    let now = now_iso();
    let mut f0 = first_filtering(&src);
    let mut draft = f0
        .get("draft")
        .cloned()
        .unwrap_or_else(|| default_rules(&now));
    if let Some(r) = rules {
        let arr = r.as_array().ok_or_else(|| {
            EsError::x_content(
                "[1:2] [connector_update_filtering_request] failed to parse field [rules]",
            )
        })?;
        for rule in arr {
            check_rule(rule)?;
        }
        draft["rules"] = Value::Array(sort_rules(arr, &now));
    }
    if let Some(s) = snippet {
        let o = s
            .as_object()
            .ok_or_else(|| EsError::x_content("[1:2] failed to parse field [advanced_snippet]"))?;
        let value = o
            .get("value")
            .cloned()
            .ok_or_else(|| EsError::x_content("[1:2] Required [value]"))?;
        draft["advanced_snippet"] = json!({
            "created_at": o.get("created_at").cloned().unwrap_or_else(|| json!(now)),
            "updated_at": o.get("updated_at").cloned().unwrap_or_else(|| json!(now)),
            "value": value
        });
    }
    draft["validation"] = json!({"errors": [], "state": "edited"});
    f0["draft"] = draft;
    loaded_update(&idx, id, json!({"filtering": [f0]}))
}

/// `PUT _connector/{id}/_filtering/_validation`.
pub fn filtering_validation(state: &AppState, id: &str, req: &Req) -> EsResult<Resp> {
    let body = body_object(req)?;
    check_fields(
        &body,
        "connector_update_filtering_validation_request",
        &["validation"],
    )?;
    let v = body
        .get("validation")
        .and_then(Value::as_object)
        .ok_or_else(|| EsError::x_content("[1:2] Required [validation]"))?;
    let state_str = v.get("state").and_then(Value::as_str).unwrap_or("");
    if !["valid", "invalid", "edited"].contains(&state_str) {
        return Err(EsError::x_content(format!(
            "[1:2] [filtering_validation] failed to parse field [state]: Unknown FilteringValidationState [{state_str}]"
        )));
    }
    let errors = v.get("errors").cloned().unwrap_or_else(|| json!([]));
    if !errors.is_array() {
        return Err(EsError::x_content(
            "[1:2] [filtering_validation] failed to parse field [errors]",
        ));
    }
    let (idx, src) = load(state, id, false)?;
    let mut f0 = first_filtering(&src);
    f0["draft"]["validation"] = json!({"errors": errors, "state": state_str});
    loaded_update(&idx, id, json!({"filtering": [f0]}))
}

/// `PUT _connector/{id}/_filtering/_activate`: draft → active, only when the draft is valid.
pub fn filtering_activate(state: &AppState, id: &str) -> EsResult<Resp> {
    let (idx, src) = load(state, id, false)?;
    let mut f0 = first_filtering(&src);
    let draft_state = f0["draft"]["validation"]["state"]
        .as_str()
        .unwrap_or("edited")
        .to_string();
    if draft_state != "valid" {
        return Err(EsError::status_exception(
            400,
            format!(
                "Filtering draft needs to be validated by the connector service before activation. Current filtering draft validation state [{draft_state}] is not equal to [valid]."
            ),
        ));
    }
    f0["active"] = f0["draft"].clone();
    loaded_update(&idx, id, json!({"filtering": [f0]}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_sorted_with_default_last() {
        let default = json!({"id": "DEFAULT", "order": 0, "field": "_", "policy": "include",
            "rule": "regex", "value": ".*", "created_at": "c0"});
        let rules = vec![
            default,
            json!({"id": "b", "order": 2}),
            json!({"id": "a", "order": 1}),
        ];
        let sorted = sort_rules(&rules, "t");
        let ids: Vec<&str> = sorted.iter().map(|r| r["id"].as_str().unwrap()).collect();
        assert_eq!(ids, vec!["a", "b", "DEFAULT"]);
        assert_eq!(sorted[0]["created_at"], "t");
        // re-added with order = last + 1, keeping the given default's created_at
        assert_eq!(sorted[2]["order"], 3);
        assert_eq!(sorted[2]["created_at"], "c0");
        assert_eq!(sorted[2]["updated_at"], "c0");

        // no default rule: appended; an empty list is the default rule alone, order 0
        let sorted = sort_rules(&[json!({"id": "x", "order": 4})], "t");
        assert_eq!(sorted[1]["id"], "DEFAULT");
        assert_eq!(sorted[1]["order"], 5);
        assert_eq!(sorted[1]["created_at"], "t");
        let sorted = sort_rules(&[], "t");
        assert_eq!(sorted.len(), 1);
        assert_eq!(sorted[0]["order"], 0);

        // a rule with id DEFAULT that is not the default rule stays an ordinary rule
        let odd = json!({"id": "DEFAULT", "order": 7, "field": "f", "policy": "exclude",
            "rule": "equals", "value": "v"});
        let sorted = sort_rules(&[odd], "t");
        assert_eq!(sorted.len(), 2);
        assert_eq!(sorted[0]["field"], "f");
        assert_eq!(sorted[1]["field"], "_");
        assert_eq!(sorted[1]["order"], 8);
    }
}
