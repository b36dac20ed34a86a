//! The message of the `JSONDecodeError` that Python's `json.loads` raises (CPython 3.11's C
//! scanner, which the reference runs), so that the configuration's JSON fields fail with the
//! reference's words and positions: `Expecting ',' delimiter: line 1 column 8 (char 7)`.
//!
//! Only the first error is found, as Python does; positions count characters, not bytes.

/// Python's recursion limit less the frames around the decoder, about where CPython gives up.
const MAX_DEPTH: usize = 990;

/// What stopped the scan: a decode error at a position, or (for nesting past Python's recursion
/// limit) a message of its own.
enum Stop {
    /// `StopIteration(idx)`: no value starts here (`Expecting value`).
    NoValue(usize),
    Error(&'static str, usize),
    Recursion(&'static str),
}

struct Scanner {
    s: Vec<char>,
}

fn is_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

/// `None` when `json.loads(text)` succeeds in Python, else its error message.
pub fn loads_error(text: &str) -> Option<String> {
    let scanner = Scanner {
        s: text.chars().collect(),
    };
    let (message, pos) = match scanner.decode() {
        Ok(()) => return None,
        Err(Stop::NoValue(pos)) => ("Expecting value", pos),
        Err(Stop::Error(message, pos)) => (message, pos),
        Err(Stop::Recursion(message)) => return Some(message.to_string()),
    };
    let before = &scanner.s[..pos.min(scanner.s.len())];
    let line = before.iter().filter(|c| **c == '\n').count() + 1;
    let column = match before.iter().rposition(|c| *c == '\n') {
        Some(newline) => pos - newline,
        None => pos + 1,
    };
    Some(format!(
        "{message}: line {line} column {column} (char {pos})"
    ))
}

impl Scanner {
    fn at(&self, i: usize) -> Option<char> {
        self.s.get(i).copied()
    }

    fn skip_ws(&self, mut i: usize) -> usize {
        while self.at(i).is_some_and(is_ws) {
            i += 1;
        }
        i
    }

    fn decode(&self) -> Result<(), Stop> {
        if self.at(0) == Some('\u{feff}') {
            return Err(Stop::Error(
                "Unexpected UTF-8 BOM (decode using utf-8-sig)",
                0,
            ));
        }
        let start = self.skip_ws(0);
        let end = self.value(start, 0)?;
        let end = self.skip_ws(end);
        if end != self.s.len() {
            return Err(Stop::Error("Extra data", end));
        }
        Ok(())
    }

    fn matches(&self, i: usize, word: &str) -> bool {
        word.chars()
            .enumerate()
            .all(|(k, c)| self.at(i + k) == Some(c))
    }

    /// `scan_once`: the end of the value that starts at `i`.
    fn value(&self, i: usize, depth: usize) -> Result<usize, Stop> {
        let Some(c) = self.at(i) else {
            return Err(Stop::NoValue(i));
        };
        match c {
            '"' => return self.string(i + 1),
            '{' => {
                if depth >= MAX_DEPTH {
                    return Err(Stop::Recursion(
                        "maximum recursion depth exceeded while decoding a JSON object from a unicode string",
                    ));
                }
                return self.object(i + 1, depth + 1);
            }
            '[' => {
                if depth >= MAX_DEPTH {
                    return Err(Stop::Recursion(
                        "maximum recursion depth exceeded while decoding a JSON array from a unicode string",
                    ));
                }
                return self.array(i + 1, depth + 1);
            }
            _ => {}
        }
        for word in ["null", "true", "false", "NaN", "Infinity", "-Infinity"] {
            if self.matches(i, word) {
                return Ok(i + word.chars().count());
            }
        }
        self.number(i)
    }

    /// `_match_number_unicode`.
    fn number(&self, start: usize) -> Result<usize, Stop> {
        let digit = |i: usize| self.at(i).is_some_and(|c| c.is_ascii_digit());
        let mut i = start;
        if self.at(i) == Some('-') {
            i += 1;
        }
        match self.at(i) {
            Some('1'..='9') => {
                i += 1;
                while digit(i) {
                    i += 1;
                }
            }
            Some('0') => i += 1,
            _ => return Err(Stop::NoValue(start)),
        }
        if self.at(i) == Some('.') && digit(i + 1) {
            i += 2;
            while digit(i) {
                i += 1;
            }
        }
        // The exponent is read only when something follows the `e` (`i < end_idx` in C).
        if matches!(self.at(i), Some('e' | 'E')) && i + 1 < self.s.len() {
            let e_start = i;
            i += 1;
            if matches!(self.at(i), Some('-' | '+')) && i + 1 < self.s.len() {
                i += 1;
            }
            while digit(i) {
                i += 1;
            }
            if !digit(i - 1) {
                i = e_start;
            }
        }
        Ok(i)
    }

    /// `scanstring_unicode` (strict): `end` is just after the opening quote.
    fn string(&self, end: usize) -> Result<usize, Stop> {
        let begin = end - 1;
        let len = self.s.len();
        let hex = |i: usize| self.at(i).is_some_and(|c| c.is_ascii_hexdigit());
        let mut end = end;
        loop {
            let mut next = end;
            while let Some(c) = self.at(next) {
                if c == '"' || c == '\\' {
                    break;
                }
                if (c as u32) <= 0x1f {
                    return Err(Stop::Error("Invalid control character at", next));
                }
                next += 1;
            }
            match self.at(next) {
                None => return Err(Stop::Error("Unterminated string starting at", begin)),
                Some('"') => return Ok(next + 1),
                _ => {}
            }
            next += 1; // past the backslash
            let Some(escape) = self.at(next) else {
                return Err(Stop::Error("Unterminated string starting at", begin));
            };
            if escape != 'u' {
                end = next + 1;
                if !matches!(escape, '"' | '\\' | '/' | 'b' | 'f' | 'n' | 'r' | 't') {
                    return Err(Stop::Error("Invalid \\escape", end - 2));
                }
                continue;
            }
            next += 1;
            end = next + 4;
            if end >= len {
                return Err(Stop::Error("Invalid \\uXXXX escape", next - 1));
            }
            if !(next..end).all(hex) {
                return Err(Stop::Error("Invalid \\uXXXX escape", end - 5));
            }
            let code = self.s[next..end]
                .iter()
                .fold(0u32, |acc, c| acc * 16 + c.to_digit(16).unwrap_or(0));
            if (0xd800..=0xdbff).contains(&code)
                && end + 6 < len
                && self.at(end) == Some('\\')
                && self.at(end + 1) == Some('u')
            {
                let second = end + 2;
                if !(second..second + 4).all(hex) {
                    return Err(Stop::Error("Invalid \\uXXXX escape", end + 1));
                }
                let low = self.s[second..second + 4]
                    .iter()
                    .fold(0u32, |acc, c| acc * 16 + c.to_digit(16).unwrap_or(0));
                if (0xdc00..=0xdfff).contains(&low) {
                    end += 6;
                }
            }
        }
    }

    /// `_parse_object_unicode`: `i` is just after `{`.
    fn object(&self, i: usize, depth: usize) -> Result<usize, Stop> {
        let mut i = self.skip_ws(i);
        if self.at(i) == Some('}') {
            return Ok(i + 1);
        }
        loop {
            if self.at(i) != Some('"') {
                return Err(Stop::Error(
                    "Expecting property name enclosed in double quotes",
                    i,
                ));
            }
            i = self.skip_ws(self.string(i + 1)?);
            if self.at(i) != Some(':') {
                return Err(Stop::Error("Expecting ':' delimiter", i));
            }
            i = self.skip_ws(i + 1);
            i = self.skip_ws(self.value(i, depth)?);
            match self.at(i) {
                Some('}') => return Ok(i + 1),
                Some(',') => i = self.skip_ws(i + 1),
                _ => return Err(Stop::Error("Expecting ',' delimiter", i)),
            }
        }
    }

    /// `_parse_array_unicode`: `i` is just after `[`.
    fn array(&self, i: usize, depth: usize) -> Result<usize, Stop> {
        let mut i = self.skip_ws(i);
        if self.at(i) == Some(']') {
            return Ok(i + 1);
        }
        loop {
            i = self.skip_ws(self.value(i, depth)?);
            match self.at(i) {
                Some(']') => return Ok(i + 1),
                Some(',') => i = self.skip_ws(i + 1),
                _ => return Err(Stop::Error("Expecting ',' delimiter", i)),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::loads_error;

    /// Messages and positions checked against CPython 3.11's `json.loads`.
    #[test]
    fn messages_are_python_s() {
        for (text, python) in [
            ("", Some("Expecting value: line 1 column 1 (char 0)")),
            (" ", Some("Expecting value: line 1 column 2 (char 1)")),
            (
                "Invalid Headers",
                Some("Expecting value: line 1 column 1 (char 0)"),
            ),
            (
                "{\"a\": 1 \"b\": 2}",
                Some("Expecting ',' delimiter: line 1 column 9 (char 8)"),
            ),
            (
                "{\"a\" 1}",
                Some("Expecting ':' delimiter: line 1 column 6 (char 5)"),
            ),
            (
                "{a:1}",
                Some("Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
            ),
            (
                "{\"a\":1,}",
                Some("Expecting property name enclosed in double quotes: line 1 column 8 (char 7)"),
            ),
            ("[1,]", Some("Expecting value: line 1 column 4 (char 3)")),
            (
                "[1 2]",
                Some("Expecting ',' delimiter: line 1 column 4 (char 3)"),
            ),
            (
                "\"\\u12\"",
                Some("Invalid \\uXXXX escape: line 1 column 3 (char 2)"),
            ),
            (
                "\"\\u0041",
                Some("Invalid \\uXXXX escape: line 1 column 3 (char 2)"),
            ),
            (
                "\"\\u00zz\"",
                Some("Invalid \\uXXXX escape: line 1 column 3 (char 2)"),
            ),
            (
                "\"\\x\"",
                Some("Invalid \\escape: line 1 column 2 (char 1)"),
            ),
            (
                "\"ab",
                Some("Unterminated string starting at: line 1 column 1 (char 0)"),
            ),
            (
                "\"a\nb\"",
                Some("Invalid control character at: line 1 column 3 (char 2)"),
            ),
            (
                "{\"a\": }",
                Some("Expecting value: line 1 column 7 (char 6)"),
            ),
            ("-", Some("Expecting value: line 1 column 1 (char 0)")),
            ("01", Some("Extra data: line 1 column 2 (char 1)")),
            ("1.", Some("Extra data: line 1 column 2 (char 1)")),
            (
                "{\"a\":\"\\ud800\\uzzzz\"}",
                Some("Invalid \\uXXXX escape: line 1 column 14 (char 13)"),
            ),
            (
                "\u{feff}{}",
                Some("Unexpected UTF-8 BOM (decode using utf-8-sig): line 1 column 1 (char 0)"),
            ),
            ("nul", Some("Expecting value: line 1 column 1 (char 0)")),
            ("{\"a\":1}x", Some("Extra data: line 1 column 8 (char 7)")),
            ("[", Some("Expecting value: line 1 column 2 (char 1)")),
            (
                "{",
                Some("Expecting property name enclosed in double quotes: line 1 column 2 (char 1)"),
            ),
            (
                "{\"a\"",
                Some("Expecting ':' delimiter: line 1 column 5 (char 4)"),
            ),
            ("{\"a\":", Some("Expecting value: line 1 column 6 (char 5)")),
            (
                "{\"a\":1",
                Some("Expecting ',' delimiter: line 1 column 7 (char 6)"),
            ),
            ("-I", Some("Expecting value: line 1 column 1 (char 0)")),
            ("1e", Some("Extra data: line 1 column 2 (char 1)")),
            ("1e+", Some("Extra data: line 1 column 2 (char 1)")),
            (
                "{\"a\":\n  [1,\n  x]}",
                Some("Expecting value: line 3 column 3 (char 14)"),
            ),
            (
                "\"\\",
                Some("Unterminated string starting at: line 1 column 1 (char 0)"),
            ),
            (
                "\"\\u",
                Some("Invalid \\uXXXX escape: line 1 column 3 (char 2)"),
            ),
            (
                "{\"é\": x}",
                Some("Expecting value: line 1 column 7 (char 6)"),
            ),
            ("tru", Some("Expecting value: line 1 column 1 (char 0)")),
            (
                "{\"sampleData.users\" \"id\"}",
                Some("Expecting ':' delimiter: line 1 column 21 (char 20)"),
            ),
            ("NaN", None),
            ("-Infinity", None),
            (
                " {\"a\": [1, 2.5e3, -0, true, null, \"\\ud83d\\ude00\"]} ",
                None,
            ),
            ("1E5", None),
        ] {
            assert_eq!(loads_error(text).as_deref(), python, "{text:?}");
        }
        let deep = "[".repeat(2000);
        assert!(
            loads_error(&deep)
                .unwrap()
                .starts_with("maximum recursion depth exceeded")
        );
    }
}
