//! `log.txt`, the message database: append-only, one record per line, and the
//! single order every member of a room sees its messages in.
//!
//! ```text
//! line  = seq TAB date TAB kind TAB room TAB from TAB to TAB text TAB crc LF
//! seq   = decimal, strictly increasing
//! kind  = "msg" / "whisper" / "closed"   ; whispers have room "-"; others have to "-",
//!                                         ; but a cluster node's "msg" has its Redis
//!                                         ; stream ID ("ms-seq") there: its place
//!                                         ; "closed": the room was closed (from: by whom,
//!                                         ; text: why); its history ends there
//! crc   = 8 lowercase hex digits: CRC-32 of everything before the last TAB
//! text fields escape "\" "\t" "\n" "\r" as \\ \t \n \r, so any text round-trips
//! ```
//!
//! A record is handed to the OS (one `write`) before anyone is sent the
//! message, so a SIGKILL never loses a message that a client saw. How often
//! the OS is told to put it on disk is the `--fsync` policy.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use crate::crc32::crc32;

use super::archive::{Archive, INDEX_FILE};

use super::store::{escape_into, unescape};

/// When appended records are forced to disk (as Redis' `appendfsync`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// After every record: nothing is lost on power failure; slowest.
    Always,
    /// Once a second by a background thread: at most a second lost on power failure.
    EverySec,
    /// Left to the OS.
    Never,
}

impl FsyncPolicy {
    /// Parses `always`, `everysec` or `never`.
    pub fn parse(s: &str) -> Option<FsyncPolicy> {
        match s {
            "always" => Some(FsyncPolicy::Always),
            "everysec" => Some(FsyncPolicy::EverySec),
            "never" => Some(FsyncPolicy::Never),
            _ => None,
        }
    }
}

/// What a record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A message to everyone in a room.
    Message,
    /// A private message; never part of a room's history.
    Whisper,
    /// The room was closed: a room of the same name created later is
    /// another room and does not inherit what was said before.
    Closed,
}

/// One stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub seq: u64,
    pub date: String,
    pub kind: Kind,
    /// The room of a message; `-` for a whisper.
    pub room: String,
    pub from: String,
    /// The recipient of a whisper; `-` for a message.
    pub to: String,
    pub text: String,
}

impl Record {
    /// This room message as the event its room's members get: live, or
    /// replayed from history.
    pub fn message_event(&self, history: bool) -> crate::event::Event {
        crate::event::Event::Message {
            room: self.room.clone(),
            from: self.from.clone(),
            date: self.date.clone(),
            seq: self.seq,
            text: self.text.clone(),
            history,
        }
    }
}

/// A line of `log.txt` that could not be read, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub line_no: usize,
    pub reason: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line_no, self.reason)
    }
}

/// What `MessageLog::open` found in the file.
#[derive(Debug, Default)]
pub struct Loaded {
    /// Records read successfully.
    pub records: usize,
    /// The last `keep` messages of each room, oldest first, keyed by `name_key`.
    pub recent: HashMap<String, VecDeque<Record>>,
    /// Lines skipped, with their line numbers.
    pub problems: Vec<Problem>,
}

/// Why the log could not be opened or read.
#[derive(Debug)]
pub enum HistoryError {
    Open {
        path: PathBuf,
        source: io::Error,
    },
    Read {
        path: PathBuf,
        source: io::Error,
    },
    /// The index over the log could not be built or read.
    Index {
        path: PathBuf,
        reason: String,
    },
}

impl fmt::Display for HistoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HistoryError::Open { path, source } => {
                write!(f, "cannot open message log {}: {source}", path.display())
            }
            HistoryError::Read { path, source } => {
                write!(f, "cannot read message log {}: {source}", path.display())
            }
            HistoryError::Index { path, reason } => {
                write!(f, "cannot index message log {}: {reason}", path.display())
            }
        }
    }
}

impl std::error::Error for HistoryError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            HistoryError::Open { source, .. } | HistoryError::Read { source, .. } => Some(source),
            HistoryError::Index { .. } => None,
        }
    }
}

/// The open message log. Its own mutex serialises appends; a caller holds
/// it (a [`LogWriter`]) from the append until it has enqueued the record to
/// its recipients, so the order in the file is the order everyone receives
/// messages in.
pub struct MessageLog {
    path: PathBuf,
    writer: Mutex<Writer>,
    /// A second handle on the same file, so the once-a-second fsync never
    /// holds up appends (replaced when the file is reopened).
    sync_handle: Mutex<File>,
    dirty: AtomicBool,
    fsync: FsyncPolicy,
    /// Told when the file had to be recreated (the console, at start-up).
    warn: OnceLock<Box<dyn Fn(String) + Send + Sync>>,
    /// The index, told of every record where it was written.
    archive: Arc<Archive>,
}

struct Writer {
    file: File,
    /// Which file on disk `file` is, to notice when the path no longer
    /// leads to it (deleted, or renamed away by log rotation).
    identity: Identity,
    /// Bytes in the file: where to cut back to when a write fails half-way.
    len: u64,
    next_seq: u64,
}

/// A file's device and inode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Identity {
    dev: u64,
    ino: u64,
}

impl Identity {
    fn of(meta: &std::fs::Metadata) -> Identity {
        use std::os::unix::fs::MetadataExt;
        Identity {
            dev: meta.dev(),
            ino: meta.ino(),
        }
    }
}

/// The log, held for appending: while it lives nobody else appends.
pub struct LogWriter<'a> {
    log: &'a MessageLog,
    w: MutexGuard<'a, Writer>,
}

impl MessageLog {
    /// Opens (creating if needed) the log at `path` with its index (see
    /// `archive`: the saved one beside it when it still matches, else one
    /// built by a scan), keeps the last `keep` messages of each room, and
    /// reports unreadable lines. A torn last line (no newline: the writer
    /// died mid-record) is reported and cut off, so the next record starts
    /// on a line of its own.
    ///
    /// # Errors
    /// `HistoryError` when the file cannot be opened, read or repaired.
    pub fn open(
        path: &Path,
        fsync: FsyncPolicy,
        keep: usize,
    ) -> Result<(MessageLog, Loaded), HistoryError> {
        let open_err = |source| HistoryError::Open {
            path: path.to_path_buf(),
            source,
        };
        let index_path = path.with_file_name(INDEX_FILE);
        let (archive, opened) =
            Archive::open(path, &index_path).map_err(|e| HistoryError::Index {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?;
        let recent = archive.recent(keep).map_err(|e| HistoryError::Index {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        let file = crate::server::data_dir::open_append_private(path).map_err(open_err)?;
        // Cut a torn last line, so the next record starts on a line of its own.
        if file.metadata().map_err(open_err)?.len() != opened.end {
            file.set_len(opened.end).map_err(open_err)?;
        }
        let mut problems = opened.problems;
        if opened.more_problems > 0 {
            problems.push(Problem {
                line_no: 0,
                reason: format!("and {} more unreadable line(s)", opened.more_problems),
            });
        }
        let loaded = Loaded {
            records: usize::try_from(opened.records).unwrap_or(usize::MAX),
            recent,
            problems,
        };
        let sync_handle = file.try_clone().map_err(open_err)?;
        let identity = Identity::of(&file.metadata().map_err(open_err)?);
        let log = MessageLog {
            path: path.to_path_buf(),
            writer: Mutex::new(Writer {
                file,
                identity,
                len: opened.end,
                next_seq: opened.next_seq,
            }),
            sync_handle: Mutex::new(sync_handle),
            dirty: AtomicBool::new(false),
            fsync,
            warn: OnceLock::new(),
            archive: Arc::new(archive),
        };
        Ok((log, loaded))
    }

    /// The index over this log: history pages and search.
    pub fn archive(&self) -> &Arc<Archive> {
        &self.archive
    }

    /// Sets who is told when the log had to be recreated. Set once, at start-up.
    pub fn on_warning(&self, warn: impl Fn(String) + Send + Sync + 'static) {
        let _ = self.warn.set(Box::new(warn));
    }

    /// Takes the log for appending; the guard keeps everyone else waiting.
    pub fn lock(&self) -> LogWriter<'_> {
        LogWriter {
            log: self,
            // The writer's state is consistent between statements, so a
            // panic elsewhere while it was held leaves nothing to repair.
            w: self.writer.lock().unwrap_or_else(PoisonError::into_inner),
        }
    }

    /// Forces written records to disk if any were written since the last call.
    ///
    /// # Errors
    /// The fsync error.
    pub fn sync_if_dirty(&self) -> io::Result<()> {
        if self.dirty.swap(false, Ordering::Relaxed) {
            self.sync_handle().sync_data()?;
        }
        Ok(())
    }

    /// Forces everything written so far to disk, whatever the policy.
    ///
    /// # Errors
    /// The fsync error.
    pub fn sync_now(&self) -> io::Result<()> {
        self.dirty.store(false, Ordering::Relaxed);
        self.sync_handle().sync_data()
    }

    fn sync_handle(&self) -> MutexGuard<'_, File> {
        self.sync_handle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
    }
}

impl LogWriter<'_> {
    /// Gives `record` the next sequence number and writes it; it is then in
    /// the file at the log's path (recreated first if it was deleted or
    /// renamed away), and under `--fsync always` on disk.
    ///
    /// # Errors
    /// The error of the write, the fsync, or the recreation: the record was
    /// not stored (the file is cut back to its last whole record) and must
    /// not be delivered.
    pub fn append(&mut self, mut record: Record) -> io::Result<Record> {
        self.append_all(std::slice::from_mut(&mut record))?;
        Ok(record)
    }

    /// [`LogWriter::append`] for several records at once, numbered in
    /// order: one write (and one fsync) for a burst of messages. All are
    /// stored or none is.
    ///
    /// # Errors
    /// As `append`; then none of them was stored.
    pub fn append_all(&mut self, records: &mut [Record]) -> io::Result<()> {
        self.follow_path()?;
        let w = &mut *self.w;
        let mut text = String::new();
        for (seq, record) in (w.next_seq..).zip(records.iter_mut()) {
            record.seq = seq;
            encode_line_into(&mut text, record);
        }
        let total = text.len() as u64;
        let count = records.len() as u64;
        if let Err(e) = w.file.write_all(text.as_bytes()) {
            // Best effort: a half-written record would glue itself to the next one.
            let _ = w.file.set_len(w.len);
            return Err(e);
        }
        if self.log.fsync == FsyncPolicy::Always {
            if let Err(e) = w.file.sync_data() {
                // Not known to be on disk: refused. Take them out of the
                // file; if even that fails they stay there, so their
                // numbers are used up and later records cannot reuse them.
                if w.file.set_len(w.len).is_err() {
                    w.len += total;
                    w.next_seq += count;
                }
                return Err(e);
            }
        } else {
            self.log.dirty.store(true, Ordering::Relaxed);
        }
        let mut offset = w.len;
        w.len += total;
        w.next_seq += count;
        // Under the log's lock: the index learns records in log order.
        // One line per record: escaping leaves no newline inside a line.
        for (record, line) in records.iter().zip(text.split_inclusive('\n')) {
            let len = line.len() as u64;
            self.log.archive.note_append(record, offset, len);
            offset += len;
        }
        Ok(())
    }

    /// Makes sure the open file is the one at the log's path: log rotation
    /// renames it away, and an operator may delete it. Writing on into the
    /// old file would answer `200` for messages no longer at the path, so
    /// the path is opened (created) anew, and the console is told.
    fn follow_path(&mut self) -> io::Result<()> {
        let log = self.log;
        let now = match std::fs::metadata(&log.path) {
            Ok(meta) => Some(Identity::of(&meta)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => None,
            Err(e) => return Err(e),
        };
        if now == Some(self.w.identity) {
            return Ok(());
        }
        let file = crate::server::data_dir::open_append_private(&log.path)?;
        let meta = file.metadata()?;
        let sync_handle = file.try_clone()?;
        // The old file may hold records not yet forced to disk.
        let _ = self.w.file.sync_data();
        self.w.identity = Identity::of(&meta);
        self.w.len = meta.len();
        self.w.file = file;
        *log.sync_handle() = sync_handle;
        if let Some(warn) = log.warn.get() {
            warn(format!(
                "warning: {} was {}; it was created anew and new messages go there (numbering goes on from {})",
                log.path.display(),
                if now.is_none() {
                    "deleted or moved away"
                } else {
                    "replaced by another file"
                },
                self.w.next_seq
            ));
        }
        Ok(())
    }
}

/// Calls `each` for every readable record of the log at `path`, in order;
/// unreadable lines were already reported by `open` and are skipped.
///
/// # Errors
/// The read error.
pub fn for_each_record(path: &Path, mut each: impl FnMut(Record)) -> io::Result<()> {
    let mut reader = BufReader::with_capacity(1 << 16, File::open(path)?);
    let mut line = Vec::with_capacity(256);
    loop {
        line.clear();
        if reader.read_until(b'\n', &mut line)? == 0 || line.last() != Some(&b'\n') {
            return Ok(());
        }
        line.pop();
        if let Some(record) = std::str::from_utf8(&line)
            .ok()
            .and_then(|l| parse_line(l).ok())
        {
            each(record);
        }
    }
}

/// One record as a line of `log.txt`, newline included.
pub fn encode_line(r: &Record) -> String {
    let mut line = String::new();
    encode_line_into(&mut line, r);
    line
}

/// [`encode_line`], appended to `line`.
fn encode_line_into(line: &mut String, r: &Record) {
    use std::fmt::Write as _;
    let kind = match r.kind {
        Kind::Message => "msg",
        Kind::Whisper => "whisper",
        Kind::Closed => "closed",
    };
    // Every message is written once, under the log's lock: one buffer
    // sized for the usual line, no string per field.
    let fields = [&r.date, &r.room, &r.from, &r.to, &r.text];
    line.reserve(fields.iter().map(|f| f.len() + 1).sum::<usize>() + 40);
    let start = line.len();
    let _ = write!(line, "{}\t", r.seq);
    escape_into(line, &r.date);
    line.push('\t');
    line.push_str(kind);
    for field in [&r.room, &r.from, &r.to, &r.text] {
        line.push('\t');
        escape_into(line, field);
    }
    let crc = crc32(&line.as_bytes()[start..]);
    let _ = writeln!(line, "\t{crc:08x}");
}

/// Parses one line of `log.txt` (without its newline).
///
/// # Errors
/// A short reason: wrong field count, checksum mismatch, bad number or escape.
pub fn parse_line(line: &str) -> Result<Record, &'static str> {
    let (body, crc) = line.rsplit_once('\t').ok_or("not a record")?;
    let crc = u32::from_str_radix(crc, 16).map_err(|_| "checksum is not hexadecimal")?;
    if crc32(body.as_bytes()) != crc {
        return Err("checksum mismatch (the line was damaged)");
    }
    let fields: Vec<&str> = body.split('\t').collect();
    let [seq, date, kind, room, from, to, text] = fields[..] else {
        return Err("wrong number of fields");
    };
    Ok(Record {
        seq: seq.parse().map_err(|_| "sequence number is not a number")?,
        date: unescape(date)?,
        kind: match kind {
            "msg" => Kind::Message,
            "whisper" => Kind::Whisper,
            "closed" => Kind::Closed,
            _ => return Err("unknown record kind"),
        },
        room: unescape(room)?,
        from: unescape(from)?,
        to: unescape(to)?,
        text: unescape(text)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(seq: u64, room: &str, text: &str) -> Record {
        Record {
            seq,
            date: "2026-11-21 10:15:02.123456".into(),
            kind: Kind::Message,
            room: room.into(),
            from: "ntu".into(),
            to: "-".into(),
            text: text.into(),
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("chat-history-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn any_text_round_trips_through_a_line() {
        let r = record(7, "lobby", "tab\there\nnew\\line\r\\n é 🎉 \u{1b}[2J");
        let line = encode_line(&r);
        assert_eq!(line.matches('\n').count(), 1, "one record, one line");
        assert_eq!(parse_line(line.trim_end_matches('\n')).unwrap(), r);
    }

    #[test]
    fn a_flipped_byte_is_caught_by_the_checksum() {
        let line = encode_line(&record(1, "lobby", "pay alice 10"));
        let damaged = line.replace("10", "90");
        assert_eq!(
            parse_line(damaged.trim_end()),
            Err("checksum mismatch (the line was damaged)")
        );
    }

    #[test]
    fn hostile_lines_are_refused_not_panicked_on() {
        for bad in [
            "",
            "\t",
            "x\t00000000",
            "1\t2\t3",
            "\\\\\\",
            "1\ta\tmsg\t\t\t\t\\q\t0",
        ] {
            assert!(parse_line(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn appends_survive_a_reopen_with_sequence_and_recent_messages() {
        let dir = temp_dir("reopen");
        let path = dir.join("log.txt");
        {
            let (log, loaded) = MessageLog::open(&path, FsyncPolicy::Never, 2).unwrap();
            assert_eq!(loaded.records, 0);
            for text in ["one", "two", "three"] {
                let seq = log
                    .lock()
                    .append(record(0, "lobby", text))
                    .map(|r| r.seq)
                    .unwrap();
                assert!(seq >= 1);
            }
            log.lock().append(record(0, "other", "elsewhere")).unwrap();
        }
        let (log, loaded) = MessageLog::open(&path, FsyncPolicy::Never, 2).unwrap();
        assert_eq!(loaded.records, 4);
        assert!(loaded.problems.is_empty());
        let lobby: Vec<_> = loaded.recent["lobby"]
            .iter()
            .map(|r| r.text.as_str())
            .collect();
        assert_eq!(lobby, ["two", "three"], "keeps the last two per room");
        assert_eq!(
            log.lock()
                .append(record(0, "lobby", "five"))
                .map(|r| r.seq)
                .unwrap(),
            5
        );
    }

    #[test]
    fn a_burst_is_numbered_in_order_and_reads_back_as_separate_records() {
        let dir = temp_dir("burst");
        let path = dir.join("log.txt");
        {
            let (log, _) = MessageLog::open(&path, FsyncPolicy::Always, 5).unwrap();
            log.lock().append(record(0, "lobby", "before")).unwrap();
            let mut burst = vec![
                record(0, "lobby", "one"),
                record(0, "lobby", "tab\there"),
                record(0, "lobby", "three"),
            ];
            log.lock().append_all(&mut burst).unwrap();
            let seqs: Vec<u64> = burst.iter().map(|r| r.seq).collect();
            assert_eq!(seqs, [2, 3, 4]);
            log.lock().append_all(&mut []).unwrap();
            assert_eq!(
                log.lock().append(record(0, "lobby", "after")).unwrap().seq,
                5
            );
            let notices = log.archive().take_notices();
            assert!(
                notices.is_empty(),
                "the index placed each record: {notices:?}"
            );
        }
        let (_, loaded) = MessageLog::open(&path, FsyncPolicy::Never, 5).unwrap();
        assert_eq!(loaded.records, 5);
        assert!(loaded.problems.is_empty());
        let lobby: Vec<_> = loaded.recent["lobby"]
            .iter()
            .map(|r| (r.seq, r.text.as_str()))
            .collect();
        assert_eq!(
            lobby,
            [
                (1, "before"),
                (2, "one"),
                (3, "tab\there"),
                (4, "three"),
                (5, "after")
            ]
        );
    }

    #[test]
    fn torn_last_line_is_reported_and_cut_and_corrupt_lines_skipped() {
        let dir = temp_dir("torn");
        let path = dir.join("log.txt");
        let mut bytes = encode_line(&record(1, "lobby", "first"));
        bytes.push_str("garbage in the middle\n");
        bytes.push_str(&encode_line(&record(2, "lobby", "second")));
        bytes.push_str("3\t2026-11-21 10:15:0");
        std::fs::write(&path, bytes).unwrap();
        let (log, loaded) = MessageLog::open(&path, FsyncPolicy::Always, 10).unwrap();
        assert_eq!(loaded.records, 2);
        let lines: Vec<_> = loaded.problems.iter().map(|p| p.line_no).collect();
        assert_eq!(lines, [2, 4]);
        assert!(loaded.problems[1].reason.contains("torn"));
        log.lock().append(record(0, "lobby", "third")).unwrap();
        drop(log);
        let mut texts = Vec::new();
        for_each_record(&path, |r| texts.push(r.text)).unwrap();
        assert_eq!(texts, ["first", "second", "third"]);
    }

    #[test]
    fn a_closed_room_leaves_no_history_to_its_namesake() {
        let dir = temp_dir("closed");
        let path = dir.join("log.txt");
        {
            let (log, _) = MessageLog::open(&path, FsyncPolicy::Never, 5).unwrap();
            log.lock()
                .append(record(0, "secret", "before the close"))
                .unwrap();
            let mut closed = record(0, "Secret", "room secret was closed by its owner");
            closed.kind = Kind::Closed;
            log.lock().append(closed).unwrap();
            log.lock()
                .append(record(0, "secret", "in the new room"))
                .unwrap();
        }
        let (_, loaded) = MessageLog::open(&path, FsyncPolicy::Never, 5).unwrap();
        let texts: Vec<_> = loaded.recent["secret"]
            .iter()
            .map(|r| r.text.as_str())
            .collect();
        assert_eq!(texts, ["in the new room"]);
    }

    #[test]
    fn a_log_renamed_or_deleted_under_the_server_is_created_anew() {
        let dir = temp_dir("rotated");
        let path = dir.join("log.txt");
        let (log, _) = MessageLog::open(&path, FsyncPolicy::Never, 5).unwrap();
        let warnings = std::sync::Arc::new(Mutex::new(Vec::new()));
        let sink = std::sync::Arc::clone(&warnings);
        log.on_warning(move |w| sink.lock().unwrap().push(w));
        log.lock().append(record(0, "lobby", "one")).unwrap();
        std::fs::rename(&path, dir.join("log.txt.1")).unwrap();
        log.lock().append(record(0, "lobby", "two")).unwrap();
        std::fs::remove_file(&path).unwrap();
        let three = log.lock().append(record(0, "lobby", "three")).unwrap();
        assert_eq!(three.seq, 3, "numbering goes on");
        std::fs::rename(&path, dir.join("log.txt.2")).unwrap();
        std::fs::write(&path, "").unwrap();
        log.lock().append(record(0, "lobby", "four")).unwrap();
        let texts = |p: &Path| {
            let mut texts = Vec::new();
            for_each_record(p, |r| texts.push(r.text)).unwrap();
            texts
        };
        assert_eq!(texts(&dir.join("log.txt.1")), ["one"]);
        assert_eq!(texts(&dir.join("log.txt.2")), ["three"]);
        assert_eq!(texts(&path), ["four"]);
        let warnings = warnings.lock().unwrap();
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(
            warnings[0].contains("deleted or moved away"),
            "{warnings:?}"
        );
        assert!(
            warnings[2].contains("replaced by another file"),
            "{warnings:?}"
        );
    }

    #[test]
    fn a_log_that_cannot_be_recreated_refuses_the_record() {
        let dir = temp_dir("gone");
        let sub = dir.join("data");
        std::fs::create_dir_all(&sub).unwrap();
        let path = sub.join("log.txt");
        let (log, _) = MessageLog::open(&path, FsyncPolicy::Never, 5).unwrap();
        std::fs::remove_dir_all(&sub).unwrap();
        assert!(log.lock().append(record(0, "lobby", "lost?")).is_err());
    }

    #[test]
    fn whispers_are_not_kept_as_room_history() {
        let dir = temp_dir("whisper");
        let path = dir.join("log.txt");
        let mut whisper = record(0, "-", "secret");
        whisper.kind = Kind::Whisper;
        whisper.to = "bob".into();
        {
            let (log, _) = MessageLog::open(&path, FsyncPolicy::Never, 5).unwrap();
            log.lock().append(whisper).unwrap();
        }
        let (_, loaded) = MessageLog::open(&path, FsyncPolicy::Never, 5).unwrap();
        assert_eq!(loaded.records, 1);
        assert!(loaded.recent.is_empty());
    }
}
