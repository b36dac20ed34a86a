//! Questions on the terminal, as the reference's `click.prompt`/`click.confirm`: written to
//! standard error (standard output stays for results and JSON), answered on standard input,
//! line by line, so that answers can be piped. Secrets are read without echo from a terminal.

use std::io::{BufRead, IsTerminal, Write};

use super::error::CliError;

/// Reads answers from standard input (or, in tests, from any reader).
pub struct Prompter {
    input: Box<dyn BufRead + Send>,
    terminal: bool,
}

impl Prompter {
    /// Questions answered on standard input.
    pub fn stdin() -> Prompter {
        Prompter {
            terminal: std::io::stdin().is_terminal(),
            input: Box::new(std::io::BufReader::new(std::io::stdin())),
        }
    }

    /// Questions answered from `input` (never a terminal).
    #[cfg(test)]
    pub fn from_reader(input: impl BufRead + Send + 'static) -> Prompter {
        Prompter {
            input: Box::new(input),
            terminal: false,
        }
    }

    /// Whether a person answers at a terminal (a wrong answer is asked again).
    pub fn is_terminal(&self) -> bool {
        self.terminal
    }

    /// One line without its line break; `None` at the end of the input.
    fn read_line(&mut self) -> Result<Option<String>, CliError> {
        let mut line = String::new();
        let n = self
            .input
            .read_line(&mut line)
            .map_err(|e| CliError::io("reading standard input", e))?;
        if !self.terminal {
            // Piped answers are not echoed: end the question's line for whoever reads it.
            show("\n");
        }
        if n == 0 {
            return Ok(None);
        }
        while line.ends_with(['\n', '\r']) {
            line.pop();
        }
        Ok(Some(line))
    }

    /// Asks `? {question} [{default}]: `. An empty answer (or the end of the input) takes the
    /// default; `None` when there is neither an answer nor a default.
    pub fn ask(
        &mut self,
        question: &str,
        default: Option<&str>,
    ) -> Result<Option<String>, CliError> {
        let shown = default
            .filter(|d| !d.is_empty())
            .map(|d| format!(" [{d}]"))
            .unwrap_or_default();
        show(&format!("? {question}{shown}: "));
        let answer = self.read_line()?;
        Ok(match answer.map(|a| a.trim().to_string()) {
            Some(a) if !a.is_empty() => Some(a),
            _ => default.map(str::to_string),
        })
    }

    /// Asks for a secret, without echo on a terminal. `has_default`: an empty answer keeps a
    /// value that is not shown (`Ok(None)`).
    pub fn ask_secret(
        &mut self,
        question: &str,
        has_default: bool,
    ) -> Result<Option<String>, CliError> {
        let shown = if has_default { " [unchanged]" } else { "" };
        show(&format!("? {question}{shown}: "));
        let answer = if self.terminal {
            let _quiet = EchoOff::new();
            let answer = self.read_line();
            show("\n");
            answer?
        } else {
            self.read_line()?
        };
        Ok(answer.filter(|a| !a.is_empty()))
    }

    /// Asks `{question} [y/N]: `; only `y`/`yes` confirms.
    pub fn confirm(&mut self, question: &str) -> Result<bool, CliError> {
        show(&format!("{question} [y/N]: "));
        let answer = self.read_line()?;
        Ok(matches!(
            answer
                .as_deref()
                .map(|a| a.trim().to_ascii_lowercase())
                .as_deref(),
            Some("y" | "yes")
        ))
    }

    /// Confirms unless `yes`; a "no" is [`CliError::Aborted`].
    pub fn confirm_or_abort(&mut self, yes: bool, question: &str) -> Result<(), CliError> {
        if yes || self.confirm(question)? {
            Ok(())
        } else {
            Err(CliError::Aborted)
        }
    }
}

fn show(text: &str) {
    let mut err = std::io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.flush();
}

/// Terminal echo switched off for as long as this lives.
struct EchoOff {
    #[cfg(unix)]
    saved: Option<libc::termios>,
}

impl EchoOff {
    fn new() -> EchoOff {
        #[cfg(unix)]
        {
            // SAFETY: tcgetattr/tcsetattr read and write a termios struct we own, for fd 0;
            // on failure (not a terminal) nothing is changed and nothing is restored.
            unsafe {
                let mut term: libc::termios = std::mem::zeroed();
                if libc::tcgetattr(libc::STDIN_FILENO, &mut term) != 0 {
                    return EchoOff { saved: None };
                }
                let saved = term;
                term.c_lflag &= !libc::ECHO;
                if libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &term) != 0 {
                    return EchoOff { saved: None };
                }
                EchoOff { saved: Some(saved) }
            }
        }
        #[cfg(not(unix))]
        EchoOff {}
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        #[cfg(unix)]
        if let Some(saved) = self.saved {
            // SAFETY: restores the settings read in `new` on the same descriptor.
            unsafe {
                libc::tcsetattr(libc::STDIN_FILENO, libc::TCSANOW, &saved);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prompter(input: &str) -> Prompter {
        Prompter::from_reader(std::io::Cursor::new(input.to_string()))
    }

    #[test]
    fn answers_defaults_and_end_of_input() {
        let mut p = prompter("search-x\n\n  spaced  \r\n");
        assert_eq!(
            p.ask("Index name", None).expect("ok"),
            Some("search-x".into())
        );
        assert_eq!(p.ask("Name", Some("d")).expect("ok"), Some("d".into()));
        assert_eq!(p.ask("Other", None).expect("ok"), Some("spaced".into()));
        assert_eq!(p.ask("More", Some("x")).expect("ok"), Some("x".into()));
        assert_eq!(p.ask("More", None).expect("ok"), None);
    }

    #[test]
    fn secrets_keep_spaces_and_empty_means_unchanged() {
        let mut p = prompter(" s3cret \n\n");
        assert_eq!(
            p.ask_secret("Password", false).expect("ok"),
            Some(" s3cret ".into())
        );
        assert_eq!(p.ask_secret("Password", true).expect("ok"), None);
    }

    #[test]
    fn only_yes_confirms() {
        let mut p = prompter("y\nYES\nn\nmaybe\n");
        assert!(p.confirm("?").expect("ok"));
        assert!(p.confirm("?").expect("ok"));
        assert!(!p.confirm("?").expect("ok"));
        assert!(matches!(
            p.confirm_or_abort(false, "?"),
            Err(CliError::Aborted)
        ));
        assert!(matches!(
            p.confirm_or_abort(false, "?"),
            Err(CliError::Aborted)
        ));
        assert!(p.confirm_or_abort(true, "?").is_ok());
    }
}
