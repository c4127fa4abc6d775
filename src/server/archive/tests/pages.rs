//! History pages, time references, unread counts, and how the index
//! copes with a log that changed behind its back.
#![cfg(test)]

use std::fs;
use std::time::Duration;

use super::*;
use crate::server::history::{encode_line, FsyncPolicy, MessageLog};

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
    // The same for a room only the unplaced record knows of.
    let stored = fx.append_unnoted(message("fresh", "ann", "first in fresh"));
    fx.archive.note_append(&stored, 3, 10);
    assert_eq!(
        fx.texts(&room("fresh"), Query::Latest, 5),
        ["first in fresh"]
    );
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
