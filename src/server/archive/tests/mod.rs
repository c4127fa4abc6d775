//! Tests of the archive as the server will use it: real `log.txt` files
//! written by `MessageLog`, damaged the ways files get damaged. This file
//! holds the fixture; `pages` and `search` the tests.
#![cfg(test)]

use std::fs;
use std::path::{Path, PathBuf};

use super::journal::tests::temp_dir;
use super::*;
use crate::server::history::{encode_line, FsyncPolicy, Kind, MessageLog, Record};

mod pages;
mod search;

fn message(room: &str, from: &str, text: &str) -> Record {
    Record {
        seq: 0,
        date: "2026-11-21 10:15:02.123456".into(),
        kind: Kind::Message,
        room: room.into(),
        from: from.into(),
        to: "-".into(),
        text: text.into(),
    }
}

fn whisper(from: &str, to: &str, text: &str) -> Record {
    Record {
        kind: Kind::Whisper,
        room: "-".into(),
        to: to.into(),
        ..message("-", from, text)
    }
}

fn closed(room: &str) -> Record {
    Record {
        kind: Kind::Closed,
        ..message(room, "owner", "closed by its owner")
    }
}

/// A data directory with a log being written and an archive kept in step,
/// as the server will do it.
struct Fixture {
    dir: PathBuf,
    log: Option<MessageLog>,
    archive: Archive,
}

impl Fixture {
    fn new(name: &str) -> Fixture {
        let dir = temp_dir(name);
        let (log, archive) = open_both(&dir);
        Fixture {
            dir,
            log: Some(log),
            archive,
        }
    }

    fn log_path(&self) -> PathBuf {
        self.dir.join("log.txt")
    }

    /// Appends and notes under the log's lock, as the server does;
    /// returns the seq.
    fn append(&self, record: Record) -> u64 {
        let log = self.log.as_ref().unwrap();
        let mut writer = log.lock();
        let stored = writer.append(record).unwrap();
        let len = encode_line(&stored).len() as u64;
        let offset = fs::metadata(self.log_path()).unwrap().len() - len;
        self.archive.note_append(&stored, offset, len);
        stored.seq
    }

    /// Appends without telling the archive.
    fn append_unnoted(&self, record: Record) -> Record {
        self.log.as_ref().unwrap().lock().append(record).unwrap()
    }

    /// Closes everything and opens again, as a restart does.
    fn restart(&mut self) -> Opened {
        self.log = None;
        let (archive, opened) =
            Archive::open(&self.log_path(), &self.dir.join(INDEX_FILE)).unwrap();
        let (log, _) = MessageLog::open(&self.log_path(), FsyncPolicy::Never, 0).unwrap();
        self.archive = archive;
        self.log = Some(log);
        opened
    }

    fn texts(&self, target: &Target, query: Query, limit: usize) -> Vec<String> {
        let page = self.archive.page(target, query, limit).unwrap();
        page.records.into_iter().map(|r| r.text).collect()
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.dir);
    }
}

fn open_both(dir: &Path) -> (MessageLog, Archive) {
    let path = dir.join("log.txt");
    let (log, _) = MessageLog::open(&path, FsyncPolicy::Never, 0).unwrap();
    let (archive, _) = Archive::open(&path, &dir.join(INDEX_FILE)).unwrap();
    (log, archive)
}

fn room(name: &str) -> Target {
    Target::Room(name.into())
}

fn query<'a>(text: &'a str, me: &'a str) -> SearchQuery<'a> {
    SearchQuery {
        text,
        me,
        room: None,
        before: None,
    }
}
