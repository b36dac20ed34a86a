//! Text from files, in-process, in pure Rust: what Elasticsearch's attachment processor (Tika)
//! gives the connectors' `body`, without Tika.
//!
//! - [`extract`] picks a reader by the file's extension (the reference's
//!   `TIKA_SUPPORTED_FILETYPES`, [`SUPPORTED_EXTENSIONS`]) and returns the text;
//!   [`extract_detected`] picks it from the bytes. Both are synchronous and CPU-bound: callers
//!   on an async runtime run them on its blocking pool.
//! - [`Limits`] bound every file: the characters collected (the attachment processor's
//!   `indexed_chars`), the bytes unpacked from archives (zip bombs), and the time spent.
//!   A reader that panics on a hostile file is contained: the file yields an error, never a
//!   crash.
//! - [`clean_body`] applies the `search-default-ingestion` pipeline's rules to the text: U+FFFD
//!   removed, whitespace squeezed when `reduce_whitespace` is set.
//!
//! Formats: plain text and source files; HTML, ASPX, XML and SVG (their text, without tags);
//! DOCX, PPTX, POTX, VSDX, VSDM (Office Open XML); ODT (OpenDocument); XLS, XLSX, XLSM, XLSB
//! (spreadsheets); PDF; RTF; DOC and PPT (legacy binary Office); MSG (Outlook). VSD (legacy
//! binary Visio) has no reader: such files are indexed without body.

mod collect;
mod detect;
mod markup;
mod ole;
mod ooxml;
mod pdf;
mod rtf;
mod sheets;
mod text;
mod tokens;
mod zipped;

use std::time::{Duration, Instant};

use collect::Collector;
pub use detect::detect;

/// The reference's `TIKA_SUPPORTED_FILETYPES`: the extensions whose content is downloaded and
/// extracted. Compared as the reference does: exactly, with the dot (`.PDF` is not `.pdf`).
pub const SUPPORTED_EXTENSIONS: &[&str] = &[
    ".txt",
    ".py",
    ".rst",
    ".html",
    ".markdown",
    ".json",
    ".xml",
    ".csv",
    ".md",
    ".ppt",
    ".rtf",
    ".docx",
    ".odt",
    ".xls",
    ".xlsx",
    ".rb",
    ".paper",
    ".sh",
    ".pptx",
    ".pdf",
    ".doc",
    ".aspx",
    ".xlsb",
    ".xlsm",
    ".tsv",
    ".svg",
    ".msg",
    ".potx",
    ".vsd",
    ".vsdx",
    ".vsdm",
];

/// The attachment processor's default `indexed_chars`.
pub const DEFAULT_MAX_CHARS: usize = 100_000;

/// The extension of a file name as Python's `os.path.splitext` gives it: from the last dot of
/// the last component, with the dot; empty when there is none (or the name starts with it).
pub fn extension(file_name: &str) -> &str {
    let base = file_name.rsplit(['/', '\\']).next().unwrap_or(file_name);
    let trimmed = base.trim_start_matches('.');
    match trimmed.rfind('.') {
        Some(i) => &trimmed[i..],
        None => "",
    }
}

/// Whether the reference downloads and extracts a file of this name.
pub fn is_supported(file_name: &str) -> bool {
    SUPPORTED_EXTENSIONS.contains(&extension(file_name))
}

/// What one file may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Characters of text to collect; reading stops there (0: no cap).
    pub max_chars: usize,
    /// Bytes a reader may unpack from an archive or a compressed stream, all parts together.
    pub max_unpacked_bytes: u64,
    /// Time one file may take.
    pub timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_chars: DEFAULT_MAX_CHARS,
            max_unpacked_bytes: 512 * 1024 * 1024,
            timeout: Duration::from_secs(60),
        }
    }
}

/// Why a file gave no text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    #[error("no text reader for files like '{0}'")]
    Unsupported(String),
    #[error("malformed {format} file: {reason}")]
    Malformed {
        format: &'static str,
        reason: String,
    },
    #[error("the file unpacks to more than {0} bytes")]
    TooLarge(u64),
    #[error("extraction took longer than {0:?}")]
    TimedOut(Duration),
    #[error("the {format} reader failed on this file: {reason}")]
    Panicked {
        format: &'static str,
        reason: String,
    },
}

impl ExtractError {
    pub(crate) fn malformed(format: &'static str, reason: impl ToString) -> Self {
        ExtractError::Malformed {
            format,
            reason: reason.to_string(),
        }
    }
}

/// The text of `bytes`, a file named `file_name`, read by the reader of its extension (the
/// extension is matched without regard to case here; whether to download at all is
/// [`is_supported`]'s question). Panics of a reader are caught and reported as errors.
pub fn extract(bytes: &[u8], file_name: &str, limits: &Limits) -> Result<String, ExtractError> {
    let format = Format::of_extension(extension(file_name))
        .ok_or_else(|| ExtractError::Unsupported(file_name.into()))?;
    extract_as(format, bytes, limits)
}

/// [`extract`] for content without a name: the reader is chosen by [`detect`]ing the bytes.
pub fn extract_detected(bytes: &[u8], limits: &Limits) -> Result<String, ExtractError> {
    let format = detect(bytes).ok_or_else(|| ExtractError::Unsupported("binary content".into()))?;
    extract_as(format, bytes, limits)
}

/// Runs the reader of `format` within `limits`, its panics contained.
fn extract_as(format: Format, bytes: &[u8], limits: &Limits) -> Result<String, ExtractError> {
    let deadline = Instant::now() + limits.timeout;
    let mut out = Collector::new(limits.max_chars, deadline);
    let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        format.read(bytes, limits, &mut out)
    }));
    match run {
        Ok(Ok(())) | Ok(Err(ReadStop::Full)) => Ok(out.finish()),
        Ok(Err(ReadStop::Error(e))) => Err(e),
        Ok(Err(ReadStop::TimedOut)) => Err(ExtractError::TimedOut(limits.timeout)),
        Err(panic) => Err(ExtractError::Panicked {
            format: format.name(),
            reason: panic_text(panic.as_ref()),
        }),
    }
}

/// A reader of one family of files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Html,
    Xml,
    Docx,
    Pptx,
    Vsdx,
    OpenDocument,
    Spreadsheet,
    Pdf,
    Rtf,
    Doc,
    Ppt,
    Msg,
}

impl Format {
    /// The reader of files with this extension (with its dot, any case).
    pub fn of_extension(ext: &str) -> Option<Format> {
        Some(match ext.to_ascii_lowercase().as_str() {
            ".txt" | ".py" | ".rst" | ".markdown" | ".json" | ".csv" | ".md" | ".rb" | ".paper"
            | ".sh" | ".tsv" => Format::Text,
            ".html" | ".htm" | ".aspx" | ".xhtml" => Format::Html,
            ".xml" | ".svg" => Format::Xml,
            ".docx" | ".docm" | ".dotx" => Format::Docx,
            ".pptx" | ".potx" | ".ppsx" | ".pptm" => Format::Pptx,
            ".vsdx" | ".vsdm" => Format::Vsdx,
            ".odt" | ".odp" => Format::OpenDocument,
            ".xls" | ".xlsx" | ".xlsm" | ".xlsb" | ".ods" => Format::Spreadsheet,
            ".pdf" => Format::Pdf,
            ".rtf" => Format::Rtf,
            ".doc" => Format::Doc,
            ".ppt" => Format::Ppt,
            ".msg" => Format::Msg,
            _ => return None,
        })
    }

    /// The name errors use.
    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Html => "HTML",
            Format::Xml => "XML",
            Format::Docx => "DOCX",
            Format::Pptx => "PPTX",
            Format::Vsdx => "VSDX",
            Format::OpenDocument => "OpenDocument",
            Format::Spreadsheet => "spreadsheet",
            Format::Pdf => "PDF",
            Format::Rtf => "RTF",
            Format::Doc => "DOC",
            Format::Ppt => "PPT",
            Format::Msg => "MSG",
        }
    }

    fn read(self, bytes: &[u8], limits: &Limits, out: &mut Collector) -> Read {
        match self {
            Format::Text => text::plain(bytes, out),
            Format::Html => markup::html(bytes, out),
            Format::Xml => markup::xml(bytes, out),
            Format::Docx => ooxml::docx(bytes, limits, out),
            Format::Pptx => ooxml::pptx(bytes, limits, out),
            Format::Vsdx => ooxml::vsdx(bytes, limits, out),
            Format::OpenDocument => ooxml::odf(bytes, limits, out),
            Format::Spreadsheet => sheets::workbook(bytes, limits, out),
            Format::Pdf => pdf::text(bytes, out),
            Format::Rtf => rtf::text(bytes, out),
            Format::Doc => ole::doc(bytes, out),
            Format::Ppt => ole::ppt(bytes, out),
            Format::Msg => ole::msg(bytes, out),
        }
    }
}

/// How a reader stopped early.
#[derive(Debug)]
pub(crate) enum ReadStop {
    /// The character cap is reached: the text so far is the result.
    Full,
    TimedOut,
    Error(ExtractError),
}

impl From<ExtractError> for ReadStop {
    fn from(e: ExtractError) -> Self {
        ReadStop::Error(e)
    }
}

pub(crate) type Read = Result<(), ReadStop>;

fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "panic".to_string())
}

/// The `search-default-ingestion` pipeline's rules for `body`: U+FFFD removed, and with
/// `reduce_whitespace` every run of whitespace made one space and the ends trimmed.
pub fn clean_body(text: &str, reduce_whitespace: bool) -> String {
    let stripped = text.replace('\u{FFFD}', "");
    if reduce_whitespace {
        squeeze_whitespace(&stripped)
    } else {
        stripped
    }
}

/// The pipeline's `gsub \s+ -> " "` and `trim`: runs of ASCII whitespace made one space, the
/// ends trimmed.
pub fn squeeze_whitespace(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split(is_java_whitespace).filter(|w| !w.is_empty()) {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Java regex `\s`: `[ \t\n\x0B\f\r]` (ASCII only, as the pipeline's `gsub` matches it).
fn is_java_whitespace(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\u{0B}' | '\u{0C}' | '\r')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extensions_as_python_splits_them() {
        assert_eq!(extension("/a/b/report.PDF"), ".PDF");
        assert_eq!(extension("archive.tar.gz"), ".gz");
        assert_eq!(extension(".bashrc"), "");
        assert_eq!(extension("dir.d/README"), "");
        assert!(is_supported("notes.txt"));
        assert!(!is_supported("notes.TXT"));
        assert!(!is_supported("image.png"));
    }

    #[test]
    fn body_rules_follow_the_pipeline() {
        assert_eq!(clean_body("a\u{FFFD}b  \n c ", false), "ab  \n c ");
        assert_eq!(clean_body("  a\u{FFFD}b  \n\t c ", true), "ab c");
        // Non-ASCII spaces are not `\s` for the pipeline.
        assert_eq!(clean_body("a\u{A0}b", true), "a\u{A0}b");
    }

    #[test]
    fn broken_files_are_errors_not_crashes() {
        let limits = Limits::default();
        for (bytes, name) in [
            (&b"%PDF-1.7\n1 0 obj <<"[..], "x.pdf"),
            (&b"PK\x03\x04garbage"[..], "x.docx"),
            (&b"\xD0\xCF\x11\xE0 not really"[..], "x.doc"),
            (&b"not rtf"[..], "x.rtf"),
            (&b"PK\x03\x04garbage"[..], "x.xlsx"),
        ] {
            let r = extract(bytes, name, &limits);
            assert!(
                matches!(
                    r,
                    Err(ExtractError::Malformed { .. } | ExtractError::Panicked { .. })
                ),
                "{name}: {r:?}"
            );
        }
        assert!(matches!(
            extract(b"x", "x.png", &limits),
            Err(ExtractError::Unsupported(_))
        ));
    }
}
