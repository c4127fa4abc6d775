//! Tests of `ws`: the frame scanner on well-formed and hostile frames,
//! fragments, client frames, the upgrade answer, and the wire over a socket.
#![cfg(test)]

use super::*;
use crate::protocol::Frame;
use crate::web::websocket::{close_payload, CloseCode};

/// A server frame (unmasked).
fn server(fin: bool, opcode: Opcode, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    encode_frame(&mut out, fin, opcode, payload, None);
    out
}

fn message(text: &str) -> Vec<u8> {
    Frame::request("MESSAGE", "/rooms/lobby")
        .with_header("From", "b0001")
        .with_text(text)
        .encode()
}

#[test]
fn text_messages_carry_chat_frames() {
    let mut bytes = server(true, Opcode::Text, &message("123 xx"));
    let len = bytes.len();
    bytes.extend_from_slice(b"\x81");
    let (msg, used) = parse_ws(&bytes).ok().flatten().expect("a message");
    assert_eq!(used, len);
    assert_eq!(
        msg,
        Inbound::Delivery {
            room: "lobby",
            history: false,
            body: b"123 xx"
        }
    );
    let ok = server(
        true,
        Opcode::Text,
        b"CHAT/1.0 200 OK\r\nContent-Length: 0\r\n\r\n",
    );
    assert!(matches!(
        parse_ws(&ok),
        Ok(Some((Inbound::Reply { code: 200, .. }, _)))
    ));
    // A long body takes the 16-bit length form.
    let long = server(true, Opcode::Text, &message(&"9".repeat(300)));
    assert_eq!(long[1], 126);
    assert!(matches!(parse_ws(&long), Ok(Some((Inbound::Delivery { .. }, n))) if n == long.len()));
}

#[test]
fn waits_for_whole_frames() {
    let bytes = server(true, Opcode::Text, &message(&"7".repeat(200)));
    for cut in 0..bytes.len() {
        assert_eq!(parse_ws(&bytes[..cut]), Ok(None), "cut at {cut}");
    }
}

#[test]
fn control_frames() {
    let ping = server(true, Opcode::Ping, b"chat");
    let Ok(Some((Inbound::Ping(pong), 6))) = parse_ws(&ping) else {
        panic!("a ping");
    };
    // A masked pong echoing the payload.
    let (header, at) = FrameHeader::parse(&pong).ok().flatten().expect("a header");
    assert_eq!(
        (header.opcode, header.fin, header.len),
        (Opcode::Pong, true, 4)
    );
    let key = header.mask.expect("clients mask");
    let echoed: Vec<u8> = pong[at..]
        .iter()
        .zip(key.iter().cycle())
        .map(|(b, k)| b ^ k)
        .collect();
    assert_eq!(echoed, b"chat");
    assert_eq!(
        parse_ws(&server(true, Opcode::Pong, b"x")),
        Ok(Some((Inbound::Other, 3)))
    );
    let close = server(
        true,
        Opcode::Close,
        &close_payload(CloseCode::GOING_AWAY, "bye"),
    );
    assert_eq!(
        parse_ws(&close).map(|m| m.map(|m| m.0)),
        Ok(Some(Inbound::Closing("WebSocket close 1001: bye".into())))
    );
    assert_eq!(
        parse_ws(&server(true, Opcode::Close, b"")).map(|m| m.map(|m| m.0)),
        Ok(Some(Inbound::Closing("WebSocket close".into())))
    );
    // A chat PING inside a message is answered by a PONG inside one.
    let chat_ping = server(true, Opcode::Text, &Frame::request("PING", "/").encode());
    let Ok(Some((Inbound::Ping(pong), _))) = parse_ws(&chat_ping) else {
        panic!("a chat ping");
    };
    assert_eq!(pong[0], 0x81, "a final text frame");
    assert_ne!(pong[1] & 0x80, 0, "masked");
}

#[test]
fn rejects_hostile_frames() {
    let two = [message("1 a"), message("2 b")].concat();
    let mut masked = Vec::new();
    encode_frame(
        &mut masked,
        true,
        Opcode::Text,
        &message("1 a"),
        Some([1, 2, 3, 4]),
    );
    let mut huge = vec![0x81, 127];
    huge.extend_from_slice(&(MAX_MESSAGE_BYTES as u64 + 1).to_be_bytes());
    let mut top_bit = vec![0x81, 127];
    top_bit.extend_from_slice(&u64::MAX.to_be_bytes());
    let bad: Vec<Vec<u8>> = vec![
        masked,
        huge,
        top_bit,
        vec![0x81, 126, 0, 5],   // 16-bit form for a short length
        vec![0xC1, 0],           // a reserved bit
        vec![0x83, 0],           // a reserved opcode
        vec![0x09, 0],           // a fragmented ping
        vec![0x89, 126, 0, 126], // a ping over 125 bytes
        server(true, Opcode::Binary, b"xx"),
        server(true, Opcode::Text, &two), // two chat frames in one message
        server(true, Opcode::Text, &message("1 a")[..20]), // a chat frame cut short
        server(true, Opcode::Text, b"garbage\r\n\r\n"),
        server(true, Opcode::Close, b"\x03"), // a one-byte close payload
        server(false, Opcode::Text, b"part"), // fragments are the assembly's
        server(true, Opcode::Continuation, b"part"),
    ];
    for bytes in bad {
        assert!(parse_ws(&bytes).is_err(), "{bytes:?}");
    }
    // A frame announced over the cap fails on its header alone.
    let mut announced = vec![0x81, 127];
    announced.extend_from_slice(&(1u64 << 40).to_be_bytes());
    assert!(parse_ws(&announced).is_err());
}

#[test]
fn fragments_are_put_together_around_control_frames() {
    let chat = message("42 fragmented");
    let (a, rest) = chat.split_at(10);
    let (b, c) = rest.split_at(7);
    let ping = server(true, Opcode::Ping, b"p");
    let mut bytes = server(false, Opcode::Text, a);
    bytes.extend(server(false, Opcode::Continuation, b));
    let control_at = bytes.len();
    bytes.extend(&ping);
    bytes.extend(server(true, Opcode::Continuation, c));
    let after = bytes.len();
    bytes.extend(server(true, Opcode::Pong, b""));

    let mut assembly = Assembly::default();
    // Cut anywhere, the assembly takes only whole fragments.
    for cut in 0..control_at {
        let mut partial = Assembly::default();
        let taken = partial.gather(&bytes[..cut]);
        assert!(taken <= cut && partial.message().is_none());
    }
    assert_eq!(assembly.gather(&bytes), control_at, "stops at the ping");
    assert!(assembly.message().is_none());
    assert!(matches!(
        parse_ws(&bytes[control_at..]),
        Ok(Some((Inbound::Ping(_), 3)))
    ));
    let pos = control_at + 3;
    assert_eq!(assembly.gather(&bytes[pos..]), after - pos);
    assert_eq!(
        assembly.gather(&bytes[after..]),
        0,
        "complete: takes nothing more"
    );
    let Some(Ok(Some((msg, 0)))) = assembly.message() else {
        panic!("the whole message");
    };
    assert!(matches!(
        msg,
        Inbound::Delivery {
            body: b"42 fragmented",
            ..
        }
    ));
    assert!(assembly.finish());
    assert!(!assembly.finish());
    assert_eq!(
        assembly.gather(&bytes[after..]),
        0,
        "a pong is not a fragment"
    );
}

#[test]
fn broken_fragments_are_reported() {
    let first = server(false, Opcode::Text, b"MESSAGE");
    let cases = [
        server(true, Opcode::Continuation, b"x"),
        [first.clone(), server(true, Opcode::Text, &message("1 a"))].concat(),
        [first.clone(), server(false, Opcode::Text, b"again")].concat(),
    ];
    for bytes in cases {
        let mut assembly = Assembly::default();
        assembly.gather(&bytes);
        assert!(matches!(assembly.message(), Some(Err(_))), "{bytes:?}");
    }
    // Fragments adding up to more than the cap.
    let mut assembly = Assembly::default();
    let big = vec![b'x'; 40 * 1024];
    let bytes = [
        server(false, Opcode::Text, &big),
        server(true, Opcode::Continuation, &big),
    ]
    .concat();
    assembly.gather(&bytes);
    assert!(matches!(assembly.message(), Some(Err(e)) if e.contains("over")));
    // A message of several frames that is not one whole chat frame.
    let mut assembly = Assembly::default();
    let bytes = [
        server(false, Opcode::Text, b"gar"),
        server(true, Opcode::Continuation, b"bage\n\n"),
    ]
    .concat();
    assert_eq!(assembly.gather(&bytes), bytes.len());
    assert!(matches!(assembly.message(), Some(Err(_))));
}

#[test]
fn client_frames_are_masked_text() {
    let chat = Frame::request("SAY", "/").with_text("1 x").encode();
    let frame = client_text(&chat);
    let (header, at) = FrameHeader::parse(&frame).ok().flatten().expect("a header");
    assert_eq!((header.fin, header.opcode), (true, Opcode::Text));
    let key = header.mask.expect("masked");
    let plain: Vec<u8> = frame[at..]
        .iter()
        .zip(key.iter().cycle())
        .map(|(b, k)| b ^ k)
        .collect();
    assert_eq!(plain, chat);
    assert_ne!(mask_key(), mask_key(), "a fresh key per frame");
}

#[test]
fn upgrade_answers() {
    let key = "dGhlIHNhbXBsZSBub25jZQ==";
    let want = accept_key(key);
    assert_eq!(want, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "RFC 6455's example");
    let good = format!(
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         sec-websocket-accept: {want}\r\n\r\n\x01"
    );
    let len = head_len(good.as_bytes()).ok().flatten().expect("a head");
    assert_eq!(len, good.len() - 1);
    assert_eq!(check_upgrade(&good.as_bytes()[..len], &want), Ok(()));
    assert!(check_upgrade(good.as_bytes(), "other").is_err());
    let refused = b"HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";
    assert!(check_upgrade(refused, &want).is_err_and(|e| e.contains("403")));
    assert_eq!(
        head_len(b"HTTP/1.1 101 Switching\r\nUpgrade: websocket\r\n"),
        Ok(None)
    );
    assert!(head_len(&vec![b'a'; MAX_RESPONSE_HEAD_BYTES + 1]).is_err());
}

/// The wire over a real socket: a fragmented message split across
/// reads, a ping between its fragments, then a whole message.
#[test]
fn the_wire_puts_fragments_together_across_reads() {
    use std::io::Write as _;
    use std::net::TcpListener;
    use std::time::Duration;

    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let addr = listener.local_addr().expect("its address");
    let client = TcpStream::connect(addr).expect("connect");
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("read timeout");
    let (mut server_side, _) = listener.accept().expect("accept");
    let mut wire = Wire::new(Arc::new(client), false);
    wire.start_websocket();

    let chat = message("42 pieces");
    let (a, b) = chat.split_at(chat.len() / 2);
    let mut bytes = server(false, Opcode::Text, a);
    bytes.extend(server(true, Opcode::Ping, b"p"));
    bytes.extend(server(true, Opcode::Continuation, b));
    bytes.extend(server(true, Opcode::Text, &message("43 whole")));
    let mut got = Vec::new();
    let mut drain = |wire: &mut Wire| {
        while let Some((msg, used)) = wire.parse(Protocol::Ws).expect("well formed") {
            got.push(match msg {
                Inbound::Delivery { body, .. } => String::from_utf8_lossy(body).into_owned(),
                Inbound::Ping(_) => "ping".to_string(),
                other => format!("{other:?}"),
            });
            wire.consume(used);
        }
        got.len()
    };
    // Three bytes at a time: every frame boundary falls inside a read.
    // One read per write (it waits for at least a byte); what a read
    // left behind comes with the next one.
    for piece in bytes.chunks(3) {
        server_side.write_all(piece).expect("write");
        assert!(matches!(wire.fill(), Ok(Fill::Data)));
        drain(&mut wire);
    }
    while drain(&mut wire) < 3 && matches!(wire.fill(), Ok(Fill::Data)) {}
    assert_eq!(got, ["ping", "42 pieces", "43 whole"]);
    assert!(wire.pending().is_empty());
}
