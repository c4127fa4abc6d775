//! Registration, as irssi and weechat do it (`CAP LS 302`, `CAP REQ`,
//! `AUTHENTICATE PLAIN`, `PASS`, `NICK`, `USER`, `CAP END`), on the pure
//! state machine of `crate::irc::register`: passwords are checked by the
//! session (the same rules, delays and limits as every door), the login is
//! the hub's, and the welcome ends in `#lobby`, where everyone starts.
//! Also what stays of registration afterwards: `NICK`, `CAP`,
//! `AUTHENTICATE`, and `462` for `PASS` and `USER`.

use std::sync::Arc;

use crate::irc::cap::Cap;
use crate::irc::register::{Login, Registration, Step};
use crate::irc::replies::{self, ServerInfo};
use crate::irc::sasl::Credentials;
use crate::irc::{Message, Numeric};
use crate::protocol::{Frame, Status};
use crate::server::archive::MAX_PAGE;
use crate::server::hub::{Member, Refused};
use crate::server::session::actions::LoginError;
use crate::server::session::{End, Gate, Session};
use crate::text::LOBBY;

use super::codec::{self, closing_link, server_notice, IrcCodec, Link};
use super::{
    answer, channels, history, mask, me, pong, quit_now, reply, send, words, Flow, Online,
    MAX_TARGETS, NETWORK, SERVER, USER_HOST,
};

/// The message of the day: what an IRC user needs to know about this
/// server, which is a chat of rooms more than an IRC network.
pub(super) const MOTD: &[&str] = &[
    "Rooms are channels: room study is #study. Everyone starts in #lobby.",
    "JOIN #name enters a room, or creates it if there is none: you own it, and owners are operators (@).",
    "Owners ban with MODE #name +b nick and permit people into a private room (+i) with INVITE nick #name or MODE #name +I nick.",
    "Nicknames are 1 to 8 letters, digits, _ or -. A registered nickname needs its password: SASL PLAIN, or PASS.",
    "Files shared in a room are announced here; fetch them with the terminal client or the browser page.",
];

/// What became of a line during registration.
pub enum Outcome {
    Still,
    End(End),
    /// The hub took the login: the door is online now.
    LoggedIn(Login),
}

/// Handles one line before registration completed.
pub fn handle(
    s: &mut Session<'_>,
    reg: &mut Registration,
    link: &Arc<Link>,
    msg: &Message,
) -> Outcome {
    match reg.handle(SERVER, msg) {
        Step::Reply(lines) => {
            send(s, &lines);
            Outcome::Still
        }
        Step::Verify(credentials) => verify(s, reg, &credentials),
        Step::Ready(lines, login) => {
            send(s, &lines);
            log_in(s, reg, link, login)
        }
        Step::Door => match msg.command.as_str() {
            "PING" => {
                send(s, &[pong(s, msg)]);
                Outcome::Still
            }
            "QUIT" => Outcome::End(quit_now(s, msg)),
            _ => Outcome::Still,
        },
    }
}

/// Checks SASL `PLAIN` credentials as a login checks a password.
fn verify(s: &mut Session<'_>, reg: &mut Registration, credentials: &Credentials) -> Outcome {
    let lines = match s.authenticate(&credentials.account, Some(&credentials.password)) {
        Gate::Open { registered: true } => {
            let account = s
                .accounts
                .lookup(&credentials.account)
                .map_or_else(|| credentials.account.clone(), |a| a.nick);
            reg.sasl_succeeded(SERVER, USER_HOST, &account)
        }
        Gate::Open { registered: false } => {
            let why = format!("there is no account called {}", credentials.account);
            reg.sasl_failed(SERVER, &why)
        }
        Gate::Refuse(frame) => reg.sasl_failed(SERVER, &frame.text_lossy()),
        Gate::Close(closing) => {
            let why = closing.reply.text_lossy();
            let mut lines = reg.sasl_failed(SERVER, &why);
            lines.push(closing_link(&why));
            send(s, &lines);
            return Outcome::End(closing.end);
        }
    };
    send(s, &lines);
    Outcome::Still
}

/// Logs a complete registration in: a registered nickname needs its
/// password (checked now, for `PASS`) or SASL (checked already: the
/// nickname is then the account's). A refused nickname waits for another
/// `NICK`, as IRC clients expect (they try their alternative nicknames).
fn log_in(s: &mut Session<'_>, reg: &mut Registration, link: &Arc<Link>, login: Login) -> Outcome {
    codec::accounts().refresh(s.accounts, true);
    let (nick, registered) = match &login.account {
        Some(account) => (account.clone(), true),
        None => match s.authenticate(&login.nick, login.password.as_deref()) {
            Gate::Open { registered } => (login.nick.clone(), registered),
            Gate::Refuse(frame) => {
                refused(s, &login, &frame);
                reg.retry_nick();
                return Outcome::Still;
            }
            Gate::Close(closing) => {
                let why = closing.reply.text_lossy();
                send(
                    s,
                    &[
                        reply(s, Numeric::ERR_PASSWDMISMATCH, [why.as_str()]),
                        closing_link(&why),
                    ],
                );
                return Outcome::End(closing.end);
            }
        },
    };
    link.set_caps(reg.caps().enabled());
    link.set_nick(&nick);
    let member = Member {
        outbox: s.outbox.clone(),
        codec: Arc::new(IrcCodec::new(Arc::clone(link))),
        many_rooms: true,
        // Only settable before registration: see `cap`.
        echo: reg.caps().has(Cap::EchoMessage),
    };
    match s.log_in(&nick, registered, member) {
        Ok(()) => Outcome::LoggedIn(login),
        Err(LoginError::Refused(Refused::NickInUse { .. })) if login.account.is_some() => {
            let why = format!("your account {nick} is online on another connection");
            let lines = [
                reply(s, Numeric::ERR_NICKNAMEINUSE, [nick.as_str(), &why]),
                closing_link(&why),
            ];
            send(s, &lines);
            Outcome::End(End::Dropped(why))
        }
        Err(LoginError::Refused(refused)) => {
            send(s, &[answer(s, words::refusal(&refused, "NICK", &nick))]);
            reg.retry_nick();
            Outcome::Still
        }
        Err(LoginError::Registered) => {
            let why = words::password_needed(&nick);
            let mut lines = vec![reply(s, Numeric::ERR_NICKNAMEINUSE, [nick.as_str(), &why])];
            lines.extend(server_notice("*", &why));
            send(s, &lines);
            reg.retry_nick();
            Outcome::Still
        }
    }
}

/// Answers a login the password check refused, in IRC's terms: a bad
/// nickname (`432`), a registered one without a password (`433`, so that
/// clients offer another, and a notice saying why), a wrong password or
/// too many guesses (`464`).
fn refused(s: &mut Session<'_>, login: &Login, frame: &Frame) {
    let why = frame.text_lossy();
    let nick = login.nick.as_str();
    let lines = match frame.status_code() {
        Some(Status::BAD_REQUEST) => vec![reply(s, Numeric::ERR_ERRONEUSNICKNAME, [nick, &why])],
        Some(Status::UNAUTHORIZED) if login.password.is_none() => {
            let why = words::password_needed(nick);
            let mut lines = vec![reply(s, Numeric::ERR_NICKNAMEINUSE, [nick, &why])];
            lines.extend(server_notice("*", &why));
            lines
        }
        _ => vec![reply(s, Numeric::ERR_PASSWDMISMATCH, [why.as_str()])],
    };
    send(s, &lines);
}

/// The welcome burst (001-005, LUSERS, MOTD), then `#lobby`: its JOIN and
/// history come from the hub, then its names; then which other rooms have
/// news for a returning user.
pub fn welcome(s: &mut Session<'_>, online: &mut Online) {
    let nick = me(s);
    let created = crate::clock::to_second_label(&crate::clock::format_utc(super::started()));
    let version = concat!("chat-", env!("CARGO_PKG_VERSION"));
    let info = ServerInfo {
        name: SERVER,
        network: NETWORK,
        version,
        created: &created,
    };
    let mut tokens = replies::isupport(NETWORK, Some(MAX_PAGE));
    tokens.push("MSGREFTYPES=msgid,timestamp".to_string());
    tokens.push(format!(
        "TARGMAX=PRIVMSG:{MAX_TARGETS},NOTICE:{MAX_TARGETS},JOIN:{MAX_TARGETS}"
    ));
    tokens.push("AWAYLEN=300".to_string());
    let mut lines = replies::welcome(&info, &nick, &mask(&nick), &tokens);
    let (users, rooms) = s.hub.counts();
    lines.extend(replies::lusers(SERVER, &nick, users, rooms));
    lines.extend(replies::motd(SERVER, &nick, MOTD));
    send(s, &lines);
    let unread = s.enter_lobby();
    if let Some(marker) = history::marker_on_join(s, online, LOBBY) {
        send(s, &[marker]);
    }
    channels::send_names(s, online, LOBBY);
    let mut notes = Vec::new();
    for u in unread {
        let text = format!(
            "{} new message{} in #{} since you were last here",
            u.count,
            if u.count == 1 { "" } else { "s" },
            u.room
        );
        notes.extend(server_notice(&nick, &text));
    }
    send(s, &notes);
}

/// `NICK new` once registered: the hub renames and tells everyone who
/// shares a room (and the renamed one) with a `NICK` line.
pub fn nick(s: &mut Session<'_>, online: &mut Online, msg: &Message) -> Flow {
    let Some(new) = msg.param(0).filter(|n| !n.is_empty()) else {
        let line = reply(s, Numeric::ERR_NONICKNAMEGIVEN, ["NICK needs a nickname"]);
        send(s, &[line]);
        return Flow::Go;
    };
    if s.is_someone_elses_account(new) {
        let why = words::registered_by_someone_else(new);
        send(s, &[reply(s, Numeric::ERR_NICKNAMEINUSE, [new, &why])]);
        return Flow::Go;
    }
    match s.rename(new) {
        Ok(renamed) => online.link.set_nick(&renamed.new),
        // Already so called: nothing to do, nothing to say.
        Err(Refused::SameNick { .. }) => {}
        Err(refused) => send(s, &[answer(s, words::refusal(&refused, "NICK", new))]),
    }
    Flow::Go
}

/// `CAP` once registered. `echo-message` is fixed at registration (the hub
/// echoes for the connection from login on), so a request that would turn
/// it on or off now is refused whole, as the specification allows.
pub fn cap(s: &mut Session<'_>, online: &mut Online, msg: &Message) -> Flow {
    let nick = me(s);
    let sub = msg.param(0).unwrap_or("").to_ascii_uppercase();
    let asked = msg.param(1).unwrap_or("");
    let toggles_echo = asked.split(' ').any(|w| {
        let name = w.strip_prefix('-').unwrap_or(w);
        let on = !w.starts_with('-');
        name == Cap::EchoMessage.name() && on != online.caps.has(Cap::EchoMessage)
    });
    if sub == "REQ" && toggles_echo {
        let nak = Message::new("CAP", [nick.as_str(), "NAK", asked]).with_source(SERVER);
        send(s, &[nak]);
        return Flow::Go;
    }
    let (lines, _) = online.caps.handle(SERVER, &nick, &msg.params, true);
    online.link.set_caps(online.caps.enabled());
    send(s, &lines);
    Flow::Go
}

/// `AUTHENTICATE` once registered: `907` for a connection that logged in
/// with SASL; for others, SASL comes too late (the nickname is chosen).
pub fn authenticate(s: &mut Session<'_>, online: &mut Online, msg: &Message) -> Flow {
    if online.sasl.account().is_some() {
        if let crate::irc::sasl::SaslStep::Reply(lines) =
            online.sasl.handle(SERVER, &me(s), &msg.params)
        {
            send(s, &lines);
        }
        return Flow::Go;
    }
    let why = "SASL works only before registration: reconnect with SASL to log in to an account";
    send(s, &[reply(s, Numeric::ERR_SASLFAIL, [why])]);
    Flow::Go
}

/// `PASS` or `USER` once registered: `462`.
pub fn again(s: &mut Session<'_>, _: &mut Online, _: &Message) -> Flow {
    send(
        s,
        &[crate::irc::register::already_registered(SERVER, &me(s))],
    );
    Flow::Go
}
