//! SASL over IRC (`AUTHENTICATE`, IRCv3 sasl-3.1/3.2) with the `PLAIN`
//! mechanism (RFC 4616): collecting base64 chunks of 400 bytes, decoding
//! `authzid NUL authcid NUL password`, and the numerics 900-908. Checking
//! the password is the hub's job: this machine hands over [`Credentials`]
//! and is told the verdict.

use std::fmt;

use super::message::Message;
use super::numeric::Numeric;
use crate::base64;

/// The size of one `AUTHENTICATE` chunk; a chunk this long means more follow.
pub const CHUNK_BYTES: usize = 400;
/// The most base64 bytes a whole payload may have (three chunks, 900
/// decoded bytes): a nickname, an account and a 128-character password fit
/// with room to spare; more is answered with 905.
pub const MAX_PAYLOAD_BASE64_BYTES: usize = 3 * CHUNK_BYTES;
/// The mechanisms offered, as `RPL_SASLMECHS` and `sasl=` list them.
pub const MECHANISMS: &str = "PLAIN";

/// What a client claimed in a `PLAIN` exchange.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The account (authentication identity).
    pub account: String,
    /// The password, as sent.
    pub password: String,
}

impl fmt::Debug for Credentials {
    // Never print a password, not even in a test failure.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("account", &self.account)
            .field("password", &"<hidden>")
            .finish()
    }
}

/// What the door does after an `AUTHENTICATE`.
#[derive(Debug, PartialEq, Eq)]
pub enum SaslStep {
    /// Send these lines (possibly none: a full chunk waits for the next).
    Reply(Vec<Message>),
    /// Check these credentials, then call [`Sasl::succeeded`] or [`Sasl::failed`].
    Verify(Credentials),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum State {
    Idle,
    Collecting(String),
    Verifying,
}

/// One connection's SASL exchange.
#[derive(Debug, Clone)]
pub struct Sasl {
    state: State,
    account: Option<String>,
}

impl Default for Sasl {
    fn default() -> Sasl {
        Sasl::new()
    }
}

impl Sasl {
    /// No exchange yet, not logged in.
    pub fn new() -> Sasl {
        Sasl {
            state: State::Idle,
            account: None,
        }
    }

    /// The account a successful exchange logged in, if any.
    pub fn account(&self) -> Option<&str> {
        self.account.as_deref()
    }

    /// True between `AUTHENTICATE PLAIN` and the verdict.
    pub fn in_progress(&self) -> bool {
        self.state != State::Idle
    }

    /// Handles `AUTHENTICATE <params>` from a client called `nick` (`*`
    /// before it has one).
    pub fn handle(&mut self, server: &str, nick: &str, params: &[String]) -> SaslStep {
        let reply = |n: Numeric, params: &[&str]| n.reply(server, nick, params.iter().copied());
        let Some(arg) = params.first().map(String::as_str) else {
            let m = reply(
                Numeric::ERR_NEEDMOREPARAMS,
                &["AUTHENTICATE", "Not enough parameters"],
            );
            return SaslStep::Reply(vec![m]);
        };
        if self.account.is_some() {
            let m = reply(
                Numeric::ERR_SASLALREADY,
                &["You have already authenticated using SASL"],
            );
            return SaslStep::Reply(vec![m]);
        }
        if arg == "*" {
            self.state = State::Idle;
            let m = reply(Numeric::ERR_SASLABORTED, &["SASL authentication aborted"]);
            return SaslStep::Reply(vec![m]);
        }
        match std::mem::replace(&mut self.state, State::Idle) {
            State::Idle if arg.eq_ignore_ascii_case(MECHANISMS) => {
                self.state = State::Collecting(String::new());
                SaslStep::Reply(vec![Message::new("AUTHENTICATE", ["+"])])
            }
            State::Idle => SaslStep::Reply(vec![
                reply(
                    Numeric::RPL_SASLMECHS,
                    &[MECHANISMS, "are available SASL mechanisms"],
                ),
                reply(Numeric::ERR_SASLFAIL, &["SASL authentication failed"]),
            ]),
            State::Collecting(mut payload) => {
                let too_long = || {
                    SaslStep::Reply(vec![reply(
                        Numeric::ERR_SASLTOOLONG,
                        &["SASL message too long"],
                    )])
                };
                if arg.len() > CHUNK_BYTES || payload.len() + arg.len() > MAX_PAYLOAD_BASE64_BYTES {
                    return too_long();
                }
                if arg != "+" {
                    payload.push_str(arg);
                }
                if arg.len() == CHUNK_BYTES {
                    self.state = State::Collecting(payload);
                    return SaslStep::Reply(Vec::new());
                }
                match decode_plain(&payload) {
                    Some(credentials) => {
                        self.state = State::Verifying;
                        SaslStep::Verify(credentials)
                    }
                    None => SaslStep::Reply(vec![reply(
                        Numeric::ERR_SASLFAIL,
                        &["SASL authentication failed: malformed PLAIN message"],
                    )]),
                }
            }
            // The door answers a Verify before it reads again; a line here
            // means it did not, so start over rather than guess.
            State::Verifying => SaslStep::Reply(vec![reply(
                Numeric::ERR_SASLABORTED,
                &["SASL authentication aborted"],
            )]),
        }
    }

    /// The hub accepted the credentials: `900` and `903`. `mask` is the
    /// client's `nick!user@host` (`*` if it has no nickname yet).
    pub fn succeeded(
        &mut self,
        server: &str,
        nick: &str,
        mask: &str,
        account: &str,
    ) -> Vec<Message> {
        self.state = State::Idle;
        self.account = Some(account.to_string());
        vec![
            Numeric::RPL_LOGGEDIN.reply(
                server,
                nick,
                [
                    mask,
                    account,
                    &format!("You are now logged in as {account}"),
                ],
            ),
            Numeric::RPL_SASLSUCCESS.reply(server, nick, ["SASL authentication successful"]),
        ]
    }

    /// The hub refused the credentials: `904` with its reason.
    pub fn failed(&mut self, server: &str, nick: &str, reason: &str) -> Vec<Message> {
        self.state = State::Idle;
        let text = format!("SASL authentication failed: {reason}");
        vec![Numeric::ERR_SASLFAIL.reply(server, nick, [text])]
    }

    /// Ends an exchange cut short by registration completing: `906`, or
    /// nothing when none was under way.
    pub fn abort(&mut self, server: &str, nick: &str) -> Option<Message> {
        let was = self.in_progress();
        self.state = State::Idle;
        was.then(|| Numeric::ERR_SASLABORTED.reply(server, nick, ["SASL authentication aborted"]))
    }
}

/// `PLAIN` (RFC 4616): `[authzid] NUL authcid NUL passwd`, UTF-8. We log in
/// as the account itself only, so an authorization identity other than
/// the account (ignoring case) is refused.
fn decode_plain(payload: &str) -> Option<Credentials> {
    let bytes = base64::decode(payload.as_bytes()).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let mut parts = text.split('\0');
    let (authzid, account, password) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || account.is_empty() || password.is_empty() {
        return None;
    }
    if !authzid.is_empty() && !authzid.eq_ignore_ascii_case(account) {
        return None;
    }
    Some(Credentials {
        account: account.to_string(),
        password: password.to_string(),
    })
}

#[cfg(test)]
#[path = "sasl_tests.rs"]
mod tests;
