//! Connection registration as irssi and weechat do it (`CAP LS 302`,
//! `CAP REQ`, `AUTHENTICATE`, `PASS`, `NICK`, `USER`, `CAP END`): a pure
//! state machine that answers what it can and says when registration is
//! complete. Whether the nickname is free, and whether a password or SASL
//! credentials are right, is the hub's answer; the door reports it back.

use super::cap::{CapEffect, CapNegotiation, CapSet};
use super::casemap;
use super::message::Message;
use super::numeric::Numeric;
use super::sasl::{Credentials, Sasl, SaslStep};

/// The longest username kept from `USER` (`USERLEN` in `005`).
pub const USERLEN: usize = 10;

/// Who a completed registration says the client is.
#[derive(Clone, PartialEq, Eq)]
pub struct Login {
    /// The nickname (syntax checked; uniqueness is the hub's).
    pub nick: String,
    /// The username from `USER`, cut to letters, digits, `-`, `_` and `.`
    /// (at most [`USERLEN`]), so it is safe in `nick!user@host`.
    pub user: String,
    /// The real name from `USER`, as sent.
    pub realname: String,
    /// The `PASS` password, if one was sent (for a registered nickname).
    pub password: Option<String>,
    /// The account SASL logged in, if any.
    pub account: Option<String>,
}

impl std::fmt::Debug for Login {
    // The password stays out of logs and test failures.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Login")
            .field("nick", &self.nick)
            .field("user", &self.user)
            .field("realname", &self.realname)
            .field("password", &self.password.as_ref().map(|_| "<hidden>"))
            .field("account", &self.account)
            .finish()
    }
}

/// What the door does after a message during registration.
#[derive(Debug, PartialEq, Eq)]
pub enum Step {
    /// Send these lines and read on.
    Reply(Vec<Message>),
    /// Check these SASL credentials with the hub, then call
    /// [`Registration::sasl_succeeded`] or [`Registration::sasl_failed`].
    Verify(Credentials),
    /// Registration is complete: send these lines (a `906` if SASL was cut
    /// short), then ask the hub to log `Login` in. If it refuses the
    /// nickname, answer `433` and call [`Registration::retry_nick`].
    Ready(Vec<Message>, Login),
    /// Not a registration command but one the door answers at any time
    /// (`PING`, `PONG`, `QUIT`).
    Door,
}

/// The registration state of one connection.
#[derive(Debug, Clone)]
pub struct Registration {
    caps: CapNegotiation,
    sasl: Sasl,
    /// `CAP LS` or `CAP REQ` seen and no `CAP END` yet.
    cap_paused: bool,
    password: Option<String>,
    nick: Option<String>,
    user: Option<(String, String)>,
    /// A `Ready` was returned and the hub has not refused it.
    ready: bool,
}

impl Registration {
    /// A new connection that may enable the capabilities in `offered`.
    pub fn new(offered: CapSet) -> Registration {
        Registration {
            caps: CapNegotiation::new(offered),
            sasl: Sasl::new(),
            cap_paused: false,
            password: None,
            nick: None,
            user: None,
            ready: false,
        }
    }

    /// The nickname so far, if any.
    pub fn nick(&self) -> Option<&str> {
        self.nick.as_deref()
    }

    /// The capability state (to read what is enabled so far).
    pub fn caps(&self) -> &CapNegotiation {
        &self.caps
    }

    /// Handles one message received before registration completed.
    pub fn handle(&mut self, server: &str, msg: &Message) -> Step {
        // Replies name the client `*` until it is registered.
        let reply = |n: Numeric, params: &[&str]| n.reply(server, "*", params.iter().copied());
        let need_more = |command: &str| {
            Step::Reply(vec![reply(
                Numeric::ERR_NEEDMOREPARAMS,
                &[command, "Not enough parameters"],
            )])
        };
        let step = match msg.command.as_str() {
            "CAP" => {
                let (lines, effect) = self.caps.handle(server, "*", &msg.params, false);
                match effect {
                    CapEffect::Pause => self.cap_paused = true,
                    CapEffect::End => self.cap_paused = false,
                    CapEffect::None => {}
                }
                Step::Reply(lines)
            }
            "AUTHENTICATE" => match self.sasl.handle(server, "*", &msg.params) {
                SaslStep::Reply(lines) => Step::Reply(lines),
                SaslStep::Verify(credentials) => return Step::Verify(credentials),
            },
            "PASS" => match msg.param(0) {
                Some(password) if !password.is_empty() => {
                    self.password = Some(password.to_string());
                    Step::Reply(Vec::new())
                }
                _ => return need_more("PASS"),
            },
            "NICK" => match msg.param(0).filter(|n| !n.is_empty()) {
                None => {
                    let m = reply(Numeric::ERR_NONICKNAMEGIVEN, &["No nickname given"]);
                    return Step::Reply(vec![m]);
                }
                Some(nick) => match casemap::check_nick(nick) {
                    Ok(()) => {
                        self.nick = Some(nick.to_string());
                        Step::Reply(Vec::new())
                    }
                    Err(reason) => {
                        let m = reply(Numeric::ERR_ERRONEUSNICKNAME, &[nick, &reason]);
                        return Step::Reply(vec![m]);
                    }
                },
            },
            "USER" => {
                if msg.params.len() < 4 || msg.params[0].is_empty() {
                    return need_more("USER");
                }
                self.user = Some((clean_user(&msg.params[0]), msg.params[3].clone()));
                Step::Reply(Vec::new())
            }
            "PING" | "PONG" | "QUIT" => return Step::Door,
            _ => {
                let m = reply(Numeric::ERR_NOTREGISTERED, &["You have not registered"]);
                return Step::Reply(vec![m]);
            }
        };
        match (step, self.take_login(server)) {
            (Step::Reply(mut lines), Some((more, login))) => {
                lines.extend(more);
                Step::Ready(lines, login)
            }
            (step, _) => step,
        }
    }

    /// The hub accepted the SASL credentials for `account`.
    pub fn sasl_succeeded(&mut self, server: &str, host: &str, account: &str) -> Vec<Message> {
        let nick = self.nick.as_deref().unwrap_or("*");
        let user = self.user.as_ref().map_or("*", |(u, _)| u.as_str());
        let mask = format!("{nick}!{user}@{host}");
        self.sasl.succeeded(server, "*", &mask, account)
    }

    /// The hub refused the SASL credentials, for `reason`.
    pub fn sasl_failed(&mut self, server: &str, reason: &str) -> Vec<Message> {
        self.sasl.failed(server, "*", reason)
    }

    /// The hub refused the nickname of the last `Ready` (taken, or
    /// registered to someone else): wait for another `NICK`.
    pub fn retry_nick(&mut self) {
        self.nick = None;
        self.ready = false;
    }

    /// After the hub accepted the login: the capability and SASL state,
    /// which the session keeps (`CAP` and `AUTHENTICATE` go on working).
    pub fn finish(self) -> (CapNegotiation, Sasl) {
        (self.caps, self.sasl)
    }

    /// The login, once `NICK` and `USER` are in and `CAP` does not hold
    /// registration back; with a `906` if a SASL exchange was under way.
    fn take_login(&mut self, server: &str) -> Option<(Vec<Message>, Login)> {
        if self.ready || self.cap_paused {
            return None;
        }
        let nick = self.nick.clone()?;
        let (user, realname) = self.user.clone()?;
        self.ready = true;
        let lines = self.sasl.abort(server, "*").into_iter().collect();
        let login = Login {
            nick,
            user,
            realname,
            password: self.password.clone(),
            account: self.sasl.account().map(str::to_string),
        };
        Some((lines, login))
    }
}

/// A username safe to show in `nick!user@host`: letters, digits, `-`, `_`
/// and `.`, at most [`USERLEN`]; `user` if nothing is left.
fn clean_user(raw: &str) -> String {
    let user: String = raw
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        .take(USERLEN)
        .collect();
    if user.is_empty() {
        "user".to_string()
    } else {
        user
    }
}

/// `462` for `PASS` or `USER` after registration.
pub fn already_registered(server: &str, nick: &str) -> Message {
    Numeric::ERR_ALREADYREGISTERED.reply(server, nick, ["You may not reregister"])
}

#[cfg(test)]
#[path = "register_tests.rs"]
mod tests;
