//! The configuration fields the database sources show: the server's, the table list, TLS and
//! the advanced tuning fields, each at the order a source gives it (the reference's schemas).

use connectors_protocol::{ConfigField, Dependency, Display, FieldType};
use serde_json::json;

/// A required text field.
pub fn field(label: &str, order: i64) -> ConfigField {
    let mut f = ConfigField::new(label);
    f.order = order;
    f
}

/// A required integer field.
pub fn numeric(label: &str, order: i64) -> ConfigField {
    let mut f = field(label, order);
    f.display = Display::Numeric;
    f.field_type = FieldType::Int;
    f
}

/// An optional integer field with a default, shown among the advanced ones.
pub fn advanced_int(label: &str, order: i64, default: i64) -> ConfigField {
    let mut f = numeric(label, order);
    f.default_value = json!(default);
    f.required = false;
    f.ui_restrictions = vec!["advanced".into()];
    f
}

/// `host`, `port`, the user (named `user_key`), `password` and `database`, orders 1 to 5.
pub fn server(user_key: &str) -> Vec<(String, ConfigField)> {
    let mut password = field("Password", 4);
    password.sensitive = true;
    vec![
        ("host".into(), field("Host", 1)),
        ("port".into(), numeric("Port", 2)),
        (user_key.into(), field("Username", 3)),
        ("password".into(), password),
        ("database".into(), field("Database", 5)),
    ]
}

/// `tables`: a comma-separated list, `*` (every table) by default.
pub fn tables(order: i64) -> ConfigField {
    let mut tables = field("Comma-separated list of tables", order);
    tables.display = Display::Textarea;
    tables.field_type = FieldType::List;
    tables.value = json!("*");
    tables
}

/// `ssl_enabled` (labelled `label`) at `order`, and `ssl_ca` after it.
pub fn tls(label: &str, order: i64) -> Vec<(String, ConfigField)> {
    let mut enabled = field(label, order);
    enabled.display = Display::Toggle;
    enabled.field_type = FieldType::Bool;
    enabled.value = json!(false);
    let mut ca = field("SSL certificate", order + 1);
    ca.depends_on = vec![Dependency {
        field: "ssl_enabled".into(),
        value: json!(true),
    }];
    vec![("ssl_enabled".into(), enabled), ("ssl_ca".into(), ca)]
}

/// `fetch_size` at `order` and `retry_count` after it, with their defaults.
pub fn tuning(order: i64, fetch_size: i64, retry_count: i64) -> Vec<(String, ConfigField)> {
    vec![
        (
            "fetch_size".into(),
            advanced_int("Rows fetched per request", order, fetch_size),
        ),
        (
            "retry_count".into(),
            advanced_int("Retries per request", order + 1, retry_count),
        ),
    ]
}
