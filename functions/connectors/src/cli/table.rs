//! Output: tables for people laid out as the reference's `tabulate` (its default `simple`
//! format: columns two spaces apart, a dashed rule under the headers, numeric columns aligned
//! right), and JSON for scripts.

use serde::Serialize;

use super::error::CliError;

/// `text` (tables and sentences) or `json` (one JSON document on standard output).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Json,
}

/// Prints `value` as pretty JSON on standard output.
pub fn print_json(value: &impl Serialize) -> Result<(), CliError> {
    let text = serde_json::to_string_pretty(value).map_err(|e| CliError::File {
        context: "writing JSON".into(),
        message: e.to_string(),
    })?;
    println!("{text}");
    Ok(())
}

/// Prints `value` as one JSON line on standard output (for streams).
pub fn print_json_line(value: &impl Serialize) -> Result<(), CliError> {
    let text = serde_json::to_string(value).map_err(|e| CliError::File {
        context: "writing JSON".into(),
        message: e.to_string(),
    })?;
    println!("{text}");
    Ok(())
}

fn is_number(cell: &str) -> bool {
    !cell.is_empty() && cell.parse::<f64>().is_ok()
}

fn width(cell: &str) -> usize {
    cell.chars().count()
}

fn pad(cell: &str, width: usize, right: bool) -> String {
    let fill = " ".repeat(width.saturating_sub(self::width(cell)));
    if right {
        format!("{fill}{cell}")
    } else {
        format!("{cell}{fill}")
    }
}

fn line(cells: impl Iterator<Item = String>) -> String {
    cells.collect::<Vec<_>>().join("  ").trim_end().to_string()
}

/// A table with headers: each column as wide as its widest cell and at least its header plus
/// two; numeric columns (every non-empty cell a number) aligned right, headers included.
pub fn render(headers: &[&str], rows: &[Vec<String>]) -> String {
    let columns = headers.len();
    let cell = |row: &Vec<String>, i: usize| row.get(i).cloned().unwrap_or_default();
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .map(|r| width(&cell(r, i)))
                .chain([width(headers[i]) + 2])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let numeric: Vec<bool> = (0..columns)
        .map(|i| {
            let mut cells = rows.iter().map(|r| cell(r, i)).filter(|c| !c.is_empty());
            cells.clone().next().is_some() && cells.all(|c| is_number(&c))
        })
        .collect();
    let mut out = Vec::with_capacity(rows.len() + 2);
    out.push(line(
        (0..columns).map(|i| pad(headers[i], widths[i], numeric[i])),
    ));
    out.push(line(widths.iter().map(|w| "-".repeat(*w))));
    for row in rows {
        out.push(line(
            (0..columns).map(|i| pad(&cell(row, i), widths[i], numeric[i])),
        ));
    }
    out.join("\n")
}

/// A two-column table without headers (the reference's `job view`): a dashed rule above and
/// below, every column as wide as its widest cell.
pub fn render_pairs(pairs: &[(String, String)]) -> String {
    let key_width = pairs.iter().map(|(k, _)| width(k)).max().unwrap_or(0);
    let value_width = pairs.iter().map(|(_, v)| width(v)).max().unwrap_or(0);
    let rule = format!("{}  {}", "-".repeat(key_width), "-".repeat(value_width));
    let mut out = vec![rule.clone()];
    for (k, v) in pairs {
        out.push(line([pad(k, key_width, false), v.clone()].into_iter()));
    }
    out.push(rule);
    out.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_look_like_tabulate_simple() {
        let rows = vec![
            vec!["spam".to_string(), "42".to_string()],
            vec!["eggs".to_string(), "451".to_string()],
            vec!["bacon".to_string(), "0".to_string()],
        ];
        assert_eq!(
            render(&["item", "qty"], &rows),
            "item      qty\n------  -----\nspam       42\neggs      451\nbacon       0"
        );
    }

    #[test]
    fn missing_cells_are_blank_and_text_columns_left() {
        let rows = vec![
            vec!["a".to_string()],
            vec!["b".to_string(), "x".to_string()],
        ];
        assert_eq!(
            render(&["ID", "Status"], &rows),
            "ID    Status\n----  --------\na\nb     x"
        );
    }

    #[test]
    fn pairs_have_rules_above_and_below() {
        let pairs = vec![
            ("job_id".to_string(), "j1".to_string()),
            ("documents_indexed".to_string(), "12".to_string()),
        ];
        assert_eq!(
            render_pairs(&pairs),
            "-----------------  --\njob_id             j1\ndocuments_indexed  12\n-----------------  --"
        );
    }
}
