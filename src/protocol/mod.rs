//! The wire format: HTTP-style frames, their bounded parser and their encoder.
//!
//! This module knows bytes, not sockets: it reads from any `BufRead` and
//! writes to a `Vec<u8>`, so every limit is unit-tested on byte slices.
//!
//! ```text
//! frame       = start-line *( header-line ) empty-line body
//! start-line  = request-line / status-line
//! request     = VERB SP TARGET SP "CHAT/1.0" EOL      ; VERB: 1-16 of A-Z, TARGET: "/" then no SP
//! status      = "CHAT/1.0" SP 3DIGIT SP reason EOL     ; reason may be empty
//! header-line = NAME ":" *SP value EOL                ; NAME: letters, digits, "-"
//! EOL         = LF / CR LF
//! body        = exactly Content-Length bytes           ; binary-safe
//! ```
//!
//! `Content-Length` must appear exactly once, in decimal. Lines are capped
//! (`Limits::max_line_bytes`, without the EOL), so are the header count and
//! the body; going over any cap is an error, never a reason to keep reading.

mod error;
mod scan;
mod status;

pub use error::{is_timeout, FrameError};
pub use scan::HeadScan;
pub use status::Status;

use std::fmt;
use std::io::{BufRead, Read};

/// The protocol version every start line carries.
pub const VERSION: &str = "CHAT/1.0";

/// Longest start or header line, without its line ending.
pub const MAX_LINE_BYTES: usize = 1024;
/// Most header lines in one frame (`Content-Length` included).
pub const MAX_HEADERS: usize = 32;
/// Largest body of anything but a file upload or download.
pub const MAX_BODY_BYTES: usize = 4 * 1024;
/// Longest verb: verbs are short words, a long one is garbage.
const MAX_VERB_BYTES: usize = 16;

/// Header names used by this protocol (compared case-insensitively on input).
pub mod header {
    pub const CONTENT_LENGTH: &str = "Content-Length";
    pub const CONTENT_TYPE: &str = "Content-Type";
    pub const DATE: &str = "Date";
    pub const FROM: &str = "From";
    pub const TO: &str = "To";
    pub const NICK: &str = "Nick";
    pub const ROOM: &str = "Room";
    /// On `LOGIN`: `many` to be in several rooms at once.
    pub const ROOMS: &str = "Rooms";
    pub const MEMBERS: &str = "Members";
    /// On `LEAVE`: `left`, `quit`, `kicked` or `removed`.
    pub const WHY: &str = "Why";
    /// On `LEAVE` with `Why: kicked`: who sent them out.
    pub const BY: &str = "By";
    pub const SEQ: &str = "Seq";
    pub const HISTORY: &str = "History";
    pub const PASSWORD: &str = "Password";
    pub const NEW_PASSWORD: &str = "New-Password";
    /// `yes` or `no`: whether a nickname is a registered account.
    pub const REGISTERED: &str = "Registered";
    /// `close` on a reply: the server hangs up after sending it.
    pub const CONNECTION: &str = "Connection";
    pub const VISIBILITY: &str = "Visibility";
    pub const FILE_NAME: &str = "File-Name";
    pub const FILE_ID: &str = "File-Id";
    pub const FILE_SIZE: &str = "File-Size";
    pub const DIGEST: &str = "Digest";
    pub const MAX_BODY: &str = "Max-Body";
    pub const MAX_FILE_SIZE: &str = "Max-File-Size";
    /// History paging: a Seq the page is before, after or around.
    pub const BEFORE: &str = "Before";
    pub const AFTER: &str = "After";
    pub const AROUND: &str = "Around";
    /// How many messages a history page may hold.
    pub const LIMIT: &str = "Limit";
    /// `yes` on a whisper that waited for its recipient, who was away.
    pub const KEPT: &str = "Kept";
    /// `yes` on a history or search reply when there is more to fetch.
    pub const MORE: &str = "More";
    /// `yes` on a history reply when there are newer messages than the page.
    pub const MORE_AFTER: &str = "More-After";
}

/// `Content-Type` of chat text.
pub const TEXT_PLAIN: &str = "text/plain; charset=utf-8";

/// The caps the parser enforces. `max_body_bytes` applies to `Frame::read_from`;
/// callers that stream large bodies read the `Head` and choose their own cap.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_line_bytes: usize,
    pub max_headers: usize,
    pub max_body_bytes: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_line_bytes: MAX_LINE_BYTES,
            max_headers: MAX_HEADERS,
            max_body_bytes: MAX_BODY_BYTES,
        }
    }
}

/// The first line of a frame: a request (or pushed event) or a status reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Start {
    Request { verb: String, target: String },
    Status { status: Status, reason: String },
}

/// The start line and headers of a frame, read before its body so the caller
/// can decide how to take the body (into memory, or streamed to a file).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub start: Start,
    /// Every header but `Content-Length`, in arrival order.
    pub headers: Vec<(String, String)>,
    pub content_length: u64,
}

impl Head {
    /// Reads one frame head. `Ok(None)` is a clean end of stream before the
    /// first byte of a frame; end of stream anywhere later is an error.
    ///
    /// Empty lines before a start line are skipped (people type frames by
    /// hand with netcat), but they count against the line cap.
    ///
    /// # Errors
    /// Any `FrameError` but `BodyTooLarge`: the body is not looked at here.
    pub fn read_from<R: BufRead>(r: &mut R, limits: &Limits) -> Result<Option<Head>, FrameError> {
        let mut line = Vec::with_capacity(128);
        let mut skipped = 0;
        let start = loop {
            let n = match read_line(r, &mut line, limits.max_line_bytes)? {
                None if skipped == 0 => return Ok(None),
                None => return Err(FrameError::UnexpectedEof),
                Some(n) => n,
            };
            if !line.is_empty() {
                break parse_start(as_str(&line)?)?;
            }
            skipped += n;
            if skipped > limits.max_line_bytes {
                return Err(FrameError::LineTooLong {
                    limit: limits.max_line_bytes,
                });
            }
        };
        let mut headers = Vec::new();
        let mut content_length = None;
        loop {
            if read_line(r, &mut line, limits.max_line_bytes)?.is_none() {
                return Err(FrameError::UnexpectedEof);
            }
            if line.is_empty() {
                break;
            }
            if headers.len() + usize::from(content_length.is_some()) >= limits.max_headers {
                return Err(FrameError::TooManyHeaders {
                    limit: limits.max_headers,
                });
            }
            let (name, value) = parse_header(as_str(&line)?)?;
            if name.eq_ignore_ascii_case(header::CONTENT_LENGTH) {
                if content_length.is_some() {
                    return Err(FrameError::DuplicateContentLength);
                }
                content_length = Some(parse_length(value)?);
            } else {
                headers.push((name.to_string(), value.to_string()));
            }
        }
        let content_length = content_length.ok_or(FrameError::MissingContentLength)?;
        Ok(Some(Head {
            start,
            headers,
            content_length,
        }))
    }

    /// The value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The verb of a request or event; `None` for a status reply.
    pub fn verb(&self) -> Option<&str> {
        match &self.start {
            Start::Request { verb, .. } => Some(verb),
            Start::Status { .. } => None,
        }
    }

    /// The status of a reply; `None` for a request or event.
    pub fn status_code(&self) -> Option<Status> {
        match &self.start {
            Start::Status { status, .. } => Some(*status),
            Start::Request { .. } => None,
        }
    }

    /// `content_length` as a `usize`, once checked against `limit`.
    ///
    /// # Errors
    /// `BodyTooLarge` when the body is over `limit`.
    pub fn body_len(&self, limit: usize) -> Result<usize, FrameError> {
        match usize::try_from(self.content_length) {
            Ok(len) if len <= limit => Ok(len),
            _ => Err(FrameError::BodyTooLarge {
                len: self.content_length,
                limit,
            }),
        }
    }
}

/// One whole frame, body in memory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub start: Start,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Frame {
    /// A request (client to server) or an event (server to client).
    pub fn request(verb: &str, target: &str) -> Frame {
        Frame {
            start: Start::Request {
                verb: verb.to_string(),
                target: target.to_string(),
            },
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A reply carrying `status`, with its standard reason phrase.
    pub fn status(status: Status) -> Frame {
        Frame {
            start: Start::Status {
                status,
                reason: status.reason().to_string(),
            },
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A reply with a human explanation as its text body.
    pub fn reply(status: Status, text: &str) -> Frame {
        Frame::status(status).with_text(text)
    }

    /// Adds a header. Line breaks and other control characters in `value`
    /// become spaces, so a value can never break the framing.
    pub fn with_header(mut self, name: &str, value: impl fmt::Display) -> Frame {
        let value: String = value
            .to_string()
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        self.headers.push((name.to_string(), value));
        self
    }

    /// Sets a UTF-8 text body and its `Content-Type`.
    pub fn with_text(self, text: &str) -> Frame {
        let mut frame = self.with_header(header::CONTENT_TYPE, TEXT_PLAIN);
        frame.body = text.as_bytes().to_vec();
        frame
    }

    /// Sets a binary body.
    pub fn with_body(mut self, body: Vec<u8>) -> Frame {
        self.body = body;
        self
    }

    /// Reads one frame with its body in memory, capped at `limits.max_body_bytes`.
    /// `Ok(None)` is a clean end of stream between frames.
    ///
    /// # Errors
    /// Any `FrameError`.
    pub fn read_from<R: BufRead>(r: &mut R, limits: &Limits) -> Result<Option<Frame>, FrameError> {
        let Some(head) = Head::read_from(r, limits)? else {
            return Ok(None);
        };
        let len = head.body_len(limits.max_body_bytes)?;
        let body = read_body(r, len)?;
        Ok(Some(Frame::from_head(head, body)))
    }

    /// Joins a head read by `Head::read_from` with its body.
    pub fn from_head(head: Head, body: Vec<u8>) -> Frame {
        Frame {
            start: head.start,
            headers: head.headers,
            body,
        }
    }

    /// The bytes on the wire; `Content-Length` is always computed from the body.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.body.len() + 32 * self.headers.len());
        self.encode_head(&mut out, self.body.len() as u64);
        out.extend_from_slice(&self.body);
        out
    }

    /// Writes the start line and headers for a body of `len` bytes that the
    /// caller sends itself (a file streamed from disk).
    pub fn encode_head(&self, out: &mut Vec<u8>, len: u64) {
        match &self.start {
            Start::Request { verb, target } => {
                out.extend_from_slice(format!("{verb} {target} {VERSION}\r\n").as_bytes());
            }
            Start::Status { status, reason } => {
                out.extend_from_slice(format!("{VERSION} {} {reason}\r\n", status.0).as_bytes());
            }
        }
        for (name, value) in &self.headers {
            out.extend_from_slice(name.as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("{}: {len}\r\n\r\n", header::CONTENT_LENGTH).as_bytes());
    }

    /// The start line and headers announcing a body of `len` bytes that the
    /// caller sends separately, straight from a file: a large body is
    /// streamed, never built in memory. The frame's own body is ignored.
    pub fn encode_head_for(&self, len: u64) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + 32 * self.headers.len());
        self.encode_head(&mut out, len);
        out
    }

    /// The value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }

    /// The verb of a request or event; `None` for a status reply.
    pub fn verb(&self) -> Option<&str> {
        match &self.start {
            Start::Request { verb, .. } => Some(verb),
            Start::Status { .. } => None,
        }
    }

    /// The target of a request or event (`/` for a status reply).
    pub fn target(&self) -> &str {
        match &self.start {
            Start::Request { target, .. } => target,
            Start::Status { .. } => "/",
        }
    }

    /// The status of a reply; `None` for a request or event.
    pub fn status_code(&self) -> Option<Status> {
        match &self.start {
            Start::Status { status, .. } => Some(*status),
            Start::Request { .. } => None,
        }
    }

    /// The body as text.
    ///
    /// # Errors
    /// `NotUtf8` when the body is not valid UTF-8.
    pub fn text(&self) -> Result<&str, FrameError> {
        std::str::from_utf8(&self.body).map_err(|_| FrameError::NotUtf8)
    }

    /// The body as text, with invalid UTF-8 replaced: for display only.
    pub fn text_lossy(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Reads exactly `len` body bytes. The caller has checked `len` against its cap.
///
/// # Errors
/// `UnexpectedEof` when the stream ends first, `Io` on a read error.
pub fn read_body<R: Read>(r: &mut R, len: usize) -> Result<Vec<u8>, FrameError> {
    let mut body = vec![0; len];
    r.read_exact(&mut body)?;
    Ok(body)
}

fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Reads one line into `line` without its EOL. `Ok(None)` is end of stream
/// before any byte; `Ok(Some(n))` gives the bytes consumed.
fn read_line<R: BufRead>(
    r: &mut R,
    line: &mut Vec<u8>,
    limit: usize,
) -> Result<Option<usize>, FrameError> {
    line.clear();
    // Two more than the cap leaves room for CR LF and no more: a longer line
    // is an error before we have buffered more than the cap.
    let cap = limit.saturating_add(2);
    let n = r.by_ref().take(cap as u64).read_until(b'\n', line)?;
    if n == 0 {
        return Ok(None);
    }
    if line.last() != Some(&b'\n') {
        return Err(if n >= cap {
            FrameError::LineTooLong { limit }
        } else {
            FrameError::UnexpectedEof
        });
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    if line.len() > limit {
        return Err(FrameError::LineTooLong { limit });
    }
    Ok(Some(n))
}

fn as_str(line: &[u8]) -> Result<&str, FrameError> {
    std::str::from_utf8(line).map_err(|_| FrameError::NotUtf8)
}

fn parse_start(line: &str) -> Result<Start, FrameError> {
    let bad = || FrameError::BadStartLine {
        line: line.to_string(),
    };
    if line.chars().any(char::is_control) {
        return Err(bad());
    }
    if let Some(rest) = line.strip_prefix(VERSION).and_then(|r| r.strip_prefix(' ')) {
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        let code: u16 = code.parse().map_err(|_| bad())?;
        return Ok(Start::Status {
            status: Status(code),
            reason: reason.to_string(),
        });
    }
    let mut parts = line.split(' ');
    let (Some(verb), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let verb_ok = !verb.is_empty()
        && verb.len() <= MAX_VERB_BYTES
        && verb.bytes().all(|b| b.is_ascii_uppercase() || b == b'-');
    if !verb_ok || !target.starts_with('/') || version != VERSION {
        return Err(bad());
    }
    Ok(Start::Request {
        verb: verb.to_string(),
        target: target.to_string(),
    })
}

fn parse_header(line: &str) -> Result<(&str, &str), FrameError> {
    let bad = || FrameError::BadHeader {
        line: line.to_string(),
    };
    let (name, value) = line.split_once(':').ok_or_else(bad)?;
    let name_ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
    if !name_ok || value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(bad());
    }
    Ok((name, value.trim_matches([' ', '\t'])))
}

fn parse_length(value: &str) -> Result<u64, FrameError> {
    let bad = || FrameError::BadContentLength {
        value: value.to_string(),
    };
    // u64::MAX has 20 digits; a longer value is refused before parsing it.
    if value.is_empty() || value.len() > 20 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    value.parse().map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(bytes: &[u8]) -> Result<Option<Frame>, FrameError> {
        Frame::read_from(&mut &bytes[..], &Limits::default())
    }

    fn parse_with(bytes: &[u8], limits: Limits) -> Result<Option<Frame>, FrameError> {
        Frame::read_from(&mut &bytes[..], &limits)
    }

    #[test]
    fn parses_a_request_with_headers_and_body() {
        let bytes = b"SAY /rooms/lobby CHAT/1.0\r\nFrom: ntu\r\nContent-Length: 5\r\n\r\nhello";
        let frame = parse(bytes).unwrap().unwrap();
        assert_eq!(frame.verb(), Some("SAY"));
        assert_eq!(frame.target(), "/rooms/lobby");
        assert_eq!(frame.header("from"), Some("ntu"));
        assert_eq!(
            frame.header("Content-Length"),
            None,
            "length is not kept as a header"
        );
        assert_eq!(frame.text().unwrap(), "hello");
    }

    #[test]
    fn parses_a_status_reply_with_a_spaced_reason() {
        let frame = parse(b"CHAT/1.0 409 Conflict here\nContent-Length: 0\n\n")
            .unwrap()
            .unwrap();
        assert_eq!(frame.status_code(), Some(Status::CONFLICT));
        assert_eq!(
            frame.start,
            Start::Status {
                status: Status(409),
                reason: "Conflict here".into()
            }
        );
    }

    #[test]
    fn reads_two_frames_back_to_back_then_clean_eof() {
        let one = Frame::request("SAY", "/").with_text("a").encode();
        let two = Frame::request("SAY", "/").with_text("b\r\n\r\n").encode();
        let bytes = [one, two].concat();
        let mut r = &bytes[..];
        let limits = Limits::default();
        assert_eq!(
            Frame::read_from(&mut r, &limits).unwrap().unwrap().body,
            b"a"
        );
        assert_eq!(
            Frame::read_from(&mut r, &limits).unwrap().unwrap().body,
            b"b\r\n\r\n"
        );
        assert!(Frame::read_from(&mut r, &limits).unwrap().is_none());
    }

    #[test]
    fn clean_eof_before_a_frame_is_none() {
        assert!(parse(b"").unwrap().is_none());
    }

    #[test]
    fn eof_in_the_middle_of_a_frame_is_an_error() {
        for cut in [
            b"SAY".as_slice(),
            b"SAY / CHAT/1.0\n",
            b"SAY / CHAT/1.0\nContent-Length: 4\n\nab",
        ] {
            assert!(
                matches!(parse(cut), Err(FrameError::UnexpectedEof)),
                "{:?}",
                String::from_utf8_lossy(cut)
            );
        }
    }

    #[test]
    fn blank_lines_between_frames_are_skipped_but_bounded() {
        let frame = parse(b"\r\n\nPING / CHAT/1.0\nContent-Length: 0\n\n")
            .unwrap()
            .unwrap();
        assert_eq!(frame.verb(), Some("PING"));
        let blanks = vec![b'\n'; MAX_LINE_BYTES + 2];
        assert!(matches!(
            parse(&blanks),
            Err(FrameError::LineTooLong { .. })
        ));
    }

    #[test]
    fn line_of_exactly_the_limit_passes_and_one_more_fails() {
        let limits = Limits {
            max_line_bytes: 30,
            ..Limits::default()
        };
        let value = |n: usize| "x".repeat(n - "X-Pad: ".len());
        let ok = format!(
            "PING / CHAT/1.0\r\nX-Pad: {}\r\nContent-Length: 0\r\n\r\n",
            value(30)
        );
        assert!(parse_with(ok.as_bytes(), limits).unwrap().is_some());
        let long = format!(
            "PING / CHAT/1.0\r\nX-Pad: {}\r\nContent-Length: 0\r\n\r\n",
            value(31)
        );
        assert!(matches!(
            parse_with(long.as_bytes(), limits),
            Err(FrameError::LineTooLong { limit: 30 })
        ));
    }

    #[test]
    fn a_megabyte_without_newline_fails_at_the_cap() {
        let bytes = vec![b'A'; 1 << 20];
        let mut r = &bytes[..];
        assert!(matches!(
            Frame::read_from(&mut r, &Limits::default()),
            Err(FrameError::LineTooLong { .. })
        ));
        assert!(
            r.len() >= (1 << 20) - MAX_LINE_BYTES - 2,
            "read no further than the cap"
        );
    }

    #[test]
    fn header_count_at_the_limit_passes_and_one_more_fails() {
        let frame_with = |extra: usize| {
            let mut s = String::from("PING / CHAT/1.0\n");
            for i in 0..extra {
                s.push_str(&format!("X-{i}: v\n"));
            }
            s.push_str("Content-Length: 0\n\n");
            s
        };
        assert!(parse(frame_with(MAX_HEADERS - 1).as_bytes())
            .unwrap()
            .is_some());
        assert!(matches!(
            parse(frame_with(MAX_HEADERS).as_bytes()),
            Err(FrameError::TooManyHeaders { limit: MAX_HEADERS })
        ));
    }

    #[test]
    fn body_of_exactly_the_limit_passes_and_one_more_fails() {
        let at = Frame::request("SAY", "/")
            .with_body(vec![b'x'; MAX_BODY_BYTES])
            .encode();
        assert!(parse(&at).unwrap().is_some());
        let over = Frame::request("SAY", "/")
            .with_body(vec![b'x'; MAX_BODY_BYTES + 1])
            .encode();
        assert!(matches!(
            parse(&over),
            Err(FrameError::BodyTooLarge { len, .. }) if len == MAX_BODY_BYTES as u64 + 1
        ));
    }

    #[test]
    fn huge_content_length_is_refused_before_allocating() {
        let bytes = b"SAY / CHAT/1.0\nContent-Length: 18446744073709551615\n\n";
        assert!(matches!(parse(bytes), Err(FrameError::BodyTooLarge { .. })));
        let bytes = b"SAY / CHAT/1.0\nContent-Length: 99999999999999999999999\n\n";
        assert!(matches!(
            parse(bytes),
            Err(FrameError::BadContentLength { .. })
        ));
    }

    #[test]
    fn missing_duplicate_and_non_numeric_content_length_are_errors() {
        assert!(matches!(
            parse(b"SAY / CHAT/1.0\nFrom: a\n\n"),
            Err(FrameError::MissingContentLength)
        ));
        assert!(matches!(
            parse(b"SAY / CHAT/1.0\nContent-Length: 1\ncontent-length: 1\n\nx"),
            Err(FrameError::DuplicateContentLength)
        ));
        for bad in ["-1", "+1", "1.0", "0x10", "", " ", "1 2", "١"] {
            let bytes = format!("SAY / CHAT/1.0\nContent-Length: {bad}\n\n");
            assert!(
                matches!(
                    parse(bytes.as_bytes()),
                    Err(FrameError::BadContentLength { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn malformed_start_lines_are_refused() {
        for bad in [
            "say / CHAT/1.0",
            "SAY CHAT/1.0",
            "SAY rooms CHAT/1.0",
            "SAY / HTTP/1.1",
            "SAY  / CHAT/1.0",
            "SAY / CHAT/1.0 extra",
            "CHAT/1.0 20 OK",
            "CHAT/1.0 2000 OK",
            "CHAT/1.0 abc OK",
            "VERYVERYLONGVERBNAME / CHAT/1.0",
            "SAY /\u{1b}[2J CHAT/1.0",
        ] {
            let bytes = format!("{bad}\nContent-Length: 0\n\n");
            assert!(
                matches!(
                    parse(bytes.as_bytes()),
                    Err(FrameError::BadStartLine { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn malformed_headers_are_refused() {
        for bad in [
            "NoColon",
            ": empty-name",
            "Bad Name: v",
            "X: a\rb",
            "X: \u{7}bell",
        ] {
            let bytes = format!("SAY / CHAT/1.0\n{bad}\nContent-Length: 0\n\n");
            assert!(
                matches!(parse(bytes.as_bytes()), Err(FrameError::BadHeader { .. })),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn non_utf8_head_is_refused_but_binary_body_is_fine() {
        assert!(matches!(
            parse(b"SAY /\xff CHAT/1.0\nContent-Length: 0\n\n"),
            Err(FrameError::NotUtf8)
        ));
        let frame = parse(b"UPLOAD /files CHAT/1.0\nContent-Length: 3\n\n\xff\x00\xfe")
            .unwrap()
            .unwrap();
        assert_eq!(frame.body, [0xff, 0, 0xfe]);
        assert!(matches!(frame.text(), Err(FrameError::NotUtf8)));
    }

    #[test]
    fn encode_then_parse_round_trips() {
        let frame = Frame::request("WHISPER", "/users/bob")
            .with_header(header::FROM, "ntu")
            .with_text("tab\there\nnewline\r\nand é");
        assert_eq!(parse(&frame.encode()).unwrap().unwrap(), frame);
        let reply = Frame::reply(Status::CONFLICT, "nickname taken");
        assert_eq!(parse(&reply.encode()).unwrap().unwrap(), reply);
    }

    #[test]
    fn a_streamed_head_announces_the_length_and_parses_back() {
        let frame = Frame::request("UPLOAD", "/files").with_header(header::FILE_NAME, "a.bin");
        let mut bytes = frame.encode_head_for(5);
        assert!(bytes.ends_with(b"Content-Length: 5\r\n\r\n"));
        bytes.extend_from_slice(b"\0\x01\x02\x03\x04");
        let mut r = &bytes[..];
        let head = Head::read_from(&mut r, &Limits::default())
            .unwrap()
            .unwrap();
        assert_eq!(head.verb(), Some("UPLOAD"));
        assert_eq!(head.status_code(), None);
        assert_eq!(head.header("file-name"), Some("a.bin"));
        assert_eq!(head.content_length, 5);
        assert_eq!(r, b"\0\x01\x02\x03\x04", "the body is left unread");
    }

    #[test]
    fn header_values_cannot_inject_lines() {
        let frame = Frame::request("SAY", "/").with_header(header::FROM, "a\r\nContent-Length: 99");
        let parsed = parse(&frame.encode()).unwrap().unwrap();
        assert_eq!(parsed.headers.len(), 1);
        assert_eq!(parsed.body, b"");
    }

    /// A tiny deterministic generator (xorshift64*), so a failing case can be replayed.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }
    }

    #[test]
    fn random_and_mutated_bytes_never_panic() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let valid = Frame::request("SAY", "/rooms/lobby")
            .with_header(header::FROM, "ntu")
            .with_text("Hello World! I'm Ma 19")
            .encode();
        for _ in 0..20_000 {
            let mut bytes = valid.clone();
            match rng.next() % 4 {
                0 => bytes.truncate((rng.next() % bytes.len() as u64) as usize),
                1 => {
                    let i = (rng.next() % bytes.len() as u64) as usize;
                    bytes[i] = rng.next() as u8;
                }
                2 => {
                    let n = (rng.next() % 64) as usize;
                    bytes = (0..n).map(|_| rng.next() as u8).collect();
                }
                _ => {
                    let i = (rng.next() % bytes.len() as u64) as usize;
                    let junk: Vec<u8> = (0..rng.next() % 8).map(|_| rng.next() as u8).collect();
                    bytes.splice(i..i, junk);
                }
            }
            let mut r = &bytes[..];
            // Whatever comes back, it must come back: no panic, no endless loop.
            while let Ok(Some(_)) = Frame::read_from(&mut r, &Limits::default()) {}
        }
    }
}
