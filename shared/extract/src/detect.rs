//! What a file is from its first bytes, for content that arrives without a name (the attachment
//! processor's case: Tika detects the type the same way).

use std::io::Cursor;

use crate::Format;

/// The reader for `bytes`, or `None` for binary content no reader knows.
pub fn detect(bytes: &[u8]) -> Option<Format> {
    if bytes.starts_with(b"%PDF-") {
        return Some(Format::Pdf);
    }
    if bytes.starts_with(b"{\\rtf") {
        return Some(Format::Rtf);
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return zip_kind(bytes);
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return ole_kind(bytes);
    }
    text_kind(bytes)
}

fn zip_kind(bytes: &[u8]) -> Option<Format> {
    let archive = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let names: Vec<String> = archive
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .collect();
    let has = |name: &str| names.iter().any(|n| n == name);
    let has_prefix = |prefix: &str| names.iter().any(|n| n.starts_with(prefix));
    if has("word/document.xml") {
        Some(Format::Docx)
    } else if has("ppt/presentation.xml") {
        Some(Format::Pptx)
    } else if has_prefix("xl/") {
        Some(Format::Spreadsheet)
    } else if has_prefix("visio/") {
        Some(Format::Vsdx)
    } else if has("content.xml") {
        let mimetype = bytes
            .get(30..120)
            .map(String::from_utf8_lossy)
            .unwrap_or_default();
        if mimetype.contains("spreadsheet") {
            Some(Format::Spreadsheet)
        } else {
            Some(Format::OpenDocument)
        }
    } else {
        None
    }
}

fn ole_kind(bytes: &[u8]) -> Option<Format> {
    let file = cfb::CompoundFile::open(Cursor::new(bytes)).ok()?;
    if file.is_stream("/WordDocument") {
        Some(Format::Doc)
    } else if file.is_stream("/PowerPoint Document") {
        Some(Format::Ppt)
    } else if file.is_stream("/Workbook") || file.is_stream("/Book") {
        Some(Format::Spreadsheet)
    } else if file.is_stream("/__substg1.0_0037001F") || file.is_stream("/__substg1.0_0037001E") {
        Some(Format::Msg)
    } else {
        None
    }
}

/// Text, or markup when it looks like it; `None` when the bytes are binary.
fn text_kind(bytes: &[u8]) -> Option<Format> {
    let head = &bytes[..bytes.len().min(4096)];
    let controls = head
        .iter()
        .filter(|&&b| b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0C))
        .count();
    let utf16 = head.starts_with(&[0xFF, 0xFE]) || head.starts_with(&[0xFE, 0xFF]);
    if controls * 10 > head.len().max(1) && !utf16 {
        return None;
    }
    let start = String::from_utf8_lossy(head)
        .trim_start()
        .to_ascii_lowercase();
    if start.starts_with("<!doctype html") || start.starts_with("<html") || start.contains("<body")
    {
        Some(Format::Html)
    } else if start.starts_with('<') {
        // Markup without an HTML root: XML, as Tika detects it from its root element.
        Some(Format::Xml)
    } else {
        Some(Format::Text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers() {
        assert_eq!(detect(b"%PDF-1.4 ..."), Some(Format::Pdf));
        assert_eq!(detect(b"{\\rtf1 hi}"), Some(Format::Rtf));
        assert_eq!(detect(b"  <!DOCTYPE html><p>x"), Some(Format::Html));
        assert_eq!(detect(b"<?xml version='1.0'?><a/>"), Some(Format::Xml));
        assert_eq!(detect(b"<a><b>x</b></a>"), Some(Format::Xml));
        assert_eq!(detect(b"plain words"), Some(Format::Text));
        assert_eq!(detect(&[0u8, 1, 2, 3, 4, 5, 6, 7, 0, 0]), None);
    }
}
