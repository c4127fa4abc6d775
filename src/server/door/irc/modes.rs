//! `MODE`: what a room's settings are in channel modes, and the changes an
//! owner can make. A private room is `+i`; its ban list is `+b` and its
//! permits are the invite exceptions `+I`, each a nickname from anywhere
//! (`nick!*@*`). A room's privacy is chosen when it is created and no
//! other mode exists, so the rest are refused with a reason. User modes:
//! only `+i`, which clients like to set and which changes nothing here.

use std::time::UNIX_EPOCH;

use crate::command::ListKind;
use crate::irc::casemap::{is_channel, mask_to_nick, nick_to_mask, room_to_channel, same};
use crate::irc::{Message, Numeric};
use crate::server::hub::outcome::RoomView;
use crate::server::hub::Refused;
use crate::server::session::Session;

use super::channels::{is_owner, sent, view};
use super::{answer, mask, me, reply, send, started, words, Flow, Online};

/// Most list changes one `MODE` line carries (`MODES` in `005` is unset,
/// meaning a few; servers commonly take 3 or 4).
const MAX_CHANGES: usize = 4;

/// `MODE target [changes [args...]]`.
pub fn mode(s: &mut Session<'_>, online: &mut Online, msg: &Message) -> Flow {
    let target = msg.param(0).unwrap_or_default();
    if is_channel(target) {
        channel_mode(s, msg)
    } else {
        user_mode(s, online, msg)
    }
}

fn user_mode(s: &mut Session<'_>, online: &mut Online, msg: &Message) -> Flow {
    let nick = me(s);
    let target = msg.param(0).unwrap_or_default();
    if !same(target, &nick) {
        let why = if s.hub.is_online(target) {
            "you can only see and change your own user modes"
        } else {
            "nobody of that name is online"
        };
        let numeric = if s.hub.is_online(target) {
            Numeric::ERR_USERSDONTMATCH
        } else {
            Numeric::ERR_NOSUCHNICK
        };
        return sent(s, reply(s, numeric, [target, why]));
    }
    let Some(changes) = msg.param(1) else {
        let modes = if online.invisible { "+i" } else { "+" };
        return sent(s, reply(s, Numeric::RPL_UMODEIS, [modes]));
    };
    let mut adding = true;
    let mut applied = String::new();
    let mut unknown = false;
    for c in changes.chars() {
        match c {
            '+' => adding = true,
            '-' => adding = false,
            'i' if online.invisible != adding => {
                online.invisible = adding;
                applied.push(if adding { '+' } else { '-' });
                applied.push('i');
            }
            // Set already, or a mode we accept and ignore (wallops).
            'i' | 'w' => {}
            _ => unknown = true,
        }
    }
    let mut lines = Vec::new();
    if unknown {
        let why = "only user mode i exists here (and changes nothing)";
        lines.push(reply(s, Numeric::ERR_UMODEUNKNOWNFLAG, [why]));
    }
    if !applied.is_empty() {
        lines.push(Message::new("MODE", [nick.as_str(), &applied]).with_source(mask(&nick)));
    }
    send(s, &lines);
    Flow::Go
}

fn channel_mode(s: &mut Session<'_>, msg: &Message) -> Flow {
    let view = match view(s, msg.param(0).unwrap_or_default()) {
        Ok(view) => view,
        Err(line) => return sent(s, line),
    };
    let channel = room_to_channel(&view.info.name);
    let Some(changes) = msg.param(1) else {
        let modes = if view.info.private { "+i" } else { "+" };
        let since = started()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
            .to_string();
        let lines = [
            reply(s, Numeric::RPL_CHANNELMODEIS, [channel.as_str(), modes]),
            reply(s, Numeric::RPL_CREATIONTIME, [channel.as_str(), &since]),
        ];
        send(s, &lines);
        return Flow::Go;
    };
    let mut args = msg.params.iter().skip(2);
    let mut adding = true;
    let mut applied: Vec<(bool, char, String)> = Vec::new();
    let mut lines = Vec::new();
    for c in changes.chars() {
        match c {
            '+' => adding = true,
            '-' => adding = false,
            'b' | 'I' => {
                let list = if c == 'b' {
                    ListKind::Bans
                } else {
                    ListKind::Permits
                };
                match args.next() {
                    None => lines.extend(show_list(s, &view, list)),
                    Some(_) if applied.len() + lines.len() >= MAX_CHANGES => {}
                    Some(arg) => match change(s, &view, list, adding, arg) {
                        Ok(Some(nick)) => applied.push((adding, c, nick_to_mask(&nick))),
                        Ok(None) => {}
                        Err(line) => lines.push(line),
                    },
                }
            }
            // Ban exceptions: there are none.
            'e' if args.len() == 0 => lines.push(reply(
                s,
                Numeric::from_code(349),
                [
                    channel.as_str(),
                    "End of channel exception list (rooms have none)",
                ],
            )),
            _ => {
                // Modes with an argument take it, so the rest stay in step.
                if matches!(c, 'o' | 'v' | 'k' | 'e') || (c == 'l' && adding) {
                    args.next();
                }
                lines.push(refuse_mode(s, &view, c));
            }
        }
    }
    if !applied.is_empty() {
        lines.insert(0, echo(&me(s), &channel, &applied));
    }
    send(s, &lines);
    Flow::Go
}

/// The `367`/`368` or `346`/`347` list. Only the owner sees a room's
/// lists; anyone else gets the end of an empty one (clients ask when they
/// join, and wait for the end).
fn show_list(s: &Session<'_>, view: &RoomView, list: ListKind) -> Vec<Message> {
    let channel = room_to_channel(&view.info.name);
    let names = s
        .show_list(Some(&view.info.name), list)
        .map(|shown| shown.names)
        .unwrap_or_default();
    let (item, end, text) = match list {
        ListKind::Bans => (
            Numeric::RPL_BANLIST,
            Numeric::RPL_ENDOFBANLIST,
            "End of channel ban list",
        ),
        ListKind::Permits => (
            Numeric::RPL_INVITELIST,
            Numeric::RPL_ENDOFINVITELIST,
            "End of channel invite exception list",
        ),
    };
    let mut lines: Vec<Message> = names
        .iter()
        .map(|n| reply(s, item, [channel.clone(), nick_to_mask(n)]))
        .collect();
    lines.push(reply(s, end, [channel.as_str(), text]));
    lines
}

/// Adds or removes one nickname on a list: `Ok(Some(nick))` when it
/// changed, `Ok(None)` when it already was so (IRC says nothing then).
fn change(
    s: &mut Session<'_>,
    view: &RoomView,
    list: ListKind,
    add: bool,
    arg: &str,
) -> Result<Option<String>, Message> {
    let Some(nick) = mask_to_nick(arg) else {
        let why = format!(
            "{arg}: bans and permits are by nickname, from anywhere: give a nickname or nick!*@*"
        );
        return Err(reply(s, Numeric::ERR_UNKNOWNERROR, ["MODE", &why]));
    };
    match s.change_list(Some(&view.info.name), list, nick, add) {
        Ok(changed) => Ok(Some(changed.nick)),
        Err(Refused::ListUnchanged { .. }) => Ok(None),
        Err(refused) => {
            let channel = room_to_channel(&view.info.name);
            Err(answer(s, words::refusal(&refused, "MODE", &channel)))
        }
    }
}

/// Why mode `c` cannot be set: not the owner's to set (`482`), fixed at
/// creation (`i`), or not a mode of our rooms (`472`).
fn refuse_mode(s: &Session<'_>, view: &RoomView, c: char) -> Message {
    let channel = room_to_channel(&view.info.name);
    let mode = c.to_string();
    match c {
        'i' | 'o' | 'v' if !is_owner(view, &me(s)) => {
            let refused = Refused::NotOwner {
                room: view.info.name.clone(),
                owner: view.info.owner.clone(),
            };
            answer(s, words::refusal(&refused, "MODE", &channel))
        }
        'i' => {
            let why =
                "a room's privacy is chosen when it is created (a room JOIN creates is public)";
            reply(s, Numeric::ERR_UNKNOWNERROR, ["MODE", why])
        }
        'o' | 'v' => {
            let why = "the owner is the room's only operator, and ownership cannot be given away";
            reply(s, Numeric::ERR_UNKNOWNERROR, ["MODE", why])
        }
        _ => reply(
            s,
            Numeric::ERR_UNKNOWNMODE,
            [
                mode.as_str(),
                "is not a mode of this server's rooms (they have +i, +b and +I)",
            ],
        ),
    }
}

/// `:me MODE #room +b-I mask mask`: the changes made, to the owner (the
/// hub tells nobody else of list changes).
fn echo(nick: &str, channel: &str, applied: &[(bool, char, String)]) -> Message {
    let mut modes = String::new();
    let mut sign = None;
    for (add, c, _) in applied {
        if sign != Some(*add) {
            modes.push(if *add { '+' } else { '-' });
            sign = Some(*add);
        }
        modes.push(*c);
    }
    let mut params = vec![channel.to_string(), modes];
    params.extend(applied.iter().map(|(_, _, m)| m.clone()));
    Message::new("MODE", params).with_source(mask(nick))
}
