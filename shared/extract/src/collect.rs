//! The text a reader collects: capped at a number of characters (Tika's write limit, which the
//! attachment processor sets from `indexed_chars`), with the deadline checked as text comes in.

use std::time::Instant;

use crate::{Read, ReadStop};

/// Collects a file's text. Readers push pieces; a push past the cap keeps what fits and stops
/// the reader with [`ReadStop::Full`].
pub struct Collector {
    text: String,
    chars: usize,
    /// 0: no cap.
    max_chars: usize,
    deadline: Instant,
    pushes: u32,
}

impl Collector {
    pub fn new(max_chars: usize, deadline: Instant) -> Self {
        Collector {
            text: String::new(),
            chars: 0,
            max_chars,
            deadline,
            pushes: 0,
        }
    }

    /// The cap in characters (0: none).
    pub(crate) fn max_chars(&self) -> usize {
        self.max_chars
    }

    /// Appends `s`.
    pub(crate) fn push(&mut self, s: &str) -> Read {
        if s.is_empty() {
            return Ok(());
        }
        self.pushes = self.pushes.wrapping_add(1);
        if self.pushes.is_multiple_of(256) {
            self.check_time()?;
        }
        if self.max_chars == 0 {
            self.text.push_str(s);
            return Ok(());
        }
        let room = self.max_chars - self.chars;
        let count = s.chars().count();
        if count < room {
            self.text.push_str(s);
            self.chars += count;
            return Ok(());
        }
        // At or past the cap: keep the first `room` characters and stop.
        let cut = s.char_indices().nth(room).map_or(s.len(), |(i, _)| i);
        self.text.push_str(&s[..cut]);
        self.chars = self.max_chars;
        Err(ReadStop::Full)
    }

    /// Appends one character.
    pub(crate) fn push_char(&mut self, c: char) -> Read {
        let mut buf = [0u8; 4];
        self.push(c.encode_utf8(&mut buf))
    }

    /// Ends a line, unless the text is empty or already ends one.
    pub(crate) fn newline(&mut self) -> Read {
        while self.text.ends_with([' ', '\t']) {
            self.text.pop();
            self.chars = self.chars.saturating_sub(1);
        }
        if self.text.is_empty() || self.text.ends_with('\n') {
            return Ok(());
        }
        self.push("\n")
    }

    /// Separates two words, unless the text is empty or already ends with whitespace.
    pub(crate) fn space(&mut self) -> Read {
        if self.text.is_empty() || self.text.ends_with(char::is_whitespace) {
            return Ok(());
        }
        self.push(" ")
    }

    /// Fails once the deadline has passed.
    pub(crate) fn check_time(&self) -> Read {
        if Instant::now() > self.deadline {
            Err(ReadStop::TimedOut)
        } else {
            Ok(())
        }
    }

    /// The text, trimmed as the attachment processor trims Tika's output.
    pub(crate) fn finish(self) -> String {
        let trimmed = self.text.trim();
        if trimmed.len() == self.text.len() {
            self.text
        } else {
            trimmed.to_string()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_cap_keeps_what_fits() {
        let mut c = Collector::new(5, Instant::now() + Duration::from_secs(5));
        assert!(c.push("ab").is_ok());
        assert!(matches!(c.push("cdéfg"), Err(ReadStop::Full)));
        assert_eq!(c.finish(), "abcdé");
        let mut c = Collector::new(0, Instant::now() + Duration::from_secs(5));
        c.push(&"x".repeat(200_000)).unwrap();
        assert_eq!(c.finish().len(), 200_000);
    }
}
