//! Tests of the `CHATHISTORY` and `MARKREAD` parameter parsers: every
//! subcommand, references, limits at their bounds, and hostile input.
#![cfg(test)]

use super::*;
use crate::irc::test_rng::Rng;

fn params(line: &str) -> Vec<String> {
    line.split(' ').map(str::to_string).collect()
}

fn ok(line: &str) -> ChatHistory {
    parse_chathistory(&params(line)).unwrap_or_else(|f| panic!("{line:?}: {f:?}"))
}

fn fail(line: &str) -> Fail {
    match parse_chathistory(&params(line)) {
        Ok(parsed) => panic!("{line:?} parsed: {parsed:?}"),
        Err(fail) => fail,
    }
}

fn ts(iso: &str, unit_micros: i64) -> Timestamp {
    Timestamp {
        iso: iso.to_string(),
        unit_micros,
    }
}

#[test]
fn parses_every_subcommand() {
    let page = |line: &str| match ok(line) {
        ChatHistory::Page {
            sub,
            target,
            query,
            limit,
            ..
        } => (sub, target, query, limit),
        other => panic!("{other:?}"),
    };
    let room = || Target::Room("lobby".into());
    assert_eq!(
        page("LATEST #lobby * 50"),
        ("LATEST", room(), Query::Latest(None), 50)
    );
    assert_eq!(
        page("latest #lobby msgid=7 5"),
        (
            "LATEST",
            room(),
            Query::Latest(Some(Reference::Msgid(7))),
            5
        )
    );
    assert_eq!(
        page("BEFORE al msgid=12 1").1,
        Target::Nick("al".into()),
        "a nickname is a private conversation"
    );
    assert_eq!(
        page("AFTER #lobby msgid=12-3 2").2,
        Query::After(Reference::Msgid(12)),
        "a piece of a split message names the message"
    );
    assert_eq!(
        page("AROUND #lobby timestamp=2026-11-21T10:15:02.123Z 9").2,
        Query::Around(Reference::Timestamp(ts("2026-11-21T10:15:02.123Z", 1000)))
    );
    assert_eq!(
        page("BETWEEN #lobby msgid=9 timestamp=2026-11-21T10:15:02Z 3").2,
        Query::Between(
            Reference::Msgid(9),
            Reference::Timestamp(ts("2026-11-21T10:15:02Z", 1_000_000))
        )
    );
    assert_eq!(page("LATEST * * 1").1, Target::AllPrivate);
    assert_eq!(
        ok("TARGETS timestamp=2026-01-01T00:00:00.000Z timestamp=2020-01-01T00:00:00.5Z 10"),
        ChatHistory::Targets {
            from: ts("2026-01-01T00:00:00.000Z", 1000),
            to: ts("2020-01-01T00:00:00.5Z", 100_000),
            limit: 10
        }
    );
}

#[test]
fn a_timestamp_names_the_stretch_its_precision_says() {
    for (time, unit) in [
        ("2026-11-21T10:15:02Z", 1_000_000),
        ("2026-11-21T10:15:02.1Z", 100_000),
        ("2026-11-21T10:15:02.123Z", 1000),
        ("2026-11-21T10:15:02.123456Z", 1),
        ("2026-11-21T10:15:02.123456789Z", 1),
    ] {
        let line = format!("BEFORE #a timestamp={time} 1");
        let ChatHistory::Page { query, .. } = ok(&line) else {
            panic!("{line}");
        };
        assert_eq!(query, Query::Before(Reference::Timestamp(ts(time, unit))));
    }
}

#[test]
fn refuses_what_is_missing_or_unknown() {
    assert_eq!(parse_chathistory(&[]).unwrap_err().code, "NEED_MORE_PARAMS");
    let f = fail("BEFORE #lobby msgid=1");
    assert_eq!(
        (f.code, f.context.as_slice()),
        ("NEED_MORE_PARAMS", &["BEFORE".to_string()][..])
    );
    assert_eq!(fail("BETWEEN #lobby msgid=1 5").code, "NEED_MORE_PARAMS");
    assert_eq!(
        fail("TARGETS timestamp=2026-01-01T00:00:00Z 5").code,
        "NEED_MORE_PARAMS"
    );
    let f = fail("SIDEWAYS #lobby * 5");
    assert_eq!(
        (f.code, f.context[0].as_str()),
        ("UNKNOWN_COMMAND", "SIDEWAYS")
    );
    assert_eq!(
        f.params()[..3],
        ["CHATHISTORY", "UNKNOWN_COMMAND", "SIDEWAYS"]
    );
}

#[test]
fn refuses_bad_references() {
    for bad in [
        "BEFORE #a * 5",
        "BEFORE #a msgid= 5",
        "BEFORE #a msgid=-1 5",
        "BEFORE #a msgid=1- 5",
        "BEFORE #a msgid=1-x 5",
        "BEFORE #a msgid=+1 5",
        "BEFORE #a msgid=abc 5",
        "BEFORE #a msgid=12345678901234567890 5",
        "BEFORE #a msgid=٣ 5",
        "BEFORE #a id=5 5",
        "BEFORE #a MSGID=5 5",
        "BEFORE #a timestamp= 5",
        "BEFORE #a timestamp=2026-11-21 5",
        "BEFORE #a timestamp=2026-11-21T10:15:02 5",
        "BEFORE #a timestamp=2026-11-21 10:15:02Z 5",
        "BEFORE #a timestamp=2026-11-21T10:15:02.Z 5",
        "BEFORE #a timestamp=2026-11-21T10:15:02.12aZ 5",
        "BEFORE #a timestamp=2026-11-21T10:15:02.1234567890Z 5",
        "BEFORE #a timestamp=2026-11-21T10:15:02+01:00 5",
        "BEFORE #a timestamp=２026-11-21T10:15:02Z 5",
        "BEFORE #a timestamp=2026-11-21T10:15:02ZZ 5",
        "TARGETS msgid=1 timestamp=2026-11-21T10:15:02Z 5",
        "BETWEEN #a msgid=1 * 5",
    ] {
        let f = fail(bad);
        assert_eq!(f.code, "INVALID_PARAMS", "{bad}: {f:?}");
        assert_eq!(
            f.context[0],
            bad.split(' ').next().unwrap().to_ascii_uppercase()
        );
    }
}

#[test]
fn limits_are_positive_numbers_of_at_most_nine_digits() {
    for bad in ["0", "-1", "+5", "5x", "", " ", "1e3", "1234567890", "٣"] {
        let line = format!("LATEST #a * {bad}");
        assert_eq!(fail(&line).code, "INVALID_PARAMS", "{line:?}");
    }
    for (good, n) in [("1", 1), ("007", 7), ("999999999", 999_999_999)] {
        let ChatHistory::Page { limit, .. } = ok(&format!("LATEST #a * {good}")) else {
            panic!();
        };
        assert_eq!(limit, n);
    }
}

#[test]
fn refuses_names_that_are_neither_channels_nor_nicknames() {
    for bad in [
        "#",
        "#a b",
        "#with.dot",
        "#é",
        "far-too-long-a-nickname",
        "a!b",
        "",
    ] {
        let mut p = params("BEFORE x msgid=1 5");
        p[1] = bad.to_string();
        let f = parse_chathistory(&p).unwrap_err();
        assert_eq!(f.code, "INVALID_TARGET", "{bad:?}");
        assert_eq!(f.context, ["BEFORE".to_string(), bad.to_string()]);
    }
}

#[test]
fn markread_gets_or_sets() {
    let p = |line: &str| parse_markread(&params(line));
    assert_eq!(
        p("#lobby").unwrap(),
        MarkRead {
            target: Target::Room("lobby".into()),
            named: "#lobby".into(),
            set: None
        }
    );
    assert_eq!(
        p("#lobby timestamp=2026-11-21T10:15:02.123Z").unwrap().set,
        Some(ts("2026-11-21T10:15:02.123Z", 1000))
    );
    assert_eq!(parse_markread(&[]).unwrap_err().code, "NEED_MORE_PARAMS");
    assert_eq!(
        parse_markread(&[String::new()]).unwrap_err().code,
        "NEED_MORE_PARAMS"
    );
    for bad in [
        "#lobby *",
        "#lobby msgid=5",
        "#lobby 2026-11-21T10:15:02Z",
        "#a.b",
        "x!y",
    ] {
        let f = p(bad).unwrap_err();
        assert_eq!((f.command, f.code), ("MARKREAD", "INVALID_PARAMS"), "{bad}");
    }
}

#[test]
fn quoted_parameters_are_cut_on_a_character_boundary() {
    let long = format!("msgid={}", "é".repeat(200));
    let f = parse_chathistory(&["BEFORE".into(), "#a".into(), long, "5".into()]).unwrap_err();
    assert!(f.context[1].len() <= 64, "{}", f.context[1].len());
    assert!(f.context[1].starts_with("msgid=é"));
}

/// Random parameters from a hostile alphabet never panic, and whatever
/// parses holds only what the grammar allows.
#[test]
fn random_parameters_never_panic() {
    let alphabet: Vec<char> = "#*=-:.TZ0123456789msgidtimestampLATESTBEFORE é٣\u{0}"
        .chars()
        .collect();
    let words = [
        "LATEST",
        "BEFORE",
        "AFTER",
        "AROUND",
        "BETWEEN",
        "TARGETS",
        "*",
        "#lobby",
        "msgid=",
        "timestamp=2026-11-21T10:15:02.123Z",
        "timestamp=",
    ];
    for seed in 1..3000u64 {
        let mut rng = Rng::new(seed);
        let n = rng.below(7);
        let p: Vec<String> = (0..n)
            .map(|_| {
                if rng.below(2) == 0 {
                    rng.pick(&words).to_string()
                } else {
                    rng.text(&alphabet, 0..40)
                }
            })
            .collect();
        if let Ok(ChatHistory::Page { limit, .. } | ChatHistory::Targets { limit, .. }) =
            parse_chathistory(&p)
        {
            assert!(limit > 0, "seed {seed}: {p:?}");
        }
        let _ = parse_markread(&p);
    }
}
