//! Spreadsheets (XLS, XLSX, XLSM, XLSB, ODS) through calamine: each sheet's name on a line,
//! then its rows, cells separated by tabs, as Tika lays a workbook out.

use std::io::Cursor;

use calamine::{Data, Reader};

use crate::collect::Collector;
use crate::{ExtractError, Limits, Read};

pub(crate) fn workbook(bytes: &[u8], limits: &Limits, out: &mut Collector) -> Read {
    if bytes.starts_with(b"PK") {
        // A zip package: calamine unpacks whole parts, so check what they declare first.
        let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
            .map_err(|e| ExtractError::malformed("spreadsheet", e))?;
        let mut total: u64 = 0;
        for i in 0..archive.len() {
            let file = archive
                .by_index_raw(i)
                .map_err(|e| ExtractError::malformed("spreadsheet", e))?;
            total = total.saturating_add(file.size());
        }
        if total > limits.max_unpacked_bytes {
            return Err(ExtractError::TooLarge(limits.max_unpacked_bytes).into());
        }
    }
    let mut book = calamine::open_workbook_auto_from_rs(Cursor::new(bytes))
        .map_err(|e| ExtractError::malformed("spreadsheet", e))?;
    for name in book.sheet_names() {
        out.check_time()?;
        let range = match book.worksheet_range(&name) {
            Ok(r) => r,
            Err(e) => {
                tracing::debug!(sheet = %name, error = %e, "sheet skipped");
                continue;
            }
        };
        out.newline()?;
        out.push(&name)?;
        out.newline()?;
        for row in range.rows() {
            let mut first = true;
            for cell in row {
                if !first {
                    out.push("\t")?;
                }
                first = false;
                match cell {
                    Data::Empty => {}
                    Data::String(s) => out.push(s)?,
                    Data::Bool(b) => out.push(if *b { "TRUE" } else { "FALSE" })?,
                    other => out.push(&other.to_string())?,
                }
            }
            out.newline()?;
        }
    }
    Ok(())
}
