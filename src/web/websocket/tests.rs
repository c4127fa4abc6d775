//! The cases an Autobahn-style suite checks, on byte slices: framing,
//! pings and pongs, reserved bits, opcodes, fragmentation, UTF-8 (split
//! code points too), close payloads and codes, limits, and masking.
#![cfg(test)]

use super::*;

const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A raw frame with every bit chosen, masked with `KEY` when `masked`.
fn raw(b0: u8, payload: &[u8], masked: bool) -> Vec<u8> {
    let mut out = Vec::new();
    let mask = masked.then_some(KEY);
    encode_frame(&mut out, true, Opcode::Text, payload, mask);
    out[0] = b0;
    out
}

/// A client (masked) frame: FIN bit, opcode.
fn client(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    raw(u8::from(fin) << 7 | opcode, payload, true)
}

fn read_all(bytes: &[u8], limit: usize) -> (Vec<Message>, Option<WsError>) {
    let mut reader = Reader::new(bytes, Role::Server, limit);
    let mut messages = Vec::new();
    loop {
        match reader.read_message() {
            Ok(Some(m)) => messages.push(m),
            Ok(None) => return (messages, None),
            Err(e) => return (messages, Some(e)),
        }
    }
}

fn messages(bytes: &[u8]) -> Vec<Message> {
    let (messages, err) = read_all(bytes, MAX_MESSAGE_BYTES);
    assert!(err.is_none(), "unexpected error {err:?}");
    messages
}

/// The close code the reader's error calls for.
fn code(bytes: &[u8]) -> u16 {
    let (_, err) = read_all(bytes, MAX_MESSAGE_BYTES);
    err.and_then(|e| e.close_code()).map_or(0, |c| c.0)
}

fn cat(frames: &[Vec<u8>]) -> Vec<u8> {
    frames.concat()
}

/// A reader that hands out one byte per call, as a slow network might.
struct OneByte<'a>(&'a [u8]);

impl Read for OneByte<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match (self.0.split_first(), buf.first_mut()) {
            (Some((b, rest)), Some(slot)) => {
                *slot = *b;
                self.0 = rest;
                Ok(1)
            }
            _ => Ok(0),
        }
    }
}

// 1. Framing

#[test]
fn text_and_binary_of_every_length_class() {
    for len in [0usize, 1, 125, 126, 127, 65_535, 65_536] {
        let text = "x".repeat(len);
        assert_eq!(
            messages(&client(true, 1, text.as_bytes())),
            [Message::Text(text)],
            "{len}"
        );
        let data = vec![0xfe; len];
        assert_eq!(messages(&client(true, 2, &data)), [Message::Binary(data)]);
    }
}

#[test]
fn frames_arriving_a_byte_at_a_time() {
    let bytes = cat(&[
        client(false, 1, "héllo ".as_bytes()),
        client(true, 0, "wörld".as_bytes()),
    ]);
    let mut reader = Reader::new(OneByte(&bytes), Role::Server, 1024);
    assert_eq!(
        reader.read_message().unwrap(),
        Some(Message::Text("héllo wörld".into()))
    );
    assert_eq!(reader.read_message().unwrap(), None);
}

#[test]
fn eof_between_frames_is_clean_and_inside_one_is_not() {
    assert_eq!(read_all(b"", 10).0, []);
    let frame = client(true, 1, b"hello");
    for cut in 1..frame.len() {
        let (_, err) = read_all(&frame[..cut], 100);
        assert!(
            matches!(err, Some(WsError::UnexpectedEof)),
            "cut at {cut}: {err:?}"
        );
    }
    // The message's first fragment only.
    let (_, err) = read_all(&client(false, 1, b"hel"), 100);
    assert!(matches!(err, Some(WsError::UnexpectedEof)));
}

#[test]
fn lengths_must_be_in_their_shortest_form() {
    // 5 bytes announced with the 16-bit form.
    let mut bytes = vec![0x81, 0x80 | 126, 0, 5];
    bytes.extend_from_slice(&KEY);
    bytes.extend_from_slice(b"hello");
    assert_eq!(code(&bytes), 1002);
    // 200 bytes announced with the 64-bit form.
    let mut bytes = vec![0x82, 0x80 | 127];
    bytes.extend_from_slice(&200u64.to_be_bytes());
    bytes.extend_from_slice(&KEY);
    bytes.extend_from_slice(&[0; 200]);
    assert_eq!(code(&bytes), 1002);
    // The 64-bit form with its top bit set.
    let mut bytes = vec![0x82, 0x80 | 127];
    bytes.extend_from_slice(&(1u64 << 63 | 70_000).to_be_bytes());
    assert_eq!(code(&bytes), 1002);
}

// 2. Pings and pongs

#[test]
fn pings_and_pongs_up_to_125_bytes() {
    assert_eq!(messages(&client(true, 9, b"")), [Message::Ping(vec![])]);
    let payload = vec![0xff; 125];
    assert_eq!(
        messages(&client(true, 9, &payload)),
        [Message::Ping(payload.clone())]
    );
    assert_eq!(
        messages(&client(true, 0xA, b"x")),
        [Message::Pong(b"x".to_vec())]
    );
    assert_eq!(code(&client(true, 9, &[0; 126])), 1002);
    assert_eq!(code(&client(true, 0xA, &[0; 126])), 1002);
    assert_eq!(code(&client(false, 9, b"frag")), 1002);
    assert_eq!(code(&client(false, 0xA, b"frag")), 1002);
}

#[test]
fn a_ping_is_answered_with_the_same_payload_unmasked() {
    let mut out = Vec::new();
    let mut writer = Writer::new(&mut out, Role::Server).unwrap();
    writer
        .answer(&Message::Ping(b"are you there".to_vec()))
        .unwrap();
    assert_eq!(out[0], 0x8A);
    assert_eq!(out[1], 13, "server frames are not masked");
    assert_eq!(&out[2..], b"are you there");
}

// 3. Reserved bits

#[test]
fn reserved_bits_are_refused_on_any_frame() {
    for rsv in [0x40, 0x20, 0x10, 0x70] {
        assert_eq!(code(&raw(0x81 | rsv, b"hi", true)), 1002, "text {rsv:#x}");
        assert_eq!(code(&raw(0x89 | rsv, b"", true)), 1002, "ping {rsv:#x}");
        assert_eq!(code(&raw(0x82 | rsv, b"", true)), 1002, "binary {rsv:#x}");
    }
    // A good message first is still delivered.
    let bytes = cat(&[client(true, 1, b"ok"), raw(0xC1, b"x", true)]);
    let (got, err) = read_all(&bytes, 100);
    assert_eq!(got, [Message::Text("ok".into())]);
    assert_eq!(
        err.and_then(|e| e.close_code()),
        Some(CloseCode::PROTOCOL_ERROR)
    );
}

// 4. Opcodes

#[test]
fn reserved_opcodes_are_refused() {
    for opcode in [3u8, 4, 5, 6, 7, 0xB, 0xC, 0xD, 0xE, 0xF] {
        assert_eq!(code(&client(true, opcode, b"")), 1002, "{opcode:#x}");
        assert_eq!(code(&client(true, opcode, b"payload")), 1002, "{opcode:#x}");
    }
}

// 5. Fragmentation

#[test]
fn fragments_make_one_message_with_control_frames_between() {
    let bytes = cat(&[
        client(false, 1, b"fr"),
        client(true, 9, b"p1"),
        client(false, 0, b"ag"),
        client(true, 0xA, b"p2"),
        client(true, 0, b"ments"),
    ]);
    assert_eq!(
        messages(&bytes),
        [
            Message::Ping(b"p1".to_vec()),
            Message::Pong(b"p2".to_vec()),
            Message::Text("fragments".into())
        ]
    );
    // Empty fragments are fine, also the first and the last.
    let bytes = cat(&[
        client(false, 2, b""),
        client(false, 0, b"ab"),
        client(true, 0, b""),
    ]);
    assert_eq!(messages(&bytes), [Message::Binary(b"ab".to_vec())]);
}

#[test]
fn continuation_without_a_message_is_refused() {
    assert_eq!(code(&client(true, 0, b"x")), 1002);
    assert_eq!(code(&client(false, 0, b"x")), 1002);
    let bytes = cat(&[client(true, 1, b"done"), client(true, 0, b"late")]);
    assert_eq!(code(&bytes), 1002);
}

#[test]
fn a_new_message_inside_a_fragmented_one_is_refused() {
    let bytes = cat(&[client(false, 1, b"a"), client(true, 1, b"b")]);
    assert_eq!(code(&bytes), 1002);
    let bytes = cat(&[client(false, 2, b"a"), client(false, 2, b"b")]);
    assert_eq!(code(&bytes), 1002);
}

// 6. UTF-8

#[test]
fn valid_utf8_split_at_every_byte_across_fragments() {
    let text = "κόσμε €𝄞 ok";
    let bytes = text.as_bytes();
    for cut in 0..=bytes.len() {
        let frames = cat(&[
            client(false, 1, &bytes[..cut]),
            client(true, 0, &bytes[cut..]),
        ]);
        assert_eq!(messages(&frames), [Message::Text(text.into())], "cut {cut}");
    }
    // One byte per fragment.
    let mut frames: Vec<Vec<u8>> = bytes
        .iter()
        .enumerate()
        .map(|(i, b)| client(false, if i == 0 { 1 } else { 0 }, &[*b]))
        .collect();
    frames.push(client(true, 0, b""));
    assert_eq!(messages(&cat(&frames)), [Message::Text(text.into())]);
}

#[test]
fn invalid_utf8_is_1007() {
    let bad: [&[u8]; 12] = [
        b"\x80",                 // lone continuation byte
        b"\xc0\x80",             // overlong NUL
        b"\xc1\xbf",             // overlong
        b"\xe0\x80\x80",         // overlong three bytes
        b"\xf0\x80\x80\x80",     // overlong four bytes
        b"\xed\xa0\x80",         // surrogate U+D800
        b"\xed\xbf\xbf",         // surrogate U+DFFF
        b"\xf4\x90\x80\x80",     // U+110000
        b"\xf8\x88\x80\x80\x80", // five-byte form
        b"\xfe",
        b"\xce\xba\xe1\xbd", // message ends inside a code point
        b"ok\xe2\x82",       // same, after valid text
    ];
    for bytes in bad {
        assert_eq!(code(&client(true, 1, bytes)), 1007, "{bytes:x?}");
        // Split across two fragments as well.
        let frames = cat(&[client(false, 1, &bytes[..1]), client(true, 0, &bytes[1..])]);
        assert_eq!(code(&frames), 1007, "split {bytes:x?}");
    }
    // Binary messages are not checked.
    assert_eq!(
        messages(&client(true, 2, b"\xff")),
        [Message::Binary(vec![0xff])]
    );
}

#[test]
fn invalid_utf8_fails_fast_before_the_message_ends() {
    // The first fragment is already impossible; the rest never comes.
    let (_, err) = read_all(&client(false, 1, b"ok\xed\xa0"), 100);
    assert!(matches!(err, Some(WsError::InvalidUtf8)), "{err:?}");
    let (_, err) = read_all(&client(false, 1, b"\xf4\x90"), 100);
    assert!(matches!(err, Some(WsError::InvalidUtf8)), "{err:?}");
    // A valid prefix waits for more.
    let (_, err) = read_all(&client(false, 1, b"ok\xf0\x9d"), 100);
    assert!(matches!(err, Some(WsError::UnexpectedEof)), "{err:?}");
}

// 7. Close

#[test]
fn close_frames_with_and_without_a_code() {
    assert_eq!(messages(&client(true, 8, b"")), [Message::Close(None)]);
    let mut payload = 1000u16.to_be_bytes().to_vec();
    payload.extend_from_slice("bye ✓".as_bytes());
    assert_eq!(
        messages(&client(true, 8, &payload)),
        [Message::Close(Some(CloseFrame {
            code: CloseCode::NORMAL,
            reason: "bye ✓".into()
        }))]
    );
}

#[test]
fn nothing_is_read_after_a_close() {
    let bytes = cat(&[
        client(true, 8, b""),
        client(true, 1, b"after"),
        b"garbage".to_vec(),
    ]);
    assert_eq!(messages(&bytes), [Message::Close(None)]);
}

#[test]
fn close_codes_on_the_wire() {
    for valid in [
        1000u16, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 3000, 3999, 4000, 4999,
    ] {
        let (got, err) = read_all(&client(true, 8, &valid.to_be_bytes()), 100);
        assert!(err.is_none(), "{valid}");
        assert!(matches!(&got[..], [Message::Close(Some(c))] if c.code.0 == valid));
    }
    for invalid in [
        0u16, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
    ] {
        assert_eq!(
            code(&client(true, 8, &invalid.to_be_bytes())),
            1002,
            "{invalid}"
        );
    }
}

#[test]
fn malformed_close_payloads() {
    assert_eq!(code(&client(true, 8, &[0x03])), 1002, "one byte");
    let mut payload = 1000u16.to_be_bytes().to_vec();
    payload.extend_from_slice(b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80");
    assert_eq!(code(&client(true, 8, &payload)), 1007, "reason not UTF-8");
    let mut long = 1000u16.to_be_bytes().to_vec();
    long.extend_from_slice(&[b'a'; 124]);
    assert_eq!(code(&client(true, 8, &long)), 1002, "126 bytes");
    assert_eq!(
        code(&client(false, 8, &1000u16.to_be_bytes())),
        1002,
        "fragmented"
    );
}

#[test]
fn the_close_handshake_echoes_the_code() {
    let mut out = Vec::new();
    let mut writer = Writer::new(&mut out, Role::Server).unwrap();
    let close = CloseFrame {
        code: CloseCode::GOING_AWAY,
        reason: "tab closed".into(),
    };
    writer.answer(&Message::Close(Some(close))).unwrap();
    writer.answer(&Message::Close(None)).unwrap();
    assert_eq!(out, [0x88, 2, 0x03, 0xE9, 0x88, 2, 0x03, 0xE8]);
}

#[test]
fn close_reasons_are_cut_to_fit_a_control_frame() {
    let reason = "é".repeat(100); // 200 bytes
    let payload = close_payload(CloseCode::NORMAL, &reason);
    assert!(payload.len() <= MAX_CONTROL_PAYLOAD);
    assert_eq!(payload.len(), 2 + 122, "cut on a character boundary");
    assert!(parse_close_payload(&payload).is_ok());
}

// 9. Limits

#[test]
fn a_message_over_the_limit_is_1009_before_its_payload_is_read() {
    assert_eq!(
        read_all(&client(true, 2, &[1; 100]), 100)
            .1
            .map(|e| e.close_code()),
        None
    );
    let (_, err) = read_all(&client(true, 2, &[1; 101]), 100);
    assert_eq!(
        err.and_then(|e| e.close_code()),
        Some(CloseCode::MESSAGE_TOO_BIG)
    );
    // A header announcing 2^62 bytes, and no payload at all: refused on
    // the header alone, nothing allocated.
    let mut bytes = vec![0x82, 0x80 | 127];
    bytes.extend_from_slice(&(1u64 << 62).to_be_bytes());
    bytes.extend_from_slice(&KEY);
    assert!(matches!(
        read_all(&bytes, 100).1,
        Some(WsError::TooBig { .. })
    ));
}

#[test]
fn the_limit_counts_every_fragment() {
    let fits = cat(&[client(false, 1, &[b'a'; 60]), client(true, 0, &[b'b'; 40])]);
    assert!(read_all(&fits, 100).1.is_none());
    let over = cat(&[client(false, 1, &[b'a'; 60]), client(true, 0, &[b'b'; 41])]);
    assert_eq!(
        read_all(&over, 100)
            .1
            .and_then(|e| e.close_code())
            .map(|c| c.0),
        Some(1009)
    );
}

// Masking

#[test]
fn a_server_requires_masked_frames_and_a_client_unmasked_ones() {
    assert_eq!(code(&raw(0x81, b"hi", false)), 1002);
    assert_eq!(code(&raw(0x89, b"", false)), 1002);
    let masked = raw(0x81, b"hi", true);
    let mut reader = Reader::new(&masked[..], Role::Client, 100);
    assert!(matches!(
        reader.read_message(),
        Err(WsError::Protocol { .. })
    ));
    let unmasked = raw(0x81, b"hi", false);
    let mut reader = Reader::new(&unmasked[..], Role::Client, 100);
    assert_eq!(
        reader.read_message().unwrap(),
        Some(Message::Text("hi".into()))
    );
}

#[test]
fn client_writer_frames_round_trip_through_a_server_reader() {
    let mut wire = Vec::new();
    {
        let mut writer = Writer::new(&mut wire, Role::Client).unwrap();
        for len in [0usize, 125, 126, 65_535, 65_536] {
            writer.send_text(&"ü".repeat(len / 2)).unwrap();
        }
        writer.send(Opcode::Binary, &[0, 1, 2]).unwrap();
        writer.send_close(CloseCode::NORMAL, "done").unwrap();
    }
    assert_ne!(wire[1] & 0x80, 0, "client frames are masked");
    let got = messages(&wire);
    assert_eq!(got.len(), 7);
    assert_eq!(got[3], Message::Text("ü".repeat(65_535 / 2)));
    assert_eq!(got[5], Message::Binary(vec![0, 1, 2]));
    assert!(matches!(&got[6], Message::Close(Some(c)) if c.reason == "done"));
}

#[test]
fn server_text_frames_are_unmasked_with_the_right_length_form() {
    assert_eq!(encode_server_text("hi"), [0x81, 2, b'h', b'i']);
    let frame = encode_server_text(&"a".repeat(300));
    assert_eq!(&frame[..4], [0x81, 126, 0x01, 0x2C]);
    let frame = encode_server_text(&"a".repeat(70_000));
    assert_eq!(frame[1], 127);
    assert_eq!(&frame[2..10], 70_000u64.to_be_bytes());
    let mut reader = Reader::new(&frame[..], Role::Client, 100_000);
    assert!(matches!(reader.read_message(), Ok(Some(Message::Text(t))) if t.len() == 70_000));
}

#[test]
fn random_bytes_never_panic() {
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    let seed = cat(&[
        client(false, 1, "hé".as_bytes()),
        client(true, 9, b"p"),
        client(true, 0, b"llo"),
    ]);
    for _ in 0..5000 {
        let mut bytes = seed.clone();
        for _ in 0..(next() % 4 + 1) {
            let i = (next() as usize) % bytes.len();
            bytes[i] = next() as u8;
        }
        let _ = read_all(&bytes, 64);
    }
}

// The buffer-based decoder: the same rules as the reader.

/// Feeds `bytes` to a [`Decoder`] `step` bytes at a time, as a socket
/// might deliver them, taking every frame as soon as it is whole. A stream
/// that ends inside a frame or a message is `UnexpectedEof`, as the
/// reader says.
fn decode_all(bytes: &[u8], limit: usize, step: usize) -> (Vec<Message>, Option<WsError>) {
    let mut decoder = Decoder::new(Role::Server, limit);
    let (mut buf, mut fed, mut out) = (Vec::new(), 0, Vec::new());
    loop {
        match decoder.decode(&buf) {
            Err(e) => return (out, Some(e)),
            Ok(Decoded { consumed: 0, .. }) => {
                if decoder.is_closed() {
                    return (out, None);
                }
                if fed == bytes.len() {
                    let torn = !buf.is_empty() || decoder.is_mid_message();
                    return (out, torn.then_some(WsError::UnexpectedEof));
                }
                let n = step.min(bytes.len() - fed);
                buf.extend_from_slice(&bytes[fed..fed + n]);
                fed += n;
            }
            Ok(Decoded { consumed, message }) => {
                buf.drain(..consumed);
                out.extend(message);
            }
        }
    }
}

/// The reader's and the decoder's verdicts on `bytes`, which must agree.
fn assert_same_verdict(bytes: &[u8], limit: usize) {
    let (want, want_err) = read_all(bytes, limit);
    let want_code = want_err.as_ref().map(|e| e.close_code());
    for step in [1, 3, bytes.len().max(1)] {
        let (got, err) = decode_all(bytes, limit, step);
        assert_eq!(got, want, "messages, step {step}, {bytes:x?}");
        assert_eq!(
            err.as_ref().map(|e| e.close_code()),
            want_code,
            "error, step {step}: {err:?} vs {want_err:?}"
        );
    }
}

#[test]
fn the_decoder_agrees_with_the_reader() {
    let mut text_1009 = vec![0x81, 0x80 | 127];
    text_1009.extend_from_slice(&(1u64 << 40).to_be_bytes());
    let cases: Vec<Vec<u8>> = vec![
        client(true, 1, b"hello"),
        client(true, 2, &[0xfe; 300]),
        cat(&[
            client(false, 1, "hé".as_bytes()),
            client(true, 9, b"p"),
            client(true, 0, b"llo"),
        ]),
        cat(&[
            client(false, 1, &"κόσμε".as_bytes()[..3]),
            client(true, 0, &"κόσμε".as_bytes()[3..]),
        ]),
        client(true, 1, b"\xed\xa0\x80"),
        client(false, 1, b"ok\xed\xa0"),
        client(true, 0, b"x"),
        cat(&[client(false, 1, b"a"), client(true, 1, b"b")]),
        raw(0xC1, b"x", true),
        raw(0x81, b"hi", false),
        client(true, 3, b""),
        client(false, 9, b"frag"),
        client(true, 9, &[0; 126]),
        client(true, 8, &[0x03]),
        client(true, 8, &1005u16.to_be_bytes()),
        cat(&[client(true, 8, b""), client(true, 1, b"after")]),
        client(true, 2, &[1; 101]),
        cat(&[client(false, 1, &[b'a'; 60]), client(true, 0, &[b'b'; 41])]),
        text_1009,
        client(true, 1, b"hello")[..4].to_vec(),
        client(false, 1, b"hel"),
    ];
    for case in &cases {
        assert_same_verdict(case, 100);
    }
    // And on the random mutations the reader is fuzzed with.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..2000 {
        let mut bytes = cases[(next() % 4) as usize].clone();
        for _ in 0..(next() % 3 + 1) {
            let i = (next() as usize) % bytes.len();
            bytes[i] = next() as u8;
        }
        assert_same_verdict(&bytes, 100);
    }
}

#[test]
fn the_decoder_waits_for_a_whole_frame_and_takes_one_at_a_time() {
    let two = cat(&[client(true, 1, b"one"), client(true, 1, b"two")]);
    let mut decoder = Decoder::new(Role::Server, 100);
    let first_len = client(true, 1, b"one").len();
    for cut in 0..first_len {
        let d = decoder.decode(&two[..cut]).unwrap();
        assert_eq!(d.consumed, 0, "cut {cut}");
    }
    let d = decoder.decode(&two).unwrap();
    assert_eq!(d.consumed, first_len);
    assert_eq!(d.message, Some(Message::Text("one".into())));
    let d = decoder.decode(&two[first_len..]).unwrap();
    assert_eq!(d.message, Some(Message::Text("two".into())));
    // A fragment is taken without a message.
    let frag = client(false, 1, b"par");
    let d = decoder.decode(&frag).unwrap();
    assert_eq!((d.consumed, d.message), (frag.len(), None));
    assert!(decoder.is_mid_message());
}

/// Looking ahead finds what `decode` would take as a whole text message,
/// and nothing else, and changes nothing.
#[test]
fn peeking_finds_only_whole_text_messages_and_changes_nothing() {
    let mut decoder = Decoder::new(Role::Server, 100);
    let one = client(true, 1, b"one");
    let two = cat(&[one.clone(), client(true, 1, b"two")]);
    assert_eq!(decoder.peek_text(&two), Some(("one".into(), one.len())));
    assert_eq!(
        decoder.peek_text(&two[one.len()..]).map(|p| p.0),
        Some("two".into())
    );
    for cut in 0..one.len() {
        assert_eq!(decoder.peek_text(&one[..cut]), None, "cut {cut}");
    }
    let others = [
        client(false, 1, b"par"),       // a fragment
        client(true, 2, b"bin"),        // binary
        client(true, 9, b"ping"),       // control
        raw(0x81, b"bare", false),      // not masked
        client(true, 1, &[0xff, 0xfe]), // not UTF-8
        client(true, 1, &[b'x'; 101]),  // over the limit
    ];
    for frame in &others {
        assert_eq!(decoder.peek_text(frame), None, "{frame:?}");
    }
    // Peeking took nothing: decode still sees the first message.
    let d = decoder.decode(&two).unwrap();
    assert_eq!(d.message, Some(Message::Text("one".into())));
    // Inside a fragmented message, a whole text frame is not one to take.
    decoder.decode(&client(false, 1, b"par")).unwrap();
    assert_eq!(decoder.peek_text(&one), None);
}

#[test]
fn the_decoder_refuses_on_the_header_before_the_payload_arrives() {
    // 1009: a header announcing more than the limit, payload not sent.
    let mut header = vec![0x82, 0x80 | 126];
    header.extend_from_slice(&200u16.to_be_bytes());
    header.extend_from_slice(&KEY);
    let mut decoder = Decoder::new(Role::Server, 100);
    assert!(matches!(
        decoder.decode(&header),
        Err(WsError::TooBig { len: 200, .. })
    ));
    // 1002 on the first byte alone: reserved bits, reserved opcodes.
    for first in [0xC1u8, 0x83, 0x09] {
        let mut decoder = Decoder::new(Role::Server, 100);
        let err = decoder.decode(&[first]).unwrap_err();
        assert_eq!(
            err.close_code(),
            Some(CloseCode::PROTOCOL_ERROR),
            "{first:#x}"
        );
    }
    // An unmasked client frame, once its header is in.
    let mut decoder = Decoder::new(Role::Server, 100);
    assert_eq!(decoder.decode(&[0x81]).unwrap().consumed, 0);
    assert!(decoder.decode(&[0x81, 0x05]).is_err());
    assert_eq!(
        decoder.max_frame_bytes(),
        MAX_HEADER_BYTES + 100,
        "a buffer of this size always holds a frame or an error"
    );
}

#[test]
fn nothing_is_decoded_after_a_close() {
    let bytes = cat(&[client(true, 8, b""), client(true, 1, b"after")]);
    let mut decoder = Decoder::new(Role::Server, 100);
    let d = decoder.decode(&bytes).unwrap();
    assert_eq!(d.message, Some(Message::Close(None)));
    assert!(decoder.is_closed());
    assert_eq!(decoder.decode(&bytes[d.consumed..]).unwrap().consumed, 0);
}
