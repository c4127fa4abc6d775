//! Whispers waiting for an offline registered user, delivered at their
//! next login, oldest first, never twice: not across a restart, not across
//! a crash. Kept in `pending.txt`, a [journal](super::journal):
//!
//! ```text
//! change = "add" TAB seq TAB date TAB from TAB to TAB text   ; escaped fields
//!        / "done" TAB seq *("," seq)                         ; delivered
//! ```
//!
//! `seq` is the whisper's seq in `log.txt` (it is stored there first, like
//! any whisper; this file keeps its own copy so delivery needs no index).
//! [`Pending::take`] writes and fsyncs one `done` line for everything it
//! returns *before* returning it: a crash before that line is whole
//! delivers them at the next login instead (nobody got them yet); a crash
//! after it cannot deliver them again. What is handed over and then lost
//! with the connection is not sent again: at most once, as the issue asks.
//! Every change is fsynced (offline whispers are rare; losing one is not
//! acceptable).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use super::error::ArchiveError;
use super::journal::Journal;
use crate::server::history::{Kind, Problem, Record};
use crate::server::store::{escape, unescape};
use crate::text::name_key;

/// Name of the file in the data directory.
pub const PENDING_FILE: &str = "pending.txt";
const HEADER: &str = "chat-pending 1";
/// Most whispers that may wait for one user (one history page's worth).
pub const MAX_WAITING_PER_USER: usize = 500;
/// Compaction happens when the file holds this many lines beyond twice the
/// live whispers.
const SLACK_LINES: usize = 200;

/// The waiting whispers. `Send + Sync`; each call takes its own lock, and
/// a change fsyncs under it (milliseconds; offline whispers are rare).
pub struct Pending {
    inner: Mutex<Inner>,
}

struct Inner {
    journal: Journal,
    /// Every waiting whisper by seq: oldest first.
    waiting: BTreeMap<u64, Record>,
}

impl Pending {
    /// Opens (or creates) `pending.txt` in `dir`. Damaged lines are
    /// returned as problems and skipped: a damaged `add` is a whisper
    /// lost, a damaged `done` may deliver whispers again; the report says so.
    ///
    /// # Errors
    /// I/O errors, or a file that is not a pending-whispers file.
    pub fn open(dir: &Path) -> Result<(Pending, Vec<Problem>), ArchiveError> {
        let mut waiting = BTreeMap::new();
        let (journal, mut problems) = Journal::open(&dir.join(PENDING_FILE), HEADER, |body| {
            let fields: Vec<&str> = body.split('\t').collect();
            match fields[..] {
                ["add", seq, date, from, to, text] => {
                    let seq: u64 = seq.parse().map_err(|_| "bad sequence number")?;
                    waiting.entry(seq).or_insert(Record {
                        seq,
                        date: unescape(date)?,
                        kind: Kind::Whisper,
                        room: "-".into(),
                        from: unescape(from)?,
                        to: unescape(to)?,
                        text: unescape(text)?,
                    });
                }
                ["done", seqs] => {
                    for seq in seqs.split(',') {
                        let seq: u64 = seq.parse().map_err(|_| "bad sequence number")?;
                        waiting.remove(&seq);
                    }
                }
                _ => return Err("not a pending-whisper change".to_string()),
            }
            Ok(())
        })?;
        for p in &mut problems {
            p.reason
                .push_str(" (a whisper may be lost, or delivered again)");
        }
        let pending = Pending {
            inner: Mutex::new(Inner { journal, waiting }),
        };
        Ok((pending, problems))
    }

    /// Stores `whisper` (already in `log.txt`, with its seq) for its
    /// recipient `whisper.to`. Storing the same seq twice stores it once.
    ///
    /// # Errors
    /// `MailboxFull` when [`MAX_WAITING_PER_USER`] already wait for them;
    /// `Write` when it could not be stored (then tell the sender).
    pub fn add(&self, whisper: &Record) -> Result<(), ArchiveError> {
        let to = name_key(&whisper.to);
        let mut inner = self.lock();
        if inner.waiting.contains_key(&whisper.seq) {
            return Ok(());
        }
        if inner.count(&to) >= MAX_WAITING_PER_USER {
            return Err(ArchiveError::MailboxFull {
                user: whisper.to.clone(),
                max: MAX_WAITING_PER_USER,
            });
        }
        inner.journal.append(&[add_change(whisper)], true)?;
        let mut stored = whisper.clone();
        stored.kind = Kind::Whisper;
        stored.room = "-".into();
        inner.waiting.insert(whisper.seq, stored);
        Ok(())
    }

    /// How many whispers wait for `user`.
    pub fn count(&self, user: &str) -> usize {
        self.lock().count(&name_key(user))
    }

    /// Takes every whisper waiting for `user`, oldest first, marking them
    /// delivered on disk (fsynced) before returning them: hand them to the
    /// user's outbox right away. Two logins at once: one gets them.
    ///
    /// # Errors
    /// `Write`: nothing is marked, nothing returned; they wait on.
    pub fn take(&self, user: &str) -> Result<Vec<Record>, ArchiveError> {
        let user = name_key(user);
        let mut inner = self.lock();
        let seqs: Vec<u64> = inner
            .waiting
            .values()
            .filter(|r| name_key(&r.to) == user)
            .map(|r| r.seq)
            .collect();
        if seqs.is_empty() {
            return Ok(Vec::new());
        }
        inner.mark_done(&seqs)?;
        let taken = seqs
            .iter()
            .filter_map(|s| inner.waiting.remove(s))
            .collect();
        inner.compact_if_worth_it();
        Ok(taken)
    }

    /// Drops every whisper waiting for `user` (their account was deleted).
    /// Returns how many.
    ///
    /// # Errors
    /// `Write`: nothing is dropped.
    pub fn forget_user(&self, user: &str) -> Result<usize, ArchiveError> {
        self.take(user).map(|taken| taken.len())
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // The map and the journal agree between statements.
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Inner {
    fn count(&self, user_key: &str) -> usize {
        self.waiting
            .values()
            .filter(|r| name_key(&r.to) == user_key)
            .count()
    }

    /// One `done` line for all of `seqs`: torn, it marks none of them.
    fn mark_done(&mut self, seqs: &[u64]) -> Result<(), ArchiveError> {
        let list: Vec<String> = seqs.iter().map(u64::to_string).collect();
        self.journal
            .append(&[format!("done\t{}", list.join(","))], true)
    }

    /// Rewrites the file with the waiting whispers only, when most of it is
    /// obsolete. A failure is harmless (the file stays longer): ignored.
    fn compact_if_worth_it(&mut self) {
        if self.journal.lines <= 2 * self.waiting.len() + SLACK_LINES {
            return;
        }
        let bodies: Vec<String> = self.waiting.values().map(add_change).collect();
        let _ = self.journal.rewrite(&bodies);
    }
}

/// The `add` change for a whisper.
fn add_change(w: &Record) -> String {
    format!(
        "add\t{}\t{}\t{}\t{}\t{}",
        w.seq,
        escape(&w.date),
        escape(&w.from),
        escape(&w.to),
        escape(&w.text)
    )
}

#[cfg(test)]
mod tests {
    use super::super::journal::tests::temp_dir;
    use super::*;
    use std::io::Write;

    fn whisper(seq: u64, from: &str, to: &str, text: &str) -> Record {
        Record {
            seq,
            date: "2026-11-21 10:15:02.123456".into(),
            kind: Kind::Whisper,
            room: "-".into(),
            from: from.into(),
            to: to.into(),
            text: text.into(),
        }
    }

    fn texts(records: &[Record]) -> Vec<&str> {
        records.iter().map(|r| r.text.as_str()).collect()
    }

    #[test]
    fn whispers_are_delivered_once_oldest_first_across_crashes() {
        let dir = temp_dir("pending");
        {
            let (p, _) = Pending::open(&dir).unwrap();
            p.add(&whisper(7, "ann", "Bob", "first\tline")).unwrap();
            p.add(&whisper(9, "ann", "carol", "for carol")).unwrap();
            p.add(&whisper(12, "dan", "bob", "second")).unwrap();
            p.add(&whisper(12, "dan", "bob", "second")).unwrap();
            // Dropped without any shutdown: as after kill -9.
        }
        let (p, problems) = Pending::open(&dir).unwrap();
        assert!(problems.is_empty());
        assert_eq!(p.count("BOB"), 2);
        let taken = p.take("bob").unwrap();
        assert_eq!(texts(&taken), ["first\tline", "second"]);
        assert_eq!(taken[0].from, "ann");
        assert!(p.take("bob").unwrap().is_empty(), "never twice");
        drop(p); // crash right after delivery
        let (p, _) = Pending::open(&dir).unwrap();
        assert!(
            p.take("bob").unwrap().is_empty(),
            "not after a crash either"
        );
        assert_eq!(texts(&p.take("carol").unwrap()), ["for carol"]);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_crash_while_marking_delivers_them_at_the_next_login() {
        let dir = temp_dir("pending-torn");
        {
            let (p, _) = Pending::open(&dir).unwrap();
            p.add(&whisper(1, "ann", "bob", "one")).unwrap();
            p.add(&whisper(2, "ann", "bob", "two")).unwrap();
        }
        // The process died half-way through writing the `done` line, so
        // `take` never returned and nobody received them.
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(dir.join(PENDING_FILE))
            .unwrap();
        file.write_all(b"done\t1,").unwrap();
        drop(file);
        let (p, problems) = Pending::open(&dir).unwrap();
        assert_eq!(problems.len(), 1);
        assert!(problems[0].reason.contains("torn"));
        assert_eq!(texts(&p.take("bob").unwrap()), ["one", "two"]);
        drop(p);
        let (p, problems) = Pending::open(&dir).unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(p.count("bob"), 0);
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn a_full_mailbox_refuses_and_compaction_keeps_the_waiting() {
        let dir = temp_dir("pending-full");
        let (p, _) = Pending::open(&dir).unwrap();
        for seq in 1..=MAX_WAITING_PER_USER as u64 {
            p.add(&whisper(seq, "ann", "bob", "x")).unwrap();
        }
        assert!(matches!(
            p.add(&whisper(10_000, "ann", "bob", "x")),
            Err(ArchiveError::MailboxFull { .. })
        ));
        p.add(&whisper(10_001, "ann", "carol", "kept")).unwrap();
        assert_eq!(p.take("bob").unwrap().len(), MAX_WAITING_PER_USER);
        // Many small rounds: the file is compacted on the way.
        for seq in 20_000..20_400 {
            p.add(&whisper(seq, "ann", "dan", "y")).unwrap();
            assert_eq!(p.take("dan").unwrap().len(), 1);
        }
        drop(p);
        let lines = std::fs::read_to_string(dir.join(PENDING_FILE))
            .unwrap()
            .lines()
            .count();
        assert!(lines < 2 + 2 + SLACK_LINES + 2, "{lines} lines");
        let (p, problems) = Pending::open(&dir).unwrap();
        assert!(problems.is_empty());
        assert_eq!(p.count("bob") + p.count("dan"), 0);
        assert_eq!(texts(&p.take("carol").unwrap()), ["kept"]);
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join(PENDING_FILE))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        std::fs::remove_dir_all(dir).unwrap();
    }
}
