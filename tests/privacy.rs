//! Private data on disk: `log.txt` (whispers, private rooms), the rooms,
//! the shared files and the accounts are readable by the server's user
//! only, and so is a directory the server creates for them.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use chat::command::{AccountRequest, RoomRequest, Upload};
use chat::protocol::Status;
use support::{Raw, Server, TempDir};

fn mode(path: &Path) -> u32 {
    fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}

/// Sends a request and asserts it was carried out.
fn ok(raw: &mut Raw, request: impl Into<chat::command::Request>) {
    let reply = raw.request(request);
    assert_eq!(reply.status_code(), Some(Status::OK), "{reply:?}");
}

/// Every data file the server writes is 0600, and the data directory and
/// `files/`, which it creates, 0700.
#[test]
fn data_files_and_the_directories_the_server_makes_are_private() {
    let top = TempDir::new("private");
    let data = top.path().join("data");
    let server = Server::start_with(&data, &["--no-replay", "--pbkdf2-iterations", "1000"]);
    let mut ntu = Raw::login(server.port, "ntu");
    ok(
        &mut ntu,
        AccountRequest::Register {
            password: "correct horse".into(),
        },
    );
    ok(
        &mut ntu,
        RoomRequest::Create {
            room: "secret".into(),
            private: true,
        },
    );
    ntu.say("for the room only");
    let head = Upload {
        name: "notes.txt".into(),
        size: 5,
        digest: None,
    }
    .encode_head();
    ntu.send_bytes(&head);
    ntu.send_bytes(b"hello");
    let reply = loop {
        let frame = ntu.read();
        if frame.status_code().is_some() {
            break frame;
        }
    };
    assert_eq!(reply.status_code(), Some(Status::OK), "{reply:?}");

    assert_eq!(mode(&data), 0o700, "the data directory");
    assert_eq!(mode(&data.join("files")), 0o700, "files/");
    for name in [
        "log.txt",
        "log.idx",
        "rooms.txt",
        "files.txt",
        "accounts.txt",
        "markers.txt",
        "pending.txt",
    ] {
        assert_eq!(mode(&data.join(name)), 0o600, "{name}");
    }
    let stored: Vec<_> = fs::read_dir(data.join("files")).unwrap().collect();
    assert_eq!(stored.len(), 1, "{stored:?}");
    for entry in stored {
        let path = entry.unwrap().path();
        assert_eq!(mode(&path), 0o600, "{}", path.display());
    }
}

/// Data files left readable by others (by an older server, or by hand) are
/// made private at start-up, and the console says so once.
#[test]
fn loose_data_files_are_tightened_at_start_up_and_reported() {
    let dir = TempDir::new("tighten");
    {
        let server = Server::start(dir.path());
        let mut ntu = Raw::login(server.port, "ntu");
        ntu.say("stored");
        ok(
            &mut ntu,
            RoomRequest::Create {
                room: "room".into(),
                private: false,
            },
        );
    }
    let set = |path: &Path, mode: u32| {
        fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    };
    set(&dir.path().join("log.txt"), 0o644);
    set(&dir.path().join("rooms.txt"), 0o664);
    set(&dir.path().join("pending.txt"), 0o644);
    set(&dir.path().join("files"), 0o755);
    // The directory the user chose keeps its mode: it may be their own.
    set(dir.path(), 0o755);

    let server = Server::start(dir.path());
    let out = server.stdout.wait_for("Socket now listening");
    assert_eq!(mode(&dir.path().join("log.txt")), 0o600);
    assert_eq!(mode(&dir.path().join("rooms.txt")), 0o600);
    assert_eq!(mode(&dir.path().join("pending.txt")), 0o600);
    assert_eq!(mode(&dir.path().join("files")), 0o700);
    assert_eq!(mode(dir.path()), 0o755);
    let notes: Vec<&str> = out
        .lines()
        .filter(|l| l.contains("readable by others"))
        .collect();
    assert_eq!(notes.len(), 1, "{out}");
    for name in ["log.txt", "rooms.txt", "pending.txt", "files/"] {
        assert!(notes[0].contains(name), "{name} in {}", notes[0]);
    }
    drop(server);

    // Nothing to say the next time.
    let server = Server::start(dir.path());
    let out = server.stdout.wait_for("Socket now listening");
    assert!(!out.contains("readable by others"), "{out}");
}
