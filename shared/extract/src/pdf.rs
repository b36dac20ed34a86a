//! PDF text through pdf-extract (on lopdf): the text of every page, in page order. A PDF that
//! makes the reader panic is contained by [`crate::extract`].

use crate::collect::Collector;
use crate::{ExtractError, Read};

pub(crate) fn text(bytes: &[u8], out: &mut Collector) -> Read {
    let text =
        pdf_extract::extract_text_from_mem(bytes).map_err(|e| ExtractError::malformed("PDF", e))?;
    for line in text.lines() {
        out.push(line.trim_end())?;
        out.push("\n")?;
    }
    Ok(())
}
