//! WebSocket messages from an input buffer that never blocks: what a
//! server's session loop uses, which reads whatever has arrived and asks
//! for the next frame in it. Same rules as the blocking reader (both go
//! through [`Assembler`]); a frame is taken only once it is all in.

use super::assemble::Assembler;
use super::frame::{apply_mask, FrameHeader, Opcode, MAX_HEADER_BYTES};
use super::{Message, Role, WsError};

/// What the start of the input held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// Bytes of the input taken (one whole frame); 0 when the next frame
    /// is not all there yet.
    pub consumed: usize,
    /// The message that frame completed, if it did (a fragment does not).
    pub message: Option<Message>,
}

/// Frames from a buffer, put together into messages.
pub struct Decoder {
    assembler: Assembler,
    max_message_bytes: usize,
}

impl Decoder {
    /// A decoder for `role`'s end, refusing messages over `max_message_bytes`.
    pub fn new(role: Role, max_message_bytes: usize) -> Decoder {
        Decoder {
            assembler: Assembler::new(role, max_message_bytes),
            max_message_bytes,
        }
    }

    /// The most input the next frame can need: a header and a whole
    /// message. A buffer this size that holds no whole frame is impossible,
    /// since a longer frame is refused on its header.
    pub fn max_frame_bytes(&self) -> usize {
        MAX_HEADER_BYTES + self.max_message_bytes
    }

    /// True once a close frame has been taken: nothing may follow it.
    pub fn is_closed(&self) -> bool {
        self.assembler.is_closed()
    }

    /// True while a fragmented message has begun and not ended.
    pub fn is_mid_message(&self) -> bool {
        self.assembler.is_mid_message()
    }

    /// Decodes the frame at the start of `input`, if it is all there. A
    /// header that breaks a rule (or announces a message over the limit) is
    /// refused at once, before its payload arrives. After a close frame,
    /// nothing more is taken.
    ///
    /// # Errors
    /// A [`WsError`]: send a close frame with its [`WsError::close_code`],
    /// then close the connection.
    pub fn decode(&mut self, input: &[u8]) -> Result<Decoded, WsError> {
        let more = Decoded {
            consumed: 0,
            message: None,
        };
        if self.assembler.is_closed() {
            return Ok(more);
        }
        let Some((header, at)) = FrameHeader::parse(input)? else {
            return Ok(more);
        };
        self.assembler.admit(&header)?;
        // Admitted: the length is within the message limit (or 125).
        let len = usize::try_from(header.len).map_err(|_| WsError::TooBig {
            len: header.len,
            limit: self.max_message_bytes,
        })?;
        let Some(payload) = input.get(at..at + len) else {
            return Ok(more);
        };
        let mut payload = payload.to_vec();
        if let Some(key) = header.mask {
            apply_mask(&mut payload, key, 0);
        }
        let message = self.assembler.accept(&header, payload)?;
        Ok(Decoded {
            consumed: at + len,
            message,
        })
    }

    /// The text message the frame at the start of `input` is, and the
    /// bytes it takes, when that frame is a whole message on its own
    /// (final, text, valid UTF-8) that `decode` would take now and leave
    /// the decoder as it was; `None` for anything else (not all there, a
    /// fragment, a control frame, a broken rule), which `decode` then
    /// takes as usual. A reader looks ahead with it for a run of messages
    /// to carry out together, and takes each by consuming its bytes.
    pub fn peek_text(&self, input: &[u8]) -> Option<(String, usize)> {
        if self.assembler.is_closed() || self.assembler.is_mid_message() {
            return None;
        }
        let (header, at) = FrameHeader::parse(input).ok()??;
        if !header.fin || header.opcode != Opcode::Text || self.assembler.admit(&header).is_err() {
            return None;
        }
        let end = at.checked_add(usize::try_from(header.len).ok()?)?;
        let mut payload = input.get(at..end)?.to_vec();
        if let Some(key) = header.mask {
            apply_mask(&mut payload, key, 0);
        }
        Some((String::from_utf8(payload).ok()?, end))
    }
}
