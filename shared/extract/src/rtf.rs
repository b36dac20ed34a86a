//! RTF: the document's text, its control words interpreted for what text needs (paragraphs,
//! tabs, line breaks, `\'hh` and `\uN` characters) and the groups that hold no text (font and
//! colour tables, style sheets, document information, pictures, `\*` destinations) skipped.
//!
//! Written here: RTF's text layer is a small, fully specified grammar, and the crates that read
//! RTF either build a styled document model this does not need or are unmaintained. It keeps
//! an explicit stack, so nesting depth costs no recursion.

use crate::collect::Collector;
use crate::text::cp1252;
use crate::{ExtractError, Read};

/// Destinations whose content is not text.
const SKIPPED: &[&str] = &[
    "fonttbl",
    "colortbl",
    "stylesheet",
    "info",
    "pict",
    "object",
    "header",
    "footer",
    "headerl",
    "headerr",
    "footerl",
    "footerr",
    "listtable",
    "listoverridetable",
    "rsidtbl",
    "generator",
    "xmlnstbl",
    "themedata",
    "colorschememapping",
    "datastore",
    "latentstyles",
    "filetbl",
    "revtbl",
    "pgdsctbl",
    "fldinst",
    "bkmkstart",
    "bkmkend",
    "field-inst",
];

#[derive(Clone, Copy)]
struct Group {
    skip: bool,
    /// `\ucN`: characters that stand in for each `\u` character.
    uc: usize,
}

pub(crate) fn text(bytes: &[u8], out: &mut Collector) -> Read {
    if !bytes.starts_with(b"{\\rtf") {
        return Err(ExtractError::malformed("RTF", "no {\\rtf header").into());
    }
    let mut stack: Vec<Group> = Vec::new();
    let mut group = Group { skip: false, uc: 1 };
    // Fallback characters still to drop after a `\u`.
    let mut drop = 0usize;
    let mut i = 0;
    let mut line = String::new();
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b'{' => {
                stack.push(group);
                i += 1;
                // `{\*\dest ...}`: an optional destination, not text.
                if bytes[i..].starts_with(b"\\*") {
                    group.skip = true;
                }
            }
            b'}' => {
                group = stack.pop().unwrap_or(group);
                i += 1;
            }
            b'\\' => {
                let (word, param, next) = control(bytes, i + 1);
                i = next;
                if drop > 0 && !word.is_empty() && word != "'" {
                    drop = 0;
                }
                match word.as_str() {
                    "'" => {
                        // `\'hh`: a byte of the document's code page.
                        let hex = bytes
                            .get(i..i + 2)
                            .and_then(|h| std::str::from_utf8(h).ok());
                        if let Some(v) = hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                            if drop > 0 {
                                drop -= 1;
                            } else if !group.skip {
                                line.push(cp1252(v));
                            }
                        }
                        i += 2;
                    }
                    "u" => {
                        if let Some(n) = param {
                            let code = if n < 0 { n + 65536 } else { n } as u32;
                            if !group.skip {
                                line.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                            }
                            drop = group.uc;
                        }
                    }
                    "uc" => group.uc = param.unwrap_or(1).max(0) as usize,
                    w if SKIPPED.contains(&w) => group.skip = true,
                    w => {
                        let piece = match w {
                            "par" | "line" | "sect" | "page" | "row" => "\n",
                            "tab" | "cell" => "\t",
                            "~" => "\u{A0}",
                            "emdash" => "—",
                            "endash" => "–",
                            "lquote" => "‘",
                            "rquote" => "’",
                            "ldblquote" => "“",
                            "rdblquote" => "”",
                            "bullet" => "•",
                            "\\" | "{" | "}" => w,
                            _ => "",
                        };
                        if !group.skip {
                            line.push_str(piece);
                        }
                    }
                }
            }
            b'\r' | b'\n' => i += 1,
            _ => {
                // Plain text up to the next special character.
                let end = bytes[i..]
                    .iter()
                    .position(|c| matches!(c, b'{' | b'}' | b'\\' | b'\r' | b'\n'))
                    .map_or(bytes.len(), |p| i + p);
                for &c in &bytes[i..end] {
                    if drop > 0 {
                        drop -= 1;
                    } else if !group.skip {
                        line.push(cp1252(c));
                    }
                }
                i = end;
            }
        }
        if line.len() > 4096 {
            out.push(&line)?;
            line.clear();
        }
    }
    out.push(&line)
}

/// The control word (or symbol) at `i` (after its backslash), its numeric parameter, and where
/// the text after it starts (a space that ends the word is consumed).
fn control(bytes: &[u8], i: usize) -> (String, Option<i64>, usize) {
    let Some(&first) = bytes.get(i) else {
        return (String::new(), None, i);
    };
    if !first.is_ascii_alphabetic() {
        return ((first as char).to_string(), None, i + 1);
    }
    let mut j = i;
    while j < bytes.len() && bytes[j].is_ascii_alphabetic() && j - i < 32 {
        j += 1;
    }
    let word = String::from_utf8_lossy(&bytes[i..j]).into_owned();
    let mut k = j;
    if k < bytes.len() && bytes[k] == b'-' {
        k += 1;
    }
    while k < bytes.len() && bytes[k].is_ascii_digit() && k - j < 12 {
        k += 1;
    }
    let param = std::str::from_utf8(&bytes[j..k])
        .ok()
        .and_then(|p| p.parse().ok());
    if k < bytes.len() && bytes[k] == b' ' {
        k += 1;
    }
    (word, param, k)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn text_without_tables_with_escapes() {
        let rtf = br"{\rtf1\ansi\deff0{\fonttbl{\f0 Times;}}{\colortbl;\red0;}{\*\generator W;}
{\info{\title T}}\pard Hello \b world\b0 !\par caf\'e9 \u8364? and \{braces\}\tab end\par}";
        let mut c = Collector::new(0, Instant::now() + Duration::from_secs(5));
        text(rtf, &mut c).unwrap();
        assert_eq!(c.finish(), "Hello world!\ncafé € and {braces}\tend");
    }
}
