//! Getting a password from the user: the `Password: ` prompt (typed without
//! echo on a terminal) or the first line of a `--password-file`.

use std::io::{self, BufRead};
use std::path::Path;
use std::process::{Command, Stdio};

use super::{prompt, ClientError};

/// Largest password file read: a password is at most 128 characters, so
/// anything bigger is the wrong file.
const MAX_FILE_BYTES: u64 = 4096;

/// Asks `Password: ` and reads one line; `None` at end of input. On a
/// terminal the typing is not echoed, as `passwd` and `ssh` do.
///
/// # Errors
/// Reading standard input failed.
pub fn ask(lines: &mut impl BufRead) -> io::Result<Option<String>> {
    let echo_off = EchoOff::start();
    let answer = prompt(lines, "Password: ");
    if echo_off.is_some() {
        // The Enter that ended the password was not echoed either.
        println!();
    }
    answer
}

/// The password in the first line of the file at `path`, without its line
/// ending and surrounding spaces (which the protocol would drop anyway).
///
/// # Errors
/// `ClientError::PasswordFile` when it cannot be read, is not UTF-8, is
/// too big to be a password file, or its first line is empty.
pub fn read_file(path: &Path) -> Result<String, ClientError> {
    let fail = |source| ClientError::PasswordFile {
        path: path.to_path_buf(),
        source,
    };
    let invalid = |what: &str| fail(io::Error::new(io::ErrorKind::InvalidData, what));
    let file = std::fs::File::open(path).map_err(fail)?;
    let mut text = String::new();
    io::Read::read_to_string(&mut io::Read::take(file, MAX_FILE_BYTES + 1), &mut text)
        .map_err(fail)?;
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(invalid("larger than 4 KiB; is it the right file?"));
    }
    let password = text.lines().next().unwrap_or_default().trim();
    if password.is_empty() {
        return Err(invalid("its first line is empty"));
    }
    Ok(password.to_string())
}

/// Terminal echo switched off with `stty` while it lives; restored on drop.
/// Only when standard input is a terminal (never in tests or pipes). If the
/// process is killed at the prompt, `stty echo` (or `reset`) restores it.
struct EchoOff;

impl EchoOff {
    fn start() -> Option<EchoOff> {
        use std::io::IsTerminal;
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
