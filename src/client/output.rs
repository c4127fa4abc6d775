//! What the client shows, as typed lines ([`Line`]) handed to an
//! [`Output`]: plain mode prints each as the seeds' transcripts show it;
//! the full screen styles it (colour per nickname, whispers and notices
//! apart) from the same fields. Every field a peer controls has already
//! been made safe for a terminal by whoever built the line.

use std::fmt;
use std::io::{self, Write};
use std::sync::Arc;

/// What kind of line, for styling.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Someone's message in the room.
    Message,
    /// A message replayed from the room's history.
    History,
    /// A whisper to you.
    Whisper,
    /// Your own message, confirmed by the server.
    Mine,
    /// A whisper you sent, confirmed by the server.
    MyWhisper,
    /// Joins, leaves, renames, shared files, the server's notices.
    Notice,
    /// Replies and the client's own information.
    Info,
    /// Something refused or gone wrong.
    Error,
}

/// One line to show: `STAMP TAG [FROM]: TEXT`, each part optional.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub kind: Kind,
    /// `0:00:17`, or `(history 2026-11-21 10:15 UTC)`.
    pub stamp: Option<String>,
    /// `(whisper)`, `(whisper to bob)`.
    pub tag: Option<String>,
    /// The nickname that said it.
    pub from: Option<String>,
    /// May hold line breaks (a multi-line reply); each is a line of its own.
    pub text: String,
}

impl Line {
    /// A line of text of `kind`, without stamp or sender.
    pub fn new(kind: Kind, text: impl Into<String>) -> Line {
        Line {
            kind,
            stamp: None,
            tag: None,
            from: None,
            text: text.into(),
        }
    }

    pub fn info(text: impl Into<String>) -> Line {
        Line::new(Kind::Info, text)
    }

    /// `error: TEXT`.
    pub fn error(text: impl fmt::Display) -> Line {
        Line::new(Kind::Error, format!("error: {text}"))
    }

    /// The part before the text (`0:00:17 [bob]: `), empty when there is none.
    pub fn prefix(&self) -> String {
        let mut out = String::new();
        for part in [&self.stamp, &self.tag].into_iter().flatten() {
            out.push_str(part);
            out.push(' ');
        }
        if let Some(from) = &self.from {
            out.push_str(&format!("[{from}]: "));
        }
        out
    }
}

impl fmt::Display for Line {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}{}", self.prefix(), self.text)
    }
}

/// Where the client's lines go. Shared by the input and the reader threads.
pub trait Output: Send + Sync {
    /// Shows one line.
    fn show(&self, line: Line);
    /// The progress of transfer `label`, as text; `done` when it is over.
    fn progress(&self, label: &str, text: &str, done: bool);
    /// Something the status shows changed (room, nickname, members).
    fn changed(&self) {}
    /// Older messages of `room` fetched by `/history`, oldest first;
    /// `more` when there are older ones still. Plain mode prints them as
    /// they come; the full screen puts them above what it has.
    fn older(&self, room: &str, lines: Vec<Line>, more: bool) {
        if lines.is_empty() {
            self.show(Line::info(format!("(no older messages in {room})")));
        }
        for line in lines {
            self.show(line);
        }
        if !more {
            self.show(Line::info(format!("(that is the beginning of {room})")));
        }
    }
    /// `/history` was refused (the refusal is shown as a line).
    fn older_failed(&self) {}
    /// True when the output completes names, so the client should learn
    /// who is online and which rooms exist (with requests it does not show).
    fn wants_directory(&self) -> bool {
        false
    }
    /// The server closed the connection while the user was chatting.
    /// Plain mode says so and ends the process (its input thread is
    /// blocked reading a line); the full screen wakes its input loop.
    fn disconnected(&self);
}

/// A shared handle on the output.
pub type Out = Arc<dyn Output>;

/// Line mode: each line printed as it is, progress redrawn with `\r`.
pub struct Plain;

impl Output for Plain {
    fn show(&self, line: Line) {
        println!("{line}");
    }

    fn progress(&self, _label: &str, text: &str, done: bool) {
        let mut out = io::stdout().lock();
        let _ = write!(out, "\r{text}");
        if done {
            let _ = writeln!(out);
        }
        let _ = out.flush();
    }

    fn disconnected(&self) {
        println!("Disconnected from chat server");
        let _ = io::stdout().flush();
        std::process::exit(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lines_look_like_the_seeds() {
        let line = Line {
            kind: Kind::Message,
            stamp: Some("0:00:17".into()),
            tag: None,
            from: Some("Ma19".into()),
            text: "Hello World! I'm Ma 19".into(),
        };
        assert_eq!(line.to_string(), "0:00:17 [Ma19]: Hello World! I'm Ma 19");
        let whisper = Line {
            tag: Some("(whisper)".into()),
            ..line
        };
        assert_eq!(
            whisper.to_string(),
            "0:00:17 (whisper) [Ma19]: Hello World! I'm Ma 19"
        );
        assert_eq!(Line::error("no").to_string(), "error: no");
        assert_eq!(Line::info("plain").to_string(), "plain");
    }
}
