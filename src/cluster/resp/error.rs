//! Why bytes from a Redis server are not a RESP value: the one error type of
//! the RESP layer. Every variant means the stream is broken: the decoder no
//! longer knows where the next value starts, so the connection must go.

use std::fmt;

/// Why the bytes received are not RESP (or exceed a cap).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RespError {
    /// A value starts with a byte that names no RESP type.
    UnknownType { byte: u8 },
    /// No CRLF within `limit` bytes of a line's start.
    LineTooLong { limit: usize },
    /// A CR not followed by LF, or a LF not preceded by CR, inside a line.
    BadLineEnd,
    /// A bulk string, blob error or verbatim string not followed by CRLF.
    MissingCrlf,
    /// A length or count that is not plain decimal (or `-1` where allowed).
    BadLength { text: String },
    /// A bulk string (or blob) of `len` bytes, over `limit`.
    BulkTooLong { len: u64, limit: usize },
    /// An aggregate of `len` elements, over `limit`.
    TooManyElements { len: u64, limit: usize },
    /// Aggregates nested deeper than `limit`.
    TooDeep { limit: usize },
    /// More than `limit` values in one reply.
    TooManyValues { limit: usize },
    /// More than `limit` bytes buffered and the reply is still not complete.
    ReplyTooLarge { limit: usize },
    /// An integer that is not `[+-]digits` or does not fit in 64 bits.
    BadInteger { text: String },
    /// A double that is not a decimal number, `inf`, `-inf` or `nan`.
    BadDouble { text: String },
    /// A boolean other than `#t` or `#f`, or a null with something after `_`.
    BadLiteral { text: String },
    /// A big number that is not `[+-]digits`.
    BadBigNumber { text: String },
    /// A verbatim string without its `xxx:` format prefix.
    BadVerbatim,
    /// A simple string that is not UTF-8.
    NotUtf8,
    /// A RESP3 streamed string or aggregate (`$?`), which Redis never sends.
    Streamed,
}

impl fmt::Display for RespError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RespError::UnknownType { byte } => write!(f, "unknown RESP type byte 0x{byte:02x}"),
            RespError::LineTooLong { limit } => write!(f, "RESP line longer than {limit} bytes"),
            RespError::BadLineEnd => write!(f, "stray CR or LF in a RESP line"),
            RespError::MissingCrlf => write!(f, "RESP string not followed by CRLF"),
            RespError::BadLength { text } => write!(f, "bad RESP length {text:?}"),
            RespError::BulkTooLong { len, limit } => {
                write!(f, "RESP string of {len} bytes, over the limit of {limit}")
            }
            RespError::TooManyElements { len, limit } => {
                write!(
                    f,
                    "RESP aggregate of {len} elements, over the limit of {limit}"
                )
            }
            RespError::TooDeep { limit } => {
                write!(f, "RESP aggregates nested deeper than {limit}")
            }
            RespError::TooManyValues { limit } => {
                write!(f, "RESP reply of more than {limit} values")
            }
            RespError::ReplyTooLarge { limit } => {
                write!(f, "RESP reply larger than {limit} bytes")
            }
            RespError::BadInteger { text } => write!(f, "bad RESP integer {text:?}"),
            RespError::BadDouble { text } => write!(f, "bad RESP double {text:?}"),
            RespError::BadLiteral { text } => write!(f, "bad RESP literal {text:?}"),
            RespError::BadBigNumber { text } => write!(f, "bad RESP big number {text:?}"),
            RespError::BadVerbatim => write!(f, "RESP verbatim string without a format"),
            RespError::NotUtf8 => write!(f, "RESP simple string is not UTF-8"),
            RespError::Streamed => write!(f, "RESP3 streamed values are not supported"),
        }
    }
}

impl std::error::Error for RespError {}
