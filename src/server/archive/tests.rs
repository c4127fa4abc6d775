//! Tests of the archive as the server will use it: real `log.txt` files
//! written by `MessageLog`, damaged the ways files get damaged.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::journal::tests::temp_dir;
use super::*;
use crate::server::history::{encode_line, FsyncPolicy, Kind, MessageLog, Record};

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

/// Pages back from the newest message to the first, 50 at a time, through
/// a room of 1,200 messages mixed with other rooms and whispers: every
/// message once, in order, and the last page says there is nothing before.
#[test]
fn paging_back_reaches_the_first_message_with_no_gap_and_no_repeat() {
    let fx = Fixture::new("paging");
    for i in 0..1200 {
        fx.append(message("Big", "ann", &format!("m{i}")));
        if i % 3 == 0 {
            fx.append(message("other", "bob", "noise"));
        }
        if i % 7 == 0 {
            fx.append(whisper("ann", "bob", "psst"));
        }
    }
    let mut seen: Vec<String> = Vec::new();
    let mut query = Query::Latest;
    loop {
        let page = fx.archive.page(&room("big"), query, 50).unwrap();
        assert!(!page.records.is_empty());
        let first = page.records[0].seq;
        let mut texts: Vec<String> = page.records.into_iter().map(|r| r.text).collect();
        texts.extend(seen);
        seen = texts;
        if !page.more_before {
            break;
        }
        query = Query::Before(Ref::Seq(first));
    }
    let want: Vec<String> = (0..1200).map(|i| format!("m{i}")).collect();
    assert_eq!(seen, want);
    // And forward again from the first, with the largest page allowed.
    let first = fx
        .archive
        .page(&room("BIG"), Query::After(Ref::Seq(0)), 9999)
        .unwrap();
    assert_eq!(first.records.len(), MAX_PAGE);
    assert!(first.more_after && !first.more_before);
}

/// The same after a restart, from the saved index, extended by what was
/// appended after it was saved (as after a crash).
#[test]
fn a_restart_uses_the_saved_index_and_extends_it() {
    let mut fx = Fixture::new("restart");
    for i in 0..300 {
        fx.append(message("lobby", "ann", &format!("a{i}")));
    }
    fx.archive.save_index().unwrap();
    for i in 300..400 {
        fx.append(message("lobby", "ann", &format!("a{i}")));
    }
    let opened = fx.restart();
    assert_eq!(opened.saved_index, SavedIndex::Used);
    assert_eq!(opened.records, 400);
    assert_eq!(opened.next_seq, 401);
    assert!(opened.scanned_bytes > 0 && opened.problems.is_empty());
    assert_eq!(fx.texts(&room("lobby"), Query::Latest, 2), ["a398", "a399"]);
    assert_eq!(fx.append(message("lobby", "bob", "after")), 401);
    assert_eq!(fx.texts(&room("lobby"), Query::Latest, 1), ["after"]);
}

/// A torn last line (the server died mid-write) is reported and not
/// indexed; `Opened::end` says where the log's writer must cut.
#[test]
fn a_torn_tail_is_reported_and_left_out() {
    let mut fx = Fixture::new("torn");
    for i in 0..5 {
        fx.append(message("lobby", "ann", &format!("t{i}")));
    }
    fx.archive.save_index().unwrap();
    fx.log = None;
    let whole = fs::metadata(fx.log_path()).unwrap().len();
    let mut bytes = fs::read(fx.log_path()).unwrap();
    bytes.extend_from_slice(b"6\t2026-11-21 10:15:0");
    fs::write(fx.log_path(), &bytes).unwrap();
    let (archive, opened) = Archive::open(&fx.log_path(), &fx.dir.join(INDEX_FILE)).unwrap();
    assert_eq!(opened.end, whole);
    assert_eq!(opened.next_seq, 6);
    assert_eq!(opened.problems.len(), 1);
    assert!(opened.problems[0].reason.contains("torn"));
    assert_eq!(opened.problems[0].line_no, 6);
    fx.archive = archive;
    // The log's writer cuts the torn line; appends continue where it was.
    let (log, _) = MessageLog::open(&fx.log_path(), FsyncPolicy::Never, 0).unwrap();
    fx.log = Some(log);
    assert_eq!(fx.append(message("lobby", "ann", "t5")), 6);
    let texts = fx.texts(&room("lobby"), Query::Latest, 50);
    assert_eq!(texts, ["t0", "t1", "t2", "t3", "t4", "t5"]);
}

/// Lines edited behind the server's back are never returned as something
/// they are not: a damaged line is dropped from history after a rebuild,
/// and a log whose lines moved is detected and re-indexed.
#[test]
fn an_edited_log_never_returns_wrong_records() {
    let mut fx = Fixture::new("edited");
    for i in 0..100 {
        fx.append(message("lobby", "ann", &format!("line {i:03}")));
        fx.append(message("den", "bob", &format!("den {i:03}")));
    }
    fx.archive.save_index().unwrap();
    // 1. Same length, broken checksum, while the server runs.
    let text = fs::read_to_string(fx.log_path()).unwrap();
    fs::write(fx.log_path(), text.replacen("line 050", "LINE 050", 1)).unwrap();
    let texts = fx.texts(&room("lobby"), Query::Latest, 60);
    assert_eq!(texts.len(), 60);
    assert!(
        !texts.iter().any(|t| t.contains("050")),
        "damaged line dropped"
    );
    assert_eq!(texts[0], "line 039");
    let notices = fx.archive.take_notices();
    assert!(
        notices.iter().any(|n| n.contains("index rebuilt")),
        "{notices:?}"
    );
    assert!(
        notices.iter().any(|n| n.contains("checksum")),
        "{notices:?}"
    );

    // 2. A line moved to another room with a valid checksum (same length).
    let text = fs::read_to_string(fx.log_path()).unwrap();
    let victim = text.lines().find(|l| l.contains("line 070")).unwrap();
    let mut record = crate::server::history::parse_line(victim).unwrap();
    record.room = "DEN_X".into();
    record.room.truncate(5);
    let forged = encode_line(&record);
    assert_eq!(forged.len(), victim.len() + 1);
    fs::write(
        fx.log_path(),
        text.replacen(&format!("{victim}\n"), &forged, 1),
    )
    .unwrap();
    let texts = fx.texts(&room("lobby"), Query::Latest, 40);
    assert!(!texts.iter().any(|t| t == "line 070"), "{texts:?}");
    assert_eq!(texts.len(), 40);

    // 3. A shorter line in the middle, then a restart: every later offset
    //    moved, so the saved index is refused and the log rescanned.
    fx.archive.save_index().unwrap();
    fx.log = None;
    let text = fs::read_to_string(fx.log_path()).unwrap();
    let victim = text.lines().find(|l| l.contains("den 010")).unwrap();
    fs::write(fx.log_path(), text.replacen(victim, "garbage", 1)).unwrap();
    let opened = fx.restart();
    assert!(
        matches!(opened.saved_index, SavedIndex::Unusable(_)),
        "{:?}",
        opened.saved_index
    );
    assert!(opened
        .problems
        .iter()
        .any(|p| p.reason.contains("not a record") || p.reason.contains("checksum")));
    let den = fx.texts(&room("den"), Query::Latest, 200);
    assert_eq!(den.len(), 99);
    assert!(!den.iter().any(|t| t == "den 010"));
    assert_eq!(den.last().unwrap(), "den 099");
}

/// A log cut shorter than its saved index (restored from a backup, say)
/// is rescanned, and a damaged index file is ignored.
#[test]
fn a_shorter_log_or_a_damaged_index_means_a_rescan() {
    let mut fx = Fixture::new("shorter");
    for i in 0..50 {
        fx.append(message("lobby", "ann", &format!("s{i}")));
    }
    fx.archive.save_index().unwrap();
    fx.log = None;
    let text = fs::read_to_string(fx.log_path()).unwrap();
    let cut: String = text.lines().take(20).map(|l| format!("{l}\n")).collect();
    fs::write(fx.log_path(), cut).unwrap();
    let opened = fx.restart();
    assert!(matches!(opened.saved_index, SavedIndex::Unusable(ref r) if r.contains("shorter")));
    assert_eq!(opened.next_seq, 21);
    assert_eq!(fx.texts(&room("lobby"), Query::Latest, 1), ["s19"]);
    let index_path = fx.dir.join(INDEX_FILE);
    let mut bytes = fs::read(&index_path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    fs::write(&index_path, bytes).unwrap();
    let opened = fx.restart();
    assert!(matches!(opened.saved_index, SavedIndex::Unusable(ref r) if r.contains("checksum")));
    assert_eq!(opened.records, 20);
}

/// A closed room's history ends with it: its namesake starts empty, and
/// search does not find the old room's messages either.
#[test]
fn a_closed_and_recreated_room_does_not_inherit_history() {
    let mut fx = Fixture::new("closed");
    fx.append(message("secret", "ann", "old plan"));
    fx.append(message("secret", "ann", "old plan two"));
    fx.append(closed("Secret"));
    assert!(fx
        .archive
        .page(&room("secret"), Query::Latest, 50)
        .unwrap()
        .records
        .is_empty());
    fx.append(message("SECRET", "eve", "new plan"));
    for _ in 0..2 {
        assert_eq!(fx.texts(&room("secret"), Query::Latest, 50), ["new plan"]);
        let found = fx
            .archive
            .search(&query("plan", "eve"), &|_| true, SearchLimits::default())
            .unwrap();
        let texts: Vec<_> = found.hits.iter().map(|h| h.record.text.as_str()).collect();
        assert_eq!(texts, ["new plan"]);
        fx.restart();
    }
}

/// Whispers are history for their two people only, both directions.
#[test]
fn whisper_history_is_for_the_pair() {
    let fx = Fixture::new("whispers");
    fx.append(whisper("ann", "Bob", "hi bob"));
    fx.append(whisper("bob", "ann", "hi ann"));
    fx.append(whisper("eve", "bob", "from eve"));
    fx.append(message("lobby", "ann", "public"));
    let pair = |me: &str, peer: &str| Target::Whispers {
        me: me.into(),
        peer: peer.into(),
    };
    assert_eq!(
        fx.texts(&pair("ANN", "bob"), Query::Latest, 50),
        ["hi bob", "hi ann"]
    );
    assert_eq!(fx.texts(&pair("bob", "ann"), Query::Latest, 50).len(), 2);
    assert_eq!(
        fx.texts(&pair("eve", "bob"), Query::Latest, 50),
        ["from eve"]
    );
    assert!(fx.texts(&pair("eve", "ann"), Query::Latest, 50).is_empty());
    let peers: Vec<String> = fx
        .archive
        .whisper_peers("bob")
        .into_iter()
        .map(|p| p.0)
        .collect();
    assert_eq!(peers, ["eve", "ann"]);
}

/// Time references find records by their dates.
#[test]
fn time_references_page_by_date() {
    let fx = Fixture::new("times");
    let base = parse_time("2026-11-21 00:00:00").unwrap();
    for i in 0..1000i64 {
        let mut r = message("lobby", "ann", &format!("at {i}"));
        r.date = crate::clock::format_utc(
            std::time::UNIX_EPOCH + std::time::Duration::from_micros((base + i * 1_000_000) as u64),
        );
        fx.append(r);
    }
    let t = |i: i64| Ref::Time(base + i * 1_000_000);
    assert_eq!(fx.archive.seq_at_time(base + 500 * 1_000_000).unwrap(), 501);
    assert_eq!(
        fx.archive.seq_at_time(base + 500 * 1_000_000 + 1).unwrap(),
        502
    );
    assert_eq!(fx.archive.seq_at_time(0).unwrap(), 1);
    assert_eq!(fx.archive.seq_at_time(i64::MAX).unwrap(), 1001);
    assert_eq!(
        fx.texts(&room("lobby"), Query::Before(t(500)), 2),
        ["at 498", "at 499"]
    );
    assert_eq!(
        fx.texts(&room("lobby"), Query::After(t(500)), 2),
        ["at 501", "at 502"]
    );
    assert_eq!(
        fx.texts(&room("lobby"), Query::Around(t(500)), 3),
        ["at 499", "at 500", "at 501"]
    );
    assert_eq!(
        fx.texts(&room("lobby"), Query::Between(t(10), Ref::Seq(14)), 50),
        ["at 11", "at 12"]
    );
    // Between with the later reference first gives the newest in between.
    assert_eq!(
        fx.texts(&room("lobby"), Query::Between(t(900), t(10)), 2),
        ["at 898", "at 899"]
    );
}

/// Unread counts follow the markers.
#[test]
fn unread_counts_come_from_markers() {
    let fx = Fixture::new("unread");
    let (markers, _) = Markers::open(&fx.dir).unwrap();
    let mut last = 0;
    for i in 0..10 {
        last = fx.append(message("lobby", "bob", &format!("u{i}")));
        if i == 3 {
            markers.advance("ann", "lobby", last).unwrap();
        }
        fx.append(message("den", "bob", "elsewhere"));
    }
    let marker = markers.get("ann", "lobby").unwrap();
    assert_eq!(fx.archive.count_after("Lobby", marker), 6);
    assert_eq!(fx.archive.count_after("lobby", last), 0);
    assert_eq!(fx.archive.count_after("nowhere", 0), 0);
    let missed = fx.texts(&room("lobby"), Query::After(Ref::Seq(marker)), 50);
    assert_eq!(missed.first().map(String::as_str), Some("u4"));
    assert_eq!(missed.len(), 6);
}

/// An append the index could not place (the file grew behind its back)
/// makes the next read rebuild instead of answering from a stale index.
#[test]
fn appends_written_behind_the_index_are_caught_up() {
    let fx = Fixture::new("behind");
    fx.append(message("lobby", "ann", "noted"));
    // Written without a note (a bug, or another writer).
    fx.append_unnoted(message("lobby", "ann", "unnoted"));
    fx.append(message("lobby", "ann", "noted again"));
    assert_eq!(
        fx.texts(&room("lobby"), Query::Latest, 10),
        ["noted", "unnoted", "noted again"]
    );
    assert!(fx.archive.take_notices().is_empty());
    // An offset that cannot be right: stale, then rebuilt on read.
    let stored = fx.append_unnoted(message("lobby", "ann", "misplaced"));
    fx.archive.note_append(&stored, 3, 10);
    assert_eq!(fx.texts(&room("lobby"), Query::Latest, 1), ["misplaced"]);
    assert!(!fx.archive.take_notices().is_empty());
}

fn query<'a>(text: &'a str, me: &'a str) -> SearchQuery<'a> {
    SearchQuery {
        text,
        me,
        room: None,
        before: None,
    }
}

/// Search finds only what the caller may read: rooms the predicate allows
/// and their own whispers; newest first, 50 a page, continuing to the end.
#[test]
fn search_respects_access_and_pages_to_the_end() {
    let fx = Fixture::new("search");
    for i in 0..120 {
        fx.append(message("lobby", "ann", &format!("Needle {i} in lobby")));
        fx.append(message("vault", "ann", &format!("needle {i} in vault")));
        fx.append(message("lobby", "bob", "hay"));
    }
    fx.append(whisper("ann", "bob", "a NEEDLE for bob"));
    fx.append(whisper("ann", "carol", "a needle for carol"));
    fx.append(message(
        "lobby",
        "needle",
        "the sender's name is not the text",
    ));
    let may_read = |room: &str| room == "lobby";
    let mut all = Vec::new();
    let mut before = None;
    let mut pages = 0;
    loop {
        let q = SearchQuery {
            before,
            ..query("nEEdle", "Bob")
        };
        let page = fx
            .archive
            .search(&q, &may_read, SearchLimits::default())
            .unwrap();
        assert!(page.hits.len() <= PAGE_HITS);
        pages += 1;
        all.extend(page.hits);
        match page.next {
            Some(next) => before = Some(next),
            None => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(all.len(), 121, "120 in the lobby and bob's own whisper");
    assert_eq!(all[0].record.text, "a NEEDLE for bob");
    assert_eq!(all[1].record.text, "Needle 119 in lobby");
    assert_eq!(all[120].record.text, "Needle 0 in lobby");
    assert!(all.windows(2).all(|w| w[0].record.seq > w[1].record.seq));
    assert!(all.iter().all(|h| h.record.room != "vault"));
    assert_eq!(all[1].snippet, "Needle 119 in lobby");
    // Only one room.
    let q = SearchQuery {
        room: Some("LOBBY"),
        ..query("needle 7", "bob")
    };
    let page = fx
        .archive
        .search(&q, &may_read, SearchLimits::default())
        .unwrap();
    let texts: Vec<_> = page.hits.iter().map(|h| h.record.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "Needle 79 in lobby",
            "Needle 78 in lobby",
            "Needle 77 in lobby",
            "Needle 76 in lobby",
            "Needle 75 in lobby",
            "Needle 74 in lobby",
            "Needle 73 in lobby",
            "Needle 72 in lobby",
            "Needle 71 in lobby",
            "Needle 70 in lobby",
            "Needle 7 in lobby"
        ]
    );
    assert_eq!(page.next, None);
}

/// A search that runs out of budget says where to go on, and going on
/// finds the rest with nothing missed or repeated.
#[test]
fn a_search_out_of_budget_continues_where_it_stopped() {
    let fx = Fixture::new("budget");
    for i in 0..30_000 {
        let text = if i % 1000 == 0 {
            format!("rare {i}")
        } else {
            format!("filler text number {i} with nothing to find")
        };
        fx.append(message("lobby", "ann", &text));
    }
    let limits = SearchLimits {
        max_bytes: 1,
        max_time: std::time::Duration::from_secs(60),
    };
    let mut found = Vec::new();
    let mut before = None;
    let mut requests = 0;
    loop {
        let q = SearchQuery {
            before,
            ..query("RARE", "ann")
        };
        let page = fx.archive.search(&q, &|_| true, limits).unwrap();
        requests += 1;
        found.extend(page.hits.into_iter().map(|h| h.record.text));
        match page.next {
            Some(next) => before = Some(next),
            None => break,
        }
    }
    assert!(requests > 2, "{requests}");
    let want: Vec<String> = (0..30)
        .rev()
        .map(|i| format!("rare {}", i * 1000))
        .collect();
    assert_eq!(found, want);
}

/// A search in a small room reads that room's records through the index,
/// pages and continues like a scan, and still applies the access rules.
#[test]
fn a_search_in_a_small_room_reads_only_that_room() {
    let fx = Fixture::new("room-search");
    fx.append(message("quiet", "ann", "match before the close"));
    fx.append(closed("quiet"));
    for i in 0..3000 {
        fx.append(message("busy", "bob", &format!("match {i} elsewhere")));
        if i % 40 == 0 {
            fx.append(message("Quiet", "ann", &format!("Match {i} in quiet")));
        }
    }
    let in_quiet = |before| SearchQuery {
        room: Some("QUIET"),
        before,
        ..query("match", "ann")
    };
    let page = fx
        .archive
        .search(&in_quiet(None), &|_| true, SearchLimits::default())
        .unwrap();
    assert_eq!(page.hits.len(), PAGE_HITS);
    assert_eq!(page.hits[0].record.text, "Match 2960 in quiet");
    let bytes_in_quiet = page.scanned_bytes;
    let rest = fx
        .archive
        .search(&in_quiet(page.next), &|_| true, SearchLimits::default())
        .unwrap();
    let texts: Vec<_> = rest.hits.iter().map(|h| h.record.text.as_str()).collect();
    assert_eq!(
        texts,
        [
            "Match 960 in quiet",
            "Match 920 in quiet",
            "Match 880 in quiet",
            "Match 840 in quiet",
            "Match 800 in quiet",
            "Match 760 in quiet",
            "Match 720 in quiet",
            "Match 680 in quiet",
            "Match 640 in quiet",
            "Match 600 in quiet",
            "Match 560 in quiet",
            "Match 520 in quiet",
            "Match 480 in quiet",
            "Match 440 in quiet",
            "Match 400 in quiet",
            "Match 360 in quiet",
            "Match 320 in quiet",
            "Match 280 in quiet",
            "Match 240 in quiet",
            "Match 200 in quiet",
            "Match 160 in quiet",
            "Match 120 in quiet",
            "Match 80 in quiet",
            "Match 40 in quiet",
            "Match 0 in quiet"
        ]
    );
    assert_eq!(rest.next, None, "the closed room's message is not found");
    // Only the room's own records were read: a small part of the log.
    let log_bytes = fs::metadata(fx.log_path()).unwrap().len();
    assert!(
        bytes_in_quiet * 20 < log_bytes,
        "{bytes_in_quiet} of {log_bytes}"
    );
    // A room the caller may not read gives nothing.
    let page = fx
        .archive
        .search(
            &in_quiet(None),
            &|room| room != "quiet",
            SearchLimits::default(),
        )
        .unwrap();
    assert!(page.hits.is_empty());
    // Out of budget after each batch: continuing finds all 75, once each.
    let limits = SearchLimits {
        max_bytes: 1,
        max_time: std::time::Duration::from_secs(60),
    };
    let mut found = Vec::new();
    let mut before = None;
    let mut requests = 0;
    loop {
        let page = fx
            .archive
            .search(&in_quiet(before), &|_| true, limits)
            .unwrap();
        requests += 1;
        found.extend(page.hits.into_iter().map(|h| h.record.seq));
        match page.next {
            Some(next) => before = Some(next),
            None => break,
        }
    }
    assert_eq!(found.len(), 75);
    assert!(requests > 3, "{requests}");
    assert!(found.windows(2).all(|w| w[0] > w[1]));
}

/// `recent` gives what `MessageLog::open` loads by scanning, from the index.
#[test]
fn recent_matches_what_the_log_loads() {
    let mut fx = Fixture::new("recent");
    for i in 0..700 {
        fx.append(message(["a", "B", "c"][i % 3], "ann", &format!("r{i}")));
        if i == 400 {
            fx.append(closed("c"));
        }
        if i % 50 == 0 {
            fx.append(whisper("ann", "bob", "w"));
        }
    }
    fx.log = None;
    for keep in [0, 1, 20, 600] {
        let (_, loaded) = MessageLog::open(&fx.log_path(), FsyncPolicy::Never, keep).unwrap();
        assert_eq!(
            fx.archive.recent(keep).unwrap(),
            loaded.recent,
            "keep {keep}"
        );
    }
    let saved = fx.archive.save_index().unwrap();
    assert!(saved.bytes > 0 && saved.locked < Duration::from_secs(10));
}

/// Appends, pages and searches at once, with a rebuild forced half-way:
/// no read fails or returns a record out of place, and at the end every
/// message is there once.
#[test]
fn concurrent_appends_reads_and_a_rebuild_stay_consistent() {
    use std::sync::atomic::{AtomicBool, Ordering};
    let fx = Fixture::new("concurrent");
    let archive = &fx.archive;
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        for reader in 0..2 {
            let done = &done;
            s.spawn(move || {
                let mut pages = 0;
                while !done.load(Ordering::Relaxed) || pages < 10 {
                    let page = archive
                        .page(&room("live"), Query::Latest, 30)
                        .expect("a page while appending");
                    assert!(page.records.windows(2).all(|w| w[0].seq < w[1].seq));
                    assert!(page.records.iter().all(|r| r.room == "live"));
                    if reader == 1 {
                        let found = archive
                            .search(&query("needle", "ann"), &|_| true, SearchLimits::default())
                            .expect("a search while appending");
                        assert!(found.hits.iter().all(|h| h.record.text.contains("needle")));
                    }
                    pages += 1;
                }
            });
        }
        for i in 0..1500 {
            fx.append(message("live", "ann", &format!("needle {i}")));
            fx.append(message("other", "bob", "hay"));
            if i == 700 {
                // An append the index cannot place: the next read rebuilds
                // while this thread goes on appending.
                let stored = fx.append_unnoted(message("live", "ann", "needle unplaced"));
                archive.note_append(&stored, 1, 1);
            }
        }
        done.store(true, Ordering::Relaxed);
    });
    let mut all = Vec::new();
    let mut query_at = Query::After(Ref::Seq(0));
    loop {
        let page = archive.page(&room("live"), query_at, MAX_PAGE).unwrap();
        let Some(last) = page.records.last() else {
            break;
        };
        query_at = Query::After(Ref::Seq(last.seq));
        all.extend(page.records.into_iter().map(|r| r.text));
    }
    assert_eq!(all.len(), 1501);
    assert_eq!(all.iter().filter(|t| *t == "needle unplaced").count(), 1);
    assert!(archive.take_notices().iter().any(|n| n.contains("rebuilt")));
}
