//! Why a request head could not be read, and the status a server answers
//! before it closes the connection.

use std::fmt;
use std::io;

use crate::web::response::StatusCode;

/// Why a request head could not be read. Every variant leaves the stream at
/// an unknown place, so the server answers [`HttpError::status`] and closes.
#[derive(Debug)]
pub enum HttpError {
    Io(io::Error),
    /// The stream ended inside a head.
    UnexpectedEof,
    /// The request line is over its cap (414).
    RequestLineTooLong {
        limit: usize,
    },
    /// A header line, the header count or the whole head is over its cap (431).
    HeaderTooLarge {
        what: &'static str,
    },
    /// Anything outside the grammar or the framing rules (400).
    BadRequest {
        reason: &'static str,
    },
    /// A version other than HTTP/1.0 or HTTP/1.1 (505).
    UnsupportedVersion,
    /// A chunked request body (411). We require `Content-Length` so that a
    /// body's size is checked against its limit before a byte is read, and
    /// our page always knows the length of what it uploads.
    LengthRequired,
    /// A transfer coding other than chunked (501).
    UnsupportedTransferCoding,
}

impl HttpError {
    pub(crate) fn bad(reason: &'static str) -> HttpError {
        HttpError::BadRequest { reason }
    }

    /// The status a server answers this error with; `None` when the peer is
    /// gone or silent (nothing useful can be sent).
    pub fn status(&self) -> Option<StatusCode> {
        Some(match self {
            HttpError::Io(_) | HttpError::UnexpectedEof => return None,
            HttpError::RequestLineTooLong { .. } => StatusCode::URI_TOO_LONG,
            HttpError::HeaderTooLarge { .. } => StatusCode::HEADER_FIELDS_TOO_LARGE,
            HttpError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            HttpError::UnsupportedVersion => StatusCode::HTTP_VERSION_NOT_SUPPORTED,
            HttpError::LengthRequired => StatusCode::LENGTH_REQUIRED,
            HttpError::UnsupportedTransferCoding => StatusCode::NOT_IMPLEMENTED,
        })
    }
}

impl fmt::Display for HttpError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HttpError::Io(e) => write!(f, "i/o error: {e}"),
            HttpError::UnexpectedEof => {
                write!(f, "connection closed in the middle of a request head")
            }
            HttpError::RequestLineTooLong { limit } => {
                write!(f, "request line longer than {limit} bytes")
            }
            HttpError::HeaderTooLarge { what } => write!(f, "{what} is over its limit"),
            HttpError::BadRequest { reason } => write!(f, "bad request: {reason}"),
            HttpError::UnsupportedVersion => write!(f, "HTTP version not supported"),
            HttpError::LengthRequired => {
                write!(f, "chunked request bodies are refused: send Content-Length")
            }
            HttpError::UnsupportedTransferCoding => write!(f, "unsupported transfer coding"),
        }
    }
}

impl std::error::Error for HttpError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HttpError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for HttpError {
    fn from(e: io::Error) -> HttpError {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            HttpError::UnexpectedEof
        } else {
            HttpError::Io(e)
        }
    }
}
