//! File sharing: `/send_file`, `/get_file` and `/files` with the real
//! binaries, and what must hold underneath: byte-exact round trips, ids
//! that survive restarts, the size limit, interrupted uploads, hostile
//! names and damaged files leaving nothing behind.

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use chat::command::{FileRequest, ListKind, RoomRequest, Upload};
use chat::event::Event;
use chat::protocol::{header, Status};
use support::{Client, Raw, Server, TempDir};

/// Uploads and asserts it was stored; returns the file id.
fn stored(raw: &mut Raw, name: &str, body: &[u8]) -> u64 {
    let reply = raw.upload(name, body);
    assert_eq!(reply.status_code(), Some(Status::OK), "{reply:?}");
    reply.header(header::FILE_ID).unwrap().parse().unwrap()
}

/// Names in `dir`, sorted; empty if it does not exist.
fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// A client binary logged in as `nick` that saves downloads in `downloads`.
fn client(port: u16, nick: &str, downloads: &Path) -> Client {
    let dir = downloads.to_str().unwrap();
    let client = Client::start(port, &["--nick", nick, "--download-dir", dir]);
    client
        .stdout
        .wait_for(&format!("Welcome {nick} to the room!"));
    client
}

/// Bytes of every value, long runs of NULs, and invalid UTF-8.
fn binary(len: usize) -> Vec<u8> {
    let mut state = 0x2545_f491_4f6c_dd1du64;
    (0..len)
        .map(|i| {
            if i % 7 < 3 {
                return 0;
            }
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect()
}

/// Text, binary, empty and NUL-only files come back byte for byte, and the
/// room is told who shared what and how to fetch it.
#[test]
fn text_and_binary_files_round_trip_byte_exact() {
    let dir = TempDir::new("roundtrip");
    let server = Server::start(dir.path());
    let src = dir.path().join("src");
    fs::create_dir_all(&src).unwrap();
    let files: [(&str, Vec<u8>); 5] = [
        (
            "notes.txt",
            "Hello World! I'm Ma 19\nünïcødé 你好\r\n".into(),
        ),
        ("empty.txt", Vec::new()),
        ("zeros.bin", vec![0; 4096]),
        ("all-bytes.bin", (0..=255u8).cycle().take(70_000).collect()),
        ("big.bin", binary(3 << 20)),
    ];
    let (ntu_dl, ma_dl) = (dir.path().join("ntu-dl"), dir.path().join("ma-dl"));
    let mut ntu = client(server.port, "ntu", &ntu_dl);
    let mut ma = client(server.port, "Ma19", &ma_dl);
    for (i, (name, content)) in files.iter().enumerate() {
        let path = src.join(name);
        fs::write(&path, content).unwrap();
        ntu.type_line(&format!("/send_file {}", path.display()));
        ntu.stdout.wait_for(&format!(
            "Successfully send file {} to server!",
            path.display()
        ));
        let id = i + 1;
        ntu.stdout.wait_for(&format!(
            "Successfully upload file {name} to server, file id:{id}"
        ));
        ma.stdout
            .wait_for(&format!("*** ntu shared file \"{name}\" ("));
        ma.stdout
            .wait_for(&format!("file id:{id}; type /get_file {id} to fetch it"));
    }
    let out = ntu.stdout.text();
    assert!(out.contains("sending big.bin: 100% of 3.0 MiB"), "{out}");
    let send_at = out.find("Successfully send file").unwrap();
    let upload_at = out.find("Successfully upload file").unwrap();
    assert!(send_at < upload_at, "sent is reported before stored: {out}");
    assert!(
        !ma.stdout.text().contains("sending"),
        "only the sender sees its progress"
    );

    for (i, (name, content)) in files.iter().enumerate() {
        let id = i + 1;
        ma.type_line(&format!("/get_file {id}"));
        let saved = ma_dl.join(name);
        ma.stdout.wait_for(&format!(
            "Successfully receive file {} from server",
            saved.display()
        ));
        server
            .stdout
            .wait_for(&format!("Successfully send file id:{id} to Ma19 !"));
        assert_eq!(&fs::read(&saved).unwrap(), content, "{name}");
    }
    assert!(ma.stdout.text().contains("receiving big.bin: 100%"));
    // Fetching again never overwrites: a second copy gets a new name.
    ma.type_line("/download 1");
    let again = ma_dl.join("notes (1).txt");
    ma.stdout.wait_for(&format!(
        "Successfully receive file {} from server",
        again.display()
    ));
    assert_eq!(fs::read(again).unwrap(), files[0].1);
    // The server console shows the upload in header form, not its bytes.
    let console = server.stdout.text();
    assert!(
        console.contains("UPLOAD /files CHAT/1.0\nFrom: ntu\n"),
        "{console}"
    );
    assert!(console.contains("File-Name: big.bin\n"), "{console}");
    assert!(console.contains("[3.0 MiB of file data]"), "{console}");
}

/// `/files` lists the room's files with id, name, size, uploader and date.
#[test]
fn files_command_lists_the_rooms_files() {
    let dir = TempDir::new("list");
    let server = Server::start(dir.path());
    let mut ntu = client(server.port, "ntu", &dir.path().join("dl"));
    ntu.type_line("/files");
    ntu.stdout.wait_for("No files shared in lobby yet");
    let mut raw = Raw::login(server.port, "Ma19");
    stored(&mut raw, "notes.txt", b"twelve bytes");
    stored(&mut raw, "photo.jpg", &binary(1536));
    ntu.type_line("/files");
    ntu.stdout.wait_for("2 file(s) in lobby:");
    let out = ntu.stdout.wait_for("id:2  photo.jpg");
    assert!(
        out.contains("id:1  notes.txt  12 B  from Ma19  20"),
        "{out}"
    );
    assert!(
        out.contains("id:2  photo.jpg  1.5 KiB  from Ma19  20"),
        "{out}"
    );
    // The date says its zone: `2026-11-21 10:15 UTC`.
    let line = out.lines().find(|l| l.contains("id:1  notes.txt")).unwrap();
    assert!(line.ends_with(" UTC"), "{line}");
}

/// Ids keep counting after a restart, and files stored before it can be fetched.
#[test]
fn ids_continue_after_a_restart() {
    let dir = TempDir::new("restart");
    {
        let mut server = Server::start(dir.path());
        let mut raw = Raw::login(server.port, "ntu");
        assert_eq!(stored(&mut raw, "a.txt", b"first"), 1);
        assert_eq!(stored(&mut raw, "b.txt", b"second"), 2);
        server.kill();
    }
    let server = Server::start(dir.path());
    let mut raw = Raw::login(server.port, "ntu");
    assert_eq!(stored(&mut raw, "c.txt", b"third"), 3);
    let reply = raw.request(FileRequest::Download { id: 1 });
    assert_eq!(reply.status_code(), Some(Status::OK));
    assert_eq!(reply.body, b"first");
    assert_eq!(reply.header(header::FILE_NAME), Some("a.txt"));
    let index = fs::read_to_string(dir.path().join("files.txt")).unwrap();
    assert!(index.starts_with("next\t4\n"), "{index}");
    assert_eq!(index.lines().count(), 4, "{index}");
}

/// Over `--max-file-size` the client refuses before sending, and a raw
/// upload gets 413 and a disconnect; nothing is left in files/.
#[test]
fn oversize_upload_is_refused_and_leaves_nothing_behind() {
    let dir = TempDir::new("limit");
    let server = Server::start_with(dir.path(), &["--no-replay", "--max-file-size", "1000"]);
    let big = dir.path().join("big.bin");
    fs::write(&big, vec![7u8; 1001]).unwrap();
    let fits = dir.path().join("fits.bin");
    fs::write(&fits, vec![7u8; 1000]).unwrap();
    let mut ntu = client(server.port, "ntu", &dir.path().join("dl"));
    ntu.type_line(&format!("/upload {}", big.display()));
    ntu.stdout
        .wait_for("the server takes files up to 1000 B (1000 bytes); nothing was sent");
    ntu.type_line(&format!("/upload {}", fits.display()));
    ntu.stdout
        .wait_for("Successfully upload file fits.bin to server, file id:1");

    let mut evil = Raw::login(server.port, "evil");
    let head = Upload {
        name: "big.bin".into(),
        size: 1_000_000,
        digest: None,
    }
    .encode_head();
    evil.send_bytes(&head);
    // The server hangs up without reading the body; a failed write is fine.
    let _ = std::io::Write::write_all(&mut evil.stream, &[0u8; 64 * 1024]);
    let frames = evil.expect_closed();
    let refusal = frames.iter().find(|f| f.status_code().is_some()).unwrap();
    assert_eq!(refusal.status_code(), Some(Status::PAYLOAD_TOO_LARGE));
    assert!(refusal
        .text_lossy()
        .contains("over the limit of 1000 bytes"));
    server.stdout.wait_for("over the file size limit");
    let files = listing(&dir.path().join("files"));
    assert_eq!(files.len(), 1, "only the file that fits: {files:?}");
    assert!(files[0].starts_with("1_"), "{files:?}");
    // The server keeps serving.
    let mut raw = Raw::login(server.port, "after");
    assert_eq!(stored(&mut raw, "x", b"x"), 2);
}

/// A client that dies half-way through an upload leaves no file, no index
/// entry and no id used; the server keeps serving.
#[test]
fn upload_cut_off_mid_body_leaves_no_trace() {
    let dir = TempDir::new("cutoff");
    let server = Server::start(dir.path());
    let mut witness = Raw::login(server.port, "witness");
    {
        let mut evil = Raw::login(server.port, "evil");
        let head = Upload {
            name: "half.bin".into(),
            size: 1 << 20,
            digest: None,
        }
        .encode_head();
        evil.send_bytes(&head);
        evil.send_bytes(&binary(300_000));
        // Dropped here: the connection closes mid-body.
    }
    server.stdout.wait_for(
        "interrupted after 300000 of 1048576 bytes (connection closed); nothing was kept",
    );
    assert_eq!(listing(&dir.path().join("files")), Vec::<String>::new());
    assert!(!dir.path().join("files.txt").exists());
    witness.expect_event(|e| matches!(e, Event::Leave { nick, .. } if nick == "evil"));
    assert_eq!(stored(&mut witness, "whole.bin", b"whole"), 1);
}

/// A refused upload whose framing is intact (wrong digest, no name) is read
/// to its end and answered; the connection stays usable and nothing is kept.
#[test]
fn refused_uploads_keep_the_connection_and_store_nothing() {
    let dir = TempDir::new("refused");
    let server = Server::start(dir.path());
    let mut raw = Raw::login(server.port, "ntu");
    let head = Upload {
        name: "claims.txt".into(),
        size: 5,
        digest: Some(chat::crypto::sha256(b"other")),
    }
    .encode_head();
    raw.send_bytes(&head);
    raw.send_bytes(b"hello");
    let reply = raw.next_reply();
    assert_eq!(reply.status_code(), Some(Status::BAD_REQUEST));
    assert!(reply.text_lossy().contains("does not match its Digest"));
    raw.send_bytes(b"UPLOAD /files CHAT/1.0\r\nContent-Length: 3\r\n\r\nabc");
    let reply = raw.next_reply();
    assert_eq!(reply.status_code(), Some(Status::BAD_REQUEST));
    assert!(reply.text_lossy().contains("File-Name"), "{reply:?}");
    assert_eq!(listing(&dir.path().join("files")), Vec::<String>::new());
    let right = Upload {
        name: "right.txt".into(),
        size: 5,
        digest: Some(chat::crypto::sha256(b"hello")),
    }
    .encode_head();
    raw.send_bytes(&right);
    raw.send_bytes(b"hello");
    assert_eq!(raw.next_reply().header(header::FILE_ID), Some("1"));
}

/// Hostile names never become paths: everything stays inside files/ on the
/// server and inside the download directory on the client.
#[test]
fn path_traversal_names_stay_inside_files_dir() {
    let dir = TempDir::new("traversal");
    let data = dir.path().join("data");
    let server = Server::start(&data);
    let mut raw = Raw::login(server.port, "evil");
    let long = "x".repeat(900);
    let hostile = [
        "../../escape.txt",
        "/tmp/absolute.txt",
        "..",
        ".",
        "CON",
        "..\\..\\windows.txt",
        "tab\there",
        long.as_str(),
    ];
    for name in hostile {
        stored(&mut raw, name, name.as_bytes());
    }
    assert_eq!(
        listing(&data),
        [
            "files",
            "files.txt",
            "log.idx",
            "log.txt",
            "markers.txt",
            "pending.txt"
        ]
    );
    let files = listing(&data.join("files"));
    assert_eq!(files.len(), hostile.len(), "{files:?}");
    for name in &files {
        assert!(
            !name.contains(['/', '\\']) && !name.starts_with('.'),
            "{name}"
        );
        assert!(name.len() < 140, "{name}");
        assert!(data.join("files").join(name).is_file(), "{name}");
    }
    assert!(
        files.iter().any(|n| n.ends_with("_escape.txt")),
        "{files:?}"
    );
    assert!(files.iter().any(|n| n.ends_with("__CON")), "{files:?}");
    assert_eq!(listing(dir.path()), ["data"], "nothing escaped data/");

    let downloads = dir.path().join("dl");
    let mut ma = client(server.port, "Ma19", &downloads);
    for id in 1..=hostile.len() {
        ma.type_line(&format!("/get_file {id}"));
    }
    ma.stdout
        .wait_for_n("Successfully receive file", hostile.len());
    let saved = listing(&downloads);
    assert_eq!(saved.len(), hostile.len(), "{saved:?}");
    assert!(saved.contains(&"escape.txt".to_string()), "{saved:?}");
    assert!(saved.contains(&"_CON".to_string()), "{saved:?}");
    assert!(saved.contains(&"file".to_string()), "{saved:?}");
    assert!(saved.contains(&"file (1)".to_string()), "{saved:?}");
    assert_eq!(listing(dir.path()), ["data", "dl"], "nothing escaped dl/");
    let first = fs::read(downloads.join("escape.txt")).unwrap();
    assert_eq!(first, b"../../escape.txt");
}

/// An id with no file gets a plain 404, from the client too, which then
/// creates nothing on disk.
#[test]
fn a_missing_file_gets_a_plain_404() {
    let dir = TempDir::new("missing");
    let server = Server::start(dir.path());
    let mut raw = Raw::login(server.port, "ntu");
    stored(&mut raw, "real.txt", b"real");
    for id in [0, 2, 99, u64::MAX] {
        let reply = raw.request(FileRequest::Download { id });
        assert_eq!(reply.status_code(), Some(Status::NOT_FOUND), "{id}");
        assert_eq!(reply.text_lossy(), format!("there is no file with id {id}"));
        assert_eq!(reply.header(header::FILE_NAME), None);
    }
    let mut ntu = client(server.port, "ma", &dir.path().join("dl"));
    ntu.type_line("/get_file 42");
    ntu.stdout.wait_for("error: there is no file with id 42");
    assert!(!dir.path().join("dl").exists(), "nothing created for a 404");
}

/// A file in a room someone may not enter (private, or banned from it)
/// answers exactly, byte for byte, as it did before the file existed; a
/// permit opens it; closing the room retires its files for good.
#[test]
fn a_file_you_may_not_see_answers_exactly_like_a_missing_one() {
    let dir = TempDir::new("private");
    let server = Server::start(dir.path());
    let mut owner = Raw::login(server.port, "owner");
    let mut outsider = Raw::login(server.port, "out");
    let missing_1 = outsider.request(FileRequest::Download { id: 1 });
    let missing_2 = outsider.request(FileRequest::Download { id: 2 });
    assert_eq!(missing_1.status_code(), Some(Status::NOT_FOUND));

    let create = |raw: &mut Raw, room: &str, private: bool| {
        let reply = raw.request(RoomRequest::Create {
            room: room.into(),
            private,
        });
        assert_eq!(reply.status_code(), Some(Status::OK), "{reply:?}");
    };
    create(&mut owner, "secret", true);
    assert_eq!(stored(&mut owner, "plan.txt", b"the plan"), 1);
    assert_eq!(outsider.request(FileRequest::Download { id: 1 }), missing_1);
    let listed = outsider.request(FileRequest::List).text_lossy();
    assert!(!listed.contains("plan.txt"), "{listed}");

    // Banned from a public room: the same.
    create(&mut owner, "open", false);
    assert_eq!(stored(&mut owner, "notes.txt", b"notes"), 2);
    let ban = owner.request(RoomRequest::ChangeList {
        room: None,
        list: ListKind::Bans,
        nick: "out".into(),
        add: true,
    });
    assert_eq!(ban.status_code(), Some(Status::OK), "{ban:?}");
    assert_eq!(outsider.request(FileRequest::Download { id: 2 }), missing_2);

    // A permit for the private room opens its file.
    let join = owner.request(RoomRequest::Join {
        room: "secret".into(),
    });
    assert_eq!(join.status_code(), Some(Status::OK), "{join:?}");
    let permit = owner.request(RoomRequest::ChangeList {
        room: None,
        list: ListKind::Permits,
        nick: "out".into(),
        add: true,
    });
    assert_eq!(permit.status_code(), Some(Status::OK), "{permit:?}");
    let got = outsider.request(FileRequest::Download { id: 1 });
    assert_eq!(got.status_code(), Some(Status::OK));
    assert_eq!(got.body, b"the plan");

    // Closed, then a public room of the same name: the old file stays gone.
    assert_eq!(
        owner
            .request(RoomRequest::Close { room: None })
            .status_code(),
        Some(Status::OK)
    );
    server
        .stdout
        .wait_for("1 file(s) shared in secret are no longer offered");
    create(&mut outsider, "secret", false);
    assert_eq!(outsider.request(FileRequest::Download { id: 1 }), missing_1);
    let listed = outsider.request(FileRequest::List).text_lossy();
    assert!(listed.starts_with("No files shared in secret"), "{listed}");
    let index = fs::read_to_string(dir.path().join("files.txt")).unwrap();
    assert!(index.contains("\tsecret (closed)\towner\t"), "{index}");
}

/// A stored file changed on disk is caught by the client's digest check:
/// it says so and keeps nothing.
#[test]
fn corrupted_stored_file_fails_the_digest_check() {
    let dir = TempDir::new("corrupt");
    let server = Server::start(dir.path());
    let mut raw = Raw::login(server.port, "ntu");
    let content = binary(2 << 20);
    stored(&mut raw, "data.bin", &content);
    let files = dir.path().join("files");
    let stored_name = listing(&files).pop().unwrap();
    let mut damaged = content.clone();
    damaged[1_000_000] ^= 0x01;
    fs::write(files.join(stored_name), &damaged).unwrap();

    let downloads = dir.path().join("dl");
    let mut ma = client(server.port, "Ma19", &downloads);
    ma.type_line("/get_file 1");
    let out = ma.stdout.wait_for("failed its SHA-256 check");
    assert!(
        out.contains("error: file id:1 failed its SHA-256 check (expected "),
        "{out}"
    );
    assert!(out.contains("the damaged download"), "{out}");
    ma.stdout.wait_for("was deleted");
    assert_eq!(listing(&downloads), Vec::<String>::new());
    assert!(!out.contains("Successfully receive"), "{out}");
}

/// Others keep chatting while an upload is half-way: the transfer holds no
/// shared lock, and a slow uploader delays nobody.
#[test]
fn others_keep_chatting_while_a_file_moves() {
    let dir = TempDir::new("concurrent");
    let server = Server::start(dir.path());
    let mut uploader = Raw::login(server.port, "slow");
    let mut alice = Raw::login(server.port, "alice");
    let mut bob = Raw::login(server.port, "bob");
    let content = binary(4 << 20);
    let head = Upload {
        name: "big.bin".into(),
        size: content.len() as u64,
        digest: None,
    }
    .encode_head();
    uploader.send_bytes(&head);
    uploader.send_bytes(&content[..1 << 20]);
    for i in 0..10 {
        alice.say(&format!("message {i} while a file moves"));
    }
    bob.expect_event(
        |e| matches!(e, Event::Message { text, .. } if text == "message 9 while a file moves"),
    );
    uploader.send_bytes(&content[1 << 20..]);
    let reply = uploader.next_reply();
    assert_eq!(reply.header(header::FILE_ID), Some("1"));
    let shared = bob.expect_event(|e| matches!(e, Event::File { .. }));
    assert!(
        matches!(&shared, Event::File { from, id: 1, size, .. } if from == "slow" && *size == 4 << 20),
        "{shared:?}"
    );
}

/// A file name that is not UTF-8 on disk can still be sent; it travels with
/// its odd bytes replaced.
#[cfg(unix)]
#[test]
fn non_utf8_file_names_upload_with_a_lossy_name() {
    use std::os::unix::ffi::OsStrExt;
    let dir = TempDir::new("nonutf8");
    let server = Server::start(dir.path());
    let name = std::ffi::OsStr::from_bytes(b"caf\xe9.bin");
    let path: PathBuf = dir.path().join(name);
    fs::write(&path, b"\xff\xfe binary").unwrap();
    let mut ntu = client(server.port, "ntu", &dir.path().join("dl"));
    let mut line = b"/send_file ".to_vec();
    line.extend_from_slice(path.as_os_str().as_bytes());
    line.push(b'\n');
    ntu.type_bytes(&line);
    ntu.stdout
        .wait_for("Successfully upload file caf\u{fffd}.bin to server, file id:1");
    ntu.type_line("/get_file 1");
    let saved = dir.path().join("dl").join("caf_.bin");
    ntu.stdout.wait_for(&format!(
        "Successfully receive file {} from server",
        saved.display()
    ));
    assert_eq!(fs::read(saved).unwrap(), b"\xff\xfe binary");
}

/// Sending something that is not there, or not a file, is refused before
/// anything is sent; the client stays connected.
#[test]
fn sending_a_missing_file_or_a_directory_is_refused_locally() {
    let dir = TempDir::new("nofile");
    let server = Server::start(dir.path());
    let mut ntu = client(server.port, "ntu", &dir.path().join("dl"));
    let missing = dir.path().join("nope.txt");
    ntu.type_line(&format!("/send_file {}", missing.display()));
    ntu.stdout
        .wait_for(&format!("error: cannot read {}:", missing.display()));
    ntu.type_line(&format!("/send_file {}", dir.path().display()));
    ntu.stdout.wait_for("is not a file");
    ntu.type_line("/users");
    ntu.stdout.wait_for("1 user(s) online");
    assert!(!server.stdout.text().contains("UPLOAD"));
}

/// Input ending right after `/get_file` (a script piping commands in) still
/// gets the whole file: leaving waits for transfers in flight.
#[test]
fn end_of_input_waits_for_a_download_in_flight() {
    let dir = TempDir::new("eofwait");
    let server = Server::start(dir.path());
    let content = binary(8 << 20);
    stored(&mut Raw::login(server.port, "ntu"), "big.bin", &content);
    let downloads = dir.path().join("dl");
    let mut ma = Client::start(
        server.port,
        &[
            "--nick",
            "Ma19",
            "--download-dir",
            downloads.to_str().unwrap(),
        ],
    );
    ma.type_line("/get_file 1");
    ma.close_stdin();
    assert!(ma.wait_exit().success());
    let out = ma.stdout.text();
    assert!(out.contains("Successfully receive file"), "{out}");
    assert_eq!(fs::read(downloads.join("big.bin")).unwrap(), content);
}

/// A download asked for just before `/logout` still arrives, and after a
/// new login on the same connection transfers work as before.
#[test]
fn transfers_survive_a_logout_and_a_new_login() {
    let dir = TempDir::new("logout");
    let server = Server::start(dir.path());
    let content = binary(3 << 20);
    stored(&mut Raw::login(server.port, "ntu"), "a.bin", &content);
    let downloads = dir.path().join("dl");
    let mut c = client(server.port, "first", &downloads);
    c.type_line("/get_file 1");
    c.type_line("/logout");
    c.stdout.wait_for("Input your nickname:");
    c.type_line("second");
    c.stdout.wait_for("Welcome second to the room!");
    c.type_line("/get_file 1");
    let out = c.stdout.wait_for_n("Successfully receive file", 2);
    assert!(!out.contains("did not confirm the logout"), "{out}");
    assert_eq!(fs::read(downloads.join("a.bin")).unwrap(), content);
    assert_eq!(fs::read(downloads.join("a (1).bin")).unwrap(), content);
}

/// A disk that fills up during an upload: the uploader gets 507, nothing of
/// the file stays on disk or in the index, and the server keeps serving.
#[test]
fn full_disk_during_an_upload_leaves_nothing_and_keeps_serving() {
    let dir = TempDir::new("filesdiskfull");
    // A 256 KiB file-size limit stands in for a full disk (SIGXFSZ ignored,
    // so writes past it fail with EFBIG instead of killing the server).
    let server =
        Server::start_in_shell(dir.path(), "trap '' XFSZ; ulimit -f 256", &["--no-replay"]);
    let mut ntu = Raw::login(server.port, "ntu");
    let reply = ntu.upload("big.bin", &binary(1 << 20));
    assert_eq!(
        reply.status_code(),
        Some(Status::INSUFFICIENT_STORAGE),
        "{reply:?}"
    );
    let files = listing(&dir.path().join("files"));
    assert!(
        files.is_empty(),
        "a partial file was left behind: {files:?}"
    );
    // Same connection, still served: a small file fits and gets id 1.
    assert_eq!(stored(&mut ntu, "small.txt", b"fits"), 1);
    let mut other = Raw::login(server.port, "other");
    other.say("still chatting");
}

/// An upload that trickles in (a byte now and then) is cut off once a
/// progress window brings too little, long before its overall deadline.
#[test]
fn a_trickling_upload_is_cut_off_for_making_no_progress() {
    let dir = TempDir::new("trickle");
    let server = Server::start_with(dir.path(), &["--no-replay", "--frame-timeout", "2"]);
    let mut slow = Raw::login(server.port, "slow");
    let head = Upload {
        name: "trickle.bin".into(),
        size: 1 << 20,
        digest: None,
    }
    .encode_head();
    slow.send_bytes(&head);
    for _ in 0..40 {
        if std::io::Write::write_all(&mut slow.stream, b"x").is_err() {
            break;
        }
        if server.stdout.text().contains("too slow") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    server.stdout.wait_for("(too slow: ");
    assert_eq!(listing(&dir.path().join("files")), Vec::<String>::new());
}
