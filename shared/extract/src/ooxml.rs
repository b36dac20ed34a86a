//! Zip-packaged office documents: Word (DOCX), PowerPoint (PPTX, POTX), Visio (VSDX, VSDM) and
//! OpenDocument (ODT, ODP). Each is a set of XML parts; the text is in known elements, in the
//! parts' order (body, then notes, headers and footers, as Tika appends them).

use crate::collect::Collector;
use crate::tokens::{Token, attr, entities, tokens};
use crate::zipped::Package;
use crate::{Limits, Read};

/// How a vocabulary marks its text.
struct Vocabulary {
    /// Elements whose text is content (`w:t`); empty: all text inside `scope`.
    text: &'static [&'static str],
    /// Elements that end a line when they close (paragraphs).
    paragraph: &'static [&'static str],
    /// Empty elements that stand for a tab, a line break, or spaces (`text:s c="3"`).
    tab: &'static [&'static str],
    line_break: &'static [&'static str],
    spaces: Option<(&'static str, &'static str)>,
    /// Elements that end a cell.
    cell: &'static [&'static str],
    /// Elements whose text is not content (deleted text, field codes).
    skip: &'static [&'static str],
}

const WORD: Vocabulary = Vocabulary {
    text: &["t"],
    paragraph: &["p"],
    tab: &["tab"],
    line_break: &["br", "cr"],
    spaces: None,
    cell: &["tc"],
    skip: &["delText", "instrText"],
};

const DRAWING: Vocabulary = Vocabulary {
    text: &["t"],
    paragraph: &["p"],
    tab: &["tab"],
    line_break: &["br"],
    spaces: None,
    cell: &["tc"],
    skip: &[],
};

const VISIO: Vocabulary = Vocabulary {
    text: &["Text"],
    paragraph: &["Text"],
    tab: &[],
    line_break: &[],
    spaces: None,
    cell: &[],
    skip: &[],
};

const OPEN_DOCUMENT: Vocabulary = Vocabulary {
    text: &[],
    paragraph: &["p", "h"],
    tab: &["tab"],
    line_break: &["line-break"],
    spaces: Some(("s", "text:c")),
    cell: &["table-cell"],
    skip: &["tracked-changes", "annotation"],
};

pub(crate) fn docx(bytes: &[u8], limits: &Limits, out: &mut Collector) -> Read {
    let mut package = Package::open(bytes, "DOCX", limits)?;
    let names = package.names();
    let mut parts = vec!["word/document.xml".to_string()];
    for prefix in [
        "word/footnotes",
        "word/endnotes",
        "word/comments",
        "word/header",
        "word/footer",
    ] {
        parts.extend(numbered(&names, prefix));
    }
    read_parts(&mut package, &parts, &WORD, out)
}

pub(crate) fn pptx(bytes: &[u8], limits: &Limits, out: &mut Collector) -> Read {
    let mut package = Package::open(bytes, "PPTX", limits)?;
    let names = package.names();
    let mut parts = Vec::new();
    for slide in numbered(&names, "ppt/slides/slide") {
        parts.push(slide);
    }
    parts.extend(numbered(&names, "ppt/notesSlides/notesSlide"));
    if parts.is_empty() {
        // A template without slides: its layouts and masters hold the text.
        parts.extend(numbered(&names, "ppt/slideLayouts/slideLayout"));
        parts.extend(numbered(&names, "ppt/slideMasters/slideMaster"));
    }
    read_parts(&mut package, &parts, &DRAWING, out)
}

pub(crate) fn vsdx(bytes: &[u8], limits: &Limits, out: &mut Collector) -> Read {
    let mut package = Package::open(bytes, "VSDX", limits)?;
    let names = package.names();
    let parts = numbered(&names, "visio/pages/page");
    read_parts(&mut package, &parts, &VISIO, out)
}

pub(crate) fn odf(bytes: &[u8], limits: &Limits, out: &mut Collector) -> Read {
    let mut package = Package::open(bytes, "OpenDocument", limits)?;
    read_parts(
        &mut package,
        &["content.xml".to_string()],
        &OPEN_DOCUMENT,
        out,
    )
}

/// The parts named `{prefix}{n}.xml` (or `{prefix}.xml`), in numeric order.
fn numbered(names: &[String], prefix: &str) -> Vec<String> {
    let mut found: Vec<(u64, &String)> = names
        .iter()
        .filter_map(|n| {
            let rest = n.strip_prefix(prefix)?.strip_suffix(".xml")?;
            if rest.is_empty() {
                return Some((0, n));
            }
            rest.parse::<u64>().ok().map(|i| (i, n))
        })
        .collect();
    found.sort();
    found.into_iter().map(|(_, n)| n.clone()).collect()
}

fn read_parts(
    package: &mut Package<'_>,
    parts: &[String],
    vocabulary: &Vocabulary,
    out: &mut Collector,
) -> Read {
    for name in parts {
        out.check_time()?;
        let Some(xml) = package.part(name)? else {
            continue;
        };
        let text = String::from_utf8_lossy(&xml);
        part_text(&text, vocabulary, out)?;
        out.newline()?;
    }
    Ok(())
}

/// The text of one XML part.
fn part_text(xml: &str, v: &Vocabulary, out: &mut Collector) -> Read {
    // Depth inside text elements, and inside skipped ones.
    let mut in_text = 0usize;
    let mut in_skip = 0usize;
    // OpenDocument: text counts only inside the document body.
    let mut in_body = !v.text.is_empty();
    for token in tokens(xml) {
        let local = token.local_name();
        match token {
            Token::Open { empty, attrs, .. } => {
                if local == "body" {
                    in_body = true;
                }
                if v.skip.contains(&local) {
                    in_skip += usize::from(!empty);
                } else if in_skip > 0 {
                } else if v.text.contains(&local) {
                    in_text += usize::from(!empty);
                } else if v.tab.contains(&local) {
                    out.push("\t")?;
                } else if v.line_break.contains(&local) {
                    out.push("\n")?;
                } else if let Some((spaces, count)) = v.spaces
                    && local == spaces
                {
                    let n = attr(attrs, count)
                        .and_then(|c| c.parse().ok())
                        .unwrap_or(1usize);
                    out.push(&" ".repeat(n.min(1000)))?;
                }
            }
            Token::Close { .. } => {
                if v.skip.contains(&local) {
                    in_skip = in_skip.saturating_sub(1);
                } else if in_skip > 0 {
                } else if v.text.contains(&local) {
                    in_text = in_text.saturating_sub(1);
                    if v.paragraph.contains(&local) {
                        out.newline()?;
                    }
                } else if v.paragraph.contains(&local) {
                    out.newline()?;
                } else if v.cell.contains(&local) {
                    out.push("\t")?;
                }
            }
            Token::Text(raw) => {
                let counts = in_skip == 0
                    && if v.text.is_empty() {
                        in_body
                    } else {
                        in_text > 0
                    };
                if counts {
                    out.push(&entities(raw))?;
                }
            }
            Token::CData(raw) => {
                if in_skip == 0 && in_text > 0 {
                    out.push(raw)?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn run(xml: &str, v: &Vocabulary) -> String {
        let mut c = Collector::new(0, Instant::now() + Duration::from_secs(5));
        part_text(xml, v, &mut c).unwrap();
        c.finish()
    }

    #[test]
    fn word_paragraphs_tabs_and_skipped_text() {
        let xml = r#"<w:document><w:body><w:p><w:r><w:t>Hello</w:t></w:r><w:r><w:tab/><w:t xml:space="preserve"> world &amp; co</w:t></w:r></w:p>
            <w:p><w:r><w:delText>gone</w:delText><w:instrText>PAGE</w:instrText><w:t>Second</w:t></w:r></w:p></w:body></w:document>"#;
        assert_eq!(run(xml, &WORD), "Hello\t world & co\nSecond");
    }

    #[test]
    fn open_document_spaces_and_body_only() {
        let xml = r#"<office:document-content><office:font-face-decls><style:font-face style:name="Arial"/></office:font-face-decls>
            <office:body><office:text><text:h>Title</text:h><text:p>a<text:s text:c="3"/>b<text:tab/>c<text:line-break/>d</text:p></office:text></office:body></office:document-content>"#;
        assert_eq!(run(xml, &OPEN_DOCUMENT), "Title\na   b\tc\nd");
    }

    #[test]
    fn numbered_parts_in_numeric_order() {
        let names: Vec<String> = [
            "ppt/slides/slide10.xml",
            "ppt/slides/slide2.xml",
            "ppt/slides/_rels/slide2.xml.rels",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        assert_eq!(
            numbered(&names, "ppt/slides/slide"),
            vec!["ppt/slides/slide2.xml", "ppt/slides/slide10.xml"]
        );
    }
}
