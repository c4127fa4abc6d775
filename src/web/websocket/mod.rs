//! WebSocket messages over a byte stream (RFC 6455): a blocking [`Reader`]
//! and a buffer-based [`Decoder`] that turn frames into whole messages under
//! every rule of sections 5 and 8 (masking, fragmentation, control frames,
//! UTF-8 across fragments, a size limit), and a [`Writer`]. Both ends are covered by [`Role`]: the
//! server door reads masked frames, a test's browser driver unmasked ones.
//!
//! The reader answers nothing itself: it hands pings and closes to the
//! caller, who answers them with [`Writer::answer`] (possibly from another
//! thread, since a server's writes go through its outbox).

mod assemble;
mod close;
mod decoder;
mod error;
mod frame;

pub use assemble::Assembler;
pub use close::{close_payload, parse_close_payload, CloseCode, CloseFrame};
pub use decoder::{Decoded, Decoder};
pub use error::WsError;
pub use frame::{
    apply_mask, encode_frame, encode_server_text, FrameHeader, Opcode, MAX_CONTROL_PAYLOAD,
    MAX_HEADER_BYTES,
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

/// Reads whole messages from a stream. Give it a buffered stream: it reads
/// frame headers a few bytes at a time.
pub struct Reader<R> {
    inner: R,
    assembler: Assembler,
}

impl<R: Read> Reader<R> {
    /// A reader for `role`'s end, refusing messages over `max_message_bytes`.
    pub fn new(inner: R, role: Role, max_message_bytes: usize) -> Reader<R> {
        Reader {
            inner,
            assembler: Assembler::new(role, max_message_bytes),
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
            if self.assembler.is_closed() {
                return Ok(None);
            }
            let Some(header) = FrameHeader::read_from(&mut self.inner)? else {
                return if self.assembler.is_mid_message() {
                    Err(WsError::UnexpectedEof)
                } else {
                    Ok(None)
                };
            };
            self.assembler.admit(&header)?;
            // Admitted: the length is within the limit, so this is bounded.
            let mut payload = vec![0; header.len as usize];
            self.inner.read_exact(&mut payload)?;
            if let Some(key) = header.mask {
                apply_mask(&mut payload, key, 0);
            }
            if let Some(message) = self.assembler.accept(&header, payload)? {
                return Ok(Some(message));
            }
        }
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
