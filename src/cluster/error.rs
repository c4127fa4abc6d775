//! Why a Redis operation failed: the one error type of the cluster's Redis
//! layer, and the two questions a caller asks of it: is Redis unavailable
//! (answer 503 and let the connection be rebuilt), and may the command have
//! been applied anyway.

use std::fmt;
use std::io;
use std::path::PathBuf;
use std::time::Duration;

use super::resp::RespError;

/// Why a Redis operation failed.
#[derive(Debug)]
pub enum RedisError {
    /// No TCP connection could be made to `addr` (refused, unreachable,
    /// timed out, or the name did not resolve). Nothing was sent.
    Connect { addr: String, source: io::Error },
    /// Reading or writing an open connection failed, a timeout included. The
    /// command in flight may or may not have been applied.
    Io(io::Error),
    /// The server closed the connection (or an [`Interrupter`] did).
    ///
    /// [`Interrupter`]: super::Interrupter
    Closed,
    /// The server sent bytes that are not RESP, or a reply over a cap.
    Protocol(RespError),
    /// An earlier error broke this connection; make a new one.
    Broken,
    /// Redis answered with an error reply. `code` is its first word (`ERR`,
    /// `WRONGTYPE`, `NOAUTH`, `WRONGPASS`, `NOSCRIPT`, ...). The connection is fine.
    Server { code: String, message: String },
    /// A reply whose shape the command never returns. The connection is fine.
    UnexpectedReply { command: String, reply: String },
    /// A `redis://` URL that cannot be used.
    BadUrl { reason: &'static str },
    /// The password file could not be used (the password is never shown).
    PasswordFile { path: PathBuf, reason: String },
    /// A stream ID that is not `<ms>-<seq>`.
    BadStreamId { text: String },
    /// Redis is unreachable; a [`Reconnecting`] wrapper tries again in
    /// `retry_in` (or at the next call after that).
    ///
    /// [`Reconnecting`]: super::Reconnecting
    Unavailable {
        retry_in: Duration,
        last_error: String,
    },
}

/// The result type of the Redis layer.
pub type Result<T> = std::result::Result<T, RedisError>;

impl RedisError {
    /// True when Redis cannot serve the request now: the caller answers
    /// "cluster unavailable" (a 503) and tries again later. That is a broken
    /// or impossible connection, and also the error replies Redis gives
    /// while it cannot serve anyone: `LOADING` (it is reading its data back
    /// after a restart and accepts connections meanwhile), `BUSY` (a script
    /// runs too long) and `MASTERDOWN` (a replica without its master); the
    /// command was not applied, and the connection stays usable. Other error
    /// replies, unexpected replies and bad input are not.
    pub fn is_unavailable(&self) -> bool {
        match self {
            RedisError::Connect { .. }
            | RedisError::Io(_)
            | RedisError::Closed
            | RedisError::Protocol(_)
            | RedisError::Broken
            | RedisError::Unavailable { .. } => true,
            RedisError::Server { code, .. } => {
                matches!(code.as_str(), "LOADING" | "BUSY" | "MASTERDOWN")
            }
            _ => false,
        }
    }

    /// True when the connection broke after a command may have been sent:
    /// Redis may or may not have applied it, so a write must be checked (or
    /// be idempotent) before it is retried.
    pub fn is_outcome_unknown(&self) -> bool {
        matches!(
            self,
            RedisError::Io(_) | RedisError::Closed | RedisError::Protocol(_)
        )
    }

    /// True for an error that leaves the connection unusable.
    pub fn breaks_connection(&self) -> bool {
        matches!(
            self,
            RedisError::Io(_) | RedisError::Closed | RedisError::Protocol(_) | RedisError::Broken
        )
    }

    /// True when a read or write timed out.
    pub fn is_timeout(&self) -> bool {
        matches!(self, RedisError::Io(e) if is_timeout(e))
    }

    /// The first word of a Redis error reply (`ERR`, `NOSCRIPT`, ...).
    pub fn server_code(&self) -> Option<&str> {
        match self {
            RedisError::Server { code, .. } => Some(code),
            _ => None,
        }
    }

    /// The same error again, for each of several callers one failure
    /// answers (a pipeline carrying many senders' commands): the same
    /// variant, so each caller asks it the same questions; an I/O error is
    /// remade from its kind and text.
    pub fn duplicate(&self) -> RedisError {
        let io = |e: &io::Error| io::Error::new(e.kind(), e.to_string());
        match self {
            RedisError::Connect { addr, source } => RedisError::Connect {
                addr: addr.clone(),
                source: io(source),
            },
            RedisError::Io(e) => RedisError::Io(io(e)),
            RedisError::Closed => RedisError::Closed,
            RedisError::Protocol(e) => RedisError::Protocol(e.clone()),
            RedisError::Broken => RedisError::Broken,
            RedisError::Server { code, message } => RedisError::Server {
                code: code.clone(),
                message: message.clone(),
            },
            RedisError::UnexpectedReply { command, reply } => RedisError::UnexpectedReply {
                command: command.clone(),
                reply: reply.clone(),
            },
            RedisError::BadUrl { reason } => RedisError::BadUrl { reason },
            RedisError::PasswordFile { path, reason } => RedisError::PasswordFile {
                path: path.clone(),
                reason: reason.clone(),
            },
            RedisError::BadStreamId { text } => RedisError::BadStreamId { text: text.clone() },
            RedisError::Unavailable {
                retry_in,
                last_error,
            } => RedisError::Unavailable {
                retry_in: *retry_in,
                last_error: last_error.clone(),
            },
        }
    }

    /// The error reply `text` as Redis sent it, split into code and message.
    pub fn from_reply(text: &str) -> RedisError {
        let (code, message) = text.split_once(' ').unwrap_or((text, ""));
        RedisError::Server {
            code: code.to_string(),
            message: message.to_string(),
        }
    }
}

/// True for the error kinds a socket timeout produces (they differ by platform).
pub(crate) fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

impl fmt::Display for RedisError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RedisError::Connect { addr, source } => {
                write!(f, "cannot connect to redis at {addr}: {source}")
            }
            RedisError::Io(e) if is_timeout(e) => write!(f, "redis did not answer in time"),
            RedisError::Io(e) => write!(f, "redis connection failed: {e}"),
            RedisError::Closed => write!(f, "redis closed the connection"),
            RedisError::Protocol(e) => write!(f, "redis sent a broken reply: {e}"),
            RedisError::Broken => write!(f, "redis connection is broken by an earlier error"),
            RedisError::Server { code, message } => write!(f, "redis error: {code} {message}"),
            RedisError::UnexpectedReply { command, reply } => {
                write!(f, "unexpected redis reply to {command}: {reply}")
            }
            RedisError::BadUrl { reason } => write!(f, "bad redis url: {reason}"),
            RedisError::PasswordFile { path, reason } => {
                write!(f, "redis password file {}: {reason}", path.display())
            }
            RedisError::BadStreamId { text } => write!(f, "bad stream id {text:?}"),
            RedisError::Unavailable {
                retry_in,
                last_error,
            } => write!(
                f,
                "redis unavailable ({last_error}); retrying in {:.1} s",
                retry_in.as_secs_f64()
            ),
        }
    }
}

impl std::error::Error for RedisError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            RedisError::Connect { source, .. } => Some(source),
            RedisError::Io(e) => Some(e),
            RedisError::Protocol(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for RedisError {
    fn from(e: io::Error) -> Self {
        RedisError::Io(e)
    }
}

impl From<RespError> for RedisError {
    fn from(e: RespError) -> Self {
        RedisError::Protocol(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_replies_split_into_code_and_message() {
        let e = RedisError::from_reply("WRONGTYPE Operation against a key");
        assert_eq!(e.server_code(), Some("WRONGTYPE"));
        assert_eq!(
            e.to_string(),
            "redis error: WRONGTYPE Operation against a key"
        );
        assert_eq!(RedisError::from_reply("ERR").server_code(), Some("ERR"));
    }

    #[test]
    fn a_duplicate_answers_every_question_as_the_original() {
        let errors = [
            RedisError::Io(io::Error::new(io::ErrorKind::TimedOut, "slow")),
            RedisError::Io(io::Error::new(io::ErrorKind::ConnectionReset, "reset")),
            RedisError::Closed,
            RedisError::Broken,
            RedisError::from_reply("LOADING wait"),
            RedisError::from_reply("OOM full"),
            RedisError::Unavailable {
                retry_in: Duration::from_millis(100),
                last_error: "refused".into(),
            },
        ];
        for e in &errors {
            let d = e.duplicate();
            assert_eq!(d.to_string(), e.to_string());
            assert_eq!(d.is_unavailable(), e.is_unavailable(), "{e}");
            assert_eq!(d.is_outcome_unknown(), e.is_outcome_unknown(), "{e}");
            assert_eq!(d.breaks_connection(), e.breaks_connection(), "{e}");
            assert_eq!(d.is_timeout(), e.is_timeout(), "{e}");
        }
    }

    #[test]
    fn which_errors_mean_unavailable() {
        for text in [
            "LOADING Redis is loading the dataset in memory",
            "BUSY Redis is busy running a script",
            "MASTERDOWN Link with MASTER is down",
        ] {
            let e = RedisError::from_reply(text);
            assert!(e.is_unavailable(), "{text}");
            assert!(!e.breaks_connection() && !e.is_outcome_unknown(), "{text}");
        }
        for text in ["ERR syntax error", "WRONGTYPE x", "NOAUTH x", "WRONGPASS x"] {
            assert!(!RedisError::from_reply(text).is_unavailable(), "{text}");
        }
        assert!(RedisError::Closed.is_unavailable() && RedisError::Closed.is_outcome_unknown());
        let timeout = RedisError::Io(io::Error::from(io::ErrorKind::WouldBlock));
        assert!(timeout.is_timeout() && timeout.breaks_connection());
        assert_eq!(timeout.to_string(), "redis did not answer in time");
        assert!(!RedisError::Broken.is_outcome_unknown());
    }
}
