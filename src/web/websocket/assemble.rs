//! Frames into messages (RFC 6455 sections 5.4-5.6): the rules that need
//! the connection's state, shared by the blocking [`super::Reader`] and the
//! buffer-based [`super::Decoder`]. A header is admitted before its payload
//! is read (masking, continuations, the size limit), then its payload is
//! added (UTF-8 checked across fragments as it arrives).

use super::close::parse_close_payload;
use super::frame::{FrameHeader, Opcode};
use super::{Message, Role, WsError};

/// A message being put together from fragments.
struct Partial {
    text: bool,
    data: Vec<u8>,
    /// How much of `data` is known to be valid UTF-8 (a text message); the
    /// bytes after it are the start of a code point split across frames.
    valid_up_to: usize,
}

/// The message under way on one connection, and whether it has closed.
pub struct Assembler {
    role: Role,
    max_message_bytes: usize,
    partial: Option<Partial>,
    closed: bool,
}

impl Assembler {
    /// An assembler for `role`'s end, refusing messages over `max_message_bytes`.
    pub fn new(role: Role, max_message_bytes: usize) -> Assembler {
        Assembler {
            role,
            max_message_bytes,
            partial: None,
            closed: false,
        }
    }

    /// True once a close frame has been taken: nothing may follow it.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// True while a fragmented message has begun and not ended.
    pub fn is_mid_message(&self) -> bool {
        self.partial.is_some()
    }

    /// Checks a header before its payload is read: masking for this role,
    /// continuation frames only inside a message and data frames only
    /// outside one, and the message's size so far. After `Ok`, the payload
    /// is at most the limit (or 125 bytes for a control frame), so reading
    /// it allocates a bounded amount.
    ///
    /// # Errors
    /// `Protocol` for a rule broken, `TooBig` over the size limit.
    pub fn admit(&self, header: &FrameHeader) -> Result<(), WsError> {
        match (self.role, header.mask) {
            (Role::Server, None) => return Err(WsError::protocol("client frame not masked")),
            (Role::Client, Some(_)) => return Err(WsError::protocol("server frame masked")),
            _ => {}
        }
        if header.opcode.is_control() {
            return Ok(());
        }
        let so_far = match (header.opcode, &self.partial) {
            (Opcode::Continuation, Some(partial)) => partial.data.len(),
            (Opcode::Continuation, None) => {
                return Err(WsError::protocol("continuation frame without a message"))
            }
            (_, Some(_)) => return Err(WsError::protocol("new message before the last ended")),
            (_, None) => 0,
        };
        let total = (so_far as u64).saturating_add(header.len);
        if total > self.max_message_bytes as u64 {
            return Err(WsError::TooBig {
                len: total,
                limit: self.max_message_bytes,
            });
        }
        Ok(())
    }

    /// Takes the unmasked payload of an admitted frame: a control message
    /// at once, a data message once its last fragment is in.
    ///
    /// # Errors
    /// `InvalidUtf8` for text that cannot be UTF-8 (as soon as it cannot),
    /// `Protocol` or `InvalidUtf8` for a malformed close payload.
    pub fn accept(
        &mut self,
        header: &FrameHeader,
        payload: Vec<u8>,
    ) -> Result<Option<Message>, WsError> {
        match header.opcode {
            Opcode::Ping => return Ok(Some(Message::Ping(payload))),
            Opcode::Pong => return Ok(Some(Message::Pong(payload))),
            Opcode::Close => {
                let close = parse_close_payload(&payload)?;
                self.closed = true;
                return Ok(Some(Message::Close(close)));
            }
            Opcode::Text | Opcode::Binary | Opcode::Continuation => {}
        }
        let mut partial = self.partial.take().unwrap_or(Partial {
            text: header.opcode == Opcode::Text,
            data: Vec::new(),
            valid_up_to: 0,
        });
        if partial.data.is_empty() {
            partial.data = payload;
        } else {
            partial.data.extend_from_slice(&payload);
        }
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
