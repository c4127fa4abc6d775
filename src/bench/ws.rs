//! The browser protocol as the bench speaks it: the WebSocket upgrade at
//! `/ws`, then CHAT/1.0 frames, one per WebSocket text message (README, "In
//! a browser"). Client frames are masked (RFC 6455 section 5.3). Server
//! frames are read by a zero-copy scanner that hands each text payload to
//! the chat scanner. The rare fragmented message is put together in an
//! [`Assembly`].

use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::web::handshake::{accept_key, new_key, WEBSOCKET_VERSION};
use crate::web::websocket::{
    encode_frame, parse_close_payload, FrameHeader, Opcode, MAX_MESSAGE_BYTES,
};

use super::chat::{login_chat, parse_chat};
use super::wire::{find_newline, send, Fill, Inbound, Parsed, Protocol, Wire};

/// Largest upgrade response head the bench reads before giving up.
const MAX_RESPONSE_HEAD_BYTES: usize = 8 * 1024;

/// Where the masking keys come from: a counter run through a mixer. The
/// key only has to be unguessable to a page's script, so that it cannot
/// steer the bytes an intermediary sees; the bench runs no script and
/// crosses no proxy, and one random read per frame would cost the hot path.
static MASK_STATE: AtomicU64 = AtomicU64::new(0x853c_49e6_748f_ea9b);

/// A fresh masking key (splitmix64 of the counter).
fn mask_key() -> [u8; 4] {
    let mut z = MASK_STATE.fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^= z >> 31;
    let b = z.to_le_bytes();
    [b[0], b[1], b[2], b[3]]
}

/// One masked text message carrying `chat_frame`, as a client must send it.
pub(crate) fn client_text(chat_frame: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(chat_frame.len() + 14);
    encode_frame(&mut out, true, Opcode::Text, chat_frame, Some(mask_key()));
    out
}

/// One server frame from the front of `buf`: a whole text message (its
/// CHAT/1.0 frame, classified by the chat scanner), or a control frame.
/// `Ok(None)` while the frame is incomplete. Fragments are for the
/// [`Assembly`], which takes them off the buffer before this sees them.
pub(crate) fn parse_ws(buf: &[u8]) -> Result<Parsed<'_>, String> {
    let Some((header, payload)) = frame(buf)? else {
        return Ok(None);
    };
    let used = payload.end;
    let payload = &buf[payload];
    let msg = match header.opcode {
        Opcode::Text if header.fin => one_chat_frame(payload)?,
        Opcode::Text | Opcode::Continuation => {
            return Err("bad WebSocket frame from server: a fragment out of place".into())
        }
        Opcode::Binary => return Err("bad WebSocket frame from server: a binary message".into()),
        Opcode::Ping => Inbound::Ping(control(Opcode::Pong, payload)),
        Opcode::Pong => Inbound::Other,
        Opcode::Close => Inbound::Closing(close_reason(payload)?),
    };
    Ok(Some((msg, used)))
}

/// The header of the frame at the front of `buf` and where its payload is,
/// once the whole frame is in. Checks what a client must: no mask on a
/// server's frame, and a length within [`MAX_MESSAGE_BYTES`] before any of
/// the payload is waited for.
fn frame(buf: &[u8]) -> Result<Option<(FrameHeader, std::ops::Range<usize>)>, String> {
    let Some((header, at)) =
        FrameHeader::parse(buf).map_err(|e| format!("bad WebSocket frame from server: {e}"))?
    else {
        return Ok(None);
    };
    if header.mask.is_some() {
        return Err("bad WebSocket frame from server: masked".into());
    }
    let len = usize::try_from(header.len)
        .ok()
        .filter(|&n| n <= MAX_MESSAGE_BYTES)
        .ok_or_else(|| {
            format!(
                "bad WebSocket frame from server: {} bytes, over {MAX_MESSAGE_BYTES}",
                header.len
            )
        })?;
    if buf.len() - at < len {
        return Ok(None);
    }
    Ok(Some((header, at..at + len)))
}

/// The one CHAT/1.0 frame a text message carries. A chat-level `PING`
/// gets its `PONG` wrapped for the socket.
fn one_chat_frame(payload: &[u8]) -> Result<Inbound<'_>, String> {
    match parse_chat(payload)? {
        Some((Inbound::Ping(pong), used)) if used == payload.len() => {
            Ok(Inbound::Ping(client_text(&pong)))
        }
        Some((msg, used)) if used == payload.len() => Ok(msg),
        Some(_) => Err("bad WebSocket message from server: more than one CHAT/1.0 frame".into()),
        None => Err("bad WebSocket message from server: it ends inside its CHAT/1.0 frame".into()),
    }
}

/// A masked control frame (a pong echoes its ping's payload).
fn control(opcode: Opcode, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 6);
    encode_frame(&mut out, true, opcode, payload, Some(mask_key()));
    out
}

/// What a close frame says, for the report.
fn close_reason(payload: &[u8]) -> Result<String, String> {
    match parse_close_payload(payload) {
        Ok(None) => Ok("WebSocket close".to_string()),
        Ok(Some(close)) if close.reason.is_empty() => {
            Ok(format!("WebSocket close {}", close.code.0))
        }
        Ok(Some(close)) => Ok(format!(
            "WebSocket close {}: {}",
            close.code.0, close.reason
        )),
        Err(e) => Err(format!("bad WebSocket close from server: {e}")),
    }
}

/// A fragmented text message being put together (RFC 6455 section 5.4).
/// Our server never fragments, but a client must accept fragments, with
/// control frames between them.
#[derive(Debug, Default)]
pub(crate) struct Assembly {
    bytes: Vec<u8>,
    state: State,
}

#[derive(Debug, Default, PartialEq)]
enum State {
    /// No message begun.
    #[default]
    Idle,
    /// A first fragment is in, the final one is not.
    Gathering,
    /// The final fragment is in: `bytes` is the whole message.
    Complete,
    /// The fragments broke a rule; nothing more is taken.
    Broken(String),
}

impl Assembly {
    /// Takes the fragments at the front of `buf` into the message, stopping
    /// at anything else (a whole message, a control frame, an incomplete
    /// frame, something broken: those are left for [`parse_ws`]) or when
    /// the message is complete. Returns how many bytes it took.
    pub(crate) fn gather(&mut self, buf: &[u8]) -> usize {
        let mut taken = 0;
        while matches!(self.state, State::Idle | State::Gathering) {
            let Ok(Some((header, payload))) = frame(&buf[taken..]) else {
                break;
            };
            let gathering = self.state == State::Gathering;
            match header.opcode {
                Opcode::Text if gathering => {
                    self.state = State::Broken("a new message inside a fragmented one".into());
                    break;
                }
                Opcode::Text if !header.fin => {}
                Opcode::Continuation if !gathering => {
                    self.state = State::Broken("a continuation with no message begun".into());
                    break;
                }
                Opcode::Continuation => {}
                // A whole message or a control frame: `parse_ws`'s.
                _ => break,
            }
            if self.bytes.len() + payload.len() > MAX_MESSAGE_BYTES {
                self.state = State::Broken(format!("a message over {MAX_MESSAGE_BYTES} bytes"));
                break;
            }
            let range = taken + payload.start..taken + payload.end;
            self.bytes.extend_from_slice(&buf[range]);
            taken += payload.end;
            self.state = if header.fin {
                State::Complete
            } else {
                State::Gathering
            };
        }
        taken
    }

    /// The complete message (taking no bytes of the buffer), or what broke.
    pub(crate) fn message(&self) -> Option<Result<Parsed<'_>, String>> {
        match &self.state {
            State::Idle | State::Gathering => None,
            State::Complete => Some(one_chat_frame(&self.bytes).map(|msg| Some((msg, 0)))),
            State::Broken(why) => Some(Err(format!("bad WebSocket message from server: {why}"))),
        }
    }

    /// After a complete message was handled: ready for the next. Says
    /// whether there was one.
    pub(crate) fn finish(&mut self) -> bool {
        if self.state != State::Complete {
            return false;
        }
        self.bytes.clear();
        self.state = State::Idle;
        true
    }
}

/// The browser's login: the upgrade, then the chat login inside the
/// socket. `addr` names the server in `Host` and, the same, in `Origin`,
/// as a page the server served would.
pub(crate) fn login_ws(
    wire: &mut Wire,
    writer: &Mutex<Arc<TcpStream>>,
    addr: SocketAddr,
    nick: &str,
    room: &str,
    rooms: usize,
    deadline: Instant,
) -> Result<(), String> {
    upgrade(wire, writer, addr, deadline)?;
    login_chat(Protocol::Ws, wire, writer, nick, room, rooms, deadline)
}

/// Sends the upgrade request and checks the `101` answer, its
/// `Sec-WebSocket-Accept` included; then `wire` reads WebSocket frames.
fn upgrade(
    wire: &mut Wire,
    writer: &Mutex<Arc<TcpStream>>,
    addr: SocketAddr,
    deadline: Instant,
) -> Result<(), String> {
    let key = new_key().map_err(|e| format!("WebSocket key: {e}"))?;
    let request = format!(
        "GET /ws HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\n\
         Upgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: {WEBSOCKET_VERSION}\r\n\r\n"
    );
    send(writer, request.as_bytes()).map_err(|e| format!("send the upgrade: {e}"))?;
    loop {
        if let Some(len) = head_len(wire.pending())? {
            check_upgrade(&wire.pending()[..len], &accept_key(&key))?;
            wire.consume(len);
            wire.start_websocket();
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err("waiting for the upgrade (101): timed out".to_string());
        }
        match wire.fill().map_err(|e| format!("read: {e}"))? {
            Fill::Data | Fill::Nothing => {}
            Fill::Eof => return Err("server closed the connection during the upgrade".into()),
        }
    }
}

/// The length of the response head at the front of `buf` (up to and with
/// its blank line), once it is all in.
fn head_len(buf: &[u8]) -> Result<Option<usize>, String> {
    let mut pos = 0;
    while let Some(n) = find_newline(&buf[pos..]) {
        let line = &buf[pos..pos + n];
        pos += n + 1;
        if line.is_empty() || line == b"\r" {
            return Ok(Some(pos));
        }
    }
    if buf.len() > MAX_RESPONSE_HEAD_BYTES {
        return Err(format!(
            "upgrade response head over {MAX_RESPONSE_HEAD_BYTES} bytes"
        ));
    }
    Ok(None)
}

/// Checks an upgrade response head: `101`, and the accept value `want`.
fn check_upgrade(head: &[u8], want: &str) -> Result<(), String> {
    let head = String::from_utf8_lossy(head);
    let mut lines = head.lines();
    let status = lines.next().unwrap_or_default();
    let mut parts = status.splitn(3, ' ');
    if !matches!(
        (parts.next(), parts.next()),
        (Some("HTTP/1.1"), Some("101"))
    ) {
        return Err(format!("upgrade refused: {status:?}"));
    }
    let accept = lines
        .filter_map(|line| line.split_once(':'))
        .find(|(name, _)| name.trim().eq_ignore_ascii_case("Sec-WebSocket-Accept"))
        .map(|(_, value)| value.trim());
    if accept != Some(want) {
        return Err(format!(
            "upgrade: Sec-WebSocket-Accept {accept:?}, expected {want:?}"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Frame;
    use crate::web::websocket::{close_payload, CloseCode};

    /// A server frame (unmasked).
    fn server(fin: bool, opcode: Opcode, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        encode_frame(&mut out, fin, opcode, payload, None);
        out
    }

    fn message(text: &str) -> Vec<u8> {
        Frame::request("MESSAGE", "/rooms/lobby")
            .with_header("From", "b0001")
            .with_text(text)
            .encode()
    }

    #[test]
    fn text_messages_carry_chat_frames() {
        let mut bytes = server(true, Opcode::Text, &message("123 xx"));
        let len = bytes.len();
        bytes.extend_from_slice(b"\x81");
        let (msg, used) = parse_ws(&bytes).ok().flatten().expect("a message");
        assert_eq!(used, len);
        assert_eq!(
            msg,
            Inbound::Delivery {
                room: "lobby",
                history: false,
                body: b"123 xx"
            }
        );
        let ok = server(
            true,
            Opcode::Text,
            b"CHAT/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
        );
        assert!(matches!(
            parse_ws(&ok),
            Ok(Some((Inbound::Reply { code: 200, .. }, _)))
        ));
        // A long body takes the 16-bit length form.
        let long = server(true, Opcode::Text, &message(&"9".repeat(300)));
        assert_eq!(long[1], 126);
        assert!(
            matches!(parse_ws(&long), Ok(Some((Inbound::Delivery { .. }, n))) if n == long.len())
        );
    }

    #[test]
    fn waits_for_whole_frames() {
        let bytes = server(true, Opcode::Text, &message(&"7".repeat(200)));
        for cut in 0..bytes.len() {
            assert_eq!(parse_ws(&bytes[..cut]), Ok(None), "cut at {cut}");
        }
    }

    #[test]
    fn control_frames() {
        let ping = server(true, Opcode::Ping, b"chat");
        let Ok(Some((Inbound::Ping(pong), 6))) = parse_ws(&ping) else {
            panic!("a ping");
        };
        // A masked pong echoing the payload.
        let (header, at) = FrameHeader::parse(&pong).ok().flatten().expect("a header");
        assert_eq!(
            (header.opcode, header.fin, header.len),
            (Opcode::Pong, true, 4)
        );
        let key = header.mask.expect("clients mask");
        let echoed: Vec<u8> = pong[at..]
            .iter()
            .zip(key.iter().cycle())
            .map(|(b, k)| b ^ k)
            .collect();
        assert_eq!(echoed, b"chat");
        assert_eq!(
            parse_ws(&server(true, Opcode::Pong, b"x")),
            Ok(Some((Inbound::Other, 3)))
        );
        let close = server(
            true,
            Opcode::Close,
            &close_payload(CloseCode::GOING_AWAY, "bye"),
        );
        assert_eq!(
            parse_ws(&close).map(|m| m.map(|m| m.0)),
            Ok(Some(Inbound::Closing("WebSocket close 1001: bye".into())))
        );
        assert_eq!(
            parse_ws(&server(true, Opcode::Close, b"")).map(|m| m.map(|m| m.0)),
            Ok(Some(Inbound::Closing("WebSocket close".into())))
        );
        // A chat PING inside a message is answered by a PONG inside one.
        let chat_ping = server(true, Opcode::Text, &Frame::request("PING", "/").encode());
        let Ok(Some((Inbound::Ping(pong), _))) = parse_ws(&chat_ping) else {
            panic!("a chat ping");
        };
        assert_eq!(pong[0], 0x81, "a final text frame");
        assert_ne!(pong[1] & 0x80, 0, "masked");
    }

    #[test]
    fn rejects_hostile_frames() {
        let two = [message("1 a"), message("2 b")].concat();
        let mut masked = Vec::new();
        encode_frame(
            &mut masked,
            true,
            Opcode::Text,
            &message("1 a"),
            Some([1, 2, 3, 4]),
        );
        let mut huge = vec![0x81, 127];
        huge.extend_from_slice(&(MAX_MESSAGE_BYTES as u64 + 1).to_be_bytes());
        let mut top_bit = vec![0x81, 127];
        top_bit.extend_from_slice(&u64::MAX.to_be_bytes());
        let bad: Vec<Vec<u8>> = vec![
            masked,
            huge,
            top_bit,
            vec![0x81, 126, 0, 5],   // 16-bit form for a short length
            vec![0xC1, 0],           // a reserved bit
            vec![0x83, 0],           // a reserved opcode
            vec![0x09, 0],           // a fragmented ping
            vec![0x89, 126, 0, 126], // a ping over 125 bytes
            server(true, Opcode::Binary, b"xx"),
            server(true, Opcode::Text, &two), // two chat frames in one message
            server(true, Opcode::Text, &message("1 a")[..20]), // a chat frame cut short
            server(true, Opcode::Text, b"garbage\r\n\r\n"),
            server(true, Opcode::Close, b"\x03"), // a one-byte close payload
            server(false, Opcode::Text, b"part"), // fragments are the assembly's
            server(true, Opcode::Continuation, b"part"),
        ];
        for bytes in bad {
            assert!(parse_ws(&bytes).is_err(), "{bytes:?}");
        }
        // A frame announced over the cap fails on its header alone.
        let mut announced = vec![0x81, 127];
        announced.extend_from_slice(&(1u64 << 40).to_be_bytes());
        assert!(parse_ws(&announced).is_err());
    }

    #[test]
    fn fragments_are_put_together_around_control_frames() {
        let chat = message("42 fragmented");
        let (a, rest) = chat.split_at(10);
        let (b, c) = rest.split_at(7);
        let ping = server(true, Opcode::Ping, b"p");
        let mut bytes = server(false, Opcode::Text, a);
        bytes.extend(server(false, Opcode::Continuation, b));
        let control_at = bytes.len();
        bytes.extend(&ping);
        bytes.extend(server(true, Opcode::Continuation, c));
        let after = bytes.len();
        bytes.extend(server(true, Opcode::Pong, b""));

        let mut assembly = Assembly::default();
        // Cut anywhere, the assembly takes only whole fragments.
        for cut in 0..control_at {
            let mut partial = Assembly::default();
            let taken = partial.gather(&bytes[..cut]);
            assert!(taken <= cut && partial.message().is_none());
        }
        assert_eq!(assembly.gather(&bytes), control_at, "stops at the ping");
        assert!(assembly.message().is_none());
        assert!(matches!(
            parse_ws(&bytes[control_at..]),
            Ok(Some((Inbound::Ping(_), 3)))
        ));
        let pos = control_at + 3;
        assert_eq!(assembly.gather(&bytes[pos..]), after - pos);
        assert_eq!(
            assembly.gather(&bytes[after..]),
            0,
            "complete: takes nothing more"
        );
        let Some(Ok(Some((msg, 0)))) = assembly.message() else {
            panic!("the whole message");
        };
        assert!(matches!(
            msg,
            Inbound::Delivery {
                body: b"42 fragmented",
                ..
            }
        ));
        assert!(assembly.finish());
        assert!(!assembly.finish());
        assert_eq!(
            assembly.gather(&bytes[after..]),
            0,
            "a pong is not a fragment"
        );
    }

    #[test]
    fn broken_fragments_are_reported() {
        let first = server(false, Opcode::Text, b"MESSAGE");
        let cases = [
            server(true, Opcode::Continuation, b"x"),
            [first.clone(), server(true, Opcode::Text, &message("1 a"))].concat(),
            [first.clone(), server(false, Opcode::Text, b"again")].concat(),
        ];
        for bytes in cases {
            let mut assembly = Assembly::default();
            assembly.gather(&bytes);
            assert!(matches!(assembly.message(), Some(Err(_))), "{bytes:?}");
        }
        // Fragments adding up to more than the cap.
        let mut assembly = Assembly::default();
        let big = vec![b'x'; 40 * 1024];
        let bytes = [
            server(false, Opcode::Text, &big),
            server(true, Opcode::Continuation, &big),
        ]
        .concat();
        assembly.gather(&bytes);
        assert!(matches!(assembly.message(), Some(Err(e)) if e.contains("over")));
        // A message of several frames that is not one whole chat frame.
        let mut assembly = Assembly::default();
        let bytes = [
            server(false, Opcode::Text, b"gar"),
            server(true, Opcode::Continuation, b"bage\n\n"),
        ]
        .concat();
        assert_eq!(assembly.gather(&bytes), bytes.len());
        assert!(matches!(assembly.message(), Some(Err(_))));
    }

    #[test]
    fn client_frames_are_masked_text() {
        let chat = Frame::request("SAY", "/").with_text("1 x").encode();
        let frame = client_text(&chat);
        let (header, at) = FrameHeader::parse(&frame).ok().flatten().expect("a header");
        assert_eq!((header.fin, header.opcode), (true, Opcode::Text));
        let key = header.mask.expect("masked");
        let plain: Vec<u8> = frame[at..]
            .iter()
            .zip(key.iter().cycle())
            .map(|(b, k)| b ^ k)
            .collect();
        assert_eq!(plain, chat);
        assert_ne!(mask_key(), mask_key(), "a fresh key per frame");
    }

    #[test]
    fn upgrade_answers() {
        let key = "dGhlIHNhbXBsZSBub25jZQ==";
        let want = accept_key(key);
        assert_eq!(want, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "RFC 6455's example");
        let good = format!(
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             sec-websocket-accept: {want}\r\n\r\n\x01"
        );
        let len = head_len(good.as_bytes()).ok().flatten().expect("a head");
        assert_eq!(len, good.len() - 1);
        assert_eq!(check_upgrade(&good.as_bytes()[..len], &want), Ok(()));
        assert!(check_upgrade(good.as_bytes(), "other").is_err());
        let refused = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
        assert!(check_upgrade(refused, &want).is_err_and(|e| e.contains("403")));
        assert_eq!(
            head_len(b"HTTP/1.1 101 Switching\r\nUpgrade: websocket\r\n"),
            Ok(None)
        );
        assert!(head_len(&vec![b'a'; MAX_RESPONSE_HEAD_BYTES + 1]).is_err());
    }

    /// The wire over a real socket: a fragmented message split across
    /// reads, a ping between its fragments, then a whole message.
    #[test]
    fn the_wire_puts_fragments_together_across_reads() {
        use std::io::Write as _;
        use std::net::TcpListener;
        use std::time::Duration;

        let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let addr = listener.local_addr().expect("its address");
        let client = TcpStream::connect(addr).expect("connect");
        client
            .set_read_timeout(Some(Duration::from_secs(5)))
            .expect("read timeout");
        let (mut server_side, _) = listener.accept().expect("accept");
        let mut wire = Wire::new(Arc::new(client), false);
        wire.start_websocket();

        let chat = message("42 pieces");
        let (a, b) = chat.split_at(chat.len() / 2);
        let mut bytes = server(false, Opcode::Text, a);
        bytes.extend(server(true, Opcode::Ping, b"p"));
        bytes.extend(server(true, Opcode::Continuation, b));
        bytes.extend(server(true, Opcode::Text, &message("43 whole")));
        let mut got = Vec::new();
        let mut drain = |wire: &mut Wire| {
            while let Some((msg, used)) = wire.parse(Protocol::Ws).expect("well formed") {
                got.push(match msg {
                    Inbound::Delivery { body, .. } => String::from_utf8_lossy(body).into_owned(),
                    Inbound::Ping(_) => "ping".to_string(),
                    other => format!("{other:?}"),
                });
                wire.consume(used);
            }
            got.len()
        };
        // Three bytes at a time: every frame boundary falls inside a read.
        // One read per write (it waits for at least a byte); what a read
        // left behind comes with the next one.
        for piece in bytes.chunks(3) {
            server_side.write_all(piece).expect("write");
            assert!(matches!(wire.fill(), Ok(Fill::Data)));
            drain(&mut wire);
        }
        while drain(&mut wire) < 3 && matches!(wire.fill(), Ok(Fill::Data)) {}
        assert_eq!(got, ["ping", "42 pieces", "43 whole"]);
        assert!(wire.pending().is_empty());
    }
}
