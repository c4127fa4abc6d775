//! Finding IRC lines in a byte stream: read up to a line feed, never more
//! than [`MAX_LINE_BYTES`], so a peer that never ends its line costs a
//! bounded buffer and then its connection.

use std::io::{BufRead, Read};

use super::error::IrcError;
use super::message::{MAX_BODY_BYTES, MAX_TAGS_BYTES};

/// The longest line the reader takes, line end included: the longest tag
/// part plus the longest rest (8,191 + 512). Anything between the client
/// limits and this is read whole and answered with 417 by the parser, as
/// IRCv3 asks; past this the reader gives up on the connection.
pub const MAX_LINE_BYTES: usize = MAX_TAGS_BYTES + MAX_BODY_BYTES;

/// Reads one line (up to and including its `\n`) and appends it to `line`.
///
/// Returns `Ok(true)` when `line` holds a complete line and `Ok(false)` on a
/// clean end of stream before any byte of a new line. On a read timeout the
/// bytes read so far stay in `line`; call again with the same buffer to go
/// on, and clear it after each complete line.
///
/// # Errors
/// [`IrcError::LineTooLong`] when `line` reaches `max` bytes with no line
/// feed, [`IrcError::UnexpectedEof`] when the stream ends inside a line, and
/// [`IrcError::Io`] for a failed (or timed-out) read.
pub fn read_line<R: BufRead>(
    reader: &mut R,
    max: usize,
    line: &mut Vec<u8>,
) -> Result<bool, IrcError> {
    loop {
        if line.last() == Some(&b'\n') {
            return Ok(true);
        }
        let room = max.saturating_sub(line.len());
        if room == 0 {
            return Err(IrcError::LineTooLong { limit: max });
        }
        let before = line.len();
        reader.by_ref().take(room as u64).read_until(b'\n', line)?;
        if line.len() == before {
            return if line.is_empty() {
                Ok(false)
            } else {
                Err(IrcError::UnexpectedEof)
            };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{self, BufReader};

    #[test]
    fn reads_lines_back_to_back_then_a_clean_end() {
        let mut input: &[u8] = b"NICK al\r\nUSER al 0 * :Al\nPING x\r\n";
        let mut line = Vec::new();
        let mut got = Vec::new();
        while read_line(&mut input, MAX_LINE_BYTES, &mut line).expect("reads") {
            got.push(String::from_utf8(std::mem::take(&mut line)).expect("utf-8"));
        }
        assert_eq!(got, ["NICK al\r\n", "USER al 0 * :Al\n", "PING x\r\n"]);
    }

    #[test]
    fn a_line_of_exactly_the_limit_is_read_and_one_more_byte_is_not() {
        let at = [vec![b'x'; MAX_LINE_BYTES - 1], b"\n".to_vec()].concat();
        let mut line = Vec::new();
        assert!(read_line(&mut &at[..], MAX_LINE_BYTES, &mut line).expect("at the limit"));
        assert_eq!(line.len(), MAX_LINE_BYTES);
        let over = [vec![b'x'; MAX_LINE_BYTES], b"\n".to_vec()].concat();
        let mut line = Vec::new();
        let err = read_line(&mut &over[..], MAX_LINE_BYTES, &mut line).expect_err("over");
        assert!(matches!(
            err,
            IrcError::LineTooLong {
                limit: MAX_LINE_BYTES
            }
        ));
        assert_eq!(line.len(), MAX_LINE_BYTES, "read no further than the limit");
    }

    #[test]
    fn an_endless_line_costs_only_the_limit() {
        let mut endless = io::repeat(b'a');
        let mut line = Vec::new();
        let err = read_line(&mut BufReader::new(&mut endless), 100, &mut line).expect_err("cap");
        assert!(matches!(err, IrcError::LineTooLong { limit: 100 }));
        assert_eq!(line.len(), 100);
    }

    #[test]
    fn end_of_stream_inside_a_line_is_an_error() {
        let mut line = Vec::new();
        let err = read_line(&mut &b"PING x"[..], MAX_LINE_BYTES, &mut line).expect_err("eof");
        assert!(matches!(err, IrcError::UnexpectedEof));
        let mut line = Vec::new();
        assert!(!read_line(&mut &b""[..], MAX_LINE_BYTES, &mut line).expect("clean eof"));
    }

    /// A reader that times out once in the middle of a line.
    struct Stutter<'a>(&'a [u8], bool);

    impl Read for Stutter<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.len() == 2 && !self.1 {
                self.1 = true;
                return Err(io::ErrorKind::WouldBlock.into());
            }
            let n = buf.len().min(self.0.len()).min(3);
            buf[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn a_timeout_keeps_the_partial_line_for_the_next_call() {
        let mut reader = BufReader::with_capacity(3, Stutter(b"PING x\r\n", false));
        let mut line = Vec::new();
        let err = read_line(&mut reader, MAX_LINE_BYTES, &mut line).expect_err("timeout");
        assert!(err.is_timeout(), "{err}");
        assert_eq!(line, b"PING x");
        assert!(read_line(&mut reader, MAX_LINE_BYTES, &mut line).expect("resumes"));
        assert_eq!(line, b"PING x\r\n");
    }
}
