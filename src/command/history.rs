//! History requests: paging through a room's past (or a whisper
//! conversation's), searching it, and what one missed.
//!
//! | verb      | target                        | headers                          |
//! |-----------|-------------------------------|----------------------------------|
//! | `HISTORY` | `/rooms/ROOM` or `/users/NICK` | one of `Before`, `After`, `Around` (a Seq), or none (the latest); `Limit` |
//! | `SEARCH`  | `/` or `/rooms/ROOM`          | `Before` (a Seq: the next page); text body: what to find |
//! | `UNREAD`  | `/`                           |                                  |
//! | `MARKREAD`| `/rooms/ROOM`                 | `Seq`: read up to here           |

use crate::protocol::{header, Frame};

use super::{target_name, text, Refusal};

/// Messages one `HISTORY` request may ask for.
pub const MAX_HISTORY_LIMIT: usize = 500;
/// What `HISTORY` returns without a `Limit`.
pub const DEFAULT_HISTORY_LIMIT: usize = 50;

/// Where a page of history is, relative to a message (its Seq).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// The newest messages.
    Latest,
    /// The messages just before this one (not included).
    Before(u64),
    /// The messages just after this one (not included).
    After(u64),
    /// The messages around this one (included).
    Around(u64),
}

/// Whose history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conversation {
    Room(String),
    /// The whispers between the sender and this person.
    With(String),
}

/// A request about stored messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HistoryRequest {
    History {
        of: Conversation,
        anchor: Anchor,
        limit: usize,
    },
    /// Messages containing `text`, ignoring case, newest first, in `room`
    /// or everywhere the sender may read; `before` continues a search.
    Search {
        text: String,
        room: Option<String>,
        before: Option<u64>,
    },
    /// Which rooms have messages the sender has not read.
    Unread,
    /// The sender has read `room` up to message `seq`.
    MarkRead { room: String, seq: u64 },
}

impl HistoryRequest {
    pub(super) fn parse(verb: &str, frame: &Frame) -> Option<Result<HistoryRequest, Refusal>> {
        Some(match verb {
            "HISTORY" => history(frame),
            "SEARCH" => text(frame).and_then(|text| {
                if text.trim().is_empty() {
                    return Err(Refusal::bad_request(
                        "SEARCH needs the text to find as its body",
                    ));
                }
                Ok(HistoryRequest::Search {
                    text,
                    room: target_name(frame.target(), "/rooms/").map(str::to_string),
                    before: seq_header(frame, header::BEFORE)?,
                })
            }),
            "UNREAD" => Ok(HistoryRequest::Unread),
            "MARKREAD" => match target_name(frame.target(), "/rooms/") {
                None => Err(Refusal::bad_request("MARKREAD needs a target /rooms/ROOM")),
                Some(room) => match seq_header(frame, header::SEQ) {
                    Ok(Some(seq)) => Ok(HistoryRequest::MarkRead {
                        room: room.to_string(),
                        seq,
                    }),
                    Ok(None) => Err(Refusal::bad_request("MARKREAD needs a Seq header")),
                    Err(refusal) => Err(refusal),
                },
            },
            _ => return None,
        })
    }

    /// The frame for this request.
    pub fn into_frame(self) -> Frame {
        match self {
            HistoryRequest::History { of, anchor, limit } => {
                let target = match of {
                    Conversation::Room(room) => format!("/rooms/{room}"),
                    Conversation::With(nick) => format!("/users/{nick}"),
                };
                let frame = Frame::request("HISTORY", &target);
                let frame = match anchor {
                    Anchor::Latest => frame,
                    Anchor::Before(seq) => frame.with_header(header::BEFORE, seq),
                    Anchor::After(seq) => frame.with_header(header::AFTER, seq),
                    Anchor::Around(seq) => frame.with_header(header::AROUND, seq),
                };
                frame.with_header(header::LIMIT, limit)
            }
            HistoryRequest::Search { text, room, before } => {
                let target = room.map_or_else(|| "/".to_string(), |r| format!("/rooms/{r}"));
                let frame = Frame::request("SEARCH", &target);
                let frame = match before {
                    Some(seq) => frame.with_header(header::BEFORE, seq),
                    None => frame,
                };
                frame.with_text(&text)
            }
            HistoryRequest::Unread => Frame::request("UNREAD", "/"),
            HistoryRequest::MarkRead { room, seq } => {
                Frame::request("MARKREAD", &format!("/rooms/{room}")).with_header(header::SEQ, seq)
            }
        }
    }
}

fn history(frame: &Frame) -> Result<HistoryRequest, Refusal> {
    let target = frame.target();
    let of = match (
        target_name(target, "/rooms/"),
        target_name(target, "/users/"),
    ) {
        (Some(room), _) => Conversation::Room(room.to_string()),
        (None, Some(nick)) => Conversation::With(nick.to_string()),
        (None, None) => {
            return Err(Refusal::bad_request(
                "HISTORY needs a target /rooms/ROOM or /users/NICK",
            ))
        }
    };
    let anchors = [
        (header::BEFORE, Anchor::Before as fn(u64) -> Anchor),
        (header::AFTER, Anchor::After),
        (header::AROUND, Anchor::Around),
    ];
    let mut anchor = Anchor::Latest;
    for (name, make) in anchors {
        if let Some(seq) = seq_header(frame, name)? {
            if anchor != Anchor::Latest {
                return Err(Refusal::bad_request(
                    "HISTORY takes one of Before, After and Around",
                ));
            }
            anchor = make(seq);
        }
    }
    let limit = match frame.header(header::LIMIT) {
        None => DEFAULT_HISTORY_LIMIT,
        Some(value) => match value.trim().parse::<usize>() {
            Ok(n) if (1..=MAX_HISTORY_LIMIT).contains(&n) => n,
            _ => {
                return Err(Refusal::bad_request(format!(
                    "Limit must be a number from 1 to {MAX_HISTORY_LIMIT}"
                )))
            }
        },
    };
    Ok(HistoryRequest::History { of, anchor, limit })
}

/// A header that must hold a Seq, if it is there.
fn seq_header(frame: &Frame, name: &str) -> Result<Option<u64>, Refusal> {
    frame
        .header(name)
        .map(|value| {
            value
                .trim()
                .parse()
                .map_err(|_| Refusal::bad_request(format!("{name} must be a message's Seq")))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::{tests::round_trip, Request};
    use crate::protocol::Status;

    #[test]
    fn history_requests_round_trip() {
        for anchor in [
            Anchor::Latest,
            Anchor::Before(10),
            Anchor::After(0),
            Anchor::Around(u64::MAX),
        ] {
            round_trip(HistoryRequest::History {
                of: Conversation::Room("rust".into()),
                anchor,
                limit: 50,
            });
        }
        round_trip(HistoryRequest::History {
            of: Conversation::With("bob".into()),
            anchor: Anchor::Before(7),
            limit: MAX_HISTORY_LIMIT,
        });
        round_trip(HistoryRequest::Search {
            text: "needle é".into(),
            room: Some("rust".into()),
            before: Some(99),
        });
        round_trip(HistoryRequest::Search {
            text: "x".into(),
            room: None,
            before: None,
        });
        round_trip(HistoryRequest::Unread);
        round_trip(HistoryRequest::MarkRead {
            room: "rust".into(),
            seq: 12,
        });
    }

    #[test]
    fn bad_history_requests_are_refused_with_400() {
        for frame in [
            Frame::request("HISTORY", "/"),
            Frame::request("HISTORY", "/rooms/r").with_header(header::LIMIT, "0"),
            Frame::request("HISTORY", "/rooms/r").with_header(header::LIMIT, "501"),
            Frame::request("HISTORY", "/rooms/r").with_header(header::LIMIT, "many"),
            Frame::request("HISTORY", "/rooms/r").with_header(header::BEFORE, "-1"),
            Frame::request("HISTORY", "/rooms/r")
                .with_header(header::BEFORE, "1")
                .with_header(header::AFTER, "2"),
            Frame::request("SEARCH", "/").with_text("  "),
            Frame::request("MARKREAD", "/rooms/r"),
            Frame::request("MARKREAD", "/").with_header(header::SEQ, "3"),
        ] {
            let refusal = Request::from_frame(&frame).unwrap_err();
            assert_eq!(refusal.status, Status::BAD_REQUEST, "{frame:?}");
        }
    }
}
