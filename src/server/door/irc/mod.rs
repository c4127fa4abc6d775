//! The IRC door: irssi, weechat and any IRC client in the same rooms as
//! everyone else. Lines are taken off the session's input buffer (never
//! more than [`MAX_LINE_BYTES`] waiting), parsed by `crate::irc`, paced by
//! the session's rate limit, and dispatched by command; the hub's outcomes
//! become numerics in this door's words.
//!
//! - [`register`]: `CAP`, `PASS`, `NICK`, `USER`, SASL `PLAIN`, the welcome.
//! - [`channels`]: rooms as channels: `JOIN`, `PART`, `NAMES`, `LIST`,
//!   `TOPIC`, `KICK`, `INVITE`; [`modes`]: `MODE`.
//! - [`messages`]: `PRIVMSG`, `NOTICE`, `TAGMSG`, `/me` and formatting.
//! - [`queries`]: `WHO`, `WHOIS`, `ISON`, `USERHOST`, `AWAY`, `LUSERS`, `MOTD`.
//! - [`history`]: `CHATHISTORY` and `MARKREAD` (IRCv3 drafts).
//! - [`codec`]: what the hub delivers, as IRC lines; [`words`]: refusals.

mod channels;
mod codec;
mod history;
mod messages;
mod modes;
mod queries;
mod register;
mod words;

use std::sync::{Arc, OnceLock};
use std::thread;
use std::time::{Duration, SystemTime};

use crate::event::Parting;
use crate::irc::cap::{CapNegotiation, CapSet};
use crate::irc::register::Registration;
use crate::irc::sasl::Sasl;
use crate::irc::{IrcError, Limits, Message, Numeric, Reaction, MAX_LINE_BYTES};

use super::{Door, Poll, MAX_BURST};
use crate::server::connection::Conn;
use crate::server::session::{End, Rate, Session};
use crate::server::Config;

pub use codec::{IrcCodec, Link};

/// The server's name: the source of its replies. It has a dot, as clients
/// tell a server from a nickname by that.
pub const SERVER: &str = "chat.local";
/// The host part of every user's mask. One for all: users are not told
/// each other's addresses, whatever door they came in by.
pub const USER_HOST: &str = "chat.local";
/// The network name (`001`, `NETWORK=` in `005`).
pub const NETWORK: &str = "ChatRooms";
/// Targets one `PRIVMSG`, `NOTICE` or `JOIN` may name (`TARGMAX`).
pub const MAX_TARGETS: usize = 4;
/// Commands beyond the burst that a client may have sent ahead of the rate
/// (all in hand at once, its input never drained between them) before it
/// is flooding: about five seconds over the default rate, well past what a
/// person types or a client's own anti-flood queue sends.
const FLOOD_LAGGED: u32 = 50;
/// The longest a command waits for the rate limit before the next try.
const MAX_LAG_STEP: Duration = Duration::from_millis(200);

/// `nick!user@host` for a user: the user part is the nickname, the host
/// [`USER_HOST`], so any door's user has one mask that every line agrees on.
pub fn mask(nick: &str) -> String {
    format!("{nick}!{nick}@{USER_HOST}")
}

/// When this door first served, for `003` and the channel creation time
/// (rooms do not record theirs).
fn started() -> SystemTime {
    static STARTED: OnceLock<SystemTime> = OnceLock::new();
    *STARTED.get_or_init(SystemTime::now)
}

/// What the door knows of a registered connection.
pub struct Online {
    pub caps: CapNegotiation,
    pub sasl: Sasl,
    pub link: Arc<Link>,
    /// The username and real name from `USER`.
    pub user: String,
    pub realname: String,
    /// User mode `+i`, which clients like to set; it changes nothing here.
    pub invisible: bool,
}

/// What a command leaves the connection in.
pub enum Flow {
    Go,
    End(End),
}

impl From<Flow> for Poll {
    fn from(flow: Flow) -> Poll {
        match flow {
            Flow::Go => Poll::Done,
            Flow::End(end) => Poll::End(end),
        }
    }
}

/// One IRC connection.
pub struct IrcDoor {
    link: Arc<Link>,
    /// Until registration completes.
    registration: Option<Box<Registration>>,
    /// After it.
    online: Option<Box<Online>>,
    /// Commands in a row that waited for the rate limit.
    /// Commands handled since the client's input was last drained (all
    /// read, none left in the socket): how far ahead of the rate it sent.
    /// Counted by arrival, not by waits, so a server slowed by load (whose
    /// late wake-ups earn the client tokens) still sees a flood as one.
    run: u32,
}

impl IrcDoor {
    pub fn new(_config: &Config) -> IrcDoor {
        started();
        IrcDoor {
            link: Arc::new(Link::default()),
            registration: Some(Box::new(Registration::new(offered()))),
            online: None,
            run: 0,
        }
    }

    /// Waits for the rate limit, as IRC servers do ("fake lag"): a command
    /// over the rate is carried out late rather than refused, so nothing a
    /// person typed is lost; a client that keeps sending faster than the
    /// rate is flooding, and is disconnected.
    fn pace(&mut self, s: &mut Session<'_>) -> Result<(), End> {
        let Some(limit) = s.config.rate_limit else {
            return Ok(());
        };
        let step = Duration::from_secs_f64(1.0 / limit.per_second).min(MAX_LAG_STEP);
        let allowed = limit.burst as u32 + FLOOD_LAGGED;
        loop {
            match s.take_token() {
                Rate::Within => return Ok(()),
                Rate::Over if self.run <= allowed => {
                    // Others' deliveries this thread owes go out first.
                    s.owed.pay();
                    thread::sleep(step);
                }
                Rate::Over | Rate::Flooding => return Err(excess_flood(s)),
            }
        }
    }

    /// The chat text of a plain `PRIVMSG` to one channel (no tags, one
    /// target, `channel` if given), which a burst is made of.
    fn burst_text(&self, s: &Session<'_>, msg: &Message, channel: Option<&str>) -> Option<String> {
        if self.online.is_none()
            || msg.command != "PRIVMSG"
            || !msg.tags.is_empty()
            || msg.params.len() != 2
        {
            return None;
        }
        let target = msg.param(0)?;
        if !crate::irc::casemap::is_channel(target)
            || target.contains(',')
            || channel.is_some_and(|c| c != target)
        {
            return None;
        }
        match messages::translate(s.nick.as_deref().unwrap_or("*"), msg.param(1)?) {
            messages::Translated::Text(text) => Some(text),
            _ => None,
        }
    }

    /// `first` and the plain `PRIVMSG`s to the same channel right behind
    /// it in the input (a flood, a pasted block of text): stored and
    /// delivered as one step (one `log.txt` write, one enqueue per member),
    /// in order. The first line that is anything else ends the burst and
    /// is read as usual, and so does the rate limit: a burst takes only
    /// tokens that are there, and never waits for one.
    fn burst(
        &mut self,
        s: &mut Session<'_>,
        conn: &mut Conn,
        first: Message,
        text: String,
    ) -> Poll {
        let mut texts = vec![text];
        while texts.len() < MAX_BURST {
            let buffered = conn.buffered();
            let Some(end) = buffered.iter().position(|&b| b == b'\n') else {
                break;
            };
            let Ok(next) = Message::parse(&buffered[..=end], Limits::CLIENT) else {
                break;
            };
            let Some(text) = self.burst_text(s, &next, first.param(0)) else {
                break;
            };
            if !s.take_token_if_any() {
                break;
            }
            self.take_line(conn, end + 1);
            texts.push(text);
        }
        if texts.len() == 1 {
            return self.handle(s, &first).into();
        }
        messages::to_room_all(s, first.param(0).unwrap_or_default(), texts);
        Poll::Done
    }

    /// Takes a line of `len` bytes off the input, counting the run of
    /// lines read without the input running dry (see `pace`).
    fn take_line(&mut self, conn: &mut Conn, len: usize) {
        let drained = len == conn.buffered().len() && !conn.more_waiting();
        conn.consume(len);
        self.run = if drained {
            0
        } else {
            self.run.saturating_add(1)
        };
    }

    /// Carries out one parsed message.
    fn handle(&mut self, s: &mut Session<'_>, msg: &Message) -> Flow {
        if let Some(online) = self.online.as_mut() {
            return dispatch(s, online, msg);
        }
        let Some(registration) = self.registration.as_mut() else {
            return Flow::End(End::Dropped("no registration state".into()));
        };
        match register::handle(s, registration, &self.link, msg) {
            register::Outcome::Still => Flow::Go,
            register::Outcome::End(end) => Flow::End(end),
            register::Outcome::LoggedIn(login) => {
                let Some(registration) = self.registration.take() else {
                    return Flow::Go;
                };
                let (caps, sasl) = registration.finish();
                let online = self.online.insert(Box::new(Online {
                    caps,
                    sasl,
                    link: Arc::clone(&self.link),
                    user: login.user,
                    realname: login.realname,
                    invisible: false,
                }));
                register::welcome(s, online);
                Flow::Go
            }
        }
    }

    /// Answers a line that could not be parsed, as `IrcError::reaction` says.
    fn bad_line(&self, s: &mut Session<'_>, e: &IrcError) -> Poll {
        match e.reaction() {
            Reaction::Ignore => Poll::Done,
            Reaction::Reply(numeric) => {
                let param = match e {
                    IrcError::BadCommand { command } => vec![command.clone(), e.to_string()],
                    _ => vec![e.to_string()],
                };
                send(s, &[reply(s, numeric, param)]);
                Poll::Done
            }
            Reaction::FailInvalidUtf8 => {
                let command = match e {
                    IrcError::NotUtf8 {
                        command: Some(command),
                    } => command.clone(),
                    _ => "*".to_string(),
                };
                let fail = Message::new(
                    "FAIL",
                    [
                        command.as_str(),
                        "INVALID_UTF8",
                        "lines must be UTF-8; this one was not, and was ignored",
                    ],
                )
                .with_source(SERVER);
                send(s, &[fail]);
                Poll::Done
            }
            Reaction::Close => {
                send(s, &[codec::closing_link(&e.to_string())]);
                Poll::End(End::Dropped(format!("IRC protocol error: {e}")))
            }
        }
    }
}

impl Door for IrcDoor {
    fn max_input(&self) -> usize {
        MAX_LINE_BYTES
    }

    fn poll(&mut self, s: &mut Session<'_>, conn: &mut Conn) -> Poll {
        let buffered = conn.buffered();
        let Some(end) = buffered.iter().position(|&b| b == b'\n') else {
            if buffered.len() >= MAX_LINE_BYTES {
                let e = IrcError::LineTooLong {
                    limit: MAX_LINE_BYTES,
                };
                send(s, &[codec::closing_link(&e.to_string())]);
                return Poll::End(End::Dropped(format!("IRC protocol error: {e}")));
            }
            return Poll::NeedMore;
        };
        let parsed = Message::parse(&buffered[..=end], Limits::CLIENT);
        self.take_line(conn, end + 1);
        let msg = match parsed {
            Ok(msg) => msg,
            Err(e) => return self.bad_line(s, &e),
        };
        if !matches!(msg.command.as_str(), "PONG" | "QUIT") {
            if let Err(end) = self.pace(s) {
                return Poll::End(end);
            }
        }
        // A burst needs another line already here; a line alone (a person
        // typing) goes the usual way, translated once.
        if conn.buffered().contains(&b'\n') {
            if let Some(text) = self.burst_text(s, &msg, None) {
                return self.burst(s, conn, msg, text);
            }
        }
        // Only chat is worth batching; anything else may block (a password
        // hash, rooms.txt), and others' messages must not wait for it.
        if !matches!(
            msg.command.as_str(),
            "PRIVMSG" | "NOTICE" | "TAGMSG" | "PING" | "PONG"
        ) {
            s.owed.pay();
        }
        self.handle(s, &msg).into()
    }

    fn ping(&mut self, s: &mut Session<'_>) {
        send(s, &[Message::new("PING", [SERVER])]);
    }

    fn login_timed_out(&mut self, s: &mut Session<'_>) -> End {
        let secs = s.config.login_timeout.as_secs();
        let why = format!("registration timed out: NICK and USER did not complete within {secs} s");
        send(s, &[codec::closing_link(&why)]);
        End::Dropped("login timed out".into())
    }
}

/// The capabilities this door offers: all it knows.
fn offered() -> CapSet {
    CapSet::all()
}

/// `ERROR :Closing link: excess flood`, and the end.
fn excess_flood(s: &mut Session<'_>) -> End {
    send(s, &[codec::closing_link("excess flood")]);
    End::Dropped("excess flood".into())
}

/// A command of a registered connection: its name, the parameters it
/// needs at least (fewer get `461`), and what carries it out.
struct Command {
    name: &'static str,
    min_params: usize,
    run: fn(&mut Session<'_>, &mut Online, &Message) -> Flow,
}

/// A table entry (one line each, so the table reads as a list).
const fn command(
    name: &'static str,
    min_params: usize,
    run: fn(&mut Session<'_>, &mut Online, &Message) -> Flow,
) -> Command {
    Command {
        name,
        min_params,
        run,
    }
}

/// Every command after registration.
const COMMANDS: &[Command] = &[
    command("PRIVMSG", 0, messages::privmsg),
    command("NOTICE", 0, messages::notice),
    command("TAGMSG", 1, messages::tagmsg),
    command("JOIN", 1, channels::join),
    command("PART", 1, channels::part),
    command("NAMES", 0, channels::names),
    command("LIST", 0, channels::list),
    command("TOPIC", 1, channels::topic),
    command("KICK", 2, channels::kick),
    command("INVITE", 2, channels::invite),
    command("MODE", 1, modes::mode),
    command("WHO", 0, queries::who),
    command("WHOIS", 1, queries::whois),
    command("WHOWAS", 1, queries::whowas),
    command("ISON", 1, queries::ison),
    command("USERHOST", 1, queries::userhost),
    command("AWAY", 0, queries::away),
    command("LUSERS", 0, queries::lusers),
    command("MOTD", 0, queries::motd),
    command("VERSION", 0, queries::version),
    command("TIME", 0, queries::time),
    command("CHATHISTORY", 0, history::chathistory),
    command("MARKREAD", 0, history::markread),
    command("NICK", 0, register::nick),
    command("CAP", 0, register::cap),
    command("AUTHENTICATE", 0, register::authenticate),
    command("PASS", 0, register::again),
    command("USER", 0, register::again),
    command("PING", 0, ping),
    command("PONG", 0, |_, _, _| Flow::Go),
    command("QUIT", 0, quit),
];

/// Carries out a registered connection's command.
fn dispatch(s: &mut Session<'_>, me: &mut Online, msg: &Message) -> Flow {
    codec::accounts().refresh(s.accounts, false);
    let Some(command) = COMMANDS.iter().find(|c| c.name == msg.command) else {
        let text = "unknown command (this server speaks the commands of RFC 2812 that fit a chat of rooms; see the MOTD)";
        send(
            s,
            &[reply(
                s,
                Numeric::ERR_UNKNOWNCOMMAND,
                [msg.command.as_str(), text],
            )],
        );
        return Flow::Go;
    };
    if msg.params.len() < command.min_params {
        send(s, &[need_more(s, command.name)]);
        return Flow::Go;
    }
    (command.run)(s, me, msg)
}

/// `PING token`: `PONG server :token`.
fn ping(s: &mut Session<'_>, _: &mut Online, msg: &Message) -> Flow {
    send(s, &[pong(s, msg)]);
    Flow::Go
}

/// The answer to `PING`, before registration as after.
pub fn pong(s: &Session<'_>, msg: &Message) -> Message {
    match msg.param(0) {
        Some(token) => Message::new("PONG", [SERVER, token]).with_source(SERVER),
        None => reply(
            s,
            Numeric::ERR_NOORIGIN,
            ["PING needs a token to send back"],
        ),
    }
}

/// `QUIT [:reason]`: out of the hub (the rooms see a `PART`), then
/// `ERROR` and the end.
fn quit(s: &mut Session<'_>, _: &mut Online, msg: &Message) -> Flow {
    Flow::End(quit_now(s, msg))
}

/// Leaves the hub and says goodbye, before registration as after.
pub fn quit_now(s: &mut Session<'_>, msg: &Message) -> End {
    let reason = msg.param(0).unwrap_or_default();
    s.leave_hub(&Parting::Quit(reason.to_string()));
    let why = match reason {
        "" => "quit".to_string(),
        reason => format!("quit: {reason}"),
    };
    send(s, &[codec::closing_link(&why)]);
    End::Quit
}

/// The client's nickname in replies: `*` before it has one.
pub fn me(s: &Session<'_>) -> String {
    s.nick.clone().unwrap_or_else(|| "*".to_string())
}

/// `:server NNN nick params...`.
pub fn reply<S: Into<String>>(
    s: &Session<'_>,
    numeric: Numeric,
    params: impl IntoIterator<Item = S>,
) -> Message {
    numeric.reply(SERVER, &me(s), params)
}

/// `461` for `command`.
pub fn need_more(s: &Session<'_>, command: &str) -> Message {
    reply(
        s,
        Numeric::ERR_NEEDMOREPARAMS,
        [command, "not enough parameters"],
    )
}

/// A refusal from [`words`], as a reply line.
pub fn answer(s: &Session<'_>, (numeric, params): words::Answer) -> Message {
    reply(s, numeric, params)
}

/// Queues `lines` for this client, as one write.
pub fn send(s: &mut Session<'_>, lines: &[Message]) {
    let bytes = codec::to_bytes(lines);
    if !bytes.is_empty() {
        s.send(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_is_in_the_table_once_and_upper_case() {
        for (i, c) in COMMANDS.iter().enumerate() {
            assert_eq!(c.name, c.name.to_ascii_uppercase());
            assert!(
                COMMANDS[i + 1..].iter().all(|o| o.name != c.name),
                "{}",
                c.name
            );
        }
    }

    #[test]
    fn masks_agree_everywhere() {
        assert_eq!(mask("al"), "al!al@chat.local");
        assert!(SERVER.contains('.'));
    }
}
