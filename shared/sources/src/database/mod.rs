//! The SQL database sources, written once: [`source::DatabaseSource`] over a
//! [`dialect::Dialect`] (a server and its driver), with what every dialect shares:
//! configuration reading, advanced-rule parsing, the Python spellings of values, and the
//! background page streaming with resumable cursors.
//!
//! Both sources list each table by keyset pagination on its primary key (never `OFFSET`), with
//! the cursor `(table, last key values)`, so a sync resumes mid-table in any process; custom
//! queries from advanced rules are ordered by their id columns for the same reason.
//! Incremental syncs read, for tables with a tracking column, only the rows whose tracking
//! value is at least the previous sync's highest (rows at the boundary value are re-sent, so a
//! row that got that same value after the previous sync read it is not missed), ordered by
//! (tracking value, key).

pub mod dialect;
pub mod fields;
pub mod layout;
mod listing;
pub mod pager;
mod partition;
pub mod plan;
pub mod python;
pub mod rules;
pub mod settings;
pub mod source;

use connectors_sdk::SyncMode;
use serde_json::Value;

/// The reference's `hash_id` / `generate_id`: the tables sorted and joined by `_`, then the key
/// values that are not null, joined by `_` (`table1_table2_1_42`).
pub fn doc_id<'a>(tables: &[String], values: impl Iterator<Item = Option<&'a str>>) -> String {
    let mut sorted: Vec<&str> = tables.iter().map(String::as_str).collect();
    sorted.sort_unstable();
    let mut id = sorted.join("_");
    id.push('_');
    let mut first = true;
    for v in values.flatten() {
        if !first {
            id.push('_');
        }
        id.push_str(v);
        first = false;
    }
    id
}

/// Identifies what a listing was started for, so that a running listing is only continued by
/// requests for the same thing.
pub fn fingerprint(mode: &SyncMode<'_>, rules: Option<&Value>) -> String {
    let mode = match mode {
        SyncMode::Full => "full".to_string(),
        SyncMode::Incremental { sync_cursor } => format!(
            "incremental:{}",
            sync_cursor.map(Value::to_string).unwrap_or_default()
        ),
    };
    let rules = if rules::is_empty(rules) {
        String::new()
    } else {
        rules.map(Value::to_string).unwrap_or_default()
    };
    format!("{mode}|{rules}")
}

/// The previous sync's tracking value of `table` for `column`, from an incremental job's sync
/// cursor. `None` (read the table in full) when the table is new to the cursor, its tracking
/// column changed, or the previous sync saw no value.
pub fn previous_tracking_value(mode: &SyncMode<'_>, table: &str, column: &str) -> Option<Value> {
    let SyncMode::Incremental {
        sync_cursor: Some(cursor),
    } = mode
    else {
        return None;
    };
    let entry = cursor.get("tracking")?.get(table)?;
    if entry.get("column")?.as_str()? != column {
        return None;
    }
    entry.get("value").filter(|v| !v.is_null()).cloned()
}

/// The sync mode, owned by a listing task (a [`SyncMode`] borrows from the request).
#[derive(Debug, Clone)]
pub struct Mode {
    pub incremental: bool,
    pub sync_cursor: Option<Value>,
}

impl From<&SyncMode<'_>> for Mode {
    fn from(m: &SyncMode<'_>) -> Self {
        match m {
            SyncMode::Full => Mode {
                incremental: false,
                sync_cursor: None,
            },
            SyncMode::Incremental { sync_cursor } => Mode {
                incremental: true,
                sync_cursor: sync_cursor.cloned(),
            },
        }
    }
}

impl Mode {
    /// The previous sync's tracking value of `table` for `column`, in incremental syncs.
    pub fn previous(&self, table: &str, column: &str) -> Option<Value> {
        if !self.incremental {
            return None;
        }
        previous_tracking_value(
            &SyncMode::Incremental {
                sync_cursor: self.sync_cursor.as_ref(),
            },
            table,
            column,
        )
    }
}

/// A tracking entry of the sync cursor: the column, and the highest value seen (in the
/// source's cursor spelling of values).
pub fn tracking_entry(column: &str, value: Value) -> Value {
    serde_json::json!({ "column": column, "value": value })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ids_like_the_reference() {
        let t = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(doc_id(&t(&["table1"]), [Some("1")].into_iter()), "table1_1");
        assert_eq!(
            doc_id(
                &t(&["table3", "table1", "table2"]),
                [Some("1"), None].into_iter()
            ),
            "table1_table2_table3_1"
        );
    }

    #[test]
    fn tracking_values_follow_the_column() {
        let cursor = json!({"tracking": {"t": {"column": "u", "value": "5"}}});
        let mode = SyncMode::Incremental {
            sync_cursor: Some(&cursor),
        };
        assert_eq!(previous_tracking_value(&mode, "t", "u"), Some(json!("5")));
        assert_eq!(previous_tracking_value(&mode, "t", "v"), None);
        assert_eq!(previous_tracking_value(&SyncMode::Full, "t", "u"), None);
    }
}
