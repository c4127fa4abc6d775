//! Requests a client sends, as typed values grouped by feature: one
//! definition that the server parses (`from_frame`) and the client builds
//! (`into_frame`), so the two can never disagree about a verb, a header or
//! a target. Each group lives in its own module with its parser and its
//! encoder side by side; this module routes a verb to its group.
//!
//! | verb      | target          | headers / body                 |
//! |-----------|-----------------|--------------------------------|
//! | `LOGIN`   | `/`             | `Nick`, optional `Password`, optional `Rooms: many` |
//! | `REGISTER` | `/`            | `Password`                     |
//! | `PASSWD`  | `/`             | `Password` (current), `New-Password` |
//! | `LOGOUT`  | `/`             | (back to the state before `LOGIN`) |
//! | `SET-PROFILE` | `/profile/ATTR` | text body: the value; empty clears it |
//! | `PROFILE` | `/users/NICK`   |                                |
//! | `WHOAMI`  | `/`             |                                |
//! | `LIST-USERS` | `/`          | (registered users and guests online) |
//! | `NICK`    | `/users/NEW`    | (change your nickname)         |
//! | `SAY`     | `/` or `/rooms/ROOM` | text body                 |
//! | `WHISPER` | `/users/NICK`   | text body                      |
//! | `USERS`   | `/`             |                                |
//! | `ROOMS`   | `/`             |                                |
//! | `CREATE`  | `/rooms/ROOM`   | `Visibility: public` / `private` |
//! | `JOIN`    | `/rooms/ROOM`   |                                |
//! | `LEAVE`   | `/` or `/rooms/ROOM` | (back to the lobby)       |
//! | `CLOSE`   | `/` or `/rooms/ROOM` | (a room you own)          |
//! | `BAN`, `UNBAN`, `PERMIT`, `UNPERMIT` | `/users/NICK` | optional `Room` (a room you own) |
//! | `BANS`, `PERMITS` | `/` or `/rooms/ROOM` |                   |
//! | `PING`    | `/`             |                                |
//! | `PONG`    | `/`             | (answers a server `PING`; no reply) |
//! | `QUIT`    | `/`             |                                |
//! | `UPLOAD`  | `/files`        | `File-Name`, optional `Digest`; the file as body (streamed, see [`Upload`]) |
//! | `DOWNLOAD`| `/files/N`      |                                |
//! | `FILES`   | `/`             | (the files shared in the sender's room) |
//! | `HISTORY`, `SEARCH`, `UNREAD`, `MARKREAD` | see [`HistoryRequest`] | |
//!
//! A target `/` on a room request means the room the sender is in.

mod accounts;
mod chat;
mod files;
mod history;
mod rooms;

pub use accounts::AccountRequest;
pub use chat::ChatRequest;
pub use files::{FileRequest, Upload, MAX_FILE_NAME_BYTES};
pub use history::{Anchor, Conversation, HistoryRequest, DEFAULT_HISTORY_LIMIT, MAX_HISTORY_LIMIT};
pub use rooms::{ListKind, RoomRequest};

use crate::protocol::{Frame, Status};

/// A parsed client request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Account(AccountRequest),
    Chat(ChatRequest),
    Room(RoomRequest),
    File(FileRequest),
    History(HistoryRequest),
    /// The connection itself: keep-alives and goodbye.
    Control(Control),
}

/// Requests about the connection, not the chat.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Control {
    Ping,
    /// Answers a server `PING`; gets no reply.
    Pong,
    Quit,
}

impl From<AccountRequest> for Request {
    fn from(r: AccountRequest) -> Request {
        Request::Account(r)
    }
}

impl From<ChatRequest> for Request {
    fn from(r: ChatRequest) -> Request {
        Request::Chat(r)
    }
}

impl From<RoomRequest> for Request {
    fn from(r: RoomRequest) -> Request {
        Request::Room(r)
    }
}

impl From<FileRequest> for Request {
    fn from(r: FileRequest) -> Request {
        Request::File(r)
    }
}

impl From<HistoryRequest> for Request {
    fn from(r: HistoryRequest) -> Request {
        Request::History(r)
    }
}

impl From<Control> for Request {
    fn from(r: Control) -> Request {
        Request::Control(r)
    }
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

/// The body as message text.
fn text(frame: &Frame) -> Result<String, Refusal> {
    frame
        .text()
        .map(str::to_string)
        .map_err(|_| Refusal::bad_request("message text is not valid UTF-8"))
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
        let control = match verb {
            "PING" => Some(Control::Ping),
            "PONG" => Some(Control::Pong),
            "QUIT" => Some(Control::Quit),
            _ => None,
        };
        if let Some(control) = control {
            return Ok(Request::Control(control));
        }
        let parsed = ChatRequest::parse(verb, frame)
            .map(|r| r.map(Request::Chat))
            .or_else(|| RoomRequest::parse(verb, frame).map(|r| r.map(Request::Room)))
            .or_else(|| AccountRequest::parse(verb, frame).map(|r| r.map(Request::Account)))
            .or_else(|| FileRequest::parse(verb, frame).map(|r| r.map(Request::File)))
            .or_else(|| HistoryRequest::parse(verb, frame).map(|r| r.map(Request::History)));
        parsed.unwrap_or_else(|| {
            Err(Refusal::bad_request(format!(
                "unknown verb {verb}; see the protocol section of the README"
            )))
        })
    }

    /// The frame for this request.
    pub fn into_frame(self) -> Frame {
        match self {
            Request::Account(r) => r.into_frame(),
            Request::Chat(r) => r.into_frame(),
            Request::Room(r) => r.into_frame(),
            Request::File(r) => r.into_frame(),
            Request::History(r) => r.into_frame(),
            Request::Control(c) => c.into_frame(),
        }
    }
}

impl Control {
    /// The frame for this request.
    pub fn into_frame(self) -> Frame {
        let verb = match self {
            Control::Ping => "PING",
            Control::Pong => "PONG",
            Control::Quit => "QUIT",
        };
        Frame::request(verb, "/")
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::protocol::{header, Head, Limits};

    /// Encodes `request`, parses the bytes back, and checks nothing changed.
    pub(crate) fn round_trip(request: impl Into<Request>) {
        let request = request.into();
        let bytes = request.clone().into_frame().encode();
        let frame = Frame::read_from(&mut &bytes[..], &Limits::default())
            .unwrap()
            .unwrap();
        assert_eq!(Request::from_frame(&frame).unwrap(), request);
    }

    #[test]
    fn control_and_file_requests_round_trip() {
        for c in [Control::Ping, Control::Pong, Control::Quit] {
            round_trip(c);
        }
        for r in [
            FileRequest::List,
            FileRequest::Download { id: 0 },
            FileRequest::Download { id: u64::MAX },
        ] {
            round_trip(r);
        }
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
}
