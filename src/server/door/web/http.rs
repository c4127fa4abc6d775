//! The HTTP side of the browser door: request heads taken from the input
//! buffer (never a blocking read), each answered in order on a keep-alive
//! connection: the page and its assets, the file endpoints, and the
//! upgrade to a WebSocket at `/ws`. Request bodies are read only by the
//! upload; any other request with a body is answered and the connection
//! closed, so a body is never mistaken for the next request.

use std::time::Instant;

use super::files;
use crate::server::connection::Conn;
use crate::server::door::Poll;
use crate::server::outbox::PRE_LOGIN_BYTES;
use crate::server::session::{End, Rate, Session};
use crate::web::assets;
use crate::web::handshake::{self, OriginPolicy};
use crate::web::http::{HttpError, Method, Request, MAX_HEAD_BYTES, MAX_REQUEST_LINE_BYTES};
use crate::web::response::{Response, StatusCode};

/// The most input an HTTP connection holds: one request head. Past it
/// without the head's end, the request is refused (414 or 431).
pub const MAX_INPUT_BYTES: usize = MAX_HEAD_BYTES;
/// What may wait to be sent on an HTTP connection: the largest response
/// in memory (the page's script) with room to grow, where a connection
/// that has not logged in is otherwise held to `PRE_LOGIN_BYTES`. A file
/// is streamed from disk and counts only its head.
pub const QUEUE_BYTES: usize = 256 * 1024;

/// Where the search for the end of the head in the input got to, so each
/// read searches only what is new (a head trickled a byte at a time costs
/// linear time, not quadratic).
#[derive(Default)]
pub struct Http {
    scanned: usize,
    /// The queue's bound was raised to [`QUEUE_BYTES`].
    sized: bool,
}

/// What a request led to.
pub enum Polled {
    Poll(Poll),
    /// `101` was queued: the connection speaks WebSocket from now on.
    Upgraded,
}

impl Http {
    /// Takes the next request head off the input, if it is all there, and
    /// answers it.
    pub fn poll(&mut self, s: &mut Session<'_>, conn: &mut Conn, origins: &OriginPolicy) -> Polled {
        if !self.sized {
            s.outbox
                .set_max_bytes(QUEUE_BYTES.min(s.config.queue.max_bytes));
            self.sized = true;
        }
        // Empty lines before a request line are allowed (RFC 9112 2.2).
        let blank = conn
            .buffered()
            .iter()
            .take_while(|&&b| b == b'\r' || b == b'\n')
            .count();
        if blank > 0 {
            conn.consume(blank);
            self.scanned = 0;
        }
        let input = conn.buffered();
        let (end, next) = head_end(input, self.scanned);
        self.scanned = next;
        let parsed = match end {
            Some(len) => Request::read_from(&mut &input[..len]).map(|r| r.map(|r| (r, len))),
            None if is_over_cap(input) => Err(match Request::read_from(&mut &input[..]) {
                Err(e) if e.status().is_some() => e,
                _ => HttpError::HeaderTooLarge { what: "the head" },
            }),
            None => return Polled::Poll(Poll::NeedMore),
        };
        match parsed {
            Ok(Some((request, len))) => {
                conn.consume(len);
                self.scanned = 0;
                serve(s, conn, &request, origins)
            }
            Ok(None) => Polled::Poll(Poll::End(End::Eof)),
            Err(e) => {
                let status = e.status().unwrap_or(StatusCode::BAD_REQUEST);
                s.send(Response::text(status, &format!("{e}\n")).encode(false, false));
                Polled::Poll(Poll::End(End::Dropped(format!("HTTP: {e}"))))
            }
        }
    }
}

/// Where the head in `input` ends (after its empty line), searching from
/// `from`; and where to search from next time.
fn head_end(input: &[u8], from: usize) -> (Option<usize>, usize) {
    let mut i = from.min(input.len());
    while let Some(offset) = input[i..].iter().position(|&b| b == b'\n') {
        let nl = i + offset;
        match &input[nl + 1..] {
            [b'\n', ..] => return (Some(nl + 2), 0),
            [b'\r', b'\n', ..] => return (Some(nl + 3), 0),
            // Maybe the empty line, not all here yet: look again from this line end.
            [] | [b'\r'] => return (None, nl),
            _ => i = nl + 1,
        }
    }
    (None, input.len())
}

/// True when `input` cannot become a head within the caps: as big as a
/// head may be, or a request line already longer than one may be.
fn is_over_cap(input: &[u8]) -> bool {
    let line_cap = MAX_REQUEST_LINE_BYTES + 2;
    input.len() >= MAX_HEAD_BYTES || (input.len() > line_cap && !input[..line_cap].contains(&b'\n'))
}

/// Answers one request whose head was just taken.
fn serve(
    s: &mut Session<'_>,
    conn: &mut Conn,
    request: &Request,
    origins: &OriginPolicy,
) -> Polled {
    // Each request buys the connection another login timeout of quiet:
    // that is how long an idle keep-alive connection stays open.
    s.login_since = Instant::now();
    match s.take_token() {
        Rate::Within => {}
        over => {
            let response = Response::text(
                StatusCode::TOO_MANY_REQUESTS,
                "too many requests; slow down\n",
            )
            .with_header("Retry-After", "1");
            let keep = over == Rate::Over && request.content_length == 0;
            return Polled::Poll(respond(s, request, &response, keep));
        }
    }
    if request.path == "/ws" {
        return match handshake::accept(request, origins) {
            Ok(response) => {
                s.send(response.encode(false, true));
                log(s, request, response.status);
                // A socket that has not logged in holds what any such
                // connection may; logging in raises it.
                s.outbox
                    .set_max_bytes(PRE_LOGIN_BYTES.min(s.config.queue.max_bytes));
                // The socket has the login timeout from now to log in.
                s.login_since = Instant::now();
                Polled::Upgraded
            }
            Err(refusal) => Polled::Poll(respond(s, request, &refusal, false)),
        };
    }
    let poll = if request.path == "/files" {
        files::upload(s, conn, request, origins)
    } else if let Some(id) = request.path.strip_prefix("/files/") {
        files::download(s, request, id)
    } else {
        let keep = request.keep_alive() && request.content_length == 0;
        respond(s, request, &assets::respond(request), keep)
    };
    Polled::Poll(poll)
}

/// Queues `response` to `request` (without a body for `HEAD`), and goes on
/// with the next request if `keep_alive`, else ends the connection.
pub fn respond(
    s: &mut Session<'_>,
    request: &Request,
    response: &Response,
    keep_alive: bool,
) -> Poll {
    let keep_alive = keep_alive && request.keep_alive();
    s.send(response.encode(request.method == Method::Head, keep_alive));
    log(s, request, response.status);
    if keep_alive {
        Poll::Done
    } else {
        Poll::End(End::Eof)
    }
}

/// One line per request on the console (not with `--quiet`). The query is
/// left out: a download's carries a token, which no log should keep.
pub fn log(s: &Session<'_>, request: &Request, status: StatusCode) {
    s.console.message(|| {
        format!(
            "{} {} {}{} -> {}",
            s.tag,
            request.method.as_str(),
            crate::text::for_terminal(&request.path),
            if request.query.is_some() { "?..." } else { "" },
            status.0
        )
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::outbox::charge;

    #[test]
    fn the_head_ends_at_its_empty_line_however_it_arrives() {
        let head = b"GET / HTTP/1.1\r\nHost: x\r\n\r\nGET /next";
        let end = head.len() - "GET /next".len();
        assert_eq!(head_end(head, 0).0, Some(end));
        assert_eq!(head_end(b"GET / HTTP/1.0\n\nrest", 0).0, Some(16));
        // Byte by byte, resuming where the last search stopped.
        let mut from = 0;
        for cut in 1..end {
            let (found, next) = head_end(&head[..cut], from);
            assert_eq!(found, None, "cut {cut}");
            assert!(next <= cut);
            from = next;
        }
        assert_eq!(head_end(&head[..end], from).0, Some(end));
    }

    #[test]
    fn the_largest_page_file_fits_an_http_queue_twice() {
        for asset in assets::ASSETS {
            let request = format!("GET {} HTTP/1.1\r\nHost: h\r\n\r\n", asset.path);
            let request = Request::read_from(&mut request.as_bytes())
                .unwrap()
                .unwrap();
            let response = assets::respond(&request).encode(false, true);
            assert!(
                2 * charge(response.len()) <= QUEUE_BYTES,
                "{} ({} bytes) needs a larger QUEUE_BYTES",
                asset.path,
                response.len()
            );
        }
    }

    #[test]
    fn input_that_cannot_be_a_head_is_over_the_cap() {
        assert!(!is_over_cap(b"GET / HTTP/1.1\r\n"));
        let long_line = vec![b'a'; MAX_REQUEST_LINE_BYTES + 3];
        assert!(is_over_cap(&long_line));
        let mut many_headers = b"GET / HTTP/1.1\r\n".to_vec();
        while many_headers.len() < MAX_HEAD_BYTES {
            many_headers.extend_from_slice(b"X: y\r\n");
        }
        assert!(is_over_cap(&many_headers));
    }
}
