//! How events and replies look on the terminal. Everything a peer controls
//! goes through `for_terminal`, so nothing received is ever printed raw.

use std::time::Duration;

use crate::clock::hms;
use crate::event::Event;
use crate::fileshare::human_size;
use crate::protocol::Frame;
use crate::text::for_terminal;

/// The line for an event; `None` for events with nothing to show (`PING`).
/// `since_login` is the reader's own time in the chat, shown as `h:mm:ss`.
pub fn event(event: &Event, since_login: Duration) -> Option<String> {
    let line = match event {
        Event::Message {
            from,
            text,
            history: false,
            ..
        } => format!("{} [{from}]: {text}", hms(since_login)),
        Event::Message {
            from,
            text,
            date,
            history: true,
            ..
        } => format!("(history {}) [{from}]: {text}", short_date(date)),
        Event::Whisper { from, text, .. } => {
            format!("{} (whisper) [{from}]: {text}", hms(since_login))
        }
        Event::Join { nick, members, .. } => {
            format!("Welcome {nick} to the room! There are {members} member(s) online!")
        }
        Event::Leave { nick, .. } => format!("{nick} leaves the room!"),
        Event::File {
            from,
            id,
            name,
            size,
            ..
        } => format!(
            "*** {from} shared file {name:?} ({}), file id:{id}; type /get_file {id} to fetch it",
            human_size(*size)
        ),
        Event::Renamed { old, new } => format!("{old} is now known as {new}"),
        Event::Notice { text } => format!("*** {text}"),
        Event::Bye { reason } => format!("*** server: {reason}"),
        Event::Ping => return None,
    };
    Some(for_terminal(&line))
}

/// The line for a reply: its text for a success that carries one, and
/// `error: ...` for a refusal.
pub fn reply(frame: &Frame) -> Option<String> {
    let status = frame.status_code()?;
    let text = frame.text_lossy();
    if status.is_ok() {
        return (!text.is_empty()).then(|| indent(&text));
    }
    let reason = if text.is_empty() {
        status.reason().to_string()
    } else {
        text
    };
    Some(indent(&format!("error: {reason}")))
}

/// Multi-line text, each line made safe on its own.
fn indent(text: &str) -> String {
    text.lines()
        .map(for_terminal)
        .collect::<Vec<_>>()
        .join("\n")
}

/// `2026-11-21 10:15:02.123456` shown as `2026-11-21 10:15`.
fn short_date(date: &str) -> &str {
    date.get(..16).unwrap_or(date)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::Status;

    fn message(text: &str, history: bool) -> Event {
        Event::Message {
            room: "lobby".into(),
            from: "Ma19".into(),
            date: "2026-11-21 10:15:02.123456".into(),
            seq: 1,
            text: text.into(),
            history,
        }
    }

    #[test]
    fn messages_show_elapsed_time_and_sender() {
        let line = event(
            &message("Hello World! I'm Ma 19", false),
            Duration::from_secs(17),
        );
        assert_eq!(line.unwrap(), "0:00:17 [Ma19]: Hello World! I'm Ma 19");
        let line = event(&message("old", true), Duration::ZERO).unwrap();
        assert_eq!(line, "(history 2026-11-21 10:15) [Ma19]: old");
    }

    #[test]
    fn welcome_leave_and_whisper_lines_match_the_seeds() {
        let join = Event::Join {
            room: "lobby".into(),
            nick: "ntu".into(),
            members: 1,
        };
        assert_eq!(
            event(&join, Duration::ZERO).unwrap(),
            "Welcome ntu to the room! There are 1 member(s) online!"
        );
        let leave = Event::Leave {
            room: "lobby".into(),
            nick: "ABC".into(),
            members: 1,
        };
        assert_eq!(
            event(&leave, Duration::ZERO).unwrap(),
            "ABC leaves the room!"
        );
        let whisper = Event::Whisper {
            from: "bob".into(),
            to: "ntu".into(),
            date: String::new(),
            seq: 3,
            text: "psst".into(),
            kept: false,
        };
        assert_eq!(
            event(&whisper, Duration::from_secs(61)).unwrap(),
            "0:01:01 (whisper) [bob]: psst"
        );
        assert_eq!(event(&Event::Ping, Duration::ZERO), None);
    }

    #[test]
    fn a_shared_file_says_who_what_and_how_to_fetch_it() {
        let file = Event::File {
            room: "lobby".into(),
            from: "ntu".into(),
            id: 3,
            name: "notes.txt".into(),
            size: 1536,
            date: String::new(),
        };
        assert_eq!(
            event(&file, Duration::ZERO).unwrap(),
            "*** ntu shared file \"notes.txt\" (1.5 KiB), file id:3; type /get_file 3 to fetch it"
        );
    }

    #[test]
    fn escape_sequences_in_messages_are_neutralised() {
        let line = event(&message("\u{1b}[2Jgotcha\u{7}", false), Duration::ZERO).unwrap();
        assert!(
            !line.contains('\u{1b}') && !line.contains('\u{7}'),
            "{line:?}"
        );
    }

    #[test]
    fn replies_show_text_or_error() {
        assert_eq!(reply(&Frame::status(Status::OK)), None);
        assert_eq!(
            reply(&Frame::reply(Status::OK, "2 user(s) online:\n  a in lobby")).unwrap(),
            "2 user(s) online:\n  a in lobby"
        );
        assert_eq!(
            reply(&Frame::reply(
                Status::NOT_FOUND,
                "nobody called x is online"
            ))
            .unwrap(),
            "error: nobody called x is online"
        );
        assert_eq!(reply(&Frame::request("PING", "/")), None);
    }
}
