//! Where typed lines come from: [`Keyboard`] is a line with a prompt, in
//! plain mode read from standard input ([`LineReader`]), on the full
//! screen edited in the input line. A secret line (a password) is never
//! shown as it is typed, in either mode.

use std::io::{self, BufRead, IsTerminal, Write};
use std::process::{Command, Stdio};

/// A source of typed lines.
pub trait Keyboard {
    /// Shows `prompt` (which may be empty) and returns the next line typed,
    /// without its line ending; `None` at the end of input. A `secret`
    /// line is not echoed.
    ///
    /// # Errors
    /// Reading the input failed.
    fn line(&mut self, prompt: &str, secret: bool) -> io::Result<Option<Vec<u8>>>;
}

/// Plain mode: lines from standard input, as bytes (a file path to upload
/// need not be UTF-8).
pub struct LineReader<R> {
    input: R,
}

impl<R: BufRead> LineReader<R> {
    pub fn new(input: R) -> LineReader<R> {
        LineReader { input }
    }
}

impl<R: BufRead> Keyboard for LineReader<R> {
    fn line(&mut self, prompt: &str, secret: bool) -> io::Result<Option<Vec<u8>>> {
        if !prompt.is_empty() {
            print!("{prompt}");
            io::stdout().flush()?;
        }
        let echo_off = if secret { EchoOff::start() } else { None };
        let mut line = Vec::new();
        let n = self.input.read_until(b'\n', &mut line)?;
        if echo_off.is_some() {
            // The Enter that ended the password was not echoed either.
            println!();
        }
        if n == 0 {
            if !prompt.is_empty() {
                println!();
            }
            return Ok(None);
        }
        while line.last().is_some_and(|b| *b == b'\n' || *b == b'\r') {
            line.pop();
        }
        Ok(Some(line))
    }
}

/// Terminal echo switched off with `stty` while it lives; restored on drop.
/// Only when standard input is a terminal (never in tests or pipes). If the
/// process is killed at the prompt, `stty echo` (or `reset`) restores it.
struct EchoOff;

impl EchoOff {
    fn start() -> Option<EchoOff> {
        if !io::stdin().is_terminal() {
            return None;
        }
        stty("-echo").then_some(EchoOff)
    }
}

impl Drop for EchoOff {
    fn drop(&mut self) {
        stty("echo");
    }
}

/// Runs `stty SETTING` on the terminal on standard input; false if that
/// is not possible (no `stty` on this system), and the password is echoed.
fn stty(setting: &str) -> bool {
    Command::new("stty")
        .arg(setting)
        .stdin(Stdio::inherit())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_come_without_their_endings_and_none_at_the_end() {
        let mut keyboard = LineReader::new(&b"one\r\ntwo\nthree"[..]);
        assert_eq!(keyboard.line("", false).unwrap(), Some(b"one".to_vec()));
        assert_eq!(keyboard.line("", false).unwrap(), Some(b"two".to_vec()));
        assert_eq!(keyboard.line("", false).unwrap(), Some(b"three".to_vec()));
        assert_eq!(keyboard.line("", false).unwrap(), None);
    }
}
