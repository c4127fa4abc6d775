//! One WebSocket frame (RFC 6455 section 5.2): its header read from a
//! stream with every framing rule checked, and frames encoded for the wire.
//!
//! ```text
//!  0               1               2               3
//!  0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7 0 1 2 3 4 5 6 7
//! +-+-+-+-+-------+-+-------------+-------------------------------+
//! |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//! |I|S|S|S|  (4)  |A|     (7)     |    (16/64, if len is 126/127) |
//! |N|V|V|V|       |S|             |                               |
//! +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//! |     ... extended length ...   | Masking-key (32), if MASK set |
//! +-------------------------------+-------------------------------+
//! ```

use std::io::Read;

use super::WsError;

/// Largest payload of a control frame (close, ping, pong).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Opcode {
    Continuation,
    Text,
    Binary,
    Close,
    Ping,
    Pong,
}

impl Opcode {
    /// The opcode for a wire value; `None` for the reserved ones (3-7, 11-15).
    pub fn from_u8(value: u8) -> Option<Opcode> {
        Some(match value {
            0x0 => Opcode::Continuation,
            0x1 => Opcode::Text,
            0x2 => Opcode::Binary,
            0x8 => Opcode::Close,
            0x9 => Opcode::Ping,
            0xA => Opcode::Pong,
            _ => return None,
        })
    }

    /// The wire value.
    pub fn as_u8(self) -> u8 {
        match self {
            Opcode::Continuation => 0x0,
            Opcode::Text => 0x1,
            Opcode::Binary => 0x2,
            Opcode::Close => 0x8,
            Opcode::Ping => 0x9,
            Opcode::Pong => 0xA,
        }
    }

    /// Close, ping and pong: at most 125 bytes, never fragmented, and
    /// allowed between the fragments of a message.
    pub fn is_control(self) -> bool {
        matches!(self, Opcode::Close | Opcode::Ping | Opcode::Pong)
    }
}

/// A frame's header: everything before its payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// The last frame of its message.
    pub fin: bool,
    pub opcode: Opcode,
    /// The masking key, on frames from a client.
    pub mask: Option<[u8; 4]>,
    /// The payload length.
    pub len: u64,
}

/// The longest frame header: two bytes, a 64-bit length, a masking key.
pub const MAX_HEADER_BYTES: usize = 14;

impl FrameHeader {
    /// Parses the frame header at the start of `bytes`, with its length in
    /// bytes. `Ok(None)` while it is incomplete; a broken rule is reported as
    /// soon as the bytes that break it are in (reserved bits and opcodes on
    /// the first byte), not once the whole header is. Masking is checked by
    /// the caller, who knows its role.
    ///
    /// # Errors
    /// `Protocol` for reserved bits (no extension is ever negotiated), a
    /// reserved opcode, a fragmented or over-long control frame, a length
    /// with its top bit set or not in its shortest form.
    pub fn parse(bytes: &[u8]) -> Result<Option<(FrameHeader, usize)>, WsError> {
        let Some(&b0) = bytes.first() else {
            return Ok(None);
        };
        if b0 & 0x70 != 0 {
            return Err(WsError::protocol("reserved bits set"));
        }
        let opcode = Opcode::from_u8(b0 & 0x0F).ok_or(WsError::protocol("reserved opcode"))?;
        let fin = b0 & 0x80 != 0;
        if opcode.is_control() && !fin {
            return Err(WsError::protocol("fragmented control frame"));
        }
        let Some(&b1) = bytes.get(1) else {
            return Ok(None);
        };
        let (len, mut at) = match b1 & 0x7F {
            126 => {
                let Some(ext) = bytes.get(2..4) else {
                    return Ok(None);
                };
                let len = u64::from(u16::from_be_bytes([ext[0], ext[1]]));
                if len < 126 {
                    return Err(WsError::protocol("length not in its shortest form"));
                }
                (len, 4)
            }
            127 => {
                let Some(&ext) = bytes.get(2..10).and_then(|b| b.first_chunk::<8>()) else {
                    return Ok(None);
                };
                let len = u64::from_be_bytes(ext);
                if len >> 63 != 0 {
                    return Err(WsError::protocol("length with its top bit set"));
                }
                if len <= u64::from(u16::MAX) {
                    return Err(WsError::protocol("length not in its shortest form"));
                }
                (len, 10)
            }
            short => (u64::from(short), 2),
        };
        if opcode.is_control() && len > MAX_CONTROL_PAYLOAD as u64 {
            return Err(WsError::protocol("control frame over 125 bytes"));
        }
        let mask = if b1 & 0x80 != 0 {
            let Some(key) = bytes.get(at..at + 4) else {
                return Ok(None);
            };
            at += 4;
            Some([key[0], key[1], key[2], key[3]])
        } else {
            None
        };
        let header = FrameHeader {
            fin,
            opcode,
            mask,
            len,
        };
        Ok(Some((header, at)))
    }

    /// Reads one frame header from a stream, with the rules of
    /// [`FrameHeader::parse`]. `Ok(None)` is a clean end of stream before
    /// its first byte.
    ///
    /// # Errors
    /// As [`FrameHeader::parse`], and `UnexpectedEof` or `Io` when the
    /// stream fails.
    pub fn read_from<R: Read>(r: &mut R) -> Result<Option<FrameHeader>, WsError> {
        let mut buf = [0u8; MAX_HEADER_BYTES];
        loop {
            match r.read(&mut buf[..1]) {
                Ok(0) => return Ok(None),
                Ok(_) => break,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e.into()),
            }
        }
        // What the first byte breaks is reported before waiting for more.
        FrameHeader::parse(&buf[..1])?;
        r.read_exact(&mut buf[1..2])?;
        let ext = match buf[1] & 0x7F {
            126 => 2,
            127 => 8,
            _ => 0,
        };
        let mask = if buf[1] & 0x80 != 0 { 4 } else { 0 };
        // The length's form is checked before the masking key is waited for.
        FrameHeader::parse(&buf[..2])?;
        r.read_exact(&mut buf[2..2 + ext])?;
        FrameHeader::parse(&buf[..2 + ext])?;
        r.read_exact(&mut buf[2 + ext..2 + ext + mask])?;
        let parsed = FrameHeader::parse(&buf[..2 + ext + mask])?;
        Ok(parsed.map(|(header, _)| header))
    }
}

/// XORs `data` with `mask`, `data` starting at byte `offset` of its payload
/// (masking is its own inverse).
pub fn apply_mask(data: &mut [u8], mask: [u8; 4], offset: usize) {
    for (i, byte) in data.iter_mut().enumerate() {
        *byte ^= mask[(offset + i) % 4];
    }
}

/// Appends one frame to `out`: masked with `mask` when a client sends it,
/// unmasked (`None`) when a server does.
pub fn encode_frame(
    out: &mut Vec<u8>,
    fin: bool,
    opcode: Opcode,
    payload: &[u8],
    mask: Option<[u8; 4]>,
) {
    out.reserve(14 + payload.len());
    out.push(u8::from(fin) << 7 | opcode.as_u8());
    let mask_bit = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        len @ 0..=125 => out.push(mask_bit | len as u8),
        len @ 126..=0xFFFF => {
            out.push(mask_bit | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            out.push(mask_bit | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            let start = out.len();
            out.extend_from_slice(payload);
            apply_mask(&mut out[start..], key, 0);
        }
        None => out.extend_from_slice(payload),
    }
}

/// One unfragmented server-to-client text frame: what a server enqueues for
/// a browser, encoded once and shared by every recipient.
pub fn encode_server_text(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    encode_frame(&mut out, true, Opcode::Text, text.as_bytes(), None);
    out
}
