//! HTTP responses: status codes, a builder that puts the security headers on
//! every response, and the encoder. Every response is complete in memory or
//! announces the length of a body the caller streams itself (a file).

use std::io::{self, Write};
use std::time::{SystemTime, UNIX_EPOCH};

/// The page may load scripts, styles and images from its own origin only,
/// connect back to it (the WebSocket and file uploads), and nothing inline:
/// a message that somehow became markup still could not run a script.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; \
     form-action 'none'; frame-ancestors 'none'";

/// Headers every response carries, whatever it is.
pub const SECURITY_HEADERS: [(&str, &str); 5] = [
    ("Content-Security-Policy", CONTENT_SECURITY_POLICY),
    // Browsers must trust our Content-Type: a shared file labelled
    // application/octet-stream is never sniffed into HTML.
    ("X-Content-Type-Options", "nosniff"),
    // Download links carry a token in their query; it must not leak.
    ("Referrer-Policy", "no-referrer"),
    // Older browsers that ignore frame-ancestors.
    ("X-Frame-Options", "DENY"),
    ("Cross-Origin-Opener-Policy", "same-origin"),
];

/// `Cache-Control` for anything computed per request (errors, files): never stored.
pub const NO_STORE: &str = "no-store";
/// `Cache-Control` for the page and its assets: cache, but ask every time
/// (a cheap 304 thanks to the `ETag`), so a new server binary's page is
/// seen at once.
pub const REVALIDATE: &str = "no-cache";

/// An HTTP status code with its reason phrase.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusCode(pub u16);

impl StatusCode {
    pub const SWITCHING_PROTOCOLS: StatusCode = StatusCode(101);
    pub const OK: StatusCode = StatusCode(200);
    pub const CREATED: StatusCode = StatusCode(201);
    pub const NO_CONTENT: StatusCode = StatusCode(204);
    pub const NOT_MODIFIED: StatusCode = StatusCode(304);
    pub const BAD_REQUEST: StatusCode = StatusCode(400);
    pub const UNAUTHORIZED: StatusCode = StatusCode(401);
    pub const FORBIDDEN: StatusCode = StatusCode(403);
    pub const NOT_FOUND: StatusCode = StatusCode(404);
    pub const METHOD_NOT_ALLOWED: StatusCode = StatusCode(405);
    pub const REQUEST_TIMEOUT: StatusCode = StatusCode(408);
    pub const LENGTH_REQUIRED: StatusCode = StatusCode(411);
    pub const PAYLOAD_TOO_LARGE: StatusCode = StatusCode(413);
    pub const URI_TOO_LONG: StatusCode = StatusCode(414);
    pub const UPGRADE_REQUIRED: StatusCode = StatusCode(426);
    pub const TOO_MANY_REQUESTS: StatusCode = StatusCode(429);
    pub const HEADER_FIELDS_TOO_LARGE: StatusCode = StatusCode(431);
    pub const INTERNAL_SERVER_ERROR: StatusCode = StatusCode(500);
    pub const NOT_IMPLEMENTED: StatusCode = StatusCode(501);
    pub const SERVICE_UNAVAILABLE: StatusCode = StatusCode(503);
    pub const HTTP_VERSION_NOT_SUPPORTED: StatusCode = StatusCode(505);
    pub const INSUFFICIENT_STORAGE: StatusCode = StatusCode(507);

    /// The reason phrase RFC 9110 gives this code.
    pub fn reason(self) -> &'static str {
        match self.0 {
            101 => "Switching Protocols",
            200 => "OK",
            201 => "Created",
            204 => "No Content",
            304 => "Not Modified",
            400 => "Bad Request",
            401 => "Unauthorized",
            403 => "Forbidden",
            404 => "Not Found",
            405 => "Method Not Allowed",
            408 => "Request Timeout",
            411 => "Length Required",
            413 => "Content Too Large",
            414 => "URI Too Long",
            426 => "Upgrade Required",
            429 => "Too Many Requests",
            431 => "Request Header Fields Too Large",
            500 => "Internal Server Error",
            501 => "Not Implemented",
            503 => "Service Unavailable",
            505 => "HTTP Version Not Supported",
            507 => "Insufficient Storage",
            _ => "Unknown",
        }
    }

    /// 1xx, 204 and 304 responses never have a body (RFC 9112 section 6.3).
    pub fn has_body(self) -> bool {
        !(self.0 < 200 || self.0 == 204 || self.0 == 304)
    }
}

/// A response: status, headers, and a body in memory or streamed by the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Response {
    pub status: StatusCode,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
    /// The length of a body the caller writes after the head, when it does.
    streamed_len: Option<u64>,
}

impl Response {
    /// A response with the security headers and `Cache-Control: no-store`;
    /// `with_header` replaces either where a resource needs otherwise.
    pub fn new(status: StatusCode) -> Response {
        let mut headers: Vec<(String, String)> = SECURITY_HEADERS
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        headers.push(("Cache-Control".to_string(), NO_STORE.to_string()));
        Response {
            status,
            headers,
            body: Vec::new(),
            streamed_len: None,
        }
    }

    /// A plain-text response, for errors: `text` says what went wrong.
    pub fn text(status: StatusCode, text: &str) -> Response {
        Response::new(status).with_body("text/plain; charset=utf-8", text.as_bytes().to_vec())
    }

    /// A 405 naming the methods the resource allows.
    pub fn method_not_allowed(allow: &str) -> Response {
        Response::text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n")
            .with_header("Allow", allow)
    }

    /// Sets a header, replacing any of the same name. Control characters in
    /// `value` become spaces, so a value can never split the head.
    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        let value: String = value
            .chars()
            .map(|c| if c.is_control() { ' ' } else { c })
            .collect();
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name.to_string(), value));
        self
    }

    /// Sets the body and its `Content-Type`.
    pub fn with_body(self, content_type: &str, body: Vec<u8>) -> Response {
        let mut response = self.with_header("Content-Type", content_type);
        response.body = body;
        response.streamed_len = None;
        response
    }

    /// Announces a body of `len` bytes that the caller writes after the
    /// head itself (a file streamed from disk); the in-memory body is dropped.
    pub fn with_streamed_body(mut self, content_type: &str, len: u64) -> Response {
        self = self.with_header("Content-Type", content_type);
        self.body.clear();
        self.streamed_len = Some(len);
        self
    }

    /// The value of the header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body held in memory.
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    /// The status line and headers. `keep_alive: false` adds
    /// `Connection: close`, after which the server closes the connection.
    pub fn encode_head(&self, keep_alive: bool) -> Vec<u8> {
        let mut out = Vec::with_capacity(512);
        let _ = write!(
            out,
            "HTTP/1.1 {} {}\r\nDate: {}\r\n",
            self.status.0,
            self.status.reason(),
            http_date(SystemTime::now())
        );
        for (name, value) in &self.headers {
            let _ = write!(out, "{name}: {value}\r\n");
        }
        if self.status.has_body() {
            let len = self.streamed_len.unwrap_or(self.body.len() as u64);
            let _ = write!(out, "Content-Length: {len}\r\n");
        }
        if !keep_alive && self.status != StatusCode::SWITCHING_PROTOCOLS {
            out.extend_from_slice(b"Connection: close\r\n");
        }
        out.extend_from_slice(b"\r\n");
        out
    }

    /// The whole response; `head_only` for a `HEAD` request, which gets the
    /// same head (with the body's length) and no body.
    pub fn encode(&self, head_only: bool, keep_alive: bool) -> Vec<u8> {
        let mut out = self.encode_head(keep_alive);
        if !head_only && self.status.has_body() {
            out.extend_from_slice(&self.body);
        }
        out
    }

    /// Writes [`Response::encode`] to `w` and flushes it.
    ///
    /// # Errors
    /// The writer's error.
    pub fn write_to<W: Write>(
        &self,
        w: &mut W,
        head_only: bool,
        keep_alive: bool,
    ) -> io::Result<()> {
        w.write_all(&self.encode(head_only, keep_alive))?;
        w.flush()
    }
}

/// `t` as an IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`, RFC 9110 section 5.6.7).
pub fn http_date(t: SystemTime) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    // `format_utc` does the calendar: `YYYY-MM-DD hh:mm:ss.uuuuuu`.
    let utc = crate::clock::format_utc(t);
    let month: usize = utc.get(5..7).and_then(|m| m.parse().ok()).unwrap_or(1);
    format!(
        "{}, {} {} {} {} GMT",
        DAYS[(secs / 86_400 % 7) as usize],
        utc.get(8..10).unwrap_or("01"),
        MONTHS[month.clamp(1, 12) - 1],
        utc.get(..4).unwrap_or("1970"),
        utc.get(11..19).unwrap_or("00:00:00"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn text_of(bytes: &[u8]) -> String {
        String::from_utf8(bytes.to_vec()).unwrap()
    }

    #[test]
    fn every_response_carries_the_security_headers() {
        let r = Response::text(StatusCode::NOT_FOUND, "no such page\n");
        let head = text_of(&r.encode(false, true));
        assert!(head.starts_with("HTTP/1.1 404 Not Found\r\n"), "{head}");
        for (name, value) in SECURITY_HEADERS {
            assert!(
                head.contains(&format!("\r\n{name}: {value}\r\n")),
                "{name} in {head}"
            );
        }
        assert!(head.contains("\r\nCache-Control: no-store\r\n"));
        assert!(head.contains("\r\nContent-Length: 13\r\n"));
        assert!(head.ends_with("\r\n\r\nno such page\n"));
        assert!(!head.contains("Connection: close"));
    }

    #[test]
    fn the_policy_forbids_inline_script_and_style() {
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-inline"));
        assert!(!CONTENT_SECURITY_POLICY.contains("unsafe-eval"));
        assert!(CONTENT_SECURITY_POLICY.contains("script-src 'self'"));
        assert!(CONTENT_SECURITY_POLICY.contains("default-src 'none'"));
    }

    #[test]
    fn head_requests_get_the_length_without_the_body() {
        let r = Response::new(StatusCode::OK).with_body("text/plain", b"hello".to_vec());
        let bytes = text_of(&r.encode(true, false));
        assert!(bytes.contains("Content-Length: 5\r\n"));
        assert!(bytes.contains("Connection: close\r\n"));
        assert!(bytes.ends_with("\r\n\r\n"));
    }

    #[test]
    fn bodiless_statuses_carry_no_length_or_body() {
        let r = Response::new(StatusCode::NOT_MODIFIED).with_header("ETag", "\"x\"");
        let bytes = text_of(&r.encode(false, true));
        assert!(!bytes.contains("Content-Length"));
        let r = Response::new(StatusCode::SWITCHING_PROTOCOLS);
        let bytes = text_of(&r.encode(false, false));
        assert!(
            !bytes.contains("Connection: close"),
            "101 keeps the connection"
        );
    }

    #[test]
    fn header_values_cannot_split_the_head() {
        let r = Response::new(StatusCode::OK).with_header("X-Name", "a\r\nSet-Cookie: x=1");
        let head = text_of(&r.encode_head(true));
        assert!(head.contains("X-Name: a  Set-Cookie: x=1\r\n"), "{head}");
        assert!(!head.contains("\r\nSet-Cookie"));
    }

    #[test]
    fn with_header_replaces_the_default() {
        let r = Response::new(StatusCode::OK).with_header("Cache-Control", REVALIDATE);
        assert_eq!(r.header("cache-control"), Some("no-cache"));
        let head = text_of(&r.encode_head(true));
        assert_eq!(head.matches("Cache-Control").count(), 1);
    }

    #[test]
    fn streamed_bodies_announce_their_length() {
        let r =
            Response::new(StatusCode::OK).with_streamed_body("application/octet-stream", 1 << 30);
        let bytes = text_of(&r.encode(false, true));
        assert!(bytes.contains("Content-Length: 1073741824\r\n"));
        assert!(bytes.ends_with("\r\n\r\n"));
    }

    #[test]
    fn dates_are_imf_fixdates() {
        // RFC 9110's own example.
        let t = UNIX_EPOCH + Duration::from_secs(784_111_777);
        assert_eq!(http_date(t), "Sun, 06 Nov 1994 08:49:37 GMT");
        assert_eq!(http_date(UNIX_EPOCH), "Thu, 01 Jan 1970 00:00:00 GMT");
    }
}
