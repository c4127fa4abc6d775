//! Reading `log.txt` lines fast: a borrowing parser that accepts exactly the
//! lines [`history::parse_line`](crate::server::history::parse_line) accepts
//! (so the index never holds a line a page read would refuse), and a bounded
//! forward scan of a byte range of the file through `pread`, which needs no
//! shared file position and so is safe from any thread.

use std::fs::File;
use std::io::{self, BufRead, BufReader, Read};
use std::os::unix::fs::FileExt;

use crate::crc32::crc32;
use crate::server::history::Kind;
use crate::server::store::unescape;

/// Longest line the archive indexes or reads, newline included. A record
/// the server writes is under 9 KiB (a 4 KiB body, each byte possibly
/// escaped, plus the other fields); the cap leaves room for a larger body
/// limit one day, and keeps a damaged file from filling memory. Longer
/// lines are reported and not indexed (nor counted for the next seq).
pub const MAX_LINE_BYTES: usize = 512 * 1024;
/// Read-ahead of a forward scan: large reads keep system calls rare.
const SCAN_BUFFER_BYTES: usize = 1 << 20;

/// What the index needs of one record, borrowed from its line. Text fields
/// are as written (escaped); [`key_into`] gives the name key of one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Meta<'a> {
    pub seq: u64,
    pub kind: Kind,
    pub date: &'a str,
    pub room: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub text: &'a str,
    /// The line holds a backslash: its fields may need unescaping.
    pub escaped: bool,
}

/// Parses one line (without its newline), checking everything
/// `history::parse_line` checks: UTF-8, checksum, field count, number,
/// kind and escapes, without allocating.
///
/// # Errors
/// The same short reasons `parse_line` gives.
pub fn parse_meta(line: &[u8]) -> Result<Meta<'_>, &'static str> {
    let line = std::str::from_utf8(line).map_err(|_| "not valid UTF-8")?;
    // One pass for the tabs and for whether any backslash needs checking:
    // the scan at start-up runs this on every line of the log.
    let mut tabs = [0usize; 7];
    let mut count = 0;
    let mut backslash = false;
    for (i, &b) in line.as_bytes().iter().enumerate() {
        if b == b'\t' {
            if count < tabs.len() {
                tabs[count] = i;
            }
            count += 1;
        } else if b == b'\\' {
            backslash = true;
        }
    }
    if count == 0 {
        return Err("not a record");
    }
    let last_tab = if count <= tabs.len() {
        tabs[count - 1]
    } else {
        line.rfind('\t').unwrap_or_default()
    };
    let (body, crc) = (&line[..last_tab], &line[last_tab + 1..]);
    let crc = u32::from_str_radix(crc, 16).map_err(|_| "checksum is not hexadecimal")?;
    if crc32(body.as_bytes()) != crc {
        return Err("checksum mismatch (the line was damaged)");
    }
    if count != 7 {
        return Err("wrong number of fields");
    }
    let field = |k: usize| {
        let from = if k == 0 { 0 } else { tabs[k - 1] + 1 };
        &line[from..tabs[k]]
    };
    let seq = field(0)
        .parse()
        .map_err(|_| "sequence number is not a number")?;
    // A backslash in the seq or kind fails their own checks, and no escape
    // can span a tab, so checking the whole body checks each text field.
    if backslash && !escapes_ok(body) {
        return Err("bad escape sequence");
    }
    let kind = match field(2) {
        "msg" => Kind::Message,
        "whisper" => Kind::Whisper,
        "closed" => Kind::Closed,
        _ => return Err("unknown record kind"),
    };
    Ok(Meta {
        seq,
        kind,
        date: field(1),
        room: field(3),
        from: field(4),
        to: field(5),
        text: field(6),
        escaped: backslash,
    })
}

/// True when every backslash in `field` starts one of the four escapes.
fn escapes_ok(field: &str) -> bool {
    let mut rest = field;
    while let Some(at) = rest.find('\\') {
        match rest.as_bytes().get(at + 1) {
            Some(b'\\' | b't' | b'n' | b'r') => rest = &rest[at + 2..],
            _ => return false,
        }
    }
    true
}

/// Writes the name key (`text::name_key` of the unescaped value) of an
/// escaped field into `out`, reusing its allocation: the start-up scan does
/// this for millions of lines.
pub fn key_into(field: &str, escaped: bool, out: &mut String) {
    out.clear();
    if escaped && field.contains('\\') {
        // parse_meta checked the escapes; a bad one cannot reach here.
        out.push_str(&unescape(field).unwrap_or_default());
    } else {
        out.push_str(field);
    }
    out.make_ascii_lowercase();
}

/// The name key of an escaped field.
#[cfg(test)]
pub fn key_of(field: &str) -> String {
    let mut out = String::with_capacity(field.len());
    key_into(field, true, &mut out);
    out
}

/// One line met by [`scan_lines`].
pub enum Line<'a> {
    /// A whole line, its newline removed.
    Whole { offset: u64, bytes: &'a [u8] },
    /// A line longer than [`MAX_LINE_BYTES`]; skipped.
    TooLong { len: u64 },
}

/// Where a scan stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanEnd {
    /// Offset just after the last whole line.
    pub end: u64,
    /// Lines met (whole and too long).
    pub lines: u64,
    /// Bytes after `end` with no newline: a torn last line.
    pub torn: u64,
}

/// Calls `each` for every line of `file` that starts at or after `from` and
/// ends by `to` (`from` must be a line start), in order. Bytes after the last
/// newline before `to` are not a line: they are counted as torn.
///
/// # Errors
/// The read error.
pub fn scan_lines(
    file: &File,
    from: u64,
    to: u64,
    mut each: impl FnMut(Line<'_>),
) -> io::Result<ScanEnd> {
    let at = ReadAt {
        file,
        pos: from,
        end: to,
    };
    let mut reader = BufReader::with_capacity(SCAN_BUFFER_BYTES, at);
    let mut line = Vec::with_capacity(512);
    let mut offset = from;
    let mut lines = 0;
    loop {
        line.clear();
        let n = reader
            .by_ref()
            .take(MAX_LINE_BYTES as u64)
            .read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(ScanEnd {
                end: offset,
                lines,
                torn: 0,
            });
        }
        if line.last() == Some(&b'\n') {
            line.pop();
            each(Line::Whole {
                offset,
                bytes: &line,
            });
            offset += n as u64;
            lines += 1;
            continue;
        }
        if n < MAX_LINE_BYTES {
            // The range ended inside a line.
            return Ok(ScanEnd {
                end: offset,
                lines,
                torn: n as u64,
            });
        }
        // Skip the rest of the overlong line without keeping it.
        let mut len = n as u64;
        loop {
            let buf = reader.fill_buf()?;
            if buf.is_empty() {
                return Ok(ScanEnd {
                    end: offset,
                    lines,
                    torn: len,
                });
            }
            let (used, found) = match buf.iter().position(|&b| b == b'\n') {
                Some(i) => (i + 1, true),
                None => (buf.len(), false),
            };
            reader.consume(used);
            len += used as u64;
            if found {
                break;
            }
        }
        each(Line::TooLong { len });
        offset += len;
        lines += 1;
    }
}

/// Reads `[pos, end)` of a file with `pread`.
struct ReadAt<'a> {
    file: &'a File,
    pos: u64,
    end: u64,
}

impl Read for ReadAt<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.end.saturating_sub(self.pos);
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        if want == 0 {
            return Ok(0);
        }
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        self.pos += n as u64;
        Ok(n)
    }
}

/// Reads the line starting at `offset` (without its newline) into `buf`,
/// reading no further than `end`.
///
/// # Errors
/// The read error; `InvalidData` when no newline comes within
/// [`MAX_LINE_BYTES`] or before `end`.
pub fn read_line_at(file: &File, offset: u64, end: u64, buf: &mut Vec<u8>) -> io::Result<()> {
    buf.clear();
    let mut want = 512usize;
    loop {
        let limit = usize::try_from(end.saturating_sub(offset))
            .unwrap_or(usize::MAX)
            .min(MAX_LINE_BYTES);
        let size = want.min(limit);
        buf.resize(size, 0);
        let n = read_full_at(file, buf, offset)?;
        buf.truncate(n);
        if let Some(nl) = buf.iter().position(|&b| b == b'\n') {
            buf.truncate(nl);
            return Ok(());
        }
        if n < size || size == limit {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "no whole line at this offset",
            ));
        }
        want = want.saturating_mul(4);
    }
}

/// Fills `buf` from `offset` as far as the file goes; returns the bytes read.
///
/// # Errors
/// The read error.
pub fn read_full_at(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut done = 0;
    while done < buf.len() {
        match file.read_at(&mut buf[done..], offset + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::server::history::{encode_line, parse_line, Record};

    fn record(seq: u64, kind: Kind, room: &str, text: &str) -> Record {
        Record {
            seq,
            date: "2026-11-21 10:15:02.123456".into(),
            kind,
            room: room.into(),
            from: "Ma19".into(),
            to: "-".into(),
            text: text.into(),
        }
    }

    /// Recomputes the checksum of a line body, so a test can make a line
    /// that passes the checksum and must fail on something else.
    fn sealed(body: &str) -> String {
        format!("{body}\t{:08x}", crc32(body.as_bytes()))
    }

    #[test]
    fn reads_what_encode_wrote() {
        let line = encode_line(&record(42, Kind::Message, "Lobby", "a\tb\\c"));
        let meta = parse_meta(line.trim_end_matches('\n').as_bytes()).unwrap();
        assert_eq!(meta.seq, 42);
        assert_eq!(meta.kind, Kind::Message);
        assert_eq!(meta.room, "Lobby");
        assert_eq!(meta.text, "a\\tb\\\\c");
        assert_eq!(key_of(meta.room), "lobby");
        assert_eq!(key_of("A\\tB"), "a\tb");
    }

    /// The index must accept exactly the lines `parse_line` accepts: every
    /// mutation of a valid line, and hand-made hostile bodies with a valid
    /// checksum, get the same verdict from both.
    #[test]
    fn agrees_with_parse_line_on_every_mutation() {
        let base = encode_line(&record(7, Kind::Whisper, "-", "hi\\there é"));
        let base = base.trim_end_matches('\n').as_bytes().to_vec();
        let mut cases: Vec<Vec<u8>> = Vec::new();
        for i in 0..base.len() {
            for b in [b'\t', b'\\', b'x', b'0', 0xff, b'+', b'\n'] {
                let mut m = base.clone();
                m[i] = b;
                cases.push(m);
            }
            let mut cut = base.clone();
            cut.remove(i);
            cases.push(cut);
        }
        for body in [
            "1\td\tmsg\tr\tf\t-\tt",
            "+1\td\tmsg\tr\tf\t-\tt",
            "-1\td\tmsg\tr\tf\t-\tt",
            "1\td\tmsg\tr\tf\t-",
            "1\td\tmsg\tr\tf\t-\tt\textra",
            "1\td\tMSG\tr\tf\t-\tt",
            "1\td\\\tmsg\tr\tf\t-\tt",
            "1\td\tmsg\tr\\q\tf\t-\tt",
            "1\td\tmsg\tr\tf\t-\tt\\",
            "1\td\tmsg\tr\tf\t-\tt\\é",
            "18446744073709551616\td\tmsg\tr\tf\t-\tt",
            "",
        ] {
            cases.push(sealed(body).into_bytes());
            cases.push(format!("{body}\t+{:x}", crc32(body.as_bytes())).into_bytes());
            cases.push(format!("{body}\t0{:08x}", crc32(body.as_bytes())).into_bytes());
        }
        for case in cases {
            let theirs = std::str::from_utf8(&case)
                .map_err(|_| "not valid UTF-8")
                .and_then(parse_line);
            let ours = parse_meta(&case);
            assert_eq!(
                ours.is_ok(),
                theirs.is_ok(),
                "{:?}: ours {ours:?}, theirs {theirs:?}",
                String::from_utf8_lossy(&case)
            );
            if let (Ok(m), Ok(r)) = (ours, theirs) {
                assert_eq!((m.seq, m.kind), (r.seq, r.kind));
                assert_eq!(unescape(m.text).unwrap(), r.text);
            }
        }
    }

    fn temp_file(name: &str, contents: &[u8]) -> (std::path::PathBuf, File) {
        let dir = std::env::temp_dir().join(format!("chat-line-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("log.txt");
        std::fs::write(&path, contents).unwrap();
        let file = File::open(&path).unwrap();
        (dir, file)
    }

    #[test]
    fn scan_gives_lines_with_offsets_skips_long_ones_and_counts_a_torn_tail() {
        let long = "x".repeat(MAX_LINE_BYTES + 10);
        let text = format!("one\ntwo\n{long}\nthree\nfou");
        let (dir, file) = temp_file("scan", text.as_bytes());
        let mut seen = Vec::new();
        let end = scan_lines(&file, 0, text.len() as u64, |l| match l {
            Line::Whole { offset, bytes } => {
                seen.push(format!("{offset}:{}", String::from_utf8_lossy(bytes)));
            }
            Line::TooLong { len } => seen.push(format!("long {len}")),
        })
        .unwrap();
        let after_long = 8 + long.len() as u64 + 1;
        assert_eq!(
            seen,
            [
                "0:one".to_string(),
                "4:two".to_string(),
                format!("long {}", long.len() + 1),
                format!("{after_long}:three"),
            ]
        );
        assert_eq!(end.end, after_long + 6);
        assert_eq!((end.lines, end.torn), (4, 3));
        // A range that ends inside the long line: the long line is torn there.
        let end = scan_lines(&file, 8, 8 + MAX_LINE_BYTES as u64 + 5, |_| {}).unwrap();
        assert_eq!((end.end, end.lines), (8, 0));
        assert!(end.torn > 0);
        let mut buf = Vec::new();
        read_line_at(&file, 4, text.len() as u64, &mut buf).unwrap();
        assert_eq!(buf, b"two");
        assert!(read_line_at(&file, 8, text.len() as u64, &mut buf).is_err());
        assert!(read_line_at(&file, after_long + 6, text.len() as u64, &mut buf).is_err());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
