//! Tests of the lines channel members see.
#![cfg(test)]

use std::time::{Duration, UNIX_EPOCH};

use super::*;
use crate::irc::message::Limits;

fn wire(m: &Message) -> String {
    String::from_utf8(m.to_line().expect("fits")).expect("utf-8")
}

fn meta() -> Meta<'static> {
    Meta {
        time: Some("2026-11-21 10:15:02.123456"),
        msgid: Some("m42"),
        account: Some("al"),
    }
}

#[test]
fn server_time_has_milliseconds_and_a_z() {
    let t = UNIX_EPOCH + Duration::from_micros(1_795_256_102_123_456);
    assert_eq!(server_time(t), "2026-11-21T10:15:02.123Z");
    assert_eq!(server_time(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
    let hub_date = crate::clock::format_utc(t);
    assert_eq!(
        server_time_from_utc(&hub_date).as_deref(),
        Some("2026-11-21T10:15:02.123Z")
    );
    for bad in [
        "",
        "2026-11-21",
        "2026-11-21T10:15:02.123456",
        "2026-11-21 10:15:02",
        "x026-11-21 10:15:02.123456",
    ] {
        assert_eq!(server_time_from_utc(bad), None, "{bad:?}");
    }
}

#[test]
fn tags_follow_the_capabilities_of_the_recipient() {
    let mask = user_mask("al", "al", "127.0.0.1");
    let plain = privmsg(&mask, "#lobby", "hi there", &meta(), CapSet::EMPTY).expect("renders");
    assert_eq!(
        wire(&plain[0]),
        ":al!al@127.0.0.1 PRIVMSG #lobby :hi there\r\n"
    );
    let all = CapSet::all();
    let tagged = privmsg(&mask, "#lobby", "hi there", &meta(), all).expect("renders");
    assert_eq!(
        wire(&tagged[0]),
        "@time=2026-11-21T10:15:02.123Z;msgid=m42;account=al :al!al@127.0.0.1 PRIVMSG #lobby :hi there\r\n"
    );
    let only_time = CapSet::EMPTY.with(Cap::ServerTime);
    let m = &privmsg(&mask, "bo", "x", &meta(), only_time).expect("renders")[0];
    assert_eq!(m.tags.len(), 1);
    assert_eq!(m.param(0), Some("bo"));
}

#[test]
fn a_4_kib_text_is_split_losslessly_with_a_msgid_per_line() {
    let mask = user_mask("abcdefgh", "abcdefghij", "2001:db8::1");
    let text: String = (0..4096)
        .map(|i| if i % 97 == 0 { '\n' } else { 'é' })
        .collect();
    let text = &text[..text.floor_char_boundary(4096)];
    let lines = privmsg(
        &mask,
        "#a-very-long-room-name-of-32-chrs",
        text,
        &meta(),
        CapSet::all(),
    )
    .expect("renders");
    let mut ids = Vec::new();
    let mut pieces = Vec::new();
    for m in &lines {
        let line = m.to_line().expect("fits");
        let tags = line.iter().position(|&b| b == b' ').expect("tags end") + 1;
        assert!(line.len() - tags <= 512, "{} bytes", line.len() - tags);
        let back = Message::parse(&line, Limits::SERVER).expect("parses");
        ids.push(back.tag("msgid").expect("msgid").to_string());
        pieces.push(back.params[1].clone());
    }
    assert_eq!(ids[0], "m42");
    assert_eq!(ids[1], "m42-1");
    let unique: std::collections::HashSet<_> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len());
    // The pieces hold every byte; the newlines became line breaks.
    assert_eq!(pieces.concat(), text.replace('\n', ""));
}

#[test]
fn membership_lines() {
    let mask = "al!al@h";
    let none = CapSet::EMPTY;
    let m = Meta::default();
    assert_eq!(
        wire(&join(mask, "#lobby", &m, none)),
        ":al!al@h JOIN #lobby\r\n"
    );
    assert_eq!(
        wire(&part(mask, "#lobby", None, &m, none)),
        ":al!al@h PART #lobby\r\n"
    );
    assert_eq!(
        wire(&part(mask, "#lobby", Some("off to lunch"), &m, none)),
        ":al!al@h PART #lobby :off to lunch\r\n"
    );
    assert_eq!(
        wire(&quit(mask, "Quit: bye", &m, none)),
        ":al!al@h QUIT :Quit: bye\r\n"
    );
    assert_eq!(
        wire(&nick_change(mask, "al2", &m, none)),
        ":al!al@h NICK al2\r\n"
    );
    assert_eq!(
        wire(&kick(mask, "#lobby", "bo", "banned by the owner", &m, none)),
        ":al!al@h KICK #lobby bo :banned by the owner\r\n"
    );
    let tagged = join(mask, "#lobby", &meta(), CapSet::EMPTY.with(Cap::ServerTime));
    assert!(wire(&tagged).starts_with("@time="));
}

#[test]
fn a_shared_file_is_a_notice_naming_it_its_size_and_how_to_fetch_it() {
    let text = shared_file_text("al", "notes.txt", 1536, "fetch it with /get_file 7");
    assert_eq!(
        text,
        "al shared the file \"notes.txt\" (1.5 KiB): fetch it with /get_file 7"
    );
    let lines = notice(
        "chat.local",
        "#lobby",
        &text,
        &Meta::default(),
        CapSet::EMPTY,
    )
    .expect("renders");
    assert_eq!(lines.len(), 1);
    assert_eq!(lines[0].command, "NOTICE");
}

#[test]
fn history_is_a_chathistory_batch_for_clients_with_batch() {
    let past = [
        Past {
            mask: "al!al@h",
            text: "first",
            meta: meta(),
        },
        Past {
            mask: "bo!bo@h",
            text: "second line",
            meta: Meta {
                msgid: Some("m43"),
                ..meta()
            },
        },
    ];
    let caps = CapSet::EMPTY.with(Cap::Batch).with(Cap::ServerTime);
    let lines = history("chat.local", "h1", "#lobby", &past, caps).expect("renders");
    let lines: Vec<String> = lines.iter().map(wire).collect();
    assert_eq!(lines[0], ":chat.local BATCH +h1 chathistory #lobby\r\n");
    assert_eq!(
        lines[1],
        "@time=2026-11-21T10:15:02.123Z;batch=h1 :al!al@h PRIVMSG #lobby first\r\n"
    );
    assert!(lines[2].contains(";batch=h1 :bo!bo@h PRIVMSG #lobby :second line"));
    assert_eq!(lines[3], ":chat.local BATCH -h1\r\n");
    // Without batch: the same messages, plain.
    let plain = history("chat.local", "h1", "#lobby", &past, CapSet::EMPTY).expect("renders");
    let plain: Vec<String> = plain.iter().map(wire).collect();
    assert_eq!(
        plain,
        [
            ":al!al@h PRIVMSG #lobby first\r\n",
            ":bo!bo@h PRIVMSG #lobby :second line\r\n"
        ]
    );
    // No history, no empty batch.
    assert!(history("s", "h", "#r", &[], caps)
        .expect("renders")
        .is_empty());
}
