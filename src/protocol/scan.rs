//! Finding where a frame's head ends in bytes that are still arriving,
//! without parsing it and without rescanning: a session reads what the
//! socket has, asks whether a whole head is there, and only then parses it
//! (once). The caps are checked as bytes arrive, so a peer cannot make the
//! server buffer more than a maximal head before it is told no.

use super::{FrameError, Limits};

/// How far a head has been scanned. Feed it the same growing buffer (the
/// bytes not yet consumed, from the frame's first byte) until it finds the
/// end; `reset` it when a frame has been consumed.
#[derive(Debug, Default, Clone)]
pub struct HeadScan {
    /// Bytes already looked at.
    scanned: usize,
    /// Where the line being scanned starts.
    line_start: usize,
    /// Whole lines seen since the start line (the start line included).
    lines: usize,
    /// Empty lines before the start line, as their bytes.
    blank_bytes: usize,
}

impl HeadScan {
    /// Looks at the bytes of `buf` not seen before. `Ok(Some(n))`: the head
    /// is `buf[..n]`, its empty line included; `Ok(None)`: not yet.
    ///
    /// # Errors
    /// `LineTooLong` or `TooManyHeaders` as soon as the bytes so far break
    /// a cap, whatever follows.
    pub fn scan(&mut self, buf: &[u8], limits: &Limits) -> Result<Option<usize>, FrameError> {
        while self.scanned < buf.len() {
            let rest = &buf[self.scanned..];
            let Some(at) = rest.iter().position(|&b| b == b'\n') else {
                self.scanned = buf.len();
                break;
            };
            let end = self.scanned + at + 1;
            let line = &buf[self.line_start..end];
            let content = line.strip_suffix(b"\n").unwrap_or(line);
            let content = content.strip_suffix(b"\r").unwrap_or(content);
            self.scanned = end;
            self.line_start = end;
            if content.len() > limits.max_line_bytes {
                return Err(FrameError::LineTooLong {
                    limit: limits.max_line_bytes,
                });
            }
            if content.is_empty() {
                if self.lines == 0 {
                    // Empty lines before a start line are skipped, within the cap.
                    self.blank_bytes += line.len();
                    if self.blank_bytes > limits.max_line_bytes {
                        return Err(FrameError::LineTooLong {
                            limit: limits.max_line_bytes,
                        });
                    }
                    continue;
                }
                return Ok(Some(end));
            }
            self.lines += 1;
            // The start line, then at most `max_headers` header lines.
            if self.lines > limits.max_headers + 1 {
                return Err(FrameError::TooManyHeaders {
                    limit: limits.max_headers,
                });
            }
        }
        // A line still arriving may not outgrow the cap (its CR LF aside).
        if buf.len() - self.line_start > limits.max_line_bytes + 2 {
            return Err(FrameError::LineTooLong {
                limit: limits.max_line_bytes,
            });
        }
        Ok(None)
    }

    /// Starts over for the next frame.
    pub fn reset(&mut self) {
        *self = HeadScan::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_in_pieces(bytes: &[u8], piece: usize) -> Result<Option<usize>, FrameError> {
        let mut scan = HeadScan::default();
        for end in (piece..bytes.len() + piece).step_by(piece) {
            let end = end.min(bytes.len());
            if let Some(n) = scan.scan(&bytes[..end], &Limits::default())? {
                return Ok(Some(n));
            }
        }
        Ok(None)
    }

    #[test]
    fn finds_the_end_of_a_head_however_the_bytes_arrive() {
        let frame = b"\r\n\nSAY / CHAT/1.0\r\nContent-Length: 2\r\n\r\nhi";
        let head_len = frame.len() - 2;
        for piece in [1, 2, 3, 7, 100] {
            assert_eq!(
                scan_in_pieces(frame, piece).unwrap(),
                Some(head_len),
                "{piece}"
            );
        }
        let lf_only = b"PING / CHAT/1.0\nContent-Length: 0\n\nNEXT";
        assert_eq!(scan_in_pieces(lf_only, 5).unwrap(), Some(lf_only.len() - 4));
    }

    #[test]
    fn an_unfinished_head_is_not_an_error() {
        assert_eq!(
            scan_in_pieces(b"SAY / CHAT/1.0\r\nContent-Le", 4).unwrap(),
            None
        );
        assert_eq!(scan_in_pieces(b"", 1).unwrap(), None);
    }

    #[test]
    fn a_line_over_the_cap_is_refused_before_it_ends() {
        let limits = Limits::default();
        let mut long = vec![b'A'; limits.max_line_bytes + 2];
        assert_eq!(
            scan_in_pieces(&long, 64).unwrap(),
            None,
            "cap plus CR LF fits"
        );
        long.push(b'A');
        assert!(matches!(
            scan_in_pieces(&long, 64),
            Err(FrameError::LineTooLong { .. })
        ));
        let mut exact = vec![b'A'; limits.max_line_bytes];
        exact.extend_from_slice(b"\r\n\r\n");
        assert!(scan_in_pieces(&exact, 10).unwrap().is_some());
        let mut over = vec![b'A'; limits.max_line_bytes + 1];
        over.extend_from_slice(b"\r\n\r\n");
        assert!(scan_in_pieces(&over, 10).is_err());
    }

    #[test]
    fn too_many_header_lines_or_blank_lines_are_refused() {
        let limits = Limits::default();
        let mut head = b"SAY / CHAT/1.0\r\n".to_vec();
        for i in 0..limits.max_headers {
            head.extend_from_slice(format!("X-{i}: y\r\n").as_bytes());
        }
        let mut ok = head.clone();
        ok.extend_from_slice(b"\r\n");
        assert!(scan_in_pieces(&ok, 9).unwrap().is_some());
        head.extend_from_slice(b"X-extra: y\r\n");
        assert!(matches!(
            scan_in_pieces(&head, 9),
            Err(FrameError::TooManyHeaders { .. })
        ));
        let blanks = vec![b'\n'; limits.max_line_bytes + 1];
        assert!(scan_in_pieces(&blanks, 50).is_err());
    }
}
