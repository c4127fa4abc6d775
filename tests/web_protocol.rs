//! The browser door's HTTP and WebSocket rules over raw TCP, against the
//! real server on its one port: keep-alive, statuses and security headers,
//! the handshake and its Origin check, the framing rules an Autobahn-style
//! suite checks (masking, reserved bits, opcodes, fragmentation, UTF-8,
//! close codes, limits), CHAT/1.0 in text messages, pings, and the limits
//! every door has (idle, login, rate, a reader that stops reading).

mod support;

use std::io::Write;

use chat::event::Event;
use chat::protocol::Frame;
use chat::web::websocket::{encode_frame, Message, Opcode};
use support::web::{get, header, upgrade_request, Http, Ws};
use support::{fuzz, Server, TempDir};

fn server(name: &str, flags: &[&str]) -> (TempDir, Server) {
    let dir = TempDir::new(name);
    let mut args = vec!["--no-replay", "--quiet"];
    args.extend_from_slice(flags);
    let server = Server::start_with(dir.path(), &args);
    (dir, server)
}

/// Keep-alive: several requests on one connection; HEAD has no body; 304
/// for a cached asset; 404 and 405 with Allow; security headers everywhere.
#[test]
fn http_serves_the_page_with_keep_alive_and_the_right_statuses() {
    let (_dir, server) = server("web-http", &[]);
    let mut http = Http::connect(server.port);
    let page = http.exchange(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(page.status, 200);
    let csp = page.header("Content-Security-Policy").unwrap();
    assert!(csp.contains("script-src 'self'") && !csp.contains("unsafe-inline"));
    assert_eq!(page.header("X-Content-Type-Options"), Some("nosniff"));
    assert_eq!(page.header("Referrer-Policy"), Some("no-referrer"));
    assert_eq!(page.header("Cache-Control"), Some("no-cache"));
    assert!(page.text().contains("<title>chat</title>"));
    let etag = page.header("ETag").unwrap().to_string();

    http.send(b"HEAD /app.js HTTP/1.1\r\nHost: x\r\n\r\n");
    let (status, lines) = http.read_head();
    assert_eq!(status, 200);
    assert!(header(&lines, "Content-Length").is_some_and(|l| l != "0"));
    let cached = http
        .exchange(format!("GET / HTTP/1.1\r\nHost: x\r\nIf-None-Match: {etag}\r\n\r\n").as_bytes());
    assert_eq!(cached.status, 304);
    let missing = http.exchange(b"GET /missing HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(missing.status, 404);
    assert_eq!(missing.header("Cache-Control"), Some("no-store"));
    assert!(missing.header("Content-Security-Policy").is_some());
    let delete = http.exchange(b"DELETE / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(delete.status, 405);
    assert_eq!(delete.header("Allow"), Some("GET, HEAD"));
    // Empty lines between requests are fine (RFC 9112 2.2).
    let css = http.exchange(b"\r\nGET /style.css HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    assert_eq!(css.status, 200);
    assert_eq!(css.header("Connection"), Some("close"));
    assert!(http.is_closed(), "closed after Connection: close");

    // HTTP/1.0 closes unless asked to keep the connection.
    let mut old = Http::connect(server.port);
    assert_eq!(old.exchange(b"GET / HTTP/1.0\r\n\r\n").status, 200);
    assert!(old.is_closed());
}

/// Broken heads get their status and a closed connection; a request with a
/// body the page does not read is answered, then the connection closes.
#[test]
fn http_refuses_broken_heads() {
    let (_dir, server) = server("web-http-bad", &[]);
    let long_header = format!(
        "GET / HTTP/1.1\r\nHost: x\r\nX: {}\r\n\r\n",
        "a".repeat(9000)
    );
    let many = format!(
        "GET / HTTP/1.1\r\nHost: x\r\n{}\r\n",
        "X: y\r\n".repeat(101)
    );
    let long_line = format!("GET /{} HTTP/1.1\r\n", "a".repeat(9000));
    let huge_head = format!(
        "GET / HTTP/1.1\r\nHost: x\r\n{}",
        "X-Padding: yyyyyyyy\r\n".repeat(4000)
    );
    let cases: [(&[u8], u16); 10] = [
        (b"GET / HTTP/1.1\r\n\r\n", 400),
        (b"GET / HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
            400,
        ),
        (
            b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n",
            411,
        ),
        (b"GET /../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n", 400),
        (long_header.as_bytes(), 431),
        (many.as_bytes(), 431),
        // Refused before the head ends: the line is already too long.
        (long_line.as_bytes(), 414),
        (huge_head.as_bytes(), 431),
        (b"GET / HTTP/3.0\r\nHost: x\r\n\r\n", 505),
    ];
    for (request, want) in cases {
        let mut http = Http::connect(server.port);
        http.send(request);
        let response = http.read_response();
        let shown = String::from_utf8_lossy(&request[..40.min(request.len())]).into_owned();
        assert_eq!(response.status, want, "{shown}");
        assert_eq!(response.header("Connection"), Some("close"), "{shown}");
        assert!(response.header("X-Content-Type-Options").is_some());
        assert!(http.is_closed(), "{shown}");
    }
    // A body nobody reads: answered, and the connection closed after it.
    let mut http = Http::connect(server.port);
    let post = http.exchange(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello");
    assert_eq!(post.status, 405);
    assert!(http.is_closed());
}

/// `--http-port` adds a port that serves browsers only, the same way.
#[test]
fn the_http_port_serves_the_page_too() {
    let dir = TempDir::new("web-http-port");
    // A free port for the browser-only listener.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let port_text = port.to_string();
    let server = Server::start_with(
        dir.path(),
        &["--no-replay", "--quiet", "--http-port", &port_text],
    );
    server.stdout.wait_for("browser door listening on");
    let page = get(port, "GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(page.status, 200);
    let mut ws = Ws::login(port, "viaport");
    let reply = ws.request(Frame::request("WHOAMI", "/"));
    assert_eq!(reply.header("Nick"), Some("viaport"));
}

/// The handshake: 426 naming version 13 for another version or a plain GET,
/// 403 for a foreign or `null` origin, 101 with the right accept key for
/// the page's own origin, a browser without one, or one `--allow-origin` names.
#[test]
fn websocket_handshake_rules() {
    let (_dir, server) = server(
        "web-handshake",
        &["--allow-origin", "https://chat.example.org"],
    );
    let port = server.port;
    let v8 = upgrade_request(port, "").replace("Version: 13", "Version: 8");
    let refused = get(port, &v8);
    assert_eq!(refused.status, 426);
    assert_eq!(refused.header("Sec-WebSocket-Version"), Some("13"));
    assert_eq!(get(port, "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n").status, 426);
    for origin in ["http://evil.example", "null", "http://127.0.0.1:1"] {
        let request = upgrade_request(port, &format!("Origin: {origin}\r\n"));
        assert_eq!(get(port, &request).status, 403, "{origin}");
    }
    let no_key = upgrade_request(port, "").replace("Sec-WebSocket-Key", "X-Key");
    assert_eq!(get(port, &no_key).status, 400);
    Ws::open(port);
    Ws::open_with(port, "");
    Ws::open_with(port, "Origin: https://Chat.Example.org\r\n");
}

/// A CHAT/1.0 frame in a text message is carried out, its reply comes back
/// as one text message; a fragmented message with a ping inside works.
#[test]
fn websocket_carries_chat_frames_and_answers_pings() {
    let (_dir, server) = server("web-frames", &[]);
    let mut ws = Ws::open(server.port);
    let login = "LOGIN / CHAT/1.0\r\nNick: wsuser\r\nRooms: many\r\nContent-Length: 0\r\n\r\n";
    ws.send_raw(false, Opcode::Text, &login.as_bytes()[..10], true);
    ws.send_raw(true, Opcode::Ping, b"hi", true);
    ws.send_raw(false, Opcode::Continuation, &login.as_bytes()[10..30], true);
    ws.send_raw(true, Opcode::Continuation, &login.as_bytes()[30..], true);
    assert_eq!(ws.next(), Message::Pong(b"hi".to_vec()));
    let reply = ws.next_frame();
    assert_eq!(reply.status_code().map(|s| s.0), Some(200), "{reply:?}");
    assert_eq!(reply.header("Rooms"), Some("many"));
    // The welcome arrives as its own message.
    let welcome = Event::from_frame(&ws.next_frame()).unwrap();
    assert!(
        matches!(welcome, Event::Join { ref nick, .. } if nick == "wsuser"),
        "{welcome:?}"
    );
    // UTF-8 split inside a code point across fragments.
    let say = "SAY /rooms/lobby CHAT/1.0\r\nContent-Length: 7\r\n\r\nhé €";
    let bytes = say.as_bytes();
    let cut = bytes.len() - 2; // inside the euro sign
    ws.send_raw(false, Opcode::Text, &bytes[..cut], true);
    ws.send_raw(true, Opcode::Continuation, &bytes[cut..], true);
    let reply = ws.next_frame();
    assert_eq!(reply.status_code().map(|s| s.0), Some(200), "{reply:?}");
    assert!(reply.header("Seq").is_some());
    // Two frames in one message: refused, and the socket goes on.
    ws.send_text(
        "PING / CHAT/1.0\r\nContent-Length: 0\r\n\r\nPING / CHAT/1.0\r\nContent-Length: 0\r\n\r\n",
    );
    assert_eq!(ws.next_frame().status_code().map(|s| s.0), Some(400));
    // Not a frame at all: refused, the socket goes on.
    ws.send_text("hello?");
    assert_eq!(ws.next_frame().status_code().map(|s| s.0), Some(400));
    // Files travel over HTTP from a browser.
    ws.send_text("DOWNLOAD /files/1 CHAT/1.0\r\nContent-Length: 0\r\n\r\n");
    let refusal = ws.next_frame();
    assert_eq!(refusal.status_code().map(|s| s.0), Some(400));
    assert!(refusal.text_lossy().contains("GET /files/ID"));
    let reply = ws.request(Frame::request("PING", "/"));
    assert_eq!(reply.status_code().map(|s| s.0), Some(200));
    // QUIT: the reply, then the close handshake.
    let bye = ws.request(Frame::request("QUIT", "/"));
    assert_eq!(bye.status_code().map(|s| s.0), Some(200));
    assert_eq!(ws.close_code(), Some(1000));
}

/// SAYs sent together in one write (a paste, a script), one message each,
/// are stored and delivered as one step, as over the chat door, yet each
/// is answered as if alone: a `200` with its own number in order, a `400`
/// for the one with a control character (the rest go through). A message
/// in fragments, and a SAY to another room, end a run and are taken as
/// usual, and the PING behind them all is answered last. A reader gets
/// each message once, in order.
#[test]
fn says_sent_together_over_a_socket_are_each_answered_and_arrive_in_order() {
    let (_dir, server) = server("web-burst", &["--no-rate-limit"]);
    let mut reader = Ws::login(server.port, "reader");
    let mut talker = Ws::login(server.port, "talker");
    let joined = talker.request(Frame::request("CREATE", "/rooms/elsewhere"));
    assert_eq!(joined.status_code().map(|s| s.0), Some(200), "{joined:?}");
    let text = |i: usize| match i {
        30 => "bell\u{7}".to_string(),
        _ => format!("t{i}"),
    };
    let say = |room: &str, text: &str| {
        let frame =
            Frame::request("SAY", &format!("/rooms/{room}")).with_body(text.as_bytes().to_vec());
        frame.encode()
    };
    let mut bytes = Vec::new();
    for i in 0..80 {
        let room = if i == 60 { "elsewhere" } else { "lobby" };
        let payload = say(room, &text(i));
        if i == 45 {
            let (first, rest) = payload.split_at(10);
            encode_frame(&mut bytes, false, Opcode::Text, first, Some([9, 8, 7, 6]));
            encode_frame(
                &mut bytes,
                true,
                Opcode::Continuation,
                rest,
                Some([5, 4, 3, 2]),
            );
        } else {
            encode_frame(
                &mut bytes,
                true,
                Opcode::Text,
                &payload,
                Some([1, 2, 3, i as u8]),
            );
        }
    }
    let ping = Frame::request("PING", "/").encode();
    encode_frame(&mut bytes, true, Opcode::Text, &ping, Some([1, 1, 1, 1]));
    talker.stream.write_all(&bytes).unwrap();
    let mut said = Vec::new();
    for i in 0..81 {
        let reply = loop {
            let frame = talker.next_frame();
            if frame.status_code().is_some() {
                break frame;
            }
        };
        let code = reply.status_code().map(|s| s.0);
        match i {
            30 => assert_eq!(code, Some(400), "{reply:?}"),
            80 => assert_eq!(
                reply.header("Seq"),
                None,
                "the PING's answer, last: {reply:?}"
            ),
            _ => {
                assert_eq!(code, Some(200), "{i}: {reply:?}");
                let seq: u64 = reply.header("Seq").expect("Seq").parse().expect("a number");
                if i != 60 {
                    said.push((seq, text(i)));
                }
            }
        }
    }
    assert!(said.windows(2).all(|w| w[1].0 > w[0].0), "{said:?}");
    let got: Vec<(u64, String)> = (0..said.len())
        .map(|_| {
            match reader
                .expect_event(|e| matches!(e, Event::Message { room, .. } if room == "lobby"))
            {
                Event::Message { seq, text, .. } => (seq, text),
                _ => unreachable!(),
            }
        })
        .collect();
    assert_eq!(got, said);
}

/// Broken frames close the socket with the code RFC 6455 gives them, each
/// decided as soon as the bytes that break the rule are in.
#[test]
fn websocket_close_codes_for_broken_frames() {
    let (_dir, server) = server("web-close", &[]);
    let frame = |fin: bool, opcode: u8, payload: &[u8], masked: bool| {
        let mut v = Vec::new();
        chat::web::websocket::encode_frame(
            &mut v,
            fin,
            Opcode::Text,
            payload,
            masked.then_some([9; 4]),
        );
        v[0] = (u8::from(fin) << 7) | opcode;
        v
    };
    let mut rsv = frame(true, 1, b"x", true);
    rsv[0] |= 0x40;
    // A header announcing 70,000 bytes, and none of them: refused at once.
    let mut too_big = vec![0x82, 0x80 | 127];
    too_big.extend_from_slice(&70_000u64.to_be_bytes());
    too_big.extend_from_slice(&[9; 4]);
    let mut bad_close = vec![0x88, 0x80 | 2, 9, 9, 9, 9];
    bad_close.extend(1005u16.to_be_bytes().iter().map(|b| b ^ 9));
    let cases: [(Vec<u8>, u16); 10] = [
        (frame(true, 1, b"x", false), 1002),
        (rsv, 1002),
        (frame(true, 3, b"", true), 1002),
        (frame(false, 9, b"", true), 1002),
        (frame(true, 9, &[0; 126], true), 1002),
        (frame(true, 1, b"\xed\xa0\x80", true), 1007),
        (too_big, 1009),
        (frame(true, 0, b"x", true), 1002),
        (frame(true, 2, b"binary", true), 1003),
        (bad_close, 1002),
    ];
    for (bytes, want) in cases {
        let mut ws = Ws::open(server.port);
        ws.stream.write_all(&bytes).unwrap();
        assert_eq!(ws.close_code(), Some(want), "{:x?}", &bytes[..2]);
    }
    // A clean close is echoed with its code.
    let mut ws = Ws::open(server.port);
    ws.send_raw(true, Opcode::Close, &1001u16.to_be_bytes(), true);
    assert_eq!(ws.close_code(), Some(1001));
    assert!(ws.next_or_end().is_none(), "then the connection ends");
}

/// A browser and a terminal client talk both ways; a browser entering a
/// room gets its history as one message per frame.
#[test]
fn browsers_and_terminal_clients_share_rooms() {
    let (_dir, server) = server("web-chat", &[]);
    let mut carol = support::Raw::login(server.port, "carol");
    carol.say("before the browsers came");
    let mut ann = Ws::open(server.port);
    ann.send_frame(
        &Frame::request("LOGIN", "/")
            .with_header("Nick", "ann")
            .with_header("Rooms", "many"),
    );
    assert_eq!(ann.next_frame().status_code().map(|s| s.0), Some(200));
    let history = Event::from_frame(&ann.next_frame()).unwrap();
    assert!(
        matches!(history, Event::Message { ref text, history: true, .. } if text == "before the browsers came"),
        "{history:?}"
    );
    ann.expect_event(|e| matches!(e, Event::Join { nick, .. } if nick == "ann"));
    let mut ben = Ws::login(server.port, "ben");
    carol.expect_event(|e| matches!(e, Event::Join { nick, .. } if nick == "ben"));
    carol.say("hello browsers");
    for ws in [&mut ann, &mut ben] {
        ws.expect_event(|e| matches!(e, Event::Message { text, from, .. } if text == "hello browsers" && from == "carol"));
    }
    let reply = ann.request(Frame::request("SAY", "/rooms/lobby").with_text("hello terminal"));
    assert_eq!(reply.status_code().map(|s| s.0), Some(200));
    carol.expect_event(|e| matches!(e, Event::Message { text, .. } if text == "hello terminal"));
    ben.expect_event(|e| matches!(e, Event::Message { text, .. } if text == "hello terminal"));
    let reply = ben.request(Frame::request("WHISPER", "/users/carol").with_text("psst"));
    assert_eq!(reply.status_code().map(|s| s.0), Some(200));
    carol.expect_event(
        |e| matches!(e, Event::Whisper { text, from, .. } if text == "psst" && from == "ben"),
    );
}

/// Silence past the idle timeout gets a WebSocket ping; a pong keeps the
/// socket, silence after the ping drops it.
#[test]
fn idle_sockets_are_pinged_then_dropped() {
    let (_dir, server) = server("web-idle", &["--idle-timeout", "1"]);
    let mut ws = Ws::login(server.port, "idler");
    let Message::Ping(payload) = ws.next() else {
        panic!("expected a ping")
    };
    ws.pong(&payload);
    // Still there: another ping comes after another quiet second.
    assert!(matches!(ws.next(), Message::Ping(_)));
    // No answer this time: dropped.
    while ws.next_or_end().is_some() {}
    server
        .stdout
        .wait_for("Client (idler) disconnected: ping timeout");
}

/// A socket that does not log in within the login timeout is told so and closed.
#[test]
fn a_socket_that_never_logs_in_is_closed() {
    let (_dir, server) = server("web-login-timeout", &["--login-timeout", "1"]);
    let mut ws = Ws::open(server.port);
    let reply = ws.next_frame();
    assert_eq!(reply.status_code().map(|s| s.0), Some(408));
    assert_eq!(ws.close_code(), Some(1008));
    // And an idle keep-alive HTTP connection is closed quietly.
    let mut http = Http::connect(server.port);
    assert_eq!(
        http.exchange(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n").status,
        200
    );
    assert!(http.is_closed());
}

/// The rate limit counts a browser's requests and its pings like any
/// client's: over it, requests are refused with 429.
#[test]
fn the_rate_limit_applies_to_sockets_and_http() {
    let (_dir, server) = server("web-rate", &["--rate-limit", "1", "--rate-burst", "3"]);
    let mut ws = Ws::login(server.port, "fast");
    for _ in 0..6 {
        ws.send_frame(&Frame::request("PING", "/"));
    }
    let codes: Vec<u16> = (0..6)
        .map(|_| ws.next_frame().status_code().map_or(0, |s| s.0))
        .collect();
    assert!(codes.contains(&429), "{codes:?}");
    let mut http = Http::connect(server.port);
    let statuses: Vec<u16> = (0..6)
        .map(|_| {
            http.exchange(b"GET /favicon.svg HTTP/1.1\r\nHost: x\r\n\r\n")
                .status
        })
        .collect();
    assert!(statuses.contains(&429), "{statuses:?}");
}

/// A browser that stops reading is cut off when its queue passes its bound,
/// and everyone else keeps chatting.
#[test]
fn a_browser_that_stops_reading_is_dropped_and_nobody_waits() {
    let (_dir, server) = server(
        "web-slow",
        &[
            "--no-rate-limit",
            "--history",
            "0",
            "--queue-frames",
            "64",
            "--queue-bytes",
            "65536",
        ],
    );
    let stalled = Ws::login(server.port, "stalled");
    let mut talker = support::Raw::login(server.port, "talker");
    let text = "x".repeat(4000);
    for _ in 0..2_000 {
        talker.say(&text);
        if server.stdout.text().contains("send queue exceeded") {
            break;
        }
    }
    server
        .stdout
        .wait_for("Client (stalled) disconnected: send queue exceeded");
    let mut listener = Ws::login(server.port, "listener");
    talker.say("after");
    listener.expect_event(|e| matches!(e, Event::Message { text, .. } if text == "after"));
    drop(stalled);
}

/// Generated hostile HTTP heads and WebSocket frames (valid, cut short,
/// mutated, noise): no panic, no leaked thread, and a browser and a
/// terminal client keep chatting. `CHAT_FUZZ_SEED=N` replays a run.
#[test]
fn randomized_hostile_web_input_is_survived() {
    use std::net::TcpStream;
    use std::time::Duration;
    let seed = fuzz::seed("randomized_hostile_web_input_is_survived");
    let (_dir, server) = server(
        "web-fuzz",
        &[
            "--no-rate-limit",
            "--login-timeout",
            "2",
            "--frame-timeout",
            "2",
        ],
    );
    let port = server.port;
    let mut browser = Ws::login(port, "browser");
    let mut terminal = support::Raw::login(port, "terminal");
    let baseline_threads = server.proc_status("Threads");
    let heads = [
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_string(),
        "HEAD /app.js HTTP/1.1\r\nHost: x\r\nIf-None-Match: \"x\"\r\n\r\n".to_string(),
        "POST /files?room=lobby HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer x\r\nFile-Name: a\r\nContent-Length: 3\r\n\r\nabc".to_string(),
        "GET /files/1?token=x HTTP/1.1\r\nHost: x\r\n\r\n".to_string(),
        upgrade_request(port, ""),
    ];
    let chat_frames = [
        Frame::request("LOGIN", "/").with_header("Nick", "fz"),
        Frame::request("SAY", "/rooms/lobby").with_text("fuzz"),
        Frame::request("TOKEN", "/"),
        Frame::request("JOIN", "/rooms/nowhere"),
    ];
    let mut rng = fuzz::Rng(seed);
    for round in 0..40 {
        let mut bytes = Vec::new();
        if rng.below(2) == 0 {
            // HTTP: a few heads, some mangled.
            for _ in 0..1 + rng.below(4) {
                let head = heads[rng.below(heads.len())].clone().into_bytes();
                bytes.extend(rng.mangle(head));
            }
        } else {
            // A real upgrade, then frames: masked or not, any opcode and
            // bits, chat frames as payloads, mangled.
            bytes.extend(upgrade_request(port, "").into_bytes());
            for _ in 0..1 + rng.below(8) {
                let chosen = chat_frames[rng.below(chat_frames.len())].encode();
                let payload = rng.mangle(chosen);
                let mut frame = Vec::new();
                let mask = (rng.below(8) != 0).then(|| (rng.next() as u32).to_be_bytes());
                chat::web::websocket::encode_frame(
                    &mut frame,
                    rng.below(4) != 0,
                    Opcode::Text,
                    &payload,
                    mask,
                );
                if rng.below(4) == 0 {
                    frame[0] = rng.next() as u8;
                }
                bytes.extend(rng.mangle(frame));
            }
        }
        if let Ok(mut stream) = TcpStream::connect(("127.0.0.1", port)) {
            let _ = stream.write_all(&bytes);
            if rng.below(2) == 0 {
                let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
                let _ = std::io::copy(&mut stream, &mut std::io::sink());
            }
        }
        let text = format!("round {round}");
        terminal.say(&text);
        browser.expect_event(|e| matches!(e, Event::Message { text: t, .. } if *t == text));
    }
    fuzz::assert_all_gone(&server, baseline_threads, seed);
}
