//! Sync rules (`filtering`): basic rules, the advanced snippet and their validation.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::timestamp::Timestamp;

/// The only filtering domain in use.
pub const DEFAULT_DOMAIN: &str = "DEFAULT";
/// Id of the catch-all rule every rule set ends with.
pub const DEFAULT_RULE_ID: &str = "DEFAULT";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Policy {
    Include,
    Exclude,
}

/// The `rule` of a basic rule. Elasticsearch stores these lower-case; the reference reads them
/// case-insensitively, so deserialisation does too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum RuleKind {
    #[serde(rename = "equals")]
    Equals,
    #[serde(rename = "contains")]
    Contains,
    #[serde(rename = "starts_with")]
    StartsWith,
    #[serde(rename = "ends_with")]
    EndsWith,
    #[serde(rename = "regex")]
    Regex,
    #[serde(rename = ">")]
    GreaterThan,
    #[serde(rename = "<")]
    LessThan,
}

impl RuleKind {
    pub fn parse(s: &str) -> Option<RuleKind> {
        Some(match s.to_ascii_lowercase().as_str() {
            "equals" => RuleKind::Equals,
            "contains" => RuleKind::Contains,
            "starts_with" => RuleKind::StartsWith,
            "ends_with" => RuleKind::EndsWith,
            "regex" => RuleKind::Regex,
            ">" => RuleKind::GreaterThan,
            "<" => RuleKind::LessThan,
            _ => return None,
        })
    }
}

impl<'de> Deserialize<'de> for RuleKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        RuleKind::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("unknown rule [{s}]")))
    }
}

/// One basic sync rule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BasicRule {
    pub id: String,
    pub policy: Policy,
    pub field: String,
    pub rule: RuleKind,
    /// Always a string in documents; numbers are coerced when a rule is applied.
    #[serde(deserialize_with = "string_or_scalar")]
    pub value: String,
    #[serde(default)]
    pub order: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Timestamp>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn string_or_scalar<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Null => String::new(),
        other => other.to_string(),
    })
}

impl BasicRule {
    /// The catch-all `DEFAULT` rule (field `_`, regex `.*`, include, order 0).
    pub fn default_rule(now: Timestamp) -> Self {
        BasicRule {
            id: DEFAULT_RULE_ID.to_string(),
            policy: Policy::Include,
            field: "_".to_string(),
            rule: RuleKind::Regex,
            value: ".*".to_string(),
            order: 0,
            created_at: Some(now),
            updated_at: Some(now),
            extra: Map::new(),
        }
    }

    pub fn is_default(&self) -> bool {
        self.id == DEFAULT_RULE_ID
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdvancedSnippet {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Timestamp>,
    /// Source-specific; `{}` when unset.
    #[serde(default = "empty_object")]
    pub value: Value,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn empty_object() -> Value {
    Value::Object(Map::new())
}

impl Default for AdvancedSnippet {
    fn default() -> Self {
        AdvancedSnippet {
            created_at: None,
            updated_at: None,
            value: empty_object(),
            extra: Map::new(),
        }
    }
}

impl AdvancedSnippet {
    /// Whether advanced rules are set: a non-empty object or array.
    pub fn is_set(&self) -> bool {
        match &self.value {
            Value::Object(m) => !m.is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::Null => false,
            Value::String(s) => !s.trim().is_empty(),
            _ => true,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidationState {
    Edited,
    Valid,
    Invalid,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValidationError {
    #[serde(default)]
    pub ids: Vec<String>,
    #[serde(default)]
    pub messages: Vec<String>,
}

/// `validation` of a rule set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilteringValidation {
    pub state: ValidationState,
    #[serde(default)]
    pub errors: Vec<ValidationError>,
}

impl FilteringValidation {
    pub fn valid() -> Self {
        FilteringValidation {
            state: ValidationState::Valid,
            errors: Vec::new(),
        }
    }
}

/// One rule set: the `active` or the `draft` one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilteringRules {
    #[serde(default)]
    pub advanced_snippet: AdvancedSnippet,
    #[serde(default)]
    pub rules: Vec<BasicRule>,
    #[serde(default = "FilteringValidation::valid")]
    pub validation: FilteringValidation,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl FilteringRules {
    /// What a new connector has: only the DEFAULT rule, valid.
    pub fn new_default(now: Timestamp) -> Self {
        FilteringRules {
            advanced_snippet: AdvancedSnippet {
                created_at: Some(now),
                updated_at: Some(now),
                value: empty_object(),
                extra: Map::new(),
            },
            rules: vec![BasicRule::default_rule(now)],
            validation: FilteringValidation::valid(),
            extra: Map::new(),
        }
    }

    /// The rules that decide, by `order`, without the DEFAULT rule (which includes everything
    /// left over, as "no match" does).
    pub fn effective_basic_rules(&self) -> Vec<&BasicRule> {
        let mut rules: Vec<&BasicRule> = self.rules.iter().filter(|r| !r.is_default()).collect();
        rules.sort_by_key(|r| r.order);
        rules
    }
}

/// One entry of a connector's `filtering` array.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FilteringEntry {
    #[serde(default = "default_domain")]
    pub domain: String,
    pub active: FilteringRules,
    pub draft: FilteringRules,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn default_domain() -> String {
    DEFAULT_DOMAIN.to_string()
}

impl FilteringEntry {
    pub fn new_default(now: Timestamp) -> Self {
        FilteringEntry {
            domain: default_domain(),
            active: FilteringRules::new_default(now),
            draft: FilteringRules::new_default(now),
            extra: Map::new(),
        }
    }
}
