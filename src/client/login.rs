//! Logging in: the nickname prompt (which also takes the seeds'
//! `login NAME PW`, `register NAME PW` and `exit`), the password prompt,
//! and the server's answer, waited for with a timeout so that a server
//! that never answers, or a web server on the port, is reported instead
//! of hanging.

use std::time::Duration;

use crate::command::AccountRequest;
use crate::event::Event;
use crate::protocol::{header, Frame, FrameError, Status};

use super::connection::Reader;
use super::keyboard::Keyboard;
use super::output::{Line, Out};
use super::pending::Link;
use super::render;
use super::transfer::DEFAULT_MAX_FILE_SIZE;
use super::ClientError;

/// The prompt for a nickname.
pub const NICK_PROMPT: &str = "Input your nickname: ";
/// The prompt for a password (typed without echo).
pub const PASSWORD_PROMPT: &str = "Password: ";

/// What is shown for `help` at the nickname prompt.
const PROMPT_HELP: &str = "\
Type a nickname to chat as a guest (1-8 letters, digits, _ or -),
  login NICK PASSWORD      to log in to a registered nickname,
  register NICK PASSWORD   to log in as NICK and register it,
  exit                     to leave.";

/// A successful login.
pub struct LoggedIn {
    /// Events that arrived before the reply (none, with today's server).
    pub early: Vec<Frame>,
    /// Our nickname as the server spells it.
    pub nick: String,
    pub max_file_size: u64,
    /// The largest chat message body the server takes (0: not told).
    pub max_body: usize,
    /// `register NICK PASSWORD` at the prompt: register with this password now.
    pub then_register: Option<String>,
}

/// Who to try first, without asking.
#[derive(Debug, Default)]
pub struct Attempt {
    pub nick: Option<String>,
    pub password: Option<String>,
}

/// What was typed at the nickname prompt.
#[derive(Debug, PartialEq, Eq)]
enum AtPrompt {
    Nothing,
    Nick(String),
    Login {
        nick: String,
        password: String,
    },
    Register {
        nick: String,
        password: String,
    },
    Help,
    Quit,
    /// Told to the user; nothing is sent.
    Mistake(&'static str),
}

fn parse_prompt(line: &str) -> AtPrompt {
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some(first) = words.first() else {
        return AtPrompt::Nothing;
    };
    let name = first.trim_start_matches('/').to_ascii_lowercase();
    match (name.as_str(), &words[1..]) {
        ("exit" | "quit", []) => AtPrompt::Quit,
        ("help" | "?", []) => AtPrompt::Help,
        ("login", [nick, password]) => AtPrompt::Login {
            nick: nick.to_string(),
            password: password.to_string(),
        },
        ("register", [nick, password]) => AtPrompt::Register {
            nick: nick.to_string(),
            password: password.to_string(),
        },
        ("login", _) => AtPrompt::Mistake("usage: login NICK PASSWORD"),
        ("register", _) => AtPrompt::Mistake("usage: register NICK PASSWORD"),
        (_, []) if first.starts_with('/') => {
            AtPrompt::Mistake("log in first: type a nickname (or exit)")
        }
        (_, []) => AtPrompt::Nick(first.to_string()),
        _ => AtPrompt::Mistake(
            "a nickname is one word (letters, digits, _ or -); nothing was sent; type help for more",
        ),
    }
}

/// Asks for a nickname (and, for a registered one, its password) until
/// the server accepts them; `first` is tried without asking. `None` when
/// the user leaves at a prompt (`exit`, `/quit`, end of input).
///
/// # Errors
/// The connection failed, the server turned us away, did not answer in
/// `timeout`, or is not a chat server.
pub fn log_in(
    reader: &mut Reader,
    link: &Link,
    keyboard: &mut dyn Keyboard,
    out: &Out,
    first: Attempt,
    timeout: Duration,
) -> Result<Option<LoggedIn>, ClientError> {
    let mut first = Some(first);
    loop {
        let (nick, mut password, then_register) = match first.take() {
            Some(Attempt {
                nick: Some(nick),
                password,
            }) => (nick, password, None),
            _ => {
                let Some(line) = keyboard.line(NICK_PROMPT, false)? else {
                    return Ok(None);
                };
                match parse_prompt(&String::from_utf8_lossy(&line)) {
                    AtPrompt::Nothing => continue,
                    AtPrompt::Quit => return Ok(None),
                    AtPrompt::Help => {
                        out.show(Line::info(PROMPT_HELP));
                        continue;
                    }
                    AtPrompt::Mistake(why) => {
                        out.show(Line::error(why));
                        continue;
                    }
                    AtPrompt::Nick(nick) => (nick, None, None),
                    AtPrompt::Login { nick, password } => (nick, Some(password), None),
                    AtPrompt::Register { nick, password } => (nick, None, Some(password)),
                }
            }
        };
        // Tries `nick` until it is accepted, or refused for a reason
        // another password would not fix.
        loop {
            let sent_password = password.is_some();
            link.writer().send(
                &AccountRequest::Login {
                    many_rooms: false,
                    nick: nick.clone(),
                    password: password.take(),
                }
                .into_frame(),
            )?;
            let (reply, early) = read_reply(reader, link, timeout)?;
            if reply.status_code() == Some(Status::OK) {
                out.show(Line::info("Successfully login."));
                if sent_password && reply.header(header::REGISTERED) == Some("no") {
                    out.show(Line::info(format!(
                        "{nick} is not registered, so the password was not needed: you are a guest."
                    )));
                }
                let number = |name| reply.header(name).and_then(|v| v.parse().ok());
                return Ok(Some(LoggedIn {
                    early,
                    nick: reply.header(header::NICK).unwrap_or(&nick).to_string(),
                    max_file_size: number(header::MAX_FILE_SIZE).unwrap_or(DEFAULT_MAX_FILE_SIZE),
                    max_body: number(header::MAX_BODY).unwrap_or(0) as usize,
                    then_register,
                }));
            }
            let reason = render::reply(&reply).map(|l| l.text).unwrap_or_default();
            let reason = reason.trim_start_matches("error: ").to_string();
            if reply.header(header::CONNECTION) == Some("close") {
                return Err(ClientError::TurnedAway(reason));
            }
            if reply.status_code() != Some(Status::UNAUTHORIZED) {
                out.show(Line::info(format!("Nickname refused: {reason}")));
                break;
            }
            if then_register.is_some() {
                out.show(Line::error(format!(
                    "{nick} is registered already; to log in to it: login {nick} PASSWORD"
                )));
                break;
            }
            // 401: the nickname is registered and needs (another) password.
            if sent_password {
                out.show(Line::info(format!("Login refused: {reason}")));
            } else {
                out.show(Line::info(reason.clone()));
            }
            match keyboard.line(PASSWORD_PROMPT, true)? {
                // At the end of input no password will come: a script's
                // password file was wrong, and that is an error.
                None => return Err(ClientError::TurnedAway(reason)),
                Some(p) if p.is_empty() => break, // choose another nickname
                Some(p) => {
                    let p = String::from_utf8_lossy(&p).into_owned();
                    if is_quit(&p) {
                        return Ok(None);
                    }
                    password = Some(p);
                }
            }
        }
    }
}

/// `/quit` or `/exit` at the password prompt leaves instead of being tried
/// as a password (a password may not start with `/` followed by those).
fn is_quit(line: &str) -> bool {
    let line = line.trim().to_ascii_lowercase();
    line == "/quit" || line == "/exit"
}

/// Waits (at most `timeout` for each read) for the reply to the login,
/// collecting events that came first.
fn read_reply(
    reader: &mut Reader,
    link: &Link,
    timeout: Duration,
) -> Result<(Frame, Vec<Frame>), ClientError> {
    let addr = link.writer().peer();
    let no_answer = || ClientError::NoAnswer {
        addr: addr.clone(),
        waited: timeout,
    };
    reader.set_timeout(Some(timeout))?;
    match reader.speaks_http() {
        Ok(true) => return Err(ClientError::NotChat { addr }),
        Ok(false) => {}
        Err(e) if crate::protocol::is_timeout(&e) => return Err(no_answer()),
        Err(e) => return Err(ClientError::Connection(FrameError::Io(e))),
    }
    let mut early = Vec::new();
    let reply = loop {
        match reader.read() {
            Err(e) if e.is_timeout() => return Err(no_answer()),
            Err(e) => return Err(ClientError::Connection(e)),
            Ok(None) => return Err(ClientError::Connection(FrameError::UnexpectedEof)),
            Ok(Some(frame)) if frame.status_code().is_some() => break frame,
            Ok(Some(frame)) => {
                if let Ok(Event::Bye { reason }) = Event::from_frame(&frame) {
                    return Err(ClientError::TurnedAway(reason));
                }
                early.push(frame);
            }
        }
    };
    reader.set_timeout(None)?;
    Ok((reply, early))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nickname_prompt_takes_a_nickname_or_a_seed_command() {
        assert_eq!(parse_prompt(" ntu "), AtPrompt::Nick("ntu".into()));
        assert_eq!(parse_prompt(""), AtPrompt::Nothing);
        for quit in ["exit", "EXIT", "/quit", "/exit", "quit"] {
            assert_eq!(parse_prompt(quit), AtPrompt::Quit, "{quit}");
        }
        assert_eq!(
            parse_prompt("login Tom secret-pw"),
            AtPrompt::Login {
                nick: "Tom".into(),
                password: "secret-pw".into()
            }
        );
        assert_eq!(
            parse_prompt("/register Tom secret-pw"),
            AtPrompt::Register {
                nick: "Tom".into(),
                password: "secret-pw".into()
            }
        );
        assert_eq!(parse_prompt("help"), AtPrompt::Help);
    }

    #[test]
    fn nothing_with_spaces_is_sent_as_a_nickname() {
        for line in [
            "register Tom",
            "login Tom",
            "John Smith",
            "/whoami",
            "login a b c",
        ] {
            assert!(matches!(parse_prompt(line), AtPrompt::Mistake(_)), "{line}");
        }
    }

    #[test]
    fn quit_at_the_password_prompt_is_not_a_password() {
        assert!(is_quit("/quit"));
        assert!(is_quit(" /EXIT "));
        assert!(!is_quit("quit-the-job"));
    }
}
