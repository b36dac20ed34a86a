//! The SQL of PostgreSQL reads: tables in key order by keyset chunks (row comparison on key
//! values cast from text), custom queries wrapped and ordered by their id columns. Columns the
//! binary decoder does not know are selected as `::text`; the key (and tracking) values follow
//! the columns as text, which the cursor keeps.

use serde_json::Value;
use tokio_postgres::types::Type;

use super::decode::{self, Dec};
use super::dialect::Conn;
use super::{Postgres, ident};
use crate::database::dialect::{Reading, TableScan};
use crate::database::rules::QueryRule;

/// What reading a plan's cells needs.
pub struct Decoding {
    pub decs: Vec<Dec>,
    /// The number of key values a cursor must have, when it is checked.
    key_count: Option<usize>,
}

/// The type of a column, for casting a text parameter to it.
fn type_name(ty: &Type) -> String {
    format!("{}.{}", ident(ty.schema()), ident(ty.name()))
}

/// The select list of a statement's columns: decodable columns as they are, the others as
/// text. `alias` names each column instead of its own name (custom queries).
fn select_list(
    columns: &[(String, Type)],
    alias: Option<&dyn Fn(usize) -> String>,
) -> (Vec<String>, Vec<Dec>) {
    let mut sql = Vec::with_capacity(columns.len());
    let mut decs = Vec::with_capacity(columns.len());
    for (i, (name, ty)) in columns.iter().enumerate() {
        let col = match alias {
            Some(a) => a(i),
            None => ident(name),
        };
        match decode::decoder(ty) {
            Some(d) => {
                sql.push(col);
                decs.push(d);
            }
            None => {
                sql.push(format!("{col}::text"));
                decs.push(Dec::Text);
            }
        }
    }
    (sql, decs)
}

/// `(a, b) > ($n::text::T, ...)`, numbering parameters from `first`.
fn keyset(columns: &[String], types: &[String], first: usize) -> String {
    let params: Vec<String> = types
        .iter()
        .enumerate()
        .map(|(i, t)| format!("${}::text::{t}", first + i))
        .collect();
    format!("({}) > ({})", columns.join(", "), params.join(", "))
}

fn cursor_texts(after: &[Value]) -> Option<Vec<String>> {
    after
        .iter()
        .map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// The parameters resuming after a cursor: the tracking text of an incremental delta, then
/// the key texts.
pub fn resume_params(
    reading: &Reading<Postgres>,
    after: &[Value],
    tracking_after: Option<&Value>,
) -> Option<Vec<String>> {
    let mut params = Vec::new();
    if reading.tracking_after.is_some() {
        params.push(tracking_after?.as_str()?.to_string());
    }
    let keys = cursor_texts(after)?;
    if reading.decoding.key_count.is_some_and(|n| n != keys.len()) {
        return None;
    }
    params.extend(keys);
    Some(params)
}

/// A table's statements, keyset chunks in key order, or (tracking, key) order with the
/// tracking value at least `$1`. `None` when a key or tracking column is not in the table.
pub async fn table_reading(
    pg: &Postgres,
    conn: &Conn,
    scan: &TableScan<'_, Postgres>,
) -> Result<Option<Reading<Postgres>>, tokio_postgres::Error> {
    let TableScan {
        table,
        columns,
        order: keys,
        tracking,
        delta,
    } = *scan;
    let type_of = |name: &str| {
        columns
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, t)| type_name(t))
    };
    // Columns are referred to through the alias, so that ORDER BY and WHERE never pick an
    // output column (a `::text` cast keeps its column's name).
    let col = |name: &str| format!("\"__t\".{}", ident(name));
    let (select, decs) = select_list(columns, Some(&|i: usize| col(&columns[i].0)));
    let key_cols: Vec<String> = keys.iter().map(|k| col(k)).collect();
    let mut key_types = Vec::new();
    for k in keys {
        match type_of(k) {
            Some(t) => key_types.push(t),
            None => return Ok(None),
        }
    }
    let mut extra: Vec<String> = key_cols
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c}::text AS \"__k{i}\""))
        .collect();
    let from = format!("FROM {} AS \"__t\"", pg.qualified(table));
    let limit = pg.chunk();
    let (first, next) = match (tracking, delta) {
        (Some(t), true) => {
            let tc = col(t);
            let Some(tc_type) = type_of(t) else {
                return Ok(None);
            };
            extra.push(format!("{tc}::text AS \"__tracking\""));
            let head = format!("SELECT {}, {} {from}", select.join(", "), extra.join(", "));
            let mut order = vec![tc.clone()];
            order.extend(key_cols.iter().cloned());
            let mut types = vec![tc_type.clone()];
            types.extend(key_types.iter().cloned());
            let order_by = format!("ORDER BY {} LIMIT {limit}", order.join(", "));
            (
                format!("{head} WHERE {tc} >= $1::text::{tc_type} {order_by}"),
                format!(
                    "{head} WHERE {tc} >= $1::text::{tc_type} AND {} {order_by}",
                    keyset(&order, &types, 2)
                ),
            )
        }
        _ => {
            let head = format!("SELECT {}, {} {from}", select.join(", "), extra.join(", "));
            let order_by = format!("ORDER BY {} LIMIT {limit}", key_cols.join(", "));
            (
                format!("{head} {order_by}"),
                format!(
                    "{head} WHERE {} {order_by}",
                    keyset(&key_cols, &key_types, 1)
                ),
            )
        }
    };
    // The key texts follow the columns, then the tracking text of a delta.
    let base = columns.len();
    let tracking_text = (delta && tracking.is_some()).then_some(base + keys.len());
    Ok(Some(Reading {
        decoding: Decoding {
            decs,
            key_count: None,
        },
        first: conn.client.prepare(&first).await?,
        next: conn.client.prepare(&next).await?,
        keys: (base..base + keys.len()).collect(),
        tracking: tracking_text,
        tracking_after: tracking_text,
        limit: Some(limit),
    }))
}

/// A custom query's statements: the query wrapped, its columns aliased, ordered by the
/// columns at `order`; one statement reads every row.
pub async fn rule_reading(
    conn: &Conn,
    rule: &QueryRule,
    columns: &[(String, Type)],
    order: &[usize],
) -> Result<Reading<Postgres>, tokio_postgres::Error> {
    let alias = |i: usize| format!("\"__q\".\"c{i}\"");
    let (select, decs) = select_list(columns, Some(&alias));
    let order_cols: Vec<String> = order.iter().map(|&i| alias(i)).collect();
    let key_texts: Vec<String> = order_cols
        .iter()
        .enumerate()
        .map(|(i, c)| format!("{c}::text AS \"__k{i}\""))
        .collect();
    let key_types: Vec<String> = order.iter().map(|&i| type_name(&columns[i].1)).collect();
    let aliases: Vec<String> = (0..columns.len()).map(|i| format!("\"c{i}\"")).collect();
    let from = format!(
        "FROM ({}) AS \"__q\"({})",
        rule.bare_query(),
        aliases.join(", ")
    );
    let head = format!(
        "SELECT {}, {} {from}",
        select.join(", "),
        key_texts.join(", ")
    );
    let order_by = format!("ORDER BY {}", order_cols.join(", "));
    let first = format!("{head} {order_by}");
    let next = format!(
        "{head} WHERE {} {order_by}",
        keyset(&order_cols, &key_types, 1)
    );
    // Both forms must be valid (orderable id columns, ...), as validation promises.
    let next = conn.client.prepare(&next).await?;
    let base = columns.len();
    Ok(Reading {
        decoding: Decoding {
            decs,
            key_count: Some(key_types.len()),
        },
        first: conn.client.prepare(&first).await?,
        next,
        keys: (base..base + order.len()).collect(),
        tracking: None,
        tracking_after: None,
        limit: None,
    })
}
