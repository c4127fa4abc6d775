//! [`Archive`]: `log.txt` with its index, opened (from the saved index or
//! by a scan), kept in step with the server's appends, rebuilt when the
//! file turns out to differ from it, and saved. What it answers is in
//! `queries` and `search`. The index lives behind a read-write lock held
//! only for memory work (microseconds); file reads happen after the lock
//! is released, with `pread` on a shared read-only handle, so any number
//! of session threads read at once.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

use super::build::{self, Problems};
use super::error::ArchiveError;
use super::index::Index;
use super::persist;
use super::search::Gate;
use crate::server::history::{Problem, Record};
use crate::server::store::replace_file;

/// A start-up that had to scan more than this past the saved index saves
/// it again, so the next start-up does not scan the same bytes.
const RESAVE_AFTER_BYTES: u64 = 16 << 20;
/// Notices kept for the operator until taken.
const MAX_NOTICES: usize = 100;

/// What happened to the saved index at start-up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SavedIndex {
    /// It matched `log.txt` and was extended past its end.
    Used,
    /// There was none: the whole log was scanned.
    Missing,
    /// It did not match `log.txt` (or was damaged): the whole log was
    /// scanned; the reason says why.
    Unusable(String),
}

/// What [`Archive::open`] found.
#[derive(Debug)]
pub struct Opened {
    /// Records indexed.
    pub records: u64,
    /// The sequence number the next record gets (the last one plus 1).
    pub next_seq: u64,
    /// Bytes of whole lines in `log.txt`: a torn last line starts here, and
    /// the log's writer should cut the file here before appending.
    pub end: u64,
    /// Lines not indexed (damaged, out of order, torn), with line numbers,
    /// from the part of the file scanned this time (a line reported at an
    /// earlier start-up is not reported again when the saved index is used).
    pub problems: Vec<Problem>,
    /// Problems beyond those listed.
    pub more_problems: u64,
    pub saved_index: SavedIndex,
    /// Bytes of `log.txt` read to build or extend the index.
    pub scanned_bytes: u64,
    /// Why the index could not be saved, if it could not (not fatal: the
    /// next start-up scans more).
    pub save_error: Option<String>,
}

/// What [`Archive::save_index`] wrote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Saved {
    /// Size of the index file; 0 when nothing was written (the index was
    /// stale and is about to be rebuilt, which saves it).
    pub bytes: u64,
    /// How long the read lock was held (appends waited that long at most).
    pub locked: Duration,
}

/// Figures for the operator and the bench.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stats {
    pub records: u64,
    /// Rooms with history (current incarnations).
    pub rooms: usize,
    /// Whisper conversations.
    pub conversations: usize,
    /// Heap bytes the index holds, approximately.
    pub heap_bytes: usize,
    /// Bytes of `log.txt` indexed.
    pub end: u64,
}

/// `log.txt` and its index. `Send + Sync`: share it in an `Arc`. See
/// the module docs of `archive` for which calls lock what.
pub struct Archive {
    log_path: PathBuf,
    index_path: PathBuf,
    state: RwLock<State>,
    /// One rebuild at a time; others wait for it instead of repeating it.
    rebuilding: Mutex<()>,
    /// One save at a time (they share a temporary file name).
    saving: Mutex<()>,
    /// Records noted since the index was last saved.
    appended: AtomicU64,
    notices: Mutex<Vec<String>>,
    pub(super) searches: Gate,
}

impl Archive {
    /// Opens `log.txt` at `log_path` (creating it, empty and private, if
    /// missing) and its index: the saved one at `index_path` when it still
    /// matches the log, extended past its end; otherwise one built by
    /// scanning the whole log. Saves the index when it scanned much.
    /// Open it before or after `MessageLog::open`; either way a torn last
    /// line is not indexed, and [`Opened::end`] says where it starts.
    ///
    /// # Errors
    /// `Open`/`Read` when `log.txt` cannot be opened or read. A missing,
    /// damaged or mismatched saved index is not an error (see `saved_index`).
    pub fn open(log_path: &Path, index_path: &Path) -> Result<(Archive, Opened), ArchiveError> {
        let file = crate::server::data_dir::open_append_private(log_path).map_err(|source| {
            ArchiveError::Open {
                path: log_path.to_path_buf(),
                source,
            }
        })?;
        let read_err = |source| ArchiveError::Read {
            path: log_path.to_path_buf(),
            source,
        };
        let len = file.metadata().map_err(read_err)?.len();
        let (mut index, saved_index) = match fs::read(index_path) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => (Index::new(), SavedIndex::Missing),
            Err(e) => (Index::new(), SavedIndex::Unusable(e.to_string())),
            Ok(bytes) => match persist::decode(&bytes)
                .map_err(String::from)
                .and_then(|index| build::check_saved(&index, &file, len).map(|()| index))
            {
                Ok(index) => (index, SavedIndex::Used),
                Err(reason) => (Index::new(), SavedIndex::Unusable(reason)),
            },
        };
        let from = index.end;
        let mut problems = Problems::default();
        let torn = if from == 0 {
            let (built, torn) = build::build(&file, len, &mut problems).map_err(read_err)?;
            index = built;
            torn
        } else {
            build::extend(&mut index, &file, len, &mut problems).map_err(read_err)?
        };
        if torn > 0 {
            problems.push(
                index.lines + 1,
                format!("torn last line ({torn} bytes without a newline), not indexed"),
            );
        }
        let scanned_bytes = index.end - from;
        if from == 0 {
            index.shrink();
        }
        let opened = Opened {
            records: index.records,
            next_seq: index.last_seq() + 1,
            end: index.end,
            problems: problems.list,
            more_problems: problems.more,
            saved_index,
            scanned_bytes,
            save_error: None,
        };
        let archive = Archive {
            log_path: log_path.to_path_buf(),
            index_path: index_path.to_path_buf(),
            state: RwLock::new(State {
                index,
                file: Arc::new(file),
            }),
            rebuilding: Mutex::new(()),
            saving: Mutex::new(()),
            appended: AtomicU64::new(0),
            notices: Mutex::new(Vec::new()),
            searches: Gate::new(),
        };
        let mut opened = opened;
        if opened.saved_index != SavedIndex::Used || scanned_bytes >= RESAVE_AFTER_BYTES {
            opened.save_error = archive.save_index().err().map(|e| e.to_string());
        }
        Ok((archive, opened))
    }

    /// Tells the index that `record` (with its seq) was just written at
    /// `offset`, `len` bytes with its newline. Call it under the log's lock,
    /// right after the write, in log order. Never fails: a record it cannot
    /// place (the file changed behind its back) marks the index stale, and
    /// the next read rebuilds it.
    pub fn note_append(&self, record: &Record, offset: u64, len: u64) {
        let mut state = self.write();
        let index = &mut *state;
        if record.seq <= index.last_seq() && offset + len <= index.end {
            // A rebuild scan got here first.
            return;
        }
        if offset > index.end && !index.stale {
            // Lines written without a note: index them from the file.
            let mut problems = Problems::default();
            let file = Arc::clone(&index.file);
            if build::extend(&mut index.index, &file, offset, &mut problems).is_err() {
                index.stale = true;
            }
        }
        if index.stale {
            return;
        }
        if offset != index.end || index.add_record(record, offset).is_err() {
            index.stale = true;
            let note = format!(
                "record {} written at offset {offset}, where the index expected {}; rebuilding it at the next read",
                record.seq, index.end
            );
            drop(state);
            self.notice(note);
            return;
        }
        index.end = offset + len;
        index.lines += 1;
        self.appended.fetch_add(1, Ordering::Relaxed);
    }

    /// Writes the index to its file (atomically, mode 0600), so the next
    /// start-up reads it instead of scanning the log. Holds the read lock
    /// while copying the index into a buffer (about 4 bytes a record:
    /// about 40 ms at 10,000,000 records, during which appends
    /// wait), then writes without it. Call it now and then (say when
    /// [`appended_since_save`](Self::appended_since_save) passes 100,000)
    /// and at shutdown.
    ///
    /// # Errors
    /// `Write` when the file cannot be written; the old one is kept.
    pub fn save_index(&self) -> Result<Saved, ArchiveError> {
        let _one = lock(&self.saving);
        let started = Instant::now();
        let mut bytes = {
            let index = self.read();
            if index.stale {
                // Not worth keeping; the rebuild that comes next saves.
                return Ok(Saved::default());
            }
            self.appended.store(0, Ordering::Relaxed);
            persist::encode(&index.index)
        };
        let locked = started.elapsed();
        persist::seal(&mut bytes);
        replace_file(&self.index_path, &bytes, true).map_err(|source| ArchiveError::Write {
            path: self.index_path.clone(),
            source,
        })?;
        Ok(Saved {
            bytes: bytes.len() as u64,
            locked,
        })
    }

    /// Records noted since the index was last saved.
    pub fn appended_since_save(&self) -> u64 {
        self.appended.load(Ordering::Relaxed)
    }

    /// Takes what happened since the last call that the operator should
    /// hear about (rebuilds and their reasons, lines skipped by them).
    pub fn take_notices(&self) -> Vec<String> {
        std::mem::take(&mut *lock(&self.notices))
    }

    /// Figures about the index.
    pub fn stats(&self) -> Stats {
        let index = self.read();
        Stats {
            records: index.records,
            rooms: index.rooms.len(),
            conversations: index.pairs.len(),
            heap_bytes: index.heap_bytes(),
            end: index.end,
        }
    }

    /// Rebuilds the index from the whole file, because a read found a line
    /// that is not what the index said (`why`), unless another thread has
    /// rebuilt since `seen` generation. When the path now leads to another
    /// file (the log's writer recreated it after a rotation or a deletion),
    /// that file is indexed instead. The scan runs without the index lock
    /// (readers keep the old index, appends go on); only the catch-up over
    /// records appended meanwhile holds the write lock.
    pub(super) fn rebuild(&self, seen: u64, why: &str) -> Result<(), ArchiveError> {
        let _one = lock(&self.rebuilding);
        let current = {
            let state = self.read();
            if state.generation != seen {
                return Ok(());
            }
            Arc::clone(&state.file)
        };
        let file = match self.file_at_path(&current)? {
            Some(new) => {
                self.notice(format!(
                    "{} is another file than the one indexed; indexing it",
                    self.log_path.display()
                ));
                Arc::new(new)
            }
            None => current,
        };
        let mut problems = Problems::default();
        let len = file_len(&file).map_err(|source| self.read_error(source))?;
        let (mut fresh, _) =
            build::build(&file, len, &mut problems).map_err(|source| self.read_error(source))?;
        {
            let mut state = self.write();
            // Records appended during the scan: all whole by now, since
            // appends note themselves after writing and wait for this lock.
            let len = file_len(&file).map_err(|source| self.read_error(source))?;
            build::extend(&mut fresh, &file, len, &mut problems)
                .map_err(|source| self.read_error(source))?;
            fresh.shrink();
            fresh.generation = state.generation + 1;
            state.index = fresh;
            state.file = file;
        }
        self.notice(format!(
            "{} did not match its index ({why}); index rebuilt",
            self.log_path.display()
        ));
        for p in &problems.list {
            self.notice(format!("{}: {p}; skipped", self.log_path.display()));
        }
        if let Err(e) = self.save_index() {
            self.notice(format!("the rebuilt index could not be saved: {e}"));
        }
        Ok(())
    }

    /// The file now at the log's path, if it is not `current`.
    fn file_at_path(&self, current: &File) -> Result<Option<File>, ArchiveError> {
        let same =
            |a: &std::fs::Metadata, b: &std::fs::Metadata| a.dev() == b.dev() && a.ino() == b.ino();
        let mine = current
            .metadata()
            .map_err(|source| self.read_error(source))?;
        match fs::metadata(&self.log_path) {
            Ok(now) if same(&now, &mine) => Ok(None),
            Ok(_) => File::open(&self.log_path)
                .map(Some)
                .map_err(|source| self.read_error(source)),
            // Gone: keep reading the file we have until the writer recreates it.
            Err(_) => Ok(None),
        }
    }

    fn notice(&self, text: String) {
        let mut notices = lock(&self.notices);
        if notices.len() < MAX_NOTICES {
            notices.push(text);
        }
    }

    pub(super) fn read_error(&self, source: io::Error) -> ArchiveError {
        ArchiveError::Read {
            path: self.log_path.clone(),
            source,
        }
    }

    // The index is consistent between statements: a panic elsewhere while
    // a lock was held leaves nothing to repair.
    pub(super) fn read(&self) -> RwLockReadGuard<'_, State> {
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The index and the file it describes, swapped together by a rebuild.
pub(super) struct State {
    pub(super) index: Index,
    /// Read with `pread` only, so threads share no file position. Cloned
    /// out of the lock by readers, which then read without it.
    pub(super) file: Arc<File>,
}

impl std::ops::Deref for State {
    type Target = Index;

    fn deref(&self) -> &Index {
        &self.index
    }
}

impl std::ops::DerefMut for State {
    fn deref_mut(&mut self) -> &mut Index {
        &mut self.index
    }
}

fn file_len(file: &File) -> io::Result<u64> {
    file.metadata().map(|m| m.len())
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}
