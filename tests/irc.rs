//! The IRC door over real TCP against the real server: registration (CAP,
//! SASL PLAIN, PASS, our nickname rules), messages across protocols in one
//! order, whispers, `/me`, long texts split without loss, IRCv3 tags, echo
//! and history batches, shared files, and the hardening every door has.
//! Channels, modes and queries are in `irc_channels.rs`.

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;

use chat::command::{AccountRequest, ChatRequest, Control, Request};
use chat::event::{Event, Parting};
use chat::irc::Message;
use chat::protocol::{header, Status};
use support::irc_clients::RawIrc;
use support::{Raw, Server, TempDir};

/// An IRC client registered as `nick`, past the names of `#lobby`.
fn in_lobby(port: u16, nick: &str) -> RawIrc {
    let mut irc = RawIrc::register(port, nick);
    irc.expect("the names of #lobby (366)", |m| {
        m.command == "366" && m.param(1) == Some("#lobby")
    });
    irc
}

/// Connects and registers with `caps` requested, past the names of #lobby.
fn with_caps(port: u16, nick: &str, caps: &str) -> RawIrc {
    let mut irc = RawIrc::connect(port);
    irc.nick = nick.to_string();
    irc.send("CAP LS 302");
    irc.send(&format!("NICK {nick}"));
    irc.send(&format!("USER {nick} 0 * :test"));
    irc.send(&format!("CAP REQ :{caps}"));
    let ack = irc.expect("CAP ACK", |m| {
        m.command == "CAP" && m.param(1) == Some("ACK")
    });
    assert_eq!(ack.param(2), Some(caps));
    irc.send("CAP END");
    irc.expect("366 for #lobby", |m| m.command == "366");
    irc
}

fn is(m: &Message, command: &str) -> bool {
    m.command == command
}

/// Registration ends with 001-005 (our limits in 005), LUSERS, the MOTD,
/// and the user in #lobby as everyone: its JOIN, then its names.
#[test]
fn registration_welcomes_then_puts_the_user_in_the_lobby() {
    let dir = TempDir::new("irc-welcome");
    let server = Server::start(dir.path());
    let _bo = Raw::login(server.port, "bo");
    let mut al = RawIrc::connect(server.port);
    al.send("NICK al");
    al.send("USER al 0 * :Al Real");
    let lines = al.collect_until("366", |m| is(m, "366"));
    let codes: Vec<&str> = lines.iter().map(|m| m.command.as_str()).collect();
    for code in [
        "001", "002", "003", "004", "005", "251", "375", "376", "JOIN", "353",
    ] {
        assert!(codes.contains(&code), "{code} missing from {codes:?}");
    }
    let isupport: Vec<&String> = lines
        .iter()
        .filter(|m| is(m, "005"))
        .flat_map(|m| &m.params)
        .collect();
    for token in [
        "NICKLEN=8",
        "CHANTYPES=#",
        "CASEMAPPING=ascii",
        "PREFIX=(o)@",
    ] {
        assert!(
            isupport.iter().any(|t| *t == token),
            "{token}: {isupport:?}"
        );
    }
    assert!(isupport.iter().any(|t| t.starts_with("CHANMODES=")));
    let join = lines.iter().find(|m| is(m, "JOIN")).expect("JOIN");
    assert_eq!(join.source.as_deref(), Some("al!al@chat.local"));
    assert_eq!(join.param(0), Some("#lobby"));
    let names = lines.iter().find(|m| is(m, "353")).expect("353");
    let mut listed: Vec<&str> = names.params[3].split(' ').collect();
    listed.sort_unstable();
    assert_eq!(listed, ["al", "bo"], "IRC and chat users alike");
    // The order: the welcome first, the lobby last.
    let pos = |c: &str| codes.iter().position(|x| *x == c).expect(c);
    assert!(pos("001") < pos("005") && pos("005") < pos("376") && pos("376") < pos("JOIN"));
    assert!(pos("JOIN") < pos("353"));
}

/// Our nickname rules: at most 8 characters (432 with the reason), unique
/// across every protocol (433); a client then tries another nickname.
#[test]
fn nicknames_follow_our_rules_across_protocols() {
    let dir = TempDir::new("irc-nick-rules");
    let server = Server::start(dir.path());
    let _bo = Raw::login(server.port, "bo");
    let mut irc = RawIrc::connect(server.port);
    irc.send("NICK abcdefghi");
    let m = irc.expect("432", |m| is(m, "432"));
    assert_eq!(m.param(1), Some("abcdefghi"));
    assert!(m.param(2).unwrap().contains("at most 8"), "{m:?}");
    irc.send("NICK BO");
    irc.send("USER x 0 * :x");
    let m = irc.expect("433", |m| is(m, "433"));
    assert_eq!(m.param(1), Some("bo"), "{m:?}");
    assert!(m.param(2).unwrap().contains("already online"), "{m:?}");
    irc.send("NICK bo2");
    let m = irc.expect("001", |m| is(m, "001"));
    assert_eq!(m.param(0), Some("bo2"));
    // And after registration, renaming onto a chat user's nickname.
    irc.send("NICK Bo");
    let m = irc.expect("433", |m| is(m, "433"));
    assert!(m.param(2).unwrap().contains("already online"), "{m:?}");
}

/// Registers `nick` with `password` over our own protocol, then logs out.
fn register_account(port: u16, nick: &str, password: &str) {
    let mut raw = Raw::login(port, nick);
    let reply = raw.request(AccountRequest::Register {
        password: password.into(),
    });
    assert_eq!(reply.status_code(), Some(Status::OK), "{reply:?}");
    // Offline once the reply to QUIT is in: the nickname is free.
    let bye = raw.request(Control::Quit);
    assert_eq!(bye.status_code(), Some(Status::OK), "{bye:?}");
}

/// A registered nickname only with its password: without one, 433 and a
/// notice saying why (no login); `PASS` right logs in, `PASS` wrong is 464.
#[test]
fn a_registered_nickname_needs_its_password() {
    let dir = TempDir::new("irc-pass");
    let server = Server::start_with(dir.path(), &["--no-replay", "--pbkdf2-iterations", "1000"]);
    register_account(server.port, "ann", "secret-pw");

    let mut irc = RawIrc::connect(server.port);
    irc.send("NICK ann");
    irc.send("USER ann 0 * :x");
    let m = irc.expect("433", |m| is(m, "433"));
    assert!(m.param(2).unwrap().contains("registered nickname"), "{m:?}");
    let notice = irc.expect("NOTICE", |m| is(m, "NOTICE"));
    assert!(
        notice.param(1).unwrap().contains("SASL PLAIN, or PASS"),
        "{notice:?}"
    );
    irc.send("NICK guest1");
    irc.expect("001 as a guest", |m| {
        is(m, "001") && m.param(0) == Some("guest1")
    });

    let mut wrong = RawIrc::connect(server.port);
    wrong.send("PASS not-it");
    wrong.send("NICK ann");
    wrong.send("USER ann 0 * :x");
    let m = wrong.expect("464", |m| is(m, "464"));
    assert!(m.param(1).unwrap().contains("wrong password"), "{m:?}");

    let mut right = RawIrc::connect(server.port);
    right.send("PASS secret-pw");
    right.send("NICK ann");
    right.send("USER ann 0 * :x");
    right.expect("001 as ann", |m| is(m, "001") && m.param(0) == Some("ann"));
    right.send("WHOIS ann");
    let m = right.expect("330", |m| is(m, "330"));
    assert_eq!(m.param(2), Some("ann"));
}

/// SASL PLAIN as irssi and weechat do it: 900 and 903, and the nickname
/// is the account's; a wrong password is 904 and no login.
#[test]
fn sasl_plain_logs_in_to_an_account() {
    let dir = TempDir::new("irc-sasl");
    let server = Server::start_with(dir.path(), &["--no-replay", "--pbkdf2-iterations", "1000"]);
    register_account(server.port, "Ann", "secret-pw");
    let plain =
        |user: &str, pw: &str| chat::base64::encode(format!("{user}\0{user}\0{pw}").as_bytes());

    let mut irc = RawIrc::connect(server.port);
    irc.send("CAP LS 302");
    let ls = irc.expect("CAP LS", |m| is(m, "CAP"));
    assert!(ls.params.last().unwrap().contains("sasl=PLAIN"), "{ls:?}");
    irc.send("NICK ann");
    irc.send("USER ann 0 * :x");
    irc.send("CAP REQ :sasl");
    irc.expect("ACK", |m| is(m, "CAP") && m.param(1) == Some("ACK"));
    irc.send("AUTHENTICATE PLAIN");
    irc.expect("AUTHENTICATE +", |m| is(m, "AUTHENTICATE"));
    irc.send(&format!("AUTHENTICATE {}", plain("ann", "wrong")));
    let m = irc.expect("904", |m| is(m, "904"));
    assert!(m.param(1).unwrap().contains("wrong password"), "{m:?}");
    irc.send("AUTHENTICATE PLAIN");
    irc.expect("AUTHENTICATE +", |m| is(m, "AUTHENTICATE"));
    irc.send(&format!("AUTHENTICATE {}", plain("ann", "secret-pw")));
    let m = irc.expect("900", |m| is(m, "900"));
    assert_eq!(m.param(2), Some("Ann"));
    irc.expect("903", |m| is(m, "903"));
    irc.send("CAP END");
    // The nickname is the account's, as registered.
    irc.expect("001", |m| is(m, "001") && m.param(0) == Some("Ann"));
}

/// An IRC client and our own client in one room: every message reaches
/// every member, whatever its client, in one order (the order of log.txt:
/// the Seq of our protocol is the msgid of IRC).
#[test]
fn irc_and_chat_clients_share_a_room_in_one_order() {
    let dir = TempDir::new("irc-order");
    let server = Server::start(dir.path());
    let mut al = with_caps(server.port, "al", "message-tags echo-message");
    let mut bo = Raw::login(server.port, "bo");
    let mut watcher_irc = with_caps(server.port, "cy", "message-tags");
    let mut watcher_chat = Raw::login(server.port, "dee");
    for i in 0..5 {
        al.send(&format!("PRIVMSG #lobby :from irc {i}"));
        let say = ChatRequest::Say {
            room: None,
            text: format!("from chat {i}"),
        };
        bo.send(&Request::from(say).into_frame());
    }
    let read_irc = |irc: &mut RawIrc| -> Vec<(u64, String)> {
        (0..10)
            .map(|_| {
                let m = irc.expect("PRIVMSG", |m| is(m, "PRIVMSG"));
                let seq = m.tag("msgid").expect("msgid").parse().expect("a number");
                (seq, m.params[1].clone())
            })
            .collect()
    };
    let read_chat = |raw: &mut Raw| -> Vec<(u64, String)> {
        (0..10)
            .map(
                |_| match raw.expect_event(|e| matches!(e, Event::Message { .. })) {
                    Event::Message { seq, text, .. } => (seq, text),
                    _ => unreachable!(),
                },
            )
            .collect()
    };
    let seen_by_cy = read_irc(&mut watcher_irc);
    let seen_by_dee = read_chat(&mut watcher_chat);
    // al gets its own messages back (echo-message) in their place.
    let seen_by_al = read_irc(&mut al);
    assert_eq!(seen_by_cy, seen_by_dee);
    assert_eq!(seen_by_al, seen_by_dee);
    assert!(
        seen_by_dee.windows(2).all(|w| w[0].0 < w[1].0),
        "{seen_by_dee:?}"
    );
    // The order of log.txt.
    let log = std::fs::read_to_string(dir.path().join("log.txt")).expect("log.txt");
    let positions: Vec<usize> = seen_by_dee
        .iter()
        .map(|(_, text)| log.find(text.as_str()).expect("in log.txt"))
        .collect();
    assert!(positions.windows(2).all(|w| w[0] < w[1]), "{positions:?}");
}

/// A burst of `PRIVMSG`s in one write (a paste, a flood) is stored and
/// delivered as one step: every member gets every line once, in order,
/// numbered one after another, `log.txt` holds them in that order, and
/// what follows the burst in the input (a `PING`, a `/me`) comes after
/// it. Past the rate limit's allowance the rest wait their turn; none is
/// lost or reordered.
#[test]
fn a_burst_of_messages_arrives_whole_and_in_order() {
    let dir = TempDir::new("irc-burst");
    let server = Server::start_with(
        dir.path(),
        &["--no-replay", "--rate-limit", "200", "--rate-burst", "20"],
    );
    let mut al = with_caps(server.port, "al", "message-tags echo-message");
    let mut cy = with_caps(server.port, "cy", "message-tags");
    let mut dee = Raw::login(server.port, "dee");
    let mut burst: String = (0..60)
        .map(|i| format!("PRIVMSG #lobby :line {i}\r\n"))
        .collect();
    burst.push_str("PING :after\r\nPRIVMSG #lobby :\u{1}ACTION waves\u{1}\r\n");
    al.send_bytes(burst.as_bytes());
    let mut expected: Vec<String> = (0..60).map(|i| format!("line {i}")).collect();
    expected.push("\u{1}ACTION waves\u{1}".into());
    let read_irc = |irc: &mut RawIrc| -> Vec<(u64, String)> {
        (0..expected.len())
            .map(|_| {
                let m = irc.expect("PRIVMSG", |m| is(m, "PRIVMSG"));
                let seq = m.tag("msgid").expect("msgid").parse().expect("a number");
                (seq, m.params[1].clone())
            })
            .collect()
    };
    let seen_by_cy = read_irc(&mut cy);
    let texts: Vec<&String> = seen_by_cy.iter().map(|(_, text)| text).collect();
    assert_eq!(texts, expected.iter().collect::<Vec<_>>());
    assert!(
        seen_by_cy.windows(2).all(|w| w[1].0 == w[0].0 + 1),
        "numbered one after another: {seen_by_cy:?}"
    );
    // al's echoes, then the PONG, then the /me: in the order it sent them.
    let seen_by_al: Vec<Message> = (0..=expected.len())
        .map(|_| al.expect("PRIVMSG or PONG", |m| is(m, "PRIVMSG") || is(m, "PONG")))
        .collect();
    let pong = seen_by_al.iter().position(|m| is(m, "PONG"));
    assert_eq!(pong, Some(60), "the PONG after the burst's echoes");
    let seen_by_dee: Vec<(u64, String)> = (0..expected.len())
        .map(
            |_| match dee.expect_event(|e| matches!(e, Event::Message { .. })) {
                Event::Message { seq, text, .. } => (seq, text),
                _ => unreachable!(),
            },
        )
        .collect();
    assert_eq!(seen_by_dee[..60], seen_by_cy[..60]);
    assert_eq!(seen_by_dee[60].1, "* al waves");
    let log = std::fs::read_to_string(dir.path().join("log.txt")).expect("log.txt");
    // log.txt: seq, date, kind, room, from, to, text, checksum.
    let in_log: Vec<(u64, String)> = log
        .lines()
        .map(|line| line.split('\t').collect::<Vec<_>>())
        .filter(|f| f.len() == 8 && f[4] == "al")
        .map(|f| (f[0].parse().expect("a number"), f[6].to_string()))
        .collect();
    assert_eq!(in_log, seen_by_dee);
}

/// A burst to a channel the sender is not in is refused line by line, as
/// each line alone would be: one `404` each, nothing reaches the channel,
/// and what follows the burst is answered after the refusals.
#[test]
fn a_burst_to_a_channel_one_is_not_in_gets_a_refusal_per_line() {
    let dir = TempDir::new("irc-burst-refused");
    let server = Server::start_with(dir.path(), &["--no-replay", "--no-rate-limit"]);
    let mut cy = in_lobby(server.port, "cy");
    cy.send("JOIN #study");
    cy.expect("366 for #study", |m| is(m, "366"));
    let mut al = in_lobby(server.port, "al");
    let burst: String = (0..3)
        .map(|i| format!("PRIVMSG #study :nobody hears {i}\r\n"))
        .chain(["PING :after\r\n".to_string()])
        .collect();
    al.send_bytes(burst.as_bytes());
    let answers: Vec<Message> = (0..4)
        .map(|_| al.expect("404 or PONG", |m| is(m, "404") || is(m, "PONG")))
        .collect();
    let codes: Vec<&str> = answers.iter().map(|m| m.command.as_str()).collect();
    assert_eq!(codes, ["404", "404", "404", "PONG"]);
    assert_eq!(answers[0].param(1), Some("#study"));
    cy.send("PING :quiet");
    let heard = cy.collect_until("PONG", |m| is(m, "PONG"));
    assert!(!heard.iter().any(|m| is(m, "PRIVMSG")), "{heard:?}");
}

/// `PRIVMSG nick` is a whisper, both ways between the two protocols.
#[test]
fn whispers_cross_protocols_both_ways() {
    let dir = TempDir::new("irc-whisper");
    let server = Server::start(dir.path());
    let mut al = in_lobby(server.port, "al");
    let mut bo = Raw::login(server.port, "bo");
    al.send("PRIVMSG bo :psst from irc");
    let event = bo.expect_event(|e| matches!(e, Event::Whisper { .. }));
    assert!(
        matches!(&event, Event::Whisper { from, text, .. } if from == "al" && text == "psst from irc"),
        "{event:?}"
    );
    let reply = bo.request(ChatRequest::Whisper {
        to: "AL".into(),
        text: "psst back".into(),
    });
    assert_eq!(reply.status_code(), Some(Status::OK));
    let m = al.expect_privmsg("psst back");
    assert_eq!(m.param(0), Some("al"));
    assert_eq!(m.source.as_deref(), Some("bo!bo@chat.local"));
    al.send("PRIVMSG nobody :hello?");
    let m = al.expect("401", |m| is(m, "401"));
    assert_eq!(m.param(1), Some("nobody"));
}

/// `/me` (CTCP ACTION) is kept as `* nick text` and reaches IRC clients as
/// an ACTION again, a NOTICE as `-nick- text` and a NOTICE again;
/// formatting codes are stripped rather than refused; other CTCP is not
/// carried.
#[test]
fn me_and_formatting_become_chat_text() {
    let dir = TempDir::new("irc-action");
    let server = Server::start(dir.path());
    let mut al = in_lobby(server.port, "al");
    let mut cy = in_lobby(server.port, "cy");
    let mut bo = Raw::login(server.port, "bo");
    al.send("PRIVMSG #lobby :\u{1}ACTION waves\u{1}");
    let event = bo.expect_event(|e| matches!(e, Event::Message { .. }));
    assert!(
        matches!(&event, Event::Message { text, .. } if text == "* al waves"),
        "{event:?}"
    );
    cy.expect_privmsg("\u{1}ACTION waves\u{1}");
    al.send("PRIVMSG #lobby :\u{2}bold\u{2} and \u{3}4,1red\u{3}");
    let event = bo.expect_event(|e| matches!(e, Event::Message { .. }));
    assert!(
        matches!(&event, Event::Message { text, .. } if text == "bold and red"),
        "{event:?}"
    );
    cy.expect_privmsg("bold and red");
    // A NOTICE is kept as `-nick- text` and is a NOTICE again on IRC.
    al.send("NOTICE #lobby :a notice");
    let event = bo.expect_event(|e| matches!(e, Event::Message { .. }));
    assert!(
        matches!(&event, Event::Message { text, .. } if text == "-al- a notice"),
        "{event:?}"
    );
    let m = cy.expect("NOTICE", |m| is(m, "NOTICE"));
    assert_eq!(
        (m.source_nick(), m.params.as_slice()),
        (
            Some("al"),
            &["#lobby".to_string(), "a notice".to_string()][..]
        )
    );
    al.send("PRIVMSG cy :\u{1}VERSION\u{1}");
    let m = al.expect("a NOTICE", |m| is(m, "NOTICE"));
    assert!(
        m.param(1).unwrap().contains("CTCP VERSION is not carried"),
        "{m:?}"
    );
}

/// A 4 KiB message from our client reaches IRC members as lines of at most
/// 512 bytes that join up to it byte for byte (newlines as line breaks).
#[test]
fn a_long_message_is_split_into_irc_lines_without_loss() {
    let dir = TempDir::new("irc-split");
    let server = Server::start(dir.path());
    let mut al = with_caps(server.port, "al", "message-tags");
    let mut bo = Raw::login(server.port, "bo");
    let mut text = String::new();
    while text.len() < 4000 {
        text.push_str("word é 🦀 ");
    }
    text.push_str("\nsecond line\n\nafter an empty one");
    let text = text.as_str();
    assert!(text.len() <= 4096);
    bo.say(text);
    let mut lines = Vec::new();
    loop {
        let m = al.expect("PRIVMSG", |m| is(m, "PRIVMSG"));
        let done = m.param(1) == Some("after an empty one");
        lines.push(m);
        if done {
            break;
        }
    }
    assert!(lines.len() > 8, "{} lines", lines.len());
    // Pieces that end a line of the text are those followed by a piece
    // starting a new one; we know where the text's newlines were.
    let joined: String = lines.iter().map(|m| m.params[1].as_str()).collect();
    assert_eq!(joined, text.replace('\n', ""));
    for m in &lines {
        let wire = m.to_line().expect("fits");
        let tags_len = wire.iter().position(|&b| b == b' ').unwrap() + 1;
        assert!(wire.len() - tags_len <= 512);
    }
    let ids: Vec<&str> = lines.iter().map(|m| m.tag("msgid").unwrap()).collect();
    assert!(ids[1].ends_with("-1"), "{ids:?}");
}

/// IRCv3: server-time and msgid tags, echo-message, account-tag, and the
/// room's history on joining as a chathistory batch (plain lines, dated,
/// for a client without batch).
#[test]
fn ircv3_tags_echo_and_the_history_batch() {
    let dir = TempDir::new("irc-v3");
    let server = Server::start(dir.path());
    let mut bo = Raw::login(server.port, "bo");
    bo.say("said before anyone from IRC came");
    let mut al = RawIrc::connect(server.port);
    al.send("CAP LS 302");
    al.send("NICK al");
    al.send("USER al 0 * :x");
    al.send("CAP REQ :server-time message-tags echo-message batch");
    al.send("CAP END");
    let lines = al.collect_until("366", |m| is(m, "366"));
    let start = lines
        .iter()
        .position(|m| is(m, "BATCH") && m.param(1) == Some("chathistory"))
        .expect("a chathistory batch");
    let id = lines[start]
        .param(0)
        .unwrap()
        .trim_start_matches('+')
        .to_string();
    assert_eq!(lines[start].param(2), Some("#lobby"));
    let past = &lines[start + 1];
    assert_eq!(past.param(1), Some("said before anyone from IRC came"));
    assert_eq!(past.tag("batch"), Some(id.as_str()));
    assert!(
        past.tag("time").is_some_and(|t| t.ends_with('Z')),
        "{past:?}"
    );
    assert!(is(&lines[start + 2], "BATCH"));
    assert_eq!(lines[start + 2].param(0), Some(format!("-{id}").as_str()));

    al.send("PRIVMSG #lobby :echo me");
    let echo = al.expect_privmsg("echo me");
    assert_eq!(echo.source.as_deref(), Some("al!al@chat.local"));
    assert!(
        echo.tag("msgid").is_some() && echo.tag("time").is_some(),
        "{echo:?}"
    );

    let mut old = RawIrc::connect(server.port);
    old.send("NICK dee");
    old.send("USER dee 0 * :x");
    let lines = old.collect_until("366", |m| is(m, "366"));
    let past: Vec<&Message> = lines.iter().filter(|m| is(m, "PRIVMSG")).collect();
    assert_eq!(past.len(), 2, "{lines:?}");
    assert!(past[0]
        .param(1)
        .unwrap()
        .ends_with("UTC] said before anyone from IRC came"));
    assert!(past[0].tags.is_empty());
}

/// A file shared in a room reaches IRC members as a NOTICE naming it, its
/// size and how to fetch it.
#[test]
fn a_shared_file_is_a_notice_with_its_name_size_and_fetch() {
    let dir = TempDir::new("irc-file");
    let server = Server::start(dir.path());
    let mut al = in_lobby(server.port, "al");
    let mut bo = Raw::login(server.port, "bo");
    let body = vec![7u8; 3000];
    let head = chat::command::Upload {
        name: "notes.bin".into(),
        size: body.len() as u64,
        digest: None,
    }
    .encode_head();
    bo.send_bytes(&head);
    bo.send_bytes(&body);
    let reply = loop {
        let frame = bo.read();
        if frame.status_code().is_some() {
            break frame;
        }
    };
    let id = reply.header(header::FILE_ID).expect("File-Id").to_string();
    let m = al.expect("the file's NOTICE", |m| {
        is(m, "NOTICE") && m.param(0) == Some("#lobby")
    });
    let text = m.param(1).unwrap();
    assert!(text.contains("\"notes.bin\""), "{text}");
    assert!(text.contains("2.9 KiB"), "{text}");
    assert!(text.contains(&format!("/get_file {id}")), "{text}");
    assert_eq!(m.source.as_deref(), Some("bo!bo@chat.local"));
}

/// A nickname change is seen by every member, whatever their client.
#[test]
fn a_nickname_change_reaches_both_protocols() {
    let dir = TempDir::new("irc-rename");
    let server = Server::start(dir.path());
    let mut al = in_lobby(server.port, "al");
    let mut cy = in_lobby(server.port, "cy");
    let mut bo = Raw::login(server.port, "bo");
    al.send("NICK al2");
    let m = al.expect("own NICK", |m| is(m, "NICK"));
    assert_eq!((m.source_nick(), m.param(0)), (Some("al"), Some("al2")));
    let m = cy.expect("NICK", |m| is(m, "NICK"));
    assert_eq!(m.param(0), Some("al2"));
    bo.expect_event(|e| matches!(e, Event::Renamed { old, new } if old == "al" && new == "al2"));
    // And from our client to IRC.
    let reply = bo.request(AccountRequest::Nick { nick: "bo2".into() });
    assert_eq!(reply.status_code(), Some(Status::OK));
    let m = cy.expect("NICK from bo", |m| is(m, "NICK"));
    assert_eq!((m.source_nick(), m.param(0)), (Some("bo"), Some("bo2")));
}

/// `QUIT` ends the connection with ERROR; the room sees the user leave.
#[test]
fn quit_says_goodbye_and_the_room_sees_it() {
    let dir = TempDir::new("irc-quit");
    let server = Server::start(dir.path());
    let mut al = in_lobby(server.port, "al");
    let mut bo = Raw::login(server.port, "bo");
    let mut cy = in_lobby(server.port, "cy");
    al.send("QUIT :bye all");
    let rest = al.expect_closed();
    let error = rest.iter().find(|m| is(m, "ERROR")).expect("ERROR");
    assert!(error.param(0).unwrap().contains("bye all"), "{error:?}");
    // Every door hears that al quit, and what al said.
    bo.expect_event(|e| {
        matches!(e, Event::Leave { nick, why: Parting::Quit(r), .. } if nick == "al" && r == "bye all")
    });
    let m = cy.expect("QUIT from al", |m| {
        is(m, "QUIT") && m.source_nick() == Some("al")
    });
    assert_eq!(m.param(0), Some("bye all"));
}

/// Garbage and over-long lines: ERROR and a close; a line over 512 bytes
/// (but within the reader's limit) is 417 and the connection stays; not
/// UTF-8 is FAIL INVALID_UTF8; unknown commands are 421; commands before
/// registration are 451. Never a panic.
#[test]
fn hostile_lines_are_answered_and_never_crash_the_server() {
    let dir = TempDir::new("irc-hostile");
    let server = Server::start(dir.path());
    let mut irc = RawIrc::connect(server.port);
    irc.send("JOIN #lobby");
    irc.expect("451", |m| is(m, "451"));
    irc.send(&format!("PRIVMSG #lobby :{}", "x".repeat(600)));
    irc.expect("417", |m| is(m, "417"));
    irc.send_bytes(b"PRIVMSG #lobby :\xff\xfe\r\n");
    let m = irc.expect("FAIL", |m| is(m, "FAIL"));
    assert_eq!(m.param(1), Some("INVALID_UTF8"));
    irc.send("FOO bar");
    irc.expect("451 for an unknown command before registration", |m| {
        is(m, "451")
    });
    irc.send_bytes(b"NICK a\0b\r\n");
    let rest = irc.expect_closed();
    assert!(rest.iter().any(|m| is(m, "ERROR")), "{rest:?}");

    let mut endless = RawIrc::connect(server.port);
    endless.send_bytes(b"NICK x\r\n");
    endless.send_bytes(&vec![b'a'; 9000]);
    let rest = endless.expect_closed();
    let error = rest.iter().find(|m| is(m, "ERROR")).expect("ERROR");
    assert!(error.param(0).unwrap().contains("longer than"), "{error:?}");

    let mut fine = in_lobby(server.port, "al");
    fine.send("FROBNICATE now");
    let m = fine.expect("421", |m| is(m, "421"));
    assert_eq!(m.param(1), Some("FROBNICATE"));
    fine.send("PING :still-here");
    let m = fine.expect("PONG", |m| is(m, "PONG"));
    assert_eq!(m.param(1), Some("still-here"));
}

/// A client that does not register in time is told so and closed.
#[test]
fn registration_must_complete_within_the_login_timeout() {
    let dir = TempDir::new("irc-reg-timeout");
    let server = Server::start_with(dir.path(), &["--no-replay", "--login-timeout", "1"]);
    let mut irc = RawIrc::connect(server.port);
    irc.send("NICK slow");
    let rest = irc.expect_closed();
    let error = rest.iter().find(|m| is(m, "ERROR")).expect("ERROR");
    assert!(
        error.param(0).unwrap().contains("registration timed out"),
        "{error:?}"
    );
}

/// A line from a raw socket, without its line end; `None` at the end.
fn line(reader: &mut BufReader<TcpStream>) -> Option<String> {
    let mut line = String::new();
    match reader.read_line(&mut line) {
        Ok(0) | Err(_) => None,
        Ok(_) => Some(line.trim_end().to_string()),
    }
}

/// A silent client is sent PING; one that answers stays, one that does not
/// is dropped.
#[test]
fn a_silent_client_is_pinged_then_dropped() {
    let dir = TempDir::new("irc-idle");
    let server = Server::start_with(dir.path(), &["--no-replay", "--idle-timeout", "1"]);
    let connect = |nick: &str| {
        let mut stream = TcpStream::connect(("127.0.0.1", server.port)).unwrap();
        stream.set_read_timeout(Some(support::WAIT)).unwrap();
        write!(stream, "NICK {nick}\r\nUSER {nick} 0 * :x\r\n").unwrap();
        (stream.try_clone().unwrap(), BufReader::new(stream))
    };
    // Answers two pings: still online after twice the idle timeout.
    let (mut answering, mut reader) = connect("al");
    for _ in 0..2 {
        let ping = std::iter::from_fn(|| line(&mut reader))
            .find(|l| l.starts_with("PING"))
            .expect("a PING");
        answering
            .write_all(format!("PONG {}\r\n", &ping[5..]).as_bytes())
            .unwrap();
    }
    answering.write_all(b"PING :alive\r\n").unwrap();
    assert!(std::iter::from_fn(|| line(&mut reader)).any(|l| l.ends_with("PONG chat.local alive")));
    // Does not answer: pinged, then closed.
    let (_silent, mut reader) = connect("bo");
    let rest: Vec<String> = std::iter::from_fn(|| line(&mut reader)).collect();
    assert!(rest.iter().any(|l| l.starts_with("PING")), "{rest:?}");
    server.stdout.wait_for("ping timeout");
}

/// Over the rate, commands are carried out late, not dropped; a client
/// that keeps sending faster is flooding and is closed with
/// `ERROR :Closing link: excess flood`.
#[test]
fn over_the_rate_commands_wait_and_a_flood_is_closed() {
    let dir = TempDir::new("irc-flood");
    let server = Server::start_with(
        dir.path(),
        &["--no-replay", "--rate-limit", "50", "--rate-burst", "5"],
    );
    let mut paced = in_lobby(server.port, "al");
    for i in 0..20 {
        paced.send(&format!("PING :p{i}"));
    }
    for i in 0..20 {
        let token = format!("p{i}");
        paced.expect("PONG", |m| {
            is(m, "PONG") && m.param(1) == Some(token.as_str())
        });
    }
    let mut flood = in_lobby(server.port, "bo");
    let burst: String = (0..400).map(|i| format!("PING :f{i}\r\n")).collect();
    flood.send_bytes(burst.as_bytes());
    let rest = flood.expect_closed();
    let error = rest.iter().find(|m| is(m, "ERROR")).expect("ERROR");
    assert_eq!(error.param(0), Some("Closing link: excess flood"));
}

/// `--irc-port` serves IRC only; the console shows IRC messages like any
/// other, with the handling thread's id.
#[test]
fn the_irc_port_and_the_console() {
    let dir = TempDir::new("irc-port");
    let port = support::irc_clients::free_port();
    let server = Server::start_with(
        dir.path(),
        &["--no-replay", "--irc-port", &port.to_string()],
    );
    let mut al = in_lobby(port, "al");
    let mut bo = Raw::login(server.port, "bo");
    al.send("PRIVMSG #lobby :hello from the IRC port");
    bo.expect_event(
        |e| matches!(e, Event::Message { text, .. } if text == "hello from the IRC port"),
    );
    let console = server.stdout.wait_for("hello from the IRC port");
    let line = console
        .lines()
        .find(|l| l.contains("hello from the IRC port"))
        .unwrap();
    assert!(line.contains("ThreadId("), "{line}");
    assert!(
        line.contains("IRC :al PRIVMSG #lobby :hello from the IRC port"),
        "{line}"
    );
}
