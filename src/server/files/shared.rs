//! The file store as one node of a cluster: the [`SharedFiles`] hook a
//! cluster gives the store (ids unique across nodes, the index and the
//! bytes where every node reaches them), and what the store does with it:
//! taking in the entries other nodes recorded, and fetching the bytes of a
//! file this node has not stored yet the first time someone downloads it.

use std::fs;
use std::sync::Arc;

use super::{Entry, FileError, FileStore, PartialFile};

/// Where the nodes of a cluster share their files (see
/// `server::cluster::RedisFiles`). Every call may fail when the cluster is
/// unreachable; the reason is for the console and the user.
pub trait SharedFiles: Send + Sync {
    /// An id no node has given or will give, at least `floor` (the store's
    /// own next id, so ids from before the cluster are never reused).
    fn new_id(&self, floor: u64) -> Result<u64, String>;
    /// Puts the `len` bytes of `file` (read from its start) where every
    /// node can fetch them as file `id`.
    fn put(&self, id: u64, file: &mut fs::File, len: u64) -> Result<(), String>;
    /// Records `entry` for every node, and tells them.
    fn record(&self, entry: &Entry) -> Result<(), String>;
    /// Copies the `size` bytes of file `id` into `out`.
    fn fetch(&self, id: u64, size: u64, out: &mut PartialFile) -> Result<(), String>;
}

impl FileStore {
    /// Shares the files through `shared` from now on (cluster mode).
    pub fn share(&self, shared: Arc<dyn SharedFiles>) {
        let _ = self.shared.set(shared);
    }

    /// Every entry, by id (to write back to a cluster that lost its data).
    pub fn entries(&self) -> Vec<Entry> {
        self.lock().entries.values().cloned().collect()
    }

    /// True when this node holds file `entry`'s bytes.
    pub fn has_bytes(&self, entry: &Entry) -> bool {
        self.dir.join(&entry.stored).is_file()
    }

    /// Takes in an entry another node recorded: a new file, or a file of a
    /// room closed since (it is then retired here too; a retired file is
    /// never offered again). Returns true for a file new here, so the
    /// caller tells its room.
    ///
    /// # Errors
    /// `FileError::Io` when `files.txt` cannot be rewritten: the entry is
    /// then known for this run only, and taken in again at the next sync.
    pub fn adopt(&self, entry: Entry) -> Result<bool, FileError> {
        let mut index = self.lock();
        let new = match index.entries.get(&entry.id) {
            None => true,
            Some(known) if known.room != entry.room && super::is_retired(&entry.room) => false,
            Some(_) => return Ok(false),
        };
        index.next_id = index.next_id.max(entry.id + 1);
        index.entries.insert(entry.id, entry);
        self.save(&index)?;
        Ok(new)
    }

    /// Fetches file `entry`'s bytes from the cluster into `files/` under
    /// its stored name, checking their size and digest. Two downloads
    /// racing each fetch a copy; the rename makes one of them the file.
    pub(super) fn fetch_bytes(&self, entry: &Entry) -> Result<(), FileError> {
        let Some(shared) = self.shared.get() else {
            return Ok(());
        };
        let mut partial = self.begin()?;
        shared
            .fetch(entry.id, entry.size, &mut partial)
            .map_err(|why| FileError::Unavailable { id: entry.id, why })?;
        if partial.written != entry.size || partial.digest() != entry.sha256 {
            return Err(FileError::Unavailable {
                id: entry.id,
                why: "the copy in the cluster does not match its size and digest".into(),
            });
        }
        partial
            .file
            .sync_all()
            .map_err(FileError::io("write", &partial.path))?;
        let path = self.dir.join(&entry.stored);
        fs::rename(&partial.path, &path).map_err(FileError::io("rename", &partial.path))?;
        partial.kept = true;
        super::sync_dir(&self.dir);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::sha256;

    fn entry(id: u64, room: &str) -> Entry {
        Entry {
            id,
            date: "2026-11-21 10:15:02.123456".into(),
            room: room.into(),
            uploader: "ann".into(),
            size: 1,
            sha256: sha256(b"x"),
            stored: format!("{id}_0123456789abcdef_a"),
            name: "a".into(),
        }
    }

    #[test]
    fn entries_from_other_nodes_are_taken_once_and_retired_never_revived() {
        let dir = std::env::temp_dir().join(format!(
            "chat-files-adopt-{}-{:?}",
            std::process::id(),
            std::time::Instant::now()
        ));
        fs::create_dir_all(&dir).unwrap();
        let (store, _) = FileStore::open(&dir).unwrap();
        assert!(store.adopt(entry(7, "lobby")).unwrap(), "new here");
        assert!(!store.adopt(entry(7, "lobby")).unwrap(), "known");
        assert_eq!(store.in_room("lobby").len(), 1);
        assert!(!store.adopt(entry(7, "lobby (closed)")).unwrap());
        assert!(store.in_room("lobby").is_empty(), "retired here too");
        assert!(!store.adopt(entry(7, "lobby")).unwrap());
        assert!(store.in_room("lobby").is_empty(), "never offered again");
        // Local ids go on past what other nodes gave, and survive a reopen.
        drop(store);
        let (store, _) = FileStore::open(&dir).unwrap();
        let partial = store.begin().unwrap();
        let next = store
            .commit(partial, "lobby", std::time::Instant::now(), "bob", "b")
            .unwrap();
        assert_eq!(next.id, 8);
        assert!(!store.has_bytes(&entry(7, "lobby")));
        let _ = fs::remove_dir_all(&dir);
    }
}
