//! PDF text through pdf-extract (on lopdf), in one pass over the pages: the text of each page
//! goes to the collector when the page ends, so reading stops at the character cap or the
//! deadline between pages. An encrypted PDF is opened with the empty password, as viewers do;
//! one that needs a password gives an error. A PDF that makes the reader panic is contained by
//! [`crate::extract`].

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use pdf_extract::{
    Document, MediaBox, OutputDev, OutputError, PlainTextOutput, Transform, output_doc,
};

use crate::collect::Collector;
use crate::{ExtractError, Read, ReadStop};

pub(crate) fn text(bytes: &[u8], out: &mut Collector) -> Read {
    let bad = |e: &dyn std::fmt::Display| ExtractError::malformed("PDF", e);
    let mut doc = Document::load_mem(bytes).map_err(|e| bad(&e))?;
    if doc.is_encrypted() {
        doc.decrypt("")
            .map_err(|e| bad(&format!("encrypted: {e}")))?;
    }
    let buffer = Shared::default();
    let mut writer = buffer.clone();
    let mut pages = Paged {
        text: PlainTextOutput::new(&mut writer as &mut dyn Write),
        buffer,
        out,
        stop: None,
    };
    let result = output_doc(&doc, &mut pages);
    if let Some(stop) = pages.stop.take() {
        return Err(stop);
    }
    result.map_err(|e| bad(&e))?;
    pages.flush()
}

/// What the text output writes, shared with the page handler that drains it.
#[derive(Clone, Default)]
struct Shared(Rc<RefCell<String>>);

impl Write for Shared {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().push_str(&String::from_utf8_lossy(b));
        Ok(b.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// pdf-extract's plain-text layout, drained into the collector at each page's end.
struct Paged<'w, 'c> {
    text: PlainTextOutput<&'w mut dyn Write>,
    buffer: Shared,
    out: &'c mut Collector,
    /// Why reading stopped early (cap, deadline): the error pdf-extract sees only ends it.
    stop: Option<ReadStop>,
}

impl Paged<'_, '_> {
    fn flush(&mut self) -> Result<(), ReadStop> {
        let page = std::mem::take(&mut *self.buffer.0.borrow_mut());
        for line in page.lines() {
            self.out.push(line.trim_end())?;
            self.out.push("\n")?;
        }
        self.out.newline()?;
        self.out.check_time()
    }
}

impl OutputDev for Paged<'_, '_> {
    fn begin_page(
        &mut self,
        page_num: u32,
        media_box: &MediaBox,
        art_box: Option<(f64, f64, f64, f64)>,
    ) -> Result<(), OutputError> {
        self.text.begin_page(page_num, media_box, art_box)
    }

    fn end_page(&mut self) -> Result<(), OutputError> {
        self.text.end_page()?;
        match self.flush() {
            Ok(()) => Ok(()),
            Err(stop) => {
                self.stop = Some(stop);
                Err(OutputError::IoError(std::io::Error::other(
                    "reading stopped",
                )))
            }
        }
    }

    fn output_character(
        &mut self,
        trm: &Transform,
        width: f64,
        spacing: f64,
        font_size: f64,
        char: &str,
    ) -> Result<(), OutputError> {
        self.text
            .output_character(trm, width, spacing, font_size, char)
    }

    fn begin_word(&mut self) -> Result<(), OutputError> {
        self.text.begin_word()
    }

    fn end_word(&mut self) -> Result<(), OutputError> {
        self.text.end_word()
    }

    fn end_line(&mut self) -> Result<(), OutputError> {
        self.text.end_line()
    }
}
