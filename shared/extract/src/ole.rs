//! Legacy binary Office files, all OLE2 compound files (read with the `cfb` crate):
//!
//! - DOC: the text of the piece table (`Clx` in the table stream), field instructions left out
//!   and Word's control characters turned into line breaks and tabs;
//! - PPT: the text atoms of the `PowerPoint Document` stream, masters left out;
//! - MSG: an Outlook message's subject, sender, recipients and plain-text body.
//!
//! Each reads only what the format says the text is; offsets are checked against the stream,
//! so a corrupt file ends in an error, not a panic.

use std::io::{Cursor, Read as _};

use crate::collect::Collector;
use crate::text::{cp1252, utf16};
use crate::{ExtractError, Read};

type Compound<'a> = cfb::CompoundFile<Cursor<&'a [u8]>>;

fn open<'a>(bytes: &'a [u8], format: &'static str) -> Result<Compound<'a>, ExtractError> {
    cfb::CompoundFile::open(Cursor::new(bytes)).map_err(|e| ExtractError::malformed(format, e))
}

/// A whole stream, or `None` when there is none of that name.
fn stream(
    file: &mut Compound<'_>,
    path: &str,
    format: &'static str,
) -> Result<Option<Vec<u8>>, ExtractError> {
    if !file.is_stream(path) {
        return Ok(None);
    }
    let mut s = file
        .open_stream(path)
        .map_err(|e| ExtractError::malformed(format, e))?;
    let mut out = Vec::new();
    s.read_to_end(&mut out)
        .map_err(|e| ExtractError::malformed(format, e))?;
    Ok(Some(out))
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    b.get(at..at + 2).map(|s| u16::from_le_bytes([s[0], s[1]]))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

pub(crate) fn doc(bytes: &[u8], out: &mut Collector) -> Read {
    const F: &str = "DOC";
    let bad = |why: &str| ExtractError::malformed(F, why);
    let mut file = open(bytes, F)?;
    let word =
        stream(&mut file, "/WordDocument", F)?.ok_or_else(|| bad("no WordDocument stream"))?;
    let flags = u16_at(&word, 0x0A).ok_or_else(|| bad("short FIB"))?;
    if flags & 0x0100 != 0 {
        return Err(bad("the document is encrypted").into());
    }
    let table_name = if flags & 0x0200 != 0 {
        "/1Table"
    } else {
        "/0Table"
    };
    let table = stream(&mut file, table_name, F)?.ok_or_else(|| bad("no table stream"))?;
    let fc_clx = u32_at(&word, 0x01A2).ok_or_else(|| bad("short FIB"))? as usize;
    let lcb_clx = u32_at(&word, 0x01A6).ok_or_else(|| bad("short FIB"))? as usize;
    let clx = table
        .get(fc_clx..fc_clx.saturating_add(lcb_clx))
        .ok_or_else(|| bad("the Clx is outside the table stream"))?;
    // Skip the Prc entries (formatting), to the piece table.
    let mut pos = 0;
    while clx.get(pos) == Some(&0x01) {
        let cb = u16_at(clx, pos + 1).ok_or_else(|| bad("short Prc"))? as usize;
        pos += 3 + cb;
    }
    if clx.get(pos) != Some(&0x02) {
        return Err(bad("no piece table").into());
    }
    let lcb = u32_at(clx, pos + 1).ok_or_else(|| bad("short Pcdt"))? as usize;
    let plc = clx
        .get(pos + 5..pos + 5 + lcb)
        .ok_or_else(|| bad("the piece table is truncated"))?;
    if plc.len() < 4 {
        return Ok(());
    }
    let pieces = (plc.len() - 4) / 12;
    let mut fields = FieldState::default();
    for i in 0..pieces {
        out.check_time()?;
        let start = u32_at(plc, i * 4).unwrap_or(0) as usize;
        let end = u32_at(plc, (i + 1) * 4).unwrap_or(0) as usize;
        let chars = end.saturating_sub(start);
        let fc = u32_at(plc, 4 * (pieces + 1) + i * 8 + 2).unwrap_or(0);
        let text: String = if fc & 0x4000_0000 != 0 {
            let at = ((fc & 0x3FFF_FFFF) / 2) as usize;
            let raw = word
                .get(at..at + chars)
                .ok_or_else(|| bad("a piece is outside the stream"))?;
            raw.iter().map(|&b| cp1252(b)).collect()
        } else {
            let at = fc as usize;
            let raw = word
                .get(at..at + chars * 2)
                .ok_or_else(|| bad("a piece is outside the stream"))?;
            utf16(raw, u16::from_le_bytes)
        };
        for c in text.chars() {
            if let Some(c) = fields.visible(c) {
                out.push_char(c)?;
            }
        }
    }
    Ok(())
}

/// Word's field marks: 0x13 starts a field's instruction, 0x14 starts its shown result, 0x15
/// ends it. Only results are text.
#[derive(Default)]
struct FieldState {
    /// For each open field, whether its instruction part is still being read.
    open: Vec<bool>,
}

impl FieldState {
    fn visible(&mut self, c: char) -> Option<char> {
        match c {
            '\u{13}' => {
                self.open.push(true);
                None
            }
            '\u{14}' => {
                if let Some(top) = self.open.last_mut() {
                    *top = false;
                }
                None
            }
            '\u{15}' => {
                self.open.pop();
                None
            }
            _ if self.open.iter().any(|in_instruction| *in_instruction) => None,
            '\r' | '\u{0B}' | '\u{0C}' => Some('\n'),
            '\u{07}' => Some('\t'),
            '\u{1E}' => Some('-'),
            '\u{01}' | '\u{08}' | '\u{1F}' | '\u{02}' | '\u{05}' => None,
            c => Some(c),
        }
    }
}

pub(crate) fn ppt(bytes: &[u8], out: &mut Collector) -> Read {
    const F: &str = "PPT";
    let mut file = open(bytes, F)?;
    let doc = stream(&mut file, "/PowerPoint Document", F)?
        .ok_or_else(|| ExtractError::malformed(F, "no PowerPoint Document stream"))?;
    let mut pos = 0usize;
    while pos + 8 <= doc.len() {
        out.check_time()?;
        let ver_inst = u16_at(&doc, pos).unwrap_or(0);
        let kind = u16_at(&doc, pos + 2).unwrap_or(0);
        let len = u32_at(&doc, pos + 4).unwrap_or(0) as usize;
        let body_end = pos.saturating_add(8).saturating_add(len);
        if ver_inst & 0x000F == 0x000F {
            // A container: its records follow its header, except the masters' (placeholder
            // text such as "Click to edit Master title style").
            pos = if kind == 0x03F8 { body_end } else { pos + 8 };
            continue;
        }
        let Some(body) = doc.get(pos + 8..body_end) else {
            break;
        };
        match kind {
            0x0FA0 => {
                out.push(&utf16(body, u16::from_le_bytes).replace('\r', "\n"))?;
                out.newline()?;
            }
            0x0FA8 => {
                let text: String = body.iter().map(|&b| cp1252(b)).collect();
                out.push(&text.replace('\r', "\n"))?;
                out.newline()?;
            }
            _ => {}
        }
        pos = body_end;
    }
    Ok(())
}

pub(crate) fn msg(bytes: &[u8], out: &mut Collector) -> Read {
    const F: &str = "MSG";
    let mut file = open(bytes, F)?;
    // Subject, sender, To, Cc, then the body (plain text).
    for tag in ["0037", "0C1A", "0E04", "0E03", "1000"] {
        let unicode = stream(&mut file, &format!("/__substg1.0_{tag}001F"), F)?;
        let text = match unicode {
            Some(raw) => utf16(&raw, u16::from_le_bytes),
            None => match stream(&mut file, &format!("/__substg1.0_{tag}001E"), F)? {
                Some(raw) => raw.iter().map(|&b| cp1252(b)).collect(),
                None => continue,
            },
        };
        let text = text.trim_end_matches('\0');
        if !text.trim().is_empty() {
            out.push(text)?;
            out.newline()?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write as _;
    use std::time::{Duration, Instant};

    /// A compound file with these streams.
    fn compound(streams: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut file = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
        for (path, data) in streams {
            let mut s = file.create_stream(path).unwrap();
            s.write_all(data).unwrap();
        }
        file.flush().unwrap();
        file.into_inner().into_inner()
    }

    fn utf16le(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }

    fn run(f: fn(&[u8], &mut Collector) -> Read, bytes: &[u8]) -> String {
        let mut c = Collector::new(0, Instant::now() + Duration::from_secs(5));
        f(bytes, &mut c).unwrap();
        c.finish()
    }

    #[test]
    fn msg_subject_sender_and_body() {
        let msg = compound(&[
            ("/__substg1.0_0037001F", utf16le("Quarterly numbers")),
            ("/__substg1.0_0C1A001F", utf16le("Ada Lovelace")),
            (
                "/__substg1.0_1000001E",
                b"Body in ANSI, caf\xE9.\0".to_vec(),
            ),
        ]);
        assert_eq!(
            run(super::msg, &msg),
            "Quarterly numbers\nAda Lovelace\nBody in ANSI, café."
        );
    }

    /// One record: header (version/instance, type, length) and body.
    fn record(ver_inst: u16, kind: u16, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        out.extend(ver_inst.to_le_bytes());
        out.extend(kind.to_le_bytes());
        out.extend((body.len() as u32).to_le_bytes());
        out.extend(body);
        out
    }

    #[test]
    fn ppt_text_atoms_without_masters() {
        let master = record(
            0x000F,
            0x03F8,
            &record(0, 0x0FA0, &utf16le("Click to edit Master")),
        );
        let slide_text = [
            record(0, 0x0FA0, &utf16le("Title of the deck")),
            record(0, 0x0FA8, b"Bytes text\rsecond line"),
            record(0, 0x0FD9, b"ignored"),
        ]
        .concat();
        let document = record(
            0x000F,
            0x03E8,
            &[master, record(0x000F, 0x0FF0, &slide_text)].concat(),
        );
        let ppt = compound(&[("/PowerPoint Document", document)]);
        assert_eq!(
            run(super::ppt, &ppt),
            "Title of the deck\nBytes text\nsecond line"
        );
    }

    #[test]
    fn doc_piece_table_text() {
        // A WordDocument stream with a FIB that names the 1Table stream and its Clx, and the
        // text as one UTF-16 piece at 0x800 and one compressed (8-bit) piece at 0x900.
        let first = "Hello \u{13} PAGE \u{14}7\u{15} world\r";
        let second = "caf\u{e9}\u{07}";
        let mut word = vec![0u8; 0xA00];
        word[0x0A..0x0C].copy_from_slice(&0x0200u16.to_le_bytes());
        let text = utf16le(first);
        word[0x800..0x800 + text.len()].copy_from_slice(&text);
        let latin: Vec<u8> = second.chars().map(|c| c as u8).collect();
        word[0x900..0x900 + latin.len()].copy_from_slice(&latin);
        let n1 = first.chars().count() as u32;
        let n2 = second.chars().count() as u32;
        let mut plc = Vec::new();
        for cp in [0, n1, n1 + n2] {
            plc.extend(cp.to_le_bytes());
        }
        for fc in [0x800u32, (0x900 * 2) | 0x4000_0000] {
            plc.extend([0, 0]);
            plc.extend(fc.to_le_bytes());
            plc.extend([0, 0]);
        }
        let mut clx = vec![0x01, 0x02, 0x00, 0xAA, 0xBB, 0x02];
        clx.extend((plc.len() as u32).to_le_bytes());
        clx.extend(&plc);
        let mut table = vec![0u8; 0x40];
        let fc_clx = table.len() as u32;
        table.extend(&clx);
        word[0x01A2..0x01A6].copy_from_slice(&fc_clx.to_le_bytes());
        word[0x01A6..0x01AA].copy_from_slice(&(clx.len() as u32).to_le_bytes());
        let doc = compound(&[("/WordDocument", word), ("/1Table", table)]);
        assert_eq!(run(super::doc, &doc), "Hello 7 world\ncafé");
    }

    #[test]
    fn field_instructions_are_not_text() {
        let mut f = FieldState::default();
        let shown: String = "a\u{13} PAGE \u{14}3\u{15}b\rc\u{07}"
            .chars()
            .filter_map(|c| f.visible(c))
            .collect();
        assert_eq!(shown, "a3b\nc\t");
    }
}
