//! Unit tests of the file store on a real temporary directory.
#![cfg(test)]

use super::*;

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
fn committed_files_get_increasing_ids_that_survive_a_reopen() {
    let dir = temp_dir("commit");
    let (store, warnings) = FileStore::open(&dir).unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    let mut ids = Vec::new();
    for content in [&b"hello"[..], b"", b"\0\0\xff"] {
        let mut partial = store.begin().unwrap();
        partial.write(content).unwrap();
        let e = store
            .commit(partial, "lobby", Instant::now(), "ntu", "../x.bin")
            .unwrap();
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
    assert_eq!(
        store
            .commit(partial, "lobby", Instant::now(), "ntu", "y")
            .unwrap()
            .id,
        4
    );
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
fn a_file_whose_index_line_was_damaged_is_kept() {
    let dir = temp_dir("damagedline");
    let (store, _) = FileStore::open(&dir).unwrap();
    for name in ["a", "b"] {
        let partial = store.begin().unwrap();
        store
            .commit(partial, "lobby", Instant::now(), "ntu", name)
            .unwrap();
    }
    drop(store);
    // Line 2 (file id:1) garbled on disk.
    let index_path = dir.join(INDEX_FILE);
    let text = fs::read_to_string(&index_path).unwrap();
    let damaged: Vec<&str> = text
        .lines()
        .enumerate()
        .map(|(i, l)| if i == 1 { "1\tgarbage" } else { l })
        .collect();
    fs::write(&index_path, damaged.join("\n")).unwrap();
    let (store, warnings) = FileStore::open(&dir).unwrap();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(warnings[1].contains("kept"), "{warnings:?}");
    assert_eq!(fs::read_dir(store.dir()).unwrap().count(), 2);
    assert!(store.get(1).is_none() && store.get(2).is_some());
    let partial = store.begin().unwrap();
    assert_eq!(
        store
            .commit(partial, "lobby", Instant::now(), "ntu", "c")
            .unwrap()
            .id,
        3
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_closed_rooms_files_are_never_offered_to_a_namesake() {
    let dir = temp_dir("retire");
    let (store, _) = FileStore::open(&dir).unwrap();
    let before = Instant::now();
    let partial = store.begin().unwrap();
    store.commit(partial, "Secret", before, "ntu", "a").unwrap();
    assert_eq!(store.retire_room("secret").unwrap(), 1);
    assert!(store.in_room("secret").is_empty());
    // An upload begun in the old room, committed after it closed.
    let partial = store.begin().unwrap();
    let late = store.commit(partial, "secret", before, "ntu", "b").unwrap();
    assert_eq!(late.room, "secret (closed)");
    // One begun afterwards, in a new room of that name, belongs to it.
    let partial = store.begin().unwrap();
    let fresh = store
        .commit(partial, "secret", Instant::now(), "bob", "c")
        .unwrap();
    assert_eq!(store.in_room("secret"), [fresh]);
    drop(store);
    let (store, _) = FileStore::open(&dir).unwrap();
    assert_eq!(
        store.in_room("secret").len(),
        1,
        "retired after a restart too"
    );
    let _ = fs::remove_dir_all(&dir);
}

#[test]
fn a_changed_size_is_reported_as_damage() {
    let dir = temp_dir("damage");
    let (store, _) = FileStore::open(&dir).unwrap();
    let mut partial = store.begin().unwrap();
    partial.write(b"0123456789").unwrap();
    let e = store
        .commit(partial, "lobby", Instant::now(), "ntu", "a")
        .unwrap();
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
