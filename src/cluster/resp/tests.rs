//! The RESP decoder against valid values of every kind, every cap at N and
//! N+1, truncated, negative, huge and garbage input, and seeded random
//! streams (which must give a value or an error, never a panic).
#![cfg(test)]

use super::*;

fn parse_all(bytes: &[u8]) -> Result<Option<(Value, usize)>, RespError> {
    parse(bytes, &Limits::default())
}

/// The value in `bytes`, which must be exactly one whole value.
fn value(bytes: &[u8]) -> Value {
    match parse_all(bytes) {
        Ok(Some((v, used))) if used == bytes.len() => v,
        other => panic!("{:?}: {other:?}", String::from_utf8_lossy(bytes)),
    }
}

fn error(bytes: &[u8]) -> RespError {
    match parse_all(bytes) {
        Err(e) => e,
        other => panic!(
            "{:?} should fail: {other:?}",
            String::from_utf8_lossy(bytes)
        ),
    }
}

fn incomplete(bytes: &[u8]) {
    assert_eq!(
        parse_all(bytes),
        Ok(None),
        "{:?}",
        String::from_utf8_lossy(bytes)
    );
}

fn bulk(s: &str) -> Value {
    Value::Bulk(s.as_bytes().to_vec())
}

#[test]
fn parses_every_resp2_kind() {
    assert_eq!(value(b"+OK\r\n"), Value::Simple("OK".into()));
    assert_eq!(value(b"+\r\n"), Value::Simple(String::new()));
    assert_eq!(
        value(b"-ERR no such key\r\n"),
        Value::Error("ERR no such key".into())
    );
    assert_eq!(value(b":0\r\n"), Value::Integer(0));
    assert_eq!(value(b":+7\r\n"), Value::Integer(7));
    assert_eq!(value(b":-42\r\n"), Value::Integer(-42));
    assert_eq!(value(b":9223372036854775807\r\n"), Value::Integer(i64::MAX));
    assert_eq!(
        value(b":-9223372036854775808\r\n"),
        Value::Integer(i64::MIN)
    );
    assert_eq!(value(b"$0\r\n\r\n"), Value::Bulk(Vec::new()));
    assert_eq!(value(b"$-1\r\n"), Value::Null);
    assert_eq!(value(b"*-1\r\n"), Value::Null);
    assert_eq!(value(b"*0\r\n"), Value::Array(Vec::new()));
    assert_eq!(
        value(b"*2\r\n$1\r\na\r\n*1\r\n:1\r\n"),
        Value::Array(vec![bulk("a"), Value::Array(vec![Value::Integer(1)])])
    );
}

#[test]
fn bulk_strings_are_binary_safe() {
    let v = value(b"$6\r\n\r\n\0\xff\r\n\r\n");
    assert_eq!(v, Value::Bulk(b"\r\n\0\xff\r\n".to_vec()));
}

#[test]
fn parses_every_resp3_kind() {
    assert_eq!(value(b"_\r\n"), Value::Null);
    assert_eq!(value(b"#t\r\n"), Value::Boolean(true));
    assert_eq!(value(b"#f\r\n"), Value::Boolean(false));
    assert_eq!(value(b",1.5\r\n"), Value::Double(1.5));
    assert_eq!(value(b",-0.25e2\r\n"), Value::Double(-25.0));
    assert_eq!(value(b",3\r\n"), Value::Double(3.0));
    assert_eq!(value(b",1E-2\r\n"), Value::Double(0.01));
    assert_eq!(value(b",inf\r\n"), Value::Double(f64::INFINITY));
    assert_eq!(value(b",-inf\r\n"), Value::Double(f64::NEG_INFINITY));
    assert!(matches!(value(b",nan\r\n"), Value::Double(d) if d.is_nan()));
    assert_eq!(
        value(b"(3492890328409238509324850943850943825024385\r\n"),
        Value::BigNumber("3492890328409238509324850943850943825024385".into())
    );
    assert_eq!(
        value(b"!21\r\nSYNTAX invalid syntax\r\n"),
        Value::Error("SYNTAX invalid syntax".into())
    );
    assert_eq!(
        value(b"=15\r\ntxt:Some string\r\n"),
        Value::Verbatim {
            format: "txt".into(),
            text: b"Some string".to_vec()
        }
    );
    assert_eq!(
        value(b"%2\r\n+first\r\n:1\r\n$2\r\nk2\r\n#f\r\n"),
        Value::Map(vec![
            (Value::Simple("first".into()), Value::Integer(1)),
            (bulk("k2"), Value::Boolean(false)),
        ])
    );
    assert_eq!(
        value(b"~2\r\n$1\r\nx\r\n$1\r\ny\r\n"),
        Value::Set(vec![bulk("x"), bulk("y")])
    );
    assert_eq!(
        value(b">3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$2\r\nhi\r\n"),
        Value::Push(vec![bulk("message"), bulk("c"), bulk("hi")])
    );
}

#[test]
fn attributes_are_parsed_and_dropped() {
    let attr = b"|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n";
    let mut top = attr.to_vec();
    top.extend_from_slice(b"*1\r\n:2\r\n");
    assert_eq!(value(&top), Value::Array(vec![Value::Integer(2)]));

    // Inside an aggregate, an attribute is not one of its elements.
    let mut inner = b"*2\r\n:1\r\n".to_vec();
    inner.extend_from_slice(attr);
    inner.extend_from_slice(b":2\r\n");
    assert_eq!(
        value(&inner),
        Value::Array(vec![Value::Integer(1), Value::Integer(2)])
    );
    assert_eq!(value(b"|0\r\n:5\r\n"), Value::Integer(5));
}

/// A value exercising every kind, nested, for truncation and round trips.
fn sample() -> Value {
    Value::Array(vec![
        Value::Simple("OK".into()),
        Value::Error("ERR x".into()),
        Value::Integer(-3),
        Value::Bulk(b"a\r\nb".to_vec()),
        Value::Null,
        Value::Double(2.5),
        Value::Boolean(true),
        Value::BigNumber("-123456789012345678901234567890".into()),
        Value::Verbatim {
            format: "mkd".into(),
            text: b"# hi".to_vec(),
        },
        Value::Map(vec![(
            bulk("room"),
            Value::Set(vec![bulk("ann"), Value::Array(Vec::new())]),
        )]),
        Value::Push(vec![bulk("message")]),
    ])
}

#[test]
fn encode_then_parse_round_trips() {
    let mut bytes = Vec::new();
    sample().encode(&mut bytes);
    assert_eq!(value(&bytes), sample());
}

#[test]
fn every_truncation_is_incomplete_never_an_error() {
    let mut bytes = Vec::new();
    sample().encode(&mut bytes);
    for end in 0..bytes.len() {
        incomplete(&bytes[..end]);
    }
}

#[test]
fn decoder_fed_one_byte_at_a_time_gives_each_value_once() {
    let mut bytes = Vec::new();
    sample().encode(&mut bytes);
    bytes.extend_from_slice(b"+PONG\r\n$-1\r\n");
    let mut decoder = Decoder::new(Limits::default());
    let mut got = Vec::new();
    for &b in &bytes {
        decoder.feed(&[b]);
        while let Some(v) = decoder.next_value().unwrap() {
            got.push(v);
        }
    }
    assert_eq!(
        got,
        vec![sample(), Value::Simple("PONG".into()), Value::Null]
    );
    assert!(!decoder.has_partial());
}

#[test]
fn decoder_keeps_its_place_when_earlier_values_are_dropped() {
    let mut decoder = Decoder::new(Limits::default());
    decoder.feed(b"+one\r\n*2\r\n$3\r\nab");
    assert_eq!(decoder.next_value(), Ok(Some(Value::Simple("one".into()))));
    assert_eq!(decoder.next_value(), Ok(None));
    assert!(decoder.has_partial());
    // Feeding compacts the buffer under the half-parsed array.
    decoder.feed(b"c\r\n:9\r\n");
    assert_eq!(
        decoder.next_value(),
        Ok(Some(Value::Array(vec![bulk("abc"), Value::Integer(9)])))
    );
    assert_eq!(decoder.next_value(), Ok(None));
}

#[test]
fn decoder_reads_from_a_reader_in_chunks() {
    let payload = vec![b'x'; 200_000];
    let mut bytes = Vec::new();
    Value::Bulk(payload.clone()).encode(&mut bytes);
    let mut reader = &bytes[..];
    let mut decoder = Decoder::new(Limits::default());
    let mut reads = 0;
    let got = loop {
        if let Some(v) = decoder.next_value().unwrap() {
            break v;
        }
        assert!(decoder.read_from(&mut reader).unwrap() > 0, "ran dry");
        reads += 1;
    };
    assert_eq!(got, Value::Bulk(payload));
    assert!(reads > 1);
}

#[test]
fn decoder_stays_broken_after_an_error() {
    let mut decoder = Decoder::new(Limits::default());
    decoder.feed(b"?what\r\n+OK\r\n");
    let first = decoder.next_value().unwrap_err();
    assert_eq!(first, RespError::UnknownType { byte: b'?' });
    assert_eq!(decoder.next_value(), Err(first));
}

#[test]
fn command_is_an_array_of_bulk_strings() {
    let mut out = Vec::new();
    Command::new("SET")
        .arg("k")
        .arg(b"v\r\n\0")
        .arg("PX")
        .arg_int(1500)
        .encode(&mut out);
    assert_eq!(
        out,
        b"*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$4\r\nv\r\n\0\r\n$2\r\nPX\r\n$4\r\n1500\r\n"
    );
    let cmd = Command::new("DEL").args(["a", "b"]);
    assert_eq!(cmd.name(), "DEL");
    assert_eq!(cmd.parts().len(), 3);
}

// ---- caps at N and N+1, with the default limits ----

#[test]
fn bulk_length_cap_at_default() {
    incomplete(format!("${MAX_BULK_BYTES}\r\n").as_bytes());
    assert_eq!(
        error(format!("${}\r\n", MAX_BULK_BYTES + 1).as_bytes()),
        RespError::BulkTooLong {
            len: MAX_BULK_BYTES as u64 + 1,
            limit: MAX_BULK_BYTES
        }
    );
    // Blob errors and verbatim strings share the cap.
    incomplete(format!("!{MAX_BULK_BYTES}\r\n").as_bytes());
    assert!(matches!(
        error(format!("={}\r\n", MAX_BULK_BYTES + 1).as_bytes()),
        RespError::BulkTooLong { .. }
    ));
}

#[test]
fn bulk_of_exactly_the_cap_is_accepted_whole() {
    let mut bytes = format!("${MAX_BULK_BYTES}\r\n").into_bytes();
    bytes.resize(bytes.len() + MAX_BULK_BYTES, b'z');
    bytes.extend_from_slice(b"\r\n");
    assert!(matches!(value(&bytes), Value::Bulk(b) if b.len() == MAX_BULK_BYTES));
}

#[test]
fn line_cap_at_default() {
    let mut at = b"+".to_vec();
    at.resize(1 + MAX_LINE_BYTES, b'a');
    incomplete(&at);
    let mut whole = at.clone();
    whole.extend_from_slice(b"\r\n");
    assert!(matches!(value(&whole), Value::Simple(s) if s.len() == MAX_LINE_BYTES));

    let mut over = at;
    over.push(b'a');
    let too_long = RespError::LineTooLong {
        limit: MAX_LINE_BYTES,
    };
    assert_eq!(error(&over), too_long);
    over.extend_from_slice(b"\r\n");
    assert_eq!(error(&over), too_long);
}

#[test]
fn aggregate_cap_at_default() {
    for kind in ['*', '~', '>'] {
        incomplete(format!("{kind}{MAX_AGGREGATE_LEN}\r\n").as_bytes());
        assert_eq!(
            error(format!("{kind}{}\r\n", MAX_AGGREGATE_LEN + 1).as_bytes()),
            RespError::TooManyElements {
                len: MAX_AGGREGATE_LEN as u64 + 1,
                limit: MAX_AGGREGATE_LEN
            }
        );
    }
    // A map's pairs count twice.
    let pairs = MAX_AGGREGATE_LEN / 2;
    incomplete(format!("%{pairs}\r\n").as_bytes());
    incomplete(format!("|{pairs}\r\n").as_bytes());
    assert!(matches!(
        error(format!("%{}\r\n", pairs + 1).as_bytes()),
        RespError::TooManyElements { .. }
    ));
}

fn nested(depth: usize, inner: &[u8]) -> Vec<u8> {
    let mut bytes = b"*1\r\n".repeat(depth);
    bytes.extend_from_slice(inner);
    bytes
}

#[test]
fn depth_cap_at_default() {
    assert!(matches!(
        value(&nested(MAX_DEPTH, b":1\r\n")),
        Value::Array(_)
    ));
    let too_deep = RespError::TooDeep { limit: MAX_DEPTH };
    assert_eq!(error(&nested(MAX_DEPTH + 1, b":1\r\n")), too_deep);
    // An empty aggregate is one more level too.
    assert!(matches!(
        value(&nested(MAX_DEPTH - 1, b"%0\r\n")),
        Value::Array(_)
    ));
    assert_eq!(error(&nested(MAX_DEPTH, b"~0\r\n")), too_deep);
    // The error comes as soon as the level opens, before its elements.
    assert_eq!(error(&nested(MAX_DEPTH + 1, b"")), too_deep);
}

// ---- caps at N and N+1, with small limits ----

fn small() -> Limits {
    Limits {
        bulk_bytes: 4,
        line_bytes: 6,
        aggregate_len: 3,
        depth: 2,
        reply_values: 5,
        reply_bytes: 40,
    }
}

fn parse_small(bytes: &[u8]) -> Result<Option<(Value, usize)>, RespError> {
    parse(bytes, &small())
}

#[test]
fn small_limits_hold_at_n_and_fail_at_n_plus_one() {
    let ok = |b: &[u8]| assert!(matches!(parse_small(b), Ok(Some(_))), "{b:?}");
    ok(b"$4\r\nabcd\r\n");
    assert!(matches!(
        parse_small(b"$5\r\nabcde\r\n"),
        Err(RespError::BulkTooLong { len: 5, limit: 4 })
    ));
    ok(b"+abcdef\r\n");
    assert_eq!(
        parse_small(b"+abcdefg\r\n"),
        Err(RespError::LineTooLong { limit: 6 })
    );
    ok(b"*3\r\n:1\r\n:2\r\n:3\r\n");
    assert!(matches!(
        parse_small(b"*4\r\n"),
        Err(RespError::TooManyElements { len: 4, limit: 3 })
    ));
    ok(b"*1\r\n*1\r\n:1\r\n");
    assert_eq!(
        parse_small(b"*1\r\n*1\r\n*1\r\n:1\r\n"),
        Err(RespError::TooDeep { limit: 2 })
    );
}

#[test]
fn reply_value_count_cap_counts_every_level() {
    let limits = Limits {
        aggregate_len: 100,
        ..small()
    };
    // 1 array + 4 integers = 5 values.
    assert!(matches!(
        parse(b"*4\r\n:1\r\n:2\r\n:3\r\n:4\r\n", &limits),
        Ok(Some(_))
    ));
    assert_eq!(
        parse(b"*5\r\n:1\r\n:2\r\n:3\r\n:4\r\n:5\r\n", &limits),
        Err(RespError::TooManyValues { limit: 5 })
    );
    // An attribute's values count too: they cost memory while parsed.
    assert_eq!(
        parse(b"|1\r\n:1\r\n:2\r\n*2\r\n:1\r\n:2\r\n", &limits),
        Err(RespError::TooManyValues { limit: 5 })
    );
}

#[test]
fn reply_byte_cap_whole_and_partial() {
    let limits = Limits {
        bulk_bytes: 1000,
        ..small()
    };
    // "$31\r\n" (5) + 31 + CRLF (2) = 38 bytes; 33 payload bytes make 40.
    let whole = |n: usize| {
        let mut b = format!("${n}\r\n").into_bytes();
        b.resize(b.len() + n, b'q');
        b.extend_from_slice(b"\r\n");
        b
    };
    assert_eq!(whole(33).len(), 40);
    assert!(matches!(parse(&whole(33), &limits), Ok(Some((_, 40)))));
    let over = whole(34);
    assert_eq!(
        parse(&over, &limits),
        Err(RespError::ReplyTooLarge { limit: 40 })
    );
    // Still incomplete at 41 buffered bytes: refused before it completes.
    assert_eq!(
        parse(&over[..41], &limits),
        Err(RespError::ReplyTooLarge { limit: 40 })
    );
    assert_eq!(parse(&over[..40], &limits), Ok(None));
}

// ---- hostile and broken input ----

#[test]
fn rejects_negative_lengths_other_than_null() {
    for bad in [
        &b"$-2\r\n"[..],
        b"$-0\r\n",
        b"*-2\r\n",
        b"%-1\r\n",
        b"~-1\r\n",
        b">-1\r\n",
        b"!-1\r\n",
        b"=-1\r\n",
        b"|-1\r\n",
    ] {
        assert!(
            matches!(error(bad), RespError::BadLength { .. }),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn rejects_malformed_lengths() {
    for bad in [
        &b"$\r\n"[..],
        b"$+5\r\n",
        b"$ 5\r\n",
        b"$05\r\n",
        b"$5 \r\n",
        b"$0x10\r\n",
        b"*\r\n",
        b"*1.0\r\n",
        b"$99999999999999999999999\r\n",
    ] {
        assert!(
            matches!(error(bad), RespError::BadLength { .. }),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}

#[test]
fn rejects_huge_lengths_before_allocating() {
    assert!(matches!(
        error(b"$18446744073709551615\r\n"),
        RespError::BulkTooLong { .. }
    ));
    assert!(matches!(
        error(b"*18446744073709551615\r\n"),
        RespError::TooManyElements { .. }
    ));
    assert!(matches!(
        error(b"%18446744073709551615\r\n"),
        RespError::TooManyElements { .. }
    ));
    assert!(matches!(
        error(b"*9223372036854775807\r\n"),
        RespError::TooManyElements { .. }
    ));
}

/// Input bytes and a check of the error they must give.
type Case = (&'static [u8], fn(&RespError) -> bool);

#[test]
fn rejects_bad_scalars() {
    let cases: &[Case] = &[
        (b":\r\n", |e| matches!(e, RespError::BadInteger { .. })),
        (b":-\r\n", |e| matches!(e, RespError::BadInteger { .. })),
        (b":1a\r\n", |e| matches!(e, RespError::BadInteger { .. })),
        (b": 1\r\n", |e| matches!(e, RespError::BadInteger { .. })),
        (b":9223372036854775808\r\n", |e| {
            matches!(e, RespError::BadInteger { .. })
        }),
        (b",\r\n", |e| matches!(e, RespError::BadDouble { .. })),
        (b",.5\r\n", |e| matches!(e, RespError::BadDouble { .. })),
        (b",1.\r\n", |e| matches!(e, RespError::BadDouble { .. })),
        (b",1e\r\n", |e| matches!(e, RespError::BadDouble { .. })),
        (b",abc\r\n", |e| matches!(e, RespError::BadDouble { .. })),
        (b",infinity\r\n", |e| {
            matches!(e, RespError::BadDouble { .. })
        }),
        (b",NaN\r\n", |e| matches!(e, RespError::BadDouble { .. })),
        (b"#\r\n", |e| matches!(e, RespError::BadLiteral { .. })),
        (b"#x\r\n", |e| matches!(e, RespError::BadLiteral { .. })),
        (b"#tt\r\n", |e| matches!(e, RespError::BadLiteral { .. })),
        (b"_x\r\n", |e| matches!(e, RespError::BadLiteral { .. })),
        (b"(\r\n", |e| matches!(e, RespError::BadBigNumber { .. })),
        (b"(12a\r\n", |e| matches!(e, RespError::BadBigNumber { .. })),
        (b"=3\r\ntxt\r\n", |e| *e == RespError::BadVerbatim),
        (b"=5\r\ntxtab\r\n", |e| *e == RespError::BadVerbatim),
        (b"=5\r\nt\rt:a\r\n", |e| *e == RespError::BadVerbatim),
        (b"+\xff\xfe\r\n", |e| *e == RespError::NotUtf8),
        (b"$?\r\n", |e| *e == RespError::Streamed),
        (b"*?\r\n", |e| *e == RespError::Streamed),
    ];
    for (bytes, expected) in cases {
        let got = error(bytes);
        assert!(
            expected(&got),
            "{:?}: {got:?}",
            String::from_utf8_lossy(bytes)
        );
    }
}

#[test]
fn error_text_that_is_not_utf8_is_kept_lossily() {
    assert_eq!(
        value(b"-ERR unknown command '\xff'\r\n"),
        Value::Error("ERR unknown command '\u{fffd}'".into())
    );
}

#[test]
fn rejects_broken_line_ends() {
    for bad in [
        &b"+OK\n"[..],
        b"+O\rK\r\n",
        b"+OK\r\r\n",
        b":1\n\r",
        b"$1\na\r\n",
    ] {
        assert_eq!(
            error(bad),
            RespError::BadLineEnd,
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    // A CR that is the last byte so far may still be followed by its LF.
    incomplete(b"+OK\r");
}

#[test]
fn rejects_bulk_without_its_crlf() {
    assert_eq!(error(b"$3\r\nabcXY"), RespError::MissingCrlf);
    assert_eq!(error(b"$3\r\nabcd\r\n"), RespError::MissingCrlf);
    incomplete(b"$3\r\nabc\r");
}

#[test]
fn rejects_garbage_at_the_first_byte() {
    for bad in [
        &b"hello\r\n"[..],
        b"\r\n",
        b"\0",
        b" +OK\r\n",
        b"HTTP/1.1 200 OK\r\n",
    ] {
        assert!(
            matches!(error(bad), RespError::UnknownType { .. }),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    // Garbage inside an aggregate, too.
    assert_eq!(
        error(b"*2\r\n:1\r\nX\r\n"),
        RespError::UnknownType { byte: b'X' }
    );
}

#[test]
fn empty_input_is_incomplete() {
    incomplete(b"");
    incomplete(b"*");
    incomplete(b"*3\r\n:1\r\n");
    incomplete(b"%1\r\n:1\r\n");
    incomplete(b"|1\r\n:1\r\n:1\r\n");
}

/// A seeded xorshift generator, so a failing case replays from its seed.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n as u64) as usize
    }
}

#[test]
fn random_streams_never_panic() {
    let fragments: &[&[u8]] = &[
        b"*",
        b"$",
        b"%",
        b"~",
        b">",
        b"|",
        b"+",
        b"-",
        b":",
        b"_",
        b",",
        b"#",
        b"(",
        b"!",
        b"=",
        b"\r\n",
        b"\r",
        b"\n",
        b"1",
        b"2",
        b"0",
        b"-1",
        b"?",
        b"t",
        b"txt:",
        b"inf",
        b"99999999999999999999",
        b"\xff",
        b"a",
    ];
    for seed in 1..400u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1);
        let mut bytes = Vec::new();
        for _ in 0..rng.below(60) {
            bytes.extend_from_slice(fragments[rng.below(fragments.len())]);
        }
        // Whole, and as a stream in random pieces: never a panic, and the
        // decoder's answer matches the one-shot parse of the same bytes.
        let once = parse(&bytes, &small());
        let mut decoder = Decoder::new(small());
        let mut rest = &bytes[..];
        let mut streamed = Ok(None);
        while !rest.is_empty() {
            let (piece, tail) = rest.split_at(1 + rng.below(rest.len()));
            rest = tail;
            decoder.feed(piece);
            streamed = decoder.next_value();
            if !matches!(streamed, Ok(None)) {
                break;
            }
        }
        match (&once, &streamed) {
            (Ok(Some((a, _))), Ok(Some(b))) if format!("{a:?}") == format!("{b:?}") => {}
            (Ok(None), Ok(None)) => {}
            (Err(a), Err(b)) if a == b => {}
            _ => panic!("seed {seed}: one-shot {once:?}, streamed {streamed:?}"),
        }
    }
}

#[test]
fn random_values_round_trip_and_mutations_never_panic() {
    fn gen(rng: &mut Rng, depth: usize) -> Value {
        match rng.below(if depth > 3 { 8 } else { 12 }) {
            0 => Value::Simple("s".repeat(rng.below(4))),
            1 => Value::Error("ERR".into()),
            2 => Value::Integer(rng.below(1000) as i64 - 500),
            3 => Value::Bulk(vec![b'\r'; rng.below(5)]),
            4 => Value::Null,
            5 => Value::Double(rng.below(100) as f64 / 8.0),
            6 => Value::Boolean(rng.below(2) == 1),
            7 => Value::BigNumber("1".repeat(1 + rng.below(30))),
            8 => Value::Array((0..rng.below(4)).map(|_| gen(rng, depth + 1)).collect()),
            9 => Value::Set((0..rng.below(3)).map(|_| gen(rng, depth + 1)).collect()),
            10 => Value::Push((0..rng.below(3)).map(|_| gen(rng, depth + 1)).collect()),
            _ => Value::Map(
                (0..rng.below(3))
                    .map(|_| (gen(rng, depth + 1), gen(rng, depth + 1)))
                    .collect(),
            ),
        }
    }
    for seed in 1..300u64 {
        let mut rng = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) | 1);
        let v = gen(&mut rng, 0);
        let mut bytes = Vec::new();
        v.encode(&mut bytes);
        assert_eq!(value(&bytes), v, "seed {seed}");
        for _ in 0..8 {
            let mut mutated = bytes.clone();
            let at = rng.below(mutated.len());
            mutated[at] = b"*$:\r\n-1x"[rng.below(8)];
            let _ = parse_all(&mutated);
            mutated.truncate(rng.below(mutated.len() + 1));
            let _ = parse_all(&mutated);
        }
    }
}
