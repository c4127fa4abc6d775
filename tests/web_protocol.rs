//! HTTP and WebSocket rules over raw TCP, against the test web front built
//! from the library's `web` parts (`support::web_front`). When the server
//! has its own browser door, point `connect` at it instead.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use chat::web::handshake::accept_key;
use chat::web::websocket::{encode_frame, Message, Opcode, Reader, Role};
use support::web_front::WebFront;
use support::{Server, TempDir, WAIT};

struct Setup {
    _dir: TempDir,
    server: Server,
    front: WebFront,
}

fn setup(name: &str) -> Setup {
    let dir = TempDir::new(name);
    let server = Server::start_with(dir.path(), &["--no-replay", "--quiet"]);
    let front = WebFront::start(server.port);
    Setup {
        _dir: dir,
        server,
        front,
    }
}

fn connect(s: &Setup) -> (TcpStream, BufReader<TcpStream>) {
    let stream = TcpStream::connect(s.front.addr).expect("connect");
    stream.set_read_timeout(Some(WAIT)).unwrap();
    let reader = BufReader::new(stream.try_clone().unwrap());
    (stream, reader)
}

/// Reads a response head: the status code and the header lines.
fn read_head(reader: &mut BufReader<TcpStream>) -> (u16, Vec<String>) {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).expect("response line");
        if line == "\r\n" || line.is_empty() {
            break;
        }
        lines.push(line.trim_end().to_string());
    }
    let status = lines[0]
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    (status, lines)
}

fn header<'a>(lines: &'a [String], name: &str) -> Option<&'a str> {
    lines.iter().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn read_body(reader: &mut BufReader<TcpStream>, lines: &[String]) -> Vec<u8> {
    let len: usize = header(lines, "Content-Length").map_or(0, |v| v.parse().unwrap());
    let mut body = vec![0; len];
    reader.read_exact(&mut body).unwrap();
    body
}

const UPGRADE: &str = "GET /ws HTTP/1.1\r\nHost: HOST\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
                       Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";

/// Opens a WebSocket with `extra` header lines; returns the socket after the 101.
fn open_ws(s: &Setup, extra: &str) -> (TcpStream, BufReader<TcpStream>) {
    let (mut stream, mut reader) = connect(s);
    let host = s.front.addr.to_string();
    write!(stream, "{}{extra}\r\n", UPGRADE.replace("HOST", &host)).unwrap();
    let (status, lines) = read_head(&mut reader);
    assert_eq!(status, 101, "{lines:?}");
    assert_eq!(
        header(&lines, "Sec-WebSocket-Accept"),
        Some(accept_key("dGhlIHNhbXBsZSBub25jZQ==").as_str())
    );
    (stream, reader)
}

fn send_frame(stream: &mut TcpStream, fin: bool, opcode: Opcode, payload: &[u8], masked: bool) {
    let mut out = Vec::new();
    encode_frame(
        &mut out,
        fin,
        opcode,
        payload,
        masked.then_some([1, 2, 3, 4]),
    );
    stream.write_all(&out).unwrap();
}

/// Reads messages until a close frame; returns its code.
fn close_code(reader: BufReader<TcpStream>) -> Option<u16> {
    let mut ws = Reader::new(reader, Role::Client, 1 << 20);
    loop {
        match ws.read_message() {
            Ok(Some(Message::Close(close))) => return close.map(|c| c.code.0),
            Ok(Some(_)) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

/// Keep-alive: several requests on one connection; HEAD has no body; 304
/// for a cached asset; 404 and 405 with Allow.
#[test]
fn http_serves_the_page_with_keep_alive_and_the_right_statuses() {
    let s = setup("web-http");
    let (mut stream, mut reader) = connect(&s);
    write!(stream, "GET / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let (status, lines) = read_head(&mut reader);
    assert_eq!(status, 200);
    assert!(header(&lines, "Content-Security-Policy").is_some_and(|v| !v.contains("unsafe-inline")));
    assert_eq!(header(&lines, "X-Content-Type-Options"), Some("nosniff"));
    assert_eq!(header(&lines, "Referrer-Policy"), Some("no-referrer"));
    assert_eq!(header(&lines, "Cache-Control"), Some("no-cache"));
    let etag = header(&lines, "ETag").unwrap().to_string();
    let body = read_body(&mut reader, &lines);
    assert!(String::from_utf8_lossy(&body).contains("<title>chat</title>"));

    write!(stream, "HEAD /app.js HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let (status, lines) = read_head(&mut reader);
    assert_eq!(status, 200);
    assert!(header(&lines, "Content-Length").is_some_and(|l| l != "0"));
    write!(
        stream,
        "GET / HTTP/1.1\r\nHost: x\r\nIf-None-Match: {etag}\r\n\r\n"
    )
    .unwrap();
    assert_eq!(read_head(&mut reader).0, 304);
    write!(stream, "GET /missing HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let (status, lines) = read_head(&mut reader);
    assert_eq!(status, 404);
    read_body(&mut reader, &lines);
    write!(stream, "DELETE / HTTP/1.1\r\nHost: x\r\n\r\n").unwrap();
    let (status, lines) = read_head(&mut reader);
    assert_eq!(status, 405);
    assert_eq!(header(&lines, "Allow"), Some("GET, HEAD"));
    read_body(&mut reader, &lines);
    write!(
        stream,
        "GET /style.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let (status, lines) = read_head(&mut reader);
    assert_eq!(status, 200);
    assert_eq!(header(&lines, "Connection"), Some("close"));
    read_body(&mut reader, &lines);
    assert_eq!(
        reader.read(&mut [0; 1]).unwrap(),
        0,
        "closed after Connection: close"
    );
}

/// Broken heads get their status and a closed connection.
#[test]
fn http_refuses_broken_heads() {
    let s = setup("web-http-bad");
    let long_header = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX: {}\r\n\r\n",
        "a".repeat(9000)
    );
    let many = format!(
        "GET / HTTP/1.1\r\nHost: x\r\n{}\r\n",
        "X: y\r\n".repeat(101)
    );
    let cases: [(&[u8], u16); 6] = [
        (b"GET / HTTP/1.1\r\n\r\n", 400),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
            411,
        ),
        (long_header.as_bytes(), 431),
        (many.as_bytes(), 431),
        (b"GET / HTTP/3.0\r\nHost: x\r\n\r\n", 505),
    ];
    for (request, want) in cases {
        let (mut stream, mut reader) = connect(&s);
        stream.write_all(request).unwrap();
        let (status, lines) = read_head(&mut reader);
        assert_eq!(
            status,
            want,
            "{}",
            String::from_utf8_lossy(&request[..40.min(request.len())])
        );
        assert_eq!(header(&lines, "Connection"), Some("close"));
    }
}

/// The handshake: 426 naming version 13 for another version, 403 for a
/// foreign origin, 101 with the right accept key for the page's origin.
#[test]
fn websocket_handshake_rules() {
    let s = setup("web-handshake");
    let host = s.front.addr.to_string();
    let (mut stream, mut reader) = connect(&s);
    let v8 = UPGRADE
        .replace("HOST", &host)
        .replace("Version: 13", "Version: 8");
    write!(stream, "{v8}\r\n").unwrap();
    let (status, lines) = read_head(&mut reader);
    assert_eq!(status, 426);
    assert_eq!(header(&lines, "Sec-WebSocket-Version"), Some("13"));
    let (mut stream, mut reader) = connect(&s);
    write!(
        stream,
        "{}Origin: http://evil.example\r\n\r\n",
        UPGRADE.replace("HOST", &host)
    )
    .unwrap();
    assert_eq!(read_head(&mut reader).0, 403);
    let origin = format!("Origin: http://{host}\r\n");
    open_ws(&s, &origin);
}

/// A CHAT/1.0 frame in a text message reaches the server; its reply comes
/// back as one text message; ping is answered with pong.
#[test]
fn websocket_carries_chat_frames_and_answers_pings() {
    let s = setup("web-frames");
    let (mut stream, reader) = open_ws(&s, "");
    let mut ws = Reader::new(reader, Role::Client, 1 << 20);
    let login = "LOGIN / CHAT/1.0\r\nNick: wsuser\r\nContent-Length: 0\r\n\r\n";
    // Fragmented, with a ping in the middle.
    send_frame(
        &mut stream,
        false,
        Opcode::Text,
        &login.as_bytes()[..10],
        true,
    );
    send_frame(&mut stream, true, Opcode::Ping, b"hi", true);
    send_frame(
        &mut stream,
        true,
        Opcode::Continuation,
        &login.as_bytes()[10..],
        true,
    );
    let mut saw_pong = false;
    let mut saw_ok = false;
    while !(saw_pong && saw_ok) {
        match ws.read_message().expect("a message") {
            Some(Message::Pong(p)) => {
                assert_eq!(p, b"hi");
                saw_pong = true;
            }
            Some(Message::Text(t)) if t.starts_with("CHAT/1.0 200") => saw_ok = true,
            Some(Message::Text(_)) => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    let _ = &s.server;
}

/// Broken frames close the socket with the code RFC 6455 gives them.
#[test]
fn websocket_close_codes_for_broken_frames() {
    let s = setup("web-close");
    let cases: [(Vec<u8>, u16); 5] = [
        (
            {
                let mut v = Vec::new();
                encode_frame(&mut v, true, Opcode::Text, b"x", None);
                v
            },
            1002,
        ),
        (
            {
                let mut v = Vec::new();
                encode_frame(&mut v, true, Opcode::Text, b"x", Some([9; 4]));
                v[0] |= 0x40;
                v
            },
            1002,
        ),
        (
            {
                let mut v = Vec::new();
                encode_frame(&mut v, true, Opcode::Text, b"\xed\xa0\x80", Some([9; 4]));
                v
            },
            1007,
        ),
        (
            {
                let mut v = Vec::new();
                encode_frame(&mut v, true, Opcode::Binary, &vec![0; 70_000], Some([9; 4]));
                v
            },
            1009,
        ),
        (
            {
                let mut v = Vec::new();
                encode_frame(&mut v, true, Opcode::Continuation, b"x", Some([9; 4]));
                v
            },
            1002,
        ),
    ];
    for (bytes, want) in cases {
        let (mut stream, reader) = open_ws(&s, "");
        stream.write_all(&bytes).unwrap();
        assert_eq!(close_code(reader), Some(want));
    }
    // A clean close is echoed.
    let (mut stream, reader) = open_ws(&s, "");
    send_frame(
        &mut stream,
        true,
        Opcode::Close,
        &1001u16.to_be_bytes(),
        true,
    );
    assert_eq!(close_code(reader), Some(1001));
}
