//! What the user types, turned into requests. A line starting with `/` is
//! a command; so is a line in the shape of one of the seeds' bare commands
//! (`send_file PATH`, `register NAME PW`, `exit`, ...; see [`bare`]); any
//! other line is a chat message, and `//text` or `/say text` sends a
//! message as it is. A line that looks like a command but is malformed is a
//! [`Input::Mistake`], never a message, so a mistyped password is never said.

mod bare;
mod commands;
#[cfg(test)]
mod tests;

use std::path::PathBuf;

use crate::command::{ChatRequest, Request};

pub use commands::{COMMANDS, HELP, ROOM_COMMANDS};

/// The commands that upload a file; a path follows them.
const SEND_FILE: [&str; 3] = ["send_file", "send-file", "upload"];

/// One typed line, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Send(Request),
    /// Upload the file at this path (checked before anything is sent).
    SendFile(PathBuf),
    /// `register [NAME] PASSWORD`: register the current nickname, which
    /// must be `NAME` when one is given (the caller knows who is logged in).
    Register {
        nick: Option<String>,
        password: String,
    },
    /// `login NAME PASSWORD`: log out, then log in as `NAME`.
    Login {
        nick: String,
        password: String,
    },
    /// `/history [N]`: the N messages of this room before the oldest one
    /// seen in this session (the caller knows which that is).
    History {
        limit: usize,
    },
    /// `/search TEXT [in ROOM]`; `/search` alone (no `text`) is the next
    /// page of the last search.
    Search {
        text: Option<String>,
        room: Option<String>,
    },
    Help,
    Quit,
    /// Log out and go back to the nickname prompt.
    Logout,
    /// An empty line.
    Nothing,
    /// A mistake the user should be told about; nothing is sent.
    Mistake(String),
}

impl Input {
    /// A line that sends `request`.
    pub fn send(request: impl Into<Request>) -> Input {
        Input::Send(request.into())
    }
}

/// Parses one line as typed, in bytes. Only a file path may be other than
/// UTF-8 (file names on disk need not be), so only `/send_file` takes one.
pub fn parse_bytes(line: &[u8]) -> Input {
    if let Ok(text) = std::str::from_utf8(line) {
        return parse(text);
    }
    let line = line.trim_ascii();
    let line = line.strip_prefix(b"/").unwrap_or(line);
    let split = line.iter().position(u8::is_ascii_whitespace);
    if let Some(at) = split {
        let name = line[..at].to_ascii_lowercase();
        if SEND_FILE.iter().any(|c| c.as_bytes() == name) {
            return Input::SendFile(expand_home_bytes(line[at..].trim_ascii()));
        }
    }
    Input::Mistake("that line is not valid UTF-8; it was not sent".into())
}

/// Parses one line typed at the chat prompt.
pub fn parse(line: &str) -> Input {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() {
        return Input::Nothing;
    }
    if let Some((first, _)) = line.split_once('\n') {
        // A paste of several lines is one message, unless it starts like a
        // command: then nothing is sent (it might carry a password).
        let first = first.trim_end_matches('\r');
        if first.starts_with('/') && !first.starts_with("//") || bare::is_command(first) {
            return Input::Mistake(
                "a command must be a single line; nothing was sent (to say it, start with /say)"
                    .into(),
            );
        }
        return say(if line.starts_with("//") {
            &line[1..]
        } else {
            line
        });
    }
    if let Some(text) = line.strip_prefix("//") {
        return say(&format!("/{text}"));
    }
    if let Some(command) = line.strip_prefix('/') {
        return commands::parse(command, false);
    }
    if bare::is_command(line) {
        return commands::parse(line.trim_start(), true);
    }
    say(line)
}

/// True when `line` is a command (with `/` or one of the bare forms), not chat.
pub fn is_command(line: &str) -> bool {
    let line = line.trim_start();
    (line.starts_with('/') && !line.starts_with("//")) || bare::is_command(line)
}

/// Commands whose words may include a password.
const WITH_PASSWORD: [&str; 5] = ["register", "login", "passwd", "password", "change-password"];

/// True when `line` is a command that may carry a password: such a line
/// is never kept for recall nor shown back.
pub fn carries_password(line: &str) -> bool {
    let first = line.split_whitespace().next().unwrap_or("");
    let name = first
        .strip_prefix('/')
        .unwrap_or(first)
        .to_ascii_lowercase();
    is_command(line) && WITH_PASSWORD.contains(&name.as_str())
}

/// A chat message in the current room.
fn say(text: &str) -> Input {
    Input::send(ChatRequest::Say {
        room: None,
        text: text.to_string(),
    })
}

/// `~` and `~/...` at the start of a path mean the home directory, as in a
/// shell; anything else is taken as it is.
pub fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix('~'), std::env::var_os("HOME")) {
        (Some(""), Some(home)) => PathBuf::from(home),
        (Some(rest), Some(home)) if rest.starts_with('/') => {
            PathBuf::from(home).join(rest.trim_start_matches('/'))
        }
        _ => PathBuf::from(path),
    }
}

#[cfg(unix)]
fn expand_home_bytes(bytes: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    match (bytes.strip_prefix(b"~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => PathBuf::from(home).join(std::ffi::OsStr::from_bytes(rest)),
        _ => PathBuf::from(std::ffi::OsStr::from_bytes(bytes)),
    }
}

#[cfg(not(unix))]
fn expand_home_bytes(bytes: &[u8]) -> PathBuf {
    expand_home(&String::from_utf8_lossy(bytes))
}
