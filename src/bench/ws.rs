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
#[path = "ws_tests.rs"]
mod tests;
