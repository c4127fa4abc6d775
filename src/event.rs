//! Events the server pushes, as typed values. They are request-shaped frames
//! (a verb, never `CHAT/1.0` first), so a client always tells a pushed event
//! from the reply to its own request.
//!
//! | verb      | target          | headers                            | body        |
//! |-----------|-----------------|------------------------------------|-------------|
//! | `MESSAGE` | `/rooms/ROOM`   | `From`, `Date`, `Seq`, `History`?  | text        |
//! | `WHISPER` | `/users/NICK`   | `From`, `Date`, `Seq`, `Kept`?     | text        |
//! | `JOIN`    | `/rooms/ROOM`   | `Nick`, `Members`                  |             |
//! | `LEAVE`   | `/rooms/ROOM`   | `Nick`, `Members`, `Why`?, `By`?   | reason      |
//! | `FILE`    | `/rooms/ROOM`   | `From`, `File-Id`, `File-Name`, `File-Size`, `Date` |  |
//! | `NICK`    | `/users/NEW`    | `From` (the old nickname)          |             |
//! | `NOTICE`  | `/`             |                                    | text        |
//! | `PING`    | `/`             | (answer with a `PONG` request)     |             |
//! | `BYE`     | `/`             | (the server is closing this connection) | reason |

use crate::command::target_name;
use crate::protocol::{header, Frame};

/// Why someone left a room: doors that tell these apart (IRC's `PART`,
/// `QUIT` and `KICK`) need it, and people like to know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parting {
    /// They left it, saying `reason` (often nothing).
    Left(String),
    /// Their connection ended, with `reason` (theirs, or how it ended).
    Quit(String),
    /// `by` (its owner) sent them out, saying `reason`.
    Kicked { by: String, reason: String },
    /// The room's rules took them out (a ban, a permit taken back, the
    /// room closed); `reason` says which.
    Removed(String),
}

impl Parting {
    /// The `Why` header's value.
    fn kind(&self) -> &'static str {
        match self {
            Parting::Left(_) => "left",
            Parting::Quit(_) => "quit",
            Parting::Kicked { .. } => "kicked",
            Parting::Removed(_) => "removed",
        }
    }

    /// What was said, or why it happened.
    pub fn reason(&self) -> &str {
        match self {
            Parting::Left(r) | Parting::Quit(r) | Parting::Removed(r) => r,
            Parting::Kicked { reason, .. } => reason,
        }
    }

    /// From the `Why` and `By` headers and the body; a frame without
    /// `Why` (an older server) is a plain leave.
    fn from_parts(kind: Option<&str>, by: Option<&str>, reason: String) -> Parting {
        match (kind, by) {
            (Some("quit"), _) => Parting::Quit(reason),
            (Some("kicked"), Some(by)) => Parting::Kicked {
                by: by.to_string(),
                reason,
            },
            (Some("removed"), _) => Parting::Removed(reason),
            _ => Parting::Left(reason),
        }
    }
}

/// A parsed server event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A chat message in a room; `history` marks one replayed on joining.
    Message {
        room: String,
        from: String,
        date: String,
        seq: u64,
        text: String,
        history: bool,
    },
    /// A private message; `kept` when it waited for its recipient, who
    /// was away, and is delivered at login.
    Whisper {
        from: String,
        to: String,
        date: String,
        seq: u64,
        text: String,
        kept: bool,
    },
    /// `nick` entered `room`, which now has `members` people online.
    Join {
        room: String,
        nick: String,
        members: usize,
    },
    /// `nick` left `room`, which now has `members` people online.
    Leave {
        room: String,
        nick: String,
        members: usize,
        why: Parting,
    },
    /// `from` shared a file in `room`; anyone who may enter the room can
    /// fetch it with `DOWNLOAD /files/ID`.
    File {
        room: String,
        from: String,
        id: u64,
        name: String,
        size: u64,
        date: String,
    },
    /// Someone in the room changed nickname.
    Renamed {
        old: String,
        new: String,
    },
    Notice {
        text: String,
    },
    Ping,
    Bye {
        reason: String,
    },
}

impl Event {
    /// The frame for this event.
    pub fn to_frame(&self) -> Frame {
        match self {
            Event::Message {
                room,
                from,
                date,
                seq,
                text,
                history,
            } => {
                let frame = Frame::request("MESSAGE", &format!("/rooms/{room}"))
                    .with_header(header::FROM, from)
                    .with_header(header::DATE, date)
                    .with_header(header::SEQ, seq);
                let frame = if *history {
                    frame.with_header(header::HISTORY, "yes")
                } else {
                    frame
                };
                frame.with_text(text)
            }
            Event::Whisper {
                from,
                to,
                date,
                seq,
                text,
                kept,
            } => {
                let frame = Frame::request("WHISPER", &format!("/users/{to}"))
                    .with_header(header::FROM, from)
                    .with_header(header::DATE, date)
                    .with_header(header::SEQ, seq);
                let frame = if *kept {
                    frame.with_header(header::KEPT, "yes")
                } else {
                    frame
                };
                frame.with_text(text)
            }
            Event::Join {
                room,
                nick,
                members,
            } => Frame::request("JOIN", &format!("/rooms/{room}"))
                .with_header(header::NICK, nick)
                .with_header(header::MEMBERS, members),
            Event::Leave {
                room,
                nick,
                members,
                why,
            } => {
                let frame = Frame::request("LEAVE", &format!("/rooms/{room}"))
                    .with_header(header::NICK, nick)
                    .with_header(header::MEMBERS, members)
                    .with_header(header::WHY, why.kind());
                let frame = match why {
                    Parting::Kicked { by, .. } => frame.with_header(header::BY, by),
                    _ => frame,
                };
                frame.with_text(why.reason())
            }
            Event::File {
                room,
                from,
                id,
                name,
                size,
                date,
            } => Frame::request("FILE", &format!("/rooms/{room}"))
                .with_header(header::FROM, from)
                .with_header(header::FILE_ID, id)
                .with_header(header::FILE_NAME, name)
                .with_header(header::FILE_SIZE, size)
                .with_header(header::DATE, date),
            Event::Renamed { old, new } => {
                Frame::request("NICK", &format!("/users/{new}")).with_header(header::FROM, old)
            }
            Event::Notice { text } => Frame::request("NOTICE", "/").with_text(text),
            Event::Ping => Frame::request("PING", "/"),
            Event::Bye { reason } => Frame::request("BYE", "/").with_text(reason),
        }
    }

    /// Reads an event frame. Unknown verbs are an error so that a client can
    /// say what it did not understand instead of silently dropping it.
    ///
    /// # Errors
    /// A description of what is missing or unknown.
    pub fn from_frame(frame: &Frame) -> Result<Event, String> {
        let verb = frame.verb().ok_or("a status reply is not an event")?;
        let target = frame.target();
        let room = || {
            target_name(target, "/rooms/")
                .map(str::to_string)
                .ok_or_else(|| format!("{verb} without a /rooms/ target"))
        };
        let get = |name: &str| {
            frame
                .header(name)
                .map(str::to_string)
                .ok_or_else(|| format!("{verb} without a {name} header"))
        };
        let number = |name: &str| -> Result<u64, String> {
            get(name)?
                .parse()
                .map_err(|_| format!("{verb} with a non-numeric {name}"))
        };
        let text = frame.text_lossy();
        Ok(match verb {
            "MESSAGE" => Event::Message {
                room: room()?,
                from: get(header::FROM)?,
                date: get(header::DATE).unwrap_or_default(),
                seq: number(header::SEQ)?,
                text,
                history: frame.header(header::HISTORY) == Some("yes"),
            },
            "WHISPER" => Event::Whisper {
                from: get(header::FROM)?,
                to: target_name(target, "/users/")
                    .unwrap_or_default()
                    .to_string(),
                date: get(header::DATE).unwrap_or_default(),
                // Servers before whispers had numbers sent none.
                seq: number(header::SEQ).unwrap_or(0),
                text,
                kept: frame.header(header::KEPT) == Some("yes"),
            },
            "JOIN" | "LEAVE" => {
                let (room, nick) = (room()?, get(header::NICK)?);
                let members = number(header::MEMBERS)? as usize;
                if verb == "JOIN" {
                    Event::Join {
                        room,
                        nick,
                        members,
                    }
                } else {
                    let why = Parting::from_parts(
                        frame.header(header::WHY),
                        frame.header(header::BY),
                        text,
                    );
                    Event::Leave {
                        room,
                        nick,
                        members,
                        why,
                    }
                }
            }
            "FILE" => Event::File {
                room: room()?,
                from: get(header::FROM)?,
                id: number(header::FILE_ID)?,
                name: get(header::FILE_NAME)?,
                size: number(header::FILE_SIZE)?,
                date: get(header::DATE).unwrap_or_default(),
            },
            "NICK" => Event::Renamed {
                old: get(header::FROM)?,
                new: target_name(target, "/users/")
                    .ok_or("NICK without a /users/ target")?
                    .to_string(),
            },
            "NOTICE" => Event::Notice { text },
            "PING" => Event::Ping,
            "BYE" => Event::Bye { reason: text },
            other => return Err(format!("unknown event {other}")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Limits;

    #[test]
    fn every_event_round_trips_through_a_frame() {
        let events = [
            Event::Message {
                room: "lobby".into(),
                from: "ntu".into(),
                date: "2026-11-21 10:15:02.123456".into(),
                seq: 42,
                text: "Hello\nWorld".into(),
                history: true,
            },
            Event::Whisper {
                from: "a".into(),
                to: "b".into(),
                date: "d".into(),
                seq: 9,
                text: "psst".into(),
                kept: true,
            },
            Event::Join {
                room: "lobby".into(),
                nick: "ntu".into(),
                members: 2,
            },
            Event::Leave {
                room: "lobby".into(),
                nick: "ABC".into(),
                members: 1,
                why: Parting::Left(String::new()),
            },
            Event::Leave {
                room: "study".into(),
                nick: "ABC".into(),
                members: 0,
                why: Parting::Quit("connection closed".into()),
            },
            Event::Leave {
                room: "study".into(),
                nick: "ABC".into(),
                members: 0,
                why: Parting::Kicked {
                    by: "own".into(),
                    reason: "spam, again".into(),
                },
            },
            Event::Leave {
                room: "study".into(),
                nick: "ABC".into(),
                members: 0,
                why: Parting::Removed("banned".into()),
            },
            Event::File {
                room: "lobby".into(),
                from: "ntu".into(),
                id: 7,
                name: "report (final).pdf".into(),
                size: 1 << 20,
                date: "2026-11-21 10:15:02.123456".into(),
            },
            Event::Notice {
                text: "server restarting".into(),
            },
            Event::Renamed {
                old: "ntu".into(),
                new: "ntu2".into(),
            },
            Event::Ping,
            Event::Bye {
                reason: "server shutting down".into(),
            },
        ];
        for event in events {
            let bytes = event.to_frame().encode();
            let frame = Frame::read_from(&mut &bytes[..], &Limits::default())
                .unwrap()
                .unwrap();
            assert_eq!(Event::from_frame(&frame).unwrap(), event);
        }
    }

    #[test]
    fn malformed_events_are_described() {
        let err = Event::from_frame(&Frame::request("JOIN", "/rooms/x")).unwrap_err();
        assert!(err.contains("Nick"), "{err}");
        let err = Event::from_frame(&Frame::request("EXPLODE", "/")).unwrap_err();
        assert!(err.contains("EXPLODE"), "{err}");
    }
}
