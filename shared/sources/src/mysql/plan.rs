//! The SQL of MySQL reads: `SELECT *` of a table (or of a wrapped custom query) by keyset
//! chunks of `fetch_size` rows, the keyset condition spelled out for MariaDB's optimizer, with
//! typed parameters; the cursor keeps the typed key values (tracking value first in deltas).

use mysql_async::Value;
use serde_json::Value as Json;

use super::decode::{self, ColInfo, Flavor};
use super::{MySql, ident};
use crate::database::dialect::{Reading, TableScan};
use crate::database::rules::QueryRule;

/// What reading a plan's cells needs.
pub struct Decoding {
    pub infos: Vec<ColInfo>,
    pub flavor: Flavor,
    /// For each parameter of the keyset condition, which key value it takes.
    params: Vec<usize>,
}

/// `WHERE` of a keyset over `columns` (placeholders given): `a >= ? AND (a > ? OR (a = ? AND
/// b > ?))`, spelled out because MariaDB's optimizer does not use an index range for row
/// comparisons. Returns the SQL and, for each placeholder, which key value it takes.
fn keyset(columns: &[String], placeholders: &[String]) -> (String, Vec<usize>) {
    let mut order = vec![0];
    let mut alternatives = Vec::new();
    for i in 0..columns.len() {
        let mut parts = Vec::new();
        for j in 0..i {
            parts.push(format!("{} = {}", columns[j], placeholders[j]));
            order.push(j);
        }
        parts.push(format!("{} > {}", columns[i], placeholders[i]));
        order.push(i);
        alternatives.push(format!("({})", parts.join(" AND ")));
    }
    (
        format!(
            "{} >= {} AND ({})",
            columns[0],
            placeholders[0],
            alternatives.join(" OR ")
        ),
        order,
    )
}

/// The keyset over the columns at `keys` (`q.` before their names in custom queries): its
/// condition, the ORDER BY with the chunk limit, and the decoding of the rows.
fn keyset_over(
    flavor: Flavor,
    columns: &[(String, ColInfo)],
    keys: &[usize],
    qualifier: &str,
    limit: usize,
) -> (String, String, Decoding) {
    let cols: Vec<String> = keys
        .iter()
        .map(|&i| format!("{qualifier}{}", ident(&columns[i].0)))
        .collect();
    let placeholders: Vec<String> = keys.iter().map(|&i| columns[i].1.placeholder()).collect();
    let order_by = format!("ORDER BY {} LIMIT {limit}", cols.join(", "));
    let (condition, params) = keyset(&cols, &placeholders);
    let decoding = Decoding {
        infos: columns.iter().map(|(_, info)| info.clone()).collect(),
        flavor,
        params,
    };
    (condition, order_by, decoding)
}

/// A table's statements, in key `order`; with a delta, in (tracking, key) order from the
/// previous tracking value.
pub fn table_reading(
    flavor: Flavor,
    qualified: &str,
    limit: usize,
    scan: &TableScan<'_, MySql>,
) -> Reading<MySql> {
    let columns = scan.columns;
    let position = |name: &str| columns.iter().position(|(n, _)| n == name);
    let mut keys: Vec<usize> = scan.order.iter().filter_map(|k| position(k)).collect();
    let tracking_col = if scan.delta {
        scan.tracking.and_then(position)
    } else {
        None
    };
    if let Some(t) = tracking_col {
        keys.insert(0, t);
    }
    let (condition, order_by, decoding) = keyset_over(flavor, columns, &keys, "", limit);
    let (first, next) = match tracking_col {
        Some(t) => {
            let since = format!("{} >= {}", ident(&columns[t].0), columns[t].1.placeholder());
            (
                format!("SELECT * FROM {qualified} WHERE {since} {order_by}"),
                format!("SELECT * FROM {qualified} WHERE {since} AND {condition} {order_by}"),
            )
        }
        None => (
            format!("SELECT * FROM {qualified} {order_by}"),
            format!("SELECT * FROM {qualified} WHERE {condition} {order_by}"),
        ),
    };
    Reading {
        decoding,
        first,
        next,
        keys,
        tracking: tracking_col,
        tracking_after: None,
        limit: Some(limit),
    }
}

/// A custom query's statements: wrapped as `SELECT q.* FROM (query) AS q` (as the reference
/// does to read its columns), ordered by the columns at `order`.
pub fn rule_reading(
    flavor: Flavor,
    rule: &QueryRule,
    limit: usize,
    columns: &[(String, ColInfo)],
    order: &[usize],
) -> Reading<MySql> {
    let from = format!("FROM ({}) AS q", rule.bare_query());
    let (condition, order_by, decoding) = keyset_over(flavor, columns, order, "q.", limit);
    Reading {
        decoding,
        first: format!("SELECT q.* {from} {order_by}"),
        next: format!("SELECT q.* {from} WHERE {condition} {order_by}"),
        keys: order.to_vec(),
        tracking: None,
        tracking_after: None,
        limit: Some(limit),
    }
}

/// The parameters resuming after a cursor's key values.
pub fn resume_params(reading: &Reading<MySql>, after: &[Json]) -> Option<Vec<Value>> {
    let values: Vec<Value> = after
        .iter()
        .map(decode::key_from_json)
        .collect::<Option<_>>()?;
    if values.len() != reading.keys.len() {
        return None;
    }
    Some(
        reading
            .decoding
            .params
            .iter()
            .map(|&i| values[i].clone())
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keysets_spelled_out() {
        let (sql, order) = keyset(&["a".into(), "b".into()], &["?".into(), "?".into()]);
        assert_eq!(sql, "a >= ? AND ((a > ?) OR (a = ? AND b > ?))");
        assert_eq!(order, vec![0, 0, 0, 1]);
    }
}
