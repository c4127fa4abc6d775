//! Requests a client sends, as typed values: one definition that the server
//! parses (`from_frame`) and the client builds (`into_frame`), so the two can
//! never disagree about a verb, a header or a target.
//!
//! | verb      | target          | headers / body                 |
//! |-----------|-----------------|--------------------------------|
//! | `LOGIN`   | `/`             | `Nick`, optional `Password`    |
//! | `REGISTER` | `/`            | `Password`                     |
//! | `PASSWD`  | `/`             | `Password` (current), `New-Password` |
//! | `LOGOUT`  | `/`             | (back to the state before `LOGIN`) |
//! | `SET-PROFILE` | `/profile/ATTR` | text body: the value; empty clears it |
//! | `PROFILE` | `/users/NICK`   |                                |
//! | `WHOAMI`  | `/`             |                                |
//! | `LIST-USERS` | `/`          | (registered users and guests online) |
//! | `SAY`     | `/` or `/rooms/ROOM` | text body                 |
//! | `WHISPER` | `/users/NICK`   | text body                      |
//! | `USERS`   | `/`             |                                |
//! | `ROOMS`   | `/`             |                                |
//! | `CREATE`  | `/rooms/ROOM`   | `Visibility: public` / `private` |
//! | `JOIN`    | `/rooms/ROOM`   |                                |
//! | `LEAVE`   | `/`             | (back to the lobby)            |
//! | `CLOSE`   | `/`             | (the room you own and are in)  |
//! | `BAN`, `UNBAN`, `PERMIT`, `UNPERMIT` | `/users/NICK` | (in the room you own) |
//! | `BANS`, `PERMITS` | `/`     |                                |
//! | `NICK`    | `/users/NEW`    | (change your nickname)         |
//! | `PING`    | `/`             |                                |
//! | `PONG`    | `/`             | (answers a server `PING`; no reply) |
//! | `QUIT`    | `/`             |                                |
//! | `UPLOAD`  | `/files`        | `File-Name`, optional `Digest`; the file as body (streamed, see [`Upload`]) |
//! | `DOWNLOAD`| `/files/N`      |                                |
//! | `FILES`   | `/`             | (the files shared in the sender's room) |

use crate::fileshare::parse_digest;
use crate::protocol::{header, Frame, Head, Status};

/// Longest `File-Name` a client sends, in bytes: it must fit a header line
/// (1 KiB) with room to spare; the stored and saved names are shorter still.
pub const MAX_FILE_NAME_BYTES: usize = 255;

/// A parsed client request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Login {
        nick: String,
        password: Option<String>,
    },
    /// Registers the sender's nickname with this password.
    Register {
        password: String,
    },
    Passwd {
        old: String,
        new: String,
    },
    Logout,
    /// Sets an attribute of the sender's profile; an empty value clears it.
    SetProfile {
        attr: String,
        value: String,
    },
    ViewProfile {
        nick: String,
    },
    Whoami,
    ListUsers,
    /// A chat line for the sender's current room. `room` is the room the
    /// client thinks it is in, when it says so.
    Say {
        room: Option<String>,
        text: String,
    },
    Whisper {
        to: String,
        text: String,
    },
    Users,
    Rooms,
    Create {
        room: String,
        private: bool,
    },
    Join {
        room: String,
    },
    Leave,
    Close,
    /// Add to (`add`) or remove from one of the lists of the room you own.
    List {
        list: ListKind,
        nick: String,
        add: bool,
    },
    ShowList {
        list: ListKind,
    },
    Nick {
        nick: String,
    },
    Ping,
    Pong,
    Quit,
    /// Fetch file `id`; the reply's body is the file.
    Download {
        id: u64,
    },
    /// List the files shared in the sender's room.
    Files,
}

/// The head of an `UPLOAD /files` request. Its body is the file itself, up
/// to the server's `Max-File-Size`, so it is never read into a `Frame`: the
/// server reads this head, checks the length, then streams the body to disk,
/// and the client writes this head, then streams the file after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upload {
    /// The name the sender gave the file; a label, never a path.
    pub name: String,
    pub size: u64,
    /// The SHA-256 the sender computed, if it did: the server refuses to
    /// store a body that does not match it.
    pub digest: Option<[u8; 32]>,
}

impl Upload {
    /// Reads the upload from a request head (whose verb the caller checked).
    ///
    /// # Errors
    /// A 400 `Refusal` for a missing or empty `File-Name`, or a `Digest`
    /// that is not `sha-256=<64 hex digits>`.
    pub fn from_head(head: &Head) -> Result<Upload, Refusal> {
        let name = head
            .header(header::FILE_NAME)
            .filter(|n| !n.trim().is_empty())
            .ok_or_else(|| Refusal::bad_request("UPLOAD needs a File-Name header"))?;
        let digest =
            match head.header(header::DIGEST) {
                None => None,
                Some(value) => Some(parse_digest(value).ok_or_else(|| {
                    Refusal::bad_request("Digest must be sha-256=<64 hex digits>")
                })?),
            };
        Ok(Upload {
            name: name.to_string(),
            size: head.content_length,
            digest,
        })
    }

    /// The encoded head; the caller sends exactly `size` bytes after it.
    /// A name longer than [`MAX_FILE_NAME_BYTES`] is cut on a character boundary.
    pub fn encode_head(&self) -> Vec<u8> {
        let mut end = self.name.len().min(MAX_FILE_NAME_BYTES);
        while !self.name.is_char_boundary(end) {
            end -= 1;
        }
        let frame =
            Frame::request("UPLOAD", "/files").with_header(header::FILE_NAME, &self.name[..end]);
        let frame = match &self.digest {
            Some(d) => frame.with_header(header::DIGEST, crate::fileshare::digest_header(d)),
            None => frame,
        };
        frame.encode_head_for(self.size)
    }
}

/// An owner's per-room list: the blacklist or the whitelist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Bans,
    Permits,
}

/// A request the server understood as a frame but cannot accept; it becomes
/// a reply and the connection stays open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: Status,
    pub reason: String,
}

impl Refusal {
    pub fn new(status: Status, reason: impl Into<String>) -> Refusal {
        Refusal {
            status,
            reason: reason.into(),
        }
    }

    pub fn bad_request(reason: impl Into<String>) -> Refusal {
        Refusal::new(Status::BAD_REQUEST, reason)
    }

    /// The reply frame carrying this refusal.
    pub fn into_frame(self) -> Frame {
        Frame::reply(self.status, &self.reason)
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.0, self.reason)
    }
}

/// The name after `prefix` in a target such as `/rooms/lobby`.
pub fn target_name<'a>(target: &'a str, prefix: &str) -> Option<&'a str> {
    target.strip_prefix(prefix).filter(|name| !name.is_empty())
}

fn room_target(frame: &Frame) -> Result<String, Refusal> {
    target_name(frame.target(), "/rooms/")
        .map(str::to_string)
        .ok_or_else(|| Refusal::bad_request("this request needs a target /rooms/ROOM"))
}

fn user_target(frame: &Frame) -> Result<String, Refusal> {
    target_name(frame.target(), "/users/")
        .map(str::to_string)
        .ok_or_else(|| Refusal::bad_request("this request needs a target /users/NICK"))
}

/// The value of a header a request cannot do without.
fn required(frame: &Frame, name: &str) -> Result<String, Refusal> {
    frame.header(name).map(str::to_string).ok_or_else(|| {
        let verb = frame.verb().unwrap_or("this request");
        Refusal::bad_request(format!("{verb} needs a {name} header"))
    })
}

impl Request {
    /// Reads a request frame.
    ///
    /// # Errors
    /// A `Refusal` (400) for an unknown verb, a missing header, a wrong
    /// target, or a text body that is not UTF-8.
    pub fn from_frame(frame: &Frame) -> Result<Request, Refusal> {
        let Some(verb) = frame.verb() else {
            return Err(Refusal::bad_request(
                "a client sends requests, not status replies",
            ));
        };
        let text = || {
            frame
                .text()
                .map(str::to_string)
                .map_err(|_| Refusal::bad_request("message text is not valid UTF-8"))
        };
        let target = frame.target();
        Ok(match verb {
            "LOGIN" => Request::Login {
                nick: frame
                    .header(header::NICK)
                    .ok_or_else(|| Refusal::bad_request("LOGIN needs a Nick header"))?
                    .to_string(),
                password: frame.header(header::PASSWORD).map(str::to_string),
            },
            "REGISTER" => Request::Register {
                password: required(frame, header::PASSWORD)?,
            },
            "PASSWD" => Request::Passwd {
                old: required(frame, header::PASSWORD)?,
                new: required(frame, header::NEW_PASSWORD)?,
            },
            "LOGOUT" => Request::Logout,
            "SET-PROFILE" => Request::SetProfile {
                attr: target_name(target, "/profile/")
                    .ok_or_else(|| {
                        Refusal::bad_request("SET-PROFILE needs a target /profile/ATTRIBUTE")
                    })?
                    .to_string(),
                value: text()?,
            },
            "PROFILE" => Request::ViewProfile {
                nick: user_target(frame)?,
            },
            "WHOAMI" => Request::Whoami,
            "LIST-USERS" => Request::ListUsers,
            "SAY" => Request::Say {
                room: target_name(target, "/rooms/").map(str::to_string),
                text: text()?,
            },
            "WHISPER" => Request::Whisper {
                to: target_name(target, "/users/")
                    .ok_or_else(|| Refusal::bad_request("WHISPER needs a target /users/NICK"))?
                    .to_string(),
                text: text()?,
            },
            "USERS" => Request::Users,
            "ROOMS" => Request::Rooms,
            "CREATE" => Request::Create {
                room: room_target(frame)?,
                private: match frame.header(header::VISIBILITY) {
                    None | Some("public") => false,
                    Some("private") => true,
                    Some(other) => {
                        return Err(Refusal::bad_request(format!(
                            "Visibility must be public or private, not {other:?}"
                        )))
                    }
                },
            },
            "JOIN" => Request::Join {
                room: room_target(frame)?,
            },
            "LEAVE" => Request::Leave,
            "CLOSE" => Request::Close,
            "BAN" | "UNBAN" | "PERMIT" | "UNPERMIT" => Request::List {
                list: if verb.ends_with("BAN") {
                    ListKind::Bans
                } else {
                    ListKind::Permits
                },
                nick: user_target(frame)?,
                add: !verb.starts_with("UN"),
            },
            "BANS" => Request::ShowList {
                list: ListKind::Bans,
            },
            "PERMITS" => Request::ShowList {
                list: ListKind::Permits,
            },
            "NICK" => Request::Nick {
                nick: user_target(frame)?,
            },
            "PING" => Request::Ping,
            "PONG" => Request::Pong,
            "QUIT" => Request::Quit,
            "DOWNLOAD" => Request::Download {
                id: target_name(target, "/files/")
                    .and_then(|id| id.parse().ok())
                    .ok_or_else(|| Refusal::bad_request("DOWNLOAD needs a target /files/N"))?,
            },
            "FILES" => Request::Files,
            "UPLOAD" => {
                // The session streams uploads from their head; a whole frame
                // here means a caller skipped that step.
                return Err(Refusal::bad_request("UPLOAD is read as a stream"));
            }
            other => {
                return Err(Refusal::bad_request(format!(
                    "unknown verb {other}; see the protocol section of the README"
                )))
            }
        })
    }

    /// The frame for this request.
    pub fn into_frame(self) -> Frame {
        match self {
            Request::Login { nick, password } => {
                let frame = Frame::request("LOGIN", "/").with_header(header::NICK, nick);
                match password {
                    Some(p) => frame.with_header(header::PASSWORD, p),
                    None => frame,
                }
            }
            Request::Register { password } => {
                Frame::request("REGISTER", "/").with_header(header::PASSWORD, password)
            }
            Request::Passwd { old, new } => Frame::request("PASSWD", "/")
                .with_header(header::PASSWORD, old)
                .with_header(header::NEW_PASSWORD, new),
            Request::Logout => Frame::request("LOGOUT", "/"),
            Request::SetProfile { attr, value } => {
                Frame::request("SET-PROFILE", &format!("/profile/{attr}")).with_text(&value)
            }
            Request::ViewProfile { nick } => Frame::request("PROFILE", &format!("/users/{nick}")),
            Request::Whoami => Frame::request("WHOAMI", "/"),
            Request::ListUsers => Frame::request("LIST-USERS", "/"),
            Request::Say { room, text } => {
                let target = room.map_or_else(|| "/".to_string(), |r| format!("/rooms/{r}"));
                Frame::request("SAY", &target).with_text(&text)
            }
            Request::Whisper { to, text } => {
                Frame::request("WHISPER", &format!("/users/{to}")).with_text(&text)
            }
            Request::Users => Frame::request("USERS", "/"),
            Request::Rooms => Frame::request("ROOMS", "/"),
            Request::Create { room, private } => {
                Frame::request("CREATE", &format!("/rooms/{room}")).with_header(
                    header::VISIBILITY,
                    if private { "private" } else { "public" },
                )
            }
            Request::Join { room } => Frame::request("JOIN", &format!("/rooms/{room}")),
            Request::Leave => Frame::request("LEAVE", "/"),
            Request::Close => Frame::request("CLOSE", "/"),
            Request::List { list, nick, add } => {
                let verb = match (list, add) {
                    (ListKind::Bans, true) => "BAN",
                    (ListKind::Bans, false) => "UNBAN",
                    (ListKind::Permits, true) => "PERMIT",
                    (ListKind::Permits, false) => "UNPERMIT",
                };
                Frame::request(verb, &format!("/users/{nick}"))
            }
            Request::ShowList { list } => match list {
                ListKind::Bans => Frame::request("BANS", "/"),
                ListKind::Permits => Frame::request("PERMITS", "/"),
            },
            Request::Nick { nick } => Frame::request("NICK", &format!("/users/{nick}")),
            Request::Ping => Frame::request("PING", "/"),
            Request::Pong => Frame::request("PONG", "/"),
            Request::Quit => Frame::request("QUIT", "/"),
            Request::Download { id } => Frame::request("DOWNLOAD", &format!("/files/{id}")),
            Request::Files => Frame::request("FILES", "/"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Limits;

    fn round_trip(request: Request) {
        let bytes = request.clone().into_frame().encode();
        let frame = Frame::read_from(&mut &bytes[..], &Limits::default())
            .unwrap()
            .unwrap();
        assert_eq!(Request::from_frame(&frame).unwrap(), request);
    }

    #[test]
    fn every_request_round_trips_through_a_frame() {
        round_trip(Request::Login {
            nick: "ntu".into(),
            password: None,
        });
        round_trip(Request::Login {
            nick: "ntu".into(),
            password: Some("correct horse".into()),
        });
        round_trip(Request::Say {
            room: None,
            text: "Hello World! I'm Ma 19".into(),
        });
        round_trip(Request::Say {
            room: Some("lobby".into()),
            text: "a\tb\nc".into(),
        });
        round_trip(Request::Whisper {
            to: "bob".into(),
            text: "psst".into(),
        });
        for r in [
            Request::Users,
            Request::Rooms,
            Request::Leave,
            Request::Close,
            Request::Ping,
            Request::Pong,
            Request::Quit,
            Request::Files,
            Request::Download { id: 0 },
            Request::Download { id: u64::MAX },
        ] {
            round_trip(r);
        }
        round_trip(Request::Create {
            room: "rust".into(),
            private: true,
        });
        round_trip(Request::Join {
            room: "rust".into(),
        });
        for list in [ListKind::Bans, ListKind::Permits] {
            for add in [true, false] {
                round_trip(Request::List {
                    list,
                    nick: "bob".into(),
                    add,
                });
            }
            round_trip(Request::ShowList { list });
        }
        round_trip(Request::Nick { nick: "new".into() });
    }

    #[test]
    fn an_upload_head_round_trips_and_leaves_the_body_unread() {
        let upload = Upload {
            name: "notes (1).txt".into(),
            size: 3,
            digest: Some(crate::crypto::sha256(b"abc")),
        };
        let mut bytes = upload.encode_head();
        bytes.extend_from_slice(b"abc");
        let mut r = &bytes[..];
        let head = Head::read_from(&mut r, &Limits::default())
            .unwrap()
            .unwrap();
        assert_eq!(head.verb(), Some("UPLOAD"));
        assert_eq!(Upload::from_head(&head).unwrap(), upload);
        assert_eq!(r, b"abc");
    }

    #[test]
    fn upload_names_are_cut_to_fit_a_header_line() {
        let upload = Upload {
            name: "é".repeat(1000),
            size: 0,
            digest: None,
        };
        let bytes = upload.encode_head();
        let head = Head::read_from(&mut &bytes[..], &Limits::default())
            .unwrap()
            .unwrap();
        let name = Upload::from_head(&head).unwrap().name;
        assert!(name.len() <= MAX_FILE_NAME_BYTES && name.chars().all(|c| c == 'é'));
    }

    #[test]
    fn bad_uploads_and_downloads_are_refused_with_400() {
        let head = |frame: Frame| {
            let bytes = frame.encode();
            Head::read_from(&mut &bytes[..], &Limits::default())
                .unwrap()
                .unwrap()
        };
        let no_name = head(Frame::request("UPLOAD", "/files"));
        assert!(Upload::from_head(&no_name).is_err());
        let bad_digest = head(
            Frame::request("UPLOAD", "/files")
                .with_header(header::FILE_NAME, "a")
                .with_header(header::DIGEST, "md5=abc"),
        );
        assert!(Upload::from_head(&bad_digest).is_err());
        for frame in [
            Frame::request("DOWNLOAD", "/files/"),
            Frame::request("DOWNLOAD", "/files/x"),
            Frame::request("DOWNLOAD", "/files/-1"),
            Frame::request("DOWNLOAD", "/rooms/1"),
            Frame::request("UPLOAD", "/files"),
        ] {
            let refusal = Request::from_frame(&frame).unwrap_err();
            assert_eq!(refusal.status, Status::BAD_REQUEST, "{frame:?}");
        }
    }

    #[test]
    fn unknown_verbs_and_missing_parts_are_refused_with_400() {
        let cases = [
            Frame::request("DANCE", "/"),
            Frame::request("LOGIN", "/"),
            Frame::request("WHISPER", "/users/"),
            Frame::request("WHISPER", "/rooms/x"),
            Frame::request("JOIN", "/"),
            Frame::request("BAN", "/rooms/x"),
            Frame::request("CREATE", "/rooms/x").with_header(header::VISIBILITY, "secret"),
            Frame::request("SAY", "/").with_body(vec![0xff, 0xfe]),
            Frame::reply(Status::OK, "hi"),
        ];
        for frame in cases {
            let refusal = Request::from_frame(&frame).unwrap_err();
            assert_eq!(refusal.status, Status::BAD_REQUEST, "{frame:?}");
        }
    }

    #[test]
    fn account_requests_round_trip_and_need_their_parts() {
        round_trip(Request::Register {
            password: "correct horse".into(),
        });
        round_trip(Request::Passwd {
            old: "correct horse".into(),
            new: "battery staple".into(),
        });
        round_trip(Request::SetProfile {
            attr: "self_description".into(),
            value: "I like = signs and é".into(),
        });
        round_trip(Request::SetProfile {
            attr: "age".into(),
            value: String::new(),
        });
        round_trip(Request::ViewProfile { nick: "ntu".into() });
        for r in [Request::Logout, Request::Whoami, Request::ListUsers] {
            round_trip(r);
        }
        for (frame, missing) in [
            (Frame::request("REGISTER", "/"), "Password"),
            (
                Frame::request("PASSWD", "/").with_header(header::PASSWORD, "x"),
                "New-Password",
            ),
            (Frame::request("SET-PROFILE", "/"), "/profile/"),
            (Frame::request("PROFILE", "/users/"), "/users/NICK"),
        ] {
            let refusal = Request::from_frame(&frame).unwrap_err();
            assert_eq!(refusal.status, Status::BAD_REQUEST);
            assert!(refusal.reason.contains(missing), "{refusal}");
        }
    }
}
