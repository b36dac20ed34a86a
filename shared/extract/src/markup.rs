//! Markup without its tags: HTML and ASPX (the text of the document, scripts and styles left
//! out, block elements on their own lines), XML and SVG (every text node and CDATA section).

use crate::Read;
use crate::collect::Collector;
use crate::text::decode;
use crate::tokens::{Token, entities, tokens};

/// Elements whose content is not text.
const SKIPPED: &[&str] = &["script", "style", "head", "title", "noscript", "template"];

/// Elements that start a new line.
const BLOCKS: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "tr",
    "table",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "section",
    "article",
    "header",
    "footer",
    "blockquote",
    "pre",
    "hr",
    "dt",
    "dd",
    "form",
    "nav",
    "aside",
    "main",
    "body",
    "caption",
    "address",
    "figure",
    "figcaption",
];

/// Elements that separate words.
const CELLS: &[&str] = &["td", "th"];

pub(crate) fn html(bytes: &[u8], out: &mut Collector) -> Read {
    let doc = decode(bytes);
    // The element whose content is skipped (`script`, ...), until its end tag.
    let mut skipping: Option<String> = None;
    for token in tokens(&doc) {
        match token {
            Token::Text(raw) if skipping.is_none() => words(&entities(raw), out)?,
            Token::CData(raw) if skipping.is_none() => words(raw, out)?,
            Token::Open { empty, .. } => {
                let name = token.local_name().to_ascii_lowercase();
                if skipping.is_some() {
                    continue;
                }
                if !empty && SKIPPED.contains(&name.as_str()) {
                    skipping = Some(name);
                } else if BLOCKS.contains(&name.as_str()) {
                    out.newline()?;
                } else if CELLS.contains(&name.as_str()) {
                    out.space()?;
                }
            }
            Token::Close { .. } => {
                let name = token.local_name().to_ascii_lowercase();
                match &skipping {
                    Some(skipped) if *skipped == name => skipping = None,
                    Some(_) => {}
                    None if BLOCKS.contains(&name.as_str()) => out.newline()?,
                    None if CELLS.contains(&name.as_str()) => out.space()?,
                    None => {}
                }
            }
            _ => {}
        }
    }
    Ok(())
}

pub(crate) fn xml(bytes: &[u8], out: &mut Collector) -> Read {
    let doc = decode(bytes);
    for token in tokens(&doc) {
        match token {
            Token::Text(raw) => {
                let text = entities(raw);
                if !text.trim().is_empty() {
                    out.push(text.trim())?;
                }
            }
            Token::CData(raw) => out.push(raw)?,
            Token::Open { .. } | Token::Close { .. } => out.space()?,
        }
    }
    Ok(())
}

/// HTML text: whitespace runs folded into one space (a no-break space is not whitespace).
fn words(text: &str, out: &mut Collector) -> Read {
    let is_space = |c: char| c.is_whitespace() && c != '\u{A0}';
    if text.starts_with(is_space) {
        out.space()?;
    }
    let mut first = true;
    for word in text.split(is_space).filter(|w| !w.is_empty()) {
        if !first {
            out.space()?;
        }
        out.push(word)?;
        first = false;
    }
    if text.ends_with(is_space) && !first {
        out.space()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    fn run(f: fn(&[u8], &mut Collector) -> Read, s: &str) -> String {
        let mut c = Collector::new(0, Instant::now() + Duration::from_secs(5));
        f(s.as_bytes(), &mut c).unwrap();
        c.finish()
    }

    #[test]
    fn html_text_without_scripts_and_with_lines() {
        let page = "<!DOCTYPE html><html><head><title>T</title><style>p{}</style></head>\
            <body><h1>Title &amp; more</h1><p>One <b>two</b>\n  three</p>\
            <script>var x = '<p>';</script><ul><li>a</li><li>b&nbsp;c</li></ul>\
            <table><tr><td>x</td><td>y</td></tr></table>1 < 2</body></html>";
        assert_eq!(
            run(html, page),
            "Title & more\nOne two three\na\nb\u{A0}c\nx y\n1 < 2"
        );
    }

    #[test]
    fn xml_text_nodes_and_cdata() {
        let doc = "<?xml version=\"1.0\"?><!-- c --><r a=\"1>2\"><t>x &lt; y</t>\
            <t><![CDATA[<raw>]]></t><svg:text>z</svg:text></r>";
        assert_eq!(run(xml, doc), "x < y <raw> z");
    }
}
