//! What hub operations return: typed outcomes and refusals, never words.
//! Each door turns them into its own replies (a `CHAT/1.0` status line and
//! text, an IRC numeric, a JSON field).

use std::fmt;
use std::io;
use std::sync::Arc;

use crate::command::ListKind;

/// Why the hub did not do what it was asked. The room and nickname fields
/// are the names as their owners typed them (for messages), not keys.
/// Cloned when one refusal answers every message of a burst.
#[derive(Debug, Clone)]
pub enum Refused {
    /// The connection has not logged in (or has logged out).
    NotLoggedIn,
    /// A nickname that breaks the rules; the reason says which.
    BadNick(String),
    /// A room name that breaks the rules; the reason says which.
    BadRoomName(String),
    /// Someone online already has this nickname (`nick` as they spell it).
    NickInUse {
        nick: String,
    },
    /// Renaming to the nickname one already has.
    SameNick {
        nick: String,
    },
    NoSuchRoom {
        room: String,
    },
    /// Nobody of that name is online.
    NoSuchUser {
        nick: String,
    },
    RoomExists {
        room: String,
    },
    Banned {
        room: String,
    },
    /// A private room that has not permitted the asker.
    Private {
        room: String,
        owner: String,
    },
    AlreadyIn {
        room: String,
    },
    /// The asker is not in `room`; `current` is where it is, if anywhere.
    NotIn {
        room: String,
        current: Option<String>,
    },
    /// Leaving the lobby for nowhere (a client in one room at a time).
    InLobby,
    /// A request about "my room" from a connection in none, or in several.
    NoRoom {
        several: bool,
    },
    /// Only the owner may do that; the lobby has none.
    NotOwner {
        room: String,
        owner: Option<String>,
    },
    LobbyIsPermanent,
    BanSelf,
    /// The list already holds (`add`) or does not hold the nickname.
    ListUnchanged {
        room: String,
        list: ListKind,
        nick: String,
        add: bool,
    },
    EmptyMessage,
    /// Control characters (terminal escapes above all) in a message.
    ControlCharacters,
    /// The change could not be written to disk, so it was not made.
    NotStored(Arc<io::Error>),
    /// Cluster mode, and Redis cannot be reached (the reason): nothing
    /// was done; the node reconnects by itself.
    ClusterUnavailable(String),
    /// Cluster mode, and Redis answered with an error (the reason, such as
    /// `OOM` at its memory limit): nothing was done, and trying again
    /// helps only once whoever runs Redis has seen to it.
    ClusterRefused(String),
    /// Cluster mode, and Redis went away while it was being given a
    /// message (the reason): it may have been added, and then everyone
    /// gets it; sending it again could make it twice.
    ClusterUncertain(String),
    /// Cluster mode, and Redis went away while it was being given a
    /// whisper for another node (the reason): it may have reached them.
    WhisperUncertain(String),
}

impl Refused {
    /// The disk refused a change (`NotStored`).
    pub fn not_stored(e: io::Error) -> Refused {
        Refused::NotStored(Arc::new(e))
    }
}

impl fmt::Display for Refused {
    /// A plain description for logs and tests; doors word refusals themselves.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self:?}")
    }
}

impl std::error::Error for Refused {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Refused::NotStored(e) => Some(e.as_ref()),
            _ => None,
        }
    }
}

/// A room as the directory shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomInfo {
    pub name: String,
    /// `None` for the lobby.
    pub owner: Option<String>,
    pub private: bool,
    pub members: usize,
}

/// Someone online, and the rooms they are in that the viewer may see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Presence {
    pub nick: String,
    /// Rooms the viewer may see, in the order they were entered.
    pub rooms: Vec<String>,
    /// Private rooms the viewer may not see, only counted.
    pub hidden_rooms: usize,
    /// Their away message, if they set one.
    pub away: Option<String>,
    /// Cluster mode: the node they are connected to.
    pub node: Option<String>,
}

/// A room and who is in it, as someone who may see it sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoomView {
    pub info: RoomInfo,
    /// Members online, in the order they entered.
    pub members: Vec<String>,
}

/// Someone was taken out of a room by its owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kicked {
    pub room: String,
    pub nick: String,
}

/// `id` is now in `room`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Joined {
    pub room: String,
    /// Members online, the newcomer included.
    pub members: usize,
    /// The room the connection left to come here (one room at a time).
    pub left: Option<String>,
}

/// A room was created (and its creator moved in).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Created {
    pub room: String,
    pub private: bool,
    pub owner: String,
    pub joined: Joined,
}

/// The asker left `room`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Left {
    pub room: String,
    /// Where a client in one room at a time went instead: the lobby.
    pub now_in: Option<Joined>,
}

/// A room is gone for good.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    pub room: String,
    /// The room's key, for stores that file things under it.
    pub key: String,
    /// Who was in it (and was told).
    pub evicted: Vec<String>,
    /// The closing could not be recorded in `log.txt` (the room is closed
    /// anyway: its history ends at the next restart's last record).
    pub not_logged: Option<String>,
}

/// A ban or permit list changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListChanged {
    pub room: String,
    pub list: ListKind,
    pub nick: String,
    pub added: bool,
    /// The member taken out of the room by the change, if one was in it.
    pub removed: Option<String>,
    /// Whether someone of that nickname is online now.
    pub online: bool,
}

/// A ban or permit list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListShown {
    pub room: String,
    pub list: ListKind,
    pub names: Vec<String>,
}

/// A nickname changed; `rooms` are the rooms told (the renamed one's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Renamed {
    pub old: String,
    pub new: String,
}

/// A room message was stored and delivered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Said {
    pub seq: u64,
    pub room: String,
}

/// A whisper was stored and delivered (or kept for its recipient).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Whispered {
    pub seq: u64,
    /// The recipient's nickname as they spell it.
    pub to: String,
    /// The recipient is away: the whisper waits for their next login.
    pub kept: bool,
}
