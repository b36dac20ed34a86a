//! Basic sync rules: applying them to documents and validating a draft rule set, with the
//! reference's semantics (`connectors_sdk/filtering/basic_rule.py` and `validation.py`).
//!
//! Rules are sorted by `order`, the `DEFAULT` rule is dropped, the first rule that matches
//! decides (include or exclude) and a document no rule matches is included. A rule on a field the
//! document lacks never matches. String rules compare against the value's text; `<`, `>` and
//! `equals` coerce the rule's value to the type of the document's value.

use std::cmp::Ordering;
use std::collections::HashMap;

use crate::{BasicRule, FilteringValidation, Policy, RuleKind, ValidationError, ValidationState};
use regex::Regex;
use serde_json::{Map, Value};

/// A compiled rule set.
#[derive(Debug, Clone, Default)]
pub struct RuleEngine {
    rules: Vec<CompiledRule>,
}

#[derive(Debug, Clone)]
struct CompiledRule {
    rule: BasicRule,
    /// For `regex` rules: Python's `re.match`, anchored at the start only.
    regex: Option<Regex>,
}

impl RuleEngine {
    /// Compiles the effective rules. A regex that does not compile never matches (validation
    /// reports it before a rule set is activated).
    pub fn new<'a>(rules: impl IntoIterator<Item = &'a BasicRule>) -> Self {
        let mut rules: Vec<CompiledRule> = rules
            .into_iter()
            .filter(|r| !r.is_default())
            .map(|r| CompiledRule {
                regex: (r.rule == RuleKind::Regex)
                    .then(|| Regex::new(&format!("^(?:{})", r.value)).ok())
                    .flatten(),
                rule: r.clone(),
            })
            .collect();
        rules.sort_by_key(|r| r.rule.order);
        RuleEngine { rules }
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Whether a document should be indexed.
    pub fn should_ingest(&self, doc: &Map<String, Value>) -> bool {
        for r in &self.rules {
            if r.matches(doc) {
                return r.rule.policy == Policy::Include;
            }
        }
        true
    }
}

impl CompiledRule {
    fn matches(&self, doc: &Map<String, Value>) -> bool {
        let Some(value) = doc.get(&self.rule.field) else {
            return false;
        };
        let rule_value = self.rule.value.as_str();
        match self.rule.rule {
            RuleKind::StartsWith => python_str(value).starts_with(rule_value),
            RuleKind::EndsWith => python_str(value).ends_with(rule_value),
            RuleKind::Contains => python_str(value).contains(rule_value),
            RuleKind::Regex => self
                .regex
                .as_ref()
                .is_some_and(|re| re.is_match(&python_str(value))),
            RuleKind::Equals => compare(value, rule_value) == Some(Ordering::Equal),
            RuleKind::LessThan => compare(value, rule_value) == Some(Ordering::Less),
            RuleKind::GreaterThan => compare(value, rule_value) == Some(Ordering::Greater),
        }
    }
}

/// `str(value)` as Python prints the JSON-decoded value.
fn python_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(true) => "True".to_string(),
        Value::Bool(false) => "False".to_string(),
        Value::Null => "None".to_string(),
        Value::Number(n) => n.to_string(),
        other => other.to_string(),
    }
}

/// Compares a document value with a rule value coerced to its type. `None` when they cannot be
/// compared (Python would raise or answer false).
fn compare(doc_value: &Value, rule_value: &str) -> Option<Ordering> {
    match doc_value {
        Value::String(s) => Some(s.as_str().cmp(rule_value)),
        Value::Number(n) => {
            let x = n.as_f64()?;
            let y: f64 = rule_value.trim().parse().ok()?;
            x.partial_cmp(&y)
        }
        // The reference compares a bool with a string here, which never matches; comparing with
        // the parsed bool is what a user writing `equals true` means.
        Value::Bool(b) => {
            let parsed = parse_bool(rule_value)?;
            Some(b.cmp(&parsed))
        }
        _ => None,
    }
}

fn parse_bool(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "" | "false" | "f" | "no" | "n" | "off" => Some(false),
        "true" | "t" | "yes" | "y" | "on" => Some(true),
        _ => None,
    }
}

/// Validates a draft's basic rules with the reference's three validators: each rule's shape,
/// no match-all regex, and no two rules that mean the same thing.
pub fn validate_basic_rules(rules: &[BasicRule]) -> FilteringValidation {
    let mut errors: Vec<ValidationError> = Vec::new();
    let mut fail = |id: &str, message: String| {
        errors.push(ValidationError {
            ids: vec![id.to_string()],
            messages: vec![message],
        })
    };
    let effective: Vec<&BasicRule> = rules.iter().filter(|r| !r.is_default()).collect();
    for r in &effective {
        let name = short_name(r);
        if r.id.trim().is_empty() {
            fail(&r.id, format!("{name}: 'id' must not be empty."));
        }
        if r.field.trim().is_empty() {
            fail(&r.id, format!("{name}: 'field' must not be empty."));
        }
        if r.value.is_empty() {
            fail(&r.id, format!("{name}: 'value' must not be empty."));
        }
        if r.order < 0 {
            fail(&r.id, format!("{name}: 'order' must not be negative."));
        }
        if r.rule == RuleKind::Regex {
            if matches!(r.value.as_str(), ".*" | "(.*)") {
                fail(
                    &r.id,
                    format!(
                        "{name} uses a match all regexps ['.*', '(.*)'], which are not allowed."
                    ),
                );
            } else if let Err(e) = Regex::new(&r.value) {
                fail(
                    &r.id,
                    format!("{name} has an invalid regular expression: {e}"),
                );
            }
        }
        if matches!(r.rule, RuleKind::LessThan | RuleKind::GreaterThan) && r.value.trim().is_empty()
        {
            fail(&r.id, format!("{name} needs a value to compare with."));
        }
    }
    // Semantic duplicates: same field, rule and value (policy aside) make both rules invalid.
    let mut seen: HashMap<(String, RuleKind, String), &BasicRule> = HashMap::new();
    for r in &effective {
        let key = (r.field.clone(), r.rule, r.value.clone());
        if let Some(first) = seen.get(&key) {
            let message = format!(
                "{} is semantically equal to {}.",
                short_name(first),
                short_name(r)
            );
            errors.push(ValidationError {
                ids: vec![first.id.clone()],
                messages: vec![message.clone()],
            });
            errors.push(ValidationError {
                ids: vec![r.id.clone()],
                messages: vec![message],
            });
        } else {
            seen.insert(key, r);
        }
    }
    FilteringValidation {
        state: if errors.is_empty() {
            ValidationState::Valid
        } else {
            ValidationState::Invalid
        },
        errors,
    }
}

/// `Basic rule 2 (id: 'abc')`, as the reference names rules in messages (order is 0-based).
fn short_name(r: &BasicRule) -> String {
    let id: String = r.id.chars().take(10).collect();
    format!("Basic rule {} (id: '{id}')", r.order + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(id: &str, order: i64, policy: &str, field: &str, kind: &str, value: &str) -> BasicRule {
        serde_json::from_value(
            json!({"id": id, "order": order, "policy": policy, "field": field,
            "rule": kind, "value": value}),
        )
        .unwrap()
    }

    fn doc(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn first_matching_rule_decides_and_no_match_includes() {
        let rules = vec![
            rule("b", 2, "include", "name", "starts_with", "keep"),
            rule("a", 1, "exclude", "name", "ends_with", ".tmp"),
            rule("DEFAULT", 0, "include", "_", "regex", ".*"),
        ];
        let engine = RuleEngine::new(&rules);
        assert!(!engine.should_ingest(&doc(json!({"name": "keep.tmp"}))));
        assert!(engine.should_ingest(&doc(json!({"name": "keep.txt"}))));
        assert!(engine.should_ingest(&doc(json!({"name": "other"}))));
        assert!(engine.should_ingest(&doc(json!({"size": 1}))));
    }

    #[test]
    fn operators_follow_the_reference() {
        let d =
            doc(json!({"size": 10, "ratio": 0.5, "name": "Report 2024", "flag": true, "n": null}));
        let m = |kind: &str, field: &str, value: &str| {
            RuleEngine::new(&[rule("r", 0, "exclude", field, kind, value)]).should_ingest(&d)
        };
        assert!(!m(">", "size", "9"));
        assert!(m(">", "size", "10"));
        assert!(!m("<", "size", "10.5"));
        assert!(!m("equals", "size", "10"));
        assert!(!m("equals", "ratio", "0.5"));
        assert!(m("equals", "size", "ten"));
        assert!(!m("contains", "name", "port 20"));
        assert!(!m("regex", "name", "Rep.*\\d{4}"));
        assert!(
            m("regex", "name", "2024"),
            "regex is anchored at the start like re.match"
        );
        assert!(!m("equals", "name", "Report 2024"));
        assert!(!m("<", "name", "S"), "strings compare as text");
        assert!(!m("equals", "flag", "true"));
        assert!(!m("starts_with", "flag", "Tr"), "str(True) is 'True'");
        assert!(m("equals", "n", "None"), "null never equals anything");
        assert!(
            !m("Equals", "size", "10"),
            "rule names are case-insensitive"
        );
    }

    #[test]
    fn validation_catches_match_all_and_duplicates() {
        let rules = vec![
            rule("x1", 0, "include", "name", "regex", ".*"),
            rule("x2", 1, "exclude", "path", "contains", "tmp"),
            rule("x3", 2, "include", "path", "contains", "tmp"),
            rule("DEFAULT", 3, "include", "_", "regex", ".*"),
        ];
        let v = validate_basic_rules(&rules);
        assert_eq!(v.state, ValidationState::Invalid);
        let ids: Vec<_> = v.errors.iter().flat_map(|e| e.ids.clone()).collect();
        assert_eq!(ids, vec!["x1", "x2", "x3"]);
        assert!(v.errors[1].messages[0].contains("semantically equal"));
        let ok = validate_basic_rules(&rules[1..2]);
        assert_eq!(ok.state, ValidationState::Valid);
        assert!(ok.errors.is_empty());
    }
}
