//! Why a WebSocket stream cannot go on, and the close code to send before
//! closing it (RFC 6455 section 7.4.1).

use std::fmt;
use std::io;

use super::close::CloseCode;

/// Why a WebSocket stream cannot go on. Every variant but `Io` and
/// `UnexpectedEof` is the peer breaking a rule; the endpoint sends a close
/// frame with [`WsError::close_code`] and closes the connection.
#[derive(Debug)]
pub enum WsError {
    Io(io::Error),
    /// The stream ended inside a frame.
    UnexpectedEof,
    /// A framing rule broken (masking, reserved bits, opcodes, lengths,
    /// fragmentation, a malformed close frame): 1002.
    Protocol {
        reason: &'static str,
    },
    /// A text message or close reason that is not UTF-8: 1007.
    InvalidUtf8,
    /// A message over the limit: 1009.
    TooBig {
        len: u64,
        limit: usize,
    },
}

impl WsError {
    pub(crate) fn protocol(reason: &'static str) -> WsError {
        WsError::Protocol { reason }
    }

    /// The code to close with; `None` when the peer is gone (no close frame
    /// can be sent: RFC 6455's 1006, which never goes on the wire).
    pub fn close_code(&self) -> Option<CloseCode> {
        match self {
            WsError::Io(_) | WsError::UnexpectedEof => None,
            WsError::Protocol { .. } => Some(CloseCode::PROTOCOL_ERROR),
            WsError::InvalidUtf8 => Some(CloseCode::INVALID_PAYLOAD),
            WsError::TooBig { .. } => Some(CloseCode::MESSAGE_TOO_BIG),
        }
    }

    /// True when the peer merely went quiet for longer than the socket's read timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, WsError::Io(e) if crate::protocol::is_timeout(e))
    }
}

impl fmt::Display for WsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WsError::Io(e) => write!(f, "i/o error: {e}"),
            WsError::UnexpectedEof => write!(f, "connection closed in the middle of a frame"),
            WsError::Protocol { reason } => write!(f, "websocket protocol error: {reason}"),
            WsError::InvalidUtf8 => write!(f, "text is not valid UTF-8"),
            WsError::TooBig { len, limit } => {
                write!(
                    f,
                    "message of {len} bytes is over the limit of {limit} bytes"
                )
            }
        }
    }
}

impl std::error::Error for WsError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            WsError::Io(e) => Some(e),
            _ => None,
        }
    }
}

impl From<io::Error> for WsError {
    fn from(e: io::Error) -> WsError {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            WsError::UnexpectedEof
        } else {
            WsError::Io(e)
        }
    }
}
