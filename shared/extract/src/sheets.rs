//! Spreadsheets (XLS, XLSX, XLSM, XLSB, ODS) through calamine: each sheet's name on a line,
//! then its rows, cells separated by tabs, as Tika lays a workbook out.

use std::io::Cursor;

use calamine::{Data, Reader, Xlsx};

use crate::collect::Collector;
use crate::{ExtractError, Limits, Read, ReadStop};

pub(crate) fn workbook(bytes: &[u8], limits: &Limits, out: &mut Collector) -> Read {
    if bytes.starts_with(b"PK") {
        // A zip package. Worksheets of an XLSX are streamed cell by cell (reading stops at the
        // character cap, so a huge sheet costs only what is kept); every other part calamine
        // unpacks whole, so those are checked against the budget first.
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| ExtractError::malformed("spreadsheet", e))?;
        let mut total: u64 = 0;
        let mut xml_workbook = false;
        for i in 0..archive.len() {
            let file = archive
                .by_index_raw(i)
                .map_err(|e| ExtractError::malformed("spreadsheet", e))?;
            let name = file.name().unwrap_or_default().to_string();
            xml_workbook |= name == "xl/workbook.xml";
            if !name.starts_with("xl/worksheets/") {
                total = total.saturating_add(file.size());
            }
        }
        if total > limits.max_unpacked_bytes {
            return Err(ExtractError::TooLarge(limits.max_unpacked_bytes).into());
        }
        if xml_workbook {
            return streamed(bytes, out);
        }
    }
    let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes))
        .map_err(|e| ExtractError::malformed("spreadsheet", e))?;
    for name in book.sheet_names() {
        let Some(range) = sheet(&name, book.worksheet_range(&name), out)? else {
            continue;
        };
        for row in range.rows() {
            let mut first = true;
            for cell in row {
                if !first {
                    out.push("\t")?;
                }
                first = false;
                write_cell(cell, out)?;
            }
            out.newline()?;
        }
    }
    Ok(())
}

/// An XLSX workbook, sheet by sheet, its cells streamed in order.
fn streamed(bytes: &[u8], out: &mut Collector) -> Read {
    let bad = |e: calamine::XlsxError| ExtractError::malformed("spreadsheet", e);
    let mut book: Xlsx<_> = Xlsx::new(Cursor::new(bytes)).map_err(bad)?;
    for name in book.sheet_names() {
        let Some(mut cells) = sheet(&name, book.worksheet_cells_reader(&name), out)? else {
            continue;
        };
        let mut row = None;
        let mut col = 0;
        while let Some(cell) = cells.next_cell().map_err(bad)? {
            let (r, c) = cell.get_position();
            if row != Some(r) {
                if row.is_some() {
                    out.newline()?;
                }
                row = Some(r);
                col = 0;
            }
            // Tabs up to this cell's column, as a full row would have them.
            while col < c {
                out.push("\t")?;
                col += 1;
            }
            let value: Data = cell.get_value().clone().into();
            write_cell(&value, out)?;
        }
        out.newline()?;
    }
    Ok(())
}

fn write_cell(cell: &Data, out: &mut Collector) -> Read {
    match cell {
        Data::Empty => Ok(()),
        Data::String(s) => out.push(s),
        Data::Bool(b) => out.push(if *b { "TRUE" } else { "FALSE" }),
        other => out.push(&other.to_string()),
    }
}

/// A sheet that opened: its name on its own line; one that did not is skipped (logged).
fn sheet<T, E: std::fmt::Display>(
    name: &str,
    opened: Result<T, E>,
    out: &mut Collector,
) -> Result<Option<T>, ReadStop> {
    out.check_time()?;
    match opened {
        Ok(sheet) => {
            out.newline()?;
            out.push(name)?;
            out.newline()?;
            Ok(Some(sheet))
        }
        Err(e) => {
            tracing::debug!(sheet = %name, error = %e, "sheet skipped");
            Ok(None)
        }
    }
}
