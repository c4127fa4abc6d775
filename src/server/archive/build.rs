//! Filling the index from `log.txt`: one forward scan of the lines it does
//! not cover yet, and the checks that decide whether a saved index still
//! describes the file (if not, the caller scans from the start).

use std::fs::File;
use std::io;

use super::index::{Index, Scratch, Skip};
use super::line::{parse_meta, read_line_at, scan_lines, Line, MAX_LINE_BYTES};
use crate::server::history::Problem;

/// Problems kept from one scan; a log full of garbage is summarised, not
/// listed line by line into memory.
pub const MAX_PROBLEMS: usize = 1000;
/// Saved samples re-read at start-up to confirm the index matches the file.
const SPOT_CHECKS: usize = 16;

/// Unreadable lines met by a scan, at most [`MAX_PROBLEMS`] of them.
#[derive(Debug, Default)]
pub struct Problems {
    pub list: Vec<Problem>,
    /// Problems beyond the cap.
    pub more: u64,
}

impl Problems {
    /// Records a problem on line `line_no`.
    pub fn push(&mut self, line_no: u64, reason: String) {
        if self.list.len() < MAX_PROBLEMS {
            self.list.push(Problem {
                line_no: usize::try_from(line_no).unwrap_or(usize::MAX),
                reason,
            });
        } else {
            self.more += 1;
        }
    }
}

/// Indexes the whole lines of `file` in `[index.end, to)`; bytes after the
/// last newline are a torn line (or, at run time, a record being written),
/// left out. Returns how many bytes that is.
///
/// # Errors
/// The read error.
pub fn extend(index: &mut Index, file: &File, to: u64, problems: &mut Problems) -> io::Result<u64> {
    let mut scratch = Scratch::default();
    let mut line_no = index.lines;
    let from = index.end;
    let end = scan_lines(file, from, to, |line| {
        line_no += 1;
        match line {
            Line::Whole { offset, bytes } => match parse_meta(bytes) {
                Ok(meta) => {
                    if let Err(Skip::NotAfter { seq, last }) =
                        index.add_meta(&meta, offset, &mut scratch)
                    {
                        problems.push(
                            line_no,
                            format!("sequence number {seq} is not after {last}"),
                        );
                    }
                }
                Err(reason) => problems.push(line_no, reason.to_string()),
            },
            Line::TooLong { len, .. } => problems.push(
                line_no,
                format!("line of {len} bytes, longer than {MAX_LINE_BYTES}; not indexed"),
            ),
        }
    })?;
    index.end = end.end;
    index.lines += end.lines;
    Ok(end.torn)
}

/// Checks that a saved index still describes `file` (now `len` bytes long):
/// the file is not shorter, the covered part ends with a newline, and the
/// last indexed record and some samples are where the index says, with
/// their seqs. A log edited in place is also caught later, record by
/// record, when a page is read; this catches cut, replaced and shifted logs
/// before anything is served.
///
/// # Errors
/// Why the index does not match.
pub fn check_saved(index: &Index, file: &File, len: u64) -> Result<(), String> {
    if index.end > len {
        return Err(format!(
            "log.txt is {len} bytes, shorter than the {} the index covers",
            index.end
        ));
    }
    let mut buf = Vec::new();
    if index.end > 0 {
        let mut last = [0u8];
        super::line::read_full_at(file, &mut last, index.end - 1).map_err(|e| e.to_string())?;
        if last[0] != b'\n' {
            return Err("the indexed part of log.txt no longer ends a line".into());
        }
    }
    let n = index.samples.len();
    let picks = (0..SPOT_CHECKS.min(n)).map(|i| index.samples[i * n / SPOT_CHECKS.min(n)]);
    let checks = picks
        .map(|s| (s.offset, s.seq))
        .chain(index.last.map(|e| (e.offset, e.seq)));
    for (offset, seq) in checks {
        read_line_at(file, offset, index.end, &mut buf)
            .map_err(|e| format!("no record at offset {offset}: {e}"))?;
        match parse_meta(&buf) {
            Ok(meta) if meta.seq == seq => {}
            Ok(meta) => {
                return Err(format!(
                    "offset {offset} holds seq {} where the index has {seq}",
                    meta.seq
                ))
            }
            Err(reason) => return Err(format!("offset {offset}: {reason}")),
        }
    }
    Ok(())
}
