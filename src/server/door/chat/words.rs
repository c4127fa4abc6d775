//! Every word a `CHAT/1.0` client is told about the hub's outcomes and
//! refusals: the status code and the text, in one place. Other doors word
//! the same outcomes their own way.

use std::fmt::Write as _;

use crate::command::ListKind;
use crate::protocol::{Frame, Status};
use crate::server::hub::outcome::{Closed, Created, Joined, Left, ListChanged, ListShown};
use crate::server::hub::{Presence, Refused, RoomInfo};

/// The reply refusing a request.
pub fn refusal(refused: &Refused) -> Frame {
    let (status, text) = match refused {
        Refused::NotLoggedIn => (Status::FORBIDDEN, "log in first".to_string()),
        Refused::BadNick(reason) | Refused::BadRoomName(reason) => {
            (Status::BAD_REQUEST, reason.clone())
        }
        Refused::NickInUse { nick } => (
            Status::CONFLICT,
            format!("nickname {nick} is already online; choose another"),
        ),
        Refused::SameNick { nick } => (Status::CONFLICT, format!("you are {nick} already")),
        Refused::NoSuchRoom { room } => (
            Status::NOT_FOUND,
            format!("there is no room {room}; /ls lists them"),
        ),
        Refused::NoSuchUser { nick } => {
            (Status::NOT_FOUND, format!("nobody called {nick} is online"))
        }
        Refused::RoomExists { room } => (
            Status::CONFLICT,
            format!("room {room} already exists; /join it instead"),
        ),
        Refused::Banned { room } => (Status::FORBIDDEN, format!("you are banned from {room}")),
        Refused::Private { room, owner } => (
            Status::FORBIDDEN,
            format!("{room} is private; ask its owner {owner} to /permit you"),
        ),
        Refused::AlreadyIn { room } => (Status::CONFLICT, format!("you are already in {room}")),
        Refused::NotIn { room, current } => (
            Status::CONFLICT,
            match current {
                Some(current) => format!("you are not in {room}; you are in {current}"),
                None => format!("you are not in {room}"),
            },
        ),
        Refused::InLobby => (
            Status::CONFLICT,
            "you are in the lobby already; /quit leaves the chat".to_string(),
        ),
        Refused::NoRoom { several: true } => (
            Status::BAD_REQUEST,
            "you are in several rooms: name one (target /rooms/ROOM)".to_string(),
        ),
        Refused::NoRoom { several: false } => {
            (Status::FORBIDDEN, "you are not in a room".to_string())
        }
        Refused::NotOwner { owner: None, .. } => (
            Status::FORBIDDEN,
            "nobody owns the lobby; /create a room of your own".to_string(),
        ),
        Refused::NotOwner {
            room,
            owner: Some(owner),
        } => (
            Status::FORBIDDEN,
            format!("only the owner of {room} ({owner}) can do that"),
        ),
        Refused::LobbyIsPermanent => (Status::FORBIDDEN, "the lobby cannot be closed".to_string()),
        Refused::BanSelf => (
            Status::BAD_REQUEST,
            "you cannot ban yourself from your own room".to_string(),
        ),
        Refused::ListUnchanged {
            room,
            list,
            nick,
            add,
        } => (
            Status::CONFLICT,
            format!(
                "{nick} is {} the {} of {room}",
                if *add { "already on" } else { "not on" },
                list_name(*list)
            ),
        ),
        Refused::EmptyMessage => (Status::BAD_REQUEST, "empty message".to_string()),
        Refused::ControlCharacters => (
            Status::BAD_REQUEST,
            "message contains control characters (such as terminal escape sequences); remove them"
                .to_string(),
        ),
        Refused::NotStored(e) => (
            Status::INSUFFICIENT_STORAGE,
            format!("not stored ({e}), so nothing was done; try again later"),
        ),
        Refused::ClusterUnavailable(why) => (
            Status::UNAVAILABLE,
            format!("cluster unavailable, retrying ({why}); nothing was done, try again"),
        ),
        Refused::ClusterRefused(why) => (
            Status::UNAVAILABLE,
            format!("the cluster's Redis refused it ({why}); nothing was done"),
        ),
        Refused::ClusterUncertain(why) => (
            Status::UNAVAILABLE,
            format!("cluster unavailable, retrying ({why}); your message may have gone out: if it did, it shows in the room soon; check before you send it again"),
        ),
        Refused::WhisperUncertain(why) => (
            Status::UNAVAILABLE,
            format!("cluster unavailable, retrying ({why}); your whisper may have reached them: ask before you send it again"),
        ),
    };
    Frame::reply(status, &text)
}

/// The refusal of a message that could not be stored, as the seeds' users
/// know it; other refusals as `refusal` words them.
pub fn message_refusal(refused: &Refused) -> Frame {
    match refused {
        Refused::NotStored(e) => Frame::reply(
            Status::INSUFFICIENT_STORAGE,
            &format!("message not stored ({e}), so it was not delivered; try again later"),
        ),
        other => refusal(other),
    }
}

pub fn joined(joined: &Joined) -> Frame {
    Frame::reply(Status::OK, &format!("you are now in {}", joined.room))
}

pub fn created(created: &Created) -> Frame {
    Frame::reply(
        Status::OK,
        &format!(
            "created {} room {}; you own it",
            visibility(created.private),
            created.room
        ),
    )
}

pub fn left(left: &Left) -> Frame {
    let text = match &left.now_in {
        Some(joined) => format!("you are back in the {}", joined.room),
        None => format!("you left {}", left.room),
    };
    Frame::reply(Status::OK, &text)
}

pub fn closed(closed: &Closed) -> Frame {
    Frame::reply(Status::OK, &format!("closed {}", closed.room))
}

/// `registered`: whether the nickname on the list is a registered account.
pub fn list_changed(changed: &ListChanged, registered: bool) -> Frame {
    let mut text = format!(
        "{} {} the {} of {}",
        changed.nick,
        if changed.added {
            "added to"
        } else {
            "removed from"
        },
        list_name(changed.list),
        changed.room
    );
    // Lists hold nicknames; only a registered one is kept for its owner.
    if changed.added && !registered {
        let who = if changed.online {
            format!("{} is a guest, not a registered nickname", changed.nick)
        } else {
            format!("nobody called {} is registered or online", changed.nick)
        };
        let what = match changed.list {
            ListKind::Bans => "is banned",
            ListKind::Permits => "may enter",
        };
        let _ = write!(text, "\nnote: {who}: whoever takes that nickname {what}");
    }
    Frame::reply(Status::OK, &text)
}

pub fn list_shown(shown: &ListShown) -> Frame {
    Frame::reply(
        Status::OK,
        &format!(
            "{} of {} ({}): {}",
            list_name(shown.list),
            shown.room,
            shown.names.len(),
            if shown.names.is_empty() {
                "nobody".to_string()
            } else {
                shown.names.join(", ")
            }
        ),
    )
}

/// Who is online and where, as `USERS` answers it.
pub fn users(users: &[Presence]) -> String {
    let mut text = format!("{} user(s) online:", users.len());
    for user in users {
        let _ = write!(text, "\n  {} in {}", user.nick, where_is(user));
        if let Some(node) = &user.node {
            let _ = write!(text, " (node {node})");
        }
    }
    text
}

/// The rooms of one person, as others may see them.
pub fn where_is(user: &Presence) -> String {
    let mut rooms = user.rooms.join(", ");
    if user.hidden_rooms > 0 {
        if !rooms.is_empty() {
            rooms.push_str(", ");
        }
        rooms.push_str(if user.hidden_rooms == 1 {
            "a private room"
        } else {
            "private rooms"
        });
    }
    if rooms.is_empty() {
        rooms.push_str("no room");
    }
    rooms
}

/// The room directory, as `ROOMS` (and the console's `/ls`) shows it.
pub fn rooms(rooms: &[RoomInfo]) -> String {
    let mut text = format!("{} room(s):", rooms.len());
    for room in rooms {
        let _ = write!(
            text,
            "\n  {}  owner: {}  {}  {} online",
            room.name,
            room.owner.as_deref().unwrap_or("-"),
            visibility(room.private),
            room.members
        );
    }
    text
}

fn list_name(list: ListKind) -> &'static str {
    match list {
        ListKind::Bans => "blacklist",
        ListKind::Permits => "whitelist",
    }
}

fn visibility(private: bool) -> &'static str {
    if private {
        "private"
    } else {
        "public"
    }
}
