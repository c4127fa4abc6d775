//! Hostile-input and round-trip tests of the IRC message parser and encoder.
#![cfg(test)]

use super::*;
use crate::irc::error::Reaction;
use crate::irc::numeric::Numeric;
use crate::irc::test_rng::Rng;

fn parse(line: &[u8]) -> Result<Message, IrcError> {
    Message::parse(line, Limits::CLIENT)
}

fn ok(line: &str) -> Message {
    parse(line.as_bytes()).unwrap_or_else(|e| panic!("{line:?}: {e}"))
}

#[test]
fn parses_tags_source_command_and_params() {
    let m =
        ok("@time=2026-11-21T10:15:02.123Z;msgid=a\\sb :al!al@host PRIVMSG #lobby :hi there\r\n");
    assert_eq!(m.tag("time"), Some("2026-11-21T10:15:02.123Z"));
    assert_eq!(m.tag("msgid"), Some("a b"));
    assert_eq!(m.tag("nope"), None);
    assert_eq!(m.source.as_deref(), Some("al!al@host"));
    assert_eq!(m.source_nick(), Some("al"));
    assert_eq!(m.command, "PRIVMSG");
    assert_eq!(m.params, ["#lobby", "hi there"]);
    assert_eq!(m.param(1), Some("hi there"));
    assert_eq!(m.param(2), None);
}

#[test]
fn accepts_crlf_bare_lf_or_no_line_end() {
    for line in ["PING :x\r\n", "PING :x\n", "PING :x", "PING x\n"] {
        assert_eq!(ok(line), Message::new("PING", ["x"]), "{line:?}");
    }
}

#[test]
fn upper_cases_commands_and_keeps_numerics() {
    assert_eq!(ok("privmsg a b").command, "PRIVMSG");
    assert_eq!(ok(":srv 001 al :Welcome").command, "001");
    assert_eq!(ok("Nick al").params, ["al"]);
}

#[test]
fn collapses_runs_of_spaces_between_parameters() {
    let m = ok("  PRIVMSG   #a    :hi  there ");
    assert_eq!(m.params, ["#a", "hi  there "]);
    assert_eq!(ok("JOIN #a   ").params, ["#a"]);
    assert_eq!(ok("TOPIC #a :").params, ["#a", ""]);
    assert_eq!(ok("USER u 0 * ::colon").params, ["u", "0", "*", ":colon"]);
}

#[test]
fn the_fifteenth_parameter_takes_the_rest_of_the_line() {
    let words: Vec<String> = (1..=20).map(|i| i.to_string()).collect();
    let m = ok(&format!("CMD {}", words.join(" ")));
    assert_eq!(m.params.len(), MAX_PARAMS);
    assert_eq!(m.params[..14], words[..14]);
    assert_eq!(m.params[14], "15 16 17 18 19 20");
    // Exactly fifteen, and a colon on the fifteenth, read as expected.
    let m = ok(&format!("CMD {}", words[..15].join(" ")));
    assert_eq!(m.params, words[..15]);
    let m = ok(&format!("CMD {} :a b", words[..14].join(" ")));
    assert_eq!(m.params[14], "a b");
}

#[test]
fn body_of_exactly_512_bytes_with_its_line_end_is_accepted() {
    let head = "PRIVMSG #a :";
    let text = "x".repeat(510 - head.len());
    let m = ok(&format!("{head}{text}\r\n"));
    assert_eq!(m.params[1], text);
    // A bare LF does not buy a byte: the limit counts a CR LF either way.
    ok(&format!("{head}{text}\n"));
}

#[test]
fn body_of_513_bytes_is_refused_with_417() {
    let line = format!("PRIVMSG #a :{}", "x".repeat(510 - 12 + 1));
    let err = parse(line.as_bytes()).expect_err("one byte over");
    assert!(
        matches!(
            err,
            IrcError::BodyTooLong {
                len: 513,
                limit: 512
            }
        ),
        "{err}"
    );
    assert_eq!(err.reaction(), Reaction::Reply(Numeric::ERR_INPUTTOOLONG));
}

#[test]
fn tag_part_limits_hold_at_n_and_n_plus_one() {
    // The client limit: 4,094 bytes of tag data, 4,096 with '@' and space.
    let at = |n: usize| format!("@a={} PING x", "v".repeat(n - 4));
    assert_eq!(ok(&at(4096)).tag("a").map(str::len), Some(4092));
    let err = parse(at(4097).as_bytes()).expect_err("one byte over");
    assert!(
        matches!(
            err,
            IrcError::TagsTooLong {
                len: 4097,
                limit: 4096
            }
        ),
        "{err}"
    );
    assert_eq!(err.reaction(), Reaction::Reply(Numeric::ERR_INPUTTOOLONG));
    // The overall limit a client accepts from a server: 8,191.
    assert!(Message::parse(at(8191).as_bytes(), Limits::SERVER).is_ok());
    let err = Message::parse(at(8192).as_bytes(), Limits::SERVER).expect_err("over");
    assert!(matches!(err, IrcError::TagsTooLong { len: 8192, .. }));
    // The two limits are apart: long tags do not shorten the body.
    let both = format!("{} :{}", at(4096), "y".repeat(510 - 8));
    assert_eq!(ok(&both).params[1].len(), 502);
}

#[test]
fn empty_and_blank_lines_are_ignored() {
    for line in ["", "\r\n", "\n", " ", "      \r\n"] {
        let err = parse(line.as_bytes()).expect_err(line);
        assert!(matches!(err, IrcError::Empty), "{line:?}: {err}");
        assert_eq!(err.reaction(), Reaction::Ignore);
    }
}

#[test]
fn lines_without_a_command_are_garbage() {
    for (line, want) in [
        (":", "empty source after ':'"),
        (": PING", "empty source after ':'"),
        ("::", "line has no command"),
        (":src", "line has no command"),
        (":src    ", "line has no command"),
        ("@a=b", "line has no command"),
        ("@a=b ", "line has no command"),
        ("@a=b :src", "line has no command"),
        ("@", "line has no command"),
    ] {
        let err = parse(line.as_bytes()).expect_err(line);
        assert_eq!(err.to_string(), want, "{line:?}");
        assert_eq!(err.reaction(), Reaction::Close, "{line:?}");
    }
}

#[test]
fn malformed_commands_get_421() {
    for line in [
        "12",
        "1234",
        "PRIV-MSG x",
        "ÉTÉ x",
        "1A2",
        "#lobby hi",
        "=",
        "\x01ACTION",
    ] {
        let err = parse(line.as_bytes()).expect_err(line);
        assert!(
            matches!(err, IrcError::BadCommand { .. }),
            "{line:?}: {err}"
        );
        assert_eq!(err.reaction(), Reaction::Reply(Numeric::ERR_UNKNOWNCOMMAND));
    }
    // A hostile command is quoted short in the error.
    let long = "X".repeat(300) + "1";
    match parse(long.as_bytes()) {
        Err(IrcError::BadCommand { command }) => assert_eq!(command.len(), 32),
        other => panic!("{other:?}"),
    }
}

#[test]
fn nul_and_stray_cr_are_refused() {
    for (line, byte) in [
        (&b"PRI\0VMSG"[..], 0),
        (b"PRIVMSG #a :hi\0there\r\n", 0),
        (b"@a=\0 PING", 0),
        (b"PING a\rb", b'\r'),
        (b"PING a\r\r\n", b'\r'),
        (b"PING a\nb", b'\n'),
    ] {
        let err = parse(line).expect_err("control byte");
        assert!(
            matches!(err, IrcError::ControlByte { byte: b } if b == byte),
            "{line:?}: {err}"
        );
        assert_eq!(err.reaction(), Reaction::Close);
    }
}

#[test]
fn non_utf8_is_refused_naming_the_command_when_it_can() {
    let err = parse(b"PRIVMSG #a :hi\xaa\r\n").expect_err("latin-1");
    match &err {
        IrcError::NotUtf8 { command } => assert_eq!(command.as_deref(), Some("PRIVMSG")),
        other => panic!("{other:?}"),
    }
    assert_eq!(err.reaction(), Reaction::FailInvalidUtf8);
    for garbage in [&b"\xff\xfe\xfd"[..], b"\xc3", b"\xffPING", b"\x80 x"] {
        match parse(garbage) {
            Err(IrcError::NotUtf8 { command: None }) => {}
            other => panic!("{garbage:?}: {other:?}"),
        }
    }
    // Overlong encodings and surrogates are not UTF-8 either.
    assert!(matches!(
        parse(b"PING \xc0\xaf"),
        Err(IrcError::NotUtf8 { .. })
    ));
    assert!(matches!(
        parse(b"PING \xed\xa0\x80"),
        Err(IrcError::NotUtf8 { .. })
    ));
    assert_eq!(ok("PRIVMSG #a :héllo ☃").params[1], "héllo ☃");
}

#[test]
fn random_garbage_never_panics() {
    let mut rng = Rng::new(0x1bc);
    let alphabet = [
        b' ', b':', b'@', b';', b'=', b'\\', b'\r', b'\n', 0, 0xff, b'A', b'1', b'#',
    ];
    for _ in 0..20_000 {
        let len = rng.below(40);
        let line: Vec<u8> = (0..len).map(|_| *rng.pick(&alphabet)).collect();
        if let Ok(m) = parse(&line) {
            // Whatever parses, encodes back to something that parses the same.
            let again = m.to_line().map(|l| Message::parse(&l, Limits::SERVER));
            assert_eq!(
                again.ok().and_then(Result::ok).as_ref(),
                Some(&m),
                "{line:?}"
            );
        }
    }
}

#[test]
fn encodes_with_a_colon_only_where_needed() {
    let cases = [
        (Message::new("PING", ["x"]), "PING x\r\n"),
        (
            Message::new("PRIVMSG", ["#a", "hi there"]),
            "PRIVMSG #a :hi there\r\n",
        ),
        (Message::new("TOPIC", ["#a", ""]), "TOPIC #a :\r\n"),
        (Message::new("PRIVMSG", ["#a", ":)"]), "PRIVMSG #a ::)\r\n"),
        (Message::new::<&str>("QUIT", []), "QUIT\r\n"),
        (
            Message::new("JOIN", ["#a"])
                .with_source("al!al@h")
                .with_tag("time", "t 1"),
            "@time=t\\s1 :al!al@h JOIN #a\r\n",
        ),
    ];
    for (m, line) in cases {
        assert_eq!(m.to_line().expect("encodes"), line.as_bytes());
        assert_eq!(
            Message::parse(line.as_bytes(), Limits::SERVER).expect("parses"),
            m
        );
    }
}

#[test]
fn encoder_refuses_what_a_parser_would_read_differently() {
    let bad = [
        Message::new("PRIVMSG", ["#a b", "x"]),
        Message::new("PRIVMSG", ["", "x"]),
        Message::new("PRIVMSG", [":a", "x"]),
        Message::new("PRIVMSG", ["#a", "x\r\nQUIT"]),
        Message::new("PRIVMSG", ["#a", "x\0"]),
        Message::new("privmsg", ["#a"]),
        Message::new("PRIV MSG", ["#a"]),
        Message::new("", ["#a"]),
        Message::new("1234", ["#a"]),
        Message::new("PING", ["x"]).with_source(""),
        Message::new("PING", ["x"]).with_source("a b"),
        Message::new("PING", (0..16).map(|i| i.to_string())),
    ];
    for m in bad {
        assert!(m.to_line().is_err(), "{m:?}");
    }
    assert!(Message::new("PING", (0..15).map(|i| i.to_string()))
        .to_line()
        .is_ok());
}

#[test]
fn encoder_never_writes_an_over_long_line() {
    // No colon: the text has no space.
    let head = "PRIVMSG #a ";
    let fits = Message::new("PRIVMSG", ["#a".to_string(), "x".repeat(510 - head.len())]);
    assert_eq!(fits.to_line().expect("exactly 512").len(), 512);
    let over = Message::new("PRIVMSG", ["#a".to_string(), "x".repeat(511 - head.len())]);
    assert!(matches!(
        over.to_line(),
        Err(IrcError::WontFit {
            len: 513,
            limit: 512
        })
    ));
    // Tags: 8,191 with '@' and the space, and not one more.
    let tagged = |n: usize| Message::new("PING", ["x"]).with_tag("k", "v".repeat(n - 4));
    let line = tagged(8191).to_line().expect("8191 bytes of tags");
    assert_eq!(line.len(), 8191 + "PING x\r\n".len());
    assert!(matches!(
        tagged(8192).to_line(),
        Err(IrcError::WontFit { len: 8192, .. })
    ));
}

#[test]
fn truncating_encoder_cuts_the_last_parameter_at_a_character_boundary() {
    let text = "é".repeat(400);
    let m = Message::new("332", ["al", "#a", &text]).with_source("chat.local");
    let line = m.to_line_truncated().expect("fits after cutting");
    assert!(line.len() <= 512, "{}", line.len());
    let back = Message::parse(&line, Limits::SERVER).expect("valid line");
    assert!(text.starts_with(&back.params[2]));
    assert!(back.params[2].len() >= 512 - 40, "cut far more than needed");
    // Short lines are untouched, and a line whose other parts are too long fails.
    assert_eq!(
        Message::new("PING", ["x"])
            .to_line_truncated()
            .expect("fits"),
        b"PING x\r\n"
    );
    let hopeless = Message::new("PING", ["y".repeat(600), "z".to_string()]);
    assert!(matches!(
        hopeless.to_line_truncated(),
        Err(IrcError::WontFit { .. })
    ));
}

#[test]
fn random_messages_round_trip() {
    let mut rng = Rng::new(42);
    let word: Vec<char> = "abcXYZ019#&-_[]{}|^é☃".chars().collect();
    let text: Vec<char> = "ab :;\\=@!é☃\t".chars().collect();
    for round in 0..5_000 {
        let command = *rng.pick(&["PRIVMSG", "NOTICE", "001", "353"]);
        let mut m = Message::new::<String>(command, []);
        for _ in 0..rng.below(4) {
            let key = format!("+k{}", rng.below(5));
            m = m.with_tag(&key, rng.text(&text, 0..12));
        }
        if rng.below(2) == 0 {
            m.source = Some(rng.text(&word, 1..21));
        }
        let middles = rng.below(MAX_PARAMS);
        for _ in 0..middles {
            m.params.push(rng.text(&word, 1..11));
        }
        if rng.below(2) == 0 && m.params.len() < MAX_PARAMS {
            m.params.push(rng.text(&text, 0..60));
        }
        let line = m
            .to_line()
            .unwrap_or_else(|e| panic!("round {round}: {m:?}: {e}"));
        let back = Message::parse(&line, Limits::SERVER).expect("parses");
        assert_eq!(back, m, "round {round}: {line:?}");
    }
}
