//! Search: access rules, paging, budgets, room searches; and everything
//! at once with a rebuild in the middle.
#![cfg(test)]

use super::*;

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
