//! Splitting a database listing into partitions: the tables in groups of about equal rows (the
//! catalog's estimates), one group per partition, each listed by a cursor that names its
//! tables. Custom queries (advanced rules) are not split.

use connectors_sdk::SourceError;
use serde_json::Value;

use crate::database::dialect::Dialect;
use crate::database::listing::connect;
use crate::database::pager::{CURSOR_VERSION, Position};
use crate::database::settings;

/// The first cursors of at most `max` partitions of a full listing of the configured tables;
/// none when there are fewer than two tables.
pub async fn partitions<D: Dialect>(d: &D, max: usize) -> Result<Vec<Value>, SourceError> {
    let s = d.settings();
    if max < 2 || (!settings::is_wildcard(&s.tables) && s.tables.len() < 2) {
        return Ok(Vec::new());
    }
    let describe = |e: D::Error| d.describe(&e);
    let mut conn = connect(d).await.map_err(describe)?;
    let tables = if settings::is_wildcard(&s.tables) {
        d.all_tables(&mut conn).await.map_err(describe)?
    } else {
        s.tables.clone()
    };
    let mut sizes = Vec::with_capacity(tables.len());
    for table in &tables {
        // A table the catalog does not know (yet) weighs as one row.
        let rows = d.estimated_rows(&mut conn, table).await.ok().flatten();
        sizes.push(rows.unwrap_or(1).max(1));
    }
    D::close(conn).await;
    Ok(groups(&sizes, max)
        .into_iter()
        .map(|group| {
            Position {
                v: CURSOR_VERSION,
                part: Some(group.into_iter().map(|i| tables[i].clone()).collect()),
                ..Position::default()
            }
            .to_value()
        })
        .collect())
}

/// Splits items of `sizes` into at most `max` groups of about equal total size (largest first,
/// each to the lightest group), each group's items in their original order; no empty group.
pub fn groups(sizes: &[u64], max: usize) -> Vec<Vec<usize>> {
    let n = max.min(sizes.len());
    if n < 2 {
        return Vec::new();
    }
    let mut order: Vec<usize> = (0..sizes.len()).collect();
    order.sort_by(|a, b| sizes[*b].cmp(&sizes[*a]).then(a.cmp(b)));
    let mut totals = vec![0u64; n];
    let mut groups = vec![Vec::new(); n];
    for i in order {
        let lightest = (0..n).min_by_key(|g| (totals[*g], *g)).unwrap_or(0);
        totals[lightest] += sizes[i];
        groups[lightest].push(i);
    }
    for g in &mut groups {
        g.sort_unstable();
    }
    groups.retain(|g| !g.is_empty());
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_balance_rows_and_keep_table_order() {
        // One big table alone, the small ones together.
        assert_eq!(groups(&[10, 1000, 20, 30], 2), vec![vec![1], vec![0, 2, 3]]);
        // Unknown sizes (all 1): round robin in listing order.
        assert_eq!(
            groups(&[1, 1, 1, 1, 1], 3),
            vec![vec![0, 3], vec![1, 4], vec![2]]
        );
        // Never more groups than tables, never fewer than two.
        assert_eq!(groups(&[5, 5], 8), vec![vec![0], vec![1]]);
        assert!(groups(&[5], 8).is_empty());
        assert!(groups(&[5, 6, 7], 1).is_empty());
    }
}
