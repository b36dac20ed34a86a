//! PDF text through pdf-extract (on lopdf), in one pass over the pages: the text of each page
//! goes to the collector when the page ends, so reading stops at the character cap or the
//! deadline between pages. lopdf parses the whole file up front, so the loader trims what text
//! never needs: image streams are emptied as they are parsed (pdf-extract would otherwise run
//! their bytes through the content parser), and with a character cap only the first
//! [`content_budget`] bytes of page-content streams are kept, in object order; what comes after
//! could only add text past the cap. An encrypted PDF is opened with the empty password, as viewers do;
//! one that needs a password gives an error. A PDF that makes the reader panic is contained by
//! [`crate::extract`].

use std::cell::{Cell, RefCell};
use std::io::Write;
use std::rc::Rc;

use pdf_extract::{
    Dictionary, Document, LoadOptions, MediaBox, Object, ObjectId, OutputDev, OutputError,
    PlainTextOutput, Transform, output_doc,
};

use crate::collect::Collector;
use crate::{ExtractError, Read, ReadStop};

pub(crate) fn text(bytes: &[u8], out: &mut Collector) -> Read {
    let bad = |e: &dyn std::fmt::Display| ExtractError::malformed("PDF", e);
    let mut doc = load(bytes, out.max_chars()).map_err(|e| bad(&e))?;
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

thread_local! {
    /// Page-content bytes the loader on this thread may still keep; `None`: no budget.
    static CONTENT_LEFT: Cell<Option<u64>> = const { Cell::new(None) };
}

/// Page-content stream bytes kept per character of the cap: generous (uncompressed text runs
/// at a few bytes per character, compressed at less than one), so a PDF whose text fits under
/// the cap is read whole.
const CONTENT_BYTES_PER_CHAR: u64 = 256;
/// The least budget, whatever the cap.
const MIN_CONTENT_BUDGET: u64 = 16 * 1024 * 1024;

/// How many bytes of page-content streams are kept for a cap of `max_chars` (0: no cap, keep
/// all).
pub(crate) fn content_budget(max_chars: usize) -> Option<u64> {
    (max_chars > 0).then(|| (max_chars as u64 * CONTENT_BYTES_PER_CHAR).max(MIN_CONTENT_BUDGET))
}

fn load(bytes: &[u8], max_chars: usize) -> Result<Document, pdf_extract::Error> {
    CONTENT_LEFT.set(content_budget(max_chars));
    let options = LoadOptions {
        filter: Some(trim),
        ..LoadOptions::default()
    };
    let doc = Document::load_mem_with_options(bytes, options);
    CONTENT_LEFT.set(None);
    doc
}

/// lopdf's object filter (a plain function, hence the thread-local budget): empties image
/// streams, and page-content streams once the budget is spent.
fn trim(id: ObjectId, object: &mut Object) -> Option<(ObjectId, Object)> {
    if let Object::Stream(stream) = object {
        let drop = if is_image(&stream.dict) {
            true
        } else if is_plain_content(&stream.dict) {
            let len = stream.content.len() as u64;
            CONTENT_LEFT.with(|left| match left.get() {
                Some(n) if n < len => {
                    left.set(Some(0));
                    true
                }
                Some(n) => {
                    left.set(Some(n - len));
                    false
                }
                None => false,
            })
        } else {
            false
        };
        if drop {
            stream.content = Vec::new();
            stream.dict.remove(b"Filter");
            stream.dict.remove(b"DecodeParms");
            stream.dict.set("Length", 0);
        }
    }
    // lopdf keeps the object changed in place when it parsed it from the file, and the returned
    // one when it came out of an object stream (where streams never are).
    let returned = match object {
        Object::Stream(_) => Object::Null,
        other => other.clone(),
    };
    Some((id, returned))
}

fn is_image(dict: &Dictionary) -> bool {
    matches!(dict.get(b"Subtype"), Ok(Object::Name(name)) if name == b"Image")
}

/// A stream whose dictionary only says how it is encoded, as page contents are (fonts, forms,
/// images, metadata and cross-reference streams all carry more keys).
fn is_plain_content(dict: &Dictionary) -> bool {
    dict.iter()
        .all(|(key, _)| matches!(key.as_slice(), b"Length" | b"Filter" | b"DecodeParms"))
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

#[cfg(test)]
mod tests {
    use super::*;
    use pdf_extract::Stream;

    fn stream(entries: &[(&str, Object)], len: usize) -> Object {
        let mut dict = Dictionary::new();
        for (k, v) in entries {
            dict.set(*k, v.clone());
        }
        Object::Stream(Stream::new(dict, vec![b'x'; len]))
    }

    fn content_len(o: &Object) -> usize {
        match o {
            Object::Stream(s) => s.content.len(),
            _ => usize::MAX,
        }
    }

    #[test]
    fn images_are_emptied_and_page_contents_kept_within_the_budget() {
        CONTENT_LEFT.set(Some(25));
        let image = &mut stream(&[("Subtype", Object::Name(b"Image".to_vec()))], 100);
        trim((1, 0), image);
        assert_eq!(content_len(image), 0);
        let first = &mut stream(&[("Length", Object::Integer(20))], 20);
        trim((2, 0), first);
        assert_eq!(content_len(first), 20, "within the budget");
        let font = &mut stream(&[("Length1", Object::Integer(20))], 20);
        trim((3, 0), font);
        assert_eq!(content_len(font), 20, "fonts are never dropped");
        let second = &mut stream(&[("Filter", Object::Name(b"FlateDecode".to_vec()))], 20);
        trim((4, 0), second);
        assert_eq!(content_len(second), 0, "past the budget");
        if let Object::Stream(s) = second {
            assert!(s.dict.get(b"Filter").is_err());
        }
        CONTENT_LEFT.set(None);
        let third = &mut stream(&[], 20);
        trim((5, 0), third);
        assert_eq!(content_len(third), 20, "no cap, no budget");
        let dict = &mut Object::Dictionary(Dictionary::new());
        let (_, returned) = trim((6, 0), dict).unwrap();
        assert_eq!(&returned, dict, "objects of object streams come back whole");
    }

    #[test]
    fn the_budget_follows_the_cap() {
        assert_eq!(content_budget(0), None);
        assert_eq!(content_budget(10), Some(MIN_CONTENT_BUDGET));
        assert_eq!(content_budget(1_000_000), Some(256_000_000));
    }
}
