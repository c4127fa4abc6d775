//! One logged-in session: the reader thread shows what arrives while this
//! thread reads typed lines and sends them, until the user quits, logs out
//! or logs in as someone else (`login NAME PW`).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::command::{
    AccountRequest, Anchor, ChatRequest, Control, Conversation, HistoryRequest, Request,
};
use crate::text::name_key;

use super::connection::Reader;
use super::incoming::Incoming;
use super::input::{self, Input, HELP};
use super::keyboard::Keyboard;
use super::login::{Attempt, LoggedIn};
use super::output::{Line, Out};
use super::pending::{Awaited, Link};
use super::split::{split, MAX_PIECES};
use super::state::{lock, Shared};
use super::transfer::Transfers;

/// How long `/quit` waits for the server's goodbye before leaving anyway.
const QUIT_GRACE: Duration = Duration::from_secs(2);
/// How long `/logout` waits for the server to confirm it.
const LOGOUT_GRACE: Duration = Duration::from_secs(10);

/// What comes after a session.
pub enum Next {
    /// Logged out: back to the nickname prompt on the same connection,
    /// trying `attempt` first.
    Prompt { reader: Reader, attempt: Attempt },
    /// The user left, or the connection ended.
    Done,
}

/// Why the typing loop stopped.
enum Ended {
    /// `/quit`, end of input, or the connection failed.
    Quit,
    /// `/logout`, or `login NAME PW` (log in as that next).
    Logout(Attempt),
}

/// Everything a session works with.
pub struct Session<'a> {
    pub link: &'a Link,
    pub files: &'a Transfers,
    pub out: &'a Out,
    pub state: &'a Shared,
}

impl Session<'_> {
    /// Chats until the user quits or logs out.
    ///
    /// # Errors
    /// The reader thread could not be started.
    pub fn run(
        &self,
        reader: Reader,
        logged_in: LoggedIn,
        keyboard: &mut dyn Keyboard,
    ) -> std::io::Result<Next> {
        let quitting = Arc::new(AtomicBool::new(false));
        let incoming = Incoming {
            link: self.link.clone(),
            files: self.files.clone(),
            out: Arc::clone(self.out),
            state: Arc::clone(self.state),
            quitting: Arc::clone(&quitting),
            older: Vec::new(),
        };
        let early = logged_in.early;
        let printer = thread::Builder::new()
            .name("reader".into())
            .spawn(move || incoming.run(reader, early))?;
        if let Some(password) = logged_in.then_register {
            let _ = self.link.send(AccountRequest::Register { password });
        }
        while let Ended::Logout(attempt) = self.typing(keyboard) {
            if self.link.send(AccountRequest::Logout).is_err() {
                break; // the reader thread reports the lost connection
            }
            // The reader thread stops at the LOGOUT reply and hands the reader
            // back; transfers asked for before it are answered first.
            self.wait_for_reader(&printer, LOGOUT_GRACE);
            if printer.is_finished() {
                return Ok(match printer.join().ok().flatten() {
                    Some(reader) => Next::Prompt { reader, attempt },
                    None => Next::Done,
                });
            }
            self.out.show(Line::error(
                "the server did not confirm the logout; you are still logged in",
            ));
        }
        quitting.store(true, Ordering::Release);
        // Best effort: the server answers QUIT and closes; if it does not, leave
        // anyway, once no file is still on its way (the server answers in order,
        // so a transfer in flight is answered before the QUIT).
        let _ = self.link.send(Control::Quit);
        if self.link.is_busy() {
            self.out.show(Line::info(
                "Waiting for file transfers to finish before leaving...",
            ));
        }
        self.wait_for_reader(&printer, QUIT_GRACE);
        self.link.writer().close();
        Ok(Next::Done)
    }

    /// Waits for the reader thread to finish: for as long as a transfer is
    /// still on its way (leaving would lose it), then `grace` at most.
    fn wait_for_reader<T>(&self, printer: &thread::JoinHandle<T>, grace: Duration) {
        let mut deadline = Instant::now() + grace;
        while !printer.is_finished() {
            if self.link.is_busy() {
                deadline = Instant::now() + grace;
            } else if Instant::now() >= deadline {
                break;
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    /// Reads typed lines and acts on them until the user quits or logs out.
    fn typing(&self, keyboard: &mut dyn Keyboard) -> Ended {
        loop {
            let line = match keyboard.line("", false) {
                Ok(Some(line)) => line,
                Ok(None) | Err(_) => return Ended::Quit,
            };
            let sent = match input::parse_bytes(&line) {
                Input::Nothing => Ok(()),
                Input::Help => {
                    self.out.show(Line::info(HELP));
                    Ok(())
                }
                Input::Quit => return Ended::Quit,
                Input::Logout => return Ended::Logout(Attempt::default()),
                Input::Login { nick, password } => {
                    return Ended::Logout(Attempt {
                        nick: Some(nick),
                        password: Some(password),
                    })
                }
                Input::Register { nick, password } => self.register(nick, password),
                Input::History { limit } => self.history(limit),
                Input::Search { text, room } => self.search(text, room),
                Input::Mistake(why) => {
                    self.out.show(Line::error(why));
                    Ok(())
                }
                Input::SendFile(path) => {
                    if let Err(e) = self.files.send_file(self.link, &path, self.out) {
                        self.out
                            .show(Line::error(crate::text::for_terminal(&e.to_string())));
                    }
                    Ok(())
                }
                Input::Send(Request::Chat(ChatRequest::Say { room, text })) => {
                    self.say(&text, |piece| ChatRequest::Say {
                        room: room.clone(),
                        text: piece.to_string(),
                    })
                }
                Input::Send(Request::Chat(ChatRequest::Whisper { to, text })) => {
                    self.say(&text, |piece| ChatRequest::Whisper {
                        to: to.clone(),
                        text: piece.to_string(),
                    })
                }
                Input::Send(request) => self.link.send(request),
            };
            if sent.is_err() {
                return Ended::Quit; // the reader thread reports the lost connection
            }
        }
    }

    /// `/history [N]`: asks for the messages of this room before the
    /// oldest one seen (the newest ones, if none was).
    fn history(&self, limit: usize) -> std::io::Result<()> {
        let (room, before) = {
            let state = lock(self.state);
            (state.room.clone(), state.oldest_here())
        };
        let request = HistoryRequest::History {
            of: Conversation::Room(room.clone()),
            anchor: before.map_or(Anchor::Latest, Anchor::Before),
            limit,
        };
        self.link.send_awaiting(request, Awaited::Older { room })
    }

    /// `/search TEXT [in ROOM]` asks for the newest matches; `/search`
    /// alone for the page after the last one shown.
    fn search(&self, text: Option<String>, room: Option<String>) -> std::io::Result<()> {
        let (text, room, before) = match text {
            Some(text) => (text, room, None),
            None => match lock(self.state).search.clone() {
                Some((text, room, Some(before))) => (text, room, Some(before)),
                Some((text, _, None)) => {
                    self.out.show(Line::info(format!(
                        "no more pages of the search for {:?}",
                        crate::text::for_terminal(&text)
                    )));
                    return Ok(());
                }
                None => {
                    self.out
                        .show(Line::error("no search yet: /search TEXT [in ROOM]"));
                    return Ok(());
                }
            },
        };
        let request = HistoryRequest::Search {
            text: text.clone(),
            room: room.clone(),
            before,
        };
        self.link
            .send_awaiting(request, Awaited::Searched { text, room })
    }

    /// `register [NICK] PASSWORD`: registers our own nickname only.
    fn register(&self, nick: Option<String>, password: String) -> std::io::Result<()> {
        let me = lock(self.state).nick.clone();
        match nick {
            Some(nick) if name_key(&nick) != name_key(&me) => {
                self.out.show(Line::error(format!(
                    "you are logged in as {me}, and register registers your own nickname \
                     (register {me} PASSWORD); to register {nick}, /logout and type \
                     register {nick} PASSWORD at the nickname prompt; nothing was sent",
                    nick = crate::text::for_terminal(&nick)
                )));
                Ok(())
            }
            _ => self.link.send(AccountRequest::Register { password }),
        }
    }

    /// Sends a message (or a whisper), split into several when it is longer
    /// than the server takes; each is shown back once the server confirms it.
    fn say(&self, text: &str, build: impl Fn(&str) -> ChatRequest) -> std::io::Result<()> {
        let max = lock(self.state).max_body;
        let pieces = split(text, max);
        if pieces.len() > MAX_PIECES {
            self.out.show(Line::error(format!(
                "that message is {} bytes; the server takes {max} a message and the client \
                 splits into at most {MAX_PIECES}; nothing was sent (share it with /send_file)",
                text.len()
            )));
            return Ok(());
        }
        if pieces.len() > 1 {
            self.out.show(Line::info(format!(
                "(that message is longer than the server's {max} bytes: sent as {} messages)",
                pieces.len()
            )));
        }
        for piece in pieces {
            let request = build(piece);
            let awaited = match &request {
                ChatRequest::Whisper { to, .. } => Awaited::Whispered {
                    to: to.clone(),
                    text: piece.to_string(),
                },
                ChatRequest::Say { .. } => Awaited::Said {
                    text: piece.to_string(),
                },
            };
            self.link.send_awaiting(request, awaited)?;
        }
        Ok(())
    }
}
