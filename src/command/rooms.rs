//! Room requests: the directory (`ROOMS`, `USERS`), moving between rooms,
//! and an owner's powers over a room. A request about one room names it in
//! its target (`/rooms/ROOM`) or, for a request whose target is a user, in
//! a `Room` header; without either it means the room the sender is in.

use crate::protocol::{header, Frame};

use super::{room_target, target_name, user_target, Refusal};

/// An owner's per-room list: the blacklist or the whitelist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListKind {
    Bans,
    Permits,
}

/// Something done to or asked of rooms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoomRequest {
    /// Everyone online and where they are.
    Users,
    /// The rooms the sender may see.
    Rooms,
    Create {
        room: String,
        private: bool,
    },
    Join {
        room: String,
    },
    /// Leave `room` (or the sender's room): back to the lobby for a client
    /// in one room at a time.
    Leave {
        room: Option<String>,
    },
    /// Close `room` (or the sender's room), which the sender owns.
    Close {
        room: Option<String>,
    },
    /// Add `nick` to (`add`) or remove it from a list of a room the sender owns.
    ChangeList {
        list: ListKind,
        nick: String,
        add: bool,
        room: Option<String>,
    },
    ShowList {
        list: ListKind,
        room: Option<String>,
    },
}

impl RoomRequest {
    pub(super) fn parse(verb: &str, frame: &Frame) -> Option<Result<RoomRequest, Refusal>> {
        let named_room = || target_name(frame.target(), "/rooms/").map(str::to_string);
        Some(Ok(match verb {
            "USERS" => RoomRequest::Users,
            "ROOMS" => RoomRequest::Rooms,
            "CREATE" => {
                let private = match frame.header(header::VISIBILITY) {
                    None | Some("public") => false,
                    Some("private") => true,
                    Some(other) => {
                        return Some(Err(Refusal::bad_request(format!(
                            "Visibility must be public or private, not {other:?}"
                        ))))
                    }
                };
                match room_target(frame) {
                    Ok(room) => RoomRequest::Create { room, private },
                    Err(refusal) => return Some(Err(refusal)),
                }
            }
            "JOIN" => match room_target(frame) {
                Ok(room) => RoomRequest::Join { room },
                Err(refusal) => return Some(Err(refusal)),
            },
            "LEAVE" => RoomRequest::Leave { room: named_room() },
            "CLOSE" => RoomRequest::Close { room: named_room() },
            "BAN" | "UNBAN" | "PERMIT" | "UNPERMIT" => match user_target(frame) {
                Ok(nick) => RoomRequest::ChangeList {
                    list: list_of(verb),
                    nick,
                    add: !verb.starts_with("UN"),
                    room: frame.header(header::ROOM).map(str::to_string),
                },
                Err(refusal) => return Some(Err(refusal)),
            },
            "BANS" | "PERMITS" => RoomRequest::ShowList {
                list: list_of(verb),
                room: named_room(),
            },
            _ => return None,
        }))
    }

    /// The frame for this request.
    pub fn into_frame(self) -> Frame {
        let room_or_here =
            |room: Option<String>| room.map_or_else(|| "/".into(), |r| format!("/rooms/{r}"));
        match self {
            RoomRequest::Users => Frame::request("USERS", "/"),
            RoomRequest::Rooms => Frame::request("ROOMS", "/"),
            RoomRequest::Create { room, private } => {
                Frame::request("CREATE", &format!("/rooms/{room}")).with_header(
                    header::VISIBILITY,
                    if private { "private" } else { "public" },
                )
            }
            RoomRequest::Join { room } => Frame::request("JOIN", &format!("/rooms/{room}")),
            RoomRequest::Leave { room } => Frame::request("LEAVE", &room_or_here(room)),
            RoomRequest::Close { room } => Frame::request("CLOSE", &room_or_here(room)),
            RoomRequest::ChangeList {
                list,
                nick,
                add,
                room,
            } => {
                let verb = match (list, add) {
                    (ListKind::Bans, true) => "BAN",
                    (ListKind::Bans, false) => "UNBAN",
                    (ListKind::Permits, true) => "PERMIT",
                    (ListKind::Permits, false) => "UNPERMIT",
                };
                let frame = Frame::request(verb, &format!("/users/{nick}"));
                match room {
                    Some(room) => frame.with_header(header::ROOM, room),
                    None => frame,
                }
            }
            RoomRequest::ShowList { list, room } => {
                let verb = match list {
                    ListKind::Bans => "BANS",
                    ListKind::Permits => "PERMITS",
                };
                Frame::request(verb, &room_or_here(room))
            }
        }
    }
}

fn list_of(verb: &str) -> ListKind {
    if verb.contains("BAN") {
        ListKind::Bans
    } else {
        ListKind::Permits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::command::tests::round_trip;

    #[test]
    fn room_requests_round_trip_with_and_without_a_named_room() {
        for r in [RoomRequest::Users, RoomRequest::Rooms] {
            round_trip(r);
        }
        round_trip(RoomRequest::Create {
            room: "rust".into(),
            private: true,
        });
        round_trip(RoomRequest::Join {
            room: "rust".into(),
        });
        for room in [None, Some("rust".to_string())] {
            round_trip(RoomRequest::Leave { room: room.clone() });
            round_trip(RoomRequest::Close { room: room.clone() });
            for list in [ListKind::Bans, ListKind::Permits] {
                for add in [true, false] {
                    round_trip(RoomRequest::ChangeList {
                        list,
                        nick: "bob".into(),
                        add,
                        room: room.clone(),
                    });
                }
                round_trip(RoomRequest::ShowList {
                    list,
                    room: room.clone(),
                });
            }
        }
    }
}
