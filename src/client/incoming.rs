//! The reader thread: shows every event and reply as it arrives, answers
//! the server's pings, keeps the session's state up to date, and saves
//! downloads as they stream in. It ends at the reply to `LOGOUT` (handing
//! the reader back for the next login) or when the connection ends.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::command::{Control, RoomRequest};
use crate::event::Event;
use crate::protocol::{header, Frame, Status};
use crate::text::name_key;

use super::connection::Reader;
use super::output::{Kind, Line, Out};
use super::pending::{Awaited, Link};
use super::render;
use super::state::{lock, Shared};
use super::transfer::{self, Transfers};

/// What the reader thread works with.
pub struct Incoming {
    pub link: Link,
    pub files: Transfers,
    pub out: Out,
    pub state: Shared,
    /// Set by the input thread before it sends `QUIT`: the connection
    /// ending is then expected, not news.
    pub quitting: Arc<AtomicBool>,
    /// The lines of a `/history` page, until its reply comes.
    pub older: Vec<Line>,
}

impl Incoming {
    /// Reads until the logout reply (`Some(reader)`) or the end of the
    /// connection (`None`; unless quitting, the output is told the server
    /// went away). `early` frames arrived before the login reply.
    pub fn run(mut self, mut reader: Reader, early: Vec<Frame>) -> Option<Reader> {
        for frame in &early {
            self.event(frame);
        }
        while let Ok(Some(head)) = reader.read_head() {
            if head.status_code().is_none() {
                match reader.read_body(head) {
                    Ok(frame) => self.event(&frame),
                    Err(_) => break,
                }
                continue;
            }
            let awaited = self.link.next_reply();
            let result = match awaited {
                Awaited::Download { id } if head.status_code() == Some(Status::OK) => {
                    let result = self.files.receive(&mut reader, &head, id, &self.out);
                    self.link.settle();
                    result.map(|text| self.out.show(outcome(text)))
                }
                Awaited::Upload(sending) => {
                    let result = reader.read_body(head);
                    self.link.settle();
                    result.map(|reply| {
                        self.out
                            .show(outcome(transfer::upload_answered(&sending, &reply)));
                    })
                }
                awaited => {
                    let result = reader.read_body(head);
                    if matches!(awaited, Awaited::Download { .. }) {
                        self.link.settle();
                    }
                    match result {
                        Ok(reply) if reply.status_code() == Some(Status::RESET_CONTENT) => {
                            self.reply(&reply, awaited);
                            return Some(reader); // logged out
                        }
                        Ok(reply) => {
                            self.reply(&reply, awaited);
                            Ok(())
                        }
                        Err(e) => Err(e),
                    }
                }
            };
            if result.is_err() {
                break;
            }
        }
        if !self.quitting.load(Ordering::Acquire) {
            self.out.disconnected();
        }
        None
    }

    /// Shows a reply as what it answers.
    fn reply(&mut self, reply: &Frame, awaited: Awaited) {
        let ok = reply.status_code() == Some(Status::OK);
        let me = || lock(&self.state).nick.clone();
        let stamp = || lock(&self.state).clock.stamp();
        match awaited {
            Awaited::Said { text } if ok => {
                self.out
                    .show(render::said(Kind::Mine, stamp(), None, &me(), &text));
            }
            Awaited::Whispered { to, text } if ok => {
                let to = crate::text::for_terminal(&to);
                let tag = if reply.header(header::KEPT) == Some("yes") {
                    format!("(whisper to {to}, who is away: kept for their next login)")
                } else {
                    format!("(whisper to {to})")
                };
                self.out.show(render::said(
                    Kind::MyWhisper,
                    stamp(),
                    Some(tag),
                    &me(),
                    &text,
                ));
            }
            Awaited::Older { room } => {
                let lines = std::mem::take(&mut self.older);
                if !ok {
                    if let Some(line) = render::reply(reply) {
                        self.out.show(line);
                    }
                    self.out.older_failed();
                    return;
                }
                let more = reply.header(header::MORE) == Some("yes");
                if !more {
                    lock(&self.state).history_done.insert(name_key(&room));
                }
                self.out.older(&room, lines, more);
            }
            Awaited::Searched { text, room } => {
                if ok {
                    let next = (reply.header(header::MORE) == Some("yes"))
                        .then(|| reply.header(header::BEFORE).and_then(|b| b.parse().ok()))
                        .flatten();
                    lock(&self.state).search = Some((text, room, next));
                }
                if let Some(line) = render::reply(reply) {
                    self.out.show(line);
                }
            }
            Awaited::Quiet => {
                if ok {
                    learn_names(&mut lock(&self.state), &reply.text_lossy());
                }
            }
            _ => {
                if let Some(line) = render::reply(reply) {
                    self.out.show(line);
                }
            }
        }
    }

    fn event(&mut self, frame: &Frame) {
        let event = match Event::from_frame(frame) {
            Ok(event) => event,
            Err(why) => {
                self.out.show(Line::new(
                    Kind::Error,
                    format!("warning: ignored a frame from the server: {why}"),
                ));
                return;
            }
        };
        if event == Event::Ping {
            let _ = self.link.writer().send(&Control::Pong.into_frame());
            return;
        }
        let (changed, line, entered) = {
            let mut state = lock(&self.state);
            let entered = matches!(&event, Event::Join { nick, .. } if state.is_me(nick));
            (
                state.observe(&event),
                render::event(&event, &state.clock),
                entered,
            )
        };
        if entered && self.out.wants_directory() {
            // Who is here and which rooms exist, for completion.
            self.link.try_send_quiet(RoomRequest::Users);
            self.link.try_send_quiet(RoomRequest::Rooms);
        }
        let page =
            matches!(event, Event::Message { history: true, .. }) && self.link.awaits_older();
        match line {
            Some(line) if page => self.older.push(line),
            Some(line) => self.out.show(line),
            None => {}
        }
        if changed {
            self.out.changed();
        }
    }
}

/// Learns names from a `USERS` or `ROOMS` answer: its indented lines
/// start with a nickname (`  ntu in lobby`) or a room name
/// (`  lobby  owner: -  public  3 online`).
fn learn_names(state: &mut super::state::State, text: &str) {
    let users = text.contains("user(s) online");
    for line in text.lines().filter(|l| l.starts_with("  ")) {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        if users {
            state.saw_nick(name);
            if let Some((_, rooms)) = line.split_once(" in ") {
                // Room names have no spaces ("a private room" is not one).
                rooms
                    .split(", ")
                    .map(str::trim)
                    .filter(|room| !room.contains(' '))
                    .for_each(|room| state.saw_room(room));
            }
        } else {
            state.saw_room(name);
        }
    }
}

/// A transfer's outcome as a line: an error when it says so.
fn outcome(text: String) -> Line {
    if text.starts_with("error: ") {
        Line::new(Kind::Error, text)
    } else {
        Line::info(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::config::ClockKind;
    use crate::client::state::State;

    #[test]
    fn names_are_learned_from_the_directory_answers() {
        let mut state = State::new("ntu", 4096, ClockKind::Elapsed);
        learn_names(
            &mut state,
            "3 user(s) online:\n  ntu in lobby\n  Ma19 in rust\n  bob in a private room",
        );
        learn_names(&mut state, "2 room(s):\n  lobby  owner: -  public  2 online\n  secret  owner: bob  private  1 online");
        let nicks: Vec<&String> = state.nicks.values().collect();
        assert_eq!(nicks, ["bob", "Ma19"], "not ourselves");
        assert!(state.rooms.contains_key("rust"));
        assert!(state.rooms.contains_key("secret"));
        assert!(!state.rooms.keys().any(|r| r.contains(' ')));
    }
}
