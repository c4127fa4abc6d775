//! Raw HTTP and WebSocket clients for the browser door's tests: literal
//! requests and frames on a real socket, responses and messages read back
//! with a read timeout on every socket.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;

use chat::event::Event;
use chat::protocol::{Frame, Limits};
use chat::web::handshake::accept_key;
use chat::web::websocket::{encode_frame, Message, Opcode, Reader, Role, Writer};

use super::WAIT;

/// The key RFC 6455's example uses; its accept value is checked on every open.
pub const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";

/// One HTTP response as read off the wire.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    /// The status line, then the header lines, as sent.
    pub lines: Vec<String>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The value of the first header called `name` (any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        header(&self.lines, name)
    }

    /// The response without its `Date` line, for byte-for-byte comparisons.
    pub fn without_date(&self) -> (Vec<String>, Vec<u8>) {
        let lines = self
            .lines
            .iter()
            .filter(|l| !l.starts_with("Date:"))
            .cloned()
            .collect();
        (lines, self.body.clone())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// The value of the first header line called `name` (any case).
pub fn header<'a>(lines: &'a [String], name: &str) -> Option<&'a str> {
    lines.iter().skip(1).find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

/// A raw HTTP connection.
pub struct Http {
    pub stream: TcpStream,
    pub reader: BufReader<TcpStream>,
}

impl Http {
    pub fn connect(port: u16) -> Http {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream.set_read_timeout(Some(WAIT)).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Http { stream, reader }
    }

    pub fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).expect("send");
    }

    /// Reads a response head only (for `HEAD`, `101`, or a body read apart).
    pub fn read_head(&mut self) -> (u16, Vec<String>) {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            self.reader.read_line(&mut line).expect("response line");
            if line == "\r\n" || line.is_empty() {
                break;
            }
            lines.push(line.trim_end().to_string());
        }
        assert!(!lines.is_empty(), "no response: the connection closed");
        let status = lines[0]
            .split(' ')
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        (status, lines)
    }

    /// Reads a whole response: its head, then `Content-Length` bytes.
    pub fn read_response(&mut self) -> HttpResponse {
        let (status, lines) = self.read_head();
        let len: usize = header(&lines, "Content-Length").map_or(0, |v| v.parse().unwrap());
        let mut body = vec![0; len];
        self.reader.read_exact(&mut body).expect("response body");
        HttpResponse {
            status,
            lines,
            body,
        }
    }

    /// Sends `request` and reads the response.
    pub fn exchange(&mut self, request: &[u8]) -> HttpResponse {
        self.send(request);
        self.read_response()
    }

    /// True once the server has closed the connection (anything left is read and dropped).
    pub fn is_closed(&mut self) -> bool {
        let mut rest = Vec::new();
        self.reader.read_to_end(&mut rest).is_ok()
    }
}

/// One request on a fresh connection.
pub fn get(port: u16, request: &str) -> HttpResponse {
    Http::connect(port).exchange(request.as_bytes())
}

/// The upgrade request, with `extra` header lines.
pub fn upgrade_request(port: u16, extra: &str) -> String {
    format!(
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n"
    )
}

/// A WebSocket client speaking CHAT/1.0 in text messages, as the page does.
pub struct Ws {
    pub stream: TcpStream,
    reader: Reader<BufReader<TcpStream>>,
    writer: Writer<TcpStream>,
    limits: Limits,
}

impl Ws {
    /// Opens a socket at `/ws` with the page's own origin.
    pub fn open(port: u16) -> Ws {
        Ws::open_with(port, &format!("Origin: http://127.0.0.1:{port}\r\n"))
    }

    /// Opens a socket with `extra` header lines; panics unless it gets `101`.
    pub fn open_with(port: u16, extra: &str) -> Ws {
        let mut http = Http::connect(port);
        http.send(upgrade_request(port, extra).as_bytes());
        let (status, lines) = http.read_head();
        assert_eq!(status, 101, "{lines:?}");
        assert_eq!(
            header(&lines, "Sec-WebSocket-Accept"),
            Some(accept_key(KEY).as_str())
        );
        let writer = Writer::new(http.stream.try_clone().unwrap(), Role::Client).unwrap();
        Ws {
            stream: http.stream,
            reader: Reader::new(http.reader, Role::Client, 1 << 20),
            writer,
            limits: Limits {
                max_body_bytes: 1 << 20,
                ..Limits::default()
            },
        }
    }

    /// Opens a socket and logs in as `nick` (in several rooms at once, as
    /// the page does), past its welcome to the lobby.
    pub fn login(port: u16, nick: &str) -> Ws {
        let mut ws = Ws::open(port);
        let reply = ws.request(
            Frame::request("LOGIN", "/")
                .with_header("Nick", nick)
                .with_header("Rooms", "many"),
        );
        assert_eq!(reply.status_code().map(|s| s.0), Some(200), "{reply:?}");
        ws.expect_event(|e| matches!(e, Event::Join { nick: n, .. } if n == nick));
        ws
    }

    pub fn send_text(&mut self, text: &str) {
        self.writer.send_text(text).expect("send a message");
    }

    /// Sends one raw frame (masked, as a browser's are, unless told not to).
    pub fn send_raw(&mut self, fin: bool, opcode: Opcode, payload: &[u8], masked: bool) {
        let mut out = Vec::new();
        encode_frame(
            &mut out,
            fin,
            opcode,
            payload,
            masked.then_some([1, 2, 3, 4]),
        );
        self.stream.write_all(&out).unwrap();
    }

    pub fn send_frame(&mut self, frame: &Frame) {
        let text = String::from_utf8(frame.encode()).expect("a text frame");
        self.send_text(&text);
    }

    /// The next message; panics on an error or a timeout.
    pub fn next(&mut self) -> Message {
        match self.reader.read_message() {
            Ok(Some(message)) => message,
            other => panic!("expected a message, got {other:?}"),
        }
    }

    /// The next message or `None` once the stream ends.
    pub fn next_or_end(&mut self) -> Option<Message> {
        self.reader.read_message().ok().flatten()
    }

    /// The next text message, as a CHAT/1.0 frame (exactly one).
    pub fn next_frame(&mut self) -> Frame {
        loop {
            match self.next() {
                Message::Text(text) => return self.parse(&text),
                Message::Ping(_) | Message::Pong(_) => {}
                other => panic!("expected a text message, got {other:?}"),
            }
        }
    }

    fn parse(&self, text: &str) -> Frame {
        let mut bytes = text.as_bytes();
        let frame = Frame::read_from(&mut bytes, &self.limits)
            .expect("a CHAT/1.0 frame")
            .expect("not empty");
        assert!(bytes.is_empty(), "one frame per message: {text:?}");
        frame
    }

    /// Sends a request and returns its reply, skipping events.
    pub fn request(&mut self, frame: Frame) -> Frame {
        self.send_frame(&frame);
        loop {
            let reply = self.next_frame();
            if reply.status_code().is_some() {
                return reply;
            }
        }
    }

    /// Reads until an event matches.
    pub fn expect_event(&mut self, want: impl Fn(&Event) -> bool) -> Event {
        loop {
            let frame = self.next_frame();
            if let Ok(event) = Event::from_frame(&frame) {
                if want(&event) {
                    return event;
                }
            }
        }
    }

    /// Reads until the close frame; its code (`None`: it carried none).
    pub fn close_code(&mut self) -> Option<u16> {
        loop {
            match self.reader.read_message() {
                Ok(Some(Message::Close(close))) => return close.map(|c| c.code.0),
                Ok(Some(_)) => {}
                other => panic!("expected a close frame, got {other:?}"),
            }
        }
    }

    /// Answers a ping the way a browser does.
    pub fn pong(&mut self, payload: &[u8]) {
        self.writer.send(Opcode::Pong, payload).unwrap();
    }
}
