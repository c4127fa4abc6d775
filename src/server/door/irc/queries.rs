//! Questions about people and the server: `WHO` (with each user's mask, as
//! irssi needs to sync a channel), `WHOIS` (with the profile of a
//! registered user), `WHOWAS` (nothing is kept), `ISON`, `USERHOST`,
//! `AWAY`, `LUSERS`, `MOTD`, `VERSION` and `TIME`. Everyone online is here, whatever door they use.

use std::collections::HashMap;

use crate::irc::casemap::{is_channel, room_to_channel, same, targets};
use crate::irc::replies;
use crate::irc::{Message, Numeric};
use crate::server::hub::Presence;
use crate::server::session::Session;
use crate::text::name_key;

use super::channels::{is_owner, view};
use super::register::MOTD;
use super::{mask, me, reply, send, Flow, Online, SERVER, USER_HOST};

/// The longest away message kept (`AWAYLEN` in `005`).
pub const AWAYLEN: usize = 300;
/// Most nicknames one `USERHOST` answers (RFC 2812).
const MAX_USERHOST: usize = 5;

/// The owner of each room this client may see, by room key.
fn owners(s: &Session<'_>) -> HashMap<String, String> {
    s.rooms()
        .into_iter()
        .filter_map(|r| Some((name_key(&r.name), r.owner?)))
        .collect()
}

/// The real name shown for `nick`: its own for this client, the nickname
/// for others (the hub keeps none).
fn realname(s: &Session<'_>, online: &Online, nick: &str) -> String {
    if same(nick, &me(s)) {
        online.realname.clone()
    } else {
        nick.to_string()
    }
}

/// `352` for `nick` as seen in `channel` (`*` for none).
fn who_line(s: &Session<'_>, online: &Online, channel: &str, p: &Presence, op: bool) -> Message {
    let flags = format!(
        "{}{}",
        if p.away.is_some() { "G" } else { "H" },
        if op { "@" } else { "" }
    );
    let last = format!("0 {}", realname(s, online, &p.nick));
    reply(
        s,
        Numeric::RPL_WHOREPLY,
        [channel, &p.nick, USER_HOST, SERVER, &p.nick, &flags, &last],
    )
}

/// `WHO #room` or `WHO mask` (`*` and `?` wildcards, on the nickname or on
/// `nick!user@host`); `WHO` alone is everyone.
pub fn who(s: &mut Session<'_>, online: &mut Online, msg: &Message) -> Flow {
    let pattern = msg.param(0).filter(|p| !p.is_empty()).unwrap_or("*");
    let mut lines = Vec::new();
    let users = s.users();
    if is_channel(pattern) {
        if let Ok(view) = view(s, pattern) {
            let channel = room_to_channel(&view.info.name);
            for member in &view.members {
                if let Some(p) = users.iter().find(|p| same(&p.nick, member)) {
                    lines.push(who_line(s, online, &channel, p, is_owner(&view, member)));
                }
            }
        }
    } else {
        let owners = owners(s);
        let everyone = pattern == "0";
        for p in users
            .iter()
            .filter(|p| everyone || matches(pattern, &p.nick))
        {
            let first = p.rooms.first();
            let channel = first.map_or_else(|| "*".to_string(), |r| room_to_channel(r));
            let op = first
                .and_then(|r| owners.get(&name_key(r)))
                .is_some_and(|o| same(o, &p.nick));
            lines.push(who_line(s, online, &channel, p, op));
        }
    }
    lines.push(reply(
        s,
        Numeric::RPL_ENDOFWHO,
        [pattern, "End of WHO list"],
    ));
    send(s, &lines);
    Flow::Go
}

/// True when `pattern` (IRC wildcards `*` and `?`, ASCII case ignored)
/// matches `nick`, or its mask when the pattern has a `!` or an `@`.
fn matches(pattern: &str, nick: &str) -> bool {
    let subject = if pattern.contains(['!', '@']) {
        mask(nick)
    } else {
        nick.to_string()
    };
    glob(
        pattern.to_ascii_lowercase().as_bytes(),
        subject.to_ascii_lowercase().as_bytes(),
    )
}

/// Wildcard matching without recursion: the classic backtracking to the
/// last `*`, linear for the patterns people type.
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, t));
                p += 1;
            }
            Some(&c) if c == b'?' || c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// `WHOIS [server] nick[,nick]`.
pub fn whois(s: &mut Session<'_>, online: &mut Online, msg: &Message) -> Flow {
    let list = msg.params.last().map(String::as_str).unwrap_or_default();
    let owners = owners(s);
    let mut lines = Vec::new();
    for nick in targets(list).take(super::MAX_TARGETS) {
        let Some(p) = s.hub.presence(Some(s.id), nick) else {
            let why = format!("nobody called {nick} is online");
            lines.push(reply(s, Numeric::ERR_NOSUCHNICK, [nick, &why]));
            lines.push(reply(
                s,
                Numeric::RPL_ENDOFWHOIS,
                [nick, "End of /WHOIS list"],
            ));
            continue;
        };
        let name = p.nick.as_str();
        let real = realname(s, online, name);
        lines.push(reply(
            s,
            Numeric::RPL_WHOISUSER,
            [name, name, USER_HOST, "*", &real],
        ));
        let channels: Vec<String> = p
            .rooms
            .iter()
            .map(|r| {
                let op = owners.get(&name_key(r)).is_some_and(|o| same(o, name));
                format!("{}{}", if op { "@" } else { "" }, room_to_channel(r))
            })
            .collect();
        if !channels.is_empty() {
            let list = channels.join(" ");
            lines.push(reply(s, Numeric::RPL_WHOISCHANNELS, [name, &list]));
        }
        lines.push(reply(
            s,
            Numeric::RPL_WHOISSERVER,
            [name, SERVER, "the chat server"],
        ));
        if let Some(away) = &p.away {
            lines.push(reply(s, Numeric::RPL_AWAY, [name, away]));
        }
        match s.accounts.lookup(name) {
            Some(account) => {
                lines.push(reply(
                    s,
                    Numeric::RPL_WHOISACCOUNT,
                    [name, &account.nick, "is logged in as"],
                ));
                lines.push(reply(
                    s,
                    Numeric::RPL_WHOISSPECIAL,
                    [name, "is a registered user"],
                ));
                for (attr, value) in account.profile.iter() {
                    let line = format!("{}: {value}", attr.name());
                    lines.push(reply(s, Numeric::RPL_WHOISSPECIAL, [name, &line]));
                }
            }
            None => lines.push(reply(
                s,
                Numeric::RPL_WHOISSPECIAL,
                [name, "is a guest (not a registered nickname)"],
            )),
        }
        lines.push(reply(
            s,
            Numeric::RPL_ENDOFWHOIS,
            [name, "End of /WHOIS list"],
        ));
    }
    send(s, &lines);
    Flow::Go
}

/// `WHOWAS nick`: the server keeps no past of nicknames, so `406`, and
/// the end of the list.
pub fn whowas(s: &mut Session<'_>, _: &mut Online, msg: &Message) -> Flow {
    let list = msg.param(0).unwrap_or_default();
    let mut lines = Vec::new();
    for nick in targets(list).take(super::MAX_TARGETS) {
        let why = "no such nickname in the past: this server keeps no record of nicknames";
        lines.push(reply(s, Numeric::from_code(406), [nick, why]));
        lines.push(reply(s, Numeric::RPL_ENDOFWHOWAS, [nick, "End of WHOWAS"]));
    }
    send(s, &lines);
    Flow::Go
}

/// `ISON nick nick ...`: those online, spelled as they are.
pub fn ison(s: &mut Session<'_>, _: &mut Online, msg: &Message) -> Flow {
    let online: Vec<String> = msg
        .params
        .iter()
        .flat_map(|p| p.split(' '))
        .filter(|n| !n.is_empty())
        .filter_map(|n| s.hub.presence(Some(s.id), n).map(|p| p.nick))
        .collect();
    let list = online.join(" ");
    send(s, &[reply(s, Numeric::RPL_ISON, [list])]);
    Flow::Go
}

/// `USERHOST nick...`: `nick=+user@host` (`-` when away) for those online.
pub fn userhost(s: &mut Session<'_>, _: &mut Online, msg: &Message) -> Flow {
    let found: Vec<String> = msg
        .params
        .iter()
        .flat_map(|p| p.split(' '))
        .filter(|n| !n.is_empty())
        .take(MAX_USERHOST)
        .filter_map(|n| s.hub.presence(Some(s.id), n))
        .map(|p| {
            let here = if p.away.is_some() { '-' } else { '+' };
            format!("{}={here}{}@{USER_HOST}", p.nick, p.nick)
        })
        .collect();
    let list = found.join(" ");
    send(s, &[reply(s, Numeric::RPL_USERHOST, [list])]);
    Flow::Go
}

/// `AWAY :message` marks the client away (people who whisper it are told
/// the message, and `WHO` shows `G`); `AWAY` alone marks it back.
pub fn away(s: &mut Session<'_>, _: &mut Online, msg: &Message) -> Flow {
    let line = match msg.param(0).filter(|m| !m.is_empty()) {
        Some(message) => {
            let kept: String = message.chars().take(AWAYLEN).collect();
            s.set_away(Some(kept));
            reply(s, Numeric::RPL_NOWAWAY, ["you are marked as away"])
        }
        None => {
            s.set_away(None);
            reply(s, Numeric::RPL_UNAWAY, ["you are no longer marked as away"])
        }
    };
    send(s, &[line]);
    Flow::Go
}

/// `LUSERS`: everyone online (every door) and the rooms.
pub fn lusers(s: &mut Session<'_>, _: &mut Online, _: &Message) -> Flow {
    let (users, rooms) = s.hub.counts();
    let lines = replies::lusers(SERVER, &me(s), users, rooms);
    send(s, &lines);
    Flow::Go
}

/// `MOTD`.
pub fn motd(s: &mut Session<'_>, _: &mut Online, _: &Message) -> Flow {
    let lines = replies::motd(SERVER, &me(s), MOTD);
    send(s, &lines);
    Flow::Go
}

/// `VERSION`: `351`.
pub fn version(s: &mut Session<'_>, _: &mut Online, _: &Message) -> Flow {
    let version = concat!("chat-", env!("CARGO_PKG_VERSION"));
    let line = reply(
        s,
        Numeric::from_code(351),
        [version, SERVER, "a chat server that also speaks IRC"],
    );
    send(s, &[line]);
    Flow::Go
}

/// `TIME`: `391`, in UTC (the server has no time zones).
pub fn time(s: &mut Session<'_>, _: &mut Online, _: &Message) -> Flow {
    let now = crate::clock::to_second_label(&crate::clock::now_utc());
    send(
        s,
        &[reply(s, Numeric::from_code(391), [SERVER, now.as_str()])],
    );
    Flow::Go
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_like_irc_masks() {
        assert!(matches("*", "al"));
        assert!(matches("A?", "al"));
        assert!(matches("a*l", "aXXl"));
        assert!(!matches("a*l", "aXXm"));
        assert!(matches("al!*@*", "AL"));
        assert!(matches("*@chat.local", "bo"));
        assert!(!matches("bo", "bob"));
        assert!(glob(b"*a*b*", b"xxaxxbxx"));
        assert!(!glob(b"*a*b", b"xxaxxbxxc"));
        assert!(glob(b"", b""));
        assert!(!glob(b"", b"a"));
    }
}
