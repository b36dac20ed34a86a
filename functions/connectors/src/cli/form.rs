//! The configuration form of `connector create`: the source's published schema filled from a
//! file of values or from answers, in the reference's order — fields by `order`, first those
//! that depend on nothing, then those whose `depends_on` holds — then checked with the
//! protocol's own validation, so that a missing required field is named before anything is
//! created. Sensitive fields are read without echo and never shown.

use std::path::{Path, PathBuf};

use connectors_protocol::{ConfigField, Configuration, Display, FieldType, validate_configuration};
use serde_json::{Map, Value};

use super::error::CliError;
use super::prompt::Prompter;

/// Where the values come from.
pub enum Answers<'a> {
    /// `--from-file`: key -> value; a key absent from the file keeps the schema's value.
    File {
        path: PathBuf,
        values: Map<String, Value>,
    },
    /// Questions, one per field.
    Prompt(&'a mut Prompter),
}

/// Reads a `--from-file` file: a JSON or YAML mapping of field keys to values.
pub fn read_values(path: &Path) -> Result<Map<String, Value>, CliError> {
    let context = || format!("reading {}", path.display());
    let text = std::fs::read_to_string(path).map_err(|e| CliError::io(context(), e))?;
    let value: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(_) => serde_norway::from_str(&text).map_err(|e| CliError::File {
            context: context(),
            message: format!("neither JSON nor YAML: {e}"),
        })?,
    };
    match value {
        Value::Object(map) => Ok(map),
        _ => Err(CliError::File {
            context: context(),
            message: "expected a mapping of configuration keys to values".into(),
        }),
    }
}

/// Keys in the order the reference asks them: by `order` (stable), independent fields first.
fn ordered_keys(schema: &Configuration) -> (Vec<String>, Vec<String>) {
    let mut keys: Vec<(&String, &ConfigField)> = schema.iter().collect();
    keys.sort_by_key(|(_, f)| f.order);
    let (dependent, independent): (Vec<_>, Vec<_>) = keys
        .into_iter()
        .partition(|(_, f)| !f.depends_on.is_empty());
    let names = |v: Vec<(&String, &ConfigField)>| v.into_iter().map(|(k, _)| k.clone()).collect();
    (names(independent), names(dependent))
}

fn display(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        Value::Array(items) => items.iter().map(display).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// Whether every `depends_on` of `field` holds for the values filled so far (typed values and
/// their string forms compare equal, as Kibana writes either).
fn dependencies_met(schema: &Configuration, field: &ConfigField) -> bool {
    field.depends_on.iter().all(|dep| {
        schema.get(&dep.field).is_some_and(|other| {
            let value = other.effective_value();
            value == dep.value || display(&value).eq_ignore_ascii_case(&display(&dep.value))
        })
    })
}

/// An answer as the field's type: integers and booleans become JSON numbers and booleans; a
/// dropdown answer must be one of its options. `Err` says what is wrong.
fn typed(field: &ConfigField, answer: &str) -> Result<Value, String> {
    let answer = answer.trim();
    let value = match field.field_type {
        FieldType::Int => answer
            .parse::<i64>()
            .map(Value::from)
            .map_err(|_| format!("`{answer}` is not an integer"))?,
        FieldType::Bool => match answer.to_ascii_lowercase().as_str() {
            "y" | "yes" | "true" | "1" | "on" => Value::Bool(true),
            "n" | "no" | "false" | "0" | "off" => Value::Bool(false),
            _ => return Err(format!("`{answer}` is not yes or no")),
        },
        FieldType::Str | FieldType::List => Value::String(answer.to_string()),
    };
    if field.display == Display::Dropdown && !field.options.is_empty() {
        let matching = field
            .options
            .iter()
            .find(|o| display(&o.value).eq_ignore_ascii_case(answer) || o.label == answer);
        return match matching {
            Some(option) => Ok(option.value.clone()),
            None => Err(format!(
                "`{answer}` is not one of {}",
                field
                    .options
                    .iter()
                    .map(|o| display(&o.value))
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
        };
    }
    Ok(value)
}

/// A value from a file: strings are typed as answers are; other JSON values are kept.
fn typed_file_value(field: &ConfigField, value: &Value) -> Result<Value, String> {
    match value {
        Value::String(s) if field.field_type != FieldType::Str && !s.trim().is_empty() => {
            typed(field, s)
        }
        other => Ok(other.clone()),
    }
}

fn question(key: &str, field: &ConfigField) -> String {
    let label = if field.label.is_empty() {
        key
    } else {
        &field.label
    };
    let hint = match (field.field_type, field.display) {
        (_, Display::Dropdown) if !field.options.is_empty() => format!(
            " ({})",
            field
                .options
                .iter()
                .map(|o| display(&o.value))
                .collect::<Vec<_>>()
                .join("/")
        ),
        (FieldType::Bool, _) | (_, Display::Toggle) => " (y/n)".to_string(),
        (FieldType::List, _) => " (comma-separated)".to_string(),
        _ => String::new(),
    };
    let optional = if field.required { "" } else { " (optional)" };
    format!("{label}{hint}{optional}")
}

fn ask(prompter: &mut Prompter, key: &str, field: &mut ConfigField) -> Result<(), CliError> {
    let current = display(&field.value);
    let has_current = !current.is_empty();
    loop {
        let answer = if field.sensitive {
            prompter.ask_secret(&question(key, field), has_current)?
        } else {
            prompter
                .ask(
                    &question(key, field),
                    has_current.then_some(current.as_str()),
                )?
                .filter(|a| !(has_current && *a == current))
        };
        let Some(answer) = answer else {
            return Ok(());
        };
        match typed(field, &answer) {
            Ok(value) => {
                field.value = value;
                return Ok(());
            }
            Err(problem) if prompter.is_terminal() => eprintln!("  {problem}; try again"),
            Err(problem) => {
                return Err(CliError::Refused(format!(
                    "field `{key}` ({}): {problem}",
                    field.label
                )));
            }
        }
    }
}

/// Fills `schema` for `service_type` from `answers`, then validates it. The error names every
/// field that is missing or wrong, and what to do.
pub fn fill(
    service_type: &str,
    mut schema: Configuration,
    answers: Answers<'_>,
) -> Result<Configuration, CliError> {
    let (independent, dependent) = ordered_keys(&schema);
    let hint = match &answers {
        Answers::File { path, values } => {
            if let Some(unknown) = values.keys().find(|k| !schema.contains_key(*k)) {
                return Err(CliError::Refused(format!(
                    "{}: `{unknown}` is not a {service_type} configuration field; the fields are: {}",
                    path.display(),
                    schema.keys().cloned().collect::<Vec<_>>().join(", ")
                )));
            }
            format!("set them in {}", path.display())
        }
        Answers::Prompt(_) => {
            "answer the questions again, or give the values with --from-file FILE".to_string()
        }
    };
    let mut answers = answers;
    for (pass, keys) in [independent, dependent].into_iter().enumerate() {
        for key in keys {
            if pass == 1 {
                let Some(field) = schema.get(&key) else {
                    continue;
                };
                if !dependencies_met(&schema, field) {
                    continue;
                }
            }
            let Some(field) = schema.get_mut(&key) else {
                continue;
            };
            match &mut answers {
                Answers::File { path, values } => {
                    if let Some(value) = values.get(&key) {
                        field.value = typed_file_value(field, value).map_err(|problem| {
                            CliError::Refused(format!(
                                "{}: field `{key}` ({}): {problem}",
                                path.display(),
                                field.label
                            ))
                        })?;
                    }
                }
                Answers::Prompt(prompter) => ask(prompter, &key, field)?,
            }
        }
    }
    let problems: Vec<String> = validate_configuration(&schema)
        .into_iter()
        .map(|e| format!("{} (field `{}`)", e.message.trim_end_matches('.'), e.key))
        .collect();
    if problems.is_empty() {
        Ok(schema)
    } else {
        Err(CliError::InvalidConfiguration {
            service_type: service_type.to_string(),
            problems,
            hint,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use connectors_protocol::{Dependency, SelectOption};
    use serde_json::json;

    fn schema() -> Configuration {
        let mut host = ConfigField::new("Host");
        host.order = 1;
        let mut port = ConfigField::new("Port");
        port.order = 2;
        port.field_type = FieldType::Int;
        port.display = Display::Numeric;
        port.value = json!(5432);
        let mut password = ConfigField::new("Password");
        password.order = 3;
        password.sensitive = true;
        let mut ssl = ConfigField::new("Enable SSL");
        ssl.order = 4;
        ssl.field_type = FieldType::Bool;
        ssl.display = Display::Toggle;
        ssl.value = json!(false);
        let mut ca = ConfigField::new("CA certificate");
        ca.order = 5;
        ca.depends_on = vec![Dependency {
            field: "ssl".into(),
            value: json!(true),
        }];
        let mut mode = ConfigField::new("Mode");
        mode.order = 0;
        mode.display = Display::Dropdown;
        mode.options = vec![
            SelectOption {
                label: "Fast".into(),
                value: json!("fast"),
            },
            SelectOption {
                label: "Slow".into(),
                value: json!("slow"),
            },
        ];
        mode.value = json!("fast");
        Configuration::from([
            ("ca".to_string(), ca),
            ("host".to_string(), host),
            ("port".to_string(), port),
            ("password".to_string(), password),
            ("ssl".to_string(), ssl),
            ("mode".to_string(), mode),
        ])
    }

    fn prompted(input: &str) -> Result<Configuration, CliError> {
        let mut p = Prompter::from_reader(std::io::Cursor::new(input.to_string()));
        fill("db", schema(), Answers::Prompt(&mut p))
    }

    #[test]
    fn order_is_by_order_with_dependent_fields_last() {
        let (independent, dependent) = ordered_keys(&schema());
        assert_eq!(independent, ["mode", "host", "port", "password", "ssl"]);
        assert_eq!(dependent, ["ca"]);
    }

    #[test]
    fn answers_are_typed_and_dependent_fields_asked_when_they_apply() {
        // mode, host, port, password, ssl, then ca (ssl is on).
        let c = prompted("slow\ndb.example\n6543\nhunter2\ny\n/ca.pem\n").expect("valid");
        assert_eq!(c["mode"].value, json!("slow"));
        assert_eq!(c["host"].value, json!("db.example"));
        assert_eq!(c["port"].value, json!(6543));
        assert_eq!(c["password"].value, json!("hunter2"));
        assert_eq!(c["ssl"].value, json!(true));
        assert_eq!(c["ca"].value, json!("/ca.pem"));
        // ssl off: the CA is not asked, and not required.
        let c = prompted("\ndb\n\npw\nn\n").expect("valid");
        assert_eq!(c["port"].value, json!(5432));
        assert_eq!(c["ca"].value, json!(""));
    }

    #[test]
    fn a_missing_required_field_is_named_and_wrong_types_refused() {
        let e = prompted("\n\n\n\n\n").expect_err("host and password missing");
        let text = e.to_string();
        assert!(
            text.contains("'Host' cannot be empty (field `host`)"),
            "{text}"
        );
        assert!(text.contains("field `password`"), "{text}");
        let e = prompted("\nh\nnot-a-port\n").expect_err("bad port");
        assert!(
            e.to_string().contains("`not-a-port` is not an integer"),
            "{e}"
        );
        let e = prompted("medium\n").expect_err("bad option");
        assert!(e.to_string().contains("fast, slow"), "{e}");
    }

    #[test]
    fn file_values_keep_defaults_and_reject_unknown_keys() {
        let values =
            json!({"host": "h", "password": "p", "port": "7000", "ssl": "true", "ca": "/c"});
        let Value::Object(values) = values else {
            unreachable!()
        };
        let answers = Answers::File {
            path: "v.json".into(),
            values: values.clone(),
        };
        let c = fill("db", schema(), answers).expect("valid");
        assert_eq!(c["port"].value, json!(7000));
        assert_eq!(c["ssl"].value, json!(true));
        assert_eq!(c["mode"].value, json!("fast"));
        let mut typo = values;
        typo.insert("hots".into(), json!("x"));
        let e = fill(
            "db",
            schema(),
            Answers::File {
                path: "v.json".into(),
                values: typo,
            },
        )
        .expect_err("unknown key");
        assert!(
            e.to_string()
                .contains("`hots` is not a db configuration field"),
            "{e}"
        );
    }

    #[test]
    fn sensitive_values_never_reach_messages() {
        let e = prompted("\nh\nx\nsup3rsecret\nmaybe\n").expect_err("bad toggle");
        assert!(!e.to_string().contains("sup3rsecret"));
    }
}
