//! Why a frame could not be read, and what a server answers before hanging
//! up: the one error type of the protocol layer.

use std::fmt;
use std::io;

use super::Status;

/// Why a frame could not be read.
///
/// `Io` and `UnexpectedEof` mean the peer or the network failed; every other
/// variant means the peer sent something outside the grammar. In both cases
/// the reader no longer knows where the next frame starts.
#[derive(Debug)]
pub enum FrameError {
    Io(io::Error),
    UnexpectedEof,
    LineTooLong { limit: usize },
    TooManyHeaders { limit: usize },
    BadStartLine { line: String },
    BadHeader { line: String },
    NotUtf8,
    MissingContentLength,
    DuplicateContentLength,
    BadContentLength { value: String },
    BodyTooLarge { len: u64, limit: usize },
}

impl FrameError {
    /// True when the peer merely went quiet for longer than the socket's read timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, FrameError::Io(e) if is_timeout(e))
    }

    /// The status code a server answers this error with, before it hangs up.
    pub fn status(&self) -> Status {
        match self {
            FrameError::LineTooLong { .. } | FrameError::TooManyHeaders { .. } => {
                Status::HEADER_TOO_LARGE
            }
            FrameError::BodyTooLarge { .. } => Status::PAYLOAD_TOO_LARGE,
            FrameError::Io(_) | FrameError::UnexpectedEof => Status::REQUEST_TIMEOUT,
            _ => Status::BAD_REQUEST,
        }
    }
}

/// True for the error kinds a socket read timeout produces (they differ by platform).
pub fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FrameError::Io(e) if is_timeout(e) => write!(f, "read timed out"),
            FrameError::Io(e) => write!(f, "i/o error: {e}"),
            FrameError::UnexpectedEof => write!(f, "connection closed in the middle of a frame"),
            FrameError::LineTooLong { limit } => write!(f, "line longer than {limit} bytes"),
            FrameError::TooManyHeaders { limit } => write!(f, "more than {limit} header lines"),
            FrameError::BadStartLine { line } => write!(f, "malformed start line {line:?}"),
            FrameError::BadHeader { line } => write!(f, "malformed header line {line:?}"),
            FrameError::NotUtf8 => write!(f, "start or header line is not valid UTF-8"),
            FrameError::MissingContentLength => write!(f, "missing Content-Length header"),
            FrameError::DuplicateContentLength => write!(f, "Content-Length given more than once"),
            FrameError::BadContentLength { value } => {
                write!(f, "Content-Length {value:?} is not a decimal number")
            }
            FrameError::BodyTooLarge { len, limit } => {
                write!(f, "body of {len} bytes is over the limit of {limit} bytes")
            }
        }
    }
}

impl std::error::Error for FrameError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FrameError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for FrameError {
    fn from(e: io::Error) -> FrameError {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            FrameError::UnexpectedEof
        } else {
            FrameError::Io(e)
        }
    }
}
