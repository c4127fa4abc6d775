//! The data directory and who may read it. What the server stores holds
//! whispers, private rooms, shared files and password hashes, so it is the
//! server's user's alone: a directory the server creates is 0700, a file
//! it creates 0600, and data files an older run (or a person) left
//! readable by others are tightened at start-up. The files themselves are
//! created by their stores, each with mode 0600.

use std::fs::{self, DirBuilder, File, OpenOptions, Permissions};
use std::io;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::accounts::ACCOUNTS_FILE;
use super::archive::{INDEX_FILE as LOG_INDEX_FILE, MARKERS_FILE, PENDING_FILE};
use super::files::{FILES_DIR, INDEX_FILE};
use super::rooms::ROOMS_FILE;
use super::LOG_FILE;

/// Mode of every data file: read and write for the server's user only.
pub const FILE_MODE: u32 = 0o600;
/// Mode of a directory the server creates.
pub const DIR_MODE: u32 = 0o700;
/// The permission bits for anyone but the owner.
const OTHERS: u32 = 0o077;

/// Why the data directory cannot be used.
#[derive(Debug)]
pub enum DataDirError {
    /// It exists and is not a directory.
    NotADirectory {
        path: PathBuf,
    },
    Io {
        path: PathBuf,
        source: io::Error,
    },
}

impl std::fmt::Display for DataDirError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DataDirError::NotADirectory { path } => write!(
                f,
                "cannot use data directory {}: it is a file, not a directory; pass a directory (or a path to create one) to --data-dir",
                path.display()
            ),
            DataDirError::Io { path, source } => write!(
                f,
                "cannot use data directory {}: {source}; create it or pass another --data-dir",
                path.display()
            ),
        }
    }
}

impl std::error::Error for DataDirError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            DataDirError::NotADirectory { .. } => None,
            DataDirError::Io { source, .. } => Some(source),
        }
    }
}

/// Makes sure `dir` is a directory: creates it (and any missing parents)
/// with mode 0700 if it does not exist. An existing directory keeps its
/// mode: it may be the operator's own (the default is the current one).
///
/// # Errors
/// `NotADirectory` when `dir` is a file; `Io` when it cannot be created.
pub fn prepare(dir: &Path) -> Result<(), DataDirError> {
    let io_err = |source| DataDirError::Io {
        path: dir.to_path_buf(),
        source,
    };
    match fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => Ok(()),
        Ok(_) => Err(DataDirError::NotADirectory {
            path: dir.to_path_buf(),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => create_private_dir(dir).map_err(io_err),
        Err(e) => Err(io_err(e)),
    }
}

/// Creates `dir` and its missing parents with mode 0700 (less the umask);
/// an existing directory is left as it is.
///
/// # Errors
/// Any I/O error but "it exists already".
pub fn create_private_dir(dir: &Path) -> io::Result<()> {
    DirBuilder::new().recursive(true).mode(DIR_MODE).create(dir)
}

/// Opens an append-only data file (`log.txt`, the journals) to read and
/// append, creating it with mode 0600 (less the umask) if it is missing.
///
/// # Errors
/// The open's I/O error.
pub fn open_append_private(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .mode(FILE_MODE)
        .open(path)
}

/// What [`tighten`] did: the data files it made private (as shown to the
/// operator, with their old modes) and those it could not.
#[derive(Debug, Default)]
pub struct Tightened {
    pub changed: Vec<String>,
    pub failed: Vec<String>,
}

impl Tightened {
    /// One console line for everything that changed, if anything did.
    pub fn note(&self) -> Option<String> {
        if self.changed.is_empty() {
            return None;
        }
        Some(format!(
            "note: data files were readable by others; made them private to this user (files 0600, directories 0700): {}",
            self.changed.join(", ")
        ))
    }
}

/// The data files directly in the data directory.
const DATA_FILES: [&str; 7] = [
    LOG_FILE,
    LOG_INDEX_FILE,
    ROOMS_FILE,
    INDEX_FILE,
    ACCOUNTS_FILE,
    MARKERS_FILE,
    PENDING_FILE,
];

/// Takes the permissions of anyone but the owner away from the data files
/// in `dir` (`log.txt`, `log.idx`, `rooms.txt`, `files.txt`,
/// `accounts.txt`, `markers.txt`, `pending.txt`, `files/` and what is in
/// it). Symbolic links are left alone: changing a link's
/// mode would change whatever file it points to.
pub fn tighten(dir: &Path) -> Tightened {
    let mut done = Tightened::default();
    for name in DATA_FILES {
        tighten_one(&dir.join(name), name, &mut done);
    }
    let files = dir.join(FILES_DIR);
    tighten_one(&files, &format!("{FILES_DIR}/"), &mut done);
    let Ok(entries) = fs::read_dir(&files) else {
        return done;
    };
    let before = done.changed.len();
    for entry in entries.flatten() {
        tighten_one(&entry.path(), "", &mut done);
    }
    // The stored files' names are the uploaders' file names: counted, not listed.
    let inside = done.changed.len() - before;
    if inside > 0 {
        done.changed.truncate(before);
        done.changed
            .push(format!("{inside} shared file(s) in {FILES_DIR}/"));
    }
    done
}

/// Clears the group and other bits of `path`, a regular file or a
/// directory, if it has any; records what it did under `shown`.
fn tighten_one(path: &Path, shown: &str, done: &mut Tightened) {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return; // not there (yet): its store creates it private
    };
    if !(meta.is_file() || meta.is_dir()) {
        return;
    }
    let mode = meta.permissions().mode() & 0o7777;
    if mode & OTHERS == 0 {
        return;
    }
    match fs::set_permissions(path, Permissions::from_mode(mode & !OTHERS & 0o777)) {
        Ok(()) => done.changed.push(format!("{shown} (was {:o})", mode)),
        Err(e) => done.failed.push(format!(
            "warning: cannot make {} private: {e}; it stays readable by others",
            path.display()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("chat-datadir-{name}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    fn mode(path: &Path) -> u32 {
        fs::metadata(path).unwrap().permissions().mode() & 0o777
    }

    #[test]
    fn a_missing_directory_is_created_private_with_its_parents() {
        let top = temp("create");
        let dir = top.join("a").join("b");
        prepare(&dir).unwrap();
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&top.join("a")), 0o700);
        fs::remove_dir_all(&top).unwrap();
    }

    #[test]
    fn an_existing_directory_keeps_its_mode_and_a_file_is_refused() {
        let dir = temp("existing");
        fs::create_dir_all(&dir).unwrap();
        fs::set_permissions(&dir, Permissions::from_mode(0o755)).unwrap();
        prepare(&dir).unwrap();
        assert_eq!(mode(&dir), 0o755);
        let file = dir.join("file");
        fs::write(&file, "").unwrap();
        let err = prepare(&file).unwrap_err();
        assert!(matches!(err, DataDirError::NotADirectory { .. }), "{err:?}");
        assert!(
            err.to_string().contains("is a file, not a directory"),
            "{err}"
        );
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn loose_data_files_are_tightened_and_named_once() {
        let dir = temp("tighten");
        fs::create_dir_all(dir.join(FILES_DIR)).unwrap();
        let set = |path: &Path, mode: u32| {
            fs::set_permissions(path, Permissions::from_mode(mode)).unwrap();
        };
        for (name, m) in [
            (LOG_FILE, 0o644),
            (ROOMS_FILE, 0o600),
            (ACCOUNTS_FILE, 0o640),
            (PENDING_FILE, 0o604),
        ] {
            fs::write(dir.join(name), "").unwrap();
            set(&dir.join(name), m);
        }
        for name in ["1_a_x.txt", "2_b_secret-plans.txt"] {
            fs::write(dir.join(FILES_DIR).join(name), "").unwrap();
            set(&dir.join(FILES_DIR).join(name), 0o644);
        }
        set(&dir.join(FILES_DIR), 0o755);
        let done = tighten(&dir);
        assert_eq!(
            done.changed,
            [
                "log.txt (was 644)",
                "accounts.txt (was 640)",
                "pending.txt (was 604)",
                "files/ (was 755)",
                "2 shared file(s) in files/"
            ]
        );
        assert!(done.failed.is_empty(), "{:?}", done.failed);
        let note = done.note().unwrap();
        assert!(!note.contains("secret-plans"), "{note}");
        for name in [LOG_FILE, ROOMS_FILE, ACCOUNTS_FILE] {
            assert_eq!(mode(&dir.join(name)), 0o600, "{name}");
        }
        assert_eq!(mode(&dir.join(FILES_DIR)), 0o700);
        assert_eq!(mode(&dir.join(FILES_DIR).join("1_a_x.txt")), 0o600);
        assert!(tighten(&dir).note().is_none(), "nothing left to do");
        fs::remove_dir_all(&dir).unwrap();
    }
}
