//! The shared-file store: uploaded files under names the server makes up, in
//! `files/` inside the data directory, and their index `files.txt` beside it
//! (its line format is in [`index`]). It knows nothing of sockets or of the
//! hub: a session streams an upload into a [`PartialFile`] and commits it
//! here, or looks an entry up and opens it. The index has its own mutex, so
//! a transfer never touches the hub lock.
//!
//! An upload is written to `files/.upload-<random>.tmp`, forced to disk,
//! then renamed to its stored name (`<id>_<16 random hex>_<safe name>`) and
//! recorded, and `files.txt` is replaced atomically (temporary file, fsync,
//! rename), so a crash leaves either nothing or a complete, indexed file.
//! What a crash leaves half-way (a temporary file, or a stored file the
//! index never recorded) is removed at the next start.

mod index;
mod shared;

pub use index::{Entry, Index};
pub use shared::SharedFiles;

use std::collections::HashMap;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Instant;

use crate::clock;
use crate::crypto::{random_bytes, sha256, to_hex, Sha256};
use crate::fileshare::safe_name;
use crate::text::name_key;

use super::store::replace_file;

/// The directory, inside the data directory, that holds the files.
pub const FILES_DIR: &str = "files";
/// The index of stored files, inside the data directory.
pub const INDEX_FILE: &str = "files.txt";
/// Uploads in progress are `.upload-<random>.tmp`: hidden, and never a stored name.
const TEMP_PREFIX: &str = ".upload-";
const TEMP_SUFFIX: &str = ".tmp";

/// Why the store could not do something.
#[derive(Debug)]
pub enum FileError {
    /// The file system refused: full, gone, not permitted.
    Io {
        action: &'static str,
        path: PathBuf,
        source: io::Error,
    },
    /// A stored file no longer has the size its index entry records.
    Damaged { id: u64, expected: u64, found: u64 },
    /// Cluster mode: the cluster could not be reached, or does not hold
    /// the file's bytes (see README, "Cluster").
    Unavailable { id: u64, why: String },
}

impl FileError {
    /// Wraps an `io::Error` with what was being done to which path.
    fn io(action: &'static str, path: &Path) -> impl FnOnce(io::Error) -> FileError {
        let path = path.to_path_buf();
        move |source| FileError::Io {
            action,
            path,
            source,
        }
    }
}

impl fmt::Display for FileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileError::Io {
                action,
                path,
                source,
            } => write!(f, "cannot {action} {}: {source}", path.display()),
            FileError::Damaged {
                id,
                expected,
                found,
            } => write!(
                f,
                "stored file id:{id} is {found} bytes, not the {expected} recorded"
            ),
            FileError::Unavailable { id: 0, why } => write!(f, "cluster unavailable: {why}"),
            FileError::Unavailable { id, why } => {
                write!(f, "file id:{id} cannot be had from the cluster: {why}")
            }
        }
    }
}

impl std::error::Error for FileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FileError::Io { source, .. } => Some(source),
            FileError::Damaged { .. } | FileError::Unavailable { .. } => None,
        }
    }
}

/// The store: `files/` and the index. Shared by every session.
pub struct FileStore {
    dir: PathBuf,
    index_path: PathBuf,
    /// Protects the index and `files.txt`; held while an entry is added
    /// (rename, rewrite, fsync) and while entries are read. Never held
    /// while file data moves.
    index: Mutex<Index>,
    /// When each room (by `name_key`) was closed during this run, so that
    /// an upload begun in it before then is not filed under a later room of
    /// the same name. Locked only inside the index lock.
    retired: Mutex<HashMap<String, Instant>>,
    /// Cluster mode: where the ids, the index and the bytes are shared.
    shared: OnceLock<Arc<dyn SharedFiles>>,
}

/// An upload being received: a temporary file in `files/` and the running
/// digest of what was written. Dropped without [`FileStore::commit`], it
/// removes its file, so a failed or abandoned upload leaves nothing behind.
pub struct PartialFile {
    file: File,
    path: PathBuf,
    hasher: Sha256,
    written: u64,
    kept: bool,
}

impl PartialFile {
    /// Appends `chunk` and adds it to the digest.
    ///
    /// # Errors
    /// `FileError::Io` when the disk refuses (full, gone).
    pub fn write(&mut self, chunk: &[u8]) -> Result<(), FileError> {
        self.hasher.update(chunk);
        self.file
            .write_all(chunk)
            .map_err(FileError::io("write", &self.path))?;
        self.written += chunk.len() as u64;
        Ok(())
    }

    /// Bytes written so far.
    pub fn written(&self) -> u64 {
        self.written
    }

    /// The SHA-256 of everything written so far.
    pub fn digest(&self) -> [u8; 32] {
        self.hasher.clone().finalize()
    }
}

impl Drop for PartialFile {
    fn drop(&mut self) {
        if !self.kept {
            let _ = fs::remove_file(&self.path);
        }
    }
}

impl FileStore {
    /// Opens the store in `data_dir`, creating `files/` if needed, loading
    /// the index and clearing away what an interrupted run left behind.
    /// Returns the store and warnings for the console (skipped index lines,
    /// removed leftovers, missing files).
    ///
    /// # Errors
    /// `FileError::Io` when `files/` cannot be created or listed, or the
    /// index exists but cannot be read.
    pub fn open(data_dir: &Path) -> Result<(FileStore, Vec<String>), FileError> {
        let dir = data_dir.join(FILES_DIR);
        let index_path = data_dir.join(INDEX_FILE);
        // 0700: the stored files' names are the names people shared them under.
        super::data_dir::create_private_dir(&dir).map_err(FileError::io("create", &dir))?;
        let text = match fs::read(&index_path) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) if e.kind() == io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(FileError::io("read", &index_path)(e)),
        };
        let (index, problems) = Index::parse(&text);
        let mut warnings: Vec<String> = problems
            .iter()
            .map(|p| format!("{}: {p}; skipped", index_path.display()))
            .collect();
        warnings.extend(clear_leftovers(&dir, &index)?);
        let store = FileStore {
            dir,
            index_path,
            index: Mutex::new(index),
            retired: Mutex::new(HashMap::new()),
            shared: OnceLock::new(),
        };
        Ok((store, warnings))
    }

    /// Warnings for indexed files whose bytes are not in `files/`. Only a
    /// single server's concern: a node of a cluster fetches those from the
    /// cluster when they are first downloaded.
    pub fn missing(&self) -> Vec<String> {
        self.lock()
            .entries
            .values()
            .filter(|e| !self.dir.join(&e.stored).is_file())
            .map(|e| {
                format!(
                    "file id:{} ({}) is missing from {}",
                    e.id,
                    e.stored,
                    self.dir.display()
                )
            })
            .collect()
    }

    /// The `files/` directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Starts receiving an upload into a fresh temporary file in `files/`.
    ///
    /// # Errors
    /// `FileError::Io` when the file cannot be created.
    pub fn begin(&self) -> Result<PartialFile, FileError> {
        loop {
            let path = self
                .dir
                .join(format!("{TEMP_PREFIX}{}{TEMP_SUFFIX}", random_hex()));
            // Readable too: a node of a cluster copies it to Redis.
            let created = OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(super::data_dir::FILE_MODE)
                .open(&path);
            match created {
                Ok(file) => {
                    return Ok(PartialFile {
                        file,
                        path,
                        hasher: Sha256::new(),
                        written: 0,
                        kept: false,
                    })
                }
                // 64 random bits collided: try another name.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
                Err(e) => return Err(FileError::io("create", &path)(e)),
            }
        }
    }

    /// Forces a finished upload to disk, gives it the next id and its stored
    /// name, and records it in the index (rewritten atomically). On any
    /// failure the file is removed and the index is as it was. `room` is
    /// the uploader's room as it was at `since`; if that room has been
    /// closed since, the file is recorded as retired straight away.
    ///
    /// In a cluster, the id comes from the cluster and the bytes and the
    /// entry are put there before `files.txt` is written, so the upload's
    /// `200` means every node can serve it.
    ///
    /// # Errors
    /// `FileError::Io` when the file or the index cannot be written;
    /// `Unavailable` when the cluster cannot be reached.
    pub fn commit(
        &self,
        mut partial: PartialFile,
        room: &str,
        since: Instant,
        uploader: &str,
        name: &str,
    ) -> Result<Entry, FileError> {
        partial
            .file
            .sync_all()
            .map_err(FileError::io("write", &partial.path))?;
        let sha256 = partial.digest();
        let shared = self.shared.get();
        let cluster_id = match shared {
            Some(shared) => Some(self.put_shared(shared.as_ref(), &mut partial)?),
            None => None,
        };
        let mut index = self.lock();
        let room = if self.closed_since(room, since) {
            retired_name(room)
        } else {
            room.to_string()
        };
        // Taken even if what follows fails: an id is never handed out twice.
        let id = cluster_id.unwrap_or(index.next_id);
        index.next_id = index.next_id.max(id + 1);
        let stored = format!("{id}_{}_{}", random_hex(), safe_name(name));
        let path = self.dir.join(&stored);
        fs::rename(&partial.path, &path).map_err(FileError::io("rename", &partial.path))?;
        // From here on, dropping `partial` removes the stored file.
        partial.path = path;
        sync_dir(&self.dir);
        let entry = Entry {
            id,
            date: clock::now_utc(),
            room,
            uploader: uploader.to_string(),
            size: partial.written,
            sha256,
            stored,
            name: name.to_string(),
        };
        if let Some(shared) = shared {
            shared
                .record(&entry)
                .map_err(|why| FileError::Unavailable { id: 0, why })?;
        }
        index.entries.insert(id, entry.clone());
        if let Err(e) = self.save(&index) {
            index.entries.remove(&id);
            return Err(e);
        }
        partial.kept = true;
        Ok(entry)
    }

    /// Cluster mode: a new id from the cluster, and the upload's bytes put
    /// there under it.
    fn put_shared(
        &self,
        shared: &dyn SharedFiles,
        partial: &mut PartialFile,
    ) -> Result<u64, FileError> {
        let unavailable = |why| FileError::Unavailable { id: 0, why };
        let floor = self.lock().next_id;
        let id = shared.new_id(floor).map_err(unavailable)?;
        partial
            .file
            .rewind()
            .map_err(FileError::io("read", &partial.path))?;
        shared
            .put(id, &mut partial.file, partial.written)
            .map_err(unavailable)?;
        Ok(id)
    }

    /// The entry for file `id`, if there is one.
    pub fn get(&self, id: u64) -> Option<Entry> {
        self.lock().entries.get(&id).cloned()
    }

    /// Every file shared in `room` (ignoring case), oldest first.
    pub fn in_room(&self, room: &str) -> Vec<Entry> {
        let key = name_key(room);
        self.lock()
            .entries
            .values()
            .filter(|e| name_key(&e.room) == key)
            .cloned()
            .collect()
    }

    /// Stops offering the files shared in `room` (a room being closed): a
    /// later room of the same name is another room and must not see them.
    /// They stay in `files/`, recorded under `ROOM (closed)`, which is never
    /// a room name. Returns how many were retired.
    ///
    /// # Errors
    /// `FileError::Io` when the index cannot be rewritten; the files are
    /// retired for this run all the same, so nothing is exposed meanwhile.
    pub fn retire_room(&self, room: &str) -> Result<usize, FileError> {
        let key = name_key(room);
        let mut index = self.lock();
        self.retired
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.clone(), Instant::now());
        let mut retired = Vec::new();
        for entry in index.entries.values_mut() {
            if name_key(&entry.room) == key {
                entry.room = retired_name(&entry.room);
                retired.push(entry.clone());
            }
        }
        if !retired.is_empty() {
            self.save(&index)?;
        }
        if let Some(shared) = self.shared.get() {
            // Best effort: the other nodes retire them when they hear the
            // room closed anyway; this makes the cluster's index agree.
            for entry in &retired {
                let _ = shared.record(entry);
            }
        }
        Ok(retired.len())
    }

    /// Opens a stored file for sending, checking it still has its recorded size.
    ///
    /// A node of a cluster that does not hold the file yet fetches it
    /// from the cluster first (once: it is then stored here).
    ///
    /// # Errors
    /// `Io` when it cannot be opened, `Damaged` when its size changed,
    /// `Unavailable` when the cluster cannot give it.
    pub fn open_file(&self, entry: &Entry) -> Result<File, FileError> {
        let path = self.dir.join(&entry.stored);
        if self.shared.get().is_some() && !path.is_file() {
            self.fetch_bytes(entry)?;
        }
        let file = File::open(&path).map_err(FileError::io("open", &path))?;
        let found = file
            .metadata()
            .map_err(FileError::io("inspect", &path))?
            .len();
        if found != entry.size {
            return Err(FileError::Damaged {
                id: entry.id,
                expected: entry.size,
                found,
            });
        }
        Ok(file)
    }

    /// Replaces `files.txt` with `index` atomically (see `store`), so a
    /// crash leaves the old index or the new one, never half of one.
    fn save(&self, index: &Index) -> Result<(), FileError> {
        replace_file(&self.index_path, index.encode().as_bytes(), true)
            .map_err(FileError::io("replace", &self.index_path))
    }

    /// True when `room` was closed after `since`. Called with the index locked.
    fn closed_since(&self, room: &str, since: Instant) -> bool {
        let retired = self.retired.lock().unwrap_or_else(PoisonError::into_inner);
        retired
            .get(&name_key(room))
            .is_some_and(|&closed| closed >= since)
    }

    fn lock(&self) -> MutexGuard<'_, Index> {
        // Every change to the index is undone before an early return, so a
        // panic elsewhere cannot leave it half-changed: keep using it.
        self.index.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Removes unfinished uploads and stored files the index never recorded
/// because the server stopped between the rename and the index write: those
/// have an id at or past the index's next id, and nobody was ever told of
/// them. A stored file with an earlier id that the index does not list lost
/// its line to damage; it is kept, with a warning, for its owner to recover.
/// Anything else in `files/` is not ours to touch and stays.
fn clear_leftovers(dir: &Path, index: &Index) -> Result<Vec<String>, FileError> {
    let mut removed = Vec::new();
    let listing = fs::read_dir(dir).map_err(FileError::io("list", dir))?;
    for item in listing.flatten() {
        let name = item.file_name();
        let Some(name) = name.to_str() else { continue };
        let unfinished = name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX);
        let unlisted =
            stored_id(name).filter(|id| index.entries.get(id).is_none_or(|e| e.stored != name));
        let orphan = unlisted.is_some_and(|id| id >= index.next_id);
        if unlisted.is_some() && !orphan {
            removed.push(format!(
                "{FILES_DIR}/{name} is not in files.txt (a damaged line?); kept, but not offered"
            ));
        }
        if unfinished || orphan {
            let what = if unfinished {
                "an unfinished upload"
            } else {
                "a file files.txt does not list"
            };
            match fs::remove_file(item.path()) {
                Ok(()) => removed.push(format!("removed {what}: {FILES_DIR}/{name}")),
                Err(e) => removed.push(format!("cannot remove {what} {FILES_DIR}/{name}: {e}")),
            }
        }
    }
    Ok(removed)
}

/// How a closed room's files are recorded: a name no room can have (room
/// names have no spaces), so they match no room from now on.
fn retired_name(room: &str) -> String {
    format!("{room} {CLOSED_SUFFIX}")
}

const CLOSED_SUFFIX: &str = "(closed)";

impl Entry {
    /// True for a file of a closed room: never offered again.
    pub fn is_retired(&self) -> bool {
        is_retired(&self.room)
    }
}

/// True for a room name as [`retired_name`] makes it.
fn is_retired(room: &str) -> bool {
    room.ends_with(&format!(" {CLOSED_SUFFIX}"))
}

/// The id at the front of a stored name `<id>_<hex>_<name>`, if it is one.
fn stored_id(name: &str) -> Option<u64> {
    let (id, rest) = name.split_once('_')?;
    let (random, _) = rest.split_once('_')?;
    if random.len() != 16 || !random.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    id.parse().ok()
}

/// Forces a directory's entries (a rename) to disk. Best effort: some file
/// systems refuse to sync a directory, and the data itself is already synced.
fn sync_dir(dir: &Path) {
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
}

/// 16 hex digits from the OS's random source, so stored and temporary
/// names cannot be guessed. If that source fails, a hash of the time and a
/// counter still makes the name unique, which is what correctness needs.
fn random_hex() -> String {
    let mut bytes = [0u8; 8];
    if random_bytes(&mut bytes).is_err() {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let seed = format!("{nanos}-{}", COUNTER.fetch_add(1, Ordering::Relaxed));
        bytes.copy_from_slice(&sha256(seed.as_bytes())[..8]);
    }
    to_hex(&bytes)
}

#[cfg(test)]
mod tests;
