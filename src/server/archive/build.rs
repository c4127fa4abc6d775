//! Filling the index from `log.txt`: one forward scan of the lines it does
//! not cover yet, and the checks that decide whether a saved index still
//! describes the file (if not, the caller scans from the start).

use std::collections::hash_map::Entry as Slot;
use std::fs::File;
use std::io;
use std::thread;

use super::index::{Index, Scratch, Skip};
use super::line::{parse_meta, read_full_at, read_line_at, scan_lines, Line, MAX_LINE_BYTES};
use super::stream::Stream;
use crate::server::history::Problem;

/// Problems kept from one scan; a log full of garbage is summarised, not
/// listed line by line into memory.
pub const MAX_PROBLEMS: usize = 1000;
/// Saved samples re-read at start-up to confirm the index matches the file.
const SPOT_CHECKS: usize = 16;
/// A log smaller than this is scanned by one thread: splitting costs more
/// than it saves.
const PARALLEL_FROM_BYTES: u64 = 64 << 20;
/// Most scanning threads.
const MAX_THREADS: usize = 4;

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

/// Builds the index of the whole lines of `file` in `[0, to)`: the file is
/// cut at line boundaries into one part per core, each part scanned by a
/// thread of its own, and the parts merged in order (a room closed in a
/// later part drops what earlier parts held for it). If seqs are out of
/// order across a cut (a damaged log), the parts are thrown away and the
/// file scanned by one thread, so the result is always what one scan gives.
/// Returns the index and the torn bytes at the end.
///
/// # Errors
/// The read error.
pub fn build(file: &File, to: u64, problems: &mut Problems) -> io::Result<(Index, u64)> {
    let threads = thread::available_parallelism().map_or(1, |n| n.get().min(MAX_THREADS));
    let threads = if to >= PARALLEL_FROM_BYTES {
        threads
    } else {
        1
    };
    build_with(file, to, problems, threads)
}

fn build_with(
    file: &File,
    to: u64,
    problems: &mut Problems,
    threads: usize,
) -> io::Result<(Index, u64)> {
    if threads > 1 {
        let cuts = cut_points(file, to, threads)?;
        let parts = thread::scope(|s| {
            let handles: Vec<_> = cuts
                .windows(2)
                .map(|w| {
                    let (from, stop) = (w[0], w[1]);
                    s.spawn(move || -> io::Result<(Index, Problems, u64)> {
                        let mut part = Index::new();
                        part.end = from;
                        let mut found = Problems::default();
                        let torn = extend(&mut part, file, stop, &mut found)?;
                        Ok((part, found, torn))
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(io::Error::other("a scanning thread panicked")))
                })
                .collect::<io::Result<Vec<_>>>()
        })?;
        let mut index = Index::new();
        let mut merged = Problems::default();
        let mut torn = 0;
        let mut in_order = true;
        for (part, found, part_torn) in parts {
            let base = index.lines;
            for p in found.list {
                merged.push(base + p.line_no as u64, p.reason);
            }
            merged.more += found.more;
            if !append_part(&mut index, part) {
                in_order = false;
                break;
            }
            torn = part_torn;
        }
        if in_order {
            index.derive_peers();
            problems.list.extend(merged.list);
            problems.more += merged.more;
            return Ok((index, torn));
        }
    }
    let mut index = Index::new();
    let torn = extend(&mut index, file, to, problems)?;
    Ok((index, torn))
}

/// `0`, then the start of a line near each `k/parts` of the file, then `to`.
fn cut_points(file: &File, to: u64, parts: usize) -> io::Result<Vec<u64>> {
    let mut cuts = vec![0];
    let mut buf = vec![0u8; 64 * 1024];
    for k in 1..parts as u64 {
        let mut at = (to / parts as u64 * k).max(*cuts.last().unwrap_or(&0));
        let cut = loop {
            let n = read_full_at(file, &mut buf, at)?;
            let n = n.min(usize::try_from(to - at).unwrap_or(usize::MAX));
            if n == 0 {
                break None;
            }
            if let Some(i) = buf[..n].iter().position(|&b| b == b'\n') {
                break Some(at + i as u64 + 1);
            }
            at += n as u64;
        };
        match cut {
            Some(c) if c < to && c > *cuts.last().unwrap_or(&0) => cuts.push(c),
            _ => break,
        }
    }
    cuts.push(to);
    Ok(cuts)
}

/// Appends a part scanned on its own to the index of everything before
/// it. False (and `into` half-merged: throw it away) when the part's first
/// seq is not after the last one before it.
fn append_part(into: &mut Index, part: Index) -> bool {
    if let Some(first) = part.samples.first() {
        if first.seq <= into.last_seq() {
            return false;
        }
    }
    // Rooms closed in the part: what came before is gone; the part's own
    // stream holds only what followed its last closing.
    for (key, seq) in part.closed {
        into.rooms.remove(&key);
        into.closed.insert(key, seq);
    }
    for (map, from) in [(&mut into.rooms, part.rooms), (&mut into.pairs, part.pairs)] {
        for (key, stream) in from {
            match map.entry(key) {
                Slot::Vacant(v) => {
                    v.insert(stream);
                }
                Slot::Occupied(mut o) => append_stream(o.get_mut(), &stream),
            }
        }
    }
    let floor = into.samples.last().map_or(i64::MIN, |s| s.micros);
    into.samples.extend(part.samples.into_iter().map(|mut s| {
        s.micros = s.micros.max(floor);
        s
    }));
    into.end = part.end;
    into.lines += part.lines;
    into.records += part.records;
    if part.last.is_some() {
        into.last = part.last;
    }
    true
}

fn append_stream(into: &mut Stream, from: &Stream) {
    for entry in from.iter() {
        into.push(entry);
    }
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

#[cfg(test)]
mod tests {
    use super::super::journal::tests::temp_dir;
    use super::*;
    use crate::server::history::{encode_line, Kind, Record};

    fn line(seq: u64, kind: Kind, room: &str, from: &str, to: &str) -> String {
        encode_line(&Record {
            seq,
            date: format!("2026-11-21 10:{:02}:{:02}.000000", seq / 60 % 60, seq % 60),
            kind,
            room: room.into(),
            from: from.into(),
            to: to.into(),
            text: format!("text {seq}"),
        })
    }

    /// A log with every kind of record and damage, closings spread so
    /// that parts close rooms earlier parts filled.
    fn a_log(out_of_order_at: Option<u64>) -> String {
        let mut log = String::new();
        for seq in 1..=3000u64 {
            let seq_written = if Some(seq) == out_of_order_at { 5 } else { seq };
            log.push_str(&match seq % 10 {
                0 => line(
                    seq_written,
                    Kind::Whisper,
                    "-",
                    &format!("u{}", seq % 7),
                    "Bob",
                ),
                _ if seq % 450 == 0 => line(seq_written, Kind::Closed, "R1", "owner", "-"),
                n => line(
                    seq_written,
                    Kind::Message,
                    &format!("r{}", n % 4),
                    "ann",
                    "-",
                ),
            });
            if seq % 777 == 0 {
                log.push_str("damaged line\n");
            }
            if seq == 1500 {
                log.push_str(&"x".repeat(MAX_LINE_BYTES + 1));
                log.push('\n');
            }
        }
        log.push_str("3001\t2026-11");
        log
    }

    fn compare(log: &str, name: &str) {
        let dir = temp_dir(name);
        let path = dir.join("log.txt");
        std::fs::write(&path, log).unwrap();
        let file = File::open(&path).unwrap();
        let len = log.len() as u64;
        let mut one_problems = Problems::default();
        let mut one = Index::new();
        let one_torn = extend(&mut one, &file, len, &mut one_problems).unwrap();
        for threads in [2, 3, 7] {
            let mut problems = Problems::default();
            let (many, torn) = build_with(&file, len, &mut problems, threads).unwrap();
            assert_eq!(torn, one_torn);
            assert_eq!(problems.list, one_problems.list, "{threads} threads");
            assert_eq!(many.rooms, one.rooms, "{threads} threads");
            assert_eq!(many.pairs, one.pairs);
            assert_eq!(many.closed, one.closed);
            assert_eq!(
                (many.end, many.lines, many.records, many.last),
                (one.end, one.lines, one.records, one.last)
            );
            let sorted = |i: &Index| {
                let mut p: Vec<_> = i
                    .peers
                    .iter()
                    .map(|(k, v)| {
                        let mut v = v.clone();
                        v.sort();
                        (k.clone(), v)
                    })
                    .collect();
                p.sort();
                p
            };
            assert_eq!(sorted(&many), sorted(&one));
            assert!(many
                .samples
                .windows(2)
                .all(|w| w[0].seq < w[1].seq && w[0].micros <= w[1].micros));
        }
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn parts_scanned_at_once_make_the_index_one_scan_makes() {
        compare(&a_log(None), "build-parts");
    }

    #[test]
    fn seqs_out_of_order_across_a_cut_fall_back_to_one_scan() {
        compare(&a_log(Some(2100)), "build-out-of-order");
        // Two logs one after the other: every later part starts below
        // where the earlier ended, and one scan skips the whole second log.
        let twice = a_log(None).replace("3001\t2026-11", "").repeat(2);
        compare(&twice, "build-two-logs");
    }
}
