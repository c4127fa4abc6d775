//! Why the client stopped with an error, worded for the person at the terminal.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use crate::protocol::FrameError;

/// Why the client stopped with an error.
#[derive(Debug)]
pub enum ClientError {
    Connect {
        addr: String,
        source: io::Error,
    },
    /// The connection failed or the server broke the protocol.
    Connection(FrameError),
    /// The server said goodbye before the login finished.
    TurnedAway(String),
    /// The server accepted the connection but did not answer the login.
    NoAnswer {
        addr: String,
        waited: Duration,
    },
    /// The peer answered in HTTP: a web server, not the chat server.
    NotChat {
        addr: String,
    },
    PasswordFile {
        path: PathBuf,
        source: io::Error,
    },
    Io(io::Error),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Connect { addr, source } => match source.kind() {
                io::ErrorKind::ConnectionRefused => write!(
                    f,
                    "cannot connect to {addr}: connection refused; the chat server does not seem to be running there (start it with `cargo run --bin server`, or pass --host/--port)"
                ),
                io::ErrorKind::TimedOut => write!(
                    f,
                    "cannot connect to {addr}: no answer within 5 s; is the server running and reachable?"
                ),
                _ => write!(f, "cannot connect to {addr}: {source}"),
            },
            ClientError::Connection(e) => write!(f, "lost the connection to the server: {e}"),
            ClientError::TurnedAway(reason) => write!(f, "the server turned us away: {reason}"),
            ClientError::NoAnswer { addr, waited } => write!(
                f,
                "{addr} accepted the connection but did not answer the login within {:.1} s; is it the chat server? (--reply-timeout waits longer)",
                waited.as_secs_f64()
            ),
            ClientError::NotChat { addr } => write!(
                f,
                "{addr} answered in HTTP: this port does not speak the chat protocol (is it a web server? check --host/--port)"
            ),
            ClientError::PasswordFile { path, source } => {
                write!(f, "cannot use password file {}: {source}", path.display())
            }
            ClientError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for ClientError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ClientError::Connect { source, .. } => Some(source),
            ClientError::Connection(e) => Some(e),
            ClientError::Io(e) => Some(e),
            ClientError::PasswordFile { source, .. } => Some(source),
            ClientError::TurnedAway(_)
            | ClientError::NoAnswer { .. }
            | ClientError::NotChat { .. } => None,
        }
    }
}

impl From<io::Error> for ClientError {
    fn from(e: io::Error) -> ClientError {
        ClientError::Io(e)
    }
}
