//! A forgiving markup tokenizer shared by the HTML, XML, Office Open XML and OpenDocument
//! readers: tags, text and CDATA in document order, comments and declarations dropped.
//!
//! Text extraction needs no tree, only the sequence of tags and text; this never recurses and
//! never fails, so a deeply nested or broken document costs one pass. (A full XML reader would
//! reject the half-broken HTML that text extraction must still read, and an HTML5 parser would
//! outweigh everything else in this crate.)

/// One piece of a document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Token<'a> {
    /// `<name attrs>` or `<name attrs/>` (`empty`). `name` keeps its prefix (`w:t`).
    Open {
        name: &'a str,
        attrs: &'a str,
        empty: bool,
    },
    /// `</name>`.
    Close { name: &'a str },
    /// Text as written (character references not decoded).
    Text(&'a str),
    /// The content of a CDATA section.
    CData(&'a str),
}

impl Token<'_> {
    /// The name without its namespace prefix, for `Open` and `Close`.
    pub fn local_name(&self) -> &str {
        let name = match self {
            Token::Open { name, .. } | Token::Close { name } => name,
            _ => return "",
        };
        name.rsplit(':').next().unwrap_or(name)
    }
}

/// The tokens of `doc`.
pub(crate) struct Tokens<'a> {
    rest: &'a str,
}

pub(crate) fn tokens(doc: &str) -> Tokens<'_> {
    Tokens { rest: doc }
}

impl<'a> Iterator for Tokens<'a> {
    type Item = Token<'a>;

    fn next(&mut self) -> Option<Token<'a>> {
        loop {
            if self.rest.is_empty() {
                return None;
            }
            let rest = self.rest;
            if !rest.starts_with('<') {
                // Text up to the next tag (or a stray `<` that opens none).
                let mut end = rest.len();
                let mut from = 0;
                while let Some(i) = rest[from..].find('<') {
                    let at = from + i;
                    if opens_markup(&rest[at..]) {
                        end = at;
                        break;
                    }
                    from = at + 1;
                }
                self.rest = &rest[end..];
                return Some(Token::Text(&rest[..end]));
            }
            if let Some(after) = rest.strip_prefix("<!--") {
                self.rest = after.find("-->").map_or("", |i| &after[i + 3..]);
                continue;
            }
            if let Some(after) = rest.strip_prefix("<![CDATA[") {
                let end = after.find("]]>").unwrap_or(after.len());
                self.rest = after.get(end + 3..).unwrap_or("");
                return Some(Token::CData(&after[..end]));
            }
            if rest.starts_with("<!") || rest.starts_with("<?") {
                self.rest = rest.find('>').map_or("", |i| &rest[i + 1..]);
                continue;
            }
            let Some(end) = tag_end(rest) else {
                // Not a tag after all (`1 < 2`): one character of text.
                self.rest = &rest[1..];
                return Some(Token::Text(&rest[..1]));
            };
            let inner = &rest[1..end];
            self.rest = &rest[end + 1..];
            if let Some(name) = inner.strip_prefix('/') {
                return Some(Token::Close {
                    name: name.trim_end(),
                });
            }
            let empty = inner.ends_with('/');
            let inner = inner.trim_end_matches('/');
            let split = inner
                .find(|c: char| c.is_whitespace())
                .unwrap_or(inner.len());
            return Some(Token::Open {
                name: &inner[..split],
                attrs: &inner[split..],
                empty,
            });
        }
    }
}

/// Whether `s` (at a `<`) starts a tag, a comment, CDATA or a declaration.
fn opens_markup(s: &str) -> bool {
    s.starts_with("<!") || s.starts_with("<?") || tag_end(s).is_some()
}

/// Where the tag that starts `s` ends: its `>` outside quoted attribute values. `None` when
/// `s` does not start a tag.
fn tag_end(s: &str) -> Option<usize> {
    let bytes = s.as_bytes();
    let first = *bytes.get(1)?;
    let starts_name = |b: u8| b.is_ascii_alphabetic() || b == b'_' || b >= 0x80;
    if !(starts_name(first) || (first == b'/' && bytes.get(2).is_some_and(|&b| starts_name(b)))) {
        return None;
    }
    let mut quote = None;
    for (i, &b) in bytes.iter().enumerate().skip(1) {
        match (quote, b) {
            (None, b'"' | b'\'') => quote = Some(b),
            (Some(q), _) if q == b => quote = None,
            (None, b'>') => return Some(i),
            (None, b'<') => return None,
            _ => {}
        }
    }
    None
}

/// The value of attribute `name` (with its prefix, as written) in `attrs`.
pub(crate) fn attr<'a>(attrs: &'a str, name: &str) -> Option<&'a str> {
    let mut rest = attrs;
    while let Some(i) = rest.find(name) {
        let before_ok = i == 0 || rest[..i].ends_with(char::is_whitespace);
        let after = rest[i + name.len()..].trim_start();
        if before_ok && let Some(value) = after.strip_prefix('=') {
            let value = value.trim_start();
            let quote = value.chars().next()?;
            if quote == '"' || quote == '\'' {
                let body = &value[1..];
                return body.find(quote).map(|end| &body[..end]);
            }
        }
        rest = &rest[i + name.len()..];
    }
    None
}

/// Decodes character references: numeric ones, XML's five, and the common HTML names.
pub(crate) fn entities(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains('&') {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest[1..]
            .find(';')
            .filter(|&e| e <= 10)
            .and_then(|e| entity(&rest[1..e + 1]).map(|c| (c, e + 2)));
        match decoded {
            Some((c, consumed)) => {
                out.push(c);
                rest = &rest[consumed..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    std::borrow::Cow::Owned(out)
}

fn entity(name: &str) -> Option<char> {
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse().ok()?,
        };
        return char::from_u32(code);
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => '\u{A0}',
        "copy" => '©',
        "reg" => '®',
        "trade" => '™',
        "hellip" => '…',
        "mdash" => '—',
        "ndash" => '–',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "laquo" => '«',
        "raquo" => '»',
        "bull" => '•',
        "middot" => '·',
        "euro" => '€',
        "pound" => '£',
        "yen" => '¥',
        "cent" => '¢',
        "sect" => '§',
        "deg" => '°',
        "plusmn" => '±',
        "times" => '×',
        "divide" => '÷',
        "eacute" => 'é',
        "egrave" => 'è',
        "ecirc" => 'ê',
        "agrave" => 'à',
        "aacute" => 'á',
        "acirc" => 'â',
        "auml" => 'ä',
        "ouml" => 'ö',
        "uuml" => 'ü',
        "Auml" => 'Ä',
        "Ouml" => 'Ö',
        "Uuml" => 'Ü',
        "szlig" => 'ß',
        "ccedil" => 'ç',
        "ntilde" => 'ñ',
        "iacute" => 'í',
        "oacute" => 'ó',
        "uacute" => 'ú',
        "Eacute" => 'É',
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_text_and_cdata() {
        let t: Vec<Token<'_>> =
            tokens("<?xml?><!-- c --><a x=\"1>2\">1 < 2<b/><![CDATA[<r>]]></a>").collect();
        assert_eq!(
            t,
            vec![
                Token::Open {
                    name: "a",
                    attrs: " x=\"1>2\"",
                    empty: false
                },
                Token::Text("1 < 2"),
                Token::Open {
                    name: "b",
                    attrs: "",
                    empty: true
                },
                Token::CData("<r>"),
                Token::Close { name: "a" },
            ]
        );
        assert_eq!(attr(" text:c=\"3\" b='x'", "text:c"), Some("3"));
        assert_eq!(attr(" b='x'", "b"), Some("x"));
        assert_eq!(
            entities("a &amp; b &#x41;&#66; &bogus; &"),
            "a & b AB &bogus; &"
        );
    }
}
