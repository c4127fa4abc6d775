//! Base64 (RFC 4648 §4: the standard alphabet with `=` padding), for SASL
//! `AUTHENTICATE` payloads and the WebSocket handshake. The decoder is
//! strict: it refuses anything [`encode`] would not have produced, so two
//! different texts never decode to the same bytes.

use std::fmt;

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Marks bytes outside the alphabet in [`DECODE`].
const INVALID: u8 = 0xff;

/// Each byte's 6-bit value, or [`INVALID`].
const DECODE: [u8; 256] = decode_table();

const fn decode_table() -> [u8; 256] {
    let mut table = [INVALID; 256];
    let mut i = 0;
    while i < 64 {
        table[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    table
}

/// Why a text is not canonical base64.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base64Error {
    /// The length is not a multiple of 4 (padding is required).
    BadLength { len: usize },
    /// A byte outside the alphabet, or `=` before the final group.
    BadByte { at: usize, byte: u8 },
    /// `=` where the final group cannot have it (`x===`, `xx=y`).
    BadPadding { at: usize },
    /// The last character carries bits that encoding would have left zero,
    /// so the text is not the one encoding of its bytes.
    NonZeroTrailingBits { at: usize },
}

impl fmt::Display for Base64Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Base64Error::BadLength { len } => {
                write!(f, "base64 length {len} is not a multiple of 4")
            }
            Base64Error::BadByte { at, byte } => {
                write!(f, "byte 0x{byte:02x} at offset {at} is not base64")
            }
            Base64Error::BadPadding { at } => write!(f, "misplaced '=' at offset {at}"),
            Base64Error::NonZeroTrailingBits { at } => {
                write!(f, "non-canonical base64: unused bits set at offset {at}")
            }
        }
    }
}

impl std::error::Error for Base64Error {}

/// The length of the base64 text for `len` bytes of data.
pub fn encoded_len(len: usize) -> usize {
    len.div_ceil(3) * 4
}

/// Encodes `data` as padded standard base64.
pub fn encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(encoded_len(data.len()));
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = u32::from(b[0]) << 16 | u32::from(b[1]) << 8 | u32::from(b[2]);
        let sextet = |shift: u32| char::from(ALPHABET[(n >> shift & 0x3f) as usize]);
        out.push(sextet(18));
        out.push(sextet(12));
        out.push(if chunk.len() > 1 { sextet(6) } else { '=' });
        out.push(if chunk.len() > 2 { sextet(0) } else { '=' });
    }
    out
}

/// Decodes padded standard base64, refusing whitespace, the URL-safe
/// alphabet, missing or misplaced padding and non-canonical trailing bits.
///
/// # Errors
/// A [`Base64Error`] naming the first offending offset.
pub fn decode(text: &[u8]) -> Result<Vec<u8>, Base64Error> {
    if !text.len().is_multiple_of(4) {
        return Err(Base64Error::BadLength { len: text.len() });
    }
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let groups = text.len() / 4;
    for (g, group) in text.chunks_exact(4).enumerate() {
        let base = g * 4;
        let last = g + 1 == groups;
        // Padding may only end the final group, as `xx==` or `xxx=`.
        let pad = if last {
            group.iter().rev().take_while(|&&b| b == b'=').count()
        } else {
            0
        };
        if pad > 2 {
            return Err(Base64Error::BadPadding { at: base + 4 - pad });
        }
        let mut n = 0u32;
        for (i, &byte) in group[..4 - pad].iter().enumerate() {
            let v = DECODE[usize::from(byte)];
            if v == INVALID {
                return Err(Base64Error::BadByte { at: base + i, byte });
            }
            n |= u32::from(v) << (18 - 6 * i);
        }
        let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
        let keep = 3 - pad;
        // The bits below the kept bytes must be zero, else another text
        // would decode to the same bytes.
        let unused = match pad {
            1 => n & 0xff,
            2 => n & 0xffff,
            _ => 0,
        };
        if unused != 0 {
            return Err(Base64Error::NonZeroTrailingBits { at: base + 3 - pad });
        }
        out.extend_from_slice(&bytes[..keep]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 4648 §10.
    const VECTORS: [(&str, &str); 7] = [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ];

    #[test]
    fn encodes_the_rfc_4648_vectors() {
        for (plain, coded) in VECTORS {
            assert_eq!(encode(plain.as_bytes()), coded, "{plain:?}");
            assert_eq!(encoded_len(plain.len()), coded.len());
        }
    }

    #[test]
    fn decodes_the_rfc_4648_vectors() {
        for (plain, coded) in VECTORS {
            assert_eq!(decode(coded.as_bytes()).as_deref(), Ok(plain.as_bytes()));
        }
    }

    #[test]
    fn round_trips_every_byte_value_at_every_length_modulo_three() {
        let all: Vec<u8> = (0..=255).collect();
        for len in [0, 1, 2, 3, 254, 255, 256] {
            let data = &all[..len.min(all.len())];
            assert_eq!(decode(encode(data).as_bytes()).as_deref(), Ok(data));
        }
        // Both characters outside the letters and digits appear.
        assert_eq!(encode(&[0xfb, 0xff]), "+/8=");
    }

    #[test]
    fn refuses_lengths_that_are_not_a_multiple_of_four() {
        for bad in ["Z", "Zg", "Zg=", "Zm9vY"] {
            assert_eq!(
                decode(bad.as_bytes()),
                Err(Base64Error::BadLength { len: bad.len() })
            );
        }
    }

    #[test]
    fn refuses_bytes_outside_the_alphabet() {
        assert_eq!(
            decode(b"Zm9v Yg="),
            Err(Base64Error::BadByte { at: 4, byte: b' ' })
        );
        // The URL-safe alphabet is a different encoding.
        assert_eq!(
            decode(b"-_8="),
            Err(Base64Error::BadByte { at: 0, byte: b'-' })
        );
        assert_eq!(
            decode(b"Zm9v\r\nYg"),
            Err(Base64Error::BadByte { at: 4, byte: b'\r' })
        );
        assert_eq!(
            decode(b"Zm\xc3\xa9"),
            Err(Base64Error::BadByte { at: 2, byte: 0xc3 })
        );
        assert_eq!(
            decode(b"Zm9v\0\0\0\0"),
            Err(Base64Error::BadByte { at: 4, byte: 0 })
        );
    }

    #[test]
    fn refuses_misplaced_padding() {
        // Padding inside the text, not at its end.
        assert_eq!(
            decode(b"Zg==Zm9v"),
            Err(Base64Error::BadByte { at: 2, byte: b'=' })
        );
        assert_eq!(decode(b"Z==="), Err(Base64Error::BadPadding { at: 1 }));
        assert_eq!(decode(b"===="), Err(Base64Error::BadPadding { at: 0 }));
        assert_eq!(
            decode(b"Zm=v"),
            Err(Base64Error::BadByte { at: 2, byte: b'=' })
        );
    }

    #[test]
    fn refuses_non_canonical_trailing_bits() {
        // "Zh==" would also decode to "f" if the unused bits were ignored.
        assert_eq!(
            decode(b"Zh=="),
            Err(Base64Error::NonZeroTrailingBits { at: 1 })
        );
        assert_eq!(
            decode(b"Zm9="),
            Err(Base64Error::NonZeroTrailingBits { at: 2 })
        );
    }
}
