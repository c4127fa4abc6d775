//! Every word an IRC client is told about the hub's outcomes and refusals:
//! which numeric answers each refusal, and the reason text it carries (our
//! own words, not the RFC's stock phrases). Other doors word the same
//! outcomes their own way.

use crate::command::ListKind;
use crate::irc::casemap::room_to_channel;
use crate::irc::Numeric;
use crate::server::archive::ArchiveError;
use crate::server::hub::{Refused, Removal};
use crate::server::session::history::HistoryRefused;

/// A numeric and its parameters after the client's nickname.
pub type Answer = (Numeric, Vec<String>);

/// The answer refusing a request about `about` (the nickname or channel it
/// named, as typed: some refusals do not carry it), made by `command`.
pub fn refusal(refused: &Refused, command: &str, about: &str) -> Answer {
    let channel = |room: &str| room_to_channel(room);
    let (numeric, params): (Numeric, Vec<String>) = match refused {
        Refused::NotLoggedIn => (
            Numeric::ERR_NOTREGISTERED,
            vec!["you have not registered yet".into()],
        ),
        Refused::BadNick(reason) => (
            Numeric::ERR_ERRONEUSNICKNAME,
            vec![about.into(), reason.clone()],
        ),
        Refused::BadRoomName(reason) => (
            Numeric::from_code(479),
            vec![about.into(), format!("bad channel name: {reason}")],
        ),
        Refused::NickInUse { nick } => (
            Numeric::ERR_NICKNAMEINUSE,
            vec![
                nick.clone(),
                format!("nickname {nick} is already online; choose another"),
            ],
        ),
        Refused::SameNick { nick } => (
            Numeric::ERR_NICKNAMEINUSE,
            vec![nick.clone(), format!("you are {nick} already")],
        ),
        Refused::NoSuchRoom { room } => (
            Numeric::ERR_NOSUCHCHANNEL,
            vec![
                channel(room),
                format!("there is no room {room}; /list shows the rooms"),
            ],
        ),
        Refused::NoSuchUser { nick } => (
            Numeric::ERR_NOSUCHNICK,
            vec![nick.clone(), format!("nobody called {nick} is online")],
        ),
        Refused::RoomExists { room } => (
            Numeric::ERR_UNKNOWNERROR,
            vec![
                command.into(),
                format!("room {room} already exists; /join it instead"),
            ],
        ),
        Refused::Banned { room } => (
            Numeric::ERR_BANNEDFROMCHAN,
            vec![channel(room), format!("you are banned from {room}")],
        ),
        Refused::Private { room, owner } => (
            Numeric::ERR_INVITEONLYCHAN,
            vec![
                channel(room),
                format!("{room} is private; ask its owner {owner} to /invite you"),
            ],
        ),
        Refused::AlreadyIn { room } => (
            Numeric::ERR_USERONCHANNEL,
            vec![
                about.into(),
                channel(room),
                format!("you are already in {room}"),
            ],
        ),
        Refused::NotIn { room, .. } => (
            Numeric::ERR_NOTONCHANNEL,
            vec![channel(room), format!("you are not in {room}")],
        ),
        Refused::InLobby | Refused::NoRoom { .. } => (
            Numeric::ERR_NEEDMOREPARAMS,
            vec![command.into(), "name the channel".into()],
        ),
        Refused::NotOwner { room, owner: None } => (
            Numeric::ERR_CHANOPRIVSNEEDED,
            vec![
                channel(room),
                "nobody owns the lobby; JOIN a new channel to own one".into(),
            ],
        ),
        Refused::NotOwner {
            room,
            owner: Some(owner),
        } => (
            Numeric::ERR_CHANOPRIVSNEEDED,
            vec![
                channel(room),
                format!("only the owner of {room} ({owner}) can do that"),
            ],
        ),
        Refused::LobbyIsPermanent => (
            Numeric::ERR_CHANOPRIVSNEEDED,
            vec![
                channel(crate::text::LOBBY),
                "the lobby cannot be closed".into(),
            ],
        ),
        Refused::BanSelf => (
            Numeric::ERR_UNKNOWNERROR,
            vec![
                command.into(),
                "you cannot ban yourself from your own room".into(),
            ],
        ),
        Refused::ListUnchanged {
            room,
            list,
            nick,
            add,
        } => (
            Numeric::ERR_UNKNOWNERROR,
            vec![
                command.into(),
                format!(
                    "{nick} is {} the {} of {room}",
                    if *add { "already on" } else { "not on" },
                    list_name(*list)
                ),
            ],
        ),
        Refused::EmptyMessage => (
            Numeric::ERR_NOTEXTTOSEND,
            vec!["empty message: nothing was sent".into()],
        ),
        Refused::ControlCharacters => (
            Numeric::ERR_UNKNOWNERROR,
            vec![
                command.into(),
                "message contains control characters; remove them".into(),
            ],
        ),
        Refused::NotStored(e) => (
            Numeric::ERR_UNKNOWNERROR,
            vec![
                command.into(),
                format!("not stored ({e}), so nothing was done; try again later"),
            ],
        ),
        Refused::ClusterUnavailable(why) => (
            Numeric::ERR_UNKNOWNERROR,
            vec![
                command.into(),
                format!("cluster unavailable, retrying ({why}); nothing was done, try again"),
            ],
        ),
        Refused::ClusterRefused(why) => (
            Numeric::ERR_UNKNOWNERROR,
            vec![
                command.into(),
                format!("the cluster's Redis refused it ({why}); nothing was done"),
            ],
        ),
        Refused::ClusterUncertain(why) => (
            Numeric::ERR_UNKNOWNERROR,
            vec![
                command.into(),
                format!("cluster unavailable, retrying ({why}); your message may have gone out: if it did, it shows in the channel soon; check before you send it again"),
            ],
        ),
        Refused::WhisperUncertain(why) => (
            Numeric::ERR_UNKNOWNERROR,
            vec![
                command.into(),
                format!("cluster unavailable, retrying ({why}); your message may have reached them: ask before you send it again"),
            ],
        ),
    };
    (numeric, params)
}

/// The refusal of a whisper (or a history request) in this door's words.
pub fn history_refusal(refused: &HistoryRefused, command: &str, about: &str) -> Answer {
    match refused {
        HistoryRefused::Hub(Refused::NoSuchUser { nick }) => (
            Numeric::ERR_NOSUCHNICK,
            vec![
                nick.clone(),
                format!("nobody called {nick} is online (messages wait only for registered users who are away)"),
            ],
        ),
        HistoryRefused::Hub(refused) => refusal(refused, command, about),
        HistoryRefused::GuestsHaveNone => (
            Numeric::ERR_UNKNOWNERROR,
            vec![
                command.into(),
                "private messages and read markers are kept for registered nicknames only".into(),
            ],
        ),
        HistoryRefused::Archive(ArchiveError::MailboxFull { user, max }) => (
            Numeric::ERR_UNKNOWNERROR,
            vec![
                command.into(),
                format!("{user} has {max} messages waiting already; try again after they log in"),
            ],
        ),
        HistoryRefused::Archive(e) => (
            Numeric::ERR_UNKNOWNERROR,
            vec![
                command.into(),
                format!("the message archive cannot answer ({e}); try again later"),
            ],
        ),
    }
}

/// Why someone was taken out of `room`: the reason of the `KICK` or `PART`
/// they are sent.
pub fn removal(room: &str, why: &Removal) -> String {
    let channel = room_to_channel(room);
    match why {
        Removal::Closed { by_operator: false } => format!("{channel} was closed by its owner"),
        Removal::Closed { by_operator: true } => {
            format!("{channel} was closed by the server operator")
        }
        Removal::Banned => format!("you were banned from {channel}"),
        Removal::Unpermitted => format!("you may no longer enter private room {channel}"),
        Removal::Kicked { by, reason } if reason.is_empty() => {
            format!("{by} sent you out of {channel}")
        }
        Removal::Kicked { reason, .. } => reason.clone(),
    }
}

/// The notice for a registered nickname chosen without its password.
pub fn password_needed(nick: &str) -> String {
    format!(
        "{nick} is a registered nickname: log in with its password (SASL PLAIN, or PASS), or choose another nickname"
    )
}

/// The refusal of `NICK` to a nickname registered by someone else.
pub fn registered_by_someone_else(nick: &str) -> String {
    format!("{nick} is a registered nickname: to use it, reconnect as {nick} with its password")
}

fn list_name(list: ListKind) -> &'static str {
    match list {
        ListKind::Bans => "ban list",
        ListKind::Permits => "invite list",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_carry_the_channel_or_nickname_and_our_reason() {
        let (n, p) = refusal(
            &Refused::Private {
                room: "study".into(),
                owner: "al".into(),
            },
            "JOIN",
            "#study",
        );
        assert_eq!(n, Numeric::ERR_INVITEONLYCHAN);
        assert_eq!(p[0], "#study");
        assert!(p[1].contains("ask its owner al"), "{p:?}");
        let (n, p) = refusal(&Refused::BadNick("too long".into()), "NICK", "abcdefghi");
        assert_eq!(n, Numeric::ERR_ERRONEUSNICKNAME);
        assert_eq!(p, ["abcdefghi", "too long"]);
        let (n, _) = refusal(
            &Refused::Banned {
                room: "study".into(),
            },
            "JOIN",
            "#study",
        );
        assert_eq!(n, Numeric::ERR_BANNEDFROMCHAN);
        let (n, p) = refusal(
            &Refused::NotOwner {
                room: "study".into(),
                owner: Some("al".into()),
            },
            "KICK",
            "#study",
        );
        assert_eq!(n, Numeric::ERR_CHANOPRIVSNEEDED);
        assert_eq!(p[0], "#study");
    }

    #[test]
    fn removals_name_the_channel() {
        assert_eq!(
            removal("study", &Removal::Closed { by_operator: false }),
            "#study was closed by its owner"
        );
        let kicked = Removal::Kicked {
            by: "al".into(),
            reason: String::new(),
        };
        assert_eq!(removal("study", &kicked), "al sent you out of #study");
    }
}
