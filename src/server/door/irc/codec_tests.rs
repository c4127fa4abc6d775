//! The IRC codec's lines for each delivery, byte for byte.
#![cfg(test)]

use super::*;
use crate::irc::Limits;

fn codec(caps: &[Cap]) -> IrcCodec {
    let link = Arc::new(Link::default());
    link.set_caps(caps.iter().copied().collect());
    link.set_nick("bo");
    IrcCodec::new(link)
}

fn text(codec: &IrcCodec, delivery: &Delivery) -> String {
    String::from_utf8(codec.encode(delivery)).expect("utf-8")
}

fn message(from: &str, text: &str) -> Delivery {
    Delivery::Event(Event::Message {
        room: "lobby".into(),
        from: from.into(),
        date: "2026-11-21 10:15:02.123456".into(),
        seq: 42,
        text: text.into(),
        history: false,
    })
}

#[test]
fn a_room_message_is_a_privmsg_tagged_as_the_client_asked() {
    let plain = codec(&[]);
    assert_eq!(
        text(&plain, &message("al", "hello: world")),
        ":al!al@chat.local PRIVMSG #lobby :hello: world\r\n"
    );
    let tagged = codec(&[Cap::ServerTime, Cap::MessageTags]);
    assert_eq!(
        text(&tagged, &message("al", "hi")),
        "@time=2026-11-21T10:15:02.123Z;msgid=42 :al!al@chat.local PRIVMSG #lobby hi\r\n"
    );
}

#[test]
fn me_and_notice_lines_go_back_out_as_an_action_and_a_notice() {
    let plain = codec(&[]);
    assert_eq!(
        text(&plain, &message("al", "* al waves")),
        ":al!al@chat.local PRIVMSG #lobby :\u{1}ACTION waves\u{1}\r\n"
    );
    assert_eq!(
        text(&plain, &message("al", "-al- heads up")),
        ":al!al@chat.local NOTICE #lobby :heads up\r\n"
    );
    // Someone else's star line is just text.
    assert_eq!(
        text(&plain, &message("bo", "* al waves")),
        ":bo!bo@chat.local PRIVMSG #lobby :* al waves\r\n"
    );
}

#[test]
fn a_long_message_is_split_into_lines_that_lose_nothing() {
    let mut long = String::new();
    while long.len() < 4090 {
        long.push_str(["ab ", "é", "x"][long.len() % 3]);
    }
    let long = long.as_str();
    let codec = codec(&[Cap::MessageTags]);
    let bytes = codec.encode(&message("al", long));
    let mut back = String::new();
    let mut ids = Vec::new();
    for line in bytes.split_inclusive(|&b| b == b'\n') {
        let m = Message::parse(line, Limits::SERVER).expect("a line we wrote parses");
        let tags_len = line.iter().position(|&b| b == b' ').map_or(0, |i| i + 1);
        assert!(line.len() - tags_len <= 512, "{} bytes", line.len());
        back.push_str(&m.params[1]);
        ids.push(m.tag("msgid").map(str::to_string));
    }
    assert_eq!(back, long);
    assert!(ids.len() > 8);
    assert_eq!(ids[0].as_deref(), Some("42"));
    assert_eq!(ids[1].as_deref(), Some("42-1"));
}

#[test]
fn history_on_entering_is_a_chathistory_batch_or_dated_lines() {
    let record = Record {
        seq: 7,
        date: "2026-11-21 10:15:02.123456".into(),
        kind: Kind::Message,
        room: "lobby".into(),
        from: "al".into(),
        to: "-".into(),
        text: "earlier".into(),
    };
    let entered = Delivery::Entered {
        room: "lobby".into(),
        nick: "bo".into(),
        members: 2,
        history: vec![record],
        unread_from: None,
    };
    let batch = codec(&[Cap::Batch, Cap::ServerTime]);
    assert_eq!(
        text(&batch, &entered),
        ":bo!bo@chat.local JOIN #lobby\r\n\
         :chat.local BATCH +h1 chathistory #lobby\r\n\
         @time=2026-11-21T10:15:02.123Z;batch=h1 :al!al@chat.local PRIVMSG #lobby earlier\r\n\
         :chat.local BATCH -h1\r\n"
    );
    let plain = codec(&[]);
    assert_eq!(
        text(&plain, &entered),
        ":bo!bo@chat.local JOIN #lobby\r\n\
         :al!al@chat.local PRIVMSG #lobby :[2026-11-21 10:15 UTC] earlier\r\n"
    );
}

#[test]
fn a_chathistory_page_is_a_batch_of_room_and_private_lines() {
    let record = |seq: u64, kind: Kind, room: &str, from: &str, to: &str| Record {
        seq,
        date: "2026-11-21 10:15:02.123456".into(),
        kind,
        room: room.into(),
        from: from.into(),
        to: to.into(),
        text: format!("text {seq}"),
    };
    let page = [
        record(7, Kind::Whisper, "-", "al", "bo"),
        record(9, Kind::Whisper, "-", "bo", "al"),
    ];
    let lines = |caps: &[Cap], target: &str, page: &[Record]| {
        let link = Link::default();
        link.set_caps(caps.iter().copied().collect());
        String::from_utf8(to_bytes(&history_page(&link, target, page))).expect("utf-8")
    };
    assert_eq!(
        lines(&[Cap::Batch, Cap::MessageTags], "al", &page),
        ":chat.local BATCH +h1 chathistory al\r\n\
         @msgid=7;batch=h1 :al!al@chat.local PRIVMSG bo :[2026-11-21 10:15 UTC] text 7\r\n\
         @msgid=9;batch=h1 :bo!bo@chat.local PRIVMSG al :[2026-11-21 10:15 UTC] text 9\r\n\
         :chat.local BATCH -h1\r\n"
    );
    let room = [record(3, Kind::Message, "study", "al", "-")];
    assert_eq!(
        lines(&[Cap::ServerTime], "#Study", &room),
        "@time=2026-11-21T10:15:02.123Z :al!al@chat.local PRIVMSG #study :text 3\r\n",
        "without batch, the lines alone"
    );
    assert_eq!(
        lines(&[Cap::Batch], "#study", &[]),
        ":chat.local BATCH +h1 chathistory #study\r\n:chat.local BATCH -h1\r\n",
        "nothing there: an empty batch"
    );
}

#[test]
fn removals_are_kicks_or_parts_of_the_one_removed() {
    let plain = codec(&[]);
    let kicked = Delivery::Removed {
        room: "study".into(),
        why: Removal::Kicked {
            by: "al".into(),
            reason: "enough".into(),
        },
    };
    assert_eq!(
        text(&plain, &kicked),
        ":al!al@chat.local KICK #study bo enough\r\n"
    );
    let closed = Delivery::Removed {
        room: "study".into(),
        why: Removal::Closed { by_operator: false },
    };
    assert_eq!(
        text(&plain, &closed),
        ":bo!bo@chat.local PART #study :#study was closed by its owner\r\n"
    );
}

#[test]
fn events_of_the_room_and_whispers() {
    let plain = codec(&[]);
    let whisper = Delivery::Event(Event::Whisper {
        from: "al".into(),
        to: "bo".into(),
        date: "2026-11-21 10:15:02.123456".into(),
        seq: 3,
        text: "psst".into(),
        kept: false,
    });
    assert_eq!(
        text(&plain, &whisper),
        ":al!al@chat.local PRIVMSG bo psst\r\n"
    );
    let renamed = Delivery::Event(Event::Renamed {
        old: "al".into(),
        new: "al2".into(),
    });
    assert_eq!(text(&plain, &renamed), ":al!al@chat.local NICK al2\r\n");
    let file = Delivery::Event(Event::File {
        room: "lobby".into(),
        from: "al".into(),
        id: 3,
        name: "report.pdf".into(),
        size: 2048,
        date: "2026-11-21 10:15:02.123456".into(),
    });
    let line = text(&plain, &file);
    assert!(
        line.starts_with(
            ":al!al@chat.local NOTICE #lobby :al shared the file \"report.pdf\" (2.0 KiB)"
        ),
        "{line}"
    );
    assert!(line.contains("/get_file 3"), "{line}");
    let bye = Delivery::Event(Event::Bye {
        reason: "kicked by the operator".into(),
    });
    assert_eq!(
        text(&plain, &bye),
        "ERROR :Closing link: kicked by the operator\r\n"
    );
}

#[test]
fn formats_are_ours_alone_and_one_per_tag_combination() {
    let mut seen = std::collections::BTreeSet::new();
    for caps in [
        vec![],
        vec![Cap::ServerTime],
        vec![Cap::MessageTags],
        vec![Cap::AccountTag],
        vec![Cap::ServerTime, Cap::MessageTags, Cap::AccountTag],
    ] {
        let f = codec(&caps).format();
        assert!((2..=15).contains(&f), "{f}");
        seen.insert(f);
    }
    assert_eq!(seen.len(), 5);
    // Batch changes only what one connection is sent alone.
    assert_eq!(codec(&[Cap::Batch]).format(), codec(&[]).format());
}
