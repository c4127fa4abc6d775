//! Request-head parser tests: valid heads, every cap at N and N+1, and the
//! hostile inputs (smuggling, folding, bad escapes) each with its status.
#![cfg(test)]

use super::*;
use crate::web::response::StatusCode;

fn parse(bytes: &[u8]) -> Result<Option<Request>, HttpError> {
    Request::read_from(&mut &bytes[..])
}

fn ok(bytes: &[u8]) -> Request {
    parse(bytes).unwrap().unwrap()
}

fn status(bytes: &[u8]) -> u16 {
    match parse(bytes) {
        Ok(r) => panic!("accepted {r:?}"),
        Err(e) => e.status().map_or(0, |s| s.0),
    }
}

#[test]
fn parses_a_browser_request() {
    let r = ok(
        b"GET /app.js?v=3 HTTP/1.1\r\nHost: 127.0.0.1:7777\r\nAccept: */*\r\n\
                 Connection: keep-alive\r\n\r\n",
    );
    assert_eq!(r.method, Method::Get);
    assert_eq!(r.path, "/app.js");
    assert_eq!(r.query.as_deref(), Some("v=3"));
    assert_eq!(r.version, Version::Http11);
    assert_eq!(r.header("host"), Some("127.0.0.1:7777"));
    assert_eq!(r.content_length, 0);
    assert!(r.keep_alive());
}

#[test]
fn clean_eof_before_a_request_is_none_and_mid_head_is_an_error() {
    assert!(parse(b"").unwrap().is_none());
    assert!(matches!(
        parse(b"GET / HTTP/1.1\r\nHost: x\r\n"),
        Err(HttpError::UnexpectedEof)
    ));
    assert!(matches!(parse(b"GET / HT"), Err(HttpError::UnexpectedEof)));
}

#[test]
fn two_requests_back_to_back_and_leading_empty_lines() {
    let bytes = b"\r\nGET /a HTTP/1.1\r\nHost: x\r\n\r\nHEAD /b HTTP/1.1\r\nHost: x\r\n\r\n";
    let mut r = &bytes[..];
    assert_eq!(Request::read_from(&mut r).unwrap().unwrap().path, "/a");
    let second = Request::read_from(&mut r).unwrap().unwrap();
    assert_eq!((second.method, second.path.as_str()), (Method::Head, "/b"));
    assert!(Request::read_from(&mut r).unwrap().is_none());
}

#[test]
fn bare_lf_line_endings_are_accepted() {
    let r = ok(b"GET / HTTP/1.1\nHost: x\n\n");
    assert_eq!(r.path, "/");
}

#[test]
fn keep_alive_follows_version_and_connection() {
    assert!(!ok(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").keep_alive());
    assert!(!ok(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, CLOSE\r\n\r\n").keep_alive());
    assert!(!ok(b"GET / HTTP/1.0\r\n\r\n").keep_alive());
    assert!(ok(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive());
}

#[test]
fn http11_needs_exactly_one_host() {
    assert_eq!(status(b"GET / HTTP/1.1\r\n\r\n"), 400);
    assert_eq!(status(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"), 400);
    assert!(ok(b"GET / HTTP/1.0\r\n\r\n").header("Host").is_none());
}

#[test]
fn content_length_is_strict() {
    let r = ok(b"POST /files HTTP/1.1\r\nHost: x\r\nContent-Length: 42\r\n\r\n");
    assert_eq!(r.content_length, 42);
    assert!(
        r.header("Content-Length").is_none(),
        "kept apart from headers"
    );
    for bad in [
        &b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n"[..],
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\ncontent-length: 2\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: +1\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1,1\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 0x10\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1 2\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: \r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999999\r\n\r\n",
    ] {
        assert_eq!(status(bad), 400, "{}", String::from_utf8_lossy(bad));
    }
    let max = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
        u64::MAX / 2
    );
    assert_eq!(ok(max.as_bytes()).content_length, u64::MAX / 2);
}

#[test]
fn chunked_bodies_are_refused_and_smuggling_shapes_are_bad_requests() {
    let chunked = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_eq!(status(chunked), StatusCode::LENGTH_REQUIRED.0);
    let gzip = b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n";
    assert_eq!(status(gzip), StatusCode::NOT_IMPLEMENTED.0);
    let both =
        b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_eq!(status(both), 400);
    let old = b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_eq!(status(old), 400);
}

#[test]
fn header_syntax_is_strict() {
    for bad in [
        &b"GET / HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n folded\r\n\r\n"[..],
        b"GET / HTTP/1.1\r\nHost: x\r\nX-A : 1\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nno colon\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\n: empty name\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX-A: \xff\xfe\r\n\r\n",
        b"GET / HTTP/1.1\r\nHost: x\r\nX(A): 1\r\n\r\n",
    ] {
        assert_eq!(status(bad), 400, "{}", String::from_utf8_lossy(bad));
    }
    let r = ok(b"GET / HTTP/1.1\r\nHost: x\r\nX-Tab: \ta b\t \r\nX-Empty:\r\n\r\n");
    assert_eq!(r.header("x-tab"), Some("a b"));
    assert_eq!(r.header("X-Empty"), Some(""));
}

#[test]
fn request_line_syntax_is_strict() {
    for bad in [
        &b"GET  / HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"GET / HTTP/1.1 \r\nHost: x\r\n\r\n",
        b"GET /\r\nHost: x\r\n\r\n",
        b" GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"G(T / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET / http/1.1\r\nHost: x\r\n\r\n",
        b"GET / HTTP/1.10\r\nHost: x\r\n\r\n",
        b"ABCDEFGHIJKLMNOPQ / HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET \xc3\xa9 HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        assert_eq!(status(bad), 400, "{}", String::from_utf8_lossy(bad));
    }
    assert_eq!(status(b"GET / HTTP/2.0\r\nHost: x\r\n\r\n"), 505);
    assert_eq!(status(b"GET / HTTP/0.9\r\n\r\n"), 505);
    let r = ok(b"BREW / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r.method, Method::Other("BREW".into()));
}

#[test]
fn targets_are_decoded_and_checked() {
    let r = ok(b"GET /files/caf%C3%A9%20x?name=a%20b+c&e HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r.path, "/files/café x");
    assert_eq!(r.query_param("name").as_deref(), Some("a b c"));
    assert_eq!(r.query_param("e").as_deref(), Some(""));
    assert_eq!(r.query_param("missing"), None);
    let abs = ok(b"GET HTTP://127.0.0.1:7777/ws?x=1 HTTP/1.1\r\nHost: 127.0.0.1:7777\r\n\r\n");
    assert_eq!(
        (abs.path.as_str(), abs.query.as_deref()),
        ("/ws", Some("x=1"))
    );
    let bare = ok(b"GET http://host HTTP/1.1\r\nHost: host\r\n\r\n");
    assert_eq!(bare.path, "/");
    assert_eq!(ok(b"OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n").path, "*");
    for bad in [
        &b"GET * HTTP/1.1\r\nHost: x\r\n\r\n"[..],
        b"GET index.html HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /a#frag HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /a<b> HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /%4 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /%00 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /%0d%0aSet-Cookie:%20x HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /%ff HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /files%2F1 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /a/%2e%2e/b HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET /a/. HTTP/1.1\r\nHost: x\r\n\r\n",
        b"CONNECT example.org:443 HTTP/1.1\r\nHost: x\r\n\r\n",
        b"GET ftp://x/ HTTP/1.1\r\nHost: x\r\n\r\n",
    ] {
        assert_eq!(status(bad), 400, "{}", String::from_utf8_lossy(bad));
    }
}

#[test]
fn query_values_with_bad_escapes_are_absent() {
    let r = ok(b"GET /?a=%zz&b=%ff HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(r.query_param("a"), None);
    assert_eq!(r.query_param("b"), None);
}

#[test]
fn has_token_reads_every_line_and_list() {
    let r = ok(
        b"GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\nConnection: Upgrade\r\n\
                 Upgrade: h2c, WebSocket\r\n\r\n",
    );
    assert!(r.has_token("connection", "upgrade"));
    assert!(r.has_token("Upgrade", "websocket"));
    assert!(!r.has_token("Upgrade", "web"));
}

fn request_line_of(len: usize) -> Vec<u8> {
    // "GET /" + padding + " HTTP/1.1" is exactly `len` bytes.
    let pad = len - "GET / HTTP/1.1".len();
    format!("GET /{} HTTP/1.1\r\nHost: x\r\n\r\n", "a".repeat(pad)).into_bytes()
}

#[test]
fn request_line_cap_at_n_and_n_plus_one() {
    assert!(parse(&request_line_of(MAX_REQUEST_LINE_BYTES)).is_ok());
    assert_eq!(status(&request_line_of(MAX_REQUEST_LINE_BYTES + 1)), 414);
}

fn header_line_of(len: usize) -> Vec<u8> {
    let pad = len - "X: ".len();
    format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX: {}\r\n\r\n",
        "v".repeat(pad)
    )
    .into_bytes()
}

#[test]
fn header_line_cap_at_n_and_n_plus_one() {
    assert!(parse(&header_line_of(MAX_HEADER_LINE_BYTES)).is_ok());
    assert_eq!(status(&header_line_of(MAX_HEADER_LINE_BYTES + 1)), 431);
}

fn with_headers(n: usize) -> Vec<u8> {
    let mut head = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    for i in 1..n {
        head.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    head
}

#[test]
fn header_count_cap_at_n_and_n_plus_one() {
    assert_eq!(ok(&with_headers(MAX_HEADERS)).headers.len(), MAX_HEADERS);
    assert_eq!(status(&with_headers(MAX_HEADERS + 1)), 431);
}

#[test]
fn the_whole_head_is_capped() {
    // Each line is under its own cap, but together they pass the head's.
    let mut head = b"GET / HTTP/1.1\r\nHost: x\r\n".to_vec();
    let value = "v".repeat(8000);
    for i in 0..10 {
        head.extend_from_slice(format!("X-{i}: {value}\r\n").as_bytes());
    }
    head.extend_from_slice(b"\r\n");
    assert_eq!(status(&head), 431);
}

#[test]
fn endless_empty_lines_hit_the_head_cap() {
    let head = b"\r\n".repeat(MAX_HEAD_BYTES);
    assert_eq!(status(&head), 431);
}

#[test]
fn random_bytes_never_panic() {
    // A small seeded generator: the same cases on every run.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let seed = b"GET /a?b=%20 HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n";
    for _ in 0..5000 {
        let mut bytes = seed.to_vec();
        for _ in 0..(next() % 4 + 1) {
            let i = (next() as usize) % bytes.len();
            bytes[i] = next() as u8;
        }
        let _ = parse(&bytes);
    }
}

#[test]
fn percent_encoding_round_trips_any_name() {
    for name in [
        "plain.txt",
        "a b+c.pdf",
        "résumé €.txt",
        "quote\"and\\slash/..",
        "%41",
        "",
    ] {
        let encoded = encode_percent(name);
        assert!(encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)));
        assert_eq!(decode_percent(&encoded).as_deref(), Some(name));
    }
    assert_eq!(
        decode_percent("a+b%20c").as_deref(),
        Some("a+b c"),
        "+ is a plus"
    );
    assert_eq!(decode_percent("bad%4"), None);
    assert_eq!(decode_percent("%ff%fe"), None, "not UTF-8");
}
