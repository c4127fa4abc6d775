//! History through the IRC door over real TCP: IRCv3 `CHATHISTORY`
//! (paging back to a room's first message, AFTER, AROUND, BETWEEN, LATEST
//! after a reference, msgid and timestamp references, TARGETS, private
//! conversations), its access rules, `MARKREAD` read markers, and `FAIL`
//! for every bad request with the connection kept.

mod support;

use chat::command::{AccountRequest, ChatRequest, Control, RoomRequest};
use chat::irc::Message;
use chat::protocol::Status;
use support::irc_clients::RawIrc;
use support::{Raw, Server, TempDir};

const FAST: &[&str] = &[
    "--no-replay",
    "--no-rate-limit",
    "--pbkdf2-iterations",
    "1000",
];
const HISTORY_CAPS: &str = "batch server-time message-tags draft/chathistory draft/read-marker";

fn is(m: &Message, command: &str) -> bool {
    m.command == command
}

/// An IRC client that asked for `caps` (and logged in with `PASS` when
/// given one), past the names of #lobby; with every line of its welcome.
fn irc(port: u16, nick: &str, password: Option<&str>) -> (RawIrc, Vec<Message>) {
    let mut irc = RawIrc::connect(port);
    irc.nick = nick.to_string();
    irc.send("CAP LS 302");
    if let Some(password) = password {
        irc.send(&format!("PASS {password}"));
    }
    irc.send(&format!("NICK {nick}"));
    irc.send(&format!("USER {nick} 0 * :test"));
    irc.send(&format!("CAP REQ :{HISTORY_CAPS}"));
    irc.send("CAP END");
    let lines = irc.collect_until("366 for #lobby", |m| {
        is(m, "366") && m.param(1) == Some("#lobby")
    });
    let ack = lines
        .iter()
        .find(|m| is(m, "CAP") && m.param(1) == Some("ACK"));
    assert_eq!(
        ack.and_then(|m| m.param(2)),
        Some(HISTORY_CAPS),
        "{lines:?}"
    );
    (irc, lines)
}

/// Registers `nick` with our protocol, then logs out (the nickname free).
fn register_account(port: u16, nick: &str) {
    let mut raw = Raw::login(port, nick);
    let reply = raw.request(AccountRequest::Register {
        password: format!("{nick}-secret"),
    });
    assert_eq!(reply.status_code(), Some(Status::OK), "{reply:?}");
    let bye = raw.request(Control::Quit);
    assert_eq!(bye.status_code(), Some(Status::OK), "{bye:?}");
}

/// Sends `command` and returns the lines of the batch that answers it,
/// checking its type and parameters (`kind`).
fn batch(irc: &mut RawIrc, command: &str, kind: &[&str]) -> Vec<Message> {
    irc.send(command);
    let start = irc.expect("BATCH + or FAIL", |m| is(m, "BATCH") || is(m, "FAIL"));
    assert!(is(&start, "BATCH"), "{command}: {start:?}");
    let id = start.params[0].trim_start_matches('+').to_string();
    assert_eq!(&start.params[1..], kind, "{command}");
    let end = format!("-{id}");
    let lines = irc.collect_until("BATCH -", |m| {
        is(m, "BATCH") && m.param(0) == Some(end.as_str())
    });
    let inner = lines[..lines.len() - 1].to_vec();
    for m in &inner {
        assert_eq!(m.tag("batch"), Some(id.as_str()), "{command}: {m:?}");
    }
    inner
}

/// A `chathistory` batch's texts, with their msgids and times.
fn page(irc: &mut RawIrc, command: &str, target: &str) -> Vec<(u64, String, String)> {
    batch(irc, command, &["chathistory", target])
        .iter()
        .map(|m| {
            assert!(is(m, "PRIVMSG"), "{m:?}");
            let seq = m.tag("msgid").expect("msgid").parse().expect("a number");
            let time = m.tag("time").expect("time").to_string();
            (seq, time, m.params[1].clone())
        })
        .collect()
}

/// Sends a `MARKREAD` and returns the answer (a `MARKREAD` or a `FAIL`).
fn markread(irc: &mut RawIrc, line: &str) -> Message {
    irc.send(line);
    irc.expect("MARKREAD", |m| is(m, "MARKREAD") || is(m, "FAIL"))
}

fn texts(page: &[(u64, String, String)]) -> Vec<String> {
    page.iter().map(|(_, _, text)| text.clone()).collect()
}

/// Sends `command` and returns the `FAIL` it gets.
fn fail(irc: &mut RawIrc, command: &str) -> Message {
    irc.send(command);
    let m = irc.expect("FAIL", |m| is(m, "FAIL") || is(m, "BATCH"));
    assert!(is(&m, "FAIL"), "{command}: {m:?}");
    m
}

/// Our client creates `room` and says `texts` there, with `bob` talking
/// in the lobby meanwhile so that the room's numbers have gaps.
fn fill(port: u16, room: &str, texts: &[String]) {
    let mut tom = Raw::login(port, "tom");
    let reply = tom.request(RoomRequest::Create {
        room: room.into(),
        private: false,
    });
    assert_eq!(reply.status_code(), Some(Status::OK), "{reply:?}");
    let mut bob = Raw::login(port, "bob");
    for (i, text) in texts.iter().enumerate() {
        tom.say(text);
        if i % 10 == 0 {
            bob.say(&format!("lobby {i}"));
        }
    }
}

/// 120 messages from our client, paged back over IRC from LATEST with
/// BEFORE msgid=: every one once, in order, to the room's first, then an
/// empty batch; the caps and 005 tokens that announce it.
#[test]
fn paging_back_with_before_reaches_the_first_message_without_gaps_or_repeats() {
    let dir = TempDir::new("irc-history-paging");
    let server = Server::start_with(dir.path(), FAST);
    let said: Vec<String> = (0..120).map(|i| format!("long {i}")).collect();
    fill(server.port, "long", &said);
    let (mut al, welcome) = irc(server.port, "al", None);
    let tokens: Vec<&String> = welcome
        .iter()
        .filter(|m| is(m, "005"))
        .flat_map(|m| &m.params)
        .collect();
    for token in ["CHATHISTORY=500", "MSGREFTYPES=msgid,timestamp"] {
        assert!(tokens.iter().any(|t| *t == token), "{token}: {tokens:?}");
    }

    let mut got = page(&mut al, "CHATHISTORY LATEST #long * 50", "#long");
    assert_eq!(texts(&got), said[70..]);
    loop {
        let oldest = got[0].0;
        let older = page(
            &mut al,
            &format!("CHATHISTORY BEFORE #long msgid={oldest} 50"),
            "#long",
        );
        if older.is_empty() {
            break;
        }
        assert!(older.len() <= 50);
        got.splice(0..0, older);
    }
    assert_eq!(texts(&got), said, "no gap, no repeat, first to last");
    let seqs: Vec<u64> = got.iter().map(|(seq, _, _)| *seq).collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{seqs:?}");
    assert!(
        got.iter().all(|(_, time, _)| time.ends_with('Z')),
        "server-time on every line"
    );
}

/// AFTER, AROUND, BETWEEN (both ways) and LATEST after a reference, by
/// msgid and by timestamp.
#[test]
fn after_around_between_and_timestamps_select_the_right_messages() {
    let dir = TempDir::new("irc-history-select");
    let server = Server::start_with(dir.path(), FAST);
    let said: Vec<String> = (0..30).map(|i| format!("m {i}")).collect();
    fill(server.port, "mid", &said);
    let (mut al, _) = irc(server.port, "al", None);
    let all = page(&mut al, "CHATHISTORY LATEST #mid * 100", "#mid");
    assert_eq!(texts(&all), said);
    let seq = |i: usize| all[i].0;
    let get = |al: &mut RawIrc, command: String| texts(&page(al, &command, "#mid"));
    let want = |range: std::ops::Range<usize>| said[range].to_vec();

    let after = get(
        &mut al,
        format!("CHATHISTORY AFTER #mid msgid={} 5", seq(9)),
    );
    assert_eq!(after, want(10..15));
    let around = get(
        &mut al,
        format!("CHATHISTORY AROUND #mid msgid={} 4", seq(15)),
    );
    assert_eq!(around, want(13..17));
    let between = format!(
        "CHATHISTORY BETWEEN #mid msgid={} msgid={} 10",
        seq(3),
        seq(8)
    );
    assert_eq!(get(&mut al, between), want(4..8));
    let backwards = format!(
        "CHATHISTORY BETWEEN #mid msgid={} msgid={} 2",
        seq(8),
        seq(3)
    );
    assert_eq!(get(&mut al, backwards), want(6..8), "the newest two");
    let latest = get(
        &mut al,
        format!("CHATHISTORY LATEST #mid msgid={} 10", seq(26)),
    );
    assert_eq!(latest, want(27..30));
    let piece = get(
        &mut al,
        format!("CHATHISTORY AFTER #mid msgid={}-1 1", seq(9)),
    );
    assert_eq!(piece, want(10..11), "a piece's msgid names its message");

    // Messages are dated to the microsecond and shown to the
    // millisecond, so several may share a time: a timestamp names its
    // whole millisecond. What each query must return follows from the
    // times the page showed.
    let time = |i: usize| all[i].1.clone();
    let t = time(15);
    let earlier: Vec<usize> = (0..30).filter(|&i| time(i) < t).collect();
    let later: Vec<usize> = (0..30).filter(|&i| time(i) > t).collect();
    let pick = |ix: &[usize]| ix.iter().map(|&i| said[i].clone()).collect::<Vec<_>>();
    let before = get(&mut al, format!("CHATHISTORY BEFORE #mid timestamp={t} 3"));
    assert_eq!(before, pick(&earlier[earlier.len().saturating_sub(3)..]));
    let after = get(&mut al, format!("CHATHISTORY AFTER #mid timestamp={t} 2"));
    assert_eq!(after, pick(&later[..later.len().min(2)]));
    let around = get(&mut al, format!("CHATHISTORY AROUND #mid timestamp={t} 1"));
    assert_eq!(
        around,
        pick(&[earlier.len()]),
        "the first message of that millisecond"
    );
    let between =
        format!("CHATHISTORY BETWEEN #mid timestamp=2000-01-01T00:00:00.000Z timestamp={t} 100");
    assert_eq!(get(&mut al, between), pick(&earlier));
    let whole_second = &t[..19];
    let by_second = get(
        &mut al,
        format!("CHATHISTORY AFTER #mid timestamp={whole_second}Z 100"),
    );
    let after_second: Vec<usize> = (0..30).filter(|&i| time(i)[..19] > *whole_second).collect();
    assert_eq!(
        by_second,
        pick(&after_second),
        "a time to the second names that second"
    );
    let future = get(
        &mut al,
        "CHATHISTORY AFTER #mid timestamp=2999-01-01T00:00:00.000Z 10".into(),
    );
    assert!(future.is_empty(), "{future:?}");
}

/// A private room's history only for who may enter; private messages only
/// for their two people, and only for registered nicknames; `*` and
/// TARGETS.
#[test]
fn private_rooms_and_private_messages_are_for_their_people() {
    let dir = TempDir::new("irc-history-access");
    let server = Server::start_with(dir.path(), FAST);
    register_account(server.port, "bob");
    let mut tom = Raw::login(server.port, "tom");
    let reply = tom.request(RoomRequest::Create {
        room: "den".into(),
        private: true,
    });
    assert_eq!(reply.status_code(), Some(Status::OK), "{reply:?}");
    tom.say("secret plans");
    // bob is away: the message waits for him.
    let reply = tom.request(ChatRequest::Whisper {
        to: "bob".into(),
        text: "for bob only".into(),
    });
    assert_eq!(reply.status_code(), Some(Status::OK), "{reply:?}");

    let (mut eve, _) = irc(server.port, "eve", None);
    let m = fail(&mut eve, "CHATHISTORY LATEST #den * 10");
    assert_eq!(
        &m.params[..4],
        ["CHATHISTORY", "INVALID_TARGET", "LATEST", "#den"]
    );
    let m = fail(&mut eve, "CHATHISTORY LATEST tom * 10");
    assert_eq!(
        &m.params[..4],
        ["CHATHISTORY", "INVALID_TARGET", "LATEST", "tom"]
    );
    assert!(m.params[4].contains("registered nicknames only"), "{m:?}");
    let m = fail(&mut eve, "CHATHISTORY BEFORE * msgid=100 10");
    assert_eq!(m.params[1], "INVALID_TARGET");

    let (mut bob, _) = irc(server.port, "bob", Some("bob-secret"));
    let with_tom = batch(
        &mut bob,
        "CHATHISTORY LATEST tom * 10",
        &["chathistory", "tom"],
    );
    assert_eq!(with_tom.len(), 1, "{with_tom:?}");
    assert_eq!(with_tom[0].source_nick(), Some("tom"));
    assert_eq!(&with_tom[0].params, &["bob", "for bob only"]);
    bob.send("PRIVMSG tom :got it");
    let with_tom = batch(
        &mut bob,
        "CHATHISTORY LATEST tom * 10",
        &["chathistory", "tom"],
    );
    let lines: Vec<(Option<&str>, &str, &str)> = with_tom
        .iter()
        .map(|m| (m.source_nick(), m.params[0].as_str(), m.params[1].as_str()))
        .collect();
    assert_eq!(
        lines,
        [
            (Some("tom"), "bob", "for bob only"),
            (Some("bob"), "tom", "got it")
        ]
    );
    // Nor is the private room bob's to read.
    let m = fail(&mut bob, "CHATHISTORY LATEST #den * 10");
    assert_eq!(m.params[1], "INVALID_TARGET");

    bob.send("PRIVMSG #lobby :hello lobby");
    let targets = batch(
        &mut bob,
        "CHATHISTORY TARGETS timestamp=2999-01-01T00:00:00.000Z timestamp=2000-01-01T00:00:00.000Z 10",
        &["draft/chathistory-targets"],
    );
    let names: Vec<&str> = targets
        .iter()
        .map(|m| {
            assert_eq!(m.params[0], "TARGETS", "{m:?}");
            assert!(m.params[2].ends_with('Z'), "{m:?}");
            m.params[1].as_str()
        })
        .collect();
    assert_eq!(names, ["#lobby", "tom"], "newest first, no #den");
}

/// MARKREAD for a registered user: `*` until set, set to a message's time,
/// never moved back, kept across connections and said on JOIN before the
/// names (entering shows the news, so it is read up to the newest then);
/// guests are refused.
#[test]
fn markread_sets_and_gets_a_registered_users_marker_and_refuses_guests() {
    let dir = TempDir::new("irc-history-markread");
    let server = Server::start_with(dir.path(), FAST);
    register_account(server.port, "ann");
    let said: Vec<String> = (0..5).map(|i| format!("news {i}")).collect();
    fill(server.port, "news", &said);
    let (mut ann, welcome) = irc(server.port, "ann", Some("ann-secret"));
    let lobby_marker = welcome.iter().position(|m| is(m, "MARKREAD"));
    let names_end = welcome.iter().position(|m| is(m, "366"));
    assert!(
        lobby_marker.is_some() && lobby_marker < names_end,
        "{welcome:?}"
    );
    let all = page(&mut ann, "CHATHISTORY LATEST #news * 10", "#news");
    let time = |i: usize| format!("timestamp={}", all[i].1);

    assert_eq!(markread(&mut ann, "MARKREAD #news").params, ["#news", "*"]);
    let set = markread(&mut ann, &format!("MARKREAD #news {}", time(2)));
    assert_eq!(set.params, ["#news".to_string(), time(2)]);
    let back = markread(&mut ann, &format!("MARKREAD #news {}", time(0)));
    assert_eq!(back.params, ["#news".to_string(), time(2)], "never back");
    let got = markread(&mut ann, "MARKREAD #NEWS");
    assert_eq!(got.params, ["#NEWS".to_string(), time(2)]);
    let nick = markread(&mut ann, "MARKREAD tom");
    assert_eq!(&nick.params[..3], ["MARKREAD", "INVALID_PARAMS", "tom"]);
    ann.send("JOIN #news");
    let joined = ann.collect_until("366", |m| is(m, "366"));
    let marker = joined
        .iter()
        .find(|m| is(m, "MARKREAD"))
        .expect("MARKREAD on JOIN");
    assert_eq!(marker.params, ["#news".to_string(), time(4)]);
    ann.send("QUIT");
    ann.expect_closed();

    let (mut again, _) = irc(server.port, "ann", Some("ann-secret"));
    let got = markread(&mut again, "MARKREAD #news");
    assert_eq!(got.params, ["#news".to_string(), time(4)], "kept");

    let (mut guest, _) = irc(server.port, "guest", None);
    guest.send("JOIN #news");
    let joined = guest.collect_until("366", |m| is(m, "366"));
    let marker = joined
        .iter()
        .find(|m| is(m, "MARKREAD"))
        .expect("MARKREAD on JOIN");
    assert_eq!(marker.params, ["#news", "*"]);
    for line in [
        "MARKREAD #news".to_string(),
        format!("MARKREAD #news {}", time(1)),
    ] {
        let m = fail(&mut guest, &line);
        assert_eq!(&m.params[..3], ["MARKREAD", "ACCOUNT_REQUIRED", "#news"]);
        assert!(m.params[3].contains("registered nicknames only"), "{m:?}");
    }
}

/// Every malformed or impossible request gets a `FAIL` naming what was
/// wrong, and the connection carries on.
#[test]
fn bad_requests_get_fail_and_the_connection_stays() {
    let dir = TempDir::new("irc-history-bad");
    let server = Server::start_with(dir.path(), FAST);
    let (mut al, _) = irc(server.port, "al", None);
    let long = "x".repeat(400);
    let cases: Vec<(String, &str)> = vec![
        ("CHATHISTORY".into(), "NEED_MORE_PARAMS"),
        ("CHATHISTORY SIDEWAYS #lobby * 5".into(), "UNKNOWN_COMMAND"),
        ("CHATHISTORY BEFORE #lobby".into(), "NEED_MORE_PARAMS"),
        (
            "CHATHISTORY BETWEEN #lobby msgid=1 5".into(),
            "NEED_MORE_PARAMS",
        ),
        (
            "CHATHISTORY BEFORE #lobby msgid=x 5".into(),
            "INVALID_PARAMS",
        ),
        ("CHATHISTORY BEFORE #lobby * 5".into(), "INVALID_PARAMS"),
        (
            "CHATHISTORY BEFORE #lobby msgid=1 0".into(),
            "INVALID_PARAMS",
        ),
        (
            "CHATHISTORY BEFORE #lobby msgid=1 -3".into(),
            "INVALID_PARAMS",
        ),
        (
            "CHATHISTORY BEFORE #lobby msgid=99999999999999999999 5".into(),
            "INVALID_PARAMS",
        ),
        (
            "CHATHISTORY BEFORE #lobby timestamp=2026-02-30T00:00:00.000Z 5".into(),
            "INVALID_PARAMS",
        ),
        (
            "CHATHISTORY BEFORE #lobby timestamp=yesterday 5".into(),
            "INVALID_PARAMS",
        ),
        (
            "CHATHISTORY TARGETS msgid=1 msgid=2 5".into(),
            "INVALID_PARAMS",
        ),
        (
            "CHATHISTORY LATEST #nosuchroom * 5".into(),
            "INVALID_TARGET",
        ),
        ("CHATHISTORY LATEST #bad.name * 5".into(), "INVALID_TARGET"),
        (format!("CHATHISTORY LATEST #{long} * 5"), "INVALID_TARGET"),
        (format!("CHATHISTORY LATEST {long} * 5"), "INVALID_TARGET"),
        ("CHATHISTORY LATEST é * 5".into(), "INVALID_TARGET"),
        ("MARKREAD".into(), "NEED_MORE_PARAMS"),
        ("MARKREAD #lobby *".into(), "INVALID_PARAMS"),
        ("MARKREAD #lobby msgid=3".into(), "INVALID_PARAMS"),
    ];
    for (line, code) in &cases {
        let m = fail(&mut al, line);
        assert_eq!(m.params[1], *code, "{line}: {m:?}");
        let last = m.params.last().expect("a description");
        assert!(last.len() > 10, "{line}: a reason in words: {m:?}");
    }
    // A msgid beyond the newest is no error: nothing is after it.
    let after = batch(
        &mut al,
        "CHATHISTORY AFTER #lobby msgid=9999999999999999999 5",
        &["chathistory", "#lobby"],
    );
    assert!(after.is_empty());
    al.send("PING still-here");
    al.expect("PONG", |m| {
        is(m, "PONG") && m.param(1) == Some("still-here")
    });
}

/// A burst of messages (one write, stored as one step) is in the history
/// like any other: the latest page has it whole and in order, and a page
/// before one of its messages starts at the right line.
#[test]
fn a_burst_is_in_the_history_line_by_line() {
    let dir = TempDir::new("irc-history-burst");
    let server = Server::start_with(dir.path(), &["--no-replay", "--no-rate-limit"]);
    let (mut al, _) = irc(server.port, "al", None);
    let (mut cy, _) = irc(server.port, "cy", None);
    let burst: String = (0..40)
        .map(|i| format!("PRIVMSG #lobby :burst {i}\r\n"))
        .collect();
    al.send_bytes(burst.as_bytes());
    cy.expect_privmsg("burst 39");
    let latest = page(&mut cy, "CHATHISTORY LATEST #lobby * 100", "#lobby");
    let want: Vec<String> = (0..40).map(|i| format!("burst {i}")).collect();
    assert_eq!(texts(&latest), want);
    let twentieth = latest[20].0;
    let before = page(
        &mut cy,
        &format!("CHATHISTORY BEFORE #lobby msgid={twentieth} 5"),
        "#lobby",
    );
    assert_eq!(texts(&before), want[15..20]);
}
