//! Our chat protocol as the bench speaks it: a zero-copy scanner for the
//! frames the server sends, and the login conversation (LOGIN, then JOIN or
//! CREATE the client's room). Frames the bench sends are built by
//! `crate::protocol`.

use std::fmt::Write as _;
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::protocol::{header, Frame, MAX_HEADERS, MAX_LINE_BYTES, VERSION};

use super::login::{await_reply, Verdict};
use super::wire::{find_newline, send, Inbound, Parsed, Protocol, Wire};

/// The chat room every client enters on login.
pub(crate) const LOBBY: &str = "lobby";

/// Largest chat body the bench accepts from the server.
const MAX_INBOUND_BODY: usize = 64 * 1024;

/// One chat frame from the front of `buf`.
///
/// Why not `chat::protocol::Frame::read_from`: it allocates every line and
/// header (about 550 ns a frame on this machine), and the bench shares the
/// CPU with the server it measures, so its hot path must be as cheap as it
/// can be. This scanner borrows from the buffer instead and checks only what
/// the bench relies on: the start line, `Content-Length` (exactly once, decimal)
/// and the line and header caps of `chat::protocol`. Frames are still built
/// by `chat::protocol`, and the tests check the two parsers agree.
pub(crate) fn parse_chat(buf: &[u8]) -> Result<Parsed<'_>, String> {
    let mut lines = Lines { buf, pos: 0 };
    let start = loop {
        match lines.next()? {
            None => return Ok(None),
            Some(b"") => {}
            Some(line) => break line,
        }
    };
    let start = std::str::from_utf8(start)
        .map_err(|_| "bad frame from server: start line is not UTF-8".to_string())?;
    let mut content_length = None;
    let mut history = false;
    let mut nick: &[u8] = b"";
    let mut count = 0;
    loop {
        let Some(line) = lines.next()? else {
            return Ok(None);
        };
        if line.is_empty() {
            break;
        }
        count += 1;
        if count > MAX_HEADERS {
            return Err(format!(
                "bad frame from server: more than {MAX_HEADERS} headers"
            ));
        }
        let colon = line.iter().position(|&b| b == b':').ok_or_else(|| {
            format!(
                "bad frame from server: header line {:?}",
                String::from_utf8_lossy(line)
            )
        })?;
        let (name, value) = (&line[..colon], trim_start(&line[colon + 1..]));
        if name.eq_ignore_ascii_case(header::CONTENT_LENGTH.as_bytes()) {
            match (content_length, parse_decimal(value)) {
                (None, Some(len)) => content_length = Some(len),
                (Some(_), _) => return Err("bad frame from server: two Content-Lengths".into()),
                (None, None) => {
                    return Err(format!(
                        "bad frame from server: Content-Length {:?}",
                        String::from_utf8_lossy(value)
                    ))
                }
            }
        } else if name.eq_ignore_ascii_case(header::HISTORY.as_bytes()) {
            history = value.eq_ignore_ascii_case(b"yes");
        } else if name.eq_ignore_ascii_case(header::NICK.as_bytes()) {
            nick = value;
        }
    }
    let len = content_length.ok_or("bad frame from server: no Content-Length")?;
    if len > MAX_INBOUND_BODY {
        return Err(format!("bad frame from server: body of {len} bytes"));
    }
    let body_start = lines.pos;
    let Some(body) = buf.get(body_start..body_start + len) else {
        return Ok(None);
    };
    let nick = std::str::from_utf8(nick)
        .map_err(|_| "bad frame from server: Nick is not UTF-8".to_string())?;
    let msg = classify_chat(start, Extras { history, nick }, body)?;
    Ok(Some((msg, body_start + len)))
}

/// `bytes` without leading spaces and tabs.
fn trim_start(bytes: &[u8]) -> &[u8] {
    let n = bytes
        .iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    &bytes[n..]
}

/// A non-empty run of ASCII digits that fits a `usize`, like `chat::protocol` accepts.
fn parse_decimal(bytes: &[u8]) -> Option<usize> {
    if bytes.is_empty() {
        return None;
    }
    bytes.iter().try_fold(0usize, |n, &b| {
        let digit = (b as char).to_digit(10)?;
        n.checked_mul(10)?.checked_add(digit as usize)
    })
}

/// Splits a buffer into LF- or CR LF-ended lines, capped like `chat::protocol`.
///
/// Lines stay bytes: only the start line and the values the bench uses are
/// checked for UTF-8.
struct Lines<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Lines<'a> {
    /// The next complete line without its ending; `Ok(None)` if incomplete.
    fn next(&mut self) -> Result<Option<&'a [u8]>, String> {
        let rest = &self.buf[self.pos..];
        let window = &rest[..rest.len().min(MAX_LINE_BYTES + 2)];
        let Some(n) = find_newline(window) else {
            if rest.len() >= MAX_LINE_BYTES + 2 {
                return Err(format!(
                    "bad frame from server: line over {MAX_LINE_BYTES} bytes"
                ));
            }
            return Ok(None);
        };
        self.pos += n + 1;
        let line = rest[..n].strip_suffix(b"\r").unwrap_or(&rest[..n]);
        if line.len() > MAX_LINE_BYTES {
            return Err(format!(
                "bad frame from server: line over {MAX_LINE_BYTES} bytes"
            ));
        }
        Ok(Some(line))
    }
}

/// The headers of a chat frame the bench looks at.
struct Extras<'a> {
    /// `History: yes`.
    history: bool,
    /// `Nick` (of JOIN events), or empty.
    nick: &'a str,
}

/// What a chat frame means to the bench, from its start line.
fn classify_chat<'a>(
    start: &'a str,
    extras: Extras<'a>,
    body: &'a [u8],
) -> Result<Inbound<'a>, String> {
    let bad = || format!("bad frame from server: start line {start:?}");
    if let Some(rest) = start
        .strip_prefix(VERSION)
        .and_then(|r| r.strip_prefix(' '))
    {
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        let code: u16 = code
            .parse()
            .ok()
            .filter(|_| code.len() == 3 && code.bytes().all(|b| b.is_ascii_digit()))
            .ok_or_else(bad)?;
        let mut text = format!("{code} {reason}");
        if !body.is_empty() {
            let _ = write!(text, ": {}", String::from_utf8_lossy(body).trim_end());
        }
        return Ok(Inbound::Reply { code, text });
    }
    let mut parts = start.split(' ');
    let (Some(verb), Some(target), Some(VERSION), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(bad());
    };
    let room = target.strip_prefix("/rooms/").unwrap_or(target);
    Ok(match verb {
        "MESSAGE" => Inbound::Delivery {
            room,
            history: extras.history,
            body,
        },
        "JOIN" => Inbound::Joined {
            room,
            nick: extras.nick,
        },
        "PING" => Inbound::Ping(Frame::request("PONG", "/").encode()),
        "BYE" => Inbound::Closing(String::from_utf8_lossy(body).trim_end().to_string()),
        _ => Inbound::Other,
    })
}

/// Chat: every reply answers the one request in flight.
fn chat_judge(code: u16) -> Verdict {
    if (200..300).contains(&code) {
        Verdict::Done
    } else {
        Verdict::Fail
    }
}

/// Chat login: LOGIN, then (with several rooms) JOIN the room, creating it
/// when it does not exist yet, and joining after all if another client won
/// the race to create it. `protocol` is chat, or ws once upgraded (the same
/// frames, in WebSocket messages).
pub(crate) fn login_chat(
    protocol: Protocol,
    wire: &mut Wire,
    writer: &Mutex<Arc<TcpStream>>,
    nick: &str,
    room: &str,
    rooms: usize,
    deadline: Instant,
) -> Result<(), String> {
    // Each step waits for its reply and for this client's own JOIN event.
    let mut request = |frame: Frame, what: &str, into: &str| {
        send(writer, &protocol.wrap(frame.encode())).map_err(|e| format!("send {what}: {e}"))?;
        await_reply(
            protocol,
            wire,
            writer,
            deadline,
            chat_judge,
            Some((into, nick)),
        )
        .map_err(|e| format!("waiting for the {what} reply and JOIN /rooms/{into}: {e}"))
    };
    let login = Frame::request("LOGIN", "/").with_header(header::NICK, nick);
    request(login, "LOGIN", LOBBY)?.map_err(|e| format!("LOGIN refused: {e}"))?;
    if rooms == 1 {
        return Ok(());
    }
    let target = format!("/rooms/{room}");
    let join = || Frame::request("JOIN", &target);
    let Err(join_error) = request(join(), "JOIN", room)? else {
        return Ok(());
    };
    let create = Frame::request("CREATE", &target).with_header(header::VISIBILITY, "public");
    let Err(create_error) = request(create, "CREATE", room)? else {
        return Ok(());
    };
    request(join(), "JOIN", room)?.map_err(|e| {
        format!("cannot enter {room}: JOIN said {join_error:?}, CREATE said {create_error:?}, JOIN again said {e:?}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames as `chat::protocol` encodes them, of every kind the bench meets.
    fn sample_frames() -> Vec<Frame> {
        vec![
            Frame::request("MESSAGE", "/rooms/lobby")
                .with_header(header::FROM, "b0001")
                .with_header(header::SEQ, 17)
                .with_text("77 xx"),
            Frame::request("MESSAGE", "/rooms/room3")
                .with_header(header::HISTORY, "yes")
                .with_text("old"),
            Frame::status(crate::protocol::Status::OK),
            Frame::reply(crate::protocol::Status::CONFLICT, "room exists"),
            Frame::request("PING", "/"),
            Frame::request("JOIN", "/rooms/lobby").with_header(header::NICK, "b0002"),
            Frame::request("BYE", "/").with_text("server full"),
        ]
    }

    #[test]
    fn chat_scanner_agrees_with_chat_protocol() {
        let limits = crate::protocol::Limits {
            max_body_bytes: MAX_INBOUND_BODY,
            ..crate::protocol::Limits::default()
        };
        let mut stream = Vec::new();
        for frame in sample_frames() {
            stream.extend_from_slice(&frame.encode());
        }
        // The same frames with bare LF line ends.
        let lf: Vec<u8> = String::from_utf8_lossy(&stream)
            .replace("\r\n", "\n")
            .into_bytes();
        for bytes in [stream, lf] {
            let mut official = &bytes[..];
            let mut pos = 0;
            while let Some(frame) = Frame::read_from(&mut official, &limits).ok().flatten() {
                let (msg, used) = parse_chat(&bytes[pos..]).ok().flatten().expect("a frame");
                pos += used;
                assert_eq!(pos, bytes.len() - official.len());
                match (msg, frame.status_code(), frame.verb()) {
                    (Inbound::Reply { code, .. }, Some(status), None) => assert_eq!(code, status.0),
                    (
                        Inbound::Delivery {
                            room,
                            history,
                            body,
                        },
                        None,
                        Some("MESSAGE"),
                    ) => {
                        assert_eq!(Some(room), frame.target().strip_prefix("/rooms/"));
                        assert_eq!(history, frame.header(header::HISTORY) == Some("yes"));
                        assert_eq!(body, &frame.body[..]);
                    }
                    (Inbound::Ping(_), None, Some("PING")) => {}
                    (Inbound::Closing(why), None, Some("BYE")) => assert_eq!(why, "server full"),
                    (Inbound::Joined { room, nick }, None, Some("JOIN")) => {
                        assert_eq!(Some(room), frame.target().strip_prefix("/rooms/"));
                        assert_eq!(Some(nick), frame.header(header::NICK));
                    }
                    (msg, status, verb) => panic!("{msg:?} for {status:?} {verb:?}"),
                }
            }
            assert_eq!(pos, bytes.len());
        }
    }

    #[test]
    fn chat_scanner_waits_for_whole_frames() {
        let bytes = Frame::request("MESSAGE", "/rooms/lobby")
            .with_text("12 abc")
            .encode();
        for cut in 0..bytes.len() {
            assert_eq!(parse_chat(&bytes[..cut]), Ok(None), "cut at {cut}");
        }
        assert!(parse_chat(&bytes).is_ok_and(|m| m.is_some()));
    }

    #[test]
    fn chat_scanner_rejects_garbage() {
        let bad: [&[u8]; 6] = [
            b"garbage line\r\n\r\n",
            b"MESSAGE /rooms/a CHAT/1.0\r\n\r\n",
            b"MESSAGE /rooms/a CHAT/1.0\r\nContent-Length: x\r\n\r\n",
            b"MESSAGE /rooms/a CHAT/1.0\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx",
            b"MESSAGE /rooms/a CHAT/1.0\r\nno colon\r\n\r\n",
            b"CHAT/1.0 20 OK\r\nContent-Length: 0\r\n\r\n",
        ];
        for bytes in bad {
            assert!(
                parse_chat(bytes).is_err(),
                "{:?}",
                String::from_utf8_lossy(bytes)
            );
        }
        let long = vec![b'A'; MAX_LINE_BYTES + 2];
        assert!(parse_chat(&long).is_err());
        let big = format!(
            "MESSAGE /rooms/a CHAT/1.0\r\nContent-Length: {}\r\n\r\n",
            MAX_INBOUND_BODY + 1
        );
        assert!(parse_chat(big.as_bytes()).is_err());
    }
}
