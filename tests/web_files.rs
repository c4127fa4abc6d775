//! Files and tokens of the browser door over raw TCP: TOKEN over the
//! WebSocket, POST /files with a Bearer token, GET/HEAD /files/ID?token=,
//! byte for byte against the terminal protocol's DOWNLOAD, every refusal
//! and its status, what a token may not see, its revocation, and a page's
//! takeover of its own stale session with its resume token.

mod support;

use chat::crypto::{sha256, to_hex};
use chat::event::Event;
use chat::protocol::Frame;
use chat::web::websocket::Message;
use support::web::{Http, HttpResponse, Ws};
use support::{Raw, Server, TempDir};

fn server(name: &str, flags: &[&str]) -> (TempDir, Server) {
    let dir = TempDir::new(name);
    let mut args = vec!["--no-replay", "--quiet", "--no-rate-limit"];
    args.extend_from_slice(flags);
    let server = Server::start_with(dir.path(), &args);
    (dir, server)
}

/// `TOKEN /` over the socket: the file token and the resume token.
fn tokens(ws: &mut Ws) -> (String, String) {
    let reply = ws.request(Frame::request("TOKEN", "/"));
    assert_eq!(reply.status_code().map(|s| s.0), Some(200), "{reply:?}");
    assert_eq!(reply.header("Expires-In"), Some("600"));
    let token = reply.header("Token").unwrap().to_string();
    let resume = reply.header("Resume").unwrap().to_string();
    (token, resume)
}

fn upload_head(port: u16, token: &str, room: &str, name: &str, len: usize, extra: &str) -> String {
    format!(
        "POST /files?room={room} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nOrigin: http://127.0.0.1:{port}\r\n\
         Authorization: Bearer {token}\r\nFile-Name: {name}\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {len}\r\n{extra}\r\n"
    )
}

/// Uploads `body` on `http` and reads the response.
fn upload(
    http: &mut Http,
    port: u16,
    token: &str,
    room: &str,
    name: &str,
    body: &[u8],
) -> HttpResponse {
    http.send(upload_head(port, token, room, name, body.len(), "").as_bytes());
    http.send(body);
    http.read_response()
}

fn download(port: u16, id: &str, token: &str) -> HttpResponse {
    let mut http = Http::connect(port);
    http.exchange(format!("GET /files/{id}?token={token} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes())
}

/// Some bytes that are not text: every byte value, and more.
fn binary(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 256) as u8).collect()
}

/// An upload from the page reaches the room as a FILE event (the page's
/// own socket included), a terminal client downloads it byte for byte,
/// and the page's link serves the same bytes, as an attachment.
#[test]
fn a_browser_uploads_and_everyone_downloads_the_same_bytes() {
    let (_dir, server) = server("web-files", &[]);
    let port = server.port;
    let mut carol = Raw::login(port, "carol");
    let mut ann = Ws::login(port, "ann");
    let (token, _) = tokens(&mut ann);
    assert_eq!(token.len(), 43);
    let body = binary(300_000);
    let mut http = Http::connect(port);
    let stored = upload(
        &mut http,
        port,
        &token,
        "lobby",
        "r%C3%A9sum%C3%A9%20v2.bin",
        &body,
    );
    assert_eq!(stored.status, 201, "{}", stored.text());
    let id = stored.header("File-Id").unwrap().to_string();
    assert_eq!(stored.header("File-Size"), Some("300000"));
    assert_eq!(
        stored.header("File-Name"),
        Some("r%C3%A9sum%C3%A9%20v2.bin")
    );
    let digest = format!("sha-256={}", to_hex(&sha256(&body)));
    assert_eq!(stored.header("Digest"), Some(digest.as_str()));
    // Keep-alive after an upload: the next request on the same connection.
    assert_eq!(
        http.exchange(b"GET /favicon.svg HTTP/1.1\r\nHost: x\r\n\r\n")
            .status,
        200
    );

    for event in [
        carol.expect_event(|e| matches!(e, Event::File { .. })),
        ann.expect_event(|e| matches!(e, Event::File { .. })),
    ] {
        let Event::File {
            id: got,
            name,
            size,
            from,
            ..
        } = event
        else {
            unreachable!()
        };
        assert_eq!(
            (got.to_string(), name.as_str(), size, from.as_str()),
            (id.clone(), "résumé v2.bin", 300_000, "ann")
        );
    }
    let reply = carol.request(chat::command::FileRequest::Download {
        id: id.parse().unwrap(),
    });
    assert_eq!(reply.status_code().map(|s| s.0), Some(200));
    assert_eq!(reply.body, body, "the terminal protocol's download");

    let got = download(port, &id, &token);
    assert_eq!(got.status, 200);
    assert_eq!(got.body, body, "the page's download");
    assert_eq!(got.header("Content-Type"), Some("application/octet-stream"));
    assert_eq!(got.header("Cache-Control"), Some("private, no-store"));
    assert_eq!(got.header("X-Content-Type-Options"), Some("nosniff"));
    assert_eq!(got.header("Referrer-Policy"), Some("no-referrer"));
    assert_eq!(got.header("Digest"), Some(digest.as_str()));
    assert_eq!(
        got.header("Content-Disposition"),
        Some("attachment; filename=\"r_sum_ v2.bin\"; filename*=UTF-8''r%C3%A9sum%C3%A9%20v2.bin")
    );
    let mut head = Http::connect(port);
    head.send(format!("HEAD /files/{id}?token={token} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes());
    let (status, lines) = head.read_head();
    assert_eq!(status, 200);
    assert!(lines.iter().any(|l| l == "Content-Length: 300000"));
    // Several downloads on one keep-alive connection, in order.
    let mut keep = Http::connect(port);
    for _ in 0..3 {
        let again = keep.exchange(
            format!("GET /files/{id}?token={token} HTTP/1.1\r\nHost: x\r\n\r\n").as_bytes(),
        );
        assert_eq!(again.body.len(), body.len());
    }
    server
        .stdout
        .wait_for(&format!("Successfully send file id:{id} to ann !"));
}

/// What is refused before the body is read (and the connection closed),
/// and what is refused after reading it (the connection stays).
#[test]
fn uploads_are_refused_with_the_right_status() {
    let (dir, server) = server("web-upload-refused", &["--max-file-size", "1000"]);
    let port = server.port;
    let mut ann = Ws::login(port, "ann");
    let (token, _) = tokens(&mut ann);
    let files_before = std::fs::read_dir(dir.path().join("files")).map_or(0, |d| d.count());

    // Before the body: no token, a wrong one, another site's page, too large, chunked.
    let closing = [
        (upload_head(port, "nope", "lobby", "a.txt", 5, ""), 401),
        (
            upload_head(port, "", "lobby", "a.txt", 5, "")
                .replace("Authorization: Bearer \r\n", ""),
            401,
        ),
        (
            upload_head(port, &token, "lobby", "a.txt", 5, "").replace(
                &format!("Origin: http://127.0.0.1:{port}"),
                "Origin: http://evil.example",
            ),
            403,
        ),
        (upload_head(port, &token, "lobby", "big.bin", 1001, ""), 413),
        (
            upload_head(port, &token, "lobby", "a.txt", 5, "")
                .replace("Content-Length: 5\r\n", "Transfer-Encoding: chunked\r\n"),
            411,
        ),
    ];
    for (head, want) in closing {
        let mut http = Http::connect(port);
        http.send(head.as_bytes());
        let response = http.read_response();
        assert_eq!(response.status, want, "{head}");
        assert_eq!(response.header("Connection"), Some("close"), "{head}");
        assert!(http.is_closed());
    }

    // After the body: the connection goes on.
    let mut http = Http::connect(port);
    let body = b"hello";
    let keeping = [
        (upload_head(port, &token, "lobby", "", 5, ""), 400),
        (upload_head(port, &token, "lobby", "%zz", 5, ""), 400),
        (
            upload_head(port, &token, "lobby", "a.txt", 5, "Digest: sha-256=00\r\n"),
            400,
        ),
        (
            upload_head(
                port,
                &token,
                "lobby",
                "a.txt",
                5,
                &format!("Digest: sha-256={}\r\n", "0".repeat(64)),
            ),
            400,
        ),
        (upload_head(port, &token, "elsewhere", "a.txt", 5, ""), 403),
    ];
    for (head, want) in keeping {
        http.send(head.as_bytes());
        http.send(body);
        let response = http.read_response();
        assert_eq!(response.status, want, "{head}: {}", response.text());
        assert_ne!(response.header("Connection"), Some("close"));
    }
    let files_after = std::fs::read_dir(dir.path().join("files")).map_or(0, |d| d.count());
    assert_eq!(files_before, files_after, "nothing refused was kept");
    // A client that waits for 100 Continue hears it before sending the body.
    http.send(
        upload_head(
            port,
            &token,
            "lobby",
            "b.txt",
            5,
            "Expect: 100-continue\r\n",
        )
        .as_bytes(),
    );
    assert_eq!(http.read_head().0, 100);
    http.send(body);
    assert_eq!(http.read_response().status, 201);
    // The right digest is fine; GET on /files is not.
    let right = format!("Digest: sha-256={}\r\n", to_hex(&sha256(body)));
    http.send(upload_head(port, &token, "lobby", "a.txt", 5, &right).as_bytes());
    http.send(body);
    assert_eq!(http.read_response().status, 201);
    let get = http.exchange(b"GET /files HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(get.status, 405);
    assert_eq!(get.header("Allow"), Some("POST"));
    // Over the socket before login: no token.
    let mut stranger = Ws::open(port);
    let reply = stranger.request(Frame::request("TOKEN", "/"));
    assert_eq!(reply.status_code().map(|s| s.0), Some(403));
}

/// A file in a room the token's holder may not enter is answered exactly
/// as a file that does not exist; a bad token says nothing of any file.
#[test]
fn a_token_sees_only_what_its_session_may_see() {
    let (_dir, server) = server("web-files-private", &[]);
    let port = server.port;
    let mut owner = Ws::login(port, "owner");
    let created = owner
        .request(Frame::request("CREATE", "/rooms/secret").with_header("Visibility", "private"));
    assert_eq!(created.status_code().map(|s| s.0), Some(200), "{created:?}");
    let (owner_token, _) = tokens(&mut owner);
    let mut http = Http::connect(port);
    let stored = upload(
        &mut http,
        port,
        &owner_token,
        "secret",
        "plans.txt",
        b"top secret",
    );
    assert_eq!(stored.status, 201, "{}", stored.text());
    let id = stored.header("File-Id").unwrap().to_string();
    assert_eq!(download(port, &id, &owner_token).body, b"top secret");

    let mut eve = Ws::login(port, "eve");
    let (eve_token, _) = tokens(&mut eve);
    let hidden = download(port, &id, &eve_token);
    let missing = download(port, "999999", &eve_token);
    let nonsense = download(port, "abc", &eve_token);
    assert_eq!(hidden.status, 404);
    assert_eq!(
        hidden.without_date(),
        missing.without_date(),
        "byte for byte"
    );
    assert_eq!(hidden.without_date(), nonsense.without_date());
    // Eve may not upload into it either.
    let refused = upload(
        &mut Http::connect(port),
        port,
        &eve_token,
        "secret",
        "x.txt",
        b"x",
    );
    assert_eq!(refused.status, 403);
    // Permitted, she sees it; the same token, no new one needed.
    let permitted =
        owner.request(Frame::request("PERMIT", "/users/eve").with_header("Room", "secret"));
    assert_eq!(permitted.status_code().map(|s| s.0), Some(200));
    assert_eq!(download(port, &id, &eve_token).body, b"top secret");

    let bad = download(port, &id, "forged");
    assert_eq!(bad.status, 401);
    assert_eq!(
        bad.without_date(),
        download(port, "999999", "forged").without_date()
    );
}

/// Tokens die with their session: at logout, and when the socket ends.
#[test]
fn tokens_are_revoked_at_logout_and_disconnect() {
    let (_dir, server) = server("web-files-revoke", &[]);
    let port = server.port;
    let mut ann = Ws::login(port, "ann");
    let (token, _) = tokens(&mut ann);
    let stored = upload(
        &mut Http::connect(port),
        port,
        &token,
        "lobby",
        "a.txt",
        b"abc",
    );
    let id = stored.header("File-Id").unwrap().to_string();
    assert_eq!(download(port, &id, &token).status, 200);
    let out = ann.request(Frame::request("LOGOUT", "/"));
    assert_eq!(out.status_code().map(|s| s.0), Some(205));
    assert_eq!(download(port, &id, &token).status, 401);
    // Logged in again on the same socket: the old token stays dead.
    let again = ann.request(Frame::request("LOGIN", "/").with_header("Nick", "ann2"));
    assert_eq!(again.status_code().map(|s| s.0), Some(200));
    assert_eq!(download(port, &id, &token).status, 401);
    let (fresh, _) = tokens(&mut ann);
    assert_eq!(download(port, &id, &fresh).status, 200);
    drop(ann);
    server.stdout.wait_for("Client (ann2) disconnected");
    assert_eq!(download(port, &id, &fresh).status, 401);
}

/// A page back from a network drop the server has not noticed logs in
/// with its resume token: the stale session is closed (it hears BYE and
/// the close handshake) and the new one takes the nickname. Without the
/// token, or with another session's, the nickname stays taken.
#[test]
fn a_page_takes_over_its_own_stale_session() {
    let (_dir, server) = server("web-takeover", &[]);
    let port = server.port;
    let mut carol = Raw::login(port, "carol");
    let mut stale = Ws::login(port, "pat");
    let (_, resume) = tokens(&mut stale);
    let mut other = Ws::login(port, "other");
    let (_, others_resume) = tokens(&mut other);

    let login = |resume: Option<&str>| {
        let mut frame = Frame::request("LOGIN", "/")
            .with_header("Nick", "pat")
            .with_header("Rooms", "many");
        if let Some(token) = resume {
            frame = frame.with_header("Resume", token);
        }
        frame
    };
    let mut fresh = Ws::open(port);
    for attempt in [None, Some("forged"), Some(others_resume.as_str())] {
        let reply = fresh.request(login(attempt));
        assert_eq!(reply.status_code().map(|s| s.0), Some(409), "{attempt:?}");
    }
    let reply = fresh.request(login(Some(&resume)));
    assert_eq!(reply.status_code().map(|s| s.0), Some(200), "{reply:?}");
    fresh.expect_event(|e| matches!(e, Event::Join { nick, .. } if nick == "pat"));
    // The stale socket is told, then closed.
    let bye = stale.expect_event(|e| matches!(e, Event::Bye { .. }));
    assert!(matches!(bye, Event::Bye { reason } if reason.contains("logged in again")));
    assert_eq!(stale.close_code(), Some(1001));
    carol.expect_event(|e| matches!(e, Event::Leave { nick, .. } if nick == "pat"));
    carol.expect_event(|e| matches!(e, Event::Join { nick, .. } if nick == "pat"));
    // The old resume token went with its session.
    let (_, new_resume) = tokens(&mut fresh);
    assert_ne!(new_resume, resume);
    let said = fresh.request(Frame::request("SAY", "/rooms/lobby").with_text("back"));
    assert_eq!(said.status_code().map(|s| s.0), Some(200));
    carol.expect_event(|e| matches!(e, Event::Message { text, .. } if text == "back"));
    assert!(
        matches!(other.next(), Message::Text(_)),
        "others unaffected"
    );
}
