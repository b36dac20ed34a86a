//! What a file is from its first bytes, for content that arrives without a name (the attachment
//! processor's case: Tika detects the type the same way).

use std::io::Cursor;

/// The extension of the reader for `bytes`, or `None` for binary content no reader knows.
pub fn detect(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        return Some(".pdf");
    }
    if bytes.starts_with(b"{\\rtf") {
        return Some(".rtf");
    }
    if bytes.starts_with(b"PK\x03\x04") {
        return zip_kind(bytes);
    }
    if bytes.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        return ole_kind(bytes);
    }
    text_kind(bytes)
}

fn zip_kind(bytes: &[u8]) -> Option<&'static str> {
    let archive = zip::ZipArchive::new(Cursor::new(bytes)).ok()?;
    let names: Vec<String> = archive
        .file_names()
        .filter_map(|n| n.ok().map(|n| n.into_owned()))
        .collect();
    let has = |name: &str| names.iter().any(|n| n == name);
    let has_prefix = |prefix: &str| names.iter().any(|n| n.starts_with(prefix));
    if has("word/document.xml") {
        Some(".docx")
    } else if has("ppt/presentation.xml") {
        Some(".pptx")
    } else if has_prefix("xl/") {
        Some(".xlsx")
    } else if has_prefix("visio/") {
        Some(".vsdx")
    } else if has("content.xml") {
        let mimetype = bytes
            .get(30..120)
            .map(String::from_utf8_lossy)
            .unwrap_or_default();
        if mimetype.contains("spreadsheet") {
            Some(".ods")
        } else {
            Some(".odt")
        }
    } else {
        None
    }
}

fn ole_kind(bytes: &[u8]) -> Option<&'static str> {
    let file = cfb::CompoundFile::open(Cursor::new(bytes)).ok()?;
    if file.is_stream("/WordDocument") {
        Some(".doc")
    } else if file.is_stream("/PowerPoint Document") {
        Some(".ppt")
    } else if file.is_stream("/Workbook") || file.is_stream("/Book") {
        Some(".xls")
    } else if file.is_stream("/__substg1.0_0037001F") || file.is_stream("/__substg1.0_0037001E") {
        Some(".msg")
    } else {
        None
    }
}

/// Text, or markup when it looks like it; `None` when the bytes are binary.
fn text_kind(bytes: &[u8]) -> Option<&'static str> {
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
        Some(".html")
    } else if start.starts_with('<') {
        // Markup without an HTML root: XML, as Tika detects it from its root element.
        Some(".xml")
    } else {
        Some(".txt")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_numbers() {
        assert_eq!(detect(b"%PDF-1.4 ..."), Some(".pdf"));
        assert_eq!(detect(b"{\\rtf1 hi}"), Some(".rtf"));
        assert_eq!(detect(b"  <!DOCTYPE html><p>x"), Some(".html"));
        assert_eq!(detect(b"<?xml version='1.0'?><a/>"), Some(".xml"));
        assert_eq!(detect(b"<a><b>x</b></a>"), Some(".xml"));
        assert_eq!(detect(b"plain words"), Some(".txt"));
        assert_eq!(detect(&[0u8, 1, 2, 3, 4, 5, 6, 7, 0, 0]), None);
    }
}
