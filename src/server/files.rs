//! The shared-file store: uploaded files under names the server makes up, in
//! `files/` inside the data directory, and their index `files.txt` beside it.
//! It knows nothing of sockets or of the hub: a session streams an upload
//! into a [`PartialFile`] and commits it here, or looks an entry up and opens
//! it. The index has its own mutex, so a transfer never touches the hub lock.
//!
//! ```text
//! files.txt = next-line *file-line   ; rewritten whole and renamed into place on every change
//! next-line = "next" TAB id LF        ; the id the next upload gets: ids are never reused
//! file-line = id TAB date TAB room TAB uploader TAB size TAB sha256 TAB stored TAB name LF
//! id, size  = decimal; sha256 = 64 lowercase hex digits
//! stored    = the name in files/: id "_" 16 random hex digits "_" safe-name
//! name      = the name the uploader gave, exactly; a label, never a path
//! date, room, uploader, stored and name escape "\" TAB LF CR as \\ \t \n \r
//! ```
//!
//! An upload is written to `files/.upload-<random>.tmp`, forced to disk,
//! then renamed to its stored name and recorded, so a crash leaves either
//! nothing or a complete, indexed file; what a crash leaves half-way (a
//! temporary file, or a stored file the index never recorded) is removed
//! at the next start.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError};

use crate::clock;
use crate::crypto::{from_hex, random_bytes, sha256, to_hex, Sha256};
use crate::fileshare::safe_name;
use crate::text::name_key;

use super::history::{escape, unescape, Problem};

/// The directory, inside the data directory, that holds the files.
pub const FILES_DIR: &str = "files";
/// The index of stored files, inside the data directory.
pub const INDEX_FILE: &str = "files.txt";
/// Uploads in progress are `.upload-<random>.tmp`: hidden, and never a stored name.
const TEMP_PREFIX: &str = ".upload-";
const TEMP_SUFFIX: &str = ".tmp";

/// One stored file, as the index records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub id: u64,
    /// When it was stored (UTC, as `clock::now_utc`).
    pub date: String,
    /// The room it was shared in: only those who may enter it may fetch it.
    pub room: String,
    pub uploader: String,
    pub size: u64,
    pub sha256: [u8; 32],
    /// Its name inside `files/`, made by the server.
    pub stored: String,
    /// The name the uploader gave it.
    pub name: String,
}

/// Every stored file by id, and the id the next one gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Index {
    pub next_id: u64,
    pub entries: BTreeMap<u64, Entry>,
}

impl Default for Index {
    fn default() -> Index {
        Index {
            next_id: 1,
            entries: BTreeMap::new(),
        }
    }
}

impl Index {
    /// The index as `files.txt` holds it.
    pub fn encode(&self) -> String {
        let mut out = format!("next\t{}\n", self.next_id);
        for e in self.entries.values() {
            out.push_str(&format!(
                "{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\n",
                e.id,
                escape(&e.date),
                escape(&e.room),
                escape(&e.uploader),
                e.size,
                to_hex(&e.sha256),
                escape(&e.stored),
                escape(&e.name),
            ));
        }
        out
    }

    /// Reads `files.txt`. A line that cannot be read is reported with its
    /// number and skipped; the rest still loads. The next id is never below
    /// one past the largest id seen, whatever the `next` line says.
    pub fn parse(text: &str) -> (Index, Vec<Problem>) {
        let mut index = Index::default();
        let mut problems = Vec::new();
        let mut next = None;
        for (i, line) in text.lines().enumerate() {
            let problem = |reason: &str| Problem {
                line_no: i + 1,
                reason: reason.to_string(),
            };
            if line.is_empty() {
                continue;
            }
            if let Some(value) = line.strip_prefix("next\t") {
                match (value.parse::<u64>(), next) {
                    (Ok(n), None) => next = Some(n),
                    (Ok(_), Some(_)) => problems.push(problem("a second next line")),
                    (Err(_), _) => problems.push(problem("next id is not a number")),
                }
                continue;
            }
            match parse_entry(line) {
                Ok(entry) if index.entries.contains_key(&entry.id) => {
                    problems.push(problem("an id already used by an earlier line"));
                }
                Ok(entry) => {
                    index.entries.insert(entry.id, entry);
                }
                Err(reason) => problems.push(problem(reason)),
            }
        }
        let past_last = index.entries.keys().next_back().map_or(1, |id| id + 1);
        index.next_id = next.unwrap_or(1).max(past_last);
        (index, problems)
    }
}

fn parse_entry(line: &str) -> Result<Entry, &'static str> {
    let fields: Vec<&str> = line.split('\t').collect();
    let [id, date, room, uploader, size, sha, stored, name] = fields[..] else {
        return Err("wrong number of fields");
    };
    let id: u64 = id.parse().map_err(|_| "id is not a number")?;
    let stored = unescape(stored)?;
    // The index is ours, but a damaged or edited one must still never make
    // the server open something outside files/.
    if !is_stored_name(&stored, id) {
        return Err("stored name is not a plain name of this file in files/");
    }
    Ok(Entry {
        id,
        date: unescape(date)?,
        room: unescape(room)?,
        uploader: unescape(uploader)?,
        size: size.parse().map_err(|_| "size is not a number")?,
        sha256: from_hex(sha)
            .and_then(|d| d.try_into().ok())
            .ok_or("sha256 is not 64 hex digits")?,
        stored,
        name: unescape(name)?,
    })
}

/// True for a name this store gives file `id`: `<id>_...`, one plain path
/// component that is neither hidden nor special.
fn is_stored_name(stored: &str, id: u64) -> bool {
    stored.starts_with(&format!("{id}_"))
        && !stored.contains(['/', '\\', '\0'])
        && Path::new(stored).file_name() == Some(OsStr::new(stored))
}

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
        }
    }
}

impl std::error::Error for FileError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            FileError::Io { source, .. } => Some(source),
            FileError::Damaged { .. } => None,
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
        fs::create_dir_all(&dir).map_err(FileError::io("create", &dir))?;
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
        for e in index.entries.values() {
            if !dir.join(&e.stored).is_file() {
                warnings.push(format!(
                    "file id:{} ({}) is missing from {}",
                    e.id,
                    e.stored,
                    dir.display()
                ));
            }
        }
        let store = FileStore {
            dir,
            index_path,
            index: Mutex::new(index),
        };
        Ok((store, warnings))
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
            match OpenOptions::new().write(true).create_new(true).open(&path) {
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
    /// failure the file is removed and the index is as it was.
    ///
    /// # Errors
    /// `FileError::Io` when the file or the index cannot be written.
    pub fn commit(
        &self,
        mut partial: PartialFile,
        room: &str,
        uploader: &str,
        name: &str,
    ) -> Result<Entry, FileError> {
        partial
            .file
            .sync_all()
            .map_err(FileError::io("write", &partial.path))?;
        let sha256 = partial.digest();
        let mut index = self.lock();
        // Taken even if what follows fails: an id is never handed out twice.
        let id = index.next_id;
        index.next_id += 1;
        let stored = format!("{id}_{}_{}", random_hex(), safe_name(name));
        let path = self.dir.join(&stored);
        fs::rename(&partial.path, &path).map_err(FileError::io("rename", &partial.path))?;
        // From here on, dropping `partial` removes the stored file.
        partial.path = path;
        sync_dir(&self.dir);
        let entry = Entry {
            id,
            date: clock::now_utc(),
            room: room.to_string(),
            uploader: uploader.to_string(),
            size: partial.written,
            sha256,
            stored,
            name: name.to_string(),
        };
        index.entries.insert(id, entry.clone());
        if let Err(e) = self.save(&index) {
            index.entries.remove(&id);
            return Err(e);
        }
        partial.kept = true;
        Ok(entry)
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

    /// Opens a stored file for sending, checking it still has its recorded size.
    ///
    /// # Errors
    /// `Io` when it cannot be opened, `Damaged` when its size changed.
    pub fn open_file(&self, entry: &Entry) -> Result<File, FileError> {
        let path = self.dir.join(&entry.stored);
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

    /// Replaces `files.txt` with `index`: temporary file, fsync, rename, so
    /// a crash leaves the old index or the new one, never half of one.
    fn save(&self, index: &Index) -> Result<(), FileError> {
        let tmp = self.index_path.with_extension("txt.tmp");
        let write = || -> io::Result<()> {
            let mut file = File::create(&tmp)?;
            file.write_all(index.encode().as_bytes())?;
            file.sync_all()
        };
        if let Err(e) = write() {
            let _ = fs::remove_file(&tmp);
            return Err(FileError::io("write", &tmp)(e));
        }
        fs::rename(&tmp, &self.index_path).map_err(FileError::io("replace", &self.index_path))?;
        if let Some(parent) = self.index_path.parent() {
            sync_dir(parent);
        }
        Ok(())
    }

    fn lock(&self) -> MutexGuard<'_, Index> {
        // Every change to the index is undone before an early return, so a
        // panic elsewhere cannot leave it half-changed: keep using it.
        self.index.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Removes unfinished uploads and stored files the index never recorded
/// (the server stopped between the rename and the index write). Anything
/// else in `files/` is not ours to touch and stays.
fn clear_leftovers(dir: &Path, index: &Index) -> Result<Vec<String>, FileError> {
    let mut removed = Vec::new();
    let listing = fs::read_dir(dir).map_err(FileError::io("list", dir))?;
    for item in listing.flatten() {
        let name = item.file_name();
        let Some(name) = name.to_str() else { continue };
        let unfinished = name.starts_with(TEMP_PREFIX) && name.ends_with(TEMP_SUFFIX);
        let orphan = stored_id(name)
            .is_some_and(|id| index.entries.get(&id).is_none_or(|e| e.stored != name));
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
mod tests {
    use super::*;

    fn entry(id: u64, room: &str, name: &str) -> Entry {
        Entry {
            id,
            date: "2026-11-21 10:15:02.123456".into(),
            room: room.into(),
            uploader: "ntu".into(),
            size: 42,
            sha256: sha256(name.as_bytes()),
            stored: format!("{id}_0123456789abcdef_{}", safe_name(name)),
            name: name.into(),
        }
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "chat-files-unit-{name}-{}-{}",
            std::process::id(),
            random_hex()
        ));
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn any_name_round_trips_through_the_index() {
        let mut index = Index::default();
        for (id, name) in [
            (1, "notes.txt"),
            (2, "tab\there\\and\nnewline\r.bin"),
            (3, "../../etc/passwd"),
            (4, "你好 🎉.txt"),
            (5, ""),
        ] {
            index.entries.insert(id, entry(id, "lobby", name));
        }
        index.next_id = 9;
        let text = index.encode();
        assert_eq!(text.lines().count(), 6, "{text}");
        let (parsed, problems) = Index::parse(&text);
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(parsed, index);
    }

    #[test]
    fn bad_lines_are_reported_by_number_and_skipped() {
        let good = Index {
            next_id: 2,
            entries: BTreeMap::from([(1, entry(1, "lobby", "a.txt"))]),
        }
        .encode();
        let good_line = good.lines().nth(1).unwrap();
        let sha = to_hex(&sha256(b"x"));
        let text = [
            "next\t2",
            good_line,
            "garbage",
            &format!("2\td\tlobby\tntu\tbig\t{sha}\t2_0123456789abcdef_a\ta"),
            "3\td\tlobby\tntu\t1\tnothex\t3_0123456789abcdef_a\ta",
            &format!("4\td\tlobby\tntu\t1\t{sha}\t../../etc/passwd\ta"),
            &format!("5\td\tlobby\tntu\t1\t{sha}\t6_0123456789abcdef_a\ta"),
            &format!("7\td\tlobby\tntu\t1\t{sha}\t7_0123456789abcdef_a\tbad\\escape"),
            good_line,
            "next\t1",
        ]
        .join("\n");
        let (index, problems) = Index::parse(&text);
        assert_eq!(index.entries.len(), 1);
        let lines: Vec<usize> = problems.iter().map(|p| p.line_no).collect();
        assert_eq!(lines, [3, 4, 5, 6, 7, 8, 9, 10], "{problems:?}");
        assert_eq!(index.next_id, 2);
    }

    #[test]
    fn next_id_never_falls_behind_the_largest_id() {
        let text = Index {
            next_id: 1,
            entries: BTreeMap::from([(41, entry(41, "lobby", "a"))]),
        }
        .encode();
        assert_eq!(Index::parse(&text).0.next_id, 42);
        assert_eq!(Index::parse("").0.next_id, 1);
        let (index, problems) = Index::parse("next\t7\n");
        assert_eq!((index.next_id, problems.len()), (7, 0));
    }

    #[test]
    fn stored_names_must_be_plain_and_belong_to_their_id() {
        assert!(is_stored_name("3_0123456789abcdef_a.txt", 3));
        for bad in [
            "3_x/../../etc/passwd",
            "4_0123456789abcdef_a",
            "3_..\\x",
            "/etc/passwd",
            "..",
            "3_a\0b",
        ] {
            assert!(!is_stored_name(bad, 3), "{bad:?}");
        }
    }

    #[test]
    fn committed_files_get_increasing_ids_that_survive_a_reopen() {
        let dir = temp_dir("commit");
        let (store, warnings) = FileStore::open(&dir).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        let mut ids = Vec::new();
        for content in [&b"hello"[..], b"", b"\0\0\xff"] {
            let mut partial = store.begin().unwrap();
            partial.write(content).unwrap();
            let e = store.commit(partial, "lobby", "ntu", "../x.bin").unwrap();
            assert_eq!(e.sha256, sha256(content));
            assert_eq!(fs::read(store.dir().join(&e.stored)).unwrap(), content);
            assert!(e.stored.ends_with("_x.bin"), "{}", e.stored);
            ids.push(e.id);
        }
        assert_eq!(ids, [1, 2, 3]);
        drop(store);
        let (store, warnings) = FileStore::open(&dir).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(store.in_room("LOBBY").len(), 3);
        let partial = store.begin().unwrap();
        assert_eq!(store.commit(partial, "lobby", "ntu", "y").unwrap().id, 4);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn abandoned_uploads_and_unlisted_files_leave_no_trace() {
        let dir = temp_dir("abandon");
        let (store, _) = FileStore::open(&dir).unwrap();
        let mut partial = store.begin().unwrap();
        partial.write(b"half a file").unwrap();
        drop(partial);
        assert_eq!(fs::read_dir(store.dir()).unwrap().count(), 0);
        // What a killed server leaves: an unfinished upload and a renamed
        // file the index never got to record.
        fs::write(store.dir().join(".upload-0011223344556677.tmp"), b"x").unwrap();
        fs::write(store.dir().join("9_0011223344556677_x"), b"x").unwrap();
        fs::write(store.dir().join("README"), b"not ours").unwrap();
        drop(store);
        let (store, warnings) = FileStore::open(&dir).unwrap();
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        let left: Vec<_> = fs::read_dir(store.dir())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(left, ["README"]);
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn a_changed_size_is_reported_as_damage() {
        let dir = temp_dir("damage");
        let (store, _) = FileStore::open(&dir).unwrap();
        let mut partial = store.begin().unwrap();
        partial.write(b"0123456789").unwrap();
        let e = store.commit(partial, "lobby", "ntu", "a").unwrap();
        assert!(store.open_file(&e).is_ok());
        fs::write(store.dir().join(&e.stored), b"short").unwrap();
        assert!(matches!(
            store.open_file(&e),
            Err(FileError::Damaged {
                expected: 10,
                found: 5,
                ..
            })
        ));
        let _ = fs::remove_dir_all(&dir);
    }
}
