//! HTTP/1.1 request heads (RFC 9112): a strict, bounded parser over any
//! `BufRead`, and the keep-alive and body-length rules a server needs. No
//! sockets; responses are built in [`super::response`].
//!
//! ```text
//! head         = *( CRLF ) request-line *( header-line ) CRLF   ; LF alone is accepted as CRLF
//! request-line = method SP request-target SP ( "HTTP/1.1" / "HTTP/1.0" ) CRLF
//! method       = 1*16 tchar
//! target       = "/" *pchar-or-"/" [ "?" query ]                ; origin-form
//!              / "http://" authority [ origin-form ]            ; absolute-form
//!              / "*"                                            ; OPTIONS only
//! header-line  = token ":" OWS value OWS CRLF                   ; no obs-fold, no CTL but HTAB
//! ```
//!
//! Request bodies must be announced by one decimal `Content-Length`: a
//! chunked body is refused with 411 (see [`HttpError::LengthRequired`]).

mod error;
mod target;

pub use error::HttpError;
pub use target::{decode_percent, decode_query_value, encode_percent, parse_target, Target};

use std::io::{BufRead, Read};

/// Longest request line, without its line ending. RFC 9112 section 3
/// recommends supporting at least 8,000 octets; our own URLs are short.
pub const MAX_REQUEST_LINE_BYTES: usize = 8 * 1024;
/// Longest header line, without its line ending: large enough for cookies
/// a browser may attach for the host, small enough to bound a thread.
pub const MAX_HEADER_LINE_BYTES: usize = 8 * 1024;
/// Most header lines in one request head.
pub const MAX_HEADERS: usize = 100;
/// Most bytes of one whole head (request line, headers, line endings).
pub const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Longest method name; ours are at most 7 letters (`OPTIONS`).
const MAX_METHOD_BYTES: usize = 16;

/// The request methods we name; any other token is kept as `Other`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Method {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Options,
    Other(String),
}

impl Method {
    fn parse(token: &str) -> Method {
        match token {
            "GET" => Method::Get,
            "HEAD" => Method::Head,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "OPTIONS" => Method::Options,
            other => Method::Other(other.to_string()),
        }
    }

    /// The method as it appears on the wire.
    pub fn as_str(&self) -> &str {
        match self {
            Method::Get => "GET",
            Method::Head => "HEAD",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Options => "OPTIONS",
            Method::Other(m) => m,
        }
    }
}

/// The protocol version of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    Http10,
    Http11,
}

/// A parsed request head. Its body, if any, is `content_length` bytes that
/// follow on the stream; the caller decides whether and how to read them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub method: Method,
    /// The request target as sent (for logs).
    pub target: String,
    /// The path, percent-decoded; `*` for `OPTIONS *`.
    pub path: String,
    /// The query after `?`, still percent-encoded.
    pub query: Option<String>,
    pub version: Version,
    /// Every header line but `Content-Length`, in arrival order, values trimmed.
    pub headers: Vec<(String, String)>,
    /// The body's length: 0 when the request announced none.
    pub content_length: u64,
}

impl Request {
    /// Reads one request head. `Ok(None)` is a clean end of stream before
    /// its first byte (a keep-alive connection the client closed).
    ///
    /// # Errors
    /// An [`HttpError`]; each one means the stream can no longer be trusted,
    /// so the server answers with [`HttpError::status`] and closes.
    pub fn read_from<R: BufRead>(r: &mut R) -> Result<Option<Request>, HttpError> {
        let mut budget = MAX_HEAD_BYTES;
        let mut line = Vec::with_capacity(256);
        // RFC 9112 section 2.2: empty lines before a request line are ignored
        // (some clients send a CRLF after a POST body); they count against
        // the head's budget.
        let mut first = true;
        loop {
            let limit = MAX_REQUEST_LINE_BYTES;
            match read_line(r, &mut line, limit, &mut budget)? {
                None if first => return Ok(None),
                None => return Err(HttpError::UnexpectedEof),
                Some(()) if line.is_empty() => first = false,
                Some(()) => break,
            }
        }
        let (method, target, version) = parse_request_line(&line)?;
        let parsed = parse_target(&target, &method)?;
        let mut headers: Vec<(String, String)> = Vec::new();
        let mut content_length = None;
        loop {
            match read_line(r, &mut line, MAX_HEADER_LINE_BYTES, &mut budget) {
                Ok(Some(())) => {}
                Ok(None) => return Err(HttpError::UnexpectedEof),
                Err(HttpError::RequestLineTooLong { .. }) => {
                    return Err(HttpError::HeaderTooLarge {
                        what: "a header line",
                    })
                }
                Err(e) => return Err(e),
            }
            if line.is_empty() {
                break;
            }
            if headers.len() + usize::from(content_length.is_some()) >= MAX_HEADERS {
                return Err(HttpError::HeaderTooLarge {
                    what: "the number of header lines",
                });
            }
            let (name, value) = parse_header(&line)?;
            if name.eq_ignore_ascii_case("Content-Length") {
                if content_length.is_some() {
                    return Err(HttpError::bad("Content-Length given more than once"));
                }
                content_length = Some(parse_content_length(&value)?);
            } else {
                headers.push((name, value));
            }
        }
        let request = Request {
            method,
            target,
            path: parsed.path,
            query: parsed.query,
            version,
            headers,
            content_length: content_length.unwrap_or(0),
        };
        request.check_framing(content_length.is_some())?;
        Ok(Some(request))
    }

    /// The rules that need the whole head: `Host` (RFC 9112 section 3.2) and
    /// how the body is delimited (section 6.3).
    fn check_framing(&self, has_length: bool) -> Result<(), HttpError> {
        let hosts = self.header_values("Host").count();
        if hosts > 1 {
            return Err(HttpError::bad("Host given more than once"));
        }
        if hosts == 0 && self.version == Version::Http11 {
            return Err(HttpError::bad("an HTTP/1.1 request needs a Host header"));
        }
        if self.header("Transfer-Encoding").is_some() {
            if self.version == Version::Http10 || has_length {
                // Both lengths at once is how requests are smuggled past a
                // proxy; HTTP/1.0 has no transfer codings at all.
                return Err(HttpError::bad(
                    "Transfer-Encoding with Content-Length or in HTTP/1.0",
                ));
            }
            let last = self
                .header_values("Transfer-Encoding")
                .flat_map(|v| v.split(','))
                .map(str::trim)
                .last()
                .unwrap_or("");
            return Err(if last.eq_ignore_ascii_case("chunked") {
                HttpError::LengthRequired
            } else {
                HttpError::UnsupportedTransferCoding
            });
        }
        Ok(())
    }

    /// The value of the first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The values of every header line called `name` (case-insensitive).
    pub fn header_values<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// True when a comma-separated header (`Connection`, `Upgrade`) lists
    /// `token`, in any of its lines, ignoring case.
    pub fn has_token(&self, name: &str, token: &str) -> bool {
        self.header_values(name)
            .flat_map(|v| v.split(','))
            .any(|t| t.trim().eq_ignore_ascii_case(token))
    }

    /// Whether the connection stays open after the response (RFC 9112
    /// section 9.3): HTTP/1.1 unless `Connection: close`, HTTP/1.0 only
    /// with `Connection: keep-alive`.
    pub fn keep_alive(&self) -> bool {
        match self.version {
            Version::Http11 => !self.has_token("Connection", "close"),
            Version::Http10 => self.has_token("Connection", "keep-alive"),
        }
    }

    /// The first query parameter called `name`, decoded (`+` is a space).
    /// `None` when it is absent or its value is not valid percent-encoded UTF-8.
    pub fn query_param(&self, name: &str) -> Option<String> {
        self.query
            .as_deref()?
            .split('&')
            .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
            .find(|(key, _)| decode_query_value(key).as_deref() == Some(name))
            .and_then(|(_, value)| decode_query_value(value))
    }
}

/// Reads one line without its ending into `line`, charging `budget`.
/// `Ok(None)` is end of stream before any byte.
fn read_line<R: BufRead>(
    r: &mut R,
    line: &mut Vec<u8>,
    limit: usize,
    budget: &mut usize,
) -> Result<Option<()>, HttpError> {
    line.clear();
    // Room for the line, CR LF, and not a byte more than the head's budget:
    // a longer line is an error before more than the cap is buffered.
    let cap = limit.saturating_add(2).min(*budget);
    let n = r.by_ref().take(cap as u64).read_until(b'\n', line)?;
    if n == 0 {
        return if *budget == 0 {
            Err(HttpError::HeaderTooLarge { what: "the head" })
        } else {
            Ok(None)
        };
    }
    *budget -= n;
    if line.last() != Some(&b'\n') {
        return Err(if n < cap {
            HttpError::UnexpectedEof
        } else if cap < limit.saturating_add(2) {
            HttpError::HeaderTooLarge { what: "the head" }
        } else {
            HttpError::RequestLineTooLong { limit }
        });
    }
    line.pop();
    if line.last() == Some(&b'\r') {
        line.pop();
    }
    if line.len() > limit {
        return Err(HttpError::RequestLineTooLong { limit });
    }
    Ok(Some(()))
}

fn parse_request_line(line: &[u8]) -> Result<(Method, String, Version), HttpError> {
    let line =
        std::str::from_utf8(line).map_err(|_| HttpError::bad("request line is not UTF-8"))?;
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(HttpError::bad("request line is not METHOD TARGET VERSION"));
    };
    if method.is_empty() || method.len() > MAX_METHOD_BYTES || !method.bytes().all(is_tchar) {
        return Err(HttpError::bad("malformed method"));
    }
    let version = match version {
        "HTTP/1.1" => Version::Http11,
        "HTTP/1.0" => Version::Http10,
        v if v.len() == 8
            && v.starts_with("HTTP/")
            && v.as_bytes()[5].is_ascii_digit()
            && v.as_bytes()[6] == b'.'
            && v.as_bytes()[7].is_ascii_digit() =>
        {
            return Err(HttpError::UnsupportedVersion)
        }
        _ => return Err(HttpError::bad("malformed HTTP version")),
    };
    Ok((Method::parse(method), target.to_string(), version))
}

fn parse_header(line: &[u8]) -> Result<(String, String), HttpError> {
    if matches!(line.first(), Some(b' ' | b'\t')) {
        // obs-fold: RFC 9112 section 5.2 lets a server reject it, and a
        // folded line is a classic way to hide a header from a proxy.
        return Err(HttpError::bad("folded header line"));
    }
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or_else(|| HttpError::bad("header line without a colon"))?;
    let (name, value) = (&line[..colon], &line[colon + 1..]);
    if name.is_empty() || !name.iter().copied().all(is_tchar) {
        // Also catches "Name : value", which RFC 9112 section 5.1 says to reject.
        return Err(HttpError::bad("malformed header name"));
    }
    if value.iter().any(|&b| (b < 0x20 && b != b'\t') || b == 0x7f) {
        return Err(HttpError::bad("control character in a header value"));
    }
    let value =
        std::str::from_utf8(value).map_err(|_| HttpError::bad("header value is not UTF-8"))?;
    // Every byte is a tchar, so ASCII: one char each.
    let name: String = name.iter().map(|&b| char::from(b)).collect();
    Ok((name, value.trim_matches([' ', '\t']).to_string()))
}

/// A decimal `Content-Length`: digits only (no sign, no list, no spaces
/// inside), at most 19 of them so it always fits a `u64`.
fn parse_content_length(value: &str) -> Result<u64, HttpError> {
    if value.is_empty() || value.len() > 19 || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(HttpError::bad("Content-Length is not a decimal number"));
    }
    value
        .parse()
        .map_err(|_| HttpError::bad("Content-Length is not a decimal number"))
}

/// `tchar` of RFC 9110 section 5.6.2: what a method or header name is made of.
fn is_tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

#[cfg(test)]
mod tests;
