//! Why an IRC line could not be read, parsed or written: the one error type
//! of the IRC layer, and what a door does about each kind.

use std::fmt;
use std::io;

use super::numeric::Numeric;

/// Why a line could not be read, parsed or encoded.
///
/// [`IrcError::reaction`] tells a door what to do about each reading or
/// parsing error. Encoding errors mean the door built a line that cannot go
/// on the wire (long texts go through `split` first).
#[derive(Debug)]
pub enum IrcError {
    /// The socket failed (a read timeout shows up here too).
    Io(io::Error),
    /// The peer closed the connection in the middle of a line.
    UnexpectedEof,
    /// No line end within `limit` bytes: the reader stops there.
    LineTooLong { limit: usize },
    /// The line holds nothing but spaces; ignore it.
    Empty,
    /// The tag part (with its `@` and space) is over `limit` bytes.
    TagsTooLong { len: usize, limit: usize },
    /// The part after the tags (with its line end) is over `limit` bytes.
    BodyTooLong { len: usize, limit: usize },
    /// The line is not UTF-8; `command` is its command if that much is ASCII.
    NotUtf8 { command: Option<String> },
    /// A NUL, or a CR that does not end the line.
    ControlByte { byte: u8 },
    /// `:` with no source after it.
    BadSource,
    /// Tags or a source but no command.
    NoCommand,
    /// A command that is neither letters nor three digits.
    BadCommand { command: String },
    /// Encoding: parameter `index` cannot be written (`reason` says why).
    BadParam { index: usize, reason: &'static str },
    /// Encoding: a tag key, source or command that cannot be written.
    BadToken { what: &'static str, token: String },
    /// Encoding: more parameters than a line can carry.
    TooManyParams { count: usize, limit: usize },
    /// Encoding: the line would be `len` bytes, over `limit`.
    WontFit { len: usize, limit: usize },
}

/// What a door does about a line it could not take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reaction {
    /// Say nothing and read on (an empty line, as servers do).
    Ignore,
    /// Answer with this numeric and read on: the line end was found.
    Reply(Numeric),
    /// Answer `FAIL <command> INVALID_UTF8 :...` and read on (IRCv3 `UTF8ONLY`).
    FailInvalidUtf8,
    /// Send `ERROR :<reason>` if the socket still works, then close: the
    /// reader lost its place, the peer left, or the line is garbage.
    Close,
}

impl IrcError {
    /// What the door does about this error. Reading errors leave the reader
    /// not knowing where the next line starts, and lines that are not IRC at
    /// all (no command, NUL bytes) are treated as garbage, as the issue asks:
    /// both close. Over-long parts and unknown commands get a numeric.
    pub fn reaction(&self) -> Reaction {
        match self {
            IrcError::Empty => Reaction::Ignore,
            IrcError::TagsTooLong { .. } | IrcError::BodyTooLong { .. } => {
                Reaction::Reply(Numeric::ERR_INPUTTOOLONG)
            }
            IrcError::BadCommand { .. } => Reaction::Reply(Numeric::ERR_UNKNOWNCOMMAND),
            IrcError::NotUtf8 { .. } => Reaction::FailInvalidUtf8,
            _ => Reaction::Close,
        }
    }

    /// True when the peer merely went quiet for longer than the socket's read timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, IrcError::Io(e) if crate::protocol::is_timeout(e))
    }
}

impl fmt::Display for IrcError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IrcError::Io(e) if crate::protocol::is_timeout(e) => write!(f, "read timed out"),
            IrcError::Io(e) => write!(f, "i/o error: {e}"),
            IrcError::UnexpectedEof => write!(f, "connection closed in the middle of a line"),
            IrcError::LineTooLong { limit } => write!(f, "line longer than {limit} bytes"),
            IrcError::Empty => write!(f, "empty line"),
            IrcError::TagsTooLong { len, limit } => {
                write!(
                    f,
                    "message tags of {len} bytes are over the limit of {limit}"
                )
            }
            IrcError::BodyTooLong { len, limit } => {
                write!(f, "line of {len} bytes is over the limit of {limit}")
            }
            IrcError::NotUtf8 { .. } => write!(f, "line is not valid UTF-8"),
            IrcError::ControlByte { byte } => {
                write!(f, "line contains the control byte 0x{byte:02x}")
            }
            IrcError::BadSource => write!(f, "empty source after ':'"),
            IrcError::NoCommand => write!(f, "line has no command"),
            IrcError::BadCommand { command } => write!(f, "malformed command {command:?}"),
            IrcError::BadParam { index, reason } => write!(f, "parameter {index} {reason}"),
            IrcError::BadToken { what, token } => write!(f, "malformed {what} {token:?}"),
            IrcError::TooManyParams { count, limit } => {
                write!(f, "{count} parameters; at most {limit} fit a line")
            }
            IrcError::WontFit { len, limit } => {
                write!(f, "line of {len} bytes would be over the limit of {limit}")
            }
        }
    }
}

impl std::error::Error for IrcError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            IrcError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for IrcError {
    fn from(e: io::Error) -> IrcError {
        IrcError::Io(e)
    }
}
