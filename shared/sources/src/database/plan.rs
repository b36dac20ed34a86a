//! Planning a read over a dialect: the document fields and `_id` columns of a table or custom
//! query (the reference's `map_column_names` and `id_columns`), then the rows it reads made
//! into documents, and the cursor that follows the last row sent.

use connectors_sdk::{JsonDocument, SourceError};
use serde_json::Value;

use crate::database::dialect::{Cells, Dialect, Plan, RulePlan, TableScan};
use crate::database::layout::Layout;
use crate::database::pager::Position;
use crate::database::rules::QueryRule;
use crate::database::{self as db};

/// The document field of `column`: with a prefix, `<prefix><column>` lower-cased.
pub fn field_name(prefix: Option<&str>, column: &str) -> String {
    match prefix {
        Some(prefix) => format!("{prefix}{column}").to_lowercase(),
        None => column.to_string(),
    }
}

/// How a table is read in key `order`, `_id` from the `id` key columns. `None`: it cannot be.
pub async fn plan_table<D: Dialect>(
    d: &D,
    conn: &mut D::Conn,
    table: &str,
    id: &[String],
    order: &[String],
    tracking: Option<&str>,
    delta: bool,
) -> Result<Option<Plan<D>>, D::Error> {
    let columns = d.table_columns(conn, table).await?;
    let tables = [table.to_string()];
    let prefix = d.field_prefix(&tables);
    let names = columns
        .iter()
        .map(|(n, _)| field_name(prefix.as_deref(), n))
        .collect();
    let id_cols = id
        .iter()
        .filter_map(|k| columns.iter().position(|(n, _)| n == k))
        .collect();
    let scan = TableScan {
        table,
        columns: &columns,
        order,
        tracking,
        delta,
    };
    let Some(reading) = d.table_reading(conn, &scan).await? else {
        return Ok(None);
    };
    Ok(Some(Plan {
        names,
        id_cols,
        id_tables: tables.to_vec(),
        table_value: Value::String(table.to_string()),
        reading,
    }))
}

/// Prepares a custom query: its fields, `_id` columns, and statements ordered by them.
pub async fn plan_rule<D: Dialect>(
    d: &D,
    conn: &mut D::Conn,
    rule: &QueryRule,
) -> Result<RulePlan<D>, D::Error> {
    let prefix = d.field_prefix(&rule.tables);
    let name = |column: &str| field_name(prefix.as_deref(), column);
    let ids: Vec<String> = if rule.id_columns.is_empty() {
        let mut keys = Vec::new();
        for table in &rule.tables {
            keys.extend(d.primary_key(conn, table).await?.iter().map(|k| name(k)));
        }
        if D::SORTED_RULE_KEYS {
            keys.sort();
        }
        keys
    } else {
        rule.id_columns.iter().map(|c| name(c)).collect()
    };
    if ids.is_empty() {
        return Ok(RulePlan::Skip(format!(
            "tables {} have no primary key; set id_columns.",
            rule.tables.join(", ")
        )));
    }
    let columns = d.query_columns(conn, rule).await?;
    let names: Vec<String> = columns.iter().map(|(n, _)| name(n)).collect();
    // The row is a dict in the reference: a repeated name keeps the last column's value.
    let mut id_cols = Vec::with_capacity(ids.len());
    let mut missing = Vec::new();
    for id in &ids {
        match names.iter().rposition(|n| n == id) {
            Some(i) => id_cols.push(i),
            None => missing.push(id.as_str()),
        }
    }
    if !missing.is_empty() {
        return Ok(RulePlan::Skip(format!(
            "the primary key or id columns {} are not among the query's columns.",
            missing.join(", ")
        )));
    }
    let mut order: Vec<usize> = Vec::new();
    for &i in &id_cols {
        if !order.contains(&i) {
            order.push(i);
        }
    }
    let reading = d.rule_reading(conn, rule, &columns, &order).await?;
    let mut id_tables = rule.tables.clone();
    id_tables.sort();
    Ok(RulePlan::Ready(Box::new(Plan {
        names,
        id_cols,
        id_tables,
        table_value: serde_json::json!(rule.tables),
        reading,
    })))
}

impl<D: Dialect> Plan<D> {
    /// The row's document, written as `layout` says; its `_id` starts with `id_prefix`.
    pub fn document(
        &self,
        row: &D::Row,
        layout: &Layout,
        id_prefix: &str,
    ) -> Result<JsonDocument, SourceError> {
        let decoding = &self.reading.decoding;
        let mut values = Vec::with_capacity(self.id_cols.len());
        for &i in &self.id_cols {
            values.push(decoding.id_text(row, i)?);
        }
        let mut id = id_prefix.to_string();
        id.push_str(&db::doc_id(
            &self.id_tables,
            values.iter().map(Option::as_deref),
        ));
        layout.document(id, |i, out| decoding.write(row, i, &self.names[i], out))
    }

    /// Moves `pos` after `row`, and the sync cursor entry of table `tracked` to its tracking
    /// value.
    pub fn advance(
        &self,
        pos: &mut Position,
        row: &D::Row,
        tracked: Option<&str>,
    ) -> Result<(), D::Error> {
        let reading = &self.reading;
        let keys = reading
            .keys
            .iter()
            .map(|&i| D::cursor_value(row, i))
            .collect::<Result<Vec<_>, _>>()?;
        pos.after = Some(keys);
        if let Some(i) = reading.tracking_after {
            pos.tracking_after = Some(D::cursor_value(row, i)?);
        }
        if let (Some(i), Some(table)) = (reading.tracking, tracked) {
            let value = D::cursor_value(row, i)?;
            if let Some(entry) = pos.tracking.get_mut(table)
                && !value.is_null()
            {
                entry["value"] = value;
            }
        }
        Ok(())
    }
}
