//! Small append-only files of checksummed lines, for the read markers and
//! the pending whispers: a header line, then one change per line, each
//! sealed with a CRC-32 like `log.txt`'s records. A change is one `write`,
//! so a `kill -9` keeps it or (torn) drops it whole; a torn last line is
//! cut at open, a damaged one reported and skipped. When most lines are
//! obsolete, the owner rewrites the live state with an atomic replace.
//!
//! ```text
//! file = header LF *(body TAB crc LF)     ; crc: 8 hex digits, CRC-32 of body
//! ```

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use super::error::ArchiveError;
use crate::crc32::crc32;
use crate::server::history::Problem;
use crate::server::store::replace_file;

/// Longest line read back: a pending whisper is at most 4 KiB of text, each
/// byte possibly escaped, plus short fields; this leaves room for a larger
/// body limit, and longer is damage.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// An open journal, appending.
pub struct Journal {
    path: PathBuf,
    header: &'static str,
    file: File,
    /// Bytes in the file: where to cut back to when a write fails half-way.
    len: u64,
    /// Lines after the header (live or obsolete), to decide on compaction.
    pub lines: usize,
}

impl Journal {
    /// Opens (creating, mode 0600) the journal at `path` and calls `each`
    /// with the body of every sound line, in order. A line `each` refuses,
    /// a damaged line and a torn last line (cut off) are returned as
    /// problems.
    ///
    /// # Errors
    /// `Open`/`Read`/`Write` on I/O errors; `Header` when the file is not
    /// this kind of journal (refusing beats appending to someone else's file).
    pub fn open(
        path: &Path,
        header: &'static str,
        mut each: impl FnMut(&str) -> Result<(), String>,
    ) -> Result<(Journal, Vec<Problem>), ArchiveError> {
        let open_err = |source| ArchiveError::Open {
            path: path.to_path_buf(),
            source,
        };
        let read_err = |source| ArchiveError::Read {
            path: path.to_path_buf(),
            source,
        };
        let file = crate::server::data_dir::open_append_private(path).map_err(open_err)?;
        let mut problems = Vec::new();
        let mut good = 0u64;
        let mut lines = 0;
        let mut reader = BufReader::new(&file);
        let mut line = Vec::with_capacity(256);
        let mut line_no = 0;
        loop {
            line.clear();
            let n = reader
                .by_ref()
                .take(MAX_LINE_BYTES as u64)
                .read_until(b'\n', &mut line)
                .map_err(read_err)?;
            if n == 0 {
                break;
            }
            line_no += 1;
            if line.last() != Some(&b'\n') {
                if line_no == 1 && !header.as_bytes().starts_with(&line) {
                    return Err(ArchiveError::Header {
                        path: path.to_path_buf(),
                        found: String::from_utf8_lossy(&line).chars().take(40).collect(),
                    });
                }
                let rest = if n == MAX_LINE_BYTES {
                    skip_line(&mut reader).map_err(read_err)?
                } else {
                    None
                };
                if let Some(rest) = rest {
                    good += (n + rest) as u64;
                    problems.push(Problem {
                        line_no,
                        reason: format!("line longer than {MAX_LINE_BYTES} bytes, skipped"),
                    });
                    lines += 1;
                    continue;
                }
                problems.push(Problem {
                    line_no,
                    reason: format!("torn last line ({n} bytes without a newline), cut off"),
                });
                break;
            }
            good += n as u64;
            line.pop();
            let text = std::str::from_utf8(&line);
            if line_no == 1 {
                if text != Ok(header) {
                    return Err(ArchiveError::Header {
                        path: path.to_path_buf(),
                        found: String::from_utf8_lossy(&line).chars().take(40).collect(),
                    });
                }
                continue;
            }
            lines += 1;
            let verdict = text
                .map_err(|_| "not valid UTF-8".to_string())
                .and_then(|t| unseal(t).map_err(String::from))
                .and_then(&mut each);
            if let Err(reason) = verdict {
                problems.push(Problem { line_no, reason });
            }
        }
        drop(reader);
        let len = file.metadata().map_err(read_err)?.len();
        if len != good {
            file.set_len(good).map_err(open_err)?;
        }
        let mut journal = Journal {
            path: path.to_path_buf(),
            header,
            file,
            len: good,
            lines,
        };
        if good == 0 {
            let head = format!("{header}\n");
            journal
                .write(head.as_bytes(), true)
                .map_err(|source| ArchiveError::Write {
                    path: path.to_path_buf(),
                    source,
                })?;
        }
        Ok((journal, problems))
    }

    /// Appends `bodies` as sealed lines in one `write` (so a crash keeps all
    /// or, torn, none of them), then forces them to disk when `sync`.
    ///
    /// # Errors
    /// `Write`; the file is cut back to its last whole line.
    pub fn append(&mut self, bodies: &[String], sync: bool) -> Result<(), ArchiveError> {
        let mut out = String::new();
        for body in bodies {
            out.push_str(&seal(body));
        }
        self.write(out.as_bytes(), sync)
            .map_err(|source| ArchiveError::Write {
                path: self.path.clone(),
                source,
            })?;
        self.lines += bodies.len();
        Ok(())
    }

    fn write(&mut self, bytes: &[u8], sync: bool) -> io::Result<()> {
        if let Err(e) = self.file.write_all(bytes) {
            let _ = self.file.set_len(self.len);
            return Err(e);
        }
        self.len += bytes.len() as u64;
        if sync {
            self.file.sync_data()?;
        }
        Ok(())
    }

    /// Replaces the whole file with the header and `bodies` (atomically:
    /// temporary file, fsync, rename), and appends to the new file after.
    ///
    /// # Errors
    /// `Write`; the old file is then kept and still appended to.
    pub fn rewrite(&mut self, bodies: &[String]) -> Result<(), ArchiveError> {
        let write_err = |source| ArchiveError::Write {
            path: self.path.clone(),
            source,
        };
        let mut out = format!("{}\n", self.header);
        for body in bodies {
            out.push_str(&seal(body));
        }
        replace_file(&self.path, out.as_bytes(), true).map_err(write_err)?;
        self.file = OpenOptions::new()
            .append(true)
            .open(&self.path)
            .map_err(write_err)?;
        self.len = out.len() as u64;
        self.lines = bodies.len();
        Ok(())
    }
}

/// Skips to just after the next newline; `None` when the file ends first.
fn skip_line(reader: &mut impl BufRead) -> io::Result<Option<usize>> {
    let mut skipped = 0;
    loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Ok(None);
        }
        match buf.iter().position(|&b| b == b'\n') {
            Some(i) => {
                reader.consume(i + 1);
                return Ok(Some(skipped + i + 1));
            }
            None => {
                let n = buf.len();
                reader.consume(n);
                skipped += n;
            }
        }
    }
}

/// `body` with its checksum and newline.
fn seal(body: &str) -> String {
    format!("{body}\t{:08x}\n", crc32(body.as_bytes()))
}

/// The body of a sealed line (without its newline), if the checksum holds.
fn unseal(line: &str) -> Result<&str, &'static str> {
    let (body, crc) = line.rsplit_once('\t').ok_or("no checksum")?;
    if crc.len() != 8 || u32::from_str_radix(crc, 16).ok() != Some(crc32(body.as_bytes())) {
        return Err("checksum mismatch (the line was damaged)");
    }
    Ok(body)
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A fresh directory for one test.
    pub fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("chat-archive-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    fn reopen(path: &Path) -> (Journal, Vec<String>, Vec<Problem>) {
        let mut seen = Vec::new();
        let (j, problems) = Journal::open(path, "test-journal 1", |b| {
            if b == "refuse" {
                return Err("refused".into());
            }
            seen.push(b.to_string());
            Ok(())
        })
        .unwrap();
        (j, seen, problems)
    }

    #[test]
    fn lines_survive_a_reopen_and_damage_is_reported() {
        let dir = temp_dir("journal");
        let path = dir.join("j.txt");
        let (mut j, seen, problems) = reopen(&path);
        assert!(seen.is_empty() && problems.is_empty());
        j.append(&["one".into(), "two\\tx".into()], true).unwrap();
        j.append(&["refuse".into(), "three".into()], false).unwrap();
        drop(j);
        let (_, seen, problems) = reopen(&path);
        assert_eq!(seen, ["one", "two\\tx", "three"]);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].line_no, 4);
        // Damage in the middle, and a torn tail.
        let text = std::fs::read_to_string(&path).unwrap();
        let damaged = text.replace("two", "tw0") + "four\t1234";
        std::fs::write(&path, damaged).unwrap();
        let (mut j, seen, problems) = reopen(&path);
        assert_eq!(seen, ["one", "three"]);
        let reasons: Vec<_> = problems
            .iter()
            .map(|p| (p.line_no, p.reason.as_str()))
            .collect();
        assert_eq!(reasons[0], (3, "checksum mismatch (the line was damaged)"));
        assert!(reasons[2].1.contains("torn"), "{reasons:?}");
        j.append(&["five".into()], true).unwrap();
        drop(j);
        let (_, seen, _) = reopen(&path);
        assert_eq!(seen, ["one", "three", "five"]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_rewrite_keeps_only_what_is_given_and_appends_go_on() {
        let dir = temp_dir("journal-rewrite");
        let path = dir.join("j.txt");
        let (mut j, _, _) = reopen(&path);
        j.append(&["a".into(), "b".into(), "c".into()], false)
            .unwrap();
        j.rewrite(&["c".into()]).unwrap();
        j.append(&["d".into()], false).unwrap();
        assert_eq!(j.lines, 2);
        drop(j);
        let (_, seen, problems) = reopen(&path);
        assert_eq!(seen, ["c", "d"]);
        assert!(problems.is_empty());
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn someone_elses_file_is_refused() {
        let dir = temp_dir("journal-header");
        let path = dir.join("j.txt");
        std::fs::write(&path, "chat-accounts 1\n").unwrap();
        let result = Journal::open(&path, "test-journal 1", |_| Ok(()));
        assert!(matches!(result, Err(ArchiveError::Header { .. })));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
