//! Configuration schemas: the field specs a source publishes so Kibana can render its settings,
//! typed access to their values, and the reference's field validation (`check_valid`).

use indexmap::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// `configuration` of a connector: key -> field spec, in the source's order.
pub type Configuration = IndexMap<String, ConfigField>;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Display {
    Text,
    Textbox,
    Textarea,
    Numeric,
    Toggle,
    Dropdown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FieldType {
    Str,
    Int,
    List,
    Bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValidationType {
    LessThan,
    GreaterThan,
    ListType,
    IncludedIn,
    Regex,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldValidation {
    #[serde(rename = "type")]
    pub kind: ValidationType,
    pub constraint: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Dependency {
    pub field: String,
    pub value: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SelectOption {
    pub label: String,
    pub value: Value,
}

/// One configuration field spec, with the reference's defaults (`DEFAULT_CONFIGURATION`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigField {
    #[serde(default)]
    pub default_value: Value,
    #[serde(default)]
    pub depends_on: Vec<Dependency>,
    #[serde(default = "default_display")]
    pub display: Display,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub options: Vec<SelectOption>,
    #[serde(default = "one")]
    pub order: i64,
    #[serde(default = "yes")]
    pub required: bool,
    #[serde(default)]
    pub sensitive: bool,
    #[serde(default)]
    pub tooltip: Option<String>,
    #[serde(rename = "type", default = "default_type")]
    pub field_type: FieldType,
    #[serde(default)]
    pub ui_restrictions: Vec<String>,
    #[serde(default)]
    pub validations: Vec<FieldValidation>,
    #[serde(default = "empty_string")]
    pub value: Value,
    /// `category`, `placeholder` and whatever else Kibana adds.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn default_display() -> Display {
    Display::Text
}
fn one() -> i64 {
    1
}
fn yes() -> bool {
    true
}
fn default_type() -> FieldType {
    FieldType::Str
}
fn empty_string() -> Value {
    Value::String(String::new())
}

impl ConfigField {
    /// A field with the reference's defaults and the given label.
    pub fn new(label: impl Into<String>) -> Self {
        ConfigField {
            default_value: Value::Null,
            depends_on: Vec::new(),
            display: Display::Text,
            label: label.into(),
            options: Vec::new(),
            order: 1,
            required: true,
            sensitive: false,
            tooltip: None,
            field_type: FieldType::Str,
            ui_restrictions: Vec::new(),
            validations: Vec::new(),
            value: empty_string(),
            extra: Map::new(),
        }
    }

    /// The value as the source sees it: empty non-required fields read as `default_value`,
    /// then coerced to the field's type as the reference does (`int("5")`, comma lists, ...).
    pub fn effective_value(&self) -> Value {
        let raw = if is_empty(&self.value) && !self.required {
            &self.default_value
        } else {
            &self.value
        };
        coerce(raw, self.field_type).unwrap_or_else(|| raw.clone())
    }
}

/// Coerces a raw value to the field's type; `None` keeps it as it is.
fn coerce(v: &Value, t: FieldType) -> Option<Value> {
    match (t, v) {
        (_, Value::Null) => Some(Value::Null),
        (FieldType::Str, Value::String(_)) => None,
        (FieldType::Str, other) => Some(Value::String(other.to_string())),
        (FieldType::Int, Value::Number(_)) => None,
        (FieldType::Int, Value::String(s)) if s.trim().is_empty() => Some(Value::Null),
        (FieldType::Int, Value::String(s)) => s.trim().parse::<i64>().ok().map(Value::from),
        (FieldType::Bool, Value::Bool(_)) => None,
        (FieldType::Bool, Value::String(s)) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" | "1" | "on" => Some(Value::Bool(true)),
            "false" | "no" | "0" | "off" | "" => Some(Value::Bool(false)),
            _ => None,
        },
        (FieldType::List, Value::Array(_)) => None,
        (FieldType::List, Value::String(s)) => Some(Value::Array(
            s.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(|p| Value::String(p.to_string()))
                .collect(),
        )),
        _ => None,
    }
}

fn is_empty(v: &Value) -> bool {
    match v {
        Value::Null => true,
        Value::String(s) => s.trim().is_empty(),
        Value::Array(a) => a.is_empty(),
        _ => false,
    }
}

/// One field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    pub key: String,
    pub message: String,
}

/// Validates every field as the reference's `check_valid` does: fields whose `depends_on` is not
/// met are skipped; required fields must not be empty; then each `validations` entry. Messages
/// name the field by its label. Values of sensitive fields never appear in messages.
pub fn validate_configuration(config: &Configuration) -> Vec<FieldError> {
    let mut errors = Vec::new();
    for (key, field) in config {
        if !dependencies_met(config, field) {
            continue;
        }
        let label = if field.label.is_empty() {
            key.to_uppercase()
        } else {
            field.label.clone()
        };
        let mut fail = |message: String| {
            errors.push(FieldError {
                key: key.clone(),
                message,
            })
        };
        let value = field.effective_value();
        if is_empty(&value) {
            if field.required {
                fail(format!("'{label}' cannot be empty."));
            }
            continue;
        }
        if field.field_type == FieldType::Int && !value.is_number() {
            fail(format!("'{label}' must be an integer."));
            continue;
        }
        let shown = if field.sensitive {
            "********".to_string()
        } else {
            display_value(&value)
        };
        for v in &field.validations {
            if let Some(msg) = check(&label, &shown, &value, v) {
                fail(msg);
            }
        }
    }
    errors
}

fn dependencies_met(config: &Configuration, field: &ConfigField) -> bool {
    field.depends_on.iter().all(|dep| {
        config
            .get(&dep.field)
            .is_some_and(|other| loosely_equal(&other.effective_value(), &dep.value))
    })
}

/// Kibana writes dependency values as typed JSON while values may be strings (`"true"`).
fn loosely_equal(a: &Value, b: &Value) -> bool {
    a == b || display_value(a).eq_ignore_ascii_case(&display_value(b))
}

fn display_value(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .map(display_value)
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    }
}

fn check(label: &str, shown: &str, value: &Value, v: &FieldValidation) -> Option<String> {
    let c = &v.constraint;
    match v.kind {
        ValidationType::LessThan => {
            let (x, limit) = (value.as_f64()?, c.as_f64()?);
            (x >= limit).then(|| {
                format!(
                    "'{label}' value '{shown}' should be less than {}.",
                    display_value(c)
                )
            })
        }
        ValidationType::GreaterThan => {
            let (x, limit) = (value.as_f64()?, c.as_f64()?);
            (x <= limit).then(|| {
                format!(
                    "'{label}' value '{shown}' should be greater than {}.",
                    display_value(c)
                )
            })
        }
        ValidationType::ListType => {
            let wanted = c.as_str()?;
            let items = value.as_array()?;
            items
                .iter()
                .find(|item| match wanted {
                    "int" => {
                        !(item.is_i64()
                            || item
                                .as_str()
                                .is_some_and(|s| s.trim().parse::<i64>().is_ok()))
                    }
                    "str" => !item.is_string(),
                    _ => false,
                })
                .map(|item| {
                    format!(
                        "'{label}' list value '{}' should be of type {wanted}.",
                        display_value(item)
                    )
                })
        }
        ValidationType::IncludedIn => {
            let allowed = c.as_array()?;
            let candidates: Vec<&Value> = match value {
                Value::Array(items) => items.iter().collect(),
                other => vec![other],
            };
            candidates
                .into_iter()
                .find(|item| !allowed.iter().any(|a| loosely_equal(item, a)))
                .map(|item| {
                    format!(
                        "'{label}' value '{}' should be one of {}.",
                        display_value(item),
                        allowed
                            .iter()
                            .map(display_value)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                })
        }
        ValidationType::Regex => {
            let pattern = c.as_str()?;
            // Python's re.fullmatch: anchor both ends.
            let re = regex::Regex::new(&format!("^(?:{pattern})$")).ok()?;
            let text = display_value(value);
            (!re.is_match(&text))
                .then(|| format!("'{label}' value '{shown}' failed regex check {pattern}."))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schema() -> Configuration {
        serde_json::from_value(json!({
            "host": {"label": "Host", "order": 1, "type": "str", "value": ""},
            "port": {"label": "Port", "order": 2, "type": "int", "display": "numeric", "value": "5432",
                     "validations": [{"type": "less_than", "constraint": 65536}]},
            "tables": {"label": "Tables", "order": 3, "type": "list", "display": "textarea", "value": "a, b,c"},
            "ssl_enabled": {"label": "Enable SSL", "order": 4, "type": "bool", "display": "toggle", "value": false},
            "ssl_ca": {"label": "CA", "order": 5, "type": "str", "value": "",
                       "depends_on": [{"field": "ssl_enabled", "value": true}]},
            "fetch_size": {"label": "Rows", "order": 6, "type": "int", "required": false,
                           "default_value": 50, "value": "", "ui_restrictions": ["advanced"]},
            "mode": {"label": "Mode", "type": "str", "value": "x",
                     "validations": [{"type": "included_in", "constraint": ["a", "b"]}]},
        }))
        .unwrap()
    }

    #[test]
    fn defaults_fill_a_minimal_spec() {
        let f: ConfigField = serde_json::from_value(json!({"label": "X"})).unwrap();
        assert!(f.required && !f.sensitive);
        assert_eq!(f.order, 1);
        assert_eq!(f.display, Display::Text);
        assert_eq!(f.field_type, FieldType::Str);
        assert_eq!(f.value, json!(""));
        assert_eq!(f.default_value, Value::Null);
    }

    #[test]
    fn values_are_coerced_like_the_reference() {
        let c = schema();
        assert_eq!(c["port"].effective_value(), json!(5432));
        assert_eq!(c["tables"].effective_value(), json!(["a", "b", "c"]));
        assert_eq!(c["fetch_size"].effective_value(), json!(50));
        assert_eq!(c["ssl_enabled"].effective_value(), json!(false));
    }

    #[test]
    fn validation_names_the_field() {
        let errors = validate_configuration(&schema());
        let msgs: Vec<_> = errors.iter().map(|e| e.message.as_str()).collect();
        assert_eq!(
            msgs,
            vec![
                "'Host' cannot be empty.",
                "'Mode' value 'x' should be one of a, b."
            ]
        );
        assert_eq!(errors[0].key, "host");
    }

    #[test]
    fn depends_on_gates_validation() {
        let mut c = schema();
        c["host"].value = json!("db");
        c["mode"].value = json!("a");
        c["ssl_enabled"].value = json!("true");
        let errors = validate_configuration(&c);
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].message, "'CA' cannot be empty.");
        c["port"].value = json!(70000);
        let errors = validate_configuration(&c);
        assert!(
            errors
                .iter()
                .any(|e| e.message == "'Port' value '70000' should be less than 65536.")
        );
    }

    #[test]
    fn sensitive_values_never_appear_in_messages() {
        let mut c = Configuration::new();
        let mut f = ConfigField::new("Password");
        f.sensitive = true;
        f.value = json!("hunter2");
        f.validations.push(FieldValidation {
            kind: ValidationType::Regex,
            constraint: json!("[a-z]+"),
        });
        c.insert("password".into(), f);
        let errors = validate_configuration(&c);
        assert_eq!(errors.len(), 1);
        assert!(!errors[0].message.contains("hunter2"));
    }
}
