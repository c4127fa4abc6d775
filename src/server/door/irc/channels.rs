//! Rooms as channels: `JOIN` (which creates a room that does not exist, as
//! IRC users expect; its creator owns it), `PART`, `NAMES`, `LIST`, `TOPIC`
//! (rooms have none), `KICK` and `INVITE` (a permit into a private room).
//! Owners are channel operators (`@`).

use crate::command::ListKind;
use crate::irc::cap::Cap;
use crate::irc::casemap::{channel_to_room, is_channel, room_to_channel, same, targets};
use crate::irc::replies;
use crate::irc::{Message, Numeric};
use crate::server::hub::outcome::RoomView;
use crate::server::hub::Refused;
use crate::server::session::Session;

use super::codec::server_notice;
use super::{answer, mask, me, reply, send, words, Flow, Online, MAX_TARGETS, SERVER};

/// The room a channel names, or the line refusing it: `403` without the
/// `#`, `479` for a name our rules refuse.
pub fn room_of<'c>(s: &Session<'_>, channel: &'c str) -> Result<&'c str, Message> {
    channel_to_room(channel).map_err(|why| {
        let numeric = if is_channel(channel) {
            Numeric::from_code(479)
        } else {
            Numeric::ERR_NOSUCHCHANNEL
        };
        reply(s, numeric, [channel, &why])
    })
}

/// The room and who is in it, if this client may see it; else `403`.
pub fn view(s: &Session<'_>, channel: &str) -> Result<RoomView, Message> {
    let room = room_of(s, channel)?;
    s.hub
        .room_view(Some(s.id), room)
        .map_err(|refused| answer(s, words::refusal(&refused, "", channel)))
}

/// True when `nick` owns the room.
pub fn is_owner(view: &RoomView, nick: &str) -> bool {
    view.info.owner.as_deref().is_some_and(|o| same(o, nick))
}

/// `JOIN #a,#b` (keys are ignored: rooms have none); `JOIN 0` parts all.
pub fn join(s: &mut Session<'_>, online: &mut Online, msg: &Message) -> Flow {
    let list = msg.param(0).unwrap_or_default();
    if list == "0" {
        for room in s.hub.rooms_of(s.id) {
            part_one(s, &room_to_channel(&room), None);
        }
        return Flow::Go;
    }
    for (i, channel) in targets(list).enumerate() {
        if i == MAX_TARGETS {
            let why = format!("at most {MAX_TARGETS} channels in one JOIN");
            send(s, &[reply(s, Numeric::from_code(407), [channel, &why])]);
            break;
        }
        join_one(s, online, channel);
    }
    Flow::Go
}

fn join_one(s: &mut Session<'_>, online: &Online, channel: &str) {
    let room = match room_of(s, channel) {
        Ok(room) => room,
        Err(line) => return send(s, &[line]),
    };
    let mut tries = 0;
    let joined = loop {
        tries += 1;
        let refused = match s.join_room(room) {
            Ok(joined) => break joined.room,
            Err(Refused::NoSuchRoom { .. }) => match s.create_room(room, false) {
                Ok(created) => break created.room,
                // Created by someone else meanwhile: join it after all.
                Err(Refused::RoomExists { .. }) if tries < 2 => continue,
                Err(refused) => refused,
            },
            // IRC servers ignore a JOIN of a channel one is in.
            Err(Refused::AlreadyIn { .. }) => return,
            Err(refused) => refused,
        };
        return send(s, &[answer(s, words::refusal(&refused, "JOIN", channel))]);
    };
    // No topic line: a channel without a topic sends none on JOIN
    // (modern.ircdocs.horse), and rooms have none. The read marker comes
    // before the names (draft/read-marker).
    if let Some(marker) = super::history::marker_on_join(s, online, &joined) {
        send(s, &[marker]);
    }
    send_names(s, online, &joined);
}

/// `353` lines and `366` for `room`, as this client may see it: the owner
/// with `@`, full masks with `userhost-in-names`.
pub fn send_names(s: &mut Session<'_>, online: &Online, room: &str) {
    let nick = me(s);
    let channel = room_to_channel(room);
    let Ok(view) = s.hub.room_view(Some(s.id), room) else {
        let end = reply(
            s,
            Numeric::RPL_ENDOFNAMES,
            [channel.as_str(), "End of /NAMES list"],
        );
        return send(s, &[end]);
    };
    let full = online.caps.has(Cap::UserhostInNames);
    let names: Vec<String> = view
        .members
        .iter()
        .map(|n| {
            let prefix = if is_owner(&view, n) { "@" } else { "" };
            if full {
                format!("{prefix}{}", mask(n))
            } else {
                format!("{prefix}{n}")
            }
        })
        .collect();
    let symbol = if view.info.private { "*" } else { "=" };
    let channel = room_to_channel(&view.info.name);
    send(s, &replies::names(SERVER, &nick, &channel, symbol, &names));
}

/// `NAMES [#a,#b]`: the names of each channel this client may see; a
/// bare `NAMES` ends at once (the whole server is `LIST` and `WHO`).
pub fn names(s: &mut Session<'_>, online: &mut Online, msg: &Message) -> Flow {
    let Some(list) = msg.param(0).filter(|l| !l.is_empty()) else {
        let end = reply(s, Numeric::RPL_ENDOFNAMES, ["*", "End of /NAMES list"]);
        send(s, &[end]);
        return Flow::Go;
    };
    for channel in targets(list) {
        match channel_to_room(channel) {
            Ok(room) => send_names(s, online, room),
            Err(_) => {
                let end = reply(s, Numeric::RPL_ENDOFNAMES, [channel, "End of /NAMES list"]);
                send(s, &[end]);
            }
        }
    }
    Flow::Go
}

/// `PART #a,#b [:reason]`. The client is sent its `PART` (the hub tells
/// the others, without the reason: it keeps none).
pub fn part(s: &mut Session<'_>, _: &mut Online, msg: &Message) -> Flow {
    let reason = msg.param(1).filter(|r| !r.is_empty());
    for channel in targets(msg.param(0).unwrap_or_default()) {
        part_one(s, channel, reason);
    }
    Flow::Go
}

fn part_one(s: &mut Session<'_>, channel: &str, reason: Option<&str>) {
    let room = match room_of(s, channel) {
        Ok(room) => room,
        Err(line) => return send(s, &[line]),
    };
    match s.leave_room(Some(room), reason.unwrap_or_default()) {
        Ok(left) => {
            let mut params = vec![room_to_channel(&left.room)];
            params.extend(reason.map(str::to_string));
            let nick = me(s);
            send(s, &[Message::new("PART", params).with_source(mask(&nick))]);
        }
        Err(refused) => {
            // "Not in it" is how the hub also answers for a room that does
            // not exist: say which.
            let refused = match (refused, s.hub.room_view(Some(s.id), room)) {
                (Refused::NotIn { .. }, Err(missing)) => missing,
                (refused, _) => refused,
            };
            send(s, &[answer(s, words::refusal(&refused, "PART", channel))]);
        }
    }
}

/// `LIST [#a,#b]`: the rooms this client may see, each with its member
/// count and, where a topic would be, its owner and whether it is private.
pub fn list(s: &mut Session<'_>, _: &mut Online, msg: &Message) -> Flow {
    let wanted: Vec<String> = msg
        .param(0)
        .filter(|p| is_channel(p))
        .map(|p| targets(p).map(str::to_string).collect())
        .unwrap_or_default();
    let mut lines = vec![reply(s, Numeric::RPL_LISTSTART, ["Channel", "Users  Name"])];
    for room in s.rooms() {
        let channel = room_to_channel(&room.name);
        if !wanted.is_empty() && !wanted.iter().any(|w| same(w, &channel)) {
            continue;
        }
        let about = match (&room.owner, room.private) {
            (None, _) => "everyone starts here".to_string(),
            (Some(owner), false) => format!("[+] owner {owner}"),
            (Some(owner), true) => format!("[+i] owner {owner}, private"),
        };
        let count = room.members.to_string();
        lines.push(reply(
            s,
            Numeric::RPL_LIST,
            [channel.as_str(), count.as_str(), about.as_str()],
        ));
    }
    lines.push(reply(s, Numeric::RPL_LISTEND, ["End of /LIST"]));
    send(s, &lines);
    Flow::Go
}

/// `TOPIC #room [:text]`: rooms have no topic (`331`), and none can be set.
pub fn topic(s: &mut Session<'_>, _: &mut Online, msg: &Message) -> Flow {
    let channel = msg.param(0).unwrap_or_default();
    let view = match view(s, channel) {
        Ok(view) => view,
        Err(line) => return sent(s, line),
    };
    let channel = room_to_channel(&view.info.name);
    let line = match msg.param(1) {
        None => reply(
            s,
            Numeric::RPL_NOTOPIC,
            [channel.as_str(), "no topic: rooms have none here"],
        ),
        Some(_) if !is_owner(&view, &me(s)) => {
            let refused = Refused::NotOwner {
                room: view.info.name.clone(),
                owner: view.info.owner.clone(),
            };
            answer(s, words::refusal(&refused, "TOPIC", &channel))
        }
        Some(_) => reply(
            s,
            Numeric::ERR_UNKNOWNERROR,
            [
                "TOPIC",
                "rooms have no topic on this server, so none can be set",
            ],
        ),
    };
    sent(s, line)
}

/// `KICK #room nick[,nick] [:reason]`: the owner sends people out (they
/// may come back; a ban keeps them out). The kicked one and the room,
/// the kicker included, get the `KICK`.
pub fn kick(s: &mut Session<'_>, _: &mut Online, msg: &Message) -> Flow {
    let channel = msg.param(0).unwrap_or_default();
    let room = match room_of(s, channel) {
        Ok(room) => room,
        Err(line) => return sent(s, line),
    };
    let reason = msg.param(2).unwrap_or_default();
    for nick in targets(msg.param(1).unwrap_or_default()) {
        let line = match s.kick_from_room(Some(room), nick, reason) {
            Ok(_) => continue,
            Err(Refused::NotIn { room, .. }) => reply(
                s,
                Numeric::ERR_USERNOTINCHANNEL,
                [
                    nick,
                    &room_to_channel(&room),
                    &format!("{nick} is not in {room}"),
                ],
            ),
            Err(refused) => answer(s, words::refusal(&refused, "KICK", channel)),
        };
        send(s, &[line]);
    }
    Flow::Go
}

/// `INVITE nick #room`: into a private room, the owner's permit (`+I`);
/// into a public one, anyone may come anyway. The invited one, if online,
/// is told (an `INVITE` line over IRC, a notice at the other doors); the
/// inviter hears whether they were.
pub fn invite(s: &mut Session<'_>, _: &mut Online, msg: &Message) -> Flow {
    let (nick, channel) = (
        msg.param(0).unwrap_or_default(),
        msg.param(1).unwrap_or_default(),
    );
    let view = match view(s, channel) {
        Ok(view) => view,
        Err(line) => return sent(s, line),
    };
    let channel = room_to_channel(&view.info.name);
    if !view.members.iter().any(|m| same(m, &me(s))) {
        let why = format!("you are not in {}: only members invite", view.info.name);
        return sent(
            s,
            reply(s, Numeric::ERR_NOTONCHANNEL, [channel.as_str(), &why]),
        );
    }
    if view.members.iter().any(|m| same(m, nick)) {
        let why = format!("{nick} is already in {}", view.info.name);
        return sent(
            s,
            reply(
                s,
                Numeric::ERR_USERONCHANNEL,
                [nick, channel.as_str(), &why],
            ),
        );
    }
    if view.info.private {
        let changed = s.change_list(Some(&view.info.name), ListKind::Permits, nick, true);
        match changed {
            Ok(_) | Err(Refused::ListUnchanged { .. }) => {}
            Err(Refused::BadNick(_)) => {
                let why = format!("{nick} cannot be anyone's nickname");
                return sent(s, reply(s, Numeric::ERR_NOSUCHNICK, [nick, &why]));
            }
            Err(refused) => {
                return sent(s, answer(s, words::refusal(&refused, "INVITE", &channel)))
            }
        }
    } else if !s.hub.is_online(nick) {
        let why = format!("nobody called {nick} is online");
        return sent(s, reply(s, Numeric::ERR_NOSUCHNICK, [nick, &why]));
    }
    let mut lines = vec![reply(s, Numeric::RPL_INVITING, [nick, channel.as_str()])];
    let told = if s.hub.invite(nick, &view.info.name, &me(s), &mut s.owed) {
        "they were told"
    } else {
        "they are not online: tell them yourself"
    };
    let note = if view.info.private {
        format!("{nick} may now enter {channel} ({told})")
    } else {
        format!("{channel} is public: {nick} may join it any time ({told})")
    };
    lines.extend(server_notice(&me(s), &note));
    send(s, &lines);
    Flow::Go
}

/// Sends one line; the command is done.
pub fn sent(s: &mut Session<'_>, line: Message) -> Flow {
    send(s, &[line]);
    Flow::Go
}
