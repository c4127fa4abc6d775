//! The RESP decoder: finds one whole value in a byte buffer, strictly and
//! within [`Limits`]. It is incremental: the place reached in a value that is
//! not complete yet (the aggregates open so far and what they hold) is kept,
//! so bytes that arrive later continue the parse instead of restarting it.

use std::io::{self, Read};

use super::{Limits, RespError, Value};

/// How many bytes [`Decoder::read_from`] asks the socket for at a time.
const READ_CHUNK_BYTES: usize = 64 * 1024;
/// Aggregates reserve at most this many slots before their elements arrive,
/// so a hostile count costs nothing until the elements themselves are here.
const PREALLOC_ELEMENTS: usize = 64;
/// An idle buffer larger than this gives its memory back.
const KEEP_IDLE_BYTES: usize = 1024 * 1024;

/// Parses one value at the start of `buf`. `Ok(None)` means the value is not
/// complete yet (read more and call again); `Ok(Some((value, used)))` says how
/// many bytes it took. This is the pure form of [`Decoder`], for tests and
/// one-shot use: each call starts from the beginning of `buf`.
///
/// # Errors
///
/// A [`RespError`] when the bytes are not RESP or break a cap.
pub fn parse(buf: &[u8], limits: &Limits) -> Result<Option<(Value, usize)>, RespError> {
    run(&mut State::at(0), buf, limits)
}

/// A byte buffer and the place reached in the value at its front: feed it
/// bytes (or let it read a socket), take whole values out.
///
/// After an error the decoder keeps returning that error: the stream is
/// broken and the connection that fed it must be dropped.
#[derive(Debug)]
pub struct Decoder {
    /// Received bytes in `buf[..end]`; the rest is room for the next read,
    /// zeroed once when it grew rather than before every read.
    buf: Vec<u8>,
    end: usize,
    state: State,
    limits: Limits,
    failed: Option<RespError>,
}

impl Decoder {
    /// An empty decoder enforcing `limits`.
    pub fn new(limits: Limits) -> Decoder {
        Decoder {
            buf: Vec::new(),
            end: 0,
            state: State::at(0),
            limits,
            failed: None,
        }
    }

    /// Appends bytes received.
    pub fn feed(&mut self, bytes: &[u8]) {
        self.make_room(bytes.len());
        self.buf[self.end..self.end + bytes.len()].copy_from_slice(bytes);
        self.end += bytes.len();
    }

    /// Reads once from `source` into the buffer and returns how many bytes
    /// came (0 at end of stream).
    ///
    /// # Errors
    ///
    /// The read's own error (a read timeout included); nothing buffered is lost.
    pub fn read_from(&mut self, source: &mut impl Read) -> io::Result<usize> {
        self.make_room(READ_CHUNK_BYTES);
        let n = source.read(&mut self.buf[self.end..])?;
        self.end += n;
        Ok(n)
    }

    /// The next whole value, or `Ok(None)` until one is buffered.
    ///
    /// # Errors
    ///
    /// A [`RespError`] when the bytes are not RESP or break a cap; every later
    /// call returns it again.
    pub fn next_value(&mut self) -> Result<Option<Value>, RespError> {
        if let Some(e) = &self.failed {
            return Err(e.clone());
        }
        match run(&mut self.state, &self.buf[..self.end], &self.limits) {
            Ok(Some((value, end))) => {
                self.state = State::at(end);
                Ok(Some(value))
            }
            Ok(None) => Ok(None),
            Err(e) => {
                self.failed = Some(e.clone());
                Err(e)
            }
        }
    }

    /// True when bytes of a value that is not complete yet are buffered.
    pub fn has_partial(&self) -> bool {
        self.state.start < self.end
    }

    /// Moves the value in progress to the front of the buffer (dropping the
    /// values already taken; its positions move with it), then makes sure
    /// `wanted` more bytes fit.
    fn make_room(&mut self, wanted: usize) {
        let shift = self.state.start;
        if shift > 0 {
            self.buf.copy_within(shift..self.end, 0);
            self.end -= shift;
            self.state.start = 0;
            self.state.pos -= shift;
        }
        if self.end == 0 && self.buf.len() > KEEP_IDLE_BYTES {
            self.buf = Vec::new();
        }
        let needed = self.end + wanted;
        if needed > self.buf.len() {
            // Doubling keeps a large value's arrival linear in its size.
            let size = needed.max(self.buf.len() * 2);
            self.buf.resize(size, 0);
        }
    }
}

/// An aggregate whose elements are still arriving.
#[derive(Debug)]
struct Open {
    kind: Kind,
    expected: usize,
    items: Vec<Value>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Array,
    Set,
    Push,
    Map,
    /// Parsed for its length, then dropped (see the module docs of `resp`).
    Attribute,
}

/// What one type byte and its line (and blob) amount to.
enum Item {
    Value(Value),
    Open(Kind, usize),
}

/// The place reached in the value that starts at `start`.
#[derive(Debug)]
struct State {
    /// Where the value began (for the reply size cap).
    start: usize,
    /// Where the next item starts.
    pos: usize,
    /// Aggregates opened and not complete, outermost first.
    stack: Vec<Open>,
    /// Values seen so far in this reply, at every level.
    values: usize,
}

impl State {
    fn at(pos: usize) -> State {
        State {
            start: pos,
            pos,
            stack: Vec::new(),
            values: 0,
        }
    }
}

/// Parses items from `state.pos` until the value is whole or the bytes run out.
fn run(
    state: &mut State,
    buf: &[u8],
    limits: &Limits,
) -> Result<Option<(Value, usize)>, RespError> {
    loop {
        let Some((item, next)) = item(buf, state.pos, limits)? else {
            if buf.len() - state.start > limits.reply_bytes {
                return Err(RespError::ReplyTooLarge {
                    limit: limits.reply_bytes,
                });
            }
            return Ok(None);
        };
        state.pos = next;
        state.values += 1;
        if state.values > limits.reply_values {
            return Err(RespError::TooManyValues {
                limit: limits.reply_values,
            });
        }
        let mut done = match item {
            Item::Value(value) => Some(value),
            Item::Open(kind, len) => {
                if state.stack.len() >= limits.depth {
                    return Err(RespError::TooDeep {
                        limit: limits.depth,
                    });
                }
                let open = Open {
                    kind,
                    expected: len,
                    items: Vec::with_capacity(len.min(PREALLOC_ELEMENTS)),
                };
                if len == 0 {
                    finish(open)
                } else {
                    state.stack.push(open);
                    None
                }
            }
        };
        // A whole value either is the reply or completes its parent, which
        // may complete its own parent in turn.
        while let Some(value) = done.take() {
            let Some(top) = state.stack.last_mut() else {
                if state.pos - state.start > limits.reply_bytes {
                    return Err(RespError::ReplyTooLarge {
                        limit: limits.reply_bytes,
                    });
                }
                return Ok(Some((value, state.pos)));
            };
            top.items.push(value);
            if top.items.len() == top.expected {
                // Cannot fail: `top` was borrowed from this stack's last entry.
                done = finish(state.stack.pop().expect("the top was just seen"));
            }
        }
    }
}

/// The value an aggregate makes once its elements are in (none for an
/// attribute, which is dropped).
fn finish(open: Open) -> Option<Value> {
    Some(match open.kind {
        Kind::Array => Value::Array(open.items),
        Kind::Set => Value::Set(open.items),
        Kind::Push => Value::Push(open.items),
        Kind::Map => {
            let mut pairs = Vec::with_capacity(open.items.len() / 2);
            let mut items = open.items.into_iter();
            while let (Some(k), Some(v)) = (items.next(), items.next()) {
                pairs.push((k, v));
            }
            Value::Map(pairs)
        }
        Kind::Attribute => return None,
    })
}

/// Parses the item at `pos`: a whole scalar, or an aggregate's header.
fn item(buf: &[u8], pos: usize, limits: &Limits) -> Result<Option<(Item, usize)>, RespError> {
    let Some(&kind) = buf.get(pos) else {
        return Ok(None);
    };
    // An unknown type byte is garbage now, whatever follows it.
    if !b"+-:$*_,#(!=%~>|".contains(&kind) {
        return Err(RespError::UnknownType { byte: kind });
    }
    let Some((line, after)) = line(buf, pos + 1, limits.line_bytes)? else {
        return Ok(None);
    };
    let value = match kind {
        b'+' => Value::Simple(
            std::str::from_utf8(line)
                .map_err(|_| RespError::NotUtf8)?
                .to_string(),
        ),
        b'-' => Value::Error(String::from_utf8_lossy(line).into_owned()),
        b':' => Value::Integer(integer(line)?),
        b'_' if line.is_empty() => Value::Null,
        b'#' if line == b"t" => Value::Boolean(true),
        b'#' if line == b"f" => Value::Boolean(false),
        b'_' | b'#' => return Err(RespError::BadLiteral { text: lossy(line) }),
        b',' => Value::Double(double(line)?),
        b'(' => Value::BigNumber(big_number(line)?),
        b'$' | b'!' | b'=' => {
            let Some(len) = length(line, kind == b'$')? else {
                return Ok(Some((Item::Value(Value::Null), after)));
            };
            if len > limits.bulk_bytes as u64 {
                return Err(RespError::BulkTooLong {
                    len,
                    limit: limits.bulk_bytes,
                });
            }
            // Within the cap, so it fits in usize.
            let len = len as usize;
            let Some((bytes, end)) = blob(buf, after, len)? else {
                return Ok(None);
            };
            let value = match kind {
                b'$' => Value::Bulk(bytes.to_vec()),
                b'!' => Value::Error(String::from_utf8_lossy(bytes).into_owned()),
                _ => verbatim(bytes)?,
            };
            return Ok(Some((Item::Value(value), end)));
        }
        _ => {
            let (kind, per_entry) = match kind {
                b'*' => (Kind::Array, 1),
                b'~' => (Kind::Set, 1),
                b'>' => (Kind::Push, 1),
                b'%' => (Kind::Map, 2),
                _ => (Kind::Attribute, 2),
            };
            let Some(count) = length(line, kind == Kind::Array)? else {
                return Ok(Some((Item::Value(Value::Null), after)));
            };
            let len = count.saturating_mul(per_entry);
            if len > limits.aggregate_len as u64 {
                return Err(RespError::TooManyElements {
                    len,
                    limit: limits.aggregate_len,
                });
            }
            return Ok(Some((Item::Open(kind, len as usize), after)));
        }
    };
    Ok(Some((Item::Value(value), after)))
}

/// The line starting at `start` (without its CRLF) and where the next item
/// starts; `Ok(None)` if its CRLF has not arrived.
fn line(buf: &[u8], start: usize, limit: usize) -> Result<Option<(&[u8], usize)>, RespError> {
    // A line of `limit` bytes ends at offset `limit`; look no further.
    let window = &buf[start..buf.len().min(start.saturating_add(limit).saturating_add(1))];
    match window.iter().position(|&b| b == b'\r' || b == b'\n') {
        Some(at) if window[at] == b'\n' => Err(RespError::BadLineEnd),
        Some(at) => match buf.get(start + at + 1) {
            Some(b'\n') => Ok(Some((&window[..at], start + at + 2))),
            Some(_) => Err(RespError::BadLineEnd),
            None => Ok(None),
        },
        None if window.len() > limit => Err(RespError::LineTooLong { limit }),
        None => Ok(None),
    }
}

/// The `len` bytes at `start` and the position after their CRLF.
fn blob(buf: &[u8], start: usize, len: usize) -> Result<Option<(&[u8], usize)>, RespError> {
    let end = start + len;
    if buf.len() < end + 2 {
        return Ok(None);
    }
    if &buf[end..end + 2] != b"\r\n" {
        return Err(RespError::MissingCrlf);
    }
    Ok(Some((&buf[start..end], end + 2)))
}

/// A length or count: plain decimal without sign or leading zeros, or `-1`
/// (`None`) where RESP2 uses it for null.
fn length(line: &[u8], null_allowed: bool) -> Result<Option<u64>, RespError> {
    if line == b"?" {
        return Err(RespError::Streamed);
    }
    if null_allowed && line == b"-1" {
        return Ok(None);
    }
    let bad = || RespError::BadLength { text: lossy(line) };
    let leading_zero = line.len() > 1 && line[0] == b'0';
    if line.is_empty() || leading_zero || !line.iter().all(u8::is_ascii_digit) {
        return Err(bad());
    }
    line.iter()
        .try_fold(0u64, |n, &d| {
            n.checked_mul(10)?.checked_add(u64::from(d - b'0'))
        })
        .map(Some)
        .ok_or_else(bad)
}

/// True for `[+-]digits` (at least one digit).
fn is_signed_digits(text: &[u8]) -> bool {
    let digits = text
        .strip_prefix(b"-")
        .or(text.strip_prefix(b"+"))
        .unwrap_or(text);
    !digits.is_empty() && digits.iter().all(u8::is_ascii_digit)
}

fn integer(line: &[u8]) -> Result<i64, RespError> {
    let bad = || RespError::BadInteger { text: lossy(line) };
    if !is_signed_digits(line) {
        return Err(bad());
    }
    // Only ASCII sign and digits here, so the text is UTF-8.
    std::str::from_utf8(line)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)
}

fn big_number(line: &[u8]) -> Result<String, RespError> {
    if !is_signed_digits(line) {
        return Err(RespError::BadBigNumber { text: lossy(line) });
    }
    Ok(String::from_utf8_lossy(line).into_owned())
}

/// `inf`, `-inf`, `nan`, or `[+-]digits[.digits][(e|E)[+-]digits]`.
fn double(line: &[u8]) -> Result<f64, RespError> {
    match line {
        b"inf" | b"+inf" => return Ok(f64::INFINITY),
        b"-inf" => return Ok(f64::NEG_INFINITY),
        b"nan" => return Ok(f64::NAN),
        _ => {}
    }
    let bad = || RespError::BadDouble { text: lossy(line) };
    let (mantissa, exponent) = match line.iter().position(|&b| b == b'e' || b == b'E') {
        Some(at) => (&line[..at], Some(&line[at + 1..])),
        None => (line, None),
    };
    let (int, frac) = match mantissa.iter().position(|&b| b == b'.') {
        Some(at) => (&mantissa[..at], Some(&mantissa[at + 1..])),
        None => (mantissa, None),
    };
    let frac_ok = frac.is_none_or(|f| !f.is_empty() && f.iter().all(u8::is_ascii_digit));
    if !is_signed_digits(int) || !frac_ok || !exponent.is_none_or(is_signed_digits) {
        return Err(bad());
    }
    std::str::from_utf8(line)
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or_else(bad)
}

/// `xxx:text`: a three-byte format, a colon, the text.
fn verbatim(bytes: &[u8]) -> Result<Value, RespError> {
    if bytes.len() < 4 || bytes[3] != b':' || !bytes[..3].iter().all(u8::is_ascii_alphanumeric) {
        return Err(RespError::BadVerbatim);
    }
    Ok(Value::Verbatim {
        format: lossy(&bytes[..3]),
        text: bytes[4..].to_vec(),
    })
}

fn lossy(bytes: &[u8]) -> String {
    // Error texts quote what was received; keep them short.
    let shown = &bytes[..bytes.len().min(64)];
    String::from_utf8_lossy(shown).into_owned()
}
