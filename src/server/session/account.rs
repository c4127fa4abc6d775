//! The account side of one session: the password check at `LOGIN`, and
//! `REGISTER`, `PASSWD`, `LOGOUT`, profiles and the user list.
//!
//! Passwords are hashed and checked here, on the session's own thread, with
//! no lock held (the store hands out a copy of the account), and a wrong
//! password is paid for by sleeping on this thread: a slow hash or a
//! guesser's penalty delays this connection and nobody else. Before a
//! password is checked at login, or a new one hashed for `REGISTER`, the
//! server's guard (`server/guard`) may refuse it with `429`: guessing and
//! registering are limited per address, per account and per connection,
//! and the hashes computed at once are capped.

use std::fmt::Write as _;
use std::thread;
use std::time::{Duration, Instant};

use crate::command::{AccountRequest, Refusal};
use crate::event::Parting;
use crate::protocol::{header, Frame, Status};
use crate::server::accounts::{self, Account, AccountsError, Attr, PasswordHash};
use crate::server::guard::Refused;
use crate::text::{self, name_key};

use super::{End, Session};
use crate::server::outbox::PRE_LOGIN_BYTES;

/// What each wrong password costs the connection that sent it, before it
/// hears the answer: guessing gets slow, and only for the guesser.
const FAILURE_DELAY: Duration = Duration::from_secs(1);
/// Wrong passwords a connection may send; the last one closes it.
const MAX_FAILURES: u32 = 3;

/// Which kind of password check failed: each has its own count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Attempt {
    Login,
    Passwd,
}

/// Wrong passwords sent on one connection, by kind.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    pub login: u32,
    pub passwd: u32,
}

/// What becomes of a `LOGIN` once its password (if any) has been looked at.
pub enum Gate {
    /// Go ahead; `registered` when a password was checked and matched.
    Open { registered: bool },
    /// Send this refusal; the connection stays open.
    Refuse(Frame),
    /// Send this last refusal; then the connection ends.
    Close(Closing),
}

/// A last reply, and how the connection ends after it. The door sends the
/// reply in its own framing (raw, or inside a WebSocket message).
#[derive(Debug)]
pub struct Closing {
    pub reply: Frame,
    pub end: End,
}

/// The `401` for a registered nickname sent without its password.
pub fn password_needed(nick: &str) -> Frame {
    Frame::reply(
        Status::UNAUTHORIZED,
        &format!("{nick} is a registered nickname: send its password, or choose another nickname"),
    )
}

/// The refusal of a `NICK` to a nickname registered by someone else.
pub fn registered_nick_refused(nick: &str) -> Frame {
    Refusal::new(
        Status::FORBIDDEN,
        format!("{nick} is a registered nickname: to use it, /logout and log in as {nick} with its password"),
    )
    .into_frame()
}

impl Session<'_> {
    /// True when `nick` is registered and is not this client's own nickname
    /// (in another case): renaming into it would bypass its password.
    pub fn is_someone_elses_account(&self, nick: &str) -> bool {
        let own = self
            .nick
            .as_deref()
            .is_some_and(|me| name_key(me) == name_key(nick));
        !own && self.accounts.is_registered(nick)
    }

    /// Checks `LOGIN`'s password against the account of `nick`, if there is
    /// one. A guest nickname needs none (and a password sent for one is
    /// ignored); a registered one needs the right one.
    pub fn authenticate(&mut self, nick: &str, password: Option<&str>) -> Gate {
        if let Err(reason) = text::check_nick(nick) {
            return Gate::Refuse(Refusal::bad_request(reason).into_frame());
        }
        let Some(account) = self.accounts.lookup(nick) else {
            return Gate::Open { registered: false };
        };
        let Some(password) = password else {
            return Gate::Refuse(password_needed(&account.nick));
        };
        // The cheap checks (this address's and the account's budgets) and
        // a turn at hashing come first; a refusal hashes nothing.
        let guess = match self.guard.begin_guess(&account.nick) {
            Ok(guess) => guess,
            Err(refused) => {
                // Refused unchecked, but answered no sooner than a wrong
                // password: a guesser that waits for its answers (as
                // clients do) gets one a second per connection, and a
                // sleeping thread costs nothing, where answering at once
                // let a few hundred connections keep the cores busy with
                // refusals and the owner's hash waited for a core.
                thread::sleep(FAILURE_DELAY);
                return Gate::Refuse(too_many(&refused));
            }
        };
        let correct = account.hash.verify(password);
        for note in guess.finish(correct) {
            self.console.say(format!("{} {note}", self.tag));
        }
        if correct {
            return Gate::Open { registered: true };
        }
        match self.wrong_password(
            Attempt::Login,
            &format!("wrong password for {}", account.nick),
        ) {
            Ok(reply) => Gate::Refuse(reply),
            Err(closing) => Gate::Close(closing),
        }
    }

    /// Carries out an account request of a logged-in client: the reply,
    /// or a last one after which the session ends.
    ///
    /// # Errors
    /// The last reply, and why the session ends.
    pub fn account_request(&mut self, request: AccountRequest) -> Result<Frame, Closing> {
        let Some(nick) = self.nick.clone() else {
            return Ok(Refusal::new(Status::FORBIDDEN, "log in first").into_frame());
        };
        Ok(match request {
            AccountRequest::Register { password } => self.register(&nick, &password),
            AccountRequest::Passwd { old, new } => return self.change_password(&nick, &old, &new),
            AccountRequest::Logout => self.logout(&nick),
            AccountRequest::SetProfile { attr, value } => self.set_profile(&nick, &attr, &value),
            AccountRequest::ViewProfile { nick: whose } => self.view_profile(&whose),
            AccountRequest::Whoami => self.whoami(&nick),
            AccountRequest::ListUsers => self.list_users(),
            AccountRequest::Login { .. } | AccountRequest::Nick { .. } => {
                Refusal::bad_request("not handled here").into_frame()
            }
        })
    }

    /// Sleeps off a wrong password, counts it (logins and password changes
    /// apart: mistyping the old password in `/passwd` costs no login
    /// attempt after a `/logout`), and gives the refusal; at the last
    /// allowed failure, it carries `Connection: close` and ends.
    fn wrong_password(&mut self, attempt: Attempt, what: &str) -> Result<Frame, Closing> {
        // No lock is held here: only this connection waits.
        thread::sleep(FAILURE_DELAY);
        let failures = match attempt {
            Attempt::Login => &mut self.password_failures.login,
            Attempt::Passwd => &mut self.password_failures.passwd,
        };
        *failures += 1;
        let failures = *failures;
        self.console.say(format!(
            "{} {what} (failure {failures} of {MAX_FAILURES} on this connection)",
            self.tag
        ));
        let left = MAX_FAILURES.saturating_sub(failures);
        if left > 0 {
            return Ok(Frame::reply(
                Status::UNAUTHORIZED,
                &format!("{what}; {left} attempt(s) left"),
            ));
        }
        let reason = format!("{what}; {MAX_FAILURES} wrong passwords, closing the connection");
        Err(Closing {
            reply: Frame::reply(Status::UNAUTHORIZED, &reason)
                .with_header(header::CONNECTION, "close"),
            end: End::Dropped(format!("{MAX_FAILURES} wrong passwords")),
        })
    }

    fn register(&mut self, nick: &str, password: &str) -> Frame {
        // Checked first so that a refusal costs no hashing.
        if let Some(account) = self.accounts.lookup(nick) {
            return already_registered(&account.nick);
        }
        if let Err(reason) = accounts::check_password(password) {
            return Refusal::bad_request(reason).into_frame();
        }
        // This connection's and this address's allowance, and a turn at
        // hashing; given back if the account is not stored after all.
        let registration = match self.guard.begin_registration() {
            Ok(registration) => registration,
            Err(refused) => {
                self.console.say(format!(
                    "{} Client ({nick}) registration refused: {}",
                    self.tag, refused.reason
                ));
                return too_many(&refused);
            }
        };
        let hash = match self.hash(password) {
            Ok(hash) => hash,
            Err(reply) => return reply,
        };
        match self.accounts.register(nick, hash) {
            Ok(()) => {
                // The nickname is this connection's account from now on.
                self.registered = true;
                registration.stored(&mut self.guard, nick);
                self.console
                    .say(format!("{} Client ({nick}) registered", self.tag));
                Frame::reply(
                    Status::OK,
                    &format!("{nick} is registered: from now on, logging in as {nick} asks for this password"),
                )
            }
            Err(e) => self.store_error(e),
        }
    }

    fn change_password(&mut self, nick: &str, old: &str, new: &str) -> Result<Frame, Closing> {
        let Some(account) = self.accounts.lookup(nick) else {
            return Ok(register_first(
                nick,
                "only a registered nickname has a password",
            ));
        };
        if let Err(reason) = accounts::check_password(new) {
            return Ok(Refusal::bad_request(format!("new {reason}")).into_frame());
        }
        if !account.hash.verify(old) {
            return self.wrong_password(Attempt::Passwd, "wrong current password");
        }
        let hash = match self.hash(new) {
            Ok(hash) => hash,
            Err(reply) => return Ok(reply),
        };
        Ok(match self.accounts.set_password(nick, hash) {
            Ok(()) => {
                self.console
                    .say(format!("{} Client ({nick}) changed password", self.tag));
                Frame::reply(Status::OK, "password changed")
            }
            Err(e) => self.store_error(e),
        })
    }

    /// Takes the client out of its room (the room hears it leave) and back
    /// to the state before `LOGIN`; the connection stays open.
    fn logout(&mut self, nick: &str) -> Frame {
        self.leave_hub(&Parting::Quit("logged out".into()));
        self.nick = None;
        self.registered = false;
        // Not logged in again: small output, as for a new connection.
        self.outbox
            .set_max_bytes(PRE_LOGIN_BYTES.min(self.config.queue.max_bytes));
        self.login_since = Instant::now();
        self.console
            .say(format!("{} Client ({nick}) logged out", self.tag));
        Frame::reply(Status::RESET_CONTENT, &format!("{nick} logged out"))
    }

    fn set_profile(&self, nick: &str, attr: &str, value: &str) -> Frame {
        if !self.accounts.is_registered(nick) {
            return register_first(nick, "profiles belong to registered nicknames");
        }
        let Some(attr) = Attr::parse(attr) else {
            return Refusal::bad_request(format!(
                "unknown profile attribute {attr:?}; choose one of {}",
                Attr::names()
            ))
            .into_frame();
        };
        match self.accounts.set_profile(nick, attr, value) {
            Ok(()) if value.is_empty() => {
                Frame::reply(Status::OK, &format!("{} cleared", attr.name()))
            }
            Ok(()) => Frame::reply(Status::OK, &format!("{} set", attr.name())),
            Err(e) => self.store_error(e),
        }
    }

    fn view_profile(&self, whose: &str) -> Frame {
        let online = self
            .hub
            .users(Some(self.id))
            .into_iter()
            .find(|p| name_key(&p.nick) == name_key(whose));
        match (self.accounts.lookup(whose), online) {
            (Some(account), online) => {
                Frame::reply(Status::OK, &describe(&account, online.is_some()))
                    .with_header(header::REGISTERED, "yes")
            }
            (None, Some(guest)) => Frame::reply(
                Status::OK,
                &format!("{} (guest, online): guests have no profile", guest.nick),
            )
            .with_header(header::REGISTERED, "no"),
            (None, None) => Refusal::new(
                Status::NOT_FOUND,
                format!("nobody called {whose} is registered or online"),
            )
            .into_frame(),
        }
    }

    fn whoami(&self, nick: &str) -> Frame {
        let rooms = self.hub.rooms_of(self.id);
        let room = if rooms.is_empty() {
            String::new()
        } else {
            format!(", in {}", rooms.join(", "))
        };
        let (text, registered) = match self.accounts.lookup(nick) {
            Some(account) => (
                format!("You are {}{room}.\n{}", account.nick, describe(&account, true)),
                "yes",
            ),
            None => (
                format!(
                    "You are {nick}{room}, a guest: not registered (/register PASSWORD keeps this nickname for you)"
                ),
                "no",
            ),
        };
        Frame::reply(Status::OK, &text)
            .with_header(header::NICK, nick)
            .with_header(header::REGISTERED, registered)
    }

    /// Every registered user and every guest online, marked online or
    /// offline, sorted by nickname ignoring case.
    fn list_users(&self) -> Frame {
        let online = self.hub.users(Some(self.id));
        let is_online = |nick: &str| online.iter().any(|p| name_key(&p.nick) == name_key(nick));
        let mut rows: Vec<(String, &str, &str)> = self
            .accounts
            .nicks()
            .into_iter()
            .map(|nick| {
                let state = if is_online(&nick) {
                    "online"
                } else {
                    "offline"
                };
                (nick, "registered", state)
            })
            .collect();
        let registered = rows.len();
        for p in &online {
            if !self.accounts.is_registered(&p.nick) {
                rows.push((p.nick.clone(), "guest", "online"));
            }
        }
        rows.sort_by_key(|(nick, ..)| name_key(nick));
        let mut text = format!(
            "{} user(s): {registered} registered, {} online",
            rows.len(),
            online.len()
        );
        for (nick, kind, state) in rows {
            let _ = write!(text, "\n  {nick:<8}  {kind:<10}  {state}");
        }
        Frame::reply(Status::OK, &text)
    }

    /// Hashes a new password on this thread; no lock is held.
    fn hash(&self, password: &str) -> Result<PasswordHash, Frame> {
        PasswordHash::new(password, self.config.pbkdf2_iterations).map_err(|e| {
            self.console.say(format!(
                "{} cannot read the random source for a password salt: {e}",
                self.tag
            ));
            Frame::reply(
                Status::INTERNAL_ERROR,
                "the server cannot hash passwords right now; nothing was changed",
            )
        })
    }

    fn store_error(&self, e: AccountsError) -> Frame {
        match e {
            AccountsError::AlreadyRegistered { nick } => already_registered(&nick),
            AccountsError::NotRegistered { nick } => {
                register_first(&nick, "only a registered nickname has an account")
            }
            AccountsError::Invalid { reason } => Refusal::bad_request(reason).into_frame(),
            AccountsError::ClusterUnavailable(why) => Frame::reply(
                Status::UNAVAILABLE,
                &format!("cluster unavailable, retrying ({why}); nothing was changed, try again"),
            ),
            e => {
                self.console
                    .say(format!("{} {e}; change refused", self.tag));
                Frame::reply(
                    Status::INSUFFICIENT_STORAGE,
                    "the account file could not be written, so nothing was changed; try again later",
                )
            }
        }
    }
}

/// The `429` for a refusal of the guard, with `Retry-After` in seconds.
fn too_many(refused: &Refused) -> Frame {
    Frame::reply(Status::TOO_MANY_REQUESTS, &refused.reason)
        .with_header(RETRY_AFTER, refused.retry_after_secs())
}

/// The header of a `429` that says how many seconds to wait (as in HTTP).
const RETRY_AFTER: &str = "Retry-After";

fn already_registered(nick: &str) -> Frame {
    Refusal::new(
        Status::CONFLICT,
        format!("{nick} is registered already; /passwd OLD NEW changes its password"),
    )
    .into_frame()
}

fn register_first(nick: &str, why: &str) -> Frame {
    Refusal::new(
        Status::FORBIDDEN,
        format!("register first: {why}, and {nick} is a guest (/register PASSWORD)"),
    )
    .into_frame()
}

/// `ntu (registered, online)` and one line per profile attribute.
fn describe(account: &Account, online: bool) -> String {
    let state = if online { "online" } else { "offline" };
    let mut text = format!("{} (registered, {state})", account.nick);
    if account.profile.is_empty() {
        text.push_str("\n  no profile yet");
    }
    for (attr, value) in account.profile.iter() {
        let _ = write!(text, "\n  {}: {value}", attr.name());
    }
    text
}
