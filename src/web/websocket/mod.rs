//! WebSocket messages over a byte stream (RFC 6455): a blocking [`Reader`]
//! that turns frames into whole messages under every rule of sections 5 and
//! 8 (masking, fragmentation, control frames, UTF-8 across fragments, a
//! size limit), and a [`Writer`]. Both ends are covered by [`Role`]: the
//! server door reads masked frames, a test's browser driver unmasked ones.
//!
//! The reader answers nothing itself: it hands pings and closes to the
//! caller, who answers them with [`Writer::answer`] (possibly from another
//! thread, since a server's writes go through its outbox).

mod close;
mod error;
mod frame;

pub use close::{close_payload, parse_close_payload, CloseCode, CloseFrame};
pub use error::WsError;
pub use frame::{
    apply_mask, encode_frame, encode_server_text, FrameHeader, Opcode, MAX_CONTROL_PAYLOAD,
};

use std::io::{self, Read, Write};

/// Default cap on one message: a CHAT/1.0 frame is at most 33 lines of
/// 1 KiB and a 4 KiB body, so 64 KiB holds any of them with room to spare.
pub const MAX_MESSAGE_BYTES: usize = 64 * 1024;

/// Which end of the connection this is: it decides which frames must be
/// masked (a client's) and which must not (a server's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Server,
    Client,
}

/// One whole message, or a control frame met between or inside messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Text(String),
    Binary(Vec<u8>),
    /// Answer with a pong carrying the same payload.
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    /// The peer starts or answers the close handshake; `None` when it gave
    /// no code. After it, the reader returns no more messages.
    Close(Option<CloseFrame>),
}

/// A message being put together from fragments.
struct Partial {
    text: bool,
    data: Vec<u8>,
    /// How much of `data` is known to be valid UTF-8 (a text message); the
    /// bytes after it are the start of a code point split across frames.
    valid_up_to: usize,
}

/// Reads whole messages from a stream. Give it a buffered stream: it reads
/// frame headers a few bytes at a time.
pub struct Reader<R> {
    inner: R,
    role: Role,
    max_message_bytes: usize,
    partial: Option<Partial>,
    closed: bool,
}

impl<R: Read> Reader<R> {
    /// A reader for `role`'s end, refusing messages over `max_message_bytes`.
    pub fn new(inner: R, role: Role, max_message_bytes: usize) -> Reader<R> {
        Reader {
            inner,
            role,
            max_message_bytes,
            partial: None,
            closed: false,
        }
    }

    /// The next message. `Ok(None)` when the stream ended cleanly between
    /// frames, or after a close frame (nothing may follow it).
    ///
    /// # Errors
    /// A [`WsError`]; send a close frame with its [`WsError::close_code`]
    /// (when it has one), then close the connection.
    pub fn read_message(&mut self) -> Result<Option<Message>, WsError> {
        loop {
            if self.closed {
                return Ok(None);
            }
            let Some(header) = FrameHeader::read_from(&mut self.inner)? else {
                return if self.partial.is_some() {
                    Err(WsError::UnexpectedEof)
                } else {
                    Ok(None)
                };
            };
            match (self.role, header.mask) {
                (Role::Server, None) => return Err(WsError::protocol("client frame not masked")),
                (Role::Client, Some(_)) => return Err(WsError::protocol("server frame masked")),
                _ => {}
            }
            if header.opcode.is_control() {
                return self.control(header).map(Some);
            }
            if let Some(message) = self.data(header)? {
                return Ok(Some(message));
            }
        }
    }

    fn control(&mut self, header: FrameHeader) -> Result<Message, WsError> {
        // The header reader has checked len <= 125.
        let mut payload = vec![0; header.len as usize];
        self.read_payload(&mut payload, header.mask)?;
        Ok(match header.opcode {
            Opcode::Ping => Message::Ping(payload),
            Opcode::Pong => Message::Pong(payload),
            _ => {
                let close = parse_close_payload(&payload)?;
                self.closed = true;
                Message::Close(close)
            }
        })
    }

    /// Adds a data frame to the message in progress; the message once its
    /// last frame is in.
    fn data(&mut self, header: FrameHeader) -> Result<Option<Message>, WsError> {
        let mut partial = match (header.opcode, self.partial.take()) {
            (Opcode::Continuation, Some(partial)) => partial,
            (Opcode::Continuation, None) => {
                return Err(WsError::protocol("continuation frame without a message"))
            }
            (_, Some(_)) => return Err(WsError::protocol("new message before the last ended")),
            (opcode, None) => Partial {
                text: opcode == Opcode::Text,
                data: Vec::new(),
                valid_up_to: 0,
            },
        };
        let start = partial.data.len();
        let total = (start as u64).saturating_add(header.len);
        if total > self.max_message_bytes as u64 {
            return Err(WsError::TooBig {
                len: total,
                limit: self.max_message_bytes,
            });
        }
        // `total` is within the limit, so this allocation is bounded.
        partial.data.resize(total as usize, 0);
        self.read_payload(&mut partial.data[start..], header.mask)?;
        if partial.text {
            check_utf8_prefix(&mut partial)?;
        }
        if !header.fin {
            self.partial = Some(partial);
            return Ok(None);
        }
        Ok(Some(if partial.text {
            if partial.valid_up_to != partial.data.len() {
                // The message ended inside a code point.
                return Err(WsError::InvalidUtf8);
            }
            Message::Text(String::from_utf8(partial.data).map_err(|_| WsError::InvalidUtf8)?)
        } else {
            Message::Binary(partial.data)
        }))
    }

    fn read_payload(&mut self, buf: &mut [u8], mask: Option<[u8; 4]>) -> Result<(), WsError> {
        self.inner.read_exact(buf)?;
        if let Some(key) = mask {
            apply_mask(buf, key, 0);
        }
        Ok(())
    }

    /// The stream underneath.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }

    /// The stream underneath, to set timeouts on.
    pub fn get_mut(&mut self) -> &mut R {
        &mut self.inner
    }
}

/// Checks the bytes of a text message received so far, failing as soon as
/// they cannot start valid UTF-8 (a code point split across frames is
/// fine until the message ends).
fn check_utf8_prefix(partial: &mut Partial) -> Result<(), WsError> {
    match std::str::from_utf8(&partial.data[partial.valid_up_to..]) {
        Ok(_) => partial.valid_up_to = partial.data.len(),
        // `error_len() == None`: the bytes end in the middle of a code
        // point that may still be completed by the next fragment.
        Err(e) if e.error_len().is_none() => partial.valid_up_to += e.valid_up_to(),
        Err(_) => return Err(WsError::InvalidUtf8),
    }
    Ok(())
}

/// Writes messages as single frames: unmasked for a server, masked with a
/// fresh key per frame for a client.
pub struct Writer<W> {
    inner: W,
    role: Role,
    /// Generator state for client masking keys, seeded from the OS.
    mask_state: u64,
}

impl<W: Write> Writer<W> {
    /// A writer for `role`'s end.
    ///
    /// # Errors
    /// For a client, when the OS random source cannot be read (masking keys
    /// must be unpredictable, RFC 6455 section 5.3).
    pub fn new(inner: W, role: Role) -> io::Result<Writer<W>> {
        let mut seed = [0u8; 8];
        if role == Role::Client {
            crate::crypto::random_bytes(&mut seed)?;
        }
        Ok(Writer {
            inner,
            role,
            mask_state: u64::from_le_bytes(seed) | 1,
        })
    }

    /// Sends one unfragmented frame and flushes it.
    ///
    /// # Errors
    /// The stream's error.
    pub fn send(&mut self, opcode: Opcode, payload: &[u8]) -> io::Result<()> {
        let mask = match self.role {
            Role::Server => None,
            Role::Client => Some(self.next_mask()),
        };
        let mut out = Vec::with_capacity(payload.len() + 14);
        encode_frame(&mut out, true, opcode, payload, mask);
        self.inner.write_all(&out)?;
        self.inner.flush()
    }

    /// Sends a text message.
    ///
    /// # Errors
    /// The stream's error.
    pub fn send_text(&mut self, text: &str) -> io::Result<()> {
        self.send(Opcode::Text, text.as_bytes())
    }

    /// Sends a close frame with `code` and `reason` (cut to fit 125 bytes).
    ///
    /// # Errors
    /// The stream's error.
    pub fn send_close(&mut self, code: CloseCode, reason: &str) -> io::Result<()> {
        self.send(Opcode::Close, &close_payload(code, reason))
    }

    /// Answers a control message: a pong for a ping, and the close frame
    /// that completes a close handshake (the peer's code echoed; 1000 when
    /// it gave none). Data messages and pongs need no answer.
    ///
    /// # Errors
    /// The stream's error.
    pub fn answer(&mut self, message: &Message) -> io::Result<()> {
        match message {
            Message::Ping(payload) => self.send(Opcode::Pong, payload),
            Message::Close(Some(close)) => self.send_close(close.code, ""),
            Message::Close(None) => self.send_close(CloseCode::NORMAL, ""),
            _ => Ok(()),
        }
    }

    /// The stream underneath.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// xorshift64* over an OS-seeded state: a new key per frame without a
    /// system call per frame.
    fn next_mask(&mut self) -> [u8; 4] {
        self.mask_state ^= self.mask_state >> 12;
        self.mask_state ^= self.mask_state << 25;
        self.mask_state ^= self.mask_state >> 27;
        let value = self.mask_state.wrapping_mul(0x2545_f491_4f6c_dd1d);
        let bytes = value.to_be_bytes();
        [bytes[0], bytes[1], bytes[2], bytes[3]]
    }
}

#[cfg(test)]
mod tests;
